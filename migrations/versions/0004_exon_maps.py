"""exon maps: a gene's reference transcript and the codons of its exons, with citations

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exon_map",
        sa.Column("gene_id", sa.String(length=36), nullable=False),
        sa.Column("transcript", sa.String(length=64), nullable=False),
        sa.Column("exons", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gene_id"], ["gene.id"], name=op.f("fk_exon_map_gene_id_gene")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exon_map")),
        sa.UniqueConstraint("gene_id", name=op.f("uq_exon_map_gene_id")),
        sa.UniqueConstraint("human_id", name=op.f("uq_exon_map_human_id")),
    )
    op.create_table(
        "exon_map_citation",
        sa.Column("exon_map_id", sa.String(length=36), nullable=False),
        sa.Column("citation_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"],
            ["citation.id"],
            name=op.f("fk_exon_map_citation_citation_id_citation"),
        ),
        sa.ForeignKeyConstraint(
            ["exon_map_id"],
            ["exon_map.id"],
            name=op.f("fk_exon_map_citation_exon_map_id_exon_map"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exon_map_id", "citation_id", name=op.f("pk_exon_map_citation")),
    )


def downgrade() -> None:
    op.drop_table("exon_map_citation")
    op.drop_table("exon_map")
