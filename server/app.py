"""The Starlette application and the lifespan that owns every long-lived resource."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from tortoise.contrib.starlette import RegisterTortoise

from models import session_cache
from models.db.config import one_process_at_a_time, tortoise_config
from models.db.replica import read_replica
from models.db.screen import screen_reads
from models.ops import policy as policy_ops
from models.ops import work_calendar
from models.ops.attachments import configure_storage
from models.ops.auth import configure_login_limits
from models.ops.policy import ensure_default_categories
from models.ops.work_day_index import refresh_work_day_index
from models.tables.org import User
from notifications.adapters.gorush import GorushGateway
from notifications.dispatcher import dispatching
from notifications.flow import Flow, limits_with_rates
from notifications.registry import make_client
from schema import Limits, build_schema, compiled_queries
from schema.live import Broker
from server.console import ROUTES as CONSOLE_ROUTES
from server.exports import ExportEndpoint
from server.files import FileEndpoints
from server.graphql_http import GraphQLEndpoint
from server.health import healthz, readyz
from server.heap import settle_heap
from server.ide import serve_asset
from server.jobs import periodic_jobs
from server.live import live_inbox
from server.live_socket import GraphQLWebSocket
from server.metrics import MetricsEndpoint, sampling
from server.observe import Observed
from server.security import SecurityHeaders
from server.settings import Settings, SettingsError, load_settings
from server.unavailable import database_error_handlers

log = logging.getLogger("enterprise_desk")


async def refuse_demo_accounts_in_production(settings: Settings) -> None:
    if settings.production and await User.filter(is_demo=True, is_active=True).exists():
        raise SettingsError(
            "demo accounts exist in this database; production refuses to start with them "
            "(disable or delete the demo users first)"
        )


def keep_cached_for(seconds: float) -> None:
    """CACHE_SECONDS: one bound for what this process caches of calendars, policies and
    sessions (on PostgreSQL a change is heard at once anyway; tests set an hour so that only
    hearing it can make it count)."""
    work_calendar.CACHE_SECONDS = seconds
    policy_ops.POLICY_CACHE_SECONDS = seconds
    session_cache.ENTRY_SECONDS = seconds


@asynccontextmanager
async def push_delivery(settings: Settings) -> AsyncIterator[httpx.AsyncClient | None]:
    """The outbox dispatcher in the background (unless PUSH_DISPATCHER=off), on one shared
    httpx client that this context owns and closes."""
    if not settings.push_dispatcher:
        log.info("push dispatcher off in this process")
        yield None
        return
    client = make_client(settings.push)
    try:
        limits = limits_with_rates(dict(settings.push_rate_limits), dict(settings.push_call_limits))
        async with dispatching(
            settings.push,
            client,
            batch_size=settings.push_batch_size,
            lease=settings.push_lease_seconds,
            round_seconds=settings.push_round_seconds,
            flow=Flow(limits),
        ) as dispatcher:
            # A gorush in async mode is said at start-up, not at the first push to it.
            checks = [
                asyncio.create_task(g.mode())
                for g in dispatcher.gateways.values()
                if isinstance(g, GorushGateway)
            ]
            try:
                yield client
            finally:
                for check in checks:
                    check.cancel()
    finally:
        await client.aclose()


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client left mid-body, or server.http_protocol cut it for sending too slowly: nobody
    reads this answer, and it is no server error (a traceback each would let anyone flood the
    log)."""
    return Response(status_code=400)


class SecuredStarlette(Starlette):
    """Starlette with server.security's headers outside everything, its error page too, and
    inside them server.observe (request id, figures, the access log line)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        observed = Observed(
            super().build_middleware_stack(),
            log_lines=self.settings.access_log,
            statements_by_task=not self.settings.embedded_db,
        )
        return SecurityHeaders(observed, hsts_max_age=self.settings.hsts_max_age)


def create_app(settings: Settings | None = None, *, init_db: bool = True) -> Starlette:
    """Build the app. `init_db=False` lets a test process that already opened the database
    share it, the HTTP stack and everything above it being the same (such a test process runs
    its own push dispatcher rounds; the app starts none)."""
    settings = settings or load_settings()
    if settings.cache_seconds is not None:
        keep_cached_for(settings.cache_seconds)
    configure_login_limits(settings.login_limits)
    limits = Limits(settings.max_query_depth, settings.max_query_tokens, settings.max_aliases)
    schema = build_schema(production=settings.production, limits=limits)
    broker = Broker(settings.live_recheck_seconds)
    compiled = compiled_queries(schema, limits, production=settings.production)
    endpoint = GraphQLEndpoint(schema, settings, compiled)
    websocket = GraphQLWebSocket(schema, settings, broker)
    files = FileEndpoints(settings)
    exports = ExportEndpoint(settings)
    metrics = MetricsEndpoint(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_storage(settings.data_dir / "files")
        if init_db:
            async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
                await refuse_demo_accounts_in_production(settings)
                async with one_process_at_a_time(settings.database_url):
                    await ensure_default_categories()
                    await refresh_work_day_index()  # the calendar SQL joins for the figures
                async with (
                    read_replica(settings.database_read_url),
                    screen_reads(settings.database_url),
                    periodic_jobs(unlinked_grace=settings.unlinked_upload_grace)
                    if settings.periodic_jobs
                    else nullcontext(),
                    push_delivery(settings),
                    live_inbox(settings.database_url, broker),
                    sampling(),
                ):
                    with websocket.sockets.watching():
                        settle_heap()
                        log.info("enterprise-desk ready (%s)", settings.environment)
                        yield
        else:
            async with (
                screen_reads(settings.database_url),
                live_inbox(settings.database_url, broker),
            ):
                with websocket.sockets.watching():
                    yield

    middleware = []
    if settings.cors_origins:
        # Bearer tokens, not cookies: no credentialed requests (allow_credentials stays off).
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept", "Accept-Language"],
                expose_headers=["Content-Disposition"],  # an export's file name
                max_age=600,
            )
        )
    return SecuredStarlette(
        settings,
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", websocket),
            Route("/uploads", files.upload, methods=["POST"]),
            Route("/files/{id}", files.download, methods=["GET"]),
            Route("/exports/{file}", exports.handle, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.handle, methods=["GET"]),
            *CONSOLE_ROUTES,  # the supervisor console (server/console.py)
            # GraphiQL's files (development only, like the page on GET /graphql).
            *(
                []
                if settings.production
                else [Route("/static/graphiql/{path:path}", serve_asset, methods=["GET"])]
            ),
        ],
        middleware=middleware,
        exception_handlers={**database_error_handlers(), ClientDisconnect: client_gone},
        lifespan=lifespan,
    )
