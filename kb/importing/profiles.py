"""Mapping profiles: which sheet, which header row, which column is which field — so a curator
can import a spreadsheet of any shape without code (DESIGN §4, docs/import-profiles.md).

A `SheetMapping` turns the rows of one sheet into `SourceRow`s of one record type; our template
(kb/importing/template.py) is a set of built-in mappings, and a TOML file describes others:

    record_type = "biomarker"
    sheet = "Variants"            # name, or 1-based position; default: the first sheet
    header_row = 2                # as the spreadsheet shows it
    list_separator = ","
    [columns]                     # header text -> field
    "Gene" = "gene"
    "Protein change" = "protein_change"
    [value_maps.kind]             # per field: value in the file -> KB value
    "SNV" = "sequence_variant"
    [defaults]                    # used where a cell is blank
    origin = "somatic"
    [constants]                   # used whatever the sheet says
    kind = "sequence_variant"

`kb.importing.adapters.adapter_for(name)` resolves `kb import --profile NAME` to the template,
the CIViC and CTML adapters, or a TOML file read here.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from kb.errors import KbError
from kb.importing.civic import KbLookup
from kb.importing.engine import Adapter
from kb.importing.interpretations import COMPOSITE_FIELDS, compose_row, provided_by
from kb.importing.limits import DEFAULT_LIMITS, Limits, column_letter, fail
from kb.importing.model import ImportError_, Location, ProposedRecord, Ref, SourceError, SourceRow
from kb.importing.progress import CancelToken, paused_gc
from kb.importing.readers import Sheet, Workbook, read_workbook
from kb.importing.treetext import TreeTextError, parse_ids
from kb.model.enums import HUMAN_ID_PREFIX, RecordType
from kb.model.records import SPECS, FieldSpec, record_type_of

HUMAN_ID = re.compile(r"^[A-Za-z]{2}-\d+$")
_PREFIXES = {prefix: rtype for rtype, prefix in HUMAN_ID_PREFIX.items()}
# Rows searched below the header row for the real headers, to explain a two-row header.
_HEADER_SEARCH = 5
_LIST_KINDS = ("refs", "codes", "strings")
# Rows built at a time, with the cyclic garbage collector paused.
_BATCH_ROWS = 4096


def field_specs(rtype: RecordType) -> dict[str, FieldSpec]:
    """The fields a profile may map columns of `rtype` to: the record's own, and for an
    assertion the columns an interpretation sheet builds its biomarker, therapy and
    citations from (kb/importing/interpretations.py)."""
    specs = {spec.name: spec for spec in SPECS[rtype]}
    specs.update(COMPOSITE_FIELDS.get(rtype, {}))
    return specs


def header_key(text: object) -> str:
    """Headers compare without regard to case, spacing or underscores ("Protein change" ==
    "protein_change")."""
    return " ".join(str(text).replace("_", " ").split()).lower()


@dataclass(frozen=True)
class SheetMapping:
    """How one sheet maps onto one record type."""

    rtype: RecordType
    sheet: str | int | None = None
    header_row: int = 1
    # Header text -> field name. Empty: each header is itself a field name (the template).
    columns: Mapping[str, str] = field(default_factory=dict)
    # Header of a column holding the record's human id, or a name other rows refer to it by.
    id_column: str | None = None
    list_separator: str = ";"
    value_maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    # True: a header that is no field is an error (a typo must not drop a column silently).
    strict_columns: bool = False
    # Optional sheets (the template's) may be missing from the file.
    optional: bool = False
    # Interpretation sheets (an assertion per row, kb/importing/interpretations.py): True lets
    # a drug the KB lacks be proposed as a new drug; False reports it, to be mapped.
    new_drugs: bool = False


@dataclass(frozen=True)
class Profile:
    """A named set of sheet mappings plus how to read text files."""

    name: str
    mappings: tuple[SheetMapping, ...]
    delimiter: str | None = None
    quoting: bool = True

    def adapter(self) -> Adapter:
        """This profile as an import adapter (`adapter(path)` yields SourceRows)."""

        def run(
            path: Path,
            *,
            limits: Limits = DEFAULT_LIMITS,
            cancel: CancelToken | None = None,
            lookup: KbLookup | None = None,
        ) -> Iterator[SourceRow]:
            workbook = read_workbook(
                path,
                sheets=self._sheet_names(),
                delimiter=self.delimiter,
                quoting=self.quoting,
                limits=limits,
                cancel=cancel,
            )
            yield from map_workbook(workbook, self.mappings, limits=limits, lookup=lookup)

        return run

    def _sheet_names(self) -> list[str] | None:
        names = [m.sheet for m in self.mappings]
        if all(isinstance(name, str) for name in names):
            return [cast(str, name) for name in names]
        return None


# --- mapping sheets to rows -------------------------------------------------------------------


def map_workbook(
    workbook: Workbook,
    mappings: Iterable[SheetMapping],
    *,
    limits: Limits = DEFAULT_LIMITS,
    lookup: KbLookup | None = None,
) -> Iterator[SourceRow]:
    """The rows of every mapped sheet; names given in ID columns link rows across sheets.
    `lookup` (the KB's names) lets an interpretation sheet refer to the KB's genes, drugs and
    tumour types by name."""
    prepared: list[_Prepared] = []
    for mapping in mappings:
        try:
            sheet = workbook.sheet(mapping.sheet)
        except SourceError:
            if mapping.optional:
                continue
            raise
        if mapping.optional and not sheet.rows:
            continue
        prepared.append(_Prepared(workbook.file, sheet, mapping, limits, lookup))
    labels: dict[tuple[RecordType, str], str] = {}
    for item in prepared:
        item.collect_labels(labels)
    for item in prepared:
        yield from item.rows(labels)


class _CellProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Column:
    index: int
    letter: str
    field: str
    spec: FieldSpec
    convert: Callable[[Any, Mapping[tuple[RecordType, str], str]], Any]


class _Prepared:
    """One sheet with its headers checked and a converter ready per mapped column."""

    def __init__(
        self,
        file: str,
        sheet: Sheet,
        mapping: SheetMapping,
        limits: Limits,
        lookup: KbLookup | None = None,
    ) -> None:
        self.file = file
        self.sheet = sheet
        self.mapping = mapping
        self.limits = limits
        self.lookup = lookup
        self.specs = field_specs(mapping.rtype)
        self.columns: list[_Column] = []
        self.id_index: int | None = None
        self._check_headers()

    # -- headers -------------------------------------------------------------------------------

    def _fail(self, code: str, message: str, **where: Any) -> SourceError:
        return fail(self.file, code, message, sheet=self.sheet.location_name, **where)

    def _check_headers(self) -> None:
        mapping, rows = self.mapping, self.sheet.rows
        where = f"sheet {self.sheet.name!r}" if self.sheet.name else "the file"
        if not any(any(cell != "" for cell in row) for row in rows):
            raise self._fail("empty_sheet", f"{where} is empty: no header row and no data")
        number = mapping.header_row
        if number > len(rows) or all(cell == "" for cell in rows[number - 1]):
            raise self._fail(
                "missing_header",
                f"{where} has no header row at row {number}",
                row=number,
            )
        for r0, c0, r1, c1 in self.sheet.merged:
            if r0 <= number <= r1:
                raise self._fail(
                    "merged_header",
                    f"header cells {column_letter(c0)}{r0}:{column_letter(c1)}{r1} are merged; "
                    "unmerge them so each column has its own header",
                    row=r0,
                    column=column_letter(c0),
                )
        wanted = {header_key(k): v for k, v in mapping.columns.items()}
        id_key = header_key(mapping.id_column) if mapping.id_column else None
        seen: dict[str, int] = {}
        unknown: list[tuple[int, str]] = []
        for index, cell in enumerate(rows[number - 1]):
            if cell == "" or cell is None:
                continue
            key = header_key(cell)
            if key in seen:
                raise self._fail(
                    "duplicate_header",
                    f"header {str(cell)!r} appears twice (columns {column_letter(seen[key])} and "
                    f"{column_letter(index)}); each column needs its own header",
                    row=number,
                    column=column_letter(index),
                )
            seen[key] = index
            if key == id_key:
                self.id_index = index
                continue
            name = wanted.get(key) if wanted else key.replace(" ", "_")
            if name is None or name not in self.specs:
                unknown.append((index, str(cell)))
                continue
            self.columns.append(
                _Column(index, column_letter(index), name, self.specs[name], self._converter(name))
            )
        if unknown and mapping.strict_columns:
            index, text = unknown[0]
            known = ", ".join(["ID", *self.specs]) if not wanted else ", ".join(wanted)
            raise self._fail(
                "unknown_header",
                f"header {text!r} is not a field of {mapping.rtype}; expected one of {known}",
                row=number,
                column=column_letter(index),
            )
        present = {column.field for column in self.columns}
        missing = [
            spec.name
            for spec in SPECS[mapping.rtype]
            if spec.required
            and spec.name not in present
            and not (provided_by(spec.name) & present)
            and spec.name not in mapping.defaults
            and spec.name not in mapping.constants
        ]
        if wanted:
            # Columns the profile names must be there, or the profile does not fit the file.
            missing += [
                header
                for header, name in mapping.columns.items()
                if header_key(header) not in seen and name not in missing
            ]
        if mapping.id_column and self.id_index is None and not mapping.optional:
            missing.append(mapping.id_column)
        if missing:
            raise self._fail(
                "missing_header",
                f"{where} lacks required column(s) {', '.join(missing)} in header row {number}"
                + self._header_hint(number, missing),
                row=number,
            )

    def _header_hint(self, number: int, missing: list[str]) -> str:
        keys = {header_key(name) for name in missing}
        keys |= {header_key(h) for h, f in self.mapping.columns.items() if f in missing}
        for offset in range(1, _HEADER_SEARCH + 1):
            index = number - 1 + offset
            if index >= len(self.sheet.rows):
                break
            cells = {header_key(cell) for cell in self.sheet.rows[index] if cell != ""}
            if keys & cells:
                return (
                    f"; they appear in row {index + 1} — is the header two rows high? Use a "
                    f"single header row, or set header_row = {index + 1} in the profile"
                )
        return ""

    # -- cells ---------------------------------------------------------------------------------

    def _converter(self, name: str) -> Callable[[Any, Mapping[tuple[RecordType, str], str]], Any]:
        spec = self.specs[name]
        values = {str(k).strip(): v for k, v in self.mapping.value_maps.get(name, {}).items()}
        folded = {k.lower(): v for k, v in values.items()}
        separator = self.mapping.list_separator
        max_chars = self.limits.max_cell_chars

        def mapped(text: Any) -> Any:
            if not values or not isinstance(text, str):
                return text
            if text in values:
                return values[text]
            return folded.get(text.lower(), text)

        def scalar(value: Any) -> Any:
            kind = type(value)
            if kind is str:
                if len(value) > max_chars:
                    raise _CellProblem(
                        "cell_too_long",
                        f"the cell holds {len(value):,} characters; the limit is {max_chars:,}",
                    )
                value = value.strip()
                return mapped(value) if value else None
            if kind is float:
                return int(value) if value.is_integer() else value
            if isinstance(value, dt.datetime):
                return value.isoformat(sep=" ")
            if isinstance(value, dt.date) and spec.kind != "date":
                return value.isoformat()
            return value

        target = spec.ref

        def ref(text: Any, labels: Mapping[tuple[RecordType, str], str]) -> Any:
            # A name given in another row's ID column points at that row's record.
            if isinstance(text, str) and labels and target is not None:
                key = labels.get((target, text))
                if key is not None:
                    return Ref(key)
            return text

        if spec.kind == "ref":
            return lambda value, labels: ref(scalar(value), labels)
        if spec.kind in _LIST_KINDS:

            def listed(value: Any, labels: Mapping[tuple[RecordType, str], str]) -> Any:
                value = scalar(value)
                if value is None:
                    return None
                if not isinstance(value, str):
                    value = str(value)
                items = _flat(
                    mapped(item.strip()) for item in value.split(separator) if item.strip()
                )
                if spec.kind == "refs":
                    return [ref(item, labels) for item in items]
                return items

            return listed
        if spec.kind == "tree":

            def tree(value: Any, labels: Mapping[tuple[RecordType, str], str]) -> Any:
                value = scalar(value)
                if value is None:
                    return None
                try:
                    parsed = parse_ids(str(value))
                except TreeTextError as exc:
                    raise _CellProblem("invalid_value", f"not an expression: {exc}") from None
                return _tree_refs(parsed, labels)

            return tree
        return lambda value, labels: scalar(value)

    def collect_labels(self, labels: dict[tuple[RecordType, str], str]) -> None:
        """Register the names in this sheet's ID column that are not human ids."""
        id_index, rtype = self.id_index, self.mapping.rtype
        if id_index is None:
            return
        for row in self.sheet.rows[self.mapping.header_row :]:
            if id_index >= len(row) or (cell := row[id_index]) == "":
                continue  # most rows: a new record without a name
            value = str(cell).strip()
            if value and not HUMAN_ID.match(value):
                labels.setdefault((rtype, value), self._label_key(value))

    def _label_key(self, label: str) -> str:
        return f"{self.mapping.rtype.value}:{label}"

    def rows(self, labels: Mapping[tuple[RecordType, str], str]) -> Iterator[SourceRow]:
        """One SourceRow per non-blank data row."""
        data = self.sheet.rows
        build = self._row_builder(labels)
        # Built in batches with the cyclic collector paused (it would walk every live cell and
        # row again and again); it runs between batches, whatever the caller does with a row.
        for start in range(self.mapping.header_row, len(data), _BATCH_ROWS):
            with paused_gc():
                batch = [
                    source
                    for number, row in enumerate(data[start : start + _BATCH_ROWS], start + 1)
                    if (source := build(row, number)) is not None
                ]
            yield from batch

    def _row_builder(
        self, labels: Mapping[tuple[RecordType, str], str], *, shortcuts: bool = True
    ) -> Callable[[list[Any], int], SourceRow | None]:
        """The function turning data row `number` into its SourceRow, or None if it is blank.

        Its cells give what `_cells` gives, with shortcuts (unless told not to, as tests do to
        compare): blank cells keep the blank defaults the row starts with; plain text in a
        column without a value map is stripped in place (a name from an ID column becoming its
        Ref, as `_converter` does); other values are converted once per distinct text. A row
        with a read-time or conversion error goes through `_cells` itself.
        """
        mapping, sheet, file = self.mapping, self.sheet, self.file
        sheet_name = sheet.location_name
        rtype = mapping.rtype
        letters = {c.field: c.letter for c in self.columns}
        extra = {k: v for k, v in mapping.defaults.items() if k not in letters}
        extra.update(mapping.constants)
        blank_defaults = {k: v for k, v in mapping.defaults.items() if k in letters}
        blank_fields = {c.field: blank_defaults.get(c.field) for c in self.columns}
        plan = [
            (
                c.index,
                c.field,
                c.spec.kind not in ("tree", *_LIST_KINDS) and not mapping.value_maps.get(c.field),
                c.spec.ref if c.spec.kind == "ref" and labels else None,
                _Memo(c.convert, labels, blank_defaults, c.field),
            )
            for c in self.columns
        ]
        max_chars = self.limits.max_cell_chars
        mapped = {c.index for c in self.columns}
        error_rows = {number for number, column in sheet.cell_errors if column in mapped}
        merged_rows = self._merged_data_rows()
        id_index = self.id_index
        key_prefix = f"{sheet_name or 'rows'}!"
        used_labels: dict[str, int] = {}
        composed = any(c.field in COMPOSITE_FIELDS.get(rtype, {}) for c in self.columns)

        def cells(row: list[Any], number: int) -> tuple[dict[str, Any], list[ImportError_], bool]:
            if number in error_rows or not shortcuts:
                return self._cells(row, number, labels, blank_defaults)
            width = len(row)
            fields = blank_fields.copy()
            # Cells other than "" still to come: once all are seen, the rest are blank.
            left = width - row.count("")
            if id_index is not None and id_index < width and row[id_index] != "":
                left -= 1
            if not left:
                return fields, [], True
            blank = True
            for index, name, plain, target, memo in plan:
                value = row[index] if index < width else ""
                if value == "" or value is None:
                    continue
                blank = False
                if plain and type(value) is str:
                    if len(value) > max_chars:
                        return self._cells(row, number, labels, blank_defaults)
                    text = value.strip()
                    if not text:
                        pass  # the blank default, as for an empty cell
                    elif target and (key := labels.get((target, text))) is not None:
                        fields[name] = Ref(key)  # a name given in another row's ID column
                    else:
                        fields[name] = text
                else:
                    try:
                        result = memo[value]
                    except TypeError:  # an unhashable cell: only a broken reader sends one
                        return self._cells(row, number, labels, blank_defaults)
                    if result is _FAILED:
                        return self._cells(row, number, labels, blank_defaults)
                    fields[name] = result
                left -= 1
                if not left:
                    break
            return fields, [], blank

        def build(row: list[Any], number: int) -> SourceRow | None:
            identifier = None
            if id_index is not None and id_index < len(row):
                cell = row[id_index]
                if cell != "":
                    identifier = str(cell).strip() or None
            fields, errors, blank = cells(row, number)
            if blank and identifier is None:
                return None
            if merged_rows and number in merged_rows:
                r0, c0, r1, c1 = merged_rows[number]
                errors.append(
                    ImportError_(
                        Location(file, sheet_name, number, column_letter(c0)),
                        None,
                        "merged_cells",
                        f"cells {column_letter(c0)}{r0}:{column_letter(c1)}{r1} are merged; only "
                        "the first holds a value, so unmerge them and fill each cell",
                    )
                )
            if extra:
                fields.update(extra)
            location = Location(file, sheet_name, number)
            human_id = None
            key = f"{key_prefix}{number}"
            if identifier is not None:
                if HUMAN_ID.match(identifier):
                    human_id = identifier.upper()
                    expected = _PREFIXES.get(human_id.split("-")[0])
                    if expected is not rtype:
                        errors.append(
                            ImportError_(
                                Location(file, sheet_name, number, column_letter(id_index or 0)),
                                None,
                                "wrong_id_type",
                                f"{human_id} is not the id of a {rtype}",
                                identifier,
                            )
                        )
                        human_id = None
                elif identifier in used_labels:
                    errors.append(
                        ImportError_(
                            Location(file, sheet_name, number, column_letter(id_index or 0)),
                            None,
                            "duplicate_id",
                            f"the name {identifier!r} is also used in row "
                            f"{used_labels[identifier]}",
                            identifier,
                        )
                    )
                else:
                    used_labels[identifier] = number
                    key = self._label_key(identifier)
            record = ProposedRecord(rtype, key, fields, location, human_id, letters)
            if composed:
                return compose_row(record, tuple(errors), mapping.new_drugs, self.lookup)
            return SourceRow(location, (record,), tuple(errors))

        return build

    def _cells(
        self,
        row: list[Any],
        number: int,
        labels: Mapping[tuple[RecordType, str], str],
        blank_defaults: Mapping[str, Any],
    ) -> tuple[dict[str, Any], list[ImportError_], bool]:
        """One row's fields and cell errors, converted cell by cell, and whether all its mapped
        cells are blank."""
        file, sheet_name, cell_errors = self.file, self.sheet.location_name, self.sheet.cell_errors
        width = len(row)
        fields: dict[str, Any] = {}
        errors: list[ImportError_] = []
        blank = True
        for column in self.columns:
            index, name = column.index, column.field
            value = row[index] if index < width else ""
            # A formula without a cached value reads as empty: look for errors first.
            problem = cell_errors.get((number, index)) if cell_errors else None
            if problem is not None:
                blank = False
                errors.append(_with_field(problem, name))
                continue
            if value == "" or value is None:
                fields[name] = blank_defaults.get(name)
                continue
            blank = False
            try:
                fields[name] = column.convert(value, labels)
            except _CellProblem as exc:
                errors.append(
                    ImportError_(
                        Location(file, sheet_name, number, column.letter),
                        name,
                        exc.code,
                        exc.message,
                        _shorten(value),
                    )
                )
            if fields.get(name) is None and name in blank_defaults:
                fields[name] = blank_defaults[name]
        return fields, errors, blank

    def _merged_data_rows(self) -> dict[int, tuple[int, int, int, int]]:
        """Row number -> a merged range that covers it and a mapped column, below the header."""
        if not self.sheet.merged:
            return {}
        mapped = {c.index for c in self.columns}
        if self.id_index is not None:
            mapped.add(self.id_index)
        out: dict[int, tuple[int, int, int, int]] = {}
        for r0, c0, r1, c1 in self.sheet.merged:
            if r1 <= self.mapping.header_row or not any(c0 <= c <= c1 for c in mapped):
                continue
            for number in range(max(r0, self.mapping.header_row + 1), r1 + 1):
                out.setdefault(number, (r0, c0, r1, c1))
        return out


def _tree_refs(tree: Any, labels: Mapping[tuple[RecordType, str], str]) -> Any:
    """Replace leaf names given in ID columns with Refs to those rows."""
    if not isinstance(tree, dict) or not labels:
        return tree
    if "op" in tree:
        args = tree.get("args")
        if isinstance(args, list):
            return {**tree, "args": [_tree_refs(arg, labels) for arg in args]}
        return tree
    leaf = dict(tree)
    for key, rtype in (("biomarker", RecordType.BIOMARKER), ("threshold", RecordType.THRESHOLD)):
        value = leaf.get(key)
        if isinstance(value, str) and (rtype, value) in labels:
            leaf[key] = Ref(labels[(rtype, value)])
    return leaf


def _flat(items: Iterable[Any]) -> list[Any]:
    """Items, with a list a value map gave in place of one item spliced in."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


def _with_field(problem: ImportError_, name: str) -> ImportError_:
    return ImportError_(problem.location, name, problem.code, problem.message, problem.value)


class _Failed:
    """What a cell converts to when its conversion fails: the row then goes cell by cell."""


_FAILED = _Failed()
# Field values that every row holding the same text may share: the immutable ones.
_SHAREABLE = frozenset(
    {str, int, float, bool, type(None), Ref, dt.date, dt.datetime, dt.time, _Failed}
)


class _Memo(dict[Any, Any]):
    """Cell value -> field value for one column (a value that is not blank), converting each
    distinct text once. Only text is remembered: 1, 1.0 and True are equal keys but convert
    differently."""

    def __init__(
        self,
        convert: Callable[[Any, Mapping[tuple[RecordType, str], str]], Any],
        labels: Mapping[tuple[RecordType, str], str],
        blank_defaults: Mapping[str, Any],
        name: str,
    ) -> None:
        super().__init__()
        self.convert = convert
        self.labels = labels
        self.has_default = name in blank_defaults
        self.default = blank_defaults.get(name)

    def __missing__(self, value: Any) -> Any:
        try:
            result = self.convert(value, self.labels)
        except _CellProblem:
            result = _FAILED
        else:
            if result is None and self.has_default:
                result = self.default
        if type(value) is str and type(result) in _SHAREABLE:
            self[value] = result
        return result


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


# --- TOML profiles ----------------------------------------------------------------------------

_TOP_KEYS = {"name", "delimiter", "quoting", "sheets"}
_SHEET_KEYS = {
    "record_type",
    "sheet",
    "header_row",
    "columns",
    "id_column",
    "list_separator",
    "value_maps",
    "defaults",
    "constants",
    "new_drugs",
}


class ProfileError(KbError):
    """A TOML profile that cannot be used; the message names the key."""


def load_profile(path: Path) -> Profile:
    """Read a TOML mapping profile (format: docs/import-profiles.md)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read the profile {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path.name} is not valid TOML: {exc}") from None
    return parse_profile(data, name=path.name)


def parse_profile(data: Mapping[str, Any], *, name: str = "profile") -> Profile:
    """A `Profile` from parsed TOML data; `ProfileError` names any key that does not fit."""
    sheets = data.get("sheets")
    if sheets is None:
        unknown = set(data) - _TOP_KEYS - _SHEET_KEYS
        tables = [dict(data)]
    else:
        unknown = set(data) - _TOP_KEYS
        if not isinstance(sheets, list) or not sheets:
            raise ProfileError(f"{name}: [[sheets]] must be a list of tables")
        tables = sheets
    if unknown:
        raise ProfileError(
            f"{name}: unknown key(s) {', '.join(sorted(unknown))}; expected "
            + ", ".join(sorted(_TOP_KEYS | _SHEET_KEYS))
        )
    delimiter = data.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ProfileError(f'{name}: delimiter must be one character, e.g. "\\t" or ","')
    quoting = data.get("quoting", True)
    if not isinstance(quoting, bool):
        raise ProfileError(f"{name}: quoting must be true or false")
    mappings = tuple(
        _sheet_mapping(table, f"{name} [[sheets]] #{i + 1}" if sheets else name)
        for i, table in enumerate(tables)
    )
    return Profile(str(data.get("name") or name), mappings, delimiter, quoting)


def _sheet_mapping(table: Mapping[str, Any], where: str) -> SheetMapping:
    unknown = set(table) - _SHEET_KEYS - ({"name"} if "sheets" not in table else set())
    if unknown - _TOP_KEYS:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown - _TOP_KEYS))}")
    if "record_type" not in table:
        raise ProfileError(f'{where}: record_type is required (e.g. record_type = "biomarker")')
    try:
        rtype = record_type_of(str(table["record_type"]))
    except KbError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    fields = set(field_specs(rtype))
    known = ", ".join(sorted(fields))

    def check_field(name: str, section: str) -> str:
        if name not in fields:
            raise ProfileError(
                f"{where}: [{section}] names {name!r}, which is not a field of {rtype}; fields: "
                f"{known}"
            )
        return name

    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not columns:
        raise ProfileError(f"{where}: [columns] must map header text to field names")
    for header, target in columns.items():
        check_field(str(target), "columns")
        del header
    tables: dict[str, dict[str, Any]] = {}
    for section in ("value_maps", "defaults", "constants"):
        value = table.get(section, {})
        if not isinstance(value, dict):
            raise ProfileError(f"{where}: [{section}] must be a table")
        for key in value:
            check_field(str(key), section)
        tables[section] = value
    for key, value_map in tables["value_maps"].items():
        if not isinstance(value_map, dict):
            raise ProfileError(f"{where}: [value_maps.{key}] must map file values to KB values")
    sheet = table.get("sheet")
    if sheet is not None and not isinstance(sheet, str | int):
        raise ProfileError(f"{where}: sheet must be a name or a 1-based number")
    header_row = table.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise ProfileError(f"{where}: header_row must be a row number (1 or more)")
    separator = table.get("list_separator", ";")
    if not isinstance(separator, str) or not separator:
        raise ProfileError(f'{where}: list_separator must be text such as ";"')
    id_column = table.get("id_column")
    if id_column is not None and not isinstance(id_column, str):
        raise ProfileError(f"{where}: id_column must be the header text of a column")
    new_drugs = table.get("new_drugs", False)
    if not isinstance(new_drugs, bool):
        raise ProfileError(f"{where}: new_drugs must be true or false")
    return SheetMapping(
        rtype=rtype,
        sheet=sheet,
        header_row=header_row,
        columns={str(k): str(v) for k, v in columns.items()},
        id_column=id_column,
        list_separator=separator,
        value_maps=tables["value_maps"],
        defaults=tables["defaults"],
        constants=tables["constants"],
        new_drugs=new_drugs,
    )


def profile_adapter(path: Path) -> Adapter:
    """The adapter a TOML profile describes."""
    return load_profile(path).adapter()


# --- writing profiles ---------------------------------------------------------------------------


def profile_toml(profile: Profile) -> str:
    """`profile` as the TOML text `parse_profile` reads back to an equal profile (the app's
    mapping page writes what `kb import --profile` takes)."""
    lines = [f"name = {_toml_value(profile.name)}"]
    if profile.delimiter is not None:
        lines.append(f"delimiter = {_toml_value(profile.delimiter)}")
    if not profile.quoting:
        lines.append("quoting = false")
    several = len(profile.mappings) != 1
    for mapping in profile.mappings:
        prefix = "sheets." if several else ""
        lines.append("")
        if several:
            lines.append("[[sheets]]")
        lines.append(f"record_type = {_toml_value(mapping.rtype.value)}")
        if mapping.sheet is not None:
            lines.append(f"sheet = {_toml_value(mapping.sheet)}")
        lines.append(f"header_row = {mapping.header_row}")
        lines.append(f"list_separator = {_toml_value(mapping.list_separator)}")
        if mapping.id_column is not None:
            lines.append(f"id_column = {_toml_value(mapping.id_column)}")
        if mapping.new_drugs:
            lines.append("new_drugs = true")
        lines.append(f"[{prefix}columns]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in mapping.columns.items()]
        for name, values in mapping.value_maps.items():
            lines.append(f"[{prefix}value_maps.{_toml_key(name)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items()]
        for section in ("defaults", "constants"):
            table: Mapping[str, Any] = getattr(mapping, section)
            if table:
                lines.append(f"[{prefix}{section}]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def save_profile(profile: Profile, path: Path) -> None:
    """Write `profile` to `path` as TOML (replacing the file whole, never half-written)."""
    text = profile_toml(profile)
    parse_profile(tomllib.loads(text), name=path.name)  # what we write must read back
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ProfileError(f"cannot write the profile {path}: {exc.strerror or exc}") from None


def with_value_map(profile: Profile, *, field: str, value: str, to: Any) -> Profile:
    """`profile` with `value` in its file mapped to `to` for `field`, in every sheet mapping
    that reads `field` from a column (a choice made once for all rows holding the value)."""
    mappings = []
    for mapping in profile.mappings:
        if field not in mapping.columns.values():
            mappings.append(mapping)
            continue
        values = {name: dict(table) for name, table in mapping.value_maps.items()}
        values.setdefault(field, {})[value] = to
        mappings.append(replace(mapping, value_maps=values))
    return replace(profile, mappings=tuple(mappings))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value)
    escaped = []
    for char in text:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
