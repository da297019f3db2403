"""signed approvals: each user's approval key (public half, password-sealed private half and the
trust-root certificate that pins it) and the signature on each version approval

Approvals made before this revision keep empty signature columns: they are reported as
"unsigned (made before signed approvals)" and never count towards a release.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("sealed_private_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["kb_user.id"], name=op.f("fk_signing_key_user_id_kb_user")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_key")),
    )
    with op.batch_alter_table("signing_key") as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_key_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("version_approval") as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("version_approval") as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("signing_key") as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_key_user_id"))
    op.drop_table("signing_key")
