"""Rankings and trends of the supervisor's demand figures as GraphQL types."""

from __future__ import annotations

import strawberry

from models.ops.stats_rankings import RankedGroup as RankedGroupValue
from models.ops.stats_trend import TrendInterval
from schema.relay import to_global_id
from schema.types.stats import DemandStats

strawberry.enum(TrendInterval, description="DAY, WEEK (Monday to Sunday) or MONTH buckets.")


@strawberry.type(
    description="One department or region of a ranking: its demand figures (the same "
    "definitions as `demandStats`, over its share of the scope) and its composite score. "
    "score = 100 × Σ weight × ratio ÷ Σ weight over the weighted rates with a denominator, the "
    "weights being the region policy's `rankingWeights` (onTime: on-time rate, satisfaction: "
    "satisfaction rate without the ratings an upheld appeal excluded, response: response rate, "
    "closure: closure rate); null when none has "
    "one. Ordered by score, best first, then by name; equal scores share a rank (1, 1, 3); "
    "no score, no rank."
)
class RankedGroup:
    id: strawberry.ID = strawberry.field(description="The Department's or Region's id.")
    name: str
    rank: int | None
    score: float | None
    figures: DemandStats

    @classmethod
    def of(cls, g: RankedGroupValue) -> RankedGroup:
        return cls(
            id=to_global_id(g.kind, g.id),
            name=g.name,
            rank=g.rank,
            score=g.score,
            figures=DemandStats.of(g.figures),
        )
