"""evidence items: source statements, in the source's own terms and level, linked to the
assertions they support or refute

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _link(table: str, column: str, target: str, *, extra: Sequence[sa.Column] = ()) -> None:
    op.create_table(
        table,
        sa.Column("evidence_item_id", sa.String(length=36), nullable=False),
        sa.Column(column, sa.String(length=36) if target else sa.String(length=32), nullable=False),
        *extra,
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_item_id"],
            ["evidence_item.id"],
            name=op.f(f"fk_{table}_evidence_item_id_evidence_item"),
            ondelete="CASCADE",
        ),
        *(
            [
                sa.ForeignKeyConstraint(
                    [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
                )
            ]
            if target
            else []
        ),
        sa.PrimaryKeyConstraint(
            "evidence_item_id", column, *(c.name for c in extra), name=op.f(f"pk_{table}")
        ),
    )


def upgrade() -> None:
    op.create_table(
        "evidence_item",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "evidence_type",
            _enum(
                "evidence_type",
                "predictive",
                "diagnostic",
                "prognostic",
                "predisposing",
                "oncogenic",
                "functional",
            ),
            nullable=False,
        ),
        sa.Column(
            "direction",
            _enum("evidence_direction", "supports", "does_not_support"),
            nullable=False,
        ),
        sa.Column("significance", sa.String(length=128), nullable=True),
        sa.Column("source_level", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("expression_id", sa.String(length=36), nullable=True),
        sa.Column("therapy_id", sa.String(length=36), nullable=True),
        sa.Column("disease", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expression_id"],
            ["biomarker_expression.id"],
            name=op.f("fk_evidence_item_expression_id_biomarker_expression"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"], ["therapy.id"], name=op.f("fk_evidence_item_therapy_id_therapy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_item")),
        sa.UniqueConstraint("human_id", name=op.f("uq_evidence_item_human_id")),
        sa.UniqueConstraint("source", "source_id", name="uq_evidence_item_source_id"),
    )
    with op.batch_alter_table("evidence_item") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_item_expression_id"), ["expression_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_item_therapy_id"), ["therapy_id"], unique=False
        )
    _link(
        "evidence_item_tumour_type",
        "code",
        "",
        extra=[sa.Column("excluded", sa.Boolean(), nullable=False)],
    )
    with op.batch_alter_table("evidence_item_tumour_type") as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_item_tumour_type_code"), ["code"])
    _link("evidence_item_citation", "citation_id", "citation")
    _link("evidence_item_assertion", "assertion_id", "assertion")
    with op.batch_alter_table("evidence_item_assertion") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_item_assertion_assertion_id"), ["assertion_id"]
        )


def downgrade() -> None:
    for table in ("evidence_item_assertion", "evidence_item_citation", "evidence_item_tumour_type"):
        op.drop_table(table)
    op.drop_table("evidence_item")
