"""Push dispatch throughput: 10,000 queued pushes drained through the real dispatcher and the
gorush adapter to the loopback gorush fake (tests/gateways/gorush.py, in its own process).

    .venv/bin/python bench/push_dispatch.py [--users 2500] [--devices 4] [--batch-size 500]
        [--rate 5000] [--database-url postgres://postgres@127.0.0.1:5432/bench [--reset]]

A fresh SQLite file by default. A PostgreSQL database must be empty, or `--reset` drops and
recreates its `public` schema (everything in it is lost). Each user gets `--devices` devices
(Android via FCM, iOS via APNs, Harmony via Huawei, all relayed by gorush), and one notice per
250 users queues one push per device through `models.ops.notify`. Prints pushes/s, gateway
calls, and p50/p99 of the batch latency (one dispatcher round: claim, build, send, record).
Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _push import fake_gateway, make_users

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PLATFORMS = (("fcm", "ANDROID"), ("apns", "IOS"), ("huawei", "HARMONY"), ("fcm", "ANDROID"))
NOTICE_SIZE = 250  # recipients per notice


def serve_fake(port: int) -> None:
    """The gorush fake plus GET /stats (requests, tokens, repeats), served until killed."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.gateways.gorush import gorush_fake

    fake, app = gorush_fake()

    async def stats(request: Request) -> JSONResponse:
        seen: dict[str, int] = {}
        for req in fake.requests:
            for n in req.body["notifications"]:
                note = n.get("data", {}).get("notificationId") or n.get("huawei_data", "")
                for t in n["tokens"]:
                    key = f"{t}|{note}"
                    seen[key] = seen.get(key, 0) + 1
        repeats = sum(v - 1 for v in seen.values())
        return JSONResponse(
            {"requests": len(fake.requests), "pushes": len(seen), "repeats": repeats}
        )

    both = Starlette(routes=[*app.routes, Route("/stats", stats)])
    uvicorn.run(both, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def reset_postgres(url: str, reset: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        if tables and not reset:
            raise SystemExit(f"{url}: database is not empty; pass --reset to wipe its schema")
        if tables:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def queue(users: int, devices: int) -> int:
    from tortoise.transactions import in_transaction

    from models.ops.notify import Notice, notify
    from models.rules.clock import shanghai
    from models.rules.notification_kinds import NotificationKind
    from models.tables.notifications import Device

    ids = await make_users(users)
    await Device.bulk_create(
        [
            Device(
                user_id=uid,
                provider=PLATFORMS[k % len(PLATFORMS)][0],
                platform=PLATFORMS[k % len(PLATFORMS)][1],
                token=f"bench-token-{uid:06d}-{k}-APA91bHXk3q9ZTrV8wLmN2pQ7sY4uE6iO1aD5fG0hJ",
            )
            for uid in ids
            for k in range(devices)
        ],
        batch_size=1000,
    )
    when = shanghai(2025, 3, 5, 10)  # a past Wednesday morning: everything is due now
    for start in range(0, len(ids), NOTICE_SIZE):
        async with in_transaction():
            await notify(
                Notice(
                    NotificationKind.VISIT_TOMORROW,
                    ids[start : start + NOTICE_SIZE],
                    "Visit",
                    start + 1,
                    {"enterprise": "清河县恒达机械制造有限公司", "time": "09:30"},
                ),
                when,
            )
    from models.tables.notifications import PushMessage

    return await PushMessage.all().count()


async def run(args: argparse.Namespace, fake_url: str) -> None:
    from tortoise import Tortoise

    from models.db.config import migrate_database, normalize_db_url, tortoise_config
    from models.rules.notification_kinds import PushStatus
    from models.tables.notifications import PushMessage
    from notifications.adapters.gorush import GorushGateway
    from notifications.config import PushConfig
    from notifications.dispatcher import Dispatcher
    from notifications.flow import Flow, limits_with_rates
    from notifications.metrics import COUNTS
    from notifications.registry import make_client

    if args.database_url:
        url = normalize_db_url(args.database_url)
        await reset_postgres(url, args.reset)
        label = "PostgreSQL"
    else:
        url = f"sqlite://{Path(tempfile.mkdtemp(prefix='ed-push-bench-')) / 'bench.sqlite3'}"
        label = "SQLite"
    await migrate_database(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        t0 = time.perf_counter()
        queued = await queue(args.users, args.devices)
        print(
            f"{label}: {queued} pushes queued for {args.users} users in {time.perf_counter() - t0:.1f} s"
        )
        latencies: list[float] = []
        flow = Flow(limits_with_rates({"gorush": args.rate}))
        async with make_client(PushConfig(providers=("gorush",))) as client:
            dispatcher = Dispatcher(
                {"gorush": GorushGateway(client, fake_url)},
                batch_size=args.batch_size,
                flow=flow,
                on_batch=lambda rows, seconds: latencies.append(seconds),
            )
            start = time.perf_counter()
            while await dispatcher.run_once() > 0:
                pass
            elapsed = time.perf_counter() - start
            stats = (await client.get(f"{fake_url}/stats")).json()
        delivered = await PushMessage.filter(status=PushStatus.DELIVERED).count()
        left = await PushMessage.exclude(status=PushStatus.DELIVERED).count()
    finally:
        await Tortoise.close_connections()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    calls = COUNTS.get("calls", "gorush")
    call_ms = COUNTS.get("call_seconds", "gorush") / max(calls, 1) * 1000
    rate = "unlimited" if args.rate is None else f"{args.rate:g}/s"
    print(
        f"batch size {args.batch_size}, gorush rate limit {rate}\n"
        f"  {delivered / elapsed:8.0f} pushes/s   {delivered} delivered in {elapsed:.2f} s, "
        f"{left} not delivered\n"
        f"  {len(latencies)} batches: p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms\n"
        f"  {stats['requests']} HTTP calls to gorush ({calls:.0f} adapter sends, mean "
        f"{call_ms:.0f} ms each), {stats['pushes']} distinct pushes at the fake, "
        f"{stats['repeats']} repeats"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=2500)
    ap.add_argument("--devices", type=int, default=4, help="devices per user")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument(
        "--rate",
        type=lambda v: None if v.lower() in ("off", "none", "0") else float(v),
        default=5000.0,
        help="gorush token bucket, messages/s (the default); off for none",
    )
    ap.add_argument("--database-url")
    ap.add_argument("--reset", action="store_true", help="wipe a non-empty PostgreSQL schema")
    ap.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return
    with fake_gateway(__file__) as fake_url:
        asyncio.run(run(args, fake_url))


if __name__ == "__main__":
    main()
