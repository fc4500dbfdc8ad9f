"""The working-day calendar as admins keep it: a year's published arrangement, and days.

A year without a `CalendarYear` row uses what the `chinesecalendar` package ships; a year an
admin entered (the arrangement for next year is published each November) uses its own day
rows instead. Day rows with a region are local additions (a county's own holiday) that apply
to that region and below, on top of the national calendar."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.org import Region, User


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
