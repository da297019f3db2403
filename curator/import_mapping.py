"""The import wizard's mapping page and its errors-by-reason panel (issue 16).

The mapping page turns a sheet of any shape into a TOML mapping profile — the very format
`kb import --profile FILE.toml` takes (kb/importing/profiles.py writes and reads it): which
sheet, which header row, which column is which field of which record type, and defaults. The
errors panel shows a dry run's errors grouped by reason (kb.importing.report), and for a value
the KB does not know offers candidates ranked from the vocabularies (kb.importing.candidates);
choosing one writes it into the profile's value maps, so every row holding the value reads the
same way, now and on any later run of the profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from curator.qt_compat import emit
from curator.table_model import ReadOnlyTableModel
from kb.errors import KbError
from kb.importing.candidates import Candidate
from kb.importing.interpretations import COMPOSITE_FIELDS, guess_field
from kb.importing.limits import column_letter
from kb.importing.model import Location
from kb.importing.profiles import (
    Profile,
    SheetMapping,
    field_specs,
    header_key,
    load_profile,
    save_profile,
)
from kb.importing.report import ErrorGroup, ValueGroup
from kb.model.enums import RecordType
from kb.model.records import SPECS


class ImportWizard(Protocol):
    """What the mapping page and the grouped errors use of the wizard that holds them
    (curator.import_wizard.ImportWizard; named here, not imported, so neither module imports
    the other)."""

    source: Any
    source_page: Any
    start_folder: Path

    def profile_path(self) -> Path | None: ...

    def mapping_refusal(self, field: str | None) -> str | None: ...

    def find_candidates(self, field: str, value: str) -> None: ...

    def map_value(self, field: str, value: str, to: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class SheetCells:
    """A sheet's cells as read: `rows[0]` is spreadsheet row 1 (rows may be ragged)."""

    name: str
    header_row: int  # as the spreadsheet shows it; 0 for a document with no header
    rows: Sequence[Sequence[Any]]

    def row(self, number: int) -> Sequence[Any] | None:
        """Row `number` as the spreadsheet shows it (1-based), or None."""
        return self.rows[number - 1] if 1 <= number <= len(self.rows) else None

    def header(self) -> Sequence[Any]:
        return self.row(self.header_row) or () if self.header_row else ()


_Index = QModelIndex | QPersistentModelIndex
NOT_MAPPED = "(not imported)"
# Example values shown beside each header: enough to recognise a column.
_EXAMPLES = 3


def _where(location: Location) -> str:
    """A cell as a spreadsheet names it (C3), or the row where no column is known."""
    if location.row is None:
        return location.file
    return f"{location.column}{location.row}" if location.column else f"row {location.row}"


# --- the mapping page ----------------------------------------------------------------------


class MappingPage(QWizardPage):
    """Step 2 for a sheet of our own mapping: columns → fields, defaults, saved as TOML."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Map the columns")
        self.setSubTitle(
            "Say which column holds which field. The mapping is saved as a profile (.toml) "
            "that `kb import --profile` and this wizard both read, so the next file of this "
            "shape imports without mapping again."
        )
        self.sheet_combo = QComboBox()
        self.sheet_combo.setObjectName("mapping_sheet")
        self.header_spin = QSpinBox()
        self.header_spin.setObjectName("mapping_header_row")
        self.header_spin.setRange(1, 50)
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("mapping_record_type")
        for rtype in RecordType:
            self.type_combo.addItem(rtype.value.replace("_", " "), rtype.value)
        self.separator_edit = QLineEdit(";")
        self.separator_edit.setObjectName("mapping_separator")
        self.separator_edit.setMaximumWidth(40)
        self.new_drugs = QCheckBox("Add drugs the KB lacks as new drugs")
        self.new_drugs.setObjectName("mapping_new_drugs")
        self.new_drugs.setToolTip(
            "Off: a drug name the KB does not have is reported, to be mapped to one it has "
            "(a misspelling must not become a new drug)."
        )
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("mapping_name")
        self.open_button = QPushButton("Open profile…")
        self.open_button.setObjectName("mapping_open")
        self.open_button.clicked.connect(self._open_profile)
        self.saved_label = QLabel()
        self.saved_label.setObjectName("mapping_saved")
        self.saved_label.setWordWrap(True)

        top = QHBoxLayout()
        form = QFormLayout()
        form.addRow("Sheet:", self.sheet_combo)
        form.addRow("Header row:", self.header_spin)
        second = QFormLayout()
        second.addRow("Each row is a:", self.type_combo)
        second.addRow("List separator:", self.separator_edit)
        third = QFormLayout()
        third.addRow("Profile name:", self.name_edit)
        third.addRow(self.new_drugs)
        top.addLayout(form)
        top.addLayout(second)
        top.addLayout(third, 1)
        top.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)

        self.columns = QTableWidget(0, 4)
        self.columns.setObjectName("mapping_columns")
        self.columns.setHorizontalHeaderLabels(["Column", "Header", "First values", "Field"])
        self.columns.verticalHeader().hide()
        self.columns.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.columns.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.defaults = QTableWidget(0, 2)
        self.defaults.setObjectName("mapping_defaults")
        self.defaults.setHorizontalHeaderLabels(["Field", "Default (where no column or blank)"])
        self.defaults.verticalHeader().hide()
        self.defaults.horizontalHeader().setStretchLastSection(True)
        self.defaults.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Columns</b> — choose a field for each column to import"))
        left_layout.addWidget(self.columns)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>Defaults</b> — required fields (*) need a column or one"))
        right_layout.addWidget(self.defaults)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setSizes([700, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        layout.addWidget(self.saved_label)

        self._loading = False
        # Kept from a profile read, written back with the page's mapping.
        self._value_maps: dict[str, dict[str, Any]] = {}
        self._constants: dict[str, Any] = {}
        self.sheet_combo.currentIndexChanged.connect(self._reshape)
        self.header_spin.valueChanged.connect(self._reshape)
        self.type_combo.currentIndexChanged.connect(self._reshape)

    # -- filling -------------------------------------------------------------------------

    def initializePage(self) -> None:
        source = self._wizard.source
        self._loading = True
        self.sheet_combo.clear()
        for sheet in source.sheets if source else ():
            rows = len(sheet.rows)
            self.sheet_combo.addItem(f"{sheet.name or '(the only sheet)'} — {rows:,} rows",
                                     sheet.name)  # fmt: skip
        # Start on the sheet the first page showed (a cover sheet is rarely the data).
        shown = self._wizard.source_page.sheet_combo.currentData()
        index = self.sheet_combo.findData(shown)
        self.sheet_combo.setCurrentIndex(max(index, 0))
        self.type_combo.setCurrentIndex(self.type_combo.findData(RecordType.ASSERTION.value))
        if not self.name_edit.text() and source is not None:
            self.name_edit.setText(f"{Path(source.file).stem} mapping")
        self._loading = False
        path = self._wizard.profile_path()
        if path is not None and path.is_file():
            try:
                self.show_profile(load_profile(path))
                self.saved_label.setText(f"Read the mapping from {path}.")
                return
            except KbError as exc:
                self.saved_label.setText(f"{path.name} could not be read ({exc}); map anew.")
        self._reshape()

    def show_profile(self, profile: Profile) -> None:
        """Show a profile's first mapping on the page (what the user maps, then saves)."""
        mapping = profile.mappings[0]
        self._loading = True
        self.name_edit.setText(profile.name)
        sheet = mapping.sheet
        if isinstance(sheet, int):
            self.sheet_combo.setCurrentIndex(sheet - 1)
        else:
            self.sheet_combo.setCurrentIndex(max(self.sheet_combo.findData(sheet or ""), 0))
        self.header_spin.setValue(mapping.header_row)
        self.type_combo.setCurrentIndex(self.type_combo.findData(mapping.rtype.value))
        self.separator_edit.setText(mapping.list_separator)
        self.new_drugs.setChecked(mapping.new_drugs)
        self._loading = False
        self._value_maps = {k: dict(v) for k, v in mapping.value_maps.items()}
        self._constants = dict(mapping.constants)
        self._reshape(columns=mapping.columns, defaults=mapping.defaults)

    def _sheet(self) -> SheetCells | None:
        source = self._wizard.source
        name = self.sheet_combo.currentData()
        return source.sheet(str(name) if name is not None else None) if source else None

    def rtype(self) -> RecordType:
        return RecordType(str(self.type_combo.currentData()))

    def _reshape(
        self, *_args: Any, columns: Any = None, defaults: Any = None
    ) -> None:  # fmt: skip
        """Lay out one line per header cell, with a field chooser guessed from the header."""
        if self._loading:
            return
        if columns is None:
            self._value_maps = {}
            self._constants = {}
        rtype = self.rtype()
        specs = field_specs(rtype)
        self.new_drugs.setVisible(rtype in COMPOSITE_FIELDS)
        sheet = self._sheet()
        number = self.header_spin.value()
        header = list(sheet.row(number) or ()) if sheet is not None else []
        below = list(sheet.rows[number : number + 30]) if sheet is not None else []
        wanted = {header_key(k): v for k, v in (columns or {}).items()}
        self.columns.setRowCount(0)
        for index, cell in enumerate(header):
            if cell in ("", None):
                continue
            text = str(cell)
            row = self.columns.rowCount()
            self.columns.insertRow(row)
            examples = [
                str(line[index]) for line in below if index < len(line) and line[index] != ""
            ][:_EXAMPLES]
            for column, value in enumerate((column_letter(index), text, " · ".join(examples))):
                item = QTableWidgetItem(value)
                if column == 1:
                    item.setData(Qt.ItemDataRole.UserRole, text)
                self.columns.setItem(row, column, item)
            chooser = QComboBox()
            chooser.setObjectName(f"field_{column_letter(index)}")
            chooser.addItem(NOT_MAPPED, "")
            for name, spec in specs.items():
                star = "*" if spec.required else ""
                built = " (builds records)" if name in COMPOSITE_FIELDS.get(rtype, {}) else ""
                chooser.addItem(f"{name}{star}{built}", name)
                chooser.setItemData(chooser.count() - 1, spec.help, Qt.ItemDataRole.ToolTipRole)
            key = header_key(text)
            target = wanted.get(key) if columns is not None else guess_field(key, specs)
            chooser.setCurrentIndex(max(chooser.findData(target or ""), 0))
            chooser.currentIndexChanged.connect(lambda _i: emit(self.completeChanged))
            self.columns.setCellWidget(row, 3, chooser)
        self.defaults.setRowCount(0)
        given = defaults or {}
        own = list(SPECS[rtype])
        for spec in sorted(own, key=lambda s: not s.required):
            row = self.defaults.rowCount()
            self.defaults.insertRow(row)
            label = QTableWidgetItem(spec.name + ("*" if spec.required else ""))
            label.setData(Qt.ItemDataRole.UserRole, spec.name)
            label.setFlags(label.flags() & ~Qt.ItemFlag.ItemIsEditable)
            label.setToolTip(spec.expected())
            self.defaults.setItem(row, 0, label)
            given_value: Any = given.get(spec.name)
            if isinstance(given_value, list):
                given_value = self.separator_edit.text().join(map(str, given_value))
            shown = "" if given_value is None else str(given_value)
            self.defaults.setItem(row, 1, QTableWidgetItem(shown))
        self.columns.resizeRowsToContents()
        emit(self.completeChanged)

    # -- the user's choice ---------------------------------------------------------------

    def set_field(self, header: str, field: str) -> None:
        """Map the column headed `header` to `field` (as choosing it in its row does)."""
        for row in range(self.columns.rowCount()):
            item = self.columns.item(row, 1)
            if item is not None and header_key(item.text()) == header_key(header):
                chooser = self.columns.cellWidget(row, 3)
                assert isinstance(chooser, QComboBox)
                chooser.setCurrentIndex(chooser.findData(field))
                return
        raise KeyError(header)

    def set_default(self, field: str, value: str) -> None:
        for row in range(self.defaults.rowCount()):
            item = self.defaults.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == field:
                self.defaults.setItem(row, 1, QTableWidgetItem(value))
                return
        raise KeyError(field)

    def profile(self) -> Profile:
        """The mapping as a kb profile (value maps and constants kept from the file read)."""
        rtype = self.rtype()
        separator = self.separator_edit.text() or ";"
        columns: dict[str, str] = {}
        for row in range(self.columns.rowCount()):
            chooser = self.columns.cellWidget(row, 3)
            item = self.columns.item(row, 1)
            if isinstance(chooser, QComboBox) and item is not None and chooser.currentData():
                columns[str(item.data(Qt.ItemDataRole.UserRole))] = str(chooser.currentData())
        specs = field_specs(rtype)
        defaults: dict[str, Any] = {}
        for row in range(self.defaults.rowCount()):
            name_item, value_item = self.defaults.item(row, 0), self.defaults.item(row, 1)
            text = value_item.text().strip() if value_item is not None else ""
            if name_item is None or not text:
                continue
            name = str(name_item.data(Qt.ItemDataRole.UserRole))
            kind = specs[name].kind
            if kind in ("refs", "codes", "strings"):
                defaults[name] = [part.strip() for part in text.split(separator) if part.strip()]
            elif kind == "int" and text.lstrip("-").isdigit():
                defaults[name] = int(text)
            else:
                defaults[name] = text
        name = self.sheet_combo.currentData()
        value_maps = {k: v for k, v in self._value_maps.items() if k in specs}
        mapping = SheetMapping(
            rtype,
            sheet=str(name) if name else None,
            header_row=self.header_spin.value(),
            columns=columns,
            list_separator=separator,
            value_maps=value_maps,
            defaults=defaults,
            constants=dict(self._constants),
            new_drugs=self.new_drugs.isChecked() and rtype in COMPOSITE_FIELDS,
        )
        return Profile(self.name_edit.text().strip() or "mapping", (mapping,))

    def isComplete(self) -> bool:
        return any(
            isinstance(w := self.columns.cellWidget(r, 3), QComboBox) and w.currentData()
            for r in range(self.columns.rowCount())
        )

    def validatePage(self) -> bool:
        path = self._wizard.profile_path()
        if path is None:
            self.saved_label.setText("Choose where to save the profile on the first page.")
            return False
        try:
            save_profile(self.profile(), path)
        except KbError as exc:
            self.saved_label.setText(f"<span style='color:#d64545'>Not saved: {exc}</span>")
            return False
        self.saved_label.setText(f"Saved the mapping to {path}.")
        return True

    def _open_profile(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        chosen, _ = QFileDialog.getOpenFileName(
            self, "Open a mapping profile", str(self._wizard.start_folder), "Profiles (*.toml)"
        )
        if chosen:
            try:
                self.show_profile(load_profile(Path(chosen)))
            except KbError as exc:
                self.saved_label.setText(str(exc))


# --- errors by reason ----------------------------------------------------------------------


class _ItemsModel(ReadOnlyTableModel):
    """A read-only table of plain items, one per row; a subclass says what each cell shows."""

    RIGHT: int = -1  # the column of counts, aligned right

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: tuple[Any, ...] = ()

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self.endResetModel()

    def item_at(self, row: int) -> Any:
        return self._items[row] if 0 <= row < len(self._items) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def cells(self, item: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        if not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == self.RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.cells(self._items[index.row()])[index.column()]


class GroupModel(_ItemsModel):
    """A dry run's errors by reason: how many, what, and where the first are."""

    HEADERS = ("Rows", "Reason", "Message", "For example")
    RIGHT = 0

    def group_at(self, row: int) -> ErrorGroup | None:
        return self.item_at(row)  # type: ignore[no-any-return]

    def cells(self, item: Any) -> tuple[str, ...]:
        group: ErrorGroup = item
        examples = ", ".join(_where(loc) for loc in group.examples)
        return (f"{group.count:,}", group.title, group.message, examples)


class ValueModel(_ItemsModel):
    """The values one reason's errors hold, most frequent first."""

    HEADERS = ("Value", "Rows", "For example")
    RIGHT = 1

    def value_at(self, row: int) -> ValueGroup | None:
        return self.item_at(row)  # type: ignore[no-any-return]

    def cells(self, item: Any) -> tuple[str, ...]:
        value: ValueGroup = item
        examples = ", ".join(_where(loc) for loc in value.examples)
        return (value.value, f"{value.count:,}", examples)


class GroupedErrors(QWidget):
    """Errors by reason; for a value of a mappable field, candidates and "map for all rows"."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.group_model = GroupModel(self)
        self.group_view = _wrapping_table(self.group_model, "error_groups", 2)
        self.group_view.selectionModel().currentRowChanged.connect(self._group_selected)
        self.value_model = ValueModel(self)
        self.value_view = _wrapping_table(self.value_model, "error_values", 0)
        self.value_view.selectionModel().currentRowChanged.connect(self._value_selected)
        self.candidates = QListWidget()
        self.candidates.setObjectName("candidates")
        self.candidates.setWordWrap(True)
        self.candidates.currentRowChanged.connect(lambda _row: self._refresh_button())
        self.custom = QLineEdit()
        self.custom.setObjectName("candidate_custom")
        self.custom.setPlaceholderText("…or type the KB value")
        self.custom.textChanged.connect(lambda _text: self._refresh_button())
        self.map_button = QPushButton("Map for all rows")
        self.map_button.setObjectName("map_value")
        self.map_button.clicked.connect(self.map_chosen)
        self.hint = QLabel()
        self.hint.setObjectName("map_hint")
        self.hint.setWordWrap(True)
        values = QWidget()
        values_layout = QVBoxLayout(values)
        values_layout.setContentsMargins(0, 0, 0, 0)
        values_layout.addWidget(QLabel("<b>Values</b> of the selected reason"))
        values_layout.addWidget(self.value_view)
        mapping = QWidget()
        mapping_layout = QVBoxLayout(mapping)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.addWidget(self.hint)
        mapping_layout.addWidget(self.candidates, 1)
        mapping_layout.addWidget(self.custom)
        mapping_layout.addWidget(self.map_button)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(values)
        lower.addWidget(mapping)
        lower.setSizes([380, 420])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.group_view)
        split.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._pending: tuple[str, str] | None = None
        self._refresh_button()

    def show_groups(self, groups: Sequence[ErrorGroup]) -> None:
        self.group_model.set_items(groups)
        self.value_model.set_items(())
        self.candidates.clear()
        self.hint.setText(
            "Select a reason, then a value."
            if groups
            else "No errors: every row reads as the KB expects."
        )
        self.group_view.resizeRowsToContents()
        if groups:
            self.group_view.selectRow(0)
        self._refresh_button()

    def selected(self) -> tuple[ErrorGroup | None, ValueGroup | None]:
        group = self.group_model.group_at(self.group_view.currentIndex().row())
        value = self.value_model.value_at(self.value_view.currentIndex().row())
        return group, value

    def _group_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        group = self.group_model.group_at(current.row())
        self.value_model.set_items(group.values if group else ())
        self.value_view.resizeRowsToContents()
        if group is not None and group.values:
            self.value_view.selectRow(0)
        else:
            self._value_selected(QModelIndex(), QModelIndex())

    def _value_selected(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        group, value = self.selected()
        self.candidates.clear()
        self.custom.clear()
        if group is None or value is None:
            self.hint.setText("")
            self._refresh_button()
            return
        refusal = self._wizard.mapping_refusal(group.field)
        if refusal:
            self.hint.setText(f"{value.message}<br><i>{refusal}</i>")
        else:
            self.hint.setText(
                f"<b>{value.value}</b> in {group.field}: {value.count:,} row(s). Choose what it "
                "stands for; the choice goes into the profile for every row holding it."
            )
            self._wizard.find_candidates(group.field or "", value.value)
        self._refresh_button()

    def show_candidates(self, field: str, value: str, found: Sequence[Candidate]) -> None:
        group, selected = self.selected()
        if group is None or selected is None or (group.field, selected.value) != (field, value):
            return  # the user moved on
        self.candidates.clear()
        for candidate in found:
            item = QListWidgetItem(
                f"{candidate.label} → {candidate.value}   ({candidate.source}; "
                f"{candidate.score:.0%})"
            )
            item.setData(Qt.ItemDataRole.UserRole, candidate)
            self.candidates.addItem(item)
        if found:
            self.candidates.setCurrentRow(0)
        self._refresh_button()

    def choice(self) -> str | list[str] | None:
        text = self.custom.text().strip()
        if text:
            return [t.strip() for t in text.split(",")] if "," in text else text
        if self.candidates.currentRow() < 0:
            return None
        candidate = self.candidates.currentItem().data(Qt.ItemDataRole.UserRole)
        assert isinstance(candidate, Candidate)
        value = candidate.value
        return value.split(",") if "," in value else value

    def _refresh_button(self) -> None:
        group, value = self.selected()
        chosen = self.choice()
        ok = (
            group is not None
            and value is not None
            and chosen is not None
            and not self._wizard.mapping_refusal(group.field)
        )
        self.map_button.setEnabled(bool(ok))
        if value is not None:
            shown = chosen if isinstance(chosen, str) else ", ".join(chosen or [])
            self.map_button.setText(
                f"Map “{value.value}” → {shown or '…'} for all {value.count:,} rows"
            )
        else:
            self.map_button.setText("Map for all rows")

    def map_chosen(self) -> None:
        group, value = self.selected()
        chosen = self.choice()
        if group is None or value is None or chosen is None or group.field is None:
            return
        self._wizard.map_value(group.field, value.value, chosen)


def _wrapping_table(model: ReadOnlyTableModel, name: str, stretch: int) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(True)  # messages wrap, never cut
    view.setTextElideMode(Qt.TextElideMode.ElideNone)
    view.verticalHeader().hide()
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view
