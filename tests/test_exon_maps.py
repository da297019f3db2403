"""Exon maps: curated codon ranges per exon, checked on the way in and by validation."""

from __future__ import annotations

import pytest

from kb.errors import KbError
from kb.model.enums import RecordType
from kb.model.exons import ExonMapError, parse_exons, place
from kb.model.records import RecordRow, get_record, list_records
from kb.review.changes import open_draft
from kb.review.users import authenticate
from kb.storage.db import Kb
from kb.validation.checks import Vocabularies, validate_rows


def test_exons_parse_and_place_a_codon_span() -> None:
    exons = parse_exons(["18: 688-728", "exon 19: 729–761", "20:762-823"])
    assert [str(exon) for exon in exons] == ["18: 688-728", "19: 729-761", "20: 762-823"]
    assert place(exons, 746, 750).exon == 19
    assert place(exons, 753, 763).exons == (19, 20)  # across an edge: no single exon
    assert place(exons, 858).exons == ()  # exon 21 is not in this map


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["19 729-761"], "is not like"),
        (["19: 761-729"], "codon 761 comes after 729"),
        (["20: 762-823", "19: 729-761"], "exon 19 follows exon 20"),
        (["19: 729-761", "20: 750-823"], "exon 20 starts at codon 750, inside exon 19"),
        ([], "at least one exon"),
    ],
)
def test_exon_lists_that_do_not_hold_together_are_refused(entries: list[str], message: str) -> None:
    with pytest.raises(ExonMapError, match=message):
        parse_exons(entries)


def test_the_demo_maps_its_exon_biomarkers_and_a_bad_map_is_refused_at_the_door(
    demo_kb: Kb,
) -> None:
    with demo_kb.read() as session:
        maps = {row.title: row.fields for row in list_records(session, RecordType.EXON_MAP)}
        egfr = get_record(session, "EM-00001")
    assert set(maps) == {
        "EGFR exons on NM_005228.5",
        "MET exons on NM_000245.4",
        "PDGFRA exons on NM_006206.6",
    }
    assert egfr.fields["exons"][1] == "19: 729-761" and egfr.fields["citations"]
    with demo_kb.unit_of_work() as session:
        curator = authenticate(session, name="curator", password="demo-curator")
        editor = open_draft(session, actor=curator, title="a broken map")
        with pytest.raises(KbError, match="exon 21 starts at codon 800, inside exon 20"):
            editor.update("EM-00001", {"exons": ["20: 762-823", "21: 800-875"]})


def _row(rtype: RecordType, human_id: str, **fields: object) -> RecordRow:
    return RecordRow(rtype, human_id, human_id, 1, human_id, fields)


def test_an_exon_biomarker_without_its_exon_mapped_is_a_warning() -> None:
    gene = _row(RecordType.GENE, "GN-00001", symbol="ERBB2", hgnc_id="HGNC:3430")
    ex20 = _row(
        RecordType.BIOMARKER,
        "BM-00001",
        kind="range",
        gene="GN-00001",
        exon=20,
        consequence="inframe_insertion",
    )
    vocab = Vocabularies()
    unmapped = [p for p in validate_rows([gene, ex20], vocab) if p.code == "exon_unmapped"]
    assert [(p.record, p.severity) for p in unmapped] == [("BM-00001", "warning")]
    assert "ERBB2 has no exon map" in unmapped[0].message
    partial = _row(
        RecordType.EXON_MAP,
        "EM-00001",
        gene="GN-00001",
        transcript="NM_004448.4",
        exons=["19: 720-769"],
        citations=[],
    )
    problems = [p for p in validate_rows([gene, ex20, partial], vocab) if p.code == "exon_unmapped"]
    assert [p.message for p in problems] == ["the exon map EM-00001 of ERBB2 has no exon 20"]
    complete = _row(
        RecordType.EXON_MAP,
        "EM-00001",
        gene="GN-00001",
        transcript="NM_004448.4",
        exons=["19: 720-769", "20: 770-831"],
        citations=[],
    )
    assert not [
        p for p in validate_rows([gene, ex20, complete], vocab) if p.code == "exon_unmapped"
    ]
