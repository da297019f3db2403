"""The import template: what `kb template` writes, and that it reads back losslessly."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_import_support import write_template_rows

from kb.importing.engine import preview
from kb.importing.template import (
    INSTRUCTIONS,
    SHEET_TITLES,
    export_template,
    template_adapter,
    write_template,
)
from kb.importing.treetext import TreeTextError, parse_ids, render_ids
from kb.model.enums import BiomarkerKind, RecordType
from kb.model.records import SPECS
from kb.storage.db import Kb


def test_empty_template_layout(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == INSTRUCTIONS
    assert set(SHEET_TITLES.values()) <= set(book.sheetnames)
    assert "kb import" in " ".join(str(c.value) for c in book[INSTRUCTIONS]["A"])
    sheet = book["Biomarkers"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["ID", *(spec.name for spec in SPECS[RecordType.BIOMARKER])]
    # Every header explains its column.
    for cell in sheet[1]:
        assert cell.comment is not None and cell.comment.text
    kind_note = sheet["B1"].comment.text
    assert "required" in kind_note and "sequence_variant" in kind_note
    assert sheet.max_row == 1  # no data
    # Drop-downs for controlled values, from the hidden Lists sheet.
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    kind = next(v for ref, v in validations.items() if ref.startswith("B2:"))
    assert kind.type == "list" and kind.formula1.startswith("Lists!")
    lists = book["Lists"]
    assert lists.sheet_state == "hidden"
    column = kind.formula1.split("!")[1].split(":")[0].replace("$", "")[0]
    values = [c.value for c in lists[column][1:] if c.value]
    assert values == [member.value for member in BiomarkerKind]
    arms = book["Trial arms"]
    suspended = next(c.column_letter for c in arms[1] if c.value == "suspended")
    assert any(
        str(v.sqref).startswith(f"{suspended}2:") and v.formula1 == '"true,false"'
        for v in arms.data_validations.dataValidation
    )


def test_empty_template_imports_as_nothing(tmp_path: Path, demo_kb: Kb) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session, source=path.name)
    assert not result.fatal and not result.rows


def test_export_then_import_changes_nothing(demo_kb: Kb, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    with demo_kb.read() as session:
        counts = export_template(session, path)
        result = preview(template_adapter(path), session, source=path.name)
    assert result.errors == []
    assert (result.new, result.changed, result.invalid) == (0, 0, 0)
    assert result.unchanged == len(result.rows) == sum(counts.values())
    assert {rtype: c.unchanged for rtype, c in result.by_type.items()} == {
        rtype: n for rtype, n in counts.items() if n
    }


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path, demo_kb: Kb) -> None:
    fields = {
        "kind": "sequence_variant",
        "gene": "BRAF",
        "protein_change": "p.K601E",
        "label": '=HYPERLINK("http://evil")',
    }
    path = write_template_rows(tmp_path / "eq.xlsx", {RecordType.BIOMARKER: [(None, fields)]})
    book = openpyxl.load_workbook(path)
    assert book["Biomarkers"]["E2"].data_type == "s"
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session)
    assert result.new == 1, result.errors
    assert result.plan[0].fields["label"] == fields["label"]


def test_names_link_new_records_across_sheets(tmp_path: Path, demo_kb: Kb) -> None:
    rows = {
        RecordType.DRUG: [(None, {"name": "Novelinib"})],
        RecordType.THERAPY: [("novel", {"name": "Novelinib mono", "drugs": ["Novelinib"]})],
        RecordType.BIOMARKER: [
            ("k601e", {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "K601E"})
        ],
        RecordType.THRESHOLD: [("vaf5", {"metric": "VAF", "operator": ">=", "value": "5"})],
        RecordType.EXPRESSION: [("expr", {"tree": "k601e[vaf5] AND NOT BM-00001"})],
        RecordType.ASSERTION: [
            (
                None,
                {
                    "expression": "expr",
                    "therapy": "novel",
                    "tumour_types": ["MEL"],
                    "implication": "sensitive",
                    "evidence_level": "3A",
                    "citations": ["pmid:12345678"],
                },
            )
        ],
        RecordType.CITATION: [(None, {"kind": "pmid", "identifier": "12345678"})],
    }
    path = write_template_rows(tmp_path / "linked.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session)
    assert result.errors == []
    assert result.new == 7
    plan = {record.rtype: record for record in result.plan}
    tree = plan[RecordType.EXPRESSION].fields["tree"]
    assert tree["args"][0]["biomarker"] == plan[RecordType.BIOMARKER].target
    assert tree["args"][0]["threshold"] == plan[RecordType.THRESHOLD].target
    assert plan[RecordType.THRESHOLD].fields["unit"] == "%"  # the metric's unit by default
    assertion = plan[RecordType.ASSERTION]
    assert assertion.fields["therapy"] == plan[RecordType.THERAPY].target
    assert assertion.fields["citations"] == [plan[RecordType.CITATION].target]
    # Dependencies come first in the plan.
    order = [record.rtype for record in result.plan]
    assert order.index(RecordType.DRUG) < order.index(RecordType.THERAPY)
    assert order.index(RecordType.EXPRESSION) < order.index(RecordType.ASSERTION)


def test_reference_cycle_is_reported(tmp_path: Path, demo_kb: Kb) -> None:
    rows = {
        RecordType.BIOMARKER: [
            (
                "a",
                {
                    "kind": "categorical",
                    "gene": "BRAF",
                    "category": "oncogenic_mutations",
                    "exclusions": ["b"],
                },
            ),
            (
                "b",
                {
                    "kind": "categorical",
                    "gene": "EGFR",
                    "category": "oncogenic_mutations",
                    "exclusions": ["a"],
                },
            ),
        ]
    }
    path = write_template_rows(tmp_path / "cycle.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session)
    assert result.invalid == 2
    assert {e.code for e in result.errors} >= {"circular_reference"}


def test_id_of_another_type_is_an_error(tmp_path: Path, demo_kb: Kb) -> None:
    rows = {RecordType.GENE: [("BM-00001", {"symbol": "BRAF", "hgnc_id": "HGNC:1097"})]}
    path = write_template_rows(tmp_path / "wrong.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session)
    (error,) = result.errors
    assert error.code == "wrong_id_type"
    assert (error.location.row, error.location.column) == (2, "A")


def test_unknown_id_is_an_error(tmp_path: Path, demo_kb: Kb) -> None:
    rows = {RecordType.GENE: [("GN-09999", {"symbol": "BRAF", "hgnc_id": "HGNC:1097"})]}
    path = write_template_rows(tmp_path / "unknown.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session)
    assert [e.code for e in result.errors] == ["unknown_id"]


# --- expression text --------------------------------------------------------------------------

_ids = st.sampled_from(["BM-00001", "BM-00002", "braf-v600e", "x"])
_leaf = st.builds(
    lambda b, t: {"biomarker": b, **({"threshold": t} if t else {})},
    _ids,
    st.sampled_from([None, "TH-00001", "vaf5"]),
)
_trees = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(lambda a: {"op": "NOT", "args": [a]}, inner),
        st.builds(
            lambda op, args: {"op": op, "args": args},
            st.sampled_from(["AND", "OR"]),
            st.lists(inner, min_size=2, max_size=4),
        ),
    ),
    max_leaves=12,
)


@given(_trees)
def test_tree_text_round_trips(tree: dict[str, object]) -> None:
    assert parse_ids(render_ids(tree)) == tree


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("BM-1 AND BM-2 OR BM-3", "parentheses"),
        ("(BM-1 AND BM-2", "expected '\\)'"),
        ("AND BM-1", "expected a biomarker"),
        ("BM-1 BM-2", "unexpected"),
        ("", "empty"),
        ("{not json", "JSON"),
    ],
)
def test_tree_text_errors(text: str, problem: str) -> None:
    with pytest.raises(TreeTextError, match=problem):
        parse_ids(text)


def test_tree_text_accepts_json_and_any_case() -> None:
    assert parse_ids('{"biomarker": "BM-00001"}') == {"biomarker": "BM-00001"}
    assert parse_ids("not bm-1") == {"op": "NOT", "args": [{"biomarker": "bm-1"}]}


def test_the_operator_drop_down_never_offers_a_formula(tmp_path: Path, demo_kb: Kb) -> None:
    """Picking a drop-down value is typing it: "==" would become a broken formula. The list
    offers "equals", and a threshold row saying so imports as ==."""
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    sheet = book["Thresholds"]
    letter = next(c.column_letter for c in sheet[1] if c.value == "operator")
    (operator,) = (
        v for v in sheet.data_validations.dataValidation if str(v.sqref).startswith(f"{letter}2:")
    )
    column = operator.formula1.split("!")[1].split(":")[0].replace("$", "")[0]
    offered = [c.value for c in book["Lists"][column][1:] if c.value]
    assert "equals" in offered and not any(str(v).startswith("=") for v in offered)
    columns = {c.value: c.column for c in sheet[1]}
    for name, value in (("metric", "TMB"), ("operator", "equals"), ("value", "10")):
        sheet.cell(row=2, column=columns[name], value=value)
    book.save(path)
    with demo_kb.read() as session:
        result = preview(template_adapter(path), session, source=path.name)
    assert result.invalid == 0, result.errors[:3]
    (threshold,) = (r for r in result.plan if r.rtype is RecordType.THRESHOLD)
    assert threshold.fields["operator"] == "=="
