"""A record's history and the differences between any two KB versions.

Both are read on a worker thread as plain data (kb.versions.record_history, and
kb.versions.version_records + kb.diff.diff_records — what `kb diff A B` prints) and shown as
flat tables, one row per field change, so that they sort and scroll like every other table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from curator.change_set_view import colours, display_value, record_titles, thread_html
from curator.qt_compat import emit
from curator.record_detail import referenced_ids
from curator.record_view import field_label, type_label
from curator.table_model import ReadOnlyTableModel
from curator.theme import is_dark
from curator.workers import CancelToken, Task, TaskFailure, Workers
from kb.model.enums import RecordType
from kb.model.records import type_of_human_id
from kb.review.comments import RecordThread, record_threads
from kb.review.diff import diff_records
from kb.review.versions import VersionRow, list_versions, record_history
from kb.storage.db import Kb
from kb.storage.revisions import version_records
from kb.storage.rows import reference_titles

_Index = QModelIndex | QPersistentModelIndex
_MAX_CELL = 160


def _short(text: str) -> str:
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryRow:
    version: int
    at: str
    by: str
    change_set: str | None
    op: str  # create | update | delete
    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class HistoryData:
    human_id: str
    title: str
    rows: tuple[HistoryRow, ...]  # newest version first
    # The review comments on the record's changes, by change set: those in no version first,
    # then newest version first.
    threads: tuple[RecordThread, ...] = ()

    @property
    def comment_count(self) -> int:
        return sum(len(thread.comments) for thread in self.threads)


def load_history(session: Session, human_id: str) -> HistoryData:
    """Every version of one record, field by field, with references shown by title."""
    human_id = human_id.strip().upper()
    rtype = type_of_human_id(human_id)
    entries = record_history(session, human_id)
    references: set[str] = {human_id}
    for entry in entries:
        for name, values in entry.changes.items():
            for value in (values["old"], values["new"]):
                references.update(referenced_ids(rtype, {name: value}))
    titles = reference_titles(session, references)
    rows = []
    for entry in reversed(entries):
        for name, values in entry.changes.items():
            rows.append(
                HistoryRow(
                    entry.version,
                    entry.at,
                    entry.by,
                    entry.change_set,
                    entry.op,
                    name,
                    display_value(rtype, name, values["old"], titles),
                    display_value(rtype, name, values["new"], titles),
                )
            )
    threads = tuple(record_threads(session, human_id))
    return HistoryData(human_id, titles.get(human_id, human_id), tuple(rows), threads)


def threads_html(data: HistoryData, tints: Mapping[str, str]) -> str:
    """The comments beside a record's versions: a heading per change set (its version, or why
    it has none), a link to open it, and its thread as the review page shows it."""
    if not data.threads:
        return (
            f'<p style="color:{tints["muted"]}">No review comments on changes to '
            f"{data.human_id}.</p>"
        )
    out = []
    for thread in data.threads:
        name = thread.change_set
        where = (
            f"v{thread.merged_version}"
            if thread.merged_version is not None
            else f"{thread.status.value}, in no version"
        )
        out.append(
            f'<a name="{name}"></a><h4>{where} · <a href="cs:{name}">{name}</a></h4>'
            + thread_html(thread.comments, tints)
        )
    return "".join(out)


@dataclass(frozen=True, slots=True)
class DiffRow:
    rtype: str
    change: str  # added | changed | removed
    human_id: str
    title: str
    field: str = ""
    old: str = ""
    new: str = ""


@dataclass(frozen=True, slots=True)
class VersionDiff:
    old: int
    new: int
    rows: tuple[DiffRow, ...]
    counts: Mapping[str, Mapping[str, int]]  # type -> added / changed / removed

    def summary(self) -> str:
        parts = []
        for rtype, counts in self.counts.items():
            shown = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
            if shown:
                parts.append(f"{type_label(RecordType(rtype))}s: {shown}")
        return "; ".join(parts) if parts else "No differences"


def load_version_diff(session: Session, old: int, new: int) -> VersionDiff:
    """Records added, changed field by field, and removed from version `old` to `new`."""
    before, after = version_records(session, old, new)
    diff = diff_records(before, after)
    named: dict[str, tuple[RecordType, Mapping[str, Any]]] = {}
    references: set[str] = set()
    for index in (after, before):  # titles as of `new`, else as they were at `old`
        for rtype, entries in index.items():
            for human_id, entry in entries.items():
                fields = entry.get("fields") or {}
                named.setdefault(human_id, (RecordType(rtype), fields))
                references.update(referenced_ids(RecordType(rtype), fields))
    titles = record_titles(session, named)
    titles.update(reference_titles(session, references - titles.keys()))
    rows: list[DiffRow] = []
    for rtype_name, type_diff in diff.types.items():
        rtype = RecordType(rtype_name)
        for human_id in type_diff.added:
            rows.append(DiffRow(rtype_name, "added", human_id, titles.get(human_id, "")))
        for change in type_diff.changed:
            human_id = change["id"]
            for name, values in change["fields"].items():
                rows.append(
                    DiffRow(
                        rtype_name,
                        "changed",
                        human_id,
                        titles.get(human_id, ""),
                        name,
                        display_value(rtype, name, values["old"], titles),
                        display_value(rtype, name, values["new"], titles),
                    )
                )
        for human_id in type_diff.removed:
            rows.append(DiffRow(rtype_name, "removed", human_id, titles.get(human_id, "")))
    counts = {
        rtype: {"added": c["added"], "changed": c["changed"], "removed": c["removed"]}
        for rtype, c in diff.counts().items()
    }
    return VersionDiff(old, new, tuple(rows), counts)


# --- models ----------------------------------------------------------------------------------


class _RowsModel(ReadOnlyTableModel):
    """A read-only table over frozen rows; subclasses say how a row reads."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self.colours = colours(False)

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def cells(self, row: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def colour(self, row: Any, column: int) -> str | None:
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _short(self.cells(row)[index.column()])
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.cells(row)[index.column()] or None
        if role == Qt.ItemDataRole.ForegroundRole:
            name = self.colour(row, index.column())
            return QColor(self.colours[name]) if name else None
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None


_OPS = {"create": "created", "update": "changed", "delete": "deleted"}


class HistoryModel(_RowsModel):
    HEADERS = ("Version", "When", "By", "Change set", "Change", "Field", "Old", "New")

    def cells(self, row: HistoryRow) -> tuple[str, ...]:
        return (
            f"v{row.version}",
            row.at.replace("T", " "),
            row.by,
            row.change_set or "—",
            _OPS.get(row.op, row.op),
            field_label(row.field),
            row.old,
            row.new,
        )

    def colour(self, row: HistoryRow, column: int) -> str | None:
        if column == 4:
            return {"create": "gained", "delete": "lost"}.get(row.op)
        if column == 6 and row.op != "create":
            return "muted"
        return None


class VersionDiffModel(_RowsModel):
    HEADERS = ("Type", "Change", "Record", "Field", "Old", "New")

    def cells(self, row: DiffRow) -> tuple[str, ...]:
        record = f"{row.human_id} — {row.title}" if row.title else row.human_id
        return (
            type_label(RecordType(row.rtype)),
            row.change,
            record,
            field_label(row.field) if row.field else "",
            row.old,
            row.new,
        )

    def colour(self, row: DiffRow, column: int) -> str | None:
        if column == 1:
            return {"added": "gained", "removed": "lost"}.get(row.change)
        if column == 4:
            return "muted"
        return None


def _table(name: str, model: QAbstractTableModel) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return table


# --- dialogs ---------------------------------------------------------------------------------


class HistoryDialog(QDialog):
    """Every version of one record: who, when, which change set, each field old → new."""

    loaded = Signal(str)
    open_change_set = Signal(str)

    def __init__(
        self, kb: Kb, workers: Workers, human_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("history_dialog")
        self.setWindowTitle(f"History of {human_id}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.human_id = human_id
        self.data: HistoryData | None = None
        self.heading = QLabel(f"Reading the history of {human_id}…")
        self.heading.setObjectName("history_heading")
        self.heading.setWordWrap(True)
        self.model = HistoryModel(self)
        self.model.colours = colours(is_dark(self.palette()))
        self.table = _table("history", self.model)
        self.table.doubleClicked.connect(self._open)
        self.table.setToolTip("Double-click a row to open its change set")
        self.table.selectionModel().currentRowChanged.connect(self._follow)
        # Beside the versions, the review conversation about each change to the record.
        self.comments = QTextBrowser()
        self.comments.setObjectName("history_comments")
        self.comments.setOpenLinks(False)
        self.comments.anchorClicked.connect(self._link)
        comments_box = QWidget()
        comments_layout = QVBoxLayout(comments_box)
        comments_layout.setContentsMargins(0, 0, 0, 0)
        comments_label = QLabel("<b>Comments</b>")
        comments_label.setToolTip(
            "What curators and reviewers said about changes to this record, and the reasons "
            "given with decisions"
        )
        comments_layout.addWidget(comments_label)
        comments_layout.addWidget(self.comments, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("history_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(comments_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(buttons)
        self.resize(1240, 480)
        self.splitter.setSizes([880, 340])

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> HistoryData:
            with kb.read() as session:
                return load_history(session, human_id)

        workers.read(f"history {human_id}", work, on_result=self._arrived, on_error=self._failed)

    def _arrived(self, data: HistoryData) -> None:
        self.data = data
        self.model.set_rows(data.rows)
        versions = len({row.version for row in data.rows})
        comments = data.comment_count
        self.heading.setText(
            f"<b>{data.human_id}</b> — {data.title}: {versions} version"
            f"{'s' if versions != 1 else ''}, newest first"
            + (f"; {comments} comment{'s' if comments != 1 else ''}" if comments else "")
        )
        self.comments.setHtml(threads_html(data, self.model.colours))
        for column, width in enumerate((60, 150, 70, 80, 64, 110, 160)):
            self.table.horizontalHeader().resizeSection(column, width)
        emit(self.loaded, data.human_id)

    def _failed(self, failure: TaskFailure) -> None:
        self.heading.setText(failure.message)

    def _open(self, index: QModelIndex) -> None:
        row = index.data(Qt.ItemDataRole.UserRole)
        if isinstance(row, HistoryRow) and row.change_set:
            emit(self.open_change_set, row.change_set)

    def _follow(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Bring the comments of the selected version's change set into view."""
        row = current.data(Qt.ItemDataRole.UserRole)
        if isinstance(row, HistoryRow) and row.change_set:
            self.comments.scrollToAnchor(row.change_set)

    def _link(self, url: QUrl) -> None:
        if url.scheme() == "cs":
            emit(self.open_change_set, url.path())


class DiffDialog(QDialog):
    """Pick versions A and B; see what was added, changed field by field, and removed."""

    compared = Signal()

    def __init__(self, kb: Kb, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diff_dialog")
        self.setWindowTitle("Compare KB versions")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.kb = kb
        self.workers = workers
        self.diff: VersionDiff | None = None
        self._task: Task | None = None
        self.old = QComboBox()
        self.old.setObjectName("version_a")
        self.new = QComboBox()
        self.new.setObjectName("version_b")
        for combo in (self.old, self.new):
            combo.setMinimumContentsLength(36)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("compare")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare)
        self.type_filter = QComboBox()
        self.type_filter.setObjectName("type_filter")
        self.type_filter.addItem("All record types", "")
        self.type_filter.currentIndexChanged.connect(lambda _n: self._show_rows())
        top = QHBoxLayout()
        top.addWidget(QLabel("A"))
        top.addWidget(self.old)
        top.addWidget(QLabel("→ B"))
        top.addWidget(self.new)
        top.addWidget(self.compare_button)
        top.addStretch(1)
        top.addWidget(self.type_filter)
        self.summary = QLabel("Reading the versions…")
        self.summary.setObjectName("diff_summary")
        self.summary.setWordWrap(True)
        self.model = VersionDiffModel(self)
        self.model.colours = colours(is_dark(self.palette()))
        self.table = _table("version_diff", self.model)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(1100, 560)

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> list[VersionRow]:
            with kb.read() as session:
                return list_versions(session)

        workers.read("versions", work, on_result=self._versions, on_error=self._failed)

    def _versions(self, versions: list[VersionRow]) -> None:
        for combo in (self.old, self.new):
            combo.clear()
            combo.addItem("v0 — empty KB", 0)
            for version in versions:
                what = version.change_set or version.note or "created"
                when = version.created_at.replace("T", " ")[:16]
                combo.addItem(
                    f"v{version.number} — {what} ({version.created_by}, {when})", version.number
                )
                combo.setItemData(combo.count() - 1, version.note, Qt.ItemDataRole.ToolTipRole)
        newest = len(versions)
        self.new.setCurrentIndex(newest)
        self.old.setCurrentIndex(max(newest - 1, 0))
        self.compare_button.setEnabled(True)
        self.summary.setText("Pick two versions and press Compare.")
        if newest >= 1:
            self.compare()

    def set_versions(self, old: int, new: int) -> None:
        self.old.setCurrentIndex(self.old.findData(old))
        self.new.setCurrentIndex(self.new.findData(new))

    def compare(self) -> None:
        old, new = self.old.currentData(), self.new.currentData()
        if old is None or new is None:
            return
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> VersionDiff:
            with kb.read() as session:
                return load_version_diff(session, int(old), int(new))

        self.summary.setText(f"Comparing v{old} with v{new}…")
        self.compare_button.setEnabled(False)
        task = self.workers.read(f"diff {old} {new}", work)
        task.finished.connect(lambda result, t=task: self._compared(t, result))
        task.failed.connect(self._failed)
        self._task = task

    def _compared(self, task: Task, result: VersionDiff) -> None:
        self.compare_button.setEnabled(True)
        if task is not self._task:
            return
        self.diff = result
        current = self.type_filter.currentData()
        self.type_filter.blockSignals(True)
        self.type_filter.clear()
        self.type_filter.addItem("All record types", "")
        for rtype, counts in result.counts.items():
            if any(counts.values()):
                self.type_filter.addItem(f"{type_label(RecordType(rtype))}s", rtype)
        self.type_filter.setCurrentIndex(max(self.type_filter.findData(current), 0))
        self.type_filter.blockSignals(False)
        self.summary.setText(f"v{result.old} → v{result.new}: {result.summary()}")
        self._show_rows()
        emit(self.compared)

    def _show_rows(self) -> None:
        if self.diff is None:
            return
        rtype = self.type_filter.currentData()
        self.model.set_rows([row for row in self.diff.rows if not rtype or row.rtype == rtype])
        for column, width in enumerate((90, 70, 320, 130, 200)):
            self.table.horizontalHeader().resizeSection(column, width)

    def _failed(self, failure: TaskFailure) -> None:
        self.compare_button.setEnabled(True)
        self.summary.setText(failure.message)
