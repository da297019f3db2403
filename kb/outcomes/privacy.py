"""Privacy at the door: direct identifiers (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)) are
refused before anything is stored. Two checks, both located:

- a column whose header names an identifier (a name, a medical record or other account
  number, a date of birth, an address or its parts, a phone or fax number, an e-mail address),
  whether or not the profile maps it;
- a cell anywhere in the sheet holding an e-mail address, a phone number, a US social
  security number, or a marker such as "MRN" or "DOB" before a value (free text carries them).

An error never repeats the identifier it found: errors are printed and exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

_HEADER_WORDS = frozenset(
    {
        "mrn", "dob", "ssn", "nhs", "email", "mail", "phone", "telephone", "tel", "mobile",
        "cell", "fax", "address", "street", "postcode", "zip", "zipcode", "surname",
        "forename", "firstname", "lastname", "birthdate", "birthday", "initials", "city",
        "town", "ip", "url", "licence", "license", "passport",
    }
)  # fmt: skip
_HEADER_PHRASES = (
    "e mail",
    "date of birth",
    "birth date",
    "record number",
    "medical record",
    "hospital number",
    "health record",
    "social security",
    "postal code",
    "first name",
    "last name",
    "given name",
    "family name",
    "full name",
    "patient name",
    "account number",
    "insurance number",
)
_WHAT = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "ssn": "a social security number",
    "marker": "an identifier marker (MRN, DOB, SSN, NHS no.)",
}
# Three searches, each run only on rows that can hold its kind: a pattern that may start at
# any letter (an e-mail's local part) is slow on rows that hold none, and outcome rows are
# scanned by the million.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUMBERS = re.compile(
    r"(?P<ssn>(?<!\d)\d{3}-\d{2}-\d{4}(?!\d))"
    r"|(?P<phone>\+\d{8,15}(?!\d)|\+\d{1,3}[\s.-]?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,3}(?![\w.])"
    r"|\(\d{2,5}\)[\s.-]?\d{3,4}[\s.-]\d{3,4}(?![\w.])"
    r"|(?<![\w.])\d{2,5}[\s.-]\d{3,4}[\s.-]\d{3,4}(?![\w.]))"
)
_MARKER = re.compile(r"\b(?:MRN|DOB|SSN|NHS\s*(?:no|number))\b\s*[:#]?\s*\d", re.IGNORECASE)
_MARKER_HINTS = ("mrn", "dob", "ssn", "nhs")
# Every phone number and SSN above has a digit, a separator and three digits, ") 123" or
# "+1":
# dates, durations and protein changes rarely do, so most rows skip the slower search.
_NUMBER_HINT = re.compile(r"\d[\s.-]\d{3}|\)\s?\d{3}|\+\d")


def identifier_header(header: str) -> str | None:
    """What identifier a header names, or None."""
    words = re.findall(r"[a-z0-9]+", header.lower())
    joined = " ".join(words)
    if joined in ("name", "names"):
        return "a name"
    for phrase in _HEADER_PHRASES:
        if f" {phrase} " in f" {joined} ":
            return phrase
    return next((word for word in words if word in _HEADER_WORDS), None)


def identifier_in_text(text: str) -> str | None:
    """What identifier a text holds (an e-mail address, a phone number …), or None."""
    return _what(text)


def _what(text: str) -> str | None:
    if "@" in text and _EMAIL.search(text):
        return _WHAT["email"]
    match = _NUMBERS.search(text) if _NUMBER_HINT.search(text) else None
    if match:
        return _WHAT[match.lastgroup or "phone"]
    lower = text.lower()
    if any(hint in lower for hint in _MARKER_HINTS) and _MARKER.search(text):
        return _WHAT["marker"]
    return None


def scan_row(cells: Sequence[object]) -> Iterator[tuple[int, str]]:
    """(0-based column, what) for every cell of a row holding an identifier. One search over
    the joined row finds the rows worth looking into (most hold none)."""
    texts = [cell if isinstance(cell, str) else "" for cell in cells]
    # NUL joins: a joiner that \s matches (\x1f does) would make phone-like runs across cells.
    if _what("\x00".join(texts)) is None:
        return
    for column, text in enumerate(texts):
        what = _what(text) if text else None
        if what:
            yield column, what
