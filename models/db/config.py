"""Tortoise configuration for a database URL; the one place that lists model modules."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MODEL_MODULES = [
    "models.tables.org",
    "models.tables.enterprises",
    "models.tables.calendar",
    "models.tables.policy",
    "models.tables.demands",
    "models.tables.visits",
    "models.tables.notifications",
    "models.tables.service_points",
    "models.tables.grants",
    "models.tables.agency",
    "models.tables.audit",
    "models.tables.work_orders",
]
MIGRATIONS_MODULE = "models.migrations"


def normalize_db_url(url: str) -> str:
    # Operators paste libpq-style URLs; tortoise names the asyncpg engine "postgres".
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


# Query parameters of DATABASE_URL that size tortoise's asyncpg pool: a plain asyncpg or libpq
# connection would send them to the server as settings, which it refuses.
POOL_PARAMS = frozenset(
    {
        "minsize",
        "maxsize",
        "max_queries",
        "max_inactive_connection_lifetime",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
        "timeout",
    }
)


def libpq_dsn(db_url: str) -> str:
    """A PostgreSQL URL as asyncpg.connect (and libpq) take it: `postgresql://`, without the
    pool's parameters."""
    parts = urlsplit(normalize_db_url(db_url).replace("postgres://", "postgresql://", 1))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in POOL_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def counted_connection(db_url: str) -> dict[str, Any]:
    """Tortoise's connection settings for the URL, with the statements counted
    (models.db.sql_count): asyncpg connections of a counting class in a pool that serves its
    waiters in turn (models.db.asyncpg_fair), SQLite a traced client."""
    from tortoise.backends.base.config_generator import expand_db_url

    from models.db.sql_count import CountingConnection

    info: dict[str, Any] = expand_db_url(normalize_db_url(db_url))
    if info["engine"] == "tortoise.backends.asyncpg":
        info["engine"] = "models.db.asyncpg_fair"
        info["credentials"]["connection_class"] = CountingConnection
    elif info["engine"] == "tortoise.backends.sqlite":
        info["engine"] = "models.db.sqlite_counted"
    return info


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": counted_connection(db_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For tortoise's own CLI (`tortoise -c models.db.config.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


# Several processes may start at once against one database (`serve --workers N`, `worker`,
# `demo`): one migrates, and writes what start-up writes, at a time.
_MIGRATION_LOCK_KEY = 7_201_355


def _lock_sqlite_file(url: str) -> IO[str] | None:
    """Wait for, then hold, the start-up lock of a SQLite database: a file beside it.
    SQLite's own locks are POSIX record locks on the database file, which closing any other
    descriptor of that file would drop: hence a file of our own."""
    from tortoise.backends.base.config_generator import expand_db_url

    path = expand_db_url(url)["credentials"]["file_path"]
    if path == ":memory:":
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    held = open(f"{path}.migrate-lock", "a")  # noqa: SIM115 - held until the migrations end
    fcntl.flock(held, fcntl.LOCK_EX)
    return held


async def announce(channel: str) -> None:
    """Tell every process listening on `channel` (server.live) that shared state changed, on
    PostgreSQL; with SQLite there is one process, which has already updated its own."""
    from tortoise import connections

    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_notify($1, '')", [channel])


@contextlib.asynccontextmanager
async def one_process_at_a_time(db_url: str) -> AsyncIterator[None]:
    """Held by one process at a time of all those on this database: on PostgreSQL an advisory
    lock, on SQLite a lock file. Without it, `serve` and `demo` started at once on a new
    SQLite file both created its tables ("table … already exists"), and two workers of
    `serve --workers 2` both rebuilding the working-day index at start made one fail
    ("database is locked": SQLite refuses at once a reader turning writer while another
    writes), which stopped the whole server."""
    url = normalize_db_url(db_url)
    if url.startswith("postgres"):
        import asyncpg

        lock = await asyncpg.connect(libpq_dsn(url))
        try:
            await lock.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
            yield
        finally:
            await lock.close()  # closing the session releases the advisory lock
    elif url.startswith("sqlite"):
        held = await asyncio.to_thread(_lock_sqlite_file, url)
        try:
            yield
        finally:
            if held is not None:
                held.close()  # closing the file releases its lock
    else:
        yield


async def migrate_database(db_url: str) -> None:
    """Apply every committed migration; a no-op when the database is current."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    url = normalize_db_url(db_url)
    async with one_process_at_a_time(url):
        try:
            await migrate(config=tortoise_config(url))
        finally:
            await Tortoise.close_connections()
