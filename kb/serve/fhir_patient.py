"""A minimal reader from FHIR R4 resources to the matcher's `Patient`, for CDS Hooks prefetch.

It reads Genomics Reporting variant Observations (gene studied, amino-acid change, DNA change,
genomic source class, allele frequency; "absent" results say the test found nothing), the
biomarker Observations TMB, MSI, PD-L1 (TPS / CPS) and HER2 (IHC score, ISH ratio), a Condition
for the tumour type (an OncoTree code, a SNOMED CT code from `fhir_codes.toml`, or text matched
against the release's OncoTree names) and the Patient's sex and age. Anything else is ignored;
what claims to be one of these but cannot be read raises `FhirError` with its JSON path.

Deliberately small and replaceable: the general FHIR Bundle reader (with `fhir.resources`) can
take its place behind `patient_from_fhir`.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from kb.errors import KbError
from kb.matching.matcher import Patient, PatientError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ONCOTREE_SYSTEMS = ("http://oncotree.mskcc.org", "https://oncotree.mskcc.org", "oncotree")
_PDL1 = re.compile(r"pd-?l1", re.IGNORECASE)
_HER2 = re.compile(r"\b(her2|erbb2)\b", re.IGNORECASE)
_MAX_RESOURCES = 10_000


class FhirError(KbError):
    """A FHIR resource that cannot be read; `path` locates it in what was sent."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@cache
def codes() -> dict[str, dict[str, str]]:
    text = resources.files("kb.serve").joinpath("fhir_codes.toml").read_text("utf-8")
    return tomllib.loads(text)


def resources_of(value: object, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The resources in a resource or a Bundle (entries' `resource`), with their paths."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise FhirError(path, "not a FHIR resource (a JSON object)")
    kind = value.get("resourceType")
    if not isinstance(kind, str):
        raise FhirError(path, "has no resourceType")
    if kind != "Bundle":
        return [(path, value)]
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(f"{path}.entry", "not a list")
    if len(entries) > _MAX_RESOURCES:
        raise FhirError(f"{path}.entry", f"more than {_MAX_RESOURCES} entries")
    out: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        where = f"{path}.entry[{index}]"
        if not isinstance(entry, dict):
            raise FhirError(where, "not an object")
        if "resource" in entry:
            out.extend(resources_of(entry["resource"], f"{where}.resource"))
    return out


def _codings(concept: object, path: str) -> list[dict[str, Any]]:
    if concept is None:
        return []
    if not isinstance(concept, dict):
        raise FhirError(path, "not a CodeableConcept")
    codings = concept.get("coding") or []
    if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
        raise FhirError(f"{path}.coding", "not a list of Codings")
    return codings


def _has_code(concept: object, path: str, system: str, code: str) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in _codings(concept, path))


def _text(concept: object, path: str) -> str:
    """A CodeableConcept's text, else its codings' displays, joined."""
    codings = _codings(concept, path)
    text = concept.get("text") if isinstance(concept, dict) else None
    parts = [text] if isinstance(text, str) else []
    parts += [str(c["display"]) for c in codings if isinstance(c.get("display"), str)]
    return " ".join(parts)


def _value(resource: Mapping[str, Any], path: str) -> tuple[str, Any]:
    """('quantity', Decimal) / ('concept', dict) / ('string', str) / ('none', None)."""
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"]
        if not isinstance(quantity, dict):
            raise FhirError(f"{path}.valueQuantity", "not a Quantity")
        return "quantity", (_number(quantity.get("value"), f"{path}.valueQuantity.value"), quantity)
    if "valueCodeableConcept" in resource:
        return "concept", resource["valueCodeableConcept"]
    if "valueString" in resource:
        if not isinstance(resource["valueString"], str):
            raise FhirError(f"{path}.valueString", "not a string")
        return "string", resource["valueString"]
    if "valueInteger" in resource:
        return "quantity", (_number(resource["valueInteger"], f"{path}.valueInteger"), {})
    return "none", None


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FhirError(path, "not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FhirError(path, "not a number") from None
    if not number.is_finite():
        raise FhirError(path, "not a finite number")
    return number


def _hgvs(value: tuple[str, Any], path: str) -> str | None:
    kind, data = value
    if kind == "string":
        text: str | None = data
    elif kind == "concept":
        codings = _codings(data, path)
        found = [c.get("code") for c in codings if isinstance(c.get("code"), str)]
        text = found[0] if found else (data.get("text") if isinstance(data, dict) else None)
    else:
        text = None
    if not text:
        return None
    # "NP_005219.2:p.Leu858Arg" -> "p.Leu858Arg"; the reference sequence is not matched on.
    return text.split(":", 1)[1].strip() if ":" in text else text.strip()


def _read_variant(obs: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    loinc, answers = codes()["loinc"], codes()["answers"]
    kind, value = _value(obs, path)
    if kind == "concept" and _has_code(
        value, f"{path}.valueCodeableConcept", LOINC, answers["absent"]
    ):
        return None
    components = obs.get("component") or []
    if not isinstance(components, list):
        raise FhirError(f"{path}.component", "not a list")
    variant: dict[str, Any] = {}
    for index, component in enumerate(components):
        where = f"{path}.component[{index}]"
        if not isinstance(component, dict):
            raise FhirError(where, "not an object")
        codings = _codings(component.get("code"), f"{where}.code")
        code = next((c.get("code") for c in codings if c.get("system") == LOINC), None)
        item = _value(component, where)
        if code == loinc["gene_studied"]:
            concept = item[1] if item[0] == "concept" else None
            gene_codings = _codings(concept, f"{where}.valueCodeableConcept")
            symbol = next(
                (c["display"] for c in gene_codings if isinstance(c.get("display"), str)), None
            )
            if symbol is None and isinstance(concept, dict):
                symbol = concept.get("text")
            if symbol is None and item[0] == "string":
                symbol = item[1]
            if not isinstance(symbol, str) or not symbol.strip():
                raise FhirError(where, "gene studied has no HGNC symbol (display or text)")
            variant["gene"] = symbol.strip()
        elif code == loinc["amino_acid_change"]:
            change = _hgvs(item, where)
            if change:
                variant["protein_change"] = change
        elif code == loinc["dna_change"]:
            change = _hgvs(item, where)
            if change and re.fullmatch(r"[cg]\.[-*]?[0-9][A-Za-z0-9_+*>-]*", change):
                variant["dna_change"] = change
        elif code == loinc["genomic_source_class"] and item[0] == "concept":
            source = _text(item[1], where).lower()
            if _has_code(item[1], where, LOINC, answers["germline"]) or "germline" in source:
                variant["origin"] = "germline"
            elif _has_code(item[1], where, LOINC, answers["somatic"]) or "somatic" in source:
                variant["origin"] = "somatic"
            else:
                variant["origin"] = "unknown"
        elif code == loinc["allele_frequency"] and item[0] == "quantity":
            number, quantity = item[1]
            percent = (
                number
                if quantity.get("unit") == "%" or quantity.get("code") == "%"
                else (number * 100 if number <= 1 else number)
            )
            variant["vaf"] = float(percent)
    if "gene" not in variant:
        raise FhirError(path, "variant Observation has no gene studied (LOINC 48018-6)")
    return variant


def _oncotree_code(condition: Mapping[str, Any], path: str, names: Mapping[str, str]) -> str | None:
    concept = condition.get("code")
    for coding in _codings(concept, f"{path}.code"):
        system, code = str(coding.get("system") or ""), coding.get("code")
        if not isinstance(code, str):
            continue
        if system.rstrip("/").lower().startswith(ONCOTREE_SYSTEMS):
            return code.upper()
        if system == SNOMED and code in codes()["snomed_oncotree"]:
            return codes()["snomed_oncotree"][code]
    text = _text(concept, f"{path}.code").strip().lower()
    return names.get(text) if text else None


def _age(birth: object, today: dt.date) -> int | None:
    if not isinstance(birth, str):
        return None
    try:
        born = dt.date.fromisoformat(birth[:10]) if len(birth) >= 10 else None
    except ValueError:
        return None
    if born is None:
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years if 0 <= years <= 150 else None


def patient_from_fhir(
    sources: Iterable[tuple[str, object]],
    *,
    label: str,
    tumour_names: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> Patient:
    """A matcher `Patient` from FHIR resources or Bundles, each given with the path it came
    from (for error messages). `label` becomes the profile's id: never the EHR's patient id,
    so that nothing identifying travels into results or logs. `tumour_names` maps lower-cased
    tumour-type names to OncoTree codes (from the release)."""
    loinc = codes()["loinc"]
    names = dict(tumour_names or {})
    today = today or dt.date.today()
    found: list[tuple[str, dict[str, Any]]] = []
    for path, value in sources:
        found.extend(resources_of(value, path))
    profile: dict[str, Any] = {"id": label}
    variants: list[dict[str, Any]] | None = None
    for path, resource in found:
        kind = resource["resourceType"]
        if kind == "Patient":
            gender = resource.get("gender")
            if gender in ("female", "male"):
                profile["sex"] = gender
            age = _age(resource.get("birthDate"), today)
            if age is not None:
                profile["age"] = age
        elif kind == "Condition" and "oncotree_code" not in profile:
            code = _oncotree_code(resource, path, names)
            if code:
                profile["oncotree_code"] = code
        elif kind == "Observation":
            code_path = f"{path}.code"
            concept = resource.get("code")
            if concept is None:
                raise FhirError(path, "Observation has no code")
            if _has_code(concept, code_path, LOINC, loinc["variant"]):
                variant = _read_variant(resource, path)
                variants = variants if variants is not None else []
                if variant is not None:
                    variants.append(variant)
                continue
            _read_biomarker(resource, path, concept, profile)
    if variants is not None:
        profile["variants"] = variants
    try:
        return Patient.from_json(profile)
    except PatientError as exc:
        raise FhirError("$", f"the Observations give an impossible profile: {exc}") from None


def _read_biomarker(
    obs: Mapping[str, Any], path: str, concept: object, profile: dict[str, Any]
) -> None:
    loinc = codes()["loinc"]
    code_path = f"{path}.code"
    name = _text(concept, code_path)
    kind, value = _value(obs, path)
    if _has_code(concept, code_path, LOINC, loinc["tmb"]) or "mutational burden" in name.lower():
        if kind != "quantity":
            raise FhirError(path, "TMB needs a valueQuantity (mutations per megabase)")
        profile["tmb"] = float(value[0])
    elif _has_code(concept, code_path, LOINC, loinc["msi"]) or "microsatellite" in name.lower():
        text = _text(value, f"{path}.valueCodeableConcept") if kind == "concept" else str(value)
        text = text.lower()
        if "msi-h" in text or "high" in text:
            profile["msi"] = "MSI-H"
        elif "msi-l" in text or "low" in text:
            profile["msi"] = "MSI-L"
        elif "stable" in text or "mss" in text:
            profile["msi"] = "MSS"
        else:
            raise FhirError(path, "MSI result is not MSI-H, MSI-L or stable")
    elif _PDL1.search(name):
        if kind != "quantity":
            raise FhirError(path, "PD-L1 needs a valueQuantity (a score)")
        measured = float(value[0])
        field = "pdl1_cps" if re.search(r"\bcps\b|combined positive", name, re.I) else "pdl1_tps"
        profile[field] = measured
    elif _has_code(concept, code_path, LOINC, loinc["her2_ish"]) or (
        _HER2.search(name) and re.search(r"\b(ish|fish|ratio)\b", name, re.I)
    ):
        if kind == "quantity":
            profile["her2_ish_ratio"] = float(value[0])
    elif _has_code(concept, code_path, LOINC, loinc["her2_ihc"]) or _HER2.search(name):
        text = _text(value, path) if kind == "concept" else str(value if kind == "string" else "")
        score = re.search(r"\b([0-3])\s*(\+?)", text)
        if kind == "quantity":
            profile["her2_ihc"] = "0" if value[0] == 0 else f"{int(value[0])}+"
        elif score:
            profile["her2_ihc"] = "0" if score.group(1) == "0" else f"{score.group(1)}+"
        else:
            raise FhirError(path, "HER2 IHC result is not a score 0, 1+, 2+ or 3+")
