"""The people of the large synthetic demo with `--users N` (models.demo.scale): N accounts in
all, shared out as a county would have them, so that every mobile screen has real data for
every account of its role.

- cadres (a quarter): each looks after ~20 enterprises of one town or park (包联, a
  `leader_assignment` row) and has visited them over the last nine months, mostly on site
  with a trusted check-in;
- handlers (a tenth), spread over the departments that receive demands; the synthetic
  demands of a department are handled by its handlers (models.demo.scale_story);
- a few dispatchers and supervisors of the county, and agents of the demo's service points;
- the rest are enterprise accounts: the first contact of evenly spread enterprises. The other
  enterprises have no app account, so their demands come by phone, visit or service point.

Rows are written through the scale demo's sinks (COPY on PostgreSQL); one password hash for
all. Pure generation with its own seeded RNG: the enterprises and demands do not change with N
except where they name these people."""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from models.demo.scale_story import END_TS, Calendar, day_ts, local_day, moment
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem, Role
from models.rules.visit_states import VisitMode, VisitStatus

ASSIGNED_PER_CADRE = 20
VISIT_DAYS = 270  # visits logged over the nine months before END
NOTICE_DAYS = 30  # inbox rows for the transitions of the last month before END
READ_AFTER_DAYS = 3  # older inbox rows have been read

USER_COLUMNS = (
    "id", "username", "display_name", "mobile", "password_hash", "is_active", "is_demo",
    "password_changed_at", "created_at",
)  # fmt: skip
GRANT_COLUMNS = (
    "id", "user_id", "role", "lead", "region_id", "department_id", "service_point_id",
    "created_at",
)  # fmt: skip
ASSIGNMENT_COLUMNS = ("id", "enterprise_id", "leader_id", "start_date", "end_date", "note",
                      "created_at")  # fmt: skip
VISIT_COLUMNS = (
    "id", "enterprise_id", "region_id", "status", "mode", "lead_id", "created_by_id",
    "client_id", "at", "planned_at", "purpose", "visited_at", "ended_at", "notes", "policies",
    "completed_by_id", "completed_at", "notes_locked_at", "cancelled_at", "cancel_reason",
    "checkin_latitude", "checkin_longitude", "checkin_accuracy_m", "checkin_system",
    "checkin_mock", "checkin_device_time", "checkin_received_at", "distance_m",
    "location_trust", "trust_reason", "version", "created_at", "updated_at",
)  # fmt: skip
PARTICIPANT_COLUMNS = ("id", "visit_id", "user_id", "is_lead")
NOTICE_COLUMNS = ("id", "kind", "recipients", "subject_type", "subject_id", "data",
                 "created_at", "fanned_out_at")  # fmt: skip
INBOX_COLUMNS = ("id", "user_id", "event_id", "kind", "subject_type", "subject_id", "data",
                 "created_at", "read_at")  # fmt: skip
PEOPLE_TABLES = ("leader_assignment", "visit", "visit_participant", "notification_event",
          "notification")  # fmt: skip

_NOTES = (
    "企业生产经营正常，订单较去年同期增长，反映熟练技工招聘困难。",
    "了解企业技改项目进展，设备已到位，正在安装调试。",
    "宣讲稳岗返还和研发费用加计扣除政策，企业表示将按期申报。",
    "企业反映厂区周边道路夜间照明不足，已建议通过诉求渠道反映。",
    "走访了解企业融资需求，已对接县农商银行客户经理。",
    "企业经营平稳，暂无困难和诉求。",
)
_FLUSH = 20_000  # rows held before a write

Sink = Callable[[str, Sequence[str], list[tuple[Any, ...]]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class UserPlan:
    """How `total` accounts are shared out over the roles, for `enterprises` enterprises."""

    total: int
    cadres: int
    handlers: int
    dispatchers: int
    supervisors: int
    agents: int
    enterprise_accounts: int

    @classmethod
    def of(cls, total: int, enterprises: int) -> UserPlan:
        few = max(1, total // 400)
        handlers = max(1, total // 10)
        cadres = min(total // 4, -(-enterprises // ASSIGNED_PER_CADRE))
        rest = max(0, total - cadres - handlers - 3 * few)
        return cls(total, cadres, handlers, few, few, few, min(rest, enterprises))

    def has_account(self, index: int, count: int) -> bool:
        """Whether the `index`-th of `count` enterprises gets an app account: the accounts
        spread evenly over them."""
        n = self.enterprise_accounts
        return (index + 1) * n // count > index * n // count


@dataclass(frozen=True, slots=True)
class Placed:
    """A synthetic enterprise as the people need it."""

    id: int
    region_id: int
    latitude: float | None
    longitude: float | None


@dataclass(slots=True)
class People:
    """What the demands need of the people, and what was written."""

    handler_pools: dict[int, tuple[int, ...]] = field(default_factory=dict)
    cadre_of: dict[int, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    visits: int = 0


@dataclass(frozen=True, slots=True)
class Org:
    """The county's ids the people are granted in."""

    county_id: int
    departments: Sequence[int]  # those that receive demands, in a fixed order
    demo_handlers: dict[int, int]  # department → the demo's own handler there
    service_points: Sequence[tuple[int, int]]  # (id, region id)


class _Writer:
    """Buffers rows per table and writes them in batches."""

    def __init__(self, write: Sink, ids: dict[str, int]) -> None:
        self.write = write
        self.ids = ids
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, Sequence[str]] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    async def add(self, table: str, columns: Sequence[str], row: tuple[Any, ...]) -> None:
        self.columns[table] = columns
        rows = self.rows.setdefault(table, [])
        rows.append(row)
        if len(rows) >= _FLUSH:
            await self.flush()

    async def flush(self) -> None:
        # In the order the keys need: users before grants, visits before participants.
        for table in ("app_user", "role_grant", "leader_assignment", "visit", "visit_participant"):
            rows = self.rows.pop(table, [])
            if rows:
                await self.write(table, self.columns[table], rows)


async def write_people(
    write: Sink,
    ids: dict[str, int],
    plan: UserPlan,
    org: Org,
    enterprises: Sequence[Placed],
    *,
    person: Callable[[], str],
    mobile: Callable[[], str],
    password_hash: str,
    seed: int,
    cal: Calendar,
    made_at: datetime,
    now: datetime,
) -> People:
    """Writes the staff accounts with their grants, the cadres' assignments and visits."""
    rng = random.Random(seed)
    out = People()
    w = _Writer(write, ids)

    async def user(prefix: str, n: int) -> int:
        uid = w.next_id("app_user")
        await w.add("app_user", USER_COLUMNS, (uid, f"{prefix}{n:05d}", person(), mobile(),
                                               password_hash, True, True, now, now))  # fmt: skip
        return uid

    async def grant(uid: int, role: Role, region: int, dept: int | None = None,
                    point: int | None = None) -> None:  # fmt: skip
        await w.add("role_grant", GRANT_COLUMNS,
                    (w.next_id("role_grant"), uid, role.value, False, region, dept, point, now))  # fmt: skip

    # Handlers, evenly over the departments; each department's pool keeps the demo handler.
    pools: dict[int, list[int]] = {d: [org.demo_handlers[d]] for d in org.departments}
    for n in range(plan.handlers):
        dept = org.departments[n % len(org.departments)]
        uid = await user("handler", n + 1)
        await grant(uid, Role.HANDLER, org.county_id, dept)
        pools[dept].append(uid)
    out.handler_pools = {d: tuple(p) for d, p in pools.items()}
    for prefix, role, count in (
        ("dispatcher", Role.DISPATCHER, plan.dispatchers),
        ("supervisor", Role.SUPERVISOR, plan.supervisors),
    ):
        for n in range(count):
            await grant(await user(prefix, n + 1), role, org.county_id)
    for n in range(plan.agents if org.service_points else 0):
        point, region = org.service_points[n % len(org.service_points)]
        await grant(await user("agent", n + 1), Role.SERVICE_AGENT, region, point=point)

    # Cadres: blocks of ~20 enterprises of one region, the regions taken in turn.
    by_region: dict[int, list[Placed]] = {}
    for e in enterprises:
        by_region.setdefault(e.region_id, []).append(e)
    blocks = [
        (i, rid, es[i : i + ASSIGNED_PER_CADRE])
        for rid, es in by_region.items()
        for i in range(0, len(es), ASSIGNED_PER_CADRE)
    ]
    blocks.sort(key=lambda b: (b[0], b[1]))
    start = made_at.date()
    for n, (_, rid, block) in enumerate(blocks[: plan.cadres]):
        uid = await user("cadre", n + 1)
        await grant(uid, Role.CADRE, rid)
        for e in block:
            out.cadre_of[e.id] = uid
            await w.add("leader_assignment", ASSIGNMENT_COLUMNS,
                        (w.next_id("leader_assignment"), e.id, uid, start, None, "", made_at))  # fmt: skip
            for _ in range(rng.choices((0, 1, 2, 3), weights=(15, 30, 30, 25))[0]):
                await _visit(w, rng, cal, e, uid)
                out.visits += 1
    await w.flush()
    out.counts = {
        "cadres": min(plan.cadres, len(blocks)),
        "handlers": plan.handlers,
        "dispatchers": plan.dispatchers,
        "supervisors": plan.supervisors,
        "agents": plan.agents if org.service_points else 0,
    }
    return out


async def _visit(w: _Writer, rng: random.Random, cal: Calendar, e: Placed, cadre: int) -> None:
    """One completed visit of the cadre to the enterprise in the last nine months."""
    day = local_day(END_TS) - rng.randrange(VISIT_DAYS)
    if not cal.is_workday(day):
        day = cal.add(day, 1)
    ts = min(day_ts(day) + rng.randrange(30600, 59400), END_TS - 3600)
    at = moment(ts)
    ended = moment(ts + rng.randrange(1800, 5400))
    mode = rng.choices((VisitMode.ON_SITE, VisitMode.PHONE, VisitMode.VIDEO), (85, 10, 5))[0]
    lat = lon = accuracy = distance = None
    system: str | None = None
    if mode is not VisitMode.ON_SITE:
        trust, reason = LocationTrust.UNVERIFIED, TrustReason.NOT_ON_SITE
    elif e.latitude is None or e.longitude is None:
        trust, reason = LocationTrust.UNVERIFIED, TrustReason.NO_ENTERPRISE_LOCATION
    else:
        far = rng.random() < 0.05
        distance = rng.uniform(2000, 5000) if far else rng.uniform(5, 150)
        bearing = rng.uniform(0, 2 * math.pi)
        lat = e.latitude + distance * math.cos(bearing) / 111_320
        lon = e.longitude + distance * math.sin(bearing) / (
            111_320 * math.cos(math.radians(e.latitude))
        )
        accuracy, system = float(rng.randrange(5, 40)), CoordinateSystem.GCJ02.value
        trust, reason = (
            (LocationTrust.DOUBTFUL, TrustReason.TOO_FAR)
            if far
            else (LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS)
        )
    vid = w.next_id("visit")
    client = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    await w.add("visit", VISIT_COLUMNS, (
        vid, e.id, e.region_id, VisitStatus.COMPLETED.value, mode.value, cadre, cadre, client,
        at, None, "", at, ended, rng.choice(_NOTES), "[]", cadre, ended,
        ended + timedelta(hours=72), None, "", lat, lon, accuracy, system, False,
        at if lat is not None else None, at if lat is not None else None, distance,
        trust.value, reason.value, 1, ended, ended,
    ))  # fmt: skip
    await w.add("visit_participant", PARTICIPANT_COLUMNS,
                (w.next_id("visit_participant"), vid, cadre, True))  # fmt: skip


def inbox_rows(
    notices: Sequence[tuple[str, int, int, list[int], dict[str, Any]]], ids: dict[str, int]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The notification events and inbox rows of a chunk's notices; older ones read."""
    events: list[tuple[Any, ...]] = []
    inbox: list[tuple[Any, ...]] = []
    read_before = END_TS - READ_AFTER_DAYS * 86400
    for kind, demand_id, ts, people, data in notices:
        ids["notification_event"] += 1
        eid = ids["notification_event"]
        at = moment(ts)
        payload = json.dumps(data, ensure_ascii=False)
        events.append((eid, kind, json.dumps(people), "Demand", demand_id, payload, at, at))
        read_at = moment(ts + 3600) if ts < read_before else None
        for uid in people:
            ids["notification"] += 1
            inbox.append((ids["notification"], uid, eid, kind, "Demand", demand_id, payload, at,
                          read_at))  # fmt: skip
    return events, inbox


def notices_since() -> int:
    """From when on the demands' transitions write inbox rows (POSIX time)."""
    return END_TS - NOTICE_DAYS * 86400
