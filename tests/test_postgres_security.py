"""PostgreSQL team mode enforces the rules in the database (issue 17, failure 2): real login
roles try to bypass the app and are refused; the normal flows work as those logins."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kb.cli.main import main
from kb.model.enums import ApprovalMeaning, ChangeSetStatus, RecordType, Role
from kb.model.records import RecordRow, get_record, list_records
from kb.review.audit import GENESIS, NewEvent, event_hash, list_events, record_events, verify_chain
from kb.review.changes import (
    approve_change_set,
    discard_change_set,
    get_change_set,
    open_draft,
    reject_change_set,
    submit_change_set,
)
from kb.review.comments import add_comment, list_comments
from kb.review.users import Actor, add_user, authenticate
from kb.review.versions import approve_version
from kb.storage.db import Kb, open_kb
from kb.storage.pg_security import setup_postgres
from kb.storage.snapshot import canonical_json
from tests.conftest import demo_admin

pytestmark = pytest.mark.postgres
_counter = itertools.count()


@dataclass
class Team:
    """A demo KB set up for team mode, with one real login per person."""

    admin_url: str
    url: str
    prefix: str
    logins: dict[str, str]  # person -> login name

    def kb(self, person: str) -> Kb:
        """The KB as `person`'s own database login."""
        url = make_url(self.url).set(username=self.logins[person])
        return open_kb(url.render_as_string(hide_password=False), migrate_schema=False)

    def actor(self, kb: Kb) -> Actor:
        with kb.read() as session:
            return authenticate(session, name="", password=None)


@pytest.fixture
def team(postgres_admin_url: str, postgres_demo_template: str) -> Iterator[Team]:
    prefix = f"kbt{os.getpid()}_{next(_counter)}"
    name = f"{prefix}_db"
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    people = {
        "cara": Role.CURATOR,
        "carl": Role.CURATOR,
        "rita": Role.REVIEWER,
        "rex": Role.REVIEWER,
        "rm": Role.RELEASE_MANAGER,
        "ada": Role.ADMIN,
    }
    logins = {person: f"{prefix}_{person}" for person in people}
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_demo_template}"'))
        for login in logins.values():
            connection.execute(text(f'CREATE ROLE "{login}" LOGIN'))
    kb = open_kb(url)
    try:
        with kb.unit_of_work() as session:
            boss = demo_admin(session)
            for person, role in people.items():
                # A password gives the person an approval key (login-only users have none).
                add_user(
                    session, actor=boss, name=logins[person], role=role, password=f"{person}-pass-1"
                )
        with kb.engine.begin() as connection:
            setup_postgres(
                connection,
                prefix=prefix,
                logins={logins[person]: role for person, role in people.items()},
            )
    finally:
        kb.close()
    yield Team(postgres_admin_url, url, prefix, logins)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for role in [*logins.values(), *(f"{prefix}_{g}" for g in _GROUPS)]:
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


_GROUPS = ("curator", "reviewer", "release_manager", "admin", "owner")


def _refused(kb: Kb, sql: str, params: dict[str, object] | None = None) -> str:
    with pytest.raises(DBAPIError) as caught, kb.unit_of_work() as session:
        session.execute(text(sql), params or {})
    return str(caught.value.orig)


def _tmb(session: Session) -> RecordRow:
    return next(
        r for r in list_records(session, RecordType.THRESHOLD) if r.fields["metric"] == "TMB"
    )


def _draft_and_submit(team: Team, person: str, **fields: str) -> str:
    kb = team.kb(person)
    try:
        actor = team.actor(kb)
        with kb.unit_of_work() as session:
            editor = open_draft(session, actor=actor, title="TMB threshold")
            tmb = next(
                r
                for r in list_records(session, RecordType.THRESHOLD)
                if r.fields["metric"] == "TMB"
            )
            editor.update(tmb.human_id, fields or {"value": "16"})
            cs = editor.human_id
        with kb.unit_of_work() as session:
            submit_change_set(session, actor=actor, change_set_id=cs)
        return cs
    finally:
        kb.close()


def test_the_normal_flows_work_as_real_logins(team: Team) -> None:
    cs = _draft_and_submit(team, "cara")
    rita = team.kb("rita")
    try:
        with rita.unit_of_work() as session:
            result = approve_change_set(session, actor=team.actor(rita), change_set_id=cs)
        assert result.version == 2 and result.updated == 1
        with rita.read() as session:
            tmb = next(
                r
                for r in list_records(session, RecordType.THRESHOLD)
                if r.fields["metric"] == "TMB"
            )
            assert tmb.fields["value"] == "16"
            assert get_record(session, tmb.human_id).fields["value"] == "16"
    finally:
        rita.close()
    rm = team.kb("rm")
    try:
        with rm.unit_of_work() as session:
            approve_version(
                session,
                actor=team.actor(rm),
                version=2,
                meaning=ApprovalMeaning.RELEASED,
                reason="ready",
                password="rm-pass-1",
            )
        with rm.read() as session:
            assert verify_chain(session).ok
            actors = [e.actor for e in list_events(session, limit=20)]
    finally:
        rm.close()
    # Every event names the login that caused it, as the server recorded it.
    assert team.logins["rm"] in actors and team.logins["rita"] in actors
    assert team.logins["cara"] in actors
    # A reviewer rejects another's change set, with a reason.
    other = _draft_and_submit(team, "carl", value="12")
    rex = team.kb("rex")
    try:
        with rex.unit_of_work() as session:
            row = reject_change_set(
                session, actor=team.actor(rex), change_set_id=other, reason="not yet"
            )
        assert row.status is ChangeSetStatus.REJECTED
    finally:
        rex.close()


def test_kb_admin_setup_postgres_is_repeatable_and_grants_logins(
    team: Team, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    login = team.logins["carl"]
    argv = ["--db", team.url, "admin", "setup-postgres", "--prefix", team.prefix]
    assert main([*argv, "--login", f"{login}=reviewer", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["logins"] == {login: f"{team.prefix}_reviewer"}
    assert "threshold" in report["guarded_tables"]
    assert "therapy_drug" in report["guarded_tables"]
    carl = team.kb("carl")
    try:
        # The reviewer group's grants, but still no write outside a merge.
        assert "only by merging" in _refused(carl, "UPDATE threshold SET value = '1'")
    finally:
        carl.close()
    assert main([*argv, "--login", f"{login}=boss"]) == 2
    assert main(["--db", sqlite_url, "admin", "setup-postgres"]) == 1
    assert "for PostgreSQL KBs" in capsys.readouterr().err


def test_a_reviewer_login_cannot_write_typed_tables_outside_a_merge(team: Team) -> None:
    rita = team.kb("rita")
    try:
        refused = _refused(rita, "UPDATE threshold SET value = '1' WHERE metric = 'TMB'")
        assert "only by merging an approved change set" in refused
        _refused(rita, "DELETE FROM threshold")
        _refused(
            rita,
            "INSERT INTO drug (id, human_id, row_version, kb_version, name, ncit_code) "
            "VALUES ('x', 'DR-09999', 1, 1, 'fake', NULL)",
        )
        _refused(rita, "DELETE FROM therapy_drug")
        # Nor write the history the snapshots, approvals and releases are rebuilt from.
        _refused(rita, "INSERT INTO kb_version (number, created_by, note) VALUES (99, 'x', '')")
        _refused(rita, "UPDATE revision SET data = '{}'")
    finally:
        rita.close()
    # Admins and release managers neither.
    for person in ("ada", "rm", "cara"):
        kb = team.kb(person)
        try:
            _refused(kb, "UPDATE threshold SET value = '1' WHERE metric = 'TMB'")
        finally:
            kb.close()


def test_inside_a_merge_a_reviewer_writes_only_the_records_it_revised(team: Team) -> None:
    cs = _draft_and_submit(team, "cara")
    rita = team.kb("rita")
    try:
        actor = team.actor(rita)
        with pytest.raises(DBAPIError, match="only by merging"), rita.unit_of_work() as session:
            approve_change_set(session, actor=actor, change_set_id=cs)
            # The same transaction: a record the change set does not touch stays shut.
            session.execute(text("UPDATE drug SET name = 'tampered'"))
        with rita.read() as session:
            assert all(
                r.fields["name"] != "tampered" for r in list_records(session, RecordType.DRUG)
            )
    finally:
        rita.close()


def test_a_merge_is_the_servers_to_check(team: Team) -> None:
    cs = _draft_and_submit(team, "cara")
    with team.kb("rita").read() as session:
        cs_id = session.execute(
            text("SELECT id FROM change_set WHERE human_id = :h"), {"h": cs}
        ).scalar_one()
    cara = team.kb("cara")
    try:
        # A curator cannot merge at all, nor mark a change set approved or merged.
        assert "permission denied" in _refused(
            cara, "SELECT kb_merge_change_set(:c, :a)", {"c": cs_id, "a": team.logins["cara"]}
        )
        _refused(cara, "UPDATE change_set SET status = 'merged' WHERE id = :c", {"c": cs_id})
        _refused(cara, "UPDATE change_set SET status = 'approved' WHERE id = :c", {"c": cs_id})
    finally:
        cara.close()
    rita = team.kb("rita")
    try:
        # A reviewer cannot merge in another reviewer's name …
        assert "cannot approve as" in _refused(
            rita, "SELECT kb_merge_change_set(:c, :a)", {"c": cs_id, "a": team.logins["rex"]}
        )
        # … nor merge without the approval reaching the audit trail.
        with (
            pytest.raises(DBAPIError, match="not recorded in the audit trail"),
            rita.unit_of_work() as session,
        ):
            session.execute(
                text("SELECT kb_merge_change_set(:c, :a)"), {"c": cs_id, "a": team.logins["rita"]}
            )
    finally:
        rita.close()
    # Four eyes: a reviewer who authored changes cannot merge them, even by calling the server.
    own = _draft_and_submit(team, "rex", value="17")
    rex = team.kb("rex")
    try:
        with rex.read() as session:
            own_id = session.execute(
                text("SELECT id FROM change_set WHERE human_id = :h"), {"h": own}
            ).scalar_one()
        assert "four eyes" in _refused(
            rex, "SELECT kb_merge_change_set(:c, :a)", {"c": own_id, "a": team.logins["rex"]}
        )
    finally:
        rex.close()


def test_the_audit_trail_is_written_only_by_the_server(team: Team) -> None:
    cara = team.kb("cara")
    try:
        with cara.read() as session:
            seq, prev = session.execute(text("SELECT seq, hash FROM audit_head")).one()
        at = "2026-01-01T00:00:00.000000+00:00"
        fake = event_hash(
            seq=seq + 1,
            at=at,
            actor=team.logins["rita"],
            action="change_set.approve",
            subject="CS-00001",
            details={},
            prev_hash=prev,
        )
        # A correctly hashed event, by hand: refused.
        assert "permission denied" in _refused(
            cara,
            "INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) "
            "VALUES (:s, :at, :actor, 'change_set.approve', 'CS-00001', '{}', :p, :h)",
            {"s": seq + 1, "at": at, "actor": team.logins["rita"], "p": prev, "h": fake},
        )
        _refused(cara, "UPDATE audit_head SET seq = seq + 1")
        _refused(cara, "DELETE FROM audit_event WHERE seq = 1")
        _refused(cara, "TRUNCATE audit_event")
        # Through the server, only in one's own name.
        with (
            pytest.raises(DBAPIError, match="cannot record events as"),
            cara.unit_of_work() as session,
        ):
            record_events(session, [NewEvent(team.logins["rita"], "change_set.approve")])
        with cara.unit_of_work() as session:
            record_events(session, [NewEvent(team.logins["cara"], "note", None, {"n": 1})])
        with cara.read() as session:
            assert verify_chain(session).ok
    finally:
        cara.close()


def test_sign_offs_and_releases_only_in_ones_own_name_and_role(team: Team) -> None:
    with team.kb("rm").read() as session:
        rita_id = session.execute(
            text("SELECT id FROM kb_user WHERE name = :n"), {"n": team.logins["rita"]}
        ).scalar_one()
        rm_id = session.execute(
            text("SELECT id FROM kb_user WHERE name = :n"), {"n": team.logins["rm"]}
        ).scalar_one()
    insert = (
        "INSERT INTO version_approval (kb_version, user_id, printed_name, role, at, meaning, "
        "reason, digest) VALUES (1, :u, 'x', :r, now(), :m, 'forged', :d)"
    )
    rm = team.kb("rm")
    try:
        _refused(rm, insert, {"u": rita_id, "r": "reviewer", "m": "approved", "d": "0" * 64})
        _refused(rm, insert, {"u": rm_id, "r": "release-manager", "m": "approved", "d": "0" * 64})
        _refused(rm, "DELETE FROM version_approval")
    finally:
        rm.close()
    for person in ("cara", "rita"):
        kb = team.kb(person)
        try:
            _refused(kb, insert, {"u": rm_id, "r": "release-manager", "m": "released", "d": "0"})
            _refused(
                kb,
                "INSERT INTO kb_release (version, sequence, kb_version, release_digest, "
                "snapshot_digest, created_at, created_by, location) "
                "VALUES ('9.9.9', 99, 1, 'x', 'x', now(), :n, '')",
                {"n": team.logins[person]},
            )
        finally:
            kb.close()


def test_change_sets_only_by_their_author_and_reviewers(team: Team) -> None:
    cs = _draft_and_submit(team, "cara")
    carl = team.kb("carl")
    try:
        # Another curator can neither withdraw, edit, reject nor delete cara's change set.
        _refused(carl, "UPDATE change_set SET status = 'draft' WHERE human_id = :h", {"h": cs})
        _refused(carl, "UPDATE change_set SET title = 'mine' WHERE human_id = :h", {"h": cs})
        _refused(
            carl,
            "UPDATE change_set SET status = 'rejected', reason = 'no' WHERE human_id = :h",
            {"h": cs},
        )
        _refused(
            carl,
            "DELETE FROM change WHERE change_set_id = "
            "(SELECT id FROM change_set WHERE human_id = :h)",
            {"h": cs},
        )
    finally:
        carl.close()
    cara = team.kb("cara")
    try:
        # Nor can its author change its changes once submitted.
        _refused(
            cara,
            'UPDATE change SET fields = \'{"value": "99"}\' WHERE change_set_id = '
            "(SELECT id FROM change_set WHERE human_id = :h)",
            {"h": cs},
        )
    finally:
        cara.close()


def test_review_conversations_and_partial_approval_as_real_logins(team: Team) -> None:
    """Migration 0014 on PostgreSQL: comments in one's own name only and never changed; a
    reviewer returns part of a change set through the server; an author discards a draft."""
    cara = team.kb("cara")
    try:
        actor = team.actor(cara)
        with cara.unit_of_work() as session:
            editor = open_draft(session, actor=actor, title="two drugs")
            editor.update("DR-00001", {"ncit_code": "C111"})
            editor.update("DR-00002", {"ncit_code": "C222"})
            cs = editor.human_id
        with cara.unit_of_work() as session:
            add_comment(session, actor=actor, change_set_id=cs, record="DR-00002", body="why")
            submit_change_set(session, actor=actor, change_set_id=cs)
        # Not in another's name, and no rewriting of the thread.
        _refused(
            cara,
            "INSERT INTO change_comment (change_set_id, author_id, created_at, kind, body) "
            "SELECT id, (SELECT id FROM kb_user WHERE name = :rex), now(), 'comment', 'forged' "
            "FROM change_set WHERE human_id = :h",
            {"h": cs, "rex": team.logins["rex"]},
        )
        _refused(cara, "UPDATE change_comment SET body = 'edited'")
        _refused(cara, "DELETE FROM change_comment")
        # A curator cannot pull changes out of a change set through the server.
        _refused(
            cara,
            "SELECT kb_return_changes((SELECT id FROM change_set WHERE human_id = :h), :me, "
            "ARRAY(SELECT id FROM change WHERE human_id = 'DR-00002'))",
            {"h": cs, "me": team.logins["cara"]},
        )
    finally:
        cara.close()
    rita = team.kb("rita")
    try:
        with rita.unit_of_work() as session:
            result = approve_change_set(
                session,
                actor=team.actor(rita),
                change_set_id=cs,
                reason="DR-00001 checked",
                returned={"DR-00002": "C222 is retired"},
            )
        assert result.version == 2 and result.updated == 1 and result.returned
        with rita.read() as session:
            back = get_change_set(session, result.returned)
            assert (back.status, back.author) == (ChangeSetStatus.DRAFT, team.logins["cara"])
            assert [c.human_id for c in back.changes] == ["DR-00002"]
            assert [c.kind.value for c in list_comments(session, cs)] == [
                "comment",
                "return",
                "approve",
            ]
            assert verify_chain(session).ok
    finally:
        rita.close()
    cara = team.kb("cara")
    try:
        with cara.unit_of_work() as session:
            row = discard_change_set(session, actor=team.actor(cara), change_set_id=back.id)
        assert row.status is ChangeSetStatus.WITHDRAWN
    finally:
        cara.close()


# --- the server's hash is kb's hash ---------------------------------------------------------

_TRICKY = {
    "unicode": "naïve 🧬 ΔEGFR 漢字",
    "controls": 'tab\there\nnew line \u0001 \u001f \u007f "quoted" back\\slash /',
    "separators": "\u2028\u2029",
    "nested": {"z": [1, -2, 0, {"b": None, "a": True}], "A": {}, "é": [], "Z": False},
    "keys": {"b": 1, "a": 2, "B": 3, "aa": 4, "ä": 5, "😀": 6, "\uffff": 7, "": 8},
    "numbers_as_strings": ["1.50", "1e3", "-0.0", "007"],
    "big": 9007199254740993,
    "negative": -123456789012345,
}


def test_server_and_kb_hash_tricky_events_alike(team: Team) -> None:
    kb = open_kb(team.url, migrate_schema=False)
    try:
        with kb.unit_of_work() as session:
            record_events(session, [NewEvent("someone", "tricky", "X", _TRICKY)])
        with kb.read() as session:
            [event] = list_events(session, limit=1)
            assert event.details == _TRICKY
            prev = session.execute(
                text("SELECT prev_hash FROM audit_event WHERE seq = :s"), {"s": event.seq}
            ).scalar_one()
            content = {
                "seq": event.seq,
                "at": event.at,
                "actor": "someone",
                "action": "tricky",
                "subject": "X",
                "details": _TRICKY,
                "prev_hash": prev,
            }
            assert hashlib.sha256(canonical_json(content)).hexdigest() == event.hash
            server_text = session.execute(
                text("SELECT kb_canonical_json(CAST(:v AS jsonb))"),
                {"v": canonical_json(_TRICKY).decode()},
            ).scalar_one()
            assert server_text.encode() == canonical_json(_TRICKY)
            assert verify_chain(session).ok
        # Floats have no canonical form: the server refuses them, as kb does.
        with pytest.raises(DBAPIError, match="integers only"), kb.unit_of_work() as session:
            session.execute(
                text("SELECT kb_audit_append(CAST(:e AS json))"),
                {"e": '[{"actor": "x", "action": "y", "details": {"f": 1.5}}]'},
            )
    finally:
        kb.close()
    assert GENESIS == "0" * 64


def test_an_admin_login_loads_a_vocabulary_into_a_new_version(team: Team) -> None:
    from kb.review.vocabulary import load_vocabulary
    from kb.storage.snapshot import build_snapshot
    from kb.vocab.bundled import load_bundled

    ada = team.kb("ada")
    try:
        with ada.read() as session:
            digest = build_snapshot(session, 1).digest()
        # No login writes kb_version itself, an admin's included.
        assert "permission denied" in _refused(
            ada, "INSERT INTO kb_version (number, created_at, created_by, note) "
            "VALUES (99, now(), 'x', 'x')",
        )  # fmt: skip
        actor = team.actor(ada)
        with ada.unit_of_work() as session:
            loaded = load_vocabulary(
                session, actor=actor, kind="oncotree", load=lambda s: load_bundled(s, "oncotree")
            )
        assert loaded.kb_version == 2
        with ada.read() as session:
            assert build_snapshot(session, 1).digest() == digest
            assert verify_chain(session).ok
            assert list_events(session, limit=1)[0].action == "vocabulary.load"
    finally:
        ada.close()
    cara = team.kb("cara")
    try:
        refusal = _refused(
            cara, "SELECT kb_open_vocabulary_version(:who, 'x')", {"who": team.logins["cara"]}
        )
        assert "permission denied" in refusal
    finally:
        cara.close()
