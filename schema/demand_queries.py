"""Demand queries: the list, one demand with its timeline, categories and region policy."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.errors import DomainError
from models.ops.policy import CATEGORY_COLUMNS, categories_for_region_q, load_policy
from models.ops.region_tree import region_chain
from models.tables.policy import DemandCategory as CategoryModel
from schema.demand_reads import DemandFilter, DemandOrder, get_demand, list_demands
from schema.guards import actor_of, guarded
from schema.lookahead import asked_for, asked_under
from schema.relay import Connection, Page, pk_of
from schema.types.demands import Demand, DemandCategory
from schema.types.policy import RegionPolicy


@strawberry.type
class DemandQueries:
    @strawberry.field(
        description="Demands the caller may see: regional staff their regions', handlers their "
        "department's, enterprise contacts their enterprises'. Pages both ways: `first`/`after` "
        "down the list, `last`/`before` up from the top row shown."
    )
    async def demands(
        self,
        info: Info,
        filter: DemandFilter | None = None,
        order_by: DemandOrder = DemandOrder.NEWEST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Demand]:
        actor = actor_of(info)
        fields = asked_under(info, ("edges", "node"))
        page = Page(first, after, last, before)
        return await guarded(info, lambda: list_demands(actor, filter, order_by, page, fields))

    @strawberry.field(description="One demand, or null when it does not exist or is not yours.")
    async def demand(self, info: Info, id: strawberry.ID) -> Demand | None:
        actor = actor_of(info)
        try:
            pk = pk_of(id, "Demand")
        except DomainError:
            return None
        assert pk is not None
        lists = asked_for(info, ("timeline", "attachments"))
        return await guarded(
            info,
            lambda: get_demand(actor, pk, "timeline" in lists, "attachments" in lists),
        )

    @strawberry.field(
        description="Active categories offered in a region (all regions: nationwide)."
    )
    async def demand_categories(
        self, info: Info, region_id: strawberry.ID | None = None
    ) -> list[DemandCategory]:
        actor_of(info)

        async def run() -> list[DemandCategory]:
            chain = await region_chain(pk_of(region_id, "Region"))
            rows = (
                await CategoryModel.filter(categories_for_region_q(chain), is_active=True)
                .order_by("sort_order", "id")
                .values(*CATEGORY_COLUMNS)
            )
            return [DemandCategory.from_row(r) for r in rows]

        return await guarded(info, run)

    @strawberry.field(description="The effective policy of a region (inherited down the tree).")
    async def region_policy(self, info: Info, region_id: strawberry.ID) -> RegionPolicy:
        actor_of(info)

        async def run() -> RegionPolicy:
            pk = pk_of(region_id, "Region")
            assert pk is not None
            if not await region_chain(pk):
                raise DomainError("NOT_FOUND", "regionId")
            return RegionPolicy.of(await load_policy(pk))

        return await guarded(info, run)
