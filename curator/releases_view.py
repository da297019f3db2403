"""The Releases page and the Release menu: the releases this KB has cut, a reviewer's sign-off
of a KB version, and a way to cut a release.

`SCREEN` is the whole hook into the main window (curator/extension.py): it adds the Release menu
(Sign off a KB version… for reviewers, Cut a release… for release managers; each disabled with
the reason for everyone else), adds the Releases page under the navigator's "releases" key, and
opens the dialogs on request.
The page reads `kb.releasing.list_releases` off the UI thread and can verify a release folder
against a trust root the user picks, as a consumer would.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from curator.extension import Host, Screen
from curator.icons import icon
from curator.qt_compat import emit
from curator.release_dialog import (
    CATEGORY_LABELS,
    OK_COLOUR,
    ReleaseChoices,
    ReleaseDialog,
    Verification,
    VersionCheck,
    VersionsModel,
    approval_line,
    check_version,
    load_release_choices,
    open_folder,
    verify_folder,
    when,
)
from curator.table_model import ReadOnlyTableModel
from curator.theme import ERROR_COLOUR
from curator.workers import CancelToken, ProgressFn, Task, TaskFailure, Workers
from kb.model.enums import ApprovalMeaning
from kb.release.cutting import ReleaseRow, list_releases
from kb.release.signing import read_json_file
from kb.review.users import Actor, Permission, why_not
from kb.review.versions import ApprovalRow, approve_version
from kb.storage.db import Kb

RELEASES_KEY = "releases"
_Index = QModelIndex | QPersistentModelIndex


def release_refusal(actor: Actor | None) -> str | None:
    """Why this user may not cut a release (None if they may)."""
    if actor is None:
        return "sign in as a release manager to cut a release"
    return why_not(actor, Permission.RELEASE)


class ReleasesModel(ReadOnlyTableModel):
    """Releases, newest first."""

    HEADERS = ("#", "Version", "KB version", "Created (UTC)", "By", "Release digest", "Folder")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[ReleaseRow, ...] = ()

    def set_releases(self, releases: tuple[ReleaseRow, ...]) -> None:
        self.beginResetModel()
        self._rows = tuple(sorted(releases, key=lambda r: r.sequence, reverse=True))
        self.endResetModel()

    def release_at(self, row: int) -> ReleaseRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        release = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 5:
                return f"sha256 of release.dsse.json: {release.release_digest}"
            if column == 6:
                return release.location
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return icon("release")
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match column:
            case 0:
                return str(release.sequence)
            case 1:
                return release.version
            case 2:
                return str(release.kb_version)
            case 3:
                return when(release.created_at)
            case 4:
                return release.created_by
            case 5:
                return release.release_digest[:12] + "…"
            case 6:
                return release.location
        return None


def ask_trust_root(parent: QWidget) -> Path | None:
    """The trust root file to verify with (a seam tests replace)."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Verify with trust root", "", "Trust root (*.json);;All files (*)"
    )
    return Path(path) if path else None


class ReleasesView(QWidget):
    """The releases this KB has cut; verify one against a trust root, or open its folder."""

    loaded = Signal(int)  # how many releases arrived
    verified = Signal(object)  # Verification

    def __init__(
        self, kb: Kb, workers: Workers, cut_action: QAction, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.workers = workers
        self.setObjectName("releases_page")
        self.model = ReleasesModel(self)
        self.table = QTableView()
        self.table.setObjectName("releases")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # folders differ at the end
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        # A tool bar, not a row of buttons: it folds into a » menu when the window is narrow, so
        # this page never sets the main window's minimum width.
        self.bar = QToolBar()
        self.bar.setObjectName("releases_bar")
        self.bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.bar.setIconSize(QSize(16, 16))
        self.bar.addAction(cut_action)
        self.verify_action = self._action("Verify…", "approval", self.verify_selected)
        self.verify_action.setObjectName("verify_release")
        self.open_action = self._action("Open folder", "open", self.open_selected)
        self.open_action.setObjectName("open_release_folder")
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.bar.addWidget(spacer)
        self.reload_action = self._action("Reload", "reload", self.refresh)
        self.reload_action.setToolTip("Read the releases again")
        intro = QLabel(
            "<b>Releases</b> — each freezes one approved KB version, signed. Consumers verify "
            "a release offline against the trust root they pin (<code>kb release verify</code>)."
        )
        intro.setWordWrap(True)
        self.count_label = QLabel("Reading releases…")
        self.count_label.setObjectName("releases_count")
        self.count_label.setWordWrap(True)  # a long line must not widen the main window
        self.result_label = QLabel()
        self.result_label.setObjectName("verify_result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(intro)
        layout.addWidget(self.bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.result_label)
        layout.addWidget(self.count_label)
        self._update_buttons()

    def _action(self, text: str, icon_name: str, slot: Any) -> QAction:
        action = self.bar.addAction(icon(icon_name), text)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def refresh(self) -> None:
        """Read the releases again (off the UI thread)."""
        kb = self.kb

        def work(_progress: ProgressFn, _cancel: CancelToken) -> tuple[ReleaseRow, ...]:
            with kb.read() as session:
                return tuple(list_releases(session))

        self.workers.read("releases", work, on_result=self._arrived, on_error=self._failed)

    def _arrived(self, releases: tuple[ReleaseRow, ...]) -> None:
        self.model.set_releases(releases)
        if self.model.rowCount() and not self.table.selectionModel().currentIndex().isValid():
            self.table.selectRow(0)  # the newest, ready to verify or open
        count = len(releases)
        self.count_label.setText(
            f"{count:,} release{'s' if count != 1 else ''}" if count else
            "No release yet: a release manager cuts the first with Release ▸ Cut a release…"
        )  # fmt: skip
        self._update_buttons()
        emit(self.loaded, count)

    def _failed(self, failure: TaskFailure) -> None:
        self.count_label.setText(f"Could not read the releases: {failure.message}")

    def selected(self) -> ReleaseRow | None:
        index = self.table.selectionModel().currentIndex()
        return self.model.release_at(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        release = self.selected()
        for action in (self.verify_action, self.open_action):
            action.setEnabled(release is not None)
        self.verify_action.setToolTip(
            f"Verify {release.version} against a trust root, as a consumer would"
            if release else "Choose a release to verify"
        )  # fmt: skip

    def open_selected(self) -> None:
        release = self.selected()
        if release is not None:
            open_folder(Path(release.location))

    def verify_selected(self, root_path: Path | None = None) -> None:
        release = self.selected()
        if release is None:
            return
        root_path = root_path or ask_trust_root(self)
        if root_path is None:
            return
        folder = Path(release.location)

        def work(progress: ProgressFn, _cancel: CancelToken) -> Verification:
            return verify_folder(folder, read_json_file(root_path, "trust root"), progress)

        self.result_label.setText(f"Verifying {html.escape(release.version)}…")
        self.result_label.show()
        self.workers.read(
            f"verify {release.version}", work, on_result=self._verified, on_error=self._not_read
        )

    def _verified(self, verification: Verification) -> None:
        if verification.ok:
            self.result_label.setText(
                f"<span style='color:{OK_COLOUR}'><b>✔ Verified:</b></span> "
                f"{html.escape(verification.message)}"
            )
        else:
            self.result_label.setText(
                f"<span style='color:{ERROR_COLOUR}'><b>✘ NOT verified</b> "
                f"({html.escape(verification.reason_code)}):</span> "
                f"{html.escape(verification.message)}"
            )
        emit(self.verified, verification)

    def _not_read(self, failure: TaskFailure) -> None:
        self.result_label.setText(
            f"<span style='color:{ERROR_COLOUR}'><b>✘ Could not verify:</b></span> "
            f"{html.escape(failure.message)}"
        )


# --- signing a KB version off ------------------------------------------------------------------


def signoff_refusal(actor: Actor | None) -> str | None:
    """Why this user may not sign a KB version off (None if they may)."""
    if actor is None:
        return "sign in as a reviewer to sign a KB version off"
    return why_not(actor, Permission.APPROVE)


def sign_off(
    kb: Kb,
    actor: Actor,
    version: int,
    *,
    meaning: ApprovalMeaning,
    reason: str,
    password: str,
    printed_name: str = "",
) -> ApprovalRow:
    """Record a reviewer's approval of `version`, signed with their own key, which their
    `password` unlocks (one unit of work; kb checks the role and the password)."""
    with kb.unit_of_work() as session:
        return approve_version(
            session,
            actor=actor,
            version=version,
            meaning=meaning,
            reason=reason,
            password=password,
            printed_name=printed_name or None,
        )


class SignOffDialog(QDialog):
    """Release ▸ Sign off a KB version…: the reviewer's approval a release needs (DESIGN §3).

    What is signed is the version's content: kb records the printed name, the UTC time, the
    meaning, the reason and the sha256 of the version's canonical snapshot.
    """

    checked = Signal(int)
    signed = Signal(object)  # ApprovalRow

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        *,
        workers: Workers | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers or Workers(self)
        self.refusal = signoff_refusal(actor)
        self.check: VersionCheck | None = None
        self.signed_row: ApprovalRow | None = None
        self._check_task: Task | None = None
        self._busy = False
        self.setObjectName("signoff_dialog")
        self.setWindowTitle("Sign off a KB version — KB Curator")
        self.setWindowIcon(icon("approval"))
        self.resize(760, 560)
        intro = QLabel(
            "Your sign-off is your electronic signature: your printed name, the time (UTC), "
            "its meaning and your reason with the sha256 of the version's content, signed with "
            "your own key, which your password unlocks. A release needs one. It is void if "
            "that content ever changes."
        )
        intro.setWordWrap(True)
        self.versions_model = VersionsModel(self)
        self.versions = QTableView()
        self.versions.setObjectName("signoff_versions")
        self.versions.setModel(self.versions_model)
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.versions.setWordWrap(False)
        self.versions.verticalHeader().hide()
        header = self.versions.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.versions.selectionModel().currentRowChanged.connect(self._version_chosen)
        self.status = QLabel("Reading the KB versions…")
        self.status.setObjectName("signoff_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.meaning = QComboBox()
        self.meaning.setObjectName("meaning")
        self.meaning.addItem("approved — fit to release", ApprovalMeaning.APPROVED.value)
        self.meaning.addItem(
            "reviewed — checked, without approving", ApprovalMeaning.REVIEWED.value
        )
        self.reason = QLineEdit()
        self.reason.setObjectName("signoff_reason")
        self.reason.setPlaceholderText("e.g. thresholds checked against the FDA labels cited")
        self.reason.textChanged.connect(lambda _text: self._update_button())
        self.printed_name = QLineEdit()
        self.printed_name.setObjectName("printed_name")
        self.printed_name.setPlaceholderText("as on your account")
        form = QFormLayout()
        form.addRow("Meaning", self.meaning)
        form.addRow("Reason", self.reason)
        self.password = QLineEdit()
        self.password.setObjectName("signoff_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("your password: signing is an act of yours")
        self.password.setToolTip("Unlocks your signing key for this sign-off; never stored")
        self.password.textChanged.connect(lambda _text: self._update_button())
        form.addRow("Printed name", self.printed_name)
        form.addRow("Password", self.password)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error.hide()
        self.result_label = QLabel()
        self.result_label.setObjectName("signoff_result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.hide()
        self.sign_button = QPushButton(icon("approval"), "Sign off")
        self.sign_button.setObjectName("sign_button")
        self.sign_button.setDefault(True)
        self.sign_button.clicked.connect(self.sign)
        buttons = QDialogButtonBox()
        buttons.addButton(self.sign_button, QDialogButtonBox.ButtonRole.ApplyRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.versions, 1)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)
        if self.refusal:
            self.error.setText(f"You cannot sign a version off: {self.refusal}.")
            self.error.show()
        self._update_button()
        self._load()

    def _load(self) -> None:
        kb = self.kb

        def work(_progress: ProgressFn, _cancel: CancelToken) -> ReleaseChoices:
            with kb.read() as session:
                return load_release_choices(session)

        self.workers.read("sign-off choices", work, on_result=self._arrived)

    def _arrived(self, choices: ReleaseChoices) -> None:
        keep = self.check.version if self.check else None
        self.check = None
        self.versions_model.set_choices(choices)
        if choices.versions:
            row = self.versions_model.row_of(keep or choices.versions[-1].number)
            self.versions.selectRow(row or 0)

    def selected_version(self) -> int | None:
        index = self.versions.selectionModel().currentIndex()
        value = index.data(VersionsModel.VERSION_ROLE) if index.isValid() else None
        return int(value) if value is not None else None

    def select_version(self, number: int) -> None:
        row = self.versions_model.row_of(number)
        if row is not None:
            self.versions.selectRow(row)

    def _version_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        number = int(current.data(VersionsModel.VERSION_ROLE))
        self.check = None
        self.status.setText(f"Checking version {number}…")
        self._update_button()
        kb = self.kb

        def work(_progress: ProgressFn, _cancel: CancelToken) -> VersionCheck:
            with kb.read() as session:
                return check_version(session, number)

        if self._check_task is not None:
            self._check_task.cancel()
        task = self.workers.read(f"check version {number}", work)
        task.finished.connect(lambda check, t=task: self._checked(t, check))
        self._check_task = task

    def _checked(self, task: Task, check: VersionCheck) -> None:
        if task is not self._check_task:
            return
        self._check_task = None
        self.check = check
        self.status.setText(signoff_summary(check))
        self._update_button()
        emit(self.checked, check.version)

    def why_not_sign(self) -> str | None:
        if self.refusal:
            return self.refusal
        if self._busy:
            return "signing…"
        number = self.selected_version()
        if number is None:
            return "choose a KB version"
        if self.check is None or self.check.version != number:
            return f"checking version {number}…"
        if not self.reason.text().strip():
            return "give the reason for your sign-off"
        if not self.password.text():
            return "enter your password to sign"
        return None

    def _update_button(self) -> None:
        reason = self.why_not_sign()
        self.sign_button.setEnabled(reason is None)
        number = self.selected_version()
        self.sign_button.setText(f"Sign off version {number}" if number else "Sign off")
        self.sign_button.setToolTip(
            reason[:1].upper() + reason[1:] if reason else "Record your sign-off of this version"
        )

    def sign(self) -> None:
        if self.why_not_sign() is not None or self.check is None or self.actor is None:
            return
        kb, actor, number = self.kb, self.actor, self.check.version
        meaning = ApprovalMeaning(str(self.meaning.currentData()))
        reason, name = self.reason.text().strip(), self.printed_name.text().strip()
        password = self.password.text()
        self.password.clear()

        def work(_progress: ProgressFn, _cancel: CancelToken) -> ApprovalRow:
            return sign_off(
                kb,
                actor,
                number,
                meaning=meaning,
                reason=reason,
                password=password,
                printed_name=name,
            )

        self._busy = True
        self.error.hide()
        self._update_button()
        self.workers.write(
            f"sign off version {number}", work, on_result=self._signed, on_error=self._refused
        )

    def _signed(self, row: ApprovalRow) -> None:
        self._busy = False
        self.signed_row = row
        self.reason.clear()
        self.result_label.setText(
            f"<span style='color:{OK_COLOUR}'><b>✔ Version {row.version} signed off</b></span>"
            f" — {html.escape(row.meaning)} by {html.escape(row.printed_name)} at "
            f"{html.escape(when(row.at))} UTC (content sha256 {html.escape(row.digest[:12])}…)."
        )
        self.result_label.show()
        emit(self.signed, row)
        self._load()

    def _refused(self, failure: TaskFailure) -> None:
        self._busy = False
        self.error.setText(failure.message)
        self.error.show()
        self._update_button()


def signoff_summary(check: VersionCheck) -> str:
    """Rich text: what the reviewer is about to sign off, and what a release still needs."""
    parts = []
    # kb's reasons; the missing approval is the one this dialog is here to give.
    others = [p for p in check.problems if "no valid approval" not in p]
    if others:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in others)
        parts.append(
            f"<span style='color:{ERROR_COLOUR}'>✘ Version {check.version} has problems:</span>"
            f"<ul style='margin:0'>{items}</ul>"
        )
    else:
        parts.append(
            f"<span style='color:{OK_COLOUR}'>✔ Version {check.version} validates cleanly.</span>"
        )
    valid = [a for a in check.approvals if not a.void]
    if valid:
        parts.append("Signed so far: " + html.escape("; ".join(approval_line(a) for a in valid)))
    else:
        parts.append("No sign-off yet.")
    if check.previous is None:
        parts.append("No release yet: the first release would carry every record.")
    elif check.summary:
        counts = ", ".join(
            f"{count} {CATEGORY_LABELS.get(name, name).lower()}"
            for name, count in check.summary.items()
        )
        parts.append(f"Since release {html.escape(check.previous.version)}: {counts}.")
    else:
        parts.append(f"No changes since release {html.escape(check.previous.version)}.")
    return "<br>".join(parts)


class ReleaseUi(QObject):
    """The release parts of one main window: menu, page and dialog."""

    def __init__(self, host: Host) -> None:
        window = host.as_widget()
        super().__init__(window)
        self.host = host
        self.dialog: ReleaseDialog | None = None
        self.refusal = release_refusal(host.actor)
        self.cut_action = QAction(icon("release"), "Cut a release…", window)
        self.cut_action.setObjectName("cut_release")
        self.cut_action.setEnabled(self.refusal is None)
        tip = self.refusal or "Sign an approved KB version as a release and verify it"
        self.cut_action.setToolTip(tip[:1].upper() + tip[1:])
        self.cut_action.setStatusTip(self.cut_action.toolTip())
        self.cut_action.triggered.connect(lambda _checked=False: self.open_dialog())
        self.signoff_refusal = signoff_refusal(host.actor)
        self.signoff_action = QAction(icon("approval"), "Sign off a KB version…", window)
        self.signoff_action.setObjectName("sign_off_version")
        self.signoff_action.setEnabled(self.signoff_refusal is None)
        tip = self.signoff_refusal or "Approve a KB version's content: a release needs it"
        self.signoff_action.setToolTip(tip[:1].upper() + tip[1:])
        self.signoff_action.setStatusTip(self.signoff_action.toolTip())
        self.signoff_action.triggered.connect(lambda _checked=False: self.open_signoff())
        self.signoff: SignOffDialog | None = None
        self.go_action = QAction(icon("release"), "Releases", window)
        self.go_action.setObjectName("go_releases")
        self.go_action.triggered.connect(lambda _checked=False: host.show_view(RELEASES_KEY))
        host.add_action(self.signoff_action, menu="Release", section="release")
        host.add_action(self.cut_action, menu="Release", section="release")
        host.add_action(self.go_action, menu="Release", section="pages")
        self.menu = host.menu("Release")
        self.page = ReleasesView(host.kb, host.workers, self.cut_action)
        self.page.loaded.connect(lambda count: host.set_page_count(RELEASES_KEY, count))
        host.add_page(
            RELEASES_KEY, "Releases", "release", self.page, tip="The releases this KB has cut"
        )
        self.page.refresh()

    def open_dialog(self) -> ReleaseDialog | None:
        """Open the release dialog (window-modal, without blocking: the event loop runs on)."""
        if self.refusal is not None:
            return None
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        host = self.host
        dialog = ReleaseDialog(host.kb, host.actor, workers=host.workers, parent=host.as_widget())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.released.connect(lambda _created: self.page.refresh())
        dialog.released.connect(
            lambda created: host.show_message(
                f"Release {created.version} written to {created.path}", 10_000
            )
        )
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_closed(self, _result: int) -> None:
        self.dialog = None

    def open_signoff(self) -> SignOffDialog | None:
        """Open the sign-off dialog (window-modal, without blocking)."""
        if self.signoff_refusal is not None:
            return None
        if self.signoff is not None:
            self.signoff.raise_()
            return self.signoff
        host = self.host
        dialog = SignOffDialog(host.kb, host.actor, workers=host.workers, parent=host.as_widget())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.signed.connect(
            lambda row: host.show_message(f"Version {row.version} signed off ({row.meaning})", 8000)
        )
        dialog.finished.connect(self._signoff_closed)
        self.signoff = dialog
        dialog.open()
        return dialog

    def _signoff_closed(self, _result: int) -> None:
        self.signoff = None


def install_release_ui(host: Host) -> ReleaseUi:
    """Add the Release menu and the Releases page to the window `host` stands for."""
    return ReleaseUi(host)


SCREEN = Screen("releases", install_release_ui)
