"""The demo KB: real indications, thresholds as data, valid against the real vocabularies."""

from __future__ import annotations

from kb.model.enums import RecordType
from kb.model.records import list_records
from kb.storage.db import Kb, open_kb
from kb.validation.checks import validate_kb
from kb.vocab import hgnc as vocab_hgnc
from kb.vocab import oncotree as vocab_oncotree
from tests.conftest import HGNC_FILE, ONCOTREE_FILE, require_shared


def test_demo_meets_its_brief(demo_kb: Kb) -> None:
    with demo_kb.read() as session:
        assertions = list_records(session, RecordType.ASSERTION)
        genes = list_records(session, RecordType.GENE)
        thresholds = list_records(session, RecordType.THRESHOLD)
        trials = list_records(session, RecordType.TRIAL)
        arms = list_records(session, RecordType.TRIAL_ARM)
        expressions = {r.human_id: r.title for r in list_records(session, RecordType.EXPRESSION)}
        problems = validate_kb(session)
    assert len(assertions) >= 30
    assert len({r.fields["symbol"] for r in genes}) >= 12
    codes = {code for r in assertions for code in r.fields["tumour_types"]}
    assert len(codes - {"ALL_SOLID", "ALL_TUMOURS", "ALL_LIQUID"}) >= 10
    assert all(r.fields["citations"] for r in assertions)
    texts = set(expressions.values())
    assert "TMB >= 10 mut/Mb" in texts
    assert any(text.startswith("CD274 TPS >= 50%") for text in texts)
    assert "ERBB2 IHC == 3+ OR (ERBB2 IHC == 2+ AND ERBB2 ISH_RATIO >= 2.0)" in texts
    assert any("MSI-H" in text for text in texts)
    assert {(r.fields["metric"], r.fields["value"]) for r in thresholds} >= {
        ("TMB", "10"),
        ("PDL1_TPS", "50"),
        ("HER2_ISH_RATIO", "2.0"),
    }
    assert len(trials) >= 3 and len(arms) >= len(trials)
    assert [p for p in problems if p.severity == "error"] == []
    osimertinib = [r for r in assertions if "Osimertinib" in r.title]
    assert len(osimertinib) >= 3


def test_demo_validates_against_full_oncotree_and_hgnc(demo_url: str) -> None:
    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        vocab_oncotree.load_oncotree(session, require_shared(ONCOTREE_FILE))
        vocab_hgnc.load_hgnc(session, require_shared(HGNC_FILE), version="hgnc-2022")
    with kb.read() as session:
        problems = validate_kb(session)
    kb.close()
    assert problems == []
