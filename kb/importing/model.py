"""The plain data an import passes around: where a value came from, what is proposed, what
went wrong. Every source adapter (template, TOML profile, CIViC, CTML) produces these; the
engine alone compares them with the KB and stages them.

A large import makes a location, a proposed record and a source row per source row. Those
three are plain (not frozen) dataclasses: a frozen dataclass sets each field through
object.__setattr__, which made making them cost three times as much. They compare and hash
by value as before; treat them as immutable all the same: nothing changes one once made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.errors import KbError
from kb.model.enums import RecordType


@dataclass(slots=True, unsafe_hash=True)
class Location:
    """A place in a source file, as the user sees it: row numbers as the spreadsheet shows them
    (1-based, header rows included), column letters A, B, … (or a JSON path for documents)."""

    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ImportError_:
    """One located problem: {file, sheet, row, column, field, code, message, value}."""

    location: Location
    field: str | None
    code: str
    message: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self.location)
        data.update(field=self.field, code=self.code, message=self.message, value=self.value)
        return data

    def __str__(self) -> str:
        where = str(self.location)
        what = f" field {self.field}:" if self.field else ""
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}:{what} {self.message}{value}"


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another proposed record of the same import, by its local key."""

    key: str


@dataclass(slots=True, unsafe_hash=True)
class ProposedRecord:
    """A record an import wants to exist.

    `key` is local to the import (e.g. "row 12 biomarker 1") so that other proposed records can
    refer to it with `Ref(key)`. `human_id` is set when the source names an existing record
    (our template's ID column); otherwise the engine matches by `kb.model.identity.identity_key`
    after resolving references. Field values follow kb.model.records SPECS; references may be a
    human id, a natural key (gene symbol, drug name, NCT id, "pmid:123"), or a `Ref`; inside
    expression trees, leaf "biomarker"/"threshold" values may be `Ref`s too.
    """

    rtype: RecordType
    key: str
    fields: Mapping[str, Any]
    location: Location
    human_id: str | None = None
    # Field name -> column letter (or JSON path) the value came from, so an error about a
    # field points at its cell; fields not listed are located at the row.
    columns: Mapping[str, str] = field(default_factory=dict)
    # False: propose the record only if the KB lacks it. An existing one (a curated assertion a
    # source row matches) is referred to as it stands, never rewritten by the source.
    update: bool = True
    # False: only point at the record if the KB (or another row) has it; never create it. A
    # reference to it is then dropped from its referrer, with a note (evidence refuting an
    # assertion nobody made).
    create: bool = True
    # With `create=False`: the note a referrer's row gets when there is nothing to point at.
    absent: str = ""


@dataclass(slots=True, unsafe_hash=True)
class SourceRow:
    """What one source row (or document) proposes, or why it cannot be imported."""

    location: Location
    records: tuple[ProposedRecord, ...] = ()
    errors: tuple[ImportError_, ...] = ()
    # What the row does not do, though it imports (e.g. "supports no assertion: …").
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


class SourceError(KbError):
    """The source as a whole cannot be read (not a spreadsheet, password-protected, over a
    limit, damaged, no usable header …). Adapters raise it; the preview reports its errors
    and proposes nothing."""

    def __init__(self, errors: list[ImportError_] | ImportError_) -> None:
        self.errors = [errors] if isinstance(errors, ImportError_) else list(errors)
        super().__init__("; ".join(str(error) for error in self.errors[:3]))


@dataclass
class Skipped:
    """A row left out by --skip-invalid, with its errors: recorded on the change set."""

    location: Location
    errors: list[ImportError_] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "location": asdict(self.location),
            "errors": [error.as_json() for error in self.errors],
        }
