"""Editing at scale: "Set field…" and delete across the selected rows, and "Clone record".

Each is one edit for `EditController` (curator/undo.py), so it runs on the write worker in one
transaction (kb.review.bulk) and is one step of the undo history: undoing "Set level on 20
records" puts all twenty back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from curator.choices import ChoiceStore
from curator.commands import Batch, Clone, Delete, UpdateMany, supports_discard
from curator.expression_text import LeafNames
from curator.fields import FieldWidget
from curator.record_editor import widget_for
from curator.record_pane import RecordPane, edit_refusal
from curator.record_view import field_label, type_label
from curator.records_page import RecordsPage
from curator.theme import ERROR_COLOUR
from curator.undo import EditController
from kb.model.enums import RecordType
from kb.model.records import SPECS, FieldError, coerce
from kb.review.users import Actor

# Field kinds a value can be set for across many records ("tree" is an expression's own tree).
_SETTABLE = frozenset({"enum", "bool", "int", "date", "text", "str", "ref", "refs", "codes",
                       "strings", "protein"})  # fmt: skip


def settable_fields(rtype: RecordType) -> list[str]:
    return [spec.name for spec in SPECS[rtype] if spec.kind in _SETTABLE]


class SetFieldDialog(QDialog):
    """Choose one field and one value for every selected record."""

    def __init__(
        self,
        rtype: RecordType,
        count: int,
        store: ChoiceStore,
        parent: QWidget | None = None,
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("set_field_dialog")
        self.rtype = rtype
        self.setWindowTitle("Set field")
        self.specs = {spec.name: spec for spec in SPECS[rtype]}
        self.field_box = QComboBox()
        self.field_box.setObjectName("field_choice")
        self.values = QStackedWidget()
        self.widgets: dict[str, FieldWidget] = {}
        for name in settable_fields(rtype):
            widget = widget_for(self.specs[name], store, rtype, LeafNames())
            assert isinstance(widget, FieldWidget)
            self.widgets[name] = widget
            self.values.addWidget(widget)
            self.field_box.addItem(field_label(name), name)
            widget.changed.connect(self._check)
        heading = QLabel(
            f"Set one field on the {count:,} selected {type_label(rtype)}(s). The change goes "
            "into your draft as one step: Undo puts every record back."
        )
        heading.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("set_field_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Set on {count:,}")
        ok.setObjectName("set_field_ok")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Field", self.field_box)
        form.addRow("Value", self.values)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.field_box.currentIndexChanged.connect(self._field_changed)
        if field is not None:
            self.choose(field)
        self._field_changed()
        self.resize(520, self.sizeHint().height())

    def choose(self, name: str) -> None:
        index = self.field_box.findData(name)
        if index >= 0:
            self.field_box.setCurrentIndex(index)

    @property
    def field(self) -> str:
        return str(self.field_box.currentData())

    def widget(self) -> FieldWidget:
        return self.widgets[self.field]

    def value(self) -> Any:
        return self.widget().value()

    def _field_changed(self, *_args: object) -> None:
        self.values.setCurrentWidget(self.widget())
        self._check()

    def problem(self) -> str | None:
        """Why the value cannot be set (checked as kb will check it), or None."""
        spec = self.specs[self.field]
        value = self.value()
        if value in (None, "", []) and spec.required:
            return f"{field_label(spec.name)} is required: it cannot be emptied"
        try:
            coerce(self.rtype, spec, value, record="the selected records")
        except FieldError as exc:
            return f"{exc.problem} {exc.value!r}; expected {exc.expected}"
        return None

    def _check(self) -> None:
        problem = self.problem()
        self.message.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)


class BulkEditing(QObject):
    """The actions that act on the selected rows of `records` (and the record in `pane`)."""

    def __init__(
        self,
        *,
        records: RecordsPage,
        pane: RecordPane,
        controller: EditController | None,
        store: ChoiceStore,
        actor: Actor | None,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.records = records
        self.pane = pane
        self.controller = controller
        self.store = store
        self.actor = actor
        self.window = parent
        self._clone_pending: tuple[str, str] | None = None  # (the copy, its source)
        self.act_set_field = self._action(
            "Set field…", self.set_field, "set_field", "Ctrl+Shift+E",
            "Set one field on every selected row (one undo step)",
        )  # fmt: skip
        self.act_delete_selected = self._action(
            "Delete selected", self.delete_selected, "delete_selected", "Ctrl+Shift+Del",
            "Stage the removal of every selected row",
        )  # fmt: skip
        self.act_clone = self._action(
            "Clone record", self.clone_record, "clone_record", "Ctrl+Shift+D",
            "Copy the record shown into your draft under a new id, and edit the copy",
        )  # fmt: skip
        self.actions = (self.act_set_field, self.act_delete_selected, self.act_clone)
        records.table.selectionModel().selectionChanged.connect(self.update_actions)
        records.model.modelReset.connect(self.update_actions)
        pane.changed.connect(self.update_actions)
        pane.shown.connect(self._shown)
        self.update_actions()

    def _action(self, text: str, slot: Any, name: str, shortcut: str, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def update_actions(self, *_args: object) -> None:
        refusal = edit_refusal(self.actor) if self.controller is not None else "sign in to edit"
        selected = self.records.selection_count() if self.records.active else 0
        detail = self.pane.shown_detail()
        for action, enabled, tip in (
            (self.act_set_field, selected > 0, f"Set one field on the {selected:,} selected rows"),
            (self.act_delete_selected, selected > 0, f"Delete the {selected:,} selected rows"),
            (self.act_clone, detail is not None and not detail.new and not detail.deleted,
             "Copy the record shown into your draft under a new id"),
        ):  # fmt: skip
            action.setEnabled(refusal is None and enabled)
            action.setToolTip(refusal or tip)

    # --- set a field ------------------------------------------------------------------------

    def set_field(self, *, field: str | None = None) -> SetFieldDialog | None:
        """Ask for a field and a value, then set it on every selected row in one step."""
        rtype = self.records.active
        ids = self.records.selected_ids()
        if self.controller is None or rtype is None or not ids or edit_refusal(self.actor):
            return None
        dialog = SetFieldDialog(rtype, len(ids), self.store, self.window, field=field)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return dialog
        self.apply(ids, dialog.field, dialog.value())
        return dialog

    def apply(self, human_ids: list[str], field: str, value: Any) -> None:
        """Set `field` to `value` on `human_ids` as one undoable edit."""
        if self.controller is None:
            return
        edit = UpdateMany(tuple((human_id, {field: value}) for human_id in human_ids))
        count = len(human_ids)

        def done(outcome: Any) -> None:
            self.pane.message.emit(
                f"Set {field_label(field).lower()} on {count:,} record(s) in {outcome.change_set}",
                8000,
            )

        # A refusal reaches the record pane through EditController.failed, which says why.
        self.controller.submit(edit, on_done=done)

    # --- delete -----------------------------------------------------------------------------

    def delete_selected(self) -> None:
        ids = self.records.selected_ids()
        if self.controller is None or not ids or edit_refusal(self.actor):
            return
        text = f"Stage the deletion of {len(ids):,} record(s) in your draft?"
        if not supports_discard():
            text += "\n\nThis deletion cannot be undone (it clears the undo history)."
        answer = QMessageBox.question(
            self.window,
            "Delete records",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        edit = Batch(tuple(Delete(h) for h in ids), label=f"Delete {len(ids):,} record(s)")
        self.controller.submit(edit)

    # --- clone ------------------------------------------------------------------------------

    def clone_record(self) -> None:
        """Copy the record shown into the draft and open the copy in the editor."""
        detail = self.pane.shown_detail()
        if self.controller is None or detail is None or detail.new or edit_refusal(self.actor):
            return

        def done(outcome: Any) -> None:
            if outcome.human_id:
                self._clone_pending = (outcome.human_id, detail.human_id)
                self.pane.message.emit(
                    f"{detail.human_id} cloned as {outcome.human_id} in {outcome.change_set}",
                    8000,
                )
                self.records.select_on_arrival(outcome.human_id)
                self.pane.open_record(outcome.human_id)

        self.controller.submit(Clone(detail.human_id), on_done=done)

    def _shown(self, human_id: str) -> None:
        if self._clone_pending is not None and human_id == self._clone_pending[0]:
            source = self._clone_pending[1]
            self._clone_pending = None
            self.pane.edit_record(cloned_from=source)
