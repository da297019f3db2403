# ruff: noqa: F811  (pytest fixtures imported from the main window tests are parameters here)
"""Lists as each curator wants them: columns chosen and ordered, remembered per user and record
type across windows; a compact assertion row at 1280 px; named filters re-applied."""

from __future__ import annotations

from curator.list_layout import SHORT_FORMS
from curator.settings import Settings

# The window fixtures of the main window's tests: a demo KB copy, its people, a settings file.
from tests.test_gui_main_window import make_window, people, settings  # noqa: F401

ARRANGED = ["id", "line", "expression", "tumour_types", "implication", "level"]
COMPACT = ["id", "expression", "therapy", "tumour_types", "implication", "level", "line"]


def test_column_choice_and_order_survive_a_new_window(
    qtbot, make_window, people, settings: Settings
) -> None:
    window = make_window(people["cora"])
    columns = window.columns
    assert columns.shown_keys() == COMPACT  # the KB version hides until asked for
    menu = columns.header_menu()
    therapy = next(a for a in menu.actions() if a.objectName() == "column_therapy")
    therapy.setChecked(False)  # what unticking it in the header's menu does
    columns.move("line", 1)
    assert columns.shown_keys() == ARRANGED
    window.close()

    again = make_window(people["cora"])
    assert again.columns.shown_keys() == ARRANGED
    # The filter boxes follow the moved columns.
    header = again.records.table.horizontalHeader()
    line = [c.key for c in again.records.model.columns].index("line")
    assert again.records.filters.edits[line].x() < again.records.filters.edits[1].x()
    # Another curator on the same desktop keeps the defaults; the id column cannot be hidden.
    other = make_window(people["rex"])
    assert other.columns.shown_keys() == COMPACT
    other.columns.set_shown("id", False)
    assert other.columns.shown_keys()[0] == "id"
    # Another record type keeps its own.
    with qtbot.waitSignal(again.table_loaded, check_params_cb="therapy".__eq__):
        again.show_view("therapy")
    assert again.columns.shown_keys() == ["id", "name", "combination", "drugs"]
    assert settings.list_columns("cora", "therapy") is None
    again.show_view("assertion")
    again.columns.reset()
    assert again.columns.shown_keys() == COMPACT
    assert header.sectionSize(0) > 0


def test_an_assertion_row_fits_1280_pixels_and_tells_lines_apart(
    qtbot, make_window, people
) -> None:
    window = make_window(people["cora"])
    window.resize(1280, 720)
    qtbot.wait(50)
    table, model = window.records.table, window.records.model
    header = table.horizontalHeader()
    keys = [c.key for c in model.columns]
    right = max(
        header.sectionViewportPosition(keys.index(k)) + header.sectionSize(keys.index(k))
        for k in COMPACT
    )
    assert right <= table.viewport().width()
    lines = [model.index(row, keys.index("line")).data() for row in range(3)]
    assert lines == ["1L", "adjuv.", "maint."]  # AS-00001/2/3 no longer look the same
    tip = model.index(0, keys.index("line")).data(0x03)  # ToolTipRole: the full words
    assert tip == "first line"
    assert set(SHORT_FORMS["assertion"]["line"].values()) >= set(lines)
    # Search still sees the full words.
    window.records.search.setText("maintenance")
    assert model.human_id_at(0) is not None and model.rowCount() < model.total_count


def test_a_saved_filter_is_named_reapplied_and_remembered(
    qtbot, make_window, people, settings: Settings
) -> None:
    window = make_window(people["cora"])
    records, saved = window.records, window.saved_filters
    records.search.setText("nsclc")
    records.set_column_filter("line", "first")
    narrowed = records.model.rowCount()
    assert 0 < narrowed < records.model.total_count
    saved.save("NSCLC first line")
    records.clear_filters()
    assert records.model.rowCount() == records.model.total_count
    window.close()

    again = make_window(people["cora"])
    again_saved = again.saved_filters
    again_saved._fill()  # what opening the menu does
    names = [a.text() for a in again_saved.menu.actions()]
    assert "NSCLC first line" in names
    applied = next(a for a in again_saved.menu.actions() if a.text() == "NSCLC first line")
    applied.trigger()
    assert again.records.search.text() == "nsclc"
    assert again.records.model.rowCount() == narrowed
    assert settings.saved_filters("rex", "assertion") == {}
    again_saved.delete("NSCLC first line")
    assert again_saved.names() == []
