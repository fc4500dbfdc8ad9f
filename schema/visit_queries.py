"""Visit queries: the list, one visit, a leader's assigned enterprises, and coverage."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.errors import DomainError
from models.rules.visit_states import PeriodKind
from schema.guards import actor_of, guarded
from schema.relay import Connection, Page, id_of, pk_of
from schema.types.visits import AssignedEnterprise, Visit
from schema.visit_reads import (
    VisitCoverage,
    VisitFilter,
    VisitOrder,
    get_visit,
    list_visits,
    my_assigned_enterprises,
    visit_coverage,
)


@strawberry.type
class VisitQueries:
    @strawberry.field(
        description="Visits the caller may see: cadres, dispatchers and supervisors their "
        "regions', everyone the visits they went on or planned. Pages both ways: "
        "`first`/`after` down the list, `last`/`before` up from the top row shown."
    )
    async def visits(
        self,
        info: Info,
        filter: VisitFilter | None = None,
        order_by: VisitOrder = VisitOrder.NEWEST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Visit]:
        actor = actor_of(info)
        page = Page(first, after, last, before)
        return await guarded(info, lambda: list_visits(actor, filter, order_by, page))

    @strawberry.field(description="One visit, or null when it does not exist or is not yours.")
    async def visit(self, info: Info, id: strawberry.ID) -> Visit | None:
        actor = actor_of(info)
        try:
            pk = id_of(id, "Visit")
        except DomainError:
            return None
        return await guarded(info, lambda: get_visit(actor, pk))

    @strawberry.field(
        description="The enterprises assigned to me (包联) during the period containing `on` "
        "(default today), and whether I visited each on site with a trusted check-in."
    )
    async def my_assigned_enterprises(
        self,
        info: Info,
        period: PeriodKind = PeriodKind.QUARTER,
        on: date | None = None,
        visited: Annotated[
            bool | None, strawberry.argument(description="false: only the ones still to visit.")
        ] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AssignedEnterprise]:
        actor = actor_of(info)
        return await guarded(
            info, lambda: my_assigned_enterprises(actor, period, on, visited, first, after)
        )

    @strawberry.field(
        description="Assigned (包联) vs visited per leader and per region below `regionId`, "
        "for the period containing `on`; only trusted on-site visits count. Cadres, "
        "dispatchers, supervisors and administrators, over their own regions. Refusals: "
        "FORBIDDEN for other roles, REGION_OUT_OF_SCOPE for a region outside the asker's."
    )
    async def visit_coverage(
        self,
        info: Info,
        region_id: strawberry.ID,
        period: PeriodKind = PeriodKind.QUARTER,
        on: date | None = None,
    ) -> VisitCoverage:
        actor = actor_of(info)

        async def run() -> VisitCoverage:
            pk = pk_of(region_id, "Region")
            assert pk is not None
            return await visit_coverage(actor, period, on, pk)

        return await guarded(info, run)
