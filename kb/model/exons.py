"""Exon maps: which codons of a gene's reference transcript each exon encodes.

An exon map is a curated record (gene, transcript, exons, citations); each exon is written
"19: 729-761" — the exon's number and its first and last codon, a codon split across two exons
counted in the exon holding its first base. The matcher places a patient's protein change in
an exon with it, so "EGFR exon 19 in-frame deletion" matches p.E746_A750del with no exon given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_ENTRY = re.compile(r"^\s*(?:exon\s*)?(\d+)\s*:\s*(\d+)\s*[-–]\s*(\d+)\s*$", re.IGNORECASE)
EXPECTED = 'exons as "NUMBER: FIRST-LAST" codons, e.g. "19: 729-761", in order, not overlapping'


class ExonMapError(ValueError):
    """An exon list that does not parse or does not hold together; the message says which."""


@dataclass(frozen=True, slots=True)
class Exon:
    number: int
    first: int
    last: int

    def __str__(self) -> str:
        return f"{self.number}: {self.first}-{self.last}"


def parse_exons(entries: Iterable[str]) -> tuple[Exon, ...]:
    """Read and check a map's exons: numbers rising, codon ranges rising and disjoint."""
    exons: list[Exon] = []
    for entry in entries:
        found = _ENTRY.match(str(entry))
        if not found:
            raise ExonMapError(f'{entry!r} is not like "19: 729-761"')
        exon = Exon(*(int(group) for group in found.groups()))
        if exon.first > exon.last:
            raise ExonMapError(f"exon {exon.number}: codon {exon.first} comes after {exon.last}")
        if exons:
            before = exons[-1]
            if exon.number <= before.number:
                raise ExonMapError(f"exon {exon.number} follows exon {before.number}")
            if exon.first <= before.last:
                raise ExonMapError(
                    f"exon {exon.number} starts at codon {exon.first}, inside exon "
                    f"{before.number} ({before.first}-{before.last})"
                )
        exons.append(exon)
    if not exons:
        raise ExonMapError("an exon map needs at least one exon")
    return tuple(exons)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a codon span lies: one exon, across several, or outside the map."""

    exons: tuple[int, ...]

    @property
    def exon(self) -> int | None:
        return self.exons[0] if len(self.exons) == 1 else None


def place(exons: Sequence[Exon], start: int, end: int | None = None) -> Placement:
    """The exons codons `start`..`end` touch (empty if the map does not cover them)."""
    last = end if end is not None else start
    return Placement(tuple(e.number for e in exons if e.first <= last and start <= e.last))
