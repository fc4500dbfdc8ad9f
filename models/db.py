"""Tortoise configuration for a database URL; the one place that lists model modules."""

from __future__ import annotations

from typing import Any

MODEL_MODULES = [
    "models.org",
    "models.enterprises",
    "models.calendar",
    "models.policy",
    "models.demands",
    "models.visits",
    "models.notifications",
    "models.service_points",
    "models.agency",
]
MIGRATIONS_MODULE = "models.migrations"


def normalize_db_url(url: str) -> str:
    # Operators paste libpq-style URLs; tortoise names the asyncpg engine "postgres".
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": normalize_db_url(db_url)},
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


# For tortoise's own CLI (`tortoise -c models.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


# Several server processes may start at once against one PostgreSQL: one migrates at a time.
_MIGRATION_LOCK_KEY = 7_201_355


async def migrate_database(db_url: str) -> None:
    """Apply every committed migration; a no-op when the database is current."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    url = normalize_db_url(db_url)
    lock = None
    if url.startswith("postgres"):
        import asyncpg

        lock = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        await lock.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
    try:
        await migrate(config=tortoise_config(url))
    finally:
        await Tortoise.close_connections()
        if lock is not None:
            await lock.close()  # closing the session releases the advisory lock
