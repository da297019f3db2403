"""Issue 17 items 3-5: drift between the typed tables and the versions is found record by record,
the KB fails closed while its history or tables cannot be trusted, and an approved version never
changes when a vocabulary is loaded (on SQLite and on the real PostgreSQL server)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from kb.errors import VocabularyError
from kb.model.enums import ApprovalMeaning, RecordType
from kb.review.changes import (
    approve_change_set,
    open_draft,
    submit_change_set,
)
from kb.review.integrity import IntegrityFailure, check_integrity, repair_drift
from kb.review.users import PermissionDenied, authenticate
from kb.review.versions import approve_version, list_approvals
from kb.review.vocabulary import load_vocabulary
from kb.storage.db import Kb
from kb.storage.drift import check_drift
from kb.storage.snapshot import build_snapshot
from kb.validation.checks import validate_kb
from kb.vocab.bundled import ONCOTREE
from kb.vocab.oncotree import load_oncotree
from tests.test_changes import Team, _drop_triggers, team  # noqa: F401  (fixture)


def _threshold_and_therapy(kb: Kb) -> tuple[str, str]:
    with kb.read() as s:
        threshold = s.execute(text("SELECT human_id FROM threshold ORDER BY human_id")).first()
        therapy = s.execute(text("SELECT human_id FROM therapy ORDER BY human_id")).first()
    assert threshold and therapy
    return threshold[0], therapy[0]


def _tamper_tables(kb: Kb, threshold: str) -> None:
    # What a login with write access can do behind the app's back.
    with kb.engine.begin() as connection:
        connection.execute(
            text("UPDATE threshold SET value = '1' WHERE human_id = :h"), {"h": threshold}
        )


def test_drift_is_reported_by_record_and_field(demo_kb: Kb) -> None:
    threshold, therapy = _threshold_and_therapy(demo_kb)
    with demo_kb.read() as s:
        clean = check_drift(s)
        assert clean.ok and clean.records > 300
        assert not [p for p in validate_kb(s) if p.code == "drift"]
        before = s.execute(
            text("SELECT value FROM threshold WHERE human_id = :h"), {"h": threshold}
        ).scalar_one()
    _tamper_tables(demo_kb, threshold)
    with demo_kb.engine.begin() as connection:
        therapy_id = connection.execute(
            text("SELECT id FROM therapy WHERE human_id = :h"), {"h": therapy}
        ).scalar_one()
        connection.execute(
            text("DELETE FROM therapy_drug WHERE therapy_id = :t"), {"t": therapy_id}
        )
    with demo_kb.read() as s:
        report = check_drift(s)
        found = {(d.human_id, d.field): d for d in report.drifts}
        assert set(found) == {(threshold, "value"), (therapy, "drugs")}
        assert found[threshold, "value"].stored == "1"
        assert found[threshold, "value"].versioned == before
        assert found[therapy, "drugs"].stored == []
        # `kb validate` fails on it, naming record and field.
        drift_errors = [p for p in validate_kb(s) if p.code == "drift"]
        assert {(p.record, p.field) for p in drift_errors} == {
            (threshold, "value"),
            (therapy, "drugs"),
        }
        assert all(p.severity == "error" for p in drift_errors)
        deep = check_integrity(s)
        assert deep.chain.ok and not deep.ok
        assert "changed outside a merge" in deep.problem()


def test_rows_added_or_removed_outside_a_merge_are_drift(demo_kb: Kb) -> None:
    with demo_kb.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO drug (id, human_id, row_version, kb_version, name) "
                "VALUES ('00000000-0000-0000-0000-00000000beef', 'DR-99999', 1, 1, 'Fakeinib')"
            )
        )
        unused = connection.execute(
            text(
                "SELECT human_id FROM drug WHERE id NOT IN (SELECT drug_id FROM therapy_drug) "
                "AND human_id <> 'DR-99999' ORDER BY human_id"
            )
        ).first()
        if unused:
            connection.execute(text("DELETE FROM drug WHERE human_id = :h"), {"h": unused[0]})
    with demo_kb.read() as s:
        problems = {d.human_id: d.problem for d in check_drift(s).drifts}
    assert "in no version" in problems["DR-99999"]
    if unused:
        assert "missing from the typed table" in problems[unused[0]]


def test_the_kb_fails_closed_while_tables_drift(demo_kb: Kb, team: Team) -> None:  # noqa: F811
    threshold, _ = _threshold_and_therapy(demo_kb)
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="raise a threshold")
        editor.update(threshold, {"assay": "checked assay"})
        editor.flush()
        submit_change_set(s, actor=team.cara, change_set_id=editor.change_set_id)
        change_set = editor.change_set_id
    _tamper_tables(demo_kb, threshold)
    # The merge would build on the tampered row: refused, naming it.
    with pytest.raises(IntegrityFailure) as refused, demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=change_set)
    assert f"{threshold}.value" in str(refused.value) and "refused" in str(refused.value)
    # Signing off any version checks every record.
    with pytest.raises(IntegrityFailure), demo_kb.unit_of_work() as s:
        approve_version(
            s,
            actor=team.rex,
            version=1,
            meaning=ApprovalMeaning.APPROVED,
            password="rex-pass-1",
            reason="looks fine",
        )
    with demo_kb.read() as s:
        assert len(list_approvals(s, 1)) == 1  # the demo's own, nothing added


def test_the_kb_fails_closed_while_the_chain_is_broken(demo_kb: Kb, team: Team) -> None:  # noqa: F811
    _drop_triggers(demo_kb)
    with demo_kb.engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    for attempt in ("edit", "sign"):
        with pytest.raises(IntegrityFailure) as refused, demo_kb.unit_of_work() as s:
            if attempt == "edit":
                open_draft(s, actor=team.cara, title="anything")
            else:
                approve_version(
                    s,
                    actor=team.rex,
                    version=1,
                    meaning=ApprovalMeaning.APPROVED,
                    password="rex-pass-1",
                    reason="ok",
                )
        assert "audit chain broken at event 3" in str(refused.value)
        assert "docs/security.md" in str(refused.value)


def _changed_oncotree(tmp_path: Path) -> Path:
    """The bundled OncoTree with one node renamed: a later release of the vocabulary."""
    data = json.loads(gzip.decompress(ONCOTREE.read_bytes()))
    stack = list(data.values())
    while stack:
        node = stack.pop()
        if node["code"] == "LUAD":
            node["name"] = "Lung Adenocarcinoma (renamed)"
        stack.extend((node.get("children") or {}).values())
    path = tmp_path / "oncotree_2026_01_01.json"
    path.write_text(json.dumps(data))
    return path


def test_a_vocabulary_load_never_changes_an_approved_version(
    demo_kb: Kb,
    team: Team,  # noqa: F811
    tmp_path: Path,
) -> None:
    release = _changed_oncotree(tmp_path)
    with demo_kb.read() as s:
        digest_v1 = build_snapshot(s, 1).digest()
    # Loading straight into the signed-off version is refused, whoever calls the loader.
    with (
        pytest.raises(VocabularyError, match="version 1 is signed off"),
        demo_kb.unit_of_work() as s,
    ):
        load_oncotree(s, release)
    with demo_kb.unit_of_work() as s:
        loaded = load_vocabulary(
            s,
            actor=team.admin,
            kind="oncotree",
            load=lambda session: load_oncotree(session, release),
        )
    assert loaded.kb_version == 2 and loaded.previous == "oncotree_2025_10_03"
    with demo_kb.read() as s:
        # Version 1 reads what it was approved with; version 2 the new release.
        assert build_snapshot(s, 1).digest() == digest_v1
        assert [a.void for a in list_approvals(s, 1)] == [False]
        v1, v2 = build_snapshot(s, 1), build_snapshot(s, 2)
        assert v1.vocabularies["oncotree"] == "oncotree_2025_10_03"
        assert v2.vocabularies["oncotree"] == "oncotree_2026_01_01"
        names = {t["code"]: t["name"] for t in v2.tumour_types}
        assert names["LUAD"] == "Lung Adenocarcinoma (renamed)"
        assert {t["code"]: t["name"] for t in v1.tumour_types}["LUAD"] == "Lung Adenocarcinoma"
        assert v1.records == v2.records
        events = s.execute(
            text("SELECT action, subject FROM audit_event ORDER BY seq DESC")
        ).first()
        assert tuple(events or ()) == ("vocabulary.load", "v2")
    # The new version is signed off like any other (admins, who load, cannot).
    with demo_kb.unit_of_work() as s:
        approve_version(
            s,
            actor=team.rex,
            version=2,
            meaning=ApprovalMeaning.APPROVED,
            password="rex-pass-1",
            reason="new OncoTree",
        )
    # Only admins load vocabularies.
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as s:
        load_vocabulary(
            s,
            actor=team.cara,
            kind="oncotree",
            load=lambda session: load_oncotree(session, release),
        )


def test_an_older_kb_keeps_its_approvals_through_the_migration(demo_kb: Kb) -> None:
    from alembic import command

    from kb.storage.db import alembic_config, migrate

    with demo_kb.read() as s:
        digest = build_snapshot(s, 1).digest()
    command.downgrade(alembic_config(demo_kb.engine), "0010")
    migrate(demo_kb.engine, backup=False)
    with demo_kb.read() as s:
        assert build_snapshot(s, 1).digest() == digest
        assert [a.void for a in list_approvals(s, 1)] == [False]
        admin = authenticate(s, name="admin", password="demo-admin")
    assert admin.name == "admin"


def test_check_drift_limited_to_some_records(demo_kb: Kb) -> None:
    threshold, _ = _threshold_and_therapy(demo_kb)
    _tamper_tables(demo_kb, threshold)
    with demo_kb.read() as s:
        record_id = s.execute(
            text("SELECT id FROM threshold WHERE human_id = :h"), {"h": threshold}
        ).scalar_one()
        other = s.execute(text("SELECT id FROM drug ORDER BY human_id")).scalar()
        assert [d.human_id for d in check_drift(s, record_ids={record_id}).drifts] == [threshold]
        assert check_drift(s, record_ids={other}).ok
        assert check_drift(s, only=[RecordType.DRUG]).ok


def test_an_admin_repairs_drift_from_the_version_and_the_repair_is_audited(
    demo_kb: Kb,
    team: Team,  # noqa: F811
) -> None:
    threshold, _ = _threshold_and_therapy(demo_kb)
    _tamper_tables(demo_kb, threshold)
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as s:
        repair_drift(s, actor=team.rita, reason="not mine to do")
    with demo_kb.unit_of_work() as s:
        result = repair_drift(s, actor=team.admin, reason="direct UPDATE found by kb validate")
    assert result.restored == (threshold,)
    with demo_kb.read() as s:
        assert check_integrity(s).ok
        action, details = s.execute(
            text("SELECT action, details FROM audit_event ORDER BY seq DESC")
        ).first() or ("", "")
        assert action == "kb.repair"
        details = json.loads(details) if isinstance(details, str) else details
        assert details["drift"][0]["stored"] == "1"
    # Work goes on: the version can be signed off again.
    with demo_kb.unit_of_work() as s:
        approve_version(
            s,
            actor=team.rex,
            version=1,
            meaning=ApprovalMeaning.APPROVED,
            password="rex-pass-1",
            reason="re-checked",
        )


def test_the_cli_refuses_over_a_broken_chain_and_deep_verify_names_drift(
    demo_kb: Kb, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kb.cli.main import main

    if not demo_kb.is_sqlite:
        pytest.skip("the CLI runs are the same on both; one database is enough")
    threshold, _ = _threshold_and_therapy(demo_kb)
    _tamper_tables(demo_kb, threshold)
    db = demo_kb.url
    assert main(["--db", db, "audit", "verify"]) == 0
    assert main(["--db", db, "audit", "verify", "--deep"]) == 1
    assert f"{threshold}.value" in capsys.readouterr().out
    monkeypatch.setenv("KB_PASSWORD", "demo-reviewer2")
    code = main(
        ["--db", db, "--user", "reviewer2", "versions", "approve", "1", "--meaning", "approved",
         "--reason", "ok"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "refused" in err and err.count("\n") == 1
    monkeypatch.setenv("KB_PASSWORD", "demo-admin")
    assert main(["--db", db, "--user", "admin", "audit", "repair", "--reason", "found"]) == 0
    assert main(["--db", db, "audit", "verify", "--deep"]) == 0
