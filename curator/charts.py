"""Small charts drawn with QPainter: bars for the home screen; rates with their intervals and
Kaplan-Meier step curves with confidence bands for the Outcomes page.

Why not QtCharts or pyqtgraph: QtCharts ships only in PySide6-Addons, a second wheel twice the
size of the Essentials one the app depends on (pyproject.toml), and pyqtgraph brings numpy; the
home screen needs three bar charts of a dozen bars each, the Outcomes page one chart of rates with
interval whiskers and one step curve inside its band. Painting them ourselves costs a few hundred
lines, follows the palette (light and dark themes), renders offscreen for tests and
screenshots, and keeps the installed app lean. A chart's figures are plain data from
kb.review.overview or kb.outcomes, so a richer library can replace this module without touching kb.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
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


EXPECTED = QColor("#d9822b")
BELOW = QColor("#c0392b")


def _muted(widget: QWidget) -> tuple[QColor, QColor]:
    text = widget.palette().color(QPalette.ColorRole.WindowText)
    muted = QColor(text)
    muted.setAlpha(140)
    return text, muted


def _title(painter: QPainter, widget: QWidget, title: str, text: QColor) -> float:
    """Paint the chart's bold title; returns the height it took."""
    line = painter.fontMetrics().height()
    font = painter.font()
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(text)
    painter.drawText(QRectF(0, 0, widget.width(), line + 4), Qt.AlignmentFlag.AlignLeft, title)
    font.setBold(False)
    painter.setFont(font)
    return line + 10


def _begin(
    widget: QWidget, title: str, empty: str
) -> tuple[QPainter, QColor, QColor, float] | None:
    """Start painting a chart: its title, then either `empty` centred (returns None: nothing
    more to paint) or (painter, text colour, muted colour, top of the plot area)."""
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    text, muted = _muted(widget)
    top = _title(painter, widget, title, text)
    if not empty:
        return painter, text, muted, top
    painter.setPen(muted)
    painter.drawText(
        QRectF(0, top, widget.width(), widget.height() - top),
        Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
        empty,
    )
    painter.end()
    return None


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """One row of an interval chart: a rate with its interval and what was expected. `shown`
    False paints `note` instead of any figure (a suppressed small cell)."""

    label: str
    rate: float | None = None
    low: float | None = None
    high: float | None = None
    expected: float | None = None
    note: str = ""
    shown: bool = True


class IntervalChart(QWidget):
    """Rates from 0 to 100 % as dots with interval whiskers, each beside a tick for the rate
    expected; a row whose whole interval lies below its expectation is painted in red. Rows
    that are not shown carry only their note (e.g. "<5 patients: suppressed")."""

    ROW = 20

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.rows: list[IntervalRow] = []
        self.setMinimumSize(260, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rows(self, rows: Sequence[IntervalRow]) -> None:
        self.rows = list(rows)
        self.setMinimumHeight(60 + self.ROW * max(1, len(self.rows)))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 60 + self.ROW * max(4, len(self.rows)))

    def paintEvent(self, _event: QPaintEvent) -> None:
        started = _begin(self, self.title, "" if self.rows else "Nothing yet")
        if started is None:
            return
        painter, text, muted, top = started
        metrics = painter.fontMetrics()
        label_w = min(
            self.width() * 0.4, max(metrics.horizontalAdvance(r.label) for r in self.rows) + 10
        )
        left, right = label_w, self.width() - 12
        axis_y = top + self.ROW * len(self.rows) + 4

        def x_of(rate: float) -> float:
            return left + (right - left) * max(0.0, min(1.0, rate))

        grid = QColor(muted)
        grid.setAlpha(50)
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = x_of(tick)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(x, top), QPointF(x, axis_y))
            painter.setPen(muted)
            painter.drawText(
                QRectF(x - 30, axis_y + 2, 60, metrics.height()),
                Qt.AlignmentFlag.AlignHCenter,
                f"{tick:.0%}",
            )
        for i, row in enumerate(self.rows):
            y = top + i * self.ROW
            middle = y + self.ROW / 2
            painter.setPen(text)
            shown = metrics.elidedText(row.label, Qt.TextElideMode.ElideRight, int(label_w - 8))
            painter.drawText(
                QRectF(0, y, label_w - 8, self.ROW), Qt.AlignmentFlag.AlignVCenter, shown
            )
            if not row.shown or row.rate is None:
                painter.setPen(muted)
                painter.drawText(
                    QRectF(left + 4, y, right - left, self.ROW),
                    Qt.AlignmentFlag.AlignVCenter,
                    row.note or "suppressed",
                )
                continue
            below = row.expected is not None and row.high is not None and row.high < row.expected
            colour = BELOW if below else BAR
            if row.low is not None and row.high is not None:
                painter.setPen(QPen(colour, 2))
                painter.drawLine(QPointF(x_of(row.low), middle), QPointF(x_of(row.high), middle))
                for end in (row.low, row.high):
                    painter.drawLine(QPointF(x_of(end), middle - 4), QPointF(x_of(end), middle + 4))
            if row.expected is not None:
                painter.setPen(QPen(EXPECTED, 2))
                x = x_of(row.expected)
                painter.drawLine(QPointF(x, y + 2), QPointF(x, y + self.ROW - 2))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(x_of(row.rate), middle), 4.5, 4.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(muted)
        legend = "● observed, ├─┤ 95 % interval   │ expected at least"
        painter.drawText(
            QRectF(left, axis_y + metrics.height() + 4, right - left, metrics.height() + 2),
            Qt.AlignmentFlag.AlignLeft,
            legend,
        )
        painter.end()


@dataclass(frozen=True, slots=True)
class StepPoint:
    time: float
    value: float
    lower: float
    upper: float


class StepChart(QWidget):
    """A step curve from 0 to 1 over time (a Kaplan-Meier estimate) inside its confidence band,
    with the median marked where the curve reaches 0.5 and a note where it was cut short."""

    def __init__(self, title: str, *, x_label: str = "days", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.x_label = x_label
        self.points: list[StepPoint] = []
        self.median: float | None = None
        self.note = ""
        self.empty = "Select an assertion"
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_curve(
        self,
        points: Sequence[StepPoint],
        *,
        title: str | None = None,
        median: float | None = None,
        note: str = "",
        empty: str = "",
    ) -> None:
        self.points = sorted(points, key=lambda p: p.time)
        if title is not None:
            self.title = title
        self.median, self.note = median, note
        self.empty = empty or "No curve"
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 260)

    def _steps(self, values: Sequence[tuple[float, float]], end: float) -> list[QPointF]:
        """The corners of a right-continuous step function through (time, value) pairs."""
        corners: list[QPointF] = []
        for i, (time, value) in enumerate(values):
            if i:
                corners.append(QPointF(time, values[i - 1][1]))
            corners.append(QPointF(time, value))
        if values:
            corners.append(QPointF(end, values[-1][1]))
        return corners

    def paintEvent(self, _event: QPaintEvent) -> None:
        started = _begin(self, self.title, "" if self.points else self.empty)
        if started is None:
            return
        painter, _text, muted, top = started
        metrics = painter.fontMetrics()
        left = metrics.horizontalAdvance("100%") + 10
        bottom = self.height() - 2 * metrics.height() - 10
        right = self.width() - 12
        last = self.points[-1].time
        span = _nice_span(last)

        def at(time: float, value: float) -> QPointF:
            return QPointF(
                left + (right - left) * time / span,
                bottom - (bottom - top) * max(0.0, min(1.0, value)),
            )

        grid = QColor(muted)
        grid.setAlpha(50)
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = at(0, tick).y()
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(left, y), QPointF(right, y))
            painter.setPen(muted)
            painter.drawText(QRectF(0, y - metrics.height() / 2, left - 4, metrics.height()),
                             Qt.AlignmentFlag.AlignRight, f"{tick:.0%}")  # fmt: skip
        for i in range(5):
            time = span * i / 4
            x = at(time, 0).x()
            painter.drawText(QRectF(x - 40, bottom + 2, 80, metrics.height()),
                             Qt.AlignmentFlag.AlignHCenter, f"{time:,.0f}")  # fmt: skip
        painter.drawText(
            QRectF(left, bottom + metrics.height() + 2, right - left, metrics.height() + 4),
            Qt.AlignmentFlag.AlignHCenter,
            metrics.elidedText(
                self.x_label + (f"   ·   {self.note}" if self.note else ""),
                Qt.TextElideMode.ElideRight,
                int(right - left),
            ),
        )
        upper = self._steps([(p.time, p.upper) for p in self.points], last)
        lower = self._steps([(p.time, p.lower) for p in self.points], last)
        band = QPolygonF(
            [at(c.x(), c.y()) for c in upper] + [at(c.x(), c.y()) for c in reversed(lower)]
        )
        fill = QColor(BAR)
        fill.setAlpha(55)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawPolygon(band)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(BAR, 2))
        curve = self._steps([(p.time, p.value) for p in self.points], last)
        painter.drawPolyline(QPolygonF([at(c.x(), c.y()) for c in curve]))
        if self.median is not None:
            dashed = QPen(EXPECTED, 1.5, Qt.PenStyle.DashLine)
            painter.setPen(dashed)
            half = at(self.median, 0.5)
            painter.drawLine(at(0, 0.5), half)
            painter.drawLine(half, at(self.median, 0))
            painter.drawText(
                QRectF(half.x() + 4, half.y() - metrics.height() - 2, 200, metrics.height()),
                Qt.AlignmentFlag.AlignLeft,
                f"median {self.median:,.0f}",
            )
        painter.end()


def _nice_span(last: float) -> float:
    """An axis end at or above `last` that divides into four round ticks."""
    if last <= 0:
        return 1.0
    step = 10 ** max(0, len(str(int(last / 4))) - 1)
    return float(-(-last // (4 * step)) * 4 * step)
