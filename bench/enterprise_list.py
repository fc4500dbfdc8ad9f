"""Baseline for the enterprise, demand, visit, agency and service-point list screens: a real `enterprise-desk serve` on a fresh demo
county, driven by concurrent signed-in clients over HTTP.

    .venv/bin/python bench/enterprise_list.py [--requests 2000] [--concurrency 16]
        [--database-url postgres://postgres@127.0.0.1:5432/bench] [--only agent]

Prints requests/s and latency percentiles per screen. Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "enterprise-desk"

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


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _login(http: httpx.AsyncClient, username: str) -> str:
    q = 'mutation($u: String!) { login(input: {username: $u, password: "demo12345"}) { accessToken } }'
    resp = await http.post("/graphql", json={"query": q, "variables": {"u": username}})
    return str(resp.json()["data"]["login"]["accessToken"])


async def _drive(url: str, username: str, query: str, total: int, conc: int) -> None:
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        token = await _login(http, username)
        headers = {"Authorization": f"Bearer {token}"}
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
    work = Path(tempfile.mkdtemp(prefix="ed-bench-"))
    env = {**os.environ, "DATA_DIR": str(work), "LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    subprocess.run([str(BIN), "demo"], env=env, cwd=work, check=True, capture_output=True)
    port = _port()
    server = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        db = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{db}, 1 server process, {args.concurrency} clients, {args.requests} requests")
        for name, (user, query) in SCREENS.items():
            if args.only and args.only not in name:
                continue
            print(name)
            asyncio.run(_drive(url, user, query, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
