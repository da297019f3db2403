"""Outcomes per assertion, compared with what the assertion leads one to expect, and the
findings that become evidence alerts (docs/outcomes.md has the tables and the reasoning).

`analyse(session)` reads the episodes in one pass on the driver's cursor (counts by assertion,
response and duration, and each assertion's patients) and returns a `Report` of plain, frozen
data in which every figure from fewer than k patients is already suppressed: the report,
the CLI, the app and the service all render this one object, so none can forget to suppress.

Tests (one-sided, exact, Bonferroni-corrected over the assertions tested):
- response below expectation: responders (CR+PR) of the evaluable episodes (NE excluded)
  against the level's floor p0: P(X <= x | n, p0) < 0.05 / m;
- resistance signal (sensitive assertions): progressions (PD) of the evaluable episodes against
  the level's ceiling q0: P(X >= x | n, q0) < 0.05 / m;
- off-label use: episodes recommended by no assertion whose biomarkers and therapy no assertion
  of the KB covers, from at least k patients (a count, not a test: use that is repeated).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from kb.model.enums import AlertKind, BestResponse, StopReason
from kb.model.orm import OutcomeEpisode, OutcomeImport
from kb.outcomes.biomarkers import SEPARATOR, BiomarkerIndex
from kb.outcomes.settings import k_threshold
from kb.outcomes.stats import KmCurve, binomial_cdf, binomial_sf, kaplan_meier, wilson_interval

ALPHA = 0.05

# Level -> (floor of the response rate, ceiling of the progression rate) a sensitive
# assertion at that level leads one to expect in real-world use. Deliberately conservative
# (well below pivotal-trial rates): an alert should mean "clearly worse than any reading of the
# evidence", not "worse than the label's trial".
EXPECTATION_TABLE: dict[str, tuple[float, float]] = {
    "1": (0.40, 0.30),
    "2": (0.35, 0.35),
    "3A": (0.30, 0.40),
    "3B": (0.20, 0.45),
    "4": (0.10, 0.50),
}
_STEP_DOWN = {"1": "2", "2": "3A", "3A": "3B", "3B": "4", "4": None}


@dataclass(frozen=True, slots=True)
class Expectation:
    level: str | None
    min_response_rate: float | None
    max_progression_rate: float | None
    basis: str

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "min_response_rate": self.min_response_rate,
            "max_progression_rate": self.max_progression_rate,
            "basis": self.basis,
        }


def expectation_for(
    assertion: Mapping[str, Any], evidence: Iterable[Mapping[str, Any]] = ()
) -> Expectation:
    """What an assertion leads one to expect: its level's row of EXPECTATION_TABLE, one row
    lower when more of its evidence items do not support it than support it. Only sensitive
    assertions carry a response expectation."""
    level = str(assertion.get("evidence_level") or "")
    if assertion.get("implication") != "sensitive" or level not in EXPECTATION_TABLE:
        return Expectation(level or None, None, None, "no response expectation for this level")
    supports = refutes = 0
    for item in evidence:
        if item.get("direction") == "does_not_support":
            refutes += 1
        elif item.get("direction") == "supports":
            supports += 1
    basis = f"level {level}"
    used: str | None = level
    if refutes > supports:
        used = _STEP_DOWN[level]
        basis += f", one row lower: {refutes} evidence item(s) do not support it, {supports} do"
        if used is None:
            return Expectation(level, None, None, basis)
    floor, ceiling = EXPECTATION_TABLE[used or level]
    return Expectation(level, floor, ceiling, basis)


@dataclass(frozen=True, slots=True)
class AlertFinding:
    """A divergence the analysis found: its kind, what it is about and the test's numbers."""

    kind: AlertKind
    subject: str
    numbers: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "subject": self.subject, "numbers": dict(self.numbers)}


@dataclass(frozen=True, slots=True)
class AssertionStats:
    """Outcomes of the episodes one assertion recommended. With `suppressed`, every figure but
    the assertion's identity is None (fewer than k patients)."""

    assertion: str
    therapy: str | None
    level: str | None
    implication: str | None
    suppressed: bool
    patients: int | None = None
    episodes: int | None = None
    evaluable: int | None = None
    responders: int | None = None
    progressions: int | None = None
    response_counts: Mapping[str, int | None] = field(default_factory=dict)
    response_rate: float | None = None
    response_ci: tuple[float, float] | None = None
    progression_rate: float | None = None
    time_on_treatment: KmCurve | None = None
    expectation: Expectation | None = None
    response_p_value: float | None = None
    progression_p_value: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "assertion": self.assertion,
            "therapy": self.therapy,
            "level": self.level,
            "implication": self.implication,
            "suppressed": self.suppressed,
            "patients": self.patients,
            "episodes": self.episodes,
            "evaluable": self.evaluable,
            "responders": self.responders,
            "progressions": self.progressions,
            "response_counts": dict(self.response_counts),
            "response_rate": self.response_rate,
            "response_ci": list(self.response_ci) if self.response_ci else None,
            "progression_rate": self.progression_rate,
            "time_on_treatment": (
                self.time_on_treatment.as_json() if self.time_on_treatment else None
            ),
            "expectation": self.expectation.as_json() if self.expectation else None,
            "response_p_value": self.response_p_value,
            "progression_p_value": self.progression_p_value,
        }


@dataclass(frozen=True, slots=True)
class OffLabelUse:
    """Episodes no assertion recommended or covers: biomarkers found and therapy given."""

    biomarkers: str
    therapy: str
    therapy_key: str
    patients: int
    episodes: int
    responders: int | None
    evaluable: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "biomarkers": self.biomarkers,
            "therapy": self.therapy,
            "therapy_key": self.therapy_key,
            "patients": self.patients,
            "episodes": self.episodes,
            "responders": self.responders,
            "evaluable": self.evaluable,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The whole analysis, suppressed: safe to render anywhere."""

    generated_at: str
    k: int
    episodes: int | None
    patients: int | None
    sites: int | None
    imports: int
    assertions: tuple[AssertionStats, ...]
    off_label: tuple[OffLabelUse, ...]
    findings: tuple[AlertFinding, ...]
    tests_run: int
    alpha: float = ALPHA

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "k": self.k,
            "episodes": self.episodes,
            "patients": self.patients,
            "sites": self.sites,
            "imports": self.imports,
            "alpha": self.alpha,
            "tests_run": self.tests_run,
            "assertions": [a.as_json() for a in self.assertions],
            "off_label": [o.as_json() for o in self.off_label],
            "findings": [f.as_json() for f in self.findings],
        }


def _small(value: int, k: int) -> int | None:
    """A count shown only if 0 or at least k."""
    return value if value == 0 or value >= k else None


def analyse(session: Session, *, k: int | None = None) -> Report:
    """The outcome analysis of the whole KB (see the module docstring)."""
    k = k if k is not None else k_threshold(session)
    E = OutcomeEpisode
    index = BiomarkerIndex.load(session)
    evidence_of: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in index.evidence:
        for human_id in item.get("assertions") or ():
            evidence_of[str(human_id)].append(item)

    # One pass over the episodes, on the driver's cursor (no per-row ORM or type
    # processing): counts by (assertions, response, days, reason) and the patients of each
    # assertion list. Measured on a million episodes: the same work as three GROUP BY and
    # DISTINCT queries, without the database sorting a million patient keys twice.
    groups: dict[tuple[str, str, int | None, str], int] = defaultdict(int)
    patients_of: dict[str, set[str]] = defaultdict(set)
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            "SELECT assertion_ids, patient_key, best_response, days_on_treatment, "
            "reason_stopped FROM outcome_episode"
        )
        for ids, patient, response, days, reason in cast(Iterable[tuple[Any, ...]], cursor):
            groups[(ids, response, days, reason)] += 1
            patients_of[ids].add(patient)
    finally:
        cursor.close()
    total_episodes = sum(groups.values())
    total_patients = len(set().union(*patients_of.values())) if patients_of else 0
    responses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    durations: dict[str, list[tuple[int, bool, int]]] = defaultdict(list)
    ongoing = StopReason.ONGOING.value
    for (ids, response, days, reason), count in groups.items():
        for human_id in ids.split():
            responses[human_id][response] += count
            if days is not None:
                durations[human_id].append((days, reason != ongoing, count))
    patients: dict[str, set[str]] = {}
    for ids, keys in patients_of.items():
        for human_id in ids.split():
            known = patients.get(human_id)
            patients[human_id] = keys if known is None else known | keys

    stats: list[AssertionStats] = []
    testable: list[tuple[int, AssertionStats]] = []
    for human_id in sorted(responses):
        fields = index.assertions.get(human_id, {})
        therapy = index.therapy_names.get(human_id)
        n_patients = len(patients[human_id])
        level = fields.get("evidence_level")
        implication = fields.get("implication")
        if n_patients < k:
            stats.append(AssertionStats(human_id, therapy, level, implication, True))
            continue
        counts = responses[human_id]
        episodes = sum(counts.values())
        evaluable = episodes - counts.get("NE", 0)
        responders = counts.get("CR", 0) + counts.get("PR", 0)
        progressions = counts.get("PD", 0)
        expectation = expectation_for(fields, evidence_of.get(human_id, ()))
        rate = responders / evaluable if evaluable else None
        entry = AssertionStats(
            assertion=human_id,
            therapy=therapy,
            level=level,
            implication=implication,
            suppressed=False,
            patients=n_patients,
            episodes=episodes,
            evaluable=evaluable,
            responders=_small(responders, k),
            progressions=_small(progressions, k),
            response_counts={r.value: _small(counts.get(r.value, 0), k) for r in BestResponse},
            response_rate=rate,
            response_ci=wilson_interval(responders, evaluable) if evaluable else None,
            progression_rate=progressions / evaluable if evaluable else None,
            time_on_treatment=(
                kaplan_meier(durations[human_id], min_at_risk=k) if durations[human_id] else None
            ),
            expectation=expectation,
        )
        stats.append(entry)
        if evaluable and expectation.min_response_rate is not None:
            testable.append((len(stats) - 1, entry))

    # Bonferroni over the assertions tested: with 30 assertions, 0.05 / 30 per test.
    m = max(1, len(testable))
    threshold = ALPHA / m
    findings: list[AlertFinding] = []
    for position, entry in testable:
        expected = entry.expectation
        assert expected is not None and entry.evaluable
        counts = responses[entry.assertion]
        responders = counts.get("CR", 0) + counts.get("PR", 0)
        progressions = counts.get("PD", 0)
        p0 = expected.min_response_rate
        q0 = expected.max_progression_rate
        assert p0 is not None and q0 is not None
        p_low = binomial_cdf(responders, entry.evaluable, p0)
        p_pd = binomial_sf(progressions, entry.evaluable, q0)
        stats[position] = _with_p(entry, p_low, p_pd)
        common = {
            "assertion": entry.assertion,
            "level": entry.level,
            "expectation_basis": expected.basis,
            "patients": entry.patients,
            "evaluable": entry.evaluable,
            "alpha": ALPHA,
            "tests": m,
            "threshold": threshold,
        }
        if p_low < threshold:
            low, high = entry.response_ci or (0.0, 0.0)
            findings.append(
                AlertFinding(
                    AlertKind.RESPONSE_BELOW_EXPECTATION,
                    entry.assertion,
                    {
                        **common,
                        "test": "exact binomial, one-sided: P(X <= responders | n, p0)",
                        "responders": _small(responders, k),
                        "response_rate": round(responders / entry.evaluable, 4),
                        "wilson_95": [round(low, 4), round(high, 4)],
                        "expected_min_response_rate": p0,
                        "p_value": p_low,
                    },
                )
            )
        if p_pd < threshold:
            findings.append(
                AlertFinding(
                    AlertKind.RESISTANCE_SIGNAL,
                    entry.assertion,
                    {
                        **common,
                        "test": "exact binomial, one-sided: P(X >= progressions | n, q0)",
                        "progressions": _small(progressions, k),
                        "progression_rate": round(progressions / entry.evaluable, 4),
                        "wilson_95": [
                            round(v, 4) for v in wilson_interval(progressions, entry.evaluable)
                        ],
                        "expected_max_progression_rate": q0,
                        "p_value": p_pd,
                    },
                )
            )

    off_label = _off_label(session, index, k)
    for use in off_label:
        findings.append(
            AlertFinding(
                AlertKind.OFF_LABEL_USE,
                f"{use.biomarkers} | {use.therapy_key}",
                {
                    "test": "repeated use without an assertion: patients >= k",
                    "biomarkers": use.biomarkers,
                    "therapy": use.therapy,
                    "patients": use.patients,
                    "episodes": use.episodes,
                    "k": k,
                    "responders": use.responders,
                    "evaluable": use.evaluable,
                },
            )
        )

    sites = session.scalar(select(func.count(distinct(E.site)))) or 0
    imports = session.scalar(select(func.count()).select_from(OutcomeImport)) or 0
    shown = total_patients >= k
    return Report(
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        k=k,
        episodes=total_episodes if shown else None,
        patients=total_patients if shown else None,
        sites=sites if shown else None,
        imports=imports,
        assertions=tuple(stats),
        off_label=tuple(off_label),
        findings=tuple(findings),
        tests_run=len(testable),
    )


def _with_p(entry: AssertionStats, p_low: float, p_pd: float) -> AssertionStats:
    values = {name: getattr(entry, name) for name in AssertionStats.__slots__}
    values.update(response_p_value=p_low, progression_p_value=p_pd)
    return AssertionStats(**values)


def _off_label(session: Session, index: BiomarkerIndex, k: int) -> list[OffLabelUse]:
    """Biomarker-therapy uses with no assertion at all, from at least k patients."""
    E = OutcomeEpisode
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for biomarkers, key, therapy, response, patients_n, episodes in session.execute(
        select(
            E.biomarkers,
            E.therapy_key,
            func.min(E.therapy),
            E.best_response,
            func.count(distinct(E.patient_key)),
            func.count(),
        )
        .where(E.assertion_ids == "")
        .group_by(E.biomarkers, E.therapy_key, E.best_response)
    ):
        group = groups.setdefault(
            (biomarkers, key), {"therapy": therapy, "episodes": 0, "responses": defaultdict(int)}
        )
        group["episodes"] += episodes
        group["responses"][BestResponse(response).value] += episodes
        del patients_n
    uses: list[OffLabelUse] = []
    for (biomarkers, key), group in sorted(groups.items()):
        if group["episodes"] < k:
            continue
        if any(index.covering(b, key) for b in biomarkers.split(SEPARATOR + " ")):
            continue
        patients = (
            session.scalar(
                select(func.count(distinct(E.patient_key))).where(
                    E.assertion_ids == "", E.biomarkers == biomarkers, E.therapy_key == key
                )
            )
            or 0
        )
        if patients < k:
            continue
        responses = group["responses"]
        evaluable = group["episodes"] - responses.get("NE", 0)
        responders = responses.get("CR", 0) + responses.get("PR", 0)
        uses.append(
            OffLabelUse(
                biomarkers=biomarkers,
                therapy=group["therapy"],
                therapy_key=key,
                patients=patients,
                episodes=group["episodes"],
                responders=_small(responders, k),
                evaluable=evaluable,
            )
        )
    return uses
