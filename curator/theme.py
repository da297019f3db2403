"""Light and dark palettes that follow the system's colour scheme (Qt 6.5+), or a fixed choice.

Fusion is used everywhere so both palettes look the same on every platform, and so widgets we
colour ourselves (validation messages, change markers) can rely on the palette's roles.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_ROLE = QPalette.ColorRole
# Red that reads on both palettes: validation messages and refusals.
ERROR_COLOUR = "#d64545"
_GROUP = QPalette.ColorGroup


def _palette(colours: dict[QPalette.ColorRole, str], disabled_text: str) -> QPalette:
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (_ROLE.Text, _ROLE.WindowText, _ROLE.ButtonText, _ROLE.PlaceholderText):
        palette.setColor(_GROUP.Disabled, role, QColor(disabled_text))
    return palette


def light_palette() -> QPalette:
    return _palette(
        {
            _ROLE.Window: "#f3f4f6",
            _ROLE.WindowText: "#1f2933",
            _ROLE.Base: "#ffffff",
            _ROLE.AlternateBase: "#f6f8fa",
            _ROLE.ToolTipBase: "#fffbe6",
            _ROLE.ToolTipText: "#1f2933",
            _ROLE.PlaceholderText: "#7b8794",
            _ROLE.Text: "#1f2933",
            _ROLE.Button: "#e9ecef",
            _ROLE.ButtonText: "#1f2933",
            _ROLE.BrightText: "#d64545",
            _ROLE.Link: "#1d5fbf",
            _ROLE.LinkVisited: "#6b3fa0",
            _ROLE.Highlight: "#2f6fd6",
            _ROLE.HighlightedText: "#ffffff",
            _ROLE.Mid: "#c5ccd3",
            _ROLE.Dark: "#9aa5b1",
        },
        "#9aa5b1",
    )


def dark_palette() -> QPalette:
    return _palette(
        {
            _ROLE.Window: "#1e2227",
            _ROLE.WindowText: "#e4e7eb",
            _ROLE.Base: "#15181c",
            _ROLE.AlternateBase: "#1b1f24",
            _ROLE.ToolTipBase: "#2b3038",
            _ROLE.ToolTipText: "#e4e7eb",
            _ROLE.PlaceholderText: "#7b8794",
            _ROLE.Text: "#e4e7eb",
            _ROLE.Button: "#2b3038",
            _ROLE.ButtonText: "#e4e7eb",
            _ROLE.BrightText: "#ff6b6b",
            _ROLE.Link: "#7cb3ff",
            _ROLE.LinkVisited: "#c4a3ff",
            _ROLE.Highlight: "#3d7be0",
            _ROLE.HighlightedText: "#ffffff",
            _ROLE.Mid: "#3a4049",
            _ROLE.Dark: "#0f1114",
        },
        "#616e7c",
    )


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def is_dark(palette: QPalette) -> bool:
    return palette.color(_ROLE.Window).lightness() < 128


class ThemeManager(QObject):
    """Applies "system", "light" or "dark"; with "system" it follows the OS as it changes."""

    def __init__(self, app: QApplication, theme: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self.theme = theme
        app.setStyle("Fusion")
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)
        self.apply(theme)

    def apply(self, theme: str) -> None:
        self.theme = theme
        dark = system_is_dark() if theme == "system" else theme == "dark"
        self._app.setPalette(dark_palette() if dark else light_palette())

    def _system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.theme == "system":
            self.apply("system")

    @property
    def dark(self) -> bool:
        return is_dark(self._app.palette())
