"""oncogenicity: what an alteration does (oncogenic or not, mutation effect), with citations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "oncogenicity",
        sa.Column("biomarker_id", sa.String(length=36), nullable=False),
        sa.Column(
            "oncogenicity",
            _enum(
                "oncogenicity", "oncogenic", "likely_oncogenic", "likely_neutral", "inconclusive"
            ),
            nullable=False,
        ),
        sa.Column(
            "mutation_effect",
            _enum(
                "mutation_effect",
                "gain_of_function",
                "likely_gain_of_function",
                "loss_of_function",
                "likely_loss_of_function",
                "switch_of_function",
                "neutral",
                "unknown",
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["biomarker_id"], ["biomarker.id"], name=op.f("fk_oncogenicity_biomarker_id_biomarker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncogenicity")),
        sa.UniqueConstraint("biomarker_id", name=op.f("uq_oncogenicity_biomarker_id")),
        sa.UniqueConstraint("human_id", name=op.f("uq_oncogenicity_human_id")),
    )
    op.create_table(
        "oncogenicity_citation",
        sa.Column("oncogenicity_id", sa.String(length=36), nullable=False),
        sa.Column("citation_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"],
            ["citation.id"],
            name=op.f("fk_oncogenicity_citation_citation_id_citation"),
        ),
        sa.ForeignKeyConstraint(
            ["oncogenicity_id"],
            ["oncogenicity.id"],
            name=op.f("fk_oncogenicity_citation_oncogenicity_id_oncogenicity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "oncogenicity_id", "citation_id", name=op.f("pk_oncogenicity_citation")
        ),
    )


def downgrade() -> None:
    op.drop_table("oncogenicity_citation")
    op.drop_table("oncogenicity")
