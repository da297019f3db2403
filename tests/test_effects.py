"""kb.review.effects on the demo KB: what a change set does to the saved textbook test patients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from kb.matching.matcher import Patient, patient_schema
from kb.model.enums import RecordType, Role
from kb.review.changes import approve_change_set, get_change_set, open_draft, submit_change_set
from kb.review.effects import PatientEffect, apply_changes, load_patients, match_effects
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from kb.storage.snapshot import build_snapshot
from tests.conftest import demo_admin

PATIENTS = Path(__file__).resolve().parent.parent / "resources" / "patients"


@pytest.fixture
def demo(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def people(demo: Kb) -> dict[str, Actor]:
    with demo.unit_of_work() as session:
        admin = demo_admin(session)
        return {
            name: add_user(session, actor=admin, name=name, role=role, password=f"{name}-pass-1")
            for name, role in (("cora", Role.CURATOR), ("rex", Role.REVIEWER))
        }


@pytest.fixture(scope="module")
def patients() -> list[Patient]:
    return load_patients(PATIENTS)


def draft(kb: Kb, actor: Actor, **edits: dict[str, Any]) -> str:
    """A draft change set updating each record named (`AS_00001={"evidence_level": "2"}`)."""
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=actor, title="effects test")
        for human_id, fields in edits.items():
            editor.update(human_id.replace("_", "-"), fields)
        return editor.human_id


def effects(kb: Kb, change_set: str, patients: list[Patient]) -> dict[str, PatientEffect]:
    with kb.read() as session:
        return {e.patient: e for e in match_effects(session, change_set, patients)}


# --- the saved patients ---------------------------------------------------------------------


def test_saved_patients_follow_the_schema_and_get_their_textbook_therapies(
    demo: Kb, patients: list[Patient]
) -> None:
    validator = Draft202012Validator(patient_schema())
    for path in sorted(PATIENTS.glob("*.json")):
        validator.validate(json.loads(path.read_text()))
    assert len(patients) == 8
    from kb.matching.matcher import Matcher

    with demo.read() as session:
        matcher = Matcher.from_snapshot(build_snapshot(session).as_json())
    offered = {
        p.id: {(m.therapy.name if m.therapy else "") for m in matcher.match(p).therapies}
        for p in patients
    }
    assert "Osimertinib" in offered["NSCLC, EGFR L858R"]
    assert "Adagrasib + Cetuximab" in offered["Colorectal, KRAS G12C"]
    assert "Larotrectinib" in offered["Thyroid, ETV6::NTRK3 fusion"]
    assert offered["Breast, HER2 IHC 2+ / ISH 1.5"] == {"Trastuzumab deruxtecan"}
    assert "Trastuzumab" in offered["Breast, HER2 IHC 3+"]
    assert offered["Bladder (solid tumour), TMB 12.5"] == {"Pembrolizumab"}
    assert offered["Colorectal, MSI-H"] == {"Pembrolizumab", "Nivolumab", "Nivolumab + Ipilimumab"}
    assert offered["AML, IDH1 R132H"] == {"Ivosidenib", "Olutasidenib"}


# --- effects --------------------------------------------------------------------------------


def test_raising_the_tmb_threshold_loses_pembrolizumab_for_tmb_12_5(
    demo: Kb, people: dict[str, Actor], patients: list[Patient]
) -> None:
    cs = draft(demo, people["cora"], TH_00001={"value": "16"})
    found = effects(demo, cs, patients)
    tmb = found["Bladder (solid tumour), TMB 12.5"]
    assert [item.id for item in tmb.lost] == ["AS-00036"]
    assert tmb.lost[0].therapy == "Pembrolizumab"
    assert tmb.lost[0].level == "1"
    assert tmb.gained == () and tmb.changed == ()
    assert tmb.lost[0].label() == "AS-00036 Pembrolizumab (level 1)"
    # Nobody else is touched by a TMB threshold.
    assert [p for p, e in found.items() if e.affected] == ["Bladder (solid tumour), TMB 12.5"]


def test_lowering_a_threshold_gains_a_therapy(
    demo: Kb, people: dict[str, Actor], patients: list[Patient]
) -> None:
    # HER2 ISH ratio >= 2.0 moved to >= 1.5: the HER2-low patient now reads as HER2-positive.
    cs = draft(demo, people["cora"], TH_00009={"value": "1.5"})
    her2_low = effects(demo, cs, patients)["Breast, HER2 IHC 2+ / ISH 1.5"]
    # Trastuzumab and the other HER2-positive breast cancer therapies (AS-00086..93).
    assert [item.id for item in her2_low.gained] == [
        "AS-00031",
        *(f"AS-{n:05d}" for n in range(86, 94)),
    ]
    assert her2_low.gained[0].therapy == "Trastuzumab"


def test_demoting_a_level_is_a_change_not_a_loss(
    demo: Kb, people: dict[str, Actor], patients: list[Patient]
) -> None:
    cs = draft(demo, people["cora"], AS_00001={"evidence_level": "2"})
    egfr = effects(demo, cs, patients)["NSCLC, EGFR L858R"]
    assert egfr.gained == () and egfr.lost == ()
    [change] = egfr.changed
    assert (change.before.level, change.after.level) == ("1", "2")
    assert change.label() == "AS-00001 Osimertinib: level 1 → 2"


def test_deleting_and_creating(demo: Kb, people: dict[str, Actor], patients: list[Patient]) -> None:
    with demo.unit_of_work() as session:
        editor = open_draft(session, actor=people["cora"], title="swap")
        editor.delete("AS-00049")
        editor.delete("AS-00050")
        new = editor.create(
            RecordType.ASSERTION,
            {
                "expression": "BX-00022",
                "tumour_types": ["COADREAD"],
                "therapy": "TX-00024",
                "implication": "sensitive",
                "evidence_level": "3A",
            },
        )
        cs = editor.human_id
    found = effects(demo, cs, patients)
    aml = found["AML, IDH1 R132H"]
    assert [item.id for item in aml.lost] == ["AS-00049", "AS-00050"]
    # The new assertion (nivolumab for MSI-H colorectal) reaches exactly the MSI-H patient.
    gained = {p: [(i.id, i.therapy, i.level) for i in e.gained] for p, e in found.items()}
    assert {p: g for p, g in gained.items() if g} == {
        "Colorectal, MSI-H": [(new, "Nivolumab", "3A")]
    }


def test_a_trial_that_opens_offers_its_arms(
    demo: Kb, people: dict[str, Actor], patients: list[Patient]
) -> None:
    cs = draft(demo, people["cora"], TR_00002={"status": "RECRUITING"})
    profile = Patient.from_json({"id": "UCEC MSI-H", "oncotree_code": "UCEC", "age": 60,
                                 "sex": "female", "msi": "MSI-H"})  # fmt: skip
    found = effects(demo, cs, [*patients, profile])
    arms = found["UCEC MSI-H"].gained
    assert [(item.kind, item.id) for item in arms] == [("trial_arm", "TA-00003")]
    assert arms[0].trial == "NCT02628067 arm K"
    assert arms[0].label().startswith("TA-00003 NCT02628067 arm K")
    # Colorectal is excluded from that arm.
    assert not found["Colorectal, MSI-H"].affected


def test_a_merged_change_set_keeps_its_effects(
    demo: Kb, people: dict[str, Actor], patients: list[Patient]
) -> None:
    cs = draft(demo, people["cora"], TH_00001={"value": "16"})
    before = effects(demo, cs, patients)
    with demo.unit_of_work() as session:
        submit_change_set(session, actor=people["cora"], change_set_id=cs)
    with demo.unit_of_work() as session:
        approve_change_set(session, actor=people["rex"], change_set_id=cs)
    assert effects(demo, cs, patients) == before


def test_apply_changes_leaves_the_snapshot_alone(demo: Kb, people: dict[str, Actor]) -> None:
    cs = draft(demo, people["cora"], TH_00001={"value": "16"})
    with demo.read() as session:
        snapshot = build_snapshot(session).as_json()
        changes = get_change_set(session, cs).changes
    after = apply_changes(snapshot, changes)
    value = {e["id"]: e["fields"]["value"] for e in after["records"]["threshold"]}
    was = {e["id"]: e["fields"]["value"] for e in snapshot["records"]["threshold"]}
    assert (value["TH-00001"], was["TH-00001"]) == ("16", "10")
    assert after["records"]["gene"] is snapshot["records"]["gene"]
