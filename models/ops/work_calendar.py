"""The working-day calendar a region counts with, loaded from the package's arrangement and the
admins' edits (models.ops.calendar) and kept per process for CACHE_SECONDS. Read by every
deadline, notice and figure; the admins' edits and models.ops.work_day_index build on it."""

from __future__ import annotations

import time
from datetime import date

from models.ops.region_tree import region_chain
from models.rules.workdays import WorkCalendar, national_exceptions
from models.tables.calendar import CalendarDay, CalendarYear

# Admin edits are rare; other processes see them within this many seconds, or at once on
# PostgreSQL, where an edit is announced on CALENDAR_CHANNEL and every process's listener
# (server.live) calls invalidate_calendar_cache.
CACHE_SECONDS = 30.0
CALENDAR_CHANNEL = "desk_calendar"
_cache: dict[int | None, tuple[float, WorkCalendar]] = {}
# Bumped by every invalidation, so a load that raced an admin's edit is not cached.
_generation = 0


def invalidate_calendar_cache() -> None:
    global _generation
    _generation += 1
    _cache.clear()


async def load_calendar(region_id: int | None = None) -> WorkCalendar:
    """The calendar of a region: the package's arrangement for the years it knows, replaced by
    an admin's entry for a year entered in the database, then each region's own days from the
    county down."""
    hit = _cache.get(region_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    generation = _generation
    package_days, package_years = national_exceptions()
    entered_years: set[int] = {r["year"] for r in await CalendarYear.all().values("year")}
    exceptions: dict[date, bool] = {
        d: w for d, w in package_days.items() if d.year not in entered_years
    }
    for day, is_workday in await CalendarDay.filter(region_id=None).values_list(
        "day", "is_workday"
    ):
        if day.year in entered_years:
            exceptions[day] = is_workday
    chain = await region_chain(region_id)
    if chain:
        rows = await CalendarDay.filter(region_id__in=chain).values_list(
            "region_id", "day", "is_workday"
        )
        depth = {rid: i for i, rid in enumerate(chain)}
        for _, day, is_workday in sorted(rows, key=lambda r: depth[r[0]]):
            exceptions[day] = is_workday
    calendar = WorkCalendar(exceptions, set(package_years) | entered_years)
    if generation == _generation:
        _cache[region_id] = (time.monotonic(), calendar)
    return calendar
