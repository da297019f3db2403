"""FHIR for patients: Genomics Reporting Observations in, therapeutic implications out.

`patient_from_fhir(bundle)` reads a FHIR R4 Bundle of HL7 Genomics Reporting IG (STU2/STU3)
variant and biomarker Observations, with the tumour type from a Condition, into the matcher's
`Patient`; `result_to_fhir(result, patient_bundle=..., release_version=..., release_digest=...)`
answers with a Bundle of therapeutic-implication Observations derived from the input
Observations and citing the release. Both are pure functions (no I/O), so the CLI and the
service call them alike.

R4, built with the R4B models
    fhir.resources ships R5 (its default), R4B and STU3, but no R4 package. HL7 made R4B
    "strictly backward compatible with R4" outside the medication-definition, evidence and
    subscription modules (hl7.org/fhir/R4B/r4b-explanation.html). The R4B diff pages say, for
    the resources used here: Condition (R4B/condition.diff.xml), only its required value sets
    re-versioned to 4.3.0; Task (R4B/task.diff.xml), the same for status / intent / priority,
    and Meta added to input/output values, which we do not use; Observation (the R4B ballot's
    observation.diff.xml), the status value set re-versioned and `subject` widened to more
    target types besides Patient | Group | Device | Location — we write only Patient subjects,
    so our Observations are R4 Observations. Bundle and Patient sit in modules R4B left alone,
    and the data types we use (CodeableConcept, Coding, Quantity, Reference, Annotation,
    Extension, RelatedArtifact) are "No Changes" on R4B/diff.html. So the R4B models accept
    every R4 document we read, and what we emit is valid R4 JSON. The R5 models would judge R4
    documents by R5's rules (Task.reasonReference, for one, is Task.reason there).

Reading (codes as the IG and its mCODE examples use them)
    Variant Observation, LOINC 69548-6, value LA9633-4 "Present" ("Absent" is a negative test:
    the patient counts as tested for that kind of alteration, variant, fusion or copy number,
    with nothing found; "No call" and "Indeterminate" are reported and skipped).
    Components: gene studied 48018-6 (the HGNC symbol is the coding's display, per the IG),
    amino-acid change 48005-3 (HGVS p., an accession prefix and the parentheses of a predicted
    change are dropped), DNA change 48004-6 (c.) or genomic change 81290-9 (g.), genomic source
    class 48002-0 (LA6684-0 somatic, LA6683-2 germline; likely germline / likely somatic /
    unknown / fetal read as origin "unknown", so neither a germline nor a somatic biomarker
    matches them for certain), sample allelic frequency 81258-6 (UCUM
    "1" is a fraction, "%" a percentage), the dbSNP id as the one rs id among the codings of
    variation-code 81252-9 (or STU1's dbSNP id 81255-5). A variant without a genomic source
    class is somatic, as in patient JSON.
    Copy number: a variant Observation whose DNA change type 48019-4 is Sequence Ontology
    copy_number_gain SO:0001742 (call "gain"), copy_number_loss SO:0001743 ("loss"; "deletion"
    when the copy number is 0) or feature_amplification SO:0001880 ("amplification"), with the
    copy number 82155-3. Fusion: DNA change type (or the older molecular-consequence component)
    gene_fusion SO:0001565 or chromosomal_translocation SO:1000044 with two genes studied, read
    5' then 3' in the order given (as the IG's BCR::ABL1 and ETV6::RUNX1 examples list them).
    TMB 94076-7 (mutations per megabase); MSI 81695-9 with LA26203-2 MSI-H, LA26202-4 MSI-L,
    LA14122-8 stable (MSS); PD-L1 TPS 83053-9 (% of tumour cells by 22C3); PD-L1 by 22C3 report
    85147-7 or presence 83052-1: a number with the PD-L1 scoring method component 105302-4
    (TPS / CPS / IC) is that score, LA6576-8 positive / LA6577-6 negative an IHC result;
    HER2 18474-7 (IHC): 0, 1+, 2+, 3+ is the score, positive / negative / present an IHC
    result; HER2 ISH 49683-6 (ERBB2/CEP17 copy-number ratio). Measurements no LOINC code we
    verified covers (PD-L1 CPS and IC as Observations of their own, HRD score) use the local
    code system `LOCAL_METRICS` with the codes of `kb.model.metrics.Metric`.
    Tumour type: a Condition coded in OncoTree (`http://oncotree.mskcc.org` or https). A
    Condition coded otherwise is a located error unless another Condition gives the OncoTree
    code; no Condition leaves the tumour type unknown.

    Every entry that cannot be read is reported as a `FhirIssue` (entry index, fullUrl, JSON
    path, reason) and skipped; only a document that is not a valid Bundle raises
    `PatientError`. Resource types other than Observation, Condition and Patient are ignored.

Writing
    One Observation per matched assertion with a therapy, profile therapeutic-implication
    (STU3): code tbd-codes-cs#therapeutic-implication; components medication-assessed LOINC
    51963-7 (one per drug: NCIt coding and name), therapeutic-implication (tbd-codes-cs, with
    LOINC 51961-1 "effect on drug efficacy", the STU1 code, as a second coding) valued LA6677-4
    Responsive / LA6676-6 Resistant, evidence-level LOINC 93044-6 (the KB's level, its scheme
    as the coding's version), phenotypic-treatment-context LOINC 81259-4 (the patient's OncoTree
    code); `derivedFrom` the input Observations whose results decided the match (each leaf of
    the explanation that holds names the patient's alteration or measurement); the release and
    the assertion's citations as the IG's workflow-relatedArtifact extension (the IG adds it
    to every implication "to deliver artifacts that are relevant to the implication"), the
    release version and digest repeated in a note for readers that ignore extensions.
    A match that is only possible (explanation unknown: a test was not done) is written with
    status "preliminary", and a followup-recommendation Task (the IG's profile: requested,
    proposal, reasonReference the implication) names the criteria still open. A preliminary
    Observation keeps the uncertainty on the implication itself, where any reader sees it; the
    Task says what to do about it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from kb.matching.lines import single_rs_id
from kb.matching.matcher import (
    Explanation,
    MatchResult,
    Patient,
    PatientError,
    TherapyMatch,
    read_json_document,
)
from kb.model.metrics import Metric
from kb.model.protein import ProteinChangeError, parse_protein_change

__all__ = [
    "LOCAL_METRICS",
    "THERAPEUTIC_IMPLICATION",
    "FhirIssue",
    "citation_index",
    "issues_as_json",
    "load_fhir_bundle",
    "patient_from_fhir",
    "result_to_fhir",
]

LOINC = "http://loinc.org"
HGVS = "http://varnomen.hgvs.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
ONCOTREE = frozenset({"http://oncotree.mskcc.org", "https://oncotree.mskcc.org"})
SEQUENCE_ONTOLOGY = frozenset({"http://sequenceontology.org", "http://www.sequenceontology.org"})
TBD_CODES = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
RELATED_ARTIFACT = "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact"
IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
THERAPEUTIC_IMPLICATION = IG + "therapeutic-implication"
FOLLOWUP_RECOMMENDATION = IG + "followup-recommendation"
LOCAL_METRICS = "https://kb-curator.example/fhir/CodeSystem/biomarker-metric"
"""Our own code system for measurements without a LOINC code we verified (codes: `Metric`)."""
LEVELS = "https://kb-curator.example/fhir/CodeSystem/evidence-level"
"""Our code system for the KB's evidence levels; the coding's version names the scheme."""
RELEASE_TAG = "https://kb-curator.example/fhir/CodeSystem/release"
"""Tags the answer Bundle with the release it was matched against (code: the version)."""
_NAMESPACE = uuid.UUID("6f7c1c52-3a8e-5d4e-9a51-3c1f6f1e2b90")

# LOINC observation codes (verified against the IG and mCODE examples; see the module docstring).
VARIANT = "69548-6"
GENE_STUDIED = "48018-6"
AMINO_ACID_CHANGE = "48005-3"
DNA_CHANGE = "48004-6"
GENOMIC_CHANGE = "81290-9"
GENOMIC_SOURCE_CLASS = "48002-0"
# A variant's identifiers: "Discrete genetic variant" (variation-code, STU2 on) and the older
# "dbSNP [ID]" component (STU1); an rs id among their codings is the variant's dbSNP id.
VARIATION_CODE = "81252-9"
DBSNP_ID = "81255-5"
ALLELIC_FREQUENCY = "81258-6"
DNA_CHANGE_TYPE = "48019-4"
COPY_NUMBER = "82155-3"
TMB = "94076-7"
MSI = "81695-9"
PDL1_TPS_22C3 = "83053-9"
PDL1_REPORT_22C3 = "85147-7"
PDL1_PRESENCE_22C3 = "83052-1"
PDL1_SCORING_METHOD = "105302-4"
HER2_IHC = "18474-7"
HER2_ISH_RATIO = "49683-6"
MEDICATION_ASSESSED = "51963-7"
DRUG_EFFICACY = "51961-1"
EVIDENCE_LEVEL = "93044-6"
TREATMENT_CONTEXT = "81259-4"

_MODELS: dict[str, type[Observation] | type[Condition] | type[FhirPatient]] = {
    "Observation": Observation,
    "Condition": Condition,
    "Patient": FhirPatient,
}
_PRESENT = "LA9633-4"
_ORIGINS = {"LA6684-0": "somatic", "LA6683-2": "germline"}
_MSI = {"LA26203-2": "MSI-H", "LA26202-4": "MSI-L", "LA14122-8": "MSS"}
_POSITIVE_NEGATIVE = {"LA6576-8": "positive", "LA6577-6": "negative", _PRESENT: "positive"}
_COPY_NUMBER_TYPES = {
    "SO:0001742": "gain",
    "SO:0001743": "loss",
    "SO:0001880": "amplification",
}
_COPY_NUMBER_NAMES = {
    "copy_number_gain": "gain",
    "copy_number_loss": "loss",
    "feature_amplification": "amplification",
}
_FUSION_TYPES = frozenset({"SO:0001565", "SO:1000044"})
_FUSION_NAMES = frozenset({"gene_fusion", "chromosomal_translocation"})
_RESPONSE = {
    "sensitive": ("LA6677-4", "Responsive"),
    "resistant": ("LA6676-6", "Resistant"),
}
_HER2_SCORES = {"0": "0", "0+": "0", "1+": "1+", "2+": "2+", "3+": "3+"}
_READABLE_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})
_DNA = re.compile(r"^[cg]\.[-*]?[0-9][A-Za-z0-9_+*>-]*$")
_METRIC_FIELDS = {
    Metric.TMB: "tmb",
    Metric.PDL1_TPS: "pdl1_tps",
    Metric.PDL1_CPS: "pdl1_cps",
    Metric.PDL1_IC: "pdl1_ic",
    Metric.HER2_ISH_RATIO: "her2_ish_ratio",
    Metric.HRD_SCORE: "hrd_score",
}
_SHORT = {
    Metric.TMB: "TMB",
    Metric.PDL1_TPS: "TPS",
    Metric.PDL1_CPS: "CPS",
    Metric.PDL1_IC: "IC",
    Metric.HER2_IHC: "IHC",
    Metric.HER2_ISH_RATIO: "ISH_RATIO",
    Metric.HRD_SCORE: "HRD",
}


@dataclass(frozen=True, slots=True)
class FhirIssue:
    """An entry of the input Bundle that was skipped, or read only in part, and why.

    `index` is the entry's position in `Bundle.entry` (None for the Bundle itself), `path` a
    JSON path into the Bundle (`$.entry[3].resource.component[1]`).
    """

    index: int | None
    full_url: str | None
    resource: str | None  # "Observation/abc" when the resource has an id
    path: str
    reason: str
    skipped: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "entry": self.index,
            "full_url": self.full_url,
            "resource": self.resource,
            "path": self.path,
            "reason": self.reason,
            "skipped": self.skipped,
        }

    def text(self) -> str:
        where = f"entry {self.index}" if self.index is not None else "Bundle"
        names = ", ".join(n for n in (self.full_url, self.resource) if n)
        verb = "skipped" if self.skipped else "note"
        return f"{where}{f' ({names})' if names else ''}: {verb}: {self.reason} [{self.path}]"


class _Skip(Exception):
    """An Observation that cannot be read; the message says why."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True, slots=True)
class _Fact:
    """One patient fact read from an input Observation, and how a leaf reason names it."""

    reference: str
    keys: tuple[str, ...]  # phrases that a holding leaf's reason contains when this fact decided it
    metric: Metric | None = None


@dataclass(slots=True)
class _Reading:
    data: dict[str, Any]
    issues: list[FhirIssue]
    facts: list[_Fact] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # every Observation read, in order
    subject: str | None = None
    oncotree_system: str | None = None


# --- reading --------------------------------------------------------------------------------


def patient_from_fhir(bundle: Mapping[str, Any]) -> tuple[Patient, list[FhirIssue]]:
    """Read a FHIR R4 Bundle (parsed JSON) of Genomics Reporting Observations into a Patient.

    Returns the patient and the issues: every entry that could not be read, located by its
    index and fullUrl, with the reason; those entries are skipped, never aborting the patient.
    Raises PatientError (with a JSON path) when the document is not a valid Bundle, or when
    the tumour type cannot be read from its Conditions.
    """
    reading = _read(bundle)
    return Patient.from_json(reading.data), reading.issues


def load_fhir_bundle(path: Path | str) -> dict[str, Any]:
    """Read a Bundle JSON file (size-capped, UTF-8, finite numbers); errors name the file."""
    path = Path(path)
    data = read_json_document(path, what="the FHIR Bundle", expected="a FHIR Bundle")
    if not isinstance(data, dict):
        raise PatientError("$", "not a JSON object", "a FHIR Bundle").located(str(path))
    return data


def _read(bundle: Mapping[str, Any]) -> _Reading:
    if not isinstance(bundle, Mapping):
        raise PatientError("$", "not a JSON object", "a FHIR R4 Bundle")
    kind = bundle.get("resourceType")
    if kind != "Bundle":
        raise PatientError(
            "$.resourceType", f"{kind!r} is not a Bundle", '"Bundle" (a FHIR R4 Bundle)'
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise PatientError("$.entry", "not a list", "a list of Bundle entries")
    # The Bundle's own elements are checked whole; each resource on its own, so that one bad
    # Observation is skipped rather than failing the patient.
    shell = dict(bundle)
    shell["entry"] = [
        {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, Mapping) else entry
        for entry in entries
    ]
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        path, message = _first_error(exc, "$")
        raise PatientError(path, message, "a valid FHIR R4 Bundle") from None

    reading = _Reading(data={}, issues=[])
    observations: list[tuple[int, str | None, str, Observation]] = []
    conditions: list[tuple[int, str | None, str, Condition]] = []
    patients: list[tuple[int, FhirPatient]] = []
    for index, entry in enumerate(entries):
        full_url = entry.get("fullUrl")
        base = f"$.entry[{index}].resource"
        resource = entry.get("resource")
        if not isinstance(resource, Mapping):
            reading.issues.append(
                FhirIssue(index, full_url, None, base, "the entry holds no resource")
            )
            continue
        rtype = resource.get("resourceType")
        model = _MODELS.get(str(rtype))
        if model is None:
            continue  # DiagnosticReport, Specimen, Practitioner...: not needed to match
        name = f"{rtype}/{resource['id']}" if isinstance(resource.get("id"), str) else None
        try:
            parsed = model.model_validate(resource)
        except ValidationError as exc:
            path, message = _first_error(exc, base)
            reading.issues.append(
                FhirIssue(index, full_url, name, path, f"not a valid FHIR {rtype}: {message}")
            )
            continue
        reference = full_url or name or f"#entry-{index}"
        if isinstance(parsed, Observation):
            observations.append((index, full_url, reference, parsed))
        elif isinstance(parsed, Condition):
            conditions.append((index, full_url, reference, parsed))
        else:
            patients.append((index, parsed))

    patient_id = _read_patient(reading, bundle, patients, observations)
    reading.data["id"] = patient_id
    _read_condition(reading, conditions)
    for index, full_url, reference, observation in observations:
        name = f"Observation/{observation.id}" if observation.id else None
        path = f"$.entry[{index}].resource"
        try:
            _read_observation(reading, observation, reference, path)
        except _Skip as skip:
            reading.issues.append(FhirIssue(index, full_url, name, skip.path or path, skip.reason))
            continue
        reading.references.append(reference)
    return reading


def _first_error(exc: ValidationError, base: str) -> tuple[str, str]:
    error = exc.errors()[0]
    path = base
    for part in error.get("loc", ()):
        if part == "__root__":
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path, str(error.get("msg", "invalid"))


def _read_patient(
    reading: _Reading,
    bundle: Mapping[str, Any],
    patients: Sequence[tuple[int, FhirPatient]],
    observations: Sequence[tuple[int, str | None, str, Observation]],
) -> str:
    subject: str | None = None
    if patients:
        index, patient = patients[0]
        full_url = bundle["entry"][index].get("fullUrl")
        subject = full_url or (f"Patient/{patient.id}" if patient.id else None)
        if patient.gender in ("female", "male"):
            reading.data["sex"] = patient.gender
        if patient.birthDate is not None:
            on = _as_date(bundle.get("timestamp")) or date.today()
            born = patient.birthDate
            if isinstance(born, date):
                years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
                if 0 <= years <= 150:
                    reading.data["age"] = years
        for other, _ in patients[1:]:
            reading.issues.append(
                FhirIssue(
                    other,
                    bundle["entry"][other].get("fullUrl"),
                    None,
                    f"$.entry[{other}].resource",
                    "a second Patient: a Bundle describes one patient; the first is used",
                )
            )
        pid = patient.id or (full_url or "").rsplit("/", 1)[-1].removeprefix("urn:uuid:")
    else:
        pid = ""
        for _, _, _, observation in observations:
            if observation.subject is not None and observation.subject.reference:
                subject = observation.subject.reference
                pid = subject.rsplit("/", 1)[-1].removeprefix("urn:uuid:")
                break
    reading.subject = subject
    pid = pid or str(bundle.get("id") or "") or "fhir-bundle"
    return pid[:200]


def _as_date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _read_condition(
    reading: _Reading, conditions: Sequence[tuple[int, str | None, str, Condition]]
) -> None:
    found: list[tuple[int, str, str]] = []  # (index, code, system)
    others: list[tuple[int, str]] = []
    for index, _, _, condition in conditions:
        codings = list(_codings(condition.code))
        oncotree = [c for c in codings if (c.system or "").rstrip("/") in ONCOTREE and c.code]
        if oncotree:
            found.append((index, str(oncotree[0].code), str(oncotree[0].system).rstrip("/")))
            continue
        said = ", ".join(f"{c.system or '?'}#{c.code}" for c in codings if c.code)
        text = condition.code.text if condition.code is not None else None
        others.append((index, said or (f'text "{text}"' if text else "no code")))
    codes = {code.upper() for _, code, _ in found}
    if len(codes) > 1:
        listed = ", ".join(f"entry {i}: {c}" for i, c, _ in found)
        raise PatientError(
            f"$.entry[{found[1][0]}].resource.code",
            f"the Conditions name different OncoTree tumour types ({listed})",
            "one OncoTree-coded Condition for the tumour being matched",
        )
    if found:
        reading.data["oncotree_code"] = found[0][1].upper()
        reading.oncotree_system = found[0][2]
        return
    if others:
        index, said = others[0]
        raise PatientError(
            f"$.entry[{index}].resource.code",
            f"the Condition is not coded in OncoTree ({said})",
            "a Condition.code coding with system http://oncotree.mskcc.org and an OncoTree "
            "code such as LUAD",
        )


def _codings(concept: Any) -> Iterator[Any]:
    if concept is not None:
        yield from concept.coding or ()


def _loinc_codes(concept: Any) -> set[str]:
    return {str(c.code) for c in _codings(concept) if c.system == LOINC and c.code}


def _local_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if coding.system == LOCAL_METRICS and coding.code:
            return str(coding.code)
    return None


def _read_observation(
    reading: _Reading, observation: Observation, reference: str, path: str
) -> None:
    if observation.status not in _READABLE_STATUSES:
        raise _Skip(f"status {observation.status!r}: not a result to match on", f"{path}.status")
    subject = observation.subject.reference if observation.subject is not None else None
    if subject and reading.subject and subject != reading.subject:
        raise _Skip(
            f"its subject {subject} is not the Bundle's patient ({reading.subject})",
            f"{path}.subject",
        )
    codes = _loinc_codes(observation.code)
    local = _local_code(observation.code)
    if VARIANT in codes:
        _read_variant(reading, observation, reference, path)
    elif TMB in codes:
        _measure(reading, Metric.TMB, _quantity(observation, path), reference)
    elif MSI in codes:
        _read_msi(reading, observation, reference, path)
    elif PDL1_TPS_22C3 in codes:
        _measure(reading, Metric.PDL1_TPS, _quantity(observation, path), reference)
    elif codes & {PDL1_REPORT_22C3, PDL1_PRESENCE_22C3}:
        _read_pdl1(reading, observation, reference, path)
    elif HER2_IHC in codes:
        _read_her2_ihc(reading, observation, reference, path)
    elif HER2_ISH_RATIO in codes:
        _measure(reading, Metric.HER2_ISH_RATIO, _quantity(observation, path), reference)
    elif local is not None and local in {m.value for m in Metric}:
        metric = Metric(local)
        if metric is Metric.HER2_IHC:
            _read_her2_ihc(reading, observation, reference, path)
        elif metric in _METRIC_FIELDS:
            _measure(reading, metric, _quantity(observation, path), reference)
        else:
            raise _Skip(f"{LOCAL_METRICS}#{local} is not a patient measurement", f"{path}.code")
    else:
        said = ", ".join(f"{c.system or '?'}#{c.code}" for c in _codings(observation.code))
        raise _Skip(
            f"not a variant or biomarker Observation this reader knows (code {said or 'none'})",
            f"{path}.code",
        )


def _components(observation: Observation, path: str) -> Iterator[tuple[str, Any, str]]:
    """(LOINC or tbd code, component, path) for each component."""
    for position, component in enumerate(observation.component or ()):
        where = f"{path}.component[{position}]"
        for coding in _codings(component.code):
            if coding.code and coding.system in (LOINC, TBD_CODES):
                yield str(coding.code), component, where


def _concept_words(concept: Any) -> list[str]:
    """The codes, displays and text of a CodeableConcept, for lenient matching."""
    out: list[str] = []
    for coding in _codings(concept):
        out.extend(str(v) for v in (coding.code, coding.display) if v)
    if concept is not None and concept.text:
        out.append(str(concept.text))
    return out


def _read_variant(reading: _Reading, observation: Observation, reference: str, path: str) -> None:
    value = observation.valueCodeableConcept
    if value is not None and _PRESENT not in {str(c.code) for c in _codings(value)}:
        words = {w.lower() for w in _concept_words(value)}
        said = next((w for w in ("absent", "no call", "indeterminate") if w in words), None)
        if said is not None:
            if said == "absent":
                # Tested, not found: the patient counts as tested for this kind of alteration.
                kinds = {
                    _change_type(c.valueCodeableConcept)
                    for code, c, _ in _components(observation, path)
                    if code in (DNA_CHANGE_TYPE, "molecular-consequence")
                }
                if kinds & (_FUSION_TYPES | _FUSION_NAMES):
                    reading.data.setdefault("fusions", [])
                elif kinds & (set(_COPY_NUMBER_TYPES) | set(_COPY_NUMBER_NAMES)):
                    reading.data.setdefault("copy_number", [])
                else:
                    reading.data.setdefault("variants", [])
            raise _Skip(f"the variant is reported {said}, not present", path)
    genes: list[str] = []
    item: dict[str, Any] = {}
    change_type: str | None = None
    copies: Decimal | None = None
    for code, component, where in _components(observation, path):
        if code == GENE_STUDIED:
            symbol = _gene_symbol(component.valueCodeableConcept)
            if symbol is None:
                raise _Skip("the gene studied gives no HGNC symbol (coding display)", where)
            genes.append(symbol)
        elif code == AMINO_ACID_CHANGE:
            item["protein_change"] = _protein(component, where)
        elif code in (DNA_CHANGE, GENOMIC_CHANGE):
            dna = _hgvs_text(component.valueCodeableConcept, "cg")
            if dna is not None and (code == DNA_CHANGE or "dna_change" not in item):
                if not _DNA.match(dna) or len(dna) > 200:
                    raise _Skip(f"the DNA change {dna!r} is not an HGVS c. or g. change", where)
                item["dna_change"] = dna
        elif code in (VARIATION_CODE, DBSNP_ID):
            codes = [str(c.code or "") for c in _codings(component.valueCodeableConcept)]
            rs_id = single_rs_id(codes)  # ClinVar or COSMIC ids beside it are not rs ids
            if rs_id is not None:
                item.setdefault("dbsnp_id", rs_id)
        elif code == GENOMIC_SOURCE_CLASS:
            found = [_ORIGINS.get(str(c.code)) for c in _codings(component.valueCodeableConcept)]
            known = [f for f in found if f]
            item["origin"] = known[0] if known else "unknown"
        elif code == ALLELIC_FREQUENCY:
            item["vaf"] = _vaf(component.valueQuantity, where)
        elif code in (DNA_CHANGE_TYPE, "molecular-consequence"):
            change_type = _change_type(component.valueCodeableConcept) or change_type
        elif code == COPY_NUMBER:
            quantity = component.valueQuantity
            copies = _decimal(quantity.value if quantity is not None else None)
    if not genes:
        raise _Skip("no gene studied (LOINC 48018-6) component", path)
    if change_type in _FUSION_TYPES | _FUSION_NAMES:
        if len(genes) != 2:
            raise _Skip(f"a fusion needs two genes studied (5' then 3'), found {len(genes)}", path)
        fusion = {"five_prime": genes[0], "three_prime": genes[1]}
        _add(reading, "fusions", fusion, reference, (f"patient has {genes[0]}::{genes[1]}",))
        return
    call = _COPY_NUMBER_TYPES.get(change_type or "") or _COPY_NUMBER_NAMES.get(change_type or "")
    if call is not None:
        if call == "loss" and copies == 0:
            call = "deletion"
        for gene in genes:
            cna: dict[str, Any] = {"gene": gene, "call": call}
            if copies is not None and copies == copies.to_integral_value() and copies >= 0:
                cna["copies"] = int(copies)
            _add(reading, "copy_number", cna, reference, (f"patient has {gene} {call}",))
        return
    if len(genes) > 1:
        raise _Skip(f"a sequence variant names one gene studied, found {len(genes)}", path)
    item = {"gene": genes[0], **item}
    label = _variant_label(item)
    _add(reading, "variants", item, reference, (f"patient has {label}",))


def _gene_symbol(concept: Any) -> str | None:
    for coding in _codings(concept):
        if coding.display and str(coding.display).strip():
            return str(coding.display).strip()
        code = str(coding.code or "")
        if code and not code.upper().startswith("HGNC:") and not code.isdigit():
            return code.strip()
    if concept is not None and concept.text and str(concept.text).strip():
        return str(concept.text).strip()
    return None


def _hgvs_text(concept: Any, prefixes: str) -> str | None:
    """The HGVS expression of a CodeableConcept, without its reference sequence."""
    for text in _concept_words(concept):
        candidate = text.strip().split(":")[-1].strip()
        if candidate[:2] in {f"{p}." for p in prefixes}:
            return candidate
    return None


def _protein(component: Any, where: str) -> str:
    text = _hgvs_text(component.valueCodeableConcept, "p")
    if text is None:
        raise _Skip("the amino-acid change is not an HGVS p. expression", where)
    if text.startswith("p.(") and text.endswith(")"):
        text = "p." + text[3:-1]  # predicted, not observed: the same change to match on
    try:
        return parse_protein_change(text).hgvs
    except ProteinChangeError as exc:
        raise _Skip(f"amino-acid change {text!r}: {exc.message}", where) from None


def _vaf(quantity: Any, where: str) -> float:
    value = _decimal(quantity.value if quantity is not None else None)
    if value is None:
        raise _Skip("the allelic frequency has no value", where)
    unit = str(quantity.code or quantity.unit or "")
    if unit != "%":
        if value > 1:
            raise _Skip(f"allelic frequency {value} is above 1 without the unit %", where)
        value *= 100
    if not 0 <= value <= 100:
        raise _Skip(f"allelic frequency {value} % is outside 0-100", where)
    return float(value)


def _change_type(concept: Any) -> str | None:
    for coding in _codings(concept):
        code = str(coding.code or "")
        if code in _FUSION_TYPES or code in _COPY_NUMBER_TYPES:
            return code
        display = str(coding.display or "")
        if display in _FUSION_NAMES or display in _COPY_NUMBER_NAMES:
            return display
    return None


def _variant_label(item: Mapping[str, Any]) -> str:
    gene = item["gene"]
    if "protein_change" in item:
        return f"{gene} {item['protein_change']}"
    if "dna_change" in item:
        return f"{gene} {item['dna_change']}"
    if "dbsnp_id" in item:
        return f"{gene} {item['dbsnp_id']}"
    return f"{gene} "


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _quantity(observation: Observation, path: str) -> Decimal:
    quantity = observation.valueQuantity
    value = _decimal(quantity.value if quantity is not None else None)
    if value is None:
        raise _Skip("no valueQuantity, which this measurement needs", f"{path}.valueQuantity")
    return value


def _measure(reading: _Reading, metric: Metric, value: Decimal, reference: str) -> None:
    name = _METRIC_FIELDS[metric]
    number = int(value) if value == value.to_integral_value() else float(value)
    _set(reading, name, number, reference, metric=metric)


def _set(
    reading: _Reading,
    name: str,
    value: Any,
    reference: str,
    *,
    metric: Metric | None = None,
    keys: tuple[str, ...] = (),
) -> None:
    if name in reading.data:
        raise _Skip(
            f"a second {name} result; the first one read ({reading.data[name]}) is used", ""
        )
    _check({"id": "x", name: value})
    reading.data[name] = value
    reading.facts.append(_Fact(reference, keys, metric))


def _add(
    reading: _Reading, name: str, item: dict[str, Any], reference: str, keys: tuple[str, ...]
) -> None:
    _check({"id": "x", name: [item]})
    reading.data.setdefault(name, []).append(item)
    reading.facts.append(_Fact(reference, keys))


def _check(data: dict[str, Any]) -> None:
    """One fact against the patient schema, so a bad one is skipped, not the patient."""
    try:
        Patient.from_json(data)
    except PatientError as exc:
        raise _Skip(f"{exc.message}; expected {exc.expected}") from None


def _read_msi(reading: _Reading, observation: Observation, reference: str, path: str) -> None:
    value = observation.valueCodeableConcept
    status = next((_MSI[str(c.code)] for c in _codings(value) if str(c.code) in _MSI), None)
    if status is None:
        said = ", ".join(_concept_words(value)) or "no value"
        raise _Skip(
            f"MSI result {said} is not MSI-H (LA26203-2), MSI-L (LA26202-4) or stable (LA14122-8)",
            f"{path}.valueCodeableConcept",
        )
    _set(reading, "msi", status, reference, keys=(f"patient is {status}",))


def _read_pdl1(reading: _Reading, observation: Observation, reference: str, path: str) -> None:
    if observation.valueQuantity is not None:
        method: str | None = None
        for code, component, _ in _components(observation, path):
            if code == PDL1_SCORING_METHOD:
                words = {w.upper() for w in _concept_words(component.valueCodeableConcept)}
                method = next((m for m in ("TPS", "CPS", "IC") if m in words), None)
        metric = {"TPS": Metric.PDL1_TPS, "CPS": Metric.PDL1_CPS, "IC": Metric.PDL1_IC}.get(
            method or ""
        )
        if metric is None:
            raise _Skip(
                "a PD-L1 score without a scoring method component (LOINC 105302-4: TPS, CPS or IC)",
                path,
            )
        _measure(reading, metric, _quantity(observation, path), reference)
        return
    result = _positive_negative(observation.valueCodeableConcept)
    if result is None:
        raise _Skip("the PD-L1 result is neither a score nor positive / negative", path)
    item = {"gene": "CD274", "assay": "IHC", "result": result}
    _add(reading, "expression", item, reference, (f"CD274 IHC is {result}",))


def _positive_negative(concept: Any) -> str | None:
    for coding in _codings(concept):
        if str(coding.code) in _POSITIVE_NEGATIVE:
            return _POSITIVE_NEGATIVE[str(coding.code)]
    words = {w.lower() for w in _concept_words(concept)}
    if words & {"positive", "present"}:
        return "positive"
    if words & {"negative", "absent"}:
        return "negative"
    return None


def _read_her2_ihc(reading: _Reading, observation: Observation, reference: str, path: str) -> None:
    texts = _concept_words(observation.valueCodeableConcept)
    if observation.valueString:
        texts.append(str(observation.valueString))
    if observation.valueInteger is not None:
        texts.append(f"{observation.valueInteger}+" if observation.valueInteger else "0")
    for text in texts:
        score = _HER2_SCORES.get(text.strip().split(" ")[0])
        if score is not None:
            _set(reading, "her2_ihc", score, reference, metric=Metric.HER2_IHC)
            return
    result = _positive_negative(observation.valueCodeableConcept)
    if result is None:
        raise _Skip(
            "the HER2 IHC result is neither a score (0, 1+, 2+, 3+) nor positive / negative", path
        )
    item = {"gene": "ERBB2", "assay": "IHC", "result": result}
    _add(reading, "expression", item, reference, (f"ERBB2 IHC is {result}",))


# --- writing --------------------------------------------------------------------------------


def citation_index(kb_json: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A release's citation records by id (`CT-00001` -> fields), for `result_to_fhir`."""
    records = kb_json.get("records", {}).get("citation", [])
    items = records.values() if isinstance(records, Mapping) else records
    return {str(r["id"]): r.get("fields", {}) for r in items if isinstance(r, Mapping)}


def result_to_fhir(
    result: MatchResult,
    *,
    patient_bundle: Mapping[str, Any],
    release_version: str,
    release_digest: str,
    citations: Mapping[str, Mapping[str, Any]] | None = None,
    possible: Sequence[TherapyMatch] = (),
) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection, as JSON) of therapeutic-implication Observations.

    One Observation per therapy in `result.therapies` and in `possible` (matches still open
    on an untested criterion: written "preliminary", each with a followup-recommendation
    Task). `patient_bundle` is the Bundle the patient was read from: the implications refer
    to its Observations (`derivedFrom`) and patient. `citations` (see `citation_index`)
    resolves the assertions' citation ids to titles and links. Every resource is built and
    checked with the fhir.resources R4B models (wire-compatible with R4 for these resources).
    """
    reading = _read(patient_bundle)
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for match in [*result.therapies, *possible]:
        if match.therapy is None or match.assertion_id in seen:
            continue  # diagnostic, prognostic and predisposing findings are not therapeutic
        seen.add(match.assertion_id)
        final = match.explanation.result is True and match.tumour.result is True
        full_url = _urn(release_digest, result.patient.id, match.assertion_id)
        observation = _implication(
            match,
            reading,
            final=final,
            release_version=release_version,
            release_digest=release_digest,
            citations=citations or {},
        )
        entries.append({"fullUrl": full_url, "resource": observation})
        if not final:
            task = _followup(match, reading, full_url)
            task_url = _urn(release_digest, result.patient.id, match.assertion_id, "task")
            entries.append({"fullUrl": task_url, "resource": task})
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{release_digest}|{result.patient.id}")),
        "meta": {
            "tag": [
                {
                    "system": RELEASE_TAG,
                    "code": release_version,
                    "display": f"KB release {release_version} sha256:{release_digest}",
                }
            ]
        },
        "type": "collection",
        "entry": entries,
    }
    built = Bundle.model_validate(bundle)
    out: dict[str, Any] = json.loads(built.model_dump_json(exclude_none=True))
    return out


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def _implication(
    match: TherapyMatch,
    reading: _Reading,
    *,
    final: bool,
    release_version: str,
    release_digest: str,
    citations: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    therapy = match.therapy
    assert therapy is not None  # the caller skips matches without a therapy
    components: list[dict[str, Any]] = []
    for _, name, ncit in therapy.drugs:
        concept: dict[str, Any] = {"text": name}
        if ncit:
            concept["coding"] = [{"system": NCIT, "code": ncit, "display": name}]
        components.append(
            {
                "code": _loinc(MEDICATION_ASSESSED, "Medication assessed [ID]"),
                "valueCodeableConcept": concept,
            }
        )
    response = _RESPONSE.get(match.implication)
    implication: dict[str, Any] = {"text": match.implication_text}
    if response is not None:
        implication["coding"] = [{"system": LOINC, "code": response[0], "display": response[1]}]
    components.append(
        {
            "code": {
                "coding": [
                    {
                        "system": TBD_CODES,
                        "code": "therapeutic-implication",
                        "display": "Therapeutic Implication",
                    },
                    {
                        "system": LOINC,
                        "code": DRUG_EFFICACY,
                        "display": "Genetic variation's effect on drug efficacy",
                    },
                ]
            },
            "valueCodeableConcept": implication,
        }
    )
    components.append(
        {"code": _loinc(EVIDENCE_LEVEL, "Level of evidence"), "valueCodeableConcept": _level(match)}
    )
    context: dict[str, Any] = {"text": match.tumour.text}
    code = reading.data.get("oncotree_code")
    if code:
        context["coding"] = [
            {"system": reading.oncotree_system or "http://oncotree.mskcc.org", "code": code}
        ]
        context["text"] = f"{code} ({match.tumour.reason})"
    components.append(
        {"code": _loinc(TREATMENT_CONTEXT, "Associated phenotype"), "valueCodeableConcept": context}
    )
    notes = [{"text": match.description}] if match.description else []
    release = f"KB release {release_version} (sha256:{release_digest})"
    notes.append(
        {
            "text": f"{'Matched' if final else 'Possible match'}: assertion {match.assertion_id}"
            f" of {release}; {match.level_text}; rule: {match.expression_text}"
        }
    )
    needs = [
        f"{label}: {value}"
        for label, value in (
            ("specimen", match.specimen),
            ("companion diagnostic", match.cdx),
            ("confirmatory test", match.confirmatory_test),
        )
        if value
    ]
    if needs:
        notes.append({"text": "Requires " + "; ".join(needs)})
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"ti-{match.assertion_id.lower()}",
        "meta": {"profile": [THERAPEUTIC_IMPLICATION]},
        "extension": [_artifact(release, release_version, release_digest)]
        + [_citation(cid, citations.get(cid)) for cid in match.citations],
        "status": "final" if final else "preliminary",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]},
            {"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "GE", "display": "Genetics"}]},
        ],
        "code": {
            "coding": [
                {
                    "system": TBD_CODES,
                    "code": "therapeutic-implication",
                    "display": "Therapeutic Implication",
                }
            ]
        },
        "derivedFrom": [{"reference": ref} for ref in _derived_from(match, reading)],
        "note": notes,
        "component": components,
    }
    if reading.subject:
        observation["subject"] = {"reference": reading.subject}
    Observation.model_validate(observation)
    return observation


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}]}


def _level(match: TherapyMatch) -> dict[str, Any]:
    if match.evidence_level:
        scheme = match.level_scheme or "KB evidence levels"
        return {
            "coding": [
                {
                    "system": LEVELS,
                    "version": scheme,
                    "code": match.evidence_level,
                    "display": f"{scheme} level {match.evidence_level}",
                }
            ],
            "text": f"level {match.evidence_level} ({scheme})",
        }
    return {"text": match.level_text}


def _artifact(release: str, version: str, digest: str) -> dict[str, Any]:
    return {
        "url": RELATED_ARTIFACT,
        "valueRelatedArtifact": {
            "type": "derived-from",
            "label": version,
            "display": release,
            "citation": f"KB Curator signed release {version}, release digest sha256:{digest}",
        },
    }


def _citation(cid: str, record: Mapping[str, Any] | None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"type": "citation", "label": cid}
    if record:
        identifier = str(record.get("identifier") or "")
        title = str(record.get("title") or identifier or cid)
        artifact["display"] = title
        artifact["citation"] = f"{record.get('kind') or 'citation'}: {identifier or title}"
        url = record.get("url") or _citation_url(str(record.get("kind") or ""), identifier)
        if url:
            artifact["url"] = url
    else:
        artifact["display"] = f"citation {cid} in the release"
    return {"url": RELATED_ARTIFACT, "valueRelatedArtifact": artifact}


def _citation_url(kind: str, identifier: str) -> str | None:
    digits = identifier.removeprefix("PMID:").strip()
    if kind == "pmid" and digits.isdigit():
        return f"https://pubmed.ncbi.nlm.nih.gov/{digits}/"
    if kind == "doi" and identifier:
        return f"https://doi.org/{identifier.removeprefix('doi:')}"
    return None


def _holding_leaves(node: Explanation) -> Iterator[Explanation]:
    """The leaves whose truth made `node` hold (NOT is about absence: nothing to cite)."""
    if node.result is not True or node.node == "NOT":
        return
    if not node.args:
        yield node
        return
    for arg in node.args:
        yield from _holding_leaves(arg)


def _open_leaves(node: Explanation) -> Iterator[Explanation]:
    """The leaves still unknown, under the parts of the rule that did not fail."""
    if node.result is False:
        return
    if not node.args:
        if node.result is None:
            yield node
        return
    for arg in node.args:
        yield from _open_leaves(arg)


def _derived_from(match: TherapyMatch, reading: _Reading) -> list[str]:
    refs: list[str] = []
    for leaf in _holding_leaves(match.explanation):
        threshold = leaf.ref is not None and " " in leaf.ref
        for fact in reading.facts:
            if fact.reference in refs:
                continue
            if any(key in leaf.reason for key in fact.keys) or (
                threshold
                and fact.metric is not None
                and re.search(rf"(^|\s){re.escape(_SHORT[fact.metric])}\s", leaf.reason)
            ):
                refs.append(fact.reference)
    # A rule that holds on absence alone (wild type, NOT) rests on every result read.
    return refs or list(reading.references) or ["#no-input-observations"]


def _followup(match: TherapyMatch, reading: _Reading, implication_url: str) -> dict[str, Any]:
    open_criteria = [f"{leaf.text} ({leaf.reason})" for leaf in _open_leaves(match.explanation)]
    if match.tumour.result is None:
        open_criteria.insert(0, f"tumour type: {match.tumour.reason}")
    description = (
        f"To decide {match.assertion_id} ({match.therapy.name if match.therapy else ''}), "
        "establish: " + ("; ".join(open_criteria) or "the criteria left open")
    )
    task: dict[str, Any] = {
        "resourceType": "Task",
        "meta": {"profile": [FOLLOWUP_RECOMMENDATION]},
        "status": "requested",
        "intent": "proposal",
        "code": {"text": "Recommended follow-up test"},
        "description": description,
        "reasonReference": {"reference": implication_url},
    }
    if reading.subject:
        task["for"] = {"reference": reading.subject}
    Task.model_validate(task)
    return task


def issues_as_json(issues: Iterable[FhirIssue]) -> list[dict[str, Any]]:
    """The issues as JSON objects (for the CLI and the service)."""
    return [issue.as_json() for issue in issues]
