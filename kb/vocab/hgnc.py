"""HGNC: loading the approved gene symbols and their aliases, and looking a symbol up."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kb.errors import VocabularyError
from kb.model.enums import VocabularyKind
from kb.model.orm import HgncGene, HgncSynonym
from kb.vocab.releases import BATCH, LoadResult, open_text, record_release, sha256_file

HGNC_URL = "https://storage.googleapis.com/public-download-files/hgnc/tsv/tsv/hgnc_complete_set.txt"

_HGNC_COLUMNS: dict[str, tuple[str, ...]] = {
    "hgnc_id": ("hgnc id", "hgnc_id"),
    "symbol": ("approved symbol", "symbol"),
    "name": ("approved name", "name"),
    "aliases": ("synonyms", "alias symbols", "alias_symbol"),
    "previous": ("previous symbols", "prev_symbol"),
    "entrez_id": ("entrez gene id", "ncbi gene id", "entrez_id", "ncbi gene id(supplied by ncbi)"),
}

_SPLIT = re.compile(r"[|,]\s*")


def _hgnc_header(header: list[str], source: str) -> dict[str, int]:
    lowered = [column.strip().strip('"').lower() for column in header]
    found: dict[str, int] = {}
    for key, names in _HGNC_COLUMNS.items():
        for name in names:
            if name in lowered:
                found[key] = lowered.index(name)
                break
    missing = [key for key in ("hgnc_id", "symbol", "name") if key not in found]
    if missing:
        raise VocabularyError(
            f"{source}: line 1: missing HGNC column(s) {', '.join(missing)}; expected a "
            "tab-separated HGNC export with 'HGNC ID', 'Approved Symbol' and 'Approved Name' "
            "(or the complete set's hgnc_id, symbol, name)"
        )
    return found


def parse_hgnc(
    lines: Iterable[str], source: str
) -> Iterator[tuple[dict[str, Any], list[str], list[str]]]:
    """Yield (gene row, aliases, previous symbols) for each line of an HGNC TSV export."""
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = next(reader)
    except StopIteration:
        raise VocabularyError(f"{source}: the file is empty") from None
    columns = _hgnc_header(header, source)
    for line_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index].strip().strip('"') if index is not None and index < len(row) else ""

        hgnc_id, symbol = cell("hgnc_id"), cell("symbol")
        if not hgnc_id.startswith("HGNC:") or not symbol:
            raise VocabularyError(
                f"{source}: line {line_number}: expected an HGNC id like HGNC:3236 and a symbol, "
                f"got {hgnc_id!r} and {symbol!r}"
            )
        aliases = [a for a in _SPLIT.split(cell("aliases")) if a]
        previous = [p for p in _SPLIT.split(cell("previous")) if p]
        yield (
            {
                "hgnc_id": hgnc_id,
                "symbol": symbol,
                "name": cell("name"),
                "entrez_id": cell("entrez_id") or None,
            },
            aliases,
            previous,
        )


def load_hgnc(
    session: Session, path: Path, *, version: str | None = None, source: str | None = None
) -> LoadResult:
    """Replace the KB's HGNC gene list with a TSV export."""
    digest = sha256_file(path)
    version = version or f"hgnc-{digest[:12]}"
    try:
        with open_text(path) as handle:
            parsed = list(parse_hgnc(handle, str(path)))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"{path}: not readable as an HGNC TSV export: {exc}") from None
    return load_hgnc_rows(
        session, parsed, version=version, source=source or str(path), digest=digest
    )


def load_hgnc_rows(
    session: Session,
    parsed: list[tuple[dict[str, Any], list[str], list[str]]],
    *,
    version: str,
    source: str,
    digest: str | None = None,
) -> LoadResult:
    genes = [{**gene, "release": version} for gene, _, _ in parsed]
    symbols = {gene["symbol"].upper() for gene in genes}
    synonyms: dict[tuple[str, str], str] = {}
    for gene, aliases, previous in parsed:
        for kind, names in (("previous", previous), ("alias", aliases)):
            for name in names:
                key = (name.upper(), gene["hgnc_id"])
                if name.upper() not in symbols and key not in synonyms:
                    synonyms[key] = kind
    session.execute(delete(HgncSynonym))
    session.execute(delete(HgncGene))
    for start in range(0, len(genes), BATCH):
        session.execute(insert(HgncGene), genes[start : start + BATCH])
    rows = [{"synonym": s, "hgnc_id": h, "kind": k} for (s, h), k in synonyms.items()]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(HgncSynonym), rows[start : start + BATCH])
    digest = digest or hashlib.sha256(json.dumps(genes, sort_keys=True).encode()).hexdigest()
    record_release(
        session, VocabularyKind.HGNC, version, source=source, digest=digest, entries=len(genes)
    )
    return LoadResult(VocabularyKind.HGNC, version, len(genes), digest, source)


@dataclass(frozen=True, slots=True)
class GeneLookup:
    hgnc_id: str | None
    symbol: str | None
    suggestion: str | None
    reason: str | None


def lookup_symbol(session: Session, symbol: str) -> GeneLookup:
    """Is `symbol` approved? If not, the approved symbol it is an alias or previous symbol of."""
    hit = session.execute(
        select(HgncGene.hgnc_id, HgncGene.symbol).where(HgncGene.symbol == symbol)
    ).first()
    if hit:
        return GeneLookup(hit[0], hit[1], None, None)
    rows = session.execute(
        select(HgncGene.symbol, HgncSynonym.kind)
        .join(HgncGene, HgncGene.hgnc_id == HgncSynonym.hgnc_id)
        .where(HgncSynonym.synonym == symbol.upper())
        .order_by(HgncSynonym.kind.desc(), HgncGene.symbol)
    ).all()
    if rows:
        symbol_to, kind = rows[0]
        return GeneLookup(None, None, symbol_to, f"{kind} symbol of {symbol_to}")
    return GeneLookup(None, None, None, None)
