"""`kb serve` moves forward only: a newer release published to the watched folder is verified
and swapped in under load without one failed request; a tampered newer one and older ones are
refused while the current keeps serving; a start on an older release than the state file's is
refused (rollback); a release can come from an http URL as `kb release publish` uploads it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from kb.release.folder import write_archive
from kb.release.signing import generate_keypair, load_private_key, save_json_file, trust_init
from kb.serve.config import token_digest
from kb.storage.db import open_kb
from kb.storage.snapshot import build_snapshot
from tests.serve_support import REPO, TOKEN, Service, build, static_server, write_config

PATIENT = json.loads((REPO / "resources" / "patients" / "01-nsclc-egfr-l858r.json").read_text())


def _release_of(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/release").json()


def test_swap_forward_only_under_load(demo_template: Path, tmp_path: Path) -> None:
    opened = open_kb(f"sqlite:///{demo_template}", migrate_schema=False)
    with opened.read() as session:
        data = build_snapshot(session).as_json()
    opened.close()
    files = generate_keypair(tmp_path / "keys", name="a", passphrase=b"pass")
    key = load_private_key(files.private_path, b"pass")
    root = trust_init([files.public_path], 1, [key])
    save_json_file(root, tmp_path / "root.json")
    watch = tmp_path / "watch"
    r1 = build(data, watch / "r1", root, key, version="2026.11.0")
    state = tmp_path / "state.json"
    config = write_config(
        tmp_path / "serve.toml",
        watch=str(watch),
        root=str(tmp_path / "root.json"),
        state=str(state),
        poll_seconds=0.2,
        match_token_sha256=[token_digest(TOKEN)],
    )
    service = Service(config, tmp_path)
    try:
        assert _release_of(service.url)["release_sequence"] == 1
        failures: list[str] = []
        versions: set[str] = set()
        stop = threading.Event()

        def load() -> None:
            with httpx.Client() as client:
                while not stop.is_set():
                    try:
                        response = client.post(
                            f"{service.url}/match",
                            json=PATIENT,
                            headers={"Authorization": f"Bearer {TOKEN}"},
                        )
                        if response.status_code != 200:
                            failures.append(str(response.status_code))
                        versions.add(response.headers.get("X-KB-Release-Version", "?"))
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        data["records"]["assertion"][0]["fields"]["description"] = "Updated wording."
        staging = build(data, tmp_path / ".r2", root, key, version="2026.12.0", previous=r1)
        os.rename(staging, watch / "r2")  # published atomically, as a release folder appears
        deadline = time.monotonic() + 30
        while _release_of(service.url)["release_sequence"] != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert _release_of(service.url)["version"] == "2026.12.0"
        assert not failures, failures[:5]
        assert versions == {"2026.11.0", "2026.12.0"}
        assert json.loads(state.read_text())["release_sequence"] == 2

        # A newer release that was tampered with is refused; the current one keeps serving.
        r3 = build(data, tmp_path / ".r3", root, key, version="2027.1.0", previous=watch / "r2")
        with (r3 / "payload" / "tables" / "assertions.tsv").open("a") as handle:
            handle.write("tampered\n")
        os.rename(r3, watch / "r3")
        deadline = time.monotonic() + 10
        metrics = ""
        while time.monotonic() < deadline:
            metrics = httpx.get(f"{service.url}/metrics").text
            if 'kb_serve_release_rejected_total{reason="' in metrics:
                break
            time.sleep(0.1)
        assert 'kb_serve_release_rejected_total{reason="' in metrics
        assert _release_of(service.url)["release_sequence"] == 2
        assert json.loads(state.read_text())["release_sequence"] == 2
    finally:
        service.stop()

    # Starting again on release 1 alone is a rollback: refused before any port opens.
    old = write_config(
        tmp_path / "old.toml", release=str(r1), root=str(tmp_path / "root.json"), state=str(state)
    )
    refused = _start_refused(old)
    assert refused.returncode == 1 and "rollback" in refused.stderr

    # By default the service wants a signed approval it can check with the root; these test
    # releases, built from a snapshot outside a KB, carry none.
    strict = write_config(
        tmp_path / "strict.toml",
        release=str(r1),
        root=str(tmp_path / "root.json"),
        state=str(tmp_path / "fresh-state.json"),
        min_signed_approvals=1,
    )
    refused = _start_refused(strict)
    assert refused.returncode == 1 and "too_few_approvals" in refused.stderr

    # Release 2 pulled from a URL, as `kb release publish` put it there.
    archive = io.BytesIO()
    write_archive(watch / "r2", archive)
    with static_server() as (base, routes, _seen):
        routes["/releases/latest.tar.gz"] = (200, archive.getvalue(), "application/gzip")
        by_url = write_config(
            tmp_path / "url.toml",
            release=f"{base}/releases/latest.tar.gz",
            root=str(tmp_path / "root.json"),
            state=str(state),
            cache_dir=str(tmp_path / "cache"),
        )
        pulled = Service(by_url, tmp_path)
        try:
            assert _release_of(pulled.url)["version"] == "2026.12.0"
        finally:
            pulled.stop()


def _metric(text: str, name: str) -> float:
    """The value of one sample line (`name` with its labels) in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in /metrics")


def _start_refused(config: Path) -> subprocess.CompletedProcess[str]:
    """`kb serve --config CONFIG` expected to stop before it opens a port (port 9 is never
    bound): its exit and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "kb", "serve", "--config", str(config), "--port", "9"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_several_workers_answer_sum_their_metrics_and_all_swap(
    demo_template: Path, tmp_path: Path
) -> None:
    opened = open_kb(f"sqlite:///{demo_template}", migrate_schema=False)
    with opened.read() as session:
        data = build_snapshot(session).as_json()
    opened.close()
    files = generate_keypair(tmp_path / "keys", name="a", passphrase=b"pass")
    key = load_private_key(files.private_path, b"pass")
    root = trust_init([files.public_path], 1, [key])
    save_json_file(root, tmp_path / "root.json")
    watch = tmp_path / "watch"
    r1 = build(data, watch / "r1", root, key, version="2026.11.0")
    config = write_config(
        tmp_path / "serve.toml",
        watch=str(watch),
        root=str(tmp_path / "root.json"),
        state=str(tmp_path / "state.json"),
        poll_seconds=0.2,
        match_token_sha256=[token_digest(TOKEN)],
    )
    service = Service(config, tmp_path, "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while service.log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, service.log.read_text()
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(30):  # a new connection each: the workers share the listening socket
            answer = httpx.post(f"{service.url}/match", json=PATIENT, headers=headers)
            assert answer.status_code == 200
            assert answer.json()["therapies"][0]["therapy"]["name"] == "Osimertinib"
        metrics = httpx.get(f"{service.url}/metrics").text
        # Summed over the workers' files (prometheus-client multiprocess mode), whichever
        # worker answered each request and whichever answers /metrics.
        assert _metric(metrics, 'kb_serve_requests_total{route="/match",status="200"}') == 30
        assert _metric(metrics, "kb_serve_release_sequence") == 1

        data["records"]["assertion"][0]["fields"]["description"] = "Updated wording."
        staging = build(data, tmp_path / ".r2", root, key, version="2026.12.0", previous=r1)
        os.rename(staging, watch / "r2")
        # The gauge is the minimum over the workers: 2 once every worker has swapped.
        deadline = time.monotonic() + 60
        while _metric(httpx.get(f"{service.url}/metrics").text, "kb_serve_release_sequence") < 2:
            assert time.monotonic() < deadline, service.log.read_text()
            time.sleep(0.2)
        assert {_release_of(service.url)["version"] for _ in range(20)} == {"2026.12.0"}
        assert service.log.read_text().count("swapped release 2026.11.0 (#1) -> 2026.12.0") == 2
    finally:
        service.stop()
