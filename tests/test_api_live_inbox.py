"""The live inbox: `notificationAdded` over graphql-transport-ws, signed in through
connection_init, woken within the server process (SQLite) or across processes through
PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
import websockets
from tortoise.transactions import in_transaction

from models.ops.notify import Notice, notify, wake_payloads
from models.rules.clock import acting_at, shanghai
from models.rules.notification_kinds import NotificationKind
from models.tables.notifications import Notification
from models.tables.org import User
from schema.relay import to_global_id
from server.settings import Settings
from tests.conftest import DB_URL, IS_POSTGRES, TEST_SECRET, start_server, stop_server
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD
from tests.test_cli import BIN, _free_port, wait_ready

SUBSCRIBE = "subscription { notificationAdded { kind title body subjectId } }"
DISPATCH = """mutation($input: DispatchDemandInput!) { dispatchDemand(input: $input) {
  demand { state } errors { code } } }"""


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/graphql"


async def token_of(url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        resp = await http.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { login(input: {username: $u, "
                "password: $p}) { accessToken } }",
                "variables": {"u": username, "p": PASSWORD},
            },
        )
        return str(resp.json()["data"]["login"]["accessToken"])


async def subscribe(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(ws_url(url), subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)  # the subscription has read the inbox and is waiting
    return ws


async def next_notification(ws: websockets.ClientConnection, seconds: float) -> dict:
    msg = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    assert msg["type"] == "next", msg
    return msg["payload"]["data"]["notificationAdded"]


async def dispatch(gql, w) -> str:
    with acting_at(shanghai(2026, 11, 24, 10)):
        d = await w.submit()
    await gql.login("dispatcher", PASSWORD)
    data = await gql(
        DISPATCH,
        {
            "input": {
                "demandId": to_global_id("Demand", d.id),
                "departmentId": to_global_id("Department", w.bureau.id),
                "limitDays": 5,
            }
        },
    )
    assert data["dispatchDemand"]["errors"] == []
    return d.title


async def test_a_dispatch_reaches_the_open_app_of_the_handler(gql, server_url):
    w = await build_demand_world()
    ws = await subscribe(server_url, await token_of(server_url, "handler"))
    try:
        title = await dispatch(gql, w)
        got = await next_notification(ws, 5)
        assert got["kind"] == "DEMAND_DISPATCHED" and title in got["body"]
    finally:
        await ws.close()


async def test_a_websocket_without_a_valid_token_is_refused(gql, server_url):
    await build_demand_world()
    ws = await websockets.connect(ws_url(server_url), subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer x"}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason == "UNAUTHENTICATED: 请先登录"


def start_other_process(tmp: Path, recheck: float) -> tuple[subprocess.Popen, str]:
    """A second `enterprise-desk serve` on the same database."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "SECRET_KEY": TEST_SECRET,
        "DATA_DIR": str(tmp),
        "PUSH_DISPATCHER": "off",
        "LIVE_RECHECK_SECONDS": str(recheck),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [str(BIN), "serve", "--no-migrate", "--port", str(port)],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, wait_ready(proc, f"http://127.0.0.1:{port}")


async def test_a_dispatch_on_one_process_reaches_a_subscriber_on_another(gql, tmp_path):
    """On PostgreSQL the other process hears the commit's NOTIFY (its periodic re-check is set
    to an hour, so only NOTIFY can deliver within the wait); on SQLite there is no NOTIFY and
    the other process finds it on its periodic re-check (one second here)."""
    w = await build_demand_world()
    recheck = 3600.0 if IS_POSTGRES else 1.0
    proc, other = start_other_process(tmp_path, recheck)
    try:
        ws = await subscribe(other, await token_of(other, "handler"))
        try:
            title = await dispatch(gql, w)  # on this test process's server
            got = await next_notification(ws, 120)
            assert got["kind"] == "DEMAND_DISPATCHED" and title in got["body"]
        finally:
            await ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def test_a_notice_to_thousands_commits_and_wakes_subscribers_at_both_ends(db):
    """PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more, and with it the whole
    transaction: 2,500 recipients' ids are woken in several payloads, the notice commits, and
    the first and the last recipient's open apps hear it. The server re-checks inboxes only
    hourly, so only the wake-up (NOTIFY, or the local listeners on SQLite) can deliver."""
    w = await build_demand_world()
    await User.bulk_create(
        [
            User(username=f"crowd{n:05d}", display_name="群众", password_hash="x")
            for n in range(2500)
        ]
    )
    crowd = (
        await User.filter(username__startswith="crowd").order_by("id").values_list("id", flat=True)
    )
    first, last = w.users["lead"], w.users["handler"]
    recipients = [first.id, *crowd, last.id]
    assert len(wake_payloads(recipients)) >= 3  # more than PostgreSQL takes in one
    settings = Settings(database_url=db, secret_key=TEST_SECRET, live_recheck_seconds=3600)
    server, task, url = await start_server(settings)
    try:
        sockets = [await subscribe(url, await token_of(url, u)) for u in ("lead", "handler")]
        try:
            async with in_transaction():
                event = await notify(
                    Notice(
                        NotificationKind.DEMAND_WARNING,
                        recipients,
                        "Demand",
                        1,
                        {"title": "全县通知"},
                    ),
                    shanghai(2026, 11, 24, 10),
                )
            assert event is not None
            for ws in sockets:
                got = await next_notification(ws, 120)
                assert got["kind"] == "DEMAND_WARNING" and "全县通知" in got["body"]
        finally:
            for ws in sockets:
                await ws.close()
    finally:
        await stop_server(server, task)
    assert await Notification.filter(event_id=event).count() == len(recipients)
