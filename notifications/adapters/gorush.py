"""gorush (github.com/appleboy/gorush), the self-hosted relay to APNs, FCM and Huawei HMS:
`POST /api/push` with `{"notifications": [{notif_id, tokens, platform, title, message, data,
...}]}`.

Sources, gorush's README ("POST /api/push", "Request body", "Response body") and source (read
at v1.22; the FCM path is HTTP v1 through firebase-admin-go since v1.18):
- notify/notification.go `PushNotification`: the JSON fields (`notif_id`, `tokens`,
  `platform` 1 iOS / 2 Android (FCM) / 3 Huawei, `title`, `message`, `data`, `badge`,
  `collapse_id` for APNs, `android` = FCM v1's AndroidConfig whose `collapse_key` is Android's
  collapse key (the top-level `collapse_key` of gorush before 1.18 is gone and ignored),
  `huawei_data` is a JSON string) and `CheckMessage`: at most 500 tokens per Android or
  Huawei notification.
- the router: 400 `{"code": 400, "message": "..."}` for a missing or empty `notifications`
  field or more than `core.max_notification` (default 100) notifications in one request;
  notifications to a platform not enabled in gorush's config are dropped without a word (left
  out of `counts`).
- Response: `{"counts": N, "logs": [...], "success": "ok"}`. Failures are listed in `logs` only
  when gorush runs with `core.sync: true` and `queue.engine: local` (any other engine turns
  sync off). In gorush's default async mode it answers before sending and every token would
  look delivered, so this adapter reads gorush's mode from `GET /api/config` (its YAML config)
  and holds the pushes while gorush is async (see `GorushGateway.mode`).
- logx/log.go `LogPushEntry`: `{"notif_id", "type": "failed-push", "platform": "ios" |
  "android" | "huawei", "token", "message", "error"}`; with `log.hide_token` (on in gorush's
  default config) the token's first and last 10 characters are replaced by `*` (the whole
  token when shorter than 20), so results are matched on that mask as well.
- The `error` of a token: for APNs (notify/notification_apns.go) the APNs `reason`
  (sideshow/apns2 response.go: `BadDeviceToken`, `Unregistered`, `ExpiredToken`, ...); for FCM
  since gorush 1.18 the `error.message` of FCM HTTP v1's answer (firebase-admin-go
  internal/errors.go): "Requested entity was not found." for UNREGISTERED (404) and "The
  registration token is not a valid FCM registration token" for a malformed token; before
  1.18 the legacy API's `NotRegistered` / `InvalidRegistration`. gorush's Huawei path reports
  no per-token results at all.

A token is dead only on one of those reasons and only when the log entry matches exactly one
of our tokens; every other failure is retried (capped by the dispatcher). Reasons that a
misconfigured gorush gives for every token (APNs `DeviceTokenNotForTopic`, FCM "SenderId
mismatch") are retried, never taken as dead tokens."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
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
PLATFORM_NAMES = {1: "ios", 2: "android", 3: "huawei"}  # gorush's config sections and logs
# Upstream reasons that mean "this token will never work again", compared case-insensitively
# without a final period (see the module's sources): FCM v1 UNREGISTERED and invalid token,
# FCM legacy NotRegistered / InvalidRegistration, APNs BadDeviceToken and the 410 reasons
# Unregistered and ExpiredToken.
DEAD_REASONS = frozenset(
    {
        "requested entity was not found",
        "the registration token is not a valid fcm registration token",
        "notregistered",
        "invalidregistration",
        "unregistered",
        "expiredtoken",
        "baddevicetoken",
    }
)
HIDE_MARK_LEN = 10  # logx.hideToken(token, 10)
CONFIG_PATH = "/api/config"  # api.config_uri's default
# gorush may be restarted with another config: its mode is read again this often, and pushes
# held for it are retried no sooner.
MODE_RECHECK_SECONDS = 300.0


def is_dead_reason(reason: str) -> bool:
    return reason.strip().rstrip(".").lower() in DEAD_REASONS


@dataclass(frozen=True)
class GorushMode:
    """How gorush answers `/api/push`, from its `GET /api/config`."""

    sync: bool  # core.sync with the local queue: `logs` lists every failure
    platforms: frozenset[str]  # "ios", "android", "huawei" enabled; others are dropped unsent


def parse_mode(text: str) -> GorushMode | None:
    """The mode in gorush's config as its `GET /api/config` renders it in YAML, or None when
    the text is not such a config. Only the `enabled`, `sync` and `engine` keys one level under
    a section are read; the indentation of that level is whatever the first child has."""
    values: dict[str, str] = {}
    section, child_indent = "", None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, _, value = stripped.partition(":")
        if indent == 0:
            section, child_indent = key.strip(), None
            continue
        if child_indent is None:
            child_indent = indent
        if indent == child_indent and section:
            values[f"{section}.{key.strip()}"] = value.strip().strip("'\"").lower()
    if "core.sync" not in values:
        return None
    local = values.get("queue.engine", "local") in ("local", "")
    platforms = frozenset(
        n for n in PLATFORM_NAMES.values() if values.get(f"{n}.enabled") == "true"
    )
    return GorushMode(sync=values["core.sync"] == "true" and local, platforms=platforms)


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

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        allow_async: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/api/push"
        self.config_url = f"{base_url.rstrip('/')}{CONFIG_PATH}"
        self.allow_async = allow_async  # GORUSH_ALLOW_ASYNC: send without per-token results
        self.clock = clock
        self._serial = 0  # notif_id of each notification, to attribute its logs
        self._mode: GorushMode | None = None
        self._mode_read_at: float | None = None  # when gorush last answered GET /api/config
        self._mode_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"GorushGateway(url={self.url!r})"

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> GorushGateway:
        url = gateway_url("gorush", "GORUSH_URL", config.base_url, config.gorush_url)
        return cls(client, url, allow_async=config.gorush_allow_async)

    async def mode(self) -> GorushMode | None:
        """gorush's mode, read again every MODE_RECHECK_SECONDS; None when its config cannot
        be read (then its answers are taken as sync ones, and that is logged as a warning).
        An unreachable gorush is asked again on the next send."""
        async with self._mode_lock:
            now = self.clock()
            if self._mode_read_at is not None and now - self._mode_read_at < MODE_RECHECK_SECONDS:
                return self._mode
            resp = await request(self.client, "GET", self.config_url)
            if isinstance(resp, TransportFailure):
                log.warning("gorush: cannot read %s (%s)", self.config_url, resp.error)
                return self._mode  # asked again on the next send
            if outcome_for_status(resp.status_code) is Outcome.RETRY:
                log.warning("gorush: cannot read %s (%d)", self.config_url, resp.status_code)
                return self._mode
            # The body is never logged: gorush before 1.21.1 served its secrets in it.
            mode = parse_mode(resp.text) if resp.status_code == 200 else None
            changed = self._mode_read_at is None or mode != self._mode
            self._mode, self._mode_read_at = mode, now
        if mode is None and changed:
            log.warning(
                "gorush: %s answered %d without a config: cannot tell whether gorush runs "
                "with core.sync: true; failures it does not list are recorded as delivered",
                self.config_url,
                resp.status_code,
            )
        elif mode is not None and not mode.sync and not self.allow_async:
            # Said at every reading while it lasts: pushes are piling up.
            log.error(
                "gorush runs in async mode (core.sync: false, or a queue.engine other than "
                "local) and reports no failed or unregistered token: its pushes are held "
                "until it runs with core.sync: true and queue.engine: local (or "
                "GORUSH_ALLOW_ASYNC=on sends them without results)"
            )
        elif mode is not None and not mode.sync and changed:
            log.warning(
                "gorush runs in async mode and GORUSH_ALLOW_ASYNC is on: every push it accepts "
                "is recorded as delivered and no unregistered device is removed"
            )
        elif mode is not None and changed:
            log.info("gorush: sync mode, %s enabled", ", ".join(sorted(mode.platforms)) or "none")
        return mode

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        mode = await self.mode()
        if mode is not None and not mode.sync and not self.allow_async:
            return every(
                batch, Outcome.RETRY, error="gorush_async_mode", retry_after=MODE_RECHECK_SECONDS
            )
        results: list[SendResult] = []
        off = {_platform(m) for m in batch} - mode.platforms if mode else set()
        if off:
            # gorush would drop them unsent and list them nowhere.
            held = [m for m in batch if _platform(m) in off]
            log.warning(
                "gorush: %d pushes held: %s not enabled in gorush",
                len(held),
                ", ".join(sorted(off)),
            )
            for m in held:
                results.append(
                    SendResult(
                        m.message_id,
                        Outcome.RETRY,
                        error=f"gorush_platform_off: {_platform(m)}",
                        retry_after=MODE_RECHECK_SECONDS,
                    )
                )
            batch = [m for m in batch if _platform(m) not in off]
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
        counts = payload.get("counts") if isinstance(payload, dict) else None
        if isinstance(counts, int) and counts < len(tokens):
            # A platform this adapter did not know to be off (its config was unreadable).
            log.warning("gorush: took %d of %d tokens and dropped the rest", counts, len(tokens))
        logs = payload.get("logs") if isinstance(payload, dict) else None
        failed = _failures(call, logs if isinstance(logs, list) else [])
        results: list[SendResult] = []
        for n in call:
            for token, same in n.by_token.items():
                got, why = failed.get((n.notif_id, token), (Outcome.DELIVERED, None))
                results.extend(SendResult(m.message_id, got, error=why) for m in same)
        log.debug("gorush: %d tokens sent, %d failed", len(tokens), len(failed))
        return results, False


def _platform(m: PushMessage) -> str:
    return PLATFORM_NAMES[GORUSH_PLATFORM[m.platform]]


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
            body["android"] = {"collapse_key": m.collapse_key}  # FCM v1 AndroidConfig
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
        dead = len(matches) == 1 and is_dead_reason(reason)
        for key in matches:
            if failed.get(key, (None,))[0] is not Outcome.DEAD_TOKEN:
                failed[key] = (Outcome.DEAD_TOKEN if dead else Outcome.RETRY, error)
        if dead:
            log.info("gorush: token %s is dead (%s)", mask_token(matches[0][1]), reason)
    if unmatched:
        log.warning("gorush: %d failed-push logs matched none of our tokens", unmatched)
    return failed
