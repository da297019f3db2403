"""Derived effects of a change set: which saved test patients would now match differently.

A reviewer reads a change set field by field; what it *means* shows only when the knowledge is
run. `match_effects` builds the main line's snapshot and the same snapshot with the change set
laid over it (creates add records, updates merge fields, deletes remove them — what a merge
would do), indexes each with `kb.matching.Matcher`, and compares, per patient, the therapies and
open trial arms before and after. A merged change set is compared across its own merge
(version N-1 against N), so its effects stay readable after approval.

Everything here is plain data and Qt-free; the app runs it on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from kb.matching.matcher import (
    Matcher,
    MatchResult,
    Patient,
    TherapyMatch,
    TrialMatch,
    load_patient_file,
)
from kb.model.enums import ChangeOp
from kb.review.changes import ChangeRow, get_change_set
from kb.storage.revisions import current_version
from kb.storage.snapshot import build_snapshot

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class MatchItem:
    """One thing a patient is offered: a matched assertion or an open trial arm."""

    kind: Literal["therapy", "trial_arm"]
    id: str  # AS-… or TA-…
    therapy: str | None
    level: str | None  # the evidence level of an assertion; None for a trial arm
    implication: str | None
    trial: str | None  # "NCT… arm CODE" for a trial arm

    def label(self) -> str:
        """E.g. `AS-00036 Pembrolizumab (level 1)`, `TA-00003 NCT02628067 arm K: Pembrolizumab`."""
        if self.kind == "therapy":
            what = self.therapy or (self.implication or "no therapy")
            extra = "" if self.implication in (None, "sensitive") else f", {self.implication}"
            return f"{self.id} {what} (level {self.level}{extra})"
        therapy = f": {self.therapy}" if self.therapy else ""
        return f"{self.id} {self.trial}{therapy}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "therapy": self.therapy,
            "level": self.level,
            "implication": self.implication,
            "trial": self.trial,
        }


@dataclass(frozen=True, slots=True)
class MatchChange:
    """A match offered both before and after, but differently (a level, a therapy)."""

    before: MatchItem
    after: MatchItem

    def label(self) -> str:
        if self.before.level != self.after.level:
            what = self.after.therapy or self.after.implication or ""
            return f"{self.after.id} {what}: level {self.before.level} → {self.after.level}"
        return f"{self.before.label()} → {self.after.label()}"

    def as_json(self) -> dict[str, Any]:
        return {"before": self.before.as_json(), "after": self.after.as_json()}


@dataclass(frozen=True, slots=True)
class PatientEffect:
    """What a change set does to one patient's matches."""

    patient: str
    gained: tuple[MatchItem, ...]
    lost: tuple[MatchItem, ...]
    changed: tuple[MatchChange, ...]
    warnings: tuple[str, ...] = ()

    @property
    def affected(self) -> bool:
        return bool(self.gained or self.lost or self.changed)

    def as_json(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "gained": [item.as_json() for item in self.gained],
            "lost": [item.as_json() for item in self.lost],
            "changed": [change.as_json() for change in self.changed],
            "warnings": list(self.warnings),
        }


def load_patients(folder: Path | str) -> list[Patient]:
    """Every `*.json` patient profile in `folder`, by file name (PatientError names a bad file)."""
    return [load_patient_file(path) for path in sorted(Path(folder).glob("*.json"))]


def apply_changes(snapshot: Mapping[str, Any], changes: Iterable[ChangeRow]) -> dict[str, Any]:
    """A copy of a snapshot's JSON with the changes laid over it, as a merge would leave it.

    Only the record lists a change touches are copied; the rest are shared with `snapshot`,
    which is never modified. An update of a record the main line no longer has is skipped:
    approving would report that as a conflict.
    """
    records: dict[str, list[dict[str, Any]]] = dict(snapshot["records"])
    indexes: dict[str, dict[str, int]] = {}

    def table(rtype: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
        if rtype not in indexes:
            records[rtype] = list(records.get(rtype, []))
            indexes[rtype] = {entry["id"]: i for i, entry in enumerate(records[rtype])}
        return records[rtype], indexes[rtype]

    deleted: dict[str, set[str]] = {}
    for change in changes:
        rtype = change.record_type.value
        entries, index = table(rtype)
        position = index.get(change.human_id)
        if change.op is ChangeOp.DELETE:
            deleted.setdefault(rtype, set()).add(change.human_id)
        elif change.op is ChangeOp.CREATE:
            entry = {"id": change.human_id, "uuid": change.record_id, "fields": dict(change.fields)}
            if position is None:
                index[change.human_id] = len(entries)
                entries.append(entry)
            else:
                entries[position] = entry
        elif position is not None:
            old = entries[position]
            entries[position] = {**old, "fields": {**old["fields"], **change.fields}}
    for rtype, gone in deleted.items():
        records[rtype] = [entry for entry in records[rtype] if entry["id"] not in gone]
    for rtype in indexes:
        records[rtype].sort(key=lambda entry: entry["id"])
    return {**snapshot, "records": records}


def _therapy_item(match: TherapyMatch) -> MatchItem:
    return MatchItem(
        "therapy",
        match.assertion_id,
        match.therapy.name if match.therapy else None,
        match.evidence_level,
        match.implication,
        None,
    )


def _arm_item(match: TrialMatch) -> MatchItem:
    return MatchItem(
        "trial_arm",
        match.arm_id,
        match.therapy.name if match.therapy else None,
        None,
        None,
        f"{match.trial_key} arm {match.arm_code}",
    )


def _offered(result: MatchResult) -> dict[str, MatchItem]:
    items = [_therapy_item(m) for m in result.therapies] + [_arm_item(m) for m in result.trials]
    return {item.id: item for item in items}


def compare_matches(before: MatchResult, after: MatchResult) -> PatientEffect:
    """Gained, lost and changed matches of one patient between two results."""
    was, now = _offered(before), _offered(after)
    gained = tuple(now[key] for key in sorted(now.keys() - was.keys()))
    lost = tuple(was[key] for key in sorted(was.keys() - now.keys()))
    changed = tuple(
        MatchChange(was[key], now[key])
        for key in sorted(was.keys() & now.keys())
        if was[key] != now[key]
    )
    return PatientEffect(after.patient.id, gained, lost, changed, tuple(after.warnings))


def effects_between(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    patients: Sequence[Patient],
    *,
    progress: ProgressFn | None = None,
) -> list[PatientEffect]:
    """Per patient, what matching against `after` offers differently from `before` (two
    snapshots in their JSON form)."""
    old, new = Matcher.from_snapshot(before), Matcher.from_snapshot(after)
    out = []
    for done, patient in enumerate(patients, start=1):
        out.append(compare_matches(old.match(patient), new.match(patient)))
        if progress is not None:
            progress(done, len(patients))
    return out


def match_effects(
    session: Session,
    change_set_id: str,
    patients: Sequence[Patient],
    *,
    progress: ProgressFn | None = None,
) -> list[PatientEffect]:
    """What the change set `change_set_id` changes for each patient.

    Unmerged change sets (draft, submitted, rejected) are laid over the newest main line; a
    merged one is judged by its own merge (the version before it against the version it made).
    Raises MatcherError when the knowledge after the change cannot be matched (e.g. an arm
    whose trial the change set deletes), naming the record.
    """
    change_set = get_change_set(session, change_set_id)
    if change_set.merged_version:
        before = build_snapshot(session, change_set.merged_version - 1).as_json()
        after = build_snapshot(session, change_set.merged_version).as_json()
    else:
        before = build_snapshot(session, current_version(session)).as_json()
        after = apply_changes(before, change_set.changes)
    return effects_between(before, after, patients, progress=progress)
