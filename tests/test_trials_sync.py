"""The ClinicalTrials.gov check (issue 7) against a real HTTP server on 127.0.0.1.

The server speaks the API v2 shape (`/api/v2/studies/{nctId}`, `/api/v2/studies` with
`filter.ids`, `pageSize`, `pageToken`), starts out agreeing with the demo KB, and each test
changes what it says or scripts a failure. Storage is real: every test that writes runs on
SQLite and PostgreSQL through `demo_kb`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

import kb
from kb.errors import KbError
from kb.importing.trials_sync import (
    SyncCancelled,
    SyncResult,
    TrialSyncError,
    arm_code,
    fetch_registry,
    parse_age,
    parse_retry_after,
    parse_study,
    sync_trials,
)
from kb.model.enums import ChangeOp, ChangeSetStatus, RecordType, Role
from kb.model.orm import AuditEvent
from kb.model.records import RecordRow, get_record, list_records
from kb.review.audit import verify_chain
from kb.review.changes import (
    approve_change_set,
    get_change_set,
    list_change_sets,
    open_draft,
    submit_change_set,
)
from kb.review.users import Actor, PermissionDenied, add_user
from kb.storage.db import Kb
from kb.storage.revisions import current_version
from tests.conftest import demo_admin

MATCH = "NCT02465060"  # NCI-MATCH, TR-00001: arms H and Z1D
KEYNOTE = "NCT02628067"  # KEYNOTE-158, TR-00002: arm K
DESTINY = "NCT04482309"  # DESTINY-PanTumor02, TR-00003: seven arms
LIBRETTO = "NCT03157128"  # LIBRETTO-001, TR-00004: four arms, ages 12+


# --- a registry on 127.0.0.1 -------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Registry:
    """What the fake ClinicalTrials.gov holds, the replies scripted ahead of it, and every
    request it received."""

    def __init__(self) -> None:
        self.url = ""
        self.studies: dict[str, dict[str, Any]] = {}
        self.script: list[Reply] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def study(self, nct: str) -> dict[str, Any]:
        section: dict[str, Any] = self.studies[nct]["protocolSection"]
        return section

    def answer(self, path: str, query: dict[str, list[str]]) -> Reply:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        if path.startswith("/api/v2/studies/"):
            nct = path.rsplit("/", 1)[-1]
            if nct not in self.studies:
                return _json_reply({"message": f"Study {nct} not found"}, status=404)
            return _json_reply(self.studies[nct])
        if path == "/api/v2/studies" and "query.id" in query:
            # The registry's id search matches words of any id; the client keeps exact ones.
            words = set(query["query.id"][0].upper().replace("-", " ").split())
            hits = [
                study
                for study in self.studies.values()
                if words & set(_study_ids(study).upper().replace("-", " ").split())
            ]
            return _json_reply({"studies": hits})
        if path == "/api/v2/studies":
            wanted = query["filter.ids"][0].split(",")
            found = [self.studies[nct] for nct in wanted if nct in self.studies]
            size = int(query.get("pageSize", ["10"])[0])
            offset = int(query.get("pageToken", ["tok0"])[0].removeprefix("tok"))
            body: dict[str, Any] = {"studies": found[offset : offset + size]}
            if offset + size < len(found):
                body["nextPageToken"] = f"tok{offset + size}"
            return _json_reply(body)
        return Reply(404, b"no such path", {"Content-Type": "text/plain"})

    @property
    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


def _study_ids(study: dict[str, Any]) -> str:
    ident = study["protocolSection"]["identificationModule"]
    ids = [ident.get("orgStudyIdInfo", {}).get("id", "")]
    ids += [info.get("id", "") for info in ident.get("secondaryIdInfos", [])]
    return " ".join(ids)


def _json_reply(data: Any, *, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Registry


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        registry = self.server.registry
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with registry.lock:
            registry.seen.append(Seen(parts.path, query, dict(self.headers), time.monotonic()))
        reply = registry.answer(parts.path, query)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[Registry]:
    registry = Registry()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.registry = registry
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield registry
    server.shutdown()
    server.server_close()
    thread.join(5)


_PHASES = {"PHASE1_PHASE2": ["PHASE1", "PHASE2"], "PHASE2_PHASE3": ["PHASE2", "PHASE3"]}


def study_json(trial: RecordRow, arms: list[RecordRow]) -> dict[str, Any]:
    """A v2 study record saying exactly what the KB says about this trial."""
    f = trial.fields
    first = arms[0].fields if arms else {"min_age": 18, "max_age": None, "sex": "ALL"}
    eligibility: dict[str, Any] = {
        "eligibilityCriteria": "Inclusion Criteria:\n\n* measurable disease",
        "healthyVolunteers": False,
        "sex": first["sex"],
        "stdAges": ["ADULT", "OLDER_ADULT"],
    }
    if first["min_age"] is not None:
        eligibility["minimumAge"] = f"{first['min_age']} Years"
    if first["max_age"] is not None:
        eligibility["maximumAge"] = f"{first['max_age']} Years"
    return {
        "protocolSection": {
            "identificationModule": {
                "nctId": f["nct_id"],
                "orgStudyIdInfo": {"id": f"ORG-{f['nct_id']}"},
                "briefTitle": f["title"],
                "officialTitle": f"Official: {f['title']}",
            },
            "statusModule": {
                "statusVerifiedDate": "2025-05",
                "overallStatus": f["status"],
                "lastUpdatePostDateStruct": {"date": "2025-06-01", "type": "ACTUAL"},
            },
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": _PHASES.get(f["phase"], [f["phase"]]),
            },
            "armsInterventionsModule": {
                "armGroups": [
                    {
                        "label": arm.fields["code"],
                        "type": "EXPERIMENTAL",
                        "description": arm.fields["name"],
                        "interventionNames": ["Drug: study drug"],
                    }
                    for arm in arms
                ]
            },
            "eligibilityModule": eligibility,
        },
        "hasResults": False,
    }


def mirror(registry: Registry, demo_kb: Kb) -> None:
    """Make the registry agree with the KB's main line."""
    with demo_kb.read() as s:
        arms = list_records(s, RecordType.TRIAL_ARM)
        for trial in list_records(s, RecordType.TRIAL):
            own = [arm for arm in arms if arm.fields["trial"] == trial.human_id]
            registry.studies[trial.fields["nct_id"]] = study_json(trial, own)


@dataclass
class People:
    cara: Actor  # curator: runs the check
    rita: Actor  # reviewer
    rm: Actor  # release manager: may not edit


@pytest.fixture
def people(demo_kb: Kb) -> People:
    with demo_kb.unit_of_work() as s:
        admin = demo_admin(s)
        made = {
            name: add_user(s, actor=admin, name=name, role=role, password=f"{name}-pass-1")
            for name, role in (
                ("cara", Role.CURATOR),
                ("rita", Role.REVIEWER),
                ("rm", Role.RELEASE_MANAGER),
            )
        }
    return People(**made)


def merge(demo_kb: Kb, people: People, stage: Callable[[Any], object]) -> None:
    """Put an edit on the main line the ordinary way: cara drafts, rita approves."""
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=people.cara, title="setup")
        stage(editor)
        cs = editor.human_id
    with demo_kb.unit_of_work() as s:
        submit_change_set(s, actor=people.cara, change_set_id=cs)
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=people.rita, change_set_id=cs)


def run(demo_kb: Kb, people: People, registry: Registry, **options: Any) -> SyncResult:
    options.setdefault("max_requests_per_second", 50.0)
    with demo_kb.unit_of_work() as s:
        return sync_trials(s, actor=people.cara, base_url=registry.url, **options)


def change_set_count(demo_kb: Kb) -> int:
    with demo_kb.read() as s:
        return len(list_change_sets(s))


def trials_by_nct(demo_kb: Kb) -> dict[str, RecordRow]:
    with demo_kb.read() as s:
        return {row.fields["nct_id"]: row for row in list_records(s, RecordType.TRIAL)}


def trials_by_key(demo_kb: Kb) -> dict[str, RecordRow]:
    with demo_kb.read() as s:
        return {row.human_id: row for row in list_records(s, RecordType.TRIAL)}


def arms_of(demo_kb: Kb, trial: str) -> dict[str, RecordRow]:
    with demo_kb.read() as s:
        return {
            row.fields["code"]: row
            for row in list_records(s, RecordType.TRIAL_ARM)
            if row.fields["trial"] == trial
        }


# --- differences become one draft change set ----------------------------------------------------


def test_recruiting_trial_that_completed_is_proposed_not_written(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    merge(demo_kb, people, lambda e: e.update("TR-00002", {"status": "RECRUITING"}))
    mirror(registry, demo_kb)
    registry.study(KEYNOTE)["statusModule"]["overallStatus"] = "COMPLETED"
    with demo_kb.read() as s:
        version = current_version(s)

    result = run(demo_kb, people, registry, nct_ids=[KEYNOTE.lower()])

    # One trial is one GET of /api/v2/studies/{nctId}, introducing ourselves.
    assert registry.paths == [f"/api/v2/studies/{KEYNOTE}"]
    agent = registry.seen[0].headers["User-Agent"]
    assert agent.startswith(f"kb-curator/{kb.__version__} (")
    assert result.checked == (KEYNOTE,) and result.missing == ()
    [difference] = result.changed
    assert difference.trial == "TR-00002" and difference.registry_updated == "2025-06-01"
    assert [(c.field, c.old, c.new) for c in difference.fields] == [
        ("status", "RECRUITING", "COMPLETED")
    ]
    assert result.change_set is not None
    with demo_kb.read() as s:
        cs = get_change_set(s, result.change_set)
        # A draft authored by the curator who ran the check; the main line is untouched.
        assert cs.status is ChangeSetStatus.DRAFT and cs.author == "cara"
        assert cs.title == f"Registry check {dt.datetime.now(dt.UTC).date()}: 1 trial changed"
        assert cs.source_name == f"ClinicalTrials.gov API v2 ({registry.url})"
        assert cs.source_sha256 is not None and len(cs.source_sha256) == 64
        assert [(c.op, c.human_id, dict(c.fields), dict(c.before)) for c in cs.changes] == [
            (ChangeOp.UPDATE, "TR-00002", {"status": "COMPLETED"}, {"status": "RECRUITING"})
        ]
        assert get_record(s, "TR-00002").fields["status"] == "RECRUITING"
        assert current_version(s) == version

    # A reviewer approves it like any other change set; only then is it on the main line.
    with demo_kb.unit_of_work() as s:
        submit_change_set(s, actor=people.cara, change_set_id=result.change_set)
    with demo_kb.unit_of_work() as s:
        merged = approve_change_set(s, actor=people.rita, change_set_id=result.change_set)
    assert merged.version == version + 1
    with demo_kb.read() as s:
        assert get_record(s, "TR-00002").fields["status"] == "COMPLETED"
        assert verify_chain(s).ok


def test_registry_in_agreement_creates_no_change_set(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    before = change_set_count(demo_kb)

    result = run(demo_kb, people, registry)

    # Several trials are one list query; every KB trial was asked for.
    assert registry.paths == ["/api/v2/studies"]
    query = registry.seen[0].query
    assert sorted(query["filter.ids"][0].split(",")) == sorted([MATCH, KEYNOTE, DESTINY, LIBRETTO])
    assert query["pageSize"] == ["100"] and "pageToken" not in query
    assert "protocolSection.statusModule" in query["fields"][0]
    assert result.changed == () and result.unchanged == 4 and result.change_set is None
    assert change_set_count(demo_kb) == before
    assert result.lines()[-1] == "No differences: no change set was created"


def test_new_arm_is_staged_as_a_create_for_curators_to_complete(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    registry.study(MATCH)["armsInterventionsModule"]["armGroups"].append(
        {
            "label": "Subprotocol Z1I",
            "type": "EXPERIMENTAL",
            "description": "Patients with BRCA1/2 alterations receive AZD1775 PO",
        }
    )

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    [added] = difference.arms_added
    assert (added.code, added.name) == (
        "Subprotocol Z1I",
        "Patients with BRCA1/2 alterations receive AZD1775 PO",
    )
    assert difference.fields == () and difference.arms_suspended == ()
    assert result.change_set is not None
    with demo_kb.read() as s:
        [change] = get_change_set(s, result.change_set).changes
        assert change.op is ChangeOp.CREATE and change.record_type is RecordType.TRIAL_ARM
        assert change.human_id == added.human_id
        fields = dict(change.fields)
        assert fields["trial"] == "TR-00001" and fields["code"] == "Subprotocol Z1I"
        # No eligibility yet: held suspended so it matches no patient before curation.
        assert fields["expression"] is None and fields["tumour_types"] == []
        assert fields["suspended"] is True
        assert (fields["min_age"], fields["max_age"], fields["sex"]) == (18, None, "ALL")
    assert "Subprotocol Z1I" not in arms_of(demo_kb, "TR-00001")
    # The proposal passes validation: it can go to review as it is.
    with demo_kb.unit_of_work() as s:
        submitted = submit_change_set(s, actor=people.cara, change_set_id=result.change_set)
    assert submitted.status is ChangeSetStatus.SUBMITTED


def test_arm_gone_from_registry_is_suspended_never_deleted(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    groups = registry.study(MATCH)["armsInterventionsModule"]["armGroups"]
    registry.study(MATCH)["armsInterventionsModule"]["armGroups"] = [
        group for group in groups if group["label"] != "Z1D"
    ]

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    assert [(arm.human_id, arm.code) for arm in difference.arms_suspended] == [("TA-00002", "Z1D")]
    assert difference.arms_added == ()
    assert result.change_set is not None
    with demo_kb.read() as s:
        changes = get_change_set(s, result.change_set).changes
        assert [(c.op, c.human_id, dict(c.fields)) for c in changes] == [
            (ChangeOp.UPDATE, "TA-00002", {"suspended": True})
        ]
        assert not any(c.op is ChangeOp.DELETE for c in changes)
        assert get_record(s, "TA-00002").fields["suspended"] is False

    # Already suspended, it is not proposed again.
    merge(demo_kb, people, lambda e: e.update("TA-00002", {"suspended": True}))
    assert run(demo_kb, people, registry).change_set is None


def test_age_and_sex_limits_go_to_every_open_arm_of_the_trial(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    merge(demo_kb, people, lambda e: e.update("TA-00006", {"suspended": True}))
    eligibility = registry.study(DESTINY)["eligibilityModule"]
    eligibility.update(minimumAge="21 Years", maximumAge="75 Years", sex="FEMALE")

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    assert difference.trial == "TR-00003" and difference.fields == ()
    open_arms = ["TA-00004", "TA-00005", "TA-00007", "TA-00008", "TA-00009", "TA-00010"]
    assert sorted({c.record for c in difference.arm_fields}) == open_arms
    assert {(c.field, c.old, c.new) for c in difference.arm_fields} == {
        ("min_age", 18, 21),
        ("max_age", None, 75),
        ("sex", "ALL", "FEMALE"),
    }
    assert result.change_set is not None
    with demo_kb.read() as s:
        changes = {c.human_id: dict(c.fields) for c in get_change_set(s, result.change_set).changes}
    assert sorted(changes) == open_arms  # the suspended arm is left alone
    assert changes["TA-00004"] == {"min_age": 21, "max_age": 75, "sex": "FEMALE"}


def test_summary_per_trial_in_result_title_and_audit(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    libretto = registry.study(LIBRETTO)
    libretto["designModule"]["phases"] = ["PHASE2", "PHASE3"]
    libretto["identificationModule"]["briefTitle"] = "Selpercatinib in RET-altered tumours"
    registry.study(KEYNOTE)["statusModule"]["overallStatus"] = "COMPLETED"
    registry.study(KEYNOTE)["eligibilityModule"]["minimumAge"] = "6 Months"

    result = run(demo_kb, people, registry)

    assert [d.nct_id for d in result.changed] == [KEYNOTE, LIBRETTO]
    keynote, libretto_diff = result.changed
    assert [(c.field, c.new) for c in libretto_diff.fields] == [
        ("title", "Selpercatinib in RET-altered tumours"),
        ("phase", "PHASE2_PHASE3"),
    ]
    assert [(c.record, c.field, c.old, c.new) for c in keynote.arm_fields] == [
        ("TA-00003", "min_age", 18, 0)
    ]
    text = "\n".join(result.lines())
    assert "Checked 4 trials" in text and "2 changed, 2 unchanged, 0 missing" in text
    assert "status: 'ACTIVE_NOT_RECRUITING' → 'COMPLETED'" in text
    assert "TA-00003 min_age: 18 → 0" in text
    assert result.change_set is not None and result.change_set_title is not None
    assert result.change_set_title.endswith(": 2 trials changed")
    json.dumps(result.as_json())  # plain data all the way down
    with demo_kb.read() as s:
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "trials.sync", AuditEvent.subject == result.change_set
            )
        ).one()
        assert [d["nct_id"] for d in event.details["changed"]] == [KEYNOTE, LIBRETTO]


def test_trial_merged_into_another_record_proposes_its_new_id(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    ident = registry.study(KEYNOTE)["identificationModule"]
    ident.update(nctId="NCT09999999", nctIdAliases=[KEYNOTE])

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    assert [(c.field, c.old, c.new) for c in difference.fields] == [
        ("nct_id", KEYNOTE, "NCT09999999")
    ]
    assert result.missing == ()


def test_a_trial_known_by_its_protocol_number_gains_its_nct_id(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    """A site's trial imported from CTML before the registry knew it has only its protocol
    number; the check finds the study registered under that number and proposes its NCT id
    (and its title and phase), for review like any other difference."""
    mirror(registry, demo_kb)
    merge(
        demo_kb,
        people,
        lambda e: e.create(
            RecordType.TRIAL, {"protocol_no": "DFCI 10-002", "status": "RECRUITING"}
        ),
    )
    keyed = next(row for row in trials_by_key(demo_kb).values() if not row.fields["nct_id"])
    study = json.loads(json.dumps(registry.studies[KEYNOTE]))
    ident = study["protocolSection"]["identificationModule"]
    ident.update(nctId="NCT05550002", briefTitle="A site trial, now registered")
    ident["orgStudyIdInfo"] = {"id": "CC-10-002"}  # another number sharing a word: not it
    other = json.loads(json.dumps(study))
    other["protocolSection"]["identificationModule"]["nctId"] = "NCT05550003"
    registry.studies["NCT05550003"] = other
    ident["secondaryIdInfos"] = [{"id": "dfci  10-002"}]  # case and spacing aside, ours
    study["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    study["protocolSection"]["armsInterventionsModule"] = {"armGroups": []}
    registry.studies["NCT05550002"] = study

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    assert difference.trial == keyed.human_id and difference.nct_id == "DFCI 10-002"
    assert {c.field: c.new for c in difference.fields} == {
        "nct_id": "NCT05550002",
        "title": "A site trial, now registered",
        "phase": "PHASE2",
    }
    assert "DFCI 10-002" in result.checked and result.missing == ()
    queries = [seen.query for seen in registry.seen if "query.id" in seen.query]
    assert [q["query.id"] for q in queries] == [["DFCI 10-002"]]
    # Nothing is merged until it is reviewed; then the trial is keyed by its NCT id.
    assert trials_by_key(demo_kb)[keyed.human_id].fields["nct_id"] is None
    assert result.change_set is not None
    with demo_kb.unit_of_work() as s:
        submit_change_set(s, actor=people.cara, change_set_id=result.change_set)
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=people.rita, change_set_id=result.change_set)
    gained = trials_by_key(demo_kb)[keyed.human_id].fields
    assert (gained["nct_id"], gained["protocol_no"]) == ("NCT05550002", "DFCI 10-002")
    assert run(demo_kb, people, registry).change_set is None  # in agreement now


def test_a_protocol_number_registered_twice_or_never_is_left_alone(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    merge(
        demo_kb,
        people,
        lambda e: [
            e.create(RecordType.TRIAL, {"protocol_no": number, "status": "RECRUITING"})
            for number in ("10-002", "99-9999")
        ],
    )
    for nct in ("NCT05550002", "NCT05550003"):
        study = json.loads(json.dumps(registry.studies[KEYNOTE]))
        study["protocolSection"]["identificationModule"].update(
            nctId=nct, orgStudyIdInfo={"id": "10-002"}
        )
        registry.studies[nct] = study

    result = run(demo_kb, people, registry, nct_ids=["10-002", "99-9999"])

    assert result.change_set is None and result.missing == ("99-9999",)
    assert any("NCT05550002, NCT05550003" in note for note in result.notes)


def test_arms_curated_under_other_codes_are_not_replaced(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    # The real record labels NCI-MATCH's subprotocols at length; the demo codes them H, Z1D.
    registry.study(MATCH)["armsInterventionsModule"]["armGroups"] = [
        {"label": "Subprotocol H (dabrafenib, trametinib)", "type": "EXPERIMENTAL"},
        {"label": "Subprotocol Z1D (nivolumab)", "type": "EXPERIMENTAL"},
    ]
    registry.study(MATCH)["eligibilityModule"]["maximumAge"] = "99 Years"
    del registry.study(KEYNOTE)["armsInterventionsModule"]

    result = run(demo_kb, people, registry)

    [difference] = result.changed
    assert difference.arms_added == () and difference.arms_suspended == ()
    assert {(c.record, c.field, c.new) for c in difference.arm_fields} == {
        ("TA-00001", "max_age", 99),
        ("TA-00002", "max_age", 99),
    }
    assert result.notes == (
        "TR-00001: no arm code (H, Z1D) is one of the registry's 2 arm labels; arms not "
        "compared — rename the codes to the registry labels to have them checked",
        "TR-00002: the registry record lists no arm groups; arms not compared",
    )


def test_user_agent_names_a_contact_when_given(registry: Registry) -> None:
    registry.studies[KEYNOTE] = {}  # the answer does not matter here
    with pytest.raises(TrialSyncError):
        fetch_registry([KEYNOTE], base_url=registry.url, contact="mailto:kb@example.org")
    assert registry.seen[0].headers["User-Agent"] == (
        f"kb-curator/{kb.__version__} (+mailto:kb@example.org)"
    )
    assert registry.seen[0].headers["Accept"] == "application/json"


# --- missing trials ----------------------------------------------------------------------------


def test_trial_gone_from_registry_is_reported_not_deleted(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    del registry.studies[MATCH]
    before = change_set_count(demo_kb)

    one = run(demo_kb, people, registry, nct_ids=[MATCH])  # the single GET answers 404
    assert registry.paths == [f"/api/v2/studies/{MATCH}"]
    assert one.missing == (MATCH,) and one.change_set is None

    registry.study(DESTINY)["statusModule"]["overallStatus"] = "COMPLETED"
    many = run(demo_kb, people, registry)  # absent from the list answer
    assert many.missing == (MATCH,) and [d.nct_id for d in many.changed] == [DESTINY]
    assert "Not in the registry (reported only, nothing deleted): NCT02465060" in many.lines()
    assert many.change_set is not None
    with demo_kb.read() as s:
        cs = get_change_set(s, many.change_set)
        assert all(c.human_id not in ("TR-00001", "TA-00001", "TA-00002") for c in cs.changes)
    assert change_set_count(demo_kb) == before + 1
    assert trials_by_nct(demo_kb)[MATCH].fields["status"] == "COMPLETED"


# --- a good citizen ----------------------------------------------------------------------------


def _add_trials(demo_kb: Kb, people: People, count: int) -> list[str]:
    ids = [f"NCT0000{index:04d}" for index in range(1, count + 1)]

    def stage(editor: Any) -> None:
        for nct in ids:
            editor.create(
                RecordType.TRIAL,
                {"nct_id": nct, "title": f"Trial {nct}", "phase": "PHASE1", "status": "RECRUITING"},
            )

    merge(demo_kb, people, stage)
    return ids


def test_pagination_is_followed_to_the_last_page(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    extra = _add_trials(demo_kb, people, 2)
    mirror(registry, demo_kb)
    registry.study(extra[-1])["statusModule"]["overallStatus"] = "TERMINATED"
    progress: list[tuple[int, int]] = []

    result = run(
        demo_kb, people, registry, page_size=2, progress=lambda d, t: progress.append((d, t))
    )

    assert registry.paths == ["/api/v2/studies"] * 3
    tokens = [seen.query.get("pageToken") for seen in registry.seen]
    assert tokens == [None, ["tok2"], ["tok4"]]
    assert all(seen.query["pageSize"] == ["2"] for seen in registry.seen)
    assert all(
        seen.headers["User-Agent"].startswith(f"kb-curator/{kb.__version__}")
        for seen in registry.seen
    )
    assert progress == [(0, 6), (2, 6), (4, 6), (6, 6)]
    assert len(result.checked) == 6 and result.requests == 3
    assert [(d.nct_id, [(c.field, c.new) for c in d.fields]) for d in result.changed] == [
        (extra[-1], [("status", "TERMINATED")])
    ]


def test_429_with_retry_after_waits_then_retries_once(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    registry.study(KEYNOTE)["statusModule"]["overallStatus"] = "COMPLETED"
    registry.script.append(Reply(429, b'{"message":"Too Many Requests"}', {"Retry-After": "1"}))

    result = run(demo_kb, people, registry, nct_ids=[KEYNOTE])

    assert registry.paths == [f"/api/v2/studies/{KEYNOTE}"] * 2
    waited = registry.seen[1].at - registry.seen[0].at
    assert 0.95 <= waited < 2.5
    assert result.requests == 2 and result.change_set is not None


def test_server_errors_are_retried_with_backoff_then_give_up(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    registry.study(KEYNOTE)["statusModule"]["overallStatus"] = "COMPLETED"
    registry.script += [Reply(503, b"busy", {"Content-Type": "text/plain"})] * 3
    before = change_set_count(demo_kb)

    with pytest.raises(TrialSyncError) as caught:
        run(demo_kb, people, registry, nct_ids=[KEYNOTE], retries=2, backoff=0.05)

    message = str(caught.value)
    assert KEYNOTE in message and "HTTP 503" in message and "gave up after 3 attempts" in message
    assert len(registry.seen) == 3
    gaps = [b.at - a.at for a, b in zip(registry.seen, registry.seen[1:], strict=False)]
    # Exponential steps of 0.05 and 0.1 s, each at least half its step (jitter).
    assert gaps[0] >= 0.024 and gaps[1] >= 0.049
    assert change_set_count(demo_kb) == before

    # A 502 then a good answer: the retry succeeds.
    registry.script.append(Reply(502, b"bad gateway"))
    result = run(demo_kb, people, registry, nct_ids=[KEYNOTE], backoff=0.05)
    assert result.change_set is not None and result.requests == 2


def test_requests_per_second_are_capped(demo_kb: Kb, people: People, registry: Registry) -> None:
    mirror(registry, demo_kb)

    run(demo_kb, people, registry, page_size=1, max_requests_per_second=5.0)

    assert len(registry.seen) == 4
    gaps = [b.at - a.at for a, b in zip(registry.seen, registry.seen[1:], strict=False)]
    assert min(gaps) >= 0.19  # 5 per second: one every 0.2 s


@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_between_pages_writes_nothing(
    demo_kb: Kb, people: People, registry: Registry, kind: str
) -> None:
    mirror(registry, demo_kb)
    registry.study(LIBRETTO)["statusModule"]["overallStatus"] = "COMPLETED"
    before = change_set_count(demo_kb)
    event = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            event.set()  # the user pressed Cancel after the first page

    cancel: Any = event if kind == "event" else event.is_set
    with pytest.raises(SyncCancelled):
        run(demo_kb, people, registry, page_size=1, progress=progress, cancel=cancel)

    assert len(registry.seen) == 1
    assert change_set_count(demo_kb) == before


def test_cancel_interrupts_a_retry_wait(registry: Registry) -> None:
    registry.script.append(Reply(429, b"slow down", {"Retry-After": "30"}))
    event = threading.Event()
    threading.Timer(0.3, event.set).start()

    started = time.monotonic()
    with pytest.raises(SyncCancelled):
        fetch_registry([KEYNOTE], base_url=registry.url, cancel=event)

    assert time.monotonic() - started < 2  # not the 30 s the registry asked for
    assert len(registry.seen) == 1


def test_retry_after_beyond_reason_is_an_error_not_a_long_hang(registry: Registry) -> None:
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    registry.script.append(Reply(503, b"maintenance", {"Retry-After": later}))

    with pytest.raises(TrialSyncError, match=f"^{KEYNOTE}: .*HTTP 503.*try again later"):
        fetch_registry([KEYNOTE], base_url=registry.url)

    assert len(registry.seen) == 1


# --- bad answers -------------------------------------------------------------------------------


def _break(registry: Registry, kind: str) -> str:
    """Script a bad answer for KEYNOTE-158; returns a phrase the error must contain."""
    study = registry.study(KEYNOTE)
    match kind:
        case "malformed json":
            registry.script.append(
                Reply(200, b'{"protocolSection": {', {"Content-Type": "application/json"})
            )
            return "malformed JSON"
        case "html page":
            page = b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head></html>"
            registry.script.append(Reply(200, page, {"Content-Type": "text/html"}))
            return "HTML page titled 'Service Unavailable'"
        case "unexpected status":
            study["statusModule"]["overallStatus"] = "SOMETHING_NEW"
            return "unexpected overallStatus 'SOMETHING_NEW'"
        case "unexpected phase":
            study["designModule"]["phases"] = ["PHASE5"]
            return "unexpected designModule.phases ['PHASE5']"
        case "missing field":
            del study["statusModule"]["overallStatus"]
            return "protocolSection.statusModule.overallStatus is missing"
        case "http 400":
            registry.script.append(Reply(400, b"filter.ids: invalid value", {}))
            return "HTTP 400 Bad Request: filter.ids: invalid value"
        case "bad age":
            study["eligibilityModule"]["minimumAge"] = "eighteen"
            return "minimumAge 'eighteen' is not an age"
    raise AssertionError(kind)


BAD = [
    "malformed json",
    "html page",
    "unexpected status",
    "unexpected phase",
    "missing field",
    "bad age",
    "http 400",
]


@pytest.mark.parametrize("kind", BAD)
def test_bad_answer_names_the_trial_and_leaves_nothing(
    demo_kb: Kb, people: People, registry: Registry, kind: str
) -> None:
    mirror(registry, demo_kb)
    phrase = _break(registry, kind)
    before = change_set_count(demo_kb)

    with pytest.raises(TrialSyncError) as caught:
        run(demo_kb, people, registry, nct_ids=[KEYNOTE])

    assert KEYNOTE in str(caught.value) and phrase in str(caught.value)
    assert len(registry.seen) == 1  # a bad answer is not retried: it would come back the same
    assert change_set_count(demo_kb) == before


@pytest.mark.parametrize("kind", ["unexpected status", "missing field"])
def test_bad_study_in_a_list_answer_names_that_trial(
    demo_kb: Kb, people: People, registry: Registry, kind: str
) -> None:
    mirror(registry, demo_kb)
    registry.study(DESTINY)["statusModule"]["overallStatus"] = "COMPLETED"  # a good change
    phrase = _break(registry, kind)
    before = change_set_count(demo_kb)

    with pytest.raises(TrialSyncError) as caught:
        run(demo_kb, people, registry)

    assert str(caught.value).startswith(KEYNOTE) and phrase in str(caught.value)
    assert change_set_count(demo_kb) == before  # not even DESTINY's good change


def test_timeout_is_an_error_naming_the_trial(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    registry.script.append(Reply(200, b"{}", {"Content-Type": "application/json"}, delay=3.0))
    before = change_set_count(demo_kb)

    started = time.monotonic()
    with pytest.raises(TrialSyncError) as caught:
        run(demo_kb, people, registry, nct_ids=[KEYNOTE], timeout=(1, 0.3), retries=0)

    assert time.monotonic() - started < 2.5  # did not wait for the 3 s answer
    assert str(caught.value) == f"{KEYNOTE}: no answer within 0.3 s (gave up after 1 attempt)"
    assert change_set_count(demo_kb) == before


def test_connection_refused_is_an_error_naming_the_trial(demo_kb: Kb, people: People) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    before = change_set_count(demo_kb)

    with pytest.raises(TrialSyncError) as caught, demo_kb.unit_of_work() as s:
        sync_trials(s, actor=people.cara, nct_ids=[KEYNOTE], base_url=base, retries=1, backoff=0.01)

    message = str(caught.value)
    assert message.startswith(f"{KEYNOTE}: cannot connect to {base}")
    assert message.endswith("(gave up after 2 attempts)")
    assert change_set_count(demo_kb) == before


# --- who and what may be checked ---------------------------------------------------------------


def test_only_editors_run_a_check_and_only_kb_trials(
    demo_kb: Kb, people: People, registry: Registry
) -> None:
    mirror(registry, demo_kb)
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as s:
        sync_trials(s, actor=people.rm, base_url=registry.url)
    with pytest.raises(KbError, match="not a trial in the KB: NCT01234567"):
        run(demo_kb, people, registry, nct_ids=[KEYNOTE, "NCT01234567"])
    # Not an NCT id: a protocol number, which no KB trial is keyed by.
    with pytest.raises(KbError, match=r"not a trial in the KB: KEYNOTE-158 .*protocol number"):
        run(demo_kb, people, registry, nct_ids=["KEYNOTE-158"])
    assert registry.seen == []  # refused before any request


# --- reading the registry's values (no network, no database) -----------------------------------


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("18 Years", 18),
        ("6 Months", 0),
        ("12 Months", 1),
        ("18 months", 1),
        ("2 Weeks", 0),
        ("28 Days", 0),
        ("N/A", None),
        (None, None),
    ],
)
def test_ages_become_whole_years(text: str | None, years: int | None) -> None:
    assert parse_age(text, where=KEYNOTE, field_name="minimumAge") == years


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (["EARLY_PHASE1"], "EARLY_PHASE1"),
        (["PHASE1", "PHASE2"], "PHASE1_PHASE2"),
        (["PHASE3", "PHASE2"], "PHASE2_PHASE3"),
        (["NA"], "NA"),
        (["PHASE4"], "PHASE4"),
    ],
)
def test_phase_lists_map_to_kb_phases(phases: list[str], expected: str) -> None:
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": KEYNOTE, "briefTitle": "A trial"},
            "statusModule": {"overallStatus": "RECRUITING"},
            "designModule": {"phases": phases},
        }
    }
    parsed = parse_study(study, where=KEYNOTE)
    assert parsed.phase.value == expected
    assert parsed.arms is None and not parsed.has_eligibility  # no information, not "none"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = time.time()
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(later, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_long_arm_labels_fit_the_code_column_stably() -> None:
    label = "Cohort A: patients with RET fusion-positive NSCLC previously treated with platinum"
    code = arm_code(label)
    assert len(code) <= 64 and code.startswith("Cohort A: patients with RET")
    assert code == arm_code(label.replace(" ", "  "))
    assert code != arm_code(label + " and more")
    assert arm_code("  Arm   A ") == "Arm A"


def test_command_line_sync_proposes_a_draft(
    demo_kb: Kb,
    people: People,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kb.cli.main import main

    if not demo_kb.is_sqlite:
        pytest.skip("the command line is exercised once, on SQLite")
    mirror(registry, demo_kb)
    registry.study(KEYNOTE)["statusModule"]["overallStatus"] = "COMPLETED"
    monkeypatch.setenv("KB_PASSWORD", "cara-pass-1")
    code = main(
        [
            "--db",
            demo_kb.url,
            "--user",
            "cara",
            "trials",
            "sync",
            "--base-url",
            registry.url,
            "--nct",
            KEYNOTE,
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["change_set"]
    code = main(["--db", demo_kb.url, "changes", "show", out["change_set"]])
    assert code == 0 and "status: 'ACTIVE_NOT_RECRUITING' -> 'COMPLETED'" in capsys.readouterr().out
