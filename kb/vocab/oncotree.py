"""OncoTree: loading a release into the KB, and the in-memory tree for ancestry questions."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kb.errors import VocabularyError
from kb.model.enums import ALL_LIQUID, ALL_SOLID, ALL_TUMOURS, LIQUID_TISSUES, VocabularyKind
from kb.model.orm import TumourType
from kb.vocab.doid import derive_crosswalk, oncotree_xrefs
from kb.vocab.releases import BATCH, LoadResult, record_release, sha256_file

ONCOTREE_URL = "https://oncotree.info/api/tumorTypes/tree"

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
                "xrefs": oncotree_xrefs(node),
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
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
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


def _replace_tumour_types(
    session: Session, rows: list[dict[str, Any]], version: str, source: str, digest: str
) -> LoadResult:
    session.execute(delete(TumourType))
    for start in range(0, len(rows), BATCH):
        batch = [{**row, "release": version} for row in rows[start : start + BATCH]]
        session.execute(insert(TumourType), batch)
    content = [
        {
            "code": row["code"],
            "name": row["name"],
            "main_type": row["main_type"],
            "tissue": row["tissue"],
            "parent": row["parent_code"],
            "level": row["level"],
        }
        for row in sorted(rows, key=lambda row: row["code"])
    ]
    record_release(
        session,
        VocabularyKind.ONCOTREE,
        version,
        source=source,
        digest=digest,
        entries=len(rows),
        content=content,
    )
    derive_crosswalk(session)
    return LoadResult(VocabularyKind.ONCOTREE, version, len(rows), digest, source)


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
