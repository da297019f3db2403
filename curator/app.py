"""`kb-curator`: open a KB (the default SQLite file, or --db) and show the main window."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QMessageBox

from kb.db import open_kb
from kb.errors import KbError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb-curator", description="KB Curator desktop app")
    parser.add_argument("--db", help="database URL or SQLite file (else $KB_DATABASE_URL)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("KB Curator")
    app.setOrganizationName("KB Curator")
    try:
        kb = open_kb(args.db)
    except KbError as exc:
        QMessageBox.critical(None, "KB Curator", f"The KB could not be opened.\n\n{exc}")
        return 1
    from curator.main_window import MainWindow

    window = MainWindow(kb)
    window.show()
    code = app.exec()
    kb.close()
    return int(code)
