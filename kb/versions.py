"""KB versions and record revisions: the history every snapshot and diff is rebuilt from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.enums import RecordType
from kb.model import KbVersion, RecordMixin, Revision
from kb.records import Ids, record_fields


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
