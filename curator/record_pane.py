"""The record pane: one record's fields, and the editor that stages changes to it in the draft.

Records are read by workers and arrive as `RecordDetail`s; edits go through `EditController`
(curator/undo.py) and so into the curator's draft change set. The pane keeps the editing flow
(new, edit, save, delete, an unsaved edit guarded before anything replaces it); the window says
which record to show and keeps the actions that drive it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from curator.choices import ChoiceStore
from curator.commands import Create, Delete, Update, supports_discard
from curator.expression_text import LeafNames, load_leaf_names
from curator.qt_compat import emit
from curator.record_detail import RecordDetail, StagedChange, load_record_detail
from curator.record_editor import EditRequest, RecordEditor
from curator.record_view import RecordView
from curator.undo import EditController
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import RecordType
from kb.model.records import type_of_human_id
from kb.review.users import Actor, Permission, why_not
from kb.storage.db import Kb


def edit_refusal(actor: Actor | None) -> str | None:
    """Why `actor` may not edit (None if they may)."""
    if actor is None:
        return "sign in to edit"
    return why_not(actor, Permission.EDIT)


class RecordPane(QWidget):
    """The record shown (`view`) or edited (`editor`), one at a time in `stack`."""

    opened = Signal(str)  # the human id the pane starts reading
    shown = Signal(str)  # the human id whose fields are now shown
    changed = Signal()  # what is shown or edited changed: actions may enable or disable
    message = Signal(str, int)  # for the status bar: text, milliseconds
    draft_changed = Signal()  # an edit, undo or redo landed (or failed): read the draft again

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        workers: Workers,
        *,
        store: ChoiceStore,
        controller: EditController | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.store = store
        self.controller = controller
        self.current: str | None = None  # the record shown, or being read
        self.staged: Mapping[str, StagedChange] = {}
        self._task: Any = None
        self._leaf_names: LeafNames | None = None
        self._reload_record = False
        self.view = RecordView()
        self.editor = RecordEditor(store)
        self.editor.save_requested.connect(self._save)
        self.editor.cancel_requested.connect(self.cancel_edit)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.editor)
        self.new_button = QToolButton()
        self.edit_button = QToolButton()
        self.delete_button = QToolButton()
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(0, 0, 0, 0)
        self.bar.addWidget(self.new_button)
        self.bar.addStretch(1)
        self.bar.addWidget(self.edit_button)
        self.bar.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.bar)
        layout.addWidget(self.stack, 1)
        if controller is not None:
            controller.edited.connect(self._edited)
            controller.failed.connect(self._edit_failed)

    def use_actions(self, new: QAction, edit: QAction, delete: QAction) -> None:
        """The window's actions behind the pane's New, Edit and Delete buttons."""
        for button, action in ((self.new_button, new), (self.edit_button, edit),
                               (self.delete_button, delete)):  # fmt: skip
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAutoRaise(True)

    def add_button(self, button: QToolButton) -> None:
        """Put `button` in the bar, before Edit."""
        self.bar.insertWidget(self.bar.indexOf(self.edit_button), button)

    # --- what is shown --------------------------------------------------------------------

    @property
    def editing(self) -> bool:
        return self.stack.currentWidget() is self.editor

    def shown_detail(self) -> RecordDetail | None:
        """The record whose fields are shown (None while editing or showing something else)."""
        return self.view.detail if self.stack.currentWidget() is self.view else None

    def open_record(self, human_id: str) -> None:
        """Read `human_id` (with the draft's changes to it) and show it."""
        if not self.confirm_discard():
            return
        self.current = human_id
        emit(self.opened, human_id)
        self.stack.setCurrentWidget(self.view)
        kb, staged = self.kb, dict(self.staged)

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> RecordDetail:
            with kb.read() as session:
                return load_record_detail(session, human_id, staged=staged)

        task = self.workers.read(f"show {human_id}", work)
        task.finished.connect(lambda detail, t=task: self._record_arrived(t, detail))
        task.failed.connect(lambda failure, t=task: self._record_failed(t, failure))
        self._task = task

    def _record_arrived(self, task: object, detail: RecordDetail) -> None:
        if task is not self._task or detail.human_id != self.current:
            return  # the user moved on while it loaded
        self.view.show_detail(detail)
        emit(self.changed)
        emit(self.shown, detail.human_id)

    def _record_failed(self, task: object, failure: TaskFailure) -> None:
        if task is self._task:
            self.view.show_message(failure.message)
            emit(self.changed)

    def show_html(self, text: str) -> None:
        """Show `text` (not a record: a tumour type, say) in place of the record's fields."""
        self.view.setHtml(text)
        self.view.detail = None
        self.stack.setCurrentWidget(self.view)
        emit(self.changed)

    def set_staged(self, staged: Mapping[str, StagedChange]) -> None:
        """The draft was read again: show the record again if the draft changes it."""
        self.staged = staged
        detail = self.shown_detail()
        differs = detail is not None and self.current and detail.staged != staged.get(self.current)
        if self._reload_record or differs:
            self._reload_record = False
            if self.current:
                self.open_record(self.current)

    def forget(self) -> None:
        """The KB changed under the pane: lists read for the editor are read again."""
        self._leaf_names = None

    # --- editing --------------------------------------------------------------------------

    def confirm_discard(self) -> bool:
        """True unless an unsaved edit is open and the user keeps it."""
        if not self.editing or self.editor.rtype is None or not self.editor.pending_fields():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved edit",
            "Discard the edit you have not saved?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Discard:
            return False
        self.stack.setCurrentWidget(self.view)
        return True

    def _prepare_editor(self, rtype: RecordType) -> None:
        if rtype is not RecordType.EXPRESSION:
            return
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> LeafNames:
            with kb.read() as session:
                return load_leaf_names(session)

        def arrived(names: LeafNames) -> None:
            self._leaf_names = names
            self.editor.set_leaf_names(names)

        if self._leaf_names is not None:
            self.editor.set_leaf_names(self._leaf_names)
        self.workers.read("leaf names", work, on_result=arrived)

    def new_record(self, rtype: RecordType) -> None:
        """Open the editor on a new record of `rtype`."""
        if edit_refusal(self.actor) or not self.confirm_discard():
            return
        self.editor.start_new(rtype)
        self._prepare_editor(rtype)
        self.stack.setCurrentWidget(self.editor)
        emit(self.changed)

    def edit_record(self, *, cloned_from: str | None = None) -> None:
        """Open the editor on the record shown (a copy of `cloned_from`, if given)."""
        detail = self.view.detail
        if edit_refusal(self.actor) or detail is None or detail.deleted:
            return
        self.editor.start_edit(detail, cloned_from=cloned_from)
        self._prepare_editor(detail.rtype)
        self.stack.setCurrentWidget(self.editor)
        emit(self.changed)

    def cancel_edit(self, *, ask: bool = True) -> None:
        """Leave the editor (asking first, with `ask`, if the edit is unsaved)."""
        if not self.editing:
            return
        if ask and not self.confirm_discard():
            return
        self.stack.setCurrentWidget(self.view)
        emit(self.changed)

    def _save(self, request: EditRequest) -> None:
        if self.controller is None:
            return
        edit = (
            Create(request.rtype, dict(request.fields))
            if request.human_id is None
            else Update(request.human_id, dict(request.fields))
        )
        self.editor.set_busy(True)

        def done(outcome: Any) -> None:
            self.editor.saved(outcome.human_id)
            self.stack.setCurrentWidget(self.view)
            self.current = None
            if outcome.human_id:
                self.open_record(outcome.human_id)
            emit(self.message, f"Saved to your draft {outcome.change_set}", 5000)

        self.controller.submit(edit, on_done=done, on_error=self.editor.show_failure)

    def delete_record(self) -> None:
        """Stage the deletion of the record shown, once the user confirms."""
        detail = self.view.detail
        if self.controller is None or edit_refusal(self.actor) or detail is None or detail.deleted:
            return
        undoable = detail.new or supports_discard()
        text = f"Stage the deletion of {detail.human_id} — {detail.title} in your draft?"
        if detail.used_by_total:
            text += f"\n\n{detail.used_by_total} record(s) use it; kb will refuse to merge it."
        if not undoable:
            text += "\n\nThis deletion cannot be undone (it clears the undo history)."
        answer = QMessageBox.question(
            self,
            "Delete record",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.controller.submit(Delete(detail.human_id))

    def _edited(self, outcome: Any) -> None:
        emit(self.draft_changed)
        touched = set(outcome.touched)
        types = set()
        for human_id in touched:
            try:
                types.add(type_of_human_id(human_id).value)
            except Exception:
                continue
        self.store.invalidate(sorted(types))
        if self.current in touched and not self.editing:
            self._reload_record = True

    def _edit_failed(self, failure: TaskFailure) -> None:
        if self.editing:
            return  # the editor shows it beside the field
        QMessageBox.warning(self, "Not changed", failure.message)
        emit(self.draft_changed)
