"""What a service instance is told: where its release comes from, what it trusts, who may call.

A service is stateless apart from this and the state file (the last release accepted), so any
number of replicas can run from the same configuration. The configuration travels to uvicorn's
worker processes as JSON in an environment variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kb.errors import KbError

CONFIG_ENV = "KB_SERVE_CONFIG_JSON"
DEFAULT_MAX_BODY = 1024 * 1024


class ConfigError(KbError):
    """The service configuration is incomplete or contradicts itself."""


@dataclass(frozen=True, slots=True)
class CdsClient:
    """A CDS client (an EHR) allowed to call the CDS services: its JWT issuer and its keys."""

    iss: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    # FHIR server base URLs this client may send us to read from (empty: any http(s) URL).
    fhir_servers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """One service instance. `release` and `watch` are folders or http(s) URLs."""

    root: str
    state: str
    release: str | None = None
    watch: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    poll_seconds: float = 5.0
    cache_dir: str | None = None  # where releases pulled from a URL are unpacked
    # sha256 (hex) of each bearer token that may call /match: tokens are random secrets, so a
    # plain digest keeps a leaked configuration from leaking them.
    match_token_sha256: tuple[str, ...] = ()
    cds_clients: tuple[CdsClient, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_release_bytes: int = 2 * 1024 * 1024 * 1024
    max_token_lifetime_s: int = 300  # CDS Hooks asks for short-lived JWTs (5 minutes)
    replay_cache_size: int = 100_000
    fhir_timeout_s: float = 10.0
    fhir_max_bytes: int = 16 * 1024 * 1024
    # Signed approvals a release must carry, each checked with the trust root (a holder of the
    # release key alone cannot add one). `kb release create` always includes at least one.
    min_signed_approvals: int = 1
    # POST /outcomes: the folder report-backs are spooled to, pseudonymised, for `kb outcomes
    # drain` (None: no such route), and the KB's outcomes key file (else KB_OUTCOMES_KEY or
    # KB_OUTCOMES_KEY_FILE in the environment).
    outcomes_spool: str | None = None
    outcomes_key_file: str | None = None

    def __post_init__(self) -> None:
        for digest in self.match_token_sha256:
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ConfigError("match_token_sha256 holds sha256 hex digests (64 lower-case hex)")
        if not self.release and not self.watch:
            raise ConfigError("give a release (--release) or a place to watch (--watch)")
        if self.max_body_bytes <= 0:
            raise ConfigError("max_body_bytes must be positive")
        if self.min_signed_approvals < 0:
            raise ConfigError("min_signed_approvals must be 0 or more")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ServeConfig:
        data = dict(data)
        clients = tuple(
            CdsClient(
                iss=str(item["iss"]),
                jwks_url=item.get("jwks_url"),
                jwks_file=item.get("jwks_file"),
                fhir_servers=tuple(item.get("fhir_servers") or ()),
            )
            for item in data.pop("cds_clients", ()) or ()
        )
        for client in clients:
            if bool(client.jwks_url) == bool(client.jwks_file):
                raise ConfigError(f"CDS client {client.iss}: give jwks_url or jwks_file (one)")
        tokens = tuple(str(t).lower() for t in data.pop("match_token_sha256", ()) or ())
        known = set(cls.__dataclass_fields__) - {"cds_clients", "match_token_sha256"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        try:
            return cls(cds_clients=clients, match_token_sha256=tokens, **data)
        except TypeError as exc:
            raise ConfigError(f"incomplete configuration: {exc}") from None

    @classmethod
    def from_environment(cls) -> ServeConfig:
        text = os.environ.get(CONFIG_ENV)
        if not text:
            raise ConfigError(f"{CONFIG_ENV} is not set")
        return cls.from_mapping(json.loads(text))


def read_config_file(path: Path) -> dict[str, Any]:
    """A TOML configuration file (see docs/consuming-releases.md) as a mapping."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def token_digest(token: str) -> str:
    """The sha256 hex digest under which a /match bearer token is configured."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
