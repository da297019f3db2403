"""The Outcomes page: real-world responses per assertion, Kaplan-Meier curves, and the evidence
alerts as a queue a curator works through (issue 15, docs/outcomes.md).

Everything shown comes from `kb.outcomes.analyse`, whose `Report` is already small-cell
suppressed: a figure from fewer than k patients arrives as None (or a suppressed assertion) and
is shown as "<k", never as a number. The analysis, the alert list and an alert's context are
read off the UI thread (curator/workers.py); acting on an alert is one write through
`kb.outcomes.actions.act_on_alert`, which stages the change into the curator's draft and
resolves the alert with a reason naming the change set, audited, in one transaction.

Charts are curator/charts.py's QPainter widgets (why: its docstring).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from curator.charts import IntervalChart, IntervalRow, StepChart, StepPoint
from curator.extension import Host, Screen, fill_scrolling
from curator.qt_compat import emit
from curator.workers import CancelToken, TaskFailure, Workers
from kb.model.enums import AlertKind, AlertStatus
from kb.outcomes import AlertRow, AssertionStats, Report, analyse, list_alerts, refresh_alerts
from kb.outcomes import resolve_alert as kb_resolve_alert
from kb.outcomes.actions import ActionResult, AlertAction, AlertContext, act_on_alert, alert_context
from kb.review.users import Actor, Permission, can
from kb.storage.db import Kb

OUTCOMES_KEY = "outcomes"
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
COLUMNS = (
    "Assertion", "Therapy", "Level", "Patients", "Episodes", "Evaluable", *RESPONSES,
    "Response rate (95% CI)", "Expected at least", "Progression rate", "Median days on treatment",
)  # fmt: skip
KIND_TEXT = {
    AlertKind.RESPONSE_BELOW_EXPECTATION: "Response below expectation",
    AlertKind.RESISTANCE_SIGNAL: "Resistance signal",
    AlertKind.OFF_LABEL_USE: "Off-label use",
}
ACTION_TEXT = {
    AlertAction.LOWER_LEVEL: "Lower the level…",
    AlertAction.ADD_RESISTANCE: "Add a resistance assertion…",
    AlertAction.ADD_EVIDENCE: "Add an evidence item citing the cohort…",
}


@dataclass(frozen=True, slots=True)
class OutcomesData:
    """What the page shows, read in one go off the UI thread."""

    report: Report
    alerts: tuple[AlertRow, ...]


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def count(value: int | None, k: int) -> str:
    """A count, or "<k" where the analysis withheld it (1..k-1 patients or episodes)."""
    return f"<{k}" if value is None else f"{value:,}"


def rate_text(stats: AssertionStats) -> str:
    if stats.response_rate is None:
        return "—"
    low, high = stats.response_ci or (None, None)
    return f"{pct(stats.response_rate)} ({pct(low)}–{pct(high)})"


def row_cells(stats: AssertionStats, k: int) -> list[str]:
    """A table row; a suppressed assertion shows "<k" patients and no figure at all."""
    head = [stats.assertion, stats.therapy or "", stats.level or ""]
    if stats.suppressed:
        return [*head, f"<{k}", *["" for _ in COLUMNS[4:-4]], "suppressed", "", "", ""]
    km = stats.time_on_treatment
    expected = stats.expectation.min_response_rate if stats.expectation else None
    return [
        *head,
        count(stats.patients, k),
        count(stats.episodes, k),
        count(stats.evaluable, k),
        *[count(stats.response_counts.get(r), k) for r in RESPONSES],
        rate_text(stats),
        pct(expected) or "—",
        pct(stats.progression_rate) or "—",
        f"{km.median:,.0f}" if km and km.median is not None else "—",
    ]


def interval_row(stats: AssertionStats, k: int) -> IntervalRow:
    label = f"{stats.assertion} {stats.therapy or ''}".strip()
    if stats.suppressed or stats.response_rate is None:
        note = (
            f"fewer than {k} patients: suppressed" if stats.suppressed else "no evaluable episodes"
        )
        return IntervalRow(label, note=note, shown=False)
    low, high = stats.response_ci or (None, None)
    expected = stats.expectation.min_response_rate if stats.expectation else None
    return IntervalRow(label, stats.response_rate, low, high, expected)


def km_points(stats: AssertionStats | None) -> list[StepPoint]:
    km = stats.time_on_treatment if stats else None
    if km is None:
        return []
    return [StepPoint(p.time, p.survival, p.lower, p.upper) for p in km.points]


def alert_numbers(alert: AlertRow, k: int) -> str:
    """The test and the numbers that raised the alert; withheld counts show as "<k"."""
    n = alert.numbers

    def value(key: str) -> str:
        v = n.get(key)
        if v is None:
            return f"<{k}"
        if isinstance(v, float):
            return f"{v:.3g}"
        if isinstance(v, list):
            return "–".join(pct(x) for x in v)
        return str(v)

    if alert.kind is AlertKind.OFF_LABEL_USE:
        return f"{value('patients')} patients, {value('episodes')} episodes, no assertion (k = {k})"
    if alert.kind is AlertKind.RESPONSE_BELOW_EXPECTATION:
        return (
            f"response {value('responders')}/{value('evaluable')} = "
            f"{pct(n.get('response_rate'))} (95% {value('wilson_95')}), expected ≥ "
            f"{pct(n.get('expected_min_response_rate'))}; p = {value('p_value')}"
        )
    return (
        f"progression {value('progressions')}/{value('evaluable')} = "
        f"{pct(n.get('progression_rate'))} (95% {value('wilson_95')}), expected ≤ "
        f"{pct(n.get('expected_max_progression_rate'))}; p = {value('p_value')}"
    )


def _item(text: str, *, tip: str = "", align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tip:
        item.setToolTip(tip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(name: str, headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    return table


class ActionDialog(QDialog):
    """What a curator confirms before a change is staged: the level (where one is chosen) and
    the reason recorded on the alert (required to dismiss, optional otherwise)."""

    def __init__(
        self,
        parent: QWidget,
        title: str,
        explanation: str,
        *,
        levels: Sequence[str] = (),
        reason_required: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("outcomes_action_dialog")
        self.setWindowTitle(title)
        self.reason_required = reason_required
        form = QFormLayout(self)
        text = QLabel(explanation)
        text.setWordWrap(True)
        form.addRow(text)
        self.level = QComboBox()
        self.level.addItems(list(levels))
        if levels:
            form.addRow("Level", self.level)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why (recorded on the alert and in the audit log)")
        form.addRow("Reason", self.reason)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.reason.textChanged.connect(self._check)
        self._check()
        self.resize(520, self.sizeHint().height())

    def _check(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not self.reason_required or bool(self.reason.text().strip()))


class OutcomesPage(QWidget):
    """Response by assertion (chart and table), time on treatment for the selected assertion,
    and the alerts queue with the selected alert's context and the changes it can start."""

    loaded = Signal(object)  # OutcomesData
    context_loaded = Signal(object)  # AlertContext
    acted = Signal(object)  # ActionResult or AlertRow (dismissed)

    def __init__(self, kb: Kb, actor: Actor | None, workers: Workers) -> None:
        super().__init__()
        self.setObjectName("outcomes_page")
        self.kb, self.actor, self.workers = kb, actor, workers
        self.data: OutcomesData | None = None
        self.context: AlertContext | None = None
        self.action_dialog: ActionDialog | None = None
        self.by_id: dict[str, AssertionStats] = {}

        self.heading = QLabel("Reading outcomes…")
        self.heading.setObjectName("outcomes_heading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.rerun = QPushButton("Re-run the analysis")
        self.rerun.setObjectName("outcomes_rerun")
        self.rerun.setToolTip("Analyse the outcomes again and bring the alerts up to date")
        self.rerun.clicked.connect(self.refresh_alerts)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.rerun)

        # Response by assertion: the chart and the KM curve side by side, the table below.
        self.response_chart = IntervalChart("Response rate by assertion (95% Wilson interval)")
        self.response_chart.setObjectName("outcomes_response_chart")
        chart_scroll = QScrollArea()
        chart_scroll.setWidgetResizable(True)
        chart_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        chart_scroll.setWidget(self.response_chart)
        self.km_chart = StepChart("Time on treatment (Kaplan–Meier)")
        self.km_chart.setObjectName("outcomes_km_chart")
        self.table = _table("outcomes_table", COLUMNS)
        self.table.itemSelectionChanged.connect(self._assertion_selected)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(chart_scroll)
        charts.addWidget(self.km_chart)
        charts.setSizes([560, 440])
        by_assertion = QSplitter(Qt.Orientation.Vertical)
        by_assertion.addWidget(charts)
        by_assertion.addWidget(self.table)
        by_assertion.setSizes([330, 250])

        # The alerts queue and the open alert.
        self.alerts = _table("outcomes_alerts", ("Status", "Alert", "About", "Numbers"))
        self.alerts.itemActivated.connect(lambda _item: self.open_selected_alert())
        self.alerts.itemSelectionChanged.connect(self.open_selected_alert)
        self.alert_title = QLabel("Open an alert to see its outcomes beside the evidence")
        self.alert_title.setObjectName("outcomes_alert_title")
        self.alert_title.setWordWrap(True)
        self.alert_title.setTextFormat(Qt.TextFormat.RichText)
        self.alert_km = StepChart("Time on treatment")
        self.alert_km.setObjectName("outcomes_alert_km")
        self.alert_km.setMinimumHeight(170)
        self.evidence = _table(
            "outcomes_evidence", ("Evidence item", "Source", "Direction", "Level", "Description")
        )
        self.action_buttons: dict[AlertAction, QPushButton] = {}
        buttons = QHBoxLayout()
        for action, text in ACTION_TEXT.items():
            button = QPushButton(text)
            button.setObjectName(f"outcomes_{action.value}")
            button.clicked.connect(lambda _c=False, a=action: self.start_action(a))
            self.action_buttons[action] = button
            buttons.addWidget(button)
        self.dismiss = QPushButton("Dismiss…")
        self.dismiss.setObjectName("outcomes_dismiss")
        self.dismiss.clicked.connect(self.start_dismiss)
        buttons.addWidget(self.dismiss)
        buttons.addStretch(1)
        self.status = QLabel()
        self.status.setObjectName("outcomes_status")
        self.status.setWordWrap(True)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(6, 0, 0, 0)
        detail_layout.addWidget(self.alert_title)
        detail_layout.addWidget(self.alert_km, 2)
        self.evidence_label = QLabel("<b>Evidence items</b>")
        self.evidence_label.setObjectName("outcomes_evidence_label")
        detail_layout.addWidget(self.evidence_label)
        detail_layout.addWidget(self.evidence, 1)
        detail_layout.addLayout(buttons)
        detail_layout.addWidget(self.status)
        queue = QSplitter(Qt.Orientation.Horizontal)
        queue.addWidget(self.alerts)
        queue.addWidget(detail)
        queue.setSizes([340, 660])

        self.tabs = QTabWidget()
        self.tabs.setObjectName("outcomes_tabs")
        self.tabs.addTab(by_assertion, "Response by assertion")
        self.tabs.addTab(queue, "Alerts")
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        # Charts and the alert's buttons side by side need about 780 px: in a smaller window the
        # page scrolls rather than holding the whole window at that width.
        fill_scrolling(self, content)
        self._enable_actions()

    # --- reading -------------------------------------------------------------------------------

    def _can_act(self) -> bool:
        return self.actor is not None and can(self.actor, Permission.EDIT)

    def refresh(self) -> None:
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> OutcomesData:
            with kb.read() as session:
                return OutcomesData(analyse(session), tuple(list_alerts(session)))

        self.workers.read("outcomes", work, on_result=self.show_data, on_error=self._failed)

    def refresh_alerts(self) -> None:
        """Re-run the analysis and update the stored alerts (a write: curators, reviewers)."""
        kb, actor = self.kb, self.actor
        if actor is None:
            return

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> OutcomesData:
            with kb.unit_of_work() as session:
                done = refresh_alerts(session, actor=actor)
                return OutcomesData(done.report, tuple(list_alerts(session)))

        self.rerun.setEnabled(False)
        self.workers.write(
            "outcomes-refresh", work, on_result=self.show_data, on_error=self._failed
        )

    def _failed(self, failure: TaskFailure) -> None:
        self.rerun.setEnabled(self._can_act())
        self.status.setText(f"Could not complete: {failure.message}")
        self.heading.setText(f"Could not read the outcomes: {html.escape(failure.message)}")

    def show_data(self, data: OutcomesData) -> None:
        self.data = data
        report, k = data.report, data.report.k
        self.by_id = {a.assertion: a for a in report.assertions}
        totals = (
            f"<b>{count(report.episodes, k)}</b> episodes of <b>{count(report.patients, k)}</b> "
            f"patients from <b>{count(report.sites, k)}</b> sites, {report.imports} import"
            f"{'s' if report.imports != 1 else ''}"
        )
        open_alerts = sum(1 for a in data.alerts if a.status is AlertStatus.OPEN)
        self.heading.setText(
            f"<h2 style='margin:0'>Outcomes</h2>{totals} · {len(report.assertions)} assertions "
            f"analysed · <b>{open_alerts}</b> open alert{'s' if open_alerts != 1 else ''} · "
            f"figures from fewer than k = {k} patients are suppressed (shown as &lt;{k})"
        )
        self.rerun.setEnabled(self._can_act())
        self.response_chart.set_rows([interval_row(a, k) for a in report.assertions])
        selected = self._selected_assertion()
        self.table.setRowCount(len(report.assertions))
        for row, stats in enumerate(report.assertions):
            for column, text in enumerate(row_cells(stats, k)):
                tip = f"fewer than {k}: suppressed" if text.startswith("<") else ""
                self.table.setItem(row, column, _item(text, tip=tip, align_right=3 <= column < 11))
        self.tabs.setTabText(1, f"Alerts ({open_alerts} open)")
        self._fill_alerts(data.alerts, k)
        if selected in self.by_id:
            self.select_assertion(selected)
        elif report.assertions:
            shown = next((a for a in report.assertions if not a.suppressed), None)
            self.select_assertion((shown or report.assertions[0]).assertion)
        else:
            self.km_chart.set_curve([], empty="No outcomes imported yet: kb outcomes import")
        emit(self.loaded, data)

    def _fill_alerts(self, alerts: Sequence[AlertRow], k: int) -> None:
        current = self.context.alert.id if self.context else None
        self.alerts.blockSignals(True)
        self.alerts.setRowCount(len(alerts))
        for row, alert in enumerate(alerts):
            status = _item(alert.status.value)
            status.setData(Qt.ItemDataRole.UserRole, alert.id)
            self.alerts.setItem(row, 0, status)
            self.alerts.setItem(
                row, 1, _item(KIND_TEXT[alert.kind], tip=alert.numbers.get("test", ""))
            )
            self.alerts.setItem(row, 2, _item(alert.subject))
            tip = f"{alert.resolution} ({alert.resolved_by})" if alert.resolution else ""
            self.alerts.setItem(row, 3, _item(alert_numbers(alert, k), tip=tip))
            if alert.id == current:
                self.alerts.selectRow(row)
        self.alerts.blockSignals(False)
        if current is not None:
            still = next((a for a in alerts if a.id == current), None)
            if still is not None and self.context is not None:
                self.show_context(replace(self.context, alert=still))

    def _selected_assertion(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def select_assertion(self, human_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == human_id:
                self.table.selectRow(row)
                return

    def _assertion_selected(self) -> None:
        human_id = self._selected_assertion()
        stats = self.by_id.get(human_id or "")
        k = self.data.report.k if self.data else 5
        self._show_km(self.km_chart, stats, k, prefix="Time on treatment")

    @staticmethod
    def _show_km(chart: StepChart, stats: AssertionStats | None, k: int, *, prefix: str) -> None:
        if stats is None:
            chart.set_curve([], title=prefix, empty="No outcomes for this assertion")
            return
        title = f"{prefix} (Kaplan–Meier): {stats.assertion} {stats.therapy or ''}"
        km = stats.time_on_treatment
        if stats.suppressed or km is None:
            chart.set_curve([], title=title, empty=f"Fewer than {k} patients: suppressed")
            return
        note = f"shaded: 95% band; n = {km.n}, {km.events} stopped"
        if km.truncated_at is not None:
            note += f"; cut at day {km.truncated_at:,} (<{k} at risk)"
        chart.set_curve(km_points(stats), title=title, median=km.median, note=note)

    # --- an alert ------------------------------------------------------------------------------

    def open_selected_alert(self) -> None:
        rows = self.alerts.selectionModel().selectedRows()
        if not rows:
            return
        item = self.alerts.item(rows[0].row(), 0)
        if item is not None:
            self.open_alert(str(item.data(Qt.ItemDataRole.UserRole)))

    def open_alert(self, alert_id: str) -> None:
        """Show the alert beside its assertion's outcomes and evidence items (read off-thread)."""
        kb = self.kb
        self.tabs.setCurrentIndex(1)

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> AlertContext:
            with kb.read() as session:
                return alert_context(session, alert_id)

        self.workers.read(
            "outcomes-alert", work, on_result=self.show_context, on_error=self._failed
        )

    def show_context(self, context: AlertContext) -> None:
        self.context = context
        alert = context.alert
        k = self.data.report.k if self.data else 5
        stats = self.by_id.get(context.assertion or "")
        esc = html.escape
        lines = [
            f"<b>{esc(KIND_TEXT[alert.kind])}</b>: {esc(alert.subject)} — {alert.status.value}"
        ]
        if context.assertion:
            f = context.assertion_fields
            lines.append(
                f"<b>Assertion</b> {esc(context.assertion)}: level "
                f"{esc(str(f.get('evidence_level') or '—'))}, "
                f"{esc(str(f.get('implication') or ''))}, "
                f"{esc(', '.join(f.get('tumour_types') or []))}"
            )
        if stats is not None and not stats.suppressed:
            floor = stats.expectation.min_response_rate if stats.expectation else None
            cells = ", ".join(f"{r} {count(stats.response_counts.get(r), k)}" for r in RESPONSES)
            lines.append(
                f"<b>Outcomes</b>: {count(stats.patients, k)} patients, response "
                f"{esc(rate_text(stats))} (expected ≥ {pct(floor) or '—'}), progression "
                f"{pct(stats.progression_rate) or '—'}; {esc(cells)}"
            )
        lines.append(
            f"<b>Test</b>: {esc(str(alert.numbers.get('test', '')))}: "
            f"{esc(alert_numbers(alert, k))}"
        )
        if alert.resolution:
            lines.append(
                f"<i>{alert.status.value} by {esc(alert.resolved_by or '')}: "
                f"{esc(alert.resolution)}</i>"
            )
        self.alert_title.setText("<br>".join(lines))
        if context.assertion:
            self._show_km(self.alert_km, stats, k, prefix="Time on treatment")
        else:
            self.alert_km.set_curve(
                [], title="Time on treatment", empty="Off-label use: no assertion"
            )
        self.evidence.setRowCount(len(context.evidence))
        self.evidence_label.setText(
            f"<b>Evidence items bearing on {esc(context.assertion)}</b>"
            + ("" if context.evidence else ": none yet")
            if context.assertion
            else "<b>Evidence items</b>: off-label use has no assertion to bear on"
        )
        for row in range(self.alerts.rowCount()):
            cell = self.alerts.item(row, 0)
            if cell is not None and cell.data(Qt.ItemDataRole.UserRole) == alert.id:
                self.alerts.blockSignals(True)
                self.alerts.selectRow(row)
                self.alerts.blockSignals(False)
        for row, item in enumerate(context.evidence):
            cells = (item.human_id, f"{item.source} {item.source_id}", item.direction,
                     item.source_level or "", item.description)  # fmt: skip
            for column, text in enumerate(cells):
                self.evidence.setItem(row, column, _item(text, tip=text if column == 4 else ""))
        self._enable_actions()
        emit(self.context_loaded, context)

    def _enable_actions(self) -> None:
        context = self.context
        is_open = context is not None and context.alert.status is AlertStatus.OPEN
        allowed = self._can_act()
        why = "" if allowed else "Sign in as a curator or reviewer to act on alerts"
        for action, button in self.action_buttons.items():
            ok = allowed and is_open
            if ok and context is not None and context.assertion is None:
                ok = action is AlertAction.ADD_EVIDENCE
            if ok and action is AlertAction.LOWER_LEVEL and context is not None:
                ok = bool(context.lower_levels())
            button.setEnabled(ok)
            button.setToolTip(why)
        self.dismiss.setEnabled(allowed and is_open)

    def start_action(self, action: AlertAction) -> None:
        context = self.context
        if context is None:
            return
        subject = context.assertion or context.alert.subject
        if action is AlertAction.LOWER_LEVEL:
            levels: Sequence[str] = context.lower_levels()
            text = (f"Stage a change lowering {subject} from level {context.level} in your draft "
                    "change set, and resolve the alert naming it.")  # fmt: skip
        elif action is AlertAction.ADD_RESISTANCE:
            levels = ("R2", "R1")
            text = (f"Stage a new resistant assertion of {subject}'s biomarkers, therapy and "
                    "tumour types in your draft, and resolve the alert naming it.")  # fmt: skip
        else:
            levels = ()
            text = (
                "Stage a new evidence item citing this cohort (its test and numbers, no "
                f"patient) bearing on {subject} in your draft, and resolve the alert."
            )
        dialog = ActionDialog(self, ACTION_TEXT[action].rstrip("…"), text, levels=levels)
        dialog.accepted.connect(lambda: self._act(action, dialog))
        self.action_dialog = dialog
        dialog.open()

    def start_dismiss(self) -> None:
        if self.context is None:
            return
        dialog = ActionDialog(
            self,
            "Dismiss the alert",
            "No change is warranted: record why. The alert stays dismissed while the analysis "
            "still finds it.",
            reason_required=True,
        )
        dialog.accepted.connect(lambda: self._dismiss(dialog))
        self.action_dialog = dialog
        dialog.open()

    def _act(self, action: AlertAction, dialog: ActionDialog) -> None:
        assert self.context is not None and self.actor is not None
        kb, actor, alert_id = self.kb, self.actor, self.context.alert.id
        level = dialog.level.currentText() or None
        reason = dialog.reason.text()

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> ActionResult:
            with kb.unit_of_work() as session:
                return act_on_alert(
                    session,
                    actor=actor,
                    alert_id=alert_id,
                    action=action,
                    level=level,
                    reason=reason,
                )

        self._writing()
        self.workers.write("outcomes-act", work, on_result=self._done, on_error=self._failed)

    def _dismiss(self, dialog: ActionDialog) -> None:
        assert self.context is not None and self.actor is not None
        kb, actor, alert_id = self.kb, self.actor, self.context.alert.id
        reason = dialog.reason.text()

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> AlertRow:
            with kb.unit_of_work() as session:
                return kb_resolve_alert(
                    session, actor=actor, alert_id=alert_id, status=AlertStatus.DISMISSED,
                    reason=reason,
                )  # fmt: skip

        self._writing()
        self.workers.write("outcomes-dismiss", work, on_result=self._done, on_error=self._failed)

    def _writing(self) -> None:
        for button in (*self.action_buttons.values(), self.dismiss):
            button.setEnabled(False)
        self.status.setText("Staging…")

    def _done(self, result: Any) -> None:
        alert = result.alert if isinstance(result, ActionResult) else result
        self.status.setText(f"Alert {alert.status.value}: {alert.resolution}")
        if self.context is not None:
            self.context = replace(self.context, alert=alert)
        emit(self.acted, result)
        self.refresh()


def install_outcomes(host: Host) -> OutcomesPage:
    """Add the Outcomes page; a change staged from an alert shows in the draft dock."""
    page = OutcomesPage(host.kb, host.actor, host.workers)
    host.add_page(
        OUTCOMES_KEY, "Outcomes", "outcomes", page, wide=True,
        tip="Real-world responses per assertion, and the evidence alerts where they diverge",
    )  # fmt: skip

    def acted(result: object) -> None:
        if isinstance(result, ActionResult):
            host.reload_draft()
            host.show_message(f"Staged {result.record} in {result.change_set}", 8000)

    page.acted.connect(acted)
    return page


SCREEN = Screen("outcomes", install_outcomes)
