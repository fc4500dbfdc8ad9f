"""gorush as it is today (1.18+, read at 1.22): the texts it relays for gone tokens, the
Android collapse key it reads, and its async mode, which answers before sending and lists no
failure, so that pushes to it are held (and said to be) rather than recorded delivered. The
adapter against the loopback gorush in tests/gateways, and the dispatcher on a real database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from models.rules.notification_kinds import PushStatus
from models.tables.notifications import Device
from notifications.adapters.gorush import (
    MODE_RECHECK_SECONDS,
    GorushGateway,
    GorushMode,
    parse_mode,
)
from notifications.config import PushConfig
from notifications.dispatcher import Dispatcher
from notifications.gateway import Outcome, Platform, SendResult
from notifications.registry import make_client
from server.app import push_delivery
from server.settings import Settings
from tests.conftest import TEST_SECRET
from tests.gateways.gorush import (
    APNS_BAD_TOKEN,
    APNS_NOT_FOR_TOPIC,
    APNS_UNREGISTERED,
    FCM_INVALID_TOKEN,
    FCM_SENDER_MISMATCH,
    FCM_UNREGISTERED,
    gorush_fake,
)
from tests.gateways.harness import serving
from tests.test_dispatcher import NOW, pending, rows, tell, user_with_devices
from tests.test_push_adapters import by_id, fcm_token, message

ALL = frozenset({"ios", "android", "huawei"})


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    http = make_client(PushConfig(timeout_seconds=2.0))
    yield http
    await http.aclose()


def gorush_errors(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "notifications.adapters.gorush" and r.levelno == level
    ]


# --- what gorush relays for a token that is gone ----------------------------------------------


@pytest.mark.parametrize(
    ("platform", "reason"),
    [
        (Platform.ANDROID, FCM_UNREGISTERED),  # FCM HTTP v1 UNREGISTERED, gorush 1.18+
        (Platform.ANDROID, FCM_INVALID_TOKEN),  # FCM HTTP v1 INVALID_ARGUMENT on the token
        (Platform.ANDROID, "NotRegistered"),  # the legacy FCM API, gorush before 1.18
        (Platform.IOS, APNS_UNREGISTERED),
        (Platform.IOS, "ExpiredToken"),
        (Platform.IOS, APNS_BAD_TOKEN),
    ],
)
async def test_a_gone_token_is_dead_on_every_text_gorush_relays_for_it(
    client: httpx.AsyncClient, platform: Platform, reason: str
) -> None:
    gone = fcm_token(2)
    # gorush's default config hides tokens in its logs: matched on the mask.
    _, app = gorush_fake(dead={gone: reason}, hide_token=True)
    batch = [message(i, fcm_token(i), platform=platform) for i in range(1, 4)]
    async with serving(app) as url:
        results = by_id(await GorushGateway(client, url).send(batch))
    assert results["m2"] == SendResult("m2", Outcome.DEAD_TOKEN, error=f"gorush: {reason}")
    assert results["m1"].outcome is results["m3"].outcome is Outcome.DELIVERED


async def test_what_a_misconfigured_gorush_says_of_every_token_is_retried(
    client: httpx.AsyncClient,
) -> None:
    """A wrong FCM sender or APNs topic fails every token alike: deleting the devices would
    wipe them all, so these are retried (and end DEAD with their reason), devices kept."""
    android, iphone = fcm_token(1), fcm_token(2)
    _, app = gorush_fake(
        failing={android: FCM_SENDER_MISMATCH, iphone: APNS_NOT_FOR_TOPIC}, hide_token=True
    )
    async with serving(app) as url:
        results = await GorushGateway(client, url).send(
            [message(1, android), message(2, iphone, platform=Platform.IOS)]
        )
    assert {(r.outcome, r.error) for r in results} == {
        (Outcome.RETRY, f"gorush: {FCM_SENDER_MISMATCH}"),
        (Outcome.RETRY, f"gorush: {APNS_NOT_FOR_TOPIC}"),
    }


async def test_the_dispatcher_removes_a_device_fcm_v1_no_longer_knows(db: str) -> None:
    user, [gone, kept] = await user_with_devices(2)
    await tell([user])
    _, app = gorush_fake(dead={gone.token: FCM_UNREGISTERED}, hide_token=True)
    async with serving(app) as url, make_client(PushConfig()) as http:
        assert await Dispatcher({"gorush": GorushGateway(http, url)}).run_once(NOW) == 2
    assert not await Device.filter(id=gone.id).exists()
    assert await Device.filter(id=kept.id).exists()
    statuses = sorted((r.status.value, r.last_error or "") for r in await rows())
    assert statuses[1] == ("DELIVERED", "")
    assert statuses[0][0] == "DEAD" and FCM_UNREGISTERED in statuses[0][1]
    assert gone.token not in statuses[0][1]


# --- gorush's mode -----------------------------------------------------------------------------


async def test_an_async_gorush_gets_no_push_until_it_runs_sync(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    dead = fcm_token(3)
    fake, app = gorush_fake(sync=False, dead={dead: FCM_UNREGISTERED})
    clock = Clock()
    batch = [message(i, fcm_token(i)) for i in range(1, 4)]
    async with serving(app) as url:
        gw = GorushGateway(client, url, clock=clock)
        held = await gw.send(batch)
        assert held == [
            SendResult(f"m{i}", Outcome.RETRY, error="gorush_async_mode", retry_after=300.0)
            for i in range(1, 4)
        ]
        assert fake.requests == [] and fake.config_reads == 1
        [said] = gorush_errors(caplog, logging.ERROR)
        assert "core.sync: true" in said and "GORUSH_ALLOW_ASYNC" in said
        # Within the recheck interval the mode is not read again...
        clock.now += MODE_RECHECK_SECONDS - 1
        assert {r.error for r in await gw.send(batch)} == {"gorush_async_mode"}
        assert fake.config_reads == 1
        # ...after it, the restarted gorush is found in sync mode and reports the dead token.
        fake.sync = True
        clock.now += 1
        results = by_id(await gw.send(batch))
    assert fake.config_reads == 2 and len(fake.requests) == 1
    assert results["m3"].outcome is Outcome.DEAD_TOKEN
    assert results["m1"].outcome is results["m2"].outcome is Outcome.DELIVERED


async def test_a_queue_engine_other_than_local_makes_gorush_async(
    client: httpx.AsyncClient,
) -> None:
    """gorush turns core.sync off by itself when its queue is not the local one."""
    fake, app = gorush_fake(sync=True, engine="redis")
    async with serving(app) as url:
        gw = GorushGateway(client, url)
        assert await gw.mode() == GorushMode(sync=False, platforms=ALL)
        [result] = await gw.send([message(1, fcm_token(1))])
    assert result.outcome is Outcome.RETRY and result.error == "gorush_async_mode"
    assert fake.requests == []


async def test_async_gorush_answers_empty_logs_and_allowed_it_is_sent_loudly(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """GORUSH_ALLOW_ASYNC: sent, and recorded delivered since gorush lists nothing, not even
    the token it will find gone; said once as a warning."""
    gone = fcm_token(2)
    fake, app = gorush_fake(sync=False, dead={gone: FCM_UNREGISTERED})
    async with serving(app) as url:
        gw = GorushGateway(client, url, allow_async=True)
        results = await gw.send([message(1, fcm_token(1)), message(2, gone)])
        await gw.send([message(3, fcm_token(3))])
        response = await client.post(
            f"{url}/api/push", json={"notifications": [{"tokens": [gone], "platform": 2}]}
        )
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    assert response.json() == {"counts": 1, "logs": [], "success": "ok"}
    assert len(fake.requests) == 3
    [said] = gorush_errors(caplog, logging.WARNING)
    assert "GORUSH_ALLOW_ASYNC is on" in said
    assert gorush_errors(caplog, logging.ERROR) == []


async def test_an_unreadable_config_is_said_once_and_answers_are_trusted(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy that passes only /api/push: the mode cannot be known; gorush's answers are
    taken as sync ones and the doubt is logged once, not at every reading."""
    gone = fcm_token(2)
    fake, app = gorush_fake(serve_config=False, dead={gone: FCM_UNREGISTERED})
    clock = Clock()
    async with serving(app) as url:
        gw = GorushGateway(client, url, clock=clock)
        first = by_id(await gw.send([message(1, fcm_token(1)), message(2, gone)]))
        clock.now += MODE_RECHECK_SECONDS
        await gw.send([message(3, fcm_token(3))])
    assert first["m2"].outcome is Outcome.DEAD_TOKEN and first["m1"].outcome is Outcome.DELIVERED
    assert fake.config_reads == 2
    [said] = gorush_errors(caplog, logging.WARNING)
    assert "answered 404" in said and "cannot tell" in said


async def test_a_config_read_that_failed_is_tried_again_on_the_next_send(
    client: httpx.AsyncClient,
) -> None:
    fake, app = gorush_fake(sync=False)
    async with serving(app) as url:
        gw = GorushGateway(client, url)
        fake.down = True
        [down] = await gw.send([message(1, fcm_token(1))])
        fake.down = False
        [held] = await gw.send([message(2, fcm_token(2))])
    assert (down.outcome, down.error) == (Outcome.RETRY, "http_503")  # it did try the push
    assert (held.outcome, held.error) == (Outcome.RETRY, "gorush_async_mode")
    assert fake.config_reads == 2 and len(fake.requests) == 1


async def test_a_platform_gorush_has_not_enabled_is_held_not_recorded_delivered(
    client: httpx.AsyncClient,
) -> None:
    """gorush drops a notification to a disabled platform unsent, unlisted and uncounted."""
    fake, app = gorush_fake(platforms=(2,))  # Android only
    batch = [
        message(1, fcm_token(1)),
        message(2, fcm_token(2), platform=Platform.IOS),
        message(3, fcm_token(3), platform=Platform.HARMONY),
    ]
    async with serving(app) as url:
        results = by_id(await GorushGateway(client, url).send(batch))
    assert results["m1"].outcome is Outcome.DELIVERED
    assert results["m2"] == SendResult(
        "m2", Outcome.RETRY, error="gorush_platform_off: ios", retry_after=300.0
    )
    assert results["m3"].error == "gorush_platform_off: huawei"
    [req] = fake.requests
    assert [n["platform"] for n in req.body["notifications"]] == [2]


async def test_the_fake_drops_disabled_platforms_like_gorush(client: httpx.AsyncClient) -> None:
    """What the adapter guards against: counts leaves the iOS token out, logs say nothing."""
    _, app = gorush_fake(platforms=(2,), dead={"ios-token": APNS_BAD_TOKEN})
    async with serving(app) as url:
        resp = await client.post(
            f"{url}/api/push",
            json={
                "notifications": [
                    {"tokens": ["ios-token"], "platform": 1, "message": "x"},
                    {"tokens": ["a", "b"], "platform": 2, "message": "x"},
                ]
            },
        )
    assert resp.json() == {"counts": 2, "logs": [], "success": "ok"}


async def test_gorush_mode_is_said_at_start_up_before_any_push(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`serve`/`worker` read gorush's mode as the dispatcher starts; its pushes stay pending
    with the reason instead of being recorded delivered."""
    user, _ = await user_with_devices(1)
    fake, app = gorush_fake(sync=False)
    async with serving(app) as url:
        settings = Settings(
            database_url=db,
            secret_key=TEST_SECRET,
            push=PushConfig(providers=("gorush",), gorush_url=url),
        )
        async with push_delivery(settings):
            for _ in range(500):  # a bound, not a timing: the first read is what we wait for
                if gorush_errors(caplog, logging.ERROR):
                    break
                await asyncio.sleep(0.01)
            assert fake.config_reads >= 1
            assert "async mode" in gorush_errors(caplog, logging.ERROR)[0]
    await tell([user], NOW)
    async with serving(app) as url, make_client(PushConfig()) as http:
        assert await Dispatcher({"gorush": GorushGateway(http, url)}).run_once(NOW) == 1
    [row] = await rows()
    assert row.status is PushStatus.PENDING and row.last_error == "gorush_async_mode"
    assert await pending() == 1 and fake.requests == []


# --- reading gorush's config ---------------------------------------------------------------


def test_parse_mode_reads_any_indentation_and_only_the_first_level() -> None:
    four = (
        "core:\n    enabled: true\n    sync: true\n"
        "ios:\n    enabled: false\n"
        "android:\n    enabled: true\n"
        "huawei:\n    enabled: true\n"
        "queue:\n    engine: local\n    redis:\n        engine: redis\n"
    )
    assert parse_mode(four) == GorushMode(sync=True, platforms=frozenset({"android", "huawei"}))
    quoted = "core:\n  sync: 'true'\nqueue:\n  engine: \"nats\"\nios:\n  enabled: true\n"
    assert parse_mode(quoted) == GorushMode(sync=False, platforms=frozenset({"ios"}))
    assert parse_mode("core:\n  sync: false\n") == GorushMode(sync=False, platforms=frozenset())
    assert parse_mode("<html><body>Welcome to nginx!</body></html>") is None
    assert parse_mode('{"sync": true}') is None


async def test_gorush_allow_async_setting(client: httpx.AsyncClient) -> None:
    assert PushConfig.from_env({}).gorush_allow_async is False
    on = PushConfig.from_env({"PUSH_PROVIDER": "gorush", "GORUSH_ALLOW_ASYNC": "on"})
    assert GorushGateway.from_config(on, client).allow_async is True
    with pytest.raises(ValueError, match="GORUSH_ALLOW_ASYNC must be on or off"):
        PushConfig.from_env({"GORUSH_ALLOW_ASYNC": "maybe"})
