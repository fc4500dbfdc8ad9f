"""The working-day calendar as admins keep it: a year's published arrangement, and days.

A year without a `CalendarYear` row uses what the `chinesecalendar` package ships; a year an
admin entered (the arrangement for next year is published each November) uses its own day
rows instead. Day rows with a region are local additions (a county's own holiday) that apply
to that region and below, on top of the national calendar."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.tables.org import Region, User


class CalendarYear(Model):
    id = fields.IntField(primary_key=True)
    year = fields.IntField(unique=True)
    note = fields.CharField(max_length=255, default="")
    entered_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_year"


class CalendarDay(Model):
    """A day that differs from Monday–Friday: a weekday holiday or a weekend make-up workday."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField()
    is_workday = fields.BooleanField()
    name = fields.CharField(max_length=64, default="")
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, null=True, on_delete=fields.CASCADE
    )

    class Meta:
        table = "calendar_day"
        unique_together = (("region", "day"),)
        indexes = (("day",),)


class WorkDayIndex(Model):
    """The calendar as a table SQL can join: for each day of a calendar scope, whether it is a
    working day and `idx`, the number of working days from the table's first day up to and
    including it. Working days strictly after a and up to b are idx(b) - idx(a), so the
    supervisor figures count working days in SQL, never in a loop over demands.

    Scope 0 is the national calendar; a region with days of its own (or below one that has)
    gets the scope of its own id, named by RegionCalendarScope. Rebuilt whenever an admin edits
    the calendar (models.ops.work_day_index)."""

    id = fields.IntField(primary_key=True)
    scope_id = fields.IntField()
    day = fields.DateField()
    is_workday = fields.BooleanField()
    idx = fields.IntField()

    class Meta:
        table = "work_day_index"
        unique_together = (("scope_id", "day"),)


class RegionCalendarScope(Model):
    """Which WorkDayIndex scope a region counts with, for regions whose calendar differs from
    the national one (the others count with scope 0)."""

    region: fields.OneToOneRelation[Region] = fields.OneToOneField(
        "models.Region", related_name=False, primary_key=True, on_delete=fields.CASCADE
    )
    scope_id = fields.IntField()

    class Meta:
        table = "region_calendar_scope"
