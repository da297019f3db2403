"""Outcomes benchmark (issue 15): one million outcome rows imported, and the full report built.

Builds the demo KB in a temporary SQLite file, writes the seeded synthetic cohort
(bench/outcomes_cohort.py) at one million episodes as CSV, then times:

- `csv_read_s`: the standard library's csv module reading the same file into rows (the
  baseline: reading is the least any import must do);
- `import_1m_s`: `import_outcomes` on it, as `kb outcomes import` runs it: read through
  kb.importing's reader, identifier scan of every cell, validation of every row, keyed hashes,
  date shifts, one bulk insert and the audit event, committed in one transaction;
- `report_s`: the full analysis (`analyse`: per-assertion stats with Kaplan-Meier curves, exact
  tests, off-label search) plus the self-contained HTML page; `xlsx_s` the workbook besides.

Prints, as its last lines:

    import_1m_s=<seconds, wall clock>
    report_s=<seconds>
    csv_read_s=<seconds>
    ratio=<import / csv read>

Run: .venv/bin/python bench/outcomes_bench.py [--rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.outcomes_cohort import HEADERS, iter_episodes, pick_assertions
from kb.outcomes import OutcomeKey, analyse, import_outcomes
from kb.outcomes.render import render_html, write_xlsx
from kb.review.users import authenticate
from kb.storage.db import open_kb


def main() -> None:
    parser = argparse.ArgumentParser(description="outcomes import and report benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="outcomes-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "kb.sqlite"
    db.unlink(missing_ok=True)
    kb = open_kb(f"sqlite:///{db}")
    from kb.demo.loader import build_demo
    from kb.storage.meta import initialise

    with kb.unit_of_work() as session:
        initialise(session, name="bench")
        build_demo(session)
    cohort = folder / "cohort.csv"
    with kb.read() as session:
        picked = pick_assertions(session)
    with cohort.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(iter_episodes(picked, episodes=args.rows, seed=15))
    print(f"cohort: {args.rows:,} rows, {cohort.stat().st_size / 1e6:.0f} MB")

    start = time.perf_counter()
    with cohort.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    csv_read_s = time.perf_counter() - start
    del rows

    key = OutcomeKey.generate()
    cpu = time.process_time()
    start = time.perf_counter()
    with kb.unit_of_work() as session:
        actor = authenticate(session, name="curator", password="demo-curator")
        result = import_outcomes(session, cohort, actor=actor, key=key)
    import_s = time.perf_counter() - start
    import_cpu = time.process_time() - cpu
    if not result.ok:
        raise SystemExit(f"import failed: {result.errors[:3]}")
    print(f"imported {result.episodes:,} episodes of {result.patients:,} patients")

    cpu = time.process_time()
    start = time.perf_counter()
    with kb.read() as session:
        report = analyse(session)
    page = render_html(report)
    report_s = time.perf_counter() - start
    report_cpu = time.process_time() - cpu
    (folder / "report.html").write_text(page, encoding="utf-8")
    start = time.perf_counter()
    write_xlsx(report, folder / "report.xlsx")
    xlsx_s = time.perf_counter() - start
    kb.close()
    print(f"findings: {[(f.kind.value, f.subject) for f in report.findings]}")
    # The machine is shared: CPU seconds of this process say what the work costs when the
    # load of others inflates the wall clock.
    print(f"load_average={os.getloadavg()[0]:.1f}")
    print(f"import_cpu_s={import_cpu:.2f} report_cpu_s={report_cpu:.2f}")
    print(f"xlsx_s={xlsx_s:.2f}")
    print(f"import_1m_s={import_s:.2f}")
    print(f"report_s={report_s:.2f}")
    print(f"csv_read_s={csv_read_s:.2f}")
    print(f"ratio={import_s / csv_read_s:.1f}")


if __name__ == "__main__":
    main()
