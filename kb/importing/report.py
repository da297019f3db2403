"""A dry run's errors grouped by reason, for people: thousands of located errors usually have
a handful of reasons (an unmapped disease, a level spelled another way), each with a few
distinct values. `group_errors` makes the groups (with counts and example rows) that the
command line prints and the app shows; `write_error_report` writes them to .csv, .json or
.xlsx. The flat, one-line-per-error export stays `kb.importing.engine.export_errors`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.importing.model import ImportError_, Location

__all__ = ["ErrorGroup", "ValueGroup", "group_errors", "write_error_report"]

# Example rows kept per group and per value: enough to find them, few enough to read.
EXAMPLES = 5
REPORT_COLUMNS = ("code", "field", "rows", "value", "value_rows", "message", "example_rows")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): the
# values quoted come from an untrusted file.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ValueGroup:
    """One value an error group holds, how many errors give it, and where the first are."""

    value: str
    count: int
    examples: tuple[Location, ...]
    message: str


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Errors sharing a reason: the same code about the same field."""

    code: str
    field: str | None
    message: str  # the first error's message; `values` holds each value's own
    count: int
    examples: tuple[Location, ...]
    values: tuple[ValueGroup, ...]  # most frequent first; empty when errors name no value

    @property
    def title(self) -> str:
        what = f" in {self.field}" if self.field else ""
        return f"{self.code.replace('_', ' ')}{what}"

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "count": self.count,
            "message": self.message,
            "example_rows": [_where(loc) for loc in self.examples],
            "values": [
                {
                    "value": value.value,
                    "count": value.count,
                    "message": value.message,
                    "example_rows": [_where(loc) for loc in value.examples],
                }
                for value in self.values
            ],
        }


def group_errors(errors: Iterable[ImportError_], *, examples: int = EXAMPLES) -> list[ErrorGroup]:
    """The errors grouped by (code, field), biggest group first; within a group, the distinct
    values, most frequent first, each with its count and first `examples` rows."""
    groups: dict[tuple[str, str | None], list[ImportError_]] = {}
    for error in errors:
        groups.setdefault((error.code, error.field), []).append(error)
    out = []
    for (code, field), members in groups.items():
        by_value: dict[str, list[ImportError_]] = {}
        for error in members:
            if error.value is not None and error.value != "":
                by_value.setdefault(_value_text(error.value), []).append(error)
        values = tuple(
            ValueGroup(
                value,
                len(found),
                tuple(e.location for e in found[:examples]),
                found[0].message,
            )
            for value, found in sorted(by_value.items(), key=lambda item: (-len(item[1]), item[0]))
        )
        out.append(
            ErrorGroup(
                code,
                field,
                members[0].message,
                len(members),
                tuple(e.location for e in members[:examples]),
                values,
            )
        )
    out.sort(key=lambda group: (-group.count, group.code, group.field or ""))
    return out


def format_groups(groups: Sequence[ErrorGroup], *, values: int = 5) -> list[str]:
    """The groups as text lines: whole messages (never cut), counts and example rows."""
    lines = []
    for group in groups:
        rows = ", ".join(_where(loc) for loc in group.examples)
        lines.append(f"{group.count:,} × {group.title}: {group.message}")
        lines.append(f"    e.g. {rows}")
        for value in group.values[:values]:
            lines.append(f"    {value.count:,} × {value.value!r}")
        if len(group.values) > values:
            lines.append(f"    … and {len(group.values) - values:,} more value(s)")
    return lines


def write_error_report(groups: Sequence[ErrorGroup], path: Path) -> int:
    """Write the groups to `path` (.csv, .json or .xlsx): one line per (reason, value), or per
    reason where its errors name no value. Returns the number of groups."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps([g.as_json() for g in groups], ensure_ascii=False, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
        return len(groups)
    lines = list(_report_lines(groups))
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(REPORT_COLUMNS)
            writer.writerows([[_safe(cell) for cell in line] for line in lines])
        return len(groups)
    if suffix != ".xlsx":
        raise KbError(f"a grouped error report is written as .xlsx, .csv or .json, not {path.name}")
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = "Errors by reason"
    sheet.append(list(REPORT_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(line)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, never a formula
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFG", (22, 18, 8, 28, 10, 70, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return len(groups)


def _report_lines(groups: Sequence[ErrorGroup]) -> Iterable[list[Any]]:
    for group in groups:
        if not group.values:
            yield [
                group.code,
                group.field or "",
                group.count,
                "",
                "",
                group.message,
                "; ".join(_where(loc) for loc in group.examples),
            ]
        for value in group.values:
            yield [
                group.code,
                group.field or "",
                group.count,
                value.value,
                value.count,
                value.message,
                "; ".join(_where(loc) for loc in value.examples),
            ]


def _where(location: Location) -> str:
    parts = []
    if location.sheet:
        parts.append(location.sheet)
    if location.row is not None:
        parts.append(f"row {location.row}" + (f" {location.column}" if location.column else ""))
    return ", ".join(parts) or location.file


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith(_FORMULA_TRIGGERS):
        return "'" + cell
    return cell
