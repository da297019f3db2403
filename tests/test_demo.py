"""The demo KB: real indications, thresholds as data, valid against the real vocabularies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kb.demo.loader import DEMO_RECORDS, build_demo
from kb.errors import KbError
from kb.importing.service import import_file
from kb.model.enums import ChangeSetStatus, RecordType
from kb.model.orm import HgncGene, TumourType
from kb.model.records import list_records
from kb.review.audit import verify_chain
from kb.review.changes import get_change_set, list_change_sets
from kb.review.users import bootstrap_admin
from kb.review.versions import list_approvals
from kb.storage.db import Kb, open_kb
from kb.validation.checks import validate_kb
from kb.vocab.releases import sha256_file
from tests.conftest import load_full_vocabularies


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
    load_full_vocabularies(kb)
    with kb.read() as session:
        problems = validate_kb(session)
    kb.close()
    assert problems == []


# Pinned: the demo as shipped in resources/demo/ (a change to the file changes these on purpose).
DEMO_COUNTS = {
    "gene": 24,
    "biomarker": 51,
    "threshold": 10,
    "expression": 39,
    "drug": 68,
    "therapy": 67,
    "citation": 92,
    "approval": 97,
    "assertion": 103,
    "trial": 4,
    "trial_arm": 14,
    "exon_map": 3,
    "evidence_item": 0,
    "oncogenicity": 11,
    "level_scheme": 4,
    "level_crosswalk": 8,
}


def test_demo_counts_are_pinned(demo_kb: Kb) -> None:
    with demo_kb.read() as session:
        counts = {str(rtype): len(list_records(session, rtype)) for rtype in RecordType}
        tumour_types = session.scalar(select(func.count()).select_from(TumourType))
        genes = session.scalar(select(func.count()).select_from(HgncGene))
    assert counts == DEMO_COUNTS
    # The whole bundled OncoTree and HGNC, so the demo matches any OncoTree code.
    assert (tumour_types, genes) == (898, 39_824)


def test_demo_is_made_as_a_team_makes_its_kb(demo_kb: Kb) -> None:
    """Imported as the curator's change set, approved by a reviewer, version signed off."""
    with demo_kb.read() as session:
        change_sets = list_change_sets(session)
        assert [cs.human_id for cs in change_sets] == ["CS-00001"]
        merged = get_change_set(session, "CS-00001")
        approvals = list_approvals(session, 1)
        chain = verify_chain(session)
    assert merged.status is ChangeSetStatus.MERGED and merged.merged_version == 1
    assert merged.author == "curator" and merged.decided_by == "reviewer"
    assert merged.source_name == "kb.yaml" and merged.source_sha256 == sha256_file(DEMO_RECORDS)
    assert len(merged.changes) == sum(DEMO_COUNTS.values())
    assert [(a.printed_name, a.meaning, a.void) for a in approvals] == [
        ("reviewer", "approved", False)
    ]
    assert chain.ok, chain


def test_reimporting_the_demo_file_changes_nothing(demo_kb: Kb) -> None:
    with demo_kb.read() as session:
        outcome = import_file(session, DEMO_RECORDS, profile="kb-records")
    preview = outcome.preview
    assert preview.file_errors == [] and preview.unchanged == sum(DEMO_COUNTS.values())
    assert (preview.new, preview.changed, preview.invalid) == (0, 0, 0)


def test_the_demo_goes_only_into_an_empty_kb(demo_kb: Kb) -> None:
    with demo_kb.unit_of_work() as session, pytest.raises(KbError, match="already has content"):
        build_demo(session)


def test_the_demo_brings_its_own_team_so_a_kb_with_users_is_refused(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        bootstrap_admin(session, name="admin", password="admin-pass-1")
    with kb.unit_of_work() as session, pytest.raises(KbError, match="already has users"):
        build_demo(session)
