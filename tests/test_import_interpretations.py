"""A third party's interpretations sheet through a TOML profile: its own column names, a gene
alias and a disease spelled its own way; errors grouped by reason; candidates ranked from the
vocabularies; the choices saved into the profile so the re-run is clean; the same on `kb`."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kb.cli.main import main
from kb.importing.candidates import Vocabulary, candidates
from kb.importing.civic import DiseaseMap
from kb.importing.model import ImportError_, Location
from kb.importing.profiles import (
    Profile,
    SheetMapping,
    load_profile,
    parse_profile,
    profile_toml,
    save_profile,
    with_value_map,
)
from kb.importing.report import group_errors, write_error_report
from kb.importing.service import import_file
from kb.model.enums import RecordType, Role
from kb.review.users import add_user
from kb.storage.db import Kb, open_kb
from tests.conftest import demo_admin

HEADER = ["Gene Symbol", "Alteration", "Cancer Type", "Drug(s)", "Level of Evidence", "PMIDs",
          "Curator note"]  # fmt: skip
ROWS = [
    ["BRAF", "V600E", "Melanoma", "Dabrafenib + Trametinib", "Level 1", "26037941; 25265492",
     "combination"],
    ["HER2", "Amplification", "Breast Carcinoma", "Trastuzumab", "Level 1", "17055429", ""],
    ["EGFR", "L858R", "Non small cell lung cancer", "Osimertinib", "Level 1", "28885881", ""],
    ["KRAS", "G12C", "Non small cell lung cancer", "Sotorasib", "Level 1", "34096690", ""],
    ["HER2", "Amplification", "Breast Carcinoma", "Trastuzumab deruxtecan", "Level 1",
     "34534430", ""],
]  # fmt: skip


def write_interpretations(path: Path) -> Path:
    """A partner's workbook: a cover sheet first, the interpretations on the second."""
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "About"
    cover.append(["Actionability export from PartnerLab, 2026-11"])
    sheet = book.create_sheet("Interpretations")
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    book.save(path)
    return path


def partner_profile() -> Profile:
    """The mapping a curator makes on the wizard's mapping page."""
    return Profile(
        "PartnerLab interpretations",
        (
            SheetMapping(
                RecordType.ASSERTION,
                sheet="Interpretations",
                columns={
                    "Gene Symbol": "gene",
                    "Alteration": "alteration",
                    "Cancer Type": "tumour_types",
                    "Drug(s)": "drugs",
                    "Level of Evidence": "evidence_level",
                    "PMIDs": "pmids",
                },
                defaults={"implication": "sensitive", "line_of_therapy": "any"},
            ),
        ),
    )


# What the curator picks for the values the KB does not know.
CHOICES = {
    ("gene", "HER2"): "ERBB2",
    ("tumour_types", "Breast Carcinoma"): "BRCA",
    ("tumour_types", "Non small cell lung cancer"): "NSCLC",
    ("evidence_level", "Level 1"): "1",
}


def _dry_run(kb: Kb, path: Path, profile: Path) -> Any:
    with kb.read() as session:
        return import_file(session, path, profile=str(profile)).preview


def test_profile_round_trips_through_toml(tmp_path: Path) -> None:
    profile = with_value_map(
        partner_profile(), field="tumour_types", value='Lung "NSCLC"\tca', to=["NSCLC", "LUAD"]
    )
    text = profile_toml(profile)
    assert parse_profile(tomllib.loads(text), name="x.toml") == profile
    several = Profile(
        "two",
        (profile.mappings[0], SheetMapping(RecordType.GENE, sheet=2, columns={"Sym": "symbol"})),
        delimiter="\t",
        quoting=False,
    )
    target = tmp_path / "two.toml"
    save_profile(several, target)
    assert load_profile(target) == several


def test_interpretations_sheet_grouped_mapped_and_clean(tmp_path: Path, demo_kb: Kb) -> None:
    path = write_interpretations(tmp_path / "partner.xlsx")
    profile_path = tmp_path / "partner.toml"
    save_profile(partner_profile(), profile_path)
    first = _dry_run(demo_kb, path, profile_path)
    assert first.invalid == 5
    groups = group_errors(first.errors)
    by_reason = {(g.code, g.field): g for g in groups}
    level = by_reason[("invalid_value", "evidence_level")]
    assert level.count == 5 and [(v.value, v.count) for v in level.values] == [("Level 1", 5)]
    disease = by_reason[("unknown_code", "tumour_types")]
    assert [(v.value, v.count) for v in disease.values] == [
        ("Breast Carcinoma", 2),
        ("Non small cell lung cancer", 2),
    ]
    assert [(loc.sheet, loc.row, loc.column) for loc in disease.values[0].examples] == [
        ("Interpretations", 3, "C"),
        ("Interpretations", 6, "C"),
    ]
    alias = by_reason[("not_approved_symbol", "gene")]
    assert "stands for ERBB2" in alias.message and alias.values[0].count == 2
    # "Melanoma" is an OncoTree name: read as its code without asking.
    assert all(v.value != "Melanoma" for v in disease.values)

    with demo_kb.read() as session:
        vocabulary = Vocabulary.from_session(session)
    for (field, value), wanted in CHOICES.items():
        ranked = candidates(field, value, vocabulary)
        assert ranked[0].value == wanted, (field, value, ranked[:3])

    profile = load_profile(profile_path)
    for (field, value), chosen in CHOICES.items():
        profile = with_value_map(profile, field=field, value=value, to=chosen)
    save_profile(profile, profile_path)
    again = _dry_run(demo_kb, path, profile_path)
    assert again.errors == [] and again.invalid == 0
    assert again.new == 5
    assertions = [p for p in again.plan if p.rtype is RecordType.ASSERTION]
    assert sorted(tuple(p.fields["tumour_types"]) for p in assertions) == sorted(
        [("MEL",), ("BRCA",), ("NSCLC",), ("NSCLC",), ("BRCA",)]
    )
    assert {p.fields["evidence_level"] for p in assertions} == {"1"}


def test_unknown_drug_is_reported_unless_new_drugs_allowed(tmp_path: Path, demo_kb: Kb) -> None:
    path = write_interpretations(tmp_path / "partner.xlsx")
    book = openpyxl.load_workbook(path)
    book["Interpretations"]["D2"] = "Dabrafenib mesylate + Trametinib"
    book.save(path)
    profile = partner_profile()
    for (field, value), chosen in CHOICES.items():
        profile = with_value_map(profile, field=field, value=value, to=chosen)
    target = tmp_path / "p.toml"
    save_profile(profile, target)
    (error,) = _dry_run(demo_kb, path, target).errors
    assert (error.code, error.field, error.value, error.location.column) == (
        "unknown_drug", "drugs", "Dabrafenib mesylate", "D"
    )  # fmt: skip
    with demo_kb.read() as session:
        ranked = candidates("drugs", "Dabrafenib mesylate", Vocabulary.from_session(session))
    assert ranked[0].value.lower() == "dabrafenib"
    mapping = profile.mappings[0]
    save_profile(Profile(profile.name, (type(mapping)(**{**mapping.__dict__, "new_drugs": True}),)),
                 target)  # fmt: skip
    assert _dry_run(demo_kb, path, target).errors == []


def test_grouped_report_files(tmp_path: Path) -> None:
    errors = [
        ImportError_(Location("f.xlsx", "S", row, "C"), "tumour_types", "unknown_code",
                     f"{value!r} is not a code", value)
        for row, value in enumerate(["=HYPERLINK(1)", "Lung", "Lung", "Lung"], start=2)
    ]  # fmt: skip
    errors.append(ImportError_(Location("f.xlsx", "S", 9), None, "merged_cells", "cells merged"))
    groups = group_errors(errors)
    assert [(g.code, g.count) for g in groups] == [("unknown_code", 4), ("merged_cells", 1)]
    assert [(v.value, v.count) for v in groups[0].values] == [("Lung", 3), ("=HYPERLINK(1)", 1)]
    write_error_report(groups, tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    assert lines[1][:5] == ["unknown_code", "tumour_types", "4", "Lung", "3"]
    assert lines[2][3] == "'=HYPERLINK(1)"  # never a formula when opened
    assert lines[3][0] == "merged_cells" and lines[3][6] == "S, row 9"
    write_error_report(groups, tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["Errors by reason"]
    assert sheet["A2"].value == "unknown_code" and sheet["F2"].alignment.wrap_text
    write_error_report(groups, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data[0]["values"][0]["example_rows"] == ["S, row 3 C", "S, row 4 C", "S, row 5 C"]


def test_cli_takes_the_profile_and_writes_the_grouped_report(
    tmp_path: Path,
    demo_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_interpretations(tmp_path / "partner.xlsx")
    profile_path = tmp_path / "partner.toml"
    save_profile(partner_profile(), profile_path)
    report = tmp_path / "report.json"
    args = ["--db", demo_url, "import", str(path), "--profile", str(profile_path)]
    code = main([*args, "--dry-run", "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    assert "5 invalid" in out and "reason(s):" in out
    # Grouped by reason, each message whole, then the values with their counts.
    assert "4 × unknown code in tumour_types: 'Breast Carcinoma' is neither an OncoTree code" in out
    assert "2 × 'Non small cell lung cancer'" in out
    groups = json.loads(report.read_text(encoding="utf-8"))
    assert {(g["code"], g["field"], g["count"]) for g in groups} == {
        ("invalid_value", "evidence_level", 5),
        ("unknown_code", "tumour_types", 4),
        ("not_approved_symbol", "gene", 2),
    }
    profile = load_profile(profile_path)
    for (field, value), chosen in CHOICES.items():
        profile = with_value_map(profile, field=field, value=value, to=chosen)
    save_profile(profile, profile_path)
    opened = open_kb(demo_url)
    with opened.unit_of_work() as session:
        add_user(session, actor=demo_admin(session), name="cora", role=Role.CURATOR,
                 password="password1")  # fmt: skip
    opened.close()
    monkeypatch.setenv("KB_PASSWORD", "password1")
    code = main(["--user", "cora", *args])
    out, err = capsys.readouterr()
    assert code == 0, err and "0 invalid" in out and "staged as draft change set" in out


def test_doid_message_names_a_step_that_works(tmp_path: Path, demo_kb: Kb) -> None:
    message = DiseaseMap.load().codes("999999", "Made-up disease")
    assert isinstance(message, str) and "kb import --doid-map" in message
    # Doing what it says: the file it describes is accepted and maps the DOID.
    line = message.split("put the line ")[1].split(" under")[0].replace('"CODE"', '"NSCLC"')
    override = tmp_path / "doid.toml"
    override.write_text(f"[doid]\n{line}\n", encoding="utf-8")
    assert DiseaseMap.load(override).codes("999999", "Made-up disease") == ("NSCLC",)
    civic = tmp_path / "civic.tsv"
    civic.write_text("x\n", encoding="utf-8")
    with demo_kb.read() as session, pytest.raises(Exception, match="reads no DOIDs"):
        import_file(session, civic, profile="template", doid_map=override)
