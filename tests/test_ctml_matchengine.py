"""Our CTML reading against MatchMiner's own: DFCI matchengine-V2's fixture trials
(tests/data/matchengine, Apache-2.0, see its NOTICE.md) imported as they are into a real KB,
released as a snapshot, and matched with our matcher, asserting what matchengine-V2's
integration tests (matchengine/tests/test_matchengine_integration.py) expect.

Those tests run against a MongoDB dump of ~1,400 patients we do not have; counts over that
population (e.g. "5 samples match 10-001", "48 trial_match rows") and run-log bookkeeping
cannot be computed here. What can: which trial (step, arm, dose level) a patient with the
clinical facts and alterations the assertions name matches, and how many of a trial's
criteria hold. Patients are built from the peer's clinical fixtures (birth dates of
clinical_csv/test_patients.csv, diagnoses and vital status the tests name) on the peer's frozen
date, 2000-07-12. Each assertion says which peer expectation it reproduces (PEER: ...).
docs/ctml.md lists where our reading deliberately differs.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.importing.civic import KbLookup
from kb.importing.ctml import ctml_adapter
from kb.matching.matcher import Matcher, MatchResult, Patient
from kb.model.enums import Role
from tests.conftest import demo_admin, load_full_vocabularies

FIXTURES = Path(__file__).parent / "data" / "matchengine"
TRIALS = FIXTURES / "integration_trials"
TODAY = dt.date(2000, 7, 12)  # matchengine-V2's tests freeze the clock here

# The KB keys trials by NCT id; MatchMiner's fixtures carry protocol numbers only. The KB's
# trials carry these protocol numbers (seeded below, as a curator or the registry sync records
# them), so the fixtures import as they are and find their trials.
PROTOCOLS = {
    "10-000": "NCT90000000",
    "10-001": "NCT90000001",
    "10-002": "NCT90000002",
    "10-003": "NCT90000003",
    "10-004": "NCT90000004",
    "10-005": "NCT90000005",
    "10-006": "NCT90000006",
    "10-007": "NCT90000007",
    "18-0000": "NCT90000018",
    "99-9999": "NCT90000099",
    "11-111": "NCT90000111",
    "22-222": "NCT90000222",
    "11-113": "NCT90000113",
}
# Fixtures our reading refuses, each with a located error (docs/ctml.md says why).
REFUSED = {
    # "or" over clinical criteria with different ages, a her2_status of false, hugo_symbol 1,
    # "BRCA"/"ALK1" (not HGNC symbols), "Low Amplification": the peer's query-builder stress
    # test; its test only prints a count.
    "massive_match_clause.json": "treatment_list.step[0].arm[0].match[0].and[0].or",
    # No protocol_no and no nct_id: nothing names the trial (the peer's loader test reads it
    # by file name); ctml_adapter(..., nct_id=...) gives it one (test below).
    "11-112.json": "nct_id",
}


# --- a KB holding the fixtures -------------------------------------------------------------------


class _Kb:
    def __init__(self, kb: Any) -> None:
        from kb.review.users import add_user

        self.kb = kb
        with kb.unit_of_work() as session:
            admin = demo_admin(session)
            self.curator = add_user(
                session, actor=admin, name="cara", role=Role.CURATOR, password="cara-pass-1"
            )
            self.reviewer = add_user(
                session, actor=admin, name="rita", role=Role.REVIEWER, password="rita-pass-1"
            )

    def preview(self, path: Path, **options: Any) -> Any:
        from kb.importing.engine import preview

        with self.kb.read() as session:
            lookup = KbLookup.from_session(session)
            return preview(ctml_adapter(path, lookup=lookup, **options), session)

    def merge(self, path: Path, **options: Any) -> Any:
        from kb.importing.engine import apply
        from kb.review.changes import approve_change_set, submit_change_set

        result = self.preview(path, **options)
        assert result.invalid == 0, [str(e) for e in result.errors]
        with self.kb.unit_of_work() as session:
            change_set = apply(
                result, session, actor=self.curator, skip_invalid=False, source_name=path.name
            )
        if change_set is None:
            return result  # nothing new: the KB holds the document already
        with self.kb.unit_of_work() as session:
            submit_change_set(session, actor=self.curator, change_set_id=change_set)
        with self.kb.unit_of_work() as session:
            approve_change_set(session, actor=self.reviewer, change_set_id=change_set)
        return result

    def matcher(self, *, include_closed: bool = False) -> Matcher:
        from kb.storage.snapshot import build_snapshot

        with self.kb.read() as session:
            data = build_snapshot(session).as_json()
        return Matcher.from_snapshot(data, include_closed=include_closed)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[_Kb]:
    from kb.storage.db import open_kb

    folder = tmp_path_factory.mktemp("matchengine")
    path = folder / "kb.sqlite"
    shutil.copyfile(demo_template, path)
    opened = open_kb(f"sqlite:///{path}")
    load_full_vocabularies(opened)
    wrapped = _Kb(opened)
    # The trials as the KB knows them before any CTML arrives: NCT id, title, phase and the
    # sponsor's protocol number (what `kb trials sync` and a curator record).
    seeds = [
        {
            "nct_id": nct,
            "protocol_no": protocol,
            "long_title": f"MatchMiner fixture {protocol}",
            "phase": "I",
            "status": "open to accrual",
            "treatment_list": {"step": []},
        }
        for protocol, nct in PROTOCOLS.items()
    ]
    seed_file = folder / "seeds.json"
    seed_file.write_text(json.dumps(seeds), encoding="utf-8")
    wrapped.merge(seed_file)
    yield wrapped
    opened.close()


# --- every fixture imports as it is ----------------------------------------------------------


ALL_FIXTURES = sorted(p for p in FIXTURES.rglob("*.json"))


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_every_fixture_trial_imports_as_it_is(kb: _Kb, path: Path) -> None:
    result = kb.preview(path)
    if path.name in REFUSED:
        assert result.invalid == 1
        assert REFUSED[path.name] in {e.location.column for e in result.errors}
        return
    assert result.invalid == 0, [str(e) for e in result.errors]
    assert len(result.rows) == (2 if path.name == "two_trials_one_doc.json" else 1)


def test_a_trial_named_by_nothing_takes_the_nct_id_it_is_given(kb: _Kb, tmp_path: Path) -> None:
    """11-112.json names no trial; given its NCT id it imports onto that KB trial (here one
    the registry sync created: CTML carries no title or phase for a new one, docs/ctml.md)."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "nct_id": "NCT90000112",
                "long_title": "MatchMiner fixture 11-112",
                "phase": "I",
                "status": "open to accrual",
                "treatment_list": {"step": []},
            }
        ),
        encoding="utf-8",
    )
    kb.merge(seed)
    path = FIXTURES / "trials" / "11-112.json"
    result = kb.preview(path, nct_id="NCT90000112")
    assert result.invalid == 0, [str(e) for e in result.errors]
    assert kb.preview(path).invalid == 1


# --- matching ------------------------------------------------------------------------------------


def _patient(**fields: Any) -> Patient:
    return Patient.from_json({"id": "p", **fields}, today=TODAY)


# clinical_csv/test_patients.csv: clark kent, born 1919-10-27; louis lane, born 1900-10-27.
CLARK, LOUIS = "1919-10-27", "1900-10-27"
EGFR_DEL = {"gene": "EGFR", "protein_change": "p.E746_A750del"}
NSCLC_EGFR = {"oncotree_code": "NSCLC", "birth_date": CLARK, "variants": [EGFR_DEL]}
PPB_EGFR = {"oncotree_code": "PPB", "birth_date": LOUIS, "variants": [EGFR_DEL]}


def _arms(result: MatchResult, protocol: str) -> set[str]:
    nct = PROTOCOLS[protocol]
    return {match.arm_code for match in result.trials if match.nct_id == nct}


@pytest.fixture(scope="module")
def suspension(kb: _Kb) -> tuple[Matcher, Matcher]:
    for name in ("all_closed", "all_open", "closed_dose", "closed_step_arm"):
        kb.merge(TRIALS / f"{name}.json")
    return kb.matcher(), kb.matcher(include_closed=True)


def test_match_on_closed_every_trial_matches(suspension: tuple[Matcher, Matcher]) -> None:
    """PEER test__match_on_deceased_match_on_closed / test_match_on_individual_sample: with
    closed steps, arms and levels counted, the NSCLC EGFR in-frame deletion sample matches
    10-001, 10-002, 10-003 and 10-004 (once each: one sample per trial)."""
    _, with_closed = suspension
    result = with_closed.match(_patient(**NSCLC_EGFR))
    for protocol in ("10-001", "10-002", "10-003", "10-004"):
        # The arm (NSCLC) and the step (Lung, an ancestor of NSCLC) match; the dose level
        # (pleuropulmonary blastoma) does not.
        assert _arms(result, protocol) == {"ARM 1", "step 1"}, protocol


def test_closed_steps_arms_and_levels_match_no_one(suspension: tuple[Matcher, Matcher]) -> None:
    """PEER test__match_on_deceased (match_on_closed False): 10-002, 10-003 and 10-004 still
    have matches. Each level is closed by its own flag: in 10-003 (dose level closed) the arm
    and step stay open; in 10-004 (arm closed) the dose level stays open, and the step closes
    because both its arms are closed."""
    open_only, _ = suspension
    nsclc = open_only.match(_patient(**NSCLC_EGFR))
    ppb = open_only.match(_patient(**PPB_EGFR))
    assert _arms(nsclc, "10-002") == {"ARM 1", "step 1"}
    assert _arms(nsclc, "10-003") == {"ARM 1", "step 1"}
    assert _arms(ppb, "10-002") == {"ARM 1 / LEVEL 1", "step 1"}
    assert _arms(ppb, "10-003") == {"step 1"}  # its dose level is closed
    assert _arms(ppb, "10-004") == {"ARM 1 / LEVEL 1"}  # the open dose level of a closed arm
    assert _arms(nsclc, "10-004") == set()
    assert _arms(nsclc, "10-001") == _arms(ppb, "10-001") == set()  # everything closed


def test_a_deceased_patient_matches_no_trial(suspension: tuple[Matcher, Matcher]) -> None:
    """PEER test__match_on_closed (match_on_deceased False): each of the four trials loses
    one of its five samples, the deceased one, who matches none of them."""
    _, with_closed = suspension
    alive = with_closed.match(_patient(**NSCLC_EGFR, vital_status="alive"))
    dead = with_closed.match(_patient(**NSCLC_EGFR, vital_status="deceased"))
    assert len(alive.trials) == 8
    assert dead.trials == [] and dead.trials_to_review == []
    assert "deceased" in " ".join(dead.warnings)


def test_every_level_with_criteria_is_matched(suspension: tuple[Matcher, Matcher]) -> None:
    """PEER test_visualize_match_paths: 10-001 has match trees at step 112, arms 212 and 222
    and dose level 312. Ours: the step, ARM 1 and its dose level; ARM 2 (222), whose match is
    empty, can match no one in either reading and is no KB arm."""
    _, with_closed = suspension
    codes = {
        trial_arm.arm_code
        for patient in (NSCLC_EGFR, PPB_EGFR)
        for trial_arm in with_closed.match(_patient(**patient)).trials
        if trial_arm.nct_id == PROTOCOLS["10-001"]
    }
    assert codes == {"step 1", "ARM 1", "ARM 1 / LEVEL 1"}


def test_a_wildcard_protein_change_is_any_change_at_the_codon(kb: _Kb) -> None:
    """PEER test_wildcard_protein_change: samples with BRAF p.V600 changes match 10-005."""
    kb.merge(TRIALS / "wildcard_protein_found.json")
    kb.merge(TRIALS / "wildcard_protein_not_found.json")
    matcher = kb.matcher()
    for change in ("p.V600E", "p.V600K", "p.V600_K601delinsE"):
        result = matcher.match(_patient(variants=[{"gene": "BRAF", "protein_change": change}]))
        assert _arms(result, "10-005") == {"step 1"}, change
        assert _arms(result, "10-006") == set()
    # Deliberate difference (docs/ctml.md): a synonymous p.V600V is no V600 mutation here.
    synonymous = matcher.match(_patient(variants=[{"gene": "BRAF", "protein_change": "p.V600V"}]))
    assert _arms(synonymous, "10-005") == set()


def _satisfied(result: MatchResult, protocol: str) -> int:
    (match,) = [m for m in result.trials if m.nct_id == PROTOCOLS[protocol]]
    assert match.explanation is not None and match.explanation.node == "OR"
    return sum(1 for node in match.explanation.args if node.result is True)


@pytest.mark.parametrize(("tmb", "clauses"), [(20, 4), (12, 3), (40, 4)])
def test_tmb_clauses(kb: _Kb, tmb: int, clauses: int) -> None:
    """PEER test_tmb: the three samples satisfy 4, 3 and 4 of the five TMB clauses (>=10,
    >15, <=40, <40, ==40). The dump's TMB values are not in the repository; 20, 12 and 40
    mut/Mb are values giving exactly those counts, so the thresholds are read as the peer's."""
    kb.merge(TRIALS / "tmb.json")
    result = kb.matcher().match(_patient(tmb=tmb))
    assert _satisfied(result, "99-9999") == clauses


@pytest.mark.parametrize(
    "fusion", [{"five_prime": "EGFR"}, {"three_prime": "EGFR"}], ids=["5'", "3'"]
)
def test_an_unstructured_structural_variant(kb: _Kb, fusion: dict[str, str]) -> None:
    """PEER test_unstructured_sv: an "EGFR Structural Variation" with no partner matches the
    arm once, whichever side EGFR is on."""
    kb.merge(TRIALS / "unstructured_sv.json")
    result = kb.matcher().match(_patient(fusions=[fusion]))
    matches = [m for m in result.trials if m.nct_id == PROTOCOLS["10-005"]]
    assert [m.arm_code for m in matches] == ["DOSE"]


def test_age_is_compared_on_birth_dates_as_the_peer_does(kb: _Kb) -> None:
    """older_than_18 / younger_than_18 (no assertion in the peer's tests; its query compares the
    birth date with the day 18 years ago, so ">18" holds from the 18th birthday on)."""
    kb.merge(TRIALS / "older_than_18.json")
    older = kb.matcher()
    eighteen_today = "1982-07-12"
    eighteen_tomorrow = "1982-07-13"
    assert _arms(older.match(_patient(birth_date=eighteen_today)), "18-0000") == {"DOSE"}
    assert _arms(older.match(_patient(birth_date=eighteen_tomorrow)), "18-0000") == set()
    kb.merge(TRIALS / "younger_than_18.json")
    younger = kb.matcher()
    assert _arms(younger.match(_patient(birth_date=eighteen_tomorrow)), "18-0000") == {"DOSE"}
    assert _arms(younger.match(_patient(birth_date=eighteen_today)), "18-0000") == set()
    assert _arms(younger.match(_patient(age=17)), "18-0000") == {"DOSE"}


# --- structural variants, signatures (the peer's structured_sv and signatures trials are not in
# the repository snapshot we read: these documents carry the criteria its assertions name) -----


def _document(protocol: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "protocol_no": protocol,
        "status": "open to accrual",
        "treatment_list": {
            "step": [
                {
                    "step_code": "1",
                    "arm": [
                        {
                            "arm_code": "ARM",
                            "arm_internal_id": 100 + index,
                            "arm_suspended": "N",
                            "match": [node],
                        }
                        for index, node in enumerate(nodes)
                    ],
                }
            ]
        },
    }


SV = "Structural Variation"


def test_structural_variants_either_orientation_any_gene_and_partner_only(
    kb: _Kb, tmp_path: Path
) -> None:
    document = _document(
        "99-9999",
        {"genomic": {"hugo_symbol": "ALK", "variant_category": SV,
                     "fusion_partner_hugo_symbol": "KIF5B"}},
        {"not": {"genomic": {"hugo_symbol": "CLIP4", "variant_category": SV,
                             "fusion_partner_hugo_symbol": "ALK"}}},
        {"genomic": {"hugo_symbol": "any_gene", "variant_category": SV,
                     "fusion_partner_hugo_symbol": "KRAS"}},
        {"genomic": {"fusion_partner_hugo_symbol": "NPM1", "variant_category": SV}},
        {"genomic": {"hugo_symbol": "STRN", "variant_category": SV,
                     "fusion_partner_hugo_symbol": "intergenic"}},
    )  # fmt: skip
    path = tmp_path / "structured_sv.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    kb.merge(path)  # arms share the code "ARM": told apart by arm_internal_id
    matcher = kb.matcher()

    def arms(five: str, three: str) -> set[str]:
        fusion = {"five_prime": five, "three_prime": three}
        return _arms(matcher.match(_patient(fusions=[fusion])), "99-9999")

    # KIF5B-ALK and ALK-KIF5B both count (the peer: 2 matches each way).
    assert "ARM #100" in arms("KIF5B", "ALK") and "ARM #100" in arms("ALK", "KIF5B")
    # NOT(CLIP4-ALK) fails for CLIP4-ALK and for ALK-CLIP4 (peer: node 1234566 never matches
    # them) and holds for another fusion.
    assert "ARM #101" not in arms("CLIP4", "ALK") and "ARM #101" not in arms("ALK", "CLIP4")
    assert "ARM #101" in arms("TFG", "ALK")
    # any_gene-KRAS: KRAS with any partner, on either side.
    assert "ARM #102" in arms("EML4", "KRAS") and "ARM #102" in arms("KRAS", "EML4")
    # A node naming only the partner: that gene with any partner.
    assert "ARM #103" in arms("NPM1", "ALK") and "ARM #103" in arms("ALK", "NPM1")
    # STRN-intergenic: STRN with any partner (docs/ctml.md: the KB has no intergenic partner).
    assert "ARM #104" in arms("STRN", "ALK")


def test_signatures_and_mmr_are_patient_characteristics(kb: _Kb, tmp_path: Path) -> None:
    document = _document(
        "99-9999",
        {"genomic": {"tobacco_signature": "Yes", "variant_category": "Signature"}},
        {"genomic": {"temozolomide_signature": "No", "variant_category": "Signature"}},
        {"genomic": {"mmr_status": "MMR-Deficient"}},
        {"genomic": {"ms_status": "MSI-H"}},
    )
    path = tmp_path / "signatures.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    kb.merge(path)
    matcher = kb.matcher()
    patient = _patient(signatures={"tobacco": True, "temozolomide": False}, mmr="dMMR", msi="MSI-H")
    assert {"ARM #100", "ARM #101", "ARM #102", "ARM #103"} <= _arms(
        matcher.match(patient), "99-9999"
    )
    other = _patient(signatures={"tobacco": False}, mmr="pMMR", msi="MSS")
    assert _arms(matcher.match(other), "99-9999").isdisjoint(
        {"ARM #100", "ARM #101", "ARM #102", "ARM #103"}
    )


def test_arms_needing_an_unknown_signature_are_to_review(kb: _Kb, tmp_path: Path) -> None:
    """A patient whose signature results are unknown is not silently left out of the arms
    that need one: they are listed to review, saying which result is missing; an arm whose
    signature is known not to hold is not."""
    document = _document(
        "99-9998",
        {"genomic": {"tobacco_signature": "Yes", "variant_category": "Signature"}},
        {"genomic": {"temozolomide_signature": "No", "variant_category": "Signature"}},
    )
    path = tmp_path / "unknown-signatures.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    kb.merge(path, by_protocol=True)  # a trial the KB knows by its protocol number alone
    matcher = kb.matcher()

    def listed(result: MatchResult) -> tuple[set[str], set[str]]:
        def arms(matches: list[Any]) -> set[str]:
            return {m.arm_code for m in matches if m.protocol_no == "99-9998"}

        return arms(result.trials), arms(result.trials_to_review)

    unknown = matcher.match(_patient(oncotree_code="NSCLC"))
    assert listed(unknown) == (set(), {"ARM #100", "ARM #101"})
    [review] = [
        m
        for m in unknown.trials_to_review
        if m.arm_code == "ARM #100" and m.protocol_no == "99-9998"
    ]
    assert review.explanation is not None
    assert "no tobacco signature result given (unknown)" in "\n".join(review.explanation.lines())
    # Known: tobacco absent, so its arm is out; temozolomide still unknown, so to review.
    partial = matcher.match(_patient(oncotree_code="NSCLC", signatures={"tobacco": False}))
    assert listed(partial) == (set(), {"ARM #101"})
    known = matcher.match(
        _patient(oncotree_code="NSCLC", signatures={"tobacco": True, "temozolomide": False})
    )
    assert listed(known) == ({"ARM #100", "ARM #101"}, set())


def test_a_birth_date_that_disagrees_with_the_age_is_refused() -> None:
    from kb.matching.matcher import PatientError

    with pytest.raises(PatientError) as caught:
        _patient(age=30, birth_date=CLARK)
    assert caught.value.path == "$.age"
