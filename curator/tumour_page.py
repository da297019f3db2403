"""The tumour types page: the loaded OncoTree as a tree, searchable by code or name.

Choosing a code describes it (its ancestors as links, and a link to the assertions naming it);
the window shows the description in the record pane.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from curator.qt_compat import emit
from curator.record_view import TUMOUR_SCHEME
from curator.tumour_tree_model import CODE_ROLE, TumourTreeFilter, TumourTreeModel
from curator.workers import CancelToken, TaskFailure, Workers
from kb.storage.db import Kb
from kb.storage.rows import TumourTypeData, TumourTypeEntry, load_tumour_types

TUMOUR_VIEW = "tumour"


class TumourPage(QWidget):
    """The OncoTree codes the KB holds, read off the UI thread the first time it is shown."""

    loaded = Signal(int)  # how many tumour types arrived
    described = Signal(str)  # HTML about the code the user chose
    failed = Signal(str)  # why the codes could not be read

    def __init__(self, kb: Kb, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kb = kb
        self.workers = workers
        self.is_loaded = False
        self._pending: str | None = None
        self.search = QLineEdit()
        self.search.setObjectName("tumour_search")
        self.search.setPlaceholderText("Find an OncoTree code or name…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.model = TumourTreeModel(self)
        self.filter_model = TumourTreeFilter(self)
        self.filter_model.setSourceModel(self.model)
        self.tree = QTreeView()
        self.tree.setObjectName("tumour_tree")
        self.tree.setModel(self.filter_model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.label = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.label)
        self.search.textChanged.connect(self._search)
        self.tree.selectionModel().currentChanged.connect(self._selected)

    def load(self) -> None:
        """Read the tumour types."""
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> TumourTypeData:
            with kb.read() as session:
                return load_tumour_types(session)

        self.label.setText("Loading OncoTree…")
        self.workers.read(
            "load tumour types", work, on_result=self._arrived, on_error=self._load_failed
        )

    def forget(self) -> None:
        """The tree is out of date: the next time it is shown it is read again."""
        self.is_loaded = False

    def _arrived(self, data: TumourTypeData) -> None:
        self.is_loaded = True
        self.model.set_data(data)
        self.tree.expandToDepth(1)
        count = len(data.entries)
        self.label.setText(
            f"{count:,} tumour types from {data.release}" if data.release else
            "No OncoTree loaded: load one with `kb vocab load oncotree FILE`"
        )  # fmt: skip
        if self._pending:
            self.select(self._pending)
        emit(self.loaded, count)

    def _load_failed(self, failure: TaskFailure) -> None:
        self.label.setText(f"Could not read the KB: {failure.message}")
        emit(self.failed, failure.message)

    def _search(self, text: str) -> None:
        self.filter_model.setFilterFixedString(text.strip())
        if text.strip():
            self.tree.expandAll()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def select(self, code: str) -> None:
        """Select `code` in the tree (once the tree has arrived)."""
        if not self.is_loaded:
            self._pending = code
            return
        self._pending = None
        self.search.clear()
        source = self.model.index_of(code)
        index = self.filter_model.mapFromSource(source)
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        code = current.data(CODE_ROLE) if current.isValid() else None
        entry = self.model.entry(str(code)) if code else None
        if entry is not None:
            emit(self.described, self.describe(entry))

    def describe(self, entry: TumourTypeEntry) -> str:
        """HTML for the record pane: `entry`, its ancestors as links, and who names it."""
        path = []
        parent = entry.parent
        while parent:
            path.append(parent)
            parent_entry = self.model.entry(parent)
            parent = parent_entry.parent if parent_entry else None
        trail = " › ".join(
            f"<a href='{TUMOUR_SCHEME}:{p}'>{html.escape(p)}</a>" for p in reversed(path)
        )
        uses = (
            f"<p><a href='filter:assertion/tumour_types/{html.escape(entry.code)}'>Show the "
            f"assertions naming {html.escape(entry.code)}</a> ({entry.uses} uses in assertions "
            "and trial arms)</p>"
            if entry.uses
            else "<p>No assertion or trial arm names this code.</p>"
        )
        return (
            f"<h3>{html.escape(entry.code)} — {html.escape(entry.name)}</h3>"
            f"<p>{trail}</p><table>"
            f"<tr><td>Main type&nbsp;&nbsp;</td><td>{html.escape(entry.main_type or '—')}</td></tr>"
            f"<tr><td>Tissue</td><td>{html.escape(entry.tissue or '—')}</td></tr>"
            f"<tr><td>Level</td><td>{entry.level}</td></tr></table>{uses}"
        )
