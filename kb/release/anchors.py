"""Anchoring the audit chain outside the database it protects (DESIGN §3).

The hash chain (kb.review.audit) shows a changed, removed or reordered event — unless whoever
changed it also recomputed every hash after it and the head, which anyone who can write the
database can. So the head is written down where that person cannot reach:

- every release states the chain head it was cut at (`audit_head`: seq and hash, in the signed
  statement's predicate), and
- `write_checkpoint` (`kb audit checkpoint`) writes a signed checkpoint file: a DSSE envelope,
  payloadType ``application/vnd.kb-curator.audit-checkpoint+json``, over
  ``{"_type": "kb-curator-audit-checkpoint", "kb_id", "seq", "hash", "created"}``, signed by
  a threshold of the trust root's keys, to be kept away from the database (another host, a
  ticket, a printout).

`verify_against` then checks that the database's chain still holds each anchored head at its
sequence number: events 1..seq are exactly those that existed when the anchor was made, since
each event's hash covers all before it. Events after the newest anchor are protected only by
the in-database chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.orm import AuditEvent, AuditHead, utcnow
from kb.release.signing import (
    SigningError,
    TrustRoot,
    VerificationError,
    dumps_pretty,
    parse_trust_root,
    read_json_file,
    sign_envelope,
    verify_envelope,
)
from kb.review.audit import verify_chain
from kb.storage.meta import get_meta
from kb.storage.snapshot import canonical_json

CHECKPOINT_PAYLOAD_TYPE = "application/vnd.kb-curator.audit-checkpoint+json"
CHECKPOINT_TYPE = "kb-curator-audit-checkpoint"


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    source: str
    kind: str  # "checkpoint" | "release"
    head: ChainHead | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def text(self) -> str:
        at = f" (event {self.head.seq})" if self.head else ""
        if self.ok:
            return f"{self.kind} {self.source}{at}: the KB's chain holds this head"
        return f"{self.kind} {self.source}{at}: {self.problem}"

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "head": self.head.as_json() if self.head else None,
            "ok": self.ok,
            "problem": self.problem,
        }


def chain_head(session: Session) -> ChainHead:
    """The audit chain's current head (in the caller's transaction)."""
    seq, digest = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    return ChainHead(seq, digest)


def _root(root: Mapping[str, Any] | TrustRoot) -> TrustRoot:
    if isinstance(root, TrustRoot):
        return root
    try:
        return parse_trust_root(root, check_expiry=False)
    except VerificationError as exc:
        raise SigningError(exc.message) from None


def write_checkpoint(
    session: Session,
    *,
    root_envelope: Mapping[str, Any] | TrustRoot,
    signing_keys: Sequence[Ed25519PrivateKey],
    out: Path,
) -> ChainHead:
    """Sign the current chain head into a new checkpoint file `out`; refused while the chain in
    the database does not verify (a checkpoint of a broken chain would vouch for it)."""
    report = verify_chain(session)
    if not report.ok:
        raise KbError(f"no checkpoint of a broken chain: {report.text()}")
    root = _root(root_envelope)
    head = chain_head(session)
    payload = canonical_json(
        {
            "_type": CHECKPOINT_TYPE,
            "kb_id": get_meta(session, "kb_id") or "",
            "seq": head.seq,
            "hash": head.hash,
            "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    envelope = sign_envelope(CHECKPOINT_PAYLOAD_TYPE, payload, signing_keys)
    try:
        verify_envelope(
            envelope,
            payload_type=CHECKPOINT_PAYLOAD_TYPE,
            keys=root.keys,
            threshold=root.threshold,
            what="the checkpoint",
        )
    except VerificationError as exc:
        raise SigningError(exc.message) from None
    out = Path(out)
    if out.exists():
        raise SigningError(f"{out} already exists; a checkpoint is never overwritten")
    out.write_bytes(dumps_pretty(envelope))
    return head


def check_head(session: Session, head: ChainHead) -> str | None:
    """Why the database's chain does not hold `head` at its sequence number (None if it does)."""
    current = chain_head(session)
    if head.seq > current.seq:
        return (
            f"the KB's audit chain ends at event {current.seq}, before event {head.seq} that "
            "this anchor saw: events were removed"
        )
    if head.seq == 0:
        return None
    stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == head.seq))
    if stored is None:
        return f"event {head.seq} is missing from the KB: history was rewritten"
    if stored != head.hash:
        return (
            f"history was rewritten: event {head.seq} now has hash {stored[:16]}…, the anchor "
            f"says {head.hash[:16]}…"
        )
    return None


def _read_checkpoint(path: Path, root: TrustRoot) -> dict[str, Any]:
    envelope = read_json_file(path, "checkpoint")
    payload, _ = verify_envelope(
        envelope,
        payload_type=CHECKPOINT_PAYLOAD_TYPE,
        keys=root.keys,
        threshold=root.threshold,
        what=f"checkpoint {path.name}",
    )
    document = json.loads(payload)
    if not isinstance(document, dict) or document.get("_type") != CHECKPOINT_TYPE:
        raise KbError(f"{path} is not an audit checkpoint")
    return document


def _head_of(document: Mapping[str, Any]) -> ChainHead | None:
    head = document.get("audit_head") if "audit_head" in document else document
    if not isinstance(head, Mapping):
        return None
    seq, digest = head.get("seq"), head.get("hash")
    if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(digest, str):
        return None
    return ChainHead(seq, digest)


def verify_against(
    session: Session, sources: Sequence[Path], *, root_envelope: Mapping[str, Any] | TrustRoot
) -> list[AnchorCheck]:
    """Check the database's chain against each checkpoint file or release folder in
    `sources`, each first verified under the trust root (a forged anchor is a failure too)."""
    from kb.release.folder import verify_release

    root = _root(root_envelope)
    kb_id = get_meta(session, "kb_id") or ""
    out = []
    for source in sources:
        path = Path(source)
        kind = "release" if path.is_dir() else "checkpoint"
        try:
            if kind == "release":
                document: Mapping[str, Any] = verify_release(path, trusted_root=root).predicate
            else:
                document = _read_checkpoint(path, root)
        except (KbError, ValueError) as exc:
            out.append(AnchorCheck(str(path), kind, None, f"not verified: {exc}"))
            continue
        if document.get("kb_id") != kb_id:
            out.append(AnchorCheck(str(path), kind, None, "it is of another KB"))
            continue
        head = _head_of(document)
        if head is None:
            problem = (
                "the release states no audit chain head (cut before anchoring)"
                if kind == "release"
                else "the checkpoint names no chain head"
            )
            out.append(AnchorCheck(str(path), kind, None, problem))
            continue
        out.append(AnchorCheck(str(path), kind, head, check_head(session, head)))
    return out
