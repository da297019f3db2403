"""The "Change sets" page: a reviewer's queue above the change set shown side by side.

`SCREEN` plugs into the main window (curator/extension.py): it adds this page, the Review menu
(queue, record history, compare versions) and a History button in the record pane. Everything
else lives here, in curator/change_set_view.py and curator/history_view.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curator.change_set_view import ChangeSetView, counts_text
from curator.extension import Host, Screen
from curator.icons import icon
from curator.qt_compat import emit
from curator.table_model import ReadOnlyTableModel
from curator.workers import CancelToken, Task, TaskFailure, Workers
from kb.model.enums import ChangeOp, ChangeSetStatus
from kb.model.orm import Change, ChangeSet, User
from kb.review.users import Actor
from kb.storage.db import Kb

_Index = QModelIndex | QPersistentModelIndex
HUMAN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
REVIEW_KEY = "change_sets"

# (label, statuses shown); the first is the reviewer's queue.
FILTERS: tuple[tuple[str, frozenset[ChangeSetStatus]], ...] = (
    ("Waiting for review", frozenset({ChangeSetStatus.SUBMITTED})),
    ("Drafts", frozenset({ChangeSetStatus.DRAFT})),
    ("Merged", frozenset({ChangeSetStatus.MERGED, ChangeSetStatus.APPROVED})),
    ("Rejected", frozenset({ChangeSetStatus.REJECTED})),
    ("All", frozenset(ChangeSetStatus)),
)


@dataclass(frozen=True, slots=True)
class QueueRow:
    human_id: str
    title: str
    status: ChangeSetStatus
    author: str
    created_at: str
    submitted_at: str | None
    decided_at: str | None
    base_version: int
    merged_version: int | None
    counts: Mapping[ChangeOp, int]

    @property
    def newest(self) -> str:
        """When it last moved (submitted, else created): the queue's newest-first order."""
        return self.submitted_at or self.created_at

    @property
    def status_text(self) -> str:
        if self.status is ChangeSetStatus.MERGED and self.merged_version:
            return f"merged → v{self.merged_version}"
        return self.status.value


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def load_queue(session: Session) -> list[QueueRow]:
    """Every change set with its counts of changes, newest first.

    Counts come from one grouped query rather than `kb.changes.list_change_sets`, which loads
    every change: a 100,000-row import would make the list take seconds to appear.
    """
    counts: dict[str, dict[ChangeOp, int]] = {}
    for change_set_id, op, number in session.execute(
        select(Change.change_set_id, Change.op, func.count()).group_by(
            Change.change_set_id, Change.op
        )
    ):
        counts.setdefault(change_set_id, {})[ChangeOp(op)] = number
    query = select(
        ChangeSet.id,
        ChangeSet.human_id,
        ChangeSet.title,
        ChangeSet.status,
        User.name,
        ChangeSet.created_at,
        ChangeSet.submitted_at,
        ChangeSet.decided_at,
        ChangeSet.base_version,
        ChangeSet.merged_version,
    ).join(User, User.id == ChangeSet.author_id)
    rows = [
        QueueRow(
            human_id,
            title,
            ChangeSetStatus(status),
            author,
            _iso(created) or "",
            _iso(submitted),
            _iso(decided),
            base,
            merged,
            counts.get(cs_id, {}),
        )
        for cs_id, human_id, title, status, author, created, submitted, decided, base, merged
        in session.execute(query)
    ]  # fmt: skip
    rows.sort(key=lambda row: (row.newest, row.human_id), reverse=True)
    return rows


class ChangeSetListModel(ReadOnlyTableModel):
    """Change sets of the statuses chosen, newest first."""

    HEADERS = ("Change set", "Title", "Status", "Author", "Submitted", "Changes", "Base")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.all_rows: list[QueueRow] = []
        self.rows: list[QueueRow] = []
        self.statuses: frozenset[ChangeSetStatus] = FILTERS[0][1]

    def set_rows(self, rows: Sequence[QueueRow]) -> None:
        self.beginResetModel()
        self.all_rows = list(rows)
        self.rows = [row for row in self.all_rows if row.status in self.statuses]
        self.endResetModel()

    def set_statuses(self, statuses: frozenset[ChangeSetStatus]) -> None:
        self.beginResetModel()
        self.statuses = statuses
        self.rows = [row for row in self.all_rows if row.status in statuses]
        self.endResetModel()

    def count(self, statuses: frozenset[ChangeSetStatus]) -> int:
        return sum(1 for row in self.all_rows if row.status in statuses)

    def row_of(self, human_id: str) -> int | None:
        for number, row in enumerate(self.rows):
            if row.human_id == human_id:
                return number
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == HUMAN_ID_ROLE:
            return row.human_id
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 2:
            return QColor(
                {
                    ChangeSetStatus.SUBMITTED: "#d9822b",
                    ChangeSetStatus.MERGED: "#2e9d5b",
                    ChangeSetStatus.REJECTED: "#d64545",
                }.get(row.status, "#7b8794")
            )
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return row.title
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match index.column():
            case 0:
                return row.human_id
            case 1:
                return row.title
            case 2:
                return row.status_text
            case 3:
                return row.author
            case 4:
                return (row.submitted_at or "").replace("T", " ") or "—"
            case 5:
                return counts_text(row.counts)
            case 6:
                return f"v{row.base_version}"
        return None


class ReviewPage(QWidget):
    """The queue of change sets (filtered by status) and the one selected, side by side."""

    listed = Signal()
    merged = Signal(int)
    acted = Signal(object)
    open_record = Signal(str)
    queue_counted = Signal(int)  # how many wait for review

    def __init__(
        self, kb: Kb, actor: Actor | None, workers: Workers, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("review_page")
        # Small enough not to hold the main window open wider or taller than the tables need;
        # the splitters share out whatever room there is.
        self.setMinimumSize(140, 160)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self._task: Task | None = None
        self._select: str | None = None
        self.filter = QComboBox()
        self.filter.setObjectName("status_filter")
        for label, statuses in FILTERS:
            self.filter.addItem(label, statuses)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        self.filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.count_label = QLabel()
        self.count_label.setObjectName("queue_count")
        refresh = QToolButton()
        refresh.setIcon(icon("reload"))
        refresh.setToolTip("Read the change sets again")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        top.addWidget(self.count_label, 1)
        top.addWidget(refresh)
        self.model = ChangeSetListModel(self)
        self.table = QTableView()
        self.table.setObjectName("change_sets")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.view = ChangeSetView(kb, actor, workers, self)
        self.view.merged.connect(lambda version: emit(self.merged, version))
        self.view.acted.connect(self._acted)
        self.view.open_record.connect(lambda human_id: emit(self.open_record, human_id))
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("review_splitter")
        list_part = QWidget()
        list_layout = QVBoxLayout(list_part)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addLayout(top)
        list_layout.addWidget(self.table)
        self.splitter.addWidget(list_part)
        self.splitter.addWidget(self.view)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setSizes([200, 640])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def refresh(self) -> None:
        """Read the list again (the main window calls this each time the page is shown:
        others submit and approve meanwhile)."""
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> list[QueueRow]:
            with kb.read() as session:
                return load_queue(session)

        self.count_label.setText("Loading change sets…")
        task = self.workers.read("change sets", work)
        task.finished.connect(lambda rows, t=task: self._arrived(t, rows))
        task.failed.connect(self._failed)
        self._task = task

    def show_change_set(self, human_id: str) -> None:
        """Select `human_id` in the list (switching to "All" if the filter hides it)."""
        self._select = human_id
        if self.model.row_of(human_id) is None and any(
            row.human_id == human_id for row in self.model.all_rows
        ):
            self.filter.setCurrentIndex(len(FILTERS) - 1)
        self._select_pending()
        self.view.load(human_id)

    def _arrived(self, task: Task, rows: list[QueueRow]) -> None:
        if task is not self._task:
            return
        current = self.view.key and self.view.detail and self.view.detail.change_set.human_id
        self.model.set_rows(rows)
        self._update_counts()
        if self._select:
            self._select_pending()
        elif current and self.model.row_of(current) is not None:
            self._select_row(current)
        emit(self.listed)

    def _failed(self, failure: TaskFailure) -> None:
        self.count_label.setText(f"Could not read the change sets: {failure.message}")

    def _update_counts(self) -> None:
        for number, (label, statuses) in enumerate(FILTERS):
            self.filter.setItemText(number, f"{label} ({self.model.count(statuses)})")
        waiting = self.model.count(FILTERS[0][1])
        shown = self.model.rowCount()
        self.count_label.setText(
            f"{shown} change set{'s' if shown != 1 else ''} · {waiting} waiting for review"
        )
        emit(self.queue_counted, waiting)

    def _filter_changed(self, number: int) -> None:
        statuses = self.filter.itemData(number)
        if isinstance(statuses, frozenset):
            self.model.set_statuses(statuses)
            self._update_counts()

    def _select_pending(self) -> None:
        if self._select and self.model.row_of(self._select) is not None:
            self._select_row(self._select)
            self._select = None

    def _select_row(self, human_id: str) -> None:
        row = self.model.row_of(human_id)
        if row is None:
            return
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        self.table.selectRow(row)
        selection.blockSignals(False)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        human_id = current.data(HUMAN_ID_ROLE) if current.isValid() else None
        if human_id and human_id != self.view.key:
            self.view.load(str(human_id))

    def _acted(self, outcome: object) -> None:
        emit(self.acted, outcome)
        self.refresh()


# --- wiring into the main window ---------------------------------------------------------------


@dataclass(slots=True)
class ReviewHooks:
    """What `install_review` added, for tests and other screens to reach."""

    review: ReviewPage
    menu: QMenu
    act_queue: QAction
    act_history: QAction
    act_diff: QAction
    history_button: QToolButton


def install_review(host: Host) -> ReviewHooks:
    """Add the change-set page, the Review menu and the record pane's History button."""
    from curator.history_view import DiffDialog, HistoryDialog

    window = host.as_widget()
    review = ReviewPage(host.kb, host.actor, host.workers)
    host.add_page(
        REVIEW_KEY, "Change sets", "change_set", review, wide=True,
        tip="Change sets: the review queue, side by side (Ctrl+Shift+C)",
    )  # fmt: skip
    review.queue_counted.connect(lambda n: host.set_page_count(REVIEW_KEY, n or None))
    # An approval makes a new KB version: every table, the version and the draft are read again.
    review.merged.connect(lambda _version: host.reload())
    review.acted.connect(lambda _outcome: host.reload_draft())
    # A conflict means the main line moved under the reviewer: show them the KB as it is now.
    review.view.conflicted.connect(host.reload)
    review.open_record.connect(host.navigate)

    def show_history() -> None:
        human_id = host.current_record()
        if human_id is None:
            host.show_message("Select a record on the main line to see its history")
            return
        dialog = HistoryDialog(host.kb, host.workers, human_id, window)
        dialog.open_change_set.connect(open_change_set)
        dialog.show()

    def open_change_set(human_id: str) -> None:
        host.show_view(REVIEW_KEY)
        review.show_change_set(human_id)

    def show_diff() -> None:
        DiffDialog(host.kb, host.workers, window).show()

    def action(text: str, slot: Callable[[], Any], shortcut: str, name: str, tip: str) -> QAction:
        act = QAction(text, window)
        act.setObjectName(name)
        act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        return host.add_action(act, menu="Review")

    act_queue = action(
        "Review queue",
        lambda: host.show_view(REVIEW_KEY),
        "Ctrl+Shift+C",
        "go_change_sets",
        "Change sets waiting for review",
    )
    act_history = action(
        "Record history…",
        show_history,
        "Ctrl+H",
        "record_history",
        "Every version of the selected record: who, when, what (Ctrl+H)",
    )
    act_diff = action(
        "Compare KB versions…",
        show_diff,
        "Ctrl+Shift+D",
        "compare_versions",
        "Records added, changed and removed between two KB versions",
    )
    act_queue.setIcon(icon("change_set"))
    act_history.setIcon(icon("audit"))

    def update_history(_human_id: object = None) -> None:
        human_id = host.current_record()
        act_history.setEnabled(human_id is not None)
        act_history.setToolTip(
            f"History of {human_id} (Ctrl+H)" if human_id
            else "Select a record on the main line to see its history"
        )  # fmt: skip

    host.record_shown.connect(update_history)
    host.table_loaded.connect(update_history)
    update_history()

    history_button = QToolButton()
    history_button.setObjectName("history_button")
    history_button.setDefaultAction(act_history)
    history_button.setText("History")
    history_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    history_button.setAutoRaise(True)
    host.add_record_button(history_button)
    return ReviewHooks(
        review, host.menu("Review"), act_queue, act_history, act_diff, history_button
    )


SCREEN = Screen("review", install_review)
