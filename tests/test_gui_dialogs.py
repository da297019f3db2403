"""Smaller dialogs: users (admins add accounts; kb refuses bad ones), open a KB, recent KBs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox

from curator.open_dialog import OpenKbDialog
from curator.settings import MAX_RECENT, Settings
from curator.users_dialog import UsersDialog
from kb.model.enums import Role
from kb.review.users import Actor, add_user, authenticate, bootstrap_admin
from kb.storage.db import Kb, open_kb

PASSWORD = "password1"


@pytest.fixture
def kb_with_admin(sqlite_url: str):  # type: ignore[no-untyped-def]
    kb = open_kb(sqlite_url)
    with kb.unit_of_work() as session:
        admin = bootstrap_admin(session, name="admin", password=PASSWORD)
        curator = add_user(session, actor=admin, name="cora", role=Role.CURATOR, password=PASSWORD)
    yield kb, admin, curator
    kb.close()


def _users(dialog: UsersDialog) -> dict[str, str]:
    table = dialog.users
    return {
        table.topLevelItem(i).text(0): table.topLevelItem(i).text(1)
        for i in range(table.topLevelItemCount())
    }


def test_an_admin_adds_a_reviewer(qtbot, kb_with_admin) -> None:
    kb, admin, _ = kb_with_admin
    dialog = UsersDialog(kb, admin)
    qtbot.addWidget(dialog)
    assert _users(dialog) == {"admin": "admin", "cora": "curator"}
    dialog.name.setText("rex")
    dialog.role.setCurrentIndex(dialog.role.findData(Role.REVIEWER.value))
    dialog.password.setText(PASSWORD)
    dialog.add_button.click()
    assert dialog.error.text() == ""
    assert _users(dialog)["rex"] == "reviewer"
    assert dialog.name.text() == "" and dialog.password.text() == ""
    with kb.read() as session:
        assert authenticate(session, name="rex", password=PASSWORD).role is Role.REVIEWER


def test_an_admin_pins_approval_keys_with_the_trust_root(
    qtbot, kb_with_admin, tmp_path: Path
) -> None:
    from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init

    kb, admin, _ = kb_with_admin
    files = generate_keypair(tmp_path, name="root", passphrase=b"root passphrase")
    root = tmp_path / "root.json"
    key = load_private_key(files.private_path, b"root passphrase")
    save_json_file(trust_init([files.public_path], 1, [key]), root)
    dialog = UsersDialog(kb, admin)
    qtbot.addWidget(dialog)
    keys = {
        dialog.users.topLevelItem(i).text(0): dialog.users.topLevelItem(i).text(4)
        for i in range(dialog.users.topLevelItemCount())
    }
    assert keys["cora"].endswith("… not pinned")  # made at enrolment
    dialog.root_path.setText(str(root))
    dialog.root_key.setText(str(files.private_path))
    dialog.root_passphrase.setText("wrong passphrase")
    dialog.certify_button.click()
    assert "wrong passphrase" in dialog.certify_message.text()
    dialog.root_passphrase.setText("root passphrase")
    dialog.certify_button.click()
    assert dialog.certify_message.text().startswith("Pinned: admin (")
    assert dialog.root_passphrase.text() == ""
    assert dialog.users.topLevelItem(1).text(4).endswith("… pinned")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("cora", PASSWORD, "user cora already exists"),
        ("newbie", "short", "a password needs at least 8 characters"),
        ("newbie", "", "user newbie needs a password (SQLite KBs use local accounts)"),
        ("", PASSWORD, "a user name needs 1 to 128 characters"),
    ],
)
def test_kb_refuses_bad_accounts(qtbot, kb_with_admin, name, password, message) -> None:
    kb, admin, _ = kb_with_admin
    dialog = UsersDialog(kb, admin)
    qtbot.addWidget(dialog)
    dialog.name.setText(name)
    dialog.password.setText(password)
    dialog.add_button.click()
    assert dialog.error.text() == message
    assert set(_users(dialog)) == {"admin", "cora"}


def test_only_admins_add_users(qtbot, kb_with_admin) -> None:
    kb, _, curator = kb_with_admin
    assert isinstance(curator, Actor)
    dialog = UsersDialog(kb, curator)
    qtbot.addWidget(dialog)
    dialog.name.setText("sneaky")
    dialog.password.setText(PASSWORD)
    dialog.add_button.click()
    assert dialog.error.text() == "cora is a curator; only admins may admin"
    assert isinstance(kb, Kb)


def test_open_dialog_offers_recent_kbs(qtbot, tmp_path: Path) -> None:
    dialog = OpenKbDialog(["sqlite:////a/kb.sqlite", "postgresql+psycopg://db/kb"])
    qtbot.addWidget(dialog)
    open_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Open)
    assert not open_button.isEnabled()
    dialog.recent.setCurrentRow(1)
    assert dialog.url() == "postgresql+psycopg://db/kb"
    assert open_button.isEnabled()
    dialog.location.setText(str(tmp_path / "new.sqlite"))
    with qtbot.waitSignal(dialog.accepted):
        open_button.click()
    assert dialog.url().endswith("new.sqlite")


def test_recent_kbs_are_few_newest_first_and_without_passwords(tmp_path: Path) -> None:
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    for number in range(MAX_RECENT + 3):
        settings.add_recent_kb(f"sqlite:////kb{number}.sqlite")
    settings.add_recent_kb("postgresql+psycopg://cora:s3cret@db/kb")
    recent = settings.recent_kbs()
    assert len(recent) == MAX_RECENT
    assert recent[0] == "postgresql+psycopg://cora@db/kb"
    assert recent[1] == f"sqlite:////kb{MAX_RECENT + 2}.sqlite"
    settings.add_recent_kb(f"sqlite:////kb{MAX_RECENT + 1}.sqlite")
    assert settings.recent_kbs()[0] == f"sqlite:////kb{MAX_RECENT + 1}.sqlite"
    assert len(settings.recent_kbs()) == MAX_RECENT
