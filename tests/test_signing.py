"""Keys, DSSE envelopes and trust roots, with real Ed25519 keys in real files."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kb.release.signing import (
    PASSPHRASE_ENV,
    ROOT_PAYLOAD_TYPE,
    KeyFiles,
    Reason,
    SigningError,
    VerificationError,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    load_trust_root,
    pae,
    parse_trust_root,
    passphrase_from_env_or_prompt,
    save_json_file,
    sign_envelope,
    trust_init,
    trust_rotate,
    verify_envelope,
)

PASSPHRASE = b"correct horse battery staple"
TYPE = "application/vnd.example+json"


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyFiles]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: generate_keypair(folder, name=name, passphrase=PASSPHRASE) for name in "abc"}


@pytest.fixture(scope="module")
def private(keyring: dict[str, KeyFiles]) -> dict[str, Ed25519PrivateKey]:
    return {
        name: load_private_key(files.private_path, PASSPHRASE) for name, files in keyring.items()
    }


def reason_of(excinfo: pytest.ExceptionInfo[VerificationError]) -> Reason:
    return excinfo.value.reason_code


# --- keys -----------------------------------------------------------------------------------


def test_generated_key_is_encrypted_private_and_not_overwritten(tmp_path: Path) -> None:
    files = generate_keypair(tmp_path / "keys", name="release-manager", passphrase=PASSPHRASE)
    assert files.private_path.name == "release-manager.key"
    assert stat.S_IMODE(files.private_path.stat().st_mode) == 0o600
    pem = files.private_path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert files.public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert PASSPHRASE not in pem

    with pytest.raises(SigningError, match="already exists"):
        generate_keypair(tmp_path / "keys", name="release-manager", passphrase=PASSPHRASE)
    # The refusal left the first key alone.
    assert files.private_path.read_bytes() == pem


def test_empty_passphrase_and_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="without a passphrase"):
        generate_keypair(tmp_path, name="k", passphrase=b"")
    with pytest.raises(SigningError, match="key name"):
        generate_keypair(tmp_path, name="../escape", passphrase=PASSPHRASE)
    assert list(tmp_path.iterdir()) == []


def test_key_id_is_sha256_of_the_raw_public_key(keyring: dict[str, KeyFiles]) -> None:
    public = load_public_key(keyring["a"].public_path)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw) == 32
    assert key_id(public) == hashlib.sha256(raw).hexdigest() == keyring["a"].key_id


def test_wrong_passphrase_says_so_and_names_the_file(keyring: dict[str, KeyFiles]) -> None:
    path = keyring["a"].private_path
    with pytest.raises(SigningError) as excinfo:
        load_private_key(path, b"not the passphrase")
    assert str(excinfo.value) == f"wrong passphrase for {path}"
    assert b"not the passphrase".decode() not in str(excinfo.value)


def test_unencrypted_and_non_key_files_are_refused(tmp_path: Path) -> None:
    clear = tmp_path / "clear.key"
    clear.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningError, match="unencrypted private key"):
        load_private_key(clear, PASSPHRASE)
    text = tmp_path / "notes.key"
    text.write_text("just some notes\n")
    with pytest.raises(SigningError, match="not a private key file"):
        load_private_key(text, PASSPHRASE)
    with pytest.raises(SigningError, match="no such key file"):
        load_private_key(tmp_path / "missing.key", PASSPHRASE)
    with pytest.raises(SigningError, match="not a PEM public key"):
        load_public_key(text)


def test_passphrase_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret")
    assert passphrase_from_env_or_prompt("Passphrase: ") == b"s3cret"
    monkeypatch.setenv(PASSPHRASE_ENV, "")
    with pytest.raises(SigningError, match="empty"):
        passphrase_from_env_or_prompt("Passphrase: ")


# --- DSSE -----------------------------------------------------------------------------------


def test_pae_matches_the_dsse_specification() -> None:
    # The example from the DSSE v1 protocol description.
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    # Lengths count bytes, not characters.
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


def test_envelope_round_trip_and_tampering(private: dict[str, Ed25519PrivateKey]) -> None:
    keys = {key_id(k.public_key()): k.public_key() for k in private.values()}
    envelope = sign_envelope(TYPE, b'{"hello":"world"}', [private["b"], private["a"]])
    # Deterministic: the same payload and keys in any order give the same envelope.
    assert envelope == sign_envelope(TYPE, b'{"hello":"world"}', [private["a"], private["b"]])
    assert [s["keyid"] for s in envelope["signatures"]] == sorted(
        key_id(private[name].public_key()) for name in "ab"
    )
    payload, signers = verify_envelope(envelope, payload_type=TYPE, keys=keys, threshold=2)
    assert payload == b'{"hello":"world"}' and len(signers) == 2

    tampered = dict(envelope, payload=base64.b64encode(b'{"hello":"moon"}').decode())
    with pytest.raises(VerificationError) as excinfo:
        verify_envelope(tampered, payload_type=TYPE, keys=keys, threshold=1)
    assert reason_of(excinfo) is Reason.BAD_SIGNATURE

    with pytest.raises(VerificationError) as excinfo:
        verify_envelope(envelope, payload_type="text/plain", keys=keys, threshold=1)
    assert reason_of(excinfo) is Reason.WRONG_PAYLOAD_TYPE

    for broken in ({"payload": "x"}, dict(envelope, payload="%%%"), [], dict(envelope, extra=1)):
        with pytest.raises(VerificationError) as excinfo:
            verify_envelope(broken, payload_type=TYPE, keys=keys, threshold=1)
        assert reason_of(excinfo) is Reason.MALFORMED_ENVELOPE


def test_threshold_two_counts_distinct_keys(private: dict[str, Ed25519PrivateKey]) -> None:
    a, b = private["a"], private["b"]
    keys = {key_id(k.public_key()): k.public_key() for k in (a, b)}
    both = sign_envelope(TYPE, b"payload", [a, b])
    verify_envelope(both, payload_type=TYPE, keys=keys, threshold=2)

    only_a = sign_envelope(TYPE, b"payload", [a])
    # The same key's signature twice is still one signer.
    twice = copy.deepcopy(only_a)
    twice["signatures"].append(dict(twice["signatures"][0]))
    for envelope in (only_a, twice):
        with pytest.raises(VerificationError) as excinfo:
            verify_envelope(envelope, payload_type=TYPE, keys=keys, threshold=2)
        assert reason_of(excinfo) is Reason.TOO_FEW_SIGNATURES
        assert "1 of the 2 required" in str(excinfo.value)

    by_stranger = sign_envelope(TYPE, b"payload", [private["c"]])
    with pytest.raises(VerificationError) as excinfo:
        verify_envelope(by_stranger, payload_type=TYPE, keys=keys, threshold=1)
    assert reason_of(excinfo) is Reason.UNTRUSTED_KEY


# --- trust roots ----------------------------------------------------------------------------


def test_trust_init_signs_and_checks_itself(
    keyring: dict[str, KeyFiles], private: dict[str, Ed25519PrivateKey], tmp_path: Path
) -> None:
    pubs = [keyring["a"].public_path, keyring["b"].public_path]
    envelope = trust_init(pubs, 2, [private["a"], private["b"]], expires="2099-12-31")
    assert envelope["payloadType"] == ROOT_PAYLOAD_TYPE
    document = json.loads(base64.b64decode(envelope["payload"]))
    assert document["_type"] == "kb-curator-root" and document["version"] == 1
    assert document["threshold"] == 2 and set(document["keys"]) == {
        keyring["a"].key_id,
        keyring["b"].key_id,
    }
    entry = document["keys"][keyring["a"].key_id]
    assert entry["keytype"] == "ed25519" and len(base64.b64decode(entry["public"])) == 32

    path = tmp_path / "root.json"
    save_json_file(envelope, path)
    root = load_trust_root(path)
    assert root.version == 1 and root.threshold == 2 and root.expires == "2099-12-31"

    with pytest.raises(SigningError, match="threshold 3"):
        trust_init(pubs, 3, [private["a"], private["b"]])
    with pytest.raises(SigningError, match="threshold 0"):
        trust_init(pubs, 0, [private["a"]])
    with pytest.raises(SigningError, match="not one of the keys"):
        trust_init(pubs, 1, [private["c"]])
    with pytest.raises(SigningError, match="1 of the 2 required"):
        trust_init(pubs, 2, [private["a"]])


def test_trust_root_tampering_and_expiry(
    keyring: dict[str, KeyFiles], private: dict[str, Ed25519PrivateKey]
) -> None:
    envelope = trust_init([keyring["a"].public_path], 1, [private["a"]], expires="2030-01-01")
    document = json.loads(base64.b64decode(envelope["payload"]))
    document["threshold"] = 1
    document["keys"][keyring["c"].key_id] = {
        "keytype": "ed25519",
        "public": base64.b64encode(
            private["c"]
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode(),
    }
    forged = dict(envelope, payload=base64.b64encode(json.dumps(document).encode()).decode())
    with pytest.raises(VerificationError) as excinfo:
        parse_trust_root(forged)
    assert reason_of(excinfo) is Reason.ROOT_INVALID

    # A key listed under another key's id is refused outright.
    document = json.loads(base64.b64decode(envelope["payload"]))
    entry = document["keys"].pop(keyring["a"].key_id)
    document["keys"][keyring["b"].key_id] = entry
    mislabelled = sign_envelope(ROOT_PAYLOAD_TYPE, json.dumps(document).encode(), [private["a"]])
    with pytest.raises(VerificationError, match="does not match its id"):
        parse_trust_root(mislabelled)

    after = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(VerificationError) as excinfo:
        parse_trust_root(envelope, now=after)
    assert reason_of(excinfo) is Reason.ROOT_EXPIRED
    # The whole expiry day is still valid.
    parse_trust_root(envelope, now=dt.datetime(2030, 1, 1, 23, 59, tzinfo=dt.UTC))


def test_trust_rotate_happy_path(
    keyring: dict[str, KeyFiles], private: dict[str, Ed25519PrivateKey], tmp_path: Path
) -> None:
    a, b, c = (keyring[name].public_path for name in "abc")
    first = trust_init([a, b], 2, [private["a"], private["b"]])
    # Retire key a, add key c: a threshold of the old keys (a, b) and of the new (b, c) sign.
    second = trust_rotate(first, [b, c], 2, [private["a"], private["b"], private["c"]])
    save_json_file(first, tmp_path / "root-1.json")
    save_json_file(second, tmp_path / "root-2.json")
    root1 = load_trust_root(tmp_path / "root-1.json")
    root2 = load_trust_root(tmp_path / "root-2.json", previous=root1)
    assert root2.version == 2 and set(root2.keys) == {keyring["b"].key_id, keyring["c"].key_id}

    # The chain is checked one version at a time.
    third = trust_rotate(second, [b, c], 1, [private["b"], private["c"]])
    with pytest.raises(VerificationError) as excinfo:
        parse_trust_root(third, previous=root1)
    assert reason_of(excinfo) is Reason.ROOT_ROTATION_INVALID
    parse_trust_root(third, previous=root2)


def test_trust_rotate_refuses_too_few_old_keys(
    keyring: dict[str, KeyFiles], private: dict[str, Ed25519PrivateKey]
) -> None:
    a, b, c = (keyring[name].public_path for name in "abc")
    first = trust_init([a, b], 2, [private["a"], private["b"]])
    # b and c satisfy the new root (b, c; threshold 2) but only one of the old root's two.
    with pytest.raises(SigningError, match="by the keys of version 1"):
        trust_rotate(first, [b, c], 2, [private["b"], private["c"]])

    # The same root with a's signature dropped is refused by anyone holding root 1.
    rotated = trust_rotate(first, [b, c], 2, [private["a"], private["b"], private["c"]])
    under_signed = dict(
        rotated,
        signatures=[s for s in rotated["signatures"] if s["keyid"] != keyring["a"].key_id],
    )
    root1 = parse_trust_root(first)
    with pytest.raises(VerificationError) as excinfo:
        parse_trust_root(under_signed, previous=root1)
    assert reason_of(excinfo) is Reason.ROOT_ROTATION_INVALID
    assert "1 of the 2 required" in str(excinfo.value)
