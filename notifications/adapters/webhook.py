"""A generic webhook: the batch is POSTed as JSON to a URL of the customer's own push platform,
signed so the receiver can trust it.

Request: `{"messages": [{id, notificationId, token, platform, title, body, collapseKey, data,
badge}]}` with headers `X-Desk-Timestamp` (unix seconds) and `X-Desk-Signature:
sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>" keyed with the shared secret>` (the
scheme GitHub and Stripe webhooks use: the timestamp inside the MAC stops replays).

Answer: 2xx delivers the whole batch (the gateway's id from a JSON "id" if present); 408, 425,
429 and 5xx are retried honouring `Retry-After`; any other 4xx is permanent. A webhook has no
token semantics, so nothing here ever reports a dead token."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from notifications.adapters.http import (
    TransportFailure,
    chunked,
    every,
    gateway_url,
    json_body,
    outcome_for_status,
    request,
    require_setting,
    retry_after_of,
    transport_results,
)
from notifications.config import PushConfig
from notifications.gateway import Outcome, PushMessage, SendResult

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Desk-Timestamp"
SIGNATURE_HEADER = "X-Desk-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_MAX_AGE_SECONDS = 300.0  # a receiver rejects older (replayed) requests


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The `X-Desk-Signature` value for a raw request body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int | None,
    body: bytes,
    header: str | None,
    *,
    max_age_seconds: float | None = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `header` is our signature of `body` at `timestamp` under `secret` and the
    timestamp is within `max_age_seconds` of now (None: no age check). Constant-time."""
    if not secret or timestamp is None or header is None:
        return False
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    if max_age_seconds is not None:
        current = time.time() if now is None else now
        if abs(current - ts) > max_age_seconds:
            return False
    return hmac.compare_digest(sign(secret, str(timestamp).strip(), body), header.strip())


class WebhookGateway:
    name: str = "webhook"
    max_batch: int = 100

    def __init__(self, client: httpx.AsyncClient, url: str, secret: str) -> None:
        self.client = client
        self.url = url
        self._secret = secret

    def __repr__(self) -> str:  # never the secret
        return f"WebhookGateway(url={self.url!r})"

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> WebhookGateway:
        url = gateway_url("webhook", "PUSH_WEBHOOK_URL", config.base_url, config.webhook_url)
        secret = require_setting("webhook", "PUSH_WEBHOOK_SECRET", config.webhook_secret)
        return cls(client, url, secret)

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        for part in chunked(batch, self.max_batch):
            results.extend(await self._post(list(part)))
        return results

    async def aclose(self) -> None:
        return None  # the shared client belongs to the server's lifespan

    async def _post(self, batch: list[PushMessage]) -> list[SendResult]:
        raw = json.dumps({"messages": [_message(m) for m in batch]}, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, raw),
        }
        resp = await request(self.client, "POST", self.url, content=raw, headers=headers)
        if isinstance(resp, TransportFailure):
            log.warning("webhook: %d messages not sent: %s", len(batch), resp.error)
            return transport_results(batch, resp)
        outcome = outcome_for_status(resp.status_code)
        if outcome is Outcome.DELIVERED:
            body = json_body(resp)
            gateway_id = body.get("id") if isinstance(body, dict) else None
            log.debug("webhook: %d messages accepted (%d)", len(batch), resp.status_code)
            return every(batch, outcome, gateway_id=None if gateway_id is None else str(gateway_id))
        log.warning("webhook: %d messages answered %d", len(batch), resp.status_code)
        retry_after = retry_after_of(resp) if outcome is Outcome.RETRY else None
        # Only the status: the receiver's error text is not ours to store and could echo data.
        return every(batch, outcome, error=f"http_{resp.status_code}", retry_after=retry_after)


def _message(msg: PushMessage) -> dict[str, Any]:
    return {
        "id": msg.message_id,
        "notificationId": msg.notification_id,
        "token": msg.token,
        "platform": msg.platform.value,
        "title": msg.title,
        "body": msg.body,
        "collapseKey": msg.collapse_key,
        "data": msg.data,
        "badge": msg.badge,
    }
