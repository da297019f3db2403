"""The isolated spreadsheet reader: run as a script in a child process, never imported by kb.

python-calamine is fast but can abort the whole process on a crafted file (a 5 KB xlsx with
cells at A1 and XFD1048576 does it), so it runs here, behind a process boundary and a memory
cap. It reads a JSON request on stdin and streams its answer on stdout as JSON lines, so the
parent decodes one batch of rows while this process converts the next:

    {"sheet_names": [...]}                      first
    {"sheet": NAME, "merged": [[r0, c0, r1, c1], ...]}   then, per sheet read,
    [[cell, ...], ...]                          batches of that sheet's rows, from row 1
    {"end": true}                               last
    {"error": {"code": ..., "message": ..., "sheet": ..., "row": ..., "column": ...}}
                                                instead of whatever was still to come

Dates travel as tagged objects. Only the standard library, python_calamine and (if present)
orjson may be imported: this file runs as a plain script (`python -I _calamine_child.py`),
without kb on the path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

# Rows per line: large enough that a line costs little, small enough that the parent starts
# decoding soon after the sheet is parsed.
BATCH_ROWS = 4096

try:  # a dependency of kb, so there unless this script runs elsewhere
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]


def _tag(value: object) -> object:
    # json calls this only for values it cannot write itself, so ordinary cells cost nothing.
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$duration": value.total_seconds()}
    return {"$text": str(value)}


def _cap_resources(limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the process boundary alone must do
        return
    # A lower hard limit already in place is as good: then the call fails, harmlessly.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A crafted file may make the library abort: that is an import error, not a crash worth a
    # core dump (or a desktop crash report).
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _error(code: str, message: str, sheet: str | None = None, **where: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "sheet": sheet, **where}}


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read(request: dict[str, Any]) -> Iterator[Any]:
    """The answer's messages, in order; a library error ends them with an "error" message."""
    import python_calamine as calamine

    max_rows, max_columns = int(request["max_rows"]), int(request["max_columns"])
    try:
        workbook = calamine.CalamineWorkbook.from_path(request["path"])
    except calamine.PasswordError:
        yield _error(
            "password_protected",
            "the file is password-protected (encrypted); save an unprotected copy to import it",
        )
        return
    except Exception as exc:  # the library raises many types for one cause: a bad file
        yield _error("damaged_file", f"the file cannot be read as a spreadsheet: {exc}")
        return
    names = list(workbook.sheet_names)
    yield {"sheet_names": names}
    wanted = request.get("sheets")
    for name in names if wanted is None else [n for n in wanted if n in names]:
        try:
            sheet = workbook.get_sheet_by_name(name)
        except calamine.PasswordError:
            yield _error("password_protected", "the sheet is password-protected", name)
            return
        except Exception as exc:
            yield _error("damaged_file", f"sheet {name!r} cannot be read: {exc}", name)
            return
        end = sheet.end
        if end is not None:
            height, width = end[0] + 1, end[1] + 1
            if height > max_rows:
                yield _error(
                    "too_many_rows",
                    f"sheet {name!r} has {height:,} rows; the limit is {max_rows:,}",
                    name,
                    row=max_rows + 1,
                )
                return
            if width > max_columns:
                yield _error(
                    "too_many_columns",
                    f"sheet {name!r} has {width:,} columns; the limit is {max_columns:,}",
                    name,
                    column=_letter(max_columns),
                )
                return
        try:
            merged = [[a[0], a[1], b[0], b[1]] for a, b in (sheet.merged_cell_ranges or [])]
        except Exception:
            merged = []  # not every format reports merged cells
        yield {"sheet": name, "merged": merged}
        if end is None:
            continue
        count = 0
        for batch in _batches(sheet, end[1] + 1):
            count += len(batch)
            yield batch
        if count != end[0] + 1:  # never seen; a library version that reads rows differently
            yield _error(
                "reader_failed", f"sheet {name!r}: {count:,} rows read of {end[0] + 1:,}", name
            )
            return
    yield {"end": True}


def _batches(sheet: Any, width: int) -> Iterator[list[list[Any]]]:
    """The sheet's rows from A1, as `to_python(skip_empty_area=False)` has them, in batches."""
    if getattr(sheet, "start", None) == (0, 0) and hasattr(sheet, "iter_rows"):
        # Rows as they are converted, so the parent decodes while this process converts; the
        # used range then starts at A1, as iter_rows does.
        rows = iter(sheet.iter_rows())
        first = next(rows, None)
        if first is not None and len(first) == width:
            batch = [first]
            for row in rows:
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    yield batch
                    batch = []
            if batch:
                yield batch
            return
    rows = sheet.to_python(skip_empty_area=False)
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start : start + BATCH_ROWS]


def _line(message: Any, encode: Callable[[Any], str]) -> bytes:
    """One message as a JSON line, as the standard library writes it."""
    if orjson is not None:
        # Several times faster. Dates go to _tag as with json; a NaN or infinite number (which
        # json writes as NaN / Infinity) comes out as null, and a reader never gives None, so
        # a line with null in it is written by json instead.
        try:
            line = orjson.dumps(message, default=_tag, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:  # what orjson cannot write (a number past 64 bits): json can
            pass
        else:
            if b"null" not in line:
                return line + b"\n"
    return encode(message).encode("ascii") + b"\n"


def main() -> int:
    # This short-lived process makes no reference cycles worth collecting, and the collector
    # would walk every row converted so far again and again.
    gc.disable()
    request = json.loads(sys.stdin.buffer.read())
    _cap_resources(int(request["memory"]))
    out = sys.stdout.buffer
    # Not checking for circular references saves a little: cells are never containers.
    encode = json.JSONEncoder(default=_tag, check_circular=False).encode
    try:
        for message in read(request):
            out.write(_line(message, encode))
    except MemoryError:
        message = _error("too_large", "the file needs more memory to read than imports may use")
        out.write(json.dumps(message).encode("ascii") + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
