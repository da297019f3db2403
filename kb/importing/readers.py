"""Reading import files into sheets of cells, each cell locatable as the user sees it.

xlsx, xlsb, xls and ods are parsed by python-calamine in an isolated child process
(kb/importing/isolation.py) while this process runs the byte-level checks of
kb/importing/limits.py, which decide; csv and tsv are read here with the standard library. What
a file is comes from its bytes, not its name: a tab-separated file saved as `.xls` (a common
export) is read as TSV, and an HTML page or a PNG renamed `.xlsx` is refused by name.

Text files: UTF-8 with or without a byte-order mark (UTF-16 with a BOM too, as Excel's "Unicode
text" writes), LF, CRLF or bare-CR line endings, quoting on or off. Bytes that are not UTF-8 and
NUL bytes become errors located at their cells rather than silently altered text.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.importing.isolation import Cell, RawWorkbook, ReaderChild
from kb.importing.limits import (
    DEFAULT_LIMITS,
    OLE_MAGIC,
    ZIP_MAGIC,
    Limits,
    ZipScan,
    check_ole,
    check_size,
    check_zip,
    column_letter,
    fail,
    not_a_spreadsheet,
    split_ref,
)
from kb.importing.model import ImportError_, Location, SourceError
from kb.importing.progress import CancelToken

_HEAD = 8192
# Stand-ins that cannot occur in decoded text: U+FFFE is a noncharacter.
_NUL_MARK = "\ufffe"
_BAD_BYTES = "\ufffd"


@dataclass
class Sheet:
    """A sheet of cells. `rows[0]` is spreadsheet row 1 and `rows[r][0]` column A; an empty cell
    is "" (rows may be shorter than others). `cell_errors` holds problems found while reading,
    keyed by (row number as shown, 0-based column)."""

    name: str  # "" for csv/tsv, which have no sheets
    rows: list[list[Cell]]
    cell_errors: dict[tuple[int, int], ImportError_] = field(default_factory=dict)
    # Merged ranges as (first row, first column, last row, last column): rows as shown, columns
    # 0-based.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def location_name(self) -> str | None:
        return self.name or None


@dataclass
class Workbook:
    """A file's sheets, in file order, plus notes that concern the whole file."""

    file: str
    kind: str  # xlsx, xlsb, xls, ods, csv, tsv
    sheet_names: list[str]
    sheets: list[Sheet]
    notes: list[ImportError_] = field(default_factory=list)

    def sheet(self, which: str | int | None = None) -> Sheet:
        """A sheet by name, by 1-based position, or the first; SourceError if there is none."""
        if not self.sheets:
            raise fail(self.file, "empty_file", "the file has no sheets")
        if which is None:
            return self.sheets[0]
        if isinstance(which, int):
            if 1 <= which <= len(self.sheets):
                return self.sheets[which - 1]
            raise fail(
                self.file,
                "missing_sheet",
                f"the file has {len(self.sheets)} sheet(s); there is no sheet {which}",
            )
        for sheet in self.sheets:
            if sheet.name == which:
                return sheet
        for sheet in self.sheets:
            if sheet.name.strip().lower() == which.strip().lower():
                return sheet
        raise fail(
            self.file,
            "missing_sheet",
            f"there is no sheet {which!r}; the file has " + ", ".join(map(repr, self.sheet_names)),
        )


def file_kind(path: Path, *, file: str | None = None, limits: Limits = DEFAULT_LIMITS) -> str:
    """What the file is by its bytes: xlsx, xlsb, ods, xls or text; SourceError otherwise."""
    name = file or path.name
    check_size(path, name, limits)
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "xls"
    what = not_a_spreadsheet(head)
    if what:
        raise fail(name, "not_a_spreadsheet", f"the file is {what}, not a spreadsheet")
    if _looks_binary(head):
        raise fail(
            name,
            "not_a_spreadsheet",
            "the file is binary data, not a spreadsheet or a text (CSV/TSV) file",
        )
    return "text"


def _looks_binary(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    controls = sum(1 for byte in head if (byte < 0x20 and byte not in b"\t\n\r\f") or byte == 0x7F)
    return controls > len(head) * 0.05


def read_workbook(
    path: Path,
    *,
    file: str | None = None,
    sheets: Sequence[str] | None = None,
    delimiter: str | None = None,
    quoting: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    cancel: CancelToken | None = None,
) -> Workbook:
    """Read `path` into sheets of cells; raise `SourceError` with a located message if the file
    cannot or must not be read.

    `sheets` limits which sheets of a workbook are parsed (None: all). For text files,
    `delimiter` (None: "\\t" for .tsv, else sniffed from the first line) and `quoting` (False
    reads `"` as an ordinary character, as CIViC's TSVs need) apply.
    """
    name = file or path.name
    kind = file_kind(path, file=name, limits=limits)
    if kind == "text":
        return _read_text(path, name, limits, delimiter=delimiter, quoting=quoting)
    scan: ZipScan | None = None
    # The child parses while this process runs the byte-level checks (two cores are common).
    # Those checks still decide: if they refuse the file, the child is killed and its answer,
    # whatever it is (a crafted file may well crash it), never looked at.
    with ReaderChild(
        path,
        file=name,
        sheets=list(sheets) if sheets is not None else None,
        limits=limits,
        cancel=cancel,
    ) as child:
        if kind == "zip":
            scan = check_zip(path, name, limits)
            kind = scan.kind
        else:
            check_ole(path, name)
        raw = child.result()
    return _from_raw(raw, name, kind, scan)


def _from_raw(raw: RawWorkbook, file: str, kind: str, scan: ZipScan | None) -> Workbook:
    out = Workbook(file, kind, raw.sheet_names, [])
    for raw_sheet in raw.sheets:
        sheet = Sheet(
            raw_sheet.name,
            raw_sheet.rows,
            merged=[(r0 + 1, c0, r1 + 1, c1) for r0, c0, r1, c1 in raw_sheet.merged],
        )
        where = scan.sheets.get(raw_sheet.name) if scan else None
        if where is not None:
            for ref in where.formula_cells:
                row, column = split_ref(ref)
                sheet.cell_errors[(row, column)] = ImportError_(
                    Location(file, raw_sheet.name, row, column_letter(column)),
                    None,
                    "formula",
                    "the cell holds a formula, which is never evaluated on import; replace it "
                    "with its value",
                )
            for merged in where.merged:
                if merged not in sheet.merged:
                    sheet.merged.append(merged)
        if scan and scan.ods_formulas.get(raw_sheet.name):
            count = scan.ods_formulas[raw_sheet.name]
            raise fail(
                file,
                "formula",
                f"sheet {raw_sheet.name!r} holds {count} formula cell(s), which are never "
                "evaluated on import; paste them as values and save again",
                sheet=raw_sheet.name,
            )
        out.sheets.append(sheet)
    if scan and scan.external_links:
        out.notes.append(
            ImportError_(
                Location(file),
                None,
                "external_links_ignored",
                f"the workbook links to {len(scan.external_links)} other workbook(s); the links "
                "are ignored and never followed",
            )
        )
    return out


# --- text files -------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, bool]:
    """The text, and whether undecodable bytes were replaced (each then flags its cell)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError:
            return data.decode("utf-16", "replace"), True
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True


def sniff_delimiter(text: str) -> str:
    """Tab if the first line has one (TSV, whatever the file is called), else comma or
    semicolon, whichever the first line uses more."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "\t" in first:
        return "\t"
    return ";" if first.count(";") > first.count(",") else ","


def _read_text(
    path: Path, file: str, limits: Limits, *, delimiter: str | None, quoting: bool
) -> Workbook:
    text, undecodable = _decode(path.read_bytes())
    has_nul = "\x00" in text
    if has_nul:
        text = text.replace("\x00", _NUL_MARK)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(text)
    _check_text_shape(text, file, delimiter, limits)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=False,
    )
    rows: list[list[Cell]] = []
    cells = 0
    try:
        for row in reader:
            cells += len(row)
            if cells > limits.max_cells:
                raise fail(
                    file,
                    "too_many_cells",
                    f"the file has more than the {limits.max_cells:,} cells allowed (row "
                    f"{len(rows) + 1}); split it, or drop its empty columns",
                    row=len(rows) + 1,
                )
            rows.append(list(row))
            if len(rows) > limits.max_rows:
                raise fail(
                    file,
                    "too_many_rows",
                    f"the file has more than the {limits.max_rows:,} rows allowed",
                    row=len(rows),
                )
            if len(row) > limits.max_columns:
                raise fail(
                    file,
                    "too_many_columns",
                    f"row {len(rows)} has {len(row):,} columns; the limit is "
                    f"{limits.max_columns:,}",
                    row=len(rows),
                    column=column_letter(limits.max_columns),
                )
    except csv.Error as exc:
        raise fail(
            file,
            "bad_text_file",
            f"row {len(rows) + 1} cannot be read: {exc}",
            row=len(rows) + 1,
        ) from None
    sheet = Sheet("", rows)
    if undecodable or has_nul:
        _flag_bad_text(sheet, file)
    kind = "tsv" if delimiter == "\t" else "csv"
    return Workbook(file, kind, [""], [sheet])


def _check_text_shape(text: str, file: str, delimiter: str, limits: Limits) -> None:
    """Refuse a text file whose cells would exceed the limits before the csv module builds
    them: every cell ends at a delimiter or a line end, so counting those (at C speed, without
    copying the text) bounds the cells a parse could make, line by line. A 190 MB file of
    commas is refused here instead of swelling into gigabytes of empty cells. Delimiters inside
    quotes make the counts upper bounds: never an undercount."""
    if text.count(delimiter) + text.count("\n") + 1 <= min(limits.max_cells, limits.max_columns):
        return
    start, number, cells = 0, 1, 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        columns = text.count(delimiter, start, end) + 1
        if columns > limits.max_columns:
            raise fail(
                file,
                "too_many_columns",
                f"line {number} has up to {columns:,} columns; the limit is {limits.max_columns:,}",
                row=number,
                column=column_letter(limits.max_columns),
            )
        cells += columns
        if cells > limits.max_cells:
            raise fail(
                file,
                "too_many_cells",
                f"the file has more than the {limits.max_cells:,} cells allowed (line "
                f"{number}); split it, or drop its empty columns",
                row=number,
            )
        start, number = end + 1, number + 1


def _flag_bad_text(sheet: Sheet, file: str) -> None:
    for row_index, row in enumerate(sheet.rows):
        for column, value in enumerate(row):
            if not isinstance(value, str):
                continue
            where = Location(file, None, row_index + 1, column_letter(column))
            if _NUL_MARK in value:
                row[column] = value.replace(_NUL_MARK, "")
                sheet.cell_errors[(row_index + 1, column)] = ImportError_(
                    where,
                    None,
                    "nul_byte",
                    "the cell holds a NUL byte, which text never contains; the file may be "
                    "damaged or not a text file",
                    row[column],
                )
            elif _BAD_BYTES in value:
                sheet.cell_errors[(row_index + 1, column)] = ImportError_(
                    where,
                    None,
                    "bad_encoding",
                    "the cell holds bytes that are not UTF-8 text (shown as \ufffd); save the "
                    "file as UTF-8 (in Excel: CSV UTF-8)",
                    value,
                )


def cell_error_in(sheet: Sheet, row: int, column: int) -> ImportError_ | None:
    """The read-time error of one cell, if any."""
    return sheet.cell_errors.get((row, column))


__all__ = [
    "Cell",
    "Sheet",
    "SourceError",
    "Workbook",
    "file_kind",
    "read_workbook",
    "sniff_delimiter",
]
