"""Pinning approvers' keys to the trust root, so that a database writer cannot enrol their own.

Whoever can write the database can add a row to `signing_key` and sign an approval with the
matching private key: the signature verifies against the key the database registers, so a
check against the database alone proves nothing. The key must therefore be pinned by
something the database writer does not hold. We chose the **release trust root**:

- it already exists, is held outside the database (its private keys in encrypted files of the
  release managers or admins), and is what `release create` is given and consumers pin;
- a *certificate* — a DSSE envelope signed by a threshold of the root's keys — registers one
  approver's public key for one KB and user (`certify_signers`, `kb keys certify`). The admin
  who runs it checks the key id with its owner first (the certificate is the enrolment act);
- `release create` requires every counted approval's key to carry a certificate that verifies
  under the root it signs with, and `kb audit verify --root` checks all of them.

The alternatives were weaker or heavier: a key file the verifier keeps (one more artefact to
distribute, and nothing ties it to the release consumers pin), or extending the root document
with approver keys (breaks every consumer that pinned the current format, and forces a root
rotation for every new reviewer). A root rotation re-certifies the current keys (`kb keys
certify --all` with the new root); retired keys keep their old certificates, which verify
under the root that issued them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.orm import SigningKey, User, VersionApproval
from kb.release.signing import (
    SigningError,
    TrustRoot,
    VerificationError,
    key_id,
    parse_trust_root,
    sign_envelope,
    verify_envelope,
)
from kb.review.audit import record_event
from kb.review.esign import ApprovalCheck, check_approvals, current_key, signature_envelope
from kb.review.users import Actor, Permission, require
from kb.storage.meta import get_meta
from kb.storage.snapshot import canonical_json

SIGNER_PAYLOAD_TYPE = "application/vnd.kb-curator.signer+json"
SIGNER_TYPE = "kb-curator-signer"


@dataclass(frozen=True, slots=True)
class SignerKeyRow:
    user: str
    key_id: str
    created_at: str
    retired: bool
    certified: bool  # carries a certificate (checked against a root only by `pinned`)
    pinned: bool | None  # None: no root given


@dataclass(frozen=True, slots=True)
class PinnedCheck:
    """An approval's signature check, and whether its key is pinned by the trust root."""

    approval: ApprovalCheck
    pinned: bool
    problem: str | None  # why the key is not pinned

    @property
    def ok(self) -> bool:
        return self.approval.ok and self.pinned

    def text(self) -> str:
        if not self.approval.ok or self.problem is None:
            return self.approval.text()
        return f"{self.approval.text()}, but {self.problem}"


def _as_root(root: Mapping[str, Any] | TrustRoot) -> TrustRoot:
    if isinstance(root, TrustRoot):
        return root
    try:
        return parse_trust_root(root, check_expiry=False)
    except VerificationError as exc:
        raise SigningError(exc.message) from None


def certificate_payload(*, kb_id: str, user: User, row: SigningKey) -> bytes:
    return canonical_json(
        {
            "_type": SIGNER_TYPE,
            "kb_id": kb_id,
            "user": user.name,
            "user_id": user.id,
            "key_id": row.key_id,
            "public": row.public_key,
        }
    )


def certify_signers(
    session: Session,
    *,
    actor: Actor,
    root_envelope: Mapping[str, Any] | TrustRoot,
    signing_keys: Sequence[Ed25519PrivateKey],
    names: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """An admin certifies the current approval keys of `names` (or of every active user with
    one) under the trust root, signed by `signing_keys` (a threshold of the root's keys);
    returns (user, key id) of each certified key."""
    require(actor, Permission.ADMIN)
    root = _as_root(root_envelope)
    ids = {key_id(key.public_key()) for key in signing_keys}
    if len(ids & set(root.keys)) < root.threshold:
        raise SigningError(
            f"certifying a key takes {root.threshold} distinct key(s) of the trust root; "
            f"{len(ids & set(root.keys))} given"
        )
    kb_id = get_meta(session, "kb_id") or ""
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if names:
        query = query.where(User.name.in_(list(names)))
    users = list(session.scalars(query))
    missing = sorted(set(names) - {u.name for u in users})
    if missing:
        raise KbError(f"no active user {missing[0]}")
    done = []
    for user in users:
        row = current_key(session, user.id)
        if row is None:
            if names:
                raise KbError(f"{user.name} has no approval key yet (made at their first sign-off)")
            continue
        payload = certificate_payload(kb_id=kb_id, user=user, row=row)
        envelope = sign_envelope(SIGNER_PAYLOAD_TYPE, payload, signing_keys)
        row.certificate = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
        record_event(
            session,
            actor=actor.name,
            action="key.certify",
            subject=user.name,
            details={"key_id": row.key_id, "root_digest": root.digest},
        )
        done.append((user.name, row.key_id))
    return done


def pinning_problem(session: Session, row: SigningKey | None, root: TrustRoot) -> str | None:
    """Why `row` is not pinned by `root` (None when its certificate verifies under it)."""
    if row is None:
        return "the key is not registered"
    user = session.get(User, row.user_id)
    name = user.name if user else row.user_id
    hint = f"an admin certifies it with `kb keys certify {name} --root … --key …`"
    if not row.certificate:
        return f"{name}'s key {row.key_id[:16]}… is not certified by the trust root; {hint}"
    try:
        payload, _ = verify_envelope(
            json.loads(row.certificate),
            payload_type=SIGNER_PAYLOAD_TYPE,
            keys=root.keys,
            threshold=root.threshold,
            what=f"certificate of {name}'s key",
        )
    except (ValueError, VerificationError):
        return (
            f"{name}'s key {row.key_id[:16]}… has no certificate valid under this trust root; "
            + hint
        )
    if user is None or payload != certificate_payload(
        kb_id=get_meta(session, "kb_id") or "", user=user, row=row
    ):
        return f"the certificate of {name}'s key {row.key_id[:16]}… is for another key, user or KB"
    return None


def check_pinned_approvals(
    session: Session, root: Mapping[str, Any] | TrustRoot, version: int | None = None
) -> list[PinnedCheck]:
    """Every approval's signature (kb.review.esign.check_approvals) and whether the key that
    made it is pinned by `root`."""
    trust = _as_root(root)
    out = []
    for check in check_approvals(session, version):
        if not check.ok:
            out.append(PinnedCheck(check, False, None))
            continue
        row = session.get(SigningKey, check.key_id or "")
        problem = pinning_problem(session, row, trust)
        out.append(PinnedCheck(check, problem is None, problem))
    return out


def approval_evidence(session: Session, approval_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What a release carries per approval so a consumer can check it with the pinned root
    alone: the key id, the signature envelope and the key's certificate."""
    out: dict[int, dict[str, Any]] = {}
    for approval in session.scalars(
        select(VersionApproval).where(VersionApproval.id.in_(list(approval_ids)))
    ):
        row = session.get(SigningKey, approval.key_id or "")
        certificate = json.loads(row.certificate) if row and row.certificate else None
        out[approval.id] = {
            "key_id": approval.key_id,
            "signature": signature_envelope(approval),
            "certificate": certificate,
        }
    return out


def list_signer_keys(session: Session, root: Mapping[str, Any] | None = None) -> list[SignerKeyRow]:
    """Every approval key, newest first per user, with its certificate's state."""
    trust = _as_root(root) if root is not None else None
    names = dict(session.execute(select(User.id, User.name)).all())
    rows = session.scalars(
        select(SigningKey).order_by(SigningKey.user_id, SigningKey.created_at.desc())
    )
    return [
        SignerKeyRow(
            names.get(row.user_id, row.user_id),
            row.key_id,
            row.created_at.isoformat(timespec="seconds"),
            row.retired_at is not None,
            bool(row.certificate),
            None if trust is None else pinning_problem(session, row, trust) is None,
        )
        for row in sorted(rows, key=lambda r: names.get(r.user_id, ""))
    ]
