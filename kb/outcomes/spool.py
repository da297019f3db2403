"""The outcomes spool: episodes a matching service received, pseudonymised at the door, waiting
as files for `kb outcomes drain SPOOL` to take them into the KB (docs/outcomes.md).

The service holds a verified release, not a KB database, so it cannot import. It checks each
report-back at the door instead, with the intake's own privacy checks and no database:
- `records_at_door(payload, site=, source=)`: a FHIR R4 Bundle (kb.outcomes.fhir reads it) or
  `{"site": ..., "records": [...]}` (the record form `import_records` takes) becomes records;
  identifier keys and identifier text are refused (`DoorRefused`, located by record and key or
  JSON path, never quoting the value), and keys that are no outcome field are dropped unread;
- `pseudonymise(records, key)`: the site's patient id becomes the keyed hash and every date
  moves by the patient's keyed shift (kb.outcomes.keys), so no raw id or true date is written;
- `write_spool(folder, records, key=)`: one file, written atomically (a temporary file in the
  same folder, fsynced, renamed), readable by its owner only.

`drain_spool(kb, folder, actor=, key=)` imports each file in its own unit of work, all or
nothing per file: an imported file moves to `imported/`, a refused one to `failed/` beside a
`.errors.json` (the located errors); a file already imported (a crash between commit and move)
is moved without importing it twice. A file pseudonymised under another key is refused: its
patients would not link with the KB's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from kb.errors import KbError
from kb.importing.model import ImportError_, Location
from kb.model.orm import OutcomeImport
from kb.outcomes.fhir import records_from_fhir
from kb.outcomes.intake import IntakeResult, OutcomeProfile, import_records
from kb.outcomes.keys import OutcomeKey
from kb.outcomes.privacy import identifier_header, identifier_in_text
from kb.review.users import Actor
from kb.storage.db import Kb

SPOOL_FORMAT = "kb-outcomes-spool/1"
SPOOL_SUFFIX = ".outcomes.json"
MAX_RECORDS = 10_000  # per report-back: a service takes episodes as they happen, not cohorts
DATE_FIELDS = ("start_date", "stop_date")
_PATIENT_KEY = re.compile(r"[0-9a-f]{32}")
_PROFILE = OutcomeProfile()


class DoorRefused(KbError):
    """A report-back refused at the door; `errors` are located, and quote no value."""

    def __init__(self, errors: Sequence[ImportError_]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{first}{more}" if first else "refused")


def records_at_door(payload: Any, *, site: str | None, source: str) -> list[dict[str, Any]]:
    """The episodes of a report-back as records of outcome fields only, or DoorRefused."""
    errors: list[ImportError_] = []

    def refuse(column: str | None, row: int | None, code: str, message: str) -> DoorRefused:
        errors.append(ImportError_(Location(source, None, row, column), None, code, message))
        return DoorRefused(errors)

    if isinstance(payload, Mapping) and payload.get("resourceType") == "Bundle":
        if not site:
            raise refuse(None, None, "no_site", "a FHIR Bundle needs ?site= (the reporting site)")
        records, fhir_errors = records_from_fhir(payload, site=site, source=source)
        if fhir_errors:
            raise DoorRefused(fhir_errors)
        raw: Any = records
    elif isinstance(payload, Mapping) and isinstance(payload.get("records"), list):
        raw = payload["records"]
        site = site or (str(payload["site"]) if payload.get("site") else None)
        for name, value in payload.items():
            if name != "records" and isinstance(value, str) and identifier_in_text(value):
                refuse(name, None, "direct_identifier", f"{name} holds an identifier")
    else:
        raise refuse(None, None, "bad_body",
                     'send a FHIR R4 Bundle or {"site": ..., "records": [{...}, ...]}')  # fmt: skip
    if not raw:
        raise refuse(None, None, "no_rows", "there are no episodes")
    if len(raw) > MAX_RECORDS:
        raise refuse(None, None, "too_many", f"at most {MAX_RECORDS} episodes per report")
    out: list[dict[str, Any]] = []
    for number, record in enumerate(raw, start=1):
        if not isinstance(record, Mapping):
            refuse(None, number, "bad_record", "each record is a JSON object of outcome fields")
            continue
        kept: dict[str, Any] = {}
        for name, value in record.items():
            what = identifier_header(str(name))
            if what:
                refuse(str(name), number, "direct_identifier",
                       f"the key {str(name)!r} names a direct identifier ({what}); outcome "
                       "records must be de-identified")  # fmt: skip
                continue
            if isinstance(value, Mapping | list):
                refuse(str(name), number, "bad_value", "values are text, numbers or null")
                continue
            text = "" if value is None else str(value)
            what = identifier_in_text(text)
            if what:
                refuse(str(name), number, "direct_identifier",
                       f"the value holds {what}; records must be de-identified")  # fmt: skip
                continue
            field = _PROFILE.field_of(name)
            if field is not None:  # anything else is never read, never spooled
                kept[field] = value
        if site and not kept.get("site"):
            kept["site"] = site
        for required in ("patient", "site"):
            if not str(kept.get(required) or "").strip():
                refuse(required, number, "missing", f"{required} is required")
        out.append(kept)
    if errors:
        raise DoorRefused(errors)
    return out


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def pseudonymise(
    records: Sequence[Mapping[str, Any]], key: OutcomeKey, *, source: str
) -> list[dict[str, Any]]:
    """Records with the patient replaced by its keyed hash and the dates shifted by the
    patient's keyed offset. A date that is not YYYY-MM-DD is refused (it could not be shifted)."""
    errors: list[ImportError_] = []
    out: list[dict[str, Any]] = []
    for number, record in enumerate(records, start=1):
        site, patient = str(record["site"]).strip(), str(record["patient"]).strip()
        patient_key, shift = key.pseudonym(site, patient)
        done = dict(record, patient=patient_key, site=site)
        for name in DATE_FIELDS:
            if record.get(name) in (None, ""):
                continue
            day = _day(record[name])
            if day is None:
                errors.append(ImportError_(Location(source, None, number, name), name,
                                           "bad_date", "a date is YYYY-MM-DD"))  # fmt: skip
                continue
            done[name] = (day + shift).isoformat()
        out.append(done)
    if errors:
        raise DoorRefused(errors)
    return out


def write_spool(folder: Path, records: Sequence[Mapping[str, Any]], *, key: OutcomeKey) -> Path:
    """Write pseudonymised records as one spool file, atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{stamp}-{secrets.token_hex(6)}{SPOOL_SUFFIX}"
    body = orjson.dumps(
        {
            "format": SPOOL_FORMAT,
            "key_fingerprint": key.fingerprint,
            "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "records": list(records),
        }
    )
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp makes it 0600
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        target = folder / name
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def spool_files(folder: Path) -> list[Path]:
    """The spool files waiting in `folder`, oldest first (names start with their time)."""
    if not folder.is_dir():
        raise KbError(f"{folder}: no such spool folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SPOOL_SUFFIX))


def _refused(path: Path, code: str, message: str) -> IntakeResult:
    result = IntakeResult(file=path.name, sha256="", dry_run=False)
    result.errors.append(ImportError_(Location(path.name), None, code, message))
    result.error_count = 1
    return result


def import_spool_file(
    session: Any, path: Path, *, actor: Actor, key: OutcomeKey
) -> IntakeResult | None:
    """Import one spool file in the caller's unit of work (all or nothing); None if an import
    of this file is already stored."""
    if session.scalar(select(OutcomeImport.id).where(OutcomeImport.source_name == path.name)):
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return _refused(path, "bad_spool", f"not a readable spool file: {exc}")
    if not isinstance(data, Mapping) or data.get("format") != SPOOL_FORMAT:
        return _refused(path, "bad_spool", f"not a {SPOOL_FORMAT} file")
    if data.get("key_fingerprint") != key.fingerprint:
        return _refused(path, "other_key",
                        f"pseudonymised under key {data.get('key_fingerprint')}, not the KB's "
                        f"({key.fingerprint}): its patients would not link")  # fmt: skip
    records = data.get("records")
    if not isinstance(records, list) or not all(
        isinstance(r, Mapping) and _PATIENT_KEY.fullmatch(str(r.get("patient") or ""))
        for r in records
    ):
        return _refused(path, "bad_spool", "every record needs a pseudonymous patient key")
    return import_records(
        session, records, source=path.name, actor=actor, key=key, pseudonymised=True
    )


@dataclass(frozen=True, slots=True)
class DrainedFile:
    file: str
    status: str  # imported, already_imported, failed
    episodes: int
    errors: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status, "episodes": self.episodes,
                "errors": list(self.errors)}  # fmt: skip


def drain_spool(kb: Kb, folder: Path, *, actor: Actor, key: OutcomeKey) -> list[DrainedFile]:
    """Import every spool file of `folder`, each in its own unit of work (see the module)."""
    done: list[DrainedFile] = []
    for path in spool_files(folder):
        with kb.unit_of_work() as session:
            result = import_spool_file(session, path, actor=actor, key=key)
            if result is not None and not result.ok:
                session.rollback()
        if result is None:
            _move(path, folder / "imported")
            done.append(DrainedFile(path.name, "already_imported", 0))
        elif result.ok:
            _move(path, folder / "imported")
            done.append(DrainedFile(path.name, "imported", result.episodes))
        else:
            failed = _move(path, folder / "failed")
            errors = tuple(str(e) for e in result.errors)
            failed.with_name(failed.name + ".errors.json").write_bytes(
                orjson.dumps([e.as_json() for e in result.errors])
            )
            done.append(DrainedFile(path.name, "failed", 0, errors))
    return done


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True, mode=0o700)
    target = folder / path.name
    os.replace(path, target)
    return target
