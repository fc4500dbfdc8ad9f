"""Shared fixtures: one real database per pytest process (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), migrated with the committed migrations, emptied before each test.
On PostgreSQL it is a database this process makes and drops (tests.owned_databases): the one
TEST_DATABASE_URL names is only connected to."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection

from models.db.config import migrate_database, normalize_db_url, tortoise_config
from models.ops.policy import invalidate_policy_cache
from models.ops.work_calendar import invalidate_calendar_cache
from models.rules.passwords import use_test_cost
from models.session_cache import SESSIONS
from tests.owned_databases import (
    admin_connect,
    create_owned,
    database_name,
    drop_abandoned,
    drop_owned,
    run_url,
)

_TMP = Path(tempfile.mkdtemp(prefix="enterprise-desk-tests-"))
# The database TEST_DATABASE_URL names: PostgreSQL's server, role and a database to connect to.
GIVEN_URL = normalize_db_url(os.environ.get("TEST_DATABASE_URL") or "")
# Test databases are thrown away: commits need not wait for the disk (SQLite synchronous=OFF,
# PostgreSQL synchronous_commit off, tests.owned_databases). What the tests check is unchanged.
DB_URL = run_url(GIVEN_URL) if GIVEN_URL else f"sqlite://{_TMP / 'test.sqlite3'}?synchronous=OFF"
IS_POSTGRES = DB_URL.startswith("postgres")
# Test users' passwords are hashed at argon2's cheapest cost (see use_test_cost).
use_test_cost()


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL' if IS_POSTGRES else 'SQLite'}"


async def _create_run_database() -> None:
    # A new database each run, so the committed migrations are what builds it.
    admin = await admin_connect(GIVEN_URL)
    try:
        await drop_abandoned(admin)
        await create_owned(admin, database_name(DB_URL))
    finally:
        await admin.close()


async def _drop_run_databases() -> None:
    from tests.processes import drop_side_databases

    await drop_side_databases()
    admin = await admin_connect(GIVEN_URL)
    try:
        await drop_owned(admin, database_name(DB_URL))
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def _database() -> AsyncIterator[str]:
    if IS_POSTGRES:
        try:
            await _create_run_database()
        except (OSError, Exception) as exc:
            pytest.exit(f"PostgreSQL at TEST_DATABASE_URL: {exc}", returncode=3)
    try:
        await migrate_database(DB_URL)
        await Tortoise.init(config=tortoise_config(DB_URL))
        yield DB_URL
        await Tortoise.close_connections()
    finally:
        if IS_POSTGRES:
            await _drop_run_databases()  # tests own what they make, and only that


async def truncate_all() -> None:
    conn = get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
    if IS_POSTGRES:
        # TRUNCATE does not fire the audit log's UPDATE/DELETE trigger.
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        # The audit log's triggers refuse DELETE: lifted for the reset, then put back as made.
        triggers = await conn.execute_query_dict(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f"DROP TRIGGER {t['name']};" for t in triggers)
            + "".join(f"DELETE FROM {t};" for t in tables)
            + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;"
            + "".join(f"{t['sql']};" for t in triggers)
        )


@pytest.fixture
async def db(_database: str) -> str:
    """An empty, migrated database for one test."""
    await truncate_all()
    invalidate_calendar_cache()
    invalidate_policy_cache()
    SESSIONS.forget_all()  # the emptied tables' announcement may still be on its way
    return _database


# --- the real server: uvicorn on a loopback port, in this test process's event loop ---

import asyncio  # noqa: E402
import socket  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from server.app import create_app  # noqa: E402
from server.http_protocol import http_protocol  # noqa: E402
from server.live_socket import MAX_MESSAGE_BYTES  # noqa: E402
from server.settings import Settings  # noqa: E402

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_server(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task, str]:
    port = _free_port()
    app = create_app(settings, init_db=False)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            http=http_protocol(settings),  # as `enterprise-desk serve` runs it
            ws_max_size=MAX_MESSAGE_BYTES,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


async def stop_server(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def server_url(_database: str) -> AsyncIterator[str]:
    settings = Settings(database_url=_database, secret_key=TEST_SECRET)
    server, task, url = await start_server(settings)
    yield url
    await stop_server(server, task)


class GraphQLClient:
    """Speaks GraphQL over HTTP to the running server, as the app does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None
        self.language: str | None = None

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = {"Accept": "application/graphql-response+json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.language:
            h["Accept-Language"] = self.language
        h.update(headers or {})
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=h
        )

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        """Run an operation that must execute; returns `data`, failing on any GraphQL error."""
        resp = await self.post(query, variables)
        body = resp.json()
        assert resp.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def login(self, username: str, password: str) -> dict:
        data = await self(
            """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
                 accessToken refreshToken user { id username } errors { code field message } } }""",
            {"u": username, "p": password},
        )
        payload = data["login"]
        assert payload["errors"] == [], payload["errors"]
        self.token = payload["accessToken"]
        return payload


@pytest.fixture
async def gql(db: str, server_url: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        yield GraphQLClient(http)


# --- files: uploads kept in a folder of the test's own -------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Path]:
    """Each test keeps its files in its own folder (the server shares this process)."""
    from models.ops import attachments

    previous = attachments.storage_root()
    root = tmp_path / "files"
    attachments.configure_storage(root)
    yield root
    attachments.configure_storage(previous)


@pytest.fixture
async def world(gql: GraphQLClient, storage: Path) -> Any:
    """The small county of tests.factories, with files stored per test."""
    from tests.factories import build_world

    return await build_world()


@pytest.fixture
async def http(gql: GraphQLClient) -> AsyncIterator[httpx.AsyncClient]:
    yield gql.http
