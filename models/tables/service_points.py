"""Service points (服务点), the procedures each helps with (事项) and appointment slots.

A point stores its position as entered, with the coordinate system it was entered in; every
distance converts both ends to WGS-84 first. Opening hours are a weekly schedule (see
models.rules.opening_hours) closed on the region calendar's holidays unless the point says
otherwise. Agents are `SERVICE_AGENT` role grants naming the point."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.agency_states import AppointmentStatus
from models.rules.roles import CoordinateSystem
from models.tables.enterprises import Enterprise
from models.tables.org import Department, Region, User


class ServicePoint(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="service_points", on_delete=fields.RESTRICT
    )
    address = fields.CharField(max_length=255, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    coordinate_system = fields.CharEnumField(
        CoordinateSystem, max_length=8, default=CoordinateSystem.GCJ02
    )
    phone = fields.CharField(max_length=32, default="")
    description = fields.TextField(default="")
    # Weekly schedule, e.g. {"MON": [["08:30", "12:00"], ["13:30", "17:30"]]}.
    opening_hours: dict = fields.JSONField(default=dict)
    closed_on_holidays = fields.BooleanField(default=True)
    # Appointments: the length of a slot and how many enterprises one slot takes.
    slot_minutes = fields.IntField(default=30)
    slot_capacity = fields.IntField(default=2)
    is_active = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_point"
        unique_together = (("region", "name"),)


class Procedure(Model):
    """One procedure (事项) a service point handles on behalf of enterprises."""

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="procedures", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    code = fields.CharField(max_length=64, default="")
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    # [{"name": "...", "mayBeMissing": bool, "note": "..."}]: 容缺 marks what may come later.
    materials: list = fields.JSONField(default=list)
    statutory_days = fields.IntField(null=True)  # 法定时限, working days
    promised_days = fields.IntField()  # 承诺时限, working days: the agency deadline
    fees = fields.CharField(max_length=255, default="")  # e.g. "不收费"
    online_url = fields.CharField(max_length=500, default="")
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "procedure"
        unique_together = (("service_point", "name"),)


class AppointmentSlot(Model):
    """How many appointments one slot of a point holds: the row a booking increments with a
    guarded UPDATE, so two enterprises racing for the last place cannot both get it."""

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name=False, on_delete=fields.CASCADE
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.IntField()
    booked = fields.IntField(default=0)

    class Meta:
        table = "appointment_slot"
        unique_together = (("service_point", "starts_at"),)


class Appointment(Model):
    id = fields.IntField(primary_key=True)
    slot: fields.ForeignKeyRelation[AppointmentSlot] = fields.ForeignKeyField(
        "models.AppointmentSlot", related_name=False, on_delete=fields.CASCADE
    )
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name=False, on_delete=fields.CASCADE
    )
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name=False, on_delete=fields.RESTRICT
    )
    procedure: fields.ForeignKeyNullableRelation[Procedure] = fields.ForeignKeyField(
        "models.Procedure", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    booked_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    status = fields.CharEnumField(
        AppointmentStatus, max_length=10, default=AppointmentStatus.BOOKED
    )
    note = fields.CharField(max_length=500, default="")
    cancelled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "appointment"
        indexes = (("service_point_id", "starts_at"), ("enterprise_id", "starts_at"))
