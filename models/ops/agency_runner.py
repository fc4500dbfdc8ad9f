"""The one way an agency request changes (帮办代办), like models.ops.demand_runner for demands.

`run_agency_transition` does, in one transaction: load the request and how the actor stands to
it (an agent of its service point, a contact of its enterprise), refuse what
models.rules.agency_flow refuses, write the new row with an optimistic version check (two
agents acting at once: one wins, the other gets CONFLICT), append the timeline event, link the
uploaded documents, tell the people concerned (models.ops.agency_notices) and record the
client's mutation id so a retry is applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from models.access import AGENCY_REGION_ROLES
from models.errors import DomainError
from models.ops import receipts
from models.ops.agency_notices import notify_agency_transition
from models.ops.attachments import attach_agency_files
from models.ops.demand_context import is_contact_of
from models.ops.receipts import Receipt, receipt_for, write_receipt
from models.ops.region_tree import region_path as path_of
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.actor import Actor
from models.rules.agency_flow import AgencyFacts, AgencyRelation, agency_refusal
from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.agency_view import AgencyClock, effective_deadline_now, facts_of
from models.rules.workdays import WorkCalendar, local_date
from models.tables.agency import AgencyEvent, AgencyRequest

A = AgencyAction
S = AgencyState


@dataclass
class AgencyChange:
    """What a transition writes: the target state, columns, and the event's note and data."""

    to_state: AgencyState
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    attachment_ids: list[int] = field(default_factory=list)


@dataclass
class AgencyContext:
    request: AgencyRequest
    relation: AgencyRelation
    calendar: WorkCalendar
    now: datetime
    today: date

    def facts(self) -> AgencyFacts:
        r = self.request
        c = AgencyClock(r.state, r.effective_deadline, r.paused_at)
        return facts_of(
            r.state,
            rating=r.rating,
            rectification=r.rectification_state,
            missing_materials=r.missing_materials or [],
            deadline=effective_deadline_now(c, self.calendar, self.today),
            rectification_deadline=r.rectification_deadline,
        )


async def load_agency_context(actor: Actor, request_id: int, now: datetime) -> AgencyContext:
    """The request as this actor may act on it; NOT_FOUND when the actor may not even see it
    (so nobody learns that another point's or enterprise's request exists)."""
    req = await AgencyRequest.get_or_none(id=request_id)
    if req is None:
        raise DomainError("NOT_FOUND", "agencyRequestId")
    relation = AgencyRelation(
        agent=req.service_point_id in actor.service_point_ids(),  # type: ignore[attr-defined]
        contact=await is_contact_of(actor, req.enterprise_id),  # type: ignore[attr-defined]
    )
    region_id: int = req.region_id  # type: ignore[attr-defined]
    if not (relation.agent or relation.contact) and not actor.covers(
        await path_of(region_id), AGENCY_REGION_ROLES
    ):
        raise DomainError("NOT_FOUND", "agencyRequestId")
    return AgencyContext(
        request=req,
        relation=relation,
        calendar=await load_calendar(region_id),
        now=now,
        today=local_date(now),
    )


async def load_request(pk: int) -> AgencyRequest:
    return await AgencyRequest.get(id=pk)


async def append_agency_event(
    request_id: int,
    action: AgencyAction,
    actor_id: int | None,
    at: datetime,
    from_state: AgencyState | None,
    change: AgencyChange,
) -> AgencyEvent:
    data = dict(change.data)
    if change.attachment_ids:
        data["attachmentIds"] = list(dict.fromkeys(change.attachment_ids))
    return await AgencyEvent.create(
        request_id=request_id,
        action=action,
        actor_id=actor_id,
        at=at,
        from_state=from_state,
        to_state=change.to_state,
        note=change.note,
        data=data,
    )


def _stale(action: AgencyAction, ctx: AgencyContext, expected_version: int | None) -> bool:
    """Did someone else change the request since this actor read it?"""
    if expected_version is not None:
        return expected_version != ctx.request.version
    # An agent accepting what a colleague just accepted lost a race, not a rule.
    return action is A.ACCEPT and ctx.request.state in (
        S.ACCEPTED,
        S.MATERIALS_REQUESTED,
        S.IN_HANDLING,
    )


def conflict() -> DomainError:
    return DomainError("CONFLICT", "version", subject="AGENCY")


async def run_agency_transition(
    actor: Actor,
    request_id: int,
    action: AgencyAction,
    work: Callable[[AgencyContext], Awaitable[AgencyChange] | AgencyChange],
    *,
    client_id: str | None = None,
    args: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> AgencyRequest:
    receipt: Receipt | None = receipt_for(
        client_id, f"AGENCY_{action.value}", {"request": request_id, **(args or {})}
    )

    async def run() -> AgencyRequest:
        now = clock.now()
        async with in_transaction():
            ctx = await load_agency_context(actor, request_id, now)
            err = agency_refusal(action, ctx.facts(), ctx.relation)
            stale = _stale(action, ctx, expected_version)
            if err is not None and err.code != "FORBIDDEN" and stale:
                raise conflict()
            if err is not None:
                raise err
            if expected_version is not None and expected_version != ctx.request.version:
                raise conflict()
            result = work(ctx)
            change = result if isinstance(result, AgencyChange) else await result
            r = ctx.request
            event = await append_agency_event(r.id, action, actor.user_id, now, r.state, change)
            updated = await AgencyRequest.filter(id=r.id, version=r.version).update(
                state=change.to_state,
                version=r.version + 1,
                last_event_id=event.id,
                **change.fields,
            )
            if updated != 1:
                raise conflict()
            await attach_agency_files(actor, change.attachment_ids, r.id)
            after = await AgencyRequest.get(id=r.id)
            await notify_agency_transition(action, r, after, change.data, now, actor.user_id)
            await write_receipt(actor, receipt, r.id)
        return after

    return await receipts.idempotent(actor, receipt, run, load_request)
