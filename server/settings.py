"""Settings from the environment, read once at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEV_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """A setting that makes it unsafe or impossible to start."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    environment: str = "development"
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    data_dir: Path = Path("var")
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_aliases: int = 30

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded_db(self) -> bool:
        return self.database_url.startswith("sqlite")


def _dev_secret(data_dir: Path) -> str:
    """A random key kept in the data folder, so development tokens survive a restart."""
    path = data_dir / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    environment = env.get("ENVIRONMENT", "development").strip().lower()
    if environment not in ("development", "production"):
        raise SettingsError(f"ENVIRONMENT must be development or production, not {environment!r}")
    data_dir = Path(env.get("DATA_DIR", "var"))
    database_url = env.get("DATABASE_URL") or f"sqlite://{data_dir / 'enterprise-desk.sqlite3'}"
    secret = env.get("SECRET_KEY", "")
    if environment == "production":
        if len(secret) < MIN_SECRET_LENGTH or secret in ("changeme", "secret", "dev"):
            raise SettingsError(
                f"production needs SECRET_KEY set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters"
            )
    elif not secret:
        secret = _dev_secret(data_dir)
    origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        database_url=database_url,
        secret_key=secret,
        environment=environment,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        cors_origins=origins,
        data_dir=data_dir,
    )
