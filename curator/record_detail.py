"""One record with everything its pane shows, read in one go on a worker thread (Qt-free).

The pane shows the record as its curator will get it: the main line with the curator's staged
draft change laid over it, references with their titles, tumour-type names, and which records
use this one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import NotFoundError
from kb.model import expression as exprs
from kb.model.enums import ChangeOp, RecordType
from kb.model.orm import TumourType
from kb.model.records import (
    SPECS,
    Ids,
    RecordRow,
    Titles,
    get_record,
    referrers,
    type_of_human_id,
)
from kb.storage.rows import reference_titles

MAX_USED_BY = 200


@dataclass(frozen=True, slots=True)
class StagedChange:
    """What the viewer's draft does to this record."""

    op: ChangeOp
    change_set: str
    fields: Mapping[str, Any]
    before: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RecordDetail:
    rtype: RecordType
    human_id: str
    kb_version: int | None
    title: str
    fields: Mapping[str, Any]
    main_fields: Mapping[str, Any] | None
    staged: StagedChange | None
    titles: Mapping[str, str] = field(default_factory=dict)
    tumour_names: Mapping[str, str] = field(default_factory=dict)
    used_by: tuple[tuple[str, str], ...] = ()
    used_by_total: int = 0

    @property
    def deleted(self) -> bool:
        return self.staged is not None and self.staged.op is ChangeOp.DELETE

    @property
    def new(self) -> bool:
        return self.staged is not None and self.staged.op is ChangeOp.CREATE


def referenced_ids(rtype: RecordType, fields: Mapping[str, Any]) -> Iterator[str]:
    """Every human id a record's fields point at."""
    for spec in SPECS[rtype]:
        value = fields.get(spec.name)
        if not value:
            continue
        if spec.kind == "ref":
            yield str(value)
        elif spec.kind == "refs":
            yield from (str(item) for item in value)
        elif spec.kind == "tree" and isinstance(value, dict):
            for leaf in exprs.leaves(value):
                yield str(leaf.get("biomarker"))
                if leaf.get("threshold"):
                    yield str(leaf["threshold"])


def _codes(rtype: RecordType, fields: Mapping[str, Any]) -> set[str]:
    codes: set[str] = set()
    for spec in SPECS[rtype]:
        if spec.kind == "codes":
            codes.update(fields.get(spec.name) or [])
    return codes


def _derived_title(session: Session, rtype: RecordType, fields: Mapping[str, Any]) -> str:
    """The title a record only the draft holds will have, made from its fields as the lists
    make it; "" if it cannot be made yet (a reference to another record the draft creates)."""
    try:
        return Titles(session, Ids(session)).title(rtype, fields)
    except (KeyError, TypeError, ValueError, NotFoundError):
        return ""


def load_record_detail(
    session: Session, human_id: str, *, staged: Mapping[str, StagedChange] | None = None
) -> RecordDetail:
    """The record `human_id` as its pane shows it; `staged` holds the viewer's draft changes
    by human id (empty when nobody is signed in or there is no draft)."""
    human_id = human_id.strip().upper()
    rtype = type_of_human_id(human_id)
    change = (staged or {}).get(human_id)
    main: RecordRow | None
    try:
        main = get_record(session, human_id)
    except NotFoundError:
        if change is None or change.op is not ChangeOp.CREATE:
            raise
        main = None
    fields: dict[str, Any] = dict(main.fields) if main else {}
    if change is not None and change.op is not ChangeOp.DELETE:
        fields.update(change.fields)
    refs = set(referenced_ids(rtype, fields))
    if main is not None:
        refs.update(referenced_ids(rtype, main.fields))
    if change is not None:
        refs.update(referenced_ids(rtype, change.before))
    titles = reference_titles(session, refs | {human_id})
    codes = _codes(rtype, fields) | (_codes(rtype, main.fields) if main else set())
    tumour_names = (
        dict(
            session.execute(
                select(TumourType.code, TumourType.name).where(TumourType.code.in_(sorted(codes)))
            ).all()
        )
        if codes
        else {}
    )
    used: list[str] = referrers(session, rtype, main.id) if main else []
    used_titles = reference_titles(session, used[:MAX_USED_BY])
    title = titles.get(human_id) or (main.title if main else _derived_title(session, rtype, fields))
    return RecordDetail(
        rtype=rtype,
        human_id=human_id,
        kb_version=main.kb_version if main else None,
        title=title,
        fields=fields,
        main_fields=dict(main.fields) if main else None,
        staged=change,
        titles=titles,
        tumour_names=tumour_names,
        used_by=tuple((h, used_titles.get(h, "")) for h in used[:MAX_USED_BY]),
        used_by_total=len(used),
    )
