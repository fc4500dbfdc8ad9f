"""DATABASE_READ_URL: a real server whose read connection points at ANOTHER database, a copy of
the primary that then fell behind, answers the supervisor figures, the exports and the lists of
those who only oversee (supervisors, dispatchers) from that copy, while everything else
(signing in, the scope's regions, a handler's or an enterprise's list) comes from the
primary."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import asyncpg
import httpx
import pytest
from tortoise import Tortoise

from models.db.config import libpq_dsn
from models.ops import demands as ops
from models.rules.clock import acting_at, shanghai
from models.tables.demands import Demand
from tests.conftest import DB_URL, IS_POSTGRES
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD
from tests.processes import base_env, fresh_side_database, ready, spawn_server

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="a read replica is a PostgreSQL setup")

STATS = """query($f: StatsFilter!) { demandStats(filter: $f) { submitted openNow } }"""
LISTS = """{ demands(first: 20) { totalCount edges { node { title } } } }"""
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


async def copy_database(target_url: str) -> None:
    """Every table of the primary into the (migrated, emptied) target, as a replica holds it."""
    tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
    src = await asyncpg.connect(libpq_dsn(DB_URL))
    dst = await asyncpg.connect(libpq_dsn(target_url))
    try:
        await dst.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        await dst.execute("SET session_replication_role = replica")  # no FK order to mind
        for table in tables:
            buf = io.BytesIO()
            await src.copy_from_table(table, output=buf, format="binary")
            buf.seek(0)
            await dst.copy_to_table(table, source=buf, format="binary")
    finally:
        await src.close()
        await dst.close()


async def sign_in(http: httpx.AsyncClient, username: str) -> None:
    resp = await http.post(
        "/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(input: "
            "{username: $u, password: $p}) { accessToken } }",
            "variables": {"u": username, "p": PASSWORD},
        },
    )
    http.headers["Authorization"] = f"Bearer {resp.json()['data']['login']['accessToken']}"


async def test_figures_and_exports_come_from_the_read_database(db, tmp_path: Path):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 3, 10)):
        for i in range(2):
            await w.submit(title=f"复制前 {i}")
    read_url = await fresh_side_database("read")
    await copy_database(read_url)
    with acting_at(shanghai(2026, 11, 4, 10)):
        for i in range(3):
            await w.submit(title=f"复制后 {i}")  # only on the primary: the replica lags
        await ops.claim_demand(w.handler, (await w.dispatched()).id)
    assert await Demand.filter(submitted_at__gte=shanghai(2026, 11, 1)).count() == 6

    server = spawn_server(
        tmp_path, base_env(tmp_path, PUSH_DISPATCHER="off", DATABASE_READ_URL=read_url), "serve"
    )
    try:
        await ready(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            await sign_in(http, "supervisor")  # a user of the primary
            resp = await http.post("/graphql", json={"query": STATS, "variables": {"f": PERIOD}})
            body = resp.json()
            assert "errors" not in body, body
            assert body["data"]["demandStats"] == {"submitted": 2, "openNow": 2}

            export = await http.get(
                "/exports/demands.csv", params=PERIOD, headers={"Accept-Language": "en"}
            )
            assert export.status_code == 200, export.text
            header, *rows = csv.reader(io.StringIO(export.content.decode("utf-8-sig")))
            title = header.index("Title")
            assert sorted(r[title] for r in rows) == ["复制前 0", "复制前 1"], rows

            async def titles(username: str) -> list[str]:
                await sign_in(http, username)
                body = (await http.post("/graphql", json={"query": LISTS})).json()
                assert "errors" not in body, body
                demands = body["data"]["demands"]
                found = sorted(e["node"]["title"] for e in demands["edges"])
                assert demands["totalCount"] == len(found)  # the count from the same copy
                return found

            # Those who oversee read their lists from the lagging copy...
            assert await titles("supervisor") == ["复制前 0", "复制前 1"]
            assert await titles("dispatcher") == ["复制前 0", "复制前 1"]
            # ...a handler sees the demand they have just claimed, an enterprise all it sent.
            assert await titles("handler") == ["扩建用地审批两个月未办结"]
            assert len(await titles(w.users["ent_user"].username)) == 6
    finally:
        server.stop()
