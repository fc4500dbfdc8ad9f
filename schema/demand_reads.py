"""The demand read path: one joined SQL statement of plain rows per page, plus what the page's
rows share (their regions' calendars and policies, the viewer's enterprises) loaded once.

SQL statements per request do not grow with the page size: the page (one statement, to-one
relations joined), totalCount when asked (one), region policies (one), the viewer's
enterprises when the viewer is an enterprise contact (one), calendars (cached per process),
and one batched statement per rarer relation the selection asks for (assisting departments,
files…). The detail reads its timeline and files with its row when the selection shows them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models.access import DEMAND_REGION_ROLES, demand_scope, demand_scope_sql
from models.db.row_query import Nested, Params, RowSelect, is_postgres, row_select
from models.ops.policy import load_policies
from models.ops.region_tree import region_path
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.actor import Actor
from models.rules.clock import day_start
from models.rules.demand_states import CLOCK_STATES, DemandSource, DemandState
from models.rules.roles import Role
from models.rules.work_orders import as_number
from models.tables.demands import Attachment as AttachmentModel
from models.tables.demands import Demand as DemandModel
from models.tables.demands import DemandEvent as EventModel
from models.tables.enterprises import EnterpriseContact
from schema.loaders import TIMELINE_COLUMNS
from schema.number_search import EXACT, ExactFirst, exact_key
from schema.relay import Connection, Page, paginate_rows, pk_of
from schema.types.demands import DEMAND_ROW_COLUMNS, Demand, DemandView, list_columns
from schema.types.files import ATTACHMENT_COLUMNS


@strawberry.enum(description="A stable order for the demand list.")
class DemandOrder(Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    DEADLINE_SOON = "DEADLINE_SOON"


_ORDERS = {
    DemandOrder.NEWEST: ("-id",),
    DemandOrder.OLDEST: ("id",),
    DemandOrder.DEADLINE_SOON: ("effective_deadline", "id"),
}


@strawberry.input
class DemandFilter:
    state: DemandState | None = None
    states: list[DemandState] | None = None
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Led (主办) or assisted (协办) by this department."
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="Enterprises of this region and the regions below it."
    )
    enterprise_id: strawberry.ID | None = None
    category_id: strawberry.ID | None = None
    source: DemandSource | None = strawberry.field(
        default=None, description="Where the demand came from (as the stats filter's `source`)."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="With the department and past the effective deadline."
    )
    warning: bool | None = strawberry.field(
        default=None, description="Within the warning lead before the effective deadline."
    )
    assigned_to_me: bool = strawberry.field(
        default=False,
        description="Claimed by me, or dispatched to my department and waiting to be claimed.",
    )
    submitted_from: date | None = strawberry.field(
        default=None, description="Submitted on or after this day (Asia/Shanghai)."
    )
    submitted_to: date | None = strawberry.field(
        default=None, description="Submitted on or before this day (Asia/Shanghai)."
    )
    search: str | None = strawberry.field(
        default=None,
        description="A work-order number (工单号, exact; that demand comes first), or part of "
        "the title or of the enterprise's name.",
    )


# The list's and the detail's statement: each demand with its to-one relations joined.
SELECT = row_select(DemandModel, DEMAND_ROW_COLUMNS)
# The detail's when it shows the timeline (its events' files are taken from the demand's, see
# Demand.timeline) or the files alone: the lists under the row keys its fields read.
_TIMELINE = Nested("timeline", EventModel, "demand_id", TIMELINE_COLUMNS)
_FILES = Nested("attachments", AttachmentModel, "demand_id", ATTACHMENT_COLUMNS)
WITH_TIMELINE = row_select(DemandModel, DEMAND_ROW_COLUMNS, (_TIMELINE, _FILES))
WITH_FILES = row_select(DemandModel, DEMAND_ROW_COLUMNS, (_FILES,))
_CLOCK_STATES = tuple(s.value for s in CLOCK_STATES)


async def _conditions(
    p: Params, actor: Actor, f: DemandFilter, today: date, number: str | None = None
) -> tuple[list[str], list[str]]:
    """The filter as SQL conditions over the demand's own columns (t0): all of the first,
    and one of the second when there are any. `number`: the placeholder of the work-order
    number the search is, if it is one."""
    where = []
    branches: list[str] = []
    if f.state is not None:
        where.append(f"t0.state = {p(f.state.value)}")
    if f.states:
        where.append(f"t0.state IN ({p.many([s.value for s in f.states])})")
    if f.department_id is not None:
        dept = p(pk_of(f.department_id, "Department"))
        where.append(
            f"(t0.department_id = {dept} OR t0.id IN "  # noqa: S608 - values are parameters
            f"(SELECT demand_id FROM demand_assist WHERE department_id = {dept}))"
        )
    if f.region_id is not None:
        path = await region_path(pk_of(f.region_id, "Region"))
        where.append(
            f"t0.region_id IN (SELECT id FROM region WHERE path LIKE {p((path or '~') + '%')})"  # noqa: S608
        )
    if f.enterprise_id is not None:
        where.append(f"t0.enterprise_id = {p(pk_of(f.enterprise_id, 'Enterprise'))}")
    if f.category_id is not None:
        where.append(f"t0.category_id = {p(pk_of(f.category_id, 'DemandCategory'))}")
    if f.source is not None:
        where.append(f"t0.source = {p(f.source.value)}")
    clock = (
        f"t0.state IN ({p.many(_CLOCK_STATES)})"
        if f.overdue is not None or f.warning is not None
        else ""
    )
    if f.overdue is not None:
        overdue = f"{clock} AND t0.effective_deadline < {p.day(today)}"
        where.append(overdue if f.overdue else _not(overdue))
    if f.warning is not None:
        day = p.day(today)
        warning = f"{clock} AND t0.warning_date <= {day} AND t0.effective_deadline >= {day}"
        where.append(warning if f.warning else _not(warning))
    if f.assigned_to_me:
        # Claimed by me, or waiting in my department: two branches, each picked in the list's
        # order from its own index (handler_id, state; department_id, state, deadline).
        branches.append(f"t0.handler_id = {p(actor.user_id)}")
        depts = actor.department_ids()
        if depts:
            branches.append(
                f"t0.department_id IN ({p.many(depts)}) "
                f"AND t0.state = {p(DemandState.DISPATCHED.value)}"
            )
    if f.submitted_from is not None:
        where.append(f"t0.submitted_at >= {p.moment(day_start(f.submitted_from))}")
    if f.submitted_to is not None:
        where.append(f"t0.submitted_at < {p.moment(day_start(f.submitted_to + timedelta(days=1)))}")
    if f.search and f.search.strip():
        # A number also matches where the text names it, however it was typed.
        like = p.like(as_number(f.search) or f.search.strip())
        named = f"SELECT id FROM enterprise WHERE LOWER(name) LIKE {like}"  # noqa: S608
        exact = f"t0.number = {number} OR " if number else ""
        where.append(f"({exact}LOWER(t0.title) LIKE {like} OR t0.enterprise_id IN ({named}))")
    return where, branches


def _not(condition: str) -> str:
    # Not matching, NULLs included (NOT of an unknown comparison would drop the row).
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END) = 0"


async def prepare_view(view: DemandView, rows: list[dict[str, Any]]) -> None:
    """Load what the page's rows share: their regions' policies and calendars."""
    paths = {r["region_id"]: r["region__path"] for r in rows}
    missing = {rid: p for rid, p in paths.items() if rid not in view.policies}
    if missing:
        view.policies.update(await load_policies(missing))
    for rid in paths:
        if rid not in view.calendars:
            view.calendars[rid] = await load_calendar(rid)


async def new_view(actor: Actor, contact_of: frozenset[int] | None = None) -> DemandView:
    """`contact_of`: the actor's enterprises as a contact, when the caller knows them already
    (as many as decide the demands it reads)."""
    if contact_of is not None:
        return DemandView(actor=actor, today=clock.today(), contact_enterprises=contact_of)
    contact_of = frozenset()
    if actor.has_role(Role.ENTERPRISE):
        p = Params(is_postgres())
        rows = await _CONTACTS.fetch(f"t0.user_id = {p(actor.user_id)}", p, generic=True)
        contact_of = frozenset(int(r["enterprise_id"]) for r in rows)
    return DemandView(actor=actor, today=clock.today(), contact_enterprises=contact_of)


_CONTACTS = row_select(EnterpriseContact, ("enterprise_id",))


@lru_cache(maxsize=64)  # bounded: the column sets come from the documents clients send
def _list_select(columns: tuple[str, ...]) -> RowSelect:
    return SELECT if columns == DEMAND_ROW_COLUMNS else RowSelect(DemandModel, columns)


async def list_demands(
    actor: Actor,
    f: DemandFilter | None,
    order: DemandOrder,
    page: Page,
    fields: frozenset[str] | None = None,
) -> Connection[Demand]:
    """A page of demands; `fields`: those its nodes ask for, when known, so that the page's
    statement reads only their columns (schema.types.demands.list_columns)."""
    view = await new_view(actor)
    p = Params(is_postgres())
    where = [demand_scope_sql(actor, view.contact_enterprises, p, "t0")]
    branches: list[str] = []
    number = as_number(f.search) if f is not None and f.search else None
    placeholder = p(number) if number else None
    if f is not None:
        conditions, branches = await _conditions(p, actor, f, view.today, placeholder)
        where += conditions
    if order is DemandOrder.DEADLINE_SOON:
        where.append("t0.effective_deadline IS NOT NULL")
    select = SELECT if fields is None else _list_select(list_columns(fields))
    keys = _ORDERS[order]
    if number and placeholder:
        select, keys = ExactFirst(select, placeholder, number), (EXACT, *keys)
    return await paginate_rows(
        select,
        " AND ".join(where),
        p,
        first=page.first,
        after=page.after,
        last=page.last,
        before=page.before,
        order=keys,
        build=lambda r: Demand.from_row(r, view),
        prepare=lambda rows: prepare_view(view, rows),
        cursor_types={"effective_deadline": date.fromisoformat, EXACT: exact_key},
        branches=branches,
        generic=_keyed(actor, f),
        may_lag=actor.lists_may_lag(),
    )


# Filters whose values a plan depends on: a region's subtree, dates, text.
_VALUE_FILTERS = (
    "region_id",
    "overdue",
    "warning",
    "submitted_from",
    "submitted_to",
    "search",
)


def _keyed(actor: Actor, f: DemandFilter | None) -> bool:
    """Whether the list's statement holds keys only: the scope of someone who reads by
    department or enterprise (a handler, an enterprise's contact; not a region's staff, whose
    subtree a plan should see) and no value filter. Then a generic plan serves it as well as a
    custom one (models.db.screen): planning the handler list cost more than running it. A
    supervisor's list planned generically ran several times slower (6 ms → 48 ms)."""
    if actor.is_global(*DEMAND_REGION_ROLES) or actor.region_paths(DEMAND_REGION_ROLES):
        return False
    return f is None or all(getattr(f, name) in (None, "") for name in _VALUE_FILTERS)


async def get_demand(
    actor: Actor,
    pk: int,
    timeline: bool = False,
    files: bool = False,
    *,
    contact_of: frozenset[int] | None = None,
) -> Demand | None:
    """The demand if the actor may read it; with its timeline and files (`timeline`) or its
    files (`files`) in the same statement, for the fields that show them. `contact_of`: the
    actor's enterprises as a contact when known (see `new_view`)."""
    view = await new_view(actor, contact_of)
    p = Params(is_postgres())
    scope = demand_scope_sql(actor, view.contact_enterprises, p, "t0")
    select = WITH_TIMELINE if timeline else WITH_FILES if files else SELECT
    rows = await select.fetch(f"t0.id = {p(pk)} AND {scope}", p, generic=True)
    if not rows:
        return None
    await prepare_view(view, rows)
    return Demand.from_row(rows[0], view)


async def demands_of_visit(info: Info, visit_pk: int) -> list[Demand]:
    """The demands raised during visits, batched over the visits of the response and scoped
    like the demand list (the viewer sees only demands they may read)."""
    ctx = info.context
    loader = ctx.extras.get("demands_by_visit")
    if loader is None:
        actor = ctx.require_actor()

        async def load(visit_ids: list[int]) -> list[list[Demand]]:
            view = await new_view(actor)
            rows = (
                await DemandModel.filter(demand_scope(actor), visit_id__in=visit_ids)
                .order_by("id")
                .values(*DEMAND_ROW_COLUMNS)
            )
            await prepare_view(view, rows)
            groups: dict[int, list[Demand]] = defaultdict(list)
            for r in rows:
                groups[r["visit_id"]].append(Demand.from_row(r, view))
            return [groups.get(i, []) for i in visit_ids]

        loader = ctx.extras["demands_by_visit"] = DataLoader(load_fn=load)
    return list(await loader.load(visit_pk))
