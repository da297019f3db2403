"""Ranked candidates for a value an import did not recognise: "Non small cell lung cancer" ->
NSCLC, "HER2" -> ERBB2, "Level 1" -> 1. Pure functions over a plain-data `Vocabulary` (made
once per dry run from the KB's vocabularies), so the app and tests rank alike.

Ranking is difflib's SequenceMatcher ratio over normalised text (case, punctuation and word
order folded), with exact alias hits first. The standard library is enough here: the largest
list ranked is HGNC's ~40,000 symbols, prefiltered with difflib's cheap upper bounds, and a
value is ranked once when the curator picks it, not per keystroke; rapidfuzz would be faster
but is not worth a compiled dependency for that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.importing.civic import KbLookup
from kb.model.enums import RecordType
from kb.model.orm import DoidTerm
from kb.model.records import SPECS
from kb.vocab.doid import DoidCrosswalk

__all__ = ["Candidate", "Vocabulary", "candidates", "mappable"]

# Fields whose unknown values can be mapped, and which vocabulary ranks them.
_KINDS = {
    "tumour_types": "tumour",
    "excluded_tumour_types": "tumour",
    "gene": "gene",
    "drugs": "drug",
    "evidence_level": "level",
}
_WORDS = re.compile(r"[^0-9a-z]+")
_LEVEL_WORDS = re.compile(r"\b(level|lvl|tier|oncokb)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A value to map to (what the profile's value map will hold) and why it is offered."""

    value: str
    label: str
    source: str
    score: float


@dataclass(frozen=True)
class Vocabulary:
    """The names candidates come from, as plain data."""

    tumours: Mapping[str, str] = field(default_factory=dict)  # OncoTree code -> name
    diseases: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """DOID -> (label, OncoTree codes the crosswalk gives)."""
    genes: Mapping[str, str] = field(default_factory=dict)  # approved symbol -> name
    synonyms: Mapping[str, str] = field(default_factory=dict)  # upper alias -> approved
    drugs: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Session, lookup: KbLookup | None = None) -> Vocabulary:
        """The KB's vocabularies: OncoTree names, DO labels with their OncoTree crosswalk,
        HGNC symbols, aliases and previous symbols, the KB's drugs, and level codes."""
        from kb.model.orm import TumourType

        lookup = lookup or KbLookup.from_session(session)
        rows = session.execute(select(TumourType.code, TumourType.name))
        tumours: dict[str, str] = {str(code): str(name) for code, name in rows}
        crosswalk = lookup.diseases or DoidCrosswalk.from_session(session)
        diseases: dict[str, tuple[str, tuple[str, ...]]] = {}
        for doid, label in session.execute(select(DoidTerm.doid, DoidTerm.label)):
            found = crosswalk.get(doid)
            if found is not None and found.codes:
                diseases[str(doid)] = (label, tuple(found.codes))
        enums = {
            spec.name: tuple(member.value for member in spec.enum)
            for spec in SPECS[RecordType.ASSERTION]
            if spec.kind == "enum" and spec.enum is not None
        }
        return cls(
            tumours=tumours,
            diseases=diseases,
            genes={symbol: name for symbol, _id, name in lookup.hgnc.values()},
            synonyms=dict(lookup.hgnc_synonyms),
            drugs=tuple(sorted(set(lookup.drugs.values()), key=str.lower)),
            levels=enums.get("evidence_level", ()),
            enums=enums,
        )


def mappable(field_name: str | None) -> bool:
    """Whether unknown values of `field_name` can be mapped through a value map."""
    return field_name is not None and (field_name in _KINDS or field_name in _ENUM_FIELDS)


_ENUM_FIELDS = {spec.name for spec in SPECS[RecordType.ASSERTION] if spec.kind == "enum"} - set(
    _KINDS
)


def candidates(
    field_name: str, value: str, vocabulary: Vocabulary, *, limit: int = 8
) -> list[Candidate]:
    """The best `limit` candidates for `value` of `field_name`, best first (empty when the
    field has no vocabulary)."""
    kind = _KINDS.get(field_name)
    if kind == "tumour":
        found = _tumours(value, vocabulary)
    elif kind == "gene":
        found = _genes(value, vocabulary)
    elif kind == "drug":
        found = _ranked(value, ((d, d, "drug in the KB") for d in vocabulary.drugs))
    elif kind == "level":
        found = _levels(value, vocabulary.levels)
    elif field_name in vocabulary.enums:
        choices = vocabulary.enums[field_name]
        found = _ranked(value, ((c, c, field_name) for c in choices), cutoff=0.0)
    else:
        return []
    best: dict[str, Candidate] = {}
    for candidate in sorted(found, key=lambda c: (-c.score, c.label)):
        best.setdefault(candidate.value, candidate)
    return list(best.values())[:limit]


def normalise(text: str) -> str:
    """Lower case, punctuation as spaces, words sorted: "Non-small cell lung cancer" and
    "lung cancer, non small cell" compare equal."""
    return " ".join(sorted(_WORDS.sub(" ", text.lower()).split()))


def _score(a: str, b: str) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio()


def _ranked(
    value: str, choices: Iterable[tuple[str, str, str]], *, cutoff: float = 0.45
) -> list[Candidate]:
    wanted = normalise(value)
    out = []
    for stored, label, source in choices:
        text = normalise(label)
        if text == wanted:
            out.append(Candidate(stored, label, source, 1.0))
            continue
        matcher = SequenceMatcher(None, wanted, text, autojunk=False)
        if matcher.real_quick_ratio() < cutoff or matcher.quick_ratio() < cutoff:
            continue
        score = matcher.ratio()
        words, offered = set(wanted.split()), set(text.split())
        if len(words) > 1 and words <= offered:
            # Every word of the value is in the name ("Breast Carcinoma" in "Invasive Breast
            # Carcinoma"): a narrower name, ranked by how little it adds.
            score = max(score, 0.85 + 0.1 * len(words) / len(offered))
        if score >= cutoff:
            out.append(Candidate(stored, label, source, round(score, 3)))
    return out


def _tumours(value: str, vocabulary: Vocabulary) -> list[Candidate]:
    found = _ranked(
        value,
        ((code, f"{name} ({code})", "OncoTree") for code, name in vocabulary.tumours.items()),
    )
    for doid, (label, codes) in vocabulary.diseases.items():
        for hit in _ranked(value, [(",".join(codes), label, "")]):
            shown = ", ".join(f"{vocabulary.tumours.get(c, c)} ({c})" for c in codes)
            found.append(
                Candidate(
                    codes[0] if len(codes) == 1 else ",".join(codes),
                    shown,
                    f"Disease Ontology {doid} {label}",
                    # A DO label is one step from the code it names: ranked just below an
                    # OncoTree name that matches as well.
                    round(hit.score * 0.97, 3),
                )
            )
    return found


def _genes(value: str, vocabulary: Vocabulary) -> list[Candidate]:
    text = value.strip().upper()
    out = []
    approved = vocabulary.synonyms.get(text)
    if approved is not None:
        out.append(Candidate(approved, approved, f"HGNC: {value} is an alias of {approved}", 1.0))
    if text in vocabulary.genes:
        out.append(Candidate(text, text, "HGNC approved symbol", 1.0))
    out += _ranked(value, ((s, s, "HGNC approved symbol") for s in vocabulary.genes), cutoff=0.6)
    return out


def _levels(value: str, levels: Iterable[str]) -> list[Candidate]:
    stripped = _LEVEL_WORDS.sub(" ", value).strip().upper().replace(" ", "")
    out = []
    for level in levels:
        if stripped == level.upper():
            out.append(Candidate(level, level, "evidence level", 1.0))
        else:
            score = _score(stripped, level.upper())
            out.append(Candidate(level, level, "evidence level", round(score * 0.9, 3)))
    return out


def as_value(candidate: Candidate) -> Any:
    """What a value map stores for the candidate: a list where it stands for several codes."""
    return candidate.value.split(",") if "," in candidate.value else candidate.value
