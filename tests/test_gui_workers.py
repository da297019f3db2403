"""Workers: Qt-free functions run off the UI thread; results, failures, progress and
cancellation come back by signal as plain data."""

from __future__ import annotations

import threading
import time

import pytest

from curator.workers import CancelToken, ProgressFn, TaskFailure, Workers
from kb.errors import KbError
from kb.storage.db import open_kb
from kb.storage.meta import KbInfo, kb_info


@pytest.fixture
def workers(qtbot) -> Workers:  # type: ignore[no-untyped-def]
    pool = Workers()
    yield pool
    pool.cancel_all()
    pool.wait()


def test_a_read_runs_off_the_ui_thread_and_returns_plain_data(qtbot, workers, demo_url) -> None:
    kb = open_kb(demo_url)
    seen: dict[str, object] = {}

    def work(_progress: ProgressFn, _cancel: CancelToken) -> KbInfo:
        seen["thread"] = threading.current_thread()
        with kb.read() as session:
            return kb_info(session)

    task = workers.read("info", work)
    assert not task.is_done  # the caller never waits
    with qtbot.waitSignal(task.finished, timeout=10_000) as blocker:
        pass
    info = blocker.args[0]
    assert isinstance(info, KbInfo) and info.version == 1
    assert seen["thread"] is not threading.main_thread()
    kb.close()


def test_a_kb_error_arrives_as_a_user_facing_failure(qtbot, workers) -> None:
    def work(_progress: ProgressFn, _cancel: CancelToken) -> None:
        raise KbError("no such record AS-99999")

    task = workers.read("fails", work)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    failure = blocker.args[0]
    assert isinstance(failure, TaskFailure)
    assert failure.user_facing and failure.message == "no such record AS-99999"


def test_a_bug_arrives_with_its_traceback(qtbot, workers) -> None:
    def work(_progress: ProgressFn, _cancel: CancelToken) -> None:
        raise ValueError("boom")

    task = workers.read("bug", work)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    failure = blocker.args[0]
    assert not failure.user_facing
    assert "ValueError: boom" in failure.message and "Traceback" in failure.details


def test_progress_and_cancel(qtbot, workers) -> None:
    started = threading.Event()

    def work(progress: ProgressFn, cancel: CancelToken) -> int:
        for step in range(1000):
            progress(step, 1000)
            started.set()
            cancel.check()
            time.sleep(0.005)
        return 1000

    progressed: list[tuple[int, int]] = []
    task = workers.read("long", work, on_progress=lambda d, t: progressed.append((d, t)))
    assert started.wait(5)
    qtbot.waitUntil(lambda: bool(progressed), timeout=5000)
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()
    assert progressed and progressed[0][1] == 1000


def test_writes_run_one_at_a_time_in_order(qtbot, workers) -> None:
    order: list[int] = []
    lock = threading.Lock()
    running = [0]

    def make(number: int):  # type: ignore[no-untyped-def]
        def work(_progress: ProgressFn, _cancel: CancelToken) -> int:
            with lock:
                running[0] += 1
                assert running[0] == 1
            time.sleep(0.01)
            with lock:
                order.append(number)
                running[0] -= 1
            return number

        return work

    tasks = [workers.write(f"w{n}", make(n)) for n in range(6)]
    with qtbot.waitSignal(tasks[-1].finished, timeout=10_000):
        pass
    assert order == list(range(6))
    qtbot.waitUntil(lambda: not workers.busy, timeout=5000)


def test_emitting_many_signals_keeps_true_alive() -> None:
    # PySide6 6.12.0's emit() drops a reference to True each time; curator's emit() gives it
    # back, so a long session cannot end in "bool_dealloc".
    import sys

    from PySide6.QtCore import QObject, Signal

    from curator.qt_compat import emit

    class Pinger(QObject):
        ping = Signal(object)

    pinger = Pinger()
    pinger.ping.connect(lambda _value: None)
    before = sys.getrefcount(True)
    for number in range(20_000):
        emit(pinger.ping, number)
    assert sys.getrefcount(True) >= before
