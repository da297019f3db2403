"""Editing at scale in kb: one field set on many records in one transaction, and clones."""

from __future__ import annotations

import pytest

from kb.errors import KbError, NotFoundError
from kb.model.enums import ChangeOp, RecordType, Role
from kb.model.records import FieldError, get_record, marked_keys
from kb.review.bulk import clone_record, set_field, set_fields
from kb.review.changes import current_draft, open_draft, validate_change_set
from kb.review.users import Actor, PermissionDenied, add_user
from kb.storage.db import Kb
from tests.conftest import demo_admin

TWENTY = [f"AS-{n:05d}" for n in range(1, 21)]


@pytest.fixture
def people(demo_kb: Kb) -> dict[str, Actor]:
    with demo_kb.unit_of_work() as session:
        admin = demo_admin(session)
        return {
            name: add_user(session, actor=admin, name=name, role=role, password="password1")
            for name, role in (("cora", Role.CURATOR), ("rm", Role.RELEASE_MANAGER))
        }


def staged(kb: Kb, actor: Actor) -> dict[str, tuple[ChangeOp, dict]]:
    with kb.read() as session:
        draft = current_draft(session, actor)
    return {c.human_id: (c.op, dict(c.fields)) for c in draft.changes} if draft else {}


def test_set_a_level_on_twenty_assertions_in_one_step(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    with demo_kb.read() as session:
        seen = {h: get_record(session, h).fields["evidence_level"] for h in TWENTY}
    with demo_kb.unit_of_work() as session:
        result = set_field(
            session, actor=cora, human_ids=TWENTY, field="evidence_level", value="3B"
        )
    assert result.change_set.startswith("CS-")
    # What each record had before, so the app can put every one back as it was.
    assert result.before == {h: {"evidence_level": seen[h]} for h in TWENTY}
    draft = staged(demo_kb, cora)
    changed = [h for h in TWENTY if seen[h] != "3B"]
    assert changed and sorted(draft) == changed
    assert all(draft[h] == (ChangeOp.UPDATE, {"evidence_level": "3B"}) for h in changed)
    # Putting the old values back is one more bulk edit, and leaves the draft empty.
    with demo_kb.unit_of_work() as session:
        set_fields(session, actor=cora, edits=result.before)
    assert staged(demo_kb, cora) == {}


def test_a_record_that_has_the_value_already_is_named_unchanged(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    first = TWENTY[0]
    with demo_kb.read() as session:
        levels = {first: get_record(session, first).fields["evidence_level"]}
        for number in range(2, 200):  # the first assertion at another level
            other = f"AS-{number:05d}"
            levels[other] = get_record(session, other).fields["evidence_level"]
            if levels[other] != levels[first]:
                break
    with demo_kb.unit_of_work() as session:
        result = set_field(
            session,
            actor=cora,
            human_ids=[first, other],
            field="evidence_level",
            value=levels[first],
        )
    # Only the record that changes is staged, and the report says which one did not.
    assert result.unchanged == (first,)
    assert sorted(staged(demo_kb, cora)) == [other]


def test_one_refused_record_leaves_every_record_unchanged(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    with demo_kb.unit_of_work() as session:
        set_field(session, actor=cora, human_ids=["AS-00001"], field="evidence_level", value="2")
    before = staged(demo_kb, cora)
    with pytest.raises(NotFoundError, match="AS-99999"), demo_kb.unit_of_work() as session:
        set_field(
            session, actor=cora, human_ids=[*TWENTY, "AS-99999"], field="evidence_level", value="4"
        )
    with (
        pytest.raises(FieldError, match="evidence_level") as caught,
        demo_kb.unit_of_work() as session,
    ):
        set_field(session, actor=cora, human_ids=TWENTY, field="evidence_level", value="9Z")
    assert caught.value.field == "evidence_level" and "AS-00001" in str(caught.value)
    with pytest.raises(KbError, match="no records named"), demo_kb.unit_of_work() as session:
        set_field(session, actor=cora, human_ids=[], field="evidence_level", value="4")
    assert staged(demo_kb, cora) == before


def test_a_release_manager_may_not_edit_in_bulk(demo_kb: Kb, people) -> None:
    with pytest.raises(PermissionDenied), demo_kb.unit_of_work() as session:
        set_field(session, actor=people["rm"], human_ids=TWENTY, field="evidence_level", value="4")
    assert staged(demo_kb, people["rm"]) == {}


def test_a_record_deleted_in_the_draft_cannot_be_set(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    with demo_kb.unit_of_work() as session:
        editor = open_draft(session, actor=cora)
        editor.delete("AS-00003")
        editor.flush()
    with pytest.raises(KbError, match="AS-00003 is deleted"), demo_kb.unit_of_work() as session:
        set_field(session, actor=cora, human_ids=TWENTY, field="evidence_level", value="4")
    assert list(staged(demo_kb, cora)) == ["AS-00003"]


def test_clone_copies_the_record_as_the_draft_sees_it(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    with demo_kb.unit_of_work() as session:
        set_field(session, actor=cora, human_ids=["AS-00002"], field="evidence_level", value="4")
    with demo_kb.unit_of_work() as session:
        new_id, change_set = clone_record(session, actor=cora, human_id="as-00002")
    with demo_kb.read() as session:
        source = get_record(session, "AS-00002").fields
    assert new_id.startswith("AS-") and new_id != "AS-00002"
    op, fields = staged(demo_kb, cora)[new_id]
    assert op is ChangeOp.CREATE and change_set.startswith("CS-")
    # The draft's staged level, not the main line's.
    assert fields["evidence_level"] == "4"
    for name in ("expression", "therapy", "tumour_types", "line_of_therapy", "implication"):
        assert fields[name] == source[name]


def test_a_clone_of_a_record_with_a_unique_key_must_be_given_its_own(demo_kb: Kb, people) -> None:
    """A gene's symbol and HGNC id, a trial arm's code: the copy's are marked as a copy's, and
    validation names each one until it is replaced."""
    cora = people["cora"]
    with demo_kb.unit_of_work() as session:
        gene, change_set = clone_record(session, actor=cora, human_id="GN-00001")
        arm, _ = clone_record(session, actor=cora, human_id="TA-00001")
    op, fields = staged(demo_kb, cora)[gene]
    assert op is ChangeOp.CREATE
    assert (fields["symbol"], fields["hgnc_id"]) == ("EGFR (copy)", "HGNC:3236 (copy)")
    assert fields["aliases"] == ["ERBB1", "HER1"] and fields["role"] == "oncogene"
    assert marked_keys(RecordType.GENE, fields) == ["symbol", "hgnc_id"]
    _, arm_fields = staged(demo_kb, cora)[arm]
    # The arm stays in its trial; only its code, unique within the trial, is marked.
    assert (arm_fields["trial"], arm_fields["code"]) == ("TR-00001", "H (copy)")
    with demo_kb.read() as session:
        problems = validate_change_set(session, change_set)
    flagged = {(p.record, p.field) for p in problems if p.code == "clone_key"}
    assert flagged == {(gene, "symbol"), (gene, "hgnc_id"), (arm, "code")}
    # Given keys of their own, the copies validate.
    with demo_kb.unit_of_work() as session:
        set_fields(
            session,
            actor=cora,
            edits={gene: {"symbol": "ERBB4", "hgnc_id": "HGNC:3432"}, arm: {"code": "H2"}},
        )
    with demo_kb.read() as session:
        problems = validate_change_set(session, change_set)
    assert not [p for p in problems if p.severity == "error" and p.record in (gene, arm)]


def test_a_record_whose_key_is_a_reference_is_not_cloned(demo_kb: Kb, people) -> None:
    cora = people["cora"]
    for human_id, shared in (
        ("EM-00001", "their gene"),
        ("OG-00001", "their biomarker"),
        ("LX-00001", "their source_scheme, target_scheme and implication"),
    ):
        with pytest.raises(KbError) as caught, demo_kb.unit_of_work() as session:
            clone_record(session, actor=cora, human_id=human_id)
        message = str(caught.value)
        assert message.startswith(f"{human_id} cannot be cloned: ") and shared in message
        assert "create a new" in message
    assert staged(demo_kb, cora) == {}
