"""mutational signatures as characteristics (APOBEC, POLE, tobacco, temozolomide, UVA), as
MatchMiner's CTML names them (apobec_signature … uva_signature)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("TMB", "MSI", "MMR", "HRD")
_NEW = (
    *_OLD,
    "APOBEC_SIGNATURE",
    "POLE_SIGNATURE",
    "TOBACCO_SIGNATURE",
    "TEMOZOLOMIDE_SIGNATURE",
    "UVA_SIGNATURE",
)


def _characteristics(values: Sequence[str]) -> None:
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table("biomarker") as batch_op:
        batch_op.drop_constraint(op.f("ck_biomarker_characteristic"), type_="check")
        batch_op.create_check_constraint("characteristic", f"characteristic IN ({listed})")


def upgrade() -> None:
    _characteristics(_NEW)


def downgrade() -> None:
    signatures = ", ".join(f"'{value}'" for value in _NEW[len(_OLD) :])
    # A signature biomarker has no counterpart before this revision: it goes.
    op.execute(f"DELETE FROM biomarker WHERE characteristic IN ({signatures})")
    _characteristics(_OLD)
