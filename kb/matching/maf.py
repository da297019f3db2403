"""Read a patient from a MAF (Mutation Annotation Format) file plus a small clinical JSON.

A MAF is tab-separated with `#` comment lines before one header line (GDC/TCGA MAFs, cBioPortal
`data_mutations.txt`, vcf2maf output). The columns read are Hugo_Symbol, Variant_Classification,
the protein change from HGVSp_Short (`p.L858R`), else HGVSp (`ENSP00000275493.2:p.Leu858Arg`,
the protein id dropped), else Protein_Change (older MAFs), and where present HGVSc (the DNA
change, `ENST…:c.2573T>G`), dbSNP_RS (one rs id, e.g. rs3184504; "novel" or several: none),
Tumor_Sample_Barcode, Exon_Number ("19/28"), Mutation_Status
(Somatic / Germline), t_alt_count and t_depth (for the VAF, in percent). Rows that change no
protein (Silent, Intron, UTR, flank, IGR, RNA, Splice_Region …) are left out: no biomarker is
defined on them.

`read_maf_samples` reads every sample of a MAF at once and never fails on a row: a row it cannot
read (an old notation such as a FLT3 ITD written `p.KIM…`, an unknown amino acid, an unknown
Variant_Classification, a malformed count) is skipped and reported with its line and reason.
`read_maf_variants` is the strict form: the first such row is an error.

The clinical JSON is a patient profile (kb/matching/patient.schema.json) without the MAF's
variants: id, oncotree_code, age, sex, tmb, msi, copy_number, fusions …; a `sample` there picks
one Tumor_Sample_Barcode from a MAF holding several. Every problem is reported with the file,
line and column it was found at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.matching.lines import ReadResult, SkippedLine, single_rs_id
from kb.matching.matcher import Patient, PatientError, load_patient_file
from kb.model.protein import ProteinChangeError, parse_protein_change

__all__ = ["CONSEQUENCES", "MafError", "read_maf", "read_maf_samples", "read_maf_variants"]

MAX_MAF_BYTES = 512 * 1024 * 1024
MAX_MAF_ROWS = 1_000_000

# Variant_Classification -> the patient profile's consequence; None keeps the row without one.
CONSEQUENCES: dict[str, str | None] = {
    "Missense_Mutation": "missense",
    "Nonsense_Mutation": "nonsense",
    "Frame_Shift_Del": "frameshift",
    "Frame_Shift_Ins": "frameshift",
    "In_Frame_Del": "inframe_deletion",
    "In_Frame_Ins": "inframe_insertion",
    "Splice_Site": "splice",
    "Nonstop_Mutation": "stop_lost",
    "Translation_Start_Site": "start_lost",
    # Protein-changing but without a consequence we can name from the class alone.
    "Targeted_Region": None,
}
# Classes that change no protein; their rows are skipped.
_SKIPPED = frozenset(
    {
        "Silent",
        "Intron",
        "3'UTR",
        "5'UTR",
        "3'Flank",
        "5'Flank",
        "IGR",
        "RNA",
        "lincRNA",
        "Splice_Region",
        "De_novo_Start_InFrame",
        "De_novo_Start_OutOfFrame",
        "Unknown",
    }
)
_DNA = re.compile(r"^[cg]\.[-*]?[0-9][A-Za-z0-9_+*>-]*$")
_REQUIRED = ("Hugo_Symbol", "Variant_Classification")
_PROTEIN_COLUMNS = ("HGVSp_Short", "HGVSp", "Protein_Change")


class MafError(KbError):
    """A MAF (or its clinical JSON) that cannot be read; names file, line and column."""

    def __init__(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        where = file
        if line is not None:
            where += f": line {line}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    values: dict[str, str]
    fields: int = 0  # the number of tab-separated fields, where more than the header's


def _rows(path: Path, *, strict: bool = True) -> Iterator[_Row | list[str]]:
    """The header (a list of column names), then each data row, with 1-based line numbers."""
    header: list[str] | None = None
    with path.open("r", encoding="utf-8", newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if header is None:
                header = [cell.strip() for cell in cells]
                yield header
                continue
            if len(cells) > len(header) and not strict:
                yield _Row(number, {}, len(cells))
                continue
            if len(cells) > len(header):
                raise MafError(
                    str(path),
                    number,
                    None,
                    f"{len(cells)} tab-separated fields, but the header has {len(header)}",
                )
            yield _Row(number, dict(zip(header, (cell.strip() for cell in cells), strict=False)))


def _column(name: str, header: list[str]) -> str:
    """`HGVSp_Short (column 37)`: how an error names a column."""
    return f"{name} (column {header.index(name) + 1})" if name in header else name


def read_maf_variants(path: Path | str, *, sample: str | None = None) -> list[dict[str, Any]]:
    """The protein-changing variants of a MAF as patient-profile variant objects.

    With several Tumor_Sample_Barcodes in the file, `sample` must name one.
    """
    path = Path(path)
    source = _checked_source(path)
    header: list[str] = []
    variants: list[dict[str, Any]] = []
    samples: set[str] = set()
    count = 0
    try:
        for item in _rows(path):
            if isinstance(item, list):
                header = item
                _check_header(header, source)
                continue
            count += 1
            if count > MAX_MAF_ROWS:
                raise MafError(source, item.line, None, f"more than {MAX_MAF_ROWS} rows")
            barcode = item.values.get("Tumor_Sample_Barcode", "")
            if barcode:
                samples.add(barcode)
            if sample is not None and barcode and barcode != sample:
                continue
            variant = _variant(item, header, source)
            if variant is not None:
                variants.append(variant)
    except UnicodeDecodeError as exc:
        raise MafError(source, None, None, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise MafError(source, None, None, f"cannot read: {exc.strerror or exc}") from None
    if not header:
        raise MafError(source, None, None, "no header line (expected Hugo_Symbol … columns)")
    if sample is None and len(samples) > 1:
        raise MafError(
            source,
            None,
            "Tumor_Sample_Barcode",
            f"the file holds {len(samples)} samples ({', '.join(sorted(samples)[:5])}); "
            "name one as 'sample' in the clinical JSON",
        )
    if sample is not None and samples and sample not in samples:
        raise MafError(
            source,
            None,
            "Tumor_Sample_Barcode",
            f"no rows for sample {sample!r} (the file has {', '.join(sorted(samples)[:5])})",
        )
    return variants


def _check_header(header: list[str], source: str) -> None:
    missing = [name for name in _REQUIRED if name not in header]
    if not any(name in header for name in _PROTEIN_COLUMNS):
        missing.append("HGVSp_Short (or HGVSp, or Protein_Change)")
    if missing:
        raise MafError(source, None, None, f"missing column(s) {', '.join(missing)} in the header")


def read_maf_samples(path: Path | str) -> dict[str, ReadResult]:
    """Every sample's protein-changing variants, by Tumor_Sample_Barcode ("" without one).

    Rows that cannot be read are skipped and reported in their sample's `skipped`; only a
    file that cannot be read as a MAF at all (no header, missing columns, not UTF-8, too big)
    raises MafError.
    """
    path = Path(path)
    source = _checked_source(path)
    header: list[str] = []
    samples: dict[str, ReadResult] = {}
    count = 0
    try:
        for item in _rows(path, strict=False):
            if isinstance(item, list):
                header = item
                _check_header(header, source)
                continue
            count += 1
            if count > MAX_MAF_ROWS:
                raise MafError(source, item.line, None, f"more than {MAX_MAF_ROWS} rows")
            barcode = item.values.get("Tumor_Sample_Barcode", "")
            result = samples.setdefault(barcode, ReadResult())
            if item.fields:
                reason = f"{item.fields} tab-separated fields, but the header has {len(header)}"
                result.skipped.append(SkippedLine(source, item.line, reason))
                continue
            try:
                variant = _variant(item, header, source)
            except MafError as exc:
                column = f"{exc.column}: " if exc.column else ""
                result.skipped.append(SkippedLine(source, item.line, column + exc.message))
                continue
            if variant is not None:
                result.variants.append(variant)
    except UnicodeDecodeError as exc:
        raise MafError(source, None, None, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise MafError(source, None, None, f"cannot read: {exc.strerror or exc}") from None
    if not header:
        raise MafError(source, None, None, "no header line (expected Hugo_Symbol … columns)")
    return samples


def _protein_text(values: dict[str, str]) -> tuple[str, str]:
    """(column, protein change) from the first protein column with a value."""
    for column in _PROTEIN_COLUMNS:
        text = values.get(column, "")
        if text:
            # HGVSp carries the protein id (ENSP00000275493.2:p.Leu858Arg); VEP escapes =.
            return column, text.rsplit(":", 1)[-1].replace("%3D", "=")
    return "HGVSp_Short", ""


def _variant(row: _Row, header: list[str], source: str) -> dict[str, Any] | None:
    values = row.values

    def fail(column: str, message: str) -> MafError:
        return MafError(source, row.line, _column(column, header), message)

    gene = values.get("Hugo_Symbol", "")
    if not gene or gene == "Unknown":
        return None
    classification = values.get("Variant_Classification", "")
    if classification in _SKIPPED:
        return None
    if classification not in CONSEQUENCES:
        known = ", ".join([*CONSEQUENCES, *sorted(_SKIPPED)])
        raise fail("Variant_Classification", f"unknown class {classification!r}; expected {known}")
    variant: dict[str, Any] = {"gene": gene}
    consequence = CONSEQUENCES[classification]
    if consequence is not None:
        variant["consequence"] = consequence
    column, text = _protein_text(values)
    if text and text not in (".", "p.?", "p.="):
        try:
            variant["protein_change"] = parse_protein_change(text).hgvs
        except ProteinChangeError as exc:
            # Splice rows carry pseudo-changes such as p.X963_splice: the class says enough.
            if consequence != "splice":
                raise fail(column, f"{exc.message}; expected {exc.expected}") from None
    dna = values.get("HGVSc", "").rsplit(":", 1)[-1]
    if _DNA.match(dna):
        variant["dna_change"] = dna
    rs_id = single_rs_id(re.split(r"[;,&|]", values.get("dbSNP_RS", "")))
    if rs_id is not None:
        variant["dbsnp_id"] = rs_id
    exon = values.get("Exon_Number", "")
    if exon:
        number = exon.split("/", 1)[0].strip()
        if not number.isdigit() or not 1 <= int(number) <= 999:
            raise fail("Exon_Number", f"{exon!r} is not an exon such as 19/28")
        variant["exon"] = int(number)
    status = values.get("Mutation_Status", "").lower()
    if status in ("somatic", "germline"):
        variant["origin"] = status
    vaf = _vaf(values, fail)
    if vaf is not None:
        variant["vaf"] = vaf
    return variant


def _vaf(values: dict[str, str], fail: Callable[[str, str], MafError]) -> float | None:
    alt, depth = values.get("t_alt_count", ""), values.get("t_depth", "")
    if not alt or not depth or "." in (alt, depth):
        return None
    try:
        alt_count, total = Decimal(alt), Decimal(depth)
    except InvalidOperation:
        raise fail("t_alt_count", f"counts {alt!r} / {depth!r} are not numbers") from None
    if total <= 0 or alt_count < 0 or alt_count > total:
        raise fail("t_alt_count", f"t_alt_count {alt} does not fit t_depth {depth}")
    return round(float(alt_count * 100 / total), 2)


def read_maf(path: Path | str, clinical_json_path: Path | str) -> Patient:
    """A patient from a MAF and its clinical JSON (id, oncotree_code, age, sex, tmb, msi …).

    Variants in the clinical JSON, if any, are kept and the MAF's are added to them.
    """
    clinical = Path(clinical_json_path)
    # Reuse the patient-file reader for size, encoding and JSON errors, then merge as data.
    load_patient_file(clinical)
    data = json.loads(clinical.read_text("utf-8"))
    if not isinstance(data, dict):  # load_patient_file has checked; this narrows the type
        raise PatientError("$", "not an object", "a JSON object", source=str(clinical))
    variants = read_maf_variants(path, sample=data.get("sample"))
    merged = {**data, "variants": [*data.get("variants", []), *variants]}
    try:
        return Patient.from_json(merged)
    except PatientError as exc:
        raise exc.located(f"{clinical} + {path}") from None


def _checked_source(path: Path) -> str:
    """The file's name for errors, once it is known to exist and be small enough to read."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MafError(source, None, None, f"cannot read: {exc.strerror or exc}") from None
    if size > MAX_MAF_BYTES:
        raise MafError(source, None, None, f"the file is {size} bytes; at most {MAX_MAF_BYTES}")
    return source
