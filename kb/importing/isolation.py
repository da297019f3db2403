"""python-calamine behind a process boundary: a crash in the reader is an import error, never a
dead app (DESIGN §4).

`read_in_child` starts `_calamine_child.py` as a plain script with the same interpreter
(`-I`: no environment, no user site), sends it a JSON request, and reads the sheets back as
JSON. The child caps its own address space; the parent enforces a wall-clock limit and the
caller's cancel token. Whatever the child does — abort, segfault, run out of memory, print
garbage — the caller gets a `SourceError` with a located message.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.importing.limits import DEFAULT_LIMITS, Limits, fail
from kb.importing.model import ImportError_, Location, SourceError
from kb.importing.progress import Cancelled, CancelToken

CHILD_SCRIPT = Path(__file__).with_name("_calamine_child.py")
# How often the parent looks at the cancel token while the child works.
_POLL_SECONDS = 0.2

Cell = Any  # str | int | float | bool | dt.date | dt.datetime | None; "" is an empty cell


@dataclass
class RawSheet:
    """One sheet as the reader returned it: rows[0] is spreadsheet row 1, cells from column A."""

    name: str
    rows: list[list[Cell]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based r0,c0,r1,c1


@dataclass
class RawWorkbook:
    sheet_names: list[str]
    sheets: list[RawSheet]


def _untag(obj: dict[str, Any]) -> Any:
    # Called by json for every object; sheet and answer dicts pass through unchanged.
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key == "$date":
            return dt.date.fromisoformat(value)
        if key == "$datetime":
            stamp = dt.datetime.fromisoformat(value)
            return stamp.date() if stamp.time() == dt.time() else stamp
        if key == "$time":
            return str(value)
        if key == "$duration":
            return str(dt.timedelta(seconds=float(value)))
        if key == "$text":
            return str(value)
    return obj


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def read_in_child(
    path: Path,
    *,
    file: str,
    sheets: list[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    cancel: CancelToken | None = None,
) -> RawWorkbook:
    """Read a spreadsheet (xlsx, xls, ods) with python-calamine in a child process.

    `sheets` names the sheets wanted (None: all). Raises `SourceError` for anything the child
    reports or suffers, `Cancelled` if the token is set meanwhile.
    """
    request = {
        "path": str(path),
        "sheets": sheets,
        "max_rows": limits.max_rows,
        "max_columns": limits.max_columns,
        "memory": limits.child_memory_bytes,
    }
    if cancel is not None:
        cancel.check()
    process = subprocess.Popen(
        [sys.executable, "-I", str(CHILD_SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    payload: bytes | None = json.dumps(request).encode("utf-8")
    deadline = time.monotonic() + limits.child_seconds
    try:
        while True:
            try:
                wait = min(_POLL_SECONDS, max(0.0, deadline - time.monotonic()))
                out, err = process.communicate(payload, timeout=wait)
                break
            except subprocess.TimeoutExpired:
                payload = None  # already sent; communicate keeps what it has read
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("import cancelled; nothing was changed") from None
                if time.monotonic() > deadline:
                    raise fail(
                        file,
                        "reader_timeout",
                        f"reading the file took longer than {limits.child_seconds:.0f} s; it "
                        "may be crafted to be slow",
                    ) from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise _crash(file, process.returncode, err)
    try:
        answer = json.loads(out, object_hook=_untag)
    except ValueError:
        raise fail(file, "reader_failed", "the spreadsheet reader returned garbage") from None
    if not isinstance(answer, dict):
        raise fail(file, "reader_failed", "the spreadsheet reader returned garbage")
    if answer.get("error"):
        problem = answer["error"]
        raise SourceError(
            ImportError_(
                Location(file, problem.get("sheet"), problem.get("row"), problem.get("column")),
                None,
                str(problem.get("code") or "reader_failed"),
                str(problem.get("message") or "the file cannot be read"),
            )
        )
    return RawWorkbook(
        list(answer["sheet_names"]),
        [
            RawSheet(
                sheet["name"],
                sheet["rows"],
                [(m[0], m[1], m[2], m[3]) for m in sheet.get("merged") or []],
            )
            for sheet in answer["sheets"]
        ],
    )


def _crash(file: str, code: int, stderr: bytes) -> SourceError:
    text = stderr.decode("utf-8", "replace")
    how = f"was killed by {_signal_name(code)}" if code < 0 else f"exited with code {code}"
    # Rust reports a failed allocation before aborting; say so, it is the usual cause.
    why = (
        " (it ran out of memory: the file declares an enormous sheet)"
        if ("memory allocation" in text or "MemoryError" in text)
        else ""
    )
    return fail(
        file,
        "reader_crashed",
        f"the spreadsheet reader {how} while reading this file{why}; the file is damaged or "
        "crafted, and nothing was imported",
    )
