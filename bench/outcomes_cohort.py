"""A seeded synthetic cohort of treatment episodes over the demo KB's assertions, with planted
divergences (issue 15's "done when"): the tests expect exactly the planted alerts, the
benchmark imports a million rows of it.

`make_cohort(session, episodes=5000, seed=15)` picks 30 sensitive, levelled demo assertions
and writes episodes for them: most respond as the evidence expects (ORR about 63 %, PD about
10 %); one assertion's patients respond far less (ORR about 13 %: a response below
expectation); another's progress far more (PD about 47 % with ORR still about 47 %: a
resistance signal and no response alert); 40 patients get osimertinib for BRAF V600E, which no
assertion covers (an off-label signal). Noise that must raise nothing: covered episodes that
do not name their assertion, and off-label pairs from fewer than k patients.

Run `python bench/outcomes_cohort.py --db KB --out cohort.csv [--episodes N]` to write one.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model.enums import RecordType
from kb.model.orm import TumourType
from kb.storage.revisions import current_version
from kb.storage.snapshot import latest_rows

HEADERS = [
    "Patient", "Site", "Tumour type", "Biomarkers", "Therapy", "Line", "Start date",
    "Stop date", "Best response", "PFS days", "Progressed", "Reason stopped", "Release",
    "Assertions",
]  # fmt: skip
SITES = ("SITE-A", "SITE-B", "SITE-C", "SITE-D", "SITE-E")
NORMAL = (("CR", 0.10), ("PR", 0.50), ("SD", 0.25), ("PD", 0.10), ("NE", 0.05))
BELOW = (("CR", 0.02), ("PR", 0.10), ("SD", 0.65), ("PD", 0.18), ("NE", 0.05))
RESISTANT = (("CR", 0.05), ("PR", 0.40), ("SD", 0.05), ("PD", 0.45), ("NE", 0.05))
MEDIAN_DAYS = {"CR": 420, "PR": 300, "SD": 180, "PD": 60, "NE": 45}
OFF_LABEL = ("BRAF V600E", "Osimertinib", "MEL")
OFF_LABEL_PATIENTS = 40


@dataclass(frozen=True)
class Picked:
    assertion: str
    therapy: str
    biomarker: str
    tumour: str
    level: str


@dataclass
class Cohort:
    rows: list[list[Any]]
    assertions: list[Picked]
    planted: dict[str, Any] = field(default_factory=dict)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(self.rows)


def pick_assertions(session: Session, count: int = 30) -> list[Picked]:
    """`count` sensitive level-1 demo assertions, each with a biomarker an episode can name."""
    version = current_version(session)

    def records(rtype: RecordType) -> dict[str, dict[str, Any]]:
        return {h: f for _, h, _, _, f in latest_rows(session, version, rtype=rtype)}

    expressions = records(RecordType.EXPRESSION)
    biomarkers = records(RecordType.BIOMARKER)
    therapies = records(RecordType.THERAPY)
    codes = set(session.scalars(select(TumourType.code)))
    picked: list[Picked] = []
    for human_id, fields in sorted(records(RecordType.ASSERTION).items()):
        if fields.get("implication") != "sensitive" or fields.get("evidence_level") != "1":
            continue
        tree = expressions.get(fields.get("expression") or "", {}).get("tree") or {}
        leaf = _first_leaf(tree)
        label = biomarkers.get(leaf or "", {}).get("label")
        tumours = [code for code in fields.get("tumour_types") or [] if code in codes]
        therapy = therapies.get(fields.get("therapy") or "", {}).get("name")
        if not (label and tumours and therapy) or "germline" in label.lower():
            continue
        picked.append(Picked(human_id, therapy, label, tumours[0], "1"))
        if len(picked) == count:
            break
    if len(picked) < count:
        raise SystemExit(f"the KB has only {len(picked)} usable assertions, not {count}")
    return picked


def _first_leaf(tree: dict[str, Any]) -> str | None:
    if tree.get("biomarker"):
        return str(tree["biomarker"])
    for arg in tree.get("args") or ():
        found = _first_leaf(arg)
        if found:
            return found
    return None


def _draw(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for response, p in table:
        roll -= p
        if roll < 0:
            return response
    return table[-1][0]


def _episode(
    rng: random.Random, where: tuple[str, str], what: tuple[str, str, str], response: str,
    assertion: str,
) -> list[Any]:  # fmt: skip
    patient, site = where
    tumour, biomarker, therapy = what
    start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(900))
    days = max(1, int(rng.expovariate(0.6931 / MEDIAN_DAYS[response])))
    ongoing = rng.random() < 0.2
    if response == "PD":
        reason = "progression"
    elif ongoing:
        reason = "ongoing"
    else:
        reason = rng.choice(("progression", "toxicity", "completed", "patient_choice"))
    stop = "" if reason == "ongoing" else (start + dt.timedelta(days=days)).isoformat()
    progressed = "yes" if reason == "progression" else "no"
    return [
        patient, site, tumour, biomarker, therapy, rng.choice(("1", "2", "2L", "3")),
        start.isoformat(), stop, response, days, progressed, reason,
        "2026.11.0" if assertion else "", assertion,
    ]  # fmt: skip


def iter_episodes(assertions: list[Picked], *, episodes: int, seed: int) -> Iterator[list[Any]]:
    """The cohort's rows (see the module docstring); the planted assertions are the 4th and
    the 8th picked."""
    rng = random.Random(seed)
    below, resistant = assertions[3].assertion, assertions[7].assertion
    off_label = OFF_LABEL_PATIENTS
    noise = 60  # covered episodes without their assertion named; and sub-k off-label pairs
    main = episodes - off_label - noise
    per_patient = 1.25
    patients = int(main / per_patient)
    for index in range(main):
        patient_no = rng.randrange(patients)
        pick = assertions[patient_no % len(assertions)]
        site = SITES[patient_no % len(SITES)]
        table = NORMAL
        if pick.assertion == below:
            table = BELOW
        elif pick.assertion == resistant:
            table = RESISTANT
        yield _episode(rng, (f"P{patient_no:07d}", site), (pick.tumour, pick.biomarker,
                       pick.therapy), _draw(rng, table), pick.assertion)  # fmt: skip
        del index
    biomarker, therapy, tumour = OFF_LABEL
    for n in range(off_label):
        yield _episode(rng, (f"OL{n:05d}", SITES[n % len(SITES)]), (tumour, biomarker, therapy),
                       _draw(rng, NORMAL), "")  # fmt: skip
    for n in range(noise):
        if n < 50:
            pick = assertions[n % len(assertions)]
            yield _episode(rng, (f"NC{n:05d}", SITES[n % 5]), (pick.tumour, pick.biomarker,
                           pick.therapy), _draw(rng, NORMAL), "")  # fmt: skip
        else:  # five pairs of two patients each: under k, never an alert
            pair = (n - 50) // 2
            therapy = ("Imatinib", "Sotorasib + Imatinib", "Olaparib", "Larotrectinib",
                       "Alectinib")[pair]  # fmt: skip
            yield _episode(rng, (f"SK{n:05d}", SITES[0]), ("NSCLC", "KRAS G12C", therapy),
                           _draw(rng, NORMAL), "")  # fmt: skip


def make_cohort(session: Session, *, episodes: int = 5000, seed: int = 15) -> Cohort:
    assertions = pick_assertions(session)
    rows = list(iter_episodes(assertions, episodes=episodes, seed=seed))
    return Cohort(
        rows=rows,
        assertions=assertions,
        planted={
            "response_below_expectation": assertions[3].assertion,
            "resistance_signal": assertions[7].assertion,
            "off_label_use": OFF_LABEL[:2],
        },
    )


def main() -> None:
    from kb.storage.db import open_kb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--episodes", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    kb = open_kb(args.db)
    with kb.read() as session:
        cohort = make_cohort(session, episodes=args.episodes, seed=args.seed)
    kb.close()
    cohort.write_csv(args.out)
    print(f"wrote {len(cohort.rows)} episodes to {args.out}; planted: {cohort.planted}")


if __name__ == "__main__":
    main()
