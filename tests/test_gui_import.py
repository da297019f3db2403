"""The import wizard over a real demo KB and real files written here with openpyxl: the main path
(one edited cell → one change → one draft), bad files, invalid rows, cancelling, exporting
errors, a TOML profile, the File ▸ Import… hook, and the Qt contract of every model it adds."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWizard
from test_import_interpretations import CHOICES, write_interpretations
from test_import_support import write_template_rows

from curator.import_wizard import (
    CUSTOM,
    CountsModel,
    ErrorTableModel,
    ImportWizard,
    MappingModel,
    MappingRow,
    RowCellsModel,
    SheetCells,
    SheetModel,
    read_source,
)
from curator.main_window import MainWindow
from curator.settings import Settings
from curator.workers import Workers
from kb.importing.engine import TypeCounts
from kb.importing.model import ImportError_, Location
from kb.importing.profiles import load_profile
from kb.importing.service import import_file
from kb.importing.template import export_template
from kb.model.enums import ChangeOp, ChangeSetStatus, RecordType, Role
from kb.model.records import get_record
from kb.review.changes import get_change_set, list_change_sets
from kb.review.users import Actor, add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import SHARED_DATA, demo_admin, require_shared

PASSWORD = "password1"
WAIT = 20_000


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def kb(demo_url: str) -> Iterator[Kb]:
    opened = open_kb(demo_url)
    yield opened
    opened.close()


@pytest.fixture
def people(kb: Kb) -> dict[str, Actor]:
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        return {
            "admin": admin,
            "cora": add_user(session, actor=admin, name="cora", role=Role.CURATOR,
                             password=PASSWORD),
            "rm": add_user(session, actor=admin, name="rm", role=Role.RELEASE_MANAGER,
                           password=PASSWORD),
        }  # fmt: skip


@pytest.fixture
def workers(qtbot) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    pool = Workers()
    yield pool
    pool.cancel_all()
    pool.wait()


@pytest.fixture
def make_wizard(qtbot, kb: Kb, workers: Workers, tmp_path: Path) -> Callable[..., ImportWizard]:  # type: ignore[no-untyped-def]
    def make(actor: Actor | None, path: Path, profile: str = "template") -> ImportWizard:
        wizard = ImportWizard(kb, actor, workers, start_folder=tmp_path)
        qtbot.addWidget(wizard)
        wizard.show()
        with qtbot.waitSignal(wizard.source_loaded, timeout=WAIT):
            wizard.set_source(path, profile)
        return wizard

    return make


def demo_export(kb: Kb, path: Path, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    """The demo KB as a filled template, with the edit a curator made in Excel."""
    with kb.read() as session:
        export_template(session, path)
    book = openpyxl.load_workbook(path)
    edit(book)
    book.save(path)
    return path


def dry_run(qtbot, wizard: ImportWizard) -> str:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=WAIT) as blocker:
        wizard.next()
    return str(blocker.args[0])


def change_sets(kb: Kb) -> list[str]:
    """Change sets besides CS-00001, the one that brought the demo in."""
    with kb.read() as session:
        return [row.human_id for row in list_change_sets(session) if row.human_id != "CS-00001"]


def tile(wizard: ImportWizard, name: str) -> str:
    return wizard.dry_run_page.tiles[name].text()


# --- the main path -------------------------------------------------------------------------


def test_one_edited_cell_is_one_change_staged_as_a_draft(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    def edit(book: openpyxl.Workbook) -> None:
        sheet = book["Assertions"]
        assert sheet["A2"].value == "AS-00001" and sheet["G1"].value == "evidence_level"
        sheet["G2"] = "2"

    path = demo_export(kb, tmp_path / "demo.xlsx", edit)
    wizard = make_wizard(people["cora"], path)

    # Step 1: the first rows of the sheet and the mapping the template profile applies.
    page = wizard.source_page
    assert wizard.source is not None and wizard.source.problem is None
    assert page.sheet_combo.currentData() == "Genes"  # not the Instructions sheet
    assert page.sheet_model.index(0, 1).data() == "symbol"
    assert page.sheet_model.headerData(1, Qt.Orientation.Horizontal) == "B"
    page.sheet_combo.setCurrentIndex(page.sheet_combo.findData("Assertions"))
    assert page.sheet_model.index(1, 0).data() == "AS-00001"
    mapping = {
        page.mapping_model.index(r, 2).data(): page.mapping_model.index(r, 4).data()
        for r in range(page.mapping_model.rowCount())
    }
    assert mapping["ID"] == "(record id)" and mapping["evidence_level"] == "evidence_level"
    assert page.isComplete()

    # Step 2: the dry run, off the UI thread, with its counts and no errors.
    assert dry_run(qtbot, wizard) == "done"
    preview = wizard.outcome.preview  # type: ignore[union-attr]
    assert (preview.changed, preview.new, preview.invalid) == (1, 0, 0)
    assert ">1<" in tile(wizard, "changed") and f">{len(preview.rows):,}<" in tile(wizard, "rows")
    counts = wizard.dry_run_page.counts_model
    rows = {counts.index(r, 0).data(): r for r in range(counts.rowCount())}
    assert counts.index(rows["assertion"], 2).data() == "1"
    assert wizard.dry_run_page.error_model.rowCount() == 0
    assert change_sets(kb) == []  # a dry run writes nothing
    apply = wizard.button(QWizard.WizardButton.CommitButton)
    assert apply.text() == "Apply" and apply.isEnabled()

    # Apply: one draft change set, then the way to it.
    with qtbot.waitSignal(wizard.applied, timeout=WAIT) as blocker:
        apply.click()
    change_set = blocker.args[0]
    assert change_set == "CS-00002" and change_sets(kb) == ["CS-00002"]
    with kb.read() as session:
        staged = get_change_set(session, change_set)
        assert [(c.op, c.human_id, dict(c.fields)) for c in staged.changes] == [
            (ChangeOp.UPDATE, "AS-00001", {"evidence_level": "2"})
        ]
        assert staged.author == "cora"
        assert get_record(session, "AS-00001").fields["evidence_level"] == "1"  # not merged
    assert wizard.currentPage() is wizard.done_page
    assert "CS-00002" in wizard.done_page.message.text()
    with qtbot.waitSignal(wizard.open_draft_requested, timeout=WAIT) as opened:
        wizard.done_page.open_button.click()
    assert opened.args == ["CS-00002"]


def test_file_import_opens_from_the_menu_and_the_draft_dock_shows_the_result(
    qtbot, kb, people, demo_url, tmp_path
) -> None:
    path = demo_export(kb, tmp_path / "demo.xlsx", lambda b: b["Assertions"].cell(2, 7, "2"))
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(open_kb(demo_url), people["cora"], settings=settings)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.draft_loaded, timeout=WAIT):
        window.show()
    action = window.action("import")
    assert action.shortcut().toString() == "Ctrl+I"
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert action in file_menu.actions()

    action.trigger()
    wizard = window.findChild(ImportWizard)
    assert isinstance(wizard, ImportWizard) and wizard.isVisible()
    with qtbot.waitSignal(wizard.source_loaded, timeout=WAIT):
        wizard.set_source(path)
    assert dry_run(qtbot, wizard) == "done"
    with qtbot.waitSignal(window.draft_loaded, timeout=WAIT):
        wizard.button(QWizard.WizardButton.CommitButton).click()
    assert window.draft_dock.data.change_set is not None
    assert window.draft_dock.data.change_set.human_id == "CS-00002"
    with qtbot.waitSignal(window.draft_loaded, timeout=WAIT):
        wizard.done_page.open_button.click()
    assert window.draft_dock.isVisible()
    assert "CS-00002" in window.draft_dock.heading.text()
    window.workers.wait()


# --- error paths --------------------------------------------------------------------------


def test_a_file_that_is_not_a_spreadsheet_is_an_error_not_a_crash(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    wizard = make_wizard(people["cora"], path)
    assert "PNG image, not a spreadsheet" in wizard.source_page.status.text()
    assert wizard.source_page.sheet_model.rowCount() == 0

    assert dry_run(qtbot, wizard) == "done"
    assert wizard.outcome is not None and wizard.outcome.preview.fatal
    errors = wizard.dry_run_page.error_model
    assert errors.rowCount() == 1
    assert errors.index(0, 0).data() == "photo.xlsx"
    assert "not a spreadsheet" in errors.index(0, 5).data()
    assert "cannot be imported" in wizard.dry_run_page.state.text()
    assert wizard.apply_refusal() == "the file cannot be imported"
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert change_sets(kb) == []


def biomarker_rows(path: Path) -> Path:
    return write_template_rows(
        path,
        {
            RecordType.BIOMARKER: [
                (None, {"kind": "sequence_variant", "gene": "BRAF", "protein_change": "p.K601E"}),
                (None, {"kind": "sequence_variant", "gene": "NOTAGENE", "protein_change": "p.X1"}),
            ]
        },
    )


def test_invalid_rows_are_located_shown_and_block_apply_until_skipped(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    wizard = make_wizard(people["cora"], biomarker_rows(tmp_path / "new.xlsx"))
    assert dry_run(qtbot, wizard) == "done"
    page = wizard.dry_run_page
    preview = wizard.outcome.preview  # type: ignore[union-attr]
    assert (len(preview.rows), preview.new, preview.invalid) == (2, 1, 1)
    assert ">1<" in tile(wizard, "invalid")

    # Every error is located as the spreadsheet shows it.
    errors = page.error_model
    assert errors.rowCount() >= 1
    located = {
        tuple(errors.index(r, c).data() for c in (0, 1, 2, 3, 4)) for r in range(errors.rowCount())
    }
    assert ("new.xlsx", "Biomarkers", "3", "C", "gene") in located
    # Clicking an error shows its row, the offending cell marked with the message.
    gene_error = next(r for r in range(errors.rowCount()) if errors.index(r, 4).data() == "gene")
    page.error_view.selectRow(gene_error)
    cells = page.row_model
    values = {cells.index(r, 1).data(): cells.index(r, 2).data() for r in range(cells.rowCount())}
    assert values["gene"] == "NOTAGENE" and values["protein_change"] == "p.X1"
    gene_cell = next(r for r in range(cells.rowCount()) if cells.index(r, 0).data() == "C")
    assert cells.index(gene_cell, 2).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert cells.index(gene_cell, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert "row 3" in page.row_label.text()

    # Apply is refused: the button says why, and kb refuses too if asked anyway.
    apply = wizard.button(QWizard.WizardButton.CommitButton)
    assert not apply.isEnabled()
    assert "1 of 2 rows are invalid" in page.apply_hint.text()
    with qtbot.waitSignal(wizard.apply_failed, timeout=WAIT) as refused:
        wizard.start_apply()
    assert "rows are invalid" in refused.args[0] and "Not applied" in page.state.text()
    assert change_sets(kb) == []

    # Skipping the invalid rows imports the other one; the skipped row stays on the change set.
    page.skip_invalid.setChecked(True)
    assert apply.isEnabled()
    with qtbot.waitSignal(wizard.applied, timeout=WAIT) as blocker:
        apply.click()
    with kb.read() as session:
        staged = get_change_set(session, blocker.args[0])
    assert [(c.op, c.fields.get("protein_change")) for c in staged.changes] == [
        (ChangeOp.CREATE, "p.Lys601Glu")
    ]
    assert len(staged.skipped) == 1 and staged.skipped[0]["location"]["row"] == 3
    assert "1 invalid row(s) were left out" in wizard.done_page.message.text()


def test_errors_export_to_xlsx_and_csv(qtbot, kb, people, make_wizard, tmp_path) -> None:
    wizard = make_wizard(people["cora"], biomarker_rows(tmp_path / "new.xlsx"))
    assert dry_run(qtbot, wizard) == "done"
    count = wizard.dry_run_page.error_model.rowCount()
    for name in ("errors.csv", "errors.xlsx"):
        target = tmp_path / name
        with qtbot.waitSignal(wizard.errors_exported, timeout=WAIT):
            wizard.export_errors_to(target)
        assert target.is_file()
    with (tmp_path / "errors.csv").open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == count
    assert {"Biomarkers"} == {line["sheet"] for line in lines}
    book = openpyxl.load_workbook(tmp_path / "errors.xlsx")
    assert "Errors" in book.sheetnames
    assert f"Wrote {count} error(s)" in wizard.dry_run_page.state.text()


def test_cancelling_the_dry_run_leaves_nothing_and_the_window_keeps_running(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    rows = [
        (None, {"kind": "sequence_variant", "gene": "BRAF", "protein_change": f"p.V{i}E"})
        for i in range(1, 30_001)
    ]
    path = write_template_rows(tmp_path / "big.xlsx", {RecordType.BIOMARKER: rows})
    wizard = make_wizard(people["cora"], path)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    wizard.next()
    task = wizard._task
    assert task is not None
    with qtbot.waitSignal(task.progressed, timeout=WAIT):
        pass  # the dry run is under way: rows are being read
    assert wizard.dry_run_page.cancel_button.isVisible()
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=WAIT) as blocker:
        wizard.dry_run_page.cancel_button.click()
    timer.stop()
    assert blocker.args == ["cancelled"]
    assert wizard.outcome is None and "Cancelled" in wizard.dry_run_page.state.text()
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert len(ticks) >= 3  # the UI thread kept turning while the worker read the file
    assert change_sets(kb) == []


def test_a_user_who_may_not_edit_can_dry_run_but_not_apply(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    path = demo_export(kb, tmp_path / "demo.xlsx", lambda b: b["Assertions"].cell(2, 7, "2"))
    wizard = make_wizard(people["rm"], path)
    assert dry_run(qtbot, wizard) == "done"
    assert wizard.outcome is not None and wizard.outcome.preview.changed == 1
    refusal = wizard.apply_refusal()
    assert refusal is not None and "release-manager" in refusal
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()


# --- a TOML mapping profile -----------------------------------------------------------------


PROFILE = """
name = "Lab variant list"
record_type = "biomarker"
header_row = 2
delimiter = ","

[columns]
"Gene" = "gene"
"Protein change" = "protein_change"
"Comment" = "label"

[constants]
kind = "sequence_variant"
"""


def test_a_toml_profile_shows_its_mapping_and_is_dry_run(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    profile = tmp_path / "lab.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    data = tmp_path / "variants.csv"
    data.write_text(
        "Lab export 2026-11\nGene,Protein change,Comment,Ignored\nBRAF,p.K601E,lab call,x\n"
        "KRAS,p.G12C,,y\n",
        encoding="utf-8",
    )
    wizard = make_wizard(people["cora"], data, str(profile))
    page = wizard.source_page
    assert page.toml_edit.isVisible() and page.profile() == str(profile)
    mapping = {
        page.mapping_model.index(r, 2).data(): (
            page.mapping_model.index(r, 1).data(),
            page.mapping_model.index(r, 4).data(),
            page.mapping_model.index(r, 5).data(),
        )
        for r in range(page.mapping_model.rowCount())
    }
    assert mapping["Gene"] == ("A", "gene", "")
    assert mapping["Protein change"] == ("B", "protein_change", "")
    assert mapping["Ignored"] == ("D", "", "ignored")
    assert mapping["(constant)"] == ("", "kind", "= 'sequence_variant'")
    # The header row is the second: shown in bold among the first rows.
    assert page.sheet_model.index(1, 0).data(Qt.ItemDataRole.FontRole).bold()
    assert dry_run(qtbot, wizard) == "done"
    preview = wizard.outcome.preview  # type: ignore[union-attr]
    assert len(preview.rows) == 2 and preview.invalid == 0


def test_read_source_reports_a_missing_profile_column(tmp_path) -> None:
    profile = tmp_path / "lab.toml"
    profile.write_text(PROFILE.replace("header_row = 2", "header_row = 1"), encoding="utf-8")
    data = tmp_path / "variants.csv"
    data.write_text("Gene,Protein\nBRAF,p.V600E\n", encoding="utf-8")
    source = read_source(data, str(profile))
    assert source.problem is None
    missing = [row for row in source.mapping if row.problem]
    assert {row.header for row in missing} == {"Protein change", "Comment"}
    assert all(row.note == "not in the header row" for row in missing)


# --- a third party's sheet, mapped in the wizard (issue 16) --------------------------------------


def _select_value(qtbot, wizard: ImportWizard, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    grouped = wizard.dry_run_page.grouped
    groups = grouped.group_model
    row = next(
        r
        for r in range(groups.rowCount())
        if groups.group_at(r).field == field  # type: ignore[union-attr]
    )
    with qtbot.waitSignal(
        wizard.candidates_ready, timeout=WAIT, check_params_cb=lambda f, v: (f, v) == (field, value)
    ):
        grouped.group_view.selectRow(row)
        values = grouped.value_model
        grouped.value_view.selectRow(
            next(r for r in range(values.rowCount()) if values.value_at(r).value == value)  # type: ignore[union-attr]
        )


def test_third_party_sheet_from_file_to_submitted_change_set(
    qtbot, kb: Kb, people: dict[str, Actor], workers: Workers, tmp_path: Path
) -> None:
    path = write_interpretations(tmp_path / "partnerlab.xlsx")
    profile_path = tmp_path / "partnerlab.toml"
    wizard = ImportWizard(kb, people["cora"], workers, start_folder=tmp_path)
    qtbot.addWidget(wizard)
    wizard.resize(1280, 720)
    wizard.show()

    # Step 1: every sheet of the workbook, the data on the second.
    with qtbot.waitSignal(wizard.source_loaded, timeout=WAIT):
        wizard.set_source(path, CUSTOM, save_to=profile_path)
    page = wizard.source_page
    assert "2 sheet(s)" in page.status.text()
    assert [page.sheet_combo.itemData(i) for i in range(page.sheet_combo.count())] == [
        "About",
        "Interpretations",
    ]
    page.sheet_combo.setCurrentIndex(page.sheet_combo.findData("Interpretations"))
    assert page.sheet_model.index(0, 0).data() == "Gene Symbol"
    assert page.isComplete()

    # Step 2: map the columns (the choosers start from guesses; the curator sets each).
    wizard.next()
    assert wizard.currentId() == wizard.mapping_id
    mapping = wizard.mapping_page
    assert mapping.sheet_combo.currentData() == "Interpretations"
    assert mapping.rtype() is RecordType.ASSERTION
    for header, field in {
        "Gene Symbol": "gene",
        "Alteration": "alteration",
        "Cancer Type": "tumour_types",
        "Drug(s)": "drugs",
        "Level of Evidence": "evidence_level",
        "PMIDs": "pmids",
        "Curator note": "",
    }.items():
        mapping.set_field(header, field)
    mapping.set_default("implication", "sensitive")
    mapping.set_default("line_of_therapy", "any")
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=WAIT) as ran:
        wizard.next()  # saves the profile, then the dry run
    assert ran.args == ["done"]
    assert load_profile(profile_path).mappings[0].columns["Cancer Type"] == "tumour_types"
    preview = wizard.outcome.preview  # type: ignore[union-attr]
    assert preview.invalid == 5
    grouped = wizard.dry_run_page.grouped
    reasons = {
        (g.code, g.field): g.count
        for g in (grouped.group_model.group_at(r) for r in range(grouped.group_model.rowCount()))
        if g is not None
    }
    assert reasons == {
        ("invalid_value", "evidence_level"): 5,
        ("unknown_code", "tumour_types"): 4,
        ("not_approved_symbol", "gene"): 2,
    }
    # Messages wrap in full; the grouped report goes out from the wizard.
    assert grouped.group_view.wordWrap()
    report = tmp_path / "by-reason.xlsx"
    with qtbot.waitSignal(wizard.report_exported, timeout=WAIT):
        wizard.export_report_to(report)
    sheet = openpyxl.load_workbook(report)["Errors by reason"]
    assert {sheet.cell(r, 4).value for r in range(2, sheet.max_row + 1)} == {
        "Level 1",
        "Breast Carcinoma",
        "Non small cell lung cancer",
        "HER2",
    }

    # Step 3: each unknown value, mapped once for all its rows from the ranked candidates.
    for (field, value), expected in CHOICES.items():
        _select_value(qtbot, wizard, field, value)
        assert grouped.choice() == expected, (field, value)
        assert "for all 2 rows" in grouped.map_button.text() or "for all 5 rows" in (
            grouped.map_button.text()
        )
        with qtbot.waitSignal(wizard.dry_run_finished, timeout=WAIT):
            qtbot.mouseClick(grouped.map_button, Qt.MouseButton.LeftButton)
    preview = wizard.outcome.preview  # type: ignore[union-attr]
    assert preview.errors == [] and preview.invalid == 0 and preview.new == 5
    saved = load_profile(profile_path).mappings[0].value_maps
    assert saved["gene"] == {"HER2": "ERBB2"}
    assert saved["tumour_types"] == {
        "Breast Carcinoma": "BRCA",
        "Non small cell lung cancer": "NSCLC",
    }

    # Step 4: apply, then submit from the last page.
    assert wizard.apply_refusal() is None
    with qtbot.waitSignal(wizard.applied, timeout=WAIT) as staged:
        wizard.next()
    human_id = str(staged.args[0])
    assert wizard.currentId() == wizard.done_id
    with qtbot.waitSignal(wizard.submitted, timeout=WAIT):
        qtbot.mouseClick(wizard.done_page.submit_button, Qt.MouseButton.LeftButton)
    with kb.read() as session:
        row = next(cs for cs in list_change_sets(session) if cs.human_id == human_id)
        change_set = get_change_set(session, row.id)
        assert change_set.status is ChangeSetStatus.SUBMITTED
        assert sum(1 for c in change_set.changes if c.record_type is RecordType.ASSERTION) == 5
    assert "Submitted" in wizard.done_page.submit_state.text()

    # The saved profile re-runs unattended: no errors, nothing to map.
    with kb.read() as session:
        again = import_file(session, path, profile=str(profile_path)).preview
    assert again.errors == []


def test_template_profile_on_a_foreign_workbook_says_what_to_do(tmp_path: Path) -> None:
    path = write_interpretations(tmp_path / "partnerlab.xlsx")
    source = read_source(path, "template")
    assert [sheet.name for sheet in source.sheets] == ["About", "Interpretations"]
    assert source.problem is not None and "Map the columns myself" in source.problem


# --- the models keep the Qt contract -------------------------------------------------------------


def test_models_keep_the_qt_contract(qtmodeltester) -> None:
    sheet = SheetModel()
    qtmodeltester.check(sheet)
    sheet.set_sheet(SheetCells("S", 1, [["ID", "gene"], ["BM-00001", "BRAF", 3.0], []]))
    qtmodeltester.check(sheet)
    assert sheet.index(1, 2).data() == "3" and sheet.columnCount() == 3

    mapping = MappingModel()
    qtmodeltester.check(mapping)
    mapping.set_rows([MappingRow("S", "A", "Gene", "biomarker", "gene")])
    qtmodeltester.check(mapping)

    counts = CountsModel()
    qtmodeltester.check(counts)
    counts.set_counts({RecordType.GENE: TypeCounts(1, 2, 3, 4)})
    qtmodeltester.check(counts)

    errors = ErrorTableModel()
    qtmodeltester.check(errors)
    error = ImportError_(Location("f.xlsx", "S", 2, "B"), "gene", "unknown", "no such gene", "X")
    errors.set_errors([error])
    qtmodeltester.check(errors)
    assert errors.error_at(0) is error and errors.error_at(1) is None

    cells = RowCellsModel()
    qtmodeltester.check(cells)
    cells.set_row(["ID", "gene"], ["", "X", "extra"], {"B": "no such gene"})
    qtmodeltester.check(cells)
    assert cells.rowCount() == 3


def test_closing_the_wizard_mid_run_cancels_it(qtbot, kb, people, make_wizard, tmp_path) -> None:
    path = demo_export(kb, tmp_path / "demo.xlsx", lambda b: None)
    wizard = make_wizard(people["cora"], path)
    wizard.next()
    task = wizard._task
    assert task is not None
    wizard.reject()
    assert task.token.is_cancelled()
    QApplication.processEvents()


def test_taking_the_sources_level_is_the_curators_choice_in_the_wizard(
    qtbot, kb, people, make_wizard, tmp_path
) -> None:
    """A CIViC row about the demo's curated crizotinib/ROS1 assertion: by default the curated
    level stands; ticking "level" re-runs the dry run with the source's level taken, and
    applying stages exactly that change."""
    lines = (
        require_shared(SHARED_DATA / "civic" / "civic-evidence-sample-2024-08-01.tsv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    header, cells = lines[0].split("\t"), lines[30].split("\t")
    for column, value in (
        ("molecular_profile", "ROS1 Fusion"), ("disease", "Lung Non-small Cell Carcinoma"),
        ("doid", "3908"), ("therapies", "Crizotinib"), ("evidence_level", "B"),
        ("evidence_id", "9701"),
    ):  # fmt: skip
        cells[header.index(column)] = value
    path = tmp_path / "ros1.tsv"
    path.write_text(lines[0] + "\n" + "\t".join(cells) + "\n", encoding="utf-8")
    wizard = make_wizard(people["cora"], path, "civic-evidence")
    assert dry_run(qtbot, wizard) == "done"
    kept = wizard.outcome.preview  # type: ignore[union-attr]
    assert kept.by_type[RecordType.ASSERTION].changed == 0
    box = wizard.dry_run_page.take_boxes[("evidence_level",)]
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=WAIT):
        box.setChecked(True)
    taken = wizard.outcome.preview  # type: ignore[union-attr]
    (assertion,) = (r for r in taken.plan if r.rtype is RecordType.ASSERTION)
    assert dict(assertion.changes) == {"evidence_level": "3A"}
    with qtbot.waitSignal(wizard.applied, timeout=WAIT):
        wizard.button(QWizard.WizardButton.CommitButton).click()
    (staged,) = change_sets(kb)
    with kb.read() as session:
        updates = [c for c in get_change_set(session, staged).changes if c.op is ChangeOp.UPDATE]
    assert [(c.human_id, dict(c.fields)) for c in updates] == [
        (assertion.target, {"evidence_level": "3A"})
    ]
