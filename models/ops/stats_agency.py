"""The supervisor's agency-request figures (帮办代办, docs/design.md sections 7 and 8), per
service point and in total, computed in the database: one SQL statement whatever the number of
requests, never a request row loaded into Python.

Scope: the service point's (current) region in the filter's or the asker's regions
(`stats_scope`, the STATS roles only), the filter's service point, and the procedure's
responsible department (its current one) for `department_id`. `category_id` and `source`
describe demands only and are ignored here.

Cohorts, for a period of whole Asia/Shanghai days:
- submitted and the counts by state: requests SUBMITTED in the period, in their state today;
- done, rejected, cancelled: requests that reached that final state in the period (closed_at);
  the handling time, satisfaction and rectification figures cover the done ones;
- the on-time rate: requests whose effective deadline FELL in the period, as for demands
  (models.ops.stats_demand_sql.on_time_statement) and per request as
  models.rules.agency_view.on_time and is_overdue judge: completed on or before it, over
  completed ones plus ones still running (ACCEPTED, IN_HANDLING) past it, which count as late. Left out as undecided: running ones before their deadline and ones paused for 补正
  (their deadline moves); rejected and cancelled ones are never completed and left out too.

Handling time runs from acceptance (受理) to completion. Working days: the working days after
the acceptance day up to and including the completion day, from the working-day index of the
request's region calendar (the one its deadline was counted with), minus its paused (补正)
working days, as models.rules.deadlines.working_days_paused counts them. Natural hours:
completion minus acceptance minus the time paused, which the row does not keep in seconds and
is taken from the timeline: from each REQUEST_MATERIALS event to the event that ended that pause
(the first one leaving MATERIALS_REQUESTED). Means are rounded to 2 decimals.

Every active service point of the scope is listed, zeros included, and an inactive one when it
has a figure; ordered by done (descending), then name (code-point order on both databases),
then id. The total row adds up the points' aggregate sums and counts (each request belongs to
exactly one point), so its means are over all requests, not means of means."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from models.ops.stats_demand_sql import (
    SATISFIED_RATINGS,
    count_if,
    day_of,
    in_list,
    moment,
    seconds_between,
)
from models.ops.stats_demands import Rate
from models.ops.stats_scope import Sql, StatsFilter, StatsScope, stats_scope
from models.ops.work_day_index import ensure_work_day_index
from models.rules.actor import Actor
from models.rules.agency_states import AGENCY_CLOCK_STATES, AgencyAction, AgencyState
from models.rules.clock import today as today_in_shanghai
from models.rules.demand_states import BAD_RATINGS, RectificationState

S = AgencyState
A = AgencyAction
AGENCY_STATES = tuple(AgencyState)


@dataclass(frozen=True, slots=True)
class AgencyHandling:
    count: int  # done requests with a handling time
    mean_working_days: float | None
    mean_hours: float | None


@dataclass(frozen=True, slots=True)
class AgencyFigures:
    submitted: int
    by_state: list[tuple[AgencyState, int]]
    done: int
    rejected: int
    cancelled: int
    on_time: Rate
    handling: AgencyHandling
    satisfaction: Rate
    rated_share: Rate
    bad_rating: Rate
    rectification_on_time: Rate


@dataclass(frozen=True, slots=True)
class AgencyPointFigures:
    service_point_id: int
    name: str
    region_id: int
    region_name: str
    figures: AgencyFigures


@dataclass(frozen=True, slots=True)
class AgencyStats:
    start: date
    end: date
    today: date
    points: list[AgencyPointFigures]
    total: AgencyFigures


# --------------------------------------------------------------------------- SQL


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _paused_seconds(sql: Sql) -> str:
    """Seconds a request spent paused for 补正, from its timeline: every pause starts with a
    REQUEST_MATERIALS event and ends with the next event leaving MATERIALS_REQUESTED (supply,
    or rejection/cancellation), so the sum of (end - start) is the sum of the ends' offsets
    minus the starts' offsets, both taken from the acceptance to keep the numbers small."""
    offset = seconds_between(sql, "e.at", "r.accepted_at")
    paused = f"'{S.MATERIALS_REQUESTED}'"
    return f"""(SELECT SUM(CASE WHEN e.action = '{A.REQUEST_MATERIALS}' THEN -{offset}
                        ELSE {offset} END)
        FROM agency_event e
        WHERE e.request_id = r.id AND (e.action = '{A.REQUEST_MATERIALS}'
              OR (e.from_state = {paused} AND e.to_state <> {paused})))"""  # noqa: S608


def _statement(sql: Sql, scope: StatsScope, today: date) -> str:
    """One row of aggregates per service point of the scope. Placeholders are made in the
    statement's text order (SQLite binds `?` in that order)."""
    flt = scope.filter
    start, end = scope.start_at, scope.end_at

    def submitted_in() -> str:
        return f"r.submitted_at >= {moment(sql, start)} AND r.submitted_at < {moment(sql, end)}"

    def closed_in() -> str:
        return f"r.closed_at >= {moment(sql, start)} AND r.closed_at < {moment(sql, end)}"

    def due_in() -> str:
        return (
            f"r.effective_deadline >= {sql.p(flt.start)} "
            f"AND r.effective_deadline <= {sql.p(flt.end)}"
        )

    wd = "{w}.scope_id = COALESCE(rcs.scope_id, 0) AND {w}.day = "
    columns = f"""r.service_point_id AS sp_id, r.state, r.effective_deadline,
             {_flag(submitted_in())} AS in_sub,
             {_flag(closed_in())} AS in_closed,
             {_flag(due_in())} AS in_due,
             {day_of(sql, "r.completed_at")} AS completed_on,
             r.rating, r.rectification_state, r.rectification_deadline,
             {day_of(sql, "r.rectified_at")} AS rectified_on,
             wc.idx - wa.idx - r.paused_days AS hand_wd,
             CASE WHEN r.completed_at IS NOT NULL AND r.accepted_at IS NOT NULL THEN
               {seconds_between(sql, "r.completed_at", "r.accepted_at")}
               - COALESCE({_paused_seconds(sql)}, 0) END AS hand_s"""
    joins = f"""FROM agency_request r
      JOIN service_point sp ON sp.id = r.service_point_id
      {"JOIN procedure pr ON pr.id = r.procedure_id" if flt.department_id is not None else ""}
      LEFT JOIN region_calendar_scope rcs ON rcs.region_id = r.region_id
      LEFT JOIN work_day_index wa ON {wd.format(w="wa")}{day_of(sql, "r.accepted_at")}
      LEFT JOIN work_day_index wc ON {wd.format(w="wc")}{day_of(sql, "r.completed_at")}"""
    where = [sql.region_clause(scope, "sp.region_id")]
    if flt.service_point_id is not None:
        where.append(f"sp.id = {sql.p(flt.service_point_id)}")
    if flt.department_id is not None:
        where.append(f"pr.department_id = {sql.p(flt.department_id)}")
    where.append(f"(({submitted_in()}) OR ({closed_in()}) OR ({due_in()}))")
    cohort = (
        f"WITH c AS (\n      SELECT {columns}\n      {joins}\n      WHERE {' AND '.join(where)})"
    )

    done = f"in_closed = 1 AND state = '{S.COMPLETED}'"
    completed = f"state = '{S.COMPLETED}'"
    figures = [
        "sp_id",
        "SUM(in_sub) AS submitted",
        *(count_if(f"in_sub = 1 AND state = '{s}'") + f" AS st_{s.lower()}" for s in AGENCY_STATES),
        f"{count_if(done)} AS done",
        count_if(f"in_closed = 1 AND state = '{S.REJECTED}'") + " AS rejected",
        count_if(f"in_closed = 1 AND state = '{S.CANCELLED}'") + " AS cancelled",
        # agency_view.on_time: completed, the completion's Shanghai day <= effective deadline.
        count_if(f"in_due = 1 AND {completed} AND completed_on <= effective_deadline")
        + " AS on_time",
        # agency_view.is_overdue: running (not paused) and today past the effective deadline.
        count_if(
            f"in_due = 1 AND ({completed} OR (state IN {in_list(AGENCY_CLOCK_STATES)} "
            f"AND effective_deadline < {sql.p(today)}))"
        )
        + " AS due",
        f"COUNT(CASE WHEN {done} THEN hand_wd END) AS hand_n",
        f"SUM(CASE WHEN {done} THEN hand_wd END) AS hand_wd_sum",
        f"SUM(CASE WHEN {done} AND hand_wd IS NOT NULL THEN hand_s END) AS hand_s_sum",
        f"{count_if(f'{done} AND rating IS NOT NULL')} AS rated",
        f"{count_if(f'{done} AND rating IN {in_list(SATISFIED_RATINGS)}')} AS satisfied",
        f"{count_if(f'{done} AND rating IN {in_list(BAD_RATINGS)}')} AS bad",
        # As for demands: rectifications done or past their deadline, waived ones left out.
        count_if(
            f"{done} AND rectification_deadline IS NOT NULL "
            f"AND rectification_state <> '{RectificationState.WAIVED}' "
            f"AND (rectification_state = '{RectificationState.DONE}' "
            f"OR rectification_deadline < {sql.p(today)})"
        )
        + " AS rect_due",
        count_if(
            f"{done} AND rectification_state = '{RectificationState.DONE}' "
            "AND rectified_on <= rectification_deadline"
        )
        + " AS rect_on_time",
    ]
    grouped = "g AS (SELECT " + ",\n  ".join(figures) + " FROM c GROUP BY sp_id)"  # noqa: S608

    point_where = [sql.region_clause(scope, "sp.region_id")]
    if flt.service_point_id is not None:
        point_where.append(f"sp.id = {sql.p(flt.service_point_id)}")
    point_where.append("(sp.is_active OR g.sp_id IS NOT NULL)")
    name = 'sp.name COLLATE "C"' if sql.postgres else "sp.name"
    # Identifiers and constants are ours; every value goes through a placeholder.
    return f"""{cohort},
    {grouped}
    SELECT sp.id AS point_id, sp.name AS point_name, rg.id AS point_region_id,
           rg.name AS point_region_name, g.*
    FROM service_point sp
    JOIN region rg ON rg.id = sp.region_id
    LEFT JOIN g ON g.sp_id = sp.id
    WHERE {" AND ".join(point_where)}
    ORDER BY COALESCE(g.done, 0) DESC, {name}, sp.id"""  # noqa: S608


# --------------------------------------------------------------------------- figures

_SUMMED = (
    "submitted",
    *(f"st_{s.lower()}" for s in AGENCY_STATES),
    "done",
    "rejected",
    "cancelled",
    "on_time",
    "due",
    "hand_n",
    "hand_wd_sum",
    "hand_s_sum",
    "rated",
    "satisfied",
    "bad",
    "rect_due",
    "rect_on_time",
)


def _sums(row: dict[str, Any]) -> dict[str, int]:
    """The point's aggregates as whole numbers (working days and seconds are whole)."""
    return {k: round(float(row[k] or 0)) for k in _SUMMED}


def _mean(total: int, n: int, unit: int = 1) -> float | None:
    return round(total / n / unit, 2) if n else None


def figures_of(n: dict[str, int]) -> AgencyFigures:
    return AgencyFigures(
        submitted=n["submitted"],
        by_state=[(s, n[f"st_{s.lower()}"]) for s in AGENCY_STATES],
        done=n["done"],
        rejected=n["rejected"],
        cancelled=n["cancelled"],
        on_time=Rate(n["on_time"], n["due"]),
        handling=AgencyHandling(
            count=n["hand_n"],
            mean_working_days=_mean(n["hand_wd_sum"], n["hand_n"]),
            mean_hours=_mean(n["hand_s_sum"], n["hand_n"], 3600),
        ),
        satisfaction=Rate(n["satisfied"], n["rated"]),
        rated_share=Rate(n["rated"], n["done"]),
        bad_rating=Rate(n["bad"], n["rated"]),
        rectification_on_time=Rate(n["rect_on_time"], n["rect_due"]),
    )


async def agency_stats(actor: Actor | None, flt: StatsFilter) -> AgencyStats:
    scope = await stats_scope(actor, flt)
    await ensure_work_day_index()
    today = today_in_shanghai()
    sql = Sql()
    rows = await sql.fetch(_statement(sql, scope, today))

    points: list[AgencyPointFigures] = []
    total = dict.fromkeys(_SUMMED, 0)
    for row in rows:
        n = _sums(row)
        for k, v in n.items():
            total[k] += v
        points.append(
            AgencyPointFigures(
                service_point_id=int(row["point_id"]),
                name=str(row["point_name"]),
                region_id=int(row["point_region_id"]),
                region_name=str(row["point_region_name"]),
                figures=figures_of(n),
            )
        )
    return AgencyStats(
        start=flt.start, end=flt.end, today=today, points=points, total=figures_of(total)
    )
