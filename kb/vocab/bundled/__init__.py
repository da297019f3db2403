"""Vocabulary releases shipped in the package (see NOTICE.md), for the demo and offline use."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from kb.vocab.doid import load_doid
from kb.vocab.hgnc import load_hgnc
from kb.vocab.oncotree import load_oncotree
from kb.vocab.releases import LoadResult

FOLDER = Path(__file__).resolve().parent
ONCOTREE = FOLDER / "oncotree_2025_10_03.json.gz"
ONCOTREE_RELEASE = "oncotree_2025_10_03"
HGNC = FOLDER / "hgnc_genes.tsv.gz"
HGNC_RELEASE = "hgnc-2022-matchminer"
DOID_RELEASE = "doid-2026-07-31"
KINDS = ("oncotree", "hgnc", "doid")


def load_bundled(session: Session, kind: str) -> LoadResult:
    """Load the bundled release of `kind` (oncotree, hgnc or doid) into the KB."""
    if kind == "oncotree":
        return load_oncotree(
            session, ONCOTREE, version=ONCOTREE_RELEASE, source="bundled: OncoTree (CC BY 4.0)"
        )
    if kind == "hgnc":
        return load_hgnc(session, HGNC, version=HGNC_RELEASE, source="bundled: HGNC (CC0)")
    if kind == "doid":
        return load_doid(
            session, FOLDER, version=DOID_RELEASE, source="bundled: Disease Ontology (CC0)"
        )
    raise ValueError(f"no bundled vocabulary {kind!r}; expected one of {', '.join(KINDS)}")


def load_all_bundled(session: Session) -> list[LoadResult]:
    """OncoTree, HGNC and the Disease Ontology, in that order."""
    return [load_bundled(session, kind) for kind in KINDS]
