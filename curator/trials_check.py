"""Tools ▸ Check trials against the registry (issue 7 item 5).

Three steps, each on a worker: read the KB's NCT ids (a short read), ask ClinicalTrials.gov
(network only: no transaction is open while the registry answers, however slowly), then stage
the differences as one draft change set (a write). kb.importing.trials_sync does the comparing and
staging; this dialog shows progress, lets the curator cancel while the registry is read, and
shows the per-trial summary. A registry error is shown with kb's message, which names the
trial, and nothing is staged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from curator.extension import Host, Screen
from curator.icons import icon
from curator.qt_compat import emit
from curator.settings import Settings
from curator.workers import Cancelled, CancelToken, Task, TaskFailure, Workers
from kb.importing.trials_sync import (
    DEFAULT_BASE_URL,
    RegistryAnswer,
    SyncCancelled,
    SyncResult,
    fetch_registry,
    kb_trial_ids,
    stage_registry_check,
)
from kb.review.users import Actor, Permission, why_not
from kb.storage.db import Kb

REGISTRY_KEY = "trials/registry_base_url"
_PROBLEM = "#d64545"


def registry_base_url(settings: QSettings) -> str:
    """The registry the check asks: the remembered URL, else ClinicalTrials.gov."""
    value = settings.value(REGISTRY_KEY, DEFAULT_BASE_URL)
    text = str(value or "").strip()
    return text or DEFAULT_BASE_URL


def set_registry_base_url(settings: QSettings, url: str) -> None:
    settings.setValue(REGISTRY_KEY, url.strip() or DEFAULT_BASE_URL)


def qsettings_of(settings: Settings) -> QSettings:
    """The QSettings behind the app's Settings, so the registry URL is kept in the same store
    (and a test that points Settings at an ini file points this there too)."""
    return settings._settings


class TrialsCheckDialog(QDialog):
    """Runs one registry check and shows what it found. Emits `change_set_staged` with the
    draft's human id when differences were staged."""

    check_finished = Signal(str)  # "staged", "no differences", "failed", "cancelled"
    change_set_staged = Signal(str)

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        workers: Workers,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.settings = settings
        self.sync_result: SyncResult | None = None
        self.error: str | None = None
        self._task: Task | None = None
        self.setObjectName("trials_check")
        self.setWindowTitle("Check trials against the registry")
        self.setWindowIcon(icon("trial"))

        intro = QLabel(
            "Compares every trial in the KB with the registry — status, phase, title, age "
            "limits, sex, arms — and proposes the differences as <b>one draft change set</b> "
            "for review. Nothing changes in the KB until a reviewer approves it; trials the "
            "registry no longer knows are reported, never deleted."
        )
        intro.setWordWrap(True)
        self.url_edit = QLineEdit(registry_base_url(settings))
        self.url_edit.setObjectName("registry_url")
        self.url_edit.setToolTip("The ClinicalTrials.gov API v2 base URL (remembered)")
        form = QFormLayout()
        form.addRow("Registry:", self.url_edit)
        self.phase = QLabel("Ready.")
        self.phase.setObjectName("trials_phase")
        self.phase.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("trials_progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("trials_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.start_button = QPushButton(icon("trial"), "Check now")
        self.start_button.setObjectName("trials_start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        run = QHBoxLayout()
        run.addWidget(self.progress, 1)
        run.addWidget(self.cancel_button)
        run.addWidget(self.start_button)
        self.headline = QLabel()
        self.headline.setObjectName("trials_headline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report = QPlainTextEdit()
        self.report.setObjectName("trials_report")
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The per-trial summary appears here.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = buttons.addButton(
            "Open the change set", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.setObjectName("trials_open")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(run)
        layout.addWidget(self.phase)
        layout.addWidget(self.headline)
        layout.addWidget(self.report, 1)
        layout.addWidget(buttons)
        self.resize(820, 520)
        refusal = self.refusal()
        if refusal:
            self.start_button.setEnabled(False)
            self.start_button.setToolTip(refusal)
            self.phase.setText(f"Cannot check: {refusal}.")

    def refusal(self) -> str | None:
        """Why this user may not run a check (it stages a change set); kb checks it again."""
        if self.actor is None:
            return "sign in to check trials"
        return why_not(self.actor, Permission.EDIT)

    @property
    def running(self) -> bool:
        return self._task is not None

    # -- running -------------------------------------------------------------------------

    def start(self) -> None:
        if self.running or self.actor is None:
            return
        base_url = self.url_edit.text().strip() or DEFAULT_BASE_URL
        set_registry_base_url(self.settings, base_url)
        self.sync_result, self.error = None, None
        self.report.clear()
        self.headline.clear()
        self.open_button.setEnabled(False)
        kb = self.kb

        def ask(progress: Callable[[int, int], None], cancel: CancelToken) -> RegistryAnswer:
            with kb.read() as session:
                ids = kb_trial_ids(session)
            # The read session is closed: the registry may take minutes, a transaction must not.
            if not ids:
                return RegistryAnswer(base_url.rstrip("/"), (), {}, (), 0)
            try:
                return fetch_registry(
                    ids, base_url=base_url, progress=progress, cancel=cancel.is_cancelled
                )
            except SyncCancelled:
                raise Cancelled from None

        self._set_running(True, f"Asking {base_url} about the KB's trials…")
        task = self.workers.read("registry check", ask)
        task.progressed.connect(self._progress)
        task.finished.connect(lambda answer, t=task: self._answered(t, answer))
        task.failed.connect(lambda failure, t=task: self._failed(t, failure))
        task.cancelled.connect(lambda t=task: self._cancelled(t))
        self._task = task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.phase.setText("Cancelling…")

    # Task callbacks check isValid(self) first: the dialog may be closed and deleted before a
    # worker answers.

    def _progress(self, done: int, total: int) -> None:
        if not isValid(self):
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.phase.setText(f"Asking the registry: {done} of {total} trial(s) answered…")

    def _answered(self, task: Task, answer: RegistryAnswer) -> None:
        if not isValid(self) or task is not self._task or self.actor is None:
            return
        if not answer.requested:
            self._task = None
            self._set_running(False, "The KB has no trials to check.")
            self.headline.setText("<b>No trials in the KB</b>: nothing was checked.")
            emit(self.check_finished, "no differences")
            return
        kb, actor = self.kb, self.actor

        def stage(_progress: Callable[[int, int], None], _cancel: CancelToken) -> SyncResult:
            with kb.unit_of_work() as session:
                return stage_registry_check(session, actor=actor, answer=answer)

        # Staging is one short transaction: it is not cancelled half-way.
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.phase.setText("Comparing with the KB and staging the differences…")
        staged = self.workers.write("stage registry check", stage)
        staged.finished.connect(lambda result, t=staged: self._staged(t, result))
        staged.failed.connect(lambda failure, t=staged: self._failed(t, failure))
        self._task = staged

    def _staged(self, task: Task, result: SyncResult) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.sync_result = result
        self.report.setPlainText("\n".join(result.lines()))
        if result.change_set:
            self._set_running(False, "Done.")
            count = len(result.changed)
            differ = f"{count} trial differs" if count == 1 else f"{count} trials differ"
            self.headline.setText(
                f"<b>{differ} from the registry</b>: "
                f"proposed in draft change set <b>{result.change_set}</b> for review."
            )
            self.open_button.setEnabled(True)
            self.open_button.setText(f"Open {result.change_set}")
            emit(self.check_finished, "staged")
            emit(self.change_set_staged, result.change_set)
        else:
            self._set_running(False, "Done.")
            self.headline.setText(
                "<b>No differences</b>: the KB agrees with the registry; no change set was made."
            )
            emit(self.check_finished, "no differences")

    def _failed(self, task: Task, failure: TaskFailure) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self.error = failure.message
        self._set_running(False, "Stopped: nothing was staged.")
        self.headline.setText(
            f"<span style='color:{_PROBLEM}'><b>The check failed</b></span> — nothing was staged."
        )
        self.report.setPlainText(failure.message)
        emit(self.check_finished, "failed")

    def _cancelled(self, task: Task) -> None:
        if not isValid(self) or task is not self._task:
            return
        self._task = None
        self._set_running(False, "Cancelled: nothing was staged.")
        emit(self.check_finished, "cancelled")

    def _set_running(self, running: bool, text: str) -> None:
        self.start_button.setEnabled(not running and self.refusal() is None)
        self.cancel_button.setEnabled(running)
        self.url_edit.setEnabled(not running)
        if running:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if self.sync_result is not None else 0)
        self.phase.setText(text)

    def _open(self) -> None:
        if self.sync_result is not None and self.sync_result.change_set:
            emit(self.change_set_staged, self.sync_result.change_set)

    def done(self, result: int) -> None:
        # Closing mid-check stops the network part; a staging write finishes on its own.
        self.cancel()
        super().done(result)


# --- the main window's hook ----------------------------------------------------------------


def install_trials_check(host: Host) -> QAction:
    """Add Tools ▸ Check trials against the registry… to the main window."""
    action = QAction(icon("trial"), "Check trials against the registry…", host.as_widget())
    action.setObjectName("check_trials")
    action.setStatusTip(
        "Compare the KB's trials with ClinicalTrials.gov and propose the differences for review"
    )
    action.triggered.connect(lambda _checked=False: open_trials_check(host))
    return host.add_action(action, menu="Tools")


def open_trials_check(host: Host) -> TrialsCheckDialog:
    """Open the check (non-modal); the change set it stages shows in the draft dock."""
    dialog = TrialsCheckDialog(
        host.kb, host.actor, host.workers, qsettings_of(host.settings), host.as_widget()
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    # The check's change set is the curator's newest draft: the draft dock shows it.
    dialog.change_set_staged.connect(lambda _change_set: host.show_draft())
    dialog.show()
    return dialog


SCREEN = Screen("trials_check", install_trials_check)
