"""Agency request operations (帮办代办, docs/design.md section 7): submission and every transition.

Each operation validates its input, then hands `run_agency_transition` a small function that
turns the checked context into an `AgencyChange`; the runner does the rest in one transaction.

The clock: acceptance starts it for the procedure's promised working days, counted from the day
after acceptance (Asia/Shanghai) like a demand's dispatch; a 补正 pause stops it and, when the
enterprise supplies the materials, the paused working days push the effective deadline back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from models.access import enterprise_scope
from models.errors import DomainError, Problems
from models.ops.agency_notices import notify_agency_transition, point_agents
from models.ops.agency_runner import (
    AgencyChange,
    AgencyContext,
    append_agency_event,
    load_request,
    run_agency_transition,
)
from models.ops.attachments import MAX_ATTACHMENTS_PER_CALL, attach_agency_files
from models.ops.demand_context import is_contact_of
from models.ops.policy import load_policy
from models.ops.receipts import idempotent, receipt_for, write_receipt
from models.ops.validate import choice, text
from models.ops.work_orders import next_number, region_prefix
from models.rules import clock
from models.rules.actor import Actor
from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.agency_view import owed, waivable
from models.rules.deadlines import compute_deadlines, working_days_paused
from models.rules.demand_states import BAD_RATINGS, RectificationState, Satisfaction
from models.rules.work_orders import WorkOrderKind
from models.rules.workdays import local_date
from models.tables.agency import AgencyRequest
from models.tables.enterprises import Enterprise
from models.tables.org import User
from models.tables.service_points import Procedure, ServicePoint

A = AgencyAction
S = AgencyState

MAX_TEXT = 5000
MAX_NOTE = 2000
MAX_NAME = 200
MAX_CERTIFICATE = 100
MAX_MATERIALS = 30


def _checked(value: str | None, field: str, *, required: bool, max_len: int = MAX_NOTE) -> str:
    problems = Problems()
    cleaned = text(problems, value, field, max_len=max_len, required=required)
    problems.raise_if_any()
    return cleaned


def _files(problems: Problems, ids: Sequence[int] | None) -> list[int]:
    unique = list(dict.fromkeys(ids or []))
    if len(unique) > MAX_ATTACHMENTS_PER_CALL:
        problems.add("TOO_MANY_ATTACHMENTS", "attachmentIds", max=MAX_ATTACHMENTS_PER_CALL)
    return unique


# --------------------------------------------------------------------------- submit


async def submit_agency_request(
    actor: Actor,
    *,
    enterprise_id: int,
    procedure_id: int,
    description: str = "",
    attachment_ids: Sequence[int] | None = None,
    client_mutation_id: str | None = None,
) -> AgencyRequest:
    """An enterprise contact asks a service point to handle one of its procedures, with the
    documents it uploaded (the signed power of attorney 委托书, licence scans …); the point's
    agents are told."""
    problems = Problems()
    clean = text(problems, description, "description", max_len=MAX_TEXT, required=False)
    files = _files(problems, attachment_ids)
    problems.raise_if_any()
    receipt = receipt_for(
        client_mutation_id,
        "AGENCY_SUBMIT",
        {"enterprise": enterprise_id, "procedure": procedure_id, "text": clean, "files": files},
    )

    async def run() -> AgencyRequest:
        # Checked inside the retry guard: a retry of a call that went through is answered
        # with its request even if the procedure has been withdrawn since.
        if not await is_contact_of(actor, enterprise_id):
            # Only its contacts ask for an enterprise. Those who may read it (its region's
            # staff) learn why; anyone else learns nothing, not even whether it exists.
            if await Enterprise.filter(enterprise_scope(actor), id=enterprise_id).exists():
                raise DomainError("FORBIDDEN")
            raise DomainError("NOT_FOUND", "enterpriseId")
        procedure = await Procedure.get_or_none(id=procedure_id)
        if procedure is None:
            raise DomainError("NOT_FOUND", "procedureId")
        point = await ServicePoint.get(id=procedure.service_point_id)  # type: ignore[attr-defined]
        if not (procedure.is_active and point.is_active):
            raise DomainError("PROCEDURE_UNAVAILABLE", "procedureId")
        now = clock.now()
        async with in_transaction():
            prefix = await region_prefix(point.region_id)  # type: ignore[attr-defined]
            req = await AgencyRequest.create(
                number=await next_number(WorkOrderKind.AGENCY, prefix, now),
                enterprise_id=enterprise_id,
                service_point_id=point.id,
                region_id=point.region_id,  # type: ignore[attr-defined]
                procedure_id=procedure.id,
                procedure_name=procedure.name,
                description=clean,
                state=S.SUBMITTED,
                submitted_by_id=actor.user_id,
                submitted_at=now,
            )
            change = AgencyChange(S.SUBMITTED, note=clean, attachment_ids=files)
            event = await append_agency_event(req.id, A.SUBMIT, actor.user_id, now, None, change)
            await AgencyRequest.filter(id=req.id).update(last_event_id=event.id)
            await attach_agency_files(actor, files, req.id)
            after = await AgencyRequest.get(id=req.id)
            await notify_agency_transition(A.SUBMIT, None, after, {}, now, actor.user_id)
            await write_receipt(actor, receipt, req.id)
        return after

    return await idempotent(actor, receipt, run, load_request)


# --------------------------------------------------------------------------- agent


@dataclass(frozen=True)
class MissingMaterial:
    """容缺受理: a material accepted missing and the day the enterprise promises it by."""

    name: str
    promised_by: date | None


@dataclass(frozen=True)
class RequestedMaterial:
    """补正: a material the agent asks for, and what is wrong or needed."""

    name: str
    note: str = ""


def _missing_list(
    procedure_materials: list[Mapping[str, Any]],
    missing: Sequence[MissingMaterial],
    today: date,
) -> list[dict[str, Any]]:
    """Checked 容缺 entries as stored: only materials the procedure marks mayBeMissing, each
    once, each with a promise date from today on."""
    problems = Problems()
    known = {str(m.get("name")) for m in procedure_materials}
    may_miss = waivable(procedure_materials)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    if len(missing) > MAX_MATERIALS:
        problems.add("TOO_MANY_IDS", "missingMaterials", max=MAX_MATERIALS)
    for i, m in enumerate(missing):
        name = (m.name or "").strip()
        where = f"missingMaterials.{i}"
        if not name:
            problems.add("REQUIRED", f"{where}.name")
            continue
        if name in seen:
            problems.add("DUPLICATE_MATERIAL", f"{where}.name", value=name)
            continue
        seen.add(name)
        if name not in known:
            problems.add("UNKNOWN_MATERIAL", f"{where}.name", name=name)
        elif name not in may_miss:
            problems.add("MATERIAL_NOT_WAIVABLE", f"{where}.name", name=name)
        if m.promised_by is None:
            problems.add("REQUIRED", f"{where}.promisedBy")
        elif m.promised_by < today:
            problems.add("PROMISE_IN_PAST", f"{where}.promisedBy")
        out.append(
            {
                "name": name,
                "promisedBy": m.promised_by.isoformat() if m.promised_by else None,
                "suppliedAt": None,
            }
        )
    problems.raise_if_any()
    return out


async def accept_agency_request(
    actor: Actor,
    request_id: int,
    *,
    missing_materials: Sequence[MissingMaterial] | None = None,
    note: str = "",
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """受理 (or 容缺受理 with named materials still missing): the clock starts for the
    procedure's promised working days; the acting agent takes the request unless one is
    assigned already."""
    clean = _checked(note, "note", required=False)
    missing = list(missing_materials or [])

    async def work(ctx: AgencyContext) -> AgencyChange:
        r = ctx.request
        procedure = await Procedure.get(id=r.procedure_id)  # type: ignore[attr-defined]
        entries = _missing_list(procedure.materials or [], missing, ctx.today)
        days = procedure.promised_days
        dl = compute_deadlines(ctx.calendar, ctx.today, days, suspended_days=r.paused_days)
        agent = r.agent_id or actor.user_id  # type: ignore[attr-defined]
        return AgencyChange(
            S.ACCEPTED,
            {
                "agent_id": agent,
                "accepted_at": ctx.now,
                "promised_days": days,
                "deadline": dl.deadline,
                "effective_deadline": dl.effective,
                "deadline_confirmed": dl.confirmed,
                "missing_materials": entries,
            },
            note=clean,
            data={
                "promisedDays": days,
                "deadline": dl.deadline.isoformat(),
                "missingMaterials": entries,
                "agentId": agent,
            },
        )

    return await run_agency_transition(
        actor,
        request_id,
        A.ACCEPT,
        work,
        client_id=client_mutation_id,
        args={
            "missing": [(m.name, m.promised_by) for m in missing],
            "note": note,
        },
        expected_version=version,
    )


async def request_materials(
    actor: Actor,
    request_id: int,
    *,
    materials: Sequence[RequestedMaterial],
    note: str,
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """补正: the agent asks the enterprise for materials; the clock stops until they come."""
    problems = Problems()
    clean = text(problems, note, "note", max_len=MAX_NOTE, required=True)
    asked: list[dict[str, str]] = []
    if not materials:
        problems.add("REQUIRED", "materials")
    if len(materials) > MAX_MATERIALS:
        problems.add("TOO_MANY_IDS", "materials", max=MAX_MATERIALS)
    for i, m in enumerate(materials):
        name = text(problems, m.name, f"materials.{i}.name", max_len=MAX_NAME, required=True)
        detail = text(problems, m.note, f"materials.{i}.note", max_len=MAX_NOTE, required=False)
        asked.append({"name": name, "note": detail})
    problems.raise_if_any()

    def work(ctx: AgencyContext) -> AgencyChange:
        return AgencyChange(
            S.MATERIALS_REQUESTED,
            {"requested_materials": asked, "paused_at": ctx.now, "paused_from": ctx.request.state},
            note=clean,
            data={"materials": asked},
        )

    return await run_agency_transition(
        actor,
        request_id,
        A.REQUEST_MATERIALS,
        work,
        client_id=client_mutation_id,
        args={"materials": asked, "note": note},
        expected_version=version,
    )


def _pause_end(ctx: AgencyContext) -> tuple[int, dict[str, Any]]:
    """A running 补正 pause ends today: its working days and the columns that record it."""
    r = ctx.request
    if r.state is not S.MATERIALS_REQUESTED or r.paused_at is None:
        return 0, {}
    days = working_days_paused(ctx.calendar, local_date(r.paused_at), ctx.today)
    paused = r.paused_days + days
    fields: dict[str, Any] = {"paused_days": paused, "paused_at": None, "paused_from": None}
    if r.accepted_at is not None and r.promised_days is not None:
        dl = compute_deadlines(
            ctx.calendar, local_date(r.accepted_at), r.promised_days, suspended_days=paused
        )
        fields.update(effective_deadline=dl.effective, deadline_confirmed=dl.confirmed)
    return days, fields


def _closing(ctx: AgencyContext, to_state: S, note: str, **columns: Any) -> AgencyChange:
    """Rejection or cancellation: a running pause ends and counts, the request is closed."""
    days, fields = _pause_end(ctx)
    fields.update(closed_at=ctx.now, **columns)
    return AgencyChange(to_state, fields, note=note, data={"pausedDays": days} if days else {})


async def start_handling(
    actor: Actor,
    request_id: int,
    *,
    note: str = "",
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """The agent takes the file to the department (办理中)."""
    clean = _checked(note, "note", required=False)

    def work(ctx: AgencyContext) -> AgencyChange:
        return AgencyChange(S.IN_HANDLING, {"handling_started_at": ctx.now}, note=clean)

    return await run_agency_transition(
        actor,
        request_id,
        A.START_HANDLING,
        work,
        client_id=client_mutation_id,
        args={"note": note},
        expected_version=version,
    )


async def complete_agency_request(
    actor: Actor,
    request_id: int,
    *,
    result_text: str,
    certificate_number: str | None = None,
    attachment_ids: Sequence[int] | None = None,
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """办结 with the result, e.g. the new licence's number and its scan."""
    problems = Problems()
    result = text(problems, result_text, "resultText", max_len=MAX_TEXT, required=True)
    number = text(
        problems, certificate_number, "certificateNumber", max_len=MAX_CERTIFICATE, required=False
    )
    files = _files(problems, attachment_ids)
    problems.raise_if_any()

    def work(ctx: AgencyContext) -> AgencyChange:
        r = ctx.request
        on_time = r.effective_deadline is None or ctx.today <= r.effective_deadline
        return AgencyChange(
            S.COMPLETED,
            {
                "completed_at": ctx.now,
                "closed_at": ctx.now,
                "result_text": result,
                "certificate_number": number or None,
            },
            note=result,
            data={"certificateNumber": number or None, "onTime": on_time},
            attachment_ids=files,
        )

    return await run_agency_transition(
        actor,
        request_id,
        A.COMPLETE,
        work,
        client_id=client_mutation_id,
        args={"result": result_text, "number": certificate_number, "files": files},
        expected_version=version,
    )


async def reject_agency_request(
    actor: Actor,
    request_id: int,
    *,
    reason: str,
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """不予受理 (or given up before handling), with the reason the enterprise reads."""
    clean = _checked(reason, "reason", required=True)

    def work(ctx: AgencyContext) -> AgencyChange:
        return _closing(ctx, S.REJECTED, clean, reject_reason=clean)

    return await run_agency_transition(
        actor,
        request_id,
        A.REJECT,
        work,
        client_id=client_mutation_id,
        args={"reason": reason},
        expected_version=version,
    )


async def assign_agent(
    actor: Actor,
    request_id: int,
    *,
    agent_id: int,
    note: str = "",
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """Hand the request to another agent of the same service point."""
    clean = _checked(note, "note", required=False)

    async def work(ctx: AgencyContext) -> AgencyChange:
        r = ctx.request
        agents = await point_agents(r.service_point_id)  # type: ignore[attr-defined]
        if agent_id not in agents or not await User.exists(id=agent_id, is_active=True):
            raise DomainError("AGENT_NOT_AT_POINT", "agentId")
        return AgencyChange(r.state, {"agent_id": agent_id}, note=clean, data={"agentId": agent_id})

    return await run_agency_transition(
        actor,
        request_id,
        A.ASSIGN_AGENT,
        work,
        client_id=client_mutation_id,
        args={"agent": agent_id, "note": note},
        expected_version=version,
    )


async def record_agency_rectification(
    actor: Actor,
    request_id: int,
    *,
    note: str,
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """整改: the agent records what was put right after a bad rating."""
    clean = _checked(note, "note", required=True)

    def work(ctx: AgencyContext) -> AgencyChange:
        on_time = (
            ctx.request.rectification_deadline is None
            or ctx.today <= ctx.request.rectification_deadline
        )
        return AgencyChange(
            ctx.request.state,
            {"rectification_state": RectificationState.DONE, "rectified_at": ctx.now},
            note=clean,
            data={"onTime": on_time},
        )

    return await run_agency_transition(
        actor,
        request_id,
        A.RECORD_RECTIFICATION,
        work,
        client_id=client_mutation_id,
        args={"note": note},
        expected_version=version,
    )


# --------------------------------------------------------------------------- enterprise


async def supply_materials(
    actor: Actor,
    request_id: int,
    *,
    attachment_ids: Sequence[int] | None = None,
    note: str = "",
    materials: Sequence[str] | None = None,
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """The enterprise hands over materials. Waiting for 补正: the clock runs again, the paused
    working days added to the effective deadline. Otherwise it hands over owed 容缺 materials
    (named in `materials`) without a change of state."""
    problems = Problems()
    clean = text(problems, note, "note", max_len=MAX_NOTE, required=False)
    files = _files(problems, attachment_ids)
    names = list(dict.fromkeys(n.strip() for n in materials or [] if n.strip()))
    problems.raise_if_any()

    def work(ctx: AgencyContext) -> AgencyChange:
        r = ctx.request
        missing = [dict(m) for m in r.missing_materials or []]
        owed_names = {str(m.get("name")) for m in owed(missing)}
        for i, name in enumerate(names):
            if name not in owed_names:
                raise DomainError("MATERIAL_NOT_OWED", f"materials.{i}", name=name)
        for m in missing:
            if m.get("name") in names:
                m["suppliedAt"] = ctx.now.isoformat()
        fields: dict[str, Any] = {"missing_materials": missing} if names else {}
        data: dict[str, Any] = {"materials": names}
        target = r.state
        if r.state is S.MATERIALS_REQUESTED:
            if not files and not clean and not names:
                raise DomainError("REQUIRED", "attachmentIds")
            days, pause = _pause_end(ctx)
            fields.update(pause)
            data["pausedDays"] = days
            target = r.paused_from or S.ACCEPTED
        elif not names:
            raise DomainError("REQUIRED", "materials")
        return AgencyChange(target, fields, note=clean, data=data, attachment_ids=files)

    return await run_agency_transition(
        actor,
        request_id,
        A.SUPPLY_MATERIALS,
        work,
        client_id=client_mutation_id,
        args={"files": files, "note": note, "materials": names},
        expected_version=version,
    )


async def cancel_agency_request(
    actor: Actor,
    request_id: int,
    *,
    reason: str = "",
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """撤销: the enterprise withdraws the request before it is completed."""
    clean = _checked(reason, "reason", required=False)

    def work(ctx: AgencyContext) -> AgencyChange:
        return _closing(ctx, S.CANCELLED, clean, cancelled_at=ctx.now)

    return await run_agency_transition(
        actor,
        request_id,
        A.CANCEL,
        work,
        client_id=client_mutation_id,
        args={"reason": reason},
        expected_version=version,
    )


async def rate_agency_request(
    actor: Actor,
    request_id: int,
    *,
    rating: str,
    comment: str = "",
    client_mutation_id: str | None = None,
    version: int | None = None,
) -> AgencyRequest:
    """好差评, once: a bad rating opens a rectification (整改) due in the region's
    rectification working days; the point's agents and the region's supervisors are told."""
    problems = Problems()
    level = choice(problems, Satisfaction, rating, "rating")
    if level is None and not problems.items:
        problems.add("REQUIRED", "rating")
    clean = text(problems, comment, "comment", max_len=MAX_NOTE, required=False)
    problems.raise_if_any()
    assert level is not None

    async def work(ctx: AgencyContext) -> AgencyChange:
        r = ctx.request
        fields: dict[str, Any] = {"rating": level, "rating_comment": clean, "rated_at": ctx.now}
        data: dict[str, Any] = {"rating": level.value}
        if level in BAD_RATINGS:
            policy = await load_policy(r.region_id)  # type: ignore[attr-defined]
            dl = compute_deadlines(ctx.calendar, ctx.today, policy.rectification_days)
            fields.update(
                rectification_state=RectificationState.OPEN,
                rectification_deadline=dl.effective,
                rectified_at=None,
            )
            data["rectificationDeadline"] = dl.effective.isoformat()
        return AgencyChange(r.state, fields, note=clean, data=data)

    return await run_agency_transition(
        actor,
        request_id,
        A.RATE,
        work,
        client_id=client_mutation_id,
        args={"rating": rating, "comment": comment},
        expected_version=version,
    )
