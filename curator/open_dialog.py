"""Choose a KB to open: a recent one, a SQLite file (new or existing), or a database URL."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from curator.icons import icon


class OpenKbDialog(QDialog):
    def __init__(self, recent: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a KB — KB Curator")
        self.setObjectName("open_dialog")
        self.setMinimumWidth(560)
        self.recent = QListWidget()
        self.recent.setObjectName("recent")
        self.recent.addItems(list(recent))
        self.location = QLineEdit()
        self.location.setObjectName("location")
        self.location.setPlaceholderText(
            "a SQLite file, or postgresql://host/database for a team's shared KB"
        )
        browse = QPushButton(icon("open"), "Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Recent KBs"))
        layout.addWidget(self.recent)
        layout.addWidget(QLabel("Location (a new SQLite file is created empty)"))
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self.recent.currentTextChanged.connect(self.location.setText)
        self.recent.itemDoubleClicked.connect(lambda _item: self._accept())
        self._update()
        self.location.textChanged.connect(self._update)

    def _update(self) -> None:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        button.setEnabled(bool(self.location.text().strip()))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Open or create a SQLite KB",
            self.location.text(),
            "KB files (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.location.setText(path)

    def _accept(self) -> None:
        if self.location.text().strip():
            self.accept()

    def url(self) -> str:
        return self.location.text().strip()
