"""Change sets: how every edit reaches the KB (DESIGN §3).

A curator stages field-level changes (create / update / delete-as-tombstone) in a draft based on
one KB version; submitting runs validation; a reviewer who authored none of its changes approves
it, which merges it atomically as KB version N+1 — unless a record it touches changed on the
main line since, in which case the conflicts are reported and nothing is written. `rebase`
moves a draft onto the newest version, keeping what does not conflict.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Text, cast, delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from kb.errors import KbError, NotFoundError
from kb.model.enums import HUMAN_ID_PREFIX, ChangeOp, ChangeSetStatus, CommentKind, RecordType
from kb.model.identity import identity_key
from kb.model.orm import (
    RECORD_CLASSES,
    Change,
    ChangeSet,
    HumanIdCounter,
    Revision,
    User,
    new_uuid,
    new_uuids,
    utcnow,
)
from kb.model.records import (
    _LOADERS,
    _NATURAL_KEY,
    Ids,
    RecordRow,
    complete_fields,
    normalise_fields,
    type_of_human_id,
)
from kb.review.audit import NewEvent, record_event, record_events, server_function
from kb.review.comments import add_comment
from kb.review.integrity import Scope, require_intact
from kb.review.users import Actor, Permission, PermissionDenied, require
from kb.storage.db import bulk_insert
from kb.storage.revisions import current_version, new_version
from kb.storage.snapshot import latest_rows
from kb.validation.checks import Problem, Vocabularies, validate_rows

_ORDER = {rtype: index for index, rtype in enumerate(RecordType)}
# The columns of a staged create, in the order DraftEditor.flush writes them.
_CHANGE_COLUMNS = (
    "change_set_id",
    "position",
    "op",
    "record_type",
    "record_id",
    "human_id",
    "fields",
    "before",
    "author_id",
    "updated_at",
)
_change_values = operator.itemgetter(*_CHANGE_COLUMNS)


class ValidationFailed(KbError):
    """Submission refused: the change set would leave the KB with errors."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"validation found {len(self.problems)} error(s): {lines}{more}")


@dataclass(frozen=True, slots=True)
class Conflict:
    human_id: str
    field: str
    base: Any
    theirs: Any
    ours: Any

    def __str__(self) -> str:
        return (
            f"{self.human_id}.{self.field}: was {self.base!r} when drafted, is now "
            f"{self.theirs!r}, this change set sets {self.ours!r}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "record": self.human_id,
            "field": self.field,
            "base": self.base,
            "theirs": self.theirs,
            "ours": self.ours,
        }


class ConflictError(KbError):
    def __init__(self, change_set: str, conflicts: Sequence[Conflict]) -> None:
        self.conflicts = list(conflicts)
        shown = "; ".join(str(c) for c in self.conflicts[:5])
        more = f" (and {len(self.conflicts) - 5} more)" if len(self.conflicts) > 5 else ""
        super().__init__(
            f"{change_set} conflicts with changes merged since it was drafted — nothing was "
            f"written; rebase it: {shown}{more}"
        )


@dataclass(frozen=True, slots=True)
class ChangeRow:
    op: ChangeOp
    record_type: RecordType
    human_id: str
    record_id: str
    fields: Mapping[str, Any]
    before: Mapping[str, Any]
    author: str

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.op.value,
            "type": self.record_type.value,
            "id": self.human_id,
            "fields": dict(self.fields),
            "before": dict(self.before),
            "author": self.author,
        }


@dataclass(frozen=True, slots=True)
class ChangeSetRow:
    id: str
    human_id: str
    title: str
    status: ChangeSetStatus
    author: str
    base_version: int
    created_at: str
    submitted_at: str | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    merged_version: int | None
    source_name: str | None
    source_sha256: str | None
    skipped: list[Any] = field(default_factory=list)
    changes: tuple[ChangeRow, ...] = ()

    @property
    def authors(self) -> set[str]:
        return {self.author} | {change.author for change in self.changes}

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.human_id,
            "uuid": self.id,
            "title": self.title,
            "status": self.status.value,
            "author": self.author,
            "base_version": self.base_version,
            "created_at": self.created_at,
            "submitted_at": self.submitted_at,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "merged_version": self.merged_version,
            "source_name": self.source_name,
            "source_sha256": self.source_sha256,
            "skipped": self.skipped,
            "changes": [change.as_json() for change in self.changes],
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _row(cs: ChangeSet, names: Mapping[str, str]) -> ChangeSetRow:
    return ChangeSetRow(
        id=cs.id,
        human_id=cs.human_id,
        title=cs.title,
        status=cs.status,
        author=names.get(cs.author_id, cs.author_id),
        base_version=cs.base_version,
        created_at=_iso(cs.created_at) or "",
        submitted_at=_iso(cs.submitted_at),
        decided_by=names.get(cs.decided_by_id or "") if cs.decided_by_id else None,
        decided_at=_iso(cs.decided_at),
        reason=cs.reason,
        merged_version=cs.merged_version,
        source_name=cs.source_name,
        source_sha256=cs.source_sha256,
        skipped=list(cs.skipped or []),
        changes=tuple(
            ChangeRow(
                c.op,
                RecordType(c.record_type),
                c.human_id,
                c.record_id,
                dict(c.fields or {}),
                dict(c.before or {}),
                names.get(c.author_id, c.author_id),
            )
            for c in cs.changes
        ),
    )


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(User.id, User.name)).all())


def _load(session: Session, key: str, *, lock: bool = False) -> ChangeSet:
    query = select(ChangeSet).options(selectinload(ChangeSet.changes))
    query = query.where((ChangeSet.human_id == key.upper()) | (ChangeSet.id == key))
    if lock:
        query = query.with_for_update()
    cs = session.scalars(query).one_or_none()
    if cs is None:
        raise NotFoundError(f"no change set {key}")
    return cs


def get_change_set(session: Session, key: str) -> ChangeSetRow:
    """A change set with its changes, by human id (CS-00001) or uuid."""
    return _row(_load(session, key), _names(session))


def list_change_sets(
    session: Session, *, status: ChangeSetStatus | None = None, author: str | None = None
) -> list[ChangeSetRow]:
    query = select(ChangeSet).options(selectinload(ChangeSet.changes)).order_by(ChangeSet.human_id)
    if status is not None:
        query = query.where(ChangeSet.status == status)
    names = _names(session)
    rows = [_row(cs, names) for cs in session.scalars(query)]
    return [row for row in rows if author is None or row.author == author]


def current_draft(session: Session, actor: Actor) -> ChangeSetRow | None:
    """The actor's newest draft, if any."""
    cs = session.scalars(
        select(ChangeSet)
        .options(selectinload(ChangeSet.changes))
        .where(ChangeSet.author_id == actor.user_id, ChangeSet.status == ChangeSetStatus.DRAFT)
        .order_by(ChangeSet.created_at.desc(), ChangeSet.human_id.desc())
        .limit(1)
    ).one_or_none()
    return _row(cs, _names(session)) if cs else None


def _next_change_set_id(session: Session) -> str:
    counter = session.get(HumanIdCounter, "CS", with_for_update=True)
    if counter is None:
        counter = HumanIdCounter(prefix="CS", last=0)
        session.add(counter)
    counter.last += 1
    return f"CS-{counter.last:05d}"


# --- staging --------------------------------------------------------------------------------


class DraftEditor:
    """Stages edits into one draft change set, in the caller's transaction.

    Records created in the draft get their id and human id at once, so later edits of the
    same draft can refer to them (by human id or natural key) before anything is merged.
    """

    def __init__(self, session: Session, actor: Actor, cs: ChangeSet) -> None:
        self.session = session
        self.actor = actor
        self._cs = cs
        self.ids = Ids(session)
        self._changes: dict[str, Change] = {c.record_id: c for c in cs.changes}
        self._by_human: dict[str, Change] = {c.human_id: c for c in cs.changes}
        self._events: list[NewEvent] = []
        self._base: dict[str, tuple[str, dict[str, Any]]] = {}
        self._queue: list[dict[str, Any]] = []
        self._created: dict[str, dict[str, Any]] = {}
        self._created_ids: list[str] = []
        self._blocks: dict[RecordType, tuple[int, int]] = {}
        # Counter rows this editor created or locked: a new one is pending until the next flush,
        # where `session.get` cannot see it, so a second block must not make a second row.
        self._counters: dict[str, HumanIdCounter] = {}
        self._block_sizes: dict[RecordType, int] = {}
        self._next_position = max((c.position for c in cs.changes), default=-1)
        for change in cs.changes:
            if change.op is ChangeOp.CREATE:
                self._remember(RecordType(change.record_type), change)

    @property
    def change_set_id(self) -> str:
        return self._cs.id

    @property
    def human_id(self) -> str:
        return self._cs.human_id

    def prefetch(self, human_ids: Iterable[str]) -> None:
        """Read the main-line state of many records at once before editing them one by one
        (an import or a bulk edit), instead of one query per record."""
        self._base.update(main_line_fields(self.session, human_ids))

    def _main_line(self, human_id: str) -> tuple[str, dict[str, Any]] | None:
        if human_id not in self._base:
            self._base.update(main_line_fields(self.session, [human_id]))
        return self._base.get(human_id)

    def _remember(self, rtype: RecordType, change: Change) -> None:
        natural = _NATURAL_KEY.get(rtype)
        key = change.fields.get(natural) if natural else None
        if rtype is RecordType.CITATION:
            key = f"{change.fields.get('kind')}:{change.fields.get('identifier')}"
        self.ids.add(rtype, change.record_id, change.human_id, str(key) if key else None)

    def _position(self) -> int:
        self._next_position += 1
        return self._next_position

    def create(self, rtype: RecordType, fields: Mapping[str, Any], *, checked: bool = False) -> str:
        """Stage a new record; returns its human id.

        New records are queued as plain rows and written in bulk by `flush` (an import stages
        100,000 of them), with their ids taken from a block reserved per type. `checked`
        says the fields are complete and in stored form, references as human ids (the import
        engine's preview coerced, resolved and completed every one), so they are not checked
        twice.
        """
        record = f"new {rtype}"
        if checked:
            full = dict(fields)
        else:
            normal = normalise_fields(rtype, fields, self.ids, record=record)
            full = complete_fields(rtype, normal, record=record)
        record_id = new_uuid()
        human_id = self._reserve(rtype)
        row = {
            "change_set_id": self._cs.id,
            "position": self._position(),
            "op": ChangeOp.CREATE,
            "record_type": rtype.value,
            "record_id": record_id,
            "human_id": human_id,
            "fields": full,
            "before": {},
            "author_id": self.actor.user_id,
            "updated_at": utcnow(),
        }
        self._queue.append(row)
        self._created[human_id] = row
        self._remember_fields(rtype, record_id, human_id, full)
        self._created_ids.append(human_id)
        return human_id

    def create_many(self, rtype: RecordType, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Stage many new records of one type whose fields are complete and in stored form (as
        `create(..., checked=True)` takes them); returns their human ids, in order.

        The bulk door for imports: their ids are reserved in one step and each record costs a
        row in the queue and nothing else.
        """
        if not records:
            return []
        prefix = HUMAN_ID_PREFIX[rtype]
        human_ids = [f"{prefix}-{number:05d}" for number in self._reserve_many(rtype, len(records))]
        record_ids = new_uuids(len(records))
        change_set_id, author_id, kind = self._cs.id, self.actor.user_id, rtype.value
        now = utcnow()
        before: dict[str, Any] = {}  # one for the batch: creates have nothing before them
        start = self._next_position + 1
        # Built in comprehensions, not a loop of statements: an import stages 100,000.
        rows = [
            {
                "change_set_id": change_set_id,
                "position": position,
                "op": ChangeOp.CREATE,
                "record_type": kind,
                "record_id": record_id,
                "human_id": human_id,
                "fields": fields,  # the caller's complete dict, which it no longer changes
                "before": before,
                "author_id": author_id,
                "updated_at": now,
            }
            for position, fields, record_id, human_id in zip(
                range(start, start + len(records)), records, record_ids, human_ids, strict=True
            )
        ]
        self._queue.extend(rows)
        self._created.update(zip(human_ids, rows, strict=True))
        natural = _NATURAL_KEY.get(rtype)
        keys: list[str | None] | None = None
        if rtype is RecordType.CITATION:
            keys = [f"{fields.get('kind')}:{fields.get('identifier')}" for fields in records]
        elif natural:
            keys = [str(key) if (key := fields.get(natural)) else None for fields in records]
        self.ids.add_many(rtype, record_ids, human_ids, keys)
        self._next_position = start + len(records) - 1
        self._created_ids.extend(human_ids)
        return human_ids

    def _reserve_many(self, rtype: RecordType, count: int) -> list[int]:
        """`count` id numbers: what is left of the current block first, so ids keep the order
        records were staged in and none is skipped."""
        start, end = self._blocks.get(rtype, (0, 0))
        taken = list(range(start, min(end, start + count)))
        self._blocks[rtype] = (start + len(taken), end)
        rest = count - len(taken)
        if rest:
            first = self._take_ids(HUMAN_ID_PREFIX[rtype], rest)
            taken.extend(range(first, first + rest))
        return taken

    def _reserve(self, rtype: RecordType) -> str:
        # Ids come in growing blocks (1, 2, 4, … 1024) so that a single edit wastes none and a
        # bulk import takes the counter's lock a handful of times, not once per record.
        start, end = self._blocks.get(rtype, (0, 0))
        if start >= end:
            size = self._block_sizes.get(rtype, 1)
            self._block_sizes[rtype] = min(1024, size * 2)
            start = self._take_ids(HUMAN_ID_PREFIX[rtype], size)
            end = start + size
        self._blocks[rtype] = (start + 1, end)
        return f"{HUMAN_ID_PREFIX[rtype]}-{start:05d}"

    def _take_ids(self, prefix: str, count: int) -> int:
        """Reserve `count` consecutive numbers of a human-id counter (its row locked until the
        transaction ends); returns the first."""
        counter = self._counters.get(prefix) or self.session.get(
            HumanIdCounter, prefix, with_for_update=True
        )
        if counter is None:
            counter = HumanIdCounter(prefix=prefix, last=0)
            self.session.add(counter)
        self._counters[prefix] = counter
        first = counter.last + 1
        counter.last += count
        return first

    def _remember_fields(
        self, rtype: RecordType, record_id: str, human_id: str, fields: Mapping[str, Any]
    ) -> None:
        natural = _NATURAL_KEY.get(rtype)
        key = fields.get(natural) if natural else None
        if rtype is RecordType.CITATION:
            key = f"{fields.get('kind')}:{fields.get('identifier')}"
        self.ids.add(rtype, record_id, human_id, str(key) if key else None)

    def update(self, human_id: str, fields: Mapping[str, Any]) -> None:
        """Stage new values for some fields of a record (main-line or created in this draft)."""
        human_id = human_id.upper()
        rtype = type_of_human_id(human_id)
        normal = normalise_fields(rtype, fields, self.ids, record=f"{rtype} {human_id}")
        queued = self._created.get(human_id)
        if queued is not None:
            old = {k: queued["fields"].get(k) for k in normal}
            queued["fields"] = {**queued["fields"], **normal}
            self._remember_fields(rtype, queued["record_id"], human_id, queued["fields"])
            if queued.get("written"):
                self.session.execute(
                    update(Change)
                    .where(Change.change_set_id == self._cs.id, Change.human_id == human_id)
                    .values(fields=queued["fields"], updated_at=utcnow())
                )
            self._event("change.update", human_id, old, normal)
            return
        staged = self._by_human.get(human_id)
        if staged is not None and staged.op is ChangeOp.DELETE:
            raise KbError(f"{human_id} is deleted in {self._cs.human_id}; it cannot be edited")
        if staged is not None and staged.op is ChangeOp.CREATE:
            old = {k: staged.fields.get(k) for k in normal}
            staged.fields = {**staged.fields, **normal}
            staged.updated_at = utcnow()
            self._remember(rtype, staged)
            self._event("change.update", human_id, old, normal)
            return
        base = self._main_line(human_id)
        if base is None:
            raise NotFoundError(f"no {rtype} {human_id}")
        record_id, current = base
        if staged is None:
            staged = Change(
                position=self._position(),
                op=ChangeOp.UPDATE,
                record_type=rtype.value,
                record_id=record_id,
                human_id=human_id,
                fields={},
                before={},
                author_id=self.actor.user_id,
            )
            self._cs.changes.append(staged)
            self._changes[record_id] = staged
            self._by_human[human_id] = staged
        new_fields = dict(staged.fields)
        before = dict(staged.before)
        for name, value in normal.items():
            before.setdefault(name, current.get(name))
            if value == before[name]:
                new_fields.pop(name, None)
                before.pop(name, None)
            else:
                new_fields[name] = value
        old = {k: current.get(k) for k in normal}
        if not new_fields:
            self._drop(staged)
        else:
            staged.fields, staged.before, staged.updated_at = new_fields, before, utcnow()
            staged.author_id = self.actor.user_id
        self._event("change.update", human_id, old, normal)

    def delete(self, human_id: str) -> None:
        """Stage the removal of a record (a tombstone once merged)."""
        human_id = human_id.upper()
        rtype = type_of_human_id(human_id)
        queued = self._created.pop(human_id, None)
        if queued is not None:
            if queued.get("written"):
                self.session.execute(
                    delete(Change).where(
                        Change.change_set_id == self._cs.id, Change.human_id == human_id
                    )
                )
                self.session.expire(self._cs, ["changes"])
            else:
                self._queue.remove(queued)
            self._event("change.delete", human_id, queued["fields"], {})
            return
        staged = self._by_human.get(human_id)
        if staged is not None and staged.op is ChangeOp.CREATE:
            self._drop(staged)
            self._event("change.delete", human_id, staged.fields, {})
            return
        base = self._main_line(human_id)
        if base is None:
            raise NotFoundError(f"no {rtype} {human_id}")
        record_id, current = base
        if staged is not None:
            self._drop(staged)
            # The tombstone reuses the record's slot in the change set: remove the staged
            # update from the database first.
            self.session.flush()
        change = Change(
            position=self._position(),
            op=ChangeOp.DELETE,
            record_type=rtype.value,
            record_id=record_id,
            human_id=human_id,
            fields={},
            before=current,
            author_id=self.actor.user_id,
        )
        self._cs.changes.append(change)
        self._changes[record_id] = change
        self._by_human[human_id] = change
        self._event("change.delete", human_id, current, {})

    def discard(self, human_id: str) -> None:
        """Drop whatever the draft staged for one record (the undo of an edit or deletion)."""
        human_id = human_id.upper()
        queued = self._created.get(human_id)
        if queued is not None:
            self.delete(human_id)
            return
        staged = self._by_human.get(human_id)
        if staged is None:
            return
        self._drop(staged)
        self.session.flush()
        self._event("change.discard", human_id, dict(staged.fields), {})

    def _drop(self, change: Change) -> None:
        self._cs.changes.remove(change)
        self._changes.pop(change.record_id, None)
        self._by_human.pop(change.human_id, None)

    def _event(self, action: str, subject: str, old: Any, new: Any) -> None:
        self._events.append(
            NewEvent(
                self.actor.name,
                action,
                subject,
                {"change_set": self._cs.human_id, "old": old, "new": new},
            )
        )

    def flush(self) -> None:
        """Write staged changes and their audit events (done by `close` too)."""
        self.session.flush()
        if self._queue:
            bulk_insert(
                self.session,
                Change,
                _CHANGE_COLUMNS,
                map(_change_values, self._queue),
            )
            for row in self._queue:
                row["written"] = True
            self._queue = []
            # The change set's loaded list of changes no longer tells the whole story.
            self.session.expire(self._cs, ["changes"])
        if self._created_ids:
            # One event per batch: the records themselves are in the change set, and merging
            # writes an event per record with its values.
            ids = self._created_ids
            self._events.append(
                NewEvent(
                    self.actor.name,
                    "change.create",
                    ids[0] if len(ids) == 1 else f"{ids[0]}…{ids[-1]}",
                    {"change_set": self._cs.human_id, "count": len(ids), "records": ids},
                )
            )
            self._created_ids = []
        record_events(self.session, self._events)
        self._events = []

    close = flush


def open_draft(
    session: Session,
    *,
    actor: Actor,
    title: str = "",
    change_set_id: str | None = None,
    source_name: str | None = None,
    source_sha256: str | None = None,
) -> DraftEditor:
    """A new draft change set (or the actor's existing draft `change_set_id`) to stage into.

    Call `.flush()` (or let the unit of work commit after `.close()`) to write the audit events.
    """
    require(actor, Permission.EDIT)
    require_intact(session, action="editing", scope=Scope.EDIT)
    if change_set_id is not None:
        cs = _load(session, change_set_id, lock=True)
        if cs.status is not ChangeSetStatus.DRAFT:
            raise KbError(f"{cs.human_id} is {cs.status.value}; only a draft can be edited")
        if cs.author_id != actor.user_id:
            raise PermissionDenied(f"{cs.human_id} is another curator's draft")
        return _AutoFlushEditor(session, actor, cs)
    cs = ChangeSet(
        human_id=_next_change_set_id(session),
        title=title or "Untitled change set",
        status=ChangeSetStatus.DRAFT,
        author_id=actor.user_id,
        base_version=current_version(session),
        source_name=source_name,
        source_sha256=source_sha256,
        skipped=[],
    )
    session.add(cs)
    session.flush()
    details: dict[str, Any] = {"title": cs.title, "base_version": cs.base_version}
    if source_sha256:
        details.update(source=source_name, sha256=source_sha256)
    record_event(
        session, actor=actor.name, action="change_set.create", subject=cs.human_id, details=details
    )
    return _AutoFlushEditor(session, actor, cs)


class _AutoFlushEditor(DraftEditor):
    """Writes its audit events before the caller's transaction commits."""

    def __init__(self, session: Session, actor: Actor, cs: ChangeSet) -> None:
        super().__init__(session, actor, cs)
        from sqlalchemy import event

        event.listen(session, "before_commit", self._before_commit, once=True)

    def _before_commit(self, _session: Session) -> None:
        if self._events or self._queue or self._created_ids:
            self.flush()


def record_skipped(
    session: Session, change_set_id: str, skipped: Iterable[Mapping[str, Any]]
) -> None:
    """Keep, on the change set, the import rows left out by --skip-invalid and why."""
    cs = _load(session, change_set_id)
    cs.skipped = [*(cs.skipped or []), *(dict(item) for item in skipped)]


# --- the main line as plain data ------------------------------------------------------------


def main_line_fields(
    session: Session, human_ids: Iterable[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """human id -> (uuid, fields) on the main line, from the newest revisions."""
    wanted = list(dict.fromkeys(h.upper() for h in human_ids))
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(
                Revision.human_id,
                Revision.record_id,
                Revision.kb_version,
                cast(Revision.data, Text),
                Revision.deleted,
            )
            .where(Revision.human_id.in_(chunk))
            .order_by(Revision.kb_version)
        )
        for human, record_id, _version, data, deleted in rows:
            if deleted:
                out.pop(human, None)
            else:
                out[human] = (record_id, orjson.loads(data))
    return out


def _effective_rows(session: Session, cs: ChangeSet) -> tuple[list[RecordRow], list[RecordRow]]:
    """(touched records as they would be after merging, every record after merging)."""
    version = current_version(session)
    everything: dict[str, RecordRow] = {
        human_id: RecordRow(RecordType(rtype), record_id, human_id, number, human_id, data)
        for rtype, human_id, record_id, number, data in latest_rows(session, version)
    }
    touched: list[RecordRow] = []
    for change in cs.changes:
        rtype = RecordType(change.record_type)
        if change.op is ChangeOp.DELETE:
            everything.pop(change.human_id, None)
            continue
        base = everything.get(change.human_id)
        fields = {**(base.fields if base else {}), **change.fields}
        row = RecordRow(
            rtype, change.record_id, change.human_id, version + 1, change.human_id, fields
        )
        everything[change.human_id] = row
        touched.append(row)
    return touched, list(everything.values())


def validate_change_set(session: Session, key: str) -> list[Problem]:
    """Problems the change set would leave in the KB (in touched records, and references to
    records it deletes)."""
    cs = _load(session, key)
    touched, everything = _effective_rows(session, cs)
    problems = validate_rows(touched, Vocabularies.from_session(session), context=everything)
    deleted = {c.human_id for c in cs.changes if c.op is ChangeOp.DELETE}
    if deleted:
        # A deletion may leave other records pointing at nothing.
        users = [row for row in everything if _refers_to(row.fields, deleted)]
        problems += [
            p
            for p in validate_rows(users, Vocabularies(), context=everything)
            if p.code == "dangling_reference"
        ]
    return [p for p in problems if p.severity == "error"]


def _refers_to(value: Any, targets: set[str]) -> bool:
    if isinstance(value, str):
        return value in targets
    if isinstance(value, Mapping):
        return any(_refers_to(v, targets) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, targets) for v in value)
    return False


# --- lifecycle --------------------------------------------------------------------------------


def submit_change_set(session: Session, *, actor: Actor, change_set_id: str) -> ChangeSetRow:
    """Send a draft for review; validation errors block it."""
    require(actor, Permission.EDIT)
    cs = _load(session, change_set_id, lock=True)
    if cs.author_id != actor.user_id:
        raise PermissionDenied(f"only the author of {cs.human_id} can submit it")
    if cs.status is not ChangeSetStatus.DRAFT:
        raise KbError(f"{cs.human_id} is {cs.status.value}; only a draft can be submitted")
    if not cs.changes:
        raise KbError(f"{cs.human_id} has no changes to submit")
    require_intact(session, action=f"submitting {cs.human_id}", scope=Scope.EDIT)
    problems = validate_change_set(session, cs.id)
    if problems:
        raise ValidationFailed(problems)
    cs.status, cs.submitted_at = ChangeSetStatus.SUBMITTED, utcnow()
    cs.validated_version = current_version(session)
    record_event(
        session,
        actor=actor.name,
        action="change_set.submit",
        subject=cs.human_id,
        details={"changes": len(cs.changes)},
    )
    return _row(cs, _names(session))


def withdraw_change_set(session: Session, *, actor: Actor, change_set_id: str) -> ChangeSetRow:
    """The author takes a submitted change set back into draft."""
    cs = _load(session, change_set_id, lock=True)
    if cs.author_id != actor.user_id:
        raise PermissionDenied(f"only the author of {cs.human_id} can withdraw it")
    if cs.status is ChangeSetStatus.DRAFT:
        raise KbError(
            f"{cs.human_id} is already a draft; to drop it altogether, discard it "
            f"(kb changes discard {cs.human_id})"
        )
    if cs.status is not ChangeSetStatus.SUBMITTED:
        raise KbError(f"{cs.human_id} is {cs.status.value}; only a submitted one can be withdrawn")
    cs.status, cs.submitted_at = ChangeSetStatus.DRAFT, None
    record_event(session, actor=actor.name, action="change_set.withdraw", subject=cs.human_id)
    return _row(cs, _names(session))


def discard_change_set(
    session: Session, *, actor: Actor, change_set_id: str, reason: str = ""
) -> ChangeSetRow:
    """The author gives up a draft for good: it leaves their drafts and never merges, but stays
    on record (status `withdrawn`, its changes and thread kept) with an audit event."""
    require(actor, Permission.EDIT)
    cs = _load(session, change_set_id, lock=True)
    if cs.author_id != actor.user_id:
        raise PermissionDenied(f"only the author of {cs.human_id} can discard it")
    if cs.status is ChangeSetStatus.SUBMITTED:
        raise KbError(f"{cs.human_id} is submitted; withdraw it to a draft first, then discard it")
    if cs.status is not ChangeSetStatus.DRAFT:
        raise KbError(f"{cs.human_id} is {cs.status.value}; only a draft can be discarded")
    cs.status = ChangeSetStatus.WITHDRAWN
    details: dict[str, Any] = {"changes": len(cs.changes)}
    if reason.strip():
        details["reason"] = reason.strip()
    record_event(
        session, actor=actor.name, action="change_set.discard", subject=cs.human_id, details=details
    )
    return _row(cs, _names(session))


def drop_change(session: Session, *, actor: Actor, change_set_id: str, record: str) -> ChangeSetRow:
    """Take one record's change out of the author's draft (a staged creation, edit or deletion
    of `record`); the rest of the draft stays. Audited as `change.discard`."""
    editor = open_draft(session, actor=actor, change_set_id=change_set_id)
    human_id = record.strip().upper()
    if human_id not in {c.human_id for c in editor._cs.changes}:
        raise NotFoundError(f"{editor.human_id} has no change of {human_id}")
    editor.discard(human_id)
    editor.flush()
    session.expire(editor._cs, ["changes"])
    return get_change_set(session, editor.change_set_id)


def reject_change_set(
    session: Session, *, actor: Actor, change_set_id: str, reason: str
) -> ChangeSetRow:
    """A reviewer turns a submitted change set down; the reason is required and kept."""
    require(actor, Permission.APPROVE)
    if not reason or not reason.strip():
        raise KbError("a rejection needs a reason")
    cs = _load(session, change_set_id, lock=True)
    if cs.status is not ChangeSetStatus.SUBMITTED:
        raise KbError(f"{cs.human_id} is {cs.status.value}; only a submitted one can be rejected")
    cs.status, cs.reason = ChangeSetStatus.REJECTED, reason.strip()
    cs.decided_by_id, cs.decided_at = actor.user_id, utcnow()
    record_event(
        session,
        actor=actor.name,
        action="change_set.reject",
        subject=cs.human_id,
        details={"reason": cs.reason},
    )
    add_comment(session, actor=actor, change_set_id=cs.id, body=cs.reason, kind=CommentKind.REJECT)
    return _row(cs, _names(session))


def find_conflicts(session: Session, cs: ChangeSet) -> list[Conflict]:
    """Fields this change set changes that the main line changed differently since its base."""
    existing = [c for c in cs.changes if c.op is not ChangeOp.CREATE]
    current = main_line_fields(session, [c.human_id for c in existing])
    conflicts: list[Conflict] = []
    for change in existing:
        now = current.get(change.human_id)
        if now is None:
            conflicts.append(Conflict(change.human_id, "*", "present", "deleted", change.op.value))
            continue
        theirs = now[1]
        if change.op is ChangeOp.DELETE:
            for name, base in change.before.items():
                if theirs.get(name) != base:
                    conflicts.append(Conflict(change.human_id, name, base, theirs.get(name), None))
            continue
        for name, ours in change.fields.items():
            base, now_value = change.before.get(name), theirs.get(name)
            if now_value not in (base, ours):
                conflicts.append(Conflict(change.human_id, name, base, now_value, ours))
    return conflicts


@dataclass(frozen=True, slots=True)
class MergeResult:
    change_set: str
    version: int
    created: int
    updated: int
    deleted: int
    returned: str | None = None  # the author's new draft holding the changes turned down


def approve_change_set(
    session: Session,
    *,
    actor: Actor,
    change_set_id: str,
    reason: str = "",
    returned: Mapping[str, str] | None = None,
) -> MergeResult:
    """Approve and merge a submitted change set as KB version N+1, in the caller's transaction.

    `reason` is kept with the decision (in the change set's thread and the audit event).
    `returned` (record human id -> why) accepts the change set in part: those changes go back
    to the author in a new draft, each with its reason in that draft's thread, and the rest
    merges. Refused when the approver authored any of its changes (four eyes), when it
    conflicts with the main line or the accepted part fails validation (nothing is written),
    or when another merge won a race.
    """
    require(actor, Permission.APPROVE)
    cs = _load(session, change_set_id, lock=True)
    if cs.status is not ChangeSetStatus.SUBMITTED:
        raise KbError(f"{cs.human_id} is {cs.status.value}; only a submitted one can be approved")
    authors = {cs.author_id} | {c.author_id for c in cs.changes}
    if actor.user_id in authors:
        raise PermissionDenied(
            f"{actor.name} authored changes in {cs.human_id} and cannot approve it: "
            "another reviewer must (four-eyes rule)"
        )
    returned_to = None
    if returned:
        returned_to = _return_changes(session, actor, cs, returned)
    require_intact(
        session,
        action=f"approving {cs.human_id}",
        scope=Scope.MERGE,
        record_ids={c.record_id for c in cs.changes if c.op is not ChangeOp.CREATE},
    )
    conflicts = find_conflicts(session, cs)
    if conflicts:
        raise ConflictError(cs.human_id, conflicts)
    if returned_to is not None or cs.validated_version != current_version(session):
        # The main line moved since submission, or only part of it merges: what was valid
        # then may not be now.
        problems = validate_change_set(session, cs.id)
        if problems:
            raise ValidationFailed(problems)
    name = cs.human_id
    try:
        result = _merge(session, actor, cs, reason=reason.strip(), returned=returned_to)
        if reason.strip():
            add_comment(
                session,
                actor=actor,
                change_set_id=result.change_set,
                body=reason,
                kind=CommentKind.APPROVE,
            )
        return result
    except StaleDataError:
        raise ConflictError(
            name, [Conflict("*", "*", None, "changed by a merge that finished first", None)]
        ) from None
    except IntegrityError as exc:
        if "kb_version" in str(exc.orig):
            raise ConflictError(
                name, [Conflict("*", "*", None, "another merge took the same version", None)]
            ) from None
        raise KbError(f"{name} could not be merged: {exc.orig}") from None


def _return_changes(
    session: Session, actor: Actor, cs: ChangeSet, returned: Mapping[str, str]
) -> str:
    """Move the changes of `returned` (record -> reason) into a new draft of the change set's
    author; returns its human id. Every returned change needs a reason, and at least one change
    must stay (else the change set is rejected, not approved)."""
    by_record = {c.human_id: c for c in cs.changes}
    wanted = {record.strip().upper(): (why or "").strip() for record, why in returned.items()}
    unknown = sorted(set(wanted) - set(by_record))
    if unknown:
        raise NotFoundError(f"{cs.human_id} has no change of {', '.join(unknown)}")
    missing = sorted(record for record, why in wanted.items() if not why)
    if missing:
        raise KbError(f"a change turned down needs a reason: {', '.join(missing)}")
    if len(wanted) == len(by_record):
        raise KbError(
            f"every change of {cs.human_id} was turned down: reject the change set instead"
        )
    ids = [by_record[record].id for record in wanted]
    if server_function(session, "kb_return_changes(text,text,integer[])"):
        # A reviewer's login may not write the author's change sets: the server checks the
        # reviewer again and moves the changes itself (migration 0014).
        session.flush()
        new_id = session.execute(
            text("SELECT kb_return_changes(:cs, :actor, :ids)"),
            {"cs": cs.id, "actor": actor.name, "ids": ids},
        ).scalar_one()
        draft = session.get(ChangeSet, new_id)
        assert draft is not None
    else:
        draft = ChangeSet(
            human_id=_next_change_set_id(session),
            title=f"{cs.title} (returned from {cs.human_id})",
            status=ChangeSetStatus.DRAFT,
            author_id=cs.author_id,
            base_version=cs.base_version,
            skipped=[],
        )
        session.add(draft)
        session.flush()
        session.execute(update(Change).where(Change.id.in_(ids)).values(change_set_id=draft.id))
    session.expire(cs, ["changes"])
    for record, why in wanted.items():
        # The reason goes with the change into the author's draft, and stays in this thread.
        for where, body in (
            (draft.id, f"Returned from {cs.human_id}: {why}"),
            (cs.id, f"Turned down (returned to {draft.human_id}): {why}"),
        ):
            add_comment(
                session,
                actor=actor,
                change_set_id=where,
                record=record,
                body=body,
                kind=CommentKind.RETURN,
            )
    record_event(
        session,
        actor=actor.name,
        action="change_set.return",
        subject=cs.human_id,
        details={"to": draft.human_id, "returned": wanted},
    )
    return draft.human_id


def _merge(
    session: Session,
    actor: Actor,
    cs: ChangeSet,
    *,
    reason: str = "",
    returned: str | None = None,
) -> MergeResult:
    from kb.model.records import Writer

    changes = sorted(cs.changes, key=lambda c: (_ORDER[RecordType(c.record_type)], c.position))
    creates = [c for c in changes if c.op is ChangeOp.CREATE]
    updates = [c for c in changes if c.op is ChangeOp.UPDATE]
    deletes = [c for c in reversed(changes) if c.op is ChangeOp.DELETE]
    on_server = server_function(session, "kb_merge_change_set(text,text)")
    base: dict[str, tuple[str, dict[str, Any]]] = {}
    if on_server:
        # The server checks the approver and the change set again, then writes the version,
        # its revisions and the new status itself (migration 0012): a reviewer's login can
        # write typed rows only for the records that merge revised (kb admin setup-postgres).
        number = session.execute(
            text("SELECT kb_merge_change_set(:cs, :actor)"), {"cs": cs.id, "actor": actor.name}
        ).scalar_one()
        session.expire(cs)
    else:
        number = new_version(session, author=actor.name, note=cs.title, change_set_id=cs.id).number
        base = main_line_fields(session, [c.human_id for c in updates])
    writer = Writer(session, kb_version=number)
    revisions: list[tuple[RecordType, Any, dict[str, Any] | None, bool]] = []
    events: list[NewEvent] = []
    for change in creates:
        rtype = RecordType(change.record_type)
        obj = writer.create(rtype, change.fields, uuid=change.record_id, human_id=change.human_id)
        revisions.append((rtype, obj, dict(change.fields), False))
        events.append(
            NewEvent(
                actor.name,
                "record.create",
                change.human_id,
                {"change_set": cs.human_id, "version": number, "new": change.fields},
            )
        )
    objects = _objects(session, updates + deletes)
    for change in updates:
        rtype = RecordType(change.record_type)
        obj = objects[change.record_id]
        writer.update(rtype, obj, change.fields, flush=False)
        data = {**base[change.human_id][1], **change.fields} if base else None
        revisions.append((rtype, obj, data, False))
        events.append(
            NewEvent(
                actor.name,
                "record.update",
                change.human_id,
                {
                    "change_set": cs.human_id,
                    "version": number,
                    "old": change.before,
                    "new": change.fields,
                },
            )
        )
    for change in deletes:
        rtype = RecordType(change.record_type)
        obj = objects[change.record_id]
        writer.delete(rtype, obj)
        revisions.append((rtype, obj, None, True))
        events.append(
            NewEvent(
                actor.name,
                "record.delete",
                change.human_id,
                {"change_set": cs.human_id, "version": number, "old": change.before},
            )
        )
    session.flush()
    name = cs.human_id
    if not on_server:
        # Revisions go in as one bulk insert: a merge of 10,000 changes writes 10,000 of them.
        bulk_insert(
            session,
            Revision,
            (
                "record_id",
                "record_type",
                "human_id",
                "kb_version",
                "change_set_id",
                "deleted",
                "data",
            ),
            (
                (obj.id, rtype.value, obj.human_id, number, cs.id, deleted, stored or {})
                for rtype, obj, stored, deleted in revisions
            ),
        )
        cs.status, cs.merged_version = ChangeSetStatus.MERGED, number
        cs.decided_by_id, cs.decided_at = actor.user_id, utcnow()
    decision: dict[str, Any] = {"version": number, "changes": len(changes)}
    if reason:
        decision["reason"] = reason
    if returned:
        decision["returned_to"] = returned
    events.append(NewEvent(actor.name, "change_set.approve", name, decision))
    session.flush()
    record_events(session, events)
    return MergeResult(name, number, len(creates), len(updates), len(deletes), returned)


def _objects(session: Session, changes: Sequence[Change]) -> dict[str, Any]:
    by_type: dict[RecordType, list[str]] = defaultdict(list)
    collections: dict[RecordType, bool] = defaultdict(bool)
    for change in changes:
        rtype = RecordType(change.record_type)
        by_type[rtype].append(change.record_id)
        # Deletions and edits of list fields need the link rows; scalar edits do not.
        collections[rtype] |= change.op is ChangeOp.DELETE or any(
            isinstance(value, list | dict) for value in change.fields.values()
        )
    out: dict[str, Any] = {}
    for rtype, record_ids in by_type.items():
        cls = RECORD_CLASSES[rtype]
        loaders = _LOADERS.get(rtype, ()) if collections[rtype] else ()
        for start in range(0, len(record_ids), 500):
            query = select(cls).options(*loaders).where(cls.id.in_(record_ids[start : start + 500]))
            for obj in session.scalars(query):
                out[obj.id] = obj
    missing = [c.human_id for c in changes if c.record_id not in out]
    if missing:
        raise KbError(f"records no longer exist: {', '.join(missing[:10])}")
    return out


@dataclass(frozen=True, slots=True)
class RebaseResult:
    change_set: str
    old_base: int
    new_base: int
    kept: int
    conflicts: list[Conflict]
    # Records this draft created that a change set merged meanwhile created too: ours -> theirs.
    linked: dict[str, str] = field(default_factory=dict)


def rebase_change_set(session: Session, *, actor: Actor, change_set_id: str) -> RebaseResult:
    """Move a draft onto the newest KB version: keep what does not conflict, drop and list
    what does (the curator decides again on those fields)."""
    cs = _load(session, change_set_id, lock=True)
    if cs.author_id != actor.user_id:
        raise PermissionDenied(f"only the author of {cs.human_id} can rebase it")
    if cs.status is not ChangeSetStatus.DRAFT:
        raise KbError(f"{cs.human_id} is {cs.status.value}; withdraw it to a draft first")
    conflicts = find_conflicts(session, cs)
    clashing = {(c.human_id, c.field) for c in conflicts}
    current = main_line_fields(
        session, [c.human_id for c in cs.changes if c.op is not ChangeOp.CREATE]
    )
    for change in list(cs.changes):
        if change.op is ChangeOp.CREATE:
            continue
        now = current.get(change.human_id)
        if now is None or (
            change.op is ChangeOp.DELETE
            and any((change.human_id, name) in clashing for name in change.before)
        ):
            cs.changes.remove(change)
            continue
        if change.op is ChangeOp.DELETE:
            change.before = now[1]
            continue
        fields, before = dict(change.fields), {}
        for name in list(fields):
            if (change.human_id, name) in clashing or now[1].get(name) == fields[name]:
                del fields[name]
            else:
                before[name] = now[1].get(name)
        if fields:
            change.fields, change.before = fields, before
        else:
            cs.changes.remove(change)
    old = cs.base_version
    linked = _link_merged_creations(session, cs)
    cs.base_version = current_version(session)
    details: dict[str, Any] = {
        "from": old,
        "to": cs.base_version,
        "conflicts": [c.as_json() for c in conflicts],
    }
    if linked:
        details["linked"] = linked
    record_event(
        session, actor=actor.name, action="change_set.rebase", subject=cs.human_id, details=details
    )
    return RebaseResult(cs.human_id, old, cs.base_version, len(cs.changes), conflicts, linked)


def _link_merged_creations(session: Session, cs: ChangeSet) -> dict[str, str]:
    """Where this draft creates a record that a change set merged since its base created too
    (the same identity, e.g. two imports of one sheet), drop our creation and point our other
    changes at theirs; fields of ours that differ become an edit of theirs. Returns ours ->
    theirs.

    Creations are matched in the order a merge writes them, each after the links found before
    it are applied, so an expression made of two biomarkers both created twice is recognised
    too.
    """
    creates = [c for c in cs.changes if c.op is ChangeOp.CREATE]
    if not creates:
        return {}
    types = {c.record_type for c in creates}
    since = session.execute(
        select(Revision.human_id)
        .where(
            Revision.kb_version > cs.base_version,
            Revision.record_type.in_(types),
            Revision.deleted.is_(False),
        )
        .distinct()
    ).scalars()
    theirs: dict[tuple[str, Any], tuple[str, str, dict[str, Any]]] = {}
    for human_id, (record_id, fields) in main_line_fields(session, since).items():
        rtype = type_of_human_id(human_id)
        theirs.setdefault((rtype.value, identity_key(rtype, fields)), (human_id, record_id, fields))
    if not theirs:
        return {}
    linked: dict[str, str] = {}
    position = max((c.position for c in cs.changes), default=-1)
    for change in sorted(creates, key=lambda c: (_ORDER[RecordType(c.record_type)], c.position)):
        rtype = RecordType(change.record_type)
        fields = _relinked(change.fields, linked)
        match = theirs.get((rtype.value, identity_key(rtype, fields)))
        if match is None:
            continue
        human_id, record_id, current = match
        linked[change.human_id] = human_id
        cs.changes.remove(change)
        different = {k: v for k, v in fields.items() if current.get(k) != v}
        if different:
            position += 1
            cs.changes.append(
                Change(
                    position=position,
                    op=ChangeOp.UPDATE,
                    record_type=rtype.value,
                    record_id=record_id,
                    human_id=human_id,
                    fields=different,
                    before={k: current.get(k) for k in different},
                    author_id=change.author_id,
                )
            )
    if linked:
        for change in cs.changes:
            fields = _relinked(change.fields, linked)
            if fields != change.fields:
                change.fields = fields
    return linked


def _relinked(value: Any, links: Mapping[str, str]) -> Any:
    """`value` with every reference to a key of `links` replaced by its target."""
    if isinstance(value, str):
        return links.get(value, value)
    if isinstance(value, Mapping):
        return {k: _relinked(v, links) for k, v in value.items()}
    if isinstance(value, list):
        return [_relinked(v, links) for v in value]
    return value
