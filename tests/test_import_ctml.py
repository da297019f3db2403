"""CTML (MatchMiner trial markup) import on the real samples (../shared/data/ctml) and on JSON
and YAML documents written by the tests: trials, arms, dose levels, match trees, thresholds as
data, and errors located by JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kb.importing.civic import KbLookup
from kb.importing.ctml import ctml_adapter
from kb.importing.model import ProposedRecord, Ref, SourceError, SourceRow
from kb.model.enums import RecordType
from tests.conftest import HGNC_FILE, ONCOTREE_FILE, SHARED_DATA, require_shared

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
    assert trial.fields == {"nct_id": "NCT00000001", "status": "RECRUITING"}
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
    row = _only(list(ctml_adapter(require_shared(TMB))))
    (error,) = row.errors
    assert (error.code, error.location.file, error.location.column) == (
        "missing_nct_id",
        "tmb.json",
        "nct_id",
    )
    assert "99-9999" in error.message
    assert not row.records


def test_all_open_sample_reports_what_the_kb_cannot_express() -> None:
    row = _only(
        list(
            ctml_adapter(require_shared(ALL_OPEN), lookup=LOOKUP, nct_ids={"10-002": "NCT00000002"})
        )
    )
    # EGFR In_Frame_Del with no exon or codon: the KB's range biomarkers need a position.
    paths = {(error.code, error.location.column) for error in row.errors}
    assert paths == {
        ("unrepresentable", f"{where}.match[0].and[0].genomic.variant_classification")
        for where in (
            "treatment_list.step[0]",
            "treatment_list.step[0].arm[0]",
            "treatment_list.step[0].arm[0].dose_level[0]",
        )
    }


def test_all_open_steps_arms_and_dose_levels(tmp_path: Path) -> None:
    document = json.loads(require_shared(ALL_OPEN).read_text(encoding="utf-8"))
    document["nct_id"] = "NCT00000002"
    for node in _genomic_nodes(document):
        node["exon"] = 19  # what the sample lacks for the KB to express it
    path = _write(tmp_path, "all_open.json", document)
    row = _only(list(ctml_adapter(path, lookup=LOOKUP)))
    assert row.valid, [str(e) for e in row.errors]
    arms = _arms(row)
    assert sorted(arms) == ["ARM 1", "ARM 1 / LEVEL 1", "ARM 2"]
    egfr = {"kind": "range", "gene": "EGFR", "exon": 19, "consequence": "inframe_deletion"}
    one = arms["ARM 1"]
    assert (one["tumour_types"], one["min_age"], one["suspended"]) == (["NSCLC"], 18, False)
    assert _tree(row, one) == egfr
    level = arms["ARM 1 / LEVEL 1"]
    assert (level["tumour_types"], level["name"]) == (["PPB"], "LEVEL DESCRIPTION")
    # ARM 2 has no criteria of its own: it takes its step's, and it is suspended.
    two = arms["ARM 2"]
    assert (two["tumour_types"], two["suspended"], two["name"]) == (["LUNG"], True, "ALWAYS CLOSED")
    assert _tree(row, two) == egfr
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
    assert first["suspended"] is True  # its only dose level is suspended
    assert _tree(rows[0], first) == {
        "kind": "range",
        "gene": "KRAS",
        "codon_start": 12,
        "codon_end": 12,
        "consequence": "missense",
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
                    {"kind": "fusion", "gene": "ALK", "partner_5": "EML4", "partner_3": "ALK"},
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
    from kb.vocab.hgnc import load_hgnc
    from kb.vocab.oncotree import load_oncotree

    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        load_oncotree(session, require_shared(ONCOTREE_FILE))
        load_hgnc(session, require_shared(HGNC_FILE))
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
