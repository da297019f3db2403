"""The demo KB, built exactly as a team builds its own: the demo team's accounts, the
vocabularies loaded from files, the content imported from `resources/demo/kb.yaml` as the demo
curator's change set, submitted, approved by the demo reviewer as a new KB version, and that
version signed off.

The vocabularies are the releases bundled in the package (kb/vocab/bundled/NOTICE.md): the
whole OncoTree, HGNC and Disease Ontology, so the demo matches any OncoTree code.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.importing.service import import_file
from kb.model.enums import ApprovalMeaning, Role
from kb.model.orm import KbMeta, KbVersion, User
from kb.review.changes import approve_change_set, submit_change_set
from kb.review.users import Actor, add_user, bootstrap_admin
from kb.review.versions import approve_version
from kb.storage.meta import get_meta
from kb.vocab.bundled import ONCOTREE as BUNDLED_ONCOTREE
from kb.vocab.bundled import load_all_bundled
from kb.vocab.oncotree import parse_oncotree

# resources/ sits beside kb/ in the source tree (the project installs editable, as migrations/).
DEMO_DIR = Path(__file__).resolve().parents[2] / "resources" / "demo"
DEMO_RECORDS = DEMO_DIR / "kb.yaml"

# Demo accounts, one per role, so a new user can try the whole review and release cycle.
# Their passwords are public: they exist only in a KB built as the demo.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "demo-admin"),
    ("curator", "curator", "demo-curator"),
    ("reviewer", "reviewer", "demo-reviewer"),
    ("reviewer2", "reviewer", "demo-reviewer2"),
    ("releaser", "release-manager", "demo-releaser"),
)


# kb_meta key a demo KB carries, so the app can say where its public passwords are.
DEMO_MARK = "demo_accounts"


def demo_accounts(session: Session) -> dict[str, str]:
    """The demo accounts (name -> password) if this KB was built as the demo, else {}."""
    if get_meta(session, DEMO_MARK) is None:
        return {}
    return {name: password for name, _, password in DEMO_USERS}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo build made: the approved version, records per type, the change set that
    brought them, and the demo accounts (name -> password)."""

    version: int
    counts: dict[str, int]
    change_set: str
    accounts: dict[str, str] = field(default_factory=dict)


def build_demo(
    session: Session, *, progress: Callable[[int, int], None] | None = None
) -> DemoSummary:
    """Build the demo into a new KB (no content, no users) in the caller's unit of work."""
    if session.scalar(select(KbVersion.number).limit(1)) is not None:
        raise KbError("the KB already has content; the demo goes only into an empty KB")
    if session.scalar(select(func.count()).select_from(User)):
        raise KbError(
            "the KB already has users; the demo, with its own team of accounts, goes only into "
            "a new KB (kb init --demo --db NEW)"
        )
    team = _create_team(session)
    session.add(KbMeta(key=DEMO_MARK, value=",".join(name for name, _, _ in DEMO_USERS)))
    load_all_bundled(session)
    curator, reviewer = team["curator"], team["reviewer"]
    outcome = import_file(
        session,
        DEMO_RECORDS,
        profile="kb-records",
        actor=curator,
        dry_run=False,
        progress=progress,
    )
    if outcome.change_set_id is None:  # pragma: no cover - the file always proposes records
        raise KbError(f"{DEMO_RECORDS.name}: proposes no records")
    submit_change_set(session, actor=curator, change_set_id=outcome.change_set_id)
    merged = approve_change_set(session, actor=reviewer, change_set_id=outcome.change_set_id)
    approve_version(
        session,
        actor=reviewer,
        version=merged.version,
        meaning=ApprovalMeaning.APPROVED,
        reason="Demo KB as shipped: indications checked against the FDA labels cited",
        password=_password("reviewer"),
    )
    return DemoSummary(
        version=merged.version,
        counts={str(rtype): c.new for rtype, c in sorted(outcome.preview.by_type.items())},
        change_set=merged.change_set,
        accounts={name: password for name, _, password in DEMO_USERS},
    )


def demo_tumour_types() -> list[dict[str, Any]]:
    """The bundled OncoTree in a snapshot's form (code, name, main_type, tissue, parent, level),
    for benchmarks and tools that build snapshots without a database."""
    with gzip.open(BUNDLED_ONCOTREE) as handle:
        rows = parse_oncotree(json.load(handle), str(BUNDLED_ONCOTREE))
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "main_type": row["main_type"],
            "tissue": row["tissue"],
            "parent": row["parent_code"],
            "level": row["level"],
        }
        for row in rows
    ]


def _password(user: str) -> str:
    return next(secret for name, _, secret in DEMO_USERS if name == user)


def _create_team(session: Session) -> dict[str, Actor]:
    name, _, password = DEMO_USERS[0]
    admin = bootstrap_admin(session, name=name, password=password)
    team = {name: admin}
    for user, role, secret in DEMO_USERS[1:]:
        team[user] = add_user(session, actor=admin, name=user, role=Role(role), password=secret)
    return team
