"""The `kb` command line as a user runs it: exit codes, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli.main import main
from tests.conftest import HGNC_FILE, ONCOTREE_FILE, require_shared


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_demo_validate_list_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "kb.sqlite")
    code, out, _ = run(capsys, "--db", db, "init", "--demo", "--format", "json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, out, _ = run(capsys, "--db", db, "validate")
    assert code == 0 and "0 error(s)" in out

    code, out, _ = run(capsys, "--db", db, "list", "assertions", "--format", "json")
    records = json.loads(out)
    assert code == 0 and len(records) >= 30
    assert {"type", "id", "fields", "title"} <= set(records[0])
    first = records[0]["id"]

    code, out, _ = run(capsys, "--db", db, "list", "assertion", "--search", "osimertinib")
    assert code == 0 and out.count("AS-") >= 3

    code, out, _ = run(capsys, "--db", db, "show", first)
    assert code == 0 and first in out and "evidence_level" in out
    code, out, _ = run(capsys, "--db", db, "show", first, "--format", "json")
    assert json.loads(out)["fields"]["implication"] in ("sensitive", "resistant")

    # Running the demo again leaves the KB alone and says so.
    code, _, err = run(capsys, "--db", db, "init", "--demo")
    assert code == 0 and "not added" in err


def test_failures_exit_1_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "kb.sqlite")
    run(capsys, "--db", db, "init", "--demo")
    code, _, err = run(capsys, "--db", db, "show", "AS-99999")
    assert code == 1 and err.strip() == "kb: no assertion AS-99999"
    code, _, err = run(capsys, "--db", db, "list", "widgets")
    assert code == 1 and "unknown record type 'widgets'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--db", db, "vocab", "load", "oncotree", str(tmp_path / "none"))
    assert code == 1 and "no such file" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list")
    assert code == 2 and "kb list" in err
    code, _, _ = run(capsys, "frobnicate")
    assert code == 2


def test_vocab_load_then_validate_checks_demo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "kb.sqlite")
    run(capsys, "--db", db, "init", "--demo")
    oncotree = str(require_shared(ONCOTREE_FILE))
    # Vocabularies are an admin's to load.
    monkeypatch.setenv("KB_PASSWORD", "demo-curator")
    code, _, err = run(
        capsys, "--db", db, "--user", "curator", "vocab", "load", "oncotree", oncotree
    )
    assert code == 1 and "only admins may admin" in err
    monkeypatch.setenv("KB_PASSWORD", "demo-admin")
    code, out, _ = run(capsys, "--db", db, "--user", "admin", "vocab", "load", "oncotree", oncotree)
    # The demo's version 1 is signed off: the load goes into version 2 and leaves 1 alone.
    assert code == 0 and "898 entries" in out and "KB version 2" in out
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "--user",
        "admin",
        "vocab",
        "load",
        "hgnc",
        str(require_shared(HGNC_FILE)),
    )
    assert code == 0 and "39824 entries" in out and "KB version 3" in out
    code, out, _ = run(capsys, "--db", db, "info", "--format", "json")
    assert json.loads(out)["vocabularies"]["oncotree"] == "oncotree_2025_10_03"
    code, out, _ = run(capsys, "--db", db, "validate", "--format", "json")
    assert code == 0 and json.loads(out)["errors"] == 0
    code, out, _ = run(capsys, "--db", db, "versions", "list", "--format", "json")
    versions = json.loads(out)
    assert [v["approvals"][0]["void"] for v in versions if v["approvals"]] == [False]
    assert versions[1]["note"] == "vocabulary: oncotree load (was oncotree_2025_10_03)"
    code, out, _ = run(capsys, "--db", db, "tumour-types", "LUAD")
    assert code == 0 and "NSCLC > LUNG > TISSUE" in out


def test_planted_error_makes_validate_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "kb.sqlite"
    run(capsys, "--db", str(db), "init", "--demo")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE threshold SET unit = 'mg' WHERE metric = 'TMB'")
        connection.execute("UPDATE assertion_tumour_type SET code = 'NOPE' WHERE code = 'MEL'")
    code, out, _ = run(capsys, "--db", str(db), "validate")
    assert code == 1
    assert "unit: 'mg'" in out and "mut/Mb" in out
    assert "tumour_types: 'NOPE'" in out


def test_console_script_and_env_url(tmp_path: Path) -> None:
    kb = Path(sys.executable).with_name("kb")
    env = {
        "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'env.sqlite'}",
        "PATH": "/usr/bin:/bin",
        "KB_PASSWORD": "first-admin-pw",
    }
    result = subprocess.run(
        [str(kb), "init", "--admin", "ada"], check=False, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "account ada: admin" in result.stdout
    assert (tmp_path / "env.sqlite").exists()
    result = subprocess.run([str(kb), "list"], check=False, capture_output=True, text=True, env=env)
    assert result.returncode == 2


def test_a_mistyped_db_is_an_error_not_a_new_kb(tmp_path: Path) -> None:
    """Only `kb init` creates a KB: any other command on a path with no KB says so, exits
    non-zero and leaves nothing behind (not even the missing folders)."""
    missing = tmp_path / "no" / "such" / "kb.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "kb", "--db", str(missing), "validate"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "there is no KB at" in result.stderr and "kb init" in result.stderr
    assert not (tmp_path / "no").exists()
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    result = subprocess.run(
        [sys.executable, "-m", "kb", "--db", str(empty), "info"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "there is no KB at" in result.stderr
    assert empty.stat().st_size == 0
