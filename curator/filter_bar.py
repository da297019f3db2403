"""A row of per-column filter boxes that sits under a table's header and follows its columns.

Each box filters its own column (contains; `=x` equals; `!x` excludes). The boxes are placed
over the header's sections, so they move when columns are resized or the table scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLineEdit, QTableView, QWidget

from curator.qt_compat import emit
from kb.storage.rows import Column


class ColumnFilterBar(QWidget):
    filter_changed = Signal(int, str)

    def __init__(self, table: QTableView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("column_filters")
        self.table = table
        self.edits: list[QLineEdit] = []
        self._height = QLineEdit().sizeHint().height()
        self.setFixedHeight(self._height)
        header = table.horizontalHeader()
        header.sectionResized.connect(self._schedule)
        header.sectionMoved.connect(self._schedule)
        header.geometriesChanged.connect(self._schedule)
        table.horizontalScrollBar().valueChanged.connect(self._schedule)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.place)

    def set_columns(self, columns: tuple[Column, ...], values: dict[int, str]) -> None:
        for edit in self.edits:
            edit.deleteLater()
        self.edits = []
        for index, column in enumerate(columns):
            edit = QLineEdit(self)
            edit.setObjectName(f"filter_{column.key}")
            edit.setPlaceholderText("filter…")
            edit.setToolTip(
                f"Filter {column.title.lower()}: text it contains; =text equals; !text excludes"
            )
            edit.setClearButtonEnabled(True)
            edit.setText(values.get(index, ""))
            edit.textChanged.connect(lambda text, i=index: emit(self.filter_changed, i, text))
            edit.show()
            self.edits.append(edit)
        self.place()

    def clear(self) -> None:
        for edit in self.edits:
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)

    def _schedule(self, *_args: object) -> None:
        self._timer.start()

    def place(self) -> None:
        header = self.table.horizontalHeader()
        # The header starts inside the table's frame (and after a vertical header, if shown).
        offset = self.table.frameWidth() + (
            self.table.verticalHeader().width() if self.table.verticalHeader().isVisible() else 0
        )
        for index, edit in enumerate(self.edits):
            if header.isSectionHidden(index):
                edit.hide()
                continue
            x = header.sectionViewportPosition(index) + offset
            width = header.sectionSize(index)
            edit.setGeometry(x, 0, max(width - 1, 0), self._height)
            edit.setVisible(x + width > offset and x < self.width())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.place()
