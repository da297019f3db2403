"""The home screen: the KB at a glance, first in the navigator.

Counts of records by type and change sets by status; the user's own open change sets and
their review queue (double-click or Enter opens one on the Change sets page); the newest
versions and releases; charts of assertions by evidence level and by tumour type and of changes
merged per week. The figures come from kb.review.overview, read off the UI thread each time the
page is shown or the KB changes (curator/live_state.py).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from curator.charts import BarChart
from curator.extension import Host, Screen, fill_scrolling
from curator.qt_compat import emit
from curator.workers import CancelToken, TaskFailure, Workers
from kb.review.overview import ChangeSetItem, HomeSummary, home_summary
from kb.review.users import Actor, Permission, can
from kb.storage.db import Kb

HOME_KEY = "home"
_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_SHOWN_TYPES = (
    ("assertion", "Assertions"),
    ("biomarker", "Biomarkers"),
    ("therapy", "Therapies"),
    ("trial", "Trials"),
    ("evidence_item", "Evidence items"),
    ("gene", "Genes"),
    ("citation", "Citations"),
    ("drug", "Drugs"),
)


def _item_text(item: ChangeSetItem, *, author: bool) -> str:
    who = f" · {item.author}" if author else ""
    title = f" “{item.title}”" if item.title else ""
    return (
        f"{item.human_id}{title} — {item.status}, {item.changes} change"
        f"{'s' if item.changes != 1 else ''}{who} · {item.when}"
    )


class HomePage(QWidget):
    """The home screen's widgets; `refresh` reads the figures again."""

    loaded = Signal(object)  # HomeSummary
    open_change_set = Signal(str)

    def __init__(self, kb: Kb, actor: Actor | None, workers: Workers) -> None:
        super().__init__()
        self.setObjectName("home_page")
        self.kb, self.actor, self.workers = kb, actor, workers
        self.summary: HomeSummary | None = None
        self.heading = QLabel("Reading the KB…")
        self.heading.setObjectName("home_heading")
        self.heading.setWordWrap(True)
        self.counts = QLabel()
        self.counts.setObjectName("home_counts")
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.mine = self._list("home_mine")
        self.queue = self._list("home_queue")
        self.history = self._list("home_history")
        self.history.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.by_level = BarChart("Assertions by evidence level")
        self.by_tumour = BarChart("Assertions by tumour type (top 10)")
        self.per_week = BarChart("Changes merged per week", horizontal=False)

        self.mine_box = self._box("My change sets", self.mine)
        self.queue_box = self._box("Waiting for my review", self.queue)
        lists = QHBoxLayout()
        lists.addWidget(self.mine_box)
        lists.addWidget(self.queue_box)
        lists.addWidget(self._box("Recent versions and releases", self.history))
        charts = QHBoxLayout()
        for chart in (self.by_level, self.by_tumour, self.per_week):
            charts.addWidget(chart, 1)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(10)
        column.addWidget(self.heading)
        column.addWidget(self.counts)
        column.addLayout(lists)
        column.addLayout(charts, 1)
        fill_scrolling(self, inner)

    def _list(self, name: str) -> QListWidget:
        widget = QListWidget()
        widget.setObjectName(name)
        widget.setMinimumHeight(70)
        widget.setMaximumHeight(100)
        widget.setWordWrap(True)
        widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        widget.itemActivated.connect(self._activated)
        return widget

    @staticmethod
    def _box(title: str, widget: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        layout = QGridLayout(box)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(widget)
        return box

    def _activated(self, item: QListWidgetItem) -> None:
        human_id = item.data(_ID_ROLE)
        if human_id:
            emit(self.open_change_set, str(human_id))

    def refresh(self) -> None:
        kb, actor = self.kb, self.actor

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> HomeSummary:
            with kb.read() as session:
                return home_summary(session, actor)

        self.workers.read("home", work, on_result=self.show_summary, on_error=self._failed)

    def _failed(self, failure: TaskFailure) -> None:
        self.heading.setText(f"Could not read the KB: {failure.message}")

    def show_summary(self, summary: HomeSummary) -> None:
        self.summary = summary
        who = (
            f"Signed in as <b>{html.escape(self.actor.name)}</b> ({self.actor.role.value})"
            if (self.actor)
            else "Not signed in: browsing read-only"
        )
        self.heading.setText(f"<h2 style='margin:0'>KB version {summary.version}</h2>{who}")
        records = " &nbsp;·&nbsp; ".join(
            f"<b>{summary.records.get(key, 0):,}</b> {title.lower()}" for key, title in _SHOWN_TYPES
        )
        statuses = " &nbsp;·&nbsp; ".join(
            f"<b>{n}</b> {status}" for status, n in sorted(summary.change_sets.items())
        )
        self.counts.setText(f"{records}<br>Change sets: {statuses or 'none yet'}")
        self._fill(self.mine, summary.mine, author=False, empty=self._mine_empty())
        self._fill(
            self.queue,
            summary.review_queue,
            author=True,
            empty="Nothing waits for you" if self._reviews() else "Reviewers approve change sets",
        )
        self.history.clear()
        for release in summary.releases:
            self.history.addItem(
                f"Release {release.version} (version {release.kb_version}) · "
                f"{release.created_by} · {release.created_at}"
            )
        for version in summary.versions:
            source = f" from {version.change_set}" if version.change_set else ""
            self.history.addItem(
                f"Version {version.number}{source} · {version.created_by} · {version.created_at}"
            )
        self.by_level.set_bars(
            [
                (f"Level {level}" if level != "none" else "no level", n)
                for level, n in summary.by_level
            ]
        )
        self.by_tumour.set_bars(
            [(f"{name} ({code})", n) for code, name, n in summary.by_tumour],
        )
        self.per_week.set_bars(list(summary.per_week))
        emit(self.loaded, summary)

    def _reviews(self) -> bool:
        return self.actor is not None and can(self.actor, Permission.APPROVE)

    def _mine_empty(self) -> str:
        if self.actor is None:
            return "Sign in to curate"
        return "No open change sets: your first saved edit starts a draft"

    @staticmethod
    def _fill(
        widget: QListWidget, items: tuple[ChangeSetItem, ...], *, author: bool, empty: str
    ) -> None:
        widget.clear()
        for item in items:
            row = QListWidgetItem(_item_text(item, author=author))
            row.setData(_ID_ROLE, item.human_id)
            row.setToolTip(f"Open {item.human_id} (double-click)")
            widget.addItem(row)
        if not items:
            placeholder = QListWidgetItem(empty)
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            widget.addItem(placeholder)


def install_home(host: Host) -> HomePage:
    """Put the home screen first in the navigator; its open items lead to the Change sets page."""
    from curator.review_view import REVIEW_KEY, ReviewHooks

    page = HomePage(host.kb, host.actor, host.workers)
    host.add_page(
        HOME_KEY, "Home", "app", page, tip="The KB at a glance: counts, your work, charts",
        wide=True, first=True,
    )  # fmt: skip

    def open_change_set(human_id: str) -> None:
        host.show_view(REVIEW_KEY)
        host.installed(ReviewHooks).review.show_change_set(human_id)

    page.open_change_set.connect(open_change_set)
    return page


SCREEN = Screen("home", install_home)
