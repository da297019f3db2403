"""What an editor's completers offer: ids and titles of records, and OncoTree codes.

The lists are loaded off the UI thread on first need and kept until an edit changes them.
Completers match anywhere in "GN-00003 — BRAF" (so a gene is found by symbol, a drug by name)
and insert only the id or code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QCompleter, QLineEdit

from curator.qt_compat import emit
from curator.ref_index import ReferenceIndex
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import SPECIAL_SCOPES, RecordType
from kb.storage.db import Kb
from kb.storage.rows import choices_from, load_table, load_tumour_types

_Index = QModelIndex | QPersistentModelIndex
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
TUMOUR_KEY = "tumour_types"
Choice = tuple[str, str]


class ChoiceListModel(QAbstractListModel):
    """(key, title) pairs shown as "key — title"; KEY_ROLE gives the key alone."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[Choice] = []

    def set_items(self, items: Sequence[Choice]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        key, title = self._items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return f"{key} — {title}" if title else key
        if role == KEY_ROLE:
            return key
        return None


class ChoiceStore(QObject):
    """Completion lists per record type (and tumour codes), loaded on demand by a worker."""

    updated = Signal(str)  # a RecordType value, or TUMOUR_KEY

    def __init__(self, kb: Kb | None, workers: Workers | None, parent: QObject | None = None):
        super().__init__(parent)
        self._kb = kb
        self._workers = workers
        self._lists: dict[str, list[Choice]] = {}
        self._titles: dict[str, dict[str, str]] = {}
        self._loading: set[str] = set()
        self._indexes: dict[str, ReferenceIndex] = {}
        self._wanted: set[str] = set()  # keys a picker searches: read again after an edit
        self.models: dict[str, ChoiceListModel] = {}

    def model(self, key: str) -> ChoiceListModel:
        """The shared list model for `key`; asks for its data the first time."""
        if key not in self.models:
            self.models[key] = ChoiceListModel(self)
            self.models[key].set_items(self._lists.get(key, []))
        self.request(key)
        return self.models[key]

    def index(self, key: str) -> ReferenceIndex:
        """The search index of `key`'s records (empty until they are read; asks for them)."""
        self._wanted.add(key)
        self.request(key)
        found = self._indexes.get(key)
        if found is None:
            found = self._indexes[key] = ReferenceIndex([(k, t, "") for k, t in self.items(key)])
        return found

    def items(self, key: str) -> list[Choice]:
        return self._lists.get(key, [])

    def title(self, key: str, item: str) -> str | None:
        return self._titles.get(key, {}).get(item.strip().upper() if key != TUMOUR_KEY else item)

    def find(self, key: str, text: str) -> str | None:
        """The id a typed text stands for: an id itself, or a unique title (a gene symbol, a
        drug name), case-insensitive."""
        wanted = text.strip().upper()
        if not wanted:
            return None
        titles = self._titles.get(key, {})
        if wanted in titles:
            return wanted
        hits = [k for k, title in titles.items() if title.upper() == wanted]
        return hits[0] if len(hits) == 1 else None

    def set_items(
        self, key: str, items: Sequence[Choice], index: ReferenceIndex | None = None
    ) -> None:
        self._lists[key] = list(items)
        self._indexes[key] = index or ReferenceIndex([(k, t, "") for k, t in items])
        self._titles[key] = {k.upper() if key != TUMOUR_KEY else k: t for k, t in items}
        if key in self.models:
            self.models[key].set_items(items)
        emit(self.updated, key)

    def loaded(self, key: str) -> bool:
        return key in self._lists

    def request(self, key: str) -> None:
        if key in self._lists or key in self._loading or self._kb is None or not self._workers:
            return
        self._loading.add(key)
        kb = self._kb

        def load(
            _progress: Callable[[int, int], None], _cancel: CancelToken
        ) -> tuple[list[Choice], ReferenceIndex]:
            # The search index is built here, on the worker: 100,000 lower-cased lines.
            with kb.read() as session:
                if key == TUMOUR_KEY:
                    data = load_tumour_types(session)
                    entries = [(scope, "special scope", "") for scope in SPECIAL_SCOPES]
                    entries += [
                        (e.code, e.name, " · ".join(p for p in (e.main_type, e.tissue) if p))
                        for e in data.entries
                    ]
                    index = ReferenceIndex(entries)
                    return [(k, t) for k, t, _ in entries], index
                table = load_table(session, RecordType(key))
                return choices_from(table), ReferenceIndex.from_table(table)

        def done(loaded: tuple[list[Choice], ReferenceIndex]) -> None:
            self._loading.discard(key)
            self.set_items(key, *loaded)

        def failed(_failure: TaskFailure) -> None:
            self._loading.discard(key)

        self._workers.read(f"choices {key}", load, on_result=done, on_error=failed)

    def invalidate(self, keys: Sequence[str] | None = None) -> None:
        """Forget lists an edit may have changed; open completers reload them."""
        for key in list(keys) if keys is not None else list(self._lists):
            self._lists.pop(key, None)
            self._indexes.pop(key, None)
            if key in self.models or key in self._wanted:
                self.request(key)


class ListCompleter(QCompleter):
    """Completes the last comma-separated item of a line edit (or the whole text) and inserts
    the chosen key, not its title."""

    def __init__(self, model: ChoiceListModel, *, multiple: bool, parent: QObject | None = None):
        super().__init__(model, parent)
        self.multiple = multiple
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompletionRole(Qt.ItemDataRole.DisplayRole)
        self.setMaxVisibleItems(12)

    def splitPath(self, path: str) -> list[str]:
        if self.multiple:
            path = path.rsplit(",", 1)[-1]
        return [path.strip()]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        key = str(index.data(KEY_ROLE) or "")
        widget = self.widget()
        if not self.multiple or not isinstance(widget, QLineEdit):
            return key
        head = widget.text().rsplit(",", 1)[0] if "," in widget.text() else ""
        return f"{head.strip()}, {key}" if head.strip() else key
