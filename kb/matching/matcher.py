"""The reference matcher: the therapies and open trial arms a release offers a patient.

`Matcher.from_snapshot(kb_json)` reads a release's kb.json (the `Snapshot.as_json()` shape) once
and indexes it; `Matcher.match(patient)` then answers in well under a millisecond for a typical
profile, with an explanation tree for every match. It is meant both for use as it is and as the
executable definition of what a release means; the rules below are that definition.

Three-valued logic
    Every criterion is true, false or UNKNOWN. A patient field left out is unknown, never
    negative (no `tmb` is not "TMB-low"; no `variants` list means "not sequenced"), while an
    empty list means "tested, nothing found". NOT unknown is unknown; AND is false as soon as one
    argument is false; OR is true as soon as one argument is true. Only a definite true matches.

Biomarkers (`kb.model.enums.BiomarkerKind`)
    sequence_variant: same gene and the same normalised protein change; a codon-level biomarker
      (`p.G12`) matches any non-synonymous change starting at that codon. A biomarker named only
      at the DNA level (`c.393T>C`) needs the variant's `dna_change`, the same text. One named
      only by its dbSNP id (`rs3184504`, a germline SNP) needs the variant's `dbsnp_id`: the
      same id is true, another false, none unknown (the report may name that SNP by its change).
    range: same gene; the variant in the exon or overlapping codon_start..codon_end; and
      the consequence, given or derived from the protein change (del -> in-frame deletion,
      ins/dup -> in-frame insertion, fs -> frameshift, Ter -> nonsense). "any" accepts every
      non-synonymous change. The exon is the one the patient file gives, or else where the
      release's exon map of the gene (`exon_map` records: a reference transcript and each exon's
      codons) places the protein change: inside the exon is true, outside false, across its edge
      unknown. A patient exon the map contradicts is unknown, with both named; no exon and no
      map is unknown. Without exon or codons a range is the whole gene, for a named consequence
      (FLT3 internal tandem duplication, TERT promoter). An ITD must be reported as one: a
      duplication or insertion given only as a protein change is unknown. A promoter variant is
      one reported as such, or a DNA change upstream of the coding start (c.-124C>T).
    categorical: truncating = nonsense / frameshift / splice. Oncogenic, activating and
      loss-of-function follow the variant's `oncogenic` flag; without one, the release's
      oncogenicity records (an alteration's oncogenicity and mutation effect: activating needs
      an oncogenic gain of function); without either, a truncating variant counts as
      loss-of-function (and as oncogenic in a tumour-suppressor gene), anything else is
      unknown. Any mutation takes every non-synonymous variant. A variant matching one of the
      biomarker's exclusions does not count.
    copy_number: amplification and deletion need that call; gain takes a gain or an
      amplification, loss a loss or a (deep) deletion.
    fusion: each named partner on its side (5' / 3'); an unnamed side is "any".
    characteristic: TMB by its threshold (`kb.model.metrics.satisfies`); MSI high/low/stable <->
      MSI-H/MSI-L/MSS; MMR deficient/proficient <-> dMMR/pMMR; HRD positive/negative (or an
      HRD_SCORE threshold). TMB without a threshold is never decided: the KB must state one.
    expression: with a threshold, the patient's measurement for its metric (PD-L1 TPS/CPS/IC,
      HER2 IHC compared by rank, HER2 ISH ratio); without one, the patient's `expression`
      results for that gene and assay (any assay when the biomarker names none), against the
      biomarker's status: positive (high counts), negative, high or low (over-/underexpression;
      a bare "positive" leaves the level unknown).
    methylation: the patient's `methylation` result for the gene's promoter, methylated or
      unmethylated.
    wild_type: sequenced, and no non-synonymous variant of the gene reported; unknown when the
      patient was not sequenced.
    A VAF threshold on a variant biomarker uses the variant's `vaf`; a COPY_NUMBER threshold on a
    copy-number biomarker uses the call's `copies`.

Origin
    Patient variants are somatic unless they say otherwise. A germline biomarker needs a variant
    marked germline, a somatic one a variant that is not (origin "unknown" gives unknown): a
    germline finding is never matched as a somatic one, nor the reverse. A biomarker of origin
    "either" takes both (a label that accepts a BRCA variant from blood or tumour).

Tumour types
    A rule applies to its codes and their descendants, and to the special scopes ALL_TUMOURS,
    ALL_SOLID and ALL_LIQUID (liquid = OncoTree tissues Myeloid and Lymphoid), minus its excluded
    codes. A code the release's OncoTree does not know is unknown except where the rule names it
    or covers all tumours. A trial arm without tumour types covers all tumours.

Possible with tests
    An assertion whose tumour type holds and whose expression is unknown only because the
    patient was never tested for something (no `variants` list, no `fusions`, no PD-L1 …) is
    listed in `possible_therapies`, with the tests that would decide it (`TestToOrder`): the
    biomarker or threshold, the result the assertion needs (positive, or negative under a NOT),
    the patient field that would carry it, and the assay and specimen the KB names. An
    unknown that a test would not settle (a variant without its consequence, an exon across a
    boundary) keeps an assertion out: it is not blocked only by what was not tested. Untested
    criteria are treated as independent free choices; a criterion that appears twice in one
    expression is assumed to be able to take both values.

Validation requirements
    Every therapy (matched or possible) carries what the KB says a result must be validated
    with: the assertion's specimen, companion diagnostic and confirmatory test, each threshold's
    assay and specimen, and the regulatory approvals of the therapy with their companion
    diagnostics.

Trials
    An arm is open when its trial's status is RECRUITING and the arm is not suspended.
    NOT_YET_RECRUITING trials cannot enrol anyone today, so they are left out by default; a
    service that wants to show upcoming trials passes `trial_statuses`. Age and sex criteria are
    three-valued like the rest: a patient without age or sex never matches an arm that restricts
    them, but an arm whose biomarker and tumour criteria hold and whose only open questions are
    age or sex is reported in `trials_to_review`, so that missing demographics do not hide it.
    Likewise an arm that holds once the patient's unknown mutational signatures (no
    `signatures`, or not the one the arm names) are known is reported there, its explanation
    saying which result is missing.

Speed
    Every rule (assertion or open arm) is indexed by the facts it cannot be true without — a
    variant at a codon, any variant in a gene, a copy-number call, a fusion partner, a measured
    metric — computed from its expression (AND needs any one argument's facts, OR the union of
    all, NOT nothing indexable). A patient evaluates only the rules indexed under its own facts,
    plus the few that need none, and each biomarker-threshold pair at most once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from kb.errors import KbError
from kb.matching.lines import SkippedLine
from kb.model import expression as exprs
from kb.model.enums import (
    ALL_LIQUID,
    ALL_SOLID,
    ALL_TUMOURS,
    SIGNATURES,
    Category,
    Consequence,
    EvidenceLevel,
    Operator,
    Origin,
    TrialStatus,
)
from kb.model.exons import Exon, ExonMapError, parse_exons, place
from kb.model.metrics import METRICS, Metric, ThresholdValueError, satisfies
from kb.model.protein import ProteinChange, ProteinChangeError, parse_protein_change
from kb.model.records import biomarker_name, with_unit
from kb.vocab.oncotree import TumourTree

__all__ = [
    "OPEN_TRIAL_STATUSES",
    "ApprovalInfo",
    "CopyNumberCall",
    "Explanation",
    "ExpressionResult",
    "Fusion",
    "MatchResult",
    "Matcher",
    "MatcherError",
    "Patient",
    "PatientError",
    "TestToOrder",
    "TherapyMatch",
    "ThresholdRequirement",
    "TrialMatch",
    "Variant",
    "load_patient_file",
    "patient_schema",
]

Tri = bool | None
"""A three-valued truth: True, False or None (unknown)."""

OPEN_TRIAL_STATUSES: tuple[TrialStatus, ...] = (TrialStatus.RECRUITING,)
LEVEL_ORDER: dict[str, int] = {level.value: rank for rank, level in enumerate(EvidenceLevel)}
MAX_PATIENT_FILE_BYTES = 50 * 1024 * 1024
TRUNCATING = frozenset({"nonsense", "frameshift", "splice"})
# Codon ranges up to this width are indexed codon by codon; wider ones by gene.
_MAX_INDEXED_CODONS = 64


class MatcherError(KbError):
    """A kb.json the matcher cannot use (a dangling reference, a malformed record)."""


class PatientError(KbError):
    """A patient profile that does not fit the schema: names the JSON path and what was expected.

    `path` is a JSON path such as `$.variants[0].protein_change`; `source` the file, if any.
    """

    def __init__(self, path: str, message: str, expected: str, *, source: str = "") -> None:
        self.path = path
        self.message = message
        self.expected = expected
        self.source = source
        where = f"{source}: {path}" if source else path
        super().__init__(f"{where}: {message}; expected {expected}")

    def located(self, source: str) -> PatientError:
        """The same error, naming the file it came from."""
        return PatientError(self.path, self.message, self.expected, source=source)


# --- patient ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """A sequence variant as the patient profile gives it (`protein` parsed and normalised)."""

    gene: str
    protein: ProteinChange | None = None
    origin: Literal["somatic", "germline", "unknown"] = "somatic"
    consequence: str | None = None
    exon: int | None = None
    oncogenic: bool | None = None
    vaf: Decimal | None = None
    dna: str | None = None  # HGVS c. or g.
    dbsnp: str | None = None  # dbSNP rs id, lower-case (rs3184504)
    hgvs: str | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Rendered once: matching compares and prints it for every candidate rule.
        object.__setattr__(self, "hgvs", self.protein.hgvs if self.protein is not None else None)

    @property
    def effective_consequence(self) -> str | None:
        """The consequence given, else the one the protein change implies (None if neither)."""
        if self.consequence is not None:
            return self.consequence
        return consequence_of(self.protein) if self.protein is not None else None

    def label(self) -> str:
        """`EGFR p.Leu858Arg`, or `MET exon 14 exon skipping variant` without a protein change."""
        if self.hgvs is not None:
            return f"{self.gene} {self.hgvs}"
        if self.dna is not None:
            return f"{self.gene} {self.dna}"
        if self.dbsnp is not None:
            return f"{self.gene} {self.dbsnp}"
        parts = [self.gene]
        if self.exon is not None:
            parts.append(f"exon {self.exon}")
        parts.append(f"{(self.consequence or 'unspecified').replace('_', ' ')} variant")
        return " ".join(parts)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"gene": self.gene}
        if self.protein is not None:
            out["protein_change"] = self.protein.hgvs
        if self.dna is not None:
            out["dna_change"] = self.dna
        if self.dbsnp is not None:
            out["dbsnp_id"] = self.dbsnp
        if self.origin != "somatic":
            out["origin"] = self.origin
        if self.consequence is not None:
            out["consequence"] = self.consequence
        if self.exon is not None:
            out["exon"] = self.exon
        if self.oncogenic is not None:
            out["oncogenic"] = self.oncogenic
        if self.vaf is not None:
            out["vaf"] = _json_number(self.vaf)
        return out


@dataclass(frozen=True, slots=True)
class CopyNumberCall:
    gene: str
    call: str
    copies: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"gene": self.gene, "call": self.call}
        if self.copies is not None:
            out["copies"] = self.copies
        return out


@dataclass(frozen=True, slots=True)
class Fusion:
    five_prime: str | None
    three_prime: str | None

    def label(self) -> str:
        return f"{self.five_prime or '?'}::{self.three_prime or '?'}"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.five_prime:
            out["five_prime"] = self.five_prime
        if self.three_prime:
            out["three_prime"] = self.three_prime
        return out


@dataclass(frozen=True, slots=True)
class ExpressionResult:
    gene: str
    assay: str
    result: Literal["positive", "negative", "high", "low"]

    def as_json(self) -> dict[str, Any]:
        return {"gene": self.gene, "assay": self.assay, "result": self.result}


@dataclass(frozen=True, slots=True)
class MethylationResult:
    gene: str
    status: Literal["methylated", "unmethylated"]

    def as_json(self) -> dict[str, Any]:
        return {"gene": self.gene, "status": self.status}


# Patient fields holding one measurement, and the threshold metric each answers.
_METRIC_FIELDS: dict[Metric, str] = {
    Metric.TMB: "tmb",
    Metric.PDL1_TPS: "pdl1_tps",
    Metric.PDL1_CPS: "pdl1_cps",
    Metric.PDL1_IC: "pdl1_ic",
    Metric.HER2_IHC: "her2_ihc",
    Metric.HER2_ISH_RATIO: "her2_ish_ratio",
    Metric.HRD_SCORE: "hrd_score",
}
_METRIC_NAMES: dict[Metric, str] = {
    Metric.TMB: "TMB",
    Metric.PDL1_TPS: "PD-L1 TPS",
    Metric.PDL1_CPS: "PD-L1 CPS",
    Metric.PDL1_IC: "PD-L1 IC",
    Metric.HER2_IHC: "HER2 IHC",
    Metric.HER2_ISH_RATIO: "HER2 ISH ratio",
    Metric.HRD_SCORE: "HRD score",
    Metric.COPY_NUMBER: "copy number",
    Metric.VAF: "VAF",
}


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient profile. `None` (and, for lists, `None` rather than empty) means unknown."""

    id: str
    oncotree_code: str | None = None
    age: Decimal | None = None
    sex: Literal["female", "male"] | None = None
    variants: tuple[Variant, ...] | None = None
    copy_number: tuple[CopyNumberCall, ...] | None = None
    fusions: tuple[Fusion, ...] | None = None
    expression: tuple[ExpressionResult, ...] | None = None
    methylation: tuple[MethylationResult, ...] | None = None
    tmb: Decimal | None = None
    msi: str | None = None
    mmr: str | None = None
    hrd: str | None = None
    hrd_score: Decimal | None = None
    pdl1_tps: Decimal | None = None
    pdl1_cps: Decimal | None = None
    pdl1_ic: Decimal | None = None
    her2_ihc: str | None = None
    her2_ish_ratio: Decimal | None = None
    sample: str | None = None
    # True: deceased (matches no trial, as MatchMiner never matches one); None: not said.
    deceased: bool | None = None
    # Mutational signatures reported, by name (apobec, pole, tobacco, temozolomide, uva):
    # True present, False absent; a name left out is unknown. None: no signature results.
    signatures: tuple[tuple[str, bool], ...] | None = None

    @classmethod
    def from_json(cls, data: object, *, today: dt.date | None = None) -> Patient:
        """Read a profile (parsed JSON), checked against `kb/matching/patient.schema.json`.

        A ``birth_date`` becomes the age in whole years on `today` (default: the current date),
        as MatchMiner compares birth dates; the date itself is not kept.
        Raises PatientError naming the JSON path of the first problem and what was expected.
        """
        _check_schema(data)
        if not isinstance(data, dict):  # the schema says so; this tells the type checker
            raise PatientError("$", "not an object", "a JSON object")
        _reject_non_finite(data, "$")
        variants = None
        if "variants" in data:
            variants = tuple(
                _read_variant(item, f"$.variants[{index}]")
                for index, item in enumerate(data["variants"])
            )
        copy_number = None
        if "copy_number" in data:
            copy_number = tuple(
                CopyNumberCall(item["gene"].strip(), item["call"], item.get("copies"))
                for item in data["copy_number"]
            )
        fusions = None
        if "fusions" in data:
            fusions = tuple(
                Fusion(_symbol(item.get("five_prime")), _symbol(item.get("three_prime")))
                for item in data["fusions"]
            )
        expression = None
        if "expression" in data:
            expression = tuple(
                ExpressionResult(item["gene"].strip(), item["assay"], item["result"])
                for item in data["expression"]
            )
        methylation = None
        if "methylation" in data:
            methylation = tuple(
                MethylationResult(item["gene"].strip(), item["status"])
                for item in data["methylation"]
            )
        sex = data.get("sex")
        code = data.get("oncotree_code")
        age = _decimal(data.get("age"))
        if "birth_date" in data:
            born = _birth_date(data["birth_date"], today or dt.date.today())
            if age is not None and int(age) != born:
                raise PatientError(
                    "$.age",
                    f"age {age} disagrees with birth_date, which gives {born}",
                    "an age that agrees with birth_date, or only one of them",
                )
            age = Decimal(born) if age is None else age
        vital = data.get("vital_status")
        signatures = data.get("signatures")
        return cls(
            id=data["id"],
            oncotree_code=code.upper() if code else None,
            age=age,
            sex=sex if sex in ("female", "male") else None,
            variants=variants,
            copy_number=copy_number,
            fusions=fusions,
            expression=expression,
            methylation=methylation,
            tmb=_decimal(data.get("tmb")),
            msi=data.get("msi"),
            mmr=data.get("mmr"),
            hrd=data.get("hrd"),
            hrd_score=_decimal(data.get("hrd_score")),
            pdl1_tps=_decimal(data.get("pdl1_tps")),
            pdl1_cps=_decimal(data.get("pdl1_cps")),
            pdl1_ic=_decimal(data.get("pdl1_ic")),
            her2_ihc=data.get("her2_ihc"),
            her2_ish_ratio=_decimal(data.get("her2_ish_ratio")),
            sample=data.get("sample"),
            deceased=None if vital is None else vital == "deceased",
            signatures=(
                None
                if signatures is None
                else tuple(sorted((str(k), bool(v)) for k, v in signatures.items()))
            ),
        )

    def as_json(self) -> dict[str, Any]:
        """The profile in the schema's shape (unknown fields left out); `from_json` reads it."""
        out: dict[str, Any] = {"id": self.id}
        for name in ("sample", "oncotree_code", "sex", "msi", "mmr", "hrd", "her2_ihc"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in ("age", "tmb", "hrd_score", "pdl1_tps", "pdl1_cps", "pdl1_ic"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _json_number(value)
        if self.her2_ish_ratio is not None:
            out["her2_ish_ratio"] = _json_number(self.her2_ish_ratio)
        if self.deceased is not None:
            out["vital_status"] = "deceased" if self.deceased else "alive"
        if self.signatures is not None:
            out["signatures"] = dict(self.signatures)
        for name in ("variants", "copy_number", "fusions", "expression", "methylation"):
            items = getattr(self, name)
            if items is not None:
                out[name] = [item.as_json() for item in items]
        return out

    def measurement(self, metric: Metric) -> str | None:
        """The patient's value for a threshold metric, as text for `kb.model.metrics.satisfies`."""
        name = _METRIC_FIELDS.get(metric)
        value = getattr(self, name) if name else None
        return None if value is None else str(value)


@cache
def patient_schema() -> dict[str, Any]:
    """The patient profile JSON Schema (draft 2020-12), as shipped in kb/matching."""
    text = resources.files("kb.matching").joinpath("patient.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(patient_schema())


def _json_path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(patient_schema())


def _check_schema(data: object) -> None:
    # jsonschema-rs says "valid" about 100x faster (the schema check was the largest part of
    # reading a profile in `kb serve`); jsonschema still decides and words every refusal.
    try:
        if _fast_validator().is_valid(data):
            return
    except (TypeError, ValueError):  # a value it cannot hold (Decimal): jsonschema decides
        pass
    error = best_match(_validator().iter_errors(data))
    if error is None:
        return
    raise _schema_error(error)


def _schema_error(error: ValidationError) -> PatientError:
    path = _json_path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    properties = schema.get("properties", {})
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        missing = next((name for name in schema.get("required", []) if name not in instance), "?")
        described = properties.get(missing, {}).get("description", "a value")
        return PatientError(f"{path}.{missing}", "required field missing", described)
    if error.validator == "additionalProperties":
        extra = (
            sorted(set(error.instance) - set(properties))
            if isinstance(error.instance, dict)
            else []
        )
        name = extra[0] if extra else "?"
        return PatientError(
            f"{path}.{name}", "unknown field", "one of the fields " + ", ".join(properties)
        )
    described = schema.get("description") or str(error.validator)
    return PatientError(path, error.message, described)


def _reject_non_finite(value: object, path: str) -> None:
    # json.loads reads NaN and Infinity, and the schema's minimum/maximum let NaN through.
    if isinstance(value, float) and not math.isfinite(value):
        raise PatientError(path, f"{value!r} is not a finite number", "a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_non_finite(item, f"{path}[{index}]")


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    # repr of a float is its shortest round-tripping text: 12.5 stays "12.5", not a binary tail.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _symbol(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _birth_date(text: str, today: dt.date) -> int:
    """Whole years from a birth date (YYYY-MM-DD) to `today`: the age MatchMiner's birth-date
    comparison gives (">=18" holds from the 18th birthday on)."""
    try:
        born = dt.date.fromisoformat(text)
    except ValueError:
        raise PatientError(
            "$.birth_date", f"{text!r} is not a date", "a date as YYYY-MM-DD"
        ) from None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if not 0 <= years <= 150:
        raise PatientError(
            "$.birth_date",
            f"{text} gives an age of {years} on {today.isoformat()}",
            "a birth date giving an age from 0 to 150",
        )
    return years


def _read_variant(item: Mapping[str, Any], path: str) -> Variant:
    protein = None
    text = item.get("protein_change")
    if text is not None:
        try:
            protein = parse_protein_change(text)
        except ProteinChangeError as exc:
            raise PatientError(f"{path}.protein_change", exc.message, exc.expected) from None
    oncogenic = item.get("oncogenic")
    return Variant(
        gene=item["gene"].strip(),
        protein=protein,
        origin=item.get("origin", "somatic"),
        consequence=item.get("consequence"),
        exon=item.get("exon"),
        oncogenic=oncogenic if isinstance(oncogenic, bool) else None,
        vaf=_decimal(item.get("vaf")),
        dna=item.get("dna_change"),
        dbsnp=item["dbsnp_id"].lower() if item.get("dbsnp_id") else None,
    )


def consequence_of(change: ProteinChange) -> str | None:
    """The consequence a protein change implies (None where it implies none we name)."""
    match change.kind:
        case "missense" | "nonsense" | "frameshift" | "synonymous":
            return change.kind
        case "deletion":
            return "inframe_deletion"
        case "insertion" | "duplication":
            return "inframe_insertion"
        case "delins":
            removed = (change.end_pos or change.start_pos) - change.start_pos + 1
            inserted = len(change.alt or "") // 3
            if removed > inserted:
                return "inframe_deletion"
            return "inframe_insertion" if inserted > removed else "missense"
        case "extension":
            return "stop_lost"
        case "start_loss":
            return "start_lost"
    return None


def read_json_document(path: Path | str, *, what: str, expected: str) -> object:
    """A JSON document from a file (size-capped, UTF-8, finite numbers); errors name the file.

    `what` names the document in an unreadable file's error ("the patient file"); `expected` is
    what the content should have been ("a JSON object")."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PATIENT_FILE_BYTES:
            raise PatientError(
                "$", f"the file is {size} bytes", f"at most {MAX_PATIENT_FILE_BYTES} bytes"
            ).located(str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise KbError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        data: object = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise PatientError(
            "$", f"not UTF-8 text (byte {exc.start})", "a UTF-8 JSON document"
        ).located(str(path)) from None
    except json.JSONDecodeError as exc:
        raise PatientError(
            "$", f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", expected
        ).located(str(path)) from None
    except ValueError as exc:
        raise PatientError("$", str(exc), "finite numbers").located(str(path)) from None
    return data


def load_patient_file(path: Path | str) -> Patient:
    """Read a patient profile JSON file; errors name the file and the JSON path."""
    path = Path(path)
    data = read_json_document(path, what="the patient file", expected="a JSON object")
    try:
        return Patient.from_json(data)
    except PatientError as exc:
        raise exc.located(str(path)) from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


# --- explanations and results --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    """One node of an explanation tree; it mirrors the rule's criteria.

    `node` is AND / OR / NOT / biomarker / tumour_type / age / sex / status; `result` is True,
    False or None (unknown); `ref` names the biomarker (and threshold) a leaf checks.
    """

    node: str
    text: str
    result: Tri
    reason: str
    args: tuple[Explanation, ...] = ()
    ref: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "node": self.node,
            "text": self.text,
            "result": self.result,
            "reason": self.reason,
        }
        if self.ref is not None:
            out["ref"] = self.ref
        if self.args:
            out["args"] = [arg.as_json() for arg in self.args]
        return out

    def walk(self) -> Iterator[Explanation]:
        """This node and every node below it, depth first."""
        yield self
        for arg in self.args:
            yield from arg.walk()

    def find(self, text: str) -> Explanation:
        """The first node whose text is `text` (for tests and tools)."""
        for node in self.walk():
            if node.text == text:
                return node
        raise KeyError(text)

    def lines(self, indent: int = 0) -> list[str]:
        mark = {True: "[+]", False: "[-]", None: "[?]"}[self.result]
        out = [f"{'  ' * indent}{mark} {self.text}: {self.reason}"]
        for arg in self.args:
            out.extend(arg.lines(indent + 1))
        return out


@dataclass(frozen=True, slots=True)
class TherapyInfo:
    id: str
    name: str
    combination: str | None
    drugs: tuple[tuple[str, str, str | None], ...]  # (id, name, NCIt code)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "combination": self.combination,
            "drugs": [{"id": i, "name": n, "ncit_code": c} for i, n, c in self.drugs],
        }


@dataclass(frozen=True, slots=True)
class ThresholdRequirement:
    """A threshold an assertion's expression uses, with the assay and specimen the KB names."""

    threshold: str
    text: str  # the criterion as written: `CD274 PD-L1 TPS >= 50%`
    assay: str | None
    specimen: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "text": self.text,
            "assay": self.assay,
            "specimen": self.specimen,
        }

    def phrase(self) -> str:
        """`CD274 PD-L1 TPS >= 50% by PD-L1 IHC 22C3 pharmDx on tissue`."""
        out = self.text
        if self.assay:
            out += f" by {self.assay}"
        if self.specimen:
            out += f" on {_words(self.specimen)}"
        return out


@dataclass(frozen=True, slots=True)
class ApprovalInfo:
    """A regulatory approval of the therapy, as the release records it."""

    id: str
    agency: str
    date: str | None
    indication: str
    cdx: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agency": self.agency,
            "date": self.date,
            "indication": self.indication,
            "cdx": self.cdx,
        }

    def phrase(self) -> str:
        """`FDA 2016-10-24: <indication> (CDx PD-L1 IHC 22C3 pharmDx)`."""
        out = " ".join(part for part in (self.agency, self.date) if part)
        if self.indication:
            out += f": {self.indication.rstrip('.')}"
        return f"{out} (CDx {self.cdx})" if self.cdx else f"{out} (no CDx named)"


@dataclass(frozen=True, slots=True)
class TestToOrder:
    """A criterion the patient was never tested for, and what test would decide it.

    `needed` is the result the assertion needs: positive, or negative where the criterion sits
    under a NOT (no EGFR driver for first-line pembrolizumab). `missing` is the patient field
    that would carry the result.
    """

    __test__ = False  # not a pytest test class, despite the name

    biomarker: str
    name: str
    threshold: str | None
    criterion: str
    needed: Literal["positive", "negative"]
    missing: str
    test: str
    assay: str | None
    specimen: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "biomarker": self.biomarker,
            "name": self.name,
            "threshold": self.threshold,
            "criterion": self.criterion,
            "needed": self.needed,
            "missing": self.missing,
            "test": self.test,
            "assay": self.assay,
            "specimen": self.specimen,
        }

    def phrase(self) -> str:
        """`ALK fusion: ALK fusion testing (…), needs negative; not given: fusions`."""
        how = [self.test]
        if self.assay:
            how.append(f"assay {self.assay}")
        if self.specimen:
            how.append(f"specimen {_words(self.specimen)}")
        return (
            f"{self.criterion}: {'; '.join(how)} — needs {self.needed}; "
            f"patient file has no {self.missing}"
        )


@dataclass(frozen=True, slots=True)
class TherapyMatch:
    """A matched assertion. `therapy` is None for diagnostic / prognostic assertions."""

    assertion_id: str
    therapy: TherapyInfo | None
    implication: str
    evidence_level: str | None  # None: the KB's scheme has no level for it (see source_level)
    level_scheme: str | None
    source_scheme: str | None
    source_level: str | None
    direction: str | None  # diagnostic / prognostic: which way it points
    germline: dict[str, str] | None  # predisposing: pathogenicity, inheritance, syndrome
    line_of_therapy: str | None
    specimen: str | None
    cdx: str | None
    confirmatory_test: str | None
    description: str
    citations: tuple[str, ...]
    expression_id: str
    expression_text: str
    tumour: Explanation
    explanation: Explanation
    thresholds: tuple[ThresholdRequirement, ...] = ()
    approvals: tuple[ApprovalInfo, ...] = ()
    tests_to_order: tuple[TestToOrder, ...] = ()

    @property
    def possible(self) -> bool:
        """True for a therapy that tests not yet done could make a match."""
        return bool(self.tests_to_order)

    def requirement_lines(self) -> list[str]:
        """The validation requirements as report lines (empty when the KB names none)."""
        needs = [
            f"{label}: {value}"
            for label, value in (
                ("specimen", self.specimen),
                ("CDx", self.cdx),
                ("confirmatory test", self.confirmatory_test),
            )
            if value
        ]
        lines = ["requires " + "; ".join(needs)] if needs else []
        lines += [f"threshold {item.phrase()}" for item in self.thresholds]
        lines += [f"approval {item.phrase()}" for item in self.approvals]
        return lines

    @property
    def level_text(self) -> str:
        """ "level 1"; without a level in the KB's scheme, the source's, said as such."""
        if self.evidence_level:
            return f"level {self.evidence_level}"
        source = " ".join(p for p in (self.source_scheme, self.source_level) if p)
        if self.germline:
            return self.germline.get("pathogenicity", "unclassified").replace("_", " ")
        return f"no KB level ({source})" if source else "no level"

    @property
    def implication_text(self) -> str:
        extra = self.direction or (self.germline or {}).get("syndrome")
        return f"{self.implication} ({extra.replace('_', ' ')})" if extra else self.implication

    def as_json(self) -> dict[str, Any]:
        return {
            "assertion": self.assertion_id,
            "therapy": self.therapy.as_json() if self.therapy else None,
            "implication": self.implication,
            "evidence_level": self.evidence_level,
            "level_scheme": self.level_scheme,
            "source_level": (
                {"scheme": self.source_scheme, "level": self.source_level}
                if self.source_level
                else None
            ),
            "direction": self.direction,
            "germline": self.germline,
            "line_of_therapy": self.line_of_therapy,
            "validation": {
                "specimen": self.specimen,
                "cdx": self.cdx,
                "confirmatory_test": self.confirmatory_test,
                "thresholds": [item.as_json() for item in self.thresholds],
                "approvals": [item.as_json() for item in self.approvals],
            },
            "tests_to_order": [item.as_json() for item in self.tests_to_order],
            "description": self.description,
            "citations": list(self.citations),
            "expression": {"id": self.expression_id, "text": self.expression_text},
            "tumour": self.tumour.as_json(),
            "explanation": self.explanation.as_json(),
        }


@dataclass(frozen=True, slots=True)
class TrialMatch:
    """A matched (or, in `trials_to_review`, nearly matched) trial arm."""

    trial_id: str
    nct_id: str
    title: str
    phase: str | None
    status: str
    arm_id: str
    arm_code: str
    arm_name: str
    therapy: TherapyInfo | None
    tumour: Explanation
    explanation: Explanation | None
    criteria: tuple[Explanation, ...]
    # The trial's protocol number; a trial without an NCT id ("" then) is named by it.
    protocol_no: str | None = None

    @property
    def trial_key(self) -> str:
        """What names the trial to a person: its NCT id, or its protocol number until then."""
        return self.nct_id or self.protocol_no or self.trial_id

    def as_json(self) -> dict[str, Any]:
        return {
            "trial": self.trial_id,
            "nct_id": self.nct_id or None,
            "protocol_no": self.protocol_no,
            "title": self.title,
            "phase": self.phase,
            "status": self.status,
            "arm": {"id": self.arm_id, "code": self.arm_code, "name": self.arm_name},
            "therapy": self.therapy.as_json() if self.therapy else None,
            "tumour": self.tumour.as_json(),
            "explanation": self.explanation.as_json() if self.explanation else None,
            "criteria": [node.as_json() for node in self.criteria],
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What a release offers one patient: therapies by level, open trial arms, arms to review."""

    patient: Patient
    therapies: list[TherapyMatch]
    trials: list[TrialMatch]
    trials_to_review: list[TrialMatch] = field(default_factory=list)
    kb_id: str = ""
    kb_version: int | None = None
    release_version: str | None = None
    warnings: list[str] = field(default_factory=list)
    possible_therapies: list[TherapyMatch] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)  # input lines left out

    def as_json(self) -> dict[str, Any]:
        return {
            "warnings": list(self.warnings),
            "skipped": [line.as_json() for line in self.skipped],
            "patient": self.patient.id,
            "kb_id": self.kb_id,
            "kb_version": self.kb_version,
            "release_version": self.release_version,
            "therapies": [match.as_json() for match in self.therapies],
            "possible_therapies": [match.as_json() for match in self.possible_therapies],
            "trials": [match.as_json() for match in self.trials],
            "trials_to_review": [match.as_json() for match in self.trials_to_review],
        }

    def text(self) -> str:
        """A readable report, each match followed by its explanation."""
        patient = self.patient
        facts = [patient.oncotree_code or "tumour type unknown"]
        if patient.age is not None:
            facts.append(f"age {patient.age}")
        if patient.sex:
            facts.append(patient.sex)
        release = self.release_version or f"KB version {self.kb_version}"
        lines = [f"Patient {patient.id} ({', '.join(facts)}) against {release}"]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [f"skipped {line.text()}" for line in self.skipped]
        lines.append("")
        lines.append(f"Therapies ({len(self.therapies)})")
        if not self.therapies:
            lines.append("  none")
        for therapy in self.therapies:
            lines.extend(_therapy_lines(therapy))
        lines.append("")
        lines.append(f"Possible with tests ({len(self.possible_therapies)})")
        if not self.possible_therapies:
            lines.append("  none")
        for therapy in self.possible_therapies:
            lines.extend(_therapy_lines(therapy))
        for title, trials in (("Trials", self.trials), ("Trials to review", self.trials_to_review)):
            lines.append("")
            lines.append(f"{title} ({len(trials)})")
            if not trials:
                lines.append("  none")
            for trial in trials:
                lines.append(
                    f"  {trial.trial_key} arm {trial.arm_code} ({trial.arm_id})  {trial.status}  "
                    f"{trial.arm_name}"
                )
                lines.extend(trial.tumour.lines(2))
                if trial.explanation is not None:
                    lines.extend(trial.explanation.lines(2))
                for node in trial.criteria:
                    lines.extend(node.lines(2))
        return "\n".join(lines) + "\n"


def _therapy_lines(therapy: TherapyMatch) -> list[str]:
    name = therapy.therapy.name if therapy.therapy else "(no therapy)"
    lines = [
        f"  {therapy.assertion_id}  {therapy.level_text}  "
        f"{therapy.implication_text}  {name}  [{therapy.line_of_therapy or 'any'}]"
    ]
    lines += [f"    {line}" for line in therapy.requirement_lines()]
    for test in therapy.tests_to_order:
        lines.append(f"    order: {test.phrase()}")
    lines.extend(therapy.tumour.lines(2))
    lines.extend(therapy.explanation.lines(2))
    return lines


# --- compiled knowledge ----------------------------------------------------------------------

Key = tuple[Any, ...]
"""An index key: a fact a patient has, such as ("codon", "EGFR", 858) or ("metric", "TMB")."""


@dataclass(frozen=True, slots=True)
class _Biomarker:
    id: str
    kind: str
    gene: str | None
    origin: str
    change: ProteinChange | None
    hgvs: str | None
    dna: str | None
    dbsnp: str | None
    exon: int | None
    codon_start: int | None
    codon_end: int | None
    consequence: str | None
    category: str | None
    exclusions: tuple[str, ...]
    copy_number: str | None
    partner_5: str | None
    partner_3: str | None
    characteristic: str | None
    status: str | None
    assay: str | None
    name: str
    subject: str


@dataclass(frozen=True, slots=True)
class KnownEffect:
    """A curated oncogenicity record as the matcher reads it."""

    id: str
    biomarker: _Biomarker
    oncogenicity: str
    effect: str

    def verdict(self, category: str) -> bool | None:
        """Whether a variant with this knowledge is in `category` (None: it does not say)."""
        oncogenic = self.oncogenicity in ("oncogenic", "likely_oncogenic")
        if self.oncogenicity == "inconclusive":
            return None
        if category == Category.ONCOGENIC_MUTATIONS.value:
            return oncogenic
        gain = self.effect in ("gain_of_function", "likely_gain_of_function")
        loss = self.effect in ("loss_of_function", "likely_loss_of_function")
        if category == Category.ACTIVATING_MUTATIONS.value:
            if not oncogenic or loss or self.effect == "neutral":
                return False
            return True if gain else None
        if category == Category.LOSS_OF_FUNCTION.value:
            if loss:
                return True
            return False if gain or self.effect == "neutral" else None
        return None


@dataclass(frozen=True, slots=True)
class ExonLayout:
    """A gene's exon map as the matcher reads it from a release."""

    id: str
    transcript: str
    exons: tuple[Exon, ...]

    def exon(self, number: int) -> Exon | None:
        return next((exon for exon in self.exons if exon.number == number), None)


@dataclass(frozen=True, slots=True)
class _Threshold:
    id: str
    metric: Metric
    operator: Operator
    value: str
    unit: str | None
    shown: str  # the value as written in texts, with its unit
    assay: str | None = None
    specimen: str | None = None


@dataclass(frozen=True, slots=True)
class _Leaf:
    biomarker: str
    threshold: str | None


@dataclass(frozen=True, slots=True)
class _Op:
    op: str
    args: tuple[_Node, ...]


_Node = _Leaf | _Op


@dataclass(slots=True)
class _Rule:
    """An assertion or a trial arm, ready to evaluate."""

    id: str
    kind: Literal["assertion", "arm"]
    expression_id: str | None
    tree: _Node | None
    include: frozenset[str]
    exclude: frozenset[str]
    include_order: tuple[str, ...]
    exclude_order: tuple[str, ...]
    fields: Mapping[str, Any]
    open: bool = True


@dataclass(slots=True)
class _Facts:
    """One patient, prepared for matching (gene symbols mapped to the KB's)."""

    patient: Patient
    code: str | None
    known_code: bool
    scopes: frozenset[str]
    variants: dict[str, list[Variant]] | None
    copy_number: dict[str, list[CopyNumberCall]] | None
    fusions: list[Fusion] | None
    expression: dict[tuple[str, str], list[ExpressionResult]] | None
    methylation: dict[str, list[MethylationResult]] | None
    keys: set[Key]
    untested: set[Key] = field(default_factory=set)  # ("untested", field) per field not given
    cache: dict[tuple[str, str | None], tuple[Tri, str]] = field(default_factory=dict)
    # Explanations are immutable, so rules sharing an expression or scopes share them.
    explained: dict[str, Explanation] = field(default_factory=dict)
    tumours: dict[tuple[tuple[str, ...], tuple[str, ...]], Explanation] = field(
        default_factory=dict
    )


def _and(values: Iterable[Tri]) -> Tri:
    unknown = False
    for value in values:
        if value is False:
            return False
        if value is None:
            unknown = True
    return None if unknown else True


def _or(values: Iterable[Tri]) -> Tri:
    unknown = False
    for value in values:
        if value is True:
            return True
        if value is None:
            unknown = True
    return None if unknown else False


_PASSES = {
    Operator.GE: "is at least",
    Operator.GT: "is above",
    Operator.LE: "is at most",
    Operator.LT: "is below",
    Operator.EQ: "is",
    Operator.IN: "is one of",
}
_FAILS = {
    Operator.GE: "is below",
    Operator.GT: "is not above",
    Operator.LE: "is above",
    Operator.LT: "is not below",
    Operator.EQ: "is not",
    Operator.IN: "is not one of",
}
_MSI = {"high": "MSI-H", "low": "MSI-L", "stable": "MSS"}
_SIGNATURE_NAMES = {signature.value: name for signature, name in SIGNATURES.items()}
_MMR = {"deficient": "dMMR", "proficient": "pMMR"}
_SCOPE_NAMES = {
    ALL_TUMOURS: "all tumour types",
    ALL_SOLID: "all solid tumours",
    ALL_LIQUID: "all liquid (haematological) tumours",
}


class Matcher:
    """A release's knowledge, indexed for matching patients. Build with `from_snapshot`."""

    def __init__(
        self,
        *,
        kb_id: str,
        kb_version: int | None,
        release_version: str | None,
        tree: TumourTree,
        genes: Mapping[str, Mapping[str, Any]],
        biomarkers: Mapping[str, _Biomarker],
        thresholds: Mapping[str, _Threshold],
        rules: Sequence[_Rule],
        therapies: Mapping[str, TherapyInfo],
        trials: Mapping[str, Mapping[str, Any]],
        exon_maps: Mapping[str, ExonLayout] | None = None,
        oncogenicity: Sequence[KnownEffect] = (),
        approvals: Mapping[str, Sequence[ApprovalInfo]] | None = None,
    ) -> None:
        self.kb_id = kb_id
        self.kb_version = kb_version
        self.release_version = release_version
        self.tree = tree
        self._biomarkers = biomarkers
        self._thresholds = thresholds
        self._rules = list(rules)
        self._by_id = {rule.id: rule for rule in self._rules}
        self._therapies = therapies
        self._trials = trials
        self._exon_maps = dict(exon_maps or {})
        self._approvals = {key: tuple(value) for key, value in (approvals or {}).items()}
        self._rule_thresholds: dict[str, tuple[ThresholdRequirement, ...]] = {}
        # Curated oncogenicity per gene: what the KB knows an alteration does.
        self._known: dict[str, list[KnownEffect]] = {}
        for known in oncogenicity:
            self._known.setdefault(known.biomarker.gene or "", []).append(known)
        self._roles = {
            str(fields["symbol"]): str(fields.get("role") or "unknown") for fields in genes.values()
        }
        # Patient gene symbols are mapped to the KB's: symbols first, then aliases (HER2).
        self._symbols: dict[str, str] = {}
        for fields in genes.values():
            for alias in fields.get("aliases") or []:
                self._symbols.setdefault(str(alias).upper(), str(fields["symbol"]))
        for fields in genes.values():
            self._symbols[str(fields["symbol"]).upper()] = str(fields["symbol"])
        # Fact key -> tumour scope named by the rule -> rule positions. A KB names a common
        # biomarker in thousands of assertions across tumour types; looking candidates up by the
        # patient's scopes as well skips the ones whose tumour type cannot be true.
        self._index: dict[Key, dict[str, list[int]]] = {}
        self._always: dict[str, list[int]] = {}
        # Assertions a test not yet done could make true, indexed the same way (fact, then
        # tumour scope), with each leaf's "never tested" fact added to the facts that make it
        # true. By fact alone, a common untested fact (no PD-L1 result) named tens of thousands
        # of candidates in other tumour types on every match.
        self._possible_index: dict[Key, dict[str, list[int]]] = {}
        self._possible_always: dict[str, list[int]] = {}
        # Trial arms naming a mutational signature, indexed like the assertions above: a
        # patient whose signature results are unknown is shown them to review.
        self._signature_arms: dict[Key, list[int]] = {}
        self._leaf_texts: dict[tuple[str, str | None], str] = {}
        self._requirements: dict[tuple[str, str | None], frozenset[Key]] = {}
        for position, rule in enumerate(self._rules):
            if not rule.open:
                continue
            needs = self._requirement(rule.tree) if rule.tree is not None else None
            for scope in rule.include:
                if needs is None:
                    self._always.setdefault(scope, []).append(position)
                else:
                    for key in needs:
                        self._index.setdefault(key, {}).setdefault(scope, []).append(position)
            if rule.kind == "arm" and rule.tree is not None and self._names_signature(rule):
                for key in self._requirement(rule.tree, untested=True) or ():
                    self._signature_arms.setdefault(key, []).append(position)
            if rule.kind != "assertion" or rule.tree is None:
                continue
            maybe = self._requirement(rule.tree, untested=True)
            for scope in rule.include:
                if maybe is None:
                    self._possible_always.setdefault(scope, []).append(position)
                else:
                    for key in maybe:
                        by_scope = self._possible_index.setdefault(key, {})
                        by_scope.setdefault(scope, []).append(position)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_snapshot(
        cls,
        data: Mapping[str, Any],
        *,
        trial_statuses: Iterable[TrialStatus | str] = OPEN_TRIAL_STATUSES,
        include_closed: bool = False,
    ) -> Matcher:
        """Index a release's kb.json (the `Snapshot.as_json()` shape) for matching.

        `trial_statuses` are the trial statuses counted as open (default: RECRUITING).
        `include_closed` matches suspended arms and trials of any status too (MatchMiner's
        match_on_closed), for reviewing a trial's reach rather than offering it.
        Raises MatcherError for a record the matcher cannot use, naming it.
        """
        try:
            records: Mapping[str, list[dict[str, Any]]] = data["records"]
            tumour_types = data["tumour_types"]
        except (KeyError, TypeError):
            raise MatcherError(
                "not a KB snapshot: expected an object with 'records' and 'tumour_types'"
            ) from None
        open_statuses = {TrialStatus(status).value for status in trial_statuses}

        def table(name: str) -> dict[str, dict[str, Any]]:
            return {entry["id"]: entry["fields"] for entry in records.get(name, [])}

        genes = table("gene")
        symbol = {gene_id: str(fields["symbol"]) for gene_id, fields in genes.items()}
        tree = TumourTree(
            (row["code"], row.get("parent"), row.get("tissue"), row.get("name") or row["code"])
            for row in tumour_types
        )
        biomarkers = {
            bm_id: _compile_biomarker(bm_id, fields, symbol)
            for bm_id, fields in table("biomarker").items()
        }
        for bm in biomarkers.values():
            for excluded in bm.exclusions:
                if excluded not in biomarkers:
                    raise MatcherError(
                        f"biomarker {bm.id}: excluded biomarker {excluded} is missing"
                    )
        thresholds = {
            th_id: _compile_threshold(th_id, fields) for th_id, fields in table("threshold").items()
        }
        expressions = table("expression")
        drugs = table("drug")
        therapies = {
            tx_id: TherapyInfo(
                tx_id,
                str(fields["name"]),
                fields.get("combination"),
                tuple(
                    (dr, str(drugs.get(dr, {}).get("name", dr)), drugs.get(dr, {}).get("ncit_code"))
                    for dr in fields.get("drugs") or []
                ),
            )
            for tx_id, fields in table("therapy").items()
        }
        trials = table("trial")
        known_effects = []
        for record_id, fields in table("oncogenicity").items():
            target = biomarkers.get(str(fields.get("biomarker")))
            if target is None:
                raise MatcherError(
                    f"oncogenicity {record_id}: biomarker {fields.get('biomarker')} is missing"
                )
            # Only named alterations: a category judged by categories would be circular.
            if target.kind in ("sequence_variant", "range"):
                known_effects.append(
                    KnownEffect(
                        record_id,
                        target,
                        str(fields.get("oncogenicity")),
                        str(fields.get("mutation_effect") or "unknown"),
                    )
                )
        exon_maps: dict[str, ExonLayout] = {}
        for map_id, fields in table("exon_map").items():
            gene = symbol.get(str(fields.get("gene")))
            if gene is None:
                raise MatcherError(f"exon map {map_id}: gene {fields.get('gene')} is missing")
            try:
                exons = parse_exons(fields.get("exons") or [])
            except ExonMapError as exc:
                raise MatcherError(f"exon map {map_id}: {exc}") from None
            exon_maps[gene] = ExonLayout(map_id, str(fields.get("transcript") or "?"), exons)

        def compile_rule(rule_id: str, kind: Literal["assertion", "arm"], fields: Any) -> _Rule:
            return _compile_rule(
                rule_id,
                kind=kind,
                fields=fields,
                expressions=expressions,
                biomarkers=biomarkers,
                thresholds=thresholds,
            )

        rules = [
            compile_rule(as_id, "assertion", fields) for as_id, fields in table("assertion").items()
        ]
        for arm_id, fields in table("trial_arm").items():
            trial = trials.get(fields.get("trial") or "")
            if trial is None:
                raise MatcherError(f"trial arm {arm_id}: trial {fields.get('trial')} is missing")
            rule = compile_rule(arm_id, "arm", fields)
            rule.open = include_closed or (
                trial.get("status") in open_statuses and not fields.get("suspended")
            )
            rules.append(rule)
        return cls(
            kb_id=str(data.get("kb_id") or ""),
            kb_version=data.get("kb_version"),
            release_version=data.get("release_version"),
            tree=tree,
            genes=genes,
            biomarkers=biomarkers,
            thresholds=thresholds,
            rules=rules,
            therapies=therapies,
            trials=trials,
            exon_maps=exon_maps,
            oncogenicity=known_effects,
            approvals=_approvals(table("approval")),
        )

    def _leaf_keys(self, leaf: _Leaf) -> frozenset[Key]:
        pair = (leaf.biomarker, leaf.threshold)
        found = self._requirements.get(pair)
        if found is None:
            bm = self._biomarkers[leaf.biomarker]
            threshold = self._thresholds[leaf.threshold] if leaf.threshold else None
            found = frozenset(_biomarker_keys(bm, threshold))
            self._requirements[pair] = found
        return found

    def _requirement(self, node: _Node, *, untested: bool = False) -> frozenset[Key] | None:
        """Keys of which a patient needs one for `node` to be true; None: no such keys.

        With `untested`, for `node` to be true or to become true once a missing test is done.
        """
        if isinstance(node, _Leaf):
            bm = self._biomarkers[node.biomarker]
            if bm.kind == "wild_type":
                return None  # true when the gene has no variant: no fact to index it by
            keys = self._leaf_keys(node)
            if untested:
                threshold = self._thresholds[node.threshold] if node.threshold else None
                missing = _untested_key(bm, threshold)
                if missing is None:
                    return None
                keys = keys | {missing}
            return keys
        if node.op == "NOT":
            return None
        parts = [self._requirement(arg, untested=untested) for arg in node.args]
        if node.op == "AND":
            known = [part for part in parts if part is not None]
            return min(known, key=len) if known else None
        if any(part is None for part in parts):
            return None
        return frozenset().union(*(part for part in parts if part is not None))

    # -- matching ---------------------------------------------------------------------------

    def match(self, patient: Patient) -> MatchResult:
        """Therapies (sorted by level, then id), open trial arms and arms to review."""
        facts = self._facts(patient)
        scopes = facts.scopes
        candidates: set[int] = set()
        for by_scope in (self._always, *filter(None, map(self._index.get, facts.keys))):
            for scope in scopes:
                hits = by_scope.get(scope)
                if hits:
                    candidates.update(hits)
        therapies: list[TherapyMatch] = []
        trials: list[TrialMatch] = []
        review: list[TrialMatch] = []
        for position in candidates:
            rule = self._rules[position]
            if rule.include.isdisjoint(scopes):
                continue  # the tumour type cannot be true: the cheapest test goes first
            tumour = self._tumour_result(rule, facts)
            if tumour is not True:
                continue
            if rule.tree is not None and self._evaluate(rule.tree, facts) is not True:
                continue
            if rule.kind == "assertion":
                therapies.append(self._therapy_match(rule, facts))
                continue
            criteria = self._criteria(rule, facts)
            verdict = _and(node.result for node in criteria)
            if verdict is True:
                trials.append(self._trial_match(rule, facts, criteria))
            elif verdict is None:
                review.append(self._trial_match(rule, facts, criteria))
        review += self._signature_review(facts, seen={m.arm_id for m in (*trials, *review)})
        warnings = []
        if patient.deceased and (trials or review):
            # MatchMiner matches no deceased patient to a trial (unless told to).
            trials, review = [], []
            warnings.append("the patient is deceased: no trial is matched")
        possible = self._possible(facts, matched={m.assertion_id for m in therapies})
        for group in (therapies, possible):
            group.sort(key=lambda m: (LEVEL_ORDER.get(m.evidence_level or "", 99), m.assertion_id))
        trials.sort(key=lambda m: (m.trial_key, m.arm_id))
        review.sort(key=lambda m: (m.trial_key, m.arm_id))
        code = patient.oncotree_code
        if code and code not in self.tree:
            # Usually a release built from a KB that holds only part of OncoTree (the demo).
            warnings.append(
                f"tumour type {code} is not in this release's OncoTree, so only rules for all "
                "tumours could match; release from a KB with the full OncoTree loaded "
                "(kb vocab load oncotree FILE)"
            )
        return MatchResult(
            patient,
            therapies,
            trials,
            review,
            self.kb_id,
            self.kb_version,
            self.release_version,
            warnings,
            possible_therapies=possible,
        )

    def _possible(self, facts: _Facts, *, matched: set[str]) -> list[TherapyMatch]:
        """Assertions that hold once the tests the patient never had come back as needed."""
        candidates: set[int] = set()
        scopes = facts.scopes
        index = self._possible_index
        keys = facts.keys | facts.untested
        for by_scope in (self._possible_always, *filter(None, map(index.get, keys))):
            for scope in scopes:
                hits = by_scope.get(scope)
                if hits:
                    candidates.update(hits)
        out = []
        for position in candidates:
            rule = self._rules[position]
            if rule.id in matched or rule.tree is None:
                continue
            if self._tumour_result(rule, facts) is not True:
                continue
            if self._evaluate(rule.tree, facts) is not None:
                continue
            if not self._can_become(rule.tree, facts)[0]:
                continue
            tests: dict[tuple[str, str | None], TestToOrder] = {}
            self._collect_tests(rule, rule.tree, facts, negated=False, out=tests)
            if tests:
                match = self._therapy_match(rule, facts)
                out.append(replace(match, tests_to_order=tuple(tests.values())))
        return out

    def _names_signature(self, rule: _Rule) -> bool:
        assert rule.tree is not None
        return any(
            (bm := self._biomarkers.get(leaf.biomarker)) is not None
            and bm.characteristic in _SIGNATURE_NAMES
            for leaf in _leaves(rule.tree)
        )

    def _signature_review(self, facts: _Facts, *, seen: set[str]) -> list[TrialMatch]:
        """Open arms that hold once the patient's unknown mutational signatures are known
        (nothing else unknown but age or sex): to review, not silently left out."""
        keys = facts.keys | facts.untested
        reported = dict(facts.patient.signatures or ())
        if any(name not in reported for name in SIGNATURES.values()):
            keys = keys | {("untested", "signatures")}  # some signature results not given
        candidates: set[int] = set()
        for key in keys:
            candidates.update(self._signature_arms.get(key, ()))
        out = []
        for position in sorted(candidates):
            rule = self._rules[position]
            if rule.id in seen or rule.tree is None or rule.include.isdisjoint(facts.scopes):
                continue
            if self._tumour_result(rule, facts) is not True:
                continue
            if self._evaluate(rule.tree, facts) is not None:
                continue
            if not self._can_become(rule.tree, facts, only=frozenset({"signatures"}))[0]:
                continue
            criteria = self._criteria(rule, facts)
            if _and(node.result for node in criteria) is not False:
                out.append(self._trial_match(rule, facts, criteria))
        return out

    def _untested(self, leaf: _Leaf, facts: _Facts) -> str | None:
        """The patient field whose absence leaves `leaf` unknown (None: it is not untested)."""
        if self._leaf(leaf, facts)[0] is not None:
            return None
        bm = self._biomarkers[leaf.biomarker]
        threshold = self._thresholds[leaf.threshold] if leaf.threshold else None
        return _missing_field(bm, threshold, facts)

    def _can_become(
        self, node: _Node, facts: _Facts, *, only: frozenset[str] | None = None
    ) -> tuple[bool, bool]:
        """Whether `node` can come out true, and false, once every untested criterion is
        tested (each free to come back either way; other unknowns stay unknown). `only`
        limits the tests counted to those patient fields."""
        if isinstance(node, _Leaf):
            value = self._leaf(node, facts)[0]
            if value is None:
                missing = self._untested(node, facts)
                free = missing is not None and (only is None or missing in only)
                return free, free
            return value, not value
        parts = [self._can_become(arg, facts, only=only) for arg in node.args]
        if node.op == "NOT":
            return parts[0][1], parts[0][0]
        if node.op == "AND":
            return all(t for t, _ in parts), any(f for _, f in parts)
        return any(t for t, _ in parts), all(f for _, f in parts)

    def _collect_tests(
        self,
        rule: _Rule,
        node: _Node,
        facts: _Facts,
        *,
        negated: bool,
        out: dict[tuple[str, str | None], TestToOrder],
    ) -> None:
        """The untested criteria that still matter: leaves under the undecided nodes."""
        if isinstance(node, _Leaf):
            missing = self._untested(node, facts)
            pair = (node.biomarker, node.threshold)
            if missing is None or pair in out:
                return
            bm = self._biomarkers[node.biomarker]
            threshold = self._thresholds[node.threshold] if node.threshold else None
            out[pair] = TestToOrder(
                biomarker=bm.id,
                name=bm.name,
                threshold=node.threshold,
                criterion=self._leaf_text(node),
                needed="negative" if negated else "positive",
                missing=missing,
                test=_test_for(bm, threshold),
                assay=(threshold.assay if threshold else None) or bm.assay,
                specimen=(threshold.specimen if threshold else None) or rule.fields.get("specimen"),
            )
            return
        for arg in node.args:
            if self._evaluate(arg, facts) is None:
                self._collect_tests(
                    rule, arg, facts, negated=negated != (node.op == "NOT"), out=out
                )

    def _threshold_requirements(self, rule: _Rule) -> tuple[ThresholdRequirement, ...]:
        found = self._rule_thresholds.get(rule.id)
        if found is None:
            seen: dict[str, ThresholdRequirement] = {}
            for leaf in _leaves(rule.tree):
                if leaf.threshold and leaf.threshold not in seen:
                    threshold = self._thresholds[leaf.threshold]
                    seen[leaf.threshold] = ThresholdRequirement(
                        leaf.threshold, self._leaf_text(leaf), threshold.assay, threshold.specimen
                    )
            found = self._rule_thresholds[rule.id] = tuple(seen.values())
        return found

    def explain(self, patient: Patient, record_id: str) -> Explanation:
        """Why an assertion or trial arm does or does not match `patient` (any rule, any status)."""
        rule = self._by_id.get(record_id.upper())
        if rule is None:
            raise KbError(f"no assertion or trial arm {record_id} in this release")
        facts = self._facts(patient)
        parts: list[Explanation] = []
        if rule.kind == "arm":
            parts.append(self._status_node(rule))
        parts.append(self._tumour_node(rule, facts))
        if rule.tree is not None:
            parts.append(self._explain(rule.tree, facts))
        if rule.kind == "arm":
            parts.extend(self._criteria(rule, facts))
        result = _and(part.result for part in parts)
        return Explanation(
            "AND", f"{rule.kind} {rule.id}", result, _and_reason(parts), tuple(parts)
        )

    # -- facts ------------------------------------------------------------------------------

    def canonical_symbol(self, symbol: str) -> str:
        """The KB's symbol for a gene symbol or alias the patient used (unchanged if unknown)."""
        return self._symbols.get(symbol.upper(), symbol)

    def _facts(self, patient: Patient) -> _Facts:
        keys: set[Key] = set()
        sym = self.canonical_symbol
        code = patient.oncotree_code
        known = code is not None and code in self.tree
        scopes = {ALL_TUMOURS}
        if code is not None:
            scopes.add(code)
            if known:
                scopes.update(self.tree.ancestors(code))
                scopes.add(ALL_LIQUID if self.tree.is_liquid(code) else ALL_SOLID)
        variants: dict[str, list[Variant]] | None = None
        if patient.variants is not None:
            variants = {}
            for variant in patient.variants:
                gene = sym(variant.gene)
                variants.setdefault(gene, []).append(variant)
                keys.add(("gene", gene))
                if variant.protein is not None:
                    start = variant.protein.start_pos
                    end = variant.protein.end_pos or start
                    if end - start <= _MAX_INDEXED_CODONS:
                        keys.update(("codon", gene, pos) for pos in range(start, end + 1))
                    else:
                        keys.add(("codon", gene, start))
        copy_number: dict[str, list[CopyNumberCall]] | None = None
        if patient.copy_number is not None:
            copy_number = {}
            for call in patient.copy_number:
                gene = sym(call.gene)
                copy_number.setdefault(gene, []).append(call)
                keys.add(("cna", gene))
        fusions = None
        if patient.fusions is not None:
            fusions = []
            for fusion in patient.fusions:
                five = sym(fusion.five_prime) if fusion.five_prime else None
                three = sym(fusion.three_prime) if fusion.three_prime else None
                fusions.append(Fusion(five, three))
                keys.update(("fusion", gene) for gene in (five, three) if gene)
        expression: dict[tuple[str, str], list[ExpressionResult]] | None = None
        if patient.expression is not None:
            expression = {}
            for result in patient.expression:
                pair = (sym(result.gene), result.assay)
                expression.setdefault(pair, []).append(result)
                # Biomarkers naming no assay take a result of any assay.
                expression.setdefault((pair[0], ""), []).append(result)
                keys.update((("expr", *pair), ("expr", pair[0], "")))
        methylation: dict[str, list[MethylationResult]] | None = None
        if patient.methylation is not None:
            methylation = {}
            for found in patient.methylation:
                gene = sym(found.gene)
                methylation.setdefault(gene, []).append(found)
                keys.add(("methyl", gene))
        for metric in _METRIC_FIELDS:
            if patient.measurement(metric) is not None:
                keys.add(("metric", metric.value))
        for name, present in (
            ("TMB", patient.tmb is not None),
            ("MSI", patient.msi is not None),
            ("MMR", patient.mmr is not None),
            ("HRD", patient.hrd is not None),
        ):
            if present:
                keys.add(("char", name))
        for signature, name in SIGNATURES.items():
            if name in dict(patient.signatures or ()):
                keys.add(("char", signature.value))
        untested = {
            ("untested", name)
            for name in (
                "variants",
                "copy_number",
                "fusions",
                "tmb",
                "msi",
                "mmr",
                "hrd",
                "signatures",
                *_METRIC_FIELDS.values(),
            )
            if getattr(patient, name) is None
        }
        return _Facts(
            patient,
            code,
            known,
            frozenset(scopes),
            variants,
            copy_number,
            fusions,
            expression,
            methylation,
            keys,
            untested,
        )

    # -- evaluation -------------------------------------------------------------------------

    def _evaluate(self, node: _Node, facts: _Facts) -> Tri:
        if isinstance(node, _Leaf):
            return self._leaf(node, facts)[0]
        if node.op == "NOT":
            inner = self._evaluate(node.args[0], facts)
            return None if inner is None else not inner
        unknown = False
        if node.op == "AND":
            for arg in node.args:
                value = self._evaluate(arg, facts)
                if value is False:
                    return False
                if value is None:
                    unknown = True
            return None if unknown else True
        for arg in node.args:
            value = self._evaluate(arg, facts)
            if value is True:
                return True
            if value is None:
                unknown = True
        return None if unknown else False

    def _leaf(self, leaf: _Leaf, facts: _Facts) -> tuple[Tri, str]:
        pair = (leaf.biomarker, leaf.threshold)
        found = facts.cache.get(pair)
        if found is None:
            bm = self._biomarkers[leaf.biomarker]
            threshold = self._thresholds[leaf.threshold] if leaf.threshold else None
            found = self._judge(bm, threshold, facts)
            facts.cache[pair] = found
        return found

    def _explain(self, node: _Node, facts: _Facts) -> Explanation:
        if isinstance(node, _Leaf):
            result, reason = self._leaf(node, facts)
            ref = node.biomarker + (f" {node.threshold}" if node.threshold else "")
            return Explanation("biomarker", self._leaf_text(node), result, reason, ref=ref)
        args = tuple(self._explain(arg, facts) for arg in node.args)
        text = exprs.render(_raw(node), self._raw_leaf_text)
        if node.op == "NOT":
            inner = args[0]
            negated: Tri = None if inner.result is None else not inner.result
            reason = {
                False: f"{inner.text} does not hold",
                True: f"{inner.text} holds",
                None: f"{inner.text} is unknown",
            }[inner.result]
            return Explanation("NOT", text, negated, reason, args)
        if node.op == "AND":
            return Explanation("AND", text, _and(a.result for a in args), _and_reason(args), args)
        result = _or(a.result for a in args)
        if result is True:
            reason = "holds: " + "; ".join(a.text for a in args if a.result is True)
        elif result is False:
            reason = f"none of the {len(args)} alternatives holds"
        else:
            reason = "none holds for certain; unknown: " + "; ".join(
                a.text for a in args if a.result is None
            )
        return Explanation("OR", text, result, reason, args)

    def _leaf_text(self, leaf: _Leaf) -> str:
        pair = (leaf.biomarker, leaf.threshold)
        text = self._leaf_texts.get(pair)
        if text is None:
            bm = self._biomarkers[leaf.biomarker]
            threshold = self._thresholds.get(leaf.threshold) if leaf.threshold else None
            text = bm.name if threshold is None else f"{_subject(bm, threshold)} {_op(threshold)}"
            self._leaf_texts[pair] = text
        return text

    def _raw_leaf_text(self, raw: exprs.Tree) -> str:
        return self._leaf_text(_Leaf(raw["biomarker"], raw.get("threshold")))

    # -- biomarker semantics ---------------------------------------------------------------

    def _judge(
        self, bm: _Biomarker, threshold: _Threshold | None, facts: _Facts
    ) -> tuple[Tri, str]:
        try:
            match bm.kind:
                case "sequence_variant" | "range" | "categorical":
                    return self._judge_variants(bm, threshold, facts)
                case "copy_number":
                    return self._judge_copy_number(bm, threshold, facts)
                case "fusion":
                    return self._judge_fusion(bm, facts)
                case "characteristic":
                    return self._judge_characteristic(bm, threshold, facts)
                case "expression":
                    return self._judge_expression(bm, threshold, facts)
                case "methylation":
                    return self._judge_methylation(bm, facts)
                case "wild_type":
                    return self._judge_wild_type(bm, facts)
        except ThresholdValueError as exc:
            # A value outside the metric's scale cannot be compared; say so rather than fail.
            return None, f"cannot compare: {exc.message} (expected {exc.expected})"
        return None, f"biomarker kind {bm.kind!r} is not known to this matcher (unknown)"

    def _judge_variants(
        self, bm: _Biomarker, threshold: _Threshold | None, facts: _Facts
    ) -> tuple[Tri, str]:
        if facts.variants is None:
            return None, "no sequence-variant results given (unknown)"
        variants = facts.variants.get(bm.gene or "", [])
        if not variants:
            return False, f"no {bm.gene} variant reported"
        outcomes = []
        for variant in variants:
            result, reason = self._variant(bm, variant, facts)
            if result is not False and threshold is not None:
                result, reason = _combine(
                    (result, reason), self._variant_threshold(bm, threshold, variant)
                )
            outcomes.append((result, reason))
        return _any_of(outcomes)

    def _variant_threshold(
        self, bm: _Biomarker, threshold: _Threshold, variant: Variant
    ) -> tuple[Tri, str]:
        if threshold.metric is not Metric.VAF:
            return None, f"a {threshold.metric.value} threshold does not apply to a variant"
        if variant.vaf is None:
            return None, f"no VAF given for {variant.label()} (unknown)"
        return _compare(f"{variant.label()} VAF", threshold, str(variant.vaf))

    def _variant(
        self, bm: _Biomarker, variant: Variant, facts: _Facts, *, exclusions: bool = True
    ) -> tuple[Tri, str]:
        """Whether one variant is the biomarker (origin, then kind-specific rules)."""
        label = variant.label()
        origin: tuple[Tri, str] = (True, "")
        if bm.origin != Origin.EITHER.value:
            if variant.origin == "unknown":
                origin = (None, f"origin of {label} is unknown; the biomarker is {bm.origin}")
            elif variant.origin != bm.origin:
                return False, f"{label} is {variant.origin}; the biomarker is {bm.origin}"
        match bm.kind:
            case "sequence_variant":
                found = self._sequence_variant(bm, variant, label)
            case "range":
                found = self._range(bm, variant, label)
            case _:
                found = self._categorical(bm, variant, label, facts, exclusions=exclusions)
        return _combine(found, origin)

    def _sequence_variant(self, bm: _Biomarker, variant: Variant, label: str) -> tuple[Tri, str]:
        change = bm.change
        if change is None and bm.dna is None and bm.dbsnp is not None:
            return _same_snp(bm.dbsnp, variant, label)
        if change is None:
            if bm.dna is None:
                return None, f"biomarker {bm.id} has no protein or DNA change (unknown)"
            if variant.dna is None:
                return (
                    None,
                    f"{label}: no DNA change given, and the biomarker is {bm.dna} (unknown)",
                )
            if variant.dna == bm.dna:
                return True, f"patient has {variant.gene} {bm.dna}"
            return False, f"{variant.gene} {variant.dna} is not {bm.dna}"
        if variant.protein is None:
            return None, f"{label} has no protein change given (unknown)"
        protein = variant.protein
        if change.kind == "codon":
            if protein.start_pos != change.start_pos:
                return False, f"{label} is not at codon {change.start_pos}"
            if protein.kind == "synonymous":
                return False, f"{label} is synonymous"
            return True, f"patient has {label}, a change at codon {change.start_pos}"
        if variant.hgvs == bm.hgvs:
            return True, f"patient has {label}"
        return False, f"{label} is not {bm.hgvs}"

    def _exon(self, bm_exon: int, variant: Variant, label: str) -> tuple[Tri, str]:
        """Whether the variant lies in exon `bm_exon`: the exon the patient file gives,
        cross-checked against the KB's exon map, or the map's placement of its protein change."""
        layout = self._exon_maps.get(variant.gene)
        protein = variant.protein
        placed: tuple[int, ...] | None = None
        if layout is not None and protein is not None:
            placed = place(layout.exons, protein.start_pos, protein.end_pos).exons
        if variant.exon is not None:
            if placed is not None and len(placed) == 1 and placed[0] != variant.exon:
                return None, (
                    f"the patient file puts {label} in exon {variant.exon}, but the KB's exon "
                    f"map ({layout.transcript if layout else '?'}) places it in exon "
                    f"{placed[0]}: check the report (unknown)"
                )
            if variant.exon == bm_exon:
                return True, f"in exon {bm_exon}"
            return False, f"{label} is in exon {variant.exon}, not exon {bm_exon}"
        if protein is None:
            return None, f"exon of {label} not given (unknown)"
        if layout is None:
            return None, (
                f"exon of {label} not given and the KB has no exon map of {variant.gene} (unknown)"
            )
        entry = layout.exon(bm_exon)
        if entry is None:
            return None, (
                f"the KB's exon map of {variant.gene} ({layout.transcript}) has no exon "
                f"{bm_exon} (unknown)"
            )
        start, end = protein.start_pos, protein.end_pos or protein.start_pos
        span = f"exon {bm_exon} (codons {entry.first}-{entry.last} of {layout.transcript})"
        if end < entry.first or start > entry.last:
            return False, f"{label} lies outside {span}"
        if entry.first <= start and end <= entry.last:
            return True, f"in {span}, by the KB's exon map"
        return None, f"{label} crosses the edge of {span} (unknown)"

    def _range(self, bm: _Biomarker, variant: Variant, label: str) -> tuple[Tri, str]:
        where: tuple[Tri, str]  # for a true location, the phrase saying where
        # An exon biomarker that also gives its codons can judge a variant without an exon.
        if bm.exon is not None and (variant.exon is not None or bm.codon_start is None):
            where = self._exon(bm.exon, variant, label)
            if where[0] is False:
                return where
        elif bm.codon_start is not None:
            last = bm.codon_end if bm.codon_end is not None else bm.codon_start
            span = (
                f"codon {bm.codon_start}"
                if last == bm.codon_start
                else f"codons {bm.codon_start}-{last}"
            )
            if variant.protein is None:
                where = (None, f"{label} has no protein change given (unknown)")
            else:
                start = variant.protein.start_pos
                end = variant.protein.end_pos or start
                if end < bm.codon_start or start > last:
                    return False, f"{label} is outside {span}"
                where = (True, f"at {span}")
        elif bm.consequence not in (None, "any"):
            where = (True, f"in {bm.gene}")  # no exon or codons: anywhere in the gene
        else:
            return None, f"biomarker {bm.id} gives neither an exon nor codons (unknown)"
        wanted = bm.consequence or "any"
        actual = variant.effective_consequence
        if (
            wanted == Consequence.INTERNAL_TANDEM_DUPLICATION.value
            and variant.consequence is None
            and actual == "inframe_insertion"
        ):
            # A duplication or insertion may be the ITD; only the report can say.
            return None, (
                f"{label} may be an internal tandem duplication; the report does not say (unknown)"
            )
        if wanted == Consequence.PROMOTER.value and variant.consequence is None:
            dna = variant.dna or ""
            if dna.startswith("c.-"):
                actual = Consequence.PROMOTER.value  # upstream of the coding start
        if actual == "synonymous":
            return False, f"{label} is synonymous"
        kind: tuple[Tri, str] = (True, "")
        if wanted != "any":
            if actual is None:
                kind = (None, f"consequence of {label} not given (unknown)")
            elif actual != wanted:
                return False, f"{label} is {_a(actual)}, not {_a(wanted)}"
            else:
                kind = (True, f", {_a(actual)}")
        if where[0] is True and kind[0] is True:
            return True, f"patient has {label} {where[1]}{kind[1]}"
        return None, "; ".join(reason for value, reason in (where, kind) if value is None)

    def _categorical(
        self, bm: _Biomarker, variant: Variant, label: str, facts: _Facts, *, exclusions: bool
    ) -> tuple[Tri, str]:
        consequence = variant.effective_consequence
        category = bm.category
        found: tuple[Tri, str]
        if consequence == "synonymous":
            return False, f"{label} is synonymous"
        if category == Category.ANY_MUTATION.value:
            found = (True, f"patient has {label}")
        elif category == Category.TRUNCATING_MUTATIONS.value:
            if consequence is None:
                found = (None, f"consequence of {label} not given (unknown)")
            elif consequence in TRUNCATING:
                found = (True, f"patient has {label}, truncating ({_words(consequence)})")
            else:
                return False, f"{label} is {_a(consequence)}, not truncating"
        else:
            found = self._oncogenicity(bm, variant, label, consequence, facts)
        if found[0] is False or not exclusions:
            return found
        for excluded_id in bm.exclusions:
            excluded = self._biomarkers[excluded_id]
            if excluded.kind not in ("sequence_variant", "range", "categorical"):
                continue
            if excluded.gene is not None and excluded.gene != bm.gene:
                continue
            # An excluded biomarker's own exclusions are not applied: that keeps a cycle of
            # exclusions finite, and "A except (B except C)" is not something curators write.
            result, _reason = self._variant(excluded, variant, facts, exclusions=False)
            if result is True:
                return False, f"{label} is excluded ({excluded.name}, {excluded.id})"
            if result is None:
                found = _combine(
                    found, (None, f"whether {label} is the excluded {excluded.name} is unknown")
                )
        return found

    def _oncogenicity(
        self,
        bm: _Biomarker,
        variant: Variant,
        label: str,
        consequence: str | None,
        facts: _Facts,
    ) -> tuple[Tri, str]:
        category = _words(bm.category or "oncogenic_mutations")
        if variant.oncogenic is True:
            return True, f"patient has {label}, flagged oncogenic ({category})"
        if variant.oncogenic is False:
            return False, f"{label} is flagged not oncogenic"
        for known in self._known.get(variant.gene, ()):
            if self._variant(known.biomarker, variant, facts, exclusions=False)[0] is not True:
                continue
            verdict = known.verdict(bm.category or Category.ONCOGENIC_MUTATIONS.value)
            if verdict is not None:
                what = f"{_words(known.oncogenicity)}, {_words(known.effect)}"
                if verdict:
                    return True, f"patient has {label}, which the KB holds {what} ({known.id})"
                return False, f"{label} is {what} by the KB ({known.id}), not {category}"
        truncating = consequence in TRUNCATING
        role = self._roles.get(bm.gene or "", "unknown")
        if truncating and (
            bm.category == Category.LOSS_OF_FUNCTION.value
            or (
                bm.category == Category.ONCOGENIC_MUTATIONS.value
                and role in ("tumour_suppressor", "both")
            )
        ):
            return True, f"patient has {label}, truncating and so counted as {category}"
        return None, f"{label} has no oncogenic flag, which {category} needs (unknown)"

    def _judge_copy_number(
        self, bm: _Biomarker, threshold: _Threshold | None, facts: _Facts
    ) -> tuple[Tri, str]:
        if facts.copy_number is None:
            return None, "no copy-number results given (unknown)"
        calls = facts.copy_number.get(bm.gene or "", [])
        if not calls:
            return False, f"no {bm.gene} copy-number alteration reported"
        outcomes: list[tuple[Tri, str]] = []
        for call in calls:
            if call.call not in _COPY_NUMBER_CALLS.get(bm.copy_number or "", ()):
                outcomes.append((False, f"{bm.gene} {call.call} is not {bm.copy_number}"))
                continue
            found: tuple[Tri, str] = (True, f"patient has {bm.gene} {call.call}")
            if threshold is not None:
                if threshold.metric is not Metric.COPY_NUMBER:
                    measured: tuple[Tri, str] = (
                        None,
                        f"a {threshold.metric.value} threshold does not apply to a copy number",
                    )
                elif call.copies is None:
                    measured = (None, f"no copy number given for {bm.gene} (unknown)")
                else:
                    measured = _compare(f"{bm.gene} copies", threshold, str(call.copies))
                found = _combine(found, measured)
            outcomes.append(found)
        return _any_of(outcomes)

    def _judge_fusion(self, bm: _Biomarker, facts: _Facts) -> tuple[Tri, str]:
        if facts.fusions is None:
            return None, "no fusion results given (unknown)"
        wanted = f"{bm.partner_5 or 'any'}::{bm.partner_3 or 'any'}"
        outcomes: list[tuple[Tri, str]] = []
        for fusion in facts.fusions:
            sides: list[Tri] = []
            for mine, theirs in (
                (bm.partner_5, fusion.five_prime),
                (bm.partner_3, fusion.three_prime),
            ):
                if mine is None:
                    sides.append(True)
                elif theirs is None:
                    sides.append(None)
                else:
                    sides.append(mine == theirs)
            result = _and(sides)
            if result is True:
                outcomes.append((True, f"patient has {fusion.label()} fusion"))
            elif result is None:
                outcomes.append((None, f"a partner of {fusion.label()} is not given (unknown)"))
            else:
                outcomes.append((False, f"{fusion.label()} is not {wanted}"))
        if not outcomes:
            return False, "no fusion reported"
        return _any_of(outcomes)

    def _judge_characteristic(
        self, bm: _Biomarker, threshold: _Threshold | None, facts: _Facts
    ) -> tuple[Tri, str]:
        patient = facts.patient
        if threshold is not None:
            return self._measured(bm, threshold, patient)
        match bm.characteristic:
            case "MSI":
                return _status("MSI", patient.msi, _MSI.get(bm.status or ""))
            case "MMR":
                return _status("MMR", patient.mmr, _MMR.get(bm.status or ""))
            case "HRD":
                return _status("HRD", patient.hrd, bm.status)
            case signature if signature in _SIGNATURE_NAMES:
                name = _SIGNATURE_NAMES[signature]
                found = dict(patient.signatures or ()).get(name)
                if found is None:
                    return None, f"no {name} signature result given (unknown)"
                given = "positive" if found else "negative"
                return given == bm.status, f"{name} signature {given}"
            case "TMB":
                if patient.tmb is None:
                    return None, "no TMB result given (unknown)"
                return None, (
                    f"TMB {patient.tmb} mut/Mb given, but the biomarker states no threshold "
                    "(unknown: the KB must give one)"
                )
        return None, f"characteristic {bm.characteristic} is not known to this matcher (unknown)"

    def _judge_expression(
        self, bm: _Biomarker, threshold: _Threshold | None, facts: _Facts
    ) -> tuple[Tri, str]:
        if threshold is not None:
            return self._measured(bm, threshold, facts.patient)
        test = f"{bm.gene} {bm.assay or 'expression'}"
        if facts.expression is None:
            return None, f"no {test} result given (unknown)"
        results = facts.expression.get((bm.gene or "", bm.assay or ""), [])
        if not results:
            return None, f"no {test} result given (unknown)"
        wanted = bm.status or "positive"
        outcomes = [_expression_status(test, wanted, r.result) for r in results]
        return _any_of(outcomes)

    def _judge_methylation(self, bm: _Biomarker, facts: _Facts) -> tuple[Tri, str]:
        test = f"{bm.gene} promoter methylation"
        if facts.methylation is None:
            return None, "no methylation results given (unknown)"
        found = facts.methylation.get(bm.gene or "", [])
        if not found:
            return None, f"no {test} result given (unknown)"
        wanted = bm.status or "methylated"
        if any(result.status == wanted for result in found):
            return True, f"{bm.gene} promoter is {wanted}"
        return False, f"{bm.gene} promoter is {found[0].status}, not {wanted}"

    def _judge_wild_type(self, bm: _Biomarker, facts: _Facts) -> tuple[Tri, str]:
        if facts.variants is None:
            return None, f"no sequence-variant results given, so {bm.gene} wild type is unknown"
        seen = [
            v
            for v in facts.variants.get(bm.gene or "", [])
            if v.effective_consequence != "synonymous"
            and (bm.origin == Origin.EITHER.value or v.origin in (bm.origin, "unknown"))
        ]
        if not seen:
            return True, f"no {bm.gene} variant reported among the sequenced genes: wild type"
        return False, f"patient has {seen[0].label()}, so {bm.gene} is not wild type"

    def _measured(self, bm: _Biomarker, threshold: _Threshold, patient: Patient) -> tuple[Tri, str]:
        observed = patient.measurement(threshold.metric)
        if observed is None:
            if threshold.metric not in _METRIC_FIELDS:
                return None, f"a {threshold.metric.value} threshold does not apply here (unknown)"
            return None, f"no {_METRIC_NAMES[threshold.metric]} result given (unknown)"
        return _compare(_subject(bm, threshold), threshold, observed)

    # -- tumour types and clinical criteria ------------------------------------------------

    def _scope_name(self, scope: str) -> str:
        special = _SCOPE_NAMES.get(scope)
        if special:
            return special
        name = self.tree.name.get(scope)
        return f"{scope} ({name})" if name and name != scope else scope

    def _within(self, facts: _Facts, scope: str) -> tuple[Tri, str]:
        code = facts.code
        if scope == ALL_TUMOURS:
            return True, "every tumour type"
        if code is None:
            return None, "no tumour type given (unknown)"
        if code == scope:
            return True, f"{self._scope_name(code)} is listed"
        if not facts.known_code:
            return None, f"{code} is not in the release's OncoTree (unknown)"
        tissue = self.tree.tissue.get(code) or "?"
        if scope == ALL_SOLID:
            if scope in facts.scopes:
                return True, f"{self._scope_name(code)} is a solid tumour (tissue {tissue})"
            return False, f"{self._scope_name(code)} is not a solid tumour (tissue {tissue})"
        if scope == ALL_LIQUID:
            if scope in facts.scopes:
                return True, f"{self._scope_name(code)} is a liquid tumour (tissue {tissue})"
            return False, f"{self._scope_name(code)} is not a liquid tumour (tissue {tissue})"
        if scope in facts.scopes:
            return True, f"{self._scope_name(code)} is a descendant of {self._scope_name(scope)}"
        return False, f"{code} is not within {scope}"

    def _tumour_result(self, rule: _Rule, facts: _Facts) -> Tri:
        if facts.known_code:
            # Scopes hold the code, its ancestors and its special scopes: exact set logic.
            scopes = facts.scopes
            return not rule.include.isdisjoint(scopes) and rule.exclude.isdisjoint(scopes)
        # No tumour types named: every tumour, as the rule's index has it (and MatchMiner
        # matches a criterion without a diagnosis for any patient, diagnosis given or not).
        included = _or(
            self._within(facts, scope)[0] for scope in rule.include_order or (ALL_TUMOURS,)
        )
        excluded = _or(self._within(facts, scope)[0] for scope in rule.exclude_order)
        return _and((included, None if excluded is None else not excluded))

    def _tumour_node(self, rule: _Rule, facts: _Facts) -> Explanation:
        scopes = ", ".join(rule.include_order) or ALL_TUMOURS
        text = f"tumour type within {scopes}"
        if rule.exclude_order:
            text += f", excluding {', '.join(rule.exclude_order)}"
        included = [self._within(facts, scope) for scope in rule.include_order or (ALL_TUMOURS,)]
        excluded = [self._within(facts, scope) for scope in rule.exclude_order]
        inside = _or(value for value, _ in included)
        outside = _or(value for value, _ in excluded)
        result = _and((inside, None if outside is None else not outside))
        if inside is False:
            code = facts.code or "?"
            reason = included[0][1] if len(included) == 1 else f"{code} is not within {scopes}"
        elif inside is None:
            reason = next(why for value, why in included if value is None)
        elif outside is True:
            reason = "excluded: " + next(why for value, why in excluded if value is True)
        elif outside is None:
            unknown = next(why for value, why in excluded if value is None)
            reason = f"whether it is excluded is unknown: {unknown}"
        else:
            reason = next(why for value, why in included if value is True)
            if excluded:
                reason += f"; not within {', '.join(rule.exclude_order)}"
        return Explanation("tumour_type", text, result, reason)

    def _status_node(self, rule: _Rule) -> Explanation:
        trial = self._trials.get(rule.fields.get("trial") or "", {})
        status = str(trial.get("status") or "UNKNOWN")
        if rule.fields.get("suspended"):
            return Explanation(
                "status", "arm open", False, f"the arm is suspended (trial {status})"
            )
        if rule.open:
            return Explanation("status", "arm open", True, f"trial is {status}")
        return Explanation("status", "arm open", False, f"trial is {status}, not recruiting")

    def _criteria(self, rule: _Rule, facts: _Facts) -> tuple[Explanation, ...]:
        fields = rule.fields
        out = []
        low, high = fields.get("min_age"), fields.get("max_age")
        if low is not None or high is not None:
            if low is not None and high is not None:
                text = f"age {low} to {high}"
            elif low is not None:
                text = f"age {low} or over"
            else:
                text = f"age {high} or under"
            age = facts.patient.age
            if age is None:
                out.append(Explanation("age", text, None, "no age given (unknown)"))
            else:
                ok = (low is None or age >= low) and (high is None or age <= high)
                out.append(Explanation("age", text, ok, f"patient is {age}"))
        sex = str(fields.get("sex") or "ALL").upper()
        if sex != "ALL":
            text = f"sex {sex.lower()}"
            given = facts.patient.sex
            if given is None:
                out.append(Explanation("sex", text, None, "no sex given (unknown)"))
            else:
                out.append(Explanation("sex", text, given.upper() == sex, f"patient is {given}"))
        return tuple(out)

    # -- results -----------------------------------------------------------------------------

    def _therapy_match(self, rule: _Rule, facts: _Facts) -> TherapyMatch:
        fields = rule.fields
        therapy = self._therapies.get(fields.get("therapy") or "")
        explanation = self._explained(rule, facts)
        assert explanation is not None  # assertions always have an expression
        return TherapyMatch(
            assertion_id=rule.id,
            therapy=therapy,
            implication=str(fields.get("implication")),
            evidence_level=fields.get("evidence_level") or None,
            level_scheme=fields.get("level_scheme"),
            source_scheme=fields.get("source_scheme"),
            source_level=fields.get("source_level"),
            direction=fields.get("direction"),
            germline={
                name: str(fields[name])
                for name in ("pathogenicity", "inheritance", "syndrome")
                if fields.get(name)
            }
            or None,
            line_of_therapy=fields.get("line_of_therapy"),
            specimen=fields.get("specimen"),
            cdx=fields.get("cdx"),
            confirmatory_test=fields.get("confirmatory_test"),
            description=str(fields.get("description") or ""),
            citations=tuple(fields.get("citations") or ()),
            expression_id=rule.expression_id or "",
            expression_text=explanation.text,
            tumour=self._tumour(rule, facts),
            explanation=explanation,
            thresholds=self._threshold_requirements(rule),
            approvals=self._approvals.get(fields.get("therapy") or "", ()),
        )

    def _explained(self, rule: _Rule, facts: _Facts) -> Explanation | None:
        if rule.tree is None:
            return None
        key = rule.expression_id or ""
        found = facts.explained.get(key)
        if found is None:
            found = facts.explained[key] = self._explain(rule.tree, facts)
        return found

    def _tumour(self, rule: _Rule, facts: _Facts) -> Explanation:
        key = (rule.include_order, rule.exclude_order)
        found = facts.tumours.get(key)
        if found is None:
            found = facts.tumours[key] = self._tumour_node(rule, facts)
        return found

    def _trial_match(
        self, rule: _Rule, facts: _Facts, criteria: tuple[Explanation, ...]
    ) -> TrialMatch:
        fields = rule.fields
        trial_id = str(fields.get("trial"))
        trial = self._trials.get(trial_id, {})
        return TrialMatch(
            trial_id=trial_id,
            nct_id=str(trial.get("nct_id") or ""),
            title=str(trial.get("title") or ""),
            phase=trial.get("phase"),
            status=str(trial.get("status") or ""),
            arm_id=rule.id,
            arm_code=str(fields.get("code") or ""),
            arm_name=str(fields.get("name") or ""),
            therapy=self._therapies.get(fields.get("therapy") or ""),
            tumour=self._tumour(rule, facts),
            explanation=self._explained(rule, facts),
            criteria=criteria,
            protocol_no=trial.get("protocol_no") or None,
        )


# --- compiling records ------------------------------------------------------------------------


# Calls that count as each copy-number biomarker: an amplification is a gain too, and a deep
# deletion a loss, but not the other way round.
_COPY_NUMBER_CALLS: dict[str, tuple[str, ...]] = {
    "amplification": ("amplification",),
    "gain": ("gain", "amplification"),
    "loss": ("loss", "deletion"),
    "deletion": ("deletion",),
}


def _expression_status(test: str, wanted: str, result: str) -> tuple[Tri, str]:
    """A qualitative expression result against the status the biomarker asks for: high and low
    are levels of positive; positive alone does not say which level."""
    if result == wanted:
        return True, f"{test} is {result}"
    if wanted == "positive" and result == "high":
        return True, f"{test} is high, so positive"
    if wanted in ("high", "low") and result == "positive":
        return None, f"{test} is positive, but its level is not given (unknown)"
    if wanted == "low" and result == "negative":
        return None, f"{test} is negative; whether that is the low the biomarker means is unknown"
    return False, f"{test} is {result}, not {wanted}"


def _compile_biomarker(
    bm_id: str, fields: Mapping[str, Any], symbol: Mapping[str, str]
) -> _Biomarker:
    def gene_of(name: str) -> str | None:
        gene_id = fields.get(name)
        if not gene_id:
            return None
        if gene_id not in symbol:
            raise MatcherError(f"biomarker {bm_id}: {name} {gene_id} is not a gene in the release")
        return symbol[gene_id]

    change = None
    if fields.get("protein_change"):
        try:
            change = parse_protein_change(str(fields["protein_change"]))
        except ProteinChangeError as exc:
            raise MatcherError(f"biomarker {bm_id}: protein_change {exc}") from None
    gene = gene_of("gene")
    partner_5, partner_3 = gene_of("partner_5"), gene_of("partner_3")
    kind = str(fields.get("kind"))
    if kind == "fusion" and gene is None:
        gene = partner_3 or partner_5
    return _Biomarker(
        id=bm_id,
        kind=kind,
        gene=gene,
        origin=str(fields.get("origin") or Origin.SOMATIC.value),
        change=change,
        hgvs=change.hgvs if change is not None else None,
        dna=str(fields["dna_change"]) if fields.get("dna_change") else None,
        dbsnp=str(fields["dbsnp_id"]).lower() if fields.get("dbsnp_id") else None,
        exon=fields.get("exon"),
        codon_start=fields.get("codon_start"),
        codon_end=fields.get("codon_end"),
        consequence=fields.get("consequence"),
        category=fields.get("category"),
        exclusions=tuple(fields.get("exclusions") or ()),
        copy_number=fields.get("copy_number"),
        partner_5=partner_5,
        partner_3=partner_3,
        characteristic=fields.get("characteristic"),
        status=fields.get("status"),
        assay=fields.get("assay"),
        name=biomarker_name(fields, symbol),
        subject=gene or str(fields.get("characteristic") or ""),
    )


def _compile_threshold(th_id: str, fields: Mapping[str, Any]) -> _Threshold:
    try:
        metric = Metric(fields["metric"])
        operator = Operator(fields["operator"])
    except (KeyError, ValueError):
        raise MatcherError(f"threshold {th_id}: unknown metric or operator") from None
    value = str(fields.get("value") or "")
    unit = fields.get("unit")
    return _Threshold(
        th_id,
        metric,
        operator,
        value,
        unit,
        with_unit(value, unit),
        str(fields["assay"]) if fields.get("assay") else None,
        str(fields["specimen"]) if fields.get("specimen") else None,
    )


def _compile_rule(
    rule_id: str,
    *,
    kind: Literal["assertion", "arm"],
    fields: Mapping[str, Any],
    expressions: Mapping[str, Mapping[str, Any]],
    biomarkers: Mapping[str, _Biomarker],
    thresholds: Mapping[str, _Threshold],
) -> _Rule:
    expression_id = fields.get("expression")
    raw = None
    tree: _Node | None = None
    if expression_id:
        expression = expressions.get(expression_id)
        if expression is None:
            raise MatcherError(f"{rule_id}: expression {expression_id} is missing")
        raw = expression["tree"]
        try:
            tree = _compile_tree(exprs.check_tree(raw), biomarkers, thresholds)
        except exprs.TreeError as exc:
            raise MatcherError(f"{rule_id}: expression {expression_id}: {exc}") from None
    elif kind == "assertion":
        raise MatcherError(f"assertion {rule_id} has no expression")
    include = tuple(str(code).upper() for code in fields.get("tumour_types") or ())
    exclude = tuple(str(code).upper() for code in fields.get("excluded_tumour_types") or ())
    return _Rule(
        id=rule_id,
        kind=kind,
        expression_id=expression_id,
        tree=tree,
        include=frozenset(include or (ALL_TUMOURS,)),
        exclude=frozenset(exclude),
        include_order=include,
        exclude_order=exclude,
        fields=fields,
    )


def _compile_tree(
    raw: exprs.Tree, biomarkers: Mapping[str, _Biomarker], thresholds: Mapping[str, _Threshold]
) -> _Node:
    if "op" in raw:
        return _Op(
            raw["op"], tuple(_compile_tree(arg, biomarkers, thresholds) for arg in raw["args"])
        )
    if raw["biomarker"] not in biomarkers:
        raise exprs.TreeError("", f"biomarker {raw['biomarker']} is missing")
    threshold = raw.get("threshold")
    if threshold and threshold not in thresholds:
        raise exprs.TreeError("", f"threshold {threshold} is missing")
    return _Leaf(raw["biomarker"], threshold or None)


def _raw(node: _Node) -> exprs.Tree:
    if isinstance(node, _Leaf):
        leaf: exprs.Tree = {"biomarker": node.biomarker}
        if node.threshold:
            leaf["threshold"] = node.threshold
        return leaf
    return {"op": node.op, "args": [_raw(arg) for arg in node.args]}


def _biomarker_keys(bm: _Biomarker, threshold: _Threshold | None) -> Iterator[Key]:
    """The facts a patient needs one of for this biomarker (with threshold) to be true."""
    gene = bm.gene or ""
    match bm.kind:
        case "sequence_variant":
            if bm.change is not None:
                yield ("codon", gene, bm.change.start_pos)
            else:
                yield ("gene", gene)
        case "range":
            if bm.exon is None and bm.codon_start is not None:
                last = bm.codon_end if bm.codon_end is not None else bm.codon_start
                if last - bm.codon_start <= _MAX_INDEXED_CODONS:
                    for pos in range(bm.codon_start, last + 1):
                        yield ("codon", gene, pos)
                    return
            yield ("gene", gene)
        case "categorical":
            yield ("gene", gene)
        case "copy_number":
            yield ("cna", gene)
        case "methylation":
            yield ("methyl", gene)
        case "fusion":
            yield ("fusion", bm.partner_3 or bm.partner_5 or gene)
        case "characteristic" | "expression":
            if threshold is not None:
                if threshold.metric in _METRIC_FIELDS:
                    yield ("metric", threshold.metric.value)
            elif bm.kind == "expression":
                yield ("expr", gene, bm.assay or "")
            elif bm.characteristic in ("MSI", "MMR", "HRD") or bm.characteristic in {
                signature.value for signature in SIGNATURES
            }:
                yield ("char", bm.characteristic)
            # TMB without a threshold can never be true: no key at all.


def _approvals(table: Mapping[str, Mapping[str, Any]]) -> dict[str, list[ApprovalInfo]]:
    """A release's approval records by therapy id, oldest first."""
    out: dict[str, list[ApprovalInfo]] = {}
    for approval_id, fields in sorted(
        table.items(), key=lambda item: (str(item[1].get("date") or ""), item[0])
    ):
        out.setdefault(str(fields.get("therapy") or ""), []).append(
            ApprovalInfo(
                approval_id,
                str(fields.get("agency") or ""),
                str(fields["date"]) if fields.get("date") else None,
                str(fields.get("indication") or ""),
                str(fields["cdx"]) if fields.get("cdx") else None,
            )
        )
    return out


def _leaves(node: _Node | None) -> Iterator[_Leaf]:
    if node is None:
        return
    if isinstance(node, _Leaf):
        yield node
        return
    for arg in node.args:
        yield from _leaves(arg)


_VARIANT_KINDS = frozenset({"sequence_variant", "range", "categorical", "wild_type"})


def _same_snp(rs_id: str, variant: Variant, label: str) -> tuple[Tri, str]:
    """A biomarker named only by its dbSNP id against one variant of its gene.

    A variant without an rs id is unknown, not false, as a DNA-level biomarker is against a
    variant without its DNA change: reports often name a SNP by its change alone, and the KB
    cannot place an rs id on a change without a reference sequence, so the variant may well be
    that SNP. The tumour board sees it as a possible match to check, never as a match."""
    if variant.dbsnp is None:
        return None, f"{label}: no dbSNP id given, and the biomarker is {rs_id} (unknown)"
    if variant.dbsnp == rs_id:
        return True, f"patient has {variant.gene} {rs_id}"
    return False, f"{variant.gene} {variant.dbsnp} is not {rs_id}"


def _untested_key(bm: _Biomarker, threshold: _Threshold | None) -> Key | None:
    """The fact "never tested for this" that lets a leaf still become true; None where no such
    fact can be indexed (expression and methylation results are per gene and assay)."""
    if bm.kind in _VARIANT_KINDS:
        return ("untested", "variants")
    if bm.kind == "copy_number":
        return ("untested", "copy_number")
    if bm.kind == "fusion":
        return ("untested", "fusions")
    if threshold is not None:
        name = _METRIC_FIELDS.get(threshold.metric)
        return ("untested", name) if name else ("untested", "?")
    if bm.kind == "characteristic":
        if bm.characteristic in _SIGNATURE_NAMES:
            return ("untested", "signatures")
        return ("untested", (bm.characteristic or "?").lower())
    return None


def _missing_field(bm: _Biomarker, threshold: _Threshold | None, facts: _Facts) -> str | None:
    """The patient field not given that leaves `bm` (with `threshold`) unknown, if that is why."""
    patient = facts.patient
    if bm.kind in _VARIANT_KINDS:
        return "variants" if facts.variants is None else None
    if bm.kind == "copy_number":
        return "copy_number" if facts.copy_number is None else None
    if bm.kind == "fusion":
        return "fusions" if facts.fusions is None else None
    if threshold is not None:
        name = _METRIC_FIELDS.get(threshold.metric)
        return name if name and getattr(patient, name) is None else None
    if bm.kind == "characteristic":
        if bm.characteristic in _SIGNATURE_NAMES:
            reported = dict(patient.signatures or ())
            return "signatures" if _SIGNATURE_NAMES[bm.characteristic] not in reported else None
        name = (bm.characteristic or "").lower()
        return (
            name
            if name in ("tmb", "msi", "mmr", "hrd") and getattr(patient, name) is None
            else None
        )
    if bm.kind == "expression":
        given = facts.expression or {}
        return "expression" if not given.get((bm.gene or "", bm.assay or "")) else None
    if bm.kind == "methylation":
        return "methylation" if not (facts.methylation or {}).get(bm.gene or "") else None
    return None


def _test_for(bm: _Biomarker, threshold: _Threshold | None) -> str:
    """The kind of test that answers a criterion, in the words a tumour board uses."""
    gene = bm.gene or "?"
    if threshold is not None:
        metric = _METRIC_NAMES.get(threshold.metric, threshold.metric.value)
        subject = bm.subject or gene
        return metric if metric.startswith(subject) else f"{metric} of {subject}"
    match bm.kind:
        case "sequence_variant" | "range" | "categorical":
            return f"{gene} mutation testing (DNA sequencing)"
        case "wild_type":
            return f"{gene} sequencing, to show no variant"
        case "copy_number":
            return f"{gene} copy-number testing (NGS or ISH)"
        case "fusion":
            return f"{bm.name} testing (RNA sequencing, FISH or IHC)"
        case "expression":
            return f"{gene} {bm.assay or 'expression'}"
        case "methylation":
            return f"{gene} promoter methylation"
    match bm.characteristic:
        case "MSI":
            return "MSI testing (PCR or NGS)"
        case "MMR":
            return "mismatch-repair protein IHC"
        case "HRD":
            return "HRD testing"
        case "TMB":
            return "TMB (NGS panel)"
        case signature if signature in _SIGNATURE_NAMES:
            return f"{_SIGNATURE_NAMES[signature]} mutational signature (NGS)"
    return bm.name


# --- small helpers -----------------------------------------------------------------------------


def _subject(bm: _Biomarker, threshold: _Threshold) -> str:
    """What a threshold measures, as the canonical text writes it (`ERBB2 IHC`, `TMB`)."""
    spec = METRICS[threshold.metric]
    subject = bm.subject or bm.name
    return subject if spec.short == subject else f"{subject} {spec.short}"


def _op(threshold: _Threshold) -> str:
    return f"{threshold.operator.value} {threshold.shown}"


def _compare(subject: str, threshold: _Threshold, observed: str) -> tuple[Tri, str]:
    ok = satisfies(threshold.metric, threshold.operator, threshold.value, observed)
    seen = with_unit(observed, threshold.unit)
    verb = (_PASSES if ok else _FAILS)[threshold.operator]
    return ok, f"{subject} {seen} {verb} {threshold.shown}"


def _status(what: str, given: str | None, wanted: str | None) -> tuple[Tri, str]:
    if given is None:
        return None, f"no {what} status given (unknown)"
    if wanted is None:
        return None, f"the biomarker's {what} status is not known to this matcher (unknown)"
    if given == wanted:
        return True, f"patient is {given}"
    return False, f"patient is {given}, not {wanted}"


def _combine(first: tuple[Tri, str], second: tuple[Tri, str]) -> tuple[Tri, str]:
    """AND of two judged parts, keeping the reason that decides."""
    result = _and((first[0], second[0]))
    if result is False:
        return False, first[1] if first[0] is False else second[1]
    if result is None:
        return None, "; ".join(r for v, r in (first, second) if v is None and r)
    return True, first[1] or second[1]


def _any_of(outcomes: Sequence[tuple[Tri, str]]) -> tuple[Tri, str]:
    """OR over a patient's alterations: the first true one, else the unknown ones, else all."""
    for result, reason in outcomes:
        if result is True:
            return True, reason
    unknown = [reason for result, reason in outcomes if result is None]
    if unknown:
        return None, "; ".join(unknown[:3])
    return False, "; ".join(reason for _, reason in outcomes[:3]) + (
        f" (and {len(outcomes) - 3} more)" if len(outcomes) > 3 else ""
    )


def _and_reason(args: Sequence[Explanation]) -> str:
    failed = [arg.text for arg in args if arg.result is False]
    if failed:
        return "fails: " + "; ".join(failed)
    unknown = [arg.text for arg in args if arg.result is None]
    if unknown:
        return "unknown: " + "; ".join(unknown)
    return f"all {len(args)} conditions hold"


_CONSEQUENCE_PHRASES = {
    "missense": "a missense change",
    "nonsense": "a nonsense change",
    "frameshift": "a frameshift",
    "inframe_deletion": "an in-frame deletion",
    "inframe_insertion": "an in-frame insertion",
    "splice": "a splice variant",
    "exon_skipping": "an exon-skipping variant",
    "synonymous": "a synonymous change",
    "stop_lost": "a stop loss",
    "start_lost": "a start loss",
}


def _words(value: str) -> str:
    return value.replace("_", " ").replace("inframe", "in-frame")


def _a(consequence: str) -> str:
    """`an in-frame deletion`, `a missense change`."""
    return _CONSEQUENCE_PHRASES.get(consequence) or _article(_words(consequence))


def _article(category: str) -> str:
    return f"an {category}" if category[:1] in "aeiou" else f"a {category}"
