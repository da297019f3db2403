"""Release keys made in the app: a real encrypted key and a trust root that verifies."""

from __future__ import annotations

from pathlib import Path

from curator.keys_dialog import KeysDialog
from kb.release.signing import load_private_key, load_trust_root


def test_create_key_and_root(qtbot, tmp_path: Path) -> None:
    dialog = KeysDialog()
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "keys"))
    dialog.passphrase.setText("correct horse battery")
    dialog.repeat.setText("correct horse battery")
    assert dialog.create_key()
    names = {p.name for p in dialog.created}
    assert names == {"release-key.key", "release-key.pub", "root.json"}
    # The passphrase does not linger in the widgets.
    assert dialog.passphrase.text() == "" and dialog.repeat.text() == ""
    assert load_private_key(tmp_path / "keys" / "release-key.key", b"correct horse battery")
    root = load_trust_root(tmp_path / "keys" / "root.json")
    assert root.threshold == 1 and len(root.keys) == 1


def test_short_or_mismatched_passphrase_is_refused(qtbot, tmp_path: Path) -> None:
    dialog = KeysDialog()
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "keys"))
    dialog.passphrase.setText("short")
    dialog.repeat.setText("short")
    assert not dialog.create_key() and "at least" in dialog.message.text()
    dialog.passphrase.setText("a long enough passphrase")
    dialog.repeat.setText("a different passphrase!")
    assert not dialog.create_key() and "differ" in dialog.message.text()
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").iterdir())
