"""The screens' pool (models.db.screen): on PostgreSQL the mobile screens' key-only reads go
through a second pool whose sessions plan prepared statements generically; anything inside a
transaction, and every other read, stays on the default pool."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from models.db.screen import screen_connection, screen_reads
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="a PostgreSQL session setting")


async def _mode(conn) -> str:  # type: ignore[no-untyped-def]
    rows = await conn.execute_query_dict("SHOW plan_cache_mode")
    return str(rows[0]["plan_cache_mode"])


async def test_screen_reads_plan_generically_and_transactions_keep_their_connection(db):
    async with screen_reads(db):
        assert await _mode(screen_connection()) == "force_generic_plan"
        async with in_transaction() as tx:
            # A read that decides a write sees the transaction's own changes.
            assert screen_connection() is tx
            assert await _mode(screen_connection()) == "auto"

    # Without the pool open (the command line, a worker): the default connection.
    import models.db.screen as screen_db

    saved, screen_db._client = screen_db._client, None
    try:
        assert await _mode(screen_connection()) == "auto"
    finally:
        screen_db._client = saved
