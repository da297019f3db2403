"""Release keys from the app: an Ed25519 key pair (the private key encrypted with a passphrase,
never stored in the KB) and, for a first release, a trust root signed by it.

A team with stricter needs makes keys and roots with `kb keys generate` / `kb trust init`
(several keys, a threshold of two or more); this dialog covers the common start: one release
manager, one key, a root that consumers pin.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from curator.extension import Host, Screen
from kb.errors import KbError
from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init

MIN_PASSPHRASE = 12


class KeysDialog(QDialog):
    """Create a signing key (and optionally a trust root) in a folder the user picks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create a release signing key")
        self.setObjectName("keys_dialog")
        self.folder = QLineEdit(str(Path.home() / "kb-keys"))
        self.folder.setObjectName("keys_folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        self.name = QLineEdit("release-key")
        self.name.setObjectName("key_name")
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("key_passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("key_passphrase_repeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.with_root = QCheckBox("Also write a trust root signed by this key (root.json)")
        self.with_root.setChecked(True)
        self.message = QLabel()
        self.message.setObjectName("keys_message")
        self.message.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("Key name", self.name)
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Repeat", self.repeat)
        form.addRow(self.with_root)
        form.addRow(
            QLabel(
                "The private key is written encrypted with this passphrase and never stored in "
                "the KB; you will type the passphrase each time you sign a release."
            )
        )
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.create_key)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.created: list[Path] = []

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for the key", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def create_key(self) -> bool:
        """Write the key (and root); show what was written or why not. True on success."""
        passphrase = self.passphrase.text()
        try:
            if len(passphrase) < MIN_PASSPHRASE:
                raise KbError(f"use a passphrase of at least {MIN_PASSPHRASE} characters")
            if passphrase != self.repeat.text():
                raise KbError("the two passphrases differ")
            folder = Path(self.folder.text()).expanduser()
            name = self.name.text().strip() or "release-key"
            files = generate_keypair(folder, name=name, passphrase=passphrase.encode())
            written = [files.private_path, files.public_path]
            if self.with_root.isChecked():
                key = load_private_key(files.private_path, passphrase.encode())
                root = trust_init([files.public_path], 1, [key])
                root_path = folder / "root.json"
                save_json_file(root, root_path)
                written.append(root_path)
        except (KbError, OSError) as exc:
            self.message.setStyleSheet("color: #b3261e;")
            self.message.setText(str(exc))
            return False
        finally:
            # The passphrase leaves the widgets as soon as it has been used.
            self.passphrase.clear()
            self.repeat.clear()
        self.created = written
        self.message.setStyleSheet("")
        self.message.setText(
            f"Key {files.key_id[:16]}… written:\n" + "\n".join(str(p) for p in written)
        )
        return True


def install_keys_tool(host: Host) -> QAction:
    """Add Release ▸ Create signing key… (next to cutting a release)."""
    window = host.as_widget()
    action = QAction("Create signing key…", window)
    action.setObjectName("create_signing_key")
    action.setToolTip("Make an encrypted Ed25519 key pair and a trust root for releases")

    def open_dialog() -> None:
        dialog = KeysDialog(window)
        dialog.open()

    action.triggered.connect(lambda _checked=False: open_dialog())
    return host.add_action(action, menu="Release")


SCREEN = Screen("keys", install_keys_tool)
