"""Benchmark kb.matching on a synthetic 100k-assertion KB.

Builds a kb.json-shaped dict directly (genes x variants x tumour codes x therapies, plus
categorical, range, copy-number, fusion, TMB, MSI and PD-L1 rules, NOT-only rules every patient
must check, and trials), indexes it with `Matcher.from_snapshot`, matches random patients and
prints the rate as its last line: `match_patients_per_s=…`.

    .venv/bin/python bench/match_bench.py [--assertions 100000] [--patients 5000] [--seed 7]
        [--release DIR --root ROOT.json [--batch-patients 20]]

With a release, it first times `kb match` one process per patient against one batch process
(`--patients DIR`) over the same patients and prints `batch_speedup=…`.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from typing import Any

from kb.demo.loader import demo_tumour_types
from kb.matching.matcher import Matcher, Patient
from kb.model.protein import AMINO_ACIDS

_RESIDUES = [one for one in AMINO_ACIDS if one not in ("*", "U", "O")]
TUMOUR_TYPES = demo_tumour_types()
_CODES = [
    row["code"]
    for row in TUMOUR_TYPES
    if row["level"] >= 2 and row["code"] not in ("MNM", "MPN")  # leaves and near-leaves
]
_SCOPES = [*_CODES, "ALL_SOLID", "ALL_LIQUID", "ALL_TUMOURS", "LUNG", "BOWEL", "BREAST"]
_LEVELS = ["1", "2", "3A", "3B", "4", "R1", "R2"]


def _record(prefix: str, number: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{prefix}-{number:05d}", "uuid": f"{prefix}-{number}", "fields": fields}


def build_snapshot(
    assertions: int = 100_000, genes: int = 400, variants_per_gene: int = 50, seed: int = 7
) -> tuple[dict[str, Any], list[tuple[str, int, str, str]]]:
    """A kb.json-shaped dict and the (gene, codon, ref, alt) variants its biomarkers name."""
    rng = random.Random(seed)
    records: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "gene",
            "biomarker",
            "threshold",
            "expression",
            "drug",
            "therapy",
            "citation",
            "approval",
            "assertion",
            "trial",
            "trial_arm",
        )
    }
    symbols = [f"G{index:04d}" for index in range(1, genes + 1)]
    for index, symbol in enumerate(symbols, start=1):
        role = rng.choice(["oncogene", "tumour_suppressor", "unknown"])
        records["gene"].append(
            _record(
                "GN",
                index,
                {"symbol": symbol, "hgnc_id": f"HGNC:{index}", "aliases": [], "role": role},
            )
        )
    gene_id = {symbol: f"GN-{index:05d}" for index, symbol in enumerate(symbols, start=1)}
    biomarkers: list[dict[str, Any]] = []
    known_variants: list[tuple[str, int, str, str]] = []

    def biomarker(fields: dict[str, Any]) -> str:
        entry = _record("BM", len(biomarkers) + 1, {"origin": "somatic", **fields})
        biomarkers.append(entry)
        return str(entry["id"])

    leaves: list[str] = []
    for symbol in symbols:
        gene = gene_id[symbol]
        for _ in range(variants_per_gene):
            codon = rng.randint(1, 1200)
            ref, alt = rng.sample(_RESIDUES, 2)
            known_variants.append((symbol, codon, ref, alt))
            change = f"p.{ref}{codon}" if rng.random() < 0.05 else f"p.{ref}{codon}{alt}"
            leaves.append(
                biomarker({"kind": "sequence_variant", "gene": gene, "protein_change": change})
            )
        leaves.append(
            biomarker({"kind": "categorical", "gene": gene, "category": "activating_mutations"})
        )
        leaves.append(
            biomarker(
                {"kind": "range", "gene": gene, "exon": rng.randint(1, 30), "consequence": "any"}
            )
        )
        start = rng.randint(1, 1150)
        leaves.append(
            biomarker(
                {
                    "kind": "range",
                    "gene": gene,
                    "codon_start": start,
                    "codon_end": start + rng.randint(0, 40),
                    "consequence": "missense",
                }
            )
        )
        leaves.append(
            biomarker({"kind": "copy_number", "gene": gene, "copy_number": "amplification"})
        )
        leaves.append(biomarker({"kind": "fusion", "gene": gene, "partner_3": gene}))
    tmb = biomarker({"kind": "characteristic", "characteristic": "TMB", "status": "high"})
    msi = biomarker({"kind": "characteristic", "characteristic": "MSI", "status": "high"})
    pdl1 = biomarker({"kind": "expression", "gene": gene_id[symbols[0]], "assay": "IHC"})
    records["biomarker"] = biomarkers
    records["threshold"] = [
        _record("TH", 1, {"metric": "TMB", "operator": ">=", "value": "10", "unit": "mut/Mb"}),
        _record("TH", 2, {"metric": "PDL1_TPS", "operator": ">=", "value": "50", "unit": "%"}),
    ]

    expressions: list[dict[str, Any]] = []

    def expression(tree: dict[str, Any]) -> str:
        entry = _record("BX", len(expressions) + 1, {"tree": tree})
        expressions.append(entry)
        return str(entry["id"])

    pool = [expression({"biomarker": leaf}) for leaf in leaves]
    for _ in range(len(leaves) // 10):
        first, second = rng.sample(leaves, 2)
        pool.append(expression({"op": "OR", "args": [{"biomarker": first}, {"biomarker": second}]}))
        pool.append(
            expression(
                {
                    "op": "AND",
                    "args": [
                        {"biomarker": first},
                        {"op": "NOT", "args": [{"biomarker": second}]},
                    ],
                }
            )
        )
    pool.append(expression({"biomarker": tmb, "threshold": "TH-00001"}))
    pool.append(expression({"biomarker": msi}))
    pool.append(
        expression(
            {
                "op": "AND",
                "args": [
                    {"biomarker": pdl1, "threshold": "TH-00002"},
                    {"op": "NOT", "args": [{"biomarker": leaves[0]}]},
                ],
            }
        )
    )
    # Rules no fact indexes: every patient evaluates these.
    always = [
        expression({"op": "NOT", "args": [{"biomarker": rng.choice(leaves)}]}) for _ in range(20)
    ]
    records["expression"] = expressions

    records["drug"] = [_record("DR", i, {"name": f"drug-{i}"}) for i in range(1, 301)]
    records["therapy"] = [
        _record(
            "TX",
            i,
            {
                "name": f"therapy-{i}",
                "combination": "monotherapy",
                "drugs": [f"DR-{rng.randint(1, 300):05d}"],
            },
        )
        for i in range(1, 201)
    ]
    for number in range(1, assertions + 1):
        chosen = rng.choice(always) if number <= 20 else rng.choice(pool)
        scopes = rng.sample(_SCOPES, rng.choice([1, 1, 2]))
        excluded = [rng.choice(_CODES)] if "ALL_SOLID" in scopes and rng.random() < 0.3 else []
        level = rng.choice(_LEVELS)
        records["assertion"].append(
            _record(
                "AS",
                number,
                {
                    "expression": chosen,
                    "therapy": f"TX-{rng.randint(1, 200):05d}",
                    "tumour_types": scopes,
                    "excluded_tumour_types": excluded,
                    "implication": "resistant" if level.startswith("R") else "sensitive",
                    "evidence_level": level,
                    "level_scheme": "OncoKB",
                    "line_of_therapy": "any",
                    "specimen": "tissue",
                    "cdx": None,
                    "confirmatory_test": None,
                    "description": "",
                    "citations": [],
                },
            )
        )
    arm = 0
    for number in range(1, 501):
        status = rng.choice(["RECRUITING", "RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED"])
        records["trial"].append(
            _record(
                "TR",
                number,
                {
                    "nct_id": f"NCT{number:08d}",
                    "title": f"trial {number}",
                    "phase": "PHASE2",
                    "status": status,
                    "citations": [],
                },
            )
        )
        for code in range(4):
            arm += 1
            records["trial_arm"].append(
                _record(
                    "TA",
                    arm,
                    {
                        "trial": f"TR-{number:05d}",
                        "code": f"A{code}",
                        "name": "",
                        "expression": rng.choice(pool),
                        "therapy": None,
                        "tumour_types": rng.sample(_SCOPES, 1),
                        "excluded_tumour_types": [],
                        "min_age": 18,
                        "max_age": None,
                        "sex": "ALL",
                        "suspended": rng.random() < 0.1,
                    },
                )
            )
    snapshot = {
        "format": "kb-curator-snapshot/1",
        "kb_id": "bench",
        "kb_version": 1,
        "vocabularies": {"oncotree": "demo"},
        "tumour_types": TUMOUR_TYPES,
        "records": records,
    }
    return snapshot, known_variants


def random_patients(
    count: int, known: Sequence[tuple[str, int, str, str]], genes: int, seed: int = 11
) -> list[Patient]:
    """Patients with 3-15 variants, half of them ones the KB names, and random measurements."""
    rng = random.Random(seed)
    patients = []
    for number in range(count):
        variants = []
        for _ in range(rng.randint(3, 15)):
            if rng.random() < 0.5:
                symbol, codon, ref, alt = rng.choice(known)
            else:
                symbol = f"G{rng.randint(1, genes * 2):04d}"  # half outside the KB
                codon = rng.randint(1, 1200)
                ref, alt = rng.sample(_RESIDUES, 2)
            variant: dict[str, Any] = {"gene": symbol, "protein_change": f"p.{ref}{codon}{alt}"}
            if rng.random() < 0.5:
                variant["oncogenic"] = rng.random() < 0.5
            if rng.random() < 0.5:
                variant["exon"] = rng.randint(1, 30)
            variants.append(variant)
        data: dict[str, Any] = {
            "id": f"P{number}",
            "oncotree_code": rng.choice(_CODES),
            "age": rng.randint(1, 90),
            "sex": rng.choice(["female", "male"]),
            "variants": variants,
            "copy_number": [
                {"gene": f"G{rng.randint(1, genes):04d}", "call": "amplification"}
                for _ in range(rng.randint(0, 2))
            ],
            "fusions": [
                {"five_prime": "EML4", "three_prime": f"G{rng.randint(1, genes):04d}"}
                for _ in range(rng.randint(0, 1))
            ],
        }
        if rng.random() < 0.7:
            data["tmb"] = round(rng.uniform(0, 40), 1)
        if rng.random() < 0.5:
            data["msi"] = rng.choice(["MSI-H", "MSS"])
        if rng.random() < 0.5:
            data["pdl1_tps"] = rng.randint(0, 100)
        patients.append(Patient.from_json(data))
    return patients


def main(argv: Sequence[str] | None = None) -> float:
    """Run the benchmark; print figures, the last line `match_patients_per_s=…`; return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--assertions", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--release", help="a release folder: also time kb match's batch mode")
    parser.add_argument("--root", help="the trust root for --release")
    parser.add_argument("--batch-patients", type=int, default=20)
    args = parser.parse_args(argv)
    if args.release and args.root:
        batch_figures(args.release, args.root, args.batch_patients)
    genes = 400
    started = time.perf_counter()
    snapshot, known = build_snapshot(args.assertions, genes=genes, seed=args.seed)
    built = time.perf_counter()
    matcher = Matcher.from_snapshot(snapshot)
    indexed = time.perf_counter()
    patients = random_patients(args.patients, known, genes, seed=args.seed + 1)
    therapies = trials = 0
    begin = time.perf_counter()
    for patient in patients:
        result = matcher.match(patient)
        therapies += len(result.therapies)
        trials += len(result.trials)
    elapsed = time.perf_counter() - begin
    rate = len(patients) / elapsed if elapsed else float("inf")
    counts = {name: len(rows) for name, rows in snapshot["records"].items() if rows}
    print(f"records: {counts}")
    print(f"synthetic snapshot built in {built - started:.2f} s")
    print(f"Matcher.from_snapshot: {indexed - built:.2f} s")
    print(
        f"matched {len(patients)} patients in {elapsed:.2f} s: "
        f"{therapies / len(patients):.1f} therapies and {trials / len(patients):.2f} trial arms "
        "per patient"
    )
    print(f"match_patients_per_s={rate:.0f}")
    return rate


def batch_figures(release: str, root: str, patients: int = 20) -> float:
    """`kb match` once per patient (a process each) against one `kb match --patients DIR`
    process for the same patients; prints both times and their ratio, `batch_speedup=…`."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "resources" / "patients"
    profiles = sorted(demo.glob("*.json"))
    with tempfile.TemporaryDirectory() as folder:
        for index in range(patients):
            data = json.loads(profiles[index % len(profiles)].read_text("utf-8"))
            data.pop("$schema", None)
            data["id"] = f"bench-{index}"
            (Path(folder) / f"{index:04d}.json").write_text(json.dumps(data), "utf-8")
        base = [sys.executable, "-m", "kb", "match", "--release", release, "--root", root]
        begin = time.perf_counter()
        for path in sorted(Path(folder).glob("*.json")):
            subprocess.run([*base, "--patient", str(path)], check=True, capture_output=True)
        single = time.perf_counter() - begin
        begin = time.perf_counter()
        subprocess.run([*base, "--patients", folder], check=True, capture_output=True)
        batch = time.perf_counter() - begin
    print(f"kb match, one process per patient: {single / patients:.3f} s per patient")
    print(f"kb match --patients DIR: {batch / patients:.3f} s per patient ({patients} patients)")
    print(f"batch_speedup={single / batch:.1f}")
    return single / batch


if __name__ == "__main__":
    main()
