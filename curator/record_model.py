"""The record table model: rows from `row_loading.TableData`, filtered and sorted as index lists.

A `QSortFilterProxyModel` over 100,000 rows takes seconds per keystroke, because it asks
`data()` for every cell (DESIGN §8). Here each row's search text is lower-cased once when the
rows arrive; a keystroke filters a list of row numbers with `in` on plain strings, and sorting
reorders that list, never the rows themselves (Anki's browser keeps ids and a row cache the
same way).

Search terms separated by spaces must all occur in the row (in any column). Column filters
match one column: `text` (contains), `=text` (equals), `!text` (does not contain).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from curator.qt_compat import emit
from kb.model.enums import RecordType
from kb.storage.rows import Cell, Column, TableData, search_line

_Index = QModelIndex | QPersistentModelIndex
HUMAN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FONT = Qt.ItemDataRole.FontRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
# How a row the curator's draft touches is marked: its id coloured, its text set in italic.
MARK_COLOURS = {"create": "#2e9d5b", "update": "#d9822b", "delete": "#d64545"}
MARK_WORDS = {"create": "new in your draft", "update": "changed in your draft",
              "delete": "deleted in your draft"}  # fmt: skip


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


class ColumnFilter:
    """One column's filter, parsed once: contains, equals (`=x`) or excludes (`!x`)."""

    def __init__(self, text: str) -> None:
        raw = text.strip().lower()
        self.text = text
        self.mode = "contains"
        if raw.startswith("="):
            self.mode, raw = "equals", raw[1:].strip()
        elif raw.startswith("!"):
            self.mode, raw = "excludes", raw[1:].strip()
        self.needle = raw

    def narrows(self, other: ColumnFilter | None) -> bool:
        """Whether every row this filter keeps, `other` (the previous filter) kept too."""
        if other is None:
            return True
        return self.mode == other.mode == "contains" and other.needle in self.needle

    def matches(self, value: str) -> bool:
        if self.mode == "equals":
            return value == self.needle
        if self.mode == "excludes":
            return self.needle not in value
        return self.needle in value


class RecordTableModel(QAbstractTableModel):
    """Rows of one record type; `visible` lists the row numbers shown, in display order."""

    counts_changed = Signal(int, int)  # visible, total

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._table: TableData | None = None
        self._columns: tuple[Column, ...] = ()
        self._rows: tuple[tuple[Cell, ...], ...] = ()
        self._haystack: list[str] = []
        self._column_text: dict[int, list[str]] = {}
        self._order: list[int] = []
        self._visible: list[int] = []
        self._terms: list[str] = []
        self._filters: dict[int, ColumnFilter] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._row_of_id: dict[str, int] = {}
        self._marks: dict[str, str] = {}
        # Column index -> {full text: short form}: a compact row (the full text is the tooltip).
        self._short: dict[int, Mapping[str, str]] = {}
        self._short_titles: dict[int, str] = {}

    # --- loading ---------------------------------------------------------------------------

    @property
    def table(self) -> TableData | None:
        return self._table

    @property
    def rtype(self) -> RecordType | None:
        return self._table.rtype if self._table else None

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_table(self, table: TableData) -> None:
        """Show new rows. A different record type starts unfiltered; a reload of the same type
        keeps the search, filters and sort the user had."""
        same_type = self._table is not None and self._table.rtype is table.rtype
        self.beginResetModel()
        self._table = table
        self._columns = table.columns
        self._rows = table.rows
        # One lower-cased string per row: the whole search index (built by the loader).
        self._haystack = (
            list(table.search_text)
            if len(table.search_text) == len(table.rows)
            else [search_line(row) for row in self._rows]
        )
        self._column_text = {}
        self._row_of_id = {str(row[0]): i for i, row in enumerate(self._rows)}
        if not same_type:
            self._terms, self._filters, self._sort = [], {}, None
        self._order = list(range(len(self._rows)))
        if self._sort is not None:
            self._order = self._sorted_order(*self._sort)
        self._visible = self._matching(self._order)
        self.endResetModel()
        self._emit_counts()

    def set_short_forms(
        self, forms: Mapping[int, Mapping[str, str]], titles: Mapping[int, str] | None = None
    ) -> None:
        """Show some columns' values (and titles) in short forms ("1L" for "first line");
        search and sort still see the full words, and the tooltips say them."""
        self._short = dict(forms)
        self._short_titles = dict(titles or {})
        emit(self.headerDataChanged, Qt.Orientation.Horizontal, 0, max(len(self._columns) - 1, 0))
        if self._visible and self._columns:
            emit(
                self.dataChanged,
                self.index(0, 0),
                self.index(len(self._visible) - 1, len(self._columns) - 1),
                [_DISPLAY, _TOOLTIP],
            )

    def set_marks(self, marks: Mapping[str, str]) -> None:
        """Mark rows the draft changes: human id -> "create" | "update" | "delete"."""
        if dict(marks) == self._marks:
            return
        self._marks = dict(marks)
        if self._visible and self._columns:
            emit(
                self.dataChanged,
                self.index(0, 0),
                self.index(len(self._visible) - 1, len(self._columns) - 1),
                [_FONT, _FOREGROUND, _TOOLTIP],
            )

    # --- searching and filtering -------------------------------------------------------------

    def set_search(self, text: str) -> None:
        terms = text.lower().split()
        if terms == self._terms:
            return
        narrower = len(terms) >= len(self._terms) and all(
            old in new for old, new in zip(self._terms, terms, strict=False)
        )
        self._terms = terms
        self._refilter(narrower)

    def search_text(self) -> str:
        return " ".join(self._terms)

    def set_column_filter(self, column: int, text: str) -> None:
        if not 0 <= column < len(self._columns):
            return
        previous = self._filters.get(column)
        new = ColumnFilter(text) if text.strip() else None
        if (new is None and previous is None) or (
            new is not None and previous is not None and new.text == previous.text
        ):
            return
        if new is None:
            del self._filters[column]
            narrower = False
        else:
            self._filters[column] = new
            narrower = new.narrows(previous)
        self._refilter(narrower)

    def column_filters(self) -> dict[int, str]:
        return {column: f.text for column, f in self._filters.items()}

    def clear_filters(self) -> None:
        if not self._terms and not self._filters:
            return
        self._terms, self._filters = [], {}
        self._refilter(False)

    def _refilter(self, narrower: bool) -> None:
        # Typing one more letter can only drop rows: scan what is shown, not all rows.
        base = self._visible if narrower else self._order
        self.beginResetModel()
        self._visible = self._matching(base)
        self.endResetModel()
        self._emit_counts()

    def _column_values(self, column: int) -> list[str]:
        values = self._column_text.get(column)
        if values is None:
            values = [_text(row[column]).lower() for row in self._rows]
            self._column_text[column] = values
        return values

    def _matching(self, base: list[int]) -> list[int]:
        rows = base
        haystack = self._haystack
        for term in self._terms:
            rows = [i for i in rows if term in haystack[i]]
        for column, column_filter in self._filters.items():
            values = self._column_values(column)
            if column_filter.mode == "contains":
                needle = column_filter.needle
                rows = [i for i in rows if needle in values[i]]
            else:
                rows = [i for i in rows if column_filter.matches(values[i])]
        return rows if rows is not base else list(base)

    # --- sorting ---------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        emit(self.layoutAboutToBeChanged)
        old_visible = self._visible
        persistent = self.persistentIndexList()
        old_rows = [old_visible[p.row()] if p.row() < len(old_visible) else -1 for p in persistent]
        self._sort = (column, order)
        self._order = self._sorted_order(column, order)
        shown = set(old_visible)
        self._visible = [i for i in self._order if i in shown]
        position = {row: n for n, row in enumerate(self._visible)}
        for index, row in zip(persistent, old_rows, strict=True):
            self.changePersistentIndex(
                index, self.index(position.get(row, -1), index.column())
                if row in position else QModelIndex()
            )  # fmt: skip
        emit(self.layoutChanged)

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> list[int]:
        rows = self._rows
        if self._columns[column].numeric:
            keys: list[Any] = [
                (row[column] is None, row[column] if isinstance(row[column], int) else 0)
                for row in rows
            ]
        else:
            values = self._column_values(column)
            keys = [(not values[i], values[i]) for i in range(len(rows))]
        # Python's sort is stable: equal keys keep human-id order in both directions.
        reverse = order == Qt.SortOrder.DescendingOrder
        return sorted(range(len(rows)), key=keys.__getitem__, reverse=reverse)

    def sort_state(self) -> tuple[int, Qt.SortOrder] | None:
        return self._sort

    # --- lookups ---------------------------------------------------------------------------

    def human_id_at(self, row: int) -> str | None:
        if 0 <= row < len(self._visible):
            return str(self._rows[self._visible[row]][0])
        return None

    def title_of(self, human_id: str) -> str | None:
        index = self._row_of_id.get(human_id)
        if index is None or self._table is None:
            return None
        return self._table.titles[index]

    def row_of(self, human_id: str) -> int | None:
        """The visible row showing `human_id`, if it is shown."""
        index = self._row_of_id.get(human_id)
        if index is None:
            return None
        try:
            return self._visible.index(index)
        except ValueError:
            return None

    def contains(self, human_id: str) -> bool:
        return human_id in self._row_of_id

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def visible_count(self) -> int:
        return len(self._visible)

    def _emit_counts(self) -> None:
        emit(self.counts_changed, len(self._visible), len(self._rows))

    # --- the Qt model contract -----------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._visible) and 0 <= column < len(self._columns)):
            return None
        if role in (_DISPLAY, _TOOLTIP):
            cell = self._rows[self._visible[row]][column]
            if role == _TOOLTIP:
                mark = self._marks.get(str(self._rows[self._visible[row]][0]))
                if mark is not None and column == 0:
                    return MARK_WORDS[mark]
                text = _text(cell)
                short = self._short.get(column)
                if short is not None and short.get(text, text) != text:
                    return text
                # Only long cells need a tooltip: the rest are fully visible.
                return text if len(text) > 40 else None
            short = self._short.get(column)
            if short is not None and isinstance(cell, str):
                return short.get(cell, cell)
            return cell
        if role in (_FONT, _FOREGROUND) and self._marks:
            mark = self._marks.get(str(self._rows[self._visible[row]][0]))
            if mark is None:
                return None
            if role == _FOREGROUND:
                return QColor(MARK_COLOURS[mark]) if column == 0 else None
            font = QFont()
            font.setItalic(True)
            font.setStrikeOut(mark == "delete")
            return font
        if role == HUMAN_ID_ROLE:
            return str(self._rows[self._visible[row]][0])
        if role == _ALIGN and self._columns[column].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == _DISPLAY:
            return self._short_titles.get(section, self._columns[section].title)
        if role == _TOOLTIP:
            return f"Sort by {self._columns[section].title.lower()}"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
