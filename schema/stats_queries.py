"""The supervisor view's queries: figures computed in the database for a period and a scope."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.ops.stats_agency import agency_stats
from models.ops.stats_demands import demand_stats
from models.ops.stats_rankings import department_ranking, region_ranking
from models.ops.stats_trend import TrendInterval, demand_trend
from models.ops.stats_visits import visit_stats
from schema.guards import actor_of, guarded
from schema.types.stats import DemandStats, StatsFilter
from schema.types.stats_agency import AgencyStats
from schema.types.stats_groups import RankedGroup
from schema.types.stats_visits import VisitStats

_REFUSALS = (
    "Refusals: FORBIDDEN for roles other than supervisors, dispatchers and administrators, "
    "REGION_OUT_OF_SCOPE for a region outside the asker's, PERIOD_INVALID when `to` is before "
    "`from`, PERIOD_TOO_LONG."
)


@strawberry.type
class StatsQueries:
    @strawberry.field(
        description="The demand figures of docs/design.md section 8 for a period and a scope "
        "(supervisors, dispatchers and administrators, over their own regions). Refusals: "
        "FORBIDDEN for other roles, REGION_OUT_OF_SCOPE for a region outside the asker's, "
        "PERIOD_INVALID when `to` is before `from`, PERIOD_TOO_LONG."
    )
    async def demand_stats(self, info: Info, filter: StatsFilter) -> DemandStats:
        actor = actor_of(info)

        async def run() -> DemandStats:
            return DemandStats.of(await demand_stats(actor, filter.to_value()))

        return await guarded(info, run)

    @strawberry.field(
        description="Lead departments (主办) of the scope's demands ranked by the composite score "
        "of the region policy's weights, best first, each with its demand figures (demands not "
        "dispatched yet left out). " + _REFUSALS
    )
    async def department_ranking(self, info: Info, filter: StatsFilter) -> list[RankedGroup]:
        actor = actor_of(info)

        async def run() -> list[RankedGroup]:
            return [RankedGroup.of(g) for g in await department_ranking(actor, filter.to_value())]

        return await guarded(info, run)

    @strawberry.field(
        description="The regions directly below the scope's region (the filter's region, else "
        "the asker's region; several top regions: those) ranked like `departmentRanking`; a "
        "demand counts for the region below the scope's that its region lies in, and the "
        "scope's own region stands for demands made at its own level. " + _REFUSALS
    )
    async def region_ranking(self, info: Info, filter: StatsFilter) -> list[RankedGroup]:
        actor = actor_of(info)

        async def run() -> list[RankedGroup]:
            return [RankedGroup.of(g) for g in await region_ranking(actor, filter.to_value())]

        return await guarded(info, run)

    @strawberry.field(
        description="`demandStats` per DAY, WEEK (Monday to Sunday) or MONTH of the period: each "
        "bucket's figures cover the demands submitted in it (the on-time rate: whose effective "
        "deadline fell in it); every bucket of the period is listed, zeros included, the first "
        "and last cut to the period (`from`/`to` of each). At most 400 buckets "
        "(TOO_MANY_BUCKETS). " + _REFUSALS
    )
    async def demand_trend(
        self, info: Info, filter: StatsFilter, interval: TrendInterval
    ) -> list[DemandStats]:
        actor = actor_of(info)

        async def run() -> list[DemandStats]:
            trend = await demand_trend(actor, filter.to_value(), interval)
            return [DemandStats.of(s) for s in trend]

        return await guarded(info, run)

    @strawberry.field(
        description="Agency-request figures (帮办代办) per service point and in total: "
        "submitted in the period by state; done, rejected and cancelled in the period; the "
        "on-time rate over requests whose effective deadline fell in it; mean handling time "
        "(paused time excluded) and satisfaction of the done ones. The scope is the service "
        "point's region (`regionId`), `servicePointId`, and the procedure's responsible "
        "department (`departmentId`); `categoryId` and `source` concern demands and are "
        "ignored. " + _REFUSALS
    )
    async def agency_stats(self, info: Info, filter: StatsFilter) -> AgencyStats:
        actor = actor_of(info)

        async def run() -> AgencyStats:
            return AgencyStats.of(await agency_stats(actor, filter.to_value()))

        return await guarded(info, run)

    @strawberry.field(
        description="The visit figures of docs/design.md section 8 for a period and a region "
        "scope: 包联 coverage in total, by leader and by region, visits against the region policy's "
        "cadence, trusted-location and photo shares, demands per visit. Coverage and cadence "
        "follow the enterprise's region, the other figures the visit's region; departmentId, "
        "categoryId, source and servicePointId do not apply to visits and are ignored. " + _REFUSALS
    )
    async def visit_stats(self, info: Info, filter: StatsFilter) -> VisitStats:
        actor = actor_of(info)

        async def run() -> VisitStats:
            return VisitStats.of(await visit_stats(actor, filter.to_value()))

        return await guarded(info, run)
