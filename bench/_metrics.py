"""The server's own figures for bench/screens.py: GET /metrics parsed by prometheus_client, and
the latency of one screen's requests between two scrapes from the histogram
`graphql_request_duration_seconds` (per operation name), read as Prometheus'
`histogram_quantile` reads it (linear within a bucket), so wrk's and the server's figures can be
set side by side.

Imported as `from _metrics import …` (bench/ is first on sys.path for the bench scripts)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
LATENCY = "graphql_request_duration_seconds"


def scrape(url: str) -> Samples:
    resp = httpx.get(f"{url}/metrics", timeout=30)
    resp.raise_for_status()
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample, or the sum of those whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@dataclass(frozen=True)
class ServerLatency:
    """What the server measured of one operation's requests between two scrapes."""

    count: int
    p50_ms: float | None
    p99_ms: float | None


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """histogram_quantile over (upper bound, cumulative count) pairs, +Inf last."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower  # past the largest finite bucket: its bound, as Prometheus says
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return None


def latency_between(before: Samples, after: Samples, operation: str) -> ServerLatency:
    """The operation's requests answered between the scrapes `before` and `after`."""
    bounds: dict[float, float] = {}
    for (name, labels), v in after.items():
        ls = dict(labels)
        if name == f"{LATENCY}_bucket" and ls.get("operation") == operation:
            le = float(ls["le"])
            bounds[le] = bounds.get(le, 0.0) + v - before.get((name, labels), 0.0)
    buckets = sorted(bounds.items())
    count = int(buckets[-1][1]) if buckets else 0
    p50, p99 = _quantile(0.5, buckets), _quantile(0.99, buckets)
    return ServerLatency(
        count,
        None if p50 is None else p50 * 1000,
        None if p99 is None else p99 * 1000,
    )
