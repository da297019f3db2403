"""kb.matching against the real demo KB: textbook patients, explanations, trials, schema, MAF.

The demo's own tumour tree holds only the codes it uses, so most tests match against the demo
with the full OncoTree release loaded (as a real KB has it), where LUAD, COAD and IDC exist.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from kb.matching.maf import MafError, read_maf, read_maf_variants
from kb.matching.matcher import (
    Explanation,
    Matcher,
    MatcherError,
    MatchResult,
    Patient,
    PatientError,
    load_patient_file,
    patient_schema,
)
from kb.storage.db import Kb, open_kb
from kb.storage.snapshot import build_snapshot
from tests.conftest import load_full_vocabularies

# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_copy(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kb]:
    path = tmp_path_factory.mktemp("matching") / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    opened = open_kb(f"sqlite:///{path}")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def demo_json(demo_copy: Kb) -> dict[str, Any]:
    """The demo KB's snapshot as a release's kb.json holds it (demo tumour subset)."""
    with demo_copy.read() as session:
        return build_snapshot(session).as_json()


@pytest.fixture(scope="module")
def kb_json(demo_copy: Kb, demo_json: dict[str, Any]) -> dict[str, Any]:
    """The demo KB with the full OncoTree release loaded, as kb.json."""
    load_full_vocabularies(demo_copy, hgnc=False)
    with demo_copy.read() as session:
        return build_snapshot(session).as_json()


@pytest.fixture(scope="module")
def matcher(kb_json: dict[str, Any]) -> Matcher:
    return Matcher.from_snapshot(kb_json)


def patient(**fields: Any) -> Patient:
    return Patient.from_json({"id": "P1", **fields})


def assertion_ids(result: MatchResult) -> list[str]:
    return [match.assertion_id for match in result.therapies]


def fields_of(data: dict[str, Any], record_type: str, record_id: str) -> dict[str, Any]:
    for entry in data["records"][record_type]:
        if entry["id"] == record_id:
            fields: dict[str, Any] = entry["fields"]
            return fields
    raise KeyError(record_id)


def leaf(explanation: Explanation, text: str) -> Explanation:
    return explanation.find(text)


EGFR_L858R = {"gene": "EGFR", "protein_change": "p.L858R"}
# The other FDA-approved therapies for EGFR exon 19 deletion / L858R NSCLC, ranked after
# osimertinib (AS-00001..3) by id: erlotinib, gefitinib, afatinib, dacomitinib, amivantamab +
# lazertinib, ramucirumab + erlotinib, osimertinib + chemotherapy.
EGFR_OLDER = ["AS-00059", "AS-00060", "AS-00061", "AS-00063", "AS-00064", "AS-00065", "AS-00066"]


# --- textbook patients -----------------------------------------------------------------------


def test_luad_with_egfr_l858r_gets_osimertinib_at_level_1(matcher: Matcher) -> None:
    result = matcher.match(
        patient(oncotree_code="LUAD", age=64, sex="female", variants=[EGFR_L858R])
    )
    ids = assertion_ids(result)
    assert ids == ["AS-00001", "AS-00002", "AS-00003", *EGFR_OLDER]
    first = result.therapies[0]
    assert first.therapy is not None
    assert first.therapy.name == "Osimertinib"
    assert [name for _, name, _ in first.therapy.drugs] == ["osimertinib"]
    assert (first.evidence_level, first.implication) == ("1", "sensitive")
    assert first.line_of_therapy == "first_line"
    assert (first.specimen, first.cdx) == ("tissue_or_plasma", "cobas EGFR Mutation Test v2")
    assert first.confirmatory_test and "tissue" in first.confirmatory_test
    assert first.tumour.result is True
    assert "LUAD (Lung Adenocarcinoma) is a descendant of NSCLC" in first.tumour.reason
    node = leaf(first.explanation, "EGFR L858R")
    assert (node.node, node.result) == ("biomarker", True)
    assert node.reason == "patient has EGFR p.Leu858Arg"
    exon19 = leaf(first.explanation, "EGFR exon 19 in-frame deletion")
    assert exon19.result is False
    assert first.explanation.node == "OR"
    assert first.explanation.text == "EGFR exon 19 in-frame deletion OR EGFR L858R"


def test_nsclc_itself_and_three_letter_spelling_match_too(matcher: Matcher) -> None:
    luad = matcher.match(patient(oncotree_code="LUAD", variants=[EGFR_L858R]))
    nsclc = matcher.match(
        patient(oncotree_code="nsclc", variants=[{"gene": "egfr", "protein_change": "Leu858Arg"}])
    )
    assert assertion_ids(nsclc) == assertion_ids(luad)
    assert nsclc.therapies[0].tumour.reason == "NSCLC (Non-Small Cell Lung Cancer) is listed"


def test_a_snapshot_from_each_backend_matches_the_same(demo_kb: Kb) -> None:
    with demo_kb.read() as session:
        data = build_snapshot(session).as_json()
    result = Matcher.from_snapshot(data).match(
        patient(oncotree_code="NSCLC", variants=[EGFR_L858R])
    )
    assert assertion_ids(result) == ["AS-00001", "AS-00002", "AS-00003", *EGFR_OLDER]
    assert result.kb_version == data["kb_version"]


def test_colorectal_kras_g12c_gets_adagrasib_cetuximab_and_anti_egfr_resistance(
    matcher: Matcher,
) -> None:
    flagged = {"gene": "KRAS", "protein_change": "p.G12C", "oncogenic": True}
    result = matcher.match(patient(oncotree_code="COAD", variants=[flagged]))
    assert assertion_ids(result) == ["AS-00020", "AS-00079", "AS-00021", "AS-00022"]
    combo, sotorasib, cetuximab, panitumumab = result.therapies
    assert sotorasib.therapy is not None and sotorasib.therapy.name == "Sotorasib + Panitumumab"
    assert combo.therapy is not None and combo.therapy.name == "Adagrasib + Cetuximab"
    assert combo.therapy.combination == "combination"
    assert (cetuximab.evidence_level, cetuximab.implication) == ("R1", "resistant")
    assert cetuximab.therapy is not None and cetuximab.therapy.name == "Cetuximab"
    assert panitumumab.therapy is not None and panitumumab.therapy.name == "Panitumumab"
    activating = leaf(cetuximab.explanation, "KRAS activating mutations")
    assert activating.result is True
    assert "flagged oncogenic" in activating.reason


def test_unflagged_kras_g12c_gets_anti_egfr_resistance_from_the_kbs_oncogenicity(
    matcher: Matcher,
) -> None:
    profile = patient(oncotree_code="COAD", variants=[{"gene": "KRAS", "protein_change": "G12C"}])
    assert assertion_ids(matcher.match(profile)) == ["AS-00020", "AS-00079", "AS-00021", "AS-00022"]
    activating = leaf(matcher.explain(profile, "AS-00021"), "KRAS activating mutations")
    assert activating.result is True
    assert "which the KB holds oncogenic, gain of function (OG-" in activating.reason
    # The report's own flag still decides.
    flagged = {"gene": "KRAS", "protein_change": "G12C", "oncogenic": False}
    vetoed = patient(oncotree_code="COAD", variants=[flagged])
    assert assertion_ids(matcher.match(vetoed)) == ["AS-00020", "AS-00079"]


def test_a_variant_the_kb_knows_nothing_of_leaves_resistance_unknown(matcher: Matcher) -> None:
    unknown = {"gene": "KRAS", "protein_change": "p.A146V"}
    profile = patient(oncotree_code="COAD", variants=[unknown])
    why = matcher.explain(profile, "AS-00021")
    assert why.result is None
    activating = leaf(why, "KRAS activating mutations")
    assert activating.result is None
    assert "no oncogenic flag" in activating.reason
    assert leaf(why, "NRAS activating mutations").result is False


@pytest.mark.parametrize("code", ["THPA", "ANGS"])
def test_ntrk_fusion_in_any_solid_tumour_gets_larotrectinib_and_entrectinib(
    matcher: Matcher, code: str
) -> None:
    result = matcher.match(
        patient(oncotree_code=code, fusions=[{"five_prime": "ETV6", "three_prime": "NTRK3"}])
    )
    assert assertion_ids(result) == ["AS-00023", "AS-00024", "AS-00071"]
    names = [m.therapy.name for m in result.therapies if m.therapy]
    assert names == ["Larotrectinib", "Entrectinib", "Repotrectinib"]
    assert "is a solid tumour" in result.therapies[0].tumour.reason
    assert leaf(result.therapies[0].explanation, "NTRK3 fusion").reason == (
        "patient has ETV6::NTRK3 fusion"
    )


def test_all_solid_excludes_a_liquid_tumour(matcher: Matcher) -> None:
    profile = patient(oncotree_code="AML", fusions=[{"five_prime": "ETV6", "three_prime": "NTRK3"}])
    assert assertion_ids(matcher.match(profile)) == []
    why = matcher.explain(profile, "AS-00023")
    tumour = why.args[0]
    assert (tumour.node, tumour.result) == ("tumour_type", False)
    assert tumour.reason == "AML (Acute Myeloid Leukemia) is not a solid tumour (tissue Myeloid)"
    assert why.args[1].result is True  # the fusion itself holds


def test_her2_ihc_2_plus_ish_1_5_breast_is_her2_low_not_her2_positive(matcher: Matcher) -> None:
    profile = patient(oncotree_code="IDC", her2_ihc="2+", her2_ish_ratio=1.5)
    result = matcher.match(profile)
    assert "AS-00031" not in assertion_ids(result)
    assert assertion_ids(result) == ["AS-00033"]
    deruxtecan = result.therapies[0]
    assert deruxtecan.therapy is not None
    assert deruxtecan.therapy.name == "Trastuzumab deruxtecan"
    assert leaf(deruxtecan.explanation, "ERBB2 ISH_RATIO < 2.0").reason == (
        "ERBB2 ISH_RATIO 1.5 is below 2.0"
    )
    why = matcher.explain(profile, "AS-00031")
    assert why.result is False
    assert leaf(why, "ERBB2 IHC == 3+").reason == "ERBB2 IHC 2+ is not 3+"
    ish = leaf(why, "ERBB2 ISH_RATIO >= 2.0")
    assert (ish.result, ish.reason) == (False, "ERBB2 ISH_RATIO 1.5 is below 2.0")
    both = leaf(why, "ERBB2 IHC == 2+ AND ERBB2 ISH_RATIO >= 2.0")
    assert (both.result, both.reason) == (False, "fails: ERBB2 ISH_RATIO >= 2.0")
    assert leaf(why, "ERBB2 IHC == 2+").result is True


def test_her2_ihc_3_plus_breast_gets_trastuzumab(matcher: Matcher) -> None:
    result = matcher.match(patient(oncotree_code="IDC", her2_ihc="3+"))
    ids = assertion_ids(result)
    assert "AS-00031" in ids
    trastuzumab = result.therapies[ids.index("AS-00031")]
    assert trastuzumab.therapy is not None and trastuzumab.therapy.name == "Trastuzumab"
    assert leaf(trastuzumab.explanation, "ERBB2 IHC == 3+").reason == "ERBB2 IHC 3+ is 3+"
    # The pan-tumour HER2 IHC 3+ indication applies to breast as a solid tumour too.
    assert "AS-00035" in ids


def test_her2_alias_maps_to_erbb2(matcher: Matcher) -> None:
    result = matcher.match(
        patient(oncotree_code="STAD", copy_number=[{"gene": "HER2", "call": "amplification"}])
    )
    assert assertion_ids(result) == ["AS-00032"]
    assert leaf(result.therapies[0].explanation, "ERBB2 amplification").result is True


@pytest.mark.parametrize(
    ("tmb", "expected", "reason"),
    [
        (12.5, True, "TMB 12.5 mut/Mb is at least 10 mut/Mb"),
        (10, True, "TMB 10 mut/Mb is at least 10 mut/Mb"),
        (8, False, "TMB 8 mut/Mb is below 10 mut/Mb"),
        (None, None, "no TMB result given (unknown)"),
    ],
)
def test_tmb_high_pembrolizumab(
    matcher: Matcher, tmb: float | None, expected: bool | None, reason: str
) -> None:
    fields: dict[str, Any] = {"oncotree_code": "LUAD"}
    if tmb is not None:
        fields["tmb"] = tmb
    profile = patient(**fields)
    assert ("AS-00036" in assertion_ids(matcher.match(profile))) is (expected is True)
    node = leaf(matcher.explain(profile, "AS-00036"), "TMB >= 10 mut/Mb")
    assert (node.result, node.reason) == (expected, reason)


def test_msi_high_colorectal_gets_pembrolizumab(matcher: Matcher) -> None:
    result = matcher.match(patient(oncotree_code="COAD", msi="MSI-H"))
    assert assertion_ids(result) == ["AS-00037", "AS-00038", "AS-00081", "AS-00082"]
    first_line = result.therapies[1]
    assert first_line.line_of_therapy == "first_line"
    explanation = first_line.explanation
    assert (explanation.result, explanation.reason) == (True, "holds: MSI-H")
    assert leaf(explanation, "dMMR").reason == "no MMR status given (unknown)"
    # MSS is definite: both alternatives unknown or false means no match.
    assert assertion_ids(matcher.match(patient(oncotree_code="COAD", msi="MSS"))) == []


def test_aml_idh1_r132h_gets_ivosidenib(matcher: Matcher) -> None:
    result = matcher.match(
        patient(oncotree_code="AML", variants=[{"gene": "IDH1", "protein_change": "p.R132H"}])
    )
    assert assertion_ids(result) == ["AS-00049", "AS-00050", "AS-00094"]
    node = leaf(result.therapies[0].explanation, "IDH1 codon 132 missense")
    assert node.reason == "patient has IDH1 p.Arg132His at codon 132, a missense change"
    other = patient(oncotree_code="AML", variants=[{"gene": "IDH1", "protein_change": "R100Q"}])
    assert assertion_ids(matcher.match(other)) == []


def test_codon_level_biomarker_matches_any_change_at_the_codon(kb_json: dict[str, Any]) -> None:
    data = copy.deepcopy(kb_json)
    idh1 = fields_of(data, "biomarker", "BM-00023")
    idh1.update(kind="sequence_variant", protein_change="p.Arg132", codon_start=None)
    idh1.update(codon_end=None, consequence=None)
    codon_matcher = Matcher.from_snapshot(data)
    for change in ("p.R132H", "p.R132C", "p.Arg132Ser"):
        profile = patient(
            oncotree_code="AML", variants=[{"gene": "IDH1", "protein_change": change}]
        )
        result = codon_matcher.match(profile)
        assert assertion_ids(result) == ["AS-00049", "AS-00050", "AS-00094"], change
        assert "a change at codon 132" in leaf(result.therapies[0].explanation, "IDH1 R132").reason
    synonymous = patient(
        oncotree_code="AML", variants=[{"gene": "IDH1", "protein_change": "p.R132="}]
    )
    assert assertion_ids(codon_matcher.match(synonymous)) == []


def test_tumour_type_exclusions_are_honoured(matcher: Matcher) -> None:
    braf = [{"gene": "BRAF", "protein_change": "p.V600E"}]
    colorectal = patient(oncotree_code="COAD", variants=braf)
    assert assertion_ids(matcher.match(colorectal)) == ["AS-00017"]
    tumour = matcher.explain(colorectal, "AS-00016").args[0]
    assert tumour.result is False
    assert tumour.text == "tumour type within ALL_SOLID, excluding COADREAD"
    assert tumour.reason.startswith("excluded: COAD (Colon Adenocarcinoma) is a descendant of")
    lung = patient(oncotree_code="LUAD", variants=braf)
    assert assertion_ids(matcher.match(lung)) == ["AS-00012", "AS-00016", "AS-00072"]


def test_biomarker_exclusions_are_honoured(kb_json: dict[str, Any]) -> None:
    data = copy.deepcopy(kb_json)
    fields_of(data, "biomarker", "BM-00016")["exclusions"] = ["BM-00015"]  # KRAS except G12C
    excluding = Matcher.from_snapshot(data)
    g12c = patient(
        oncotree_code="COAD",
        variants=[{"gene": "KRAS", "protein_change": "p.G12C", "oncogenic": True}],
    )
    assert assertion_ids(excluding.match(g12c)) == ["AS-00020", "AS-00079"]
    node = leaf(excluding.explain(g12c, "AS-00021"), "KRAS activating mutations")
    assert (node.result, node.reason) == (
        False,
        "KRAS p.Gly12Cys is excluded (KRAS G12C, BM-00015)",
    )
    g12d = patient(
        oncotree_code="COAD",
        variants=[{"gene": "KRAS", "protein_change": "p.G12D", "oncogenic": True}],
    )
    assert assertion_ids(excluding.match(g12d)) == ["AS-00021", "AS-00022"]


def test_not_keeps_pdl1_monotherapy_from_an_egfr_driven_tumour(matcher: Matcher) -> None:
    driven = patient(oncotree_code="LUAD", pdl1_tps=60, variants=[EGFR_L858R])
    ids = assertion_ids(matcher.match(driven))
    assert "AS-00039" not in ids and "AS-00040" not in ids
    why = matcher.explain(driven, "AS-00039")
    negation = next(node for node in why.walk() if node.node == "NOT")
    assert negation.result is False
    assert leaf(why, "CD274 TPS >= 50%").reason == "CD274 TPS 60% is at least 50%"

    tested = patient(oncotree_code="LUAD", pdl1_tps=60, variants=[], fusions=[])
    assert {"AS-00039", "AS-00040"} <= set(assertion_ids(matcher.match(tested)))

    # Not sequenced: the drivers are unknown, so NOT (drivers) is unknown and nothing matches.
    untested = patient(oncotree_code="LUAD", pdl1_tps=60)
    assert "AS-00039" not in assertion_ids(matcher.match(untested))
    assert matcher.explain(untested, "AS-00039").result is None


def test_germline_biomarker_needs_a_germline_variant(matcher: Matcher) -> None:
    frameshift = {"gene": "BRCA1", "protein_change": "p.Gln1756ProfsTer74"}
    germline = patient(
        oncotree_code="IDC", her2_ihc="0", variants=[{**frameshift, "origin": "germline"}]
    )
    somatic = patient(oncotree_code="IDC", her2_ihc="0", variants=[frameshift])
    assert {"AS-00043", "AS-00044"} <= set(assertion_ids(matcher.match(germline)))
    assert "AS-00043" not in assertion_ids(matcher.match(somatic))
    node = leaf(matcher.explain(somatic, "AS-00043"), "BRCA1 germline loss of function")
    assert node.reason == "BRCA1 p.Gln1756fs is somatic; the biomarker is germline"
    unknown = patient(
        oncotree_code="IDC", her2_ihc="0", variants=[{**frameshift, "origin": "unknown"}]
    )
    assert matcher.explain(unknown, "AS-00043").result is None
    # The ovarian indication accepts somatic BRCA loss of function as well.
    ovarian = patient(oncotree_code="HGSOC", variants=[frameshift])
    assert "AS-00045" in assertion_ids(matcher.match(ovarian))


def test_unknown_or_missing_tumour_type_is_unknown(matcher: Matcher) -> None:
    for fields in ({"oncotree_code": "NOTACODE"}, {}):
        profile = patient(**fields, variants=[EGFR_L858R])
        assert assertion_ids(matcher.match(profile)) == []
        tumour = matcher.explain(profile, "AS-00001").args[0]
        assert tumour.result is None
    assert (
        "is not in the release's OncoTree"
        in matcher.explain(patient(oncotree_code="NOTACODE"), "AS-00001").args[0].reason
    )


def test_results_are_sorted_by_level_then_id(matcher: Matcher) -> None:
    result = matcher.match(
        patient(
            oncotree_code="COAD",
            msi="MSI-H",
            tmb=30,
            variants=[{"gene": "KRAS", "protein_change": "p.G12C", "oncogenic": True}],
        )
    )
    levels = [match.evidence_level for match in result.therapies]
    assert levels == sorted(levels, key=["1", "2", "3A", "3B", "4", "R1", "R2"].index)
    assert assertion_ids(result) == [
        "AS-00020",
        "AS-00036",
        "AS-00037",
        "AS-00038",
        "AS-00079",
        "AS-00081",
        "AS-00082",
        "AS-00021",
        "AS-00022",
    ]


# --- trials ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trial_json(kb_json: dict[str, Any]) -> dict[str, Any]:
    """The demo with LIBRETTO-001 recruiting and its treatment-naive arm suspended."""
    data = copy.deepcopy(kb_json)
    fields_of(data, "trial", "TR-00004")["status"] = "RECRUITING"
    fields_of(data, "trial_arm", "TA-00012")["suspended"] = True
    return data


RET_FUSION = [{"five_prime": "KIF5B", "three_prime": "RET"}]


def test_open_arm_matches_and_suspended_arm_does_not(trial_json: dict[str, Any]) -> None:
    trials = Matcher.from_snapshot(trial_json)
    profile = patient(oncotree_code="LUAD", age=50, sex="male", fusions=RET_FUSION)
    result = trials.match(profile)
    assert [(m.nct_id, m.arm_code) for m in result.trials] == [("NCT03157128", "NSCLC-PLATINUM")]
    arm = result.trials[0]
    assert (arm.arm_id, arm.status, arm.trial_id) == ("TA-00011", "RECRUITING", "TR-00004")
    assert arm.therapy is not None and arm.therapy.name == "Selpercatinib"
    assert arm.explanation is not None and arm.explanation.result is True
    assert [(node.node, node.result, node.reason) for node in arm.criteria] == [
        ("age", True, "patient is 50")
    ]
    suspended = trials.explain(profile, "TA-00012")
    assert suspended.result is False
    assert (suspended.args[0].node, suspended.args[0].reason) == (
        "status",
        "the arm is suspended (trial RECRUITING)",
    )
    other = trials.explain(profile, "TA-00014")
    assert other.args[1].reason.startswith("excluded: LUAD")
    assert "AS-00025" in assertion_ids(result)  # and the approved therapy


def test_closed_trials_do_not_match_by_default(
    matcher: Matcher, trial_json: dict[str, Any]
) -> None:
    profile = patient(oncotree_code="LUAD", age=50, fusions=RET_FUSION)
    assert matcher.match(profile).trials == []  # ACTIVE_NOT_RECRUITING in the demo
    why = matcher.explain(profile, "TA-00011")
    assert why.args[0].reason == "trial is ACTIVE_NOT_RECRUITING, not recruiting"
    data = copy.deepcopy(trial_json)
    fields_of(data, "trial", "TR-00004")["status"] = "NOT_YET_RECRUITING"
    assert Matcher.from_snapshot(data).match(profile).trials == []
    upcoming = Matcher.from_snapshot(
        data, trial_statuses=("RECRUITING", "NOT_YET_RECRUITING")
    ).match(profile)
    assert [m.arm_id for m in upcoming.trials] == ["TA-00011"]


def test_missing_age_puts_an_arm_up_for_review(trial_json: dict[str, Any]) -> None:
    trials = Matcher.from_snapshot(trial_json)
    result = trials.match(patient(oncotree_code="LUAD", fusions=RET_FUSION))
    assert result.trials == []
    assert [m.arm_id for m in result.trials_to_review] == ["TA-00011"]
    assert result.trials_to_review[0].criteria[0].reason == "no age given (unknown)"
    too_young = trials.match(patient(oncotree_code="LUAD", age=10, fusions=RET_FUSION))
    assert too_young.trials == [] and too_young.trials_to_review == []


def test_sex_criterion(trial_json: dict[str, Any]) -> None:
    data = copy.deepcopy(trial_json)
    fields_of(data, "trial_arm", "TA-00011")["sex"] = "FEMALE"
    trials = Matcher.from_snapshot(data)
    base = {"oncotree_code": "LUAD", "age": 40, "fusions": RET_FUSION}
    assert [m.arm_id for m in trials.match(patient(**base, sex="female")).trials] == ["TA-00011"]
    assert trials.match(patient(**base, sex="male")).trials == []
    review = trials.match(patient(**base)).trials_to_review
    assert [node.reason for node in review[0].criteria] == [
        "patient is 40",
        "no sex given (unknown)",
    ]


# --- output --------------------------------------------------------------------------------------


def test_as_json_and_text(matcher: Matcher) -> None:
    result = matcher.match(patient(oncotree_code="LUAD", age=64, variants=[EGFR_L858R]))
    data = json.loads(json.dumps(result.as_json()))
    assert data["patient"] == "P1"
    assert [t["assertion"] for t in data["therapies"]] == [
        "AS-00001",
        "AS-00002",
        "AS-00003",
        *EGFR_OLDER,
    ]
    first = data["therapies"][0]
    assert first["therapy"]["name"] == "Osimertinib"
    assert first["evidence_level"] == "1"
    assert first["validation"]["cdx"] == "cobas EGFR Mutation Test v2"
    assert first["tumour"]["node"] == "tumour_type"
    assert first["explanation"]["args"][1] == {
        "node": "biomarker",
        "text": "EGFR L858R",
        "result": True,
        "reason": "patient has EGFR p.Leu858Arg",
        "ref": "BM-00001",
    }
    assert data["trials"] == []
    text = result.text()
    assert "AS-00001  level 1  sensitive  Osimertinib" in text
    assert "[+] EGFR L858R: patient has EGFR p.Leu858Arg" in text
    assert "[-] EGFR exon 19 in-frame deletion:" in text


def test_explain_unknown_record(matcher: Matcher) -> None:
    with pytest.raises(Exception, match="no assertion or trial arm AS-99999"):
        matcher.explain(patient(), "AS-99999")


def test_dangling_reference_is_a_clear_error(kb_json: dict[str, Any]) -> None:
    data = copy.deepcopy(kb_json)
    fields_of(data, "assertion", "AS-00001")["expression"] = "BX-09999"
    with pytest.raises(MatcherError, match="AS-00001: expression BX-09999 is missing"):
        Matcher.from_snapshot(data)
    with pytest.raises(MatcherError, match="not a KB snapshot"):
        Matcher.from_snapshot({"format": "x"})


# --- patient schema ------------------------------------------------------------------------------


def test_patient_schema_is_valid_and_documented() -> None:
    schema = patient_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, spec in schema["properties"].items():
        assert spec.get("description"), name


def test_full_profile_round_trips() -> None:
    data = {
        "id": "P1",
        "oncotree_code": "LUAD",
        "age": 64,
        "sex": "female",
        "variants": [
            {"gene": "EGFR", "protein_change": "p.Leu858Arg", "exon": 21, "vaf": 12.5},
            {"gene": "TP53", "consequence": "splice", "origin": "germline", "oncogenic": True},
        ],
        "copy_number": [{"gene": "ERBB2", "call": "amplification", "copies": 12}],
        "fusions": [{"five_prime": "EML4", "three_prime": "ALK"}, {"three_prime": "ROS1"}],
        "expression": [{"gene": "KIT", "assay": "IHC", "result": "positive"}],
        "tmb": 12.5,
        "msi": "MSI-H",
        "mmr": "dMMR",
        "hrd": "positive",
        "hrd_score": 42,
        "pdl1_tps": 60,
        "pdl1_cps": 5,
        "pdl1_ic": 1,
        "her2_ihc": "2+",
        "her2_ish_ratio": 1.5,
    }
    profile = Patient.from_json(data)
    assert profile.as_json() == data
    assert Patient.from_json(profile.as_json()) == profile
    assert profile.variants is not None
    assert profile.variants[0].effective_consequence == "missense"


@pytest.mark.parametrize(
    ("data", "path", "message", "expected"),
    [
        ({}, "$.id", "required field missing", "identifier"),
        ({"id": "P1", "tmb": "high"}, "$.tmb", "is not of type 'number'", "mutations per megabase"),
        ({"id": "P1", "tmb": -1}, "$.tmb", "minimum", "0 or more"),
        ({"id": "P1", "her2_ihc": "4+"}, "$.her2_ihc", "is not one of", "0, 1+, 2+ or 3+"),
        ({"id": "P1", "sex": "F"}, "$.sex", "is not one of", "female, male or unknown"),
        (
            {"id": "P1", "variants": [{"gene": "EGFR", "protien_change": "p.L858R"}]},
            "$.variants[0].protien_change",
            "unknown field",
            "protein_change",
        ),
        (
            {"id": "P1", "variants": [{"gene": "EGFR", "protein_change": "c.2573T>G"}]},
            "$.variants[0].protein_change",
            "a cDNA",
            "p.V600E",
        ),
        (
            {"id": "P1", "variants": [{"protein_change": "p.L858R"}]},
            "$.variants[0].gene",
            "required field missing",
            "HGNC symbol",
        ),
        ({"id": "P1", "fusions": [{}]}, "$.fusions[0]", "should be non-empty", "partner"),
        ({"id": "P1", "age": float("nan")}, "$.age", "not a finite number", "finite"),
        ([], "$", "is not of type 'object'", "tumour profile"),
    ],
)
def test_patient_errors_name_the_path_and_what_was_expected(
    data: Any, path: str, message: str, expected: str
) -> None:
    with pytest.raises(PatientError) as caught:
        Patient.from_json(data)
    error = caught.value
    assert error.path == path
    assert message in error.message
    assert expected in error.expected
    assert str(error).startswith(f"{path}: ")


def test_patient_file_errors_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "p.json"
    good.write_text(json.dumps({"id": "P9", "oncotree_code": "luad", "variants": [EGFR_L858R]}))
    assert load_patient_file(good).oncotree_code == "LUAD"
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "P9",\n "tmb": }')
    with pytest.raises(PatientError, match=r"bad\.json: \$: not JSON: .* line 2, column 9"):
        load_patient_file(bad)
    nan = tmp_path / "nan.json"
    nan.write_text('{"id": "P9", "tmb": NaN}')
    with pytest.raises(PatientError, match="NaN is not a number JSON allows"):
        load_patient_file(nan)
    typo = tmp_path / "typo.json"
    typo.write_text('{"id": "P9", "tmb": "12"}')
    with pytest.raises(PatientError) as caught:
        load_patient_file(typo)
    assert (caught.value.source, caught.value.path) == (str(typo), "$.tmb")


# --- MAF -----------------------------------------------------------------------------------------

MAF_HEADER = [
    "Hugo_Symbol",
    "Variant_Classification",
    "Tumor_Sample_Barcode",
    "HGVSp_Short",
    "Exon_Number",
    "t_alt_count",
    "t_depth",
]


def write_maf(path: Path, rows: list[list[str]], header: list[str] = MAF_HEADER) -> Path:
    lines = ["#version 2.4", "#annotated by a test", "\t".join(header)]
    lines += ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


MAF_ROWS = [
    ["EGFR", "Missense_Mutation", "S1", "p.L858R", "21/28", "30", "100"],
    ["EGFR", "In_Frame_Del", "S1", "p.E746_A750del", "19/28", "10", "80"],
    ["TP53", "Splice_Site", "S1", "p.X125_splice", "4/11", "", ""],
    ["KRAS", "Silent", "S1", "p.G12=", "2/6", "", ""],
    ["BRCA2", "Frame_Shift_Del", "S1", "p.S1982Rfs*22", "11/27", "", ""],
]


def test_maf_and_clinical_json_make_a_patient(tmp_path: Path, matcher: Matcher) -> None:
    maf = write_maf(tmp_path / "tumour.maf", MAF_ROWS)
    clinical = tmp_path / "clinical.json"
    clinical.write_text(json.dumps({"id": "P7", "oncotree_code": "LUAD", "age": 70, "tmb": 3}))
    profile = read_maf(maf, clinical)
    assert profile.variants is not None
    assert [v.as_json() for v in profile.variants] == [
        {
            "gene": "EGFR",
            "protein_change": "p.Leu858Arg",
            "consequence": "missense",
            "exon": 21,
            "vaf": 30,
        },
        {
            "gene": "EGFR",
            "protein_change": "p.Glu746_Ala750del",
            "consequence": "inframe_deletion",
            "exon": 19,
            "vaf": 12.5,
        },
        {"gene": "TP53", "consequence": "splice", "exon": 4},
        {"gene": "BRCA2", "protein_change": "p.Ser1982fs", "consequence": "frameshift", "exon": 11},
    ]
    assert Patient.from_json(profile.as_json()) == profile
    result = matcher.match(profile)
    assert assertion_ids(result)[:3] == ["AS-00001", "AS-00002", "AS-00003"]
    explanation = result.therapies[0].explanation
    assert explanation.result is True
    assert leaf(explanation, "EGFR exon 19 in-frame deletion").reason == (
        "patient has EGFR p.Glu746_Ala750del in exon 19, an in-frame deletion"
    )


def test_maf_errors_are_located(tmp_path: Path) -> None:
    bad_change = write_maf(
        tmp_path / "a.maf", [["EGFR", "Missense_Mutation", "S1", "p.L858", "21/28", "", ""][:4]]
    )
    bad_change.write_text(bad_change.read_text().replace("p.L858", "c.2573T>G"))
    with pytest.raises(MafError) as caught:
        read_maf_variants(bad_change)
    assert (caught.value.line, caught.value.column) == (4, "HGVSp_Short (column 4)")
    assert str(caught.value).startswith(f"{bad_change}: line 4, column HGVSp_Short (column 4): ")

    unknown = write_maf(tmp_path / "b.maf", [["EGFR", "Weird_Class", "S1", "p.L858R"]])
    with pytest.raises(MafError, match=r"line 4, column Variant_Classification .*'Weird_Class'"):
        read_maf_variants(unknown)

    no_column = write_maf(tmp_path / "c.maf", [["EGFR", "p.L858R"]], ["Hugo_Symbol", "HGVSp"])
    with pytest.raises(MafError, match=r"missing column.*Variant_Classification"):
        read_maf_variants(no_column)

    exon = write_maf(tmp_path / "d.maf", [["EGFR", "Missense_Mutation", "S1", "p.L858R", "x/28"]])
    with pytest.raises(MafError, match="line 4, column Exon_Number"):
        read_maf_variants(exon)


def test_maf_with_several_samples_needs_one_named(tmp_path: Path) -> None:
    maf = write_maf(
        tmp_path / "two.maf",
        [
            ["EGFR", "Missense_Mutation", "S1", "p.L858R", "21/28", "", ""],
            ["KRAS", "Missense_Mutation", "S2", "p.G12C", "2/6", "", ""],
        ],
    )
    with pytest.raises(MafError, match="2 samples"):
        read_maf_variants(maf)
    assert [v["gene"] for v in read_maf_variants(maf, sample="S2")] == ["KRAS"]
    clinical = tmp_path / "clinical.json"
    clinical.write_text(json.dumps({"id": "P8", "sample": "S1", "oncotree_code": "LUAD"}))
    profile = read_maf(maf, clinical)
    assert profile.variants is not None and [v.gene for v in profile.variants] == ["EGFR"]
    clinical.write_text(json.dumps({"id": "P8", "sample": "S3"}))
    with pytest.raises(MafError, match="no rows for sample 'S3'"):
        read_maf(maf, clinical)


# --- properties ----------------------------------------------------------------------------------

_GENES = ["EGFR", "KRAS", "NRAS", "BRAF", "IDH1", "BRCA1", "BRCA2", "ERBB2", "PIK3CA", "KIT",
          "PDGFRA", "FLT3", "RET", "MET", "ALK", "TP53", "HER2"]  # fmt: skip
_CHANGES = ["p.L858R", "p.G12C", "p.G12D", "p.V600E", "p.V600K", "p.R132H", "p.T790M",
            "p.E746_A750del", "p.D770_N771insG", "p.Q1756fs", "p.D842V", "p.Q61*", "p.R100=",
            "p.E545K", "p.Arg132Cys"]  # fmt: skip
_CODES = ["LUAD", "NSCLC", "COAD", "COADREAD", "IDC", "BRCA", "AML", "CML", "THPA", "ANGS",
          "GIST", "UCEC", "HGSOC", "PRAD", "PAAD", "MEL", "STAD", "NOTACODE"]  # fmt: skip

_variant = st.fixed_dictionaries(
    {"gene": st.sampled_from(_GENES)},
    optional={
        "protein_change": st.sampled_from(_CHANGES),
        "origin": st.sampled_from(["somatic", "germline", "unknown"]),
        "consequence": st.sampled_from(
            ["missense", "nonsense", "frameshift", "inframe_deletion", "splice", "exon_skipping"]
        ),
        "exon": st.integers(1, 30),
        "oncogenic": st.sampled_from([True, False, "unknown", None]),
        "vaf": st.floats(0, 100),
    },
)
_fusion = st.fixed_dictionaries(
    {},
    optional={
        "five_prime": st.sampled_from(["EML4", "ETV6", "KIF5B", "BCR", "CD74"]),
        "three_prime": st.sampled_from(["ALK", "NTRK3", "RET", "ROS1", "ABL1", "NTRK1"]),
    },
).filter(bool)
patients = st.fixed_dictionaries(
    {"id": st.just("H1")},
    optional={
        "oncotree_code": st.sampled_from(_CODES),
        "age": st.integers(0, 100),
        "sex": st.sampled_from(["female", "male", "unknown"]),
        "variants": st.lists(_variant, max_size=6),
        "copy_number": st.lists(
            st.fixed_dictionaries(
                {
                    "gene": st.sampled_from(_GENES),
                    "call": st.sampled_from(["amplification", "deletion", "gain"]),
                }
            ),
            max_size=3,
        ),
        "fusions": st.lists(_fusion, max_size=2),
        "expression": st.lists(
            st.fixed_dictionaries(
                {
                    "gene": st.sampled_from(["KIT", "ERBB2", "CD274"]),
                    "assay": st.sampled_from(["IHC", "ISH"]),
                    "result": st.sampled_from(["positive", "negative"]),
                }
            ),
            max_size=2,
        ),
        "tmb": st.floats(0, 60),
        "msi": st.sampled_from(["MSI-H", "MSI-L", "MSS"]),
        "mmr": st.sampled_from(["dMMR", "pMMR"]),
        "pdl1_tps": st.integers(0, 100),
        "pdl1_cps": st.integers(0, 100),
        "her2_ihc": st.sampled_from(["0", "1+", "2+", "3+"]),
        "her2_ish_ratio": st.floats(0, 10),
    },
)


@pytest.fixture(scope="module")
def all_open_json(trial_json: dict[str, Any]) -> dict[str, Any]:
    """Every demo trial recruiting (one arm still suspended), so that every arm is indexed."""
    data = copy.deepcopy(trial_json)
    for entry in data["records"]["trial"]:
        entry["fields"]["status"] = "RECRUITING"
    return data


@settings(max_examples=150, deadline=None)
@given(data=patients)
def test_matching_never_raises_and_agrees_with_explain(
    all_open_json: dict[str, Any], data: dict[str, Any]
) -> None:
    trial_json = all_open_json
    trials = _trial_matcher(trial_json)
    profile = Patient.from_json(data)
    result = trials.match(profile)
    json.dumps(result.as_json())
    result.text()
    # The index must never hide a rule: match == every open rule whose explanation is true.
    expected_assertions = sorted(
        entry["id"]
        for entry in trial_json["records"]["assertion"]
        if trials.explain(profile, entry["id"]).result is True
    )
    assert sorted(assertion_ids(result)) == expected_assertions
    expected_arms = sorted(
        entry["id"]
        for entry in trial_json["records"]["trial_arm"]
        if trials.explain(profile, entry["id"]).result is True
    )
    assert sorted(m.arm_id for m in result.trials) == expected_arms
    for match in result.therapies:
        assert match.tumour.result is True and match.explanation.result is True


_matchers: dict[int, Matcher] = {}


def _trial_matcher(data: dict[str, Any]) -> Matcher:
    # Hypothesis calls the test many times; build once per snapshot object.
    key = id(data)
    if key not in _matchers:
        _matchers[key] = Matcher.from_snapshot(data)
    return _matchers[key]


@settings(max_examples=40, deadline=None)
@given(data=patients, extra=st.integers(1, 36), use_or=st.booleans())
def test_an_and_leg_never_adds_a_match_and_an_or_leg_never_removes_one(
    kb_json: dict[str, Any], data: dict[str, Any], extra: int, use_or: bool
) -> None:
    profile = Patient.from_json(data)
    before = set(assertion_ids(_trial_matcher(kb_json).match(profile)))
    changed = copy.deepcopy(kb_json)
    leg = {"biomarker": f"BM-{extra:05d}"}
    op = "OR" if use_or else "AND"
    for entry in changed["records"]["expression"]:
        entry["fields"]["tree"] = {"op": op, "args": [entry["fields"]["tree"], leg]}
    after = set(assertion_ids(Matcher.from_snapshot(changed).match(profile)))
    if use_or:
        assert before <= after
    else:
        assert after <= before


def test_the_exon_map_places_a_protein_change_with_no_exon_given(matcher: Matcher) -> None:
    deletion = {"gene": "EGFR", "protein_change": "p.E746_A750del"}
    result = matcher.match(patient(oncotree_code="LUAD", variants=[deletion]))
    assert assertion_ids(result)[:3] == ["AS-00001", "AS-00002", "AS-00003"]
    node = leaf(result.therapies[0].explanation, "EGFR exon 19 in-frame deletion")
    assert node.reason == (
        "patient has EGFR p.Glu746_Ala750del in exon 19 (codons 729-761 of NM_005228.5), by the "
        "KB's exon map, an in-frame deletion"
    )


@pytest.mark.parametrize(
    ("variant", "value", "reason"),
    [
        (
            {"gene": "EGFR", "protein_change": "p.L858R"},
            False,
            "EGFR p.Leu858Arg lies outside exon 19 (codons 729-761 of NM_005228.5)",
        ),
        (
            {"gene": "EGFR", "protein_change": "p.P753_E763del"},
            None,
            "EGFR p.Pro753_Glu763del crosses the edge of exon 19 (codons 729-761 of "
            "NM_005228.5) (unknown)",
        ),
        (
            {"gene": "EGFR", "protein_change": "p.E746_A750del", "exon": 20},
            None,
            "the patient file puts EGFR p.Glu746_Ala750del in exon 20, but the KB's exon map "
            "(NM_005228.5) places it in exon 19: check the report (unknown)",
        ),
        (
            {"gene": "EGFR", "protein_change": "p.E746_A750del", "exon": 19},
            True,
            "patient has EGFR p.Glu746_Ala750del in exon 19, an in-frame deletion",
        ),
    ],
)
def test_exon_placement_is_three_valued_and_cross_checks_the_patient_file(
    matcher: Matcher, variant: dict[str, Any], value: bool | None, reason: str
) -> None:
    profile = patient(oncotree_code="LUAD", variants=[variant])
    node = leaf(matcher.explain(profile, "AS-00001"), "EGFR exon 19 in-frame deletion")
    assert (node.result, node.reason) == (value, reason)


def test_without_an_exon_map_the_exon_is_unknown_unless_the_biomarker_gives_codons(
    kb_json: dict[str, Any],
) -> None:
    data = copy.deepcopy(kb_json)
    data["records"]["exon_map"] = []
    deletion = {"gene": "EGFR", "protein_change": "p.E746_A750del"}
    profile = patient(oncotree_code="LUAD", variants=[deletion])
    unmapped = Matcher.from_snapshot(data)
    assert assertion_ids(unmapped.match(profile)) == []
    node = leaf(unmapped.explain(profile, "AS-00001"), "EGFR exon 19 in-frame deletion")
    assert node.reason == (
        "exon of EGFR p.Glu746_Ala750del not given and the KB has no exon map of EGFR (unknown)"
    )
    fields_of(data, "biomarker", "BM-00002").update(codon_start=729, codon_end=761)
    result = Matcher.from_snapshot(data).match(profile)
    assert assertion_ids(result)[:3] == ["AS-00001", "AS-00002", "AS-00003"]
    node = leaf(result.therapies[0].explanation, "EGFR exon 19 in-frame deletion")
    assert node.reason == (
        "patient has EGFR p.Glu746_Ala750del at codons 729-761, an in-frame deletion"
    )


def test_a_broken_exon_map_is_refused_by_name(kb_json: dict[str, Any]) -> None:
    data = copy.deepcopy(kb_json)
    data["records"]["exon_map"][0]["fields"]["exons"] = ["19: 729-761", "20: 700-823"]
    with pytest.raises(MatcherError, match="exon map EM-00001: exon 20 starts at codon 700"):
        Matcher.from_snapshot(data)


def test_germline_predisposition_is_reported_for_germline_findings_only(
    matcher: Matcher, kb_json: dict[str, Any]
) -> None:
    """The demo's hereditary breast and ovarian cancer assertion: a germline BRCA2 frameshift
    in a pancreatic cancer patient matches it, classified and with its syndrome; the same
    variant found in the tumour only does not."""
    (hboc,) = (
        entry["id"]
        for entry in kb_json["records"]["assertion"]
        if entry["fields"]["implication"] == "predisposing"
    )
    frameshift = {"gene": "BRCA2", "protein_change": "p.Ser1982ArgfsTer22"}
    germline = matcher.match(
        patient(oncotree_code="PAAD", variants=[{**frameshift, "origin": "germline"}])
    )
    (match,) = (m for m in germline.therapies if m.assertion_id == hboc)
    assert match.therapy is None and match.evidence_level is None
    assert match.germline == {
        "pathogenicity": "pathogenic",
        "inheritance": "autosomal_dominant",
        "syndrome": "Hereditary breast and ovarian cancer syndrome (DOID:5683)",
    }
    assert match.as_json()["germline"]["syndrome"].startswith("Hereditary breast")
    assert f"{hboc}  pathogenic  predisposing (Hereditary breast" in germline.text()
    somatic = matcher.match(patient(oncotree_code="PAAD", variants=[frameshift]))
    assert hboc not in assertion_ids(somatic)


# --- tests to order (issue 14 item 3) ------------------------------------------------------------


def test_untested_egfr_and_alk_make_first_line_pembrolizumab_possible(matcher: Matcher) -> None:
    """PD-L1 TPS 75 % in NSCLC, a file that never mentions EGFR or ALK: pembrolizumab is not
    matched, but listed as possible with the three tests that decide it, each needed negative."""
    result = matcher.match(patient(oncotree_code="NSCLC", pdl1_tps=75))
    assert "AS-00039" not in assertion_ids(result)
    possible = {m.assertion_id: m for m in result.possible_therapies}
    pembro = possible["AS-00039"]
    assert pembro.therapy is not None and pembro.therapy.name == "Pembrolizumab"
    assert pembro.explanation.result is None
    tests = {t.name: t for t in pembro.tests_to_order}
    assert set(tests) == {"EGFR exon 19 in-frame deletion", "EGFR L858R", "ALK fusion"}
    assert {t.needed for t in tests.values()} == {"negative"}
    assert tests["ALK fusion"].missing == "fusions"
    assert tests["EGFR L858R"].missing == "variants"
    assert "fusion testing" in tests["ALK fusion"].test
    assert tests["ALK fusion"].specimen == "tissue"
    # The threshold that already holds travels as a validation requirement, with its assay.
    (threshold,) = pembro.thresholds
    assert threshold.assay == "PD-L1 IHC 22C3 pharmDx" and threshold.specimen == "tissue"
    assert any(a.cdx == "PD-L1 IHC 22C3 pharmDx" for a in pembro.approvals)

    data = result.as_json()
    entry = next(e for e in data["possible_therapies"] if e["assertion"] == "AS-00039")
    assert {t["needed"] for t in entry["tests_to_order"]} == {"negative"}
    assert entry["validation"]["thresholds"][0]["assay"] == "PD-L1 IHC 22C3 pharmDx"
    assert entry["validation"]["cdx"] == "PD-L1 IHC 22C3 pharmDx"
    assert {"agency", "date", "indication", "cdx"} <= set(entry["validation"]["approvals"][0])
    text = result.text()
    assert "Possible with tests (" in text
    assert "order: ALK fusion: ALK fusion testing" in text
    assert "needs negative; patient file has no fusions" in text
    assert "threshold CD274 TPS >= 50% by PD-L1 IHC 22C3 pharmDx on tissue" in text


def test_tested_negative_turns_possible_into_a_match(matcher: Matcher) -> None:
    tested = matcher.match(patient(oncotree_code="NSCLC", pdl1_tps=75, variants=[], fusions=[]))
    assert "AS-00039" in assertion_ids(tested)
    assert "AS-00039" not in [m.assertion_id for m in tested.possible_therapies]
    (match,) = [m for m in tested.therapies if m.assertion_id == "AS-00039"]
    assert match.tests_to_order == () and not match.possible
    # A PD-L1 below the threshold is a definite no, whatever EGFR and ALK turn out to be.
    low = matcher.match(patient(oncotree_code="NSCLC", pdl1_tps=20))
    assert "AS-00039" not in [m.assertion_id for m in low.possible_therapies]
    # An EGFR driver found rules it out too.
    driver = matcher.match(
        patient(
            oncotree_code="NSCLC",
            pdl1_tps=75,
            variants=[{"gene": "EGFR", "protein_change": "p.L858R"}],
        )
    )
    assert "AS-00039" not in [m.assertion_id for m in driver.possible_therapies]


def test_partly_tested_lists_only_the_missing_test(matcher: Matcher) -> None:
    result = matcher.match(patient(oncotree_code="NSCLC", pdl1_tps=75, variants=[]))
    pembro = next(m for m in result.possible_therapies if m.assertion_id == "AS-00039")
    assert [t.name for t in pembro.tests_to_order] == ["ALK fusion"]


def test_unknowns_a_test_would_not_settle_are_not_possible(matcher: Matcher) -> None:
    """An EGFR variant given without its protein change stays unknown after any new test:
    osimertinib is not offered as possible for it."""
    result = matcher.match(
        patient(oncotree_code="NSCLC", variants=[{"gene": "EGFR", "consequence": "missense"}])
    )
    assert "AS-00001" not in [m.assertion_id for m in result.possible_therapies]
    assert "AS-00001" not in assertion_ids(result)


def test_matched_therapies_carry_the_validation_requirements(matcher: Matcher) -> None:
    result = matcher.match(
        patient(oncotree_code="NSCLC", variants=[{"gene": "EGFR", "protein_change": "p.L858R"}])
    )
    first = next(m for m in result.as_json()["therapies"] if m["assertion"] == "AS-00001")
    validation = first["validation"]
    assert validation["cdx"] == "cobas EGFR Mutation Test v2"
    assert validation["confirmatory_test"]
    assert any(a["cdx"] == "cobas EGFR Mutation Test v2" for a in validation["approvals"])
    assert first["tests_to_order"] == []
    assert "approval FDA 2018-04-18: First-line metastatic NSCLC" in result.text()


def test_every_real_oncotree_code_is_a_valid_patient_tumour_type() -> None:
    # Real codes carry hyphens (HCL-V) and a slash (MDS/MPN); a patient with one must be read.
    import gzip
    import json

    from kb.vocab.bundled import ONCOTREE

    nodes = list(json.loads(gzip.decompress(ONCOTREE.read_bytes())).values())
    codes = []
    while nodes:
        node = nodes.pop()
        codes.append(node["code"])
        nodes.extend((node.get("children") or {}).values())
    assert {"HCL-V", "MDS/MPN"} <= set(codes)
    for code in codes:
        assert Patient.from_json({"id": "P1", "oncotree_code": code}).oncotree_code == code
