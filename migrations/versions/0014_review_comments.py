"""review conversations: a comment thread per change set and per change (`change_comment`), and,
on PostgreSQL, the server's part of accepting a change set in part and of discarding a draft

`kb_return_changes` moves the changes a reviewer turns down out of a submitted change set into
a new draft of its author (a reviewer's login may not write another person's change set: the
server checks the reviewer as `kb_merge_change_set` does). The change-set guard lets an author
discard (withdraw for good) their own draft. Comments are append-only: a login writes only its
own, and the guard `kb admin setup-postgres` installs refuses any update or deletion.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = ("kb_return_changes(text, text, integer[])", "kb_guard_comment()")
# The author's side of kb_guard_change_set (migration 0012), before and after: an author may
# also move their own draft or submitted change set to `withdrawn` (discarded).
_AUTHOR_BEFORE = "AND NEW.status IN ('draft', 'submitted')"
_AUTHOR_AFTER = "AND NEW.status IN ('draft', 'submitted', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "change_comment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_set_id", sa.String(length=36), nullable=False),
        sa.Column("record", sa.String(length=16), nullable=True),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "comment",
                "approve",
                "reject",
                "return",
                name="comment_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["kb_user.id"], name=op.f("fk_change_comment_author_id_kb_user")
        ),
        sa.ForeignKeyConstraint(
            ["change_set_id"],
            ["change_set.id"],
            name=op.f("fk_change_comment_change_set_id_change_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_comment")),
    )
    with op.batch_alter_table("change_comment") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_comment_change_set_id"), ["change_set_id"], unique=False
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    path = f'SET search_path = "{schema}", pg_catalog, pg_temp'
    _rewrite_guard(_AUTHOR_BEFORE, _AUTHOR_AFTER)
    for statement in _statements(path):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
        _rewrite_guard(_AUTHOR_AFTER, _AUTHOR_BEFORE)
    with op.batch_alter_table("change_comment") as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_comment_change_set_id"))
    op.drop_table("change_comment")


def _rewrite_guard(old: str, new: str) -> None:
    """Edit kb_guard_change_set in place from its own definition (so this migration does not
    carry a second copy of it)."""
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        "SELECT pg_get_functiondef('kb_guard_change_set()'::regprocedure)"
    ).scalar_one()
    if old not in definition:
        raise RuntimeError(f"kb_guard_change_set does not read as expected: no {old!r}")
    op.execute(definition.replace(old, new))


def _statements(path: str) -> list[str]:
    return [
        f"""
        CREATE FUNCTION kb_return_changes(cs_id text, actor_name text, change_ids integer[])
        RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            approver kb_user;
            cs change_set;
            new_id text := gen_random_uuid()::text;
            number integer;
        BEGIN
            IF NOT kb_is_trusted(session_user) AND actor_name IS DISTINCT FROM session_user THEN
                RAISE EXCEPTION 'database login % cannot review as %', session_user, actor_name
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT * INTO approver FROM kb_user WHERE name = actor_name;
            IF NOT FOUND OR NOT approver.active OR approver.role <> 'reviewer' THEN
                RAISE EXCEPTION '% is not an active reviewer; only reviewers decide', actor_name
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT * INTO cs FROM change_set WHERE id = cs_id FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no change set %', cs_id;
            END IF;
            IF cs.status <> 'submitted' THEN
                RAISE EXCEPTION '% is %; only a submitted one can be decided',
                    cs.human_id, cs.status USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF cs.author_id = approver.id OR EXISTS (
                SELECT 1 FROM change WHERE change_set_id = cs_id AND author_id = approver.id)
            THEN
                RAISE EXCEPTION '% authored changes in % and cannot decide it (four eyes)',
                    actor_name, cs.human_id USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF EXISTS (
                SELECT 1 FROM unnest(change_ids) AS i(id) WHERE NOT EXISTS (
                    SELECT 1 FROM change AS c WHERE c.id = i.id AND c.change_set_id = cs_id))
            THEN
                RAISE EXCEPTION 'a change returned is not in %', cs.human_id;
            END IF;
            IF NOT EXISTS (
                SELECT 1 FROM change AS c
                WHERE c.change_set_id = cs_id AND NOT (c.id = ANY(change_ids)))
            THEN
                RAISE EXCEPTION 'every change of % returned: reject it instead', cs.human_id;
            END IF;
            INSERT INTO human_id_counter (prefix, last) VALUES ('CS', 1)
            ON CONFLICT (prefix) DO UPDATE SET last = human_id_counter.last + 1
            RETURNING last INTO number;
            INSERT INTO change_set (id, human_id, title, status, author_id, base_version,
                                    created_at, skipped, row_version)
            VALUES (new_id, 'CS-' || lpad(number::text, 5, '0'),
                    cs.title || ' (returned from ' || cs.human_id || ')', 'draft',
                    cs.author_id, cs.base_version, clock_timestamp(), '[]'::json, 1);
            UPDATE change SET change_set_id = new_id WHERE id = ANY(change_ids);
            RETURN new_id;
        END
        $$
        """,
        # Comments: a login writes only its own, as an active curator or reviewer; none is
        # ever changed or removed.
        f"""
        CREATE FUNCTION kb_guard_comment() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            me kb_user := kb_session_user();
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP <> 'INSERT' OR me.id IS NULL OR NEW.author_id <> me.id
               OR me.role NOT IN ('curator', 'reviewer')
            THEN
                RAISE EXCEPTION 'a comment is written only in its author''s own name, by a '
                    'curator or reviewer, and never changed' USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$
        """,
    ]
