"""Small bar charts drawn with QPainter, for the home screen.

Why not QtCharts or pyqtgraph: QtCharts ships only in PySide6-Addons, a second wheel twice the
size of the Essentials one the app depends on (pyproject.toml), and pyqtgraph brings numpy; the
home screen needs three bar charts of a dozen bars each. Painting them ourselves costs about a
hundred lines, follows the palette (light and dark themes), renders offscreen for tests and
screenshots, and keeps the installed app lean. A chart's figures are plain data from
kb.review.overview, so a richer library can replace this module without touching kb.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

BAR = QColor("#3b7dd8")


class BarChart(QWidget):
    """Labelled bars with their values: horizontal (long labels) or vertical (a time series)."""

    def __init__(
        self, title: str, *, horizontal: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.horizontal = horizontal
        self.bars: list[tuple[str, int]] = []
        self.tips: list[str] = []
        self.setMinimumSize(220, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_bars(self, bars: Sequence[tuple[str, int]], tips: Sequence[str] = ()) -> None:
        self.bars = [(str(label), int(value)) for label, value in bars]
        self.tips = list(tips)
        self.setToolTip("\n".join(self.tips or [f"{label}: {value}" for label, value in self.bars]))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 220)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = QColor(text)
        muted.setAlpha(140)
        metrics = painter.fontMetrics()
        line = metrics.height()
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text)
        painter.drawText(
            QRectF(0, 0, self.width(), line + 4), Qt.AlignmentFlag.AlignLeft, self.title
        )
        font.setBold(False)
        painter.setFont(font)
        area = QRectF(0, line + 10, self.width(), self.height() - line - 10)
        if not self.bars:
            painter.setPen(muted)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "Nothing yet")
            return
        top = max(value for _, value in self.bars) or 1
        if self.horizontal:
            self._paint_horizontal(painter, area, top, text)
        else:
            self._paint_vertical(painter, area, top, text, muted)
        painter.end()

    def _paint_horizontal(self, painter: QPainter, area: QRectF, top: int, text: QColor) -> None:
        metrics = painter.fontMetrics()
        label_w = min(
            area.width() * 0.45, max(metrics.horizontalAdvance(b[0]) for b in self.bars) + 8
        )
        value_w = metrics.horizontalAdvance(f"{top:,}") + 8
        step = min(area.height() / len(self.bars), metrics.height() * 1.6)
        for i, (label, value) in enumerate(self.bars):
            y = area.top() + i * step
            painter.setPen(text)
            shown = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w - 6))
            painter.drawText(QRectF(0, y, label_w - 6, step), Qt.AlignmentFlag.AlignVCenter, shown)
            span = area.width() - label_w - value_w
            width = max(1.0, span * value / top) if value else 0.0
            painter.fillRect(QRectF(label_w, y + step * 0.18, width, step * 0.64), BAR)
            painter.drawText(
                QRectF(label_w + width + 4, y, value_w, step),
                Qt.AlignmentFlag.AlignVCenter,
                f"{value:,}",
            )

    def _paint_vertical(
        self, painter: QPainter, area: QRectF, top: int, text: QColor, muted: QColor
    ) -> None:
        metrics = painter.fontMetrics()
        label_h = metrics.height() + 4
        value_h = metrics.height() + 2
        span = area.height() - label_h - value_h
        slot = area.width() / len(self.bars)
        every = max(1, int((metrics.horizontalAdvance("W00") + 6) / slot) + 1)
        for i, (label, value) in enumerate(self.bars):
            x = area.left() + i * slot
            height = span * value / top if value else 0.0
            bottom = area.bottom() - label_h
            painter.fillRect(QRectF(x + slot * 0.15, bottom - height, slot * 0.7, height), BAR)
            painter.setPen(text)
            if value:
                painter.drawText(
                    QRectF(x, bottom - height - value_h, slot, value_h),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                    f"{value:,}",
                )
            if i % every == 0 or i == len(self.bars) - 1:
                painter.setPen(muted)
                painter.drawText(
                    QRectF(x - slot, bottom + 2, slot * 3, label_h),
                    Qt.AlignmentFlag.AlignHCenter,
                    label.split("-")[-1],
                )
