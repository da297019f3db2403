"""biomarkers named by a dbSNP rs id: a nullable dbsnp_id column (rs3184504), and a sequence
variant may be given by it alone (a germline SNP such as CIViC's "SH2B3 rs3184504")

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "sequence_variant_fields"
_OLD = (
    "kind != 'sequence_variant' OR (gene_id IS NOT NULL "
    "AND (protein_change IS NOT NULL OR dna_change IS NOT NULL))"
)
_NEW = (
    "kind != 'sequence_variant' OR (gene_id IS NOT NULL "
    "AND (protein_change IS NOT NULL OR dna_change IS NOT NULL OR dbsnp_id IS NOT NULL))"
)


def upgrade() -> None:
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.add_column(sa.Column("dbsnp_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_constraint(op.f(f"ck_biomarker_{_CHECK}"), type_="check")
        batch_op.create_check_constraint(_CHECK, _NEW)


def downgrade() -> None:
    # A variant known only by its rs id has no form before this revision: it cannot be kept,
    # nor can the expression nodes, oncogenicity records and exclusions that name it. Refuse
    # rather than delete curated records silently.
    bind = op.get_bind()
    orphaned = bind.execute(
        sa.text(
            "SELECT human_id FROM biomarker WHERE kind = 'sequence_variant' "
            "AND protein_change IS NULL AND dna_change IS NULL AND dbsnp_id IS NOT NULL"
        )
    ).scalars()
    names = sorted(orphaned)
    if names:
        raise RuntimeError(
            "cannot downgrade below 0018: these biomarkers are named only by a dbSNP rs id, "
            f"which 0017 cannot hold: {', '.join(names)}; retire or re-describe them first"
        )
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_constraint(op.f(f"ck_biomarker_{_CHECK}"), type_="check")
        batch_op.create_check_constraint(_CHECK, _OLD)
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_column("dbsnp_id")
