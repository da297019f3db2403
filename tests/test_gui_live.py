"""Live state: a window learns of other users' submits, merges and releases without F5.

Two sessions on one KB (a SQLite file; a PostgreSQL database, where NOTIFY wakes the window
before its next poll): the curator's window is open while, in another session, her draft is
submitted and a reviewer merges it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from curator.live_state import LiveUi
from curator.main_window import MainWindow
from curator.settings import Settings
from kb.demo.loader import DEMO_USERS
from kb.review.audit import record_event
from kb.review.changes import approve_change_set, open_draft, submit_change_set
from kb.review.users import Actor, authenticate
from kb.storage.db import Kb, open_kb
from kb.storage.live import change_counter, listener_for

PASSWORDS = {name: password for name, _, password in DEMO_USERS}


def actor(kb: Kb, name: str) -> Actor:
    with kb.unit_of_work() as session:
        return authenticate(session, name=name, password=PASSWORDS[name])


def stage_edit(kb: Kb, curator: Actor) -> str:
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=curator, title="TMB cut-off")
        editor.update("TH-00001", {"value": "12"})
        editor.close()
        return editor.human_id


def submit_and_merge(kb: Kb, change_set: str) -> int:
    """What the curator's `kb changes submit` and the reviewer's `approve` do, elsewhere."""
    curator, reviewer = actor(kb, "curator"), actor(kb, "reviewer")
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=change_set)
    with kb.unit_of_work() as session:
        return approve_change_set(session, actor=reviewer, change_set_id=change_set).version


# --- the counter (kb) -----------------------------------------------------------------------


def test_the_change_counter_moves_with_every_change(demo_kb: Kb) -> None:
    with demo_kb.read() as session:
        start = change_counter(session)
    assert start.version == 1 and start.releases == 0 and start.audit_seq > 0
    change_set = stage_edit(demo_kb, actor(demo_kb, "curator"))
    with demo_kb.read() as session:
        staged = change_counter(session)
    assert staged.audit_seq > start.audit_seq and staged.version == 1
    assert submit_and_merge(demo_kb, change_set) == 2
    with demo_kb.read() as session:
        merged = change_counter(session)
    assert merged.version == 2 and merged.audit_seq > staged.audit_seq


def test_no_listener_on_sqlite(sqlite_url: str) -> None:
    assert listener_for(sqlite_url) is None


ON_POSTGRES = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@ON_POSTGRES
def test_postgres_notifies_a_listener_when_a_change_commits(demo_kb: Kb) -> None:
    listener = listener_for(demo_kb.url)
    assert listener is not None
    try:
        assert not listener.wait(0.2)  # nothing yet
        with demo_kb.unit_of_work() as session:
            record_event(session, actor="someone", action="probe.test")
            # Not before the transaction commits: a rolled-back change is no change.
            assert not listener.wait(0.2)
        started = time.monotonic()
        assert listener.wait(5)
        assert time.monotonic() - started < 2
    finally:
        listener.close()


# --- the window -----------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def open_window(qtbot, url: str, settings: Settings, who: str) -> MainWindow:  # type: ignore[no-untyped-def]
    kb = open_kb(url)
    window = MainWindow(kb, actor(kb, who), settings=settings, start_view="threshold")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.table_loaded, timeout=10_000):
        window.show()
    live = window.installed(LiveUi)
    qtbot.waitUntil(lambda: live.state.counter is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.draft_dock.data.change_set is not None, timeout=10_000)
    return window


def threshold_value(window: MainWindow, human_id: str) -> str:
    model = window.records.model
    row = model.row_of(human_id)
    assert row is not None
    columns = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return str(model.index(row, columns.index("Value")).data())


def the_window_follows_a_merge(qtbot, window: MainWindow, kb: Kb, change_set: str) -> None:  # type: ignore[no-untyped-def]
    dock = window.draft_dock
    assert dock.submit_button.isEnabled()  # the curator's draft, offered for review
    assert window.status_bar.version_status.text() == "Version 1"
    assert threshold_value(window, "TH-00001") == "10"
    version = submit_and_merge(kb, change_set)
    # No F5: the version, the draft dock and the table follow by themselves.
    qtbot.waitUntil(
        lambda: window.status_bar.version_status.text() == f"Version {version}", timeout=10_000
    )
    qtbot.waitUntil(lambda: dock.data.change_set is None, timeout=10_000)
    assert not dock.submit_button.isEnabled()
    qtbot.waitUntil(lambda: threshold_value(window, "TH-00001") == "12", timeout=10_000)
    notice = window.installed(LiveUi).notice
    assert notice.isVisible()
    assert f"reviewer merged {change_set} into version {version}" in notice.label.text()
    assert window.isActiveWindow() or not notice.isActiveWindow()  # it took no focus


def test_the_window_follows_another_users_merge_on_sqlite(qtbot, demo_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    setup = open_kb(demo_url)
    change_set = stage_edit(setup, actor(setup, "curator"))
    window = open_window(qtbot, demo_url, settings, "curator")
    window.installed(LiveUi).state.set_interval(200)
    the_window_follows_a_merge(qtbot, window, setup, change_set)
    setup.close()


def test_own_drafting_reads_nothing_again(qtbot, demo_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    setup = open_kb(demo_url)
    stage_edit(setup, actor(setup, "curator"))
    window = open_window(qtbot, demo_url, settings, "curator")
    live = window.installed(LiveUi)
    live.state.set_interval(100)
    with setup.unit_of_work() as session:
        editor = open_draft(
            session,
            actor=actor(setup, "curator"),
            change_set_id=window.draft_dock.data.change_set.human_id,
        )
        editor.update("TH-00001", {"value": "13"})
        editor.close()
    with setup.read() as session:
        moved = change_counter(session)
    qtbot.waitUntil(lambda: live.state.counter == moved, timeout=10_000)
    assert live.refreshed == 0 and not live.notice.isVisible()
    # Someone else's change does read the KB again.
    with setup.unit_of_work() as session:
        record_event(session, actor="reviewer", action="change_set.reject", subject="CS-00099")
    qtbot.waitUntil(lambda: live.refreshed == 1, timeout=10_000)
    assert "reviewer rejected CS-00099" in live.notice.label.text()
    setup.close()


@ON_POSTGRES
def test_the_window_hears_a_merge_by_notify_on_postgres(  # type: ignore[no-untyped-def]
    qtbot, demo_kb: Kb, settings
) -> None:
    change_set = stage_edit(demo_kb, actor(demo_kb, "curator"))
    window = open_window(qtbot, demo_kb.url, settings, "curator")
    live = window.installed(LiveUi)
    assert live.state.listening
    live.state.set_interval(600_000)  # no poll within the test: only NOTIFY can tell it
    the_window_follows_a_merge(qtbot, window, demo_kb, change_set)
