"""The review screens over a real demo KB: the queue, a change set side by side, four-eyes in
the buttons, approve / reject / conflicts / validation problems, and the effects on the saved
test patients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from curator.change_set_view import (
    HUMAN_ID_ROLE,
    KIND_ROLE,
    ApproveDialog,
    ChangeSetDetail,
    ChangeSetDiffModel,
    ChangeSetView,
    EffectsModel,
    PlainTableModel,
    RejectDialog,
    diff_rows,
    load_change_set_detail,
    word_diff_html,
)
from curator.main_window import MainWindow
from curator.review_view import ChangeSetListModel, ReviewHooks, ReviewPage, load_queue
from curator.settings import Settings
from kb.model.enums import ChangeSetStatus, RecordType, Role
from kb.review.changes import (
    approve_change_set,
    current_draft,
    get_change_set,
    open_draft,
    submit_change_set,
)
from kb.review.comments import list_comments
from kb.review.effects import load_patients, match_effects
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

PASSWORD = "password1"
PATIENTS = Path(__file__).resolve().parent.parent / "resources" / "patients"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def demo(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def people(demo: Kb) -> dict[str, Actor]:
    """Two curators and two reviewers, so that one reviewer can author and another approve."""
    with demo.unit_of_work() as session:
        admin = demo_admin(session)
        out = {"admin": admin}
        for name, role in (
            ("cora", Role.CURATOR),
            ("carl", Role.CURATOR),
            ("rex", Role.REVIEWER),
            ("rita", Role.REVIEWER),
        ):
            out[name] = add_user(session, actor=admin, name=name, role=role, password=PASSWORD)
    return out


@pytest.fixture
def make_window(qtbot, demo_url: str, settings: Settings) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(actor: Actor | None, view: str = "assertion") -> MainWindow:
        window = MainWindow(open_kb(demo_url), actor, settings=settings, start_view=view)
        qtbot.addWidget(
            window,
            before_close_func=lambda w: w.record_pane.stack.setCurrentWidget(w.record_pane.view),
        )
        made.append(window)
        with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb=view.__eq__):
            window.show()
        return window

    yield make
    for window in made:
        window.workers.wait()


def stage(kb: Kb, actor: Actor, *, submit: bool = True, title: str = "review test") -> str:
    """The change set the review tests look at: an update of two records, a deletion and a
    new drug; submitted unless told otherwise."""
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=actor, title=title)
        editor.update("TH-00001", {"value": "16"})
        editor.update("AS-00001", {"evidence_level": "2"})
        editor.delete("AS-00055")
        editor.create(RecordType.DRUG, {"name": "Testinib", "ncit_code": "C99999"})
        name = editor.human_id
    if submit:
        with kb.unit_of_work() as session:
            submit_change_set(session, actor=actor, change_set_id=name)
    return name


def edit(kb: Kb, actor: Actor, human_id: str, fields: dict[str, object], title: str = "") -> str:
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=actor, title=title or f"edit {human_id}")
        editor.update(human_id, fields)
        name = editor.human_id
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=actor, change_set_id=name)
    return name


def open_review(qtbot, window: MainWindow, change_set: str | None = None) -> ReviewPage:  # type: ignore[no-untyped-def]
    page = window.installed(ReviewHooks).review
    with qtbot.waitSignal(page.listed, timeout=10_000):
        window.show_view("change_sets")
    if change_set is not None:
        with qtbot.waitSignal(page.view.loaded, timeout=10_000):
            page.table.selectRow(page.model.row_of(change_set))
    return page


def answer_next_dialog(qtbot, act: Callable[[QWidget], None]) -> list[QWidget]:  # type: ignore[no-untyped-def]
    """Act on the next modal dialog once it opens (the code under test blocks in exec())."""
    handled: list[QWidget] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or handled:
            return
        handled.append(dialog)
        timer.stop()
        act(dialog)

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(poll)
    timer.start()
    _KEEP.append((timer, poll))  # the binding keeps neither alive by itself
    return handled


_KEEP: list[object] = []


def rows_of(view: ChangeSetView) -> list[tuple[str, str, str, str]]:
    model = view.model
    return [
        (
            str(model.index(r, 0).data(KIND_ROLE)),
            str(model.index(r, 0).data() or ""),
            str(model.index(r, 1).data() or ""),
            str(model.index(r, 2).data() or ""),
        )
        for r in range(model.rowCount())
    ]


# --- the queue ---------------------------------------------------------------------------------


def test_queue_lists_submitted_change_sets_newest_first(qtbot, make_window, people, demo) -> None:
    first = stage(demo, people["cora"], title="first")
    second = edit(demo, people["carl"], "TH-00002", {"value": "40"}, "second")
    with demo.unit_of_work() as session:
        open_draft(session, actor=people["carl"], title="still a draft").update(
            "TH-00003", {"value": "2"}
        )
    window = make_window(people["rex"])
    item = window.navigator.items["change_sets"]
    assert item.flags() & Qt.ItemFlag.ItemIsEnabled
    page = open_review(qtbot, window)
    assert window.pages.currentWidget() is page
    assert not window.record_pane.isVisible()  # the page takes the record pane's width
    model = page.model
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [second, first]
    row = model.row_of(first)
    assert [model.index(row, c).data() for c in (2, 3, 5, 6)] == [
        "submitted",
        "cora",
        "2 changed, 1 new, 1 deleted",
        "v1",
    ]
    assert page.filter.currentText() == "Waiting for review (2)"
    assert item.text(1) == "2"
    page.filter.setCurrentIndex(1)  # drafts
    assert [model.index(r, 1).data() for r in range(model.rowCount())] == ["still a draft"]
    window.show_view("assertion")
    assert window.record_pane.isVisible()


def test_side_by_side_shows_updates_creations_and_deletions(
    qtbot, make_window, people, demo
) -> None:
    name = stage(demo, people["cora"])
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    rows = rows_of(view)
    assert rows[0] == ("header", "changed   TH-00001 — TMB >= 10 mut/Mb", "", "")
    assert rows[1] == ("changed", "Value", "10", "16")
    header = next(r for r in rows if r[0] == "header" and "AS-00001" in r[1])
    assert header[1].startswith("changed   AS-00001 — EGFR exon 19 in-frame deletion OR EGFR L858R")
    assert "Osimertinib" in header[1]
    assert ("changed", "Evidence level", "1", "2") in rows
    # The deletion shows the record's last fields, struck through, each "deleted".
    start = rows.index(next(r for r in rows if r[0] == "header" and "AS-00055" in r[1]))
    assert rows[start][1].startswith("deleted   AS-00055 — KIT IHC OR KIT oncogenic mutations")
    deleted = [r for r in rows if r[0] == "deleted"]
    assert ("deleted", "Therapy", "TX-00031 — Imatinib", "deleted") in deleted
    row = start + 1 + [r[1] for r in deleted].index("Therapy")
    assert view.model.index(row, 1).data(Qt.ItemDataRole.FontRole).strikeOut()
    # The new drug shows all its fields, in green.
    created = [r for r in rows if r[0] == "created"]
    assert ("created", "Name", "", "Testinib") in created
    assert ("created", "NCIt code", "", "C99999") in created
    assert view.model.headerData(1, Qt.Orientation.Horizontal) == (
        "Before (main line at version 1)"
    )
    assert view.table.columnSpan(0, 0) == 3  # record headers span the row
    assert "based on version 1" in view.heading.text()
    # Unchanged fields of an update, for context.
    view.unchanged.setChecked(True)
    same = [r for r in rows_of(view) if r[0] == "same"]
    assert ("same", "Metric", "TMB", "TMB") in same
    # Double-clicking a record opens it in its table.
    with qtbot.waitSignal(window.record_shown, timeout=10_000):
        view.table.doubleClicked.emit(view.model.index(0, 0))
    assert window.current_key == "threshold"


# --- who may do what ----------------------------------------------------------------------------


def test_approve_is_disabled_for_an_author_and_a_curator_and_says_why(
    qtbot, make_window, people, demo
) -> None:
    name = stage(demo, people["rex"])  # a reviewer authored it
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    approve, reject = view.buttons["approve"], view.buttons["reject"]
    assert not approve.isEnabled() and not reject.isEnabled()
    assert approve.toolTip() == (
        f"you authored changes in {name}: another reviewer must decide it (four-eyes rule)"
    )
    assert view.buttons["withdraw"].isEnabled()  # authors may take it back
    view.request("approve", confirm=False)  # kb would refuse; the view does not even ask
    assert not view.message.isVisible()

    other = make_window(people["cora"])
    view = open_review(qtbot, other, name).view
    assert not view.buttons["approve"].isEnabled()
    assert view.buttons["approve"].toolTip() == ("cora is a curator; only reviewers may approve")
    assert view.buttons["withdraw"].toolTip() == "only rex, its author, can do that"


def test_the_author_withdraws_and_submits_again(qtbot, make_window, people, demo) -> None:
    name = stage(demo, people["cora"])
    window = make_window(people["cora"])
    page = open_review(qtbot, window, name)
    view = page.view
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.buttons["withdraw"].click()
    assert view.detail is not None and view.detail.change_set.status is ChangeSetStatus.DRAFT
    assert view.message.text() == f"{name} withdrawn."
    assert view.buttons["submit"].isEnabled() and not view.buttons["withdraw"].isEnabled()
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.buttons["submit"].click()
    assert view.detail.change_set.status is ChangeSetStatus.SUBMITTED


# --- deciding -----------------------------------------------------------------------------------


def test_a_second_reviewer_approves_and_the_tables_refresh(
    qtbot, make_window, people, demo
) -> None:
    name = stage(demo, people["rex"])
    window = make_window(people["rita"], view="threshold")
    row = window.records.model.row_of("TH-00001")
    assert "TMB >= 10" in str(window.records.model.index(row, 1).data())
    view = open_review(qtbot, window, name).view
    assert view.buttons["approve"].isEnabled()
    assert view.model.headerData(2, Qt.Orientation.Horizontal) == "After (if approved)"
    answer_next_dialog(qtbot, lambda dialog: dialog.ok.click())
    with qtbot.waitSignal(view.merged, timeout=10_000) as merged:
        view.buttons["approve"].click()
    assert merged.args == [2]
    qtbot.waitUntil(lambda: window.status_bar.version_status.text() == "Version 2", timeout=10_000)
    assert "approved and merged as KB version 2" in view.message.text()
    qtbot.waitUntil(
        lambda: view.detail is not None and view.detail.change_set.status.value == "merged",
        timeout=10_000,
    )
    assert "merged as version 2" in view.heading.text()
    assert view.model.headerData(2, Qt.Orientation.Horizontal) == "After (merged in version 2)"
    assert not view.buttons["approve"].isEnabled()
    # Every table is read again: the thresholds show the new value.
    with qtbot.waitSignal(window.table_loaded, timeout=10_000, check_params_cb="threshold".__eq__):
        window.show_view("threshold")
    row = window.records.model.row_of("TH-00001")
    assert "TMB >= 16" in str(window.records.model.index(row, 1).data())
    page = open_review(qtbot, window)
    page.filter.setCurrentIndex(2)  # merged
    assert page.model.index(0, 2).data() == "merged → v2"


def test_reject_needs_a_reason(qtbot, make_window, people, demo) -> None:
    name = stage(demo, people["cora"])
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    seen: dict[str, bool] = {}

    def give_reason(dialog: QWidget) -> None:
        assert isinstance(dialog, RejectDialog)
        seen["disabled_when_empty"] = not dialog.ok.isEnabled()
        dialog.reason.setPlainText("   ")
        seen["disabled_when_blank"] = not dialog.ok.isEnabled()
        dialog.reason.setPlainText("The TMB cut-off follows the label: keep 10.")
        seen["enabled_with_reason"] = dialog.ok.isEnabled()
        dialog.ok.click()

    answer_next_dialog(qtbot, give_reason)
    with qtbot.waitSignal(view.acted, timeout=10_000):
        view.buttons["reject"].click()
    assert seen == dict.fromkeys(
        ("disabled_when_empty", "disabled_when_blank", "enabled_with_reason"), True
    )
    qtbot.waitUntil(
        lambda: view.detail is not None and view.detail.change_set.status.value == "rejected",
        timeout=10_000,
    )
    assert "Reason: The TMB cut-off follows the label: keep 10." in view.heading.text()
    # Cancelling the reason rejects nothing.
    other = stage(demo, people["carl"])
    page = open_review(qtbot, window, other)
    answer_next_dialog(qtbot, lambda dialog: dialog.reject())
    page.view.buttons["reject"].click()
    assert page.view.detail is not None
    assert page.view.detail.change_set.status is ChangeSetStatus.SUBMITTED


def test_a_conflict_shows_base_theirs_ours_and_suggests_a_rebase(
    qtbot, make_window, people, demo
) -> None:
    ours = edit(demo, people["cora"], "TH-00001", {"value": "16"}, "ours")
    theirs = edit(demo, people["carl"], "TH-00001", {"value": "12"}, "theirs")
    with demo.unit_of_work() as session:
        approve_change_set(session, actor=people["rex"], change_set_id=theirs)
    window = make_window(people["rita"])
    view = open_review(qtbot, window, ours).view
    assert "main line now 2" in view.heading.text()
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.request("approve", confirm=False)
    assert view.issues_box.isVisible()
    assert (
        "conflict" in view.issues_box.title() and "nothing was written" in view.issues_box.title()
    )
    issues = view.issues_model
    assert [issues.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == [
        "Record",
        "Field",
        "Base (when drafted)",
        "Theirs (main line now)",
        "Ours (this change set)",
    ]
    assert issues.rows == [("TH-00001 — TMB >= 12 mut/Mb", "value", "10", "12", "16")]
    assert "rebase" in view.issues_hint.text().lower() and "cora" in view.issues_hint.text()
    assert window.status_bar.version_status.text() == "Version 2"

    # The author sees how: withdraw, then Rebase, which drops the conflicting field.
    mine = make_window(people["cora"])
    view = open_review(qtbot, mine, ours).view
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.buttons["withdraw"].click()
    assert view.buttons["rebase"].isEnabled()
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.buttons["rebase"].click()
    assert "rebased from version 1 onto 2" in view.message.text()
    assert view.issues_box.title() == "1 conflicting field(s) were dropped"


def test_validation_problems_are_listed(qtbot, make_window, people, demo) -> None:
    with demo.unit_of_work() as session:
        editor = open_draft(session, actor=people["cora"], title="drop a cited citation")
        editor.delete("CT-00038")
        name = editor.human_id
    window = make_window(people["cora"])
    page = open_review(qtbot, window)
    page.filter.setCurrentIndex(1)
    with qtbot.waitSignal(page.view.loaded, timeout=10_000):
        page.table.selectRow(page.model.row_of(name))
    view = page.view
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.buttons["submit"].click()
    assert view.issues_box.isVisible()
    assert view.issues_box.title() == "2 validation problem(s) — nothing was written"
    records = {row[0].split(" — ")[0]: row for row in view.issues_model.rows}
    assert set(records) == {"AS-00035", "TR-00003"}
    assert records["TR-00003"][1] == "citations"
    assert "refers to a citation that does not exist" in records["TR-00003"][2]
    assert view.detail is not None and view.detail.change_set.status is ChangeSetStatus.DRAFT


# --- effects ------------------------------------------------------------------------------------


def test_effects_on_saved_test_patients(qtbot, make_window, people, demo) -> None:
    with demo.unit_of_work() as session:
        editor = open_draft(session, actor=people["cora"], title="thresholds")
        editor.update("TH-00001", {"value": "16"})  # TMB 12.5 no longer qualifies
        editor.update("TH-00009", {"value": "1.5"})  # HER2 ISH 1.5 now reads as positive
        name = editor.human_id
    with demo.unit_of_work() as session:
        submit_change_set(session, actor=people["cora"], change_set_id=name)
    window = make_window(people["rex"])
    page = window.installed(ReviewHooks).review
    with qtbot.waitSignal(page.listed, timeout=10_000):
        window.show_view("change_sets")
    with qtbot.waitSignal(page.view.effects_loaded, timeout=20_000):
        page.table.selectRow(page.model.row_of(name))
    view = page.view
    model = view.effects_model
    table = {
        model.index(r, 0).data(): tuple(model.index(r, c).data() for c in (1, 2, 3))
        for r in range(model.rowCount())
    }
    assert len(table) == 8
    assert table["Bladder (solid tumour), TMB 12.5"] == (
        "—",
        "AS-00036 Pembrolizumab (level 1)",
        "—",
    )
    gained = table["Breast, HER2 IHC 2+ / ISH 1.5"][0]
    assert "AS-00031 Trastuzumab (level 1)" in gained
    assert table["AML, IDH1 R132H"] == ("—", "—", "—")
    # The patients it touches come first.
    assert {model.index(r, 0).data() for r in (0, 1)} == {
        "Bladder (solid tumour), TMB 12.5",
        "Breast, HER2 IHC 2+ / ISH 1.5",
    }
    assert view.effects_status.text() == "2 of 8 saved test patients would match differently."


# --- models -------------------------------------------------------------------------------------


def test_models_keep_the_qt_contract(qtmodeltester, people, demo) -> None:
    name = stage(demo, people["cora"])
    with demo.read() as session:
        detail: ChangeSetDetail = load_change_set_detail(session, name)
        queue = load_queue(session)
        effects = match_effects(session, name, load_patients(PATIENTS))
    diff = ChangeSetDiffModel()
    diff.set_rows(diff_rows(detail, unchanged=True), detail.change_set.base_version)
    assert diff.index(0, 0).data(HUMAN_ID_ROLE) == "TH-00001"
    qtmodeltester.check(diff)
    listing = ChangeSetListModel()
    listing.set_rows(queue)
    qtmodeltester.check(listing)
    listing.set_statuses(frozenset({ChangeSetStatus.DRAFT}))
    assert listing.rowCount() == 0
    qtmodeltester.check(listing)
    patients = EffectsModel()
    patients.set_effects(effects)
    qtmodeltester.check(patients)
    plain = PlainTableModel(("Record", "Field", "Message"))
    plain.set_rows([("AS-00001", "value", None)])
    assert plain.index(0, 2).data() == "—"
    qtmodeltester.check(plain)


def test_a_huge_change_set_shows_its_first_records(
    qtbot, make_window, people, demo, monkeypatch
) -> None:
    import curator.change_set_view as module

    monkeypatch.setattr(module, "MAX_SHOWN_CHANGES", 1)
    name = stage(demo, people["cora"])
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    assert [r[1] for r in rows_of(view) if r[0] == "header"] == [
        "changed   TH-00001 — TMB >= 10 mut/Mb"
    ]
    assert "Showing the first 1 of 4 changes" in view.heading.text()


# --- review conversations, per-change decisions, long text ------------------------------------

LONG_OLD = (
    "Patients with BRAF V600E mutant metastatic melanoma who received the combination had a "
    "longer progression-free survival than those given monotherapy in the phase 3 trial, "
    "with a median of eleven months against seven."
)
LONG_NEW = (
    LONG_OLD.replace("eleven months", "eleven point four months")
    .replace("phase 3 trial", "randomised phase 3 COMBI-d trial")
    .replace("against seven", "against 7.3")
)


def test_long_text_is_whole_and_diffed_word_by_word(qtbot, make_window, people, demo) -> None:
    first = edit(demo, people["carl"], "AS-00001", {"description": LONG_OLD})
    with demo.unit_of_work() as session:
        approve_change_set(session, actor=people["rita"], change_set_id=first)
    name = edit(demo, people["cora"], "AS-00001", {"description": LONG_NEW})
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    rows = rows_of(view)
    changed = next(i for i, r in enumerate(rows) if r[0] == "changed" and r[1] == "Description")
    assert rows[changed][2:] == (LONG_OLD, LONG_NEW)  # whole, never cut with "…"
    assert view.table.rowHeight(changed) > view.table.verticalHeader().defaultSectionSize()
    view.table.setCurrentIndex(view.model.index(changed, 2))
    shown = view.field_diff.toPlainText()
    assert "randomised" in shown and "COMBI-d" in shown and "point four" in shown
    html = view.field_diff.toHtml()
    assert "line-through" in html
    # The diff marks words, not whole texts.
    diff = word_diff_html(
        "a b c d",
        "a x c d",
        {"deleted": "#f00", "created": "#0f0", "lost": "#a00", "gained": "#0a0"},
    )
    assert (
        diff.startswith("a ")
        and diff.endswith(" c d")
        and ">b</span>" in diff
        and ">x</span>" in diff
    )


def test_comment_thread_and_a_reason_with_the_approval(qtbot, make_window, people, demo) -> None:
    name = stage(demo, people["cora"])
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    assert "No comments yet" in view.thread.toPlainText()
    assert not view.comment_button.isEnabled()
    view.comment_on.setCurrentIndex(view.comment_on.findData("TH-00001"))
    view.comment_text.setPlainText("Is 16 from the label or the trial?")
    assert view.comment_button.isEnabled()
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.comment_button.click()
    assert "Is 16 from the label or the trial?" in view.thread.toPlainText()
    assert "rex on TH-00001" in view.thread.toPlainText()
    assert view.tabs.tabText(1) == "Conversation (1)"
    assert view.comment_text.toPlainText() == ""

    def approve_with_reason(dialog: QWidget) -> None:
        assert isinstance(dialog, ApproveDialog) and dialog.ok.isEnabled()
        dialog.reason.setPlainText("Matches the FDA label")
        dialog.ok.click()

    answer_next_dialog(qtbot, approve_with_reason)
    with qtbot.waitSignal(view.merged, timeout=10_000):
        view.buttons["approve"].click()
    qtbot.waitUntil(lambda: "(approved)" in view.thread.toPlainText(), timeout=10_000)
    assert "Matches the FDA label" in view.thread.toPlainText()
    with demo.read() as session:
        assert [c.kind.value for c in list_comments(session, name)] == ["comment", "approve"]


def test_accept_some_changes_and_return_the_rest(qtbot, make_window, people, demo) -> None:
    name = stage(demo, people["cora"])
    window = make_window(people["rex"])
    view = open_review(qtbot, window, name).view
    model = view.model
    assert model.decidable
    header = next(r for r, row in enumerate(model.rows) if row.human_id == "AS-00055")
    index = model.index(header, 0)
    assert index.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert view.actions_by_name["approve"].text() == "Approve 3, return 1…"
    assert "(turned down)" in index.data()

    def decide(dialog: QWidget) -> None:
        assert isinstance(dialog, ApproveDialog)
        assert not dialog.ok.isEnabled()  # a change turned down needs a reason
        dialog.reason.setPlainText("AS-00055 is still cited by the guideline")
        assert dialog.ok.isEnabled()
        dialog.ok.click()

    answer_next_dialog(qtbot, decide)
    with qtbot.waitSignal(view.merged, timeout=10_000):
        view.buttons["approve"].click()
    assert "went back to the author as CS-" in view.message.text()
    with demo.read() as session:
        merged = get_change_set(session, name)
        assert "AS-00055" not in {c.human_id for c in merged.changes}
        back = current_draft(session, people["cora"])
        assert back is not None and [c.human_id for c in back.changes] == ["AS-00055"]
        (why,) = list_comments(session, back.id)
        assert "still cited by the guideline" in why.body
    qtbot.waitUntil(lambda: not view.model.decidable, timeout=10_000)


def test_draft_dock_drops_a_change_and_discards_the_draft(qtbot, make_window, people, demo) -> None:
    name = stage(demo, people["cora"], submit=False)
    window = make_window(people["cora"])
    dock = window.draft_dock
    qtbot.waitUntil(lambda: dock.data.change_set is not None, timeout=10_000)
    assert dock.data.change_set.human_id == name
    assert not dock.drop_button.isEnabled()  # nothing selected yet
    row = next(
        r for r in range(dock.model.rowCount()) if dock.model.change_at(r).human_id == "TH-00001"
    )
    dock.table.selectRow(row)
    assert dock.drop_button.isEnabled()
    with qtbot.waitSignal(dock.loaded, timeout=10_000):
        dock.drop_button.click()
    assert "TH-00001" not in {c.human_id for c in dock.data.change_set.changes}
    assert len(dock.data.change_set.changes) == 3
    assert dock.discard_button.isEnabled()
    answer_next_dialog(qtbot, lambda box: box.button(box.StandardButton.Yes).click())
    with qtbot.waitSignal(dock.loaded, timeout=10_000):
        dock.discard_button.click()
    assert dock.data.change_set is None and not dock.discard_button.isEnabled()
    with demo.read() as session:
        assert get_change_set(session, name).status is ChangeSetStatus.WITHDRAWN
