"""The isolated spreadsheet reader: run as a script in a child process, never imported by kb.

python-calamine is fast but can abort the whole process on a crafted file (a 5 KB xlsx with
cells at A1 and XFD1048576 does it), so it runs here, behind a process boundary and a memory
cap. It reads a JSON request on stdin and writes a JSON answer on stdout; dates travel as
tagged objects. Only the standard library and python_calamine may be imported: this file runs
as a plain script (`python -I _calamine_child.py`), without kb on the path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from typing import Any


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


def _cap_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the process boundary alone must do
        return
    # A lower hard limit already in place is as good: then the call fails, harmlessly.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _error(code: str, message: str, sheet: str | None = None, **where: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "sheet": sheet, **where}}


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read(request: dict[str, Any]) -> dict[str, Any]:
    """Read the requested sheets; a library error becomes an "error" answer."""
    import python_calamine as calamine

    max_rows, max_columns = int(request["max_rows"]), int(request["max_columns"])
    try:
        workbook = calamine.CalamineWorkbook.from_path(request["path"])
    except calamine.PasswordError:
        return _error(
            "password_protected",
            "the file is password-protected (encrypted); save an unprotected copy to import it",
        )
    except Exception as exc:  # the library raises many types for one cause: a bad file
        return _error("damaged_file", f"the file cannot be read as a spreadsheet: {exc}")
    names = list(workbook.sheet_names)
    wanted = request.get("sheets")
    sheets = []
    for name in names if wanted is None else [n for n in wanted if n in names]:
        try:
            sheet = workbook.get_sheet_by_name(name)
        except calamine.PasswordError:
            return _error("password_protected", "the sheet is password-protected", name)
        except Exception as exc:
            return _error("damaged_file", f"sheet {name!r} cannot be read: {exc}", name)
        end = sheet.end
        if end is not None:
            height, width = end[0] + 1, end[1] + 1
            if height > max_rows:
                return _error(
                    "too_many_rows",
                    f"sheet {name!r} has {height:,} rows; the limit is {max_rows:,}",
                    name,
                    row=max_rows + 1,
                )
            if width > max_columns:
                return _error(
                    "too_many_columns",
                    f"sheet {name!r} has {width:,} columns; the limit is {max_columns:,}",
                    name,
                    column=_letter(max_columns),
                )
        rows = sheet.to_python(skip_empty_area=False) if end is not None else []
        try:
            merged = [[a[0], a[1], b[0], b[1]] for a, b in (sheet.merged_cell_ranges or [])]
        except Exception:
            merged = []  # not every format reports merged cells
        sheets.append({"name": name, "rows": rows, "merged": merged})
    return {"sheet_names": names, "sheets": sheets}


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    _cap_memory(int(request["memory"]))
    try:
        answer = read(request)
    except MemoryError:
        answer = _error("too_large", "the file needs more memory to read than imports may use")
    sys.stdout.buffer.write(json.dumps(answer, default=_tag).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
