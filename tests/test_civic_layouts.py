"""CIViC's older export layouts (kb/importing/civic_layouts.py) import as the current one does.

The older files are written here from rows of the real 2024-08-01 samples, translated back to
CIViC 1's columns and spellings (gene + variant, drugs, clinical_significance, pubmed_id,
"Somatic Mutation", "PAPSS1-BRAF"). Each is previewed through the import service, dry run,
beside a 2024 file of the same rows: the evidence items and assertions must be the same. Where
an old layout lacks something, the test says what happens instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.importing.civic import assertion_adapter, evidence_adapter
from kb.importing.civic_layouts import old_layouts, recognise_layout
from kb.importing.limits import column_letter
from kb.importing.model import Location, SourceError
from kb.importing.service import import_file
from kb.model.enums import RecordType
from kb.storage.db import Kb, open_kb
from tests.conftest import (
    SHARED_DATA,
    load_full_vocabularies,
    require_shared,
)

EVIDENCE = SHARED_DATA / "civic" / "civic-evidence-sample-2024-08-01.tsv"
ASSERTIONS = SHARED_DATA / "civic" / "civic-assertion-sample-2024-08-01.tsv"

# The headers as CIViC 1 wrote them (griffithlab/civic-server's TSV presenters).
EVIDENCE_2018 = [
    "gene",
    "entrez_id",
    "variant",
    "disease",
    "doid",
    "drugs",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
    "evidence_statement",
    "pubmed_id",
    "citation",
    "rating",
    "evidence_status",
    "evidence_id",
    "variant_id",
    "gene_id",
    "chromosome",
    "start",
    "stop",
    "reference_bases",
    "variant_bases",
    "representative_transcript",
    "chromosome2",
    "start2",
    "stop2",
    "representative_transcript2",
    "ensembl_version",
    "reference_build",
    "variant_summary",
    "variant_origin",
    "last_review_date",
    "evidence_civic_url",
    "variant_civic_url",
    "gene_civic_url",
]
EVIDENCE_2021 = [
    "gene",
    "entrez_id",
    "variant",
    "disease",
    "doid",
    "phenotypes",
    "drugs",
    "drug_interaction_type",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
    "evidence_statement",
    "citation_id",
    "source_type",
    "asco_abstract_id",
    "citation",
    "nct_ids",
    "rating",
    "evidence_status",
    "evidence_id",
    "variant_id",
    "gene_id",
    "chromosome",
    "start",
    "stop",
    "reference_bases",
    "variant_bases",
    "representative_transcript",
    "chromosome2",
    "start2",
    "stop2",
    "representative_transcript2",
    "ensembl_version",
    "reference_build",
    "variant_summary",
    "variant_origin",
    "last_review_date",
    "evidence_civic_url",
    "variant_civic_url",
    "gene_civic_url",
    "is_flagged",
]
ASSERTION_2021 = [
    "gene",
    "entrez_id",
    "variant",
    "disease",
    "doid",
    "phenotypes",
    "drugs",
    "assertion_type",
    "assertion_direction",
    "clinical_significance",
    "acmg_codes",
    "amp_category",
    "nccn_guideline",
    "nccn_guideline_version",
    "regulatory_approval",
    "fda_companion_test",
    "assertion_summary",
    "assertion_description",
    "assertion_id",
    "evidence_item_ids",
    "variant_id",
    "gene_id",
    "last_review_date",
    "assertion_civic_url",
    "evidence_items_civic_url",
    "variant_civic_url",
    "gene_civic_url",
    "is_flagged",
]

# Columns that kept their name and meaning from CIViC 1 to today.
_SAME = [
    "disease",
    "doid",
    "phenotypes",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "evidence_statement",
    "citation_id",
    "source_type",
    "asco_abstract_id",
    "citation",
    "nct_ids",
    "rating",
    "evidence_status",
    "evidence_id",
    "variant_origin",
    "last_review_date",
    "evidence_civic_url",
    "is_flagged",
    "assertion_type",
    "assertion_direction",
    "acmg_codes",
    "amp_category",
    "nccn_guideline",
    "nccn_guideline_version",
    "regulatory_approval",
    "fda_companion_test",
    "assertion_summary",
    "assertion_description",
    "assertion_id",
    "evidence_item_ids",
    "assertion_civic_url",
    "evidence_items_civic_url",
]
_ORIGINS_2018 = {
    "Somatic": "Somatic Mutation",
    "Rare Germline": "Germline Mutation",
    "Common Germline": "Germline Polymorphism",
}

Row = dict[str, str]


def _sample(path: Path) -> tuple[list[str], list[Row]]:
    lines = require_shared(path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return header, [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _single_variant(row: Row) -> bool:
    """Combinations (AND / OR / NOT) came with molecular profiles: no CIViC 1 file has them."""
    return not {"AND", "OR", "NOT"} & set(row["molecular_profile"].split())


def _civic1(row: Row, columns: list[str], *, pubmed_id: bool, old_origins: bool) -> Row:
    """A 2024 row written back in a CIViC 1 layout."""
    gene, _, variant = row["molecular_profile"].partition(" ")
    old = {column: row.get(column, "") for column in columns if column in _SAME}
    old.update(
        gene=gene,
        variant=variant.replace("::", "-"),  # fusions were "PAPSS1-BRAF" until 2022
        drugs=row["therapies"],
        drug_interaction_type=row.get("therapy_interaction_type", ""),
        clinical_significance=row["significance"],
    )
    if pubmed_id:
        old["pubmed_id"] = row["citation_id"]
    if old_origins:
        old["variant_origin"] = _ORIGINS_2018.get(row["variant_origin"], row["variant_origin"])
    return {column: old.get(column, "") for column in columns}


def _write(path: Path, columns: list[str], rows: list[Row]) -> Path:
    lines = ["\t".join(columns), *("\t".join(row[c] for c in columns) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def kb(demo_url: str) -> Iterator[Kb]:
    """The demo KB with OncoTree and HGNC loaded, so that new genes can be proposed."""
    opened = open_kb(demo_url)
    load_full_vocabularies(opened)
    yield opened
    opened.close()


def _outcome(kb: Kb, path: Path, profile: str) -> list[tuple[Any, ...]]:
    """What a dry-run import would do, row by row (everything but the column letters)."""
    with kb.read() as session:
        preview = import_file(session, path, profile=profile).preview
    assert not preview.file_errors, [str(error) for error in preview.file_errors]
    return [
        (
            row.location.row,
            row.status,
            sorted((error.code, error.field) for error in row.errors),
            [record.as_json() for record in row.records],
        )
        for row in preview.rows
    ]


# --- evidence ------------------------------------------------------------------------------------


def _rows_2018(row: Row) -> bool:
    """Rows a 2018 file could hold: PubMed sources (no ASCO abstracts yet) and the evidence types
    whose significance terms have not changed since (predisposing and oncogenic ones have)."""
    return (
        _single_variant(row)
        and row["source_type"] == "PubMed"
        and row["evidence_type"] in ("Predictive", "Diagnostic", "Prognostic")
    )


def _rows_2021(row: Row) -> bool:
    """Predisposing and oncogenic evidence of 2019-2022 said N/A where today's says Supports:
    test_na_direction_of_2021_predisposing_evidence_is_reported_at_its_cell."""
    return _single_variant(row) and row["evidence_type"] not in ("Predisposing", "Oncogenic")


def _one_drug(row: Row) -> bool:
    return "," not in row["therapies"]


LAYOUTS: dict[str, tuple[list[str], Callable[[Row], bool], bool]] = {
    # name: (header, which sample rows, 2018 spellings and pubmed_id)
    "2021": (EVIDENCE_2021, _rows_2021, False),
    "2018": (EVIDENCE_2018, lambda row: _rows_2018(row) and _one_drug(row), True),
    # A 2018 file with drug_interaction_type (the column CIViC later added) keeps regimens.
    "2018+interaction": (
        [*EVIDENCE_2018[:6], "drug_interaction_type", *EVIDENCE_2018[6:]],
        _rows_2018,
        True,
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_an_old_evidence_layout_imports_as_the_2024_file_does(
    kb: Kb, tmp_path: Path, layout: str
) -> None:
    columns, wanted, old = LAYOUTS[layout]
    header, rows = _sample(EVIDENCE)
    chosen = [row for row in rows if wanted(row)]
    today = _write(tmp_path / "today.tsv", header, chosen)
    civic1 = [_civic1(row, columns, pubmed_id=old, old_origins=old) for row in chosen]
    before = _write(tmp_path / f"{layout}.tsv", columns, civic1)

    expected = _outcome(kb, today, "civic-evidence")
    assert _outcome(kb, before, "civic-evidence") == expected
    imported = [row for row in expected if row[1] != "invalid"]
    assert len(chosen) >= 40 and len(imported) >= 35
    kinds = {record["type"] for row in imported for record in row[3]}
    assert {RecordType.EVIDENCE_ITEM.value, RecordType.ASSERTION.value} <= kinds
    if old:  # the spellings that changed are exercised
        origins = {row["variant_origin"] for row in civic1}
        assert {"Somatic Mutation", "Germline Mutation"} <= origins
    assert any("-" in row["variant"] for row in civic1)  # and the fusion names


def test_several_drugs_in_a_2018_file_without_interaction_type_are_reported(
    tmp_path: Path,
) -> None:
    """2018's export had no drug_interaction_type: a regimen of several drugs cannot be told from
    alternatives, so the evidence item imports without a therapy and supports no assertion."""
    _, rows = _sample(EVIDENCE)
    several = [row for row in rows if _rows_2018(row) and not _one_drug(row)]
    assert several
    path = _write(
        tmp_path / "2018.tsv",
        EVIDENCE_2018,
        [_civic1(row, EVIDENCE_2018, pubmed_id=True, old_origins=True) for row in several],
    )
    for row in evidence_adapter(path):
        assert row.valid
        (item,) = [r for r in row.records if r.rtype is RecordType.EVIDENCE_ITEM]
        assert item.fields["therapy"] is None and item.fields["assertions"] == []
        assert any("interaction type" in note for note in row.notes), row.notes


def test_na_direction_of_2021_predisposing_evidence_is_reported_at_its_cell(
    tmp_path: Path,
) -> None:
    """CIViC 1 set predisposing and oncogenic evidence to direction and significance N/A
    (civic-client#1121, #1585). Which way such a row points is not said, so it is not guessed:
    the row is reported at its evidence_direction cell."""
    _, rows = _sample(EVIDENCE)
    predisposing = next(row for row in rows if row["evidence_type"] == "Predisposing")
    old = _civic1(predisposing, EVIDENCE_2021, pubmed_id=False, old_origins=False)
    old.update(evidence_direction="N/A", clinical_significance="N/A")
    path = _write(tmp_path / "2021.tsv", EVIDENCE_2021, [old])
    (row,) = evidence_adapter(path)
    (error,) = row.errors
    assert error.code == "unsupported_direction" and error.value == "N/A"
    column = column_letter(EVIDENCE_2021.index("evidence_direction"))
    assert (error.location.file, error.location.row, error.location.column) == (
        "2021.tsv",
        2,
        column,
    )


# --- assertions ----------------------------------------------------------------------------------


def test_the_old_assertion_layout_imports_as_the_2024_file_does(kb: Kb, tmp_path: Path) -> None:
    header, rows = _sample(ASSERTIONS)
    assert all(_single_variant(row) for row in rows)
    today = _write(tmp_path / "today.tsv", header, rows)
    civic1 = [_civic1(row, ASSERTION_2021, pubmed_id=False, old_origins=False) for row in rows]
    before = _write(tmp_path / "2021.tsv", ASSERTION_2021, civic1)
    expected = _outcome(kb, today, "civic-assertion")
    assert _outcome(kb, before, "civic-assertion") == expected
    assert (
        sum(row[1] != "invalid" for row in expected) == 12
    )  # the two germline (predisposing) rows import too


# --- reading a row, recognising a header ---------------------------------------------------------


def test_an_old_row_reads_under_todays_names_and_spellings() -> None:
    layout = recognise_layout(EVIDENCE_2018, ["molecular_profile"], Location("f.tsv", None, 1))
    assert layout.key == "evidence-2018"
    letters = {column: column_letter(i) for i, column in enumerate(EVIDENCE_2018)}

    def read(**cells: str) -> tuple[Any, Any]:
        return layout.read(cells, letters)

    cells, where = read(
        gene="ALK",
        variant="EML4-ALK",
        drugs="Crizotinib",
        clinical_significance="Sensitivity",
        variant_origin="Germline Polymorphism",
        pubmed_id="24478318",
    )
    assert cells["molecular_profile"] == "ALK EML4::ALK"
    assert cells["therapies"] == "Crizotinib" and cells["therapy_interaction_type"] == ""
    assert cells["significance"] == "Sensitivity/Response"
    assert cells["variant_origin"] == "Common Germline"
    assert (cells["citation_id"], cells["source_type"]) == ("24478318", "PubMed")
    # Errors point at the cells the values came from; a derived source type has no cell.
    assert where["molecular_profile"] == letters["variant"]
    assert where["citation_id"] == letters["pubmed_id"]
    assert where["significance"] == letters["clinical_significance"]
    assert "source_type" not in where and "therapy_interaction_type" not in where

    assert read(clinical_significance="Resistance or Non-Response")[0]["significance"] == (
        "Resistance"
    )
    # Hyphens that do not join the row's gene to a partner are left as written.
    for gene, variant in (
        ("PTEN", "Loss-of-function"),
        ("NKX2-1", "Amplification"),
        ("ABL1", "BCR-ABL"),
        ("ALK", "EML4-ALK E20;A20"),
    ):
        assert read(gene=gene, variant=variant)[0]["molecular_profile"] == f"{gene} {variant}"
    assert read(gene="NKX2-1", variant="X-NKX2-1")[0]["molecular_profile"] == "NKX2-1 X::NKX2-1"


def test_the_current_layout_is_read_as_it_is() -> None:
    header, _ = _sample(EVIDENCE)
    layout = recognise_layout(header, header, Location("f.tsv", None, 1))
    cells, letters = {"molecular_profile": "BRAF V600E"}, {"molecular_profile": "A"}
    assert layout.current and layout.read(cells, letters) == (cells, letters)


def test_shipped_layouts_load() -> None:
    keys = [layout.key for layout in old_layouts()]
    assert keys == ["evidence-2021", "evidence-2018", "assertion-2021"]


def _file_errors(kb: Kb, path: Path, profile: str) -> list[Any]:
    with kb.read() as session:
        preview = import_file(session, path, profile=profile).preview
    assert not preview.rows
    return preview.file_errors


def test_a_header_of_no_known_layout_is_a_located_error(demo_url: str, tmp_path: Path) -> None:
    """A CIViC 1 header whose citation column was renamed is none of the layouts: the error is
    at the header row and lists what each layout is recognised by and what the file has."""
    _, rows = _sample(EVIDENCE)
    renamed = ["pmid" if column == "citation_id" else column for column in EVIDENCE_2021]
    old = _civic1(rows[0], EVIDENCE_2021, pubmed_id=False, old_origins=False)
    old["pmid"] = old["citation_id"]
    path = _write(tmp_path / "renamed.tsv", renamed, [old])
    kb = open_kb(demo_url)
    try:
        errors = _file_errors(kb, path, "civic-evidence")
    finally:
        kb.close()
    assert all((e.location.file, e.location.row) == ("renamed.tsv", 1) for e in errors)
    (summary,) = [e for e in errors if e.code == "unknown_layout"]
    assert "molecular_profile" in summary.message  # expected: the current columns …
    assert "gene, variant, citation_id (evidence-2021)" in summary.message  # … or an older …
    assert "gene, variant, pubmed_id (evidence-2018)" in summary.message
    assert "Found: gene, entrez_id, variant" in summary.message and "pmid" in summary.message
    missing = {e.field for e in errors if e.code == "missing_column"}
    assert {"molecular_profile", "therapies", "significance"} <= missing


def test_an_old_layout_missing_a_column_names_it(tmp_path: Path) -> None:
    _, rows = _sample(EVIDENCE)
    columns = [column for column in EVIDENCE_2018 if column != "doid"]
    old = _civic1(rows[1], EVIDENCE_2018, pubmed_id=True, old_origins=True)
    path = _write(tmp_path / "2018.tsv", columns, [old])
    with pytest.raises(SourceError) as caught:
        list(evidence_adapter(path))
    (error,) = caught.value.errors
    assert (error.code, error.field, error.location.row) == ("missing_column", "doid", 1)


def test_an_evidence_file_is_not_an_assertion_file(tmp_path: Path) -> None:
    _, rows = _sample(EVIDENCE)
    old = _civic1(rows[1], EVIDENCE_2021, pubmed_id=False, old_origins=False)
    path = _write(tmp_path / "2021.tsv", EVIDENCE_2021, [old])
    with pytest.raises(SourceError) as caught:
        list(assertion_adapter(path))
    codes = {error.code for error in caught.value.errors}
    assert codes == {"missing_column", "unknown_layout"}
