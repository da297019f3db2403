"""Evidence alerts: stored, with a status and an audited resolution.

`refresh_alerts` runs the analysis and brings the stored alerts up to date: a new finding is
raised as an open alert; a known one gets the newest numbers (a resolved or dismissed alert
keeps its status: the curator's decision stands until someone reopens it); an open alert whose
finding is gone is closed as resolved, "no longer diverges". `resolve_alert` records a curator's
decision with its reason. Every change is an audit event naming the alert, never a patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError, NotFoundError
from kb.model.enums import AlertKind, AlertStatus
from kb.model.orm import OutcomeAlert, utcnow
from kb.outcomes.analysis import Report, analyse
from kb.review.audit import record_event
from kb.review.users import Actor, Permission, require


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    kind: AlertKind
    subject: str
    status: AlertStatus
    numbers: Mapping[str, Any]
    raised_at: str
    updated_at: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "subject": self.subject,
            "status": self.status.value,
            "numbers": dict(self.numbers),
            "raised_at": self.raised_at,
            "updated_at": self.updated_at,
            "resolution": self.resolution,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at,
        }

    def line(self) -> str:
        n = self.numbers
        if self.kind is AlertKind.OFF_LABEL_USE:
            what = f"{n.get('patients')} patients, no assertion (k = {n.get('k')})"
        elif self.kind is AlertKind.RESPONSE_BELOW_EXPECTATION:
            what = (
                f"response {n.get('responders')}/{n.get('evaluable')} = "
                f"{n.get('response_rate')} (95% {n.get('wilson_95')}) below "
                f"{n.get('expected_min_response_rate')}; p = {n.get('p_value'):.3g} < "
                f"{n.get('threshold'):.3g}"
            )
        else:
            what = (
                f"progression {n.get('progressions')}/{n.get('evaluable')} = "
                f"{n.get('progression_rate')} above {n.get('expected_max_progression_rate')}; "
                f"p = {n.get('p_value'):.3g} < {n.get('threshold'):.3g}"
            )
        return f"{self.id}  {self.status.value:<9} {self.kind.value:<27} {self.subject}: {what}"


def _row(alert: OutcomeAlert) -> AlertRow:
    def when(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    return AlertRow(
        id=alert.id,
        kind=AlertKind(alert.kind),
        subject=alert.subject,
        status=AlertStatus(alert.status),
        numbers=dict(alert.numbers or {}),
        raised_at=when(alert.raised_at) or "",
        updated_at=when(alert.updated_at) or "",
        resolution=alert.resolution,
        resolved_by=alert.resolved_by,
        resolved_at=when(alert.resolved_at),
    )


def list_alerts(session: Session, *, status: AlertStatus | None = None) -> list[AlertRow]:
    """Stored alerts, open first, then by kind and subject."""
    query = select(OutcomeAlert)
    if status is not None:
        query = query.where(OutcomeAlert.status == status)
    rows = [_row(alert) for alert in session.scalars(query)]
    order = {AlertStatus.OPEN: 0, AlertStatus.RESOLVED: 1, AlertStatus.DISMISSED: 2}
    return sorted(rows, key=lambda r: (order[r.status], r.kind.value, r.subject))


@dataclass(frozen=True, slots=True)
class AlertRefresh:
    raised: int
    updated: int
    closed: int
    report: Report


def refresh_alerts(session: Session, *, actor: Actor, report: Report | None = None) -> AlertRefresh:
    """Bring the stored alerts up to date with the analysis (curators and reviewers)."""
    require(actor, Permission.EDIT)
    report = report or analyse(session)
    stored = {(AlertKind(a.kind), a.subject): a for a in session.scalars(select(OutcomeAlert))}
    raised = updated = closed = 0
    now = utcnow()
    found = set()
    for finding in report.findings:
        found.add((finding.kind, finding.subject))
        alert = stored.get((finding.kind, finding.subject))
        numbers = _plain(finding.numbers)
        if alert is None:
            session.add(
                OutcomeAlert(
                    kind=finding.kind,
                    subject=finding.subject,
                    status=AlertStatus.OPEN,
                    numbers=numbers,
                    raised_at=now,
                    updated_at=now,
                )
            )
            raised += 1
        elif alert.numbers != numbers:
            alert.numbers, alert.updated_at = numbers, now
            updated += 1
    for where, alert in stored.items():
        if where not in found and alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.RESOLVED
            alert.resolution = "no longer diverges (closed by the analysis)"
            alert.resolved_by, alert.resolved_at, alert.updated_at = actor.name, now, now
            closed += 1
    session.flush()
    if raised or updated or closed:
        record_event(
            session,
            actor=actor.name,
            action="outcomes.alerts_refresh",
            details={"raised": raised, "updated": updated, "closed": closed, "k": report.k},
        )
    return AlertRefresh(raised, updated, closed, report)


def resolve_alert(
    session: Session, *, actor: Actor, alert_id: str, status: AlertStatus, reason: str
) -> AlertRow:
    """Record a decision on an alert: resolved (acted on, e.g. a change set named in the
    reason), dismissed (no change warranted), or open again. A reason is required; curators
    and reviewers decide; the decision is audited."""
    require(actor, Permission.EDIT)
    reason = " ".join(reason.split())
    if not reason:
        raise KbError("a decision on an alert needs a reason")
    matches = list(
        session.scalars(select(OutcomeAlert).where(OutcomeAlert.id.startswith(alert_id)))
    )
    if len(matches) != 1:
        raise NotFoundError(
            f"no alert {alert_id}" if not matches else f"{alert_id} names several alerts"
        )
    alert = matches[0]
    before = AlertStatus(alert.status)
    now = utcnow()
    alert.status = status
    alert.updated_at = now
    if status is AlertStatus.OPEN:
        alert.resolution = alert.resolved_by = alert.resolved_at = None
    else:
        alert.resolution, alert.resolved_by, alert.resolved_at = reason, actor.name, now
    session.flush()
    record_event(
        session,
        actor=actor.name,
        action="outcomes.alert_decision",
        subject=alert.id,
        details={
            "kind": AlertKind(alert.kind).value,
            "subject": alert.subject,
            "before": before.value,
            "after": status.value,
            "reason": reason,
        },
    )
    return _row(alert)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
