"""The supervisor's demand figures (docs/design.md section 8.2), computed in the database: two SQL
statements whatever the number of demands (models.ops.stats_demand_sql), never a demand row
loaded into Python; the same figures per group (department, region, period bucket) from the
same two statements grouped.

`service_point_id` of the filter concerns agency requests only: demands have no service point,
so it is accepted and ignored here. Means and percentiles are rounded to 2 decimals, ratios to
4, the same on both databases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.ops.policy import load_policy
from models.ops.region_tree import chain_of_path
from models.ops.stats_demand_sql import (
    COUNTED_STATES,
    ESCALATION_LEVELS,
    WHOLE,
    Grouping,
    cohort_statement,
    on_time_statement,
    percentile_statement,
)
from models.ops.stats_scope import (
    Sql,
    StatsFilter,
    StatsScope,
    is_postgres,
    side_by_side,
    stats_scope,
)
from models.ops.work_day_index import ensure_work_day_index
from models.rules.actor import Actor
from models.rules.clock import today as today_in_shanghai
from models.rules.demand_states import DemandState
from models.rules.policy import Policy


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def ratio(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    count: int  # dispatched and claimed
    mean_working_days: float | None
    mean_hours: float | None


@dataclass(frozen=True, slots=True)
class HandlingTimes:
    count: int  # dispatched and replied
    mean_working_days: float | None
    median_working_days: float | None
    p90_working_days: float | None
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True, slots=True)
class DemandStats:
    start: date
    end: date
    today: date
    submitted: int
    by_state: list[tuple[DemandState, int]]
    open_now: int
    overdue_now: int
    warning_now: int
    response_limit_days: int
    response: ResponseTimes
    response_rate: Rate
    handling: HandlingTimes
    on_time: Rate
    closure: Rate
    return_visit: Rate
    satisfaction: Rate
    # The satisfaction rate the rankings score: without the ratings an upheld appeal excluded.
    ranked_satisfaction: Rate
    rated_share: Rate
    bad_rating: Rate
    rectification_on_time: Rate
    reopen: Rate
    return_: Rate
    extension: Rate
    escalated: int
    escalations_by_level: list[tuple[int, int]]


# --------------------------------------------------------------------------- the figures


async def policy_of_scope(scope: StatsScope) -> Policy:
    """One policy for the whole scope: the filter's region's, else the asker's top region's
    (the outermost of their regions, the smallest id among equals), else the defaults."""
    if scope.filter.region_id is not None:
        return await load_policy(scope.filter.region_id)
    if scope.region_paths:
        chains = sorted((chain_of_path(p) for p in scope.region_paths), key=lambda c: (len(c), c))
        return await load_policy(chains[0][-1])
    return Policy()


def _int(v: Any) -> int:
    return int(v or 0)


def _num(v: Any) -> float | None:
    return None if v is None else round(float(v), 2)


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


async def grouped_demand_stats(
    scope: StatsScope,
    policy: Policy,
    grouping: Grouping,
    keys: Iterable[Any] | None = None,
    key_of: Callable[[Any], Any] = lambda g: g,
) -> dict[Any, DemandStats]:
    """The figures of each group of the scope, keyed by the group's value as the database
    returns it passed through `key_of`: the groups having a submitted demand or a deadline in
    the period, or exactly `keys` when given (zeros for a key without demands)."""
    await ensure_work_day_index()
    today = today_in_shanghai()
    limit = policy.response_limit_days

    async def run(build: Callable[[Sql], str]) -> dict[Any, dict[str, Any]]:
        sql = Sql()
        statement = build(sql)
        return {key_of(r["g"]): r for r in await sql.fetch(statement)}

    statements = [
        lambda sql: cohort_statement(sql, scope, today, limit, grouping),
        lambda sql: on_time_statement(sql, scope, today, grouping),
    ]
    if is_postgres():
        statements.append(lambda sql: percentile_statement(sql, scope, grouping))
    rows, on_time, *pct = await side_by_side(*(run(b) for b in statements))
    for g, r in (pct[0] if pct else {}).items():
        rows.setdefault(g, {}).update(r)
    wanted = list(keys) if keys is not None else list({*rows, *on_time})
    return {g: _figures(scope, today, limit, rows.get(g, {}), on_time.get(g, {})) for g in wanted}


async def demand_stats(actor: Actor | None, flt: StatsFilter) -> DemandStats:
    scope = await stats_scope(actor, flt)
    policy = await policy_of_scope(scope)
    return (await grouped_demand_stats(scope, policy, WHOLE, keys=[0]))[0]


def _figures(
    scope: StatsScope, today: date, limit: int, row: dict[str, Any], ot: dict[str, Any]
) -> DemandStats:
    """One group's figures from its rows of the two statements (missing: no demands)."""
    flt = scope.filter
    counts = {k: v for k, v in row.items() if k != "g" and not k.startswith(("resp_", "hand_"))}
    n = defaultdict(int, {k: _int(v) for k, v in counts.items()})
    return DemandStats(
        start=flt.start,
        end=flt.end,
        today=today,
        submitted=n["submitted"],
        by_state=[(s, n[f"st_{s.lower()}"]) for s in COUNTED_STATES],
        open_now=n["open_now"],
        overdue_now=n["overdue_now"],
        warning_now=n["warning_now"],
        response_limit_days=limit,
        response=ResponseTimes(
            count=_int(row.get("resp_n")),
            mean_working_days=_num(row.get("resp_wd_mean")),
            mean_hours=_num(row.get("resp_h_mean")),
        ),
        response_rate=Rate(n["responded"], n["dispatched"]),
        handling=HandlingTimes(
            count=_int(row.get("hand_n")),
            mean_working_days=_num(row.get("hand_wd_mean")),
            median_working_days=_num(row.get("hand_wd_median")),
            p90_working_days=_num(row.get("hand_wd_p90")),
            mean_hours=_num(row.get("hand_h_mean")),
            median_hours=_hours(row.get("hand_s_median")),
            p90_hours=_hours(row.get("hand_s_p90")),
        ),
        on_time=Rate(_int(ot.get("on_time")), _int(ot.get("due"))),
        closure=Rate(n["closed"], n["accepted"]),
        return_visit=Rate(n["visited"], n["replied"]),
        satisfaction=Rate(n["satisfied"], n["rated"]),
        ranked_satisfaction=Rate(
            n["satisfied"] - n["satisfied_excluded"], n["rated"] - n["rated_excluded"]
        ),
        rated_share=Rate(n["rated"], n["replied"]),
        bad_rating=Rate(n["bad"], n["rated"]),
        rectification_on_time=Rate(n["rect_on_time"], n["rect_due"]),
        reopen=Rate(n["reopened"], n["replied"]),
        return_=Rate(n["returned"], n["ever_dispatched"]),
        extension=Rate(n["extended"], n["ever_dispatched"]),
        escalated=n["escalated"],
        escalations_by_level=[(k, n[f"esc_{k}"]) for k in ESCALATION_LEVELS],
    )
