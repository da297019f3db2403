"""Undo logic without Qt: each edit stages into the draft and returns its inverse (commands.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from curator.commands import (
    Batch,
    Create,
    Delete,
    Discard,
    IdMap,
    Update,
    describe,
    execute,
    supports_discard,
)
from kb.errors import KbError
from kb.model.enums import ChangeOp, RecordType, Role
from kb.review.changes import current_draft
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin


@pytest.fixture
def demo(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def curator(demo: Kb) -> Actor:
    with demo.unit_of_work() as session:
        admin = demo_admin(session)
        return add_user(session, actor=admin, name="cora", role=Role.CURATOR, password="password1")


def run(kb: Kb, actor: Actor, edit, ids: IdMap):  # type: ignore[no-untyped-def]
    with kb.unit_of_work() as session:
        return execute(session, actor=actor, edit=edit, ids=ids)


def staged(kb: Kb, actor: Actor) -> dict[str, tuple[ChangeOp, dict]]:
    with kb.read() as session:
        draft = current_draft(session, actor)
    return {c.human_id: (c.op, dict(c.fields)) for c in draft.changes} if draft else {}


def test_update_then_undo_restores_the_values_seen_before(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    first = run(demo, curator, Update("TH-00001", {"value": "12"}), ids)
    assert first.inverse == Update("TH-00001", {"value": "10"})
    assert first.change_set.startswith("CS-") and first.touched == ("TH-00001",)
    second = run(demo, curator, Update("TH-00001", {"value": "16"}), ids)
    # A→B then B→C: undoing the second goes back to B, not to the main line.
    assert second.inverse == Update("TH-00001", {"value": "12"})
    run(demo, curator, second.inverse, ids)
    assert staged(demo, curator)["TH-00001"] == (ChangeOp.UPDATE, {"value": "12"})
    run(demo, curator, first.inverse, ids)
    # Back to the main line's value: kb drops the change altogether.
    assert "TH-00001" not in staged(demo, curator)


def test_create_undo_redo_follows_the_new_id(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    created = run(demo, curator, Create(RecordType.DRUG, {"name": "testinib"}), ids)
    first_id = created.human_id
    assert first_id and first_id.startswith("DR-")
    assert created.inverse == Delete(first_id)
    edited = run(demo, curator, Update(first_id, {"ncit_code": "C1"}), ids)
    assert edited.inverse == Update(first_id, {"ncit_code": None})
    # Undo both, then redo both: the record comes back under a new id, and the later edit
    # (which names the first id) follows it there.
    run(demo, curator, edited.inverse, ids)
    undone = run(demo, curator, created.inverse, ids)
    assert first_id not in staged(demo, curator)
    assert undone.inverse == Create(RecordType.DRUG, undone.inverse.fields, handle=first_id)
    again = run(demo, curator, Create(RecordType.DRUG, {"name": "testinib"}, handle=first_id), ids)
    assert again.human_id != first_id and ids.resolve(first_id) == again.human_id
    run(demo, curator, Update(first_id, {"ncit_code": "C1"}), ids)
    op, fields = staged(demo, curator)[str(again.human_id)]
    assert op is ChangeOp.CREATE and fields["ncit_code"] == "C1"


def test_deleting_a_staged_record_is_undone_by_creating_it_again(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    created = run(demo, curator, Create(RecordType.DRUG, {"name": "undotinib"}), ids)
    deleted = run(demo, curator, Delete(str(created.human_id)), ids)
    assert isinstance(deleted.inverse, Create)
    assert deleted.inverse.fields["name"] == "undotinib"
    back = run(demo, curator, deleted.inverse, ids)
    assert staged(demo, curator)[str(back.human_id)][0] is ChangeOp.CREATE


def test_deleting_a_main_line_record(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    outcome = run(demo, curator, Delete("CT-00038"), ids)
    assert staged(demo, curator)["CT-00038"][0] is ChangeOp.DELETE
    if supports_discard():
        assert outcome.inverse == Discard("CT-00038")
        run(demo, curator, outcome.inverse, ids)
        assert staged(demo, curator) == {}
    else:
        # kb has no way yet to drop a staged deletion: the UI clears its history instead.
        assert outcome.inverse is None
        with pytest.raises(KbError):
            run(demo, curator, Discard("CT-00038"), ids)


def test_deleting_a_record_changed_in_the_draft(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    run(demo, curator, Update("CT-00038", {"title": "changed first"}), ids)
    outcome = run(demo, curator, Delete("CT-00038"), ids)
    assert staged(demo, curator)["CT-00038"][0] is ChangeOp.DELETE
    if supports_discard():
        assert outcome.inverse == Batch(
            (Discard("CT-00038"), Update("CT-00038", {"title": "changed first"}))
        )


def test_a_refused_edit_changes_nothing(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    with pytest.raises(KbError, match="value"):
        run(demo, curator, Update("TH-00001", {"operator": "about"}), ids)
    assert staged(demo, curator) == {}


def test_batch_inverse_runs_backwards(demo: Kb, curator: Actor) -> None:
    ids = IdMap()
    batch = Batch((Update("TH-00001", {"value": "11"}), Update("DR-00001", {"ncit_code": "C999"})))
    outcome = run(demo, curator, batch, ids)
    assert isinstance(outcome.inverse, Batch)
    assert [type(e) for e in outcome.inverse.edits] == [Update, Update]
    assert outcome.inverse.edits[0].handle == "DR-00001"
    run(demo, curator, outcome.inverse, ids)
    assert staged(demo, curator) == {}
    assert describe(batch) == "Edit TH-00001 (value); Edit DR-00001 (ncit_code)"
