"""Release signing: Ed25519 keys, key ids, DSSE envelopes and the trust root (DESIGN §5).

Keys. A release manager's private key is an Ed25519 key in an encrypted PKCS#8 PEM file (mode
0600, never in the database); its public half is a SubjectPublicKeyInfo PEM file. A key's id is
the sha256 (hex) of its raw 32-byte public key: the raw bytes are the one encoding of an Ed25519
public key that every library and language produces identically, whereas PEM and DER wrappers
differ in line breaks and headers.

Envelopes. Everything we sign is a DSSE v1 envelope: the signature covers
``PAE(payloadType, payload) = "DSSEv1" SP len(type) SP type SP len(body) SP body`` (lengths in
bytes, as ASCII decimals), so a signature over a release statement can never be replayed as a
signature over a trust root, and no JSON canonicalisation is needed to verify.

Trust root. A simplified TUF root: which keys may sign releases and how many must (the
threshold), at a version number. It is itself a DSSE envelope signed by at least `threshold` of
its own keys. Root N+1 replaces root N only when signed by a threshold of root N's keys *and* a
threshold of its own, so a consumer that pinned root N can follow a key rotation offline.

Passphrases and private keys are never logged, stored or put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kb.errors import KbError

PASSPHRASE_ENV = "KB_KEY_PASSPHRASE"
ROOT_PAYLOAD_TYPE = "application/vnd.kb-curator.root+json"
ROOT_TYPE = "kb-curator-root"
KEY_TYPE = "ed25519"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_ID = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32
_T = TypeVar("_T")


class SigningError(KbError):
    """A key, passphrase or trust-root operation that cannot go ahead; says which file and why."""


class Reason(StrEnum):
    """Why a signed artefact was refused. The values are a public contract: services branch on
    them, so add members, never rename them."""

    NOT_A_RELEASE = "not_a_release"
    MALFORMED_ENVELOPE = "malformed_envelope"
    WRONG_PAYLOAD_TYPE = "wrong_payload_type"
    BAD_SIGNATURE = "bad_signature"
    TOO_FEW_SIGNATURES = "too_few_signatures"
    UNTRUSTED_KEY = "untrusted_key"
    MALFORMED_STATEMENT = "malformed_statement"
    WRONG_STATEMENT_TYPE = "wrong_statement_type"
    WRONG_PREDICATE_TYPE = "wrong_predicate_type"
    PAYLOAD_MISSING = "payload_missing"
    PAYLOAD_EXTRA = "payload_extra"
    PAYLOAD_CHANGED = "payload_changed"
    INCONSISTENT_RELEASE = "inconsistent_release"
    ROLLBACK = "rollback"
    BROKEN_CHAIN = "broken_chain"
    STATE_INVALID = "state_invalid"
    STATE_MISMATCH = "state_mismatch"
    ROOT_INVALID = "root_invalid"
    ROOT_EXPIRED = "root_expired"
    ROOT_MISMATCH = "root_mismatch"
    ROOT_ROTATION_INVALID = "root_rotation_invalid"
    BAD_APPROVAL = "bad_approval"
    TOO_FEW_APPROVALS = "too_few_approvals"


class VerificationError(KbError):
    """A signature, envelope or trust-root check that failed; `reason_code` says which."""

    def __init__(self, reason_code: Reason, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyFiles:
    private_path: Path
    public_path: Path
    key_id: str


def generate_keypair(out_dir: Path, *, name: str, passphrase: bytes) -> KeyFiles:
    """Write a new Ed25519 key pair: `<name>.key` (encrypted PKCS#8 PEM, mode 0600) and
    `<name>.pub` (SubjectPublicKeyInfo PEM). Refuses an empty passphrase and existing files.

    The encryption is what `cryptography` picks as best for PKCS#8 (PBES2: PBKDF2-HMAC-SHA256,
    AES-256-CBC) and any OpenSSL reads; its PBKDF2 uses only 2,048 rounds, so the passphrase
    itself must be strong: a weak one can be guessed offline from a copied key file.
    """
    if not passphrase:
        raise SigningError("refusing to write a private key without a passphrase")
    if not _NAME.fullmatch(name):
        raise SigningError(
            f"key name {name!r} must be letters, digits, '.', '_' or '-' (at most 64 characters)"
        )
    out_dir = Path(out_dir)
    private_path = out_dir / f"{name}.key"
    public_path = out_dir / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} already exists; refusing to overwrite a key")
    out_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        # PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) — readable by OpenSSL and every PKCS#8 tool.
        serialization.BestAvailableEncryption(passphrase),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return KeyFiles(private_path, public_path, key_id(key.public_key()))


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: two key generations racing for one name must not clobber each other, and the
    # private key is created with its final mode so it is never briefly world-readable.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise SigningError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask may have taken bits away; set them exactly
        handle.write(data)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id: sha256 hex of its raw 32-byte public key (see the module docstring)."""
    return hashlib.sha256(raw_public_bytes(public_key)).hexdigest()


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (as `generate_keypair` writes)."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SigningError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} is not an Ed25519 public key")
    return key


def load_private_key(path: Path, passphrase: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from an encrypted PKCS#8 PEM file.

    Unencrypted keys are refused: a release key that sits in clear on disk is a key anyone with
    a backup can sign releases with.
    """
    data = _read_key_file(path)
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        if b"PRIVATE KEY-----" in data:
            raise SigningError(
                f"{path} holds an unencrypted private key; refusing it "
                "(re-create it with `kb keys generate`, which encrypts it with a passphrase)"
            )
        raise SigningError(f"{path} is not a private key file")
    if not passphrase:
        raise SigningError(f"no passphrase given for {path}")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except ValueError:
        # cryptography reports a failed decryption as ValueError; the file looked like an
        # encrypted key above, so a wrong passphrase is by far the likeliest cause.
        raise SigningError(f"wrong passphrase for {path}") from None
    except (TypeError, UnsupportedAlgorithm):
        raise SigningError(f"{path} is not a private key file") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} is not an Ed25519 private key")
    return key


def _read_key_file(path: Path) -> bytes:
    path = Path(path)
    try:
        if path.stat().st_size > 64 * 1024:
            raise SigningError(f"{path} is too large to be a key file")
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: no such key file") from None
    except IsADirectoryError:
        raise SigningError(f"{path} is a directory, not a key file") from None


def passphrase_from_env_or_prompt(
    prompt: str = "Key passphrase: ", *, confirm: bool = False
) -> bytes:
    """The key passphrase from $KB_KEY_PASSPHRASE, else asked for on the terminal (not echoed).

    With `confirm`, a prompted passphrase is asked for twice (for a new key, where a typo would
    lock the key away for good).
    """
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        if not from_env:
            raise SigningError(f"${PASSPHRASE_ENV} is set but empty")
        return from_env.encode("utf-8")
    try:
        entered = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat the passphrase: ") != entered:
            raise SigningError("the two passphrases differ")
    except EOFError:
        raise SigningError(f"no passphrase: set ${PASSPHRASE_ENV} or run in a terminal") from None
    if not entered:
        raise SigningError("an empty passphrase is not allowed")
    return entered.encode("utf-8")


# --- DSSE ---------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a signature actually covers."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(
    payload_type: str, payload: bytes, keys: Sequence[Ed25519PrivateKey]
) -> dict[str, Any]:
    """A DSSE envelope over `payload`, with one signature per distinct key, sorted by key id.

    Ed25519 signatures are deterministic, so the same payload and keys give the same envelope.
    """
    if not keys:
        raise SigningError("no signing key given")
    message = pae(payload_type, payload)
    by_id = {key_id(key.public_key()): key for key in keys}
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": kid, "sig": base64.b64encode(by_id[kid].sign(message)).decode("ascii")}
            for kid in sorted(by_id)
        ],
    }


@dataclass(frozen=True, slots=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature); a bad encoding gives b""


def parse_envelope(value: object) -> Envelope:
    """Check an envelope's shape (not its signatures); raises VerificationError otherwise."""

    def bad(message: str) -> VerificationError:
        return VerificationError(Reason.MALFORMED_ENVELOPE, f"malformed DSSE envelope: {message}")

    if not isinstance(value, Mapping):
        raise bad("not a JSON object")
    extra = set(value) - {"payloadType", "payload", "signatures"}
    if extra:
        raise bad(f"unexpected keys {sorted(extra)}")
    payload_type = value.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise bad("no payloadType")
    encoded = value.get("payload")
    if not isinstance(encoded, str):
        raise bad("no payload")
    payload = _b64decode(encoded)
    if payload is None:
        raise bad("the payload is not base64")
    raw_signatures = value.get("signatures")
    if not isinstance(raw_signatures, list):
        raise bad("no signature list")
    signatures = []
    for index, item in enumerate(raw_signatures):
        if not isinstance(item, Mapping) or not isinstance(item.get("keyid"), str):
            raise bad(f"signature {index} has no keyid")
        sig = item.get("sig")
        if not isinstance(sig, str):
            raise bad(f"signature {index} has no sig")
        # An undecodable signature is a bad signature, not a malformed envelope: it still
        # names the key it claims to be from.
        signatures.append((item["keyid"], _b64decode(sig) or b""))
    return Envelope(payload_type, payload, tuple(signatures))


def _b64decode(text: str) -> bytes | None:
    # DSSE lets signers use standard or URL-safe base64; accept both, strictly.
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome of checking each signature of an envelope against a set of trusted keys."""

    valid: frozenset[str]  # distinct trusted key ids whose signature verified
    bad: tuple[str, ...]  # trusted key ids whose signature did not verify
    untrusted: tuple[str, ...]  # key ids not among the trusted keys


def check_signatures(envelope: Envelope, keys: Mapping[str, Ed25519PublicKey]) -> SignatureCheck:
    """Verify every signature of `envelope` against the trusted `keys` (by key id)."""
    message = pae(envelope.payload_type, envelope.payload)
    valid: set[str] = set()
    bad: list[str] = []
    untrusted: list[str] = []
    for kid, sig in envelope.signatures:
        public = keys.get(kid)
        if public is None:
            untrusted.append(kid)
            continue
        try:
            if len(sig) != _SIGNATURE_BYTES:
                raise InvalidSignature
            public.verify(sig, message)
        except InvalidSignature:
            bad.append(kid)
        else:
            valid.add(kid)
    return SignatureCheck(frozenset(valid), tuple(bad), tuple(untrusted))


def require_threshold(check: SignatureCheck, threshold: int, what: str) -> None:
    """Raise VerificationError unless `threshold` distinct trusted keys signed `what`.

    A signature that names a trusted key but does not verify fails the check even when enough
    others verify: it means the envelope was altered or a key misused, never an accident.
    Signatures by keys outside the trust root are ignored once the threshold is met.
    """
    if check.bad:
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            f"{what}: the signature by key {_short(check.bad[0])} does not verify",
        )
    if len(check.valid) >= threshold:
        return
    have = f"{len(check.valid)} of the {threshold} required"
    if check.untrusted:
        raise VerificationError(
            Reason.UNTRUSTED_KEY,
            f"{what}: signed by key {_short(check.untrusted[0])}, which the trust root does not "
            f"list; {have} trusted signatures",
        )
    raise VerificationError(
        Reason.TOO_FEW_SIGNATURES,
        f"{what}: {have} signatures by distinct trusted keys",
    )


def verify_envelope(
    value: object,
    *,
    payload_type: str,
    keys: Mapping[str, Ed25519PublicKey],
    threshold: int,
    what: str = "envelope",
) -> tuple[bytes, frozenset[str]]:
    """Check an envelope's shape, type and signatures; returns (payload, signer key ids)."""
    envelope = parse_envelope(value)
    if envelope.payload_type != payload_type:
        raise VerificationError(
            Reason.WRONG_PAYLOAD_TYPE,
            f"{what}: payloadType is {envelope.payload_type!r}, expected {payload_type!r}",
        )
    check = check_signatures(envelope, keys)
    require_threshold(check, threshold, what)
    return envelope.payload, check.valid


def _short(kid: str) -> str:
    return kid[:16] + "…" if len(kid) > 16 else kid


# --- trust root ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustRoot:
    """A verified trust root: the keys that may sign releases and how many must."""

    version: int
    expires: str | None
    threshold: int
    keys: Mapping[str, Ed25519PublicKey]
    envelope: Mapping[str, Any]
    payload: bytes

    @property
    def digest(self) -> str:
        """sha256 of the root's payload: what pins this root, whoever signed it."""
        return hashlib.sha256(self.payload).hexdigest()


def _root_payload(
    keys: Iterable[Ed25519PublicKey], threshold: int, version: int, expires: str | None
) -> bytes:
    by_id = {key_id(key): key for key in keys}
    if not by_id:
        raise SigningError("a trust root needs at least one key")
    if not 1 <= threshold <= len(by_id):
        raise SigningError(
            f"threshold {threshold} does not fit {len(by_id)} distinct key(s): "
            f"it must be from 1 to {len(by_id)}"
        )
    if expires is not None:
        _expiry(expires)  # refuse a malformed date now rather than at verification
    document = {
        "_type": ROOT_TYPE,
        "version": version,
        "expires": expires,
        "threshold": threshold,
        "keys": {
            kid: {
                "keytype": KEY_TYPE,
                "public": base64.b64encode(raw_public_bytes(key)).decode("ascii"),
            }
            for kid, key in sorted(by_id.items())
        },
    }
    return _canonical(document)


def _canonical(value: Any) -> bytes:
    # Root documents hold only strings, integers and null, for which sorted compact JSON is
    # RFC 8785 (see kb.storage.snapshot.canonical_json); kept local so verifying pulls in no
    # database code.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_signers(
    signing_keys: Sequence[Ed25519PrivateKey], allowed: Mapping[str, Any], what: str
) -> None:
    for key in signing_keys:
        kid = key_id(key.public_key())
        if kid not in allowed:
            raise SigningError(f"signing key {_short(kid)} is not one of the keys of {what}")


def trust_init(
    pub_paths: Sequence[Path],
    threshold: int,
    signing_keys: Sequence[Ed25519PrivateKey],
    *,
    expires: str | None = None,
) -> dict[str, Any]:
    """A first trust root (version 1) over the public keys in `pub_paths`, signed by
    `signing_keys`, which must be at least `threshold` of those keys."""
    public = [load_public_key(Path(path)) for path in pub_paths]
    payload = _root_payload(public, threshold, 1, expires)
    _check_signers(signing_keys, dict.fromkeys(key_id(key) for key in public), "the new root")
    envelope = sign_envelope(ROOT_PAYLOAD_TYPE, payload, signing_keys)
    _as_signing_error(lambda: parse_trust_root(envelope))
    return envelope


def trust_rotate(
    old_root_envelope: Mapping[str, Any],
    new_pub_paths: Sequence[Path],
    threshold: int,
    signing_keys: Sequence[Ed25519PrivateKey],
    *,
    expires: str | None = None,
) -> dict[str, Any]:
    """Root N+1 over the keys in `new_pub_paths`. `signing_keys` must include a threshold of
    root N's keys and a threshold of the new root's keys (a key in both counts for both)."""
    old = _as_signing_error(lambda: parse_trust_root(old_root_envelope, check_expiry=False))
    public = [load_public_key(Path(path)) for path in new_pub_paths]
    payload = _root_payload(public, threshold, old.version + 1, expires)
    new_ids = {key_id(key) for key in public}
    _check_signers(signing_keys, {**old.keys, **dict.fromkeys(new_ids)}, "the old or new root")
    envelope = sign_envelope(ROOT_PAYLOAD_TYPE, payload, signing_keys)
    _as_signing_error(lambda: parse_trust_root(envelope, previous=old))
    return envelope


def _as_signing_error(check: Callable[[], _T]) -> _T:
    try:
        return check()
    except VerificationError as exc:
        raise SigningError(exc.message) from None


def parse_trust_root(
    envelope: Mapping[str, Any],
    *,
    previous: TrustRoot | None = None,
    now: dt.datetime | None = None,
    check_expiry: bool = True,
) -> TrustRoot:
    """Verify a trust-root envelope: its shape, its self-signatures (a threshold of its own
    keys), its expiry and, when `previous` is given, the rotation rule from that root."""
    try:
        parsed = parse_envelope(envelope)
    except VerificationError as exc:
        raise VerificationError(Reason.ROOT_INVALID, f"trust root: {exc.message}") from None
    if parsed.payload_type != ROOT_PAYLOAD_TYPE:
        raise VerificationError(
            Reason.ROOT_INVALID,
            f"trust root: payloadType is {parsed.payload_type!r}, expected {ROOT_PAYLOAD_TYPE!r}",
        )
    version, expires, threshold, keys = _parse_root_document(parsed.payload)
    root = TrustRoot(version, expires, threshold, keys, envelope, parsed.payload)
    check = check_signatures(parsed, keys)
    try:
        require_threshold(check, threshold, f"trust root version {version}")
    except VerificationError as exc:
        raise VerificationError(Reason.ROOT_INVALID, exc.message) from None
    if previous is not None:
        if version != previous.version + 1:
            raise VerificationError(
                Reason.ROOT_ROTATION_INVALID,
                f"trust root version {version} cannot follow version {previous.version}; "
                f"a rotation goes one version at a time",
            )
        try:
            require_threshold(
                check_signatures(parsed, previous.keys),
                previous.threshold,
                f"trust root version {version}, by the keys of version {previous.version}",
            )
        except VerificationError as exc:
            raise VerificationError(Reason.ROOT_ROTATION_INVALID, exc.message) from None
    if check_expiry:
        check_root_expiry(root, now=now)
    return root


def check_root_expiry(root: TrustRoot, *, now: dt.datetime | None = None) -> None:
    """Raise VerificationError if the root has expired (a date expires at the end of that day,
    UTC)."""
    if root.expires is None:
        return
    moment = now or dt.datetime.now(dt.UTC)
    if moment > _expiry(root.expires):
        raise VerificationError(
            Reason.ROOT_EXPIRED, f"trust root version {root.version} expired on {root.expires}"
        )


def _expiry(text: str) -> dt.datetime:
    if _DATE.fullmatch(text):
        day = dt.date.fromisoformat(text)
        return dt.datetime.combine(day, dt.time.max, dt.UTC)
    if _DATETIME.fullmatch(text):
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    raise SigningError(f"expiry {text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")


def _parse_root_document(
    payload: bytes,
) -> tuple[int, str | None, int, dict[str, Ed25519PublicKey]]:
    def bad(message: str) -> VerificationError:
        return VerificationError(Reason.ROOT_INVALID, f"trust root: {message}")

    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise bad("the payload is not JSON") from None
    if not isinstance(document, dict) or document.get("_type") != ROOT_TYPE:
        raise bad(f"the payload is not a {ROOT_TYPE} document")
    extra = set(document) - {"_type", "version", "expires", "threshold", "keys"}
    if extra:
        raise bad(f"unexpected keys {sorted(extra)}")
    version = document.get("version")
    threshold = document.get("threshold")
    expires = document.get("expires")
    raw_keys = document.get("keys")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad("version must be a whole number from 1")
    if expires is not None:
        if not isinstance(expires, str):
            raise bad("expires must be a date or null")
        try:
            _expiry(expires)
        except SigningError as exc:
            raise bad(str(exc)) from None
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise bad("no keys")
    keys: dict[str, Ed25519PublicKey] = {}
    for kid, entry in raw_keys.items():
        if not _KEY_ID.fullmatch(kid):
            raise bad(f"key id {kid!r} is not a sha256 hex digest")
        if not isinstance(entry, dict) or entry.get("keytype") != KEY_TYPE:
            raise bad(f"key {_short(kid)} is not an {KEY_TYPE} key")
        raw = _b64decode(entry.get("public") or "")
        if raw is None or len(raw) != _PUBLIC_KEY_BYTES:
            raise bad(f"key {_short(kid)} has no 32-byte public key")
        if hashlib.sha256(raw).hexdigest() != kid:
            # The id is derived from the key; a mismatch would let one key pose as another.
            raise bad(f"key {_short(kid)} does not match its id")
        keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
    if (
        not isinstance(threshold, int)
        or isinstance(threshold, bool)
        or not 1 <= threshold <= len(keys)
    ):
        raise bad(f"threshold must be a whole number from 1 to {len(keys)}")
    return version, expires, threshold, keys


def load_trust_root(
    path: Path, *, previous: TrustRoot | None = None, now: dt.datetime | None = None
) -> TrustRoot:
    """Read and verify a trust-root file (see `parse_trust_root`)."""
    return parse_trust_root(read_json_file(Path(path), "trust root"), previous=previous, now=now)


def read_json_file(path: Path, what: str, *, limit: int = 64 * 1024 * 1024) -> Any:
    """A JSON file's content; a missing, oversized or malformed file is a SigningError."""
    try:
        if path.stat().st_size > limit:
            raise SigningError(f"{path}: the {what} is larger than {limit} bytes")
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SigningError(f"{path}: no such {what} file") from None
    except (ValueError, UnicodeDecodeError):
        raise SigningError(f"{path}: the {what} is not valid JSON") from None


def save_json_file(value: Any, path: Path, *, overwrite: bool = False) -> None:
    """Write an envelope or root as indented, key-sorted JSON (stable bytes for stable input)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise SigningError(f"{path} already exists; refusing to overwrite it")
    path.write_bytes(dumps_pretty(value))


def dumps_pretty(value: Any) -> bytes:
    """Indented, key-sorted JSON with a final newline: deterministic and pleasant to read."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
