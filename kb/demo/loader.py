"""The demo KB: real FDA-approved indications we curated ourselves (see kb/demo_data.py).

It ships only the vocabulary entries it uses; the full OncoTree and HGNC come from
`kb vocab load` / `kb vocab fetch`, after which `kb validate` checks the demo against them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.demo import data
from kb.errors import KbError
from kb.model.enums import RecordType
from kb.model.orm import KbVersion
from kb.model.records import Writer
from kb.storage.revisions import new_version, write_revision
from kb.vocab.hgnc import load_hgnc_rows
from kb.vocab.oncotree import TumourTypeRow, load_tumour_type_rows

# The order records are created in: each refers only to types before it.
_PLAN: tuple[tuple[RecordType, str, tuple[str, ...]], ...] = (
    (RecordType.GENE, "GENES", ()),
    (RecordType.BIOMARKER, "BIOMARKERS", ()),
    (RecordType.THRESHOLD, "THRESHOLDS", ()),
    (RecordType.EXPRESSION, "EXPRESSIONS", ()),
    (RecordType.DRUG, "DRUGS", ()),
    (RecordType.THERAPY, "THERAPIES", ("drugs",)),
    (RecordType.CITATION, "CITATIONS", ()),
    (RecordType.APPROVAL, "APPROVALS", ("therapy", "citation")),
    (RecordType.ASSERTION, "ASSERTIONS", ("expression", "therapy", "citations")),
    (RecordType.TRIAL, "TRIALS", ("citations",)),
    (RecordType.TRIAL_ARM, "TRIAL_ARMS", ("trial", "expression", "therapy")),
)
_REF_TYPES = {
    "gene": RecordType.GENE,
    "partner_5": RecordType.GENE,
    "partner_3": RecordType.GENE,
    "exclusions": RecordType.BIOMARKER,
    "drugs": RecordType.DRUG,
    "therapy": RecordType.THERAPY,
    "citation": RecordType.CITATION,
    "citations": RecordType.CITATION,
    "expression": RecordType.EXPRESSION,
    "trial": RecordType.TRIAL,
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    version: int
    counts: dict[str, int]


def build_demo(
    session: Session, *, author: str, progress: Callable[[int, int], None] | None = None
) -> DemoSummary:
    """Fill an empty KB with the demo records as KB version 1."""
    if session.scalar(select(KbVersion.number).limit(1)) is not None:
        raise KbError("the KB already has content; the demo goes only into an empty KB")
    load_tumour_type_rows(
        session,
        [
            TumourTypeRow(
                row["code"],
                row["name"],
                row["main_type"],
                row["tissue"],
                row["parent"],
                row["level"],
            )
            for row in data.TUMOUR_TYPES
        ],
        version=data.ONCOTREE_RELEASE,
        source="KB Curator demo subset",
    )
    load_hgnc_rows(
        session,
        [
            (
                {
                    "hgnc_id": g["hgnc_id"],
                    "symbol": g["symbol"],
                    "name": g["name"],
                    "entrez_id": None,
                },
                list(g.get("aliases", [])),
                [],
            )
            for g in data.GENES
        ],
        version=data.HGNC_VERSION,
        source="KB Curator demo subset",
    )
    version = new_version(session, author=author, note="demo KB")
    writer = Writer(session, kb_version=version.number)
    human: dict[tuple[RecordType, str], str] = {}
    total = sum(len(getattr(data, name)) for _, name, _ in _PLAN)
    done = 0
    counts: dict[str, int] = {}
    for rtype, name, _ in _PLAN:
        for item in getattr(data, name):
            fields = _fields(rtype, item, human)
            obj = writer.create(rtype, fields)
            human[(rtype, item["key"])] = obj.human_id
            write_revision(session, rtype, obj, version=version.number, ids=writer.ids)
            done += 1
            if progress:
                progress(done, total)
        counts[rtype.value] = len(getattr(data, name))
    return DemoSummary(version.number, counts)


def _fields(
    rtype: RecordType, item: Mapping[str, Any], human: Mapping[tuple[RecordType, str], str]
) -> dict[str, Any]:
    def ref(target: RecordType, key: str | None) -> str | None:
        if key is None:
            return None
        try:
            return human[(target, key)]
        except KeyError:
            raise KbError(
                f"demo data: {rtype} {item['key']} refers to unknown {target} {key}"
            ) from None

    fields: dict[str, Any] = {}
    for name, value in item.items():
        if name == "key":
            continue
        if rtype is RecordType.EXPRESSION and name == "tree":
            fields["tree"] = _tree(value, ref)
        elif name in _REF_TYPES and rtype is not RecordType.GENE:
            target = _REF_TYPES[name]
            fields[name] = (
                [ref(target, key) for key in value]
                if isinstance(value, list)
                else ref(target, value)
            )
        else:
            fields[name] = value
    return fields


def _tree(node: Mapping[str, Any], ref: Callable[[RecordType, str | None], str | None]) -> Any:
    if "op" in node:
        return {"op": node["op"], "args": [_tree(arg, ref) for arg in node["args"]]}
    leaf = {"biomarker": ref(RecordType.BIOMARKER, node["biomarker"])}
    if node.get("threshold"):
        leaf["threshold"] = ref(RecordType.THRESHOLD, node["threshold"])
    return leaf


# Demo accounts, one per role, so a new user can try the whole review and release cycle.
# Their passwords are public: they exist only in a KB built with `kb init --demo`.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "demo-admin"),
    ("curator", "curator", "demo-curator"),
    ("reviewer", "reviewer", "demo-reviewer"),
    ("reviewer2", "reviewer", "demo-reviewer2"),
    ("releaser", "release-manager", "demo-releaser"),
)


def create_demo_users(session: Session) -> dict[str, str]:
    """Add the demo accounts and have the demo reviewer approve version 1; returns
    name -> password for the caller to show."""
    from kb.model.enums import ApprovalMeaning, Role
    from kb.review.users import add_user, bootstrap_admin
    from kb.review.versions import approve_version

    name, _, password = DEMO_USERS[0]
    admin = bootstrap_admin(session, name=name, password=password)
    actors = {
        user: add_user(session, actor=admin, name=user, role=Role(role), password=secret)
        for user, role, secret in DEMO_USERS[1:]
    }
    approve_version(
        session,
        actor=actors["reviewer"],
        version=1,
        meaning=ApprovalMeaning.APPROVED,
        reason="Demo KB as shipped: indications checked against the FDA labels cited",
    )
    return {user: secret for user, _, secret in DEMO_USERS}
