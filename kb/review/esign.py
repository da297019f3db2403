"""Electronic signatures on KB versions (21 CFR Part 11 §11.50, §11.70; DESIGN §3).

Each approval is signed with the approver's own Ed25519 key over a statement naming the KB, the
version, the sha256 of the content approved, the meaning, the reason, the printed name, the
role and the UTC time. A signature can therefore not be copied to another version, another
meaning or another person, and a row edited after signing no longer matches its signature.

Keys. A user's key pair is made at enrolment (`add_user`, `bootstrap_admin`), and again at
each password change: the private half is sealed with the user's password — scrypt (the cost
of sign-in passwords) derives an AES-256-GCM key, whose tag also proves the password — and
only the sealed form is stored. Signing needs the password again (§11.200: each signing is
an act of the person). A new password means a new key pair (the old key is retired, kept to
verify what it signed): an admin who set a user's initial password cannot sign with the key
that user later creates. An account from before signed approvals gets its key at its first
signature.

What this module checks is a signature against the key the database registers for the user.
A database writer can register a key of their own, so that alone proves little; what pins a
key is its certificate, signed by trust-root keys held outside the database (see
`kb.release.signers`), which `release create` and `kb audit verify --root` require.

Statements and signatures use DSSE v1 (the envelope of our releases), so any DSSE tool can
check them; the pre-authentication encoding is repeated here because kb.review sits below
kb.release.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.orm import AuditEvent, SigningKey, User, VersionApproval, utcnow
from kb.review.audit import record_event
from kb.review.passwords import check_password, scrypt_cost
from kb.storage.snapshot import canonical_json

APPROVAL_PAYLOAD_TYPE = "application/vnd.kb-curator.approval+json"
APPROVAL_TYPE = "kb-curator-approval"
_SEAL_SCHEME = "scrypt-aesgcm"
_SEAL_CONTEXT = b"kb-curator approval key v1 "


class SignatureError(KbError):
    """A signature that cannot be made: no key, a wrong password."""


class ApprovalSignature(StrEnum):
    """What an approval's signature is worth, checked against the key the KB registers."""

    SIGNED = "signed"
    UNSIGNED = "unsigned (made before signed approvals)"
    NOT_RECORDED = "not as the audit trail recorded it (inserted or altered outside KB Curator)"
    UNKNOWN_KEY = "signed with a key the KB does not register for this user"
    ALTERED = "the approval differs from what was signed"
    BAD_SIGNATURE = "the signature does not verify"


@dataclass(frozen=True, slots=True)
class UnlockedKey:
    """A user's private approval key, unlocked for one signing; never leaves the process."""

    user_id: str
    key_id: str
    private: Ed25519PrivateKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApprovalCheck:
    approval_id: int
    version: int
    user: str
    printed_name: str
    meaning: str
    key_id: str | None
    status: ApprovalSignature

    @property
    def ok(self) -> bool:
        return self.status is ApprovalSignature.SIGNED

    @property
    def forged(self) -> bool:
        """Evidence of tampering: anything but a verified or a recorded unsigned approval."""
        return self.status not in (ApprovalSignature.SIGNED, ApprovalSignature.UNSIGNED)

    def text(self) -> str:
        return (
            f"approval #{self.approval_id} of v{self.version} ({self.meaning} by "
            f"{self.printed_name}): {self.status.value}"
        )


# --- keys ---------------------------------------------------------------------------------


def key_id_of(public: Ed25519PublicKey) -> str:
    """sha256 hex of the raw 32-byte public key (the id kb.release.signing uses too)."""
    return hashlib.sha256(_raw_public(public)).hexdigest()


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_of(row: SigningKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(row.public_key))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * 1024 * 1024
    )


def _seal(private: Ed25519PrivateKey, password: str, kid: str) -> str:
    n, r, p = scrypt_cost()
    salt, nonce = os.urandom(16), os.urandom(12)
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(_scrypt(password, salt, n, r, p)).encrypt(
        nonce, raw, _SEAL_CONTEXT + kid.encode()
    )
    parts = [base64.b64encode(x).decode() for x in (salt, nonce, sealed)]
    return "$".join([_SEAL_SCHEME, str(n), str(r), str(p), *parts])


def _unseal(sealed: str, password: str, kid: str) -> Ed25519PrivateKey | None:
    try:
        scheme, n, r, p, salt, nonce, body = sealed.split("$")
        if scheme != _SEAL_SCHEME:
            return None
        key = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        raw = AESGCM(key).decrypt(
            base64.b64decode(nonce), base64.b64decode(body), (_SEAL_CONTEXT + kid.encode())
        )
    except (ValueError, InvalidTag, binascii.Error):
        return None
    private = Ed25519PrivateKey.from_private_bytes(raw)
    return private if key_id_of(private.public_key()) == kid else None


def current_key(session: Session, user_id: str) -> SigningKey | None:
    """The user's key for new signatures (the newest one not retired)."""
    return session.scalars(
        select(SigningKey)
        .where(SigningKey.user_id == user_id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    ).first()


def enrol_signing_key(session: Session, *, user: User, password: str, by: str) -> str:
    """Make the user a new approval key sealed with `password`, retiring any current one;
    returns its key id. The new key needs a certificate before a release accepts its
    signatures (`kb keys certify`)."""
    now = utcnow()
    for old in session.scalars(
        select(SigningKey).where(SigningKey.user_id == user.id, SigningKey.retired_at.is_(None))
    ):
        old.retired_at = now
    private = Ed25519PrivateKey.generate()
    kid = key_id_of(private.public_key())
    session.add(
        SigningKey(
            key_id=kid,
            user_id=user.id,
            public_key=base64.b64encode(_raw_public(private.public_key())).decode(),
            sealed_private_key=_seal(private, password, kid),
            created_at=now,
        )
    )
    session.flush()
    record_event(session, actor=by, action="key.enrol", subject=user.name, details={"key_id": kid})
    return kid


def unlock_signing_key(session: Session, *, user_id: str, password: str) -> UnlockedKey:
    """The user's private approval key, unlocked with their password. An account from before
    signed approvals gets its key now (its password checked against its sign-in hash first).

    A wrong password is refused; it is not written to the audit trail, because the caller's
    unit of work already holds the write lock (SQLite) and rolls back on the refusal."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise SignatureError("no active user to sign as")
    row = current_key(session, user.id)
    if row is None:
        if user.password_hash is None:
            raise SignatureError(
                f"{user.name} has no password to seal an approval key with; set one with "
                f"`kb user passwd {user.name}` (a signature needs a password, 21 CFR 11.200)"
            )
        if not check_password(password, user.password_hash):
            raise SignatureError(f"signature refused for {user.name}: wrong password")
        kid = enrol_signing_key(session, user=user, password=password, by=user.name)
        row = session.get(SigningKey, kid)
        assert row is not None
    if row.sealed_private_key is None:
        raise SignatureError(f"{user.name}'s approval key is not held in this KB")
    private = _unseal(row.sealed_private_key, password, row.key_id)
    if private is None:
        raise SignatureError(f"signature refused for {user.name}: wrong password")
    return UnlockedKey(user.id, row.key_id, private)


# --- statements and signatures --------------------------------------------------------------


def signed_time(moment: dt.datetime) -> str:
    """An approval's time as signed: UTC, microseconds (both databases keep them)."""
    utc = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def approval_statement(approval: VersionApproval, *, kb_id: str, user_name: str) -> bytes:
    """The canonical bytes an approval's signature covers."""
    return canonical_json(
        {
            "_type": APPROVAL_TYPE,
            "kb_id": kb_id,
            "kb_version": approval.kb_version,
            "digest": approval.digest,
            "meaning": approval.meaning.value,
            "reason": approval.reason,
            "printed_name": approval.printed_name,
            "user": user_name,
            "user_id": approval.user_id,
            "role": approval.role.value,
            "at": signed_time(approval.at),
            "key_id": approval.key_id,
        }
    )


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding (as kb.release.signing.pae)."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign_approval(
    approval: VersionApproval, key: UnlockedKey, *, kb_id: str, user_name: str
) -> None:
    """Set the approval's key id and signature (a DSSE envelope, as JSON text)."""
    approval.key_id = key.key_id
    payload = approval_statement(approval, kb_id=kb_id, user_name=user_name)
    signature = key.private.sign(pae(APPROVAL_PAYLOAD_TYPE, payload))
    approval.signature = json.dumps(
        {
            "payloadType": APPROVAL_PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": key.key_id, "sig": base64.b64encode(signature).decode()}],
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def signature_envelope(approval: VersionApproval) -> dict[str, Any] | None:
    """The approval's signature as a JSON object (None when unsigned or unreadable)."""
    if not approval.signature:
        return None
    try:
        value = json.loads(approval.signature)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _check_signature(
    approval: VersionApproval, keys: Mapping[str, SigningKey], *, kb_id: str, user_name: str
) -> ApprovalSignature:
    envelope = signature_envelope(approval)
    if envelope is None:
        return (
            ApprovalSignature.UNSIGNED
            if approval.signature is None and approval.key_id is None
            else ApprovalSignature.BAD_SIGNATURE
        )
    row = keys.get(approval.key_id or "")
    if row is None or row.user_id != approval.user_id:
        return ApprovalSignature.UNKNOWN_KEY
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope["signatures"]
        sig = base64.b64decode(signatures[0]["sig"], validate=True)
        if envelope["payloadType"] != APPROVAL_PAYLOAD_TYPE or len(signatures) != 1:
            return ApprovalSignature.BAD_SIGNATURE
        if signatures[0]["keyid"] != row.key_id:
            return ApprovalSignature.UNKNOWN_KEY
        public_key_of(row).verify(sig, pae(APPROVAL_PAYLOAD_TYPE, payload))
    except (KeyError, TypeError, IndexError, ValueError, binascii.Error, InvalidSignature):
        return ApprovalSignature.BAD_SIGNATURE
    if payload != approval_statement(approval, kb_id=kb_id, user_name=user_name):
        return ApprovalSignature.ALTERED
    return ApprovalSignature.SIGNED


def _recorded(session: Session) -> Counter[tuple[str, str, str, str, bool]]:
    # Every approval kb makes writes one version.approve event: (subject, actor, meaning,
    # digest, signed). Counted, so that one event vouches for one approval row, not for its
    # copies; and an event that names a key (written since signed approvals) vouches only for a
    # signed row, so a signature stripped off a row is not taken for an old unsigned approval.
    out: Counter[tuple[str, str, str, str, bool]] = Counter()
    for subject, actor, stored in session.execute(
        select(AuditEvent.subject, AuditEvent.actor, AuditEvent.details).where(
            AuditEvent.action == "version.approve"
        )
    ):
        details = stored or {}
        meaning, digest = str(details.get("meaning")), str(details.get("digest"))
        out[(subject or "", actor, meaning, digest, "key_id" in details)] += 1
    return out


def check_approvals(session: Session, version: int | None = None) -> list[ApprovalCheck]:
    """Every approval (of `version`, or all) with what its signature is worth against the keys
    the KB registers, and whether the audit trail recorded it, oldest first."""
    from kb.storage.meta import get_meta

    kb_id = get_meta(session, "kb_id") or ""
    query = select(VersionApproval).order_by(VersionApproval.kb_version, VersionApproval.id)
    if version is not None:
        query = query.where(VersionApproval.kb_version == version)
    approvals = list(session.scalars(query))
    if not approvals:
        return []
    names = dict(session.execute(select(User.id, User.name)).all())
    keys = {row.key_id: row for row in session.scalars(select(SigningKey))}
    recorded = _recorded(session)
    out = []
    for approval in approvals:
        name = names.get(approval.user_id, "")
        status = _check_signature(approval, keys, kb_id=kb_id, user_name=name)
        seen = (
            f"v{approval.kb_version}",
            name,
            approval.meaning.value,
            approval.digest,
            approval.signature is not None,
        )
        if recorded[seen] > 0:
            recorded[seen] -= 1
        elif status in (ApprovalSignature.SIGNED, ApprovalSignature.UNSIGNED):
            status = ApprovalSignature.NOT_RECORDED
        out.append(
            ApprovalCheck(
                approval.id,
                approval.kb_version,
                name,
                approval.printed_name,
                approval.meaning.value,
                approval.key_id,
                status,
            )
        )
    return out
