"""The part every read-only table in the app shares: fixed column titles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_Index = QModelIndex | QPersistentModelIndex


class ReadOnlyTableModel(QAbstractTableModel):
    """A flat, read-only table whose columns are titled by `HEADERS`.

    Gives the column count and the horizontal header; a subclass gives `rowCount` and `data`.
    Cells keep Qt's default flags: enabled and selectable, never editable. `HEADERS` may be set
    per instance when one class serves tables with different columns.
    """

    HEADERS: tuple[str, ...] = ()

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(self.HEADERS, section, orientation, role)


def column_title(
    headers: Sequence[str], section: int, orientation: Qt.Orientation, role: int
) -> str | None:
    """What a model's `headerData` shows: the column's title across the top, nothing else."""
    if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
        return None
    return headers[section] if 0 <= section < len(headers) else None
