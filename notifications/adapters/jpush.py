"""JPush (极光推送) REST API v3: `POST /v3/push` to registration ids, the mainland default
because JPush reaches phones through the vendors' own channels (Xiaomi, Huawei, Honor, OPPO,
vivo) where Google's services are absent.

Sources, from JPush's own documentation (github.com/jpush/jpush-docs, zh/jpush/server/push/,
and docs.jiguang.cn):
- rest_api_v3_push.md: Basic auth base64(appKey:masterSecret); `audience.registration_id`
  takes at most 1000 ids per call; success is 200 `{"sendno": "...", "msg_id": "..."}`;
  `options.sendno` (non-zero int, echoed back), `apns_production`, `apns_collapse_id` (at most
  64 bytes); the "调用返回" table of error codes with their HTTP statuses (encoded below).
- server_overview.md ("API 频率控制"): every answer carries `X-Rate-Limit-Quota`,
  `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (seconds until the window resets); over
  the limit is 429 with `{"error": {"code": 2002, "message": "Rate limit exceeded"}}`.
- docs.jiguang.cn jpush/practice/push_strategy: `options.third_party_channel.<vendor>
  .distribution` for the vendor keys xiaomi, huawei, honor, meizu, oppo, vivo, fcm, nio, asus,
  hmos, values jpush | ospush | first_ospush | secondary_push (the free tier's default).
- Error bodies are `{"error": {"code": N, "message": "..."}}`, 1011 also with a `msg_id`
  ("cannot find user by this audience", lately "... or has been inactive for more than 255
  days").

1011 ("没有满足条件的推送目标", no device matches the audience) is the only per-token signal
JPush gives: a call whose ids are all unknown or long inactive. When only some ids are dead
JPush still answers 200, so those tokens age out through the vendor channels instead.

JPush's quota counts calls, not ids (600 calls a minute on the free plan), so one call carries
every recipient of the same content, up to 1000 ids (server_overview.md: "如果大量针对 alias，
registrationId 的请求内容一致，可以每次调用可以填写多个接收者"). Content is the whole body but
the audience and `sendno`; `extras` carry the message's `data` without `notificationId`, which
differs per recipient: recipients of one event share `eventId` (a user has one inbox row per
event, so the app drops repeats by it). `options.time_to_live` is set explicitly
(JPUSH_TIME_TO_LIVE, JPush's own default of one day).

A refused account (wrong master secret 1004, app key 1008, black list 2003, address not
white-listed 2004, volume 2005, plan 2006/2007) would refuse every push alike: those calls are
retried, so the dispatcher's breaker opens, instead of dead-lettering each push. Over the call
quota (429, 2002) nothing was sent: the results are `throttled`, and `quota_spent_for` tells
when `X-Rate-Limit-Remaining` reached 0."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from notifications.adapters.http import (
    TransportFailure,
    chunked,
    every,
    gateway_url,
    json_body,
    outcome_for_status,
    parse_retry_after,
    request,
    require_setting,
    retry_after_of,
    scrub,
    transport_results,
)
from notifications.config import PushConfig
from notifications.gateway import Outcome, Platform, PushMessage, SendResult

log = logging.getLogger(__name__)

JPUSH_URL = "https://api.jpush.cn"
MAX_REGISTRATION_IDS = 1000  # rest_api_v3_push.md: registration_id, 一次推送最多 1000 个
APNS_COLLAPSE_ID_MAX_BYTES = 64
DEFAULT_TIME_TO_LIVE = 86400  # options.time_to_live: JPush's default, one day (at most 10)
QUOTA_WINDOW_SECONDS = 60.0  # server_overview.md: the quota's window is one minute

# The "调用返回" table of rest_api_v3_push.md. Codes not listed fall back to the HTTP status.
NO_TARGET = 1011  # 没有满足条件的推送目标 (400): every id in the call is unknown or inactive
RATE_LIMITED = 2002  # API 调用频率超出该应用的限制 (429)
RETRY_CODES = frozenset(
    {
        1000,  # 系统内部错误 (500): retry later
        1012,  # 超过限制 (400): fixed-speed push / vendor quota (ospush) exceeded, not our body
        1030,  # 内部服务超时 (503): retry later
        RATE_LIMITED,
    }
)
# The account, not the push: every call fails alike until an operator fixes the settings or
# the plan. Retried, so the breaker opens; never a dead letter per push.
ACCOUNT_CODES = frozenset(
    {
        1004,  # 验证失败: appKey / masterSecret wrong (401)
        1008,  # app_key 参数非法
        2003,  # appKey 被限制调用 (black list, 403)
        2004,  # 源 IP 不在白名单 (403)
        2005,  # 信息发送量超出合理范围 (403)
        2006,  # 非 VIP 用户 (403)
        2007,  # 无权调用此接口 (403)
    }
)
PERMANENT_CODES = frozenset(
    {
        1001,  # only POST
        1002,  # 缺少了必须的参数
        1003,  # 参数值不合法 (also a malformed registration id)
        1005,  # 消息体太大
        1009,  # 推送对象中有不支持的 key
        1020,  # 只支持 HTTPS
    }
)

# Vendor channels whose notification-bar strategy we state explicitly. "secondary_push" (use
# JPush's own connection when the app is online, else the vendor channel) is the free tier's
# default and works without VIP; "first_ospush"/"ospush" need VIP and fail with 1012 when a
# vendor's daily quota is spent.
VENDOR_CHANNELS = ("xiaomi", "huawei", "honor", "oppo", "vivo")
DEFAULT_DISTRIBUTION = "secondary_push"

PLATFORM_KEYS = {Platform.ANDROID: "android", Platform.IOS: "ios", Platform.HARMONY: "hmos"}


@dataclass(frozen=True)
class RateLimit:
    """The last `X-Rate-Limit-*` headers JPush sent, for a token bucket to pace calls."""

    quota: int | None  # calls allowed per window (one minute)
    remaining: int | None  # calls left in this window
    reset: float | None  # seconds until the window resets, as of `observed_at`
    observed_at: float  # time.monotonic()


class JPushGateway:
    name: str = "jpush"
    max_batch: int = MAX_REGISTRATION_IDS

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        app_key: str,
        master_secret: str,
        *,
        apns_production: bool = True,
        distribution: str = DEFAULT_DISTRIBUTION,
        hmos_category: str = "MARKETING",
        hmos_intent_url: str | None = None,
        time_to_live: int = DEFAULT_TIME_TO_LIVE,
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/v3/push"
        self.app_key = app_key
        self._auth = "Basic " + base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
        self.apns_production = apns_production
        self.distribution = distribution
        # HarmonyOS Push Kit: MARKETING needs no self-classification grant (other categories,
        # e.g. WORK, do); JPush asks for an intent (the page a tap opens) on hmos.
        self.hmos_category = hmos_category
        self.hmos_intent_url = hmos_intent_url
        self.time_to_live = time_to_live
        self.rate_limit: RateLimit | None = None
        self._sendno = itertools.count(1)

    def __repr__(self) -> str:  # never the master secret
        return f"JPushGateway(url={self.url!r}, app_key={self.app_key!r})"

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> JPushGateway:
        app_key = require_setting("jpush", "JPUSH_APP_KEY", config.jpush_app_key)
        secret = require_setting("jpush", "JPUSH_MASTER_SECRET", config.jpush_master_secret)
        base = gateway_url("jpush", "PUSH_BASE_URL", config.base_url, JPUSH_URL)
        return cls(
            client,
            base,
            app_key,
            secret,
            apns_production=config.jpush_production,
            time_to_live=config.jpush_time_to_live,
        )

    def calls(self, batch: list[PushMessage]) -> list[list[PushMessage]]:
        """How `send` splits `batch`: one call per content, at most 1000 distinct ids each."""
        return [[m for same in call.values() for m in same] for call in self._calls(batch)]

    def quota_spent_for(self) -> float | None:
        """Seconds until the quota window reopens, when the last answer left no call in it."""
        seen = self.rate_limit
        if seen is None or seen.remaining is None or seen.remaining > 0:
            return None
        reset = seen.reset if seen.reset is not None else QUOTA_WINDOW_SECONDS
        return max(0.0, reset - (time.monotonic() - seen.observed_at))

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        calls = self._calls(batch)
        for index, call in enumerate(calls):
            done, rate_limited = await self._post(call)
            results.extend(done)
            if rate_limited:
                # Over the rate limit: the remaining calls would be refused too. Retry them
                # after the same wait instead of hammering JPush through this window.
                rest = [m for later in calls[index + 1 :] for same in later.values() for m in same]
                first = done[0]
                results.extend(replace(first, message_id=m.message_id) for m in rest)
                break
        return results

    async def aclose(self) -> None:
        return None  # the shared client belongs to the server's lifespan

    async def _post(self, call: dict[str, list[PushMessage]]) -> tuple[list[SendResult], bool]:
        """The results of one call, and whether JPush said we are over the rate limit."""
        messages = [m for same_token in call.values() for m in same_token]
        content = self._content(messages[0])
        body = {  # the order of the official SDKs' bodies
            "platform": content["platform"],
            "audience": {"registration_id": list(call)},
            "notification": content["notification"],
            "options": {"sendno": self._next_sendno(), **content["options"]},
        }
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        raw = json.dumps(body, ensure_ascii=False).encode()
        resp = await request(self.client, "POST", self.url, content=raw, headers=headers)
        if isinstance(resp, TransportFailure):
            log.warning("jpush: %d ids not sent: %s", len(call), resp.error)
            return transport_results(messages, resp), False
        seen = self._observe(resp)
        payload = json_body(resp)
        if 200 <= resp.status_code < 300:
            msg_id = payload.get("msg_id") if isinstance(payload, dict) else None
            log.debug("jpush: %d ids accepted", len(call))
            gateway_id = None if msg_id is None else str(msg_id)
            return every(messages, Outcome.DELIVERED, gateway_id=gateway_id), False
        code, text = _error(payload)
        error = f"jpush_{code}: {text}" if code is not None else f"http_{resp.status_code}"
        outcome = _outcome(code, resp.status_code)
        rate_limited = resp.status_code == 429 or code == RATE_LIMITED
        retry_after = None
        if outcome is Outcome.RETRY:
            # Over the limit, X-Rate-Limit-Reset says when the window reopens.
            reset = seen.reset if seen is not None and rate_limited else None
            retry_after = reset if reset is not None else retry_after_of(resp)
            if rate_limited and retry_after is None:
                retry_after = QUOTA_WINDOW_SECONDS
        log.warning("jpush: %d ids answered %d, code %s", len(call), resp.status_code, code)
        results = every(messages, outcome, error=scrub(error, call), retry_after=retry_after)
        if rate_limited:
            results = [replace(r, throttled=True) for r in results]
        return results, rate_limited

    def _calls(self, batch: Sequence[PushMessage]) -> list[dict[str, list[PushMessage]]]:
        """One call per identical content (one platform each, so a body a platform rejects
        fails only that platform), at most 1000 distinct ids each. A call is a map id -> the
        messages for it (a batch may hold the same device twice)."""
        groups: dict[str, dict[str, list[PushMessage]]] = {}
        for msg in batch:
            key = json.dumps(self._content(msg), ensure_ascii=False, sort_keys=True)
            groups.setdefault(key, {}).setdefault(msg.token, []).append(msg)
        return [
            {token: by_token[token] for token in ids}
            for by_token in groups.values()
            for ids in chunked(list(by_token), MAX_REGISTRATION_IDS)
        ]

    def _content(self, sample: PushMessage) -> dict[str, Any]:
        """The body of a push of `sample` but its audience and `options.sendno`."""
        platform = PLATFORM_KEYS[sample.platform]
        extras = {k: v for k, v in sample.data.items() if k != "notificationId"}
        section: dict[str, Any]
        if sample.platform is Platform.IOS:
            section = {"alert": {"title": sample.title, "body": sample.body}, "sound": "default"}
            if sample.badge is not None:
                section["badge"] = sample.badge
        elif sample.platform is Platform.HARMONY:
            section = {"alert": sample.body, "title": sample.title, "category": self.hmos_category}
            if self.hmos_intent_url:
                section["intent"] = {"url": self.hmos_intent_url}
            if sample.badge is not None:
                section["badge_set_num"] = sample.badge
        else:
            section = {"alert": sample.body, "title": sample.title}
        section["extras"] = extras
        options: dict[str, Any] = {
            "time_to_live": self.time_to_live,
            "apns_production": self.apns_production,
        }
        if sample.platform is Platform.IOS and sample.collapse_key:
            collapse = sample.collapse_key.encode()[:APNS_COLLAPSE_ID_MAX_BYTES]
            options["apns_collapse_id"] = collapse.decode("utf-8", "ignore")
        if sample.platform is Platform.ANDROID:
            options["third_party_channel"] = {
                vendor: {"distribution": self.distribution} for vendor in VENDOR_CHANNELS
            }
        return {
            "platform": [platform],
            "notification": {"alert": sample.body, platform: section},
            "options": options,
        }

    def _next_sendno(self) -> int:
        # A non-zero int echoed back to match calls in JPush's records.
        return (next(self._sendno) - 1) % (2**31 - 1) + 1

    def _observe(self, resp: httpx.Response) -> RateLimit | None:
        """Keep this answer's rate-limit headers (JPush sends them on every answer)."""
        h = resp.headers
        if not any(
            k in h for k in ("X-Rate-Limit-Quota", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
        ):
            return None
        self.rate_limit = RateLimit(
            quota=_int(h.get("X-Rate-Limit-Quota")),
            remaining=_int(h.get("X-Rate-Limit-Remaining")),
            reset=parse_retry_after(h.get("X-Rate-Limit-Reset")),
            observed_at=time.monotonic(),
        )
        return self.rate_limit


def _error(payload: Any) -> tuple[int | None, str]:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        return _int(err.get("code")), str(err.get("message") or "")
    return None, ""


def _outcome(code: int | None, status: int) -> Outcome:
    if code == NO_TARGET:
        return Outcome.DEAD_TOKEN
    if code in RETRY_CODES or code in ACCOUNT_CODES:
        return Outcome.RETRY
    if code in PERMANENT_CODES:
        return Outcome.PERMANENT
    return outcome_for_status(status)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
