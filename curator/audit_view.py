"""The "Audit log" page: who did what, newest first, a page at a time; and "Verify chain".

Events are read on a worker thread a page at a time ("Load more" reads the next, older page),
filtered by subject and action in the query, not in the table. "Verify chain" runs
kb.audit.verify_chain off the UI thread and shows its report: intact with the event count, or
the first event that does not fit and why. `SCREEN` plugs the page and Review ▸ Audit log
into the main window (curator/extension.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from curator.extension import Host, Screen
from curator.icons import icon
from curator.qt_compat import emit
from curator.table_model import ReadOnlyTableModel
from curator.theme import ERROR_COLOUR
from curator.workers import CancelToken, Task, TaskFailure, Workers
from kb.model.orm import AuditEvent
from kb.review.audit import ChainReport, EventRow, list_events, verify_chain
from kb.storage.db import Kb

_Index = QModelIndex | QPersistentModelIndex
AUDIT_KEY = "audit"
PAGE = 200
ALL_ACTIONS = ""
OK_COLOUR = "#2e9d5b"


@dataclass(frozen=True, slots=True)
class EventPage:
    events: tuple[EventRow, ...]
    more: bool  # older events match too
    actions: tuple[str, ...]  # every action in the log, for the filter


def load_events(
    session: Session,
    *,
    before: int | None = None,
    subject: str | None = None,
    action: str | None = None,
    limit: int = PAGE,
) -> EventPage:
    """Up to `limit` events older than `before`, newest first. `action` is one action
    ("record.update") or a family ("record.*").

    Without an action filter this is kb.audit.list_events; an action filter is applied in the
    query (list_events has none), so a page is always full when the log has more to show.
    """
    subject = subject.strip() if subject else None
    if not action:
        events = list_events(session, limit=limit + 1, before=before, subject=subject)
    else:
        query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(AuditEvent.seq < before)
        if subject:
            query = query.where(AuditEvent.subject == subject)
        if action.endswith(".*"):
            query = query.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
        events = [
            EventRow(e.seq, e.at, e.actor, e.action, e.subject, e.details or {}, e.hash)
            for e in session.scalars(query)
        ]
    actions = tuple(sorted(session.scalars(select(AuditEvent.action).distinct())))
    return EventPage(tuple(events[:limit]), len(events) > limit, actions)


def details_text(details: Any) -> str:
    """Compact one-line JSON, for the table cell."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


class AuditModel(ReadOnlyTableModel):
    HEADERS = ("#", "When (UTC)", "Actor", "Action", "Subject", "Details")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.events: list[EventRow] = []

    def set_events(self, events: tuple[EventRow, ...]) -> None:
        self.beginResetModel()
        self.events = list(events)
        self.endResetModel()

    def append_events(self, events: tuple[EventRow, ...]) -> None:
        if not events:
            return
        first = len(self.events)
        self.beginInsertRows(QModelIndex(), first, first + len(events) - 1)
        self.events.extend(events)
        self.endInsertRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.events)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.events):
            return None
        event, column = self.events[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            match column:
                case 0:
                    return event.seq
                case 1:
                    return event.at.replace("T", " ")[:19]
                case 2:
                    return event.actor
                case 3:
                    return event.action
                case 4:
                    return event.subject or "—"
                case 5:
                    text = details_text(event.details)
                    return text if len(text) <= 200 else text[:199] + "…"
            return None
        if role == Qt.ItemDataRole.ToolTipRole and column == 5:
            pretty = json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True)
            return f"{pretty[:4000]}\n\nhash {event.hash}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class AuditPage(QWidget):
    """The audit log, newest first, with filters, paging and the chain check."""

    loaded = Signal()
    verified = Signal(object)  # ChainReport

    def __init__(self, kb: Kb, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audit_page")
        self.setMinimumSize(140, 120)  # the main window, not this page, decides how small it gets
        self.kb = kb
        self.workers = workers
        self._task: Task | None = None
        self._more = False
        self.page_size = PAGE
        self.subject = QLineEdit()
        self.subject.setObjectName("audit_subject")
        self.subject.setPlaceholderText("Subject, e.g. AS-00001 or CS-00002  (Enter)")
        self.subject.setClearButtonEnabled(True)
        self.subject.returnPressed.connect(self.refresh)
        self.subject.textChanged.connect(self._subject_edited)
        self.action = QComboBox()
        self.action.setObjectName("audit_action")
        self.action.addItem("All actions", ALL_ACTIONS)
        self.action.setMinimumContentsLength(12)
        self.action.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.action.activated.connect(lambda _n: self.refresh())
        self.verify_button = QPushButton(icon("audit"), "Verify chain")
        self.verify_button.setObjectName("verify_chain")
        self.verify_button.setToolTip(
            "Recompute every event's hash and link: finds a changed, deleted or reordered event"
        )
        self.verify_button.clicked.connect(self.verify)
        self.report = QLabel()
        self.report.setObjectName("chain_report")
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.subject, 2)
        top.addWidget(self.action, 1)
        top.addStretch(1)
        top.addWidget(self.verify_button)
        self.model = AuditModel(self)
        self.table = QTableView()
        self.table.setObjectName("audit_events")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate((60, 150, 90, 150, 110)):
            header.resizeSection(column, width)
        self.count_label = QLabel()
        self.count_label.setObjectName("audit_count")
        self.more_button = QPushButton("Load more")
        self.more_button.setObjectName("load_more")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(self.load_more)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.more_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.report)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.report.hide()

    def _subject_edited(self, text: str) -> None:
        if not text:  # cleared (the clear button): show everything again at once
            self.refresh()

    def filters(self) -> tuple[str | None, str | None]:
        subject = self.subject.text().strip() or None
        action = self.action.currentData() or (self.action.currentText().strip() or None)
        if action == "All actions":
            action = None
        return subject, action

    def refresh(self) -> None:
        """Read the newest page again with the filters shown (the main window calls this each
        time the page is shown)."""
        self._load(before=None)

    def load_more(self) -> None:
        """Append the next, older page."""
        if self.model.events and self._more:
            self._load(before=self.model.events[-1].seq)

    def _load(self, *, before: int | None) -> None:
        kb, limit = self.kb, self.page_size
        subject, action = self.filters()

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> EventPage:
            with kb.read() as session:
                return load_events(
                    session, before=before, subject=subject, action=action, limit=limit
                )

        self.more_button.setEnabled(False)
        self.count_label.setText("Reading the audit log…")
        task = self.workers.read("audit events", work)
        task.finished.connect(lambda page, t=task: self._arrived(t, page, before is not None))
        task.failed.connect(self._failed)
        self._task = task

    def _arrived(self, task: Task, page: EventPage, appending: bool) -> None:
        if task is not self._task:
            return  # the filter changed while this page was read
        if appending:
            self.model.append_events(page.events)
        else:
            self.model.set_events(page.events)
        self._more = page.more
        self.more_button.setEnabled(page.more)
        self._set_actions(page.actions)
        shown = self.model.rowCount()
        subject, action = self.filters()
        what = " matching the filter" if subject or action else ""
        self.count_label.setText(
            f"{shown:,} event{'s' if shown != 1 else ''}{what} shown, newest first"
            + (" — older ones: Load more" if page.more else "")
        )
        emit(self.loaded)

    def _set_actions(self, actions: tuple[str, ...]) -> None:
        current = self.action.currentData()
        families = sorted({f"{a.split('.', 1)[0]}.*" for a in actions if "." in a})
        wanted = [ALL_ACTIONS, *families, *actions]
        have = [self.action.itemData(n) for n in range(self.action.count())]
        if have == wanted:
            return
        self.action.blockSignals(True)
        self.action.clear()
        self.action.addItem("All actions", ALL_ACTIONS)
        for name in families:
            self.action.addItem(f"{name[:-2]} (all)", name)
        for name in actions:
            self.action.addItem(name, name)
        index = self.action.findData(current)
        self.action.setCurrentIndex(max(index, 0))
        self.action.blockSignals(False)

    def set_action(self, action: str) -> None:
        """Filter to one action or family ("record.*"), as if picked from the list."""
        index = self.action.findData(action)
        if index < 0:
            self.action.addItem(action, action)
            index = self.action.count() - 1
        self.action.setCurrentIndex(index)
        self.refresh()

    def _failed(self, failure: TaskFailure) -> None:
        self.count_label.setText(f"Could not read the audit log: {failure.message}")

    def verify(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> ChainReport:
            with kb.read() as session:
                return verify_chain(session)

        self.verify_button.setEnabled(False)
        self.report.setStyleSheet("")
        self.report.setText("Verifying the audit chain…")
        self.report.show()
        self.workers.read(
            "verify audit chain", work, on_result=self._verified, on_error=self._verify_failed
        )

    def _verified(self, report: ChainReport) -> None:
        self.verify_button.setEnabled(True)
        if report.ok:
            self.report.setText(f"✔ Audit chain intact: {report.events:,} events verified.")
            self.report.setStyleSheet(f"color: {OK_COLOUR}; font-weight: bold;")
        else:
            self.report.setText(
                f"✘ Audit chain broken at event {report.first_bad_seq}: {report.problem}"
            )
            self.report.setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: bold;")
        emit(self.verified, report)

    def _verify_failed(self, failure: TaskFailure) -> None:
        self.verify_button.setEnabled(True)
        self.report.setText(f"Could not verify the chain: {failure.message}")
        self.report.setStyleSheet(f"color: {ERROR_COLOUR};")


# --- wiring into the main window ---------------------------------------------------------------


def install_audit_log(host: Host) -> AuditPage:
    """Add the audit log page and Review ▸ Audit log (Ctrl+Shift+A)."""
    page = AuditPage(host.kb, host.workers)
    host.add_page(
        AUDIT_KEY, "Audit log", "audit", page, wide=True,
        tip="The audit log, newest first, and its chain check (Ctrl+Shift+A)",
    )  # fmt: skip
    tip = "Who did what, newest first; verify the chain"
    action = QAction(icon("audit"), "Audit log", host.as_widget())
    action.setObjectName("go_audit")
    action.setShortcut(QKeySequence("Ctrl+Shift+A"))
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: host.show_view(AUDIT_KEY))
    host.add_action(action, menu="Review")
    return page


SCREEN = Screen("audit", install_audit_log)
