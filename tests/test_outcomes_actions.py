"""Acting on an evidence alert (kb.outcomes.actions): the change is staged into the curator's
draft and the alert resolved naming it, in one transaction, role-checked and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.outcomes_cohort import make_cohort
from kb.errors import KbError
from kb.model.enums import AlertKind, AlertStatus
from kb.model.orm import ChangeSet
from kb.outcomes import import_outcomes, list_alerts, refresh_alerts
from kb.outcomes.actions import AlertAction, act_on_alert, alert_context
from kb.review.audit import list_events
from kb.review.changes import current_draft
from kb.review.users import PermissionDenied, authenticate
from kb.storage.db import Kb
from tests.test_outcomes import KEY, _actor


@pytest.fixture
def alerted(demo_kb: Kb, tmp_path: Path) -> dict[AlertKind, str]:
    with demo_kb.read() as session:
        cohort = make_cohort(session, episodes=5000, seed=15)
    path = tmp_path / "cohort.csv"
    cohort.write_csv(path)
    with demo_kb.unit_of_work() as session:
        assert import_outcomes(session, path, actor=_actor(session), key=KEY).ok
        refresh_alerts(session, actor=_actor(session))
        return {a.kind: a.id for a in list_alerts(session)}


def test_refusals_stage_nothing_and_leave_the_alert_open(
    demo_kb: Kb, alerted: dict[AlertKind, str]
) -> None:
    below = alerted[AlertKind.RESPONSE_BELOW_EXPECTATION]
    off_label = alerted[AlertKind.OFF_LABEL_USE]
    attempts = [
        ("releaser", below, AlertAction.LOWER_LEVEL, "2", PermissionDenied, "may edit"),
        ("curator", below, AlertAction.LOWER_LEVEL, "1", KbError, r"one below it \(2, 3A"),
        ("curator", off_label, AlertAction.ADD_RESISTANCE, None, KbError, "about no assertion"),
    ]
    with demo_kb.read() as session:
        before = session.scalar(select(func.count()).select_from(ChangeSet))
    for who, alert_id, action, level, error, match in attempts:
        with pytest.raises(error, match=match), demo_kb.unit_of_work() as session:
            actor = authenticate(session, name=who, password=f"demo-{who}")
            act_on_alert(session, actor=actor, alert_id=alert_id, action=action, level=level)
    with demo_kb.read() as session:
        assert session.scalar(select(func.count()).select_from(ChangeSet)) == before
        assert all(a.status is AlertStatus.OPEN for a in list_alerts(session))


def test_each_action_stages_its_change_and_resolves_its_alert(
    demo_kb: Kb, alerted: dict[AlertKind, str]
) -> None:
    below = alerted[AlertKind.RESPONSE_BELOW_EXPECTATION]
    resistant = alerted[AlertKind.RESISTANCE_SIGNAL]
    off_label = alerted[AlertKind.OFF_LABEL_USE]
    with demo_kb.read() as session:
        context = alert_context(session, resistant)
    assert context.level == "1" and context.lower_levels() == ("2", "3A", "3B", "4")
    subject = context.assertion
    with demo_kb.unit_of_work() as session:
        added = act_on_alert(session, actor=_actor(session), alert_id=resistant,
                             action=AlertAction.ADD_RESISTANCE)  # fmt: skip
        cited = act_on_alert(session, actor=_actor(session), alert_id=off_label,
                             action=AlertAction.ADD_EVIDENCE, reason="worth a look")  # fmt: skip
        lowered = act_on_alert(session, actor=_actor(session), alert_id=below,
                               action=AlertAction.LOWER_LEVEL, level="2")  # fmt: skip
    # One draft holds all three changes.
    assert added.change_set == cited.change_set == lowered.change_set
    with demo_kb.read() as session:
        draft = current_draft(session, _actor(session))
        alerts = {a.id: a for a in list_alerts(session)}
        decisions = [e for e in list_events(session) if e.action == "outcomes.alert_decision"]
        after = alert_context(session, below)
    assert draft is not None and draft.human_id == added.change_set
    changes = {c.human_id: c for c in draft.changes}
    new_assertion = changes[added.record].fields
    assert new_assertion["implication"] == "resistant" and new_assertion["evidence_level"] == "R2"
    assert new_assertion["expression"] == context.assertion_fields["expression"]
    assert new_assertion["therapy"] == context.assertion_fields["therapy"]
    item = changes[cited.record].fields
    assert item["source"] == "KB outcomes" and item["source_id"] == f"alert-{off_label[:8]}"
    assert "osimertinib" in item["description"].lower() and "40 patients" in item["description"]
    assert changes[lowered.record].fields["evidence_level"] == "2"
    assert all(alerts[a].status is AlertStatus.RESOLVED for a in (below, resistant, off_label))
    assert alerts[resistant].resolution == (
        f"{draft.human_id} adds resistance assertion {added.record} beside {subject}"
    )
    assert alerts[off_label].resolution.endswith(": worth a look")
    assert {e.subject for e in decisions} == {below, resistant, off_label}
    # A resolved alert is not acted on twice.
    assert after.alert.status is AlertStatus.RESOLVED
    with pytest.raises(KbError, match="reopen it"), demo_kb.unit_of_work() as session:
        act_on_alert(session, actor=_actor(session), alert_id=below,
                     action=AlertAction.LOWER_LEVEL, level="3A")  # fmt: skip
