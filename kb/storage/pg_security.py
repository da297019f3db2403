"""PostgreSQL team mode: database roles, grants and guards so that a login can do exactly what
its KB role allows and nothing directly (DESIGN §3; docs/security.md).

`setup_postgres` is run by a superuser (or a role with CREATEROLE that owns the KB's tables)
after every schema upgrade. It is idempotent. It makes:

- `<prefix>_owner` (no login): owns every table and function; members of it and superusers are
  *trusted* (they can drop any check, so the checks do not bind them);
- one group role per KB role, `<prefix>_curator`, `_reviewer`, `_release_manager`, `_admin`,
  each granted what that KB role needs and nothing more: every group reads the KB; curators and
  reviewers write change sets, changes and review comments; reviewers run the server's merge
  (and its partial form, returning changes to their author) and write typed rows; release
  managers write sign-offs and the release register; admins write users and vocabularies;
  curators and reviewers add outcome records (insert only: an episode is never edited) and
  raise and resolve evidence alerts; only admins delete outcome records (purging an import) and
  set the small-cell threshold. No one writes the audit trail, versions or revisions but the
  server's own SECURITY DEFINER functions (migrations 0012, 0014);
- the guard triggers that hold a login to its own rows: typed rows only for the records its
  transaction's merge revised, change sets only by their author (a reviewer rejects, only a
  merge approves), sign-offs and releases only in the signer's own name and role.

A person's login is granted the group of their KB role (`logins=`, or GRANT by hand); the KB user
of the same name gives the role inside the KB, which the server's functions check too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from kb.errors import KbError
from kb.model.enums import Role
from kb.model.orm import RECORD_CLASSES, Base

_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,39}")

# What each KB role may write directly; everything else is read-only or the server's.
_DRAFTING = ("change_set", "change", "human_id_counter")
_VOCABULARIES = (
    "vocabulary_release",
    "tumour_type",
    "doid_term",
    "doid_xref",
    "doid_oncotree",
    "hgnc_gene",
    "hgnc_synonym",
    "vocabulary_state",
)
# Outcome records (kb.outcomes): appended by an import, never updated; purged only by admins.
_OUTCOME_ROWS = ("outcome_import", "outcome_episode")
_OUTCOME_ALERTS = "outcome_alert"
_ROW_GUARDS = {
    "change_set": "kb_guard_change_set",
    "change": "kb_guard_change",
    "version_approval": "kb_guard_version_approval",
    "kb_release": "kb_guard_release",
    "change_comment": "kb_guard_comment",
}
_EVERYONE_FUNCTIONS = (
    "kb_audit_append(json)",
    "kb_is_trusted(name)",
    "kb_session_user()",
    "kb_canonical_json(jsonb)",
)


@dataclass(frozen=True, slots=True)
class RoleNames:
    owner: str
    groups: dict[Role, str]

    @classmethod
    def for_prefix(cls, prefix: str) -> RoleNames:
        if not _PREFIX.fullmatch(prefix):
            raise KbError(
                f"role prefix {prefix!r}: lower-case letters, digits and _ only, a letter first"
            )
        return cls(
            owner=f"{prefix}_owner",
            groups={role: f"{prefix}_{role.value.replace('-', '_')}" for role in Role},
        )


@dataclass(frozen=True, slots=True)
class SetupReport:
    owner: str
    groups: dict[str, str]
    guarded_tables: list[str]
    logins: dict[str, str]

    def text(self) -> str:
        lines = [f"owner role: {self.owner}"]
        lines += [f"{role} group: {name}" for role, name in self.groups.items()]
        lines.append(f"guarded typed tables: {len(self.guarded_tables)}")
        lines += [f"login {login}: {group}" for login, group in self.logins.items()]
        return "\n".join(lines)


def typed_tables() -> dict[str, str]:
    """Table -> the column naming the record a row belongs to: the record tables by their id,
    and their link tables (rows deleted with their record) by the link to it."""
    records = {cls.__tablename__ for cls in RECORD_CLASSES.values()}
    out = dict.fromkeys(sorted(records), "id")
    for table in Base.metadata.sorted_tables:
        if table.name in records:
            continue
        for fk in table.foreign_keys:
            if fk.ondelete == "CASCADE" and fk.column.table.name in records:
                out[table.name] = fk.parent.name
    return out


def setup_postgres(
    connection: Connection, *, prefix: str = "kb", logins: Mapping[str, Role] | None = None
) -> SetupReport:
    """Create (or bring up to date) the KB's roles, grants and guards, in the caller's
    transaction; grant each of `logins` (login name -> KB role) its group."""
    if connection.dialect.name != "postgresql":
        raise KbError("setup-postgres is for PostgreSQL KBs (a SQLite KB has local accounts)")
    names = RoleNames.for_prefix(prefix)
    if connection.execute(text("SELECT to_regprocedure('kb_audit_append(json)')")).scalar() is None:
        raise KbError("the KB's schema predates PostgreSQL enforcement: open it once to migrate")
    me, superuser = connection.execute(
        text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).one()
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    run = connection.exec_driver_sql

    def q(identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    for role in (names.owner, *names.groups.values()):
        exists = connection.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).scalar()
        if not exists:
            run(f"CREATE ROLE {q(role)} NOLOGIN")
    if not superuser:
        run(f"GRANT {q(names.owner)} TO {q(me)}")

    # Ownership: the owner role, not whoever happened to migrate, owns everything.
    tables = [
        row[0]
        for row in connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relkind IN ('r', 'p')"
            ),
            {"s": schema},
        )
    ]
    for table in tables:
        run(f"ALTER TABLE {q(schema)}.{q(table)} OWNER TO {q(names.owner)}")
    functions = [
        row[0]
        for row in connection.execute(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = :s AND p.proname LIKE 'kb\\_%'"
            ),
            {"s": schema},
        )
    ]
    for function in functions:
        run(f"ALTER FUNCTION {function} OWNER TO {q(names.owner)}")

    # Grants: start from nothing, then give each group its part.
    groups = list(names.groups.values())
    everyone = ", ".join(q(g) for g in groups)
    run(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM PUBLIC, {everyone}")
    run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q(schema)} FROM PUBLIC, {everyone}")
    run(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {q(schema)} FROM PUBLIC, {everyone}")
    run(f"REVOKE CREATE ON SCHEMA {q(schema)} FROM PUBLIC, {everyone}")
    run(f"GRANT CONNECT ON DATABASE {q(database)} TO {everyone}")
    run(f"GRANT USAGE ON SCHEMA {q(schema)} TO {everyone}")
    run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema)} TO {everyone}")
    run(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {everyone}")
    for function in _EVERYONE_FUNCTIONS:
        run(f"GRANT EXECUTE ON FUNCTION {function} TO {everyone}")
    curator, reviewer = names.groups[Role.CURATOR], names.groups[Role.REVIEWER]
    release_manager, admin = names.groups[Role.RELEASE_MANAGER], names.groups[Role.ADMIN]
    guarded = typed_tables()
    for table in _DRAFTING:
        run(f"GRANT INSERT, UPDATE, DELETE ON {q(table)} TO {q(curator)}, {q(reviewer)}")
    for table in guarded:
        run(f"GRANT INSERT, UPDATE, DELETE ON {q(table)} TO {q(reviewer)}")
    run(f"GRANT EXECUTE ON FUNCTION kb_merge_change_set(text, text) TO {q(reviewer)}")
    # Review conversations (migration 0014): curators and reviewers comment, in their own name
    # (the guard); a reviewer returns the changes they turn down to the author's new draft.
    run(f"GRANT INSERT ON change_comment TO {q(curator)}, {q(reviewer)}")
    run(f"GRANT EXECUTE ON FUNCTION kb_return_changes(text, text, integer[]) TO {q(reviewer)}")
    run(f"GRANT INSERT ON version_approval TO {q(reviewer)}, {q(release_manager)}")
    # Approval keys: made at enrolment, at a first signature and at a password change, by the
    # person themselves. What protects them is pinning (a certificate from the trust root's
    # keys, outside the database), not this grant.
    run(f"GRANT INSERT, UPDATE ON signing_key TO {everyone}")
    run(f"GRANT INSERT, UPDATE ON kb_release TO {q(release_manager)}")
    run(f"GRANT INSERT, UPDATE ON kb_user TO {q(admin)}")
    run(f"GRANT EXECUTE ON FUNCTION kb_open_vocabulary_version(text, text) TO {q(admin)}")
    for table in _VOCABULARIES:
        run(f"GRANT INSERT, UPDATE, DELETE ON {q(table)} TO {q(admin)}")
    for table in _OUTCOME_ROWS:
        run(f"GRANT INSERT ON {q(table)} TO {q(curator)}, {q(reviewer)}")
        run(f"GRANT DELETE ON {q(table)} TO {q(admin)}")
    run(f"GRANT INSERT, UPDATE ON {q(_OUTCOME_ALERTS)} TO {q(curator)}, {q(reviewer)}")
    run(f"GRANT DELETE ON {q(_OUTCOME_ALERTS)} TO {q(admin)}")
    run(f"GRANT INSERT, UPDATE ON outcome_setting TO {q(admin)}")

    # Guards: they bind every login; trusted roles pass (kb_is_trusted).
    for table, column in guarded.items():
        run(
            f"CREATE OR REPLACE TRIGGER kb_merge_only BEFORE INSERT OR UPDATE OR DELETE "
            f"ON {q(table)} FOR EACH ROW EXECUTE FUNCTION kb_guard_typed({_literal(column)})"
        )
    for table, function in _ROW_GUARDS.items():
        run(
            f"CREATE OR REPLACE TRIGGER kb_row_guard BEFORE INSERT OR UPDATE OR DELETE "
            f"ON {q(table)} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )

    granted: dict[str, str] = {}
    for login, role in (logins or {}).items():
        exists = connection.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}
        ).scalar()
        if not exists:
            raise KbError(f"no database login {login}: the DBA creates it (CREATE ROLE … LOGIN)")
        for other in groups:
            run(f"REVOKE {q(other)} FROM {q(login)}")
        group = names.groups[Role(role)]
        run(f"GRANT {q(group)} TO {q(login)}")
        granted[login] = group
    return SetupReport(
        owner=names.owner,
        groups={role.value: name for role, name in names.groups.items()},
        guarded_tables=sorted(guarded),
        logins=granted,
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
