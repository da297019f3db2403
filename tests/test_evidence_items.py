"""Evidence items end to end: CIViC rows import as evidence items beside the assertion they
support or refute; a curated assertion is pointed at, never rewritten; `kb show` lists them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from kb.importing.civic import KbLookup, evidence_adapter
from kb.importing.service import import_file
from kb.model.enums import RecordType
from kb.model.levels import Crosswalk
from kb.model.records import RecordRow, evidence_of, get_record, list_records
from kb.review.changes import approve_change_set, submit_change_set
from kb.review.users import authenticate
from kb.storage.db import open_kb
from kb.validation.checks import Vocabularies, validate_rows
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
    # The papers land on the demo's FDA-label assertion for crizotinib in ALK-positive NSCLC,
    # whose level 1 (FDA-recognised) stays above CIViC's B and C.
    assert shown.fields["evidence_level"] == "1"
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


def _edited(tmp_path: Path, name: str, *rows: dict[str, str]) -> Path:
    """Rows of the CIViC sample (row 31: ALK fusion, NSCLC, crizotinib) with cells replaced."""
    lines = require_shared(EVIDENCE).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    body = []
    for values in rows:
        cells = lines[30].split("\t")
        for column, value in values.items():
            cells[header.index(column)] = value
        body.append("\t".join(cells))
    path = tmp_path / name
    path.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    return path


_ROS1_CRIZOTINIB = {
    "molecular_profile": "ROS1 Fusion",
    "disease": "Lung Non-small Cell Carcinoma",
    "doid": "3908",
    "therapies": "Crizotinib",
}


def test_refuting_rows_link_only_to_what_exists(demo_url: str, tmp_path: Path) -> None:
    """A "Does Not Support" row alone links to the KB's assertion if it has one, and never
    proposes one; with nothing to refute, it imports unlinked and says why."""
    path = _edited(
        tmp_path,
        "refuting.tsv",
        {**_ROS1_CRIZOTINIB, "evidence_id": "9301", "evidence_direction": "Does Not Support"},
        {
            **_ROS1_CRIZOTINIB,
            "therapies": "Cabozantinib",
            "evidence_id": "9302",
            "evidence_direction": "Does Not Support",
        },
    )
    kb = open_kb(demo_url)
    with kb.read() as session:
        (curated,) = (
            r.human_id
            for r in list_records(session, RecordType.ASSERTION)
            if "Crizotinib" in r.title and "ROS1" in r.title
        )
        preview = import_file(session, path, profile="civic-evidence").preview
    kb.close()
    assert not [r for r in preview.plan if r.rtype is RecordType.ASSERTION and r.status == "new"]
    items = {
        r.fields["source_id"]: r.fields for r in preview.plan if r.rtype is RecordType.EVIDENCE_ITEM
    }
    assert items["EID9301"]["assertions"] == [curated]
    assert items["EID9302"]["assertions"] == []
    (note,) = [n for n in preview.notes if n.location.row == 3]
    assert "refutes an association that neither the KB nor this file asserts" in note.message
    assert preview.new == 2 and preview.changed == 0  # the two evidence items


def _preclinical_resistance(tmp_path: Path) -> Path:
    """Cell-line evidence (CIViC D) of resistance to cabozantinib in ROS1-fusion NSCLC."""
    return _edited(
        tmp_path,
        "resistance.tsv",
        {**_ROS1_CRIZOTINIB, "therapies": "Cabozantinib", "evidence_id": "9401",
         "significance": "Resistance", "evidence_level": "D"},
    )  # fmt: skip


def test_preclinical_resistance_keeps_its_source_level_for_a_curator(
    demo_url: str, tmp_path: Path
) -> None:
    """OncoKB has no level for CIViC D resistance: the assertion is proposed with the source's
    level and none in the KB's scheme, the row says which crosswalk has the gap, and `kb
    validate` warns until a curator sets one."""
    path = _preclinical_resistance(tmp_path)
    kb = open_kb(demo_url)
    with kb.read() as session:
        preview = import_file(session, path, profile="civic-evidence").preview
        (crosswalk,) = (
            r.human_id
            for r in list_records(session, RecordType.LEVEL_CROSSWALK)
            if r.fields["implication"] == "resistant" and "CIViC" in r.title
        )
    kb.close()
    (assertion,) = (r for r in preview.plan if r.rtype is RecordType.ASSERTION)
    assert assertion.status == "new"
    fields = assertion.fields
    assert fields["evidence_level"] is None
    assert (fields["source_scheme"], fields["source_level"]) == ("CIViC evidence levels", "D")
    (note,) = preview.notes
    assert f"crosswalk {crosswalk}" in note.message and "no resistant level" in note.message
    row = RecordRow(RecordType.ASSERTION, "x", "AS-99999", 0, "", dict(fields))
    problems = [p for p in validate_rows([row], Vocabularies()) if p.record == "AS-99999"]
    assert [(p.code, p.severity) for p in problems if p.field == "evidence_level"] == [
        ("no_kb_level", "warning")
    ]


def test_the_kbs_crosswalk_records_decide_levels(demo_url: str, tmp_path: Path) -> None:
    """Crosswalks are curated data: a KB whose CIViC->OncoKB resistant crosswalk maps D to R2
    imports preclinical resistance at R2, with no gap."""
    path = _preclinical_resistance(tmp_path)
    kb = open_kb(demo_url)
    with kb.read() as session:
        lookup = KbLookup.from_session(session)
    kb.close()
    assert lookup.crosswalks[("CIViC evidence levels", "resistant")].target("D") is None
    edited = dict(lookup.crosswalks)
    edited[("CIViC evidence levels", "resistant")] = Crosswalk(
        "CIViC evidence levels",
        "OncoKB therapeutic levels v2 (2019)",
        "resistant",
        {"A": "R1", "B": "R2", "C": "R2", "D": "R2", "E": None},
        "LX-00099",
    )
    (row,) = evidence_adapter(path, lookup=replace(lookup, crosswalks=edited))
    (assertion,) = (r for r in row.records if r.rtype is RecordType.ASSERTION)
    assert assertion.fields["evidence_level"] == "R2" and row.notes == ()


def test_oncogenic_evidence_bears_on_the_alterations_oncogenicity_record(
    demo_url: str, tmp_path: Path
) -> None:
    """Oncogenic evidence about KRAS G12C points at the demo's curated oncogenicity record
    (left as it is); about an alteration the KB has none for, it proposes a draft."""
    path = _edited(
        tmp_path,
        "oncogenic.tsv",
        *(
            {"molecular_profile": profile, "evidence_type": "Oncogenic", "therapies": "",
             "significance": "Oncogenicity", "evidence_level": "C", "evidence_id": eid,
             "disease": "Colorectal Cancer", "doid": "9256"}
            for profile, eid in (("KRAS G12C", "9501"), ("KRAS A146T", "9502"))
        ),
    )  # fmt: skip
    kb = open_kb(demo_url)
    with kb.read() as session:
        (curated,) = (
            r for r in list_records(session, RecordType.ONCOGENICITY) if "G12C" in r.title
        )
        preview = import_file(session, path, profile="civic-evidence").preview
    kb.close()
    items = {
        r.fields["source_id"]: r.fields for r in preview.plan if r.rtype is RecordType.EVIDENCE_ITEM
    }
    assert items["EID9501"]["oncogenicity"] == curated.human_id
    assert items["EID9501"]["assertions"] == []
    (drafted,) = (
        r for r in preview.plan if r.rtype is RecordType.ONCOGENICITY and r.status == "new"
    )
    assert drafted.fields["oncogenicity"] == "likely_oncogenic"
    assert preview.changed == 0  # the curated record is not rewritten


def test_a_curator_may_take_the_sources_value_field_by_field(demo_url: str, tmp_path: Path) -> None:
    """By default a matching row leaves the curated assertion alone; with --take-source the
    named fields take the source's values, and the summary counts the change."""
    path = _edited(
        tmp_path, "ros1.tsv", {**_ROS1_CRIZOTINIB, "evidence_level": "B", "evidence_id": "9601"}
    )
    kb = open_kb(demo_url)
    with kb.read() as session:
        kept = import_file(session, path, profile="civic-evidence").preview
        taken = import_file(
            session, path, profile="civic-evidence", take={"evidence_level"}
        ).preview
    kb.close()
    assert (kept.new, kept.changed) == (1, 0)
    (assertion,) = (r for r in taken.plan if r.rtype is RecordType.ASSERTION)
    assert assertion.status == "changed"
    assert dict(assertion.changes) == {"evidence_level": "3A"}
    assert dict(assertion.before) == {"evidence_level": "1"}
    assert taken.by_type[RecordType.ASSERTION].changed == 1
    result = subprocess.run(
        [sys.executable, "-m", "kb", "--db", demo_url, "import", str(path), "--profile",
         "civic-evidence", "--dry-run", "--take-source", "evidence_level", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # The row adds an evidence item and changes the assertion: a new row, whose change is
    # counted among the records, and the totals agree with the per-type counts.
    assert (summary["rows"], summary["new"], summary["changed"]) == (1, 1, 0)
    assert summary["records"]["changed"] == 1 == summary["by_type"]["assertion"]["changed"]
    assert summary["records"]["new"] == sum(c["new"] for c in summary["by_type"].values())
    assert "records: 2 new, 1 changed" in taken.summary()
    wrong = subprocess.run(
        [sys.executable, "-m", "kb", "--db", demo_url, "import", str(path), "--profile",
         "civic-evidence", "--dry-run", "--take-source", "levle"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert wrong.returncode != 0 and "levle is no record field" in wrong.stderr
