"""The world of the access matrix (tests/access_matrix/, tests/test_access_matrix.py).

Two counties. 清河县 holds one signed-in user per column of the matrix and the objects that are
"in" scope for them: the enterprise 恒达机械 (its contact is the `enterprise` user), a demand it
raised that the dispatcher sent to the handlers' bureau, a town cadre, the park's service desk and
its agent. 东岭县 holds the same kinds of object with its own people; nobody of 清河县 has a grant
there, so its objects are "out" of every column's scope (for the enterprise user, they are a
competitor's).

A probe (`@probe("operationName")`) turns (context, column, object) into one GraphQL call; the
test sends it over HTTP as that column's user and classifies the answer (see `Call`). Probes
that succeed in changing something work on fresh objects they make themselves, so the world the
other cells see stays as built; objects several probes share are made once and kept in
`AccessContext.cache` (`await ctx.once("name", maker)`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from models.access import load_actor, system_actor
from models.ops import demands as demand_ops
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.ops.notify import Notice, notify
from models.ops.policy import ensure_default_categories
from models.rules import clock
from models.rules.actor import Actor
from models.rules.notification_kinds import NotificationKind
from models.rules.roles import Role
from models.tables.demands import Demand
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.grants import RoleGrant
from models.tables.notifications import Notification
from models.tables.org import Department, Region, User
from models.tables.policy import DemandCategory
from models.tables.service_points import Procedure, ServicePoint
from schema.relay import to_global_id
from tests.factories import PASSWORD, make_enterprise, make_user

# The matrix's columns, in its order: one user each ("anonymous" sends no token).
COLUMNS = (
    "admin",
    "cadre",
    "dispatcher",
    "handler",
    "lead",
    "supervisor",
    "enterprise",
    "agent",
    "anonymous",
)
# What a row's object column may say: the column user's own object, one outside every
# column's scope, or an operation without an object.
OBJECTS = ("in", "out", "-")

WEEKDAYS = {d: [["08:30", "17:30"]] for d in ("MON", "TUE", "WED", "THU", "FRI")}


@dataclass
class Call:
    """One GraphQL request of a cell, and how its answer is read.

    The outcome of the answer, compared with the cell:
    - a GraphQL error's `extensions.code` (the first), when the operation's field is null;
    - otherwise the first `errors[].code` of a mutation payload, when it has any;
    - `null` when the operation's field is null;
    - when `target` is set: `ok` if the answer holds that string anywhere (a list that shows
      the object), else `empty`;
    - otherwise `ok`.
    `verify`, for an `ok` answer, checks in the database that the change happened (its
    assertion fails the cell)."""

    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    token: str | None = None  # another session's token instead of the column's
    verify: Callable[[], Awaitable[None]] | None = None
    # Files of a multipart request (GraphQL multipart request spec): variable path → (file
    # name, bytes, content type); the variable itself is sent as null.
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    # A subscription's: what makes a message arrive, run once the subscription is open.
    trigger: Callable[[], Awaitable[None]] | None = None


@dataclass
class People:
    """The actors of one county, by column name (no `anonymous`)."""

    users: dict[str, User]
    actors: dict[str, Actor]

    def __getitem__(self, column: str) -> Actor:
        return self.actors[column]


@dataclass
class County:
    county: Region
    town: Region  # the cadre's town; the enterprise stands here
    other_town: Region
    park: Region  # under `town`; the service desk stands here
    bureau: Department  # the handlers' department
    other_bureau: Department
    enterprise: Enterprise  # the `enterprise` user's (in 清河县), a competitor's (in 东岭县)
    assigned: Enterprise  # assigned to the county's cadre (包联)
    desk: ServicePoint
    procedure: Procedure
    people: People
    demand: Demand  # raised by `enterprise`, dispatched to `bureau`, claimed by its handler


@dataclass
class AccessContext:
    http: httpx.AsyncClient
    home: County  # 清河县: "in"
    away: County  # 东岭县: "out"
    category: DemandCategory
    tokens: dict[str, str | None]
    cache: dict[str, Any] = field(default_factory=dict)

    def county(self, obj: str) -> County:
        """The county whose objects a row's object column names ("-" reads as "in")."""
        return self.away if obj == "out" else self.home

    async def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """An object several probes share, made the first time one asks for it."""
        if key not in self.cache:
            self.cache[key] = await make()
        return self.cache[key]

    async def reusable(
        self,
        key: str,
        make: Callable[[], Awaitable[Any]],
        usable: Callable[[Any], Awaitable[bool]],
    ) -> Any:
        """An object kept for the cells that cannot change it (refusals change nothing, which
        the test checks), made again once a cell has used it up (`usable` says False)."""
        kept = self.cache.get(key)
        if kept is None or not await usable(kept):
            kept = self.cache[key] = await make()
        return kept

    async def sign_in(self, username: str) -> str:
        """A new session of a user (for probes that end or spoil their own session)."""
        resp = await self.http.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { login(input: {username: $u, "
                "password: $p}) { accessToken errors { code } } }",
                "variables": {"u": username, "p": PASSWORD},
            },
        )
        token = resp.json()["data"]["login"]["accessToken"]
        assert token, resp.text
        return str(token)

    async def fresh_demand(self, obj: str, **fields: Any) -> Demand:
        """A new SUBMITTED demand of the county's enterprise, raised by its contact."""
        county = self.county(obj)
        data = demand_ops.DemandData(
            enterprise_id=county.enterprise.id,
            title=str(fields.pop("title", "厂区道路破损影响货车通行")),
            description=str(fields.pop("description", "厂区门前道路破损，请协调修复。")),
            category_id=self.category.id,
        )
        for k, v in fields.items():
            setattr(data, k, v)
        return await demand_ops.submit_demand(county.people["enterprise"], data)

    async def dispatched_demand(self, obj: str) -> Demand:
        """A new demand dispatched to the county's bureau (5 working days)."""
        county = self.county(obj)
        d = await self.fresh_demand(obj)
        return await demand_ops.dispatch_demand(
            county.people["dispatcher"], d.id, department_id=county.bureau.id, limit_days=5
        )

    async def claimed_demand(self, obj: str) -> Demand:
        """A new demand claimed by the county's handler (IN_PROGRESS)."""
        county = self.county(obj)
        d = await self.dispatched_demand(obj)
        return await demand_ops.claim_demand(county.people["handler"], d.id)


async def notify_user(user_id: int, demand: Demand, region: Region) -> Notification:
    """A new unread notification of a user about a demand, written as the operations write
    one (through models.ops.notify, so a live subscription is woken too)."""
    notice = Notice(
        kind=NotificationKind.DEMAND_REPLIED,
        recipients=[user_id],
        subject_type="Demand",
        subject_id=demand.id,
        data={"title": demand.title},
        region_id=region.id,
    )
    async with in_transaction():
        event_id = await notify(notice, clock.now())
    assert event_id is not None
    return await Notification.get(event_id=event_id, user_id=user_id)


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


Probe = Callable[[AccessContext, str, str], Awaitable[Call]]
PROBES: dict[str, Probe] = {}


def probe(operation: str) -> Callable[[Probe], Probe]:
    """Registers the probe of an operation: called with (context, column, object)."""

    def register(fn: Probe) -> Probe:
        assert operation not in PROBES, f"two probes for {operation}"
        PROBES[operation] = fn
        return fn

    return register


# --- building the two counties ------------------------------------------------------------


async def _agent(username: str, point: ServicePoint, region: Region) -> User:
    user = await make_user(username, None, None)
    await RoleGrant.create(user=user, role=Role.SERVICE_AGENT, region=region, service_point=point)
    return user


async def _county(prefix: str, name: str, code: str) -> County:
    root = system_actor()
    county = await org_ops.create_region(root, name=name, level="COUNTY", parent_id=None, code=code)
    town = await org_ops.create_region(
        root, name=f"{name[:2]}城关镇", level="TOWN", parent_id=county.id, code=f"{code}100"
    )
    other_town = await org_ops.create_region(
        root, name=f"{name[:2]}西山镇", level="TOWN", parent_id=county.id, code=f"{code}101"
    )
    park = await org_ops.create_region(
        root, name=f"{name[:2]}经济开发区", level="PARK", parent_id=town.id, code=None
    )
    bureau = await org_ops.create_department(
        root, name=f"{name[:2]}自然资源局", region_id=county.id
    )
    other = await org_ops.create_department(root, name=f"{name[:2]}市场监管局", region_id=county.id)
    desk = await ServicePoint.create(
        name=f"{name[:2]}园小二帮办服务站",
        region=park,
        opening_hours=WEEKDAYS,
        phone="0571-88886666",
    )
    procedure = await Procedure.create(
        service_point=desk, name="食品经营许可证变更", promised_days=5, materials=[]
    )
    p = prefix
    users = {
        "admin": await make_user(f"{p}admin", "ADMIN", county),
        "cadre": await make_user(f"{p}cadre", "CADRE", town),
        "dispatcher": await make_user(f"{p}dispatcher", "DISPATCHER", county),
        "handler": await make_user(f"{p}handler", "HANDLER", county, department_id=bureau.id),
        "lead": await make_user(f"{p}lead", "HANDLER", county, department_id=bureau.id, lead=True),
        "supervisor": await make_user(f"{p}supervisor", "SUPERVISOR", county),
        "enterprise": await make_user(f"{p}enterprise", "ENTERPRISE", None),
        "agent": await _agent(f"{p}agent", desk, park),
    }
    enterprise = await make_enterprise(
        town, f"{name[:2]}恒达机械制造有限公司", industry_code="C3311"
    )
    assigned = await make_enterprise(town, f"{name[:2]}鑫源食品有限公司", industry_code="C1391")
    await EnterpriseContact.create(
        enterprise=enterprise, name="张伟", mobile="13800138000", user=users["enterprise"]
    )
    await ent_ops.assign_leader(
        root, enterprise_id=assigned.id, leader_id=users["cadre"].id, start_date=date(2026, 1, 1)
    )
    actors = {k: await load_actor(u.id) for k, u in users.items()}
    people = People(users, actors)
    category = await DemandCategory.get(code="LAND", region_id=None)
    submitted = await demand_ops.submit_demand(
        actors["enterprise"],
        demand_ops.DemandData(
            enterprise_id=enterprise.id,
            title="扩建用地审批两个月未办结",
            description="我司扩建项目用地审批已停滞两个月，请协调。",
            category_id=category.id,
        ),
    )
    await demand_ops.dispatch_demand(
        actors["dispatcher"], submitted.id, department_id=bureau.id, limit_days=5
    )
    demand = await demand_ops.claim_demand(actors["handler"], submitted.id)
    return County(
        county,
        town,
        other_town,
        park,
        bureau,
        other,
        enterprise,
        assigned,
        desk,
        procedure,
        people,
        demand,
    )


async def build_access_world(http: httpx.AsyncClient) -> AccessContext:
    await ensure_default_categories()
    home = await _county("", "清河县", "330599")
    away = await _county("x_", "东岭县", "330598")
    category = await DemandCategory.get(code="LAND", region_id=None)
    ctx = AccessContext(http, home, away, category, tokens={"anonymous": None})
    for column, user in home.people.users.items():
        ctx.tokens[column] = await ctx.sign_in(user.username)
    return ctx


def outcome(operation: str, body: dict[str, Any], target: str | None) -> str:
    """What a user saw, in the matrix's words (see `Call`)."""
    data = body.get("data") or {}
    value = data.get(operation) if isinstance(data, dict) else None
    errors = body.get("errors") or []
    if value is None and errors:
        return str((errors[0].get("extensions") or {}).get("code") or "NO_CODE")
    if isinstance(value, dict) and value.get("errors"):
        return str(value["errors"][0]["code"])
    if value is None:
        return "null"
    if target is not None:
        return "ok" if target in json.dumps(value, ensure_ascii=False) else "empty"
    return "ok"
