"""Starting the app: errors are dialogs with a reason; a first run builds the demo off the UI
thread, creates the first accounts and signs in; recent KBs and the last user are remembered."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from curator.app import Launcher, main
from curator.main_window import MainWindow
from curator.qt_compat import emit
from curator.settings import Settings, without_password
from curator.signin_dialog import DatabaseLoginDialog, FirstAccountDialog, SignInDialog
from kb.errors import KbError
from kb.model.enums import Role
from kb.review.users import add_user
from kb.storage.db import open_kb
from tests.conftest import demo_admin

PASSWORD = "password1"


class DialogScript:
    """Answers the modal dialogs the code under test opens, in order: each step waits for a
    dialog of its type (others, such as a progress dialog, are left alone)."""

    def __init__(self, steps: list[tuple[type[QWidget], Callable[[QWidget], None]]]) -> None:
        self.steps = list(steps)
        self.seen: list[QWidget] = []
        self.texts: list[str] = []
        self.errors: list[BaseException] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not self.steps or dialog in self.seen:
            return
        kind, act = self.steps[0]
        if not isinstance(dialog, kind):
            return
        self.steps.pop(0)
        self.seen.append(dialog)
        if isinstance(dialog, QMessageBox):
            self.texts.append(f"{dialog.text()}\n{dialog.informativeText()}")
        try:
            act(dialog)
        except BaseException as exc:  # reported by the test, not lost in the event loop
            self.errors.append(exc)
            dialog.close()

    def check(self) -> None:
        self.timer.stop()
        if self.errors:
            raise self.errors[0]
        assert not self.steps, f"dialogs never shown: {self.steps}"


def press(button: QMessageBox.StandardButton) -> Callable[[QWidget], None]:
    def act(dialog: QWidget) -> None:
        assert isinstance(dialog, QMessageBox)
        dialog.button(button).click()

    return act


def sign_in(name: str, password: str) -> Callable[[QWidget], None]:
    def act(dialog: QWidget) -> None:
        assert isinstance(dialog, SignInDialog)
        dialog.name.setText(name)
        dialog.password.setText(password)
        emit(dialog.buttons.accepted)

    return act


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def launcher(qtbot, settings: Settings):  # type: ignore[no-untyped-def]
    made = Launcher(settings, None)
    yield made
    if isinstance(made.window, MainWindow):
        made.window.close()
    made.workers.wait()


def test_a_newer_schema_is_a_dialog_not_a_traceback(qtbot, launcher, sqlite_url: str) -> None:
    database = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffffff9999'")
    script = DialogScript([(QMessageBox, press(QMessageBox.StandardButton.Ok))])
    assert launcher.start(sqlite_url) is None
    script.check()
    assert "This KB is newer than this app" in script.texts[0]
    assert "ffffffff9999" in script.texts[0] and "upgrade the app" in script.texts[0]
    assert launcher.window is None


def test_a_file_that_is_not_a_kb(qtbot, launcher, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database\n" * 100)
    script = DialogScript([(QMessageBox, press(QMessageBox.StandardButton.Ok))])
    assert launcher.start(str(path)) is None
    script.check()
    assert "The KB could not be opened" in script.texts[0]
    assert "not a database" in script.texts[0]


def test_a_location_that_cannot_be_created(qtbot, launcher, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    script = DialogScript([(QMessageBox, press(QMessageBox.StandardButton.Ok))])
    assert launcher.start(f"sqlite:///{blocker}/kb.sqlite") is None
    script.check()
    assert "The KB could not be opened" in script.texts[0]


def test_first_run_builds_the_demo_off_the_ui_thread(
    qtbot, launcher, sqlite_url: str, settings: Settings
) -> None:
    progress: list[QProgressDialog] = []

    def remember_progress(dialog: QWidget) -> None:
        assert isinstance(dialog, QProgressDialog)
        progress.append(dialog)

    script = DialogScript(
        [
            (QMessageBox, press(QMessageBox.StandardButton.Yes)),
            (QProgressDialog, remember_progress),
            (QMessageBox, press(QMessageBox.StandardButton.Ok)),  # the demo accounts
            (SignInDialog, sign_in("curator", "demo-curator")),
        ]
    )
    window = launcher.start(sqlite_url)
    script.check()
    assert "This KB is empty. Create the demo KB in it?" in script.texts[0]
    assert progress and progress[0].maximum() > 300  # counted the demo's records
    accounts = script.texts[1]
    assert "The demo KB is ready" in accounts
    assert "curator" in accounts and "demo-curator" in accounts
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    assert window.actor is not None and window.actor.name == "curator"
    assert window.current_key == "home"  # a first start opens on the home screen
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="assertion".__eq__):
        window.show_view("assertion")
    assert window.records.model.rowCount() == 103
    assert settings.recent_kbs() == [sqlite_url]
    assert settings.last_user(sqlite_url) == "curator"


def test_cancelling_the_demo_leaves_the_kb_empty(qtbot, launcher, sqlite_url: str) -> None:
    def cancel(dialog: QWidget) -> None:
        assert isinstance(dialog, QProgressDialog)
        button = dialog.findChild(QPushButton)
        assert button is not None and button.text() == "Cancel"
        button.click()

    script = DialogScript(
        [
            (QMessageBox, press(QMessageBox.StandardButton.Yes)),
            (QProgressDialog, cancel),
            (FirstAccountDialog, lambda dialog: dialog.reject()),  # type: ignore[attr-defined]
        ]
    )
    assert launcher.start(sqlite_url) is None
    script.check()
    kb = open_kb(sqlite_url)
    with kb.read() as session:
        from kb.storage.meta import kb_info

        info = kb_info(session)
    kb.close()
    assert info.version == 0 and not any(info.counts.values())


def test_starting_empty_declines_the_demo(qtbot, launcher, sqlite_url: str) -> None:
    def admin_only(dialog: QWidget) -> None:
        assert isinstance(dialog, FirstAccountDialog)
        dialog.name.setText("ada")
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText("something else")
        emit(dialog.buttons.accepted)
        assert dialog.isVisible() and dialog.error.text() == "the two passwords differ"
        dialog.confirm.setText("short")
        dialog.password.setText("short")
        emit(dialog.buttons.accepted)
        assert dialog.error.text() == "a password needs at least 8 characters"
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText(PASSWORD)
        emit(dialog.buttons.accepted)

    def signs_in_as_ada(dialog: QWidget) -> None:
        assert isinstance(dialog, SignInDialog)
        assert dialog.name.text() == "ada"
        sign_in("ada", PASSWORD)(dialog)

    script = DialogScript(
        [
            (QMessageBox, press(QMessageBox.StandardButton.No)),
            (FirstAccountDialog, admin_only),
            (SignInDialog, signs_in_as_ada),
        ]
    )
    window = launcher.start(sqlite_url)
    script.check()
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    # An admin may not edit records; the window says so instead of failing later.
    assert not window.act_new.isEnabled()
    assert window.action("users").isEnabled()


@pytest.fixture
def demo_with_users(demo_url: str) -> str:
    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        add_user(session, actor=admin, name="cora", role=Role.CURATOR, password=PASSWORD)
    kb.close()
    return demo_url


def test_wrong_password_keeps_the_dialog_open(qtbot, launcher, demo_with_users: str) -> None:
    def wrong_then_right(dialog: QWidget) -> None:
        assert isinstance(dialog, SignInDialog)
        sign_in("cora", "not-the-password")(dialog)
        assert dialog.isVisible()
        assert dialog.error.text() == "sign-in failed for cora: wrong user name or password"
        sign_in("cora", PASSWORD)(dialog)

    script = DialogScript([(SignInDialog, wrong_then_right)])
    window = launcher.start(demo_with_users, user="cora")
    script.check()
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    assert window.actor is not None and window.actor.name == "cora"


def test_cancelling_sign_in_opens_nothing(qtbot, launcher, demo_with_users: str) -> None:
    script = DialogScript([(SignInDialog, lambda dialog: dialog.reject())])  # type: ignore[attr-defined]
    assert launcher.start(demo_with_users) is None
    script.check()
    assert launcher.window is None


def test_switching_user_replaces_the_window(qtbot, launcher, demo_with_users: str) -> None:
    script = DialogScript([(SignInDialog, sign_in("cora", PASSWORD))])
    first = launcher.start(demo_with_users)
    script.check()
    assert isinstance(first, MainWindow)
    script = DialogScript([(SignInDialog, sign_in("admin", "demo-admin"))])
    first.act_switch_user.trigger()
    script.check()
    assert isinstance(launcher.window, MainWindow) and launcher.window is not first
    assert launcher.window.actor is not None and launcher.window.actor.name == "admin"
    assert not first.isVisible()


def test_main_returns_1_when_the_kb_cannot_open(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"\0" * 4096)
    script = DialogScript([(QMessageBox, press(QMessageBox.StandardButton.Ok))])
    assert main(["--db", str(path)]) == 1
    script.check()


def test_database_login_builds_the_url_and_shows_refusals(qtbot) -> None:
    attempts: list[str] = []

    def connect(url: str) -> object:
        attempts.append(url)
        raise KbError("cannot open the KB: password authentication failed for user cora")

    dialog = DatabaseLoginDialog("postgresql+psycopg://db.example.org:5433/kb", connect)
    qtbot.addWidget(dialog)
    dialog.name.setText("cora")
    dialog.password.setText("s3cret")
    emit(dialog.buttons.accepted)
    assert attempts == ["postgresql+psycopg://cora:s3cret@db.example.org:5433/kb"]
    assert dialog.error.text().endswith("password authentication failed for user cora")
    assert "db.example.org:5433/kb" in dialog.intro.text()
    # A URL is remembered without its password.
    assert without_password(attempts[0]) == "postgresql+psycopg://cora@db.example.org:5433/kb"


def test_database_login_against_a_closed_port(qtbot) -> None:
    dialog = DatabaseLoginDialog("postgresql+psycopg://127.0.0.1:9/kb", open_kb)
    qtbot.addWidget(dialog)
    dialog.name.setText("cora")
    dialog.password.setText("x")
    emit(dialog.buttons.accepted)
    assert dialog.error.text().startswith("cannot open the KB at")
    assert "x@" not in dialog.error.text()  # the password is never shown
