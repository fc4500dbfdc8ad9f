"""`GET /metrics` in the Prometheus text format (version 0.0.4): this process's push counters,
password checks and the SQL statements it sent (models.db.sql_count), and the shared outbox gauges
(computed by SQL at scrape time).

With `METRICS_TOKEN` set, the scraper must send `Authorization: Bearer <METRICS_TOKEN>`
(Prometheus' `authorization: {credentials: ...}`), anything else gets 401. Without it the
figures are open in development, and in production only where the operator says so
(`METRICS_PUBLIC=on`: a port only the scraper reaches); otherwise production answers 403 and
says at start-up why: the server still starts, since a county that scrapes nothing should not
have to configure anything, and nothing is shown to whoever finds the port."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from models.db.sql_count import STATEMENTS, StatementCounter
from models.rules.passwords import PASSWORD_CHECKS
from notifications.metrics import COUNTS, OutboxGauge, PushCounters, outbox_gauges
from schema.compiled import QUERY_PATHS
from server.settings import Settings

log = logging.getLogger("enterprise_desk.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name in PushCounters -> (metric name, type, help)
COUNTER_METRICS: dict[str, tuple[str, str, str]] = {
    "sent": ("push_sent_total", "counter", "Messages handed to a push gateway."),
    "delivered": ("push_delivered_total", "counter", "Messages the gateway accepted."),
    "retried": ("push_retried_total", "counter", "Messages rescheduled after a retryable error."),
    "dead": (
        "push_dead_total",
        "counter",
        "Messages given up (permanent error, attempts used up, device removed).",
    ),
    "dead_token": (
        "push_dead_token_total",
        "counter",
        "Messages whose device token the gateway declared dead (device deleted).",
    ),
    "calls": ("push_gateway_calls_total", "counter", "Calls made to a push gateway."),
    "call_seconds": (
        "push_gateway_call_seconds_total",
        "counter",
        "Seconds spent in push gateway calls.",
    ),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_metrics(
    counters: PushCounters,
    gauges: Iterable[OutboxGauge],
    statements: dict[str, int] | None = None,
) -> str:
    lines: list[str] = []
    if statements is not None:
        lines += [
            "# HELP db_statements_total SQL statements this process sent to the database: "
            'queries, and apart (kind="control") transaction control and pool resets.',
            "# TYPE db_statements_total counter",
        ]
        for kind, sent in statements.items():
            lines.append(f'db_statements_total{{kind="{kind}"}} {sent}')
    lines += [
        "# HELP graphql_queries_total Queries this process executed from a compiled plan, and "
        'apart (path="strawberry") those left to graphql-core (see schema.compiled).',
        "# TYPE graphql_queries_total counter",
    ]
    for path, done in sorted(QUERY_PATHS.items()):
        lines.append(f'graphql_queries_total{{path="{path}"}} {done}')
    lines += [
        "# HELP password_checks_total Passwords this process verified with argon2 (sign-ins: "
        "against the account's hash, or the dummy one when there is none to check).",
        "# TYPE password_checks_total counter",
        f"password_checks_total {PASSWORD_CHECKS.value}",
    ]
    values = counters.snapshot()
    for key, (name, kind, text) in COUNTER_METRICS.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for (counter, provider), value in sorted(values.items()):
            if counter == key:
                lines.append(f'{name}{{provider="{_label(provider)}"}} {_number(value)}')
    lines += [
        "# HELP push_circuit_open Whether this process's breaker for the gateway is open.",
        "# TYPE push_circuit_open gauge",
    ]
    for provider, is_open in sorted(counters.breaker_open.items()):
        lines.append(f'push_circuit_open{{provider="{_label(provider)}"}} {int(is_open)}')
    rows = list(gauges)
    for attr, name, text in (
        ("pending", "push_outbox_pending", "PENDING outbox rows (quiet-hour rows included)."),
        ("due", "push_outbox_due", "PENDING outbox rows due now."),
        (
            "oldest_due_age_seconds",
            "push_outbox_oldest_due_age_seconds",
            "Seconds the longest-waiting due row has been due.",
        ),
    ):
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        for g in rows:
            lines.append(f'{name}{{provider="{_label(g.provider)}"}} {_number(getattr(g, attr))}')
    return "\n".join(lines) + "\n"


class MetricsEndpoint:
    def __init__(
        self,
        settings: Settings,
        counters: PushCounters = COUNTS,
        statements: StatementCounter = STATEMENTS,
    ) -> None:
        self.token = settings.metrics_token
        self.counters = counters
        self.statements = statements
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
        sent = self.statements.snapshot()  # before the gauges' own statements
        try:
            gauges = await outbox_gauges()
        except Exception:  # the counters are still worth scraping with the database down
            log.exception("metrics: outbox gauges failed")
            gauges = []
        return Response(render_metrics(self.counters, gauges, sent), media_type=CONTENT_TYPE)
