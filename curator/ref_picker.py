"""Reference fields as searchable pickers: type a name, see matching records with their ids and a
one-line summary, choose one with the keyboard or the mouse; the id is what goes in the field.

The matches come from the store's in-memory `ReferenceIndex` (curator/ref_index.py), searched on
each edit in milliseconds; the popup is a `QCompleter` in unfiltered mode over a small model of
those matches only, so Qt never scans 100,000 rows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QHeaderView, QLineEdit, QTreeView

from curator.choices import KEY_ROLE, ChoiceStore
from curator.ref_index import Match

_Index = QModelIndex | QPersistentModelIndex
HEADERS = ("ID", "Name", "Summary")
MAX_MATCHES = 50


class MatchModel(QAbstractTableModel):
    """The matches of one search: id, title and summary; KEY_ROLE gives the id."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.matches: list[Match] = []

    def set_matches(self, matches: list[Match]) -> None:
        self.beginResetModel()
        self.matches = list(matches)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.matches)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.matches):
            return None
        match = self.matches[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (match.key, match.title, match.summary)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{match.key} — {match.title}\n{match.summary}".strip()
        if role == KEY_ROLE:
            return match.key
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None


class ReferencePicker(QCompleter):
    """Searches `store`'s records of `key` as the user types in `edit` and inserts the chosen
    id (for a list field: replaces the last comma-separated item)."""

    def __init__(self, edit: QLineEdit, store: ChoiceStore, key: str, *, multiple: bool) -> None:
        self.results = MatchModel()
        super().__init__(self.results, edit)
        self.results.setParent(self)
        self.edit = edit
        self.store = store
        self.key = key
        self.multiple = multiple
        self.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setMaxVisibleItems(12)
        view = QTreeView()
        view.setObjectName(f"picker_{key}")
        view.setRootIsDecorated(False)
        view.setUniformRowHeights(True)
        view.setAllColumnsShowFocus(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.header().setStretchLastSection(True)
        # No header: QCompleter sizes its popup by rows alone, and the columns say what they are.
        view.header().hide()
        view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setPopup(view)
        self.setWidget(edit)
        self.activated[str].connect(self._chosen)
        edit.textEdited.connect(self.search)
        store.updated.connect(self._store_updated)
        store.index(key)  # read the records now, while the user looks at the form

    def query(self) -> str:
        text = self.edit.text()
        return (text.rsplit(",", 1)[-1] if self.multiple else text).strip()

    def search(self, *_args: object) -> list[Match]:
        """Find the records the typed text names and show them under the field."""
        query = self.query()
        matches = self.store.index(self.key).search(query, limit=MAX_MATCHES) if query else []
        self.results.set_matches(matches)
        popup = self.popup()
        if not matches:
            popup.hide()
            return matches
        width = max(self.edit.width(), 620)
        assert isinstance(popup, QTreeView)
        popup.setColumnWidth(0, 90)
        popup.setColumnWidth(1, min(260, width // 2))
        self.complete(QRect(0, 0, width, self.edit.height()))
        return matches

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        key = str(self.results.data(self.results.index(index.row(), 0), KEY_ROLE) or "")
        if not self.multiple:
            return key
        text = self.edit.text()
        head = text.rsplit(",", 1)[0].strip() if "," in text else ""
        return f"{head}, {key}" if head else key

    def splitPath(self, path: str) -> list[str]:
        # Unfiltered: the popup shows the matches as they are, never Qt's own prefix filter.
        del path
        return []

    def choose(self, row: int) -> str:
        """Insert the match in `row` (what Enter or a click on it does)."""
        text = self.pathFromIndex(self.results.index(row, 0))
        self._chosen(text)
        return text

    def _chosen(self, text: str) -> None:
        self.edit.setText(text)
        self.popup().hide()

    def _store_updated(self, key: str) -> None:
        # The records arrived (or were read again) while the user was typing: search again.
        if key == self.key and self.edit.hasFocus() and self.query():
            self.search()


def attach_picker(
    edit: QLineEdit, store: ChoiceStore, key: str, *, multiple: bool
) -> ReferencePicker:
    """Make `edit` a searchable picker of `key`'s records (a record type value, or tumour codes)."""
    return ReferencePicker(edit, store, key, multiple=multiple)
