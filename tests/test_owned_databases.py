"""The test command owns its databases: on PostgreSQL a run makes its own, drops them when it
ends, and never changes or drops a database it did not make (tests.owned_databases)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from models.db.config import libpq_dsn
from tests.conftest import DB_URL, GIVEN_URL, IS_POSTGRES
from tests.owned_databases import (
    MARK,
    admin_connect,
    create_owned,
    database_name,
    drop_abandoned,
    drop_owned,
    our_mark,
    with_database,
)

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="SQLite's database is a file of the run")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    conn = await admin_connect(GIVEN_URL)
    yield conn
    await conn.close()


@pytest.fixture
async def users_database(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A database someone else made, holding their data (unmarked, as a user's would be)."""
    name = f"{database_name(DB_URL)}_users{secrets.token_hex(2)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(GIVEN_URL, name)
    conn = await asyncpg.connect(libpq_dsn(url))
    await conn.execute("CREATE TABLE ledger (entry text); INSERT INTO ledger VALUES ('keep me')")
    await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _ledger(url: str) -> list[str]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        return [r["entry"] for r in await conn.fetch("SELECT entry FROM ledger")]
    finally:
        await conn.close()


async def _names(admin: asyncpg.Connection, prefix: str) -> list[str]:
    rows = await admin.fetch(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname", prefix
    )
    return [r["datname"] for r in rows]


async def test_the_run_works_in_a_database_of_its_own_marked_as_this_process(db, admin):
    assert database_name(DB_URL) != database_name(GIVEN_URL)
    mark = await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        database_name(DB_URL),
    )
    assert mark == our_mark()


async def test_a_database_it_did_not_make_is_neither_reused_nor_dropped(admin, users_database):
    name = database_name(users_database)
    with pytest.raises(RuntimeError, match="was not made by this test run"):
        await create_owned(admin, name)
    await drop_owned(admin, name)
    assert await _ledger(users_database) == ["keep me"]


async def test_only_databases_of_runs_that_are_gone_are_cleared_away(admin):
    base = f"{database_name(DB_URL)}_left{secrets.token_hex(2)}"
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()  # a pid that no longer runs
    marks = {
        f"{base}_killed": f"{MARK} host={socket.gethostname()} pid={gone.pid}",
        f"{base}_alive": our_mark(),
        f"{base}_elsewhere": f"{MARK} host=another-machine pid={gone.pid}",
    }
    try:
        for name, mark in marks.items():
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{mark}'")
        dropped = await drop_abandoned(admin)
        assert f"{base}_killed" in dropped
        assert await _names(admin, base) == [f"{base}_alive", f"{base}_elsewhere"]
    finally:
        for name in marks:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_whole_pytest_run_leaves_the_named_database_as_it_found_it(admin, users_database):
    """A user's TEST_DATABASE_URL names a database holding their data: the run connects to it,
    makes and drops its own, and the data is still there."""
    env = {**os.environ, "TEST_DATABASE_URL": users_database}
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_harness_smoke.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert await _ledger(users_database) == ["keep me"]
    assert await _names(admin, f"{database_name(users_database)}_") == []
