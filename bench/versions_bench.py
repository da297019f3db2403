"""Benchmark: snapshot, diff and merge on a KB of 100,000 assertions (issue 3).

Builds a SQLite KB from the demo plus 100,000 synthetic assertions written with Core inserts
(as a large import would leave them), then measures:
  snapshot_100k_s  rebuild the full snapshot of the 100k-assertion version
  diff_100k_s      diff two versions of that KB that differ in 1,000 assertions
  merge_10k_s      approve (merge) a change set of 10,000 field changes
A baseline measured in the same run — reading every revision row's JSON with plain sqlite3 —
is printed so that figures can be compared across noisy machines as ratios.

Run:  .venv/bin/python bench/versions_bench.py [--assertions N]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, select

from kb.demo.loader import build_demo
from kb.model.enums import RecordType
from kb.model.orm import Assertion, AssertionCitation, AssertionTumourType, KbVersion, Revision
from kb.model.records import list_records
from kb.review.changes import approve_change_set, open_draft, submit_change_set
from kb.review.users import authenticate
from kb.review.versions import diff_versions
from kb.storage.db import open_kb
from kb.storage.meta import initialise


def _scopes() -> list[list[str]]:
    # Distinct tumour scopes (one or two demo codes), so no two synthetic assertions are
    # duplicates of each other under kb.model.identity.
    from itertools import combinations

    from kb.demo.loader import demo_tumour_types

    codes = sorted(t["code"] for t in demo_tumour_types() if t["level"] >= 1)
    return [[c] for c in codes] + [list(pair) for pair in combinations(codes, 2)]


LEVELS = ["1", "2", "3A", "3B", "4"]


def build(path: Path, n: int) -> None:
    kb = open_kb(f"sqlite:///{path}")
    with kb.unit_of_work() as s:
        initialise(s, name="bench")
        build_demo(s)
    with kb.unit_of_work() as s:
        expressions = [r.human_id for r in list_records(s, RecordType.EXPRESSION)]
        expression_ids = {r.human_id: r.id for r in list_records(s, RecordType.EXPRESSION)}
        therapies = {r.human_id: r.id for r in list_records(s, RecordType.THERAPY)}
        citations = {r.human_id: r.id for r in list_records(s, RecordType.CITATION)}
        s.add(KbVersion(number=2, created_by="bench", note="synthetic assertions"))
        s.flush()
        therapy_keys, citation_keys = sorted(therapies), sorted(citations)
        scopes = _scopes()
        taken = {
            (r.fields["expression"], r.fields["therapy"], tuple(r.fields["tumour_types"]))
            for r in list_records(s, RecordType.ASSERTION)
        }
        pairs = len(expressions) * len(therapy_keys)
        rows, codes, cites, revisions = [], [], [], []
        for i in range(n):
            record_id = str(uuid.uuid4())
            human = f"AS-{100000 + i:06d}"
            expression = expressions[i % len(expressions)]
            therapy = therapy_keys[(i // len(expressions)) % len(therapy_keys)]
            citation = citation_keys[i % len(citation_keys)]
            scope = scopes[i // pairs]
            # A synthetic assertion that would duplicate a demo one gets another setting.
            line = "maintenance" if (expression, therapy, tuple(scope)) in taken else "any"
            level = LEVELS[i % len(LEVELS)]
            rows.append(
                {
                    "id": record_id,
                    "human_id": human,
                    "row_version": 1,
                    "kb_version": 2,
                    "expression_id": expression_ids[expression],
                    "therapy_id": therapies[therapy],
                    "implication": "sensitive",
                    "evidence_level": level,
                    "level_scheme": "OncoKB therapeutic levels v2 (2019)",
                    "line_of_therapy": line,
                    "specimen": None,
                    "cdx": None,
                    "confirmatory_test": None,
                    "description": f"synthetic assertion {i}",
                }
            )
            codes.extend(
                {"assertion_id": record_id, "code": code, "excluded": False, "position": n}
                for n, code in enumerate(scope)
            )
            cites.append(
                {"assertion_id": record_id, "citation_id": citations[citation], "position": 0}
            )
            revisions.append(
                {
                    "record_id": record_id,
                    "record_type": "assertion",
                    "human_id": human,
                    "kb_version": 2,
                    "change_set_id": None,
                    "deleted": False,
                    "data": {
                        "expression": expression,
                        "therapy": therapy,
                        "tumour_types": scope,
                        "excluded_tumour_types": [],
                        "implication": "sensitive",
                        "evidence_level": level,
                        "level_scheme": "OncoKB therapeutic levels v2 (2019)",
                        "line_of_therapy": line,
                        "specimen": None,
                        "cdx": None,
                        "confirmatory_test": None,
                        "description": f"synthetic assertion {i}",
                        "citations": [citation],
                    },
                }
            )
        for table, batch in (
            (Assertion, rows),
            (AssertionTumourType, codes),
            (AssertionCitation, cites),
            (Revision, revisions),
        ):
            for start in range(0, len(batch), 10000):
                s.execute(insert(table), batch[start : start + 10000])
    kb.close()


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.3f} s")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assertions", type=int, default=100_000)
    parser.add_argument("--merge", type=int, default=10_000)
    parser.add_argument("--diff", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        print(f"building a KB of {args.assertions} assertions …")
        timed("build", lambda: build(path, args.assertions))

        def baseline() -> int:
            with sqlite3.connect(path) as raw:
                return len(raw.execute("SELECT data FROM revision").fetchall())

        base_s, _ = timed("baseline: sqlite3 reads every revision's JSON", baseline)
        kb = open_kb(f"sqlite:///{path}")
        from kb.storage.snapshot import build_snapshot

        def snapshot() -> int:
            with kb.read() as s:
                return len(build_snapshot(s, 2).records["assertion"])

        snapshot_s, count = timed("snapshot of version 2", snapshot)
        assert count >= args.assertions

        with kb.read() as s:
            reviewer = authenticate(s, name="reviewer", password="demo-reviewer")
            curator = authenticate(s, name="curator", password="demo-curator")
            targets = list(
                s.scalars(
                    select(Assertion.human_id)
                    .where(Assertion.human_id.like("AS-1%"))
                    .order_by(Assertion.human_id)
                    .limit(args.merge + args.diff)
                )
            )

        def stage(ids: list[str], level: str) -> str:
            with kb.unit_of_work() as s:
                editor = open_draft(s, actor=curator, title=f"bench {len(ids)}")
                editor.prefetch(ids)
                for human_id in ids:
                    editor.update(human_id, {"description": f"revised for {level}"})
                editor.flush()
                cs = editor.human_id
            with kb.unit_of_work() as s:
                submit_change_set(s, actor=curator, change_set_id=cs)
            return cs

        _, small = timed(
            f"stage + submit {args.diff} changes", lambda: stage(targets[: args.diff], "3B")
        )

        def merge(cs: str) -> int:
            with kb.unit_of_work() as s:
                return approve_change_set(s, actor=reviewer, change_set_id=cs).version

        timed(f"merge {args.diff} changes", lambda: merge(small))

        def diff() -> int:
            with kb.read() as s:
                result = diff_versions(s, 2, 3)
            return sum(c["changed"] for c in result.counts().values())

        diff_s, changed = timed("diff version 2 → 3", diff)
        assert changed == args.diff, changed
        _, big = timed(
            f"stage + submit {args.merge} changes", lambda: stage(targets[args.diff :], "4")
        )
        merge_s, _ = timed(f"merge {args.merge} changes", lambda: merge(big))
        kb.close()
    print(f"baseline_read_all_revisions_s={base_s:.3f}")
    print(f"snapshot_ratio_to_baseline={snapshot_s / base_s:.1f}")
    print(f"diff_100k_s={diff_s:.3f}")
    print(f"merge_10k_s={merge_s:.3f}")
    print(f"snapshot_100k_s={snapshot_s:.3f}")


if __name__ == "__main__":
    main()
