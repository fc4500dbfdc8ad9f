"""Administering the working-day calendar: a year's arrangement and a region's own days."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from models.ops import calendar as calendar_ops
from models.rules.audit import AuditAction
from schema.errors import UserError
from schema.mutations.audited import attempt_audited_inline
from schema.relay import id_of
from schema.types.calendar import WorkingCalendar, WorkingCalendarDay


@strawberry.input
class CalendarDayInput:
    date: datetime.date
    name: str = strawberry.field(default="", description="e.g. 国庆节; at most 64 characters.")


@strawberry.input(
    description="A year's arrangement as the State Council publishes it. It replaces the "
    "shipped arrangement (or an earlier entry) for that year and makes it confirmed."
)
class SetCalendarYearInput:
    year: int
    holidays: list[CalendarDayInput] = strawberry.field(
        description="Days off that fall on Monday–Friday (weekend days of a holiday are "
        "already off and are refused)."
    )
    workdays: list[CalendarDayInput] = strawberry.field(
        default_factory=list, description="Make-up workdays (调休上班) that fall on a weekend."
    )
    note: str = strawberry.field(default="", description="e.g. the notice's number.")


@strawberry.input
class ClearCalendarYearInput:
    year: int


@strawberry.type
class CalendarYearPayload:
    calendar: WorkingCalendar | None = strawberry.field(
        description="The year's national calendar after the change."
    )
    errors: list[UserError]


@strawberry.input
class RegionCalendarDayInput:
    date: datetime.date
    is_workday: bool = strawberry.field(
        description="false: a local day off; true: a working day where the calendar above "
        "the region has a day off."
    )
    name: str = ""


@strawberry.input(
    description="A region's own days, applying to it and the regions below it; each replaces "
    "the region's earlier day on that date."
)
class SetRegionCalendarDaysInput:
    region_id: strawberry.ID
    days: list[RegionCalendarDayInput]


@strawberry.type
class RegionCalendarDaysPayload:
    days: list[WorkingCalendarDay] | None = strawberry.field(description="The days saved.")
    errors: list[UserError]


@strawberry.input
class RemoveRegionCalendarDayInput:
    region_id: strawberry.ID
    date: datetime.date


@strawberry.type
class RemoveRegionCalendarDayPayload:
    removed_date: datetime.date | None
    errors: list[UserError]


@strawberry.type
class CalendarMutations:
    @strawberry.mutation(description="Enter a year's holiday arrangement (system administrators).")
    async def set_calendar_year(
        self, info: Info, input: SetCalendarYearInput
    ) -> CalendarYearPayload:
        ctx = info.context
        view, errors = await attempt_audited_inline(
            ctx,
            AuditAction.CALENDAR_YEAR_SET,
            "CalendarYear",
            input,
            lambda trail: calendar_ops.set_calendar_year(
                ctx.require_actor(),
                input.year,
                [(d.date, d.name) for d in input.holidays],
                [(d.date, d.name) for d in input.workdays],
                input.note,
                trail=trail,
            ),
        )
        return CalendarYearPayload(
            calendar=WorkingCalendar.from_view(view, ctx.locale) if view else None, errors=errors
        )

    @strawberry.mutation(
        description="Return an entered year to the shipped arrangement (system administrators)."
    )
    async def clear_calendar_year(
        self, info: Info, input: ClearCalendarYearInput
    ) -> CalendarYearPayload:
        ctx = info.context
        view, errors = await attempt_audited_inline(
            ctx,
            AuditAction.CALENDAR_YEAR_CLEAR,
            "CalendarYear",
            input,
            lambda trail: calendar_ops.clear_calendar_year(
                ctx.require_actor(), input.year, trail=trail
            ),
        )
        return CalendarYearPayload(
            calendar=WorkingCalendar.from_view(view, ctx.locale) if view else None, errors=errors
        )

    @strawberry.mutation(description="Set a region's own days (administrators of the region).")
    async def set_region_calendar_days(
        self, info: Info, input: SetRegionCalendarDaysInput
    ) -> RegionCalendarDaysPayload:
        ctx = info.context
        saved, errors = await attempt_audited_inline(
            ctx,
            AuditAction.REGION_CALENDAR_DAYS_SET,
            "Region",
            input,
            lambda trail: calendar_ops.set_region_calendar_days(
                ctx.require_actor(),
                id_of(input.region_id, "Region"),
                [(d.date, d.is_workday, d.name) for d in input.days],
                trail=trail,
            ),
        )
        return RegionCalendarDaysPayload(
            days=[WorkingCalendarDay.from_entry(e, ctx.locale) for e in saved]
            if saved is not None
            else None,
            errors=errors,
        )

    @strawberry.mutation(description="Remove a region's own day (administrators of the region).")
    async def remove_region_calendar_day(
        self, info: Info, input: RemoveRegionCalendarDayInput
    ) -> RemoveRegionCalendarDayPayload:
        ctx = info.context
        removed, errors = await attempt_audited_inline(
            ctx,
            AuditAction.REGION_CALENDAR_DAY_REMOVE,
            "Region",
            input,
            lambda trail: calendar_ops.remove_region_calendar_day(
                ctx.require_actor(), id_of(input.region_id, "Region"), input.date, trail=trail
            ),
        )
        return RemoveRegionCalendarDayPayload(
            removed_date=removed.day if removed else None, errors=errors
        )
