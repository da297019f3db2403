"""The window's status bar: which KB, its version, who is signed in, and whether work runs."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget
from sqlalchemy.engine import make_url

from curator.workers import Workers
from kb.review.users import Actor
from kb.storage.db import Kb
from kb.storage.meta import KbInfo


def kb_label(kb: Kb, info: KbInfo | None) -> str:
    """The KB's name and where it lives, for the title and status bars."""
    url = make_url(kb.url)
    if kb.is_sqlite:
        where = (url.database or "").rsplit("/", 1)[-1]
    else:
        where = f"{url.host or 'localhost'}/{url.database or ''}"
    name = info.name if info and info.name else "KB"
    return f"{name} — {where}"


class KbStatusBar(QStatusBar):
    """Messages on the left; the KB, its version, the user and their role on the right."""

    def __init__(
        self, kb: Kb, actor: Actor | None, workers: Workers, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.workers = workers
        self.kb_status = QLabel(kb_label(kb, None))
        self.kb_status.setObjectName("status_kb")
        self.version_status = QLabel()
        self.version_status.setObjectName("status_version")
        self.user_status = QLabel(f"User: {actor.name}" if actor else "Not signed in")
        self.user_status.setObjectName("status_user")
        self.role_status = QLabel(f"Role: {actor.role.value}" if actor else "read only")
        self.role_status.setObjectName("status_role")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.hide()
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(300)
        self._busy_timer.timeout.connect(lambda: self.busy_bar.setVisible(self.workers.busy))
        for widget in (
            self.busy_bar, self.kb_status, self.version_status, self.user_status, self.role_status
        ):  # fmt: skip
            self.addPermanentWidget(widget)
        workers.busy_changed.connect(self._busy)

    def show_info(self, info: KbInfo) -> None:
        """Show the KB's name and version as just read."""
        self.kb_status.setText(kb_label(self.kb, info))
        self.kb_status.setToolTip(make_url(self.kb.url).render_as_string(hide_password=True))
        self.version_status.setText(f"Version {info.version}")

    def _busy(self, busy: bool) -> None:
        # Only show the spinner for work that lasts: quick reads would make it flicker.
        if busy:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
            self.busy_bar.hide()
