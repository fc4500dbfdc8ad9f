"""Memory and time of a large XLSX export: a real `enterprise-desk serve` on the demo county
plus ~100,000 demands, one download of /exports/<list>.xlsx by the county supervisor while the
server's resident memory (VmRSS of its process) is sampled every 20 ms.

    .venv/bin/python bench/export_memory.py [--demands 100000] [--list demands]
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

The demands come from `enterprise-desk demo --enterprises N --demands M` when the command has
those flags; otherwise the bench inserts minimal rows itself (bulk_create in chunks: every
state, dispatched ones with deadlines, replies, ratings, some overdue). Checks that the file
opens in openpyxl with the list's Chinese headers and one row per demand, then prints rows,
seconds, file size and peak RSS (target: under 300 MB). Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent / "enterprise-desk"
PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _has_scale_flags(env: dict[str, str]) -> bool:
    out = subprocess.run([str(BIN), "demo", "--help"], env=env, capture_output=True, text=True)
    return "--demands" in out.stdout


async def _insert_demands(database_url: str, total: int) -> None:
    """Minimal demand rows on the demo county's enterprises, departments and categories."""
    from tortoise import Tortoise

    from models.db import tortoise_config
    from models.demands import Demand
    from models.enterprises import Enterprise
    from models.org import Department, User
    from models.policy import DemandCategory
    from models.rules.clock import shanghai
    from models.rules.demand_states import DemandState as S
    from models.rules.workdays import national_calendar

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        rnd = random.Random(7)
        cal = national_calendar()
        ents = await Enterprise.all().values("id", "region_id")
        depts = await Department.all().values_list("id", flat=True)
        cats = await DemandCategory.all().values_list("id", flat=True)
        user = await User.get(username="enterprise")
        handler = await User.get(username="handler")
        states = [S.CLOSED] * 6 + [S.IN_PROGRESS, S.PENDING_VISIT, S.SUBMITTED, S.REJECTED]
        chunk: list[Demand] = []
        for i in range(total):
            ent = rnd.choice(ents)
            day = date(2026, 1, 1) + timedelta(days=rnd.randrange(300))
            submitted = shanghai(day.year, day.month, day.day, 9 + rnd.randrange(8))
            state = rnd.choice(states)
            d = Demand(
                source=rnd.choice(["APP", "VISIT", "HOTLINE_12345"]),
                enterprise_id=ent["id"],
                region_id=ent["region_id"],
                category_id=rnd.choice(cats),
                title=f"第{i + 1}号诉求：厂房用地手续办理",
                description="企业反映厂房用地手续办理进度缓慢，请协调相关部门加快办理。" * 2,
                state=state,
                submitted_by_id=user.id,
                submitted_at=submitted,
            )
            if state not in (S.SUBMITTED, S.REJECTED):
                deadline = cal.add_working_days(day, 10).date
                d.department_id = rnd.choice(depts)
                d.handler_id = handler.id
                d.dispatched_at = submitted + timedelta(hours=2)
                d.limit_days = 10
                d.deadline = d.effective_deadline = deadline
                d.warning_date = cal.subtract_working_days(deadline, 1)
                if state is not S.IN_PROGRESS:
                    replied = day + timedelta(days=rnd.randrange(20))
                    d.replied_at = shanghai(replied.year, replied.month, replied.day, 15)
                    d.reply_outcome = "RESOLVED"
                if state is S.CLOSED:
                    d.closed_at = d.replied_at
                    d.rating = rnd.choice(["SATISFIED", "VERY_SATISFIED", "BASIC"])
                    d.rated_at = d.replied_at
            chunk.append(d)
            if len(chunk) == 5000:
                await Demand.bulk_create(chunk)
                chunk = []
        if chunk:
            await Demand.bulk_create(chunk)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demands", type=int, default=100_000)
    ap.add_argument("--list", default="demands", help="demands, problem-list, … (the export)")
    ap.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ed-bench-"))
    env = {**os.environ, "DATA_DIR": str(work), "LOG_LEVEL": "WARNING"}
    database_url = args.database_url or f"sqlite://{work / 'enterprise-desk.sqlite3'}"
    env["DATABASE_URL"] = database_url

    t0 = time.perf_counter()
    if _has_scale_flags(env):
        cmd = [str(BIN), "demo", "--enterprises", "2000", "--demands", str(args.demands)]
        subprocess.run(cmd, env=env, cwd=work, check=True, capture_output=True)
        how = "enterprise-desk demo --demands"
    else:
        subprocess.run([str(BIN), "demo"], env=env, cwd=work, check=True, capture_output=True)
        os.environ.update(DATA_DIR=str(work))
        asyncio.run(_insert_demands(database_url, args.demands))
        how = "demo + bulk_create"
    print(f"loaded {args.demands} demands ({how}) in {time.perf_counter() - t0:.1f} s")

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
        for _ in range(600):
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        q = 'mutation { login(input: {username: "supervisor", password: "demo12345"}) { accessToken } }'
        token = httpx.post(f"{url}/graphql", json={"query": q}).json()["data"]["login"]
        headers = {"Authorization": f"Bearer {token['accessToken']}"}
        baseline = _rss_mb(server.pid)

        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _rss_mb(server.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out = work / "export.xlsx"
        start = time.perf_counter()
        first_byte = None
        with (
            httpx.stream(
                "GET",
                f"{url}/exports/{args.list}.xlsx",
                params=PERIOD,
                headers=headers,
                timeout=3600,
            ) as resp,
            out.open("wb") as f,
        ):
            resp.raise_for_status()
            for chunk in resp.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - start
                f.write(chunk)
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()

        from models.export_columns import DEMANDS, ListSpec
        from models.ops.exports import EXPORTS

        spec: ListSpec = EXPORTS[args.list].spec if args.list in EXPORTS else DEMANDS
        wb = load_workbook(out, read_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        assert list(next(rows)) == spec.headers("zh"), "headers differ"
        count = sum(1 for _ in rows)
        db = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        print(
            f"{db}: /exports/{args.list}.xlsx  rows {count}  {seconds:.1f} s "
            f"(first byte {first_byte or 0:.1f} s)  {out.stat().st_size / 2**20:.1f} MB  "
            f"RSS before {baseline:.0f} MB, peak {peak:.0f} MB"
            f" ({'under' if peak < 300 else 'OVER'} 300 MB)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
