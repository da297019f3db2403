"""The About box: what this is and the versions of everything it runs on (for bug reports).

`SCREEN` puts it, and Qt's own, in the Help menu (curator/extension.py).
"""

from __future__ import annotations

import html
import platform
import sqlite3

import PySide6
import sqlalchemy
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from curator.extension import Host, Screen
from curator.icons import icon
from kb import __version__ as kb_version
from kb.storage.db import Kb


def database_version(kb: Kb | None) -> str:
    """The database server's version as the driver reports it (no query, so no waiting)."""
    if kb is None:
        return "no KB open"
    dialect = kb.engine.dialect
    info = getattr(dialect, "server_version_info", None)
    if dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    version = ".".join(str(part) for part in info) if info else "unknown"
    return f"{dialect.name} {version}"


def versions(kb: Kb | None) -> list[tuple[str, str]]:
    return [
        ("KB Curator", kb_version),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("SQLAlchemy", sqlalchemy.__version__),
        ("Database", database_version(kb)),
        ("Python", platform.python_version()),
        ("System", f"{platform.system()} {platform.release()}"),
    ]


class AboutDialog(QDialog):
    def __init__(self, kb: Kb | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About KB Curator")
        self.setObjectName("about_dialog")
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        rows = "".join(
            f"<tr><td style='padding-right:14px'>{html.escape(name)}</td>"
            f"<td>{html.escape(value)}</td></tr>"
            for name, value in versions(kb)
        )
        self.text = QLabel(
            "<h3 style='margin-bottom:4px'>KB Curator</h3>"
            "<p>Curate, review, sign and release a precision-oncology knowledge base: which "
            "biomarker, above which threshold, in which tumour type, makes a patient eligible "
            "for which therapy or trial.</p>"
            f"<table>{rows}</table>"
        )
        self.text.setObjectName("about_text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setMinimumWidth(380)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        top = QHBoxLayout()
        top.addWidget(logo)
        top.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)


def install_about(host: Host) -> QAction:
    """Add Help ▸ About KB Curator and Help ▸ About Qt."""
    window = host.as_widget()
    about = QAction(icon("about"), "About KB Curator", window)
    about.setObjectName("about_kb_curator")
    about.triggered.connect(lambda _checked=False: AboutDialog(host.kb, window).exec())
    about_qt = QAction("About Qt", window)
    about_qt.setObjectName("about_qt")
    about_qt.triggered.connect(lambda _checked=False: QApplication.aboutQt())
    host.add_action(about, menu="Help")
    host.add_action(about_qt, menu="Help")
    return about


SCREEN = Screen("about", install_about)
