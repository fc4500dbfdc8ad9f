"""`GET /metrics` in the Prometheus text format, by prometheus_client, summed over every process
of a server: `enterprise-desk serve` gives its uvicorn workers one private
PROMETHEUS_MULTIPROC_DIR (created empty at each start, removed at exit; server.cli),
each worker writes its figures there, and whichever worker answers a scrape reads them all, so a
counter reads the same total whichever worker is asked. A process started otherwise (the tests'
in-process app) keeps them in memory.

What is measured (docs/operations/monitoring.md lists the names):
- per request (server.observe): GraphQL requests and latency per operation name and app screen,
  refusals by code, statements per request, every HTTP request per route, the figures' time;
- sampled every SAMPLE_SECONDS and at each scrape: the database pools (in use, waiting), and the
  counters the models and the push dispatcher keep per process (statements, compiled and
  strawberry queries, password checks, push deliveries), carried into prometheus counters by
  their increase (`sync_process`);
- at scrape time, by SQL: the shared push outbox (depth and age of the oldest due row);
- the scheduler's last run and its duration (server.jobs).

With `METRICS_TOKEN` set, the scraper must send `Authorization: Bearer <METRICS_TOKEN>`
(Prometheus' `authorization: {credentials: ...}`), anything else gets 401. Without it the
figures are open in development, and in production only where the operator says so
(`METRICS_PUBLIC=on`: a port only the scraper reaches); otherwise production answers 403 and
says at start-up why: the server still starts, since a county that scrapes nothing should not
have to configure anything, and nothing is shown to whoever finds the port."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import prometheus_client
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from tortoise.connection import connections

from models.db.replica import READ_CONNECTION
from models.db.screen import SCREEN_CONNECTION
from models.db.sql_count import STATEMENTS
from models.rules.passwords import PASSWORD_CHECKS
from notifications.metrics import COUNTS, OutboxGauge, outbox_gauges
from schema.compiled import QUERY_PATHS
from server.background import in_background
from server.pids import alive
from server.settings import Settings

log = logging.getLogger("enterprise_desk.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 1.0
# The classic text format, which every Prometheus reads (generate_latest writes it; the
# library's own CONTENT_TYPE_LATEST names 1.0.0, which older servers do not know).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
prometheus_client.disable_created_metrics()  # no `_created` series: nobody here graphs them

# Seconds. A screen's p99 target is 100 ms at 64 clients; the figures may take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FIGURES_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128)

GRAPHQL_REQUESTS = Counter(
    "graphql_requests",
    "GraphQL requests over HTTP by operation name (unknown and anonymous ones: other), app "
    "screen and HTTP status.",
    ["operation", "screen", "status"],
)
GRAPHQL_LATENCY = Histogram(
    "graphql_request_duration_seconds",
    "Time from a GraphQL request's arrival to its answer's end, by operation and screen.",
    ["operation", "screen"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_STATEMENTS = Histogram(
    "graphql_request_statements",
    "SQL statements one GraphQL request sent (transaction control included), by operation and "
    "screen.",
    ["operation", "screen"],
    buckets=STATEMENT_BUCKETS,
)
REFUSALS = Counter(
    "graphql_refusals",
    "Error codes in GraphQL answers' `errors` (one per error; a mutation's own "
    "`errors { code }` payload is an answer, not counted here).",
    ["code"],
)
FIGURES_LATENCY = Histogram(
    "figures_query_duration_seconds",
    "Time of GraphQL requests asking for supervisor figures, by the figure (root field) asked.",
    ["figure"],
    buckets=FIGURES_BUCKETS,
)
HTTP_REQUESTS = Counter("http_requests", "HTTP requests by route and status.", ["route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from an HTTP request's arrival to its answer's end, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Pooled database connections lent out, summed over the server's processes.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "db_pool_waiting",
    "Requests waiting for a pooled connection, summed over the server's processes.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "db_pool_connections",
    "Connections the pools hold open, summed over the server's processes.",
    ["pool"],
    multiprocess_mode="livesum",
)
SCHEDULER_LAST_RUN = Gauge(
    "scheduler_last_run_timestamp_seconds",
    "When the last round of periodic jobs of any of the server's processes ended (Unix time).",
    multiprocess_mode="max",
)
SCHEDULER_DURATION = Gauge(
    "scheduler_last_run_duration_seconds",
    "How long the latest round of periodic jobs took.",
    multiprocess_mode="mostrecent",
)
SCHEDULER_FAILURES = Counter(
    "scheduler_job_failures", "Periodic jobs that raised (the next round retries).", ["job"]
)

# Kept from the hand-written exposition, same names and labels.
DB_STATEMENTS = Counter(
    "db_statements",
    "SQL statements the server's processes sent to the database: queries, and apart "
    '(kind="control") transaction control and pool resets.',
    ["kind"],
)
GRAPHQL_QUERIES = Counter(
    "graphql_queries",
    'Queries executed from a compiled plan, and apart (path="strawberry") those left to '
    "graphql-core (see schema.compiled).",
    ["path"],
)
PASSWORD_CHECKS_TOTAL = Counter(
    "password_checks",
    "Passwords verified with argon2 (sign-ins: against the account's hash, or the dummy one "
    "when there is none to check).",
)
# name in notifications.metrics.PushCounters -> (metric, help)
PUSH_COUNTERS: dict[str, Counter] = {
    key: Counter(name, text, ["provider"])
    for key, name, text in (
        ("sent", "push_sent", "Messages handed to a push gateway."),
        ("delivered", "push_delivered", "Messages the gateway accepted."),
        ("retried", "push_retried", "Messages rescheduled after a retryable error."),
        (
            "dead",
            "push_dead",
            "Messages given up (permanent error, attempts used up, device removed).",
        ),
        (
            "dead_token",
            "push_dead_token",
            "Messages whose device token the gateway declared dead (device deleted).",
        ),
        ("calls", "push_gateway_calls", "Calls made to a push gateway."),
        ("call_seconds", "push_gateway_call_seconds", "Seconds spent in push gateway calls."),
    )
}
PUSH_CIRCUIT_OPEN = Gauge(
    "push_circuit_open",
    "Whether a process's breaker for the gateway is open (the highest over the processes).",
    ["provider"],
    multiprocess_mode="livemax",
)

POOLS = (("default", "default"), (SCREEN_CONNECTION, "screens"), (READ_CONNECTION, "read"))


def multiprocess_dir() -> str | None:
    """The directory every process of this server writes its figures to, when prometheus_client
    was imported with one set (server.cli sets it before the app is imported)."""
    if prometheus_values.ValueClass is prometheus_values.MutexValue:
        return None
    return os.environ.get(MULTIPROC_ENV) or None


# --------------------------------------------------------------------------- dead workers


_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def forget_dead_processes(path: str) -> None:
    """The live gauges of workers that died (uvicorn starts another) stop counting; their
    counters and histograms stay, as Prometheus expects of a counter."""
    for file in Path(path).glob("gauge_live*.db"):
        match = _LIVE_FILE.search(file.name)
        if match and not alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), path)


# --------------------------------------------------------------------------- sampling


class _Carried:
    """Per-process totals kept elsewhere, carried into prometheus counters by their increase
    since the last sync (a total that went down was reset: it starts again from there)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], float] = {}

    def carry(self, key: tuple[str, str], total: float, counter: Any) -> None:
        before = self.last.get(key, 0.0)
        self.last[key] = total
        if total > before:
            counter.inc(total - before)


_CARRIED = _Carried()


def _pool_of(name: str) -> Any:
    try:
        client = connections.get(name)
    except Exception:  # not configured in this process (no replica, SQLite, closed)
        return None
    return getattr(client, "_pool", None)


def sample_pools() -> None:
    for name, label in POOLS:
        pool = _pool_of(name)
        if pool is None:
            continue
        size, idle = pool.get_size(), pool.get_idle_size()
        # asyncpg keeps its waiters in the queue's getters (models.db.asyncpg_fair too).
        getters = getattr(pool._queue, "_getters", ())
        POOL_SIZE.labels(label).set(size)
        POOL_IN_USE.labels(label).set(size - idle)
        POOL_WAITING.labels(label).set(sum(1 for g in getters if not g.done()))


def sync_process() -> None:
    """This process's figures into the shared metrics: pools, statements, query paths,
    password checks and push counters."""
    sample_pools()
    for kind, sent in STATEMENTS.snapshot().items():
        _CARRIED.carry(("statements", kind), sent, DB_STATEMENTS.labels(kind))
    for path, done in list(QUERY_PATHS.items()):
        _CARRIED.carry(("paths", path), done, GRAPHQL_QUERIES.labels(path))
    _CARRIED.carry(("passwords", ""), PASSWORD_CHECKS.value, PASSWORD_CHECKS_TOTAL)
    for (name, provider), value in COUNTS.snapshot().items():
        if name in PUSH_COUNTERS:
            _CARRIED.carry((name, provider), value, PUSH_COUNTERS[name].labels(provider))
    for provider, is_open in list(COUNTS.breaker_open.items()):
        PUSH_CIRCUIT_OPEN.labels(provider).set(int(is_open))


@contextlib.asynccontextmanager
async def sampling(every: float = SAMPLE_SECONDS) -> AsyncIterator[None]:
    """`sync_process` every `every` seconds for the process's lifespan, so a scrape answered
    by another worker reads this one's figures at most that old."""

    async def loop() -> None:
        while True:
            try:
                sync_process()
            except Exception:  # a sample must never take the process down
                log.exception("metrics: sampling failed")
            await asyncio.sleep(every)

    try:
        async with in_background(loop(), "metrics-sampling"):
            yield
    finally:
        sync_process()  # what this worker did last still counts after it is gone


# --------------------------------------------------------------------------- the scrape


class OutboxCollector(Collector):
    """The shared outbox per provider, read by SQL at scrape time."""

    def __init__(self, gauges: Iterable[OutboxGauge]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterable[Any]:
        for attr, name, text in (
            ("pending", "push_outbox_pending", "PENDING outbox rows (quiet-hour rows included)."),
            ("due", "push_outbox_due", "PENDING outbox rows due now."),
            (
                "oldest_due_age_seconds",
                "push_outbox_oldest_due_age_seconds",
                "Seconds the longest-waiting due row has been due.",
            ),
        ):
            family = GaugeMetricFamily(name, text, labels=["provider"])
            for g in self.gauges:
                family.add_metric([g.provider], float(getattr(g, attr)))
            yield family


def exposition(gauges: Iterable[OutboxGauge]) -> bytes:
    """Every process's figures (or this one's, without a multiprocess directory) and the
    outbox's, in the text format."""
    outbox = CollectorRegistry(auto_describe=False)
    outbox.register(OutboxCollector(gauges))
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY) + generate_latest(outbox)
    forget_dead_processes(path)
    shared = CollectorRegistry()
    multiprocess.MultiProcessCollector(shared, path)
    return generate_latest(shared) + generate_latest(outbox)


class MetricsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.metrics_token
        self.off = not self.token and settings.production and not settings.metrics_public
        if self.off:
            log.warning(
                "GET /metrics is off: production needs METRICS_TOKEN (or METRICS_PUBLIC=on)"
            )

    def _authorized(self, request: Request) -> bool:
        if not self.token:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    async def handle(self, request: Request) -> Response:
        if self.off:
            return PlainTextResponse(
                "metrics are off: production serves them with METRICS_TOKEN set\n", status_code=403
            )
        if not self._authorized(request):
            return PlainTextResponse(
                "unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        sync_process()  # before the gauges' own statements
        try:
            gauges = await outbox_gauges()
        except Exception:  # the counters are still worth scraping with the database down
            log.exception("metrics: outbox gauges failed")
            gauges = []
        return Response(exposition(gauges), media_type=CONTENT_TYPE)
