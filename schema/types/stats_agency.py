"""The supervisor's agency-request figures (帮办代办) as GraphQL types: per service point and in
total. Every description states the definition the number is computed with
(models.ops.stats_agency)."""

from __future__ import annotations

import datetime

import strawberry

from models.ops import stats_agency as sa
from models.rules.agency_states import AgencyState
from schema.relay import to_global_id
from schema.types import agency as _agency_types  # noqa: F401  (registers the AgencyState enum)
from schema.types.stats import Rate


@strawberry.type(description="Agency requests of the cohort in a state now.")
class AgencyStateCount:
    state: AgencyState
    count: int


@strawberry.type(
    description="Handling time (受理 → 办结, paused time excluded) of the requests done in the "
    "period. Working days: the working days after the acceptance day up to and including the "
    "completion day, in the request's region calendar, minus the working days paused for "
    "materials (补正). Hours: natural time from acceptance to completion minus the time paused "
    "(each pause from the materials request to the enterprise's supply, from the timeline). "
    "Rounded to 2 decimals."
)
class AgencyHandlingTimes:
    count: int = strawberry.field(description="Requests done in the period.")
    mean_working_days: float | None
    mean_hours: float | None


@strawberry.type(
    description="Agency-request figures (docs/design.md section 8) of a service point or of "
    "all of the scope's, computed in the database."
)
class AgencyFigures:
    submitted: int = strawberry.field(description="Requests submitted in the period.")
    by_state: list[AgencyStateCount] = strawberry.field(
        description="The requests submitted in the period by their state now, every state "
        "listed, zeros included."
    )
    done: int = strawberry.field(
        description="Done (办结): requests completed in the period (completion time in it), "
        "whenever submitted."
    )
    rejected: int = strawberry.field(description="Requests rejected (不予受理) in the period.")
    cancelled: int = strawberry.field(
        description="Requests cancelled by the enterprise in the period."
    )
    on_time: Rate = strawberry.field(
        description="On-time rate = completed on or before the effective deadline (the "
        "promised working days from acceptance, paused working days added) ÷ requests whose "
        "effective deadline fell in the period; ones still running (ACCEPTED, IN_HANDLING) past "
        "it count as late. Left out as undecided: running ones before their deadline and ones "
        "waiting for materials (补正, their deadline moves); rejected and cancelled ones. The "
        "completion's Asia/Shanghai day is compared."
    )
    handling: AgencyHandlingTimes = strawberry.field(
        description="Mean handling time of the requests done in the period (paused time "
        "excluded), in working days and natural hours."
    )
    satisfaction: Rate = strawberry.field(
        description="Satisfaction rate (满意率) = done requests rated very satisfied, satisfied "
        "or basic ÷ done requests rated."
    )
    rated_share: Rate = strawberry.field(
        description="Rated share shown beside the satisfaction rate = done requests rated ÷ done."
    )
    bad_rating: Rate = strawberry.field(
        description="Bad-rating rate (差评率) = done requests rated dissatisfied or very "
        "dissatisfied ÷ done requests rated."
    )
    rectification_on_time: Rate = strawberry.field(
        description="Rectification on-time rate = rectifications of done requests recorded on or "
        "before their deadline ÷ those recorded or past their deadline (waived ones left out)."
    )

    @staticmethod
    def values(f: sa.AgencyFigures) -> dict[str, object]:
        return {
            "submitted": f.submitted,
            "by_state": [AgencyStateCount(state=s, count=n) for s, n in f.by_state],
            "done": f.done,
            "rejected": f.rejected,
            "cancelled": f.cancelled,
            "on_time": Rate.of(f.on_time),
            "handling": AgencyHandlingTimes(
                count=f.handling.count,
                mean_working_days=f.handling.mean_working_days,
                mean_hours=f.handling.mean_hours,
            ),
            "satisfaction": Rate.of(f.satisfaction),
            "rated_share": Rate.of(f.rated_share),
            "bad_rating": Rate.of(f.bad_rating),
            "rectification_on_time": Rate.of(f.rectification_on_time),
        }

    @classmethod
    def of(cls, f: sa.AgencyFigures) -> AgencyFigures:
        return cls(**cls.values(f))  # type: ignore[arg-type]


@strawberry.type(
    description="One service point's agency-request figures, with the point's name and its "
    "region (now)."
)
class AgencyPointStats(AgencyFigures):
    service_point_id: strawberry.ID
    name: str
    region_id: strawberry.ID
    region_name: str

    @classmethod
    def of_point(cls, p: sa.AgencyPointFigures) -> AgencyPointStats:
        return cls(
            service_point_id=to_global_id("ServicePoint", p.service_point_id),
            name=p.name,
            region_id=to_global_id("Region", p.region_id),
            region_name=p.region_name,
            **AgencyFigures.values(p.figures),  # type: ignore[arg-type]
        )


@strawberry.type(
    description="The agency-request figures (帮办代办, docs/design.md section 8) for a period "
    "and a scope, per service point and in total."
)
class AgencyStats:
    from_: datetime.date = strawberry.field(name="from")
    to: datetime.date
    today: datetime.date = strawberry.field(
        description="The Asia/Shanghai date the 'now' figures are taken on."
    )
    points: list[AgencyPointStats] = strawberry.field(
        description="Every active service point of the scope (zeros included) and any inactive "
        "one with a figure, by done (descending), then name, then id."
    )
    total: AgencyFigures = strawberry.field(
        description="All the points' requests together (means over all of them)."
    )

    @classmethod
    def of(cls, s: sa.AgencyStats) -> AgencyStats:
        return cls(
            from_=s.start,
            to=s.end,
            today=s.today,
            points=[AgencyPointStats.of_point(p) for p in s.points],
            total=AgencyFigures.of(s.total),
        )
