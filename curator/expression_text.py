"""Canonical text of a biomarker expression while it is being edited, without a database.

`kb.model.records.Titles.leaf_text` needs a session; an editor re-renders on every keystroke, so the
names it needs are read once on a worker (`load_leaf_names`) and the text is rendered on the UI
thread with `kb.expression.render`, through the same pure `kb.model.records.leaf_text` the KB uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model import expression as exprs
from kb.model.orm import Threshold
from kb.model.records import Ids, Titles
from kb.model.records import leaf_text as kb_leaf_text


@dataclass(frozen=True, slots=True)
class ThresholdParts:
    metric: str
    operator: str
    value: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class LeafNames:
    # biomarker human id -> (canonical name, the subject a threshold on it measures)
    biomarkers: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    thresholds: Mapping[str, ThresholdParts] = field(default_factory=dict)


def load_leaf_names(session: Session) -> LeafNames:
    biomarkers = dict(Titles(session, Ids(session)).biomarkers())
    thresholds = {
        hid: ThresholdParts(metric.value, operator.value, value, unit)
        for hid, metric, operator, value, unit in session.execute(
            select(
                Threshold.human_id,
                Threshold.metric,
                Threshold.operator,
                Threshold.value,
                Threshold.unit,
            )
        )
    }
    return LeafNames(biomarkers, thresholds)


def leaf_text(leaf: Mapping[str, Any], names: LeafNames) -> str:
    biomarker = str(leaf.get("biomarker") or "?")
    name, subject = names.biomarkers.get(biomarker, (biomarker, ""))
    threshold_id = leaf.get("threshold")
    if not threshold_id:
        return name
    threshold = names.thresholds.get(str(threshold_id))
    if threshold is None:
        return f"{name} {threshold_id}"
    parts = {
        "metric": threshold.metric,
        "operator": threshold.operator,
        "value": threshold.value,
        "unit": threshold.unit,
    }
    return kb_leaf_text(name, subject, parts)


def canonical_text(tree: Mapping[str, Any] | None, names: LeafNames) -> str:
    """The canonical text of a (possibly half-built) tree; "" when it has no parts yet."""
    if not tree:
        return ""
    try:
        return exprs.render(dict(tree), lambda leaf: leaf_text(leaf, names))
    except (KeyError, TypeError, IndexError):
        return ""
