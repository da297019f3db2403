"""Passwords: scrypt hashes for sign-in, and the scrypt cost that also seals approval keys
(kb.review.esign). Shared by users and esign so that neither imports the other's insides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from kb.errors import KbError

MIN_PASSWORD = 8
# scrypt cost: n=2**15 takes ~50 ms here — slow for guessing, quick enough for a sign-in.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


def scrypt_cost() -> tuple[int, int, int]:
    """scrypt's (n, r, p) for passwords and for sealing approval keys with them."""
    return _SCRYPT_N, _SCRYPT_R, _SCRYPT_P


def hash_password(password: str) -> str:
    """scrypt with a random salt, as `scrypt$n$r$p$salt$hash` (base64)."""
    _check_password(password)
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        dklen=32,
        maxmem=128 * 1024 * 1024,
    )
    salt_text, digest_text = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt_text}${digest_text}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
        maxmem=128 * 1024 * 1024,
    )
    return hmac.compare_digest(actual, expected)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise KbError(f"a password needs at least {MIN_PASSWORD} characters")
