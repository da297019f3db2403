"""Tools ▸ Check trials against the registry, against a real HTTP server on 127.0.0.1 that speaks
the ClinicalTrials.gov API v2 shape: a status change becomes a draft the window opens, a
malformed answer is an error naming the trials, a cancel or a refusal writes nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import QSettings

from curator.main_window import MainWindow
from curator.settings import Settings
from curator.trials_check import (
    TrialsCheckDialog,
    qsettings_of,
    registry_base_url,
    set_registry_base_url,
)
from curator.workers import Workers
from kb.importing.trials_sync import DEFAULT_BASE_URL, fetch_registry
from kb.model.enums import ChangeOp, RecordType, Role
from kb.model.records import get_record, list_records
from kb.review.changes import get_change_set, list_change_sets
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

PASSWORD = "password1"
WAIT = 20_000
KEYNOTE = "NCT02628067"  # TR-00002 in the demo, ACTIVE_NOT_RECRUITING


# --- a registry on 127.0.0.1 -----------------------------------------------------------------


@dataclass
class Registry:
    """The studies the fake registry holds, how it misbehaves, and what it was asked."""

    url: str = ""
    studies: dict[str, dict[str, Any]] = field(default_factory=dict)
    malformed: bool = False
    delay: float = 0.0
    asked: list[str] = field(default_factory=list)

    def reply(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        if self.malformed:
            return 200, b'{"studies": [{"protocolSection": '
        if path.startswith("/api/v2/studies/"):
            study = self.studies.get(path.rsplit("/", 1)[-1])
            return (200, json.dumps(study).encode()) if study else (404, b'{"message": "no"}')
        wanted = query["filter.ids"][0].split(",")
        size = int(query.get("pageSize", ["10"])[0])
        start = int(query.get("pageToken", ["0"])[0])
        found = [self.studies[nct] for nct in wanted if nct in self.studies]
        body: dict[str, Any] = {"studies": found[start : start + size]}
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return 200, json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Registry


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        registry = self.server.registry
        parts = urlsplit(self.path)
        registry.asked.append(parts.path)
        if registry.delay:
            time.sleep(registry.delay)
        status, body = registry.reply(parts.path, parse_qs(parts.query))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def study(trial: dict[str, Any], arms: list[dict[str, Any]]) -> dict[str, Any]:
    """A v2 study record saying what the KB says about the trial."""
    phases = {"PHASE1_PHASE2": ["PHASE1", "PHASE2"], "PHASE2_PHASE3": ["PHASE2", "PHASE3"]}
    first = arms[0] if arms else {"min_age": 18, "max_age": None, "sex": "ALL"}
    eligibility: dict[str, Any] = {"sex": first["sex"]}
    if first["min_age"] is not None:
        eligibility["minimumAge"] = f"{first['min_age']} Years"
    if first["max_age"] is not None:
        eligibility["maximumAge"] = f"{first['max_age']} Years"
    return {
        "protocolSection": {
            "identificationModule": {"nctId": trial["nct_id"], "briefTitle": trial["title"]},
            "statusModule": {
                "overallStatus": trial["status"],
                "lastUpdatePostDateStruct": {"date": "2026-10-01", "type": "ACTUAL"},
            },
            "designModule": {"phases": phases.get(trial["phase"], [trial["phase"]])},
            "armsInterventionsModule": {
                "armGroups": [
                    {"label": arm["code"], "type": "EXPERIMENTAL", "description": arm["name"]}
                    for arm in arms
                ]
            },
            "eligibilityModule": eligibility,
        }
    }


@pytest.fixture
def kb(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def registry(kb: Kb) -> Iterator[Registry]:
    """A registry that starts out agreeing with the demo KB's main line."""
    registry = Registry()
    with kb.read() as session:
        arms = [row.fields for row in list_records(session, RecordType.TRIAL_ARM)]
        for trial in list_records(session, RecordType.TRIAL):
            own = [arm for arm in arms if arm["trial"] == trial.human_id]
            registry.studies[trial.fields["nct_id"]] = study(dict(trial.fields), own)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.registry = registry
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield registry
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def people(kb: Kb) -> dict[str, Actor]:
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        return {
            "cora": add_user(session, actor=admin, name="cora", role=Role.CURATOR,
                             password=PASSWORD),
            "rm": add_user(session, actor=admin, name="rm", role=Role.RELEASE_MANAGER,
                           password=PASSWORD),
        }  # fmt: skip


@dataclass
class Check:
    """Everything a registry check needs, and a way to open its dialog."""

    qtbot: Any
    kb: Kb
    people: dict[str, Actor]
    registry: Registry
    workers: Workers
    settings: QSettings

    def dialog(self, actor: str = "cora", url: str | None = None) -> TrialsCheckDialog:
        set_registry_base_url(self.settings, self.registry.url if url is None else url)
        dialog = TrialsCheckDialog(self.kb, self.people[actor], self.workers, self.settings)
        self.qtbot.addWidget(dialog)
        dialog.show()
        return dialog


@pytest.fixture
def check(qtbot, kb, people, registry, tmp_path) -> Iterator[Check]:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pool = Workers()
    yield Check(qtbot, kb, people, registry, pool, settings)
    pool.cancel_all()
    pool.wait()


def run_check(qtbot, dialog: TrialsCheckDialog) -> str:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(dialog.check_finished, timeout=WAIT) as blocker:
        dialog.start_button.click()
    return str(blocker.args[0])


def change_sets(kb: Kb) -> list[str]:
    with kb.read() as session:
        # Besides CS-00001, the change set that brought the demo in.
        return [row.human_id for row in list_change_sets(session) if row.human_id != "CS-00001"]


# --- tests ------------------------------------------------------------------------------------


def test_a_status_change_becomes_a_draft_that_the_window_opens(
    qtbot, check, demo_url, tmp_path
) -> None:
    kb, registry = check.kb, check.registry
    registry.studies[KEYNOTE]["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    settings = Settings(QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat))
    set_registry_base_url(qsettings_of(settings), registry.url)
    window = MainWindow(open_kb(demo_url), check.people["cora"], settings=settings)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.draft_loaded, timeout=WAIT):
        window.show()
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.action("check_trials") in tools.actions()
    window.action("check_trials").trigger()
    dialog = window.findChild(TrialsCheckDialog)
    assert isinstance(dialog, TrialsCheckDialog)
    assert dialog.url_edit.text() == registry.url

    assert run_check(qtbot, dialog) == "staged"
    result = dialog.sync_result
    assert result is not None and result.change_set == "CS-00002"
    report = dialog.report.toPlainText()
    assert "Checked 4 trials" in report and "1 changed" in report
    assert "status: 'ACTIVE_NOT_RECRUITING' → 'COMPLETED'" in report
    assert "CS-00002" in dialog.headline.text() and dialog.open_button.isEnabled()
    # The window opens the draft the check staged.
    qtbot.waitUntil(lambda: "CS-00002" in window.draft_dock.heading.text(), timeout=WAIT)
    assert window.draft_dock.isVisible()
    with kb.read() as session:
        staged = get_change_set(session, "CS-00002")
        assert [(c.op, c.human_id, dict(c.fields)) for c in staged.changes] == [
            (ChangeOp.UPDATE, "TR-00002", {"status": "COMPLETED"})
        ]
        # Nothing reached the main line: a reviewer approves it first.
        assert get_record(session, "TR-00002").fields["status"] == "ACTIVE_NOT_RECRUITING"
    assert any(path == "/api/v2/studies" for path in registry.asked)
    dialog.close()
    window.workers.wait()


def test_a_malformed_answer_is_an_error_naming_the_trials_and_stages_nothing(qtbot, check) -> None:
    check.registry.malformed = True
    dialog = check.dialog()
    assert run_check(qtbot, dialog) == "failed"
    assert dialog.error is not None
    assert "malformed JSON" in dialog.error and KEYNOTE in dialog.error
    assert dialog.report.toPlainText() == dialog.error
    assert "The check failed" in dialog.headline.text()
    assert not dialog.open_button.isEnabled() and dialog.start_button.isEnabled()
    assert change_sets(check.kb) == []


def test_a_registry_that_agrees_gives_no_differences(qtbot, check) -> None:
    dialog = check.dialog()
    assert run_check(qtbot, dialog) == "no differences"
    assert "No differences" in dialog.headline.text()
    assert dialog.report.toPlainText().endswith("No differences: no change set was created")
    assert not dialog.open_button.isEnabled()
    assert change_sets(check.kb) == []


def test_cancelling_while_the_registry_answers_stages_nothing(qtbot, check) -> None:
    registry = check.registry
    registry.delay = 1.0
    dialog = check.dialog()
    with qtbot.waitSignal(dialog.check_finished, timeout=WAIT) as blocker:
        dialog.start_button.click()
        qtbot.waitUntil(lambda: bool(registry.asked), timeout=WAIT)
        assert dialog.running and dialog.cancel_button.isEnabled()
        dialog.cancel_button.click()
    assert blocker.args == ["cancelled"]
    assert "Cancelled" in dialog.phase.text()
    assert change_sets(check.kb) == []


def test_a_connection_refused_is_shown_with_kb_s_message(qtbot, check, monkeypatch) -> None:
    # One attempt: kb retries broken connections with backoff, which only slows the test.
    def once(ids: list[str], **options: Any) -> Any:
        return fetch_registry(ids, retries=0, **options)

    monkeypatch.setattr("curator.trials_check.fetch_registry", once)
    dialog = check.dialog(url="http://127.0.0.1:9")
    assert run_check(qtbot, dialog) == "failed"
    assert dialog.error is not None and "cannot connect to http://127.0.0.1:9" in dialog.error
    assert change_sets(check.kb) == []


def test_a_user_who_may_not_edit_cannot_start_a_check(check) -> None:
    dialog = check.dialog("rm")
    assert not dialog.start_button.isEnabled()
    assert "release-manager" in dialog.start_button.toolTip()
    assert "Cannot check" in dialog.phase.text()


def test_the_registry_url_is_a_remembered_setting(qtbot, check) -> None:
    settings = check.settings
    assert registry_base_url(settings) == DEFAULT_BASE_URL
    dialog = TrialsCheckDialog(check.kb, check.people["cora"], check.workers, settings)
    qtbot.addWidget(dialog)
    assert dialog.url_edit.text() == DEFAULT_BASE_URL
    dialog.url_edit.setText(check.registry.url)
    assert run_check(qtbot, dialog) == "no differences"
    assert registry_base_url(settings) == check.registry.url
