"""Cutting a release from the KB: the use case around kb.release.folder (DESIGN §3, §5).

Only a release manager may cut one, only from a KB version that validates cleanly and carries
at least one valid approval: not void, signed by its approver (kb.review.esign) with a key the
trust root pins (kb.release.signers). A version with an approval whose signature does not
verify, whose key is not pinned, or that the audit trail never recorded is refused outright:
that is evidence of tampering. Unsigned approvals (made before signed approvals, migration
0011) are reported and never count, nor are they carried into the release. The release
manager's own signature is recorded as a "released" approval, by the same rules, and the
release states the audit chain head it was cut at (kb.release.anchors).

The KB keeps a register of its releases, so the sequence number and the previous release's
digest — the chain a consumer checks — come from the database, not from
whoever remembers which folder was last.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.enums import ApprovalMeaning, RecordType
from kb.model.orm import KbVersion, Release, SigningKey, VersionApproval, utcnow
from kb.model.records import RecordRow
from kb.release.anchors import chain_head
from kb.release.folder import (
    build_release,
    discard_release,
    finalise_release,
    recover_release,
    release_dir_name,
)
from kb.release.signers import (
    PinnedCheck,
    approval_evidence,
    check_pinned_approvals,
    pinning_problem,
)
from kb.release.signing import TrustRoot, VerificationError, parse_trust_root
from kb.review.audit import record_event
from kb.review.esign import ApprovalSignature, check_approvals, signed_time, unlock_signing_key
from kb.review.users import Actor, Permission, require
from kb.review.versions import approve_version
from kb.storage.revisions import current_version
from kb.storage.snapshot import build_snapshot
from kb.validation.checks import Vocabularies, validate_rows

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True, slots=True)
class CreatedRelease:
    path: Path
    version: str
    sequence: int
    kb_version: int
    release_digest: str
    summary: dict[str, int]


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    version: str
    sequence: int
    kb_version: int
    release_digest: str
    created_at: str
    created_by: str
    location: str

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sequence": self.sequence,
            "kb_version": self.kb_version,
            "release_digest": self.release_digest,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "location": self.location,
        }


def list_releases(session: Session) -> list[ReleaseRow]:
    return [
        ReleaseRow(
            r.version,
            r.sequence,
            r.kb_version,
            r.release_digest,
            r.created_at.isoformat(timespec="seconds"),
            r.created_by,
            r.location,
        )
        for r in session.scalars(select(Release).order_by(Release.sequence))
    ]


def release_problems(
    session: Session, kb_version: int, root: Mapping[str, Any] | TrustRoot | None = None
) -> list[str]:
    """Why `kb_version` cannot be released (empty when it can). Without `root` the approvers'
    keys are checked against the keys the KB registers only; `create_release` gives it."""
    problems: list[str] = []
    snapshot = build_snapshot(session, kb_version)
    rows = [
        RecordRow(
            RecordType(rtype), entry["uuid"], entry["id"], kb_version, entry["id"], entry["fields"]
        )
        for rtype, entries in snapshot.records.items()
        for entry in entries
    ]
    errors = [
        p for p in validate_rows(rows, Vocabularies.from_session(session)) if p.severity == "error"
    ]
    if errors:
        problems.append(
            f"version {kb_version} has {len(errors)} validation error(s), e.g. {errors[0]}"
        )
    void = _void_ids(session, kb_version, snapshot.digest())
    checks = (
        check_pinned_approvals(session, root, kb_version)
        if root is not None
        else [PinnedCheck(c, c.ok, None) for c in check_approvals(session, kb_version)]
    )
    for check in checks:
        if check.approval.forged or (check.approval.ok and not check.pinned):
            problems.append(f"{check.text()}; a version is not released on such a signature")
    valid = [
        c
        for c in checks
        if c.ok
        and c.approval.approval_id not in void
        and c.approval.meaning in (ApprovalMeaning.APPROVED.value, ApprovalMeaning.REVIEWED.value)
    ]
    if not valid:
        unsigned = sum(c.approval.status is ApprovalSignature.UNSIGNED for c in checks)
        note = (
            f" ({unsigned} unsigned approval(s), made before signed approvals, do not count)"
            if unsigned
            else ""
        )
        problems.append(
            f"version {kb_version} has no valid approval{note}; a reviewer signs it off with "
            f"`kb versions approve {kb_version} --meaning approved --reason …`"
        )
    return problems


def _void_ids(session: Session, kb_version: int, digest: str) -> set[int]:
    # An approval is void when the version's content no longer has the digest it approved.
    return {
        approval_id
        for approval_id, approved in session.execute(
            select(VersionApproval.id, VersionApproval.digest).where(
                VersionApproval.kb_version == kb_version
            )
        )
        if approved != digest
    }


def recover_releases(session: Session) -> list[str]:
    """Move into place the folders of committed releases that a crash left in staging; the
    versions recovered."""
    recovered = []
    for release in session.scalars(select(Release).order_by(Release.sequence)):
        if release.location and recover_release(Path(release.location)):
            recovered.append(release.version)
    return recovered


def create_release(
    session: Session,
    *,
    actor: Actor,
    version: str,
    root_envelope: Mapping[str, Any],
    signing_keys: Sequence[Ed25519PrivateKey],
    out_dir: Path,
    password: str,
    kb_version: int | None = None,
    reason: str = "Release signed",
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], None] | None = None,
) -> CreatedRelease:
    """Validate, sign and write release `version` of `kb_version` (default: the newest) into
    a new folder under `out_dir`, and register it; one transaction with the caller's.

    `password` is the release manager's own: it unlocks their approval key for the "released"
    signature, which, like every approval counted, must be pinned by `root_envelope`."""
    require(actor, Permission.RELEASE)
    recover_releases(session)
    if not _VERSION.match(version):
        raise KbError(f"release version {version!r} is not like 2026.11.0 (three numbers)")
    if session.scalar(select(Release.id).where(Release.version == version)):
        raise KbError(f"release {version} already exists; releases are never rebuilt in place")
    number = current_version(session) if kb_version is None else kb_version
    try:
        root = parse_trust_root(root_envelope, check_expiry=False)
    except VerificationError as exc:
        raise KbError(exc.message) from None
    problems = release_problems(session, number, root)
    if problems:
        raise KbError(f"version {number} cannot be released: " + "; ".join(problems))
    key = unlock_signing_key(session, user_id=actor.user_id, password=password)
    problem = pinning_problem(session, session.get(SigningKey, key.key_id), root)
    if problem:
        raise KbError(f"your release signature would not count: {problem}")
    approve_version(
        session,
        actor=actor,
        version=number,
        meaning=ApprovalMeaning.RELEASED,
        reason=reason,
        password=password,
    )
    # Only approvals whose signature verifies with a pinned key travel with the release, each
    # with its signature and certificate, so a consumer can check them with the root alone.
    counted = [
        c.approval.approval_id for c in check_pinned_approvals(session, root, number) if c.ok
    ]
    evidence = approval_evidence(session, counted)
    snapshot = build_snapshot(session, number)
    void = _void_ids(session, number, snapshot.digest())
    rows = session.scalars(
        select(VersionApproval).where(VersionApproval.id.in_(counted)).order_by(VersionApproval.id)
    )
    approvals = [
        {
            "version": row.kb_version,
            "printed_name": row.printed_name,
            "role": row.role.value,
            "at": signed_time(row.at),
            "meaning": row.meaning.value,
            "reason": row.reason,
            "digest": row.digest,
            **evidence[row.id],
        }
        for row in rows
        if row.id not in void
    ]
    head = chain_head(session)
    previous = session.scalars(select(Release).order_by(Release.sequence.desc()).limit(1)).first()
    sequence = (session.scalar(select(func.max(Release.sequence))) or 0) + 1
    previous_snapshot = build_snapshot(session, previous.kb_version).as_json() if previous else None
    version_row = session.get(KbVersion, number)
    content_time = version_row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if version_row else None
    target = Path(out_dir) / release_dir_name(snapshot.kb_id, sequence, version)
    result = build_release(
        snapshot,
        release_version=version,
        release_sequence=sequence,
        previous_release_digest=previous.release_digest if previous else None,
        previous_snapshot=previous_snapshot,
        approvals=approvals,
        audit_head=head.as_json(),
        created=utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        content_time=content_time,
        trust_root_envelope=root_envelope,
        signing_keys=signing_keys,
        out_dir=target,
        progress=progress,
        cancel=cancel,
        final=False,
    )
    # The folder becomes a release only once the KB has committed its record (sequence and
    # digest): a crash before leaves no valid release the KB does not know, only a hidden
    # staging folder; a crash after is recovered by `recover_releases` on the next run.
    event.listen(session, "after_commit", lambda _s: finalise_release(result), once=True)
    event.listen(session, "after_rollback", lambda _s: discard_release(result), once=True)
    session.add(
        Release(
            version=version,
            sequence=sequence,
            kb_version=number,
            release_digest=result.release_digest,
            snapshot_digest=snapshot.digest(),
            created_by=actor.name,
            location=str(target),
        )
    )
    record_event(
        session,
        actor=actor.name,
        action="release.create",
        subject=version,
        details={
            "sequence": sequence,
            "kb_version": number,
            "release_digest": result.release_digest,
            "summary": result.summary,
            "audit_head": head.as_json(),
        },
    )
    return CreatedRelease(
        target, version, sequence, number, result.release_digest, dict(result.summary)
    )
