"""The log, webhook, gorush and JPush adapters and the registry, over real HTTP against the
loopback fakes in tests/gateways (no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from notifications.adapters.gorush import GorushGateway, hide_token
from notifications.adapters.http import parse_retry_after, transport_error
from notifications.adapters.jpush import JPushGateway
from notifications.adapters.log import LogGateway
from notifications.adapters.webhook import WebhookGateway, sign, verify_signature
from notifications.config import PushConfig
from notifications.flow import is_gateway_failure
from notifications.gateway import Gateway, Outcome, Platform, PushMessage, SendResult
from notifications.registry import build_gateways, http2_available, make_client
from tests.gateways.gorush import gorush_fake
from tests.gateways.harness import Scripted, refused_url, serving
from tests.gateways.jpush import jpush_fake
from tests.gateways.webhook import webhook_fake

APP_KEY = "7d431e42dfa6a6d693ac2d04"
MASTER_SECRET = "5e987ac6d2e04d95a9d8f0d1"
WEBHOOK_SECRET = "whsec-0123456789abcdef"


def reg_id(i: int) -> str:
    """A JPush registration id shape (19 hex-ish characters)."""
    return f"1a0018970a{i:09d}"


def fcm_token(i: int) -> str:
    """An FCM/APNs token shape: long enough that gorush's hide_token keeps its middle."""
    return f"fMEP0vJqS0:APA91bH{i:08d}-Xk3q9ZTrV8wLmN2pQ7sY4uE6iO1aD5fG0hJ{i:06d}cB"


def message(
    i: int,
    token: str,
    *,
    platform: Platform = Platform.ANDROID,
    title: str = "新诉求待处理",
    body: str = "某某公司反映用电问题，请在3个工作日内处理",
    badge: int | None = None,
    note: int = 1000,
) -> PushMessage:
    """Message `m<i>` of inbox row `note` to one device. The same note (one user's devices,
    identical content) is what the adapters may merge into one gateway call."""
    return PushMessage(
        message_id=f"m{i}",
        notification_id=note,
        token=token,
        platform=platform,
        title=title,
        body=body,
        collapse_key="demand-7",
        data={"notificationId": str(note), "kind": "DEMAND_ASSIGNED", "subject": "7"},
        badge=badge,
    )


def by_id(results: list[SendResult]) -> dict[str, SendResult]:
    return {r.message_id: r for r in results}


def assert_one_each(batch: list[PushMessage], results: list[SendResult]) -> None:
    assert sorted(r.message_id for r in results) == sorted(m.message_id for m in batch)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    http = make_client(PushConfig(timeout_seconds=2.0))
    yield http
    await http.aclose()


# --- log ------------------------------------------------------------------------------------


async def test_log_gateway_delivers_and_logs_masked_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gw = LogGateway()
    token = fcm_token(1)
    [result] = await gw.send([message(1, token)])
    assert result == SendResult("m1", Outcome.DELIVERED, "log-m1")
    assert f"push to …{token[-6:]}: 新诉求待处理" in caplog.text
    assert token not in caplog.text
    assert "用电问题" not in caplog.text  # bodies are not logged
    assert gw.max_batch == 1000


# --- webhook --------------------------------------------------------------------------------


async def test_webhook_posts_signed_batch_and_keeps_gateway_id(client: httpx.AsyncClient) -> None:
    fake, app = webhook_fake(WEBHOOK_SECRET)
    async with serving(app) as url:
        gw = WebhookGateway(client, f"{url}/push", WEBHOOK_SECRET)
        batch = [message(1, fcm_token(1), platform=Platform.IOS, badge=3), message(2, fcm_token(2))]
        before = int(time.time())
        results = await gw.send(batch)
        after = time.time()
    assert_one_each(batch, results)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    assert {r.gateway_id for r in results} == {"wh-1"}
    [req] = fake.requests
    assert req.path == "/push"
    first = req.body["messages"][0]
    assert first == {
        "id": "m1",
        "notificationId": 1000,
        "token": fcm_token(1),
        "platform": "IOS",
        "title": "新诉求待处理",
        "body": "某某公司反映用电问题，请在3个工作日内处理",
        "collapseKey": "demand-7",
        "data": {"notificationId": "1000", "kind": "DEMAND_ASSIGNED", "subject": "7"},
        "badge": 3,
    }
    assert before <= int(req.headers["x-desk-timestamp"]) <= after  # the time it was sent
    assert req.headers["x-desk-signature"].startswith("sha256=")


def test_webhook_signature_verifies_and_a_tampered_body_does_not() -> None:
    ts = str(int(time.time()))
    body = b'{"messages":[{"id":"m1","title":"a"}]}'
    header = sign(WEBHOOK_SECRET, ts, body)
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256)
    assert header == "sha256=" + expected.hexdigest()
    assert verify_signature(WEBHOOK_SECRET, ts, body, header)
    assert not verify_signature(WEBHOOK_SECRET, ts, body.replace(b'"a"', b'"b"'), header)
    assert not verify_signature("another-secret", ts, body, header)
    assert not verify_signature(WEBHOOK_SECRET, str(int(ts) + 1), body, header)
    assert not verify_signature(WEBHOOK_SECRET, ts, body, None)
    # A replay an hour later is refused; the age check can be turned off.
    later = time.time() + 3600
    assert not verify_signature(WEBHOOK_SECRET, ts, body, header, now=later)
    assert verify_signature(WEBHOOK_SECRET, ts, body, header, now=later, max_age_seconds=None)


async def test_webhook_wrong_secret_is_refused_by_receiver_and_permanent(
    client: httpx.AsyncClient,
) -> None:
    fake, app = webhook_fake(WEBHOOK_SECRET)
    async with serving(app) as url:
        results = await WebhookGateway(client, url, "not-the-secret").send([message(1, "t" * 30)])
    assert results == [SendResult("m1", Outcome.PERMANENT, error="http_401")]
    assert len(fake.requests) == 1


async def test_webhook_status_mapping(client: httpx.AsyncClient) -> None:
    fake, app = webhook_fake(WEBHOOK_SECRET)
    retry_at = formatdate(time.time() + 120, usegmt=True)
    fake.then(
        Scripted(429, {"error": "slow down"}, {"Retry-After": retry_at}),
        Scripted(503, "unavailable", {"Retry-After": "30"}),
        Scripted(410, {"error": "gone"}),
        Scripted(400, {"error": "bad"}),
    )
    async with serving(app) as url:
        gw = WebhookGateway(client, url, WEBHOOK_SECRET)
        [limited] = await gw.send([message(1, "a" * 30)])
        [down] = await gw.send([message(2, "b" * 30)])
        [gone] = await gw.send([message(3, "c" * 30)])
        [bad] = await gw.send([message(4, "d" * 30)])
    assert limited.outcome is Outcome.RETRY and limited.error == "http_429"
    assert limited.retry_after is not None and 115 <= limited.retry_after <= 121
    assert (down.outcome, down.retry_after, down.error) == (Outcome.RETRY, 30.0, "http_503")
    # A webhook has no token semantics: 410 is permanent, never a dead token.
    assert (gone.outcome, gone.error) == (Outcome.PERMANENT, "http_410")
    assert bad.outcome is Outcome.PERMANENT


async def test_webhook_splits_batches_of_100(client: httpx.AsyncClient) -> None:
    fake, app = webhook_fake(WEBHOOK_SECRET)
    batch = [message(i, fcm_token(i)) for i in range(250)]
    async with serving(app) as url:
        results = await WebhookGateway(client, url, WEBHOOK_SECRET).send(batch)
    assert_one_each(batch, results)
    assert [len(r.body["messages"]) for r in fake.requests] == [100, 100, 50]


# --- gorush ---------------------------------------------------------------------------------


async def test_gorush_sends_grouped_notifications_and_delivers(client: httpx.AsyncClient) -> None:
    fake, app = gorush_fake()
    batch = [
        message(1, fcm_token(1)),
        message(2, fcm_token(2)),
        message(3, fcm_token(3), platform=Platform.IOS, badge=2),
        message(4, fcm_token(4), platform=Platform.HARMONY),
        message(5, fcm_token(5), title="另一条"),
    ]
    async with serving(app) as url:
        results = await GorushGateway(client, url).send(batch)
    assert_one_each(batch, results)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    [req] = fake.requests
    assert req.path == "/api/push"
    notes = req.body["notifications"]
    assert len(notes) == 4  # the two identical Android messages share one notification
    android, ios, huawei, other = notes
    assert android["platform"] == 2 and android["tokens"] == [fcm_token(1), fcm_token(2)]
    assert android["title"] == "新诉求待处理" and android["message"].startswith("某某公司")
    assert android["data"]["kind"] == "DEMAND_ASSIGNED" and "collapse_key" not in android
    assert android["android"] == {"collapse_key": "demand-7"}  # gorush 1.18+: AndroidConfig
    assert ios["platform"] == 1 and ios["collapse_id"] == "demand-7" and ios["badge"] == 2
    assert huawei["platform"] == 3 and json.loads(huawei["huawei_data"])["subject"] == "7"
    assert other["title"] == "另一条" and other["tokens"] == [fcm_token(5)]
    assert len({n["notif_id"] for n in notes}) == 4


async def test_gorush_limits_500_tokens_per_notification_100_per_call(
    client: httpx.AsyncClient,
) -> None:
    fake, app = gorush_fake()
    assert GorushGateway.max_batch == 500
    # 100 contents x 500 devices fill one call exactly; one more device needs another.
    batch = [
        message(c * 500 + d, f"tok-{c}-{d}", title=f"t{c}") for c in range(100) for d in range(500)
    ]
    batch.append(message(10**6, "tok-extra", title="one more"))
    async with serving(app) as url:
        results = await GorushGateway(client, url).send(batch)
    assert len(results) == len(batch)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    shapes = [[len(n["tokens"]) for n in r.body["notifications"]] for r in fake.requests]
    assert shapes == [[500] * 100, [1]]


async def test_gorush_dead_and_failed_tokens(client: httpx.AsyncClient) -> None:
    dead_fcm, dead_apns, flaky = fcm_token(1), fcm_token(2), fcm_token(3)
    _, app = gorush_fake(
        dead={dead_fcm: "NotRegistered", dead_apns: "BadDeviceToken"},
        failing={flaky: f"Post https://api.push.apple.com/3/device/{flaky}: remote error"},
    )
    batch = [
        message(1, dead_fcm),
        message(2, dead_apns, platform=Platform.IOS),
        message(3, flaky, platform=Platform.IOS),
        message(4, fcm_token(4)),
    ]
    async with serving(app) as url:
        results = by_id(await GorushGateway(client, url).send(batch))
    assert (
        results["m1"].outcome is Outcome.DEAD_TOKEN
        and results["m1"].error == "gorush: NotRegistered"
    )
    assert results["m2"].outcome is Outcome.DEAD_TOKEN
    assert results["m3"].outcome is Outcome.RETRY
    assert flaky not in (results["m3"].error or "") and "remote error" in (
        results["m3"].error or ""
    )
    assert results["m4"].outcome is Outcome.DELIVERED


async def test_gorush_matches_hidden_tokens(client: httpx.AsyncClient) -> None:
    dead = fcm_token(7)
    _, app = gorush_fake(dead={dead: "Unregistered"}, hide_token=True)
    batch = [message(i, fcm_token(i)) for i in range(5, 10)]
    async with serving(app) as url:
        results = by_id(await GorushGateway(client, url).send(batch))
    shown = hide_token(dead)
    assert shown != dead and shown.startswith("*" * 10)
    assert results["m7"].outcome is Outcome.DEAD_TOKEN
    assert [r.outcome for k, r in results.items() if k != "m7"] == [Outcome.DELIVERED] * 4


async def test_gorush_ambiguous_hidden_token_is_retried_not_deleted(
    client: httpx.AsyncClient,
) -> None:
    # Short tokens are hidden entirely, so "****..." could be any of them.
    short = ["abcdefghij12", "zyxwvutsrq98"]
    _, app = gorush_fake(dead={short[0]: "NotRegistered"}, hide_token=True)
    async with serving(app) as url:
        results = await GorushGateway(client, url).send(
            [message(1, short[0]), message(2, short[1])]
        )
    assert {r.outcome for r in results} == {Outcome.RETRY}


async def test_gorush_http_errors(client: httpx.AsyncClient) -> None:
    fake, app = gorush_fake()
    fake.then(
        Scripted(400, {"code": 400, "message": "Number of notifications(101) over limit(100)"}),
        Scripted(500, {"code": 500, "message": "internal"}),
        Scripted(429, {"message": "slow down"}, {"Retry-After": "7"}),
    )
    async with serving(app) as url:
        gw = GorushGateway(client, url)
        bad = await gw.send([message(1, fcm_token(1)), message(2, fcm_token(2), title="x")])
        [down] = await gw.send([message(3, fcm_token(3))])
        # Over the limit: the second call (another content) is not even tried.
        limited = await gw.send(
            [message(4, fcm_token(4))]
            + [message(5 + i, fcm_token(5 + i), title=f"t{i}") for i in range(100)]
        )
    assert {r.outcome for r in bad} == {Outcome.PERMANENT}
    assert bad[0].error == "gorush_400: Number of notifications(101) over limit(100)"
    assert down.outcome is Outcome.RETRY and down.error == "gorush_500: internal"
    assert len(limited) == 101 and {(r.outcome, r.retry_after) for r in limited} == {
        (Outcome.RETRY, 7.0)
    }
    assert len(fake.requests) == 3


# --- JPush ----------------------------------------------------------------------------------


async def test_jpush_success_body_auth_and_rate_limit(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET, quota=600, reset_seconds=42)
    batch = [message(i, reg_id(i)) for i in range(3)]
    batch.append(message(3, reg_id(3), platform=Platform.IOS, badge=5))
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET, apns_production=False)
        results = await gw.send(batch)
    assert_one_each(batch, results)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    android_req, ios_req = fake.requests
    assert android_req.path == "/v3/push"
    auth = base64.b64encode(f"{APP_KEY}:{MASTER_SECRET}".encode()).decode()
    assert android_req.headers["authorization"] == f"Basic {auth}"
    body = android_req.body
    assert body["platform"] == ["android"]
    assert body["audience"] == {"registration_id": [reg_id(0), reg_id(1), reg_id(2)]}
    assert body["notification"]["android"] == {
        "alert": "某某公司反映用电问题，请在3个工作日内处理",
        "title": "新诉求待处理",
        "extras": {"kind": "DEMAND_ASSIGNED", "subject": "7"},  # the same for every recipient
    }
    assert list(body) == ["platform", "audience", "notification", "options"]
    assert body["options"]["sendno"] >= 1 and body["options"]["apns_production"] is False
    assert body["options"]["time_to_live"] == 86400  # explicit: JPush's default, one day
    assert body["options"]["third_party_channel"]["xiaomi"] == {"distribution": "secondary_push"}
    assert set(body["options"]["third_party_channel"]) == {
        "xiaomi",
        "huawei",
        "honor",
        "oppo",
        "vivo",
    }
    ios = ios_req.body
    assert ios["platform"] == ["ios"]
    assert ios["notification"]["ios"]["alert"] == {
        "title": "新诉求待处理",
        "body": "某某公司反映用电问题，请在3个工作日内处理",
    }
    assert ios["notification"]["ios"]["badge"] == 5
    assert ios["options"]["apns_collapse_id"] == "demand-7"
    # The gateway id is JPush's msg_id of the call each message went in.
    ids = by_id(results)
    assert ids["m0"].gateway_id == ids["m2"].gateway_id != ids["m3"].gateway_id
    assert ids["m0"].gateway_id and ids["m0"].gateway_id.isdigit()
    assert gw.rate_limit is not None
    assert (gw.rate_limit.quota, gw.rate_limit.remaining, gw.rate_limit.reset) == (600, 598, 42.0)


async def test_jpush_1200_ids_take_two_calls(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    batch = [message(i, reg_id(i)) for i in range(1200)]
    async with serving(app) as url:
        results = await JPushGateway(client, url, APP_KEY, MASTER_SECRET).send(batch)
    assert_one_each(batch, results)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    sizes = [len(r.body["audience"]["registration_id"]) for r in fake.requests]
    assert sizes == [1000, 200]
    assert len({r.gateway_id for r in results}) == 2


async def test_jpush_recipients_of_the_same_content_share_a_call(
    client: httpx.AsyncClient,
) -> None:
    """JPush's quota counts calls: every recipient of identical content goes in one call. Each
    user's inbox row id differs, so `notificationId` stays out of `extras` (the event id,
    shared by its recipients, is in `data`); an iOS badge is content, an Android one is not
    sent at all."""
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)

    def of_event(i: int, event: int, **kw: Any) -> PushMessage:
        msg = message(i, reg_id(i), note=100 + i, **kw)
        return replace(msg, data={**msg.data, "eventId": str(event)})

    batch = [
        of_event(1, 7, badge=1),
        of_event(2, 7, badge=5),
        of_event(3, 8),  # another event
        of_event(4, 7),
        of_event(5, 7, platform=Platform.IOS, badge=2),
        of_event(6, 7, platform=Platform.IOS, badge=2),
        of_event(7, 7, platform=Platform.IOS, badge=3),
    ]
    gw = JPushGateway(client, "http://unused", APP_KEY, MASTER_SECRET)
    planned = [[m.message_id for m in call] for call in gw.calls(batch)]
    assert planned == [["m1", "m2", "m4"], ["m3"], ["m5", "m6"], ["m7"]]
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET)
        results = await gw.send(batch)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    calls = [r.body["audience"]["registration_id"] for r in fake.requests]
    ids = [[reg_id(i) for i in call] for call in ((1, 2, 4), (3,), (5, 6), (7,))]
    assert calls == ids
    android = fake.requests[0].body["notification"]["android"]
    assert android["extras"] == {"kind": "DEMAND_ASSIGNED", "subject": "7", "eventId": "7"}
    assert [r.body["notification"]["ios"]["badge"] for r in fake.requests[2:]] == [2, 3]


async def test_jpush_at_most_1000_ids_per_call(client: httpx.AsyncClient) -> None:
    gw = JPushGateway(client, "http://unused", APP_KEY, MASTER_SECRET)
    batch = [message(i, reg_id(i), note=i) for i in range(2500)]
    assert [len(call) for call in gw.calls(batch)] == [1000, 1000, 500]


async def test_jpush_same_device_twice_is_one_id(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    batch = [message(1, reg_id(1)), message(2, reg_id(1))]
    async with serving(app) as url:
        results = await JPushGateway(client, url, APP_KEY, MASTER_SECRET).send(batch)
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 2
    assert fake.requests[0].body["audience"]["registration_id"] == [reg_id(1)]


async def test_jpush_1011_marks_every_id_of_the_call_dead(client: httpx.AsyncClient) -> None:
    dead = [reg_id(i) for i in range(3)]
    _, app = jpush_fake(APP_KEY, MASTER_SECRET, dead_ids=dead)
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET)
        all_dead = await gw.send([message(i, dead[i]) for i in range(3)])
        # Some ids still live: JPush answers 200 and says nothing per id.
        mixed = await gw.send([message(10, dead[0]), message(11, reg_id(11))])
    assert {r.outcome for r in all_dead} == {Outcome.DEAD_TOKEN}
    assert all_dead[0].error is not None and all_dead[0].error.startswith(
        "jpush_1011: cannot find user"
    )
    assert {r.outcome for r in mixed} == {Outcome.DELIVERED}


async def test_jpush_rate_limited_retries_after_reset(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    headers = {
        "X-Rate-Limit-Quota": "600",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": "17",
    }
    fake.then(Scripted(429, {"error": {"code": 2002, "message": "Rate limit exceeded"}}, headers))
    batch = [message(i, reg_id(i)) for i in range(1200)]
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET)
        results = await gw.send(batch)
    assert_one_each(batch, results)
    assert {(r.outcome, r.retry_after) for r in results} == {(Outcome.RETRY, 17.0)}
    assert results[0].error == "jpush_2002: Rate limit exceeded"
    assert len(fake.requests) == 1  # the second 200-id call waits for the window too
    assert gw.rate_limit is not None and gw.rate_limit.remaining == 0
    # Refused before JPush looked at it: nothing was sent, no attempt is spent on it.
    assert {r.throttled for r in results} == {True}
    spent = gw.quota_spent_for()
    assert spent is not None and 0 < spent <= 17


async def test_jpush_fake_enforces_its_call_quota(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET, quota=2, enforce_quota=True)
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET)
        [first] = await gw.send([message(1, reg_id(1), note=1)])
        assert gw.quota_spent_for() is None  # one call left in the window
        [second] = await gw.send([message(2, reg_id(2), note=2)])
        spent = gw.quota_spent_for()
        [third] = await gw.send([message(3, reg_id(3), note=3)])
    assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    assert spent is not None and 0 < spent <= 60
    assert (third.outcome, third.throttled) == (Outcome.RETRY, True)
    assert third.retry_after is not None and 0 < third.retry_after <= 60
    assert [r.status for r in fake.requests] == [200, 200, 429]


async def test_jpush_server_errors_retry_and_parameter_errors_are_permanent(
    client: httpx.AsyncClient,
) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    fake.then(
        Scripted(500, {"error": {"code": 1000, "message": "Server Internal error."}}),
        Scripted(503, "<html>busy</html>", {"Retry-After": "12"}),
        Scripted(
            400, {"error": {"code": 1003, "message": "Audience value must be JSON Array format!"}}
        ),
        Scripted(400, {"error": {"code": 1005, "message": "Msg content too long"}}),
    )
    async with serving(app) as url:
        gw = JPushGateway(client, url, APP_KEY, MASTER_SECRET)
        [internal] = await gw.send([message(1, reg_id(1))])
        [busy] = await gw.send([message(2, reg_id(2))])
        [invalid] = await gw.send([message(3, reg_id(3))])
        [too_big] = await gw.send([message(4, reg_id(4))])
    assert (internal.outcome, internal.error) == (
        Outcome.RETRY,
        "jpush_1000: Server Internal error.",
    )
    assert (busy.outcome, busy.error, busy.retry_after) == (Outcome.RETRY, "http_503", 12.0)
    assert invalid.outcome is Outcome.PERMANENT and (invalid.error or "").startswith("jpush_1003")
    assert too_big.outcome is Outcome.PERMANENT


async def test_jpush_wrong_credentials_fail_the_call_not_the_push(
    client: httpx.AsyncClient,
) -> None:
    """A wrong master secret refuses every push alike: retried (the dispatcher's breaker counts
    it as a failed call and opens), never a dead letter per push."""
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    async with serving(app) as url:
        [result] = await JPushGateway(client, url, APP_KEY, "wrong-secret").send(
            [message(1, reg_id(1))]
        )
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, None)
    assert result.error == "jpush_1004: Authen failed"
    assert is_gateway_failure([result])
    assert len(fake.requests) == 1


async def test_jpush_harmony_goes_to_hmos(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    async with serving(app) as url:
        gw = JPushGateway(
            client, url, APP_KEY, MASTER_SECRET, hmos_intent_url="deskapp://notifications"
        )
        [result] = await gw.send([message(1, reg_id(1), platform=Platform.HARMONY, badge=4)])
    assert result.outcome is Outcome.DELIVERED
    body = fake.requests[0].body
    assert body["platform"] == ["hmos"]
    hmos = body["notification"]["hmos"]
    assert hmos["category"] == "MARKETING" and hmos["intent"] == {"url": "deskapp://notifications"}
    assert hmos["badge_set_num"] == 4 and "third_party_channel" not in body["options"]


# --- transport trouble (every adapter) --------------------------------------------------------


async def test_delay_beyond_the_read_timeout_is_retry_timeout() -> None:
    http = make_client(PushConfig(timeout_seconds=0.3))
    jfake, japp = jpush_fake(APP_KEY, MASTER_SECRET)
    gfake, gapp = gorush_fake()
    wfake, wapp = webhook_fake(WEBHOOK_SECRET)
    for fake in (jfake, gfake, wfake):
        fake.then(Scripted(delay=1.0))
    try:
        async with serving(japp) as j, serving(gapp) as g, serving(wapp) as w:
            gateways: list[Gateway] = [
                JPushGateway(http, j, APP_KEY, MASTER_SECRET),
                GorushGateway(http, g),
                WebhookGateway(http, w, WEBHOOK_SECRET),
            ]
            for gw in gateways:
                assert await gw.send([message(1, reg_id(1))]) == [
                    SendResult("m1", Outcome.RETRY, error="timeout")
                ]
    finally:
        await http.aclose()


async def test_connection_refused_is_retry_connect(client: httpx.AsyncClient) -> None:
    url = refused_url()
    gateways: list[Gateway] = [
        JPushGateway(client, url, APP_KEY, MASTER_SECRET),
        GorushGateway(client, url),
        WebhookGateway(client, url, WEBHOOK_SECRET),
    ]
    for gw in gateways:
        results = await gw.send([message(1, reg_id(1)), message(2, reg_id(2))])
        assert results == [
            SendResult("m1", Outcome.RETRY, error="connect"),
            SendResult("m2", Outcome.RETRY, error="connect"),
        ]


async def test_a_dropped_connection_is_retried(client: httpx.AsyncClient) -> None:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET)
    fake.then(Scripted(drop=True))
    async with serving(app) as url:
        [result] = await JPushGateway(client, url, APP_KEY, MASTER_SECRET).send(
            [message(1, reg_id(1))]
        )
    assert result.outcome is Outcome.RETRY


def test_transport_error_codes() -> None:
    req = httpx.Request("POST", "http://gateway")
    assert transport_error(httpx.ConnectError("x", request=req)) == "connect"
    assert transport_error(httpx.ConnectTimeout("x", request=req)) == "connect_timeout"
    assert transport_error(httpx.ReadTimeout("x", request=req)) == "timeout"
    assert transport_error(httpx.PoolTimeout("x", request=req)) == "pool_timeout"
    assert transport_error(httpx.RemoteProtocolError("x", request=req)) == "protocol"
    assert transport_error(httpx.ReadError("x", request=req)) == "read"


def test_parse_retry_after() -> None:
    now = time.time()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1)
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


# --- secrets stay out of logs and results ----------------------------------------------------


async def test_tokens_and_secrets_never_reach_logs_or_errors(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [fcm_token(i) for i in range(4)] + [reg_id(i) for i in range(4)]
    _, gapp = gorush_fake(
        dead={tokens[0]: "BadDeviceToken"},
        failing={tokens[1]: f"Post https://api.push.apple.com/3/device/{tokens[1]}: tls"},
    )
    _, japp = jpush_fake(APP_KEY, MASTER_SECRET, dead_ids=tokens[4:6])
    wfake, wapp = webhook_fake(WEBHOOK_SECRET)
    wfake.then(Scripted(500, {"error": f"cannot deliver to {tokens[2]}"}))
    results: list[SendResult] = []
    async with serving(gapp) as g, serving(japp) as j, serving(wapp) as w:
        gorush = GorushGateway(client, g)
        results += await gorush.send([message(9, tokens[3])])
        results += await gorush.send(
            [message(i, tokens[i], platform=Platform.IOS) for i in range(4)]
        )
        jpush = JPushGateway(client, j, APP_KEY, MASTER_SECRET)
        results += await jpush.send([message(4, tokens[4]), message(5, tokens[5])])
        results += await jpush.send([message(6, tokens[6])])
        results += await WebhookGateway(client, w, WEBHOOK_SECRET).send([message(2, tokens[2])])
        results += await WebhookGateway(client, w, WEBHOOK_SECRET).send([message(7, tokens[7])])
        results += await LogGateway().send([message(8, tokens[0])])
        results += await JPushGateway(client, refused_url(), APP_KEY, MASTER_SECRET).send(
            [message(9, tokens[1])]
        )
    outcomes = {r.outcome for r in results}
    assert {Outcome.DELIVERED, Outcome.DEAD_TOKEN, Outcome.RETRY} <= outcomes
    logged = caplog.text
    assert logged  # the adapters did log (counts, masked tokens)
    for token in tokens:
        assert token not in logged
        assert all(token not in (r.error or "") for r in results)
    for secret in (
        MASTER_SECRET,
        WEBHOOK_SECRET,
        base64.b64encode(f"{APP_KEY}:{MASTER_SECRET}".encode()).decode(),
    ):
        assert secret not in logged
    gw = JPushGateway(client, "http://x", APP_KEY, MASTER_SECRET)
    assert MASTER_SECRET not in repr(gw)
    assert WEBHOOK_SECRET not in repr(WebhookGateway(client, "http://x", WEBHOOK_SECRET))


# --- registry -------------------------------------------------------------------------------


async def test_make_client_has_explicit_timeouts_and_limits() -> None:
    http = make_client(PushConfig(timeout_seconds=7.5, max_connections=12, providers=("jpush",)))
    try:
        assert http.timeout == httpx.Timeout(connect=5.0, read=7.5, write=7.5, pool=7.5)
        pool = http._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 12 and pool._max_keepalive_connections == 12
        assert pool._http2 is False  # only FCM wants HTTP/2
    finally:
        await http.aclose()
    http = make_client(PushConfig(providers=("fcm",)))
    try:
        assert http._transport._pool._http2 is http2_available()  # type: ignore[attr-defined]
    finally:
        await http.aclose()


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"PUSH_PROVIDER": "jpush"}, "JPUSH_APP_KEY"),
        ({"PUSH_PROVIDER": "jpush", "JPUSH_APP_KEY": APP_KEY}, "JPUSH_MASTER_SECRET"),
        ({"PUSH_PROVIDER": "webhook", "PUSH_WEBHOOK_SECRET": WEBHOOK_SECRET}, "PUSH_WEBHOOK_URL"),
        (
            {"PUSH_PROVIDER": "log,webhook", "PUSH_WEBHOOK_URL": "https://push.example.cn/hook"},
            "PUSH_WEBHOOK_SECRET",
        ),
        ({"PUSH_PROVIDER": "gorush", "GORUSH_URL": ""}, "GORUSH_URL"),
    ],
)
async def test_build_gateways_names_the_missing_variable(
    client: httpx.AsyncClient, env: dict[str, str], missing: str
) -> None:
    with pytest.raises(ValueError, match=missing) as info:
        build_gateways(PushConfig.from_env(env), client)
    for value in env.values():
        if value and value not in ("jpush", "webhook", "gorush", "log,webhook"):
            assert value not in str(info.value)


async def test_build_gateways_defaults_and_public_addresses(client: httpx.AsyncClient) -> None:
    gateways = build_gateways(PushConfig.from_env({}), client)
    assert list(gateways) == ["log"] and isinstance(gateways["log"], LogGateway)
    env = {
        "PUSH_PROVIDER": "jpush,gorush,webhook",
        "JPUSH_APP_KEY": APP_KEY,
        "JPUSH_MASTER_SECRET": MASTER_SECRET,
        "GORUSH_URL": "http://gorush.internal:8088/",
        "PUSH_WEBHOOK_URL": "https://push.example.cn/hook",
        "PUSH_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    gateways = build_gateways(PushConfig.from_env(env), client)
    assert list(gateways) == ["jpush", "gorush", "webhook"]
    jpush, gorush, webhook = gateways.values()
    assert isinstance(jpush, JPushGateway) and jpush.url == "https://api.jpush.cn/v3/push"
    assert (
        isinstance(gorush, GorushGateway) and gorush.url == "http://gorush.internal:8088/api/push"
    )
    assert isinstance(webhook, WebhookGateway) and webhook.url == "https://push.example.cn/hook"
    with pytest.raises(ValueError, match="PUSH_BASE_URL"):
        build_gateways(PushConfig.from_env({**env, "PUSH_BASE_URL": "ftp://relay"}), client)


async def test_push_base_url_overrides_every_address(client: httpx.AsyncClient) -> None:
    jfake, japp = jpush_fake(APP_KEY, MASTER_SECRET)
    gfake, gapp = gorush_fake()
    relay = Starlette(routes=[*japp.routes, *gapp.routes])
    async with serving(relay) as url:
        env = {
            "PUSH_PROVIDER": "jpush,gorush",
            "PUSH_BASE_URL": url,
            "JPUSH_APP_KEY": APP_KEY,
            "JPUSH_MASTER_SECRET": MASTER_SECRET,
            "GORUSH_URL": "http://gorush.invalid:8088",
        }
        gateways = build_gateways(PushConfig.from_env(env), client)
        for gw in gateways.values():
            [result] = await gw.send([message(1, reg_id(1))])
            assert result.outcome is Outcome.DELIVERED
    assert [r.path for r in jfake.requests] == ["/v3/push"]
    assert [r.path for r in gfake.requests] == ["/api/push"]
