"""The review conversation of a change set: a thread on the change set and on each of its changes.

Curators and reviewers comment; a decision's reason (approving, rejecting, returning changes to
their author) joins the same thread, so the author reads one conversation. Comments are never
edited or removed, and each is an audit event (`change_set.comment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kb.errors import KbError, NotFoundError
from kb.model.enums import ChangeSetStatus, CommentKind
from kb.model.orm import Change, ChangeComment, ChangeSet, User, utcnow
from kb.review.audit import record_event
from kb.review.users import Actor, Permission, require

MAX_COMMENT = 20_000


@dataclass(frozen=True, slots=True)
class CommentRow:
    change_set: str
    record: str | None  # the change's record (human id), None for the whole change set
    author: str
    at: str
    kind: CommentKind
    body: str

    def as_json(self) -> dict[str, Any]:
        return {
            "change_set": self.change_set,
            "record": self.record,
            "author": self.author,
            "at": self.at,
            "kind": self.kind.value,
            "body": self.body,
        }


def _change_set(session: Session, key: str) -> ChangeSet:
    cs = session.scalars(
        select(ChangeSet).where((ChangeSet.human_id == key.upper()) | (ChangeSet.id == key))
    ).one_or_none()
    if cs is None:
        raise NotFoundError(f"no change set {key}")
    return cs


def add_comment(
    session: Session,
    *,
    actor: Actor,
    change_set_id: str,
    body: str,
    record: str | None = None,
    kind: CommentKind = CommentKind.COMMENT,
) -> CommentRow:
    """Add a remark to a change set's thread (or, with `record`, to the thread of its change of
    that record), in the caller's transaction; audited."""
    require(actor, Permission.EDIT)
    text = (body or "").strip()
    if not text:
        raise KbError("a comment needs some text")
    if len(text) > MAX_COMMENT:
        raise KbError(f"a comment is at most {MAX_COMMENT:,} characters (this one {len(text):,})")
    cs = _change_set(session, change_set_id)
    if record is not None:
        record = record.strip().upper()
    if record is not None and kind is not CommentKind.RETURN:
        # A change may since have moved to the draft it was returned in (the RETURN comment
        # says so, left as it moves): its thread stays here.
        known = session.scalar(
            select(Change.id).where(Change.change_set_id == cs.id, Change.human_id == record)
        ) or session.scalar(
            select(ChangeComment.id).where(
                ChangeComment.change_set_id == cs.id, ChangeComment.record == record
            )
        )
        if known is None:
            raise NotFoundError(f"{cs.human_id} has no change of {record}")
    comment = ChangeComment(
        change_set_id=cs.id,
        record=record,
        author_id=actor.user_id,
        created_at=utcnow(),
        kind=kind,
        body=text,
    )
    session.add(comment)
    session.flush()
    details: dict[str, Any] = {"kind": kind.value, "body": text}
    if record:
        details["record"] = record
    record_event(
        session, actor=actor.name, action="change_set.comment", subject=cs.human_id, details=details
    )
    at = comment.created_at.isoformat(timespec="seconds")
    return CommentRow(cs.human_id, record, actor.name, at, kind, text)


def _thread_query() -> Select[ChangeComment, str, str]:
    return (
        select(ChangeComment, ChangeSet.human_id, User.name)
        .join(ChangeSet, ChangeSet.id == ChangeComment.change_set_id)
        .join(User, User.id == ChangeComment.author_id)
        .order_by(ChangeComment.created_at, ChangeComment.id)
    )


def _rows(session: Session, query: Select[ChangeComment, str, str]) -> list[CommentRow]:
    return [
        CommentRow(
            human_id,
            comment.record,
            name,
            comment.created_at.isoformat(timespec="seconds"),
            comment.kind,
            comment.body,
        )
        for comment, human_id, name in session.execute(query)
    ]


def list_comments(
    session: Session, change_set_id: str | None = None, *, record: str | None = None
) -> list[CommentRow]:
    """A change set's thread, oldest first; or, with `record` alone, every comment on changes of
    that record in any change set."""
    query = _thread_query()
    if change_set_id is not None:
        query = query.where(ChangeComment.change_set_id == _change_set(session, change_set_id).id)
    if record is not None:
        query = query.where(ChangeComment.record == record.strip().upper())
    return _rows(session, query)


@dataclass(frozen=True, slots=True)
class RecordThread:
    """The comments of one change set that bear on a record: on its change of the record, and
    on the change set as a whole (a decision's reason among them)."""

    change_set: str
    status: ChangeSetStatus
    merged_version: int | None
    comments: tuple[CommentRow, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "change_set": self.change_set,
            "status": self.status.value,
            "merged_version": self.merged_version,
            "comments": [c.as_json() for c in self.comments],
        }


def record_threads(session: Session, human_id: str) -> list[RecordThread]:
    """For a record's history: each change set with a comment on its change of `human_id`, or
    on the whole of a change set that changes it, with its comments oldest first; the change
    sets newest first."""
    key = human_id.strip().upper()
    changing = select(Change.change_set_id).where(Change.human_id == key)
    query = _thread_query().where(
        (ChangeComment.record == key)
        | (ChangeComment.record.is_(None) & ChangeComment.change_set_id.in_(changing))
    )
    grouped: dict[str, list[CommentRow]] = {}
    for row in _rows(session, query):
        grouped.setdefault(row.change_set, []).append(row)
    if not grouped:
        return []
    query_sets = select(
        ChangeSet.human_id, ChangeSet.status, ChangeSet.merged_version, ChangeSet.created_at
    ).where(ChangeSet.human_id.in_(grouped))
    sets = list(session.execute(query_sets).all())
    sets.sort(key=lambda s: (s.merged_version or 0, s.created_at), reverse=True)
    unmerged = [s for s in sets if s.merged_version is None]
    merged = [s for s in sets if s.merged_version is not None]
    return [
        RecordThread(s.human_id, s.status, s.merged_version, tuple(grouped[s.human_id]))
        for s in (*unmerged, *merged)
    ]
