"""CTML (MatchMiner trial markup) import on the real samples (../shared/data/ctml) and on JSON
and YAML documents written by the tests: trials, arms, dose levels, match trees, thresholds as
data, and errors located by JSON path."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kb.importing.civic import KbLookup
from kb.importing.ctml import ctml_adapter
from kb.importing.model import ProposedRecord, Ref, SourceError, SourceRow
from kb.model.enums import RecordType
from tests.conftest import (
    SHARED_DATA,
    load_full_vocabularies,
    require_shared,
)

TMB = SHARED_DATA / "ctml" / "tmb.json"
ALL_OPEN = SHARED_DATA / "ctml" / "all_open.json"

# OncoTree as the samples need it (names as MatchMiner writes them, codes as the KB stores them).
LOOKUP = KbLookup(
    genes={"EGFR": "EGFR", "KRAS": "KRAS", "ALK": "ALK", "EML4": "EML4", "ERBB2": "ERBB2"},
    tumour_codes=frozenset(
        {"LUNG", "NSCLC", "PPB", "COADREAD", "BRCA", "MEL", "YST", "OYST", "TYST"}
    ),
    tumour_names={
        "lung": ("LUNG",),
        "non-small cell lung cancer": ("NSCLC",),
        "pleuropulmonary blastoma": ("PPB",),
        "colorectal adenocarcinoma": ("COADREAD",),
        "melanoma": ("MEL",),
        "yolk sac tumor": ("OYST", "TYST"),
    },
)


def _only(rows: list[SourceRow]) -> SourceRow:
    (row,) = rows
    return row


def _of(row: SourceRow, rtype: RecordType) -> list[ProposedRecord]:
    return [record for record in row.records if record.rtype is rtype]


def _get(row: SourceRow, ref: Ref) -> ProposedRecord:
    return next(record for record in row.records if record.key == ref.key)


def _arms(row: SourceRow) -> dict[str, dict[str, Any]]:
    return {arm.fields["code"]: dict(arm.fields) for arm in _of(row, RecordType.TRIAL_ARM)}


def _leaf_text(row: SourceRow, tree: dict[str, Any]) -> Any:
    """A tree with its Ref leaves replaced by the proposed fields, for readable assertions."""
    if "op" in tree:
        return {tree["op"]: [_leaf_text(row, arg) for arg in tree["args"]]}
    biomarker = {k: v for k, v in _get(row, tree["biomarker"]).fields.items() if v is not None}
    biomarker.pop("origin")
    if "threshold" in tree:
        threshold = _get(row, tree["threshold"]).fields
        return (biomarker, f"{threshold['metric']} {threshold['operator']} {threshold['value']}")
    return biomarker


def _tree(row: SourceRow, arm: dict[str, Any]) -> Any:
    expression = arm["expression"]
    return None if expression is None else _leaf_text(row, _get(row, expression).fields["tree"])


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _doc(match: list[Any], **extra: Any) -> dict[str, Any]:
    """A minimal CTML trial with one arm holding `match`."""
    return {
        "nct_id": "NCT01234567",
        "long_title": "A test trial",
        "phase": "II",
        "status": "Open to Accrual",
        "treatment_list": {
            "step": [
                {"step_code": "1", "arm": [{"arm_code": "A", "arm_suspended": "N", "match": match}]}
            ]
        },
        **extra,
    }


# --- the real samples ----------------------------------------------------------------------------


def test_tmb_thresholds_are_data() -> None:
    # nct_ids: the adapter's own mapping of protocol numbers, for callers outside a KB.
    row = _only(list(ctml_adapter(require_shared(TMB), nct_ids={"99-9999": "NCT00000001"})))
    assert row.valid, row.errors
    thresholds = [dict(record.fields) for record in _of(row, RecordType.THRESHOLD)]
    assert {"metric": "TMB", "operator": ">=", "value": "10", "unit": "mut/Mb"} in thresholds
    assert [(t["operator"], t["value"]) for t in thresholds] == [
        (">=", "10"),
        (">", "15"),
        ("<=", "40"),
        ("<", "40"),
        ("==", "40"),
    ]
    (trial,) = _of(row, RecordType.TRIAL)
    assert trial.fields == {
        "nct_id": "NCT00000001",
        "protocol_no": "99-9999",
        "status": "RECRUITING",
    }
    arm = _arms(row)["DOSE"]
    assert arm["name"] == "DOSE: DOSE ESCALATION"
    assert arm["suspended"] is False and arm["trial"] == Ref(trial.key)
    tmb_high = {"kind": "characteristic", "characteristic": "TMB", "status": "high"}
    tmb_low = {"kind": "characteristic", "characteristic": "TMB", "status": "low"}
    assert _tree(row, arm) == {
        "OR": [
            (tmb_high, "TMB >= 10"),
            (tmb_high, "TMB > 15"),
            (tmb_low, "TMB <= 40"),
            (tmb_low, "TMB < 40"),
            (tmb_high, "TMB == 40"),
        ]
    }


def test_a_sample_without_an_nct_id_is_reported_not_dropped() -> None:
    """MatchMiner's samples carry only a protocol number; unless the import keys trials by it
    (--key-by-protocol), a number no KB trial carries is refused, saying what to do, and it is
    never stored as an NCT id."""
    row = _only(list(ctml_adapter(require_shared(TMB), lookup=LOOKUP)))
    (error,) = row.errors
    assert (error.code, error.location.file, error.location.column) == (
        "missing_nct_id",
        "tmb.json",
        "nct_id",
    )
    assert "'99-9999'" in error.message and "--key-by-protocol" in error.message
    assert not row.records


# The KB as it stands once a curator has recorded the sample's protocol number on its trial.
WITH_PROTOCOL = replace(LOOKUP, trial_protocols={"10-002": "NCT00000002"})


def test_all_open_sample_imports_onto_the_trial_with_its_protocol_number() -> None:
    row = _only(list(ctml_adapter(require_shared(ALL_OPEN), lookup=WITH_PROTOCOL)))
    assert row.valid, [str(e) for e in row.errors]
    (trial,) = _of(row, RecordType.TRIAL)
    # "open to accrual"; the protocol number stays a protocol number.
    assert trial.fields == {
        "nct_id": "NCT00000002",
        "protocol_no": "10-002",
        "status": "RECRUITING",
    }
    assert trial.columns["nct_id"] == "protocol_no"
    arms = _arms(row)
    # ARM 2's match is empty: it never matches in MatchMiner, so it is no KB arm; the step's
    # own criteria are an arm of their own.
    assert sorted(arms) == ["ARM 1", "ARM 1 / LEVEL 1", "step 1"]
    # EGFR In_Frame_Del with no exon or codon: an in-frame deletion anywhere in EGFR, exactly
    # what MatchMiner matches (not any EGFR mutation, not an exon it does not name).
    egfr = {"kind": "range", "gene": "EGFR", "consequence": "inframe_deletion"}
    for code, tumours in (("ARM 1", ["NSCLC"]), ("ARM 1 / LEVEL 1", ["PPB"]), ("step 1", ["LUNG"])):
        assert _tree(row, arms[code]) == egfr
        assert (arms[code]["tumour_types"], arms[code]["min_age"]) == (tumours, 18)
    # The step is open: one of its arms (ARM 1) is.
    assert arms["step 1"]["suspended"] is False and arms["ARM 1"]["suspended"] is False


def test_all_open_steps_arms_and_dose_levels(tmp_path: Path) -> None:
    document = json.loads(require_shared(ALL_OPEN).read_text(encoding="utf-8"))
    document["nct_id"] = "NCT00000002"
    for node in _genomic_nodes(document):
        node["exon"] = 19  # what the sample lacks for the KB to express it
    path = _write(tmp_path, "all_open.json", document)
    row = _only(list(ctml_adapter(path, lookup=LOOKUP)))
    assert row.valid, [str(e) for e in row.errors]
    arms = _arms(row)
    assert sorted(arms) == ["ARM 1", "ARM 1 / LEVEL 1", "step 1"]
    egfr = {"kind": "range", "gene": "EGFR", "exon": 19, "consequence": "inframe_deletion"}
    one = arms["ARM 1"]
    assert (one["tumour_types"], one["min_age"], one["suspended"]) == (["NSCLC"], 18, False)
    assert _tree(row, one) == egfr
    level = arms["ARM 1 / LEVEL 1"]
    assert (level["tumour_types"], level["name"]) == (["PPB"], "LEVEL DESCRIPTION")
    # ARM 2 has no criteria of its own and inherits none (MatchMiner: an empty match never
    # matches); the step's criteria are their own arm, open while ARM 1 is.
    step = arms["step 1"]
    assert (step["tumour_types"], step["suspended"], step["name"]) == (
        ["LUNG"],
        False,
        "Registration",
    )
    assert _tree(row, step) == egfr
    # One biomarker and one expression, shared by the three arms.
    assert len(_of(row, RecordType.BIOMARKER)) == 1
    assert len(_of(row, RecordType.EXPRESSION)) == 1


def _genomic_nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node["genomic"]] if isinstance(node.get("genomic"), dict) else []
        return found + [n for value in node.values() for n in _genomic_nodes(value)]
    if isinstance(node, list):
        return [n for value in node for n in _genomic_nodes(value)]
    return []


# --- YAML, several documents ---------------------------------------------------------------------

YAML = """\
nct_id: NCT00000101
long_title: First trial
phase: I/II
status: Closed to Accrual
treatment_list:
  step:
    - step_code: 1
      arm:
        - arm_code: 1
          arm_description: KRAS G12 colorectal
          arm_suspended: N
          dose_level:
            - level_code: A
              level_suspended: Y
          match:
            - and:
                - genomic:
                    hugo_symbol: KRAS
                    wildcard_protein_change: p.G12
                - clinical:
                    oncotree_primary_diagnosis: Colorectal Adenocarcinoma
                    age_numerical: "<75"
                    gender: Female
---
- nct_id: NCT00000102
  long_title: Second trial
  phase: Phase 2
  status: suspended
  treatment_list:
    step:
      - arm:
          - arm_code: B
            match:
              - and:
                  - or:
                      - genomic: {hugo_symbol: ERBB2, variant_category: CNV,
                                  cnv_call: High level amplification}
                      - genomic: {hugo_symbol: ALK, variant_category: SV,
                                  fusion_partner_hugo_symbol: EML4}
                  - not:
                      genomic: {ms_status: MSI-H}
                  - genomic: {mmr_status: "!MMR-Deficient"}
                  - clinical: {oncotree_primary_diagnosis: _SOLID_}
                  - clinical: {oncotree_primary_diagnosis: "!Melanoma"}
                  - clinical: {age_numerical: ">=18"}
- nct_id: NCT00000103
  long_title: Third trial
  phase: III
  status: Open to Accrual
  treatment_list:
    step:
      - arm:
          - arm_code: C
            match:
              - or:
                  - clinical: {oncotree_primary_diagnosis: Melanoma, age_numerical: ">=12"}
                  - clinical: {oncotree_primary_diagnosis: NSCLC, age_numerical: ">=12"}
"""


def test_yaml_with_several_documents(tmp_path: Path) -> None:
    path = _write(tmp_path, "trials.yaml", YAML)
    rows = list(ctml_adapter(path, lookup=LOOKUP))
    assert [row.location.row for row in rows] == [1, 2, 3]
    assert all(row.valid for row in rows), [str(e) for row in rows for e in row.errors]
    trials = [_of(row, RecordType.TRIAL)[0].fields for row in rows]
    assert trials == [
        {
            "nct_id": "NCT00000101",
            "title": "First trial",
            "phase": "PHASE1_PHASE2",
            "status": "ACTIVE_NOT_RECRUITING",
        },
        {
            "nct_id": "NCT00000102",
            "title": "Second trial",
            "phase": "PHASE2",
            "status": "SUSPENDED",
        },
        {
            "nct_id": "NCT00000103",
            "title": "Third trial",
            "phase": "PHASE3",
            "status": "RECRUITING",
        },
    ]
    first = _arms(rows[0])["1"]
    assert (first["tumour_types"], first["max_age"], first["sex"]) == (["COADREAD"], 74, "FEMALE")
    # Its only dose level is suspended, but MatchMiner closes an arm by its own flag alone.
    assert first["suspended"] is False
    # A wildcard is any change at the codon, as MatchMiner matches it.
    assert _tree(rows[0], first) == {
        "kind": "range",
        "gene": "KRAS",
        "codon_start": 12,
        "codon_end": 12,
        "consequence": "any",
    }
    second = _arms(rows[1])["B"]
    assert second["tumour_types"] == ["ALL_SOLID"]
    assert second["excluded_tumour_types"] == ["MEL"]
    assert second["min_age"] == 18 and second["sex"] == "ALL"
    assert _tree(rows[1], second) == {
        "AND": [
            {
                "OR": [
                    {"kind": "copy_number", "gene": "ERBB2", "copy_number": "amplification"},
                    # Either orientation, as MatchMiner matches a structural variant.
                    {"kind": "fusion", "gene": "ALK", "partner_5": "EML4", "partner_3": "ALK"},
                    {"kind": "fusion", "gene": "ALK", "partner_5": "ALK", "partner_3": "EML4"},
                ]
            },
            {"NOT": [{"kind": "characteristic", "characteristic": "MSI", "status": "high"}]},
            {"NOT": [{"kind": "characteristic", "characteristic": "MMR", "status": "deficient"}]},
        ]
    }
    third = _arms(rows[2])["C"]
    assert (third["tumour_types"], third["min_age"], third["expression"]) == (
        ["MEL", "NSCLC"],
        12,
        None,
    )
    # Keys are unique across the file's documents.
    keys = [record.key for row in rows for record in row.records]
    assert len(keys) == len(set(keys))


def test_json_list_of_documents_and_a_duplicate_trial(tmp_path: Path) -> None:
    doc = _doc([{"genomic": {"hugo_symbol": "EGFR", "protein_change": "p.L858R"}}])
    path = _write(tmp_path, "trials.json", [doc, doc])
    first, second = ctml_adapter(path)
    assert first.valid and first.location.row == 1
    assert [e.code for e in second.errors] == ["duplicate_trial"]
    assert second.location.row == 2


# --- CTML as MatchMiner writes it in practice ----------------------------------------------------

STATUSES = [
    ("Open to Accrual", "RECRUITING"),
    ("open to accrual", "RECRUITING"),
    ("OPEN_TO_ACCRUAL", "RECRUITING"),
    ("Open", "RECRUITING"),
    ("Active", "RECRUITING"),  # NCI CTRP's word for open to accrual
    ("Closed to Accrual", "ACTIVE_NOT_RECRUITING"),
    ("closed-to-accrual", "ACTIVE_NOT_RECRUITING"),
    ("CLOSED TO ACCRUAL AND INTERVENTION", "ACTIVE_NOT_RECRUITING"),
    ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),  # ClinicalTrials.gov's, not CTRP's
    ("Temporarily Closed to Accrual", "SUSPENDED"),
    ("IRB Study Closure", "COMPLETED"),
    ("Complete", "COMPLETED"),
    ("Administratively Complete", "TERMINATED"),
    ("In Review", "NOT_YET_RECRUITING"),
    ("NOT_YET_RECRUITING", "NOT_YET_RECRUITING"),
]


@pytest.mark.parametrize(("written", "status"), STATUSES, ids=[s[0] for s in STATUSES])
def test_status_spellings(tmp_path: Path, written: str, status: str) -> None:
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", _doc([], status=written)))))
    assert row.valid, [str(e) for e in row.errors]
    assert _of(row, RecordType.TRIAL)[0].fields["status"] == status


@pytest.mark.parametrize("written", ["Closed", "Sleeping"])
def test_an_unknown_status_names_the_accepted_spellings(tmp_path: Path, written: str) -> None:
    # "Closed" alone: closed to accrual, or closed for good? Not guessed.
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", _doc([], status=written)))))
    (error,) = row.errors
    assert (error.code, error.location.column, error.value) == ("unknown_status", "status", written)
    assert "'open to accrual'" in error.message and "'active'" in error.message
    assert "ACTIVE_NOT_RECRUITING" in error.message


PHASES = [
    ("I", "PHASE1"),
    ("Ib", "PHASE1"),  # a sub-phase is its phase, as ClinicalTrials.gov registers it
    ("Phase 1b", "PHASE1"),
    ("II", "PHASE2"),
    ("IIa", "PHASE2"),
    ("III", "PHASE3"),
    ("IV", "PHASE4"),
    ("I_II", "PHASE1_PHASE2"),
    ("I/II", "PHASE1_PHASE2"),
    ("IB/II", "PHASE1_PHASE2"),
    ("Phase 1/Phase 2", "PHASE1_PHASE2"),
    ("1/2", "PHASE1_PHASE2"),
    ("II/III", "PHASE2_PHASE3"),
    ("Early Phase 1", "EARLY_PHASE1"),
    ("0", "EARLY_PHASE1"),
    ("N/A", "NA"),
    ("NA", "NA"),
    ("PHASE1_PHASE2", "PHASE1_PHASE2"),
]


@pytest.mark.parametrize(("written", "phase"), PHASES, ids=[p[0] for p in PHASES])
def test_phase_spellings(tmp_path: Path, written: str, phase: str) -> None:
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", _doc([], phase=written)))))
    assert row.valid, [str(e) for e in row.errors]
    assert _of(row, RecordType.TRIAL)[0].fields["phase"] == phase


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("Pilot", "a pilot study has no phase of its own"),
        ("I/II/III", "expected a trial phase"),
        ("Early Phase 2", "expected a trial phase"),
    ],
)
def test_a_phase_that_is_not_one_is_reported(tmp_path: Path, written: str, says: str) -> None:
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", _doc([], phase=written)))))
    (error,) = row.errors
    assert (error.code, error.location.column) == ("unknown_phase", "phase")
    assert says in error.message and "I_II" in error.message


def test_the_nct_id_wherever_matchminer_puts_it(tmp_path: Path) -> None:
    base = {k: v for k, v in _doc([]).items() if k != "nct_id"}
    documents = [
        # MatchMiner copies nct_id into its _summary.
        {**base, "protocol_no": "10-002", "_summary": {"nct_number": "NCT01234567"}},
        # Our own export, and some sites, put the NCT id in protocol_no: not a protocol number.
        {**base, "protocol_no": "nct07654321"},
    ]
    first, second = ctml_adapter(_write(tmp_path, "t.json", documents))
    assert first.valid and second.valid, [str(e) for e in (*first.errors, *second.errors)]
    one, two = (_of(row, RecordType.TRIAL)[0] for row in (first, second))
    assert (one.fields["nct_id"], one.fields["protocol_no"]) == ("NCT01234567", "10-002")
    assert one.columns["nct_id"] == "_summary.nct_number"
    assert two.fields["nct_id"] == "NCT07654321" and "protocol_no" not in two.fields


def test_nct_ids_that_disagree_are_reported(tmp_path: Path) -> None:
    data = {**_doc([]), "_summary": {"nct_number": "NCT07654321"}}
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", data))))
    (error,) = row.errors
    assert (error.code, error.location.column) == ("conflicting_ids", "_summary.nct_number")
    assert "NCT01234567" in error.message and "NCT07654321" in error.message
    assert not row.records


def test_a_protocol_number_is_looked_up_as_written_apart_from_case_and_spaces(
    tmp_path: Path,
) -> None:
    data = {k: v for k, v in _doc([]).items() if k != "nct_id"} | {"protocol_no": " dfci 10-002 "}
    lookup = replace(LOOKUP, trial_protocols={"DFCI 10-002": "NCT00000002"})
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", data), lookup=lookup)))
    assert _of(row, RecordType.TRIAL)[0].fields["nct_id"] == "NCT00000002"


def test_documents_one_after_another_in_a_json_file(tmp_path: Path) -> None:
    """MatchMiner's fixtures hold one JSON object a line (as mongoimport reads them)."""
    first = _doc([{"genomic": {"hugo_symbol": "EGFR", "protein_change": "p.L858R"}}])
    second = {**first, "nct_id": "NCT07654321"}
    path = _write(tmp_path, "t.json", json.dumps(first) + "\n" + json.dumps(second, indent=1))
    rows = list(ctml_adapter(path))
    assert [row.location.row for row in rows] == [1, 2] and all(row.valid for row in rows)
    with pytest.raises(SourceError, match="not valid JSON"):
        list(ctml_adapter(_write(tmp_path, "u.json", json.dumps(first) + "\n{")))


def test_a_classification_alone_is_that_consequence_anywhere_in_the_gene(tmp_path: Path) -> None:
    """Nonsense_Mutation is a nonsense variant, not any truncating one (MatchMiner would not
    match a frameshift to it)."""
    data = _doc(
        [{"genomic": {"hugo_symbol": "APC", "variant_classification": "Nonsense_Mutation"}}]
    )
    row = _only(list(ctml_adapter(_write(tmp_path, "t.json", data))))
    assert _tree(row, _arms(row)["A"]) == {
        "kind": "range",
        "gene": "APC",
        "consequence": "nonsense",
    }


# --- malformed documents -------------------------------------------------------------------------

MALFORMED: list[tuple[str, Any, str, str | None]] = [
    ("not an object", 42, "not_a_document", None),
    ("no treatment list", {"nct_id": "NCT01234567"}, "missing_field", "treatment_list"),
    (
        "bad nct id",
        {**_doc([]), "nct_id": "NCT123"},
        "malformed_id",
        "nct_id",
    ),
    (
        "arm without code",
        {**_doc([]), "treatment_list": {"step": [{"arm": [{"arm_description": "x"}]}]}},
        "missing_field",
        "treatment_list.step[0].arm[0].arm_code",
    ),
    (
        "unknown match key",
        _doc([{"xor": []}]),
        "invalid_node",
        "treatment_list.step[0].arm[0].match[0]",
    ),
    (
        "or across clinical and genomic",
        _doc(
            [
                {
                    "or": [
                        {"clinical": {"age_numerical": ">=18"}},
                        {"genomic": {"hugo_symbol": "EGFR"}},
                    ]
                }
            ]
        ),
        "unrepresentable",
        "treatment_list.step[0].arm[0].match[0].or",
    ),
    (
        "bad tmb comparison",
        _doc([{"clinical": {"tmb_numerical": ">=ten"}}]),
        "invalid_value",
        "treatment_list.step[0].arm[0].match[0].clinical.tmb_numerical",
    ),
    (
        "bad protein change",
        _doc([{"genomic": {"hugo_symbol": "EGFR", "protein_change": "c.2573T>G"}}]),
        "malformed_hgvs",
        "treatment_list.step[0].arm[0].match[0].genomic.protein_change",
    ),
    (
        "negated protein change",
        _doc([{"genomic": {"hugo_symbol": "BRAF", "protein_change": "!p.V600E"}}]),
        "unsupported_criterion",
        "treatment_list.step[0].arm[0].match[0].genomic.protein_change",
    ),
    (
        "heterozygous deletion",
        _doc(
            [
                {
                    "genomic": {
                        "hugo_symbol": "PTEN",
                        "variant_category": "CNV",
                        "cnv_call": "Heterozygous deletion",
                    }
                }
            ]
        ),
        "unrepresentable",
        "treatment_list.step[0].arm[0].match[0].genomic.cnv_call",
    ),
    (
        "unknown clinical criterion",
        _doc([{"clinical": {"her2_status": "Positive"}}]),
        "unsupported_criterion",
        "treatment_list.step[0].arm[0].match[0].clinical.her2_status",
    ),
    (
        "protocol number too long for the KB",
        {**_doc([]), "protocol_no": "P" * 65},
        "too_long",
        "protocol_no",
    ),
    (
        "unknown status",
        {**_doc([]), "status": "Sleeping"},
        "unknown_status",
        "status",
    ),
    (
        "suspended flag",
        {
            **_doc([]),
            "treatment_list": {"step": [{"arm": [{"arm_code": "A", "arm_suspended": "maybe"}]}]},
        },
        "invalid_value",
        "treatment_list.step[0].arm[0].arm_suspended",
    ),
    (
        "two diagnoses under and",
        _doc(
            [
                {
                    "and": [
                        {"clinical": {"oncotree_primary_diagnosis": "LUNG"}},
                        {"clinical": {"oncotree_primary_diagnosis": "MEL"}},
                    ]
                }
            ]
        ),
        "unrepresentable",
        "treatment_list.step[0].arm[0].match[0].and",
    ),
    (
        "diagnosis name without the vocabulary",
        _doc([{"clinical": {"oncotree_primary_diagnosis": "Non-Small Cell Lung Cancer"}}]),
        "vocabulary_missing",
        "treatment_list.step[0].arm[0].match[0].clinical.oncotree_primary_diagnosis",
    ),
    (
        "display name only",
        _doc([{"genomic": {"display_name": "HER2 IHC 3+"}}]),
        "unsupported_criterion",
        "treatment_list.step[0].arm[0].match[0].genomic",
    ),
]


@pytest.mark.parametrize(
    ("data", "code", "column"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_documents_give_located_errors(
    tmp_path: Path, data: Any, code: str, column: str | None
) -> None:
    row = _only(list(ctml_adapter(_write(tmp_path, "trial.json", data))))
    assert not row.valid and not row.records
    found = [(error.code, error.location.column) for error in row.errors]
    assert (code, column) in found, found
    for error in row.errors:
        assert error.location.file == "trial.json" and error.message


def test_an_ambiguous_oncotree_name_asks_for_the_code(tmp_path: Path) -> None:
    data = _doc([{"clinical": {"oncotree_primary_diagnosis": "Yolk Sac Tumor"}}])
    row = _only(list(ctml_adapter(_write(tmp_path, "trial.json", data), lookup=LOOKUP)))
    (error,) = row.errors
    assert error.code == "ambiguous_diagnosis" and "OYST" in error.message


UNREADABLE = [
    ("broken.json", '{"nct_id": "NCT01234567",\n  "status": }', "bad_json"),
    ("broken.yaml", "nct_id: [unclosed\n", "bad_yaml"),
    ("alias.yaml", "a: &x [1, 2]\nb: *x\n", "bad_yaml"),
    ("empty.yaml", "", "empty_file"),
    ("nothing.yaml", "---\n---\n", "empty_file"),
    ("latin1.json", b'{"long_title": "caf\xe9"}', "bad_encoding"),
]


@pytest.mark.parametrize(("name", "content", "code"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_files_fail_as_a_whole(
    tmp_path: Path, name: str, content: str | bytes, code: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        list(ctml_adapter(path))
    (error,) = caught.value.errors
    assert error.code == code and error.location.file == name


def test_json_errors_say_where(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.json", '{\n  "nct_id": "NCT01234567",\n  "status": }\n')
    with pytest.raises(SourceError, match="line 3"):
        list(ctml_adapter(path))


# --- through the engine --------------------------------------------------------------------------


@pytest.fixture
def demo_with_vocab(demo_url: str) -> Any:
    from kb.storage.db import open_kb

    kb = open_kb(demo_url)
    load_full_vocabularies(kb)
    yield kb
    kb.close()


def _preview(kb: Any, path: Path) -> Any:
    engine = pytest.importorskip("kb.importing.engine")
    if not hasattr(engine, "preview"):
        pytest.skip("kb.importing.engine has no preview() yet")
    with kb.read() as session:
        return engine.preview(ctml_adapter(path, lookup=KbLookup.from_session(session)), session)


def _tmb_with_metadata(tmp_path: Path) -> Path:
    """The TMB sample with what a trial record needs and the fixture leaves out."""
    document = json.loads(require_shared(TMB).read_text(encoding="utf-8"))
    document.update(nct_id="NCT03000001", long_title="TMB thresholds", phase="I")
    return _write(tmp_path, "tmb.json", document)


def test_preview_and_reimport_of_ctml(demo_with_vocab: Any, tmp_path: Path) -> None:
    from tests.test_import_civic import apply_and_merge

    path = _tmb_with_metadata(tmp_path)
    first = _preview(demo_with_vocab, path)
    assert (len(first.rows), first.new, first.invalid) == (1, 1, 0), [str(e) for e in first.errors]
    counts = {rtype.value: c.new for rtype, c in first.by_type.items()}
    assert counts["threshold"] == 5 and counts["trial_arm"] == 1 and counts["trial"] == 1
    apply_and_merge(demo_with_vocab, first, path)
    again = _preview(demo_with_vocab, path)
    assert (again.new, again.changed, again.unchanged, again.invalid) == (0, 0, 1, 0)
    with demo_with_vocab.read() as session:
        from kb.model.records import list_records

        thresholds = [row.fields for row in list_records(session, RecordType.THRESHOLD)]
    assert {
        "metric": "TMB",
        "operator": ">=",
        "value": "10",
        "unit": "mut/Mb",
        "assay": None,
        "specimen": None,
    } in thresholds


def test_preview_of_the_samples_accounts_for_every_document(demo_with_vocab: Any) -> None:
    for sample in (TMB, ALL_OPEN):
        result = _preview(demo_with_vocab, require_shared(sample))
        assert len(result.rows) == 1
        assert result.new + result.changed + result.unchanged + result.invalid == 1
        assert result.invalid == 1 and result.errors  # no NCT id: reported, never dropped


def test_a_matchminer_document_finds_its_trial_by_protocol_number(
    demo_with_vocab: Any, tmp_path: Path
) -> None:
    """Once a KB trial carries its protocol number (here from a document naming both), the real
    sample, which carries only that number, imports onto it; no other trial may take it."""
    from kb.model.records import list_records
    from tests.test_import_civic import apply_and_merge

    sample = require_shared(ALL_OPEN)
    with demo_with_vocab.read() as session:
        first_nct, other_nct = (
            row.fields["nct_id"] for row in list_records(session, RecordType.TRIAL)[:2]
        )
    document = json.loads(sample.read_text(encoding="utf-8"))
    both = _write(tmp_path, "both.json", {**document, "nct_id": first_nct})
    named = _preview(demo_with_vocab, both)
    assert named.invalid == 0, [str(e) for e in named.errors]
    apply_and_merge(demo_with_vocab, named, both)
    with demo_with_vocab.read() as session:
        trial = next(
            row
            for row in list_records(session, RecordType.TRIAL)
            if row.fields["nct_id"] == first_nct
        )
    assert trial.fields["protocol_no"] == "10-002"
    again = _preview(demo_with_vocab, sample)
    assert (again.new, again.changed, again.unchanged, again.invalid) == (0, 0, 1, 0)
    clash = _preview(
        demo_with_vocab, _write(tmp_path, "other.json", {**document, "nct_id": other_nct})
    )
    assert clash.invalid == 1
    assert [e.field for e in clash.errors if "10-002" in str(e)] == ["protocol_no"]


def test_the_kbs_own_ctml_export_reimports_without_changes(
    demo_with_vocab: Any, tmp_path: Path
) -> None:
    """kb.release.ctml_export writes the release's CTML; reading it back must not alter the
    trials CTML can express (the two whose arms are MSI/MMR and BRAF V600E criteria)."""
    from kb.release.ctml_export import ctml_documents
    from kb.storage.snapshot import build_snapshot

    with demo_with_vocab.read() as session:
        documents = ctml_documents(build_snapshot(session).as_json())
    path = _write(tmp_path, "trials.json", list(documents.values()))
    result = _preview(demo_with_vocab, path)
    statuses = dict(zip(documents, (row.status for row in result.rows), strict=True))
    assert statuses["NCT02465060"] == "unchanged"
    assert statuses["NCT02628067"] == "unchanged"
    assert result.new + result.changed + result.unchanged + result.invalid == len(documents)
