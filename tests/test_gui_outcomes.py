"""The Outcomes page (issue 15, item 5): response by assertion as a chart and a table, Kaplan-
Meier curves, the alerts queue, and a change set started from an alert. Real widgets over a
real SQLite KB holding the seeded synthetic cohort."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox

from bench.outcomes_cohort import make_cohort
from curator.main_window import MainWindow
from curator.outcomes_page import COLUMNS, OUTCOMES_KEY, OutcomesPage, rate_text
from curator.settings import Settings
from kb.model.enums import AlertKind, AlertStatus
from kb.outcomes import OutcomeKey, import_outcomes, list_alerts, refresh_alerts
from kb.outcomes.actions import AlertAction
from kb.review.audit import list_events
from kb.review.changes import current_draft
from kb.review.users import Actor, authenticate
from kb.storage.db import Kb, open_kb
from tests.test_outcomes import _small_cohort

KEY = OutcomeKey(bytes(range(32)))


def _actor(kb: Kb, name: str = "curator") -> Actor:
    with kb.read() as session:
        return authenticate(session, name=name, password=f"demo-{name}")


def _seed(kb: Kb, path: Path, *, refresh: bool = True) -> None:
    curator = _actor(kb)
    with kb.unit_of_work() as session:
        result = import_outcomes(session, path, actor=curator, key=KEY)
        assert result.ok, result.errors[:3]
    if refresh:
        with kb.unit_of_work() as session:
            refresh_alerts(session, actor=curator)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def cohort_kb(demo_url: str, tmp_path: Path) -> Kb:
    kb = open_kb(demo_url)
    with kb.read() as session:
        cohort = make_cohort(session, episodes=2000, seed=15)
    path = tmp_path / "cohort.csv"
    cohort.write_csv(path)
    _seed(kb, path)
    return kb


def open_page(qtbot, kb: Kb, settings: Settings, who: str = "curator"):  # type: ignore[no-untyped-def]
    window = MainWindow(kb, _actor(kb, who), settings=settings, start_view=OUTCOMES_KEY)
    qtbot.addWidget(window)
    page = window.installed(OutcomesPage)
    with qtbot.waitSignal(page.loaded, timeout=20_000):
        window.show()
    return window, page


def _row(page: OutcomesPage, human_id: str) -> dict[str, str]:
    for row in range(page.table.rowCount()):
        if page.table.item(row, 0).text() == human_id:
            return {c: page.table.item(row, i).text() for i, c in enumerate(COLUMNS)}
    raise AssertionError(f"{human_id} is not in the table")


def test_the_page_shows_the_seeded_cohort_per_assertion(qtbot, cohort_kb, settings) -> None:  # type: ignore[no-untyped-def]
    window, page = open_page(qtbot, cohort_kb, settings)
    assert window.current_key == OUTCOMES_KEY
    report = page.data.report
    assert "2,000</b> episodes" in page.heading.text()
    assert page.table.rowCount() == len(report.assertions) == 30
    assert len(page.response_chart.rows) == 30
    below = next(a for a in page.data.alerts if a.kind is AlertKind.RESPONSE_BELOW_EXPECTATION)
    stats = next(a for a in report.assertions if a.assertion == below.subject)
    row = _row(page, below.subject)
    assert row["Patients"] == f"{stats.patients:,}" and row["Evaluable"] == f"{stats.evaluable:,}"
    assert row["Response rate (95% CI)"] == rate_text(stats)
    assert row["Expected at least"] == "40%"
    # The chart paints that assertion below its expectation: its interval ends under 40 %.
    chart_row = next(r for r in page.response_chart.rows if r.label.startswith(below.subject))
    assert chart_row.shown and chart_row.high < chart_row.expected == 0.40
    # Selecting the assertion shows its Kaplan-Meier curve with its band.
    page.select_assertion(below.subject)
    points = page.km_chart.points
    assert points and below.subject in page.km_chart.title
    assert all(p.lower <= p.value <= p.upper for p in points)
    assert [p.value for p in points] == sorted((p.value for p in points), reverse=True)
    assert page.km_chart.median == stats.time_on_treatment.median
    # The alerts queue lists the stored alerts, open ones counted on the tab.
    assert page.alerts.rowCount() == len(page.data.alerts) >= 2
    assert page.tabs.tabText(1) == f"Alerts ({len(page.data.alerts)} open)"
    page.grab()  # paints both charts without error


def test_suppressed_cells_are_never_shown_as_numbers(qtbot, demo_url, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(demo_url)
    _seed(kb, _small_cohort(tmp_path))
    _window, page = open_page(qtbot, kb, settings)
    assert "shown as &lt;5" in page.heading.text()
    hidden = _row(page, "AS-00002")  # 4 patients: every figure withheld
    assert hidden["Patients"] == "<5"
    assert hidden["Response rate (95% CI)"] == "suppressed"
    figures = [v for c, v in hidden.items() if c not in ("Assertion", "Therapy", "Level")]
    assert not any(re.search(r"\d", v.replace("<5", "")) for v in figures), hidden
    shown = _row(page, "AS-00001")  # 5 patients: shown, its 3 responders are a small cell
    assert shown["Patients"] == "5" and shown["PR"] == "<5" and shown["CR"] == "0"
    chart = {r.label.split()[0]: r for r in page.response_chart.rows}
    assert not chart["AS-00002"].shown and chart["AS-00002"].rate is None
    assert "suppressed" in chart["AS-00002"].note
    page.select_assertion("AS-00002")
    assert page.km_chart.points == [] and "suppressed" in page.km_chart.empty
    page.select_assertion("AS-00001")
    assert all(p.value >= 0 for p in page.km_chart.points)


def test_opening_an_alert_and_lowering_the_level_stages_it_and_resolves_the_alert(  # type: ignore[no-untyped-def]
    qtbot, cohort_kb, settings
) -> None:
    window, page = open_page(qtbot, cohort_kb, settings)
    below = next(a for a in page.data.alerts if a.kind is AlertKind.RESPONSE_BELOW_EXPECTATION)
    with qtbot.waitSignal(page.context_loaded, timeout=10_000):
        page.open_alert(below.id)
    assert page.tabs.currentIndex() == 1
    assert below.subject in page.alert_title.text() and "level 1" in page.alert_title.text()
    assert page.alert_km.points  # the outcomes beside the evidence
    button = page.action_buttons[AlertAction.LOWER_LEVEL]
    assert button.isEnabled()
    button.click()
    dialog = page.action_dialog
    assert dialog is not None and dialog.isVisible()
    levels = [dialog.level.itemText(i) for i in range(dialog.level.count())]
    assert levels == ["2", "3A", "3B", "4"]
    dialog.level.setCurrentText("3A")
    dialog.reason.setText("real-world response far below level 1")
    with qtbot.waitSignal(page.acted, timeout=20_000) as acted:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    result = acted.args[0]
    with cohort_kb.read() as session:
        draft = current_draft(session, _actor(cohort_kb))
        alert = next(a for a in list_alerts(session) if a.id == below.id)
        events = [e for e in list_events(session) if e.action == "outcomes.alert_decision"]
    assert draft is not None and draft.human_id == result.change_set
    change = next(c for c in draft.changes if c.human_id == below.subject)
    assert change.fields["evidence_level"] == "3A"
    assert alert.status is AlertStatus.RESOLVED and alert.resolved_by == "curator"
    assert alert.resolution.startswith(f"{draft.human_id} lowers {below.subject} from level 1")
    assert "far below level 1" in alert.resolution
    assert events[-1].subject == below.id and events[-1].details["after"] == "resolved"
    # The page reads again: the alert shows resolved, and nothing more can be staged from it.
    qtbot.waitUntil(lambda: page.context.alert.status is AlertStatus.RESOLVED, timeout=10_000)
    assert not any(b.isEnabled() for b in page.action_buttons.values())
    assert "resolved" in page.status.text()
    # The draft dock shows the staged change.
    qtbot.waitUntil(lambda: window.draft_dock.data.change_set is not None, timeout=10_000)


def test_a_release_manager_sees_alerts_but_cannot_act(qtbot, cohort_kb, settings) -> None:  # type: ignore[no-untyped-def]
    _window, page = open_page(qtbot, cohort_kb, settings, who="releaser")
    alert = page.data.alerts[0]
    with qtbot.waitSignal(page.context_loaded, timeout=10_000):
        page.open_alert(alert.id)
    assert not any(b.isEnabled() for b in page.action_buttons.values())
    assert not page.dismiss.isEnabled() and not page.rerun.isEnabled()
