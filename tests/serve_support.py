"""Helpers for the kb serve tests: releases of the demo KB, a JWKS server, a FHIR server
stand-in, signed CDS JWTs, and the real service started as `kb serve` in a subprocess."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kb.release.folder import build_release, read_previous_release
from kb.storage.snapshot import canonical_json

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-match-token-0123456789abcdef"
ISSUER = "https://ehr.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def approval(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Dr A. Reviewer",
        "time": "2026-10-31T17:00:00Z",
        "meaning": "approved for release",
        "reason": "monthly release",
        "digest": hashlib.sha256(canonical_json(data)).hexdigest(),
    }


def build(
    data: dict[str, Any],
    out: Path,
    root: dict[str, Any],
    key: Ed25519PrivateKey,
    *,
    version: str,
    previous: Path | None = None,
) -> Path:
    before = read_previous_release(previous) if previous else None
    build_release(
        data,
        release_version=version,
        release_sequence=before.release_sequence + 1 if before else 1,
        previous_release_digest=before.release_digest if before else None,
        previous_snapshot=before.kb_json if before else None,
        approvals=[approval(data)],
        created="2026-11-01T09:30:00Z",
        trust_root_envelope=root,
        signing_keys=[key],
        out_dir=out,
    )
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, str]]
    seen: list[tuple[str, str | None]]

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, body, kind = self.routes.get(
            self.path, (404, b'{"resourceType":"OperationOutcome"}', "application/fhir+json")
        )
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_server() -> Iterator[tuple[str, dict[str, tuple[int, bytes, str]], list[Any]]]:
    """A small real HTTP server on 127.0.0.1: (base URL, routes to fill, requests seen)."""
    routes: dict[str, tuple[int, bytes, str]] = {}
    seen: list[Any] = []
    handler = type("Handler", (_Handler,), {"routes": routes, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes, seen
    finally:
        server.shutdown()
        server.server_close()


class Signer:
    """An EHR's ES384 key, its JWKS, and CDS Hooks JWTs signed with it."""

    def __init__(self, kid: str = "ehr-key-1") -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        self.kid = kid

    def jwks(self) -> bytes:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "ES384", "use": "sig"})
        return json.dumps({"keys": [jwk]}).encode()

    def token(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "ehr-client",
            "aud": audience,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": self.kid})


class Service:
    """`kb serve` in a subprocess on a free port; stderr kept to check the logs."""

    def __init__(self, config: Path, tmp: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._log_handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kb",
                "serve",
                "--config",
                str(config),
                "--port",
                str(self.port),
                "--public-url",
                self.url,
                *extra,
            ],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kb serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kb serve did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()


def demo_release(demo_template: Path, tmp: Path, *, version: str = "2026.11.0") -> Path:
    """A signed release of the demo KB in `tmp`/releases/r1, its trust root in `tmp`/root.json."""

    from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init
    from kb.storage.db import open_kb
    from kb.storage.snapshot import build_snapshot

    opened = open_kb(f"sqlite:///{demo_template}", migrate_schema=False)
    with opened.read() as session:
        data = build_snapshot(session).as_json()
    opened.close()
    files = generate_keypair(tmp / "keys", name="a", passphrase=b"pass")
    key: Ed25519PrivateKey = load_private_key(files.private_path, b"pass")
    root = trust_init([files.public_path], 1, [key])
    save_json_file(root, tmp / "root.json")
    return build(data, tmp / "releases" / "r1", root, key, version=version)


def write_config(path: Path, **settings: Any) -> Path:
    # The releases here are built from a snapshot, outside a KB: they carry no signed approval.
    settings.setdefault("min_signed_approvals", 0)
    lines = []
    clients = settings.pop("cds_clients", [])
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    for client in clients:
        lines.append("[[cds_clients]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in client.items())
    path.write_text("\n".join(lines) + "\n")
    return path
