"""Shared fixtures: one real database per pytest process (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), migrated with the committed migrations, emptied before each test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection

from models.db import migrate_database, normalize_db_url, tortoise_config

_TMP = Path(tempfile.mkdtemp(prefix="enterprise-desk-tests-"))
DB_URL = normalize_db_url(
    os.environ.get("TEST_DATABASE_URL") or f"sqlite://{_TMP / 'test.sqlite3'}"
)
IS_POSTGRES = DB_URL.startswith("postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL' if IS_POSTGRES else 'SQLite'}"


async def _reset_postgres_schema() -> None:
    # A fresh schema each run, so the committed migrations are what builds it.
    import asyncpg

    conn = await asyncpg.connect(DB_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def _database() -> AsyncIterator[str]:
    if IS_POSTGRES:
        try:
            await _reset_postgres_schema()
        except (OSError, Exception) as exc:  # noqa: BLE001 - report any connect failure
            pytest.exit(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc}", returncode=3)
    await migrate_database(DB_URL)
    await Tortoise.init(config=tortoise_config(DB_URL))
    yield DB_URL
    await Tortoise.close_connections()


async def truncate_all() -> None:
    conn = get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
    if IS_POSTGRES:
        await conn.execute_script(
            f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
        )
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f"DELETE FROM {t};" for t in tables)
            + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;"
        )


@pytest.fixture
async def db(_database: str) -> str:
    """An empty, migrated database for one test."""
    await truncate_all()
    return _database
