"""Outcome records and their analysis: real-world treatment episodes reported back, compared
with what each assertion leads one to expect, and evidence alerts where they diverge
(docs/outcomes.md).

Owns the outcome tables' use (kb.model.orm `Outcome*`), intake from spreadsheets with privacy
checks at the door, pseudonymisation, the statistics, small-cell suppression, alerts and the
report renditions. Outcome records are never curated content: nothing here writes a change set,
a revision or a release, and snapshots never read these tables.

May import kb.importing (readers, located errors, header matching), kb.review (audit, roles),
kb.matching (FHIR Bundles read as the matcher reads them), kb.storage, kb.vocab, kb.model;
sits below kb.demo, kb.serve and kb.cli, which use it.

Public API (plain data only; each function takes the caller's session, a unit of work for
writes):

- `import_outcomes(session, path, actor=, key=, dry_run=)` -> `IntakeResult`
- `import_records(session, records, source=, actor=)` -> `IntakeResult` (a service's JSON;
  `kb.outcomes.fhir.import_fhir_bundle` / `records_from_fhir` for FHIR R4 Bundles)
- `analyse(session)` -> `Report` (per-assertion `AssertionStats`, `KmCurve`s, `OffLabelUse`,
  `AlertFinding`s), every figure from fewer than k patients already suppressed
- `refresh_alerts(session, actor=)`, `list_alerts(session)`, `resolve_alert(session, actor=,
  alert_id=, status=, reason=)`
- `k_threshold(session)`, `set_k_threshold(session, actor=, k=)`
- `OutcomeKey` (the per-KB pseudonymisation secret, kept outside the database)
"""

from kb.outcomes.alerts import AlertRow, list_alerts, refresh_alerts, resolve_alert
from kb.outcomes.analysis import (
    AlertFinding,
    AssertionStats,
    Expectation,
    OffLabelUse,
    Report,
    analyse,
    expectation_for,
)
from kb.outcomes.intake import IntakeResult, import_outcomes, import_records
from kb.outcomes.keys import OutcomeKey
from kb.outcomes.settings import DEFAULT_K, k_threshold, set_k_threshold
from kb.outcomes.stats import KmCurve, kaplan_meier, wilson_interval

__all__ = [
    "DEFAULT_K",
    "AlertFinding",
    "AlertRow",
    "AssertionStats",
    "Expectation",
    "IntakeResult",
    "KmCurve",
    "OffLabelUse",
    "OutcomeKey",
    "Report",
    "analyse",
    "expectation_for",
    "import_outcomes",
    "import_records",
    "k_threshold",
    "kaplan_meier",
    "list_alerts",
    "refresh_alerts",
    "resolve_alert",
    "set_k_threshold",
    "wilson_interval",
]
