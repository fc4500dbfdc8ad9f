"""The admins' edits of the working-day calendar (a year's national arrangement, a region's own
days) and the views of it; loading the calendar a region counts with is models.ops.work_calendar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import require_admin_over
from models.db.config import announce
from models.errors import DomainError, Problems
from models.messages import DEFAULT_LOCALE
from models.ops.audit import Trail
from models.ops.region_tree import region_chain
from models.ops.validate import text
from models.ops.work_calendar import CALENDAR_CHANNEL, invalidate_calendar_cache, load_calendar
from models.ops.work_day_index import rebuild_work_day_index
from models.rules.actor import Actor
from models.rules.date_range import MAX_YEAR, MIN_YEAR
from models.rules.roles import Role
from models.rules.workdays import (
    WorkingDayResult,
    national_exceptions,
    national_holiday_names,
)
from models.tables.calendar import CalendarDay, CalendarYear
from models.tables.org import Region

# The longest count the preview answers (the years an admin may enter: models.rules.date_range).
MAX_PREVIEW_DAYS = 3650
_NAME_MAX = 64
_NOTE_MAX = 255


# --- reading a year, and the public deadline preview ---


class DaySource(StrEnum):
    PACKAGE = "PACKAGE"  # the State Council's arrangement as the chinesecalendar package ships it
    ADMIN = "ADMIN"  # a year's arrangement a system administrator entered
    REGION = "REGION"  # a region's own day, applying to it and the regions below it


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    day: date
    is_workday: bool
    name: str  # as stored; package names are English, see `holiday_name`
    source: DaySource
    region_id: int | None = None  # the region whose own day this is (REGION)


@dataclass(frozen=True, slots=True)
class CalendarYearView:
    year: int
    region_id: int | None
    confirmed: bool  # the year's arrangement is known (package or entered)
    entered: bool  # an administrator entered it
    note: str
    days: list[CalendarEntry]  # sorted by day


def holiday_name(name: str, source: DaySource, locale: str = DEFAULT_LOCALE) -> str:
    """A package holiday's name in the reader's language ("National Day" → 国庆节)."""
    if source is not DaySource.PACKAGE or locale == "en" or not name:
        return name
    from chinese_calendar.constants import Holiday

    for h in Holiday:
        if h.value == name:
            return str(h.chinese)
    return name


async def _require_region(region_id: int | None) -> list[int]:
    """The region's chain (top first), refusing a region that does not exist."""
    if region_id is None:
        return []
    chain = await region_chain(region_id)
    if not chain:
        raise DomainError("UNKNOWN_REGION", "regionId", value=region_id)
    return chain


def _check_year(year: int, field: str = "year") -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError("YEAR_OUT_OF_RANGE", field, min=MIN_YEAR, max=MAX_YEAR)


async def calendar_year(year: int, region_id: int | None = None) -> CalendarYearView:
    """A year's days that differ from Monday–Friday for a region, each with where it comes
    from; a region's own days are listed even where they only restore Monday–Friday."""
    _check_year(year)
    chain = await _require_region(region_id)
    first, last = date(year, 1, 1), date(year, 12, 31)
    entered_row = await CalendarYear.filter(year=year).values("note")
    days: dict[date, CalendarEntry] = {}
    if entered_row:
        for r in await CalendarDay.filter(region_id=None, day__gte=first, day__lte=last).values(
            "day", "is_workday", "name"
        ):
            days[r["day"]] = CalendarEntry(r["day"], r["is_workday"], r["name"], DaySource.ADMIN)
    else:
        package_days, _ = national_exceptions()
        names = national_holiday_names()
        for d, is_workday in package_days.items():
            if d.year == year:
                days[d] = CalendarEntry(d, is_workday, names.get(d, ""), DaySource.PACKAGE)
    if chain:
        depth = {rid: i for i, rid in enumerate(chain)}
        rows = await CalendarDay.filter(region_id__in=chain, day__gte=first, day__lte=last).values(
            "region_id", "day", "is_workday", "name"
        )
        for r in sorted(rows, key=lambda r: depth[r["region_id"]]):
            days[r["day"]] = CalendarEntry(
                r["day"], r["is_workday"], r["name"], DaySource.REGION, r["region_id"]
            )
    _, package_years = national_exceptions()
    return CalendarYearView(
        year=year,
        region_id=region_id,
        confirmed=bool(entered_row) or year in package_years,
        entered=bool(entered_row),
        note=entered_row[0]["note"] if entered_row else "",
        days=[days[d] for d in sorted(days)],
    )


async def preview_working_days(
    start: date, days: int, region_id: int | None = None
) -> WorkingDayResult:
    """The date `days` working days after `start` in a region's calendar (public)."""
    if not 0 <= days <= MAX_PREVIEW_DAYS:
        raise DomainError("WORKING_DAYS_OUT_OF_RANGE", "days", min=0, max=MAX_PREVIEW_DAYS)
    if region_id is not None and not await Region.filter(id=region_id).exists():
        raise DomainError("UNKNOWN_REGION", "regionId", value=region_id)
    calendar = await load_calendar(region_id)
    return calendar.add_working_days(start, days)


# --- administrators' edits ---


async def _calendar_changed() -> None:
    """After an admin's edit: forget cached calendars and rebuild the working-day index the
    supervisor figures join."""
    invalidate_calendar_cache()
    # Before the rebuild (seconds on a large data set): deadlines set meanwhile on other
    # processes already count with the edited calendar.
    await announce(CALENDAR_CHANNEL)
    await rebuild_work_day_index()


def _named_days(
    problems: Problems,
    kind: str,
    items: Sequence[tuple[date, str]],
    *,
    year: int,
    workday: bool,
    seen: dict[date, str],
) -> list[tuple[date, str]]:
    """Validate one list of a year's arrangement; `seen` maps each accepted date to its field."""
    out: list[tuple[date, str]] = []
    for i, (day, name) in enumerate(items):
        field = f"{kind}.{i}"
        value = day.isoformat()
        clean_name = text(problems, name, f"{field}.name", max_len=_NAME_MAX, required=False)
        if day.year != year:
            problems.add("DATE_OUTSIDE_YEAR", field, value=value, year=year)
            continue
        if day in seen:
            other = seen[day]
            same_list = other.split(".", 1)[0] == kind
            code = "DUPLICATE_DATE" if same_list else "HOLIDAY_AND_WORKDAY"
            problems.add(code, field, value=value, other=other)
            continue
        seen[day] = field
        weekend = day.weekday() >= 5
        if not workday and weekend:
            problems.add("REDUNDANT_HOLIDAY", field, value=value)
        elif workday and not weekend:
            problems.add("REDUNDANT_WORKDAY", field, value=value)
        else:
            out.append((day, clean_name))
    return out


async def set_calendar_year(
    actor: Actor,
    year: int,
    holidays: Sequence[tuple[date, str]],
    workdays: Sequence[tuple[date, str]],
    note: str = "",
    trail: Trail | None = None,
) -> CalendarYearView:
    """Enter a year's published arrangement (system administrators): weekday holidays and
    weekend make-up workdays. It replaces the package's arrangement, or an earlier entry, for
    that year, and makes deadlines reaching into it confirmed."""
    await require_admin_over(actor, None)
    _check_year(year)
    problems = Problems()
    clean_note = text(problems, note, "note", max_len=_NOTE_MAX, required=False)
    if not holidays:
        problems.add("REQUIRED", "holidays")
    seen: dict[date, str] = {}
    off = _named_days(problems, "holidays", holidays, year=year, workday=False, seen=seen)
    on = _named_days(problems, "workdays", workdays, year=year, workday=True, seen=seen)
    problems.raise_if_any()
    rows = [CalendarDay(day=d, is_workday=False, name=n, region=None) for d, n in off]
    rows += [CalendarDay(day=d, is_workday=True, name=n, region=None) for d, n in on]
    for attempt in range(2):
        try:
            async with in_transaction():
                # The year's row is the lock: concurrent entries of one year take turns.
                entry = await CalendarYear.select_for_update().get_or_none(year=year)
                if entry is None:
                    await CalendarYear.create(
                        year=year, note=clean_note, entered_by_id=actor.user_id or None
                    )
                else:
                    entry.note = clean_note
                    entry.entered_by_id = actor.user_id or None
                    await entry.save(update_fields=["note", "entered_by_id", "updated_at"])
                await CalendarDay.filter(
                    region_id=None, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
                ).delete()
                await CalendarDay.bulk_create(rows)
                if trail is not None:
                    await trail.record(year)
            break
        except IntegrityError:
            # Another administrator created the year's row at the same moment: go again,
            # now behind their lock.
            if attempt:
                raise DomainError("VERSION_CONFLICT") from None
    await _calendar_changed()
    return await calendar_year(year)


async def clear_calendar_year(
    actor: Actor, year: int, trail: Trail | None = None
) -> CalendarYearView:
    """Forget an entered year: it goes back to the package's arrangement (or to Monday–Friday,
    unconfirmed, for a year the package does not know)."""
    await require_admin_over(actor, None)
    _check_year(year)
    async with in_transaction():
        entry = await CalendarYear.select_for_update().get_or_none(year=year)
        if entry is None:
            raise DomainError("CALENDAR_YEAR_NOT_ENTERED", "year", year=year)
        await CalendarDay.filter(
            region_id=None, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
        ).delete()
        await entry.delete()
        if trail is not None:
            await trail.record(year)
    await _calendar_changed()
    return await calendar_year(year)


async def _require_region_admin(actor: Actor, region_id: int) -> Region:
    """Someone without any admin grant is FORBIDDEN; an admin of other regions is told the
    region lies outside their scope."""
    if not actor.has_role(Role.ADMIN):
        raise DomainError("FORBIDDEN")
    region = await require_admin_over(actor, region_id)
    assert region is not None
    return region


async def set_region_calendar_days(
    actor: Actor,
    region_id: int,
    days: Sequence[tuple[date, bool, str]],
    trail: Trail | None = None,
) -> list[CalendarEntry]:
    """Set a region's own days (a county's local holiday, or a make-up day it does not keep),
    adding to or replacing its earlier ones on those dates. Each must differ from the calendar
    above the region."""
    region = await _require_region_admin(actor, region_id)
    problems = Problems()
    if not days:
        problems.add("REQUIRED", "days")
    above = await load_calendar(region.parent_id)  # type: ignore[attr-defined]
    seen: set[date] = set()
    clean: list[tuple[date, bool, str]] = []
    for i, (day, is_workday, name) in enumerate(days):
        field = f"days.{i}"
        value = day.isoformat()
        clean_name = text(problems, name, f"{field}.name", max_len=_NAME_MAX, required=False)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            problems.add("YEAR_OUT_OF_RANGE", field, min=MIN_YEAR, max=MAX_YEAR)
        elif day in seen:
            problems.add("DUPLICATE_DATE", field, value=value)
        elif above.is_workday(day) == is_workday:
            problems.add("REDUNDANT_REGION_DAY", field, value=value)
        else:
            clean.append((day, is_workday, clean_name))
        seen.add(day)
    problems.raise_if_any()
    async with in_transaction():
        # The region's row is the lock: concurrent edits of one region take turns.
        await Region.select_for_update().filter(id=region.id).values_list("id", flat=True)
        await CalendarDay.filter(region_id=region.id, day__in=[d for d, _, _ in clean]).delete()
        await CalendarDay.bulk_create(
            [CalendarDay(day=d, is_workday=w, name=n, region=region) for d, w, n in clean]
        )
        if trail is not None:
            await trail.record(region.id)
    await _calendar_changed()
    return [CalendarEntry(d, w, n, DaySource.REGION, region.id) for d, w, n in sorted(clean)]


async def remove_region_calendar_day(
    actor: Actor, region_id: int, day: date, trail: Trail | None = None
) -> CalendarEntry:
    """Remove one of a region's own days; the calendar above it applies again on that date."""
    region = await _require_region_admin(actor, region_id)
    async with in_transaction():
        row = await CalendarDay.select_for_update().get_or_none(region_id=region.id, day=day)
        if row is None:
            raise DomainError("NOT_FOUND", "date")
        await row.delete()
        if trail is not None:
            await trail.record(region.id)
    await _calendar_changed()
    return CalendarEntry(row.day, row.is_workday, row.name, DaySource.REGION, region.id)
