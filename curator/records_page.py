"""The records page: one record type's rows in a table, with search and column filters.

Rows are read by workers (a first page at once, then all of them) and kept per type, so going
back to a type shows it without reading again until the window reloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from curator.filter_bar import ColumnFilterBar
from curator.icons import icon
from curator.qt_compat import emit
from curator.record_detail import StagedChange
from curator.record_model import HUMAN_ID_ROLE, RecordTableModel
from curator.record_view import type_label
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import RecordType
from kb.storage.db import Kb
from kb.storage.rows import TABLES, TableData, load_first_page, load_table


class RecordsPage(QWidget):
    """The rows of the record type shown; the window says which type and which record."""

    loaded = Signal(str)  # "assertion:first" when a first page shows, "assertion" when all do
    counted = Signal(str, int)  # a record type value and all its rows, once all have arrived
    chosen = Signal(str)  # the human id of the row the user selected
    activated = Signal()  # a row double-clicked: edit it
    failed = Signal(str)  # why the rows could not be read
    type_shown = Signal(object)  # a RecordType whose columns were just set up

    def __init__(self, kb: Kb, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kb = kb
        self.workers = workers
        self.active: RecordType | None = None  # the type shown; None while another page is
        self.selected: str | None = None  # the record to keep selected across model resets
        self.context_actions: Sequence[QAction | None] = ()  # None: a separator
        self._tables: dict[RecordType, TableData] = {}
        self._task: Any = None
        self._pending: str | None = None
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search all columns…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.model = RecordTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("records")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Many rows at once (Shift / Ctrl): "Set field…", delete and the like act on all of them.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        vertical = self.table.verticalHeader()
        vertical.hide()
        # Fixed row heights: the view never measures 100,000 rows.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.filters = ColumnFilterBar(self.table)
        self.count_label = QLabel()
        self.count_label.setObjectName("count_label")
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        self.footer = footer = QHBoxLayout()
        footer.addWidget(self.count_label, 1)
        footer.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.search)
        layout.addWidget(self.filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        self.search.textChanged.connect(self.model.set_search)
        self.filters.filter_changed.connect(self.model.set_column_filter)
        self.model.counts_changed.connect(self._counts_changed)
        self.model.modelReset.connect(self._model_reset)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(lambda _index: emit(self.activated))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)

    # --- loading ------------------------------------------------------------------------------

    def show_type(self, rtype: RecordType) -> None:
        """Show `rtype`'s rows: at once if they were read before, else as they arrive."""
        self.active = rtype
        cached = self._tables.get(rtype)
        if cached is not None:
            self._set_table(cached)
            return
        columns, _ = TABLES[rtype]
        self._set_table(TableData(rtype, columns, (), (), 0), loading=True)
        self._load(rtype)

    def forget(self) -> None:
        """Drop the rows read so far: the next `show_type` reads them again."""
        self._tables.clear()

    def _load(self, rtype: RecordType) -> None:
        kb = self.kb

        def first_page(_progress: Callable[[int, int], None], _cancel: CancelToken) -> TableData:
            with kb.read() as session:
                return load_first_page(session, rtype)

        def everything(_progress: Callable[[int, int], None], cancel: CancelToken) -> TableData:
            with kb.read() as session:
                cancel.check()
                return load_table(session, rtype)

        if self._task is not None and not self._task.is_done:
            self._task.cancel()
        self.count_label.setText(f"Loading {type_label(rtype)}s…")
        # A first page shows at once; all rows (100,000 take about a second) replace it.
        first = self.workers.read(f"first {rtype}", first_page)
        first.finished.connect(self._first_page_arrived)
        task = self.workers.read(f"load {rtype}", everything, on_error=self._load_failed)
        task.finished.connect(lambda data, t=task: self._table_arrived(t, data))
        self._task = task

    def _first_page_arrived(self, data: TableData) -> None:
        if data.rtype in self._tables or self.active is not data.rtype:
            return  # all rows came first, or the user moved on
        self._set_table(data, loading=True)
        emit(self.loaded, f"{data.rtype.value}:first")

    def _table_arrived(self, task: object, data: TableData) -> None:
        self._tables[data.rtype] = data
        if task is self._task:
            self._task = None
        if self.active is data.rtype:
            self._set_table(data)
        emit(self.loaded, data.rtype.value)

    def _load_failed(self, failure: TaskFailure) -> None:
        self.count_label.setText(f"Could not read the KB: {failure.message}")
        emit(self.failed, failure.message)

    def _set_table(self, data: TableData, *, loading: bool = False) -> None:
        same = self.model.rtype is data.rtype
        self.model.set_table(data)
        if not same:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.filters.set_columns(data.columns, {})
            self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            self._size_columns(data)
            emit(self.type_shown, data.rtype)
        if loading:
            shown = f" (showing the first {len(data):,})" if len(data) else ""
            self.count_label.setText(f"Loading all {type_label(data.rtype)}s…{shown}")
        if self._pending:
            self.select(self._pending)

    def _size_columns(self, data: TableData) -> None:
        header = self.table.horizontalHeader()
        metrics = self.fontMetrics()
        stretch, used = None, 0
        for index, column in enumerate(data.columns):
            header.setSectionResizeMode(index, QHeaderView.ResizeMode.Interactive)
            if column.stretch:
                stretch = index
                continue
            # Width from the header and a sample of rows: measuring every row would cost
            # seconds at 100,000 rows.
            sample = [str(row[index] or "") for row in data.rows[:200]]
            widest = max([column.title, *sample], key=len)
            width = min(metrics.horizontalAdvance(widest) + 24, 220)
            header.resizeSection(index, width)
            used += width
        if stretch is not None:
            # The main text column takes what is left, but never less than a readable width.
            spare = self.table.viewport().width() - used - 2
            header.resizeSection(stretch, max(spare, 280))
        self.filters.place()

    # --- what the user sees -------------------------------------------------------------------

    def set_marks(self, staged: Mapping[str, StagedChange]) -> None:
        """Mark the rows the curator's draft changes."""
        self.model.set_marks({hid: change.op.value for hid, change in staged.items()})

    def _counts_changed(self, visible: int, total: int) -> None:
        rtype = self.model.rtype
        noun = type_label(rtype) + "s" if rtype else "records"
        if visible == total:
            self.count_label.setText(f"{total:,} {noun}")
        else:
            self.count_label.setText(f"{visible:,} of {total:,} {noun}")
        self.clear_button.setEnabled(visible != total or bool(self.search.text()))
        table = self.model.table
        if rtype is not None and table and table.complete:
            emit(self.counted, rtype.value, total)

    def _model_reset(self) -> None:
        # Keep the record the user is looking at selected when it is still shown.
        if self.selected:
            row = self.model.row_of(self.selected)
            if row is not None:
                self.table.selectionModel().blockSignals(True)
                self.table.selectRow(row)
                self.table.selectionModel().blockSignals(False)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def clear_filters(self) -> None:
        self.search.clear()
        self.filters.clear()
        self.model.clear_filters()

    def set_column_filter(self, key: str, text: str) -> None:
        """Filter the shown table's column `key` (e.g. "tumour_types") to `text`."""
        for index, column in enumerate(self.model.columns):
            if column.key == key and index < len(self.filters.edits):
                self.filters.edits[index].setText(text)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        human_id = current.data(HUMAN_ID_ROLE)
        if human_id and human_id != self.selected:
            emit(self.chosen, str(human_id))

    def selection_count(self) -> int:
        return sum(span.height() for span in self.table.selectionModel().selection())

    def selected_ids(self) -> list[str]:
        """The human ids of the selected rows, in the order shown. Read from the selection's
        ranges, not one index per row, so a select-all of 100,000 rows stays cheap."""
        rows: set[int] = set()
        for span in self.table.selectionModel().selection():
            rows.update(range(span.top(), span.bottom() + 1))
        found = (self.model.human_id_at(row) for row in sorted(rows))
        return [human_id for human_id in found if human_id is not None]

    def keep_selected(self, human_id: str) -> None:
        """`human_id` is the record shown beside the table: keep its row selected."""
        self.selected = human_id

    def select_on_arrival(self, human_id: str) -> None:
        """Select `human_id` once its type's rows are shown."""
        self._pending = human_id

    def select(self, human_id: str) -> None:
        """Select and show the row of `human_id`, clearing filters that hide it."""
        row = self.model.row_of(human_id)
        if row is None and self.model.contains(human_id):
            self.clear_filters()
            row = self.model.row_of(human_id)
        if row is None:
            return
        self._pending = None
        self.table.selectionModel().blockSignals(True)
        self.table.selectRow(row)
        self.table.selectionModel().blockSignals(False)
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def _context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))
