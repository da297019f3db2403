"""The KB records file (`--profile kb-records`): YAML content that reviews as a diff, imported
through the same preview and change set as a spreadsheet, with errors located by line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kb.errors import KbError
from kb.importing.model import SourceError
from kb.importing.records_file import records_adapter
from kb.importing.service import import_file
from kb.model.enums import RecordType
from kb.model.records import list_records
from kb.review.changes import get_change_set, list_change_sets
from kb.review.users import authenticate
from kb.storage.db import Kb


def _write(tmp_path: Path, body: str, name: str = "records.yaml") -> Path:
    path = tmp_path / name
    path.write_text("format: kb-curator-records/1\n" + textwrap.dedent(body))
    return path


NEW_CONTENT = """\
records:
  expression:
  - key: EX_HRAS_Q61
    tree: HRAS_Q61R OR HRAS_Q61K     # refers forward, to biomarkers below
  biomarker:
  - key: HRAS_Q61R
    kind: sequence_variant
    gene: HRAS                      # the key of the gene record below
    label: HRAS Q61R
    protein_change: p.Q61R
  - key: HRAS_Q61K
    kind: sequence_variant
    gene: HRAS
    label: HRAS Q61K
    protein_change: p.Q61K
  - key: KRAS_Q61H
    kind: sequence_variant
    gene: KRAS                      # no key of this file: the gene the KB has
    label: KRAS Q61H
    protein_change: p.Q61H
  gene:
  - key: HRAS
    symbol: HRAS
    hgnc_id: HGNC:5173
    name: HRas proto-oncogene, GTPase
    role: oncogene
"""


def test_records_with_forward_references_become_one_change_set(demo_kb: Kb, tmp_path: Path) -> None:
    path = _write(tmp_path, NEW_CONTENT)
    with demo_kb.unit_of_work() as session:
        curator = authenticate(session, name="curator", password="demo-curator")
        outcome = import_file(session, path, profile="kb-records", actor=curator, dry_run=False)
    assert outcome.preview.new == 5 and outcome.preview.invalid == 0
    with demo_kb.read() as session:
        staged = get_change_set(session, outcome.change_set_id or "")
        kras = next(r.human_id for r in list_records(session, RecordType.GENE) if r.title == "KRAS")
    assert staged.author == "curator" and len(staged.changes) == 5
    created = {c.human_id: c.fields for c in staged.changes}
    expression = next(c for c in staged.changes if c.record_type == "expression")
    (hras,) = (c.human_id for c in staged.changes if c.record_type == "gene")
    leaves = [arg["biomarker"] for arg in expression.fields["tree"]["args"]]
    assert [created[leaf]["label"] for leaf in leaves] == ["HRAS Q61R", "HRAS Q61K"]
    assert {created[leaf]["gene"] for leaf in leaves} == {hras}
    (kras_q61h,) = (f for f in created.values() if f.get("label") == "KRAS Q61H")
    assert kras_q61h["gene"] == kras


def test_a_record_may_name_an_existing_one_by_id_to_update_it(demo_kb: Kb, tmp_path: Path) -> None:
    with demo_kb.read() as session:
        gene = next(r for r in list_records(session, RecordType.GENE) if r.title.startswith("EGFR"))
    path = _write(
        tmp_path,
        f"""\
        records:
          gene:
          - key: EGFR
            id: {gene.human_id}
            name: epidermal growth factor receptor (ERBB1)
        """,
    )
    with demo_kb.read() as session:
        preview = import_file(session, path, profile="kb-records").preview
    assert (preview.changed, preview.new, preview.invalid) == (1, 0, 0)


@pytest.mark.parametrize(
    ("body", "line", "column", "code"),
    [
        (
            """\
            records:
              gene:
              - key: X
                symbol: X
                colour: blue
            """,
            6,
            "records.gene[0].colour",
            "unknown_field",
        ),
        (
            """\
            records:
              gene:
              - symbol: NOKEY
            """,
            4,
            "records.gene[0].key",
            "missing_key",
        ),
        (
            """\
            records:
              expression:
              - key: BAD
                tree: A AND B OR C
            """,
            5,
            "records.expression[0].tree",
            "bad_expression",
        ),
    ],
)
def test_record_errors_name_the_line_and_path(
    tmp_path: Path, body: str, line: int, column: str, code: str
) -> None:
    rows = list(records_adapter(_write(tmp_path, body)))
    (error,) = rows[0].errors
    assert (error.location.file, error.location.row, error.location.column, error.code) == (
        "records.yaml",
        line,
        column,
        code,
    )


def test_a_reference_to_nothing_is_located_and_nothing_is_staged(
    demo_kb: Kb, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        """\
        records:
          biomarker:
          - key: GHOST
            kind: sequence_variant
            gene: NOT_A_GENE_ANYWHERE
            label: ghost
            protein_change: p.V600E
        """,
    )
    with demo_kb.read() as session:
        biomarkers = len(list_records(session, RecordType.BIOMARKER))
    with demo_kb.unit_of_work() as session:
        curator = authenticate(session, name="curator", password="demo-curator")
        preview = import_file(session, path, profile="kb-records").preview
        (row,) = preview.rows
        (error,) = row.errors
        with pytest.raises(KbError, match="1 of 1 rows are invalid"):
            import_file(session, path, profile="kb-records", actor=curator, dry_run=False)
    assert (error.location.row, error.field, error.code) == (4, "gene", "unknown_reference")
    with demo_kb.read() as session:
        assert len(list_records(session, RecordType.BIOMARKER)) == biomarkers
        assert [cs.human_id for cs in list_change_sets(session)] == ["CS-00001"]


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("format: something-else/2\nrecords: {}\n", "unknown_format", "kb-curator-records/1"),
        ("format: kb-curator-records/1\n", "no_records", "records"),
        (
            "format: kb-curator-records/1\nrecords:\n  widget: []\n",
            "unknown_type",
            "unknown record type 'widget'",
        ),
        (
            "format: kb-curator-records/1\nrecords:\n  gene:\n  - &a {key: A}\n  - *a\n",
            "bad_yaml",
            "aliases",
        ),
        ("format: [unclosed\n", "bad_yaml", "line"),
        ("- just\n- a list\n", "not_records", "expected a mapping"),
    ],
)
def test_files_that_are_not_records_are_refused_with_a_reason(
    tmp_path: Path, text: str, code: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        list(records_adapter(path))
    (error,) = caught.value.errors
    assert error.code == code and message in error.message
    assert error.location.file == "bad.yaml"


def test_duplicate_keys_in_one_type_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        records:
          drug:
          - {key: D, name: Alpha}
          - {key: D, name: Beta}
        """,
    )
    rows = list(records_adapter(path))
    assert rows[0].valid
    (error,) = rows[1].errors
    assert (error.code, error.location.row) == ("duplicate_key", 5)


def test_genes_hgnc_knows_are_proposed_not_refused(demo_kb: Kb, tmp_path: Path) -> None:
    """A biomarker naming a gene the KB lacks but HGNC knows proposes the gene record (HGNC id,
    name, aliases); an alias reads as its approved symbol, saying so; a name HGNC does not know
    is still an error."""
    path = _write(
        tmp_path,
        """\
        records:
          biomarker:
          - {key: CDK4_R24C, kind: sequence_variant, gene: CDK4, protein_change: p.R24C}
          - {key: CDK4_K22M, kind: sequence_variant, gene: cdk4, protein_change: p.K22M}
          - {key: HER2_V777L, kind: sequence_variant, gene: HER2, protein_change: p.V777L}
          - {key: NOPE_V1A, kind: sequence_variant, gene: NOTAGENE9, protein_change: p.V1A}
        """,
    )
    with demo_kb.read() as session:
        preview = import_file(session, path, profile="kb-records").preview
        (erbb2,) = (g.human_id for g in list_records(session, RecordType.GENE)
                    if g.fields["symbol"] == "ERBB2")  # fmt: skip
    genes = [r for r in preview.plan if r.rtype is RecordType.GENE]
    assert [(g.status, g.fields["symbol"], g.fields["hgnc_id"]) for g in genes] == [
        ("new", "CDK4", "HGNC:1773")
    ]
    assert "PSK-J3" in genes[0].fields["aliases"] and genes[0].fields["name"]
    biomarkers = {r.fields["protein_change"]: r for r in preview.plan
                  if r.rtype is RecordType.BIOMARKER and r.status != "invalid"}  # fmt: skip
    assert biomarkers["p.Arg24Cys"].fields["gene"] == genes[0].target
    assert biomarkers["p.Lys22Met"].fields["gene"] == genes[0].target  # one gene, proposed once
    assert biomarkers["p.Val777Leu"].fields["gene"] == erbb2
    assert any("HER2 is an HGNC alias" in n.message and "ERBB2" in n.message
               for n in preview.notes)  # fmt: skip
    (refused,) = [e for e in preview.errors if e.value == "NOTAGENE9"]
    assert refused.code == "unknown_reference"
