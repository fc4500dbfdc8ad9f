"""The working-day calendar (工作日历): a deadline preview and a year's days, readable by anyone."""

from __future__ import annotations

import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.ops import calendar as calendar_ops
from models.ops.calendar import CalendarEntry, CalendarYearView, DaySource
from schema.guards import guarded
from schema.relay import pk_of

strawberry.enum(
    DaySource,
    name="CalendarDaySource",
    description="Where a day's arrangement comes from: the published calendar as shipped "
    "(PACKAGE), a year a system administrator entered (ADMIN), or a region's own day (REGION).",
)


@strawberry.type(description="The day a number of working days lands on.")
class WorkingDayResult:
    date: datetime.date
    confirmed: bool = strawberry.field(
        description="False when the count ran through a year whose holiday arrangement is not "
        "known yet (weekends only were skipped there); the date may still move."
    )


@strawberry.type(description="A day that differs from Monday–Friday, or a region's own day.")
class WorkingCalendarDay:
    date: datetime.date
    is_workday: bool
    name: str
    source: DaySource

    @classmethod
    def from_entry(cls, e: CalendarEntry, locale: str) -> WorkingCalendarDay:
        return cls(
            date=e.day,
            is_workday=e.is_workday,
            name=calendar_ops.holiday_name(e.name, e.source, locale),
            source=e.source,
        )


@strawberry.type(description="A year of the working-day calendar as a region keeps it.")
class WorkingCalendar:
    year: int
    confirmed: bool = strawberry.field(
        description="The year's arrangement is known (published with the package or entered)."
    )
    entered: bool = strawberry.field(
        description="A system administrator entered this year's arrangement."
    )
    note: str
    days: list[WorkingCalendarDay] = strawberry.field(description="Sorted by date.")

    @classmethod
    def from_view(cls, v: CalendarYearView, locale: str) -> WorkingCalendar:
        return cls(
            year=v.year,
            confirmed=v.confirmed,
            entered=v.entered,
            note=v.note,
            days=[WorkingCalendarDay.from_entry(e, locale) for e in v.days],
        )


@strawberry.type
class CalendarQueries:
    @strawberry.field(
        description="The day `days` working days after `from` (counted from the next day; "
        "0 gives `from`), in a region's calendar. No sign-in needed."
    )
    async def add_working_days(
        self,
        info: Info,
        from_: Annotated[datetime.date, strawberry.argument(name="from")],
        days: int,
        region_id: strawberry.ID | None = None,
    ) -> WorkingDayResult:
        async def run() -> WorkingDayResult:
            found = await calendar_ops.preview_working_days(from_, days, pk_of(region_id, "Region"))
            return WorkingDayResult(date=found.date, confirmed=found.confirmed)

        return await guarded(info, run)

    @strawberry.field(
        description="A year's holidays and make-up workdays in a region's calendar. "
        "No sign-in needed."
    )
    async def working_calendar(
        self, info: Info, year: int, region_id: strawberry.ID | None = None
    ) -> WorkingCalendar:
        async def run() -> WorkingCalendar:
            view = await calendar_ops.calendar_year(year, pk_of(region_id, "Region"))
            return WorkingCalendar.from_view(view, info.context.locale)

        return await guarded(info, run)
