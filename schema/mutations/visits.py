"""Visit mutations: each parses its input, calls one operation in models.ops.visits, and maps
the result or the refusal to `{visit errors}`. Creates take a client-made UUID (`clientId`):
the app queues them offline and may send them twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from strawberry.types import Info

from models.ops import visits as ops
from models.rules.actor import Actor
from models.rules.device_clock import aware
from models.tables.visits import Visit as VisitModel
from schema.errors import UserError, attempt
from schema.relay import id_of, pk_of
from schema.types.demands import Urgency
from schema.types.enums import CoordinateSystem, VisitMode
from schema.types.visits import Visit
from schema.visit_reads import get_visit

CLIENT_ID = (
    "A UUID the app makes when the user acts: sent again (the first answer was lost), "
    "the same content returns the first result; other content is CLIENT_ID_REUSED."
)


@strawberry.type
class VisitPayload:
    visit: Visit | None
    errors: list[UserError]


@strawberry.input(description="The phone's position at the enterprise, as its map SDK gave it.")
class CheckInInput:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem = strawberry.field(
        description="GCJ02 from Amap/Tencent, BD09 from Baidu, WGS84 from raw GPS."
    )
    accuracy: float | None = strawberry.field(default=None, description="Metres.")
    mock_location: bool = strawberry.field(
        default=False, description="The OS reported the fix as coming from a mock provider."
    )
    device_time: datetime | None = strawberry.field(
        default=None,
        description="The phone's clock when the fix was taken (kept as sent, beside the "
        "server's receipt time).",
    )


@strawberry.input(description="A policy handed over: a catalog entry or a title typed in.")
class PolicyGivenInput:
    policy_id: strawberry.ID | None = None
    title: str | None = None


@strawberry.input(description="A demand the enterprise raised during the visit.")
class RaisedDemandInput:
    title: str
    description: str
    category_id: strawberry.ID | None = None
    urgency: Urgency | None = None
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Files uploaded first (uploadAttachment)."
    )


@strawberry.input
class VisitReportInput:
    mode: VisitMode | None = strawberry.field(
        default=None, description="Default ON_SITE (or the planned mode)."
    )
    visited_at: datetime | None = strawberry.field(
        default=None,
        description="By the phone's clock; default: the check-in's device time, else the "
        "receipt. Never refused for being ahead: put on the server's clock (see sentAt), and "
        "no later than the receipt (timeFlag CLOCK_AHEAD when more than 10 minutes ahead).",
    )
    ended_at: datetime | None = strawberry.field(
        default=None, description="By the phone's clock, treated as visitedAt."
    )
    sent_at: datetime | None = strawberry.field(
        default=None,
        description="The phone's clock as it sends this call, set anew on every send "
        "(retries too; not part of the content a retry must repeat). Its difference from the "
        "server's clock is the phone's clock offset: the visit's times are shifted by it "
        "(timeFlag CLOCK_CORRECTED). Times without an offset are read in Asia/Shanghai.",
    )
    notes: str = strawberry.field(
        default="", description="What was found: production, orders, problems."
    )
    policies: list[PolicyGivenInput] | None = None
    check_in: CheckInInput | None = strawberry.field(
        default=None, description="Needed for an ON_SITE visit to count toward coverage."
    )
    photo_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Images uploaded first (uploadAttachment)."
    )
    demands: list[RaisedDemandInput] | None = strawberry.field(
        default=None, description="Each becomes a VISIT-source demand linked to this visit."
    )


@strawberry.input
class PlanVisitInput:
    client_id: str = strawberry.field(description=CLIENT_ID)
    enterprise_id: strawberry.ID
    planned_at: datetime
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="The lead visitor (带队); default: me."
    )
    participant_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Accompanying cadres."
    )
    mode: VisitMode | None = None
    purpose: str = ""


@strawberry.input
class LogVisitInput(VisitReportInput):
    client_id: str = strawberry.field(description=CLIENT_ID)
    enterprise_id: strawberry.ID
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="The lead visitor (带队); default: me."
    )
    participant_ids: list[strawberry.ID] | None = None


@strawberry.input
class CompleteVisitInput(VisitReportInput):
    visit_id: strawberry.ID
    client_id: str = strawberry.field(description=CLIENT_ID)
    version: int | None = strawberry.field(
        default=None, description="The version you read; if it changed: CONFLICT."
    )


@strawberry.input
class CancelVisitInput:
    visit_id: strawberry.ID
    reason: str
    client_mutation_id: str | None = None
    version: int | None = None


@strawberry.input
class UpdateVisitNotesInput:
    visit_id: strawberry.ID
    notes: str
    policies: list[PolicyGivenInput] | None = strawberry.field(
        default=None, description="Null leaves them as they are."
    )
    version: int | None = None


def _ids(ids: list[strawberry.ID] | None, type_name: str) -> list[int]:
    return [id_of(i, type_name) for i in ids or []]


def _policies(items: list[PolicyGivenInput] | None) -> list[ops.PolicyGiven]:
    return [
        ops.PolicyGiven(policy_id=pk_of(p.policy_id, "SupportPolicy"), title=p.title)
        for p in items or []
    ]


def _aware(moment: datetime | None) -> datetime | None:
    return aware(moment) if moment is not None else None


def _report(i: VisitReportInput) -> ops.VisitReport:
    c = i.check_in
    return ops.VisitReport(
        mode=i.mode.value if i.mode else None,
        visited_at=_aware(i.visited_at),
        ended_at=_aware(i.ended_at),
        notes=i.notes,
        policies=_policies(i.policies),
        check_in=ops.CheckInData(
            latitude=c.latitude,
            longitude=c.longitude,
            system=c.coordinate_system.value,
            accuracy_m=c.accuracy,
            mock_location=c.mock_location,
            device_time=_aware(c.device_time),
        )
        if c
        else None,
        photo_ids=_ids(i.photo_ids, "Attachment"),
        demands=[
            ops.RaisedDemand(
                title=d.title,
                description=d.description,
                category_id=pk_of(d.category_id, "DemandCategory"),
                urgency=d.urgency.value if d.urgency else None,
                attachment_ids=_ids(d.attachment_ids, "Attachment"),
            )
            for d in i.demands or []
        ],
    )


def _people(lead: strawberry.ID | None, others: list[strawberry.ID] | None) -> ops.VisitPeople:
    return ops.VisitPeople(lead_id=pk_of(lead, "User"), participant_ids=_ids(others, "User"))


async def _run(info: Info, op: Callable[[Actor], Awaitable[VisitModel]]) -> VisitPayload:
    ctx = info.context

    async def run() -> Visit | None:
        actor = ctx.require_actor()
        changed = await op(actor)
        return await get_visit(actor, changed.id)

    visit, errors = await attempt(ctx.locale, run)
    return VisitPayload(visit=visit, errors=errors)


@strawberry.type
class VisitMutations:
    @strawberry.mutation(description="Plan a visit (cadres of the enterprise's region).")
    async def plan_visit(self, info: Info, input: PlanVisitInput) -> VisitPayload:
        return await _run(
            info,
            lambda a: ops.plan_visit(
                a,
                id_of(input.enterprise_id, "Enterprise"),
                _people(input.lead_id, input.participant_ids),
                aware(input.planned_at),
                mode=input.mode.value if input.mode else None,
                purpose=input.purpose,
                client_id=input.client_id,
            ),
        )

    @strawberry.mutation(
        description="Log a visit that happened (planned or not), with its check-in, photos, "
        "policies delivered and the demands raised, in one call."
    )
    async def log_visit(self, info: Info, input: LogVisitInput) -> VisitPayload:
        return await _run(
            info,
            lambda a: ops.log_visit(
                a,
                id_of(input.enterprise_id, "Enterprise"),
                _people(input.lead_id, input.participant_ids),
                _report(input),
                client_id=input.client_id,
                sent_at=_aware(input.sent_at),
            ),
        )

    @strawberry.mutation(
        description="Turn a planned visit into a logged one (lead or planner); one cancelled "
        "meanwhile is logged all the same, one already logged is VISIT_ALREADY_COMPLETED."
    )
    async def complete_visit(self, info: Info, input: CompleteVisitInput) -> VisitPayload:
        return await _run(
            info,
            lambda a: ops.complete_visit(
                a,
                id_of(input.visit_id, "Visit"),
                _report(input),
                client_id=input.client_id,
                expected_version=input.version,
                sent_at=_aware(input.sent_at),
            ),
        )

    @strawberry.mutation(
        description="Cancel a planned visit (lead or planner); a cancelled one is answered as "
        "it is, a logged one is VISIT_ALREADY_COMPLETED."
    )
    async def cancel_visit(self, info: Info, input: CancelVisitInput) -> VisitPayload:
        return await _run(
            info,
            lambda a: ops.cancel_visit(
                a,
                id_of(input.visit_id, "Visit"),
                input.reason,
                client_id=input.client_mutation_id,
                expected_version=input.version,
            ),
        )

    @strawberry.mutation(
        description="Correct a logged visit's notes and policies: its author, until they lock "
        "(region policy visitNotesEditHours)."
    )
    async def update_visit_notes(self, info: Info, input: UpdateVisitNotesInput) -> VisitPayload:
        return await _run(
            info,
            lambda a: ops.update_visit_notes(
                a,
                id_of(input.visit_id, "Visit"),
                input.notes,
                policies=_policies(input.policies) if input.policies is not None else None,
                expected_version=input.version,
            ),
        )
