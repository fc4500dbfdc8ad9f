"""Visits (走访): cadres plan and log visits to enterprises, with who went, what was found, the
policies handed over (送政策), photos, an on-site check-in and the demands raised during them.

A visit's region is its enterprise's region when it was created: the scope every staff check
uses. The check-in keeps what the phone reported (position, accuracy, coordinate system, mock
flag, device time) beside the server's judgement of it (`location_trust`, `trust_reason`,
`distance_m`), so a supervisor can see why a visit does not count toward coverage. Times the
phone gave are put on the server's clock and kept beside its receipt time (`completed_at`)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.device_clock import TimeFlag
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem
from models.rules.visit_states import VisitMode, VisitStatus
from models.tables.enterprises import Enterprise
from models.tables.org import Region, User


class Visit(Model):
    id = fields.IntField(primary_key=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="visits", on_delete=fields.RESTRICT
    )
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(VisitStatus, max_length=10)
    mode = fields.CharEnumField(VisitMode, max_length=10, default=VisitMode.ON_SITE)
    lead: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    # The client-made id (UUID) of the call that created it.
    client_id = fields.CharField(max_length=64)
    # When it happens: the planned time while planned, the visit time once logged (lists sort
    # and filter on it).
    at = fields.DatetimeField()
    planned_at = fields.DatetimeField(null=True)
    purpose = fields.CharField(max_length=500, default="")
    visited_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    notes = fields.TextField(default="")
    # Policies handed over: [{"policyId": 3 | null, "title": "..."}], titles copied at the time.
    policies: list = fields.JSONField(default=list)
    # Who logged it (the author who may still correct the notes until `notes_locked_at`).
    completed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    completed_at = fields.DatetimeField(null=True)
    notes_locked_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=500, default="")
    # Check-in, as reported by the phone.
    checkin_latitude = fields.FloatField(null=True)
    checkin_longitude = fields.FloatField(null=True)
    checkin_accuracy_m = fields.FloatField(null=True)
    checkin_system = fields.CharEnumField(CoordinateSystem, max_length=8, null=True)
    checkin_mock = fields.BooleanField(default=False)
    checkin_device_time = fields.DatetimeField(null=True)
    checkin_received_at = fields.DatetimeField(null=True)
    # The server's judgement of it; only TRUSTED on-site visits count toward coverage.
    distance_m = fields.FloatField(null=True)
    location_trust = fields.CharEnumField(LocationTrust, max_length=10, null=True)
    trust_reason = fields.CharEnumField(TrustReason, max_length=24, null=True)
    # The phone's clock when a logged visit arrived (models.rules.device_clock): how far it
    # was ahead (+) or behind (-) the server's, in minutes, when the app said (null: not
    # measured, or in step); what the server did to the phone's times; and the visit time the
    # phone gave, when the one kept differs from it.
    device_clock_offset_minutes = fields.IntField(null=True)
    time_flag = fields.CharEnumField(TimeFlag, max_length=16, null=True)
    reported_visited_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visit"
        indexes = (
            ("enterprise_id", "at"),
            ("region_id", "at"),
            ("status", "planned_at"),
        )


class VisitParticipant(Model):
    """A cadre on the visit: the lead visitor (is_lead) or an accompanying one."""

    id = fields.IntField(primary_key=True)
    visit: fields.ForeignKeyRelation[Visit] = fields.ForeignKeyField(
        "models.Visit", related_name="participants", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    is_lead = fields.BooleanField(default=False)

    class Meta:
        table = "visit_participant"
        unique_together = (("visit", "user"),)
        indexes = (("user_id", "visit_id"),)


class SupportPolicy(Model):
    """The catalog of policies cadres hand over on visits (惠企政策), nationwide or regional."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    issuer = fields.CharField(max_length=100, default="")
    document_number = fields.CharField(max_length=100, default="")  # 文号
    url = fields.CharField(max_length=500, default="")
    summary = fields.TextField(default="")
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "support_policy"
