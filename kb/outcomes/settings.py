"""Per-KB settings of outcome analysis: the small-cell threshold k (default 5)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.orm import OutcomeSetting, utcnow
from kb.review.audit import record_event
from kb.review.users import Actor, Permission, require

DEFAULT_K = 5
_K = "k_threshold"


def k_threshold(session: Session) -> int:
    """Every figure from fewer than this many patients is suppressed."""
    value = session.scalar(select(OutcomeSetting.value).where(OutcomeSetting.name == _K))
    return int(value) if value is not None else DEFAULT_K


def set_k_threshold(session: Session, *, actor: Actor, k: int) -> None:
    """Set the KB's small-cell threshold (admins only; audited). k below 3 is refused: it
    would show single patients' figures."""
    require(actor, Permission.ADMIN)
    if not 3 <= k <= 1000:
        raise KbError(f"the small-cell threshold k must be 3..1000, not {k}")
    row = session.get(OutcomeSetting, _K)
    before = int(row.value) if row else DEFAULT_K
    if row is None:
        session.add(OutcomeSetting(name=_K, value=str(k), updated_by=actor.name))
    else:
        row.value, row.updated_by, row.updated_at = str(k), actor.name, utcnow()
    session.flush()
    record_event(
        session,
        actor=actor.name,
        action="outcomes.k_threshold",
        subject=_K,
        details={"before": before, "after": k},
    )
