"""Evidence items end to end: CIViC rows import as evidence items beside the assertion they
support or refute; a curated assertion is pointed at, never rewritten; `kb show` lists them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kb.importing.service import import_file
from kb.model.enums import RecordType
from kb.model.records import evidence_of, get_record, list_records
from kb.review.changes import approve_change_set, submit_change_set
from kb.review.users import authenticate
from kb.storage.db import open_kb
from tests.conftest import SHARED_DATA, require_shared

EVIDENCE = SHARED_DATA / "civic" / "civic-evidence-sample-2024-08-01.tsv"


def _three_papers(tmp_path: Path) -> Path:
    """Two papers supporting crizotinib in ALK-fusion NSCLC, and one that does not."""
    lines = require_shared(EVIDENCE).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    base = lines[30].split("\t")

    def row(level: str, eid: str, pmid: str, direction: str) -> str:
        cells = list(base)
        for column, value in (
            ("evidence_level", level),
            ("evidence_id", eid),
            ("citation_id", pmid),
            ("evidence_direction", direction),
        ):
            cells[header.index(column)] = value
        return "\t".join(cells)

    path = tmp_path / "evidence.tsv"
    body = [
        row("B", "9101", "24478318", "Supports"),
        row("C", "9102", "25470694", "Supports"),
        row("C", "9103", "26186302", "Does Not Support"),
    ]
    path.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    return path


def _import_and_approve(url: str, path: Path) -> str:
    kb = open_kb(url)
    try:
        with kb.unit_of_work() as session:
            curator = authenticate(session, name="curator", password="demo-curator")
            outcome = import_file(
                session, path, profile="civic-evidence", actor=curator, dry_run=False
            )
            assert outcome.change_set_id is not None
            submit_change_set(session, actor=curator, change_set_id=outcome.change_set_id)
        with kb.unit_of_work() as session:
            reviewer = authenticate(session, name="reviewer", password="demo-reviewer")
            approve_change_set(session, actor=reviewer, change_set_id=outcome.change_set_id)
        with kb.read() as session:
            items = list_records(session, RecordType.EVIDENCE_ITEM)
            (linked,) = {tuple(item.fields["assertions"]) for item in items}
            (assertion,) = linked
            return str(assertion)
    finally:
        kb.close()


def test_papers_about_one_assertion_land_as_its_evidence_and_kb_show_lists_them(
    demo_url: str, tmp_path: Path
) -> None:
    assertion = _import_and_approve(demo_url, _three_papers(tmp_path))
    kb = open_kb(demo_url)
    with kb.read() as session:
        shown = get_record(session, assertion)
        evidence = evidence_of(session, assertion)
    kb.close()
    assert shown.fields["evidence_level"] == "3A"  # CIViC B, the best of B and C
    assert [(e.fields["source_id"], e.fields["direction"]) for e in evidence] == [
        ("EID9101", "supports"),
        ("EID9102", "supports"),
        ("EID9103", "does_not_support"),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "kb", "--db", demo_url, "show", assertion],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "evidence: 2 supporting, 1 not supporting" in result.stdout
    assert "CIViC EID9103: predictive level C (does not support)" in result.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "kb", "--db", demo_url, "show", assertion, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    directions = [e["direction"] for e in json.loads(as_json.stdout)["evidence"]]
    assert directions == ["supports", "supports", "does_not_support"]


def test_reimporting_the_same_evidence_changes_nothing(demo_url: str, tmp_path: Path) -> None:
    path = _three_papers(tmp_path)
    _import_and_approve(demo_url, path)
    kb = open_kb(demo_url)
    with kb.read() as session:
        again = import_file(session, path, profile="civic-evidence").preview
    kb.close()
    assert (again.new, again.changed, again.invalid) == (0, 0, 0)
    assert again.unchanged == 3


def test_a_curated_assertion_is_pointed_at_never_rewritten(demo_url: str, tmp_path: Path) -> None:
    """A CIViC level-B row about crizotinib in ROS1-fusion NSCLC matches the demo's FDA level-1
    assertion: the evidence item links to it, and its level, citations and description stay."""
    lines = require_shared(EVIDENCE).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    cells = lines[30].split("\t")
    for column, value in (
        ("molecular_profile", "ROS1 Fusion"),
        ("disease", "Lung Non-small Cell Carcinoma"),
        ("doid", "3908"),
        ("therapies", "Crizotinib"),
        ("evidence_level", "B"),
        ("evidence_id", "9201"),
    ):
        cells[header.index(column)] = value
    path = tmp_path / "ros1.tsv"
    path.write_text(lines[0] + "\n" + "\t".join(cells) + "\n", encoding="utf-8")
    kb = open_kb(demo_url)
    with kb.read() as session:
        demo = {
            r.human_id: r
            for r in list_records(session, RecordType.ASSERTION)
            if "Crizotinib" in r.title and "ROS1" in r.title
        }
        preview = import_file(session, path, profile="civic-evidence").preview
    kb.close()
    (curated,) = demo.values()
    assert curated.fields["evidence_level"] == "1"
    assert (preview.new, preview.changed) == (1, 0)  # the evidence item only
    (assertion,) = (r for r in preview.plan if r.rtype is RecordType.ASSERTION)
    assert assertion.target == curated.human_id and assertion.status == "unchanged"
    (item,) = (r for r in preview.plan if r.rtype is RecordType.EVIDENCE_ITEM)
    assert item.fields["assertions"] == [curated.human_id]
