"""Change sets, review and approval on both backends: what curators and reviewers rely on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kb.errors import KbError
from kb.model.enums import ApprovalMeaning, ChangeOp, ChangeSetStatus, CommentKind, RecordType, Role
from kb.model.records import get_record, list_records
from kb.review.audit import list_events, verify_chain
from kb.review.changes import (
    ConflictError,
    ValidationFailed,
    approve_change_set,
    current_draft,
    discard_change_set,
    drop_change,
    get_change_set,
    open_draft,
    rebase_change_set,
    reject_change_set,
    submit_change_set,
    withdraw_change_set,
)
from kb.review.comments import add_comment, list_comments
from kb.review.users import (
    Actor,
    AuthenticationError,
    PermissionDenied,
    add_user,
    authenticate,
)
from kb.review.versions import approve_version, list_approvals, record_history
from kb.storage.db import Kb, open_kb
from kb.storage.revisions import current_version
from kb.storage.snapshot import build_snapshot
from tests.conftest import demo_admin


@dataclass
class Team:
    admin: Actor
    cara: Actor  # curator
    carl: Actor  # curator
    rita: Actor  # reviewer
    rex: Actor  # reviewer
    rm: Actor  # release manager


@pytest.fixture
def team(demo_kb: Kb) -> Team:
    with demo_kb.unit_of_work() as s:
        admin = demo_admin(s)
        people = {
            name: add_user(s, actor=admin, name=name, role=role, password=f"{name}-pass-1")
            for name, role in (
                ("cara", Role.CURATOR),
                ("carl", Role.CURATOR),
                ("rita", Role.REVIEWER),
                ("rex", Role.REVIEWER),
                ("rm", Role.RELEASE_MANAGER),
            )
        }
    return Team(admin=admin, **people)


def _edit(kb: Kb, actor: Actor, human_id: str, **fields: object) -> str:
    with kb.unit_of_work() as s:
        editor = open_draft(s, actor=actor, title=f"edit {human_id}")
        editor.update(human_id, fields)
        return editor.human_id


def _submit(kb: Kb, actor: Actor, cs: str) -> None:
    with kb.unit_of_work() as s:
        submit_change_set(s, actor=actor, change_set_id=cs)


def test_full_cycle_creates_version_n_plus_1(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="TMB threshold and a new drug")
        tmb = next(r for r in list_records(s, RecordType.THRESHOLD) if r.fields["metric"] == "TMB")
        editor.update(tmb.human_id, {"value": "16"})
        drug = editor.create(RecordType.DRUG, {"name": "zongertinib"})
        therapy = editor.create(RecordType.THERAPY, {"name": "Zongertinib", "drugs": [drug]})
        cs = editor.human_id
    with demo_kb.read() as s:
        draft = current_draft(s, team.cara)
        assert draft is not None and draft.human_id == cs and len(draft.changes) == 3
        # Nothing reaches the main line before approval.
        assert get_record(s, tmb.human_id).fields["value"] == "10"
    _submit(demo_kb, team.cara, cs)
    with demo_kb.unit_of_work() as s:
        result = approve_change_set(s, actor=team.rita, change_set_id=cs)
    assert result.version == 2 and (result.created, result.updated) == (2, 1)
    with demo_kb.read() as s:
        assert current_version(s) == 2
        assert get_record(s, tmb.human_id).fields["value"] == "16"
        assert get_record(s, therapy).fields["drugs"] == [drug]
        assert get_change_set(s, cs).status is ChangeSetStatus.MERGED
        # The typed tables and the rebuilt snapshot agree record for record.
        snapshot = build_snapshot(s, 2).records
        for rtype in (RecordType.THRESHOLD, RecordType.THERAPY, RecordType.DRUG):
            rows = {r.human_id: dict(r.fields) for r in list_records(s, rtype)}
            assert rows == {e["id"]: e["fields"] for e in snapshot[rtype.value]}
        # Version 1 is still rebuilt exactly as it was.
        v1 = {e["id"]: e["fields"] for e in build_snapshot(s, 1).records["threshold"]}
        assert v1[tmb.human_id]["value"] == "10"
        history = record_history(s, tmb.human_id)
        assert [h.op for h in history] == ["create", "update"]
        assert history[1].changes == {"value": {"old": "10", "new": "16"}}
        assert history[1].change_set == cs and history[1].by == "rita"
        assert verify_chain(s).ok


def test_roles_are_enforced_in_kb(demo_kb: Kb, team: Team) -> None:
    cs = _edit(demo_kb, team.cara, "DR-00001", ncit_code="C999999")
    _submit(demo_kb, team.cara, cs)
    with (
        pytest.raises(PermissionDenied, match="only reviewers may approve"),
        demo_kb.unit_of_work() as s,
    ):
        approve_change_set(s, actor=team.carl, change_set_id=cs)
    with (
        pytest.raises(PermissionDenied, match="only curators and reviewers may edit"),
        demo_kb.unit_of_work() as s,
    ):
        open_draft(s, actor=team.rm, title="nope")
    with pytest.raises(PermissionDenied, match="only admins"), demo_kb.unit_of_work() as s:
        add_user(s, actor=team.rita, name="eve", role=Role.ADMIN, password="whatever-1")


def test_author_cannot_approve_own_change_set(demo_kb: Kb, team: Team) -> None:
    cs = _edit(demo_kb, team.rita, "DR-00001", ncit_code="C999999")
    _submit(demo_kb, team.rita, cs)
    with (
        pytest.raises(PermissionDenied, match=r"authored changes in .*four-eyes"),
        demo_kb.unit_of_work() as s,
    ):
        approve_change_set(s, actor=team.rita, change_set_id=cs)
    with demo_kb.unit_of_work() as s:
        assert approve_change_set(s, actor=team.rex, change_set_id=cs).version == 2


def test_reject_needs_a_reason(demo_kb: Kb, team: Team) -> None:
    cs = _edit(demo_kb, team.cara, "DR-00001", ncit_code="C0")
    _submit(demo_kb, team.cara, cs)
    with pytest.raises(KbError, match="needs a reason"), demo_kb.unit_of_work() as s:
        reject_change_set(s, actor=team.rita, change_set_id=cs, reason="  ")
    with demo_kb.unit_of_work() as s:
        row = reject_change_set(s, actor=team.rita, change_set_id=cs, reason="wrong NCIt code")
    assert row.status is ChangeSetStatus.REJECTED and row.reason == "wrong NCIt code"
    with demo_kb.read() as s:
        assert current_version(s) == 1


def test_validation_blocks_submission(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        tmb = next(r for r in list_records(s, RecordType.THRESHOLD) if r.fields["metric"] == "TMB")
        editor = open_draft(s, actor=team.cara, title="bad unit")
        editor.update(tmb.human_id, {"unit": "%"})
        cs = editor.human_id
    with pytest.raises(ValidationFailed) as caught, demo_kb.unit_of_work() as s:
        submit_change_set(s, actor=team.cara, change_set_id=cs)
    problem = caught.value.problems[0]
    assert (problem.record, problem.field, problem.value) == (tmb.human_id, "unit", "%")
    with demo_kb.read() as s:
        assert get_change_set(s, cs).status is ChangeSetStatus.DRAFT


def test_withdraw_and_drafts_survive_reopening(db_url: str, demo_kb: Kb, team: Team) -> None:
    cs = _edit(demo_kb, team.cara, "DR-00002", ncit_code="C1")
    _submit(demo_kb, team.cara, cs)
    with demo_kb.unit_of_work() as s:
        assert (
            withdraw_change_set(s, actor=team.cara, change_set_id=cs).status
            is ChangeSetStatus.DRAFT
        )
    demo_kb.close()
    reopened = open_kb(db_url)
    with reopened.read() as s:
        draft = current_draft(s, team.cara)
    reopened.close()
    assert draft is not None and draft.human_id == cs
    assert draft.changes[0].fields == {"ncit_code": "C1"}


def test_conflict_is_reported_and_nothing_is_lost(demo_kb: Kb, team: Team) -> None:
    first = _edit(demo_kb, team.cara, "AS-00001", evidence_level="2", description="cara's")
    second = _edit(demo_kb, team.carl, "AS-00001", evidence_level="3A", cdx="carl's cdx")
    for cs, author in ((first, team.cara), (second, team.carl)):
        _submit(demo_kb, author, cs)
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=first)
    with pytest.raises(ConflictError) as caught, demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=second)
    conflict = caught.value.conflicts[0]
    assert (conflict.human_id, conflict.field) == ("AS-00001", "evidence_level")
    assert (conflict.base, conflict.theirs, conflict.ours) == ("1", "2", "3A")
    with demo_kb.read() as s:
        row = get_record(s, "AS-00001")
        assert (row.fields["evidence_level"], row.fields["description"]) == ("2", "cara's")
        assert current_version(s) == 2
    # Rebase keeps the non-conflicting field and lists the conflict.
    with demo_kb.unit_of_work() as s:
        withdraw_change_set(s, actor=team.carl, change_set_id=second)
        result = rebase_change_set(s, actor=team.carl, change_set_id=second)
    assert [(c.human_id, c.field) for c in result.conflicts] == [("AS-00001", "evidence_level")]
    assert result.new_base == 2
    with demo_kb.read() as s:
        change = get_change_set(s, second).changes[0]
    assert change.fields == {"cdx": "carl's cdx"}
    _submit(demo_kb, team.carl, second)
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rex, change_set_id=second)
    with demo_kb.read() as s:
        row = get_record(s, "AS-00001")
    assert (row.fields["evidence_level"], row.fields["cdx"], row.fields["description"]) == (
        "2",
        "carl's cdx",
        "cara's",
    )


def test_delete_is_a_tombstone_and_history_shows_it(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="drop a trial arm")
        editor.delete("TA-00001")
        cs = editor.human_id
    _submit(demo_kb, team.cara, cs)
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=cs)
    with demo_kb.read() as s:
        assert "TA-00001" not in {r.human_id for r in list_records(s, RecordType.TRIAL_ARM)}
        assert [h.op for h in record_history(s, "TA-00001")] == ["create", "delete"]
        assert "TA-00001" in {e["id"] for e in build_snapshot(s, 1).records["trial_arm"]}


def test_deleting_a_record_still_referenced_is_blocked(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="drop a therapy in use")
        editor.delete("TX-00001")
        cs = editor.human_id
    with (
        pytest.raises(ValidationFailed, match=r"dangling_reference|does not exist"),
        demo_kb.unit_of_work() as s,
    ):
        submit_change_set(s, actor=team.cara, change_set_id=cs)


def test_sign_in_and_failures_are_audited(demo_kb: Kb, team: Team) -> None:
    with demo_kb.read() as s:
        assert authenticate(s, name="cara", password="cara-pass-1") == team.cara
    with (
        pytest.raises(AuthenticationError, match="wrong user name or password"),
        demo_kb.read() as s,
    ):
        authenticate(s, name="cara", password="guess")
    with demo_kb.read() as s:
        actions = [r[0] for r in s.execute(text("SELECT action FROM audit_event ORDER BY seq"))]
        stored = s.execute(text("SELECT password_hash FROM kb_user WHERE name = 'cara'")).scalar()
    assert actions[-1] == "signin.failed"
    assert stored.startswith("scrypt$") and "cara-pass-1" not in stored


def test_version_approval_records_and_voiding(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        approval = approve_version(
            s,
            actor=team.rita,
            version=1,
            meaning=ApprovalMeaning.APPROVED,
            reason="demo checked",
            password="rita-pass-1",
        )
    with demo_kb.read() as s:
        assert approval.digest == build_snapshot(s, 1).digest()
        # The demo reviewer's sign-off of the demo as shipped, then rita's.
        assert [(a.reason, a.void) for a in list_approvals(s, 1)][-1] == ("demo checked", False)
        assert [a.void for a in list_approvals(s, 1)] == [False, False]
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as s:
        approve_version(
            s,
            actor=team.rita,
            version=1,
            meaning=ApprovalMeaning.RELEASED,
            reason="x",
            password="rita-pass-1",
        )
    # Tampering with version 1's stored content voids the approval.
    with demo_kb.unit_of_work() as s:
        s.execute(text("UPDATE revision SET deleted = true WHERE human_id = 'DR-00001'"))
    with demo_kb.read() as s:
        assert [a.void for a in list_approvals(s, 1)] == [True, True]


def test_audit_table_refuses_update_and_delete(demo_kb: Kb, team: Team) -> None:
    for statement in (
        "UPDATE audit_event SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), demo_kb.unit_of_work() as s:
            s.execute(text(statement))
    with demo_kb.read() as s:
        assert verify_chain(s).ok


def _drop_triggers(kb: Kb) -> None:
    with kb.engine.begin() as connection:
        if kb.is_sqlite:
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
            connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))


@pytest.mark.parametrize(
    ("statement", "seq", "words"),
    [
        ("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3", 3, "modified"),
        ("DELETE FROM audit_event WHERE seq = 4", 4, "missing"),
        ("UPDATE audit_event SET seq = seq + 100000 WHERE seq = 2", 2, "missing"),
    ],
)
def test_audit_verify_names_the_tampered_event(
    demo_kb: Kb, team: Team, statement: str, seq: int, words: str
) -> None:
    _drop_triggers(demo_kb)
    with demo_kb.unit_of_work() as s:
        s.execute(text(statement))
    with demo_kb.read() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_seq == seq and words in (report.problem or "")


def test_audit_verify_notices_deleted_tail(demo_kb: Kb, team: Team) -> None:
    _drop_triggers(demo_kb)
    with demo_kb.unit_of_work() as s:
        last = s.execute(text("SELECT max(seq) FROM audit_event")).scalar()
        s.execute(text(f"DELETE FROM audit_event WHERE seq = {last}"))
    with demo_kb.read() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_seq == last


@pytest.fixture
def racing(db_url: str, demo_kb: Kb, team: Team) -> Iterator[tuple[str, str]]:
    first = _edit(demo_kb, team.cara, "AS-00002", evidence_level="2")
    second = _edit(demo_kb, team.carl, "AS-00002", evidence_level="3A")
    _submit(demo_kb, team.cara, first)
    _submit(demo_kb, team.carl, second)
    yield first, second


def test_concurrent_merges_never_lose_an_update(
    db_url: str, demo_kb: Kb, team: Team, racing: tuple[str, str]
) -> None:
    # Two reviewers approve at once from two real connections: one wins, the other conflicts.
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def approve(cs: str, reviewer: Actor) -> None:
        kb = open_kb(db_url)
        try:
            barrier.wait()
            with kb.unit_of_work() as s:
                outcomes[cs] = approve_change_set(s, actor=reviewer, change_set_id=cs).version
        except (KbError, DBAPIError) as exc:
            outcomes[cs] = exc
        finally:
            kb.close()

    threads = [
        threading.Thread(target=approve, args=(racing[0], team.rita)),
        threading.Thread(target=approve, args=(racing[1], team.rex)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    wins = [cs for cs, result in outcomes.items() if result == 2]
    losses = [result for result in outcomes.values() if not isinstance(result, int)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], ConflictError | DBAPIError)
    with demo_kb.read() as s:
        expected = "2" if wins[0] == racing[0] else "3A"
        assert get_record(s, "AS-00002").fields["evidence_level"] == expected
        assert current_version(s) == 2
        assert verify_chain(s).ok


def test_drop_one_change_and_discard_a_draft(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="three edits")
        editor.update("DR-00001", {"ncit_code": "C111"})
        editor.update("DR-00002", {"ncit_code": "C222"})
        drug = editor.create(RecordType.DRUG, {"name": "dropme-tinib"})
        cs = editor.human_id
    with (
        pytest.raises(PermissionDenied, match="another curator's draft"),
        demo_kb.unit_of_work() as s,
    ):
        drop_change(s, actor=team.carl, change_set_id=cs, record="DR-00001")
    with pytest.raises(KbError, match="has no change of DR-00003"), demo_kb.unit_of_work() as s:
        drop_change(s, actor=team.cara, change_set_id=cs, record="DR-00003")
    with demo_kb.unit_of_work() as s:
        row = drop_change(s, actor=team.cara, change_set_id=cs, record="dr-00001")
        assert [c.human_id for c in row.changes] == ["DR-00002", drug]
        row = drop_change(s, actor=team.cara, change_set_id=cs, record=drug)
        assert [c.human_id for c in row.changes] == ["DR-00002"]
    with demo_kb.read() as s:
        assert [c.human_id for c in get_change_set(s, cs).changes] == ["DR-00002"]
        dropped = [e for e in list_events(s, subject="DR-00001") if e.action == "change.discard"]
        assert dropped and dropped[0].actor == "cara"
    # A submitted change set is withdrawn before it is discarded; a draft is not "withdrawn".
    _submit(demo_kb, team.cara, cs)
    with pytest.raises(KbError, match="withdraw it to a draft first"), demo_kb.unit_of_work() as s:
        discard_change_set(s, actor=team.cara, change_set_id=cs)
    with demo_kb.unit_of_work() as s:
        withdraw_change_set(s, actor=team.cara, change_set_id=cs)
    with pytest.raises(KbError, match=r"already a draft; .*discard"), demo_kb.unit_of_work() as s:
        withdraw_change_set(s, actor=team.cara, change_set_id=cs)
    with pytest.raises(PermissionDenied, match="only the author"), demo_kb.unit_of_work() as s:
        discard_change_set(s, actor=team.carl, change_set_id=cs)
    with demo_kb.unit_of_work() as s:
        row = discard_change_set(s, actor=team.cara, change_set_id=cs, reason="started over")
    assert row.status is ChangeSetStatus.WITHDRAWN
    with demo_kb.read() as s:
        assert current_draft(s, team.cara) is None
        event = list_events(s, subject=cs)[0]
        assert (event.action, event.details["reason"]) == ("change_set.discard", "started over")
        assert verify_chain(s).ok
    with pytest.raises(KbError, match="only a draft can be edited"), demo_kb.unit_of_work() as s:
        open_draft(s, actor=team.cara, change_set_id=cs)


def test_comment_threads_and_decision_reasons(demo_kb: Kb, team: Team) -> None:
    cs = _edit(demo_kb, team.cara, "DR-00001", ncit_code="C111")
    with demo_kb.unit_of_work() as s:
        add_comment(s, actor=team.cara, change_set_id=cs, body="From the FDA label")
        add_comment(
            s, actor=team.cara, change_set_id=cs, record="DR-00001", body="NCIt updated in 2026"
        )
        with pytest.raises(KbError, match="has no change of DR-00002"):
            add_comment(s, actor=team.cara, change_set_id=cs, record="DR-00002", body="x")
        with pytest.raises(KbError, match="needs some text"):
            add_comment(s, actor=team.cara, change_set_id=cs, body="   ")
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as s:
        add_comment(s, actor=team.rm, change_set_id=cs, body="release managers do not review")
    _submit(demo_kb, team.cara, cs)
    with pytest.raises(KbError, match="needs a reason"), demo_kb.unit_of_work() as s:
        reject_change_set(s, actor=team.rita, change_set_id=cs, reason="")
    with demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=cs, reason="Checked against NCIt")
    with demo_kb.read() as s:
        thread = list_comments(s, cs)
        assert [(c.author, c.kind, c.record, c.body) for c in thread] == [
            ("cara", CommentKind.COMMENT, None, "From the FDA label"),
            ("cara", CommentKind.COMMENT, "DR-00001", "NCIt updated in 2026"),
            ("rita", CommentKind.APPROVE, None, "Checked against NCIt"),
        ]
        assert [c.body for c in list_comments(s, record="DR-00001")] == ["NCIt updated in 2026"]
        events = list_events(s, subject=cs)
        approve = next(e for e in events if e.action == "change_set.approve")
        assert approve.details["reason"] == "Checked against NCIt"
        assert sum(e.action == "change_set.comment" for e in events) == 3
        assert verify_chain(s).ok
    second = _edit(demo_kb, team.carl, "DR-00002", ncit_code="C0")
    _submit(demo_kb, team.carl, second)
    with demo_kb.unit_of_work() as s:
        reject_change_set(s, actor=team.rex, change_set_id=second, reason="C0 is not a code")
    with demo_kb.read() as s:
        (comment,) = list_comments(s, second)
    assert (comment.author, comment.kind, comment.body) == (
        "rex",
        CommentKind.REJECT,
        "C0 is not a code",
    )


def test_accept_in_part_returns_the_rest_to_the_author(demo_kb: Kb, team: Team) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="two drugs")
        editor.update("DR-00001", {"ncit_code": "C111"})
        editor.update("DR-00002", {"ncit_code": "C222"})
        drug = editor.create(RecordType.DRUG, {"name": "partial-tinib"})
        cs = editor.human_id
    _submit(demo_kb, team.cara, cs)
    for returned, message in (
        ({"DR-00002": ""}, "needs a reason: DR-00002"),
        ({"DR-00009": "no"}, "has no change of DR-00009"),
        ({"DR-00001": "a", "DR-00002": "b", drug: "c"}, "reject the change set instead"),
    ):
        with pytest.raises(KbError, match=message), demo_kb.unit_of_work() as s:
            approve_change_set(s, actor=team.rex, change_set_id=cs, returned=returned)
    with demo_kb.unit_of_work() as s:
        result = approve_change_set(
            s,
            actor=team.rex,
            change_set_id=cs,
            reason="DR-00001 and the new drug are right",
            returned={"DR-00002": "C222 is a retired NCIt code"},
        )
    assert result.version == 2 and (result.updated, result.created) == (1, 1)
    assert result.returned is not None
    with demo_kb.read() as s:
        assert get_record(s, "DR-00001").fields["ncit_code"] == "C111"
        assert get_record(s, "DR-00002").fields["ncit_code"] != "C222"
        assert get_record(s, drug).fields["name"] == "partial-tinib"
        merged = get_change_set(s, cs)
        assert merged.status is ChangeSetStatus.MERGED
        assert {c.human_id for c in merged.changes} == {"DR-00001", drug}
        back = get_change_set(s, result.returned)
        assert (back.status, back.author) == (ChangeSetStatus.DRAFT, "cara")
        assert back.base_version == 1 and "returned from " + cs in back.title
        assert [(c.op, c.human_id, c.fields) for c in back.changes] == [
            (ChangeOp.UPDATE, "DR-00002", {"ncit_code": "C222"})
        ]
        (why,) = list_comments(s, result.returned)
        assert (why.author, why.record, why.kind) == ("rex", "DR-00002", CommentKind.RETURN)
        assert "C222 is a retired NCIt code" in why.body
        kinds = [(c.kind, c.record) for c in list_comments(s, cs)]
        assert kinds == [(CommentKind.RETURN, "DR-00002"), (CommentKind.APPROVE, None)]
        assert verify_chain(s).ok
        assert current_draft(s, team.cara) == back
    # The author can fix and resubmit the returned draft; it merges on its own.
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, change_set_id=result.returned)
        editor.update("DR-00002", {"ncit_code": "C333"})
    with demo_kb.unit_of_work() as s:
        rebase_change_set(s, actor=team.cara, change_set_id=result.returned)
    _submit(demo_kb, team.cara, result.returned)
    with demo_kb.unit_of_work() as s:
        assert approve_change_set(s, actor=team.rita, change_set_id=result.returned).version == 3


def test_accepting_a_part_that_needs_a_returned_creation_is_refused(
    demo_kb: Kb, team: Team
) -> None:
    with demo_kb.unit_of_work() as s:
        editor = open_draft(s, actor=team.cara, title="drug and therapy")
        drug = editor.create(RecordType.DRUG, {"name": "needed-tinib"})
        therapy = editor.create(RecordType.THERAPY, {"name": "Needed", "drugs": [drug]})
        cs = editor.human_id
    _submit(demo_kb, team.cara, cs)
    with pytest.raises(ValidationFailed) as caught, demo_kb.unit_of_work() as s:
        approve_change_set(s, actor=team.rita, change_set_id=cs, returned={drug: "not yet"})
    assert caught.value.problems[0].record == therapy
    with demo_kb.read() as s:  # nothing was written: the change set is whole and submitted
        row = get_change_set(s, cs)
        assert row.status is ChangeSetStatus.SUBMITTED and len(row.changes) == 2
        assert current_version(s) == 1 and list_comments(s, cs) == []
