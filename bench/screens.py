"""Bench: the mobile screens under load (issue 8), against PostgreSQL.

    .venv/bin/python bench/screens.py [--database-url postgres://…/bench_screens] [--profile S2]

1. Loads 100,000 enterprises, 1,000,000 demands with their timelines and 20,000 users
   (`enterprise-desk demo --enterprises --demands --users`) into the database unless they are
   there already (a first load takes several minutes; the database is created when missing).
2. Signs in `--per-role` (64) real users of each role the screens need, and measures the SQL
   statements per request of each screen on a one-worker server (`db_statements_total` of
   GET /metrics, over `--sql-requests` sequential requests).
3. Starts `enterprise-desk serve --workers 2 --no-jobs --no-access-log` (the periodic jobs belong to `worker`
   processes in a deployment like this; a round over a million demands would otherwise take
   seconds of each worker's CPU in the middle of the first screen) and drives each screen with wrk at 64
   connections (bench/screens.lua: every request from another user), after checking that every
   user's first response has data and no errors; a warm-up, then `--seconds` measured.
4. Serves S2 and S3 from bench/yardstick.py (hand-written SQL, 2 uvicorn workers) after
   checking it answers the same JSON as the product, drives it the same way, and prints the
   ratio product/yardstick.
5. Prints one table: requests/s, p50, p99, non-2xx, GraphQL errors, SQL per request, and the
   peak resident memory (VmHWM) of every server process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _screens import LOGIN, REFRESH, SCREENS, People, Screen, pick_people, requests_of
from _server import BIN, bench_env, free_port, load_demo, serve
from _wrk import (
    WRK_MISSING,
    Load,
    describe,
    have_wrk,
    peak_rss_mb,
    process_tree,
    profile,
    run_wrk,
)

from models.db.config import libpq_dsn
from models.demo.county import DEMO_PASSWORD

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_screens"
PRODUCT = ("models", "schema", "server", "notifications")
TOKEN_REFRESH_AFTER = 600  # access tokens last 15 minutes: renew those older than 10


def dsn_of(url: str) -> str:
    """The URL for the bench's own asyncpg connections: without the pool's parameters
    (`?maxsize=…`), which only the server's pool takes."""
    return libpq_dsn(url)


# --------------------------------------------------------------------------- the data set


async def _ensure_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1].split("?")[0]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('public.demand')") is None:
            return {}
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM demand) AS demands, "
            "(SELECT count(*) FROM demand_event) AS events, "
            "(SELECT count(*) FROM enterprise) AS enterprises, "
            "(SELECT count(*) FROM app_user) AS users, "
            "(SELECT count(*) FROM app_user WHERE username ~ '^handler[0-9]{5}$') AS staff, "
            "(SELECT count(*) FROM visit) AS visits, "
            "(SELECT count(*) FROM notification) AS inbox"
        )
        return dict(row)
    finally:
        await conn.close()


def ensure_data(args: argparse.Namespace, env: dict[str, str]) -> tuple[dict[str, int], str]:
    """The data set's counts, loading it first when missing; and how long that took."""
    dsn = dsn_of(args.database_url)
    asyncio.run(_ensure_database(dsn))
    counts = asyncio.run(_counts(dsn))
    if counts.get("demands", 0) >= args.demands and counts.get("staff", 0) > 0:
        return counts, "already loaded"
    if counts.get("demands", 0) > 0 or counts.get("staff", 0) > 0:
        sys.exit(
            f"{args.database_url} holds another data set ({counts.get('demands')} demands, "
            f"{counts.get('staff')} synthetic handlers): drop it and create it empty, or pass "
            "another --database-url"
        )
    print(
        f"loading {args.enterprises:,} enterprises, {args.demands:,} demands and "
        f"{args.users:,} users (several minutes) ...",
        flush=True,
    )
    started = time.monotonic()
    load_demo(env, enterprises=args.enterprises, demands=args.demands, users=args.users)
    took = time.monotonic() - started
    return asyncio.run(_counts(dsn)), f"loaded in {took / 60:.1f} min"


# --------------------------------------------------------------------------- signing in


@dataclass
class Tokens:
    access: dict[str, str] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    issued: float = 0.0

    def sign_in(self, url: str, users: list[str]) -> None:
        def one(username: str) -> tuple[str, dict[str, Any]]:
            resp = httpx.post(
                f"{url}/graphql",
                json={"query": LOGIN, "variables": {"u": username, "p": DEMO_PASSWORD}},
                timeout=60,
            )
            return username, resp.json()["data"]["login"]

        self._take(url, one, users)

    def renew(self, url: str) -> None:
        """New tokens for all when the access tokens are getting old."""
        if time.monotonic() - self.issued < TOKEN_REFRESH_AFTER:
            return

        def one(username: str) -> tuple[str, dict[str, Any]]:
            resp = httpx.post(
                f"{url}/graphql",
                json={"query": REFRESH, "variables": {"t": self.refresh[username]}},
                timeout=60,
            )
            return username, resp.json()["data"]["refreshToken"]

        self._take(url, one, list(self.access))

    def _take(self, url: str, one: Any, users: list[str]) -> None:
        self.issued = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            for username, payload in pool.map(one, users):
                if payload["errors"] or not payload["accessToken"]:
                    raise RuntimeError(f"{username} cannot sign in: {payload['errors']}")
                self.access[username] = payload["accessToken"]
                self.refresh[username] = payload["refreshToken"]


# --------------------------------------------------------------------------- one screen


# One client for the bench's own requests: httpx.post makes a client (and an SSL context, some
# 25 ms) per call, which the one-request `alone` times measured instead of the server.
_CLIENT = httpx.Client()


def _post(url: str, token: str, body: str) -> httpx.Response:
    return _CLIENT.post(
        url,
        content=body.replace("__CMID__", str(uuid.uuid4())).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=60,
    )


@dataclass
class Check:
    users: int = 0
    with_data: int = 0
    error: str | None = None


def check(screen: Screen, url: str, reqs: list[tuple[str, str]], tokens: Tokens) -> Check:
    """Every user's first request: 200, no `errors`, and the screen's data present."""
    first: dict[str, str] = {}
    for username, b in reqs:
        first.setdefault(username, b)
    result = Check(users=len(first))

    def one(item: tuple[str, str]) -> tuple[bool, str | None]:
        resp = _post(f"{url}/graphql", tokens.access[item[0]], item[1])
        doc = resp.json()
        if resp.status_code != 200 or doc.get("errors") or doc.get("data") is None:
            return False, f"{item[0]}: HTTP {resp.status_code} {json.dumps(doc)[:400]}"
        return screen.has_data(doc["data"]), None

    with ThreadPoolExecutor(8) as pool:
        for ok, error in pool.map(one, first.items()):
            result.with_data += ok
            result.error = result.error or error
    return result


def write_requests(path: Path, reqs: list[tuple[str, str]], tokens: Tokens) -> Path:
    path.write_text("".join(f"{tokens.access[u]}\t{b}\n" for u, b in reqs), encoding="utf-8")
    return path


def _scrape(url: str) -> tuple[int, int]:
    found = {"query": 0, "control": 0}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("db_statements_total{"):
            labels, _, value = line.partition("} ")
            found[labels.split('"')[1]] = int(value)
    return found["query"], found["control"]


def _settle(url: str, within: float = 120) -> None:
    """Waits until the server sends nothing but the scrapes' own statements (the start-up
    jobs are done)."""
    deadline = time.monotonic() + within
    a = _scrape(url)
    time.sleep(1)
    b = _scrape(url)
    while time.monotonic() < deadline:
        time.sleep(1)
        c = _scrape(url)
        if c[0] - b[0] == b[0] - a[0] and c[1] - b[1] == b[1] - a[1]:
            return
        a, b = b, c


def statements_per_request(
    url: str, reqs: list[tuple[str, str]], tokens: Tokens, n: int
) -> tuple[float, float, float]:
    """(queries, control statements) per request, from /metrics around n sequential requests
    (the scrape's own statements, measured by two scrapes in a row, taken off), and the
    median time of one request alone. The same n requests are sent once before, uncounted: under
    load every user asks again and again, so the server knows their session (on PostgreSQL it
    keeps signed-in actors, models.session_cache) and the per-process caches are warm."""
    for i in range(n):
        username, b = reqs[i % len(reqs)]
        _post(f"{url}/graphql", tokens.access[username], b).raise_for_status()
    _settle(url)
    q0, c0 = _scrape(url)
    q1, c1 = _scrape(url)
    took = []
    for i in range(n):
        username, b = reqs[i % len(reqs)]
        started = time.perf_counter()
        _post(f"{url}/graphql", tokens.access[username], b).raise_for_status()
        took.append(time.perf_counter() - started)
    q2, c2 = _scrape(url)
    return (q2 - q1 - (q1 - q0)) / n, (c2 - c1 - (c1 - c0)) / n, statistics.median(took) * 1000


def quiet(url: str, within: float = 180) -> None:
    """Waits until the server answers /readyz (one pooled SELECT 1) quickly again: requests a
    finished wrk run left queued must not weigh on the next screen."""
    deadline = time.monotonic() + within
    fast = 0
    while fast < 3 and time.monotonic() < deadline:
        started = time.perf_counter()
        with suppress(httpx.HTTPError):
            httpx.get(f"{url}/readyz", timeout=60)
        fast = fast + 1 if time.perf_counter() - started < 0.05 else 0
        time.sleep(0.5)


# --------------------------------------------------------------------------- the yardstick


@contextmanager
def yardstick(env: dict[str, str], dsn: str, work: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (work / "yardstick.log").open("ab")
    process = subprocess.Popen(
        [str(BIN.parent / "uvicorn"), "yardstick:create_app", "--factory",
         "--app-dir", str(Path(__file__).parent), "--workers", "2", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env={**env, "YARDSTICK_DSN": dsn},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the yardstick exited; see {work / 'yardstick.log'}")
            try:
                if httpx.post(f"{url}/s2", content=b"{}", timeout=5).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        time.sleep(1)  # the second worker
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def same_json(
    product: str, yard: str, path: str, reqs: list[tuple[str, str]], tokens: Tokens, n: int = 12
) -> str | None:
    """None when the yardstick answers the first n requests as the product does, else why not."""
    for username, b in reqs[:n]:
        a = _post(f"{product}/graphql", tokens.access[username], b).json()
        y = _post(f"{yard}{path}", tokens.access[username], b).json()
        if a != y:
            return f"{username}: product {json.dumps(a)[:300]} … yardstick {json.dumps(y)[:300]}"
    return None


# --------------------------------------------------------------------------- the run


@dataclass
class Row:
    label: str
    load: Load | None = None
    sql: tuple[float, float] | None = None  # queries, control statements per request
    alone_ms: float | None = None  # one request with the server otherwise idle
    users: str = ""
    note: str = ""


def _ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def print_table(rows: list[Row], connections: int) -> None:
    """Latencies are left out when fewer requests completed than twice the connections: they
    would be those of the few that did."""
    head = (
        f"{'screen':<44}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}"
        f"{'SQL/req':>15}{'alone ms':>10}{'users':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        sql = f"{r.sql[0]:.1f} (+{r.sql[1]:.1f})" if r.sql else "-"
        alone = _ms(r.alone_ms) if r.alone_ms is not None else "-"
        if r.load is None or r.load.requests < 2 * connections:
            rate = f"{r.load.rate:.1f}" if r.load else "-"
            bad = str(r.load.non_2xx + r.load.socket_errors) if r.load else "-"
            errors = str(r.load.body_errors) if r.load else "-"
            print(
                f"{r.label:<44}{rate:>8}{'-':>9}{'-':>9}{bad:>9}{errors:>8}{sql:>15}{alone:>10}"
                f"{r.users:>9}"
            )
        else:
            x = r.load
            print(
                f"{r.label:<44}{x.rate:>8.1f}{_ms(x.p50_ms):>9}{_ms(x.p99_ms):>9}"
                f"{x.non_2xx + x.socket_errors:>9}{x.body_errors:>8}{sql:>15}{alone:>10}"
                f"{r.users:>9}"
            )
        if r.note:
            print(f"    {r.note}")


def _trouble(load: Load, seconds: int, connections: int) -> str:
    notes = []
    if load.requests < 2 * connections:
        notes.append(f"{load.requests} requests completed in {seconds} s: latencies left out")
    if load.socket_errors:
        notes.append(f"{load.socket_errors} timeouts (10 s) or socket errors")
    if load.non_2xx:
        notes.append(f"{load.non_2xx} non-2xx responses")
    return "; ".join(notes)


def _package(frame: str) -> str:
    """`name (package/module.py:12)` (py-spy names files from their package) → the package."""
    path = frame.rpartition("(")[2].split(":")[0]
    return path.split("/")[0].removesuffix(".py")


def print_profile(screen: str, own: Counter[str], anywhere: Counter[str], total: int) -> None:
    """Samples of one worker holding the GIL: own time by package and frame, and the product's
    frames with what runs below them."""
    if not total:
        print("py-spy took no samples")
        return
    print(f"\npy-spy --gil, one worker during {screen}: {total} samples holding the GIL")
    packages: Counter[str] = Counter()
    for frame, n in own.items():
        packages[_package(frame)] += n
    print("own time by package: " + ", ".join(
        f"{name} {100 * n / total:.0f}%" for name, n in packages.most_common(12)
    ))  # fmt: skip
    print("own time, top frames:")
    for frame, n in own.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("product frames, with everything they call:")
    ours = [(f, n) for f, n in anywhere.items() if _package(f) in PRODUCT]
    for frame, n in sorted(ours, key=lambda x: -x[1])[:15]:
        print(f"  {100 * n / total:5.1f}%  {frame}")


def _rss(pid: int) -> list[str]:
    return [
        f"{describe(p)} {p}: {mb:.0f} MB"
        for p in process_tree(pid)
        if (mb := peak_rss_mb(p)) is not None and mb > 1
    ]


def people_of(database_url: str, per_role: int) -> People:
    """The signed-in users of the screens, picked from the data set (_screens.pick_people)."""

    async def pick() -> People:
        conn = await asyncpg.connect(dsn_of(database_url))
        try:
            return await pick_people(conn, per_role)
        finally:
            await conn.close()

    return asyncio.run(pick())


def data_set_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every screens bench takes: where the data set is, how big, how many
    signed-in users per role."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--demands", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--per-role", type=int, default=64, help="signed-in users per role")
    return parser


def main() -> int:
    parser = data_set_parser(__doc__)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seconds", type=int, default=18, help="measured seconds per screen")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per screen")
    parser.add_argument("--sql-requests", type=int, default=30)
    parser.add_argument("--screens", default="S1,S2,S3,S4,S5,S6")
    parser.add_argument("--profile", choices=[s.key for s in SCREENS], help="py-spy a worker")
    args = parser.parse_args()
    if not have_wrk():
        print(WRK_MISSING, file=sys.stderr)
        return 2
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        print("the bench runs on PostgreSQL: --database-url postgres://…", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-screens-"))
    env = bench_env(work, args.database_url)
    env["SECRET_KEY"] = secrets.token_urlsafe(48)  # the yardstick reads the same tokens
    counts, loaded = ensure_data(args, env)
    wanted = [s for s in SCREENS if s.key in args.screens.split(",")]
    # Writes last, so the read screens see the data set as loaded.
    order = sorted(wanted, key=lambda s: s.writes)

    people = people_of(args.database_url, args.per_role)
    everyone = sorted({*people.cadres, *people.handlers, *people.contacts, *people.submitters})
    reqs = {s.key: requests_of(s.key, people) for s in wanted}
    tokens = Tokens()
    rows = {s.key: Row(f"{s.key} {s.title}") for s in wanted}
    yard_rows: dict[str, Row] = {}

    # SQL per request, on one worker without the push dispatcher (its polling would count).
    with serve(
        {**env, "PUSH_DISPATCHER": "off"}, args=["--workers", "1", "--no-jobs", "--no-access-log"]
    ) as one:
        tokens.sign_in(one.url, everyone)
        for s in order:
            queries, control, alone = statements_per_request(
                one.url, reqs[s.key], tokens, args.sql_requests
            )
            rows[s.key].sql, rows[s.key].alone_ms = (queries, control), alone

    with serve(env, args=["--workers", "2", "--no-migrate", "--no-jobs", "--no-access-log"]) as srv:
        for s in order:
            tokens.renew(srv.url)
            row = rows[s.key]
            c = check(s, srv.url, reqs[s.key], tokens)
            row.users = f"{c.with_data}/{c.users}"
            if c.error:
                row.note = f"not timed: {c.error}"
                continue
            if c.with_data < c.users:
                row.note = f"{c.users - c.with_data} users' first response had no data"
            file = write_requests(work / f"{s.key}.tsv", reqs[s.key], tokens)
            url = f"{srv.url}/graphql"
            run_wrk(
                url, file, seconds=args.warmup, connections=args.connections, threads=args.threads
            )
            row.load = run_wrk(
                url, file, seconds=args.seconds, connections=args.connections, threads=args.threads
            )
            row.note = "; ".join(
                filter(None, [row.note, _trouble(row.load, args.seconds, args.connections)])
            )
            print(f"{s.key}: {row.load.rate:.1f} req/s", flush=True)
            quiet(srv.url)
        rss = _rss(srv.process.pid)
        spy = None
        if args.profile:
            s = next(x for x in SCREENS if x.key == args.profile)
            tokens.renew(srv.url)
            file = write_requests(work / f"{s.key}.tsv", reqs[s.key], tokens)
            worker = next(p for p in process_tree(srv.process.pid) if describe(p) == "worker")
            with ThreadPoolExecutor(1) as pool:
                job = pool.submit(profile, worker, args.seconds, work / "profile.txt")
                run_wrk(
                    f"{srv.url}/graphql",
                    file,
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=args.threads,
                )
                spy = job.result()

        yard_rss: list[str] = []
        targets = [s for s in wanted if s.yardstick_path and rows[s.key].load]
        if targets:
            with yardstick(env, dsn_of(args.database_url), work) as (yurl, ypid):
                for s in targets:
                    assert s.yardstick_path is not None
                    tokens.renew(srv.url)
                    yrow = yard_rows[s.key] = Row(f"{s.key} yardstick (asyncpg + orjson)")
                    differs = same_json(srv.url, yurl, s.yardstick_path, reqs[s.key], tokens)
                    if differs:
                        yrow.note = f"not timed, answers differ: {differs}"
                        continue
                    file = write_requests(work / f"{s.key}.tsv", reqs[s.key], tokens)
                    url = f"{yurl}{s.yardstick_path}"
                    kw = {"seconds": args.warmup, "connections": args.connections}
                    run_wrk(url, file, threads=args.threads, **kw)
                    kw["seconds"] = args.seconds
                    yrow.load = run_wrk(url, file, threads=args.threads, **kw)
                    yrow.sql = (1.0, 0.0) if s.key == "S2" else (2.0, 0.0)
                    yrow.users = rows[s.key].users
                    print(f"{s.key} yardstick: {yrow.load.rate:.0f} req/s", flush=True)
                yard_rss = _rss(ypid)

    print()
    print(
        f"Bench: the mobile screens. {counts.get('demands', 0):,} demands "
        f"({counts.get('events', 0):,} timeline events), {counts.get('enterprises', 0):,} "
        f"enterprises, {counts.get('users', 0):,} users, {counts.get('visits', 0):,} visits, "
        f"{counts.get('inbox', 0):,} inbox rows on {args.database_url.rsplit('@', 1)[-1]} "
        f"(data set {loaded})."
    )
    print(
        f"wrk -t{args.threads} -c{args.connections}: {args.warmup} s warm-up, {args.seconds} s "
        f"measured per screen; serve --workers 2; SQL/req: queries (+ BEGIN/COMMIT/"
        f"savepoints) and `alone`, the median time of one request, over {args.sql_requests} "
        "sequential requests on one worker, each sent once before; users: with data / checked."
    )
    print()
    table = [rows[s.key] for s in wanted]
    for key, yrow in yard_rows.items():
        table.insert(table.index(rows[key]) + 1, yrow)
    print_table(table, args.connections)
    for key, yrow in yard_rows.items():
        product, yard = rows[key].load, yrow.load
        if product and yard:
            print(f"ratio product/yardstick {key}: {product.rate / yard.rate:.2f}")
    print("peak RSS (VmHWM), serve --workers 2: " + ", ".join(rss))
    if yard_rss:
        print("peak RSS (VmHWM), yardstick: " + ", ".join(yard_rss))
    if spy is not None:
        print_profile(args.profile, *spy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
