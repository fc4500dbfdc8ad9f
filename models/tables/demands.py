"""Demands (诉求, work orders), their append-only timeline, pending requests and files.

The timeline is the audit trail: one `DemandEvent` per transition. The demand row keeps the
current state plus the dates the screens filter on (deadline, effective deadline, warning
date), all written in the same transaction as the event that changed them; "overdue" and
"warning" are derived from those dates and today's date, never stored as flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.rules.demand_states import (
    ClosureKind,
    DemandAction,
    DemandSource,
    DemandState,
    PendingKind,
    RectificationState,
    RejectReason,
    ReplyOutcome,
    RequestDecision,
    Satisfaction,
    Urgency,
)
from models.rules.work_orders import MAX_NUMBER_LENGTH
from models.tables.enterprises import Enterprise
from models.tables.org import Department, Region, User
from models.tables.policy import DemandCategory

if TYPE_CHECKING:
    from models.tables.agency import AgencyRequest
    from models.tables.visits import Visit


class Demand(Model):
    id = fields.IntField(primary_key=True)
    source = fields.CharEnumField(DemandSource, max_length=16)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="demands", on_delete=fields.RESTRICT
    )
    # The enterprise's region when submitted: the scope every staff check uses.
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    category: fields.ForeignKeyNullableRelation[DemandCategory] = fields.ForeignKeyField(
        "models.DemandCategory", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    urgency = fields.CharEnumField(Urgency, max_length=16, default=Urgency.NORMAL)
    state = fields.CharEnumField(DemandState, max_length=20, db_index=True)
    # Set by the visits issue: the visit during which a cadre raised it.
    visit_id = fields.IntField(null=True, db_index=True)
    submitted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    submitted_at = fields.DatetimeField(null=True, db_index=True)
    # 工单号, given on submission (a draft has none yet): models.rules.work_orders.
    number = fields.CharField(max_length=MAX_NUMBER_LENGTH, null=True, unique=True)
    # Dispatch: the lead department (主办); assisting ones are DemandAssist rows.
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    handler: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    dispatched_at = fields.DatetimeField(null=True)
    claimed_at = fields.DatetimeField(null=True)
    limit_days = fields.IntField(null=True)
    deadline = fields.DateField(null=True)  # dispatch date + limit, in working days
    extension_days = fields.IntField(default=0)  # approved extensions, working days
    suspended_days = fields.IntField(default=0)  # finished suspensions, working days
    suspended_seconds = fields.IntField(default=0)  # the same suspensions in natural time
    # The supervisor figures' times of this demand, kept by models.ops.demand_times from the
    # columns above and the working-day index (null until claimed / replied): dispatch → claim
    # and dispatch → latest reply, suspended time excluded, in working days and seconds.
    response_working_days = fields.IntField(null=True)
    response_seconds = fields.IntField(null=True)
    handling_working_days = fields.IntField(null=True)
    handling_seconds = fields.IntField(null=True)
    suspended_at = fields.DatetimeField(null=True)  # the current suspension's start
    effective_deadline = fields.DateField(null=True, db_index=True)
    warning_date = fields.DateField(null=True)  # from this day on the demand is in warning
    deadline_confirmed = fields.BooleanField(default=True)
    # Reply (答复)
    reply_outcome = fields.CharEnumField(ReplyOutcome, max_length=16, null=True)
    reply_text = fields.TextField(null=True)
    replied_at = fields.DatetimeField(null=True)
    # Return visit and rating (回访·评价)
    contact_attempts = fields.IntField(default=0)
    rating = fields.CharEnumField(Satisfaction, max_length=20, null=True)
    rating_comment = fields.TextField(null=True)
    rated_at = fields.DatetimeField(null=True)
    rating_excluded = fields.BooleanField(default=False)  # appeal upheld: out of rankings
    appeal = fields.CharEnumField(RequestDecision, max_length=10, null=True)  # 申诉, once
    rectification_state = fields.CharEnumField(RectificationState, max_length=8, null=True)
    rectification_deadline = fields.DateField(null=True)
    rectified_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closure = fields.CharEnumField(ClosureKind, max_length=16, null=True)
    reject_reason = fields.CharEnumField(RejectReason, max_length=20, null=True)
    merged_into: fields.ForeignKeyNullableRelation[Demand] = fields.ForeignKeyField(
        "models.Demand", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reopen_count = fields.IntField(default=0)
    return_count = fields.IntField(default=0)
    extension_count = fields.IntField(default=0)
    escalation_level = fields.IntField(default=0)
    pending = fields.CharEnumField(PendingKind, max_length=16, null=True)
    last_event: fields.ForeignKeyNullableRelation[DemandEvent] = fields.ForeignKeyField(
        "models.DemandEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "demand"
        indexes = (
            ("region_id", "state"),
            # A department's demands by state; in deadline order, the handler list's demands
            # waiting to be claimed (schema.demand_reads, assignedToMe).
            ("department_id", "state", "effective_deadline", "id"),
            ("enterprise_id", "submitted_at"),
            # The mobile lists: a handler's own demands, and the author's (a contact's
            # list and every drafts check), combined with the rows above by bitmap.
            ("handler_id", "state"),
            ("submitted_by_id",),
            # Supervisor figures: a region or department and a submission period, and the
            # on-time cohort by effective deadline (models.ops.stats_demands).
            ("region_id", "submitted_at"),
            ("department_id", "submitted_at"),
            ("region_id", "effective_deadline"),
            # The handling-time percentiles read only these: scanning them takes about half
            # as long as scanning the wider index below (a year of 1M demands: 128 ms against
            # 235 ms).
            (
                "submitted_at",
                "region_id",
                "department_id",
                "category_id",
                "source",
                "handling_working_days",
                "handling_seconds",
            ),
            # Every column the figures of the demands submitted in a period read
            # (models.ops.stats_demand_sql), so that they are an index-only scan in submission
            # order. Reading the rows themselves meant one heap page per demand, as the table
            # is not in submission order: a month of 1M demands took 318 ms, now 45 ms.
            (
                "submitted_at",
                "region_id",
                "department_id",
                "category_id",
                "source",
                "state",
                "rating",
                "escalation_level",
                "effective_deadline",
                "warning_date",
                "dispatched_at",
                "replied_at",
                "rated_at",
                "contact_attempts",
                "rectification_state",
                "rectification_deadline",
                "rectified_at",
                "reopen_count",
                "return_count",
                "extension_count",
                "response_working_days",
                "response_seconds",
                "handling_working_days",
                "handling_seconds",
            ),
            # The same for the on-time cohort, by effective deadline.
            (
                "effective_deadline",
                "region_id",
                "department_id",
                "category_id",
                "source",
                "state",
                "replied_at",
            ),
        )


class DemandAssist(Model):
    """An assisting department (协办) of a dispatched demand."""

    id = fields.IntField(primary_key=True)
    demand: fields.ForeignKeyRelation[Demand] = fields.ForeignKeyField(
        "models.Demand", related_name=False, on_delete=fields.CASCADE
    )
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name=False, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "demand_assist"
        unique_together = (("demand", "department"),)


class DemandEvent(Model):
    """One transition: who, when, from → to, the note and details. Never updated or deleted."""

    id = fields.IntField(primary_key=True)
    demand: fields.ForeignKeyRelation[Demand] = fields.ForeignKeyField(
        "models.Demand", related_name=False, on_delete=fields.CASCADE
    )
    action = fields.CharEnumField(DemandAction, max_length=24)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )  # null: the system (automatic escalation, automatic resume)
    at = fields.DatetimeField()
    from_state = fields.CharEnumField(DemandState, max_length=20, null=True)
    to_state = fields.CharEnumField(DemandState, max_length=20)
    note = fields.TextField(default="")
    # Details of the transition, e.g. {"days": 3}, {"departmentId": 4}, {"rating": "SATISFIED"}.
    # Ids are row ids here; the API answers them as global ids (schema.types.demands).
    data: dict = fields.JSONField(default=dict)

    class Meta:
        table = "demand_event"
        indexes = (("demand_id", "id"),)


class DemandRequest(Model):
    """A request waiting for a decision: return, extension, suspension or an appeal."""

    id = fields.IntField(primary_key=True)
    demand: fields.ForeignKeyRelation[Demand] = fields.ForeignKeyField(
        "models.Demand", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(PendingKind, max_length=16)
    decision = fields.CharEnumField(RequestDecision, max_length=10, default=RequestDecision.PENDING)
    days = fields.IntField(null=True)
    reason = fields.TextField()
    requested_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    requested_at = fields.DatetimeField()
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")

    class Meta:
        table = "demand_request"
        indexes = (("demand_id", "kind"),)


class MutationReceipt(Model):
    """A client-made mutation id already applied, so a retried call is applied once."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    operation = fields.CharField(max_length=40)
    fingerprint = fields.CharField(max_length=64)  # SHA-256 of the call's arguments
    object_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mutation_receipt"
        unique_together = (("user", "client_id"),)


class Attachment(Model):
    """A file uploaded by a user, later linked to a demand and one of its events."""

    id = fields.IntField(primary_key=True)
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    file_name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=128, unique=True)  # path under the data folder
    demand: fields.ForeignKeyNullableRelation[Demand] = fields.ForeignKeyField(
        "models.Demand", related_name=False, null=True, on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyNullableRelation[DemandEvent] = fields.ForeignKeyField(
        "models.DemandEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Or a visit's photo, linked by the visit operations.
    visit: fields.ForeignKeyNullableRelation[Visit] = fields.ForeignKeyField(
        "models.Visit", related_name=False, null=True, on_delete=fields.CASCADE
    )
    # Or a document of an agency request (委托书, scans, the finished licence); the event that
    # brought it is named in that event's data.
    agency_request: fields.ForeignKeyNullableRelation[AgencyRequest] = fields.ForeignKeyField(
        "models.AgencyRequest", related_name=False, null=True, on_delete=fields.CASCADE
    )
    # What the bytes say about themselves, e.g. a photo's EXIF GPS position and time taken.
    meta: dict = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachment"
        indexes = (("event_id",), ("demand_id",), ("visit_id",), ("agency_request_id",))
