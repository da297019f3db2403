"""`kb serve`: the matching service over a verified release (kb.serve)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kb.cli import context as cli

Handler = Callable[[argparse.Namespace, TextIO], int]


def register(commands: Any, fmt: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    serve = commands.add_parser(
        "serve",
        help="serve matching and CDS Hooks over a verified release",
        description=(
            "Verify a release against a trust root and a state file, serve it over HTTP, and "
            "swap forward to newer releases that verify in the watched folder or URL."
        ),
    )
    serve.add_argument("--config", type=Path, help="TOML settings (see docs/consuming-releases.md)")
    serve.add_argument("--release", help="a release folder, or an http(s) URL of its archive")
    serve.add_argument("--root", help="the pinned trust root")
    serve.add_argument("--state", help="state file: the last release accepted (no rollback)")
    serve.add_argument("--watch", help="a folder of release folders, or an http(s) URL, to poll")
    serve.add_argument("--poll-seconds", type=float)
    serve.add_argument("--public-url", help="the URL clients reach this service at (JWT aud)")
    serve.add_argument(
        "--match-token-sha256", action="append", help="sha256 of a /match bearer token"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    return {"serve": _cmd_serve}


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from kb.serve.app import LOG_LEVEL_ENV, configure_logging, create_app, load_first, new_holder
    from kb.serve.config import CONFIG_ENV, ServeConfig, read_config_file

    settings: dict[str, Any] = read_config_file(args.config) if args.config else {}
    for name in ("release", "root", "state", "watch", "poll_seconds", "public_url"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if args.match_token_sha256:
        settings["match_token_sha256"] = args.match_token_sha256
    settings.setdefault("public_url", f"http://{args.host}:{args.port}")
    for required in ("root", "state"):
        if not settings.get(required):
            raise cli.UsageError(f"kb serve: give --{required} (or {required} in --config)")
    config = ServeConfig.from_mapping(settings)
    if args.workers < 1:
        raise cli.UsageError("kb serve: --workers must be at least 1")
    configure_logging(args.log_level)
    # Verified here first, so that a release that does not verify stops the command with its
    # reason (exit 1) before any port is opened.
    holder = new_holder(config)
    load_first(holder, config)
    current = holder.current
    out.write(
        f"serving release {current.version} (#{current.release_sequence}) on "
        f"http://{args.host}:{args.port} with {args.workers} worker(s)\n"
    )
    out.flush()
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,  # paths and queries could carry identifiers; metrics count requests
        "log_level": args.log_level,
        "timeout_graceful_shutdown": 10,
    }
    if args.workers == 1:
        uvicorn.run(create_app(config, holder=holder), **common)
        return 0
    del holder, current
    os.environ[CONFIG_ENV] = config.to_json()
    os.environ[LOG_LEVEL_ENV] = args.log_level
    # prometheus-client's multiprocess mode: each worker writes its counters to files here and
    # /metrics sums them. A fresh folder per start, so no earlier run's counts are summed in;
    # removed when the service stops.
    metrics_dir = tempfile.mkdtemp(prefix="kb-serve-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "kb.serve.app:app_from_environment", factory=True, workers=args.workers, **common
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
