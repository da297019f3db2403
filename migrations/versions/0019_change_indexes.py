"""drop two indexes on change that no query needs: ix_change_change_set_id (the unique
(change_set_id, record_id) index serves every look-up by change set, through its leading column)
and ix_change_record_id (changes are looked up by change set, by human id, or by both, never by
record id alone). Each cost every staged change an index insert: together about a fifth of
writing the 100,000 changes of a large import.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_change_change_set_id", table_name="change")
    op.drop_index("ix_change_record_id", table_name="change")


def downgrade() -> None:
    op.create_index("ix_change_record_id", "change", ["record_id"], unique=False)
    op.create_index("ix_change_change_set_id", "change", ["change_set_id"], unique=False)
