"""Outcomes close the loop (issue 15): de-identified episodes in, per-assertion analysis with
small cells suppressed, and exactly the evidence alerts a planted cohort deserves."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bench.outcomes_cohort import HEADERS, Cohort, make_cohort
from kb.cli.main import main
from kb.errors import KbError
from kb.model.enums import AlertKind, AlertStatus
from kb.model.orm import OutcomeAlert, OutcomeEpisode, OutcomeImport
from kb.outcomes import (
    OutcomeKey,
    analyse,
    expectation_for,
    import_outcomes,
    kaplan_meier,
    list_alerts,
    refresh_alerts,
    resolve_alert,
    set_k_threshold,
    wilson_interval,
)
from kb.outcomes.keys import ENV_KEY
from kb.outcomes.render import render_html, report_lines, write_xlsx
from kb.outcomes.stats import binomial_cdf, binomial_sf
from kb.review.audit import list_events, verify_chain
from kb.review.users import Actor, PermissionDenied, authenticate
from kb.storage.db import Kb
from kb.storage.snapshot import build_snapshot
from tests import test_postgres_security as pg
from tests.conftest import demo_admin

KEY = OutcomeKey(bytes(range(32)))
team = pg.team  # the PostgreSQL team fixture: real logins per KB role


def _actor(session: Session, name: str = "curator") -> Actor:
    return authenticate(session, name=name, password=f"demo-{name}")


def _write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def _stored(kb: Kb) -> tuple[int, int]:
    with kb.read() as session:
        return (
            session.scalar(select(func.count()).select_from(OutcomeEpisode)) or 0,
            session.scalar(select(func.count()).select_from(OutcomeImport)) or 0,
        )


@pytest.fixture
def cohort(demo_kb: Kb) -> Cohort:
    with demo_kb.read() as session:
        return make_cohort(session, episodes=5000, seed=15)


def _import(kb: Kb, path: Path, *, key: OutcomeKey = KEY, **options: Any) -> Any:
    with kb.unit_of_work() as session:
        return import_outcomes(session, path, actor=_actor(session), key=key, **options)


# --- statistics -------------------------------------------------------------------------------


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Table I: 81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605; 0/20 -> 0-0.1611
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)


def test_exact_binomial_tails() -> None:
    # P(X <= 3 | 20, 0.4) and P(X >= 15 | 20, 0.5), from tables.
    assert binomial_cdf(3, 20, 0.4) == pytest.approx(0.015961, abs=1e-6)
    assert binomial_sf(15, 20, 0.5) == pytest.approx(0.020695, abs=1e-6)
    assert binomial_cdf(20, 20, 0.4) == 1.0
    assert binomial_sf(0, 20, 0.4) == 1.0
    # Large n stays finite (log space): 100,000 trials.
    assert 0.0 < binomial_cdf(39_000, 100_000, 0.4) < 1e-9


# Freireich et al. (1963) 6-MP arm, the textbook Kaplan-Meier example (Kleinbaum & Klein).
_GEHAN = [(6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True),
          (10, False), (11, False), (13, True), (16, True), (17, False), (19, False),
          (20, False), (22, True), (23, True), (25, False), (32, False), (32, False),
          (34, False), (35, False)]  # fmt: skip


def test_kaplan_meier_matches_the_textbook() -> None:
    curve = kaplan_meier((t, e, 1) for t, e in _GEHAN)
    survival = {p.time: round(p.survival, 3) for p in curve.points}
    assert survival == {
        0: 1.0, 6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448
    }  # fmt: skip
    assert curve.n == 21 and curve.events == 9
    assert curve.median == 23
    six = next(p for p in curve.points if p.time == 6)
    # log-log band at t=6 (Greenwood SE 0.0764): 0.620-0.952
    assert (six.lower, six.upper) == pytest.approx((0.620, 0.952), abs=1e-3)
    assert all(0.0 <= p.lower <= p.survival <= p.upper <= 1.0 for p in curve.points)


def test_kaplan_meier_withholds_points_with_fewer_than_k_at_risk() -> None:
    curve = kaplan_meier(((t, e, 1) for t, e in _GEHAN), min_at_risk=7)
    assert curve.truncated_at == 23  # 6 at risk at day 23
    assert [p.time for p in curve.points] == [0, 6, 7, 10, 13, 16, 22]
    assert all(p.at_risk >= 7 for p in curve.points)


def test_expectation_table_and_evidence_step_down() -> None:
    sensitive = {"implication": "sensitive", "evidence_level": "1"}
    assert expectation_for(sensitive).min_response_rate == 0.40
    refuted = expectation_for(
        sensitive, [{"direction": "does_not_support"}, {"direction": "does_not_support"}]
    )
    assert refuted.min_response_rate == 0.35 and "one row lower" in refuted.basis
    assert (
        expectation_for({"implication": "resistant", "evidence_level": "R1"}).min_response_rate
        is None
    )


# --- the planted cohort -----------------------------------------------------------------------


def test_the_planted_cohort_raises_exactly_the_planted_alerts(
    demo_kb: Kb, cohort: Cohort, tmp_path: Path
) -> None:
    path = tmp_path / "cohort.csv"
    cohort.write_csv(path)
    result = _import(demo_kb, path)
    assert result.ok, result.errors[:3]
    assert result.episodes == 5000
    with demo_kb.unit_of_work() as session:
        done = refresh_alerts(session, actor=_actor(session))
    found = {(a.kind, a.subject) for a in done.report.findings}
    assert found == {
        (AlertKind.RESPONSE_BELOW_EXPECTATION, cohort.planted["response_below_expectation"]),
        (AlertKind.RESISTANCE_SIGNAL, cohort.planted["resistance_signal"]),
        (AlertKind.OFF_LABEL_USE, "BRAF p.Val600Glu | osimertinib"),
    }
    assert done.raised == 3
    with demo_kb.read() as session:
        alerts = list_alerts(session)
    assert len(alerts) == 3 and all(a.status is AlertStatus.OPEN for a in alerts)
    below = next(a for a in alerts if a.kind is AlertKind.RESPONSE_BELOW_EXPECTATION)
    # The alert carries its test and the numbers that raised it.
    assert below.numbers["test"].startswith("exact binomial")
    assert below.numbers["p_value"] < below.numbers["threshold"] == pytest.approx(0.05 / 30)
    assert below.numbers["expected_min_response_rate"] == 0.40
    assert below.numbers["response_rate"] < below.numbers["wilson_95"][1] < 0.40
    # Every one of the 30 assertions is analysed; the 27 others are within expectation.
    report = done.report
    assert report.tests_run == 30 and len(report.assertions) == 30
    # Refreshing again raises nothing new.
    with demo_kb.unit_of_work() as session:
        again = refresh_alerts(session, actor=_actor(session))
    assert (again.raised, again.closed) == (0, 0)


def test_resolving_an_alert_is_role_checked_reasoned_and_audited(
    demo_kb: Kb, cohort: Cohort, tmp_path: Path
) -> None:
    path = tmp_path / "cohort.csv"
    cohort.write_csv(path)
    _import(demo_kb, path)
    with demo_kb.unit_of_work() as session:
        refresh_alerts(session, actor=_actor(session))
        alert = next(a for a in list_alerts(session) if a.kind is AlertKind.OFF_LABEL_USE)
    with demo_kb.unit_of_work() as session:
        releaser = authenticate(session, name="releaser", password="demo-releaser")
        with pytest.raises(PermissionDenied):
            resolve_alert(session, actor=releaser, alert_id=alert.id,
                          status=AlertStatus.DISMISSED, reason="not mine")  # fmt: skip
        with pytest.raises(KbError, match="needs a reason"):
            resolve_alert(session, actor=_actor(session), alert_id=alert.id,
                          status=AlertStatus.DISMISSED, reason="  ")  # fmt: skip
    with demo_kb.unit_of_work() as session:
        row = resolve_alert(
            session, actor=_actor(session), alert_id=alert.id,
            status=AlertStatus.RESOLVED, reason="CS-00002 adds an evidence item citing the cohort",
        )  # fmt: skip
    assert row.status is AlertStatus.RESOLVED and row.resolved_by == "curator"
    with demo_kb.read() as session:
        events = [e for e in list_events(session) if e.action == "outcomes.alert_decision"]
        assert verify_chain(session).ok
    assert events[-1].subject == alert.id
    assert events[-1].details["after"] == "resolved"
    assert "CS-00002" in events[-1].details["reason"]
    # A resolved alert stays resolved when the analysis still finds it.
    with demo_kb.unit_of_work() as session:
        refresh_alerts(session, actor=_actor(session))
        assert session.get(OutcomeAlert, alert.id).status == AlertStatus.RESOLVED


# --- privacy at the door ----------------------------------------------------------------------

_GOOD = ["P1", "SITE-A", "NSCLC", "EGFR L858R", "Osimertinib", "1", "2024-01-10", "2024-06-01",
         "PR", "143", "no", "toxicity", "", "AS-00001"]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "value", "what"),
    [
        ("Patient name", "Jane Doe", "patient name"),
        ("MRN", "00123456", "mrn"),
        ("Date of birth", "1961-04-02", "date of birth"),
        ("Home address", "1 High Street", "address"),
        ("E-mail", "someone@example.org", "e mail"),
    ],
)
def test_identifier_columns_are_refused_with_nothing_stored(
    demo_kb: Kb, tmp_path: Path, header: str, value: str, what: str
) -> None:
    rows = [[*_GOOD[:2], value, *_GOOD[2:]]]
    headers = [*HEADERS[:2], header, *HEADERS[2:]]
    result = _import(demo_kb, _write_csv(tmp_path / "o.csv", headers, rows))
    assert not result.ok
    error = result.errors[0]
    assert (error.code, error.location.row, error.location.column) == ("direct_identifier", 1, "C")
    assert what in error.message
    assert value not in str(result.as_json())  # never echoed
    assert _stored(demo_kb) == (0, 0)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("call the ward: contact jane.doe@hospital.org", "e-mail"),
        ("rang +44 20 7946 0958 about scans", "phone"),
        ("tel (555) 123-4567", "phone"),
        ("MRN: 4471234 transferred", "identifier marker"),
        ("ref 078-05-1120", "social security"),
    ],
)
def test_identifiers_in_free_text_are_refused_with_nothing_stored(
    demo_kb: Kb, tmp_path: Path, text: str, what: str
) -> None:
    rows = [[*_GOOD, "fine"], [*_GOOD[:1], "SITE-B", *_GOOD[2:], text]]
    result = _import(demo_kb, _write_csv(tmp_path / "o.csv", [*HEADERS, "Notes"], rows))
    assert [(e.code, e.location.row, e.location.column) for e in result.errors] == [
        ("direct_identifier", 3, "O")
    ]
    assert what in result.errors[0].message
    assert text not in str(result.as_json())
    assert _stored(demo_kb) == (0, 0)


def test_patient_ids_are_stored_only_as_keyed_hashes_with_shifted_dates(
    demo_kb: Kb, tmp_path: Path
) -> None:
    rows = [
        ["ZZPATIENT77", "SITE-A", *_GOOD[2:]],
        ["ZZPATIENT77", "SITE-A", "NSCLC", "EGFR L858R", "Osimertinib", "2", "2024-07-01", "",
         "SD", "", "", "", "", ""],
    ]  # fmt: skip
    result = _import(demo_kb, _write_csv(tmp_path / "o.csv", HEADERS, rows))
    assert result.ok and result.patients == 1
    with demo_kb.read() as session:
        episodes = session.execute(
            select(OutcomeEpisode.patient_key, OutcomeEpisode.start_date,
                   OutcomeEpisode.days_on_treatment, OutcomeEpisode.reason_stopped)
            .order_by(OutcomeEpisode.id)
        ).all()  # fmt: skip
    assert {e.patient_key for e in episodes} == {KEY.patient_key("SITE-A", "ZZPATIENT77")}
    sources = (dt.date(2024, 1, 10), dt.date(2024, 7, 1))
    shifts = {e.start_date - d for e, d in zip(episodes, sources, strict=True)}
    assert len(shifts) == 1  # one shift per patient: intervals keep
    (shift,) = shifts
    assert 1 <= abs(shift.days) <= 182
    assert episodes[0].days_on_treatment == 143  # durations unchanged
    assert episodes[1].reason_stopped == "ongoing"
    database = Path(str(demo_kb.engine.url.database))
    if database.is_file():  # SQLite: the raw id is nowhere in the file
        demo_kb.close()
        assert b"ZZPATIENT77" not in database.read_bytes()


def test_a_record_number_column_is_refused_even_mapped_to_patient(
    demo_kb: Kb, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "o.csv", ["MRN", *HEADERS[1:]], [_GOOD])
    profile = tmp_path / "p.toml"
    profile.write_text('[columns]\n"MRN" = "patient"\n')
    result = _import(demo_kb, path, profile=profile)
    assert [(e.code, e.location.column) for e in result.errors][:1] == [("direct_identifier", "A")]
    assert _stored(demo_kb) == (0, 0)


def test_a_different_key_is_refused(demo_kb: Kb, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "o.csv", HEADERS, [_GOOD])
    _import(demo_kb, path)
    with pytest.raises(KbError, match="not the one earlier imports"):
        _import(demo_kb, path, key=OutcomeKey(b"\x01" * 32))
    assert _stored(demo_kb) == (1, 1)


def test_key_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    KEY.write(path)
    assert OutcomeKey.read(path).fingerprint == KEY.fingerprint
    assert "secret" not in repr(KEY) and KEY.secret.hex() not in repr(KEY)
    path.chmod(0o644)
    with pytest.raises(KbError, match="chmod 600"):
        OutcomeKey.read(path)


# --- validation, all or nothing ---------------------------------------------------------------


def test_bad_rows_are_located_and_nothing_is_stored(demo_kb: Kb, tmp_path: Path) -> None:
    rows = [
        _GOOD,
        [*_GOOD[:2], "NOTACODE", *_GOOD[3:]],
        [*_GOOD[:3], "EGFR XYZ", *_GOOD[4:]],
        [*_GOOD[:8], "responded", *_GOOD[9:]],
        [*_GOOD[:13], "AS-99999"],
        [*_GOOD[:6], "2024-13-01", *_GOOD[7:]],
    ]
    result = _import(demo_kb, _write_csv(tmp_path / "o.csv", HEADERS, rows))
    located = [(e.location.row, e.location.column, e.field, e.code) for e in result.errors]
    assert located == [
        (3, "C", "tumour_type", "unknown_code"),
        (4, "D", "biomarkers", "bad_biomarker"),
        (5, "I", "best_response", "bad_response"),
        (6, "N", "assertions", "unknown_assertion"),
        (7, "G", "start_date", "bad_date"),
    ]
    assert _stored(demo_kb) == (0, 0)
    # A dry run of the good row alone stores nothing either.
    good = _write_csv(tmp_path / "good.csv", HEADERS, [_GOOD])
    with demo_kb.read() as session:
        dry = import_outcomes(session, good, actor=None, key=KEY, dry_run=True)
    assert dry.ok and dry.episodes == 1 and dry.import_id is None
    assert _stored(demo_kb) == (0, 0)


def test_xlsx_intake_with_a_toml_profile(demo_kb: Kb, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Episodes"
    sheet.append(["exported 2026-12-01"])
    sheet.append(["Pt code", "Centre", "OncoTree", "Alterations", "Regimen", "Best response",
                  "Days on treatment", "Reason"])  # fmt: skip
    sheet.append(["A1", "SITE-A", "MEL", "BRAF p.Val600Glu", "Dabrafenib + Trametinib", "CR",
                  200, "ongoing"])  # fmt: skip
    path = tmp_path / "episodes.xlsx"
    book.save(path)
    profile = tmp_path / "site.toml"
    profile.write_text('sheet = "Episodes"\nheader_row = 2\n[columns]\n"Pt code" = "patient"\n')
    result = _import(demo_kb, path, profile=profile)
    assert result.ok, result.errors
    with demo_kb.read() as session:
        episode = session.scalars(select(OutcomeEpisode)).one()
        assert episode.biomarkers == "BRAF p.Val600Glu"
        assert episode.therapy_key == "dabrafenib + trametinib"
        assert episode.days_on_treatment == 200 and episode.start_date is None


def test_import_is_role_checked_audited_without_patient_data_and_outside_releases(
    demo_kb: Kb, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "o.csv", HEADERS, [_GOOD])
    with demo_kb.read() as session:
        digest = build_snapshot(session).digest()
    with demo_kb.unit_of_work() as session, pytest.raises(PermissionDenied):
        releaser = authenticate(session, name="releaser", password="demo-releaser")
        import_outcomes(session, path, actor=releaser, key=KEY)
    result = _import(demo_kb, path)
    with demo_kb.read() as session:
        event = next(e for e in list_events(session) if e.action == "outcomes.import")
        assert build_snapshot(session).digest() == digest  # never content, never released
    assert event.subject == result.import_id
    assert event.details["episodes"] == 1 and event.details["key_fingerprint"] == KEY.fingerprint
    text = json.dumps(event.as_json())
    assert "P1" not in re.findall(r"\bP1\b", text) and KEY.patient_key("SITE-A", "P1") not in text


# --- small cells ------------------------------------------------------------------------------


def _small_cohort(tmp_path: Path) -> Path:
    """AS-00001 with 5 patients (shown), AS-00002 with 4 (suppressed), and an off-label pair
    of 4 patients (no alert)."""
    rows = []
    for n in range(5):
        rows.append([f"A{n}", "SITE-A", "NSCLC", "EGFR L858R", "Osimertinib", "1", "2024-01-01",
                     f"2024-0{n + 2}-01", "PR" if n < 3 else "PD", "", "", "progression", "",
                     "AS-00001"])  # fmt: skip
    for n in range(4):
        rows.append([f"B{n}", "SITE-A", "NSCLC", "EGFR L858R", "Osimertinib", "1", "2024-01-01",
                     "", "CR", "", "", "", "", "AS-00002"])  # fmt: skip
        rows.append([f"C{n}", "SITE-B", "MEL", "KRAS G12C", "Imatinib", "1", "", "", "PD", "",
                     "", "", "", ""])  # fmt: skip
    return _write_csv(tmp_path / "small.csv", HEADERS, rows)


def test_small_cells_are_suppressed_in_every_rendition(
    demo_kb: Kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(demo_kb, _small_cohort(tmp_path))
    with demo_kb.read() as session:
        report = analyse(session)
    by_id = {a.assertion: a for a in report.assertions}
    shown, hidden = by_id["AS-00001"], by_id["AS-00002"]
    assert shown.patients == 5 and not shown.suppressed
    assert shown.response_counts["PR"] is None  # 3 patients: a cell under k
    assert shown.response_counts["CR"] == 0
    assert hidden.suppressed and hidden.patients is None and hidden.response_rate is None
    assert hidden.time_on_treatment is None
    assert report.off_label == () and report.findings == ()
    # The API (JSON), the text, the HTML and the workbook all withhold the 4-patient figures.
    api = report.as_json()
    hidden_json = next(a for a in api["assertions"] if a["assertion"] == "AS-00002")
    assert hidden_json["suppressed"] and hidden_json["patients"] is None
    assert hidden_json["response_counts"] == {}
    text = "\n".join(report_lines(report))
    assert re.search(r"AS-00002 .*<5 .*suppressed", text)
    page = render_html(report)
    assert "AS-00002</td><td>Osimertinib</td><td>1</td><td class='n sup'>&lt;5</td>" in page
    assert "KRAS" not in page and "Imatinib" not in page
    workbook = tmp_path / "r.xlsx"
    write_xlsx(report, workbook)
    rows = list(load_workbook(workbook)["Assertions"].values)
    hidden_row = next(r for r in rows if r[0] == "AS-00002")
    assert hidden_row[4] == "<5" and all(v is None for v in hidden_row[5:])
    # KM curves stop where fewer than k are at risk.
    assert all(p.at_risk >= 5 for p in shown.time_on_treatment.points)
    # A higher k (set by an admin) suppresses AS-00001 too.
    with demo_kb.unit_of_work() as session:
        with pytest.raises(PermissionDenied):
            set_k_threshold(session, actor=_actor(session), k=6)
        set_k_threshold(session, actor=demo_admin(session), k=6)
    with demo_kb.read() as session:
        assert all(a.suppressed for a in analyse(session).assertions)


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(ENV_KEY, KEY.secret.hex())
    monkeypatch.setenv("KB_PASSWORD", "demo-curator")
    yield


def test_cli_import_report_alerts(
    demo_url: str, cohort: Cohort, tmp_path: Path, cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = tmp_path / "cohort.csv"
    cohort.write_csv(path)
    db = ["--db", demo_url, "--user", "curator"]
    assert main([*db, "outcomes", "import", str(path), "--dry-run"]) == 0
    assert "would import 5000 episode(s)" in capsys.readouterr().out
    assert main([*db, "outcomes", "import", str(path)]) == 0
    assert "imported 5000 episode(s)" in capsys.readouterr().out
    html_path, xlsx_path = tmp_path / "r.html", tmp_path / "r.xlsx"
    assert (
        main([*db, "outcomes", "report", "--html", str(html_path), "--xlsx", str(xlsx_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "findings: 3" in out
    page = html_path.read_text()
    # Self-contained: inline SVG, no script, nothing fetched.
    assert page.count("<svg") == 31 and "<script" not in page
    assert not re.search(r"(src|href)=['\"]?https?:", page)
    assert {"Assertions", "Time on treatment", "Findings"} <= set(
        load_workbook(xlsx_path).sheetnames
    )
    assert main([*db, "outcomes", "alerts", "--format", "json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    assert sorted(a["kind"] for a in alerts) == [
        "off_label_use", "resistance_signal", "response_below_expectation"
    ]  # fmt: skip
    first = alerts[0]["id"]
    assert main([*db, "outcomes", "resolve", first, "--status", "dismissed",
                 "--reason", "seen; cohort too young"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main([*db, "outcomes", "alerts", "--no-refresh"]) == 0
    assert "dismissed" in capsys.readouterr().out


def test_cli_refuses_an_identifier_with_exit_1(
    demo_url: str, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_csv(tmp_path / "o.csv", [*HEADERS, "Notes"], [[*_GOOD, "mail x@y.org"]])
    errors = tmp_path / "errors.csv"
    assert main(["--db", demo_url, "--user", "curator", "outcomes", "import", str(path),
                 "--errors", str(errors)]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "nothing was stored" in out and "row 2, column O" in out and "x@y.org" not in out
    assert "direct_identifier" in errors.read_text()


# --- PostgreSQL: the database enforces who writes outcome rows --------------------------------


@pytest.mark.postgres
def test_postgres_grants_hold_outcome_rows(team: pg.Team, tmp_path: Path) -> None:
    rows = [[f"K{n}", "SITE-A", "NSCLC", "KRAS G12C", "Imatinib", "1", "", "", "PD", "", "", "",
             "", ""] for n in range(5)]  # fmt: skip
    path = _write_csv(tmp_path / "o.csv", HEADERS, rows)
    cara = team.kb("cara")
    try:
        with cara.unit_of_work() as session:
            result = import_outcomes(session, path, actor=team.actor(cara), key=KEY)
        assert result.ok and result.import_id
        with cara.unit_of_work() as session:
            done = refresh_alerts(session, actor=team.actor(cara))
        assert done.raised == 1  # an off-label use: curators raise alerts
        with cara.unit_of_work() as session:
            (alert,) = list_alerts(session)
            resolve_alert(session, actor=team.actor(cara), alert_id=alert.id,
                          status=AlertStatus.DISMISSED, reason="test cohort")  # fmt: skip
        # Episodes are never edited, and only admins delete them or set k.
        assert "permission denied" in pg._refused(cara, "UPDATE outcome_episode SET line = 9")
        assert "permission denied" in pg._refused(cara, "DELETE FROM outcome_episode")
        assert "permission denied" in pg._refused(
            cara, "INSERT INTO outcome_setting VALUES ('k_threshold', '1', 'cara', now())"
        )
    finally:
        cara.close()
    rm = team.kb("rm")
    try:
        assert "permission denied" in pg._refused(
            rm, "UPDATE outcome_alert SET status = 'open', resolution = NULL"
        )
        assert "permission denied" in pg._refused(rm, "DELETE FROM outcome_import")
    finally:
        rm.close()
    ada = team.kb("ada")
    try:
        with ada.unit_of_work() as session:
            set_k_threshold(session, actor=team.actor(ada), k=7)
        with ada.unit_of_work() as session:
            session.execute(delete(OutcomeImport))  # a purge cascades to the episodes
        assert _stored(ada) == (0, 0)
    finally:
        ada.close()


# --- FHIR R4 Bundles --------------------------------------------------------------------------


def _fhir_bundle(*, response: str = "PR", patient_details: bool = False) -> dict[str, Any]:
    from tests.test_fhir import PATIENT, bundle, condition, variant

    medication = {
        "resourceType": "MedicationStatement",
        "id": "med-1",
        "status": "stopped",
        "statusReason": [{"text": "Disease progression"}],
        "subject": {"reference": PATIENT},
        "medicationCodeableConcept": {"text": "Dabrafenib + Trametinib"},
        "effectivePeriod": {"start": "2025-02-01", "end": "2025-09-30"},
    }
    best = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
                    "code": "C111544",
                    "display": "Best Overall Response",
                }
            ]
        },
        "subject": {"reference": PATIENT},
        "focus": [{"reference": "MedicationStatement/med-1"}],
        "valueCodeableConcept": {"coding": [{"code": response}]},
    }
    data = bundle(condition("MEL"), variant("BRAF", "HGNC:1097", "p.Val600Glu"), medication, best)
    patient = data["entry"][0]["resource"]
    if not patient_details:
        del patient["birthDate"]
    return data


def test_fhir_bundle_intake(demo_kb: Kb, tmp_path: Path) -> None:
    from kb.outcomes.fhir import import_fhir_bundle

    path = tmp_path / "outcome.json"
    path.write_text(json.dumps(_fhir_bundle()))
    with demo_kb.unit_of_work() as session:
        result = import_fhir_bundle(session, path, site="SITE-F", actor=_actor(session), key=KEY)
    assert result.ok, result.errors
    with demo_kb.read() as session:
        episode = session.scalars(select(OutcomeEpisode)).one()
        assert (episode.tumour_type, episode.biomarkers) == ("MEL", "BRAF p.Val600Glu")
        assert (episode.best_response, episode.reason_stopped) == ("PR", "progression")
        assert episode.days_on_treatment == 241
        assert episode.patient_key == KEY.patient_key("SITE-F", "pt-1")


@pytest.mark.parametrize("probe", ["birth_date", "email_in_note", "bad_response"])
def test_fhir_bundle_refusals_store_nothing(demo_kb: Kb, tmp_path: Path, probe: str) -> None:
    from kb.outcomes.fhir import import_fhir_bundle

    data = _fhir_bundle(patient_details=probe == "birth_date",
                        response="responded" if probe == "bad_response" else "PR")  # fmt: skip
    if probe == "email_in_note":
        data["entry"][3]["resource"]["note"] = [{"text": "ask dr.who@clinic.example.org"}]
    path = tmp_path / "outcome.json"
    path.write_text(json.dumps(data))
    with demo_kb.unit_of_work() as session:
        result = import_fhir_bundle(session, path, site="SITE-F", actor=_actor(session), key=KEY)
    expected = {
        "birth_date": ("$.entry[0].resource.birthDate", "direct_identifier"),
        "email_in_note": ("$.entry[3].resource.note[0].text", "direct_identifier"),
        "bad_response": ("$.entry[4].resource.valueCodeableConcept", "bad_response"),
    }[probe]
    assert [(e.location.column, e.code) for e in result.errors] == [expected]
    assert "dr.who" not in str(result.as_json()) and "1961" not in str(result.as_json())
    assert _stored(demo_kb) == (0, 0)


def test_records_intake_refuses_identifier_keys_and_locates_by_key(demo_kb: Kb) -> None:
    from kb.outcomes import import_records

    good = {
        "patient": "R1",
        "site": "SITE-S",
        "tumour_type": "NSCLC",
        "biomarkers": "EGFR L858R",
        "therapy": "Osimertinib",
        "best_response": "SD",
    }
    with demo_kb.unit_of_work() as session:
        actor = _actor(session)
        probe = {**good, "patient": "R2", "email": "a@b.org"}
        refused = import_records(session, [good, probe], source="API", actor=actor, key=KEY)
        wrong = {**good, "best_response": "??"}
        bad = import_records(session, [good, wrong], source="API", actor=actor, key=KEY)
    assert [(e.code, e.location.column) for e in refused.errors] == [("direct_identifier", "email")]
    assert [(e.location.row, e.location.column, e.code) for e in bad.errors] == [
        (2, "best_response", "bad_response")
    ]
    assert _stored(demo_kb) == (0, 0)
    with demo_kb.unit_of_work() as session:
        stored = import_records(session, [good], source="API", actor=_actor(session), key=KEY)
    assert stored.ok and _stored(demo_kb) == (1, 1)


def test_the_default_key_file_is_made_private_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.outcomes.keys import ENV_KEY_FILE, default_key_path, find_key

    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(KbError, match="no outcomes key"):
        find_key("kb-1", create=False)
    made = find_key("kb-1", create=True)
    path = default_key_path("kb-1")
    assert path.is_relative_to(tmp_path) and path.stat().st_mode & 0o777 == 0o600
    assert find_key("kb-1", create=False).fingerprint == made.fingerprint
