"""Edits a curator makes, and their inverses — Qt-free, so undo is tested without a window.

Orange's habit: executing a command returns the command that undoes it. `QUndoCommand`
(curator/undo.py) only wraps these and supplies menu text; the logic is here.

Every edit stages into the actor's draft change set through `kb.changes.open_draft`:

- an update's inverse is an update back to the values the curator saw before it (the draft's
  staged value if there was one, else the main line's), so update A→B then B→C undoes to B;
- a create's inverse deletes the staged record; redoing creates it again under a *new* human id
  (the KB never reuses one), so commands name records by a *handle* — the id the record was
  first given — and `IdMap` says which id the handle stands for now;
- deleting a record created in this draft is undone by creating it again with its fields;
  deleting a main-line record is undone by dropping the staged deletion (`Discard`), which needs
  `DraftEditor.discard` from kb; until it exists such a deletion cannot be undone (`inverse` is
  None and the caller clears its undo history).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.enums import ChangeOp, RecordType
from kb.model.records import get_record, type_of_human_id
from kb.review.bulk import stage_clone, stage_field_values
from kb.review.changes import ChangeRow, current_draft, open_draft
from kb.review.users import Actor


@dataclass(frozen=True, slots=True)
class Create:
    rtype: RecordType
    fields: Mapping[str, Any]
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class Update:
    handle: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Delete:
    handle: str


@dataclass(frozen=True, slots=True)
class Discard:
    """Drop whatever the draft has staged for a record (needs `DraftEditor.discard`)."""

    handle: str


@dataclass(frozen=True, slots=True)
class UpdateMany:
    """New values for many records in one step (kb.review.bulk): "Set field…" on a selection.
    Its inverse is another UpdateMany putting back each record's own values."""

    items: tuple[tuple[str, Mapping[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class Clone:
    """A copy of a record, staged as a new record under a new id."""

    source: str
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    edits: tuple[Edit, ...]
    label: str = ""


Edit = Create | Update | UpdateMany | Clone | Delete | Discard | Batch


def describe(edit: Edit) -> str:
    """Menu text for an edit ("Undo Edit AS-00001")."""
    match edit:
        case Create(rtype=rtype):
            return f"New {rtype.value.replace('_', ' ')}"
        case Update(handle=handle, fields=fields):
            names = ", ".join(fields)
            return f"Edit {handle} ({names})" if len(names) < 40 else f"Edit {handle}"
        case Delete(handle=handle):
            return f"Delete {handle}"
        case Discard(handle=handle):
            return f"Restore {handle}"
        case UpdateMany(items=items):
            names = sorted({name for _, fields in items for name in fields})
            what = ", ".join(names) if len(names) <= 3 else f"{len(names)} fields"
            return f"Set {what} on {len(items)} record(s)"
        case Clone(source=source):
            return f"Clone {source}"
        case Batch(edits=edits, label=label):
            return label or "; ".join(describe(e) for e in edits)
    raise AssertionError(edit)


@dataclass
class IdMap:
    """Handle → the human id the record has now (identity until a re-creation moves it)."""

    _current: dict[str, str] = field(default_factory=dict)

    def resolve(self, handle: str) -> str:
        return self._current.get(handle.upper(), handle.upper())

    def rebind(self, handle: str, human_id: str) -> None:
        self._current[handle.upper()] = human_id.upper()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one executed edit did, as plain data for the UI thread."""

    inverse: Edit | None
    human_id: str | None
    change_set: str
    change_set_id: str
    touched: tuple[str, ...]


def supports_discard() -> bool:
    from kb.review.changes import DraftEditor

    return callable(getattr(DraftEditor, "discard", None))


def execute(
    session: Session,
    *,
    actor: Actor,
    edit: Edit,
    ids: IdMap,
    title: str = "",
) -> Outcome:
    """Stage `edit` into the actor's draft (opening one if needed); return how to undo it."""
    draft = current_draft(session, actor)
    staged = {change.human_id: change for change in draft.changes} if draft else {}
    editor = open_draft(
        session,
        actor=actor,
        title=title or f"Changes by {actor.name}",
        change_set_id=draft.id if draft else None,
    )
    runner = _Runner(session, editor, staged, ids)
    inverse = runner.apply(edit)
    editor.flush()
    return Outcome(
        inverse,
        runner.last_id,
        editor.human_id,
        editor.change_set_id,
        tuple(dict.fromkeys(runner.touched)),
    )


class _Runner:
    def __init__(
        self, session: Session, editor: Any, staged: dict[str, ChangeRow], ids: IdMap
    ) -> None:
        self.session = session
        self.editor = editor
        # What the draft held when this edit began; records created since are in `created`.
        self.staged = staged
        self.created: set[str] = set()
        self.ids = ids
        self.last_id: str | None = None
        self.touched: list[str] = []

    def apply(self, edit: Edit) -> Edit | None:
        match edit:
            case Create():
                return self._create(edit)
            case Update():
                return self._update(edit)
            case Delete():
                return self._delete(edit)
            case Discard():
                return self._discard(edit)
            case UpdateMany():
                return self._update_many(edit)
            case Clone():
                return self._clone(edit)
            case Batch(edits=edits, label=label):
                inverses = [self.apply(each) for each in edits]
                if any(inverse is None for inverse in inverses):
                    return None
                return Batch(tuple(i for i in reversed(inverses) if i is not None), label)
        raise AssertionError(edit)

    def _create(self, edit: Create) -> Edit:
        return self._new(self.editor.create(edit.rtype, dict(edit.fields)), edit.handle)

    def _new(self, human_id: str, handle: str | None) -> Edit:
        """A record this edit staged under `human_id`: undone by deleting it, wherever a redo
        puts it (the handle follows it)."""
        handle = handle or human_id
        self.ids.rebind(handle, human_id)
        self.created.add(human_id)
        self.last_id = human_id
        self.touched.append(human_id)
        return Delete(handle)

    def _update_many(self, edit: UpdateMany) -> Edit:
        resolved = {self.ids.resolve(handle): (handle, fields) for handle, fields in edit.items}
        before = stage_field_values(
            self.editor, {human_id: dict(fields) for human_id, (_, fields) in resolved.items()}
        )
        self.touched.extend(resolved)
        self.last_id = next(reversed(resolved), None)
        return UpdateMany(
            tuple((handle, before[human_id]) for human_id, (handle, _) in resolved.items())
        )

    def _clone(self, edit: Clone) -> Edit:
        return self._new(stage_clone(self.editor, self.ids.resolve(edit.source)), edit.handle)

    def _effective(self, human_id: str) -> dict[str, Any]:
        """The record as the curator sees it: the draft's staged values over the main line."""
        if human_id in self.created:
            # Created by an earlier step of this very edit: read the staged fields back.
            draft = current_draft(self.session, self.editor.actor)
            for row in draft.changes if draft else ():
                if row.human_id == human_id:
                    return dict(row.fields)
        change = self.staged.get(human_id)
        if change is not None and change.op is ChangeOp.CREATE:
            return dict(change.fields)
        if change is not None and change.op is ChangeOp.DELETE:
            raise KbError(f"{human_id} is deleted in the draft; it cannot be edited")
        main = dict(get_record(self.session, human_id).fields)
        if change is not None:
            main.update(change.fields)
        return main

    def _update(self, edit: Update) -> Edit:
        human_id = self.ids.resolve(edit.handle)
        current = self._effective(human_id)
        before = {name: current.get(name) for name in edit.fields}
        self.editor.update(human_id, dict(edit.fields))
        self.last_id = human_id
        self.touched.append(human_id)
        return Update(edit.handle, before)

    def _delete(self, edit: Delete) -> Edit | None:
        human_id = self.ids.resolve(edit.handle)
        change = self.staged.get(human_id)
        created_here = human_id in self.created or (
            change is not None and change.op is ChangeOp.CREATE
        )
        fields = self._effective(human_id) if created_here else {}
        self.editor.delete(human_id)
        self.last_id = human_id
        self.touched.append(human_id)
        if created_here:
            return Create(type_of_human_id(human_id), fields, handle=edit.handle)
        if not supports_discard():
            return None
        if change is not None and change.op is ChangeOp.UPDATE:
            return Batch((Discard(edit.handle), Update(edit.handle, dict(change.fields))))
        return Discard(edit.handle)

    def _discard(self, edit: Discard) -> Edit | None:
        human_id = self.ids.resolve(edit.handle)
        if not supports_discard():
            raise KbError("this version of kb cannot drop a staged change (no discard)")
        change = self.staged.get(human_id)
        self.editor.discard(human_id)
        self.last_id = human_id
        self.touched.append(human_id)
        if change is None:
            return Batch(())
        if change.op is ChangeOp.CREATE:
            return Create(change.record_type, dict(change.fields), handle=edit.handle)
        if change.op is ChangeOp.UPDATE:
            return Update(edit.handle, dict(change.fields))
        return Delete(edit.handle)
