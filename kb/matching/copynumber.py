"""Gene-level copy-number calls from the files copy-number pipelines write.

Discrete gene-level tables (cBioPortal `data_CNA.txt`, GISTIC `all_thresholded.by_genes.txt`):
a `Hugo_Symbol` (or `Gene Symbol`) column, optional `Entrez_Gene_Id` / `Locus ID` /
`Cytoband` columns, then one column per sample holding GISTIC's discrete values:
2 amplification, 1 gain, 0 neutral (left out), -1 loss (shallow deletion), -2 deletion (deep),
`NA` or empty not measured (left out).

CNVkit segments (`.cns`, `.call.cns`) and bins (`.cnr`): columns chromosome, start, end, gene,
log2, … and, after `cnvkit.py call`, cn. The `gene` cell lists the genes of a segment,
comma-separated (`-`, `Antitarget` and `Background` are placeholders, not genes). A gene's call
comes from the integer copy number `cn` where the file has it (0 deletion, 1 loss, 3 to 5 gain,
6 or more amplification, for a diploid genome), else from the mean log2 ratio of the rows naming
the gene, by thresholds on a diploid, tumour-pure scale:

    log2 <= -1.1   deletion (deep: about 0 copies)       -1.1 < log2 <= -0.25  loss
    log2 >= 1.0    amplification (about 4 copies or more)  0.2 <= log2 < 1.0   gain

(the deletion, loss and gain cut-offs are CNVkit's own `call --method threshold` defaults; the
amplification one is ours: a ratio of 2 or more). Impure samples shrink the ratios; pass
other thresholds where the purity is known.

A copy-number file read is a copy-number test done: genes without a call are neutral.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.matching.lines import PatientFileError, ReadResult, SkippedLine, check_size

__all__ = ["Log2Thresholds", "read_copy_number", "read_copy_number_samples"]

_DISCRETE = {2: "amplification", 1: "gain", -1: "loss", -2: "deletion"}
_GENE_COLUMNS = ("Hugo_Symbol", "Gene Symbol", "Gene_Symbol")
_ANNOTATION_COLUMNS = frozenset(
    {"Entrez_Gene_Id", "Locus ID", "Locus_ID", "Cytoband", "Gene_Symbol_Alias"}
)
_PLACEHOLDERS = frozenset({"", "-", ".", "Antitarget", "Background"})


@dataclass(frozen=True, slots=True)
class Log2Thresholds:
    """CNVkit log2 cut-offs (see the module docstring)."""

    deletion: float = -1.1
    loss: float = -0.25
    gain: float = 0.2
    amplification: float = 1.0

    def call(self, log2: float) -> str | None:
        if log2 <= self.deletion:
            return "deletion"
        if log2 <= self.loss:
            return "loss"
        if log2 >= self.amplification:
            return "amplification"
        if log2 >= self.gain:
            return "gain"
        return None


def _cn_call(copies: int) -> str | None:
    if copies <= 0:
        return "deletion"
    if copies == 1:
        return "loss"
    if copies >= 6:
        return "amplification"
    return "gain" if copies >= 3 else None


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    check_size(path)
    try:
        with path.open("r", encoding="utf-8", newline="") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if line.strip() and not line.startswith("#"):
                    yield number, [cell.strip() for cell in line.split("\t")]
    except UnicodeDecodeError as exc:
        raise PatientFileError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PatientFileError(str(path), f"cannot read: {exc.strerror or exc}") from None


def read_copy_number_samples(
    path: Path | str, *, thresholds: Log2Thresholds | None = None
) -> dict[str, ReadResult]:
    """Calls per sample: a discrete table's sample columns, or one entry `""` for CNVkit."""
    path = Path(path)
    rows = _lines(path)
    first = next(rows, None)
    if first is None:
        raise PatientFileError(str(path), "empty: no header line")
    number, header = first
    if {"chromosome", "log2"} <= set(header) and "gene" in header:
        return {"": _cnvkit(path, header, rows, thresholds or Log2Thresholds())}
    if header[0] in _GENE_COLUMNS:
        return _discrete(path, header, rows)
    raise PatientFileError(
        str(path),
        "not a gene-level copy-number table (Hugo_Symbol + sample columns) or a CNVkit "
        ".cns/.cnr file (chromosome, start, end, gene, log2 …)",
        number,
    )


def read_copy_number(
    path: Path | str, *, sample: str | None = None, thresholds: Log2Thresholds | None = None
) -> ReadResult:
    """One sample's calls; a table with several samples needs `sample` (its column name)."""
    samples = read_copy_number_samples(path, thresholds=thresholds)
    if len(samples) == 1 and (sample is None or "" in samples or sample in samples):
        return next(iter(samples.values()))
    if sample is None:
        raise PatientFileError(
            str(path), f"the table holds {len(samples)} samples; name one as 'sample'"
        )
    if sample not in samples:
        raise PatientFileError(str(path), "no column for the patient's sample")
    return samples[sample]


def _discrete(
    path: Path, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> dict[str, ReadResult]:
    source = str(path)
    columns = [
        (index, name)
        for index, name in enumerate(header)
        if index > 0 and name and name not in _ANNOTATION_COLUMNS
    ]
    if not columns:
        raise PatientFileError(source, "no sample columns after the gene columns", 1)
    out = {name: ReadResult() for _, name in columns}
    for number, cells in rows:
        gene = cells[0]
        if not gene or gene in _PLACEHOLDERS:
            for result in out.values():
                result.skipped.append(SkippedLine(source, number, "no gene symbol"))
            continue
        gene = gene.split("|", 1)[0]  # GISTIC may write SYMBOL|chrN
        for index, name in columns:
            value = cells[index] if index < len(cells) else ""
            if value in ("", "NA", "NaN", "nan"):
                continue
            try:
                level = int(float(value))
                if float(value) != level or level not in (-2, -1, 0, 1, 2):
                    raise ValueError
            except ValueError:
                out[name].skipped.append(
                    SkippedLine(
                        source,
                        number,
                        f"column {index + 1} ({gene}): {value[:20]!r} is not a discrete call -2..2",
                    )
                )
                continue
            call = _DISCRETE.get(level)
            if call is not None:
                out[name].copy_number.append({"gene": gene, "call": call})
    return out


def _cnvkit(
    path: Path,
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    thresholds: Log2Thresholds,
) -> ReadResult:
    source = str(path)
    result = ReadResult()
    gene_at, log2_at = header.index("gene"), header.index("log2")
    cn_at = header.index("cn") if "cn" in header else None
    ratios: dict[str, list[float]] = {}
    copies: dict[str, list[int]] = {}
    for number, cells in rows:
        if len(cells) <= max(gene_at, log2_at):
            result.skipped.append(SkippedLine(source, number, "fewer fields than the header"))
            continue
        genes = [g for g in cells[gene_at].split(",") if g.strip() not in _PLACEHOLDERS]
        if not genes:
            continue
        try:
            log2 = float(cells[log2_at])
            if not math.isfinite(log2):
                raise ValueError
        except ValueError:
            result.skipped.append(
                SkippedLine(source, number, f"log2 {cells[log2_at][:20]!r} is not a number")
            )
            continue
        cn: int | None = None
        if cn_at is not None and cn_at < len(cells) and cells[cn_at] not in ("", "NA"):
            try:
                cn = int(cells[cn_at])
            except ValueError:
                result.skipped.append(
                    SkippedLine(source, number, f"cn {cells[cn_at][:20]!r} is not an integer")
                )
                continue
        for gene in genes:
            ratios.setdefault(gene.strip(), []).append(log2)
            if cn is not None:
                copies.setdefault(gene.strip(), []).append(cn)
    for gene, values in ratios.items():
        entry: dict[str, Any]
        if gene in copies:
            # Segments of one gene rarely disagree; the most extreme one decides.
            cn = max(copies[gene], key=lambda value: abs(value - 2))
            call = _cn_call(cn)
            entry = {"gene": gene, "call": call, "copies": cn}
        else:
            call = thresholds.call(sum(values) / len(values))
            entry = {"gene": gene, "call": call}
        if call is not None:
            result.copy_number.append(entry)
    return result
