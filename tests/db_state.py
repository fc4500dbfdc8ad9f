"""The database's state as one hash per table, to show that a call changed nothing.

Shared by the fuzz test and the access matrix: a refused call must leave every table as it was,
except the tables a refusal is meant to write."""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection

from tests.conftest import IS_POSTGRES

# Tables a refused call may write by design: the audit log records refusals; a failed
# sign-in counts against the account and the address; a reused refresh token revokes its
# family.
ALWAYS_ALLOWED = frozenset({"audit_log"})
ALLOWED_BY_FIELD = {
    "login": frozenset({"app_user", "login_throttle", "login_pair_throttle", "refresh_token"}),
    "refreshToken": frozenset({"refresh_token"}),
}


def _tables() -> list[str]:
    return sorted(m._meta.db_table for m in Tortoise.apps["models"].values())


async def _sqlite_md5(conn: Any) -> None:
    """SQLite has no hash function in SQL: give this test process's connection one, so that a
    snapshot is one statement there too (reading every row into Python took 65–500 ms a
    snapshot once the working-day index was filled)."""
    raw = conn._connection  # the aiosqlite connection under tortoise's client
    if id(raw) in _with_md5:
        return
    await raw.create_function(
        "md5",
        1,
        lambda text: hashlib.md5((text or "").encode(), usedforsecurity=False).hexdigest(),
        deterministic=True,
    )
    _with_md5.add(id(raw))


async def _sqlite_snapshot_sql(conn: Any) -> str:
    parts = []
    for table in _tables():
        columns = [
            c["name"] for c in await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
        ]
        row = " || ',' || ".join(f'quote("{c}")' for c in columns)
        parts.append(
            f"SELECT '{table}' AS t, md5(group_concat(r, char(10))) AS h FROM "
            f'(SELECT {row} AS r FROM "{table}" ORDER BY r)'
        )
    return " UNION ALL ".join(parts)


_sqlite_sql: str | None = None
_with_md5: set[int] = set()


async def snapshot() -> dict[str, str]:
    """Each table's rows, hashed (order-independent)."""
    global _sqlite_sql
    conn = get_connection("default")
    if IS_POSTGRES:
        # One round trip: PostgreSQL hashes each table's rows in their text form.
        sql = " UNION ALL ".join(
            f"SELECT '{t}' AS t, (SELECT md5(coalesce(string_agg(r::text, chr(10) "
            f"ORDER BY r::text), '')) FROM \"{t}\" r) AS h"
            for t in _tables()
        )
        return {row["t"]: row["h"] for row in await conn.execute_query_dict(sql)}
    await _sqlite_md5(conn)
    if _sqlite_sql is None:
        _sqlite_sql = await _sqlite_snapshot_sql(conn)
    rows = await conn.execute_query_dict(_sqlite_sql)
    return {row["t"]: row["h"] or "" for row in rows}


def changed(before: dict[str, str], after: dict[str, str], allowed: frozenset[str]) -> set[str]:
    return {t for t in before if before[t] != after.get(t) and t not in allowed}
