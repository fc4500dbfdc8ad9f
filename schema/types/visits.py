"""Visits (走访), built from plain joined rows: the visit with its enterprise and lead visitor in
one row (see schema/visit_reads.py); participants, photos and demands raised are batched per
request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models.rules.actor import Actor
from models.rules.device_clock import TimeFlag
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem, Role
from models.rules.visit_states import VisitMode, VisitStatus
from schema.demand_reads import demands_of_visit
from schema.loaders import USER_COLUMNS
from schema.relay import Node, to_global_id
from schema.types.demands import Demand
from schema.types.enterprises import ENTERPRISE_COLUMNS, Enterprise
from schema.types.files import Attachment
from schema.types.users import User

VISIT_COLUMNS = (
    "id",
    "enterprise_id",
    "region_id",
    "status",
    "mode",
    "lead_id",
    "created_by_id",
    "client_id",
    "at",
    "planned_at",
    "purpose",
    "visited_at",
    "ended_at",
    "notes",
    "policies",
    "completed_by_id",
    "completed_at",
    "notes_locked_at",
    "cancelled_at",
    "cancel_reason",
    "checkin_latitude",
    "checkin_longitude",
    "checkin_accuracy_m",
    "checkin_system",
    "checkin_mock",
    "checkin_device_time",
    "checkin_received_at",
    "distance_m",
    "location_trust",
    "trust_reason",
    "device_clock_offset_minutes",
    "time_flag",
    "reported_visited_at",
    "version",
    "created_at",
)
# One row per visit: its own columns, its enterprise and its lead visitor, joined.
VISIT_ROW_COLUMNS = (
    *VISIT_COLUMNS,
    "region__path",
    *(f"enterprise__{c}" for c in ENTERPRISE_COLUMNS),
    *(f"lead__{c}" for c in USER_COLUMNS),
)

Row = dict[str, Any]


@strawberry.enum(description="What the signed-in user may do with a visit now.")
class VisitAction(Enum):
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"
    EDIT_NOTES = "EDIT_NOTES"


@dataclass(frozen=True)
class VisitView:
    """What every visit of one response shares: who asks, and when."""

    actor: Actor
    now: datetime


@strawberry.type(description="A policy handed over on a visit (送政策).")
class DeliveredPolicy:
    policy_id: strawberry.ID | None = strawberry.field(
        description="The catalog entry, or null when typed in."
    )
    title: str


@strawberry.type(description="Where the phone said it was when the cadre checked in.")
class VisitCheckIn:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem
    accuracy: float | None = strawberry.field(description="Reported accuracy radius, metres.")
    mock_location: bool = strawberry.field(description="The phone flagged a mock location.")
    device_time: datetime | None = strawberry.field(description="The phone's clock at the fix.")
    received_at: datetime = strawberry.field(description="When the server received it.")


@strawberry.type(description="A cadre on a visit: the lead visitor or an accompanying one.")
class VisitParticipant:
    user: User
    is_lead: bool


@strawberry.type(description="A visit (走访) to an enterprise: planned, then logged or cancelled.")
class Visit(Node):
    pk: strawberry.Private[int]
    row: strawberry.Private[Row]
    view: strawberry.Private[VisitView]
    status: VisitStatus
    mode: VisitMode
    client_id: str = strawberry.field(description="The client-made UUID of the creating call.")
    at: datetime = strawberry.field(
        description="When it happens: the planned time while planned, the visit time once logged."
    )
    planned_at: datetime | None
    purpose: str
    visited_at: datetime | None = strawberry.field(
        description="When it happened, on the server's clock: the phone's time, shifted by its "
        "measured clock offset and no later than the receipt (see timeFlag)."
    )
    ended_at: datetime | None
    reported_visited_at: datetime | None = strawberry.field(
        description="The visit time the phone gave, when visitedAt differs from it."
    )
    device_clock_offset_minutes: int | None = strawberry.field(
        description="How far the phone's clock was ahead (+) or behind (-) the server's when "
        "it sent the visit (sentAt); null when not sent or under 2 minutes."
    )
    time_flag: TimeFlag | None = strawberry.field(
        description="What the server did to the phone's times; null: taken as given."
    )
    notes: str = strawberry.field(description="What was found: production, orders, problems.")
    completed_at: datetime | None = strawberry.field(
        description="When the server received the logged visit (its clock), beside the "
        "phone's times."
    )
    notes_locked_at: datetime | None = strawberry.field(
        description="After this the author can no longer correct the notes."
    )
    cancelled_at: datetime | None
    cancel_reason: str
    location_trust: LocationTrust | None = strawberry.field(
        description="Set when logged; only TRUSTED on-site visits count toward coverage."
    )
    trust_reason: TrustReason | None
    distance_meters: float | None = strawberry.field(
        description="From the check-in to the enterprise, both converted to WGS-84."
    )
    version: int = strawberry.field(description="Pass back on a change to detect races.")

    @classmethod
    def from_row(cls, r: Row, view: VisitView) -> Visit:
        return cls(
            id=to_global_id("Visit", r["id"]),
            pk=r["id"],
            row=r,
            view=view,
            status=VisitStatus(r["status"]),
            mode=VisitMode(r["mode"]),
            client_id=r["client_id"],
            at=r["at"],
            planned_at=r["planned_at"],
            purpose=r["purpose"],
            visited_at=r["visited_at"],
            ended_at=r["ended_at"],
            reported_visited_at=r["reported_visited_at"],
            device_clock_offset_minutes=r["device_clock_offset_minutes"],
            time_flag=TimeFlag(r["time_flag"]) if r["time_flag"] else None,
            notes=r["notes"],
            completed_at=r["completed_at"],
            notes_locked_at=r["notes_locked_at"],
            cancelled_at=r["cancelled_at"],
            cancel_reason=r["cancel_reason"],
            location_trust=LocationTrust(r["location_trust"]) if r["location_trust"] else None,
            trust_reason=TrustReason(r["trust_reason"]) if r["trust_reason"] else None,
            distance_meters=r["distance_m"],
            version=r["version"],
        )

    @strawberry.field(description="On site, logged, and the check-in TRUSTED.")
    def counts_toward_coverage(self) -> bool:
        return counts_toward_coverage(self.row)

    @strawberry.field
    def enterprise(self) -> Enterprise:
        r = self.row
        return Enterprise.from_row({c: r[f"enterprise__{c}"] for c in ENTERPRISE_COLUMNS})

    @strawberry.field(description="The lead visitor (带队).")
    def lead(self) -> User:
        r = self.row
        return User.from_row({c: r[f"lead__{c}"] for c in USER_COLUMNS})

    @strawberry.field
    def policies(self) -> list[DeliveredPolicy]:
        return [
            DeliveredPolicy(
                policy_id=to_global_id("SupportPolicy", p["policyId"])
                if p.get("policyId")
                else None,
                title=p["title"],
            )
            for p in self.row["policies"] or []
        ]

    @strawberry.field
    def check_in(self) -> VisitCheckIn | None:
        r = self.row
        if r["checkin_latitude"] is None:
            return None
        return VisitCheckIn(
            latitude=r["checkin_latitude"],
            longitude=r["checkin_longitude"],
            coordinate_system=CoordinateSystem(r["checkin_system"]),
            accuracy=r["checkin_accuracy_m"],
            mock_location=r["checkin_mock"],
            device_time=r["checkin_device_time"],
            received_at=r["checkin_received_at"],
        )

    @strawberry.field(description="The actions the signed-in user may perform now.")
    def allowed_actions(self) -> list[VisitAction]:
        return allowed_visit_actions(self.row, self.view)

    @strawberry.field(description="Everyone on the visit, the lead first.")
    async def participants(self, info: Info) -> list[VisitParticipant]:
        rows = await info.context.loaders.participants_by_visit.load(self.pk)
        return [
            VisitParticipant(
                user=User.from_row({c: r[f"user__{c}"] for c in USER_COLUMNS}),
                is_lead=r["is_lead"],
            )
            for r in rows
        ]

    @strawberry.field(description="Photos taken on the visit.")
    async def photos(self, info: Info) -> list[Attachment]:
        rows = await info.context.loaders.attachments_by_visit.load(self.pk)
        return [Attachment.from_row(r) for r in rows]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        row = await info.context.loaders.user.load(self.row["created_by_id"])
        return User.from_row(row) if row else None

    @strawberry.field(description="Demands raised during the visit (source VISIT) you may see.")
    async def demands(self, info: Info) -> list[Demand]:
        return await demands_of_visit(info, self.pk)


def counts_toward_coverage(r: Row) -> bool:
    return (
        r["status"] == VisitStatus.COMPLETED
        and r["mode"] == VisitMode.ON_SITE
        and r["location_trust"] == LocationTrust.TRUSTED
    )


def allowed_visit_actions(r: Row, view: VisitView) -> list[VisitAction]:
    """Mirrors the checks of models.ops.visits: the lead or creator, still a cadre of the
    region, may complete or cancel a planned visit; the author corrects notes until they lock."""
    actor = view.actor
    cadre = actor.covers(r["region__path"], (Role.CADRE,))
    mine = actor.user_id in (r["lead_id"], r["created_by_id"])
    out: list[VisitAction] = []
    if r["status"] == VisitStatus.PLANNED and mine and cadre:
        out += [VisitAction.COMPLETE, VisitAction.CANCEL]
    locked = r["notes_locked_at"] is not None and view.now >= r["notes_locked_at"]
    if (
        r["status"] == VisitStatus.COMPLETED
        and r["completed_by_id"] == actor.user_id
        and not locked
    ):
        out.append(VisitAction.EDIT_NOTES)
    return out


@strawberry.type(description="An enterprise assigned to the signed-in leader (包联), for a period.")
class AssignedEnterprise:
    enterprise: Enterprise
    period_start: date
    period_end: date
    visited_in_period: bool = strawberry.field(
        description="Visited on site by this leader in the period, with a TRUSTED check-in."
    )
    visits_in_period: int = strawberry.field(description="Such visits in the period.")
    last_visit_at: datetime | None = strawberry.field(
        description="This leader's latest logged visit to it, any mode or trust."
    )
