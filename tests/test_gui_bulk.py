# ruff: noqa: F811  (pytest fixtures imported from the main window tests are parameters here)
"""Editing at scale in the app: many rows selected, one field set on all of them as one undo
step, a record cloned into the editor; and the commands behind them, without Qt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from curator.bulk_edit import SetFieldDialog
from curator.commands import Clone, Delete, IdMap, UpdateMany, describe, execute
from curator.fields import EnumField, RefField
from curator.main_window import MainWindow
from curator.ref_index import ReferenceIndex
from kb.model.enums import ChangeOp
from kb.model.records import get_record
from kb.review.changes import current_draft
from kb.review.users import Actor
from kb.storage.db import Kb, open_kb

# The window fixtures of the main window's tests: a demo KB copy, its people, a settings file.
from tests.test_gui_main_window import make_window, people, settings  # noqa: F401

TWENTY = [f"AS-{n:05d}" for n in range(1, 21)]


@pytest.fixture
def cora(people: dict[str, Actor]) -> Actor:
    return people["cora"]


def staged(kb: Kb, actor: Actor) -> dict[str, tuple[ChangeOp, dict]]:
    with kb.read() as session:
        draft = current_draft(session, actor)
    return {c.human_id: (c.op, dict(c.fields)) for c in draft.changes} if draft else {}


def on_next_dialog(act: Callable[[QWidget], None]) -> None:
    """Act on the next modal dialog once it opens (the code under test blocks in exec())."""

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
            return
        act(dialog)

    QTimer.singleShot(0, poll)


def select_rows(window: MainWindow, first: int, last: int) -> None:
    table, model = window.records.table, window.records.model
    span = QItemSelection(model.index(first, 0), model.index(last, model.columnCount() - 1))
    table.selectionModel().select(span, QItemSelectionModel.SelectionFlag.ClearAndSelect)


# --- the commands, without Qt ---------------------------------------------------------------


def test_update_many_is_undone_record_by_record(demo_url: str, cora: Actor) -> None:
    kb, ids = open_kb(demo_url), IdMap()
    with kb.read() as session:
        levels = {h: get_record(session, h).fields["evidence_level"] for h in TWENTY}
    edit = UpdateMany(tuple((h, {"evidence_level": "R2"}) for h in TWENTY))
    assert describe(edit) == "Set evidence_level on 20 record(s)"
    with kb.unit_of_work() as session:
        outcome = execute(session, actor=cora, edit=edit, ids=ids)
    assert set(outcome.touched) == set(TWENTY)
    assert outcome.inverse == UpdateMany(tuple((h, {"evidence_level": levels[h]}) for h in TWENTY))
    assert len(staged(kb, cora)) == 20
    with kb.unit_of_work() as session:
        execute(session, actor=cora, edit=outcome.inverse, ids=ids)
    assert staged(kb, cora) == {}
    kb.close()


def test_clone_is_undone_by_deleting_the_copy(demo_url: str, cora: Actor) -> None:
    kb, ids = open_kb(demo_url), IdMap()
    with kb.unit_of_work() as session:
        outcome = execute(session, actor=cora, edit=Clone("AS-00001"), ids=ids)
    new_id = str(outcome.human_id)
    assert outcome.inverse == Delete(new_id)
    assert staged(kb, cora)[new_id][0] is ChangeOp.CREATE
    with kb.unit_of_work() as session:
        execute(session, actor=cora, edit=outcome.inverse, ids=ids)
    assert staged(kb, cora) == {}
    kb.close()


# --- the app -------------------------------------------------------------------------------


def test_set_the_level_of_twenty_selected_assertions_then_undo(
    qtbot, make_window, cora, demo_url
) -> None:
    window = make_window(cora)
    select_rows(window, 0, 19)
    assert window.records.selected_ids() == TWENTY
    assert window.bulk.act_set_field.isEnabled()
    shown: list[SetFieldDialog] = []

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, SetFieldDialog)
        shown.append(dialog)
        dialog.choose("evidence_level")
        level = dialog.widget()
        assert isinstance(level, EnumField)
        level.combo.setCurrentIndex(level.combo.findData("R2"))
        assert dialog.problem() is None
        dialog.accept()

    on_next_dialog(fill)
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.bulk.act_set_field.trigger()
    assert shown and shown[0].buttons.button(shown[0].buttons.StandardButton.Ok).text() == (
        "Set on 20"
    )
    kb = window.kb
    draft = staged(kb, cora)
    assert sorted(draft) == TWENTY
    assert {fields["evidence_level"] for _, fields in draft.values()} == {"R2"}
    # One step in the undo history for all twenty.
    stack = window.controller.stack
    assert stack.count() == 1 and stack.undoText() == "Set evidence_level on 20 record(s)"
    with qtbot.waitSignal(window.draft_loaded, timeout=10_000):
        pass
    assert window.records.model._marks.get("AS-00020") == "update"
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.act_undo.trigger()
    assert staged(kb, cora) == {}
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.act_redo.trigger()
    assert sorted(staged(kb, cora)) == TWENTY


def test_set_field_refuses_a_value_kb_would_refuse(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    dialog = SetFieldDialog(window.records.model.rtype, 3, window.store, window)
    qtbot.addWidget(dialog)
    dialog.choose("expression")
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    # An assertion needs its expression: it cannot be emptied on all of them.
    assert not ok.isEnabled() and "required" in dialog.message.text()
    dialog.choose("evidence_level")
    assert ok.isEnabled() and dialog.problem() is None


def test_delete_selected_is_one_undo_step(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    select_rows(window, 2, 4)
    on_next_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.bulk.act_delete_selected.trigger()
    draft = staged(window.kb, cora)
    assert sorted(draft) == ["AS-00003", "AS-00004", "AS-00005"]
    assert {op for op, _ in draft.values()} == {ChangeOp.DELETE}
    assert window.controller.stack.undoText() == "Delete 3 record(s)"
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.act_undo.trigger()
    assert staged(window.kb, cora) == {}


def test_clone_opens_the_copy_in_the_editor(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate("AS-00002")
    assert window.bulk.act_clone.isEnabled()
    with qtbot.waitSignal(window.controller.edited, timeout=10_000) as edited:
        window.bulk.act_clone.trigger()
    new_id = edited.args[0].human_id
    assert new_id != "AS-00002" and new_id.startswith("AS-")
    qtbot.waitUntil(lambda: window.record_pane.editing, timeout=10_000)
    editor = window.record_pane.editor
    assert editor.human_id == new_id
    assert editor.widgets["line_of_therapy"].value() == "adjuvant"
    assert staged(window.kb, cora)[new_id][0] is ChangeOp.CREATE
    # The heading says what the copy is, not "Edit AS-00128 — AS-00128".
    with window.kb.read() as session:
        title = get_record(session, "AS-00002").title
    heading = editor.heading.text()
    assert heading == f"New assertion {new_id} (clone of AS-00002) — {title}"
    # An assertion has no unique key: the copy may be saved as it is.
    assert editor.errors() == {}
    window.record_pane.cancel_edit(ask=False)
    # Opened again later, it is still a new record with its derived title.
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate(new_id)
    window.act_edit.trigger()
    assert editor.heading.text() == f"New assertion {new_id} — {title}"
    window.record_pane.cancel_edit(ask=False)


def test_a_cloned_gene_asks_for_its_own_symbol_and_hgnc_id(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate("GN-00001")
    with qtbot.waitSignal(window.controller.edited, timeout=10_000) as edited:
        window.bulk.act_clone.trigger()
    new_id = edited.args[0].human_id
    qtbot.waitUntil(lambda: window.record_pane.editing, timeout=10_000)
    editor = window.record_pane.editor
    assert editor.heading.text().startswith(f"New gene {new_id} (clone of GN-00001)")
    assert editor.widgets["symbol"].value() == "EGFR (copy)"
    errors = editor.errors()
    assert set(errors) == {"symbol", "hgnc_id"} and "give this one its own" in errors["symbol"]
    assert editor.messages["symbol"].isVisibleTo(editor)
    assert not editor.save_button.isEnabled()
    editor.widgets["symbol"].set_value("ERBB4")
    assert set(editor.errors()) == {"hgnc_id"} and not editor.save_button.isEnabled()
    editor.widgets["hgnc_id"].set_value("HGNC:3432")
    assert editor.errors() == {} and editor.save_button.isEnabled()
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        editor.save_button.click()
    _, fields = staged(window.kb, cora)[new_id]
    assert (fields["symbol"], fields["hgnc_id"]) == ("ERBB4", "HGNC:3432")
    assert fields["aliases"] == ["ERBB1", "HER1"]  # the rest is the copy's to edit or keep


def test_an_exon_map_clone_is_refused_with_the_reason(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate("EM-00001")
    said: list[str] = []

    def read_and_close(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        said.append(box.text())
        box.accept()

    on_next_dialog(read_and_close)
    window.bulk.act_clone.trigger()
    qtbot.waitUntil(lambda: bool(said), timeout=10_000)
    assert said[0].startswith("EM-00001 cannot be cloned: no two exon maps may share their gene")
    assert staged(window.kb, cora) == {}


# --- reference pickers ----------------------------------------------------------------------


def test_reference_index_ranks_ids_then_names_then_anything() -> None:
    index = ReferenceIndex(
        [
            ("TX-00001", "Osimertinib", "monotherapy · osimertinib"),
            ("TX-00002", "Dabrafenib + trametinib", "combination · dabrafenib, trametinib"),
            ("TX-00003", "Trametinib", "monotherapy · trametinib"),
            ("TX-00004", "Carboplatin + pemetrexed", "combination"),
        ]
    )
    assert [m.key for m in index.search("trametinib")] == ["TX-00003", "TX-00002"]
    assert [m.key for m in index.search("tx-00004")] == ["TX-00004"]
    # Every word must occur, in the id, the name or the summary.
    assert [m.key for m in index.search("combination dab")] == ["TX-00002"]
    assert index.search("   ") == [] and index.search("nothing like it") == []
    assert len(index.search("tx", limit=2)) == 2


def test_assertion_form_picks_a_therapy_by_name(qtbot, make_window, cora) -> None:
    window = make_window(cora)
    window.act_new.trigger()
    therapy = window.record_pane.editor.widgets["therapy"]
    assert isinstance(therapy, RefField)
    qtbot.waitUntil(lambda: len(window.store.index("therapy")) > 0, timeout=10_000)
    therapy.edit.setFocus()
    qtbot.keyClicks(therapy.edit, "osimer")
    picker = therapy.completer
    popup = picker.popup()
    qtbot.waitUntil(popup.isVisible, timeout=5_000)
    model = picker.results
    assert model.rowCount() >= 1
    first = [model.index(0, column).data() for column in range(3)]
    assert first[0].startswith("TX-") and "Osimertinib" in first[1]
    assert first[2]  # a one-line summary beside the name
    popup.setCurrentIndex(model.index(0, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert therapy.edit.text() == first[0] and therapy.value() == first[0]
    assert not popup.isVisible()
    assert therapy.title.text() == f"{first[0]}: {first[1]}"
    # A list field keeps what came before the last comma.
    citations = window.record_pane.editor.widgets["citations"]
    assert isinstance(citations, RefField)
    qtbot.waitUntil(lambda: len(window.store.index("citation")) > 1, timeout=10_000)
    index = window.store.index("citation")
    citations.edit.setText(f"{index.keys[0]}, {index.keys[1][-3:]}")
    found = citations.completer.search()
    assert found and citations.completer.choose(0) == f"{index.keys[0]}, {found[0].key}"
    window.record_pane.cancel_edit(ask=False)
