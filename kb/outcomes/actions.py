"""Acting on an evidence alert: the context a curator decides in, and the change set it starts.

`alert_context` gathers what the app's alert view shows beside the outcomes: the alert, the
assertion it is about (its level, implication, therapy, tumour types) and the evidence items
bearing on it. `act_on_alert` stages the curator's response into their draft change set (the
same `kb.review` machinery every edit uses, so roles and integrity checks hold) and resolves
the alert with a reason naming that change set, in the caller's one transaction: either the
change is staged and the alert resolved (both audited), or neither.

The three responses (issue 15, item 5):
- `LOWER_LEVEL`: the assertion's evidence level set to a lower one;
- `ADD_RESISTANCE`: a new resistant assertion of the same expression, therapy and tumour types;
- `ADD_EVIDENCE`: a new evidence item citing the cohort (its test and suppressed numbers, never a
  patient), bearing on the assertion when the alert is about one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError, NotFoundError
from kb.model.enums import AlertKind, AlertStatus, EvidenceLevel, RecordType
from kb.model.orm import OutcomeAlert
from kb.outcomes.alerts import AlertRow, list_alerts, resolve_alert
from kb.review.bulk import set_fields
from kb.review.changes import current_draft, main_line_fields, open_draft
from kb.review.users import Actor, Permission, require
from kb.storage.revisions import current_version
from kb.storage.snapshot import latest_rows

OUTCOMES_SOURCE = "KB outcomes"
# Sensitive levels, strongest first: "lower" means a later one.
SENSITIVE_LEVELS: tuple[str, ...] = ("1", "2", "3A", "3B", "4")


class AlertAction(StrEnum):
    LOWER_LEVEL = "lower_level"
    ADD_RESISTANCE = "add_resistance"
    ADD_EVIDENCE = "add_evidence"


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    human_id: str
    source: str
    source_id: str
    direction: str
    evidence_type: str
    source_level: str | None
    description: str


@dataclass(frozen=True, slots=True)
class AlertContext:
    """An alert and what it bears on, as plain data. `assertion` is None for off-label use."""

    alert: AlertRow
    assertion: str | None
    assertion_fields: Mapping[str, Any]
    evidence: tuple[EvidenceRow, ...]

    @property
    def level(self) -> str | None:
        value = self.assertion_fields.get("evidence_level")
        return str(value) if value else None

    def lower_levels(self) -> tuple[str, ...]:
        """The sensitive levels below the assertion's (empty: none to lower to)."""
        if self.level not in SENSITIVE_LEVELS:
            return ()
        return SENSITIVE_LEVELS[SENSITIVE_LEVELS.index(self.level) + 1 :]


@dataclass(frozen=True, slots=True)
class ActionResult:
    change_set: str
    record: str  # the record staged: the assertion changed, or the new one
    alert: AlertRow


def _alert(session: Session, alert_id: str) -> AlertRow:
    matches = list(
        session.scalars(select(OutcomeAlert.id).where(OutcomeAlert.id.startswith(alert_id)))
    )
    if len(matches) != 1:
        raise NotFoundError(
            f"no alert {alert_id}" if not matches else f"{alert_id} names several alerts"
        )
    return next(a for a in list_alerts(session) if a.id == matches[0])


def alert_context(session: Session, alert_id: str) -> AlertContext:
    """The alert `alert_id` (or a unique prefix) with its assertion and evidence items."""
    alert = _alert(session, alert_id)
    if alert.kind is AlertKind.OFF_LABEL_USE:
        return AlertContext(alert, None, {}, ())
    human_id = alert.subject
    found = main_line_fields(session, [human_id]).get(human_id)
    fields = dict(found[1]) if found else {}
    evidence = []
    for _t, item_id, _u, _v, item in latest_rows(
        session, current_version(session), rtype=RecordType.EVIDENCE_ITEM
    ):
        if human_id in (item.get("assertions") or ()):
            evidence.append(
                EvidenceRow(
                    human_id=item_id,
                    source=str(item.get("source") or ""),
                    source_id=str(item.get("source_id") or ""),
                    direction=str(item.get("direction") or ""),
                    evidence_type=str(item.get("evidence_type") or ""),
                    source_level=item.get("source_level"),
                    description=str(item.get("description") or ""),
                )
            )
    evidence.sort(key=lambda e: e.human_id)
    return AlertContext(alert, human_id if found else None, fields, tuple(evidence))


def cohort_summary(alert: AlertRow) -> str:
    """The alert's test and numbers in one sentence: what an evidence item citing the cohort
    says. Only the stored numbers, which are already suppressed (a count under k is absent)."""
    n = alert.numbers

    def pct(value: Any) -> str:
        return f"{float(value):.0%}" if isinstance(value, int | float) else "withheld"

    def interval() -> str:
        ci = n.get("wilson_95")
        return f" (95% CI {pct(ci[0])}-{pct(ci[1])})" if ci else ""

    if alert.kind is AlertKind.RESPONSE_BELOW_EXPECTATION:
        what = (
            f"observed response rate {pct(n.get('response_rate'))}{interval()} in "
            f"{n.get('evaluable')} evaluable episodes of {n.get('patients')} patients, below the "
            f"expected {pct(n.get('expected_min_response_rate'))}"
        )
    elif alert.kind is AlertKind.RESISTANCE_SIGNAL:
        what = (
            f"observed progression rate {pct(n.get('progression_rate'))}{interval()} in "
            f"{n.get('evaluable')} evaluable episodes of {n.get('patients')} patients, above "
            f"the expected {pct(n.get('expected_max_progression_rate'))}"
        )
    else:
        what = (
            f"{n.get('therapy')} given for {n.get('biomarkers')} without an assertion: "
            f"{n.get('patients')} patients, {n.get('episodes')} episodes"
        )
    p = n.get("p_value")
    test = f"; {n.get('test')}, p = {p:.3g}" if isinstance(p, int | float) else ""
    return f"Real-world outcomes reported back to this KB (alert {alert.id[:8]}): {what}{test}."


def act_on_alert(
    session: Session,
    *,
    actor: Actor,
    alert_id: str,
    action: AlertAction,
    level: str | None = None,
    reason: str = "",
) -> ActionResult:
    """Stage `action` into the actor's draft (a new one if none) and resolve the alert with a
    reason naming the change set. Curators and reviewers; one transaction (the caller's)."""
    require(actor, Permission.EDIT)
    context = alert_context(session, alert_id)
    alert = context.alert
    if alert.status is not AlertStatus.OPEN:
        raise KbError(f"alert {alert.id[:8]} is {alert.status.value}: reopen it to act on it")
    subject = context.assertion
    if subject is None and action is not AlertAction.ADD_EVIDENCE:
        raise KbError(
            "this alert is about no assertion: add an evidence item citing the cohort, or "
            "create an assertion in the record editor"
        )
    title = f"Outcomes alert {alert.id[:8]}: {alert.subject}"
    if action is AlertAction.LOWER_LEVEL:
        assert subject is not None
        if level not in context.lower_levels():
            allowed = ", ".join(context.lower_levels()) or "none"
            raise KbError(
                f"{subject} is at level {context.level or 'none'}: the level must be one "
                f"below it ({allowed}), not {level or 'empty'}"
            )
        edit = set_fields(
            session, actor=actor, edits={subject: {"evidence_level": level}}, title=title
        )
        change_set, record = edit.change_set, subject
        done = f"{change_set} lowers {subject} from level {context.level} to {level}"
    else:
        draft = current_draft(session, actor)
        editor = open_draft(
            session, actor=actor, title=title, change_set_id=draft.id if draft else None
        )
        fields = context.assertion_fields
        if action is AlertAction.ADD_RESISTANCE:
            assert subject is not None
            record = editor.create(
                RecordType.ASSERTION,
                {
                    "expression": fields.get("expression"),
                    "therapy": fields.get("therapy"),
                    "tumour_types": fields.get("tumour_types"),
                    "implication": "resistant",
                    "evidence_level": level or EvidenceLevel.R2.value,
                    "description": cohort_summary(alert),
                },
            )
            done = f"{editor.human_id} adds resistance assertion {record} beside {subject}"
        else:
            item: dict[str, Any] = {
                "source": OUTCOMES_SOURCE,
                "source_id": f"alert-{alert.id[:8]}",
                "evidence_type": "predictive",
                "direction": (
                    "supports" if alert.kind is AlertKind.OFF_LABEL_USE else "does_not_support"
                ),
                "description": cohort_summary(alert),
            }
            if subject is not None:
                item.update(
                    assertions=[subject],
                    expression=fields.get("expression"),
                    therapy=fields.get("therapy"),
                    tumour_types=fields.get("tumour_types"),
                )
            record = editor.create(RecordType.EVIDENCE_ITEM, item)
            done = f"{editor.human_id} adds evidence item {record} citing the cohort"
        editor.flush()
        change_set = editor.human_id
    why = " ".join(reason.split())
    row = resolve_alert(
        session,
        actor=actor,
        alert_id=alert.id,
        status=AlertStatus.RESOLVED,
        reason=f"{done}: {why}" if why else done,
    )
    return ActionResult(change_set, record, row)
