"""The per-KB pseudonymisation secret: patient keys are HMAC-SHA256 of the site's own patient
id under it, and per-patient date shifts derive from it. The secret is never stored in the
database: it lives in a key file (0600, refused if others may read it) or in an environment
variable; the database keeps only its fingerprint (on each import), so that an import under a
different key, whose patients would not link with those before, is refused.

Where the key is found, first match wins:
1. `KB_OUTCOMES_KEY`: 64 hex digits (a service's secret store puts it there);
2. `KB_OUTCOMES_KEY_FILE`: the path of a key file;
3. `<user data dir>/kb-curator/outcome-keys/<kb_id>.key`, made (0600) on first use.
A team shares the key file as it shares signing keys: out of band, never through the KB.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from kb.errors import KbError

ENV_KEY = "KB_OUTCOMES_KEY"
ENV_KEY_FILE = "KB_OUTCOMES_KEY_FILE"
_KEY_BYTES = 32
# Dates move by up to this many days either way, the same for all of a patient's dates.
MAX_SHIFT_DAYS = 182


@dataclass(frozen=True)
class OutcomeKey:
    """The secret (never printed: repr shows only the fingerprint)."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise KbError("the outcomes key is too short: it needs at least 128 bits")

    @property
    def fingerprint(self) -> str:
        """16 hex digits naming the key without revealing it."""
        return hmac.new(self.secret, b"kb-outcomes fingerprint", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, site: str, patient: str) -> tuple[str, dt.timedelta]:
        """The patient's key and date shift, from one HMAC-SHA256 over site and the site's
        patient id: the key is its first 128 bits (32 hex digits), the shift comes from the
        next 32 bits (separate bits of a pseudorandom function's output: knowing the key says
        nothing about the shift). The shift is -182..+182 days, never 0, the same for every
        date of the patient, so intervals keep."""
        message = b"patient\x00" + site.encode() + b"\x00" + patient.encode()
        digest = hmac.digest(self.secret, message, "sha256")
        days = int.from_bytes(digest[16:20], "big") % (2 * MAX_SHIFT_DAYS) - MAX_SHIFT_DAYS
        return digest[:16].hex(), dt.timedelta(days=days + 1 if days >= 0 else days)

    def patient_key(self, site: str, patient: str) -> str:
        """The pseudonymous patient key (see `pseudonym`)."""
        return self.pseudonym(site, patient)[0]

    def date_shift(self, site: str, patient: str) -> dt.timedelta:
        """The patient's date shift (see `pseudonym`)."""
        return self.pseudonym(site, patient)[1]

    @classmethod
    def generate(cls) -> OutcomeKey:
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def from_hex(cls, text: str, *, where: str) -> OutcomeKey:
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError:
            raise KbError(f"{where}: the outcomes key must be hex digits") from None
        return cls(secret)

    def write(self, path: Path) -> None:
        """Write the key file, readable by its owner only; never overwrites one."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.secret.hex() + "\n")

    @classmethod
    def read(cls, path: Path) -> OutcomeKey:
        """Read a key file; refused if group or others may read or write it."""
        try:
            mode = path.stat().st_mode
        except OSError:
            raise KbError(f"{path}: no outcomes key file") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KbError(
                f"{path}: the outcomes key file may be read by others "
                f"(mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        return cls.from_hex(path.read_text(encoding="ascii", errors="replace"), where=str(path))


def default_key_path(kb_id: str) -> Path:
    return Path(platformdirs.user_data_dir("kb-curator", appauthor=False)) / (
        f"outcome-keys/{kb_id}.key"
    )


def find_key(kb_id: str, *, create: bool) -> OutcomeKey:
    """The KB's key from the environment or its key file (see the module docstring); made and
    written to the default file if there is none and `create`."""
    env = os.environ.get(ENV_KEY)
    if env:
        return OutcomeKey.from_hex(env, where=ENV_KEY)
    env_file = os.environ.get(ENV_KEY_FILE)
    if env_file:
        return OutcomeKey.read(Path(env_file))
    path = default_key_path(kb_id)
    if path.exists():
        return OutcomeKey.read(path)
    if not create:
        raise KbError(
            f"no outcomes key: set {ENV_KEY} or {ENV_KEY_FILE}, or import once to make {path}"
        )
    key = OutcomeKey.generate()
    key.write(path)
    return key
