"""trial protocol number: the sponsor's or site's own number for a trial (MatchMiner's key), so
that a CTML document carrying only that number finds its trial

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial") as batch_op:
        batch_op.add_column(sa.Column("protocol_no", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_trial_protocol_no"), ["protocol_no"])


def downgrade() -> None:
    with op.batch_alter_table("trial") as batch_op:
        batch_op.drop_constraint(op.f("uq_trial_protocol_no"), type_="unique")
        batch_op.drop_column("protocol_no")
