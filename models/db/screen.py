"""The connection the mobile screens' row reads go through on PostgreSQL (models.db.row_query):
a second pool on the primary whose sessions use generic plans for prepared statements.

Each list statement of the screens is prepared once per pooled connection (asyncpg's statement
cache) and run again and again with other values. With PostgreSQL's default plan cache mode it
was planned afresh on every execution: its custom plans looked cheaper than the generic one, so
the generic plan was never chosen. Planning the demand list (a subquery and seven joins) cost
more than running it: about 3 ms of the database's CPU per handler-list request against
0.7 ms with generic plans (bench/cpu_per_request.py). The statements it serves pick rows by
keys and indexed columns, which generic plans serve as well; everything else (writes,
transactions, the supervisor figures and exports, the scheduler) keeps the default pool and
custom plans.

Kept out of tortoise's connection config for the reason models.db.replica gives. Reads inside a
transaction stay on the transaction's connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from models.db.config import normalize_db_url
from models.db.replica import make_client

SCREEN_CONNECTION = "screens"
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}
_client: BaseDBAsyncClient | None = None


@contextlib.asynccontextmanager
async def screen_reads(db_url: str) -> AsyncIterator[None]:
    """The screens' pool open for the duration (a process's lifespan), on PostgreSQL."""
    global _client
    previous, client = _client, None
    if normalize_db_url(db_url).startswith("postgres"):
        client = make_client(db_url, SCREEN_CONNECTION, GENERIC_PLANS)
        await client.create_connection(with_db=True)
    _client = client
    try:
        yield
    finally:
        _client = previous
        if client is not None:
            await client.close()


def screen_connection() -> BaseDBAsyncClient:
    """The screens' pool, unless a transaction is open (then its connection) or the pool is not
    (SQLite, the command line, tests without a server): the default connection."""
    current = connections.get("default")
    if _client is None or isinstance(current, TransactionalDBClient):
        return current
    return _client
