"""The outbox dispatcher (docs/design.md section 9.5) against a real database (SQLite and
PostgreSQL) and the real adapters over HTTP to the loopback fakes; the flow control (token
bucket, circuit breaker) with a fake clock; GET /metrics; the `worker` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.transactions import in_transaction

from models.ops.notify import Notice, notify
from models.rules import clock
from models.rules.clock import shanghai
from models.rules.notification_kinds import NotificationKind, PushStatus
from models.tables.notifications import Device, Notification, NotificationPreference, PushGateway
from models.tables.notifications import PushMessage as Row
from notifications.adapters.gorush import GorushGateway
from notifications.adapters.jpush import JPushGateway
from notifications.adapters.log import LogGateway
from notifications.config import PushConfig
from notifications.dispatcher import DEVICE_REMOVED, Dispatcher
from notifications.flow import (
    BreakerState,
    CircuitBreaker,
    Flow,
    Limit,
    TokenBucket,
    is_gateway_failure,
    limits_with_rates,
    parse_rate_limits,
)
from notifications.gateway import Outcome, SendResult
from notifications.metrics import COUNTS, outbox_gauges
from notifications.registry import make_client
from server.settings import Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.factories import make_user
from tests.gateways.gorush import gorush_fake
from tests.gateways.harness import FakeGateway, Recorded, Scripted, serving
from tests.gateways.jpush import jpush_fake

NOW = shanghai(2026, 3, 4, 10)  # a Wednesday morning: no quiet hours
HOUR = timedelta(hours=1)
_serial = iter(range(1, 1_000_000))


def token(n: int) -> str:
    """An FCM-shaped registration token (long: gorush's hide_token keeps its middle)."""
    return f"fMEP0vJqS0:APA91bH{n:08d}-Xk3q9ZTrV8wLmN2pQ7sY4uE6iO1aD5fG0hJ{n:06d}cB"


async def user_with_devices(
    devices: int = 1, *, provider: str = "gorush", platform: str = "ANDROID"
) -> tuple[int, list[Device]]:
    user = await make_user(f"pusher{next(_serial):04d}", None, None)
    made = [
        await Device.create(
            user_id=user.id, provider=provider, platform=platform, token=token(next(_serial))
        )
        for _ in range(devices)
    ]
    return user.id, made


async def tell(users: list[int], now: datetime = NOW, *, subject_id: int = 7) -> int:
    async with in_transaction():
        event = await notify(
            Notice(
                NotificationKind.VISIT_TOMORROW,
                users,
                "Visit",
                subject_id,
                {"enterprise": "清河县恒达机械制造有限公司", "time": "09:30"},
                dedup_key=f"test-{next(_serial)}",
            ),
            now,
        )
    assert event is not None
    return event


def pushed(fake: FakeGateway, since: int = 0) -> Counter[tuple[str, str]]:
    """(token, notificationId) of every push in the gorush requests from index `since`."""
    seen: Counter[tuple[str, str]] = Counter()
    for req in fake.requests[since:]:
        for n in req.body["notifications"]:
            note = n.get("data", {}).get("notificationId") or n.get("huawei_data", "")
            for t in n["tokens"]:
                seen[(t, note)] += 1
    return seen


def tokens_of(fake: FakeGateway, since: int = 0) -> Counter[str]:
    return Counter(t for (t, _), k in pushed(fake, since).items() for _ in range(k))


async def rows() -> list[Row]:
    return await Row.all().order_by("id")


async def pending() -> int:
    return await Row.filter(status=PushStatus.PENDING).count()


@asynccontextmanager
async def gorush(**fake_options: Any) -> AsyncIterator[tuple[FakeGateway, GorushGateway]]:
    fake, app = gorush_fake(**fake_options)
    async with serving(app) as url, make_client(PushConfig(timeout_seconds=5.0)) as client:
        yield fake, GorushGateway(client, url)


APP_KEY, MASTER_SECRET = "7d431e42dfa6a6d693ac2d04", "5e987ac6d2e04d95a9d8f0d1"


@asynccontextmanager
async def jpush(
    secret: str = MASTER_SECRET, **fake_options: Any
) -> AsyncIterator[tuple[FakeGateway, JPushGateway]]:
    fake, app = jpush_fake(APP_KEY, MASTER_SECRET, **fake_options)
    async with serving(app) as url, make_client(PushConfig(timeout_seconds=5.0)) as client:
        yield fake, JPushGateway(client, url, APP_KEY, secret)


def jpushed(fake: FakeGateway) -> Counter[tuple[str, str]]:
    """(registration id, eventId) of every push JPush accepted."""
    seen: Counter[tuple[str, str]] = Counter()
    for req in fake.requests:
        if req.status == 200:
            extras = req.body["notification"]["android"]["extras"]
            for rid in req.body["audience"]["registration_id"]:
                seen[(rid, extras["eventId"])] += 1
    return seen


async def until(check: Any, why: str) -> None:
    """Until `check()` (sync or async) holds; the bound only keeps a broken run from hanging."""
    for _ in range(1000):
        got = check()
        if await got if asyncio.iscoroutine(got) else got:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(why)


def test_dispatcher_flow_breaker_defaults() -> None:
    assert Flow().limit("jpush").rate == 500.0
    assert Flow().limit("jpush").calls_per_minute == 600  # JPush's documented free quota
    assert Flow().limit("gorush").calls_per_minute is None
    assert Flow().limit("log").rate is None


# --------------------------------------------------------------------------- delivering


async def test_log_gateway_delivers_and_records_gateway_id(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user, devices = await user_with_devices(2, provider="jpush")  # jpush is off: falls to log
    await tell([user])
    dispatcher = Dispatcher({"log": LogGateway()})
    assert await dispatcher.run_once(NOW) == 2
    for row in await rows():
        assert row.status is PushStatus.DELIVERED
        assert row.gateway_id == f"log-{row.id}"
        assert row.finished_at == NOW
        assert (row.attempts, row.claimed_until, row.last_error) == (1, None, None)
    assert await dispatcher.run_once(NOW + HOUR) == 0
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("enterprise_desk", "notif"))
    )
    assert "push to …" in ours and "log 2" in ours.replace("delivered ", "")
    for d in devices:
        assert d.token not in ours  # tokens are logged masked, bodies not at all
    assert "明天 09:30 走访" not in ours


async def test_messages_carry_ids_collapse_key_language_and_badge(db: str) -> None:
    zh_user, [android] = await user_with_devices(1)
    en_user, [iphone] = await user_with_devices(1, platform="IOS")
    await NotificationPreference.create(user_id=en_user, language="en")
    await tell([en_user], subject_id=3)  # an older unread notification: badge 2 below
    await Row.all().delete()
    event = await tell([zh_user, en_user])
    inbox = dict(await Notification.filter(event_id=event).values_list("user_id", "id"))
    async with gorush() as (fake, gw):
        assert await Dispatcher({"gorush": gw}).run_once(NOW) == 2
    sent = {t: n for req in fake.requests for n in req.body["notifications"] for t in n["tokens"]}
    zh, en = sent[android.token], sent[iphone.token]
    assert (zh["title"], zh["message"]) == (
        "明日走访提醒",
        "明天 09:30 走访清河县恒达机械制造有限公司",
    )
    assert zh["data"] == {
        "notificationId": str(inbox[zh_user]),
        "eventId": str(event),
        "kind": "VISIT_TOMORROW",
        "subjectType": "Visit",
        "subjectId": "7",
    }
    assert zh["android"] == {"collapse_key": "Visit:7:VISIT_TOMORROW"}
    assert en["title"] == "Visit tomorrow"
    assert en["message"] == "Visit to 清河县恒达机械制造有限公司 tomorrow at 09:30"
    assert en["collapse_id"] == "Visit:7:VISIT_TOMORROW"
    assert en["badge"] == 2
    assert en["data"]["notificationId"] == str(inbox[en_user])


async def test_routing_own_gateway_then_gorush_then_the_first(db: str) -> None:
    dispatcher = Dispatcher({"log": LogGateway(), "gorush": LogGateway()})
    assert dispatcher.route("gorush") == "gorush"
    assert dispatcher.route("fcm") == "gorush"
    assert dispatcher.route("huawei") == "gorush"
    assert dispatcher.route("apns") == "gorush"
    assert dispatcher.route("jpush") == "log"
    assert dispatcher.route("log") == "log"
    assert Dispatcher({"webhook": LogGateway(), "log": LogGateway()}).route("fcm") == "webhook"


async def test_gateway_down_then_up_delivers_everything_exactly_once(db: str) -> None:
    users = [await user_with_devices(2) for _ in range(3)]
    await tell([u for u, _ in users])
    await tell([u for u, _ in users], subject_id=8)
    tokens = {d.token for _, ds in users for d in ds}
    async with gorush() as (fake, gw):
        dispatcher = Dispatcher({"gorush": gw}, max_backoff=600)
        fake.down = True
        now = NOW
        for _ in range(3):
            assert await dispatcher.run_once(now) in (0, 12)
            now += HOUR
        assert await pending() == 12
        assert {r.last_error for r in await rows()} == {"http_503"}
        fake.down = False
        mark = len(fake.requests)
        for _ in range(10):
            await dispatcher.run_once(now)
            now += HOUR
            if not await pending():
                break
    assert await pending() == 0
    assert {r.status for r in await rows()} == {PushStatus.DELIVERED}
    got = pushed(fake, mark)
    assert set(got.values()) == {1} and len(got) == 12
    assert set(tokens_of(fake, mark)) == tokens


async def test_dead_token_deletes_the_device_and_kills_its_row(db: str) -> None:
    user, [gone, alive] = await user_with_devices(2)
    await tell([user])
    async with gorush(dead={gone.token: "NotRegistered"}) as (_fake, gw):
        assert await Dispatcher({"gorush": gw}).run_once(NOW) == 2
    assert not await Device.filter(id=gone.id).exists()
    assert await Device.filter(id=alive.id).exists()
    dead, delivered = sorted(await rows(), key=lambda r: r.status.value)
    assert dead.status is PushStatus.DEAD and delivered.status is PushStatus.DELIVERED
    assert dead.device_id is None  # the row keeps its record (SET NULL)
    assert dead.last_error is not None and dead.last_error.startswith("dead token")
    assert "NotRegistered" in dead.last_error
    assert gone.token not in dead.last_error
    assert delivered.device_id == alive.id


async def test_429_retry_after_is_honoured(db: str) -> None:
    user, [device] = await user_with_devices(1)
    await tell([user])
    async with gorush() as (fake, gw):
        fake.then(Scripted(429, {"code": 429, "message": "slow down"}, {"Retry-After": "120"}))
        dispatcher = Dispatcher({"gorush": gw})
        assert await dispatcher.run_once(NOW) == 1
        [row] = await rows()
        assert row.status is PushStatus.PENDING and row.claimed_until is None
        assert row.due_at >= NOW + timedelta(seconds=120)
        assert row.last_error is not None and "429" in row.last_error
        assert await dispatcher.run_once(NOW + timedelta(seconds=119)) == 0
        assert len(fake.requests) == 1  # not sent before its time
        assert await dispatcher.run_once(row.due_at) == 1
    [row] = await rows()
    assert (row.status, row.attempts) == (PushStatus.DELIVERED, 2)
    assert tokens_of(fake) == Counter({device.token: 2})


async def test_a_retry_that_would_land_at_night_waits_for_the_morning(db: str) -> None:
    late = datetime(2026, 11, 24, 21, 58, tzinfo=clock.TZ)  # a Tuesday, before 22:00 quiet
    user, _ = await user_with_devices(1)
    await tell([user], late)
    async with gorush() as (fake, gw):
        fake.then(Scripted(429, {"code": 429, "message": "slow down"}, {"Retry-After": "300"}))
        assert await Dispatcher({"gorush": gw}).run_once(late) == 1
    [row] = await rows()
    assert row.status is PushStatus.PENDING
    assert row.due_at == datetime(2026, 11, 25, 8, 0, tzinfo=clock.TZ)  # not 22:03


async def test_attempts_are_capped_then_dead_with_the_last_error(db: str) -> None:
    user, _ = await user_with_devices(1)
    await tell([user])
    async with gorush() as (fake, gw):
        fake.down = True
        dispatcher = Dispatcher({"gorush": gw}, max_attempts=3, max_backoff=60)
        now = NOW
        for _ in range(6):
            await dispatcher.run_once(now)
            now += HOUR
    [row] = await rows()
    assert (row.status, row.attempts) == (PushStatus.DEAD, 3)
    assert row.last_error == "http_503 (after 3 attempts)"
    assert row.finished_at is not None
    assert len(fake.requests) == 3


async def test_permanent_error_is_dead_at_once(db: str) -> None:
    user, _ = await user_with_devices(1)
    await tell([user])
    async with gorush() as (fake, gw):
        fake.then(Scripted(400, {"code": 400, "message": "Notifications field is empty."}))
        assert await Dispatcher({"gorush": gw}).run_once(NOW) == 1
    [row] = await rows()
    assert (row.status, row.attempts) == (PushStatus.DEAD, 1)
    assert row.last_error == "gorush_400: Notifications field is empty."


async def test_backoff_is_full_jitter_capped(db: str) -> None:
    d = Dispatcher({"log": LogGateway()}, base_backoff=10, max_backoff=100)
    for attempts in range(1, 12):
        for _ in range(50):
            assert 0 <= d.backoff(attempts) <= min(100, 10 * 2**attempts)
    assert max(d.backoff(10) for _ in range(200)) > 50  # spread over the whole range


async def test_device_removed_rows_become_dead_not_sent(db: str) -> None:
    user, [device] = await user_with_devices(1)
    await tell([user])
    await Device.filter(id=device.id).delete()
    async with gorush() as (fake, gw):
        assert await Dispatcher({"gorush": gw}).run_once(NOW) == 1
    [row] = await rows()
    assert (row.status, row.last_error, row.device_id) == (PushStatus.DEAD, DEVICE_REMOVED, None)
    assert fake.requests == []


# --------------------------------------------------------------------------- crashes and races


class CrashAfterSending(Dispatcher):
    async def _record(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died before recording")


async def test_a_crash_after_sending_resends_once_after_the_lease(db: str) -> None:
    users = [await user_with_devices(2) for _ in range(2)]
    await tell([u for u, _ in users])
    async with gorush() as (fake, gw):
        with pytest.raises(RuntimeError):
            await CrashAfterSending({"gorush": gw}, lease=60).run_once(NOW)
        assert set(tokens_of(fake).values()) == {1}
        dispatcher = Dispatcher({"gorush": gw}, lease=60)
        assert await dispatcher.run_once(NOW + timedelta(seconds=59)) == 0  # still claimed
        assert await dispatcher.run_once(NOW + timedelta(seconds=61)) == 4
        assert await dispatcher.run_once(NOW + HOUR) == 0
    assert set(tokens_of(fake).values()) == {2}  # once before the crash, once after
    assert {(r.status, r.attempts) for r in await rows()} == {(PushStatus.DELIVERED, 2)}


async def test_a_claim_that_was_never_sent_is_sent_once_after_the_lease(db: str) -> None:
    user, _ = await user_with_devices(3)
    await tell([user])
    async with gorush() as (fake, gw):
        dispatcher = Dispatcher({"gorush": gw}, lease=60)
        assert len(await dispatcher.claim(NOW)) == 3  # ... and the process dies here
        assert await dispatcher.run_once(NOW + timedelta(seconds=30)) == 0
        assert await dispatcher.run_once(NOW + timedelta(seconds=61)) == 3
    assert set(tokens_of(fake).values()) == {1} and len(tokens_of(fake)) == 3
    assert {r.status for r in await rows()} == {PushStatus.DELIVERED}


async def test_a_stale_round_does_not_overwrite_the_next_claimer(db: str) -> None:
    """A round that overran its lease (its rows were claimed and delivered by another) leaves
    the other's result alone: recording is fenced by the claim."""
    user, _ = await user_with_devices(1)
    await tell([user])
    slow = Dispatcher({"log": LogGateway()}, lease=60)
    [claimed] = await slow.claim(NOW)
    fast = Dispatcher({"log": LogGateway()}, lease=60)
    assert await fast.run_once(NOW + timedelta(seconds=61)) == 1
    outcome = slow._judge(
        claimed, "log", SendResult(str(claimed.id), Outcome.RETRY, error="late"), NOW
    )
    await slow._record([outcome], NOW)
    [row] = await rows()
    assert (row.status, row.last_error) == (PushStatus.DELIVERED, None)


async def test_concurrent_claims_are_disjoint(db: str) -> None:
    """PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one claimer at a time. Either way two
    claimers at the same moment never get the same row."""
    users = [await user_with_devices(3) for _ in range(10)]
    await tell([u for u, _ in users])
    one = Dispatcher({"log": LogGateway()}, batch_size=20)
    two = Dispatcher({"log": LogGateway()}, batch_size=20)
    a, b = await asyncio.gather(one.claim(NOW), two.claim(NOW))
    ids_a, ids_b = {c.id for c in a}, {c.id for c in b}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == 30


async def test_two_dispatchers_never_push_twice(db: str) -> None:
    users = [await user_with_devices(3) for _ in range(12)]
    await tell([u for u, _ in users])
    await tell([u for u, _ in users], subject_id=8)
    async with gorush() as (fake, gw):
        one = Dispatcher({"gorush": gw}, batch_size=7)
        two = Dispatcher({"gorush": gw}, batch_size=7)
        for _ in range(40):
            await asyncio.gather(one.run_once(NOW), two.run_once(NOW), one.run_once(NOW))
            if not await pending():
                break
    assert await pending() == 0
    got = pushed(fake)
    assert len(got) == 72 and set(got.values()) == {1}
    assert len(fake.requests) > 2  # it really took several rounds


async def test_a_second_worker_never_claims_a_row_whose_call_is_in_flight(db: str) -> None:
    """A round renews its claim while its call hangs, so a second dispatcher running after
    the first claim's lease would have ended claims none of it, and each push goes once."""
    users = [await user_with_devices(1) for _ in range(3)]
    await tell([u for u, _ in users])
    async with gorush() as (fake, gw):
        fake.gate = asyncio.Event()
        first = Dispatcher({"gorush": gw}, lease=60)
        second = Dispatcher({"gorush": gw}, lease=60)
        sending = asyncio.create_task(first.run_once(NOW))
        await until(lambda: fake.held == 1, "the first round's call did not reach the gateway")
        assert await first.renew(NOW + timedelta(seconds=50)) == 3  # its heartbeat
        assert await second.run_once(NOW + timedelta(seconds=61)) == 0
        assert await second.run_once(NOW + timedelta(seconds=109)) == 0
        fake.gate.set()
        assert await sending == 3
        assert await second.run_once(NOW + timedelta(seconds=200)) == 0
    assert {(r.status, r.attempts) for r in await rows()} == {(PushStatus.DELIVERED, 1)}
    assert len(fake.requests) == 1 and set(tokens_of(fake).values()) == {1}


async def test_the_heartbeat_renews_the_claim_while_a_call_hangs(db: str) -> None:
    user, _ = await user_with_devices(2)
    await tell([user])
    async with gorush() as (fake, gw):
        fake.gate = asyncio.Event()
        dispatcher = Dispatcher({"gorush": gw}, lease=0.9)  # renewed every 0.3 s
        sending = asyncio.create_task(dispatcher.run_once(NOW))
        await until(lambda: fake.held == 1, "the call did not reach the gateway")
        first_lease = NOW + timedelta(seconds=0.9)

        async def renewed() -> bool:
            return all(r.claimed_until and r.claimed_until > first_lease for r in await rows())

        await until(renewed, "the claim was not renewed while the call hung")
        fake.gate.set()
        assert await sending == 2
    assert {(r.status, r.claimed_until, r.claim_token) for r in await rows()} == {
        (PushStatus.DELIVERED, None, None)
    }


async def test_each_call_is_recorded_as_it_returns_and_a_crash_resends_only_the_call_in_flight(
    db: str,
) -> None:
    quick = [await user_with_devices(1, provider="jpush") for _ in range(3)]
    slow = [await user_with_devices(1, provider="jpush") for _ in range(2)]
    await tell([u for u, _ in quick], subject_id=1)  # one event: one JPush call
    await tell([u for u, _ in slow], subject_id=2)  # another: another call, which hangs
    hanging = {d.token for _, ds in slow for d in ds}
    async with jpush() as (fake, gw):
        answer, release = fake.success, asyncio.Event()

        async def hang_for_the_slow(rec: Recorded) -> Any:
            if set(rec.body["audience"]["registration_id"]) & hanging:
                await release.wait()
            return answer(rec)

        fake.success = hang_for_the_slow  # type: ignore[assignment]
        crashing = Dispatcher({"jpush": gw}, lease=60)
        sending = asyncio.create_task(crashing.run_once(NOW))

        async def quick_recorded() -> bool:
            return await Row.filter(status=PushStatus.DELIVERED).count() == 3

        await until(lambda: len(fake.requests) == 2, "the second call was not made")
        await until(quick_recorded, "the returned call was not recorded while the other hung")
        assert await pending() == 2 and fake.requests[1].status is None
        sending.cancel()  # the process dies with the slow call in flight
        with pytest.raises(asyncio.CancelledError):
            await sending
        release.set()
        await until(lambda: fake.requests[1].status == 200, "the slow call was not answered")
        after = Dispatcher({"jpush": gw}, lease=60)
        assert await after.run_once(NOW + timedelta(seconds=30)) == 0  # still claimed
        assert await after.run_once(NOW + timedelta(seconds=61)) == 2  # only the call in flight
    assert {r.status for r in await rows()} == {PushStatus.DELIVERED}
    sent = jpushed(fake)
    assert len(sent) == 5 and set(sent.values()) == {1, 2}
    assert {token for (token, _), n in sent.items() if n == 2} == hanging


async def test_identical_content_shares_a_call_up_to_the_gateway_limit(db: str) -> None:
    users = [await user_with_devices(1, provider="jpush") for _ in range(12)]
    event = await tell([u for u, _ in users])
    other = await tell([users[0][0]], subject_id=8)
    async with jpush() as (fake, gw):
        gw.max_batch = 5  # JPush's is 1000 ids
        assert await Dispatcher({"jpush": gw}).run_once(NOW) == 13
    sizes = sorted(
        (
            len(r.body["audience"]["registration_id"]),
            r.body["notification"]["android"]["extras"]["eventId"],
        )
        for r in fake.requests
    )
    assert sizes == sorted([(5, str(event)), (5, str(event)), (2, str(event)), (1, str(other))])
    assert {r.status for r in await rows()} == {PushStatus.DELIVERED}
    assert set(jpushed(fake).values()) == {1} and len(jpushed(fake)) == 13


async def test_calls_are_paced_per_minute_and_a_round_ends_at_its_deadline(db: str) -> None:
    users = [await user_with_devices(1, provider="jpush") for _ in range(4)]
    for n, (u, _) in enumerate(users):
        await tell([u], subject_id=n)  # four contents: four calls
    clock = FakeClock()
    limits = {"jpush": Limit(rate=None, calls_per_minute=60)}  # one call a second
    async with jpush() as (fake, gw):
        flow = Flow(limits, clock=clock, sleep=clock.sleep)
        dispatcher = Dispatcher({"jpush": gw}, flow=flow, round_seconds=2.5)
        assert await dispatcher.run_once(NOW) == 4
        # Calls at 0, 1 and 2 s; the fourth would start at 3 s, past the round's 2.5 s.
        assert len(fake.requests) == 3 and sum(clock.sleeps) == pytest.approx(2.0)
        [left] = await Row.filter(status=PushStatus.PENDING)
        assert (left.attempts, left.claimed_until, left.claim_token) == (0, None, None)
        assert await dispatcher.run_once(NOW) == 1
        assert len(fake.requests) == 4 and sum(clock.sleeps) == pytest.approx(3.0)
    assert await pending() == 0


async def test_a_wrong_jpush_secret_opens_the_breaker_instead_of_killing_pushes(db: str) -> None:
    users = [await user_with_devices(1, provider="jpush") for _ in range(3)]
    for n, (u, _) in enumerate(users):
        await tell([u], subject_id=n)
    async with jpush(secret="wrong-secret") as (fake, gw):
        flow = Flow(breaker_threshold=2, breaker_cooldown=300)
        dispatcher = Dispatcher({"jpush": gw}, flow=flow, max_backoff=1)
        now = NOW
        for _ in range(5):
            await dispatcher.run_once(now)
            now += timedelta(seconds=10)
        assert len(fake.requests) == 2  # two failed calls opened it; no more until the trial
        assert flow.breaker("jpush").state(now.timestamp()) is BreakerState.OPEN
    assert await pending() == 3  # nothing dead-lettered
    assert {r.last_error for r in await rows() if r.attempts} == {"jpush_1004: Authen failed"}


async def test_a_spent_call_quota_holds_every_process_without_spending_attempts(db: str) -> None:
    users = [await user_with_devices(1, provider="jpush") for _ in range(3)]
    for n, (u, _) in enumerate(users):
        await tell([u], subject_id=n)
    async with jpush(quota=1, enforce_quota=True) as (fake, gw):
        fake.then(
            Scripted(
                429,
                {"error": {"code": 2002, "message": "Rate limit exceeded"}},
                {
                    "X-Rate-Limit-Quota": "1",
                    "X-Rate-Limit-Remaining": "0",
                    "X-Rate-Limit-Reset": "40",
                },
            )
        )
        one = Dispatcher({"jpush": gw}, flow=Flow({"jpush": Limit(rate=None, concurrency=1)}))
        assert await one.run_once(NOW) == 3
        assert len(fake.requests) == 1  # refused: the other calls were not tried
        assert {(r.status, r.attempts) for r in await rows()} == {(PushStatus.PENDING, 0)}
        [shared] = await PushGateway.all()
        assert shared.hold_until is not None and shared.hold_until >= NOW + timedelta(seconds=39)
        two = Dispatcher({"jpush": gw})  # another process
        assert await two.run_once(NOW + timedelta(seconds=10)) == 0
        assert await one.run_once(NOW + timedelta(seconds=10)) == 0
        later = NOW + timedelta(seconds=41)
        # The quota's window: one call, whose answer says none are left (hold again).
        assert await two.run_once(later) == 3
        assert len(fake.requests) == 2 and await pending() == 2
        assert await one.run_once(later + timedelta(seconds=1)) == 0
    assert {r.attempts for r in await rows()} == {0, 1}


# --------------------------------------------------------------------------- flow control


async def test_a_failed_call_ends_the_round_then_the_breaker_opens_and_one_trial_call_goes(
    db: str,
) -> None:
    users = [await user_with_devices(1) for _ in range(6)]
    for u, _ in users:
        await tell([u])  # six notifications: six gorush notifications, 3 calls of 2
    async with gorush() as (fake, gw):
        gw.max_batch = 2
        one_at_a_time = {"gorush": Limit(rate=None, concurrency=1)}
        flow = Flow(one_at_a_time, breaker_threshold=2, breaker_cooldown=300)
        dispatcher = Dispatcher({"gorush": gw}, flow=flow, max_backoff=1)
        fake.down = True
        assert await dispatcher.run_once(NOW) == 6
        # The 503 ended the round for gorush: the other two calls were not made, their rows
        # went back without spending an attempt.
        assert len(fake.requests) == 1
        assert sorted(r.attempts for r in await rows()) == [0, 0, 0, 0, 1, 1]
        assert flow.breaker("gorush").state(NOW.timestamp()) is BreakerState.CLOSED
        assert await dispatcher.run_once(NOW) == 4
        assert len(fake.requests) == 2
        assert flow.breaker("gorush").state(NOW.timestamp()) is BreakerState.OPEN
        later = NOW + timedelta(seconds=100)
        assert await dispatcher.run_once(later) == 0  # open: nothing claimed
        assert len(fake.requests) == 2
        probe_at = NOW + timedelta(seconds=301)
        assert await dispatcher.run_once(probe_at) == 6  # half-open: one trial call ...
        assert len(fake.requests) == 3  # ... of one message, which failed: the rest wait
        assert sum(len(n["tokens"]) for n in fake.requests[2].body["notifications"]) == 1
        assert flow.breaker("gorush").state(probe_at.timestamp()) is BreakerState.OPEN
        assert await pending() == 6
        fake.down = False
        mark = len(fake.requests)
        again = probe_at + timedelta(seconds=301)
        assert await dispatcher.run_once(again) == 6  # the trial succeeds, the rest follow
        assert len(fake.requests) == mark + 4  # the trial, its call's other message, 2 calls
        assert flow.breaker("gorush").state(again.timestamp()) is BreakerState.CLOSED
    assert await pending() == 0
    assert max(r.attempts for r in await rows()) <= 3
    assert set(tokens_of(fake, mark).values()) == {1} and len(tokens_of(fake, mark)) == 6


async def test_an_open_breaker_is_shared_and_one_process_makes_the_trial_call(db: str) -> None:
    """Every dispatching process counts the failed calls in a row, is kept off by an opening
    and the trial call is made by exactly one of them."""
    users = [await user_with_devices(1) for _ in range(4)]
    for u, _ in users:
        await tell([u])
    async with gorush() as (fake, gw):

        def process() -> Dispatcher:
            flow = Flow(breaker_threshold=2, breaker_cooldown=300)
            return Dispatcher({"gorush": gw}, flow=flow, max_backoff=0.001)

        one, two = process(), process()
        fake.down = True
        assert await one.run_once(NOW) == 4  # one failed call: not open yet
        assert (await PushGateway.get(name="gorush")).failures == 1
        opened = NOW + timedelta(seconds=1)
        assert await two.run_once(opened) == 4  # the second in a row, from another process
        assert len(fake.requests) == 2
        [shared] = await PushGateway.all()
        assert shared.name == "gorush" and shared.open_until is not None
        cooldown = shared.open_until - opened  # from the failed call's return (the round's
        assert timedelta(seconds=300) <= cooldown < timedelta(seconds=301)  # now + elapsed)
        # ... and every process is kept off: one claims nothing while it is open.
        assert await one.run_once(opened + timedelta(seconds=10)) == 0
        assert one.flow.breaker("gorush").state(opened.timestamp() + 10) is BreakerState.OPEN
        trial = opened + timedelta(seconds=301)
        claimed = await asyncio.gather(one.run_once(trial), two.run_once(trial))
        assert sorted(claimed) == [0, 4]  # one process won the trial call ...
        assert len(fake.requests) == 3  # ... and made exactly one call
        assert await one.run_once(trial + timedelta(seconds=1)) == 0  # it failed: open again
        assert await two.run_once(trial + timedelta(seconds=1)) == 0
        fake.down = False
        healed = trial + timedelta(seconds=302)
        claimed = await asyncio.gather(one.run_once(healed), two.run_once(healed))
        assert sorted(claimed) == [0, 4]
        assert await pending() == 0
        # The trial closed the shared breaker: the other process is closed too.
        assert await two.run_once(healed + timedelta(seconds=1)) == 0
        assert two.flow.breaker("gorush").state(healed.timestamp() + 1) is BreakerState.CLOSED
        closed = await PushGateway.get(name="gorush")
        assert (closed.open_until, closed.failures) == (None, 0)
    assert len(fake.requests) == 3 + 2  # the trial of one message, then one call of three


async def test_an_open_breaker_for_one_gateway_leaves_the_others_flowing(db: str) -> None:
    a, _ = await user_with_devices(1, provider="gorush")
    b, _ = await user_with_devices(1, provider="jpush")  # routed to log
    await tell([a, b])
    async with gorush() as (_fake, gw):
        flow = Flow()
        flow.breaker("gorush").record(False, NOW.timestamp())
        for _ in range(4):
            flow.breaker("gorush").record(False, NOW.timestamp())
        dispatcher = Dispatcher({"log": LogGateway(), "gorush": gw}, flow=flow)
        assert await dispatcher.run_once(NOW) == 1
        statuses = {r.provider: r.status for r in await rows()}
    assert statuses == {"jpush": PushStatus.DELIVERED, "gorush": PushStatus.PENDING}
    # With the fallback itself open, only rows of the other gateways are claimed.
    flow2 = Flow()
    for _ in range(5):
        flow2.breaker("log").record(False, NOW.timestamp())
    async with gorush() as (fake, gw):
        d2 = Dispatcher({"log": LogGateway(), "gorush": gw}, flow=flow2)
        assert await d2.run_once(NOW) == 1
    assert {r.provider: r.status for r in await rows()}["gorush"] is PushStatus.DELIVERED
    assert len(fake.requests) == 1


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


async def test_token_bucket_paces_messages() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, 50, clock=clock, sleep=clock.sleep)
    assert await bucket.acquire(50) == 0  # the burst goes at once
    waited = await bucket.acquire(10)
    assert waited == pytest.approx(0.1)
    clock.t += 10  # idle: refills up to the burst only
    assert bucket.tokens == pytest.approx(50)
    start = clock.t
    for _ in range(10):
        await bucket.acquire(50)
    # 500 messages at 100/s with 50 in hand: 4.5 s
    assert clock.t - start == pytest.approx(4.5)


async def test_token_bucket_call_above_the_burst_overdraws() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, 10, clock=clock, sleep=clock.sleep)
    assert await bucket.acquire(500) == 0  # one big call goes once the burst is full
    assert bucket.tokens == pytest.approx(-490)
    waited = await bucket.acquire(1)
    assert waited == pytest.approx(4.91)  # the debt is paid before the next call


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    b = CircuitBreaker(threshold=3, cooldown=30)
    for t in (0, 1):
        assert b.allow(t)
        b.record(False, t)
    assert b.state(2) is BreakerState.CLOSED
    b.record(True, 2)  # a success resets the count
    for t in (3, 4, 5):
        b.record(False, t)
    assert b.state(6) is BreakerState.OPEN and b.blocked(6) and not b.allow(6)
    assert b.reopens_at() == 35
    assert b.state(35) is BreakerState.HALF_OPEN
    assert b.allow(35)  # one trial call
    assert not b.allow(36)  # ... at a time
    b.record(False, 40)  # the trial failed: open for another cooldown
    assert b.state(41) is BreakerState.OPEN and b.state(70) is BreakerState.HALF_OPEN
    assert b.allow(70)
    b.record(True, 71)
    assert b.state(71) is BreakerState.CLOSED and b.allow(72)


def test_circuit_breaker_presumes_a_lost_trial_after_a_cooldown() -> None:
    b = CircuitBreaker(threshold=1, cooldown=10)
    b.record(False, 0)
    assert b.allow(10) and not b.allow(15)
    assert b.allow(21)


def test_what_counts_as_a_gateway_failure() -> None:
    retry = SendResult("1", Outcome.RETRY, error="connect")
    assert is_gateway_failure([retry, retry])
    assert not is_gateway_failure([])
    assert not is_gateway_failure([retry, SendResult("2", Outcome.DELIVERED)])
    assert not is_gateway_failure([SendResult("1", Outcome.PERMANENT, error="http_400")])
    assert not is_gateway_failure([SendResult("1", Outcome.RETRY, retry_after=120)])  # 429


def test_rate_limit_settings() -> None:
    assert parse_rate_limits("jpush=300, gorush=8000,webhook=off") == {
        "jpush": 300.0,
        "gorush": 8000.0,
        "webhook": None,
    }
    with pytest.raises(ValueError):
        parse_rate_limits("jpush")
    with pytest.raises(ValueError):
        parse_rate_limits("jpush=fast")
    env = {"SECRET_KEY": "x" * 40, "DATA_DIR": "/tmp/none"}  # noqa: S108 - not written to
    s = load_settings({**env, "PUSH_RATE_LIMITS": "jpush=300", "PUSH_DISPATCHER": "off"})
    assert s.push_rate_limits == (("jpush", 300.0),) and not s.push_dispatcher
    assert load_settings(env).push_dispatcher and load_settings(env).push.providers == ("log",)
    with pytest.raises(SettingsError):
        load_settings({**env, "PUSH_PROVIDER": "pigeon"})
    with pytest.raises(SettingsError):
        load_settings({**env, "PUSH_DISPATCHER": "maybe"})
    # The periodic jobs: on unless PERIODIC_JOBS=off (`serve --no-jobs`).
    assert load_settings(env).periodic_jobs
    assert not load_settings({**env, "PERIODIC_JOBS": "off"}).periodic_jobs
    with pytest.raises(SettingsError, match="PERIODIC_JOBS"):
        load_settings({**env, "PERIODIC_JOBS": "sometimes"})
    assert Flow({"jpush": Limit(rate=300)}).limit("jpush").rate == 300
    # Calls per minute, the claim's lease, the round's bound, JPush's time_to_live.
    assert (s.push_call_limits, s.push_lease_seconds, s.push_round_seconds) == ((), 30, 10)
    assert s.push.jpush_time_to_live == 86400
    tuned = load_settings(
        {
            **env,
            "PUSH_CALL_LIMITS": "jpush=1200,fcm=off",
            "PUSH_LEASE_SECONDS": "45",
            "PUSH_ROUND_SECONDS": "15",
            "JPUSH_TIME_TO_LIVE": "3600",
        }
    )
    assert tuned.push_call_limits == (("jpush", 1200.0), ("fcm", None))
    assert (tuned.push_lease_seconds, tuned.push_round_seconds) == (45, 15)
    assert tuned.push.jpush_time_to_live == 3600
    limits = limits_with_rates({}, dict(tuned.push_call_limits))
    assert (limits["jpush"].rate, limits["jpush"].calls_per_minute) == (500.0, 1200.0)
    assert limits["fcm"].calls_per_minute is None and limits["fcm"].concurrency == 50
    for bad in (
        {"PUSH_CALL_LIMITS": "jpush=fast"},
        {"PUSH_LEASE_SECONDS": "0"},
        {"PUSH_ROUND_SECONDS": "soon"},
        {"JPUSH_TIME_TO_LIVE": "864001"},
    ):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            load_settings({**env, **bad})


# --------------------------------------------------------------------------- the loop, metrics


async def test_run_drains_until_stopped(db: str) -> None:
    user, _ = await user_with_devices(3)
    await tell([user])  # due in the past of the real clock
    dispatcher = Dispatcher({"log": LogGateway()})
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle_sleep=0.05))
    for _ in range(200):
        if not await pending():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert {r.status for r in await rows()} == {PushStatus.DELIVERED}


async def test_metrics_over_http_show_counters_and_outbox_depth(db: str, server_url: str) -> None:
    before = COUNTS.get("delivered", "log")
    user, _ = await user_with_devices(2, provider="log")
    await tell([user])
    assert await Dispatcher({"log": LogGateway()}).run_once(NOW) == 2
    later, _ = await user_with_devices(1, provider="jpush")
    await tell([later], shanghai(2026, 3, 4, 23))  # quiet hours: due at 08:00 next morning
    [g] = await outbox_gauges(shanghai(2026, 3, 5, 7))
    assert (g.provider, g.pending, g.due, g.oldest_due_age_seconds) == ("jpush", 1, 0, 0.0)
    [g] = await outbox_gauges(shanghai(2026, 3, 5, 9))
    assert (g.due, g.oldest_due_age_seconds) == (1, 3600.0)
    async with httpx.AsyncClient(base_url=server_url) as http:
        resp = await http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = resp.text.splitlines()
    assert "# TYPE push_delivered_total counter" in lines
    assert f'push_delivered_total{{provider="log"}} {int(before) + 2}' in lines
    assert any(line.startswith('push_sent_total{provider="log"} ') for line in lines)
    assert 'push_outbox_pending{provider="jpush"} 1' in lines
    assert 'push_outbox_due{provider="jpush"} 1' in lines  # 2026-03-05 08:00 is long past
    assert any(
        line.startswith('push_outbox_oldest_due_age_seconds{provider="jpush"}') for line in lines
    )


async def test_metrics_need_the_token_when_one_is_set(db: str) -> None:
    settings = Settings(database_url=db, secret_key=TEST_SECRET, metrics_token="scrape-me-0123")
    server, task, url = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.get("/metrics", headers=wrong)).status_code == 401
            right = {"Authorization": "Bearer scrape-me-0123"}
            resp = await http.get("/metrics", headers=right)
            assert resp.status_code == 200 and "push_outbox_pending" in resp.text
    finally:
        await stop_server(server, task)


BIN = Path(sys.executable).parent / "enterprise-desk"


def test_worker_command_runs_until_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(DATA_DIR=str(tmp_path / "var"), PUSH_PROVIDER="log")
    proc = subprocess.Popen(
        [str(BIN), "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        while first and "worker" not in first:
            first = proc.stdout.readline()
        assert "push via log" in first, first
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "worker stopped" in out
