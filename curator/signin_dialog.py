"""Sign-in dialogs: a local account (SQLite), database credentials (PostgreSQL), and the first
account of a new KB. kb decides who may sign in; these only ask and show kb's answer.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import make_url

from curator.icons import icon
from curator.theme import ERROR_COLOUR
from kb.errors import KbError


class _AskDialog(QDialog):
    """A form whose OK runs `attempt`; a KbError keeps the dialog open and shows why."""

    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowIcon(icon("app"))
        self.setMinimumWidth(420)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _line(self, label: str, name: str, *, password: bool = False) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        if password:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def attempt(self) -> None:
        raise NotImplementedError

    def _try(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.attempt()
        except KbError as exc:
            self.show_error(str(exc))
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.accept()


class SignInDialog(_AskDialog):
    """Local account sign-in. `authenticate(name, password)` returns the actor or raises."""

    def __init__(
        self,
        kb_label: str,
        authenticate: Callable[[str, str], object],
        *,
        name: str = "",
        demo_accounts: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        intro = f"Sign in to <b>{kb_label}</b>."
        if demo_accounts:
            # The demo's passwords are public (kb/demo/loader.py): say so, and where they are.
            pairs = ", ".join(
                f"<code>{html.escape(n)}</code> / <code>{html.escape(p)}</code>"
                for n, p in demo_accounts.items()
            )
            intro += (
                "<p>This is the <b>demo KB</b>. Its accounts, one per role, have public "
                f"passwords: {pairs}. They are listed in README.md and printed by "
                "<code>kb init --demo</code>.</p>"
            )
        super().__init__("Sign in — KB Curator", intro, parent)
        self.intro.setObjectName("signin_intro")
        self._authenticate = authenticate
        self.name = self._line("User name", "name")
        self.password = self._line("Password", "password", password=True)
        self.name.setText(name)
        self.actor: object | None = None
        (self.password if name else self.name).setFocus()

    def attempt(self) -> None:
        if not self.name.text().strip():
            raise KbError("enter your user name")
        self.actor = self._authenticate(self.name.text().strip(), self.password.text())


class DatabaseLoginDialog(_AskDialog):
    """PostgreSQL: the database login is the user. `connect(url)` opens the KB or raises."""

    def __init__(
        self, url: str, connect: Callable[[str], object], parent: QWidget | None = None
    ) -> None:
        parsed = make_url(url)
        where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        super().__init__(
            "Sign in — KB Curator",
            f"Sign in to the shared KB at <b>{where}</b> with your database login.",
            parent,
        )
        self._url = url
        self._connect = connect
        self.name = self._line("Database user", "name")
        self.password = self._line("Password", "password", password=True)
        self.name.setText(parsed.username or "")
        (self.password if parsed.username else self.name).setFocus()
        self.result_value: object | None = None

    def url_with_credentials(self) -> str:
        parsed = make_url(self._url).set(
            username=self.name.text().strip() or None, password=self.password.text() or None
        )
        return parsed.render_as_string(hide_password=False)

    def attempt(self) -> None:
        if not self.name.text().strip():
            raise KbError("enter your database user name")
        self.result_value = self._connect(self.url_with_credentials())


class FirstAccountDialog(_AskDialog):
    """A KB without users: create its first administrator."""

    def __init__(
        self,
        create: Callable[[str, str], object],
        *,
        name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Create the first account — KB Curator",
            "This KB has no accounts yet. Create its first <b>administrator</b>; the "
            "administrator adds curators, reviewers and release managers.",
            parent,
        )
        self._create = create
        self.name = self._line("User name", "name")
        self.password = self._line("Password", "password", password=True)
        self.confirm = self._line("Repeat password", "confirm", password=True)
        self.name.setText(name)
        self.actor: object | None = None

    def attempt(self) -> None:
        if not self.name.text().strip():
            raise KbError("enter a user name")
        if self.password.text() != self.confirm.text():
            raise KbError("the two passwords differ")
        self.actor = self._create(self.name.text().strip(), self.password.text())
