"""The statistics outcome analysis uses, in plain Python (no numpy/scipy/lifelines: the
figures are a handful of sums over counts, and the KB stays free of a 100 MB numeric stack).

- `wilson_interval`: the Wilson score interval for a proportion (Wilson 1927), which keeps its
  coverage at small n and near 0 or 1, where the normal ("Wald") interval does not.
- `binomial_cdf` / `binomial_sf`: exact binomial tails, for one-sided exact tests.
- `kaplan_meier`: the product-limit estimate with censoring, Greenwood's variance and the
  log-log ("exponential Greenwood") 95 % confidence band, which stays inside [0, 1]; the median
  and its Brookmeyer-Crowley interval read from the band.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n` (n > 0)."""
    if n <= 0:
        raise ValueError("the Wilson interval needs n > 0")
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} not within 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _tail(start: int, n: int, p: float, *, step: int) -> float:
    """pmf(start) + pmf(start + step) + … while the terms matter, `step` -1 or +1 away from
    the mode: each term from the last by the pmf's ratio, stopping once they fall below 1e-17
    of the sum (they shrink faster than geometrically there), so a tail of a 100,000-trial
    binomial costs a few hundred steps, not 100,000 log-gamma calls."""
    term = math.exp(_log_pmf(start, n, p))
    total, k = term, start
    odds = p / (1 - p)
    while term > total * 1e-17:
        if step < 0:
            if k == 0:
                break
            term *= k / (n - k + 1) / odds
        else:
            if k == n:
                break
            term *= (n - k) / (k + 1) * odds
        k += step
        total += term
    return total


def binomial_cdf(x: int, n: int, p: float) -> float:
    """P(X <= x) for X ~ Binomial(n, p), exactly (to double precision)."""
    if x < 0:
        return 0.0
    if x >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    if x >= n * p:  # the upper part is the short tail
        return max(0.0, 1.0 - binomial_sf(x + 1, n, p))
    return min(1.0, _tail(x, n, p, step=-1))


def binomial_sf(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p), exactly (to double precision)."""
    if x <= 0 or p >= 1.0:
        return 1.0
    if x > n or p <= 0.0:
        return 0.0
    if x <= n * p:
        return max(0.0, 1.0 - binomial_cdf(x - 1, n, p))
    return min(1.0, _tail(x, n, p, step=+1))


@dataclass(frozen=True, slots=True)
class KmPoint:
    """The estimate from `time` on: survival (here: still on treatment) and its 95 % band,
    with the number at risk just before `time` and the events at it."""

    time: int
    at_risk: int
    events: int
    survival: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class KmCurve:
    """A Kaplan-Meier curve: starts at (0, 1.0); one point per event time. `median` and its
    95 % interval are None where the curve (or its band) never falls to 0.5. `truncated_at`
    is set when points were withheld because fewer than k were at risk (small cells)."""

    n: int
    events: int
    points: tuple[KmPoint, ...]
    median: float | None
    median_lower: float | None
    median_upper: float | None
    truncated_at: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "events": self.events,
            "median": self.median,
            "median_ci": [self.median_lower, self.median_upper],
            "truncated_at": self.truncated_at,
            "points": [
                {
                    "time": p.time,
                    "at_risk": p.at_risk,
                    "events": p.events,
                    "survival": round(p.survival, 6),
                    "lower": round(p.lower, 6),
                    "upper": round(p.upper, 6),
                }
                for p in self.points
            ],
        }


def kaplan_meier(
    counts: Iterable[tuple[int, bool, int]], *, min_at_risk: int = 0, z: float = Z95
) -> KmCurve:
    """The product-limit estimate from (time, event, count) triples: `count` subjects whose
    time is `time`, with the event (True) or censored there (False). Censored subjects at an
    event time count as at risk at it (the usual convention). Points where fewer than
    `min_at_risk` are at risk are withheld (the curve is truncated there)."""
    events_at: dict[int, int] = {}
    censored_at: dict[int, int] = {}
    n = 0
    for time, event, count in counts:
        if count <= 0:
            continue
        if time < 0:
            raise ValueError(f"negative time {time}")
        target = events_at if event else censored_at
        target[time] = target.get(time, 0) + count
        n += count
    at_risk = n
    survival, greenwood = 1.0, 0.0
    points = [KmPoint(0, n, 0, 1.0, 1.0, 1.0)]
    truncated: int | None = None
    for time in sorted(set(events_at) | set(censored_at)):
        d = events_at.get(time, 0)
        if d:
            if at_risk < min_at_risk:
                truncated = time
                break
            survival *= 1 - d / at_risk
            if at_risk > d:
                greenwood += d / (at_risk * (at_risk - d))
            lower, upper = _loglog_band(survival, greenwood, z)
            points.append(KmPoint(time, at_risk, d, survival, lower, upper))
        at_risk -= d + censored_at.get(time, 0)
    return KmCurve(
        n=n,
        events=sum(events_at.values()),
        points=tuple(points),
        median=_first_at_or_below(points, "survival"),
        median_lower=_first_at_or_below(points, "lower"),
        median_upper=_first_at_or_below(points, "upper"),
        truncated_at=truncated,
    )


def _loglog_band(survival: float, greenwood: float, z: float) -> tuple[float, float]:
    if survival <= 0.0:
        return 0.0, 0.0
    if survival >= 1.0:
        return 1.0, 1.0
    log_s = math.log(survival)
    se = math.sqrt(greenwood) / abs(log_s)
    centre = math.log(-log_s)
    # exp(-exp(.)) is decreasing: the upper limit of log(-log S) gives the lower band.
    return math.exp(-math.exp(centre + z * se)), math.exp(-math.exp(centre - z * se))


def _first_at_or_below(points: list[KmPoint], attribute: str) -> float | None:
    for point in points:
        if getattr(point, attribute) <= 0.5:
            return float(point.time)
    return None
