"""Agency requests (帮办代办): an enterprise asks a service point to handle a procedure for it.

Like a demand, the request row keeps the current state and the dates lists filter on, and an
append-only `AgencyEvent` per transition is its timeline. The clock runs from acceptance for
the procedure's promised working days; days paused waiting for materials (补正) push the
effective deadline back. "Overdue" is derived from the effective deadline and today."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.demand_states import RectificationState, Satisfaction
from models.rules.work_orders import MAX_NUMBER_LENGTH
from models.tables.enterprises import Enterprise
from models.tables.org import Region, User
from models.tables.service_points import Procedure, ServicePoint


class AgencyRequest(Model):
    id = fields.IntField(primary_key=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="agency_requests", on_delete=fields.RESTRICT
    )
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name=False, on_delete=fields.RESTRICT
    )
    # The service point's region: the scope supervisors and admins read by.
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    procedure: fields.ForeignKeyRelation[Procedure] = fields.ForeignKeyField(
        "models.Procedure", related_name=False, on_delete=fields.RESTRICT
    )
    procedure_name = fields.CharField(max_length=200)  # as it was called when submitted
    description = fields.TextField(default="")
    state = fields.CharEnumField(AgencyState, max_length=20, db_index=True)
    submitted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    submitted_at = fields.DatetimeField(db_index=True)
    # 工单号, given on submission: models.rules.work_orders.
    number = fields.CharField(max_length=MAX_NUMBER_LENGTH, null=True, unique=True)
    agent: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    accepted_at = fields.DatetimeField(null=True)
    promised_days = fields.IntField(null=True)  # copied from the procedure at acceptance
    deadline = fields.DateField(null=True)  # acceptance date + promised working days
    paused_days = fields.IntField(default=0)  # finished 补正 pauses, working days
    paused_at = fields.DatetimeField(null=True)  # the current pause's start
    effective_deadline = fields.DateField(null=True, db_index=True)
    deadline_confirmed = fields.BooleanField(default=True)
    # 容缺受理: [{"name": "...", "promisedBy": "2026-11-27", "suppliedAt": null}]
    missing_materials: list = fields.JSONField(default=list)
    # 补正: what the agent asked for last, [{"name": "...", "note": "..."}]
    requested_materials: list = fields.JSONField(default=list)
    paused_from = fields.CharEnumField(AgencyState, max_length=20, null=True)
    handling_started_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    result_text = fields.TextField(null=True)
    certificate_number = fields.CharField(max_length=100, null=True)
    reject_reason = fields.TextField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)  # completed, rejected or cancelled
    rating = fields.CharEnumField(Satisfaction, max_length=20, null=True)
    rating_comment = fields.TextField(null=True)
    rated_at = fields.DatetimeField(null=True)
    rectification_state = fields.CharEnumField(RectificationState, max_length=8, null=True)
    rectification_deadline = fields.DateField(null=True)
    rectified_at = fields.DatetimeField(null=True)
    last_event: fields.ForeignKeyNullableRelation[AgencyEvent] = fields.ForeignKeyField(
        "models.AgencyEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agency_request"
        indexes = (
            ("service_point_id", "state"),
            ("enterprise_id", "submitted_at"),
            ("agent_id", "state"),
            ("region_id", "state"),
        )


class AgencyEvent(Model):
    """One transition of an agency request. Never updated or deleted."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[AgencyRequest] = fields.ForeignKeyField(
        "models.AgencyRequest", related_name=False, on_delete=fields.CASCADE
    )
    action = fields.CharEnumField(AgencyAction, max_length=24)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    at = fields.DatetimeField()
    from_state = fields.CharEnumField(AgencyState, max_length=20, null=True)
    to_state = fields.CharEnumField(AgencyState, max_length=20)
    note = fields.TextField(default="")
    # Details, e.g. {"missingMaterials": [...]}, {"pausedDays": 2}, {"attachmentIds": [4, 5]}.
    # Ids are row ids here; the API answers them as global ids (schema.types.agency).
    data: dict = fields.JSONField(default=dict)

    class Meta:
        table = "agency_event"
        indexes = (("request_id", "id"),)
