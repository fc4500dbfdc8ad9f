"""What every HTTP request leaves behind: its figures in server.metrics, one JSON line on stdout
(the access log, unless ACCESS_LOG=off or `serve --no-access-log`) and its request id in the
`X-Request-ID` answer header.

The request id is the client's `X-Request-ID` when it is a sane one (1-128 letters, digits and
`-._:+=/`: a proxy's or an app's id), else a new random one. The log line holds the request id,
method, route, status, duration, and for GraphQL the user id, operation and screen and the
refusal codes of the answer: never a header, a query string, a document, variables or a body,
so no password, token or device token can reach it.

GraphQL labels are bounded: an operation counts under its name only when that name is one of
SCREENS (the app's screens) or METRICS_OPERATIONS, anything else (other names, anonymous
operations, requests refused before their document was read) under "other"; never the raw
document. Refusal codes are the machine codes of the answer's `errors` (a code that does not
look like one counts as OTHER)."""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from time import perf_counter
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError
from graphql.utilities import get_operation_ast
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.db.sql_count import IN_REQUEST, STATEMENTS
from schema.request_limits import parse_document
from server.metrics import (
    FIGURES_LATENCY,
    GRAPHQL_LATENCY,
    GRAPHQL_REQUESTS,
    GRAPHQL_STATEMENTS,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    REFUSALS,
)

OTHER = "other"
# The app's screens (bench/_screens.py sends these documents): operation name -> screen.
SCREENS: dict[str, str] = {
    "CadreHome": "cadre_home",
    "HandlerList": "handler_list",
    "DemandDetail": "demand_detail",
    "SubmitDemand": "submit_demand",
    "InboxCount": "inbox_count",
    "MyDemands": "my_demands",
    "Login": "sign_in",
    "RefreshToken": "sign_in",
}
# Root fields whose time is the figures' time (figures_query_duration_seconds).
FIGURES = frozenset(
    (
        "demandStats",
        "departmentRanking",
        "regionRanking",
        "demandTrend",
        "agencyStats",
        "visitStats",
    )
)
ROUTES = ("/graphql", "/uploads", "/metrics", "/healthz", "/readyz")
ROUTE_PREFIXES = (("/files/", "/files"), ("/exports/", "/exports"), ("/static/", "/static"))
SANE_REQUEST_ID = re.compile(rb"[-A-Za-z0-9._:+=/]{1,128}")
CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
SHORT_DOCUMENT = 8192  # characters: longer documents are read for their name, not remembered

access_log = logging.getLogger("enterprise_desk.access")
PID = os.getpid()  # the worker that answered (uvicorn's workers are spawned: set in each)


@dataclass(slots=True)
class RequestRecord:
    """What the endpoints tell about the request they answer."""

    request_id: str
    graphql: bool = False
    operation: str = OTHER
    screen: str = OTHER
    figure: str | None = None
    user_id: int | None = None
    codes: list[str] = field(default_factory=list)
    statements: list[int] = field(default_factory=lambda: [0])


CURRENT: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


def current() -> RequestRecord | None:
    return CURRENT.get()


def note_codes(codes: Iterable[object]) -> None:
    """Refusal codes of the answer (GraphQL `errors[].extensions.code`)."""
    record = CURRENT.get()
    if record is not None:
        record.codes.extend(
            c if isinstance(c, str) and CODE.fullmatch(c) else "OTHER" for c in codes
        )


def note_errors(errors: Iterable[dict[str, Any]]) -> None:
    note_codes((e.get("extensions") or {}).get("code") for e in errors)


@lru_cache(maxsize=512)
def _read_operation(
    query: str, op_name: str | None, max_tokens: int
) -> tuple[str | None, str | None]:
    """(the operation's name, the first figures field it asks for) of a document."""
    document = parse_document(query, max_tokens)
    if isinstance(document, GraphQLError):
        return None, None
    try:
        operation = get_operation_ast(document, op_name)
    except GraphQLError:
        return None, None
    if operation is None:
        return None, None
    figure = next(
        (
            s.name.value
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value in FIGURES
        ),
        None,
    )
    return (operation.name.value if operation.name else None), figure


class Labels:
    """The operation names counted by their name, each with its screen."""

    def __init__(self, extra: Iterable[tuple[str, str]] = ()) -> None:
        self.screens = {**SCREENS, **dict(extra)}

    def note(self, query: str, op_name: str | None, max_tokens: int, user_id: int | None) -> None:
        record = CURRENT.get()
        if record is None:
            return
        record.user_id = user_id
        if len(query) <= SHORT_DOCUMENT:
            name, record.figure = _read_operation(query, op_name, max_tokens)
        else:
            name = op_name
        if name is not None and name in self.screens:
            record.operation, record.screen = name, self.screens[name]


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            if SANE_REQUEST_ID.fullmatch(value):
                return value.decode()
            break
    return uuid.uuid4().hex


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    for prefix, route in ROUTE_PREFIXES:
        if path.startswith(prefix):
            return route
    return OTHER


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (a test's capture replaces it)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_access_log() -> None:
    """The access log's lines go to stdout as they are (each one JSON object)."""
    if any(isinstance(h, _Stdout) for h in access_log.handlers):
        return
    handler = _Stdout()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class Observed:
    """The ASGI middleware: request id, figures, log line. `statements_by_task`: the database
    driver counts each request's own statements (PostgreSQL, models.db.sql_count); otherwise
    (SQLite, whose statements are counted in its own thread) a request counts what the process
    sent while it ran, its neighbours' statements included."""

    def __init__(self, app: ASGIApp, *, log_lines: bool, statements_by_task: bool) -> None:
        self.app = app
        self.log_lines = log_lines
        self.by_task = statements_by_task
        self._http: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._graphql: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        if log_lines:
            configure_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(_request_id(scope))
        header = (b"x-request-id", record.request_id.encode())
        status = 500
        done = False
        before = 0 if self.by_task else _sent()
        started = perf_counter()

        def finish() -> None:
            nonlocal done
            if not done:
                done = True
                statements = record.statements[0] if self.by_task else _sent() - before
                self._observe(scope, record, status, perf_counter() - started, statements)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the answer's end leaves: whoever has read it, and scrapes next,
                # finds it counted.
                finish()
            await send(message)

        token = CURRENT.set(record)
        counting = IN_REQUEST.set(record.statements)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            IN_REQUEST.reset(counting)
            CURRENT.reset(token)
            finish()

    def _observe(
        self, scope: Scope, record: RequestRecord, status: int, took: float, statements: int
    ) -> None:
        route = route_of(scope["path"])
        http = self._http.get((route, status))
        if http is None:  # the labelled series, looked up once (their labels are bounded)
            http = self._http[route, status] = (
                HTTP_REQUESTS.labels(route, str(status)),
                HTTP_LATENCY.labels(route),
            )
        http[0].inc()
        http[1].observe(took)
        if record.graphql:
            key = (record.operation, record.screen, status)
            gql = self._graphql.get(key)
            if gql is None:
                gql = self._graphql[key] = (
                    GRAPHQL_REQUESTS.labels(key[0], key[1], str(status)),
                    GRAPHQL_LATENCY.labels(key[0], key[1]),
                    GRAPHQL_STATEMENTS.labels(key[0], key[1]),
                )
            gql[0].inc()
            gql[1].observe(took)
            gql[2].observe(statements)
            if record.figure is not None:
                FIGURES_LATENCY.labels(record.figure).observe(took)
        for refused in record.codes:
            REFUSALS.labels(refused).inc()
        if self.log_lines:
            line: dict[str, object] = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": record.request_id,
                "pid": PID,
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(took * 1000, 2),
            }
            if record.graphql:
                line["user_id"] = record.user_id
                line["operation"] = record.operation
                line["screen"] = record.screen
                line["statements"] = statements
            if record.codes:
                line["codes"] = record.codes
            access_log.info(orjson.dumps(line).decode())


def _sent() -> int:
    counts = STATEMENTS.snapshot()
    return counts["query"] + counts["control"]
