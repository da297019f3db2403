"""The import engine: proposed records from any source, previewed against the KB, then staged
into one change set (DESIGN §4).

Adapter interface (template, TOML profiles, CIViC, CTML all follow it)
----------------------------------------------------------------------
An adapter is a callable ``adapter(path: Path) -> Iterable[SourceRow]`` (see `Adapter`); extra
options are keyword-only arguments with defaults, so ``adapter(path)`` always works. It reads
the file and yields one `SourceRow` (kb/importing/model.py) per source row or document:

- ``SourceRow.location``: where the row is, as the user sees it (file name, sheet, row number as
  the spreadsheet shows it, 1-based with header rows counted; for documents a JSON path in
  ``column``).
- ``SourceRow.records``: the `ProposedRecord`s the row wants to exist, zero or more. Fields use
  the names and forms of ``kb.model.records.SPECS``: scalars as text/int/bool/date, list fields
  (refs, codes, strings) as Python lists (split them yourself), expression trees as dicts
  (``{"op": "AND", "args": [...]}`` / ``{"biomarker": …, "threshold": …}``). A reference may
  be a human id (``GN-00001``), a natural key (gene symbol, drug or therapy name, NCT id,
  ``pmid:123`` for citations), or ``Ref(key)`` naming another `ProposedRecord.key` of the same
  import (in any row; keys must be unique within the import, e.g. ``"row 12 biomarker"``). Tree
  leaves may hold a ``Ref`` too. Leave out a field you have no value for (a new record takes
  its default; an existing record keeps its value); ``None`` means "empty / default".
  ``ProposedRecord.columns`` maps field -> column letter so the engine's errors point at cells.
  Set ``human_id`` only when the source names an existing record; otherwise the engine finds
  the existing record by ``kb.model.identity.identity_key`` (same defining fields) or proposes a new
  one. Two rows proposing the same record with the same values are merged into one.
- ``SourceRow.errors``: `ImportError_`s for a row the adapter could not map (unknown DOID,
  unparseable molecular profile, …). Such a row is counted invalid and is never dropped
  silently; it may still carry no records.
- A problem with the whole file (not a spreadsheet, over a limit, missing headers) is raised as
  ``SourceError(errors)``; the preview then shows those errors and proposes nothing.

Adapters never touch the database; the engine resolves references, coerces values with
``kb.model.records.coerce`` (located errors), matches existing records, and classifies every row as
new / changed / unchanged / invalid. Rows whose records share a type and a set of fields (every
row of a sheet) are settled column by column, the rest row by row, with the same rules and the
same result (a test compares both). Adapters for ``kb import --profile NAME`` are found by
`kb.importing.adapters.adapter_for` (``civic-evidence`` -> ``kb.importing.civic.evidence_adapter``,
``civic-assertion`` -> ``kb.importing.civic.assertion_adapter``, ``ctml`` ->
``kb.importing.ctml.ctml_adapter``, ``template`` and ``*.toml`` built in).

Use
---
::

    rows = template_adapter(path)                       # or any adapter
    with kb.unit_of_work() as session:
        result = preview(rows, session, progress=cb, cancel=token)   # a dry run: writes nothing
        if not result.invalid or skip_invalid:
            change_set_id = apply(result, session, actor=actor, skip_invalid=skip_invalid,
                                  source_name=path.name, source_sha256=sha256_of(path))
    export_errors(result, Path("errors.xlsx"))          # or .csv
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import heapq
import operator
import re
from collections import defaultdict
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.importing.model import (
    ImportError_,
    Location,
    ProposedRecord,
    Ref,
    Skipped,
    SourceError,
    SourceRow,
)
from kb.importing.progress import CancelToken, Progress, no_progress, paused_gc
from kb.model import expression as exprs
from kb.model.enums import HUMAN_ID_PREFIX, SPECIAL_SCOPES, Operator, RecordType
from kb.model.identity import identity_key, identity_keys
from kb.model.metrics import METRICS, Metric, ThresholdValueError, check_value
from kb.model.orm import HgncGene, HgncSynonym
from kb.model.records import (
    _DEFAULTS,  # the defaults a new record takes; the engine must compare against the same
    SPECS,
    FieldError,
    FieldSpec,
    coerce,
    unique_keys,
)
from kb.storage.revisions import current_version
from kb.storage.snapshot import latest_rows
from kb.vocab.oncotree import TumourTree

if TYPE_CHECKING:
    from kb.review.users import Actor

Adapter = Callable[[Path], Iterable[SourceRow]]
Status = Literal["new", "changed", "unchanged", "invalid"]
# The target of a proposed record that may only point at an existing one (`create=False`)
# when there is none: references to it are dropped.
_ABSENT: str = "(absent)"
STATUSES: tuple[Status, ...] = ("new", "changed", "unchanged", "invalid")

# Rows between progress reports and cancel checks.
BATCH = 2_000
# The planner's first chunk of rows (`_Planner.run`).
_FIRST_CHUNK = 100

_SPECS = {rtype: {spec.name: spec for spec in specs} for rtype, specs in SPECS.items()}
_PREFIX_TYPE = {prefix: rtype for rtype, prefix in HUMAN_ID_PREFIX.items()}
_HUMAN_ID = re.compile(r"^[A-Za-z]{2}-\d+$")
_LIST_KINDS = ("refs", "codes", "strings")
# A missense change already in the canonical form parse_protein_change returns: accepted as is,
# because parsing is the costliest step of a large biomarker import (tested to agree).
_AA3 = "Ala|Arg|Asn|Asp|Cys|Gln|Glu|Gly|His|Ile|Leu|Lys|Met|Phe|Pro|Ser|Thr|Trp|Tyr|Val|Sec|Pyl"
_CANONICAL_MISSENSE = re.compile(rf"^p\.({_AA3})([1-9][0-9]*)({_AA3})$")
_AA3_CODES = frozenset(_AA3.split("|"))


def _canonical_missense(text: str) -> bool:
    """Whether stripped `text` matches _CANONICAL_MISSENSE with two different residues: the
    same test by slices, at about half the regex's cost (a large import asks once per row)."""
    return (
        len(text) > 8
        and text[:2] == "p."
        and (ref := text[2:5]) in _AA3_CODES
        and (alt := text[-3:]) in _AA3_CODES
        and ref != alt
        and (position := text[5:-3]).isdigit()
        and position.isascii()
        and position[0] != "0"
    )


# Natural keys a reference may use instead of a human id (as kb.model.records.Ids does).
_NATURAL: dict[RecordType, Callable[[Mapping[str, Any]], str | None]] = {
    RecordType.GENE: lambda f: _text(f.get("symbol")),
    RecordType.DRUG: lambda f: _text(f.get("name")),
    RecordType.THERAPY: lambda f: _text(f.get("name")),
    # A trial without an NCT id is named by its protocol number.
    RecordType.TRIAL: lambda f: _text(f.get("nct_id")) or _text(f.get("protocol_no")),
    RecordType.CITATION: lambda f: (
        f"{_text(f.get('kind'))}:{_text(f.get('identifier'))}"
        if _text(f.get("kind")) and _text(f.get("identifier"))
        else None
    ),
}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Ref):
        return None
    text = str(value.value if isinstance(value, StrEnum) else value).strip()
    return text or None


@dataclass(slots=True, eq=False)
class NewRecord:
    """Stands for a record the import will create, until apply gives it a human id.

    Made once per new record and compared by identity: a large import hashes these hundreds of
    thousands of times. Not frozen (a frozen dataclass costs twice as much to make); nothing
    changes one once made.
    """

    rtype: RecordType
    number: int

    def __str__(self) -> str:
        return f"(new {self.rtype} #{self.number})"


Target = str | NewRecord


class _Nothing(Mapping[str, Any]):
    """The empty mapping, read-only and hashable: a dataclass default needs no factory then
    (a large import makes hundreds of thousands of planned records)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


_NOTHING: Mapping[str, Any] = _Nothing()


@dataclass(slots=True)
class PlannedRecord:
    """One proposed record after resolution: what it is, and what applying it would do."""

    rtype: RecordType
    key: str
    row: int  # index into ImportPreview.rows
    location: Location
    status: Status
    target: Target | None = None  # an existing human id, or a NewRecord
    # Resolved values of the fields the source gave (references as human ids or NewRecords);
    # for a new record, every field with the defaults filled in.
    fields: dict[str, Any] = field(default_factory=dict)
    # Changed fields: new values and old ones (shared empty mappings until there are some:
    # a large import makes hundreds of thousands of these records).
    changes: Mapping[str, Any] = _NOTHING
    before: Mapping[str, Any] = _NOTHING
    deps: frozenset[NewRecord] = frozenset()  # the new records this one refers to
    errors: list[ImportError_] = field(default_factory=list)
    absent: str = ""  # with target _ABSENT: the note its referrers get

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.rtype.value,
            "row": self.location.row,
            "status": self.status,
            "id": _jsonable(self.target),
            "fields": _jsonable(self.fields if self.status == "new" else self.changes),
            "before": _jsonable(self.before),
        }


@dataclass(slots=True)
class RowResult:
    """One source row: its status and everything wrong with it."""

    location: Location
    status: Status
    errors: list[ImportError_] = field(default_factory=list)
    records: list[PlannedRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TypeCounts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
        }


@dataclass
class ImportPreview:
    """The dry run: every row classified, every error located; nothing written.

    `new + changed + unchanged + invalid == rows` always. `by_type` counts distinct records per
    type (a record proposed by several rows counts once; records of invalid rows count as
    invalid). `file_errors` are problems with the whole file; when present, nothing else is.
    """

    source: str
    kb_version: int
    rows: list[RowResult] = field(default_factory=list)
    plan: list[PlannedRecord] = field(default_factory=list)  # dependencies first
    file_errors: list[ImportError_] = field(default_factory=list)
    notes: list[ImportError_] = field(default_factory=list)
    by_type: dict[RecordType, TypeCounts] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def new(self) -> int:
        return self.count("new")

    @property
    def changed(self) -> int:
        return self.count("changed")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def invalid(self) -> int:
        return self.count("invalid")

    @property
    def fatal(self) -> bool:
        """The file could not be read at all."""
        return bool(self.file_errors)

    @property
    def errors(self) -> list[ImportError_]:
        """Every error: the file's, then each row's in row order."""
        return [*self.file_errors, *(error for row in self.rows for error in row.errors)]

    @property
    def has_changes(self) -> bool:
        return any(row.status in ("new", "changed") for row in self.rows)

    def as_json(self, *, max_errors: int | None = None, records: bool = False) -> dict[str, Any]:
        """The preview as JSON (`kb import --format json`)."""
        errors = self.errors
        shown = errors if max_errors is None else errors[:max_errors]
        data: dict[str, Any] = {
            "file": self.source,
            "kb_version": self.kb_version,
            "rows": len(self.rows),
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "by_type": {
                rtype.value: counts.as_json() for rtype, counts in sorted(self.by_type.items())
            },
            "records": self.record_totals.as_json(),
            "errors": [_jsonable(error.as_json()) for error in shown],
            "error_count": len(errors),
            "notes": [_jsonable(note.as_json()) for note in self.notes],
        }
        if records:
            data["proposed"] = [
                record.as_json()
                for record in self.plan
                if record.status in ("new", "changed") and self.rows[record.row].status != "invalid"
            ]
        return data

    @property
    def record_totals(self) -> TypeCounts:
        """Records of every type together: the sums of `by_type`."""
        counts = self.by_type.values()
        return TypeCounts(
            sum(c.new for c in counts),
            sum(c.changed for c in counts),
            sum(c.unchanged for c in counts),
            sum(c.invalid for c in counts),
        )

    def summary(self) -> str:
        """One line for people: the rows, then the records they propose, so that a change to
        a record in a row that also adds one is counted (the totals of the per-type counts):
        "120 rows: 100 new, 5 changed, 10 unchanged, 5 invalid; records: 240 new, 7 changed, …"
        """
        if self.fatal:
            first = self.file_errors[0]
            # A directory's file is named (a lone file is the source itself).
            where = first.location.file
            inner = f"{where}: " if where and where != self.source else ""
            return f"{self.source}: cannot be imported: {inner}{first.message}"
        totals = self.record_totals
        return (
            f"{self.source}: {len(self.rows)} rows: {self.new} new, {self.changed} changed, "
            f"{self.unchanged} unchanged, {self.invalid} invalid; records: {totals.new} new, "
            f"{totals.changed} changed, {totals.unchanged} unchanged"
            + (f", {totals.invalid} invalid" if totals.invalid else "")
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, NewRecord):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --- the KB as the import sees it ---------------------------------------------------------------


class _KbState:
    """The KB's records of the types an import touches, loaded once per type."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._fields: dict[RecordType, dict[str, dict[str, Any]]] = {}
        self._keys: dict[RecordType, dict[str, str]] = {}
        self._identity: dict[RecordType, dict[Hashable, str]] = {}
        self._unique: dict[tuple[RecordType, tuple[str, ...]], dict[Any, str]] = {}
        self._tree: TumourTree | None = None
        self._tree_loaded = False
        self._hgnc: dict[str, str] | None = None
        self._hgnc_upper: dict[str, str] | None = None
        self._synonyms: dict[str, str] = {}

    def fields(self, rtype: RecordType) -> dict[str, dict[str, Any]]:
        """Human id -> fields (references as human ids), for every record of `rtype`."""
        known = self._fields.get(rtype)
        if known is None:
            # From the newest revisions, as plain JSON: on a KB of 100,000 assertions this
            # takes 1 s where loading the ORM objects and reading their fields took 16 s.
            version = current_version(self.session)
            known = {
                human_id: fields
                for _, human_id, _, _, fields in latest_rows(self.session, version, rtype=rtype)
            }
            self._fields[rtype] = known
        return known

    def keys(self, rtype: RecordType) -> dict[str, str]:
        """Upper-cased human id or natural key -> human id."""
        known = self._keys.get(rtype)
        if known is None:
            known = {}
            natural = _NATURAL.get(rtype)
            for human_id, fields in self.fields(rtype).items():
                known[human_id.upper()] = human_id
                key = natural(fields) if natural else None
                if key:
                    known.setdefault(key.upper(), human_id)
            self._keys[rtype] = known
        return known

    def identity(self, rtype: RecordType) -> dict[Hashable, str]:
        known = self._identity.get(rtype)
        if known is None:
            known = {}
            for human_id in sorted(self.fields(rtype)):
                known.setdefault(identity_key(rtype, self.fields(rtype)[human_id]), human_id)
            self._identity[rtype] = known
        return known

    def unique(self, rtype: RecordType, names: tuple[str, ...]) -> dict[Any, str]:
        known = self._unique.get((rtype, names))
        if known is None:
            known = {}
            for human_id, fields in self.fields(rtype).items():
                value = _unique_value(fields, names)
                if value is not None:
                    known.setdefault(value, human_id)
            self._unique[(rtype, names)] = known
        return known

    def tumour_tree(self) -> TumourTree | None:
        if not self._tree_loaded:
            tree = TumourTree.from_session(self.session)
            self._tree = tree if len(tree) else None
            self._tree_loaded = True
        return self._tree

    def hgnc(self) -> dict[str, str]:
        if self._hgnc is None:
            self._hgnc = dict(self.session.execute(select(HgncGene.symbol, HgncGene.hgnc_id)).all())
        return self._hgnc

    def hgnc_gene(self, text: str) -> tuple[dict[str, Any], str | None] | None:
        """The HGNC gene a symbol, previous symbol or alias names, as new gene fields (approved
        symbol, HGNC id, name, aliases), and the approved symbol when `text` was not it; None
        when HGNC does not know it or an alias names several genes."""
        if not self.hgnc():
            return None
        if self._hgnc_upper is None:
            self._hgnc_upper = {symbol.upper(): symbol for symbol in self.hgnc()}
            synonyms: dict[str, set[str]] = defaultdict(set)
            query = select(HgncSynonym.synonym, HgncGene.symbol).join(
                HgncGene, HgncGene.hgnc_id == HgncSynonym.hgnc_id
            )
            for synonym, symbol in self.session.execute(query):
                synonyms[synonym.upper()].add(symbol)
            self._synonyms = {k: next(iter(v)) for k, v in synonyms.items() if len(v) == 1}
        upper = text.strip().upper()
        approved = self._hgnc_upper.get(upper)
        renamed = None
        if approved is None:
            renamed = self._synonyms.get(upper)
            if renamed is None:
                return None
        chosen = approved or renamed
        row = self.session.execute(
            select(HgncGene.hgnc_id, HgncGene.name).where(HgncGene.symbol == chosen)
        ).one()
        aliases = sorted(
            self.session.scalars(
                select(HgncSynonym.synonym).where(HgncSynonym.hgnc_id == row.hgnc_id)
            )
        )
        fields = {"symbol": chosen, "hgnc_id": row.hgnc_id, "name": row.name or "",
                  "aliases": aliases}  # fmt: skip
        return fields, renamed


def kb_records(session: Session, rtype: RecordType) -> dict[str, dict[str, Any]]:
    """Human id -> fields of every record of `rtype`, as the import engine compares them (and
    as the template exports them)."""
    return _KbState(session).fields(rtype)


def _unique_value(fields: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    values = []
    for name in names:
        value = fields.get(name)
        if value is None or value == "":
            return None
        values.append(value.upper() if isinstance(value, str) else value)
    return tuple(values)


# --- preview ------------------------------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, code: str, message: str, value: Any = None, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.value = value
        # Quiet: the cause is already reported on the same row; the record just cannot stand.
        self.quiet = quiet


def preview(
    rows: Iterable[SourceRow],
    session: Session,
    *,
    source: str = "",
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    take: Collection[str] = (),
) -> ImportPreview:
    """Compare what the source proposes with the KB, row by row; write nothing.

    A row that only points at a curated record (`ProposedRecord.update=False`) never changes
    it, except the fields named in `take`, where the curator chose the source's value.

    Reads the rows first (an adapter's `SourceError` becomes the preview's `file_errors`),
    then resolves references, coerces values (located errors), matches existing records by
    human id or `kb.model.identity.identity_key`, and classifies every row. `progress(done, total)`
    is called between batches and `cancel` checked there (raising `Cancelled`).
    """
    report = progress or no_progress
    kb_version = current_version(session)
    collected: list[SourceRow] = []
    with paused_gc():
        try:
            for row in rows:
                collected.append(row)
                if len(collected) % BATCH == 0:
                    if cancel is not None:
                        cancel.check()
                    report(0, 0)
        except SourceError as exc:
            name = source or (exc.errors[0].location.file if exc.errors else "")
            return ImportPreview(name, kb_version, file_errors=list(exc.errors))
        if not source:
            source = collected[0].location.file if collected else ""
        planner = _Planner(session, source, kb_version, report, cancel)
        planner.take = _take_fields(take)
        return planner.run(collected)


def _take_fields(names: Collection[str]) -> frozenset[str]:
    """The fields a curator takes from the source, each a field of some record type."""
    chosen = frozenset(name.strip() for name in names if name.strip())
    known = {name for specs in _SPECS.values() for name in specs}
    unknown = sorted(chosen - known)
    if unknown:
        raise KbError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} no record field to "
            "take from the source; e.g. evidence_level, citations, description"
        )
    return chosen


class _Planner:
    # Whether records of one shape are settled column by column (`_plan_chunk`); a test turns
    # it off to compare.
    batch = True

    def __init__(
        self,
        session: Session,
        source: str,
        kb_version: int,
        progress: Progress,
        cancel: CancelToken | None,
    ) -> None:
        self.kb = _KbState(session)
        self.result = ImportPreview(source, kb_version)
        self.progress = progress
        self.cancel = cancel
        self.planned: dict[str, PlannedRecord] = {}  # proposed key -> plan
        self.natural: dict[RecordType, dict[str, str]] = defaultdict(dict)  # key -> proposed key
        self.by_target: dict[Target, PlannedRecord] = {}
        self.new_identity: dict[RecordType, dict[Hashable, NewRecord]] = defaultdict(dict)
        self.new_unique: dict[tuple[RecordType, tuple[str, ...], Any], PlannedRecord] = {}
        self.new_count = 0
        self.current_row = -1
        self.cache: dict[tuple[RecordType, str], dict[Any, Any]] = {}  # per field: value -> coerced
        # Per type: text -> the KB record it names.
        self.found: dict[RecordType, dict[str, str]] = defaultdict(dict)
        self.found_count = 0
        self.shortcuts: dict[RecordType, dict[str, tuple[int, Any]]] = {}
        self.deps: set[NewRecord] = set()  # the record being planned refers to these new ones
        # Gene texts this import resolved through HGNC -> the KB's gene or the proposed key.
        self.hgnc_genes: dict[str, str] = {}
        self.take: frozenset[str] = frozenset()  # curated fields to take the source's value of

    # -- the whole run -------------------------------------------------------------------------

    def run(self, rows: list[SourceRow]) -> ImportPreview:
        result = self.result
        records: list[tuple[int, ProposedRecord]] = []
        seen_keys: dict[str, int] = {}
        for index, row in enumerate(rows):
            result.rows.append(
                RowResult(row.location, "unchanged", list(row.errors) if row.errors else [])
            )
            if row.notes:
                result.notes.extend(
                    ImportError_(row.location, None, "note", note) for note in row.notes
                )
            for record in row.records:
                if record.key in seen_keys:
                    result.rows[index].errors.append(
                        ImportError_(
                            record.location,
                            None,
                            "duplicate_key",
                            f"the import names two records {record.key!r} (the other in row "
                            f"{rows[seen_keys[record.key]].location.row}); the adapter must "
                            "give each its own key",
                        )
                    )
                    continue
                seen_keys[record.key] = index
                records.append((index, record))
                natural = _NATURAL.get(record.rtype)
                key = natural(record.fields) if natural else None
                if key:
                    self.natural[record.rtype].setdefault(key.upper(), record.key)
        order = self._order(records)
        total = len(order)
        # A small first chunk: the values it resolves one by one are known to the next ones.
        starts = [0, *range(min(_FIRST_CHUNK, total), total, BATCH)] if total else []
        for start, end in zip(starts, [*starts[1:], total][: len(starts)], strict=True):
            chunk = order[start:end]
            for (index, _), planned in zip(chunk, self._plan_chunk(chunk), strict=True):
                if planned.target is _ABSENT:
                    continue  # nothing to point at, and not to be created: no record at all
                result.rows[index].records.append(planned)
                result.plan.append(planned)
            if self.cancel is not None:
                self.cancel.check()
            self.progress(start + len(chunk), total)
        self._classify()
        self.progress(total, total)
        return result

    def _order(self, records: list[tuple[int, ProposedRecord]]) -> list[tuple[int, ProposedRecord]]:
        """Records with the ones they refer to first, otherwise in the source's order (so new
        records take their human ids in the order the file lists them); a reference cycle is
        reported."""
        referring = [(record.key, keys) for _, record in records if (keys := self._refs_of(record))]
        if not referring:
            return records  # nothing refers to another record of this import
        by_key = {record.key: (index, record) for index, record in records}
        position = {record.key: at for at, (_, record) in enumerate(records)}
        waiting: dict[str, set[str]] = {}
        dependants: dict[str, list[str]] = defaultdict(list)
        for own, keys in referring:
            needs = {key for key in keys if key in by_key and key != own}
            if needs:
                waiting[own] = needs
                for key in needs:
                    dependants[key].append(own)
        if not waiting:
            return records  # nothing refers to another record of this import
        # The earliest ready record in source order goes next: a file already in dependency
        # order comes out unchanged.
        ready = [position[record.key] for _, record in records if record.key not in waiting]
        heapq.heapify(ready)
        ordered: list[tuple[int, ProposedRecord]] = []
        while ready:
            index, record = records[heapq.heappop(ready)]
            ordered.append((index, record))
            for dependant in dependants.get(record.key, ()):
                needs = waiting[dependant]
                needs.discard(record.key)
                if not needs:
                    del waiting[dependant]
                    heapq.heappush(ready, position[dependant])
        for key in waiting:  # only cycles are left
            index, record = by_key[key]
            ordered.append((index, record))
            self.result.rows[index].errors.append(
                ImportError_(
                    record.location,
                    None,
                    "circular_reference",
                    f"this {record.rtype} refers, through other rows, back to itself",
                )
            )
        return ordered

    def _refs_of(self, record: ProposedRecord) -> list[str]:
        """Keys of the proposed records this record refers to (Refs and natural keys)."""
        fields = record.fields
        keys: list[str] = []
        for spec in _REF_SPECS[record.rtype]:
            value = fields.get(spec.name)
            if value is None:
                continue
            if spec.kind == "ref":
                if type(value) is str and (spec.ref is None or not self.natural.get(spec.ref)):
                    continue  # a name, and this import proposes nothing of its type: most rows
                keys.extend(self._ref_keys(spec.ref, [value]))
            elif spec.kind == "refs" and isinstance(value, list | tuple):
                keys.extend(self._ref_keys(spec.ref, value))
            elif spec.kind == "tree" and isinstance(value, dict):
                for leaf in _leaves(value):
                    keys.extend(self._ref_keys(RecordType.BIOMARKER, [leaf.get("biomarker")]))
                    keys.extend(self._ref_keys(RecordType.THRESHOLD, [leaf.get("threshold")]))
        return keys

    def _ref_keys(self, rtype: RecordType | None, values: Iterable[Any]) -> Iterator[str]:
        for value in values:
            if isinstance(value, Ref):
                yield value.key
            elif isinstance(value, str) and rtype is not None:
                names = self.natural.get(rtype)
                if names and not _HUMAN_ID.match(value):
                    key = names.get(value.strip().upper())
                    if key is not None:
                        yield key

    # -- one record ----------------------------------------------------------------------------

    def _error(
        self, record: ProposedRecord, name: str | None, code: str, message: str, value: Any = None
    ) -> ImportError_:
        location = record.location
        column = record.columns.get(name) if name else None
        if column and column != location.column:
            location = Location(location.file, location.sheet, location.row, column)
        return ImportError_(location, name, code, message, _jsonable(value))

    def _plan_chunk(self, chunk: list[tuple[int, ProposedRecord]]) -> list[PlannedRecord]:
        """`_plan` of each record of `chunk`, in order. Records of one type and one set of
        fields (every row of a sheet) have their values settled column by column, as `_plan`
        settles them (empty cells, text, values this import knows already), and their identity
        keys made the same way; a record with any other value is planned by `_plan` itself."""
        settled = self._settle(chunk) if self.batch else None
        if settled is None:
            return [self._plan(index, record) for index, record in chunk]
        plans: list[PlannedRecord] = []
        for (index, record), (resolved, key) in zip(chunk, settled, strict=True):
            if resolved is None:
                plans.append(self._plan(index, record))
                continue
            planned = PlannedRecord(record.rtype, record.key, index, record.location, "invalid")
            self.planned[record.key] = planned
            self.current_row = index
            self._match(record, planned, resolved, key)
            if planned.errors:
                planned.status = "invalid"
                self.result.rows[index].errors.extend(planned.errors)
            plans.append(planned)
        return plans

    def _settle(
        self, chunk: list[tuple[int, ProposedRecord]]
    ) -> list[tuple[dict[str, Any] | None, Hashable]] | None:
        """Per record of `chunk`: its resolved fields and identity key, or (None, None) where a
        value needs `_plan`; None if the chunk is not one type with one set of fields."""
        rtype = chunk[0][1].rtype
        if rtype in (RecordType.TRIAL, RecordType.THRESHOLD):
            return None  # keyed by what is set, and a unit filled in: one by one
        first = chunk[0][1].fields
        names = tuple(first)
        specs = _SPECS[rtype]
        if not names or not specs.keys() >= set(names):
            return None
        for _, record in chunk:
            if (
                record.rtype is not rtype
                or type(record.fields) is not dict
                or tuple(record.fields) != names
            ):
                return None
        size = len(chunk)
        slow = [False] * size
        shortcuts = self.shortcuts.get(rtype) or self._shortcuts(rtype)
        given = list(zip(*[record.fields.values() for _, record in chunk], strict=True))
        columns = [
            self._settle_column(rtype, name, values, shortcuts.get(name), slow)
            for name, values in zip(names, given, strict=True)
        ]
        # Each row a copy of its fields with the values that settling changed set in: most
        # columns (empty ones, stripped text that had nothing to strip) come out the same.
        rows = [dict(record.fields) for _, record in chunk]
        for name, values, column in zip(names, given, columns, strict=True):
            if column is values or all(map(operator.is_, column, values)):
                continue
            for row, value in zip(rows, column, strict=True):
                row[name] = value
        empty = _EMPTY_VALUES[rtype]
        at = {name: position for position, name in enumerate(names)}
        keys = identity_keys(
            rtype,
            lambda name: columns[at[name]] if name in at else [empty[name]] * size,
            size,
        )
        return [
            (None, None) if wrong else (row, key)
            for row, key, wrong in zip(rows, keys, slow, strict=True)
        ]

    def _settle_column(
        self,
        rtype: RecordType,
        name: str,
        values: tuple[Any, ...],
        shortcut: tuple[int, Any] | None,
        slow: list[bool],
    ) -> Sequence[Any]:
        """One field's values as `_plan` settles them without `_value`; the rows of any other
        value are marked in `slow` (what stands for them here is never used)."""
        blank = _BLANKS[rtype][name]
        types = set(map(type, values))
        if types == {type(None)} and blank is not _REQUIRED:
            return values if blank[0] is None else [blank[0]] * len(values)
        if types == {str} and "" not in values:
            if name in _TEXT_FIELDS[rtype]:
                return list(map(str.strip, values))
            if shortcut is not None and shortcut[0] != _PROTEIN:
                known = shortcut[1]
                out = list(map(known.get, values))
                if None in out or _Problem in set(map(type, out)):
                    for position, outcome in enumerate(out):
                        if outcome is None or type(outcome) is _Problem:
                            slow[position] = True
                            out[position] = None  # a stand-in the identity key can take
                # Values that settle as themselves (canonical codes) leave the column as given.
                return values if out == list(values) else out
            if shortcut is not None:  # protein changes: canonical missense ones as they are
                stripped = list(map(str.strip, values))
                if all(map(_canonical_missense, stripped)):
                    return stripped
        settled = [self._settle_cell(rtype, name, value, blank, shortcut) for value in values]
        for position, value in enumerate(settled):
            if value is _UNSETTLED:
                slow[position] = True
                settled[position] = None  # a stand-in the identity key can take
        return settled

    def _settle_cell(
        self,
        rtype: RecordType,
        name: str,
        value: Any,
        blank: tuple[Any, ...],
        shortcut: tuple[int, Any] | None,
    ) -> Any:
        """One value as `_plan` settles it without `_value`, or _UNSETTLED."""
        if value is None or value == "":
            return _UNSETTLED if blank is _REQUIRED else blank[0]
        if type(value) is not str:
            return _UNSETTLED
        if name in _TEXT_FIELDS[rtype]:
            return value.strip()
        if shortcut is None:
            return _UNSETTLED
        how, known = shortcut
        if how == _PROTEIN:
            text = value.strip()
            if _canonical_missense(text):
                return text
        outcome = known.get(value)
        if outcome is None or type(outcome) is _Problem:
            return _UNSETTLED
        return outcome

    def _plan(self, index: int, record: ProposedRecord) -> PlannedRecord:
        rtype = record.rtype
        planned = PlannedRecord(rtype, record.key, index, record.location, "invalid")
        self.planned[record.key] = planned
        specs = _SPECS[rtype]
        fields = record.fields
        # Starts as a copy (in C) so that an empty cell of a field whose empty value is None,
        # most cells of a wide sheet, costs one test; every other value is set below. (With an
        # error the record goes no further, so what an errant field holds here never matters.)
        resolved: dict[str, Any] = dict(fields)
        none_blank = _NONE_BLANK[rtype]
        errors = planned.errors
        blanks = _BLANKS[rtype]
        shortcuts = self.shortcuts.get(rtype) or self._shortcuts(rtype)
        self.current_row = index
        blocked = False
        deps = self.deps
        deps.clear()
        for name, value in fields.items():
            if value is None and name in none_blank:
                continue
            spec = specs.get(name)
            if spec is None:
                errors.append(
                    self._error(
                        record,
                        name,
                        "unknown_field",
                        f"{name!r} is not a field of {rtype}; fields: {', '.join(specs)}",
                    )
                )
                continue
            # Other empty cells, text, and values this import resolved before are settled as
            # `_settle` settles them; the rest by `_value`.
            settled = self._settle_cell(rtype, name, value, blanks[name], shortcuts.get(name))
            if settled is not _UNSETTLED:
                resolved[name] = settled
                continue
            try:
                resolved[name] = self._value(rtype, spec, value, deps)
            except _Problem as problem:
                if problem.quiet:
                    blocked = True
                    continue
                errors.append(
                    self._error(
                        record,
                        name,
                        problem.code,
                        problem.message,
                        value if problem.value is None else problem.value,
                    )
                )
        if deps:
            planned.deps = frozenset(deps)
        if rtype is RecordType.THRESHOLD and "unit" in resolved and not resolved["unit"]:
            # A blank unit means the metric's own (as kb.model.records does on create).
            resolved["unit"] = _metric_unit(resolved.get("metric"))
        if not errors and not blocked:
            self._match(record, planned, resolved)
        if errors or blocked:
            planned.status = "invalid"
            self.result.rows[index].errors.extend(errors)
        return planned

    def _shortcuts(self, rtype: RecordType) -> dict[str, tuple[int, Any]]:
        """Per field of `rtype` whose text `_value` remembers: where it remembers it (the
        coerced values, or the KB records names refer to) and whether a canonical protein
        change comes first."""
        table: dict[str, tuple[int, Any]] = {}
        for name, spec in _SPECS[rtype].items():
            if spec.kind == "ref":
                assert spec.ref is not None
                table[name] = (_NAMES, self.found[spec.ref])
            elif spec.kind not in ("refs", "tree"):
                cache = self.cache.setdefault((rtype, name), {})
                table[name] = (_PROTEIN if spec.kind == "protein" else _CACHED, cache)
        self.shortcuts[rtype] = table
        return table

    def _match(
        self,
        record: ProposedRecord,
        planned: PlannedRecord,
        resolved: dict[str, Any],
        key: Hashable = None,
    ) -> None:
        """Find the record this one is (existing, or proposed before), and how it differs.
        `key` is its identity key if already made (`_settle`)."""
        rtype = record.rtype
        existing = self.kb.fields(rtype)
        empty = _EMPTY_VALUES[rtype]
        # Every field given (a template row has a column for each): nothing to fill in. The
        # keys are field names (`_plan` stopped at any other), so the same count is the same set.
        complete = resolved if len(resolved) == len(empty) else {**empty, **resolved}
        if rtype is RecordType.THRESHOLD and not complete.get("unit") and "metric" in complete:
            complete["unit"] = _metric_unit(complete["metric"])
        if key is None:
            key = (
                _identity(rtype, complete, planned.deps)
                if planned.deps
                else identity_key(rtype, complete)
            )
        target: Target | None
        if record.human_id:
            target = record.human_id.upper()
            if target not in existing:
                planned.errors.append(
                    self._error(
                        record,
                        None,
                        "unknown_id",
                        f"there is no {rtype} {target} in the KB; leave the ID cell empty for a "
                        "new record",
                        record.human_id,
                    )
                )
                return
        else:
            target = self.kb.identity(rtype).get(key) or self.new_identity[rtype].get(key)
        first = self.by_target.get(target) if target is not None else None
        if first is not None:
            self._alias(record, planned, resolved, first)
            return
        if target is None and not record.create:
            planned.target = _ABSENT
            planned.absent = record.absent
            planned.status = "unchanged"
            return
        if isinstance(target, str) and not record.update:
            chosen = {name: value for name, value in resolved.items() if name in self.take}
            if not chosen:
                # The KB's curated record stands; the source only points at it.
                planned.target = target
                planned.fields = dict(existing[target])
                planned.status = "unchanged"
                self.by_target[target] = planned
                return
            resolved = chosen  # the curator takes the source's value of these fields
        if isinstance(target, str):
            before = existing[target]
            planned.target = target
            planned.fields = resolved
            changes: dict[str, Any] = {}
            olds: dict[str, Any] = {}
            for name, value in resolved.items():
                old = before.get(name)
                if not _same(_SPECS[rtype][name], value, old):
                    changes[name] = value
                    olds[name] = old
            if changes:
                planned.changes, planned.before = changes, olds
            planned.status = "changed" if planned.changes else "unchanged"
            if planned.status == "changed":
                merged = {**before, **resolved}
                other = self.kb.identity(rtype).get(_identity(rtype, merged, planned.deps))
                if other is not None and other != target:
                    planned.errors.append(
                        self._error(
                            record,
                            None,
                            "duplicate",
                            f"the change would make {target} a duplicate of {other}",
                        )
                    )
                self._check_new_values(record, planned, planned.changes, merged)
        else:
            missing = [
                name
                for name in _REQUIRED_NAMES[rtype]
                if not (value := complete[name]) and value in (None, "", [])
            ]
            if rtype is RecordType.TRIAL and not complete["nct_id"] and not complete["protocol_no"]:
                planned.errors.append(
                    self._error(
                        record,
                        "nct_id",
                        "required",
                        "a new trial needs an nct_id, or a protocol_no until it has one",
                    )
                )
                return
            if missing:
                for name in missing:
                    planned.errors.append(
                        self._error(
                            record,
                            name,
                            "required",
                            f"a new {rtype} needs a value for {name}; expected "
                            f"{_SPECS[rtype][name].expected()}",
                        )
                    )
                return
            self.new_count += 1
            target = NewRecord(rtype, self.new_count)
            self.new_identity[rtype][key] = target
            planned.target = target
            planned.fields = complete
            planned.status = "new"
            if rtype in _NEW_VALUE_CHECKS:
                self._check_new_values(record, planned, complete, complete)
        if planned.errors:
            planned.status = "invalid"
            return
        self.by_target[target] = planned

    def _alias(
        self,
        record: ProposedRecord,
        planned: PlannedRecord,
        resolved: dict[str, Any],
        first: PlannedRecord,
    ) -> None:
        """A second row describing a record already proposed: the same values, or a conflict."""
        # A new record's fields hold every field (defaults included), an existing one's only
        # those given: either way, what this row gives must agree.
        theirs = first.fields
        differing = [
            name
            for name, value in resolved.items()
            if not _same(_SPECS[record.rtype][name], value, theirs.get(name))
            and (first.status == "new" or name in theirs)
        ]
        if not record.update:
            differing = []  # it only points at the record another row proposes or the KB has
        if differing:
            name = differing[0]
            planned.errors.append(
                self._error(
                    record,
                    name,
                    "conflict",
                    f"row {first.location.row} describes the same {record.rtype} with "
                    f"{name} = {_shown(theirs.get(name))}; one row must change",
                    resolved.get(name),
                )
            )
            return
        planned.target = first.target
        planned.fields = first.fields
        planned.changes = first.changes
        planned.before = first.before
        planned.deps = first.deps | planned.deps
        planned.status = first.status

    def _check_new_values(
        self,
        record: ProposedRecord,
        planned: PlannedRecord,
        values: Mapping[str, Any],
        complete: Mapping[str, Any],
    ) -> None:
        """Checks that only new values need: vocabularies, unique keys, threshold values."""
        rtype = record.rtype
        for name in _CODE_FIELDS[rtype]:
            if values.get(name):
                self._check_codes(record, planned, name, values[name])
        if rtype is RecordType.GENE and ("symbol" in values or "hgnc_id" in values):
            self._check_gene(record, planned, complete)
        if rtype is RecordType.THRESHOLD:
            self._check_threshold(record, planned, complete)
        target = planned.target
        # Values the database keeps unique, checked here first so that an import reports them per
        # row instead of failing at apply.
        for names in unique_keys(rtype):
            if not any(name in values for name in names):
                continue
            value = _unique_value(complete, names)
            if value is None:
                continue
            holder = self.kb.unique(rtype, names).get(value)
            if holder is not None and holder != target:
                planned.errors.append(
                    self._error(
                        record,
                        names[-1],
                        "duplicate_key",
                        f"{holder} already has {' '.join(names)} {_shown(complete[names[-1]])}",
                        complete[names[-1]],
                    )
                )
                continue
            other = self.new_unique.setdefault((rtype, names, value), planned)
            if other is not planned and other.target != target:
                planned.errors.append(
                    self._error(
                        record,
                        names[-1],
                        "duplicate_key",
                        f"row {other.location.row} gives another {rtype} the same "
                        f"{' '.join(names)} {_shown(complete[names[-1]])}",
                        complete[names[-1]],
                    )
                )

    def _check_codes(
        self, record: ProposedRecord, planned: PlannedRecord, name: str, codes: list[str]
    ) -> None:
        tree = self.kb.tumour_tree()
        if tree is None:
            return
        for code in codes:
            if code in SPECIAL_SCOPES or code in tree:
                continue
            replacement = tree.revoked.get(code)
            message = (
                f"OncoTree code {code} is revoked or renamed; use {replacement}"
                if replacement
                else f"OncoTree code {code} is not in the loaded OncoTree"
            )
            planned.errors.append(
                self._error(
                    record, name, "revoked_code" if replacement else "unknown_code", message, code
                )
            )

    def _check_gene(
        self, record: ProposedRecord, planned: PlannedRecord, fields: Mapping[str, Any]
    ) -> None:
        hgnc = self.kb.hgnc()
        if not hgnc:
            return  # no HGNC list loaded: nothing to check against
        symbol = fields.get("symbol") or ""
        if symbol not in hgnc:
            planned.errors.append(
                self._error(
                    record,
                    "symbol",
                    "unknown_gene",
                    f"{symbol} is not an HGNC approved symbol",
                    symbol,
                )
            )
        elif fields.get("hgnc_id") and hgnc[symbol] != fields["hgnc_id"]:
            planned.errors.append(
                self._error(
                    record,
                    "hgnc_id",
                    "hgnc_id_mismatch",
                    f"{fields['hgnc_id']} is not the HGNC id of {symbol} ({hgnc[symbol]})",
                    fields["hgnc_id"],
                )
            )

    def _check_threshold(
        self, record: ProposedRecord, planned: PlannedRecord, fields: Mapping[str, Any]
    ) -> None:
        try:
            check_value(
                Metric(fields["metric"]),
                Operator(fields["operator"]),
                str(fields.get("value") or ""),
                fields.get("unit"),
            )
        except ThresholdValueError as exc:
            name = "unit" if exc.message.startswith("unit") else "value"
            planned.errors.append(
                self._error(
                    record,
                    name,
                    "threshold_mismatch",
                    f"{exc.message}; expected {exc.expected}",
                    fields.get(name),
                )
            )
        except (KeyError, ValueError):
            return  # a missing or bad metric/operator is reported by its field

    # -- values --------------------------------------------------------------------------------

    def _value(self, rtype: RecordType, spec: FieldSpec, value: Any, deps: set[NewRecord]) -> Any:
        """A field value in its stored JSON form; references resolved."""
        if value is None or value == "" or (isinstance(value, list | tuple) and not value):
            return _blank(rtype, spec)
        kind = spec.kind
        if kind == "ref":
            assert spec.ref is not None
            found = self._resolve(spec.ref, value, deps)
            return None if found is _ABSENT else found
        if kind == "refs":
            assert spec.ref is not None
            items = _as_list(value)
            resolved = [
                found
                for found in (self._resolve(spec.ref, item, deps) for item in items)
                if found is not _ABSENT
            ]
            if len(set(resolved)) != len(resolved):
                raise _Problem("invalid_value", "the list names one record twice", items)
            return resolved
        if kind == "tree":
            return self._tree(value, deps)
        if kind == "protein" and isinstance(value, str):
            text = value.strip()
            if _canonical_missense(text):
                return text
        # Values repeat (kinds, genes, levels): each distinct one is coerced once.
        cache = self.cache.get((rtype, spec.name))
        if cache is None:
            cache = self.cache[(rtype, spec.name)] = {}
        cache_key = tuple(value) if isinstance(value, list) else value
        try:
            outcome = cache.get(cache_key)
        except TypeError:  # an unhashable value from an adapter: checked uncached
            return _coerced(rtype, spec, value)
        if outcome is None:
            try:
                outcome = _coerced(rtype, spec, value)
            except _Problem as problem:
                outcome = problem
            if len(cache) < _CACHE_SIZE:
                cache[cache_key] = outcome
        if isinstance(outcome, _Problem):
            raise outcome
        return outcome

    def _resolve(self, rtype: RecordType, value: Any, deps: set[NewRecord]) -> Target:
        if isinstance(value, Ref):
            return self._resolve_ref(rtype, value, deps)
        if not isinstance(value, str):
            value = str(value)
        names = self.found[rtype]
        known = names.get(value)
        if known is not None:
            return known
        text = value.strip()
        upper = text.upper()
        if _HUMAN_ID.match(text):
            owner = _PREFIX_TYPE.get(upper.split("-")[0])
            if owner is not rtype:
                raise _Problem(
                    "wrong_id_type",
                    f"{upper} is not the id of a {rtype}" + (f" but of a {owner}" if owner else ""),
                    text,
                )
            found = self.kb.keys(rtype).get(upper)
            if found is None:
                raise _Problem("unknown_reference", f"there is no {rtype} {upper} in the KB", text)
            return found
        proposed = self.natural[rtype].get(upper)
        if proposed is not None:
            return self._resolve_ref(rtype, Ref(proposed), deps)
        found = self.kb.keys(rtype).get(upper)
        if found is None and rtype is RecordType.GENE:
            via_hgnc = self._gene_from_hgnc(text, deps)
            if via_hgnc is not None:
                return via_hgnc  # not remembered below: it may be a record this file proposes
        if found is None:
            raise _Problem(
                "unknown_reference",
                f"there is no {rtype} {text!r} in the KB or in this file; expected "
                f"{_SPECS_REF_HELP.get(rtype, 'an id')}",
                text,
            )
        # The same name in another row means the same KB record (names of records this file
        # proposes were looked up first, above, and are not remembered here).
        if self.found_count < _CACHE_SIZE:
            names[value] = found
            self.found_count += 1
        return found

    def _gene_from_hgnc(self, text: str, deps: set[NewRecord]) -> Target | None:
        """A gene the KB lacks but HGNC knows: proposed as a new gene record (once per import)
        and referred to; an alias or previous symbol reads as the approved symbol, with a note.
        """
        known = self.hgnc_genes.get(text.upper())
        if known is None:
            found = self.kb.hgnc_gene(text)
            if found is None:
                return None
            fields, renamed = found
            index = self.current_row
            row = self.result.rows[index]
            if renamed is not None:
                self.result.notes.append(
                    ImportError_(
                        row.location,
                        None,
                        "note",
                        f"{text} is an HGNC alias or previous symbol of {renamed} "
                        f"({fields['hgnc_id']}): read as {renamed}",
                    )
                )
            approved = self.kb.keys(RecordType.GENE).get(str(fields["symbol"]).upper())
            if approved is not None:
                known = approved
            else:
                key = f"hgnc {fields['symbol']}"
                if key not in self.planned:
                    record = ProposedRecord(RecordType.GENE, key, fields, row.location)
                    saved, self.deps = self.deps, set()
                    try:
                        planned = self._plan(index, record)
                    finally:
                        self.deps = saved
                        self.current_row = index
                    row.records.append(planned)
                    self.result.plan.append(planned)
                known = key
            self.hgnc_genes[text.upper()] = known
        if known.startswith("hgnc "):
            return self._resolve_ref(RecordType.GENE, Ref(known), deps)
        return known

    def _resolve_ref(self, rtype: RecordType, ref: Ref, deps: set[NewRecord]) -> Target:
        planned = self.planned.get(ref.key)
        if planned is None or planned.rtype is not rtype:
            raise _Problem(
                "unknown_reference", f"refers to {ref.key!r}, which is not a {rtype} of this file"
            )
        if planned.target is _ABSENT:
            self.result.notes.append(
                ImportError_(
                    self.result.rows[self.current_row].location,
                    None,
                    "note",
                    planned.absent
                    or f"the {rtype} it refers to is neither in the KB nor made by this import, "
                    "so the reference is left out",
                )
            )
            return _ABSENT
        if planned.target is None or planned.status == "invalid":
            raise _Problem(
                "invalid_reference",
                f"refers to the {rtype} in row {planned.location.row}, which has errors",
                ref.key,
                quiet=planned.row == self.current_row,
            )
        if isinstance(planned.target, NewRecord):
            deps.add(planned.target)
        return planned.target

    def _tree(self, value: Any, deps: set[NewRecord]) -> exprs.Tree:
        if not isinstance(value, dict):
            raise _Problem("invalid_value", f"expected {exprs.EXPECTED_TREE}")

        def walk(node: Any) -> Any:
            if not isinstance(node, dict):
                return node
            if "op" in node:
                args = node.get("args")
                if not isinstance(args, list):
                    return node
                return {**node, "args": [walk(arg) for arg in args]}
            leaf = dict(node)
            for key, rtype in (
                ("biomarker", RecordType.BIOMARKER),
                ("threshold", RecordType.THRESHOLD),
            ):
                if leaf.get(key) is not None:
                    leaf[key] = self._resolve(rtype, leaf[key], deps)
            return leaf

        tree: exprs.Tree = walk(value)
        try:
            # check_tree needs strings at the leaves; placeholders stand in for new records.
            exprs.check_tree(_leaves_as_text(tree))
        except exprs.TreeError as exc:
            raise _Problem("invalid_value", str(exc)) from None
        return tree

    # -- rows ----------------------------------------------------------------------------------

    def _classify(self) -> None:
        result = self.result
        rows = result.rows
        # Plain loops, not generators: these passes visit every row of a large import.
        needs_check = False
        for row in rows:
            if row.errors:
                row.status = "invalid"
                continue
            for record in row.records:
                if record.status == "invalid":
                    row.status = "invalid"
                    break
            else:
                for record in row.records:
                    if record.deps:
                        needs_check = True
        # A valid row cannot stand on a record only invalid rows would create.
        while needs_check:
            available = {
                record.target
                for row in rows
                if row.status != "invalid"
                for record in row.records
                if isinstance(record.target, NewRecord)
            }
            fell = False
            for row in rows:
                if row.status == "invalid":
                    continue
                for record in row.records:
                    missing = next((dep for dep in record.deps if dep not in available), None)
                    if missing is not None:
                        source = self.by_target.get(missing)
                        where = f" in row {source.location.row}" if source else ""
                        row.errors.append(
                            ImportError_(
                                record.location,
                                None,
                                "invalid_reference",
                                f"refers to the {missing.rtype}{where}, which has errors",
                            )
                        )
                        row.status = "invalid"
                        fell = True
                        break
            if not fell:
                break
        for row in rows:
            if row.status == "invalid":
                continue
            records = row.records
            if len(records) == 1:
                status = records[0].status
                row.status = status if status in ("new", "changed") else "unchanged"
                continue
            statuses = {record.status for record in records}
            row.status = (
                "new" if "new" in statuses else "changed" if "changed" in statuses else "unchanged"
            )
        targets: dict[tuple[RecordType, Status], set[Any]] = defaultdict(set)
        invalid: dict[RecordType, int] = defaultdict(int)
        for row in rows:
            for record in row.records:
                if row.status == "invalid":
                    invalid[record.rtype] += 1
                else:
                    targets[(record.rtype, record.status)].add(record.target)
        result.by_type = {
            rtype: TypeCounts(
                len(targets[(rtype, "new")]),
                len(targets[(rtype, "changed")]),
                len(targets[(rtype, "unchanged")]),
                invalid[rtype],
            )
            for rtype in RecordType
            if invalid[rtype] or any(targets[(rtype, status)] for status in STATUSES)
        }


_SPECS_REF_HELP: dict[RecordType, str] = {
    RecordType.GENE: "a gene id (GN-…) or HGNC symbol",
    RecordType.DRUG: "a drug id (DR-…) or drug name",
    RecordType.THERAPY: "a therapy id (TX-…) or therapy name",
    RecordType.TRIAL: "a trial id (TR-…), NCT id, or the protocol number of a trial without one",
    RecordType.CITATION: "a citation id (CT-…) or kind:identifier such as pmid:12345",
}


def _identity(
    rtype: RecordType, fields: Mapping[str, Any], deps: AbstractSet[NewRecord]
) -> Hashable:
    """`kb.model.identity.identity_key`, with records still to be created named by placeholder."""
    if deps:
        fields = {name: _placeholders(value) for name, value in fields.items()}
    return identity_key(rtype, fields)


def _placeholders(value: Any) -> Any:
    if isinstance(value, NewRecord):
        # Cannot collide with a human id or natural key: those never hold a NUL.
        return f"\x00{value.rtype}:{value.number}"
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    if isinstance(value, dict):
        return {key: _placeholders(item) for key, item in value.items()}
    return value


def _leaves(tree: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if "op" in tree:
        for arg in tree.get("args") or ():
            if isinstance(arg, Mapping):
                yield from _leaves(arg)
    else:
        yield tree


def _leaves_as_text(tree: Any) -> Any:
    if not isinstance(tree, dict):
        return tree
    if "op" in tree:
        args = tree.get("args")
        if isinstance(args, list):
            return {**tree, "args": [_leaves_as_text(arg) for arg in args]}
        return tree
    return {k: str(v) if isinstance(v, NewRecord) else v for k, v in tree.items()}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return [
            item.strip() if isinstance(item, str) else item
            for item in value
            if not (isinstance(item, str) and not item.strip())
        ]
    return [value]


_CACHE_SIZE = 500_000
# How `_Planner._plan` settles a known text without `_value`: a coerced value it remembers, a
# name of a KB record, or a canonical protein change before either.
_CACHED, _NAMES, _PROTEIN = 0, 1, 2
# What stands for a value `_Planner._settle` leaves to `_plan`.
_UNSETTLED = object()


def _coerced(rtype: RecordType, spec: FieldSpec, value: Any) -> Any:
    try:
        return _stored(coerce(rtype, spec, value, record=f"new {rtype}"))
    except FieldError as exc:
        raise _Problem("invalid_value", f"{exc.problem}; expected {exc.expected}") from None


def _stored(value: Any) -> Any:
    """A coerced value as kb.model.records.record_fields shows it (enums as values, dates as
    text)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# What a new record holds in a field its source leaves out: the field's default, or empty
# (kb.model.records.complete_fields fills in the same).
_EMPTY_VALUES: dict[RecordType, dict[str, Any]] = {}


_CODE_FIELDS = {
    rtype: [spec.name for spec in specs if spec.kind == "codes"] for rtype, specs in SPECS.items()
}
_REF_SPECS = {
    rtype: [spec for spec in specs if spec.kind in ("ref", "refs", "tree")]
    for rtype, specs in SPECS.items()
}
_REQUIRED = ("required",)
_REQUIRED_NAMES = {
    rtype: [spec.name for spec in specs if spec.required] for rtype, specs in SPECS.items()
}
# Free-text fields: a text cell is stored stripped (what kb.model.records.coerce does for them).
_TEXT_FIELDS = {
    rtype: {spec.name for spec in specs if spec.kind in ("str", "text")}
    for rtype, specs in SPECS.items()
}
# Per type and field: (what an empty cell means,), or _REQUIRED.
_BLANKS: dict[RecordType, dict[str, tuple[Any, ...]]] = {}
# The types whose new values `_Planner._check_new_values` checks (vocabularies, gene symbols,
# thresholds, unique keys): a new record of another type needs no call.
_NEW_VALUE_CHECKS = frozenset(
    rtype
    for rtype, specs in SPECS.items()
    if any(spec.kind == "codes" for spec in specs)
    or rtype in (RecordType.GENE, RecordType.THRESHOLD)
    or unique_keys(rtype)
)
# Per type: the fields whose empty cell means None (not required, no default, not a list).
_NONE_BLANK: dict[RecordType, frozenset[str]] = {}


def _blank(rtype: RecordType, spec: FieldSpec) -> Any:
    """What an empty cell means: the field's default, or empty; an error if required."""
    default = _DEFAULTS.get(rtype, {}).get(spec.name)
    if default is not None:
        return list(default) if isinstance(default, list) else default
    if spec.required:
        raise _Problem("required", f"a value is required; expected {spec.expected()}")
    if spec.kind in _LIST_KINDS:
        return []
    if spec.kind == "bool":
        return False
    return None


def _metric_unit(metric: Any) -> str | None:
    with contextlib.suppress(ValueError):
        return METRICS[Metric(metric)].unit
    return None


def _same(spec: FieldSpec, new: Any, old: Any) -> bool:
    """Equal as stored: "" / None / [] / false mean the same empty value."""
    if new == old:
        return True
    empty: tuple[Any, ...] = (None, "", [], False) if spec.kind == "bool" else (None, "", [])
    return new in empty and old in empty


def _shown(value: Any) -> str:
    return repr(_jsonable(value))


# --- apply ----------------------------------------------------------------------------------------


def apply(
    result: ImportPreview,
    session: Session,
    *,
    actor: Actor,
    skip_invalid: bool = False,
    source_name: str | None = None,
    source_sha256: str | None = None,
    title: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> str | None:
    """Stage a previewed import as one draft change set, in the caller's transaction.

    Returns the change set's id, or None when there is nothing to stage (every row unchanged).
    Refuses (KbError) a file that could not be read, invalid rows unless `skip_invalid` — which
    leaves them out and records them with their errors on the change set — and a KB that
    changed since the preview. Nothing is merged: a reviewer approves the change set. If this
    raises (or the process dies), the caller's transaction rolls back and the KB is untouched.
    """
    from kb.review.changes import open_draft, record_skipped

    if result.fatal:
        raise KbError(f"nothing imported: {result.summary()}")
    if result.invalid and not skip_invalid:
        raise KbError(
            f"nothing imported: {result.invalid} of {len(result.rows)} rows are invalid; fix "
            "them, or import the valid rows only with --skip-invalid"
        )
    if current_version(session) != result.kb_version:
        raise KbError(
            "nothing imported: the KB changed since the preview was made; preview the file again"
        )
    skipped = [
        Skipped(row.location, list(row.errors)) for row in result.rows if row.status == "invalid"
    ]
    if not result.has_changes and not skipped:
        return None
    report = progress or no_progress
    name = source_name or result.source
    editor = open_draft(
        session,
        actor=actor,
        title=title or f"Import {name}",
        source_name=name,
        source_sha256=source_sha256,
    )
    stager = _Stager(result, editor)
    pending = [
        record
        for record in result.plan
        if record.status in ("new", "changed") and result.rows[record.row].status != "invalid"
    ]
    # Staging one record must not flush the session (each flush walks everything staged so
    # far, which makes a large import quadratic); the session is flushed once per batch.
    with session.no_autoflush, paused_gc():
        for start in range(0, len(pending), BATCH):
            stager.stage_many(pending[start : start + BATCH])
            stager.finish_run()
            session.flush()
            if cancel is not None:
                cancel.check()
            report(min(start + BATCH, len(pending)), len(pending))
        # The staged rows and their audit events are written here, with the collector still
        # paused: left to the commit, writing them walked the preview's millions of objects
        # over and over (measured: the commit took twice as long).
        editor.flush()
    if skipped:
        record_skipped(session, editor.change_set_id, [entry.as_json() for entry in skipped])
    report(len(pending), len(pending))
    return str(editor.change_set_id)


class _Stager:
    """Creates and updates through the draft editor, each target once, dependencies first."""

    def __init__(self, result: ImportPreview, editor: Any) -> None:
        self.editor = editor
        self.created: dict[NewRecord, str] = {}
        self.run: list[PlannedRecord] = []  # new records waiting to be created together
        self.run_targets: set[NewRecord] = set()
        self.updated: set[str] = set()
        # The first valid row proposing each new record stages it (the plan is in dependency
        # order, but with --skip-invalid a record's first proposer may be a skipped row).
        self.sources: dict[NewRecord, PlannedRecord] = {}
        for record in result.plan:
            if isinstance(record.target, NewRecord) and result.rows[record.row].status != "invalid":
                self.sources.setdefault(record.target, record)

    def stage_many(self, records: Sequence[PlannedRecord]) -> None:
        """`stage` each record, in order; a new record that refers to no other new one and is
        first proposed by itself (most of a large import) joins the bulk create in this loop."""
        run, run_targets, created, sources = self.run, self.run_targets, self.created, self.sources
        for record in records:
            target = record.target
            if (
                type(target) is NewRecord
                and not record.deps
                and sources[target] is record
                and (not run or run[0].rtype is record.rtype)
                and target not in created
                and target not in run_targets
            ):
                run.append(record)
                run_targets.add(target)
            else:
                self.stage(record)  # (may finish the run: `run` is the same list after)

    def stage(self, record: PlannedRecord) -> None:
        target = record.target
        if isinstance(target, NewRecord):
            if target in self.created or target in self.run_targets:
                return
            if not record.deps and self.sources[target] is record:
                # A new record that refers to no other new one: staged in bulk with others of
                # its type (most of a large import).
                if self.run and self.run[0].rtype is not record.rtype:
                    self.finish_run()
                self.run.append(record)
                self.run_targets.add(target)
                return
            self.finish_run()
            self._create(target)
        elif isinstance(target, str) and target not in self.updated and record.changes:
            self.finish_run()
            for dep in record.deps:
                self._create(dep)
            self.editor.update(target, self._final(record.changes))
            self.updated.add(target)

    def finish_run(self) -> None:
        """Stage the records gathered for a bulk create."""
        if not self.run:
            return
        human_ids = self.editor.create_many(
            self.run[0].rtype, [record.fields for record in self.run]
        )
        targets: Iterator[NewRecord] = map(attrgetter("target"), self.run)
        self.created.update(zip(targets, human_ids, strict=True))
        # Emptied, not replaced: `stage_many` holds both.
        self.run.clear()
        self.run_targets.clear()

    def _create(self, target: NewRecord) -> str:
        known = self.created.get(target)
        if known is not None:
            return known
        record = self.sources[target]
        for dep in record.deps:
            if dep != target:
                self._create(dep)
        # Only a record that refers to other new records holds placeholders to swap.
        fields = self._final(record.fields) if record.deps else record.fields
        human_id = str(self.editor.create(record.rtype, fields, checked=True))
        self.created[target] = human_id
        return human_id

    def _final(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fields with each new record's placeholder replaced by its human id."""
        return {name: self._swap(value) for name, value in fields.items()}

    def _swap(self, value: Any) -> Any:
        if isinstance(value, NewRecord):
            return self.created[value]
        if isinstance(value, list):
            return [self._swap(item) for item in value]
        if isinstance(value, dict):
            return {key: self._swap(item) for key, item in value.items()}
        return value


# --- errors out, file digests ---------------------------------------------------------------------

ERROR_COLUMNS = ("file", "sheet", "row", "column", "field", "code", "message", "value")


def export_errors(result: ImportPreview, path: Path, *, source: Path | None = None) -> int:
    """Write every error of a preview to `path` (.csv, or .xlsx); return how many.

    The xlsx has an "Errors" sheet (one line per error, with its row and column); given the
    `source` spreadsheet, it also carries a copy of the source's data with each offending cell
    filled red and its message as a cell note.
    """
    errors = result.errors
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(ERROR_COLUMNS)
            for error in errors:
                data = error.as_json()
                writer.writerow(
                    [_csv_safe(_cell_text(data.get(column))) for column in ERROR_COLUMNS]
                )
        return len(errors)
    if suffix != ".xlsx":
        raise KbError(f"errors can be written to .xlsx or .csv, not {path.name}")
    _errors_workbook(errors, path, source)
    return len(errors)


# A cell starting with one of these runs as a formula when the CSV is opened in a spreadsheet
# ("CSV injection"; the release's TSVs guard the same way, kb.release.tables). An import's
# errors quote the untrusted file's own cells, so they get the mark spreadsheets use for text.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(_jsonable(value))


def _errors_workbook(errors: list[ImportError_], path: Path, source: Path | None) -> None:
    from openpyxl import Workbook as XlsxWorkbook  # type: ignore[import-untyped]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
    from openpyxl.comments import Comment  # type: ignore[import-untyped]
    from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]

    from kb.importing.limits import column_index

    book = XlsxWorkbook(write_only=True)
    sheet = book.create_sheet("Errors")
    bold = Font(bold=True)
    header = []
    for column in ERROR_COLUMNS:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for error in errors:
        data = error.as_json()
        sheet.append([_text_cell(sheet, data.get(column)) for column in ERROR_COLUMNS])
    if source is not None:
        by_cell: dict[tuple[str, int], dict[int, list[ImportError_]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for error in errors:
            where = error.location
            if where.row is not None:
                # Errors about a whole row mark its first cell.
                index = column_index(where.column) if where.column else -1
                by_cell[(where.sheet or "", where.row)][index].append(error)
        red = PatternFill("solid", fgColor="FFC7CE")
        for data_sheet in _source_sheets(source):
            out = book.create_sheet(_safe_title(data_sheet.name or "Data"))
            for number, row in enumerate(data_sheet.rows, 1):
                marks = by_cell.get((data_sheet.name, number), {})
                width = max([len(row), *(c + 1 for c in marks)])
                cells = []
                for index in range(width):
                    value = row[index] if index < len(row) else ""
                    cell = _text_cell(out, value)
                    problems = marks.get(index) or (marks.get(-1) if index == 0 else None)
                    if problems:
                        cell.fill = red
                        cell.comment = Comment(
                            "\n".join(p.message for p in problems)[:2000], "kb import"
                        )
                    cells.append(cell)
                out.append(cells)
    book.save(path)


def _text_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or value == "":
        return WriteOnlyCell(sheet, value=None)
    if isinstance(value, bool | int | float | dt.date):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=_cell_text(value))
    # Text is text: a value starting with "=" must never become a formula.
    cell.data_type = "s"
    return cell


def _safe_title(name: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    return cleaned if cleaned and cleaned != "Errors" else "Data"


def _source_sheets(source: Path) -> list[Any]:
    from kb.importing.readers import read_workbook

    try:
        return list(read_workbook(source).sheets)
    except (SourceError, KbError):
        return []  # the error sheet alone still says where every problem is


def sha256_of(path: Path) -> str:
    """The sha256 of a file, hex: recorded on the change set and in the audit trail. For a
    directory (a CTML import of many files): the sha256 of its manifest, one line
    ``<sha256 of the file>  <name>`` per visible file directly in it, by name (what
    `sha256sum *` prints), so a change to any file changes it."""
    if path.is_dir():
        lines = "".join(
            f"{sha256_of(entry)}  {entry.name}\n"
            for entry in sorted(path.iterdir())
            if entry.is_file() and not entry.name.startswith(".")
        )
        return hashlib.sha256(lines.encode()).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fill_blanks() -> None:
    for rtype, specs in _SPECS.items():
        table: dict[str, tuple[Any, ...]] = {}
        for name, spec in specs.items():
            try:
                table[name] = (_blank(rtype, spec),)
            except _Problem:
                table[name] = _REQUIRED
        _BLANKS[rtype] = table
        _NONE_BLANK[rtype] = frozenset(
            name for name, blank in table.items() if blank is not _REQUIRED and blank[0] is None
        )
        _EMPTY_VALUES[rtype] = {
            name: [] if spec.kind in _LIST_KINDS else False if spec.kind == "bool" else None
            for name, spec in specs.items()
        }
        for name, value in _DEFAULTS.get(rtype, {}).items():
            _EMPTY_VALUES[rtype][name] = _stored(value)


_fill_blanks()
