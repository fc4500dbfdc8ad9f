"""Answers while the database is away (PostgreSQL restarting, a failover): 503 with
`Retry-After` and a coded message in the client's language (DATABASE_UNAVAILABLE), never a
500 or a stack trace. asyncpg's pool replaces the connections the outage closed once the
database is back, and the LISTEN connection reconnects (server.live): no restart is needed."""

from __future__ import annotations

import logging

import asyncpg
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from models.db.unavailable import is_database_unavailable
from models.messages import message, resolve_locale

log = logging.getLogger("enterprise_desk")
CODE = "DATABASE_UNAVAILABLE"
RETRY_AFTER_SECONDS = 2


def unavailable(request: HTTPConnection, media: str = "application/json") -> Response:
    locale = resolve_locale(request.headers.get("accept-language"))
    return JSONResponse(
        {"errors": [{"message": message(CODE, locale), "extensions": {"code": CODE}}]},
        status_code=503,
        media_type=media,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def note(exc: BaseException) -> None:
    """One log line per refused request, not a traceback each."""
    log.warning("database unavailable: %s: %s", type(exc).__name__, exc)


async def _on_error(request: HTTPConnection, exc: Exception) -> Response:
    if not is_database_unavailable(exc):
        raise exc  # a real fault: the 500 page, logged with its traceback
    note(exc)
    return unavailable(request)


def database_error_handlers() -> dict[type[Exception], ExceptionHandler]:
    """Starlette exception handlers for the routes other than /graphql (uploads, files,
    exports, metrics), which handles it itself."""
    kinds: tuple[type[Exception], ...] = (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        ConnectionError,
    )
    return {kind: _on_error for kind in kinds}
