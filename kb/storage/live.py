"""Live state: how an open window learns that someone else changed the KB.

Every change anyone makes (an edit staged in a draft, a submit, a merge, a release, a user
added) appends to the audit trail, whose head row carries the sequence number of its newest
event. `change_counter` reads that number with the newest KB version and the release count in
one query of three index lookups, cheap enough to poll every few seconds. On PostgreSQL the
audit append also sends a NOTIFY on `CHANNEL` (delivered when its transaction commits), and
`ChangeListener` waits for it on a connection of its own, so a window hears of a merge at once
instead of at its next poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kb.model.orm import AuditHead, KbVersion, Release

CHANNEL = "kb_changes"


@dataclass(frozen=True, slots=True)
class ChangeCounter:
    """Where the KB stands: its audit tip, newest version and number of releases."""

    audit_seq: int
    version: int
    releases: int


def change_counter(session: Session) -> ChangeCounter:
    """The KB's change counter, in one query (it is polled every few seconds)."""
    row = session.execute(
        select(
            select(AuditHead.seq).where(AuditHead.id == 1).scalar_subquery(),
            select(func.max(KbVersion.number)).scalar_subquery(),
            select(func.count(Release.id)).scalar_subquery(),
        )
    ).one()
    return ChangeCounter(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def notify_change(session: Session, audit_seq: int) -> None:
    """On PostgreSQL, tell listeners (after commit) that the audit trail reached `audit_seq`;
    elsewhere nothing: SQLite windows poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :seq)"), {"channel": CHANNEL, "seq": str(audit_seq)}
        )


class ChangeListener:
    """A PostgreSQL connection that LISTENs on `CHANNEL`; `wait` blocks until a notification
    arrives or the timeout passes. Used from one thread; `close` may be called from another to
    end a wait early."""

    def __init__(self, url: str) -> None:
        import psycopg

        parsed = make_url(url).set(drivername="postgresql")
        self._conn: Any = psycopg.connect(
            parsed.render_as_string(hide_password=False), autocommit=True
        )
        self._conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Whether a notification arrived within `timeout` seconds (all pending are consumed)."""
        conn = self._conn
        if conn.closed:
            return False
        got = False
        for _note in conn.notifies(timeout=timeout, stop_after=1):
            got = True
        if got:  # drain what else is queued: one wake-up is enough for a burst
            for _note in conn.notifies(timeout=0.01):
                pass
        return got

    def close(self) -> None:
        self._conn.close()


def listener_for(url: str) -> ChangeListener | None:
    """A listener for the KB at `url`, or None where the database cannot notify (SQLite)."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    return ChangeListener(url)
