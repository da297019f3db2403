"""Reference picker speed at 100,000 records (issue 16), offscreen.

Types queries one keystroke at a time against 100,000 (id, title, summary) entries shaped like a
large KB's therapies and biomarkers, and measures per keystroke:

- baseline_ms: the completer the reference fields had (`QCompleter` in contains mode over
  "ID — title" rows: Qt asks the model for every row's text);
- index_ms: `ReferenceIndex.search` (curator/ref_index.py), what the pickers use now;
- build_s: building the index (done once, on a worker thread, when the records are read).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/picker_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from curator.choices import ChoiceListModel, ListCompleter
from curator.ref_index import ReferenceIndex

GENES = ("BRAF", "EGFR", "KRAS", "ERBB2", "ALK", "ROS1", "MET", "RET", "NTRK1", "PIK3CA", "BRCA1",
         "BRCA2", "IDH1", "IDH2", "FGFR2", "FGFR3", "KIT", "PDGFRA", "ESR1", "NRAS")  # fmt: skip
DRUGS = ("dabrafenib", "trametinib", "osimertinib", "sotorasib", "alectinib", "entrectinib",
         "capmatinib", "selpercatinib", "larotrectinib", "alpelisib", "olaparib", "ivosidenib",
         "pemigatinib", "erdafitinib", "imatinib", "avapritinib", "elacestrant", "binimetinib",
         "encorafenib", "cetuximab")  # fmt: skip
AMINO = "ACDEFGHIKLMNPQRSTVWY"
QUERIES = ("dabrafenib trametinib", "BRAF V600", "tx-04242", "osimer", "egfr l858")


def entries(count: int) -> list[tuple[str, str, str]]:
    rng = random.Random(16)
    out = []
    for n in range(1, count + 1):
        if n % 2:
            gene = rng.choice(GENES)
            position = rng.randint(10, 1200)
            title = f"{gene} {rng.choice(AMINO)}{position}{rng.choice(AMINO)}"
            out.append((f"BM-{n:05d}", title, f"sequence variant · {gene} · somatic"))
        else:
            drugs = rng.sample(DRUGS, rng.choice((1, 2)))
            title = " + ".join(d.capitalize() for d in drugs)
            kind = "combination" if len(drugs) > 1 else "monotherapy"
            out.append((f"TX-{n:05d}", title, f"{kind} · {', '.join(drugs)}"))
    return out


def keystrokes(query: str) -> list[str]:
    return [query[: i + 1] for i in range(len(query)) if query[i] != " "]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    data = entries(args.records)

    start = time.perf_counter()
    index = ReferenceIndex(data)
    build_s = time.perf_counter() - start

    model = ChoiceListModel()
    model.set_items([(key, title) for key, title, _ in data])
    completer = ListCompleter(model, multiple=False)

    baseline, fast = [], []
    for query in QUERIES:
        for typed in keystrokes(query):
            start = time.perf_counter()
            completer.setCompletionPrefix(typed)
            completer.completionCount()
            baseline.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            index.search(typed, limit=50)
            fast.append((time.perf_counter() - start) * 1000)
            app.processEvents()
    b, f = statistics.median(baseline), statistics.median(fast)
    print(f"records          {args.records:,}")
    print(f"keystrokes       {len(fast)}")
    print(f"build_s          {build_s:.2f}")
    print(f"baseline_ms      median {b:.1f}  max {max(baseline):.1f}  (QCompleter, contains)")
    print(f"index_ms         median {f:.1f}  max {max(fast):.1f}  (ReferenceIndex.search)")
    print(f"ratio            {b / f:.0f}x faster per keystroke (median)")


if __name__ == "__main__":
    main()
