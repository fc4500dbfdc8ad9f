"""One adapter per push gateway, each a small class on the shared `httpx.AsyncClient`
implementing `notifications.gateway.Gateway`; `notifications.registry` picks them by config."""

from notifications.adapters.fcm import FcmGateway
from notifications.adapters.gorush import GorushGateway
from notifications.adapters.huawei import HuaweiGateway
from notifications.adapters.jpush import JPushGateway
from notifications.adapters.log import LogGateway
from notifications.adapters.webhook import WebhookGateway, verify_signature

__all__ = [
    "FcmGateway",
    "GorushGateway",
    "HuaweiGateway",
    "JPushGateway",
    "LogGateway",
    "WebhookGateway",
    "verify_signature",
]
