"""CIViC evidence and assertion import on the real sample files (../shared/data/civic).

The adapters' SourceRows are the contract: every sample row comes back once, imported or with
located errors; profiles, diseases, levels and therapies map as documented in
kb/importing/civic.py. The last tests run the samples through the engine's preview against the
demo KB, and (once change sets can be applied) check that a re-import changes nothing.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from kb.importing.civic import (
    BiomarkerSpec,
    DiseaseMap,
    KbLookup,
    Leaf,
    Node,
    ProfileError,
    assertion_adapter,
    evidence_adapter,
    parse_molecular_profile,
    profile_tree,
)
from kb.importing.model import ProposedRecord, Ref, SourceError, SourceRow
from kb.model.enums import (
    BiomarkerKind,
    Category,
    Consequence,
    CopyNumberType,
    RecordType,
    Role,
)
from tests.conftest import (
    ONCOTREE_FILE,
    SHARED_DATA,
    demo_admin,
    load_full_vocabularies,
    require_shared,
)

EVIDENCE = SHARED_DATA / "civic" / "civic-evidence-sample-2024-08-01.tsv"
ASSERTIONS = SHARED_DATA / "civic" / "civic-assertion-sample-2024-08-01.tsv"

# Why each sample evidence row that is not imported is reported (row as the file shows it).
# Everything else imports; see kb/importing/civic.py for the reasoning behind each rule.
EXPECTED_EVIDENCE_ERRORS: dict[int, set[str]] = {
    10: {"unsupported_variant"},  # "N-TERMINAL FRAME SHIFT"
    51: {"unsupported_variant"},  # "3' Exon Deletion"
    54: {"unsupported_variant"},  # "Alternative Transcript (ATI)"
}
# Rows whose evidence item imports but supports no assertion, and the start of the reason why.
# Rows whose evidence item bears on no assertion or oncogenicity record, with the reason. (Rows
# that only refute point at the KB's assertion if it has one; the engine drops the link when it
# has none: see test_refuting_rows_link_only_to_what_exists.)
EXPECTED_UNLINKED: dict[int, str] = {
    8: "Prognostic evidence with significance N/A",
}


@pytest.fixture
def evidence_file() -> Path:
    return require_shared(EVIDENCE)


@pytest.fixture
def assertion_file() -> Path:
    return require_shared(ASSERTIONS)


def _by_row(rows: list[SourceRow]) -> dict[int, SourceRow]:
    by_row = {row.location.row: row for row in rows}
    assert len(by_row) == len(rows), "one SourceRow per source row"
    return {number: row for number, row in by_row.items() if number is not None}


def _records(row: SourceRow, rtype: RecordType) -> list[ProposedRecord]:
    return [record for record in row.records if record.rtype is rtype]


def _record(row: SourceRow, key: Ref) -> ProposedRecord:
    return next(record for record in row.records if record.key == key.key)


def _assertion(row: SourceRow) -> dict[str, Any]:
    (assertion,) = _records(row, RecordType.ASSERTION)
    return dict(assertion.fields)


def _item(row: SourceRow) -> dict[str, Any]:
    (item,) = _records(row, RecordType.EVIDENCE_ITEM)
    return dict(item.fields)


def _biomarkers(row: SourceRow) -> list[dict[str, Any]]:
    return [dict(record.fields) for record in _records(row, RecordType.BIOMARKER)]


# --- every row accounted for ---------------------------------------------------------------------


def test_every_evidence_row_is_imported_or_reported(evidence_file: Path) -> None:
    rows = list(evidence_adapter(evidence_file))
    by_row = _by_row(rows)
    assert sorted(by_row) == list(range(2, 82))  # 80 data rows; the header is row 1
    for number, row in by_row.items():
        assert row.valid != bool(row.errors)
        assert row.valid == bool(row.records), f"row {number}"
        codes = {error.code for error in row.errors}
        assert codes == EXPECTED_EVIDENCE_ERRORS.get(number, set()), f"row {number}"
        if row.valid:
            (item,) = _records(row, RecordType.EVIDENCE_ITEM)
            linked = bool(item.fields["assertions"] or item.fields["oncogenicity"])
            assert linked == (number not in EXPECTED_UNLINKED), f"row {number}"
            if not linked:
                assert row.notes[0].startswith(EXPECTED_UNLINKED[number]), (number, row.notes)
        for error in row.errors:
            assert error.location.file == EVIDENCE.name
            assert error.location.row == number
            assert error.location.column and error.location.column.isalpha()
            assert error.field and error.message
    assert sum(row.valid for row in rows) == 77  # each an evidence item
    assert sum(not row.valid for row in rows) == 3
    assert sum(row.valid for row in rows) - len(EXPECTED_UNLINKED) == 76  # linked


def test_every_assertion_row_is_imported_or_reported(assertion_file: Path) -> None:
    rows = list(assertion_adapter(assertion_file))
    by_row = _by_row(rows)
    assert sorted(by_row) == list(range(2, 14))
    invalid = {number: {e.code for e in row.errors} for number, row in by_row.items() if row.errors}
    assert invalid == {}
    assert all(row.records for row in rows if row.valid)
    # The two von Hippel-Lindau rows: germline predisposition to a hereditary syndrome, which
    # matters whatever the tumour, classified as CIViC classifies them.
    for number, pathogenicity in ((4, "pathogenic"), (13, "likely_pathogenic")):
        (assertion,) = _records(by_row[number], RecordType.ASSERTION)
        assert assertion.fields["implication"] == "predisposing"
        assert assertion.fields["pathogenicity"] == pathogenicity
        assert assertion.fields["syndrome"] == "Von Hippel-Lindau Disease (DOID:14175)"
        assert assertion.fields["tumour_types"] == ["ALL_TUMOURS"]
        assert assertion.fields["evidence_level"] is None
        (biomarker,) = _records(by_row[number], RecordType.BIOMARKER)
        assert biomarker.fields["origin"] == "germline"


def test_a_hereditary_syndrome_scopes_a_germline_assertion(evidence_file: Path) -> None:
    row = _by_row(list(evidence_adapter(evidence_file)))[12]
    assert row.valid
    (item,) = _records(row, RecordType.EVIDENCE_ITEM)
    assert item.fields["disease"] == "Von Hippel-Lindau Disease (DOID:14175)"
    # Predisposing evidence about a hereditary syndrome supports a germline assertion about
    # the syndrome, whatever the tumour.
    assert item.fields["evidence_type"] == "predisposing"
    assert item.fields["tumour_types"] == [] and item.fields["assertions"]
    (assertion,) = _records(row, RecordType.ASSERTION)
    assert assertion.fields["syndrome"] == "Von Hippel-Lindau Disease (DOID:14175)"
    assert assertion.fields["tumour_types"] == ["ALL_TUMOURS"]


def test_a_snp_named_by_its_dbsnp_id_imports_as_a_germline_variant(evidence_file: Path) -> None:
    row = _by_row(list(evidence_adapter(evidence_file)))[46]  # SH2B3 RS3184504, predisposing
    assert row.valid and not row.errors
    (biomarker,) = _biomarkers(row)
    assert biomarker["kind"] == "sequence_variant"
    assert biomarker["dbsnp_id"] == "rs3184504"  # as the KB stores it
    assert biomarker["origin"] == "germline"  # CIViC: Common Germline
    assert "protein_change" not in biomarker and "dna_change" not in biomarker
    item = _item(row)
    assert (item["source_id"], item["evidence_type"]) == ("EID1744", "predisposing")
    assert item["assertions"]
    (assertion,) = _records(row, RecordType.ASSERTION)
    assert assertion.fields["implication"] == "predisposing"


def test_a_doid_without_mapping_says_how_to_add_one(tmp_path: Path, evidence_file: Path) -> None:
    lines = evidence_file.read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split("\t"), lines[2].split("\t")
    row[header.index("doid")] = "999999"
    path = tmp_path / "evidence.tsv"
    path.write_text("\n".join(["\t".join(header), "\t".join(row)]) + "\n", encoding="utf-8")
    (only,) = evidence_adapter(path)
    assert only.valid and only.location.row == 2
    (note,) = only.notes
    assert "DOID:999999" in note and "mapping file" in note


def test_reimport_proposes_identical_records(evidence_file: Path, assertion_file: Path) -> None:
    assert list(evidence_adapter(evidence_file)) == list(evidence_adapter(evidence_file))
    assert list(assertion_adapter(assertion_file)) == list(assertion_adapter(assertion_file))


# --- what rows become ----------------------------------------------------------------------------


def test_evidence_row_becomes_an_evidence_item_supporting_a_proposed_assertion(
    evidence_file: Path,
) -> None:
    row = _by_row(list(evidence_adapter(evidence_file)))[31]  # ALK Fusion, NSCLC, Crizotinib, B
    (item,) = _records(row, RecordType.EVIDENCE_ITEM)
    fields = dict(item.fields)
    assert {k: fields[k] for k in ("source", "source_id", "evidence_type", "direction")} == {
        "source": "CIViC",
        "source_id": "EID1200",
        "evidence_type": "predictive",
        "direction": "supports",
    }
    assert (fields["source_level"], fields["rating"], fields["status"]) == ("B", 4, "accepted")
    assert fields["tumour_types"] == ["NSCLC"]
    assert fields["disease"] == "Lung Non-small Cell Carcinoma (DOID:3908)"
    (assertion_ref,) = fields["assertions"]
    proposed = _record(row, assertion_ref)
    assert proposed.update is False  # a matching KB assertion stays as curated
    assertion = dict(proposed.fields)
    assert assertion["tumour_types"] == ["NSCLC"]
    assert assertion["implication"] == "sensitive"
    assert assertion["evidence_level"] == "3A"  # CIViC B
    assert assertion["line_of_therapy"] == "any"
    assert assertion["expression"] == fields["expression"]
    assert _record(row, assertion["expression"]).fields == {
        "tree": {"biomarker": Ref("row 31 biomarker 1")}
    }
    assert _biomarkers(row) == [
        {
            "kind": "fusion",
            "origin": "somatic",
            "gene": "ALK",
            "partner_3": "ALK",
            "partner_5": None,
        }
    ]
    therapy = _record(row, assertion["therapy"]).fields
    assert therapy["name"] == "Crizotinib" and therapy["combination"] == "monotherapy"
    assert assertion["citations"] == ["pmid:24478318"]
    (citation,) = fields["citations"]
    assert _record(row, citation).fields == {
        "kind": "pmid",
        "identifier": "24478318",
        "title": "Ou et al., 2014",
    }
    assert "EID1200" in assertion["description"]


def test_rows_about_one_assertion_support_it_together_at_their_best_level(
    tmp_path: Path, evidence_file: Path
) -> None:
    """Several papers on one (biomarker, disease, therapy) are normal, not a conflict."""
    lines = evidence_file.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    base = lines[30].split("\t")  # ALK fusion, NSCLC, crizotinib, level B

    def variant(level: str, eid: str, pmid: str, direction: str = "Supports") -> str:
        row = list(base)
        row[header.index("evidence_level")] = level
        row[header.index("evidence_id")] = eid
        row[header.index("citation_id")] = pmid
        row[header.index("evidence_direction")] = direction
        return "\t".join(row)

    path = tmp_path / "evidence.tsv"
    rows = [
        variant("C", "9001", "111"),
        variant("A", "9002", "222"),
        variant("B", "9003", "333", "Does Not Support"),
    ]
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    first, second, refuting = evidence_adapter(path)
    assert first.valid and second.valid and refuting.valid
    items = [_records(row, RecordType.EVIDENCE_ITEM)[0].fields for row in (first, second, refuting)]
    links = {tuple(item["assertions"]) for item in items}
    assert len(links) == 1  # one assertion for all three, the refuting one included
    assert items[2]["direction"] == "does_not_support"
    (assertion,) = _records(first, RecordType.ASSERTION)  # the first supporting row proposes it
    assert assertion.fields["evidence_level"] == "2"  # CIViC A, the best of C and A
    assert assertion.fields["citations"] == ["pmid:111", "pmid:222"]  # supporting rows only
    assert not _records(second, RecordType.ASSERTION)


def test_substitutes_give_one_assertion_per_drug(evidence_file: Path) -> None:
    row = _by_row(list(evidence_adapter(evidence_file)))[5]  # Selumetinib,Pictilisib Substitutes
    assertions = _records(row, RecordType.ASSERTION)
    therapies = [_record(row, a.fields["therapy"]).fields["name"] for a in assertions]
    assert therapies == ["Selumetinib", "Pictilisib"]
    assert {a.fields["expression"] for a in assertions} == {Ref("row 5 expression 1")}


def test_combination_is_one_therapy_with_drugs_in_a_stable_order(evidence_file: Path) -> None:
    row = _by_row(list(evidence_adapter(evidence_file)))[27]  # Etoposide,Doxorubicin,Cisplatin
    therapy = _record(row, _assertion(row)["therapy"]).fields
    assert therapy["name"] == "Cisplatin + Doxorubicin + Etoposide"
    assert therapy["combination"] == "combination"
    drugs = [_record(row, ref).fields["name"] for ref in therapy["drugs"]]
    assert drugs == ["Cisplatin", "Doxorubicin", "Etoposide"]


def test_assertion_levels_use_the_amp_category_and_approval(assertion_file: Path) -> None:
    rows = _by_row(list(assertion_adapter(assertion_file)))
    approved = _assertion(rows[2])  # ERBB2 amplification, trastuzumab, Tier I A, FDA approved
    assert approved["evidence_level"] == "1"
    assert approved["tumour_types"] == ["BRCA"]
    tier2 = _assertion(rows[9])  # ACVR1 G328V, diagnostic, Tier II Level C
    assert (tier2["implication"], tier2["evidence_level"], tier2["therapy"]) == (
        "diagnostic",
        "3B",
        None,
    )
    citations = [_record(rows[2], ref).fields for ref in approved["citations"]]
    assert citations == [
        {
            "kind": "guideline",
            "identifier": "NCCN Breast Cancer v3.2017",
            "title": "NCCN Clinical Practice Guidelines in Oncology: Breast Cancer, version 3.2017",
        },
        {
            "kind": "url",
            "identifier": "https://civicdb.org/links/assertions/2",
            "title": "CIViC assertion AID2",
        },
    ]
    # The assertion file has no interaction type: several drugs are one combination.
    combination = _record(rows[7], _assertion(rows[7])["therapy"]).fields
    assert combination["name"] == "Dabrafenib + Trametinib"


def test_drug_order_does_not_make_two_therapies(assertion_file: Path) -> None:
    rows = _by_row(list(assertion_adapter(assertion_file)))
    # Row 10 lists "Cobimetinib,Vemurafenib", row 11 "Vemurafenib,Cobimetinib".
    ten = _record(rows[10], _assertion(rows[10])["therapy"]).fields
    eleven = _record(rows[11], _assertion(rows[11])["therapy"]).fields
    assert ten["name"] == eleven["name"] == "Cobimetinib + Vemurafenib"
    names = [
        [_record(r, d).fields["name"] for d in t["drugs"]]
        for r, t in ((rows[10], ten), (rows[11], eleven))
    ]
    assert names[0] == names[1] == ["Cobimetinib", "Vemurafenib"]


def test_literal_quotes_and_non_ascii_text_are_read_as_written(evidence_file: Path) -> None:
    rows = _by_row(list(evidence_adapter(evidence_file)))
    assert 'BRAF-fusion in "pan-negative" melanomas' in _item(rows[3])["description"]
    citation = _record(rows[9], _item(rows[9])["citations"][0]).fields
    assert citation["title"] == "Fröhling et al., 2004"
    assert "–" in _item(rows[31])["description"]  # an en dash in the statement


def test_bom_crlf_quotes_and_unicode_in_a_written_file(tmp_path: Path, evidence_file: Path) -> None:
    header, *_ = evidence_file.read_text(encoding="utf-8").splitlines()
    columns = header.split("\t")
    values = dict.fromkeys(columns, "")
    values.update(
        molecular_profile="EGFR L858R",
        disease="Lung Non-small Cell Carcinoma",
        doid="3908",
        therapies="Gefitinib",
        evidence_type="Predictive",
        evidence_direction="Supports",
        evidence_level="B",
        significance="Sensitivity/Response",
        evidence_statement='Responses "≥ 50 %" in α-cohort\u2009(n=12); "quoted',
        citation_id="24263064",
        source_type="PubMed",
        citation="Müller et al., 2014",
        evidence_id="1",
        variant_origin="Somatic",
    )
    line = "\t".join(values[column] for column in columns)
    data = ("\ufeff" + header + "\r\n" + line + "\r\n\r\n").encode("utf-8")
    path = tmp_path / "evidence.tsv"
    path.write_bytes(data)
    (row,) = evidence_adapter(path)
    assert row.valid and row.location.row == 2
    item = _item(row)
    assert item["description"].startswith('Responses "≥ 50 %" in α-cohort\u2009(n=12); "quoted')
    assert _record(row, item["citations"][0]).fields["title"] == "Müller et al., 2014"
    assert _biomarkers(row)[0]["protein_change"] == "p.Leu858Arg"


def test_a_row_split_by_a_stray_line_break_is_reported(tmp_path: Path, evidence_file: Path) -> None:
    lines = evidence_file.read_text(encoding="utf-8").splitlines()
    broken = lines[1].replace("melanomas were", "melanomas\nwere", 1)
    path = tmp_path / "evidence.tsv"
    path.write_text("\n".join([lines[0], broken, lines[2]]) + "\n", encoding="utf-8")
    rows = list(evidence_adapter(path))
    assert [row.location.row for row in rows] == [2, 3, 4]
    assert [e.code for e in rows[0].errors] == ["wrong_cell_count"]
    assert [e.code for e in rows[1].errors] == ["wrong_cell_count"]
    assert rows[2].valid


def test_a_file_that_is_not_a_civic_export_fails_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "other.tsv"
    path.write_text("gene\tvariant\nBRAF\tV600E\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        list(evidence_adapter(path))
    codes = {error.code for error in caught.value.errors}
    assert codes == {"missing_column", "unknown_layout"}  # see tests/test_civic_layouts.py
    assert all(error.location.row == 1 for error in caught.value.errors)
    assert any(error.field == "molecular_profile" for error in caught.value.errors)


# --- molecular profiles --------------------------------------------------------------------------


def _sv(gene: str, hgvs: str) -> Leaf:
    return Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, gene, protein_change=hgvs))


def _codon(gene: str, position: int) -> Leaf:
    return Leaf(
        BiomarkerSpec(
            BiomarkerKind.RANGE,
            gene,
            codon_start=position,
            codon_end=position,
            consequence=Consequence.MISSENSE,
        )
    )


def _exon(gene: str, exon: int, consequence: Consequence) -> Leaf:
    return Leaf(BiomarkerSpec(BiomarkerKind.RANGE, gene, exon=exon, consequence=consequence))


def _fusion(gene: str, five: str | None, three: str | None) -> Leaf:
    return Leaf(BiomarkerSpec(BiomarkerKind.FUSION, gene, partner_5=five, partner_3=three))


PROFILES: list[tuple[str, Leaf | Node]] = [
    ("BRAF V600E", _sv("BRAF", "p.Val600Glu")),
    ("EML4::ALK Fusion", _fusion("ALK", "EML4", "ALK")),
    ("ALK Fusion", _fusion("ALK", None, "ALK")),
    ("EWSR1 Fusion", _fusion("EWSR1", "EWSR1", None)),
    ("BRAF PAPSS1::BRAF", _fusion("BRAF", "PAPSS1", "BRAF")),
    ("ABL1 BCR::ABL1", _fusion("ABL1", "BCR", "ABL1")),
    (
        "BRAF V600E AND BRAF V600M",
        Node("AND", (_sv("BRAF", "p.Val600Glu"), _sv("BRAF", "p.Val600Met"))),
    ),
    ("EGFR Exon 19 Deletion", _exon("EGFR", 19, Consequence.INFRAME_DELETION)),
    ("EGFR Exon 20 Insertion", _exon("EGFR", 20, Consequence.INFRAME_INSERTION)),
    ("MET Exon 14 Skipping Mutation", _exon("MET", 14, Consequence.EXON_SKIPPING)),
    ("NPM1 EXON 12 MUTATION", _exon("NPM1", 12, Consequence.ANY)),
    ("KRAS G12", _codon("KRAS", 12)),
    ("KRAS G12/G13", Node("OR", (_codon("KRAS", 12), _codon("KRAS", 13)))),
    ("BRAF V600E/K", Node("OR", (_sv("BRAF", "p.Val600Glu"), _sv("BRAF", "p.Val600Lys")))),
    (
        "ERBB2 Amplification",
        Leaf(
            BiomarkerSpec(
                BiomarkerKind.COPY_NUMBER, "ERBB2", copy_number=CopyNumberType.AMPLIFICATION
            )
        ),
    ),
    (
        "CDKN2A Deletion",
        Leaf(
            BiomarkerSpec(BiomarkerKind.COPY_NUMBER, "CDKN2A", copy_number=CopyNumberType.DELETION)
        ),
    ),
    (
        "TP53 Loss-of-function",
        Leaf(BiomarkerSpec(BiomarkerKind.CATEGORICAL, "TP53", category=Category.LOSS_OF_FUNCTION)),
    ),
    (
        "KRAS Mutation",
        Leaf(BiomarkerSpec(BiomarkerKind.CATEGORICAL, "KRAS", category=Category.ANY_MUTATION)),
    ),
    (
        "KRAS Oncogenic Mutation",
        Leaf(
            BiomarkerSpec(BiomarkerKind.CATEGORICAL, "KRAS", category=Category.ONCOGENIC_MUTATIONS)
        ),
    ),
    (
        "FLT3 ITD",
        Leaf(
            BiomarkerSpec(
                BiomarkerKind.RANGE, "FLT3", consequence=Consequence.INTERNAL_TANDEM_DUPLICATION
            )
        ),
    ),
    ("CD274 Expression", Leaf(BiomarkerSpec(BiomarkerKind.EXPRESSION, "CD274", status="positive"))),
    ("EGFR Overexpression", Leaf(BiomarkerSpec(BiomarkerKind.EXPRESSION, "EGFR", status="high"))),
    ("CCND2 OVEREXPRESSION", Leaf(BiomarkerSpec(BiomarkerKind.EXPRESSION, "CCND2", status="high"))),
    ("TP53 Wildtype", Leaf(BiomarkerSpec(BiomarkerKind.WILD_TYPE, "TP53"))),
    (
        "MGMT Promoter Methylation",
        Leaf(BiomarkerSpec(BiomarkerKind.METHYLATION, "MGMT", status="methylated")),
    ),
    (
        "GNAS c.393T>C",
        Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, "GNAS", dna_change="c.393T>C")),
    ),
    (
        "JAK2 Splice Site (c.1641+2T>G)",
        Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, "JAK2", dna_change="c.1641+2T>G")),
    ),
    (
        "TERT Promoter Mutation",
        Leaf(BiomarkerSpec(BiomarkerKind.RANGE, "TERT", consequence=Consequence.PROMOTER)),
    ),
    (
        "ERBB2 Copy Number Gain",
        Leaf(BiomarkerSpec(BiomarkerKind.COPY_NUMBER, "ERBB2", copy_number=CopyNumberType.GAIN)),
    ),
    (
        "BRAF DEL 485-490",
        Leaf(
            BiomarkerSpec(
                BiomarkerKind.RANGE,
                "BRAF",
                codon_start=485,
                codon_end=490,
                consequence=Consequence.INFRAME_DELETION,
            )
        ),
    ),
    ("EGFR E746_T751>I", _sv("EGFR", "p.Glu746_Thr751delinsIle")),
    ("KIT P551_E554delPMYE", _sv("KIT", "p.Pro551_Glu554del")),
    ("RUNX1 T148HFSX9", _sv("RUNX1", "p.Thr148fs")),
    ("VHL P154= (c.462A>C)", _sv("VHL", "p.Pro154=")),
    (
        "KIT V555_V559DEL",
        Leaf(
            BiomarkerSpec(
                BiomarkerKind.SEQUENCE_VARIANT, "KIT", protein_change="p.Val555_Val559del"
            )
        ),
    ),
    ("NF2 Y177fs", _sv("NF2", "p.Tyr177fs")),
    ("NOT BRAF V600E", Node("NOT", (_sv("BRAF", "p.Val600Glu"),))),
    (
        "EGFR L858R OR EGFR Exon 19 Deletion",
        Node("OR", (_sv("EGFR", "p.Leu858Arg"), _exon("EGFR", 19, Consequence.INFRAME_DELETION))),
    ),
    (
        "ALK EML4::ALK AND ALK L1198F AND ALK C1156Y",
        Node(
            "AND",
            (
                _fusion("ALK", "EML4", "ALK"),
                _sv("ALK", "p.Leu1198Phe"),
                _sv("ALK", "p.Cys1156Tyr"),
            ),
        ),
    ),
    (
        "(BRAF V600E OR BRAF V600K) AND NOT NRAS Q61K",
        Node(
            "AND",
            (
                Node("OR", (_sv("BRAF", "p.Val600Glu"), _sv("BRAF", "p.Val600Lys"))),
                Node("NOT", (_sv("NRAS", "p.Gln61Lys"),)),
            ),
        ),
    ),
    (
        "BRAF V600E OR BRAF V600K AND NRAS Q61K",  # AND binds tighter
        Node(
            "OR",
            (
                _sv("BRAF", "p.Val600Glu"),
                Node("AND", (_sv("BRAF", "p.Val600Lys"), _sv("NRAS", "p.Gln61Lys"))),
            ),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PROFILES, ids=[text for text, _ in PROFILES])
def test_molecular_profiles_parse_into_biomarker_trees(text: str, expected: Leaf | Node) -> None:
    assert profile_tree(parse_molecular_profile(text)) == expected


UNSUPPORTED = [
    ("DKK1 NUCLEAR EXPRESSION", "unsupported_variant"),
    ("EGFR VIII", "unsupported_variant"),
    ("UGT1A1 UGT1A1*28", "unsupported_variant"),
    ("EML4::ALK e6::e20", "unsupported_variant"),
    ("FLT3 ITD & D839G", "unparseable_profile"),
    ("BRAF Non-V600", "unparseable_profile"),
    ("ALK Alternative Transcript (ATI)", "unsupported_variant"),
    ("EPCAM 3' Exon Deletion", "unsupported_variant"),
    ("BRAF", "unparseable_profile"),
    ("BRAF V600E AND", "unparseable_profile"),
    ("(BRAF V600E OR BRAF V600K", "unparseable_profile"),
    ("BRAF V600E OR BRAF V600K)", "unparseable_profile"),
    ("", "unparseable_profile"),
    ("EGFR EML4::ALK", "unparseable_profile"),
]


def test_every_civic_molecular_profile_parses_or_says_why() -> None:
    """CIViC's complete list of molecular-profile names (1,810, February 2025)."""
    path = require_shared(SHARED_DATA / "civic" / "civic-molecular-profiles-2025-02-01.tsv")
    csv.field_size_limit(1 << 26)
    with path.open(encoding="utf-8", newline="") as handle:
        names = [
            row["name"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]
    assert len(names) == 1810
    parsed, reasons = 0, Counter()
    for name in names:
        try:
            profile_tree(parse_molecular_profile(name))
            parsed += 1
        except ProfileError as exc:
            assert exc.code in ("unsupported_variant", "unparseable_profile") and exc.message
            reasons[exc.code] += 1
    assert parsed >= 1710, (parsed, reasons)  # 1,712 (95 %); each other one says why


@pytest.mark.parametrize(("text", "code"), UNSUPPORTED, ids=[text for text, _ in UNSUPPORTED])
def test_profiles_without_a_kb_form_are_refused_with_a_reason(text: str, code: str) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_tree(parse_molecular_profile(text))
    assert caught.value.code == code
    assert caught.value.message


# --- mapping tables ------------------------------------------------------------------------------


def _oncotree_codes() -> set[str]:
    data = json.loads(require_shared(ONCOTREE_FILE).read_text(encoding="utf-8"))
    codes: set[str] = set()
    stack = list(data.values())
    while stack:
        node = stack.pop()
        codes.add(node["code"])
        stack.extend((node.get("children") or {}).values())
    return codes


def test_every_shipped_doid_mapping_names_real_oncotree_codes() -> None:
    codes = _oncotree_codes() | {"ALL_TUMOURS", "ALL_SOLID", "ALL_LIQUID"}
    mapping = DiseaseMap.load()
    targets = {code for found in mapping.by_doid.values() for code in found}
    targets |= {code for found in mapping.by_name.values() for code in found}
    assert targets <= codes, sorted(targets - codes)
    assert mapping.by_doid["3908"] == ("NSCLC",)
    assert mapping.by_doid["1909"] == ("MEL",)
    assert mapping.by_doid["9256"] == ("COADREAD",)
    assert mapping.by_doid["80188"] == ("CMML",)  # "0080188": leading zeros do not matter


def test_every_sample_doid_is_mapped_or_deliberately_unmapped(
    evidence_file: Path, assertion_file: Path
) -> None:
    mapping = DiseaseMap.load()
    for path in (evidence_file, assertion_file):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            cells = line.split("\t")
            doid, disease = cells[3], cells[2]
            if doid:
                key = str(int(doid))
                assert key in mapping.by_doid or key in mapping.unmapped, (doid, disease)


def test_a_curators_mapping_file_overrides_the_shipped_one(
    tmp_path: Path, evidence_file: Path
) -> None:
    override = tmp_path / "my_doids.toml"
    override.write_text(
        '[doid]\n"DOID:1909" = "SKCM"\n"14175" = ["ALL_TUMOURS"]\n', encoding="utf-8"
    )
    rows = _by_row(list(evidence_adapter(evidence_file, doid_map=override)))
    assert _item(rows[3])["tumour_types"] == ["SKCM"]
    # Row 12 (von Hippel-Lindau) is no longer unmapped: its germline assertion takes the
    # curator's scope and names no syndrome.
    assert _item(rows[12])["tumour_types"] == ["ALL_TUMOURS"]
    assert rows[12].notes == ()
    assert _assertion(rows[12])["implication"] == "predisposing"
    assert _assertion(rows[12])["syndrome"] is None
    # Entries the override does not mention keep the shipped mapping.
    assert _item(rows[31])["tumour_types"] == ["NSCLC"]


def test_a_curators_level_table_overrides_the_shipped_one(
    tmp_path: Path, evidence_file: Path
) -> None:
    override = tmp_path / "levels.toml"
    override.write_text('[evidence.resistant]\nD = "R2"\n', encoding="utf-8")
    rows = _by_row(list(evidence_adapter(evidence_file, levels=override)))
    assert rows[2].valid  # preclinical resistance, now given a level
    assert _assertion(rows[2])["evidence_level"] == "R2"
    assert _assertion(rows[3])["evidence_level"] == "4"  # unchanged entries stay


def test_shipped_level_table_covers_every_civic_level() -> None:
    text = resources.files("kb.importing").joinpath("civic_levels.toml").read_text("utf-8")
    table = tomllib.loads(text)
    for implication in ("sensitive", "resistant", "diagnostic", "prognostic"):
        assert set(table["evidence"][implication]) == set("ABCDE")
        assert len(table["assertion"][implication]) == 4


def test_a_bad_mapping_file_is_a_clear_error(tmp_path: Path, evidence_file: Path) -> None:
    from kb.errors import KbError

    override = tmp_path / "bad.toml"
    override.write_text('[doid]\n"lung" = "LUNG"\n', encoding="utf-8")
    with pytest.raises(KbError, match="not a DOID"):
        list(evidence_adapter(evidence_file, doid_map=override))
    override.write_text('[evidence.sensitive]\nA = "5"\n', encoding="utf-8")
    with pytest.raises(KbError, match="must be one of"):
        list(evidence_adapter(evidence_file, levels=override))


# --- with a snapshot of the KB -------------------------------------------------------------------


def _lookup(**overrides: Any) -> KbLookup:
    defaults: dict[str, Any] = {
        "genes": {"BRAF": "BRAF", "ALK": "ALK"},
        "hgnc": {
            "BRAF": ("BRAF", "HGNC:1097", "B-Raf proto-oncogene"),
            "ALK": ("ALK", "HGNC:427", "ALK receptor tyrosine kinase"),
            "PAPSS1": ("PAPSS1", "HGNC:8603", "3'-phosphoadenosine 5'-phosphosulfate synthase 1"),
        },
        "hgnc_synonyms": {"HER2": "ERBB2"},
        "drugs": {"crizotinib": "crizotinib"},
        "therapies": {frozenset({"crizotinib"}): "TX-00007"},
        "citations": frozenset({"pmid:24478318"}),
        "tumour_codes": frozenset({"MEL", "NSCLC"}),
    }
    defaults.update(overrides)
    return KbLookup(**defaults)


def test_with_a_lookup_existing_records_are_referred_to_and_new_genes_proposed(
    evidence_file: Path,
) -> None:
    rows = _by_row(list(evidence_adapter(evidence_file, lookup=_lookup())))
    alk = rows[31]  # ALK Fusion, Crizotinib, PMID 24478318: all in the "KB"
    assert [r.rtype for r in alk.records] == [
        RecordType.BIOMARKER,
        RecordType.EXPRESSION,
        RecordType.ASSERTION,
        RecordType.EVIDENCE_ITEM,
    ]
    assert _item(alk)["therapy"] == "TX-00007"
    assert _item(alk)["citations"] == ["pmid:24478318"]
    assertion = _assertion(alk)
    assert assertion["therapy"] == "TX-00007"
    assert assertion["citations"] == ["pmid:24478318"]
    papss1 = rows[3]  # BRAF PAPSS1::BRAF: PAPSS1 is new to the KB, known to HGNC
    (gene,) = _records(papss1, RecordType.GENE)
    assert gene.fields == {
        "symbol": "PAPSS1",
        "hgnc_id": "HGNC:8603",
        "name": "3'-phosphoadenosine 5'-phosphosulfate synthase 1",
    }
    assert _biomarkers(papss1)[0]["partner_5"] == Ref(gene.key)
    assert _biomarkers(papss1)[0]["gene"] == "BRAF"
    # A gene neither the KB nor HGNC knows is a located error on the profile cell.
    rit1 = rows[5]
    error = next(error for error in rit1.errors if error.code == "unknown_gene")
    assert (error.location.row, error.location.column, error.value) == (5, "A", "RIT1")
    # The DOID mapping gives codes the loaded OncoTree lacks: reported, not imported.
    luad = rows[23]
    assert "unknown_code" in {e.code for e in luad.errors}


def test_an_alias_symbol_suggests_the_approved_one(tmp_path: Path, evidence_file: Path) -> None:
    lines = evidence_file.read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split("\t"), lines[15].split("\t")  # row 16: ERBB2 Amplification
    row[0] = "HER2 Amplification"
    path = tmp_path / "evidence.tsv"
    path.write_text("\n".join(["\t".join(header), "\t".join(row)]) + "\n", encoding="utf-8")
    lookup = _lookup(tumour_codes=frozenset({"BRCA"}))
    (only,) = evidence_adapter(path, lookup=lookup)
    (error,) = only.errors
    assert error.code == "not_approved_symbol" and "ERBB2" in error.message


# --- through the engine --------------------------------------------------------------------------


def _vocabularies(kb: Any) -> None:
    load_full_vocabularies(kb)


@pytest.fixture
def demo_with_vocab(demo_url: str) -> Any:
    from kb.storage.db import open_kb

    kb = open_kb(demo_url)
    _vocabularies(kb)
    yield kb
    kb.close()


def _preview(kb: Any, adapter: Any, path: Path) -> Any:
    engine = pytest.importorskip("kb.importing.engine")
    if not hasattr(engine, "preview"):
        pytest.skip("kb.importing.engine has no preview() yet")
    with kb.read() as session:
        lookup = KbLookup.from_session(session)
        return engine.preview(adapter(path, lookup=lookup), session)


@pytest.mark.parametrize(
    ("adapter", "sample", "valid"),
    [(evidence_adapter, EVIDENCE, 77), (assertion_adapter, ASSERTIONS, 12)],
    ids=["evidence", "assertion"],
)
def test_preview_against_the_demo_kb_accounts_for_every_row(
    demo_with_vocab: Any, adapter: Any, sample: Path, valid: int
) -> None:
    result = _preview(demo_with_vocab, adapter, require_shared(sample))
    rows = len(result.rows)
    assert rows == sum(1 for _ in adapter(sample))
    assert result.new + result.changed + result.unchanged + result.invalid == rows
    assert result.invalid == rows - valid, [str(e) for e in result.errors][:5]
    assert result.changed == 0  # nothing in the demo KB is renamed or re-described
    assert not result.file_errors
    counts = Counter(error.code for error in result.errors)
    assert bool(counts) == (valid < rows)  # the reported rows carry their reasons in


def _team(kb: Any) -> tuple[Any, Any]:
    from kb.review.users import add_user

    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        curator = add_user(
            session, actor=admin, name="cara", role=Role.CURATOR, password="cara-pass-1"
        )
        reviewer = add_user(
            session, actor=admin, name="rita", role=Role.REVIEWER, password="rita-pass-1"
        )
    return curator, reviewer


def apply_and_merge(kb: Any, result: Any, source: Path) -> None:
    """Stage a preview into a change set, submit it, and have a reviewer approve (merge) it."""
    changes = pytest.importorskip("kb.review.changes")
    engine = pytest.importorskip("kb.importing.engine")
    if not hasattr(changes, "open_draft") or not hasattr(engine, "apply"):
        pytest.skip("applying an import needs kb.changes.open_draft and kb.importing.engine.apply")
    curator, reviewer = _team(kb)
    with kb.unit_of_work() as session:
        change_set = engine.apply(
            result,
            session,
            actor=curator,
            skip_invalid=True,
            source_name=source.name,
            source_sha256=engine.sha256_of(source) if hasattr(engine, "sha256_of") else None,
        )
    with kb.unit_of_work() as session:
        changes.submit_change_set(session, actor=curator, change_set_id=change_set)
    with kb.unit_of_work() as session:
        changes.approve_change_set(session, actor=reviewer, change_set_id=change_set)


@pytest.mark.parametrize(
    ("adapter", "sample"),
    [(evidence_adapter, EVIDENCE), (assertion_adapter, ASSERTIONS)],
    ids=["evidence", "assertion"],
)
def test_reimport_after_apply_changes_nothing(
    demo_with_vocab: Any, adapter: Any, sample: Path
) -> None:
    path = require_shared(sample)
    first = _preview(demo_with_vocab, adapter, path)
    apply_and_merge(demo_with_vocab, first, path)
    again = _preview(demo_with_vocab, adapter, path)
    assert again.new == 0 and again.changed == 0
    assert again.unchanged == first.new + first.changed + first.unchanged
    assert again.invalid == first.invalid


def test_the_derived_doid_crosswalk_maps_what_the_curated_table_does_not(
    tmp_path: Path, evidence_file: Path, demo_kb: Any
) -> None:
    """Exact and same-name entries of the crosswalk derived from DO and OncoTree are taken;
    a broader one (through an ancestor) waits for a curator and says so."""
    from kb.model.enums import CrosswalkKind
    from kb.vocab.doid import DoidCrosswalk

    with demo_kb.read() as session:
        lookup = KbLookup.from_session(session)
        crosswalk = DoidCrosswalk.from_session(session)
    curated = DiseaseMap.load()
    broader = next(
        m
        for number in range(1, 100_000)
        if (m := crosswalk.get(number)) is not None
        and m.kind is CrosswalkKind.BROADER
        and str(number) not in curated.by_doid
        and str(number) not in curated.unmapped
    )
    lines = evidence_file.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")

    def row(doid: str, eid: str) -> str:
        cells = lines[30].split("\t")  # ALK fusion, crizotinib
        cells[header.index("doid")] = doid
        cells[header.index("evidence_id")] = eid
        return "\t".join(cells)

    path = tmp_path / "evidence.tsv"
    doid = broader.doid.removeprefix("DOID:")
    path.write_text("\n".join([lines[0], row("6039", "1"), row(doid, "2")]) + "\n")
    uveal, broad = evidence_adapter(path, lookup=lookup)
    assert _item(uveal)["tumour_types"] == ["UM"]  # uveal melanoma: NCI:C7712, exact
    assert _item(uveal)["assertions"]
    assert broad.valid and _item(broad)["assertions"] == []
    (note,) = broad.notes
    assert "maps to OncoTree only broadly" in note and broader.via.split()[0] in note
