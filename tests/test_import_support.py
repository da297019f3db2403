"""Builders shared by the import tests: spreadsheets written by the tests themselves (openpyxl
for honest files, zipfile for crafted ones), and a fingerprint of a KB to prove it untouched."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kb.importing.template import TemplateWriter
from kb.model.enums import RecordType
from kb.model.orm import AuditEvent, Change, ChangeSet, KbVersion, Revision
from kb.storage.db import Kb
from kb.storage.snapshot import build_snapshot


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> Path:
    """An honest workbook: one sheet per entry, rows from row 1."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def write_template_rows(
    path: Path, rows: Mapping[RecordType, Sequence[tuple[str | None, Mapping[str, Any]]]]
) -> Path:
    """A template workbook holding the given (ID, fields) rows per record type."""
    writer = TemplateWriter(path)
    for rtype, records in rows.items():
        writer.sheet(rtype)
        for human_id, fields in records:
            writer.row(human_id, fields)
    writer.close()
    return path


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def inline_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(body: str, *, before: str = "", after: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.'
        f'org/spreadsheetml/2006/main">{before}<sheetData>{body}</sheetData>{after}</worksheet>'
    )


def crafted_xlsx(
    path: Path,
    sheet: str,
    *,
    name: str = "Biomarkers",
    extra: Mapping[str, bytes | str] | None = None,
    workbook: str | None = None,
) -> Path:
    """A minimal hand-made xlsx: one worksheet with the given XML, plus any extra parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", workbook or _WORKBOOK.format(name=name))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for part, data in (extra or {}).items():
            archive.writestr(part, data)
    return path


def calamine_crash_file(path: Path) -> Path:
    """The 1.5 KB xlsx that makes python-calamine abort: cells at A1 and XFD1048576."""
    body = (
        f'<row r="1">{inline_cell("A1", "a")}</row>'
        f'<row r="1048576">{inline_cell("XFD1048576", "b")}</row>'
    )
    return crafted_xlsx(path, sheet_xml(body), name="Sheet1")


def fingerprint(kb: Kb) -> tuple[Any, ...]:
    """Everything an import could change: the KB's content digest and its history tables."""
    with kb.read() as session:
        return (
            build_snapshot(session).digest(),
            session.scalar(select(func.count()).select_from(ChangeSet)),
            session.scalar(select(func.count()).select_from(Change)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
            session.scalar(select(func.count()).select_from(Revision)),
            session.scalar(select(func.count()).select_from(KbVersion)),
        )


def test_crafted_xlsx_is_a_zip(tmp_path: Path) -> None:
    path = calamine_crash_file(tmp_path / "crash.xlsx")
    assert zipfile.is_zipfile(path)
    assert path.stat().st_size < 5 * 1024
