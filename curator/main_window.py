"""The main window: a navigator by record type, a searchable table, and the record pane.

Nothing here touches the database on the UI thread: tables, records, the draft and completion
lists are read by workers (curator/workers.py) and arrive by signal as plain data. Edits go
through `EditController` (curator/undo.py) and so into the curator's draft change set.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QTreeView,
    QTreeWidget,
    QTreeWidgetItem,
    QUndoView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import make_url

from curator.about_dialog import AboutDialog
from curator.choices import ChoiceStore
from curator.commands import Create, Delete, Update, supports_discard
from curator.draft_dock import DraftData, DraftDock, load_draft
from curator.expression_text import LeafNames, load_leaf_names
from curator.filter_bar import ColumnFilterBar
from curator.icons import icon
from curator.import_wizard import install_import_wizard
from curator.keys_dialog import install_keys_tool
from curator.matching_sandbox import install_matching_sandbox
from curator.qt_compat import emit
from curator.record_detail import RecordDetail, StagedChange, load_record_detail
from curator.record_editor import EditRequest, RecordEditor
from curator.record_model import HUMAN_ID_ROLE, RecordTableModel
from curator.record_view import TUMOUR_SCHEME, RecordView, type_label
from curator.releases_view import install_release_ui
from curator.review_view import install_review
from curator.settings import Settings
from curator.theme import ThemeManager
from curator.trials_check import install_trials_check
from curator.tumour_tree_model import CODE_ROLE, TumourTreeFilter, TumourTreeModel
from curator.undo import EditController
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import RecordType
from kb.model.records import type_of_human_id
from kb.review.users import Actor, Permission, can, why_not
from kb.storage.db import Kb
from kb.storage.meta import KbInfo, kb_info
from kb.storage.rows import (
    TABLES,
    TableData,
    TumourTypeData,
    load_first_page,
    load_table,
    load_tumour_types,
)

TUMOUR_VIEW = "tumour"
_NOT_YET = "arrives with the review, release and audit screens"


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str
    title: str
    icon: str
    enabled: bool = True


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
)
WORKFLOW: tuple[NavEntry, ...] = (
    NavEntry("change_sets", "Change sets", "change_set", enabled=False),
    NavEntry("releases", "Releases", "release"),
    NavEntry("audit", "Audit log", "audit", enabled=False),
)
_KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def kb_label(kb: Kb, info: KbInfo | None) -> str:
    url = make_url(kb.url)
    if kb.is_sqlite:
        where = (url.database or "").rsplit("/", 1)[-1]
    else:
        where = f"{url.host or 'localhost'}/{url.database or ''}"
    name = info.name if info and info.name else "KB"
    return f"{name} — {where}"


class MainWindow(QMainWindow):
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
        self._tables: dict[RecordType, TableData] = {}
        self._table_task: Any = None
        self._record_task: Any = None
        self._current_record: str | None = None
        self._pending_select: str | None = None
        self._tumours_loaded = False
        self._leaf_names: LeafNames | None = None
        self.draft = DraftData(None)
        self.staged: dict[str, StagedChange] = {}
        self._reload_record = False

        self._build_navigator()
        self._build_records_page()
        self._build_tumour_page()
        self._build_side()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.records_page)
        self.pages.addWidget(self.tumour_page)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(self.navigator)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([210, 760, 430])
        self.setCentralWidget(self.splitter)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status()
        # Navigator key -> a workflow page its own module registers (releases, …).
        self.workflow_pages: dict[str, QWidget] = {}
        self.release_ui = install_release_ui(self)
        self.act_create_key = install_keys_tool(self)
        self.review_ui = install_review(self)  # change sets, audit log, history, diff
        self.act_import = install_import_wizard(self)  # File ▸ Import… (Ctrl+I)
        self.act_check_trials = install_trials_check(self)  # Tools ▸ Check trials…
        self.act_sandbox = install_matching_sandbox(self)  # Tools ▸ Matching sandbox…
        self._update_permissions()
        self.resize(1400, 860)
        self._restore_window()
        self.workers.busy_changed.connect(self._busy)
        if self.controller is not None:
            self.controller.edited.connect(self._edited)
            self.controller.failed.connect(self._edit_failed)
        self.show_view(start_view or self.settings.last_view())
        if self.info is None:
            self._load_info()
        else:
            self._show_info(self.info)
        self.reload_draft()

    # --- building -------------------------------------------------------------------------

    def _build_navigator(self) -> None:
        self.navigator = QTreeWidget()
        self.navigator.setObjectName("navigator")
        self.navigator.setHeaderHidden(True)
        self.navigator.setColumnCount(2)
        self.navigator.setRootIsDecorated(False)
        self.navigator.setIndentation(8)
        self.nav_items: dict[str, QTreeWidgetItem] = {}
        for group, entries in (("Knowledge", KNOWLEDGE), ("Workflow", WORKFLOW)):
            top = QTreeWidgetItem([group])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.navigator.addTopLevelItem(top)
            for entry in entries:
                item = QTreeWidgetItem([entry.title, ""])
                item.setIcon(0, icon(entry.icon))
                item.setData(0, _KEY_ROLE, entry.key)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                if not entry.enabled:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
                    item.setToolTip(0, f"{entry.title} {_NOT_YET}")
                top.addChild(item)
                self.nav_items[entry.key] = item
        self.navigator.expandAll()
        header = self.navigator.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.navigator.currentItemChanged.connect(self._navigator_changed)

    def _build_records_page(self) -> None:
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
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
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
        footer = QHBoxLayout()
        footer.addWidget(self.count_label, 1)
        footer.addWidget(self.clear_button)
        self.records_page = QWidget()
        layout = QVBoxLayout(self.records_page)
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
        self.table.doubleClicked.connect(lambda _index: self.edit_record())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(
            lambda pos: self.context_menu().exec(self.table.viewport().mapToGlobal(pos))
        )

    def _build_tumour_page(self) -> None:
        self.tumour_search = QLineEdit()
        self.tumour_search.setObjectName("tumour_search")
        self.tumour_search.setPlaceholderText("Find an OncoTree code or name…  (Ctrl+F)")
        self.tumour_search.setClearButtonEnabled(True)
        self.tumour_model = TumourTreeModel(self)
        self.tumour_filter = TumourTreeFilter(self)
        self.tumour_filter.setSourceModel(self.tumour_model)
        self.tumour_view = QTreeView()
        self.tumour_view.setObjectName("tumour_tree")
        self.tumour_view.setModel(self.tumour_filter)
        self.tumour_view.setUniformRowHeights(True)
        self.tumour_view.setAlternatingRowColors(True)
        self.tumour_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tumour_view.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tumour_label = QLabel()
        self.tumour_page = QWidget()
        layout = QVBoxLayout(self.tumour_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.tumour_search)
        layout.addWidget(self.tumour_view, 1)
        layout.addWidget(self.tumour_label)
        self.tumour_search.textChanged.connect(self._tumour_search)
        self.tumour_view.selectionModel().currentChanged.connect(self._tumour_selected)

    def _build_side(self) -> None:
        self.view = RecordView()
        self.view.navigate.connect(self.navigate)
        self.view.navigate_tumour.connect(self.show_tumour)
        self.view.anchorClicked.connect(self._view_link)
        self.editor = RecordEditor(self.store)
        self.editor.save_requested.connect(self._save)
        self.editor.cancel_requested.connect(self.cancel_edit)
        self.side_stack = QStackedWidget()
        self.side_stack.addWidget(self.view)
        self.side_stack.addWidget(self.editor)
        self.edit_button = QToolButton()
        self.delete_button = QToolButton()
        self.new_button = QToolButton()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.new_button)
        bar.addStretch(1)
        bar.addWidget(self.edit_button)
        bar.addWidget(self.delete_button)
        self.side = QWidget()
        layout = QVBoxLayout(self.side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.side_stack, 1)

    def _build_docks(self) -> None:
        self.draft_dock = DraftDock(self)
        self.draft_dock.open_record.connect(self.navigate)
        self.draft_dock.submit_requested.connect(self.submit_draft)
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
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_open = self._action(
            "Open KB…", self._open_kb, shortcut=QKeySequence.StandardKey.Open, icon_name="open"
        )
        self.act_switch_user = self._action(
            "Sign in as another user…", self.switch_user_requested.emit, icon_name="user",
            name="switch_user",
        )  # fmt: skip
        self.act_users = self._action(
            "Users…", self._users, icon_name="users", tip="Add curators, reviewers and release "
            "managers (admins)", name="users",
        )  # fmt: skip
        self.act_quit = self._action("Quit", self.close, shortcut="Ctrl+Q")
        self.act_new = self._action(
            "New record", self.new_record, shortcut="Ctrl+N", icon_name="new",
            tip="Create a record of the type shown (Ctrl+N)", name="new_record",
        )  # fmt: skip
        self.act_edit = self._action(
            "Edit record", self.edit_record, shortcut=["F2", "Ctrl+E"], icon_name="edit",
            tip="Edit the selected record (F2)", name="edit_record",
        )  # fmt: skip
        self.act_delete = self._action(
            "Delete record", self.delete_record, shortcut=QKeySequence.StandardKey.Delete,
            icon_name="delete", tip="Stage the removal of the selected record (Del)",
            name="delete_record",
        )  # fmt: skip
        self.act_save = self._action(
            "Save", self.editor.request_save, shortcut="Ctrl+S", icon_name="save",
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
        self.act_about = self._action("About KB Curator", self.about, icon_name="about")
        self.act_about_qt = self._action("About Qt", QApplication.aboutQt, name="about_qt")
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
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.go_actions: list[QAction] = []
        for number, entry in enumerate(KNOWLEDGE[:9], start=1):
            action = self._action(
                entry.title, partial(self.show_view, entry.key),
                shortcut=f"Ctrl+{number}", icon_name=entry.icon, name=f"go_{entry.key}",
            )  # fmt: skip
            self.go_actions.append(action)
            self.nav_items[entry.key].setToolTip(0, f"{entry.title} (Ctrl+{number})")
        self.new_button.setDefaultAction(self.act_new)
        self.edit_button.setDefaultAction(self.act_edit)
        self.delete_button.setDefaultAction(self.act_delete)
        for button in (self.new_button, self.edit_button, self.delete_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAutoRaise(True)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction(self.act_open)
        self.recent_menu = file.addMenu("Recent KBs")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addAction(self.act_switch_user)
        file.addAction(self.act_users)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = menu.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        edit.addAction(self.act_new)
        edit.addAction(self.act_edit)
        edit.addAction(self.act_delete)
        edit.addAction(self.act_save)
        edit.addSeparator()
        edit.addAction(self.act_find)
        view = menu.addMenu("&View")
        go = view.addMenu("Go to")
        for action in self.go_actions:
            go.addAction(action)
        view.addAction(self.act_reload)
        view.addSeparator()
        view.addAction(self.draft_dock.toggleViewAction())
        view.addAction(self.undo_dock.toggleViewAction())
        theme = view.addMenu("Appearance")
        group = QActionGroup(self)
        for key, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = theme.addAction(label)
            action.setCheckable(True)
            action.setObjectName(f"theme_{key}")
            action.setChecked((self.theme.theme if self.theme else "system") == key)
            action.triggered.connect(lambda _checked=False, k=key: self.set_theme(k))
            group.addAction(action)
        helpmenu = menu.addMenu("&Help")
        helpmenu.addAction(self.act_about)
        helpmenu.addAction(self.act_about_qt)
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

    def _build_status(self) -> None:
        status = self.statusBar()
        self.kb_status = QLabel()
        self.kb_status.setObjectName("status_kb")
        self.version_status = QLabel()
        self.version_status.setObjectName("status_version")
        self.user_status = QLabel()
        self.user_status.setObjectName("status_user")
        self.role_status = QLabel()
        self.role_status.setObjectName("status_role")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.hide()
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(300)
        self._busy_timer.timeout.connect(lambda: self.busy_bar.setVisible(self.workers.busy))
        for widget in (self.busy_bar, self.kb_status, self.version_status, self.user_status):
            status.addPermanentWidget(widget)
        status.addPermanentWidget(self.role_status)
        if self.actor is not None:
            self.user_status.setText(f"User: {self.actor.name}")
            self.role_status.setText(f"Role: {self.actor.role.value}")
        else:
            self.user_status.setText("Not signed in")
            self.role_status.setText("read only")
        self.kb_status.setText(kb_label(self.kb, self.info))

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

    def save_window(self) -> None:
        self.settings.save_window(
            QByteArray(self.saveGeometry()),
            QByteArray(self.saveState()),
            QByteArray(self.splitter.saveState()),
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        self.save_window()
        self.settings.set_last_view(self.current_key or "assertion")
        self.workers.cancel_all()
        self.workers.wait()
        if self.owns_kb:
            self.kb.close()
        super().closeEvent(event)

    # --- permissions ----------------------------------------------------------------------

    def edit_refusal(self) -> str | None:
        """Why this user may not edit (None if they may)."""
        if self.actor is None:
            return "sign in to edit"
        return why_not(self.actor, Permission.EDIT)

    def _update_permissions(self) -> None:
        refusal = self.edit_refusal()
        is_record_type = self.current_key not in ("", TUMOUR_VIEW, *self.workflow_pages)
        has_record = self.view.detail is not None and self.side_stack.currentWidget() is self.view
        has_record = has_record and not self.side.isHidden()  # a workflow page may hide the pane
        editing = self.side_stack.currentWidget() is self.editor
        deleted = has_record and self.view.detail is not None and self.view.detail.deleted
        for action, enabled, tip in (
            (self.act_new, is_record_type, "Create a record of the type shown (Ctrl+N)"),
            (self.act_edit, has_record and not deleted, "Edit the selected record (F2)"),
            (self.act_delete, has_record and not deleted, "Stage the removal of the record"),
            (self.act_save, editing, "Stage the edit in your draft change set (Ctrl+S)"),
        ):
            action.setEnabled(refusal is None and enabled)
            action.setToolTip(refusal or tip)
        self.act_users.setEnabled(self.actor is not None and can(self.actor, Permission.ADMIN))
        self.act_switch_user.setEnabled(self.actor is not None)
        self.draft_dock.set_permission(refusal)

    # --- navigation -----------------------------------------------------------------------

    def _navigator_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        key = current.data(0, _KEY_ROLE)
        if key and key != self.current_key:
            self.show_view(str(key))

    def show_view(self, key: str) -> None:
        """Show one record type (or the tumour tree); its rows load off the UI thread."""
        if key in self.workflow_pages:
            self._show_workflow_page(key)
            return
        if key not in self.nav_items or not any(e.key == key for e in KNOWLEDGE):
            key = "assertion"
        if key != self.current_key and not self._confirm_discard():
            self._select_nav(self.current_key)
            return
        self.current_key = key
        self._select_nav(key)
        self.settings.set_last_view(key)
        if key == TUMOUR_VIEW:
            self.pages.setCurrentWidget(self.tumour_page)
            if not self._tumours_loaded:
                self._load_tumours()
        else:
            self.pages.setCurrentWidget(self.records_page)
            rtype = RecordType(key)
            cached = self._tables.get(rtype)
            if cached is not None:
                self._set_table(cached)
            else:
                columns, _ = TABLES[rtype]
                self._set_table(TableData(rtype, columns, (), (), 0), loading=True)
                self._load_table(rtype)
        self.cancel_edit(ask=False)
        self._update_permissions()

    def _show_workflow_page(self, key: str) -> None:
        # A page with a `refresh()` reads its data again each time it is shown.
        if key != self.current_key and not self._confirm_discard():
            self._select_nav(self.current_key)
            return
        self.current_key = key
        self._select_nav(key)
        self.settings.set_last_view(key)
        page = self.workflow_pages[key]
        self.pages.setCurrentWidget(page)
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            refresh()
        self._update_permissions()

    def _select_nav(self, key: str) -> None:
        item = self.nav_items.get(key)
        if item is not None and self.navigator.currentItem() is not item:
            self.navigator.blockSignals(True)
            self.navigator.setCurrentItem(item)
            self.navigator.blockSignals(False)

    def _load_table(self, rtype: RecordType) -> None:
        kb = self.kb

        def first_page(_progress: Callable[[int, int], None], _cancel: CancelToken) -> TableData:
            with kb.read() as session:
                return load_first_page(session, rtype)

        def everything(_progress: Callable[[int, int], None], cancel: CancelToken) -> TableData:
            with kb.read() as session:
                cancel.check()
                return load_table(session, rtype)

        if self._table_task is not None and not self._table_task.is_done:
            self._table_task.cancel()
        self.count_label.setText(f"Loading {type_label(rtype)}s…")
        # A first page shows at once; all rows (100,000 take about a second) replace it.
        first = self.workers.read(f"first {rtype}", first_page)
        first.finished.connect(self._first_page_arrived)
        task = self.workers.read(f"load {rtype}", everything, on_error=self._load_failed)
        task.finished.connect(lambda data, t=task: self._table_arrived(t, data))
        self._table_task = task

    def _first_page_arrived(self, data: TableData) -> None:
        if data.rtype in self._tables or self.current_key != data.rtype.value:
            return  # all rows came first, or the user moved on
        self._set_table(data, loading=True)
        emit(self.table_loaded, f"{data.rtype.value}:first")

    def _table_arrived(self, task: object, data: TableData) -> None:
        self._tables[data.rtype] = data
        if task is self._table_task:
            self._table_task = None
        if self.current_key == data.rtype.value:
            self._set_table(data)
        emit(self.table_loaded, data.rtype.value)

    def _set_table(self, data: TableData, *, loading: bool = False) -> None:
        same = self.model.rtype is data.rtype
        self.model.set_table(data)
        self.model.set_marks({hid: change.op.value for hid, change in self.staged.items()})
        if not same:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.filters.set_columns(data.columns, {})
            self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            self._size_columns(data)
        if loading:
            shown = f" (showing the first {len(data):,})" if len(data) else ""
            self.count_label.setText(f"Loading all {type_label(data.rtype)}s…{shown}")
        if self._pending_select:
            self._select_in_table(self._pending_select)

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

    def _load_failed(self, failure: TaskFailure) -> None:
        self.count_label.setText(f"Could not read the KB: {failure.message}")
        self.statusBar().showMessage(failure.message, 10_000)

    def _counts_changed(self, visible: int, total: int) -> None:
        rtype = self.model.rtype
        noun = type_label(rtype) + "s" if rtype else "records"
        if visible == total:
            self.count_label.setText(f"{total:,} {noun}")
        else:
            self.count_label.setText(f"{visible:,} of {total:,} {noun}")
        self.clear_button.setEnabled(visible != total or bool(self.search.text()))
        table = self.model.table
        if rtype is not None and rtype.value in self.nav_items and table and table.complete:
            self.nav_items[rtype.value].setText(1, f"{total:,}")

    def _model_reset(self) -> None:
        # Keep the record the user is looking at selected when it is still shown.
        if self._current_record:
            row = self.model.row_of(self._current_record)
            if row is not None:
                self.table.selectionModel().blockSignals(True)
                self.table.selectRow(row)
                self.table.selectionModel().blockSignals(False)

    def focus_search(self) -> None:
        target = self.tumour_search if self.current_key == TUMOUR_VIEW else self.search
        target.setFocus()
        target.selectAll()

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
        if human_id and human_id != self._current_record:
            self.open_record(str(human_id))

    def _select_in_table(self, human_id: str) -> None:
        row = self.model.row_of(human_id)
        if row is None and self.model.contains(human_id):
            self.clear_filters()
            row = self.model.row_of(human_id)
        if row is None:
            return
        self._pending_select = None
        self.table.selectionModel().blockSignals(True)
        self.table.selectRow(row)
        self.table.selectionModel().blockSignals(False)
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def navigate(self, human_id: str) -> None:
        """Go to a record by id: its type's table, its row, and its fields in the pane."""
        try:
            rtype = type_of_human_id(human_id)
        except Exception:
            self.statusBar().showMessage(f"{human_id} is not a record id", 5000)
            return
        if not self._confirm_discard():
            return
        if self.current_key != rtype.value:
            self._pending_select = human_id
            self.show_view(rtype.value)
        self._select_in_table(human_id)
        self.open_record(human_id)

    def _view_link(self, url: Any) -> None:
        if url.scheme() == "filter":
            # "filter:assertion/tumour_types/NSCLC": the records naming a tumour type.
            key, column, text = url.path().split("/", 2)
            self.show_view(key)
            self.set_column_filter(column, f"{text}")

    # --- the record pane ----------------------------------------------------------------

    def open_record(self, human_id: str) -> None:
        if not self._confirm_discard():
            return
        self._current_record = human_id
        self.side_stack.setCurrentWidget(self.view)
        kb, staged = self.kb, dict(self.staged)

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> RecordDetail:
            with kb.read() as session:
                return load_record_detail(session, human_id, staged=staged)

        task = self.workers.read(f"show {human_id}", work)
        task.finished.connect(lambda detail, t=task: self._record_arrived(t, detail))
        task.failed.connect(lambda failure, t=task: self._record_failed(t, failure))
        self._record_task = task

    def _record_arrived(self, task: object, detail: RecordDetail) -> None:
        if task is not self._record_task or detail.human_id != self._current_record:
            return  # the user moved on while it loaded
        self.view.show_detail(detail)
        self._update_permissions()
        emit(self.record_shown, detail.human_id)

    def _record_failed(self, task: object, failure: TaskFailure) -> None:
        if task is self._record_task:
            self.view.show_message(failure.message)
            self._update_permissions()

    # --- tumour types -------------------------------------------------------------------

    def _load_tumours(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> TumourTypeData:
            with kb.read() as session:
                return load_tumour_types(session)

        self.tumour_label.setText("Loading OncoTree…")
        self.workers.read(
            "load tumour types", work, on_result=self._tumours_arrived, on_error=self._load_failed
        )

    def _tumours_arrived(self, data: TumourTypeData) -> None:
        self._tumours_loaded = True
        self.tumour_model.set_data(data)
        self.tumour_view.expandToDepth(1)
        count = len(data.entries)
        self.tumour_label.setText(
            f"{count:,} tumour types from {data.release}" if data.release else
            "No OncoTree loaded: load one with `kb vocab load oncotree FILE`"
        )  # fmt: skip
        self.nav_items[TUMOUR_VIEW].setText(1, f"{count:,}")
        if self._pending_select and self._pending_select.startswith(f"{TUMOUR_SCHEME}:"):
            self.show_tumour(self._pending_select.split(":", 1)[1])
        emit(self.table_loaded, TUMOUR_VIEW)

    def _tumour_search(self, text: str) -> None:
        self.tumour_filter.setFilterFixedString(text.strip())
        if text.strip():
            self.tumour_view.expandAll()

    def show_tumour(self, code: str) -> None:
        if self.current_key != TUMOUR_VIEW:
            self.show_view(TUMOUR_VIEW)
        if not self._tumours_loaded:
            self._pending_select = f"{TUMOUR_SCHEME}:{code}"
            return
        self._pending_select = None
        self.tumour_search.clear()
        source = self.tumour_model.index_of(code)
        index = self.tumour_filter.mapFromSource(source)
        if index.isValid():
            self.tumour_view.setCurrentIndex(index)
            self.tumour_view.scrollTo(index)

    def _tumour_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        code = current.data(CODE_ROLE) if current.isValid() else None
        entry = self.tumour_model.entry(str(code)) if code else None
        if entry is None:
            return
        path = []
        parent = entry.parent
        while parent:
            path.append(parent)
            parent_entry = self.tumour_model.entry(parent)
            parent = parent_entry.parent if parent_entry else None
        trail = " › ".join(
            f"<a href='{TUMOUR_SCHEME}:{p}'>{html.escape(p)}</a>" for p in reversed(path)
        )
        uses = (
            f"<p><a href='filter:assertion/tumour_types/{html.escape(entry.code)}'>Show the "
            f"assertions naming {html.escape(entry.code)}</a> ({entry.uses} uses in assertions "
            "and trial arms)</p>"
            if entry.uses
            else "<p>No assertion or trial arm names this code.</p>"
        )
        self.view.setHtml(
            f"<h3>{html.escape(entry.code)} — {html.escape(entry.name)}</h3>"
            f"<p>{trail}</p><table>"
            f"<tr><td>Main type&nbsp;&nbsp;</td><td>{html.escape(entry.main_type or '—')}</td></tr>"
            f"<tr><td>Tissue</td><td>{html.escape(entry.tissue or '—')}</td></tr>"
            f"<tr><td>Level</td><td>{entry.level}</td></tr></table>{uses}"
        )
        self.view.detail = None
        self.side_stack.setCurrentWidget(self.view)
        self._update_permissions()

    # --- editing --------------------------------------------------------------------------

    def _confirm_discard(self) -> bool:
        if self.side_stack.currentWidget() is not self.editor or self.editor.rtype is None:
            return True
        if self.editor.human_id is not None and not self.editor.pending_fields():
            return True
        if self.editor.human_id is None and not self.editor.pending_fields():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved edit",
            "Discard the edit you have not saved?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Discard:
            return False
        self.side_stack.setCurrentWidget(self.view)
        return True

    def _prepare_editor(self, rtype: RecordType) -> None:
        if rtype is RecordType.EXPRESSION:
            self._request_leaf_names()

    def _request_leaf_names(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> LeafNames:
            with kb.read() as session:
                return load_leaf_names(session)

        def arrived(names: LeafNames) -> None:
            self._leaf_names = names
            self.editor.set_leaf_names(names)

        if self._leaf_names is not None:
            self.editor.set_leaf_names(self._leaf_names)
        self.workers.read("leaf names", work, on_result=arrived)

    def new_record(self) -> None:
        if self.edit_refusal() or self.current_key in ("", TUMOUR_VIEW):
            return
        if not self._confirm_discard():
            return
        rtype = RecordType(self.current_key)
        self.editor.start_new(rtype)
        self._prepare_editor(rtype)
        self.side_stack.setCurrentWidget(self.editor)
        self._update_permissions()

    def edit_record(self) -> None:
        detail = self.view.detail
        if self.edit_refusal() or detail is None or detail.deleted:
            return
        self.editor.start_edit(detail)
        self._prepare_editor(detail.rtype)
        self.side_stack.setCurrentWidget(self.editor)
        self._update_permissions()

    def cancel_edit(self, *, ask: bool = True) -> None:
        if self.side_stack.currentWidget() is not self.editor:
            return
        if ask and not self._confirm_discard():
            return
        self.side_stack.setCurrentWidget(self.view)
        self._update_permissions()

    def _save(self, request: EditRequest) -> None:
        if self.controller is None:
            return
        edit = (
            Create(request.rtype, dict(request.fields))
            if request.human_id is None
            else Update(request.human_id, dict(request.fields))
        )
        self.editor.set_busy(True)

        def done(outcome: Any) -> None:
            self.editor.saved(outcome.human_id)
            self.side_stack.setCurrentWidget(self.view)
            self._current_record = None
            if outcome.human_id:
                self.open_record(outcome.human_id)
            self.statusBar().showMessage(f"Saved to your draft {outcome.change_set}", 5000)

        self.controller.submit(edit, on_done=done, on_error=self.editor.show_failure)

    def delete_record(self) -> None:
        detail = self.view.detail
        if self.controller is None or self.edit_refusal() or detail is None or detail.deleted:
            return
        undoable = detail.new or supports_discard()
        text = f"Stage the deletion of {detail.human_id} — {detail.title} in your draft?"
        if detail.used_by_total:
            text += f"\n\n{detail.used_by_total} record(s) use it; kb will refuse to merge it."
        if not undoable:
            text += "\n\nThis deletion cannot be undone (it clears the undo history)."
        answer = QMessageBox.question(
            self,
            "Delete record",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.controller.submit(Delete(detail.human_id))

    def _edited(self, outcome: Any) -> None:
        self.reload_draft()
        touched = set(outcome.touched)
        types = set()
        for human_id in touched:
            try:
                types.add(type_of_human_id(human_id).value)
            except Exception:
                continue
        self.store.invalidate(sorted(types))
        if self._current_record in touched and self.side_stack.currentWidget() is self.view:
            self._reload_record = True

    def _edit_failed(self, failure: TaskFailure) -> None:
        if self.side_stack.currentWidget() is self.editor:
            return  # the editor shows it beside the field
        QMessageBox.warning(self, "Not changed", failure.message)
        self.reload_draft()

    # --- the draft ----------------------------------------------------------------------

    def reload_draft(self) -> None:
        if self.actor is None:
            self.draft_dock.set_draft(DraftData(None))
            return
        kb, actor = self.kb, self.actor

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> DraftData:
            with kb.read() as session:
                return load_draft(session, actor)

        self.workers.read("draft", work, on_result=self._draft_arrived)

    def _draft_arrived(self, data: DraftData) -> None:
        self.draft = data
        self.staged = data.staged()
        self.draft_dock.set_draft(data)
        self.model.set_marks({hid: change.op.value for hid, change in self.staged.items()})
        if self._reload_record or (
            self._current_record and self.side_stack.currentWidget() is self.view
            and self.view.detail is not None
            and self._staged_differs(self._current_record)
        ):  # fmt: skip
            self._reload_record = False
            if self._current_record:
                self.open_record(self._current_record)
        emit(self.draft_loaded)

    def _staged_differs(self, human_id: str) -> bool:
        detail = self.view.detail
        return detail is not None and detail.staged != self.staged.get(human_id)

    def submit_draft(self, change_set: str) -> None:
        if self.actor is None:
            return
        answer = QMessageBox.question(
            self,
            "Submit for review",
            f"Send {change_set} to a reviewer? You can withdraw it until it is decided.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        from kb.review.changes import submit_change_set

        kb, actor = self.kb, self.actor

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> str:
            with kb.unit_of_work() as session:
                return submit_change_set(session, actor=actor, change_set_id=change_set).human_id

        def done(human_id: str) -> None:
            if self.controller is not None:
                self.controller.stack.clear()
            self.statusBar().showMessage(f"{human_id} submitted for review", 8000)
            self.reload_draft()

        def failed(failure: TaskFailure) -> None:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("Not submitted")
            box.setText(f"{change_set} was not submitted.")
            box.setInformativeText(failure.message)
            box.exec()

        self.workers.write(f"submit {change_set}", work, on_result=done, on_error=failed)

    # --- KB-level -----------------------------------------------------------------------

    def _load_info(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> KbInfo:
            with kb.read() as session:
                return kb_info(session)

        self.workers.read("kb info", work, on_result=self._show_info)

    def _show_info(self, info: KbInfo) -> None:
        self.info = info
        self.kb_status.setText(kb_label(self.kb, info))
        self.kb_status.setToolTip(make_url(self.kb.url).render_as_string(hide_password=True))
        self.version_status.setText(f"Version {info.version}")
        self.setWindowTitle(f"{kb_label(self.kb, info)} — KB Curator")
        for key, count in info.counts.items():
            if key in self.nav_items and not self.nav_items[key].text(1):
                self.nav_items[key].setText(1, f"{count:,}")

    def reload(self) -> None:
        if not self._confirm_discard():
            return
        self._tables.clear()
        self._tumours_loaded = False
        self._leaf_names = None
        self.store.invalidate()
        key = self.current_key
        self.current_key = ""
        self.show_view(key)
        self._load_info()
        self.reload_draft()
        if self._current_record:
            self.open_record(self._current_record)

    def _busy(self, busy: bool) -> None:
        # Only show the spinner for work that lasts: quick reads would make it flicker.
        if busy:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
            self.busy_bar.hide()

    def about(self) -> None:
        AboutDialog(self.kb, self).exec()

    def set_theme(self, key: str) -> None:
        self.settings.set_theme(key)
        if self.theme is not None:
            self.theme.apply(key)
        if self.view.detail is not None:
            self.view.show_detail(self.view.detail)

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

    def _users(self) -> None:
        if self.actor is None:
            return
        from curator.users_dialog import UsersDialog

        UsersDialog(self.kb, self.actor, self).exec()

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        for action in (self.act_edit, self.act_delete, self.act_new):
            menu.addAction(action)
        return menu
