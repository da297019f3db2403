"""level schemes and crosswalks as records; predisposing, diagnostic and prognostic assertions
with their direction or germline class; an assertion keeps its source's level; evidence items
bear on oncogenicity records

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IMPLICATIONS = ("sensitive", "resistant", "diagnostic", "prognostic")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
    ]


def _citations(owner: str) -> None:
    op.create_table(
        f"{owner}_citation",
        sa.Column(f"{owner}_id", sa.String(length=36), nullable=False),
        sa.Column("citation_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"],
            ["citation.id"],
            name=op.f(f"fk_{owner}_citation_citation_id_citation"),
        ),
        sa.ForeignKeyConstraint(
            [f"{owner}_id"],
            [f"{owner}.id"],
            name=op.f(f"fk_{owner}_citation_{owner}_id_{owner}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(f"{owner}_id", "citation_id", name=op.f(f"pk_{owner}_citation")),
    )


def _implications(*values: str) -> None:
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table("assertion") as batch_op:
        batch_op.drop_constraint(op.f("ck_assertion_implication"), type_="check")
        batch_op.create_check_constraint("implication", f"implication IN ({listed})")


def upgrade() -> None:
    op.create_table(
        "level_scheme",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_scheme")),
        sa.UniqueConstraint("human_id", name=op.f("uq_level_scheme_human_id")),
        sa.UniqueConstraint("name", name=op.f("uq_level_scheme_name")),
    )
    op.create_table(
        "level_crosswalk",
        sa.Column("source_scheme_id", sa.String(length=36), nullable=False),
        sa.Column("target_scheme_id", sa.String(length=36), nullable=False),
        sa.Column(
            "implication", _enum("implication", *_IMPLICATIONS, "predisposing"), nullable=False
        ),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["source_scheme_id"],
            ["level_scheme.id"],
            name=op.f("fk_level_crosswalk_source_scheme_id_level_scheme"),
        ),
        sa.ForeignKeyConstraint(
            ["target_scheme_id"],
            ["level_scheme.id"],
            name=op.f("fk_level_crosswalk_target_scheme_id_level_scheme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_crosswalk")),
        sa.UniqueConstraint("human_id", name=op.f("uq_level_crosswalk_human_id")),
        sa.UniqueConstraint(
            "source_scheme_id", "target_scheme_id", "implication", name="uq_level_crosswalk"
        ),
    )
    op.create_index(
        op.f("ix_level_crosswalk_source_scheme_id"), "level_crosswalk", ["source_scheme_id"]
    )
    op.create_index(
        op.f("ix_level_crosswalk_target_scheme_id"), "level_crosswalk", ["target_scheme_id"]
    )
    _citations("level_scheme")
    _citations("level_crosswalk")
    _implications(*_IMPLICATIONS, "predisposing")
    with op.batch_alter_table("assertion") as batch_op:
        batch_op.add_column(sa.Column("source_scheme", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("source_level", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "direction",
                _enum(
                    "assertion_direction",
                    "supports_diagnosis",
                    "excludes_diagnosis",
                    "better_outcome",
                    "poorer_outcome",
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "inheritance",
                _enum(
                    "inheritance",
                    "autosomal_dominant",
                    "autosomal_recessive",
                    "x_linked_dominant",
                    "x_linked_recessive",
                    "mitochondrial",
                    "unknown",
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "pathogenicity",
                _enum(
                    "pathogenicity",
                    "pathogenic",
                    "likely_pathogenic",
                    "uncertain_significance",
                    "likely_benign",
                    "benign",
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("syndrome", sa.Text(), nullable=True))
        batch_op.alter_column("evidence_level", existing_type=sa.String(length=32), nullable=True)
    with op.batch_alter_table("evidence_item") as batch_op:
        batch_op.add_column(sa.Column("oncogenicity_id", sa.String(length=36), nullable=True))
        batch_op.create_index(op.f("ix_evidence_item_oncogenicity_id"), ["oncogenicity_id"])
        batch_op.create_foreign_key(
            op.f("fk_evidence_item_oncogenicity_id_oncogenicity"),
            "oncogenicity",
            ["oncogenicity_id"],
            ["id"],
        )


def downgrade() -> None:
    # Records this revision made possible cannot be expressed before it.
    op.execute("UPDATE evidence_item SET oncogenicity_id = NULL")
    op.execute(
        "DELETE FROM evidence_item_assertion WHERE assertion_id IN "
        "(SELECT id FROM assertion WHERE implication = 'predisposing' OR evidence_level IS NULL)"
    )
    for table in ("assertion_citation", "assertion_tumour_type"):
        op.execute(
            f"DELETE FROM {table} WHERE assertion_id IN (SELECT id FROM assertion "
            "WHERE implication = 'predisposing' OR evidence_level IS NULL)"
        )
    op.execute("DELETE FROM assertion WHERE implication = 'predisposing' OR evidence_level IS NULL")
    with op.batch_alter_table("evidence_item") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_evidence_item_oncogenicity_id_oncogenicity"), type_="foreignkey"
        )
        batch_op.drop_index(op.f("ix_evidence_item_oncogenicity_id"))
        batch_op.drop_column("oncogenicity_id")
    with op.batch_alter_table("assertion") as batch_op:
        batch_op.alter_column("evidence_level", existing_type=sa.String(length=32), nullable=False)
        for check in ("inheritance", "pathogenicity", "assertion_direction"):
            batch_op.drop_constraint(op.f(f"ck_assertion_{check}"), type_="check")
        for column in (
            "syndrome",
            "pathogenicity",
            "inheritance",
            "direction",
            "source_level",
            "source_scheme",
        ):
            batch_op.drop_column(column)
    _implications(*_IMPLICATIONS)
    op.drop_table("level_crosswalk_citation")
    op.drop_table("level_scheme_citation")
    op.drop_table("level_crosswalk")
    op.drop_table("level_scheme")
