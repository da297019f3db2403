"""Threshold metrics: the controlled list, each with its unit and scale (DESIGN §2).

A threshold's value is stored as a decimal string; this module knows how to read and compare it,
including ordinal scales such as HER2 IHC (0 < 1+ < 2+ < 3+), which compare by rank, not by text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from kb.model.enums import Operator


class Metric(StrEnum):
    TMB = "TMB"
    PDL1_TPS = "PDL1_TPS"
    PDL1_CPS = "PDL1_CPS"
    PDL1_IC = "PDL1_IC"
    HER2_IHC = "HER2_IHC"
    HER2_ISH_RATIO = "HER2_ISH_RATIO"
    COPY_NUMBER = "COPY_NUMBER"
    VAF = "VAF"
    HRD_SCORE = "HRD_SCORE"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    metric: Metric
    label: str
    short: str
    unit: str | None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    integer: bool = False
    scale: tuple[str, ...] = ()

    @property
    def ordinal(self) -> bool:
        return bool(self.scale)

    def describe_values(self) -> str:
        """Say in words which values fit this metric (for error messages and editors)."""
        if self.scale:
            return "one of " + ", ".join(self.scale)
        kind = "a whole number" if self.integer else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"{kind} of at least {self.minimum}"
        return kind


_ZERO = Decimal(0)
_HUNDRED = Decimal(100)

METRICS: dict[Metric, MetricSpec] = {
    spec.metric: spec
    for spec in (
        MetricSpec(Metric.TMB, "Tumour mutational burden", "TMB", "mut/Mb", _ZERO),
        MetricSpec(Metric.PDL1_TPS, "PD-L1 tumour proportion score", "TPS", "%", _ZERO, _HUNDRED),
        MetricSpec(Metric.PDL1_CPS, "PD-L1 combined positive score", "CPS", "score", _ZERO),
        MetricSpec(Metric.PDL1_IC, "PD-L1 immune-cell score", "IC", "%", _ZERO, _HUNDRED),
        MetricSpec(Metric.HER2_IHC, "HER2 IHC score", "IHC", None, scale=("0", "1+", "2+", "3+")),
        MetricSpec(Metric.HER2_ISH_RATIO, "HER2/CEP17 ISH ratio", "ISH_RATIO", "ratio", _ZERO),
        MetricSpec(Metric.COPY_NUMBER, "Copy number", "CN", "copies", _ZERO, integer=True),
        MetricSpec(Metric.VAF, "Variant allele fraction", "VAF", "%", _ZERO, _HUNDRED),
        MetricSpec(Metric.HRD_SCORE, "HRD genomic scar score", "HRD", "score", _ZERO, _HUNDRED),
    )
}


class ThresholdValueError(ValueError):
    """A threshold value or unit that does not fit its metric; says what was expected."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected


def split_values(value: str, operator: Operator) -> list[str]:
    """The value list of a threshold: several for `in`, one otherwise."""
    if operator is Operator.IN:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value.strip()]


def check_value(metric: Metric, operator: Operator, value: str, unit: str | None) -> None:
    """Raise ThresholdValueError unless `value` and `unit` fit `metric` (and `operator`)."""
    spec = METRICS[metric]
    if (unit or None) != spec.unit:
        expected_unit = f"'{spec.unit}'" if spec.unit else "no unit"
        raise ThresholdValueError(
            f"unit {unit!r} does not fit metric {metric.value}", f"{expected_unit} for {spec.label}"
        )
    values = split_values(value, operator)
    if not values:
        raise ThresholdValueError("empty value", spec.describe_values())
    if operator is not Operator.IN and "," in value:
        raise ThresholdValueError(
            f"several values {value!r} need the operator 'in'", spec.describe_values()
        )
    for item in values:
        _rank_or_number(spec, item)


def _rank_or_number(spec: MetricSpec, item: str) -> Decimal:
    if spec.scale:
        if item not in spec.scale:
            raise ThresholdValueError(
                f"{item!r} is not on the {spec.label} scale", spec.describe_values()
            )
        return Decimal(spec.scale.index(item))
    try:
        number = Decimal(item)
    except InvalidOperation:
        raise ThresholdValueError(f"{item!r} is not a number", spec.describe_values()) from None
    if not number.is_finite():
        raise ThresholdValueError(f"{item!r} is not a finite number", spec.describe_values())
    if spec.integer and number != number.to_integral_value():
        raise ThresholdValueError(f"{item!r} is not a whole number", spec.describe_values())
    if spec.minimum is not None and number < spec.minimum:
        raise ThresholdValueError(f"{item} is below {spec.minimum}", spec.describe_values())
    if spec.maximum is not None and number > spec.maximum:
        raise ThresholdValueError(f"{item} is above {spec.maximum}", spec.describe_values())
    return number


def satisfies(metric: Metric, operator: Operator, threshold: str, observed: str) -> bool:
    """Whether an observed measurement meets a threshold, comparing ordinal scales by rank."""
    spec = METRICS[metric]
    seen = _rank_or_number(spec, observed.strip())
    wanted: Sequence[Decimal] = [
        _rank_or_number(spec, item) for item in split_values(threshold, operator)
    ]
    if operator is Operator.IN:
        return seen in wanted
    limit = wanted[0]
    match operator:
        case Operator.GE:
            return seen >= limit
        case Operator.GT:
            return seen > limit
        case Operator.LE:
            return seen <= limit
        case Operator.LT:
            return seen < limit
        case _:
            return seen == limit
