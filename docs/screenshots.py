"""Take offscreen screenshots of the main screens into docs/screens/*.png.

    .venv/bin/python docs/screenshots.py [--out docs/screens]

Builds the demo KB with sample accounts in a temporary folder, drives the app as a curator
would, and grabs each screen. Nothing touches your own KB or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QWidget

HERE = Path(__file__).resolve().parent
PASSWORD = "demo-curator"  # kb.demo.DEMO_USERS
SIZE = (1400, 860)


def wait_for(condition: Callable[[], bool], timeout_ms: int = 15_000) -> None:
    """Run the event loop until `condition` holds (workers deliver by signal)."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)

    def check() -> None:
        if condition():
            loop.quit()

    timer.timeout.connect(check)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    timer.start()
    deadline.start(timeout_ms)
    if not condition():
        loop.exec()
    if not condition():
        raise SystemExit("timed out waiting for the window")


def settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: QWidget, out: Path, name: str) -> None:
    settle()
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def build_kb(folder: Path) -> str:
    from kb.db import open_kb
    from kb.demo import build_demo, create_demo_users
    from kb.meta import initialise

    url = f"sqlite:///{folder / 'demo.sqlite'}"
    kb = open_kb(url)
    with kb.unit_of_work() as session:
        initialise(session, name="Demo KB")
        build_demo(session, author="demo")
        create_demo_users(session)
    kb.close()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "screens")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    QCoreApplication.setOrganizationName("kb-curator-screenshots")
    QCoreApplication.setApplicationName("screenshots")

    from curator.about_dialog import AboutDialog
    from curator.app import error_box, explain_open_error
    from curator.expression_editor import ExpressionEditor
    from curator.icons import icon
    from curator.main_window import MainWindow
    from curator.settings import Settings
    from curator.signin_dialog import FirstAccountDialog, SignInDialog
    from curator.theme import ThemeManager
    from kb.db import open_kb
    from kb.errors import SchemaError
    from kb.users import authenticate

    app.setWindowIcon(icon("app"))
    theme = ThemeManager(app, "light")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = build_kb(folder)
        settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
        kb = open_kb(url)
        with kb.read() as session:
            actor = authenticate(session, name="curator", password=PASSWORD)
        window = MainWindow(kb, actor, settings=settings, theme=theme, start_view="assertion")
        window.resize(*SIZE)
        window.show()
        wait_for(lambda: window.model.rowCount() == 57 and window.info is not None)

        def show(human_id: str) -> None:
            window.navigate(human_id)
            wait_for(lambda: window.view.detail is not None
                     and window.view.detail.human_id == human_id)  # fmt: skip

        show("AS-00001")
        save(window, args.out, "01-assertions")

        window.search.setText("osimertinib")
        save(window, args.out, "02-search")
        window.search.clear()

        window.show_view("tumour")
        wait_for(lambda: window.tumour_model.rowCount() > 0)
        window.view.anchorClicked.emit(QUrl("tumour:NSCLC"))
        save(window, args.out, "03-tumour-types")

        window.show_view("threshold")
        wait_for(lambda: window.model.rowCount() == 10)
        show("TH-00004")
        window.act_edit.trigger()
        window.editor.widgets["value"].set_value("sixty")
        save(window, args.out, "04-threshold-editor")
        window.editor.widgets["value"].set_value("60")
        window.editor.request_save()
        wait_for(lambda: window.draft_dock.model.rowCount() == 1)

        window.show_view("expression")
        wait_for(lambda: window.model.rowCount() > 0)
        show("BX-00015")
        window.act_edit.trigger()
        tree = window.editor.widgets["tree"]
        assert isinstance(tree, ExpressionEditor)
        wait_for(lambda: "ERBB2" in tree.text)
        tree.select_path((1, 1))
        save(window, args.out, "05-expression-editor")
        window.cancel_edit(ask=False)

        window.show_view("assertion")
        show("AS-00002")
        window.act_edit.trigger()
        window.editor.widgets["evidence_level"].set_value("2")
        window.editor.request_save()
        wait_for(lambda: window.draft_dock.model.rowCount() == 2)
        wait_for(lambda: window.view.detail is not None and window.view.detail.staged is not None)
        save(window, args.out, "06-draft-and-changes")

        window.set_theme("dark")
        save(window, args.out, "07-dark")
        window.set_theme("light")

        dialogs: list[tuple[str, QWidget]] = [
            ("08-sign-in", SignInDialog("demo.sqlite", lambda n, p: None, name="curator")),
            ("09-first-account", FirstAccountDialog(lambda n, p: None, name="ada")),
            ("10-about", AboutDialog(kb)),
        ]  # fmt: skip
        for name, dialog in dialogs:
            dialog.show()
            save(dialog, args.out, name)
            dialog.close()

        title, message = explain_open_error(
            SchemaError(
                "the database schema (revision 0009) is newer than this version of KB Curator "
                "knows (newest 0002); upgrade the app"
            ),
            "sqlite:////home/curator/kb.sqlite",
        )
        box = error_box(None, title, message)
        box.show()
        save(box, args.out, "11-newer-schema")
        box.close()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
