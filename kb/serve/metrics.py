"""Prometheus metrics of the service. With several uvicorn workers, prometheus-client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `kb serve` before the workers start) sums
the workers' counters and histograms on /metrics."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

REQUESTS = Counter("kb_serve_requests_total", "HTTP requests answered", ["route", "status"])
LATENCY = Histogram(
    "kb_serve_request_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
RELEASE_SEQUENCE = Gauge(
    "kb_serve_release_sequence",
    "release_sequence of the release being served",
    multiprocess_mode="min",
)
SWAPS = Counter("kb_serve_release_swaps_total", "Releases swapped in after verification")
REJECTED = Counter("kb_serve_release_rejected_total", "Release candidates refused", ["reason"])
CARDS = Counter("kb_serve_cds_cards_total", "CDS Hooks cards returned", ["hook", "indicator"])


def render() -> tuple[bytes, str]:
    """The exposition text of every metric (summed over workers in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
