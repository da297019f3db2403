"""The main window: a navigator by record type, a searchable table, and a record pane."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from curator.record_model import RecordTableModel
from kb.db import Kb
from kb.enums import RecordType
from kb.meta import kb_info
from kb.records import list_records

_TITLES = {
    RecordType.GENE: "Genes",
    RecordType.BIOMARKER: "Biomarkers",
    RecordType.THRESHOLD: "Thresholds",
    RecordType.EXPRESSION: "Biomarker expressions",
    RecordType.DRUG: "Drugs",
    RecordType.THERAPY: "Therapies",
    RecordType.CITATION: "Citations",
    RecordType.APPROVAL: "Regulatory approvals",
    RecordType.ASSERTION: "Assertions",
    RecordType.TRIAL: "Clinical trials",
    RecordType.TRIAL_ARM: "Trial arms",
}


class MainWindow(QMainWindow):
    def __init__(self, kb: Kb) -> None:
        super().__init__()
        self.kb = kb
        self.setWindowTitle("KB Curator")
        self.navigator = QListWidget()
        self.navigator.setObjectName("navigator")
        for rtype in RecordType:
            self.navigator.addItem(_TITLES[rtype])
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.model = RecordTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("records")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(
            1, self.table.horizontalHeader().ResizeMode.Stretch
        )
        self.table.verticalHeader().hide()
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("detail")
        self.detail.setReadOnly(True)

        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.navigator)
        splitter.addWidget(centre)
        splitter.addWidget(self.detail)
        splitter.setSizes([180, 640, 320])
        self.setCentralWidget(splitter)
        self.resize(1200, 720)

        self.navigator.currentRowChanged.connect(self._show_type)
        self.search.textChanged.connect(self.model.set_filter)
        self.table.selectionModel().currentRowChanged.connect(self._show_record)
        with kb.read() as session:
            info = kb_info(session)
        self.statusBar().showMessage(
            f"KB {info.name or ''} · version {info.version} · {kb.url.split('://', 1)[0]}"
        )
        self.navigator.setCurrentRow(list(RecordType).index(RecordType.ASSERTION))

    def _show_type(self, row: int) -> None:
        rtype = list(RecordType)[row]
        with self.kb.read() as session:
            self.model.set_rows(list_records(session, rtype))
        self.detail.clear()

    def _show_record(self, current, _previous) -> None:  # type: ignore[no-untyped-def]
        if not current.isValid():
            return
        record = self.model.row_at(current.row())
        self.detail.setPlainText(
            f"{record.human_id}  {record.type.value}\n{record.title}\n\n"
            + json.dumps(dict(record.fields), indent=2, ensure_ascii=False)
        )
