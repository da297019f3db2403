"""Import benchmark (issue 4): a 100,000-row template workbook imported into a SQLite KB.

Writes a Biomarkers sheet of 100,000 rows × 18 columns (ID plus every biomarker field) into a
template workbook, then imports it — the dry run (`preview`) and the apply (one draft change set)
— into a fresh SQLite KB holding the demo. For scale it also parses the same file with
python-calamine in this process. Prints, as its last three lines:

    import_100k_s=<dry run + apply, seconds>
    calamine_parse_s=<python-calamine parsing the same file, seconds>
    ratio=<import / calamine>

Run: .venv/bin/python bench/import_bench.py [--rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kb.db import open_kb
from kb.demo import build_demo
from kb.enums import RecordType, Role
from kb.importing.engine import apply, preview, sha256_of
from kb.importing.template import TemplateWriter, template_adapter
from kb.meta import initialise
from kb.protein import AMINO_ACIDS
from kb.users import add_user, bootstrap_admin

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        run(folder, args.rows)


def run(folder: Path, rows: int) -> None:
    workbook = folder / "import_bench.xlsx"
    started = time.perf_counter()
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
        build_demo(session, author="bench")
        admin = bootstrap_admin(session, name="admin", password="pw-admin-123")
        curator = add_user(
            session, actor=admin, name="curator", role=Role.CURATOR, password="pw-cur-12345"
        )

    import python_calamine

    started = time.perf_counter()
    sheet = python_calamine.CalamineWorkbook.from_path(workbook).get_sheet_by_name("Biomarkers")
    parsed = sheet.to_python(skip_empty_area=False)
    calamine_s = time.perf_counter() - started
    assert len(parsed) == rows + 1

    started = time.perf_counter()
    with kb.unit_of_work() as session:
        result = preview(template_adapter(workbook), session, source=workbook.name)
        dry_run_s = time.perf_counter() - started
        assert result.new == rows, result.summary()
        change_set = apply(
            result,
            session,
            actor=curator,
            source_name=workbook.name,
            source_sha256=sha256_of(workbook),
        )
    import_s = time.perf_counter() - started
    apply_s = import_s - dry_run_s
    kb.close()
    print(f"change_set={change_set}")
    print(f"dry_run_s={dry_run_s:.2f}")
    print(f"apply_s={apply_s:.2f}")
    print(f"dry_run_ratio={dry_run_s / calamine_s:.2f}")
    print(f"import_100k_s={import_s:.2f}")
    print(f"calamine_parse_s={calamine_s:.2f}")
    print(f"ratio={import_s / calamine_s:.2f}")


if __name__ == "__main__":
    main()
