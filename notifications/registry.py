"""Which adapters run, built from `PushConfig` on one shared `httpx.AsyncClient`.

The server's lifespan owns the client: `make_client(config)` at startup, `build_gateways(config,
client)` for the dispatcher, `await client.aclose()` at shutdown. Adapters never close it.

Adding a gateway is one line in `FACTORIES`: a name from `config.PROVIDERS` mapped to a
callable `(PushConfig, httpx.AsyncClient) -> Gateway` (by convention the adapter class's
`from_config`), which raises ValueError naming the missing variable when the gateway is enabled
without its settings."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import httpx

from notifications.adapters.fcm import FcmGateway
from notifications.adapters.gorush import GorushGateway
from notifications.adapters.huawei import HuaweiGateway
from notifications.adapters.jpush import JPushGateway
from notifications.adapters.log import LogGateway
from notifications.adapters.webhook import WebhookGateway
from notifications.config import PushConfig
from notifications.gateway import Gateway

GatewayFactory = Callable[[PushConfig, httpx.AsyncClient], Gateway]

FACTORIES: dict[str, GatewayFactory] = {
    "log": LogGateway.from_config,
    "webhook": WebhookGateway.from_config,
    "jpush": JPushGateway.from_config,
    "gorush": GorushGateway.from_config,
    "fcm": FcmGateway.from_config,
    "huawei": HuaweiGateway.from_config,
}

CONNECT_TIMEOUT_SECONDS = 5.0
# FCM HTTP v1 is served over HTTP/2 and multiplexes its one-token-per-call sends on few
# connections; JPush, gorush and webhooks are fine on HTTP/1.1 keep-alive.
HTTP2_PROVIDERS = frozenset({"fcm"})
USER_AGENT = "enterprise-desk-push/1"


def http2_available() -> bool:
    """httpx speaks HTTP/2 only with the optional `h2` package installed."""
    return importlib.util.find_spec("h2") is not None


def make_client(config: PushConfig) -> httpx.AsyncClient:
    """The one client every adapter shares. Explicit timeouts (httpx's default is 5 s for all
    four): connect fast-fails a dead gateway, read/write/pool follow PUSH_TIMEOUT_SECONDS.
    Keep-alive for every pooled connection, since pushes come in steady bursts."""
    timeout = httpx.Timeout(
        connect=CONNECT_TIMEOUT_SECONDS,
        read=config.timeout_seconds,
        write=config.timeout_seconds,
        pool=config.timeout_seconds,
    )
    limits = httpx.Limits(
        max_connections=config.max_connections,
        max_keepalive_connections=config.max_connections,
    )
    wants_http2 = any(p in HTTP2_PROVIDERS for p in config.providers)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        http2=wants_http2 and http2_available(),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # a redirected push endpoint is a misconfiguration to see
    )


def build_gateways(config: PushConfig, client: httpx.AsyncClient) -> dict[str, Gateway]:
    """The enabled adapters by provider name, in PUSH_PROVIDER order."""
    gateways: dict[str, Gateway] = {}
    for provider in config.providers:
        factory = FACTORIES.get(provider)
        if factory is None:
            raise ValueError(f"PUSH_PROVIDER: no adapter is available for {provider!r}")
        gateways[provider] = factory(config, client)
    return gateways
