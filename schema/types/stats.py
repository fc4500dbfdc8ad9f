"""The supervisor view's figures (docs/design.md section 8) as GraphQL types. Every
description states the definition the number is computed with, so a reader can check it."""

from __future__ import annotations

import datetime

import strawberry

from models.ops import stats_demands as sd
from models.ops.stats_scope import StatsFilter as StatsFilterValue
from models.rules.demand_states import DemandSource, DemandState
from schema.relay import pk_of


@strawberry.input(
    description="What the figures cover: whole Asia/Shanghai days `from`..`to` (both included) "
    "and a scope. Without `regionId`, every region the asker may see; a region outside them is "
    "refused with REGION_OUT_OF_SCOPE."
)
class StatsFilter:
    from_: datetime.date = strawberry.field(name="from", description="First day of the period.")
    to: datetime.date = strawberry.field(description="Last day of the period (included).")
    region_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="This region and the regions below it (the demand's region; for "
        "agency-request figures the service point's region).",
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The lead department (主办) the demand is dispatched to (for agency-request "
        "figures: the procedure's responsible department).",
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Demand figures only: agency-request figures ignore it."
    )
    source: DemandSource | None = strawberry.field(
        default=None, description="Demand figures only: agency-request figures ignore it."
    )
    service_point_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="For agency-request figures only: demands have no service point, so "
        "demand figures ignore it.",
    )

    def to_value(self) -> StatsFilterValue:
        return StatsFilterValue(
            start=self.from_,
            end=self.to,
            region_id=pk_of(self.region_id, "Region"),
            department_id=pk_of(self.department_id, "Department"),
            category_id=pk_of(self.category_id, "DemandCategory"),
            source=self.source,
            service_point_id=pk_of(self.service_point_id, "ServicePoint"),
        )


@strawberry.type(
    description="A rate with its parts, so a person can check it: ratio = numerator ÷ "
    "denominator, rounded to 4 decimals; null when the denominator is 0."
)
class Rate:
    numerator: int
    denominator: int
    ratio: float | None

    @classmethod
    def of(cls, r: sd.Rate) -> Rate:
        return cls(numerator=r.numerator, denominator=r.denominator, ratio=r.ratio)


@strawberry.type(description="How many demands of the cohort are in a state now.")
class StateCount:
    state: DemandState
    count: int


@strawberry.type(description="Demands of the cohort whose escalation (督办) level is now `level`.")
class EscalationCount:
    level: int
    count: int


@strawberry.type(
    description="Response time (dispatch → claim, 签收) of the demands dispatched and claimed. "
    "Working days: working days after the dispatch day up to and including the claim day, in "
    "the demand's region calendar (claimed on the dispatch day: 0). Hours: natural time."
)
class ResponseTimes:
    count: int = strawberry.field(description="Demands dispatched and claimed.")
    mean_working_days: float | None
    mean_hours: float | None


@strawberry.type(
    description="Handling time (dispatch → reply, suspended time excluded) of the demands "
    "dispatched and replied, to their latest reply: in working days (working days after the "
    "dispatch day up to and including the reply day, minus the suspended working days) and in "
    "natural hours (reply minus dispatch minus the time suspended). Median and p90 interpolate "
    "between neighbours like percentile_cont. Rounded to 2 decimals."
)
class HandlingTimes:
    count: int = strawberry.field(description="Demands dispatched and replied.")
    mean_working_days: float | None
    median_working_days: float | None
    p90_working_days: float | None
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None


@strawberry.type(
    description="The supervisor's demand figures (docs/design.md section 8) for a period and "
    "a scope, computed in the database. Unless a field says otherwise, they cover the demands "
    "of the scope SUBMITTED in the period (the cohort), in their state today."
)
class DemandStats:
    from_: datetime.date = strawberry.field(name="from")
    to: datetime.date
    today: datetime.date = strawberry.field(
        description="The Asia/Shanghai date the 'now' figures are taken on."
    )
    submitted: int = strawberry.field(description="Demands submitted in the period.")
    by_state: list[StateCount] = strawberry.field(
        description="Counts by state: every state but DRAFT (never submitted), zeros included."
    )
    open_now: int = strawberry.field(
        description="Open now: not closed, rejected, withdrawn or merged."
    )
    overdue_now: int = strawberry.field(
        description="Overdue now: open and past its effective deadline (extensions added, "
        "suspended days excluded): with the department (DISPATCHED, IN_PROGRESS, "
        "PENDING_APPROVAL) and today after the effective deadline. A suspended demand is not "
        "overdue (its clock is stopped)."
    )
    warning_now: int = strawberry.field(
        description="In warning (预警) now: with the department, its warning date reached and "
        "the effective deadline not yet passed (warning date <= today <= effective deadline)."
    )
    response_limit_days: int = strawberry.field(
        description="The region policy's response limit used for the response rate: the "
        "filter's region's, else the asker's top region's (default policy for a system-wide "
        "admin)."
    )
    response: ResponseTimes = strawberry.field(description="Response time (dispatch → claim).")
    response_rate: Rate = strawberry.field(
        description="Response rate within the region's limit: claimed within "
        "`responseLimitDays` working days of dispatch ÷ demands dispatched (a dispatched one "
        "not claimed yet counts as not responded)."
    )
    handling: HandlingTimes = strawberry.field(
        description="Handling time (dispatch → reply, suspended time excluded): mean, median, "
        "p90, in working days and in natural hours."
    )
    on_time: Rate = strawberry.field(
        description="On-time rate (按时办结率) = replied on or before the effective deadline ÷ "
        "demands whose deadline fell in the period; ones still open past it count as late. "
        "This cohort is by effective deadline in the period, not by submission. Late: still "
        "with the department (DISPATCHED, IN_PROGRESS, PENDING_APPROVAL) past the deadline. "
        "Left out as undecided: ones with the department whose deadline has not passed yet "
        "and suspended ones (their deadline moves). A reply sent back or reopened by a bad "
        "rating does not count until replied again; the reply's Asia/Shanghai day is compared."
    )
    closure: Rate = strawberry.field(
        description="Closure rate = closed ÷ accepted (rejected, withdrawn and merged left out)."
    )
    return_visit: Rate = strawberry.field(
        description="Return-visit rate = visited or rated ÷ replied: a return visit recorded "
        "(reached or not) or a rating, over demands replied."
    )
    satisfaction: Rate = strawberry.field(
        description="Satisfaction rate (满意率) = (very satisfied + satisfied + basic) ÷ rated, "
        "by each demand's latest rating (appealed ratings included: they leave rankings only)."
    )
    rated_share: Rate = strawberry.field(
        description="Rated share shown beside the satisfaction rate = rated ÷ replied (the "
        "unrated share is 1 minus it)."
    )
    bad_rating: Rate = strawberry.field(
        description="Bad-rating rate (差评率) = latest rating dissatisfied or very dissatisfied "
        "÷ rated."
    )
    rectification_on_time: Rate = strawberry.field(
        description="Rectification on-time rate = rectified on or before the rectification "
        "deadline ÷ rectifications done or past their deadline (waived ones left out)."
    )
    reopen: Rate = strawberry.field(
        description="Reopen rate = replied demands reopened by a bad rating (重办) ÷ replied."
    )
    return_: Rate = strawberry.field(
        name="return",
        description="Return rate (退单率) = demands returned by a department at least once ÷ "
        "demands ever dispatched.",
    )
    extension: Rate = strawberry.field(
        description="Extension rate (延期率) = demands with an approved extension ÷ demands ever "
        "dispatched."
    )
    escalated: int = strawberry.field(description="Demands escalated (督办) at any level.")
    escalations_by_level: list[EscalationCount] = strawberry.field(
        description="Escalations by level: demands whose escalation level is now exactly 1, 2 "
        "and 3 (the highest level reached; they add up to `escalated`)."
    )

    @classmethod
    def of(cls, s: sd.DemandStats) -> DemandStats:
        return cls(
            from_=s.start,
            to=s.end,
            today=s.today,
            submitted=s.submitted,
            by_state=[StateCount(state=st, count=n) for st, n in s.by_state],
            open_now=s.open_now,
            overdue_now=s.overdue_now,
            warning_now=s.warning_now,
            response_limit_days=s.response_limit_days,
            response=ResponseTimes(
                count=s.response.count,
                mean_working_days=s.response.mean_working_days,
                mean_hours=s.response.mean_hours,
            ),
            response_rate=Rate.of(s.response_rate),
            handling=HandlingTimes(
                count=s.handling.count,
                mean_working_days=s.handling.mean_working_days,
                median_working_days=s.handling.median_working_days,
                p90_working_days=s.handling.p90_working_days,
                mean_hours=s.handling.mean_hours,
                median_hours=s.handling.median_hours,
                p90_hours=s.handling.p90_hours,
            ),
            on_time=Rate.of(s.on_time),
            closure=Rate.of(s.closure),
            return_visit=Rate.of(s.return_visit),
            satisfaction=Rate.of(s.satisfaction),
            rated_share=Rate.of(s.rated_share),
            bad_rating=Rate.of(s.bad_rating),
            rectification_on_time=Rate.of(s.rectification_on_time),
            reopen=Rate.of(s.reopen),
            return_=Rate.of(s.return_),
            extension=Rate.of(s.extension),
            escalated=s.escalated,
            escalations_by_level=[
                EscalationCount(level=k, count=n) for k, n in s.escalations_by_level
            ],
        )
