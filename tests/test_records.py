"""Writing and reading records through kb's API: every field checked, every error located."""

from __future__ import annotations

import pytest

from kb.errors import KbError
from kb.model.enums import RecordType
from kb.model.identity import identity_key
from kb.model.records import FieldError, Writer, get_object, get_record, list_records
from kb.storage.db import Kb
from kb.storage.rows import load_table


def _basics(writer: Writer) -> dict[str, str]:
    gene = writer.create(
        RecordType.GENE, {"symbol": "BRAF", "hgnc_id": "HGNC:1097", "role": "oncogene"}
    )
    variant = writer.create(
        RecordType.BIOMARKER,
        {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "V600E"},
    )
    expression = writer.create(RecordType.EXPRESSION, {"tree": {"biomarker": variant.human_id}})
    return {"gene": gene.human_id, "variant": variant.human_id, "expression": expression.human_id}


def test_create_and_read_back_as_plain_data(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        ids = _basics(Writer(session, kb_version=1))
    with kb.read() as session:
        variant = get_record(session, ids["variant"])
        expression = get_record(session, ids["expression"])
    # Curators write V600E; the KB stores the canonical 3-letter HGVS and shows the short name.
    assert variant.fields["protein_change"] == "p.Val600Glu"
    assert variant.fields["gene"] == ids["gene"]
    assert variant.title == "BRAF V600E"
    assert expression.fields["tree"] == {"biomarker": ids["variant"]}
    assert expression.title == "BRAF V600E"
    assert ids["variant"].startswith("BM-") and ids["gene"] == "GN-00001"


def test_threshold_and_expression_tree_round_trip(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        writer.create(RecordType.GENE, {"symbol": "ERBB2", "hgnc_id": "HGNC:3430"})
        ihc = writer.create(
            RecordType.BIOMARKER, {"kind": "expression", "gene": "ERBB2", "assay": "IHC"}
        )
        ish = writer.create(
            RecordType.BIOMARKER, {"kind": "expression", "gene": "ERBB2", "assay": "ISH"}
        )
        three = writer.create(
            RecordType.THRESHOLD, {"metric": "HER2_IHC", "operator": ">=", "value": "3+"}
        )
        two = writer.create(
            RecordType.THRESHOLD, {"metric": "HER2_IHC", "operator": "==", "value": "2+"}
        )
        ratio = writer.create(
            RecordType.THRESHOLD,
            {"metric": "HER2_ISH_RATIO", "operator": ">=", "value": "2.0", "unit": "ratio"},
        )
        tree = {
            "op": "OR",
            "args": [
                {"biomarker": ihc.human_id, "threshold": three.human_id},
                {
                    "op": "AND",
                    "args": [
                        {"biomarker": ihc.human_id, "threshold": two.human_id},
                        {"biomarker": ish.human_id, "threshold": ratio.human_id},
                    ],
                },
            ],
        }
        expression = writer.create(RecordType.EXPRESSION, {"tree": tree})
    with kb.read() as session:
        row = get_record(session, expression.human_id)
    assert row.fields["tree"] == tree
    assert row.title == "ERBB2 IHC >= 3+ OR (ERBB2 IHC == 2+ AND ERBB2 ISH_RATIO >= 2.0)"


def test_update_replaces_collections(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        ids = _basics(writer)
        for name in ("dabrafenib", "trametinib"):
            writer.create(RecordType.DRUG, {"name": name})
        writer.create(RecordType.THERAPY, {"name": "Dabrafenib", "drugs": ["dabrafenib"]})
        writer.create(RecordType.CITATION, {"kind": "pmid", "identifier": "22608338"})
        assertion = writer.create(
            RecordType.ASSERTION,
            {
                "expression": ids["expression"],
                "therapy": "Dabrafenib",
                "tumour_types": ["MEL"],
                "implication": "sensitive",
                "evidence_level": "1",
                "citations": ["pmid:22608338"],
            },
        )
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=2)
        rtype, obj = get_object(session, assertion.human_id)
        writer.update(
            rtype,
            obj,
            {
                "tumour_types": ["MEL", "NSCLC"],
                "excluded_tumour_types": ["LUSC"],
                "evidence_level": "2",
            },
        )
    with kb.read() as session:
        row = get_record(session, assertion.human_id)
    assert row.fields["tumour_types"] == ["MEL", "NSCLC"]
    assert row.fields["excluded_tumour_types"] == ["LUSC"]
    assert row.fields["evidence_level"] == "2"
    assert row.fields["citations"] == ["CT-00001"]
    assert row.kb_version == 2


@pytest.mark.parametrize(
    ("rtype", "fields", "field", "expected"),
    [
        (RecordType.GENE, {"hgnc_id": "HGNC:1"}, "symbol", "a value is required"),
        (RecordType.GENE, {"symbol": "X", "hgnc_id": "HGNC:1", "role": "driver"}, "role", "one of"),
        (
            RecordType.BIOMARKER,
            {"kind": "sequence_variant", "protein_change": "c.1799T>A"},
            "protein_change",
            "protein change",
        ),
        (RecordType.BIOMARKER, {"kind": "range", "exon": "nineteen"}, "exon", "whole number"),
        (
            RecordType.THRESHOLD,
            {"metric": "TMB", "operator": "=>", "value": "10"},
            "operator",
            "one of",
        ),
        (
            RecordType.ASSERTION,
            {
                "expression": "BX-09999",
                "tumour_types": ["MEL"],
                "implication": "sensitive",
                "evidence_level": "1",
            },
            "expression",
            "no expression",
        ),
        (
            RecordType.CITATION,
            {"kind": "pmid", "identifier": "1", "accessed": "May"},
            "accessed",
            "YYYY-MM-DD",
        ),
        (RecordType.EXPRESSION, {"tree": {"op": "NOT", "args": []}}, "tree", "exactly one"),
        (RecordType.DRUG, {"name": "x", "colour": "red"}, "colour", "one of the fields"),
        (
            RecordType.BIOMARKER,
            {"kind": "sequence_variant", "dbsnp_id": "3184504"},
            "dbsnp_id",
            "a dbSNP rs id such as rs3184504",
        ),
        (
            RecordType.BIOMARKER,
            {"kind": "sequence_variant", "dbsnp_id": "rs31845O4"},
            "dbsnp_id",
            "a dbSNP rs id such as rs3184504",
        ),
    ],
)
def test_bad_fields_name_record_field_value_and_expectation(
    kb: Kb, rtype: RecordType, fields: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(FieldError) as caught, kb.unit_of_work() as session:
        Writer(session, kb_version=1).create(rtype, fields)
    error = caught.value
    assert error.field == field
    assert error.record == f"new {rtype}"
    assert expected in str(error)
    with kb.read() as session:
        assert list_records(session, rtype) == []


def test_a_variant_named_by_its_dbsnp_id_is_stored_lower_case_and_named(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        writer.create(RecordType.GENE, {"symbol": "SH2B3", "hgnc_id": "HGNC:29605"})
        snp = writer.create(
            RecordType.BIOMARKER,
            {
                "kind": "sequence_variant",
                "gene": "SH2B3",
                "origin": "germline",
                "dbsnp_id": " RS3184504 ",
            },
        )
        other = writer.create(
            RecordType.BIOMARKER,
            {"kind": "sequence_variant", "gene": "SH2B3", "dbsnp_id": "rs7310615"},
        )
    with kb.read() as session:
        stored = get_record(session, snp.human_id)
        assert get_record(session, other.human_id).title == "SH2B3 rs7310615"
        table = load_table(session, RecordType.BIOMARKER)  # the record list's names
        assert table.titles == ("SH2B3 germline rs3184504", "SH2B3 rs7310615")
    assert stored.fields["dbsnp_id"] == "rs3184504"
    assert stored.fields["protein_change"] is None and stored.fields["dna_change"] is None
    assert stored.title == "SH2B3 germline rs3184504"
    # Two SNPs of one gene are two biomarkers, not one (an import would otherwise merge them).
    assert identity_key(RecordType.BIOMARKER, stored.fields) != identity_key(
        RecordType.BIOMARKER, {**stored.fields, "dbsnp_id": "rs7310615"}
    )


def test_delete_refuses_a_record_still_in_use(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        ids = _basics(Writer(session, kb_version=1))
    with (
        pytest.raises(KbError, match=f"still used by {ids['expression']}"),
        kb.unit_of_work() as session,
    ):
        rtype, obj = get_object(session, ids["variant"])
        Writer(session, kb_version=2).delete(rtype, obj)
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=2)
        rtype, obj = get_object(session, ids["expression"])
        writer.delete(rtype, obj)
        rtype, obj = get_object(session, ids["variant"])
        writer.delete(rtype, obj)
    with kb.read() as session:
        assert [r.human_id for r in list_records(session, RecordType.BIOMARKER)] == []


def test_duplicate_natural_keys_are_named(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        _basics(Writer(session, kb_version=1))
    with pytest.raises(FieldError) as caught, kb.unit_of_work() as session:
        Writer(session, kb_version=2).create(
            RecordType.GENE, {"symbol": "BRAF", "hgnc_id": "HGNC:99"}
        )
    assert caught.value.field == "symbol" and "GN-00001 already has" in str(caught.value)


def test_record_types_are_listed_before_the_types_that_refer_to_them() -> None:
    """A merge creates records type by type in RecordType's order: a reference to a type
    listed later would point at a record not yet written."""
    from kb.model.enums import RecordType as Types
    from kb.model.records import SPECS as FIELD_SPECS

    order = {rtype: index for index, rtype in enumerate(Types)}
    late = [
        f"{rtype}.{spec.name} -> {spec.ref}"
        for rtype, specs in FIELD_SPECS.items()
        for spec in specs
        if spec.ref is not None and spec.ref is not rtype and order[spec.ref] > order[rtype]
    ]
    assert late == []
