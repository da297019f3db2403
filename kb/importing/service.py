"""One import, start to finish, for the command line and the app: read a file with a profile,
preview it, and (when asked) stage it as a change set — all in the caller's unit of work."""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.importing.adapters import adapter_for
from kb.importing.engine import ImportPreview, apply, preview, sha256_of
from kb.importing.progress import CancelToken, Progress, paused_gc

if TYPE_CHECKING:
    from kb.review.users import Actor


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: its preview, and the change set it staged (None: a dry run, or
    nothing to stage)."""

    preview: ImportPreview
    change_set_id: str | None
    sha256: str


def import_file(
    session: Session,
    path: Path,
    *,
    profile: str = "template",
    actor: Actor | None = None,
    dry_run: bool = True,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    take: Collection[str] = (),
    doid_map: Path | None = None,
    adapter_options: Mapping[str, object] | None = None,
) -> ImportOutcome:
    """Preview `path` read with `profile` (template, civic-evidence, civic-assertion, ctml, or
    a .toml path); unless `dry_run`, stage it as one draft change set authored by `actor`.
    `take` names fields of curated records the source only points at (CIViC rows matching a
    curated assertion) whose values the curator chose to take from the source. `doid_map` is a
    curator's DOID -> OncoTree TOML file for the adapters that map DOIDs (CIViC).
    `adapter_options` are passed to the adapter, which must take each (CTML: ``nct_id`` for a
    single-trial file naming none, ``by_protocol`` to key trials without one by their protocol
    number). CTML reads a directory of files too, all in one change set.

    Raises KbError when applying is refused (invalid rows without `skip_invalid`, a file that
    cannot be read); the caller's transaction then rolls back and nothing is written.
    """
    adapter = adapter_for(profile)
    if path.is_dir() and profile != "ctml":
        raise KbError(f"{path}: a directory; only the ctml profile reads a directory of files")
    digest = sha256_of(path)
    # Adapters that read spreadsheets can stop their reader process when the user cancels.
    try:
        accepted = set(inspect.signature(adapter).parameters)
    except (TypeError, ValueError):
        accepted = set()
    options: dict[str, object] = {}
    if "cancel" in accepted:
        options["cancel"] = cancel
    if doid_map is not None:
        if "doid_map" not in accepted:
            raise KbError(f"the profile {profile} reads no DOIDs; a DOID mapping file is for CIViC")
        options["doid_map"] = doid_map
    for name, value in (adapter_options or {}).items():
        if name not in accepted:
            raise KbError(f"the profile {profile} takes no option {name!r}")
        options[name] = value
    if "lookup" in accepted:
        # CIViC and CTML adapters point at records the KB already has (genes, drugs, …).
        from kb.importing.civic import KbLookup

        options["lookup"] = KbLookup.from_session(session)
    if not dry_run and actor is None:
        raise ValueError("applying an import needs the actor who authors the change set")
    rows = adapter(path, **options)
    # One pause of the collector for the whole import, so that the objects the preview made
    # are not walked again between the preview and the apply.
    with paused_gc():
        result = preview(
            rows, session, source=_source_name(path), progress=progress, cancel=cancel, take=take
        )
        if dry_run or actor is None:
            return ImportOutcome(result, None, digest)
        change_set_id = apply(
            result,
            session,
            actor=actor,
            skip_invalid=skip_invalid,
            source_name=_source_name(path),
            source_sha256=digest,
            progress=progress,
            cancel=cancel,
        )
    return ImportOutcome(result, change_set_id, digest)


def _source_name(path: Path) -> str:
    """The source as the change set names it: a file's name, or a directory's with a slash."""
    return f"{path.name}/" if path.is_dir() else path.name
