"""The import engine on rows from a plain adapter: resolution, matching, classification,
located errors, progress and cancel, error export."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_import_support import write_template_rows

from kb.errors import KbError
from kb.importing.engine import (
    _CANONICAL_MISSENSE,
    _canonical_missense,
    _Planner,
    export_errors,
    kb_records,
    preview,
)
from kb.importing.model import (
    ImportError_,
    Location,
    ProposedRecord,
    Ref,
    SourceError,
    SourceRow,
)
from kb.importing.progress import Cancelled, CancelToken
from kb.importing.template import template_adapter
from kb.model.enums import RecordType
from kb.model.identity import defining_fields, identity_key, identity_keys
from kb.model.protein import AMINO_ACIDS, parse_protein_change
from kb.model.records import SPECS
from kb.storage.db import Kb

GN, BM, BX, AS = RecordType.GENE, RecordType.BIOMARKER, RecordType.EXPRESSION, RecordType.ASSERTION


def _row(number: int, *records: tuple[RecordType, str, dict[str, Any]], **kw: Any) -> SourceRow:
    where = Location("civic.tsv", None, number)
    return SourceRow(
        where,
        tuple(
            ProposedRecord(rtype, key, fields, where, columns=dict.fromkeys(fields, "C"))
            for rtype, key, fields in records
        ),
        tuple(kw.get("errors", ())),
    )


def _variant(key: str, gene: str, change: str) -> tuple[RecordType, str, dict[str, Any]]:
    return (BM, key, {"kind": "sequence_variant", "gene": gene, "protein_change": change})


def _assertion(number: int, leaf: Any, **extra: Any) -> tuple[RecordType, str, dict[str, Any]]:
    return (
        AS,
        f"row {number} assertion",
        {
            "expression": Ref(f"row {number} expression"),
            "therapy": "TX-00001",
            "tumour_types": ["MEL"],
            "implication": "sensitive",
            "evidence_level": "3A",
            "citations": ["CT-00001"],
            **extra,
        },
    )


def _expression(number: int, leaf: Any) -> tuple[RecordType, str, dict[str, Any]]:
    return (BX, f"row {number} expression", {"tree": {"biomarker": leaf}})


def test_multi_record_rows_merge_and_classify(demo_kb: Kb) -> None:
    rows = [
        # New biomarker + expression + assertion.
        _row(
            2, _variant("r2 bm", "BRAF", "K601E"), _expression(2, Ref("r2 bm")), _assertion(2, None)
        ),
        # The same biomarker again (merged with row 2's), a new assertion on it.
        _row(
            3,
            _variant("r3 bm", "braf", "p.Lys601Glu"),
            _expression(3, Ref("r3 bm")),
            _assertion(3, None, evidence_level="4", tumour_types=["NSCLC"]),
        ),
        # An existing biomarker by identity: unchanged.
        _row(4, _variant("r4 bm", "BRAF", "V600E")),
        # Adapter could not map this row.
        _row(
            5,
            errors=[
                ImportError_(
                    Location("civic.tsv", None, 5, "H"),
                    "disease",
                    "unmapped_disease",
                    "DOID:1234 has no OncoTree code",
                )
            ],
        ),
        # Refers to an unknown gene.
        _row(6, _variant("r6 bm", "NOPE1", "V600E")),
    ]
    with demo_kb.read() as session:
        result = preview(iter(rows), session, source="civic.tsv")
    assert [row.status for row in result.rows] == ["new", "new", "unchanged", "invalid", "invalid"]
    assert result.new + result.changed + result.unchanged + result.invalid == len(result.rows)
    biomarkers = [r for r in result.plan if r.rtype is BM and r.status != "invalid"]
    assert biomarkers[0].target == biomarkers[1].target  # one new biomarker, proposed twice
    assert biomarkers[2].target == "BM-00013"  # the demo's BRAF V600E
    counts = result.by_type
    assert (counts[BM].new, counts[BM].unchanged, counts[BM].invalid) == (1, 1, 1)
    assert counts[AS].new == 2
    (unknown,) = [e for e in result.errors if e.code == "unknown_reference"]
    assert (unknown.location.row, unknown.location.column, unknown.field) == (6, "C", "gene")
    data = result.as_json()
    assert {"rows", "new", "changed", "unchanged", "invalid", "errors", "by_type"} <= set(data)
    assert data["rows"] == 5 and data["errors"][0]["code"] == "unmapped_disease"


def test_conflicting_duplicates_are_reported(demo_kb: Kb) -> None:
    drug = RecordType.DRUG
    rows = [
        _row(2, (drug, "a", {"name": "Novelinib", "ncit_code": "C1"})),
        _row(3, (drug, "b", {"name": "Novelinib", "ncit_code": "C2"})),
        _row(4, (drug, "c", {"name": "Novelinib", "ncit_code": "C1"})),
    ]
    with demo_kb.read() as session:
        result = preview(iter(rows), session)
    assert [row.status for row in result.rows] == ["new", "invalid", "new"]
    (conflict,) = result.errors
    assert conflict.code == "conflict" and conflict.field == "ncit_code"
    assert "row 2" in conflict.message


def test_unique_keys_are_checked(demo_kb: Kb) -> None:
    rows = [
        # A new gene whose HGNC id belongs to BRAF already.
        _row(2, (GN, "a", {"symbol": "BRAFX", "hgnc_id": "HGNC:1097"})),
        # A new therapy (other drugs) under an existing therapy's name.
        _row(
            3, (RecordType.THERAPY, "t", {"name": "Dabrafenib + trametinib", "drugs": ["DR-00001"]})
        ),
    ]
    with demo_kb.read() as session:
        result = preview(iter(rows), session)
    codes = {(e.location.row, e.code) for e in result.errors}
    assert (2, "duplicate_key") in codes
    assert result.invalid >= 1


def test_invalid_dependency_makes_dependants_invalid(demo_kb: Kb) -> None:
    rows = [
        # The biomarker is fine, but its row is invalid for another reason.
        _row(
            2,
            _variant("r2 bm", "BRAF", "K601E"),
            errors=[ImportError_(Location("f", None, 2), None, "bad", "bad row")],
        ),
        _row(3, _expression(3, Ref("r2 bm"))),
    ]
    with demo_kb.read() as session:
        result = preview(iter(rows), session)
    assert [row.status for row in result.rows] == ["invalid", "invalid"]
    assert any(e.code == "invalid_reference" for e in result.rows[1].errors)


def test_values_are_checked_with_located_errors(demo_kb: Kb) -> None:
    rows = [
        _row(2, (RecordType.THRESHOLD, "t", {"metric": "TMB", "operator": ">=", "value": "ten"})),
        _row(
            3,
            (BM, "b", {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "c.1799T>A"}),
        ),
        _row(4, (BM, "c", {"kind": "sequence_variant", "gene": "GN-00001", "bogus": 1})),
        _row(5, (BM, "d", {"kind": "sequence_variant", "gene": "DR-00001"})),
        _row(7, (BM, "e", {"gene": "EGFR"})),
        _row(6, (GN, "g", {"symbol": "BRAF", "hgnc_id": "HGNC:5173"})),
    ]
    with demo_kb.read() as session:
        result = preview(iter(rows), session)
    by_row = {row.location.row: {e.code for e in row.errors} for row in result.rows}
    assert "threshold_mismatch" in by_row[2]
    assert "invalid_value" in by_row[3]
    assert "unknown_field" in by_row[4]
    assert "wrong_id_type" in by_row[5]
    assert "required" in by_row[7]
    assert "hgnc_id_mismatch" in by_row[6]


def test_source_error_is_a_fatal_preview(demo_kb: Kb) -> None:
    def broken() -> Iterator[SourceRow]:
        yield _row(2, _variant("x", "BRAF", "K601E"))
        raise SourceError(ImportError_(Location("f.xlsx"), None, "damaged_file", "broken"))

    with demo_kb.read() as session:
        result = preview(broken(), session)
    assert result.fatal and result.rows == []
    assert result.as_json()["errors"][0]["code"] == "damaged_file"
    assert "cannot be imported" in result.summary()


def test_progress_and_cancel(demo_kb: Kb) -> None:
    rows = [_row(n, _variant(f"k{n}", "BRAF", f"p.V{n}E")) for n in range(2, 5_002)]
    seen: list[tuple[int, int]] = []
    with demo_kb.read() as session:
        preview(iter(rows), session, progress=lambda d, t: seen.append((d, t)))
        assert seen[-1] == (5_000, 5_000)
        assert any(0 < done < 5_000 for done, _ in seen)
        token = CancelToken()
        token.cancel()
        with pytest.raises(Cancelled):
            preview(iter(rows), session, cancel=token)


def _sheet_rows(count: int) -> list[SourceRow]:
    """Biomarker rows as a template sheet gives them (every field, blanks as None), mixing what
    the engine settles itself with what it must look at: names in every case and with blanks
    around, aliases, unknown genes, bad values, repeats, records the demo has, rows by id."""
    names = [spec.name for spec in SPECS[BM]]
    genes = ["BRAF", "EGFR", " KRAS ", "egfr", "BRAF"]
    odd_genes = ["NOSUCHGENE", "HER2"]  # unknown; an alias HGNC knows
    odd_changes = ["V{n}E", "", None, "p.Val600Val", " p.Gly12Cys ", "p.Val600Glu"]
    origins = ["somatic", "germline", "", None, "SOMATIC"]
    rows = []
    for n in range(count):
        fields: dict[str, Any] = dict.fromkeys(names)
        change = odd_changes[n % len(odd_changes)] if n % 7 == 0 else "p.Val{n}Glu"
        fields.update(
            kind=["", "banana"][n % 2] if n % 97 == 0 else "sequence_variant",
            gene=odd_genes[n % 2] if n % 13 == 0 else genes[n % len(genes)],
            protein_change=(change or "").format(n=n) or None,
            origin="bogus" if n % 11 == 0 else origins[n % len(origins)],
            label=[f"  label {n} ", "", None, "same label"][n % 4],
            exon=[None, "19", 19, "nineteen"][n % 4] if n % 5 == 0 else None,
        )
        where = Location("sheet.xlsx", "Biomarkers", n + 2)
        human_id = "BM-00001" if n % 211 == 0 else None
        record = ProposedRecord(BM, f"Biomarkers!{n + 2}", fields, where, human_id)
        rows.append(SourceRow(where, (record,)))
    return rows


def test_rows_settled_column_by_column_plan_as_row_by_row(
    demo_kb: Kb, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over 2,000 rows, so that later chunks find values the first ones resolved: every row,
    # record, error and count is what planning each row alone gives.
    rows = _sheet_rows(4_500)
    planned_alone = 0
    plan = _Planner._plan

    def counted(self: _Planner, index: int, record: ProposedRecord) -> Any:
        nonlocal planned_alone
        planned_alone += 1
        return plan(self, index, record)

    monkeypatch.setattr(_Planner, "_plan", counted)
    with demo_kb.read() as session:
        fast = preview(iter(rows), session).as_json(records=True)
        assert planned_alone < len(rows) / 2  # most rows were settled by column
        monkeypatch.setattr(_Planner, "batch", False)
        slow = preview(iter(rows), session).as_json(records=True)
    assert fast == slow
    assert 0 < fast["new"] < fast["rows"] and fast["invalid"] > 0 and fast["changed"] > 0


def test_identity_keys_by_column_equal_identity_key_by_record(demo_kb: Kb) -> None:
    # Every demo record of every type, and each with a defining field made empty, cased, an
    # enum member, a bool, a number or a list in turn: the same keys either way.
    odd_values = ["", [], "MiXeD", RecordType.GENE, False, 0, 7, ["b", "a"], {"k": ["v"]}]
    with demo_kb.read() as session:
        for rtype in RecordType:
            if rtype is RecordType.TRIAL:
                continue
            records = list(kb_records(session, rtype).values())
            for at, name in enumerate(defining_fields(rtype)):
                for record in records[:3]:
                    records.append({**record, name: odd_values[at % len(odd_values)]})
                    records.append({**record, name: odd_values[(at + 4) % len(odd_values)]})
            column = [[r.get(name) for r in records] for name in defining_fields(rtype)]
            by_name = dict(zip(defining_fields(rtype), column, strict=True))
            keys = identity_keys(rtype, by_name.__getitem__, len(records))
            assert keys == [identity_key(rtype, record) for record in records], rtype


def test_canonical_missense_shortcut_agrees_with_the_parser() -> None:
    codes = list(AMINO_ACIDS.values())
    for ref, alt in itertools.product(codes, codes):
        text = f"p.{ref}600{alt}"
        if _CANONICAL_MISSENSE.match(text) and ref != alt:
            assert parse_protein_change(text).hgvs == text


def test_canonical_missense_test_by_slices_agrees_with_the_pattern() -> None:
    codes = [*AMINO_ACIDS.values(), "Sec", "Pyl", "Xaa", "ala"]
    positions = ("600", "1", "0", "06", "12a", "", "\u0663", " 5")
    texts = [
        f"{prefix}{ref}{position}{alt}"
        for prefix in ("p.", "P.", "p", "")
        for ref in codes
        for alt in codes
        for position in positions
    ]
    texts += ["p.", "p.Val", "p.ValVal", "p.Val1Val1Glu", " p.Val600Glu\n"]
    for text in (text.strip() for text in texts):  # the engine strips first
        expected = bool(_CANONICAL_MISSENSE.match(text)) and text[2:5] != text[-3:]
        assert _canonical_missense(text) == expected, text


def test_export_errors_csv_and_xlsx(tmp_path: Path, demo_kb: Kb) -> None:
    rows = {
        BM: [
            (None, {"kind": "banana", "gene": "BRAF"}),
            (None, {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "K601E"}),
            (None, {"kind": "sequence_variant", "gene": "NOPE1", "protein_change": "K601E"}),
        ]
    }
    source = write_template_rows(tmp_path / "bad.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(source), session, source=source.name)
    assert result.invalid == 2
    out = tmp_path / "errors.csv"
    assert export_errors(result, out) == 2
    with out.open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert [(x["sheet"], x["row"], x["column"], x["code"]) for x in lines] == [
        ("Biomarkers", "2", "B", "invalid_value"),
        ("Biomarkers", "4", "C", "unknown_reference"),
    ]
    book_path = tmp_path / "errors.xlsx"
    export_errors(result, book_path, source=source)
    book = openpyxl.load_workbook(book_path)
    errors = book["Errors"]
    assert [c.value for c in errors[1]] == [
        "file",
        "sheet",
        "row",
        "column",
        "field",
        "code",
        "message",
        "value",
    ]
    assert errors.max_row == 3
    copy = book["Biomarkers"]
    assert copy["B2"].fill.fgColor.rgb.endswith("FFC7CE")
    assert "unknown value" in copy["B2"].comment.text
    assert copy["C4"].comment is not None
    assert copy["C3"].comment is None
    with pytest.raises(KbError, match=r"\.xlsx or \.csv"):
        export_errors(result, tmp_path / "errors.txt")


def test_exported_csv_errors_never_run_as_formulas(tmp_path: Path, demo_kb: Kb) -> None:
    """An error quotes the source's cell; a cell like =HYPERLINK(...) must open as text."""
    rows = {BM: [(None, {"kind": '=HYPERLINK("http://evil.example","x")', "gene": "BRAF"})]}
    source = write_template_rows(tmp_path / "bad.xlsx", rows)
    with demo_kb.read() as session:
        result = preview(template_adapter(source), session, source=source.name)
    out = tmp_path / "errors.csv"
    assert export_errors(result, out) >= 1
    with out.open(encoding="utf-8-sig") as handle:
        values = [row["value"] for row in csv.DictReader(handle)]
    assert '\'=HYPERLINK("http://evil.example","x")' in values
    assert not any(value.startswith(("=", "+", "-", "@")) for value in values)
