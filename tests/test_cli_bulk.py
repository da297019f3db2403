"""Editing at scale from the command line: `kb edit` on many records in one step (all or none)
and `kb clone`, run through the real `kb` entry point on a demo KB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli.main import main
from tests.test_cli_review import db, kb  # noqa: F401  (the demo KB fixture and its runner)

REPO = Path(__file__).resolve().parent.parent
TWENTY = [f"AS-{n:05d}" for n in range(1, 21)]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path):  # noqa: F811
    return lambda user, *args: kb(capsys, monkeypatch, db, user, *args)


def draft(run, user: str = "curator") -> dict:
    code, out, _ = run(user, "changes", "list", "--mine", "--status", "draft", "--format", "json")
    assert code == 0
    drafts = json.loads(out)
    if not drafts:
        return {}
    code, out, _ = run(user, "changes", "show", drafts[0]["id"], "--format", "json")
    return {c["id"]: c for c in json.loads(out)["changes"]}


def test_edit_sets_a_field_on_twenty_records_in_one_step(run) -> None:
    code, out, err = run("curator", "edit", ",".join(TWENTY), "evidence_level=R2")
    assert code == 0, err
    assert out.startswith("staged changes to 20 records in CS-")
    staged = draft(run)
    assert sorted(staged) == TWENTY
    assert {c["op"] for c in staged.values()} == {"update"}
    assert {c["fields"]["evidence_level"] for c in staged.values()} == {"R2"}
    # Lower case, spaces and repeats are the same ids; JSON names each record once.
    code, out, _ = run(
        "curator", "edit", "as-00021, AS-00022,as-00021", "line_of_therapy=second_line_plus",
        "evidence_level=R2", "--format", "json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["records"] == ["AS-00021", "AS-00022"]
    staged = draft(run)
    assert staged["AS-00022"]["fields"] == {
        "line_of_therapy": "second_line_plus",
        "evidence_level": "R2",
    }
    # One id is still the plain `kb edit`.
    code, out, _ = run("curator", "edit", "AS-00023", "evidence_level=4")
    assert code == 0 and out.startswith("staged changes to AS-00023 in CS-")
    # A value a record has already stages nothing, and the report says so.
    code, out, _ = run("curator", "edit", "AS-00023", "evidence_level=4")
    assert code == 0 and out.startswith("nothing to stage: AS-00023 already had these values")
    code, out, _ = run("curator", "edit", "AS-00023,AS-00024", "evidence_level=4")
    assert code == 0 and out.startswith("staged changes to 1 record in CS-"), out
    assert "AS-00024; 1 already had these values: AS-00023" in out, out


def test_one_refusal_changes_none_of_the_records_and_says_where(run) -> None:
    assert run("curator", "edit", "AS-00001", "evidence_level=4")[0] == 0
    before = draft(run)
    code, out, err = run("curator", "edit", ",".join(TWENTY), "evidence_level=9Z")
    assert code == 1 and out == ""
    assert "AS-00001" in err and "'evidence_level'" in err and "'9Z'" in err
    assert "expected one of 1, 2, 3A" in err and "none of the 20 records was changed" in err
    code, _, err = run("curator", "edit", f"{','.join(TWENTY)},AS-99999", "evidence_level=3A")
    assert code == 1 and "no assertion AS-99999" in err and "none of the 21" in err
    code, _, err = run("curator", "edit", "AS-00002,NOT-AN-ID", "evidence_level=3A")
    assert code == 1 and "'NOT-AN-ID' is not a record id" in err
    code, _, err = run("curator", "edit", " , ", "evidence_level=3A")
    assert code == 1 and "no record ids given" in err
    # A release manager may not edit, in bulk or not.
    code, _, err = run("releaser", "edit", ",".join(TWENTY), "evidence_level=3A")
    assert code == 1 and "only curators and reviewers may edit" in err
    assert draft(run) == before


def test_edit_reads_ids_from_standard_input(db: Path) -> None:  # noqa: F811
    """`kb list … | kb edit - FIELD=VALUE`: the real console entry point, ids piped in."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "KB_PASSWORD": "demo-curator"}
    command = [sys.executable, "-m", "kb", "--db", str(db), "--user", "curator"]
    result = subprocess.run(
        [*command, "edit", "-", "evidence_level=3A", "--format", "json"],
        input="AS-00004\nAS-00005 AS-00006,\n\n", capture_output=True, text=True, check=False,
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"] == ["AS-00004", "AS-00005", "AS-00006"]
    result = subprocess.run(
        [*command, "edit", "-", "evidence_level=3A"],
        input="\n", capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 1 and "no record ids given on standard input" in result.stderr


def test_clone_prints_the_new_id_and_stages_the_copy(run) -> None:
    code, out, err = run("curator", "clone", "as-00002", "--format", "json")
    assert code == 0, err
    cloned = json.loads(out)
    new_id = cloned["record"]
    assert new_id.startswith("AS-") and new_id != "AS-00002"
    assert cloned["source"] == "AS-00002" and cloned["to_replace"] == []
    code, out, _ = run("curator", "show", "AS-00002", "--format", "json")
    source = json.loads(out)["fields"]
    change = draft(run)[new_id]
    assert change["op"] == "create"
    for name in ("expression", "therapy", "tumour_types", "implication", "line_of_therapy"):
        assert change["fields"][name] == source[name]
    code, out, _ = run("curator", "clone", "TX-00001")
    assert code == 0 and out.startswith("staged new TX-") and ", a copy of TX-00001, in CS-" in out


def test_clone_of_a_gene_asks_for_its_own_symbol_and_hgnc_id(run) -> None:
    code, out, err = run("curator", "clone", "GN-00001")
    assert code == 0, err
    first, second = out.splitlines()
    new_id = first.split()[2].rstrip(",")
    assert first == f"staged new {new_id}, a copy of GN-00001, in {first.split()[-1]}"
    assert f"kb edit {new_id} symbol=… hgnc_id=…" in second
    cs = first.split()[-1]
    code, out, _ = run("curator", "changes", "validate", cs, "--format", "json")
    flagged = {(p["record"], p["field"]) for p in json.loads(out) if p["code"] == "clone_key"}
    assert flagged == {(new_id, "symbol"), (new_id, "hgnc_id")}
    assert run("curator", "edit", new_id, "symbol=ERBB4", "hgnc_id=HGNC:3432")[0] == 0
    code, out, _ = run("curator", "changes", "validate", cs, "--format", "json")
    assert not [p for p in json.loads(out) if p["record"] == new_id and p["severity"] == "error"]
    # An exon map is one per gene: there is nothing in the copy to mark, so it is refused.
    before = draft(run)
    code, out, err = run("curator", "clone", "EM-00001")
    assert code == 1 and out == ""
    assert err.startswith("kb: EM-00001 cannot be cloned: no two exon maps may share their gene")
    assert draft(run) == before


def test_edit_and_clone_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edit", "AS-00001"]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err
    assert main(["clone"]) == 2
