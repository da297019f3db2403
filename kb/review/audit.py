"""The audit trail: append-only and hash-chained (DESIGN §3).

Each event's hash is sha256 over the canonical JSON of its content and the previous event's
hash, so changing, deleting or reordering any event breaks the chain from there on; database
triggers refuse UPDATE and DELETE besides. `verify_chain` names the first event that does not
fit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from kb.model.orm import AuditEvent, AuditHead, utcnow
from kb.storage.live import notify_change
from kb.storage.snapshot import canonical_json

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    at: str
    actor: str
    action: str
    subject: str | None
    details: Mapping[str, Any]
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class NewEvent:
    actor: str
    action: str
    subject: str | None = None
    details: Mapping[str, Any] | None = None


def event_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    content = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()


def record_events(session: Session, events: Iterable[NewEvent]) -> int:
    """Append events in the caller's transaction; returns the new tip's sequence number.

    Updating the head row first takes its lock (a row lock on PostgreSQL, the write lock on
    SQLite), so concurrent writers chain one after the other instead of forking the chain.
    """
    items = list(events)
    if not items:
        return 0
    session.flush()
    if server_function(session, "kb_audit_append(json)"):
        tip = _append_on_server(session, items)
        notify_change(session, tip)
        return tip
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    seq, prev = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    at = utcnow().isoformat(timespec="microseconds")
    rows = []
    for item in items:
        seq += 1
        details = _jsonable(dict(item.details or {}))
        digest = event_hash(
            seq=seq,
            at=at,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            details=details,
            prev_hash=prev,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    for start in range(0, len(rows), 2000):
        session.execute(insert(AuditEvent), rows[start : start + 2000])
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    notify_change(session, seq)
    return seq


def server_function(session: Session, signature: str) -> bool:
    """Whether the database is PostgreSQL with the function `signature` (migration 0012 adds
    them; a KB still at an older schema, while it is being migrated, has none)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = session.execute(text("SELECT to_regprocedure(:f)"), {"f": signature}).scalar()
    return found is not None


def _append_on_server(session: Session, items: list[NewEvent]) -> int:
    # On PostgreSQL a login may not write the trail itself: kb_audit_append (migration 0012)
    # numbers, times, links and hashes the events server-side, with event_hash's canonical form.
    payload = [
        {
            "actor": item.actor,
            "action": item.action,
            "subject": item.subject,
            "details": _jsonable(dict(item.details or {})),
        }
        for item in items
    ]
    tip = session.execute(
        text("SELECT kb_audit_append(CAST(:events AS json))"),
        {"events": orjson.dumps(payload).decode()},
    ).scalar_one()
    return int(tip)


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append one event in the caller's transaction."""
    return record_events(session, [NewEvent(actor, action, subject, details)])


# Values that are plain JSON as they are (not a subclass: an enum member is written as its text).
_PLAIN = frozenset({str, int, bool, type(None)})


def _jsonable(value: Any) -> Any:
    # Details must hash the same after a database round trip: plain JSON types only.
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if _PLAIN.issuperset(map(type, value)):
            return list(value)  # the common list: ids or names (an import lists 100,000)
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    # The verified tip, for resuming (verify_chain's `since`).
    head: tuple[int, str] = (0, GENESIS)

    def text(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        return f"audit chain broken at event {self.first_bad_seq}: {self.problem}"


def verify_chain(session: Session, *, since: tuple[int, str] | None = None) -> ChainReport:
    """Walk the chain from the first event; report the first modified, deleted or reordered one.

    `since` (seq, hash) resumes from an event this process verified before: that event must
    still carry the same hash, and only the events after it are walked (the counts then cover
    those). A rewrite of the history before it is found by a full walk, not by a resumed one.
    """
    expected_seq, prev, count = 1, GENESIS, 0
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000)
    if since is not None and since[0] > 0:
        seq, digest = since
        stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
        if stored != digest:
            return ChainReport(
                False, 0, seq, "it no longer carries the hash it had when last verified"
            )
        expected_seq, prev = seq + 1, digest
        query = query.where(AuditEvent.seq > seq)
    for event in session.scalars(query):
        count += 1
        if event.seq != expected_seq:
            return ChainReport(
                False,
                count,
                expected_seq,
                f"event {expected_seq} is missing (deleted); the next present is {event.seq}",
            )
        if event.prev_hash != prev:
            return ChainReport(
                False,
                count,
                event.seq,
                "its link to the previous event does not match (an event before it was "
                "changed, removed or reordered)",
            )
        recomputed = event_hash(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject=event.subject,
            details=event.details or {},
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainReport(False, count, event.seq, "its content was modified after writing")
        prev, expected_seq = event.hash, expected_seq + 1
    head_seq, head_hash = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    if head_seq != expected_seq - 1 or head_hash != prev:
        return ChainReport(
            False,
            count,
            expected_seq,
            f"the chain ends at event {expected_seq - 1} but {head_seq} were written "
            "(the latest events were deleted)",
        )
    return ChainReport(True, count, head=(expected_seq - 1, prev))


def list_events(
    session: Session, *, limit: int = 200, before: int | None = None, subject: str | None = None
) -> list[EventRow]:
    """Newest first, as plain rows."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    return [
        EventRow(e.seq, e.at, e.actor, e.action, e.subject, e.details or {}, e.hash)
        for e in session.scalars(query)
    ]
