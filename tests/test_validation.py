"""Validation names the record, field, value and what was expected, for each planted error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from kb.model.enums import RecordType
from kb.model.records import Writer, get_object
from kb.storage.db import Kb, open_kb
from kb.validation.checks import validate_kb
from tests.conftest import load_full_vocabularies


def _plant(kb: Kb) -> None:
    load_full_vocabularies(kb)
    with kb.unit_of_work() as session:
        # Planted straight into the tables (so they are drift as well: checked below).
        w = Writer(session, kb_version=2)
        w.create(RecordType.GENE, {"symbol": "HER2", "hgnc_id": "HGNC:999998"})  # an alias
        w.create(RecordType.GENE, {"symbol": "NOTAGENE9", "hgnc_id": "HGNC:999999"})
        w.create(
            RecordType.THRESHOLD,
            {"metric": "TMB", "operator": ">=", "value": "10", "unit": "%"},
        )
        w.create(RecordType.THRESHOLD, {"metric": "PDL1_TPS", "operator": ">=", "value": "150"})
        w.create(RecordType.THRESHOLD, {"metric": "HER2_IHC", "operator": ">=", "value": "4+"})
        _, therapy = get_object(session, "TX-00001")
        _, expression = get_object(session, "BX-00001")
        w.create(
            RecordType.ASSERTION,
            {
                "expression": expression.human_id,
                "therapy": therapy.human_id,
                "tumour_types": ["NSCLC", "MFT", "XYZ"],
                "implication": "resistant",
                "evidence_level": "1",
            },
        )
        # A protocol number wider than its column (SQLite stores it; PostgreSQL would not).
        w.create(
            RecordType.TRIAL,
            {
                "nct_id": "NCT09999999",
                "protocol_no": "P" * 65,
                "title": "Too long a protocol number",
                "phase": "PHASE2",
                "status": "RECRUITING",
            },
        )
        # A duplicate of the first demo drug, differing only in case.
        w.create(RecordType.DRUG, {"name": "OSIMERTINIB"})
        # A malformed protein change and a dangling tree leaf, as a bad direct edit leaves them.
        session.execute(
            text("UPDATE biomarker SET protein_change = 'p.Zzz600Glu' WHERE human_id = 'BM-00001'")
        )


def test_planted_errors_are_each_reported(demo_url: str) -> None:
    kb = open_kb(demo_url)
    _plant(kb)
    with kb.read() as session:
        problems = validate_kb(session)
    kb.close()
    found = {(p.record_type, p.field, p.code): p for p in problems}
    alias = found[("gene", "symbol", "not_approved_symbol")]
    assert alias.value == "HER2" and "ERBB2" in alias.expected
    assert found[("gene", "symbol", "unknown_gene")].value == "NOTAGENE9"
    unit = found[("threshold", "unit", "threshold_mismatch")]
    assert unit.value == "%" and "mut/Mb" in unit.expected
    assert any(
        p.code == "threshold_mismatch" and p.value == "150" and "100" in p.expected
        for p in problems
    )
    assert any(
        p.code == "threshold_mismatch" and p.value == "4+" and "3+" in p.expected for p in problems
    )
    revoked = found[("assertion", "tumour_types", "revoked_code")]
    assert revoked.value == "MFT" and "FT" in revoked.expected
    assert found[("assertion", "tumour_types", "unknown_code")].value == "XYZ"
    assert found[("assertion", "evidence_level", "level_mismatch")].expected == "R1 or R2"
    assert found[("assertion", "citations", "missing_citation")]
    hgvs = found[("biomarker", "protein_change", "invalid_value")]
    assert hgvs.record == "BM-00001" and hgvs.value == "p.Zzz600Glu"
    assert found[("drug", "*", "duplicate")].value == "DR-00001"
    assert found[("trial", "protocol_no", "too_long")].value == "P" * 65
    for problem in problems:
        assert problem.record and problem.field and problem.expected and problem.message
        assert problem.record in str(problem) and problem.field in str(problem)
    # Written outside a merge, the planted genes are in no version: drift, an error.
    drift = {p.record for p in problems if p.code == "drift"}
    planted = {p.record for p in problems if p.code in ("unknown_gene", "not_approved_symbol")}
    assert planted and planted <= drift


def test_dangling_reference_is_reported(demo_url: str) -> None:
    import sqlite3

    # A bad direct edit with foreign keys off, as an old tool or a hand fix might make.
    with sqlite3.connect(demo_url.removeprefix("sqlite:///")) as raw:
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("DELETE FROM therapy WHERE human_id = 'TX-00001'")
    kb = open_kb(demo_url)
    with kb.read() as session:
        problems = validate_kb(session)
    kb.close()
    dangling = [p for p in problems if p.code == "dangling_reference"]
    assert dangling and all(p.field == "therapy" for p in dangling)
    assert all(str(p.value).startswith("missing:") for p in dangling)


def test_without_vocabularies_validation_warns_but_passes(demo_kb: Kb) -> None:
    with demo_kb.unit_of_work() as session:
        session.execute(text("DELETE FROM hgnc_synonym"))
        session.execute(text("DELETE FROM hgnc_gene"))
    with demo_kb.read() as session:
        problems = validate_kb(session)
    assert [p.code for p in problems] == ["vocabulary_missing"]
    assert problems[0].severity == "warning"


def _level_rows() -> list[Any]:
    """A scheme, the KB's own scheme, and a crosswalk between them with planted mistakes."""
    from kb.model.enums import LEVEL_SCHEME
    from kb.model.records import RecordRow

    civic = RecordRow(
        RecordType.LEVEL_SCHEME, "u1", "LS-00001", 1, "",
        {"name": "CIViC evidence levels", "levels": ["A: validated", "B: clinical",
         "C: case study", "D: preclinical", "E: inferential"], "description": "", "citations": []},
    )  # fmt: skip
    oncokb = RecordRow(
        RecordType.LEVEL_SCHEME, "u2", "LS-00002", 1, "",
        {"name": LEVEL_SCHEME, "levels": ["1: a", "2: b", "3A: c", "3B: d", "4: e", "R1: f",
         "R2: g"], "description": "", "citations": []},
    )  # fmt: skip
    crosswalk = RecordRow(
        RecordType.LEVEL_CROSSWALK, "u3", "LX-00001", 1, "",
        {"source_scheme": "LS-00001", "target_scheme": "LS-00002", "implication": "resistant",
         "entries": ["A -> R1", "B -> 3A", "C -> R5", "Z -> R2"], "description": "",
         "citations": []},
    )  # fmt: skip
    return [civic, oncokb, crosswalk]


def test_a_crosswalk_is_checked_against_both_schemes() -> None:
    from kb.validation.checks import Vocabularies, validate_rows

    problems = validate_rows(_level_rows(), Vocabularies())
    found = {(p.code, str(p.value)): p for p in problems if p.record == "LX-00001"}
    assert set(found) == {
        ("unknown_level", "Z"),  # not a CIViC level
        ("unknown_level", "R5"),  # not an OncoKB level
        ("level_mismatch", "3A"),  # a sensitivity level in a resistant crosswalk
        ("crosswalk_incomplete", "D, E"),  # gaps must be written down, not left out
    }
    assert found[("crosswalk_incomplete", "D, E")].severity == "warning"
    assert found[("unknown_level", "Z")].severity == "error"


def test_assertion_qualifiers_fit_their_implication() -> None:
    from kb.model.records import RecordRow
    from kb.validation.checks import Vocabularies, validate_rows

    base = {"expression": "BX-00001", "tumour_types": ["NSCLC"], "citations": ["CT-00001"],
            "excluded_tumour_types": []}  # fmt: skip
    rows = [
        RecordRow(RecordType.ASSERTION, "a", "AS-00001", 1, "",
                  {**base, "implication": "prognostic", "evidence_level": "3A",
                   "direction": "excludes_diagnosis"}),
        RecordRow(RecordType.ASSERTION, "b", "AS-00002", 1, "",
                  {**base, "implication": "sensitive", "therapy": "TX-00001",
                   "evidence_level": "1", "syndrome": "Lynch syndrome"}),
        RecordRow(RecordType.ASSERTION, "c", "AS-00003", 1, "",
                  {**base, "implication": "resistant", "therapy": "TX-00001"}),
        RecordRow(RecordType.ASSERTION, "d", "AS-00004", 1, "",
                  {**base, "implication": "diagnostic", "evidence_level": "2"}),
    ]  # fmt: skip
    problems = {
        (p.record, p.field, p.code): p.severity
        for p in validate_rows(rows, Vocabularies())
        if p.code not in ("dangling_reference", "vocabulary_missing")
    }
    assert problems == {
        ("AS-00001", "direction", "direction_mismatch"): "error",
        ("AS-00002", "syndrome", "germline_only"): "error",
        ("AS-00003", "evidence_level", "missing_field"): "error",
        ("AS-00004", "direction", "missing_direction"): "warning",
    }
