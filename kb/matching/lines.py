"""What a patient file reader reports about the lines it could not read.

A reader of a real patient file (MAF, VCF, copy-number or fusion caller output) never aborts the
patient for one bad line: it skips the line and says so, naming the file, the line and the
reason. Whole-file problems (not the format, no header, too big) are errors instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.model.records import DBSNP_ID

__all__ = [
    "MAX_PATIENT_DATA_BYTES",
    "PatientFileError",
    "ReadResult",
    "SkippedLine",
    "check_size",
    "single_rs_id",
]

MAX_PATIENT_DATA_BYTES = 512 * 1024 * 1024


class PatientFileError(KbError):
    """A patient data file that cannot be read at all; names the file (and line, if any)."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}: line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")


def single_rs_id(ids: Sequence[str]) -> str | None:
    """The one dbSNP rs id among a file's variant ids (a VCF ID column, a MAF dbSNP_RS value),
    lower-case; None when there is none ("novel", ".", a COSMIC id) or several: a variant
    carries one rs id, and picking one of several could wrongly rule out the other."""
    found = {text.strip().lower() for text in ids if DBSNP_ID.fullmatch(text.strip().lower())}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """One input line left out of the patient, and why."""

    file: str
    line: int | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}

    def text(self) -> str:
        where = f"{self.file}: line {self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ReadResult:
    """Patient-profile items read from one file (schema-shaped dicts) and the lines skipped."""

    variants: list[dict[str, Any]] = field(default_factory=list)
    copy_number: list[dict[str, Any]] = field(default_factory=list)
    fusions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)


def check_size(path: Path, limit: int = MAX_PATIENT_DATA_BYTES) -> None:
    """Refuse a missing file or one over `limit` bytes before reading a byte of it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PatientFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if size > limit:
        raise PatientFileError(str(path), f"the file is {size} bytes; at most {limit}")
