"""The connection the supervisor figures and the exports read through: a second tortoise client
named "read" (a read replica) when the process opened one, else the "default" connection.

It is kept out of tortoise's connection config on purpose: with two configured connections
every `in_transaction()` without a name would have to say which one it means. Only reads that
may lag the primary by a replica's delay go through it; nothing that writes, and nothing
read to decide a write."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator

from tortoise import connections
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.transactions import in_transaction

from models.db.config import counted_connection

READ_CONNECTION = "read"
_client: BaseDBAsyncClient | None = None


def make_client(
    db_url: str, name: str, server_settings: dict[str, str] | None = None
) -> BaseDBAsyncClient:
    """What tortoise's ConnectionHandler does for a configured alias, with the statements
    counted as on "default" (and, on PostgreSQL, these session settings)."""
    info = counted_connection(db_url)
    if server_settings:
        info["credentials"]["server_settings"] = server_settings
    engine = importlib.import_module(info["engine"])
    cls = (
        engine.get_client_class(info)
        if hasattr(engine, "get_client_class")
        else engine.client_class
    )
    return cls(connection_name=name, **info["credentials"])


async def open_read_connection(db_url: str | None) -> None:
    """Open the "read" client on `db_url`; None leaves reads on "default"."""
    global _client
    await close_read_connection()
    if db_url:
        client = make_client(db_url, READ_CONNECTION)
        await client.create_connection(with_db=True)  # fail at start, not at the first figure
        _client = client


async def close_read_connection() -> None:
    global _client
    client, _client = _client, None
    if client is not None:
        await client.close()


@contextlib.asynccontextmanager
async def read_replica(db_url: str | None) -> AsyncIterator[None]:
    """The "read" client open for the duration (a process's lifespan)."""
    await open_read_connection(db_url)
    try:
        yield
    finally:
        await close_read_connection()


def read_connection() -> BaseDBAsyncClient:
    return _client if _client is not None else connections.get("default")


def lagging_connection() -> BaseDBAsyncClient | None:
    """The replica for a list whose reader may see it as old as the replica's lag; None when no
    replica is open or a transaction is (its reads stay on its connection)."""
    if _client is None or isinstance(connections.get("default"), TransactionalDBClient):
        return None
    return _client


def read_transaction() -> TransactionContext:
    """A transaction on the read connection; on "default" exactly `in_transaction()` (a
    savepoint inside the caller's transaction)."""
    return in_transaction() if _client is None else _client._in_transaction()
