"""The draft dock: what the signed-in curator's draft change set holds, record by record.

Double-clicking a change opens its record; "Submit for review" hands the draft to reviewers
(kb validates it first and says what blocks it). The dock reads the draft and submits it
through workers, off the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from curator.icons import icon
from curator.qt_compat import emit
from curator.record_detail import StagedChange
from curator.table_model import ReadOnlyTableModel
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import ChangeOp
from kb.review.changes import (
    ChangeRow,
    ChangeSetRow,
    current_draft,
    discard_change_set,
    drop_change,
    submit_change_set,
)
from kb.review.users import Actor
from kb.storage.db import Kb
from kb.storage.rows import reference_titles

_Index = QModelIndex | QPersistentModelIndex
HUMAN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_OPS = {ChangeOp.CREATE: "new", ChangeOp.UPDATE: "changed", ChangeOp.DELETE: "deleted"}
_OP_COLOURS = {ChangeOp.CREATE: "#2e9d5b", ChangeOp.UPDATE: "#d9822b", ChangeOp.DELETE: "#d64545"}


@dataclass(frozen=True, slots=True)
class DraftData:
    change_set: ChangeSetRow | None
    titles: Mapping[str, str] = field(default_factory=dict)

    def staged(self) -> dict[str, StagedChange]:
        if self.change_set is None:
            return {}
        return {
            change.human_id: StagedChange(
                change.op, self.change_set.human_id, change.fields, change.before
            )
            for change in self.change_set.changes
        }


_UNLIMITED = 16_777_215  # QWIDGETSIZE_MAX


def load_draft(session: Session, actor: Actor) -> DraftData:
    draft = current_draft(session, actor)
    if draft is None:
        return DraftData(None)
    return DraftData(draft, reference_titles(session, [c.human_id for c in draft.changes]))


def _summary(change: ChangeRow) -> str:
    if change.op is ChangeOp.UPDATE:
        return ", ".join(
            f"{name}: {_short(change.before.get(name))} → {_short(value)}"
            for name, value in change.fields.items()
        )
    if change.op is ChangeOp.CREATE:
        return ", ".join(name for name, value in change.fields.items() if value not in (None, []))
    return "removed when merged"


def _short(value: Any) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text if len(text) <= 30 else text[:29] + "…"


class DraftChangesModel(ReadOnlyTableModel):
    HEADERS = ("Change", "Record", "Title", "Fields")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._changes: tuple[ChangeRow, ...] = ()
        self._titles: Mapping[str, str] = {}

    def set_draft(self, data: DraftData) -> None:
        self.beginResetModel()
        self._changes = data.change_set.changes if data.change_set else ()
        self._titles = data.titles
        self.endResetModel()

    def change_at(self, row: int) -> ChangeRow | None:
        return self._changes[row] if 0 <= row < len(self._changes) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._changes)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._changes):
            return None
        change = self._changes[index.row()]
        column = index.column()
        if role == HUMAN_ID_ROLE:
            return change.human_id
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(_OP_COLOURS[change.op])
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return _summary(change)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match column:
            case 0:
                return _OPS[change.op]
            case 1:
                return change.human_id
            case 2:
                return self._titles.get(change.human_id, change.record_type.value)
            case 3:
                return _summary(change)
        return None


class DraftDock(QDockWidget):
    """The curator's draft: read on request, shown change by change, submitted for review."""

    open_record = Signal(str)
    loaded = Signal(object)  # DraftData, each time the draft has been read
    submitted = Signal(str)  # the change set now waiting for review

    def __init__(
        self, kb: Kb, actor: Actor | None, workers: Workers, parent: QWidget | None = None
    ) -> None:
        super().__init__("Draft changes", parent)
        self.setObjectName("draft_dock")
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.model = DraftChangesModel(self)
        self.table = QTableView()
        self.table.setObjectName("draft_changes")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._open)
        self.table.activated.connect(self._open)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        self.heading = QLabel("No draft yet: your first saved edit starts one.")
        # The heading gives way to the buttons in a narrow window instead of widening it.
        self.heading.setMinimumWidth(1)
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.heading.setObjectName("draft_heading")
        self.submit_button = QPushButton(icon("submit"), "Submit for review…")
        self.submit_button.setObjectName("submit_button")
        self.submit_button.setEnabled(False)
        self.submit_button.clicked.connect(self._submit)
        self.drop_button = QPushButton(icon("undo"), "Drop change")
        self.drop_button.setObjectName("drop_change_button")
        self.drop_button.setToolTip("Take the selected record's change out of the draft")
        self.drop_button.setEnabled(False)
        self.drop_button.clicked.connect(self._drop_selected)
        self.discard_button = QPushButton(icon("delete"), "Discard draft…")
        self.discard_button.setObjectName("discard_button")
        self.discard_button.setEnabled(False)
        self.discard_button.clicked.connect(self._discard)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.drop_button)
        top.addWidget(self.discard_button)
        top.addWidget(self.submit_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.setWidget(body)
        self.body = body
        self.data = DraftData(None)
        self._may_submit: str | None = None

    def set_permission(self, reason_not: str | None) -> None:
        """None if the user may submit; else why not (shown as the button's tooltip)."""
        self._may_submit = reason_not
        self._update_button()

    def set_draft(self, data: DraftData) -> None:
        self.data = data
        self.model.set_draft(data)
        draft = data.change_set
        # With no draft the dock is one line: an empty table would take a third of a small
        # screen from the page above (reviewers rarely have a draft).
        grows = draft is not None and self.table.isHidden()
        self.table.setVisible(draft is not None)
        self.body.setMaximumHeight(
            _UNLIMITED if draft is not None else self.body.minimumSizeHint().height()
        )
        window = self.parentWidget()
        if grows and isinstance(window, QMainWindow) and not self.isFloating():
            window.resizeDocks([self], [170], Qt.Orientation.Vertical)
        if draft is None:
            self.heading.setText("No draft yet: your first saved edit starts one.")
            self.setWindowTitle("Draft changes")
        else:
            count = len(draft.changes)
            self.heading.setText(
                f"<b>{draft.human_id}</b> “{draft.title}” — {count} change"
                f"{'s' if count != 1 else ''}, based on KB version {draft.base_version}"
            )
            self.setWindowTitle(f"Draft changes ({count})")
        self._update_button()

    def _update_button(self) -> None:
        draft = self.data.change_set
        enabled = draft is not None and bool(draft.changes) and self._may_submit is None
        self.submit_button.setEnabled(enabled)
        self.discard_button.setEnabled(draft is not None and self._may_submit is None)
        self.discard_button.setToolTip(
            f"Give up {draft.human_id} for good (it stays on record, never merges)"
            if draft is not None
            else "No draft to discard"
        )
        self.drop_button.setEnabled(enabled and self.table.selectionModel().hasSelection())
        if self._may_submit:
            self.submit_button.setToolTip(self._may_submit)
        elif draft is None or not draft.changes:
            self.submit_button.setToolTip("The draft has no changes yet")
        else:
            self.submit_button.setToolTip(f"Send {draft.human_id} to a reviewer")

    def _open(self, index: QModelIndex) -> None:
        change = self.model.change_at(index.row())
        if change is not None:
            emit(self.open_record, change.human_id)

    def reload(self) -> None:
        """Read the draft again; `loaded` brings it (nothing for a reader not signed in)."""
        if self.actor is None:
            self.set_draft(DraftData(None))
            return
        kb, actor = self.kb, self.actor

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> DraftData:
            with kb.read() as session:
                return load_draft(session, actor)

        self.workers.read("draft", work, on_result=self._arrived)

    def _arrived(self, data: DraftData) -> None:
        self.set_draft(data)
        emit(self.loaded, data)

    def _submit(self) -> None:
        if self.data.change_set is not None:
            self.submit(self.data.change_set.human_id)

    def submit(self, change_set: str) -> None:
        """Send `change_set` to reviewers once the curator confirms."""
        if self.actor is None:
            return
        answer = QMessageBox.question(
            self,
            "Submit for review",
            f"Send {change_set} to a reviewer? You can withdraw it until it is decided.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        kb, actor = self.kb, self.actor

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> str:
            with kb.unit_of_work() as session:
                return submit_change_set(session, actor=actor, change_set_id=change_set).human_id

        def failed(failure: TaskFailure) -> None:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("Not submitted")
            box.setText(f"{change_set} was not submitted.")
            box.setInformativeText(failure.message)
            box.exec()

        def done(human_id: str) -> None:
            emit(self.submitted, human_id)

        self.workers.write(f"submit {change_set}", work, on_result=done, on_error=failed)

    def _drop_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        change = self.model.change_at(rows[0].row()) if rows else None
        if change is not None:
            self.drop(change.human_id)

    def drop(self, record: str) -> None:
        """Take `record`'s change out of the draft (kb.review.changes.drop_change)."""
        self._change_draft(
            "drop",
            "Not dropped",
            lambda session, actor, key: drop_change(
                session, actor=actor, change_set_id=key, record=record
            ),
        )

    def _discard(self) -> None:
        draft = self.data.change_set
        if draft is None:
            return
        answer = QMessageBox.question(
            self,
            "Discard draft",
            f"Discard {draft.human_id} “{draft.title}” and its {len(draft.changes)} change(s)? "
            "It stays on record as withdrawn and can never be merged.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.discard()

    def discard(self) -> None:
        """Give up the draft (kb.review.changes.discard_change_set) and read the state again."""
        self._change_draft(
            "discard",
            "Not discarded",
            lambda session, actor, key: discard_change_set(session, actor=actor, change_set_id=key),
        )

    def _change_draft(
        self, verb: str, refused: str, change: Callable[[Session, Actor, str], object]
    ) -> None:
        # One write on a worker, then the draft read again for the dock.
        draft = self.data.change_set
        if self.actor is None or draft is None:
            return
        kb, actor, key = self.kb, self.actor, draft.id

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> DraftData:
            with kb.unit_of_work() as session:
                change(session, actor, key)
            with kb.read() as session:
                return load_draft(session, actor)

        self.workers.write(
            f"{verb} {draft.human_id}",
            work,
            on_result=self._arrived,
            on_error=lambda failure: self._warn(refused, failure),
        )

    def _warn(self, title: str, failure: TaskFailure) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(title)
        box.setText(failure.message)
        box.open()
