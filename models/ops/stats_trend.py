"""The demand figures per day, week (Monday to Sunday) or month of the period (docs/design.md
section 8.4): the same two statements as the period's figures, grouped by the bucket of the day
a demand was submitted (the on-time rate: of the day its effective deadline fell). Every bucket
of the period is returned, with zeros where nothing happened; the first and last are cut to the
period."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from models.errors import DomainError
from models.ops.stats_demand_sql import SUBMITTED_DAY, Fine, Grouping, day_of, quoted
from models.ops.stats_demands import DemandStats, grouped_demand_stats, policy_of_scope
from models.ops.stats_scope import Sql, StatsFilter, stats_scope
from models.rules.actor import Actor
from models.rules.clock import day_start


class TrendInterval(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


MAX_BUCKETS = 400


def bucket_start(day: date, interval: TrendInterval) -> date:
    if interval is TrendInterval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is TrendInterval.MONTH:
        return day.replace(day=1)
    return day


def next_bucket(start: date, interval: TrendInterval) -> date:
    if interval is TrendInterval.WEEK:
        return start + timedelta(days=7)
    if interval is TrendInterval.MONTH:
        return (start + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=1)


def buckets(start: date, end: date, interval: TrendInterval) -> list[date]:
    out = [bucket_start(start, interval)]
    while (nxt := next_bucket(out[-1], interval)) <= end:
        out.append(nxt)
    return out


def _dated_buckets(sql: Sql, interval: TrendInterval) -> tuple[Grouping, Callable[[Any], Any]]:
    """SQLite: a demand's bucket is the first day of the bucket holding its Shanghai date."""

    def first_day(day: str) -> str:
        if interval is TrendInterval.DAY:
            return day
        # 'weekday 0' moves on to the next Sunday (or stays on one); six days back is Monday.
        weekly = interval is TrendInterval.WEEK
        modifier = "'weekday 0', '-6 days'" if weekly else "'start of month'"
        return f"date({day}, {modifier})"

    grouping = Grouping(
        key=first_day(day_of(sql, "d.submitted_at")),
        deadline_key=first_day("d.effective_deadline"),
    )
    return grouping, _as_date


def _numbered_buckets(starts: list[date]) -> tuple[Grouping, Callable[[Any], Any]]:
    """PostgreSQL: a demand's bucket by a binary search of the buckets' first moments
    (width_bucket), not by converting each row's moment to a Shanghai date and truncating it,
    which took about half the time of a year's weekly trend. The bounds are dates we
    computed, written as literals."""

    def bounds(values: list[str], cast: str) -> str:
        return "ARRAY[" + ", ".join(quoted(v) for v in values) + f"]::{cast}[]"

    moments = bounds([day_start(b).isoformat() for b in starts], "timestamptz")
    days = bounds([b.isoformat() for b in starts], "date")
    grouping = Grouping(
        key=f"width_bucket(d.submitted_at, {moments})",
        deadline_key=f"width_bucket(d.effective_deadline, {days})",
        # Counted per day first: a day has statistics, a bucket expression has none.
        fine=Fine(
            key=SUBMITTED_DAY,
            coarse=f"width_bucket(k.g, {moments})",
            deadline_key="d.effective_deadline",
            deadline_coarse=f"width_bucket(k.g, {days})",
        ),
    )
    # 0 would be before the first bucket: the period's filter leaves no such row.
    return grouping, lambda i: starts[int(i) - 1] if i else None


def _as_date(value: Any) -> date | None:
    # SQLite's date() gives text.
    return None if value is None else date.fromisoformat(str(value)[:10])


async def demand_trend(
    actor: Actor | None, flt: StatsFilter, interval: TrendInterval
) -> list[DemandStats]:
    scope = await stats_scope(actor, flt)
    starts = buckets(flt.start, flt.end, interval)
    if len(starts) > MAX_BUCKETS:
        raise DomainError("TOO_MANY_BUCKETS", "interval", max=MAX_BUCKETS)
    policy = await policy_of_scope(scope)
    probe = Sql()  # only to know the dialect; each statement has its own parameters
    grouping, key_of = (
        _numbered_buckets(starts) if probe.postgres else _dated_buckets(probe, interval)
    )
    figures = await grouped_demand_stats(scope, policy, grouping, keys=starts, key_of=key_of)
    out: list[DemandStats] = []
    for b in starts:
        last = min(next_bucket(b, interval) - timedelta(days=1), flt.end)
        out.append(dataclasses.replace(figures[b], start=max(b, flt.start), end=last))
    return out
