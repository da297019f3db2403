"""Edits across many records at once: field values set on a selection, a record cloned.

Both stage into a draft change set through `kb.review.changes.DraftEditor`, so the role and
integrity checks of `open_draft` hold, and both run in the caller's transaction: a bulk edit is
one unit of work. Every value is checked for every record before anything is staged, so a value
one record refuses leaves all of them as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kb.errors import KbError, NotFoundError
from kb.model.enums import ChangeOp, RecordType
from kb.model.records import (
    CLONE_MARK,
    SPECS,
    normalise_fields,
    type_of_human_id,
    unique_keys,
)
from kb.review.changes import DraftEditor, current_draft, main_line_fields, open_draft
from kb.review.users import Actor


@dataclass(frozen=True, slots=True)
class BulkEdit:
    """What a bulk edit did: the draft it went into and, per record, the values it replaced
    (as the curator saw them: the draft's staged value, else the main line's); `unchanged`
    names the records that had every value already (nothing of theirs was staged)."""

    change_set: str
    change_set_id: str
    before: dict[str, dict[str, Any]]
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StagedValues:
    """What `stage_values` staged: per record named, the values replaced, and the records that
    had every value already."""

    before: dict[str, dict[str, Any]]
    unchanged: tuple[str, ...]


def _actors_draft(session: Session, actor: Actor, title: str) -> DraftEditor:
    """The actor's draft to stage into: the newest one, or a new one."""
    draft = current_draft(session, actor)
    return open_draft(
        session,
        actor=actor,
        title=title or f"Changes by {actor.name}",
        change_set_id=draft.id if draft else None,
    )


def effective_fields(editor: DraftEditor, human_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The records as the draft's author sees them: staged values over the main line.

    Raises NotFoundError for an id that names no record, and KbError for one the draft deletes.
    """
    wanted = list(dict.fromkeys(h.upper() for h in human_ids))
    # Earlier steps of the same edit may still be queued: write them so the draft shows them.
    editor.flush()
    draft = current_draft(editor.session, editor.actor)
    staged = {c.human_id: c for c in draft.changes} if draft else {}
    created = {h for h, c in staged.items() if c.op is ChangeOp.CREATE}
    main = main_line_fields(editor.session, [h for h in wanted if h not in created])
    out: dict[str, dict[str, Any]] = {}
    for human_id in wanted:
        change = staged.get(human_id)
        if change is not None and change.op is ChangeOp.DELETE:
            raise KbError(f"{human_id} is deleted in {draft.human_id if draft else 'the draft'}")
        if change is not None and change.op is ChangeOp.CREATE:
            out[human_id] = dict(change.fields)
            continue
        base = main.get(human_id)
        if base is None:
            raise NotFoundError(f"no {type_of_human_id(human_id)} {human_id}")
        fields = dict(base[1])
        if change is not None:
            fields.update(change.fields)
        out[human_id] = fields
    return out


def stage_field_values(
    editor: DraftEditor, edits: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Stage new values for many records (human id -> fields) into `editor`'s draft; returns,
    per record, the values replaced. Checks every value first and stages nothing if one fails."""
    return stage_values(editor, edits).before


def stage_values(editor: DraftEditor, edits: Mapping[str, Mapping[str, Any]]) -> StagedValues:
    """`stage_field_values`, also saying which records had every value already (a value equal
    to the one it has stages no change: the draft keeps only real changes)."""
    if not edits:
        return StagedValues({}, ())
    current = effective_fields(editor, edits)
    wanted: dict[str, dict[str, Any]] = {}
    for human_id, fields in edits.items():
        rtype = type_of_human_id(human_id)
        # Raises FieldError naming the record, the field and what was expected.
        wanted[human_id.upper()] = normalise_fields(
            rtype, fields, editor.ids, record=f"{rtype} {human_id.upper()}"
        )
    editor.prefetch(edits)
    before: dict[str, dict[str, Any]] = {}
    for human_id, fields in edits.items():
        key = human_id.upper()
        before[key] = {name: current[key].get(name) for name in fields}
        editor.update(key, dict(fields))
    editor.flush()
    unchanged = tuple(
        key
        for key, values in wanted.items()
        if all(_same(value, before[key].get(name)) for name, value in values.items())
    )
    return StagedValues(before, unchanged)


def _same(new: Any, old: Any) -> bool:
    """Equal as stored: None, "" and [] are the same empty value."""
    return bool(new == old or (new in (None, "", []) and old in (None, "", [])))


def set_fields(
    session: Session,
    *,
    actor: Actor,
    edits: Mapping[str, Mapping[str, Any]],
    title: str = "",
) -> BulkEdit:
    """Set field values on many records in the actor's draft (one is opened if none is), in one
    transaction: all of them or, on the first refusal, none."""
    editor = _actors_draft(session, actor, title)
    staged = stage_values(editor, edits)
    return BulkEdit(editor.human_id, editor.change_set_id, staged.before, staged.unchanged)


def set_field(
    session: Session, *, actor: Actor, human_ids: Iterable[str], field: str, value: Any
) -> BulkEdit:
    """One field set to one value on every record named (a curator's "Set level on these 20")."""
    ids = list(dict.fromkeys(h.upper() for h in human_ids))
    if not ids:
        raise KbError("no records named: select the records to change")
    return set_fields(session, actor=actor, edits={h: {field: value} for h in ids})


def clone_fields(
    rtype: RecordType, fields: Mapping[str, Any], *, source: str = ""
) -> dict[str, Any]:
    """The fields a copy of a record starts from: every field the record type has, nothing
    else (a revision may carry bookkeeping that is not a field).

    A value the database keeps unique cannot be copied as it is. Where its key ends in text
    (a gene's symbol and HGNC id, a drug's name, a citation's identifier, a trial arm's code, an
    evidence item's source id …) that text gets `CLONE_MARK`: the copy stages, and the editor and
    `kb clone` ask for the real value. Where it does not (an exon map's gene, an oncogenicity's
    biomarker, a crosswalk's schemes and implication), a copy could only be changed into a new
    record by replacing what defines it, and a draft cannot hold it without them: the clone is
    refused, saying so.
    """
    specs = {spec.name: spec for spec in SPECS[rtype]}
    out = {name: value for name, value in fields.items() if name in specs and value is not None}
    for key in unique_keys(rtype):
        if any(out.get(name) in (None, "", []) for name in key):
            continue  # an empty optional key (a trial's protocol number) collides with nothing
        last = specs[key[-1]]
        if last.kind not in ("str", "text"):
            kind = rtype.value.replace("_", " ")
            raise KbError(
                f"{source or kind} cannot be cloned: no two {kind}s may share their "
                f"{_and(list(key))}, and a copy starts with {source or 'the source'}'s; create "
                f"a new {kind} instead (kb new {rtype.value}, or New in the app)"
            )
        out[last.name] = f"{out[last.name]}{CLONE_MARK}"
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def stage_clone(editor: DraftEditor, human_id: str) -> str:
    """Stage a new record with the fields of `human_id` (as the draft sees it), its unique key
    marked as a copy's (see `clone_fields`); returns its new human id."""
    key = human_id.upper()
    rtype = type_of_human_id(key)
    fields = effective_fields(editor, [key])[key]
    return editor.create(rtype, clone_fields(rtype, fields, source=key))


def clone_record(
    session: Session, *, actor: Actor, human_id: str, title: str = ""
) -> tuple[str, str]:
    """Copy a record into the actor's draft under a new id; returns (new human id, change set)."""
    editor = _actors_draft(session, actor, title)
    new_id = stage_clone(editor, human_id)
    editor.flush()
    return new_id, editor.human_id
