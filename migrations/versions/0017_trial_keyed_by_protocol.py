"""trials keyed by NCT id when they have one and by protocol number until then: nct_id, title
and phase may be empty (a CTML trial known only by its site's protocol number gains its NCT id
through the registry sync); every trial keeps one of the two keys

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHASE = sa.Enum(
    "EARLY_PHASE1",
    "PHASE1",
    "PHASE1_PHASE2",
    "PHASE2",
    "PHASE2_PHASE3",
    "PHASE3",
    "PHASE4",
    "NA",
    name="trial_phase",
    native_enum=False,
    create_constraint=False,  # its CHECK stays as it is
    length=32,
)


def _nullable(nullable: bool) -> None:
    with op.batch_alter_table("trial") as batch_op:
        batch_op.alter_column("nct_id", existing_type=sa.String(length=16), nullable=nullable)
        batch_op.alter_column("title", existing_type=sa.Text(), nullable=nullable)
        batch_op.alter_column("phase", existing_type=_PHASE, nullable=nullable)
        if nullable:
            batch_op.create_check_constraint(
                "trial_key", "nct_id IS NOT NULL OR protocol_no IS NOT NULL"
            )
        else:
            batch_op.drop_constraint(op.f("ck_trial_trial_key"), type_="check")


def upgrade() -> None:
    _nullable(True)


def downgrade() -> None:
    # Before this revision every trial had an NCT id, a title and a phase. A trial still without
    # an NCT id cannot be kept (there is no id to give it): it goes, with its arms. One without
    # a title or phase gets a stated placeholder a curator can see.
    keyless = "SELECT id FROM trial WHERE nct_id IS NULL"
    arms = f"SELECT id FROM trial_arm WHERE trial_id IN ({keyless})"
    op.execute(f"DELETE FROM arm_tumour_type WHERE arm_id IN ({arms})")
    op.execute(f"DELETE FROM trial_arm WHERE trial_id IN ({keyless})")
    op.execute(f"DELETE FROM trial_citation WHERE trial_id IN ({keyless})")
    op.execute("DELETE FROM trial WHERE nct_id IS NULL")
    op.execute("UPDATE trial SET title = '(no title given)' WHERE title IS NULL")
    op.execute("UPDATE trial SET phase = 'NA' WHERE phase IS NULL")
    _nullable(False)
