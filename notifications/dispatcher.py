"""The outbox dispatcher (docs/design.md section 9.5): claims due `push_message` rows, sends them
through the gateways and records each row's outcome.

One round (`run_once`):

1. Claim up to `batch_size` due rows (PENDING, `due_at <= now`, unclaimed or with an expired
   claim), oldest due first, setting `claimed_until = now + lease` and `attempts + 1` in the
   same statement. PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
   RETURNING`, so concurrent workers never claim the same row. SQLite: one claimer at a time
   per process (an asyncio lock; the single UPDATE ... RETURNING is atomic across processes).
   Rows routed to a gateway whose circuit breaker is open are not claimed.
2. Build the gateway messages with one joined query (notification, device, the reader's
   language) and one grouped query for the badges (unread inbox rows per user).
3. Route each row to a gateway (its provider if enabled; fcm/huawei/apns devices to gorush when
   that is enabled; else the first enabled gateway), split into chunks of the gateway's
   `max_batch`, and send: gateways concurrently, each paced by its token bucket and guarded by
   its breaker (notifications.flow).
4. Record every result in one transaction, fenced by the claim (`claimed_until` still ours and
   the row still PENDING): delivered with the gateway's id; dead token → the device is deleted
   (its rows keep their record, `device_id` set NULL) and the row is DEAD; retry → DEAD once
   `attempts >= max_attempts`, else due again after max(Retry-After, full-jitter exponential
   backoff); permanent → DEAD. Rows whose device is gone are DEAD "device removed".

A process that dies between sending and recording leaves its rows claimed; when the lease
expires they are claimed again, so a push is sent at most once more (every push carries its
notification id; the app drops repeats). Tokens are logged masked, bodies never."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from models.messages_notifications import render
from models.ops.calendar import load_calendar
from models.rules.clock import now as clock_now
from models.rules.notification_kinds import URGENT_KINDS, PushStatus, next_push_time, time_of
from notifications.config import PROVIDERS, PushConfig
from notifications.flow import Flow, is_gateway_failure
from notifications.gateway import Gateway, Outcome, Platform, SendResult
from notifications.gateway import PushMessage as GatewayMessage
from notifications.metrics import COUNTS, PushCounters
from notifications.registry import build_gateways

log = logging.getLogger("enterprise_desk.push")

# Devices whose own gateway is not enabled but which gorush relays to (APNs, FCM, Huawei HMS).
GORUSH_RELAYED = frozenset({"fcm", "huawei", "apns"})
DEFAULT_LANGUAGE = "zh"
DEVICE_REMOVED = "device removed"
DEAD_TOKEN = "dead token"  # noqa: S105 - an outcome, not a secret
MAX_ERROR_CHARS = 500  # push_message.last_error
ROWS_PER_STATEMENT = 400  # keeps every statement far below the bind-parameter limits

PENDING = PushStatus.PENDING.value
DELIVERED = PushStatus.DELIVERED.value
DEAD = PushStatus.DEAD.value

# SQLite: one claimer at a time in this process (one lock per event loop).
_sqlite_claim_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_claim_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _sqlite_claim_locks.get(loop)
    if lock is None:
        lock = _sqlite_claim_locks[loop] = asyncio.Lock()
    return lock


SQLITE_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


@dataclass(frozen=True)
class Claimed:
    """One claimed outbox row, with what it takes to send it (token: a secret)."""

    id: int
    attempts: int
    provider: str
    device_id: int | None
    notification_id: int = 0
    user_id: int = 0
    kind: str = ""
    subject_type: str = ""
    subject_id: int = 0
    data: Any = None
    token: str | None = None
    platform: str | None = None
    language: str = DEFAULT_LANGUAGE
    device_provider: str | None = None  # the device's provider now (routing)
    quiet_start: int | None = None  # the user's quiet hours, minutes after midnight
    quiet_end: int | None = None
    quiet_on_holidays: bool = True


@dataclass
class _Outcome:
    """What to write for one row."""

    row: Claimed
    gateway: str
    status: str  # PENDING (retry), DELIVERED, DEAD, or "" (released: not attempted)
    gateway_id: str | None = None
    error: str | None = None
    due_at: datetime | None = None
    dead_token: bool = False


URGENT_KIND_VALUES = frozenset(k.value for k in URGENT_KINDS)


class _Sql:
    """Bind parameters in the connection's style, values converted for raw SQL. The raw
    statements here interpolate only these placeholders and constants (hence `noqa: S608`);
    every value is bound."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.postgres = conn.capabilities.dialect == "postgres"
        self.pyformat = self.postgres and "psycopg" in type(conn).__module__
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str = "") -> str:
        if isinstance(value, datetime) and not self.postgres:
            # As tortoise writes them on SQLite: UTC, ISO with a space, so text compares.
            value = value.astimezone(UTC).isoformat(" ")
        self.values.append(value)
        if self.pyformat:
            ph = "%s"
        elif self.postgres:
            ph = f"${len(self.values)}"
        else:
            return "?"
        return f"{ph}::{cast}" if cast else ph

    def many(self, values: Iterable[Any]) -> str:
        return ", ".join(self(v) for v in values)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _case(sql: _Sql, values: Mapping[int, Any], cast: str) -> str:
    """`CASE id WHEN <id> THEN <value> ... ELSE NULL END`: a value per row in one statement
    (None values are left to the ELSE)."""
    given = {i: v for i, v in values.items() if v is not None}
    if not given:
        return "NULL"
    whens = " ".join(f"WHEN {sql(i)} THEN {sql(v, cast)}" for i, v in given.items())
    return f"CASE id {whens} ELSE NULL END"


def _text(error: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    return None if error is None else error[:limit]


class Dispatcher:
    def __init__(
        self,
        gateways: Mapping[str, Gateway],
        *,
        batch_size: int = 500,
        lease: float = 60.0,
        max_attempts: int = 8,
        base_backoff: float = 10.0,
        max_backoff: float = 3600.0,
        flow: Flow | None = None,
        counters: PushCounters = COUNTS,
        rng: random.Random | None = None,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if not gateways:
            raise ValueError("the dispatcher needs at least one gateway")
        if batch_size < 1 or max_attempts < 1 or lease <= 0:
            raise ValueError("batch_size and max_attempts must be positive, lease too")
        self.gateways = dict(gateways)
        self.fallback = next(iter(self.gateways))
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease)
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.flow = flow or Flow()
        self.counters = counters
        self.rng = rng or random.Random()  # jitter, not secrecy
        self.on_batch = on_batch  # (rows, seconds) after each batch: the bench's stopwatch
        self._known = set(PROVIDERS) | GORUSH_RELAYED | set(self.gateways)
        self._workday: Callable[[date], bool] | None = None  # set per round from the calendar

    # ------------------------------------------------------------------ routing

    def route(self, provider: str) -> str:
        if provider in self.gateways:
            return provider
        if provider in GORUSH_RELAYED and "gorush" in self.gateways:
            return "gorush"
        return self.fallback

    def _provider_filter(self, now: datetime, sql: _Sql) -> str | None:
        """The claim's condition on `provider` that leaves out rows routed to an open breaker;
        None to claim nothing at all (every gateway is open)."""
        stamp = now.timestamp()
        blocked = {g for g in self.gateways if self.flow.breaker(g).blocked(stamp)}
        for g in self.gateways:
            self.counters.breaker_open[g] = g in blocked
        if not blocked:
            return ""
        if self.fallback in blocked:  # unknown providers land on the fallback: list the good
            allowed = sorted(p for p in self._known if self.route(p) not in blocked)
            return f" AND provider IN ({sql.many(allowed)})" if allowed else None
        excluded = sorted(p for p in self._known if self.route(p) in blocked)
        return f" AND provider NOT IN ({sql.many(excluded)})"

    # ------------------------------------------------------------------ claiming

    async def claim(self, now: datetime, limit: int | None = None) -> list[Claimed]:
        """Claim due rows for this round (public so tests can play a process that crashes)."""
        conn = connections.get("default")
        now = now.astimezone(UTC)
        until = now + self.lease
        limit = limit or self.batch_size
        sql = _Sql(conn)
        if sql.postgres:
            p_until = sql(until)
            due = self._due(now, sql)
            if due is None:
                return []
            query = (
                f"UPDATE push_message SET claimed_until = {p_until}, attempts = attempts + 1 "  # noqa: S608
                f"WHERE id IN (SELECT id FROM push_message WHERE {due} "
                f"ORDER BY due_at, id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED) "
                "RETURNING id, attempts, provider, device_id"
            )
            rows = await conn.execute_query_dict(query, sql.values)
        else:
            async with _sqlite_claim_lock():
                rows = await self._claim_sqlite(conn, now, until, limit)
        claimed = [
            Claimed(int(r["id"]), int(r["attempts"]), str(r["provider"]), r["device_id"])
            for r in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def _claim_sqlite(
        self, conn: BaseDBAsyncClient, now: datetime, until: datetime, limit: int
    ) -> list[dict[str, Any]]:
        if SQLITE_HAS_RETURNING:
            sql = _Sql(conn)
            p_until = sql(until)
            due = self._due(now, sql)
            if due is None:
                return []
            query = (
                f"UPDATE push_message SET claimed_until = {p_until}, attempts = attempts + 1 "  # noqa: S608
                f"WHERE id IN (SELECT id FROM push_message WHERE {due} "
                f"ORDER BY due_at, id LIMIT {int(limit)}) "
                "RETURNING id, attempts, provider, device_id"
            )
            return await conn.execute_query_dict(query, sql.values)
        # Before 3.35 (no RETURNING): select, then claim those rows, in one transaction.
        async with in_transaction() as tx:
            pick = _Sql(tx)
            due = self._due(now, pick)
            if due is None:
                return []
            ids = [
                r["id"]
                for r in await tx.execute_query_dict(
                    f"SELECT id FROM push_message WHERE {due} ORDER BY due_at, id "  # noqa: S608
                    f"LIMIT {int(limit)}",
                    pick.values,
                )
            ]
            if not ids:
                return []
            upd = _Sql(tx)
            await tx.execute_query(
                f"UPDATE push_message SET claimed_until = {upd(until)}, attempts = attempts + 1 "  # noqa: S608
                f"WHERE id IN ({upd.many(ids)})",
                upd.values,
            )
            get = _Sql(tx)
            return await tx.execute_query_dict(
                "SELECT id, attempts, provider, device_id FROM push_message "  # noqa: S608
                f"WHERE id IN ({get.many(ids)})",
                get.values,
            )

    def _due(self, now: datetime, sql: _Sql) -> str | None:
        """The claimable rows' condition (None: nothing is claimable)."""
        due = f"status = '{PENDING}' AND due_at <= {sql(now)} "
        claimable = f"AND (claimed_until IS NULL OR claimed_until < {sql(now)})"
        where = self._provider_filter(now, sql)
        return None if where is None else due + claimable + where

    async def _details(self, claimed: list[Claimed]) -> list[Claimed]:
        """The claimed rows with notification, device and language: one joined query."""
        conn = connections.get("default")
        out: list[Claimed] = []
        by_id = {c.id: c for c in claimed}
        for part in _chunks([c.id for c in claimed], ROWS_PER_STATEMENT):
            sql = _Sql(conn)
            rows = await conn.execute_query_dict(
                "SELECT pm.id, n.id AS notification_id, n.user_id, n.kind, n.data, "  # noqa: S608
                "n.subject_type, n.subject_id, d.token, d.platform, d.provider AS device_provider, "
                "p.language, p.quiet_start, p.quiet_end, p.quiet_on_holidays "
                "FROM push_message pm JOIN notification n ON n.id = pm.notification_id "
                "LEFT JOIN device d ON d.id = pm.device_id "
                "LEFT JOIN notification_preference p ON p.user_id = n.user_id "
                f"WHERE pm.id IN ({sql.many(part)})",
                sql.values,
            )
            for r in rows:
                c = by_id[int(r["id"])]
                data = r["data"]
                if isinstance(data, str | bytes):
                    data = json.loads(data)
                out.append(
                    Claimed(
                        c.id,
                        c.attempts,
                        c.provider,
                        c.device_id if r["token"] is not None else None,
                        int(r["notification_id"]),
                        int(r["user_id"]),
                        str(r["kind"]),
                        str(r["subject_type"]),
                        int(r["subject_id"]),
                        data if isinstance(data, dict) else {},
                        r["token"],
                        r["platform"],
                        str(r["language"] or DEFAULT_LANGUAGE),
                        r["device_provider"],
                        r["quiet_start"],
                        r["quiet_end"],
                        r["quiet_on_holidays"] is not False and r["quiet_on_holidays"] != 0,
                    )
                )
        out.sort(key=lambda c: c.id)
        return out

    async def _badges(self, user_ids: set[int]) -> dict[int, int]:
        """Unread inbox rows per user: one grouped query."""
        if not user_ids:
            return {}
        conn = connections.get("default")
        badges: dict[int, int] = {}
        for part in _chunks(sorted(user_ids), ROWS_PER_STATEMENT):
            sql = _Sql(conn)
            rows = await conn.execute_query_dict(
                "SELECT user_id, COUNT(*) AS unread FROM notification "  # noqa: S608
                f"WHERE read_at IS NULL AND user_id IN ({sql.many(part)}) GROUP BY user_id",
                sql.values,
            )
            badges.update({int(r["user_id"]): int(r["unread"]) for r in rows})
        return badges

    # ------------------------------------------------------------------ one round

    async def run_once(self, now: datetime | None = None) -> int:
        """One batch: claim, send, record. Returns the number of rows claimed."""
        started = time.perf_counter()
        now = (now or clock_now()).astimezone(UTC)
        claimed = await self.claim(now)
        if not claimed:
            return 0
        claim_until = now + self.lease  # what claim() wrote: the fence for recording
        self._workday = (await load_calendar(None)).is_workday  # national holidays, cached
        outcomes = await self._send_all(await self._details(claimed), now)
        await self._record(outcomes, now, claim_until)
        if self.on_batch is not None:
            self.on_batch(len(claimed), time.perf_counter() - started)
        return len(claimed)

    async def _send_all(self, rows: list[Claimed], now: datetime) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        badges = await self._badges({r.user_id for r in rows if r.token is not None})
        per_gateway: dict[str, list[tuple[Claimed, GatewayMessage]]] = defaultdict(list)
        for row in rows:
            if row.token is None:
                outcomes.append(_Outcome(row, row.provider, DEAD, error=DEVICE_REMOVED))
                continue
            try:
                platform = Platform(row.platform or "")
            except ValueError:
                outcomes.append(
                    _Outcome(row, row.provider, DEAD, error=f"unknown platform {row.platform!r}")
                )
                continue
            title, body = render(row.kind, row.data or {}, row.language)
            message = GatewayMessage(
                message_id=str(row.id),
                notification_id=row.notification_id,
                token=row.token,
                platform=platform,
                title=title,
                body=body,
                collapse_key=f"{row.subject_type}:{row.subject_id}:{row.kind}",
                data={
                    "notificationId": str(row.notification_id),
                    "kind": row.kind,
                    "subjectType": row.subject_type,
                    "subjectId": str(row.subject_id),
                },
                badge=badges.get(row.user_id, 0),
            )
            per_gateway[self.route(row.device_provider or row.provider)].append((row, message))
        sent = await asyncio.gather(
            *(self._send_gateway(name, items, now) for name, items in per_gateway.items())
        )
        for part in sent:
            outcomes.extend(part)
        return outcomes

    async def _send_gateway(
        self, name: str, items: list[tuple[Claimed, GatewayMessage]], now: datetime
    ) -> list[_Outcome]:
        gateway = self.gateways[name]
        breaker = self.flow.breaker(name)
        limit = self.flow.limit(name)
        slots = asyncio.Semaphore(max(1, limit.concurrency))
        size = max(1, int(gateway.max_batch))
        stamp = now.timestamp()

        async def one(chunk: Sequence[tuple[Claimed, GatewayMessage]]) -> list[_Outcome]:
            async with slots:
                if not breaker.allow(stamp):
                    # Open (or a half-open trial already out): not attempted, back in the queue.
                    return [_Outcome(row, name, "") for row, _ in chunk]
                await self.flow.pace(name, len(chunk))
                results = await self._call(name, gateway, [m for _, m in chunk])
                breaker.record(not is_gateway_failure(results.values()), stamp)
                self.counters.breaker_open[name] = breaker.blocked(stamp)
                return [self._judge(row, name, results.get(str(row.id)), now) for row, _ in chunk]

        done = await asyncio.gather(*(one(c) for c in _chunks(items, size)))
        return [o for part in done for o in part]

    async def _call(
        self, name: str, gateway: Gateway, batch: list[GatewayMessage]
    ) -> dict[str, SendResult]:
        self.counters.add("sent", name, len(batch))
        self.counters.add("calls", name)
        started = time.perf_counter()
        try:
            results = await gateway.send(batch)
        except Exception as exc:  # an adapter must not raise; if it does, retry its rows
            log.exception("push: gateway %s raised on %d messages", name, len(batch))
            results = [
                SendResult(
                    m.message_id, Outcome.RETRY, error=f"adapter error: {type(exc).__name__}"
                )
                for m in batch
            ]
        self.counters.add("call_seconds", name, time.perf_counter() - started)
        return {r.message_id: r for r in results}

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform between 0 and the capped exponential."""
        ceiling = min(self.max_backoff, self.base_backoff * 2 ** min(attempts, 62))
        return self.rng.uniform(0, ceiling)

    def _judge(
        self, row: Claimed, gateway: str, result: SendResult | None, now: datetime
    ) -> _Outcome:
        if result is None:
            result = SendResult(str(row.id), Outcome.RETRY, error="no result from the gateway")
        if result.outcome is Outcome.DELIVERED:
            return _Outcome(row, gateway, DELIVERED, gateway_id=result.gateway_id)
        if result.outcome is Outcome.DEAD_TOKEN:
            error = f"{DEAD_TOKEN}: {result.error}" if result.error else DEAD_TOKEN
            return _Outcome(row, gateway, DEAD, error=error, dead_token=True)
        if result.outcome is Outcome.PERMANENT:
            return _Outcome(row, gateway, DEAD, error=result.error or "permanent error")
        error = result.error or "retry"
        if row.attempts >= self.max_attempts:
            return _Outcome(row, gateway, DEAD, error=f"{error} (after {row.attempts} attempts)")
        wait = max(result.retry_after or 0.0, self.backoff(row.attempts))
        return _Outcome(row, gateway, PENDING, error=error, due_at=self._retry_time(row, now, wait))

    def _retry_time(self, row: Claimed, now: datetime, wait: float) -> datetime:
        """After the backoff, and like the first try out of the user's quiet hours (escalations
        and overdue notices aside: the region decided on their first try)."""
        due = now + timedelta(seconds=wait)
        if row.kind in URGENT_KIND_VALUES:
            return due
        return next_push_time(
            due,
            quiet_start=time_of(row.quiet_start),
            quiet_end=time_of(row.quiet_end),
            quiet_on_holidays=row.quiet_on_holidays,
            is_workday=self._workday,
        ).astimezone(UTC)

    # ------------------------------------------------------------------ recording

    async def _record(self, outcomes: list[_Outcome], now: datetime, claim_until: datetime) -> None:
        delivered = [o for o in outcomes if o.status == DELIVERED]
        dead = [o for o in outcomes if o.status == DEAD]
        retry = [o for o in outcomes if o.status == PENDING]
        released = [o for o in outcomes if o.status == ""]
        dead_devices = sorted(
            {o.row.device_id for o in dead if o.dead_token and o.row.device_id is not None}
        )
        # Placeholders are made in the order they appear in the text (SQLite's are positional).
        async with in_transaction() as conn:
            for part in _chunks(delivered, ROWS_PER_STATEMENT):
                sql = _Sql(conn)
                finished = sql(now)
                ids = {o.row.id: _text(o.gateway_id, 200) for o in part}
                gateway_id = _case(sql, ids, "varchar")
                await self._update(
                    conn,
                    sql,
                    f"status = '{DELIVERED}', finished_at = {finished}, last_error = NULL, "
                    f"gateway_id = {gateway_id}",
                    list(ids),
                    claim_until,
                )
            for part in _chunks(dead, ROWS_PER_STATEMENT):
                sql = _Sql(conn)
                finished = sql(now)
                errors = _case(sql, {o.row.id: _text(o.error) for o in part}, "varchar")
                await self._update(
                    conn,
                    sql,
                    f"status = '{DEAD}', finished_at = {finished}, last_error = {errors}",
                    [o.row.id for o in part],
                    claim_until,
                )
            for part in _chunks(retry, ROWS_PER_STATEMENT):
                sql = _Sql(conn)
                errors = _case(sql, {o.row.id: _text(o.error) for o in part}, "varchar")
                dues = _case(sql, {o.row.id: o.due_at for o in part}, "timestamptz")
                await self._update(
                    conn,
                    sql,
                    f"last_error = {errors}, due_at = {dues}",
                    [o.row.id for o in part],
                    claim_until,
                )
            for part in _chunks(released, ROWS_PER_STATEMENT):
                sql = _Sql(conn)
                await self._update(
                    conn, sql, "attempts = attempts - 1", [o.row.id for o in part], claim_until
                )
            for part in _chunks(dead_devices, ROWS_PER_STATEMENT):
                sql = _Sql(conn)
                await conn.execute_query(
                    f"DELETE FROM device WHERE id IN ({sql.many(part)})",  # noqa: S608
                    sql.values,
                )
        self._count(outcomes)

    async def _update(
        self,
        conn: BaseDBAsyncClient,
        sql: _Sql,
        assignments: str,
        ids: list[int],
        claim_until: datetime,
    ) -> None:
        """One fenced UPDATE: only rows still PENDING and still under this round's claim (a
        round that overran its lease does not overwrite the next claimer's result)."""
        query = (
            f"UPDATE push_message SET {assignments}, claimed_until = NULL "  # noqa: S608
            f"WHERE id IN ({sql.many(ids)}) AND status = '{PENDING}' "
            f"AND claimed_until = {sql(claim_until)}"
        )
        count, _ = await conn.execute_query(query, sql.values)
        if count < len(ids):
            log.warning(
                "push: %d of %d rows were no longer ours when recording (lease overrun)",
                len(ids) - count,
                len(ids),
            )

    def _count(self, outcomes: list[_Outcome]) -> None:
        tally: dict[tuple[str, str], int] = defaultdict(int)
        for o in outcomes:
            if o.status == DELIVERED:
                tally[("delivered", o.gateway)] += 1
            elif o.status == PENDING:
                tally[("retried", o.gateway)] += 1
            elif o.status == DEAD:
                tally[("dead_token" if o.dead_token else "dead", o.gateway)] += 1
        for (name, gateway), n in tally.items():
            self.counters.add(name, gateway, n)
        if tally:
            trouble = any(name != "delivered" for name, _ in tally)
            log.log(
                logging.INFO if trouble else logging.DEBUG,
                "push: %s",
                ", ".join(f"{gw} {name} {n}" for (name, gw), n in sorted(tally.items())),
            )

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event, idle_sleep: float = 1.0) -> None:
        """Drain the outbox until `stop` is set: back to back while batches come full, else
        every `idle_sleep` seconds. A failing round (database down) is logged and retried with
        a growing pause; the loop itself never dies of it."""
        failures = 0
        while not stop.is_set():
            try:
                n = await self.run_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("push: dispatcher round failed")
                n = 0
            if n >= self.batch_size and not stop.is_set():
                await asyncio.sleep(0)  # let the rest of the process breathe
                continue
            pause = idle_sleep if not failures else min(30.0, idle_sleep * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)


@contextlib.asynccontextmanager
async def dispatching(
    config: PushConfig,
    client: httpx.AsyncClient,
    *,
    batch_size: int = 500,
    flow: Flow | None = None,
    idle_sleep: float = 1.0,
    shutdown_grace: float = 30.0,
) -> AsyncIterator[Dispatcher]:
    """Run a dispatcher in the background on the enabled gateways, on the caller's client (the
    caller owns and closes it). On exit the current batch may finish within `shutdown_grace`;
    after that it is cancelled (its claims expire and the rows are sent again)."""
    gateways = build_gateways(config, client)
    dispatcher = Dispatcher(gateways, batch_size=batch_size, flow=flow)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle_sleep), name="push-dispatcher")
    log.info("push: dispatcher started (gateways: %s)", ", ".join(gateways))
    try:
        yield dispatcher
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=shutdown_grace)
        except TimeoutError:
            log.warning("push: dispatcher did not stop in %.0f s; cancelled", shutdown_grace)
        for gateway in gateways.values():
            with contextlib.suppress(Exception):
                await gateway.aclose()
