"""Push delivery by several `enterprise-desk worker` processes on one PostgreSQL, against a
loopback JPush (tests/gateways/jpush.py, in its own process) that can be slow, hang, answer 503
for a while or enforce a call quota. Per scenario and number of workers it prints: pushes
created, delivered, dead, duplicated (the same registration id and event accepted twice by the
gateway), HTTP calls made and the time to drain the outbox.

    PYTHONPATH=. .venv/bin/python bench/push_workers.py [--workers 1,2,3]
        [--scenarios slow,hang,outage,kill,quota]
        [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--database bench_push]

The database is created for the run and dropped at the end. A pool of users (one JPush device
each, 4 in 5 Android, 1 in 5 iOS, quiet hours off) is made once; each run empties the outbox
and the inbox, queues the scenario's notices held back, starts the workers, then releases the
rows at once (t = 0) and waits for the outbox to drain. The workers run with
PUSH_LEASE_SECONDS=5 (so a slow round outlives the lease unless it is renewed) and
PUSH_TIMEOUT_SECONDS=10. Scenarios:

- slow: every answer takes 250 ms;
- hang: for the first 20 s every answer takes 8 s (longer than the lease, within the
  timeout), then 50 ms;
- outage: 503 to everything for the first 45 s (the breaker's cooldown is 30 s), then fine;
- kill: 250 ms answers; once a third is delivered one worker gets `kill -9` and a new one
  starts (in flight at that moment: the calls the gateway had not answered yet);
- quota: 5,000 pushes while the gateway enforces 600 calls a minute (60 per 6 s window, the
  same rate in a shorter window), each worker pacing itself at JPush's 600 a minute.

Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _push import fake_gateway, make_users

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APP_KEY = "7d431e42dfa6a6d693ac2d04"
MASTER_SECRET = "5e987ac6d2e04d95a9d8f0d1"  # noqa: S105 - the fake's, not a real one
BIN = Path(sys.executable).parent / "enterprise-desk"
POOL = 1000  # users, one device each
LEASE = 5
TIMEOUT = 10
DRAIN_LIMIT = 300.0  # seconds: a run that takes longer is reported as not drained


# --------------------------------------------------------------------------- the fake gateway


def serve_fake(port: int) -> None:
    """The JPush fake behind a control API, served until killed: POST /reset (a new fake with
    the given quota), POST /control (latency, down), GET /stats."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from tests.gateways.harness import FakeGateway
    from tests.gateways.jpush import jpush_fake

    current: dict[str, Any] = {}

    def make(quota: int = 10**9, window: float = 60.0, enforce: bool = False) -> FakeGateway:
        fake, _ = jpush_fake(
            APP_KEY, MASTER_SECRET, quota=quota, window_seconds=window, enforce_quota=enforce
        )
        current.update(fake=fake, down_since=None)
        return fake

    make()

    async def push(request: Request) -> Response:
        fake: FakeGateway = current["fake"]
        return await fake.answer(request)

    async def reset(request: Request) -> JSONResponse:
        make(**(await request.json()))
        return JSONResponse({})

    async def control(request: Request) -> JSONResponse:
        fake: FakeGateway = current["fake"]
        body = await request.json()
        if "latency" in body:
            fake.latency = float(body["latency"])
        if "down" in body:
            fake.down = bool(body["down"])
            current["down_since"] = time.monotonic() if fake.down else current["down_since"]
        return JSONResponse({})

    async def stats(request: Request) -> JSONResponse:
        fake: FakeGateway = current["fake"]
        accepted: Counter[tuple[str, str]] = Counter()
        in_flight = 0
        for r in fake.requests:
            ids = r.body["audience"]["registration_id"]
            if r.status is None:
                in_flight += len(ids)
            elif r.status == 200:
                platform = r.body["platform"][0]
                event = r.body["notification"][platform]["extras"]["eventId"]
                for rid in ids:
                    accepted[(rid, event)] += 1
        since = current["down_since"]
        failed_at = [round(r.at - since, 1) for r in fake.requests if r.status == 503 and since]
        statuses = Counter(str(r.status) for r in fake.requests)
        return JSONResponse(
            {
                "calls": len(fake.requests),
                "statuses": statuses,
                "pushes": sum(accepted.values()),
                "distinct": len(accepted),
                "duplicates": sum(n - 1 for n in accepted.values()),
                "in_flight_pushes": in_flight,
                "in_flight_calls": sum(1 for r in fake.requests if r.status is None),
                "failed_at": failed_at,
                "largest_call": max(
                    (len(r.body["audience"]["registration_id"]) for r in fake.requests), default=0
                ),
            }
        )

    app = Starlette(
        routes=[
            Route("/v3/push", push, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/control", control, methods=["POST"]),
            Route("/stats", stats),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --------------------------------------------------------------------------- the database


async def create_database(admin_url: str, name: str) -> str:
    import asyncpg

    from models.db.config import libpq_dsn

    conn = await asyncpg.connect(libpq_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    from models.db.config import libpq_dsn

    conn = await asyncpg.connect(libpq_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def make_pool() -> list[int]:
    from models.tables.notifications import Device, NotificationPreference

    ids = await make_users(POOL)
    await Device.bulk_create(
        [
            Device(
                user_id=uid,
                provider="jpush",
                platform="IOS" if k % 5 == 4 else "ANDROID",
                token=f"1a0018970a{uid:09d}",  # a registration id's shape
            )
            for k, uid in enumerate(ids)
        ],
        batch_size=1000,
    )
    await NotificationPreference.bulk_create(
        [
            NotificationPreference(user_id=uid, quiet_start=0, quiet_end=0, quiet_on_holidays=False)
            for uid in ids
        ],
        batch_size=1000,
    )
    return ids


async def queue(users: list[int], sizes: list[int]) -> int:
    """Notices of the given sizes to consecutive users of the pool, held back (due in 2100)."""
    from tortoise import connections
    from tortoise.transactions import in_transaction

    from models.ops.notify import Notice, notify
    from models.rules.clock import shanghai
    from models.rules.notification_kinds import NotificationKind
    from models.tables.notifications import PushMessage

    conn = connections.get("default")
    await conn.execute_script(
        "TRUNCATE push_message, notification, notification_event, push_gateway "
        "RESTART IDENTITY CASCADE"
    )
    when = shanghai(2025, 3, 5, 10)
    cursor = itertools.cycle(users)
    for n, size in enumerate(sizes):
        async with in_transaction():
            await notify(
                Notice(
                    NotificationKind.VISIT_TOMORROW,
                    [next(cursor) for _ in range(size)],
                    "Visit",
                    n + 1,
                    {"enterprise": "清河县恒达机械制造有限公司", "time": "09:30"},
                ),
                when,
            )
    await conn.execute_script("UPDATE push_message SET due_at = '2100-01-01'")
    return await PushMessage.all().count()


async def release() -> None:
    from tortoise import connections

    await connections.get("default").execute_script(
        "UPDATE push_message SET due_at = now() - interval '1 second'"
    )


async def outbox() -> dict[str, int]:
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT status, count(*) AS n FROM push_message GROUP BY status"
    )
    return {str(r["status"]): int(r["n"]) for r in rows}


async def dead_reasons() -> dict[str, int]:
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT last_error, count(*) AS n FROM push_message WHERE status = 'DEAD' "
        "GROUP BY last_error"
    )
    return {str(r["last_error"]): int(r["n"]) for r in rows}


# --------------------------------------------------------------------------- workers


@dataclass
class Worker:
    proc: subprocess.Popen
    log: Path


def start_worker(db_url: str, fake_url: str, root: Path, n: int) -> Worker:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSH_", "DATABASE_"))}
    data = root / f"w{n}"
    data.mkdir(parents=True, exist_ok=True)
    env.update(
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_hex(24),
        DATA_DIR=str(data),
        LOG_LEVEL="WARNING",
        PUSH_PROVIDER="jpush",
        PUSH_BASE_URL=fake_url,
        JPUSH_APP_KEY=APP_KEY,
        JPUSH_MASTER_SECRET=MASTER_SECRET,
        PUSH_LEASE_SECONDS=str(LEASE),
        PUSH_TIMEOUT_SECONDS=str(TIMEOUT),
    )
    log = data / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN), "worker", "--no-migrate"], cwd=data, env=env, stdout=out, stderr=out
        )
    return Worker(proc, log)


async def ready(w: Worker) -> None:
    for _ in range(600):
        if w.proc.poll() is not None:
            raise SystemExit(f"a worker exited:\n{w.log.read_text(errors='replace')}")
        if "enterprise-desk worker" in w.log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"a worker did not start:\n{w.log.read_text(errors='replace')}")


def stop(workers: list[Worker]) -> None:
    for w in workers:
        if w.proc.poll() is None:
            w.proc.terminate()
    for w in workers:
        try:
            w.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()


# --------------------------------------------------------------------------- scenarios


@dataclass
class Run:
    http: httpx.AsyncClient
    fake: str
    db_url: str
    root: Path
    users: list[int]
    workers: list[Worker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = 0.0

    async def control(self, **body: Any) -> None:
        (await self.http.post(f"{self.fake}/control", json=body)).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        return dict((await self.http.get(f"{self.fake}/stats")).json())

    def at(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Scenario:
    name: str
    sizes: list[int]  # recipients per notice
    latency: float = 0.0  # at t = 0
    down: bool = False
    quota: dict[str, Any] = field(default_factory=dict)
    driver: Callable[[Run], Awaitable[None]] | None = None


async def hang_driver(run: Run) -> None:
    await asyncio.sleep(20)
    await run.control(latency=0.05)


async def outage_driver(run: Run) -> None:
    await asyncio.sleep(45)
    await run.control(down=False)
    run.notes.append("503s at s " + ", ".join(map(str, (await run.stats())["failed_at"])))


async def kill_driver(run: Run) -> None:
    created = sum((await outbox()).values())
    for _ in range(int(DRAIN_LIMIT / 0.05)):
        if (await outbox()).get("DELIVERED", 0) >= created / 3:
            break
        await asyncio.sleep(0.05)
    victim = run.workers[0]
    flight = await run.stats()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    delivered = (await outbox()).get("DELIVERED", 0)
    run.notes.append(
        f"kill -9 at {run.at():.1f} s with {delivered} delivered; in flight at the gateway: "
        f"{flight['in_flight_calls']} calls, {flight['in_flight_pushes']} pushes"
    )
    replacement = start_worker(run.db_url, run.fake, run.root, len(run.workers) + 1)
    run.workers.append(replacement)
    await ready(replacement)


def mixed(total: int) -> list[int]:
    """Notice sizes as they come (a handler, a few dispatchers, a department, a region)."""
    sizes: list[int] = []
    for size in itertools.cycle((1, 3, 5, 10, 25, 100)):
        if sum(sizes) + size > total:
            break
        sizes.append(size)
    return [*sizes, total - sum(sizes)] if total > sum(sizes) else sizes


SCENARIOS = {
    "slow": Scenario("slow", [5] * 300, latency=0.25),
    "hang": Scenario("hang", [5] * 120, latency=8.0, driver=hang_driver),
    "outage": Scenario("outage", [5] * 100, latency=0.05, down=True, driver=outage_driver),
    "kill": Scenario("kill", [5] * 300, latency=0.25, driver=kill_driver),
    "quota": Scenario(
        "quota", mixed(5000), latency=0.05, quota={"quota": 60, "window": 6, "enforce": True}
    ),
}


async def run_one(scenario: Scenario, workers: int, base: Run) -> dict[str, Any]:
    run = Run(base.http, base.fake, base.db_url, base.root, base.users)
    (await run.http.post(f"{run.fake}/reset", json=scenario.quota)).raise_for_status()
    created = await queue(run.users, scenario.sizes)
    run.workers = [start_worker(run.db_url, run.fake, run.root, n) for n in range(workers)]
    try:
        await asyncio.gather(*(ready(w) for w in run.workers))
        await run.control(latency=scenario.latency, down=scenario.down)
        run.started = time.monotonic()
        driver = asyncio.create_task(scenario.driver(run)) if scenario.driver else None
        await release()
        drained = None
        while run.at() < DRAIN_LIMIT:
            if not (await outbox()).get("PENDING", 0):
                drained = run.at()
                break
            await asyncio.sleep(0.2)
        if driver is not None:
            if drained is None or not driver.done():
                driver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await driver
    finally:
        stop(run.workers)
    counts = await outbox()
    stats = await run.stats()
    return {
        "scenario": scenario.name,
        "workers": workers,
        "created": created,
        "delivered": counts.get("DELIVERED", 0),
        "dead": counts.get("DEAD", 0),
        "pending": counts.get("PENDING", 0),
        "duplicates": stats["duplicates"],
        "calls": stats["calls"],
        "statuses": stats["statuses"],
        "largest": stats["largest_call"],
        "drain": drained,
        "notes": run.notes,
        "dead_reasons": await dead_reasons() if counts.get("DEAD") else {},
    }


def show(r: dict[str, Any]) -> None:
    drain = "not drained" if r["drain"] is None else f"{r['drain']:.1f} s"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
    print(
        f"{r['scenario']:7} {r['workers']} worker(s): created {r['created']}, delivered "
        f"{r['delivered']}, dead {r['dead']}, duplicated {r['duplicates']}, HTTP calls "
        f"{r['calls']} ({statuses}; largest {r['largest']} ids), drained in {drain}",
        flush=True,
    )
    for note in r["notes"]:
        print(f"          {note}", flush=True)
    for reason, n in r["dead_reasons"].items():
        print(f"          dead: {n} × {reason}", flush=True)


async def main_async(args: argparse.Namespace, fake_url: str) -> None:
    from tortoise import Tortoise

    from models.db.config import migrate_database, tortoise_config

    db_url = await create_database(args.admin_url, args.database)
    try:
        await migrate_database(db_url)
        await Tortoise.init(config=tortoise_config(db_url))
        users = await make_pool()
        with tempfile.TemporaryDirectory(prefix="ed-push-workers-") as tmp:
            async with httpx.AsyncClient(timeout=30) as http:
                base = Run(http, fake_url, db_url, Path(tmp), users)
                print(
                    f"PostgreSQL {args.database}; workers with PUSH_LEASE_SECONDS={LEASE}, "
                    f"PUSH_TIMEOUT_SECONDS={TIMEOUT}, JPush 600 calls/min each; pool of {POOL} "
                    "users (4/5 Android, 1/5 iOS)",
                    flush=True,
                )
                for name in args.scenarios.split(","):
                    for workers in (int(w) for w in args.workers.split(",")):
                        show(await run_one(SCENARIOS[name], workers, base))
    finally:
        await Tortoise.close_connections()
        await drop_database(args.admin_url, args.database)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database", default="bench_push")
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return
    with fake_gateway(__file__) as fake_url:
        asyncio.run(main_async(args, fake_url))


if __name__ == "__main__":
    main()
