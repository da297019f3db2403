"""Service benchmark: `kb serve` over a signed release of a 100,000-assertion KB, under load.

    .venv/bin/python bench/serve_bench.py [--workers 2] [--connections 16] [--seconds 10]
                                          [--assertions N] [--keep DIR]

The KB is built as bench/versions_bench.py builds it (the demo plus 100,000 synthetic assertions
over the demo's biomarkers, therapies and tumour types, so a textbook patient meets thousands of
candidate assertions), released and signed as bench/release_bench.py does (a throwaway key and
trust root), and served by the real `kb serve --workers N` in a subprocess, watching a folder.
`wrk` (Debian's package; installed with apt-get when missing and we are root) drives it from its
own process over keep-alive connections, with a Lua script for the POST bodies, and in the same
run measures:

  healthz_*    GET /healthz, the trivial endpoint: the ceiling of the server and framework
  match_*      POST /match with a realistic NSCLC EGFR L858R patient
  mixed_*      POST /match cycling through the eight sample patients (resources/patients)
  swap_*       POST /match (mixed) while a newer release is published to the watched folder:
               every worker verifies and swaps it in under load; failed requests must be 0
  rss_mb_*     resident memory of each worker (VmRSS from /proc), and PSS (shared pages split)

The machines are shared and noisy: the load average is printed, and the ratio of /match to
/healthz throughput in the same run is the figure to compare across runs. Prints its figures as
`NAME=value` lines, among them `requests_per_s=` and `p99_ms=` (of /match, NSCLC patient).
Targets on our 2-core machine: >= 1,500 requests/s and p99 <= 25 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.release.folder import build_release, read_previous_release  # noqa: E402
from kb.release.signing import (  # noqa: E402
    generate_keypair,
    load_private_key,
    save_json_file,
    trust_init,
)
from kb.serve.config import token_digest  # noqa: E402
from kb.storage.snapshot import canonical_json  # noqa: E402

TOKEN = "bench-match-token-0123456789abcdef"
PATIENTS = sorted((REPO / "resources" / "patients").glob("*.json"))
NSCLC = REPO / "resources" / "patients" / "01-nsclc-egfr-l858r.json"


# --- the release ---------------------------------------------------------------------------------


def kb_snapshot(work: Path, assertions: int) -> dict[str, Any]:
    """Version 2 of the versions benchmark's KB (demo + `assertions` synthetic ones), as
    kb.json; kept in `work` so that a second run with --keep skips the build."""
    cached = work / f"kb-{assertions}.json"
    if cached.exists():
        data: dict[str, Any] = json.loads(cached.read_bytes())
        return data
    import versions_bench

    from kb.storage.db import open_kb
    from kb.storage.snapshot import build_snapshot

    path = work / "bench.sqlite"
    path.unlink(missing_ok=True)
    versions_bench.build(path, assertions)
    kb = open_kb(f"sqlite:///{path}")
    with kb.read() as session:
        data = build_snapshot(session, 2).as_json()
    kb.close()
    path.unlink()
    cached.write_bytes(canonical_json(data))
    return data


@dataclass(frozen=True, slots=True)
class Releases:
    root: Path  # the trust root file
    first: Path  # release 1, in the watched folder
    second: Path  # release 2, built aside; published by renaming it into the watched folder
    watch: Path


def build_releases(work: Path, data: dict[str, Any]) -> Releases:
    """Release 1 in the watched folder and release 2 (one assertion reworded) beside it, both
    signed by a throwaway key under a throwaway trust root."""
    keys = generate_keypair(work / "keys", name="release-manager", passphrase=b"bench")
    private = load_private_key(keys.private_path, b"bench")
    root = trust_init([keys.public_path], 1, [private])
    save_json_file(root, work / "root.json")
    watch = work / "watch"
    watch.mkdir()

    def build(snapshot: dict[str, Any], out: Path, version: str, previous: Path | None) -> Path:
        before = read_previous_release(previous) if previous else None
        build_release(
            snapshot,
            release_version=version,
            release_sequence=before.release_sequence + 1 if before else 1,
            previous_release_digest=before.release_digest if before else None,
            previous_snapshot=before.kb_json if before else None,
            approvals=[
                {
                    "name": "A. Reviewer",
                    "meaning": "approved for release",
                    "time": "2026-11-01T09:00:00Z",
                    "digest": hashlib.sha256(canonical_json(snapshot)).hexdigest(),
                }
            ],
            created="2026-11-01T09:30:00Z",
            trust_root_envelope=root,
            signing_keys=[private],
            out_dir=out,
        )
        return out

    first = build(data, watch / "r1", "2026.11.0", None)
    data["records"]["assertion"][0]["fields"]["description"] = "Reworded for the next release."
    # A dot-named folder is ignored by the watcher until it is renamed into view.
    second = build(data, watch / ".r2-staging", "2026.12.0", first)
    return Releases(work / "root.json", first, second, watch)


# --- the service ---------------------------------------------------------------------------------


class Service:
    """`kb serve --workers N` in a subprocess, ready once every worker has started."""

    def __init__(self, work: Path, releases: Releases, *, workers: int, port: int) -> None:
        config = work / "serve.toml"
        settings = {
            "watch": str(releases.watch),
            "root": str(releases.root),
            "state": str(work / "state.json"),
            "poll_seconds": 0.5,
            "match_token_sha256": [token_digest(TOKEN)],
            "min_signed_approvals": 0,  # built from a snapshot, outside a KB: none signed
        }
        config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        self.url = f"http://127.0.0.1:{port}"
        self.log = work / "serve.log"
        self._log = self.log.open("wb")
        command = [sys.executable, "-m", "kb", "serve", "--config", str(config)]
        command += ["--port", str(port), "--workers", str(workers), "--log-level", "info"]
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        deadline = time.monotonic() + 300
        while self.log.read_text().count("Application startup complete") < workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kb serve did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.start_s = time.perf_counter() - started

    def worker_pids(self) -> list[int]:
        """The processes answering requests: uvicorn's spawned workers, or the one process."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"spawn_main" in cmdline:
                children.append(int(entry.name))
        return sorted(children) or [self.process.pid]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB: PSS splits pages shared with other processes."""
    rss = pss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pss = float("nan")
    return rss, pss


# --- the load generator -------------------------------------------------------------------------


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def lua_script(
    path: Path, *, method: str, target: str, bodies: list[str], count_versions: bool
) -> Path:
    """A wrk script: requests cycle through `bodies`; `done` prints the figures as one JSON
    line, with each status and release version seen when `count_versions`."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if bodies:
        headers["Content-Type"] = "application/json"
    # JSON's escapes are Lua's for these ASCII strings.
    header_table = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    body_table = ", ".join(_lua_string(body) for body in bodies) or _lua_string("")
    response = (
        """
function response(status, headers, body)
  local version = headers["x-kb-release-version"] or headers["X-KB-Release-Version"] or "-"
  local key = status .. " " .. version
  seen[key] = (seen[key] or 0) + 1
end
"""
        if count_versions
        else ""
    )
    path.write_text(
        f"""
local bodies = {{ {body_table} }}
local headers = {{ {header_table} }}
local threads = {{}}
local next_body = 0
seen = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  next_body = math.random(#bodies) - 1
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format({json.dumps(method)}, {json.dumps(target)}, headers, bodies[next_body])
end
{response}
function done(summary, latency, requests)
  local e = summary.errors
  local parts = {{}}
  for _, thread in ipairs(threads) do
    local counts = thread:get("seen")
    for key, n in pairs(counts) do
      table.insert(parts, string.format("%q: %d", key, n))
    end
  end
  io.write(string.format(
    'WRK {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"seen": {{%s}}}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
"""
    )
    return path


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    generator_cpu_s: float
    seen: dict[str, int]

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk) …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("serve_bench needs wrk: apt-get install wrk (Debian/Ubuntu)")
    return found


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    during: Any = None,
) -> Load:
    """Drive the service for `seconds`; `during(elapsed)` is called every 0.1 s meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(script), url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = time.monotonic()
    while process.poll() is None:
        if during is not None:
            during(time.monotonic() - started)
        time.sleep(0.1)
    output = process.stdout.read().decode() if process.stdout else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"^WRK (\{.*\})$", output, re.MULTILINE)
    if process.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed:\n{output}")
    figures = json.loads(found.group(1))
    failed = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        failed=failed,
        p50_ms=figures["p50_us"] / 1e3,
        p90_ms=figures["p90_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        max_ms=figures["max_us"] / 1e3,
        generator_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        seen=figures["seen"],
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _release_seen(url: str, times: int) -> set[str]:
    import httpx

    with httpx.Client() as client:
        return {client.get(f"{url}/release").json()["version"] for _ in range(times)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--assertions", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="work here and keep the KB for the next run")
    args = parser.parse_args(argv)
    wrk = wrk_binary()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        # What a previous --keep run left, but the KB: the state file would refuse release 1.
        for stale in ("watch", "keys"):
            shutil.rmtree(work / stale, ignore_errors=True)
        for stale_file in ("state.json", "root.json"):
            (work / stale_file).unlink(missing_ok=True)
        started = time.perf_counter()
        data = kb_snapshot(work, args.assertions)
        releases = build_releases(work, data)
        del data
        print(f"KB and two signed releases built in {time.perf_counter() - started:.1f} s")
        nsclc = NSCLC.read_text()
        mixed = [path.read_text() for path in PATIENTS]
        scripts = {
            "healthz": lua_script(
                work / "healthz.lua",
                method="GET",
                target="/healthz",
                bodies=[],
                count_versions=False,
            ),
            "match": lua_script(
                work / "match.lua",
                method="POST",
                target="/match",
                bodies=[nsclc],
                count_versions=False,
            ),
            "mixed": lua_script(
                work / "mixed.lua",
                method="POST",
                target="/match",
                bodies=mixed,
                count_versions=False,
            ),
            "swap": lua_script(
                work / "swap.lua",
                method="POST",
                target="/match",
                bodies=mixed,
                count_versions=True,
            ),
        }
        service = Service(work, releases, workers=args.workers, port=_free_port())
        try:
            print(f"kb serve with {args.workers} worker(s) ready in {service.start_s:.1f} s")
            common = {"connections": args.connections, "threads": args.threads}
            run_wrk(wrk, service.url, scripts["mixed"], seconds=2, **common)  # warm-up
            results: dict[str, Load] = {}
            for name in ("healthz", "match", "mixed"):
                results[name] = run_wrk(
                    wrk, service.url, scripts[name], seconds=args.seconds, **common
                )
                load = results[name]
                print(
                    f"  {name}: {load.per_s:.0f} requests/s, p50 {load.p50_ms:.2f} ms, "
                    f"p99 {load.p99_ms:.2f} ms, failed {load.failed}, "
                    f"wrk used {load.generator_cpu_s / load.seconds:.0%} of a core"
                )
            pids = service.worker_pids()
            memory = [memory_mb(pid) for pid in pids]
            supervisor = memory_mb(service.process.pid) if pids != [service.process.pid] else None

            published: list[float] = []

            def publish(elapsed: float) -> None:
                if not published and elapsed >= 2:
                    os.rename(releases.second, releases.watch / "r2")
                    published.append(elapsed)

            swap_seconds = max(args.seconds, 30)
            swap = run_wrk(
                wrk, service.url, scripts["swap"], seconds=swap_seconds, during=publish, **common
            )
            versions_after = _release_seen(service.url, 8 * args.workers)
            memory_after = [memory_mb(pid) for pid in service.worker_pids()]
        finally:
            service.stop()
        load_end = os.getloadavg()
    match, mixed_load, healthz = results["match"], results["mixed"], results["healthz"]
    swapped_versions = sorted({key.split(" ", 1)[1] for key in swap.seen})
    statuses = sorted({key.split(" ", 1)[0] for key in swap.seen})
    print(
        f"  swap: {swap.per_s:.0f} requests/s over {swap.seconds:.0f} s, statuses {statuses}, "
        f"versions answered {swapped_versions}, after: {sorted(versions_after)}"
    )
    print(f"cpus={os.cpu_count()}")
    print(f"load_avg_1m_before={load_start[0]:.2f}")
    print(f"load_avg_1m_after={load_end[0]:.2f}")
    print(f"workers={args.workers}")
    print(f"connections={args.connections}")
    print(f"healthz_requests_per_s={healthz.per_s:.0f}")
    print(f"healthz_p50_ms={healthz.p50_ms:.2f}")
    print(f"healthz_p99_ms={healthz.p99_ms:.2f}")
    print(f"mixed_requests_per_s={mixed_load.per_s:.0f}")
    print(f"mixed_p50_ms={mixed_load.p50_ms:.2f}")
    print(f"mixed_p99_ms={mixed_load.p99_ms:.2f}")
    print(f"mixed_ratio_to_healthz={mixed_load.per_s / healthz.per_s:.2f}")
    for index, (rss, pss) in enumerate(memory):
        print(f"rss_mb_worker_{index + 1}={rss:.0f}")
        print(f"pss_mb_worker_{index + 1}={pss:.0f}")
    if supervisor is not None:
        print(f"rss_mb_supervisor={supervisor[0]:.0f}")
    print(f"rss_mb_per_worker_after_swap={max(rss for rss, _ in memory_after):.0f}")
    print(f"swap_requests={swap.requests}")
    print(f"swap_p99_ms={swap.p99_ms:.2f}")
    print(f"swap_max_ms={swap.max_ms:.2f}")
    print(f"swap_versions_answered={len(swapped_versions)}")
    print(f"swap_all_workers_on_new={int(versions_after == {'2026.12.0'})}")
    print(f"swap_failed_requests={swap.failed}")
    print(f"failed_requests={match.failed + mixed_load.failed + healthz.failed + swap.failed}")
    print(f"match_ratio_to_healthz={match.per_s / healthz.per_s:.2f}")
    print(f"p50_ms={match.p50_ms:.2f}")
    print(f"p99_ms={match.p99_ms:.2f}")
    print(f"requests_per_s={match.per_s:.0f}")


if __name__ == "__main__":
    main()
