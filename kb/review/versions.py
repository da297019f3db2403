"""Versions as reviewers see them: the list with approvals, signing a version off, a record's
history and the diff of two versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError, NotFoundError
from kb.model.enums import ApprovalMeaning
from kb.model.orm import KbVersion, Revision, utcnow
from kb.storage.revisions import version_records

if TYPE_CHECKING:
    from kb.review.diff import RecordDiff
    from kb.review.users import Actor


@dataclass(frozen=True, slots=True)
class VersionRow:
    number: int
    created_at: str
    created_by: str
    note: str
    change_set: str | None
    approvals: tuple[ApprovalRow, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "note": self.note,
            "change_set": self.change_set,
            "approvals": [a.as_json() for a in self.approvals],
        }


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    version: int
    printed_name: str
    role: str
    at: str
    meaning: str
    reason: str
    digest: str
    void: bool
    # What the electronic signature is worth (kb.review.esign.ApprovalSignature's value).
    signature: str = "signed"

    @property
    def signed(self) -> bool:
        return self.signature == "signed"

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "printed_name": self.printed_name,
            "role": self.role,
            "at": self.at,
            "meaning": self.meaning,
            "reason": self.reason,
            "digest": self.digest,
            "void": self.void,
            "signature": self.signature,
        }


def list_versions(session: Session) -> list[VersionRow]:
    """Every KB version with its approvals (void ones marked), oldest first."""
    from kb.model.orm import ChangeSet

    change_sets = dict(session.execute(select(ChangeSet.id, ChangeSet.human_id)).all())
    approvals = list_approvals(session)
    by_version: dict[int, list[ApprovalRow]] = {}
    for approval in approvals:
        by_version.setdefault(approval.version, []).append(approval)
    return [
        VersionRow(
            v.number,
            v.created_at.isoformat(timespec="seconds"),
            v.created_by,
            v.note,
            change_sets.get(v.change_set_id or ""),
            tuple(by_version.get(v.number, ())),
        )
        for v in session.scalars(select(KbVersion).order_by(KbVersion.number))
    ]


def list_approvals(session: Session, version: int | None = None) -> list[ApprovalRow]:
    """Approvals, each checked against the digest of the version's content now (an approval
    whose digest no longer matches is void) and its signature against the approver's
    registered key (`signature`; see kb.review.esign for what that does not prove)."""
    from kb.model.orm import VersionApproval
    from kb.review.esign import check_approvals
    from kb.storage.snapshot import build_snapshot

    signatures = {c.approval_id: c.status.value for c in check_approvals(session, version)}
    query = select(VersionApproval).order_by(VersionApproval.kb_version, VersionApproval.id)
    if version is not None:
        query = query.where(VersionApproval.kb_version == version)
    digests: dict[int, str] = {}
    rows = []
    for approval in session.scalars(query):
        if approval.kb_version not in digests:
            digests[approval.kb_version] = build_snapshot(session, approval.kb_version).digest()
        rows.append(
            ApprovalRow(
                approval.kb_version,
                approval.printed_name,
                approval.role.value,
                approval.at.isoformat(timespec="seconds"),
                approval.meaning.value,
                approval.reason,
                approval.digest,
                void=digests[approval.kb_version] != approval.digest,
                signature=signatures.get(approval.id, ""),
            )
        )
    return rows


def approve_version(
    session: Session,
    *,
    actor: Actor,
    version: int,
    meaning: ApprovalMeaning,
    reason: str,
    password: str,
    printed_name: str | None = None,
) -> ApprovalRow:
    """Sign off a KB version: printed name, UTC time, meaning, reason and the sha256 of the
    canonical snapshot approved, signed with the approver's own key, which `password` (theirs)
    unlocks (kb.review.esign). Reviewers approve or review; release managers release."""
    from kb.model.orm import User, VersionApproval
    from kb.review.audit import record_event
    from kb.review.esign import sign_approval, unlock_signing_key
    from kb.review.integrity import Scope, require_intact
    from kb.review.users import Permission, require
    from kb.storage.snapshot import build_snapshot

    meaning = ApprovalMeaning(meaning)
    require(
        actor, Permission.RELEASE if meaning is ApprovalMeaning.RELEASED else Permission.APPROVE
    )
    if not reason or not reason.strip():
        raise KbError("an approval needs a reason")
    require_intact(session, action=f"signing off version {version}", scope=Scope.SIGN)
    snapshot = build_snapshot(session, version)
    key = unlock_signing_key(session, user_id=actor.user_id, password=password)
    user = session.get(User, actor.user_id)
    name = printed_name or (user.display_name if user and user.display_name else actor.name)
    approval = VersionApproval(
        kb_version=version,
        user_id=actor.user_id,
        printed_name=name,
        role=actor.role,
        at=utcnow(),
        meaning=meaning,
        reason=reason.strip(),
        digest=snapshot.digest(),
    )
    sign_approval(approval, key, kb_id=snapshot.kb_id, user_name=actor.name)
    session.add(approval)
    session.flush()
    record_event(
        session,
        actor=actor.name,
        action="version.approve",
        subject=f"v{version}",
        details={
            "meaning": meaning.value,
            "reason": approval.reason,
            "digest": approval.digest,
            "key_id": key.key_id,
        },
    )
    return ApprovalRow(
        version,
        name,
        actor.role.value,
        approval.at.isoformat(timespec="seconds"),
        meaning.value,
        approval.reason,
        approval.digest,
        False,
        "signed",
    )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    version: int
    at: str
    by: str
    change_set: str | None
    op: str
    changes: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": self.at,
            "by": self.by,
            "change_set": self.change_set,
            "op": self.op,
            "changes": self.changes,
        }


def record_history(session: Session, human_id: str) -> list[HistoryEntry]:
    """Every version of one record: who, when, which change set, field by field before → after."""
    from kb.model.orm import ChangeSet

    rows = session.execute(
        select(Revision, KbVersion)
        .join(KbVersion, KbVersion.number == Revision.kb_version)
        .where(Revision.human_id == human_id.upper())
        .order_by(Revision.kb_version)
    ).all()
    if not rows:
        raise NotFoundError(f"no history for {human_id}")
    change_sets = dict(session.execute(select(ChangeSet.id, ChangeSet.human_id)).all())
    out: list[HistoryEntry] = []
    previous: dict[str, Any] | None = None
    for revision, version in rows:
        data = {} if revision.deleted else dict(revision.data)
        if revision.deleted:
            op, changes = (
                "delete",
                {k: {"old": v, "new": None} for k, v in (previous or {}).items()},
            )
        elif previous is None:
            op, changes = "create", {k: {"old": None, "new": v} for k, v in data.items()}
        else:
            op = "update"
            changes = {
                k: {"old": previous.get(k), "new": data.get(k)}
                for k in sorted(set(previous) | set(data))
                if previous.get(k) != data.get(k)
            }
        out.append(
            HistoryEntry(
                revision.kb_version,
                version.created_at.isoformat(timespec="seconds"),
                version.created_by,
                change_sets.get(revision.change_set_id or ""),
                op,
                changes,
            )
        )
        previous = None if revision.deleted else data
    return out


def diff_versions(session: Session, old: int, new: int) -> RecordDiff:
    """Records added, changed field by field, and removed between two KB versions."""
    from kb.review.diff import diff_records

    before, after = version_records(session, old, new)
    return diff_records(before, after)
