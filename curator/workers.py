"""The one place where Qt-free kb work meets Qt threads (DESIGN §1, STYLE habit 3).

A task is a plain callable `fn(progress, cancel) -> result`: it opens its own unit of work on
the worker thread, reports progress through `progress(done, total)`, polls `cancel`, and returns
plain data (frozen rows, DTOs). The result, a failure, or progress comes back to the UI thread by
queued signal — never an ORM object, never a call into a widget from the worker (Anki's rule:
"do not call UI routines in op").

Reads run on a small pool in parallel; writes run on a pool of one thread, so they reach the
database in the order the user made them (undo after redo after save).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from curator.qt_compat import emit
from kb.errors import KbError

ProgressFn = Callable[[int, int], None]


class Cancelled(Exception):
    """Raised inside a task (by `CancelToken.check`) to stop it; the caller sees `cancelled`."""


class CancelToken:
    """Thread-safe "please stop" flag a task polls (the calibre `abort=` / Orange habit)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


# A task: `fn(progress, cancel) -> plain data`, run on a worker thread.
TaskFn = Callable[[ProgressFn, CancelToken], Any]


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """Why a task failed, as plain data: `message` is for the user; `details` for a bug report."""

    message: str
    user_facing: bool
    details: str = ""
    error_type: str = ""
    field: str | None = None


def failure_from(exc: BaseException) -> TaskFailure:
    """A KbError's message is written for users; anything else is a bug, so keep the trace."""
    if isinstance(exc, KbError):
        return TaskFailure(
            str(exc), True, error_type=type(exc).__name__, field=getattr(exc, "field", None)
        )
    details = "".join(traceback.format_exception(exc))
    return TaskFailure(
        f"{type(exc).__name__}: {exc}", False, details=details, error_type=type(exc).__name__
    )


class _Relay(QObject):
    # Lives on the UI thread; the worker only emits, so delivery is queued to the UI thread.
    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()


class _Runnable(QRunnable):
    # Progress is throttled: a loop calling back per row must not flood the event queue.
    _MIN_INTERVAL_S = 0.05

    def __init__(self, fn: TaskFn, relay: _Relay, token: CancelToken) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay
        self._token = token
        self._last = 0.0

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= self._MIN_INTERVAL_S:
            self._last = now
            emit(self._relay.progressed, int(done), int(total))

    def run(self) -> None:
        try:
            self._token.check()
            result = self._fn(self._progress, self._token)
        except Cancelled:
            emit(self._relay.cancelled)
        except BaseException as exc:  # a worker must never take the app down with it
            emit(self._relay.failed, failure_from(exc))
        else:
            emit(self._relay.succeeded, result)


class Task(QObject):
    """The UI thread's handle on one running task. Emits exactly one of finished / failed /
    cancelled, then deletes itself."""

    progressed = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self.relay = _Relay(self)
        self.is_done = False
        queued = Qt.ConnectionType.QueuedConnection
        self.relay.progressed.connect(self.progressed, queued)
        self.relay.succeeded.connect(self._on_succeeded, queued)
        self.relay.failed.connect(self._on_failed, queued)
        self.relay.cancelled.connect(self._on_cancelled, queued)

    def cancel(self) -> None:
        self.token.cancel()

    def _finish(self) -> None:
        self.is_done = True
        emit(self.done)
        self.deleteLater()

    def _on_succeeded(self, result: object) -> None:
        emit(self.finished, result)
        self._finish()

    def _on_failed(self, failure: object) -> None:
        emit(self.failed, failure)
        self._finish()

    def _on_cancelled(self) -> None:
        emit(self.cancelled)
        self._finish()


class Workers(QObject):
    """Runs tasks off the UI thread: reads in parallel, writes one at a time, in order."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, read_threads: int = 2) -> None:
        super().__init__(parent)
        self._reads = QThreadPool(self)
        self._reads.setMaxThreadCount(read_threads)
        self._writes = QThreadPool(self)
        self._writes.setMaxThreadCount(1)
        self._running: set[Task] = set()

    def read(
        self,
        name: str,
        fn: TaskFn,
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskFailure], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Task:
        return self._start(
            self._reads, name, fn, on_result=on_result, on_error=on_error, on_progress=on_progress
        )

    def write(
        self,
        name: str,
        fn: TaskFn,
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskFailure], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Task:
        return self._start(
            self._writes, name, fn, on_result=on_result, on_error=on_error, on_progress=on_progress
        )

    def _start(
        self,
        pool: QThreadPool,
        name: str,
        fn: TaskFn,
        *,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[TaskFailure], None] | None,
        on_progress: Callable[[int, int], None] | None,
    ) -> Task:
        task = Task(name, self)
        if on_result is not None:
            task.finished.connect(on_result)
        if on_error is not None:
            task.failed.connect(on_error)
        if on_progress is not None:
            task.progressed.connect(on_progress)
        was_busy = bool(self._running)
        self._running.add(task)
        task.done.connect(lambda: self._forget(task))
        runnable = _Runnable(fn, task.relay, task.token)
        runnable.setAutoDelete(True)
        pool.start(runnable)
        if not was_busy:
            emit(self.busy_changed, True)
        return task

    def _forget(self, task: Task) -> None:
        self._running.discard(task)
        if not self._running:
            emit(self.busy_changed, False)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the pools are idle (at shutdown, so no worker outlives the KB)."""
        return bool(self._reads.waitForDone(msecs) and self._writes.waitForDone(msecs))
