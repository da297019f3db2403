"""Signed releases: build one from a snapshot, verify one offline, publish one (DESIGN §5).

A release is a folder::

    kb-release-<kb_id>-<sequence>-<version>/
      payload/kb.json  kb.schema.json  tables/*.tsv  kb.xlsx  ctml/<NCT>.json  changes.json
              va-spec/statements.jsonl  va-spec/not-expressed.json   (GA4GH VA-Spec, see vaspec)
      release.dsse.json   DSSE envelope over an in-toto Statement v1 naming every payload file
                          with its sha256; the predicate says which KB, version and sequence,
                          the previous release's digest, the vocabularies, the approvals
                          (signatures and key certificates) and the audit chain head
      trust/root.json     the trust root the release was signed under
      VERIFY.md           how a consumer verifies, with and without this library

Everything under payload/ is covered by the signatures; trust/root.json is a convenience (a
consumer verifies against the root it pinned, never against the one in the folder), and
VERIFY.md must read exactly as the signed statement and root imply (a consumer follows its
steps). Any other file in the folder fails verification. Building is reproducible: the same
snapshot, inputs and `created` give the same bytes in every file, kb.xlsx included.

`verify_release` needs only the folder and the pinned root. It refuses, each with its own
`Reason`: a changed, missing or extra payload file, a malformed envelope or statement, a bad
signature, too few distinct trusted signatures, a key the root does not list, a release_sequence
not above the last accepted one (rollback), a previous_release_digest that is not the last
accepted release's digest (broken chain), and a trust root in the folder that is neither the
pinned one nor a valid rotation of it. Re-verifying the release last accepted is allowed (a
service restarting on the release it runs).

`publish_release` uploads the folder as one deterministic tar.gz with an HTTP PUT and returns only
once the server has echoed the archive's sha256.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import gc
import gzip
import hashlib
import json
import multiprocessing
import multiprocessing.process
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kb.errors import KbError
from kb.model.enums import LEVEL_SCHEME
from kb.release.approvals import CheckedApproval, check_release_approvals
from kb.release.ctml_export import ctml_documents
from kb.release.schema import RELEASE_VERSION_PATTERN, schema_bytes
from kb.release.signing import (
    Reason,
    TrustRoot,
    VerificationError,
    check_root_expiry,
    dumps_pretty,
    key_id,
    parse_trust_root,
    sign_envelope,
    verify_envelope,
)
from kb.release.tables import snapshot_tables, tsv_bytes, write_xlsx
from kb.release.vaspec import NOT_EXPRESSED_FILE, STATEMENTS_FILE, va_spec_rendition
from kb.review.diff import changes_document, index_records
from kb.storage.snapshot import Snapshot, canonical_json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://kb-curator.dev/release/v1"
ENVELOPE_FILE = "release.dsse.json"
ROOT_FILE = "trust/root.json"
PAYLOAD_DIR = "payload"
VERIFY_FILE = "VERIFY.md"
STATE_KEYS = ("kb_id", "release_sequence", "release_digest")

_VERSION = re.compile(RELEASE_VERSION_PATTERN)
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENVELOPE_LIMIT = 256 * 1024 * 1024

Progress = Callable[[int, int], None]
Cancel = Callable[[], None]


class ReleaseError(KbError):
    """A release that cannot be built or published as asked; says why."""


class ReleaseVerificationError(VerificationError):
    """A release that failed verification. `reason_code` (a `Reason`) says which check;
    the message names the file, key or sequence involved."""


class PublishError(ReleaseError):
    """The server did not confirm the upload; nothing can be assumed published."""


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    path: Path
    release_digest: str  # sha256 of release.dsse.json: the next release's previous digest
    subjects: dict[str, str]  # "payload/<relpath>" -> sha256
    predicate: dict[str, Any]
    summary: dict[str, int]  # changes per category against the previous release
    # Built with final=False: the complete folder waiting, under a name no consumer takes for
    # a release, for `finalise_release` (or `discard_release`).
    staging: Path | None = None


@dataclass(frozen=True, slots=True)
class VerifiedRelease:
    path: Path
    kb_id: str
    version: str
    release_sequence: int
    release_digest: str
    predicate: dict[str, Any]
    kb_json: dict[str, Any]  # the parsed, verified payload/kb.json
    trust_root: TrustRoot  # the root the release verified under (re-pin it if rotated)
    root_rotated: bool
    signers: frozenset[str]
    # Each approval the release was cut on, its signature and certificate checked with the
    # trust root (kb.release.approvals); unsigned ones are listed and never count.
    approvals: tuple[CheckedApproval, ...] = ()

    @property
    def signed_approvals(self) -> tuple[CheckedApproval, ...]:
        return tuple(approval for approval in self.approvals if approval.signed)


@dataclass(frozen=True, slots=True)
class PreviousRelease:
    release_sequence: int
    release_digest: str
    kb_json: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PublishResult:
    url: str
    sha256: str
    size: int
    attempts: int
    response: dict[str, Any]


def release_dir_name(kb_id: str, release_sequence: int, version: str) -> str:
    """The conventional folder name, `kb-release-<kb_id>-<sequence>-<version>`."""
    return f"kb-release-{kb_id}-{release_sequence}-{version}"


# --- build ----------------------------------------------------------------------------------


def build_release(
    snapshot: Snapshot | Mapping[str, Any],
    *,
    release_version: str,
    release_sequence: int,
    previous_release_digest: str | None,
    previous_snapshot: Mapping[str, Any] | None,
    approvals: Sequence[Mapping[str, Any]],
    created: str,
    trust_root_envelope: Mapping[str, Any],
    signing_keys: Sequence[Ed25519PrivateKey],
    out_dir: Path,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    content_time: str | None = None,
    final: bool = True,
    audit_head: Mapping[str, Any] | None = None,
    parallel: bool | None = None,
) -> ReleaseResult:
    """Write a signed release of `snapshot` to `out_dir` (which must not exist, or be empty).

    Not `final`: the folder is left complete in a hidden staging folder beside `out_dir`, for
    the caller to move into place once its own record of the release is committed
    (`finalise_release`), or to drop (`discard_release`).

    `created` (ISO 8601 UTC, `2026-11-01T09:30:00Z`) is passed in rather than read from the
    clock so that a rebuild gives the same bytes. Each approval is a JSON object recorded in
    the predicate; one that carries a `digest` must name the snapshot's digest
    (`Snapshot.digest()`: sha256 of its canonical JSON), so an approval of other content cannot
    ride along. `signing_keys` must meet the trust root's threshold, or the release could never
    verify. `audit_head` ({"seq", "hash"}) is the KB's audit chain head the release was cut
    at: the signed statement states it, which anchors the chain outside the database
    (kb.release.anchors). `progress(done, total)` is called after each stage and `cancel()`
    before each; it raises to stop, and a stopped build leaves nothing behind.

    `parallel`: run the VA-Spec rendition in a second process (None: when it is safe and
    useful — see `_Beside`). The bytes are the same either way.
    """
    data = dict(snapshot.as_json() if isinstance(snapshot, Snapshot) else snapshot)
    kb_id = str(data.get("kb_id") or "")
    if not kb_id or not isinstance(data.get("records"), Mapping):
        raise ReleaseError("the snapshot has no kb_id or no records; is the KB initialised?")
    # kb.json is exactly the approved snapshot: its sha256 is the digest the approvals signed
    # (checked below), and releasing one KB version twice gives the same bytes. Made once.
    kb_json = canonical_json(data)
    kb_json_sha256 = hashlib.sha256(kb_json).hexdigest()
    _check_build_inputs(
        kb_json_sha256,
        release_version=release_version,
        release_sequence=release_sequence,
        previous_release_digest=previous_release_digest,
        created=created,
        approvals=approvals,
    )
    root = _root_for_signing(trust_root_envelope, signing_keys)
    # The payload's own timestamps (kb.xlsx properties and zip entries) come from
    # `content_time` when given — the KB version's time — so that releasing the same version
    # twice gives byte-identical payload files even though `created` differs.
    moment = dt.datetime.strptime(content_time or created, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC
    )
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ReleaseError(f"{out_dir} already exists and is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    stages = 8
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, stages)

    def check() -> None:
        if cancel:
            cancel()

    beside: _Beside | None = None
    try:
        writer = _PayloadWriter(staging)
        check()
        # The release version lives in the signed statement's predicate, not in kb.json.
        writer.put("kb.json", kb_json, kb_json_sha256)
        writer.put("kb.schema.json", schema_bytes())
        del kb_json
        # The VA-Spec rendition is the build's longest step and reads only the snapshot: it
        # runs beside the rest (a forked process, when that is safe) and writes its own files.
        # Each statement names the release and the digest of kb.json.
        beside = _Beside(
            lambda: _write_va_spec(
                _PayloadWriter(staging),
                data,
                release_version=release_version,
                release_sequence=release_sequence,
                kb_json_sha256=kb_json_sha256,
            ),
            parallel=parallel,
        )
        step()
        check()
        tables = snapshot_tables(data)
        for table in tables:
            writer.put(f"tables/{table.name}.tsv", tsv_bytes(table))
        step()
        check()
        writer.write_file("kb.xlsx", lambda path: write_xlsx(tables, path, created=moment))
        step()
        check()
        for nct, document in ctml_documents(data).items():
            writer.put(f"ctml/{nct}.json", dumps_pretty(document))
        step()
        check()
        previous = index_records(previous_snapshot["records"]) if previous_snapshot else None
        changes = changes_document(
            previous, index_records(data["records"]), from_release_digest=previous_release_digest
        )
        writer.put("changes.json", dumps_pretty(changes))
        step()
        check()
        writer.subjects.update(beside.result())
        step()
        check()
        predicate = {
            "kb_id": kb_id,
            "version": release_version,
            "kb_version": data.get("kb_version"),
            "release_sequence": release_sequence,
            "previous_release_digest": previous_release_digest,
            "created": created,
            "vocabularies": {**data.get("vocabularies", {}), "level_scheme": _level_scheme(data)},
            "approvals": [dict(approval) for approval in approvals],
        }
        if audit_head is not None:
            predicate["audit_head"] = dict(audit_head)
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [
                {"name": name, "digest": {"sha256": digest}}
                for name, digest in sorted(writer.subjects.items())
            ],
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        }
        envelope = sign_envelope(PAYLOAD_TYPE, canonical_json(statement), signing_keys)
        envelope_bytes = dumps_pretty(envelope)
        (staging / ENVELOPE_FILE).write_bytes(envelope_bytes)
        (staging / "trust").mkdir()
        (staging / ROOT_FILE).write_bytes(dumps_pretty(dict(trust_root_envelope)))
        (staging / VERIFY_FILE).write_text(
            # Named by content, not by out_dir, so the file is the same wherever it is built.
            verify_instructions(
                kb_id,
                release_version,
                release_sequence,
                root,
                release_dir_name(kb_id, release_sequence, release_version),
            ),
            encoding="utf-8",
        )
        step()
        check()
        os.chmod(staging, 0o755)  # mkdtemp made it private; a release is for reading
        result = ReleaseResult(
            out_dir,
            hashlib.sha256(envelope_bytes).hexdigest(),
            dict(sorted(writer.subjects.items())),
            predicate,
            changes["summary"],
            staging,
        )
        if final:
            finalise_release(result)
        step()
    except BaseException:
        if beside is not None:
            beside.stop()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def finalise_release(result: ReleaseResult) -> None:
    """Move a staged release into its folder (one rename: it appears whole or not at all)."""
    staging = result.staging
    if staging is None or not staging.exists():
        return
    if result.path.exists():
        result.path.rmdir()  # an empty folder the caller made; a full one was refused
    os.replace(staging, result.path)


def discard_release(result: ReleaseResult) -> None:
    """Drop a staged release that was never committed."""
    if result.staging is not None:
        shutil.rmtree(result.staging, ignore_errors=True)


def recover_release(path: Path) -> bool:
    """A release the KB committed but whose folder never left staging (the process died
    between the two): move the staged folder into place. True if one was recovered."""
    path = Path(path)
    if path.exists() or not path.parent.is_dir():
        return False
    for candidate in sorted(path.parent.glob(f".{path.name}.*")):
        if (candidate / ENVELOPE_FILE).is_file() and (candidate / VERIFY_FILE).is_file():
            os.replace(candidate, path)
            return True
    return False


class _PayloadWriter:
    """Writes payload files under a release folder and remembers each one's sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.subjects: dict[str, str] = {}

    def _path(self, relpath: str) -> Path:
        path = self.root / PAYLOAD_DIR / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, relpath: str, data: bytes, sha256: str | None = None) -> None:
        self._path(relpath).write_bytes(data)
        self.subjects[f"{PAYLOAD_DIR}/{relpath}"] = sha256 or hashlib.sha256(data).hexdigest()

    def write_file(self, relpath: str, write: Callable[[Path], None]) -> None:
        path = self._path(relpath)
        write(path)
        with path.open("rb") as handle:
            self.subjects[f"{PAYLOAD_DIR}/{relpath}"] = hashlib.file_digest(
                handle, "sha256"
            ).hexdigest()


def _write_va_spec(
    writer: _PayloadWriter,
    data: Mapping[str, Any],
    *,
    release_version: str,
    release_sequence: int,
    kb_json_sha256: str,
) -> dict[str, str]:
    """Write the VA-Spec rendition's files; returns their subjects (name -> sha256)."""
    rendition = va_spec_rendition(
        data,
        release_version=release_version,
        release_sequence=release_sequence,
        kb_json_sha256=kb_json_sha256,
    )
    writer.put(STATEMENTS_FILE, rendition.statements_bytes())
    writer.put(NOT_EXPRESSED_FILE, rendition.not_expressed_bytes())
    return writer.subjects


class _Beside:
    """A build step run beside the rest of the build, in a forked process when that is safe
    and useful, else in this one when its result is asked for.

    Safe: only the main thread of a process with no other Python thread forks (a fork copies
    the calling thread alone, and a lock another thread held stays held in the child; the app
    builds in a Qt worker thread, so it builds in one process). Useful: the machine gives this
    process two cores or more. The step writes its own files and returns their subjects, so
    nothing large crosses the pipe; its exception, if any, is raised here."""

    def __init__(self, job: Callable[[], dict[str, str]], *, parallel: bool | None) -> None:
        self._job = job
        self._process: multiprocessing.process.BaseProcess | None = None
        if parallel is None:
            parallel = _fork_is_safe_and_useful()
        if not parallel:
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)

        def child() -> None:
            gc.disable()  # a short-lived copy of a large heap: no cycles worth the pages
            outcome: tuple[str, Any]
            try:
                outcome = ("ok", job())
            except BaseException as exc:  # reported to the parent, which raises it
                outcome = ("error", exc)
            try:
                send.send(outcome)
            except Exception:  # an exception that does not pickle: send its text
                send.send(("error", ReleaseError(f"{outcome[1]!r}")))

        self._process = context.Process(target=child, name="kb-release-va-spec", daemon=True)
        self._process.start()
        send.close()

    def result(self) -> dict[str, str]:
        if self._process is None:
            return self._job()
        try:
            kind, value = self._receive.recv()
        except EOFError:
            self._process.join()
            raise ReleaseError(
                "the VA-Spec rendition's process ended without a result "
                f"(exit code {self._process.exitcode}); nothing was released"
            ) from None
        finally:
            self._receive.close()
        self._process.join()
        self._process = None
        if kind == "error":
            raise value
        return dict(value)

    def stop(self) -> None:
        """Stop the step if it still runs (the build failed or was cancelled)."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._receive.close()
            self._process = None


def _fork_is_safe_and_useful() -> bool:
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    if threading.current_thread() is not threading.main_thread():
        return False  # a thread threading does not know of (Qt's pools): there may be more
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1


def _check_build_inputs(
    kb_json_sha256: str,
    *,
    release_version: str,
    release_sequence: int,
    previous_release_digest: str | None,
    created: str,
    approvals: Sequence[Mapping[str, Any]],
) -> None:
    if not _VERSION.fullmatch(release_version):
        raise ReleaseError(
            f"release version {release_version!r} is not of the form YEAR.MONTH.PATCH "
            "(e.g. 2026.11.0)"
        )
    if isinstance(release_sequence, bool) or not isinstance(release_sequence, int):
        raise ReleaseError("release_sequence must be a whole number")
    if release_sequence < 1:
        raise ReleaseError(f"release_sequence must be 1 or more, not {release_sequence}")
    if previous_release_digest is not None and not _SHA256.fullmatch(previous_release_digest):
        raise ReleaseError(
            f"previous release digest {previous_release_digest!r} is not a sha256 hex digest"
        )
    if release_sequence > 1 and previous_release_digest is None:
        raise ReleaseError(
            f"release {release_sequence} needs the digest of release {release_sequence - 1} "
            "(consumers refuse a release that does not chain to the one they accepted)"
        )
    if not _CREATED.fullmatch(created):
        raise ReleaseError(f"created {created!r} is not a UTC time like 2026-11-01T09:30:00Z")
    if not approvals:
        raise ReleaseError("a release needs at least one approval")
    for index, approval in enumerate(approvals):
        if not isinstance(approval, Mapping):
            raise ReleaseError(f"approval {index + 1} is not a JSON object")
        try:
            canonical_json(dict(approval))
        except (TypeError, ValueError) as exc:
            # It is signed into the statement, so it must have a canonical JSON form.
            raise ReleaseError(f"approval {index + 1} is not plain JSON data: {exc}") from None
        if "digest" in approval and approval["digest"] != kb_json_sha256:
            raise ReleaseError(
                f"approval {index + 1} approved content with digest {approval['digest']}, "
                f"but this KB version's digest is {kb_json_sha256}: the approval is void"
            )


def _root_for_signing(
    envelope: Mapping[str, Any], signing_keys: Sequence[Ed25519PrivateKey]
) -> TrustRoot:
    try:
        root = parse_trust_root(envelope)
    except VerificationError as exc:
        raise ReleaseError(f"the trust root cannot be used: {exc.message}") from None
    ids = {key_id(key.public_key()) for key in signing_keys}
    unknown = sorted(ids - set(root.keys))
    if unknown:
        raise ReleaseError(
            f"signing key {unknown[0][:16]}… is not in trust root version {root.version}; "
            "consumers would refuse the release"
        )
    if len(ids) < root.threshold:
        raise ReleaseError(
            f"trust root version {root.version} needs {root.threshold} signatures by distinct "
            f"keys; {len(ids)} distinct signing key(s) given"
        )
    return root


def _level_scheme(data: Mapping[str, Any]) -> str:
    schemes = {
        str(entry["fields"].get("level_scheme"))
        for entry in data["records"].get("assertion", ())
        if entry["fields"].get("level_scheme")
    }
    return "; ".join(sorted(schemes)) if schemes else LEVEL_SCHEME


def release_digest(out_dir: Path) -> str:
    """sha256 of a release's release.dsse.json: what the next release records as
    previous_release_digest and what a consumer's state file remembers."""
    try:
        with (Path(out_dir) / ENVELOPE_FILE).open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        raise ReleaseError(f"{out_dir} has no {ENVELOPE_FILE}; is it a release folder?") from None


def read_previous_release(path: Path) -> PreviousRelease:
    """The sequence, digest and kb.json of an earlier release folder of ours, to chain and diff
    the next release against. It is not verified here: verify it first if it came from
    elsewhere."""
    path = Path(path)
    envelope = _read_json(path / ENVELOPE_FILE, "release envelope")
    try:
        statement = json.loads(_b64(envelope["payload"]))
        sequence = int(statement["predicate"]["release_sequence"])
        kb_json = load_json_bytes((path / PAYLOAD_DIR / "kb.json").read_bytes())
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ReleaseError(f"{path} is not a readable release folder ({exc})") from None
    return PreviousRelease(sequence, release_digest(path), kb_json)


# --- verify ---------------------------------------------------------------------------------


def verify_release(
    path: Path,
    *,
    trusted_root: Mapping[str, Any] | TrustRoot,
    state_file: Path | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    min_signed_approvals: int = 0,
) -> VerifiedRelease:
    """Verify a release folder offline against a pinned trust root (an envelope, or a
    `TrustRoot`). Raises ReleaseVerificationError with a `Reason` on the first failed check.

    Every signed approval the release carries is checked with the root (kb.release.approvals):
    one that does not hold fails the release. `min_signed_approvals` is how many must hold
    (`kb release create` always includes at least one; a release built outside a KB has none).

    With `state_file`, the release must come after the one last accepted (its sequence above
    that one's, its previous_release_digest that one's digest), and on success it is recorded
    there, atomically, as the last accepted.
    """
    path = Path(path)
    try:
        return _verify(
            path, trusted_root, state_file, now, progress, min_signed_approvals=min_signed_approvals
        )
    except ReleaseVerificationError:
        raise
    except VerificationError as exc:
        raise ReleaseVerificationError(exc.reason_code, exc.message) from None


def _fail(reason: Reason, message: str) -> ReleaseVerificationError:
    return ReleaseVerificationError(reason, message)


def _verify(
    path: Path,
    trusted_root: Mapping[str, Any] | TrustRoot,
    state_file: Path | None,
    now: dt.datetime | None,
    progress: Progress | None,
    *,
    min_signed_approvals: int,
) -> VerifiedRelease:
    envelope_path = path / ENVELOPE_FILE
    if not envelope_path.is_file():
        raise _fail(Reason.NOT_A_RELEASE, f"{path} is not a release folder: no {ENVELOPE_FILE}")
    envelope_bytes = _read_limited(envelope_path, _ENVELOPE_LIMIT)
    digest = hashlib.sha256(envelope_bytes).hexdigest()
    try:
        envelope = json.loads(envelope_bytes)
    except (ValueError, UnicodeDecodeError):
        raise _fail(Reason.MALFORMED_ENVELOPE, f"{ENVELOPE_FILE} is not JSON") from None

    root, rotated = _resolve_root(path, trusted_root, now)
    payload, signers = verify_envelope(
        envelope,
        payload_type=PAYLOAD_TYPE,
        keys=root.keys,
        threshold=root.threshold,
        what=ENVELOPE_FILE,
    )
    if progress:
        progress(1, 4)
    subjects, predicate = _parse_statement(payload)
    kb_id = predicate["kb_id"]
    sequence = predicate["release_sequence"]
    state = _read_state(state_file) if state_file else None
    if state is not None:
        _check_state(state, kb_id, sequence, predicate["previous_release_digest"], digest)

    kb_bytes = _check_payload(path, subjects)
    _check_outside_payload(path, predicate, root)
    if progress:
        progress(2, 4)
    try:
        kb_json = load_json_bytes(kb_bytes)
    except (ValueError, UnicodeDecodeError):
        raise _fail(Reason.INCONSISTENT_RELEASE, "payload/kb.json is not JSON") from None
    if not isinstance(kb_json, dict) or kb_json.get("kb_id") != kb_id:
        raise _fail(Reason.INCONSISTENT_RELEASE, "payload/kb.json is for another KB")
    if kb_json.get("kb_version") != predicate.get("kb_version", kb_json.get("kb_version")):
        raise _fail(
            Reason.INCONSISTENT_RELEASE,
            f"payload/kb.json is KB version {kb_json.get('kb_version')!r}, "
            f"the statement says {predicate.get('kb_version')!r}",
        )
    approvals = check_release_approvals(
        predicate, kb_json_sha256=subjects[f"{PAYLOAD_DIR}/kb.json"], root=root
    )
    signed = sum(approval.signed for approval in approvals)
    if signed < min_signed_approvals:
        raise _fail(
            Reason.TOO_FEW_APPROVALS,
            f"the release carries {signed} signed approval(s) that verify with the trust root; "
            f"{min_signed_approvals} required",
        )
    if progress:
        progress(3, 4)
    if state_file is not None:
        _write_state(
            state_file, {"kb_id": kb_id, "release_sequence": sequence, "release_digest": digest}
        )
    if progress:
        progress(4, 4)
    return VerifiedRelease(
        path=path,
        kb_id=kb_id,
        version=predicate["version"],
        release_sequence=sequence,
        release_digest=digest,
        predicate=predicate,
        kb_json=kb_json,
        trust_root=root,
        root_rotated=rotated,
        signers=signers,
        approvals=tuple(approvals),
    )


def _resolve_root(
    path: Path, trusted: Mapping[str, Any] | TrustRoot, now: dt.datetime | None
) -> tuple[TrustRoot, bool]:
    """The root to verify against: the pinned one, or the folder's if it is the pinned one's
    direct successor, signed by a threshold of the pinned root's keys and of its own."""
    pinned = (
        trusted if isinstance(trusted, TrustRoot) else parse_trust_root(trusted, check_expiry=False)
    )
    root_path = path / ROOT_FILE
    if not root_path.is_file():
        check_root_expiry(pinned, now=now)
        return pinned, False
    try:
        shipped = json.loads(_read_limited(root_path, 16 * 1024 * 1024))
        shipped_payload = _b64(shipped["payload"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise _fail(Reason.ROOT_MISMATCH, f"{ROOT_FILE} is not a trust root envelope") from None
    if shipped_payload == pinned.payload:
        check_root_expiry(pinned, now=now)
        return pinned, False
    try:
        candidate = parse_trust_root(shipped, check_expiry=False)
    except VerificationError as exc:
        raise _fail(
            Reason.ROOT_MISMATCH, f"{ROOT_FILE} is not the pinned root: {exc.message}"
        ) from None
    if candidate.version != pinned.version + 1:
        raise _fail(
            Reason.ROOT_MISMATCH,
            f"{ROOT_FILE} is trust root version {candidate.version}, the pinned root is version "
            f"{pinned.version} with other content; only the direct successor of the pinned "
            "root is accepted in its place",
        )
    rotated = parse_trust_root(shipped, previous=pinned, check_expiry=False)
    check_root_expiry(rotated, now=now)
    return rotated, True


def _parse_statement(payload: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    def bad(message: str) -> ReleaseVerificationError:
        return _fail(Reason.MALFORMED_STATEMENT, f"release statement: {message}")

    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise bad("not JSON") from None
    if not isinstance(statement, dict):
        raise bad("not a JSON object")
    if statement.get("_type") != STATEMENT_TYPE:
        raise _fail(
            Reason.WRONG_STATEMENT_TYPE,
            f"statement _type is {statement.get('_type')!r}, expected {STATEMENT_TYPE!r}",
        )
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise _fail(
            Reason.WRONG_PREDICATE_TYPE,
            f"predicateType is {statement.get('predicateType')!r}, expected {PREDICATE_TYPE!r}",
        )
    raw_subjects = statement.get("subject")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise bad("no subjects")
    subjects: dict[str, str] = {}
    for item in raw_subjects:
        name = item.get("name") if isinstance(item, dict) else None
        digests = item.get("digest") if isinstance(item, dict) else None
        sha = digests.get("sha256") if isinstance(digests, dict) else None
        if not isinstance(name, str) or not _safe_payload_name(name):
            raise bad(f"subject name {name!r} is not a file under {PAYLOAD_DIR}/")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise bad(f"subject {name} has no sha256 digest")
        if name in subjects:
            raise bad(f"subject {name} is listed twice")
        subjects[name] = sha
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise bad("no predicate")
    kb_id, version = predicate.get("kb_id"), predicate.get("version")
    sequence, previous = predicate.get("release_sequence"), predicate.get("previous_release_digest")
    if not isinstance(kb_id, str) or not kb_id or not isinstance(version, str):
        raise bad("the predicate has no kb_id or version")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise bad("release_sequence is not a whole number from 1")
    if previous is not None and not (isinstance(previous, str) and _SHA256.fullmatch(previous)):
        raise bad("previous_release_digest is not a sha256 hex digest")
    if f"{PAYLOAD_DIR}/kb.json" not in subjects:
        raise bad(f"{PAYLOAD_DIR}/kb.json is not among the subjects")
    return subjects, predicate


def _safe_payload_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return (
        name.startswith(f"{PAYLOAD_DIR}/")
        and "\\" not in name
        and not pure.is_absolute()
        and all(part not in ("", ".", "..") for part in name.split("/"))
    )


def _check_payload(path: Path, subjects: Mapping[str, str]) -> bytes:
    """Compare payload/ with the signed subjects; returns the verified bytes of kb.json.

    Each file is read once and hashed from the bytes read, and kb.json is parsed from those
    same bytes, so a file swapped between hashing and reading cannot slip through.
    """
    found: set[str] = set()
    payload_dir = path / PAYLOAD_DIR
    if payload_dir.is_symlink():
        raise _fail(Reason.PAYLOAD_CHANGED, f"{PAYLOAD_DIR} is a symbolic link")
    for directory, dirnames, filenames in os.walk(payload_dir):
        for name in dirnames + filenames:
            full = Path(directory) / name
            relative = full.relative_to(path).as_posix()
            if full.is_symlink():
                raise _fail(Reason.PAYLOAD_CHANGED, f"{relative} is a symbolic link")
            if name in filenames:
                found.add(relative)
    missing = sorted(set(subjects) - found)
    if missing:
        raise _fail(Reason.PAYLOAD_MISSING, f"payload file missing: {missing[0]}")
    extra = sorted(found - set(subjects))
    if extra:
        raise _fail(Reason.PAYLOAD_EXTRA, f"unexpected file in the payload: {extra[0]}")
    kb_bytes = b""
    for name in sorted(subjects):
        data = (path / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != subjects[name]:
            raise _fail(Reason.PAYLOAD_CHANGED, f"payload file changed: {name}")
        if name == f"{PAYLOAD_DIR}/kb.json":
            kb_bytes = data
    return kb_bytes


def load_json_bytes(data: bytes) -> Any:
    """`json.loads` for large documents, with the cyclic garbage collector paused.

    Parsing allocates millions of dicts and lists, and each allocation burst triggers a
    collection that walks the whole (growing) heap: 58 MB of kb.json takes 2.0 s to parse with
    the collector running and 0.4 s without. Parsed JSON holds no reference cycles, so pausing
    the collector frees nothing late.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(data)
    finally:
        if was_enabled:
            gc.enable()


def _read_state(state_file: Path) -> dict[str, Any] | None:
    if not state_file.exists():
        return None
    try:
        state = json.loads(state_file.read_bytes())
    except (ValueError, UnicodeDecodeError, OSError):
        raise _fail(Reason.STATE_INVALID, f"{state_file} is not a readable state file") from None
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("kb_id"), str)
        or isinstance(state.get("release_sequence"), bool)
        or not isinstance(state.get("release_sequence"), int)
        or not isinstance(state.get("release_digest"), str)
        or not _SHA256.fullmatch(state["release_digest"])
    ):
        # Never treat a damaged state as "nothing accepted yet": that would reopen rollback.
        raise _fail(Reason.STATE_INVALID, f"{state_file} does not hold {', '.join(STATE_KEYS)}")
    return state


def _check_state(
    state: Mapping[str, Any], kb_id: str, sequence: int, previous: str | None, digest: str
) -> None:
    if state["kb_id"] != kb_id:
        raise _fail(
            Reason.STATE_MISMATCH,
            f"the state file is for KB {state['kb_id']}, this release is of KB {kb_id}",
        )
    last, last_digest = state["release_sequence"], state["release_digest"]
    if sequence == last and digest == last_digest:
        return  # the release already accepted, verified again
    if sequence <= last:
        raise _fail(
            Reason.ROLLBACK,
            f"release sequence {sequence} is not above {last}, the last one accepted",
        )
    if previous != last_digest:
        raise _fail(
            Reason.BROKEN_CHAIN,
            f"release {sequence} follows a release with digest {previous}, but the last one "
            f"accepted (sequence {last}) has digest {last_digest}; verify the releases in "
            "between first",
        )


def _write_state(state_file: Path, state: Mapping[str, Any]) -> None:
    # Write-then-rename: a crash leaves the old state or the new one, never half of either.
    state_file.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{state_file.name}.", dir=state_file.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(dumps_pretty(dict(state)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, state_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):
        directory = os.open(state_file.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _read_limited(path: Path, limit: int) -> bytes:
    if path.stat().st_size > limit:
        raise _fail(Reason.MALFORMED_ENVELOPE, f"{path.name} is larger than {limit} bytes")
    return path.read_bytes()


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ReleaseError(f"{path}: no {what}") from None
    except (ValueError, UnicodeDecodeError):
        raise ReleaseError(f"{path}: the {what} is not JSON") from None


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not base64 text")
    return base64.b64decode(text, validate=True)


# --- publish --------------------------------------------------------------------------------


def write_archive(path: Path, target: IO[bytes]) -> None:
    """The release folder as a deterministic tar.gz: entries sorted, under the folder's name,
    with zero times and owners and fixed modes, so the same release gives the same archive."""
    path = Path(path)
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=target, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        entries = sorted(path.rglob("*"), key=lambda item: item.relative_to(path).as_posix())
        for item in entries:
            if item.is_symlink():
                raise ReleaseError(f"{item} is a symbolic link; a release holds only files")
            info = tarfile.TarInfo(f"{path.name}/{item.relative_to(path).as_posix()}")
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if item.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            else:
                info.mode = 0o644
                info.size = item.stat().st_size
                with item.open("rb") as handle:
                    archive.addfile(info, handle)


def publish_release(
    path: Path,
    url: str,
    *,
    session: Any = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 0.5,
    max_wait: float = 60.0,
) -> PublishResult:
    """Upload a release folder: one HTTP PUT of its deterministic tar.gz (`write_archive`) to
    `url`, with `Content-Type: application/gzip` and the archive's sha256 in
    `X-Content-SHA256`.

    The server must answer 2xx with a JSON body whose `sha256` is the archive's; only then is
    the release published. Connection errors, timeouts, 5xx and 429 are retried up to `retries`
    times, waiting `backoff` × 2ⁿ seconds or the server's Retry-After (at most `max_wait`);
    PUT of the same bytes to the same URL is idempotent, so a retry after a lost answer is
    safe. Any other answer fails at once. `session` is a `requests.Session` (one is made if
    not given).
    """
    import requests

    path = Path(path)
    if not (path / ENVELOPE_FILE).is_file():
        raise PublishError(f"{path} is not a release folder: no {ENVELOPE_FILE}")
    shown = _safe_url(url)
    own_session = session is None
    http = requests.Session() if own_session else session
    try:
        with tempfile.TemporaryFile() as archive:
            write_archive(path, archive)
            size = archive.tell()
            archive.seek(0)
            digest = hashlib.file_digest(archive, "sha256").hexdigest()
            headers = {
                "Content-Type": "application/gzip",
                "X-Content-SHA256": digest,
                "X-KB-Release": path.name,
            }
            attempts = 0
            while True:
                attempts += 1
                archive.seek(0)
                wait: float | None = None
                try:
                    response = http.put(
                        url, data=archive, headers=headers, timeout=timeout, allow_redirects=False
                    )
                except (requests.ConnectionError, requests.Timeout) as exc:
                    problem = f"no answer from {shown} ({type(exc).__name__})"
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        body = _confirmation(response, digest, shown)
                        return PublishResult(url, digest, size, attempts, body)
                    problem = f"{shown} answered {status} {_snippet(response.text)}".rstrip()
                    if status != 429 and status < 500:
                        raise PublishError(f"upload refused: {problem}")
                    wait = _retry_after(response.headers.get("Retry-After"))
                if attempts > retries:
                    raise PublishError(f"upload failed after {attempts} attempt(s): {problem}")
                delay = backoff * 2 ** (attempts - 1) if wait is None else wait
                time.sleep(min(max(delay, 0.0), max_wait))
    finally:
        if own_session:
            http.close()


def _confirmation(response: Any, digest: str, shown: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("sha256") != digest:
        raise PublishError(
            f"{shown} answered {response.status_code} without confirming sha256 {digest}; "
            "the release cannot be taken as published"
        )
    return body


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _safe_url(url: str) -> str:
    # Never echo credentials embedded in a URL into an error message or a log.
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _check_outside_payload(path: Path, predicate: Mapping[str, Any], root: TrustRoot) -> None:
    """Every file outside payload/ is one the release format names, and VERIFY.md says exactly
    what the signed statement implies: steps a consumer follows cannot be swapped unnoticed."""
    allowed = {ENVELOPE_FILE, ROOT_FILE, VERIFY_FILE}
    for directory, _dirnames, filenames in os.walk(path):
        here = Path(directory)
        if here == path / PAYLOAD_DIR or path / PAYLOAD_DIR in here.parents:
            continue
        for name in filenames:
            relative = (here / name).relative_to(path).as_posix()
            if relative not in allowed:
                raise _fail(
                    Reason.PAYLOAD_EXTRA,
                    f"unexpected file in the release: {relative} (only {PAYLOAD_DIR}/, "
                    f"{ENVELOPE_FILE}, {ROOT_FILE} and {VERIFY_FILE} belong there)",
                )
    verify_path = path / VERIFY_FILE
    if verify_path.is_file():
        kb_id, version = predicate["kb_id"], predicate["version"]
        sequence = predicate["release_sequence"]
        expected = verify_instructions(
            kb_id, version, sequence, root, release_dir_name(kb_id, sequence, version)
        )
        if verify_path.read_bytes() != expected.encode("utf-8"):
            raise _fail(
                Reason.PAYLOAD_CHANGED,
                f"{VERIFY_FILE} differs from the steps this release's signed statement implies",
            )


# --- VERIFY.md ------------------------------------------------------------------------------


def verify_instructions(
    kb_id: str, version: str, sequence: int, root: TrustRoot, folder: str
) -> str:
    """The VERIFY.md text of a release: plain steps, with and without KB Curator."""
    keys = "\n".join(f"- `{kid}`" for kid in sorted(root.keys))
    return _VERIFY_TEMPLATE.format(
        folder=folder,
        kb_id=kb_id,
        version=version,
        sequence=sequence,
        root_version=root.version,
        root_digest=root.digest,
        threshold=root.threshold,
        keys=keys,
        payload_type=PAYLOAD_TYPE,
        predicate_type=PREDICATE_TYPE,
    )


_VERIFY_TEMPLATE = """\
# Verifying {folder}

This folder is release **{version}** (release sequence **{sequence}**) of knowledge base
`{kb_id}`.

- `payload/` is the release: `kb.json` (authoritative, RFC 8785 canonical JSON) and its JSON
  Schema, flat tables (`tables/*.tsv`, `kb.xlsx`), one CTML document per trial (`ctml/`),
  GA4GH VA-Spec statements (`va-spec/statements.jsonl`, one per line, with
  `va-spec/not-expressed.json` listing what VA-Spec could not express and why) and the changes
  since the previous release (`changes.json`).
- `release.dsse.json` signs it: a DSSE envelope (payloadType `{payload_type}`) holding an
  in-toto Statement v1 that lists every payload file with its sha256; its predicate
  (`{predicate_type}`) gives the KB id, version, release sequence, the previous release's
  digest, the vocabularies, the approvals (each with its signature and the certificate of
  the approver's key, both checkable with the trust root) and the KB's audit chain head the
  release was cut at.
- `trust/root.json` is the trust root the release was signed under: version {root_version}
  (sha256 of its payload `{root_digest}`). It needs **{threshold}** signature(s) by distinct keys
  among:

{keys}

Trust a release only against a root you obtained separately and pinned (for example the
`trust/root.json` of the first release you accepted, its payload digest checked with the
publisher). A new root replaces yours only if it is the next version and is signed by enough
keys of your root *and* of itself; `kb release verify` checks that for you.

## With KB Curator

    kb release verify {folder} --root PINNED_ROOT.json --state LAST_ACCEPTED.json

It exits 0 and names the release when every check passes, and otherwise says which check failed.
`--state` remembers the last release you accepted: an older release (rollback) or one whose
`previous_release_digest` is not the sha256 of the accepted release's `release.dsse.json`
(broken chain) is refused. From Python: `kb.release.verify_release(path,
trusted_root=json.load(open("PINNED_ROOT.json")), state_file=Path("LAST_ACCEPTED.json"))`.

## With Python and the `cryptography` package only

Save as `verify_release.py` and run `python3 verify_release.py {folder} PINNED_ROOT.json`.
It checks the signatures against your pinned root (not against the copy in this folder), then
that `payload/` holds exactly the signed files with the signed digests.

```python
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

release, pinned = sys.argv[1], sys.argv[2]
with open(pinned, "rb") as f:
    root = json.loads(base64.b64decode(json.load(f)["payload"]))
with open(os.path.join(release, "release.dsse.json"), "rb") as f:
    envelope = json.load(f)
assert envelope["payloadType"] == "{payload_type}", "not a release statement"
body = base64.b64decode(envelope["payload"])
kind = envelope["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
signed_by = set()
for signature in envelope["signatures"]:
    key = root["keys"].get(signature["keyid"])
    if key is not None:  # verify() raises InvalidSignature on a bad signature
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public"]))
        public.verify(base64.b64decode(signature["sig"]), pae)
        signed_by.add(signature["keyid"])
assert len(signed_by) >= root["threshold"], "too few signatures by trusted keys"
statement = json.loads(body)
assert statement["predicateType"] == "{predicate_type}", "not a KB Curator release"
listed = {{s["name"]: s["digest"]["sha256"] for s in statement["subject"]}}
found = set()
for directory, _, files in os.walk(os.path.join(release, "payload")):
    for name in files:
        found.add(os.path.relpath(os.path.join(directory, name), release).replace(os.sep, "/"))
assert found == set(listed), "missing or extra payload files: %s" % sorted(found ^ set(listed))
for name, digest in sorted(listed.items()):
    with open(os.path.join(release, name), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest, name + " changed"
predicate = statement["predicate"]
print("verified", predicate["version"], "sequence", predicate["release_sequence"])
```

## With a shell only (bash, jq, base64, sha256sum, OpenSSL 3)

Run in the release folder, with your pinned root at `$ROOT`:

```bash
set -e
jq -r .payload release.dsse.json | base64 -d > /tmp/statement.json
TYPE=$(jq -r .payloadType release.dsse.json)
test "$TYPE" = "{payload_type}"
{{ printf 'DSSEv1 %d %s %d ' "${{#TYPE}}" "$TYPE" "$(wc -c < /tmp/statement.json)"
  cat /tmp/statement.json; }} > /tmp/pae.bin
jq -r .payload "$ROOT" | base64 -d > /tmp/root.json
GOOD=0
for KEYID in $(jq -r '.signatures[].keyid' release.dsse.json | sort -u); do
  PUBLIC=$(jq -r --arg k "$KEYID" '.keys[$k].public // empty' /tmp/root.json)
  test -n "$PUBLIC" || continue   # not a key of your root
  {{ printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'
    echo "$PUBLIC" | base64 -d; }} > /tmp/key.der   # Ed25519 SubjectPublicKeyInfo
  openssl pkey -pubin -inform DER -in /tmp/key.der -out /tmp/key.pem
  jq -r --arg k "$KEYID" '[.signatures[] | select(.keyid == $k)][0].sig' release.dsse.json \\
    | base64 -d > /tmp/sig.bin
  openssl pkeyutl -verify -pubin -inkey /tmp/key.pem -rawin -in /tmp/pae.bin \\
    -sigfile /tmp/sig.bin
  GOOD=$((GOOD + 1))
done
test "$GOOD" -ge "$(jq .threshold /tmp/root.json)"
jq -r '.subject[] | "\\(.digest.sha256)  \\(.name)"' /tmp/statement.json | sha256sum --strict -c
diff <(find payload -type f | sort) <(jq -r '.subject[].name' /tmp/statement.json | sort)
jq .predicate /tmp/statement.json
```

Then check the predicate against what you accepted before: `release_sequence` must be above the
last release you accepted, and `previous_release_digest` must be the output of
`sha256sum release.dsse.json` run in that release's folder.

## Reading the tables

`tables/*.tsv` are UTF-8, LF line ends, one header row, one row per record sorted by id, lists
joined with "; ". Inside a cell a backslash, tab, line feed and carriage return are written
`\\\\`, `\\t`, `\\n` and `\\r`. A text cell that would start with `=`, `+`, `-`, `@`, a tab or a
carriage return is prefixed with a single quote `'` so a spreadsheet never runs it as a formula;
`kb.xlsx` stores every text cell as text, unchanged, and `kb.json` keeps every value exactly.
"""
