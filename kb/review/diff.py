"""Differences between two KB versions: by record and field, and by what they mean clinically.

`diff_records` compares two sets of records (record type -> human id -> {"id", "uuid",
"fields"}) and says which were added, removed, or changed field by field. It is plain dictionary
work — no database, no canonical JSON — so diffing two 100k-record snapshots takes a fraction of a
second; it serves a release's changes.json and `kb diff A B` alike.

`categorise` reads a diff the way a downstream team does: a new assertion, a level promoted or
demoted, a therapy gone, a threshold or a trial's status changed. Every changed field lands in
exactly one category; what no specific category claims is an `other_change`, so nothing is
silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.model.records import threshold_text

Entry = Mapping[str, Any]
RecordIndex = Mapping[str, Mapping[str, Entry]]

CATEGORIES: tuple[str, ...] = (
    "new_assertion",
    "assertion_removed",
    "level_promoted",
    "level_demoted",
    "therapy_added",
    "therapy_removed",
    "threshold_changed",
    "trial_status_changed",
    "tumour_scope_changed",
    "other_change",
)
_CATEGORY_ORDER = {name: index for index, name in enumerate(CATEGORIES)}

# OncoKB therapeutic levels, strongest first; sensitivity and resistance are separate scales
# and a move between them is not a promotion or a demotion.
_LEVEL_SCALES: tuple[tuple[str, ...], ...] = (("1", "2", "3A", "3B", "4"), ("R1", "R2"))
_LEVEL_RANK = {
    level: (scale, rank)
    for scale, levels in enumerate(_LEVEL_SCALES)
    for rank, level in enumerate(levels)
}
_THRESHOLD_FIELDS = frozenset({"metric", "operator", "value", "unit"})
_SCOPE_FIELDS = ("tumour_types", "excluded_tumour_types")
_SCOPED_TYPES = frozenset({"assertion", "trial_arm"})


@dataclass(slots=True)
class TypeDiff:
    """The differences within one record type; ids sorted, `changed` JSON-ready."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def as_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass(slots=True)
class RecordDiff:
    """Per record type: added ids, removed ids, and changed records with each field's old and
    new value (`{"id": ..., "fields": {name: {"old": x, "new": y}}}`)."""

    types: dict[str, TypeDiff]

    @property
    def empty(self) -> bool:
        return not any(self.types.values())

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            rtype: {"added": len(d.added), "removed": len(d.removed), "changed": len(d.changed)}
            for rtype, d in self.types.items()
        }

    def as_json(self) -> dict[str, Any]:
        """Every compared record type, each with its (possibly empty) lists."""
        return {rtype: diff.as_json() for rtype, diff in self.types.items()}

    def text(self, *, width: int = 100) -> str:
        """A plain-text rendering for a terminal: `+` added, `-` removed, `~` changed."""
        lines: list[str] = []
        for rtype, diff in self.types.items():
            if not diff:
                continue
            lines.append(
                f"{rtype}: {len(diff.added)} added, {len(diff.removed)} removed, "
                f"{len(diff.changed)} changed"
            )
            lines.extend(f"  + {human_id}" for human_id in diff.added)
            lines.extend(f"  - {human_id}" for human_id in diff.removed)
            for change in diff.changed:
                lines.append(f"  ~ {change['id']}")
                for name, values in change["fields"].items():
                    shown = f"{_show(values['old'])} → {_show(values['new'])}"
                    line = f"      {name}: {shown}"
                    lines.append(line if len(line) <= width else line[: width - 1] + "…")
        return "\n".join(lines) if lines else "no differences"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def index_records(records: Mapping[str, Iterable[Entry]]) -> dict[str, dict[str, Entry]]:
    """A snapshot's `records` (type -> list of entries) keyed by human id, as `diff_records`
    takes them."""
    return {rtype: {entry["id"]: entry for entry in entries} for rtype, entries in records.items()}


def diff_records(old: RecordIndex, new: RecordIndex) -> RecordDiff:
    """What changed from `old` to `new` (record type -> human id -> entry).

    A record is the same record when its human id and uuid both match; an id that now names a
    different uuid is reported as removed and added, since it is a different record.
    """
    result: dict[str, TypeDiff] = {}
    for rtype in sorted(set(old) | set(new)):
        before = old.get(rtype, {})
        after = new.get(rtype, {})
        diff = TypeDiff()
        added = set(after.keys() - before.keys())
        removed = set(before.keys() - after.keys())
        for human_id in after.keys() & before.keys():
            was, now = before[human_id], after[human_id]
            if was is now:
                continue
            if was.get("uuid") != now.get("uuid"):
                added.add(human_id)
                removed.add(human_id)
                continue
            old_fields, new_fields = was.get("fields") or {}, now.get("fields") or {}
            # Whole-dict equality runs in C and settles the common case (unchanged) at once.
            if old_fields == new_fields:
                continue
            fields = {
                name: {"old": old_fields.get(name), "new": new_fields.get(name)}
                for name in sorted(old_fields.keys() | new_fields.keys())
                if old_fields.get(name) != new_fields.get(name)
            }
            diff.changed.append({"id": human_id, "fields": fields})
        diff.added = sorted(added)
        diff.removed = sorted(removed)
        diff.changed.sort(key=lambda change: str(change["id"]))
        result[rtype] = diff
    return RecordDiff(result)


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> RecordDiff:
    """`diff_records` over two snapshots in their JSON form (`Snapshot.as_json()` or kb.json)."""
    return diff_records(index_records(old["records"]), index_records(new["records"]))


def categorise(diff: RecordDiff, old: RecordIndex, new: RecordIndex) -> list[dict[str, Any]]:
    """The diff as typed, clinically meaningful changes, sorted by category, type and id.

    Each item is `{"category", "type", "id"}` plus, by category, `"old"`/`"new"` values or the
    `"fields"` an `other_change` touched (`"change": "added" | "removed"` for whole records).
    """
    items: list[dict[str, Any]] = []

    def add(category: str, rtype: str, human_id: str, **details: Any) -> None:
        items.append({"category": category, "type": rtype, "id": human_id, **details})

    for rtype, type_diff in diff.types.items():
        for human_id in type_diff.added:
            if rtype == "assertion":
                add("new_assertion", rtype, human_id)
            elif rtype == "therapy":
                add("therapy_added", rtype, human_id, new=_name(new, rtype, human_id))
            else:
                add("other_change", rtype, human_id, change="added")
        for human_id in type_diff.removed:
            if rtype == "assertion":
                add("assertion_removed", rtype, human_id)
            elif rtype == "therapy":
                add("therapy_removed", rtype, human_id, old=_name(old, rtype, human_id))
            else:
                add("other_change", rtype, human_id, change="removed")
        for change in type_diff.changed:
            human_id = change["id"]
            fields: Mapping[str, Mapping[str, Any]] = change["fields"]
            claimed: set[str] = set()
            if rtype == "assertion" and "evidence_level" in fields:
                level = fields["evidence_level"]
                category = _level_move(level["old"], level["new"])
                if category:
                    add(category, rtype, human_id, old=level["old"], new=level["new"])
                    claimed.add("evidence_level")
            if rtype == "threshold" and _THRESHOLD_FIELDS & fields.keys():
                add(
                    "threshold_changed",
                    rtype,
                    human_id,
                    old=threshold_text(old[rtype][human_id]["fields"]),
                    new=threshold_text(new[rtype][human_id]["fields"]),
                )
                claimed |= _THRESHOLD_FIELDS & fields.keys()
            if rtype == "trial" and "status" in fields:
                add(
                    "trial_status_changed",
                    rtype,
                    human_id,
                    old=fields["status"]["old"],
                    new=fields["status"]["new"],
                )
                claimed.add("status")
            if rtype == "trial_arm" and "suspended" in fields:
                # An arm opening or closing is, to a matching service, a status change.
                add(
                    "trial_status_changed",
                    rtype,
                    human_id,
                    old="suspended" if fields["suspended"]["old"] else "open",
                    new="suspended" if fields["suspended"]["new"] else "open",
                )
                claimed.add("suspended")
            if rtype in _SCOPED_TYPES and any(name in fields for name in _SCOPE_FIELDS):
                add(
                    "tumour_scope_changed",
                    rtype,
                    human_id,
                    old=_scope(old[rtype][human_id]),
                    new=_scope(new[rtype][human_id]),
                )
                claimed.update(_SCOPE_FIELDS)
            rest = sorted(fields.keys() - claimed)
            if rest:
                add("other_change", rtype, human_id, fields=rest)
    items.sort(key=lambda item: (_CATEGORY_ORDER[item["category"]], item["type"], item["id"]))
    return items


def summarise(categories: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many changes fall in each category (every category listed, zeros included)."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for item in categories:
        counts[item["category"]] += 1
    return counts


def changes_document(
    old: RecordIndex | None, new: RecordIndex, *, from_release_digest: str | None
) -> dict[str, Any]:
    """A release's changes.json: the typed and the field-level diff against the previous
    release. With no previous release every list is empty (a first release changes nothing
    that a consumer has seen)."""
    if old is None:
        diff = RecordDiff({rtype: TypeDiff() for rtype in sorted(new)})
        categories: list[dict[str, Any]] = []
    else:
        diff = diff_records(old, new)
        categories = categorise(diff, old, new)
    return {
        "from_release_digest": from_release_digest,
        "summary": summarise(categories),
        "categories": categories,
        "records": diff.as_json(),
    }


def _level_move(old: Any, new: Any) -> str | None:
    was, now = _LEVEL_RANK.get(str(old)), _LEVEL_RANK.get(str(new))
    if was is None or now is None or was[0] != now[0]:
        return None
    return "level_promoted" if now[1] < was[1] else "level_demoted"


def _name(index: RecordIndex, rtype: str, human_id: str) -> Any:
    return (index.get(rtype, {}).get(human_id, {}).get("fields") or {}).get("name")


def _scope(entry: Entry) -> dict[str, Any]:
    fields = entry.get("fields") or {}
    return {name: fields.get(name) or [] for name in _SCOPE_FIELDS}
