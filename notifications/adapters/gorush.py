"""gorush (github.com/appleboy/gorush), the self-hosted relay to APNs, FCM and Huawei HMS:
`POST /api/push` with `{"notifications": [{notif_id, tokens, platform, title, message, data,
...}]}`.

Sources, gorush's README ("POST /api/push", "Request body", "Response body") and source:
- notify/notification.go `PushNotification`: the JSON fields (`notif_id`, `tokens`,
  `platform` 1 iOS / 2 Android (FCM) / 3 Huawei, `title`, `message`, `data`, `badge`,
  `collapse_id` for APNs, `collapse_key` for Android, `huawei_data` is a JSON string) and
  `CheckMessage`: at most 500 tokens per Android or Huawei notification.
- the router: 400 `{"code": 400, "message": "..."}` for a missing or empty `notifications`
  field or more than `core.max_notification` (default 100) notifications in one request.
- Response: `{"counts": N, "logs": [...], "success": "ok"}`. Failures are listed in `logs` only
  when gorush runs with `core.sync: true`, which this adapter needs (in the default async mode
  gorush answers before sending, and every token would look delivered).
- logx/log.go `LogPushEntry`: `{"notif_id", "type": "failed-push", "platform": "ios" |
  "android" | "huawei", "token", "message", "error"}`; with `log.hide_token` (on in gorush's
  default config) the token's first and last 10 characters are replaced by `*` (the whole
  token when shorter than 20), so results are matched on that mask as well.
- notify/notification_apns.go: the APNs error is the APNs `reason` (`BadDeviceToken`,
  `Unregistered`, ...); the FCM error is the FCM/go-fcm error text (legacy `NotRegistered`,
  `InvalidRegistration`). gorush's Huawei path reports no per-token results at all.

A token is dead only on one of those documented reasons and only when the log entry matches
exactly one of our tokens; every other failure is retried (capped by the dispatcher)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    retry_after_of,
    same_content_by_token,
    scrub,
    transport_results,
)
from notifications.config import PushConfig
from notifications.gateway import Outcome, Platform, PushMessage, SendResult, mask_token

log = logging.getLogger(__name__)

MAX_TOKENS = 500  # CheckMessage: tokens must not contain more than 500 elements
MAX_NOTIFICATIONS = 100  # core.max_notification default
GORUSH_PLATFORM = {Platform.IOS: 1, Platform.ANDROID: 2, Platform.HARMONY: 3}
# Upstream reasons that mean "this token will never work again", compared case-insensitively:
# FCM legacy NotRegistered / InvalidRegistration, FCM v1 UNREGISTERED, APNs BadDeviceToken
# and Unregistered (the 410 reason).
DEAD_REASONS = frozenset({"notregistered", "invalidregistration", "unregistered", "baddevicetoken"})
HIDE_MARK_LEN = 10  # logx.hideToken(token, 10)


@dataclass
class _Notification:
    notif_id: str
    sample: PushMessage
    by_token: dict[str, list[PushMessage]]  # a batch may hold the same device twice


class GorushGateway:
    name: str = "gorush"
    # Per call gorush takes 100 notifications x 500 tokens; the dispatcher's batch is one
    # notification's worth, grouped here by content.
    max_batch: int = MAX_TOKENS

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/api/push"
        self._serial = 0  # notif_id of each notification, to attribute its logs

    def __repr__(self) -> str:
        return f"GorushGateway(url={self.url!r})"

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> GorushGateway:
        return cls(client, gateway_url("gorush", "GORUSH_URL", config.base_url, config.gorush_url))

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        calls = list(chunked(self._notifications(batch), MAX_NOTIFICATIONS))
        for index, call in enumerate(calls):
            done, rate_limited = await self._post(call)
            results.extend(done)
            if rate_limited:
                # gorush (or a proxy in front) is shedding load: keep the rest for later.
                rest = [m for later in calls[index + 1 :] for n in later for m in _messages(n)]
                results.extend(
                    every(rest, Outcome.RETRY, error=done[0].error, retry_after=done[0].retry_after)
                )
                break
        return results

    async def aclose(self) -> None:
        return None  # the shared client belongs to the server's lifespan

    def calls(self, batch: list[PushMessage]) -> list[list[PushMessage]]:
        """How `send` splits `batch`: at most 100 notifications a call."""
        return [
            [m for n in call for m in _messages(n)]
            for call in chunked(self._notifications(batch), MAX_NOTIFICATIONS)
        ]

    def _notifications(self, batch: list[PushMessage]) -> list[_Notification]:
        """Identical content to one platform becomes one notification of at most 500 tokens."""
        notifications = []
        for by_token in same_content_by_token(batch):
            for tokens in chunked(list(by_token), MAX_TOKENS):
                self._serial += 1
                first = by_token[tokens[0]][0]
                notifications.append(
                    _Notification(f"desk-{self._serial}", first, {t: by_token[t] for t in tokens})
                )
        return notifications

    async def _post(self, call: Sequence[_Notification]) -> tuple[list[SendResult], bool]:
        """The results of one request, and whether gorush asked us to slow down (429)."""
        messages = [m for n in call for m in _messages(n)]
        tokens = [t for n in call for t in n.by_token]
        raw = json.dumps({"notifications": [_body(n) for n in call]}, ensure_ascii=False).encode()
        resp = await request(
            self.client, "POST", self.url, content=raw, headers={"Content-Type": "application/json"}
        )
        if isinstance(resp, TransportFailure):
            log.warning("gorush: %d tokens not sent: %s", len(tokens), resp.error)
            return transport_results(messages, resp), False
        payload = json_body(resp)
        outcome = outcome_for_status(resp.status_code)
        if outcome is not Outcome.DELIVERED:
            text = payload.get("message") if isinstance(payload, dict) else None
            error = scrub(
                f"gorush_{resp.status_code}: {text}" if text else f"http_{resp.status_code}", tokens
            )
            retry_after = retry_after_of(resp) if outcome is Outcome.RETRY else None
            log.warning("gorush: %d tokens answered %d", len(tokens), resp.status_code)
            return every(
                messages, outcome, error=error, retry_after=retry_after
            ), resp.status_code == 429
        logs = payload.get("logs") if isinstance(payload, dict) else None
        failed = _failures(call, logs if isinstance(logs, list) else [])
        results: list[SendResult] = []
        for n in call:
            for token, same in n.by_token.items():
                got, why = failed.get((n.notif_id, token), (Outcome.DELIVERED, None))
                results.extend(SendResult(m.message_id, got, error=why) for m in same)
        log.debug("gorush: %d tokens sent, %d failed", len(tokens), len(failed))
        return results, False


def _messages(n: _Notification) -> Iterator[PushMessage]:
    for same in n.by_token.values():
        yield from same


def _body(n: _Notification) -> dict[str, Any]:
    m = n.sample
    body: dict[str, Any] = {
        "notif_id": n.notif_id,
        "tokens": list(n.by_token),
        "platform": GORUSH_PLATFORM[m.platform],
        "title": m.title,
        "message": m.body,
    }
    if m.platform is Platform.IOS:
        body["data"] = m.data
        if m.collapse_key:
            body["collapse_id"] = m.collapse_key  # apns-collapse-id
        if m.badge is not None:
            body["badge"] = m.badge
    elif m.platform is Platform.ANDROID:
        body["data"] = m.data
        if m.collapse_key:
            body["collapse_key"] = m.collapse_key
    else:
        # gorush's HMS path takes data as one JSON string; its collapse key is a small int,
        # which our string keys are not, so collapsing is left to the app.
        body["huawei_data"] = json.dumps(m.data, ensure_ascii=False)
    return body


def hide_token(token: str, mark_len: int = HIDE_MARK_LEN) -> str:
    """gorush's logx.hideToken, to match tokens in logs written with `log.hide_token`."""
    if not token:
        return ""
    if len(token) < mark_len * 2:
        return "*" * len(token)
    result = token.replace(token[-mark_len:], "*" * mark_len)
    return result.replace(token[:mark_len], "*" * mark_len)


def _failures(
    call: Sequence[_Notification], logs: list[Any]
) -> dict[tuple[str, str], tuple[Outcome, str | None]]:
    """(notif_id, token) -> outcome and error for every failed-push entry we can attribute."""
    by_id = {n.notif_id: n for n in call}
    everyone = [t for n in call for t in n.by_token]
    failed: dict[tuple[str, str], tuple[Outcome, str | None]] = {}
    unmatched = 0
    for entry in logs:
        if not isinstance(entry, dict) or entry.get("type") != "failed-push":
            continue
        n = by_id.get(str(entry.get("notif_id") or ""))
        candidates = [n] if n is not None else list(call)
        shown = str(entry.get("token") or "")
        if shown:
            matches = [(c.notif_id, t) for c in candidates for t in c.by_token if t == shown]
            if not matches:
                matches = [
                    (c.notif_id, t)
                    for c in candidates
                    for t in c.by_token
                    if hide_token(t) == shown
                ]
        elif n is not None:
            matches = [(n.notif_id, t) for t in n.by_token]  # a notification-wide failure
        else:
            matches = []
        if not matches:
            unmatched += 1
            continue
        reason = str(entry.get("error") or "failed")
        error = scrub(f"gorush: {reason}", everyone)
        # A mask shared by several tokens cannot say which device is gone: retry them all.
        dead = len(matches) == 1 and reason.strip().lower() in DEAD_REASONS
        for key in matches:
            if failed.get(key, (None,))[0] is not Outcome.DEAD_TOKEN:
                failed[key] = (Outcome.DEAD_TOKEN if dead else Outcome.RETRY, error)
        if dead:
            log.info("gorush: token %s is dead (%s)", mask_token(matches[0][1]), reason)
    if unmatched:
        log.warning("gorush: %d failed-push logs matched none of our tokens", unmatched)
    return failed
