"""Demands, their timeline events and categories, built from plain joined rows.

The list and the detail fetch one row per demand with its enterprise, department, category and
last event joined in (see schema/demand_reads.py); every field here resolves synchronously from
that row and the request's `DemandView` (calendars, policies, who is asking), except the rarer
relations (submitter, assisting departments, files, the whole timeline), which go through
per-request DataLoaders unless the detail read them with the row (`timeline`, `attachments`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models.rules.actor import Actor
from models.rules.demand_flow import Facts, Relation, action_states, allowed_actions
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
from models.rules.demand_view import (
    Clock,
    effective_deadline_now,
    facts_of,
    in_warning,
    is_overdue,
    working_days_left,
)
from models.rules.policy import Policy
from models.rules.roles import Role
from models.rules.workdays import WorkCalendar
from schema.loaders import USER_COLUMNS, prime_event_files, prime_users
from schema.relay import Node, global_ids_in, to_global_id
from schema.types.actions import ActionState, shown_states
from schema.types.enterprises import ENTERPRISE_COLUMNS, Enterprise
from schema.types.files import Attachment
from schema.types.org import Department
from schema.types.users import User

strawberry.enum(DemandState, description="Where a demand is in its closed loop.")
strawberry.enum(DemandSource)
strawberry.enum(Urgency, description="一般 NORMAL, 紧急 URGENT, 特急 CRITICAL.")
strawberry.enum(ReplyOutcome, description="已解决 RESOLVED, 已解释 EXPLAINED, 部分解决 PARTIAL.")
strawberry.enum(Satisfaction, description="The five national levels of 好差评.")
strawberry.enum(RejectReason)
strawberry.enum(ClosureKind)
strawberry.enum(PendingKind, description="A request waiting for a decision.")
strawberry.enum(RequestDecision)
strawberry.enum(RectificationState)
strawberry.enum(DemandAction, description="A transition, as buttons and the timeline name it.")

DEMAND_COLUMNS = (
    "id",
    "source",
    "enterprise_id",
    "region_id",
    "category_id",
    "title",
    "description",
    "urgency",
    "state",
    "visit_id",
    "submitted_by_id",
    "submitted_at",
    "number",
    "department_id",
    "handler_id",
    "dispatched_at",
    "claimed_at",
    "limit_days",
    "deadline",
    "extension_days",
    "suspended_days",
    "suspended_at",
    "effective_deadline",
    "warning_date",
    "deadline_confirmed",
    "reply_outcome",
    "reply_text",
    "replied_at",
    "contact_attempts",
    "rating",
    "rating_comment",
    "rated_at",
    "rating_excluded",
    "appeal",
    "rectification_state",
    "rectification_deadline",
    "rectified_at",
    "closed_at",
    "closure",
    "reject_reason",
    "merged_into_id",
    "reopen_count",
    "return_count",
    "extension_count",
    "escalation_level",
    "pending",
    "version",
    "created_at",
)
EVENT_COLUMNS = ("id", "action", "at", "from_state", "to_state", "note", "data", "actor_id")
CATEGORY_FIELDS = ("id", "name", "code", "limit_normal", "limit_urgent", "limit_critical")
# One row per demand: its own columns and its to-one relations, joined.
DEMAND_ROW_COLUMNS = (
    *DEMAND_COLUMNS,
    "region__path",
    *(f"enterprise__{c}" for c in ENTERPRISE_COLUMNS),
    "department__name",
    "department__code",
    "department__region_id",
    *(f"category__{c}" for c in CATEGORY_FIELDS[1:]),
    "category__is_active",
    *(f"last_event__{c}" for c in EVENT_COLUMNS),
    "last_event__actor__display_name",
    *(f"handler__{c}" for c in USER_COLUMNS),
)

# The columns a list page reads when its nodes ask only for fields of LIST_FIELD_COLUMNS
# (schema.demand_reads): those of Demand.from_row, the page's regions (policies, calendars), the
# keys the viewer's relation is judged by and the list's order, plus each asked field's own.
# Anything else asked reads the whole row (DEMAND_ROW_COLUMNS). Reading, converting and
# building dicts of the 85 columns of 20 rows cost the handler list more Python than all its
# other fields.
_BASE_COLUMNS = (
    "id",
    "title",
    "description",
    "source",
    "urgency",
    "state",
    "version",
    "region_id",
    "region__path",
    "enterprise_id",
    "department_id",
    "submitted_by_id",
    "effective_deadline",
)
_CLOCK_COLUMNS = (
    "dispatched_at",
    "effective_deadline",
    "warning_date",
    "suspended_at",
    "extension_days",
)
LIST_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("__typename", "id", "title", "description", "source", "urgency", "state", "version"),
        (),
    ),
    **dict.fromkeys(
        ("effectiveDeadline", "overdue", "warning", "remainingWorkingDays"), _CLOCK_COLUMNS
    ),
    # What the rules judge a demand's actions by (Demand._facts).
    **dict.fromkeys(
        ("allowedActions", "actions"),
        (*_CLOCK_COLUMNS, "pending", "rating", "appeal", "escalation_level"),
    ),
    "deadline": ("deadline",),
    "limitDays": ("limit_days",),
    "deadlineConfirmed": ("deadline_confirmed",),
    "submittedAt": ("submitted_at",),
    "number": ("number",),
    "dispatchedAt": ("dispatched_at",),
    "claimedAt": ("claimed_at",),
    "closedAt": ("closed_at",),
    "enterprise": tuple(c for c in DEMAND_ROW_COLUMNS if c.startswith("enterprise__")),
    "category": ("category_id", *(c for c in DEMAND_ROW_COLUMNS if c.startswith("category__"))),
    "department": (
        "department_id",
        "department__name",
        "department__code",
        "department__region_id",
    ),
    "lastEvent": tuple(c for c in DEMAND_ROW_COLUMNS if c.startswith("last_event__")),
    "handler": ("handler_id", *(c for c in DEMAND_ROW_COLUMNS if c.startswith("handler__"))),
}


def list_columns(fields: frozenset[str]) -> tuple[str, ...]:
    """The row columns a list page of nodes asking for `fields` reads, in DEMAND_ROW_COLUMNS'
    order; all of them when a field is not in LIST_FIELD_COLUMNS."""
    if not fields <= LIST_FIELD_COLUMNS.keys():
        return DEMAND_ROW_COLUMNS
    wanted = set(_BASE_COLUMNS).union(*(LIST_FIELD_COLUMNS[f] for f in fields))
    return tuple(c for c in DEMAND_ROW_COLUMNS if c in wanted)


Row = dict[str, Any]
NUMBER_DESCRIPTION = (
    "工单号, given on submission, to read out on the phone and search by: the region's prefix "
    "(region policy workOrderPrefix), the Asia/Shanghai date and the day's sequence, e.g. "
    "QH2026120700012; an agency request's has a B after the date (QH20261207B00003)."
)
_ENTERPRISE_KEYS = tuple((c, f"enterprise__{c}") for c in ENTERPRISE_COLUMNS)


@dataclass
class DemandView:
    """What every demand of one response shares: who asks, today, calendars and policies."""

    actor: Actor
    today: date
    calendars: dict[int, WorkCalendar] = field(default_factory=dict)
    policies: dict[int, Policy] = field(default_factory=dict)
    contact_enterprises: frozenset[int] = frozenset()

    def relation(self, r: Row) -> Relation:
        a = self.actor
        path = r["region__path"]
        dept = r["department_id"]
        return Relation(
            dispatcher=a.covers(path, (Role.DISPATCHER,)),
            handler=dept is not None and dept in a.department_ids(),
            department_lead=dept is not None and dept in a.department_ids(lead_only=True),
            supervisor=a.covers(path, (Role.SUPERVISOR,)),
            contact=r["enterprise_id"] in self.contact_enterprises,
            submitter=r["submitted_by_id"] == a.user_id,
        )


def _enum(kind: Any, value: Any) -> Any:
    return None if value is None else kind(value)


@strawberry.type(description="A kind of demand and its limits in working days per urgency.")
class DemandCategory(Node):
    pk: strawberry.Private[int]
    name: str
    code: str
    limit_normal: int = strawberry.field(description="一般: working days.")
    limit_urgent: int = strawberry.field(description="紧急: working days.")
    limit_critical: int = strawberry.field(description="特急: working days.")
    is_active: bool

    @classmethod
    def from_row(cls, r: Row, prefix: str = "", pk: int | None = None) -> DemandCategory:
        """`pk`: the id when the row holds it elsewhere than `{prefix}id`."""
        pk = r[f"{prefix}id"] if pk is None else pk
        return cls(
            id=to_global_id("DemandCategory", pk),
            pk=pk,
            name=r[f"{prefix}name"],
            code=r[f"{prefix}code"],
            limit_normal=r[f"{prefix}limit_normal"],
            limit_urgent=r[f"{prefix}limit_urgent"],
            limit_critical=r[f"{prefix}limit_critical"],
            is_active=r[f"{prefix}is_active"],
        )


# Keys of a demand event's data that hold row ids, and the type of each (models.ops.demands).
EVENT_DATA_IDS = {
    "visitId": "Visit",
    "intoId": "Demand",
    "departmentId": "Department",
    "assistingDepartmentIds": "Department",
}


@strawberry.type(description="One transition in a demand's timeline: who, when, from → to.")
class DemandEvent(Node):
    pk: strawberry.Private[int]
    action: DemandAction
    at: datetime
    from_state: DemandState | None
    to_state: DemandState
    note: str
    data: JSON = strawberry.field(
        description='Details of the transition, e.g. {"days": 3}, {"rating": "SATISFIED"} or '
        '{"departmentId": "…"}; ids in it (visitId, intoId, departmentId, '
        "assistingDepartmentIds) are global ids, as everywhere in the API."
    )
    actor_name: str | None = strawberry.field(description="Null for the system.")
    actor_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: Row, prefix: str = "", actor_name: str | None = None) -> DemandEvent:
        return cls(
            id=to_global_id("DemandEvent", r[f"{prefix}id"]),
            pk=r[f"{prefix}id"],
            action=DemandAction(r[f"{prefix}action"]),
            at=r[f"{prefix}at"],
            from_state=_enum(DemandState, r[f"{prefix}from_state"]),
            to_state=DemandState(r[f"{prefix}to_state"]),
            note=r[f"{prefix}note"],
            data=cast(JSON, global_ids_in(r[f"{prefix}data"] or {}, EVENT_DATA_IDS)),
            actor_name=actor_name,
            actor_pk=r[f"{prefix}actor_id"],
        )

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        if self.actor_pk is None:
            return None
        row = await info.context.loaders.user.load(self.actor_pk)
        return User.from_row(row) if row else None

    @strawberry.field
    async def attachments(self, info: Info) -> list[Attachment]:
        rows = await info.context.loaders.attachments_by_event.load(self.pk)
        return [Attachment.from_row(r) for r in rows]


@strawberry.type(description="A transition of a demand as the viewer's button shows it.")
class DemandActionState(ActionState):
    action: DemandAction = strawberry.field(
        description="The transition, as allowedActions names it."
    )


@strawberry.type(
    description="A demand (诉求): a work order tracked until the enterprise is satisfied."
)
class Demand(Node):
    pk: strawberry.Private[int]
    row: strawberry.Private[Row]
    view: strawberry.Private[DemandView]
    title: str
    description: str
    source: DemandSource
    urgency: Urgency
    state: DemandState
    version: int = strawberry.field(description="Pass back on a transition to detect races.")

    @classmethod
    def from_row(cls, r: Row, view: DemandView) -> Demand:
        return cls(
            id=to_global_id("Demand", r["id"]),
            pk=r["id"],
            row=r,
            view=view,
            title=r["title"],
            description=r["description"],
            source=DemandSource(r["source"]),
            urgency=Urgency(r["urgency"]),
            state=DemandState(r["state"]),
            version=r["version"],
        )

    # --- the clock

    def _clock(self) -> Clock:
        r = self.row
        return Clock(
            state=self.state,
            dispatched_at=r["dispatched_at"],
            effective_deadline=r["effective_deadline"],
            warning_date=r["warning_date"],
            suspended_at=r["suspended_at"],
            extension_days=r["extension_days"],
        )

    def _calendar(self) -> WorkCalendar:
        return self.view.calendars[self.row["region_id"]]

    @strawberry.field(description="Dispatch date + the limit, in working days (Asia/Shanghai).")
    def deadline(self) -> date | None:
        return self.row["deadline"]

    @strawberry.field(
        description="The deadline with approved extensions added and suspended working days "
        "excluded; while suspended it moves on with each working day."
    )
    def effective_deadline(self) -> date | None:
        return effective_deadline_now(self._clock(), self._calendar(), self.view.today)

    @strawberry.field(
        description="False when the deadline was counted into a year whose holiday arrangement "
        "is not yet published (weekends only there)."
    )
    def deadline_confirmed(self) -> bool:
        return bool(self.row["deadline_confirmed"])

    @strawberry.field(
        description="With the department, not suspended, past the effective deadline."
    )
    def overdue(self) -> bool:
        return is_overdue(self._clock(), self.view.today)

    @strawberry.field(description="Within the region's warning lead (预警) before the deadline.")
    def warning(self) -> bool:
        return in_warning(self._clock(), self.view.today)

    @strawberry.field(
        description="Working days from today to the effective deadline; negative when overdue, "
        "null when no clock runs."
    )
    def remaining_working_days(self) -> int | None:
        return working_days_left(self._clock(), self._calendar(), self.view.today)

    @strawberry.field
    def limit_days(self) -> int | None:
        return self.row["limit_days"]

    @strawberry.field(description="Approved extensions, working days.")
    def extension_days(self) -> int:
        return int(self.row["extension_days"])

    @strawberry.field(description="Working days spent suspended (finished suspensions).")
    def suspended_days(self) -> int:
        return int(self.row["suspended_days"])

    # --- what this viewer may do now

    def _facts(self) -> Facts:
        r = self.row
        v = self.view
        return facts_of(
            self._clock(),
            pending=_enum(PendingKind, r["pending"]),
            rating=_enum(Satisfaction, r["rating"]),
            appeal=_enum(RequestDecision, r["appeal"]),
            escalation_level=r["escalation_level"],
            cal=self._calendar(),
            policy=v.policies[r["region_id"]],
            today=v.today,
        )

    @strawberry.field(description="The transitions the signed-in user may perform now.")
    def allowed_actions(self) -> list[DemandAction]:
        return allowed_actions(self._facts(), self.view.relation(self.row))

    @strawberry.field(
        description="Every transition the signed-in user's role on this demand could take, "
        "allowed now or not: why not (the error the mutation would return) and the day or "
        "amount that matters (退单 window, extension days left, reply due). Read from the "
        "demand's own row, like allowedActions."
    )
    def actions(self, info: Info) -> list[DemandActionState]:
        judged = action_states(self._facts(), self.view.relation(self.row))
        return shown_states(info, judged, None, DemandActionState)

    @strawberry.field(
        description="A request waiting for a decision (return, extension, suspension)."
    )
    def pending_request(self) -> PendingKind | None:
        return _enum(PendingKind, self.row["pending"])

    # --- relations from the joined row

    @strawberry.field
    def enterprise(self) -> Enterprise:
        r = self.row
        return Enterprise.from_row({c: r[k] for c, k in _ENTERPRISE_KEYS})

    @strawberry.field
    def category(self) -> DemandCategory | None:
        r = self.row
        if r["category_id"] is None:
            return None
        return DemandCategory.from_row(r, "category__", r["category_id"])

    @strawberry.field(description="The lead department (主办).")
    def department(self) -> Department | None:
        r = self.row
        if r["department_id"] is None:
            return None
        return Department.from_row(
            {
                "id": r["department_id"],
                "name": r["department__name"],
                "code": r["department__code"],
                "region_id": r["department__region_id"],
            }
        )

    @strawberry.field(description="The latest timeline event.")
    def last_event(self) -> DemandEvent | None:
        r = self.row
        if r["last_event__id"] is None:
            return None
        return DemandEvent.from_row(r, "last_event__", r["last_event__actor__display_name"])

    # --- dates and outcomes

    @strawberry.field
    def submitted_at(self) -> datetime | None:
        return self.row["submitted_at"]

    @strawberry.field(description=NUMBER_DESCRIPTION + " Null while a draft.")
    def number(self) -> str | None:
        return self.row["number"]

    @strawberry.field
    def dispatched_at(self) -> datetime | None:
        return self.row["dispatched_at"]

    @strawberry.field(description="签收: when the handler claimed it.")
    def claimed_at(self) -> datetime | None:
        return self.row["claimed_at"]

    @strawberry.field
    def suspended_at(self) -> datetime | None:
        return self.row["suspended_at"]

    @strawberry.field
    def reply_outcome(self) -> ReplyOutcome | None:
        return _enum(ReplyOutcome, self.row["reply_outcome"])

    @strawberry.field
    def reply_text(self) -> str | None:
        return self.row["reply_text"]

    @strawberry.field
    def replied_at(self) -> datetime | None:
        return self.row["replied_at"]

    @strawberry.field
    def rating(self) -> Satisfaction | None:
        return _enum(Satisfaction, self.row["rating"])

    @strawberry.field
    def rating_comment(self) -> str | None:
        return self.row["rating_comment"]

    @strawberry.field
    def rated_at(self) -> datetime | None:
        return self.row["rated_at"]

    @strawberry.field(description="An upheld appeal keeps the rating on record, out of rankings.")
    def rating_excluded(self) -> bool:
        return bool(self.row["rating_excluded"])

    @strawberry.field(description="申诉 of a bad rating: PENDING, APPROVED (upheld) or REFUSED.")
    def appeal(self) -> RequestDecision | None:
        return _enum(RequestDecision, self.row["appeal"])

    @strawberry.field(description="整改 after a bad rating.")
    def rectification_state(self) -> RectificationState | None:
        return _enum(RectificationState, self.row["rectification_state"])

    @strawberry.field
    def rectification_deadline(self) -> date | None:
        return self.row["rectification_deadline"]

    @strawberry.field
    def closed_at(self) -> datetime | None:
        return self.row["closed_at"]

    @strawberry.field
    def closure(self) -> ClosureKind | None:
        return _enum(ClosureKind, self.row["closure"])

    @strawberry.field
    def reject_reason(self) -> RejectReason | None:
        return _enum(RejectReason, self.row["reject_reason"])

    @strawberry.field(description="The demand this one was merged into.")
    def merged_into_id(self) -> strawberry.ID | None:
        target = self.row["merged_into_id"]
        return None if target is None else to_global_id("Demand", target)

    @strawberry.field(description="Failed return-visit contacts so far.")
    def contact_attempts(self) -> int:
        return int(self.row["contact_attempts"])

    @strawberry.field(description="重办: reopened after a bad rating.")
    def reopen_count(self) -> int:
        return int(self.row["reopen_count"])

    @strawberry.field(description="退单 approved.")
    def return_count(self) -> int:
        return int(self.row["return_count"])

    @strawberry.field(description="延期 approved.")
    def extension_count(self) -> int:
        return int(self.row["extension_count"])

    @strawberry.field(description="督办 level, 0 to 3.")
    def escalation_level(self) -> int:
        return int(self.row["escalation_level"])

    # --- rarer relations, batched per request

    @strawberry.field
    async def submitted_by(self, info: Info) -> User | None:
        row = await info.context.loaders.user.load(self.row["submitted_by_id"])
        return User.from_row(row) if row else None

    @strawberry.field(description="The handler who claimed it (承办人).")
    def handler(self) -> User | None:
        r = self.row
        if r["handler_id"] is None:
            return None
        return User.from_row({c: r[f"handler__{c}"] for c in USER_COLUMNS})

    @strawberry.field(description="Assisting departments (协办).")
    async def assisting_departments(self, info: Info) -> list[Department]:
        rows = await info.context.loaders.assists_by_demand.load(self.pk)
        return [Department.from_row(r) for r in rows]

    @strawberry.field(description="Every file of the demand, its replies and its events.")
    async def attachments(self, info: Info) -> list[Attachment]:
        rows = self.row.get("attachments")  # read with the row by the detail
        if rows is None:
            rows = await info.context.loaders.attachments_by_demand.load(self.pk)
        return [Attachment.from_row(r) for r in rows]

    @strawberry.field(description="The whole timeline, oldest first: the audit trail.")
    async def timeline(self, info: Info) -> list[DemandEvent]:
        loaders = info.context.loaders
        # The events' files are taken from the demand's: read with the row by the detail
        # (schema.demand_reads.get_demand), else loaded with the demand's own `attachments`.
        if "timeline" in self.row:
            rows, files = self.row["timeline"], self.row["attachments"]
        else:
            rows, files = await asyncio.gather(
                loaders.events_by_demand.load(self.pk),
                loaders.attachments_by_demand.load(self.pk),
            )
        prime_users(loaders.user, rows, "actor__")
        prime_event_files(loaders.attachments_by_event, rows, files)
        return [DemandEvent.from_row(r, actor_name=r["actor__display_name"]) for r in rows]
