"""The SQL of the supervisor's demand figures: two statements over the demands of a scope,
optionally split into groups (a department, a region, a week), whatever the number of demands.

Cohorts:
- most figures cover the demands of the scope (region subtree, lead department, category,
  source) SUBMITTED in the period: submitted_at in [start_at, end_at), Asia/Shanghai days;
- the on-time rate covers the demands of the scope whose effective deadline FELL in the period.

Response and handling times are the demand row's own columns, kept from the working-day index
by models.ops.demand_times, so a cohort is one scan of the demand table without joins. The
dates and times used are the demand row's current ones: after a return (退单) and a new
dispatch they are the new dispatch's, after a reopen the latest reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from models.ops.stats_scope import Sql, StatsScope
from models.rules.demand_states import (
    BAD_RATINGS,
    CLOCK_STATES,
    OPEN_STATES,
    DemandState,
    RectificationState,
    Satisfaction,
)

S = DemandState
# Every state a submitted demand can be in (a DRAFT has never been submitted).
COUNTED_STATES = tuple(s for s in DemandState if s is not S.DRAFT)
NOT_ACCEPTED = (S.REJECTED, S.WITHDRAWN, S.MERGED)
SATISFIED_RATINGS = (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC)
ESCALATION_LEVELS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class Grouping:
    """How a cohort splits: `key` is the group's SQL expression in the submitted cohort (over
    the demand alias `d` and the aliases `join` adds), `deadline_key` the same in the on-time
    cohort. `join` writes an extra join and may take parameters (it is called where its text
    goes, so SQLite's positional placeholders stay in order)."""

    key: str
    deadline_key: str
    join: Callable[[Sql], str] | None = None
    fine: Fine | None = None


@dataclass(frozen=True, slots=True)
class Fine:
    """PostgreSQL: a finer key the two-level statements count by first, one the planner can
    estimate (a column, or an expression with statistics from migration 0011), mapped to the
    group afterwards over the few counted rows (`coarse`, an expression over the fine group
    `k.g` and the aliases `join` adds). Grouping the demands by a computed bucket directly made
    the planner expect one group per demand and sort them all instead of hashing."""

    key: str
    coarse: str
    deadline_key: str
    deadline_coarse: str
    join: Callable[[Sql], str] | None = None


# The Shanghai day a demand was submitted, as a moment (China keeps +08:00 all year); the
# statistics of migration 0011 are on exactly this expression.
SUBMITTED_DAY = "date_bin('1 day'::interval, d.submitted_at, '2000-01-01 00:00:00+08'::timestamptz)"

# One group for the whole scope.
WHOLE = Grouping(key="0", deadline_key="0")


def quoted(value: str) -> str:
    # Our own enum values, never user input: safe to write into the statement.
    return f"'{value}'"


def in_list(states: tuple[str, ...] | frozenset[Any]) -> str:
    return "(" + ", ".join(quoted(s) for s in sorted(states)) + ")"


def day_of(sql: Sql, column: str) -> str:
    """The Asia/Shanghai date of a stored moment (tortoise keeps UTC text on SQLite). China
    keeps +08:00 all year (since 1992): a fixed offset, which on PostgreSQL is plain
    arithmetic, where the zone's name cost a time-zone lookup per row (a third of the on-time
    rate's statement)."""
    if sql.postgres:
        return f"(({column}) AT TIME ZONE INTERVAL '+08:00')::date"
    return f"date({column}, '+8 hours')"


def seconds_between(sql: Sql, later: str, earlier: str) -> str:
    """Whole seconds between two moments."""
    if sql.postgres:
        return f"ROUND(EXTRACT(EPOCH FROM ({later} - {earlier})))"
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400)"


def moment(sql: Sql, value: datetime) -> str:
    """A moment parameter (on SQLite bound as UTC text, as stored: models.db.sqlite_counted)."""
    return sql.p(value)


def filters(sql: Sql, scope: StatsScope, alias: str) -> str:
    flt = scope.filter
    parts = [sql.region_clause(scope, f"{alias}.region_id")]
    if flt.department_id is not None:
        parts.append(f"{alias}.department_id = {sql.p(flt.department_id)}")
    if flt.category_id is not None:
        parts.append(f"{alias}.category_id = {sql.p(flt.category_id)}")
    if flt.source is not None:
        parts.append(f"{alias}.source = {sql.p(flt.source.value)}")
    return " AND ".join(parts)


def count_if(condition: str) -> str:
    # FILTER rather than SUM(CASE ...): about an eighth less work per row on PostgreSQL.
    return f"COUNT(*) FILTER (WHERE {condition})"


# (figure name, column of the cohort, fraction): percentile_cont of the column per group.
PERCENTILES = (
    ("hand_wd_median", "hand_wd", 0.5),
    ("hand_wd_p90", "hand_wd", 0.9),
    ("hand_s_median", "hand_s", 0.5),
    ("hand_s_p90", "hand_s", 0.9),
)
PCT_COLUMNS = ("hand_wd", "hand_s")


def _sqlite_percentiles(column: str) -> str:
    """SQLite has no percentile_cont: per group, the value at position h = 1 + p(n - 1) of the
    sorted non-null values, interpolated linearly between its neighbours (what percentile_cont
    does), for every fraction PERCENTILES asks of `column`."""
    picks = []
    for name, col, p in PERCENTILES:
        if col != column:
            continue
        h = f"(1 + {p} * (n - 1))"
        lo = f"MAX(CASE WHEN rn = CAST({h} AS INTEGER) THEN x END)"
        hi = f"MAX(CASE WHEN rn = CAST({h} AS INTEGER) + 1 THEN x END)"
        frac = f"MAX({h} - CAST({h} AS INTEGER))"
        picks.append(f"{lo} + {frac} * (COALESCE({hi}, {lo}) - {lo}) AS {name}")
    return f"""pct_{column} AS (SELECT g, {", ".join(picks)} FROM (
        SELECT g, {column} AS x, ROW_NUMBER() OVER (PARTITION BY g ORDER BY {column}) AS rn,
               COUNT(*) OVER (PARTITION BY g) AS n
        FROM c WHERE {column} IS NOT NULL) GROUP BY g)"""  # noqa: S608


def _fine(sql: Sql, grouping: Grouping) -> Fine | None:
    return grouping.fine if sql.postgres else None


def _coarse(sql: Sql, fine: Fine | None, deadline: bool = False) -> tuple[str, str]:
    """The outer level's group expression and joins: the fine group mapped, or `g` as is."""
    if fine is None:
        return "g", ""
    join = fine.join(sql) if fine.join else ""
    return (fine.deadline_coarse if deadline else fine.coarse), join


def _submitted_in_period(sql: Sql, scope: StatsScope) -> str:
    """The WHERE of the demands of the scope submitted in the period (alias `d`)."""
    return (
        f"d.submitted_at >= {moment(sql, scope.start_at)} "
        f"AND d.submitted_at < {moment(sql, scope.end_at)} AND {filters(sql, scope, 'd')}"
    )


def _cohort(sql: Sql, scope: StatsScope, grouping: Grouping, fine: Fine | None = None) -> str:
    """`WITH c AS (…)`: the demands of the scope submitted in the period, one row each, `g`
    being the group (or the fine group when `fine` is given)."""
    # On SQLite each `?` takes the next parameter: placeholders are made in the text's order.
    join = grouping.join(sql) if grouping.join and fine is None else ""
    key = fine.key if fine is not None else grouping.key
    where = _submitted_in_period(sql, scope)
    return f"""WITH c AS (
      SELECT {key} AS g, d.state, d.effective_deadline, d.warning_date,
             d.dispatched_at, d.replied_at,
             d.rated_at, d.rating, d.rating_excluded, d.contact_attempts,
             d.rectification_state, d.rectification_deadline, {day_of(sql, "d.rectified_at")} AS rectified_on,
             d.reopen_count, d.return_count, d.extension_count, d.escalation_level,
             d.response_working_days AS resp_wd, d.response_seconds AS resp_s,
             d.handling_working_days AS hand_wd, d.handling_seconds AS hand_s
      FROM demand d {join}
      WHERE {where})"""  # noqa: S608


def _lerp(lo: str, hi: str, h: str) -> str:
    """percentile_cont's result from the values at 0-based positions floor(h) and ceil(h):
    lo + (h - floor(h)) × (hi - lo), in double precision as PostgreSQL computes it."""
    lo, hi = f"CAST({lo} AS DOUBLE PRECISION)", f"CAST({hi} AS DOUBLE PRECISION)"
    return f"{lo} + ({h} - floor({h})) * ({hi} - {lo})"


SECONDS_BUCKET = 86400  # percentile_statement gathers the seconds by natural day of handling


def percentile_statement(sql: Sql, scope: StatsScope, grouping: Grouping = WHOLE) -> str:
    """PostgreSQL: the handling-time percentiles per group, exactly percentile_cont's (the
    values at 0-based positions floor(h) and ceil(h), h = p(n - 1), interpolated), apart
    from the other figures so that those use parallel workers while this runs on another
    connection. One scan counts the demands per (fine) group, working days and day of
    handling seconds (a hash aggregate: no sort of the demands), gathering the seconds of
    each into an array:
    - working days take a few dozen values: the value at a position is read off the
      cumulative counts;
    - seconds are nearly all distinct: the cumulative counts per day tell which day holds a
      position, and only that day's seconds are sorted (as integers), percentile_disc
      picking the row. percentile_cont over GROUP BY sorted every demand by group and then
      again within it: a region ranking of a year of 1M demands took 0.61 s of CPU for its
      percentiles, now 0.24 s."""
    # The fine groups spare a join per demand (regions). Without a join the group is taken
    # directly: a year's trend counted by day made ~27,000 groups of arrays, which spilled to
    # disk (447 ms at 1M demands), where by month it makes a few thousand (301 ms).
    fine = _fine(sql, grouping) if grouping.join is not None else None
    join = grouping.join(sql) if grouping.join and fine is None else ""
    key = fine.key if fine is not None else grouping.key
    where = _submitted_in_period(sql, scope)
    group, coarse_join = _coarse(sql, fine)
    by_column = {col: [(n, p) for n, c, p in PERCENTILES if c == col] for col in PCT_COLUMNS}

    def position(p: float, rnd: str) -> str:
        # `last` is n - 1: h = p × last as percentile_cont computes it, in double precision.
        return f"{rnd}({p}::float8 * last)"

    wd_picks = ", ".join(
        # The value at 0-based position j: the least whose cumulative count exceeds j.
        f"MIN(wd) FILTER (WHERE upto > {position(p, rnd)}) AS {rnd}_{n}"
        for n, p in by_column["hand_wd"]
        for rnd in ("floor", "ceil")
    )
    s_positions = [position(p, rnd) for _, p in by_column["hand_s"] for rnd in ("floor", "ceil")]

    def in_day(j: str) -> str:  # the day's positions are [upto - nb, upto)
        return f"({j} >= upto - nb AND {j} < upto)"

    # percentile_disc(q) returns the row ceil(q × nb) (1-based) of the day's sorted seconds:
    # q = (r + 0.5) / nb lands inside row r + 1 whatever the rounding; null for a position
    # another day holds.
    fractions = ", ".join(
        f"CASE WHEN {in_day(j)} THEN ({j} - (upto - nb) + 0.5) / nb END" for j in s_positions
    )
    picked = ", ".join(f"MAX(v[{i + 1}])" for i in range(len(s_positions)))
    wd_figures = [
        _lerp(f"floor_{n}", f"ceil_{n}", f"{p}::float8 * last") for n, p in by_column["hand_wd"]
    ]
    s_figures = [
        _lerp(f"v[{2 * i + 1}]", f"v[{2 * i + 2}]", f"{p}::float8 * last")
        for i, (_, p) in enumerate(by_column["hand_s"])
    ]
    names = [n for n, _ in by_column["hand_wd"]] + [n for n, _ in by_column["hand_s"]]
    no_wd = ["CAST(NULL AS DOUBLE PRECISION)"] * len(wd_figures)
    no_s = ["CAST(NULL AS DOUBLE PRECISION)"] * len(s_figures)
    wd_row = ", ".join(f"{e} AS {n}" for e, n in zip([*wd_figures, *no_s], names, strict=True))
    s_row = ", ".join([*no_wd, *s_figures])
    count = "CAST(SUM(n) OVER ({}) AS DOUBLE PRECISION)"
    # Every step keys by g as GROUP BY and windows see it (a null department is one group),
    # and the two halves are put side by side by a last GROUP BY rather than a join. The
    # days' rows are ordered before their seconds are unnested, so grouping needs no sort.
    return f"""WITH f AS MATERIALIZED (
      SELECT {key} AS g, d.handling_working_days AS wd,
             d.handling_seconds / {SECONDS_BUCKET} AS b, COUNT(*) AS n,
             array_agg(d.handling_seconds) FILTER (WHERE d.handling_seconds IS NOT NULL) AS hs
      FROM demand d {join}
      WHERE {where}
        AND (d.handling_working_days IS NOT NULL OR d.handling_seconds IS NOT NULL)
      GROUP BY 1, 2, 3),
    c AS MATERIALIZED (SELECT {group} AS g, k.wd, k.b, k.n, k.hs FROM f k {coarse_join}),
    wc AS (SELECT g, wd, SUM(n) OVER (PARTITION BY g ORDER BY wd) AS upto,
                  {count.format("PARTITION BY g")} - 1 AS last
           FROM (SELECT g, wd, SUM(n) AS n FROM c WHERE wd IS NOT NULL GROUP BY g, wd) w),
    wp AS (SELECT g, last, {wd_picks} FROM wc GROUP BY g, last),
    sc AS (SELECT g, b, hs, {count.format("PARTITION BY g ORDER BY b")} AS upto,
                  {count.format("PARTITION BY g, b")} AS nb,
                  {count.format("PARTITION BY g")} - 1 AS last
           FROM c WHERE b IS NOT NULL),
    sd AS (SELECT g, last, percentile_disc(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY x) AS v
           FROM (SELECT * FROM sc WHERE {" OR ".join(in_day(j) for j in s_positions)}
                 ORDER BY g, b, upto, nb, last) s, unnest(s.hs) x
           GROUP BY g, b, upto, nb, last),
    sp AS (SELECT g, MIN(last) AS last, ARRAY[{picked}] AS v FROM sd GROUP BY g)
    SELECT g, {", ".join(f"MAX({n}) AS {n}" for n in names)} FROM (
      SELECT g, {wd_row} FROM wp
      UNION ALL
      SELECT g, {s_row} FROM sp) u
    GROUP BY g"""  # noqa: S608


def cohort_statement(
    sql: Sql, scope: StatsScope, today: date, limit_days: int, grouping: Grouping = WHOLE
) -> str:
    """One row per group (`g`) of every figure over the demands submitted in the period; a
    group without demands has no row. On PostgreSQL without the percentiles
    (percentile_statement), on SQLite with them.

    Two levels: the rows are first counted per group, state, rating and escalation level
    (a few hundred combinations) with only the conditions those do not decide; the figures
    that depend on them alone are then sums over the combinations. That halved the work per
    demand on PostgreSQL against one COUNT FILTER per figure and row."""
    fine = _fine(sql, grouping)
    cohort = _cohort(sql, scope, grouping, fine)
    # Placeholders in the text's order (SQLite): the inner level's come first.
    per_row = [
        "g, state, rating, escalation_level",
        "COUNT(*) AS n",
        f"{count_if(f'effective_deadline < {sql.p(today)}')} AS past_deadline",
        count_if(f"warning_date <= {sql.p(today)} AND effective_deadline >= {sql.p(today)}")
        + " AS in_warning",
        f"{count_if('dispatched_at IS NOT NULL')} AS dispatched",
        "COUNT(resp_wd) AS resp_n",
        "SUM(resp_wd) AS resp_wd_sum",
        "COUNT(resp_s) AS resp_s_n",
        "SUM(resp_s) AS resp_s_sum",
        f"{count_if(f'resp_wd <= {sql.p(limit_days)}')} AS responded",
        "COUNT(hand_wd) AS hand_n",
        "SUM(hand_wd) AS hand_wd_sum",
        "COUNT(hand_s) AS hand_s_n",
        "SUM(hand_s) AS hand_s_sum",
        f"{count_if('replied_at IS NOT NULL')} AS replied",
        count_if("replied_at IS NOT NULL AND (rated_at IS NOT NULL OR contact_attempts > 0)")
        + " AS visited",
        count_if(
            f"rectification_deadline IS NOT NULL "
            f"AND rectification_state <> '{RectificationState.WAIVED}' "
            f"AND (rectification_state = '{RectificationState.DONE}' "
            f"OR rectification_deadline < {sql.p(today)})"
        )
        + " AS rect_due",
        count_if(
            f"rectification_state = '{RectificationState.DONE}' "
            "AND rectified_on <= rectification_deadline"
        )
        + " AS rect_on_time",
        f"{count_if('replied_at IS NOT NULL AND reopen_count > 0')} AS reopened",
        f"{count_if('dispatched_at IS NOT NULL OR return_count > 0')} AS ever_dispatched",
        f"{count_if('return_count > 0')} AS returned",
        f"{count_if('extension_count > 0')} AS extended",
        # Ratings an upheld appeal keeps out of the rankings (rating_excluded).
        f"{count_if('rating_excluded')} AS excluded",
    ]

    def total(column: str, condition: str | None = None) -> str:
        return f"SUM({column})" + (f" FILTER (WHERE {condition})" if condition else "")

    def mean(sum_column: str, count_column: str, unit: str = "1.0") -> str:
        return f"SUM({sum_column}) / {unit} / NULLIF(SUM({count_column}), 0)"

    group, coarse_join = _coarse(sql, fine)
    figures = [
        f"{group} AS g",
        f"{total('n')} AS submitted",
        *(f"{total('n', f'state = {quoted(s)}')} AS st_{s.lower()}" for s in COUNTED_STATES),
        f"{total('n', f'state IN {in_list(OPEN_STATES)}')} AS open_now",
        # demand_view.is_overdue: in a clock state and today past the effective deadline.
        f"{total('past_deadline', f'state IN {in_list(CLOCK_STATES)}')} AS overdue_now",
        # demand_view.in_warning: in a clock state, warning_date <= today <= effective deadline.
        f"{total('in_warning', f'state IN {in_list(CLOCK_STATES)}')} AS warning_now",
        f"{total('dispatched')} AS dispatched",
        f"{total('resp_n')} AS resp_n",
        f"{mean('resp_wd_sum', 'resp_n')} AS resp_wd_mean",
        f"{mean('resp_s_sum', 'resp_s_n', '3600.0')} AS resp_h_mean",
        f"{total('responded')} AS responded",
        f"{total('hand_n')} AS hand_n",
        f"{mean('hand_wd_sum', 'hand_n')} AS hand_wd_mean",
        f"{mean('hand_s_sum', 'hand_s_n', '3600.0')} AS hand_h_mean",
        f"{total('n', f'state NOT IN {in_list(NOT_ACCEPTED)}')} AS accepted",
        f"{total('n', f'state = {quoted(S.CLOSED)}')} AS closed",
        f"{total('replied')} AS replied",
        f"{total('visited')} AS visited",
        f"{total('n', 'rating IS NOT NULL')} AS rated",
        f"{total('n', f'rating IN {in_list(SATISFIED_RATINGS)}')} AS satisfied",
        f"{total('n', f'rating IN {in_list(BAD_RATINGS)}')} AS bad",
        f"{total('excluded', 'rating IS NOT NULL')} AS rated_excluded",
        f"{total('excluded', f'rating IN {in_list(SATISFIED_RATINGS)}')} AS satisfied_excluded",
        f"{total('rect_due')} AS rect_due",
        f"{total('rect_on_time')} AS rect_on_time",
        f"{total('reopened')} AS reopened",
        f"{total('ever_dispatched')} AS ever_dispatched",
        f"{total('returned')} AS returned",
        f"{total('extended')} AS extended",
        f"{total('n', 'escalation_level > 0')} AS escalated",
        *(f"{total('n', f'escalation_level = {k}')} AS esc_{k}" for k in ESCALATION_LEVELS),
    ]
    # Identifiers and constants are ours; every value goes through a placeholder.
    outer, inner = ",\n  ".join(figures), ",\n  ".join(per_row)
    kinds = "g, state, rating, escalation_level"
    grouped = (
        f"SELECT {outer}\nFROM (SELECT {inner}\nFROM c GROUP BY {kinds}) k {coarse_join}"
        "\nGROUP BY 1"
    )
    if sql.postgres:
        return f"{cohort}\n{grouped}"
    picks = ", ".join(f"pct_{col}.{name}" for name, col, _ in PERCENTILES)
    return (
        f"{cohort},\n{_sqlite_percentiles('hand_wd')},\n{_sqlite_percentiles('hand_s')}\n"
        f"SELECT a.*, {picks} FROM ({grouped}) a\n"
        "LEFT JOIN pct_hand_wd ON pct_hand_wd.g IS a.g\n"
        "LEFT JOIN pct_hand_s ON pct_hand_s.g IS a.g"
    )


def on_time_statement(sql: Sql, scope: StatsScope, today: date, grouping: Grouping = WHOLE) -> str:
    """docs/design.md section 8.2: replied on or before the effective deadline ÷ demands whose
    effective deadline fell in the period, those still open past it counting as late; one row
    per group. Per demand this is the SQL form of models.rules.demand_view.replied_on_time (the
    exports judge with it): late while with the department (DISPATCHED, IN_PROGRESS,
    PENDING_APPROVAL) past the deadline; undecided, so left out, while with the department
    before it or suspended (its deadline moves); otherwise judged by the Shanghai day of the
    latest reply. A reply sent back or reopened by a bad rating is with the department again and
    no longer counts."""
    flt = scope.filter
    fine = _fine(sql, grouping)
    # Counted per group and state first (as cohort_statement does), then summed by state.
    settled = f"state NOT IN {in_list((*CLOCK_STATES, S.SUSPENDED))}"
    clock = in_list(CLOCK_STATES)
    replied_in_time = count_if(
        f"d.replied_at IS NOT NULL AND {day_of(sql, 'd.replied_at')} <= d.effective_deadline"
    )
    # Placeholders in the text's order (SQLite): today, then the join's, then the WHERE's.
    past_deadline = count_if(f"d.effective_deadline < {sql.p(today)}")
    group, coarse_join = _coarse(sql, fine, deadline=True)
    select = (
        f"SELECT {group} AS g, "  # noqa: S608
        f"SUM(replied_in_time) FILTER (WHERE {settled}) AS on_time, "
        f"COALESCE(SUM(replied) FILTER (WHERE {settled}), 0) "
        f"+ COALESCE(SUM(past_deadline) FILTER (WHERE state IN {clock}), 0) AS due FROM (\n"
        f"SELECT {fine.deadline_key if fine else grouping.deadline_key} AS g, d.state, "
        f"{replied_in_time} AS replied_in_time, "
        f"{count_if('d.replied_at IS NOT NULL')} AS replied, {past_deadline} AS past_deadline"
    )
    join = grouping.join(sql) if grouping.join and fine is None else ""
    where = (
        f"d.effective_deadline >= {sql.p(flt.start)} AND d.effective_deadline <= {sql.p(flt.end)}"
        f" AND {filters(sql, scope, 'd')}"
    )
    return (
        f"{select} FROM demand d {join} WHERE {where} GROUP BY 1, d.state) k {coarse_join}"
        " GROUP BY 1"
    )
