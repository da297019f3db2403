"""Applying an import: one draft change set, in one transaction, or nothing at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_import_support import fingerprint, write_template_rows

from kb.errors import KbError
from kb.importing.engine import apply, kb_records, preview, sha256_of
from kb.importing.progress import Cancelled, CancelToken
from kb.importing.template import export_template, template_adapter
from kb.model.enums import ChangeOp, ChangeSetStatus, RecordType, Role
from kb.model.orm import AuditEvent
from kb.model.records import Ids, get_record, load_objects, record_fields
from kb.review.changes import (
    ValidationFailed,
    approve_change_set,
    get_change_set,
    open_draft,
    rebase_change_set,
    submit_change_set,
)
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

BM = RecordType.BIOMARKER


@dataclass
class Team:
    kb: Kb
    curator: Actor
    reviewer: Actor


def _team(kb: Kb) -> Team:
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        curator = add_user(
            session, actor=admin, name="cur", role=Role.CURATOR, password="pw-cur-12345"
        )
        reviewer = add_user(
            session, actor=admin, name="rev", role=Role.REVIEWER, password="pw-rev-12345"
        )
    return Team(kb, curator, reviewer)


@pytest.fixture
def team(demo_kb: Kb) -> Team:
    """The demo KB, on each backend, with a curator and a reviewer."""
    return _team(demo_kb)


@pytest.fixture
def sqlite_team(demo_url: str) -> Iterator[Team]:
    kb = open_kb(demo_url)
    yield _team(kb)
    kb.close()


NEW_ROWS = {
    BM: [
        ("k601e", {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "p.K601E"}),
        (None, {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "p.L597V"}),
    ],
    RecordType.EXPRESSION: [
        (None, {"tree": {"op": "OR", "args": [{"biomarker": "k601e"}, {"biomarker": "BM-00001"}]}})
    ],
}


def _import(team: Team, path: Path, *, skip_invalid: bool = False) -> str | None:
    with team.kb.unit_of_work() as session:
        result = preview(template_adapter(path), session, source=path.name)
        return apply(
            result,
            session,
            actor=team.curator,
            skip_invalid=skip_invalid,
            source_name=path.name,
            source_sha256=sha256_of(path),
        )


def test_apply_stages_one_change_set(team: Team, tmp_path: Path) -> None:
    path = write_template_rows(tmp_path / "new.xlsx", NEW_ROWS)
    before = fingerprint(team.kb)
    change_set_id = _import(team, path)
    assert change_set_id is not None
    with team.kb.read() as session:
        change_set = get_change_set(session, change_set_id)
        events = session.query(AuditEvent).count()
    assert change_set.status is ChangeSetStatus.DRAFT
    assert change_set.source_name == "new.xlsx"
    assert change_set.source_sha256 == sha256_of(path)
    assert [c.op for c in change_set.changes] == [ChangeOp.CREATE] * 3
    created = {c.record_type: c for c in change_set.changes}
    tree = created[RecordType.EXPRESSION].fields["tree"]
    new_biomarkers = [c.human_id for c in change_set.changes if c.record_type is BM]
    assert tree["args"][0]["biomarker"] in new_biomarkers  # the name resolved to the new id
    # Staged, not merged: the KB's content is unchanged.
    assert fingerprint(team.kb)[0] == before[0]
    assert events > before[3]


def test_reimport_after_merge_changes_nothing(team: Team, tmp_path: Path) -> None:
    path = write_template_rows(tmp_path / "new.xlsx", NEW_ROWS)
    change_set_id = _import(team, path)
    assert change_set_id is not None
    with team.kb.unit_of_work() as session:
        submit_change_set(session, actor=team.curator, change_set_id=change_set_id)
        approve_change_set(session, actor=team.reviewer, change_set_id=change_set_id)
    with team.kb.read() as session:
        again = preview(template_adapter(path), session)
    assert (again.new, again.changed, again.unchanged, again.invalid) == (0, 0, 3, 0)
    before = fingerprint(team.kb)
    assert _import(team, path) is None  # nothing to stage: no empty change set either
    assert fingerprint(team.kb) == before


def test_export_import_round_trip_is_a_no_op(team: Team, tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    with team.kb.read() as session:
        counts = export_template(session, path)
        result = preview(template_adapter(path), session)
    assert len(result.rows) == sum(counts.values()) > 300
    assert (result.new, result.changed, result.invalid) == (0, 0, 0), result.errors[:5]
    assert result.unchanged == len(result.rows)


def test_edit_in_exported_file_becomes_an_update(team: Team, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "kb.xlsx"
    with team.kb.read() as session:
        export_template(session, path, types=[RecordType.GENE])
        old = get_record(session, "GN-00001").fields["name"]
    book = openpyxl.load_workbook(path)
    sheet = book["Genes"]
    assert sheet["A2"].value == "GN-00001"
    sheet["D2"] = "A better name"
    book.save(path)
    change_set_id = _import(team, path)
    assert change_set_id is not None
    with team.kb.read() as session:
        changes = get_change_set(session, change_set_id).changes
    assert len(changes) == 1
    assert changes[0].op is ChangeOp.UPDATE
    assert changes[0].fields == {"name": "A better name"}
    assert changes[0].before == {"name": old}


def test_invalid_rows_refuse_apply_unless_skipped(team: Team, tmp_path: Path) -> None:
    rows = {BM: [*NEW_ROWS[BM], (None, {"kind": "banana", "gene": "BRAF"})]}
    path = write_template_rows(tmp_path / "mixed.xlsx", rows)
    before = fingerprint(team.kb)
    with pytest.raises(KbError, match="1 of 3 rows are invalid"):
        _import(team, path)
    assert fingerprint(team.kb) == before
    change_set_id = _import(team, path, skip_invalid=True)
    assert change_set_id is not None
    with team.kb.read() as session:
        change_set = get_change_set(session, change_set_id)
    assert len(change_set.changes) == 2
    (skipped,) = change_set.skipped
    assert skipped["location"]["row"] == 4
    assert skipped["errors"][0]["code"] == "invalid_value"
    assert skipped["errors"][0]["column"] == "B"


def test_stale_preview_is_refused(team: Team, tmp_path: Path) -> None:
    path = write_template_rows(tmp_path / "new.xlsx", NEW_ROWS)
    with team.kb.read() as session:
        result = preview(template_adapter(path), session)
    merged = _import(team, path)
    assert merged is not None
    with team.kb.unit_of_work() as session:
        submit_change_set(session, actor=team.curator, change_set_id=merged)
        approve_change_set(session, actor=team.reviewer, change_set_id=merged)
    with pytest.raises(KbError, match="changed since the preview"), team.kb.unit_of_work() as s:
        apply(result, s, actor=team.curator)


def test_cancel_during_apply_leaves_nothing(sqlite_team: Team, tmp_path: Path) -> None:
    rows = {BM: [(None, _variant(i)) for i in range(5_000)]}
    path = write_template_rows(tmp_path / "many.xlsx", rows)
    before = fingerprint(sqlite_team.kb)
    token = CancelToken()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 2_000:
            token.cancel()

    with pytest.raises(Cancelled), sqlite_team.kb.unit_of_work() as session:
        result = preview(template_adapter(path), session)
        apply(result, session, actor=sqlite_team.curator, progress=progress, cancel=token)
    assert seen and seen[0][1] == 5_000
    assert fingerprint(sqlite_team.kb) == before


_AMINO = "ACDEFGHIKLMNPQRSTVWY"


def _variant(index: int) -> dict[str, object]:
    """A distinct, valid BRAF missense change per index."""
    position = 1 + index // 19
    ref = _AMINO[position % 20]
    alt = [a for a in _AMINO if a != ref][index % 19]
    return {"kind": "sequence_variant", "gene": "BRAF", "protein_change": f"p.{ref}{position}{alt}"}


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kb.storage.db import open_kb
    from kb.importing.engine import apply, preview, sha256_of
    from kb.importing.template import template_adapter
    from kb.review.users import authenticate

    url, file = sys.argv[1], Path(sys.argv[2])
    kb = open_kb(url)
    with kb.unit_of_work() as session:
        actor = authenticate(session, name="cur", password="pw-cur-12345")
        result = preview(template_adapter(file), session)

        def progress(done, total):
            session.flush()  # the database file really holds part of the import now
            print(f"STAGED {done} {total}", flush=True)

        apply(result, session, actor=actor, source_name=file.name,
              source_sha256=sha256_of(file), progress=progress)
        print("APPLIED", flush=True)
        input()  # never returns: the parent kills us before the commit
    """
)


def test_killed_import_leaves_the_kb_as_before(sqlite_team: Team, tmp_path: Path) -> None:
    rows = {BM: [(None, _variant(i)) for i in range(12_000)]}
    path = write_template_rows(tmp_path / "large.xlsx", rows)
    before = fingerprint(sqlite_team.kb)
    sqlite_team.kb.close()
    script = tmp_path / "run_import.py"
    script.write_text(_KILL_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), sqlite_team.kb.url, str(path)],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        assert line.startswith("STAGED"), line
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    reopened = open_kb(sqlite_team.kb.url)
    try:
        assert fingerprint(reopened) == before
    finally:
        reopened.close()


def test_import_file_service(team: Team, tmp_path: Path) -> None:
    from kb.importing.service import import_file

    path = write_template_rows(tmp_path / "new.xlsx", NEW_ROWS)
    with team.kb.unit_of_work() as session:
        dry = import_file(session, path, profile="template")
        assert dry.change_set_id is None and dry.preview.new == 3
        assert dry.sha256 == sha256_of(path)
        done = import_file(session, path, actor=team.curator, dry_run=False)
        assert done.change_set_id is not None
    with team.kb.read() as session:
        assert get_change_set(session, done.change_set_id).source_sha256 == dry.sha256


def test_the_kb_as_the_import_sees_it_is_the_kb_as_stored(team: Team) -> None:
    # The engine reads existing records from their newest revisions (fast, plain JSON); they
    # must be exactly the records as their tables hold them, for every type, after an edit too.
    with team.kb.unit_of_work() as session:
        draft = open_draft(session, actor=team.curator, title="one edit")
        braf = next(
            h for h, f in kb_records(session, RecordType.GENE).items() if f["symbol"] == "BRAF"
        )
        draft.update(braf, {"name": "B-Raf proto-oncogene (edited)"})
        draft.flush()
        submit_change_set(session, actor=team.curator, change_set_id=draft.change_set_id)
        approve_change_set(session, actor=team.reviewer, change_set_id=draft.change_set_id)
    with team.kb.read() as session:
        ids = Ids(session)
        for rtype in RecordType:
            stored = {
                obj.human_id: record_fields(obj, rtype, ids) for obj in load_objects(session, rtype)
            }
            assert kb_records(session, rtype) == stored, rtype
        assert kb_records(session, RecordType.GENE)[braf]["name"].endswith("(edited)")


def test_rebase_links_a_record_two_imports_both_created(team: Team, tmp_path: Path) -> None:
    """Two imports of overlapping sheets, both drafted on version 1, create the same biomarker
    and expression: once the first merges, the second is rebased onto it (its creations become
    links to the first's records) instead of being blocked as a duplicate."""
    first_file = write_template_rows(tmp_path / "first.xlsx", NEW_ROWS)
    more = {**NEW_ROWS}
    more[RecordType.EXPRESSION] = [
        *NEW_ROWS[RecordType.EXPRESSION],
        (
            None,
            {"tree": {"op": "AND", "args": [{"biomarker": "k601e"}, {"biomarker": "BM-00002"}]}},
        ),
    ]
    second_file = write_template_rows(tmp_path / "second.xlsx", more)
    first, second = _import(team, first_file), _import(team, second_file)
    assert first is not None and second is not None
    with team.kb.unit_of_work() as session:
        submit_change_set(session, actor=team.curator, change_set_id=first)
        approve_change_set(session, actor=team.reviewer, change_set_id=first)
    with team.kb.read() as session:
        merged = {
            (c.record_type, c.human_id): c.fields for c in get_change_set(session, first).changes
        }
        ours = get_change_set(session, second)
    (k601e,) = [hid for (rtype, hid), f in merged.items() if "601" in str(f.get("protein_change"))]
    (their_bx,) = [hid for rtype, hid in merged if rtype is RecordType.EXPRESSION]
    # Before the rebase: the duplicate blocks submission, as measured in issue 18.
    with pytest.raises(ValidationFailed, match="duplicates"), team.kb.unit_of_work() as session:
        submit_change_set(session, actor=team.curator, change_set_id=second)
    with team.kb.unit_of_work() as session:
        result = rebase_change_set(session, actor=team.curator, change_set_id=second)
    our_ids = {c.human_id: c for c in ours.changes}
    assert len(result.linked) == 3 and result.kept == 1 and not result.conflicts
    assert set(result.linked.values()) == {hid for _rtype, hid in merged}
    assert set(result.linked) < set(our_ids)
    with team.kb.read() as session:
        (left,) = get_change_set(session, second).changes
    assert left.op is ChangeOp.CREATE and left.human_id not in result.linked
    # Its reference to our K601E biomarker now names the record the first import created.
    assert {"biomarker": k601e} in left.fields["tree"]["args"]
    assert left.human_id != their_bx
    with team.kb.unit_of_work() as session:
        submit_change_set(session, actor=team.curator, change_set_id=second)
        merge = approve_change_set(session, actor=team.reviewer, change_set_id=second)
    assert (merge.created, merge.updated) == (1, 0)
    with team.kb.read() as session:
        assert get_record(session, left.human_id).fields["tree"] == left.fields["tree"]
