"""History and audit screens over a real demo KB: a record's history, the diff between two KB
versions, and the audit log with its chain check."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication

from curator.audit_view import AuditModel, AuditPage, load_events
from curator.change_set_view import colours
from curator.history_view import (
    DiffDialog,
    HistoryDialog,
    HistoryModel,
    VersionDiffModel,
    load_history,
    load_version_diff,
    threads_html,
)
from curator.main_window import MainWindow
from curator.review_view import ReviewHooks
from kb.review.audit import ChainReport
from kb.review.changes import approve_change_set, open_draft
from kb.review.comments import add_comment
from kb.review.users import Actor
from kb.storage.db import Kb
from tests import test_gui_review as review
from tests.test_gui_review import stage

# The review tests' fixtures: the demo KB with two curators and two reviewers, and windows on it.
settings = review.settings
demo = review.demo
people = review.people
make_window = review.make_window


def merged(kb: Kb, people: dict[str, Actor]) -> str:
    """Version 2: cora's change set (TH-00001 10 → 16, AS-00001 level 1 → 2, AS-00055 deleted,
    a new drug), approved by rex."""
    name = stage(kb, people["cora"])
    with kb.unit_of_work() as session:
        approve_change_set(session, actor=people["rex"], change_set_id=name)
    return name


def table(model: HistoryModel | VersionDiffModel | AuditModel) -> list[tuple[str, ...]]:
    return [
        tuple(str(model.index(r, c).data()) for c in range(model.columnCount()))
        for r in range(model.rowCount())
    ]


# --- record history -----------------------------------------------------------------------------


def test_history_shows_who_changed_what_and_when(qtbot, make_window, people, demo) -> None:
    name = merged(demo, people)
    window: MainWindow = make_window(people["cora"], view="threshold")
    hooks = window.installed(ReviewHooks)
    assert not hooks.act_history.isEnabled()  # no record shown yet
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate("TH-00001")
    assert hooks.act_history.isEnabled()
    assert hooks.history_button.isVisible()
    hooks.act_history.trigger()
    dialog = window.findChild(HistoryDialog)
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=10_000)
    rows = table(dialog.model)
    # Newest first: the edit, then the record's creation in the demo.
    assert rows[0][0] == "v2" and rows[0][2:] == (
        "rex",
        name,
        "changed",
        "Value",
        "10",
        "16",
    )
    assert {row[0] for row in rows[1:]} == {"v1"}
    assert ("created", "Metric", "—", "TMB") in {(r[4], r[5], r[6], r[7]) for r in rows}
    assert "TH-00001" in dialog.heading.text() and "2 versions" in dialog.heading.text()
    # A change set named in the history opens on the review page.
    page = window.installed(ReviewHooks).review
    with qtbot.waitSignal(page.view.loaded, timeout=10_000):
        dialog.table.doubleClicked.emit(dialog.model.index(0, 3))
    assert window.current_key == "change_sets"
    assert page.view.key == name
    dialog.close()


def test_history_shows_deletions_and_references_by_title(people, demo) -> None:
    merged(demo, people)
    with demo.read() as session:
        gone = load_history(session, "as-00055")
        edited = load_history(session, "AS-00001")
    assert gone.rows[0].op == "delete"
    assert {(r.field, r.new) for r in gone.rows if r.version == 2} >= {("therapy", "—")}
    therapy = next(r for r in gone.rows if r.version == 2 and r.field == "therapy")
    assert therapy.old == "TX-00031 — Imatinib"
    assert [(r.field, r.old, r.new) for r in edited.rows if r.version == 2] == [
        ("evidence_level", "1", "2")
    ]


def test_history_shows_the_review_comments_beside_the_versions(
    qtbot, make_window, people, demo
) -> None:
    cora, rex = people["cora"], people["rex"]
    name = stage(demo, cora)
    with demo.unit_of_work() as session:
        add_comment(
            session, actor=cora, change_set_id=name, record="TH-00001", body="The label says 16"
        )
        add_comment(session, actor=rex, change_set_id=name, body="Cut-offs <from> the labels")
        add_comment(session, actor=rex, change_set_id=name, record="AS-00001", body="Not TMB")
        approve_change_set(session, actor=rex, change_set_id=name, reason="Matches the label")
    with demo.unit_of_work() as session:
        editor = open_draft(session, actor=cora, title="again")
        editor.update("TH-00001", {"value": "12"})
        draft = editor.human_id
    with demo.unit_of_work() as session:
        add_comment(session, actor=cora, change_set_id=draft, record="TH-00001", body="Or 12?")
    window: MainWindow = make_window(cora, view="threshold")
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        window.navigate("TH-00001")
    window.installed(ReviewHooks).act_history.trigger()
    dialog = window.findChild(HistoryDialog)
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=10_000)
    assert dialog.heading.text().endswith("; 4 comments")
    assert dialog.comments.isVisible()
    text = dialog.comments.toPlainText()
    # The draft's thread first (it is in no version yet), then version 2's, oldest first: who,
    # on what, when, and what they said; a comment on another record's change is not here.
    assert text.index(f"draft, in no version · {draft}") < text.index(f"v2 · {name}")
    said = [line for line in text.splitlines() if line.strip()]
    at = said.index(f"v2 · {name}")
    assert said[at + 1].startswith("cora on TH-00001 20")
    assert said[at + 2] == "The label says 16"
    assert said[at + 3].startswith("rex 20") and said[at + 4] == "Cut-offs <from> the labels"
    assert said[at + 5].startswith("rex (approved) 20") and said[at + 6] == "Matches the label"
    assert "Not TMB" not in text
    assert dialog.data is not None and len(dialog.data.threads) == 2
    # Selecting a version keeps its comments in view; a change set's link opens it for review.
    dialog.table.selectRow(0)
    page = window.installed(ReviewHooks).review
    with qtbot.waitSignal(page.view.loaded, timeout=10_000):
        dialog.comments.anchorClicked.emit(QUrl(f"cs:{name}"))
    assert window.current_key == "change_sets" and page.view.key == name
    dialog.close()


def test_a_record_nobody_commented_on_says_so(people, demo) -> None:
    merged(demo, people)
    with demo.read() as session:
        data = load_history(session, "TH-00001")
    assert data.threads == () and data.comment_count == 0
    assert "No review comments on changes to TH-00001" in threads_html(data, colours(False))


# --- comparing versions -------------------------------------------------------------------------


def test_diff_viewer_shows_what_changed_between_versions_1_and_2(
    qtbot, make_window, people, demo
) -> None:
    merged(demo, people)
    window = make_window(people["cora"])
    dialog = DiffDialog(window.kb, window.workers, window)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.compared, timeout=10_000):
        dialog.show()  # it compares the newest two versions at once
    assert (dialog.old.currentData(), dialog.new.currentData()) == (1, 2)
    rows = table(dialog.model)
    assert ("threshold", "changed", "TH-00001 — TMB >= 16 mut/Mb", "Value", "10", "16") in rows
    assert any(
        r[:2] == ("assertion", "removed") and r[2].startswith("AS-00055 — KIT") for r in rows
    )
    assert ("drug", "added", "DR-00069 — Testinib", "", "", "") in rows
    summary = dialog.summary.text()
    assert summary.startswith("v1 → v2:")
    assert "thresholds: 1 changed" in summary and "drugs: 1 added" in summary
    # Only one type, then the other way round.
    dialog.type_filter.setCurrentIndex(dialog.type_filter.findData("threshold"))
    assert [r[0] for r in table(dialog.model)] == ["threshold"]
    dialog.set_versions(2, 1)
    with qtbot.waitSignal(dialog.compared, timeout=10_000):
        dialog.compare_button.click()
    assert table(dialog.model) == [
        ("threshold", "changed", "TH-00001 — TMB >= 16 mut/Mb", "Value", "16", "10")
    ]
    # The Review menu opens it too.
    window.installed(ReviewHooks).act_diff.trigger()
    assert any(
        isinstance(w, DiffDialog) and w is not dialog for w in QApplication.topLevelWidgets()
    )


def test_identical_versions_have_no_differences(people, demo) -> None:
    with demo.read() as session:
        same = load_version_diff(session, 1, 1)
    assert same.rows == () and same.summary() == "No differences"


# --- the audit log ------------------------------------------------------------------------------


def test_audit_page_lists_events_and_verifies_the_chain(qtbot, make_window, people, demo) -> None:
    name = merged(demo, people)
    window = make_window(people["cora"])
    page = window.installed(AuditPage)
    assert window.navigator.items["audit"].flags() & Qt.ItemFlag.ItemIsEnabled
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window.show_view("audit")
    rows = table(page.model)
    assert rows[0][2:5] == ("rex", "change_set.approve", name)  # newest first
    assert [int(r[0]) for r in rows] == sorted((int(r[0]) for r in rows), reverse=True)
    with qtbot.waitSignal(page.verified, timeout=10_000) as verified:
        page.verify_button.click()
    report = verified.args[0]
    assert isinstance(report, ChainReport) and report.ok
    assert page.report.text() == f"✔ Audit chain intact: {report.events:,} events verified."
    # A broken chain names the first bad event and why.
    page._verified(ChainReport(False, 9, 7, "its content was modified after writing"))
    assert page.report.text() == (
        "✘ Audit chain broken at event 7: its content was modified after writing"
    )


def test_audit_filters_and_paging(qtbot, make_window, people, demo) -> None:
    name = merged(demo, people)
    window = make_window(people["cora"])
    page: AuditPage = window.installed(AuditPage)
    page.page_size = 5
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        window.show_view("audit")
    assert page.model.rowCount() == 5 and page.more_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.more_button.click()
    assert page.model.rowCount() == 10
    seqs = [event.seq for event in page.model.events]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 10
    # By subject: everything that happened to the change set.
    page.subject.setText(name)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.subject.returnPressed.emit()
    actions = [event.action for event in page.model.events]
    assert actions[0] == "change_set.approve" and actions[-1] == "change_set.create"
    assert {event.subject for event in page.model.events} == {name}
    # By action family, across subjects.
    page.subject.blockSignals(True)
    page.subject.clear()
    page.subject.blockSignals(False)
    page.page_size = 200
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.set_action("record.*")
    assert {event.action for event in page.model.events} == {
        "record.create",
        "record.update",
        "record.delete",
    }
    assert page.action.currentText() == "record (all)"
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.set_action("record.update")
    assert sorted(event.subject or "" for event in page.model.events) == ["AS-00001", "TH-00001"]


def test_load_events_pages_without_gaps(people, demo) -> None:
    merged(demo, people)
    with demo.read() as session:
        first = load_events(session, limit=4)
        second = load_events(session, before=first.events[-1].seq, limit=4)
        everything = load_events(session, limit=1000)
    assert first.more and not everything.more
    assert [e.seq for e in first.events + second.events] == [e.seq for e in everything.events[:8]]
    assert "change_set.approve" in everything.actions


# --- models -------------------------------------------------------------------------------------


def test_history_and_audit_models_keep_the_qt_contract(qtmodeltester, people, demo) -> None:
    merged(demo, people)
    with demo.read() as session:
        history = load_history(session, "TH-00001")
        diff = load_version_diff(session, 1, 2)
        events = load_events(session)
    model = HistoryModel()
    model.set_rows(history.rows)
    qtmodeltester.check(model)
    versions = VersionDiffModel()
    versions.set_rows(diff.rows)
    qtmodeltester.check(versions)
    audit = AuditModel()
    audit.set_events(events.events[:3])
    audit.append_events(events.events[3:])
    assert audit.rowCount() == len(events.events)
    qtmodeltester.check(audit)
