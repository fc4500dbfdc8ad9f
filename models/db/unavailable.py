"""Telling "the database is away" (PostgreSQL restarting, a failover, the network) from every
other failure, so callers answer it as a temporary condition (HTTP 503, try again) rather
than as a fault of the server or of the request."""

from __future__ import annotations

import asyncpg

_AWAY = (
    asyncpg.PostgresConnectionError,  # 08xxx, and the connection lost mid-statement
    asyncpg.exceptions.AdminShutdownError,  # 57P01: shutting down, sessions terminated
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up / shutting down
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: full, for now
    ConnectionError,  # refused or reset sockets; tortoise's DBConnectionError
)


def _away(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.exceptions.DataError):  # an InterfaceError about a value
        return False
    if isinstance(exc, _AWAY):
        return True
    text = str(exc)
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        # The server's farewell (FATAL 57P01) reached a connection idle in the pool: its first
        # use finds the protocol still consuming that error (the pool drops it at its EOF).
        return "another operation" in text
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "the underlying connection is closed", "pool is closing"
        return "closed" in text or "closing" in text
    # 55000, what a database with ALLOW_CONNECTIONS false answers (a maintenance window)
    return isinstance(exc, asyncpg.exceptions.ObjectNotInPrerequisiteStateError) and (
        "accepting connections" in text
    )


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from or while handling, says the database
    cannot be reached right now."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _away(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
