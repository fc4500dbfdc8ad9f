"""The SQLite engine models.db.config configures: tortoise's SQLite client with every statement counted
(models.db.sql_count) through the sqlite3 trace callback. Its own module because tortoise's
migrations pick their SQL dialect by the client class's module name ("sqlite" in it)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.sqlite import SqliteClient, SqliteClientWithRegexpSupport

from models.db.sql_count import STATEMENTS


def _utc_text(value: datetime) -> str:
    """A moment as SQLite stores it: UTC text. Tortoise's executor writes a datetime's
    isoformat with whatever offset it carries, and SQLite compares the text as text, so a bound
    in +08:00 (the start of a Shanghai day, "2026-12-08 00:00:00+08:00") sorted after the
    moments of that day's first eight hours ("2026-12-07 16:30:00+00:00"): filters by day lost
    them (an export of a day, the visits of a period)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(" ")


# Registered after tortoise's own adapter (imported with its client above), which it replaces.
sqlite3.register_adapter(datetime, _utc_text)


async def _traced(client: SqliteClient, create: Any, with_db: bool) -> None:
    fresh = client._connection is None
    await create(with_db)
    if fresh and client._connection is not None:
        await client._connection.set_trace_callback(STATEMENTS.count)


class CountingPlainSqliteClient(SqliteClient):
    """Tortoise's SQLite client whose connection traces every statement."""

    async def create_connection(self, with_db: bool) -> None:
        await _traced(self, super().create_connection, with_db)


class CountingSqliteClient(SqliteClientWithRegexpSupport):
    """The same with tortoise's REGEXP functions."""

    async def create_connection(self, with_db: bool) -> None:
        await _traced(self, super().create_connection, with_db)


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    """Tortoise's engine hook, as tortoise.backends.sqlite has it."""
    if db_info.get("credentials", {}).get("install_regexp_functions"):
        return CountingSqliteClient
    return CountingPlainSqliteClient
