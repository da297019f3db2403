"""Take offscreen screenshots of the main screens into docs/screens/*.png.

    .venv/bin/python docs/screenshots.py [--out docs/screens]

Builds the demo KB with sample accounts in a temporary folder, drives the app as a curator
would, and grabs each screen. Nothing touches your own KB or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QWidget

HERE = Path(__file__).resolve().parent
PASSWORD = "demo-curator"  # kb.demo.loader.DEMO_USERS
SIZE = (1280, 720)


def wait_for(condition: Callable[[], bool], timeout_ms: int = 60_000) -> None:
    """Run the event loop until `condition` holds (workers deliver by signal)."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)

    def check() -> None:
        if condition():
            loop.quit()

    timer.timeout.connect(check)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    timer.start()
    deadline.start(timeout_ms)
    if not condition():
        loop.exec()
    if not condition():
        caller = sys._getframe(1)
        raise SystemExit(f"timed out waiting for the window (line {caller.f_lineno})")


def settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: QWidget, out: Path, name: str) -> None:
    settle()
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def build_kb(folder: Path) -> str:
    from kb.demo.loader import build_demo
    from kb.storage.db import open_kb
    from kb.storage.meta import initialise

    url = f"sqlite:///{folder / 'demo.sqlite'}"
    kb = open_kb(url)
    with kb.unit_of_work() as session:
        initialise(session, name="Demo KB")
        build_demo(session)
    kb.close()
    return url


def release_screens(url: str, folder: Path, out: Path, settings: object, theme: object) -> None:
    """The reviewer's sign-off, the release dialog before and after signing, and the Releases
    page (curator/release_dialog.py, curator/releases_view.py). Runs after main()'s screens:
    the curator's draft it left (a threshold and a level) becomes KB version 2."""
    from curator.main_window import MainWindow
    from curator.releases_view import ReleaseUi
    from kb.release.cutting import create_release
    from kb.release.signers import certify_signers
    from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init
    from kb.review.changes import approve_change_set, current_draft, submit_change_set
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    passphrase = b"screenshot passphrase"
    keys = generate_keypair(folder / "keys", name="release-key", passphrase=passphrase)
    private = load_private_key(keys.private_path, passphrase)
    root = trust_init([keys.public_path], 1, [private])
    save_json_file(root, folder / "root.json")
    kb = open_kb(url)
    with kb.read() as session:
        people = {
            name: authenticate(session, name=name, password=f"demo-{secret}")
            for name, secret in (
                ("curator", "curator"), ("reviewer", "reviewer"), ("releaser", "releaser")
            )
        }  # fmt: skip
    with kb.unit_of_work() as session:  # the admin pins the approvers' keys to the root
        admin = authenticate(session, name="admin", password="demo-admin")
        certify_signers(session, actor=admin, root_envelope=root, signing_keys=[private])
    with kb.unit_of_work() as session:  # last month's release of the demo as shipped
        create_release(session, actor=people["releaser"], version="2026.10.0",
                       root_envelope=root, signing_keys=[private], out_dir=folder / "releases",
                       kb_version=1, password="demo-releaser")  # fmt: skip
    with kb.read() as session:
        draft = current_draft(session, people["curator"])
    assert draft is not None
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=people["curator"], change_set_id=draft.human_id)
    with kb.unit_of_work() as session:
        approve_change_set(session, actor=people["reviewer"], change_set_id=draft.human_id)

    reviewer = MainWindow(kb, people["reviewer"], settings=settings, theme=theme,  # type: ignore[arg-type]
                          start_view="assertion", owns_kb=False)  # fmt: skip
    reviewer.resize(*SIZE)
    reviewer.show()
    signoff = reviewer.installed(ReleaseUi).open_signoff()
    assert signoff is not None
    wait_for(lambda: signoff.check is not None)
    signoff.reason.setText("PD-L1 CPS threshold and the level checked against the labels")
    signoff.password.setText("demo-reviewer")
    save(signoff, out, "release-signoff")
    signoff.sign()
    wait_for(lambda: signoff.signed_row is not None)
    signoff.close()
    reviewer.close()

    window = MainWindow(kb, people["releaser"], settings=settings, theme=theme,  # type: ignore[arg-type]
                        start_view="assertion", owns_kb=False)  # fmt: skip
    window.resize(*SIZE)
    window.show()
    dialog = window.installed(ReleaseUi).open_dialog()
    assert dialog is not None
    wait_for(lambda: dialog.check is not None and dialog.check.version == 2)
    dialog.version_edit.setText("2026.11.0")
    dialog.root_edit.setText(str(folder / "root.json"))
    dialog.add_key(keys.private_path).passphrase.setText(passphrase.decode())
    dialog.out_edit.setText(str(folder / "releases"))
    dialog.password_edit.setText("demo-releaser")
    dialog.changes.expandAll()
    save(dialog, out, "release-dialog")
    dialog.start_release()
    wait_for(lambda: dialog.verification is not None)
    save(dialog, out, "release-verified")
    dialog.close()
    window.show_view("releases")
    wait_for(lambda: window.installed(ReleaseUi).page.model.rowCount() == 2)
    save(window, out, "releases-page")
    window.close()
    kb.close()


def review_screens(out: Path, settings: object, theme: object) -> None:
    """The review queue with a change set side by side and its effects on the test patients, a
    conflict, a record's history, the diff between two versions and the audit log
    (curator/review_view.py, change_set_view.py, history_view.py, audit_view.py). Uses its own
    demo KB, so it depends on no other screen."""
    from curator.audit_view import AuditPage
    from curator.history_view import DiffDialog, HistoryDialog
    from curator.main_window import MainWindow
    from curator.review_view import ReviewHooks
    from kb.model.enums import RecordType
    from kb.review.changes import (
        approve_change_set,
        open_draft,
        rebase_change_set,
        submit_change_set,
        withdraw_change_set,
    )
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    with tempfile.TemporaryDirectory() as scratch:
        url = build_kb(Path(scratch))
        kb = open_kb(url)
        with kb.read() as session:
            people = {
                name: authenticate(session, name=name, password=f"demo-{name}")
                for name in ("curator", "reviewer", "reviewer2")
            }
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=people["curator"], title="TMB cut-off per label")
            draft.update("TH-00001", {"value": "16"})
            draft.update(
                "AS-00001",
                {"evidence_level": "2", "description": "Level 2 until the EU label catches up."},
            )
            draft.delete("AS-00055")
            draft.create(RecordType.DRUG, {"name": "Testinib", "ncit_code": "C199999"})
            ours = draft.human_id
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=people["reviewer2"], title="Reword AS-00001")
            draft.update("AS-00001", {"description": "Osimertinib, first line (FLAURA)."})
            theirs = draft.human_id
        for author, name in ((people["curator"], ours), (people["reviewer2"], theirs)):
            with kb.unit_of_work() as session:
                submit_change_set(session, actor=author, change_set_id=name)

        window = MainWindow(kb, people["reviewer"], settings=settings, theme=theme,  # type: ignore[arg-type]
                            start_view="assertion", owns_kb=False)  # fmt: skip
        window.resize(*SIZE)
        window.show()
        wait_for(lambda: window.records.model.rowCount() >= 100)
        review = window.installed(ReviewHooks).review
        window.show_view("change_sets")
        wait_for(lambda: review.model.row_of(ours) is not None)
        review.show_change_set(ours)
        wait_for(lambda: review.view.effects_model.rowCount() > 0)
        save(window, out, "review-queue")

        with kb.unit_of_work() as session:
            approve_change_set(session, actor=people["reviewer"], change_set_id=theirs)
        review.view.request("approve", confirm=False)
        wait_for(review.view.issues_box.isVisible)
        save(window, out, "review-conflict")

        with kb.unit_of_work() as session:
            withdraw_change_set(session, actor=people["curator"], change_set_id=ours)
        with kb.unit_of_work() as session:
            rebase_change_set(session, actor=people["curator"], change_set_id=ours)
        with kb.unit_of_work() as session:
            submit_change_set(session, actor=people["curator"], change_set_id=ours)
        with kb.unit_of_work() as session:
            approve_change_set(session, actor=people["reviewer"], change_set_id=ours)
        window.reload()
        window.navigate("AS-00001")
        wait_for(lambda: window.record_pane.view.detail is not None
                 and window.record_pane.view.detail.human_id == "AS-00001")  # fmt: skip
        window.installed(ReviewHooks).act_history.trigger()
        history = window.findChild(HistoryDialog)
        assert history is not None
        wait_for(lambda: history.data is not None)
        save(history, out, "record-history")
        history.close()

        diff = DiffDialog(window.kb, window.workers, window)
        diff.show()
        wait_for(lambda: diff.diff is not None and diff.diff.new == 3)
        save(diff, out, "version-diff")
        diff.close()

        audit = window.installed(AuditPage)
        window.show_view("audit")
        wait_for(lambda: audit.model.rowCount() > 0)
        audit.verify()
        wait_for(lambda: "intact" in audit.report.text())
        save(window, out, "audit-log")
        window.close()
        window.workers.wait()
        kb.close()


def review_conversation_screens(out: Path, settings: object, theme: object) -> None:
    """At 1280x720: a long description diffed word by word, the conversation with a change
    ticked off (to go back to its author), the header after the merge, and the draft dock's
    drop / discard (curator/change_set_view.py, draft_dock.py). Uses its own demo KB."""
    from curator.main_window import MainWindow
    from curator.review_view import ReviewHooks
    from kb.review.changes import approve_change_set, open_draft, submit_change_set
    from kb.review.comments import add_comment
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    small = (1280, 720)
    with tempfile.TemporaryDirectory() as scratch:
        kb = open_kb(build_kb(Path(scratch)))
        with kb.read() as session:
            people = {
                name: authenticate(session, name=name, password=f"demo-{name}")
                for name in ("curator", "reviewer", "reviewer2")
            }
        old = (
            "Osimertinib improved progression-free survival over gefitinib or erlotinib as "
            "first-line treatment of EGFR exon 19 deletion or L858R non-small cell lung cancer "
            "in the phase 3 FLAURA trial (median 18.9 against 10.2 months)."
        )
        new = old.replace("phase 3 FLAURA trial", "randomised phase 3 FLAURA trial, with longer "
                          "overall survival (38.6 against 31.8 months)").replace(
                              "(median 18.9", "(median PFS 18.9")  # fmt: skip
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=people["reviewer2"], title="FLAURA wording")
            draft.update("AS-00001", {"description": old})
            first = draft.human_id
        with kb.unit_of_work() as session:
            submit_change_set(session, actor=people["reviewer2"], change_set_id=first)
        with kb.unit_of_work() as session:
            approve_change_set(session, actor=people["reviewer"], change_set_id=first)
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=people["curator"], title="FLAURA overall survival")
            draft.update("AS-00001", {"description": new, "evidence_level": "1"})
            draft.update("TH-00001", {"value": "16"})
            draft.delete("AS-00055")
            ours = draft.human_id
        with kb.unit_of_work() as session:
            add_comment(
                session,
                actor=people["curator"],
                change_set_id=ours,
                body="OS figures from the 2020 NEJM update.",
                record="AS-00001",
            )
            submit_change_set(session, actor=people["curator"], change_set_id=ours)
        with kb.unit_of_work() as session:
            add_comment(session, actor=people["reviewer"], change_set_id=ours,
                        body="Why delete AS-00055? It is still in the NCCN guideline.",
                        record="AS-00055")  # fmt: skip

        window = MainWindow(kb, people["reviewer"], settings=settings, theme=theme,  # type: ignore[arg-type]
                            start_view="assertion", owns_kb=False)  # fmt: skip
        window.resize(*small)
        window.show()
        wait_for(lambda: window.records.model.rowCount() > 0)
        review = window.installed(ReviewHooks).review
        window.show_view("change_sets")
        wait_for(lambda: review.model.row_of(ours) is not None)
        review.show_change_set(ours)
        view = review.view
        wait_for(lambda: view.detail is not None and view.detail.change_set.human_id == ours)
        row = next(i for i, r in enumerate(view.model.rows) if r.label == "Description")
        view.table.setCurrentIndex(view.model.index(row, 2))
        view.splitter.setSizes([330, 230])
        save(window, out, "review-word-diff")

        header = next(i for i, r in enumerate(view.model.rows) if r.human_id == "AS-00055")
        view.model.setData(view.model.index(header, 0), 0, 10)  # Qt.CheckStateRole: untick
        view.tabs.setCurrentIndex(1)
        view.comment_text.setPlainText("Agreed on FLAURA; the deletion goes back to you.")
        save(window, out, "review-conversation")

        view.request("approve", reason="Keep AS-00055: NCCN still lists it.", confirm=False)
        wait_for(lambda: view.detail is not None and view.detail.change_set.merged_version)
        view.tabs.setCurrentIndex(1)
        save(window, out, "review-merged")
        window.close()
        window.workers.wait()

        curator = MainWindow(kb, people["curator"], settings=settings, theme=theme,  # type: ignore[arg-type]
                             start_view="assertion", owns_kb=False)  # fmt: skip
        curator.resize(*small)
        curator.show()
        dock = curator.draft_dock
        wait_for(lambda: dock.data.change_set is not None)
        dock.table.selectRow(0)
        save(curator, out, "draft-dock-drop-discard")
        curator.close()
        curator.workers.wait()
        kb.close()


def import_trials_sandbox_screens(out: Path, settings: object, theme: object) -> None:
    """The import wizard (first rows and mapping; the dry run with a located error), the
    registry check against a local stand-in for ClinicalTrials.gov, and the matching sandbox
    with the curator's draft (curator/import_wizard.py, trials_check.py, matching_sandbox.py).
    Uses its own demo KB, so it depends on no other screen."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import openpyxl

    from curator.import_wizard import open_import_wizard
    from curator.main_window import MainWindow
    from curator.matching_sandbox import open_matching_sandbox
    from curator.trials_check import open_trials_check, qsettings_of, set_registry_base_url
    from kb.importing.template import export_template
    from kb.model.enums import RecordType
    from kb.model.records import list_records
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        kb = open_kb(build_kb(folder))
        with kb.read() as session:
            curator = authenticate(session, name="curator", password="demo-curator")
            export_template(session, folder / "demo-export.xlsx")
            trials = [row.fields for row in list_records(session, RecordType.TRIAL)]
        book = openpyxl.load_workbook(folder / "demo-export.xlsx")
        book["Assertions"]["G2"] = "2"  # AS-00001 evidence level
        book["Assertions"]["F3"] = "sensitve"  # a typo the dry run points at
        book.save(folder / "demo-export.xlsx")

        # The registry says LIBRETTO-001 is recruiting again (phases and arms as in the KB).
        phases = {"PHASE1_PHASE2": ["PHASE1", "PHASE2"]}
        studies = [
            {"protocolSection": {
                "identificationModule": {"nctId": t["nct_id"], "briefTitle": t["title"]},
                "statusModule": {"overallStatus": "RECRUITING" if t["nct_id"] == "NCT03157128"
                                 else t["status"]},
                "designModule": {"phases": phases.get(t["phase"], [t["phase"]])},
            }}
            for t in trials
        ]  # fmt: skip
        body = json.dumps({"studies": studies}).encode()

        class Registry(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        set_registry_base_url(
            qsettings_of(settings),  # type: ignore[arg-type]
            f"http://127.0.0.1:{server.server_address[1]}",
        )

        window = MainWindow(kb, curator, settings=settings, theme=theme,  # type: ignore[arg-type]
                            start_view="assertion", owns_kb=False)  # fmt: skip
        window.resize(*SIZE)
        window.show()
        wait_for(lambda: window.records.model.rowCount() >= 100)

        wizard = open_import_wizard(window)
        wizard.set_source(folder / "demo-export.xlsx")
        wait_for(lambda: wizard.source is not None)
        page = wizard.source_page
        page.sheet_combo.setCurrentIndex(page.sheet_combo.findData("Assertions"))
        save(wizard, out, "import-file-and-profile")
        wizard.next()
        wait_for(lambda: wizard.outcome is not None)
        save(wizard, out, "import-dry-run")
        wizard.close()

        check = open_trials_check(window)
        check.start()
        wait_for(lambda: check.sync_result is not None or check.error is not None)
        save(check, out, "trials-check")
        check.close()

        sandbox = open_matching_sandbox(window)
        sandbox.set_patient({
            "id": "lung-7", "oncotree_code": "NSCLC", "age": 58, "sex": "female",
            "variants": [{"gene": "EGFR", "protein_change": "p.L858R"}],
            "fusions": [{"five_prime": "KIF5B", "three_prime": "RET"}],
        })  # fmt: skip
        sandbox.include_draft.setChecked(True)
        sandbox.run_match()
        wait_for(lambda: sandbox.match_result is not None)
        save(sandbox, out, "matching-sandbox")
        sandbox.close()
        server.shutdown()
        server.server_close()
        window.close()
        window.workers.wait()
        kb.close()


def save_with_popup(window: QWidget, popup: QWidget, corner: object, out: Path, name: str) -> None:
    """Save `window` with `popup` (its own top-level window) drawn at `corner`, as a screen
    shows it."""
    from PySide6.QtGui import QPainter

    settle(200)
    picture = window.grab()
    painter = QPainter(picture)
    painter.drawPixmap(corner, popup.grab())  # type: ignore[call-overload]
    painter.end()
    path = out / f"{name}.png"
    picture.save(str(path))
    print(path)


def editing_screens(out: Path, settings: object, theme: object) -> None:
    """Editing at scale and lists at 1280x720 (curator/bulk_edit.py, ref_picker.py,
    list_layout.py): the compact assertion list, twenty rows selected with "Set field…", a
    reference picker showing matches, a clone in the editor, the column menu and saved filters.
    Uses its own demo KB, so it depends on no other screen."""
    from curator.bulk_edit import SetFieldDialog
    from curator.fields import EnumField, RefField
    from curator.main_window import MainWindow
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    with tempfile.TemporaryDirectory() as scratch:
        url = build_kb(Path(scratch))
        kb = open_kb(url)
        with kb.read() as session:
            actor = authenticate(session, name="curator", password=PASSWORD)
        window = MainWindow(kb, actor, settings=settings, theme=theme, start_view="assertion")
        window.resize(1280, 720)
        window.show()
        table = window.records.model
        wait_for(lambda: table.table is not None and table.table.complete and bool(window.info))
        window.navigate("AS-00001")
        wait_for(lambda: window.record_pane.view.detail is not None)
        save(window, out, "editing-01-compact-assertions")

        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        model = window.records.model
        span = QItemSelection(model.index(0, 0), model.index(19, model.columnCount() - 1))
        window.records.table.selectionModel().select(
            span, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        dialog = SetFieldDialog(model.rtype, 20, window.store, window, field="evidence_level")  # type: ignore[arg-type]
        level = dialog.widget()
        assert isinstance(level, EnumField)
        level.combo.setCurrentIndex(level.combo.findData("2"))
        dialog.show()
        save(dialog, out, "editing-02-set-field-dialog")
        dialog.close()
        window.bulk.apply(window.records.selected_ids(), "evidence_level", "2")
        wait_for(lambda: len(window.records.model._marks) == 20)
        save(window, out, "editing-03-set-on-twenty")

        window.act_new.trigger()
        therapy = window.record_pane.editor.widgets["therapy"]
        assert isinstance(therapy, RefField)
        wait_for(lambda: len(window.store.index("therapy")) > 0)
        therapy.edit.setFocus()
        therapy.edit.setText("trametinib")
        therapy.completer.search()
        popup = therapy.completer.popup()
        # Where it shows on a real screen: under the field, inside the window (the offscreen
        # screen is smaller than the window, so Qt placed it elsewhere).
        corner = therapy.edit.mapTo(window, therapy.edit.rect().bottomLeft())
        corner.setX(min(corner.x(), window.width() - popup.width() - 4))
        save_with_popup(window, popup, corner, out, "editing-04-reference-picker")
        popup.hide()
        window.record_pane.cancel_edit(ask=False)

        window.navigate("AS-00002")
        wait_for(lambda: window.record_pane.view.detail is not None
                 and window.record_pane.view.detail.human_id == "AS-00002")  # fmt: skip
        window.bulk.act_clone.trigger()
        wait_for(lambda: window.record_pane.editing)
        save(window, out, "editing-05-clone-in-editor")
        window.record_pane.cancel_edit(ask=False)

        window.columns.set_shown("version", True)
        window.columns.move("level", 1)
        menu = window.columns.header_menu()
        menu.popup(window.records.table.mapToGlobal(window.records.table.rect().center()))
        corner = window.mapFromGlobal(menu.mapToGlobal(menu.rect().topLeft()))
        save_with_popup(window, menu, corner, out, "editing-06-column-menu")
        menu.close()
        window.columns.reset()

        window.records.search.setText("nsclc")
        window.records.set_column_filter("level", "=1")
        window.saved_filters.save("NSCLC level 1")
        window.records.clear_filters()
        window.saved_filters.apply("NSCLC level 1")
        window.saved_filters.menu.popup(
            window.saved_filters.button.mapToGlobal(window.saved_filters.button.rect().topLeft())
        )
        menu = window.saved_filters.menu
        corner = window.mapFromGlobal(menu.mapToGlobal(menu.rect().topLeft()))
        save_with_popup(window, menu, corner, out, "editing-07-saved-filters")
        menu.close()
        window.close()


WIZARD_SIZE = (1280, 720)
PARTNER_SHEET = [
    ["Gene Symbol", "Alteration", "Cancer Type", "Drug(s)", "Level of Evidence", "PMIDs",
     "Curator note"],
    ["BRAF", "V600E", "Melanoma", "Dabrafenib + Trametinib", "Level 1", "26037941; 25265492",
     "combination"],
    ["HER2", "Amplification", "Breast Carcinoma", "Trastuzumab", "Level 1", "17055429", ""],
    ["EGFR", "L858R", "Non small cell lung cancer", "Osimertinib", "Level 1", "28885881", ""],
    ["KRAS", "G12C", "Non small cell lung cancer", "Sotorasib", "Level 1", "34096690", ""],
    ["HER2", "Amplification", "Breast Carcinoma", "Trastuzumab deruxtecan", "Level 1",
     "34534430", ""],
]  # fmt: skip


def history_clone_screens(out: Path, settings: object, theme: object) -> None:
    """A record's history with the review comments beside its versions, and a cloned gene in
    the editor asking for its own symbol and HGNC id, at 1280x720 (curator/history_view.py,
    bulk_edit.py). Uses its own demo KB, so it depends on no other screen."""
    from curator.history_view import HistoryDialog
    from curator.main_window import MainWindow
    from curator.review_view import ReviewHooks
    from kb.review.changes import approve_change_set, open_draft, submit_change_set
    from kb.review.comments import add_comment
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    with tempfile.TemporaryDirectory() as scratch:
        url = build_kb(Path(scratch))
        kb = open_kb(url)
        with kb.read() as session:
            people = {
                name: authenticate(session, name=name, password=f"demo-{name}")
                for name in ("curator", "reviewer")
            }
        curator, reviewer = people["curator"], people["reviewer"]
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=curator, title="TMB cut-off per label")
            draft.update("TH-00001", {"value": "16"})
            name = draft.human_id
        with kb.unit_of_work() as session:
            add_comment(session, actor=curator, change_set_id=name, record="TH-00001",
                        body="The FDA label for pembrolizumab says >= 10; KEYNOTE-158's "
                        "exploratory cut-off was 16. Which do we follow?")  # fmt: skip
            submit_change_set(session, actor=curator, change_set_id=name)
        with kb.unit_of_work() as session:
            add_comment(session, actor=reviewer, change_set_id=name, record="TH-00001",
                        body="The label's: keep it at 10 unless the assay differs.")  # fmt: skip
            approve_change_set(session, actor=reviewer, change_set_id=name,
                               reason="16 only for the research assay; see the thread")  # fmt: skip
        with kb.unit_of_work() as session:
            draft = open_draft(session, actor=curator, title="Back to the label")
            draft.update("TH-00001", {"value": "10"})
            again = draft.human_id
        with kb.unit_of_work() as session:
            add_comment(session, actor=curator, change_set_id=again, record="TH-00001",
                        body="Back to 10 as agreed.")  # fmt: skip

        window = MainWindow(kb, curator, settings=settings, theme=theme,  # type: ignore[arg-type]
                            start_view="threshold", owns_kb=False)  # fmt: skip
        window.resize(1280, 720)
        window.show()
        wait_for(lambda: window.records.model.rowCount() > 0)
        window.navigate("TH-00001")
        wait_for(lambda: window.record_pane.view.detail is not None
                 and window.record_pane.view.detail.human_id == "TH-00001")  # fmt: skip
        window.installed(ReviewHooks).act_history.trigger()
        history = window.findChild(HistoryDialog)
        assert history is not None
        wait_for(lambda: history.data is not None)
        history.resize(1240, 560)
        history.table.selectRow(0)
        save(history, out, "record-history-comments")
        history.close()

        window.navigate("GN-00001")
        wait_for(lambda: window.record_pane.view.detail is not None
                 and window.record_pane.view.detail.human_id == "GN-00001")  # fmt: skip
        window.bulk.act_clone.trigger()
        wait_for(lambda: window.record_pane.editing)
        save(window, out, "editing-08-clone-gene")
        window.record_pane.cancel_edit(ask=False)
        window.close()
        window.workers.wait()
        kb.close()


def import_mapping_screens(out: Path, settings: object, theme: object) -> None:
    """The import wizard at 1280x720 on a third party's interpretations workbook (issue 16):
    every sheet, the mapping page, errors by reason with ranked candidates, the clean dry run
    after mapping the values, and the submitted change set. Its own demo KB."""
    import openpyxl

    from curator.import_wizard import CUSTOM, open_import_wizard
    from curator.main_window import MainWindow
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        kb = open_kb(build_kb(folder))
        with kb.read() as session:
            curator = authenticate(session, name="curator", password=PASSWORD)
        book = openpyxl.Workbook()
        book.active.title = "About"
        book.active.append(["Actionability export from PartnerLab, 2026-11"])
        sheet = book.create_sheet("Interpretations")
        for row in PARTNER_SHEET:
            sheet.append(row)
        book.save(folder / "partnerlab.xlsx")

        window = MainWindow(kb, curator, settings=settings, theme=theme,  # type: ignore[arg-type]
                            start_view="assertion", owns_kb=False)  # fmt: skip
        window.resize(*SIZE)
        window.show()
        wait_for(lambda: window.records.model.rowCount() > 0)
        wizard = open_import_wizard(window)
        wizard.start_folder = folder
        wizard.resize(*WIZARD_SIZE)
        wizard.set_source(folder / "partnerlab.xlsx", CUSTOM, save_to=folder / "partnerlab.toml")
        wait_for(lambda: wizard.source is not None)
        page = wizard.source_page
        page.sheet_combo.setCurrentIndex(page.sheet_combo.findData("Interpretations"))
        save(wizard, out, "import-1-file-and-sheets")
        wizard.next()
        mapping = wizard.mapping_page
        mapping.set_default("implication", "sensitive")
        mapping.set_default("line_of_therapy", "any")
        save(wizard, out, "import-2-mapping")
        wizard.next()
        wait_for(lambda: wizard.outcome is not None)
        grouped = wizard.dry_run_page.grouped

        def pick(field: str, value: str) -> None:
            """Select a reason and one of its values; wait for the ranked candidates."""
            groups, values = grouped.group_model, grouped.value_model
            for row in range(groups.rowCount()):
                group = groups.group_at(row)
                if group is not None and group.field == field:
                    grouped.group_view.selectRow(row)
            for row in range(values.rowCount()):
                found = values.value_at(row)
                if found is not None and found.value == value:
                    grouped.value_view.selectRow(row)
            wait_for(lambda: grouped.candidates.count() > 0 and grouped.map_button.isEnabled())

        pick("tumour_types", "Non small cell lung cancer")
        save(wizard, out, "import-3-errors-by-reason")
        for field, value in (("gene", "HER2"), ("tumour_types", "Breast Carcinoma"),
                             ("tumour_types", "Non small cell lung cancer"),
                             ("evidence_level", "Level 1")):  # fmt: skip
            pick(field, value)
            wizard.outcome = None
            grouped.map_chosen()
            wait_for(lambda: wizard.outcome is not None)
        save(wizard, out, "import-4-dry-run-clean")
        wizard.next()
        wait_for(lambda: wizard.applied_result is not None)
        wizard.submit_applied()
        wait_for(lambda: wizard.submitted_change_set is not None)
        save(wizard, out, "import-5-submitted")
        wizard.close()
        window.close()
        window.workers.wait()
        kb.close()


def home_help_screens(url: str, out: Path, settings: object, theme: object) -> None:
    """The home screen, the help window and the first-run tour at 1280x720, and the notice a
    window shows when another user merges (curator/home_page.py, help_view.py, live_state.py)."""
    from curator.help_view import HelpUi
    from curator.home_page import HomePage
    from curator.live_state import LiveUi
    from curator.main_window import MainWindow
    from kb.review.changes import approve_change_set, open_draft, submit_change_set
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    small = (1280, 720)
    kb = open_kb(url)
    with kb.read() as session:
        reviewer = authenticate(session, name="reviewer", password="demo-reviewer")
        curator = authenticate(session, name="curator", password=PASSWORD)
    with kb.unit_of_work() as session:
        editor = open_draft(session, actor=curator, title="TMB cut-off")
        editor.update("TH-00001", {"value": "12"})
        editor.close()
        submitted = editor.human_id
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=submitted)
    window = MainWindow(kb, reviewer, settings=settings, theme=theme, start_view="home")
    window.resize(*small)
    window.show()
    home = window.installed(HomePage)
    wait_for(lambda: home.summary is not None and home.summary.review_queue)
    save(window, out, "home")
    help_ui = window.installed(HelpUi)
    dialog = help_ui.show_help()
    dialog.resize(*small)
    save(dialog, out, "help")
    dialog.close()
    help_ui.tour.start()
    save(window, out, "tour-navigator")
    help_ui.tour.go(1)
    save(window, out, "tour-draft")
    help_ui.tour.close_tour()
    window.close()

    other = open_kb(url)
    with other.read() as session:
        curator = authenticate(session, name="curator", password=PASSWORD)
    with other.unit_of_work() as session:
        editor = open_draft(session, actor=curator, title="TMB cut-off, again")
        editor.update("TH-00001", {"value": "14"})
        editor.close()
        drafted = editor.human_id
    window = MainWindow(other, curator, settings=settings, theme=theme, start_view="threshold")
    window.resize(*small)
    window.show()
    live = window.installed(LiveUi)
    live.state.set_interval(200)
    wait_for(lambda: live.state.counter is not None and window.draft_dock.data.change_set)
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=drafted)
    with kb.unit_of_work() as session:
        approve_change_set(session, actor=reviewer, change_set_id=drafted)
    wait_for(lambda: live.notice.isVisible() and window.draft_dock.data.change_set is None)
    save(window, out, "live-notice")
    window.close()
    kb.close()


def seed_outcomes(url: str, folder: Path, episodes: int = 5000) -> None:
    """Import the seeded synthetic cohort (bench/outcomes_cohort.py) and raise its alerts;
    two evidence items (merged by review) bear on the assertion whose response falls short."""
    sys.path.insert(0, str(HERE.parent))
    from bench.outcomes_cohort import make_cohort
    from kb.model.enums import RecordType
    from kb.outcomes import OutcomeKey, import_outcomes, refresh_alerts
    from kb.review.changes import approve_change_set, open_draft, submit_change_set
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    kb = open_kb(url)
    with kb.read() as session:
        cohort = make_cohort(session, episodes=episodes, seed=15)
    below = cohort.planted["response_below_expectation"]
    with kb.unit_of_work() as session:
        curator = authenticate(session, name="curator", password=PASSWORD)
        reviewer = authenticate(session, name="reviewer", password="demo-reviewer")
        editor = open_draft(session, actor=curator, title=f"Evidence for {below}")
        for source_id, direction, level, text in (
            ("EID1409", "supports", "A", "Phase 3 trial: objective response in 71% of patients."),
            ("EID2211", "supports", "B", "Single-arm phase 2: ORR 64% in pretreated patients."),
        ):
            editor.create(
                RecordType.EVIDENCE_ITEM,
                {"source": "CIViC", "source_id": source_id, "evidence_type": "predictive",
                 "direction": direction, "source_level": level, "assertions": [below],
                 "description": text},
            )  # fmt: skip
        editor.close()
        drafted = editor.human_id
    with kb.unit_of_work() as session:
        submit_change_set(session, actor=curator, change_set_id=drafted)
    with kb.unit_of_work() as session:
        approve_change_set(session, actor=reviewer, change_set_id=drafted)
    path = folder / "cohort.csv"
    cohort.write_csv(path)
    with kb.unit_of_work() as session:
        curator = authenticate(session, name="curator", password=PASSWORD)
        import_outcomes(session, path, actor=curator, key=OutcomeKey(bytes(range(32))))
    with kb.unit_of_work() as session:
        refresh_alerts(session, actor=curator)
    kb.close()


def outcomes_screens(url: str, folder: Path, out: Path, settings: object, theme: object) -> None:
    """The Outcomes page at 1280x720: response by assertion with a Kaplan-Meier curve, the
    alerts queue with an open alert beside its evidence, and the dialog that lowers a level
    (curator/outcomes_page.py)."""
    from curator.main_window import MainWindow
    from curator.outcomes_page import OUTCOMES_KEY, OutcomesPage
    from kb.model.enums import AlertKind
    from kb.outcomes.actions import AlertAction
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    seed_outcomes(url, folder)
    kb = open_kb(url)
    with kb.read() as session:
        curator = authenticate(session, name="curator", password=PASSWORD)
    window = MainWindow(kb, curator, settings=settings, theme=theme, start_view=OUTCOMES_KEY)
    window.resize(*SIZE)
    window.show()
    page = window.installed(OutcomesPage)
    wait_for(lambda: page.data is not None)
    below = next(a for a in page.data.alerts if a.kind is AlertKind.RESPONSE_BELOW_EXPECTATION)
    page.select_assertion(below.subject)
    save(window, out, "outcomes-assertions")
    page.open_alert(below.id)
    wait_for(lambda: page.context is not None and page.context.alert.id == below.id)
    save(window, out, "outcomes-alert")
    page.start_action(AlertAction.LOWER_LEVEL)
    dialog = page.action_dialog
    assert dialog is not None
    dialog.reason.setText("real-world response far below level 1")
    from PySide6.QtCore import QPoint

    corner = QPoint(
        (window.width() - dialog.width()) // 2, (window.height() - dialog.height()) // 3
    )
    save_with_popup(window, dialog, corner, out, "outcomes-lower-level")
    dialog.reject()
    window.close()
    kb.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "screens")
    parser.add_argument(
        "--only",
        choices=["import-mapping", "home", "history-clone", "editing", "outcomes"],
        help="take only these screens (quicker)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    QCoreApplication.setOrganizationName("kb-curator-screenshots")
    QCoreApplication.setApplicationName("screenshots")

    from curator.about_dialog import AboutDialog
    from curator.app import error_box, explain_open_error
    from curator.expression_editor import ExpressionEditor
    from curator.icons import icon
    from curator.main_window import MainWindow
    from curator.settings import Settings
    from curator.signin_dialog import FirstAccountDialog, SignInDialog
    from curator.theme import ThemeManager
    from kb.errors import SchemaError
    from kb.review.users import authenticate
    from kb.storage.db import open_kb

    app.setWindowIcon(icon("app"))
    theme = ThemeManager(app, "light")
    if args.only in ("history-clone", "editing"):
        with tempfile.TemporaryDirectory() as scratch:
            ini = str(Path(scratch) / "settings.ini")
            settings = Settings(QSettings(ini, QSettings.Format.IniFormat))
            take = history_clone_screens if args.only == "history-clone" else editing_screens
            take(args.out, settings, theme)
        return 0
    if args.only == "import-mapping":
        with tempfile.TemporaryDirectory() as scratch:
            ini = str(Path(scratch) / "settings.ini")
            settings = Settings(QSettings(ini, QSettings.Format.IniFormat))
            import_mapping_screens(args.out, settings, theme)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = build_kb(folder)
        settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
        if args.only == "home":
            home_help_screens(url, args.out, settings, theme)
            return 0
        if args.only == "outcomes":
            outcomes_screens(url, folder, args.out, settings, theme)
            return 0
        kb = open_kb(url)
        with kb.read() as session:
            actor = authenticate(session, name="curator", password=PASSWORD)
        window = MainWindow(kb, actor, settings=settings, theme=theme, start_view="assertion")
        window.resize(*SIZE)
        window.show()
        wait_for(lambda: window.records.model.rowCount() >= 100 and window.info is not None)

        def show(human_id: str) -> None:
            window.navigate(human_id)
            wait_for(lambda: window.record_pane.view.detail is not None
                     and window.record_pane.view.detail.human_id == human_id)  # fmt: skip

        show("AS-00001")
        save(window, args.out, "01-assertions")

        window.records.search.setText("osimertinib")
        save(window, args.out, "02-search")
        window.records.search.clear()

        window.show_view("tumour")
        wait_for(lambda: window.tumours.model.rowCount() > 0)
        window.record_pane.view.anchorClicked.emit(QUrl("tumour:NSCLC"))
        save(window, args.out, "03-tumour-types")

        window.show_view("threshold")
        wait_for(lambda: window.records.model.rowCount() == 10)
        show("TH-00004")
        window.act_edit.trigger()
        window.record_pane.editor.widgets["value"].set_value("sixty")
        save(window, args.out, "04-threshold-editor")
        window.record_pane.editor.widgets["value"].set_value("60")
        window.record_pane.editor.request_save()
        wait_for(lambda: window.draft_dock.model.rowCount() == 1)

        window.show_view("expression")
        wait_for(lambda: window.records.model.rowCount() > 0)
        show("BX-00015")
        window.act_edit.trigger()
        tree = window.record_pane.editor.widgets["tree"]
        assert isinstance(tree, ExpressionEditor)
        wait_for(lambda: "ERBB2" in tree.text)
        tree.select_path((1, 1))
        save(window, args.out, "05-expression-editor")
        window.record_pane.cancel_edit(ask=False)

        window.show_view("assertion")
        show("AS-00002")
        window.act_edit.trigger()
        window.record_pane.editor.widgets["evidence_level"].set_value("2")
        window.record_pane.editor.request_save()
        wait_for(lambda: window.draft_dock.model.rowCount() == 2)
        wait_for(lambda: window.record_pane.view.detail is not None
                 and window.record_pane.view.detail.staged is not None)  # fmt: skip
        save(window, args.out, "06-draft-and-changes")

        window.set_theme("dark")
        save(window, args.out, "07-dark")
        window.set_theme("light")

        dialogs: list[tuple[str, QWidget]] = [
            ("08-sign-in", SignInDialog("demo.sqlite", lambda n, p: None, name="curator")),
            ("09-first-account", FirstAccountDialog(lambda n, p: None, name="ada")),
            ("10-about", AboutDialog(kb)),
        ]  # fmt: skip
        for name, dialog in dialogs:
            dialog.show()
            save(dialog, args.out, name)
            dialog.close()

        title, message = explain_open_error(
            SchemaError(
                "the database schema (revision 0009) is newer than this version of KB Curator "
                "knows (newest 0002); upgrade the app"
            ),
            "sqlite:////home/curator/kb.sqlite",
        )
        box = error_box(None, title, message)
        box.show()
        save(box, args.out, "11-newer-schema")
        box.close()
        window.close()
        release_screens(url, folder, args.out, settings, theme)
        review_screens(args.out, settings, theme)
        review_conversation_screens(args.out, settings, theme)
        import_trials_sandbox_screens(args.out, settings, theme)
        import_mapping_screens(args.out, settings, theme)
        editing_screens(args.out, settings, theme)
        home_help_screens(url, args.out, settings, theme)
        history_clone_screens(args.out, settings, theme)
        outcomes_screens(url, folder, args.out, settings, theme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
