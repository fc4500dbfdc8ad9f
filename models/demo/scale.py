"""A large synthetic data set on top of the demo county, for load tests and the supervisor view:
`enterprise-desk demo --enterprises N --demands M`.

The county (regions, departments, demo accounts, its 300 enterprises) is loaded first with
models.demo.county.load_demo(demands=False). Then N synthetic enterprises are spread over its towns
and parks, each with one or two contacts, the first of them with an app account (ENTERPRISE
role, the demo password), and M demands with their timelines and requests
(models.demo.scale_story) are written directly, not through the operations: COPY on
PostgreSQL, executemany on SQLite, in chunks, with ids reserved after the tables' current
maximum, in one transaction. Generated from a fixed seed against a fixed reference moment, so
a run is reproducible.

With `users` (`--users N`), N accounts in all instead (models.demo.scale_people): cadres with
their assigned enterprises and visits, handlers who handle the demands of their departments,
dispatchers, supervisors, agents, and app accounts for an even spread of the enterprises; and
the inbox rows of the last month's transitions.

Not idempotent: a second run refuses (SCALE_DATA_PRESENT) once the first synthetic enterprise
exists, and leaves the database as it was."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.demo.county import (
    COUNTY_CODE,
    COUNTY_NAME,
    DEMO_PASSWORD,
    REGIONS,
    _credit_code,
    _Generator,
    _organisation_code,
    _RegionSpec,
    demo_dataset,
    load_demo,
)
from models.demo.demands import CATEGORY_DEPARTMENT, HANDLERS
from models.demo.scale_people import (
    INBOX_COLUMNS,
    NOTICE_COLUMNS,
    PEOPLE_TABLES,
    USER_COLUMNS,
    Org,
    Placed,
    UserPlan,
    inbox_rows,
    notices_since,
    write_people,
)
from models.demo.scale_story import (
    DEMAND_COLUMNS,
    END,
    EVENT_COLUMNS,
    HISTORY_DAYS,
    REQUEST_COLUMNS,
    Calendar,
    Refs,
    StoryTeller,
)
from models.ops.policy import DEFAULT_CATEGORIES, ensure_default_categories, load_policies
from models.ops.work_orders import bulk_numbering, number_unnumbered
from models.rules.passwords import hash_password
from models.rules.roles import CoordinateSystem, Role
from models.rules.work_orders import WorkOrderKind
from models.rules.workdays import national_calendar
from models.tables.org import Department, Region, User
from models.tables.policy import DemandCategory
from models.tables.service_points import ServicePoint

SEED = 20261120
CHUNK = 20_000  # demands per generated and written batch
# Synthetic organisation codes: a scrambled walk over 8-digit bodies (bijective mod 9·10^7).
_ORG_STEP = 7919
_ORG_OFFSET = 31_415_926

ENTERPRISE_COLUMNS = (
    "id", "name", "credit_code", "credit_code_override", "legal_representative", "address",
    "latitude", "longitude", "coordinate_system", "region_id", "industry_code", "scale",
    "above_scale_industry", "qualified_construction", "above_limit_trade",
    "above_scale_service", "real_estate_development", "version", "created_at", "updated_at",
)  # fmt: skip
CONTACT_COLUMNS = ("id", "enterprise_id", "name", "mobile", "position", "user_id", "created_at")
GRANT_COLUMNS = ("id", "user_id", "role", "lead", "region_id", "department_id", "created_at")
_BULK_TABLES = ("demand", "demand_event", "demand_request")
# More places for the categories the replayed demo sends nowhere in particular.
_EXTRA_DEPARTMENTS = {"TRANSPORT": "县经济和信息化局", "OTHER": "县行政审批服务局"}


class ScaleDataPresent(Exception):
    """The synthetic enterprises are there already: a second run would duplicate them."""


@dataclass(frozen=True, slots=True)
class ScaleSummary:
    enterprises: int
    users: int
    contacts: int
    demands: int
    events: int
    requests: int
    seconds: float
    states: dict[str, int]
    # With `users`: staff accounts per role, visits and inbox rows written.
    staff: dict[str, int] = dataclasses.field(default_factory=dict)
    visits: int = 0
    notifications: int = 0

    def __str__(self) -> str:
        rate = (self.demands + self.events + self.requests) / max(self.seconds, 1e-9)
        spread = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
        text = (
            f"synthetic data: {self.enterprises} enterprises ({self.users} app accounts, "
            f"{self.contacts} contacts), {self.demands} demands, {self.events} timeline events, "
            f"{self.requests} requests in {self.seconds:.1f} s ({rate:,.0f} rows/s)\n"
            f"states: {spread}"
        )
        if self.staff:
            roles = ", ".join(f"{v} {k}" for k, v in self.staff.items())
            text += f"\nstaff: {roles}; {self.visits} visits, {self.notifications} inbox rows"
        return text


def synthetic_credit_codes() -> Iterator[str]:
    """The synthetic enterprises' credit codes, in order: valid check characters, none of the
    demo county's own."""
    taken = {e.credit_code for e in demo_dataset().enterprises}
    k = 0
    while True:
        body = f"{(k * _ORG_STEP + _ORG_OFFSET) % 90_000_000 + 10_000_000:08d}"
        k += 1
        org = _organisation_code(body)
        if org is None:
            continue
        code = _credit_code(org)
        if code not in taken:
            yield code


class _ScaleGenerator(_Generator):
    """The demo's enterprise generator with names and codes that do not run out."""

    _SYLLABLES = (
        "恒达鑫源华通瑞丰永盛宏远金鼎天成泰和嘉禾隆兴明辉东方新锐广汇万通利民福源兴旺中联"
        "安达润泽康宁博远精诚腾飞宇航立信德润锦绣春晖翔宇启明振华长青绿源清源昌盛鼎汇联创"
        "信诚国泰丰鸿运美佳凯旋大成百川同乐荣正阳金桥景易顺海晨光辰星云峰浩然卓越源"
    )

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng.seed(seed)
        self.names.update(e.name for e in demo_dataset().enterprises)
        self.mobiles.update(c.mobile for e in demo_dataset().enterprises for c in e.contacts)
        self.codes = synthetic_credit_codes()

    def credit_code(self) -> str:
        return str(next(self.codes))

    def name(self, word: str, scale: Any) -> str:
        syl = self._SYLLABLES
        length = 2
        for attempt in range(1000):
            if attempt and attempt % 50 == 0:
                length += 1  # two-character trade names are getting scarce
            trade = "".join(self.rng.choice(syl) for _ in range(length))
            prefix = "浙江" if scale.value == "LARGE" else self.rng.choice(("清河", COUNTY_NAME))
            suffix = "股份有限公司" if scale.value == "LARGE" else "有限公司"
            name = f"{prefix}{trade}{word}{suffix}"
            if name not in self.names:
                self.names.add(name)
                return name
        raise RuntimeError("no free enterprise name")


# --------------------------------------------------------------------------- writing


class _Sink:
    """Writes rows to one table in the open transaction."""

    async def max_id(self, table: str) -> int:
        raise NotImplementedError

    async def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class _SqliteSink(_Sink):
    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def max_id(self, table: str) -> int:
        _, rows = await self.conn.execute_query(
            f'SELECT MAX(id) AS m FROM "{table}"'  # noqa: S608 - our own table names
        )
        _, seq = await self.conn.execute_query(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", [table]
        )
        return max(int(rows[0][0] or 0), int(seq[0][0]) if seq else 0)

    async def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'  # noqa: S608
            await self.conn.execute_many(sql, rows)  # type: ignore[arg-type]


class _PostgresSink(_Sink):
    def __init__(self, conn: Any) -> None:
        self.conn = conn  # a raw asyncpg connection

    async def max_id(self, table: str) -> int:
        found = await self.conn.fetchval(
            f'SELECT COALESCE(MAX(id), 0) FROM "{table}"'  # noqa: S608
        )
        seq = await self.conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
        row = await self.conn.fetchrow(f"SELECT last_value, is_called FROM {seq}")  # noqa: S608
        return max(int(found), int(row["last_value"]) if row["is_called"] else 0)

    async def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def set_sequences(self, tables: Sequence[str]) -> None:
        for table in tables:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f'(SELECT MAX(id) FROM "{table}"))'
            )

    async def drop_checks(self) -> list[str]:
        """Drop the demand tables' foreign keys and secondary indexes for the load (demand and
        its events reference each other, and building indexes once beats maintaining them row
        by row); returns the statements that put them back, validated."""
        restore: list[str] = []
        for table in _BULK_TABLES:
            for name, definition in await self.conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = $1::regclass AND contype = 'f'",
                table,
            ):
                await self.conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                restore.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            for name, definition in await self.conn.fetch(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = $1::regclass AND NOT x.indisprimary AND NOT x.indisunique",
                table,
            ):
                await self.conn.execute(f'DROP INDEX "{name}"')
                restore.insert(0, definition)  # indexes first, then the keys they may serve
        return restore


# --------------------------------------------------------------------------- the load


async def _org(refs: Refs, county_id: int) -> Org:
    """The departments that receive demands with the demo handler of each, and the points."""
    departments: list[int] = []
    demo_handlers: dict[int, int] = {}
    for choices in refs.departments.values():
        for dept, handler, _ in choices:
            if dept not in demo_handlers:
                departments.append(dept)
                demo_handlers[dept] = handler
    points = await ServicePoint.all().order_by("id").values_list("id", "region_id")
    return Org(county_id, departments, demo_handlers, [(int(p), int(r)) for p, r in points])


async def _refs() -> Refs:
    county = await Region.get(code=COUNTY_CODE)
    depts = dict(await Department.filter(region_id=county.id).values_list("name", "id"))
    wanted = {"dispatcher", "supervisor", "cadre", "leader", "agent", "agent2", "agent_cg"}
    for pair in HANDLERS.values():
        wanted.update(pair)
    users = dict(await User.filter(username__in=sorted(wanted)).values_list("username", "id"))
    cats = {
        str(code): (int(pk), int(n), int(u), int(c))
        for code, pk, n, u, c in await DemandCategory.filter(region_id=None).values_list(
            "code", "id", "limit_normal", "limit_urgent", "limit_critical"
        )
    }
    by_code: dict[str, list[tuple[int, int, int]]] = {}
    for code in (c[1] for c in DEFAULT_CATEGORIES):
        dept = CATEGORY_DEPARTMENT.get(code) or _EXTRA_DEPARTMENTS.get(code)
        if dept is None:
            continue
        handler, lead = HANDLERS[dept]
        by_code[code] = [(int(depts[dept]), int(users[handler]), int(users[lead]))]
    # Approvals and inspections are shared with a second bureau, as counties do.
    for code, dept in (("APPROVAL", "县市场监督管理局"), ("FINANCE", "县人力资源和社会保障局")):
        handler, lead = HANDLERS[dept]
        by_code[code].append((int(depts[dept]), int(users[handler]), int(users[lead])))
    return Refs(
        categories=cats,
        departments=by_code,
        dispatcher=int(users["dispatcher"]),
        supervisor=int(users["supervisor"]),
        visit_submitters=(int(users["cadre"]), int(users["leader"])),
        agents=tuple(int(users[u]) for u in ("agent", "agent2", "agent_cg")),
        enterprises=(),
    )


async def _prefixes() -> dict[int, str]:
    """Each region's work-order prefix (the demo county's QH): the demands' numbers are given
    in bulk after the load (models.ops.work_orders), each day's in submission order."""
    paths = {int(r): str(p) for r, p in await Region.all().values_list("id", "path")}
    return {r: policy.work_order_prefix for r, policy in (await load_policies(paths)).items()}


async def load_scale_demo(
    enterprises: int,
    demands: int,
    *,
    seed: int = SEED,
    chunk: int = CHUNK,
    progress: Callable[[str], None] | None = None,
    users: int | None = None,
) -> ScaleSummary:
    """Load the demo county, then `enterprises` synthetic enterprises and `demands` demands;
    with `users`, that many accounts of every role instead of one per enterprise."""
    if enterprises < 1 or demands < 0 or (users is not None and users < 1):
        raise ValueError("need at least one enterprise and user and no negative demands")
    say = progress or (lambda _: None)
    await load_demo(demands=False)
    await ensure_default_categories()
    first_code = next(synthetic_credit_codes())
    from models.tables.enterprises import Enterprise

    if await Enterprise.filter(credit_code=first_code).exists():
        raise ScaleDataPresent(first_code)
    regions = {
        str(name): int(pk)
        for name, pk in await Region.filter(
            path__startswith=(await Region.get(code=COUNTY_CODE)).path
        ).values_list("name", "id")
    }
    refs = await _refs()  # read before the load's locks (dropping keys locks what they name)
    org = await _org(refs, regions[COUNTY_NAME]) if users is not None else None
    prefixes = await _prefixes()
    started = time.perf_counter()
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        import asyncpg

        pg_client: Any = conn
        raw = await asyncpg.connect(
            host=pg_client.host,
            port=pg_client.port,
            user=pg_client.user,
            password=pg_client.password,
            database=pg_client.database,
        )
        try:
            async with raw.transaction():
                await raw.execute("LOCK TABLE enterprise, demand IN SHARE ROW EXCLUSIVE MODE")
                if await raw.fetchval(
                    "SELECT 1 FROM enterprise WHERE credit_code = $1", first_code
                ):
                    raise ScaleDataPresent(first_code)
                pg = _PostgresSink(raw)
                restore = await pg.drop_checks()
                summary = await _load(
                    pg, refs, regions, enterprises, demands, seed, chunk, say, users, org
                )
                say("numbering the demands")
                for sql, values in bulk_numbering(WorkOrderKind.DEMAND, True, prefixes):
                    await raw.execute(sql, *values)
                say("rebuilding indexes and checking foreign keys")
                for statement in restore:
                    await raw.execute(statement)
                await pg.set_sequences(
                    (
                        "enterprise",
                        "app_user",
                        "enterprise_contact",
                        "role_grant",
                        *_BULK_TABLES,
                        *PEOPLE_TABLES,
                    )
                )
            # VACUUM too: it marks the new pages all-visible, as autovacuum would later, so
            # the statistics' index-only scans need not visit the table at once.
            await raw.execute(
                "VACUUM ANALYZE enterprise, demand, demand_event, demand_request, app_user, "
                "role_grant, enterprise_contact, leader_assignment, visit, visit_participant, "
                "notification_event, notification"
            )
        finally:
            await raw.close()
    else:
        # Key checks off for the load (SQLite hunts orphans with a table scan per row while
        # demand and its events wait for each other), then checked in one pass before commit.
        await conn.execute_script("PRAGMA foreign_keys = OFF")
        try:
            async with in_transaction() as tx:
                summary = await _load(
                    _SqliteSink(tx),
                    refs,
                    regions,
                    enterprises,
                    demands,
                    seed,
                    chunk,
                    say,
                    users,
                    org,
                )
                say("numbering the demands")
                await number_unnumbered(tx, WorkOrderKind.DEMAND, prefixes)
                for table in ("enterprise", "app_user", "role_grant", "enterprise_contact",
                              *_BULK_TABLES, *PEOPLE_TABLES):  # fmt: skip
                    _, broken = await tx.execute_query(f'PRAGMA foreign_key_check("{table}")')
                    if broken:
                        raise RuntimeError(f"broken reference in {table}: {tuple(broken[0])}")
        finally:
            await conn.execute_script("PRAGMA foreign_keys = ON")
    seconds = time.perf_counter() - started
    return dataclasses.replace(summary, seconds=seconds)


async def _load(
    sink: _Sink,
    refs: Refs,
    regions: dict[str, int],
    count: int,
    demands: int,
    seed: int,
    chunk: int,
    say: Callable[[str], None],
    user_count: int | None = None,
    org: Org | None = None,
) -> ScaleSummary:
    now = datetime.now(UTC)
    made_at = END - timedelta(days=HISTORY_DAYS + 30)  # registered before their first demand
    ids = {t: await sink.max_id(t) for t in ("enterprise", "app_user", "enterprise_contact",
                                            "role_grant", *_BULK_TABLES, *PEOPLE_TABLES)}  # fmt: skip
    plan = UserPlan.of(user_count, count) if user_count is not None else None
    placed: list[Placed] = []
    gen = _ScaleGenerator(seed)
    places: list[_RegionSpec] = [r for r in REGIONS if r.quota > 0]
    weights = [r.quota for r in places]
    password_hash = hash_password(DEMO_PASSWORD)  # slow by design: once
    pool: list[tuple[int, int, int | None]] = []
    users = contacts = 0
    for start in range(0, count, chunk):
        e_rows: list[tuple[Any, ...]] = []
        u_rows: list[tuple[Any, ...]] = []
        c_rows: list[tuple[Any, ...]] = []
        g_rows: list[tuple[Any, ...]] = []
        for index in range(start, min(start + chunk, count)):
            place = gen.rng.choices(places, weights=weights)[0]
            e = gen.enterprise(place)
            ids["enterprise"] += 1
            eid = ids["enterprise"]
            region_id = regions[place.name]
            e_rows.append(
                (
                    eid, e.name, e.credit_code, False, e.legal_representative, e.address,
                    e.latitude, e.longitude, CoordinateSystem.GCJ02.value, region_id,
                    e.industry_code, e.scale.value, e.above_scale_industry,
                    e.qualified_construction, e.above_limit_trade, e.above_scale_service,
                    e.real_estate_development, 1, made_at, made_at,
                )
            )  # fmt: skip
            uid: int | None = None
            if plan is None or plan.has_account(index, count):
                ids["app_user"] += 1
                uid = ids["app_user"]
                first = e.contacts[0]
                u_rows.append((uid, f"qy{eid}", first.name, first.mobile, password_hash, True,
                               True, now, now))  # fmt: skip
                ids["role_grant"] += 1
                g_rows.append(
                    (ids["role_grant"], uid, Role.ENTERPRISE.value, False, None, None, now)
                )
            placed.append(Placed(eid, region_id, e.latitude, e.longitude))
            for i, c in enumerate(e.contacts):
                ids["enterprise_contact"] += 1
                c_rows.append((ids["enterprise_contact"], eid, c.name, c.mobile, c.position,
                               uid if i == 0 else None, made_at))  # fmt: skip
            pool.append((eid, region_id, uid))
        await sink.write("enterprise", ENTERPRISE_COLUMNS, e_rows)
        await sink.write("app_user", USER_COLUMNS, u_rows)
        await sink.write("role_grant", GRANT_COLUMNS, g_rows)
        await sink.write("enterprise_contact", CONTACT_COLUMNS, c_rows)
        users += len(u_rows)
        contacts += len(c_rows)
    say(f"{count} enterprises written")

    first_day = END.date() - timedelta(days=HISTORY_DAYS + 10)
    cal = Calendar(national_calendar(), first_day, date(END.year + 2, 12, 31))
    refs = dataclasses.replace(refs, enterprises=pool)
    people = None
    if plan is not None and org is not None:
        people = await write_people(
            sink.write, ids, plan, org, placed, person=gen.person, mobile=gen.mobile,
            password_hash=password_hash, seed=seed + 1, cal=cal, made_at=made_at, now=now,
        )  # fmt: skip
        users += sum(people.counts.values())
        refs = dataclasses.replace(
            refs,
            handler_pools=people.handler_pools,
            cadre_of=people.cadre_of,
            notices_from=notices_since(),
        )
        say(f"{sum(people.counts.values())} staff accounts and {people.visits} visits written")
    teller = StoryTeller(refs, cal)
    states: dict[str, int] = {}
    events = requests = notifications = 0
    state_at = DEMAND_COLUMNS.index("state")
    for n, start in enumerate(range(0, demands, chunk)):
        size = min(chunk, demands - start)
        part = teller.tell_chunk(
            seed * 1_000_003 + n,
            ids["demand"] + 1 + start,
            size,
            ids["demand_event"] + 1 + events,
            ids["demand_request"] + 1 + requests,
        )
        await sink.write("demand", DEMAND_COLUMNS, part.demands)
        await sink.write("demand_event", EVENT_COLUMNS, part.events)
        await sink.write("demand_request", REQUEST_COLUMNS, part.requests)
        if part.notices:
            notice_rows, inbox = inbox_rows(part.notices, ids)
            await sink.write("notification_event", NOTICE_COLUMNS, notice_rows)
            await sink.write("notification", INBOX_COLUMNS, inbox)
            notifications += len(inbox)
        events += len(part.events)
        requests += len(part.requests)
        for row in part.demands:
            states[row[state_at]] = states.get(row[state_at], 0) + 1
        say(f"{start + size} demands written")
    return ScaleSummary(
        count, users, contacts, demands, events, requests, 0.0, states,
        people.counts if people else {}, people.visits if people else 0, notifications,
    )  # fmt: skip
