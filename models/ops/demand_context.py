"""What a demand transition needs to know before it writes: the demand, how the actor stands
to it, the region's policy and calendar, and today's date in Asia/Shanghai."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.errors import DomainError
from models.ops.policy import load_policy
from models.ops.region_tree import region_path as path_of
from models.ops.work_calendar import load_calendar
from models.rules.actor import Actor
from models.rules.deadlines import compute_deadlines
from models.rules.demand_flow import Facts, Relation
from models.rules.demand_states import DemandState
from models.rules.demand_view import Clock, extension_room, facts_of
from models.rules.policy import Policy
from models.rules.roles import Role
from models.rules.workdays import WorkCalendar, local_date
from models.tables.demands import Demand
from models.tables.enterprises import EnterpriseContact


@dataclass
class DemandContext:
    demand: Demand
    region_path: str
    relation: Relation
    policy: Policy
    calendar: WorkCalendar
    now: datetime
    today: date

    def clock(self) -> Clock:
        return clock_of(self.demand)

    def facts(self) -> Facts:
        d = self.demand
        return facts_of(
            self.clock(),
            pending=d.pending,
            rating=d.rating,
            appeal=d.appeal,
            escalation_level=d.escalation_level,
            cal=self.calendar,
            policy=self.policy,
            today=self.today,
        )

    def extension_room(self) -> int:
        return extension_room(self.clock(), self.policy)


def clock_of(d: Demand) -> Clock:
    return Clock(
        state=d.state,
        dispatched_at=d.dispatched_at,
        effective_deadline=d.effective_deadline,
        warning_date=d.warning_date,
        suspended_at=d.suspended_at,
        extension_days=d.extension_days,
    )


def relation_of(actor: Actor, demand: Demand, region_path: str, *, is_contact: bool) -> Relation:
    dept = demand.department_id  # type: ignore[attr-defined]
    return Relation(
        dispatcher=actor.covers(region_path, (Role.DISPATCHER,)),
        handler=dept is not None and dept in actor.department_ids(),
        department_lead=dept is not None and dept in actor.department_ids(lead_only=True),
        supervisor=actor.covers(region_path, (Role.SUPERVISOR,)),
        contact=is_contact,
        submitter=demand.submitted_by_id == actor.user_id,  # type: ignore[attr-defined]
    )


async def is_contact_of(actor: Actor, enterprise_id: int) -> bool:
    if not actor.has_role(Role.ENTERPRISE):
        return False
    return await EnterpriseContact.filter(
        enterprise_id=enterprise_id, user_id=actor.user_id
    ).exists()


async def load_context(actor: Actor, demand_id: int, now: datetime) -> DemandContext:
    """The demand as this actor may act on it; NOT_FOUND when the actor has no relation to it
    at all (so nobody learns that a demand they may not see exists)."""
    demand = await Demand.get_or_none(id=demand_id)
    if demand is None:
        raise DomainError("NOT_FOUND", "demandId")
    region_id: int = demand.region_id  # type: ignore[attr-defined]
    region_path = await path_of(region_id)
    contact = await is_contact_of(actor, demand.enterprise_id)  # type: ignore[attr-defined]
    relation = relation_of(actor, demand, region_path, is_contact=contact)
    visible = any(
        (
            relation.dispatcher,
            relation.handler,
            relation.supervisor,
            relation.contact,
            relation.submitter,
            actor.covers(region_path, (Role.CADRE, Role.ADMIN)),
            demand.department_id is not None  # type: ignore[attr-defined]
            and await _assists(actor, demand.id),
        )
    )
    if demand.state is DemandState.DRAFT and not relation.submitter:
        visible = False  # a draft is its author's until submitted
    if not visible:
        raise DomainError("NOT_FOUND", "demandId")
    return DemandContext(
        demand=demand,
        region_path=region_path,
        relation=relation,
        policy=await load_policy(region_id),
        calendar=await load_calendar(region_id),
        now=now,
        today=local_date(now),
    )


async def _assists(actor: Actor, demand_id: int) -> bool:
    from models.tables.demands import DemandAssist

    depts = actor.department_ids()
    if not depts:
        return False
    return await DemandAssist.filter(demand_id=demand_id, department_id__in=depts).exists()


def deadline_fields(ctx: DemandContext, d: Demand) -> dict[str, object]:
    """The demand's deadline columns recomputed from its dispatch, limit, extensions and
    finished suspensions."""
    if d.dispatched_at is None or d.limit_days is None:
        return {"deadline": None, "effective_deadline": None, "warning_date": None}
    dl = compute_deadlines(
        ctx.calendar,
        local_date(d.dispatched_at),
        d.limit_days,
        extension_days=d.extension_days,
        suspended_days=d.suspended_days,
        warning_lead=ctx.policy.warning_lead_days,
    )
    return {
        "deadline": dl.deadline,
        "effective_deadline": dl.effective,
        "warning_date": dl.warning_from,
        "deadline_confirmed": dl.confirmed,
    }
