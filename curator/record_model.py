"""A table model over plain `RecordRow`s, with a precomputed lower-case text per row so that
search-as-you-type is a list scan rather than a proxy model walking every cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from kb.records import RecordRow

_Index = QModelIndex | QPersistentModelIndex


class RecordTableModel(QAbstractTableModel):
    HEADERS = ("ID", "Title", "Version")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[RecordRow] = []
        self._haystack: list[str] = []
        self._visible: list[int] = []
        self._filter = ""

    def set_rows(self, rows: Sequence[RecordRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._haystack = [f"{r.human_id} {r.title}".lower() for r in self._rows]
        self._visible = self._matching(self._filter)
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        self.beginResetModel()
        self._filter = text.strip().lower()
        self._visible = self._matching(self._filter)
        self.endResetModel()

    def _matching(self, needle: str) -> list[int]:
        if not needle:
            return list(range(len(self._rows)))
        return [i for i, text in enumerate(self._haystack) if needle in text]

    def row_at(self, row: int) -> RecordRow:
        return self._rows[self._visible[row]]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._visible)):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        record = self._rows[self._visible[index.row()]]
        match index.column():
            case 0:
                return record.human_id
            case 1:
                return record.title
            case 2:
                return record.kb_version
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
