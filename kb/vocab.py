"""Vocabularies: OncoTree tumour types and HGNC genes, loaded from official release files.

Loading replaces the KB's copy of that vocabulary in one transaction and records the release
(version, source, sha256, entry count) as the one the KB uses. A file that cannot be read fails
with the file, line or node, and what was expected; the KB keeps its previous vocabulary.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from kb import __version__
from kb.enums import ALL_LIQUID, ALL_SOLID, ALL_TUMOURS, LIQUID_TISSUES, VocabularyKind
from kb.errors import VocabularyError
from kb.model import HgncGene, HgncSynonym, TumourType, VocabularyRelease

ONCOTREE_URL = "https://oncotree.info/api/tumorTypes/tree"
HGNC_URL = "https://storage.googleapis.com/public-download-files/hgnc/tsv/tsv/hgnc_complete_set.txt"
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
TIMEOUT = (10, 60)
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class LoadResult:
    kind: VocabularyKind
    version: str
    entries: int
    sha256: str
    source: str


@dataclass(frozen=True, slots=True)
class TumourTypeRow:
    code: str
    name: str
    main_type: str | None
    tissue: str | None
    parent_code: str | None
    level: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- OncoTree -----------------------------------------------------------------------------

_ONCOTREE_VERSION = re.compile(r"oncotree_\d{4}_\d{2}_\d{2}")


def oncotree_version_from_name(path: Path) -> str | None:
    match = _ONCOTREE_VERSION.search(path.name)
    return match.group(0) if match else None


def parse_oncotree(data: Any, source: str) -> list[dict[str, Any]]:
    """Flatten an OncoTree nested JSON release into rows with materialised paths."""
    if not isinstance(data, dict) or not data:
        raise VocabularyError(f"{source}: expected an OncoTree tree (a JSON object with 'TISSUE')")
    roots = list(data.values()) if "TISSUE" in data else [data]
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack: list[tuple[Any, str, str]] = [(root, "", "") for root in roots]
    while stack:
        node, parent_path, where = stack.pop()
        if not isinstance(node, dict):
            raise VocabularyError(f"{source}: node under {where or 'root'} is not an object")
        code = node.get("code")
        name = node.get("name")
        if not isinstance(code, str) or not code or not isinstance(name, str):
            raise VocabularyError(
                f"{source}: node under {where or 'root'} lacks a 'code' and 'name' "
                "(expected an official OncoTree JSON tree)"
            )
        code = code.strip().upper()
        if code in seen:
            raise VocabularyError(f"{source}: code {code} appears twice")
        seen.add(code)
        level = node.get("level")
        path = f"{parent_path}/{code}" if parent_path else f"/{code}"
        rows.append(
            {
                "code": code,
                "name": name,
                "main_type": node.get("mainType"),
                "tissue": node.get("tissue"),
                "parent_code": node.get("parent") or (where or None),
                "level": int(level) if isinstance(level, int) else path.count("/") - 1,
                "path": path + "/",
                "previous_codes": [str(c) for c in node.get("history") or []],
                "revoked_codes": [str(c) for c in node.get("revocations") or []]
                + [str(c) for c in node.get("precursors") or []],
            }
        )
        children = node.get("children") or {}
        if isinstance(children, dict):
            children = list(children.values())
        if not isinstance(children, list):
            raise VocabularyError(f"{source}: children of {code} are not a list or object")
        for child in reversed(children):
            stack.append((child, path, code))
    return rows


def load_oncotree(
    session: Session, path: Path, *, version: str | None = None, source: str | None = None
) -> LoadResult:
    """Replace the KB's tumour types with an OncoTree release read from a JSON file."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VocabularyError(f"{path}: not readable as OncoTree JSON: {exc}") from None
    version = version or oncotree_version_from_name(path)
    if not version:
        raise VocabularyError(
            f"{path}: cannot tell the OncoTree release from the file name; "
            "pass --version (e.g. oncotree_2025_10_03)"
        )
    rows = parse_oncotree(data, str(path))
    return _replace_tumour_types(session, rows, version, source or str(path), sha256_file(path))


def load_tumour_type_rows(
    session: Session, rows: Iterable[TumourTypeRow], *, version: str, source: str
) -> LoadResult:
    """Load a subset of OncoTree (the demo KB ships only the codes it uses)."""
    by_code = {row.code: row for row in rows}
    flat: list[dict[str, Any]] = []
    for row in by_code.values():
        chain, parent = [row.code], row.parent_code
        while parent:
            chain.append(parent)
            parent = by_code[parent].parent_code if parent in by_code else None
        flat.append(
            {
                "code": row.code,
                "name": row.name,
                "main_type": row.main_type,
                "tissue": row.tissue,
                "parent_code": row.parent_code,
                "level": row.level,
                "path": "/" + "/".join(reversed(chain)) + "/",
                "previous_codes": [],
                "revoked_codes": [],
            }
        )
    digest = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()
    return _replace_tumour_types(session, flat, version, source, digest)


def _replace_tumour_types(
    session: Session, rows: list[dict[str, Any]], version: str, source: str, digest: str
) -> LoadResult:
    session.execute(delete(TumourType))
    for start in range(0, len(rows), _BATCH):
        batch = [{**row, "release": version} for row in rows[start : start + _BATCH]]
        session.execute(insert(TumourType), batch)
    _record_release(
        session, VocabularyKind.ONCOTREE, version, source=source, digest=digest, entries=len(rows)
    )
    return LoadResult(VocabularyKind.ONCOTREE, version, len(rows), digest, source)


def _record_release(
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


class TumourTree:
    """An in-memory view of the loaded OncoTree for fast ancestry questions.

    Built once (about 900 nodes); `descendants`, `ancestors` and `is_within` are dictionary and
    set look-ups, so matching thousands of patients never touches the database.
    """

    def __init__(self, rows: Iterable[tuple[str, str | None, str | None, str]]) -> None:
        self.parent: dict[str, str | None] = {}
        self.tissue: dict[str, str | None] = {}
        self.name: dict[str, str] = {}
        children: dict[str, list[str]] = {}
        for code, parent, tissue, name in rows:
            self.parent[code] = parent
            self.tissue[code] = tissue
            self.name[code] = name
            if parent:
                children.setdefault(parent, []).append(code)
        self.children = children
        self.revoked: dict[str, str] = {}

    @classmethod
    def from_session(cls, session: Session) -> TumourTree:
        tree = cls(
            session.execute(
                select(TumourType.code, TumourType.parent_code, TumourType.tissue, TumourType.name)
            ).all()
        )
        for code, previous, revoked in session.execute(
            select(TumourType.code, TumourType.previous_codes, TumourType.revoked_codes)
        ):
            for old in [*(previous or []), *(revoked or [])]:
                if old not in tree.parent:
                    tree.revoked[old] = code
        return tree

    def __contains__(self, code: object) -> bool:
        return code in self.parent

    def __len__(self) -> int:
        return len(self.parent)

    def ancestors(self, code: str) -> list[str]:
        """From the node's parent up to the root."""
        out = []
        parent = self.parent.get(code)
        while parent:
            out.append(parent)
            parent = self.parent.get(parent)
        return out

    def descendants(self, code: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.children.get(code, ()))
        while stack:
            node = stack.pop()
            out.add(node)
            stack.extend(self.children.get(node, ()))
        return out

    def is_liquid(self, code: str) -> bool:
        return self.tissue.get(code) in LIQUID_TISSUES

    def is_within(self, code: str, scope: str) -> bool:
        """Whether a patient's `code` falls under `scope` (a code, or a special scope)."""
        if scope == ALL_TUMOURS:
            return True
        if scope == ALL_LIQUID:
            return self.is_liquid(code)
        if scope == ALL_SOLID:
            return code in self.parent and not self.is_liquid(code)
        return code == scope or scope in self.ancestors(code)


def descendant_codes(session: Session, code: str) -> list[str]:
    """All codes under `code` (not itself), by an indexed prefix match on the stored path."""
    path = session.scalar(select(TumourType.path).where(TumourType.code == code))
    if path is None:
        return []
    return list(
        session.scalars(
            select(TumourType.code)
            .where(TumourType.path.startswith(path, autoescape=True), TumourType.code != code)
            .order_by(TumourType.path)
        )
    )


# --- HGNC ---------------------------------------------------------------------------------

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
        with path.open(encoding="utf-8-sig", newline="") as handle:
            parsed = list(parse_hgnc(handle, str(path)))
    except (OSError, UnicodeDecodeError) as exc:
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
    for start in range(0, len(genes), _BATCH):
        session.execute(insert(HgncGene), genes[start : start + _BATCH])
    rows = [{"synonym": s, "hgnc_id": h, "kind": k} for (s, h), k in synonyms.items()]
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(HgncSynonym), rows[start : start + _BATCH])
    digest = digest or hashlib.sha256(json.dumps(genes, sort_keys=True).encode()).hexdigest()
    _record_release(
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


# --- downloads ----------------------------------------------------------------------------

ProgressCallback = Callable[[int, int | None], None]


def download(
    url: str,
    target: Path,
    *,
    params: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download `url` to `target` atomically: a failed download leaves no file behind."""
    http = session or requests.Session()
    http.headers.setdefault("User-Agent", f"kb-curator/{__version__}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = http.get(url, params=params, stream=True, timeout=TIMEOUT)
            except requests.Timeout:
                raise VocabularyError(f"{url}: no answer within {TIMEOUT[1]} s") from None
            except requests.ConnectionError as exc:
                raise VocabularyError(f"{url}: cannot connect ({_reason(exc)})") from None
            with response:
                if response.status_code != 200:
                    raise VocabularyError(
                        f"{response.url}: the server answered HTTP {response.status_code} "
                        f"{response.reason}"
                    )
                total_header = response.headers.get("Content-Length")
                total = int(total_header) if total_header and total_header.isdigit() else None
                done = 0
                try:
                    for chunk in response.iter_content(1 << 16):
                        done += len(chunk)
                        if done > MAX_DOWNLOAD_BYTES:
                            raise VocabularyError(
                                f"{url}: larger than {MAX_DOWNLOAD_BYTES // (1 << 20)} MiB; refused"
                            )
                        out.write(chunk)
                        if progress:
                            progress(done, total)
                except requests.RequestException as exc:
                    raise VocabularyError(f"{url}: download broke off ({_reason(exc)})") from None
                if total is not None and done != total:
                    raise VocabularyError(f"{url}: got {done} of {total} bytes")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def fetch_oncotree(
    session: Session,
    cache_dir: Path,
    *,
    version: str | None = None,
    url: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Download an OncoTree release (the newest stable one unless `version`) and load it."""
    base = url or ONCOTREE_URL
    params = {"version": version or "oncotree_latest_stable"}
    target = cache_dir / f"{version or 'oncotree_latest_stable'}.json"
    download(base, target, params=params, progress=progress)
    resolved = version
    if resolved is None:
        resolved = oncotree_version_from_name(target)
    return load_oncotree(
        session,
        target,
        version=resolved or _stable_version(target),
        source=f"{base}?version={params['version']}",
    )


def _stable_version(path: Path) -> str:
    # The API does not say which dated release "latest stable" is; name it by content.
    return f"oncotree_latest_stable-{sha256_file(path)[:12]}"


def fetch_hgnc(
    session: Session,
    cache_dir: Path,
    *,
    version: str | None = None,
    url: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Download the HGNC complete set (or `url`) and load it."""
    source = url or HGNC_URL
    target = cache_dir / "hgnc_complete_set.txt"
    download(source, target, progress=progress)
    return load_hgnc(session, target, version=version, source=source)


def read_text_lines(data: bytes) -> io.StringIO:
    return io.StringIO(data.decode("utf-8-sig"))
