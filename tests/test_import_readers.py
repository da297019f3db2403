"""Reading import files: formats, encodings, line endings, sniffing, isolation of the parser."""

from __future__ import annotations

import codecs
import datetime as dt
import io
from pathlib import Path

import pytest
from test_import_support import (
    calamine_crash_file,
    crafted_xlsx,
    inline_cell,
    sheet_xml,
    write_xlsx,
)

from kb.importing._calamine_child import BATCH_ROWS
from kb.importing.isolation import _Answer, read_in_child
from kb.importing.limits import Limits, column_index, column_letter
from kb.importing.model import SourceError
from kb.importing.progress import Cancelled, CancelToken
from kb.importing.readers import read_workbook

ROWS = [["gene", "protein_change", "note"], ["BRAF", "p.V600E", 'says "hi"'], ["EGFR", "L858R", ""]]


def _text(rows: list[list[str]], delimiter: str, newline: str) -> str:
    return newline.join(delimiter.join(row) for row in rows) + newline


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["plain", "bom"])
def test_csv_line_endings_and_bom(tmp_path: Path, newline: str, bom: bytes) -> None:
    rows = [["gene", "name"], ["BRAF", "B-Raf"], ["TP53", "p53 é"]]
    path = tmp_path / "genes.csv"
    path.write_bytes(bom + _text(rows, ",", newline).encode("utf-8"))
    book = read_workbook(path)
    assert book.kind == "csv"
    assert book.sheet().rows == rows
    assert not book.sheet().cell_errors


def test_utf16_text_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes(_text([["a", "b"], ["ü", "ß"]], "\t", "\r\n").encode("utf-16"))
    book = read_workbook(path)
    assert book.kind == "tsv"
    assert book.sheet().rows == [["a", "b"], ["ü", "ß"]]


def test_tsv_named_xls_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text(_text([["gene", "protein_change"], ["BRAF", "V600E"]], "\t", "\n"))
    book = read_workbook(path)
    assert book.kind == "tsv"
    assert book.sheet().rows[1] == ["BRAF", "V600E"]


def test_quoting_off_keeps_literal_quotes(tmp_path: Path) -> None:
    path = tmp_path / "civic.tsv"
    path.write_text('name\tdescription\nX\t"quoted" text with a " inside\n')
    assert read_workbook(path, quoting=False).sheet().rows[1] == [
        "X",
        '"quoted" text with a " inside',
    ]
    # With quoting on, the csv module reads the quotes as quoting.
    assert read_workbook(path).sheet().rows[1][1] != '"quoted" text with a " inside'


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "european.csv"
    path.write_text("gene;name\nBRAF;B-Raf, proto-oncogene\n")
    assert read_workbook(path).sheet().rows[1] == ["BRAF", "B-Raf, proto-oncogene"]


def test_quoted_newline_counts_as_one_row(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('a,b\n"line one\nline two",x\ny,z\n')
    rows = read_workbook(path).sheet().rows
    assert rows == [["a", "b"], ["line one\nline two", "x"], ["y", "z"]]


def test_bad_bytes_and_nul_are_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"gene,name\nBRAF,caf\xe9\nTP53,ok\x00yes\n")
    sheet = read_workbook(path).sheet()
    assert sheet.cell_errors[(2, 1)].code == "bad_encoding"
    assert sheet.cell_errors[(2, 1)].location.column == "B"
    assert sheet.cell_errors[(3, 1)].code == "nul_byte"
    assert sheet.rows[2][1] == "okyes"


def test_xlsx_read_in_child_with_types_and_offsets(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet["C3"] = "start"
    sheet["D4"] = dt.date(2024, 5, 6)
    sheet["E4"] = 19
    sheet["F4"] = 2.5
    sheet["G4"] = True
    sheet["H4"] = "=1+1"
    sheet.merge_cells("C6:D7")
    book.create_sheet("Other")["A1"] = "x"
    path = tmp_path / "typed.xlsx"
    book.save(path)
    read = read_workbook(path)
    assert read.kind == "xlsx"
    assert read.sheet_names == ["Data", "Other"]
    data = read.sheet("data")  # sheet names match without regard to case
    assert data.rows[2][2] == "start"  # row 3, column C: rows and columns start at A1
    assert data.rows[3][3:7] == [dt.date(2024, 5, 6), 19, 2.5, True]
    formula = data.cell_errors[(4, column_index("H"))]
    assert formula.code == "formula" and formula.location.column == "H"
    assert (6, 2, 7, 3) in data.merged
    assert read.sheet(2).rows == [["x"]]
    with pytest.raises(SourceError, match="no sheet 'Missing'"):
        read.sheet("Missing")


def test_only_requested_sheets_are_parsed(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "two.xlsx", {"A": [["a"]], "B": [["b"]]})
    book = read_workbook(path, sheets=["B"])
    assert [s.name for s in book.sheets] == ["B"]
    assert book.sheet_names == ["A", "B"]


def test_calamine_crash_is_a_clean_error_in_the_caller(tmp_path: Path) -> None:
    """The real python-calamine aborts on this file; the child dies, the caller does not."""
    path = calamine_crash_file(tmp_path / "crash.xlsx")
    with pytest.raises(SourceError) as caught:
        # Straight to the child, past the byte-level checks that would refuse the file first.
        read_in_child(path, file="crash.xlsx")
    error = caught.value.errors[0]
    assert error.code == "reader_crashed"
    assert error.location.file == "crash.xlsx"
    assert "SIGABRT" in error.message or "killed" in error.message or "exited" in error.message


def test_calamine_crash_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = calamine_crash_file(tmp_path / "crash.xlsx")
    with pytest.raises(SourceError) as caught:
        read_workbook(path)
    error = caught.value.errors[0]
    assert error.code in ("too_many_rows", "too_many_columns")
    assert (error.location.sheet, error.location.row, error.location.column) == (
        "Sheet1",
        1048576,
        "XFD",
    )


def test_child_row_limit(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "rows.xlsx", {"S": [[i] for i in range(30)]})
    with pytest.raises(SourceError) as caught:
        read_workbook(path, limits=Limits(max_rows=20))
    error = caught.value.errors[0]
    assert error.code == "too_many_rows"
    assert error.location.row is not None and error.location.row > 20


def test_cancel_stops_the_child(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "small.xlsx", {"S": [["a"]]})
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        read_in_child(path, file="small.xlsx", cancel=token)


def test_child_timeout(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "small.xlsx", {"S": [["a"]]})
    with pytest.raises(SourceError) as caught:
        read_in_child(path, file="small.xlsx", limits=Limits(child_seconds=0.0))
    assert caught.value.errors[0].code == "reader_timeout"


def test_ods_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sheet.ods"
    _write_ods(path, [["gene", "name"], ["BRAF", "B-Raf"]])
    book = read_workbook(path)
    assert book.kind == "ods"
    assert book.sheet().rows == [["gene", "name"], ["BRAF", "B-Raf"]]


def _write_ods(path: Path, rows: list[list[str]], *, formula: bool = False) -> None:
    import zipfile

    with_formula = ' table:formula="of:=1+1"'
    cells = "".join(
        "<table:table-row>"
        + "".join(
            '<table:table-cell office:value-type="string"'
            + (with_formula if formula and r and not c else "")
            + f"><text:p>{value}</text:p></table:table-cell>"
            for c, value in enumerate(row)
        )
        + "</table:table-row>"
        for r, row in enumerate(rows)
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
        f"{cells}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)


def test_ods_formula_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "formula.ods"
    _write_ods(path, [["a"], ["b"]], formula=True)
    with pytest.raises(SourceError) as caught:
        read_workbook(path)
    assert caught.value.errors[0].code == "formula"
    assert caught.value.errors[0].location.sheet == "Sheet1"


def test_crafted_sheet_without_cell_addresses(tmp_path: Path) -> None:
    body = '<row><c t="inlineStr"><is><t>a</t></is></c></row>' + (
        f'<row r="3">{inline_cell("B3", "b")}</row>'
    )
    path = crafted_xlsx(tmp_path / "noaddr.xlsx", sheet_xml(body), name="S")
    rows = read_workbook(path).sheet().rows
    assert rows[0][0] == "a" and rows[2][1] == "b"


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (16383, "XFD")])
def test_column_letters(index: int, letters: str) -> None:
    assert column_letter(index) == letters
    assert column_index(letters) == index


def test_streamed_sheets_hold_what_calamine_reads(tmp_path: Path) -> None:
    """Sheets cross from the child in batches of rows; put together they are the sheet, for a
    used range starting at A1 (streamed as converted) and one starting further in."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    book = openpyxl.Workbook(write_only=True)
    tall = book.create_sheet("Tall")
    for number in range(BATCH_ROWS * 2 + 3):
        tall.append([f"r{number}", number, None, "x" if number % 7 == 0 else None])
    tall.append([None, None, None, None, dt.datetime(2024, 5, 6, 7, 8)])
    inset = book.create_sheet("Inset")
    inset.append([])
    inset.append([None, None, "c", 2.5])
    path = tmp_path / "tall.xlsx"
    book.save(path)
    read = read_workbook(path)
    calamine = CalamineWorkbook.from_path(path)
    for name in ("Tall", "Inset"):
        expected = calamine.get_sheet_by_name(name).to_python(skip_empty_area=False)
        assert read.sheet(name).rows == expected
    assert len(read.sheet("Tall").rows) == BATCH_ROWS * 2 + 4
    assert read.sheet("Inset").rows[1] == ["", "", "c", 2.5]


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"not json\n",
        b'[["a"]]\n{"end": true}\n',  # rows before any sheet
        b'{"sheet_names": ["S"]}\n{"sheet": "S", "merged": []}\n["a"]\n{"end": true}\n',
        b'{"sheet_names": ["S"]}\n{"sheet": "S", "merged": []}\n',  # no end
        b'{"sheet_names": "S"}\n{"end": true}\n',
        b'{"sheet_names": []}\n{"end": true}\n{"end": true}\n',
        b'{"sheet_names": []}\n{"sheet": 1, "merged": []}\n{"end": true}\n',
        b'{"sheet_names": []}\n{"what": 1}\n{"end": true}\n',
        b'{"sheet_names": []}\n{"end": true}\n[["late"]]\n',
    ],
)
def test_a_broken_answer_from_the_child_is_garbage(answer: bytes) -> None:
    decoded = _Answer()
    decoded.drain(io.BytesIO(answer))
    assert decoded.garbage or not decoded.ended or decoded.sheet_names is None


def test_the_child_answer_protocol() -> None:
    decoded = _Answer()
    decoded.drain(
        io.BytesIO(
            b'{"sheet_names": ["S", "T"]}\n{"sheet": "S", "merged": [[0, 0, 1, 1]]}\n'
            b'[["a", 1], ["b", {"$date": "2024-05-06"}]]\n[["c", 2]]\n{"end": true}\n'
        )
    )
    assert not decoded.garbage and decoded.ended and decoded.error is None
    assert decoded.sheet_names == ["S", "T"]
    (sheet,) = decoded.sheets
    assert sheet.rows == [["a", 1], ["b", dt.date(2024, 5, 6)], ["c", 2]]
    assert sheet.merged == [(0, 0, 1, 1)]
