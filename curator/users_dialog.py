"""Admins add curators, reviewers and release managers (kb.review.users checks the right),
and pin their approval keys with the trust root's keys (kb.release.signers), as `kb keys
certify` does: until pinned, a user's signatures do not count towards a release.

`SCREEN` adds File ▸ Users…, enabled for admins (curator/extension.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from curator.extension import Host, Screen
from curator.icons import icon
from curator.theme import ERROR_COLOUR
from kb.errors import KbError
from kb.model.enums import Role
from kb.review.users import Actor, Permission, add_user, can, list_users
from kb.storage.db import Kb


class UsersDialog(QDialog):
    def __init__(self, kb: Kb, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.setWindowTitle("Users — KB Curator")
        self.setObjectName("users_dialog")
        self.setMinimumSize(520, 420)
        self.users = QTreeWidget()
        self.users.setObjectName("users")
        self.users.setHeaderLabels(["User", "Role", "Active", "Signs in with", "Approval key"])
        self.users.setRootIsDecorated(False)
        self.name = QLineEdit()
        self.name.setObjectName("new_name")
        self.role = QComboBox()
        self.role.setObjectName("new_role")
        for role in Role:
            self.role.addItem(role.value, role.value)
        self.password = QLineEdit()
        self.password.setObjectName("new_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(
            "at least 8 characters" if kb.is_sqlite else "empty: signs in by database login"
        )
        self.add_button = QPushButton("Add user")
        self.add_button.setObjectName("add_user")
        self.add_button.clicked.connect(self._add)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR};")
        box = QGroupBox("Add a user")
        form = QFormLayout(box)
        form.addRow("Name", self.name)
        form.addRow("Role", self.role)
        form.addRow("Password", self.password)
        form.addRow("", self.add_button)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.users, 1)
        layout.addWidget(box)
        layout.addWidget(self._build_certify())
        layout.addWidget(buttons)
        self.reload()

    def _build_certify(self) -> QGroupBox:
        self.root_path = QLineEdit()
        self.root_path.setObjectName("certify_root")
        self.root_path.setPlaceholderText("the trust root file (root.json)")
        self.root_key = QLineEdit()
        self.root_key.setObjectName("certify_key")
        self.root_key.setPlaceholderText("a private key file of that root")
        self.root_passphrase = QLineEdit()
        self.root_passphrase.setObjectName("certify_passphrase")
        self.root_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.certify_button = QPushButton("Pin every user's current key")
        self.certify_button.setObjectName("certify_keys")
        self.certify_button.setToolTip(
            "Sign each approval key with the trust root's key. Compare each key id with its "
            "owner first: the certificate is what makes their signatures count."
        )
        self.certify_button.clicked.connect(self._certify)
        self.certify_message = QLabel()
        self.certify_message.setObjectName("certify_message")
        self.certify_message.setWordWrap(True)
        box = QGroupBox("Pin approval keys")
        form = QFormLayout(box)
        form.addRow("Trust root", self.root_path)
        form.addRow("Root key", self.root_key)
        form.addRow("Passphrase", self.root_passphrase)
        form.addRow("", self.certify_button)
        form.addRow(self.certify_message)
        return box

    def _certify(self) -> None:
        from pathlib import Path

        from kb.release.signers import certify_signers
        from kb.release.signing import load_private_key, read_json_file

        secret = bytearray(self.root_passphrase.text().encode("utf-8"))
        self.root_passphrase.clear()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            root = read_json_file(Path(self.root_path.text().strip()).expanduser(), "trust root")
            key = load_private_key(Path(self.root_key.text().strip()).expanduser(), secret)  # type: ignore[arg-type]
            with self.kb.unit_of_work() as session:
                done = certify_signers(
                    session, actor=self.actor, root_envelope=root, signing_keys=[key]
                )
        except KbError as exc:
            self.certify_message.setStyleSheet(f"color: {ERROR_COLOUR};")
            self.certify_message.setText(str(exc))
            return
        finally:
            secret[:] = bytes(len(secret))
            QGuiApplication.restoreOverrideCursor()
        self.certify_message.setStyleSheet("")
        self.certify_message.setText(
            "Pinned: " + ", ".join(f"{user} ({kid[:12]}…)" for user, kid in done)
            if done
            else "No approval keys to pin yet."
        )
        self.reload()

    def reload(self) -> None:
        from kb.release.signers import list_signer_keys

        with self.kb.read() as session:
            users = list_users(session)
            keys: dict[str, str] = {}
            for row in list_signer_keys(session):
                if not row.retired:
                    state = "pinned" if row.certified else "not pinned"
                    keys.setdefault(row.user, f"{row.key_id[:12]}… {state}")
        self.users.clear()
        for user in users:
            self.users.addTopLevelItem(
                QTreeWidgetItem(
                    [
                        user.name,
                        user.role.value,
                        "yes" if user.active else "no",
                        "password" if user.local_password else "database login",
                        keys.get(user.name, "none yet"),
                    ]
                )
            )

    def _add(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            with self.kb.unit_of_work() as session:
                add_user(
                    session,
                    actor=self.actor,
                    name=self.name.text(),
                    role=Role(self.role.currentData()),
                    password=self.password.text() or None,
                )
        except KbError as exc:
            self.error.setText(str(exc))
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.error.clear()
        self.name.clear()
        self.password.clear()
        self.reload()


def install_users(host: Host) -> QAction:
    """Add File ▸ Users…, for admins to add accounts (disabled for everyone else)."""
    window = host.as_widget()
    actor = host.actor
    tip = "Add curators, reviewers and release managers (admins)"
    action = QAction(icon("users"), "Users…", window)
    action.setObjectName("users")
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.setEnabled(actor is not None and can(actor, Permission.ADMIN))
    if actor is not None:
        action.triggered.connect(lambda _checked=False: UsersDialog(host.kb, actor, window).exec())
    return host.add_action(action, menu="File", section="user")


SCREEN = Screen("users", install_users)
