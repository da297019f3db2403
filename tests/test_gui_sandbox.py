"""The matching sandbox over the real demo KB: a patient entered in the form or as JSON, matched
off the UI thread against the main line, the curator's draft or a verified release, with the
explanation tree of the selected match; errors name their JSON path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QSettings, Qt

from curator.choices import ChoiceListModel, ChoiceStore
from curator.main_window import MainWindow
from curator.matching_sandbox import (
    ExplanationModel,
    MatchingSandbox,
    PatientCodeFilter,
    TherapyMatchModel,
    TrialMatchModel,
    apply_draft,
)
from curator.settings import Settings
from curator.workers import Workers
from kb.matching.matcher import Explanation, Matcher, Patient
from kb.model.enums import Role
from kb.release.folder import build_release
from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init
from kb.review.changes import open_draft
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from kb.storage.snapshot import build_snapshot, canonical_json
from tests.conftest import demo_admin

PASSWORD = "password1"
WAIT = 20_000
LUNG = {
    "id": "lung-1",
    "oncotree_code": "NSCLC",
    "age": 64,
    "sex": "female",
    "variants": [{"gene": "EGFR", "protein_change": "p.L858R"}],
}

# The FDA-approved therapies for EGFR L858R NSCLC in the demo; osimertinib ranks first.
EGFR_THERAPIES = {
    "Osimertinib",
    "Erlotinib",
    "Gefitinib",
    "Afatinib",
    "Dacomitinib",
    "Amivantamab + Lazertinib",
    "Ramucirumab + Erlotinib",
    "Osimertinib + Pemetrexed + Carboplatin",
}


@dataclass
class Sandbox:
    kb: Kb
    cora: Actor
    workers: Workers
    store: ChoiceStore


@pytest.fixture
def env(demo_url: str) -> Iterator[Sandbox]:
    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        cora = add_user(session, actor=admin, name="cora", role=Role.CURATOR, password=PASSWORD)
    workers = Workers()
    yield Sandbox(kb, cora, workers, ChoiceStore(kb, workers))
    workers.cancel_all()
    workers.wait()
    kb.close()


@pytest.fixture
def sandbox(qtbot, env: Sandbox, tmp_path: Path) -> MatchingSandbox:  # type: ignore[no-untyped-def]
    window = MatchingSandbox(env.kb, env.cora, env.workers, store=env.store, start_folder=tmp_path)
    qtbot.addWidget(window)
    window.show()
    return window


def match(qtbot, sandbox: MatchingSandbox) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(sandbox.matched, timeout=WAIT):
        sandbox.match_button.click()


def failure(qtbot, sandbox: MatchingSandbox) -> str:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(sandbox.match_failed, timeout=WAIT) as blocker:
        sandbox.match_button.click()
    return str(blocker.args[0])


def rows(model: Any) -> list[list[str]]:
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def tree_lines(
    model: ExplanationModel, parent: QModelIndex | None = None, depth: int = 0
) -> list[str]:
    parent = parent or QModelIndex()
    out = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        out.append("  " * depth + f"{index.data()}: {model.index(row, 1, parent).data()}")
        out.extend(tree_lines(model, index, depth + 1))
    return out


# --- matching the main line ----------------------------------------------------------------


def test_an_nsclc_egfr_l858r_patient_gets_osimertinib_at_level_1_and_why(
    qtbot, qtmodeltester, sandbox
) -> None:
    form = sandbox.form
    form.patient_id.setText("lung-1")
    form.code.setText("NSCLC")
    form.age.setValue(64)
    form.variants.add_row({"gene": "EGFR", "protein_change": "p.L858R"})
    assert form.to_json() == {k: v for k, v in LUNG.items() if k != "sex"}
    match(qtbot, sandbox)

    therapies = rows(sandbox.therapy_model)
    assert therapies and {row[1] for row in therapies} == EGFR_THERAPIES
    assert therapies[0][1] == "Osimertinib"
    assert {(row[2], row[3]) for row in therapies} == {("1", "sensitive")}
    assert "KB version 1 (main line)" in sandbox.status.text()
    assert sandbox.trial_model.rowCount() == 0  # no demo trial is recruiting

    # The first match is selected and its explanation tree shown, expanded.
    assert sandbox.therapy_view.currentIndex().row() == 0
    lines = tree_lines(sandbox.explanation_model)
    assert lines[0].startswith("[+] assertion AS-00001 — Osimertinib, level 1")
    assert "  [+] tumour type within NSCLC: NSCLC (Non-Small Cell Lung Cancer) is listed" in lines
    assert "    [+] EGFR L858R: patient has EGFR p.Leu858Arg" in lines
    assert any(line.startswith("    [-] EGFR exon 19 in-frame deletion") for line in lines)
    child = sandbox.explanation_model.index(0, 0, sandbox.explanation_model.index(0, 0))
    assert sandbox.explanation_view.isExpanded(child.parent())
    qtmodeltester.check(sandbox.explanation_model)
    qtmodeltester.check(sandbox.therapy_model)


def test_json_errors_are_shown_with_their_path(qtbot, sandbox, tmp_path) -> None:
    sandbox.tabs.setCurrentWidget(sandbox.json_edit)
    sandbox.json_edit.setPlainText(
        json.dumps({"id": "p", "variants": [{"gene": "EGFR", "protein_change": "p.XYZ"}]})
    )
    message = failure(qtbot, sandbox)
    assert message.startswith("$.variants[0].protein_change: unknown amino acid 'XYZ'")
    assert "$.variants[0].protein_change" in sandbox.status.text()

    sandbox.json_edit.setPlainText('{"id": "p", "age": }')
    message = failure(qtbot, sandbox)
    assert message.startswith("$: not JSON: Expecting value at line 1, column")

    sandbox.json_edit.setPlainText('{"id": "p", "tmb": -3}')
    assert "$.tmb" in failure(qtbot, sandbox)
    # The form cannot show what the JSON does not say: the JSON tab stays in front.
    sandbox.tabs.setCurrentIndex(0)
    assert sandbox.tabs.currentWidget() is sandbox.json_edit
    assert "$.tmb" in (sandbox.error or "")

    bad = tmp_path / "patient.json"
    bad.write_text('{"id": "p", "sex": "robot"}', encoding="utf-8")
    sandbox.load_file(bad)
    assert sandbox.error is not None
    assert sandbox.error.startswith(f"{bad}: $.sex:") and "female, male or unknown" in sandbox.error


def test_form_json_and_files_round_trip(qtbot, sandbox, tmp_path) -> None:
    extra = {"mmr": "dMMR", "variants": [{"gene": "KRAS", "protein_change": "p.G12C", "exon": 2}]}
    sandbox.set_patient({"id": "p2", "oncotree_code": "COAD", "tmb": 12.5, **extra})
    form = sandbox.form
    assert form.code.text() == "COAD" and form.tmb.value() == 12.5
    assert form.variants.table.item(0, 0).text() == "KRAS"
    assert not form.copy_number.tested.isChecked()  # not given: unknown, not "none found"
    data = form.to_json()
    assert data["mmr"] == "dMMR" and data["variants"][0]["exon"] == 2  # kept though not shown
    assert "copy_number" not in data and "age" not in data

    sandbox.tabs.setCurrentWidget(sandbox.json_edit)
    shown = json.loads(sandbox.json_edit.toPlainText())
    assert shown == data
    shown["her2_ihc"] = "2+"
    shown["copy_number"] = []
    sandbox.json_edit.setPlainText(json.dumps(shown))
    sandbox.tabs.setCurrentIndex(0)
    assert form.her2_ihc.currentData() == "2+" and form.copy_number.tested.isChecked()

    path = tmp_path / "saved.json"
    assert sandbox.save_file(path)
    assert json.loads(path.read_text(encoding="utf-8"))["her2_ihc"] == "2+"
    sandbox.clear_patient()
    assert form.code.text() == ""
    sandbox.load_file(path)
    assert form.code.text() == "COAD" and sandbox.error is None
    Patient.from_json(form.to_json())


# --- the draft and releases ---------------------------------------------------------------------


def test_include_my_draft_matches_as_if_the_draft_were_merged(qtbot, env, sandbox) -> None:
    with env.kb.unit_of_work() as session:
        editor = open_draft(session, actor=env.cora, title="sandbox")
        editor.update("AS-00001", {"evidence_level": "2"})
        editor.update("TR-00004", {"status": "RECRUITING"})
        draft = editor.human_id
    patient = LUNG | {"fusions": [{"five_prime": "KIF5B", "three_prime": "RET"}]}
    sandbox.set_patient(patient)
    match(qtbot, sandbox)
    levels = {row[0]: row[2] for row in rows(sandbox.therapy_model)}
    assert levels["AS-00001"] == "1" and sandbox.trial_model.rowCount() == 0

    sandbox.include_draft.setChecked(True)
    match(qtbot, sandbox)
    levels = {row[0]: row[2] for row in rows(sandbox.therapy_model)}
    assert levels["AS-00001"] == "2"
    assert f"your draft {draft} (2 changes)" in sandbox.status.text()
    trials = rows(sandbox.trial_model)
    assert {row[0] for row in trials} == {"NCT03157128"}
    assert {row[3] for row in trials} == {"matches"}
    sandbox.trial_view.selectRow(0)
    lines = tree_lines(sandbox.explanation_model)
    assert lines[0].startswith("[+] NCT03157128 arm")
    assert any("age 12 or over: patient is 64" in line for line in lines)

    # Same version, same draft: the matcher is reused rather than rebuilt.
    knowledge = sandbox._knowledge
    match(qtbot, sandbox)
    assert sandbox._knowledge is knowledge


def test_apply_draft_creates_updates_and_deletes() -> None:
    from kb.model.enums import ChangeOp, RecordType
    from kb.review.changes import ChangeRow

    snapshot = {
        "records": {"gene": [{"id": "GN-1", "uuid": "u1", "fields": {"symbol": "A", "role": "x"}},
                             {"id": "GN-2", "uuid": "u2", "fields": {"symbol": "B"}}]},
        "tumour_types": [],
    }  # fmt: skip

    def change(op: ChangeOp, human_id: str, fields: dict[str, Any]) -> ChangeRow:
        return ChangeRow(op, RecordType.GENE, human_id, f"u-{human_id}", fields, {}, "cora")

    out = apply_draft(
        snapshot,
        [
            change(ChangeOp.UPDATE, "GN-1", {"role": "oncogene"}),
            change(ChangeOp.DELETE, "GN-2", {}),
            change(ChangeOp.CREATE, "GN-0", {"symbol": "C"}),
        ],
    )
    assert out["records"]["gene"] == [
        {"id": "GN-0", "uuid": "u-GN-0", "fields": {"symbol": "C"}},
        {"id": "GN-1", "uuid": "u1", "fields": {"symbol": "A", "role": "oncogene"}},
    ]
    assert snapshot["records"]["gene"][0]["fields"]["role"] == "x"  # the input is untouched


@pytest.fixture
def release(env: Sandbox, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signed release of the demo, its trust root, and a root of another key."""
    with env.kb.read() as session:
        data = build_snapshot(session).as_json()
    keys = tmp_path / "keys"
    made = {name: generate_keypair(keys, name=name, passphrase=b"pass") for name in ("a", "b")}
    private = {name: load_private_key(f.private_path, b"pass") for name, f in made.items()}
    roots = {}
    for name in ("a", "b"):
        roots[name] = tmp_path / f"root-{name}.json"
        save_json_file(trust_init([made[name].public_path], 1, [private[name]]), roots[name])
    approval = {
        "name": "Dr A. Reviewer",
        "time": "2026-10-31T17:00:00Z",
        "meaning": "approved for release",
        "reason": "sandbox test",
        "digest": hashlib.sha256(canonical_json(data)).hexdigest(),
    }
    folder = tmp_path / "release"
    build_release(
        data,
        release_version="2026.11.0",
        release_sequence=1,
        previous_release_digest=None,
        previous_snapshot=None,
        approvals=[approval],
        created="2026-11-01T09:30:00Z",
        trust_root_envelope=json.loads(roots["a"].read_text()),
        signing_keys=[private["a"]],
        out_dir=folder,
    )
    return folder, roots["a"], roots["b"]


def test_a_release_folder_is_verified_with_the_trust_root_before_matching(
    qtbot, sandbox, release
) -> None:
    folder, root, other_root = release
    sandbox.set_patient(LUNG)
    sandbox.release_edit.setText(str(folder))
    sandbox.root_edit.setText(str(other_root))
    assert sandbox.use_release.isChecked()
    message = failure(qtbot, sandbox)
    assert message and sandbox.therapy_model.rowCount() == 0

    sandbox.root_edit.setText(str(root))
    match(qtbot, sandbox)
    assert "release 2026.11.0 (#1)" in sandbox.status.text()
    assert "1 trusted signature" in sandbox.status.text()
    assert {row[1] for row in rows(sandbox.therapy_model)} == EGFR_THERAPIES

    sandbox.root_edit.clear()
    assert "trust root" in failure(qtbot, sandbox)


# --- the hook and the models ----------------------------------------------------------------


def test_the_sandbox_opens_from_the_tools_menu_with_an_oncotree_completer(
    qtbot, env, demo_url, tmp_path
) -> None:
    settings = Settings(QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat))
    window = MainWindow(open_kb(demo_url), env.cora, settings=settings)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.draft_loaded, timeout=WAIT):
        window.show()
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.action("matching_sandbox") in tools.actions()
    assert window.action("matching_sandbox").shortcut().toString() == "Ctrl+Shift+M"
    window.action("matching_sandbox").trigger()
    sandbox = window.findChild(MatchingSandbox)
    assert isinstance(sandbox, MatchingSandbox)
    codes = sandbox.form.code_filter
    qtbot.waitUntil(lambda: codes.rowCount() > 0, timeout=WAIT)
    keys = {codes.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(codes.rowCount())}
    assert "NSCLC" in keys and "ALL_SOLID" not in keys  # a patient has a tumour, not a scope
    completer = sandbox.form.code.completer()
    completer.setCompletionPrefix("Non-Small")
    assert completer.currentCompletion() == "NSCLC"
    sandbox.set_patient(LUNG)
    match(qtbot, sandbox)
    assert sandbox.therapy_model.rowCount() == 10  # osimertinib x3 + seven others
    sandbox.close()
    window.workers.wait()


def test_models_keep_the_qt_contract(qtmodeltester, env) -> None:
    with env.kb.read() as session:
        matcher = Matcher.from_snapshot(build_snapshot(session).as_json())
    result = matcher.match(Patient.from_json(LUNG))

    therapies = TherapyMatchModel()
    qtmodeltester.check(therapies)
    therapies.set_matches(result.therapies)
    qtmodeltester.check(therapies)
    assert therapies.match_at(0) is result.therapies[0] and therapies.match_at(99) is None

    trials = TrialMatchModel()
    qtmodeltester.check(trials)
    trials.set_matches(result.trials, result.trials_to_review)
    qtmodeltester.check(trials)

    tree = ExplanationModel()
    qtmodeltester.check(tree)
    leaf = Explanation("biomarker", "EGFR L858R", True, "patient has it")
    unknown = Explanation("age", "age 18 or over", None, "no age given")
    tree.set_roots([Explanation("AND", "arm", None, "unknown", (leaf, unknown)), leaf])
    qtmodeltester.check(tree)
    assert tree.index(0, 0).data() == "[?] arm"
    assert tree.index(1, 0, tree.index(0, 0)).data() == "[?] age 18 or over"
    assert tree.index(0, 1, tree.index(0, 0)).data() == "patient has it"

    source = ChoiceListModel()
    source.set_items([("ALL_SOLID", "special scope"), ("NSCLC", "Non-Small Cell Lung Cancer")])
    codes = PatientCodeFilter()
    codes.setSourceModel(source)
    qtmodeltester.check(codes)
    assert (
        codes.rowCount() == 1 and codes.index(0, 0).data() == "NSCLC — Non-Small Cell Lung Cancer"
    )


def test_the_explanation_tree_shows_exon_placement_and_oncogenicity(qtbot, sandbox) -> None:
    """New forms in the tree: EGFR p.E746_A750del placed in exon 19 by the KB's exon map (no
    exon in the patient), and KRAS G12C read as activating from the KB's oncogenicity record."""
    form = sandbox.form
    form.patient_id.setText("lung-2")
    form.code.setText("LUAD")
    form.variants.add_row({"gene": "EGFR", "protein_change": "p.E746_A750del"})
    match(qtbot, sandbox)
    lines = tree_lines(sandbox.explanation_model)
    assert lines[0].startswith("[+] assertion AS-00001 — Osimertinib, level 1")
    assert (
        "    [+] EGFR exon 19 in-frame deletion: patient has EGFR p.Glu746_Ala750del in exon 19 "
        "(codons 729-761 of NM_005228.5), by the KB's exon map, an in-frame deletion"
    ) in lines
    form.set_json(
        {"id": "crc-1", "oncotree_code": "COADREAD",
         "variants": [{"gene": "KRAS", "protein_change": "p.G12C"}]}
    )  # fmt: skip
    match(qtbot, sandbox)
    resistant = [row for row in rows(sandbox.therapy_model) if row[3] == "resistant"]
    assert resistant, rows(sandbox.therapy_model)
    sandbox.therapy_view.setCurrentIndex(
        sandbox.therapy_model.index(rows(sandbox.therapy_model).index(resistant[0]), 0)
    )
    text = "\n".join(tree_lines(sandbox.explanation_model))
    assert "oncogenic" in text and "OG-" in text, text


def test_untested_egfr_and_alk_show_pembrolizumab_as_possible_with_the_tests(
    qtbot, qtmodeltester, sandbox
) -> None:
    """Issue 14 item 3: PD-L1 TPS 75 % NSCLC, never tested for EGFR or ALK."""
    sandbox.set_patient({"id": "lung-2", "oncotree_code": "NSCLC", "pdl1_tps": 75})
    match(qtbot, sandbox)
    assert "AS-00039" not in {row[0] for row in rows(sandbox.therapy_model)}
    possible = {row[0]: row for row in rows(sandbox.possible_model)}
    pembro = possible["AS-00039"]
    assert pembro[1] == "Pembrolizumab" and pembro[2] == "1"
    assert pembro[3] == (
        "EGFR exon 19 in-frame deletion (negative); EGFR L858R (negative); ALK fusion (negative)"
    )
    assert "possible with tests" in sandbox.status.text()
    qtmodeltester.check(sandbox.possible_model)

    row = list(possible).index("AS-00039")
    sandbox.possible_view.setCurrentIndex(sandbox.possible_model.index(row, 0))
    lines = tree_lines(sandbox.explanation_model)
    assert lines[0].startswith("[?] assertion AS-00039 — Pembrolizumab, level 1")
    assert lines[1] == "  [>] tests to order: 3 untested criteria decide it"
    assert any(
        line.startswith("    [>] ALK fusion: ALK fusion testing (RNA sequencing, FISH or IHC)")
        and "needs negative" in line
        for line in lines
    )
    assert "    [i] threshold: CD274 TPS >= 50% by PD-L1 IHC 22C3 pharmDx on tissue" in lines
    assert any(line.startswith("    [i] approval: FDA 2016-10-24") for line in lines)
    qtmodeltester.check(sandbox.explanation_model)
