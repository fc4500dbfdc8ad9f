"""Scale-out on one PostgreSQL (docs/design.md section 13): two real `enterprise-desk serve`
processes (A and B, `--no-dispatcher`) and two `enterprise-desk worker` processes, configured
through the environment as an operator would, pushing to a loopback gorush. What one process
does holds on the others: a subscription on A hears a mutation sent to B, a sign-in delay made
on A holds on B, a sign-out on A and a calendar edit on B count on the other at once, and two
workers send each push exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from models.rules.clock import now as clock_now
from models.rules.notification_kinds import PushStatus
from models.tables.audit import AuditEntry
from models.tables.notifications import Device, NotificationPreference
from models.tables.notifications import PushMessage as Row
from schema.relay import to_global_id
from tests.conftest import IS_POSTGRES
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD, make_user
from tests.gateways.gorush import gorush_fake
from tests.gateways.harness import FakeGateway, Recorded, serving
from tests.processes import Process, base_env, eventually, ready, spawn, spawn_server
from tests.test_api_live_inbox import next_notification, subscribe, token_of
from tests.test_dispatcher import pushed, tell, token

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES, reason="several processes share PostgreSQL (LISTEN/NOTIFY, SKIP LOCKED)"
)

GATEWAY_SECONDS = 0.2  # each gorush call: one worker alone could not keep up with the queue
BATCH = 20  # PUSH_BATCH_SIZE: one gorush call per batch, so a worker has one call in flight
LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken errors { code } } }"""
DISPATCH = """mutation($input: DispatchDemandInput!) { dispatchDemand(input: $input) {
  demand { state } errors { code } } }"""
PREVIEW = """query($r: ID) { addWorkingDays(from: "2026-12-01", days: 1, regionId: $r) { date } }"""
LOCAL_HOLIDAY = """mutation($r: ID!) { setRegionCalendarDays(input: {regionId: $r,
  days: [{date: "2026-12-02", isWorkday: false, name: "县庆"}]}) { errors { code } } }"""


@dataclass
class Cluster:
    a: str
    b: str
    gateway: FakeGateway
    in_flight: int = 0
    most_in_flight: int = 0


@pytest.fixture(scope="module")
async def cluster(
    _database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    fake, app = gorush_fake()
    answer = fake.success
    state = Cluster("", "", fake)

    async def slow(rec: Recorded) -> object:
        state.in_flight += 1
        state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            await asyncio.sleep(GATEWAY_SECONDS)
            return answer(rec)
        finally:
            state.in_flight -= 1

    fake.success = slow  # type: ignore[assignment]
    root = tmp_path_factory.mktemp("cluster")
    async with serving(app) as gorush_url:
        env = base_env(
            root,
            PUSH_PROVIDER="gorush",
            GORUSH_URL=gorush_url,
            PUSH_BATCH_SIZE=str(BATCH),
            # An hour: only LISTEN/NOTIFY can wake a subscription or drop what a process
            # cached (calendars, policies, sessions) within a test's wait.
            LIVE_RECHECK_SECONDS="3600",
            CACHE_SECONDS="3600",
        )
        procs: list[Process] = [
            spawn_server(root / "a", env, "serve-a", "--no-dispatcher"),
            spawn_server(root / "b", env, "serve-b", "--no-dispatcher"),
            spawn(["worker", "--no-migrate"], root / "w1", env, "worker-1"),
            spawn(["worker", "--no-migrate"], root / "w2", env, "worker-2"),
        ]
        try:
            await asyncio.gather(
                ready(procs[0]),
                ready(procs[1]),
                ready(procs[2], line="enterprise-desk worker"),
                ready(procs[3], line="enterprise-desk worker"),
            )
            state.a, state.b = procs[0].url, procs[1].url
            yield state
        finally:
            for p in procs:
                p.stop()


async def gql(url: str, query: str, variables: dict, bearer: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        resp = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


async def dispatch_on(url: str, w: Any, demand: Any) -> dict:
    """The dispatcher sends `demand` to the world's bureau through the server at `url`."""
    variables = {
        "input": {
            "demandId": to_global_id("Demand", demand.id),
            "departmentId": to_global_id("Department", w.bureau.id),
            "limitDays": 5,
        }
    }
    return await gql(url, DISPATCH, variables, await token_of(url, "dispatcher"))


async def quiet_hours_off(user_ids: list[int]) -> None:
    """Pushes due at once whatever time the test runs."""
    for uid in user_ids:
        await NotificationPreference.create(
            user_id=uid, quiet_start=0, quiet_end=0, quiet_on_holidays=False
        )


async def test_a_subscription_on_one_server_hears_a_mutation_on_the_other(db, cluster):
    w = await build_demand_world()
    demand = await w.submit()
    ws = await subscribe(cluster.a, await token_of(cluster.a, "handler"))
    try:
        data = await dispatch_on(cluster.b, w, demand)
        assert data["dispatchDemand"] == {"demand": {"state": "DISPATCHED"}, "errors": []}
        got = await next_notification(ws, 120)  # NOTIFY: A's re-check is an hour away
        assert got["kind"] == "DEMAND_DISPATCHED" and demand.title in got["body"]
    finally:
        await ws.close()


async def test_a_sign_in_delay_made_on_one_server_holds_on_the_other(db, cluster):
    await build_demand_world()
    for _ in range(5):  # five wrong passwords in a row, all sent to A
        data = await gql(cluster.a, LOGIN, {"u": "handler2", "p": "wrong-password"})
        assert data["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    # B holds the same (account, address) back, even with the right password; the caller
    # reads what a wrong password reads, the audit log says why.
    data = await gql(cluster.b, LOGIN, {"u": "handler2", "p": PASSWORD})
    assert data["login"] == {"accessToken": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    last = await AuditEntry.filter(actor_username="handler2").order_by("-id").first()
    assert last is not None and last.details == {"code": "LOGIN_DELAYED"}
    other = await gql(cluster.b, LOGIN, {"u": "handler", "p": PASSWORD})
    assert other["login"]["errors"] == []  # the delay is the pair's, not B's or the address's


async def test_a_calendar_edit_on_one_server_counts_at_once_on_the_other(db, cluster):
    w = await build_demand_world()
    county = to_global_id("Region", w.base.county.id)
    before = await gql(cluster.a, PREVIEW, {"r": county})  # A caches the county's calendar
    assert before["addWorkingDays"]["date"] == "2026-12-02"
    admin = await token_of(cluster.b, "county_admin")
    edited = await gql(cluster.b, LOCAL_HOLIDAY, {"r": county}, admin)
    assert edited["setRegionCalendarDays"]["errors"] == []

    async def holiday_on_a() -> bool:
        preview = await gql(cluster.a, PREVIEW, {"r": county})
        return bool(preview["addWorkingDays"]["date"] == "2026-12-03")

    await eventually(holiday_on_a, "A kept its cached calendar")


ME = "{ me { username } }"


async def test_a_sign_out_on_one_server_holds_on_the_other_at_once(db, cluster):
    await build_demand_world()
    handler = await token_of(cluster.a, "handler")
    for _ in range(2):  # B now keeps the signed-in handler (models.session_cache)
        assert await gql(cluster.b, ME, {}, handler) == {"me": {"username": "handler"}}
    ended = await gql(
        cluster.a, "mutation { logout(input: {everywhere: true}) { ok } }", {}, handler
    )
    assert ended == {"logout": {"ok": True}}

    async def ended_on_b() -> bool:
        return (await gql(cluster.b, ME, {}, handler))["me"] is None

    await eventually(ended_on_b, "B kept the ended session")


NO_EXTENSIONS = """mutation($r: ID!) { setRegionPolicy(input: {regionId: $r,
  extensionCapDays: 0}) { errors { code } } }"""
ACTIONS = "{ demands(first: 5) { edges { node { allowedActions } } } }"


async def test_a_policy_edit_on_one_server_counts_at_once_on_the_other(db, cluster):
    w = await build_demand_world()
    await w.in_progress()
    handler = await token_of(cluster.a, "handler")

    async def may_extend() -> bool:  # A's demand list, which caches the region's policy
        listed = await gql(cluster.a, ACTIONS, {}, handler)
        return "REQUEST_EXTENSION" in listed["demands"]["edges"][0]["node"]["allowedActions"]

    assert await may_extend()
    admin = await token_of(cluster.b, "county_admin")
    county = to_global_id("Region", w.base.county.id)
    edited = await gql(cluster.b, NO_EXTENSIONS, {"r": county}, admin)
    assert edited["setRegionPolicy"]["errors"] == []

    async def may_not_extend() -> bool:
        return not await may_extend()

    await eventually(may_not_extend, "A kept its cached policy")


async def test_two_workers_send_each_push_exactly_once(db, cluster):
    w = await build_demand_world()
    since = len(cluster.gateway.requests)
    cluster.most_in_flight = 0
    users = [(await make_user(f"pusher{i:02d}", None, None)).id for i in range(12)]
    for n, uid in enumerate(users):
        for k in range(2):
            await Device.create(
                user_id=uid, provider="gorush", platform="ANDROID", token=token(n * 2 + k)
            )
    handler = w.users["handler"].id
    await quiet_hours_off([*users, handler])
    # One push caused through the API: the handler's phone registered on A, the dispatch on B.
    registered = await gql(
        cluster.a,
        """mutation { registerDevice(input: {provider: "gorush", platform: "ANDROID",
           token: "handler-phone-0123456789abcdef"}) { errors { code } } }""",
        {},
        await token_of(cluster.a, "handler"),
    )
    assert registered["registerDevice"]["errors"] == []
    demand = await w.submit()
    await dispatch_on(cluster.b, w, demand)
    for _ in range(10):  # and 240 more written as the operations write them
        await tell(users, clock_now())
    total = await Row.all().count()
    assert total == 12 * 2 * 10 + 1

    async def drained() -> bool:
        return not await Row.filter(status=PushStatus.PENDING).exists()

    await eventually(drained, "the workers did not drain the outbox")
    assert await Row.filter(status=PushStatus.DELIVERED).count() == total
    sent = pushed(cluster.gateway, since)
    assert sum(sent.values()) == total
    assert set(sent.values()) == {1}  # every (token, notification id) once
    assert cluster.most_in_flight >= 2  # both workers were sending at the same time
