"""Sequence variants from a VCF annotated by Ensembl VEP (INFO/CSQ) or SnpEff (INFO/ANN).

Read with vcfpy (pure Python: a crafted record raises an exception we catch per line, where a C
parser could take the process down), plain or bgzipped (`.vcf.gz`: BGZF is gzip-compatible).

The annotation layout comes from the file's own header: VEP writes `Format: Allele|Consequence|
IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|…` into the CSQ line's
Description, SnpEff `Functional annotations: 'Allele | Annotation | Annotation_Impact |
Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p |
…'`. Fields are found by name, so extra VEP fields (PICK, CANONICAL, MANE_SELECT …) in any
order are fine.

One transcript per variant: VEP's PICK flag, else CANONICAL=YES, else MANE_SELECT, else the
first with a protein change; SnpEff's first protein-changing annotation (SnpEff sorts by
impact). Read from it: gene (SYMBOL / Gene_Name), protein change (HGVSp / HGVS.p, the
`ENSP…:` prefix dropped, VEP's `%3D` read as `=`), DNA change (HGVSc / HGVS.c), exon
(EXON / Rank, `21/28`), the record's dbSNP id from the ID column (one rs id; several or
none: left out) and consequence (Sequence Ontology terms: missense_variant, stop_gained,
frameshift_variant, inframe_deletion / inframe_insertion and SnpEff's disruptive_ forms,
splice_acceptor_variant / splice_donor_variant, stop_lost, start_lost). Records that change no
protein (synonymous, intronic, UTR, intergenic …) are left out; so are records whose FILTER is
not PASS (one summary line says how many). The VAF is the tumour sample's FORMAT/AF, else
AD alt / (ref + alt), in percent; the tumour sample is the one named, else the header's
`##tumor_sample=`, else a sample called TUMOR / TUMOUR, else the first.

A VCF read is sequencing done: no variant found is an empty list, not unknown.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import vcfpy

from kb.matching.lines import (
    PatientFileError,
    ReadResult,
    SkippedLine,
    check_size,
    single_rs_id,
)
from kb.model.protein import ProteinChangeError, parse_protein_change

__all__ = ["SO_CONSEQUENCES", "read_vcf"]

# Sequence Ontology term -> the patient profile's consequence, most severe first.
SO_CONSEQUENCES: dict[str, str] = {
    "stop_gained": "nonsense",
    "frameshift_variant": "frameshift",
    "splice_acceptor_variant": "splice",
    "splice_donor_variant": "splice",
    "stop_lost": "stop_lost",
    "start_lost": "start_lost",
    "inframe_insertion": "inframe_insertion",
    "disruptive_inframe_insertion": "inframe_insertion",
    "conservative_inframe_insertion": "inframe_insertion",
    "inframe_deletion": "inframe_deletion",
    "disruptive_inframe_deletion": "inframe_deletion",
    "conservative_inframe_deletion": "inframe_deletion",
    "missense_variant": "missense",
    "protein_altering_variant": "missense",
}
_FORMAT = re.compile(r"Format:\s*([^\"']+)")
_SNPEFF = re.compile(r"'([^']+)'")
_DNA = re.compile(r"^[cg]\.[-*]?[0-9][A-Za-z0-9_+*>-]*$")


def _layout(header: vcfpy.Header) -> tuple[str, list[str]]:
    """("CSQ" or "ANN", field names) from the INFO header line's Description."""
    for key in ("CSQ", "ANN"):
        try:
            description = header.get_info_field_info(key).description or ""
        except (KeyError, AttributeError):
            continue
        if not description:
            continue
        found = _FORMAT.search(description) if key == "CSQ" else None
        if found is None:
            found = _SNPEFF.search(description) or _FORMAT.search(description)
        if found is not None:
            return key, [name.strip() for name in found.group(1).split("|")]
    raise PatientFileError(
        "", "no VEP (INFO/CSQ) or SnpEff (INFO/ANN) annotation declared in the header"
    )


def _tumour_sample(header: vcfpy.Header, wanted: str | None, source: str) -> str | None:
    names = [str(name) for name in (header.samples.names if header.samples else [])]
    if not names:
        return None
    if wanted is not None:
        if wanted not in names:
            raise PatientFileError(source, "no genotype column for the patient's sample")
        return wanted
    for line in header.lines:
        if line.key == "tumor_sample" and getattr(line, "value", None) in names:
            return str(line.value)
    for name in names:
        if name.upper() in ("TUMOR", "TUMOUR"):
            return name
    return names[0]


def read_vcf(path: Path | str, *, sample: str | None = None) -> ReadResult:
    """The protein-changing variants of an annotated VCF (plain or bgzipped)."""
    path = Path(path)
    source = str(path)
    check_size(path)
    out = ReadResult()
    not_pass = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vcfpy warns about header quirks real files have
        try:
            reader = vcfpy.Reader.from_path(path)
        except (vcfpy.VCFPyException, ValueError, IndexError, OSError, EOFError) as exc:
            raise PatientFileError(source, f"not a readable VCF: {exc}") from None
        except UnicodeDecodeError as exc:
            raise PatientFileError(source, f"not UTF-8 text (byte {exc.start})") from None
        with reader:
            try:
                key, names = _layout(reader.header)
            except PatientFileError as exc:
                raise PatientFileError(source, exc.message) from None
            tumour = _tumour_sample(reader.header, sample, source)
            line = len(reader.header.lines) + 1  # the ## lines and #CHROM
            parser = reader.parser
            while True:
                line += 1
                try:
                    record = parser.parse_next_record()
                except UnicodeDecodeError as exc:
                    raise PatientFileError(
                        source, f"not UTF-8 text (byte {exc.start})", line
                    ) from None
                except (EOFError, OSError) as exc:
                    raise PatientFileError(source, f"cannot read on: {exc}", line) from None
                except Exception as exc:  # vcfpy raises many kinds per record
                    out.skipped.append(
                        SkippedLine(source, line, f"malformed record: {str(exc)[:120]}")
                    )
                    continue
                if record is None:
                    break
                if record.FILTER and record.FILTER != ["PASS"]:
                    not_pass += 1
                    continue
                problem = _record(record, key, names, tumour, out)
                if problem:
                    out.skipped.append(SkippedLine(source, line, problem))
    if not_pass:
        out.skipped.append(
            SkippedLine(source, None, f"{not_pass} record(s) whose FILTER is not PASS left out")
        )
    return out


def _pick(entries: Sequence[Mapping[str, str]], key: str) -> Mapping[str, str] | None:
    protein = "HGVSp" if key == "CSQ" else "HGVS.p"
    coding = [e for e in entries if _consequence(e, key) is not None]
    if not coding:
        return None
    if key == "CSQ":
        for flag, value in (("PICK", "1"), ("CANONICAL", "YES")):
            chosen = [e for e in coding if e.get(flag) == value]
            if chosen:
                return chosen[0]
        mane = [e for e in coding if e.get("MANE_SELECT")]
        if mane:
            return mane[0]
    with_protein = [e for e in coding if e.get(protein)]
    return with_protein[0] if with_protein else coding[0]


def _consequence(entry: Mapping[str, str], key: str) -> str | None:
    terms = (entry.get("Consequence") if key == "CSQ" else entry.get("Annotation")) or ""
    found = [SO_CONSEQUENCES[t] for t in terms.split("&") if t in SO_CONSEQUENCES]
    if not found:
        return None
    order = list(SO_CONSEQUENCES.values())
    return min(found, key=order.index)


def _record(
    record: vcfpy.Record, key: str, names: list[str], tumour: str | None, out: ReadResult
) -> str | None:
    """Add the record's variant to `out`; a reason when the record cannot be read."""
    raw = record.INFO.get(key)
    if not raw:
        return None  # not annotated: nothing to match
    values = raw if isinstance(raw, list) else [raw]
    entries = [dict(zip(names, str(v).split("|"), strict=False)) for v in values]
    alts = [str(getattr(alt, "value", "")) for alt in record.ALT]
    if len(alts) > 1:
        own = [e for e in entries if e.get("Allele") in alts]
        entries = own or entries
    entry = _pick(entries, key)
    if entry is None:
        return None  # synonymous, intronic, UTR …: no protein change to match
    gene = (entry.get("SYMBOL") if key == "CSQ" else entry.get("Gene_Name")) or ""
    if not gene:
        return "annotation without a gene symbol"
    consequence = _consequence(entry, key)
    variant: dict[str, Any] = {"gene": gene}
    if consequence is not None:
        variant["consequence"] = consequence
    text = (entry.get("HGVSp") if key == "CSQ" else entry.get("HGVS.p")) or ""
    text = text.rsplit(":", 1)[-1].replace("%3D", "=")
    if text and text not in ("p.?", "p.="):
        try:
            variant["protein_change"] = parse_protein_change(text).hgvs
        except ProteinChangeError as exc:
            if consequence != "splice":
                return f"{gene} {text[:60]}: {exc.message}"
    dna = ((entry.get("HGVSc") if key == "CSQ" else entry.get("HGVS.c")) or "").rsplit(":", 1)[-1]
    if dna and _DNA.match(dna):
        variant["dna_change"] = dna
    rs_id = single_rs_id([str(text) for text in record.ID or ()])
    if rs_id is not None:
        variant["dbsnp_id"] = rs_id
    exon = ((entry.get("EXON") if key == "CSQ" else entry.get("Rank")) or "").split("/", 1)[0]
    if exon.isdigit() and 1 <= int(exon) <= 999 and (key == "CSQ" or consequence != "splice"):
        variant["exon"] = int(exon)
    vaf = _vaf(record, tumour)
    if vaf is not None:
        variant["vaf"] = vaf
    out.variants.append(variant)
    return None


def _vaf(record: vcfpy.Record, tumour: str | None) -> float | None:
    if tumour is None or not record.calls:
        return None
    try:
        data = record.call_for_sample[tumour].data
    except KeyError:
        return None
    af = data.get("AF")
    if isinstance(af, list):
        af = af[0] if af else None
    if isinstance(af, int | float) and 0 <= af <= 1:
        return round(float(af) * 100, 2)
    ad = data.get("AD")
    if isinstance(ad, list) and len(ad) >= 2 and all(isinstance(n, int) for n in ad[:2]):
        ref, alt = int(ad[0]), int(ad[1])
        if ref + alt > 0:
            return round(alt * 100 / (ref + alt), 2)
    return None
