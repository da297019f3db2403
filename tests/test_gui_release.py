"""The release dialog and the Releases page: who may cut a release, what blocks a version, the
changes since the last release, passphrases (wrong, cleared), refused version names, the build
off the UI thread with cancel, and the verification shown afterwards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLineEdit

from curator import release_dialog, releases_view
from curator.main_window import MainWindow
from curator.release_dialog import ReleaseDialog, Verification, VersionsModel
from curator.releases_view import ReleasesModel, ReleaseUi
from curator.settings import Settings
from kb.model.enums import ApprovalMeaning, Role
from kb.release.cutting import create_release, list_releases
from kb.release.folder import verify_release
from kb.release.signers import certify_signers
from kb.release.signing import (
    generate_keypair,
    load_private_key,
    read_json_file,
    save_json_file,
    trust_init,
)
from kb.review.changes import approve_change_set, open_draft, submit_change_set
from kb.review.users import Actor, add_user
from kb.review.versions import approve_version, list_approvals
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

PASSWORD = "password1"
PASSPHRASES = {"key-one": "first passphrase", "key-two": "second passphrase"}
TODAY = dt.date(2026, 10, 5)


@dataclass(frozen=True)
class Team:
    admin: Actor
    cora: Actor
    rex: Actor
    rm: Actor


@dataclass(frozen=True)
class Keys:
    root: Path  # threshold 1 over key-one
    root_two: Path  # threshold 2 over key-one and key-two
    one: Path
    two: Path


@pytest.fixture
def kb(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def team(kb: Kb) -> Team:
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        people = {
            name: add_user(session, actor=admin, name=name, role=role, password=PASSWORD)
            for name, role in (
                ("cora", Role.CURATOR),
                ("rex", Role.REVIEWER),
                ("rm", Role.RELEASE_MANAGER),
            )
        }
    return Team(admin=admin, **people)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    folder = tmp_path / "keys"
    files = {
        name: generate_keypair(folder, name=name, passphrase=secret.encode())
        for name, secret in PASSPHRASES.items()
    }
    private = {
        name: load_private_key(files[name].private_path, PASSPHRASES[name].encode())
        for name in files
    }
    root = tmp_path / "root.json"
    save_json_file(trust_init([files["key-one"].public_path], 1, [private["key-one"]]), root)
    root_two = tmp_path / "root-two.json"
    save_json_file(
        trust_init(
            [files["key-one"].public_path, files["key-two"].public_path],
            2,
            [private["key-one"], private["key-two"]],
        ),
        root_two,
    )
    return Keys(root, root_two, files["key-one"].private_path, files["key-two"].private_path)


@dataclass(frozen=True)
class Env:
    kb: Kb
    team: Team
    keys: Keys
    out: Path  # where the dialog writes releases
    tmp: Path


@pytest.fixture
def env(kb: Kb, team: Team, keys: Keys, tmp_path: Path) -> Env:
    # The admin pins everyone's approval key with both root keys: valid under either root.
    private = [
        load_private_key(path, PASSPHRASES[name].encode())
        for name, path in (("key-one", keys.one), ("key-two", keys.two))
    ]
    with kb.unit_of_work() as session:
        certify_signers(
            session,
            actor=team.admin,
            root_envelope=read_json_file(keys.root_two, "trust root"),
            signing_keys=private,
        )
    return Env(kb, team, keys, tmp_path / "out", tmp_path)


def approve_version_1(env: Env) -> None:
    with env.kb.unit_of_work() as session:
        approve_version(
            session, actor=env.team.rex, version=1, meaning=ApprovalMeaning.APPROVED,
            reason="checked", password=PASSWORD,
        )  # fmt: skip


def cut_with_kb(env: Env, version: str, out: Path) -> None:
    """A release cut outside the dialog (by the CLI, or another release manager)."""
    key = load_private_key(env.keys.one, PASSPHRASES["key-one"].encode())
    with env.kb.unit_of_work() as session:
        create_release(
            session,
            actor=env.team.rm,
            version=version,
            root_envelope=read_json_file(env.keys.root, "trust root"),
            signing_keys=[key],
            out_dir=out,
            password=PASSWORD,
        )


def release_version_1(env: Env) -> None:
    approve_version_1(env)
    cut_with_kb(env, "2026.10.0", env.tmp / "earlier")


def merge_version_2(env: Env, *, approve: bool = True) -> None:
    """Version 2: the PD-L1 TPS threshold 50 → 60 and an osimertinib assertion's level 1 → 2."""
    kb, team = env.kb, env.team
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=team.cora, title="TPS and a level")
        editor.update("TH-00002", {"value": "60"})
        editor.update("AS-00004", {"evidence_level": "2"})
        change_set = editor.human_id
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=team.cora, change_set_id=change_set)
    with kb.unit_of_work() as session:
        approve_change_set(session, actor=team.rex, change_set_id=change_set)
    if approve:
        with kb.unit_of_work() as session:
            approve_version(
                session,
                actor=team.rex,
                version=2,
                meaning=ApprovalMeaning.APPROVED,
                reason="ok",
                password=PASSWORD,
            )


@pytest.fixture
def make_dialog(qtbot, kb: Kb) -> Iterator[Callable[..., ReleaseDialog]]:  # type: ignore[no-untyped-def]
    made: list[ReleaseDialog] = []

    def make(actor: Actor | None) -> ReleaseDialog:
        dialog = ReleaseDialog(kb, actor, today=TODAY)
        qtbot.addWidget(dialog)
        made.append(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.check is not None, timeout=10_000)
        return dialog

    yield make
    for dialog in made:
        dialog.workers.wait()


def fill(dialog: ReleaseDialog, env: Env, *, passphrase: str | None = None) -> None:
    dialog.root_edit.setText(str(env.keys.root))
    row = dialog.add_key(env.keys.one)
    row.passphrase.setText(PASSPHRASES["key-one"] if passphrase is None else passphrase)
    dialog.out_edit.setText(str(env.out))
    dialog.password_edit.setText(PASSWORD)


def changes_shown(dialog: ReleaseDialog) -> dict[str, str]:
    tree = dialog.changes
    return {
        tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(1)
        for i in range(tree.topLevelItemCount())
    }


def releases_in(env: Env) -> list[str]:
    with env.kb.read() as session:
        return [release.version for release in list_releases(session)]


@pytest.fixture
def make_window(qtbot, kb: Kb, tmp_path: Path) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))

    def make(actor: Actor | None) -> MainWindow:
        window = MainWindow(kb, actor, settings=settings, start_view="assertion", owns_kb=False)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        return window

    yield make
    for window in made:
        window.workers.wait()


# --- who may ------------------------------------------------------------------------------------


def test_only_a_release_manager_may_cut_a_release(qtbot, make_window, team: Team) -> None:
    curator = make_window(team.cora)
    action = curator.installed(ReleaseUi).cut_action
    assert not action.isEnabled()
    assert action.toolTip() == "Cora is a curator; only release managers may release"
    assert curator.installed(ReleaseUi).open_dialog() is None
    menu = curator.installed(ReleaseUi).menu
    assert menu.title() == "&Release" and action in menu.actions()
    titles = [a.text() for a in curator.menuBar().actions()]
    assert titles.index("&Release") < titles.index("&Help")
    # The Releases page is open to everyone; its "Cut a release" follows the action.
    releases = curator.navigator.items["releases"]
    assert releases.flags() & Qt.ItemFlag.ItemIsEnabled
    curator.show_view("releases")
    assert curator.pages.currentWidget() is curator.installed(ReleaseUi).page
    assert not curator.act_new.isEnabled()  # no record type on this page
    reader = make_window(None)
    assert not reader.installed(ReleaseUi).cut_action.isEnabled()
    assert (
        reader.installed(ReleaseUi).cut_action.toolTip().startswith("Sign in as a release manager")
    )
    manager = make_window(team.rm)
    assert manager.installed(ReleaseUi).cut_action.isEnabled()
    manager.installed(ReleaseUi).cut_action.trigger()
    dialog = manager.installed(ReleaseUi).dialog
    assert isinstance(dialog, ReleaseDialog) and dialog.isVisible()
    assert dialog.isModal()  # window-modal, opened without blocking the event loop
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=10_000)
    dialog.close()
    qtbot.waitUntil(lambda: manager.installed(ReleaseUi).dialog is None, timeout=5000)


def test_the_dialog_itself_refuses_someone_else(make_dialog, team: Team) -> None:
    dialog = make_dialog(team.rex)
    assert dialog.banner.isVisibleTo(dialog)
    assert dialog.banner.text() == (
        "You cannot cut a release: rex is a reviewer; only release managers may release."
    )
    assert not dialog.cut_button.isEnabled()


# --- what the release manager sees ----------------------------------------------------------


def test_versions_approvals_and_changes_since_the_last_release(
    qtbot, qtmodeltester, make_dialog, env: Env
) -> None:
    release_version_1(env)
    merge_version_2(env)
    dialog = make_dialog(env.team.rm)
    qtmodeltester.check(dialog.versions_model)
    model = dialog.versions_model
    assert model.rowCount() == 2
    assert [model.index(r, 0).data() for r in range(2)] == ["2", "1"]  # newest first
    # The demo reviewer signed the demo off as shipped; rex and rm came after.
    assert model.index(1, 4).data() == "approved by reviewer; approved by rex; released by rm"
    assert model.index(1, 5).data() == "2026.10.0"
    assert "— checked" in model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole)
    assert dialog.selected_version() == 2  # the newest signed-off version is chosen
    assert "Version 2 can be released" in dialog.status.text()
    assert "signed off by rex" in dialog.status.text()
    approvals = dialog.approvals
    assert approvals.topLevelItemCount() == 1
    first = approvals.topLevelItem(0)
    assert [first.text(c) for c in (0, 1, 2)] == ["rex (reviewer)", "approved", "valid"]
    assert dialog.changes_heading.text().startswith("<b>Changes since release 2026.10.0</b>")
    assert changes_shown(dialog) == {"Levels demoted": "1", "Thresholds changed": "1"}
    level = dialog.changes.topLevelItem(0).child(0)
    assert (level.text(0), level.text(1)) == ("AS-00004", "1 → 2")
    threshold = dialog.changes.topLevelItem(1).child(0)
    assert (threshold.text(0), threshold.text(1)) == (
        "TH-00002",
        "PDL1_TPS >= 50% → PDL1_TPS >= 60%",
    )
    # The version name suggested is this month's first free one.
    assert dialog.version_edit.text() == "2026.10.1"
    # Version 1 again: released already, so no changes since.
    with qtbot.waitSignal(dialog.checked, timeout=10_000):
        dialog.select_version(1)
    assert changes_shown(dialog) == {"No changes": "0"}


def test_a_first_release_lists_what_it_carries(make_dialog, env: Env) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    assert dialog.changes_heading.text().startswith("<b>First release of this KB</b>")
    counts = changes_shown(dialog)
    assert counts["assertion"] == "103" and counts["threshold"] == "10"
    assert dialog.version_edit.text() == "2026.10.0"


def test_an_unapproved_version_is_blocked_with_the_reason(qtbot, make_dialog, env: Env) -> None:
    merge_version_2(env, approve=False)
    dialog = make_dialog(env.team.rm)
    # Only the demo's version 1 is signed off, so it is chosen; version 2 shows kb's reason.
    assert dialog.selected_version() == 1
    with qtbot.waitSignal(dialog.checked, timeout=10_000):
        dialog.select_version(2)
    assert dialog.selected_version() == 2
    assert "Version 2 cannot be released" in dialog.status.text()
    assert "version 2 has no valid approval" in dialog.status.text()
    assert dialog.approvals.topLevelItem(0).text(0) == "No approval yet"
    fill(dialog, env)
    assert not dialog.cut_button.isEnabled()
    assert dialog.cut_button.toolTip().startswith("Version 2 has no valid approval")
    tip = dialog.versions_model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "No approval yet: a reviewer signs the version off first"


def test_release_version_names_are_checked_while_typing(make_dialog, env: Env) -> None:
    release_version_1(env)
    merge_version_2(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    assert dialog.cut_button.isEnabled()
    dialog.version_edit.setText("2026.10.0")
    assert dialog.version_message.isVisibleTo(dialog)
    assert dialog.version_message.text() == (
        "release 2026.10.0 already exists; releases are never rebuilt in place"
    )
    assert not dialog.cut_button.isEnabled()
    dialog.version_edit.setText("2026.11")
    assert dialog.version_message.text() == "'2026.11' is not like 2026.11.0 (three numbers)"
    assert not dialog.cut_button.isEnabled()
    dialog.version_edit.setText("2026.11.0")
    assert not dialog.version_message.isVisibleTo(dialog)
    assert dialog.cut_button.isEnabled()


def test_kb_refuses_a_name_taken_meanwhile(qtbot, make_dialog, env: Env) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    dialog.version_edit.setText("2026.10.0")
    # Someone else cuts 2026.10.0 after the dialog read the releases: kb still refuses.
    cut_with_kb(env, "2026.10.0", env.tmp / "elsewhere")
    with qtbot.waitSignal(dialog.failed, timeout=10_000):
        dialog.cut_button.click()
    assert dialog.error.isVisibleTo(dialog)
    assert dialog.error.text() == (
        "release 2026.10.0 already exists; releases are never rebuilt in place"
    )
    assert dialog.stage.text() == "Not released: nothing was written."
    assert not env.out.exists()


# --- passphrases ---------------------------------------------------------------------------


def test_a_wrong_passphrase_is_shown_beside_its_key_and_nothing_is_written(
    qtbot, make_dialog, env: Env
) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env, passphrase="not the passphrase")
    row = dialog.key_rows[0]
    assert row.passphrase.echoMode() == QLineEdit.EchoMode.Password
    with qtbot.waitSignal(dialog.failed, timeout=10_000):
        dialog.cut_button.click()
        assert row.passphrase.text() == ""  # taken from the field as the build starts
    assert row.message.isVisibleTo(dialog)
    assert row.message.text() == f"wrong passphrase for {env.keys.one}"
    assert not dialog.error.isVisibleTo(dialog)
    assert row.passphrase.text() == ""
    assert not dialog.cut_button.isEnabled()
    assert dialog.cut_button.toolTip() == "Enter the passphrase for key-one.key"
    assert not env.out.exists()
    assert releases_in(env) == []
    with env.kb.read() as session:
        # The demo's and rex's sign-offs, and no "released".
        assert [a.meaning for a in list_approvals(session, 1)] == ["approved", "approved"]
    # Typing again clears the message.
    row.passphrase.setText("x")
    assert not row.message.isVisibleTo(dialog)


def test_a_missing_trust_root_is_shown_beside_it(qtbot, make_dialog, env: Env) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    missing = env.tmp / "no-such-root.json"
    dialog.root_edit.setText(str(missing))
    with qtbot.waitSignal(dialog.failed, timeout=10_000):
        dialog.cut_button.click()
    assert dialog.root_message.isVisibleTo(dialog)
    assert dialog.root_message.text() == f"{missing}: no such trust root file"
    assert dialog.key_rows[0].passphrase.text() == ""  # cleared whatever went wrong


def test_passphrases_are_wiped_after_use(env: Env) -> None:
    from curator.workers import CancelToken

    approve_version_1(env)
    request = release_dialog.ReleaseRequest(
        env.team.rm, 1, "2026.10.0", env.keys.root, (env.keys.one, env.keys.two), env.out, "ok"
    )
    secrets = [bytearray(b"first passphrase"), bytearray(b"wrong")]
    password = bytearray(PASSWORD.encode())
    with pytest.raises(release_dialog.KeyFileError) as caught:
        release_dialog.cut_release(
            env.kb, request, secrets, lambda d, t: None, CancelToken(), password=password
        )
    assert caught.value.field == "key:1"
    assert all(not any(secret) for secret in secrets)  # every byte overwritten with zero
    # The release manager's password is wiped once it has unlocked their signing key.
    request = release_dialog.ReleaseRequest(
        env.team.rm, 1, "2026.10.0", env.keys.root, (env.keys.one,), env.out, "ok"
    )
    secrets = [bytearray(b"first passphrase")]
    release_dialog.cut_release(
        env.kb, request, secrets, lambda d, t: None, CancelToken(), password=password
    )
    assert not any(password) and not any(secrets[0])
    assert releases_in(env) == ["2026.10.0"]


# --- building, cancelling, verifying ---------------------------------------------------------


def test_cut_sign_with_two_keys_and_verify(
    qtbot, make_dialog, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_version_1(env)
    merge_version_2(env)
    dialog = make_dialog(env.team.rm)
    dialog.root_edit.setText(str(env.keys.root_two))
    for name, path in (("key-one", env.keys.one), ("key-two", env.keys.two)):
        dialog.add_key(path).passphrase.setText(PASSPHRASES[name])
    dialog.out_edit.setText(str(env.out))
    dialog.version_edit.setText("2026.11.0")
    dialog.password_edit.setText(PASSWORD)
    progress: list[tuple[int, int]] = []
    with qtbot.waitSignal(dialog.verified, timeout=30_000) as verified:
        dialog.cut_button.click()
        assert dialog.progress.isVisibleTo(dialog) and dialog.cancel_button.isVisibleTo(dialog)
        assert not dialog.close_button.isEnabled() and not dialog.cut_button.isEnabled()
        assert dialog.task is not None
        dialog.task.progressed.connect(lambda done, total: progress.append((done, total)))
    result = verified.args[0]
    assert isinstance(result, Verification) and result.ok
    assert (result.signers, result.version, result.sequence) == (2, "2026.11.0", 2)
    assert progress and progress[-1] == (8, 8)
    assert "✔ Verified" in dialog.result_label.text()
    assert "2 trusted signature(s)" in dialog.result_label.text()
    assert dialog.stage.text() == "Release 2026.11.0 is written, signed and verified."
    assert all(row.passphrase.text() == "" for row in dialog.key_rows)
    assert not dialog.progress.isVisibleTo(dialog)
    assert dialog.close_button.isEnabled() and not dialog.cut_button.isEnabled()
    # The folder verifies for a consumer too, and is the one registered.
    assert dialog.outcome is not None
    folder = dialog.outcome.created.path
    assert folder.parent == env.out
    root = read_json_file(env.keys.root_two, "trust root")
    assert verify_release(folder, trusted_root=root).version == "2026.11.0"
    assert releases_in(env) == ["2026.10.0", "2026.11.0"]
    opened: list[Path] = []
    monkeypatch.setattr(release_dialog, "open_folder", lambda path: opened.append(path) or True)
    assert dialog.open_button.isEnabled()
    dialog.open_button.click()
    assert opened == [folder]


def test_a_release_that_fails_verification_says_so(
    qtbot, make_dialog, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    approve_version_1(env)
    real = release_dialog.verify_folder

    def tampered(path: Path, root: dict, progress):  # type: ignore[no-untyped-def]
        # Something changes a payload file between writing and verifying.
        with (path / "payload" / "kb.json").open("ab") as handle:
            handle.write(b" ")
        return real(path, root, progress)

    monkeypatch.setattr(release_dialog, "verify_folder", tampered)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    with qtbot.waitSignal(dialog.verified, timeout=30_000) as verified:
        dialog.cut_button.click()
    assert not verified.args[0].ok
    assert verified.args[0].reason_code == "payload_changed"
    assert "✘ NOT verified" in dialog.result_label.text()
    assert "(payload_changed)" in dialog.result_label.text()
    assert dialog.stage.text() == "The release was written but does not verify: do not publish it."


def test_cancel_stops_the_build_and_writes_nothing(qtbot, make_dialog, env: Env) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    dialog.cut_button.click()
    assert dialog.task is not None
    with qtbot.waitSignal(dialog.task.cancelled, timeout=30_000):
        dialog.cancel_button.click()
    assert dialog.stage.text() == "Cancelled: nothing was written."
    assert dialog.task is None and not dialog.progress.isVisibleTo(dialog)
    assert not env.out.exists() or not any(env.out.iterdir())
    assert releases_in(env) == []
    # The dialog is ready to try again (with the passphrase and password typed again).
    dialog.key_rows[0].passphrase.setText(PASSPHRASES["key-one"])
    dialog.password_edit.setText(PASSWORD)
    assert dialog.cut_button.isEnabled()


def test_closing_mid_build_cancels_first(qtbot, make_dialog, env: Env) -> None:
    approve_version_1(env)
    dialog = make_dialog(env.team.rm)
    fill(dialog, env)
    dialog.cut_button.click()
    dialog.reject()
    assert dialog.isVisible()  # stays until the worker has cleaned up
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=30_000)
    assert releases_in(env) == []


# --- the Releases page --------------------------------------------------------------------


def test_the_releases_page_lists_and_verifies(
    qtbot, qtmodeltester, make_window, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_version_1(env)
    window = make_window(env.team.rm)
    page = window.installed(ReleaseUi).page
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window.navigator.setCurrentItem(window.navigator.items["releases"])
    assert window.current_key == "releases" and window.pages.currentWidget() is page
    assert window.navigator.items["releases"].text(1) == "1"
    qtmodeltester.check(page.model)
    assert isinstance(page.model, ReleasesModel)
    shown = [page.model.index(0, column).data() for column in (0, 1, 2, 4)]
    assert shown == ["1", "2026.10.0", "1", "rm"]
    assert page.count_label.text() == "1 release"
    assert page.selected() is not None and page.verify_action.isEnabled()
    with qtbot.waitSignal(page.verified, timeout=10_000) as good:
        page.verify_selected(env.keys.root)
    assert good.args[0].ok and "✔ Verified" in page.result_label.text()
    # Against a root that does not hold its key: refused, with kb's reason code.
    with qtbot.waitSignal(page.verified, timeout=10_000) as bad:
        page.verify_selected(env.keys.root_two)
    assert not bad.args[0].ok
    assert f"({bad.args[0].reason_code})" in page.result_label.text()
    opened: list[Path] = []
    monkeypatch.setattr(releases_view, "open_folder", lambda path: opened.append(path) or True)
    page.open_action.trigger()
    assert opened and opened[0].name.startswith("kb-release-")
    # Back to a record type from the navigator.
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="gene".__eq__):
        window.navigator.setCurrentItem(window.navigator.items["gene"])
    assert window.pages.currentWidget() is window.records


def test_an_empty_releases_page_says_how_to_start(
    qtbot, qtmodeltester, make_window, team: Team
) -> None:
    window = make_window(team.cora)
    page = window.installed(ReleaseUi).page
    qtbot.waitUntil(lambda: page.count_label.text() != "Reading releases…", timeout=10_000)
    assert page.count_label.text().startswith("No release yet")
    qtmodeltester.check(page.model)
    assert not page.verify_action.isEnabled()


def test_versions_model_contract(qtmodeltester, env: Env) -> None:
    from curator.release_dialog import load_release_choices

    approve_version_1(env)
    merge_version_2(env, approve=False)
    model = VersionsModel()
    qtmodeltester.check(model)
    with env.kb.read() as session:
        model.set_choices(load_release_choices(session))
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.row_of(1) == 1 and model.row_of(9) is None


# --- a reviewer's sign-off ------------------------------------------------------------------------


def test_a_reviewer_signs_a_version_off(qtbot, make_window, env: Env) -> None:
    merge_version_2(env, approve=False)
    window = make_window(env.team.rex)
    ui = window.installed(ReleaseUi)
    assert ui.signoff_action.isEnabled() and not ui.cut_action.isEnabled()
    ui.signoff_action.trigger()
    dialog = ui.signoff
    assert dialog is not None and dialog.isModal()
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=10_000)
    assert dialog.selected_version() == 2
    status = dialog.status.text()
    assert "Version 2 validates cleanly" in status and "No sign-off yet." in status
    assert "No release yet" in status
    assert not dialog.sign_button.isEnabled()
    assert dialog.sign_button.toolTip() == "Give the reason for your sign-off"
    dialog.meaning.setCurrentIndex(dialog.meaning.findData("reviewed"))
    dialog.reason.setText("levels checked")
    dialog.printed_name.setText("Rex Reviewer")
    assert dialog.sign_button.toolTip() == "Enter your password to sign"
    dialog.password.setText("not " + PASSWORD)
    dialog.sign_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisibleTo(dialog), timeout=10_000)
    assert "wrong password" in dialog.error.text() and dialog.password.text() == ""
    dialog.password.setText(PASSWORD)
    assert dialog.sign_button.isEnabled() and dialog.sign_button.text() == "Sign off version 2"
    with qtbot.waitSignal(dialog.signed, timeout=10_000) as signed:
        dialog.sign_button.click()
    row = signed.args[0]
    assert (row.version, row.meaning, row.printed_name) == (2, "reviewed", "Rex Reviewer")
    assert "✔ Version 2 signed off" in dialog.result_label.text()
    assert dialog.reason.text() == ""
    with env.kb.read() as session:
        assert [(a.meaning, a.reason) for a in list_approvals(session, 2)] == [
            ("reviewed", "levels checked")
        ]
    # The table shows it once read again.
    qtbot.waitUntil(
        lambda: "Signed so far" in dialog.status.text() and dialog.check is not None,
        timeout=10_000,
    )
    assert "reviewed by Rex Reviewer" in dialog.versions_model.index(0, 4).data()
    assert "Signed so far: reviewed by Rex Reviewer" in dialog.status.text()
    dialog.close()
    qtbot.waitUntil(lambda: ui.signoff is None, timeout=5000)


def test_only_reviewers_sign_off(qtbot, make_window, env: Env) -> None:
    for actor, tip in (
        (env.team.cora, "Cora is a curator; only reviewers may approve"),
        (env.team.rm, "Rm is a release-manager; only reviewers may approve"),
        (None, "Sign in as a reviewer to sign a KB version off"),
    ):
        window = make_window(actor)
        assert not window.installed(ReleaseUi).signoff_action.isEnabled()
        assert window.installed(ReleaseUi).signoff_action.toolTip() == tip
        assert window.installed(ReleaseUi).open_signoff() is None
    # The dialog refuses on its own too (and kb would anyway).
    from curator.releases_view import SignOffDialog

    dialog = SignOffDialog(env.kb, env.team.cora)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=10_000)
    dialog.reason.setText("x")
    assert not dialog.sign_button.isEnabled()
    assert dialog.error.text() == (
        "You cannot sign a version off: cora is a curator; only reviewers may approve."
    )
    dialog.workers.wait()


def test_signoff_summary_lists_changes_since_the_last_release(env: Env) -> None:
    from curator.release_dialog import check_version
    from curator.releases_view import signoff_summary

    release_version_1(env)
    merge_version_2(env, approve=False)
    with env.kb.read() as session:
        text = signoff_summary(check_version(session, 2))
    assert "Since release 2026.10.0: 1 levels demoted, 1 thresholds changed." in text
    assert "no valid approval" not in text  # the missing sign-off is what the dialog gives


def test_a_void_approval_is_marked_and_does_not_count(make_dialog, env: Env) -> None:
    from sqlalchemy import update

    from kb.model.orm import VersionApproval

    approve_version_1(env)
    # An approval whose digest no longer matches the version's content (as when that content
    # changed after signing): kb reports it void.
    with env.kb.unit_of_work() as session:
        session.execute(update(VersionApproval).values(digest="0" * 64))
    dialog = make_dialog(env.team.rm)
    assert dialog.versions_model.index(0, 4).data() == (
        "approved by reviewer (void); approved by rex (void)"
    )
    tip = dialog.versions_model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("void: the content changed since it was signed")
    item = dialog.approvals.topLevelItem(0)
    assert item.text(2) == "void: the content changed since"
    assert "version 1 has no valid approval" in dialog.status.text()
    assert not dialog.cut_button.isEnabled()


def test_a_release_folder_appears_only_once_the_kb_has_committed_it(env: Env) -> None:
    """Sequence and folder agree: a transaction that fails after the build leaves no release
    folder (and no staging one); one that commits leaves exactly one; a crash between the
    commit and the final rename is recovered on the next run."""
    approve_version_1(env)
    key = load_private_key(env.keys.one, PASSPHRASES["key-one"].encode())
    out = env.tmp / "out"
    root = read_json_file(env.keys.root, "trust root")

    class Crash(Exception):
        pass

    with pytest.raises(Crash), env.kb.unit_of_work() as session:
        made = create_release(
            session, actor=env.team.rm, version="2026.10.0", root_envelope=root,
            signing_keys=[key], out_dir=out, password=PASSWORD,
        )  # fmt: skip
        assert not made.path.exists()  # still staged while the KB has not committed
        raise Crash
    assert not out.exists() or list(out.iterdir()) == []
    with env.kb.read() as session:
        assert list_releases(session) == []

    cut_with_kb(env, "2026.10.0", out)
    (folder,) = out.iterdir()
    assert folder.name.startswith("kb-release-") and "-1-2026.10.0" in folder.name
    verify_release(folder, trusted_root=root)
    # The process died after the commit, before the rename: the next release recovers it.
    folder.rename(out / f".{folder.name}.x1y2z3")
    merge_version_2(env)
    cut_with_kb(env, "2026.11.0", out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [folder.name, folder.name.replace("-1-2026.10.0", "-2-2026.11.0")]
    )


def test_a_hand_inserted_approval_is_shown_and_blocks_the_release(make_dialog, env: Env) -> None:
    """An approval row put in by a database client, not signed through kb: the dialog shows
    what it is worth and kb's refusal, and the cut stays disabled."""
    from sqlalchemy import insert

    from kb.model.orm import VersionApproval
    from kb.review.esign import ApprovalSignature
    from kb.storage.snapshot import build_snapshot

    with env.kb.unit_of_work() as session:
        session.execute(
            insert(VersionApproval.__table__).values(
                kb_version=1,
                user_id=env.team.rex.user_id,
                printed_name="rex",
                role=Role.REVIEWER,
                at=dt.datetime.now(dt.UTC),
                meaning=ApprovalMeaning.APPROVED,
                reason="by hand",
                digest=build_snapshot(session, 1).digest(),
            )
        )
    dialog = make_dialog(env.team.rm)
    states = [dialog.approvals.topLevelItem(i).text(2) for i in range(2)]
    assert states == ["valid", ApprovalSignature.NOT_RECORDED.value]
    fill(dialog, env)
    assert not dialog.cut_button.isEnabled()
    assert ApprovalSignature.NOT_RECORDED.value in dialog.cut_button.toolTip()
