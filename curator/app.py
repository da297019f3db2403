"""`kb-curator`: open a KB, sign in, and show the main window.

Start-up asks, in order: which database (the default SQLite file, `--db`, or a recent KB);
for PostgreSQL, the database login; for an empty KB, whether to build the demo; for a KB
without accounts, its first administrator; then who is signing in. Anything that goes wrong
is a dialog that says why — never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import html
import sys
import traceback
from collections.abc import Callable, Sequence
from types import TracebackType

from PySide6.QtCore import QEventLoop, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QWidget
from sqlalchemy.engine import make_url

from curator.icons import icon
from curator.settings import Settings
from curator.theme import ThemeManager
from curator.workers import CancelToken, TaskFailure, Workers
from kb.errors import KbError, SchemaError
from kb.review.users import list_users
from kb.storage.db import Kb, is_sqlite, open_kb, resolve_url
from kb.storage.meta import KbInfo, kb_info

APP_NAME = "KB Curator"


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "curator"


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> None:
    error_box(parent, title, message, details).exec()


def error_box(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("error_dialog")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(f"{title} — {APP_NAME}")
    box.setText(f"<b>{html.escape(title)}</b>")
    box.setInformativeText(html.escape(message[:1].upper() + message[1:]).replace("\n", "<br>"))
    # Message boxes size to their text; a reason with a path in it reads badly at 250 px.
    box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 380px; }")
    if details:
        box.setDetailedText(details)
    return box


def explain_open_error(exc: KbError, url: str) -> tuple[str, str]:
    """A title and a reason for a KB that would not open."""
    if isinstance(exc, SchemaError):
        return (
            "This KB is newer than this app",
            f"{exc}.\n\nThe KB at {safe_url(url)} was left untouched.",
        )
    return ("The KB could not be opened", str(exc))


def is_empty(info: KbInfo) -> bool:
    return info.version == 0 and not any(info.counts.values())


class Launcher(QObject):
    """Runs the start-up questions and owns the main window(s) it opens."""

    def __init__(
        self, settings: Settings, theme: ThemeManager | None, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.settings = settings
        self.theme = theme
        self.window: QWidget | None = None
        self.url: str | None = None
        self.workers = Workers(self)

    # --- steps --------------------------------------------------------------------------------

    def open(self, url: str) -> Kb | None:
        """Open (and migrate) the KB, asking for database credentials on PostgreSQL."""
        if not is_sqlite(url) and make_url(url).password is None:
            from curator.signin_dialog import DatabaseLoginDialog

            dialog = DatabaseLoginDialog(url, open_kb, self.window)
            if not dialog.exec():
                return None
            assert isinstance(dialog.result_value, Kb)
            return dialog.result_value
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return open_kb(url)
        except Exception as exc:
            QGuiApplication.restoreOverrideCursor()
            # kb wraps what it expects in KbError; anything else (a folder that cannot be
            # created, say) is still a reason to show, not a traceback.
            error = exc if isinstance(exc, KbError) else KbError(f"{safe_url(url)}: {exc}")
            title, message = explain_open_error(error, url)
            show_error(self.window, title, message)
            return None
        finally:
            if QGuiApplication.overrideCursor() is not None:
                QGuiApplication.restoreOverrideCursor()

    def offer_demo(self, kb: Kb) -> dict[str, str] | None:
        """Ask whether to fill an empty KB with the demo; build it off the UI thread. Returns
        the demo accounts made (name -> password), or None if there is no demo."""
        answer = QMessageBox.question(
            self.window,
            f"Empty KB — {APP_NAME}",
            "This KB is empty. Create the demo KB in it?\n\nThe demo holds real FDA-approved "
            "biomarker–therapy indications (assertions, thresholds, trials) to learn the app "
            "with; you can also start empty.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return self.build_demo(kb)

    def build_demo(self, kb: Kb) -> dict[str, str] | None:
        from kb.demo.loader import build_demo
        from kb.storage.meta import initialise

        def work(progress: Callable[[int, int], None], cancel: CancelToken) -> dict[str, str]:
            def step(done: int, total: int) -> None:
                cancel.check()  # cancelling rolls the whole unit of work back
                progress(done, total)

            with kb.unit_of_work() as session:
                initialise(session, name="Demo KB")
                # Built by its own team of accounts, as `kb init --demo` builds it.
                return build_demo(session, progress=step).accounts

        dialog = QProgressDialog("Creating the demo KB…", "Cancel", 0, 0, self.window)
        dialog.setObjectName("demo_progress")
        dialog.setWindowTitle(APP_NAME)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        dialog.setMinimumDuration(0)
        # Reaching the last record must not close the dialog: the commit comes after it.
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        outcome: dict[str, object] = {}
        task = self.workers.write("demo", work)

        def progressed(done: int, total: int) -> None:
            dialog.setMaximum(total)
            dialog.setValue(done)

        def finished(accounts: dict[str, str]) -> None:
            outcome["accounts"] = accounts
            dialog.accept()

        def failed(failure: TaskFailure) -> None:
            outcome["failure"] = failure
            dialog.reject()

        task.progressed.connect(progressed)
        task.finished.connect(finished)
        task.failed.connect(failed)
        task.cancelled.connect(dialog.reject)
        dialog.canceled.connect(task.cancel)
        if not task.is_done:
            dialog.exec()
        if not task.is_done:
            # Cancelled: wait for the worker to stop (it rolls back) before going on.
            loop = QEventLoop()
            task.done.connect(loop.quit)
            loop.exec()
        failure = outcome.get("failure")
        if isinstance(failure, TaskFailure):
            show_error(self.window, "The demo KB was not created", failure.message, failure.details)
        accounts = outcome.get("accounts")
        return dict(accounts) if isinstance(accounts, dict) else None

    def show_demo_accounts(self, accounts: dict[str, str]) -> None:
        from kb.demo.loader import DEMO_USERS

        roles = {name: role for name, role, _ in DEMO_USERS}
        rows = "".join(
            f"<tr><td><b>{name}</b>&nbsp;&nbsp;</td><td>{roles.get(name, '')}&nbsp;&nbsp;</td>"
            f"<td><code>{password}</code></td></tr>"
            for name, password in accounts.items()
        )
        box = QMessageBox(self.window)
        box.setObjectName("demo_accounts")
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(f"Demo KB ready — {APP_NAME}")
        box.setText("The demo KB is ready. Sign in with one of its sample accounts:")
        box.setInformativeText(
            f"<table>{rows}</table><p>Change these passwords before the KB holds real work.</p>"
        )
        box.exec()

    def sign_in(self, kb: Kb, url: str, *, user: str | None) -> object | None:
        """The signed-in actor, or None if the user gave up."""
        from kb.review.users import authenticate, list_users

        if not kb.is_sqlite:
            try:
                login = make_url(kb.url).username or ""
                with kb.read() as session:
                    return authenticate(session, name=login, password=None)
            except KbError as exc:
                show_error(self.window, "You cannot sign in to this KB", str(exc))
                return None
        from kb.demo.loader import demo_accounts

        with kb.read() as session:
            has_users = bool(list_users(session))
            demo = demo_accounts(session)
        name = user or self.settings.last_user(url) or ""
        if not has_users:
            created = self.first_account(kb)
            if created is None:
                return None
            name = created
        from curator.signin_dialog import SignInDialog
        from kb.review.users import Actor

        def attempt(name: str, password: str) -> Actor:
            with kb.read() as session:
                return authenticate(session, name=name, password=password)

        info_name = make_url(url).database or url
        dialog = SignInDialog(
            info_name.rsplit("/", 1)[-1], attempt, name=name, demo_accounts=demo, parent=self.window
        )
        if not dialog.exec():
            return None
        self.settings.set_last_user(url, dialog.name.text().strip())
        return dialog.actor

    def first_account(self, kb: Kb) -> str | None:
        """Create the first admin of a KB without accounts; returns whom to sign in as."""
        from curator.signin_dialog import FirstAccountDialog
        from kb.review.users import bootstrap_admin

        def create(name: str, password: str) -> object:
            with kb.unit_of_work() as session:
                return bootstrap_admin(session, name=name, password=password)

        dialog = FirstAccountDialog(create, name=os_user(), parent=self.window)
        if not dialog.exec():
            return None
        return dialog.name.text().strip()

    # --- the whole start ----------------------------------------------------------------

    def start(self, url: str | None = None, *, user: str | None = None) -> QWidget | None:
        """Open `url` (else the default KB) and show its main window; None if that failed or
        the user cancelled (the reason was shown)."""
        from curator.main_window import MainWindow

        resolved = resolve_url(url)
        kb = self.open(resolved)
        if kb is None:
            return None
        try:
            with kb.read() as session:
                info = kb_info(session)
                # The demo brings its own team of accounts: only a KB without users takes it.
                demo_fits = is_empty(info) and kb.is_sqlite and not list_users(session)
            if demo_fits:
                accounts = self.offer_demo(kb)
                if accounts is not None:
                    with kb.read() as session:
                        info = kb_info(session)
                if accounts:
                    self.show_demo_accounts(accounts)
                    user = user or "curator"
            actor = self.sign_in(kb, resolved, user=user)
        except KbError as exc:
            show_error(self.window, "The KB could not be read", str(exc))
            kb.close()
            return None
        if actor is None:
            kb.close()
            return None
        self.settings.add_recent_kb(resolved)
        from kb.review.users import Actor

        assert isinstance(actor, Actor)
        window = MainWindow(kb, actor, settings=self.settings, theme=self.theme, info=info)
        window.open_requested.connect(self.switch)
        window.switch_user_requested.connect(lambda: self.switch(resolved))
        window.show()
        self.window, self.url = window, resolved
        from curator.help_view import HelpUi

        window.installed(HelpUi).offer_tour()  # once per user
        return window

    def switch(self, url: str) -> None:
        """Open another KB (or the same as someone else); the old window closes on success."""
        from curator.main_window import MainWindow

        old = self.window
        if isinstance(old, MainWindow) and not old.record_pane.confirm_discard():
            return
        self.window = None
        new = self.start(url)
        if new is None:
            self.window = old
            return
        if old is not None:
            old.close()
            old.deleteLater()


def install_excepthook() -> None:
    """A bug in a slot shows a dialog with the details, instead of a traceback on stderr that
    a curator never sees."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(details)
        if QApplication.instance() is not None:
            show_error(
                QApplication.activeWindow(),
                "Something went wrong",
                f"{kind.__name__}: {value}\n\nYour saved work is safe in your draft.",
                details,
            )

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb-curator", description="KB Curator desktop app")
    parser.add_argument("--db", help="database URL or SQLite file (else $KB_DATABASE_URL)")
    parser.add_argument("--user", help="user name to sign in as")
    args = parser.parse_args(argv)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setWindowIcon(icon("app"))
    install_excepthook()
    settings = Settings()
    theme = ThemeManager(app, settings.theme())
    launcher = Launcher(settings, theme)
    if launcher.start(args.db, user=args.user) is None:
        return 1
    return int(app.exec())
