"""The Disease Ontology (DO): terms, their parents and cross-references, and the DOID -> OncoTree
crosswalk derived from them.

Sources name diseases by DOID (CIViC does); the KB scopes knowledge by OncoTree code. Both
vocabularies carry NCI Thesaurus and UMLS codes (DO in its cross-references, OncoTree in each
node's externalReferences), so a DOID maps to the OncoTree nodes that share one of its codes:
an *exact* match. A DOID with no such node takes its nearest ancestor's match: a *broader* one,
which a curator should confirm (lung adenocarcinoma of a rare subtype -> LUAD, say). The
crosswalk is derived again whenever either vocabulary is loaded, and records how each entry was
found.

Files: the DO release's `HumanDO.tsv` (id, label, subClassOf as the parent's label; one row per
term and parent) and `allXREFinDO.tsv` (id, label, xref), as the DiseaseOntology project
publishes them under DOreports/.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kb.errors import VocabularyError
from kb.model.enums import CrosswalkKind, VocabularyKind
from kb.model.orm import DoidOncotree, DoidTerm, DoidXref, TumourType
from kb.vocab.releases import BATCH, LoadResult, open_text, record_release

TERMS_FILE = "HumanDO.tsv"
XREFS_FILE = "allXREFinDO.tsv"
_DOID = re.compile(r"^DOID:(\d+)$")
# Terms too general to derive anything from: "cancer" shares its NCI code (C9305, malignant
# neoplasm) with OncoTree's brain-tumour node MT, and everything else descends from these.
# A curator maps them (cancer -> ALL_TUMOURS) where a source uses them.
_TOO_GENERAL = frozenset({"DOID:4", "DOID:14566", "DOID:162"})
# Cross-reference prefixes both vocabularies carry, in DO's spelling and OncoTree's.
_DO_PREFIX = {"NCI": "NCI", "UMLS_CUI": "UMLS"}
_ONCOTREE_PREFIX = {"NCI": "NCI", "UMLS": "UMLS"}


def doid_number(value: str | int) -> int | None:
    """ "DOID:0050929", "50929" or 50929 -> 50929: sources drop DO's leading zeros."""
    text = str(value).strip().upper()
    if text.startswith("DOID:"):
        text = text[5:]
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class ParsedDo:
    terms: dict[str, str]  # doid -> label
    parents: dict[str, list[str]]  # doid -> parent doids
    xrefs: list[tuple[str, str]]  # (doid, "NCI:C3512")


def _rows(handle: IO[str], source: str, columns: tuple[str, ...]) -> Iterator[list[str]]:
    reader = csv.reader(handle, delimiter="\t", quotechar='"')
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise VocabularyError(f"{source}: the file is empty") from None
    if tuple(header[: len(columns)]) != columns:
        raise VocabularyError(
            f"{source}: line 1: expected the columns {', '.join(columns)}; found "
            + ", ".join(header)
        )
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < len(columns):
            raise VocabularyError(
                f"{source}: line {number}: expected {len(columns)} tab-separated values"
            )
        yield row


def parse_doid(terms: IO[str], xrefs: IO[str], *, source: str) -> ParsedDo:
    """Read DO's term and cross-reference reports (see the module docstring)."""
    labels: dict[str, str] = {}
    parent_labels: dict[str, list[str]] = defaultdict(list)
    for row in _rows(terms, f"{source}/{TERMS_FILE}", ("id", "label", "subclassof")):
        doid = row[0].strip()
        if not _DOID.match(doid):
            raise VocabularyError(f"{source}/{TERMS_FILE}: {doid!r} is not a DOID")
        labels[doid] = row[1].strip()
        if row[2].strip():
            parent_labels[doid].append(row[2].strip())
    by_label: dict[str, str] = {}
    for doid, label in labels.items():
        by_label.setdefault(label, doid)
    parents = {
        doid: [by_label[label] for label in names if label in by_label]
        for doid, names in parent_labels.items()
    }
    found: list[tuple[str, str]] = []
    for row in _rows(xrefs, f"{source}/{XREFS_FILE}", ("id", "label", "xref")):
        doid, xref = row[0].strip(), row[2].strip()
        prefix, _, code = xref.partition(":")
        if doid in labels and prefix in _DO_PREFIX and code:
            found.append((doid, f"{_DO_PREFIX[prefix]}:{code}"))
    if not labels:
        raise VocabularyError(f"{source}/{TERMS_FILE}: no terms")
    return ParsedDo(labels, parents, found)


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise VocabularyError(f"{folder}: no {name} (DO's DOreports/{name}) in this folder")


def load_doid(
    session: Session, path: Path, *, version: str | None = None, source: str | None = None
) -> LoadResult:
    """Replace the KB's Disease Ontology with the release in `path`: a folder holding
    HumanDO.tsv and allXREFinDO.tsv (or .gz), or the HumanDO.tsv beside its allXREFinDO.tsv."""
    folder = path if path.is_dir() else path.parent
    terms_path = path if path.is_file() else _find(folder, TERMS_FILE)
    xrefs_path = _find(folder, XREFS_FILE)
    digest = hashlib.sha256()
    for part in (terms_path, xrefs_path):
        digest.update(part.read_bytes())
    try:
        with open_text(terms_path) as terms, open_text(xrefs_path) as xrefs:
            parsed = parse_doid(terms, xrefs, source=str(folder))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise VocabularyError(f"{path}: not readable as Disease Ontology reports: {exc}") from None
    sha = digest.hexdigest()
    version = version or f"doid-{sha[:12]}"
    session.execute(delete(DoidXref))
    session.execute(delete(DoidTerm))
    terms_rows = [
        {"doid": doid, "label": label, "parents": parsed.parents.get(doid, []), "release": version}
        for doid, label in parsed.terms.items()
    ]
    for start in range(0, len(terms_rows), BATCH):
        session.execute(insert(DoidTerm), terms_rows[start : start + BATCH])
    xref_rows = [{"doid": doid, "xref": xref} for doid, xref in sorted(set(parsed.xrefs))]
    for start in range(0, len(xref_rows), BATCH):
        session.execute(insert(DoidXref), xref_rows[start : start + BATCH])
    record_release(
        session,
        VocabularyKind.DOID,
        version,
        source=source or str(path),
        digest=sha,
        entries=len(terms_rows),
    )
    derive_crosswalk(session)
    return LoadResult(VocabularyKind.DOID, version, len(terms_rows), sha, source or str(path))


def oncotree_xrefs(node: Mapping[str, Any]) -> list[str]:
    """An OncoTree node's externalReferences as ["NCI:C3512", "UMLS:C0152013", …]."""
    references = node.get("externalReferences") or {}
    out: list[str] = []
    if isinstance(references, dict):
        for prefix, codes in sorted(references.items()):
            if prefix in _ONCOTREE_PREFIX and isinstance(codes, list):
                out.extend(f"{_ONCOTREE_PREFIX[prefix]}:{code}" for code in codes if code)
    return out


def derive_crosswalk(session: Session) -> int:
    """Derive DOID -> OncoTree from the loaded DO and OncoTree; returns the DOIDs mapped.
    Nothing is derived until both are loaded."""
    session.execute(delete(DoidOncotree))
    tumour_rows = session.execute(
        select(TumourType.code, TumourType.path, TumourType.xrefs, TumourType.name).add_columns(
            TumourType.main_type
        )
    ).all()
    if not tumour_rows:
        return 0
    by_xref: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    paths: dict[str, str] = {}
    for code, tumour_path, xrefs, name, main_type in tumour_rows:
        paths[code] = tumour_path
        for xref in xrefs or ():
            by_xref[xref].add(code)
        for text in (name, main_type):
            if text:
                by_name[_name_key(text)].add(code)
    exact: dict[str, tuple[list[str], str]] = {}
    for doid, xref in session.execute(select(DoidXref.doid, DoidXref.xref)).all():
        sharing = by_xref.get(xref)
        if sharing and doid not in _TOO_GENERAL:
            found, via = exact.get(doid, ([], ""))
            exact[doid] = (sorted(set(found) | sharing), via or xref)
    terms = session.execute(select(DoidTerm.doid, DoidTerm.label, DoidTerm.parents)).all()
    parents = {doid: term_parents for doid, _, term_parents in terms}
    named: dict[str, tuple[list[str], str]] = {}
    for doid, label, _ in terms:
        sharing = by_name.get(_name_key(label))
        if sharing and doid not in exact and doid not in _TOO_GENERAL:
            named[doid] = (sorted(sharing), f"name {label!r}")
    rows: list[dict[str, Any]] = []
    for doid in parents:
        if doid in exact:
            mapped, via = exact[doid]
            rows.append(_row(doid, _outermost(mapped, paths), CrosswalkKind.EXACT, via))
            continue
        if doid in named:
            mapped, via = named[doid]
            rows.append(_row(doid, _outermost(mapped, paths), CrosswalkKind.NAME, via))
            continue
        ancestor = _nearest_mapped(doid, parents, exact)
        if ancestor is not None:
            mapped, via = exact[ancestor]
            rows.append(
                _row(doid, _outermost(mapped, paths), CrosswalkKind.BROADER, f"{ancestor} {via}")
            )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(DoidOncotree), rows[start : start + BATCH])
    return len(rows)


def _name_key(text: str) -> str:
    return " ".join(text.casefold().split())


def _row(doid: str, codes: list[str], kind: CrosswalkKind, via: str) -> dict[str, Any]:
    return {"doid": doid, "codes": codes, "kind": kind, "via": via}


def _outermost(codes: Iterable[str], paths: Mapping[str, str]) -> list[str]:
    """Drop codes that descend from another code of the list: the rule covers them anyway."""
    chosen = sorted(set(codes), key=lambda code: len(paths[code]))
    kept: list[str] = []
    for code in chosen:
        if not any(paths[code].startswith(paths[other]) for other in kept):
            kept.append(code)
    return sorted(kept)


def _nearest_mapped(
    doid: str, parents: Mapping[str, list[str]], exact: Mapping[str, object]
) -> str | None:
    """The closest ancestor (fewest steps up; the lowest DOID among equals) with an exact match."""
    seen = {doid}
    queue = deque([(doid, 0)])
    best: tuple[int, str] | None = None
    while queue:
        current, depth = queue.popleft()
        if best is not None and depth > best[0]:
            break
        for parent in parents.get(current, ()):
            if parent in seen:
                continue
            seen.add(parent)
            if parent in exact:
                if best is None or (depth + 1, parent) < best:
                    best = (depth + 1, parent)
            else:
                queue.append((parent, depth + 1))
    return best[1] if best else None


@dataclass(frozen=True, slots=True)
class DiseaseMapping:
    """Where a DOID lands in OncoTree, and how that was found."""

    doid: str
    label: str
    codes: tuple[str, ...]
    kind: CrosswalkKind
    via: str

    def describe(self) -> str:
        codes = ", ".join(self.codes)
        how = {
            CrosswalkKind.EXACT: "exact:",
            CrosswalkKind.NAME: "same",
            CrosswalkKind.BROADER: "broader, through",
        }[self.kind]
        return f"{self.doid} {self.label} -> {codes} ({how} {self.via})"


class DoidCrosswalk:
    """The derived crosswalk, read once: `get(doid)` answers in memory."""

    def __init__(self, mappings: Iterable[DiseaseMapping], labels: Mapping[str, str]):
        self._mappings = {doid_number(m.doid): m for m in mappings}
        self._labels = {doid_number(doid): label for doid, label in labels.items()}

    @classmethod
    def from_session(cls, session: Session) -> DoidCrosswalk:
        labels = dict(session.execute(select(DoidTerm.doid, DoidTerm.label)).all())
        mappings = [
            DiseaseMapping(doid, labels.get(doid, ""), tuple(codes), CrosswalkKind(kind), via)
            for doid, codes, kind, via in session.execute(
                select(DoidOncotree.doid, DoidOncotree.codes, DoidOncotree.kind, DoidOncotree.via)
            )
        ]
        return cls(mappings, labels)

    def __len__(self) -> int:
        return len(self._mappings)

    def get(self, doid: str | int) -> DiseaseMapping | None:
        return self._mappings.get(doid_number(doid))

    def label(self, doid: str | int) -> str | None:
        return self._labels.get(doid_number(doid))

    def known(self, doid: str | int) -> bool:
        return doid_number(doid) in self._labels
