"""vocabulary state per KB version: a vocabulary load is pinned to the version it goes into, so a
snapshot of an approved version never reads a vocabulary loaded after it (issue 17 item 4)

An existing KB's current vocabularies are pinned at version 0, where every version's snapshot
already found them: digests, and the approvals that carry them, stay as they were.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    state = op.create_table(
        "vocabulary_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vocabulary_state")),
        sa.UniqueConstraint("kb_version", "kind", name="uq_vocabulary_state_version_kind"),
    )
    op.create_index(
        op.f("ix_vocabulary_state_kb_version"), "vocabulary_state", ["kb_version"], unique=False
    )
    bind = op.get_bind()
    releases = bind.execute(
        sa.text('SELECT kind, version, sha256 FROM vocabulary_release WHERE "current" = :yes'),
        {"yes": True},
    ).all()
    tumour_types = [
        {
            "code": code,
            "name": name,
            "main_type": main_type,
            "tissue": tissue,
            "parent": parent,
            "level": level,
        }
        for code, name, main_type, tissue, parent, level in bind.execute(
            sa.text(
                "SELECT code, name, main_type, tissue, parent_code, level FROM tumour_type "
                "ORDER BY code"
            )
        )
    ]
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "kb_version": 0,
            "kind": kind,
            "version": version,
            "sha256": sha256,
            "content": tumour_types if kind == "oncotree" else None,
            "loaded_at": now,
        }
        for kind, version, sha256 in releases
    ]
    if rows:
        op.bulk_insert(state, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_vocabulary_state_kb_version"), table_name="vocabulary_state")
    op.drop_table("vocabulary_state")
