"""outcome records: de-identified treatment episodes, the imports that brought them and the
evidence alerts their analysis raises (kb.outcomes). Never curated content: no revisions, never
in a snapshot or a release. On PostgreSQL, kb/storage/pg_security.py grants them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_setting",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outcome_setting")),
    )
    op.create_table(
        "outcome_alert",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "response_below_expectation",
                "resistance_signal",
                "off_label_use",
                name="alert_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "resolved",
                "dismissed",
                name="alert_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_alert")),
        sa.UniqueConstraint("kind", "subject", name="uq_outcome_alert_kind_subject"),
    )
    with op.batch_alter_table("outcome_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_alert_status"), ["status"], unique=False)

    op.create_table(
        "outcome_import",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=128), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_import")),
    )
    with op.batch_alter_table("outcome_import", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_import_source_sha256"), ["source_sha256"], unique=False
        )

    op.create_table(
        "outcome_episode",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("patient_key", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("tumour_type", sa.String(length=32), nullable=False),
        sa.Column("biomarkers", sa.Text(), nullable=False),
        sa.Column("therapy", sa.Text(), nullable=False),
        sa.Column("therapy_key", sa.String(length=512), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("days_on_treatment", sa.Integer(), nullable=True),
        sa.Column(
            "best_response",
            sa.Enum(
                "CR",
                "PR",
                "SD",
                "PD",
                "NE",
                name="best_response",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("pfs_days", sa.Integer(), nullable=True),
        sa.Column("progressed", sa.Boolean(), nullable=True),
        sa.Column(
            "reason_stopped",
            sa.Enum(
                "ongoing",
                "progression",
                "toxicity",
                "completed",
                "patient_choice",
                "death",
                "other",
                name="stop_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("release_version", sa.String(length=64), nullable=True),
        sa.Column("assertion_ids", sa.String(length=512), nullable=False),
        sa.CheckConstraint(
            "days_on_treatment IS NULL OR days_on_treatment >= 0",
            name=op.f("ck_outcome_episode_tot"),
        ),
        sa.CheckConstraint(
            "pfs_days IS NULL OR pfs_days >= 0", name=op.f("ck_outcome_episode_pfs")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["outcome_import.id"],
            name=op.f("fk_outcome_episode_import_id_outcome_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_episode")),
    )
    with op.batch_alter_table("outcome_episode", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_episode_import_id"), ["import_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_episode_import_id"))

    op.drop_table("outcome_episode")
    with op.batch_alter_table("outcome_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_import_source_sha256"))

    op.drop_table("outcome_import")
    with op.batch_alter_table("outcome_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_alert_status"))

    op.drop_table("outcome_alert")
    op.drop_table("outcome_setting")
