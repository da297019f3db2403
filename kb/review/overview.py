"""The KB at a glance, for one user: what the home screen shows (curator/home_page.py).

`home_summary` reads, in a handful of grouped queries, the records by type, the change sets by
status, the user's own open change sets and their review queue, the newest versions and
releases, and the figures the charts draw: assertions by evidence level and by tumour type,
and changes merged per week. Plain data only; nothing here is Qt.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.model.enums import ChangeSetStatus, EvidenceLevel
from kb.model.orm import (
    Assertion,
    AssertionTumourType,
    Change,
    ChangeSet,
    KbVersion,
    Release,
    TumourType,
    User,
)
from kb.model.records import count_records
from kb.review.users import Actor, Permission, can

OPEN = (ChangeSetStatus.DRAFT, ChangeSetStatus.SUBMITTED, ChangeSetStatus.REJECTED)
NO_LEVEL = "none"


@dataclass(frozen=True, slots=True)
class ChangeSetItem:
    human_id: str
    title: str
    status: str
    author: str
    changes: int
    when: str  # submitted, else created (ISO date)


@dataclass(frozen=True, slots=True)
class VersionItem:
    number: int
    created_at: str
    created_by: str
    change_set: str | None


@dataclass(frozen=True, slots=True)
class ReleaseItem:
    version: str
    kb_version: int
    created_at: str
    created_by: str


@dataclass(frozen=True, slots=True)
class HomeSummary:
    version: int
    records: dict[str, int]
    change_sets: dict[str, int]  # by status
    mine: tuple[
        ChangeSetItem, ...
    ]  # the user's change sets still open (draft, submitted, rejected)
    review_queue: tuple[ChangeSetItem, ...]  # submitted by others, for a user who may approve
    versions: tuple[VersionItem, ...]  # newest first
    releases: tuple[ReleaseItem, ...]  # newest first
    by_level: tuple[tuple[str, int], ...]  # in the scheme's order; "none" last
    by_tumour: tuple[tuple[str, str, int], ...]  # code, name, assertions; most first
    per_week: tuple[tuple[str, int], ...]  # ISO week ("2026-W49"), changes merged; oldest first


def _day(value: dt.datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def _week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def home_summary(
    session: Session,
    actor: Actor | None,
    *,
    today: dt.date | None = None,
    weeks: int = 12,
    recent: int = 8,
    tumours: int = 10,
) -> HomeSummary:
    """What the home screen shows for `actor` (None: nobody signed in)."""
    names = dict(session.execute(select(User.id, User.name)).all())
    counts = dict(
        session.execute(
            select(Change.change_set_id, func.count()).group_by(Change.change_set_id)
        ).all()
    )
    by_status: Counter[str] = Counter()
    mine: list[ChangeSetItem] = []
    queue: list[ChangeSetItem] = []
    merged_on: dict[str, dt.datetime] = {}
    reviews = actor is not None and can(actor, Permission.APPROVE)
    for cs in session.scalars(select(ChangeSet).order_by(ChangeSet.human_id)):
        by_status[cs.status.value] += 1
        if cs.status is ChangeSetStatus.MERGED and cs.decided_at is not None:
            merged_on[cs.id] = cs.decided_at
        item = ChangeSetItem(
            cs.human_id,
            cs.title,
            cs.status.value,
            names.get(cs.author_id, "?"),
            counts.get(cs.id, 0),
            _day(cs.submitted_at or cs.created_at),
        )
        if actor is not None and cs.author_id == actor.user_id and cs.status in OPEN:
            mine.append(item)
        elif reviews and cs.status is ChangeSetStatus.SUBMITTED:
            queue.append(item)

    change_set_ids = dict(session.execute(select(ChangeSet.id, ChangeSet.human_id)).all())
    versions = [
        VersionItem(
            v.number,
            _day(v.created_at),
            v.created_by,
            change_set_ids.get(v.change_set_id or "", v.change_set_id),
        )
        for v in session.scalars(select(KbVersion).order_by(KbVersion.number.desc()).limit(recent))
    ]
    releases = tuple(
        ReleaseItem(r.version, r.kb_version, _day(r.created_at), r.created_by)
        for r in session.scalars(select(Release).order_by(Release.sequence.desc()).limit(recent))
    )

    levels = Counter(
        {
            (level.value if level is not None else NO_LEVEL): n
            for level, n in session.execute(
                select(Assertion.evidence_level, func.count()).group_by(Assertion.evidence_level)
            ).all()
        }
    )
    order = [level.value for level in EvidenceLevel] + [NO_LEVEL]
    by_level = tuple((level, levels[level]) for level in order if levels[level])

    per_code = session.execute(
        select(
            AssertionTumourType.code, func.count(func.distinct(AssertionTumourType.assertion_id))
        )
        .where(AssertionTumourType.excluded.is_(False))
        .group_by(AssertionTumourType.code)
        .order_by(func.count(func.distinct(AssertionTumourType.assertion_id)).desc())
        .order_by(AssertionTumourType.code)
        .limit(tumours)
    ).all()
    tumour_names = dict(
        session.execute(
            select(TumourType.code, TumourType.name).where(
                TumourType.code.in_([code for code, _ in per_code])
            )
        ).all()
    )
    by_tumour = tuple((code, tumour_names.get(code, code), n) for code, n in per_code)

    end = today or dt.datetime.now(dt.UTC).date()
    buckets = {_week(end - dt.timedelta(weeks=back)): 0 for back in range(weeks - 1, -1, -1)}
    for cs_id, when in merged_on.items():
        key = _week(when.date())
        if key in buckets:
            buckets[key] += counts.get(cs_id, 0)

    return HomeSummary(
        version=versions[0].number if versions else 0,
        records={rtype.value: n for rtype, n in count_records(session).items()},
        change_sets=dict(by_status),
        mine=tuple(reversed(mine)),
        review_queue=tuple(queue),
        versions=tuple(versions),
        releases=releases,
        by_level=by_level,
        by_tumour=by_tumour,
        per_week=tuple(buckets.items()),
    )
