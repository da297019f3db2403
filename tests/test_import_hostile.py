"""The hostile-file corpus: every file below is generated here, and each must give a located
error, never crash the caller, and leave the KB exactly as it was (DESIGN §4)."""

from __future__ import annotations

import codecs
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from test_import_support import (
    calamine_crash_file,
    crafted_xlsx,
    fingerprint,
    inline_cell,
    sheet_xml,
    write_template_rows,
    write_xlsx,
)

from kb.errors import KbError
from kb.importing.engine import Adapter, apply, preview
from kb.importing.limits import Limits
from kb.importing.profiles import parse_profile
from kb.importing.template import template_adapter
from kb.model.enums import RecordType, Role
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

BM = RecordType.BIOMARKER
GOOD_BIOMARKER = {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "p.V600K"}


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], tuple[Path, Adapter]]
    code: str
    # (sheet, row, column) the first error of `code` must point at; None where the problem is
    # the whole file.
    where: tuple[str | None, int | None, str | None] | None = None


def _template(name: str, rows: dict[RecordType, list[tuple[str | None, dict[str, object]]]]):
    def build(tmp: Path) -> tuple[Path, Adapter]:
        return write_template_rows(tmp / name, rows), template_adapter

    return build


def _limited(build: Callable[[Path], tuple[Path, Adapter]], limits: Limits):
    def wrapped(tmp: Path) -> tuple[Path, Adapter]:
        path, _ = build(tmp)
        return path, partial(template_adapter, limits=limits)  # type: ignore[return-value]

    return wrapped


def _bytes(name: str, data: bytes, adapter: Adapter = template_adapter):
    def build(tmp: Path) -> tuple[Path, Adapter]:
        path = tmp / name
        path.write_bytes(data)
        return path, adapter

    return build


_PROFILE = parse_profile(
    {
        "record_type": "biomarker",
        "columns": {"Kind": "kind", "Gene": "gene", "Change": "protein_change"},
    }
).adapter()


def _profile_sheet(name: str, rows: list[list[object]], *, merge: str | None = None):
    def build(tmp: Path) -> tuple[Path, Adapter]:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        if merge:
            sheet.merge_cells(merge)
        book.save(tmp / name)
        return tmp / name, _PROFILE

    return build


def _csv(name: str, data: bytes):
    return _bytes(name, data, _PROFILE)


def _zip_bomb(tmp: Path) -> tuple[Path, Adapter]:
    padding = " " * (30 * 1024 * 1024)  # 30 MB of spaces deflate ~1000-fold
    body = f'<row r="1">{inline_cell("A1", "ID")}</row>'
    return crafted_xlsx(tmp / "bomb.xlsx", sheet_xml(body, before=padding)), template_adapter


def _many_entries(tmp: Path) -> tuple[Path, Adapter]:
    path = write_template_rows(tmp / "entries.xlsx", {BM: [(None, GOOD_BIOMARKER)]})
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(2_100):
            archive.writestr(f"customXml/item{index}.xml", "<a/>")
    return path, template_adapter


def _huge_dimension(tmp: Path) -> tuple[Path, Adapter]:
    body = f'<row r="1">{inline_cell("A1", "ID")}</row>'
    sheet = sheet_xml(body, before='<dimension ref="A1:XFD1048576"/>')
    return crafted_xlsx(tmp / "dimension.xlsx", sheet), template_adapter


def _crash(tmp: Path) -> tuple[Path, Adapter]:
    return calamine_crash_file(tmp / "crash.xlsx"), template_adapter


def _formula(tmp: Path) -> tuple[Path, Adapter]:
    path = write_template_rows(tmp / "formula.xlsx", {BM: [(None, GOOD_BIOMARKER)]})
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["Biomarkers"]["E2"] = '=CONCATENATE("BRAF", " V600K")'  # the label column
    book.save(path)
    return path, template_adapter


def _external_link(tmp: Path) -> tuple[Path, Adapter]:
    path = write_template_rows(tmp / "external.xlsx", {BM: [(None, GOOD_BIOMARKER)]})
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["Biomarkers"]["E2"] = "='[other.xlsx]Sheet1'!A1"
    book.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(
            "xl/externalLinks/externalLink1.xml",
            '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships"/></externalLink>',
        )
        archive.writestr(
            "xl/externalLinks/_rels/externalLink1.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/externalLinkPath" Target="http://evil.example/other.xlsx" '
            'TargetMode="External"/></Relationships>',
        )
    return path, template_adapter


def _ole(encrypted: bool) -> bytes:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = ("EncryptionInfo" if encrypted else "Workbook").encode("utf-16-le")
    body = directory + bytes(64)
    if encrypted:
        body += "EncryptedPackage".encode("utf-16-le") + bytes(64)
    return header + body + os.urandom(2048)


def _truncated(tmp: Path) -> tuple[Path, Adapter]:
    whole = write_template_rows(tmp / "whole.xlsx", {BM: [(None, GOOD_BIOMARKER)]}).read_bytes()
    path = tmp / "truncated.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    return path, template_adapter


def _word(tmp: Path) -> tuple[Path, Adapter]:
    path = tmp / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return path, template_adapter


def _entity_bomb(tmp: Path) -> tuple[Path, Adapter]:
    workbook = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol2;'
        "</workbook>"
    )
    path = crafted_xlsx(tmp / "entities.xlsx", sheet_xml(""), workbook=workbook)
    return path, template_adapter


def _empty_sheet(tmp: Path) -> tuple[Path, Adapter]:
    return write_xlsx(tmp / "empty.xlsx", {"Sheet": []}), _PROFILE


def _long_cell(tmp: Path) -> tuple[Path, Adapter]:
    # Written by hand: openpyxl itself cuts strings to Excel's 32,767-character limit.
    header = "".join(
        inline_cell(f"{letter}1", text)
        for letter, text in zip("ABC", ["ID", "kind", "label"], strict=True)
    )
    row = inline_cell("B2", "sequence_variant") + inline_cell("C2", "x" * 40_000)
    sheet = sheet_xml(f'<row r="1">{header}</row><row r="2">{row}</row>')
    return crafted_xlsx(tmp / "long.xlsx", sheet), template_adapter


def _too_many_columns_csv(tmp: Path) -> tuple[Path, Adapter]:
    path = tmp / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_200)) + "\n")
    return path, _PROFILE


def _commas_csv(tmp: Path) -> tuple[Path, Adapter]:
    """A CSV of nothing but commas: millions of empty cells, refused before they fill memory
    (a real 190 MB one peaked at 4 GB before this limit)."""
    path = tmp / "commas.csv"
    path.write_text(("," * 999 + "\n") * 30_000)  # 30 million cells, 29 MB
    return path, _PROFILE


def _typo(tmp: Path) -> tuple[Path, Adapter]:
    path = write_template_rows(tmp / "typo.xlsx", {BM: [(None, GOOD_BIOMARKER)]})
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["Biomarkers"]["F1"] = "protien_change"  # a typo must not drop the column silently
    book.save(path)
    return path, template_adapter


def _not_a_template(tmp: Path) -> tuple[Path, Adapter]:
    path = tmp / "plain.csv"
    path.write_text("kind,gene\nsequence_variant,BRAF\n")
    return path, template_adapter


CASES = [
    Case("zip bomb", _zip_bomb, "zip_bomb"),
    Case("too many zip entries", _many_entries, "zip_entries"),
    Case(
        "uncompressed size",
        _limited(
            _template("big.xlsx", {BM: [(None, GOOD_BIOMARKER)]}),
            Limits(max_uncompressed_bytes=20_000),
        ),
        "zip_too_large",
    ),
    Case("huge dimension", _huge_dimension, "too_many_rows", ("Biomarkers", 1048576, "XFD")),
    Case("calamine crash file", _crash, "too_many_rows", ("Sheet1", 1048576, "XFD")),
    Case(
        "too many rows",
        _limited(_template("rows.xlsx", {BM: [(None, GOOD_BIOMARKER)] * 30}), Limits(max_rows=10)),
        "too_many_rows",
    ),
    Case(
        "too many columns (xlsx)",
        _limited(_template("cols.xlsx", {BM: [(None, GOOD_BIOMARKER)]}), Limits(max_columns=5)),
        "too_many_columns",
    ),
    Case("too many columns (csv)", _too_many_columns_csv, "too_many_columns", (None, 1, "ALM")),
    Case("a CSV of commas", _commas_csv, "too_many_cells", (None, 25_001, None)),
    Case("formula cell", _formula, "formula", ("Biomarkers", 2, "E")),
    Case("external link", _external_link, "formula", ("Biomarkers", 2, "E")),
    Case("password-protected", _bytes("secret.xlsx", _ole(True)), "password_protected"),
    Case("damaged xls", _bytes("old.xls", _ole(False)), "damaged_file"),
    Case("png", _bytes("image.xlsx", b"\x89PNG\r\n\x1a\n" + os.urandom(3000)), "not_a_spreadsheet"),
    Case("random bytes", _bytes("noise.xlsx", os.urandom(5000)), "not_a_spreadsheet"),
    Case("empty file", _bytes("empty.xlsx", b""), "empty_file"),
    Case(
        "html renamed",
        _bytes("page.xlsx", b"<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table>"),
        "not_a_spreadsheet",
    ),
    Case("json renamed", _bytes("data.csv", b'{"kind": "x"}', _PROFILE), "not_a_spreadsheet"),
    Case("truncated zip", _truncated, "damaged_file"),
    Case("word document", _word, "not_a_spreadsheet"),
    Case("xml entity bomb", _entity_bomb, "damaged_file"),
    Case("empty sheet", _empty_sheet, "empty_sheet"),
    Case("csv for the template", _not_a_template, "not_a_template"),
    Case(
        "duplicate headers",
        _profile_sheet("dup.xlsx", [["Kind", "Gene", "Change", "gene"]]),
        "duplicate_header",
        ("Sheet", 1, "D"),
    ),
    Case(
        "missing required header",
        _profile_sheet("missing.xlsx", [["Gene", "Change"], ["BRAF", "V600E"]]),
        "missing_header",
        ("Sheet", 1, None),
    ),
    Case(
        "merged header cells",
        _profile_sheet("merged.xlsx", [["Kind", "Gene", "Change"]], merge="B1:C1"),
        "merged_header",
        ("Sheet", 1, "B"),
    ),
    Case(
        "two-row header",
        _profile_sheet(
            "tworow.xlsx",
            [
                ["Variant list", "", ""],
                ["Kind", "Gene", "Change"],
                ["sequence_variant", "BRAF", "V600E"],
            ],
        ),
        "missing_header",
        ("Sheet", 1, None),
    ),
    Case(
        "merged data cells",
        _profile_sheet(
            "mergeddata.xlsx",
            [
                ["Kind", "Gene", "Change"],
                ["sequence_variant", "BRAF", "V600K"],
                ["sequence_variant", "", "V600E"],
            ],
            merge="B2:B3",
        ),
        "merged_cells",
        ("Sheet", 2, "B"),
    ),
    Case(
        "wrong types",
        _template("types.xlsx", {BM: [(None, {"kind": "banana", "exon": "abc"})]}),
        "invalid_value",
        ("Biomarkers", 2, "B"),
    ),
    Case(
        "unknown gene symbol in a reference",
        _template("gene.xlsx", {BM: [(None, {**GOOD_BIOMARKER, "gene": "BRAFF"})]}),
        "unknown_reference",
        ("Biomarkers", 2, "C"),
    ),
    Case(
        "gene not in HGNC",
        _template(
            "hgnc.xlsx",
            {RecordType.GENE: [(None, {"symbol": "NOTAGENE1", "hgnc_id": "HGNC:424242"})]},
        ),
        "unknown_gene",
        ("Genes", 2, "B"),
    ),
    Case(
        "unknown OncoTree code",
        _template(
            "code.xlsx",
            {
                RecordType.ASSERTION: [
                    (
                        None,
                        {
                            "expression": "BX-00001",
                            "therapy": "TX-00001",
                            "tumour_types": ["XYZQ"],
                            "implication": "sensitive",
                            "evidence_level": "1",
                        },
                    )
                ]
            },
        ),
        "unknown_code",
        ("Assertions", 2, "D"),
    ),
    Case(
        "bad encoding",
        _csv("latin1.csv", b"Kind,Gene,Change\nsequence_variant,BRAF,V600K \xe9\n"),
        "bad_encoding",
        (None, 2, "C"),
    ),
    Case(
        "NUL bytes",
        _csv("nul.csv", b"Kind,Gene,Change\nsequence_variant,BR\x00AF,V600K\n"),
        "nul_byte",
        (None, 2, "B"),
    ),
    Case("extremely long cell", _long_cell, "cell_too_long", ("Biomarkers", 2, "C")),
    Case(
        "UTF-16 without BOM",
        _csv("utf16.csv", "Kind,Gene\nx,y\n".encode("utf-16-le")),
        "not_a_spreadsheet",
    ),
    Case("unknown template column", _typo, "unknown_header", ("Biomarkers", 1, "F")),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.fixture
def curated(demo_url: str) -> Iterator[tuple[Kb, Actor]]:
    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        curator = add_user(
            session, actor=admin, name="cur", role=Role.CURATOR, password="pw-cur-12345"
        )
    yield kb, curator
    kb.close()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file(case: Case, tmp_path: Path, curated: tuple[Kb, Actor]) -> None:
    kb, curator = curated
    path, adapter = case.build(tmp_path)
    before = fingerprint(kb)
    with kb.read() as session:
        result = preview(adapter(path), session, source=path.name)
    errors = [error for error in result.errors if error.code == case.code]
    assert errors, f"expected a {case.code} error, got {[e.as_json() for e in result.errors]}"
    assert result.fatal or result.invalid
    error = errors[0]
    assert error.location.file == path.name
    assert error.message
    if case.where is not None:
        where = (error.location.sheet, error.location.row, error.location.column)
        assert where == case.where, error
    json_errors = result.as_json()["errors"]
    assert all(
        set(e) >= {"file", "sheet", "row", "column", "field", "code", "message", "value"}
        for e in json_errors
    )
    # Applying is refused, and the refusal leaves nothing behind either.
    with pytest.raises(KbError, match="nothing imported"), kb.unit_of_work() as session:
        apply(result, session, actor=curator, source_name=path.name, source_sha256="0" * 64)
    assert fingerprint(kb) == before


def test_two_row_header_hint(tmp_path: Path, curated: tuple[Kb, Actor]) -> None:
    kb, _ = curated
    case = next(case for case in CASES if case.name == "two-row header")
    path, adapter = case.build(tmp_path)
    with kb.read() as session:
        result = preview(adapter(path), session)
    assert "row 2" in result.file_errors[0].message
    assert "header_row = 2" in result.file_errors[0].message


def test_truncated_text_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    # Not hostile as such: a CSV cut mid-row reads its complete rows, and the cut row as is.
    from kb.importing.readers import read_workbook

    path = tmp_path / "cut.csv"
    path.write_bytes(codecs.BOM_UTF8 + b'a,b\n1,2\n3,"unterminated')
    rows = read_workbook(path).sheet().rows
    assert rows == [["a", "b"], ["1", "2"], ["3", "unterminated"]]
