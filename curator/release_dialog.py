"""Release ▸ Cut a release…: choose an approved KB version, sign it, and verify what was written.

kb decides (DESIGN §3, §5): `release_problems` says why a version cannot be released,
`create_release` refuses anything it should, `verify_release` checks the new folder against the
same trust root a consumer pins. This dialog shows their answers before and after, and runs the
slow parts (checking a version, building, verifying) off the UI thread through
curator/workers.py.

Passphrases: read from a password field once, when the build starts; the fields are cleared at
once and the bytes (a bytearray) are overwritten on the worker thread as soon as the key is
unlocked. They are never stored, never put in a message, never logged.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QStandardPaths,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from curator.icons import icon
from curator.qt_compat import emit
from curator.table_model import ReadOnlyTableModel
from curator.theme import ERROR_COLOUR
from curator.workers import CancelToken, ProgressFn, Task, TaskFailure, Workers
from kb.errors import KbError
from kb.release.cutting import CreatedRelease, ReleaseRow, create_release, list_releases
from kb.release.cutting import release_problems as kb_release_problems
from kb.release.signing import SigningError, VerificationError, load_private_key, read_json_file
from kb.review.diff import CATEGORIES, categorise, diff_records, summarise
from kb.review.users import Actor, Permission, why_not
from kb.review.versions import ApprovalRow, VersionRow, diff_versions, list_approvals, list_versions
from kb.storage.db import Kb
from kb.storage.revisions import version_records

OK_COLOUR = "#2e9d5b"
_Index = QModelIndex | QPersistentModelIndex
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
# Meanings that make a version releasable (kb.releasing.release_problems counts the same).
_SIGN_OFF = ("approved", "reviewed")
CATEGORY_LABELS = {
    "new_assertion": "New assertions",
    "assertion_removed": "Assertions removed",
    "level_promoted": "Levels promoted",
    "level_demoted": "Levels demoted",
    "therapy_added": "Therapies added",
    "therapy_removed": "Therapies removed",
    "threshold_changed": "Thresholds changed",
    "trial_status_changed": "Trial status changed",
    "tumour_scope_changed": "Tumour scope changed",
    "other_change": "Other changes",
}


# --- plain data, read off the UI thread (Qt-free) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseChoices:
    """The KB versions one could release (newest last) and the releases already cut."""

    versions: tuple[VersionRow, ...]
    releases: tuple[ReleaseRow, ...]


def load_release_choices(session: Session) -> ReleaseChoices:
    return ReleaseChoices(tuple(list_versions(session)), tuple(list_releases(session)))


@dataclass(frozen=True, slots=True)
class VersionCheck:
    """What a release manager needs to know about one KB version before signing it."""

    version: int
    problems: tuple[str, ...]  # kb's reasons it cannot be released; empty when it can
    approvals: tuple[ApprovalRow, ...]
    previous: ReleaseRow | None  # the release the changes are counted from
    changes: tuple[dict[str, Any], ...] = ()  # kb.diff.categorise items since `previous`
    summary: dict[str, int] = field(default_factory=dict)  # category -> count (non-zero)
    records: dict[str, int] = field(default_factory=dict)  # first release: records per type

    @property
    def ready(self) -> bool:
        return not self.problems


def check_version(session: Session, version: int) -> VersionCheck:
    """Validation, approvals and the changes since the last release, for `version`."""
    problems = tuple(kb_release_problems(session, version))
    approvals = tuple(list_approvals(session, version))
    releases = list_releases(session)
    previous = releases[-1] if releases else None
    if previous is None:
        # The first release: changes.json will be empty (consumers have seen nothing), so say
        # what it carries instead.
        diff = diff_versions(session, 0, version)
        records = {rtype: len(d.added) for rtype, d in diff.types.items() if d.added}
        return VersionCheck(version, problems, approvals, None, records=records)
    # Only the records touched between the two versions are read, not two whole snapshots.
    before, after = version_records(session, previous.kb_version, version)
    items = categorise(diff_records(before, after), before, after)
    summary = {name: count for name, count in summarise(items).items() if count}
    return VersionCheck(version, problems, approvals, previous, tuple(items), summary)


def suggest_version(releases: Sequence[ReleaseRow], today: dt.date) -> str:
    """This month's first free release version, e.g. 2026.11.0 (then 2026.11.1, …)."""
    taken = {release.version for release in releases}
    patch = 0
    while f"{today.year}.{today.month}.{patch}" in taken:
        patch += 1
    return f"{today.year}.{today.month}.{patch}"


def version_problem(text: str, releases: Sequence[ReleaseRow]) -> str | None:
    """Why `text` cannot name a new release (kb refuses the same; this says it while typing)."""
    if not text:
        return "enter a release version such as 2026.11.0"
    if not _VERSION.fullmatch(text):
        return f"{text!r} is not like 2026.11.0 (three numbers)"
    if any(release.version == text for release in releases):
        return f"release {text} already exists; releases are never rebuilt in place"
    return None


class KeyFileError(KbError):
    """A signing key that would not unlock; `field` names the dialog row it came from."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.field = f"key:{index}"


class RootFileError(KbError):
    """A trust root file that could not be read."""

    field = "root"


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    actor: Actor
    kb_version: int
    version: str
    root_path: Path
    key_paths: tuple[Path, ...]
    out_dir: Path
    reason: str


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    created: CreatedRelease
    root: dict[str, Any]  # the trust root the release was signed under, to verify against


def wipe(secret: bytearray) -> None:
    secret[:] = bytes(len(secret))


def cut_release(
    kb: Kb,
    request: ReleaseRequest,
    passphrases: Sequence[bytearray],
    progress: ProgressFn,
    cancel: CancelToken,
    *,
    password: bytearray,
) -> ReleaseOutcome:
    """Unlock the keys, then validate, sign, write and register the release in one unit of work.

    Every passphrase is overwritten once its key is unlocked (or fails to); a key or root that
    will not load stops everything before the database or the disk is touched.
    """
    try:
        try:
            root = read_json_file(request.root_path, "trust root")
        except SigningError as exc:
            raise RootFileError(str(exc)) from None
        keys = []
        for index, (path, secret) in enumerate(zip(request.key_paths, passphrases, strict=True)):
            try:
                # cryptography reads any buffer; a bytearray is one we can overwrite after.
                keys.append(load_private_key(path, secret))  # type: ignore[arg-type]
            except SigningError as exc:
                raise KeyFileError(index, str(exc)) from None
            finally:
                wipe(secret)
    finally:
        for secret in passphrases:
            wipe(secret)
    cancel.check()
    # The release manager's password unlocks their own signing key for the "released"
    # signature (kb.review.esign); Python strings cannot be wiped, the buffer can.
    try:
        signer_password = password.decode("utf-8")
    finally:
        wipe(password)
    with kb.unit_of_work() as session:
        created = create_release(
            session,
            actor=request.actor,
            version=request.version,
            root_envelope=root,
            signing_keys=keys,
            out_dir=request.out_dir,
            password=signer_password,
            kb_version=request.kb_version,
            reason=request.reason,
            progress=progress,
            cancel=cancel.check,  # raising inside the build removes its staging folder
        )
    return ReleaseOutcome(created, root)


@dataclass(frozen=True, slots=True)
class Verification:
    """`kb release verify`'s answer, as plain data for the dialog."""

    ok: bool
    path: Path
    message: str
    reason_code: str = ""
    version: str = ""
    sequence: int = 0
    signers: int = 0
    payload_files: int = 0


def verify_folder(path: Path, root: dict[str, Any], progress: ProgressFn) -> Verification:
    from kb.release.folder import verify_release

    try:
        verified = verify_release(path, trusted_root=root, progress=progress)
    except VerificationError as exc:
        return Verification(False, path, exc.message, exc.reason_code.value)
    files = sum(1 for item in (path / "payload").rglob("*") if item.is_file())
    return Verification(
        True,
        path,
        f"release {verified.version} (#{verified.release_sequence}) of KB {verified.kb_id}: "
        f"{len(verified.signers)} trusted signature(s), {files} payload files unchanged",
        version=verified.version,
        sequence=verified.release_sequence,
        signers=len(verified.signers),
        payload_files=files,
    )


def open_folder(path: Path) -> bool:
    """Show a folder in the system's file manager (a seam tests replace)."""
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


def when(text: str) -> str:
    """An ISO timestamp as people read it: `2026-11-01 09:30` (UTC)."""
    return text.replace("T", " ")[:16]


def approval_line(approval: ApprovalRow) -> str:
    text = f"{approval.meaning} by {approval.printed_name}"
    if approval.void:
        return f"{text} (void)"
    return text if approval.signed else f"{text} ({approval.signature})"


def approval_state(approval: ApprovalRow) -> str:
    """The approval's standing as the approvals table shows it."""
    if approval.void:
        return "void: the content changed since"
    return "valid" if approval.signed else approval.signature


def valid_sign_off(approvals: Sequence[ApprovalRow]) -> bool:
    # kb has the last word (`release_problems`, with the trust root); this only colours rows.
    return any(not a.void and a.signed and a.meaning in _SIGN_OFF for a in approvals)


# --- the versions table -------------------------------------------------------------------


class VersionsModel(ReadOnlyTableModel):
    """KB versions, newest first, with their approvals (void ones marked) and releases."""

    HEADERS = ("Version", "Created (UTC)", "By", "Change set", "Approvals", "Released as")
    VERSION_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[VersionRow, ...] = ()
        self._released: dict[int, str] = {}

    def set_choices(self, choices: ReleaseChoices) -> None:
        self.beginResetModel()
        self._rows = tuple(reversed(choices.versions))
        released: dict[int, list[str]] = {}
        for release in choices.releases:
            released.setdefault(release.kb_version, []).append(release.version)
        self._released = {number: ", ".join(names) for number, names in released.items()}
        self.endResetModel()

    def version_at(self, row: int) -> VersionRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, number: int) -> int | None:
        for row, version in enumerate(self._rows):
            if version.number == number:
                return row
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        version = self._rows[index.row()]
        column = index.column()
        if role == self.VERSION_ROLE:
            return version.number
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            if not version.approvals:
                return "No approval yet: a reviewer signs the version off first"
            return "\n".join(
                f"{approval_line(a)} at {when(a.at)} UTC — {a.reason}"
                + (" — void: the content changed since it was signed" if a.void else "")
                for a in version.approvals
            )
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            if valid_sign_off(version.approvals):
                return QColor(OK_COLOUR)
            return QColor(ERROR_COLOUR) if version.approvals else None
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("approval") if valid_sign_off(version.approvals) else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match column:
            case 0:
                return str(version.number)
            case 1:
                return when(version.created_at)
            case 2:
                return version.created_by
            case 3:
                return version.change_set or ""
            case 4:
                return "; ".join(approval_line(a) for a in version.approvals) or "—"
            case 5:
                return self._released.get(version.number, "")
        return None


# --- one signing key --------------------------------------------------------------------


class KeyRow(QWidget):
    """A private key file and the passphrase that unlocks it (asked here, never kept)."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.name = QLabel(path.name)
        self.name.setToolTip(str(path))
        self.name.setMinimumWidth(120)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(f"passphrase for {path.name}")
        self.passphrase.setToolTip("Unlocks the key for this release only; it is never stored")
        self.passphrase.textChanged.connect(self._typed)
        self.remove = QToolButton()
        self.remove.setIcon(icon("delete"))
        self.remove.setToolTip(f"Do not sign with {path.name}")
        self.remove.setAutoRaise(True)
        self.remove.clicked.connect(lambda: emit(self.remove_requested, self))
        self.message = QLabel()
        self.message.setObjectName("key_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.name)
        top.addWidget(self.passphrase, 1)
        top.addWidget(self.remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(top)
        layout.addWidget(self.message)

    def show_error(self, message: str) -> None:
        self.message.setText(message)
        self.message.show()

    def _typed(self, _text: str) -> None:
        self.message.hide()
        emit(self.changed)

    def take_passphrase(self) -> bytearray:
        """The passphrase as bytes the worker can overwrite; the field is emptied at once."""
        secret = bytearray(self.passphrase.text().encode("utf-8"))
        self.passphrase.blockSignals(True)
        self.passphrase.clear()
        self.passphrase.blockSignals(False)
        return secret


# --- the dialog --------------------------------------------------------------------------------


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{html.escape(text)}</b>")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def _message_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.hide()
    return label


class ReleaseDialog(QDialog):
    """Choose a KB version, see whether it may be released and what changed, sign, verify."""

    choices_loaded = Signal()
    checked = Signal(int)  # the KB version whose check just arrived
    released = Signal(object)  # CreatedRelease
    verified = Signal(object)  # Verification
    failed = Signal(object)  # TaskFailure of a build that wrote nothing

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        *,
        workers: Workers | None = None,
        parent: QWidget | None = None,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers or Workers(self)
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.setObjectName("release_dialog")
        self.setWindowTitle("Cut a release — KB Curator")
        self.setWindowIcon(icon("release"))
        self.resize(1120, 680)
        self.choices = ReleaseChoices((), ())
        self.check: VersionCheck | None = None
        self.key_rows: list[KeyRow] = []
        self.task: Task | None = None
        self.outcome: ReleaseOutcome | None = None
        self.verification: Verification | None = None
        self._check_task: Task | None = None
        self._version_touched = False
        self._close_when_done = False
        self.refusal = "sign in to cut a release" if actor is None else why_not(
            actor, Permission.RELEASE
        )  # fmt: skip
        left = self._build_version_side()
        right = self._build_signing_side()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([620, 480])
        self.open_button = QPushButton(icon("open"), "Open folder")
        self.open_button.setObjectName("open_folder")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip("Show the new release folder")
        self.open_button.clicked.connect(self._open_folder)
        self.cut_button = QPushButton(icon("release"), "Sign and write release")
        self.cut_button.setObjectName("cut_button")
        self.cut_button.setDefault(True)
        self.cut_button.clicked.connect(self.start_release)
        self.buttons = QDialogButtonBox()
        self.buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cut_button, QDialogButtonBox.ButtonRole.ApplyRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.banner.setVisible(self.refusal is not None)
        if self.refusal:
            self.banner.setText(f"You cannot cut a release: {self.refusal}.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addWidget(self.buttons)
        self._update_cut()
        self.load_choices()

    # --- building --------------------------------------------------------------------------

    def _build_version_side(self) -> QWidget:
        self.versions_model = VersionsModel(self)
        self.versions = QTableView()
        self.versions.setObjectName("versions")
        self.versions.setModel(self.versions_model)
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.versions.verticalHeader().hide()
        self.versions.setAlternatingRowColors(True)
        self.versions.setWordWrap(False)  # the full approvals are in each cell's tooltip
        header = self.versions.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.versions.selectionModel().currentRowChanged.connect(self._version_chosen)
        self.status = QLabel("Reading the KB versions…")
        self.status.setObjectName("version_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setFrameShape(QFrame.Shape.StyledPanel)
        self.status.setMargin(6)
        self.approvals = QTreeWidget()
        self.approvals.setObjectName("approvals")
        # Status before the reason: a long reason must not push "void" out of sight.
        self.approvals.setHeaderLabels(["Signed by", "Meaning", "Status", "When (UTC)", "Reason"])
        self.approvals.setRootIsDecorated(False)
        self.approvals.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.approvals.header().setStretchLastSection(True)
        self.changes_heading = _heading("Changes since the last release")
        self.changes_heading.setObjectName("changes_heading")
        self.changes = QTreeWidget()
        self.changes.setObjectName("changes")
        self.changes.setHeaderLabels(["Change", "Count / detail"])
        self.changes.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(_heading("1. Choose the KB version"))
        layout.addWidget(self.versions, 3)
        layout.addWidget(self.status)
        layout.addWidget(_heading("Approvals of this version"))
        layout.addWidget(self.approvals, 2)
        layout.addWidget(self.changes_heading)
        layout.addWidget(self.changes, 3)
        return side

    def _build_signing_side(self) -> QWidget:
        self.version_edit = QLineEdit()
        self.version_edit.setObjectName("release_version")
        self.version_edit.setPlaceholderText("e.g. 2026.11.0")
        self.version_edit.textEdited.connect(self._version_edited)
        self.version_edit.textChanged.connect(self._version_changed)
        self.version_message = _message_label("version_message")
        self.root_edit = QLineEdit()
        self.root_edit.setObjectName("trust_root")
        self.root_edit.setPlaceholderText("root.json — the trust root consumers pin")
        self.root_edit.textChanged.connect(self._root_changed)
        root_browse = QToolButton()
        root_browse.setText("Browse…")
        root_browse.clicked.connect(self._browse_root)
        self.root_message = _message_label("root_message")
        self.out_edit = QLineEdit()
        self.out_edit.setObjectName("out_dir")
        documents = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        self.out_edit.setText(str(Path(documents or Path.home()) / "KB releases"))
        self.out_edit.textChanged.connect(lambda _t: self._update_cut())
        out_browse = QToolButton()
        out_browse.setText("Browse…")
        out_browse.clicked.connect(self._browse_out)
        self.reason_edit = QLineEdit("Release signed")
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setToolTip("Recorded with your signature (the 'released' approval)")
        self.keys_box = QVBoxLayout()
        self.keys_box.setContentsMargins(0, 0, 0, 0)
        self.keys_box.setSpacing(4)
        self.no_keys = QLabel("No key yet: add the private key file(s) to sign with.")
        self.no_keys.setEnabled(False)
        self.keys_box.addWidget(self.no_keys)
        self.add_key_button = QPushButton(icon("new"), "Add key file…")
        self.add_key_button.setObjectName("add_key")
        self.add_key_button.clicked.connect(self._browse_key)
        keys_note = QLabel(
            "Each passphrase unlocks its key for this release only: it is cleared as soon as "
            "signing starts and never stored."
        )
        keys_note.setWordWrap(True)
        keys_note.setEnabled(False)
        form = QFormLayout()
        form.addRow("Release version", self.version_edit)
        form.addRow("", self.version_message)
        form.addRow("Trust root", _with_button(self.root_edit, root_browse))
        form.addRow("", self.root_message)
        form.addRow("Write under", _with_button(self.out_edit, out_browse))
        form.addRow("Reason", self.reason_edit)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("signer_password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("your password: it unlocks your own signing key")
        self.password_edit.setToolTip(
            "Your 'released' signature is made with your own key; the password is cleared as "
            "soon as signing starts and never stored"
        )
        self.password_edit.textChanged.connect(lambda _t: self._update_cut())
        form.addRow("Your password", self.password_edit)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_build")
        self.cancel_button.setToolTip("Stop building; nothing is written")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_release)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.stage = QLabel()
        self.stage.setObjectName("stage")
        self.stage.setWordWrap(True)
        self.error = _message_label("error")
        self.result_label = QLabel()
        self.result_label.setObjectName("result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(_heading("2. Sign it"))
        layout.addLayout(form)
        layout.addWidget(_heading("Signing keys"))
        layout.addLayout(self.keys_box)
        layout.addWidget(self.add_key_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(keys_note)
        layout.addStretch(1)
        layout.addLayout(progress_row)
        layout.addWidget(self.stage)
        layout.addWidget(self.error)
        layout.addWidget(self.result_label)
        return side

    # --- versions and their check ------------------------------------------------------

    def load_choices(self) -> None:
        kb = self.kb

        def work(_progress: ProgressFn, _cancel: CancelToken) -> ReleaseChoices:
            with kb.read() as session:
                return load_release_choices(session)

        self.workers.read("release choices", work, on_result=self._choices_arrived,
                          on_error=self._read_failed)  # fmt: skip

    def _choices_arrived(self, choices: ReleaseChoices) -> None:
        keep = self.check.version if self.check else None
        self.check = None  # approvals may have changed (a release adds one): check again
        self.choices = choices
        self.versions_model.set_choices(choices)
        if not self._version_touched:
            self.version_edit.setText(suggest_version(choices.releases, self.today))
        self._version_changed(self.version_edit.text())
        if not choices.versions:
            self.status.setText("This KB has no versions yet: nothing to release.")
        else:
            # The newest version a reviewer signed off is what a release manager most often
            # releases; any other can still be chosen (and its blockers are then shown).
            signed = [v for v in choices.versions if valid_sign_off(v.approvals)]
            default = keep or (signed[-1] if signed else choices.versions[-1]).number
            self.select_version(default)
        emit(self.choices_loaded)

    def select_version(self, number: int) -> None:
        row = self.versions_model.row_of(number)
        if row is not None:
            self.versions.selectRow(row)

    def selected_version(self) -> int | None:
        index = self.versions.selectionModel().currentIndex()
        if not index.isValid():
            return None
        value = index.data(VersionsModel.VERSION_ROLE)
        return int(value) if value is not None else None

    def _version_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        number = int(current.data(VersionsModel.VERSION_ROLE))
        if self.check is not None and self.check.version == number and self._check_task is None:
            return
        self.check = None
        self.status.setText(f"Checking version {number}: validation, approvals, changes…")
        self.approvals.clear()
        self.changes.clear()
        self._update_cut()
        kb = self.kb

        def work(_progress: ProgressFn, _cancel: CancelToken) -> VersionCheck:
            with kb.read() as session:
                return check_version(session, number)

        if self._check_task is not None:
            self._check_task.cancel()
        task = self.workers.read(f"check version {number}", work)
        task.finished.connect(lambda result, t=task: self._check_arrived(t, result))
        task.failed.connect(lambda failure, t=task: self._check_failed(t, failure))
        self._check_task = task

    def _check_arrived(self, task: Task, check: VersionCheck) -> None:
        if task is not self._check_task:
            return  # the user chose another version meanwhile
        self._check_task = None
        self.check = check
        self._show_check(check)
        self._update_cut()
        emit(self.checked, check.version)

    def _check_failed(self, task: Task, failure: TaskFailure) -> None:
        if task is self._check_task:
            self._check_task = None
            self.status.setText(
                f"<span style='color:{ERROR_COLOUR}'>Could not check the version: "
                f"{html.escape(failure.message)}</span>"
            )

    def _read_failed(self, failure: TaskFailure) -> None:
        self.status.setText(
            f"<span style='color:{ERROR_COLOUR}'>Could not read the KB: "
            f"{html.escape(failure.message)}</span>"
        )

    def _show_check(self, check: VersionCheck) -> None:
        if check.ready:
            valid = [a for a in check.approvals if not a.void and a.meaning in _SIGN_OFF]
            names = ", ".join(sorted({a.printed_name for a in valid}))
            self.status.setText(
                f"<span style='color:{OK_COLOUR}'>✔ Version {check.version} can be released:"
                f"</span> it validates cleanly and is signed off by {html.escape(names)}."
            )
        else:
            items = "".join(f"<li>{html.escape(problem)}</li>" for problem in check.problems)
            self.status.setText(
                f"<span style='color:{ERROR_COLOUR}'>✘ Version {check.version} cannot be "
                f"released:</span><ul style='margin:0'>{items}</ul>"
            )
        self.approvals.clear()
        for approval in check.approvals:
            item = QTreeWidgetItem(
                [
                    f"{approval.printed_name} ({approval.role})",
                    approval.meaning,
                    approval_state(approval),
                    when(approval.at),
                    approval.reason,
                ]
            )
            item.setToolTip(2, f"sha256 of the content signed: {approval.digest}")
            item.setToolTip(4, approval.reason)
            good = not approval.void and approval.signed
            colour = QColor(OK_COLOUR if good else ERROR_COLOUR)
            item.setForeground(2, colour)
            self.approvals.addTopLevelItem(item)
        if not check.approvals:
            self.approvals.addTopLevelItem(QTreeWidgetItem(["No approval yet", "", "", "", ""]))
        self._show_changes(check)

    def _show_changes(self, check: VersionCheck) -> None:
        self.changes.clear()
        previous = check.previous
        if previous is None:
            total = sum(check.records.values())
            self.changes_heading.setText(
                f"<b>First release of this KB</b> — consumers receive all {total:,} records"
            )
            for rtype, count in sorted(check.records.items()):
                self.changes.addTopLevelItem(QTreeWidgetItem([rtype, f"{count:,}"]))
            return
        self.changes_heading.setText(
            f"<b>Changes since release {html.escape(previous.version)}</b> "
            f"(#{previous.sequence}, KB version {previous.kb_version})"
        )
        if not check.summary:
            self.changes.addTopLevelItem(QTreeWidgetItem(["No changes", "0"]))
            return
        for category in CATEGORIES:
            number = check.summary.get(category, 0)
            if not number:
                continue
            top = QTreeWidgetItem([CATEGORY_LABELS.get(category, category), str(number)])
            top.setData(0, Qt.ItemDataRole.UserRole, category)
            for item in check.changes:
                if item["category"] == category:
                    top.addChild(QTreeWidgetItem([str(item["id"]), _change_detail(item)]))
            self.changes.addTopLevelItem(top)

    # --- inputs ---------------------------------------------------------------------------

    def _version_edited(self, _text: str) -> None:
        self._version_touched = True

    def _version_changed(self, text: str) -> None:
        problem = version_problem(text.strip(), self.choices.releases)
        # An empty field says nothing until the user has typed in it.
        shown = problem if problem and (text or self._version_touched) else None
        self.version_message.setText(shown or "")
        self.version_message.setVisible(shown is not None)
        self._update_cut()

    def _root_changed(self, _text: str) -> None:
        self.root_message.hide()
        self._update_cut()

    def add_key(self, path: Path) -> KeyRow:
        """Sign with the key in `path` too (its passphrase is asked in the row)."""
        for row in self.key_rows:
            if row.path == path:
                return row
        row = KeyRow(path, self)
        row.changed.connect(self._update_cut)
        row.remove_requested.connect(self._remove_key)
        row.passphrase.setObjectName(f"passphrase_{len(self.key_rows)}")
        self.key_rows.append(row)
        self.keys_box.addWidget(row)
        self.no_keys.hide()
        self._update_cut()
        row.passphrase.setFocus()
        return row

    def _remove_key(self, row: KeyRow) -> None:
        if row in self.key_rows and self.task is None:
            self.key_rows.remove(row)
            row.passphrase.clear()
            row.deleteLater()
            self.no_keys.setVisible(not self.key_rows)
            self._update_cut()

    def _browse_root(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Trust root", self.root_edit.text(), "Trust root (*.json);;All files (*)"
        )
        if path:
            self.root_edit.setText(path)

    def _browse_key(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Private signing keys", "", "Encrypted private keys (*.key *.pem);;All files (*)"
        )
        for path in paths:
            self.add_key(Path(path))

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Write the release under", self.out_edit.text()
        )
        if path:
            self.out_edit.setText(path)

    def why_not_cut(self) -> str | None:
        """What stops the release from being cut now (None when nothing does)."""
        if self.refusal:
            return self.refusal
        if self.task is not None:
            return "a release is being built"
        if self.outcome is not None:
            return "this release is cut; close the dialog or choose another version name"
        number = self.selected_version()
        if number is None:
            return "choose a KB version"
        if self.check is None or self.check.version != number:
            return f"checking version {number}…"
        if self.check.problems:
            return self.check.problems[0]
        problem = version_problem(self.version_edit.text().strip(), self.choices.releases)
        if problem:
            return problem
        if not self.root_edit.text().strip():
            return "choose the trust root file (root.json)"
        if not self.key_rows:
            return "add the private key file(s) to sign with"
        for row in self.key_rows:
            if not row.passphrase.text():
                return f"enter the passphrase for {row.path.name}"
        if not self.out_edit.text().strip():
            return "choose the folder to write the release under"
        if not self.reason_edit.text().strip():
            return "give a reason for your signature"
        if not self.password_edit.text():
            return "enter your password to sign"
        return None

    def _update_cut(self) -> None:
        if not hasattr(self, "cut_button"):
            return  # still building the widgets
        reason = self.why_not_cut()
        self.cut_button.setEnabled(reason is None)
        self.cut_button.setToolTip(
            reason[:1].upper() + reason[1:] if reason else
            "Validate, sign and write the release, then verify it with the trust root"
        )  # fmt: skip

    # --- building the release --------------------------------------------------------------

    def start_release(self) -> None:
        if self.why_not_cut() is not None or self.check is None or self.actor is None:
            return
        request = ReleaseRequest(
            actor=self.actor,
            kb_version=self.check.version,
            version=self.version_edit.text().strip(),
            root_path=Path(self.root_edit.text().strip()).expanduser(),
            key_paths=tuple(row.path for row in self.key_rows),
            out_dir=Path(self.out_edit.text().strip()).expanduser(),
            reason=self.reason_edit.text().strip(),
        )
        passphrases = [row.take_passphrase() for row in self.key_rows]
        password = bytearray(self.password_edit.text().encode("utf-8"))
        self.password_edit.blockSignals(True)
        self.password_edit.clear()
        self.password_edit.blockSignals(False)
        kb = self.kb

        def work(progress: ProgressFn, cancel: CancelToken) -> ReleaseOutcome:
            return cut_release(kb, request, passphrases, progress, cancel, password=password)

        def finished() -> None:
            # The worker wiped them; this covers a task cancelled before it started.
            for secret in passphrases:
                wipe(secret)
            wipe(password)

        for row in self.key_rows:
            row.message.hide()
        self.error.hide()
        self.root_message.hide()
        self.result_label.hide()
        self.stage.setText(
            f"Validating and signing version {request.kb_version} as {request.version}…"
        )
        self.progress.setRange(0, 0)  # validation has no steps to count; the build does
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        task = self.workers.write(
            f"release {request.version}",
            work,
            on_result=self._released,
            on_error=self._release_failed,
            on_progress=self._progressed,
        )
        task.cancelled.connect(self._release_cancelled)
        task.done.connect(finished)
        self.task = task
        self._set_busy(True)

    def cancel_release(self) -> None:
        if self.task is not None:
            self.cancel_button.setEnabled(False)
            self.stage.setText("Cancelling…")
            self.task.cancel()

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.stage.setText(f"Writing and signing the release: step {done} of {total}")

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.versions, self.version_edit, self.root_edit, self.out_edit, self.reason_edit,
            self.add_key_button,
        ):  # fmt: skip
            widget.setEnabled(not busy)
        for row in self.key_rows:
            row.setEnabled(not busy)
        self.close_button.setEnabled(not busy)
        self._update_cut()

    def _build_ended(self) -> None:
        self.task = None
        self.progress.hide()
        self.cancel_button.hide()
        self._set_busy(False)
        if self._close_when_done:
            super().reject()

    def _released(self, outcome: ReleaseOutcome) -> None:
        self.outcome = outcome
        created = outcome.created
        self._build_ended()
        self.open_button.setEnabled(True)
        self.open_button.setToolTip(str(created.path))
        # The left side keeps showing the check the release was cut from: reloading it now
        # would only say "no changes since 2026.11.0", which reads as if nothing happened.
        self.stage.setText(
            f"Release {created.version} (#{created.sequence}) of KB version "
            f"{created.kb_version} written. Verifying it…"
        )
        emit(self.released, created)
        self._verify(created.path, outcome.root)

    def _verify(self, path: Path, root: dict[str, Any]) -> None:
        def work(progress: ProgressFn, _cancel: CancelToken) -> Verification:
            return verify_folder(path, root, progress)

        self.progress.setRange(0, 0)
        self.progress.show()
        self.workers.read(
            f"verify {path.name}",
            work,
            on_result=self._verified,
            on_error=self._verify_failed,
            on_progress=self._verify_progressed,
        )

    def _verify_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _verified(self, verification: Verification) -> None:
        self.verification = verification
        self.progress.hide()
        root = html.escape(Path(self.root_edit.text()).name)
        folder = html.escape(str(verification.path))
        if verification.ok:
            self.stage.setText(f"Release {verification.version} is written, signed and verified.")
            self.result_label.setText(
                f"<p><span style='color:{OK_COLOUR}'><b>✔ Verified</b></span> against {root}, "
                f"as a consumer would (<code>kb release verify</code>): "
                f"{html.escape(verification.message)}.</p><p>Folder: {folder}</p>"
            )
        else:
            self.stage.setText("The release was written but does not verify: do not publish it.")
            self.result_label.setText(
                f"<p><span style='color:{ERROR_COLOUR}'><b>✘ NOT verified</b></span> against "
                f"{root} ({html.escape(verification.reason_code)}): "
                f"{html.escape(verification.message)}</p><p>Folder: {folder}</p>"
            )
        self.result_label.show()
        emit(self.verified, verification)

    def _verify_failed(self, failure: TaskFailure) -> None:
        self.progress.hide()
        self.result_label.setText(
            f"<p style='color:{ERROR_COLOUR}'><b>✘ Could not verify the release:</b> "
            f"{html.escape(failure.message)}</p>"
        )
        self.result_label.show()

    def _release_failed(self, failure: TaskFailure) -> None:
        self._build_ended()
        self.stage.setText("Not released: nothing was written.")
        index = _key_index(failure.field)
        if index is not None and 0 <= index < len(self.key_rows):
            # Beside the key it concerns: a wrong passphrase is the commonest slip.
            self.key_rows[index].show_error(failure.message)
            self.key_rows[index].passphrase.setFocus()
        else:
            target = self.root_message if failure.field == "root" else self.error
            target.setText(failure.message)
            target.show()
        emit(self.failed, failure)

    def _release_cancelled(self) -> None:
        self._build_ended()
        self.stage.setText("Cancelled: nothing was written.")

    # --- closing ----------------------------------------------------------------------------

    def _open_folder(self) -> None:
        if self.outcome is not None:
            open_folder(self.outcome.created.path)

    def reject(self) -> None:
        if self.task is not None:
            # Closing mid-build cancels it; the dialog closes once the worker has cleaned up.
            self._close_when_done = True
            self.cancel_release()
            return
        super().reject()


def _with_button(edit: QLineEdit, button: QToolButton) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return holder


def _key_index(field_name: str | None) -> int | None:
    if field_name and field_name.startswith("key:"):
        return int(field_name.split(":", 1)[1])
    return None


def _change_detail(item: dict[str, Any]) -> str:
    if "old" in item or "new" in item:
        return f"{_short(item.get('old'))} → {_short(item.get('new'))}"
    if "change" in item:
        return str(item["change"])
    if "fields" in item:
        return ", ".join(str(name) for name in item["fields"])
    return ""


def _short(value: Any) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text if len(text) <= 60 else text[:59] + "…"
