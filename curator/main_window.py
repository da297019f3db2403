"""The main window: a navigator, the page it selects, and the record pane beside it.

The window composes its own parts (curator/records_page.py, tumour_page.py, record_pane.py,
draft_dock.py) and hosts the screens that curator/screens.py lists: each installs itself through
the `Host` protocol (curator/extension.py), which this window implements. Nothing here touches
the database on the UI thread: the parts read through workers (curator/workers.py) and receive
plain data by signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from curator.bulk_edit import BulkEditing
from curator.choices import ChoiceStore
from curator.draft_dock import DraftData, DraftDock
from curator.extension import Screen
from curator.icons import icon
from curator.list_layout import install_list_tools
from curator.menus import Menus
from curator.navigator import Navigator
from curator.qt_compat import emit
from curator.record_pane import RecordPane, edit_refusal
from curator.records_page import RecordsPage
from curator.screens import SCREENS
from curator.settings import Settings
from curator.status_bar import KbStatusBar, kb_label
from curator.theme import ThemeManager
from curator.tumour_page import TUMOUR_VIEW, TumourPage
from curator.undo import EditController
from curator.workers import CancelToken, Workers
from kb.model.enums import RecordType
from kb.model.records import type_of_human_id
from kb.review.integrity import IntegrityReport, check_integrity
from kb.review.users import Actor
from kb.storage.db import Kb
from kb.storage.meta import KbInfo, kb_info

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A navigator entry of the window's own: a record type, or the tumour tree."""

    key: str
    title: str
    icon: str


KNOWLEDGE: tuple[NavEntry, ...] = (
    NavEntry("assertion", "Assertions", "assertion"),
    NavEntry("biomarker", "Biomarkers", "biomarker"),
    NavEntry("expression", "Biomarker expressions", "expression"),
    NavEntry("threshold", "Thresholds", "threshold"),
    NavEntry("gene", "Genes", "gene"),
    NavEntry(TUMOUR_VIEW, "Tumour types", "tumour"),
    NavEntry("therapy", "Therapies", "therapy"),
    NavEntry("drug", "Drugs", "drug"),
    NavEntry("trial", "Clinical trials", "trial"),
    NavEntry("trial_arm", "Trial arms", "trial_arm"),
    NavEntry("approval", "Regulatory approvals", "approval"),
    NavEntry("citation", "Citations", "citation"),
    NavEntry("evidence_item", "Evidence items", "evidence_item"),
    NavEntry("oncogenicity", "Oncogenicity", "oncogenicity"),
    # After the rest: Ctrl+1..9 keep reaching the entries curators know them by.
    NavEntry("exon_map", "Exon maps", "exon_map"),
    NavEntry("level_scheme", "Level schemes", "level_scheme"),
    NavEntry("level_crosswalk", "Level crosswalks", "level_crosswalk"),
)
_RECORD_KEYS = frozenset(entry.key for entry in KNOWLEDGE) - {TUMOUR_VIEW}


_NAVIGATOR_WIDTH = 170  # the widest navigator label, "Biomarker expressions", and its count


class MainWindow(QMainWindow):
    """One KB, browsed and edited by one signed-in user (or read by nobody signed in)."""

    table_loaded = Signal(str)  # the record type (or "tumour") whose rows just arrived
    record_shown = Signal(str)  # the human id now in the record pane
    draft_loaded = Signal()
    open_requested = Signal(str)  # File ▸ Open / Recent: the app reopens on another KB
    switch_user_requested = Signal()

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        *,
        settings: Settings | None = None,
        theme: ThemeManager | None = None,
        info: KbInfo | None = None,
        start_view: str | None = None,
        owns_kb: bool = True,
        screens: Sequence[Screen] = SCREENS,
    ) -> None:
        super().__init__()
        self.kb = kb
        self.actor = actor
        self.settings = settings or Settings()
        self.theme = theme
        self.info = info
        self.owns_kb = owns_kb
        self.setObjectName("main_window")
        self.setWindowIcon(icon("app"))
        self.workers = Workers(self)
        self.store = ChoiceStore(kb, self.workers, self)
        self.controller = EditController(kb, actor, self.workers, self) if actor else None
        self.current_key = ""
        self.navigator = Navigator()
        for number, entry in enumerate(KNOWLEDGE, start=1):
            tip = f"{entry.title} (Ctrl+{number})" if number <= 9 else ""
            self.navigator.add_entry("Knowledge", entry.key, entry.title, entry.icon, tip)
        self.records = RecordsPage(kb, self.workers)
        self.columns, self.saved_filters = install_list_tools(
            self.records, self.settings, actor.name if actor else ""
        )
        self.tumours = TumourPage(kb, self.workers)
        self.record_pane = RecordPane(
            kb, actor, self.workers, store=self.store, controller=self.controller
        )
        self.pages = QStackedWidget()
        self.pages.addWidget(self.records)
        self.pages.addWidget(self.tumours)
        self._screen_pages: dict[str, QWidget] = {}
        self._wide_pages: list[QWidget] = []
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(self.navigator)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.record_pane)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([210, 760, 430])
        # Shown while the KB fails its integrity check (kb.review.integrity): kb refuses
        # edits, approvals and releases then, and the curator should know why before trying.
        self.integrity_banner = QLabel()
        self.integrity_banner.setObjectName("integrity_banner")
        self.integrity_banner.setWordWrap(True)
        self.integrity_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.integrity_banner.setStyleSheet(
            "QLabel#integrity_banner { background: #b3261e; color: white; padding: 6px 10px; }"
        )
        self.integrity_banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.integrity_banner)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.menus = Menus(self.menuBar(), self)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self.status_bar = KbStatusBar(kb, actor, self.workers, self)
        self.setStatusBar(self.status_bar)
        self._connect()
        self._installed = [screen.install(self) for screen in screens]
        self._update_permissions()
        self.resize(1400, 860)
        self._restore_window()
        self.show_view(start_view or self.settings.last_view())
        if self.info is None:
            self._load_info()
        else:
            self._show_info(self.info)
        self.reload_draft()

    # --- building -------------------------------------------------------------------------

    def _build_docks(self) -> None:
        self.draft_dock = DraftDock(self.kb, self.actor, self.workers, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.draft_dock)
        self.undo_dock = QDockWidget("Undo history", self)
        self.undo_dock.setObjectName("undo_dock")
        if self.controller is not None:
            self.undo_view = QUndoView(self.controller.stack)
            self.undo_view.setEmptyLabel("Draft as opened")
            self.undo_dock.setWidget(self.undo_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.undo_dock)
        self.tabifyDockWidget(self.draft_dock, self.undo_dock)
        self.draft_dock.raise_()
        self.resizeDocks([self.draft_dock], [170], Qt.Orientation.Vertical)

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        *,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | list[str] | None = None,
        icon_name: str | None = None,
        tip: str = "",
        name: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setObjectName(name or text.lower().replace(" ", "_").strip("…."))
        action.triggered.connect(lambda _checked=False: slot())
        return self.add_action(action)

    def _build_actions(self) -> None:
        pane = self.record_pane
        self.act_open = self._action(
            "Open KB…", self._open_kb, shortcut=QKeySequence.StandardKey.Open, icon_name="open"
        )
        self.act_switch_user = self._action(
            "Sign in as another user…", self.switch_user_requested.emit, icon_name="user",
            name="switch_user",
        )  # fmt: skip
        self.act_switch_user.setEnabled(self.actor is not None)
        self.act_quit = self._action("Quit", self.close, shortcut="Ctrl+Q")
        self.act_new = self._action(
            "New record", self.new_record, shortcut="Ctrl+N", icon_name="new",
            tip="Create a record of the type shown (Ctrl+N)", name="new_record",
        )  # fmt: skip
        self.act_edit = self._action(
            "Edit record", pane.edit_record, shortcut=["F2", "Ctrl+E"], icon_name="edit",
            tip="Edit the selected record (F2)", name="edit_record",
        )  # fmt: skip
        self.act_delete = self._action(
            "Delete record", pane.delete_record, shortcut=QKeySequence.StandardKey.Delete,
            icon_name="delete", tip="Stage the removal of the selected record (Del)",
            name="delete_record",
        )  # fmt: skip
        self.act_save = self._action(
            "Save", pane.editor.request_save, shortcut="Ctrl+S", icon_name="save",
            tip="Stage the edit in your draft change set (Ctrl+S)", name="save",
        )  # fmt: skip
        self.act_find = self._action(
            "Find", self.focus_search, shortcut=QKeySequence.StandardKey.Find, icon_name="search",
            tip="Search the records shown (Ctrl+F)", name="find",
        )  # fmt: skip
        self.act_reload = self._action(
            "Reload", self.reload, shortcut=QKeySequence.StandardKey.Refresh, icon_name="reload",
            tip="Read the KB again (F5)", name="reload",
        )  # fmt: skip
        if self.controller is not None:
            stack = self.controller.stack
            self.act_undo = stack.createUndoAction(self, "Undo")
            self.act_redo = stack.createRedoAction(self, "Redo")
        else:
            self.act_undo = QAction("Undo", self)
            self.act_redo = QAction("Redo", self)
            self.act_undo.setEnabled(False)
            self.act_redo.setEnabled(False)
        self.act_undo.setObjectName("undo")
        self.act_redo.setObjectName("redo")
        self.act_undo.setIcon(icon("undo"))
        self.act_redo.setIcon(icon("redo"))
        self.act_undo.setShortcuts([QKeySequence("Ctrl+Z")])
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.add_action(self.act_undo)
        self.add_action(self.act_redo)
        self.go_actions: list[QAction] = []
        for number, entry in enumerate(KNOWLEDGE[:9], start=1):
            action = self._action(
                entry.title, partial(self.show_view, entry.key),
                shortcut=f"Ctrl+{number}", icon_name=entry.icon, name=f"go_{entry.key}",
            )  # fmt: skip
            self.go_actions.append(action)
        pane.use_actions(self.act_new, self.act_edit, self.act_delete)
        self.bulk = BulkEditing(
            records=self.records, pane=pane, controller=self.controller, store=self.store,
            actor=self.actor, parent=self,
        )  # fmt: skip
        for action in self.bulk.actions:
            self.add_action(action)
        self.records.context_actions = (
            self.act_edit, self.act_delete, self.act_new, None, *self.bulk.actions
        )  # fmt: skip

    def _build_menus(self) -> None:
        self.recent_menu = QMenu("Recent KBs", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        go = QMenu("Go to", self)
        go.addActions(self.go_actions)
        theme = QMenu("Appearance", self)
        group = QActionGroup(self)
        for key, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = theme.addAction(label)
            action.setCheckable(True)
            action.setObjectName(f"theme_{key}")
            action.setChecked((self.theme.theme if self.theme else "system") == key)
            action.triggered.connect(lambda _checked=False, k=key: self.set_theme(k))
            group.addAction(action)
        # Screens add to these sections too: File ▸ Import… goes in "import".
        self.menus.declare("File", "open", "import", "user", "quit")
        places: dict[tuple[str, str], tuple[QAction | QMenu, ...]] = {
            ("File", "open"): (self.act_open, self.recent_menu),
            ("File", "user"): (self.act_switch_user,),
            ("File", "quit"): (self.act_quit,),
            ("Edit", "undo"): (self.act_undo, self.act_redo),
            ("Edit", "record"): (self.act_new, self.act_edit, self.act_delete, self.act_save),
            ("Edit", "bulk"): self.bulk.actions,
            ("Edit", "find"): (self.act_find,),
            ("View", "go"): (go, self.act_reload),
            ("View", "panes"): (
                self.draft_dock.toggleViewAction(),
                self.undo_dock.toggleViewAction(),
                theme,
            ),
        }
        for (menu, section), items in places.items():
            for item in items:
                self.menus.add(menu, item, section)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for action in (self.act_new, self.act_edit, self.act_save, self.act_delete):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.act_undo)
        toolbar.addAction(self.act_redo)
        toolbar.addSeparator()
        toolbar.addAction(self.act_reload)

    def _connect(self) -> None:
        pane, records, tumours = self.record_pane, self.records, self.tumours
        self.navigator.chosen.connect(self._navigator_chosen)
        self.pages.currentChanged.connect(self._page_changed)
        records.loaded.connect(partial(emit, self.table_loaded))
        records.counted.connect(self.navigator.set_count)
        records.chosen.connect(pane.open_record)
        records.activated.connect(pane.edit_record)
        records.failed.connect(lambda message: self.show_message(message, 10_000))
        tumours.loaded.connect(self._tumours_arrived)
        tumours.described.connect(pane.show_html)
        tumours.failed.connect(lambda message: self.show_message(message, 10_000))
        pane.opened.connect(records.keep_selected)
        pane.shown.connect(partial(emit, self.record_shown))
        pane.changed.connect(self._update_permissions)
        pane.message.connect(self.show_message)
        pane.draft_changed.connect(self.reload_draft)
        pane.view.navigate.connect(self.navigate)
        pane.view.navigate_tumour.connect(self.show_tumour)
        pane.view.anchorClicked.connect(self._view_link)
        self.draft_dock.open_record.connect(self.navigate)
        self.draft_dock.loaded.connect(self._draft_arrived)
        self.draft_dock.submitted.connect(self._submitted)

    # --- the host of the screens (curator/extension.py) -----------------------------------

    def as_widget(self) -> QWidget:
        return self

    def menu(self, name: str) -> QMenu:
        return self.menus.menu(name)

    def add_action(
        self, action: QAction, *, menu: str | None = None, section: str | None = None
    ) -> QAction:
        self.addAction(action)
        if menu is not None:
            self.menus.add(menu, action, section)
        return action

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
        self.pages.addWidget(widget)
        self._screen_pages[key] = widget
        if wide:
            self._wide_pages.append(widget)
        if first:
            self.navigator.add_first(key, title, icon, tip)
        else:
            self.navigator.add_entry("Workflow", key, title, icon, tip)

    def set_page_count(self, key: str, count: int | None) -> None:
        self.navigator.set_count(key, count)

    def add_record_button(self, button: QToolButton) -> None:
        self.record_pane.add_button(button)

    def current_record(self) -> str | None:
        detail = self.record_pane.shown_detail()
        return None if detail is None or detail.new else detail.human_id

    def show_draft(self) -> None:
        self.reload_draft()
        self.draft_dock.show()
        self.draft_dock.raise_()

    def show_message(self, text: str, msecs: int = 0) -> None:
        self.statusBar().showMessage(text, msecs)

    def installed(self, kind: type[_T]) -> _T:
        """What the installed screen returned that is a `kind` (e.g. its `ReleaseUi`)."""
        for made in self._installed:
            if isinstance(made, kind):
                return made
        raise LookupError(f"no installed screen made a {kind.__name__}")

    def action(self, name: str) -> QAction:
        """The window's action (its own or a screen's) whose object name is `name`."""
        for action in self.actions():
            if action.objectName() == name:
                return action
        raise LookupError(f"no action named {name!r}")

    # --- window state ---------------------------------------------------------------------

    def _restore_window(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.splitter_state()
        if splitter is not None:
            self.splitter.restoreState(splitter)
            # Once shown at its restored size: a state saved in another window must not leave
            # the navigator squeezed to its icons.
            QTimer.singleShot(0, self._fit_navigator)
        # The draft dock follows the role, not the state saved by whoever used this machine
        # last: release managers and admins never have a draft (View shows the docks again);
        # whoever edits always sees theirs.
        if edit_refusal(self.actor) is not None:
            self.draft_dock.hide()
            self.undo_dock.hide()
        elif not self.draft_dock.isVisibleTo(self):
            self.draft_dock.show()

    def _fit_navigator(self) -> None:
        navigator, pages, record = self.splitter.sizes()
        if 0 < navigator < _NAVIGATOR_WIDTH and pages > _NAVIGATOR_WIDTH:
            self.splitter.setSizes([_NAVIGATOR_WIDTH, pages + navigator - _NAVIGATOR_WIDTH, record])

    def save_window(self) -> None:
        self.settings.save_window(
            QByteArray(self.saveGeometry()),
            QByteArray(self.saveState()),
            QByteArray(self.splitter.saveState()),
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.record_pane.confirm_discard():
            event.ignore()
            return
        self.save_window()
        self.settings.set_last_view(self.current_key or "assertion")
        self.workers.cancel_all()
        self.workers.wait()
        if self.owns_kb:
            self.kb.close()
        super().closeEvent(event)

    def _update_permissions(self) -> None:
        refusal = edit_refusal(self.actor)
        is_record_type = self.current_key in _RECORD_KEYS
        detail = self.record_pane.shown_detail()
        # A wide page hides the record pane, and with it the record to act on.
        has_record = detail is not None and not self.record_pane.isHidden()
        deleted = has_record and detail is not None and detail.deleted
        for action, enabled, tip in (
            (self.act_new, is_record_type, "Create a record of the type shown (Ctrl+N)"),
            (self.act_edit, has_record and not deleted, "Edit the selected record (F2)"),
            (self.act_delete, has_record and not deleted, "Stage the removal of the record"),
            (self.act_save, self.record_pane.editing,
             "Stage the edit in your draft change set (Ctrl+S)"),
        ):  # fmt: skip
            action.setEnabled(refusal is None and enabled)
            action.setToolTip(refusal or tip)
        self.draft_dock.set_permission(refusal)

    # --- navigation -----------------------------------------------------------------------

    def show_view(self, key: str) -> None:
        """Show a record type, the tumour tree or a screen's page; rows load off the UI thread."""
        if key not in self._screen_pages and key not in _RECORD_KEYS | {TUMOUR_VIEW}:
            key = "assertion"
        if key != self.current_key and not self.record_pane.confirm_discard():
            self.navigator.select(self.current_key)
            return
        self.current_key = key
        self.navigator.select(key)
        self.settings.set_last_view(key)
        page = self._screen_pages.get(key)
        if page is not None:
            self.records.active = None
            self.pages.setCurrentWidget(page)
            refresh = getattr(page, "refresh", None)
            if callable(refresh):
                refresh()  # a screen's page reads its data again each time it is shown
            self._update_permissions()
            return
        if key == TUMOUR_VIEW:
            self.records.active = None
            self.pages.setCurrentWidget(self.tumours)
            if not self.tumours.is_loaded:
                self.tumours.load()
        else:
            self.pages.setCurrentWidget(self.records)
            self.records.show_type(RecordType(key))
        self.record_pane.cancel_edit(ask=False)
        self._update_permissions()

    def _navigator_chosen(self, key: str) -> None:
        if key != self.current_key:
            self.show_view(key)

    def _page_changed(self, _index: int) -> None:
        # A wide page (change sets side by side, say) takes the record pane's width.
        self.record_pane.setVisible(self.pages.currentWidget() not in self._wide_pages)

    def navigate(self, human_id: str) -> None:
        """Go to a record by id: its type's table, its row, and its fields in the pane."""
        try:
            rtype = type_of_human_id(human_id)
        except Exception:
            self.show_message(f"{human_id} is not a record id", 5000)
            return
        if not self.record_pane.confirm_discard():
            return
        if self.current_key != rtype.value:
            self.records.select_on_arrival(human_id)
            self.show_view(rtype.value)
        self.records.select(human_id)
        self.record_pane.open_record(human_id)

    def show_tumour(self, code: str) -> None:
        """Show the tumour tree with `code` selected."""
        if self.current_key != TUMOUR_VIEW:
            self.show_view(TUMOUR_VIEW)
        self.tumours.select(code)

    def _tumours_arrived(self, count: int) -> None:
        self.navigator.set_count(TUMOUR_VIEW, count)
        emit(self.table_loaded, TUMOUR_VIEW)

    def _view_link(self, url: QUrl) -> None:
        if url.scheme() == "filter":
            # "filter:assertion/tumour_types/NSCLC": the records naming a tumour type.
            key, column, text = url.path().split("/", 2)
            self.show_view(key)
            self.records.set_column_filter(column, text)

    def focus_search(self) -> None:
        if self.current_key == TUMOUR_VIEW:
            self.tumours.focus_search()
        else:
            self.records.focus_search()

    def new_record(self) -> None:
        if self.current_key in _RECORD_KEYS:
            self.record_pane.new_record(RecordType(self.current_key))

    # --- the draft ------------------------------------------------------------------------

    def reload_draft(self) -> None:
        self.draft_dock.reload()

    def _draft_arrived(self, data: DraftData) -> None:
        staged = data.staged()
        self.records.set_marks(staged)
        self.record_pane.set_staged(staged)
        emit(self.draft_loaded)

    def _submitted(self, human_id: str) -> None:
        if self.controller is not None:
            self.controller.stack.clear()
        self.show_message(f"{human_id} submitted for review", 8000)
        self.reload_draft()

    # --- KB-level -------------------------------------------------------------------------

    def _load_info(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> KbInfo:
            with kb.read() as session:
                return kb_info(session)

        self.workers.read("kb info", work, on_result=self._show_info)
        self.check_integrity()

    def check_integrity(self) -> None:
        """Check the audit chain and every record against its version off the UI thread, and
        show the banner while either fails."""
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> IntegrityReport:
            with kb.read() as session:
                return check_integrity(session)

        self.workers.read("integrity check", work, on_result=self._show_integrity)

    def _show_integrity(self, report: IntegrityReport) -> None:
        if report.ok:
            self.integrity_banner.hide()
            return
        self.integrity_banner.setText(
            f"This KB failed its integrity check: {report.problem()}. Edits, approvals and "
            "releases are refused until an admin repairs it (docs/security.md, Repair)."
        )
        self.integrity_banner.setToolTip(report.text())
        self.integrity_banner.show()

    def _show_info(self, info: KbInfo) -> None:
        self.info = info
        self.status_bar.show_info(info)
        self.setWindowTitle(f"{kb_label(self.kb, info)} — KB Curator")
        for key, count in info.counts.items():
            item = self.navigator.items.get(key)
            if item is not None and not item.text(1):
                self.navigator.set_count(key, count)

    def reload(self) -> None:
        if not self.record_pane.confirm_discard():
            return
        self.records.forget()
        self.tumours.forget()
        self.record_pane.forget()
        self.store.invalidate()
        key = self.current_key
        self.current_key = ""
        self.show_view(key)
        self._load_info()
        self.reload_draft()
        if self.record_pane.current:
            self.record_pane.open_record(self.record_pane.current)

    def refresh(self) -> None:
        """Read the KB again after someone else changed it (curator/live_state.py): tables,
        version, draft and the page shown, without leaving the page or an edit in progress."""
        self.records.forget()
        self.tumours.forget()
        self.record_pane.forget()
        self.store.invalidate()
        page = self.pages.currentWidget()
        if page is self.records and self.records.active is not None:
            self.records.show_type(self.records.active)
        elif page is self.tumours:
            self.tumours.load()
        elif callable(refresh := getattr(page, "refresh", None)):
            refresh()
        self._load_info()
        self.reload_draft()
        if self.record_pane.current and not self.record_pane.editing:
            self.record_pane.open_record(self.record_pane.current)

    def set_theme(self, key: str) -> None:
        self.settings.set_theme(key)
        if self.theme is not None:
            self.theme.apply(key)
        detail = self.record_pane.view.detail
        if detail is not None:
            self.record_pane.view.show_detail(detail)

    def _open_kb(self) -> None:
        from curator.open_dialog import OpenKbDialog

        dialog = OpenKbDialog(self.settings.recent_kbs(), self)
        if dialog.exec() and dialog.url():
            emit(self.open_requested, dialog.url())

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_kbs()
        if not recent:
            self.recent_menu.addAction("No recent KBs").setEnabled(False)
        for url in recent:
            action = self.recent_menu.addAction(url)
            action.triggered.connect(lambda _checked=False, u=url: emit(self.open_requested, u))
