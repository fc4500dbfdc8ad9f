"""Huawei Push Kit (HMS Core) server API: `POST /v1/{appId}/messages:send`, up to 1000 tokens
per call for one and the same content.

Auth: an OAuth2 client-credentials token from `/oauth2/v3/token` (client_id = app id, the app
secret), cached until shortly before it expires.

Result codes, from Huawei's own documentation and server SDK (only these are interpreted):
- 80000000 success; 80100000 some tokens failed: `msg` is a JSON string whose `illegal_tokens`
  lists them; 80100001/80100003 request parameters or message structure wrong; 80200001 OAuth
  authentication error; 80200003 OAuth token expired; 80300002 the app may not send;
  80300007 all tokens invalid; 80300008 message body too large; 80300010 token count not 1–1000
  (HMS-Core/hms-push-serverdemo-go `push/constant/constants.go`; HMS Core's FAQ "服务端下发消息
  常见错误码" on its developer blog; developer.huawei.com "push-scenariozed-api-response").
- HTTP 503 is traffic control and 502 a connection fault: both retried; 429 and other 5xx are
  retried as everywhere else. Any other code is a refusal that a resend will not change."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
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
    scrub,
    transport_results,
)
from notifications.adapters.oauth import AccessToken, TokenCache, TokenError, request_token
from notifications.config import PushConfig
from notifications.gateway import Outcome, PushMessage, SendResult

log = logging.getLogger(__name__)

PUSH_URL = "https://push-api.cloud.huawei.com"
OAUTH_URL = "https://oauth-login.cloud.huawei.com"
MAX_TOKENS_PER_CALL = 1000
# Calls in flight per gateway. Messages to different users differ (each carries its own
# notification id), so a batch is often many small calls; one at a time would take minutes.
DEFAULT_CONCURRENCY = 16

SUCCESS = "80000000"
PARTIAL_SUCCESS = "80100000"
OAUTH_AUTH_ERROR = "80200001"
OAUTH_TOKEN_EXPIRED = "80200003"  # noqa: S105 - a result code
ALL_TOKENS_INVALID = "80300007"
AUTH_CODES = frozenset({OAUTH_AUTH_ERROR, OAUTH_TOKEN_EXPIRED})
FLOW_CONTROL_STATUSES = frozenset({429, 503})  # 503: Push Kit's documented traffic control


class HuaweiGateway:
    name: str = "huawei"
    max_batch: int = MAX_TOKENS_PER_CALL

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        app_id: str,
        client_secret: str,
        base_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._client = client
        self._app_id = app_id
        self._secret = client_secret
        # One override replaces both hosts: an on-premise relay or the loopback fake.
        push_base = (base_url or PUSH_URL).rstrip("/")
        self._oauth_url = f"{(base_url or OAUTH_URL).rstrip('/')}/oauth2/v3/token"
        self._send_url = f"{push_base}/v1/{app_id}/messages:send"
        self._tokens = TokenCache(self._fetch_token, label="huawei")
        self._slots = asyncio.Semaphore(concurrency)

    def __repr__(self) -> str:
        return f"HuaweiGateway(app_id={self._app_id!r})"  # never the secret

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> HuaweiGateway:
        app_id = require_setting("huawei", "HUAWEI_APP_ID", config.huawei_app_id)
        secret = require_setting("huawei", "HUAWEI_CLIENT_SECRET", config.huawei_client_secret)
        base = (
            gateway_url("huawei", "PUSH_BASE_URL", config.base_url, None)
            if config.base_url
            else None
        )
        return cls(client, app_id=app_id, client_secret=secret, base_url=base)

    @property
    def token_fetches(self) -> int:
        return self._tokens.fetches

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        throttled: list[SendResult] = []  # the first flow-control answer of this batch

        async def call(group: list[PushMessage]) -> list[SendResult]:
            async with self._slots:
                if throttled:
                    # Push Kit said slow down: calls not yet made wait as long, instead of
                    # hammering it with the rest of the batch.
                    first = throttled[0]
                    return every(
                        group, Outcome.RETRY, error=first.error, retry_after=first.retry_after
                    )
                results, flow_control = await self._send_group(group)
                if flow_control:
                    throttled.append(results[0])
                return results

        done = await asyncio.gather(*(call(g) for g in _groups(batch)))
        return [result for results in done for result in results]

    async def aclose(self) -> None:
        """The shared client belongs to the server's lifespan; nothing of ours to close."""

    def calls(self, batch: list[PushMessage]) -> list[list[PushMessage]]:
        """How `send` splits `batch`: one call per content, at most 1000 tokens each."""
        return list(_groups(batch))

    async def _send_group(self, group: list[PushMessage]) -> tuple[list[SendResult], bool]:
        """The results of one call, and whether Push Kit answered with flow control."""
        body = {"validate_only": False, "message": _message(group)}
        try:
            access = await self._tokens.get()
            resp = await self._post(body, access)
            if not isinstance(resp, TransportFailure) and (
                resp.status_code == 401 or _code(resp) in AUTH_CODES
            ):
                # Expired or rejected token: one new token, one resend; a second refusal is
                # a credentials problem (PERMANENT below).
                access = await self._tokens.refresh(access)
                resp = await self._post(body, access)
        except TokenError as exc:
            results = every(group, exc.outcome, error=exc.error, retry_after=exc.retry_after)
            return results, False
        if isinstance(resp, TransportFailure):
            # Maybe delivered (a read timeout); the app drops repeats by notification id.
            log.warning("huawei: %d tokens not sent: %s", len(group), resp.error)
            return transport_results(group, resp), False
        results = _results(group, resp)
        log.debug(
            "huawei call: %d tokens → %s",
            len(group),
            ", ".join(sorted({str(r.outcome) for r in results})),
        )
        return results, resp.status_code in FLOW_CONTROL_STATUSES

    async def _post(self, body: dict[str, Any], access: str) -> httpx.Response | TransportFailure:
        headers = {"Authorization": f"Bearer {access}"}
        return await request(self._client, "POST", self._send_url, json=body, headers=headers)

    async def _fetch_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id,
            "client_secret": self._secret,
        }
        return await request_token(self._client, self._oauth_url, form, label="huawei")


def _content_key(msg: PushMessage) -> tuple[Any, ...]:
    # The notification id is part of the content: each device must receive its own id.
    return (
        msg.title,
        msg.body,
        msg.collapse_key,
        msg.notification_id,
        tuple(sorted(msg.data.items())),
    )


def _groups(batch: list[PushMessage]) -> Iterator[list[PushMessage]]:
    """Messages with identical content, at most `MAX_TOKENS_PER_CALL` per group, in first-seen
    order."""
    by_content: dict[tuple[Any, ...], list[PushMessage]] = {}
    for msg in batch:
        by_content.setdefault(_content_key(msg), []).append(msg)
    for same in by_content.values():
        for chunk in chunked(same, MAX_TOKENS_PER_CALL):
            yield list(chunk)


def _message(group: list[PushMessage]) -> dict[str, Any]:
    first = group[0]
    data = {
        **first.data,
        "notificationId": first.data.get("notificationId", str(first.notification_id)),
    }
    return {
        # Duplicates would be counted twice by the 1000-token limit; keep the first of each.
        "token": list(dict.fromkeys(m.token for m in group)),
        "android": {
            # -1: cache every offline message; replacement of an unread older notification is
            # done by `tag` below, as the integer cache groups (0-100) cannot carry our keys.
            "collapse_key": -1,
            "urgency": "HIGH",
            "data": json.dumps(data, ensure_ascii=False),
            "notification": {
                "title": first.title,
                "body": first.body,
                "tag": first.collapse_key,
                "click_action": {"type": 3},  # open the app's home screen
            },
        },
    }


def _json(resp: httpx.Response) -> dict[str, Any]:
    body = json_body(resp)
    return body if isinstance(body, dict) else {}


def _code(resp: httpx.Response) -> str:
    return str(_json(resp).get("code") or "")


def _illegal_tokens(msg: Any) -> list[str] | None:
    """The failed tokens of an 80100000 answer, whose `msg` is a JSON string such as
    {"success":1,"failure":1,"illegal_tokens":["..."]}; None when it cannot be read."""
    try:
        detail = json.loads(msg) if isinstance(msg, str) else msg
    except ValueError:
        return None
    tokens = detail.get("illegal_tokens") if isinstance(detail, dict) else None
    return [str(t) for t in tokens] if isinstance(tokens, list) else None


def _results(group: list[PushMessage], resp: httpx.Response) -> list[SendResult]:
    status = resp.status_code
    body = _json(resp)
    code = str(body.get("code") or "")
    request_id = str(body["requestId"]) if body.get("requestId") else None
    error = f"HTTP {status}" + (f" {code}" if code else "")

    if outcome_for_status(status) is Outcome.RETRY:
        # 429 and 5xx; 503 is Push Kit's traffic control: wait as long as it asks.
        return every(group, Outcome.RETRY, error=error, retry_after=retry_after_of(resp))
    if code == SUCCESS and 200 <= status < 300:
        return every(group, Outcome.DELIVERED, gateway_id=request_id)
    if code == PARTIAL_SUCCESS:
        illegal = _illegal_tokens(body.get("msg"))
        if illegal is None:
            # Unknown which tokens failed: resend all (repeats are dropped by the app) rather
            # than record a failure as delivered.
            return every(group, Outcome.RETRY, error=f"{error} unreadable msg")
        dead = set(illegal)
        return [
            SendResult(m.message_id, Outcome.DEAD_TOKEN, error=f"{error} illegal token")
            if m.token in dead
            else SendResult(m.message_id, Outcome.DELIVERED, gateway_id=request_id)
            for m in group
        ]
    if code == ALL_TOKENS_INVALID:
        return every(group, Outcome.DEAD_TOKEN, error=error)
    # Auth failures that survived a refresh, parameter errors, oversize bodies, forbidden apps,
    # and codes not documented: resending the same request will not help.
    msg = body.get("msg")
    if isinstance(msg, str) and msg:
        error = f"{error} - {msg}"
    return every(group, Outcome.PERMANENT, error=scrub(error, (m.token for m in group)))
