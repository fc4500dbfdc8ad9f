"""A process-wide count of the SQL statements sent to the database, for `GET /metrics`
(`db_statements_total`) and the bench's SQL-per-request figure.

Counted where the driver sends them, so nothing that reaches the database is missed, whatever
layer issued it (tortoise's executors, raw SQL, transactions):
- PostgreSQL: every pool connection is a `CountingConnection`, an asyncpg connection whose
  statement-sending methods count before they send;
- SQLite: the sqlite3 trace callback of tortoise's connection (models.sqlite_counted).
Transaction control (BEGIN, COMMIT, ROLLBACK, savepoints) is counted apart from the queries;
the connections send no reset query on release to the pool (get_reset_query). Prepared
statements (`Connection.prepare`), cursors and COPY are not counted; requests use none.

The cost is well under a microsecond per statement, so it is always on."""

from __future__ import annotations

import threading
from typing import Any

import asyncpg

# Statement openings that control a transaction or reset a pooled connection.
_CONTROL = (
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "END",
)


class StatementCounter:
    """Queries and control statements sent by this process."""

    def __init__(self) -> None:
        self.queries = 0
        self.control = 0
        self._lock = threading.Lock()  # SQLite's trace runs in aiosqlite's thread

    def count(self, sql: str) -> None:
        with self._lock:
            if sql.lstrip().startswith(_CONTROL):
                self.control += 1
            else:
                self.queries += 1

    def snapshot(self) -> dict[str, int]:
        return {"query": self.queries, "control": self.control}


STATEMENTS = StatementCounter()


class CountingConnection(asyncpg.Connection):
    """An asyncpg connection that counts each statement it is asked to send (tortoise's
    `connection_class`). asyncpg's transactions and its reset on release to the pool go through
    `execute` too. Cheaper than asyncpg's query logger (`add_query_logger`), which builds a
    record and schedules a callback per statement: ~5 us against ~0.5 us here."""

    def get_reset_query(self) -> str:
        """Nothing to send when tortoise returns the connection to the pool: asyncpg's default
        (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET ALL) was one more round trip per
        query, and our pooled connections hold no such session state: locks are
        transaction-scoped (pg_advisory_xact_lock), settings transaction-local
        (set_config(…, true)), LISTEN and the migration lock use their own connections. An open
        transaction is still rolled back on release (asyncpg does that apart from this)."""
        return ""

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await super().execute(query, *args, **kwargs)

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(command)  # one statement, its argument sets pipelined
        return await super().executemany(command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await super().fetch(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await super().fetchval(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await super().fetchrow(query, *args, **kwargs)

    async def fetchmany(self, query: str, args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await super().fetchmany(query, args, **kwargs)
