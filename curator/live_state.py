"""Live state: the window hears of other users' submits, merges and releases without F5.

A timer polls kb's change counter (kb/storage/live.py: the audit tip, newest version and
release count in one query) every few seconds off the UI thread; on PostgreSQL a listener
thread also waits for the NOTIFY the audit append sends, and polls at once when it arrives. When
the counter moves because of someone else (or a new version or release), the window reads the
KB again (`Host.refresh`: counts, version, draft, the page shown, never an edit in progress)
and a notice in its corner says what happened, without taking the focus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from curator.extension import Host, Screen
from curator.qt_compat import emit
from curator.workers import CancelToken, TaskFailure, Workers
from kb.review.audit import EventRow, list_events
from kb.storage.db import Kb
from kb.storage.live import ChangeCounter, change_counter, listener_for

POLL_MS = 3000
# Drafting by the signed-in user (staging a change) tells the window nothing it did not do.
_OWN_QUIET = ("change.", "change_set.create")
_EVENTS_READ = 50


@dataclass(frozen=True, slots=True)
class LiveChange:
    """The KB moved from `before` to `after`; `events` are the audit events between, oldest
    first (the newest 50 at most)."""

    before: ChangeCounter
    after: ChangeCounter
    events: tuple[EventRow, ...]

    def others(self, me: str | None) -> list[EventRow]:
        return [e for e in self.events if e.actor != me]

    def matters(self, me: str | None) -> bool:
        """Whether the window should read the KB again: a new version or release, or anything
        but the signed-in user's own drafting."""
        if (self.after.version, self.after.releases) != (self.before.version, self.before.releases):
            return True
        if not self.events:  # moved, but by what is unknown: read again to be sure
            return True
        return any(e.actor != me or not e.action.startswith(_OWN_QUIET) for e in self.events)

    def notice(self, me: str | None) -> str:
        """What others did, in a line each (empty: nothing worth a notice)."""
        lines: list[str] = []
        for event in self.others(me):
            line = describe(event)
            if line and line not in lines:
                lines.append(line)
        if self.after.version != self.before.version and not any(
            "version" in line for line in lines
        ):
            lines.append(f"The KB is now at version {self.after.version}")
        if len(lines) > 4:
            lines = [*lines[:3], f"and {len(lines) - 3} more changes"]
        return "\n".join(lines)


def describe(event: EventRow) -> str:
    """One audit event as a sentence for the notice ("" for the fine-grained ones)."""
    who, what, details = event.actor, event.subject or "", event.details
    match event.action:
        case "change_set.approve":
            return f"{who} merged {what} into version {details.get('version', '?')}"
        case "change_set.submit":
            return f"{who} submitted {what} for review"
        case "change_set.reject":
            return f"{who} rejected {what}"
        case "change_set.withdraw":
            return f"{who} withdrew {what}"
        case "change_set.rebase":
            return f"{who} rebased {what}"
        case "release.create":
            return f"{who} released {what} (version {details.get('kb_version', '?')})"
        case "version.approve":
            return f"{who} signed off version {what}"
        case "vocabulary.load":
            return f"{who} loaded a vocabulary release"
        case action if action.startswith(("change.", "change_set.create")):
            return f"{who} is editing a draft"
    return ""


def read_change(kb: Kb, since: ChangeCounter | None) -> tuple[ChangeCounter, tuple[EventRow, ...]]:
    """The counter now and, when it moved past `since`, the events that moved it."""
    with kb.read() as session:
        now = change_counter(session)
        if since is None or now.audit_seq <= since.audit_seq:
            return now, ()
        rows = list_events(session, limit=_EVENTS_READ)
    return now, tuple(reversed([e for e in rows if e.seq > since.audit_seq]))


class LiveState(QObject):
    """Polls the change counter (and listens on PostgreSQL); emits `changed` on a move."""

    changed = Signal(object)  # LiveChange
    _poked = Signal()

    def __init__(
        self,
        kb: Kb,
        workers: Workers,
        *,
        interval_ms: int = POLL_MS,
        parent: QObject | None = None,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.active = active
        self.workers = workers
        self.counter: ChangeCounter | None = None
        self._polling = False
        self._again = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self._poked.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        self.stop_event = threading.Event()
        self._listener_thread: threading.Thread | None = None
        self.listening = False

    def start(self) -> None:
        self.poll()
        self.timer.start()
        self._listen()

    def stop(self) -> None:
        self.timer.stop()
        self.stop_event.set()
        if self._listener_thread is not None:
            self._listener_thread.join(timeout=3)
            self._listener_thread = None

    def set_interval(self, msecs: int) -> None:
        self.timer.setInterval(msecs)

    def _listen(self) -> None:
        try:
            listener = listener_for(self.kb.url)
        except Exception:  # no LISTEN (a login without CONNECT, a pooler): polling suffices
            listener = None
        if listener is None:
            return
        self.listening = True
        stop, poke = self.stop_event, self._poked

        def run() -> None:
            try:
                while not stop.is_set():
                    if listener.wait(0.5):
                        emit(poke)
            except Exception:
                pass  # the connection dropped: the timer still polls
            finally:
                listener.close()

        self._listener_thread = threading.Thread(target=run, name="kb-listen", daemon=True)
        self._listener_thread.start()

    def poll(self) -> None:
        """Read the counter off the UI thread (one read at a time; a poke meanwhile repeats)."""
        if self.counter is not None and not self.active():  # a closed window's KB may be too
            return
        if self._polling:
            self._again = True
            return
        self._polling = True
        kb, since = self.kb, self.counter

        def work(
            _progress: Callable[[int, int], None], _cancel: CancelToken
        ) -> tuple[ChangeCounter, tuple[EventRow, ...]]:
            return read_change(kb, since)

        self.workers.read("live state", work, on_result=self._arrived, on_error=self._failed)

    def _failed(self, _failure: TaskFailure) -> None:
        self._done()

    def _arrived(self, result: tuple[ChangeCounter, tuple[EventRow, ...]]) -> None:
        now, events = result
        before, self.counter = self.counter, now
        if before is not None and now != before:
            emit(self.changed, LiveChange(before, now, events))
        self._done()

    def _done(self) -> None:
        self._polling = False
        if self._again:
            self._again = False
            self.poll()


class LiveNotice(QFrame):
    """A non-modal notice in the window's bottom-right corner; it hides itself after a while."""

    def __init__(self, window: QWidget, *, msecs: int = 15_000) -> None:
        super().__init__(window)
        self.setObjectName("live_notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "QFrame#live_notice { background: #1f4e79; border-radius: 6px; }"
            "QFrame#live_notice QLabel, QFrame#live_notice QToolButton { color: white; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.label = QLabel()
        self.label.setObjectName("live_notice_text")
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 6, 8)
        row.addWidget(self.label, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(msecs)
        self.timer.timeout.connect(self.hide)
        window.installEventFilter(self)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.setFixedWidth(min(420, max(260, self.parentWidget().width() // 3)))
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self.timer.start()

    def _place(self) -> None:
        window = self.parentWidget()
        self.move(window.width() - self.width() - 16, window.height() - self.height() - 40)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False


@dataclass
class LiveUi:
    """What the screen installs; tests reach it with the window's `installed(LiveUi)`."""

    state: LiveState
    notice: LiveNotice
    refreshed: int = 0


def install_live_state(host: Host, *, interval_ms: int = POLL_MS) -> LiveUi:
    window = host.as_widget()
    state = LiveState(
        host.kb, host.workers, interval_ms=interval_ms, parent=window, active=window.isVisible
    )
    ui = LiveUi(state, LiveNotice(window))
    me = host.actor.name if host.actor is not None else None

    def changed(change: LiveChange) -> None:
        if not change.matters(me):
            return
        ui.refreshed += 1
        host.refresh()
        text = change.notice(me)
        if text:
            ui.notice.show_text(text + "\nThe window shows the KB as it is now.")
            host.show_message(text.splitlines()[0], 10_000)

    state.changed.connect(changed)
    stop = state.stop_event
    window.destroyed.connect(lambda _obj=None: stop.set())
    state.start()
    return ui


SCREEN = Screen("live state", install_live_state)
