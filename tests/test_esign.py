"""Forgery-evident approvals and history (issue 17, failure 1), on SQLite and PostgreSQL.

Whoever can write the database is the attacker here: they insert approval rows, register keys
of their own, edit signatures, and rewrite the audit chain with its triggers dropped and every
hash recomputed. Each forgery must be refused by `release create` and reported by
`kb audit verify`, which checks signatures against keys the trust root pins and the chain
against heads anchored outside the database (checkpoints and releases).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, text

from kb.errors import KbError
from kb.model.enums import ApprovalMeaning, Role
from kb.model.orm import SigningKey, VersionApproval
from kb.release.anchors import chain_head, verify_against, write_checkpoint
from kb.release.cutting import create_release, release_problems
from kb.release.folder import PAYLOAD_TYPE, ReleaseVerificationError, verify_release
from kb.release.signers import certify_signers, check_pinned_approvals
from kb.release.signing import (
    Reason,
    dumps_pretty,
    generate_keypair,
    key_id,
    load_private_key,
    raw_public_bytes,
    sign_envelope,
    trust_init,
)
from kb.review.audit import GENESIS, event_hash, record_event, verify_chain
from kb.review.changes import approve_change_set, open_draft, submit_change_set
from kb.review.esign import (
    APPROVAL_PAYLOAD_TYPE,
    ApprovalSignature,
    SignatureError,
    check_approvals,
    key_id_of,
    pae,
    unlock_signing_key,
)
from kb.review.users import Actor, add_user, authenticate, set_password
from kb.review.versions import approve_version, list_approvals
from kb.storage.db import Kb
from kb.storage.snapshot import build_snapshot, canonical_json
from tests.conftest import demo_admin

PASSPHRASE = b"root key passphrase"


@dataclass
class World:
    kb: Kb
    root: dict  # type: ignore[type-arg]
    root_key: Ed25519PrivateKey
    admin: Actor
    reviewer: Actor
    releaser: Actor
    tmp: Path


@pytest.fixture
def world(demo_kb: Kb, tmp_path: Path) -> World:
    files = generate_keypair(tmp_path / "keys", name="root", passphrase=PASSPHRASE)
    key = load_private_key(files.private_path, PASSPHRASE)
    root = trust_init([files.public_path], 1, [key])
    with demo_kb.unit_of_work() as s:
        admin = demo_admin(s)
        certify_signers(s, actor=admin, root_envelope=root, signing_keys=[key])
        reviewer = authenticate(s, name="reviewer", password="demo-reviewer")
        releaser = authenticate(s, name="releaser", password="demo-releaser")
    return World(demo_kb, root, key, admin, reviewer, releaser, tmp_path)


def _release(world: World, version: str, kb_version: int | None = None) -> Path:
    with world.kb.unit_of_work() as s:
        made = create_release(
            s,
            actor=world.releaser,
            version=version,
            root_envelope=world.root,
            signing_keys=[world.root_key],
            out_dir=world.tmp / "out",
            password="demo-releaser",
            kb_version=kb_version,
        )
    return made.path


def _refusal(world: World) -> str:
    with pytest.raises(KbError) as caught:
        _release(world, "2026.12.0")
    return str(caught.value)


def _drop_triggers(kb: Kb) -> None:
    with kb.engine.begin() as connection:
        if kb.is_sqlite:
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
            connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))


def _forge_chain(kb: Kb, seq: int, actor: str) -> None:
    """Rewrite event `seq`'s actor and recompute every hash after it and the head: the chain in
    the database verifies again."""
    _drop_triggers(kb)
    with kb.unit_of_work() as s:
        rows = s.execute(
            text(
                "SELECT seq, at, actor, action, subject, details, prev_hash FROM audit_event "
                "WHERE seq >= :seq ORDER BY seq"
            ),
            {"seq": seq},
        ).all()
        prev = s.execute(
            text("SELECT hash FROM audit_event WHERE seq = :seq"), {"seq": seq - 1}
        ).scalar() or (GENESIS)
        for row in rows:
            details = row.details if isinstance(row.details, dict) else json.loads(row.details)
            who = actor if row.seq == seq else row.actor
            digest = event_hash(
                seq=row.seq,
                at=row.at,
                actor=who,
                action=row.action,
                subject=row.subject,
                details=details or {},
                prev_hash=prev,
            )
            s.execute(
                text(
                    "UPDATE audit_event SET actor = :actor, prev_hash = :prev, hash = :hash "
                    "WHERE seq = :seq"
                ),
                {"actor": who, "prev": prev, "hash": digest, "seq": row.seq},
            )
            prev = digest
        s.execute(text("UPDATE audit_head SET hash = :hash WHERE id = 1"), {"hash": prev})


def _insert_approval(kb: Kb, user_id: str, **columns: object) -> None:
    with kb.unit_of_work() as s:
        digest = build_snapshot(s, 1).digest()
        values = {
            "kb_version": 1,
            "user_id": user_id,
            "printed_name": "mallory",
            "role": Role.REVIEWER,
            "at": dt.datetime.now(dt.UTC),
            "meaning": ApprovalMeaning.APPROVED,
            "reason": "looks fine",
            "digest": digest,
            "key_id": None,
            "signature": None,
            **columns,
        }
        # Core, not kb: the row goes in as any database client would put it.
        s.execute(insert(VersionApproval.__table__).values(**values))


def _mallory(kb: Kb, admin: Actor) -> Actor:
    with kb.unit_of_work() as s:
        return add_user(s, actor=admin, name="mallory", role=Role.CURATOR, password="mallory-p-1")


# --- signatures ------------------------------------------------------------------------------


def test_each_approval_is_signed_by_its_approver_and_checks(world: World) -> None:
    with world.kb.read() as s:
        (demo,) = list_approvals(s, 1)
        assert demo.signature == ApprovalSignature.SIGNED.value and not demo.void
        (check,) = check_pinned_approvals(s, world.root, 1)
        assert check.ok
        assert release_problems(s, 1, world.root) == []
    with pytest.raises(SignatureError, match="wrong password"), world.kb.unit_of_work() as s:
        approve_version(
            s,
            actor=world.reviewer,
            version=1,
            meaning=ApprovalMeaning.REVIEWED,
            reason="x",
            password="not-the-password",
        )


def test_a_hand_inserted_approval_is_refused_and_reported(world: World) -> None:
    # Beside the demo's valid approval, one the attacker put in by hand: the whole version is
    # refused, since its approvals were tampered with.
    mallory = _mallory(world.kb, world.admin)
    _insert_approval(world.kb, mallory.user_id)
    with world.kb.read() as s:
        valid, inserted = check_approvals(s, 1)
        assert valid.ok
        assert inserted.status is ApprovalSignature.NOT_RECORDED and inserted.forged
    assert ApprovalSignature.NOT_RECORDED.value in _refusal(world)
    # A signed approval whose signature is stripped is not taken for an old unsigned one.
    with world.kb.unit_of_work() as s:
        s.execute(text("DELETE FROM version_approval WHERE user_id = :u"), {"u": mallory.user_id})
        s.execute(text("UPDATE version_approval SET signature = NULL, key_id = NULL"))
    with world.kb.read() as s:
        (stripped,) = check_approvals(s, 1)
        assert stripped.status is ApprovalSignature.NOT_RECORDED


def test_an_unsigned_row_with_a_forged_audit_event_still_does_not_count(world: World) -> None:
    mallory = _mallory(world.kb, world.admin)
    _insert_approval(world.kb, mallory.user_id)
    with world.kb.unit_of_work() as s:
        digest = s.execute(text("SELECT digest FROM version_approval LIMIT 1")).scalar_one()
        record_event(
            s,
            actor="mallory",
            action="version.approve",
            subject="v1",
            details={"meaning": "approved", "digest": digest},
        )
        s.execute(text("DELETE FROM version_approval WHERE signature IS NOT NULL"))
    with world.kb.read() as s:
        (check,) = check_approvals(s, 1)
        assert check.status is ApprovalSignature.UNSIGNED
    message = _refusal(world)
    assert "has no valid approval (1 unsigned approval(s)" in message


def test_a_tampered_signature_or_row_is_refused(world: World) -> None:
    with world.kb.unit_of_work() as s:
        stored = s.execute(text("SELECT id, signature FROM version_approval")).one()
        envelope = json.loads(stored.signature)
        sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        sig[0] ^= 1
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        s.execute(
            text("UPDATE version_approval SET signature = :sig WHERE id = :id"),
            {"sig": json.dumps(envelope), "id": stored.id},
        )
    with world.kb.read() as s:
        assert check_approvals(s, 1)[0].status is ApprovalSignature.BAD_SIGNATURE
    assert "the signature does not verify" in _refusal(world)
    # Put it back, then change what the row says instead: the signature no longer covers it.
    with world.kb.unit_of_work() as s:
        s.execute(text("UPDATE version_approval SET signature = :sig"), {"sig": stored.signature})
        s.execute(text("UPDATE version_approval SET reason = 'something else'"))
    with world.kb.read() as s:
        assert check_approvals(s, 1)[0].status is ApprovalSignature.ALTERED
    assert "the approval differs from what was signed" in _refusal(world)


def test_a_key_registered_by_a_database_writer_is_not_pinned(world: World) -> None:
    """The attacker registers their own key for the reviewer, signs an approval with it and
    appends the audit event kb would have written: it all checks against the database, but the
    trust root does not pin the key."""
    forged = Ed25519PrivateKey.generate()
    kid = key_id_of(forged.public_key())
    public = base64.b64encode(raw_public_bytes(forged.public_key())).decode()
    with world.kb.unit_of_work() as s:
        s.execute(
            insert(SigningKey.__table__).values(
                key_id=kid,
                user_id=world.reviewer.user_id,
                public_key=public,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        # Copying the reviewer's genuine certificate onto the forged key does not help either.
        s.execute(
            text(
                "UPDATE signing_key SET certificate = (SELECT certificate FROM signing_key "
                "WHERE user_id = :user AND key_id != :kid) WHERE key_id = :kid"
            ),
            {"user": world.reviewer.user_id, "kid": kid},
        )
        kb_id = s.execute(text("SELECT value FROM kb_meta WHERE key = 'kb_id'")).scalar_one()
        digest = s.execute(text("SELECT digest FROM version_approval")).scalar_one()
        at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
        statement = canonical_json(
            {
                "_type": "kb-curator-approval",
                "kb_id": kb_id,
                "kb_version": 1,
                "digest": digest,
                "meaning": "approved",
                "reason": "forged",
                "printed_name": "reviewer",
                "user": "reviewer",
                "user_id": world.reviewer.user_id,
                "role": "reviewer",
                "at": "2026-12-01T09:00:00.000000Z",
                "key_id": kid,
            }
        )
        envelope = {
            "payloadType": APPROVAL_PAYLOAD_TYPE,
            "payload": base64.b64encode(statement).decode(),
            "signatures": [
                {
                    "keyid": kid,
                    "sig": base64.b64encode(
                        forged.sign(pae(APPROVAL_PAYLOAD_TYPE, statement))
                    ).decode(),
                }
            ],
        }
        record_event(
            s,
            actor="reviewer",
            action="version.approve",
            subject="v1",
            details={"meaning": "approved", "digest": digest},
        )
        s.execute(text("DELETE FROM version_approval"))
    _insert_approval(
        world.kb,
        world.reviewer.user_id,
        printed_name="reviewer",
        reason="forged",
        at=at,
        key_id=kid,
        signature=json.dumps(envelope),
    )
    with world.kb.read() as s:
        (check,) = check_approvals(s, 1)
        assert check.status is ApprovalSignature.SIGNED  # against the database alone
        (pinned,) = check_pinned_approvals(s, world.root, 1)
        assert not pinned.ok and "is for another key" in (pinned.problem or "")
    assert "a version is not released on such a signature" in _refusal(world)


def test_an_approval_still_verifies_after_later_versions_and_a_new_password(
    world: World,
) -> None:
    with world.kb.unit_of_work() as s:
        curator = authenticate(s, name="curator", password="demo-curator")
        editor = open_draft(s, actor=curator, title="a later version")
        editor.update("TH-00002", {"value": "60"})
        change_set = editor.human_id
    with world.kb.unit_of_work() as s:
        submit_change_set(s, actor=curator, change_set_id=change_set)
    with world.kb.unit_of_work() as s:
        assert approve_change_set(s, actor=world.reviewer, change_set_id=change_set).version == 2
        # A new password seals a new key; the old one is retired but still verifies.
        set_password(s, actor=world.reviewer, name="reviewer", password="new-reviewer-pw")
    with world.kb.read() as s:
        assert [c.approval.status for c in check_pinned_approvals(s, world.root, 1)] == [
            ApprovalSignature.SIGNED
        ]
        assert check_pinned_approvals(s, world.root, 1)[0].ok
        assert release_problems(s, 1, world.root) == []
    # The new key signs once pinned; the release of version 1 still counts the old signature.
    with world.kb.unit_of_work() as s:
        approve_version(
            s,
            actor=world.reviewer,
            version=2,
            meaning=ApprovalMeaning.APPROVED,
            reason="v2 checked",
            password="new-reviewer-pw",
        )
        assert "not certified by the trust root" in " ".join(release_problems(s, 2, world.root))
    path = _release(world, "2026.12.0", kb_version=1)
    approvals = verify_release(path, trusted_root=world.root).predicate["approvals"]
    assert [a["meaning"] for a in approvals] == ["approved", "released"]


def test_a_release_carries_checkable_signatures_and_its_chain_head(world: World) -> None:
    path = _release(world, "2026.12.0")
    predicate = verify_release(path, trusted_root=world.root).predicate
    with world.kb.read() as s:
        head = predicate["audit_head"]
        stored = s.execute(
            text("SELECT hash FROM audit_event WHERE seq = :seq"), {"seq": head["seq"]}
        ).scalar_one()
        assert stored == head["hash"] and chain_head(s).seq == head["seq"] + 1  # + the release
    # A consumer checks each approval with the pinned root alone: certificate, then signature.
    verified = verify_release(path, trusted_root=world.root, min_signed_approvals=2)
    assert [(a.printed_name, a.meaning, a.signed) for a in verified.approvals] == [
        ("reviewer", "approved", True),
        ("releaser", "released", True),
    ]
    assert {a.user for a in verified.approvals} == {"reviewer", "releaser"}


def _tampered(world: World, path: Path, change: Callable[[list[dict[str, Any]]], object]) -> str:
    """The release re-signed by its own (trusted) release key, its approvals changed: what a
    holder of the release key alone could publish. Returns the verification's refusal."""
    envelope = json.loads((path / "release.dsse.json").read_bytes())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    change(statement["predicate"]["approvals"])
    forged = sign_envelope(PAYLOAD_TYPE, canonical_json(statement), [world.root_key])
    (path / "release.dsse.json").write_bytes(dumps_pretty(forged))
    with pytest.raises(ReleaseVerificationError) as caught:
        verify_release(path, trusted_root=world.root)
    assert caught.value.reason_code is Reason.BAD_APPROVAL
    return str(caught.value)


def test_the_release_key_alone_cannot_forge_an_approval(world: World) -> None:
    path = _release(world, "2026.12.0")

    def rename(approvals: list[dict[str, Any]]) -> None:
        approvals[0]["printed_name"] = "Prof. Somebody Else"

    assert "says printed_name 'Prof. Somebody Else'" in _tampered(world, path, rename)

    path = _release(world, "2026.12.1")

    def self_certify(approvals: list[dict[str, Any]]) -> None:
        # Mallory's own key signs an approval statement and "certifies" itself.
        mallory = Ed25519PrivateKey.generate()
        kid = key_id(mallory.public_key())
        body = json.loads(base64.b64decode(approvals[0]["signature"]["payload"]))
        body["key_id"] = kid
        approvals[0]["key_id"] = kid
        approvals[0]["signature"] = sign_envelope(
            APPROVAL_PAYLOAD_TYPE, canonical_json(body), [mallory]
        )
        certificate = json.loads(base64.b64decode(approvals[0]["certificate"]["payload"]))
        certificate.update(
            key_id=kid, public=base64.b64encode(raw_public_bytes(mallory.public_key())).decode()
        )
        approvals[0]["certificate"] = sign_envelope(
            "application/vnd.kb-curator.signer+json", canonical_json(certificate), [mallory]
        )

    assert "key certificate that does not verify" in _tampered(world, path, self_certify)

    path = _release(world, "2026.12.2")

    def other_content(approvals: list[dict[str, Any]]) -> None:
        approvals[0]["digest"] = "0" * 64

    assert "its signature says" in _tampered(world, path, other_content)


def test_a_release_with_no_signed_approval_fails_a_consumer_that_requires_one(
    world: World,
) -> None:
    path = _release(world, "2026.12.0")

    def unsigned(approvals: list[dict[str, Any]]) -> None:
        for approval in approvals:
            for name in ("signature", "certificate", "key_id"):
                approval.pop(name)

    envelope = json.loads((path / "release.dsse.json").read_bytes())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    unsigned(statement["predicate"]["approvals"])
    forged = sign_envelope(PAYLOAD_TYPE, canonical_json(statement), [world.root_key])
    (path / "release.dsse.json").write_bytes(dumps_pretty(forged))
    verified = verify_release(path, trusted_root=world.root)
    assert [a.signed for a in verified.approvals] == [False, False]
    with pytest.raises(ReleaseVerificationError) as caught:
        verify_release(path, trusted_root=world.root, min_signed_approvals=1)
    assert caught.value.reason_code is Reason.TOO_FEW_APPROVALS


# --- the chain, anchored outside the database --------------------------------------------------


def test_a_rewritten_chain_passes_inside_but_not_against_its_anchors(world: World) -> None:
    checkpoint = world.tmp / "checkpoint.json"
    with world.kb.read() as s:
        head = write_checkpoint(
            s, root_envelope=world.root, signing_keys=[world.root_key], out=checkpoint
        )
    release = _release(world, "2026.12.0")
    with world.kb.read() as s:
        assert [a.ok for a in verify_against(s, [checkpoint, release], root_envelope=world.root)]
        assert all(a.ok for a in verify_against(s, [checkpoint, release], root_envelope=world.root))
    _forge_chain(world.kb, 3, "mallory")
    with world.kb.read() as s:
        assert verify_chain(s).ok  # the database alone cannot tell
        checks = verify_against(s, [checkpoint, release], root_envelope=world.root)
    assert [c.ok for c in checks] == [False, False]
    assert f"history was rewritten: event {head.seq} now has hash" in (checks[0].problem or "")
    # A forged checkpoint (the attacker's own "head", signed by no root key) is refused too.
    forged = world.tmp / "forged.json"
    envelope = json.loads(checkpoint.read_text())
    envelope["signatures"] = []
    forged.write_text(json.dumps(envelope))
    with world.kb.read() as s:
        (check,) = verify_against(s, [forged], root_envelope=world.root)
    assert not check.ok and "not verified" in (check.problem or "")


def test_a_removed_tail_fails_against_a_checkpoint(world: World) -> None:
    checkpoint = world.tmp / "checkpoint.json"
    with world.kb.read() as s:
        head = write_checkpoint(
            s, root_envelope=world.root, signing_keys=[world.root_key], out=checkpoint
        )
    _drop_triggers(world.kb)
    with world.kb.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": head.seq})
        previous = s.execute(
            text("SELECT hash FROM audit_event WHERE seq = :seq"), {"seq": head.seq - 1}
        ).scalar_one()
        s.execute(
            text("UPDATE audit_head SET seq = :seq, hash = :hash"),
            {"seq": head.seq - 1, "hash": previous},
        )
    with world.kb.read() as s:
        assert verify_chain(s).ok
        (check,) = verify_against(s, [checkpoint], root_envelope=world.root)
    assert not check.ok and "events were removed" in (check.problem or "")


def test_secrets_never_reach_the_database_in_clear(world: World) -> None:
    if not world.kb.is_sqlite:
        pytest.skip("the SQLite file is read byte by byte")
    with world.kb.unit_of_work() as s:
        approve_version(
            s,
            actor=world.reviewer,
            version=1,
            meaning=ApprovalMeaning.REVIEWED,
            reason="again",
            password="demo-reviewer",
        )
        private = unlock_signing_key(s, user_id=world.reviewer.user_id, password="demo-reviewer")
    raw = private.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    world.kb.close()
    database = Path(str(world.kb.engine.url.database))
    data = b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )
    assert b"demo-reviewer" not in data and b"demo-releaser" not in data
    assert raw not in data and base64.b64encode(raw) not in data and b"PRIVATE KEY" not in data


# --- the command line --------------------------------------------------------------------------


def _kb(db: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KB_KEY_PASSPHRASE": PASSPHRASE.decode()}
    if user:
        env["KB_PASSWORD"] = f"demo-{user}"
    command = [sys.executable, "-m", "kb", "--db", str(db), *(["--user", user] if user else [])]
    return subprocess.run([*command, *args], check=False, capture_output=True, text=True, env=env)


def test_cli_checkpoint_release_forgery_and_verify(tmp_path: Path) -> None:
    db = tmp_path / "kb.sqlite"
    assert _kb(db, "init", "--demo").returncode == 0
    keys = tmp_path / "keys"
    assert _kb(db, "keys", "generate", "--out", str(keys), "--name", "root").returncode == 0
    root = tmp_path / "root.json"
    made = _kb(
        db,
        "trust",
        "init",
        "--key",
        str(keys / "root.pub"),
        "--threshold",
        "1",
        "--sign-with",
        str(keys / "root.key"),
        "--out",
        str(root),
    )
    assert made.returncode == 0, made.stderr
    root_key = ["--root", str(root), "--key", str(keys / "root.key")]
    # Unpinned keys: the release is refused and `audit verify --root` says why.
    refused = _kb(
        db, "release", "create", "--version", "2026.12.0", *root_key, "--out", str(tmp_path / "r"),
        user="releaser",
    )  # fmt: skip
    assert refused.returncode == 1 and "not certified by the trust root" in refused.stderr
    unpinned = _kb(db, "audit", "verify", "--root", str(root))
    assert unpinned.returncode == 1 and "FAILED: approval #1 of v1" in unpinned.stdout
    certified = _kb(db, "keys", "certify", *root_key, user="admin")
    assert certified.returncode == 0 and "certified reviewer's key" in certified.stdout
    listed = _kb(db, "keys", "list", "--root", str(root), "--format", "json")
    assert {k["user"] for k in json.loads(listed.stdout) if k["pinned"]} >= {"reviewer"}
    checkpoint = tmp_path / "checkpoint.json"
    written = _kb(db, "audit", "checkpoint", *root_key, "--out", str(checkpoint))
    assert written.returncode == 0, written.stderr
    created = _kb(
        db, "release", "create", "--version", "2026.12.0", *root_key, "--out", str(tmp_path / "r"),
        "--format", "json", user="releaser",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    folder = json.loads(created.stdout)["path"]
    good = _kb(db, "audit", "verify", "--root", str(root), "--against", str(checkpoint),
               "--against", folder)  # fmt: skip
    assert good.returncode == 0 and good.stdout.rstrip().endswith("audit verified"), good.stdout

    # The attacker rewrites history and recomputes every hash: intact inside, not outside.
    import sqlite3

    with sqlite3.connect(db) as raw:
        raw.execute("DROP TRIGGER audit_event_no_update")
        rows = raw.execute(
            "SELECT seq, at, actor, action, subject, details FROM audit_event ORDER BY seq"
        ).fetchall()
        prev = GENESIS
        for seq, at, actor, action, subject, details in rows:
            who = "mallory" if seq == 2 else actor
            digest = event_hash(
                seq=seq, at=at, actor=who, action=action, subject=subject,
                details=json.loads(details) if details else {}, prev_hash=prev,
            )  # fmt: skip
            raw.execute(
                "UPDATE audit_event SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (who, prev, digest, seq),
            )
            prev = digest
        raw.execute("UPDATE audit_head SET hash = ?", (prev,))
    inside = _kb(db, "audit", "verify")
    assert inside.returncode == 0 and "audit chain intact" in inside.stdout
    for anchor in (str(checkpoint), folder):
        outside = _kb(db, "audit", "verify", "--root", str(root), "--against", anchor)
        assert outside.returncode == 1, outside.stdout
        assert "history was rewritten" in outside.stdout
        assert outside.stdout.rstrip().endswith("audit NOT verified")
    # A hand-inserted approval row is reported.
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO version_approval (kb_version, user_id, printed_name, role, at, meaning, "
            "reason, digest) SELECT kb_version, user_id, 'x', role, at, meaning, 'x', digest "
            "FROM version_approval LIMIT 1"
        )
    reported = _kb(db, "audit", "verify", "--format", "json")
    assert reported.returncode == 1
    statuses = [a["signature"] for a in json.loads(reported.stdout)["approvals"]]
    assert ApprovalSignature.NOT_RECORDED.value in statuses
    usage = _kb(db, "audit", "verify", "--against", str(checkpoint))
    assert usage.returncode == 2 and "--against needs --root" in usage.stderr
