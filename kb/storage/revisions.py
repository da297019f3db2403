"""KB versions and record revisions: the history every snapshot and diff is rebuilt from.

Every merge opens version N+1 and writes one revision row per record it touched (or a
tombstone), so any version's records can be read back and two versions compared by reading
only what changed between them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import NotFoundError
from kb.model.enums import RecordType
from kb.model.orm import KbVersion, RecordMixin, Revision
from kb.model.records import Ids, record_fields


def current_version(session: Session) -> int:
    """The newest KB version number (0 for an empty KB)."""
    return session.scalar(select(func.max(KbVersion.number))) or 0


def new_version(
    session: Session, *, author: str, note: str = "", change_set_id: str | None = None
) -> KbVersion:
    """Open KB version N+1; the caller writes its revisions in the same transaction."""
    number = current_version(session) + 1
    version = KbVersion(number=number, created_by=author, note=note, change_set_id=change_set_id)
    session.add(version)
    session.flush()
    return version


def write_revision(
    session: Session,
    rtype: RecordType,
    obj: RecordMixin,
    *,
    version: int,
    ids: Ids,
    change_set_id: str | None = None,
    deleted: bool = False,
    data: dict[str, Any] | None = None,
) -> Revision:
    """Record the state of `obj` as of `version` (or its tombstone)."""
    revision = Revision(
        record_id=obj.id,
        record_type=rtype.value,
        human_id=obj.human_id,
        kb_version=version,
        change_set_id=change_set_id,
        deleted=deleted,
        data=data if data is not None else ({} if deleted else record_fields(obj, rtype, ids)),
    )
    session.add(revision)
    return revision


def version_records(
    session: Session, old: int, new: int
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, dict[str, Any]]]]:
    """The records that differ between two versions, as they were in each:
    (type -> human id -> {"id", "uuid", "fields"}) for `old` and for `new`.

    Only records with a revision between the two versions are read, so two versions of a
    100,000-record KB with 1,000 changes cost about 2,000 revision rows."""
    newest = current_version(session)
    for number in (old, new):
        if number < 0 or number > newest:
            raise NotFoundError(f"no KB version {number} (versions run from 0 to {newest})")
    low, high = sorted((old, new))
    touched = select(Revision.record_id).where(
        Revision.kb_version > low, Revision.kb_version <= high
    )
    rows = session.execute(
        select(
            Revision.record_id,
            Revision.record_type,
            Revision.human_id,
            Revision.kb_version,
            Revision.deleted,
            Revision.data,
        )
        .where(Revision.record_id.in_(touched), Revision.kb_version <= high)
        .order_by(Revision.record_id, Revision.kb_version)
    )
    at_low: dict[str, dict[str, dict[str, Any]]] = {}
    at_high: dict[str, dict[str, dict[str, Any]]] = {}
    for record_id, rtype, human_id, number, deleted, data in rows:
        target = at_low if number <= low else at_high
        bucket = target.setdefault(rtype, {})
        if deleted:
            bucket.pop(human_id, None)
        else:
            bucket[human_id] = {"id": human_id, "uuid": record_id, "fields": data}
        if number <= low:
            # the state at `low` carries into `high` until a later revision replaces it
            high_bucket = at_high.setdefault(rtype, {})
            if deleted:
                high_bucket.pop(human_id, None)
            else:
                high_bucket[human_id] = bucket[human_id]
    if old <= new:
        return at_low, at_high
    return at_high, at_low
