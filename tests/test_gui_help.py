"""Help inside the app: the docs rendered from the package, the first-run tour (once per user,
again from Help), and the sign-in dialog of a demo KB saying where the demo passwords are."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl

from curator.help_view import TOUR, HelpDialog, HelpUi, help_documents
from curator.main_window import MainWindow
from curator.settings import Settings
from curator.signin_dialog import SignInDialog
from kb.demo.loader import DEMO_USERS, demo_accounts
from kb.review.users import authenticate
from kb.storage.db import open_kb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def test_the_package_carries_the_docs() -> None:
    docs = help_documents()
    names = [doc.path.name for doc in docs]
    assert names[0] == "README.md"
    assert {"architecture.md", "security.md", "import-profiles.md"} <= set(names)
    # From curator/help/ (what the wheel takes as package data), the same files as the tree's.
    assert docs[0].path.parent == ROOT / "curator" / "help"
    assert docs[0].path.read_bytes() == (ROOT / "README.md").read_bytes()
    assert 'curator = ["help/*.md", "help/docs/*.md"]' in (ROOT / "pyproject.toml").read_text()


def test_help_renders_markdown_and_follows_links_between_docs(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = HelpDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    text = dialog.browser.toPlainText()
    assert text.startswith("KB Curator")  # the heading, rendered (no "# ")
    assert "python3 -m venv .venv" in text
    assert "##" not in text.split("\n", 5)[0]
    # A link to another doc opens it in the same window.
    dialog._link(QUrl("docs/security.md"))
    assert dialog.docs[dialog.index.currentRow()].path.name == "security.md"
    assert "# " not in dialog.browser.toPlainText()[:3]
    dialog.index.setCurrentRow(0)
    assert dialog.browser.toPlainText().startswith("KB Curator")


def test_the_tour_runs_once_per_user_and_again_from_help(qtbot, demo_url, settings) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(demo_url)
    with kb.read() as session:
        curator = authenticate(session, name="curator", password="demo-curator")
    window = MainWindow(kb, curator, settings=settings, start_view="assertion")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.table_loaded, timeout=10_000):
        window.show()
    help_ui = window.installed(HelpUi)
    tour = help_ui.tour
    assert not tour.isVisible()
    assert help_ui.offer_tour()
    assert tour.isVisible() and tour.geometry() == window.rect()
    # Step one highlights the navigator; the card sits beside it, inside the window.
    navigator = window.navigator
    hole = tour.target()
    assert hole.contains(navigator.mapTo(window, navigator.rect().center()))
    assert window.rect().contains(tour.card.geometry())
    assert not hole.intersects(tour.card.geometry())
    titles = []
    for _ in TOUR:
        titles.append(tour.heading.text())
        qtbot.mouseClick(tour.next, Qt.MouseButton.LeftButton)
    assert [t.title in h for t, h in zip(TOUR, titles, strict=True)] == [True] * len(TOUR)
    assert "draft" in tour.steps[1].title.lower() and tour.steps[1].target == "draft_dock"
    assert not tour.isVisible()
    # Seen: not offered again to this user, but Help ▸ Take the tour shows it.
    assert settings.tour_seen("curator") and not settings.tour_seen("reviewer")
    assert not help_ui.offer_tour() and not tour.isVisible()
    window.action("take_tour").trigger()
    assert tour.isVisible() and tour.step == 0
    qtbot.keyClick(tour, Qt.Key.Key_Escape)
    assert not tour.isVisible()
    # F1 opens the help window, not modal.
    window.action("help_contents").trigger()
    assert help_ui.dialog is not None and help_ui.dialog.isVisible()
    assert not help_ui.dialog.isModal()
    help_ui.dialog.close()
    window.workers.wait()


def test_the_demo_sign_in_says_where_the_passwords_are(qtbot, demo_url, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    demo, empty = open_kb(demo_url), open_kb(sqlite_url)
    with demo.read() as session:
        accounts = demo_accounts(session)
    with empty.read() as session:
        assert demo_accounts(session) == {}
    assert accounts == {name: password for name, _, password in DEMO_USERS}
    dialog = SignInDialog("demo.sqlite", lambda n, p: None, demo_accounts=accounts)
    qtbot.addWidget(dialog)
    text = dialog.intro.text()
    assert "demo KB" in text and "README.md" in text and "kb init --demo" in text
    assert "<code>curator</code> / <code>demo-curator</code>" in text
    plain = SignInDialog("team.sqlite", lambda n, p: None)
    qtbot.addWidget(plain)
    assert "demo" not in plain.intro.text() and "password" not in plain.intro.text()
    demo.close()
    empty.close()
