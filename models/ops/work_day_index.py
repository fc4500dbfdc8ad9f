"""Filling the working-day index (models.tables.calendar.WorkDayIndex) that the supervisor figures
join in SQL, and naming each region's calendar scope (RegionCalendarScope).

Scope 0 is the national calendar (the package's arrangement, replaced by admins' entered
years). Every region with days of its own gets the scope of its own id, built from its whole
chain's calendar; it and every region below it count with that scope, the deepest region with
own days winning. Regions without a scope row count with scope 0.

When it is (re)built:
- whenever an admin edits the calendar (models.ops.calendar calls `rebuild_work_day_index`);
- at server start when it is missing or differs from the calendar (`refresh_work_day_index`,
  e.g. after an upgrade of the chinesecalendar package that learnt a new year);
- by any stats query that finds it empty (`ensure_work_day_index`, a one-row check), so a fresh
  database works without a manual step;
- a region created below a scoped region takes its parent's scope row (`inherit_scope`).
Each (re)build recomputes every demand's response and handling times
(models.ops.demand_times) in the same transaction.

The table covers 2015-01-01 .. 2035-12-31; years the calendar does not know count weekends
only, as WorkCalendar does. About 7,700 rows per scope, written with one executemany."""

from __future__ import annotations

from datetime import date, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.ops.demand_times import refresh_all_demand_times
from models.ops.region_tree import chain_of_path
from models.ops.work_calendar import invalidate_calendar_cache, load_calendar
from models.rules.workdays import WorkCalendar
from models.tables.calendar import CalendarDay, RegionCalendarScope, WorkDayIndex
from models.tables.org import Region

FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2035, 12, 31)
NATIONAL_SCOPE = 0
_BATCH = 2000
# One rebuild at a time across processes (PostgreSQL advisory lock, held by the transaction).
_LOCK_KEY = 7_201_356

IndexRow = tuple[int, date, bool, int]  # scope_id, day, is_workday, idx


def index_rows(scope_id: int, cal: WorkCalendar) -> list[IndexRow]:
    """Every day of the range with the running count of working days up to and including it."""
    rows: list[IndexRow] = []
    d, idx = FIRST_DAY, 0
    while d <= LAST_DAY:
        work = cal.is_workday(d)
        idx += work
        rows.append((scope_id, d, work, idx))
        d += timedelta(days=1)
    return rows


async def _expected() -> tuple[list[IndexRow], dict[int, int]]:
    """The rows the calendar asks for, and each scoped region's scope."""
    own: set[int] = {
        r["region_id"]
        for r in await CalendarDay.filter(region_id__not_isnull=True).values("region_id")
    }
    rows = index_rows(NATIONAL_SCOPE, await load_calendar(None))
    scopes: dict[int, int] = {}
    if own:
        for rid in sorted(own):
            rows += index_rows(rid, await load_calendar(rid))
        paths = await Region.filter(id__in=own).values_list("path", flat=True)
        below: set[tuple[int, str]] = set()
        for p in paths:
            below.update(await Region.filter(path__startswith=p).values_list("id", "path"))
        for rid, path in below:
            # The deepest region of the chain with days of its own names the scope.
            chain = chain_of_path(path)
            scopes[rid] = next(r for r in reversed(chain) if r in own)
    return rows, scopes


def _is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


async def _write(
    conn: BaseDBAsyncClient, rows: list[IndexRow], scopes: dict[int, int], *, all_times: bool
) -> None:
    pg = _is_postgres(conn)
    # Not execute_script: on SQLite a script commits the transaction first.
    await conn.execute_query("DELETE FROM work_day_index")
    await conn.execute_query("DELETE FROM region_calendar_scope")
    insert = (
        "INSERT INTO work_day_index (scope_id, day, is_workday, idx) VALUES ($1, $2, $3, $4)"
        if pg
        else "INSERT INTO work_day_index (scope_id, day, is_workday, idx) VALUES (?, ?, ?, ?)"
    )
    for i in range(0, len(rows), _BATCH):
        await conn.execute_many(insert, [list(r) for r in rows[i : i + _BATCH]])
    if scopes:
        await conn.execute_many(
            "INSERT INTO region_calendar_scope (region_id, scope_id) VALUES ($1, $2)"
            if pg
            else "INSERT INTO region_calendar_scope (region_id, scope_id) VALUES (?, ?)",
            [[rid, sid] for rid, sid in sorted(scopes.items())],
        )
    # What a working day is may have changed: every demand's times with it. A first build
    # only fills the times transitions left empty while there was no index.
    await refresh_all_demand_times(conn, only_missing=not all_times)


async def _locked(conn: BaseDBAsyncClient) -> None:
    if _is_postgres(conn):
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_LOCK_KEY])


async def rebuild_work_day_index() -> None:
    """Delete and rebuild the whole index and the regions' scopes, in one transaction."""
    invalidate_calendar_cache()  # read the calendar as committed, not a cached copy
    async with in_transaction() as conn:
        await _locked(conn)
        rows, scopes = await _expected()
        await _write(conn, rows, scopes, all_times=True)


async def ensure_work_day_index() -> None:
    """Build the index when it is empty (a fresh or emptied database): one indexed lookup."""
    if await WorkDayIndex.filter(scope_id=NATIONAL_SCOPE).exists():
        return
    async with in_transaction() as conn:
        await _locked(conn)
        # Another request may have built it while this one waited for the lock.
        if await WorkDayIndex.filter(scope_id=NATIONAL_SCOPE).exists():
            return
        rows, scopes = await _expected()
        await _write(conn, rows, scopes, all_times=False)


async def refresh_work_day_index() -> bool:
    """At server start: rebuild when the stored index differs from the calendar. Reads the
    stored rows once (a few thousand per scope); returns whether it rebuilt."""
    invalidate_calendar_cache()
    rows, scopes = await _expected()
    stored = await WorkDayIndex.all().values_list("scope_id", "day", "is_workday", "idx")
    stored_scopes = dict(await RegionCalendarScope.all().values_list("region_id", "scope_id"))
    if sorted(stored) == sorted(rows) and stored_scopes == scopes:
        return False
    async with in_transaction() as conn:
        await _locked(conn)
        rows, scopes = await _expected()
        # No index before: the times need filling only where transitions left them empty.
        await _write(conn, rows, scopes, all_times=bool(stored))
    return True


async def inherit_scope(region_id: int, parent_id: int | None) -> None:
    """A new region has no days of its own: it counts with its parent's scope, if any."""
    if parent_id is None:
        return
    parent = await RegionCalendarScope.get_or_none(region_id=parent_id).values("scope_id")
    if parent is not None:
        await RegionCalendarScope.create(region_id=region_id, scope_id=parent["scope_id"])
