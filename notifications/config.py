"""Push configuration from the environment: which gateways are on, where they are, and each
one's credentials. Credentials are secrets: never logged, never shown in errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PROVIDERS = ("log", "webhook", "jpush", "gorush", "fcm", "huawei")
JPUSH_MAX_TIME_TO_LIVE = 10 * 86400


@dataclass(frozen=True)
class PushConfig:
    # Enabled adapters, e.g. ("jpush",) or ("gorush", "webhook"); "log" in development.
    providers: tuple[str, ...] = ("log",)
    # Overrides every adapter's address (an on-premise relay, or the loopback fakes in tests).
    base_url: str | None = None
    timeout_seconds: float = 10.0
    max_connections: int = 50
    jpush_app_key: str = ""
    jpush_master_secret: str = field(default="", repr=False)
    jpush_production: bool = True  # options.apns_production
    # options.time_to_live: how long JPush keeps a push for a phone that is offline (seconds;
    # 0: only phones online now get it; JPush allows up to 10 days).
    jpush_time_to_live: int = 86400
    gorush_url: str = "http://127.0.0.1:8088"
    # Send through a gorush in async mode, which reports no failure: every push is recorded
    # delivered. Off: such a gorush's pushes are held (notifications.adapters.gorush).
    gorush_allow_async: bool = False
    fcm_project_id: str = ""
    fcm_service_account_file: str = ""  # the Google service-account JSON key file
    huawei_app_id: str = ""
    huawei_client_secret: str = field(default="", repr=False)
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)  # HMAC-SHA256 key for the signature

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PushConfig:
        e = os.environ if env is None else env
        raw = e.get("PUSH_PROVIDER", "log")
        providers = tuple(p.strip().lower() for p in raw.split(",") if p.strip()) or ("log",)
        unknown = [p for p in providers if p not in PROVIDERS]
        if unknown:
            raise ValueError(f"PUSH_PROVIDER: unknown provider(s) {', '.join(unknown)}")
        ttl = int(e.get("JPUSH_TIME_TO_LIVE", "86400"))
        if not 0 <= ttl <= JPUSH_MAX_TIME_TO_LIVE:
            raise ValueError(f"JPUSH_TIME_TO_LIVE must be 0 to {JPUSH_MAX_TIME_TO_LIVE} seconds")
        return cls(
            providers=providers,
            base_url=e.get("PUSH_BASE_URL") or None,
            timeout_seconds=float(e.get("PUSH_TIMEOUT_SECONDS", "10")),
            max_connections=int(e.get("PUSH_MAX_CONNECTIONS", "50")),
            jpush_app_key=e.get("JPUSH_APP_KEY", ""),
            jpush_master_secret=e.get("JPUSH_MASTER_SECRET", ""),
            jpush_production=e.get("JPUSH_APNS_PRODUCTION", "true").lower() != "false",
            jpush_time_to_live=ttl,
            gorush_url=e.get("GORUSH_URL", "http://127.0.0.1:8088"),
            gorush_allow_async=_on_off(e, "GORUSH_ALLOW_ASYNC"),
            fcm_project_id=e.get("FCM_PROJECT_ID", ""),
            fcm_service_account_file=e.get("FCM_SERVICE_ACCOUNT_FILE", ""),
            huawei_app_id=e.get("HUAWEI_APP_ID", ""),
            huawei_client_secret=e.get("HUAWEI_CLIENT_SECRET", ""),
            webhook_url=e.get("PUSH_WEBHOOK_URL", ""),
            webhook_secret=e.get("PUSH_WEBHOOK_SECRET", ""),
        )


def _on_off(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "off").strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError(f"{name} must be on or off")
    return value in ("on", "true", "1")
