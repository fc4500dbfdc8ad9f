"""The live inbox of this process: the broker behind `notificationAdded`, fed by PostgreSQL
LISTEN (every process hears every commit's NOTIFY) or, on SQLite, by the writing process
itself (the websocket endpoint is server.live_socket). The same LISTEN connection hears
calendar, policy and session changes made on other processes and drops what this process
cached of them (the session cache serves only while it is connected; it tells the live
sockets which accounts changed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from models.db.config import libpq_dsn
from models.ops.notify import NOTIFY_CHANNEL, add_local_listener
from models.ops.policy import POLICY_CHANNEL, invalidate_policy_cache
from models.ops.work_calendar import CALENDAR_CHANNEL, invalidate_calendar_cache
from models.session_cache import SESSION_CHANNEL, SESSIONS
from schema.live import Broker

log = logging.getLogger("enterprise_desk.live")
RECONNECT_SECONDS = 2.0


def _user_ids(payload: str) -> list[int]:
    return [int(p) for p in payload.split(",") if p.strip().isdigit()]


async def _listen(dsn: str, broker: Broker, ready: asyncio.Event) -> None:
    """Hold a LISTEN connection, reconnecting after failures; subscriptions re-check the inbox
    periodically, so a gap while reconnecting delays notifications, never loses them."""
    serving = False  # the session cache is started on this connection
    while True:
        conn = None
        try:
            conn = await asyncpg.connect(dsn)
            await conn.add_listener(
                NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: broker.publish(_user_ids(payload))
            )
            await conn.add_listener(CALENDAR_CHANNEL, lambda *_: invalidate_calendar_cache())
            await conn.add_listener(POLICY_CHANNEL, lambda *_: invalidate_policy_cache())
            await conn.add_listener(
                SESSION_CHANNEL, lambda _c, _pid, _ch, payload: SESSIONS.heard(payload)
            )
            # Edits made while this connection was down are not heard: forget them all now.
            invalidate_calendar_cache()
            invalidate_policy_cache()
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _c, done=closed: done.set())
            SESSIONS.start()
            serving = True
            ready.set()
            await closed.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database restarting: try again shortly
            log.warning("live inbox listener lost its connection: %s", type(exc).__name__)
        finally:
            if serving:
                SESSIONS.stop()
                serving = False
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()
        await asyncio.sleep(RECONNECT_SECONDS)


@contextlib.asynccontextmanager
async def live_inbox(database_url: str, broker: Broker) -> AsyncIterator[Broker]:
    if database_url.startswith("postgres"):
        dsn = libpq_dsn(database_url)
        ready = asyncio.Event()
        task = asyncio.create_task(_listen(dsn, broker, ready), name="live-inbox")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 10)
        try:
            yield broker
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    else:
        remove = add_local_listener(broker.publish)
        try:
            yield broker
        finally:
            remove()
