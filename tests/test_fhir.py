"""FHIR for patients: Genomics Bundles in, therapeutic implications out (issue 14, item 2).

The Bundles are written here as labs send them (HL7 Genomics Reporting IG variant and biomarker
Observations, an OncoTree-coded Condition); what we emit is checked with the fhir.resources
R4B models, and a CLI round trip runs against a real signed release of the demo KB.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.task import Task

from kb.matching.fhir import (
    THERAPEUTIC_IMPLICATION,
    citation_index,
    load_fhir_bundle,
    patient_from_fhir,
    result_to_fhir,
)
from kb.matching.matcher import Matcher, MatchResult, PatientError
from kb.storage.db import Kb, open_kb
from kb.storage.snapshot import build_snapshot

LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
HGVS = "http://varnomen.hgvs.org"
SO = "http://www.sequenceontology.org"
DBSNP = "http://www.ncbi.nlm.nih.gov/projects/SNP"
UCUM = "http://unitsofmeasure.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
DIGEST = "0f" * 32
VARIANT_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT = "urn:uuid:5b0c1d6e-0000-4000-8000-000000000001"


# --- Bundles as a lab writes them ------------------------------------------------------------


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def component(code: str, **value: Any) -> dict[str, Any]:
    return {"code": concept(LOINC, code), **value}


def gene(symbol: str, hgnc: str) -> dict[str, Any]:
    return component("48018-6", valueCodeableConcept=concept(HGNC, hgnc, symbol))


def observation(code: str, display: str, **rest: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [VARIANT_PROFILE]},
        "status": "final",
        "category": [concept(CATEGORY, "laboratory")],
        "code": concept(LOINC, code, display),
        "subject": {"reference": PATIENT},
        **rest,
    }


def variant(
    symbol: str,
    hgnc: str,
    protein: str | None,
    *,
    dna: str | None = None,
    origin: tuple[str, str] = ("LA6684-0", "Somatic"),
    vaf: float | None = None,
) -> dict[str, Any]:
    parts = [gene(symbol, hgnc)]
    if protein:
        parts.append(component("48005-3", valueCodeableConcept=concept(HGVS, protein)))
    if dna:
        parts.append(component("48004-6", valueCodeableConcept=concept(HGVS, dna)))
    parts.append(component("48002-0", valueCodeableConcept=concept(LOINC, *origin)))
    if vaf is not None:
        parts.append(
            component("81258-6", valueQuantity={"value": vaf, "system": UCUM, "code": "1"})
        )
    return observation(
        "69548-6",
        "Genetic variant assessment",
        valueCodeableConcept=concept(LOINC, "LA9633-4", "Present"),
        component=parts,
    )


def condition(code: str, system: str = "http://oncotree.mskcc.org") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": PATIENT},
        "code": concept(system, code),
    }


def bundle(*resources: dict[str, Any], patient: bool = True) -> dict[str, Any]:
    entries = []
    if patient:
        entries.append(
            {
                "fullUrl": PATIENT,
                "resource": {
                    "resourceType": "Patient",
                    "id": "pt-1",
                    "gender": "female",
                    "birthDate": "1961-03-04",
                },
            }
        )
    for number, resource in enumerate(resources, start=1):
        entries.append({"fullUrl": f"urn:uuid:obs-{number}", "resource": resource})
    return {
        "resourceType": "Bundle",
        "id": "genomics-report-1",
        "type": "collection",
        "timestamp": "2026-11-20T10:00:00Z",
        "entry": entries,
    }


def egfr_l858r() -> dict[str, Any]:
    return variant(
        "EGFR", "HGNC:3236", "NP_005219.2:p.(Leu858Arg)", dna="NM_005228.5:c.2573T>G", vaf=0.31
    )


def tmb(value: float) -> dict[str, Any]:
    return observation(
        "94076-7",
        "Mutations/Megabase [# Ratio] in Tumor",
        valueQuantity={"value": value, "system": UCUM, "code": "1/1000000{Base}"},
    )


def msi(code: str, display: str) -> dict[str, Any]:
    return observation(
        "81695-9",
        "Microsatellite instability [Interpretation] in Cancer specimen Qualitative",
        valueCodeableConcept=concept(LOINC, code, display),
    )


def her2_ihc(score: str) -> dict[str, Any]:
    return observation(
        "18474-7",
        "HER2 Ag [Presence] in Tissue by Immune stain",
        valueCodeableConcept={"text": score},
    )


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_copy(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kb]:
    path = tmp_path_factory.mktemp("fhir") / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    opened = open_kb(f"sqlite:///{path}")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def kb_json(demo_copy: Kb) -> dict[str, Any]:
    with demo_copy.read() as session:
        return build_snapshot(session).as_json()


@pytest.fixture(scope="module")
def matcher(kb_json: dict[str, Any]) -> Matcher:
    found = Matcher.from_snapshot(kb_json)
    found.release_version = "2026.11.0"
    return found


def answer(
    matcher: Matcher, kb_json: dict[str, Any], source: dict[str, Any], **extra: Any
) -> tuple[MatchResult, dict[str, Any]]:
    patient, _ = patient_from_fhir(source)
    result = matcher.match(patient)
    out = result_to_fhir(
        result,
        patient_bundle=source,
        release_version="2026.11.0",
        release_digest=DIGEST,
        citations=citation_index(kb_json),
        **extra,
    )
    return result, out


def implications(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answer's therapeutic implications by assertion id, after a full model check."""
    validated = Bundle.model_validate(out)
    assert validated.type == "collection"
    found: dict[str, dict[str, Any]] = {}
    for entry in out["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation":
            continue
        Observation.model_validate(resource)
        assert resource["meta"]["profile"] == [THERAPEUTIC_IMPLICATION]
        assert resource["code"]["coding"][0] == {
            "system": TBD,
            "code": "therapeutic-implication",
            "display": "Therapeutic Implication",
        }
        found[resource["id"].removeprefix("ti-").upper()] = resource
    return found


def components(resource: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [
        c
        for c in resource["component"]
        if any(coding["code"] == code for coding in c["code"]["coding"])
    ]


# --- reading ---------------------------------------------------------------------------------


def test_egfr_l858r_in_nsclc_gives_osimertinib_derived_from_the_variant(
    matcher: Matcher, kb_json: dict[str, Any]
) -> None:
    source = bundle(condition("NSCLC"), egfr_l858r())
    patient, issues = patient_from_fhir(source)
    assert issues == []
    assert patient.as_json() == {
        "id": "pt-1",
        "oncotree_code": "NSCLC",
        "sex": "female",
        "age": 65,  # on the Bundle's timestamp
        "variants": [
            {"gene": "EGFR", "protein_change": "p.Leu858Arg", "dna_change": "c.2573T>G", "vaf": 31}
        ],
    }
    result, out = answer(matcher, kb_json, source)
    found = implications(out)
    assert {"AS-00001", "AS-00002", "AS-00003"} <= set(found)
    osimertinib = found["AS-00001"]
    assert osimertinib["status"] == "final"
    assert osimertinib["subject"] == {"reference": PATIENT}
    assert osimertinib["derivedFrom"] == [{"reference": "urn:uuid:obs-2"}]
    drug = components(osimertinib, "51963-7")[0]["valueCodeableConcept"]
    assert drug["coding"][0]["code"] == "C116377" and drug["text"] == "osimertinib"
    effect = components(osimertinib, "therapeutic-implication")[0]
    assert {c["code"] for c in effect["code"]["coding"]} == {"therapeutic-implication", "51961-1"}
    assert effect["valueCodeableConcept"]["coding"][0]["code"] == "LA6677-4"  # Responsive
    level = components(osimertinib, "93044-6")[0]["valueCodeableConcept"]["coding"][0]
    assert level["code"] == "1" and "OncoKB" in level["version"]
    context = components(osimertinib, "81259-4")[0]["valueCodeableConcept"]
    assert context["coding"][0] == {"system": "http://oncotree.mskcc.org", "code": "NSCLC"}
    # The release (version and digest) and the assertion's citations travel with it.
    artifacts = [e["valueRelatedArtifact"] for e in osimertinib["extension"]]
    assert artifacts[0]["type"] == "derived-from" and DIGEST in artifacts[0]["citation"]
    assert "2026.11.0" in artifacts[0]["display"]
    citations = {a["label"]: a for a in artifacts[1:]}
    assert set(citations) == {"CT-00001", "CT-00029"}
    assert citations["CT-00029"]["url"] == "https://pubmed.ncbi.nlm.nih.gov/29151359/"
    assert any(DIGEST in note["text"] for note in osimertinib["note"])
    assert out["meta"]["tag"][0]["code"] == "2026.11.0"
    # The same input gives the same answer, byte for byte (stable ids).
    assert answer(matcher, kb_json, source)[1] == out
    assert len(found) == len([t for t in result.therapies if t.therapy is not None])


def test_kras_g12c_colorectal_sensitive_and_resistant(
    matcher: Matcher, kb_json: dict[str, Any]
) -> None:
    source = bundle(
        condition("COADREAD", "https://oncotree.mskcc.org"),
        variant("KRAS", "HGNC:6407", "p.Gly12Cys", dna="c.34G>T"),
    )
    result, out = answer(matcher, kb_json, source)
    found = implications(out)
    combination = found["AS-00020"]  # adagrasib + cetuximab
    drugs = [c["valueCodeableConcept"]["text"] for c in components(combination, "51963-7")]
    assert sorted(drugs) == ["adagrasib", "cetuximab"]
    response = components(combination, "therapeutic-implication")[0]["valueCodeableConcept"]
    assert response["coding"][0]["code"] == "LA6677-4"
    resistant = [
        r
        for r in found.values()
        if components(r, "therapeutic-implication")[0]["valueCodeableConcept"]["coding"][0]["code"]
        == "LA6676-6"
    ]
    expected = {t.assertion_id for t in result.therapies if t.implication == "resistant"}
    assert {r["id"].removeprefix("ti-").upper() for r in resistant} == expected
    context = components(combination, "81259-4")[0]["valueCodeableConcept"]["coding"][0]
    assert context == {"system": "https://oncotree.mskcc.org", "code": "COADREAD"}


def test_biomarker_observations(matcher: Matcher, kb_json: dict[str, Any]) -> None:
    pdl1_cps = observation(
        "85147-7",
        "PD-L1 by clone 22C3 in Tissue by Immune stain Report",
        valueQuantity={"value": 12, "system": UCUM, "code": "{score}"},
        component=[component("105302-4", valueCodeableConcept={"text": "CPS"})],
    )
    ish = observation(
        "49683-6",
        "ERBB2 copy number/Chromosome 17 copy number in Tissue by FISH",
        valueQuantity={"value": 2.4, "system": UCUM, "code": "{ratio}"},
    )
    tps = observation(
        "83053-9", "PD-L1 by 22C3 % tumor cells", valueQuantity={"value": 5, "code": "%"}
    )
    source = bundle(
        condition("BRCA"),
        tmb(14.2),
        msi("LA26203-2", "MSI-H"),
        tps,
        pdl1_cps,
        her2_ihc("2+"),
        ish,
    )
    patient, issues = patient_from_fhir(source)
    assert issues == []
    assert patient.tmb == Decimal("14.2") and patient.msi == "MSI-H"
    assert patient.pdl1_tps == 5 and patient.pdl1_cps == 12
    assert patient.her2_ihc == "2+" and patient.her2_ish_ratio == Decimal("2.4")
    _, out = answer(matcher, kb_json, source)
    found = implications(out)
    # TMB >= 10 (pembrolizumab, all solid tumours) rests on the TMB Observation alone.
    assert found["AS-00036"]["derivedFrom"] == [{"reference": "urn:uuid:obs-2"}]
    # MSI-H (pembrolizumab) on the MSI Observation.
    assert found["AS-00037"]["derivedFrom"] == [{"reference": "urn:uuid:obs-3"}]
    # HER2 IHC 2+ with ISH >= 2.0 (trastuzumab) on both HER2 Observations.
    assert {d["reference"] for d in found["AS-00031"]["derivedFrom"]} == {
        "urn:uuid:obs-6",
        "urn:uuid:obs-7",
    }
    assert "AS-00033" not in found  # HER2-low needs ISH < 2.0


def test_msi_stable_and_her2_scores(matcher: Matcher) -> None:
    patient, issues = patient_from_fhir(
        bundle(condition("COADREAD"), msi("LA14122-8", "Stable"), her2_ihc("3+ (positive)"))
    )
    assert issues == [] and patient.msi == "MSS" and patient.her2_ihc == "3+"
    result = matcher.match(patient)
    assert "AS-00038" not in {t.assertion_id for t in result.therapies}


def test_germline_brca2_gives_olaparib(matcher: Matcher, kb_json: dict[str, Any]) -> None:
    brca2 = variant(
        "BRCA2",
        "HGNC:1101",
        "NP_000050.3:p.(Ser1982ArgfsTer22)",
        dna="NM_000059.4:c.5946del",
        origin=("LA6683-2", "Germline"),
        vaf=0.48,
    )
    source = bundle(condition("BRCA"), brca2, her2_ihc("0"))
    patient, issues = patient_from_fhir(source)
    assert issues == []
    assert patient.variants is not None and patient.variants[0].origin == "germline"
    result, out = answer(matcher, kb_json, source)
    found = implications(out)
    olaparib = found["AS-00043"]
    assert olaparib["status"] == "final"
    # The germline variant decided it; the NOT HER2-positive part rests on absence.
    assert olaparib["derivedFrom"] == [{"reference": "urn:uuid:obs-2"}]
    # The predisposition finding (no therapy) is not a therapeutic implication.
    assert "AS-00058" in {t.assertion_id for t in result.therapies}
    assert "AS-00058" not in found


def test_a_variant_named_by_its_dbsnp_id_is_read_with_it() -> None:
    # CIViC's "SH2B3 rs3184504": the rs id comes in variation-code (STU2 on) beside a ClinVar
    # id, or in STU1's dbSNP id component; two different rs ids name no single variant.
    snp = variant("SH2B3", "HGNC:29605", None, origin=("LA6683-2", "Germline"))
    snp["component"].append(
        component(
            "81252-9",
            valueCodeableConcept={
                "coding": [
                    {"system": "http://www.ncbi.nlm.nih.gov/clinvar", "code": "1682"},
                    {"system": "http://www.ncbi.nlm.nih.gov/projects/SNP", "code": "RS3184504"},
                ]
            },
        )
    )
    stu1 = variant("SH2B3", "HGNC:29605", None, origin=("LA6683-2", "Germline"))
    stu1["component"].append(component("81255-5", valueCodeableConcept=concept(DBSNP, "rs3184504")))
    both = variant("SH2B3", "HGNC:29605", None, origin=("LA6683-2", "Germline"))
    both["component"].append(
        component(
            "81252-9",
            valueCodeableConcept={
                "coding": [{"system": DBSNP, "code": "rs3184504"}, {"system": DBSNP, "code": "rs1"}]
            },
        )
    )
    for observation_, expected in ((snp, "rs3184504"), (stu1, "rs3184504"), (both, None)):
        patient, issues = patient_from_fhir(bundle(condition("AML"), observation_))
        assert issues == []
        assert patient.variants is not None
        [read] = patient.variants
        assert (read.gene, read.origin, read.dbsnp) == ("SH2B3", "germline", expected)


def test_likely_germline_is_neither_somatic_nor_germline(matcher: Matcher) -> None:
    brca2 = variant(
        "BRCA2", "HGNC:1101", "p.Ser1982ArgfsTer22", origin=("LA18194-3", "Likely germline")
    )
    patient, _ = patient_from_fhir(bundle(condition("OVARY"), brca2))
    assert patient.variants is not None and patient.variants[0].origin == "unknown"
    assert "AS-00045" not in {t.assertion_id for t in matcher.match(patient).therapies}


def test_fusions_and_copy_number(matcher: Matcher) -> None:
    fusion = observation(
        "69548-6",
        "Genetic variant assessment",
        valueCodeableConcept=concept(LOINC, "LA9633-4", "Present"),
        component=[
            gene("EML4", "HGNC:1316"),
            gene("ALK", "HGNC:427"),
            component("48019-4", valueCodeableConcept=concept(SO, "SO:0001565", "gene_fusion")),
        ],
    )
    amplification = observation(
        "69548-6",
        "Genetic variant assessment",
        valueCodeableConcept=concept(LOINC, "LA9633-4", "Present"),
        component=[
            gene("ERBB2", "HGNC:3430"),
            component(
                "48019-4",
                valueCodeableConcept=concept(SO, "SO:0001880", "feature_amplification"),
            ),
            component("82155-3", valueQuantity={"value": 14, "system": UCUM, "code": "1"}),
        ],
    )
    loss = observation(
        "69548-6",
        "Genetic variant assessment",
        valueCodeableConcept=concept(LOINC, "LA9633-4", "Present"),
        component=[
            gene("CDKN2A", "HGNC:1787"),
            component(
                "48019-4", valueCodeableConcept=concept(SO, "SO:0001743", "copy_number_loss")
            ),
            component("82155-3", valueQuantity={"value": 0, "system": UCUM, "code": "1"}),
        ],
    )
    patient, issues = patient_from_fhir(bundle(condition("NSCLC"), fusion, amplification, loss))
    assert issues == []
    assert patient.as_json()["fusions"] == [{"five_prime": "EML4", "three_prime": "ALK"}]
    assert patient.as_json()["copy_number"] == [
        {"gene": "ERBB2", "call": "amplification", "copies": 14},
        {"gene": "CDKN2A", "call": "deletion", "copies": 0},
    ]
    assert "AS-00007" in {t.assertion_id for t in matcher.match(patient).therapies}


def test_unreadable_observations_are_reported_and_skipped() -> None:
    kim = variant("FLT3", "HGNC:3765", "p.KIM590_591ins")
    no_gene = observation(
        "69548-6",
        "Genetic variant assessment",
        component=[component("48005-3", valueCodeableConcept=concept(HGVS, "p.Val600Glu"))],
    )
    erroneous = {**tmb(30), "status": "entered-in-error"}
    stranger = {**tmb(5), "subject": {"reference": "Patient/someone-else"}}
    blood_pressure = observation("85354-9", "Blood pressure panel")
    unknown_msi = msi("LA11884-6", "Indeterminate")
    absent = {
        **variant("KRAS", "HGNC:6407", "p.Gly12Cys"),
        "valueCodeableConcept": concept(LOINC, "LA9634-2", "Absent"),
    }
    source = bundle(
        condition("NSCLC"),
        egfr_l858r(),
        {"resourceType": "Observation", "status": "final"},  # no code: not valid FHIR
        kim,
        no_gene,
        tmb(12),
        tmb(13),  # a second TMB: the first is kept
        erroneous,
        stranger,
        blood_pressure,
        unknown_msi,
        absent,
        {"resourceType": "Specimen", "id": "s1"},  # ignored: not needed to match
    )
    source["entry"].append({"fullUrl": "urn:uuid:empty"})
    patient, issues = patient_from_fhir(source)
    assert patient.tmb == 12 and patient.variants is not None
    assert [v.gene for v in patient.variants] == ["EGFR"]
    by_entry = {issue.index: issue for issue in issues}
    assert sorted(by_entry) == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]
    assert by_entry[3].path == "$.entry[3].resource.code"
    assert "not a valid FHIR Observation" in by_entry[3].reason
    assert by_entry[4].full_url == "urn:uuid:obs-4"
    assert "KIM" in by_entry[4].reason and by_entry[4].path.endswith(".component[1]")
    assert "no gene studied" in by_entry[5].reason
    assert "second tmb" in by_entry[7].reason
    assert "entered-in-error" in by_entry[8].reason
    assert "Patient/someone-else" in by_entry[9].reason
    assert "85354-9" in by_entry[10].reason
    assert "LA26203-2" in by_entry[11].reason
    assert "absent" in by_entry[12].reason
    assert "no resource" in by_entry[14].reason
    assert all(issue.text().startswith(f"entry {issue.index} (") for issue in issues)
    assert json.dumps([issue.as_json() for issue in issues])


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"resourceType": "Patient", "id": "x"}, "$.resourceType"),
        ([{"resourceType": "Bundle"}], "$"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "$.entry"),
        ({"resourceType": "Bundle", "type": "collection", "entry": ["x"]}, "$.entry[0]"),
        ({"resourceType": "Bundle", "type": 7}, "$.type"),
    ],
)
def test_a_document_that_is_not_a_bundle_is_refused(document: Any, path: str) -> None:
    with pytest.raises(PatientError) as caught:
        patient_from_fhir(document)
    assert caught.value.path == path


def test_tumour_type_needs_oncotree() -> None:
    snomed = condition("254637007", "http://snomed.info/sct")
    with pytest.raises(PatientError) as caught:
        patient_from_fhir(bundle(snomed, egfr_l858r()))
    assert caught.value.path == "$.entry[1].resource.code"
    assert "not coded in OncoTree" in str(caught.value) and "254637007" in str(caught.value)
    # Mappable: another Condition gives the OncoTree code (a comorbidity is no obstacle).
    patient, _ = patient_from_fhir(bundle(snomed, condition("LUAD"), egfr_l858r()))
    assert patient.oncotree_code == "LUAD"
    with pytest.raises(PatientError, match="different OncoTree"):
        patient_from_fhir(bundle(condition("LUAD"), condition("COADREAD")))


def test_no_condition_leaves_the_tumour_type_unknown() -> None:
    patient, issues = patient_from_fhir(bundle(egfr_l858r(), patient=False))
    assert patient.oncotree_code is None and issues == []
    assert patient.id == "5b0c1d6e-0000-4000-8000-000000000001"  # from the subject


# --- writing ---------------------------------------------------------------------------------


def test_possible_match_is_preliminary_with_a_followup_task(
    matcher: Matcher, kb_json: dict[str, Any]
) -> None:
    tps = observation("83053-9", "PD-L1 % tumor cells", valueQuantity={"value": 80, "code": "%"})
    no_alk_fusion = observation(
        "69548-6",
        "Genetic variant assessment",
        valueCodeableConcept=concept(LOINC, "LA9634-2", "Absent"),
        component=[
            gene("ALK", "HGNC:427"),
            component("48019-4", valueCodeableConcept=concept(SO, "SO:0001565", "gene_fusion")),
        ],
    )
    tested = bundle(
        condition("NSCLC"), tps, variant("TP53", "HGNC:11998", "p.Arg273His"), no_alk_fusion
    )
    # Sequenced (TP53 only) and no ALK fusion: pembrolizumab holds.
    full = matcher.match(patient_from_fhir(tested)[0])
    holding = next(t for t in full.therapies if t.assertion_id == "AS-00039")
    # Not sequenced at all: the same rule is only possible until EGFR and ALK are tested.
    untested = bundle(condition("NSCLC"), tps)
    patient, _ = patient_from_fhir(untested)
    result = matcher.match(patient)
    assert "AS-00039" not in {t.assertion_id for t in result.therapies}
    why = matcher.explain(patient, "AS-00039")
    tumour, rule = why.args
    assert rule.result is None
    possible = dataclasses.replace(holding, tumour=tumour, explanation=rule)
    out = result_to_fhir(
        result,
        patient_bundle=untested,
        release_version="2026.11.0",
        release_digest=DIGEST,
        possible=[possible],
    )
    found = implications(out)
    pembrolizumab = found["AS-00039"]
    assert pembrolizumab["status"] == "preliminary"
    assert pembrolizumab["derivedFrom"] == [{"reference": "urn:uuid:obs-2"}]  # the PD-L1 score
    tasks = [e for e in out["entry"] if e["resource"]["resourceType"] == "Task"]
    assert len(tasks) == 1
    task = tasks[0]["resource"]
    Task.model_validate(task)
    assert task["status"] == "requested" and task["intent"] == "proposal"
    assert task["for"] == {"reference": PATIENT}
    url = next(e["fullUrl"] for e in out["entry"] if e["resource"].get("id") == "ti-as-00039")
    assert task["reasonReference"] == {"reference": url}
    assert "EGFR" in task["description"] and "ALK" in task["description"]


# --- the command line --------------------------------------------------------------------------

PASS = "key-passphrase-1"


def kb(db: Path, *args: str, user: str | None = None, check: bool = True) -> Any:
    env = {"PATH": "/usr/bin:/bin", "KB_KEY_PASSPHRASE": PASS}
    if user:
        env["KB_PASSWORD"] = f"demo-{user}"
    command = [sys.executable, "-m", "kb", "--db", str(db), *(["--user", user] if user else [])]
    result = subprocess.run([*command, *args], check=False, capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("fhir-release")
    db = tmp / "kb.sqlite"
    kb(db, "init", "--demo")
    keys = tmp / "keys"
    kb(db, "keys", "generate", "--out", str(keys), "--name", "k1")
    root = tmp / "root.json"
    kb(db, "trust", "init", "--key", str(keys / "k1.pub"), "--threshold", "1",
       "--sign-with", str(keys / "k1.key"), "--out", str(root))  # fmt: skip
    # An admin pins the approvers' keys with the root's key (signed approvals, issue 17).
    kb(db, "keys", "certify", "--root", str(root), "--key", str(keys / "k1.key"), user="admin")
    created = kb(db, "release", "create", "--version", "2026.11.0", "--root", str(root),
                 "--key", str(keys / "k1.key"), "--out", str(tmp / "out"), "--format", "json",
                 user="releaser")  # fmt: skip
    return {"db": db, "root": root, "tmp": tmp, **json.loads(created.stdout)}


def test_cli_round_trip(release: dict[str, Any]) -> None:
    tmp = release["tmp"]
    source = bundle(condition("NSCLC"), egfr_l858r(), {"resourceType": "Observation"})
    path = tmp / "bundle.json"
    path.write_text(json.dumps(source))
    base = ["match", "--release", release["path"], "--root", str(release["root"])]
    answered = kb(release["db"], *base, "--fhir", str(path), "--format", "fhir")
    out = json.loads(answered.stdout)
    found = implications(out)
    assert found["AS-00001"]["derivedFrom"] == [{"reference": "urn:uuid:obs-2"}]
    artifact = found["AS-00001"]["extension"][0]["valueRelatedArtifact"]
    assert release["release_digest"] in artifact["citation"]
    assert artifact["label"] == release["version"] == "2026.11.0"
    assert "entry 3" in answered.stderr and "skipped" in answered.stderr
    # JSON and text answers list what was skipped beside the usual result.
    as_json = json.loads(kb(release["db"], *base, "--fhir", str(path), "--format", "json").stdout)
    assert as_json["fhir_issues"][0]["entry"] == 3
    assert "AS-00001" in {t["assertion"] for t in as_json["therapies"]}
    assert "FHIR input: entry 3" in kb(release["db"], *base, "--fhir", str(path)).stdout
    # FHIR out needs FHIR in; a document that is not a Bundle is one located line.
    refused = kb(release["db"], *base, "--patient", str(path), "--format", "fhir", check=False)
    assert refused.returncode == 2
    not_bundle = tmp / "patient.json"
    not_bundle.write_text(json.dumps({"resourceType": "Patient"}))
    bad = kb(release["db"], *base, "--fhir", str(not_bundle), check=False)
    assert bad.returncode == 1 and "$.resourceType" in bad.stderr
    assert len(bad.stderr.splitlines()) == 1


def test_the_shipped_sample_bundle_reads_cleanly(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "resources" / "fhir"
    patient, issues = patient_from_fhir(load_fhir_bundle(sample / "nsclc-egfr-l858r.bundle.json"))
    assert issues == [] and patient.oncotree_code == "NSCLC" and patient.pdl1_tps == 30
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle", "total": NaN}')
    with pytest.raises(PatientError, match=r"broken\.json"):
        load_fhir_bundle(broken)
