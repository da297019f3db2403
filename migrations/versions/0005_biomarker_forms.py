"""biomarker forms: wild type, promoter methylation, expression without an assay, DNA-level
changes, gene-wide consequences (ITD, promoter), any mutation, copy-number gain and loss

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_OLD = (
    "sequence_variant", "range", "categorical", "copy_number", "fusion", "characteristic",
    "expression",
)  # fmt: skip
_KINDS_NEW = (*_KINDS_OLD, "methylation", "wild_type")
_CONSEQUENCES_OLD = (
    "missense", "nonsense", "frameshift", "inframe_deletion", "inframe_insertion", "splice",
    "exon_skipping", "any",
)  # fmt: skip
_CONSEQUENCES_NEW = (*_CONSEQUENCES_OLD, "internal_tandem_duplication", "promoter")
_CATEGORIES_OLD = (
    "oncogenic_mutations", "truncating_mutations", "activating_mutations", "loss_of_function",
)  # fmt: skip
_CATEGORIES_NEW = (*_CATEGORIES_OLD, "any_mutation")
_COPY_OLD = ("amplification", "deletion")
_COPY_NEW = ("amplification", "gain", "loss", "deletion")

_CHECKS_OLD = {
    "sequence_variant_fields": (
        "kind != 'sequence_variant' OR (gene_id IS NOT NULL AND protein_change IS NOT NULL)"
    ),
    "range_fields": (
        "kind != 'range' OR (gene_id IS NOT NULL AND consequence IS NOT NULL "
        "AND (exon IS NOT NULL OR codon_start IS NOT NULL))"
    ),
    "expression_fields": "kind != 'expression' OR (gene_id IS NOT NULL AND assay IS NOT NULL)",
}
_CHECKS_NEW = {
    "sequence_variant_fields": (
        "kind != 'sequence_variant' OR (gene_id IS NOT NULL "
        "AND (protein_change IS NOT NULL OR dna_change IS NOT NULL))"
    ),
    "range_fields": (
        "kind != 'range' OR (gene_id IS NOT NULL AND consequence IS NOT NULL "
        "AND (exon IS NOT NULL OR codon_start IS NOT NULL OR consequence != 'any'))"
    ),
    "expression_fields": "kind != 'expression' OR gene_id IS NOT NULL",
    "methylation_fields": "kind != 'methylation' OR (gene_id IS NOT NULL AND status IS NOT NULL)",
    "wild_type_fields": "kind != 'wild_type' OR gene_id IS NOT NULL",
}


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _enums(kinds: Sequence[str], consequences: Sequence[str], categories: Sequence[str],
           copies: Sequence[str]) -> dict[str, str]:  # fmt: skip
    return {
        "biomarker_kind": _in("kind", kinds),
        "consequence": _in("consequence", consequences),
        "category": _in("category", categories),
        "copy_number_type": _in("copy_number", copies),
    }


def _replace_checks(old: dict[str, str], new: dict[str, str]) -> None:
    with op.batch_alter_table("biomarker") as batch_op:
        for name in old:
            batch_op.drop_constraint(op.f(f"ck_biomarker_{name}"), type_="check")
        for name, condition in new.items():
            batch_op.create_check_constraint(name, condition)


def upgrade() -> None:
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.add_column(sa.Column("dna_change", sa.String(length=128), nullable=True))
    _replace_checks(
        {**_enums(_KINDS_OLD, _CONSEQUENCES_OLD, _CATEGORIES_OLD, _COPY_OLD), **_CHECKS_OLD},
        {**_enums(_KINDS_NEW, _CONSEQUENCES_NEW, _CATEGORIES_NEW, _COPY_NEW), **_CHECKS_NEW},
    )


def downgrade() -> None:
    _replace_checks(
        {**_enums(_KINDS_NEW, _CONSEQUENCES_NEW, _CATEGORIES_NEW, _COPY_NEW), **_CHECKS_NEW},
        {**_enums(_KINDS_OLD, _CONSEQUENCES_OLD, _CATEGORIES_OLD, _COPY_OLD), **_CHECKS_OLD},
    )
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_column("dna_change")
