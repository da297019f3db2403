"""Loading a vocabulary into a KB that has content: always into a new version.

A KB version never changes once made (DESIGN §3), and what a version holds includes the
vocabularies it was built with (OncoTree's tumour types are part of its snapshot, so of every
approval's digest). A load therefore opens version N+1, pins the release there, and leaves N and
every approval of it as they were. The new version is signed off by a reviewer like any other
before a release (admins, who load vocabularies, cannot sign off: four eyes by role). Into an
empty KB (version 0) a load goes in place: there is nothing yet to approve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from kb.review.audit import record_event, server_function
from kb.review.integrity import Scope, require_intact
from kb.review.users import Actor, Permission, require
from kb.storage.revisions import current_version, new_version
from kb.vocab.releases import LoadResult, vocabulary_versions


@dataclass(frozen=True, slots=True)
class VocabularyLoad:
    result: LoadResult
    kb_version: int  # the version the release is pinned to
    previous: str | None  # the release of this kind the KB used before

    def text(self) -> str:
        was = f" (was {self.previous})" if self.previous else ""
        where = f"; KB version {self.kb_version}" if self.kb_version else ""
        return (
            f"loaded {self.result.kind.value} {self.result.version}{was}: "
            f"{self.result.entries} entries (sha256 {self.result.sha256[:16]}…){where}"
        )


def load_vocabulary(
    session: Session,
    *,
    actor: Actor | None,
    kind: str,
    load: Callable[[Session], LoadResult],
) -> VocabularyLoad:
    """Run `load` (a kb.vocab loader bound to its file) in the caller's transaction, in a new KB
    version when the KB has content. `actor` is None only for a KB with no users yet."""
    if actor is not None:
        require(actor, Permission.ADMIN)
    require_intact(session, action=f"loading {kind}", scope=Scope.SIGN)
    previous = vocabulary_versions(session).get(kind)
    number = current_version(session)
    if number:
        who = actor.name if actor is not None else "kb"
        note = f"vocabulary: {kind} load (was {previous or 'none'})"
        if server_function(session, "kb_open_vocabulary_version(text, text)"):
            # PostgreSQL team mode: no login writes kb_version; the server opens it for admins.
            number = session.execute(
                text("SELECT kb_open_vocabulary_version(:who, :note)"), {"who": who, "note": note}
            ).scalar_one()
        else:
            number = new_version(session, author=who, note=note).number
    result = load(session)
    if number:
        record_event(
            session,
            actor=actor.name if actor is not None else "kb",
            action="vocabulary.load",
            subject=f"v{number}",
            details={
                "kind": result.kind.value,
                "version": result.version,
                "previous": previous,
                "sha256": result.sha256,
                "entries": result.entries,
                "source": result.source,
            },
        )
    return VocabularyLoad(result, number, previous)
