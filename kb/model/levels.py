"""Level schemes and the crosswalks between them, as curated data.

A scheme is a level-scheme record: a name and its levels, strongest first, each written
"CODE: meaning" ("3A: compelling clinical evidence …"). A crosswalk record reads one scheme's
levels in another's for one implication, each entry "SOURCE -> TARGET" ("B -> 3A"); an entry
with nothing after the arrow ("D -> ") says the target scheme has no level for it: a gap, which
an import reports and never fills. The KB's own scheme is `kb.model.enums.LEVEL_SCHEME` (OncoKB's
therapeutic levels, whose codes are `EvidenceLevel`), the one the matcher ranks by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_LEVEL = re.compile(r"^\s*([^:\s][^:]*?)\s*(?::\s*(.*))?$")
_ENTRY = re.compile(r"^\s*([^-\s>][^>]*?)\s*(?:->|→)\s*(.*?)\s*$")
LEVELS_EXPECTED = 'levels strongest first, each "CODE: meaning", e.g. "3A: clinical evidence"'
ENTRIES_EXPECTED = 'entries "SOURCE -> TARGET", e.g. "B -> 3A", or "D -> " where there is none'


class LevelSchemeError(ValueError):
    """A level list or crosswalk that does not read; the message says which entry."""


@dataclass(frozen=True, slots=True)
class Level:
    code: str
    meaning: str


def parse_levels(entries: Iterable[str]) -> tuple[Level, ...]:
    levels: list[Level] = []
    seen: set[str] = set()
    for entry in entries:
        found = _LEVEL.match(str(entry))
        if not found:
            raise LevelSchemeError(f'{entry!r} is not like "3A: meaning"')
        code = found.group(1)
        if code.upper() in seen:
            raise LevelSchemeError(f"level {code} is listed twice")
        seen.add(code.upper())
        levels.append(Level(code, (found.group(2) or "").strip()))
    return tuple(levels)


def parse_entries(entries: Iterable[str]) -> dict[str, str | None]:
    """Source level -> target level, None for a gap; each source level once."""
    out: dict[str, str | None] = {}
    for entry in entries:
        found = _ENTRY.match(str(entry))
        if not found:
            raise LevelSchemeError(f'{entry!r} is not like "B -> 3A"')
        source, target = found.group(1), found.group(2)
        if source.upper() in {key.upper() for key in out}:
            raise LevelSchemeError(f"level {source} is mapped twice")
        out[source] = target or None
    return out


def level_key(text: str) -> str:
    """How levels compare: case, spacing and dashes do not matter ("Tier I - Level A")."""
    return " ".join(text.replace("–", "-").upper().split())


@dataclass(frozen=True, slots=True)
class Crosswalk:
    """One crosswalk, ready to apply: `target(level)` is the target level, None for a gap, and
    KeyError for a level the crosswalk does not list."""

    source_scheme: str
    target_scheme: str
    implication: str
    entries: Mapping[str, str | None]
    record: str | None = None  # the LX record it came from, if any

    def target(self, level: str) -> str | None:
        key = level_key(level)
        for source, target in self.entries.items():
            if level_key(source) == key:
                return target
        raise KeyError(level)

    def describe(self) -> str:
        origin = f" ({self.record})" if self.record else ""
        return f"{self.source_scheme} -> {self.target_scheme}, {self.implication}{origin}"
