"""Which vocabulary releases a KB uses: recorded on every load, read by snapshots and validation."""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.model.enums import VocabularyKind
from kb.model.orm import VocabularyRelease

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
) -> None:
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
