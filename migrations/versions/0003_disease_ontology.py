"""Disease Ontology terms and cross-references, the DOID -> OncoTree crosswalk, OncoTree xrefs

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("oncotree", "hgnc")
_NEW_KINDS = ("oncotree", "hgnc", "doid")


def _kind_check(kinds: Sequence[str]) -> None:
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table("vocabulary_release") as batch_op:
        batch_op.drop_constraint(op.f("ck_vocabulary_release_vocabulary_kind"), type_="check")
        batch_op.create_check_constraint("vocabulary_kind", f"kind IN ({listed})")


def upgrade() -> None:
    with op.batch_alter_table("tumour_type") as batch_op:
        batch_op.add_column(sa.Column("xrefs", sa.JSON(), nullable=False, server_default="[]"))
    _kind_check(_NEW_KINDS)
    op.create_table(
        "doid_term",
        sa.Column("doid", sa.String(length=32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("parents", sa.JSON(), nullable=False),
        sa.Column("release", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("doid", name=op.f("pk_doid_term")),
    )
    op.create_table(
        "doid_xref",
        sa.Column("doid", sa.String(length=32), nullable=False),
        sa.Column("xref", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["doid"],
            ["doid_term.doid"],
            name=op.f("fk_doid_xref_doid_doid_term"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doid", "xref", name=op.f("pk_doid_xref")),
    )
    with op.batch_alter_table("doid_xref") as batch_op:
        batch_op.create_index(batch_op.f("ix_doid_xref_xref"), ["xref"], unique=False)
    op.create_table(
        "doid_oncotree",
        sa.Column("doid", sa.String(length=32), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "exact",
                "name",
                "broader",
                name="crosswalk_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("via", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("doid", name=op.f("pk_doid_oncotree")),
    )


def downgrade() -> None:
    op.drop_table("doid_oncotree")
    with op.batch_alter_table("doid_xref") as batch_op:
        batch_op.drop_index(batch_op.f("ix_doid_xref_xref"))
    op.drop_table("doid_xref")
    op.drop_table("doid_term")
    op.execute("DELETE FROM vocabulary_release WHERE kind = 'doid'")
    _kind_check(_OLD_KINDS)
    with op.batch_alter_table("tumour_type") as batch_op:
        batch_op.drop_column("xrefs")
