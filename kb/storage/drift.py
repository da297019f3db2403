"""Drift: the typed tables checked against the versioned revisions they are built from.

Every merge writes a record both ways: into its typed table (what `kb show`, `kb list`, the app
and the matcher read) and as a revision (what snapshots, approvals and releases digest). A write
straight to a typed table (`UPDATE threshold SET value = '1'`) reaches the first and not the
second, so the two disagree from then on. `check_drift` reads every typed record, renders its
fields exactly as a merge records them, and compares them with the newest revision at the current
version: a changed field, a record with no revision, a revision with no record, or a record that
claims another version is reported by record and field.

The typed tables are read with Core, not the ORM (a 100,000-record KB loads in a fraction of the
time): each row and its link rows become a plain object with the ORM's attribute names, which
`record_fields` reads as it reads a mapped object.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from kb.model.enums import RecordType
from kb.model.orm import RECORD_CLASSES, Revision
from kb.model.records import Ids, record_fields
from kb.storage.revisions import current_version
from kb.storage.snapshot import latest_rows

# The one-to-many link collections `record_fields` reads, by relationship name.
_COLLECTIONS = (
    "exclusion_links",
    "drug_links",
    "assertion_links",
    "citation_links",
    "tumour_links",
    "nodes",
)


@dataclass(frozen=True, slots=True)
class Drift:
    """One disagreement between a typed record and its revision."""

    human_id: str
    record_type: str
    field: str | None  # None: the record as a whole (missing on one side, wrong version)
    stored: Any  # what the typed table holds (what readers are served)
    versioned: Any  # what the version's revision holds (what approvals signed)
    problem: str

    def __str__(self) -> str:
        where = f"{self.human_id}.{self.field}" if self.field else self.human_id
        return f"{where}: {self.problem}"

    def as_json(self) -> dict[str, Any]:
        return {
            "record": self.human_id,
            "type": self.record_type,
            "field": self.field,
            "stored": self.stored,
            "versioned": self.versioned,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    version: int
    records: int
    drifts: tuple[Drift, ...]

    @property
    def ok(self) -> bool:
        return not self.drifts

    def text(self, *, limit: int = 20) -> str:
        if self.ok:
            return f"typed tables match version {self.version}: {self.records} records compared"
        lines = [
            f"typed tables differ from version {self.version} in {len(self.drifts)} place(s) "
            "(written outside a merge):"
        ]
        lines += [f"  {drift}" for drift in self.drifts[:limit]]
        if len(self.drifts) > limit:
            lines.append(f"  … and {len(self.drifts) - limit} more")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": self.version,
            "records": self.records,
            "drifts": [d.as_json() for d in self.drifts],
        }


def check_drift(
    session: Session,
    *,
    only: Iterable[RecordType] | None = None,
    record_ids: Collection[str] | None = None,
) -> DriftReport:
    """Compare every typed record (of the types in `only`, default all; or only the records
    whose stable ids are in `record_ids`) with its newest revision at the current version,
    field by field."""
    version = current_version(session)
    versioned: dict[str, tuple[str, str, int, dict[str, Any]]] = {}
    if record_ids is None:
        types = list(only) if only is not None else list(RecordType)
        wanted = {rtype.value for rtype in types}
        for rtype_value, human_id, record_id, number, data in latest_rows(session, version):
            if rtype_value in wanted:
                versioned[record_id] = (rtype_value, human_id, number, data)
    else:
        versioned = _versioned(session, version, record_ids)
        types = sorted({RecordType(v[0]) for v in versioned.values()}, key=list(RecordType).index)
    ids = Ids(session)
    drifts: list[Drift] = []
    compared = 0
    for rtype in types:
        for obj in _plain_records(session, rtype, record_ids):
            compared += 1
            stored = _jsonable(record_fields(obj, rtype, ids))
            revision = versioned.pop(obj.id, None)
            if revision is None:
                drifts.append(
                    Drift(
                        obj.human_id,
                        rtype.value,
                        None,
                        stored,
                        None,
                        "in the typed table but in no version (inserted outside a merge, "
                        "or its deletion was undone)",
                    )
                )
                continue
            _, human_id, number, data = revision
            if human_id != obj.human_id:
                drifts.append(
                    Drift(
                        obj.human_id,
                        rtype.value,
                        "id",
                        obj.human_id,
                        human_id,
                        f"versioned as {human_id}",
                    )
                )
            if obj.kb_version != number:
                drifts.append(
                    Drift(
                        obj.human_id,
                        rtype.value,
                        None,
                        obj.kb_version,
                        number,
                        f"claims version {obj.kb_version}; its newest revision is {number}",
                    )
                )
            drifts.extend(_field_drifts(obj.human_id, rtype, stored, data))
    for rtype_value, human_id, _number, data in versioned.values():
        drifts.append(
            Drift(
                human_id,
                rtype_value,
                None,
                None,
                data,
                f"in version {version} but missing from the typed table (deleted outside a merge)",
            )
        )
    drifts.sort(key=lambda d: (d.human_id, d.field or ""))
    return DriftReport(version, compared, tuple(drifts))


def _field_drifts(
    human_id: str, rtype: RecordType, stored: dict[str, Any], versioned: dict[str, Any]
) -> Iterator[Drift]:
    for name in sorted(set(stored) | set(versioned)):
        have, want = stored.get(name), versioned.get(name)
        if have != want:
            yield Drift(
                human_id,
                rtype.value,
                name,
                have,
                want,
                f"is {_show(have)} in the table but {_show(want)} in the version",
            )


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "…"


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    # Revisions come back from a JSON column; the typed side takes the same round trip so that
    # tuples, enums and dates compare as what the revision holds.
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(fields))
    return loaded


def _versioned(
    session: Session, version: int, record_ids: Collection[str]
) -> dict[str, tuple[str, str, int, dict[str, Any]]]:
    """The newest revision at or before `version` of each record in `record_ids` that has one
    and is not deleted there."""
    newest: dict[str, tuple[str, str, int, bool, dict[str, Any]]] = {}
    for chunk in _chunks(record_ids):
        query = select(
            Revision.record_id,
            Revision.record_type,
            Revision.human_id,
            Revision.kb_version,
            Revision.deleted,
            Revision.data,
        ).where(Revision.record_id.in_(chunk), Revision.kb_version <= version)
        for record_id, rtype, human_id, number, deleted, data in session.execute(query):
            known = newest.get(record_id)
            if known is None or known[2] < number:
                newest[record_id] = (rtype, human_id, number, deleted, data)
    return {
        record_id: (rtype, human_id, number, data)
        for record_id, (rtype, human_id, number, deleted, data) in newest.items()
        if not deleted
    }


def _chunks(values: Collection[str], size: int = 500) -> Iterator[list[str]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _plain_records(
    session: Session, rtype: RecordType, only: Collection[str] | None = None
) -> list[Any]:
    """Every record of `rtype` (whose id is in `only`, if given) as a plain object carrying the
    mapped class's column attributes and its link collections (ordered as the relationship
    orders them)."""
    cls = RECORD_CLASSES[rtype]
    mapper = inspect(cls)
    columns = [getattr(cls, attr.key) for attr in mapper.column_attrs]
    records: dict[str, SimpleNamespace] = {}
    queries = (
        [select(*columns)]
        if only is None
        else [select(*columns).where(cls.id.in_(chunk)) for chunk in _chunks(only)]
    )
    for query in queries:
        for row in session.execute(query):
            obj = SimpleNamespace(**row._asdict())
            records[obj.id] = obj
    if only is not None and not records:
        return []
    for name in _COLLECTIONS:
        prop = mapper.relationships.get(name)
        if prop is None:
            continue
        link_mapper = prop.mapper
        ((_parent_column, child_column),) = prop.local_remote_pairs
        owner_key = link_mapper.get_property_by_column(child_column).key
        link_query = select(*[getattr(link_mapper.class_, a.key) for a in link_mapper.column_attrs])
        if prop.order_by:
            link_query = link_query.order_by(*prop.order_by)
        owner = getattr(link_mapper.class_, owner_key)
        link_queries = (
            [link_query]
            if only is None
            else [link_query.where(owner.in_(chunk)) for chunk in _chunks(records)]
        )
        grouped: dict[str, list[Any]] = defaultdict(list)
        for query in link_queries:
            for link in session.execute(query):
                grouped[getattr(link, owner_key)].append(link)
        for obj in records.values():
            setattr(obj, name, grouped.get(obj.id, []))
    return list(records.values())
