"""PostgreSQL enforcement: the server computes audit hashes and performs the checked part of a
merge, so that a database login cannot forge either (DESIGN §3; docs/security.md)

The audit trail is appended only by `kb_audit_append`, which takes the events' content and
sets sequence, time, link and hash itself (the same canonical sha256 as kb.review.audit).
`kb_merge_change_set` checks the approver (an active reviewer, signed in as themselves, who
wrote none of it), the change set (submitted, no conflicts), and writes the new KB version, its
revisions and the change set's new status, leaving a merge ticket for the transaction: the
typed-table triggers that `kb admin setup-postgres` installs accept writes only to records
that ticket's revisions name. The triggers and grants themselves are installed by setup, not
here: which roles exist is the cluster's business, not the schema's.

Nothing changes on SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Another branch adds 0011; this one follows it once both are on main.
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = (
    "kb_audit_append(json)",
    "kb_merge_change_set(text, text)",
    "kb_open_vocabulary_version(text, text)",
    "kb_merge_logged()",
    "kb_guard_typed()",
    "kb_guard_change_set()",
    "kb_guard_change()",
    "kb_guard_version_approval()",
    "kb_guard_release()",
    "kb_session_user()",
    "kb_canonical_json(jsonb)",
    "kb_is_trusted(name)",
)


def upgrade() -> None:
    op.create_table(
        "kb_merge_ticket",
        sa.Column("change_set_id", sa.String(length=36), nullable=False),
        sa.Column("xact", sa.String(length=24), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.Column("merged_by", sa.String(length=128), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_set_id", name=op.f("pk_kb_merge_ticket")),
        sa.UniqueConstraint("kb_version", name=op.f("uq_kb_merge_ticket_kb_version")),
    )
    op.create_index(op.f("ix_kb_merge_ticket_xact"), "kb_merge_ticket", ["xact"])
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    # Every function names its search path: a login cannot slip its own tables or operators
    # in front of ours (pg_temp last, as PostgreSQL's documentation advises).
    path = f'SET search_path = "{schema}", pg_catalog, pg_temp'
    for statement in _statements(path, schema):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    op.drop_index(op.f("ix_kb_merge_ticket_xact"), table_name="kb_merge_ticket")
    op.drop_table("kb_merge_ticket")


def _statements(path: str, schema: str) -> list[str]:
    return [
        # Trusted: a superuser, or a member of the role that owns the KB's tables. They can
        # drop any check anyway; everyone else is held to the rules.
        f"""
        CREATE FUNCTION kb_is_trusted(who name) RETURNS boolean
        LANGUAGE sql STABLE {path} AS $$
            SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = who), false)
                OR pg_has_role(who, (SELECT relowner FROM pg_class
                                     WHERE oid = '"{schema}".audit_event'::regclass), 'MEMBER')
        $$
        """,
        # The KB user a login is (by name), or none.
        f"""
        CREATE FUNCTION kb_session_user() RETURNS kb_user
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
            SELECT * FROM kb_user WHERE name = session_user AND active
        $$
        """,
        # RFC 8785 canonical JSON for KB data, exactly as kb.storage.snapshot.canonical_json
        # writes it: keys sorted by code point (UTF-8 bytes, collation "C"), no whitespace,
        # strings escaped as Python's json does without ensure_ascii (PostgreSQL's own JSON
        # string escaping is the same), integers only.
        f"""
        CREATE FUNCTION kb_canonical_json(value jsonb) RETURNS text
        LANGUAGE plpgsql IMMUTABLE STRICT {path} AS $$
        DECLARE
            kind text := jsonb_typeof(value);
        BEGIN
            IF kind = 'object' THEN
                RETURN '{{' || coalesce((
                    SELECT string_agg(to_json(e.key)::text || ':' || CASE jsonb_typeof(e.value)
                            WHEN 'string' THEN to_json(e.value #>> '{{}}')::text
                            WHEN 'boolean' THEN e.value::text
                            WHEN 'null' THEN 'null'
                            ELSE kb_canonical_json(e.value) END,
                        ',' ORDER BY e.key COLLATE "C")
                    FROM jsonb_each(value) AS e), '') || '}}';
            ELSIF kind = 'array' THEN
                RETURN '[' || coalesce((
                    SELECT string_agg(CASE jsonb_typeof(e.value)
                            WHEN 'string' THEN to_json(e.value #>> '{{}}')::text
                            WHEN 'boolean' THEN e.value::text
                            WHEN 'null' THEN 'null'
                            ELSE kb_canonical_json(e.value) END,
                        ',' ORDER BY e.n)
                    FROM jsonb_array_elements(value) WITH ORDINALITY AS e(value, n)), '') || ']';
            ELSIF kind = 'string' THEN
                RETURN to_json(value #>> '{{}}')::text;
            ELSIF kind = 'number' THEN
                IF (value #>> '{{}}') !~ '^-?[0-9]{{1,18}}$' THEN
                    RAISE EXCEPTION 'audit details hold integers only, not %', value
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                RETURN ((value #>> '{{}}')::bigint)::text;
            END IF;
            RETURN value::text;
        END
        $$
        """,
        # The only way into the audit trail for a login. The caller gives what happened; the
        # server gives the sequence number, the time, the link and the hash, and holds a login
        # to its own name as the actor.
        f"""
        CREATE FUNCTION kb_audit_append(events json) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            trusted boolean := kb_is_trusted(session_user);
            head_seq integer;
            head_hash text;
            at text;
            item jsonb;
            actor text;
            action text;
            details jsonb;
            digest text;
        BEGIN
            IF json_typeof(events) <> 'array' THEN
                RAISE EXCEPTION 'kb_audit_append takes a JSON array of events';
            END IF;
            -- Updating the head first takes its row lock: appenders queue instead of forking.
            UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash
                INTO head_seq, head_hash;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the audit head is missing';
            END IF;
            at := to_char(clock_timestamp() AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00';
            FOR item IN SELECT value FROM jsonb_array_elements(events::jsonb) LOOP
                actor := item ->> 'actor';
                action := item ->> 'action';
                details := coalesce(item -> 'details', '{{}}'::jsonb);
                IF jsonb_typeof(item -> 'actor') IS DISTINCT FROM 'string'
                   OR jsonb_typeof(item -> 'action') IS DISTINCT FROM 'string'
                   OR jsonb_typeof(details) <> 'object'
                   OR jsonb_typeof(coalesce(item -> 'subject', 'null')) NOT IN ('string', 'null')
                THEN
                    RAISE EXCEPTION 'an audit event needs a text actor and action, a text or '
                        'null subject and an object of details'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                IF NOT trusted AND actor IS DISTINCT FROM session_user THEN
                    RAISE EXCEPTION 'database login % cannot record events as %',
                        session_user, actor USING ERRCODE = 'insufficient_privilege';
                END IF;
                head_seq := head_seq + 1;
                digest := encode(sha256(convert_to(kb_canonical_json(jsonb_build_object(
                    'seq', head_seq, 'at', at, 'actor', actor, 'action', action,
                    'subject', coalesce(item -> 'subject', 'null'), 'details', details,
                    'prev_hash', head_hash)), 'UTF8')), 'hex');
                INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash)
                VALUES (head_seq, at, actor, action, item ->> 'subject', details::json,
                        head_hash, digest);
                head_hash := digest;
            END LOOP;
            UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
            RETURN head_seq;
        END
        $$
        """,
        # A vocabulary load into a KB with content opens a version of its own (issue 17 item 4):
        # admins load, and a login may not write kb_version itself.
        f"""
        CREATE FUNCTION kb_open_vocabulary_version(actor_name text, version_note text)
        RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            loader kb_user;
            number integer;
        BEGIN
            IF NOT kb_is_trusted(session_user) AND actor_name IS DISTINCT FROM session_user THEN
                RAISE EXCEPTION 'database login % cannot load as %', session_user, actor_name
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT * INTO loader FROM kb_user WHERE name = actor_name;
            IF NOT kb_is_trusted(session_user)
                AND (NOT FOUND OR NOT loader.active OR loader.role <> 'admin') THEN
                RAISE EXCEPTION '% is not an active admin; only admins load vocabularies',
                    actor_name USING ERRCODE = 'insufficient_privilege';
            END IF;
            number := coalesce((SELECT max(v.number) FROM kb_version AS v), 0) + 1;
            INSERT INTO kb_version (number, created_at, created_by, note, change_set_id)
            VALUES (number, clock_timestamp(), actor_name, version_note, NULL);
            RETURN number;
        END
        $$
        """,
        # The checked half of approving a change set (kb.review.changes does the rest: the
        # typed rows, which the guards below tie to this merge's revisions).
        f"""
        CREATE FUNCTION kb_merge_change_set(cs_id text, actor_name text) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            approver kb_user;
            cs change_set;
            clash text;
            number integer;
            seq integer;
        BEGIN
            IF NOT kb_is_trusted(session_user) AND actor_name IS DISTINCT FROM session_user THEN
                RAISE EXCEPTION 'database login % cannot approve as %', session_user, actor_name
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT * INTO approver FROM kb_user WHERE name = actor_name;
            IF NOT FOUND OR NOT approver.active OR approver.role <> 'reviewer' THEN
                RAISE EXCEPTION '% is not an active reviewer; only reviewers approve', actor_name
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT * INTO cs FROM change_set WHERE id = cs_id FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no change set %', cs_id;
            END IF;
            IF cs.status <> 'submitted' THEN
                RAISE EXCEPTION '% is %; only a submitted one can be approved',
                    cs.human_id, cs.status USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF cs.author_id = approver.id OR EXISTS (
                SELECT 1 FROM change WHERE change_set_id = cs_id AND author_id = approver.id)
            THEN
                RAISE EXCEPTION '% authored changes in % and cannot approve it (four eyes)',
                    actor_name, cs.human_id USING ERRCODE = 'insufficient_privilege';
            END IF;
            -- The same conflict rule as kb.review.changes.find_conflicts.
            SELECT c.human_id INTO clash
            FROM change AS c
            LEFT JOIN LATERAL (
                SELECT r.data::jsonb AS data, r.deleted FROM revision AS r
                WHERE r.human_id = c.human_id ORDER BY r.kb_version DESC LIMIT 1
            ) AS now ON true
            WHERE c.change_set_id = cs_id AND c.op <> 'create' AND (
                now.data IS NULL OR now.deleted
                OR (c.op = 'update' AND EXISTS (
                    SELECT 1 FROM jsonb_each(c.fields::jsonb) AS f
                    WHERE coalesce(now.data -> f.key, 'null')
                          <> coalesce(c.before::jsonb -> f.key, 'null')
                      AND coalesce(now.data -> f.key, 'null') <> f.value))
                OR (c.op = 'delete' AND EXISTS (
                    SELECT 1 FROM jsonb_each(c.before::jsonb) AS b
                    WHERE coalesce(now.data -> b.key, 'null') <> b.value)))
            LIMIT 1;
            IF clash IS NOT NULL THEN
                RAISE EXCEPTION '% conflicts with the main line at %', cs.human_id, clash
                    USING ERRCODE = 'serialization_failure';
            END IF;
            number := coalesce((SELECT max(v.number) FROM kb_version AS v), 0) + 1;
            INSERT INTO kb_version (number, created_at, created_by, note, change_set_id)
            VALUES (number, clock_timestamp(), actor_name, cs.title, cs.id);
            -- Revisions as kb.review.changes._merge computes them: a creation's fields, an
            -- update's fields over the newest revision's, a deletion's tombstone.
            INSERT INTO revision (record_id, record_type, human_id, kb_version, change_set_id,
                                  deleted, data)
            SELECT c.record_id, c.record_type, c.human_id, number, cs.id, c.op = 'delete',
                CASE c.op
                    WHEN 'create' THEN c.fields
                    WHEN 'update' THEN ((
                        SELECT r.data::jsonb FROM revision AS r WHERE r.human_id = c.human_id
                        ORDER BY r.kb_version DESC LIMIT 1) || c.fields::jsonb)::json
                    ELSE '{{}}'::json END
            FROM change AS c WHERE c.change_set_id = cs_id ORDER BY c.position;
            UPDATE change_set SET status = 'merged', merged_version = number,
                decided_by_id = approver.id, decided_at = clock_timestamp(),
                row_version = row_version + 1
            WHERE id = cs_id;
            SELECT h.seq INTO seq FROM audit_head AS h WHERE h.id = 1;
            INSERT INTO kb_merge_ticket (xact, change_set_id, kb_version, merged_by, audit_seq,
                                         merged_at)
            VALUES (pg_current_xact_id()::text, cs.id, number, actor_name, seq,
                    clock_timestamp());
            RETURN number;
        END
        $$
        """,
        # At commit: a merge without its approval in the audit trail does not commit.
        f"""
        CREATE FUNCTION kb_merge_logged() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM audit_event AS e JOIN change_set AS s ON s.human_id = e.subject
                WHERE s.id = NEW.change_set_id AND e.seq > NEW.audit_seq
                  AND e.action = 'change_set.approve' AND e.actor = NEW.merged_by)
            THEN
                RAISE EXCEPTION 'the merge of change set % was not recorded in the audit trail',
                    NEW.change_set_id USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE CONSTRAINT TRIGGER kb_merge_logged AFTER INSERT ON kb_merge_ticket
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kb_merge_logged()
        """,
        # Typed tables (installed per table by setup, TG_ARGV[0] naming the record's id
        # column): a login writes only the records this transaction's merge revised.
        f"""
        CREATE FUNCTION kb_guard_typed() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            ids text[] := '{{}}';
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP <> 'INSERT' THEN
                ids := ids || (to_jsonb(OLD) ->> TG_ARGV[0]);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                ids := ids || (to_jsonb(NEW) ->> TG_ARGV[0]);
            END IF;
            IF EXISTS (
                SELECT 1 FROM unnest(ids) AS i(id) WHERE NOT EXISTS (
                    SELECT 1 FROM kb_merge_ticket AS t
                    JOIN revision AS r ON r.kb_version = t.kb_version AND r.record_id = i.id
                    WHERE t.xact = pg_current_xact_id()::text))
            THEN
                RAISE EXCEPTION '% on % refused: records change only by merging an approved '
                    'change set', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END
        $$
        """,
        # Change sets: a login creates its own drafts, submits and withdraws its own, and a
        # reviewer rejects; only kb_merge_change_set marks one merged.
        f"""
        CREATE FUNCTION kb_guard_change_set() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            me kb_user := kb_session_user();
            ok boolean;
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF me.id IS NULL OR me.role NOT IN ('curator', 'reviewer') THEN
                RAISE EXCEPTION 'database login % is not an active curator or reviewer',
                    session_user USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF TG_OP = 'INSERT' THEN
                ok := NEW.status = 'draft' AND NEW.author_id = me.id
                    AND NEW.decided_by_id IS NULL AND NEW.decided_at IS NULL
                    AND NEW.merged_version IS NULL;
            ELSIF TG_OP = 'DELETE' THEN
                ok := OLD.status = 'draft' AND OLD.author_id = me.id;
            ELSE
                ok := NEW.id = OLD.id AND NEW.human_id = OLD.human_id
                    AND NEW.author_id = OLD.author_id
                    AND NEW.merged_version IS NOT DISTINCT FROM OLD.merged_version
                    AND (
                        (OLD.author_id = me.id AND OLD.status IN ('draft', 'submitted')
                            AND NEW.status IN ('draft', 'submitted')
                            AND NEW.decided_by_id IS NULL AND NEW.decided_at IS NULL)
                        OR (me.role = 'reviewer' AND OLD.status = 'submitted'
                            AND NEW.status = 'rejected' AND NEW.decided_by_id = me.id
                            AND coalesce(btrim(NEW.reason), '') <> ''));
            END IF;
            IF NOT ok THEN
                RAISE EXCEPTION '% of change set refused for %: only its author edits, submits '
                    'or withdraws a draft, a reviewer rejects, and only a merge approves',
                    TG_OP, session_user USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END
        $$
        """,
        f"""
        CREATE FUNCTION kb_guard_change() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            me kb_user := kb_session_user();
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF me.id IS NULL
               OR (TG_OP <> 'INSERT' AND NOT EXISTS (
                   SELECT 1 FROM change_set WHERE id = OLD.change_set_id AND author_id = me.id
                   AND status = 'draft'))
               OR (TG_OP <> 'DELETE' AND (NEW.author_id <> me.id OR NOT EXISTS (
                   SELECT 1 FROM change_set WHERE id = NEW.change_set_id AND author_id = me.id
                   AND status = 'draft')))
            THEN
                RAISE EXCEPTION 'changes are staged only by the author of a draft'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END
        $$
        """,
        # Sign-offs: in one's own name and role only; `released` is a release manager's,
        # the other meanings a reviewer's (kb.review.versions.approve_version).
        f"""
        CREATE FUNCTION kb_guard_version_approval() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            me kb_user := kb_session_user();
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN NEW;
            END IF;
            IF TG_OP <> 'INSERT' OR me.id IS NULL OR NEW.user_id <> me.id
               OR NEW.role <> me.role
               OR (NEW.meaning = 'released' AND me.role <> 'release-manager')
               OR (NEW.meaning <> 'released' AND me.role <> 'reviewer')
            THEN
                RAISE EXCEPTION 'a sign-off is written only in the signer''s own name, by a '
                    'reviewer or (released) a release manager'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        f"""
        CREATE FUNCTION kb_guard_release() RETURNS trigger
        LANGUAGE plpgsql {path} AS $$
        DECLARE
            me kb_user := kb_session_user();
        BEGIN
            IF kb_is_trusted(current_user) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF me.id IS NULL OR me.role <> 'release-manager' OR TG_OP = 'DELETE'
               OR NEW.created_by <> me.name
               OR (TG_OP = 'UPDATE' AND (NEW.created_by <> OLD.created_by
                   OR NEW.kb_version <> OLD.kb_version OR NEW.sequence <> OLD.sequence))
            THEN
                RAISE EXCEPTION 'releases are registered only by a release manager, in their '
                    'own name' USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END
        $$
        """,
    ]
