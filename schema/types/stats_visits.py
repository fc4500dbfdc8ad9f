"""The supervisor's visit figures (docs/design.md section 8) as GraphQL types. Every
description states the definition the number is computed with (models.ops.stats_visits), so a
reader can check it."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from models.errors import DomainError
from models.ops import stats_visits as sv
from models.rules.visit_states import PeriodKind
from schema.errors import public
from schema.relay import MAX_PAGE_SIZE, page_size
from schema.types.org import Region, load_region
from schema.types.stats import Rate
from schema.types.users import User

_VISITED = (
    "visited: an assigned leader took part (lead or accompanying) in a COMPLETED visit of the "
    "enterprise in the period with a TRUSTED check-in (DOUBTFUL and UNVERIFIED ones — video, "
    "phone, no check-in, too far, mock location — are left out of coverage)"
)


@strawberry.type(
    description="One assigned leader or cadre (包联领导): their enterprises of the scope with an "
    "assignment active in the period, and their own visits of those."
)
class LeaderVisitStats:
    leader_pk: strawberry.Private[int]
    name: str = strawberry.field(description="The leader's display name.")
    assigned: int = strawberry.field(
        description="Enterprises of the scope assigned to this leader at some time in the period."
    )
    visited: int = strawberry.field(
        description="Of those, visited by this leader in the period on site with a TRUSTED "
        "check-in."
    )
    coverage: Rate = strawberry.field(description="Coverage (包联覆盖率) = visited ÷ assigned.")
    expected_visits: int = strawberry.field(
        description="Visits the cadence asks of this leader: for each assigned enterprise, the "
        "number of cadence periods that the assignment's active days within the period reach "
        "into (one visit per period)."
    )
    visits: int = strawberry.field(
        description="Actual: COMPLETED visits in the period of their assigned enterprises that "
        "this leader took part in (lead or accompanying), whatever the check-in."
    )
    cadence_kept: Rate = strawberry.field(
        description="Cadence kept = (assigned enterprise, cadence period) pairs with a visit by "
        "this leader counting for coverage (TRUSTED check-in) in that period ÷ expectedVisits."
    )

    @strawberry.field
    async def leader(self, info: Info) -> User:
        row = await info.context.loaders.user.load(self.leader_pk)
        return User.from_row(row)

    @classmethod
    def of(cls, x: sv.LeaderVisits) -> LeaderVisitStats:
        return cls(
            leader_pk=x.leader_id,
            name=x.name,
            assigned=x.coverage.denominator,
            visited=x.coverage.numerator,
            coverage=Rate.of(x.coverage),
            expected_visits=x.expected_visits,
            visits=x.visits,
            cadence_kept=Rate.of(x.cadence_kept),
        )


@strawberry.type(
    description="Coverage of one region group: the assigned enterprises whose region lies in it "
    "(its subtree; the scope's own region: only enterprises at its own level)."
)
class RegionVisitStats:
    region_pk: strawberry.Private[int]
    name: str
    assigned: int = strawberry.field(
        description="Enterprises of the group with an assignment active at some time in the period."
    )
    visited: int = strawberry.field(
        description="Of those, visited by one of their assigned leaders (as in `coverage`)."
    )
    coverage: Rate = strawberry.field(description="Coverage (包联覆盖率) = visited ÷ assigned.")

    @strawberry.field
    async def region(self, info: Info) -> Region:
        region = await load_region(info, self.region_pk)
        assert region is not None
        return region

    @classmethod
    def of(cls, x: sv.RegionCoverage) -> RegionVisitStats:
        return cls(
            region_pk=x.region_id,
            name=x.name,
            assigned=x.coverage.denominator,
            visited=x.coverage.numerator,
            coverage=Rate.of(x.coverage),
        )


@strawberry.type(
    description="The supervisor's visit figures (docs/design.md section 8) for a period and "
    "a region scope, computed in the database. A visit falls in the period by the "
    "Asia/Shanghai day it took place (its visit time); only COMPLETED visits count. "
    "Assignments (包联) count when "
    "active at some time in the period (one per leader and enterprise). Coverage and cadence "
    "are scoped by the enterprise's region, the visit figures (completed, trustedLocation, "
    "withPhoto, demandsPerVisit) by the visit's region. The filter's departmentId, categoryId, "
    "source and servicePointId do not apply to visits and are ignored."
)
class VisitStats:
    from_: datetime.date = strawberry.field(name="from")
    to: datetime.date
    cadence: PeriodKind = strawberry.field(
        description="The region policy's visit cadence (each assigned enterprise once per "
        "MONTH, QUARTER, HALF_YEAR or YEAR): the filter's region's, else the asker's top "
        "region's (the default policy for a system-wide admin)."
    )
    cadence_periods: int = strawberry.field(
        description="Calendar periods of the cadence the whole period reaches into (September: "
        "1 quarter; 15 January to 15 April: 2 quarters): what one assignment active all period "
        "owes."
    )
    coverage: Rate = strawberry.field(
        description="Coverage (包联覆盖率) = assigned enterprises visited at least once in the "
        "period ÷ assigned enterprises (distinct enterprises of the scope with an assignment "
        f"active in the period); {_VISITED}. A visit by someone not assigned does not count."
    )
    leaders: strawberry.Private[list[sv.LeaderVisits]]

    @strawberry.field(
        description="Assigned leaders of the scope: how many rows `byLeader` has in all."
    )
    def leader_count(self) -> int:
        return len(self.leaders)

    @strawberry.field(
        description="Coverage and cadence per assigned leader, over their enterprises of the "
        "scope; lowest coverage first, then by name. A page of them: `first` (0 to 100, "
        "default 100) after skipping `offset`; `leaderCount` says how many there are (a "
        "province has thousands)."
    )
    def by_leader(
        self, info: Info, first: int = MAX_PAGE_SIZE, offset: int = 0
    ) -> list[LeaderVisitStats]:
        try:
            size = page_size(first)
            if offset < 0:
                raise DomainError("INVALID_OFFSET", "offset")
        except DomainError as err:
            raise public(err, info.context.locale) from None
        return [LeaderVisitStats.of(x) for x in self.leaders[offset : offset + size]]

    by_region: list[RegionVisitStats] = strawberry.field(
        description="Coverage per region, grouped like `regionRanking`: the scope's region (the "
        "filter's, else the asker's; system-wide, the top of the tree) split into its direct "
        "children, each with its subtree, plus the region itself for enterprises at its own "
        "level (县本级; all of them when it has no children); when the asker has several top "
        "regions, per top region. An enterprise counts for the group its region lies in, "
        "visited as in `coverage` (so the groups add up to it). Only groups with assigned "
        "enterprises; lowest coverage first, then by name."
    )
    expected_visits: int = strawberry.field(
        description="Visits the cadence asks for: the sum of every leader's expectedVisits (each "
        "assignment owes one visit per cadence period its active days within the period reach "
        "into)."
    )
    visits: int = strawberry.field(
        description="Actual: the sum of every leader's visits (completed visits of their "
        "assigned enterprises they took part in; a visit with two assigned leaders counts for "
        "each)."
    )
    cadence_kept: Rate = strawberry.field(
        description="Cadence kept = the sum of every leader's kept cadence periods ÷ "
        "expectedVisits."
    )
    completed: int = strawberry.field(
        description="COMPLETED visits of the scope (by the visit's region) in the period, by "
        "anyone."
    )
    trusted_location: Rate = strawberry.field(
        description="Trusted-location share = completed visits whose check-in was judged "
        "TRUSTED (on site, within the policy's radius plus the reported accuracy, no mock "
        "location) ÷ completed."
    )
    with_photo: Rate = strawberry.field(
        description="Photo share = completed visits with at least one photo attached ÷ completed."
    )
    demands_per_visit: Rate = strawberry.field(
        description="Demands per visit = demands raised during those visits (linked to the "
        "visit; drafts left out; whatever their state now) ÷ completed. The ratio may exceed 1."
    )

    @classmethod
    def of(cls, s: sv.VisitStats) -> VisitStats:
        return cls(
            from_=s.start,
            to=s.end,
            cadence=s.cadence,
            cadence_periods=s.cadence_periods,
            coverage=Rate.of(s.coverage),
            leaders=s.by_leader,
            by_region=[RegionVisitStats.of(x) for x in s.by_region],
            expected_visits=s.expected_visits,
            visits=s.visits,
            cadence_kept=Rate.of(s.cadence_kept),
            completed=s.completed,
            trusted_location=Rate.of(s.trusted_location),
            with_photo=Rate.of(s.with_photo),
            demands_per_visit=Rate.of(s.demands_per_visit),
        )
