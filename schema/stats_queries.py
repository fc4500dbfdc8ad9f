"""The supervisor view's queries: figures computed in the database for a period and a scope."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.ops.stats_demands import demand_stats
from schema.guards import actor_of, guarded
from schema.types.stats import DemandStats, StatsFilter


@strawberry.type
class StatsQueries:
    @strawberry.field(
        description="The demand figures of DESIGN section 5 for a period and a scope "
        "(supervisors, dispatchers and administrators, over their own regions). Refusals: "
        "FORBIDDEN for other roles, REGION_OUT_OF_SCOPE for a region outside the asker's, "
        "PERIOD_INVALID when `to` is before `from`, PERIOD_TOO_LONG."
    )
    async def demand_stats(self, info: Info, filter: StatsFilter) -> DemandStats:
        actor = actor_of(info)

        async def run() -> DemandStats:
            return DemandStats.of(await demand_stats(actor, filter.to_value()))

        return await guarded(info, run)
