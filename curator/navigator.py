"""The navigator: the window's views by group ("Knowledge", "Workflow"), each with a count."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from curator.icons import icon
from curator.qt_compat import emit

_KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class Navigator(QTreeWidget):
    """Groups of entries, each naming a view by key; choosing one emits `chosen(key)`."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navigator")
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.setRootIsDecorated(False)
        self.setIndentation(8)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.currentItemChanged.connect(self._changed)

    def add_entry(self, group: str, key: str, title: str, icon_name: str, tip: str = "") -> None:
        """Add `key` at the end of `group` (made after the other groups if new)."""
        top = self._groups.get(group)
        if top is None:
            top = QTreeWidgetItem([group])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.addTopLevelItem(top)
            self._groups[group] = top
        item = QTreeWidgetItem([title, ""])
        item.setIcon(0, icon(icon_name))
        item.setData(0, _KEY_ROLE, key)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        if tip:
            item.setToolTip(0, tip)
        top.addChild(item)
        top.setExpanded(True)
        self.items[key] = item

    def add_first(self, key: str, title: str, icon_name: str, tip: str = "") -> None:
        """Add `key` above every group (the home screen)."""
        item = QTreeWidgetItem([title, ""])
        item.setIcon(0, icon(icon_name))
        item.setData(0, _KEY_ROLE, key)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        if tip:
            item.setToolTip(0, tip)
        self.insertTopLevelItem(0, item)
        self.items[key] = item

    def set_count(self, key: str, count: int | None) -> None:
        """Show `count` beside `key` (None: nothing)."""
        item = self.items.get(key)
        if item is not None:
            item.setText(1, "" if count is None else f"{count:,}")

    def select(self, key: str) -> None:
        """Mark `key` as the view shown, without emitting `chosen`."""
        item = self.items.get(key)
        if item is not None and self.currentItem() is not item:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)

    def _changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        key = current.data(0, _KEY_ROLE) if current is not None else None
        if key:
            emit(self.chosen, str(key))
