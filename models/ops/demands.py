"""Demand operations: submission and every transition of docs/design.md section 5.

Each operation validates its input, then hands `run_transition` a small function that turns
the checked context into a `Change`; the runner does the rest in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from models.db.linked_insert import NewRow, insert_linked
from models.db.row_query import Params, connection, is_postgres
from models.errors import DomainError, Problems
from models.ops.demand_context import DemandContext, deadline_fields
from models.ops.demand_runner import (
    Change,
    event_row,
    idempotent,
    link_files,
    receipt_for,
    run_transition,
    write_receipt,
)
from models.ops.policy import category_for_region, limit_for
from models.ops.receipts import Receipt, receipt_row
from models.ops.region_tree import region_chain
from models.ops.validate import choice, text
from models.ops.work_orders import drawn_number, next_number, region_prefix
from models.rules import clock
from models.rules.actor import Actor
from models.rules.deadlines import compute_deadlines, working_days_paused
from models.rules.demand_states import (
    BAD_RATINGS,
    FINAL_STATES,
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
from models.rules.roles import STAFF_ROLES, Role
from models.rules.work_orders import WorkOrderKind
from models.rules.workdays import local_date
from models.tables.demands import Demand, DemandAssist, DemandEvent, DemandRequest
from models.tables.org import Department

A = DemandAction
S = DemandState
DEMAND_NUMBER = WorkOrderKind.DEMAND

MAX_TITLE = 200
MAX_TEXT = 5000
MAX_NOTE = 2000
MAX_LIMIT_DAYS = 365
MAX_ATTACHMENTS = 20

# Which sources each role may record; the first is the default.
SOURCES_BY_ROLE: dict[Role, tuple[DemandSource, ...]] = {
    Role.ENTERPRISE: (DemandSource.APP,),
    Role.CADRE: (DemandSource.VISIT, DemandSource.OTHER),
    Role.DISPATCHER: (DemandSource.HOTLINE_12345, DemandSource.OTHER),
    Role.SERVICE_AGENT: (DemandSource.SERVICE_POINT,),
}


def _note(problems: Problems, value: str | None, *, required: bool, field: str = "note") -> str:
    return text(problems, value, field, max_len=MAX_NOTE, required=required)


def _checked_note(value: str | None, *, required: bool, field: str = "note") -> str:
    problems = Problems()
    cleaned = _note(problems, value, required=required, field=field)
    problems.raise_if_any()
    return cleaned


# --------------------------------------------------------------------------- submit


@dataclass
class DemandData:
    enterprise_id: int
    title: str
    description: str
    category_id: int | None = None
    urgency: str | None = None
    source: str | None = None
    visit_id: int | None = None
    attachment_ids: list[int] = field(default_factory=list)
    draft: bool = False


def _may_submit_for(actor: Actor, region_path: str, *, is_contact: bool) -> set[Role]:
    """The roles through which the actor may raise a demand for this enterprise."""
    roles: set[Role] = set()
    if is_contact and actor.has_role(Role.ENTERPRISE):
        roles.add(Role.ENTERPRISE)
    for role in (Role.CADRE, Role.DISPATCHER, Role.SERVICE_AGENT):
        if actor.covers(region_path, (role,)):
            roles.add(role)
    return roles


def _source(problems: Problems, roles: set[Role], raw: str | None) -> DemandSource | None:
    allowed = [s for r in SOURCES_BY_ROLE if r in roles for s in SOURCES_BY_ROLE[r]]
    if raw is None:
        return allowed[0] if allowed else None
    source = choice(problems, DemandSource, raw, "source")
    if source is not None and source not in allowed:
        problems.add("SOURCE_NOT_ALLOWED", "source", value=source.value)
    return source


@dataclass(frozen=True)
class CheckedDemand:
    """A demand's fields after validation, ready to be written."""

    enterprise_id: int
    region_id: int
    source: DemandSource
    title: str
    description: str
    urgency: Urgency
    category_id: int | None
    attachment_ids: list[int]
    visit_id: int | None = None
    draft: bool = False


async def check_demand_fields(
    problems: Problems,
    data: DemandData,
    *,
    region_id: int,
    source: DemandSource | None,
    prefix: str = "",
    region_path: str | None = None,
    category_offered: bool | None = None,
) -> CheckedDemand | None:
    """Validate what the person typed; problems are named `prefix + field`. `region_path`:
    the region's, and `category_offered`: whether the category is offered in the region
    (`category_for_region`), when the caller has read them already."""
    title = text(problems, data.title, prefix + "title", max_len=MAX_TITLE, required=True)
    description = text(
        problems, data.description, prefix + "description", max_len=MAX_TEXT, required=True
    )
    urgency = choice(problems, Urgency, data.urgency, prefix + "urgency") or Urgency.NORMAL
    if data.category_id is not None:
        if category_offered is None:
            category_offered = (
                await category_for_region(data.category_id, region_id, region_path) is not None
            )
        if not category_offered:
            problems.add("NOT_FOUND", prefix + "categoryId")
    if len(data.attachment_ids) > MAX_ATTACHMENTS:
        problems.add("TOO_MANY_ATTACHMENTS", prefix + "attachmentIds", max=MAX_ATTACHMENTS)
    if source is None:
        return None
    return CheckedDemand(
        enterprise_id=data.enterprise_id,
        region_id=region_id,
        source=source,
        title=title,
        description=description,
        urgency=urgency,
        category_id=data.category_id,
        attachment_ids=list(data.attachment_ids),
        visit_id=data.visit_id,
        draft=data.draft,
    )


def _writes_alone(d: CheckedDemand) -> bool:
    """Whether `create_demand` writes this demand in one statement, which needs no transaction
    around it: on PostgreSQL, without files to link."""
    return not d.attachment_ids and is_postgres()


async def create_demand(
    actor: Actor,
    d: CheckedDemand,
    now: datetime,
    receipt: Receipt | None = None,
    region_path: str | None = None,
) -> Demand:
    """Write a new demand with its SUBMIT event, files, the call's receipt and (unless a draft)
    its work-order number; inside the caller's transaction, unless `_writes_alone`.
    `region_path`: the demand's region's, when the caller has it."""
    state = S.DRAFT if d.draft else S.SUBMITTED
    prefix = None if d.draft else await region_prefix(d.region_id, region_path)
    demand = Demand(
        source=d.source,
        enterprise_id=d.enterprise_id,
        region_id=d.region_id,
        category_id=d.category_id,
        title=d.title,
        description=d.description,
        urgency=d.urgency,
        state=state,
        visit_id=d.visit_id,
        submitted_by_id=actor.user_id,
        submitted_at=None if d.draft else now,
    )
    data: dict[str, Any] = {"source": d.source.value}
    if d.visit_id is not None:
        data["visitId"] = d.visit_id
    change = Change(to_state=state, data=data)
    if is_postgres():
        # The demand, its event and the receipt in one statement, each row naming the others.
        event = event_row(None, A.SUBMIT, actor.user_id, now, None, change)
        drawn = {} if prefix is None else {"number": drawn_number(DEMAND_NUMBER, prefix, now)}
        rows = [NewRow(demand, {"last_event_id": 1}, drawn), NewRow(event, {"demand_id": 0})]
        if receipt is not None:
            rows.append(NewRow(receipt_row(actor, receipt, None), {"object_id": 0}))
        await insert_linked(rows)
    else:
        if prefix is not None:
            demand.number = await next_number(DEMAND_NUMBER, prefix, now)
        await demand.save(force_create=True)
        event = event_row(demand.id, A.SUBMIT, actor.user_id, now, None, change)
        await event.save(force_create=True)
        await Demand.filter(id=demand.id).update(last_event_id=event.id)
        demand.last_event_id = event.id
        await write_receipt(actor, receipt, demand.id)
    await link_files(actor, d.attachment_ids, demand.id, event.id)
    return demand


# What submitting checks, in one statement (each statement counts on the mobile submit, S4):
# the enterprise's region and its path, whether the actor is one of its contacts, and whether
# the category is offered there (`category_for_region`: active, and nationwide or of the
# region or one of its ancestors, the ids in the region's path "/1/4/9/").
_SUBMIT_FACTS = (
    "SELECT e.region_id AS region_id, r.path AS region_path, EXISTS (SELECT 1 FROM "
    "enterprise_contact c WHERE c.enterprise_id = e.id AND c.user_id = {user}) AS contact, "
    "EXISTS (SELECT 1 FROM demand_category k WHERE k.id = {category} AND k.is_active "
    "AND (k.region_id IS NULL OR ('/' || r.path || '/') LIKE ('%/' || k.region_id || '/%'))) "
    "AS category FROM enterprise e JOIN region r ON r.id = e.region_id WHERE e.id = {enterprise}"
)


@dataclass(frozen=True)
class SubmitFacts:
    region_id: int
    region_path: str
    is_contact: bool  # the actor is a contact of the enterprise (whatever their roles)
    category_offered: bool  # False also when no category was given


async def _submit_facts(actor: Actor, enterprise_id: int, category_id: int | None) -> SubmitFacts:
    p = Params(is_postgres())
    sql = _SUBMIT_FACTS.format(
        user=p(actor.user_id), category=p(category_id), enterprise=p(enterprise_id)
    )
    found = await connection().execute_query_dict(sql, p.values)
    if not found:
        raise DomainError("NOT_FOUND", "enterpriseId")
    row = found[0]
    return SubmitFacts(
        int(row["region_id"]), str(row["region_path"]), bool(row["contact"]), bool(row["category"])
    )


@dataclass(frozen=True)
class Submitted:
    demand: Demand
    # The demand's enterprise when the actor is its contact, else none: the contact relation
    # the answer's read needs, known already (schema.demand_reads.get_demand); None when not
    # known (a replay).
    contact_of: frozenset[int] | None


async def submit_demand(actor: Actor, data: DemandData, *, client_id: str | None = None) -> Demand:
    """An enterprise contact, a cadre (during a visit), a dispatcher (a 12345 hotline call) or a
    service agent records a demand; with `draft` it is kept as a DRAFT for later submission."""
    return (await submit(actor, data, client_id=client_id)).demand


async def submit(actor: Actor, data: DemandData, *, client_id: str | None = None) -> Submitted:
    """`submit_demand`, also telling whether the actor submitted as the enterprise's contact."""
    receipt = receipt_for(client_id, "SUBMIT", dict(data.__dict__))
    roles: set[Role] | None = None  # known once checked; a replay answers without them

    async def run() -> Demand:
        nonlocal roles
        facts = await _submit_facts(actor, data.enterprise_id, data.category_id)
        region_id, region_path = facts.region_id, facts.region_path
        roles = _may_submit_for(actor, region_path, is_contact=facts.is_contact)
        if not roles:
            # Staff of its region read the enterprise (access.enterprise_scope) and learn why;
            # anyone else learns nothing, not even that it exists.
            if actor.covers(region_path, STAFF_ROLES):
                raise DomainError("FORBIDDEN")
            raise DomainError("NOT_FOUND", "enterpriseId")
        problems = Problems()
        source = _source(problems, roles, data.source)
        checked = await check_demand_fields(
            problems,
            data,
            region_id=region_id,
            source=source,
            region_path=region_path,
            category_offered=facts.category_offered,
        )
        problems.raise_if_any()
        assert checked is not None
        now = clock.now()
        if _writes_alone(checked):
            return await create_demand(actor, checked, now, receipt, region_path)
        async with in_transaction():
            return await create_demand(actor, checked, now, receipt, region_path)

    # A retry is known by its receipt's unique key: the first call does not look for one. The
    # checks run inside the guard too, so a retry of a call that went through is answered with
    # its demand even when it would be refused now (its category withdrawn since, say).
    demand = await idempotent(actor, receipt, run, look_first=False)
    if roles is None:
        return Submitted(demand, None)
    contact = Role.ENTERPRISE in roles
    return Submitted(demand, frozenset({data.enterprise_id}) if contact else frozenset())


async def submit_draft(actor: Actor, demand_id: int, *, client_id: str | None = None) -> Demand:
    async def work(ctx: DemandContext) -> Change:
        prefix = ctx.policy.work_order_prefix
        number = await next_number(DEMAND_NUMBER, prefix, ctx.now)
        return Change(S.SUBMITTED, {"submitted_at": ctx.now, "number": number})

    return await run_transition(actor, demand_id, A.SUBMIT, work, client_id=client_id)


# --------------------------------------------------------------------------- dispatcher


async def reject_demand(
    actor: Actor,
    demand_id: int,
    *,
    reason: str,
    note: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    problems = Problems()
    the_reason = choice(problems, RejectReason, reason, "reason")
    if the_reason is None and not problems.items:
        problems.add("REQUIRED", "reason")
    clean = _note(problems, note, required=the_reason is RejectReason.OTHER)
    problems.raise_if_any()
    assert the_reason is not None

    def work(ctx: DemandContext) -> Change:
        return Change(
            S.REJECTED,
            {"reject_reason": the_reason},
            note=clean,
            data={"reason": the_reason.value},
        )

    return await run_transition(
        actor,
        demand_id,
        A.REJECT,
        work,
        client_id=client_id,
        args={"reason": reason, "note": note},
        expected_version=version,
    )


async def answer_directly(
    actor: Actor,
    demand_id: int,
    *,
    answer: str,
    attachment_ids: list[int] | None = None,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """A consultation the office answers itself (直接办结); the enterprise still rates it."""
    clean = _checked_note(answer, required=True, field="answer")

    def work(ctx: DemandContext) -> Change:
        return Change(
            S.PENDING_VISIT,
            {
                "reply_outcome": ReplyOutcome.EXPLAINED,
                "reply_text": clean,
                "replied_at": ctx.now,
            },
            note=clean,
            attachment_ids=attachment_ids or [],
        )

    return await run_transition(
        actor,
        demand_id,
        A.ANSWER_DIRECTLY,
        work,
        client_id=client_id,
        args={"answer": answer, "files": attachment_ids},
        expected_version=version,
    )


async def merge_demand(
    actor: Actor,
    demand_id: int,
    *,
    into_id: int,
    note: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    clean = _checked_note(note, required=True)
    if into_id == demand_id:
        raise DomainError("INVALID_MERGE_TARGET", "intoId")

    async def work(ctx: DemandContext) -> Change:
        target = await Demand.get_or_none(id=into_id).values("state", "region__path")
        if target is None or not actor.covers(target["region__path"], (Role.DISPATCHER,)):
            raise DomainError("NOT_FOUND", "intoId")
        if DemandState(target["state"]) in FINAL_STATES | {S.DRAFT}:
            raise DomainError("INVALID_MERGE_TARGET", "intoId")
        return Change(S.MERGED, {"merged_into_id": into_id}, note=clean, data={"intoId": into_id})

    return await run_transition(
        actor,
        demand_id,
        A.MERGE,
        work,
        client_id=client_id,
        args={"into": into_id, "note": note},
        expected_version=version,
    )


async def dispatch_demand(
    actor: Actor,
    demand_id: int,
    *,
    department_id: int,
    assisting_department_ids: list[int] | None = None,
    category_id: int | None = None,
    urgency: str | None = None,
    limit_days: int | None = None,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """Send it to one lead department (主办) and optional assisting ones (协办); the deadline
    comes from the category and urgency unless the dispatcher sets a limit."""
    problems = Problems()
    clean = _note(problems, note, required=False)
    the_urgency = choice(problems, Urgency, urgency, "urgency")
    if limit_days is not None and not 1 <= limit_days <= MAX_LIMIT_DAYS:
        problems.add("INVALID_LIMIT", "limitDays")
    assists = list(dict.fromkeys(assisting_department_ids or []))
    if department_id in assists:
        problems.add("DUPLICATE_DEPARTMENT", "assistingDepartmentIds")
    problems.raise_if_any()

    async def work(ctx: DemandContext) -> Change:
        d = ctx.demand
        region_id: int = d.region_id  # type: ignore[attr-defined]
        for i, dept_id in enumerate([department_id, *assists]):
            field_name = "departmentId" if i == 0 else f"assistingDepartmentIds.{i - 1}"
            if not await _department_serves(dept_id, region_id):
                raise DomainError("DEPARTMENT_OUT_OF_REGION", field_name)
        cat_id = category_id if category_id is not None else d.category_id  # type: ignore[attr-defined]
        if cat_id is None:
            raise DomainError("REQUIRED", "categoryId")
        category = await category_for_region(cat_id, region_id)
        if category is None:
            raise DomainError("NOT_FOUND", "categoryId")
        urg = the_urgency or d.urgency
        days = limit_days if limit_days is not None else limit_for(category, urg)
        dl = compute_deadlines(
            ctx.calendar,
            ctx.today,
            days,
            warning_lead=ctx.policy.warning_lead_days,
        )

        async def after(demand: Demand, event: DemandEvent) -> None:
            await DemandAssist.filter(demand_id=demand.id).delete()
            for dept_id in assists:
                await DemandAssist.create(demand_id=demand.id, department_id=dept_id)

        return Change(
            S.DISPATCHED,
            {
                "department_id": department_id,
                "handler_id": None,
                "category_id": cat_id,
                "urgency": urg,
                "dispatched_at": ctx.now,
                "claimed_at": None,
                "limit_days": days,
                "extension_days": 0,
                "suspended_days": 0,
                "suspended_seconds": 0,
                "deadline": dl.deadline,
                "effective_deadline": dl.effective,
                "warning_date": dl.warning_from,
                "deadline_confirmed": dl.confirmed,
            },
            note=clean,
            data={
                "departmentId": department_id,
                "assistingDepartmentIds": assists,
                "limitDays": days,
                "deadline": dl.deadline.isoformat(),
                "deadlineConfirmed": dl.confirmed,
            },
            after=after,
        )

    return await run_transition(
        actor,
        demand_id,
        A.DISPATCH,
        work,
        client_id=client_id,
        args={
            "department": department_id,
            "assists": assists,
            "category": category_id,
            "urgency": urgency,
            "limit": limit_days,
            "note": note,
        },
        expected_version=version,
    )


async def _department_serves(department_id: int, region_id: int) -> bool:
    """A department may take a demand of its own region or of any region below it."""
    dept = await Department.get_or_none(id=department_id).values("region_id")
    if dept is None:
        return False
    return dept["region_id"] in await region_chain(region_id)


# --------------------------------------------------------------------------- handler


async def claim_demand(
    actor: Actor, demand_id: int, *, client_id: str | None = None, version: int | None = None
) -> Demand:
    def work(ctx: DemandContext) -> Change:
        return Change(S.IN_PROGRESS, {"handler_id": actor.user_id, "claimed_at": ctx.now})

    return await run_transition(
        actor, demand_id, A.CLAIM, work, client_id=client_id, expected_version=version
    )


def _request(kind: PendingKind, actor: Actor, reason: str, days: int | None = None) -> Any:
    async def after(demand: Demand, event: DemandEvent) -> None:
        await DemandRequest.create(
            demand_id=demand.id,
            kind=kind,
            days=days,
            reason=reason,
            requested_by_id=actor.user_id,
            requested_at=event.at,
        )

    return after


async def _decide(
    ctx: DemandContext, kind: PendingKind, actor: Actor, approve: bool, note: str
) -> DemandRequest:
    req = (
        await DemandRequest.filter(
            demand_id=ctx.demand.id, kind=kind, decision=RequestDecision.PENDING
        )
        .order_by("-id")
        .first()
    )
    if req is None:
        raise DomainError("NO_PENDING_REQUEST")
    req.decision = RequestDecision.APPROVED if approve else RequestDecision.REFUSED
    req.decided_by_id = actor.user_id
    req.decided_at = ctx.now
    req.decision_note = note
    await req.save(update_fields=["decision", "decided_by_id", "decided_at", "decision_note"])
    return req


async def _ask(
    actor: Actor,
    demand_id: int,
    action: DemandAction,
    kind: PendingKind,
    reason: str,
    client_id: str | None,
    version: int | None,
) -> Demand:
    """A request someone else decides (退单, 中止, 申诉; 延期 carries days): the state stays, the
    request row is written, and the demand shows it as pending."""
    clean = _checked_note(reason, required=True, field="reason")
    marker: dict[str, Any] = (
        {"appeal": RequestDecision.PENDING} if kind is PendingKind.APPEAL else {"pending": kind}
    )

    def work(ctx: DemandContext) -> Change:
        return Change(ctx.demand.state, marker, note=clean, after=_request(kind, actor, clean))

    return await run_transition(
        actor,
        demand_id,
        action,
        work,
        client_id=client_id,
        args={"reason": reason},
        expected_version=version,
    )


async def return_demand(
    actor: Actor,
    demand_id: int,
    *,
    reason: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """退单: the department says it is not theirs, within the region's return window."""
    return await _ask(actor, demand_id, A.RETURN, PendingKind.RETURN, reason, client_id, version)


async def decide_return(
    actor: Actor,
    demand_id: int,
    *,
    approve: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """Approved: back to SUBMITTED for re-dispatch. Refused: the department keeps it."""
    clean = _checked_note(note, required=not approve)

    async def work(ctx: DemandContext) -> Change:
        await _decide(ctx, PendingKind.RETURN, actor, approve, clean)
        data = {"approved": approve}
        if not approve:
            return Change(ctx.demand.state, {"pending": None}, note=clean, data=data)

        async def after(demand: Demand, event: DemandEvent) -> None:
            await DemandAssist.filter(demand_id=demand.id).delete()

        return Change(
            S.SUBMITTED,
            {
                "pending": None,
                "department_id": None,
                "handler_id": None,
                "dispatched_at": None,
                "claimed_at": None,
                "limit_days": None,
                "deadline": None,
                "effective_deadline": None,
                "warning_date": None,
                "return_count": ctx.demand.return_count + 1,
            },
            note=clean,
            data=data,
            after=after,
        )

    return await run_transition(
        actor,
        demand_id,
        A.DECIDE_RETURN,
        work,
        client_id=client_id,
        args={"approve": approve, "note": note},
        expected_version=version,
    )


async def request_extension(
    actor: Actor,
    demand_id: int,
    *,
    days: int,
    reason: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """延期: before the deadline, within the region's total cap; the dispatcher decides."""
    clean = _checked_note(reason, required=True, field="reason")
    if days < 1:
        raise DomainError("INVALID_DAYS", "days")

    def work(ctx: DemandContext) -> Change:
        if days > ctx.extension_room():
            raise DomainError(
                "EXTENSION_CAP_EXCEEDED",
                "days",
                max=ctx.extension_room(),
                cap=ctx.policy.extension_cap_days,
            )
        return Change(
            S.IN_PROGRESS,
            {"pending": PendingKind.EXTENSION},
            note=clean,
            data={"days": days},
            after=_request(PendingKind.EXTENSION, actor, clean, days),
        )

    return await run_transition(
        actor,
        demand_id,
        A.REQUEST_EXTENSION,
        work,
        client_id=client_id,
        args={"days": days, "reason": reason},
        expected_version=version,
    )


async def decide_extension(
    actor: Actor,
    demand_id: int,
    *,
    approve: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    clean = _checked_note(note, required=not approve)

    async def work(ctx: DemandContext) -> Change:
        req = await _decide(ctx, PendingKind.EXTENSION, actor, approve, clean)
        d = ctx.demand
        fields: dict[str, Any] = {"pending": None}
        if approve:
            days = min(req.days or 0, ctx.extension_room())
            d.extension_days += days
            fields.update(
                extension_days=d.extension_days,
                extension_count=d.extension_count + 1,
                **deadline_fields(ctx, d),
            )
        return Change(
            S.IN_PROGRESS,
            fields,
            note=clean,
            data={"approved": approve, "days": req.days},
        )

    return await run_transition(
        actor,
        demand_id,
        A.DECIDE_EXTENSION,
        work,
        client_id=client_id,
        args={"approve": approve, "note": note},
        expected_version=version,
    )


async def suspend_demand(
    actor: Actor,
    demand_id: int,
    *,
    reason: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """中止: the handler asks to stop the clock (e.g. waiting for the enterprise's materials)."""
    return await _ask(
        actor, demand_id, A.SUSPEND, PendingKind.SUSPENSION, reason, client_id, version
    )


async def decide_suspension(
    actor: Actor,
    demand_id: int,
    *,
    approve: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    clean = _checked_note(note, required=not approve)

    async def work(ctx: DemandContext) -> Change:
        await _decide(ctx, PendingKind.SUSPENSION, actor, approve, clean)
        if not approve:
            return Change(S.IN_PROGRESS, {"pending": None}, note=clean, data={"approved": False})
        return Change(
            S.SUSPENDED,
            {"pending": None, "suspended_at": ctx.now},
            note=clean,
            data={"approved": True},
        )

    return await run_transition(
        actor,
        demand_id,
        A.DECIDE_SUSPENSION,
        work,
        client_id=client_id,
        args={"approve": approve, "note": note},
        expected_version=version,
    )


def resume_change(ctx: DemandContext, note: str) -> Change:
    """The clock restarts; the suspended working days push the effective deadline back. The
    natural time suspended is kept too, for handling times in hours (supervisor view)."""
    d = ctx.demand
    assert d.suspended_at is not None
    days = working_days_paused(ctx.calendar, local_date(d.suspended_at), ctx.today)
    d.suspended_days += days
    seconds = max(0, int((ctx.now - d.suspended_at).total_seconds()))
    return Change(
        S.IN_PROGRESS,
        {
            "suspended_at": None,
            "suspended_days": d.suspended_days,
            "suspended_seconds": d.suspended_seconds + seconds,
            **deadline_fields(ctx, d),
        },
        note=note,
        data={"suspendedDays": days},
    )


async def resume_demand(
    actor: Actor,
    demand_id: int,
    *,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    clean = _checked_note(note, required=False)
    return await run_transition(
        actor,
        demand_id,
        A.RESUME,
        lambda ctx: resume_change(ctx, clean),
        client_id=client_id,
        args={"note": note},
        expected_version=version,
    )


async def reply_demand(
    actor: Actor,
    demand_id: int,
    *,
    outcome: str,
    text_: str,
    attachment_ids: list[int] | None = None,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """答复: the outcome, the text and evidence; to the leader's sign-off where policy asks."""
    problems = Problems()
    the_outcome = choice(problems, ReplyOutcome, outcome, "outcome")
    if the_outcome is None and not problems.items:
        problems.add("REQUIRED", "outcome")
    clean = text(problems, text_, "text", max_len=MAX_TEXT, required=True)
    problems.raise_if_any()
    assert the_outcome is not None

    def work(ctx: DemandContext) -> Change:
        d = ctx.demand
        target = S.PENDING_APPROVAL if ctx.policy.require_reply_approval else S.PENDING_REVIEW
        fields: dict[str, Any] = {
            "reply_outcome": the_outcome,
            "reply_text": clean,
            "replied_at": ctx.now,
        }
        if d.rectification_state is RectificationState.OPEN:
            fields.update(rectification_state=RectificationState.DONE, rectified_at=ctx.now)
        return Change(
            target,
            fields,
            note=clean,
            data={"outcome": the_outcome.value},
            attachment_ids=attachment_ids or [],
        )

    return await run_transition(
        actor,
        demand_id,
        A.REPLY,
        work,
        client_id=client_id,
        args={"outcome": outcome, "text": text_, "files": attachment_ids},
        expected_version=version,
    )


async def approve_reply(
    actor: Actor,
    demand_id: int,
    *,
    approve: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """The department leader signs the reply off, or sends it back to be redone."""
    clean = _checked_note(note, required=not approve)

    def work(ctx: DemandContext) -> Change:
        target = S.PENDING_REVIEW if approve else S.IN_PROGRESS
        return Change(target, note=clean, data={"approved": approve})

    return await run_transition(
        actor,
        demand_id,
        A.APPROVE_REPLY,
        work,
        client_id=client_id,
        args={"approve": approve, "note": note},
        expected_version=version,
    )


async def review_reply(
    actor: Actor,
    demand_id: int,
    *,
    passed: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """The office checks the reply: pass → return visit; fail → the department redoes it."""
    clean = _checked_note(note, required=not passed)

    def work(ctx: DemandContext) -> Change:
        target = S.PENDING_VISIT if passed else S.IN_PROGRESS
        return Change(target, note=clean, data={"passed": passed})

    return await run_transition(
        actor,
        demand_id,
        A.REVIEW_REPLY,
        work,
        client_id=client_id,
        args={"passed": passed, "note": note},
        expected_version=version,
    )


# --------------------------------------------------------------------------- rating


def _rating_change(
    ctx: DemandContext, rating: Satisfaction, comment: str, data: dict[str, Any]
) -> Change:
    """Satisfied levels close it; a bad rating reopens it (重办) with a rectification deadline."""
    d = ctx.demand
    fields: dict[str, Any] = {
        "rating": rating,
        "rating_comment": comment,
        "rated_at": ctx.now,
        "rating_excluded": False,
        "appeal": None,
    }
    data = {**data, "rating": rating.value}
    if rating not in BAD_RATINGS:
        fields.update(closed_at=ctx.now, closure=ClosureKind.SATISFIED)
        return Change(S.CLOSED, fields, note=comment, data=data)
    dl = compute_deadlines(
        ctx.calendar,
        ctx.today,
        ctx.policy.rectification_days,
        warning_lead=ctx.policy.warning_lead_days,
    )
    fields.update(
        reopen_count=d.reopen_count + 1,
        rectification_state=RectificationState.OPEN,
        rectification_deadline=dl.effective,
        rectified_at=None,
        effective_deadline=dl.effective,
        warning_date=dl.warning_from,
        deadline_confirmed=dl.confirmed,
    )
    return Change(S.IN_PROGRESS, fields, note=comment, data=data)


async def rate_demand(
    actor: Actor,
    demand_id: int,
    *,
    rating: str,
    comment: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """The enterprise rates the result in the app (好差评)."""
    problems = Problems()
    level = choice(problems, Satisfaction, rating, "rating")
    if level is None and not problems.items:
        problems.add("REQUIRED", "rating")
    clean = _note(problems, comment, required=False, field="comment")
    problems.raise_if_any()
    assert level is not None
    return await run_transition(
        actor,
        demand_id,
        A.RATE,
        lambda ctx: _rating_change(ctx, level, clean, {"by": "ENTERPRISE"}),
        client_id=client_id,
        args={"rating": rating, "comment": comment},
        expected_version=version,
    )


async def record_return_visit(
    actor: Actor,
    demand_id: int,
    *,
    reached: bool,
    rating: str | None = None,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """回访: the office calls the enterprise. Reached: its rating counts as the enterprise's.
    Not reached: one more failed attempt; after the policy's number it closes as unreached."""
    problems = Problems()
    level = choice(problems, Satisfaction, rating, "rating") if reached else None
    if reached and level is None and not problems.items:
        problems.add("REQUIRED", "rating")
    clean = _note(problems, note, required=False)
    problems.raise_if_any()

    def work(ctx: DemandContext) -> Change:
        if reached:
            assert level is not None
            return _rating_change(ctx, level, clean, {"by": "RETURN_VISIT", "reached": True})
        d = ctx.demand
        attempts = d.contact_attempts + 1
        data = {"reached": False, "attempt": attempts}
        if attempts >= ctx.policy.unreached_attempts:
            return Change(
                S.CLOSED,
                {
                    "contact_attempts": attempts,
                    "closed_at": ctx.now,
                    "closure": ClosureKind.UNREACHED,
                },
                note=clean,
                data=data,
            )
        return Change(S.PENDING_VISIT, {"contact_attempts": attempts}, note=clean, data=data)

    return await run_transition(
        actor,
        demand_id,
        A.RECORD_RETURN_VISIT,
        work,
        client_id=client_id,
        args={"reached": reached, "rating": rating, "note": note},
        expected_version=version,
    )


async def appeal_rating(
    actor: Actor,
    demand_id: int,
    *,
    reason: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """申诉: the department contests a bad rating once; a supervisor decides."""
    return await _ask(
        actor, demand_id, A.APPEAL_RATING, PendingKind.APPEAL, reason, client_id, version
    )


async def decide_appeal(
    actor: Actor,
    demand_id: int,
    *,
    uphold: bool,
    note: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """Upheld: the rating stays in the record but leaves the rankings, and the rectification
    is waived. Refused: nothing changes but the record of the decision."""
    clean = _checked_note(note, required=True)

    async def work(ctx: DemandContext) -> Change:
        await _decide(ctx, PendingKind.APPEAL, actor, uphold, clean)
        d = ctx.demand
        fields: dict[str, Any] = {
            "appeal": RequestDecision.APPROVED if uphold else RequestDecision.REFUSED
        }
        target = d.state
        if uphold:
            fields["rating_excluded"] = True
            if d.rectification_state is RectificationState.OPEN:
                fields["rectification_state"] = RectificationState.WAIVED
                if d.state is S.IN_PROGRESS:
                    # The redo the unfair rating forced is moot: closed again, clock stopped.
                    target = S.CLOSED
                    fields.update(
                        closed_at=ctx.now, closure=ClosureKind.APPEAL_UPHELD, pending=None
                    )
        return Change(target, fields, note=clean, data={"upheld": uphold})

    return await run_transition(
        actor,
        demand_id,
        A.DECIDE_APPEAL,
        work,
        client_id=client_id,
        args={"uphold": uphold, "note": note},
        expected_version=version,
    )


# --------------------------------------------------------------------------- others


async def escalate_demand(
    actor: Actor,
    demand_id: int,
    *,
    level: int | None = None,
    note: str,
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """督办: a supervisor raises the level (1..3); the department's leader, then the supervisor
    are told (the notifications issue adds the messages)."""
    clean = _checked_note(note, required=True)

    def work(ctx: DemandContext) -> Change:
        current = ctx.demand.escalation_level
        new = current + 1 if level is None else level
        if not current < new <= 3:
            raise DomainError("INVALID_ESCALATION_LEVEL", "level", current=current)
        return Change(ctx.demand.state, {"escalation_level": new}, note=clean, data={"level": new})

    return await run_transition(
        actor,
        demand_id,
        A.ESCALATE,
        work,
        client_id=client_id,
        args={"level": level, "note": note},
        expected_version=version,
    )


async def withdraw_demand(
    actor: Actor,
    demand_id: int,
    *,
    reason: str = "",
    client_id: str | None = None,
    version: int | None = None,
) -> Demand:
    """撤回: the enterprise (or whoever submitted it) takes it back while it is open."""
    clean = _checked_note(reason, required=False, field="reason")

    async def work(ctx: DemandContext) -> Change:
        await DemandRequest.filter(
            demand_id=ctx.demand.id, decision=RequestDecision.PENDING
        ).update(decision=RequestDecision.REFUSED, decided_at=ctx.now, decision_note="撤回")
        return Change(S.WITHDRAWN, {"pending": None, "suspended_at": None}, note=clean)

    return await run_transition(
        actor,
        demand_id,
        A.WITHDRAW,
        work,
        client_id=client_id,
        args={"reason": reason},
        expected_version=version,
    )
