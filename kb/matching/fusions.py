"""Fusions from fusion callers' outputs: STAR-Fusion and Arriba.

STAR-Fusion `star-fusion.fusion_predictions.tsv` (and `.abridged.tsv`): header `#FusionName`,
then JunctionReadCount, SpanningFragCount, SpliceType, LeftGene, LeftBreakpoint, RightGene,
RightBreakpoint, …; LeftGene is the 5' partner and RightGene the 3' one, each `SYMBOL^ENSG…`
(FusionName `EML4--ALK` is read when the gene columns are missing).

Arriba `fusions.tsv`: header `#gene1 gene2 strand1(gene/fusion) strand2(gene/fusion)
breakpoint1 breakpoint2 site1 site2 type split_reads1 split_reads2 discordant_mates coverage1
coverage2 confidence reading_frame …`; gene1 makes up the 5' end and gene2 the 3' end (Arriba's
own definition). Skipped, each with its line and reason: a breakpoint in an intergenic region
(Arriba names the nearest genes, `GENE(1234),GENE(567)`), a gene given as `.`, and calls of
confidence `low`, which Arriba's documentation calls mostly artefacts.

A fusion file read is a fusion test done: no fusion found is an empty list, not unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from kb.matching.lines import PatientFileError, ReadResult, SkippedLine, check_size

__all__ = ["read_fusions"]

_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def _table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line, the header included."""
    check_size(path)
    try:
        with path.open("r", encoding="utf-8", newline="") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if line.strip():
                    yield number, line.split("\t")
    except UnicodeDecodeError as exc:
        raise PatientFileError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PatientFileError(str(path), f"cannot read: {exc.strerror or exc}") from None


def read_fusions(path: Path | str) -> ReadResult:
    """The fusions in a STAR-Fusion or Arriba output file (told apart by the header)."""
    path = Path(path)
    source = str(path)
    out = ReadResult()
    header: list[str] | None = None
    kind = ""
    seen: set[tuple[str, str]] = set()
    for number, cells in _table(path):
        if header is None:
            first = cells[0].lstrip("#").strip()
            if first == "FusionName":
                kind = "star-fusion"
            elif first == "gene1":
                kind = "arriba"
            else:
                raise PatientFileError(
                    source,
                    "not a STAR-Fusion (#FusionName …) or Arriba (#gene1 gene2 …) fusion file",
                    number,
                )
            header = [cells[0].lstrip("#").strip(), *(c.strip() for c in cells[1:])]
            continue
        if cells[0].startswith("#"):
            continue
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        if len(cells) < 2:
            out.skipped.append(SkippedLine(source, number, "fewer than 2 tab-separated fields"))
            continue
        pair = _star_fusion(row) if kind == "star-fusion" else _arriba(row)
        if isinstance(pair, str):
            out.skipped.append(SkippedLine(source, number, pair))
            continue
        if pair not in seen:  # one fusion, several breakpoints: one entry
            seen.add(pair)
            out.fusions.append({"five_prime": pair[0], "three_prime": pair[1]})
    if header is None:
        raise PatientFileError(source, "empty: no header line")
    return out


def _gene(text: str, column: str) -> str:
    """The symbol in `EML4^ENSG00000143924.19`, or a reason it cannot be read."""
    symbol = text.split("^", 1)[0].strip()
    if not symbol or symbol == ".":
        raise ValueError(f"{column} is empty")
    if not _SYMBOL.match(symbol):
        raise ValueError(f"{column} {symbol[:40]!r} is not a gene symbol")
    return symbol


def _star_fusion(row: dict[str, str]) -> tuple[str, str] | str:
    try:
        if row.get("LeftGene") and row.get("RightGene"):
            return _gene(row["LeftGene"], "LeftGene"), _gene(row["RightGene"], "RightGene")
        name = row.get("FusionName", "")
        five, sep, three = name.partition("--")
        if not sep:
            return f"FusionName {name[:40]!r} is not GENE--GENE"
        return _gene(five, "FusionName"), _gene(three, "FusionName")
    except ValueError as exc:
        return str(exc)


def _arriba(row: dict[str, str]) -> tuple[str, str] | str:
    confidence = row.get("confidence", "")
    if confidence == "low":
        return "Arriba confidence low (mostly artefacts): left out"
    genes = []
    for column in ("gene1", "gene2"):
        value = row.get(column, "")
        if "," in value or "(" in value:
            return f"{column} breakpoint is intergenic ({value[:60]}): no partner gene"
        try:
            genes.append(_gene(value, column))
        except ValueError as exc:
            return str(exc)
    return genes[0], genes[1]
