"""Checking a release's approvals offline, with the trust root alone.

A release's predicate lists the approvals it was cut on. Each signed approval travels with its
DSSE signature and the certificate of the approver's key (kb.release.signers), so whoever
verifies the release can check, without the KB's database:

- the certificate verifies under the trust root the release verified under (a threshold of its
  keys pinned this key for this KB and this user);
- the approval's signature verifies with the certified key, over a statement of this KB;
- what the predicate says of the approval (version, digest, meaning, role, name, time, reason)
  is what was signed, and the digest signed is that of this release's kb.json.

A holder of the release-signing keys alone can therefore not add an approval nobody made: the
signature needs the approver's private key, sealed with the approver's password. An approval
with no signature (made before signed approvals, or a release built outside a KB, as the
benchmarks do) is reported as unsigned and never counts; one with a signature that fails any
check fails the whole release (`Reason.BAD_APPROVAL`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kb.release.signers import SIGNER_PAYLOAD_TYPE, SIGNER_TYPE
from kb.release.signing import (
    Reason,
    TrustRoot,
    VerificationError,
    key_id,
    verify_envelope,
)
from kb.review.esign import APPROVAL_PAYLOAD_TYPE, APPROVAL_TYPE

# Fields of a predicate approval and the name the signed statement gives each.
_SIGNED_AS = {
    "version": "kb_version",
    "digest": "digest",
    "meaning": "meaning",
    "role": "role",
    "printed_name": "printed_name",
    "at": "at",
    "reason": "reason",
    "key_id": "key_id",
}


@dataclass(frozen=True, slots=True)
class CheckedApproval:
    """One approval of a release as its signature shows it (`signed` False: it carries none)."""

    printed_name: str
    role: str
    meaning: str
    at: str
    signed: bool
    user: str | None = None
    key_id: str | None = None

    def text(self) -> str:
        how = f"signed, key {self.key_id[:16]}…" if self.signed and self.key_id else "unsigned"
        return f"{self.printed_name} ({self.role}) {self.meaning} at {self.at}: {how}"


def check_release_approvals(
    predicate: Mapping[str, Any], *, kb_json_sha256: str, root: TrustRoot
) -> list[CheckedApproval]:
    """Each approval of the predicate, checked; raises VerificationError (BAD_APPROVAL) naming
    the approval and the failed check when a signed one does not hold."""
    approvals = predicate.get("approvals")
    if not isinstance(approvals, list):
        raise _bad(0, "the statement's approvals are not a list")
    kb_id = predicate.get("kb_id")
    out = []
    for number, approval in enumerate(approvals, 1):
        if not isinstance(approval, dict):
            raise _bad(number, "is not a JSON object")
        plain = {
            "printed_name": str(approval.get("printed_name") or approval.get("name") or "?"),
            "role": str(approval.get("role") or "?"),
            "meaning": str(approval.get("meaning") or "?"),
            "at": str(approval.get("at") or approval.get("time") or "?"),
        }
        if approval.get("signature") is None and approval.get("certificate") is None:
            out.append(CheckedApproval(**plain, signed=False))
            continue
        user, kid = _check_signed(number, approval, kb_id, kb_json_sha256, root)
        out.append(CheckedApproval(**plain, signed=True, user=user, key_id=kid))
    return out


def _bad(number: int, message: str) -> VerificationError:
    where = f"approval {number}" if number else "approvals"
    return VerificationError(Reason.BAD_APPROVAL, f"{where} {message}")


def _signed_statement(
    number: int,
    envelope: object,
    what: str,
    *,
    payload_type: str,
    statement_type: str,
    keys: Mapping[str, Ed25519PublicKey],
    threshold: int,
) -> dict[str, Any]:
    """The JSON statement `envelope` signs, once its signatures verify with `keys` and it says
    it is a `statement_type`; else BAD_APPROVAL naming approval `number` and its `what`."""
    try:
        payload, _ = verify_envelope(
            envelope,
            payload_type=payload_type,
            keys=keys,
            threshold=threshold,
            what=f"approval {number}'s {what}",
        )
        statement = json.loads(payload)
    except VerificationError as exc:
        raise _bad(number, f"has a {what} that does not verify: {exc.message}") from None
    except ValueError:
        raise _bad(number, f"has a {what} whose statement is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != statement_type:
        raise _bad(number, f"has a {what} over something other than a {statement_type} statement")
    return statement


def _check_signed(
    number: int,
    approval: Mapping[str, Any],
    kb_id: Any,
    kb_json_sha256: str,
    root: TrustRoot,
) -> tuple[str, str]:
    # The certificate: a threshold of the root's keys pinned this key for this KB and user.
    certificate = _signed_statement(
        number,
        approval.get("certificate"),
        "key certificate",
        payload_type=SIGNER_PAYLOAD_TYPE,
        statement_type=SIGNER_TYPE,
        keys=root.keys,
        threshold=root.threshold,
    )
    if certificate.get("kb_id") != kb_id:
        raise _bad(number, f"has a key certificate for another KB ({certificate.get('kb_id')!r})")
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(certificate["public"]))
    except (KeyError, TypeError, ValueError):
        raise _bad(number, "has a key certificate without a readable public key") from None
    kid = key_id(public)
    if certificate.get("key_id") != kid or approval.get("key_id") != kid:
        raise _bad(number, "names a key other than the one its certificate pins")
    # The signature: the certified key signed a statement of this approval, for this KB.
    statement = _signed_statement(
        number,
        approval.get("signature"),
        "signature",
        payload_type=APPROVAL_PAYLOAD_TYPE,
        statement_type=APPROVAL_TYPE,
        keys={kid: public},
        threshold=1,
    )
    if statement.get("kb_id") != kb_id:
        raise _bad(number, "was signed for another KB")
    if (statement.get("user"), statement.get("user_id")) != (
        certificate.get("user"),
        certificate.get("user_id"),
    ):
        raise _bad(number, "was signed by a key certified for another user")
    for field, signed in _SIGNED_AS.items():
        if approval.get(field) != statement.get(signed):
            raise _bad(
                number,
                f"says {field} {approval.get(field)!r}, but its signature says "
                f"{statement.get(signed)!r}",
            )
    if statement.get("digest") != kb_json_sha256:
        raise _bad(
            number,
            f"approved content with digest {statement.get('digest')}, not this release's "
            f"kb.json ({kb_json_sha256})",
        )
    return str(certificate.get("user")), kid
