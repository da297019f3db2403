"""Cutting, verifying and matching against releases through the `kb` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "key-passphrase-1"


def kb(
    db: Path, *args: str, user: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KB_KEY_PASSPHRASE": PASS}
    if user:
        env["KB_PASSWORD"] = f"demo-{user}"
    command = [
        sys.executable,
        "-m",
        "kb",
        "--db",
        str(db),
        *(["--user", user] if user else []),
        *args,
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("release")
    db = tmp / "kb.sqlite"
    kb(db, "init", "--demo")
    keys = tmp / "keys"
    for name in ("k1", "k2"):
        kb(db, "keys", "generate", "--out", str(keys), "--name", name)
    root = tmp / "root.json"
    kb(
        db,
        "trust",
        "init",
        "--key",
        str(keys / "k1.pub"),
        "--key",
        str(keys / "k2.pub"),
        "--threshold",
        "2",
        "--sign-with",
        str(keys / "k1.key"),
        "--sign-with",
        str(keys / "k2.key"),
        "--out",
        str(root),
    )
    # An admin pins every approver's key (made at enrolment) with the root's keys.
    certified = kb(
        db,
        "keys",
        "certify",
        "--root",
        str(root),
        "--key",
        str(keys / "k1.key"),
        "--key",
        str(keys / "k2.key"),
        user="admin",
    )
    assert "certified reviewer's key" in certified.stdout
    return {"db": db, "keys": keys, "root": root, "tmp": tmp}


def _create(
    world: dict[str, Path],
    version: str,
    out: Path,
    *,
    user: str = "releaser",
    kb_version: int | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    keys = world["keys"]
    extra = ["--kb-version", str(kb_version)] if kb_version is not None else []
    return kb(
        world["db"],
        "release",
        "create",
        "--version",
        version,
        "--root",
        str(world["root"]),
        "--key",
        str(keys / "k1.key"),
        "--key",
        str(keys / "k2.key"),
        "--out",
        str(out),
        "--format",
        "json",
        *extra,
        user=user,
        check=check,
    )


def test_release_cycle(world: dict[str, Path]) -> None:
    tmp, db, root = world["tmp"], world["db"], world["root"]
    refused = _create(world, "2026.11.0", tmp / "out", user="curator", check=False)
    assert refused.returncode == 1 and "only release managers" in refused.stderr
    first = json.loads(_create(world, "2026.11.0", tmp / "out").stdout)
    assert first["sequence"] == 1 and first["kb_version"] == 1
    verified = kb(
        db,
        "release",
        "verify",
        first["path"],
        "--root",
        str(root),
        "--state",
        str(tmp / "state.json"),
        "--format",
        "json",
    )
    assert json.loads(verified.stdout)["ok"] is True
    # kb.json is exactly the content the approvals signed off.
    import base64
    import hashlib

    kb_json = (Path(first["path"]) / "payload" / "kb.json").read_bytes()
    envelope = json.loads((Path(first["path"]) / "release.dsse.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    digests = {a["digest"] for a in statement["predicate"]["approvals"]}
    assert digests == {hashlib.sha256(kb_json).hexdigest()}
    assert {a["meaning"] for a in statement["predicate"]["approvals"]} == {"approved", "released"}

    # A curator's change, approved by a reviewer, then the next release chains to the first.
    kb(db, "edit", "AS-00001", "evidence_level=2", user="curator")
    listed = kb(db, "changes", "list", "--status", "draft", "--format", "json").stdout
    cs = json.loads(listed)[0]["id"]
    kb(db, "changes", "submit", cs, user="curator")
    kb(db, "changes", "approve", cs, user="reviewer")
    unapproved = _create(world, "2026.11.1", tmp / "out", check=False)
    assert unapproved.returncode == 1 and "no valid approval" in unapproved.stderr
    kb(
        db,
        "versions",
        "approve",
        "2",
        "--meaning",
        "approved",
        "--reason",
        "checked",
        user="reviewer2",
    )
    second = json.loads(_create(world, "2026.11.1", tmp / "out").stdout)
    assert second["sequence"] == 2 and second["summary"].get("level_demoted") == 1
    changes = json.loads((Path(second["path"]) / "payload" / "changes.json").read_text())
    assert any(c["category"] == "level_demoted" for c in changes["categories"])
    ok = kb(
        db,
        "release",
        "verify",
        second["path"],
        "--root",
        str(root),
        "--state",
        str(tmp / "state.json"),
    )
    assert "verified release 2026.11.1" in ok.stdout
    # Going back to the first release is a rollback for this consumer.
    back = kb(
        db,
        "release",
        "verify",
        first["path"],
        "--root",
        str(root),
        "--state",
        str(tmp / "state.json"),
        "--format",
        "json",
        check=False,
    )
    assert back.returncode == 1 and json.loads(back.stdout)["reason"] == "rollback"

    # The same KB version released twice, in separate processes: identical payload bytes, but
    # for the chain (changes.json) and the VA-Spec statements, which name their release.
    again = json.loads(_create(world, "2026.11.2", tmp / "again", kb_version=2).stdout)
    for file in sorted((Path(second["path"]) / "payload").rglob("*")):
        if file.is_file() and file.name not in ("changes.json", "statements.jsonl"):
            twin = (
                Path(again["path"]) / "payload" / file.relative_to(Path(second["path"]) / "payload")
            )
            assert twin.read_bytes() == file.read_bytes(), file.name

    listed = json.loads(kb(db, "release", "list", "--format", "json").stdout)
    assert [r["version"] for r in listed] == ["2026.11.0", "2026.11.1", "2026.11.2"]

    patient = tmp / "patient.json"
    patient.write_text(
        json.dumps(
            {
                "id": "P1",
                "oncotree_code": "NSCLC",
                "variants": [{"gene": "EGFR", "protein_change": "p.L858R"}],
            }
        )
    )
    matched = kb(
        db,
        "match",
        "--release",
        second["path"],
        "--root",
        str(root),
        "--patient",
        str(patient),
        "--format",
        "json",
    )
    therapies = json.loads(matched.stdout)["therapies"]
    assert "AS-00001" in {
        t["assertion"] if "assertion" in t else t.get("assertion_id") for t in therapies
    }
    # A consumer that accepted the second release is not matched against the first.
    rolled_back = kb(
        db,
        "match",
        "--release",
        first["path"],
        "--root",
        str(root),
        "--state",
        str(tmp / "state.json"),
        "--patient",
        str(patient),
        check=False,
    )
    assert rolled_back.returncode == 1 and "rollback" in rolled_back.stderr
    # A hostile, deeply nested patient or state file is one line, not a traceback.
    deep = tmp / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for option in ("--patient", "--state"):
        others = ["--patient", str(patient)] if option == "--state" else []
        nested = kb(
            db, "match", "--release", second["path"], "--root", str(root),
            option, str(deep), *others, check=False,
        )  # fmt: skip
        assert nested.returncode == 1, nested.stderr
        assert "Traceback" not in nested.stderr and len(nested.stderr.splitlines()) == 1
        assert "nested too deeply" in nested.stderr

    tampered = Path(second["path"]) / "payload" / "kb.json"
    tampered.write_bytes(tampered.read_bytes().replace(b'"2"', b'"1"', 1))
    bad = kb(
        db,
        "match",
        "--release",
        second["path"],
        "--root",
        str(root),
        "--patient",
        str(patient),
        check=False,
    )
    assert bad.returncode == 1 and "kb.json" in bad.stderr
