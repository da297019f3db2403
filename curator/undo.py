"""Undo / redo: QUndoStack over the Qt-free commands of curator/commands.py.

`EditController` runs every edit on the write worker (one thread, in order) and pushes a
command only once kb has accepted the edit; `EditCommand` supplies the menu text and replays
the edit or its inverse. A failed undo or redo (someone else's change got in the way) clears
the history — it no longer describes the draft — and says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from curator.commands import Clone, Create, Edit, IdMap, Outcome, describe, execute
from curator.qt_compat import emit
from curator.workers import CancelToken, TaskFailure, Workers
from kb.review.users import Actor
from kb.storage.db import Kb


class EditCommand(QUndoCommand):
    def __init__(self, controller: EditController, edit: Edit, inverse: Edit) -> None:
        super().__init__(describe(edit))
        self.controller = controller
        self.edit = edit
        self.inverse = inverse
        # The edit already ran when the command was pushed; push() calls redo() once more.
        self._skip_redo = True

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.controller.replay(self.edit, on_inverse=self._set_inverse)

    def undo(self) -> None:
        self.controller.replay(self.inverse, on_inverse=None)

    def _set_inverse(self, inverse: Edit | None) -> None:
        if inverse is not None:
            self.inverse = inverse


def _with_handle(edit: Edit, outcome: Outcome) -> Edit:
    """A new record's edit as its redo must replay it: under the handle its first id gave it,
    so later edits naming that id follow the record to the id a redo gives it."""
    if isinstance(edit, Create | Clone) and edit.handle is None and outcome.human_id:
        return dataclasses.replace(edit, handle=outcome.human_id)
    return edit


class EditController(QObject):
    """Stages edits into the signed-in curator's draft and keeps their undo history."""

    edited = Signal(object)  # Outcome, after every edit, undo and redo
    failed = Signal(object)  # TaskFailure
    busy_changed = Signal(bool)

    def __init__(self, kb: Kb, actor: Actor, workers: Workers, parent: QObject | None = None):
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.stack = QUndoStack(self)
        # Read and written only by edits, which run one at a time on the write thread.
        self.ids = IdMap()
        self._pending = 0

    def _run(
        self,
        edit: Edit,
        on_done: Callable[[Outcome], None],
        on_error: Callable[[TaskFailure], None],
    ) -> None:
        kb, actor, ids = self.kb, self.actor, self.ids

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> Outcome:
            with kb.unit_of_work() as session:
                return execute(session, actor=actor, edit=edit, ids=ids)

        self._pending += 1
        if self._pending == 1:
            emit(self.busy_changed, True)

        def finished() -> None:
            self._pending -= 1
            if self._pending == 0:
                emit(self.busy_changed, False)

        def done(outcome: Outcome) -> None:
            finished()
            on_done(outcome)

        def error(failure: TaskFailure) -> None:
            finished()
            on_error(failure)

        self.workers.write(describe(edit), work, on_result=done, on_error=error)

    def submit(
        self,
        edit: Edit,
        *,
        on_done: Callable[[Outcome], None] | None = None,
        on_error: Callable[[TaskFailure], None] | None = None,
    ) -> None:
        """Run a new edit; once kb accepts it, it joins the undo history."""

        def done(outcome: Outcome) -> None:
            if outcome.inverse is None:
                # kb cannot undo this one (see commands.py): earlier steps may no longer apply.
                self.stack.clear()
            else:
                self.stack.push(EditCommand(self, _with_handle(edit, outcome), outcome.inverse))
            if on_done is not None:
                on_done(outcome)
            emit(self.edited, outcome)

        def error(failure: TaskFailure) -> None:
            if on_error is not None:
                on_error(failure)
            emit(self.failed, failure)

        self._run(edit, done, error)

    def replay(self, edit: Edit, *, on_inverse: Callable[[Edit | None], None] | None) -> None:
        def done(outcome: Outcome) -> None:
            if on_inverse is not None:
                on_inverse(outcome.inverse)
            emit(self.edited, outcome)

        def error(failure: TaskFailure) -> None:
            self.stack.clear()
            emit(self.failed, failure)

        self._run(edit, done, error)

    @property
    def busy(self) -> bool:
        return self._pending > 0
