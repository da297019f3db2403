"""Help: the project's documentation inside the app, and a short first-run tour.

Help ▸ KB Curator help (F1) opens the README and docs/*.md rendered as Markdown in a
QTextBrowser, with the list of documents beside it; links between them stay inside the
window, web links open in the browser. The documents ship in the package (curator/help/ links
to README.md and docs/, and pyproject's package-data takes them into the wheel), so an
installed app has them; a source checkout reads them from the tree.

The tour (Help ▸ Take the tour) walks through the navigator, the draft dock, the review page
and Help in a few steps, each highlighting its part of the window. curator/app.py offers it
once per user (`offer_tour`), remembered in the user's settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QDesktopServices, QKeySequence, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from curator.extension import Host, Screen
from curator.icons import icon
from curator.qt_compat import emit

_PACKAGED = Path(__file__).resolve().parent / "help"
_SOURCE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class HelpDoc:
    title: str
    path: Path


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].split(":")[0].strip()  # "Architecture: the map…" -> "Architecture"
    return path.stem


def help_documents(root: Path | None = None) -> list[HelpDoc]:
    """README first, then docs/*.md by title: from the package, else the source tree."""
    for base in [root] if root is not None else [_PACKAGED, _SOURCE]:
        readme = base / "README.md"
        if readme.is_file():
            docs = sorted(
                (HelpDoc(_title(p), p) for p in (base / "docs").glob("*.md")),
                key=lambda d: d.title.lower(),
            )
            return [HelpDoc("KB Curator (README)", readme), *docs]
    return []


class HelpDialog(QDialog):
    """The documents, listed on the left and rendered on the right; not modal."""

    def __init__(self, parent: QWidget | None = None, *, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("help_dialog")
        self.setWindowTitle("KB Curator help")
        self.setWindowIcon(icon("about"))
        self.docs = help_documents(root)
        self.index = QListWidget()
        self.index.setObjectName("help_index")
        self.index.addItems([doc.title for doc in self.docs])
        self.index.setMaximumWidth(260)
        self.browser = QTextBrowser()
        self.browser.setObjectName("help_browser")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        splitter = QSplitter()
        splitter.addWidget(self.index)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        self.index.currentRowChanged.connect(self.show_doc)
        self.resize(1000, 680)
        if self.docs:
            self.index.setCurrentRow(0)
        else:
            self.browser.setMarkdown(
                "# Help\n\nThe documentation was not installed with this copy of KB Curator."
            )

    def show_doc(self, row: int) -> None:
        if not 0 <= row < len(self.docs):
            return
        doc = self.docs[row]
        self.browser.setSearchPaths([str(doc.path.parent)])
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(doc.path.parent) + "/"))
        self.browser.setMarkdown(doc.path.read_text(encoding="utf-8"))
        if self.index.currentRow() != row:
            self.index.setCurrentRow(row)

    def show_named(self, name: str) -> bool:
        """Show the document whose file name is `name` ("security.md", "README.md")."""
        for row, doc in enumerate(self.docs):
            if doc.path.name == name:
                self.show_doc(row)
                return True
        return False

    def _link(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        target = url.path() or url.toString()
        name = re.sub(r"#.*$", "", target).rsplit("/", 1)[-1]
        if name.endswith(".md") and self.show_named(name):
            return
        if url.fragment():
            self.browser.scrollToAnchor(url.fragment())


# --- the tour -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TourStep:
    title: str
    text: str
    target: str  # objectName of the widget to highlight ("" for none)


TOUR: tuple[TourStep, ...] = (
    TourStep(
        "The navigator",
        "Home shows the KB at a glance. Below it, every kind of record (assertions, "
        "biomarkers, tumour types as the OncoTree…) and the workflow pages: change sets, "
        "releases, the audit log. Ctrl+1…9 jump to the first nine.",
        "navigator",
    ),
    TourStep(
        "Your draft",
        "Every edit you save lands in your draft change set, listed here; nothing reaches the "
        "KB until a reviewer approves it. Undo and redo work across edits; “Submit for "
        "review…” hands the draft to a reviewer, and validation says first what blocks it.",
        "draft_dock",
    ),
    TourStep(
        "Review",
        "Change sets shows the review queue: each change set side by side with the KB, and "
        "what it would change for saved test patients. A reviewer approves (making a new KB "
        "version) or rejects with a reason; nobody approves their own changes.",
        "main_splitter",
    ),
    TourStep(
        "Help",
        "Help ▸ KB Curator help (F1) has the README and the guides; Help ▸ Take the tour shows "
        "this again. The window follows other users' changes by itself: no need to press F5.",
        "",
    ),
)


class TourOverlay(QWidget):
    """Dims the window except the highlighted part, with a callout to step through."""

    finished = Signal()

    def __init__(self, window: QWidget, steps: tuple[TourStep, ...] = TOUR) -> None:
        super().__init__(window)
        self.setObjectName("tour_overlay")
        self.window_ = window
        self.steps = steps
        self.step = 0
        self.card = QFrame(self)
        self.card.setObjectName("tour_card")
        self.card.setStyleSheet(
            "QFrame#tour_card { background: palette(base); border: 2px solid #3b7dd8;"
            " border-radius: 8px; }"
        )
        self.heading = QLabel()
        self.heading.setObjectName("tour_heading")
        self.body = QLabel()
        self.body.setObjectName("tour_text")
        self.body.setWordWrap(True)
        self.counter = QLabel()
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.next.setDefault(True)
        self.skip = QPushButton("Close tour")
        self.back.clicked.connect(lambda: self.go(self.step - 1))
        self.next.clicked.connect(lambda: self.go(self.step + 1))
        self.skip.clicked.connect(self.close_tour)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        for button in (self.skip, self.back, self.next):
            buttons.addWidget(button)
        column = QVBoxLayout(self.card)
        column.setContentsMargins(16, 12, 16, 12)
        column.addWidget(self.heading)
        column.addWidget(self.body)
        column.addLayout(buttons)
        self.card.setFixedWidth(400)
        # A wrapped label's height follows its width: fix the width so the card fits the text.
        self.body.setFixedWidth(400 - 32)
        self.heading.setFixedWidth(400 - 32)
        window.installEventFilter(self)
        self.hide()

    def start(self) -> None:
        self.setGeometry(self.window_.rect())
        self.show()
        self.raise_()
        self.go(0)

    def target(self) -> QRect:
        """The highlighted widget's rectangle in the window (empty: none)."""
        name = self.steps[self.step].target
        widget = self.window_.findChild(QWidget, name) if name else None
        if widget is None or not widget.isVisible():
            return QRect()
        top_left = widget.mapTo(self.window_, widget.rect().topLeft())
        return QRect(top_left, widget.size()).adjusted(-4, -4, 4, 4)

    def go(self, step: int) -> None:
        if step >= len(self.steps):
            self.close_tour()
            return
        self.step = max(0, step)
        current = self.steps[self.step]
        self.heading.setText(f"<b style='font-size:14pt'>{current.title}</b>")
        self.body.setText(current.text)
        self.counter.setText(f"{self.step + 1} of {len(self.steps)}")
        self.back.setEnabled(self.step > 0)
        self.next.setText("Done" if self.step == len(self.steps) - 1 else "Next")
        self._place()
        self.next.setFocus()
        self.update()

    def _place(self) -> None:
        self.card.adjustSize()
        area, hole = self.rect(), self.target()
        size = self.card.size()
        if hole.isEmpty():
            x, y = (area.width() - size.width()) // 2, (area.height() - size.height()) // 2
        elif hole.right() + 16 + size.width() < area.width():
            x, y = hole.right() + 16, hole.top() + 24
        elif hole.top() - 16 - size.height() > 0:
            x, y = hole.left() + 24, hole.top() - 16 - size.height()
        else:
            x, y = (area.width() - size.width()) // 2, 60
        x = max(8, min(x, area.width() - size.width() - 8))
        y = max(8, min(y, area.height() - size.height() - 8))
        self.card.move(x, y)

    def close_tour(self) -> None:
        self.hide()
        emit(self.finished)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shade = QPainterPath()
        shade.addRect(self.rect().toRectF())
        hole = self.target()
        if not hole.isEmpty():
            cut = QPainterPath()
            cut.addRoundedRect(hole.toRectF(), 6, 6)
            shade = shade.subtracted(cut)
        painter.fillPath(shade, QColor(0, 0, 0, 120))
        if not hole.isEmpty():
            painter.setPen(QColor("#3b7dd8"))
            painter.drawRoundedRect(hole.toRectF(), 6, 6)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_ and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.window_.rect())
            self._place()
        return False

    def keyPressEvent(self, event: object) -> None:
        key = getattr(event, "key", lambda: None)()
        if key == Qt.Key.Key_Escape:
            self.close_tour()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.go(self.step + 1)
        elif key == Qt.Key.Key_Left:
            self.go(self.step - 1)


class HelpUi(QObject):
    """What the Help screen installs: its actions, the help window and the tour."""

    def __init__(self, host: Host) -> None:
        super().__init__(host.as_widget())
        self.host = host
        window = host.as_widget()
        self.dialog: HelpDialog | None = None
        self.tour = TourOverlay(window)
        self.tour.finished.connect(self._seen)
        self.act_help = QAction(icon("about"), "KB Curator help", window)
        self.act_help.setObjectName("help_contents")
        self.act_help.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.act_help.triggered.connect(lambda _checked=False: self.show_help())
        self.act_tour = QAction("Take the tour", window)
        self.act_tour.setObjectName("take_tour")
        self.act_tour.triggered.connect(lambda _checked=False: self.tour.start())
        host.add_action(self.act_help, menu="Help", section="docs")
        host.add_action(self.act_tour, menu="Help", section="docs")

    def show_help(self, name: str | None = None) -> HelpDialog:
        if self.dialog is None:
            self.dialog = HelpDialog(self.host.as_widget())
        if name:
            self.dialog.show_named(name)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _user(self) -> str:
        actor = self.host.actor
        return actor.name if actor is not None else ""

    def offer_tour(self) -> bool:
        """Start the tour unless this user has seen it (or closed it) before."""
        if self.host.settings.tour_seen(self._user()):
            return False
        self.tour.start()
        return True

    def _seen(self) -> None:
        self.host.settings.set_tour_seen(self._user())


def install_help(host: Host) -> HelpUi:
    return HelpUi(host)


SCREEN = Screen("help", install_help)
