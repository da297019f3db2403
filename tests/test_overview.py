"""The home screen's figures (kb.review.overview), on the demo KB on each backend."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from kb.demo.loader import DEMO_USERS
from kb.model.orm import Assertion, Change, ChangeSet
from kb.review.changes import approve_change_set, open_draft, submit_change_set
from kb.review.overview import home_summary
from kb.review.users import Actor, authenticate
from kb.storage.db import Kb

PASSWORDS = {name: password for name, _, password in DEMO_USERS}


def actor(kb: Kb, name: str) -> Actor:
    with kb.unit_of_work() as session:
        return authenticate(session, name=name, password=PASSWORDS[name])


def stage(kb: Kb, who: Actor, title: str) -> str:
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=who, title=title)
        editor.update("TH-00001", {"value": "12"})
        editor.close()
        return editor.human_id


def test_home_summary_of_the_demo(demo_kb: Kb) -> None:
    curator, reviewer = actor(demo_kb, "curator"), actor(demo_kb, "reviewer")
    with demo_kb.read() as session:
        before = home_summary(session, curator)
        assertions = session.scalar(select(func.count()).select_from(Assertion))
    assert before.version == 1
    assert before.records["assertion"] == assertions > 0
    assert before.change_sets == {"merged": 1}
    assert before.mine == () and before.review_queue == ()
    assert [v.number for v in before.versions] == [1]
    assert before.versions[0].change_set == "CS-00001"
    # Every assertion is counted once by level, in the scheme's order.
    assert sum(n for _, n in before.by_level) == assertions
    levels = [level for level, _ in before.by_level]
    assert levels == sorted(levels, key=["1", "2", "3A", "3B", "4", "R1", "R2", "none"].index)
    # Tumour types most used first, with their OncoTree names.
    counts = [n for _, _, n in before.by_tumour]
    assert counts == sorted(counts, reverse=True) and len(counts) <= 10
    assert ("NSCLC", "Non-Small Cell Lung Cancer") in {(c, name) for c, name, _ in before.by_tumour}

    change_set = stage(demo_kb, curator, "TMB cut-off")
    with demo_kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=change_set)
    with demo_kb.read() as session:
        submitted_mine = home_summary(session, curator)
        submitted_theirs = home_summary(session, reviewer)
        nobody = home_summary(session, None)
    assert [(i.human_id, i.status, i.changes) for i in submitted_mine.mine] == [
        (change_set, "submitted", 1)
    ]
    assert submitted_mine.review_queue == ()  # a curator reviews nothing
    assert [i.human_id for i in submitted_theirs.review_queue] == [change_set]
    assert submitted_theirs.mine == ()
    assert nobody.mine == () and nobody.review_queue == ()

    with demo_kb.unit_of_work() as session:
        approve_change_set(session, actor=reviewer, change_set_id=change_set)
    today = dt.datetime.now(dt.UTC).date()
    with demo_kb.read() as session:
        merged = home_summary(session, curator, today=today, weeks=4)
    assert merged.version == 2 and merged.mine == ()
    assert merged.change_sets == {"merged": 2}
    assert [v.number for v in merged.versions] == [2, 1]
    assert len(merged.per_week) == 4
    year, week, _ = today.isocalendar()
    this_week = f"{year}-W{week:02d}"
    assert merged.per_week[-1][0] == this_week
    # The demo's own change set was merged this week too (the fixture was built today).
    with demo_kb.read() as session:
        demo_changes = session.scalar(
            select(func.count())
            .select_from(Change)
            .join(ChangeSet, ChangeSet.id == Change.change_set_id)
            .where(ChangeSet.human_id == "CS-00001")
        )
    assert merged.per_week[-1][1] == demo_changes + 1
    assert sum(n for _, n in merged.per_week[:-1]) == 0
