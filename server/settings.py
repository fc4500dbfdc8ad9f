"""Settings from the environment, read once at start-up."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from models.rules.sign_in import LoginLimits
from notifications.config import PushConfig
from notifications.flow import parse_rate_limits
from schema.request_limits import DOCUMENT_LIMITS

DEV_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """A setting that makes it unsafe or impossible to start."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    # A read replica for the supervisor figures and the exports (models.db.replica); None: the
    # primary serves them too.
    database_read_url: str | None = None
    environment: str = "development"
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Strict-Transport-Security's max-age on HTTPS answers (server.security); 0: not sent.
    hsts_max_age: int = 0
    data_dir: Path = Path("var")
    max_query_depth: int = 12
    max_query_tokens: int = 1000  # schema.request_limits.Limits says why
    max_aliases: int = 30
    # Push (docs/design.md section 9): the gateways, whether this process drains the outbox
    # (PUSH_DISPATCHER=off, or `serve --no-dispatcher`, when `worker` processes do it), its
    # batch size, per-gateway rates in messages/s, and the bearer token of GET /metrics.
    push: PushConfig = field(default_factory=PushConfig)
    push_dispatcher: bool = True
    # The periodic jobs (server.jobs) in this process (PERIODIC_JOBS=off, or
    # `serve --no-jobs`, when `worker` processes run them).
    periodic_jobs: bool = True
    push_batch_size: int = 500
    push_rate_limits: tuple[tuple[str, float | None], ...] = ()
    # Calls per minute per gateway (PUSH_CALL_LIMITS; JPush 600 unless set), how long a claim
    # lasts unrenewed (PUSH_LEASE_SECONDS) and how long a round starts calls (PUSH_ROUND_SECONDS).
    push_call_limits: tuple[tuple[str, float | None], ...] = ()
    push_lease_seconds: float = 30.0
    push_round_seconds: float = 10.0
    metrics_token: str = field(default="", repr=False)
    # Production serves /metrics only with the token, unless METRICS_PUBLIC=on (a port only
    # the scraper reaches).
    metrics_public: bool = False
    # How often a live-inbox subscription re-reads the inbox, and a live socket re-checks its
    # session, without a wake-up (seconds).
    live_recheck_seconds: float = 15.0
    # Live sockets (server.live_socket): per account (a phone, a tablet and a few console tabs,
    # with room to reconnect) and per client address (a county office behind one NAT address).
    live_sockets_per_account: int = 10
    live_sockets_per_address: int = 200
    # CACHE_SECONDS: how long this process keeps a calendar, a region's policy or a signed-in
    # session it cached unless it hears of a change; None: 30, 30 and 60 seconds.
    cache_seconds: float | None = None
    # Sign-in throttling (models.rules.sign_in): LOGIN_FREE_FAILURES per (username, address)
    # before delays start, LOGIN_MAX_DELAY_MINUTES their cap, LOGIN_ADDRESS_MAX_FAILURES per
    # address in 15 minutes, LOGIN_ACCOUNT_MAX_FAILURES per username in an hour (0: off).
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    # Slow clients (server.http_protocol): the request head must arrive within
    # REQUEST_HEAD_TIMEOUT seconds; a body may pause REQUEST_BODY_TIMEOUT seconds and must average
    # REQUEST_BODY_MIN_RATE bytes/s after that (0: no rate); an address may hold
    # PENDING_CONNECTIONS_PER_ADDRESS connections whose request has not fully arrived (0: off).
    request_head_timeout: float = 20.0
    request_body_timeout: float = 30.0
    request_body_min_rate: int = 1024
    pending_connections_per_address: int = 32
    # Uploads not yet linked to anything, per account (models.ops.attachments.UploadQuota), and
    # how long they are kept before the scheduler deletes them.
    upload_quota_files: int = 100
    upload_quota_bytes: int = 200 * 1024 * 1024
    unlinked_upload_grace: timedelta = timedelta(hours=24)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def document_limits(self) -> dict[str, int]:
        """The value each document-limit code's message names."""
        return {
            "QUERY_TOO_DEEP": self.max_query_depth,
            "TOO_MANY_ALIASES": self.max_aliases,
            "TOO_MANY_TOKENS": self.max_query_tokens,
            **DOCUMENT_LIMITS,  # schema.request_limits: fixed, checked before validation
        }

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


# An origin as browsers send it: scheme, host and an optional port; nothing after.
_ORIGIN = re.compile(r"^https?://[^/?#\s:]+(:\d{1,5})?$", re.IGNORECASE)
HSTS_PRODUCTION_DEFAULT = 365 * 24 * 3600


def _cors_origins(raw: str, *, production: bool) -> tuple[str, ...]:
    """CORS_ORIGINS: origins allowed to call from a browser, comma-separated. `*` (any site)
    only in development; an origin with a path never matches, so it is refused."""
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            if production:
                raise SettingsError("CORS_ORIGINS may not be * in production: list the origins")
        elif not _ORIGIN.match(origin):
            raise SettingsError(f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port])")
    return origins


def _hsts_max_age(raw: str | None, *, production: bool) -> int:
    if raw is None or not raw.strip():
        return HSTS_PRODUCTION_DEFAULT if production else 0
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"HSTS_MAX_AGE must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise SettingsError("HSTS_MAX_AGE must be 0 (off) or more")
    return value


def _switch(env: dict[str, str], name: str, default: str = "on") -> bool:
    """An on/off setting, `default` unless set."""
    value = env.get(name, default).strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise SettingsError(f"{name} must be on or off, not {value!r}")
    return value in ("on", "true", "1")


def _whole(env: dict[str, str], name: str, default: int, least: int = 1) -> int:
    """A whole-number setting of at least `least`, `default` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < least:
        raise SettingsError(f"{name} must be a whole number of at least {least}, not {raw!r}")
    return int(raw)


def _login_limits(env: dict[str, str]) -> LoginLimits:
    default = LoginLimits()
    number = partial(_whole, env)
    return LoginLimits(
        free_failures=number("LOGIN_FREE_FAILURES", default.free_failures, 1),
        max_delay=timedelta(
            minutes=number("LOGIN_MAX_DELAY_MINUTES", default.max_delay // timedelta(minutes=1), 1)
        ),
        address_max_failures=number("LOGIN_ADDRESS_MAX_FAILURES", default.address_max_failures, 1),
        account_max_failures=number("LOGIN_ACCOUNT_MAX_FAILURES", default.account_max_failures, 0),
    )


def _positive(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not 0 < value < float("inf"):  # NaN too
        raise SettingsError(f"{name} must be more than 0")
    return value


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
    origins = _cors_origins(env.get("CORS_ORIGINS", ""), production=environment == "production")
    hsts_max_age = _hsts_max_age(env.get("HSTS_MAX_AGE"), production=environment == "production")
    try:
        push = PushConfig.from_env(env)
        rates = tuple(parse_rate_limits(env.get("PUSH_RATE_LIMITS", "")).items())
        calls = tuple(
            parse_rate_limits(env.get("PUSH_CALL_LIMITS", ""), "PUSH_CALL_LIMITS").items()
        )
        batch_size = int(env.get("PUSH_BATCH_SIZE", "500"))
    except ValueError as err:
        raise SettingsError(str(err)) from None
    if batch_size < 1:
        raise SettingsError("PUSH_BATCH_SIZE must be at least 1")
    per_account = _whole(env, "LIVE_SOCKETS_PER_ACCOUNT", Settings.live_sockets_per_account)
    per_address = _whole(env, "LIVE_SOCKETS_PER_ADDRESS", Settings.live_sockets_per_address)
    dispatcher = _switch(env, "PUSH_DISPATCHER")
    jobs = _switch(env, "PERIODIC_JOBS")
    return Settings(
        database_url=database_url,
        database_read_url=env.get("DATABASE_READ_URL", "").strip() or None,
        secret_key=secret,
        environment=environment,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        cors_origins=origins,
        hsts_max_age=hsts_max_age,
        data_dir=data_dir,
        push=push,
        push_dispatcher=dispatcher,
        periodic_jobs=jobs,
        push_batch_size=batch_size,
        push_rate_limits=rates,
        push_call_limits=calls,
        push_lease_seconds=_positive(env, "PUSH_LEASE_SECONDS", 30),
        push_round_seconds=_positive(env, "PUSH_ROUND_SECONDS", 10),
        metrics_token=env.get("METRICS_TOKEN", "").strip(),
        metrics_public=_switch(env, "METRICS_PUBLIC", "off"),
        live_recheck_seconds=float(env.get("LIVE_RECHECK_SECONDS", "15")),
        live_sockets_per_account=per_account,
        live_sockets_per_address=per_address,
        cache_seconds=_cache_seconds(env.get("CACHE_SECONDS", "")),
        login_limits=_login_limits(env),
        request_head_timeout=_positive(env, "REQUEST_HEAD_TIMEOUT", 20),
        request_body_timeout=_positive(env, "REQUEST_BODY_TIMEOUT", 30),
        request_body_min_rate=_whole(env, "REQUEST_BODY_MIN_RATE", 1024, 0),
        pending_connections_per_address=_whole(env, "PENDING_CONNECTIONS_PER_ADDRESS", 32, 0),
        upload_quota_files=_whole(env, "UPLOAD_QUOTA_FILES", 100),
        upload_quota_bytes=_whole(env, "UPLOAD_QUOTA_MB", 200) * 1024 * 1024,
        unlinked_upload_grace=timedelta(hours=_positive(env, "UNLINKED_UPLOAD_HOURS", 24)),
    )


def _cache_seconds(raw: str) -> float | None:
    if not raw.strip():
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # NaN too
        raise SettingsError(f"CACHE_SECONDS must be a number of seconds above 0, not {raw!r}")
    return seconds
