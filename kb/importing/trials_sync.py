"""Keep trials current: check the KB's trials against ClinicalTrials.gov (API v2), issue 7.

A trial that closed last month must not keep matching patients, yet nothing the registry says
may reach the KB unreviewed. So a check reads the registry, compares it with the main line and
stages every difference — status, phase, title, age limits, sex, arms added or gone — in ONE
draft change set that a reviewer approves like any other. Trials the registry no longer knows
are reported, never deleted.

The work comes in three parts so a caller can keep network time out of database transactions:

- `fetch_registry` — network only, no database: one GET per trial (`/api/v2/studies/{nctId}`)
  or `/api/v2/studies?filter.ids=…` followed page by page to the end; retries, rate cap,
  progress and cancel live here.
- `stage_registry_check` — database only: compares a fetched answer with the main line and
  writes the draft (or nothing, when nothing differs), in the caller's transaction.
- `sync_trials` — both, for the command line and tests.

Every network failure is a `TrialSyncError` raised before anything is staged, so a bad answer
never leaves a partial change set behind; a cancel raises `SyncCancelled`, likewise before any
write. See docs/trials-sync.md for what is compared and how to review it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy.orm import Session

from kb import __version__
from kb.errors import KbError
from kb.model.enums import RecordType, Sex, TrialPhase, TrialStatus
from kb.model.records import RecordRow, list_records
from kb.review.audit import record_event
from kb.review.changes import open_draft
from kb.review.users import Actor, Permission, require

__all__ = [
    "DEFAULT_BASE_URL",
    "ArmNote",
    "CancelToken",
    "FieldChange",
    "RegistryAnswer",
    "RegistryArm",
    "RegistryStudy",
    "SyncCancelled",
    "SyncResult",
    "TrialDifference",
    "TrialSyncError",
    "arm_code",
    "fetch_registry",
    "kb_trial_ids",
    "parse_age",
    "parse_retry_after",
    "parse_study",
    "stage_registry_check",
    "sync_trials",
    "user_agent",
]

DEFAULT_BASE_URL = "https://clinicaltrials.gov"
ProgressCallback = Callable[[int, int], None]
CancelToken = Callable[[], bool] | threading.Event
Timeout = float | tuple[float, float]

# Only the modules we compare: a study with posted results is hundreds of kilobytes in full.
_FIELDS = ",".join(
    f"protocolSection.{module}"
    for module in (
        "identificationModule",
        "statusModule",
        "designModule",
        "armsInterventionsModule",
        "eligibilityModule",
    )
)
# Studies read per protocol-number search: a sponsor's number names one study, rarely a few.
_PROTOCOL_PAGE_SIZE = 20
# Ids per list query: keeps the URL near 2.5 kB, well inside what servers and proxies accept.
_IDS_PER_QUERY = 200
# The API's own maximum page size.
_MAX_PAGE_SIZE = 1000
# A study answer is tens of kilobytes; far more than this is not an answer we can use.
_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Waiting longer than this because the registry asked us to is better left to a later run.
_MAX_RETRY_AFTER = 300.0
# A pagination loop that never ends is a server fault, not a reason to run forever.
_MAX_PAGES = 10_000
# Trial arm codes are stored in 64 characters; the registry allows 100 for an arm label.
_CODE_LENGTH = 64
_NCT = re.compile(r"^NCT\d{8}$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)
_DAYS_PER_YEAR = 365.25
_PER_YEAR = {
    "year": 1.0,
    "month": 12.0,
    "week": _DAYS_PER_YEAR / 7,
    "day": _DAYS_PER_YEAR,
    "hour": _DAYS_PER_YEAR * 24,
    "minute": _DAYS_PER_YEAR * 24 * 60,
}
_PHASES: dict[frozenset[str], TrialPhase] = {
    frozenset({"EARLY_PHASE1"}): TrialPhase.EARLY_PHASE1,
    frozenset({"PHASE1"}): TrialPhase.PHASE1,
    frozenset({"PHASE1", "PHASE2"}): TrialPhase.PHASE1_PHASE2,
    frozenset({"PHASE2"}): TrialPhase.PHASE2,
    frozenset({"PHASE2", "PHASE3"}): TrialPhase.PHASE2_PHASE3,
    frozenset({"PHASE3"}): TrialPhase.PHASE3,
    frozenset({"PHASE4"}): TrialPhase.PHASE4,
    frozenset({"NA"}): TrialPhase.NA,
}


class TrialSyncError(KbError):
    """The registry could not be read, or said something we cannot use; nothing was written."""


class SyncCancelled(KbError):
    """The check was cancelled before it finished; nothing was written."""

    def __init__(self) -> None:
        super().__init__("the registry check was cancelled; nothing was written")


def user_agent(contact: str | None = None) -> str:
    """How we introduce ourselves to the registry: the app, its version and, when known, who
    to contact (`contact`, else the KB_CONTACT environment variable: a URL or mailto:)."""
    contact = contact or os.environ.get("KB_CONTACT")
    about = f"+{contact}" if contact else "KB Curator, precision-oncology knowledge base curation"
    return f"kb-curator/{__version__} ({about})"


# --- what the registry says, as plain data ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryArm:
    label: str
    type: str | None
    description: str


@dataclass(frozen=True, slots=True)
class RegistryStudy:
    """The parts of one study record that the KB keeps, already in the KB's terms."""

    nct_id: str
    aliases: tuple[str, ...]
    title: str
    status: TrialStatus
    phase: TrialPhase
    last_update: str | None
    # None when the record has no armsInterventionsModule / eligibilityModule: no information,
    # which is not the same as "no arms" or "no age limit".
    arms: tuple[RegistryArm, ...] | None
    has_eligibility: bool
    min_age: int | None
    max_age: int | None
    sex: Sex | None
    # The sponsor's and other ids the study is registered under (orgStudyIdInfo.id,
    # secondaryIdInfos[].id): how a trial known by its protocol number is recognised.
    study_ids: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "aliases": list(self.aliases),
            "title": self.title,
            "status": self.status.value,
            "phase": self.phase.value,
            "last_update": self.last_update,
            "arms": None
            if self.arms is None
            else [
                {"label": a.label, "type": a.type, "description": a.description} for a in self.arms
            ],
            "eligibility": {
                "min_age": self.min_age,
                "max_age": self.max_age,
                "sex": self.sex.value if self.sex else None,
            }
            if self.has_eligibility
            else None,
        }


@dataclass(frozen=True, slots=True)
class RegistryAnswer:
    """What `fetch_registry` found: studies by the key we asked for (an NCT id, or the
    protocol number of a trial that has none yet), and keys it lacks."""

    base_url: str
    requested: tuple[str, ...]
    studies: Mapping[str, RegistryStudy]
    missing: tuple[str, ...]
    requests: int
    # What could not be settled, e.g. a protocol number several studies are registered under.
    notes: tuple[str, ...] = ()

    def digest(self) -> str:
        """sha256 of the answer in canonical JSON: two checks that saw the same registry data
        have the same digest (kept on the change set as its source_sha256)."""
        data = {nct: self.studies[nct].as_json() for nct in sorted(self.studies)}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


# --- what the check proposes -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    record: str
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.record} {self.field}: {_shown(self.old)} → {_shown(self.new)}"

    def as_json(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class ArmNote:
    human_id: str
    code: str
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.human_id, "code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class TrialDifference:
    """Everything the check proposes for one trial."""

    nct_id: str
    trial: str
    registry_updated: str | None
    fields: tuple[FieldChange, ...] = ()
    arm_fields: tuple[FieldChange, ...] = ()
    arms_added: tuple[ArmNote, ...] = ()
    arms_suspended: tuple[ArmNote, ...] = ()

    def lines(self) -> list[str]:
        updated = f" (registry updated {self.registry_updated})" if self.registry_updated else ""
        out = [f"{self.nct_id} {self.trial}{updated}"]
        out += [
            f"  {change.field}: {_shown(change.old)} → {_shown(change.new)}"
            for change in self.fields
        ]
        out += [f"  {change}" for change in self.arm_fields]
        out += [
            f"  arm added: {arm.human_id} {arm.code!r} (suspended until a curator adds eligibility)"
            for arm in self.arms_added
        ]
        out += [
            f"  arm suspended: {arm.human_id} {arm.code!r} (no longer in the registry)"
            for arm in self.arms_suspended
        ]
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "trial": self.trial,
            "registry_updated": self.registry_updated,
            "fields": [change.as_json() for change in self.fields],
            "arm_fields": [change.as_json() for change in self.arm_fields],
            "arms_added": [arm.as_json() for arm in self.arms_added],
            "arms_suspended": [arm.as_json() for arm in self.arms_suspended],
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    """The outcome of one registry check: plain data, safe to hand to any thread."""

    base_url: str
    checked: tuple[str, ...]
    changed: tuple[TrialDifference, ...]
    missing: tuple[str, ...]
    change_set: str | None
    change_set_title: str | None
    requests: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unchanged(self) -> int:
        return len(self.checked) - len(self.changed) - len(self.missing)

    def lines(self) -> list[str]:
        """The result as text, for the command line and the app's report."""
        out = [
            f"Checked {_count(len(self.checked), 'trial')} against {self.base_url}: "
            f"{len(self.changed)} changed, {self.unchanged} unchanged, "
            f"{len(self.missing)} missing ({_count(self.requests, 'request')})"
        ]
        for difference in self.changed:
            out += difference.lines()
        if self.missing:
            out.append(
                "Not in the registry (reported only, nothing deleted): " + ", ".join(self.missing)
            )
        out += list(self.notes)
        if self.change_set:
            out.append(
                f"Draft change set {self.change_set} {self.change_set_title!r}: nothing is merged "
                f"until it is submitted (kb changes submit {self.change_set}) and approved"
            )
        else:
            out.append("No differences: no change set was created")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "checked": list(self.checked),
            "changed": [difference.as_json() for difference in self.changed],
            "unchanged": self.unchanged,
            "missing": list(self.missing),
            "notes": list(self.notes),
            "change_set": self.change_set,
            "change_set_title": self.change_set_title,
            "requests": self.requests,
        }


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value) if isinstance(value, str) else str(value)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# --- reading a study record --------------------------------------------------------------------


def parse_age(value: Any, *, where: str, field_name: str) -> int | None:
    """A registry age ("18 Years", "6 Months", "N/A", absent) as whole years, rounded down.

    Our arms keep ages in whole years and patients' ages are whole years, so "6 Months"
    becomes 0 (a 0-year-old may enter) — the nearest the KB can say.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TrialSyncError(f"{where}: {field_name} is {value!r}, expected text like '18 Years'")
    if value.strip().upper() in ("", "N/A", "NA", "NONE"):
        return None
    match = _AGE.match(value)
    if not match:
        raise TrialSyncError(
            f"{where}: {field_name} {value!r} is not an age like '18 Years' or '6 Months'"
        )
    years = float(match.group(1)) / _PER_YEAR[match.group(2).lower()]
    # The epsilon keeps "12 Months" at exactly 1 year whatever the float rounding does.
    return math.floor(years + 1e-9)


def _module(section: Mapping[str, Any], name: str, where: str, *, required: bool) -> Any:
    value = section.get(name)
    if value is None:
        if required:
            raise TrialSyncError(f"{where}: the record has no protocolSection.{name}")
        return None
    if not isinstance(value, dict):
        raise TrialSyncError(f"{where}: protocolSection.{name} is not an object")
    return value


def _text(module: Mapping[str, Any], path: str, where: str) -> str:
    value = module.get(path.rsplit(".", 1)[-1])
    if not isinstance(value, str) or not value.strip():
        found = "missing" if value is None else f"{value!r}, not text"
        raise TrialSyncError(f"{where}: required field protocolSection.{path} is {found}")
    return value.strip()


def parse_study(study: Any, *, where: str) -> RegistryStudy:
    """One v2 study record (`{"protocolSection": {...}}`) as a `RegistryStudy`.

    `where` names what was asked for (the NCT id), so every error names the trial.
    """
    if not isinstance(study, dict):
        raise TrialSyncError(f"{where}: the study record is not a JSON object")
    section = study.get("protocolSection")
    if not isinstance(section, dict):
        raise TrialSyncError(f"{where}: the record has no protocolSection")
    ident = _module(section, "identificationModule", where, required=True)
    nct_id = _text(ident, "identificationModule.nctId", where).upper()
    if not _NCT.match(nct_id):
        raise TrialSyncError(f"{where}: nctId {nct_id!r} is not an NCT id")
    if _NCT.match(where) is None:
        where = nct_id  # a list answer: from here on, name the trial itself
    elif where != nct_id:
        where = f"{where} (registry record {nct_id})"
    aliases_raw = ident.get("nctIdAliases") or []
    if not isinstance(aliases_raw, list) or not all(isinstance(a, str) for a in aliases_raw):
        raise TrialSyncError(f"{where}: identificationModule.nctIdAliases is not a list of ids")
    title = _text(ident, "identificationModule.briefTitle", where)

    status_module = _module(section, "statusModule", where, required=True)
    status_text = _text(status_module, "statusModule.overallStatus", where)
    try:
        status = TrialStatus(status_text)
    except ValueError:
        raise TrialSyncError(
            f"{where}: unexpected overallStatus {status_text!r}; the KB knows "
            + ", ".join(s.value for s in TrialStatus)
        ) from None
    last_update = None
    struct = status_module.get("lastUpdatePostDateStruct")
    if isinstance(struct, dict) and isinstance(struct.get("date"), str):
        last_update = struct["date"]
    elif struct is not None:
        raise TrialSyncError(f"{where}: statusModule.lastUpdatePostDateStruct has no date")

    design = _module(section, "designModule", where, required=True)
    phases = design.get("phases")
    if phases is None:
        raise TrialSyncError(
            f"{where}: required field protocolSection.designModule.phases is missing"
        )
    if not isinstance(phases, list) or not phases or not all(isinstance(p, str) for p in phases):
        raise TrialSyncError(f"{where}: designModule.phases is {phases!r}, not a list of phases")
    phase = _PHASES.get(frozenset(phases))
    if phase is None:
        raise TrialSyncError(
            f"{where}: unexpected designModule.phases {phases!r}; the KB knows "
            + ", ".join(p.value for p in TrialPhase)
        )

    arms: tuple[RegistryArm, ...] | None = None
    arms_module = _module(section, "armsInterventionsModule", where, required=False)
    if arms_module is not None and arms_module.get("armGroups") is not None:
        groups = arms_module["armGroups"]
        if not isinstance(groups, list):
            raise TrialSyncError(f"{where}: armsInterventionsModule.armGroups is not a list")
        parsed = []
        for index, group in enumerate(groups, start=1):
            if not isinstance(group, dict):
                raise TrialSyncError(f"{where}: arm group {index} is not an object")
            label = group.get("label")
            if not isinstance(label, str) or not label.strip():
                raise TrialSyncError(f"{where}: arm group {index} has no label")
            kind, description = group.get("type"), group.get("description")
            if kind is not None and not isinstance(kind, str):
                raise TrialSyncError(f"{where}: arm group {label!r}: type {kind!r} is not text")
            if description is not None and not isinstance(description, str):
                raise TrialSyncError(f"{where}: arm group {label!r}: description is not text")
            parsed.append(RegistryArm(" ".join(label.split()), kind, (description or "").strip()))
        arms = tuple(parsed)

    eligibility = _module(section, "eligibilityModule", where, required=False)
    min_age = max_age = None
    sex: Sex | None = None
    if eligibility is not None:
        min_age = parse_age(eligibility.get("minimumAge"), where=where, field_name="minimumAge")
        max_age = parse_age(eligibility.get("maximumAge"), where=where, field_name="maximumAge")
        sex_text = eligibility.get("sex")
        if sex_text is not None:
            try:
                sex = Sex(sex_text)
            except ValueError:
                raise TrialSyncError(
                    f"{where}: unexpected eligibilityModule.sex {sex_text!r}; expected "
                    + ", ".join(s.value for s in Sex)
                ) from None
    study_ids: list[str] = []
    org = ident.get("orgStudyIdInfo")
    if isinstance(org, dict) and isinstance(org.get("id"), str):
        study_ids.append(org["id"])
    secondary = ident.get("secondaryIdInfos")
    if isinstance(secondary, list):
        study_ids += [
            info["id"]
            for info in secondary
            if isinstance(info, dict) and isinstance(info.get("id"), str)
        ]
    return RegistryStudy(
        study_ids=tuple(_protocol_key(text) for text in study_ids if text.strip()),
        nct_id=nct_id,
        aliases=tuple(a.strip().upper() for a in aliases_raw),
        title=title,
        status=status,
        phase=phase,
        last_update=last_update,
        arms=arms,
        has_eligibility=eligibility is not None,
        min_age=min_age,
        max_age=max_age,
        sex=sex,
    )


# --- the HTTP client ---------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _cancelled(cancel: CancelToken | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class _Client:
    """GETs JSON politely: a minimum interval between requests, retries with backoff on 429,
    5xx and broken connections (honouring Retry-After), a cancel check before every request
    and during every wait."""

    def __init__(
        self,
        *,
        base_url: str,
        http: requests.Session,
        cancel: CancelToken | None,
        max_requests_per_second: float,
        retries: int,
        timeout: Timeout,
        backoff: float,
        max_backoff: float,
        contact: str | None,
    ) -> None:
        if max_requests_per_second <= 0:
            raise KbError("max_requests_per_second must be above 0")
        if retries < 0:
            raise KbError("retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.cancel = cancel
        self.interval = 1.0 / max_requests_per_second
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.headers = {"User-Agent": user_agent(contact), "Accept": "application/json"}
        self.requests = 0
        self._last_start: float | None = None

    def check_cancel(self) -> None:
        if _cancelled(self.cancel):
            raise SyncCancelled()

    def _wait(self, seconds: float) -> None:
        """Sleep, but give up at once when cancelled."""
        deadline = time.monotonic() + seconds
        while True:
            self.check_cancel()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if isinstance(self.cancel, threading.Event):
                self.cancel.wait(left)
            else:
                time.sleep(min(left, 0.05))

    def _pace(self) -> None:
        # A minimum interval between request starts: a token bucket holding one token, so
        # the registry never sees a burst above the cap, retries included.
        if self._last_start is not None:
            self._wait(self._last_start + self.interval - time.monotonic())
        self.check_cancel()
        self._last_start = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        # Exponential with "equal jitter": at least half the step, so clients that failed
        # together do not all come back at the same instant, and never less than a pause.
        step = min(self.max_backoff, self.backoff * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)

    def get(self, path: str, params: Mapping[str, str], *, what: str) -> tuple[int, Any]:
        """(status, parsed JSON) for a 200; (404, None) for a 404; TrialSyncError otherwise."""
        url = f"{self.base_url}{path}"
        attempts = self.retries + 1
        problem = ""
        for attempt in range(attempts):
            self._pace()
            self.requests += 1
            wait: float | None = None
            try:
                response = self.http.get(
                    url, params=params, headers=self.headers, timeout=self.timeout, stream=True
                )
            except requests.ConnectTimeout:
                problem = (
                    f"cannot connect to {self.base_url} within {_timeouts(self.timeout)[0]:g} s"
                )
            except requests.Timeout:
                problem = f"no answer within {_timeouts(self.timeout)[1]:g} s"
            except requests.ConnectionError as exc:
                problem = f"cannot connect to {self.base_url} ({_reason(exc)})"
            except requests.RequestException as exc:
                raise TrialSyncError(f"{what}: the request failed ({_reason(exc)})") from None
            else:
                with response:
                    status = response.status_code
                    if status == 200:
                        try:
                            body = _read_body(response, what=what)
                        except requests.Timeout:
                            problem = (
                                f"the answer stalled for over {_timeouts(self.timeout)[1]:g} s"
                            )
                        except requests.RequestException as exc:
                            problem = f"the answer broke off ({_reason(exc)})"
                        else:
                            return 200, _parse_json(response, body, what=what)
                    elif status == 404:
                        return 404, None
                    elif status == 429 or 500 <= status < 600:
                        problem = f"HTTP {status} {response.reason}".rstrip()
                        wait = parse_retry_after(response.headers.get("Retry-After"))
                        if wait is not None and wait > _MAX_RETRY_AFTER:
                            raise TrialSyncError(
                                f"{what}: ClinicalTrials.gov answered {problem} and asks us to "
                                f"wait {wait:.0f} s; try again later"
                            )
                    else:
                        snippet = _snippet(response)
                        raise TrialSyncError(
                            f"{what}: ClinicalTrials.gov answered HTTP {status} {response.reason}"
                            + (f": {snippet}" if snippet else "")
                        )
            if attempt + 1 < attempts:
                self._wait(wait if wait is not None else self._backoff(attempt))
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        raise TrialSyncError(f"{what}: {problem} (gave up after {tries})")


def _timeouts(timeout: Timeout) -> tuple[float, float]:
    """(connect, read) seconds, as requests reads a single number or a pair."""
    if isinstance(timeout, tuple):
        return float(timeout[0]), float(timeout[1])
    return float(timeout), float(timeout)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def _read_body(response: requests.Response, *, what: str) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(1 << 16):
        size += len(chunk)
        if size > _MAX_RESPONSE_BYTES:
            raise TrialSyncError(
                f"{what}: the answer is larger than {_MAX_RESPONSE_BYTES // (1 << 20)} MiB; refused"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _snippet(response: requests.Response) -> str:
    try:
        text = response.raw.read(300, decode_content=True).decode("utf-8", "replace")
    except Exception:  # a best-effort hint in an error message; the status already says enough
        return ""
    return " ".join(text.split())[:200]


def _parse_json(response: requests.Response, body: bytes, *, what: str) -> Any:
    kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    start = body.lstrip()[:1]
    if kind in ("text/html", "application/xhtml+xml") or start == b"<":
        # A proxy or the registry's own error page, served with 200.
        title = re.search(rb"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        shown = (
            f" titled {' '.join(title.group(1).decode('utf-8', 'replace').split())[:100]!r}"
            if title
            else ""
        )
        raise TrialSyncError(
            f"{what}: ClinicalTrials.gov answered with an HTML page{shown} instead of JSON"
        )
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrialSyncError(
            f"{what}: ClinicalTrials.gov answered malformed JSON ({exc})"
        ) from None


# --- fetching ----------------------------------------------------------------------------------


def _normal_ids(nct_ids: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in nct_ids:
        nct = raw.strip().upper()
        if not _NCT.match(nct):
            raise KbError(f"{raw!r} is not an NCT id (NCT followed by 8 digits)")
        if nct not in out:
            out.append(nct)
    return out


def _protocol_key(text: str) -> str:
    """A protocol number as compared: upper case, runs of whitespace as one space."""
    return " ".join(text.upper().split())


def _split_keys(keys: Iterable[str]) -> tuple[list[str], list[str]]:
    """NCT ids (normalised) and protocol numbers (anything else, as given), each once."""
    ncts: list[str] = []
    protocols: list[str] = []
    for raw in keys:
        text = " ".join(raw.split())
        if _NCT.match(text.upper()):
            if text.upper() not in ncts:
                ncts.append(text.upper())
        elif text and _protocol_key(text) not in map(_protocol_key, protocols):
            protocols.append(text)
    return ncts, protocols


def _owner(study: RegistryStudy, wanted: Iterable[str]) -> str | None:
    """Which requested id a returned study answers: its own, or an old id merged into it."""
    for nct in wanted:
        if nct == study.nct_id or nct in study.aliases:
            return nct
    return None


def fetch_registry(
    nct_ids: Sequence[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    http: requests.Session | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_requests_per_second: float = 1.0,
    retries: int = 4,
    timeout: Timeout = (5, 30),
    page_size: int = 100,
    backoff: float = 1.0,
    max_backoff: float = 30.0,
    contact: str | None = None,
) -> RegistryAnswer:
    """Read these trials from ClinicalTrials.gov (API v2). Network only: touches no database.

    One trial is one GET of `/api/v2/studies/{nctId}` (a 404 means missing); several are
    `/api/v2/studies?filter.ids=…&pageSize=…` with `pageToken` followed to the last page (an id
    no page returns is missing). `progress(done, total)` counts trials answered; `cancel` (a
    callable or a threading.Event) is checked before every request and during every wait.

    A key that is not an NCT id is the protocol number of a trial that has none yet: one
    `/api/v2/studies?query.id=<number>` finds the studies registered under it, and the one
    whose sponsor's id (`orgStudyIdInfo`) or a secondary id is that number answers it (its NCT
    id is then proposed); none is missing, several are noted and left alone.

    Raises TrialSyncError naming the trial(s) for any answer that cannot be used, and
    SyncCancelled when cancelled.
    """
    ids, protocols = _split_keys(nct_ids)
    if not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise KbError(f"page_size must be between 1 and {_MAX_PAGE_SIZE}")
    own = http is None
    session = http or requests.Session()
    client = _Client(
        base_url=base_url,
        http=session,
        cancel=cancel,
        max_requests_per_second=max_requests_per_second,
        retries=retries,
        timeout=timeout,
        backoff=backoff,
        max_backoff=max_backoff,
        contact=contact,
    )
    studies: dict[str, RegistryStudy] = {}
    missing: list[str] = []
    notes: list[str] = []
    total = len(ids) + len(protocols)

    reported = -1

    def report(done: int) -> None:
        nonlocal reported
        if progress is not None and done != reported:
            progress(done, total)
            reported = done

    try:
        report(0)
        if not ids:
            pass
        elif len(ids) == 1:
            nct = ids[0]
            status, data = client.get(
                f"/api/v2/studies/{nct}", {"format": "json", "fields": _FIELDS}, what=nct
            )
            if status == 404:
                missing.append(nct)
            else:
                study = parse_study(data, where=nct)
                if _owner(study, [nct]) is None:
                    raise TrialSyncError(
                        f"{nct}: ClinicalTrials.gov answered with another study, {study.nct_id}"
                    )
                studies[nct] = study
            report(1)
        else:
            done = 0
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start : start + _IDS_PER_QUERY]
                for page in _pages(client, chunk, page_size):
                    for nct, study in page:
                        studies.setdefault(nct, study)
                    report(done + sum(1 for nct in chunk if nct in studies))
                missing += [nct for nct in chunk if nct not in studies]
                done += len(chunk)
                report(done)
        for number, protocol in enumerate(protocols, start=len(ids) + 1):
            found = _by_protocol(client, protocol)
            if len(found) == 1:
                studies[protocol] = found[0]
            elif not found:
                missing.append(protocol)
            else:
                notes.append(
                    f"{protocol}: registered under this protocol number by "
                    + ", ".join(sorted(study.nct_id for study in found))
                    + "; which one the trial is stays for a curator to say (nct_id)"
                )
            report(number)
        client.check_cancel()
    finally:
        if own:
            session.close()
    return RegistryAnswer(
        base_url=client.base_url,
        requested=(*ids, *protocols),
        studies=studies,
        missing=tuple(missing),
        requests=client.requests,
        notes=tuple(notes),
    )


def _by_protocol(client: _Client, protocol: str) -> list[RegistryStudy]:
    """The studies registered under `protocol` as their sponsor's or a secondary id. The
    search (`query.id`) also matches words of other ids; only an exact id counts."""
    what = f"protocol number {protocol}"
    params = {
        "format": "json",
        "query.id": protocol,
        "fields": _FIELDS,
        "pageSize": str(_PROTOCOL_PAGE_SIZE),
    }
    status, data = client.get("/api/v2/studies", params, what=what)
    if status == 404:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
        raise TrialSyncError(f"{what}: the answer has no 'studies' list")
    key = _protocol_key(protocol)
    found: dict[str, RegistryStudy] = {}
    for index, raw in enumerate(data["studies"], start=1):
        study = parse_study(raw, where=_study_name(raw, f"{what}, study {index}"))
        if key in study.study_ids:
            found.setdefault(study.nct_id, study)
    return list(found.values())


def _pages(
    client: _Client, chunk: Sequence[str], page_size: int
) -> Iterator[list[tuple[str, RegistryStudy]]]:
    """Each page of the list answer for `chunk`, as (requested id, study) pairs."""
    token: str | None = None
    seen_tokens: set[str] = set()
    shown = ", ".join(chunk[:5]) + (f" and {len(chunk) - 5} more" if len(chunk) > 5 else "")
    for number in range(1, _MAX_PAGES + 1):
        what = f"{shown} (page {number} of the list answer)"
        params = {
            "format": "json",
            "filter.ids": ",".join(chunk),
            "fields": _FIELDS,
            "pageSize": str(page_size),
        }
        if token is not None:
            params["pageToken"] = token
        status, data = client.get("/api/v2/studies", params, what=what)
        if status == 404:
            raise TrialSyncError(f"{what}: ClinicalTrials.gov answered HTTP 404 for the study list")
        if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
            raise TrialSyncError(f"{what}: the answer has no 'studies' list")
        page: list[tuple[str, RegistryStudy]] = []
        for index, raw in enumerate(data["studies"], start=1):
            study = parse_study(raw, where=_study_name(raw, f"{what}, study {index}"))
            owner = _owner(study, chunk)
            # The list filter is ours, so a study we did not ask for is not ours to judge.
            if owner is not None:
                page.append((owner, study))
        yield page
        next_token = data.get("nextPageToken")
        if next_token is None or next_token == "":
            return
        if not isinstance(next_token, str):
            raise TrialSyncError(f"{what}: nextPageToken {next_token!r} is not text")
        if next_token in seen_tokens:
            raise TrialSyncError(f"{what}: the registry sent page token {next_token!r} twice")
        seen_tokens.add(next_token)
        token = next_token
    raise TrialSyncError(f"{shown}: more than {_MAX_PAGES} pages; stopped")


def _study_name(raw: Any, fallback: str) -> str:
    """The NCT id a raw study says it is, so an error in it names the trial."""
    try:
        nct = raw["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return fallback
    return (
        nct.strip().upper()
        if isinstance(nct, str) and _NCT.match(nct.strip().upper())
        else fallback
    )


# --- comparing and staging ---------------------------------------------------------------------


def kb_trial_ids(session: Session) -> list[str]:
    """What names every trial on the KB's main line to the registry: its NCT id, or the
    protocol number of a trial that has none yet."""
    return [_trial_key(row.fields) for row in list_records(session, RecordType.TRIAL)]


def _trial_key(fields: Mapping[str, Any]) -> str:
    nct = fields.get("nct_id")
    return str(nct).upper() if nct else " ".join(str(fields.get("protocol_no") or "").split())


def arm_code(label: str) -> str:
    """The arm code for a registry arm label: the label itself (spaces collapsed), shortened
    with a stable hash when it does not fit the 64 characters a code may have."""
    text = " ".join(label.split())
    if len(text) <= _CODE_LENGTH:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: _CODE_LENGTH - 10].rstrip()}~{digest}"


def _key(code: str) -> str:
    return " ".join(code.split()).casefold()


@dataclass
class _Plan:
    """What to stage for one trial, and the summary to report."""

    difference: TrialDifference
    trial_fields: dict[str, Any]
    arm_updates: dict[str, dict[str, Any]]
    arm_creates: list[dict[str, Any]]


def _compare(
    trial: RecordRow, arms: Sequence[RecordRow], study: RegistryStudy, notes: list[str]
) -> _Plan | None:
    fields = trial.fields
    wanted: dict[str, Any] = {}
    if study.nct_id != str(fields.get("nct_id") or "").upper():
        # A trial known by its protocol number found in the registry, or one the registry
        # merged into another record (the old id is only an alias now): the registry's id.
        wanted["nct_id"] = study.nct_id
    if " ".join(str(fields.get("title") or "").split()) != " ".join(study.title.split()):
        wanted["title"] = study.title
    if fields.get("phase") != study.phase.value:
        wanted["phase"] = study.phase.value
    if fields.get("status") != study.status.value:
        wanted["status"] = study.status.value
    trial_changes = tuple(
        FieldChange(trial.human_id, name, fields.get(name), value) for name, value in wanted.items()
    )

    eligibility: dict[str, Any] = {}
    if study.has_eligibility:
        eligibility = {"min_age": study.min_age, "max_age": study.max_age}
        if study.sex is not None:
            eligibility["sex"] = study.sex.value

    suspend: list[RecordRow] = []
    creates: list[dict[str, Any]] = []
    registry_codes = {_key(arm_code(arm.label)) for arm in study.arms or ()}
    known = {_key(str(arm.fields.get("code") or "")) for arm in arms}
    if not study.arms:
        # An empty or absent list is no information about arms, not "every arm has gone".
        if arms:
            notes.append(
                f"{trial.human_id}: the registry record lists no arm groups; arms not compared"
            )
    elif arms and not registry_codes & known:
        # Not one code matches: the arms were curated under codes of their own, and comparing
        # would propose to suspend every arm and add every registry arm again.
        codes = ", ".join(sorted(str(arm.fields.get("code")) for arm in arms))
        notes.append(
            f"{trial.human_id}: no arm code ({codes}) "
            f"is one of the registry's {len(study.arms)} arm labels; arms not compared — "
            "rename the codes to the registry labels to have them checked"
        )
    else:
        for arm in arms:
            if (
                not arm.fields.get("suspended")
                and _key(str(arm.fields.get("code") or "")) not in registry_codes
            ):
                suspend.append(arm)
        for registry_arm in study.arms:
            code = arm_code(registry_arm.label)
            if _key(code) in known:
                continue
            known.add(_key(code))
            creates.append(
                {
                    "trial": trial.human_id,
                    "code": code,
                    "name": registry_arm.description or registry_arm.label,
                    # Without an expression or tumour types an open arm would match every
                    # patient: it stays suspended until a curator says whom it is for.
                    "suspended": True,
                    "sex": Sex.ALL.value,
                    **eligibility,
                }
            )

    suspended_ids = {arm.human_id for arm in suspend}
    arm_updates: dict[str, dict[str, Any]] = {}
    arm_changes: list[FieldChange] = []
    for arm in arms:
        if arm.fields.get("suspended") or arm.human_id in suspended_ids:
            continue
        changes = {
            name: value for name, value in eligibility.items() if arm.fields.get(name) != value
        }
        if changes:
            arm_updates[arm.human_id] = changes
            arm_changes += [
                FieldChange(arm.human_id, name, arm.fields.get(name), value)
                for name, value in changes.items()
            ]
    for arm in suspend:
        arm_updates[arm.human_id] = {"suspended": True}

    if not (wanted or arm_updates or creates):
        return None
    difference = TrialDifference(
        nct_id=_trial_key(fields),
        trial=trial.human_id,
        registry_updated=study.last_update,
        fields=trial_changes,
        arm_fields=tuple(arm_changes),
        arms_suspended=tuple(
            ArmNote(arm.human_id, str(arm.fields.get("code")), str(arm.fields.get("name") or ""))
            for arm in suspend
        ),
    )
    return _Plan(difference, wanted, arm_updates, creates)


def stage_registry_check(
    session: Session, *, actor: Actor, answer: RegistryAnswer, today: dt.date | None = None
) -> SyncResult:
    """Compare a registry answer with the main line and stage the differences as ONE draft
    change set, in the caller's transaction — or stage nothing when nothing differs.

    Trials missing from the registry are reported only. The per-trial summary is returned,
    recorded in the audit log (action "trials.sync" on the change set) and counted in the
    change set's title; the change set's source is the registry URL and the digest of what it
    answered.
    """
    require(actor, Permission.EDIT)
    rows = list_records(session, RecordType.TRIAL)
    trials = {_protocol_key(_trial_key(row.fields)): row for row in rows}
    holders = {
        str(row.fields["nct_id"]).upper(): row.human_id for row in rows if row.fields.get("nct_id")
    }
    arms_of: dict[str, list[RecordRow]] = {}
    for arm in list_records(session, RecordType.TRIAL_ARM):
        arms_of.setdefault(str(arm.fields.get("trial")), []).append(arm)

    plans: list[_Plan] = []
    notes: list[str] = list(answer.notes)
    for nct in answer.requested:
        study = answer.studies.get(nct)
        trial = trials.get(_protocol_key(nct))
        if study is None:
            continue
        if trial is None:
            notes.append(f"{nct} left the KB while the registry was read; not compared")
            continue
        holder = holders.get(study.nct_id)
        if not trial.fields.get("nct_id") and holder is not None:
            notes.append(
                f"{trial.human_id}: the registry lists protocol number {nct} as {study.nct_id}, "
                f"which {holder} has already; not compared (one of the two is a duplicate)"
            )
            continue
        plan = _compare(trial, arms_of.get(trial.human_id, []), study, notes)
        if plan is not None:
            plans.append(plan)

    change_set = title = None
    changed: list[TrialDifference] = []
    if plans:
        day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
        title = f"Registry check {day}: {_count(len(plans), 'trial')} changed"
        editor = open_draft(
            session,
            actor=actor,
            title=title,
            source_name=f"ClinicalTrials.gov API v2 ({answer.base_url})",
            source_sha256=answer.digest(),
        )
        editor.prefetch(
            [plan.difference.trial for plan in plans]
            + [hid for plan in plans for hid in plan.arm_updates]
        )
        for plan in plans:
            if plan.trial_fields:
                editor.update(plan.difference.trial, plan.trial_fields)
            for human_id, values in plan.arm_updates.items():
                editor.update(human_id, values)
            added = [
                ArmNote(editor.create(RecordType.TRIAL_ARM, values), values["code"], values["name"])
                for values in plan.arm_creates
            ]
            changed.append(
                TrialDifference(
                    nct_id=plan.difference.nct_id,
                    trial=plan.difference.trial,
                    registry_updated=plan.difference.registry_updated,
                    fields=plan.difference.fields,
                    arm_fields=plan.difference.arm_fields,
                    arms_added=tuple(added),
                    arms_suspended=plan.difference.arms_suspended,
                )
            )
        editor.flush()
        change_set = editor.human_id
        record_event(
            session,
            actor=actor.name,
            action="trials.sync",
            subject=change_set,
            details={
                "base_url": answer.base_url,
                "checked": list(answer.requested),
                "missing": list(answer.missing),
                "changed": [difference.as_json() for difference in changed],
                "sha256": answer.digest(),
            },
        )
    return SyncResult(
        base_url=answer.base_url,
        checked=answer.requested,
        changed=tuple(changed),
        missing=answer.missing,
        change_set=change_set,
        change_set_title=title,
        requests=answer.requests,
        notes=tuple(notes),
    )


def trials_to_check(session: Session, nct_ids: Sequence[str] | None = None) -> list[str]:
    """The trials to check: all the KB's, or `nct_ids` (each must be a KB trial: its NCT id,
    or the protocol number of a trial that has none yet), by what names them to the registry."""
    known = {_protocol_key(key): key for key in kb_trial_ids(session)}
    if not nct_ids:
        return list(known.values())
    ncts, protocols = _split_keys(nct_ids)
    wanted = [*ncts, *protocols]
    unknown = [key for key in wanted if _protocol_key(key) not in known]
    if unknown:
        raise KbError(
            f"not a trial in the KB: {', '.join(unknown)} (a trial is named by its NCT id, or "
            "by its protocol number until it has one)"
        )
    return [known[_protocol_key(key)] for key in wanted]


def sync_trials(
    session: Session,
    *,
    actor: Actor,
    nct_ids: Sequence[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    http: requests.Session | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_requests_per_second: float = 1.0,
    retries: int = 4,
    timeout: Timeout = (5, 30),
    page_size: int = 100,
    backoff: float = 1.0,
    contact: str | None = None,
) -> SyncResult:
    """Check trials (all the KB's, or `nct_ids`) against ClinicalTrials.gov and stage the
    differences as one draft change set for review, in the caller's transaction.

    All network work happens before anything is staged: a TrialSyncError or SyncCancelled
    leaves no change set behind. Callers that must not hold a transaction open while the
    registry is read (the app) use `kb_trial_ids`, `fetch_registry` and
    `stage_registry_check` in turn instead.
    """
    require(actor, Permission.EDIT)
    ids = trials_to_check(session, nct_ids)
    if not ids:
        answer = RegistryAnswer(base_url.rstrip("/"), (), {}, (), 0)
    else:
        answer = fetch_registry(
            ids,
            base_url=base_url,
            http=http,
            progress=progress,
            cancel=cancel,
            max_requests_per_second=max_requests_per_second,
            retries=retries,
            timeout=timeout,
            page_size=page_size,
            backoff=backoff,
            contact=contact,
        )
    return stage_registry_check(session, actor=actor, answer=answer)
