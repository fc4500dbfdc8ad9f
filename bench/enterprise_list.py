"""Baseline for the enterprise, demand, visit, agency and service-point list screens: a real `enterprise-desk serve` on a fresh demo
county, driven by concurrent signed-in clients over HTTP.

    .venv/bin/python bench/enterprise_list.py [--requests 2000] [--concurrency 16]
        [--database-url postgres://postgres@127.0.0.1:5432/bench] [--only agent]

Prints requests/s and latency percentiles per screen. Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _server import bench_env, load_demo, serve

SCREENS = {
    "cadre: my town's enterprises (20, region)": (
        "cadre",
        "{ enterprises(first: 20) { totalCount edges { node { id name creditCode "
        "region { name } } } } }",
    ),
    "admin: search 机械 (20, region, contacts, leaders)": (
        "admin",
        '{ enterprises(first: 20, filter: {search: "机械"}) { totalCount edges { node { id '
        "name creditCode scale region { name } contacts { name mobile } "
        "assignedLeaders { leader { displayName } } } } } }",
    ),
    "dispatcher: county demands (20, enterprise, category, department, last event)": (
        "dispatcher",
        "{ demands(first: 20) { totalCount edges { node { id title state effectiveDeadline "
        "overdue remainingWorkingDays allowedActions enterprise { name } category { name } "
        "department { name } lastEvent { action at actorName } } } } }",
    ),
    "handler: assigned to me (20, same fields)": (
        "handler",
        "{ demands(first: 20, filter: {assignedToMe: true}) { totalCount edges { node { id "
        "title state effectiveDeadline overdue remainingWorkingDays allowedActions "
        "enterprise { name } category { name } lastEvent { action at actorName } } } } }",
    ),
    "supervisor: county visits (20, enterprise, lead, participants)": (
        "supervisor",
        "{ visits(first: 20) { totalCount edges { node { id at status mode locationTrust "
        "countsTowardCoverage enterprise { name } lead { displayName } "
        "participants { isLead user { displayName } } } } } }",
    ),
    "leader: my assigned enterprises this quarter (visited, last visit)": (
        "leader",
        "{ myAssignedEnterprises(first: 20) { totalCount edges { node { visitedInPeriod "
        "visitsInPeriod lastVisitAt enterprise { id name } } } } }",
    ),
    "agent: my desk's agency requests (20, enterprise, deadline, overdue, last event)": (
        "agent",
        "{ agencyRequests(first: 20) { totalCount edges { node { id state procedureName "
        "effectiveDeadline overdue remainingWorkingDays allowedActions enterprise { name } "
        "agent { displayName } lastEvent { action at } } } } }",
    ),
    "enterprise: nearest service points (open now, agents, catalog)": (
        "enterprise",
        "{ servicePoints(first: 10, near: {latitude: 30.2335, longitude: 119.7165, "
        "coordinateSystem: GCJ02}) { totalCount edges { node { id name distanceM openNow "
        "phone agents { displayName } procedures { name promisedDays } } } } }",
    ),
}


async def _drive(url: str, headers: dict[str, str], query: str, total: int, conc: int) -> None:
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        for _ in range(20):  # warm up caches and connections
            await http.post("/graphql", json={"query": query}, headers=headers)
        latencies: list[float] = []
        errors = 0
        queue = iter(range(total))

        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                t0 = time.perf_counter()
                resp = await http.post("/graphql", json={"query": query}, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200 or "errors" in resp.json():
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"  {total / elapsed:8.1f} req/s   p50 {p(0.5):6.1f} ms   p99 {p(0.99):6.1f} ms   "
        f"mean {statistics.mean(latencies) * 1000:6.1f} ms   errors {errors}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--database-url")
    ap.add_argument("--only", help="run only the screens whose name contains this text")
    args = ap.parse_args()
    env = bench_env(Path(tempfile.mkdtemp(prefix="ed-bench-")), args.database_url)
    load_demo(env)
    with serve(env) as server:
        db = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{db}, 1 server process, {args.concurrency} clients, {args.requests} requests")
        for name, (user, query) in SCREENS.items():
            if args.only and args.only not in name:
                continue
            print(name)
            headers = server.headers(user)
            asyncio.run(_drive(server.url, headers, query, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
