"""Who may call: a bearer token for `/match`, and CDS Hooks client JWTs for the CDS services.

CDS Hooks 2.0 has each CDS client sign a short-lived JWT per call (`Authorization: Bearer`),
with `iss` (the client), `aud` (the service endpoint URL called), `exp`, `iat` and a `jti`
nonce, signed with an asymmetric key published as a JWK Set. We check, in this order, that the
header names an asymmetric algorithm (never `none`, never an HMAC one whose "public" key would be
a shared secret) and a `kid`; that `iss` is a configured client; that the key is in that
client's JWKS (configured per client: a `jku` header is never followed, so a token cannot point
us at keys of its own choosing); the signature; `aud`, `exp` (with a bounded lifetime) and the
other required claims; and last that the `jti` was not seen before, in a replay cache bounded in
size and by the tokens' lifetime.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from kb.serve.config import CdsClient, token_digest

ASYMMETRIC_ALGORITHMS = ("ES384", "RS384", "ES256", "RS256", "ES512", "RS512", "PS384", "EdDSA")
LEEWAY_S = 30


class AuthError(Exception):
    """A caller could not be authenticated; `status` is 401 or 403, `reason` says why."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer …` header."""
    if not header:
        raise AuthError("missing Authorization: Bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <token>'")
    return token.strip()


class TokenCheck:
    """Bearer tokens configured by their sha256; compared in constant time against each."""

    def __init__(self, digests: Sequence[str]) -> None:
        self._digests = [bytes.fromhex(d) for d in digests]

    def check(self, header: str | None) -> None:
        presented = bytes.fromhex(token_digest(bearer(header)))
        matched = False
        for digest in self._digests:  # no early exit: time does not tell which one matched
            matched |= hmac.compare_digest(presented, digest)
        if not matched:
            raise AuthError("bearer token not accepted")


class ReplayCache:
    """`jti`s seen, each kept until its token expires; at most `size` of them. When full of
    unexpired ones the call is refused (503 would hide an attack as an outage; 429 tells the
    client to slow down) rather than forgetting one and letting its replay through."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, issuer: str, jti: str, expires: float) -> None:
        now = time.time()
        key = (issuer, jti)
        with self._lock:
            # Insertion order is arrival order, close to expiry order as lifetimes are bounded.
            while self._seen:
                oldest_key, oldest_exp = next(iter(self._seen.items()))
                if oldest_exp + LEEWAY_S >= now:
                    break
                del self._seen[oldest_key]
            if key in self._seen:
                raise AuthError("JWT replayed: this jti was already used")
            if len(self._seen) >= self._size:
                raise AuthError("too many recent CDS calls to track replays", status=429)
            self._seen[key] = expires


@dataclass(frozen=True, slots=True)
class CdsCaller:
    iss: str
    sub: str | None
    client: CdsClient


class CdsAuth:
    """Verifies CDS client JWTs against each client's JWKS (file or URL, keys cached)."""

    def __init__(
        self, clients: Sequence[CdsClient], *, max_lifetime_s: int, replay_cache_size: int
    ) -> None:
        self._clients = {client.iss: client for client in clients}
        self._max_lifetime = max_lifetime_s
        self._replays = ReplayCache(replay_cache_size)
        self._file_keys: dict[str, jwt.PyJWKSet] = {}
        self._url_keys: dict[str, jwt.PyJWKClient] = {}
        for client in clients:
            if client.jwks_file:
                self._file_keys[client.iss] = jwt.PyJWKSet.from_json(
                    Path(client.jwks_file).read_text("utf-8")
                )
            elif client.jwks_url:
                self._url_keys[client.iss] = jwt.PyJWKClient(
                    client.jwks_url, cache_jwk_set=True, lifespan=300, timeout=5
                )

    def verify(self, header: str | None, *, audience: str) -> CdsCaller:
        token = bearer(header)
        try:
            head = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("Authorization bearer is not a JWT") from None
        alg = head.get("alg")
        if alg not in ASYMMETRIC_ALGORITHMS:
            raise AuthError(f"JWT algorithm {alg!r} is not accepted: sign with ES384 or RS384")
        kid = head.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("JWT header has no kid")
        issuer = unverified.get("iss")
        client = self._clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise AuthError("JWT issuer is not an allowed CDS client", status=403)
        key = self._key(client, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=client.iss,
                leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("JWT expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"JWT audience is not this service endpoint ({audience})") from None
        except jwt.InvalidSignatureError:
            raise AuthError("JWT signature does not verify with the client's keys") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"JWT lacks the {exc.claim} claim") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"JWT refused: {type(exc).__name__}") from None
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise AuthError("JWT jti must be a non-empty string")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise AuthError("JWT exp and iat must be numbers")
        if exp - iat > self._max_lifetime:
            raise AuthError(f"JWT lives longer than {self._max_lifetime} s")
        self._replays.remember(client.iss, jti, float(exp))
        sub = claims.get("sub")
        return CdsCaller(client.iss, sub if isinstance(sub, str) else None, client)

    def _key(self, client: CdsClient, kid: str) -> Any:
        if client.iss in self._file_keys:
            try:
                return self._file_keys[client.iss][kid].key
            except KeyError:
                raise AuthError("JWT kid is not among the client's keys") from None
        try:
            return self._url_keys[client.iss].get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError:
            raise AuthError("the client's JWKS could not be fetched", status=401) from None
        except jwt.PyJWKClientError:
            raise AuthError("JWT kid is not among the client's keys") from None
