"""Outcome episodes from a FHIR R4 Bundle: the treatment as MedicationStatement or
MedicationRequest resources, the best response as Observations, the tumour type and the
biomarkers as the matcher reads them from the same Bundle (kb.matching.fhir: an OncoTree
Condition, Genomics Reporting variant, copy-number, fusion, MSI and TMB Observations).

The Bundle becomes records for `kb.outcomes.intake.import_records`, so the privacy checks,
validation and storage are the intake's own. Before that, the Bundle itself is checked at the
door: a Patient resource carrying a name, an identifier (a record number), a birth date, an
address or a telecom is refused, and so is any text in the Bundle holding an e-mail address, a
phone number or a record-number marker; each error names the JSON path, never the value.

Reading (R4B models, wire-compatible with R4 for these resources; see kb/matching/fhir.py):
- an episode per MedicationStatement (effectivePeriod, or effectiveDateTime as its start;
  status active / intended: ongoing; completed: completed; stopped: statusReason's text or
  code read as a reason) or MedicationRequest (authoredOn as the start; status active:
  ongoing, completed, stopped as above); the therapy is medicationCodeableConcept's text or
  its first coding's display;
- the best response: an Observation coded NCIt C111544 ("Best Overall Response") or whose
  code's text names the best (overall) response, valued CR / PR / SD / PD / NE (code or
  display: "Complete Response" …), that refers to the medication by `focus`, `partOf` or
  `derivedFrom`; with one medication in the Bundle, a response Observation without such a
  reference is taken as its.
- the patient id is the Bundle's Patient (or the subject reference), hashed like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kb.importing.engine import sha256_of
from kb.importing.model import ImportError_, Location
from kb.matching.fhir import load_fhir_bundle, patient_from_fhir
from kb.matching.matcher import Patient, PatientError
from kb.outcomes.intake import IntakeResult, import_records
from kb.outcomes.keys import OutcomeKey
from kb.outcomes.privacy import identifier_in_text
from kb.review.users import Actor

NCIT_BEST_RESPONSE = "C111544"
_PATIENT_IDENTIFIERS = ("name", "identifier", "birthDate", "address", "telecom", "photo",
                        "contact")  # fmt: skip
_MODELS: dict[str, type[MedicationStatement] | type[MedicationRequest] | type[Observation]] = {
    "MedicationStatement": MedicationStatement,
    "MedicationRequest": MedicationRequest,
    "Observation": Observation,
}
_RESPONSE_WORDS = {
    "complete response": "CR",
    "partial response": "PR",
    "stable disease": "SD",
    "progressive disease": "PD",
    "not evaluable": "NE",
}


def records_from_fhir(
    bundle: Mapping[str, Any], *, site: str, source: str
) -> tuple[list[dict[str, Any]], list[ImportError_]]:
    """The episodes of `bundle` as intake records, and the errors (JSON paths in `column`).
    Any error means the Bundle is refused: the caller stores nothing."""
    errors: list[ImportError_] = []

    def error(path: str, code: str, message: str) -> None:
        errors.append(ImportError_(Location(source, None, None, path), None, code, message))

    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    if not isinstance(entries, list):
        error("$", "not_a_bundle", "not a FHIR Bundle with entries")
        return [], errors
    for path, text in _strings(bundle, "$"):
        what = identifier_in_text(text)
        if what:
            error(path, "direct_identifier", f"the text holds {what}; remove it and send again")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
            for name in _PATIENT_IDENTIFIERS:
                if resource.get(name):
                    error(
                        f"$.entry[{index}].resource.{name}",
                        "direct_identifier",
                        f"the Patient carries {name}: outcome records must be de-identified; "
                        "send the Patient with an id only",
                    )
    if errors:
        return [], errors
    try:
        patient, _issues = patient_from_fhir(bundle)
    except PatientError as exc:
        error(getattr(exc, "path", "$"), "bad_bundle", str(exc))
        return [], errors
    biomarkers = "; ".join(biomarkers_of(patient))
    medications: list[tuple[int, str, Any]] = []
    responses: list[tuple[int, Observation]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        model = _MODELS.get(str(kind))
        if model is None:
            continue
        try:
            parsed = model.model_validate(resource)
        except ValidationError as exc:
            error(f"$.entry[{index}].resource", "bad_resource", f"not a valid {kind}: "
                  + str(exc.errors()[0].get("msg", "invalid")))  # fmt: skip
            continue
        if isinstance(parsed, Observation):
            if _is_best_response(parsed):
                responses.append((index, parsed))
        elif parsed.status != "entered-in-error":
            refs = {f"{kind}/{parsed.id}"} if parsed.id else set()
            if entry.get("fullUrl"):
                refs.add(str(entry["fullUrl"]))
            medications.append((index, str(kind), (parsed, refs)))
    records: list[dict[str, Any]] = []
    for index, kind, (medication, refs) in medications:
        where = f"$.entry[{index}].resource"
        response = _response_for(refs, responses, single=len(medications) == 1)
        if response is None:
            error(where, "no_response", f"no best-response Observation refers to this {kind}")
            continue
        value = _response_value(response[1])
        if value is None:
            error(f"$.entry[{response[0]}].resource.valueCodeableConcept", "bad_response",
                  "the best response must be CR, PR, SD, PD or NE (RECIST 1.1)")  # fmt: skip
            continue
        start, stop = _period(medication, kind)
        records.append(
            {
                "patient": patient.id,
                "site": site,
                "tumour_type": patient.oncotree_code or "",
                "biomarkers": biomarkers,
                "therapy": _therapy(medication),
                "start_date": start or "",
                "stop_date": stop or "",
                "best_response": value,
                "reason_stopped": _reason(medication),
            }
        )
    return records, errors


def biomarkers_of(patient: Patient) -> list[str]:
    """What the matcher read from the Bundle, in the intake's biomarker forms."""
    found: list[str] = []
    for variant in patient.variants or ():
        if variant.protein is not None:
            found.append(f"{variant.gene} {variant.protein.hgvs}")
    for call in patient.copy_number or ():
        if call.call in ("amplification", "deletion"):
            found.append(f"{call.gene} {call.call}")
    for fusion in patient.fusions or ():
        if fusion.five_prime and fusion.three_prime:
            found.append(f"{fusion.five_prime}::{fusion.three_prime} fusion")
        elif fusion.five_prime or fusion.three_prime:
            found.append(f"{fusion.five_prime or fusion.three_prime} fusion")
    if patient.msi in ("high", "MSI-H"):
        found.append("MSI-H")
    if patient.tmb is not None and patient.tmb >= 10:
        found.append("TMB-H")
    return found


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in ("reference", "fullUrl", "system", "url", "id"):
                yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _is_best_response(observation: Observation) -> bool:
    code = observation.code
    for coding in code.coding or ():
        if coding.code == NCIT_BEST_RESPONSE:
            return True
    text = " ".join([code.text or ""] + [c.display or "" for c in code.coding or ()]).lower()
    return "best" in text and "response" in text


def _response_for(
    refs: set[str], responses: list[tuple[int, Observation]], *, single: bool
) -> tuple[int, Observation] | None:
    unlinked = []
    for index, observation in responses:
        targets = [
            ref.reference
            for ref in [
                *(observation.focus or ()),
                *(observation.partOf or ()),
                *(observation.derivedFrom or ()),
            ]
            if ref.reference
        ]
        if any(target in refs for target in targets):
            return index, observation
        if not targets:
            unlinked.append((index, observation))
    if single and len(unlinked) == 1:
        return unlinked[0]
    return None


def _response_value(observation: Observation) -> str | None:
    concept = observation.valueCodeableConcept
    if concept is None:
        return None
    for coding in concept.coding or ():
        if coding.code and coding.code.upper() in ("CR", "PR", "SD", "PD", "NE"):
            return coding.code.upper()
        if coding.display and coding.display.lower() in _RESPONSE_WORDS:
            return _RESPONSE_WORDS[coding.display.lower()]
    text = (concept.text or "").strip()
    if text.upper() in ("CR", "PR", "SD", "PD", "NE"):
        return text.upper()
    return _RESPONSE_WORDS.get(text.lower())


def _period(medication: Any, kind: str) -> tuple[str | None, str | None]:
    if kind == "MedicationStatement":
        period = medication.effectivePeriod
        if period is not None:
            return _day(period.start), _day(period.end)
        return _day(medication.effectiveDateTime), None
    return _day(medication.authoredOn), None


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat() if hasattr(value, "isoformat") else value)[:10]


def _therapy(medication: Any) -> str:
    concept = medication.medicationCodeableConcept
    if concept is None:
        return ""
    if concept.text:
        return str(concept.text)
    for coding in concept.coding or ():
        if coding.display:
            return str(coding.display)
    return ""


def _reason(medication: Any) -> str:
    status = medication.status
    if status in ("active", "intended", "on-hold", "draft"):
        return "ongoing"
    if status == "completed":
        return "completed"
    for concept in medication.statusReason or ():
        words = " ".join([concept.text or ""] + [c.display or "" for c in concept.coding or ()])
        lower = words.lower()
        for word, reason in (("progress", "progression"), ("toxic", "toxicity"),
                             ("adverse", "toxicity"), ("death", "death"), ("died", "death"),
                             ("patient", "patient_choice")):  # fmt: skip
            if word in lower:
                return reason
    return "other"


def import_fhir_bundle(
    session: Session,
    path: Path,
    *,
    site: str,
    actor: Actor | None,
    key: OutcomeKey | None = None,
    dry_run: bool = False,
) -> IntakeResult:
    """Read a Bundle file and take its episodes in through the intake (all or nothing)."""
    try:
        bundle = load_fhir_bundle(path)
    except PatientError as exc:
        result = IntakeResult(file=path.name, sha256=sha256_of(path), dry_run=dry_run)
        result.errors.append(
            ImportError_(Location(path.name, None, None, "$"), None, "bad_bundle", str(exc))
        )
        result.error_count = 1
        return result
    records, errors = records_from_fhir(bundle, site=site, source=path.name)
    if errors:
        result = IntakeResult(file=path.name, sha256=sha256_of(path), dry_run=dry_run)
        result.errors, result.error_count = errors, len(errors)
        return result
    return import_records(session, records, source=path.name, actor=actor, key=key, dry_run=dry_run)
