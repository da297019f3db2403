"""The review cycle from the command line, with the demo accounts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli.main import main


def kb(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: Path,
    user: str | None,
    *args: str,
) -> tuple[int, str, str]:
    if user:
        monkeypatch.setenv("KB_PASSWORD", f"demo-{user}")
    else:
        monkeypatch.delenv("KB_PASSWORD", raising=False)
    code = main(["--db", str(db), *(["--user", user] if user else []), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "kb.sqlite"
    assert main(["--db", str(path), "init", "--demo"]) == 0
    capsys.readouterr()
    return path


def test_edit_submit_approve_diff_history(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    run = lambda user, *args: kb(capsys, monkeypatch, db, user, *args)  # noqa: E731
    code, out, _ = run("curator", "list", "threshold", "--format", "json")
    tmb = next(r["id"] for r in json.loads(out) if r["fields"]["metric"] == "TMB")
    assert run("curator", "edit", tmb, "value=16")[0] == 0
    code, out, _ = run("curator", "new", "drug", "name=zongertinib", "--format", "json")
    staged = json.loads(out)
    cs, drug = staged["change_set"], staged["record"]
    code, out, _ = run("curator", "changes", "show", cs)
    assert "value: '10' -> '16'" in out and f"create {drug}" in out
    assert run("curator", "changes", "submit", cs)[0] == 0

    code, _, err = run("curator", "changes", "approve", cs)
    assert code == 1 and "only reviewers may approve" in err
    code, _, err = run("reviewer", "changes", "reject", cs, "--reason", " ")
    assert code == 1 and "needs a reason" in err
    code, out, _ = run("reviewer", "changes", "approve", cs)
    assert code == 0 and "KB version 2" in out

    code, out, _ = run(None, "diff", "1", "2", "--format", "json")
    diff = json.loads(out)
    assert code == 0 and json.dumps(diff).count(tmb) >= 1 and drug in json.dumps(diff)
    code, out, _ = run(None, "history", tmb)
    assert "value: '10' -> '16'" in out and cs in out
    code, out, _ = run(None, "audit", "verify")
    assert code == 0 and "intact" in out
    code, out, _ = run(None, "versions", "list", "--format", "json")
    assert [v["version"] for v in json.loads(out)] == [1, 2]


def test_own_change_set_cannot_be_approved(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    run = lambda user, *args: kb(capsys, monkeypatch, db, user, *args)  # noqa: E731
    run("reviewer", "edit", "DR-00001", "ncit_code=C999")
    code, out, _ = run("reviewer", "changes", "list", "--mine", "--format", "json")
    cs = json.loads(out)[0]["id"]
    run("reviewer", "changes", "submit", cs)
    code, _, err = run("reviewer", "changes", "approve", cs)
    assert code == 1 and "four-eyes" in err
    assert run("reviewer2", "changes", "approve", cs)[0] == 0


def test_wrong_password_and_user_admin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    monkeypatch.setenv("KB_PASSWORD", "nope")
    assert main(["--db", str(db), "--user", "curator", "edit", "DR-00001", "name=x"]) == 1
    assert "wrong user name or password" in capsys.readouterr().err
    run = lambda user, *args: kb(capsys, monkeypatch, db, user, *args)  # noqa: E731
    code, _, err = run("curator", "user", "add", "eve", "--role", "admin")
    assert code == 1 and "only admins" in err
    code, out, _ = run(None, "user", "list", "--format", "json")
    assert {u["name"] for u in json.loads(out)} >= {"admin", "curator", "reviewer", "releaser"}


def test_audit_verify_exit_code_after_tampering(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "kb.sqlite"
    exe = [sys.executable, "-m", "kb", "--db", str(path)]
    assert (
        subprocess.run([*exe, "init", "--demo"], check=False, capture_output=True).returncode == 0
    )
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_event_no_update")
        raw.execute("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2")
    result = subprocess.run([*exe, "audit", "verify"], check=False, capture_output=True, text=True)
    assert result.returncode == 1 and "broken at event 2" in result.stdout


def test_admin_adds_user_with_password_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite"
    exe = [sys.executable, "-m", "kb", "--db", str(path)]
    env = {"PATH": "/usr/bin:/bin", "KB_PASSWORD": "demo-admin"}
    subprocess.run([*exe, "init", "--demo"], check=True, capture_output=True)
    added = subprocess.run(
        [*exe, "--user", "admin", "user", "add", "nora", "--role", "curator", "--password-stdin"],
        input="nora-secret-1\n",
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    env["KB_PASSWORD"] = "nora-secret-1"
    staged = subprocess.run(
        [*exe, "--user", "nora", "edit", "DR-00001", "ncit_code=C1"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert staged.returncode == 0, staged.stderr
    # The new user's password is not the admin's, and never stored in clear.
    env["KB_PASSWORD"] = "demo-admin"
    wrong = subprocess.run(
        [*exe, "--user", "nora", "changes", "list", "--mine"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert wrong.returncode == 1
    import sqlite3

    with sqlite3.connect(path) as raw:
        dump = "\n".join(raw.iterdump())
    assert "nora-secret-1" not in dump and "demo-admin" not in dump


def test_drop_discard_comment_and_approve_in_part(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    run = lambda user, *args: kb(capsys, monkeypatch, db, user, *args)  # noqa: E731
    code, out, _ = run("curator", "edit", "DR-00001", "ncit_code=C111", "--format", "json")
    cs = json.loads(out)["change_set"]
    assert run("curator", "edit", "DR-00002", "ncit_code=C222")[0] == 0
    assert run("curator", "edit", "DR-00003", "ncit_code=C333")[0] == 0
    code, out, _ = run("curator", "changes", "drop", cs, "dr-00003")
    assert code == 0 and "dropped the change of DR-00003" in out and "2 change(s) left" in out
    code, _, err = run("curator", "changes", "drop", cs, "DR-00003")
    assert code == 1 and "has no change of DR-00003" in err
    code, out, _ = run("curator", "changes", "comment", cs, "see the label", "--record", "DR-00001")
    assert code == 0 and "(DR-00001)" in out
    assert run("curator", "changes", "submit", cs)[0] == 0
    code, _, err = run("reviewer", "changes", "approve", cs, "--reject-change", "DR-00002")
    assert code == 1 and "needs a reason: DR-00002" in err
    code, out, _ = run(
        "reviewer",
        "changes",
        "approve",
        cs,
        "--reason",
        "first one checked",
        "--reject-change",
        "DR-00002=retired code",
        "--format",
        "json",
    )
    assert code == 0, out
    merged = json.loads(out)
    assert merged["version"] == 2 and merged["updated"] == 1
    back = merged["returned_to"]
    code, out, _ = run("curator", "changes", "show", back)
    assert "draft" in out and "update DR-00002" in out
    assert f"on DR-00002 [return]: Returned from {cs}: retired code" in out
    code, out, _ = run("curator", "changes", "show", cs)
    assert "on DR-00001: see the label" in out and "[approve]: first one checked" in out
    # The returned draft is given up: it leaves the author's drafts.
    code, _, err = run("curator", "changes", "withdraw", back)
    assert code == 1 and "already a draft" in err and "kb changes discard" in err
    code, out, _ = run("curator", "changes", "discard", back)
    assert code == 0 and f"discarded {back}" in out
    code, out, _ = run("curator", "changes", "list", "--mine", "--status", "draft")
    assert back not in out


def test_history_shows_the_comments_beside_the_versions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    run = lambda user, *args: kb(capsys, monkeypatch, db, user, *args)  # noqa: E731
    code, out, _ = run("curator", "edit", "TH-00001", "value=16", "--format", "json")
    cs = json.loads(out)["change_set"]
    run("curator", "changes", "comment", cs, "The label says 16", "--record", "TH-00001")
    run("curator", "changes", "comment", cs, "Cut-offs from the labels\nsee each citation")
    run("curator", "edit", "AS-00001", "evidence_level=2")
    run("curator", "changes", "comment", cs, "Not about TMB", "--record", "AS-00001")
    assert run("curator", "changes", "submit", cs)[0] == 0
    assert run("reviewer", "changes", "approve", cs, "--reason", "Matches the label")[0] == 0
    code, out, _ = run("curator", "edit", "TH-00001", "value=12", "--format", "json")
    draft = json.loads(out)["change_set"]
    run("curator", "changes", "comment", draft, "Or 12?", "--record", "TH-00001")

    code, out, _ = run(None, "history", "TH-00001")
    assert code == 0
    lines = out.splitlines()
    v2 = lines.index(next(line for line in lines if line.startswith("v2 ")))
    # Under version 2: its field change, then its change set's comments on this record and on
    # the whole set (the approval's reason among them), oldest first, each with author and time.
    assert lines[v2 + 1] == "    value: '10' -> '16'"
    said = lines[v2 + 2 :]
    assert said[0].endswith(" curator on TH-00001: The label says 16")
    assert said[1].endswith(" curator: Cut-offs from the labels")
    assert said[2] == "        see each citation"
    assert said[3].endswith(" reviewer [approve]: Matches the label")
    assert said[0][4:8].isdigit() and "T" in said[0].split()[0]
    assert said[4] == f"--  {draft} (draft, in no version)"
    assert said[5].endswith(" curator on TH-00001: Or 12?")
    assert "Not about TMB" not in out  # another record's change

    code, out, _ = run(None, "history", "TH-00001", "--format", "json")
    entries = json.loads(out)
    merged = next(e for e in entries if e["version"] == 2)
    assert [(c["author"], c["kind"], c["body"]) for c in merged["comments"]] == [
        ("curator", "comment", "The label says 16"),
        ("curator", "comment", "Cut-offs from the labels\nsee each citation"),
        ("reviewer", "approve", "Matches the label"),
    ]
    assert entries[-1]["version"] is None and entries[-1]["status"] == "draft"
    assert [c["body"] for c in entries[-1]["comments"]] == ["Or 12?"]
    assert next(e for e in entries if e["version"] == 1)["comments"] == []
