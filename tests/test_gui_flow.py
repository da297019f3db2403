"""The whole round through the real app (issue 6, "Done when"), driven through its widgets:

create the demo KB in the app and sign in as the curator; find the osimertinib assertions with
the search box; change an assertion's level and the PD-L1 TPS threshold in the record editor;
submit the draft; sign in as a reviewer, see the change side by side and approve it, then sign
the new KB version off; sign in as the release manager, cut a signed release with keys made for
the test, see it verified in the dialog; and check that `kb release verify` accepts the folder.

Modal dialogs the app opens with exec() (message boxes, sign-in) are answered by `Dialogs`;
the release and sign-off dialogs open without blocking, so the test fills them directly.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QTableView, QWidget

from curator.app import Launcher
from curator.change_set_view import ApproveDialog
from curator.main_window import MainWindow
from curator.qt_compat import emit
from curator.release_dialog import ReleaseDialog
from curator.releases_view import ReleaseUi, SignOffDialog
from curator.review_view import ReviewHooks
from curator.settings import Settings
from curator.signin_dialog import SignInDialog
from kb.release.signers import certify_signers
from kb.release.signing import (
    generate_keypair,
    load_private_key,
    read_json_file,
    save_json_file,
    trust_init,
)
from kb.review.users import authenticate
from kb.storage.db import open_kb

KEY_PASSPHRASE = "a long release passphrase"


class Dialogs:
    """Answers, in order, the modal dialogs the code under test opens with exec(): each step
    waits for a dialog of its type (others, like a progress dialog, are left alone)."""

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
        except BaseException as exc:  # reported by check(), not lost in the event loop
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


def approve_with(reason: str) -> Callable[[QWidget], None]:
    def act(dialog: QWidget) -> None:
        assert isinstance(dialog, ApproveDialog)
        dialog.reason.setPlainText(reason)
        dialog.ok.click()

    return act


def leave(_dialog: QWidget) -> None:
    """A dialog that closes by itself (the demo's progress)."""


def click_row(qtbot, table: QTableView, row: int) -> None:  # type: ignore[no-untyped-def]
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.fixture
def launcher(qtbot, tmp_path: Path) -> Iterator[Launcher]:  # type: ignore[no-untyped-def]
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = Launcher(settings, None)
    yield made
    if isinstance(made.window, MainWindow):
        made.window.close()
    made.workers.wait()


def switch_user(launcher: Launcher, name: str, password: str) -> MainWindow:
    """File ▸ Sign in as another user…: the window is replaced by one for `name`."""
    old = launcher.window
    assert isinstance(old, MainWindow)
    dialogs = Dialogs([(SignInDialog, sign_in(name, password))])
    old.act_switch_user.trigger()
    dialogs.check()
    window = launcher.window
    assert isinstance(window, MainWindow) and window is not old
    assert window.actor is not None and window.actor.name == name
    assert window.status_bar.user_status.text() == f"User: {name}"
    return window


def test_curate_review_release_and_verify_in_the_app(
    qtbot, launcher: Launcher, sqlite_url: str, tmp_path: Path
) -> None:
    # --- a new user creates the demo KB in the app and signs in as the curator -----------------
    dialogs = Dialogs(
        [
            (QMessageBox, press(QMessageBox.StandardButton.Yes)),  # create the demo KB?
            (QProgressDialog, leave),
            (QMessageBox, press(QMessageBox.StandardButton.Ok)),  # the demo's accounts
            (SignInDialog, sign_in("curator", "demo-curator")),
        ]
    )
    window = launcher.start(sqlite_url)
    dialogs.check()
    assert "This KB is empty. Create the demo KB in it?" in dialogs.texts[0]
    # Not handed to qtbot: switching user deletes it; the launcher fixture closes the last.
    assert isinstance(window, MainWindow)
    # A first start opens on the home screen; the curator goes to the assertions.
    assert window.current_key == "home"
    window.show_view("assertion")
    qtbot.waitUntil(lambda: window.records.model.rowCount() == 103, timeout=20_000)

    # --- find the osimertinib assertions with the search box -----------------------------------
    qtbot.keyClicks(window.records.search, "osimertinib")
    assert window.records.model.rowCount() == 5
    assert window.records.count_label.text() == "5 of 103 assertions"
    row = window.records.model.row_of("AS-00004")  # osimertinib for EGFR T790M
    assert row is not None
    with qtbot.waitSignal(window.record_shown, timeout=10_000, check_params_cb="AS-00004".__eq__):
        click_row(qtbot, window.records.table, row)
    assert "Osimertinib" in window.record_pane.view.toPlainText()

    # --- change its level in the record editor ---------------------------------------------------
    window.act_edit.trigger()
    editor = window.record_pane.editor
    assert window.record_pane.stack.currentWidget() is editor
    level = editor.widgets["evidence_level"].combo  # type: ignore[attr-defined]
    assert level.currentData() == "1"
    level.setCurrentIndex(level.findData("2"))
    with qtbot.waitSignal(window.draft_loaded, timeout=10_000):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 1, timeout=10_000)

    # --- and the PD-L1 TPS threshold: 50% → 60% -------------------------------------------------
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="threshold".__eq__):
        window.navigator.setCurrentItem(window.navigator.items["threshold"])
    qtbot.keyClicks(window.records.search, "TPS >= 50")
    assert window.records.model.rowCount() == 1
    with qtbot.waitSignal(window.record_shown, timeout=10_000, check_params_cb="TH-00002".__eq__):
        click_row(qtbot, window.records.table, 0)
    window.act_edit.trigger()
    value = window.record_pane.editor.widgets["value"].edit  # type: ignore[attr-defined]
    assert value.text() == "50"
    value.clear()
    qtbot.keyClicks(value, "60")
    with qtbot.waitSignal(window.draft_loaded, timeout=10_000):
        qtbot.mouseClick(window.record_pane.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 2, timeout=10_000)
    draft = window.draft_dock.model
    summaries = {draft.index(r, 1).data(): draft.index(r, 3).data() for r in range(2)}
    assert summaries == {"AS-00004": "evidence_level: 1 → 2", "TH-00002": "value: 50 → 60"}

    # --- submit the draft for review -------------------------------------------------------------
    change_set = window.draft_dock.data.change_set
    assert change_set is not None
    cs_id = change_set.human_id
    dialogs = Dialogs([(QMessageBox, press(QMessageBox.StandardButton.Yes))])
    qtbot.mouseClick(window.draft_dock.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.draft_dock.data.change_set is None, timeout=10_000)
    dialogs.check()
    # A curator may neither sign a version off nor cut a release, and is told why.
    assert not window.installed(ReleaseUi).signoff_action.isEnabled()
    assert not window.installed(ReleaseUi).cut_action.isEnabled()
    assert window.installed(ReleaseUi).cut_action.toolTip() == (
        "Curator is a curator; only release managers may release"
    )

    # --- a reviewer sees the change side by side and approves it --------------------------------
    window = switch_user(launcher, "reviewer", "demo-reviewer")
    review = window.installed(ReviewHooks).review
    with qtbot.waitSignal(review.listed, timeout=10_000):
        window.navigator.setCurrentItem(window.navigator.items["change_sets"])
    assert window.pages.currentWidget() is review
    row = review.model.row_of(cs_id)
    assert row is not None
    with qtbot.waitSignal(review.view.loaded, timeout=10_000, check_params_cb=cs_id.__eq__):
        click_row(qtbot, review.table, row)
    diff = review.view.model
    shown = "\n".join(
        " | ".join(str(diff.index(r, c).data() or "") for c in range(diff.columnCount()))
        for r in range(diff.rowCount())
    )
    assert "TH-00002" in shown and "50" in shown and "60" in shown
    assert "AS-00004" in shown
    approve = review.view.buttons["approve"]
    assert approve.isEnabled()
    dialogs = Dialogs([(ApproveDialog, approve_with("Both match the labels"))])
    with qtbot.waitSignal(review.merged, timeout=20_000) as merged:
        qtbot.mouseClick(approve, Qt.MouseButton.LeftButton)
    dialogs.check()
    assert merged.args == [2]
    qtbot.waitUntil(lambda: window.status_bar.version_status.text() == "Version 2", timeout=10_000)

    # --- … and signs the new KB version off (Release ▸ Sign off a KB version…) -----------------
    window.installed(ReleaseUi).signoff_action.trigger()
    signoff = window.installed(ReleaseUi).signoff
    assert isinstance(signoff, SignOffDialog)
    qtbot.waitUntil(lambda: signoff.check is not None, timeout=10_000)
    assert signoff.selected_version() == 2
    assert "Version 2 validates cleanly" in signoff.status.text()
    assert not signoff.sign_button.isEnabled()  # a reason is required
    qtbot.keyClicks(signoff.reason, "TPS threshold and the T790M level checked")
    assert not signoff.sign_button.isEnabled()  # and the signer's password, each time
    qtbot.keyClicks(signoff.password, "demo-reviewer")
    assert signoff.sign_button.text() == "Sign off version 2"
    with qtbot.waitSignal(signoff.signed, timeout=10_000) as signed:
        qtbot.mouseClick(signoff.sign_button, Qt.MouseButton.LeftButton)
    approval = signed.args[0]
    assert (approval.version, approval.meaning, approval.printed_name) == (
        2,
        "approved",
        "reviewer",
    )
    assert "Version 2 signed off" in signoff.result_label.text()
    signoff.close()

    # --- release keys and the trust root consumers pin (as `kb keys` / `kb trust` make them) --
    keys = generate_keypair(
        tmp_path / "keys", name="release-key", passphrase=KEY_PASSPHRASE.encode()
    )
    private = load_private_key(keys.private_path, KEY_PASSPHRASE.encode())
    root = tmp_path / "root.json"
    save_json_file(trust_init([keys.public_path], 1, [private]), root)
    # The admin pins the approvers' keys with it (`kb keys certify --root … --key …`).
    admin_kb = open_kb(sqlite_url)
    with admin_kb.unit_of_work() as session:
        certify_signers(
            session,
            actor=authenticate(session, name="admin", password="demo-admin"),
            root_envelope=read_json_file(root, "trust root"),
            signing_keys=[private],
        )
    admin_kb.close()
    del private

    # --- the release manager cuts a signed release and sees it verified -------------------------
    window = switch_user(launcher, "releaser", "demo-releaser")
    assert window.installed(ReleaseUi).cut_action.isEnabled()
    assert not window.installed(ReleaseUi).signoff_action.isEnabled()
    window.installed(ReleaseUi).cut_action.trigger()
    dialog = window.installed(ReleaseUi).dialog
    assert isinstance(dialog, ReleaseDialog)
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=10_000)
    assert dialog.selected_version() == 2
    assert "Version 2 can be released" in dialog.status.text()
    assert dialog.approvals.topLevelItemCount() == 1
    assert dialog.approvals.topLevelItem(0).text(0) == "reviewer (reviewer)"
    # The first release of this KB: it carries every record.
    assert dialog.changes_heading.text().startswith("<b>First release of this KB</b>")
    dialog.version_edit.clear()
    qtbot.keyClicks(dialog.version_edit, "2026.11.0")
    dialog.root_edit.setText(str(root))  # what Browse… fills in
    key_row = dialog.add_key(keys.private_path)  # what Add key file… adds
    qtbot.keyClicks(key_row.passphrase, KEY_PASSPHRASE)
    out = tmp_path / "releases"
    dialog.out_edit.setText(str(out))
    qtbot.keyClicks(dialog.password_edit, "demo-releaser")
    assert dialog.cut_button.isEnabled(), dialog.cut_button.toolTip()
    with qtbot.waitSignal(dialog.verified, timeout=60_000) as verified:
        qtbot.mouseClick(dialog.cut_button, Qt.MouseButton.LeftButton)
        assert key_row.passphrase.text() == ""  # used once, then cleared
    assert verified.args[0].ok, verified.args[0].message
    assert "✔ Verified" in dialog.result_label.text()
    assert dialog.open_button.isEnabled()
    assert dialog.outcome is not None
    folder = dialog.outcome.created.path
    assert folder.parent == out and folder.name.endswith("-1-2026.11.0")
    dialog.close()
    page = window.installed(ReleaseUi).page
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window.navigator.setCurrentItem(window.navigator.items["releases"])
    assert page.model.index(0, 1).data() == "2026.11.0"

    # --- `kb release verify` accepts the folder, as a downstream service would run it -----------
    result = subprocess.run(
        [sys.executable, "-m", "kb", "release", "verify", str(folder), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("verified release 2026.11.0 (#1) of KB ")
    changes = (folder / "payload" / "changes.json").read_text()
    assert '"from_release_digest": null' in changes  # the first release in the chain
