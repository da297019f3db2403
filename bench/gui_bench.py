"""GUI speed with a large KB (issue 6 item 9), offscreen.

Builds a SQLite KB with 100,000 assertions (SQLAlchemy Core inserts into a migrated database:
genes, biomarkers, expressions and their nodes, drugs, therapies, assertions and their tumour
types), then starts the main window and measures:

- first_rows_s: from opening the KB to the first assertion rows painted (goal <= 2 s);
- filter_ms_median: one search keystroke, model filtered and the view repainted, over ~20
  keystrokes typed one at a time (goal <= 100 ms);
- rss_mb: resident memory afterwards, from /proc/self/status (goal <= 600 MB).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_bench.py [--assertions N] [--db FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sqlalchemy import insert

from kb.demo.loader import DEMO_RECORDS, demo_tumour_types
from kb.model.enums import (
    LEVEL_SCHEME,
    BiomarkerKind,
    Combination,
    EvidenceLevel,
    ExpressionOp,
    GeneRole,
    Implication,
    LineOfTherapy,
    Origin,
)
from kb.model.orm import (
    Assertion,
    AssertionTumourType,
    Biomarker,
    Drug,
    Expression,
    ExpressionNode,
    Gene,
    HumanIdCounter,
    KbVersion,
    Therapy,
    TherapyDrug,
)
from kb.storage.db import open_kb
from kb.storage.meta import initialise
from kb.vocab.bundled import load_bundled

_AMINO = "ACDEFGHIKLMNPQRSTVWY"
_THREE = {
    "A": "Ala",
    "C": "Cys",
    "D": "Asp",
    "E": "Glu",
    "F": "Phe",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "K": "Lys",
    "L": "Leu",
    "M": "Met",
    "N": "Asn",
    "P": "Pro",
    "Q": "Gln",
    "R": "Arg",
    "S": "Ser",
    "T": "Thr",
    "V": "Val",
    "W": "Trp",
    "Y": "Tyr",
}
_BATCH = 10_000


def _batched(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(table), rows[start : start + _BATCH])


def _hid(prefix: str, number: int) -> str:
    return f"{prefix}-{number:05d}" if number < 100_000 else f"{prefix}-{number}"


# The demo's genes and drugs, so the synthetic KB starts from real names.
DEMO = yaml.safe_load(DEMO_RECORDS.read_text())["records"]


def build_kb(path: Path, *, assertions: int, seed: int = 6) -> None:
    """A migrated SQLite KB at `path` holding `assertions` synthetic but realistic assertions."""
    rng = random.Random(seed)
    kb = open_kb(f"sqlite:///{path}")
    with kb.unit_of_work() as session:
        initialise(session, name="Bench KB")
        load_bundled(session, "oncotree")
        session.add(KbVersion(number=1, created_by="bench", note="bench KB"))
        session.flush()
        symbols = [g["symbol"] for g in DEMO["gene"]] + [f"GENE{i}" for i in range(1, 379)]
        genes = [
            {
                "id": str(uuid.uuid4()),
                "human_id": _hid("GN", i + 1),
                "row_version": 1,
                "kb_version": 1,
                "symbol": symbol,
                "hgnc_id": f"HGNC:{90000 + i}",
                "name": "",
                "aliases": [],
                "role": GeneRole.ONCOGENE,
            }
            for i, symbol in enumerate(symbols)
        ]
        _batched(session, Gene.__table__, genes)
        biomarkers = []
        names = []
        for i in range(4000):
            gene = genes[rng.randrange(len(genes))]
            ref, alt = rng.choice(_AMINO), rng.choice(_AMINO)
            position = rng.randrange(2, 1200)
            biomarkers.append(
                {
                    "id": str(uuid.uuid4()),
                    "human_id": _hid("BM", i + 1),
                    "row_version": 1,
                    "kb_version": 1,
                    "kind": BiomarkerKind.SEQUENCE_VARIANT,
                    "gene_id": gene["id"],
                    "origin": Origin.SOMATIC,
                    "label": "",
                    "protein_change": f"p.{_THREE[ref]}{position}{_THREE[alt]}",
                    "protein_change_short": f"{ref}{position}{alt}",
                }
            )
            names.append(f"{gene['symbol']} {ref}{position}{alt}")
        _batched(session, Biomarker.__table__, biomarkers)
        expressions, nodes = [], []
        for i in range(20_000):
            expression_id = str(uuid.uuid4())
            if rng.random() < 0.7:
                picked = [rng.randrange(len(biomarkers))]
                text = names[picked[0]]
                nodes.append(
                    {
                        "expression_id": expression_id,
                        "ordinal": 0,
                        "depth": 0,
                        "op": ExpressionOp.LEAF,
                        "biomarker_id": biomarkers[picked[0]]["id"],
                    }
                )
            else:
                picked = rng.sample(range(len(biomarkers)), 2)
                text = " OR ".join(names[p] for p in picked)
                nodes.append(
                    {
                        "expression_id": expression_id,
                        "ordinal": 0,
                        "depth": 0,
                        "op": ExpressionOp.OR,
                        "biomarker_id": None,
                    }
                )
                for n, p in enumerate(picked, start=1):
                    nodes.append(
                        {
                            "expression_id": expression_id,
                            "ordinal": n,
                            "depth": 1,
                            "op": ExpressionOp.LEAF,
                            "biomarker_id": biomarkers[p]["id"],
                        }
                    )
            expressions.append(
                {
                    "id": expression_id,
                    "human_id": _hid("BX", i + 1),
                    "row_version": 1,
                    "kb_version": 1,
                    "text": text,
                }
            )

        _batched(session, Expression.__table__, expressions)
        _batched(session, ExpressionNode.__table__, nodes)
        drug_names = [d["name"] for d in DEMO["drug"]] + [f"drug-{i}" for i in range(1, 264)]
        drugs = [
            {
                "id": str(uuid.uuid4()),
                "human_id": _hid("DR", i + 1),
                "row_version": 1,
                "kb_version": 1,
                "name": name,
            }
            for i, name in enumerate(drug_names)
        ]
        _batched(session, Drug.__table__, drugs)
        therapies, links = [], []
        for i, drug in enumerate(drugs):
            therapy_id = str(uuid.uuid4())
            therapies.append(
                {
                    "id": therapy_id,
                    "human_id": _hid("TX", i + 1),
                    "row_version": 1,
                    "kb_version": 1,
                    "name": drug["name"].capitalize(),
                    "combination": Combination.MONOTHERAPY,
                }
            )
            links.append({"therapy_id": therapy_id, "drug_id": drug["id"], "position": 0})
        _batched(session, Therapy.__table__, therapies)
        _batched(session, TherapyDrug.__table__, links)
        codes = [t["code"] for t in demo_tumour_types() if t["level"] >= 2]
        implications = [Implication.SENSITIVE] * 8 + [Implication.RESISTANT]
        levels = list(EvidenceLevel)
        lines = list(LineOfTherapy)
        rows, scopes = [], []
        for i in range(assertions):
            assertion_id = str(uuid.uuid4())
            implication = rng.choice(implications)
            level = (
                rng.choice([EvidenceLevel.R1, EvidenceLevel.R2])
                if implication is Implication.RESISTANT
                else rng.choice(levels[:5])
            )
            rows.append(
                {
                    "id": assertion_id,
                    "human_id": _hid("AS", i + 1),
                    "row_version": 1,
                    "kb_version": 1,
                    "expression_id": rng.choice(expressions)["id"],
                    "therapy_id": rng.choice(therapies)["id"],
                    "implication": implication,
                    "evidence_level": level,
                    "level_scheme": LEVEL_SCHEME,
                    "line_of_therapy": rng.choice(lines),
                    "description": "",
                }
            )
            for position, code in enumerate(rng.sample(codes, rng.choice((1, 1, 2)))):
                scopes.append(
                    {
                        "assertion_id": assertion_id,
                        "code": code,
                        "excluded": False,
                        "position": position,
                    }
                )
        _batched(session, Assertion.__table__, rows)
        _batched(session, AssertionTumourType.__table__, scopes)
        for prefix, count in (
            ("GN", len(genes)),
            ("BM", len(biomarkers)),
            ("BX", len(expressions)),
            ("DR", len(drugs)),
            ("TX", len(therapies)),
            ("AS", assertions),
        ):
            session.add(HumanIdCounter(prefix=prefix, last=count))
    kb.close()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(path: Path, *, query: str) -> dict[str, float]:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("kb-curator-bench")
    QCoreApplication.setApplicationName("gui-bench")
    QSettings().clear()  # a first start: no saved window state or last view
    from curator.main_window import MainWindow
    from curator.settings import Settings

    started = time.perf_counter()
    kb = open_kb(f"sqlite:///{path}")
    window = MainWindow(kb, None, settings=Settings(), start_view="assertion")
    window.show()
    marks: dict[str, float] = {}
    loop = QEventLoop()

    def arrived(key: str) -> None:
        if key.startswith("assertion"):
            # Paint before taking the time: "shown" means on screen, not in the model.
            window.records.table.viewport().repaint()
            marks.setdefault("first", time.perf_counter() - started)
        if key == "assertion":
            marks["all"] = time.perf_counter() - started
            loop.quit()

    window.table_loaded.connect(arrived)
    QTimer.singleShot(60_000, loop.quit)
    loop.exec()
    app.processEvents()
    rows = window.records.model.rowCount()
    if rows == 0 or "all" not in marks:
        raise SystemExit("the assertion rows never arrived")

    timings = []
    for end in range(1, len(query) + 1):
        began = time.perf_counter()
        window.records.search.setText(query[:end])
        window.records.table.viewport().repaint()
        app.processEvents()
        timings.append((time.perf_counter() - began) * 1000)
    shown = window.records.model.rowCount()
    memory = rss_mb()
    window.close()
    app.processEvents()
    return {
        "rows": rows,
        "shown_after_filter": shown,
        "first_rows_s": marks["first"],
        "all_rows_s": marks["all"],
        "filter_ms_median": statistics.median(timings),
        "filter_ms_max": max(timings),
        "rss_mb": memory,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assertions", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="reuse (or keep) the KB file here")
    parser.add_argument("--query", default="osimertinib nsclc sens")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "bench.sqlite"
        if not path.exists():
            began = time.perf_counter()
            build_kb(path, assertions=args.assertions)
            print(f"built {args.assertions:,} assertions in {time.perf_counter() - began:.1f} s")
        result = measure(path, query=args.query)
    print(f"rows={int(result['rows'])} shown_after_filter={int(result['shown_after_filter'])}")
    print(f"all_rows_s={result['all_rows_s']:.2f} filter_ms_max={result['filter_ms_max']:.1f}")
    print(f"first_rows_s={result['first_rows_s']:.2f}")
    print(f"filter_ms_median={result['filter_ms_median']:.1f}")
    print(f"rss_mb={result['rss_mb']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
