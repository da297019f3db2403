"""An in-memory search index over one record type's ids, titles and one-line summaries, for the
reference pickers (curator/ref_picker.py). Qt-free: built on a worker thread, searched on the UI
thread in milliseconds at 100,000 records.

A `QCompleter` in contains mode asks its model for every row's text on each keystroke (seconds at
100,000 rows; bench/picker_bench.py measures both). Here each entry's search text is lower-cased
once; a keystroke is one `in` scan over plain strings and a partial sort of the hits.

Ranking: the id itself, then titles starting with the text, then titles with a word starting
with it, then any other match; shorter titles first within each (BRAF before BRAF V600E).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from kb.storage.rows import Column, TableData


@dataclass(frozen=True, slots=True)
class Match:
    key: str
    title: str
    summary: str


def row_summary(columns: Sequence[Column], row: Sequence[object], title: str) -> str:
    """A record's one-line summary: its table cells but the id, the version and what the
    title already says, joined by " · "."""
    parts = []
    for column, cell in zip(columns, row, strict=False):
        if column.key in ("id", "version") or cell in (None, "", 0):
            continue
        text = str(cell)
        if text and text not in title:
            parts.append(text)
    return " · ".join(parts)


class ReferenceIndex:
    """(key, title, summary) entries, searchable by any words of any of the three."""

    def __init__(self, entries: Sequence[tuple[str, str, str]]) -> None:
        self.keys = [key for key, _, _ in entries]
        self.titles = [title for _, title, _ in entries]
        self.summaries = [summary for _, _, summary in entries]
        self._titles_lower = [title.lower() for title in self.titles]
        self._keys_lower = [key.lower() for key in self.keys]
        self._spaced = [f" {title}" for title in self._titles_lower]
        self._last: tuple[list[str], list[int]] = ([], [])
        self._haystack = [f"{key}\t{title}\t{summary}".lower() for key, title, summary in entries]

    @classmethod
    def from_table(cls, table: TableData) -> ReferenceIndex:
        columns = table.columns
        return cls(
            [
                (str(row[0]), title, row_summary(columns, row, title))
                for row, title in zip(table.rows, table.titles, strict=True)
            ]
        )

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, text: str, *, limit: int = 50) -> list[Match]:
        """The best `limit` entries whose text holds every word of `text`, best first."""
        terms = text.lower().split()
        if not terms:
            return []
        hits = self._hits(terms)
        wanted = " ".join(terms)
        titles, keys = self._titles_lower, self._keys_lower
        # Most keystrokes match thousands of titles that start with the text: rank only those
        # when there are enough of them, not every hit.
        leading = [i for i in hits if titles[i].startswith(wanted)]
        exact = [i for i in hits if keys[i] == wanted]
        if len(leading) >= limit:
            best = exact + heapq.nsmallest(limit, leading, key=lambda i: (len(titles[i]), i))
        else:
            word = f" {terms[0]}"
            spaced = self._spaced

            def rank(i: int) -> tuple[int, int, int]:
                if keys[i] == wanted:
                    return 0, 0, i
                title = titles[i]
                score = 1 if title.startswith(wanted) else 2 if word in spaced[i] else 3
                return score, len(title), i

            best = heapq.nsmallest(limit, hits, key=rank)
        best = list(dict.fromkeys(best))[:limit]
        return [Match(self.keys[i], self.titles[i], self.summaries[i]) for i in best]

    def _hits(self, terms: list[str]) -> list[int]:
        """Entries holding every term. Typing one more letter can only drop entries, so the
        last search's hits are scanned instead of everything when the terms grew."""
        haystack = self._haystack
        last_terms, last_hits = self._last
        narrower = len(terms) >= len(last_terms) > 0 and all(
            old in new for old, new in zip(last_terms, terms, strict=False)
        )
        hits: list[int] | range = last_hits if narrower else range(len(haystack))
        for term in terms:
            hits = [i for i in hits if term in haystack[i]]
        self._last = (terms, list(hits))
        return list(hits)
