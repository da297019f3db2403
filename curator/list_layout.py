"""Lists as each curator wants them: which columns, in which order, and named filters — all
remembered per user and record type (curator/settings.py keeps them in QSettings).

- Columns: right-click the header to show or hide one, drag a header to move it. The id column
  always shows. A type nobody has arranged yet starts from `DEFAULT_HIDDEN`.
- Compact rows: assertions show level, implication and line of therapy in short forms
  (`SHORT_FORMS`, the full words in the tooltip) and cap the widths of the wide columns, so
  expression, therapy, tumour types, level, implication and line fit a 1280-pixel window.
- Saved filters: the search text and the column filters under a name, re-applied from the
  "Saved filters" menu beside the row count.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QHeaderView, QInputDialog, QMenu, QSizePolicy, QToolButton

from curator.records_page import RecordsPage
from curator.settings import Settings
from kb.model.enums import RecordType

# Columns a type hides until its user shows them: the KB version a record was last changed in
# says little in a list.
DEFAULT_HIDDEN: dict[str, frozenset[str]] = {
    rtype.value: frozenset({"version"}) for rtype in RecordType
}
SHORT_FORMS: dict[str, dict[str, dict[str, str]]] = {
    "assertion": {
        "line": {
            "first line": "1L", "second line plus": "2L+", "any": "any",
            "adjuvant": "adjuv.", "neoadjuvant": "neoadj.", "maintenance": "maint.",
        },
        "implication": {
            "sensitive": "sens.", "resistant": "resist.", "diagnostic": "diagn.",
            "prognostic": "progn.",
        },
    },
}  # fmt: skip
SHORT_TITLES: dict[str, dict[str, str]] = {
    "assertion": {"implication": "Impl.", "tumour_types": "Tumours", "line": "Line"},
}
# Widest a column starts (pixels); the user may drag it wider.
WIDTH_CAPS: dict[str, int] = {
    "therapy": 118, "tumour_types": 90, "level": 50, "drugs": 160, "gene": 90,
}  # fmt: skip


class ColumnLayout(QObject):
    """Shows, hides and orders the records page's columns as the user chose them."""

    def __init__(self, page: RecordsPage, settings: Settings, user: str) -> None:
        super().__init__(page)
        self.page = page
        self.settings = settings
        self.user = user
        self._applying = False
        header = page.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        header.sectionMoved.connect(self._moved)
        page.type_shown.connect(self.apply)
        if page.model.rtype is not None:
            self.apply(page.model.rtype)

    @property
    def header(self) -> QHeaderView:
        return self.page.table.horizontalHeader()

    def keys(self) -> list[str]:
        return [column.key for column in self.page.model.columns]

    def shown_keys(self) -> list[str]:
        """The keys of the columns shown, left to right."""
        keys, header = self.keys(), self.header
        logical = [header.logicalIndex(visual) for visual in range(header.count())]
        return [keys[i] for i in logical if 0 <= i < len(keys) and not header.isSectionHidden(i)]

    def apply(self, rtype: RecordType) -> None:
        """Arrange the columns of `rtype` as the user left them (or the defaults)."""
        keys = self.keys()
        saved = self.settings.list_columns(self.user, rtype.value)
        if saved is None:
            hidden = DEFAULT_HIDDEN.get(rtype.value, frozenset())
            wanted = [key for key in keys if key not in hidden]
        else:
            wanted = [key for key in saved if key in keys]
        if "id" not in wanted:
            wanted.insert(0, "id")
        self._applying = True
        try:
            header = self.header
            for visual, key in enumerate(wanted):
                header.moveSection(header.visualIndex(keys.index(key)), visual)
            for logical, key in enumerate(keys):
                header.setSectionHidden(logical, key not in wanted)
        finally:
            self._applying = False
        forms = SHORT_FORMS.get(rtype.value, {})
        titles = SHORT_TITLES.get(rtype.value, {})
        self.page.model.set_short_forms(
            {keys.index(key): short for key, short in forms.items() if key in keys},
            {keys.index(key): title for key, title in titles.items() if key in keys},
        )
        self._compact(forms, titles)

    def _compact(self, forms: dict[str, dict[str, str]], titles: dict[str, str]) -> None:
        header, metrics = self.header, self.page.fontMetrics()
        columns = self.page.model.columns
        stretch = None
        for logical, column in enumerate(columns):
            if header.isSectionHidden(logical):
                continue
            if column.stretch:
                stretch = logical
                continue
            width = header.sectionSize(logical)
            if column.key in forms or column.key == "id":
                title = titles.get(column.key, column.title)
                values = forms.get(column.key, {}).values() or ["XX-00000"]
                width = max(metrics.horizontalAdvance(t) for t in [title, *values]) + 18
            width = min(width, WIDTH_CAPS.get(column.key, width))
            header.resizeSection(logical, width)
        if stretch is not None:
            # The main text column takes what the others leave, at any window width.
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        self.page.filters.place()

    def set_shown(self, key: str, shown: bool) -> None:
        """Show or hide one column (the id column always shows) and remember it."""
        if key == "id" or key not in self.keys():
            return
        logical = self.keys().index(key)
        self.header.setSectionHidden(logical, not shown)
        if shown and self.header.sectionSize(logical) < 30:
            self.header.resizeSection(logical, 100)
        self._save()
        self.page.filters.place()

    def move(self, key: str, visual: int) -> None:
        """Move one column to the `visual` position (what dragging its header does)."""
        header = self.header
        header.moveSection(header.visualIndex(self.keys().index(key)), visual)

    def reset(self) -> None:
        rtype = self.page.model.rtype
        if rtype is None:
            return
        self.settings.clear_list_columns(self.user, rtype.value)
        self.apply(rtype)

    def _moved(self, *_args: object) -> None:
        if not self._applying:
            self._save()
            self.page.filters.place()

    def _save(self) -> None:
        rtype = self.page.model.rtype
        if rtype is not None and not self._applying:
            self.settings.set_list_columns(self.user, rtype.value, self.shown_keys())

    def header_menu(self) -> QMenu:
        menu = QMenu(self.page)
        menu.setObjectName("columns_menu")
        shown = set(self.shown_keys())
        for column in self.page.model.columns:
            action = menu.addAction(column.title)
            action.setObjectName(f"column_{column.key}")
            action.setCheckable(True)
            action.setChecked(column.key in shown)
            action.setEnabled(column.key != "id")
            action.toggled.connect(lambda on, key=column.key: self.set_shown(key, on))
        menu.addSeparator()
        reset = menu.addAction("Reset columns")
        reset.setObjectName("reset_columns")
        reset.triggered.connect(lambda _checked=False: self.reset())
        return menu

    def _header_menu(self, pos: QPoint) -> None:
        self.header_menu().exec(self.header.mapToGlobal(pos))


class SavedFilters(QObject):
    """Named filters (search text and column filters) for the records page, per user and type."""

    def __init__(self, page: RecordsPage, settings: Settings, user: str) -> None:
        super().__init__(page)
        self.page = page
        self.settings = settings
        self.user = user
        self.button = QToolButton()
        self.button.setObjectName("saved_filters")
        self.button.setText("Saved filters")
        self.button.setToolTip("Save the search and column filters under a name, or apply one")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self._fill)
        self.button.setMenu(self.menu)
        page.footer.insertWidget(page.footer.indexOf(page.clear_button), self.button)
        # The footer gained a button: let the count give way, not the window's minimum width.
        page.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _rtype(self) -> str | None:
        rtype = self.page.model.rtype
        return rtype.value if rtype is not None else None

    def current(self) -> dict[str, Any]:
        """The filter shown now, as it is saved."""
        columns = self.page.model.columns
        return {
            "search": self.page.search.text().strip(),
            "columns": {
                columns[i].key: edit.text()
                for i, edit in enumerate(self.page.filters.edits)
                if i < len(columns) and edit.text().strip()
            },
        }

    def names(self) -> list[str]:
        rtype = self._rtype()
        return sorted(self.settings.saved_filters(self.user, rtype)) if rtype else []

    def save(self, name: str) -> None:
        rtype = self._rtype()
        name = name.strip()
        if not rtype or not name:
            return
        filters = self.settings.saved_filters(self.user, rtype)
        filters[name] = self.current()
        self.settings.set_saved_filters(self.user, rtype, filters)

    def delete(self, name: str) -> None:
        rtype = self._rtype()
        if rtype:
            filters = self.settings.saved_filters(self.user, rtype)
            filters.pop(name, None)
            self.settings.set_saved_filters(self.user, rtype, filters)

    def apply(self, name: str) -> bool:
        """Show the rows the saved filter `name` keeps; False if there is no such filter."""
        rtype = self._rtype()
        saved = self.settings.saved_filters(self.user, rtype).get(name) if rtype else None
        if saved is None:
            return False
        self.page.clear_filters()
        self.page.search.setText(str(saved.get("search", "")))
        columns = saved.get("columns", {})
        for key, text in columns.items() if isinstance(columns, dict) else ():
            self.page.set_column_filter(str(key), str(text))
        return True

    def ask_and_save(self) -> None:
        name, ok = QInputDialog.getText(
            self.page, "Save filter", "Name this filter (search and column filters):"
        )
        if ok and name.strip():
            self.save(name)

    def _fill(self) -> None:
        self.menu.clear()
        save = self.menu.addAction("Save current filter…")
        save.setObjectName("save_filter")
        has_filter = bool(self.current()["search"] or self.current()["columns"])
        save.setEnabled(has_filter)
        save.triggered.connect(lambda _checked=False: self.ask_and_save())
        names = self.names()
        if names:
            self.menu.addSeparator()
        for name in names:
            action = self.menu.addAction(name)
            action.triggered.connect(lambda _checked=False, n=name: self.apply(n))
        if names:
            remove = self.menu.addMenu("Delete saved filter")
            for name in names:
                action = remove.addAction(name)
                action.triggered.connect(lambda _checked=False, n=name: self.delete(n))


def install_list_tools(
    page: RecordsPage, settings: Settings, user: str
) -> tuple[ColumnLayout, SavedFilters]:
    """Per-user columns and saved filters on `page`."""
    return ColumnLayout(page, settings, user), SavedFilters(page, settings, user)
