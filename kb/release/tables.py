"""Flat, human views of a snapshot: assertions, biomarkers, therapies and trials as tables,
written as TSV and as one xlsx workbook with deterministic bytes.

Both renditions are for people and scripts; kb.json stays the authoritative data. Each table
has one row per record, sorted by human id, with references resolved to names where that is
cheap and lists joined with "; ".

Spreadsheet safety. A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
can be run as a formula when a TSV file is opened in a spreadsheet ("CSV injection"). In TSV such
a cell gets a leading single quote (`'=HYPERLINK(…)`), the mark spreadsheets themselves use for
"this is text". In xlsx every text cell is written as an inline string, which a spreadsheet
never evaluates, so the text stays exactly as curated; the writer has no formula path at all.

TSV format: UTF-8, LF line ends, a header row, tab-separated; inside a cell a backslash, tab,
line feed and carriage return are written `\\\\`, `\\t`, `\\n`, `\\r` (the "linear TSV"
convention), so every record is exactly one line.

The workbook's package parts come from openpyxl, but the cells are streamed by this module:
openpyxl's write-only mode takes about 11 s for 100,000 rows × 17 columns on our 2-core
machine, most of a release's time budget, where building the sheet XML directly takes about
two. The zip is rewritten with one fixed timestamp (the release's `created`) so two exports of
the same KB version are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kb.model.expression import Tree, render
from kb.model.records import biomarker_name, leaf_text, phase_words

Cell = str | int | None
Entry = Mapping[str, Any]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_TEXT = 32767  # Excel's limit on the characters in one cell
_XML_SLOW = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[list[Cell]]


# --- names ----------------------------------------------------------------------------------


class SnapshotNames:
    """Display names for the records of a snapshot (its JSON form), without a database.

    Mirrors `kb.model.records.Titles`, which reads the same names from the database.
    """

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        records: Mapping[str, Sequence[Entry]] = snapshot.get("records") or {}
        self.fields: dict[str, dict[str, Mapping[str, Any]]] = {
            rtype: {entry["id"]: entry["fields"] for entry in entries}
            for rtype, entries in records.items()
        }
        self.tumour_names: dict[str, str] = {
            row["code"]: row.get("name") or row["code"]
            for row in snapshot.get("tumour_types") or []
        }
        self.genes: dict[str, str] = {
            gid: str(fields.get("symbol") or gid) for gid, fields in self.of("gene").items()
        }
        self._biomarkers: dict[str, tuple[str, str]] = {}
        self._expressions: dict[str, str] = {}

    def of(self, rtype: str) -> Mapping[str, Mapping[str, Any]]:
        return self.fields.get(rtype, {})

    def biomarker(self, bm_id: str) -> tuple[str, str]:
        """(display name, the subject a threshold on it measures: gene or characteristic)."""
        known = self._biomarkers.get(bm_id)
        if known is None:
            fields = self.of("biomarker").get(bm_id)
            if fields is None:
                known = (bm_id, "")
            else:
                name = fields.get("label") or biomarker_name(fields, self.genes)
                subject = self.genes.get(fields.get("gene") or "") or fields.get("characteristic")
                known = (name, subject or "")
            self._biomarkers[bm_id] = known
        return known

    def leaf_text(self, leaf: Tree) -> str:
        name, subject = self.biomarker(leaf["biomarker"])
        threshold_id = leaf.get("threshold")
        if not threshold_id:
            return name
        threshold = self.of("threshold").get(threshold_id)
        if threshold is None:
            return f"{name} {threshold_id}"
        return leaf_text(name, subject, threshold)

    def expression(self, bx_id: str | None) -> str:
        if not bx_id:
            return ""
        text = self._expressions.get(bx_id)
        if text is None:
            fields = self.of("expression").get(bx_id)
            text = render(fields["tree"], self.leaf_text) if fields else bx_id
            self._expressions[bx_id] = text
        return text

    def name(self, rtype: str, record_id: str | None) -> str:
        if not record_id:
            return ""
        fields = self.of(rtype).get(record_id) or {}
        return str(fields.get("name") or record_id)

    def citation(self, ct_id: str) -> str:
        fields = self.of("citation").get(ct_id)
        return f"{fields['kind']}:{fields['identifier']}" if fields else ct_id


# --- tables ---------------------------------------------------------------------------------

# An assertion's source level and what qualifies a diagnostic, prognostic or germline one.
_ASSERTION_QUALIFIERS = (
    "source_scheme",
    "source_level",
    "direction",
    "pathogenicity",
    "inheritance",
    "syndrome",
)
ASSERTION_COLUMNS = (
    "id",
    "biomarkers",
    "tumour_types",
    "excluded_tumour_types",
    "therapy",
    "implication",
    "evidence_level",
    "line_of_therapy",
    "specimen",
    "cdx",
    "confirmatory_test",
    "description",
    "citations",
    "level_scheme",
    *_ASSERTION_QUALIFIERS,
    "expression_id",
    "therapy_id",
    "uuid",
)
BIOMARKER_COLUMNS = (
    "id",
    "name",
    "kind",
    "gene",
    "origin",
    "protein_change",
    "dna_change",
    "dbsnp_id",
    "exon",
    "codon_start",
    "codon_end",
    "consequence",
    "category",
    "exclusions",
    "copy_number",
    "partner_5",
    "partner_3",
    "characteristic",
    "status",
    "assay",
    "label",
    "uuid",
)
THERAPY_COLUMNS = ("id", "name", "combination", "drugs", "ncit_codes", "approvals", "uuid")
TRIAL_COLUMNS = (
    "id",
    "nct_id",
    "protocol_no",
    "title",
    "phase",
    "status",
    "arms",
    "citations",
    "uuid",
)


def _joined(values: Iterable[object]) -> str:
    return "; ".join(str(value) for value in values if value is not None and value != "")


def _sorted(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda entry: str(entry["id"]))


def snapshot_tables(snapshot: Mapping[str, Any]) -> list[Table]:
    """The four flat tables of a snapshot (JSON form), each sorted by human id."""
    names = SnapshotNames(snapshot)
    records: Mapping[str, Sequence[Entry]] = snapshot.get("records") or {}
    return [
        _assertions(records.get("assertion", ()), names),
        _biomarkers(records.get("biomarker", ()), names),
        _therapies(records.get("therapy", ()), records.get("approval", ()), names),
        _trials(records.get("trial", ()), records.get("trial_arm", ()), names),
    ]


def _assertions(entries: Iterable[Entry], names: SnapshotNames) -> Table:
    rows: list[list[Cell]] = []
    citation = names.citation
    for entry in _sorted(entries):
        f = entry["fields"]
        rows.append(
            [
                entry["id"],
                names.expression(f.get("expression")),
                _joined(f.get("tumour_types") or ()),
                _joined(f.get("excluded_tumour_types") or ()),
                names.name("therapy", f.get("therapy")),
                f.get("implication"),
                f.get("evidence_level"),
                f.get("line_of_therapy"),
                f.get("specimen"),
                f.get("cdx"),
                f.get("confirmatory_test"),
                f.get("description"),
                _joined(citation(ct) for ct in f.get("citations") or ()),
                f.get("level_scheme"),
                *(f.get(name) for name in _ASSERTION_QUALIFIERS),
                f.get("expression"),
                f.get("therapy"),
                entry.get("uuid"),
            ]
        )
    return Table("assertions", ASSERTION_COLUMNS, rows)


def _biomarkers(entries: Iterable[Entry], names: SnapshotNames) -> Table:
    rows: list[list[Cell]] = []
    genes = names.genes
    for entry in _sorted(entries):
        f = entry["fields"]
        rows.append(
            [
                entry["id"],
                names.biomarker(entry["id"])[0],
                f.get("kind"),
                genes.get(f.get("gene") or "", f.get("gene")),
                f.get("origin"),
                f.get("protein_change"),
                f.get("dna_change"),
                f.get("dbsnp_id"),
                f.get("exon"),
                f.get("codon_start"),
                f.get("codon_end"),
                f.get("consequence"),
                f.get("category"),
                _joined(names.biomarker(bm)[0] for bm in f.get("exclusions") or ()),
                f.get("copy_number"),
                genes.get(f.get("partner_5") or "", f.get("partner_5")),
                genes.get(f.get("partner_3") or "", f.get("partner_3")),
                f.get("characteristic"),
                f.get("status"),
                f.get("assay"),
                f.get("label"),
                entry.get("uuid"),
            ]
        )
    return Table("biomarkers", BIOMARKER_COLUMNS, rows)


def _therapies(entries: Iterable[Entry], approvals: Iterable[Entry], names: SnapshotNames) -> Table:
    by_therapy: dict[str, list[str]] = {}
    for approval in _sorted(approvals):
        f = approval["fields"]
        text = " ".join(str(part) for part in (f.get("agency"), f.get("date")) if part)
        by_therapy.setdefault(f.get("therapy") or "", []).append(text)
    drugs = names.of("drug")
    rows: list[list[Cell]] = []
    for entry in _sorted(entries):
        f = entry["fields"]
        drug_ids = f.get("drugs") or ()
        rows.append(
            [
                entry["id"],
                f.get("name"),
                f.get("combination"),
                _joined(names.name("drug", drug) for drug in drug_ids),
                _joined((drugs.get(drug) or {}).get("ncit_code") for drug in drug_ids),
                _joined(by_therapy.get(entry["id"], ())),
                entry.get("uuid"),
            ]
        )
    return Table("therapies", THERAPY_COLUMNS, rows)


def _trials(entries: Iterable[Entry], arms: Iterable[Entry], names: SnapshotNames) -> Table:
    by_trial: dict[str, list[str]] = {}
    for arm in _sorted(arms):
        f = arm["fields"]
        text = f"{f.get('code')}: {f.get('name') or names.expression(f.get('expression'))}"
        by_trial.setdefault(f.get("trial") or "", []).append(
            text + (" [suspended]" if f.get("suspended") else "")
        )
    rows: list[list[Cell]] = []
    for entry in _sorted(entries):
        f = entry["fields"]
        rows.append(
            [
                entry["id"],
                f.get("nct_id"),
                f.get("protocol_no"),
                f.get("title"),
                phase_words(f.get("phase")),
                f.get("status"),
                _joined(by_trial.get(entry["id"], ())),
                _joined(names.citation(ct) for ct in f.get("citations") or ()),
                entry.get("uuid"),
            ]
        )
    return Table("trials", TRIAL_COLUMNS, rows)


# --- TSV ------------------------------------------------------------------------------------


def tsv_text(text: str) -> str:
    """A text cell made safe for TSV: formula triggers quoted, separators escaped."""
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def _tsv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return tsv_text(str(value))


def tsv_bytes(table: Table) -> bytes:
    """The table as TSV (see the module docstring for the format)."""
    lines = ["\t".join(table.columns)]
    lines.extend("\t".join([_tsv_cell(value) for value in row]) for row in table.rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- xlsx -----------------------------------------------------------------------------------

_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)
_SHEET_TAIL = (
    '</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" '
    'footer="0.5"/></worksheet>'
)


def write_xlsx(tables: Sequence[Table], path: Path, *, created: dt.datetime) -> None:
    """One sheet per table, header row frozen, every text cell an inline string; the bytes
    depend only on the tables and `created` (used for the document properties and as every
    zip entry's date)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.xml.functions import tostring  # type: ignore[import-untyped]

    when = created.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets = [workbook.create_sheet(title=table.name) for table in tables]
    properties = workbook.properties
    properties.creator = "KB Curator"
    properties.lastModifiedBy = "KB Curator"
    properties.created = when
    # The skeleton goes to the system's temporary folder, never into the payload being built.
    with tempfile.TemporaryDirectory() as scratch:
        skeleton = Path(scratch) / "skeleton.xlsx"
        workbook.save(skeleton)
        # save() stamps `modified` with the current time; the core part is rewritten below.
        properties.modified = when
        core = tostring(properties.to_tree())
        parts = {sheet.path.lstrip("/"): table for sheet, table in zip(sheets, tables, strict=True)}
        stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
        with (
            zipfile.ZipFile(skeleton) as source,
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as target,
        ):
            for info in source.infolist():
                entry = zipfile.ZipInfo(info.filename, date_time=stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.create_system = 3  # the same bytes whichever OS builds the release
                entry.external_attr = 0o644 << 16
                table = parts.get(info.filename)
                if table is not None:
                    with target.open(entry, "w") as handle:
                        _write_sheet(table, handle)
                elif info.filename == "docProps/core.xml":
                    target.writestr(entry, core)
                else:
                    target.writestr(entry, source.read(info.filename))


def _column_letters(count: int) -> list[str]:
    letters = []
    for number in range(1, count + 1):
        name, rest = "", number
        while rest:
            rest, remainder = divmod(rest - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


def _write_sheet(table: Table, handle: IO[bytes]) -> None:
    letters = _column_letters(len(table.columns))
    last = f"{letters[-1]}{len(table.rows) + 1}"
    widths = _widths(table)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
        for i, width in enumerate(widths, 1)
    )
    handle.write(
        (
            _SHEET_HEAD + f'<dimension ref="A1:{last}"/>'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        ).encode("utf-8")
    )
    for chunk in _chunks(_row_xml(table, letters), 2000):
        handle.write("".join(chunk).encode("utf-8"))
    handle.write(_SHEET_TAIL.encode("utf-8"))


def _row_xml(table: Table, letters: Sequence[str]) -> Iterator[str]:
    yield _row(1, table.columns, letters)
    for number, row in enumerate(table.rows, 2):
        yield _row(number, row, letters)


def _row(number: int, values: Sequence[Cell], letters: Sequence[str]) -> str:
    cells = []
    for letter, value in zip(letters, values, strict=False):
        if value is None or value == "":
            continue
        ref = f"{letter}{number}"
        if isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int) and -(10**15) < value < 10**15:
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            # Inline string: the cell's type is text, whatever it starts with.
            text, space = _xml_text(str(value))
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def _xml_text(text: str) -> tuple[str, str]:
    if len(text) > XLSX_MAX_TEXT:
        text = text[: XLSX_MAX_TEXT - 1] + "…"
    if _XML_SLOW.search(text):
        # Characters XML 1.0 cannot carry become U+FFFD; Excel reads `_xHHHH_` as an escaped
        # character, so a literal one gets its underscore escaped; a carriage return would be
        # normalised away by any XML parser, so it is written as a character reference.
        text = _XML_ILLEGAL.sub("\ufffd", text)
        text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return text, space


def _widths(table: Table) -> list[int]:
    widths = [len(column) for column in table.columns]
    for row in table.rows[:200]:
        for index, value in enumerate(row):
            if value is not None:
                widths[index] = max(widths[index], len(str(value)))
    return [min(max(width + 2, 8), 60) for width in widths]


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
