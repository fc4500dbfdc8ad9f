"""The agency request read path: one joined SQL statement of plain rows per page, plus what the
page's rows share (their regions' calendars, cached per process; the viewer's enterprises when
the viewer is an enterprise contact, one statement), and one batched statement per rarer
relation the selection asks for. Statements per request do not grow with the page size."""

from __future__ import annotations

from typing import Any

import strawberry
from tortoise.expressions import Q

from models.access import agency_scope
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.actor import Actor
from models.rules.agency_states import AGENCY_CLOCK_STATES, AgencyState
from models.rules.roles import Role
from models.rules.work_orders import as_number
from models.tables.agency import AgencyRequest as AgencyModel
from models.tables.enterprises import EnterpriseContact
from schema.number_search import EXACT, exact_first, exact_key
from schema.relay import Connection, Page, paginate, pk_of
from schema.types.agency import AGENCY_ROW_COLUMNS, AgencyRequest, AgencyView

_ORDER = ("-id",)  # newest first; ids only grow, so the keyset is stable


@strawberry.input
class AgencyRequestFilter:
    state: AgencyState | None = None
    service_point_id: strawberry.ID | None = None
    enterprise_id: strawberry.ID | None = None
    agent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Handled by this agent (帮办员)."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Accepted, the clock running, past the effective deadline."
    )
    search: str | None = strawberry.field(
        default=None,
        description="A work-order number (工单号, exact; that request comes first), or part of "
        "the procedure's or the enterprise's name or of the description.",
    )


def overdue_q(today: Any) -> Q:
    """What models.rules.agency_view.is_overdue asks, on the stored columns."""
    return Q(state__in=[s.value for s in AGENCY_CLOCK_STATES], effective_deadline__lt=today)


def _apply(qs: Any, f: AgencyRequestFilter, view: AgencyView) -> Any:
    if f.state is not None:
        qs = qs.filter(state=f.state.value)
    if f.service_point_id is not None:
        qs = qs.filter(service_point_id=pk_of(f.service_point_id, "ServicePoint"))
    if f.enterprise_id is not None:
        qs = qs.filter(enterprise_id=pk_of(f.enterprise_id, "Enterprise"))
    if f.agent_id is not None:
        qs = qs.filter(agent_id=pk_of(f.agent_id, "User"))
    if f.overdue is True:
        qs = qs.filter(overdue_q(view.today))
    elif f.overdue is False:
        qs = qs.exclude(overdue_q(view.today))
    term = (f.search or "").strip()
    if term:
        # A number also matches where the text names it, however it was typed.
        number = as_number(term)
        term = number or term
        named = (
            Q(procedure_name__icontains=term)
            | Q(enterprise__name__icontains=term)
            | Q(description__icontains=term)
        )
        qs = qs.filter(Q(number=number) | named if number else named)
    return qs


async def new_view(actor: Actor) -> AgencyView:
    contact_of: frozenset[int] = frozenset()
    if actor.has_role(Role.ENTERPRISE):
        rows = await EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id")
        contact_of = frozenset(int(r["enterprise_id"]) for r in rows)
    return AgencyView(actor=actor, today=clock.today(), contact_enterprises=contact_of)


async def prepare_view(view: AgencyView, rows: list[dict[str, Any]]) -> None:
    for region_id in {r["region_id"] for r in rows}:
        if region_id not in view.calendars:
            view.calendars[region_id] = await load_calendar(region_id)


async def list_agency_requests(
    actor: Actor,
    f: AgencyRequestFilter | None,
    page: Page,
    *,
    enterprise_id: int | None = None,
) -> Connection[AgencyRequest]:
    view = await new_view(actor)
    qs = AgencyModel.filter(agency_scope(actor))
    if enterprise_id is not None:
        qs = qs.filter(enterprise_id=enterprise_id)
    if f is not None:
        qs = _apply(qs, f, view)
    qs, order = exact_first(qs, f.search if f is not None else None, _ORDER)
    return await paginate(
        qs,
        first=page.first,
        after=page.after,
        last=page.last,
        before=page.before,
        order=order,
        columns=(*AGENCY_ROW_COLUMNS, *order[:-1]),
        build=lambda r: AgencyRequest.from_row(r, view),
        prepare=lambda rows: prepare_view(view, rows),
        cursor_types={EXACT: exact_key},
        may_lag=actor.lists_may_lag(),
    )


async def get_agency_request(actor: Actor, pk: int) -> AgencyRequest | None:
    rows = await AgencyModel.filter(agency_scope(actor), id=pk).values(*AGENCY_ROW_COLUMNS)
    if not rows:
        return None
    view = await new_view(actor)
    await prepare_view(view, rows)
    return AgencyRequest.from_row(rows[0], view)
