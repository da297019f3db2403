"""Release benchmark: build and verify a signed release of a synthetic 100,000-assertion KB.

    .venv/bin/python bench/release_bench.py [--assertions N] [--keep DIR]

The snapshot is generated directly as data (no database), shaped like a real KB: genes,
biomarkers of every kind, thresholds, expressions, drugs, therapies, approvals, citations,
assertions, trials and arms, plus a previous release's snapshot (1 % of assertions changed, some
added and removed) so the build also diffs. Prints the figures as its last lines:

    release_build_100k_s=…           the build as `kb release create` runs it
    release_build_one_process_100k_s=…  the same build in one process (the app's), the baseline
    build_over_one_process=…
    verify_100k_s=…
    va_spec_100k_s=…                 the VA-Spec rendition alone (statements and their bytes)
    va_spec_share_of_build=…         that time over the whole build's

Targets on our 2-core machine: build ≤ 15 s, verify ≤ 2 s. `main()` runs everything; other
benchmarks (matching) reuse `run_release_bench`, which leaves the verified release in place.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.release.folder import VerifiedRelease, build_release, verify_release
from kb.release.signing import generate_keypair, load_private_key, trust_init
from kb.release.vaspec import va_spec_rendition
from kb.storage.snapshot import canonical_json

_AMINO = ("Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile", "Leu", "Lys")
_AMINO += ("Met", "Phe", "Pro", "Ser", "Thr", "Trp", "Tyr", "Val")
_LEVELS = ("1", "2", "3A", "3B", "4", "R1", "R2")
_LINES = ("first_line", "second_line_plus", "any", "adjuvant", "maintenance")
_STATUSES = ("RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "NOT_YET_RECRUITING")


def _id(prefix: str, number: int) -> str:
    return f"{prefix}-{number:05d}"


def synthetic_snapshot(assertions: int = 100_000, *, seed: int = 7) -> dict[str, Any]:
    """A snapshot (the `Snapshot.as_json()` shape) with `assertions` assertions and realistic
    proportions of everything they refer to."""
    rng = random.Random(seed)

    def new_uuid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def entry(prefix: str, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        return {"id": _id(prefix, number), "uuid": new_uuid(), "fields": fields}

    codes = [f"TT{i:03d}" for i in range(1, 901)]
    tumour_types = [
        {
            "code": code,
            "name": f"Tumour type {i}",
            "main_type": f"Main type {i % 60}",
            "tissue": f"Tissue {i % 30}",
            "parent": None if i < 30 else codes[i % 30],
            "level": 1 if i < 30 else 2,
        }
        for i, code in enumerate(codes)
    ]
    n_genes, n_biomarkers, n_thresholds, n_expressions = 600, 4000, 40, 6000
    genes = [
        entry(
            "GN",
            i,
            {
                "symbol": f"GENE{i}",
                "hgnc_id": f"HGNC:{1000 + i}",
                "name": f"synthetic gene {i}",
                "aliases": [f"G{i}A"],
                "role": "oncogene",
            },
        )
        for i in range(1, n_genes + 1)
    ]
    empty_biomarker = dict.fromkeys(
        (
            "assay",
            "category",
            "characteristic",
            "codon_end",
            "codon_start",
            "consequence",
            "copy_number",
            "exon",
            "partner_3",
            "partner_5",
            "protein_change",
            "status",
        )
    )
    biomarkers = []
    for i in range(1, n_biomarkers + 1):
        gene = _id("GN", rng.randint(1, n_genes))
        fields: dict[str, Any] = {
            **empty_biomarker,
            "gene": gene,
            "origin": "somatic",
            "label": "",
            "exclusions": [],
        }
        kind = ("sequence_variant",) * 6 + ("copy_number", "fusion", "range", "characteristic")
        fields["kind"] = rng.choice(kind)
        match fields["kind"]:
            case "sequence_variant":
                ref, alt = rng.sample(_AMINO, 2)
                fields["protein_change"] = f"p.{ref}{rng.randint(2, 1200)}{alt}"
            case "copy_number":
                fields["copy_number"] = rng.choice(("amplification", "deletion"))
            case "fusion":
                fields["partner_5"] = gene
                fields["partner_3"] = _id("GN", rng.randint(1, n_genes))
            case "range":
                fields["exon"] = rng.randint(1, 30)
                fields["consequence"] = "inframe_deletion"
            case _:
                fields.update(gene=None, characteristic="TMB", status="high")
        biomarkers.append(entry("BM", i, fields))
    thresholds = [
        entry(
            "TH",
            i,
            {
                "metric": "TMB",
                "operator": ">=",
                "value": str(5 + i),
                "unit": "mut/Mb",
                "assay": "FoundationOne CDx",
                "specimen": "tissue",
            },
        )
        for i in range(1, n_thresholds + 1)
    ]
    expressions = []
    for i in range(1, n_expressions + 1):
        leaves = [{"biomarker": _id("BM", rng.randint(1, n_biomarkers))} for _ in range(3)]
        if i % 3 == 0:
            tree: dict[str, Any] = {"op": "OR", "args": leaves[:2]}
        elif i % 7 == 0:
            tree = {"op": "AND", "args": [leaves[0], {"op": "NOT", "args": [leaves[1]]}]}
        else:
            tree = leaves[0]
        expressions.append(entry("BX", i, {"tree": tree}))
    drugs = [
        entry("DR", i, {"name": f"drugomab-{i}", "ncit_code": f"C{100000 + i}"})
        for i in range(1, 401)
    ]
    therapies = []
    for i in range(1, 1201):
        members = sorted({_id("DR", rng.randint(1, 400)) for _ in range(rng.randint(1, 3))})
        therapies.append(
            entry(
                "TX",
                i,
                {
                    "name": " + ".join(f"Drugomab-{m[3:]}" for m in members),
                    "combination": "monotherapy" if len(members) == 1 else "combination",
                    "drugs": members,
                },
            )
        )
    citations = [
        entry(
            "CT",
            i,
            {
                "kind": "pmid",
                "identifier": str(20_000_000 + i),
                "title": f"A trial of drugomab in synthetic cancer, part {i}",
                "url": None,
                "accessed": "2026-10-01",
            },
        )
        for i in range(1, 8001)
    ]
    approvals = [
        entry(
            "AP",
            i,
            {
                "therapy": _id("TX", rng.randint(1, 1200)),
                "agency": "FDA",
                "date": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "indication": "Adults with metastatic synthetic cancer carrying the biomarker.",
                "cdx": "Synthetic CDx",
                "citation": _id("CT", rng.randint(1, 8000)),
            },
        )
        for i in range(1, 1501)
    ]
    assertion_entries = []
    for i in range(1, assertions + 1):
        level = rng.choice(_LEVELS)
        assertion_entries.append(
            entry(
                "AS",
                i,
                {
                    "expression": _id("BX", rng.randint(1, n_expressions)),
                    "therapy": _id("TX", rng.randint(1, 1200)),
                    "tumour_types": rng.sample(codes, rng.randint(1, 3)),
                    "excluded_tumour_types": [],
                    "implication": "resistant" if level.startswith("R") else "sensitive",
                    "evidence_level": level,
                    "level_scheme": "OncoKB therapeutic levels v2 (2019)",
                    "line_of_therapy": rng.choice(_LINES),
                    "specimen": "tissue",
                    "cdx": "Synthetic CDx" if level == "1" else None,
                    "confirmatory_test": None,
                    "description": (
                        f"Synthetic assertion {i}: patients whose tumours carry the biomarker "
                        "respond to the therapy in the tumour types named."
                    ),
                    "citations": [_id("CT", rng.randint(1, 8000))],
                },
            )
        )
    trials, arms = [], []
    for i in range(1, 601):
        trials.append(
            entry(
                "TR",
                i,
                {
                    "nct_id": f"NCT{10_000_000 + i:08d}",
                    "title": f"A phase 2 basket study of drugomab {i}",
                    "phase": "PHASE2",
                    "status": rng.choice(_STATUSES),
                    "citations": [],
                },
            )
        )
        for arm in range(3):
            arms.append(
                entry(
                    "TA",
                    len(arms) + 1,
                    {
                        "trial": _id("TR", i),
                        "code": f"ARM{arm + 1}",
                        "name": f"Arm {arm + 1}",
                        "expression": _id("BX", rng.randint(1, n_expressions)),
                        "therapy": _id("TX", rng.randint(1, 1200)),
                        "tumour_types": rng.sample(codes, 2),
                        "excluded_tumour_types": [],
                        "min_age": 18,
                        "max_age": None,
                        "sex": "ALL",
                        "suspended": False,
                    },
                )
            )
    return {
        "format": "kb-curator-snapshot/1",
        "kb_id": "00000000-0000-4000-8000-000000000100",
        "kb_version": 42,
        "vocabularies": {"oncotree": "oncotree_2025_10_03", "hgnc": "hgnc_2025_10"},
        "tumour_types": tumour_types,
        "records": {
            "approval": approvals,
            "assertion": assertion_entries,
            "biomarker": biomarkers,
            "citation": citations,
            "drug": drugs,
            "expression": expressions,
            "gene": genes,
            "therapy": therapies,
            "threshold": thresholds,
            "trial": trials,
            "trial_arm": arms,
        },
    }


def previous_version(snapshot: dict[str, Any], *, seed: int = 11) -> dict[str, Any]:
    """The snapshot as the previous release had it: 1 % of assertions differ, 100 were not
    there yet, 100 since removed were."""
    rng = random.Random(seed)
    previous = dict(snapshot)
    records = dict(snapshot["records"])
    assertions = records["assertion"]
    kept = assertions[:-100]  # the newest 100 are new in this release
    for index in rng.sample(range(len(kept)), len(kept) // 100):
        changed = copy.deepcopy(kept[index])
        changed["fields"]["evidence_level"] = rng.choice(_LEVELS)
        changed["fields"]["description"] += " (earlier wording)"
        kept[index] = changed
    removed = [
        {
            "id": f"AS-9{n:05d}",
            "uuid": str(uuid.UUID(int=n, version=4)),
            "fields": kept[n]["fields"],
        }
        for n in range(100)
    ]
    records["assertion"] = kept + removed
    previous["records"] = records
    previous["kb_version"] = snapshot["kb_version"] - 1
    return previous


@dataclass(frozen=True, slots=True)
class ReleaseBench:
    release_dir: Path
    trust_root: dict[str, Any]
    verified: VerifiedRelease
    build_s: float
    verify_s: float
    va_spec_s: float
    sequential_build_s: float


def run_release_bench(work: Path, *, assertions: int = 100_000) -> ReleaseBench:
    """Build and verify a release of a synthetic KB under `work`; returns the timings and the
    verified release (left in place for further benchmarks)."""
    snapshot = synthetic_snapshot(assertions)
    previous = previous_version(snapshot)
    keys = generate_keypair(work / "keys", name="release-manager", passphrase=b"bench")
    private = load_private_key(keys.private_path, b"bench")
    root = trust_init([keys.public_path], 1, [private])
    approval = {
        "name": "A. Reviewer",
        "meaning": "approved for release",
        "time": "2026-11-01T09:00:00Z",
        "digest": hashlib.sha256(canonical_json(snapshot)).hexdigest(),
    }
    release_dir = work / "kb-release-bench-2-2026.11.0"

    def build(out_dir: Path, *, parallel: bool | None) -> float:
        started = time.perf_counter()
        build_release(
            snapshot,
            release_version="2026.11.0",
            release_sequence=2,
            previous_release_digest="0" * 64,
            previous_snapshot=previous,
            approvals=[approval],
            created="2026-11-01T09:30:00Z",
            trust_root_envelope=root,
            signing_keys=[private],
            out_dir=out_dir,
            parallel=parallel,
        )
        return time.perf_counter() - started

    # The baseline, in the same run: the build in one process, as the app's worker thread
    # builds (the CLI's build runs the VA-Spec rendition beside the rest, in a second process).
    sequential_build_s = build(work / "sequential", parallel=False)
    shutil.rmtree(work / "sequential")
    build_s = build(release_dir, parallel=None)
    started = time.perf_counter()
    verified = verify_release(release_dir, trusted_root=root, state_file=work / "state.json")
    verify_s = time.perf_counter() - started
    # What the VA-Spec rendition adds: the same step the build ran, timed on its own (the
    # models are imported already, as in the build).
    started = time.perf_counter()
    rendition = va_spec_rendition(
        snapshot, release_version="2026.11.0", release_sequence=2, kb_json_sha256="0" * 64
    )
    rendition.statements_bytes()
    rendition.not_expressed_bytes()
    va_spec_s = time.perf_counter() - started
    return ReleaseBench(
        release_dir, root, verified, build_s, verify_s, va_spec_s, sequential_build_s
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assertions", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build here and keep the release")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        result = run_release_bench(work, assertions=args.assertions)
        sizes = sorted(
            (path.stat().st_size, path.relative_to(result.release_dir).as_posix())
            for path in result.release_dir.rglob("*")
            if path.is_file()
        )[-4:]
        for size, name in reversed(sizes):
            print(f"  {name}: {size / 1e6:.1f} MB")
    # Matching runs on its own synthetic 100k-assertion KB (bench/match_bench.py).
    import match_bench

    print("matching:")
    rate = match_bench.main(["--assertions", str(args.assertions)])
    print(f"release_build_100k_s={result.build_s:.2f}")
    print(f"release_build_one_process_100k_s={result.sequential_build_s:.2f}")
    print(f"build_over_one_process={result.build_s / result.sequential_build_s:.2f}")
    print(f"verify_100k_s={result.verify_s:.2f}")
    print(f"va_spec_100k_s={result.va_spec_s:.2f}")
    print(f"va_spec_share_of_build={result.va_spec_s / result.build_s:.2f}")
    print(f"match_patients_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
