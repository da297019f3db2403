"""The window's menus by name, each made of named sections, in a stable order.

The window and the screens fill the same menus without knowing who else does: a menu takes its
place from MENU_ORDER whoever creates it, and an action joins the end of a named section. A
section starts with a separator that Qt hides while the section is empty.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from curator.extension import MENU_ORDER


def _rank(name: str) -> float:
    if name in MENU_ORDER:
        return MENU_ORDER.index(name)
    return MENU_ORDER.index("Help") - 0.5


class Menus:
    """The menus of one menu bar, found or made by name ("File", "Tools", …)."""

    def __init__(self, bar: QMenuBar, parent: QWidget) -> None:
        self.bar = bar
        self.parent = parent
        self._menus: dict[str, QMenu] = {}
        # Per menu: its sections in order, each with the separator that starts it (None first).
        self._sections: dict[str, list[tuple[str, QAction | None]]] = {}

    def menu(self, name: str) -> QMenu:
        """The menu `name`, made and put in its place if it is new."""
        found = self._menus.get(name)
        if found is not None:
            return found
        menu = QMenu(f"&{name}", self.parent)
        menu.setObjectName(f"{name.lower()}_menu")
        later = [m for n, m in self._menus.items() if _rank(n) > _rank(name)]
        after = min(later, key=lambda m: self.bar.actions().index(m.menuAction()), default=None)
        if after is None:
            self.bar.addMenu(menu)
        else:
            self.bar.insertMenu(after.menuAction(), menu)
        self._menus[name] = menu
        self._sections[name] = []
        return menu

    def declare(self, name: str, *sections: str) -> None:
        """Make `sections` of menu `name` in this order, so that actions added later to an
        earlier one stay above a later one."""
        for section in sections:
            self._section(name, section)

    def add(self, name: str, item: QAction | QMenu, section: str | None = None) -> None:
        """Put `item` at the end of `section` of menu `name` (None: its last section)."""
        menu = self.menu(name)
        sections = self._sections[name]
        if section is None:
            section = sections[-1][0] if sections else ""
        number = self._section(name, section)
        action = item.menuAction() if isinstance(item, QMenu) else item
        start = sections[number + 1][1] if number + 1 < len(sections) else None
        if start is None:
            menu.addAction(action)
        else:
            menu.insertAction(start, action)

    def _section(self, name: str, section: str) -> int:
        menu = self.menu(name)
        sections = self._sections[name]
        for number, (known, _start) in enumerate(sections):
            if known == section:
                return number
        sections.append((section, menu.addSeparator() if sections else None))
        return len(sections) - 1
