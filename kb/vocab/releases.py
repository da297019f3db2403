"""Which vocabulary releases a KB uses: recorded on every load, read by snapshots and validation."""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kb.errors import VocabularyError
from kb.model.enums import VocabularyKind
from kb.model.orm import KbVersion, Release, VersionApproval, VocabularyRelease, VocabularyState

BATCH = 5000  # rows per INSERT when loading a release


@dataclass(frozen=True, slots=True)
class LoadResult:
    kind: VocabularyKind
    version: str
    entries: int
    sha256: str
    source: str


def open_text(path: Path) -> IO[str]:
    """A vocabulary file as text, gzipped (name ending .gz) or not."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_release(
    session: Session,
    kind: VocabularyKind,
    version: str,
    *,
    source: str,
    digest: str,
    entries: int,
    content: list[dict[str, Any]] | None = None,
) -> None:
    """Make `version` the KB's current release of `kind`, and pin it to the KB's newest version
    (`pin_state`)."""
    pin_state(session, kind, version, digest=digest, content=content)
    session.execute(
        update(VocabularyRelease).where(VocabularyRelease.kind == kind).values(current=False)
    )
    existing = session.scalars(
        select(VocabularyRelease).where(
            VocabularyRelease.kind == kind, VocabularyRelease.version == version
        )
    ).one_or_none()
    if existing is None:
        session.add(
            VocabularyRelease(
                kind=kind, version=version, source=source, sha256=digest, entries=entries
            )
        )
    else:
        existing.source, existing.sha256, existing.entries = source, digest, entries
        existing.current = True
    session.flush()


def vocabulary_versions(session: Session) -> dict[str, str]:
    """The vocabulary releases this KB uses, e.g. {"oncotree": "oncotree_2025_10_03"}."""
    rows = session.execute(
        select(VocabularyRelease.kind, VocabularyRelease.version).where(VocabularyRelease.current)
    )
    return {kind.value: version for kind, version in rows}


def pin_state(
    session: Session,
    kind: VocabularyKind,
    version: str,
    *,
    digest: str,
    content: list[dict[str, Any]] | None,
) -> int:
    """Pin a release of `kind` to the KB's newest version N (0 before any content) and return N.

    Refused when N is signed off or released: what was approved never changes, so a load after
    that goes into a version of its own (kb.review.vocabulary opens it first)."""
    number = session.scalar(select(func.max(KbVersion.number))) or 0
    if number:
        signed = session.scalar(
            select(func.count())
            .select_from(VersionApproval)
            .where(VersionApproval.kb_version == number)
        ) or session.scalar(
            select(func.count()).select_from(Release).where(Release.kb_version == number)
        )
        if signed:
            raise VocabularyError(
                f"version {number} is signed off, and a vocabulary load would change it; "
                "load through `kb vocab load` or the app, which put it in a new version"
            )
    session.execute(
        delete(VocabularyState).where(
            VocabularyState.kb_version == number, VocabularyState.kind == kind.value
        )
    )
    session.add(
        VocabularyState(
            kb_version=number, kind=kind.value, version=version, sha256=digest, content=content
        )
    )
    session.flush()
    return number


def pinned_state(session: Session, version: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """What version `version` was built with: ({kind: release}, OncoTree's tumour types in a
    snapshot's form), from the newest state of each kind pinned at or before it."""
    newest = (
        select(VocabularyState.kind, func.max(VocabularyState.kb_version).label("v"))
        .where(VocabularyState.kb_version <= version)
        .group_by(VocabularyState.kind)
        .subquery()
    )
    rows = session.execute(
        select(VocabularyState.kind, VocabularyState.version, VocabularyState.content).join(
            newest,
            (VocabularyState.kind == newest.c.kind) & (VocabularyState.kb_version == newest.c.v),
        )
    ).all()
    versions = {kind: release for kind, release, _ in rows}
    tumour_types = next(
        (list(content or []) for kind, _, content in rows if kind == VocabularyKind.ONCOTREE.value),
        [],
    )
    return versions, tumour_types
