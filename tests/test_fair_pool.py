"""The PostgreSQL pool serves its waiters in turn (models.db.asyncpg_fair): a request that releases
a connection and at once asks for one again (as a request sending its next statement does)
goes behind those already waiting, instead of taking it back from under them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tortoise import connections

from models.db.asyncpg_fair import FairHolderQueue, make_fair
from models.db.config import libpq_dsn
from tests.conftest import DB_URL, IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="the asyncpg pool is PostgreSQL's")


async def test_a_released_connection_goes_to_the_longest_waiter():
    pool = make_fair(await asyncpg.create_pool(libpq_dsn(DB_URL), min_size=1, max_size=1))
    order: list[str] = []

    async def take_turn(name: str) -> None:
        async with pool.acquire() as conn:
            order.append(name)
            await conn.fetchval("SELECT 1")

    try:
        held = await pool.acquire()
        waiting = [asyncio.create_task(take_turn(n)) for n in ("first", "second", "third")]
        await asyncio.sleep(0.05)  # all three are waiting now
        assert order == []
        await pool.release(held)
        await take_turn("the releaser again")  # no pause between release and asking again
        await asyncio.gather(*waiting)
    finally:
        await asyncio.wait_for(pool.close(), 10)
    assert order == ["first", "second", "third", "the releaser again"]


async def test_a_waiter_that_gives_up_leaves_the_line():
    pool = make_fair(await asyncpg.create_pool(libpq_dsn(DB_URL), min_size=1, max_size=1))

    async def acquire() -> asyncpg.Connection:
        return await pool.acquire()

    try:
        held = await pool.acquire()
        impatient = asyncio.create_task(acquire())
        patient = asyncio.create_task(acquire())
        await asyncio.sleep(0.05)
        impatient.cancel()  # gives up while waiting
        with pytest.raises(asyncio.CancelledError):
            await impatient
        await pool.release(held)  # so the connection goes to the next in line
        conn = await asyncio.wait_for(patient, 5)
        assert await conn.fetchval("SELECT 2") == 2
        await pool.release(conn)
    finally:
        await asyncio.wait_for(pool.close(), 10)


async def test_the_servers_pools_are_fair(db):
    # The default connection's pool, as configured by models.db.config for every process.
    await connections.get("default").execute_query("SELECT 1")
    pool = connections.get("default")._pool
    assert isinstance(pool._queue, FairHolderQueue)
