"""Tortoise configuration for a database URL; the one place that lists model modules."""

from __future__ import annotations

from typing import Any

MODEL_MODULES = ["models.org", "models.enterprises"]
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


async def migrate_database(db_url: str) -> None:
    """Apply every committed migration; a no-op when the database is current."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    try:
        await migrate(config=tortoise_config(db_url))
    finally:
        await Tortoise.close_connections()
