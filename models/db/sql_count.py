"""A process-wide count of the SQL statements sent to the database, for `GET /metrics`
(`db_statements_total`) and the bench's SQL-per-request figure.

Counted where the driver sends them, so nothing that reaches the database is missed, whatever
layer issued it (tortoise's executors, raw SQL, transactions):
- PostgreSQL: every pool connection is a `CountingConnection`, an asyncpg connection whose
  statement-sending methods count before they send;
- SQLite: the sqlite3 trace callback of tortoise's connection (models.db.sqlite_counted).
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

    # Set when a statement ended other than by the server's answer (the task was cancelled
    # mid-statement, e.g. graphql-core cancelling sibling fields after an error): the protocol
    # may have left a parsed statement without its Sync, holding its locks.
    _interrupted = False

    def get_reset_query(self) -> str:
        """Nothing to send when tortoise returns a clean connection to the pool: asyncpg's
        default (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET ALL) was one more round trip
        per query, and our pooled connections hold no such session state: locks are
        transaction-scoped (pg_advisory_xact_lock), settings transaction-local
        (set_config(…, true)), LISTEN and the migration lock use their own connections. An open
        transaction is still rolled back on release (asyncpg does that apart from this). After
        an interrupted statement the default reset runs: it brings the protocol back to idle
        (without it a cancelled prepare kept its table locks, and a TRUNCATE waited forever)."""
        if self._interrupted:
            self._interrupted = False
            return str(super().get_reset_query())
        return ""

    async def _sent(self, call: Any) -> Any:
        try:
            return await call
        except asyncpg.PostgresError:
            raise  # the server answered: the protocol is back in step
        except BaseException:
            self._interrupted = True
            raise

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await self._sent(super().execute(query, *args, **kwargs))

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(command)  # one statement, its argument sets pipelined
        return await self._sent(super().executemany(command, args, **kwargs))

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await self._sent(super().fetch(query, *args, **kwargs))

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await self._sent(super().fetchval(query, *args, **kwargs))

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await self._sent(super().fetchrow(query, *args, **kwargs))

    async def fetchmany(self, query: str, args: Any, **kwargs: Any) -> Any:
        STATEMENTS.count(query)
        return await self._sent(super().fetchmany(query, args, **kwargs))
