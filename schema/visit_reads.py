"""The visit read path: one joined SQL statement of plain rows per page (visit, enterprise, lead
visitor), plus one batched statement per rarer relation the selection asks for (participants,
photos, demands raised). Statements per request do not grow with the page size.

Coverage (包联走访覆盖) counts leader-enterprise assignments active in the period against the
ones the leader visited on site with a TRUSTED check-in in that period."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Max

from models.access import VISIT_REGION_ROLES, visit_scope
from models.db.row_query import Params, connection, is_postgres, row_select
from models.errors import DomainError
from models.ops.region_tree import region_subtree
from models.rules import clock
from models.rules.actor import Actor
from models.rules.clock import day_start
from models.rules.geo import LocationTrust
from models.rules.periods import period_bounds
from models.rules.visit_states import PeriodKind, VisitMode, VisitStatus
from models.tables.enterprises import Enterprise as EnterpriseModel
from models.tables.enterprises import LeaderAssignment
from models.tables.org import Region as RegionModel
from models.tables.visits import Visit as VisitModel
from models.tables.visits import VisitParticipant
from schema.loaders import USER_COLUMNS
from schema.relay import Connection, Page, paginate, paginate_rows, pk_of
from schema.types.enterprises import ENTERPRISE_COLUMNS, Enterprise
from schema.types.org import Region
from schema.types.users import User
from schema.types.visits import VISIT_ROW_COLUMNS, AssignedEnterprise, Visit, VisitView


@strawberry.enum(description="A stable order for the visit list.")
class VisitOrder(Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"


_ORDERS = {VisitOrder.NEWEST: ("-at", "-id"), VisitOrder.OLDEST: ("at", "id")}


@strawberry.input
class VisitFilter:
    enterprise_id: strawberry.ID | None = None
    visitor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Visits this user led or went on."
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="Enterprises of this region and the regions below it."
    )
    from_: date | None = strawberry.field(
        default=None, name="from", description="On or after this day (Asia/Shanghai)."
    )
    to: date | None = strawberry.field(
        default=None, description="On or before this day (Asia/Shanghai)."
    )
    status: VisitStatus | None = None
    trust: LocationTrust | None = None


async def _apply(qs: Any, f: VisitFilter) -> Any:
    if f.enterprise_id is not None:
        qs = qs.filter(enterprise_id=pk_of(f.enterprise_id, "Enterprise"))
    if f.visitor_id is not None:
        went = VisitParticipant.filter(user_id=pk_of(f.visitor_id, "User")).values("visit_id")
        qs = qs.filter(id__in=Subquery(went))
    if f.region_id is not None:
        qs = qs.filter(region_id__in=await region_subtree(pk_of(f.region_id, "Region")))
    if f.from_ is not None:
        qs = qs.filter(at__gte=day_start(f.from_))
    if f.to is not None:
        qs = qs.filter(at__lt=day_start(f.to + timedelta(days=1)))
    if f.status is not None:
        qs = qs.filter(status=f.status.value)
    if f.trust is not None:
        qs = qs.filter(location_trust=f.trust.value)
    return qs


def _cursor_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


async def list_visits(
    actor: Actor,
    f: VisitFilter | None,
    order: VisitOrder,
    page: Page,
    *,
    enterprise_id: int | None = None,
) -> Connection[Visit]:
    view = VisitView(actor=actor, now=clock.now())
    qs = VisitModel.filter(visit_scope(actor))
    if enterprise_id is not None:
        qs = qs.filter(enterprise_id=enterprise_id)
    if f is not None:
        qs = await _apply(qs, f)
    return await paginate(
        qs,
        first=page.first,
        after=page.after,
        last=page.last,
        before=page.before,
        order=_ORDERS[order],
        columns=VISIT_ROW_COLUMNS,
        build=lambda r: Visit.from_row(r, view),
        cursor_types={"at": _cursor_time},
        may_lag=actor.lists_may_lag(),
    )


async def get_visit(actor: Actor, pk: int) -> Visit | None:
    rows = await VisitModel.filter(visit_scope(actor), id=pk).values(*VISIT_ROW_COLUMNS)
    return Visit.from_row(rows[0], VisitView(actor=actor, now=clock.now())) if rows else None


# --------------------------------------------------------------------------- coverage


def _trusted_visits_q(start: date, end: date, via: str = "") -> Q:
    """Visits that count toward coverage in [start, end]; `via` reaches them through a
    relation (e.g. "visit__" from a participant)."""
    terms: dict[str, Any] = {
        f"{via}status": VisitStatus.COMPLETED.value,
        f"{via}mode": VisitMode.ON_SITE.value,
        f"{via}location_trust": LocationTrust.TRUSTED.value,
        f"{via}at__gte": day_start(start),
        f"{via}at__lt": day_start(end + timedelta(days=1)),
    }
    return Q(**terms)


def _active_in(start: date, end: date) -> Q:
    """Assignments running at some time in [start, end]."""
    return Q(start_date__lte=end) & (Q(end_date=None) | Q(end_date__gte=start))


async def _visited_pairs(
    leader_ids: list[int] | None, enterprise_ids: list[int], start: date, end: date
) -> dict[tuple[int, int], tuple[int, datetime | None]]:
    """(leader, enterprise) → (trusted on-site visits in the period, latest such visit)."""
    if not enterprise_ids:
        return {}
    qs = VisitParticipant.filter(
        _trusted_visits_q(start, end, "visit__"), visit__enterprise_id__in=enterprise_ids
    )
    if leader_ids is not None:
        qs = qs.filter(user_id__in=leader_ids)
    rows = (
        await qs.annotate(n=Count("visit_id"), last=Max("visit__at"))
        .group_by("user_id", "visit__enterprise_id")
        .values("user_id", "visit__enterprise_id", "n", "last")
    )
    return {(r["user_id"], r["visit__enterprise_id"]): (r["n"], r["last"]) for r in rows}


# The cadre's home screen reads its page and its visit figures through written-out SQL
# (models.db.row_query): built through the ORM they cost more Python than they took to run.
_ENTERPRISES = row_select(EnterpriseModel, ENTERPRISE_COLUMNS)


def _trusted_sql(p: Params, start: date, end: date, v: str) -> str:
    """`_trusted_visits_q` over the visit alias `v`."""
    return (
        f"{v}.status = {p(VisitStatus.COMPLETED.value)} AND {v}.mode = {p(VisitMode.ON_SITE.value)}"
        f" AND {v}.location_trust = {p(LocationTrust.TRUSTED.value)}"
        f" AND {v}.at >= {p.moment(day_start(start))}"
        f" AND {v}.at < {p.moment(day_start(end + timedelta(days=1)))}"
    )


async def _my_visit_figures(
    user_id: int, enterprise_ids: list[int], start: date, end: date
) -> dict[int, tuple[int, datetime | None]]:
    """Per enterprise, the user's trusted on-site visits in the period and their latest
    completed visit at any time: one statement."""
    if not enterprise_ids:
        return {}
    p = Params(is_postgres())
    me = p(user_id)
    sql = (
        f"SELECT v.enterprise_id AS enterprise_id, "  # noqa: S608 - values are parameters
        f"SUM(CASE WHEN {_trusted_sql(p, start, end, 'v')} THEN 1 ELSE 0 END) AS n, "
        f"MAX(CASE WHEN v.status = {p(VisitStatus.COMPLETED.value)} THEN v.visited_at END) "
        f"AS latest FROM visit v JOIN visit_participant vp ON vp.visit_id = v.id "
        f"AND vp.user_id = {me} WHERE v.enterprise_id IN ({p.many(enterprise_ids)}) "
        f"GROUP BY v.enterprise_id"
    )
    moment = VisitModel._meta.fields_map["visited_at"].to_python_value
    rows = await connection().execute_query_dict(sql, p.values)
    return {
        r["enterprise_id"]: (
            int(r["n"] or 0),
            None if r["latest"] is None else moment(r["latest"]),
        )
        for r in rows
    }


async def my_assigned_enterprises(
    actor: Actor,
    kind: PeriodKind,
    on: date | None,
    visited: bool | None,
    first: int | None,
    after: str | None,
) -> Connection[AssignedEnterprise]:
    start, end = period_bounds(kind, on or clock.today())
    p = Params(is_postgres())
    me = p(actor.user_id)
    where = (
        "t0.id IN (SELECT enterprise_id FROM leader_assignment "  # noqa: S608
        f"WHERE leader_id = {me} AND start_date <= {p.day(end)} "
        f"AND (end_date IS NULL OR end_date >= {p.day(start)}))"
    )
    if visited is not None:
        went = (
            f"SELECT v.enterprise_id FROM visit v WHERE {_trusted_sql(p, start, end, 'v')} "  # noqa: S608
            f"AND v.id IN (SELECT visit_id FROM visit_participant WHERE user_id = {me})"
        )
        where += f" AND t0.id {'IN' if visited else 'NOT IN'} ({went})"
    figures: dict[int, tuple[int, datetime | None]] = {}

    async def prepare(rows: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in rows]
        figures.update(await _my_visit_figures(actor.user_id, ids, start, end))

    def build(r: dict[str, Any]) -> AssignedEnterprise:
        n, latest = figures.get(r["id"], (0, None))
        return AssignedEnterprise(
            enterprise=Enterprise.from_row(r),
            period_start=start,
            period_end=end,
            visited_in_period=n > 0,
            visits_in_period=n,
            last_visit_at=latest,
        )

    return await paginate_rows(
        _ENTERPRISES,
        where,
        p,
        first=first,
        after=after,
        order=("name", "id"),
        build=build,
        prepare=prepare,
    )


@strawberry.type(
    description="包联覆盖率: assigned enterprises visited at least once in the period by a "
    "leader assigned to them, on site with a TRUSTED check-in, over assigned enterprises. "
    "Per leader: that leader's assigned enterprises and their own visits."
)
class CoverageFigures:
    assigned: int = strawberry.field(
        description="Enterprises with an assignment active at some time in the period."
    )
    visited: int = strawberry.field(
        description="Of those, visited on site with a TRUSTED check-in by an assigned leader."
    )

    @strawberry.field(description="visited / assigned; null when nothing is assigned.")
    def rate(self) -> float | None:
        return round(self.visited / self.assigned, 4) if self.assigned else None


@strawberry.type
class LeaderCoverage(CoverageFigures):
    leader: User
    unvisited_pks: strawberry.Private[list[int]]

    @strawberry.field(
        description="The leader's enterprises with an assignment active at some time in the "
        "period that they have not visited on site with a TRUSTED check-in in it (a DOUBTFUL "
        "or UNVERIFIED visit leaves one here): `assigned - visited` of them, by name. For all "
        "the leaders of the answer in one statement."
    )
    async def unvisited(self, info: Info) -> list[Enterprise]:
        rows = await info.context.loaders.enterprise.load_many(self.unvisited_pks)
        found = sorted((r for r in rows if r is not None), key=lambda r: (r["name"], r["id"]))
        return [Enterprise.from_row(r) for r in found]


@strawberry.type
class RegionCoverage(CoverageFigures):
    region: Region = strawberry.field(description="A region directly below the one asked for.")


@strawberry.type(description="How well leaders keep their visit cadence in a region.")
class VisitCoverage(CoverageFigures):
    region: Region
    period_start: date
    period_end: date
    by_leader: list[LeaderCoverage] = strawberry.field(description="Lowest rate first.")
    by_region: list[RegionCoverage] = strawberry.field(
        description="Per region directly below, rolling up their subtrees; lowest rate first."
    )


@dataclass
class _Tally:
    assigned: int = 0
    visited: int = 0


@dataclass
class _LeaderTally(_Tally):
    unvisited: list[int] = field(default_factory=list)


async def visit_coverage(
    actor: Actor, kind: PeriodKind, on: date | None, region_pk: int
) -> VisitCoverage:
    if not actor.has_role(*VISIT_REGION_ROLES):  # as the supervisor figures refuse a role
        raise DomainError("FORBIDDEN")
    region_rows = await RegionModel.filter(id=region_pk).values(
        "id", "name", "code", "level", "parent_id", "path"
    )
    if not region_rows:
        raise DomainError("NOT_FOUND", "regionId")
    region = region_rows[0]
    if not actor.covers(region["path"], VISIT_REGION_ROLES):
        raise DomainError("REGION_OUT_OF_SCOPE", "regionId")
    start, end = period_bounds(kind, on or clock.today())
    subtree = RegionModel.filter(path__startswith=region["path"]).values("id")
    pairs = (
        await LeaderAssignment.filter(
            _active_in(start, end), enterprise__region_id__in=Subquery(subtree)
        )
        .distinct()
        .values("leader_id", "enterprise_id", "enterprise__region__path")
    )
    visited = await _visited_pairs(None, sorted({p["enterprise_id"] for p in pairs}), start, end)
    children = (
        await RegionModel.filter(parent_id=region_pk)
        .order_by("name")
        .values("id", "name", "code", "level", "parent_id", "path")
    )
    # Per leader: their assigned enterprises and how many of those they visited. Per region:
    # assigned enterprises, visited when one of their assigned leaders visited them.
    per_leader: dict[int, _LeaderTally] = defaultdict(_LeaderTally)
    enterprise_path: dict[int, str] = {}
    enterprise_visited: dict[int, bool] = {}
    for p in {(p["leader_id"], p["enterprise_id"]): p for p in pairs}.values():
        hit = (p["leader_id"], p["enterprise_id"]) in visited
        per_leader[p["leader_id"]].assigned += 1
        per_leader[p["leader_id"]].visited += int(hit)
        if not hit:
            per_leader[p["leader_id"]].unvisited.append(p["enterprise_id"])
        enterprise_path[p["enterprise_id"]] = p["enterprise__region__path"]
        enterprise_visited[p["enterprise_id"]] = (
            enterprise_visited.get(p["enterprise_id"], False) or hit
        )
    total = _Tally(len(enterprise_visited), sum(enterprise_visited.values()))
    per_child: dict[int, _Tally] = {c["id"]: _Tally() for c in children}
    for eid, hit in enterprise_visited.items():
        for c in children:
            if enterprise_path[eid].startswith(c["path"]):
                per_child[c["id"]].assigned += 1
                per_child[c["id"]].visited += int(hit)
    users = {u["id"]: u for u in await _users(list(per_leader))}
    by_leader = [
        LeaderCoverage(
            leader=User.from_row(users[lid]),
            assigned=t.assigned,
            visited=t.visited,
            unvisited_pks=t.unvisited,
        )
        for lid, t in per_leader.items()
        if lid in users
    ]
    by_region = [
        RegionCoverage(region=Region.from_row(c), assigned=t.assigned, visited=t.visited)
        for c in children
        if (t := per_child[c["id"]]).assigned
    ]
    return VisitCoverage(
        region=Region.from_row(region),
        period_start=start,
        period_end=end,
        assigned=total.assigned,
        visited=total.visited,
        by_leader=sorted(by_leader, key=lambda c: (c.rate() or 0.0, c.leader.display_name)),
        by_region=sorted(by_region, key=lambda c: (c.rate() or 0.0, c.region.name)),
    )


async def _users(ids: list[int]) -> list[dict[str, Any]]:
    from models.tables.org import User as UserModel

    if not ids:
        return []
    return list(await UserModel.filter(id__in=ids).values(*USER_COLUMNS))
