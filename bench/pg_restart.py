"""PostgreSQL restarted under load: what the clients see, and how the server comes back.

    .venv/bin/python bench/pg_restart.py [--clients 16] [--seconds 30] [--restart-at 8]
        [--workers 2] [--cluster "15 main"] [--simulate SECONDS]

NOT part of CI: it takes about a minute and restarts the machine's PostgreSQL cluster
(`pg_ctlcluster --skip-systemctl-redirect 15 main restart`, run as root or postgres), which
cuts every other user of that cluster for a few seconds. `--simulate SECONDS` rehearses
without the restart: it cuts only this script's database (its sessions terminated, new ones
refused for SECONDS; what clients see of a restart), disturbing nobody else.

It creates (dropping it first) its own database `pg_restart_bench` on the cluster of
`--admin-url` (default postgres://postgres@127.0.0.1:5432/postgres), loads the demo county,
starts `enterprise-desk serve --workers 2` on it with the push dispatcher on (the logging
gateway) and drives a mixed load from `--clients` concurrent clients: an enterprise contact
submits a demand, the dispatcher dispatches it (the handler is told: inbox, outbox, a NOTIFY),
the handler reads the list of demands and the unread count. At `--restart-at` seconds the
database goes away. Printed at the end:

- requests, and the failed ones by what the client got (HTTP status and error code, or the
  transport error), with one message of each kind;
- how long the outage command took, how long the database refused new sessions (a probe
  connecting every 50 ms), how long clients saw failures, and the seconds from the database
  being back until the server answered again by itself (no restart of the server);
- whether the live inbox came back: a subscription opened after the restart must hear a
  dispatch made through the other worker (LISTEN/NOTIFY, the periodic re-check set to 60 s);
- whether the push outbox drained (the dispatcher's rounds survived the outage);
- submissions the clients saw succeed against the demands in the database: a client whose
  answer was lost retries the same submission (same clientMutationId) until answered, so the
  two are equal when nothing was lost and nothing applied twice;
- `enterprise-desk check` on the database afterwards."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _server import BIN, bench_env, load_demo, serve  # noqa: E402

from schema.relay import to_global_id  # noqa: E402

DATABASE = "pg_restart_bench"
RETRY_GRACE_SECONDS = 30.0  # a lost submission is retried this long after the load ends
SUBMIT = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id } errors { code } } }"""
DISPATCH = """mutation($input: DispatchDemandInput!) { dispatchDemand(input: $input) {
  demand { state } errors { code } } }"""
LIST = """{ demands(first: 20) { totalCount edges { node { id title state } } } }"""
UNREAD = "{ unreadNotificationCount }"
QUIET_OFF = """mutation { setNotificationPreferences(input: {quietStart: "00:00",
  quietEnd: "00:00", quietOnHolidays: false}) { errors { code } } }"""
REGISTER = """mutation { registerDevice(input: {provider: "log", platform: "ANDROID",
  token: "pg-restart-bench-handler-phone-0123456789"}) { errors { code } } }"""
ENTERPRISES = """{ enterprises(first: 1) { edges { node { id } } }
  demandCategories { id } }"""


@dataclass
class Sample:
    at: float  # seconds since the load began, when the answer (or the failure) came
    kind: str  # "ok", or what failed: "HTTP 503 DATABASE_UNAVAILABLE", "ReadError", …
    message: str = ""


@dataclass
class Load:
    url: str
    headers: dict[str, dict[str, str]]
    enterprise_id: str
    category_id: str
    department_id: str
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)  # demand ids the clients saw made
    retried: int = 0  # submissions whose answer was lost, sent again with the same id
    retries_answered: int = 0  # … answered this time (the same demand if it had committed)

    def now(self) -> float:
        return time.monotonic() - self.started


def _what_failed(resp: httpx.Response, name: str) -> tuple[str, str] | None:
    """None when the operation succeeded; else a short kind and the message the client got."""
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code} (not JSON)", resp.text[:120]
    errors = body.get("errors") or []
    if resp.status_code != 200 or errors:
        first = errors[0] if errors else {}
        code = (first.get("extensions") or {}).get("code", "")
        return f"HTTP {resp.status_code} {code}".strip(), str(first.get("message", ""))[:120]
    payload = (body.get("data") or {}).get(name)
    if isinstance(payload, dict) and payload.get("errors"):
        return f"HTTP 200 {payload['errors'][0]['code']}", ""
    return None


async def _call(
    load: Load, http: httpx.AsyncClient, who: str, query: str, name: str, variables: Any = None
) -> dict[str, Any] | None:
    try:
        resp = await http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=load.headers[who],
        )
    except httpx.TransportError as exc:
        load.samples.append(Sample(load.now(), type(exc).__name__, str(exc)[:120]))
        return None
    failed = _what_failed(resp, name)
    if failed is not None:
        load.samples.append(Sample(load.now(), *failed))
        return None
    load.samples.append(Sample(load.now(), "ok"))
    data = resp.json()["data"][name]
    return data if isinstance(data, dict) else {name: data}


async def _client(load: Load, until: float, n: int) -> None:
    async with httpx.AsyncClient(base_url=load.url, timeout=30) as http:
        i = 0
        while load.now() < until:
            i += 1
            given = {
                "enterpriseId": load.enterprise_id,
                "categoryId": load.category_id,
                "title": f"用地审批进度咨询 {n}-{i}",
                "description": "扩建项目用地审批已提交两个月，请告知进度。",
                "clientMutationId": str(uuid.uuid4()),
            }
            made = await _call(load, http, "enterprise", SUBMIT, "submitDemand", {"input": given})
            if made is None:
                # The answer was lost: the same submission again until it is answered, as the
                # app's offline outbox does; the same clientMutationId makes it apply once.
                load.retried += 1
                while made is None and load.now() < until + RETRY_GRACE_SECONDS:
                    await asyncio.sleep(0.5)
                    made = await _call(
                        load, http, "enterprise", SUBMIT, "submitDemand", {"input": given}
                    )
                load.retries_answered += made is not None
            if made is not None and made.get("demand"):
                demand_id = made["demand"]["id"]
                load.submitted.append(demand_id)
                await _call(
                    load,
                    http,
                    "dispatcher",
                    DISPATCH,
                    "dispatchDemand",
                    {
                        "input": {
                            "demandId": demand_id,
                            "departmentId": load.department_id,
                            "limitDays": 5,
                            "clientMutationId": str(uuid.uuid4()),
                        }
                    },
                )
            await _call(load, http, "handler", LIST, "demands")
            await _call(load, http, "handler", UNREAD, "unreadNotificationCount")


async def _take_away_database(args: argparse.Namespace, admin_dsn: str) -> tuple[float, float]:
    """Restart the cluster (or, simulating, cut this database only); returns how long the
    database was away as (start, end) on the monotonic clock."""
    started = time.monotonic()
    if args.simulate is None:
        version, name = args.cluster.split()
        done = await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"pg_ctlcluster failed: {done.stdout}{done.stderr}")
        return started, time.monotonic()
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", DATABASE
        )
        await asyncio.sleep(args.simulate)
        await admin.execute(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
    return started, time.monotonic()


async def _probe(dsn: str, load: Load, seen: dict[str, float]) -> None:
    """From the outage's start, a new session and `SELECT 1` every 50 ms: when the database
    first refused (`refused`) and when it first answered again after that (`back`)."""
    deadline = load.now() + 120
    while load.now() < deadline:
        try:
            conn = await asyncio.wait_for(asyncpg.connect(dsn), 2)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
            if "refused" in seen:
                seen["back"] = load.now()
                return
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            seen.setdefault("refused", load.now())
        await asyncio.sleep(0.05)


async def _live_inbox_hears(load: Load, ws_url: str) -> float | None:
    """A subscription opened now hears a dispatch made through the same server (its two
    workers share nothing but PostgreSQL); seconds it took, None if not within 15 s."""
    token = load.headers["handler"]["Authorization"].split()[1]
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { notificationAdded { kind } }"},
                }
            )
        )
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=load.url, timeout=30) as http:
            started = time.monotonic()
            for _ in range(3):  # the three requests may land on either worker
                given = {
                    "enterpriseId": load.enterprise_id,
                    "categoryId": load.category_id,
                    "title": "重启后订阅检查",
                    "description": "检查实时通知。",
                }
                made = await _call(
                    load, http, "enterprise", SUBMIT, "submitDemand", {"input": given}
                )
                assert made is not None, "the server does not answer"
                dispatch = {
                    "demandId": made["demand"]["id"],
                    "departmentId": load.department_id,
                    "limitDays": 5,
                }
                await _call(
                    load, http, "dispatcher", DISPATCH, "dispatchDemand", {"input": dispatch}
                )
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if message.get("type") == "next":
                    return time.monotonic() - started
        except TimeoutError:
            return None


def _database_url(admin_url: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{DATABASE}"))


async def _fresh_database(admin_dsn: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()


async def _department(database_url: str) -> int:
    """The demo handler's department: the demands are dispatched there, so the handler's
    phone is told of each."""
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return int(
            await conn.fetchval(
                "SELECT g.department_id FROM role_grant g JOIN app_user u ON u.id = g.user_id "
                "WHERE u.username = 'handler' AND g.role = 'HANDLER' LIMIT 1"
            )
        )
    finally:
        await conn.close()


async def _pending_pushes(database_url: str) -> int:
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM push_message WHERE status = 'PENDING' AND due_at <= now()"
            )
        )
    finally:
        await conn.close()


async def _count_demands(database_url: str) -> int:
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM demand WHERE title LIKE '用地审批进度咨询 %'")
        )
    finally:
        await conn.close()


def _report(load: Load, away: tuple[float, float], seen: dict[str, float]) -> dict[str, Any]:
    command_from, command_to = (t - load.started for t in away)
    down_from = seen.get("refused", command_from)
    down_to = seen.get("back", command_to)
    failed = [s for s in load.samples if s.kind != "ok"]
    out: dict[str, Any] = {
        "requests": len(load.samples),
        "failed": len(failed),
        "outage_command_seconds": round(command_to - command_from, 2),
        "database_refused_sessions_seconds": round(down_to - down_from, 2),
    }
    kinds = Counter(s.kind for s in failed)
    out["failed_by_kind"] = dict(kinds.most_common())
    out["messages"] = {k: next(s.message for s in failed if s.kind == k) for k in kinds}
    if failed:
        first, last = failed[0].at, failed[-1].at
        out["clients_saw_failures_seconds"] = round(last - first, 2)
        out["first_failure_after_outage_began_seconds"] = round(first - command_from, 2)
        after = [s for s in load.samples if s.kind == "ok" and s.at > last]
        out["answered_again_seconds_after_database_back"] = (
            round(max(0.0, after[0].at - down_to), 2) if after else None
        )
        out["failed_outside_the_outage"] = sum(
            1 for s in failed if not (command_from - 1 <= s.at <= max(down_to, command_to) + 30)
        )
    else:
        out["answered_again_seconds_after_database_back"] = 0.0
    return out


async def main(args: argparse.Namespace) -> int:
    admin_url = args.admin_url
    admin_dsn = admin_url.replace("postgres://", "postgresql://", 1)
    database_url = _database_url(admin_url)
    work = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    print(f"database {DATABASE} (fresh), work folder {work}", flush=True)
    await _fresh_database(admin_dsn)
    env = bench_env(work, database_url)
    env["LIVE_RECHECK_SECONDS"] = "60"  # only LISTEN/NOTIFY can wake a subscription in time
    env["PUSH_PROVIDER"] = "log"
    print("loading the demo county …", flush=True)
    await asyncio.to_thread(load_demo, env)
    department = await _department(database_url)
    with serve(env, args=["--workers", str(args.workers)]) as server:
        headers = {who: server.headers(who) for who in ("enterprise", "dispatcher", "handler")}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            for who, query in (("handler", QUIET_OFF), ("handler", REGISTER)):
                await http.post("/graphql", json={"query": query}, headers=headers[who])
            found = await http.post(
                "/graphql", json={"query": ENTERPRISES}, headers=headers["enterprise"]
            )
            data = found.json()["data"]
            enterprise_id = data["enterprises"]["edges"][0]["node"]["id"]
            category_id = data["demandCategories"][0]["id"]
        load = Load(
            server.url,
            headers,
            enterprise_id,
            category_id,
            to_global_id("Department", department),
        )
        print(
            f"load: {args.clients} clients for {args.seconds} s; the database goes away at "
            f"{args.restart_at} s ({'simulated' if args.simulate is not None else 'restart'})",
            flush=True,
        )
        clients = [_client(load, args.seconds, n) for n in range(args.clients)]

        seen: dict[str, float] = {}
        probe_dsn = database_url.replace("postgres://", "postgresql://", 1)

        async def outage() -> tuple[float, float]:
            await asyncio.sleep(args.restart_at)
            probe = asyncio.create_task(_probe(probe_dsn, load, seen))
            away = await _take_away_database(args, admin_dsn)
            await probe
            return away

        away, *_ = await asyncio.gather(outage(), *clients)
        report = _report(load, away, seen)
        report["server_process_exited"] = server.process.poll() is not None
        async with httpx.AsyncClient(timeout=10) as http:
            report["readyz_after"] = (await http.get(f"{server.url}/readyz")).status_code
        ws_url = server.url.replace("http://", "ws://") + "/graphql"
        heard = await _live_inbox_hears(load, ws_url)
        report["live_inbox_heard_after_seconds"] = None if heard is None else round(heard, 2)
        drained_by = time.monotonic() + 40
        pending = await _pending_pushes(database_url)
        while pending and time.monotonic() < drained_by:
            await asyncio.sleep(1)
            pending = await _pending_pushes(database_url)
        report["push_outbox_due_after"] = pending
        report["submissions_seen"] = len(load.submitted)
        report["submissions_retried_after_a_lost_answer"] = load.retried
        report["retries_answered"] = load.retries_answered
        report["load_demands_in_database"] = await _count_demands(database_url)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    check_env = {**os.environ, "DATABASE_URL": database_url}
    checked = await asyncio.to_thread(
        subprocess.run,
        [str(BIN), "check"],
        env=check_env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"enterprise-desk check (exit {checked.returncode}):\n{checked.stdout.strip()}")
    print(f"server log: {work / 'server.log'}")
    return 0 if checked.returncode == 0 else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--restart-at", type=float, default=8.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cluster", default="15 main", help="version and name for pg_ctlcluster")
    p.add_argument(
        "--simulate",
        type=float,
        metavar="SECONDS",
        help="cut only this database for SECONDS instead of restarting the cluster",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
