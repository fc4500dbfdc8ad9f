"""The demand read path: one joined SQL statement of plain rows per page, plus what the page's
rows share (their regions' calendars and policies, the viewer's enterprises) loaded once.

SQL statements per request do not grow with the page size: the page (one statement, to-one
relations joined), totalCount when asked (one), region policies (one), the viewer's
enterprises when the viewer is an enterprise contact (one), calendars (cached per process),
and one batched statement per rarer relation the selection asks for (handler, files…)."""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from typing import Any

import strawberry
from tortoise.expressions import Q, Subquery

from models.access import Actor, demand_scope
from models.demands import Demand as DemandModel
from models.enterprises import EnterpriseContact
from models.ops.calendar import load_calendar
from models.ops.policy import load_policies
from models.region_tree import region_subtree
from models.rules import clock
from models.rules.clock import day_start
from models.rules.demand_states import CLOCK_STATES, DemandState
from models.rules.roles import Role
from schema.relay import Connection, paginate, pk_of
from schema.types.demands import DEMAND_ROW_COLUMNS, Demand, DemandView


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
        default=None, description="Part of the title or of the enterprise's name."
    )


async def _apply(qs: Any, actor: Actor, f: DemandFilter, today: date) -> Any:
    if f.state is not None:
        qs = qs.filter(state=f.state.value)
    if f.states:
        qs = qs.filter(state__in=[s.value for s in f.states])
    if f.department_id is not None:
        from models.demands import DemandAssist

        dept = pk_of(f.department_id, "Department")
        assisted = DemandAssist.filter(department_id=dept).values("demand_id")
        qs = qs.filter(Q(department_id=dept) | Q(id__in=Subquery(assisted)))
    if f.region_id is not None:
        qs = qs.filter(region_id__in=await region_subtree(pk_of(f.region_id, "Region")))
    if f.enterprise_id is not None:
        qs = qs.filter(enterprise_id=pk_of(f.enterprise_id, "Enterprise"))
    if f.category_id is not None:
        qs = qs.filter(category_id=pk_of(f.category_id, "DemandCategory"))
    clock_states = [s.value for s in CLOCK_STATES]
    overdue_q = Q(state__in=clock_states, effective_deadline__lt=today)
    if f.overdue is True:
        qs = qs.filter(overdue_q)
    elif f.overdue is False:
        qs = qs.exclude(overdue_q)
    warning_q = Q(state__in=clock_states, warning_date__lte=today, effective_deadline__gte=today)
    if f.warning is True:
        qs = qs.filter(warning_q)
    elif f.warning is False:
        qs = qs.exclude(warning_q)
    if f.assigned_to_me:
        mine = Q(handler_id=actor.user_id)
        depts = actor.department_ids()
        if depts:
            mine |= Q(department_id__in=depts, state=DemandState.DISPATCHED.value)
        qs = qs.filter(mine)
    if f.submitted_from is not None:
        qs = qs.filter(submitted_at__gte=day_start(f.submitted_from))
    if f.submitted_to is not None:
        qs = qs.filter(submitted_at__lt=day_start(f.submitted_to + timedelta(days=1)))
    if f.search and f.search.strip():
        term = f.search.strip()
        qs = qs.filter(Q(title__icontains=term) | Q(enterprise__name__icontains=term))
    return qs


async def prepare_view(view: DemandView, rows: list[dict[str, Any]]) -> None:
    """Load what the page's rows share: their regions' policies and calendars."""
    paths = {r["region_id"]: r["region__path"] for r in rows}
    missing = {rid: p for rid, p in paths.items() if rid not in view.policies}
    if missing:
        view.policies.update(await load_policies(missing))
    for rid in paths:
        if rid not in view.calendars:
            view.calendars[rid] = await load_calendar(rid)


async def new_view(actor: Actor) -> DemandView:
    contact_of: frozenset[int] = frozenset()
    if actor.has_role(Role.ENTERPRISE):
        rows = await EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id")
        contact_of = frozenset(int(r["enterprise_id"]) for r in rows)
    return DemandView(actor=actor, today=clock.today(), contact_enterprises=contact_of)


async def list_demands(
    actor: Actor,
    f: DemandFilter | None,
    order: DemandOrder,
    first: int | None,
    after: str | None,
) -> Connection[Demand]:
    view = await new_view(actor)
    qs = DemandModel.filter(demand_scope(actor, view.contact_enterprises))
    if f is not None:
        qs = await _apply(qs, actor, f, view.today)
    if order is DemandOrder.DEADLINE_SOON:
        qs = qs.filter(effective_deadline__not_isnull=True)

    return await paginate(
        qs,
        first=first,
        after=after,
        order=_ORDERS[order],
        columns=DEMAND_ROW_COLUMNS,
        build=lambda r: Demand.from_row(r, view),
        prepare=lambda rows: prepare_view(view, rows),
        cursor_types={"effective_deadline": date.fromisoformat},
    )


async def get_demand(actor: Actor, pk: int) -> Demand | None:
    view = await new_view(actor)
    scope = demand_scope(actor, view.contact_enterprises)
    rows = await DemandModel.filter(scope, id=pk).values(*DEMAND_ROW_COLUMNS)
    if not rows:
        return None
    await prepare_view(view, rows)
    return Demand.from_row(rows[0], view)
