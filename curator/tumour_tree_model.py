"""The loaded OncoTree as a tree model (code, name, main type, uses).

OncoTree has about 900 nodes, so a recursive `QSortFilterProxyModel` filters it in a few
milliseconds; the 100,000-row argument against proxies (record_model.py) does not apply here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from kb.storage.rows import TumourTypeData, TumourTypeEntry

_Index = QModelIndex | QPersistentModelIndex
CODE_ROLE = Qt.ItemDataRole.UserRole + 1
_HEADERS = ("Code", "Name", "Main type", "Tissue", "Used by")


class _Node:
    __slots__ = ("children", "entry", "parent", "row")

    def __init__(self, entry: TumourTypeEntry | None, parent: _Node | None, row: int) -> None:
        self.entry = entry
        self.parent = parent
        self.row = row
        self.children: list[_Node] = []


class TumourTreeModel(QAbstractItemModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Node(None, None, 0)
        self._by_code: dict[str, _Node] = {}
        self.release: str | None = None

    def set_data(self, data: TumourTypeData) -> None:
        self.beginResetModel()
        self.release = data.release
        root = _Node(None, None, 0)
        by_code: dict[str, _Node] = {}
        # Entries arrive parents first (ordered by path); an orphan hangs from the root.
        for entry in data.entries:
            parent = by_code.get(entry.parent or "", root)
            node = _Node(entry, parent, len(parent.children))
            parent.children.append(node)
            by_code[entry.code] = node
        self._root, self._by_code = root, by_code
        self.endResetModel()

    def index_of(self, code: str) -> QModelIndex:
        node = self._by_code.get(code)
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def entry(self, code: str) -> TumourTypeEntry | None:
        node = self._by_code.get(code)
        return node.entry if node else None

    def codes(self) -> list[str]:
        return list(self._by_code)

    def _node(self, index: _Index) -> _Node:
        if index.isValid():
            node = index.internalPointer()
            assert isinstance(node, _Node)
            return node
        return self._root

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        node = self._node(parent)
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node = self._node(index).parent
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._node(index).entry
        if entry is None:
            return None
        if role == CODE_ROLE:
            return entry.code
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.code} — {entry.name}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match index.column():
            case 0:
                return entry.code
            case 1:
                return entry.name
            case 2:
                return entry.main_type or ""
            case 3:
                return entry.tissue or ""
            case 4:
                return entry.uses or ""
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return _HEADERS[section] if 0 <= section < len(_HEADERS) else None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class TumourTreeFilter(QSortFilterProxyModel):
    """Keeps nodes whose code or name contains the text, with their ancestors for context."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
