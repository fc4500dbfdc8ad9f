"""Loading the working-day calendar a region uses, from the package and the admins' edits."""

from __future__ import annotations

import time
from datetime import date

from models.calendar import CalendarDay, CalendarYear
from models.org import Region
from models.rules.workdays import WorkCalendar, national_exceptions

# Admin edits are rare; other processes see them within this many seconds.
CACHE_SECONDS = 30.0
_cache: dict[int | None, tuple[float, WorkCalendar]] = {}


def invalidate_calendar_cache() -> None:
    _cache.clear()


async def _region_chain(region_id: int | None) -> list[int]:
    """The region and its ancestors, top first."""
    if region_id is None:
        return []
    path = await Region.filter(id=region_id).values_list("path", flat=True)
    if not path:
        return []
    return [int(p) for p in str(path[0]).strip("/").split("/") if p]


async def load_calendar(region_id: int | None = None) -> WorkCalendar:
    """The calendar of a region: the package's arrangement for the years it knows, replaced by
    an admin's entry for a year entered in the database, then each region's own days from the
    county down."""
    hit = _cache.get(region_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    package_days, package_years = national_exceptions()
    entered_years = set(await CalendarYear.all().values_list("year", flat=True))
    exceptions: dict[date, bool] = {
        d: w for d, w in package_days.items() if d.year not in entered_years
    }
    for day, is_workday in await CalendarDay.filter(region_id=None).values_list(
        "day", "is_workday"
    ):
        if day.year in entered_years:
            exceptions[day] = is_workday
    chain = await _region_chain(region_id)
    if chain:
        rows = await CalendarDay.filter(region_id__in=chain).values_list(
            "region_id", "day", "is_workday"
        )
        depth = {rid: i for i, rid in enumerate(chain)}
        for _, day, is_workday in sorted(rows, key=lambda r: depth[r[0]]):
            exceptions[day] = is_workday
    calendar = WorkCalendar(exceptions, set(package_years) | entered_years)
    _cache[region_id] = (time.monotonic(), calendar)
    return calendar
