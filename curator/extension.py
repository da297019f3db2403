"""How a screen plugs into the main window: the `Host` it may use and the `Screen` it declares.

A screen module (the review queue, releases, the import wizard, …) exposes one `SCREEN`;
curator/screens.py lists them and the window installs each by calling `SCREEN.install(host)`.
A screen types against `Host`, never against the window: it adds its actions, menus and pages
through the host, and the window never learns its insides. import-linter holds this: no curator
module but the app imports curator.main_window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QScrollArea, QToolButton, QVBoxLayout, QWidget

from curator.choices import ChoiceStore
from curator.settings import Settings
from curator.workers import Workers
from kb.review.users import Actor
from kb.storage.db import Kb

_T = TypeVar("_T")

# Menus keep this order whoever creates them first; a menu not named here goes before Help.
MENU_ORDER: tuple[str, ...] = ("File", "Edit", "View", "Release", "Review", "Tools", "Help")


class Host(Protocol):
    """What a screen may use of the main window, and nothing else."""

    @property
    def kb(self) -> Kb:
        """The open KB; read and write it through `workers`, never on the UI thread."""
        ...

    @property
    def actor(self) -> Actor | None:
        """Who is signed in (None: browsing read-only)."""
        ...

    @property
    def workers(self) -> Workers:
        """The window's worker threads: reads in parallel, writes one at a time."""
        ...

    @property
    def settings(self) -> Settings:
        """The user's settings."""
        ...

    @property
    def store(self) -> ChoiceStore:
        """Completion lists of records and OncoTree codes, shared by every editor."""
        ...

    @property
    def table_loaded(self) -> SignalInstance:
        """Emitted with a record type (or "tumour") whose rows just arrived."""
        ...

    @property
    def record_shown(self) -> SignalInstance:
        """Emitted with the human id now shown in the record pane."""
        ...

    @property
    def draft_loaded(self) -> SignalInstance:
        """Emitted when the curator's draft has been read again."""
        ...

    def as_widget(self) -> QWidget:
        """The window: the parent of a screen's dialogs and actions."""
        ...

    def menu(self, name: str) -> QMenu:
        """The menu `name` ("File", "Tools", …), made in its place in MENU_ORDER if new."""
        ...

    def add_action(
        self, action: QAction, *, menu: str | None = None, section: str | None = None
    ) -> QAction:
        """Give `action` the window's shortcuts and, with `menu`, a place at the end of that
        menu's `section` (a new section after the others if unknown; None: the last)."""
        ...

    def add_page(
        self,
        key: str,
        title: str,
        icon: str,
        widget: QWidget,
        *,
        tip: str = "",
        wide: bool = False,
        first: bool = False,
    ) -> None:
        """Add a navigator entry under "Workflow" (`first`: above every group) that shows
        `widget` for `key`; a page with a `refresh()` has it called whenever it is shown (and
        when the KB changes under it); a `wide` page hides the record pane."""
        ...

    def installed(self, kind: type[_T]) -> _T:
        """What an installed screen returned that is a `kind` (LookupError if none did)."""
        ...

    def set_page_count(self, key: str, count: int | None) -> None:
        """Show `count` beside the navigator entry `key` (None: nothing)."""
        ...

    def add_record_button(self, button: QToolButton) -> None:
        """Put `button` in the record pane's bar, before Edit."""
        ...

    def current_record(self) -> str | None:
        """The main-line record shown in the record pane (None: none, a new one, or editing)."""
        ...

    def navigate(self, human_id: str) -> None:
        """Go to a record by id: its type's table, its row, and its fields in the record pane."""
        ...

    def show_view(self, key: str) -> None:
        """Show the navigator entry `key`: a record type, "tumour", or a screen's page."""
        ...

    def reload(self) -> None:
        """Read the KB again: tables, the version and the draft (after a new KB version)."""
        ...

    def refresh(self) -> None:
        """Read the KB again after another user changed it, keeping the page and any edit."""
        ...

    def reload_draft(self) -> None:
        """Read the curator's draft again (after a screen staged changes in it)."""
        ...

    def show_draft(self) -> None:
        """Read the draft again and bring its dock to the front."""
        ...

    def show_message(self, text: str, msecs: int = 0) -> None:
        """Show `text` in the status bar (for `msecs`; 0: until replaced)."""
        ...


@dataclass(frozen=True, slots=True)
class Screen:
    """A screen's declaration, listed in curator/screens.py.

    `install` adds the screen's actions, menus and pages through the host and returns what
    tests and scripts may reach with the window's `installed(kind)`.
    """

    name: str
    install: Callable[[Host], object]


def fill_scrolling(page: QWidget, content: QWidget) -> QScrollArea:
    """Make `content` the whole of `page`, scrolling (without a frame) when the window is
    smaller than it: a page then never holds the main window at its own width."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(content)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll
