"""The KB's identity and summary: its id, name, newest version and vocabularies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model.orm import KbMeta, utcnow
from kb.model.records import count_records
from kb.storage.revisions import current_version
from kb.vocab.releases import vocabulary_versions


@dataclass(frozen=True, slots=True)
class KbInfo:
    kb_id: str | None
    name: str | None
    version: int
    vocabularies: dict[str, str]
    counts: dict[str, int]

    @property
    def initialised(self) -> bool:
        return self.kb_id is not None


def get_meta(session: Session, key: str) -> str | None:
    return session.scalar(select(KbMeta.value).where(KbMeta.key == key))


def initialise(session: Session, *, name: str) -> str:
    """Give a new KB its identity; returns its kb_id. A KB is initialised once."""
    existing = get_meta(session, "kb_id")
    if existing:
        return existing
    kb_id = str(uuid.uuid4())
    session.add_all(
        [
            KbMeta(key="kb_id", value=kb_id),
            KbMeta(key="name", value=name),
            KbMeta(key="created", value=utcnow().isoformat(timespec="seconds")),
        ]
    )
    session.flush()
    return kb_id


def kb_info(session: Session) -> KbInfo:
    """A summary of the KB, as plain data."""
    return KbInfo(
        kb_id=get_meta(session, "kb_id"),
        name=get_meta(session, "name"),
        version=current_version(session),
        vocabularies=vocabulary_versions(session),
        counts={rtype.value: count for rtype, count in count_records(session).items()},
    )
