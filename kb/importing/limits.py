"""Limits and checks for untrusted import files (DESIGN §4).

Everything here runs in the calling process on bytes only, so it must never need much memory or
time whatever the file holds. It runs while the isolated reader parses the same file (two cores
are common), and it has the last word: a file it refuses is refused with its error, whatever
the reader made of the file, and the reader is stopped. It checks:

- the file's size; what it really is (a zip, an OLE2/CFB container, text, or something else such
  as a PNG or an HTML page renamed .xlsx);
- for zip-based files (xlsx, ods): the number of entries, their total uncompressed size and
  compression ratio, counted while decompressing (declared sizes can lie);
- for xlsx worksheets: cells beyond the row/column limits (a crafted file with a cell at
  XFD1048576 makes python-calamine abort the whole process), formula cells (never evaluated,
  reported by cell), merged cells (reported), and external-link parts (ignored, with a warning);
- password-protected files: Office encrypts them into an OLE2/CFB container holding an
  "EncryptedPackage" stream.

What cannot be checked this cheaply (e.g. the real height of an .xls sheet) is checked again in
the isolated reader process (kb/importing/isolation.py), which is also memory-capped.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kb.importing.model import ImportError_, Location, SourceError


@dataclass(frozen=True, slots=True)
class Limits:
    """What an import file may hold; the defaults fit any honest curation spreadsheet."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 2_000
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    # Only entries this large are held to the ratio: tiny parts compress absurdly well.
    ratio_floor_bytes: int = 1024 * 1024
    max_ratio: float = 200.0
    max_rows: int = 500_000  # rows of a sheet, header rows included
    max_columns: int = 1_000
    # Cells of a text file in all (a CSV of nothing but commas is millions of empty cells, each
    # a pointer in memory): 25 million is 500,000 rows of 50 columns.
    max_cells: int = 25_000_000
    # Excel's own limit for one cell.
    max_cell_chars: int = 32_767
    # The isolated reader process: wall-clock seconds and address space.
    child_seconds: float = 600.0
    child_memory_bytes: int = 6 * 1024 * 1024 * 1024


DEFAULT_LIMITS = Limits()

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\x00", "a SQLite database"),
)

_FORMULA = re.compile(rb"<f[\s>/]")
_FORMULA_CELL = re.compile(
    rb'<c\b[^>]*?\sr="([A-Z]+[0-9]+)"[^>]*>(?:(?!</c>).){0,4000}?<f[\s>/]', re.DOTALL
)
# A cheap test that finds any cell past column ZZ ("wide") or row 99,999 ("deep") without
# parsing every cell: a pattern starting with a literal (' r="') runs at memchr speed, one that
# starts at "<c" does not. One pattern for both reads the part once.
_BIG_CELL = re.compile(rb' r="([A-Z]{3,}[0-9]+|[A-Z]{1,3}[0-9]{6,})"')
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+[0-9]+)(?::([A-Z]+[0-9]+))?"')
_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Z]+[0-9]+)(?::([A-Z]+[0-9]+))?"')
_CHUNK = 1024 * 1024
# Longest pattern we look for across a chunk boundary.
_OVERLAP = 8 * 1024

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """The 0-based index of a column letter (A -> 0)."""
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number - 1


def split_ref(ref: str) -> tuple[int, int]:
    """ "B12" -> (row 12, 0-based column 1)."""
    match = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match[2]), column_index(match[1])


def fail(
    file: str,
    code: str,
    message: str,
    *,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
) -> SourceError:
    """A `SourceError` with one located error (raise it)."""
    return SourceError(ImportError_(Location(file, sheet, row, column), None, code, message, value))


def check_size(path: Path, file: str, limits: Limits) -> int:
    """The file's size in bytes; refuses an empty or over-large file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise fail(file, "unreadable", f"cannot read the file: {exc.strerror or exc}") from None
    if size == 0:
        raise fail(file, "empty_file", "the file is empty")
    if size > limits.max_file_bytes:
        raise fail(
            file,
            "file_too_large",
            f"the file is {size:,} bytes; imports are limited to {limits.max_file_bytes:,}",
        )
    return size


def not_a_spreadsheet(head: bytes) -> str | None:
    """What the file is, when its first bytes show it is no spreadsheet; else None."""
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<table")):
        return "an HTML page"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "an XML or HTML document"
    if text.startswith((b"{", b"[")) and b"\t" not in head[:4096]:
        return "a JSON document"
    return None


def check_ole(path: Path, file: str) -> None:
    """Refuse a password-protected OLE2/CFB file (encrypted xlsx or xls) with a clear message."""
    with path.open("rb") as handle:
        # Directory entries and the first Workbook sectors lie within the first 512 KB of any
        # file a spreadsheet program writes; a full CFB parse is not worth the attack surface.
        data = handle.read(512 * 1024)
    if _ENCRYPTED_STREAM in data or _ENCRYPTION_INFO in data:
        raise fail(
            file,
            "password_protected",
            "the file is password-protected (encrypted); save an unprotected copy to import it",
        )
    # An encrypted .xls keeps the Workbook stream name; the isolated reader reports it.


@dataclass
class SheetScan:
    """What the byte-level scan of one xlsx worksheet found."""

    name: str
    formula_cells: list[str] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1


@dataclass
class ZipScan:
    """What the zip-level checks found in an xlsx or ods file."""

    kind: str  # "xlsx", "xlsb" or "ods"
    sheets: dict[str, SheetScan] = field(default_factory=dict)
    external_links: list[str] = field(default_factory=list)
    ods_formulas: dict[str, int] = field(default_factory=dict)


def _open_zip(path: Path, file: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise fail(
            file,
            "damaged_file",
            "the file is a damaged or truncated zip archive (xlsx and ods files are zips); "
            "open and save it again in the spreadsheet program",
        ) from None
    except OSError as exc:
        raise fail(file, "unreadable", f"cannot read the file: {exc}") from None


def check_zip(path: Path, file: str, limits: Limits) -> ZipScan:
    """Check an xlsx/ods zip against the limits and scan its worksheets; raise SourceError."""
    with _open_zip(path, file) as archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise fail(
                file,
                "zip_entries",
                f"the file holds {len(entries):,} zip entries; the limit is "
                f"{limits.max_zip_entries:,}",
            )
        total = 0
        for info in entries:
            total += info.file_size
            if info.file_size > limits.ratio_floor_bytes:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > limits.max_ratio:
                    raise fail(
                        file,
                        "zip_bomb",
                        f"part {info.filename} expands {ratio:,.0f}-fold "
                        f"({info.compress_size:,} to {info.file_size:,} bytes); the limit is "
                        f"{limits.max_ratio:,.0f}-fold",
                    )
        if total > limits.max_uncompressed_bytes:
            raise fail(
                file,
                "zip_too_large",
                f"the file expands to {total:,} bytes; the limit is "
                f"{limits.max_uncompressed_bytes:,}",
            )
        names = {info.filename for info in entries}
        budget = _Budget(limits.max_uncompressed_bytes, file)
        if "xl/workbook.xml" in names:
            return _scan_xlsx(archive, names, file, limits, budget)
        if "xl/workbook.bin" in names:
            return ZipScan("xlsb")  # binary parts: checked in the isolated reader only
        if "content.xml" in names and _is_ods(archive, budget):
            return _scan_ods(archive, file, limits, budget)
        if "word/document.xml" in names:
            what = "a Word document"
        elif "ppt/presentation.xml" in names:
            what = "a PowerPoint presentation"
        else:
            what = "a zip archive"
        raise fail(file, "not_a_spreadsheet", f"the file is {what}, not a spreadsheet")


class _Budget:
    """Uncompressed bytes left to read: enforced on the real stream, not on declared sizes."""

    def __init__(self, limit: int, file: str) -> None:
        self.left = limit
        self.file = file

    def take(self, count: int, part: str) -> None:
        self.left -= count
        if self.left < 0:
            raise fail(
                self.file,
                "zip_too_large",
                f"part {part} expands beyond the limit for the whole file; it may be a zip bomb",
            )


def _read_part(archive: zipfile.ZipFile, name: str, budget: _Budget, cap: int) -> bytes:
    """A small part (workbook, relationships) read whole, at most `cap` bytes."""
    try:
        with archive.open(name) as stream:
            data = stream.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise fail(budget.file, "damaged_file", f"part {name} cannot be read: {exc}") from None
    if len(data) > cap:
        raise fail(budget.file, "zip_too_large", f"part {name} is larger than {cap:,} bytes")
    budget.take(len(data), name)
    return data


def _chunks(archive: zipfile.ZipFile, name: str, budget: _Budget) -> Iterator[tuple[bytes, int]]:
    """A part in overlapping chunks, so a pattern cut by a chunk boundary is still found.

    Yields (chunk, seen): a match ending at or before `seen` was found in the chunk before.
    """
    tail = b""
    try:
        with archive.open(name) as stream:
            while True:
                data = stream.read(_CHUNK)
                if not data:
                    break
                budget.take(len(data), name)
                yield tail + data, len(tail)
                tail = data[-_OVERLAP:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise fail(budget.file, "damaged_file", f"part {name} cannot be read: {exc}") from None


def _is_ods(archive: zipfile.ZipFile, budget: _Budget) -> bool:
    try:
        mimetype = _read_part(archive, "mimetype", budget, 256)
    except SourceError:
        return False
    return mimetype.strip() == b"application/vnd.oasis.opendocument.spreadsheet"


def _parse_xml(data: bytes, file: str, part: str) -> ET.Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # Office never writes a DTD; one here can only be an entity-expansion attack.
        raise fail(file, "damaged_file", f"part {part} declares a DTD, which spreadsheets never do")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise fail(file, "damaged_file", f"part {part} is not well-formed XML: {exc}") from None


def _sheet_parts(archive: zipfile.ZipFile, file: str, budget: _Budget) -> list[tuple[str, str]]:
    """(sheet name, zip part) for every worksheet, in workbook order."""
    workbook = _parse_xml(
        _read_part(archive, "xl/workbook.xml", budget, 4 * _CHUNK), file, "xl/workbook.xml"
    )
    rels_name = "xl/_rels/workbook.xml.rels"
    targets: dict[str, str] = {}
    if rels_name in archive.namelist():
        rels = _parse_xml(_read_part(archive, rels_name, budget, 4 * _CHUNK), file, rels_name)
        for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
            target = rel.get("Target") or ""
            if target.startswith("/"):
                part = target.lstrip("/")
            else:
                part = posixpath.normpath(posixpath.join("xl", target))
            targets[rel.get("Id") or ""] = part
    sheets = []
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        part = targets.get(sheet.get(f"{_NS_REL}id") or "", "")
        sheets.append((sheet.get("name") or "", part))
    return sheets


def _scan_xlsx(
    archive: zipfile.ZipFile, names: set[str], file: str, limits: Limits, budget: _Budget
) -> ZipScan:
    scan = ZipScan("xlsx")
    scan.external_links = sorted(name for name in names if name.startswith("xl/externalLinks/"))
    for sheet, part in _sheet_parts(archive, file, budget):
        if part not in names:
            continue  # chart sheets and dangling relationships hold no cells
        scan.sheets[sheet] = _scan_worksheet(
            archive, part, sheet, file=file, limits=limits, budget=budget
        )
    return scan


def _scan_worksheet(
    archive: zipfile.ZipFile, part: str, sheet: str, *, file: str, limits: Limits, budget: _Budget
) -> SheetScan:
    found = SheetScan(sheet)
    formulas: set[str] = set()
    for chunk, _seen in _chunks(archive, part, budget):
        dimension = _DIMENSION.search(chunk)
        if dimension and dimension[2]:
            _check_cell(dimension[2].decode(), sheet, file, limits, "declares a used range up to")
        big = [match[1].decode() for match in _BIG_CELL.finditer(chunk)]
        # All wide cells first, then all deep ones (a cell may be both), as ever: the same cell
        # is reported when there are several.
        for wide in (True, False):
            for ref in big:
                letters = len(ref.rstrip("0123456789"))
                if (letters >= 3) if wide else (letters <= 3 and len(ref) - letters >= 6):
                    _check_cell(ref, sheet, file, limits, "has a cell at")
        if _FORMULA.search(chunk):
            formulas.update(match[1].decode() for match in _FORMULA_CELL.finditer(chunk))
        for match in _MERGE.finditer(chunk):
            first = split_ref(match[1].decode())
            last = split_ref(match[2].decode()) if match[2] else first
            merged = (first[0], first[1], last[0], last[1])
            if merged not in found.merged:
                found.merged.append(merged)
    found.formula_cells = sorted(formulas, key=split_ref)
    return found


def _check_cell(ref: str, sheet: str, file: str, limits: Limits, what: str) -> None:
    row, column = split_ref(ref)
    if row > limits.max_rows:
        raise fail(
            file,
            "too_many_rows",
            f"sheet {sheet!r} {what} {ref}: more than the {limits.max_rows:,} rows allowed",
            sheet=sheet,
            row=row,
            column=column_letter(column),
        )
    if column >= limits.max_columns:
        raise fail(
            file,
            "too_many_columns",
            f"sheet {sheet!r} {what} {ref}: more than the {limits.max_columns:,} columns allowed",
            sheet=sheet,
            row=row,
            column=column_letter(column),
        )


_ODS_TABLE = re.compile(rb'<table:table\s[^>]*?table:name="([^"]*)"')
_ODS_FORMULA = re.compile(rb"table:formula=")


def _scan_ods(archive: zipfile.ZipFile, file: str, limits: Limits, budget: _Budget) -> ZipScan:
    """ODS cells carry no addresses, so formulas are counted per sheet, not placed."""
    del limits  # rows and columns are checked in the isolated reader for ods
    scan = ZipScan("ods")
    current = ""
    for chunk, seen in _chunks(archive, "content.xml", budget):
        # Attribute a formula to the last sheet opened before it in the chunk.
        events = sorted(
            [
                (m.start(), "table", m[1].decode("utf-8", "replace"))
                for m in _ODS_TABLE.finditer(chunk)
                if m.end() > seen
            ]
            + [(m.start(), "formula", "") for m in _ODS_FORMULA.finditer(chunk) if m.end() > seen]
        )
        for _, kind, name in events:
            if kind == "table":
                current = name
            else:
                scan.ods_formulas[current] = scan.ods_formulas.get(current, 0) + 1
    return scan
