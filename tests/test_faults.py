"""Faults (issue 9): processes killed with SIGKILL lose nothing and half-write nothing.

- A real `enterprise-desk serve` is killed in the middle of a burst of demand transitions sent
  over HTTP by many clients at once. Afterwards `enterprise-desk check` passes; every
  transition a client saw succeed is in the timeline with its notifications and outbox rows;
  the requests cut off either happened whole or left nothing; retried with the same
  clientMutationId on a restarted server, each is applied once.
- The scheduler (`enterprise-desk worker`) is killed in the middle of its escalation run, then
  in the middle of its visit reminders, then restarted twice over (two workers at once): each
  escalation and each reminder fired exactly once, with its inbox and outbox rows.
- The database goes away under a running server (its sessions cut, new ones refused, as in a
  PostgreSQL restart): requests get 503 DATABASE_UNAVAILABLE with a Chinese (or English)
  message, and the same process serves again by itself once the database is back.
  (The real cluster restart under load is bench/pg_restart.py, not run in CI.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.access import load_actor
from models.ops import demands as demand_ops
from models.ops import visits as visit_ops
from models.ops.inbox import register_device
from models.rules import clock
from models.rules.clock import acting_at, shanghai
from models.tables.demands import Demand, DemandEvent
from models.tables.notifications import Device, Notification, NotificationEvent, PushMessage
from models.tables.visits import Visit
from schema.relay import to_global_id
from server.jobs import run_jobs_once
from tests.conftest import DB_URL, GIVEN_URL, IS_POSTGRES
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import make_user
from tests.owned_databases import admin_connect, database_name
from tests.processes import Process, base_env, ready, spawn, spawn_server
from tests.test_api_live_inbox import token_of
from tests.test_cli import BIN

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES, reason="real serve and worker processes share the test's PostgreSQL database"
)


def enterprise_desk_check() -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": DB_URL}
    return subprocess.run([str(BIN), "check"], env=env, capture_output=True, text=True, timeout=120)


async def phones(users: dict[str, int]) -> dict[int, int]:
    """One phone per user (two for the enterprise contact), registered an hour ago; returns
    each user's number of devices."""
    count: Counter[int] = Counter()
    for name, uid in users.items():
        for k in range(2 if name == "contact" else 1):
            actor = await load_actor(uid)
            await register_device(actor, provider="gorush", platform="ANDROID", token=f"{name}-{k}")
            count[uid] += 1
    await Device.all().update(last_seen_at=clock.now() - timedelta(hours=1))
    return dict(count)


async def pushes_per_notification() -> Counter[int]:
    return Counter(await PushMessage.all().values_list("notification_id", flat=True))


async def until(what: Callable[[], Awaitable[bool]], seconds: float, why: str) -> None:
    """Waits for something only the mechanism under test brings about; `seconds` is a
    generous bound against hanging, not a measure of speed."""
    deadline = time.monotonic() + seconds
    while not await what():
        assert time.monotonic() < deadline, why
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- serve killed

CLIENTS = 24
DEMANDS_PER_CLIENT = 4
KILL_AFTER = 120  # transitions seen to succeed before the server is killed
REPLY = "已协调自然资源局完成用地审批，请查收批复文件。"
# What the client does next in each state: (mutation, input type, who, further input).
STEPS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "SUBMITTED": ("dispatchDemand", "DispatchDemandInput", "dispatcher", {"limitDays": 5}),
    "DISPATCHED": ("claimDemand", "TransitionInput", "handler", {}),
    "IN_PROGRESS": (
        "replyDemand",
        "ReplyDemandInput",
        "handler",
        {"outcome": "RESOLVED", "text": REPLY},
    ),
    "PENDING_APPROVAL": ("approveReply", "DecisionInput", "lead", {"approve": True}),
    "PENDING_REVIEW": ("reviewReply", "ReviewReplyInput", "dispatcher", {"passed": True}),
}
ACTIONS = {
    "dispatchDemand": "DISPATCH",
    "claimDemand": "CLAIM",
    "replyDemand": "REPLY",
    "approveReply": "APPROVE_REPLY",
    "reviewReply": "REVIEW_REPLY",
}


@dataclass
class Attempt:
    demand_id: int
    mutation: str
    variables: dict[str, Any]
    token: str
    outcome: str = ""  # "ok" (the client saw it succeed) or "cut" (no answer)


@dataclass
class Burst:
    url: str
    tokens: dict[str, str]
    department: str
    attempts: list[Attempt] = field(default_factory=list)
    succeeded: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)


def document(mutation: str, input_type: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ "
        "demand { state } errors { code } } }"
    )


async def send(http: httpx.AsyncClient, a: Attempt) -> dict[str, Any]:
    input_type = next(t for m, t, _, _ in STEPS.values() if m == a.mutation)
    resp = await http.post(
        "/graphql",
        json={"query": document(a.mutation, input_type), "variables": a.variables},
        headers={"Authorization": f"Bearer {a.token}"},
    )
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    payload = body["data"][a.mutation]
    assert payload["errors"] == [], payload
    return dict(payload)


async def one_client(burst: Burst, demand_ids: list[int]) -> None:
    """Takes its demands through the loop one step at a time until the server goes away."""
    async with httpx.AsyncClient(base_url=burst.url, timeout=30) as http:
        for demand_id in demand_ids:
            state = "SUBMITTED"
            while state in STEPS:
                mutation, _, who, extra = STEPS[state]
                given = {"demandId": to_global_id("Demand", demand_id), **extra}
                if mutation == "dispatchDemand":
                    given["departmentId"] = burst.department
                given["clientMutationId"] = str(uuid.uuid4())
                a = Attempt(demand_id, mutation, {"input": given}, burst.tokens[who])
                burst.attempts.append(a)
                try:
                    payload = await send(http, a)
                except httpx.TransportError:
                    a.outcome = "cut"
                    return
                a.outcome = "ok"
                state = payload["demand"]["state"]
                burst.succeeded += 1
                if burst.succeeded >= KILL_AFTER:
                    burst.enough.set()


async def timeline(demand_id: int) -> list[str]:
    """The demand's transitions after its submission, oldest first."""
    actions = (
        await DemandEvent.filter(demand_id=demand_id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[0] == "SUBMIT"
    return [str(a) for a in actions[1:]]


async def test_a_server_killed_mid_burst_leaves_every_demand_whole(db, tmp_path: Path):
    w = await build_demand_world()
    dispatcher2 = await make_user("dispatcher2", "DISPATCHER", w.base.county)
    u = w.users
    devices = await phones(
        {
            "handler": u["handler"].id,
            "handler2": u["handler2"].id,
            "lead": u["lead"].id,
            "contact": u["ent_user"].id,
            "dispatcher2": dispatcher2.id,
        }
    )
    demands = [
        (await w.submit(title=f"扩建用地审批 {i}")).id for i in range(CLIENTS * DEMANDS_PER_CLIENT)
    ]
    env = base_env(tmp_path)
    server = spawn_server(tmp_path / "a", env, "serve-a", "--no-dispatcher")
    restarted: Process | None = None
    try:
        await ready(server)
        tokens = {who: await token_of(server.url, who) for who in ("dispatcher", "handler", "lead")}
        burst = Burst(server.url, tokens, to_global_id("Department", w.bureau.id))

        async def kill_when_enough() -> None:
            await burst.enough.wait()
            server.proc.kill()  # SIGKILL: no shutdown, transactions cut where they stand

        clients = [one_client(burst, demands[i::CLIENTS]) for i in range(CLIENTS)]
        await asyncio.wait_for(asyncio.gather(kill_when_enough(), *clients), 120)
        server.proc.wait()
        cut = [a for a in burst.attempts if a.outcome == "cut"]
        seen = [a for a in burst.attempts if a.outcome == "ok"]
        assert cut, "no request was in flight when the server died"
        assert len(seen) < KILL_AFTER + CLIENTS, "the server answered after it was killed"

        # The consistency check, as an operator runs it after a crash.
        checked = enterprise_desk_check()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "数据一致" in checked.stdout

        # Every transition seen to succeed is there; one cut off is there whole or not at all.
        cut_of = {a.demand_id: a for a in cut}
        for demand_id in demands:
            saw = [ACTIONS[a.mutation] for a in seen if a.demand_id == demand_id]
            actions = await timeline(demand_id)
            if actions != saw:
                assert demand_id in cut_of and actions == [
                    *saw,
                    ACTIONS[cut_of[demand_id].mutation],
                ]

        # Each transition that tells people has its notices, inbox rows and outbox rows.
        expected_told = {
            "DISPATCH": {"DEMAND_DISPATCHED": {u["handler"].id, u["handler2"].id, u["lead"].id}},
            "REVIEW_REPLY": {
                "DEMAND_REPLIED": {u["ent_user"].id},
                "DEMAND_RETURN_VISIT_DUE": {dispatcher2.id},
            },
        }
        events = await DemandEvent.filter(demand_id__in=demands).values("demand_id", "action", "at")
        notices = await NotificationEvent.all().values("id", "kind", "subject_id", "fanned_out_at")
        told: dict[tuple[int, Any], dict[str, int]] = {}
        for n in notices:
            told.setdefault((n["subject_id"], n["fanned_out_at"]), {})[n["kind"]] = n["id"]
        wanted_notices = 0
        for e in events:
            wanted = expected_told.get(str(e["action"]), {})
            got = told.get((e["demand_id"], e["at"]), {})
            assert set(got) == set(wanted), e
            wanted_notices += len(wanted)
            for kind, notice_id in got.items():
                inbox = await Notification.filter(event_id=notice_id).values_list(
                    "user_id", flat=True
                )
                assert set(inbox) == wanted[kind] and len(inbox) == len(wanted[kind])
        assert len(notices) == wanted_notices  # nothing told of a change that did not happen
        pushed = await pushes_per_notification()
        for n in await Notification.all().values("id", "user_id"):
            assert pushed[n["id"]] == devices[n["user_id"]], n

        # The clients retry what was cut off, with the same ids, on a restarted server.
        restarted = spawn_server(tmp_path / "b", env, "serve-b", "--no-dispatcher")
        await ready(restarted)
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as http:
            for a in cut:
                await send(http, a)
        for a in cut:
            saw = [ACTIONS[s.mutation] for s in seen if s.demand_id == a.demand_id]
            assert await timeline(a.demand_id) == [*saw, ACTIONS[a.mutation]]
    finally:
        for p in (server, restarted):
            if p is not None:
                p.stop()


# --------------------------------------------------------------------------- worker killed

OVERDUE = 100
VISITS = 60


async def overdue_demands(w: DemandWorld) -> list[int]:
    """Dispatched on Friday 2025-09-26 with 5 working days, never claimed: long overdue, so
    the scheduler escalates each to level 3 (the department's leader and the supervisors)."""
    made: list[int] = []

    async def one(i: int) -> None:
        with acting_at(shanghai(2025, 9, 26, 9)):
            d = await w.submit(title=f"厂房消防验收 {i}")
            await demand_ops.dispatch_demand(
                w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5
            )
        made.append(d.id)

    for start in range(0, OVERDUE, 5):  # five at a time: the test process's pool
        await asyncio.gather(*(one(i) for i in range(start, min(start + 5, OVERDUE))))
    return sorted(made)


async def visits_tomorrow(w: DemandWorld) -> list[int]:
    tomorrow = clock.today() + timedelta(days=1)
    made = []
    for i in range(VISITS):
        planned = shanghai(tomorrow.year, tomorrow.month, tomorrow.day, 8) + timedelta(
            minutes=5 * i
        )
        v = await visit_ops.plan_visit(
            w.cadre,
            w.base.ent_a1.id,
            visit_ops.VisitPeople(),
            planned,
            client_id=str(uuid.uuid4()),
        )
        made.append(v.id)
    return made


async def count_events(kind: str) -> int:
    return await NotificationEvent.filter(kind=kind).count()


async def escalations() -> int:
    return await DemandEvent.filter(action="ESCALATE").count()


async def test_the_scheduler_killed_mid_run_fires_each_escalation_and_reminder_once(
    db, tmp_path: Path
):
    w = await build_demand_world()
    u = w.users
    devices = await phones(
        {"lead": u["lead"].id, "supervisor": u["supervisor"].id, "cadre": u["cadre_a"].id}
    )
    demands = await overdue_demands(w)
    visits = await visits_tomorrow(w)
    env = base_env(tmp_path)

    def worker(name: str) -> Process:
        return spawn(["worker", "--no-migrate"], tmp_path / name, env, name)

    workers: list[Process] = []
    try:
        # Killed in the middle of the escalations.
        workers.append(worker("worker-1"))
        await until(lambda: _at_least(escalations, 1), 60, "the worker escalated nothing")
        workers[-1].proc.kill()
        workers[-1].proc.wait()
        assert 0 < await escalations() < OVERDUE, "not killed in the middle of its run"
        # Restarted, and killed again in the middle of the visit reminders.
        workers.append(worker("worker-2"))
        await until(
            lambda: _at_least(lambda: count_events("VISIT_TOMORROW"), 1),
            60,
            "the restarted worker reminded nobody",
        )
        workers[-1].proc.kill()
        workers[-1].proc.wait()
        assert 0 < await count_events("VISIT_TOMORROW") < VISITS
        assert await escalations() == OVERDUE
        # Two workers at once finish the run.
        workers += [worker("worker-3"), worker("worker-4")]
        await asyncio.gather(*(ready(p, line="enterprise-desk worker") for p in workers[-2:]))
        await until(
            lambda: _at_least(lambda: count_events("VISIT_TOMORROW"), VISITS),
            60,
            "the visit reminders did not all go out",
        )
    finally:
        for p in workers:
            p.stop()
    await run_jobs_once()  # one more scheduler round: everything has fired already

    escalated = Counter(
        await DemandEvent.filter(action="ESCALATE").values_list("demand_id", flat=True)
    )
    assert escalated == Counter({d: 1 for d in demands})
    assert set(await Demand.filter(id__in=demands).values_list("escalation_level", flat=True)) == {
        3
    }
    notices = await NotificationEvent.filter(kind="DEMAND_ESCALATED").values("id", "subject_id")
    assert Counter(n["subject_id"] for n in notices) == Counter({d: 1 for d in demands})
    reminders = await NotificationEvent.filter(kind="VISIT_TOMORROW").values("id", "subject_id")
    assert Counter(n["subject_id"] for n in reminders) == Counter({v: 1 for v in visits})
    assert await Visit.filter(id__in=visits).count() == VISITS
    overdue = Counter(
        await NotificationEvent.filter(kind="DEMAND_OVERDUE").values_list("subject_id", flat=True)
    )
    assert set(overdue.values()) <= {1}  # in working hours only, and then once per demand

    pushed = await pushes_per_notification()
    for group, told in (
        (notices, {u["lead"].id, u["supervisor"].id}),
        (reminders, {u["cadre_a"].id}),
    ):
        for n in group:
            inbox = await Notification.filter(event_id=n["id"]).values("id", "user_id")
            assert sorted(r["user_id"] for r in inbox) == sorted(told)
            for r in inbox:
                assert pushed[r["id"]] == devices[r["user_id"]]
    checked = enterprise_desk_check()
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n


# --------------------------------------------------------------------------- database away

OUTAGE_APP = "desk_outage_test"  # the server's sessions, told apart from the test's own
LIST = "{ demands(first: 5) { totalCount edges { node { state } } } }"


async def take_database_away(away: bool) -> None:
    """What clients see of a PostgreSQL restart, for this database only: the server's
    sessions terminated and new ones refused (the rest of the cluster is not disturbed)."""
    name = database_name(DB_URL)
    # From the database TEST_DATABASE_URL names: a database cannot refuse its own sessions.
    conn = await admin_connect(GIVEN_URL)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not away).lower()}')
        if away:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name = $2",
                name,
                OUTAGE_APP,
            )
    finally:
        await conn.close()


async def test_a_database_outage_is_answered_503_and_the_server_recovers_by_itself(
    db, tmp_path: Path
):
    w = await build_demand_world()
    demand = await w.submit()
    url = f"{DB_URL}{'&' if '?' in DB_URL else '?'}application_name={OUTAGE_APP}"
    server = spawn_server(tmp_path, base_env(tmp_path, DATABASE_URL=url), "serve")
    dispatch = {
        "input": {
            "demandId": to_global_id("Demand", demand.id),
            "departmentId": to_global_id("Department", w.bureau.id),
            "limitDays": 5,
            "clientMutationId": str(uuid.uuid4()),
        }
    }
    try:
        await ready(server)
        bearer = {"Authorization": f"Bearer {await token_of(server.url, 'dispatcher')}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

            async def listed(**headers: str) -> httpx.Response:
                return await http.post("/graphql", json={"query": LIST}, headers=bearer | headers)

            assert (await listed()).status_code == 200
            await take_database_away(True)
            try:
                for headers, text in (
                    ({}, "数据库暂时不可用，请稍后重试"),
                    ({"Accept-Language": "en"}, "The database is temporarily unavailable"),
                ):
                    resp = await listed(**headers)
                    assert resp.status_code == 503 and resp.headers["Retry-After"] == "2"
                    error = resp.json()["errors"][0]
                    assert error["extensions"] == {"code": "DATABASE_UNAVAILABLE"}
                    assert error["message"].startswith(text)
                query = document("dispatchDemand", "DispatchDemandInput")
                cut = await http.post(
                    "/graphql", json={"query": query, "variables": dispatch}, headers=bearer
                )
                assert cut.status_code == 503
                assert (await http.get("/readyz")).status_code == 503
            finally:
                await take_database_away(False)

            # Back by itself, the same process: no restart, no request failing afterwards.
            async def back() -> bool:
                return (await listed()).status_code == 200

            await until(back, 120, "the server did not come back")
            for _ in range(20):
                assert (await listed()).status_code == 200
            retried = await http.post(
                "/graphql", json={"query": query, "variables": dispatch}, headers=bearer
            )
            assert retried.json()["data"]["dispatchDemand"] == {
                "demand": {"state": "DISPATCHED"},
                "errors": [],
            }
        assert server.proc.poll() is None
    finally:
        server.stop()
    assert await timeline(demand.id) == ["DISPATCH"]
