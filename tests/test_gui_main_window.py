"""The main window over the demo KB: loading off the UI thread, search, navigation, the record
pane, the editors with inline validation, and edits that land in the draft with undo / redo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from sqlalchemy import text

from curator.about_dialog import AboutDialog, versions
from curator.expression_editor import ExpressionEditor
from curator.fields import RefField, ThresholdValueField
from curator.main_window import MainWindow
from curator.qt_compat import emit
from curator.settings import Settings
from curator.theme import ThemeManager, is_dark
from kb.model.enums import RecordType, Role
from kb.model.records import SPECS
from kb.review.users import Actor, add_user
from kb.storage.db import open_kb
from tests.conftest import demo_admin

PASSWORD = "password1"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def people(demo_url: str) -> dict[str, Actor]:
    kb = open_kb(demo_url)
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        out = {"admin": admin}
        for name, role in (
            ("cora", Role.CURATOR),
            ("rex", Role.REVIEWER),
            ("rm", Role.RELEASE_MANAGER),
        ):
            out[name] = add_user(session, actor=admin, name=name, role=role, password=PASSWORD)
    kb.close()
    return out


@pytest.fixture
def make_window(qtbot, demo_url: str, settings: Settings) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(actor: Actor | None, view: str = "assertion", wait: bool = True) -> MainWindow:
        kb = open_kb(demo_url)
        window = MainWindow(kb, actor, settings=settings, start_view=view)
        # Never leave an unsaved edit: closing would ask, and nobody is there to answer.
        qtbot.addWidget(
            window,
            before_close_func=lambda w: w.record_pane.stack.setCurrentWidget(w.record_pane.view),
        )
        made.append(window)
        if wait:
            with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb=view.__eq__):
                window.show()
        else:
            window.show()
        return window

    yield make
    for window in made:
        window.workers.wait()


def answer_next_dialog(qtbot, act: Callable[[QWidget], None]) -> list[QWidget]:  # type: ignore[no-untyped-def]
    """Act on the next modal dialog once it opens (the code under test blocks in exec())."""
    handled: list[QWidget] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or handled:
            return
        handled.append(dialog)
        timer.stop()
        act(dialog)

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(poll)
    timer.start()
    qtbot.addWidget(QWidget())  # keeps the timer's owner alive with the test
    answer_next_dialog.timers.append(timer)  # type: ignore[attr-defined]
    return handled


answer_next_dialog.timers = []  # type: ignore[attr-defined]


def click(button: QMessageBox.StandardButton) -> Callable[[QWidget], None]:
    def act(dialog: QWidget) -> None:
        assert isinstance(dialog, QMessageBox)
        dialog.button(button).click()

    return act


def show_record(qtbot, window: MainWindow, human_id: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.record_shown, timeout=10_000, check_params_cb=human_id.__eq__):
        window.navigate(human_id)


# --- loading and browsing ---------------------------------------------------------------------


def test_rows_arrive_by_signal_and_the_window_never_waits(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], wait=False)
    # The constructor returned before any row was read: the table fills in later.
    assert window.records.model.rowCount() == 0
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="assertion".__eq__):
        pass
    assert window.records.model.rowCount() == 103
    assert window.records.count_label.text() == "103 assertions"
    assert window.navigator.items["assertion"].text(1) == "103"
    qtbot.waitUntil(lambda: window.status_bar.version_status.text() == "Version 1", timeout=5000)
    assert window.status_bar.user_status.text() == "User: cora"
    assert window.status_bar.role_status.text() == "Role: curator"
    assert "demo" in window.status_bar.kb_status.text()


def test_search_as_you_type_and_column_filters(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    qtbot.keyClicks(window.records.search, "osimertinib")
    assert window.records.model.rowCount() == 5
    assert window.records.count_label.text() == "5 of 103 assertions"
    window.records.search.clear()
    level = [c.key for c in window.records.model.columns].index("level")
    qtbot.keyClicks(window.records.filters.edits[level], "=R1")
    assert window.records.model.rowCount() > 0
    assert all(
        window.records.model.data(window.records.model.index(r, level)) == "R1"
        for r in range(window.records.model.rowCount())
    )
    qtbot.mouseClick(window.records.clear_button, Qt.MouseButton.LeftButton)
    assert window.records.model.rowCount() == 103
    assert window.records.filters.edits[level].text() == ""


def test_sorting_by_clicking_a_header(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    window.records.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert window.records.model.human_id_at(0) == "AS-00103"


def test_keyboard_shortcuts_switch_views_and_focus_search(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="biomarker".__eq__):
        qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key == "biomarker"
    assert window.records.model.rowCount() == 51  # the demo's biomarkers
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.records.search.hasFocus()
    shortcuts = {a.objectName(): a.shortcut().toString() for a in window.actions()}
    assert shortcuts["go_assertion"] == "Ctrl+1" and shortcuts["go_trial"] == "Ctrl+9"
    assert shortcuts["new_record"] == "Ctrl+N" and shortcuts["save"] == "Ctrl+S"
    assert window.act_undo.shortcut().toString() == "Ctrl+Z"
    assert window.act_redo.shortcut().toString() == "Ctrl+Shift+Z"


def test_record_pane_shows_fields_and_links_navigate(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    show_record(qtbot, window, "AS-00001")
    text = window.record_pane.view.toPlainText()
    assert "BX-00001 — EGFR exon 19 in-frame deletion OR EGFR L858R" in text
    assert "TX-00001 — Osimertinib" in text
    assert "NSCLC — Non-Small Cell Lung Cancer" in text
    assert "CT-00001 — fda_label:TAGRISSO (osimertinib) label" in text
    assert "record:TX-00001" in window.record_pane.view.toHtml()
    with qtbot.waitSignal(window.record_shown, timeout=10_000, check_params_cb="TX-00001".__eq__):
        emit(window.record_pane.view.anchorClicked, QUrl("record:TX-00001"))
    assert window.current_key == "therapy"
    row = window.records.table.selectionModel().currentIndex().row()
    assert window.records.model.human_id_at(row) == "TX-00001"
    # The therapy lists who uses it, as links back.
    assert "Used by" in window.record_pane.view.toPlainText()
    assert "AS-00001 —" in window.record_pane.view.toPlainText()


def test_tumour_types_show_as_a_tree(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    show_record(qtbot, window, "AS-00001")
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="tumour".__eq__):
        emit(window.record_pane.view.anchorClicked, QUrl("tumour:NSCLC"))
    assert window.current_key == "tumour"
    current = window.tumours.tree.currentIndex()
    assert current.data() == "NSCLC"
    assert current.parent().data() == "LUNG"
    assert "Non-Small Cell Lung Cancer" in window.record_pane.view.toPlainText()
    assert "Show the assertions naming NSCLC" in window.record_pane.view.toPlainText()
    qtbot.keyClicks(window.tumours.search, "melanoma")
    assert window.tumours.filter_model.rowCount() == 1  # TISSUE, kept as the ancestor of MEL
    # "Show the assertions naming NSCLC" filters the (already loaded) assertion table.
    emit(window.record_pane.view.anchorClicked, QUrl("filter:assertion/tumour_types/NSCLC"))
    assert window.current_key == "assertion"
    assert 0 < window.records.model.rowCount() < 103


# --- editing ----------------------------------------------------------------------------------


def test_threshold_editor_knows_units_and_scales(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="threshold")
    show_record(qtbot, window, "TH-00001")  # TMB >= 10 mut/Mb
    window.act_edit.trigger()
    editor = window.record_pane.editor
    assert window.record_pane.stack.currentWidget() is editor
    value = editor.widgets["value"]
    assert isinstance(value, ThresholdValueField)
    assert editor.widgets["unit"].value() == "mut/Mb"
    assert not editor.save_button.isEnabled()  # nothing changed yet
    value.edit.setText("ten")
    message = editor.messages["value"]
    assert message.isVisibleTo(editor)
    assert message.text() == "'ten' is not a number; expected a number of at least 0"
    assert not editor.save_button.isEnabled()
    value.edit.setText("12")
    assert not message.isVisibleTo(editor)
    assert editor.save_button.isEnabled()
    # HER2 IHC is an ordinal scale without a unit: the value becomes a choice of 0 … 3+.
    metric = editor.widgets["metric"]
    metric.combo.setCurrentIndex(metric.combo.findData("HER2_IHC"))
    assert editor.widgets["unit"].value() == ""
    assert value.uses_scale and value.scale.isVisibleTo(editor)
    assert [value.scale.itemText(i) for i in range(value.scale.count())] == ["0", "1+", "2+", "3+"]
    assert editor.hints["metric"].text().startswith("HER2 IHC score: one of 0, 1+, 2+, 3+")


def test_new_record_shows_required_fields(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    window.act_new.trigger()
    editor = window.record_pane.editor
    assert editor.heading.text() == "New assertion"
    assert editor.messages["expression"].text().startswith("a value is required")
    assert editor.messages["tumour_types"].text().startswith("a value is required")
    assert not editor.save_button.isEnabled()
    assert "expression" in editor.save_button.toolTip()
    refs = editor.widgets["tumour_types"]
    assert isinstance(refs, RefField)
    qtbot.waitUntil(lambda: editor.store.loaded("tumour_types"), timeout=10_000)
    refs.edit.setText("NSCLC, NOPE")
    assert editor.messages["tumour_types"].text() == "not in the loaded OncoTree: NOPE"
    assert refs.title.text() == "Non-Small Cell Lung Cancer"
    editor.widgets["evidence_level"].set_value("2")
    editor.widgets["line_of_therapy"].set_value("first_line")
    ints = editor.widgets["evidence_level"]
    assert ints.value() == "2"


def test_reference_completer_finds_genes_by_symbol(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="biomarker")
    window.act_new.trigger()
    gene = window.record_pane.editor.widgets["gene"]
    assert isinstance(gene, RefField)
    qtbot.waitUntil(lambda: window.store.loaded("gene"), timeout=10_000)
    picker = gene.completer
    gene.edit.setText("BRA")
    matches = picker.search()
    assert matches[0].key == "GN-00015" and matches[0].title == "BRAF"  # shown with its symbol
    assert picker.choose(0) == "GN-00015"  # … and the id inserted
    assert gene.value() == "GN-00015"
    gene.edit.setText("braf")
    assert gene.value() == "GN-00015"
    assert gene.title.text() == "GN-00015: BRAF"


def test_expression_editor_shows_canonical_text_live(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="expression")
    show_record(qtbot, window, "BX-00001")
    window.act_edit.trigger()
    tree = window.record_pane.editor.widgets["tree"]
    assert isinstance(tree, ExpressionEditor)
    qtbot.waitUntil(
        lambda: tree.text == "EGFR exon 19 in-frame deletion OR EGFR L858R", timeout=10_000
    )
    assert tree.text_label.text() == f"Canonical text: <b>{tree.text}</b>"
    tree.select_path(())
    tree.add_condition()
    assert tree.problem() == "args[2]: a leaf needs a 'biomarker'"
    assert (
        window.record_pane.editor.messages["tree"].text() == "args[2]: a leaf needs a 'biomarker'"
    )
    tree.biomarker_edit.setText("BM-00003")
    assert tree.text == "EGFR exon 19 in-frame deletion OR EGFR L858R OR EGFR T790M"
    tree.negate_selected()
    assert tree.text == "EGFR exon 19 in-frame deletion OR EGFR L858R OR NOT EGFR T790M"
    tree.select_path((0,))
    tree.group_selected("AND")
    tree.biomarker_edit.setText("BM-00003")
    assert tree.text == (
        "(EGFR exon 19 in-frame deletion AND EGFR T790M) OR EGFR L858R OR NOT EGFR T790M"
    )
    tree.select_path((0,))
    tree.remove_selected()
    assert tree.text == "EGFR L858R OR NOT EGFR T790M"
    assert tree.problem() is None
    assert window.record_pane.editor.save_button.isEnabled()


def test_save_lands_in_the_draft_and_undo_redo(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="threshold")
    # No draft yet: the dock is one line, not an empty table taking the page's room.
    qtbot.waitUntil(window.draft_dock.table.isHidden, timeout=10_000)
    # The window lays the dock out again on a later pass of the event loop.
    qtbot.waitUntil(lambda: window.draft_dock.height() < 80, timeout=10_000)
    show_record(qtbot, window, "TH-00001")
    window.act_edit.trigger()
    window.record_pane.editor.widgets["value"].set_value("12")
    with qtbot.waitSignal(window.draft_loaded, timeout=10_000):
        qtbot.keyClick(window.record_pane.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.draft_dock.table.height() > 60, timeout=10_000)
    dock = window.draft_dock.model
    assert dock.index(0, 0).data() == "changed"
    assert dock.index(0, 1).data() == "TH-00001"
    assert dock.index(0, 3).data() == "value: 10 → 12"
    assert window.record_pane.stack.currentWidget() is window.record_pane.view
    qtbot.waitUntil(
        lambda: "Changed in your draft" in window.record_pane.view.toPlainText(), timeout=10_000
    )
    assert "was: 10" in window.record_pane.view.toPlainText()
    row = window.records.model.row_of("TH-00001")
    assert (
        window.records.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
        == "changed in your draft"
    )
    assert window.act_undo.isEnabled() and window.act_undo.text() == "Undo Edit TH-00001 (value)"
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.act_undo.trigger()
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 0, timeout=10_000)
    with qtbot.waitSignal(window.controller.edited, timeout=10_000):
        window.act_redo.trigger()
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 1, timeout=10_000)
    assert window.draft_dock.model.index(0, 3).data() == "value: 10 → 12"


def test_kb_refusal_lands_beside_the_field(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="expression")
    show_record(qtbot, window, "BX-00001")
    window.act_edit.trigger()
    tree = window.record_pane.editor.widgets["tree"]
    assert isinstance(tree, ExpressionEditor)
    tree.select_path(())
    tree.add_condition()
    tree.biomarker_edit.setText("BM-99999")  # well formed, but no such biomarker
    assert window.record_pane.editor.save_button.isEnabled()
    with qtbot.waitSignal(window.controller.failed, timeout=10_000):
        window.record_pane.editor.request_save()
    assert window.record_pane.stack.currentWidget() is window.record_pane.editor
    assert "no biomarker" in window.record_pane.editor.messages["tree"].text()
    assert window.record_pane.editor.banner.text() == "Not saved: see expression."
    assert window.draft_dock.model.rowCount() == 0


def test_new_record_saved_then_submitted(qtbot, make_window, people) -> None:
    window = make_window(people["cora"], view="drug")
    window.act_new.trigger()
    window.record_pane.editor.widgets["name"].set_value("testinib")
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.act_save.trigger()
    assert window.record_pane.view.detail is not None and window.record_pane.view.detail.new
    assert "New in your draft" in window.record_pane.view.toPlainText()
    qtbot.waitUntil(window.draft_dock.submit_button.isEnabled, timeout=10_000)
    answer_next_dialog(qtbot, click(QMessageBox.StandardButton.Yes))
    window.draft_dock.submit_button.click()
    qtbot.waitUntil(lambda: window.draft_dock.data.change_set is None, timeout=10_000)
    assert "submitted for review" in window.statusBar().currentMessage()


def test_a_release_manager_may_not_edit_and_is_told_why(qtbot, make_window, people) -> None:
    window = make_window(people["rm"])
    show_record(qtbot, window, "AS-00001")
    assert not window.act_new.isEnabled()
    assert not window.act_edit.isEnabled()
    assert (
        window.act_edit.toolTip() == "rm is a release-manager; only curators and reviewers may edit"
    )
    assert not window.draft_dock.submit_button.isEnabled()
    window.record_pane.edit_record()
    assert window.record_pane.stack.currentWidget() is window.record_pane.view
    # No draft dock for someone who never has a draft; the next curator on this machine gets
    # theirs back, whatever state the release manager's window saved.
    assert window.draft_dock.isHidden() and window.undo_dock.isHidden()
    window.close()
    curator = make_window(people["cora"])
    assert not curator.draft_dock.isHidden()
    qtbot.waitUntil(lambda: curator.splitter.sizes()[0] >= 170, timeout=5_000)


# --- finish -------------------------------------------------------------------------------------


def test_about_box_lists_versions(qtbot, make_window, people) -> None:
    window = make_window(people["cora"])
    dialog = AboutDialog(window.kb, window)
    qtbot.addWidget(dialog)
    names = dict(versions(window.kb))
    assert set(names) >= {"KB Curator", "Qt", "PySide6", "SQLAlchemy", "Database"}
    assert names["Database"].startswith("SQLite 3.")
    for name, value in names.items():
        assert name in dialog.text.text() and value in dialog.text.text()


def test_window_state_is_kept(qtbot, make_window, people, settings) -> None:
    window = make_window(people["cora"], view="gene")
    window.resize(700, 500)  # inside the offscreen screen (800 × 600)
    window.close()
    assert settings.window_geometry() is not None
    assert settings.last_view() == "gene"
    again = make_window(people["cora"], view="gene")
    assert (again.width(), again.height()) == (700, 500)


def test_light_and_dark_palettes(qtbot, make_window, people) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme = ThemeManager(app, "light")
    window = make_window(people["cora"])
    window.theme = theme
    window.set_theme("dark")
    assert is_dark(app.palette())
    window.set_theme("light")
    assert not is_dark(app.palette())
    window.set_theme("system")
    assert window.settings.theme() == "system"


def test_a_level_crosswalk_is_made_in_the_generated_form(qtbot, make_window, people) -> None:
    """The new record types edit through the same forms: a curator adds a crosswalk (its
    levels one a line, commas and all) and it lands in the draft."""
    window = make_window(people["cora"], view="level_scheme")
    assert window.records.model.rowCount() == 4
    window.act_new.trigger()
    editor = window.record_pane.editor
    assert set(editor.widgets) == {"name", "levels", "description", "citations"}
    editor.widgets["name"].set_value("ESCAT short")  # type: ignore[union-attr]
    editor.widgets["levels"].set_value(  # type: ignore[union-attr]
        ["I: ready for routine use, with randomised evidence", "X: no evidence"]
    )
    assert editor.widgets["levels"].value() == [  # type: ignore[union-attr]
        "I: ready for routine use, with randomised evidence",
        "X: no evidence",
    ]
    with qtbot.waitSignal(window.draft_loaded, timeout=10_000):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.draft_dock.model.rowCount() == 1, timeout=10_000)
    for rtype in ("level_crosswalk", "evidence_item", "oncogenicity", "exon_map"):
        with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb=rtype.__eq__):
            window.navigator.setCurrentItem(window.navigator.items[rtype])
        window.act_new.trigger()
        fields = {spec.name for spec in SPECS[RecordType(rtype)]}
        assert set(window.record_pane.editor.widgets) == fields, rtype
        window.record_pane.cancel_edit(ask=False)


# --- integrity ----------------------------------------------------------------------------------


def test_a_banner_says_when_the_tables_were_changed_outside_a_merge(
    qtbot, make_window, people, demo_url: str
) -> None:
    window = make_window(people["cora"])
    qtbot.waitUntil(lambda: not window.workers._running, timeout=10_000)
    assert window.integrity_banner.isHidden()
    # A direct write behind the app's back, as a login with table access could make.
    with open_kb(demo_url).engine.begin() as connection:
        connection.execute(text("UPDATE threshold SET value = '1' WHERE human_id = 'TH-00001'"))
    window.check_integrity()
    qtbot.waitUntil(window.integrity_banner.isVisible, timeout=10_000)
    banner = window.integrity_banner.text()
    assert "TH-00001.value" in banner and "refused until an admin repairs it" in banner
