"""Our own import template: one sheet per record type, written empty for curators to fill, or
filled with the KB (`export_template`) — and read back by `template_adapter` (DESIGN §4).

Layout, per sheet ("Genes", "Biomarkers", … "Trial arms"): row 1 holds the headers — `ID`
then every field of kb.model.records.SPECS — each with a note saying what the field holds; rows 2…
hold records. Controlled values have drop-downs (data validation). Conventions:

- ID: a record's human id (BM-00042) to update it; empty for a new record; or a name of your
  own (`braf-v600e`) that other cells, on any sheet, may use to refer to that new record.
- References: a human id, a name given in an ID column, or a natural key (gene symbol, drug or
  therapy name, NCT id, `pmid:12345`).
- Lists: values separated by `;`.
- Expression trees: `BM-00001 AND (BM-00002[TH-00003] OR NOT BM-00004)` (see
  kb/importing/treetext.py); the JSON form is accepted too.
- An empty cell means the field's default (or empty); true/false as text; dates as YYYY-MM-DD.

Exporting a KB and importing the file again yields no change: both sides use the engine's view
of the KB's records, and every value is written in the form the importer reads back exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.importing.engine import kb_records
from kb.importing.limits import DEFAULT_LIMITS, Limits, column_letter, fail
from kb.importing.model import SourceRow
from kb.importing.profiles import Profile, SheetMapping, map_workbook
from kb.importing.progress import CancelToken
from kb.importing.readers import read_workbook
from kb.importing.treetext import render_ids
from kb.model.enums import Operator, RecordType
from kb.model.records import SPECS, FieldSpec

ID_COLUMN = "ID"
LIST_SEPARATOR = ";"
SHEET_TITLES: dict[RecordType, str] = {
    RecordType.GENE: "Genes",
    RecordType.BIOMARKER: "Biomarkers",
    RecordType.THRESHOLD: "Thresholds",
    RecordType.EXPRESSION: "Expressions",
    RecordType.DRUG: "Drugs",
    RecordType.THERAPY: "Therapies",
    RecordType.CITATION: "Citations",
    RecordType.APPROVAL: "Approvals",
    RecordType.ASSERTION: "Assertions",
    RecordType.TRIAL: "Trials",
    RecordType.TRIAL_ARM: "Trial arms",
    RecordType.EXON_MAP: "Exon maps",
    RecordType.EVIDENCE_ITEM: "Evidence items",
    RecordType.ONCOGENICITY: "Oncogenicity",
    RecordType.LEVEL_SCHEME: "Level schemes",
    RecordType.LEVEL_CROSSWALK: "Level crosswalks",
}
INSTRUCTIONS = "Instructions"
LISTS = "Lists"
_LAST_ROW = 1_048_576
_MAX_CELL = 32_767

_INSTRUCTIONS = (
    "KB Curator import template",
    "",
    "Fill the sheets you need; leave the others empty. One row is one record.",
    "Import with:  kb import FILE.xlsx --profile template   (a dry run comes first: "
    "nothing is written until you apply it, and then only as a change set for review).",
    "",
    "ID column: empty for a new record; a record's id (e.g. BM-00042) to change that record; "
    "or a name of your own (e.g. braf-v600e) that cells on any sheet may use to refer to this "
    "new record.",
    "References (gene, therapy, citations …): an id such as GN-00001, a name from an ID column, "
    "or a natural key: gene symbol, drug or therapy name, NCT id, citation as pmid:12345.",
    "Lists (aliases, drugs, tumour_types, citations …): values separated by ';'.",
    "Expression trees: biomarker ids joined by AND / OR / NOT with parentheses, a threshold in "
    "brackets: BM-00001 AND (BM-00002[TH-00003] OR NOT BM-00004).",
    "Empty cell: the field's default (or nothing). true/false as text. Dates as YYYY-MM-DD.",
    "Drop-downs list the allowed values; each header's note says what its column holds.",
    "Formulas are never evaluated: type or paste values only.",
    "",
    "Sheets and the record types they hold:",
)


def template_mappings() -> tuple[SheetMapping, ...]:
    """The template's sheets as mapping profiles (each sheet optional)."""
    return tuple(
        SheetMapping(
            rtype=rtype,
            sheet=title,
            header_row=1,
            id_column=ID_COLUMN,
            list_separator=LIST_SEPARATOR,
            strict_columns=True,
            optional=True,
        )
        for rtype, title in SHEET_TITLES.items()
    )


TEMPLATE_PROFILE = Profile("template", template_mappings())


def template_adapter(
    path: Path, *, limits: Limits = DEFAULT_LIMITS, cancel: CancelToken | None = None
) -> Iterator[SourceRow]:
    """Read a filled template (or an exported KB) into SourceRows."""
    workbook = read_workbook(path, sheets=list(SHEET_TITLES.values()), limits=limits, cancel=cancel)
    if workbook.kind in ("csv", "tsv") or not workbook.sheets:
        raise fail(
            workbook.file,
            "not_a_template",
            "this is not a KB Curator template: expected a workbook with sheets named "
            + ", ".join(SHEET_TITLES.values())
            + " (write one with `kb template --out FILE.xlsx`)",
        )
    yield from map_workbook(workbook, template_mappings(), limits=limits)


# --- writing ----------------------------------------------------------------------------------


def _note(spec: FieldSpec) -> str:
    parts = [spec.name + (" (required)" if spec.required else "")]
    if spec.help:
        parts.append(spec.help[0].upper() + spec.help[1:] + ".")
    expected = spec.expected()
    if spec.kind in ("refs", "codes", "strings"):
        expected += "; separate values with ';'"
    if spec.kind == "tree":
        expected = (
            "biomarker ids with AND / OR / NOT and parentheses, a threshold in brackets: "
            "BM-00001 AND (BM-00002[TH-00003] OR NOT BM-00004)"
        )
    parts.append("Expected: " + expected + ".")
    return "\n".join(parts)


def cell_value(spec: FieldSpec, value: Any) -> Any:
    """A stored field value as the template writes it (and reads it back unchanged)."""
    if value is None or value in ("", []):
        return None
    if spec.kind in ("refs", "codes", "strings") and isinstance(value, list | tuple):
        return f"{LIST_SEPARATOR} ".join(str(item) for item in value)
    if spec.kind == "tree" and isinstance(value, dict):
        return render_ids(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and spec.kind == "int":
        return value
    return str(value)


class TemplateWriter:
    """Streams a template workbook: sheets in SPECS order, rows as they come.

    Uses openpyxl's write-only mode, so memory stays flat for large exports. Text cells are
    always written as text, so a value starting with "=" never turns into a formula.
    """

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook  # type: ignore[import-untyped]

        self.path = path
        self.book = Workbook(write_only=True)
        self._instructions()
        self._lists = self.book.create_sheet(LISTS)
        self._lists.sheet_state = "hidden"
        self._list_ranges: dict[str, str] = {}
        self._list_columns: list[list[str]] = []
        self._current: Any = None
        self._current_type: RecordType | None = None
        self._done: set[RecordType] = set()

    def _instructions(self) -> None:
        from openpyxl.styles import Font  # type: ignore[import-untyped]

        sheet = self.book.create_sheet(INSTRUCTIONS)
        sheet.column_dimensions["A"].width = 120
        for index, line in enumerate(_INSTRUCTIONS):
            cell = self._text(sheet, line)
            if index == 0:
                cell.font = Font(bold=True, size=14)
            sheet.append([cell])
        for rtype, title in SHEET_TITLES.items():
            fields = ", ".join(spec.name for spec in SPECS[rtype])
            sheet.append([self._text(sheet, f"  {title}: {rtype} records — ID, {fields}")])

    @staticmethod
    def _text(sheet: Any, value: Any) -> Any:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        return cell

    def _list_range(self, name: str, values: list[str]) -> str:
        """A range on the hidden Lists sheet holding `values` (drop-downs of any length)."""
        known = self._list_ranges.get(name)
        if known is None:
            letter = column_letter(len(self._list_columns))
            self._list_columns.append([name, *values])
            known = f"{LISTS}!${letter}$2:${letter}${len(values) + 1}"
            self._list_ranges[name] = known
        return known

    def sheet(self, rtype: RecordType) -> None:
        """Start the sheet of `rtype` (each type once, any order)."""
        from openpyxl.comments import Comment  # type: ignore[import-untyped]
        from openpyxl.styles import Font, PatternFill
        from openpyxl.worksheet.datavalidation import (  # type: ignore[import-untyped]
            DataValidation,
        )

        if rtype in self._done:
            raise ValueError(f"the {rtype} sheet was written already")
        self._done.add(rtype)
        sheet = self.book.create_sheet(SHEET_TITLES[rtype])
        sheet.freeze_panes = "B2"
        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="DDEBF7")
        header = []
        id_cell = self._text(sheet, ID_COLUMN)
        id_cell.font, id_cell.fill = bold, fill
        id_cell.comment = Comment(
            "ID\nEmpty for a new record; a record's id (e.g. "
            f"{_example(rtype)}) to change it; or a name of your own that other cells may use "
            "to refer to this new record.",
            "KB Curator",
            width=320,
            height=110,
        )
        header.append(id_cell)
        sheet.column_dimensions["A"].width = 14
        for index, spec in enumerate(SPECS[rtype], 1):
            cell = self._text(sheet, spec.name)
            cell.font, cell.fill = bold, fill
            cell.comment = Comment(_note(spec), "KB Curator", width=360, height=150)
            header.append(cell)
            letter = column_letter(index)
            sheet.column_dimensions[letter].width = 40 if spec.kind in ("text", "tree") else 18
            validation = None
            if spec.kind == "enum" and spec.enum is not None:
                # A value picked from a drop-down is entered as if typed, so "==" would become
                # a formula: the list offers "equals", which reads back as == (Operator).
                values = [
                    "equals" if member is Operator.EQ else member.value for member in spec.enum
                ]
                validation = DataValidation(
                    type="list",
                    formula1=self._list_range(spec.enum.__name__, values),
                    allow_blank=True,
                )
            elif spec.kind == "bool":
                validation = DataValidation(type="list", formula1='"true,false"', allow_blank=True)
            if validation is not None:
                validation.error = f"Expected {spec.expected()}"
                validation.errorTitle = spec.name
                validation.showErrorMessage = True
                validation.add(f"{letter}2:{letter}{_LAST_ROW}")
                sheet.data_validations.append(validation)
        sheet.append(header)
        self._current = sheet
        self._current_type = rtype

    def row(self, human_id: str | None, fields: Mapping[str, Any]) -> None:
        """Append one record to the current sheet."""
        assert self._current is not None and self._current_type is not None
        sheet = self._current
        cells = [self._text(sheet, human_id) if human_id else None]
        for spec in SPECS[self._current_type]:
            value = cell_value(spec, fields.get(spec.name))
            if isinstance(value, str) and len(value) > _MAX_CELL:
                # openpyxl would cut it silently, and the re-import would then change it.
                raise KbError(
                    f"{human_id or 'a record'}: field {spec.name} holds {len(value):,} "
                    f"characters, more than a spreadsheet cell takes ({_MAX_CELL:,})"
                )
            cells.append(self._text(sheet, value) if isinstance(value, str) else value)
        sheet.append(cells)

    def close(self) -> None:
        """Write the remaining (empty) sheets and the drop-down lists; save."""
        for rtype in SHEET_TITLES:
            if rtype not in self._done:
                self.sheet(rtype)
        depth = max((len(column) for column in self._list_columns), default=0)
        for index in range(depth):
            self._lists.append(
                [column[index] if index < len(column) else None for column in self._list_columns]
            )
        self.book.save(self.path)


def _example(rtype: RecordType) -> str:
    from kb.model.enums import HUMAN_ID_PREFIX

    return f"{HUMAN_ID_PREFIX[rtype]}-00042"


def write_template(path: Path) -> None:
    """Write the empty template: a sheet per record type, header notes, drop-downs,
    instructions."""
    writer = TemplateWriter(path)
    writer.close()


def export_template(
    session: Session, path: Path, *, types: Iterable[RecordType] | None = None
) -> dict[RecordType, int]:
    """Write the KB's records in template form (importing the file again changes nothing);
    return how many records of each type were written."""
    writer = TemplateWriter(path)
    counts: dict[RecordType, int] = {}
    for rtype in types or SHEET_TITLES:
        writer.sheet(rtype)
        records = kb_records(session, rtype)
        for human_id in sorted(records):
            writer.row(human_id, records[human_id])
        counts[rtype] = len(records)
    writer.close()
    return counts
