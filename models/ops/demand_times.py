"""Each demand's response and handling times as the supervisor figures count them, kept on the
demand row so that a year of a province is one scan without joins (docs/design.md sections
8.8 and 12.2):

- response_working_days = working days after the dispatch day up to and including the claim
  day; response_seconds = claim − dispatch;
- handling_working_days = the same to the latest reply day, minus the suspended working days;
  handling_seconds = reply − dispatch − the suspended seconds.

Days are the Asia/Shanghai dates of the moments and working days come from the working-day
index (models.ops.work_day_index) of the demand's calendar scope. One SQL UPDATE computes them
from the row's own columns: for one demand after every transition that moves one of them
(models.ops.demand_runner), for every demand whenever the index is (re)built (a calendar edit
changes what a working day is). Null when the moments are missing or outside the index."""

from __future__ import annotations

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from models.ops.stats_demand_sql import day_of, seconds_between
from models.ops.stats_scope import Sql

# Demand columns whose change moves the times.
TIME_COLUMNS = frozenset(
    {"dispatched_at", "claimed_at", "replied_at", "suspended_days", "suspended_seconds"}
)


def _idx(sql: Sql, column: str) -> str:
    scope = (
        "COALESCE((SELECT rcs.scope_id FROM region_calendar_scope rcs "
        "WHERE rcs.region_id = demand.region_id), 0)"
    )
    return (
        f"(SELECT w.idx FROM work_day_index w WHERE w.scope_id = {scope} "  # noqa: S608
        f"AND w.day = {day_of(sql, f'demand.{column}')})"
    )


def _update(sql: Sql, where: str) -> str:
    dispatched = _idx(sql, "dispatched_at")
    return f"""UPDATE demand SET
      response_working_days = {_idx(sql, "claimed_at")} - {dispatched},
      response_seconds = {seconds_between(sql, "claimed_at", "dispatched_at")},
      handling_working_days = {_idx(sql, "replied_at")} - {dispatched} - suspended_days,
      handling_seconds = {seconds_between(sql, "replied_at", "dispatched_at")}
        - suspended_seconds
    WHERE {where}"""  # noqa: S608 - column names are ours, values are placeholders


async def refresh_demand_times(demand_id: int, conn: BaseDBAsyncClient | None = None) -> None:
    conn = conn or connections.get("default")
    sql = Sql(postgres=conn.capabilities.dialect == "postgres")
    statement = _update(sql, f"id = {sql.p(demand_id)}")
    await conn.execute_query(statement, sql.params)


async def refresh_all_demand_times(
    conn: BaseDBAsyncClient | None = None, *, only_missing: bool = False
) -> None:
    """Every dispatched demand (the others have no times) after the index changed; or only
    those whose times are missing though their moments are there (handled while the index
    was empty), which leaves a data set written with its times untouched."""
    conn = conn or connections.get("default")
    sql = Sql(postgres=conn.capabilities.dialect == "postgres")
    where = "dispatched_at IS NOT NULL"
    if only_missing:
        where += (
            " AND ((claimed_at IS NOT NULL AND response_working_days IS NULL)"
            " OR (replied_at IS NOT NULL AND handling_working_days IS NULL))"
        )
    await conn.execute_query(_update(sql, where))
