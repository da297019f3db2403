"""biomarker origin "either": a germline finding never matches a somatic biomarker, nor the
reverse, unless the biomarker says either

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _origins(*values: str) -> None:
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_constraint(op.f("ck_biomarker_origin"), type_="check")
        batch_op.create_check_constraint("origin", f"origin IN ({listed})")


def upgrade() -> None:
    _origins("somatic", "germline", "either")


def downgrade() -> None:
    op.execute("UPDATE biomarker SET origin = 'somatic' WHERE origin = 'either'")
    _origins("somatic", "germline")
