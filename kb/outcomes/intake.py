"""Outcome records in: a spreadsheet or CSV of treatment episodes, read by kb.importing's
readers (the same limits, isolation and located errors as every import), checked at the door
for direct identifiers, validated row by row, and stored all or nothing.

A profile says which sheet and header row, and which column is which field; the built-in
profile `outcomes` knows the headers below (case, spacing and underscores ignored), and a TOML
profile adds its own:

    sheet = "Episodes"        # name or 1-based position; default the first
    header_row = 1
    date_shift = true         # shift each patient's dates by a keyed -182..+182 days
    [columns]                 # header text -> field
    "Pt code" = "patient"

Fields (* required): patient*, site*, tumour_type* (OncoTree code), biomarkers* (";"-separated,
see kb.outcomes.biomarkers), therapy*, line, start_date, stop_date, days_on_treatment,
best_response* (RECIST 1.1: CR, PR, SD, PD, NE), pfs_days, progressed, reason_stopped
(kb.model.enums.StopReason; blank: ongoing), release, assertions (human ids).

The patient column holds the site's own study id; it is never stored, only its keyed hash
(kb.outcomes.keys). Dates are stored shifted (or not at all with date_shift = false: then only
durations are kept).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.importing.engine import sha256_of
from kb.importing.limits import Limits, column_letter
from kb.importing.model import ImportError_, Location, SourceError
from kb.importing.profiles import header_key
from kb.importing.progress import CancelToken, no_progress, paused_gc
from kb.importing.readers import read_workbook
from kb.model.enums import BestResponse, StopReason
from kb.model.orm import OutcomeEpisode, OutcomeImport, TumourType
from kb.outcomes.biomarkers import BiomarkerIndex, therapy_key
from kb.outcomes.keys import OutcomeKey, find_key
from kb.outcomes.privacy import identifier_header, scan_row
from kb.review.audit import record_event
from kb.review.users import Actor, Permission, require
from kb.storage.db import bulk_insert
from kb.storage.meta import get_meta

# A cohort export is bigger than a curation sheet: a million episodes of ~15 columns.
OUTCOME_LIMITS = Limits(max_file_bytes=512 * 1024 * 1024, max_rows=2_000_001, max_cells=40_000_000)
MAX_ERRORS_KEPT = 1_000

FIELDS: dict[str, tuple[str, ...]] = {
    "patient": ("patient", "patient id", "patient key", "study id", "subject", "subject id"),
    "site": ("site", "centre", "center", "site code"),
    "tumour_type": ("tumour type", "tumor type", "oncotree", "oncotree code", "cancer type"),
    "biomarkers": ("biomarkers", "biomarker", "biomarkers found", "alterations"),
    "therapy": ("therapy", "treatment", "regimen"),
    "line": ("line", "line of therapy", "treatment line"),
    "start_date": ("start date", "start"),
    "stop_date": ("stop date", "end date", "stop"),
    "days_on_treatment": ("days on treatment", "time on treatment", "duration days"),
    "best_response": ("best response", "best overall response", "response", "recist"),
    "pfs_days": ("pfs days", "progression free days", "pfs"),
    "progressed": ("progressed", "progression event"),
    "reason_stopped": ("reason stopped", "stop reason", "reason"),
    "release": ("release", "kb release", "release version"),
    "assertions": ("assertions", "assertion", "assertion ids"),
}
REQUIRED = ("patient", "site", "tumour_type", "biomarkers", "therapy", "best_response")

_RESPONSES = {
    **{member.value.lower(): member for member in BestResponse},
    "complete response": BestResponse.CR,
    "partial response": BestResponse.PR,
    "stable disease": BestResponse.SD,
    "progressive disease": BestResponse.PD,
    "not evaluable": BestResponse.NE,
    "not evaluated": BestResponse.NE,
}
_REASONS = {
    **{member.value: member for member in StopReason},
    "patient choice": StopReason.PATIENT_CHOICE,
    "progressive disease": StopReason.PROGRESSION,
    "adverse event": StopReason.TOXICITY,
    "died": StopReason.DEATH,
    "completed treatment": StopReason.COMPLETED,
}
_BOOLS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
          "false": False, "0": False}  # fmt: skip
_HUMAN_ID = re.compile(r"^AS-\d+$")
_RELEASE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
_LINE = re.compile(r"^(\d{1,2})\s*L?$", re.IGNORECASE)
_ID_SPLIT = re.compile(r"[\s,;]+")

COLUMNS = (
    "import_id", "patient_key", "site", "tumour_type", "biomarkers", "therapy", "therapy_key",
    "line", "start_date", "days_on_treatment", "best_response", "pfs_days", "progressed",
    "reason_stopped", "release_version", "assertion_ids",
)  # fmt: skip


@dataclass(frozen=True)
class OutcomeProfile:
    name: str = "outcomes"
    sheet: str | int | None = None
    header_row: int = 1
    date_shift: bool = True
    columns: Mapping[str, str] = field(default_factory=dict)  # header key -> field

    def field_of(self, header: object) -> str | None:
        key = header_key(header)
        if key in self.columns:
            return self.columns[key]
        return _ALIASES.get(key)


_ALIASES = {alias: name for name, aliases in FIELDS.items() for alias in aliases}


def load_outcome_profile(profile: str | Path) -> OutcomeProfile:
    """`outcomes` (built in) or a TOML file (see the module docstring); KbError if bad."""
    if str(profile) == "outcomes":
        return OutcomeProfile()
    path = Path(profile)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KbError(f"{path}: not a readable TOML outcomes profile: {exc}") from None
    unknown = set(data) - {"sheet", "header_row", "date_shift", "columns"}
    if unknown:
        raise KbError(f"{path}: unknown profile keys {sorted(unknown)}")
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise KbError(f"{path}: [columns] must map header text to a field")
    for header, name in columns.items():
        if name not in FIELDS:
            raise KbError(
                f"{path}: column {header!r} maps to {name!r}, which is not an outcome field "
                f"({', '.join(FIELDS)})"
            )
    header_row = data.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise KbError(f"{path}: header_row must be a row number (1 or more)")
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, str | int):
        raise KbError(f"{path}: sheet must be a name or a 1-based position")
    return OutcomeProfile(
        name=path.name,
        sheet=sheet,
        header_row=header_row,
        date_shift=bool(data.get("date_shift", True)),
        columns={header_key(h): str(n) for h, n in columns.items()},
    )


@dataclass
class IntakeResult:
    """What an outcomes import found or did. `import_id` is set only when rows were stored."""

    file: str
    sha256: str
    dry_run: bool
    rows: int = 0
    episodes: int = 0
    patients: int = 0
    sites: int = 0
    errors: list[ImportError_] = field(default_factory=list)
    error_count: int = 0
    import_id: str | None = None
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "episodes": self.episodes,
            "patients": self.patients,
            "sites": self.sites,
            "error_count": self.error_count,
            "errors": [error.as_json() for error in self.errors],
            "import_id": self.import_id,
            "key_fingerprint": self.key_fingerprint,
        }

    def summary(self) -> str:
        if not self.ok:
            return (
                f"{self.file}: {self.error_count} error(s) in {self.rows} row(s); "
                "nothing was stored"
            )
        verb = "would import" if self.dry_run else "imported"
        return (
            f"{self.file}: {verb} {self.episodes} episode(s) of {self.patients} patient(s) "
            f"from {self.sites} site(s)"
        )


class _Errors:
    def __init__(self, result: IntakeResult) -> None:
        self.result = result

    def add(self, error: ImportError_) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < MAX_ERRORS_KEPT:
            self.result.errors.append(error)


def import_outcomes(
    session: Session,
    path: Path,
    *,
    actor: Actor | None,
    key: OutcomeKey | None = None,
    profile: str | Path = "outcomes",
    dry_run: bool = False,
    progress: Callable[[int, int], None] = no_progress,
    cancel: CancelToken | None = None,
    limits: Limits = OUTCOME_LIMITS,
) -> IntakeResult:
    """Read, check and (unless `dry_run` or anything is wrong) store the episodes of `path` in
    the caller's unit of work. Curators and reviewers import (the role is checked before the
    file is read). `key` defaults to the KB's key (kb.outcomes.keys.find_key)."""
    _check_actor(actor, dry_run)
    spec = load_outcome_profile(profile)
    result = IntakeResult(file=path.name, sha256=sha256_of(path), dry_run=dry_run)
    try:
        workbook = read_workbook(path, file=path.name, limits=limits, cancel=cancel)
        sheet = workbook.sheet(spec.sheet)
    except SourceError as exc:
        errors = _Errors(result)
        for error in exc.errors:
            errors.add(error)
        return result
    if len(sheet.rows) < spec.header_row:
        where = Location(path.name, sheet.location_name, spec.header_row)
        _Errors(result).add(ImportError_(where, None, "no_header", "the sheet has no header row"))
        return result
    table = _Table(
        file=path.name,
        sheet=sheet.location_name,
        header_row=spec.header_row,
        headers=list(sheet.rows[spec.header_row - 1]),
        rows=sheet.rows[spec.header_row :],
        cell_errors=sheet.cell_errors,
        column=column_letter,
    )
    return _intake(session, table, result, actor=actor, key=key, spec=spec, dry_run=dry_run,
                   progress=progress, cancel=cancel)  # fmt: skip


def import_records(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    *,
    source: str,
    actor: Actor | None,
    key: OutcomeKey | None = None,
    dry_run: bool = False,
    pseudonymised: bool = False,
) -> IntakeResult:
    """The same intake for episodes that arrive as records (a FHIR Bundle read by
    kb.outcomes.fhir, a service's JSON): keys are headers (identifier keys refused like
    identifier columns), record N is "row N", errors name the key as their column. `source`
    names the batch in errors and in the import's register (never a patient).

    `pseudonymised`: the records were pseudonymised at the door under `key` (kb.outcomes.spool:
    the patient is already its keyed hash, the dates already shifted), so neither is done
    again."""
    _check_actor(actor, dry_run)
    headers: list[str] = []
    for record in records:
        headers.extend(name for name in record if name not in headers)
    rows = [[record.get(name, "") for name in headers] for record in records]
    digest = hashlib.sha256(orjson.dumps([[str(v) for v in row] for row in rows])).hexdigest()
    result = IntakeResult(file=source, sha256=digest, dry_run=dry_run)
    table = _Table(
        file=source, sheet=None, header_row=0, headers=headers, rows=rows, cell_errors={},
        column=lambda index: headers[index],
    )  # fmt: skip
    return _intake(session, table, result, actor=actor, key=key, spec=OutcomeProfile(),
                   dry_run=dry_run, progress=no_progress, cancel=None,
                   pseudonymised=pseudonymised)  # fmt: skip


_NO_SHIFT = dt.timedelta(0)


def _check_actor(actor: Actor | None, dry_run: bool) -> None:
    if not dry_run:
        if actor is None:
            raise KbError("importing outcome records needs a signed-in curator")
        require(actor, Permission.EDIT)


@dataclass
class _Table:
    """Rows under a header, from a sheet or from records; `column(i)` names column i as
    errors show it (a letter, or a record's key)."""

    file: str
    sheet: str | None
    header_row: int  # as shown; data rows follow it
    headers: list[Any]
    rows: Sequence[list[Any]]
    cell_errors: Mapping[tuple[int, int], ImportError_]
    column: Callable[[int], str]


def _intake(
    session: Session,
    table: _Table,
    result: IntakeResult,
    *,
    actor: Actor | None,
    key: OutcomeKey | None,
    spec: OutcomeProfile,
    dry_run: bool,
    progress: Callable[[int, int], None],
    cancel: CancelToken | None,
    pseudonymised: bool = False,
) -> IntakeResult:
    errors = _Errors(result)
    file, sheet_name = table.file, table.sheet
    where = Location(file, sheet_name, table.header_row or None)
    mapping: dict[str, int] = {}
    for column, header in enumerate(table.headers):
        if header in ("", None):
            continue
        cell = Location(file, sheet_name, table.header_row or None, table.column(column))
        what = identifier_header(str(header))
        name = spec.field_of(header)
        if what:  # even mapped to patient: a record number is not a study id
            errors.add(
                ImportError_(
                    cell,
                    None,
                    "direct_identifier",
                    f"the column {str(header)!r} holds a direct identifier ({what}); outcome "
                    "records must be de-identified: remove the column and import again",
                )
            )
            continue
        if name is None:
            continue  # not an outcome field: never read, never stored (but scanned below)
        if name in mapping:
            errors.add(
                ImportError_(
                    cell, name, "duplicate_column", f"a second column maps to field {name}"
                )
            )
            continue
        mapping[name] = column
    for name in REQUIRED:
        if name not in mapping:
            errors.add(
                ImportError_(
                    where,
                    name,
                    "missing_column",
                    f"no column for {name}; expected a header such as "
                    + " / ".join(repr(alias) for alias in FIELDS[name][:3]),
                )
            )
    if result.error_count:
        return result
    parser = _RowParser(mapping, _Context.load(session), table.column)
    out_rows: list[tuple[Any, ...]] = []
    patients: set[tuple[str, str]] = set()
    sites: set[str] = set()
    total = len(table.rows)
    with paused_gc():
        for offset, row in enumerate(table.rows):
            number = table.header_row + offset + 1
            if offset % 20_000 == 0:
                progress(offset, total)
                if cancel is not None:
                    cancel.check()
            if not any(cell not in ("", None) for cell in row):
                continue
            result.rows += 1
            found = False
            for column, what in scan_row(row):
                found = True
                errors.add(
                    ImportError_(
                        Location(file, sheet_name, number, table.column(column)),
                        None,
                        "direct_identifier",
                        f"the cell holds {what}; outcome records must be de-identified: "
                        "remove it and import again",
                    )
                )
            if found:
                continue
            parsed = _parse_row(
                row,
                parser,
                number=number,
                file=file,
                sheet=sheet_name,
                errors=errors,
                cell_errors=table.cell_errors,
            )
            if parsed is None:
                continue
            sites.add(parsed[0])
            patients.add((parsed[0], parsed[1]))
            out_rows.append(parsed)
    progress(total, total)
    result.episodes = len(out_rows)
    result.patients = len(patients)
    result.sites = len(sites)
    if result.error_count or dry_run or not out_rows:
        if not out_rows and not result.error_count:
            errors.add(ImportError_(where, None, "no_rows", "there are no episodes"))
        return result
    assert actor is not None
    key = key or find_key(get_meta(session, "kb_id") or "kb", create=True)
    known = session.scalar(select(OutcomeImport.key_fingerprint).limit(1))
    if known is not None and known != key.fingerprint:
        raise KbError(
            f"the outcomes key (fingerprint {key.fingerprint}) is not the one earlier imports "
            f"used ({known}): its patient keys would not link with theirs; use the KB's key"
        )
    result.key_fingerprint = key.fingerprint
    _store(session, result, parsed_rows=out_rows, key=key, spec=spec, actor=actor,
           pseudonymised=pseudonymised)  # fmt: skip
    return result


def _store(
    session: Session,
    result: IntakeResult,
    *,
    parsed_rows: list[tuple[Any, ...]],
    key: OutcomeKey,
    spec: OutcomeProfile,
    actor: Actor,
    pseudonymised: bool = False,
) -> None:
    batch = OutcomeImport(
        imported_by=actor.name,
        source_name=result.file,
        source_sha256=result.sha256,
        episodes=len(parsed_rows),
        key_fingerprint=key.fingerprint,
    )
    session.add(batch)
    session.flush()
    import_id = batch.id
    hashed: dict[tuple[str, str], tuple[str, dt.timedelta]] = {}

    def rows() -> Any:
        for site, patient, start, *rest in parsed_rows:
            known = hashed.get((site, patient))
            if known is None:
                # Pseudonymised at the door: the id is the key, the dates are shifted.
                known = (patient, _NO_SHIFT) if pseudonymised else key.pseudonym(site, patient)
                hashed[(site, patient)] = known
            shifted = None
            if start is not None and spec.date_shift:
                shifted = start + known[1]
            yield (import_id, known[0], site, *rest[:5], shifted, *rest[5:])

    with paused_gc():
        bulk_insert(session, OutcomeEpisode, COLUMNS, rows(), batch=10_000)
    result.import_id = import_id
    # The audit names the import and its digest and counts: never a patient, a site's patient
    # id or a file's content.
    record_event(
        session,
        actor=actor.name,
        action="outcomes.import",
        subject=import_id,
        details={
            "sha256": result.sha256,
            "episodes": result.episodes,
            "patients": result.patients,
            "sites": result.sites,
            "key_fingerprint": key.fingerprint,
            "profile": spec.name,
            "date_shift": spec.date_shift,
            "pseudonymised_at_door": pseudonymised,
        },
    )


@dataclass
class _Context:
    tumour_codes: frozenset[str]
    biomarkers: BiomarkerIndex
    assertions: frozenset[str]

    @classmethod
    def load(cls, session: Session) -> _Context:
        index = BiomarkerIndex.load(session)
        return cls(
            tumour_codes=frozenset(session.scalars(select(TumourType.code))),
            biomarkers=index,
            assertions=frozenset(index.assertions),
        )


class _Bad(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _int(value: Any, name: str, *, low: int = 0, high: int = 100_000) -> int | None:
    if value in ("", None):
        return None
    if isinstance(value, bool):
        raise _Bad(name, "bad_number", f"{name} must be a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise _Bad(name, "bad_number", f"{name} must be a whole number {low}..{high}")
    return number


def _date(value: Any, name: str) -> dt.date | None:
    if value in ("", None):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise _Bad(name, "bad_date", f"{name} must be a date as YYYY-MM-DD") from None


class _RowParser:
    """Turns a row's cells into an episode tuple. Each field's conversion is memoised by cell
    value (a cohort repeats its tumour types, biomarkers, therapies, dates and responses over
    and over): a million rows cost a million dictionary lookups per field, not a million
    parses. A problem is memoised too, and raised again for every cell that holds it."""

    _MEMO_LIMIT = 200_000

    def __init__(
        self, mapping: Mapping[str, int], context: _Context, column: Callable[[int], str]
    ) -> None:
        self.mapping = mapping
        self.column_name = column
        self.context = context
        self.fields = [name for name in FIELDS if name in mapping and name != "patient"]
        self.columns = [mapping[name] for name in self.fields]
        self.memos: dict[str, dict[Any, Any]] = {name: {} for name in FIELDS}
        self.convert: dict[str, Callable[[Any], Any]] = {
            "site": self._site,
            "tumour_type": self._tumour,
            "biomarkers": self._biomarkers,
            "therapy": self._therapy,
            "line": self._line,
            "start_date": lambda v: _date(v, "start_date"),
            "stop_date": lambda v: _date(v, "stop_date"),
            "days_on_treatment": lambda v: _int(v, "days_on_treatment"),
            "best_response": self._response,
            "pfs_days": lambda v: _int(v, "pfs_days"),
            "progressed": self._progressed,
            "reason_stopped": self._reason,
            "release": self._release,
            "assertions": self._assertions,
        }

    def parse(self, row: list[Any]) -> tuple[Any, ...]:
        """The episode; `_Bad` naming the first field in error."""
        width = len(row)
        patient_column = self.mapping["patient"]
        patient = _text(row[patient_column]) if patient_column < width else ""
        if not patient or len(patient) > 128:
            raise _Bad("patient", "missing", "patient: the site's study id (1-128 characters)")
        values: dict[str, Any] = dict.fromkeys(FIELDS)
        memos, convert = self.memos, self.convert
        for name, column in zip(self.fields, self.columns, strict=True):
            raw = row[column] if column < width else None
            memo = memos[name]
            try:
                value = memo[raw]
            except KeyError:
                try:
                    value = convert[name](raw)
                except _Bad as problem:
                    value = problem
                if len(memo) < self._MEMO_LIMIT:
                    memo[raw] = value
            if isinstance(value, _Bad):
                raise value
            values[name] = value
        return self._combine(patient, values)

    @staticmethod
    def _combine(patient: str, v: dict[str, Any]) -> tuple[Any, ...]:
        start, stop, days = v["start_date"], v["stop_date"], v["days_on_treatment"]
        if start is not None and stop is not None:
            span = (stop - start).days
            if span < 0:
                raise _Bad("stop_date", "bad_date", "stop_date is before start_date")
            if days is not None and days != span:
                raise _Bad(
                    "days_on_treatment",
                    "inconsistent",
                    f"days_on_treatment disagrees with the dates ({span} days apart)",
                )
            days = span
        reason = v["reason_stopped"]
        if reason is None:
            reason = StopReason.OTHER if stop is not None else StopReason.ONGOING
        progressed = v["progressed"]
        if progressed is None and reason is StopReason.PROGRESSION:
            progressed = True
        therapy, key = v["therapy"]
        return (
            v["site"], patient, start, v["tumour_type"], v["biomarkers"], therapy, key,
            v["line"], days, v["best_response"], v["pfs_days"], progressed, reason,
            v["release"], v["assertions"] or "",
        )  # fmt: skip

    def _site(self, raw: Any) -> str:
        site = _text(raw)
        if not site or len(site) > 128:
            raise _Bad("site", "missing", "site: the reporting site (1-128 characters)")
        return site

    def _tumour(self, raw: Any) -> str:
        tumour = _text(raw).upper()
        if tumour not in self.context.tumour_codes:
            raise _Bad(
                "tumour_type",
                "unknown_code",
                "tumour_type must be an OncoTree code of the KB's loaded OncoTree release",
            )
        return tumour

    def _biomarkers(self, raw: Any) -> str:
        try:
            return self.context.biomarkers.canonical_list(_text(raw))
        except ValueError as exc:
            raise _Bad("biomarkers", "bad_biomarker", str(exc)) from None

    def _therapy(self, raw: Any) -> tuple[str, str]:
        therapy = " ".join(_text(raw).split())
        if not therapy or len(therapy) > 256:
            raise _Bad("therapy", "missing", "therapy: the regimen given (1-256 characters)")
        return therapy, therapy_key(therapy)

    def _line(self, raw: Any) -> int | None:
        text = _text(raw)
        if not text:
            return None
        match = _LINE.match(text)
        if not match or not 1 <= int(match.group(1)) <= 20:
            raise _Bad("line", "bad_line", "line must be a line number 1..20 (e.g. 2 or 2L)")
        return int(match.group(1))

    def _response(self, raw: Any) -> BestResponse:
        response = _RESPONSES.get(_text(raw).lower())
        if response is None:
            raise _Bad(
                "best_response",
                "bad_response",
                "best_response must be a RECIST 1.1 best overall response: CR, PR, SD, PD or NE",
            )
        return response

    def _progressed(self, raw: Any) -> bool | None:
        text = _text(raw).lower()
        if not text:
            return None
        if text not in _BOOLS:
            raise _Bad("progressed", "bad_flag", "progressed must be yes or no")
        return _BOOLS[text]

    def _reason(self, raw: Any) -> StopReason | None:
        text = " ".join(_text(raw).lower().replace("_", " ").split())
        if not text:
            return None
        reason = _REASONS.get(text) or _REASONS.get(text.replace(" ", "_"))
        if reason is None:
            raise _Bad(
                "reason_stopped",
                "bad_reason",
                "reason_stopped must be one of " + ", ".join(m.value for m in StopReason),
            )
        return reason

    def _release(self, raw: Any) -> str | None:
        release = _text(raw) or None
        if release is not None and not _RELEASE.match(release):
            raise _Bad("release", "bad_release", "release must be a release version (2026.11.0)")
        return release

    def _assertions(self, raw: Any) -> str:
        text = _text(raw)
        if not text:
            return ""
        ids = sorted({part.upper() for part in _ID_SPLIT.split(text) if part})
        for human_id in ids:
            if not _HUMAN_ID.match(human_id) or human_id not in self.context.assertions:
                raise _Bad(
                    "assertions",
                    "unknown_assertion",
                    f"assertions: {human_id} is not an assertion of the KB (AS-00001, …)",
                )
        return " ".join(ids)


def _parse_row(
    row: list[Any],
    parser: _RowParser,
    *,
    number: int,
    file: str,
    sheet: str | None,
    errors: _Errors,
    cell_errors: Mapping[tuple[int, int], ImportError_],
) -> tuple[Any, ...] | None:
    """The episode of one row, or None with its errors added (located at the cell)."""
    if cell_errors:
        bad_cells = [
            cell_errors[(number, column)]
            for column in parser.mapping.values()
            if (number, column) in cell_errors
        ]
        if bad_cells:
            for error in bad_cells:
                errors.add(error)
            return None
    try:
        return parser.parse(row)
    except _Bad as problem:
        column = parser.mapping.get(problem.field)
        letter = parser.column_name(column) if column is not None else None
        raw = row[column] if column is not None and column < len(row) else None
        errors.add(
            ImportError_(
                Location(file, sheet, number, letter),
                problem.field,
                problem.code,
                problem.message,
                _shown(raw, problem.field),
            )
        )
        return None


def _shown(value: Any, name: str) -> Any:
    if name == "patient":
        return None  # a site's patient id is never echoed, even in an error
    text = _text(value)
    return text if len(text) <= 80 else text[:77] + "…"
