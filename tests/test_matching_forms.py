"""The matcher on every biomarker form: wild type, methylation, expression levels, DNA-level
changes, gene-wide ITD and promoter variants, any mutation, copy-number gain and loss."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from kb.matching.matcher import Matcher, Patient, PatientError
from kb.storage.db import open_kb
from kb.storage.snapshot import build_snapshot


@pytest.fixture(scope="module")
def base(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("forms") / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    kb = open_kb(f"sqlite:///{path}")
    with kb.read() as session:
        data = build_snapshot(session).as_json()
    kb.close()
    return data


def _gene(data: dict[str, Any], symbol: str) -> str:
    for entry in data["records"]["gene"]:
        if entry["fields"]["symbol"] == symbol:
            return str(entry["id"])
    new_id = f"GN-9{len(data['records']['gene']):04d}"
    data["records"]["gene"].append(
        {
            "id": new_id,
            "uuid": new_id,
            "fields": {"symbol": symbol, "aliases": [], "role": "oncogene"},
        }
    )
    return new_id


def rule(base: dict[str, Any], gene: str, **biomarker: Any) -> Matcher:
    """A copy of the demo with one assertion on one new biomarker of `gene`, as AS-99999."""
    data = copy.deepcopy(base)
    fields = {"gene": _gene(data, gene), "origin": "somatic", "label": "", "exclusions": []}
    fields.update(biomarker)
    data["records"]["biomarker"].append({"id": "BM-99999", "uuid": "bm", "fields": fields})
    data["records"]["expression"].append(
        {"id": "BX-99999", "uuid": "bx", "fields": {"tree": {"biomarker": "BM-99999"}}}
    )
    data["records"]["assertion"].append(
        {
            "id": "AS-99999",
            "uuid": "as",
            "fields": {
                "expression": "BX-99999",
                "therapy": None,
                "tumour_types": ["ALL_TUMOURS"],
                "excluded_tumour_types": [],
                "implication": "prognostic",
                "evidence_level": "3B",
                "citations": [],
            },
        }
    )
    return Matcher.from_snapshot(data)


def verdict(matcher: Matcher, **profile: Any) -> tuple[bool | None, str]:
    patient = Patient.from_json({"id": "P", "oncotree_code": "LUAD", **profile})
    explanation = matcher.explain(patient, "AS-99999")
    node = next(n for n in explanation.walk() if (n.ref or "").startswith("BM-99999"))
    return node.result, node.reason


def test_wild_type_needs_sequencing_and_no_variant_of_the_gene(base: dict[str, Any]) -> None:
    kras_wt = rule(base, "KRAS", kind="wild_type")
    assert verdict(kras_wt)[0] is None  # not sequenced: unknown
    assert verdict(kras_wt, variants=[])[0] is True
    assert verdict(kras_wt, variants=[{"gene": "EGFR", "protein_change": "p.L858R"}])[0] is True
    result, reason = verdict(kras_wt, variants=[{"gene": "KRAS", "protein_change": "p.G12C"}])
    assert result is False and "KRAS p.Gly12Cys" in reason
    silent = [{"gene": "KRAS", "protein_change": "p.G12=", "consequence": "synonymous"}]
    assert verdict(kras_wt, variants=silent)[0] is True
    # Indexed by no fact: a patient with only other genes' variants still reaches the rule.
    patient = Patient.from_json({"id": "P", "oncotree_code": "LUAD", "variants": []})
    assert "AS-99999" in [m.assertion_id for m in kras_wt.match(patient).therapies]


def test_mgmt_promoter_methylation(base: dict[str, Any]) -> None:
    mgmt = rule(base, "MGMT", kind="methylation", status="methylated")
    assert verdict(mgmt)[0] is None
    assert verdict(mgmt, methylation=[])[0] is None  # tested, but MGMT not reported
    assert verdict(mgmt, methylation=[{"gene": "MGMT", "status": "methylated"}]) == (
        True,
        "MGMT promoter is methylated",
    )
    assert verdict(mgmt, methylation=[{"gene": "MGMT", "status": "unmethylated"}])[0] is False


@pytest.mark.parametrize(
    ("status", "result", "expected"),
    [
        ("high", "high", True),
        ("high", "positive", None),  # positive, but at what level?
        ("high", "low", False),
        ("positive", "high", True),
        ("positive", "negative", False),
        ("low", "negative", None),
        ("low", "low", True),
    ],
)
def test_expression_levels_without_an_assay(
    base: dict[str, Any], status: str, result: str, expected: bool | None
) -> None:
    cd274 = rule(base, "CD274", kind="expression", status=status)
    found = verdict(cd274, expression=[{"gene": "CD274", "assay": "RNA", "result": result}])
    assert found[0] is expected, found


def test_a_dna_level_change_needs_the_dna_change(base: dict[str, Any]) -> None:
    gnas = rule(base, "GNAS", kind="sequence_variant", dna_change="c.393T>C")
    assert verdict(gnas, variants=[{"gene": "GNAS", "dna_change": "c.393T>C"}]) == (
        True,
        "patient has GNAS c.393T>C",
    )
    assert verdict(gnas, variants=[{"gene": "GNAS", "dna_change": "c.394A>G"}])[0] is False
    protein_only = [{"gene": "GNAS", "protein_change": "p.R201H"}]
    assert verdict(gnas, variants=protein_only)[0] is None


def test_a_snp_named_by_its_dbsnp_id_needs_that_id_and_its_origin(base: dict[str, Any]) -> None:
    snp = rule(base, "SH2B3", kind="sequence_variant", origin="germline", dbsnp_id="rs3184504")
    germline = {"gene": "SH2B3", "origin": "germline"}
    # The patient file's rs id, in whatever case it was written.
    assert verdict(snp, variants=[{**germline, "dbsnp_id": "RS3184504"}]) == (
        True,
        "patient has SH2B3 rs3184504",
    )
    result, reason = verdict(snp, variants=[{**germline, "dbsnp_id": "rs7310615"}])
    assert result is False and "rs7310615 is not rs3184504" in reason
    # The same SNP found in the tumour is not the germline finding.
    somatic = {"gene": "SH2B3", "dbsnp_id": "rs3184504"}
    result, reason = verdict(snp, variants=[somatic])
    assert result is False and "somatic; the biomarker is germline" in reason
    # Named by its change only, it may be the SNP: unknown (a possible match), not false.
    result, reason = verdict(snp, variants=[{**germline, "protein_change": "p.W262R"}])
    assert result is None and "no dbSNP id given" in reason
    assert verdict(snp, variants=[{"gene": "JAK2", "dbsnp_id": "rs3184504"}])[0] is False
    patient = Patient.from_json(
        {"id": "P", "oncotree_code": "LUAD", "variants": [{**germline, "dbsnp_id": "rs3184504"}]}
    )
    assert "AS-99999" in [m.assertion_id for m in snp.match(patient).therapies]
    assert patient.as_json()["variants"][0]["dbsnp_id"] == "rs3184504"


def test_a_patient_dbsnp_id_must_be_an_rs_id() -> None:
    with pytest.raises(PatientError) as caught:
        Patient.from_json({"id": "P", "variants": [{"gene": "SH2B3", "dbsnp_id": "3184504"}]})
    assert "dbsnp_id" in str(caught.value)


def test_flt3_itd_is_gene_wide_and_must_be_reported_as_one(base: dict[str, Any]) -> None:
    itd = rule(base, "FLT3", kind="range", consequence="internal_tandem_duplication")
    reported = [{"gene": "FLT3", "consequence": "internal_tandem_duplication"}]
    assert verdict(itd, variants=reported)[0] is True
    dup = [{"gene": "FLT3", "protein_change": "p.E598_Y599insDVDFREYE"}]
    result, reason = verdict(itd, variants=dup)
    assert result is None and "may be an internal tandem duplication" in reason
    assert verdict(itd, variants=[{"gene": "FLT3", "protein_change": "p.D835Y"}])[0] is False


def test_tert_promoter_variant_from_its_dna_change(base: dict[str, Any]) -> None:
    tert = rule(base, "TERT", kind="range", consequence="promoter")
    assert verdict(tert, variants=[{"gene": "TERT", "dna_change": "c.-124C>T"}])[0] is True
    assert verdict(tert, variants=[{"gene": "TERT", "dna_change": "c.1234C>T"}])[0] is not True


def test_any_mutation_takes_any_non_synonymous_variant(base: dict[str, Any]) -> None:
    any_egfr = rule(base, "EGFR", kind="categorical", category="any_mutation")
    assert verdict(any_egfr, variants=[{"gene": "EGFR", "protein_change": "p.G719S"}])[0] is True
    silent = [{"gene": "EGFR", "protein_change": "p.Q787=", "consequence": "synonymous"}]
    assert verdict(any_egfr, variants=silent)[0] is False


@pytest.mark.parametrize(
    ("wanted", "call", "expected"),
    [
        ("gain", "amplification", True),
        ("gain", "gain", True),
        ("amplification", "gain", False),
        ("loss", "deletion", True),
        ("deletion", "loss", False),
    ],
)
def test_copy_number_gain_and_loss(
    base: dict[str, Any], wanted: str, call: str, expected: bool
) -> None:
    erbb2 = rule(base, "ERBB2", kind="copy_number", copy_number=wanted)
    assert verdict(erbb2, copy_number=[{"gene": "ERBB2", "call": call}])[0] is expected


@pytest.mark.parametrize(
    ("origin", "germline", "somatic", "unknown"),
    [
        ("somatic", False, True, None),
        ("germline", True, False, None),
        ("either", True, True, True),
    ],
)
def test_a_germline_finding_is_never_matched_as_a_somatic_one_nor_the_reverse(
    base: dict[str, Any], origin: str, germline: bool, somatic: bool, unknown: bool | None
) -> None:
    brca2 = rule(
        base, "BRCA2", kind="sequence_variant", protein_change="p.Glu1953Ter", origin=origin
    )

    def seen(found_origin: str) -> bool | None:
        variant = {"gene": "BRCA2", "protein_change": "p.E1953*", "origin": found_origin}
        return verdict(brca2, variants=[variant])[0]

    assert (seen("germline"), seen("somatic"), seen("unknown")) == (germline, somatic, unknown)
    _, reason = verdict(
        brca2, variants=[{"gene": "BRCA2", "protein_change": "p.E1953*", "origin": "germline"}]
    )
    if origin == "somatic":
        assert reason == "BRCA2 p.Glu1953Ter is germline; the biomarker is somatic"


def test_flt3_d835y_is_activating_by_the_kbs_oncogenicity(base: dict[str, Any]) -> None:
    activating = rule(base, "FLT3", kind="categorical", category="activating_mutations")
    result, reason = verdict(activating, variants=[{"gene": "FLT3", "protein_change": "D835Y"}])
    assert result is True and "oncogenic, gain of function" in reason
    assert verdict(activating, variants=[{"gene": "FLT3", "protein_change": "D835H"}])[0] is None
