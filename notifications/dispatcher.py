"""The outbox dispatcher (docs/design.md section 9.5): claims due `push_message` rows, sends them
through the gateways and records each row's outcome.

One round (`run_once`):

1. Read what the dispatching processes share of each gateway (`push_gateway`): the failed
   calls in a row, whichever process made them; a breaker opened by any process keeps every
   process's claims off its rows, and once its cooldown is over exactly one process wins the
   trial call; a spent call quota holds every process until the quota's window reopens.
2. Claim up to `batch_size` due rows (PENDING, `due_at <= now`, unclaimed or with an expired
   claim), oldest due first, setting `claimed_until = now + lease`, a fresh `claim_token` and
   `attempts + 1` in the same statement. PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR
   UPDATE SKIP LOCKED) RETURNING`, so concurrent workers never claim the same row. SQLite: one
   claimer at a time per process (an asyncio lock; the single UPDATE ... RETURNING is atomic
   across processes). Rows routed to a gateway that is open or held are not claimed.
3. Build the gateway messages with one joined query (notification, device, the reader's
   language) and one grouped query for the badges (unread inbox rows per user).
4. Route each row to a gateway (its provider if enabled; fcm/huawei/apns devices to gorush when
   that is enabled; else the first enabled gateway), split into the gateway's calls (identical
   content shares a call, up to the gateway's limit), and send: gateways concurrently, each
   call paced by the gateway's buckets (messages per second, calls per minute) and counted by
   its breaker. A call that fails as a whole (5xx, timeout, refused account) or is refused for
   the call quota ends the round for that gateway; in half-open the round makes one trial call
   of one message and the rest follow only if it succeeds. No call starts after
   `round_seconds`; rows not attempted go back to the queue without spending an attempt.
5. Record each call's results as soon as it returns (calls that return together share one
   transaction), fenced by the claim (the row still PENDING and still carrying this round's
   token): delivered with the gateway's id; dead token → the device is deleted (its rows keep
   their record, `device_id` set NULL) and the row is DEAD; retry → DEAD once `attempts >=
   max_attempts`, else due again after max(Retry-After, full-jitter exponential backoff);
   permanent → DEAD. Rows whose device is gone are DEAD "device removed".

While a round is in flight it renews its claim every `lease / 3` seconds, so another process
never claims a row that is being sent however slow the gateway. A process that dies leaves its
unrecorded rows claimed; when the lease expires they are claimed again, so a push is sent at
most once more, and only if its call was in flight (every push carries its notification's ids;
the app drops repeats). Tokens are logged masked, bodies never."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import sqlite3
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from models.messages.notifications import render
from models.ops.work_calendar import load_calendar
from models.rules.clock import now as clock_now
from models.rules.notification_kinds import URGENT_KINDS, PushStatus, next_push_time, time_of
from notifications.config import PROVIDERS, PushConfig
from notifications.flow import BreakerState, Flow, is_gateway_failure
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
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_ROUND_SECONDS = 10.0

PENDING = PushStatus.PENDING.value
DELIVERED = PushStatus.DELIVERED.value
DEAD = PushStatus.DEAD.value
RELEASED = ""  # not attempted: back in the queue, the attempt not spent

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
    claim: str = ""  # the claim's token: recording is fenced by it
    event_id: int = 0


@dataclass
class _Outcome:
    """What to write for one row."""

    row: Claimed
    gateway: str
    status: str  # PENDING (retry), DELIVERED, DEAD, or RELEASED (not attempted)
    gateway_id: str | None = None
    error: str | None = None
    due_at: datetime | None = None
    dead_token: bool = False


@dataclass(eq=False)
class _Round:
    """One round's claim: its token, when it started (the dispatcher's `now`, and the flow's
    clock for what elapses), until when calls may start and the claim holds (flow clock), and
    the rows not recorded yet (those the heartbeat renews)."""

    token: str
    now: datetime
    started: float
    deadline: float
    held_until: float
    unrecorded: set[int]
    pending: list[_Outcome] = field(default_factory=list)  # waiting for the writer
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)
    ending: set[str] = field(default_factory=set)  # gateways whose round is over


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
        # A datetime is bound as is: on SQLite as UTC text (models.db.sqlite_counted).
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


def _epoch(value: Any) -> float | None:
    """A timestamp read back by raw SQL (PostgreSQL: datetime; SQLite: text) as epoch seconds."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def _together(aws: Iterable[Awaitable[None]]) -> None:
    """Await all; when one fails the others are cancelled (their rows stay claimed until the
    lease ends) and the failure propagates."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


class Dispatcher:
    def __init__(
        self,
        gateways: Mapping[str, Gateway],
        *,
        batch_size: int = 500,
        lease: float = DEFAULT_LEASE_SECONDS,
        round_seconds: float = DEFAULT_ROUND_SECONDS,
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
        if batch_size < 1 or max_attempts < 1 or lease <= 0 or round_seconds <= 0:
            raise ValueError("batch_size, max_attempts, lease and round_seconds must be positive")
        self.gateways = dict(gateways)
        self.fallback = next(iter(self.gateways))
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease)
        self.round_seconds = float(round_seconds)
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.flow = flow or Flow()
        self.counters = counters
        self.rng = rng or random.Random()  # jitter, not secrecy
        self.on_batch = on_batch  # (rows, seconds) after each batch: the bench's stopwatch
        self._known = set(PROVIDERS) | GORUSH_RELAYED | set(self.gateways)
        self._workday: Callable[[date], bool] | None = None  # set per round from the calendar
        self._rounds: set[_Round] = set()  # in flight: their claims are renewed
        self._failing: set[str] = set()  # gateways whose shared failure count may be above 0

    # ------------------------------------------------------------------ routing

    def route(self, provider: str) -> str:
        if provider in self.gateways:
            return provider
        if provider in GORUSH_RELAYED and "gorush" in self.gateways:
            return "gorush"
        return self.fallback

    def _provider_filter(self, blocked: set[str], sql: _Sql) -> str | None:
        """The claim's condition on `provider` that leaves out rows routed to a blocked gateway
        (breaker open, quota held); None to claim nothing at all (every gateway is blocked)."""
        if not blocked:
            return ""
        if self.fallback in blocked:  # unknown providers land on the fallback: list the good
            allowed = sorted(p for p in self._known if self.route(p) not in blocked)
            return f" AND provider IN ({sql.many(allowed)})" if allowed else None
        excluded = sorted(p for p in self._known if self.route(p) in blocked)
        return f" AND provider NOT IN ({sql.many(excluded)})"

    def _blocked_here(self, now: datetime) -> set[str]:
        stamp = now.timestamp()
        return {
            g
            for g in self.gateways
            if self.flow.breaker(g).blocked(stamp) or self.flow.held(g, stamp)
        }

    # ------------------------------------------------------------------ shared gateway state

    async def _sync_gateways(self, now: datetime) -> set[str]:
        """Align this process's breakers and holds with what every dispatching process shared,
        take the trial call of a half-open gateway if nobody has, and return the gateways not
        to claim rows for."""
        conn = connections.get("default")
        sql = _Sql(conn)
        rows = await conn.execute_query_dict(
            "SELECT name, open_until, hold_until, failures FROM push_gateway "  # noqa: S608
            f"WHERE name IN ({sql.many(self.gateways)})",
            sql.values,
        )
        shared = {
            str(r["name"]): (_epoch(r["open_until"]), _epoch(r["hold_until"]), int(r["failures"]))
            for r in rows
        }
        stamp = now.timestamp()
        blocked: set[str] = set()
        for name in self.gateways:
            breaker = self.flow.breaker(name)
            open_until, hold_until, failures = shared.get(name, (None, None, 0))
            breaker.adopt(open_until, stamp)
            if failures:  # failed calls elsewhere: the next round here starts with one call
                breaker.failures = max(breaker.failures, failures)
                self._failing.add(name)
            if hold_until is not None:
                self.flow.hold(name, hold_until)
            state = breaker.state(stamp)
            self.counters.breaker_open[name] = state is BreakerState.OPEN
            if (
                state is BreakerState.OPEN
                or self.flow.held(name, stamp)
                # Half-open: one process makes the trial call, the others wait for its verdict.
                or (
                    state is BreakerState.HALF_OPEN
                    and open_until is not None
                    and not await self._take_trial(name, now)
                )
            ):
                blocked.add(name)
        return blocked

    async def _take_trial(self, name: str, now: datetime) -> bool:
        """The half-open trial call of `name` for this process, if no process took it within
        a cooldown (one taken and never reported is presumed lost after that)."""
        conn = connections.get("default")
        sql = _Sql(conn)
        until = now + timedelta(seconds=self.flow.breaker(name).cooldown)
        count, _ = await conn.execute_query(
            f"UPDATE push_gateway SET probe_until = {sql(until)} "  # noqa: S608
            f"WHERE name = {sql(name)} AND open_until <= {sql(now)} "
            f"AND (probe_until IS NULL OR probe_until <= {sql(now)})",
            sql.values,
        )
        return bool(count)

    async def _shared(self, what: str, query: str, values: list[Any]) -> int | None:
        """Run one statement on `push_gateway` (a count comes back when it returns one). Best
        effort: this process's own breaker and hold stand either way."""
        try:
            conn = connections.get("default")
            rows = await conn.execute_query_dict(query, values)
        except Exception:
            log.warning("push: could not share %s", what, exc_info=True)
            return None
        return int(rows[0]["failures"]) if rows and "failures" in rows[0] else None

    async def _share_failure(self, name: str) -> int | None:
        """One more failed call in a row, counted by every process; the count so far."""
        sql = _Sql(connections.get("default"))
        query = (
            "INSERT INTO push_gateway (name, failures) "  # noqa: S608
            f"VALUES ({sql(name)}, 1) ON CONFLICT (name) DO UPDATE "
            "SET failures = push_gateway.failures + 1 RETURNING failures"
        )
        return await self._shared(f"a failed call of {name}", query, sql.values)

    async def _share_success(self, name: str) -> None:
        sql = _Sql(connections.get("default"))
        query = f"UPDATE push_gateway SET failures = 0 WHERE name = {sql(name)} AND failures > 0"  # noqa: S608
        await self._shared(f"a good call of {name}", query, sql.values)
        self._failing.discard(name)

    async def _share_open(self, name: str, until: datetime | None) -> None:
        """Open until `until` for every process, or closed (None: also ends a trial)."""
        sql = _Sql(connections.get("default"))
        failures = "push_gateway.failures" if until is not None else "0"
        query = (
            "INSERT INTO push_gateway (name, open_until, failures) "  # noqa: S608
            f"VALUES ({sql(name)}, {sql(until)}, 0) ON CONFLICT (name) DO UPDATE "
            f"SET open_until = excluded.open_until, probe_until = NULL, failures = {failures}"
        )
        await self._shared(f"the breaker of {name}", query, sql.values)
        if until is None:
            self._failing.discard(name)

    async def _share_hold(self, name: str, until: datetime) -> None:
        """No calls to `name` from any process before `until` (the later hold wins)."""
        sql = _Sql(connections.get("default"))
        query = (
            "INSERT INTO push_gateway (name, hold_until, failures) "  # noqa: S608
            f"VALUES ({sql(name)}, {sql(until)}, 0) ON CONFLICT (name) DO UPDATE "
            "SET hold_until = CASE WHEN push_gateway.hold_until IS NULL "
            "OR push_gateway.hold_until < excluded.hold_until "
            "THEN excluded.hold_until ELSE push_gateway.hold_until END"
        )
        await self._shared(f"the quota hold of {name}", query, sql.values)

    # ------------------------------------------------------------------ claiming

    async def claim(
        self, now: datetime, limit: int | None = None, *, blocked: set[str] | None = None
    ) -> list[Claimed]:
        """Claim due rows for this round (public so tests can play a process that crashes).
        `blocked`: gateways whose rows are left (default: this process's open breakers and
        holds)."""
        conn = connections.get("default")
        now = now.astimezone(UTC)
        until = now + self.lease
        limit = limit or self.batch_size
        token = secrets.token_hex(16)
        if blocked is None:
            blocked = self._blocked_here(now)
        sql = _Sql(conn)
        if sql.postgres:
            p_until, p_token = sql(until), sql(token)
            due = self._due(now, sql, blocked)
            if due is None:
                return []
            query = (
                f"UPDATE push_message SET claimed_until = {p_until}, claim_token = {p_token}, "  # noqa: S608
                f"attempts = attempts + 1 WHERE id IN (SELECT id FROM push_message WHERE {due} "
                f"ORDER BY due_at, id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED) "
                "RETURNING id, attempts, provider, device_id"
            )
            rows = await conn.execute_query_dict(query, sql.values)
        else:
            async with _sqlite_claim_lock():
                rows = await self._claim_sqlite(conn, now, until, token, limit, blocked)
        claimed = [
            Claimed(
                int(r["id"]), int(r["attempts"]), str(r["provider"]), r["device_id"], claim=token
            )
            for r in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def _claim_sqlite(
        self,
        conn: BaseDBAsyncClient,
        now: datetime,
        until: datetime,
        token: str,
        limit: int,
        blocked: set[str],
    ) -> list[dict[str, Any]]:
        if SQLITE_HAS_RETURNING:
            sql = _Sql(conn)
            p_until, p_token = sql(until), sql(token)
            due = self._due(now, sql, blocked)
            if due is None:
                return []
            query = (
                f"UPDATE push_message SET claimed_until = {p_until}, claim_token = {p_token}, "  # noqa: S608
                f"attempts = attempts + 1 WHERE id IN (SELECT id FROM push_message WHERE {due} "
                f"ORDER BY due_at, id LIMIT {int(limit)}) "
                "RETURNING id, attempts, provider, device_id"
            )
            return await conn.execute_query_dict(query, sql.values)
        # Before 3.35 (no RETURNING): select, then claim those rows, in one transaction.
        async with in_transaction() as tx:
            pick = _Sql(tx)
            due = self._due(now, pick, blocked)
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
                f"UPDATE push_message SET claimed_until = {upd(until)}, "  # noqa: S608
                f"claim_token = {upd(token)}, attempts = attempts + 1 "
                f"WHERE id IN ({upd.many(ids)})",
                upd.values,
            )
            get = _Sql(tx)
            return await tx.execute_query_dict(
                "SELECT id, attempts, provider, device_id FROM push_message "  # noqa: S608
                f"WHERE id IN ({get.many(ids)})",
                get.values,
            )

    def _due(self, now: datetime, sql: _Sql, blocked: set[str]) -> str | None:
        """The claimable rows' condition (None: nothing is claimable)."""
        due = f"status = '{PENDING}' AND due_at <= {sql(now)} "
        claimable = f"AND (claimed_until IS NULL OR claimed_until < {sql(now)})"
        where = self._provider_filter(blocked, sql)
        return None if where is None else due + claimable + where

    async def _details(self, claimed: list[Claimed]) -> list[Claimed]:
        """The claimed rows with notification, device and language: one joined query."""
        conn = connections.get("default")
        out: list[Claimed] = []
        by_id = {c.id: c for c in claimed}
        for part in _chunks([c.id for c in claimed], ROWS_PER_STATEMENT):
            sql = _Sql(conn)
            rows = await conn.execute_query_dict(
                "SELECT pm.id, n.id AS notification_id, n.event_id, n.user_id, n.kind, n.data, "  # noqa: S608
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
                    replace(
                        c,
                        device_id=c.device_id if r["token"] is not None else None,
                        notification_id=int(r["notification_id"]),
                        event_id=int(r["event_id"]),
                        user_id=int(r["user_id"]),
                        kind=str(r["kind"]),
                        subject_type=str(r["subject_type"]),
                        subject_id=int(r["subject_id"]),
                        data=data if isinstance(data, dict) else {},
                        token=r["token"],
                        platform=r["platform"],
                        language=str(r["language"] or DEFAULT_LANGUAGE),
                        device_provider=r["device_provider"],
                        quiet_start=r["quiet_start"],
                        quiet_end=r["quiet_end"],
                        quiet_on_holidays=(
                            r["quiet_on_holidays"] is not False and r["quiet_on_holidays"] != 0
                        ),
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
        blocked = await self._sync_gateways(now)
        claimed = await self.claim(now, blocked=blocked)
        if not claimed:
            return 0
        clock = self.flow.clock()
        rnd = _Round(
            claimed[0].claim,
            now,
            clock,
            deadline=clock + self.round_seconds,
            held_until=clock + self.lease.total_seconds(),
            unrecorded={c.id for c in claimed},
        )
        self._rounds.add(rnd)
        renewing = asyncio.create_task(self._keep_claim(rnd), name="push-claim-renewal")
        try:
            self._workday = (await load_calendar(None)).is_workday  # national holidays, cached
            await self._send_all(await self._details(claimed), rnd)
        finally:
            self._rounds.discard(rnd)
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        if self.on_batch is not None:
            self.on_batch(len(claimed), time.perf_counter() - started)
        return len(claimed)

    def _moment(self, rnd: _Round) -> datetime:
        """Now, as the round counts time: its `now` plus what elapsed on the flow's clock."""
        return rnd.now + timedelta(seconds=self.flow.clock() - rnd.started)

    async def _keep_claim(self, rnd: _Round) -> None:
        """Renew the round's claim every lease / 3 until it ends (cancelled)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._renew(rnd, self._moment(rnd))
            except Exception:
                log.warning("push: could not renew a claim", exc_info=True)

    async def renew(self, at: datetime) -> int:
        """Renew the claims of every round in flight as of `at`, as their heartbeat does every
        lease / 3 (public so tests renew at a moment of their choosing). Returns rows renewed."""
        renewed = 0
        for rnd in list(self._rounds):
            renewed += await self._renew(rnd, at.astimezone(UTC))
        return renewed

    async def _renew(self, rnd: _Round, at: datetime) -> int:
        ids = sorted(rnd.unrecorded)
        if not ids:
            return 0
        clock = self.flow.clock()
        until = at + self.lease
        conn = connections.get("default")
        renewed = 0
        for part in _chunks(ids, ROWS_PER_STATEMENT):
            sql = _Sql(conn)
            count, _ = await conn.execute_query(
                f"UPDATE push_message SET claimed_until = {sql(until)} "  # noqa: S608
                f"WHERE id IN ({sql.many(part)}) AND status = '{PENDING}' "
                f"AND claim_token = {sql(rnd.token)}",
                sql.values,
            )
            renewed += count
        rnd.held_until = clock + self.lease.total_seconds()
        return renewed

    async def _send_all(self, rows: list[Claimed], rnd: _Round) -> None:
        unsendable: list[_Outcome] = []
        badges = await self._badges({r.user_id for r in rows if r.token is not None})
        per_gateway: dict[str, list[tuple[Claimed, GatewayMessage]]] = defaultdict(list)
        for row in rows:
            if row.token is None:
                unsendable.append(_Outcome(row, row.provider, DEAD, error=DEVICE_REMOVED))
                continue
            try:
                platform = Platform(row.platform or "")
            except ValueError:
                error = f"unknown platform {row.platform!r}"
                unsendable.append(_Outcome(row, row.provider, DEAD, error=error))
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
                    "eventId": str(row.event_id),
                    "kind": row.kind,
                    "subjectType": row.subject_type,
                    "subjectId": str(row.subject_id),
                },
                badge=badges.get(row.user_id, 0),
            )
            per_gateway[self.route(row.device_provider or row.provider)].append((row, message))
        await self._submit(rnd, unsendable)
        await _together(self._send_gateway(name, items, rnd) for name, items in per_gateway.items())

    def _calls(
        self, gateway: Gateway, items: list[tuple[Claimed, GatewayMessage]]
    ) -> list[list[tuple[Claimed, GatewayMessage]]]:
        """The gateway's calls: chunks of its `max_batch`, split as the adapter splits them."""
        splits = getattr(gateway, "calls", None)
        size = max(1, int(gateway.max_batch))
        calls: list[list[tuple[Claimed, GatewayMessage]]] = []
        for chunk in _chunks(items, size):
            if splits is None:
                calls.append(list(chunk))
                continue
            by_id = {m.message_id: (row, m) for row, m in chunk}
            groups = splits([m for _, m in chunk])
            calls.extend([by_id[m.message_id] for m in group] for group in groups)
        return calls

    async def _send_gateway(
        self, name: str, items: list[tuple[Claimed, GatewayMessage]], rnd: _Round
    ) -> None:
        breaker = self.flow.breaker(name)
        slots = asyncio.Semaphore(max(1, self.flow.limit(name).concurrency))
        calls = self._calls(self.gateways[name], items)
        half_open = breaker.state(self._moment(rnd).timestamp()) is BreakerState.HALF_OPEN
        if half_open or breaker.failures:
            # A gateway whose last call failed gets one call before the others; half-open that
            # is the one trial call, of one message. The rest follow only if it succeeds.
            first, rest = calls[0], calls[1:]
            if half_open and len(first) > 1:
                rest.insert(0, first[1:])
                first = first[:1]
            await self._one_call(name, first, rnd, slots)
            if name in rnd.ending or breaker.failures or breaker.opened_at is not None:
                await self._release(rnd, [row for call in rest for row, _ in call])
                return
            calls = rest
        await _together(self._one_call(name, call, rnd, slots) for call in calls)

    async def _one_call(
        self,
        name: str,
        call: list[tuple[Claimed, GatewayMessage]],
        rnd: _Round,
        slots: asyncio.Semaphore,
    ) -> None:
        rows = [row for row, _ in call]
        async with slots:
            if not await self._may_call(name, len(call), rnd):
                await self._release(rnd, rows)
                return
            results = await self._call(name, self.gateways[name], [m for _, m in call])
        moment = self._moment(rnd)
        values = list(results.values())
        failed = is_gateway_failure(values)
        throttled = [r.retry_after or 0.0 for r in values if r.throttled]
        quota = getattr(self.gateways[name], "quota_spent_for", None)
        spent = quota() if callable(quota) else None
        wait = max([*throttled, *([spent] if spent else [])], default=None)
        if wait is not None or (values and all(r.outcome is Outcome.RETRY for r in values)):
            # Down, refusing us, or asking us to slow down: no more calls this round (set
            # before anything is awaited, so no call waiting for a slot slips through).
            rnd.ending.add(name)
        if wait is not None:
            # The call quota is spent: no more calls from any process until its window reopens.
            self.flow.hold(name, moment.timestamp() + wait)
        await self._count_call(name, failed, moment, values)
        if wait is not None:
            await self._share_hold(name, moment + timedelta(seconds=wait))
        outcomes = []
        for row in rows:
            result = results.get(str(row.id))
            if result is not None and result.throttled:
                outcomes.append(_Outcome(row, name, RELEASED))  # nothing was sent
            else:
                outcomes.append(self._judge(row, name, result, rnd.now))
        await self._submit(rnd, outcomes)

    async def _may_call(self, name: str, messages: int, rnd: _Round) -> bool:
        """May a call go now? Not once the gateway's round is over (a failed or throttled call,
        the deadline, a hold), nor when the claim is at risk (renewals failing), nor when
        pacing would wait past the deadline; else after pacing, if the breaker lets it."""
        half_lease = self.lease.total_seconds() / 2

        def over() -> bool:
            clock = self.flow.clock()
            return (
                name in rnd.ending
                or clock >= rnd.deadline
                or rnd.held_until - clock < half_lease
                or self.flow.held(name, self._moment(rnd).timestamp())
            )

        if over() or self.flow.pace_wait(name, messages) > rnd.deadline - self.flow.clock():
            return False
        await self.flow.pace(name, messages)
        return not over() and self.flow.breaker(name).allow(self._moment(rnd).timestamp())

    async def _count_call(
        self, name: str, failed: bool, moment: datetime, results: list[SendResult]
    ) -> None:
        """Every call counts in the breaker; an opening (or a failed trial) and a closing are
        shared with the other dispatching processes."""
        breaker = self.flow.breaker(name)
        stamp = moment.timestamp()
        was_open = breaker.opened_at is not None
        if failed:
            # Consecutive failures are counted by every process: the breaker opens after
            # `threshold` failed calls in a row whichever processes made them.
            shared = await self._share_failure(name)
            if shared is not None:
                breaker.failures = max(breaker.failures, shared - 1)
            self._failing.add(name)
        breaker.record(not failed, stamp)
        self.counters.breaker_open[name] = breaker.blocked(stamp)
        if failed and breaker.opened_at == stamp:
            errors = sorted({r.error or "retry" for r in results})
            log.warning(
                "push: gateway %s failing (%s): no calls for %.0f s",
                name,
                "; ".join(errors)[:200],
                breaker.cooldown,
            )
            await self._share_open(name, moment + timedelta(seconds=breaker.cooldown))
        elif not failed and was_open:
            log.info("push: gateway %s answers again", name)
            await self._share_open(name, None)
        elif not failed and name in self._failing:
            await self._share_success(name)

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

    async def _release(self, rnd: _Round, rows: list[Claimed]) -> None:
        await self._submit(rnd, [_Outcome(row, row.provider, RELEASED) for row in rows])

    async def _submit(self, rnd: _Round, outcomes: list[_Outcome]) -> None:
        """Record `outcomes` now: whoever finds the writer free writes everything waiting, so
        calls that return while a transaction is being written share the next one."""
        if not outcomes:
            return
        rnd.pending.extend(outcomes)
        async with rnd.writing:
            if not rnd.pending:
                return  # written by the one before us
            batch, rnd.pending = rnd.pending, []
            await self._record(batch, rnd.now)
            rnd.unrecorded.difference_update(o.row.id for o in batch)

    async def _record(self, outcomes: list[_Outcome], now: datetime) -> None:
        delivered = [o for o in outcomes if o.status == DELIVERED]
        dead = [o for o in outcomes if o.status == DEAD]
        retry = [o for o in outcomes if o.status == PENDING]
        released = [o for o in outcomes if o.status == RELEASED]
        dead_devices = sorted(
            {o.row.device_id for o in dead if o.dead_token and o.row.device_id is not None}
        )
        # Placeholders are made in the order they appear in the text (SQLite's are positional).
        async with in_transaction() as conn:
            for claim, part in _by_claim(delivered):
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
                    claim,
                )
            for claim, part in _by_claim(dead):
                sql = _Sql(conn)
                finished = sql(now)
                errors = _case(sql, {o.row.id: _text(o.error) for o in part}, "varchar")
                await self._update(
                    conn,
                    sql,
                    f"status = '{DEAD}', finished_at = {finished}, last_error = {errors}",
                    [o.row.id for o in part],
                    claim,
                )
            for claim, part in _by_claim(retry):
                sql = _Sql(conn)
                errors = _case(sql, {o.row.id: _text(o.error) for o in part}, "varchar")
                dues = _case(sql, {o.row.id: o.due_at for o in part}, "timestamptz")
                await self._update(
                    conn,
                    sql,
                    f"last_error = {errors}, due_at = {dues}",
                    [o.row.id for o in part],
                    claim,
                )
            for claim, part in _by_claim(released):
                sql = _Sql(conn)
                await self._update(
                    conn, sql, "attempts = attempts - 1", [o.row.id for o in part], claim
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
        claim: str,
    ) -> None:
        """One fenced UPDATE: only rows still PENDING and still under this round's claim (a
        round that lost its claim does not overwrite the next claimer's result)."""
        query = (
            f"UPDATE push_message SET {assignments}, claimed_until = NULL, claim_token = NULL "  # noqa: S608
            f"WHERE id IN ({sql.many(ids)}) AND status = '{PENDING}' "
            f"AND claim_token = {sql(claim)}"
        )
        count, _ = await conn.execute_query(query, sql.values)
        if count < len(ids):
            log.warning(
                "push: %d of %d rows were no longer ours when recording (claim lost)",
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


def _by_claim(outcomes: list[_Outcome]) -> Iterable[tuple[str, Sequence[_Outcome]]]:
    """The outcomes per claim token (one per round), in statements of bounded size."""
    claims: dict[str, list[_Outcome]] = defaultdict(list)
    for o in outcomes:
        claims[o.row.claim].append(o)
    for claim, same in claims.items():
        for part in _chunks(same, ROWS_PER_STATEMENT):
            yield claim, part


@contextlib.asynccontextmanager
async def dispatching(
    config: PushConfig,
    client: httpx.AsyncClient,
    *,
    batch_size: int = 500,
    lease: float = DEFAULT_LEASE_SECONDS,
    round_seconds: float = DEFAULT_ROUND_SECONDS,
    flow: Flow | None = None,
    idle_sleep: float = 1.0,
    shutdown_grace: float = 30.0,
) -> AsyncIterator[Dispatcher]:
    """Run a dispatcher in the background on the enabled gateways, on the caller's client (the
    caller owns and closes it). On exit the current batch may finish within `shutdown_grace`;
    after that it is cancelled (its claims expire and the rows are sent again)."""
    gateways = build_gateways(config, client)
    dispatcher = Dispatcher(
        gateways, batch_size=batch_size, lease=lease, round_seconds=round_seconds, flow=flow
    )
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
