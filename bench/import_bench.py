"""Import benchmark (issue 4): a 100,000-row template workbook imported into a SQLite KB.

Writes a Biomarkers sheet of 100,000 rows × 18 columns (ID plus every biomarker field) into a
template workbook, then runs what `kb import FILE --dry-run` and `kb import FILE` run (the
second is the dry run plus the apply: one draft change set) against a fresh SQLite KB holding
the demo, each in its own transaction. For scale, in the same run, it also times:

- python-calamine parsing the same file in this process (the baseline);
- our reader alone: the same parse in the memory-capped child process, after the byte-level
  checks of the file (`read_s`);
- the sqlite3 module alone storing the change rows the import wrote, into the same schema and
  page size (`store_rows_s`). `floor_ratio` is (read_s + store_rows_s) / calamine: the part of
  the ratio that no work of ours per row could remove.

Prints, as its last three lines:

    import_100k_s=<dry run + apply, seconds>
    calamine_parse_s=<python-calamine parsing the same file, seconds>
    ratio=<import / calamine>

Run: .venv/bin/python bench/import_bench.py [--rows N] [--keep DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from kb.demo.loader import build_demo
from kb.importing.readers import read_workbook
from kb.importing.service import import_file
from kb.importing.template import TemplateWriter
from kb.model.enums import RecordType
from kb.model.protein import AMINO_ACIDS
from kb.review.users import authenticate
from kb.storage.db import open_kb
from kb.storage.meta import initialise

GENES = ["BRAF", "EGFR", "KRAS", "ERBB2", "PIK3CA", "ALK", "MET", "RET", "ROS1", "NTRK1"]
_AMINO = "ACDEFGHIKLMNPQRSTVWY"


def biomarker(index: int) -> dict[str, object]:
    """A distinct sequence-variant biomarker per index, in the canonical form an export has."""
    gene = GENES[index % len(GENES)]
    rest = index // len(GENES)
    position = 1 + rest // 19
    ref = _AMINO[position % 20]
    alt = [a for a in _AMINO if a != ref][rest % 19]
    change = f"p.{AMINO_ACIDS[ref]}{position}{AMINO_ACIDS[alt]}"
    return {
        "kind": "sequence_variant",
        "gene": gene,
        "origin": "somatic" if index % 7 else "germline",
        "label": f"{gene} {ref}{position}{alt} (benchmark row {index})",
        "protein_change": change,
        "status": "",
        "exclusions": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: reuse the workbook written before"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        run(folder, args.rows, reuse=args.reuse and args.keep is not None)


def run(folder: Path, rows: int, *, reuse: bool = False) -> None:
    workbook = folder / "import_bench.xlsx"
    started = time.perf_counter()
    if not (reuse and workbook.exists()):
        writer = TemplateWriter(workbook)
        writer.sheet(RecordType.BIOMARKER)
        for index in range(rows):
            writer.row(None, biomarker(index))
        writer.close()
    print(f"rows={rows}")
    print(f"columns={1 + 17}")
    print(f"write_workbook_s={time.perf_counter() - started:.2f}")
    print(f"workbook_bytes={workbook.stat().st_size}")

    database = folder / "import_bench.sqlite"
    database.unlink(missing_ok=True)
    kb = open_kb(f"sqlite:///{database}")
    with kb.unit_of_work() as session:
        initialise(session, name="import benchmark")
        build_demo(session)
        curator = authenticate(session, name="curator", password="demo-curator")

    import python_calamine

    started = time.perf_counter()
    sheet = python_calamine.CalamineWorkbook.from_path(workbook).get_sheet_by_name("Biomarkers")
    parsed = sheet.to_python(skip_empty_area=False)
    calamine_s = time.perf_counter() - started
    assert len(parsed) == rows + 1
    del parsed, sheet

    # The reader alone: python-calamine in its memory-capped child process, after the byte-level
    # checks of the file (what every import of an untrusted file pays before any of our work).
    started = time.perf_counter()
    read_workbook(workbook, sheets=["Biomarkers"])
    read_s = time.perf_counter() - started

    # `kb import FILE --dry-run`, then `kb import FILE` (dry run + apply: one draft change set),
    # each in its own transaction, as the command line runs them.
    started = time.perf_counter()
    with kb.unit_of_work() as session:
        outcome = import_file(session, workbook, profile="template", dry_run=True)
    dry_run_s = time.perf_counter() - started
    assert outcome.preview.new == rows, outcome.preview.summary()
    # Freed before the import is timed: unfreed, the dry run's million objects went on the
    # import's clock when its result replaced them.
    del outcome

    started = time.perf_counter()
    with kb.unit_of_work() as session:
        outcome = import_file(session, workbook, profile="template", actor=curator, dry_run=False)
    import_s = time.perf_counter() - started
    assert outcome.change_set_id is not None and outcome.preview.new == rows
    kb.close()

    store_s = _store_floor(database, outcome.change_set_id, folder / "floor.sqlite")
    print(f"change_set={outcome.change_set_id}")
    print(f"read_s={read_s:.2f}")
    print(f"store_rows_s={store_s:.2f}")
    print(f"floor_ratio={(read_s + store_s) / calamine_s:.2f}")
    print(f"dry_run_s={dry_run_s:.2f}")
    print(f"apply_s={import_s - dry_run_s:.2f}")
    print(f"dry_run_ratio={dry_run_s / calamine_s:.2f}")
    print(f"import_100k_s={import_s:.2f}")
    print(f"calamine_parse_s={calamine_s:.2f}")
    print(f"ratio={import_s / calamine_s:.2f}")


def _store_floor(database: Path, change_set_id: str, scratch: Path) -> float:
    """Seconds the sqlite3 module alone takes to store the change rows the import wrote, into a
    table with the same schema, indexes and page size (no Python work per row beyond the
    driver's): the part of an import no code of ours can make faster."""
    source = sqlite3.connect(database)
    schema = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN ('change', 'change_set', 'kb_user') "
            "AND sql IS NOT NULL"
        )
    ]
    columns = "change_set_id, position, op, record_type, record_id, human_id, fields, before, "
    columns += "author_id, updated_at"
    changes = source.execute(
        f"SELECT {columns} FROM change WHERE change_set_id = ? ORDER BY position",
        (change_set_id,),
    ).fetchall()
    parents = {
        "change_set": source.execute(
            "SELECT * FROM change_set WHERE id = ?", (change_set_id,)
        ).fetchall(),
        "kb_user": source.execute("SELECT * FROM kb_user").fetchall(),
    }
    (page_size,) = source.execute("PRAGMA page_size").fetchone()
    source.close()
    scratch.unlink(missing_ok=True)
    target = sqlite3.connect(scratch, isolation_level=None)
    target.execute(f"PRAGMA page_size={page_size}")  # the KB's, as the import writes with
    target.execute("PRAGMA journal_mode=WAL")
    for sql in schema:
        target.execute(sql)
    for table, values in parents.items():  # the rows the change rows refer to
        marks = ", ".join("?" * len(values[0]))
        target.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    target.execute("PRAGMA foreign_keys=ON")  # checked for the change rows, as in the KB
    started = time.perf_counter()
    target.execute("BEGIN IMMEDIATE")
    target.executemany(f"INSERT INTO change ({columns}) VALUES ({', '.join('?' * 10)})", changes)
    target.execute("COMMIT")
    elapsed = time.perf_counter() - started
    target.close()
    return elapsed


if __name__ == "__main__":
    main()
