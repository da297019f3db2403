"""The home screen: first in the navigator and shown on a first start; counts, the user's open
change sets and review queue (which open on the Change sets page), recent versions, charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from curator.home_page import HOME_KEY, HomePage
from curator.main_window import MainWindow
from curator.review_view import REVIEW_KEY, ReviewHooks
from curator.settings import Settings
from kb.demo.loader import DEMO_USERS
from kb.review.changes import open_draft, submit_change_set
from kb.review.users import Actor, authenticate
from kb.storage.db import Kb, open_kb

PASSWORDS = {name: password for name, _, password in DEMO_USERS}


def actor(kb: Kb, name: str) -> Actor:
    with kb.unit_of_work() as session:
        return authenticate(session, name=name, password=PASSWORDS[name])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def submitted(demo_url: str) -> str:
    kb = open_kb(demo_url)
    curator = actor(kb, "curator")
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=curator, title="TMB cut-off")
        editor.update("TH-00001", {"value": "12"})
        editor.close()
        change_set = editor.human_id
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=change_set)
    kb.close()
    return change_set


def open_home(qtbot, url: str, settings: Settings, who: str | None) -> tuple[MainWindow, HomePage]:  # type: ignore[no-untyped-def]
    kb = open_kb(url)
    window = MainWindow(kb, actor(kb, who) if who else None, settings=settings)
    qtbot.addWidget(window)
    home = window.installed(HomePage)
    with qtbot.waitSignal(home.loaded, timeout=10_000):
        window.show()
    return window, home


def test_home_is_first_and_shown_on_a_first_start(qtbot, demo_url, settings, submitted) -> None:  # type: ignore[no-untyped-def]
    window, home = open_home(qtbot, demo_url, settings, "reviewer")
    assert window.navigator.topLevelItem(0).text(0) == "Home"
    assert window.current_key == HOME_KEY and window.pages.currentWidget() is home
    summary = home.summary
    assert summary is not None
    assert "KB version 1" in home.heading.text() and "reviewer" in home.heading.text()
    assert f"<b>{summary.records['assertion']:,}</b> assertions" in home.counts.text()
    assert "<b>1</b> submitted" in home.counts.text()
    # The reviewer's queue holds the curator's change set; opening it shows it for review.
    assert home.queue.count() == 1
    item = home.queue.item(0)
    assert item.text().startswith(f"{submitted} “TMB cut-off” — submitted, 1 change · curator")
    review = window.installed(ReviewHooks).review
    home.queue.setCurrentItem(item)
    home.queue.itemActivated.emit(item)
    assert window.current_key == REVIEW_KEY
    qtbot.waitUntil(
        lambda: (
            review.view.detail is not None and review.view.detail.change_set.human_id == submitted
        ),
        timeout=10_000,
    )
    # Versions, and charts with a bar per level and tumour type.
    assert any(home.history.item(i).text().startswith("Version 1 from CS-00001")
               for i in range(home.history.count()))  # fmt: skip
    assert sum(n for _, n in home.by_level.bars) == summary.records["assertion"]
    assert home.by_tumour.bars and home.by_tumour.bars[0][1] >= home.by_tumour.bars[-1][1]
    assert len(home.per_week.bars) == 12 and home.per_week.bars[-1][1] >= 1


def test_the_curator_sees_her_own_open_change_sets(qtbot, demo_url, settings, submitted) -> None:  # type: ignore[no-untyped-def]
    _window, home = open_home(qtbot, demo_url, settings, "curator")
    assert [home.mine.item(i).text().split(" ")[0] for i in range(home.mine.count())] == [submitted]
    # A curator reviews nothing: the queue says so and offers nothing to open.
    assert home.queue.count() == 1 and not home.queue.item(0).flags() & Qt.ItemFlag.ItemIsEnabled
    assert home.queue.item(0).text() == "Reviewers approve change sets"


def test_home_read_only(qtbot, demo_url, settings) -> None:  # type: ignore[no-untyped-def]
    _window, home = open_home(qtbot, demo_url, settings, None)
    assert "browsing read-only" in home.heading.text()
    assert home.mine.item(0).text() == "Sign in to curate"
