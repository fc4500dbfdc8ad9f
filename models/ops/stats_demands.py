"""The supervisor's demand figures (DESIGN section 5), computed in the database: three SQL
statements whatever the number of demands, never a demand row loaded into Python.

Cohorts:
- most figures cover the demands of the scope (region subtree, lead department, category,
  source) SUBMITTED in the period: submitted_at in [start_at, end_at), Asia/Shanghai days;
- the on-time rate covers the demands of the scope whose effective deadline FELL in the period.
`service_point_id` of the filter concerns agency requests only: demands have no service point,
so it is accepted and ignored here.

Working days come from the working-day index (models.ops.work_day_index): the working days
strictly after day a up to and including day b are idx(b) - idx(a), the index of the demand's
calendar scope (RegionCalendarScope, else the national scope 0). Days are the Asia/Shanghai
dates of the stored moments. The dates and times used are the demand row's current ones: after a
return (退单) and a new dispatch they are the new dispatch's, after a reopen the latest reply.
Means and percentiles are rounded to 2 decimals, ratios to 4, the same on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from models.access import Actor
from models.ops.policy import load_policy
from models.ops.stats_scope import Sql, StatsFilter, StatsScope, stats_scope
from models.ops.work_day_index import ensure_work_day_index
from models.region_tree import chain_of_path
from models.rules.clock import today as today_in_shanghai
from models.rules.demand_states import (
    BAD_RATINGS,
    CLOCK_STATES,
    DemandState,
    RectificationState,
    Satisfaction,
)
from models.rules.policy import Policy

S = DemandState
# Every state a submitted demand can be in (a DRAFT has never been submitted).
COUNTED_STATES = tuple(s for s in DemandState if s is not S.DRAFT)
OPEN_STATES = (
    S.SUBMITTED,
    S.DISPATCHED,
    S.IN_PROGRESS,
    S.PENDING_APPROVAL,
    S.PENDING_REVIEW,
    S.PENDING_VISIT,
    S.SUSPENDED,
)
NOT_ACCEPTED = (S.REJECTED, S.WITHDRAWN, S.MERGED)
SATISFIED_RATINGS = (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC)
ESCALATION_LEVELS = (1, 2, 3)


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
    rated_share: Rate
    bad_rating: Rate
    rectification_on_time: Rate
    reopen: Rate
    return_: Rate
    extension: Rate
    escalated: int
    escalations_by_level: list[tuple[int, int]]


# --------------------------------------------------------------------------- SQL pieces


def _in(states: tuple[str, ...] | frozenset[Any]) -> str:
    # Our own enum values, never user input: safe to write into the statement.
    return "(" + ", ".join(f"'{s}'" for s in sorted(states)) + ")"


def _day(sql: Sql, column: str) -> str:
    """The Asia/Shanghai date of a stored moment (tortoise keeps UTC text on SQLite)."""
    if sql.postgres:
        return f"(({column}) AT TIME ZONE 'Asia/Shanghai')::date"
    return f"date({column}, '+8 hours')"


def _seconds(sql: Sql, later: str, earlier: str) -> str:
    """Whole seconds between two moments."""
    if sql.postgres:
        return f"ROUND(EXTRACT(EPOCH FROM ({later} - {earlier})))"
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400)"


def _moment(sql: Sql, value: datetime) -> str:
    """A moment parameter comparable with stored ones: on SQLite the UTC text tortoise writes."""
    if sql.postgres:
        return sql.p(value)
    return sql.p(value.astimezone(UTC).isoformat(" "))


def _filters(sql: Sql, scope: StatsScope, alias: str) -> str:
    flt = scope.filter
    parts = [sql.region_clause(scope, f"{alias}.region_id")]
    if flt.department_id is not None:
        parts.append(f"{alias}.department_id = {sql.p(flt.department_id)}")
    if flt.category_id is not None:
        parts.append(f"{alias}.category_id = {sql.p(flt.category_id)}")
    if flt.source is not None:
        parts.append(f"{alias}.source = {sql.p(flt.source.value)}")
    return " AND ".join(parts)


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _sqlite_percentile(column: str, p: float) -> str:
    """percentile_cont(p) over the non-null values of `column` of the cohort: the value at
    position 1 + p(n - 1) of the sorted values, interpolated linearly between neighbours."""
    return f"""(SELECT xlo + frac * (COALESCE(xhi, xlo) - xlo) FROM (
        SELECT MAX(CASE WHEN rn = CAST(h AS INTEGER) THEN x END) AS xlo,
               MAX(CASE WHEN rn = CAST(h AS INTEGER) + 1 THEN x END) AS xhi,
               MAX(h - CAST(h AS INTEGER)) AS frac
        FROM (SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS rn,
                     1 + {p} * (COUNT(*) OVER () - 1) AS h
              FROM (SELECT {column} AS x FROM c WHERE {column} IS NOT NULL))))"""  # noqa: S608


def _percentile(sql: Sql, column: str, p: float) -> str:
    if sql.postgres:
        return f"percentile_cont({p}) WITHIN GROUP (ORDER BY CAST({column} AS DOUBLE PRECISION))"
    return _sqlite_percentile(column, p)


def _cohort_statement(sql: Sql, scope: StatsScope, today: date, limit_days: int) -> str:
    """One row of every figure over the demands submitted in the period."""
    wd = "w.scope_id = COALESCE(rcs.scope_id, 0) AND w.day = "
    where = (
        f"d.submitted_at >= {_moment(sql, scope.start_at)} "
        f"AND d.submitted_at < {_moment(sql, scope.end_at)} AND {_filters(sql, scope, 'd')}"
    )
    cohort = f"""WITH c AS (
      SELECT d.state, d.effective_deadline, d.warning_date, d.dispatched_at, d.replied_at,
             d.rated_at, d.rating, d.contact_attempts, d.rectification_state,
             d.rectification_deadline, {_day(sql, "d.rectified_at")} AS rectified_on,
             d.reopen_count, d.return_count, d.extension_count, d.escalation_level,
             wcl.idx - wdi.idx AS resp_wd,
             {_seconds(sql, "d.claimed_at", "d.dispatched_at")} AS resp_s,
             wre.idx - wdi.idx - d.suspended_days AS hand_wd,
             {_seconds(sql, "d.replied_at", "d.dispatched_at")} - d.suspended_seconds AS hand_s
      FROM demand d
      LEFT JOIN region_calendar_scope rcs ON rcs.region_id = d.region_id
      LEFT JOIN work_day_index wdi ON {wd.replace("w.", "wdi.")}{_day(sql, "d.dispatched_at")}
      LEFT JOIN work_day_index wcl ON {wd.replace("w.", "wcl.")}{_day(sql, "d.claimed_at")}
      LEFT JOIN work_day_index wre ON {wd.replace("w.", "wre.")}{_day(sql, "d.replied_at")}
      WHERE {where})"""  # noqa: S608
    # On SQLite each `?` takes the next parameter: placeholders are made in the text's order.
    figures = [
        "COUNT(*) AS submitted",
        *(_count(f"state = '{s}'") + f" AS st_{s.lower()}" for s in COUNTED_STATES),
        f"{_count(f'state IN {_in(OPEN_STATES)}')} AS open_now",
        # demand_view.is_overdue: in a clock state and today past the effective deadline.
        _count(f"state IN {_in(CLOCK_STATES)} AND effective_deadline < {sql.p(today)}")
        + " AS overdue_now",
        # demand_view.in_warning: in a clock state, warning_date <= today <= effective deadline.
        _count(
            f"state IN {_in(CLOCK_STATES)} AND warning_date <= {sql.p(today)} "
            f"AND effective_deadline >= {sql.p(today)}"
        )
        + " AS warning_now",
        f"{_count('dispatched_at IS NOT NULL')} AS dispatched",
        "COUNT(resp_wd) AS resp_n",
        "AVG(resp_wd) AS resp_wd_mean",
        "AVG(resp_s) / 3600.0 AS resp_h_mean",
        f"{_count(f'resp_wd <= {sql.p(limit_days)}')} AS responded",
        "COUNT(hand_wd) AS hand_n",
        "AVG(hand_wd) AS hand_wd_mean",
        "AVG(hand_s) / 3600.0 AS hand_h_mean",
        f"{_percentile(sql, 'hand_wd', 0.5)} AS hand_wd_median",
        f"{_percentile(sql, 'hand_wd', 0.9)} AS hand_wd_p90",
        f"{_percentile(sql, 'hand_s', 0.5)} / 3600.0 AS hand_h_median",
        f"{_percentile(sql, 'hand_s', 0.9)} / 3600.0 AS hand_h_p90",
        f"{_count(f'state NOT IN {_in(NOT_ACCEPTED)}')} AS accepted",
        _count(f"state = '{S.CLOSED}'") + " AS closed",
        f"{_count('replied_at IS NOT NULL')} AS replied",
        _count("replied_at IS NOT NULL AND (rated_at IS NOT NULL OR contact_attempts > 0)")
        + " AS visited",
        f"{_count('rating IS NOT NULL')} AS rated",
        f"{_count(f'rating IN {_in(SATISFIED_RATINGS)}')} AS satisfied",
        f"{_count(f'rating IN {_in(BAD_RATINGS)}')} AS bad",
        _count(
            f"rectification_deadline IS NOT NULL "
            f"AND rectification_state <> '{RectificationState.WAIVED}' "
            f"AND (rectification_state = '{RectificationState.DONE}' "
            f"OR rectification_deadline < {sql.p(today)})"
        )
        + " AS rect_due",
        _count(
            f"rectification_state = '{RectificationState.DONE}' "
            "AND rectified_on <= rectification_deadline"
        )
        + " AS rect_on_time",
        f"{_count('replied_at IS NOT NULL AND reopen_count > 0')} AS reopened",
        f"{_count('dispatched_at IS NOT NULL OR return_count > 0')} AS ever_dispatched",
        f"{_count('return_count > 0')} AS returned",
        f"{_count('extension_count > 0')} AS extended",
        f"{_count('escalation_level > 0')} AS escalated",
        *(f"{_count(f'escalation_level = {k}')} AS esc_{k}" for k in ESCALATION_LEVELS),
    ]
    # Identifiers and constants are ours; every value goes through a placeholder.
    return cohort + "\nSELECT " + ",\n  ".join(figures) + "\nFROM c"


def _on_time_statement(sql: Sql, scope: StatsScope, today: date) -> str:
    """DESIGN 5: replied on or before the effective deadline ÷ demands whose effective deadline
    fell in the period, those still open past it counting as late. Per demand this is the SQL
    form of models.rules.demand_view.replied_on_time (the exports judge with it): late while
    with the department (DISPATCHED, IN_PROGRESS, PENDING_APPROVAL) past the deadline;
    undecided, so left out, while with the department before it or suspended (its deadline
    moves); otherwise judged by the Shanghai day of the latest reply. A reply sent back or
    reopened by a bad rating is with the department again and no longer counts."""
    flt = scope.filter
    replied = f"(d.replied_at IS NOT NULL AND d.state NOT IN {_in((*CLOCK_STATES, S.SUSPENDED))})"
    on_time = f"{replied} AND {_day(sql, 'd.replied_at')} <= d.effective_deadline"
    # Placeholders in the text's order (SQLite): today in the SELECT, then the WHERE's.
    late_open = f"(d.state IN {_in(CLOCK_STATES)} AND d.effective_deadline < {sql.p(today)})"
    select = f"SELECT {_count(on_time)} AS on_time, {_count(f'{replied} OR {late_open}')} AS due"
    where = (
        f"d.effective_deadline >= {sql.p(flt.start)} AND d.effective_deadline <= {sql.p(flt.end)}"
        f" AND {_filters(sql, scope, 'd')}"
    )
    return f"{select} FROM demand d WHERE {where}"


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


async def demand_stats(actor: Actor | None, flt: StatsFilter) -> DemandStats:
    scope = await stats_scope(actor, flt)
    await ensure_work_day_index()
    policy = await policy_of_scope(scope)
    today = today_in_shanghai()
    limit = policy.response_limit_days

    sql = Sql()
    row = (await sql.fetch(_cohort_statement(sql, scope, today, limit)))[0]
    sql = Sql()
    ot = (await sql.fetch(_on_time_statement(sql, scope, today)))[0]

    n = {k: _int(v) for k, v in row.items() if not k.startswith(("resp_", "hand_"))}
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
            count=_int(row["resp_n"]),
            mean_working_days=_num(row["resp_wd_mean"]),
            mean_hours=_num(row["resp_h_mean"]),
        ),
        response_rate=Rate(n["responded"], n["dispatched"]),
        handling=HandlingTimes(
            count=_int(row["hand_n"]),
            mean_working_days=_num(row["hand_wd_mean"]),
            median_working_days=_num(row["hand_wd_median"]),
            p90_working_days=_num(row["hand_wd_p90"]),
            mean_hours=_num(row["hand_h_mean"]),
            median_hours=_num(row["hand_h_median"]),
            p90_hours=_num(row["hand_h_p90"]),
        ),
        on_time=Rate(_int(ot["on_time"]), _int(ot["due"])),
        closure=Rate(n["closed"], n["accepted"]),
        return_visit=Rate(n["visited"], n["replied"]),
        satisfaction=Rate(n["satisfied"], n["rated"]),
        rated_share=Rate(n["rated"], n["replied"]),
        bad_rating=Rate(n["bad"], n["rated"]),
        rectification_on_time=Rate(n["rect_on_time"], n["rect_due"]),
        reopen=Rate(n["reopened"], n["replied"]),
        return_=Rate(n["returned"], n["ever_dispatched"]),
        extension=Rate(n["extended"], n["ever_dispatched"]),
        escalated=n["escalated"],
        escalations_by_level=[(k, n[f"esc_{k}"]) for k in ESCALATION_LEVELS],
    )
