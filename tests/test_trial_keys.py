"""Trials keyed by NCT id when they have one and by protocol number until then (issue 18).

MatchMiner's own fixture trials (tests/data/matchengine, Apache-2.0) carry nothing but a
protocol number: `kb import --profile ctml --key-by-protocol` creates them keyed by it, with no
NCT id, title or phase; a directory of them, or a mongoexport file of one document a line,
imports as one change set; the registry sync later finds the study registered under the number
and proposes its NCT id. The schema (migration 0017) lets nct_id, title and phase be empty, keeps
NCT ids and protocol numbers unique where present, and refuses a trial with neither.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kb.cli.main import main
from kb.model.enums import RecordType, Role
from kb.model.records import FieldError, Writer, list_records
from kb.storage.db import Kb, alembic_config, current_revision, head_revision, open_kb
from tests.conftest import demo_admin, load_full_vocabularies
from tests.test_trials_sync import KEYNOTE, Registry, mirror, registry  # noqa: F401

TRIALS = Path(__file__).parent / "data" / "matchengine" / "integration_trials"
# One document per protocol number: the fixtures that import as they are (docs/ctml.md).
DISTINCT = (
    "all_closed.json",
    "all_open.json",
    "closed_dose.json",
    "closed_step_arm.json",
    "older_than_18.json",
    "run_log_two_arms.json",
    "tmb.json",
    "wildcard_protein_found.json",
    "wildcard_protein_not_found.json",
)


# --- a demo KB with the full vocabularies, copied per test -------------------------------------


@pytest.fixture(scope="module")
def full_template(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Path:
    path = tmp_path_factory.mktemp("trial-keys") / "kb.sqlite"
    shutil.copyfile(demo_template, path)
    opened = open_kb(f"sqlite:///{path}")
    load_full_vocabularies(opened)
    with opened.unit_of_work() as session:
        from kb.review.users import add_user

        admin = demo_admin(session)
        add_user(session, actor=admin, name="cara", role=Role.CURATOR, password="cara-pass-1")
        add_user(session, actor=admin, name="rita", role=Role.REVIEWER, password="rita-pass-1")
    opened.close()
    return path


@pytest.fixture
def db(tmp_path: Path, full_template: Path) -> str:
    path = tmp_path / "kb.sqlite"
    shutil.copyfile(full_template, path)
    return str(path)


def kb_import(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    source: Path,
    *options: str,
) -> tuple[int, dict[str, Any], str]:
    monkeypatch.setenv("KB_PASSWORD", "cara-pass-1")
    code = main(
        [
            *("--db", db, "--user", "cara", "import", str(source), "--profile", "ctml"),
            *options,
            *("--format", "json"),
        ]
    )
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def merge(db: str, change_set: str) -> None:
    from kb.review.changes import approve_change_set, submit_change_set
    from kb.review.users import authenticate

    opened = open_kb(f"sqlite:///{db}")
    try:
        with opened.unit_of_work() as session:
            cara = authenticate(session, name="cara", password="cara-pass-1")
            submit_change_set(session, actor=cara, change_set_id=change_set)
        with opened.unit_of_work() as session:
            rita = authenticate(session, name="rita", password="rita-pass-1")
            approve_change_set(session, actor=rita, change_set_id=change_set)
    finally:
        opened.close()


def trials(db: str) -> dict[str, dict[str, Any]]:
    """The main line's trials by protocol number (or NCT id)."""
    opened = open_kb(f"sqlite:///{db}")
    try:
        with opened.read() as session:
            rows = list_records(session, RecordType.TRIAL)
    finally:
        opened.close()
    return {
        str(row.fields["protocol_no"] or row.fields["nct_id"]): {**row.fields, "id": row.human_id}
        for row in rows
    }


def change_sets(db: str) -> int:
    opened = open_kb(f"sqlite:///{db}")
    try:
        with opened.read() as session:
            return int(session.execute(text("SELECT count(*) FROM change_set")).scalar_one())
    finally:
        opened.close()


# --- the command line --------------------------------------------------------------------------


def test_a_fixture_with_only_a_protocol_number_is_keyed_by_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    # Without the option it is refused, saying what to do; nothing is staged.
    before = change_sets(db)
    code, out, err = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json")
    assert code == 1 and out == {} and "invalid" in err and change_sets(db) == before
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--dry-run")
    [error] = out["errors"]
    assert error["file"] == "tmb.json" and "--key-by-protocol" in error["message"]

    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--key-by-protocol")
    assert code == 0 and out["change_set"], out
    merge(db, out["change_set"])
    trial = trials(db)["99-9999"]
    assert (trial["nct_id"], trial["title"], trial["phase"]) == (None, None, None)
    assert trial["status"] == "RECRUITING"

    # A later file carrying the number finds the trial, option or not: nothing new.
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--dry-run")
    assert code == 0 and out["new"] == 0 and out["invalid"] == 0, out

    # What a curator reads names it by its number and says what is missing.
    code = main(["--db", db, "list", "trials"])
    assert f"{trial['id']}  99-9999\n" in capsys.readouterr().out
    from kb.storage.rows import load_table

    opened = open_kb(f"sqlite:///{db}")
    with opened.read() as session:
        table = load_table(session, RecordType.TRIAL, only=[trial["id"]])
    opened.close()
    [row] = table.rows
    assert row[1:4] == ("99-9999 (protocol, no NCT id yet)", "", "phase not given")


def test_a_directory_imports_in_one_change_set(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ctml"
    folder.mkdir()
    for name in DISTINCT:
        shutil.copyfile(TRIALS / name, folder / name)
    (folder / "README.txt").write_text("not CTML: left alone", encoding="utf-8")

    code, out, _ = kb_import(capsys, monkeypatch, db, folder, "--key-by-protocol")

    assert code == 0 and out["change_set"], out
    assert out["rows"] == len(DISTINCT) and out["invalid"] == 0
    merge(db, out["change_set"])
    held = trials(db)
    numbers = {json.loads((TRIALS / name).read_text())["protocol_no"] for name in DISTINCT}
    assert numbers <= set(held)
    assert all(held[number]["nct_id"] is None for number in numbers)
    opened = open_kb(f"sqlite:///{db}")
    with opened.read() as session:
        source = session.execute(
            text("SELECT source_name FROM change_set WHERE human_id = :id"),
            {"id": out["change_set"]},
        ).scalar_one()
    opened.close()
    assert source == "ctml/"


def test_a_directory_with_a_bad_file_imports_nothing_and_names_the_file(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    tmp_path: Path,
) -> None:
    # The peer's whole fixture folder: three documents describe 10-002, two 18-0000, two
    # 10-005, and
    # massive_match_clause cannot be written as KB arms. All or nothing.
    before = change_sets(db)
    code, out, err = kb_import(capsys, monkeypatch, db, TRIALS, "--key-by-protocol")
    assert code == 1 and out == {} and change_sets(db) == before
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS, "--key-by-protocol", "--dry-run")
    assert out["invalid"] == 5 and out["rows"] == 15, out
    located = {(e["file"], e["code"]) for e in out["errors"]}
    assert ("run_log_arm_open.json", "duplicate_trial") in located
    assert ("younger_than_18.json", "duplicate_trial") in located
    assert any(f == "massive_match_clause.json" for f, _ in located)
    message = next(e["message"] for e in out["errors"] if e["file"] == "younger_than_18.json")
    assert "older_than_18.json describes 18-0000 already" in message

    # A file that is not JSON stops the whole directory, naming it.
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copyfile(TRIALS / "tmb.json", folder / "a.json")
    (folder / "b.json").write_text('{"protocol_no": "1-1",', encoding="utf-8")
    code, out, err = kb_import(capsys, monkeypatch, db, folder, "--key-by-protocol")
    assert code == 1 and change_sets(db) == before and "b.json" in err
    code, out, err = kb_import(capsys, monkeypatch, db, folder, "--key-by-protocol", "--dry-run")
    assert [(e["file"], e["code"]) for e in out["errors"]] == [("b.json", "bad_json")], out


def test_mongoexport_json_lines_import_as_one_change_set(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    tmp_path: Path,
) -> None:
    lines = []
    for number, name in enumerate(("all_open.json", "tmb.json", "closed_dose.json")):
        document = json.loads((TRIALS / name).read_text())
        # As mongoexport writes a collection: one document a line, with MongoDB's own fields.
        document["_id"] = {"$oid": f"5d1f3a2e9c1b2a0001{number:06d}"}
        document["last_updated"] = {"$date": "2019-07-05T12:00:00Z"}
        lines.append(json.dumps(document, separators=(",", ":")))
    path = tmp_path / "trial.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, out, _ = kb_import(capsys, monkeypatch, db, path, "--key-by-protocol")

    assert code == 0 and out["rows"] == 3 and out["invalid"] == 0, out
    merge(db, out["change_set"])
    assert {"10-002", "99-9999", "10-003"} <= set(trials(db))


def test_a_single_trial_file_takes_the_nct_id_it_is_given(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    tmp_path: Path,
) -> None:
    code, out, _ = kb_import(
        capsys, monkeypatch, db, TRIALS / "tmb.json", "--nct-id", "NCT04000099"
    )
    assert code == 0 and out["change_set"], out
    merge(db, out["change_set"])
    trial = trials(db)["99-9999"]
    assert (trial["nct_id"], trial["protocol_no"]) == ("NCT04000099", "99-9999")

    # Not for a directory, nor for a file of several documents, nor malformed.
    code, out, _ = kb_import(
        capsys, monkeypatch, db, TRIALS, "--nct-id", "NCT04000098", "--dry-run"
    )
    assert code == 1 and "one NCT id names one trial" in out["errors"][0]["message"]
    code, out, _ = kb_import(
        capsys, monkeypatch, db, TRIALS / "all_open.json", "--nct-id", "NCT-1", "--dry-run"
    )
    assert out["invalid"] == 1 and [e["code"] for e in out["errors"]] == ["malformed_id"]
    code, _, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--dry-run", "--nct-id")
    assert code == 2


def test_an_import_gives_a_protocol_keyed_trial_its_nct_id(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    tmp_path: Path,
) -> None:
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--key-by-protocol")
    merge(db, out["change_set"])
    keyed = trials(db)["99-9999"]
    document = json.loads((TRIALS / "tmb.json").read_text())
    document.update(nct_id="NCT04000099", long_title="TMB trial", phase="II")
    path = tmp_path / "tmb-registered.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    code, out, _ = kb_import(capsys, monkeypatch, db, path)

    assert code == 0 and out["new"] == 0, out
    merge(db, out["change_set"])
    trial = trials(db)["99-9999"]
    assert trial["id"] == keyed["id"]
    assert (trial["nct_id"], trial["title"], trial["phase"]) == (
        "NCT04000099",
        "TMB trial",
        "PHASE2",
    )


def test_registry_sync_gives_the_imported_trial_its_nct_id(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    registry: Registry,  # noqa: F811
) -> None:
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--key-by-protocol")
    merge(db, out["change_set"])
    opened = open_kb(f"sqlite:///{db}")
    mirror(registry, opened)
    opened.close()
    study = json.loads(json.dumps(registry.studies[KEYNOTE]))
    section = study["protocolSection"]
    section["identificationModule"].update(
        nctId="NCT04000099", briefTitle="TMB-high solid tumours", orgStudyIdInfo={"id": "99-9999"}
    )
    section["statusModule"]["overallStatus"] = "RECRUITING"
    section["armsInterventionsModule"] = {"armGroups": [{"label": "DOSE"}]}
    registry.studies["NCT04000099"] = study

    monkeypatch.setenv("KB_PASSWORD", "cara-pass-1")
    code = main(
        [
            *("--db", db, "--user", "cara", "trials", "sync", "--base-url", registry.url),
            *("--nct", "99-9999", "--format", "json"),
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["change_set"], result
    [changed] = result["changed"]
    assert changed["nct_id"] == "99-9999"
    assert {c["field"]: c["new"] for c in changed["fields"]} == {
        "nct_id": "NCT04000099",
        "title": "TMB-high solid tumours",
        "phase": "PHASE2",
    }
    merge(db, result["change_set"])
    trial = trials(db)["99-9999"]
    assert (trial["nct_id"], trial["phase"]) == ("NCT04000099", "PHASE2")
    # The fixture now imports onto the trial by its NCT id, with nothing to change.
    code, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--dry-run")
    assert code == 0 and out["new"] == 0 and out["invalid"] == 0, out


def test_release_and_matcher_name_a_trial_by_its_protocol_number(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    """A released trial without NCT id, title or phase: its CTML document is filed and keyed
    by its protocol number and leaves out what the KB lacks; the tables say "phase not given";
    the matcher offers it under its protocol number (no NCT id invented)."""
    import datetime as dt

    from kb.matching.matcher import Matcher, Patient
    from kb.release.ctml_export import ctml_documents
    from kb.release.tables import snapshot_tables
    from kb.storage.snapshot import build_snapshot

    _, out, _ = kb_import(capsys, monkeypatch, db, TRIALS / "tmb.json", "--key-by-protocol")
    merge(db, out["change_set"])
    opened = open_kb(f"sqlite:///{db}")
    with opened.read() as session:
        data = build_snapshot(session).as_json()
    opened.close()

    document = ctml_documents(data)["protocol-99-9999"]
    assert document["protocol_no"] == "99-9999"
    assert not {"nct_id", "long_title", "phase"} & set(document)
    [table] = [t for t in snapshot_tables(data) if t.name == "trials"]
    [row] = [dict(zip(table.columns, r, strict=True)) for r in table.rows if "99-9999" in r]
    assert (row["nct_id"], row["title"], row["phase"]) == (None, None, "phase not given")

    patient = Patient.from_json(
        {"id": "p", "oncotree_code": "NSCLC", "age": 60, "tmb": 20}, today=dt.date(2026, 1, 1)
    )
    result = Matcher.from_snapshot(data).match(patient)
    [match] = [m for m in result.trials if m.protocol_no == "99-9999"]
    assert (match.nct_id, match.trial_key, match.phase) == ("", "99-9999", None)
    assert match.as_json()["nct_id"] is None and "99-9999 arm" in result.text()


# --- storage: both backends --------------------------------------------------------------------


def test_nct_id_is_unique_where_present_and_a_trial_needs_a_key(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        for number in ("10-001", "10-002"):
            writer.create(RecordType.TRIAL, {"protocol_no": number, "status": "RECRUITING"})
        writer.create(
            RecordType.TRIAL,
            {"nct_id": "NCT01000001", "title": "t", "phase": "PHASE1", "status": "RECRUITING"},
        )
    refused = pytest.raises(FieldError, match="needs an NCT id or a protocol number")
    with refused, kb.unit_of_work() as session:
        Writer(session, kb_version=1).create(RecordType.TRIAL, {"status": "RECRUITING"})
    with pytest.raises(FieldError, match="already has"), kb.unit_of_work() as session:
        Writer(session, kb_version=1).create(
            RecordType.TRIAL, {"protocol_no": "10-001", "status": "RECRUITING"}
        )
    # The database itself refuses a trial with neither key, and a second trial with an NCT id.
    insert = (
        "INSERT INTO trial (id, human_id, row_version, kb_version, nct_id, protocol_no, status)"
        " VALUES (:id, :hid, 1, 1, :nct, :protocol, 'RECRUITING')"
    )
    for nct, protocol in ((None, None), ("NCT01000001", "10-003")):
        with pytest.raises(IntegrityError), kb.unit_of_work() as session:
            session.execute(
                text(insert), {"id": "x", "hid": "TR-09999", "nct": nct, "protocol": protocol}
            )
    with kb.read() as session:
        rows = list_records(session, RecordType.TRIAL)
    assert sorted(str(r.fields["nct_id"]) for r in rows) == ["NCT01000001", "None", "None"]


def test_migration_0017_down_and_up(db_url: str) -> None:
    """Down: a trial still without an NCT id cannot be kept (there is no id to give it) and goes
    with its arms; a missing title or phase gets a stated placeholder. Up again: as before."""
    opened = open_kb(db_url)
    with opened.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        keyed = writer.create(RecordType.TRIAL, {"protocol_no": "10-002", "status": "RECRUITING"})
        writer.create(
            RecordType.TRIAL_ARM, {"trial": keyed.human_id, "code": "ARM 1", "suspended": True}
        )
        writer.create(RecordType.TRIAL, {"nct_id": "NCT01000001", "status": "RECRUITING"})
    config = alembic_config(opened.engine)
    below = ScriptDirectory.from_config(config).get_revision("0017").down_revision
    assert isinstance(below, str)
    command.downgrade(config, below)
    with opened.engine.connect() as connection:
        left = connection.execute(text("SELECT nct_id, title, phase FROM trial")).all()
        arms = connection.execute(text("SELECT count(*) FROM trial_arm")).scalar_one()
    assert [tuple(row) for row in left] == [("NCT01000001", "(no title given)", "NA")]
    assert arms == 0
    command.upgrade(config, "head")
    assert current_revision(opened.engine) == head_revision()
    with opened.unit_of_work() as session:
        Writer(session, kb_version=1).create(
            RecordType.TRIAL, {"protocol_no": "10-002", "status": "RECRUITING"}
        )
    opened.close()
