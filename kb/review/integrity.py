"""Fail closed: the KB refuses to change while its history or its tables cannot be trusted.

Two checks decide it. The audit chain (kb.review.audit.verify_chain) finds an event changed,
deleted or reordered; drift (kb.storage.drift) finds typed tables written outside a merge. While
either fails, every operation that changes the KB or vouches for it — editing a draft,
submitting, merging, signing a version off, cutting a release, loading a vocabulary — is refused
with the reason, and stays refused until an admin repairs the KB (docs/security.md, "Repair").

What each operation checks is sized to what it puts at stake:
- drafts and submissions: the audit chain (resumed from the tip this process last verified, so a
  session of many edits walks the chain once);
- a merge: the chain, and drift in every record the change set touches (a merge must not build
  on a tampered row, nor leave it disagreeing for good);
- signing a version off, cutting a release, loading a vocabulary: the chain walked in full and
  every typed record compared (on 100,000 records about as long as building the release).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.records import type_of_human_id
from kb.review.audit import ChainReport, record_event, verify_chain
from kb.review.users import Actor, Permission, require
from kb.storage.drift import DriftReport, check_drift
from kb.storage.meta import get_meta
from kb.storage.snapshot import latest_rows

REPAIR_HINT = "an admin must investigate and repair the KB first (docs/security.md, Repair)"


class Scope(StrEnum):
    """How much an operation checks before it may proceed."""

    EDIT = "edit"  # the audit chain, resumed
    MERGE = "merge"  # the chain, and drift in the records touched
    SIGN = "sign"  # the whole chain and every record


class IntegrityFailure(KbError):
    """The KB failed an integrity check, so the operation was refused."""

    def __init__(self, action: str, report: IntegrityReport) -> None:
        self.report = report
        super().__init__(f"{action} refused: {report.problem()}; {REPAIR_HINT}")


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    chain: ChainReport
    drift: DriftReport | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and (self.drift is None or self.drift.ok)

    def problem(self) -> str:
        """One line naming the first failure."""
        if not self.chain.ok:
            return self.chain.text()
        if self.drift is not None and not self.drift.ok:
            first = self.drift.drifts[0]
            more = len(self.drift.drifts) - 1
            tail = f" (and {more} more)" if more else ""
            return f"the typed tables were changed outside a merge: {first}{tail}"
        return "intact"

    def text(self) -> str:
        lines = [self.chain.text()]
        if self.drift is not None:
            lines.append(self.drift.text())
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chain": {
                "ok": self.chain.ok,
                "events": self.chain.events,
                "first_bad_seq": self.chain.first_bad_seq,
                "problem": self.chain.problem,
            },
            "drift": self.drift.as_json() if self.drift is not None else None,
        }


# The chain tip each KB was last verified at in this process, keyed by KB id and database:
# resuming from it keeps a long editing session from walking the whole chain at every edit.
_verified: dict[tuple[str, str], tuple[int, str]] = {}
_lock = threading.Lock()


def _cache_key(session: Session) -> tuple[str, str]:
    bind = session.get_bind()
    return (get_meta(session, "kb_id") or "", str(bind.engine.url))


def check_chain(session: Session, *, resume: bool = False) -> ChainReport:
    """The audit chain, walked in full or resumed from this process's last verified tip."""
    key = _cache_key(session)
    with _lock:
        since = _verified.get(key) if resume else None
    report = verify_chain(session, since=since)
    if not report.ok and since is not None:
        # A resumed walk that fails may be looking at a rewritten past: walk it all to name
        # the first bad event.
        report = verify_chain(session)
    with _lock:
        if report.ok:
            _verified[key] = report.head
        else:
            _verified.pop(key, None)
    return report


def check_integrity(
    session: Session, *, deep: bool = True, record_ids: Collection[str] | None = None
) -> IntegrityReport:
    """The audit chain in full, and drift in every record (`deep`) or in `record_ids`."""
    chain = check_chain(session)
    drift = None
    if deep or record_ids is not None:
        drift = check_drift(session, record_ids=None if deep else record_ids)
    return IntegrityReport(chain, drift)


def require_intact(
    session: Session,
    *,
    action: str,
    scope: Scope,
    record_ids: Collection[str] | None = None,
) -> None:
    """Refuse `action` (raise IntegrityFailure) unless the checks its scope calls for pass."""
    if scope is Scope.EDIT:
        report = IntegrityReport(check_chain(session, resume=True))
    elif scope is Scope.MERGE:
        chain = check_chain(session, resume=True)
        drift = check_drift(session, record_ids=record_ids or ()) if chain.ok else None
        report = IntegrityReport(chain, drift)
    else:
        chain = check_chain(session)
        report = IntegrityReport(chain, check_drift(session) if chain.ok else None)
    if not report.ok:
        raise IntegrityFailure(action, report)


@dataclass(frozen=True, slots=True)
class RepairResult:
    restored: tuple[str, ...]  # records rewritten from their revision
    removed: tuple[str, ...]  # typed rows that no version holds
    recreated: tuple[str, ...]  # records a version holds that were missing

    def text(self) -> str:
        if not (self.restored or self.removed or self.recreated):
            return "nothing to repair: the typed tables match the current version"
        parts = [
            f"{label} {len(ids)}: {', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}"
            for label, ids in (
                ("restored", self.restored),
                ("removed", self.removed),
                ("recreated", self.recreated),
            )
            if ids
        ]
        return "typed tables rebuilt from the current version — " + "; ".join(parts)


def repair_drift(session: Session, *, actor: Actor, reason: str) -> RepairResult:
    """Rewrite the typed tables from the current version's revisions (an admin's repair).

    The revisions are the authority: they are what approvals signed and releases carry, and
    the audit chain records how each came to be. The repair refuses to run over a broken audit
    chain (then the revisions themselves are in doubt: restore a backup that verifies against
    your checkpoints instead), and writes one audited event listing every record it touched,
    with the values it replaced.
    """
    from kb.model.enums import RecordType
    from kb.model.records import Writer, get_object

    require(actor, Permission.ADMIN)
    if not reason.strip():
        raise KbError("a repair needs a reason")
    chain = check_chain(session)
    if not chain.ok:
        raise IntegrityFailure("repairing the tables", IntegrityReport(chain)) from None
    report = check_drift(session)
    versioned = {
        human_id: (rtype, record_id, number, data)
        for rtype, human_id, record_id, number, data in latest_rows(session, report.version)
    }
    restored, removed, recreated = [], [], []
    for human_id in sorted({d.human_id for d in report.drifts}):
        entry = versioned.get(human_id)
        rtype = RecordType(entry[0]) if entry else type_of_human_id(human_id)
        if entry is None:
            _, obj = get_object(session, human_id)
            Writer(session, kb_version=obj.kb_version).delete(rtype, obj)
            removed.append(human_id)
            continue
        _, record_id, number, data = entry
        writer = Writer(session, kb_version=number)
        try:
            _, obj = get_object(session, human_id)
        except KbError:
            writer.create(rtype, data, uuid=record_id, human_id=human_id)
            recreated.append(human_id)
        else:
            writer.update(rtype, obj, data)
            restored.append(human_id)
    if report.drifts:
        record_event(
            session,
            actor=actor.name,
            action="kb.repair",
            subject=f"v{report.version}",
            details={
                "reason": reason.strip(),
                "drift": [d.as_json() for d in report.drifts],
            },
        )
    session.flush()
    return RepairResult(tuple(restored), tuple(removed), tuple(recreated))
