"""python-calamine behind a process boundary: a crash in the reader is an import error, never a
dead app (DESIGN §4).

`ReaderChild` starts `_calamine_child.py` as a plain script with the same interpreter
(`-I`: no environment, no user site), sends it a JSON request, and decodes the sheets it streams
back as JSON lines on a thread of its own, so the caller may do other work meanwhile (readers.py
runs the byte-level checks then). The child caps its own address space; the parent enforces a
wall-clock limit and the caller's cancel token. Whatever the child does — abort, segfault, run
out of memory, print garbage — the caller gets a `SourceError` with a located message. Nothing
the child sends is more than JSON to the parent: decoding it runs no code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from kb.importing.limits import DEFAULT_LIMITS, Limits, fail
from kb.importing.model import ImportError_, Location, SourceError
from kb.importing.progress import Cancelled, CancelToken, paused_gc

CHILD_SCRIPT = Path(__file__).with_name("_calamine_child.py")
# How often the parent looks at the cancel token while the child works.
_POLL_SECONDS = 0.2
# Enough of the child's stderr to tell why it died.
_STDERR_BYTES = 64 * 1024
# The child writes lines of a few hundred KB; read them in large pieces.
_PIPE_BUFFER = 1024 * 1024

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


def _decode(line: bytes) -> Any:
    """One line of the child's answer. orjson reads a line of plain cells several times faster
    than json; a line with a tagged value (a date), or one orjson refuses (NaN, a lone
    surrogate), is read by json, which decodes both kinds of line the same."""
    if b'{"$' not in line:
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(line)
    return json.loads(line, object_hook=_untag)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class _Garbage(Exception):
    """The child's answer does not follow the protocol of _calamine_child.py."""


class _Answer:
    """The child's messages, decoded as they arrive (on the reader thread)."""

    def __init__(self) -> None:
        self.sheet_names: list[str] | None = None
        self.sheets: list[RawSheet] = []
        self.error: dict[str, Any] | None = None
        self.ended = False
        self.garbage = False

    def take(self, line: bytes) -> None:
        if self.garbage or self.error is not None or self.ended:
            raise _Garbage  # nothing may follow the last message
        with paused_gc():
            message = _decode(line)
        if type(message) is list:
            if not self.sheets or not all(type(row) is list for row in message):
                raise _Garbage
            self.sheets[-1].rows.extend(message)
        elif type(message) is not dict:
            raise _Garbage
        elif "error" in message:
            if type(message["error"]) is not dict:
                raise _Garbage
            self.error = message["error"]
        elif self.sheet_names is None:
            names = message["sheet_names"]
            if type(names) is not list or not all(type(name) is str for name in names):
                raise _Garbage
            self.sheet_names = names
        elif "sheet" in message:
            name, merged = message["sheet"], message["merged"]
            if type(name) is not str or type(merged) is not list:
                raise _Garbage
            self.sheets.append(RawSheet(name, [], [(m[0], m[1], m[2], m[3]) for m in merged]))
        elif message.get("end") is True:
            self.ended = True
        else:
            raise _Garbage

    def drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            if self.garbage:
                continue  # keep reading, so the child is never stuck writing
            try:
                self.take(line)
            except (_Garbage, ValueError, KeyError, TypeError, IndexError):
                self.garbage = True


class ReaderChild:
    """A spreadsheet (xlsx, xls, ods) being read by python-calamine in a child process.

    Use as a context manager: leaving it kills the child if it still runs. `result()` waits
    for the sheets. `sheets` names the sheets wanted (None: all).
    """

    def __init__(
        self,
        path: Path,
        *,
        file: str,
        sheets: list[str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        cancel: CancelToken | None = None,
    ) -> None:
        if cancel is not None:
            cancel.check()
        self.file = file
        self.limits = limits
        self.cancel = cancel
        request = {
            "path": str(path),
            "sheets": sheets,
            "max_rows": limits.max_rows,
            "max_columns": limits.max_columns,
            "memory": limits.child_memory_bytes,
        }
        # A file, not a pipe: nobody has to keep reading it while the child runs. Closed by
        # close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.deadline = time.monotonic() + limits.child_seconds
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(CHILD_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=_PIPE_BUFFER,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._answer = _Answer()
        self._reader = threading.Thread(
            target=self._read, args=(json.dumps(request).encode("utf-8"),), daemon=True
        )
        self._reader.start()

    def _read(self, request: bytes) -> None:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(request)
            process.stdin.close()
        except OSError:
            pass  # the child is gone already; its exit status says why
        self._answer.drain(process.stdout)

    def __enter__(self) -> ReaderChild:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child if it still runs and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def result(self) -> RawWorkbook:
        """The sheets read; `SourceError` for anything the child reports or suffers,
        `Cancelled` if the token is set meanwhile."""
        self._wait()
        process = self.process
        if process.returncode != 0:
            raise self._crash(process.returncode)
        answer = self._answer
        if answer.error is not None:
            problem = answer.error
            raise SourceError(
                ImportError_(
                    Location(
                        self.file,
                        _text_or_none(problem.get("sheet")),
                        _int_or_none(problem.get("row")),
                        _text_or_none(problem.get("column")),
                    ),
                    None,
                    str(problem.get("code") or "reader_failed"),
                    str(problem.get("message") or "the file cannot be read"),
                )
            )
        if answer.garbage or not answer.ended or answer.sheet_names is None:
            raise fail(self.file, "reader_failed", "the spreadsheet reader returned garbage")
        return RawWorkbook(answer.sheet_names, answer.sheets)

    def _wait(self) -> None:
        """Until the child has exited and all it wrote is decoded, or time or the user says."""
        process, reader = self.process, self._reader
        while True:
            wait = min(_POLL_SECONDS, max(0.0, self.deadline - time.monotonic()))
            if reader.is_alive():
                reader.join(wait)
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(wait)
            if not reader.is_alive() and process.poll() is not None:
                return
            if self.cancel is not None and self.cancel.cancelled:
                raise Cancelled("import cancelled; nothing was changed")
            if time.monotonic() > self.deadline:
                raise fail(
                    self.file,
                    "reader_timeout",
                    f"reading the file took longer than {self.limits.child_seconds:.0f} s; it "
                    "may be crafted to be slow",
                )

    def _crash(self, code: int) -> SourceError:
        # The last words say why: a Rust panic or abort message, a Python traceback.
        size = self._stderr.seek(0, io.SEEK_END)
        self._stderr.seek(max(0, size - _STDERR_BYTES))
        text = self._stderr.read().decode("utf-8", "replace")
        how = f"was killed by {_signal_name(code)}" if code < 0 else f"exited with code {code}"
        # Rust reports a failed allocation before aborting; say so, it is the usual cause.
        why = (
            " (it ran out of memory: the file declares an enormous sheet)"
            if ("memory allocation" in text or "MemoryError" in text)
            else ""
        )
        return fail(
            self.file,
            "reader_crashed",
            f"the spreadsheet reader {how} while reading this file{why}; the file is damaged or "
            "crafted, and nothing was imported",
        )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None


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
    with ReaderChild(path, file=file, sheets=sheets, limits=limits, cancel=cancel) as child:
        return child.result()
