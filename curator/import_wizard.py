"""The import wizard (issue 6 item 4): pick a file and a profile, see its first rows and the
column → field mapping, dry-run it, read the counts and the located errors, then apply.

kb decides everything that matters — how a profile maps columns, which rows are new, changed,
unchanged or invalid, whether applying is allowed — and the wizard only shows it (DESIGN §1).
Reading the file, the dry run, exporting errors and applying all run on workers
(curator/workers.py), so the window stays responsive and a dry run can be cancelled. A dry run
writes nothing; applying writes one draft change set in one transaction, or nothing at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)
from shiboken6 import isValid

from curator.extension import Host, Screen
from curator.import_mapping import GroupedErrors, MappingPage, SheetCells
from curator.qt_compat import emit
from curator.record_view import type_label
from curator.table_model import ReadOnlyTableModel
from curator.workers import Cancelled, CancelToken, Task, TaskFailure, Workers
from kb.errors import KbError
from kb.importing.candidates import Candidate, Vocabulary, candidates, mappable
from kb.importing.engine import TypeCounts, export_errors
from kb.importing.limits import column_letter
from kb.importing.model import ImportError_, SourceError
from kb.importing.profiles import (
    SheetMapping,
    header_key,
    load_profile,
    save_profile,
    with_value_map,
)
from kb.importing.progress import Cancelled as ImportCancelled
from kb.importing.progress import CancelToken as ImportCancelToken
from kb.importing.readers import Workbook, read_workbook
from kb.importing.report import group_errors, write_error_report
from kb.importing.service import ImportOutcome, import_file
from kb.importing.template import SHEET_TITLES, template_mappings
from kb.model.enums import RecordType
from kb.model.records import SPECS
from kb.review.changes import get_change_set, submit_change_set
from kb.review.users import Actor, Permission, why_not
from kb.storage.db import Kb

_Index = QModelIndex | QPersistentModelIndex
ERROR_ROLE = Qt.ItemDataRole.UserRole + 1

# Rows of the sheet shown on the first page: enough to recognise the file, cheap to draw.
PREVIEW_ROWS = 50
# A CTML document is text, not a sheet: its first lines are the preview.
_DOCUMENT_PREVIEW_BYTES = 64 * 1024
TOML = "toml"
CUSTOM = "custom"
PROFILES: tuple[tuple[str, str], ...] = (
    ("template", "KB Curator template"),
    ("civic-evidence", "CIViC evidence summary (TSV)"),
    ("civic-assertion", "CIViC assertion summary (TSV)"),
    ("ctml", "CTML trial documents (JSON or YAML)"),
    (CUSTOM, "Map the columns myself (saved as a .toml profile)"),
    (TOML, "Mapping profile (.toml file)…"),
)
_NOTES = {
    "template": "One sheet per record type, one row per record. Each header names a field; the "
    "ID column holds a record's id (to change it) or a name of your own (to refer to a new "
    "record from other rows). Sheets you leave out are skipped.",
    "civic-evidence": "The CIViC adapter reads the evidence summary by its own rules: each "
    "evidence item becomes an assertion with its biomarker expression, therapy and citation; "
    "DOID diseases map to OncoTree codes, CIViC levels to the KB's levels.",
    "civic-assertion": "The CIViC adapter reads the assertion summary by its own rules: each "
    "assertion becomes a KB assertion with its biomarker expression, therapy and citations; "
    "AMP/ASCO/CAP categories map to the KB's levels.",
    "ctml": "Each CTML document becomes a trial with its arms; each arm's match tree becomes a "
    "biomarker expression and its clinical criteria the arm's tumour types, age and sex.",
    TOML: "A mapping profile you wrote: which sheet, which header row and which column is "
    "which field (see docs/import-profiles.md).",
    CUSTOM: "Any sheet with its own column names: the next page maps its columns to fields "
    "and saves the mapping as a profile (the file named here), which `kb import --profile` "
    "takes as it is.",
}
_BUILTIN_NAMES = {key for key, _label in PROFILES if key not in (TOML, CUSTOM)}
_CIVIC = ("civic-evidence", "civic-assertion")
_OK = QColor("#2e9d5b")
_PROBLEM = QColor("#d64545")
_PROBLEM_FILL = QColor(214, 69, 69, 60)


# --- reading the file for the first page (Qt-free; runs on a worker) ---------------------------


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One column of the file and where the profile puts it."""

    sheet: str
    column: str  # the column letter; "" for a constant, a default or a missing column
    header: str
    rtype: str
    target: str  # a field name, "(record id)", or "" when the column is not used
    note: str = ""
    problem: bool = False


@dataclass(frozen=True, slots=True)
class SourcePreview:
    """What the first page shows: the file's sheets, the profile's mapping, or why not."""

    file: str
    profile: str
    kind: str
    sheets: tuple[SheetCells, ...]
    mapping: tuple[MappingRow, ...]
    note: str
    problem: str | None = None

    def sheet(self, name: str | None) -> SheetCells | None:
        """A sheet by name (None or "": the first, as kb locates rows of csv files)."""
        if not self.sheets:
            return None
        if not name:
            return self.sheets[0]
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        folded = name.strip().lower()
        return next((s for s in self.sheets if s.name.strip().lower() == folded), None)


def profile_note(profile: str) -> str:
    return _NOTES[profile if profile in _NOTES else TOML]


def read_source(path: Path, profile: str) -> SourcePreview:
    """Read `path` as `profile` will (same reader, same options) for the first page.

    Problems come back as `problem`, never raised: an unreadable file is something to show,
    and the dry run reports it again, located, in its error table.
    """
    note = profile_note(profile)
    try:
        if profile == "ctml":
            return _document_preview(path, profile, note)
        mappings: tuple[SheetMapping, ...] = ()
        if profile == CUSTOM:
            workbook = read_workbook(path)
        elif profile in _CIVIC:
            # CIViC free text holds literal quotes: the adapter reads with quoting off.
            workbook = read_workbook(path, delimiter="\t", quoting=False)
        elif profile == "template":
            # Every sheet, so a workbook that is not our template shows what it holds.
            workbook = read_workbook(path)
            mappings = template_mappings()
        else:
            loaded = load_profile(Path(profile))
            workbook = read_workbook(path, delimiter=loaded.delimiter, quoting=loaded.quoting)
            mappings = loaded.mappings
            note = f"{loaded.name}: {note}"
    except SourceError as exc:
        first = exc.errors[0] if exc.errors else None
        return SourcePreview(
            path.name, profile, "", (), (), note, first.message if first else str(exc)
        )
    except KbError as exc:
        return SourcePreview(path.name, profile, "", (), (), note, str(exc))
    except OSError as exc:
        return SourcePreview(path.name, profile, "", (), (), note, f"cannot read the file: {exc}")
    header_rows = {str(m.sheet or ""): m.header_row for m in mappings}
    sheets = tuple(
        SheetCells(sheet.name, header_rows.get(sheet.name, 1), sheet.rows)
        for sheet in workbook.sheets
    )
    if profile == "template" and workbook.kind in ("csv", "tsv"):
        problem = "a template is a workbook with one sheet per record type, not a text file"
        return SourcePreview(workbook.file, profile, workbook.kind, sheets, (), note, problem)
    rows = tuple(row for mapping in mappings for row in _mapping_rows(workbook, mapping))
    if profile == "template" and not rows and sheets:
        problem = (
            "the workbook has none of the template's sheets ("
            + ", ".join(SHEET_TITLES.values())
            + "); to import its own columns, choose “Map the columns myself”"
        )
        return SourcePreview(workbook.file, profile, workbook.kind, sheets, (), note, problem)
    return SourcePreview(workbook.file, profile, workbook.kind, sheets, rows, note)


def _document_preview(path: Path, profile: str, note: str) -> SourcePreview:
    with path.open("rb") as handle:
        head = handle.read(_DOCUMENT_PREVIEW_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    lines = [[line] for line in text.splitlines()[:PREVIEW_ROWS]]
    return SourcePreview(path.name, profile, "document", (SheetCells("", 0, lines),), (), note)


def _mapping_rows(workbook: Workbook, mapping: SheetMapping) -> list[MappingRow]:
    rtype = mapping.rtype
    fields = {spec.name for spec in SPECS[rtype]}
    try:
        sheet = workbook.sheet(mapping.sheet)
    except SourceError as exc:
        if mapping.optional:
            return []
        message = exc.errors[0].message if exc.errors else str(exc)
        return [MappingRow(str(mapping.sheet or ""), "", "", rtype.value, "", message, True)]
    if mapping.optional and not sheet.rows:
        return []
    name = sheet.name
    if mapping.header_row > len(sheet.rows):
        note = f"no header row at row {mapping.header_row}"
        return [MappingRow(name, "", "", rtype.value, "", note, True)]
    wanted = {header_key(k): v for k, v in mapping.columns.items()}
    id_key = header_key(mapping.id_column) if mapping.id_column else None
    out: list[MappingRow] = []
    seen: set[str] = set()
    for index, cell in enumerate(sheet.rows[mapping.header_row - 1]):
        if cell in ("", None):
            continue
        header, key, letter = str(cell), header_key(cell), column_letter(index)
        seen.add(key)
        if key == id_key:
            out.append(MappingRow(name, letter, header, rtype.value, "(record id)"))
            continue
        target = wanted.get(key) if wanted else key.replace(" ", "_")
        if target is None:
            out.append(MappingRow(name, letter, header, rtype.value, "", "ignored"))
        elif target not in fields:
            # The template reads strictly: a header that is no field stops the import.
            out.append(
                MappingRow(name, letter, header, rtype.value, "", f"not a field of {rtype}", True)
            )
        else:
            values = mapping.value_maps.get(target)
            note = (
                "values: " + ", ".join(f"{k} → {v}" for k, v in list(values.items())[:6])
                if values
                else ""
            )
            out.append(MappingRow(name, letter, header, rtype.value, target, note))
    for header, target in mapping.columns.items():
        if header_key(header) not in seen:
            out.append(
                MappingRow(name, "", header, rtype.value, target, "not in the header row", True)
            )
    for label, values in (("(constant)", mapping.constants), ("(when blank)", mapping.defaults)):
        for target, value in values.items():
            out.append(MappingRow(name, "", label, rtype.value, target, f"= {value!r}"))
    return out


def cell_text(value: Any) -> str:
    """A cell as the spreadsheet would show it (whole-number floats without ".0")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# --- models ---------------------------------------------------------------------------------


class _TableModel(ReadOnlyTableModel):
    """Shared Qt-contract plumbing: bounds checks, horizontal headers, read-only flags."""

    HEADERS: tuple[str, ...] = ()

    def _rows(self) -> int:
        return 0

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows()

    def _valid(self, index: _Index) -> bool:
        return (
            index.isValid()
            and 0 <= index.row() < self.rowCount()
            and 0 <= index.column() < self.columnCount()
        )


class SheetModel(QAbstractTableModel):
    """The first rows of a sheet as the spreadsheet shows them: letters across, row numbers
    down, the header row in bold."""

    def __init__(self, parent: Any = None, *, limit: int = PREVIEW_ROWS) -> None:
        super().__init__(parent)
        self._limit = limit
        self._rows: Sequence[Sequence[Any]] = ()
        self._columns = 0
        self._header_row = 0

    def set_sheet(self, sheet: SheetCells | None) -> None:
        self.beginResetModel()
        self._rows = sheet.rows[: self._limit] if sheet is not None else ()
        self._columns = max((len(row) for row in self._rows), default=0)
        self._header_row = sheet.header_row if sheet is not None else 0
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._columns

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < self._columns:
            return None
        row = self._rows[index.row()]
        value = row[index.column()] if index.column() < len(row) else ""
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = cell_text(value)
            return text if role == Qt.ItemDataRole.DisplayRole or len(text) > 40 else None
        if role == Qt.ItemDataRole.FontRole and index.row() + 1 == self._header_row:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or section < 0:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return column_letter(section) if section < self._columns else None
        return str(section + 1) if section < len(self._rows) else None


class MappingModel(_TableModel):
    HEADERS = ("Sheet", "Column", "Header", "Record type", "Field", "Note")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: tuple[MappingRow, ...] = ()

    def set_rows(self, rows: Sequence[MappingRow]) -> None:
        self.beginResetModel()
        self._items = tuple(rows)
        self.endResetModel()

    def _rows(self) -> int:
        return len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.ForegroundRole:
            if item.problem:
                return _PROBLEM
            return QColor(Qt.GlobalColor.gray) if not item.target else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (item.sheet, item.column, item.header, item.rtype, item.target, item.note)
        return values[index.column()]


class CountsModel(_TableModel):
    """Records per type by what applying would do (a record several rows propose counts once)."""

    HEADERS = ("Record type", "New", "Changed", "Unchanged", "Invalid")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: tuple[tuple[RecordType, TypeCounts], ...] = ()

    def set_counts(self, counts: dict[RecordType, TypeCounts]) -> None:
        self.beginResetModel()
        order = list(RecordType)
        self._items = tuple(sorted(counts.items(), key=lambda item: order.index(item[0])))
        self.endResetModel()

    def _rows(self) -> int:
        return len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        rtype, counts = self._items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole and column:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and counts.invalid:
            return _PROBLEM
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return type_label(rtype)
        return str((counts.new, counts.changed, counts.unchanged, counts.invalid)[column - 1])


class ErrorTableModel(_TableModel):
    """Every error of a dry run, located as the spreadsheet shows it."""

    HEADERS = ("File", "Sheet", "Row", "Column", "Field", "Message", "Value")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._errors: tuple[ImportError_, ...] = ()

    def set_errors(self, errors: Sequence[ImportError_]) -> None:
        self.beginResetModel()
        self._errors = tuple(errors)
        self.endResetModel()

    def error_at(self, row: int) -> ImportError_ | None:
        return self._errors[row] if 0 <= row < len(self._errors) else None

    def _rows(self) -> int:
        return len(self._errors)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        error = self._errors[index.row()]
        if role == ERROR_ROLE:
            return error
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{error.code}: {error}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        where = error.location
        values = (
            where.file,
            where.sheet or "",
            "" if where.row is None else str(where.row),
            where.column or "",
            error.field or "",
            error.message,
            "" if error.value is None else cell_text(error.value),
        )
        return values[index.column()]


class RowCellsModel(_TableModel):
    """One source row, cell by cell beside its header; the cells with errors stand out."""

    HEADERS = ("Column", "Header", "Value")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cells: tuple[tuple[str, str, str], ...] = ()
        self._problems: dict[str, str] = {}

    def set_row(self, header: Sequence[Any], row: Sequence[Any], problems: dict[str, str]) -> None:
        """`problems`: column letter -> message, for the cells an error points at."""
        self.beginResetModel()
        width = max(len(header), len(row))
        self._cells = tuple(
            (
                column_letter(i),
                cell_text(header[i]) if i < len(header) else "",
                cell_text(row[i]) if i < len(row) else "",
            )
            for i in range(width)
        )
        self._problems = dict(problems)
        self.endResetModel()

    def clear(self) -> None:
        self.set_row((), (), {})

    def _rows(self) -> int:
        return len(self._cells)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        letter, header, value = self._cells[index.row()]
        problem = self._problems.get(letter)
        if role == Qt.ItemDataRole.BackgroundRole and problem:
            return _PROBLEM_FILL
        if role == Qt.ItemDataRole.ToolTipRole:
            return problem or (value if len(value) > 40 else None)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (letter, header, value)[index.column()]


# --- the wizard --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying staged, as plain data for the UI thread."""

    summary: str
    change_set: str | None  # the change set's human id; None when nothing needed staging
    title: str = ""
    changes: int = 0
    skipped: int = 0
    change_set_id: str | None = None


def _table(model: QAbstractTableModel, name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def _tile(title: str) -> QLabel:
    label = QLabel()
    label.setObjectName(f"count_{title}")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setFrameShape(QFrame.Shape.StyledPanel)
    label.setMinimumWidth(84)
    label.setProperty("title", title)
    return label


class SourcePage(QWizardPage):
    """Step 1: the file, the profile, the first rows and the column → field mapping."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("File and profile")
        self.setSubTitle(
            "Choose the file to import and how to read it. Nothing is written until you "
            "apply the dry run, and then only as a draft change set for review."
        )
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("import_path")
        self.path_edit.setPlaceholderText("A spreadsheet (xlsx, xls, ods, csv, tsv) or CTML file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_file)
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("import_profile")
        for key, label in PROFILES:
            self.profile_combo.addItem(label, key)
        self.toml_edit = QLineEdit()
        self.toml_edit.setObjectName("import_toml")
        self.toml_edit.setPlaceholderText("The mapping profile (.toml)")
        self.toml_browse = QPushButton("Browse…")
        self.toml_browse.clicked.connect(self.browse_toml)
        self.doid_edit = QLineEdit()
        self.doid_edit.setObjectName("import_doid_map")
        self.doid_edit.setPlaceholderText(
            'Optional DOID mapping file (.toml): [doid] "DOID:3908" = ["NSCLC"]'
        )
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("profile_note")
        self.sheet_combo = QComboBox()
        self.sheet_combo.setObjectName("import_sheet")
        self.sheet_combo.setMinimumContentsLength(18)
        self.sheet_info = QLabel()
        self.status = QLabel()
        self.status.setObjectName("source_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)
        profile_row = QHBoxLayout()
        profile_row.addWidget(self.profile_combo)
        profile_row.addWidget(self.toml_edit, 1)
        profile_row.addWidget(self.toml_browse)
        sheet_row = QHBoxLayout()
        sheet_row.addWidget(self.sheet_combo)
        sheet_row.addWidget(self.sheet_info, 1)
        form = QFormLayout()
        form.addRow("File:", file_row)
        profile_box = QVBoxLayout()
        profile_box.setSpacing(2)
        profile_box.addLayout(profile_row)
        profile_box.addWidget(self.note)
        profile_box.addWidget(self.doid_edit)
        form.addRow("Profile:", profile_box)
        form.addRow("Sheet:", sheet_row)

        self.sheet_model = SheetModel(self)
        self.sheet_view = _table(self.sheet_model, "sheet_preview")
        self.sheet_view.horizontalHeader().setStretchLastSection(False)
        self.sheet_view.horizontalHeader().setDefaultSectionSize(110)
        self.mapping_model = MappingModel(self)
        self.mapping_view = _table(self.mapping_model, "mapping")
        first_rows = QWidget()
        top = QVBoxLayout(first_rows)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel(f"<b>First rows</b> (up to {PREVIEW_ROWS})"))
        top.addWidget(self.sheet_view)
        mapping = QWidget()
        bottom = QVBoxLayout(mapping)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(QLabel("<b>Column → field mapping</b> the profile applies"))
        bottom.addWidget(self.mapping_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(first_rows)
        splitter.addWidget(mapping)
        self.mapping_box = mapping
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

        # Typing a path reads the file once the user pauses, not per keystroke.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self._wizard.load_source)
        self.path_edit.textChanged.connect(self._changed)
        self.toml_edit.textChanged.connect(self._changed)
        self.profile_combo.currentIndexChanged.connect(self._profile_changed)
        self.sheet_combo.currentIndexChanged.connect(self._sheet_changed)
        self._profile_changed()

    # -- what the user chose ----------------------------------------------------------------

    def path(self) -> Path | None:
        text = self.path_edit.text().strip()
        return Path(text).expanduser() if text else None

    def profile(self) -> str | None:
        """The profile for kb (`template`, … or a .toml path); None while a .toml is missing."""
        key = str(self.profile_combo.currentData())
        if key not in (TOML, CUSTOM):
            return key
        text = self.toml_edit.text().strip()
        return str(Path(text).expanduser()) if text else None

    def custom(self) -> bool:
        """Whether the user maps the columns (the mapping page comes next)."""
        return bool(self.profile_combo.currentData() == CUSTOM)

    def doid_map(self) -> Path | None:
        text = self.doid_edit.text().strip()
        if not text or self.profile_combo.currentData() not in _CIVIC:
            return None
        return Path(text).expanduser()

    def nextId(self) -> int:
        wizard = self._wizard
        return wizard.mapping_id if self.custom() else wizard.dry_run_id

    def set_source(self, path: Path, profile: str, *, save_to: Path | None = None) -> None:
        if profile == CUSTOM:
            self.toml_edit.setText(str(save_to) if save_to else "")
            self.path_edit.setText(str(path))
            self.profile_combo.setCurrentIndex(self.profile_combo.findData(CUSTOM))
            return
        if profile in _BUILTIN_NAMES:
            self.profile_combo.setCurrentIndex(self.profile_combo.findData(profile))
        else:
            self.profile_combo.setCurrentIndex(self.profile_combo.findData(TOML))
            self.toml_edit.setText(profile)
        self.path_edit.setText(str(path))

    def stop_debounce(self) -> None:
        self._debounce.stop()

    def isComplete(self) -> bool:
        path, profile = self.path(), self.profile()
        if path is None or not path.is_file() or profile is None:
            return False
        if self.custom():
            return Path(profile).suffix.lower() == ".toml"
        return profile in _BUILTIN_NAMES or Path(profile).is_file()

    # -- reacting --------------------------------------------------------------------------

    def _changed(self) -> None:
        emit(self.completeChanged)
        self._debounce.start()

    def _profile_changed(self) -> None:
        key = str(self.profile_combo.currentData())
        toml = key in (TOML, CUSTOM)
        self.toml_edit.setVisible(toml)
        self.toml_browse.setVisible(key == TOML)
        self.toml_edit.setPlaceholderText(
            "Where to save the mapping profile (.toml)"
            if key == CUSTOM
            else "The mapping profile (.toml)"
        )
        self.doid_edit.setVisible(key in _CIVIC)
        if key == CUSTOM and not self.toml_edit.text().strip() and self.path() is not None:
            path = self.path()
            assert path is not None
            self.toml_edit.setText(str(self._wizard.start_folder / f"{path.stem}.profile.toml"))
        self.note.setText(profile_note(key))
        self._changed()

    def browse_file(self) -> None:
        start = str(self.path() or self._wizard.start_folder)
        chosen, _ = QFileDialog.getOpenFileName(
            self,
            "Import a file",
            start,
            "Spreadsheets and CTML (*.xlsx *.xlsm *.xls *.xlsb *.ods *.csv *.tsv *.txt *.json "
            "*.yaml *.yml);;All files (*)",
        )
        if not chosen:
            return
        if Path(chosen).suffix.lower() in (".json", ".yaml", ".yml"):
            # A JSON or YAML file can only be CTML among the built-in profiles.
            self.profile_combo.setCurrentIndex(self.profile_combo.findData("ctml"))
        self.path_edit.setText(chosen)

    def browse_toml(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Mapping profile", str(self._wizard.start_folder), "Mapping profiles (*.toml)"
        )
        if chosen:
            self.toml_edit.setText(chosen)

    def show_loading(self) -> None:
        self.status.setText("Reading the file…")

    def show_source(self, source: SourcePreview | None) -> None:
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        if source is not None:
            mapped = {row.sheet for row in source.mapping}
            for sheet in source.sheets:
                self.sheet_combo.addItem(sheet.name or "(the only sheet)", sheet.name)
            # Open on the first sheet the profile reads, not the template's instructions.
            first = next(
                (i for i, sheet in enumerate(source.sheets) if sheet.name in mapped and sheet.rows),
                0,
            )
            self.sheet_combo.setCurrentIndex(first)
        self.sheet_combo.setEnabled(self.sheet_combo.count() > 1)
        self.sheet_combo.blockSignals(False)
        if source is not None:
            self.note.setText(source.note)
        # Mapping columns yourself: the next page is the mapping, not this table.
        self.mapping_box.setVisible(not self.custom())
        if source is None:
            self.status.setText("")
        elif source.problem:
            self.status.setText(
                f"<span style='color:{_PROBLEM.name()}'>{source.file}: {source.problem}</span>"
            )
        else:
            used = sum(1 for row in source.mapping if row.target)
            self.status.setText(
                f"{source.file}: {source.kind}, {len(source.sheets)} sheet(s)"
                + (f"; the profile reads {used} column(s)" if source.mapping else "")
                + ". Next runs a dry run."
            )
        self._sheet_changed()

    def _sheet_changed(self) -> None:
        source = self._wizard.source
        name = self.sheet_combo.currentData()
        sheet = source.sheet(str(name) if name is not None else None) if source else None
        self.sheet_model.set_sheet(sheet)
        if source is None or sheet is None:
            self.mapping_model.set_rows(source.mapping if source else ())
            self.sheet_info.setText("")
            return
        self.sheet_info.setText(f"{len(sheet.rows):,} rows")
        rows = [row for row in source.mapping if row.sheet == sheet.name]
        self.mapping_model.set_rows(rows or source.mapping)
        self.mapping_view.resizeColumnsToContents()


# Fields of curated records (assertions, oncogenicity) a source row may offer new values for.
TAKE_CHOICES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("evidence_level",), "level"),
    (("source_scheme", "source_level"), "source level"),
    (("citations",), "citations"),
    (("description",), "description"),
)


class DryRunPage(QWizardPage):
    """Step 2: the dry run with progress and cancel, its counts and errors; Apply commits."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Dry run")
        self.setSubTitle(
            "What applying would do, row by row. Nothing has been written. Click an error to "
            "see its row."
        )
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Apply")
        self.progress = QProgressBar()
        self.progress.setObjectName("dry_run_progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel dry run")
        self.cancel_button.setObjectName("cancel_dry_run")
        self.cancel_button.clicked.connect(self._wizard.cancel_running)
        self.rerun_button = QPushButton("Run again")
        self.rerun_button.setObjectName("rerun")
        self.rerun_button.clicked.connect(self._wizard.start_dry_run)
        self.state = QLabel()
        self.state.setObjectName("dry_run_state")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        run_row = QHBoxLayout()
        run_row.addWidget(self.state, 1)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.rerun_button)

        self.tiles = {
            name: _tile(name) for name in ("rows", "new", "changed", "unchanged", "invalid")
        }
        tiles = QGridLayout()
        for number, tile in enumerate(self.tiles.values()):
            tiles.addWidget(tile, number // 3, number % 3)
        self.counts_model = CountsModel(self)
        self.counts_view = _table(self.counts_model, "counts_by_type")
        self.counts_view.verticalHeader().hide()
        self.counts_view.horizontalHeader().setStretchLastSection(False)
        self.counts_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        counts = QWidget()
        counts_layout = QVBoxLayout(counts)
        counts_layout.setContentsMargins(0, 0, 0, 0)
        counts_layout.addLayout(tiles)
        counts_layout.addWidget(QLabel("<b>Records by type</b>"))
        counts_layout.addWidget(self.counts_view, 1)

        self.error_model = ErrorTableModel(self)
        self.error_view = _table(self.error_model, "errors")
        self.error_view.verticalHeader().hide()
        self.error_view.selectionModel().currentRowChanged.connect(self._error_selected)
        self.row_model = RowCellsModel(self)
        self.row_view = _table(self.row_model, "error_row")
        self.row_view.verticalHeader().hide()
        self.row_label = QLabel("Click an error to see its row.")
        self.row_label.setObjectName("error_row_label")
        self.row_label.setWordWrap(True)
        self.export_button = QPushButton("Export errors…")
        self.export_button.setObjectName("export_errors")
        self.export_button.clicked.connect(self._wizard.export_errors_dialog)
        self.errors_heading = QLabel("<b>Errors</b>")
        errors_top = QHBoxLayout()
        errors_top.addWidget(self.errors_heading, 1)
        errors_top.addWidget(self.export_button)
        errors = QWidget()
        errors_layout = QVBoxLayout(errors)
        errors_layout.setContentsMargins(0, 0, 0, 0)
        errors_layout.addLayout(errors_top)
        errors_layout.addWidget(self.error_view)
        row = QWidget()
        row_layout = QVBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.row_label)
        row_layout.addWidget(self.row_view)
        problems = QSplitter(Qt.Orientation.Vertical)
        problems.addWidget(errors)
        problems.addWidget(row)
        # Errors by reason first: thousands of errors have a handful of reasons.
        self.grouped = GroupedErrors(wizard)
        self.report_button = QPushButton("Export by reason…")
        self.report_button.setObjectName("export_report")
        self.report_button.clicked.connect(self._wizard.export_report_dialog)
        by_reason = QWidget()
        by_reason_layout = QVBoxLayout(by_reason)
        by_reason_layout.setContentsMargins(0, 0, 0, 0)
        report_row = QHBoxLayout()
        self.groups_heading = QLabel("<b>Errors by reason</b>")
        report_row.addWidget(self.groups_heading, 1)
        report_row.addWidget(self.report_button)
        by_reason_layout.addLayout(report_row)
        by_reason_layout.addWidget(self.grouped, 1)
        self.error_tabs = QTabWidget()
        self.error_tabs.setObjectName("error_tabs")
        self.error_tabs.addTab(by_reason, "By reason")
        self.error_tabs.addTab(problems, "Every error")
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(counts)
        body.addWidget(self.error_tabs)
        body.setStretchFactor(1, 1)
        body.setSizes([340, 700])

        # A source row that matches a curated record only points at it; the curator may take
        # the source's value field by field (the dry run runs again with the choice).
        self.take_boxes: dict[tuple[str, ...], QCheckBox] = {}
        take_row = QHBoxLayout()
        take_row.addWidget(QLabel("Curated records a row matches: take the source's"))
        for names, label in TAKE_CHOICES:
            box = QCheckBox(label)
            box.setObjectName(f"take_{names[0]}")
            box.setToolTip(
                "Off: the curated value stands and the row only links to the record. On: "
                "the source's value replaces it, counted as a change."
            )
            box.toggled.connect(lambda _on: self._wizard.start_dry_run())
            self.take_boxes[names] = box
            take_row.addWidget(box)
        take_row.addStretch(1)
        self.skip_invalid = QCheckBox(
            "Skip invalid rows (import the others; the skipped rows "
            "stay on the change set with their errors)"
        )
        self.skip_invalid.setObjectName("skip_invalid")
        self.skip_invalid.toggled.connect(lambda _on: self.refresh())
        self.apply_hint = QLabel()
        self.apply_hint.setObjectName("apply_hint")
        self.apply_hint.setWordWrap(True)
        self.apply_progress = QProgressBar()
        self.apply_progress.setObjectName("apply_progress")
        self.apply_progress.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(run_row)
        layout.addWidget(body, 1)
        layout.addLayout(take_row)
        layout.addWidget(self.skip_invalid)
        layout.addWidget(self.apply_hint)
        layout.addWidget(self.apply_progress)
        self.show_outcome(None)

    def initializePage(self) -> None:
        self._wizard.start_dry_run()

    def take_fields(self) -> frozenset[str]:
        """The fields whose source values the curator chose to take."""
        return frozenset(
            name for names, box in self.take_boxes.items() if box.isChecked() for name in names
        )

    def cleanupPage(self) -> None:
        # Back to step 1: a dry run of the old choice is no use.
        self._wizard.cancel_running()
        self._wizard.outcome = None
        self.show_outcome(None)

    def isComplete(self) -> bool:
        return self._wizard.apply_refusal() is None

    def validatePage(self) -> bool:
        # Applying runs on a worker: the page moves on when it has succeeded (see `applied`).
        if self._wizard.applied_result is not None:
            return True
        self._wizard.start_apply()
        return False

    # -- showing -------------------------------------------------------------------------

    def set_running(self, running: bool, text: str) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.rerun_button.setVisible(not running)
        self.state.setText(text)
        if running:
            self.progress.setRange(0, 0)
        self.refresh()

    def show_progress(self, done: int, total: int) -> None:
        bar = self.apply_progress if self.apply_progress.isVisible() else self.progress
        if total <= 0:
            bar.setRange(0, 0)  # still reading the file: the total is not known yet
        else:
            bar.setRange(0, total)
            bar.setValue(done)

    def show_outcome(self, outcome: ImportOutcome | None) -> None:
        preview = outcome.preview if outcome else None
        numbers = {
            "rows": len(preview.rows) if preview else None,
            "new": preview.new if preview else None,
            "changed": preview.changed if preview else None,
            "unchanged": preview.unchanged if preview else None,
            "invalid": preview.invalid if preview else None,
        }
        for name, tile in self.tiles.items():
            value = numbers[name]
            colour = _PROBLEM.name() if name == "invalid" and value else ""
            style = (
                f"font-size:17pt;font-weight:600;color:{colour}"
                if colour
                else ("font-size:17pt;font-weight:600")
            )
            tile.setText(
                f"<span style='{style}'>{'—' if value is None else f'{value:,}'}</span><br>{name}"
            )
        self.counts_model.set_counts(dict(preview.by_type) if preview else {})
        errors = preview.errors if preview else []
        self.error_model.set_errors(errors)
        self.error_view.resizeColumnsToContents()
        self.error_view.setColumnWidth(5, min(self.error_view.columnWidth(5), 420))
        self.errors_heading.setText(f"<b>Errors</b> ({len(errors):,})")
        self.export_button.setEnabled(bool(errors))
        groups = group_errors(errors)  # a few ms even for a CIViC release's thousands
        self.grouped.show_groups(groups)
        self.groups_heading.setText(
            f"<b>Errors by reason</b> ({len(errors):,} error(s), {len(groups):,} reason(s))"
        )
        self.report_button.setEnabled(bool(errors))
        self.row_model.clear()
        self.row_label.setText("Click an error to see its row." if errors else "")
        self.refresh()

    def refresh(self) -> None:
        refusal = self._wizard.apply_refusal()
        outcome = self._wizard.outcome
        invalid = outcome is not None and outcome.preview.invalid > 0
        self.skip_invalid.setEnabled(invalid)
        if outcome is None:
            self.apply_hint.setText("")
        elif refusal:
            self.apply_hint.setText(f"Apply is not possible: {refusal}.")
        else:
            preview = outcome.preview
            kept = preview.new + preview.changed
            self.apply_hint.setText(
                f"Apply stages the {kept:,} new and changed row(s) as one draft change set"
                + (f", leaving out {preview.invalid:,} invalid row(s)" if invalid else "")
                + ". A reviewer approves it before anything reaches the KB."
            )
        wizard = self.wizard()
        if wizard is not None:
            button = wizard.button(QWizard.WizardButton.CommitButton)
            button.setToolTip(refusal or "Stage the import as a draft change set")
        emit(self.completeChanged)

    def _error_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        error = self.error_model.error_at(current.row()) if current.isValid() else None
        if error is not None:
            self._wizard.show_error_row(error)


class DonePage(QWizardPage):
    """Step 3: what was staged, and the way to it."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Applied")
        self.setSubTitle("The import is staged for review; nothing is merged until approved.")
        self.message = QLabel()
        self.message.setObjectName("applied_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open the draft")
        self.open_button.setObjectName("open_draft")
        self.open_button.clicked.connect(self._wizard.open_draft)
        self.submit_button = QPushButton("Submit for review")
        self.submit_button.setObjectName("submit_import")
        self.submit_button.clicked.connect(self._wizard.submit_applied)
        self.submit_state = QLabel()
        self.submit_state.setObjectName("submit_state")
        self.submit_state.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.submit_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addWidget(self.submit_state)
        layout.addStretch(1)

    def show_submitted(self, human_id: str) -> None:
        self.submit_button.setEnabled(False)
        self.submit_state.setText(
            f"Submitted <b>{human_id}</b> for review. A reviewer approves or rejects it."
        )

    def show_submit_failure(self, message: str) -> None:
        self.submit_button.setEnabled(True)
        self.submit_state.setText(
            f"<span style='color:{_PROBLEM.name()}'>Not submitted: {message}</span><br>Open "
            "the draft to correct what validation reports, then submit it again."
        )

    def initializePage(self) -> None:
        applied = self._wizard.applied_result
        self.submit_state.setText("")
        if applied is None:
            return
        if applied.change_set is None:
            self.message.setText(f"Nothing was staged: {applied.summary}.")
            self.open_button.hide()
            self.submit_button.hide()
            return
        self.submit_button.show()
        self.submit_button.setEnabled(True)
        skipped = (
            f"<br>{applied.skipped:,} invalid row(s) were left out; they are kept on the change "
            "set with their errors."
            if applied.skipped
            else ""
        )
        self.message.setText(
            f"Staged <b>{applied.change_set}</b> “{applied.title}” with {applied.changes:,} "
            f"change(s).<br>{applied.summary}.{skipped}<br><br>Submit it for review now, or "
            "look it over in the draft first."
        )
        self.open_button.show()


class ImportWizard(QWizard):
    """File → profile → dry run → apply. Emits `applied` with the staged change set's id."""

    source_loaded = Signal()
    candidates_ready = Signal(str, str)  # field, value
    value_mapped = Signal(str)  # the profile written
    report_exported = Signal(str)  # the file written
    submitted = Signal(str)  # the change set's human id
    dry_run_finished = Signal(str)  # "done", "cancelled" or "failed"
    applied = Signal(str)  # the change set's human id ("" when nothing was staged)
    apply_failed = Signal(str)
    errors_exported = Signal(str)  # the file written
    open_draft_requested = Signal(str)

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        workers: Workers,
        parent: QWidget | None = None,
        *,
        start_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.start_folder = start_folder or Path.home()
        self.setObjectName("import_wizard")
        self.setWindowTitle("Import")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.source: SourcePreview | None = None
        self.outcome: ImportOutcome | None = None
        self.applied_result: Applied | None = None
        self._run: tuple[Path, str] | None = None  # what the outcome was made from
        self._take: frozenset[str] = frozenset()  # the fields the dry run took from the source
        self._task: Task | None = None
        self._kb_token: ImportCancelToken | None = None
        self._source_task: Task | None = None
        self._vocabulary: Vocabulary | None = None
        self._vocabulary_task: Task | None = None
        self._wanted: tuple[str, str] | None = None  # candidates asked for, awaiting vocab
        self.submitted_change_set: str | None = None
        self.source_page = SourcePage(self)
        self.mapping_page = MappingPage(self)
        self.dry_run_page = DryRunPage(self)
        self.done_page = DonePage(self)
        self.source_id = self.addPage(self.source_page)
        self.mapping_id = self.addPage(self.mapping_page)
        self.dry_run_id = self.addPage(self.dry_run_page)
        self.done_id = self.addPage(self.done_page)
        self.resize(1060, 760)

    # -- choosing ------------------------------------------------------------------------

    def set_source(
        self, path: Path, profile: str = "template", *, save_to: Path | None = None
    ) -> None:
        """Choose the file and profile (as the first page would) and read the preview;
        `profile` CUSTOM maps the columns on the next page and saves them to `save_to`."""
        self.source_page.set_source(path, profile, save_to=save_to)
        self.source_page.stop_debounce()
        self.load_source()

    def load_source(self) -> None:
        """Read the chosen file for the first page's preview, off the UI thread."""
        path, profile = self.source_page.path(), self.source_page.profile()
        if self._source_task is not None and not self._source_task.is_done:
            self._source_task.cancel()
        if path is None or profile is None or not path.is_file():
            self.source = None
            self.source_page.show_source(None)
            if path is not None and not path.is_file():
                self.source_page.status.setText(f"No such file: {path}")
            return

        reading = CUSTOM if self.source_page.custom() else profile

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> SourcePreview:
            return read_source(path, reading)

        self.source_page.show_loading()
        task = self.workers.read(f"preview {path.name}", work)
        task.finished.connect(lambda source, t=task: self._source_arrived(t, source))
        task.failed.connect(lambda failure, t=task: self._source_failed(t, failure))
        self._source_task = task

    # Task callbacks check isValid(self) first: a task may finish after the wizard was closed
    # and deleted (WA_DeleteOnClose), and its result then has nowhere to go.

    def _source_arrived(self, task: Task, source: SourcePreview) -> None:
        if not isValid(self) or task is not self._source_task:
            return  # the user chose another file meanwhile
        self.source = source
        self.source_page.show_source(source)
        emit(self.source_loaded)

    def _source_failed(self, task: Task, failure: TaskFailure) -> None:
        if isValid(self) and task is self._source_task:
            self.source = None
            self.source_page.show_source(None)
            self.source_page.status.setText(f"Could not read the file: {failure.message}")
            emit(self.source_loaded)

    # -- the dry run ---------------------------------------------------------------------

    def start_dry_run(self) -> None:
        path, profile = self.source_page.path(), self.source_page.profile()
        if path is None or profile is None:
            return
        self.cancel_running()
        self.outcome = None
        self.applied_result = None
        self.dry_run_page.show_outcome(None)
        kb = self.kb
        token = ImportCancelToken()
        take = self.dry_run_page.take_fields()
        doid_map = self.source_page.doid_map()

        def work(progress: Callable[[int, int], None], cancel: CancelToken) -> ImportOutcome:
            with kb.read() as session:
                try:
                    return import_file(
                        session, path, profile=profile, progress=progress, cancel=token,
                        take=take, doid_map=doid_map,
                    )  # fmt: skip
                except ImportCancelled:
                    raise Cancelled from None

        task = self.workers.read(f"dry run {path.name}", work)
        task.progressed.connect(self._progress)
        task.finished.connect(lambda outcome, t=task: self._dry_run_done(t, outcome))
        task.failed.connect(lambda failure, t=task: self._dry_run_failed(t, failure))
        task.cancelled.connect(lambda t=task: self._dry_run_cancelled(t))
        self._task, self._kb_token, self._run = task, token, (path, profile)
        self._take = take
        self.dry_run_page.set_running(True, f"Reading {path.name} and comparing it with the KB…")

    def _progress(self, done: int, total: int) -> None:
        if isValid(self):
            self.dry_run_page.show_progress(done, total)

    def cancel_running(self) -> None:
        """Stop the dry run (or apply) in progress; kb stops within one batch of rows."""
        if self._kb_token is not None:
            self._kb_token.cancel()
        if self._task is not None and not self._task.is_done:
            self._task.cancel()

    def _dry_run_done(self, task: Task, outcome: ImportOutcome) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.outcome = outcome
        preview = outcome.preview
        text = preview.summary()
        if preview.fatal:
            text = f"<span style='color:{_PROBLEM.name()}'>{text}</span>"
        self.dry_run_page.set_running(False, text)
        self.dry_run_page.show_outcome(outcome)
        if preview.errors:
            # Show the first error's row at once: it is usually the one to fix first.
            self.dry_run_page.error_view.selectRow(0)
        emit(self.dry_run_finished, "done")

    def _dry_run_failed(self, task: Task, failure: TaskFailure) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.dry_run_page.set_running(
            False, f"<span style='color:{_PROBLEM.name()}'>The dry run failed: "
            f"{failure.message}</span>"
        )  # fmt: skip
        emit(self.dry_run_finished, "failed")

    def _dry_run_cancelled(self, task: Task) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.dry_run_page.set_running(False, "Cancelled. Nothing was written; run it again when "
                                             "you are ready.")  # fmt: skip
        emit(self.dry_run_finished, "cancelled")

    # -- errors --------------------------------------------------------------------------

    def show_error_row(self, error: ImportError_) -> None:
        page = self.dry_run_page
        where = error.location
        sheet = self.source.sheet(where.sheet) if self.source is not None else None
        row = sheet.row(where.row) if sheet is not None and where.row is not None else None
        if sheet is None or row is None:
            page.row_model.clear()
            page.row_label.setText(f"{where}: {error.message}")
            return
        problems = {
            (e.location.column or ""): e.message
            for e in (self.outcome.preview.errors if self.outcome else [error])
            if e.location.sheet == where.sheet and e.location.row == where.row
        }
        problems.pop("", None)
        page.row_model.set_row(
            sheet.header() if sheet.header_row != where.row else (), row, problems
        )
        page.row_view.resizeColumnsToContents()
        if where.column:
            for index in range(page.row_model.rowCount()):
                if page.row_model.index(index, 0).data() == where.column:
                    page.row_view.selectRow(index)
                    page.row_view.scrollTo(page.row_model.index(index, 0))
                    break
        label = f"sheet {where.sheet!r}, row {where.row}" if where.sheet else f"row {where.row}"
        page.row_label.setText(f"<b>{label}</b> — {error.message}")

    def export_errors_dialog(self) -> None:
        if self.outcome is None:
            return
        suggested = self.start_folder / f"{Path(self.outcome.preview.source).stem}-errors.xlsx"
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Export errors", str(suggested), "Excel workbook (*.xlsx);;CSV (*.csv)"
        )
        if chosen:
            self.export_errors_to(Path(chosen))

    def export_errors_to(self, target: Path) -> None:
        """Write the dry run's errors to .xlsx (with a marked-up copy of the data) or .csv."""
        outcome, run = self.outcome, self._run
        if outcome is None:
            return
        source = run[0] if run is not None and target.suffix.lower() == ".xlsx" else None
        if source is not None and source.suffix.lower() not in (".xlsx", ".xlsm"):
            source = None  # only an xlsx source can be copied with its cells marked

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> int:
            return export_errors(outcome.preview, target, source=source)

        def done(count: int) -> None:
            if not isValid(self):
                return
            self.dry_run_page.state.setText(f"Wrote {count:,} error(s) to {target}")
            emit(self.errors_exported, str(target))

        def failed(failure: TaskFailure) -> None:
            if not isValid(self):
                return
            self.dry_run_page.state.setText(
                f"<span style='color:{_PROBLEM.name()}'>Could not write {target.name}: "
                f"{failure.message}</span>"
            )

        self.workers.read(f"export errors to {target.name}", work, on_result=done, on_error=failed)

    # -- mapping values and the grouped report --------------------------------------------

    def profile_path(self) -> Path | None:
        """The TOML profile the import reads (and the mapping page writes), if any."""
        profile = self.source_page.profile()
        if profile is None or profile in _BUILTIN_NAMES:
            return None
        return Path(profile)

    def mapping_refusal(self, field: str | None) -> str | None:
        """Why a value of `field` cannot be mapped here (None: it can)."""
        if self.profile_path() is None:
            return (
                "Values are mapped in a mapping profile: this built-in profile has none. For "
                "CIViC diseases, name a DOID mapping file on the first page."
            )
        if not mappable(field):
            return "This reason is not a value to map; correct the file, or skip the rows."
        return None

    def find_candidates(self, field: str, value: str) -> None:
        """Rank candidates for `value` off the UI thread (the vocabulary is read once)."""
        self._wanted = (field, value)
        if self._vocabulary is None:
            if self._vocabulary_task is None or self._vocabulary_task.is_done:
                kb = self.kb

                def load(_p: Callable[[int, int], None], _c: CancelToken) -> Vocabulary:
                    with kb.read() as session:
                        return Vocabulary.from_session(session)

                self._vocabulary_task = self.workers.read(
                    "read the vocabularies", load, on_result=self._vocabulary_read
                )
            return
        vocabulary = self._vocabulary

        def rank(_p: Callable[[int, int], None], _c: CancelToken) -> list[Candidate]:
            return candidates(field, value, vocabulary)

        def done(found: list[Candidate]) -> None:
            if isValid(self):
                self.dry_run_page.grouped.show_candidates(field, value, found)
                emit(self.candidates_ready, field, value)

        self.workers.read(f"candidates for {value}", rank, on_result=done)

    def _vocabulary_read(self, vocabulary: Vocabulary) -> None:
        if not isValid(self):
            return
        self._vocabulary = vocabulary
        if self._wanted is not None:
            self.find_candidates(*self._wanted)

    def map_value(self, field: str, value: str, to: Any) -> None:
        """Save "`value` means `to`" for `field` into the profile, then dry-run again."""
        path = self.profile_path()
        if path is None:
            return
        try:
            profile = with_value_map(load_profile(path), field=field, value=value, to=to)
            save_profile(profile, path)
        except KbError as exc:
            self.dry_run_page.state.setText(
                f"<span style='color:{_PROBLEM.name()}'>Not mapped: {exc}</span>"
            )
            return
        shown = to if isinstance(to, str) else ", ".join(map(str, to))
        self.dry_run_page.grouped.hint.setText(f"Mapped “{value}” → {shown} in {path.name}.")
        emit(self.value_mapped, str(path))
        self.start_dry_run()

    def export_report_dialog(self) -> None:
        if self.outcome is None:
            return
        stem = Path(self.outcome.preview.source).stem
        chosen, _ = QFileDialog.getSaveFileName(
            self,
            "Export errors by reason",
            str(self.start_folder / f"{stem}-errors-by-reason.xlsx"),
            "Excel workbook (*.xlsx);;CSV (*.csv);;JSON (*.json)",
        )
        if chosen:
            self.export_report_to(Path(chosen))

    def export_report_to(self, target: Path) -> None:
        """Write the dry run's errors grouped by reason (.xlsx, .csv or .json), on a worker."""
        if self.outcome is None:
            return
        errors = self.outcome.preview.errors

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> int:
            return write_error_report(group_errors(errors), target)

        def done(count: int) -> None:
            if isValid(self):
                self.dry_run_page.state.setText(f"Wrote {count:,} reason(s) to {target}")
                emit(self.report_exported, str(target))

        def failed(failure: TaskFailure) -> None:
            if isValid(self):
                self.dry_run_page.state.setText(
                    f"<span style='color:{_PROBLEM.name()}'>Could not write {target.name}: "
                    f"{failure.message}</span>"
                )

        self.workers.read(f"export {target.name}", work, on_result=done, on_error=failed)

    def submit_applied(self) -> None:
        """Send the staged change set for review (kb checks the role and validates it)."""
        applied, actor = self.applied_result, self.actor
        if applied is None or applied.change_set_id is None or actor is None:
            return
        kb, change_set_id = self.kb, applied.change_set_id

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> str:
            with kb.unit_of_work() as session:
                return submit_change_set(session, actor=actor, change_set_id=change_set_id).human_id

        def done(human_id: str) -> None:
            if isValid(self):
                self.submitted_change_set = human_id
                self.done_page.show_submitted(human_id)
                emit(self.submitted, human_id)

        def failed(failure: TaskFailure) -> None:
            if isValid(self):
                self.done_page.show_submit_failure(failure.message)

        self.done_page.submit_button.setEnabled(False)
        self.workers.write(f"submit {applied.change_set}", work, on_result=done, on_error=failed)

    # -- applying -------------------------------------------------------------------------

    def apply_refusal(self) -> str | None:
        """Why Apply is not possible now (None: it is). kb checks all of it again on apply."""
        if self.actor is None:
            return "sign in to import"
        refusal = why_not(self.actor, Permission.EDIT)
        if refusal:
            return refusal
        if self._task is not None:
            return "wait for the work in progress to finish"
        outcome = self.outcome
        if outcome is None:
            return "run the dry run first"
        preview = outcome.preview
        if preview.fatal:
            return "the file cannot be imported"
        skip = self.dry_run_page.skip_invalid.isChecked()
        if preview.invalid and not skip:
            return (
                f"{preview.invalid:,} of {len(preview.rows):,} rows are invalid — fix them, or "
                "tick “Skip invalid rows”"
            )
        if not preview.has_changes and not (preview.invalid and skip):
            return "nothing to import: every row is unchanged"
        return None

    def start_apply(self) -> None:
        """Stage the import as one draft change set (kb refuses what it must, atomically)."""
        if self._run is None or self.actor is None or self.outcome is None:
            return
        path, profile = self._run
        kb, actor, expected = self.kb, self.actor, self.outcome.sha256
        skip = self.dry_run_page.skip_invalid.isChecked()
        take = self._take  # as the dry run the curator saw
        doid_map = self.source_page.doid_map()
        token = ImportCancelToken()

        def work(progress: Callable[[int, int], None], _cancel: CancelToken) -> Applied:
            with kb.unit_of_work() as session:
                try:
                    outcome = import_file(
                        session, path, profile=profile, actor=actor, dry_run=False,
                        skip_invalid=skip, progress=progress, cancel=token, take=take,
                        doid_map=doid_map,
                    )  # fmt: skip
                except ImportCancelled:
                    raise Cancelled from None
                if outcome.sha256 != expected:
                    # Raising rolls the staged change set back with the transaction.
                    raise KbError(f"{path.name} changed since the dry run; run the dry run again")
                preview = outcome.preview
                if outcome.change_set_id is None:
                    return Applied(preview.summary(), None)
                change_set = get_change_set(session, outcome.change_set_id)
                return Applied(
                    preview.summary(),
                    change_set.human_id,
                    change_set.title,
                    len(change_set.changes),
                    preview.invalid,
                    outcome.change_set_id,
                )

        page = self.dry_run_page
        page.apply_progress.show()
        page.apply_progress.setRange(0, 0)
        page.state.setText(f"Applying {path.name}…")
        task = self.workers.write(f"import {path.name}", work)
        task.progressed.connect(self._progress)
        task.finished.connect(lambda applied, t=task: self._applied(t, applied))
        task.failed.connect(lambda failure, t=task: self._apply_failed(t, failure.message))
        task.cancelled.connect(lambda t=task: self._apply_failed(t, "cancelled; nothing written"))
        self._task, self._kb_token = task, token
        page.refresh()

    def _applied(self, task: Task, applied: Applied) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.dry_run_page.apply_progress.hide()
        self.applied_result = applied
        emit(self.applied, applied.change_set or "")
        self.next()

    def _apply_failed(self, task: Task, message: str) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        page = self.dry_run_page
        page.apply_progress.hide()
        page.state.setText(f"<span style='color:{_PROBLEM.name()}'>Not applied: {message}</span>")
        page.refresh()
        emit(self.apply_failed, message)

    def open_draft(self) -> None:
        if self.applied_result is not None and self.applied_result.change_set:
            emit(self.open_draft_requested, self.applied_result.change_set)
        self.accept()

    # -- closing ----------------------------------------------------------------------------

    def reject(self) -> None:
        self.cancel_running()
        super().reject()

    def done(self, result: int) -> None:
        self.cancel_running()
        super().done(result)


# --- the main window's hook ----------------------------------------------------------------


def install_import_wizard(host: Host) -> QAction:
    """Add File ▸ Import… (Ctrl+I) to the main window; the wizard opens beside the window."""
    action = QAction("Import…", host.as_widget())
    action.setObjectName("import")
    action.setShortcut(QKeySequence("Ctrl+I"))
    action.setStatusTip("Import a spreadsheet or CTML file as a draft change set (Ctrl+I)")
    action.triggered.connect(lambda _checked=False: open_import_wizard(host))
    return host.add_action(action, menu="File", section="import")


def open_import_wizard(host: Host, path: Path | None = None) -> ImportWizard:
    """Open the wizard (non-modal: the curator may keep browsing while a dry run runs)."""
    wizard = ImportWizard(host.kb, host.actor, host.workers, host.as_widget())
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.applied.connect(lambda change_set: host.reload_draft() if change_set else None)
    wizard.open_draft_requested.connect(lambda _change_set: host.show_draft())
    if path is not None:
        wizard.set_source(path)
    wizard.show()
    return wizard


SCREEN = Screen("import", install_import_wizard)


__all__ = [
    "PROFILES",
    "Applied",
    "CountsModel",
    "ErrorTableModel",
    "ImportWizard",
    "MappingModel",
    "MappingRow",
    "RowCellsModel",
    "SheetCells",
    "SheetModel",
    "SourcePreview",
    "install_import_wizard",
    "open_import_wizard",
    "read_source",
]
