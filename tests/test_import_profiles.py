"""User-defined TOML mapping profiles: parsing, mapping, and the documented example."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_import_support import write_xlsx

from kb.errors import KbError
from kb.importing.adapters import adapter_for
from kb.importing.engine import preview
from kb.importing.limits import Limits
from kb.importing.model import ImportError_, Location, Ref
from kb.importing.profiles import (
    ProfileError,
    _Prepared,
    load_profile,
    map_workbook,
    parse_profile,
    profile_adapter,
)
from kb.importing.readers import Sheet, Workbook
from kb.importing.template import template_adapter
from kb.model.enums import RecordType
from kb.storage.db import Kb

DOC = Path(__file__).resolve().parent.parent / "docs" / "import-profiles.md"


def _doc_profiles() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_documented_profiles_parse() -> None:
    examples = _doc_profiles()
    assert len(examples) == 3
    third = parse_profile(tomllib.loads(examples[2]))
    (interpretations,) = third.mappings
    assert interpretations.rtype is RecordType.ASSERTION and not interpretations.new_drugs
    assert interpretations.columns["Drug(s)"] == "drugs"
    assert interpretations.value_maps["gene"] == {"HER2": "ERBB2"}
    first = parse_profile(tomllib.loads(examples[0]))
    (mapping,) = first.mappings
    assert mapping.rtype is RecordType.BIOMARKER
    assert (mapping.sheet, mapping.header_row, mapping.id_column) == ("Variants", 2, "KB id")
    second = parse_profile(tomllib.loads(examples[1]))
    assert [m.rtype for m in second.mappings] == [RecordType.GENE, RecordType.BIOMARKER]


def test_documented_profile_imports_a_lab_sheet(tmp_path: Path, demo_kb: Kb) -> None:
    profile = tmp_path / "lab.toml"
    profile.write_text(_doc_profiles()[0], encoding="utf-8")
    sheet = [
        ["Variants from the lab, 2026", None, None, None, None, None],
        ["KB id", "Gene", "Protein change", "Variant type", "Germline?", "Note"],
        [None, "BRAF", "K601E", "SNV", "no", "from panel"],
        [None, "BRAF", "V600K", "snv", None, None],
        ["BM-00013", "BRAF", "V600E", "SNV", "yes", None],
        [None, "KRAS", "G12C", "Indel", "no", None],
        [None, None, None, None, None, None],
    ]
    path = write_xlsx(tmp_path / "lab.xlsx", {"Summary": [["x"]], "Variants": sheet})
    with demo_kb.read() as session:
        result = preview(profile_adapter(profile)(path), session, source=path.name)
    statuses = [(row.location.row, row.status) for row in result.rows]
    # Row 6 says "Indel", which no value map knows: reported at its cell.
    assert statuses == [(3, "new"), (4, "changed"), (5, "changed"), (6, "invalid")]
    (error,) = result.errors
    assert (error.location.sheet, error.location.row, error.location.column) == ("Variants", 6, "D")
    assert error.field == "kind" and error.value == "Indel"
    new = result.plan[0]
    assert new.fields["origin"] == "somatic" and new.fields["label"] == "from panel"
    assert new.fields["protein_change"] == "p.Lys601Glu"
    # Row 4 matched the demo's BRAF V600K by identity (its blank label means the default "");
    # row 5 names BRAF V600E by id.
    assert result.plan[1].target == "BM-00014"
    assert result.plan[2].target == "BM-00013"
    assert result.plan[2].changes["origin"] == "germline"


def test_csv_with_literal_quotes(tmp_path: Path, demo_kb: Kb) -> None:
    profile = parse_profile(
        {
            "delimiter": "\t",
            "quoting": False,
            "record_type": "drug",
            "columns": {"drug": "name", "ncit": "ncit_code"},
        }
    )
    path = tmp_path / "drugs.tsv"
    path.write_text('drug\tncit\n"Quoted" drug\tC123\n')
    with demo_kb.read() as session:
        result = preview(profile.adapter()(path), session)
    assert result.plan[0].fields["name"] == '"Quoted" drug'


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"columns": {"A": "name"}}, "record_type is required"),
        ({"record_type": "nonsense", "columns": {"A": "name"}}, "unknown record type"),
        ({"record_type": "drug"}, r"\[columns\] must map"),
        ({"record_type": "drug", "columns": {"A": "nmae"}}, "'nmae', which is not a field"),
        ({"record_type": "drug", "columns": {"A": "name"}, "header_row": 0}, "header_row"),
        ({"record_type": "drug", "columns": {"A": "name"}, "delimiter": ",,"}, "one character"),
        ({"record_type": "drug", "columns": {"A": "name"}, "colums": {}}, "unknown key"),
        (
            {"record_type": "drug", "columns": {"A": "name"}, "defaults": {"x": 1}},
            r"\[defaults\] names 'x'",
        ),
        ({"sheets": "no"}, "list of tables"),
    ],
)
def test_bad_profiles_are_explained(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ProfileError, match=problem):
        parse_profile(data)


def test_bad_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("record_type = ")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(path)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")


def test_adapter_for_names(tmp_path: Path) -> None:
    assert adapter_for("template") is template_adapter
    profile = tmp_path / "p.toml"
    profile.write_text('record_type = "drug"\n[columns]\n"Drug" = "name"\n')
    assert callable(adapter_for(str(profile)))
    with pytest.raises(KbError, match="unknown profile"):
        adapter_for("nonsense")


def test_rows_give_what_converting_each_cell_gives() -> None:
    """The row shortcuts (blank cells, plain text, values converted once) change nothing."""
    genes = Sheet(
        "Genes",
        [["ID", "Symbol", "HGNC", "Aliases"], ["gene-a", "BRAF", "HGNC:1097", "B-RAF; BRAF1"]],
    )
    long_text = "x" * 30
    variant_rows: list[list[Any]] = [
        ["ID", "Kind", "Gene", "Label", "Exon", "Exclusions", "Origin", "Status", "Partner"],
        ["", "SNV", "gene-a", "  spaced  ", 12.0, "bm-x; BM-00001", "", "   ", "BRAF"],
        ["bm-x", "snv", " gene-a ", "label", 12, "", None, "", "gene-a"],
        [None, "Other", "TP53", True, 1, "", "germline", "", ""],
        ["", "", "", "", "", "", "", "", ""],
        ["named-blank", "", None, "", "", "", "", "", ""],
        ["", "SNV", long_text, long_text, "", "", "", "", ""],
        ["", "SNV", ["unhashable"], "", "", "", "", "", ""],
        ["BM-00001", dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4), 1.5, "", "", "", "", ""],
        ["GN-00001", "SNV", "", "", "", "", "", "", ""],
        ["bm-x", "SNV", "", "", "", "", "", "", ""],
        ["", "SNV"],
        ["", "SNV", "", "formula below", "", "", "", "", ""],
        ["", "SNV", "merged", "", "", "", "", "", ""],
        ["", "SNV", "", "", "", "", "", "", ""],
        ["", "SNV", 1, True, "", "", "", "", ""],
        ["", "SNV", 1.0, 1, "", "", "", "", ""],
        ["", "SNV", "gene-a", long_text, "", "", "", "", ""],
        ["", "SNV", "gene-a", "  spaced  ", 12.0, "bm-x; BM-00001", "  ", "   ", "BRAF"],
        ["", None, None, "", None, "", None, None, ""],
    ]
    variants = Sheet("Variants", variant_rows, merged=[(14, 2, 15, 2)])
    variants.cell_errors[(13, 2)] = ImportError_(
        Location("f.xlsx", "Variants", 13, "C"), None, "formula", "a formula"
    )
    expressions = Sheet(
        "Expressions",
        [["ID", "Tree"], ["", "BM-00001 AND bm-x"], ["", "BM-00001 AND bm-x"], ["", "((("]],
    )
    profile = parse_profile(
        {
            "sheets": [
                {
                    "record_type": "gene",
                    "sheet": "Genes",
                    "id_column": "ID",
                    "columns": {"Symbol": "symbol", "HGNC": "hgnc_id", "Aliases": "aliases"},
                },
                {
                    "record_type": "biomarker",
                    "sheet": "Variants",
                    "id_column": "ID",
                    "columns": {
                        "Kind": "kind",
                        "Gene": "gene",
                        "Label": "label",
                        "Exon": "exon",
                        "Exclusions": "exclusions",
                        "Origin": "origin",
                        "Status": "status",
                        "Partner": "partner_5",
                    },
                    "value_maps": {
                        "kind": {"SNV": "sequence_variant"},
                        "status": {"done": "complete"},
                    },
                    "defaults": {"origin": "somatic", "status": "draft", "codon_start": 1},
                    "constants": {"assay": "ngs", "exon": 5},
                },
                {
                    "record_type": "expression",
                    "sheet": "Expressions",
                    "id_column": "ID",
                    "columns": {"Tree": "tree"},
                },
            ]
        }
    )
    workbook = Workbook(
        "f.xlsx", "xlsx", ["Genes", "Variants", "Expressions"], [genes, variants, expressions]
    )
    limits = Limits(max_cell_chars=20)
    rows = list(map_workbook(workbook, profile.mappings, limits=limits))
    prepared = [_Prepared("f.xlsx", workbook.sheet(m.sheet), m, limits) for m in profile.mappings]
    labels: dict[tuple[RecordType, str], str] = {}
    for item in prepared:
        item.collect_labels(labels)
    expected = []
    for item in prepared:
        build = item._row_builder(labels, shortcuts=False)
        for number, row in enumerate(item.sheet.rows[1:], 2):
            source = build(row, number)
            if source is not None:
                expected.append(source)
    assert rows == expected
    assert repr(rows) == repr(expected)  # the same fields in the same order, too
    by_row = {(r.location.sheet, r.location.row): r for r in rows}
    first = by_row[("Variants", 2)].records[0].fields
    assert first["gene"] == Ref("gene:gene-a") and first["label"] == "spaced"
    assert (first["status"], first["origin"], first["exon"]) == ("draft", "somatic", 5)
    assert by_row[("Variants", 4)].records[0].fields["label"] is True
    assert by_row[("Variants", 17)].records[0].fields["label"] == 1
    assert by_row[("Variants", 17)].records[0].fields["gene"] == 1
    assert ("Variants", 5) not in by_row and ("Variants", 6) in by_row
    assert ("Variants", 20) not in by_row
    last = by_row[("Variants", 19)].records[0].fields
    assert (last["status"], last["origin"]) == ("draft", "somatic")
    assert [e.code for e in by_row[("Variants", 7)].errors] == ["cell_too_long"] * 2
    assert [e.code for e in by_row[("Variants", 13)].errors] == ["formula"]
    assert [e.code for e in by_row[("Expressions", 4)].errors] == ["invalid_value"]
