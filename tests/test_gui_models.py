"""The Qt models behind the tables and trees: the Qt contract (qtmodeltester), search, column
filters and sorting over real rows read from the demo KB."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt

from curator.choices import ChoiceListModel
from curator.draft_dock import DraftChangesModel, DraftData
from curator.expression_text import canonical_text, load_leaf_names
from curator.record_model import HUMAN_ID_ROLE, RecordTableModel
from curator.tumour_tree_model import CODE_ROLE, TumourTreeFilter, TumourTreeModel
from kb.model.enums import RecordType
from kb.model.records import list_records
from kb.storage.db import Kb, open_kb
from kb.storage.rows import (
    TableData,
    choices_from,
    load_first_page,
    load_table,
    load_tumour_types,
    reference_titles,
)


@pytest.fixture
def demo(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def assertions(demo: Kb) -> TableData:
    with demo.read() as session:
        return load_table(session, RecordType.ASSERTION)


def _visible(model: RecordTableModel) -> list[str]:
    return [str(model.human_id_at(row)) for row in range(model.rowCount())]


# --- row loading --------------------------------------------------------------------------


@pytest.mark.parametrize("rtype", list(RecordType))
def test_table_titles_match_kb_titles(demo: Kb, rtype: RecordType) -> None:
    # The fast loader must say exactly what kb says a record is called.
    with demo.read() as session:
        table = load_table(session, rtype)
        expected = {row.human_id: row.title for row in list_records(session, rtype)}
    assert [str(row[0]) for row in table.rows] == sorted(expected)
    assert dict(zip((str(r[0]) for r in table.rows), table.titles, strict=True)) == expected
    assert all(len(row) == len(table.columns) for row in table.rows)
    assert len(table.search_text) == len(table.rows)


def test_assertion_columns_are_what_curators_scan(assertions: TableData) -> None:
    keys = [column.key for column in assertions.columns]
    assert keys == [
        "id", "expression", "therapy", "tumour_types", "implication", "level", "line", "version"
    ]  # fmt: skip
    first = dict(zip(keys, assertions.rows[0], strict=True))
    assert first["id"] == "AS-00001"
    assert first["expression"] == "EGFR exon 19 in-frame deletion OR EGFR L858R"
    assert first["therapy"] == "Osimertinib"
    assert first["tumour_types"] == "NSCLC"
    assert first["line"] == "first line"


def test_first_page_and_reference_titles(demo: Kb) -> None:
    with demo.read() as session:
        page = load_first_page(session, RecordType.ASSERTION, size=5)
        titles = reference_titles(session, ["AS-00001", "GN-00001", "missing:x", "XX-1", ""])
    assert [row[0] for row in page.rows] == [f"AS-0000{i}" for i in range(1, 6)]
    assert not page.complete
    assert titles == {
        "AS-00001": "EGFR exon 19 in-frame deletion OR EGFR L858R · Osimertinib · NSCLC · L1",
        "GN-00001": "EGFR",
    }


def test_canonical_text_matches_stored_text(demo: Kb) -> None:
    # The editor's live text (rendered without a database) equals what kb stores.
    with demo.read() as session:
        names = load_leaf_names(session)
        expressions = list_records(session, RecordType.EXPRESSION)
    assert expressions
    for row in expressions:
        assert canonical_text(row.fields["tree"], names) == row.title, row.human_id


# --- the record table ---------------------------------------------------------------------


def test_record_model_contract(qtmodeltester, assertions: TableData) -> None:
    model = RecordTableModel()
    qtmodeltester.check(model)
    model.set_table(assertions)
    qtmodeltester.check(model)
    model.set_search("nsclc")
    model.set_column_filter(2, "osimertinib")
    model.sort(0, Qt.SortOrder.DescendingOrder)
    model.set_marks({"AS-00002": "update", "AS-00003": "delete"})
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0), HUMAN_ID_ROLE) == model.human_id_at(0)
    assert model.data(model.index(model.rowCount(), 0)) is None
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Biomarker expression"


def test_search_matches_a_brute_force_filter(assertions: TableData) -> None:
    model = RecordTableModel()
    model.set_table(assertions)
    rng = random.Random(6)
    words = ["egfr", "osimertinib", "nsclc", "l858r", "resistant", "1", "braf v600e", "xyz"]
    for query in words + [" ".join(rng.sample(words, 2)) for _ in range(10)]:
        model.set_search(query)
        terms = query.lower().split()
        expected = [
            str(row[0])
            for row in assertions.rows
            if all(
                term in "\t".join("" if c is None else str(c) for c in row).lower()
                for term in terms
            )
        ]
        assert _visible(model) == expected, query


def test_typing_narrows_and_deleting_widens(assertions: TableData) -> None:
    model = RecordTableModel()
    model.set_table(assertions)
    seen = {}
    for end in range(1, len("osimertinib") + 1):
        model.set_search("osimertinib"[:end])
        seen[end] = _visible(model)
    assert len(seen[11]) == 5 and all(len(seen[i]) >= len(seen[i + 1]) for i in range(1, 11))
    model.set_search("osim")
    assert _visible(model) == seen[4]
    model.set_search("")
    assert model.rowCount() == len(assertions)


def test_column_filters(assertions: TableData) -> None:
    model = RecordTableModel()
    model.set_table(assertions)
    columns = {column.key: index for index, column in enumerate(assertions.columns)}
    model.set_column_filter(columns["level"], "=r1")
    assert model.rowCount() > 0
    assert {model.data(model.index(r, columns["level"])) for r in range(model.rowCount())} == {"R1"}
    model.set_column_filter(columns["level"], "")
    model.set_column_filter(columns["therapy"], "tinib")
    tinib = model.rowCount()
    model.set_column_filter(columns["tumour_types"], "!nsclc")
    assert 0 < model.rowCount() < tinib
    expected = [
        row[0]
        for row in assertions.rows
        if "tinib" in str(row[columns["therapy"]]).lower()
        and "nsclc" not in str(row[columns["tumour_types"]]).lower()
    ]
    assert _visible(model) == expected
    assert model.column_filters() == {
        columns["therapy"]: "tinib",
        columns["tumour_types"]: "!nsclc",
    }
    model.clear_filters()
    assert model.rowCount() == len(assertions)


def test_sorting_reorders_the_index_not_the_rows(assertions: TableData) -> None:
    model = RecordTableModel()
    model.set_table(assertions)
    therapy = 2
    model.sort(therapy, Qt.SortOrder.AscendingOrder)
    shown = [model.data(model.index(r, therapy)) for r in range(model.rowCount())]
    keys = [(not value, str(value or "").lower()) for value in shown]
    assert keys == sorted(keys)
    # Ties keep human-id order: the sort is stable.
    osimertinib = [
        model.human_id_at(r) for r in range(model.rowCount()) if shown[r] == "Osimertinib"
    ]
    assert osimertinib == sorted(osimertinib)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert _visible(model) == sorted(_visible(model), reverse=True)
    # A search keeps the sort; the rows themselves never moved.
    model.set_search("nsclc")
    assert _visible(model) == sorted(_visible(model), reverse=True)
    assert model.table is assertions and model.table.rows[0][0] == "AS-00001"


def test_numeric_sort_and_reload_keeps_state(demo: Kb) -> None:
    with demo.read() as session:
        trials = load_table(session, RecordType.TRIAL)
    model = RecordTableModel()
    model.set_table(trials)
    arms = [c.key for c in trials.columns].index("arms")
    model.sort(arms, Qt.SortOrder.DescendingOrder)
    counts = [model.data(model.index(r, arms)) for r in range(model.rowCount())]
    assert counts == sorted(counts, reverse=True)
    model.set_search("nct")
    model.set_table(trials)  # a reload of the same type keeps search and sort
    assert model.search_text() == "nct"
    assert model.sort_state() == (arms, Qt.SortOrder.DescendingOrder)


def test_selection_survives_sorting(qtbot, assertions: TableData) -> None:
    from PySide6.QtWidgets import QTableView

    model = RecordTableModel()
    model.set_table(assertions)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.selectRow(3)
    chosen = model.human_id_at(3)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    current = view.selectionModel().currentIndex()
    assert model.human_id_at(current.row()) == chosen


# --- tumour types -------------------------------------------------------------------------


def test_tumour_tree_model(qtmodeltester, demo: Kb) -> None:
    with demo.read() as session:
        data = load_tumour_types(session)
    model = TumourTreeModel()
    qtmodeltester.check(model)
    model.set_data(data)
    qtmodeltester.check(model)
    root = model.index(0, 0)
    assert root.data() == "TISSUE"
    nsclc = model.index_of("NSCLC")
    assert nsclc.data() == "NSCLC"
    assert nsclc.parent().data() == "LUNG"
    assert nsclc.parent().parent().data() == "TISSUE"
    assert model.index(nsclc.row(), 1, nsclc.parent()).data() == "Non-Small Cell Lung Cancer"
    uses = model.index(nsclc.row(), 4, nsclc.parent()).data()
    assert isinstance(uses, int) and uses > 10
    assert model.rowCount(model.index(0, 1)) == 0  # only column 0 has children
    assert data.release == "oncotree_2025_10_03"


def test_tumour_tree_filter_keeps_ancestors(qtmodeltester, demo: Kb) -> None:
    with demo.read() as session:
        data = load_tumour_types(session)
    model = TumourTreeModel()
    model.set_data(data)
    proxy = TumourTreeFilter()
    proxy.setSourceModel(model)
    proxy.setFilterFixedString("lung squamous")
    qtmodeltester.check(proxy)
    found: list[str] = []

    def walk(parent: QModelIndex) -> None:
        for row in range(proxy.rowCount(parent)):
            index = proxy.index(row, 0, parent)
            found.append(str(index.data(CODE_ROLE)))
            walk(index)

    walk(QModelIndex())
    assert found == ["TISSUE", "LUNG", "NSCLC", "LUSC"]


# --- small models ---------------------------------------------------------------------------


def test_choice_list_model(qtmodeltester, demo: Kb) -> None:
    with demo.read() as session:
        items = choices_from(load_table(session, RecordType.GENE))
    model = ChoiceListModel()
    model.set_items(items)
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "GN-00001 — EGFR"


def test_draft_changes_model(qtmodeltester) -> None:
    model = DraftChangesModel()
    qtmodeltester.check(model)
    model.set_draft(DraftData(None))
    assert model.rowCount() == 0
