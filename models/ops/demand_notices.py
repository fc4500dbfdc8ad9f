"""Which demand transitions tell whom (docs/design.md sections 5 and 9), written by the transition's
own transaction through models.ops.notify.

- dispatched → the lead department's handlers (新诉求待签收);
- a return, extension or suspension decided → the handler who asked;
- the reply passed review (awaiting the return visit) → the enterprise's contacts and whoever
  raised it (答复), and the region's dispatchers (待回访);
- a bad rating → the region's supervisors (差评);
- escalated → the department's leaders at level 1, its leaders and the region's supervisors
  from level 2 (督办: "the department's leader, then the supervisor").
Warnings and overdue notices are time-driven: models.ops.notice_jobs writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.ops.notify import (
    Notice,
    department_staff,
    enterprise_contacts,
    notify,
    regional,
)
from models.rules.demand_states import (
    BAD_RATINGS,
    DemandAction,
    DemandState,
    PendingKind,
    RequestDecision,
)
from models.rules.notification_kinds import NotificationKind as K
from models.rules.roles import Role
from models.tables.demands import Demand, DemandRequest

_DECISIONS = {
    DemandAction.DECIDE_RETURN: (PendingKind.RETURN, K.DEMAND_RETURN_DECIDED),
    DemandAction.DECIDE_EXTENSION: (PendingKind.EXTENSION, K.DEMAND_EXTENSION_DECIDED),
    DemandAction.DECIDE_SUSPENSION: (PendingKind.SUSPENSION, K.DEMAND_SUSPENSION_DECIDED),
}


def demand_notice(kind: K, d: Demand, recipients: list[int], **data: Any) -> Notice:
    return Notice(
        kind=kind,
        recipients=recipients,
        subject_type="Demand",
        subject_id=d.id,
        data={"title": d.title, "number": d.number, **data},
        region_id=d.region_id,  # type: ignore[attr-defined]
    )


async def escalation_notice(d: Demand, level: int) -> Notice:
    dept = d.department_id  # type: ignore[attr-defined]
    people = await department_staff(dept, leads_only=True) if dept else []
    if level >= 2:
        people += await regional(Role.SUPERVISOR, d.region_id)  # type: ignore[attr-defined]
    return demand_notice(K.DEMAND_ESCALATED, d, people, level=level)


async def transition_notices(
    action: DemandAction, before: Demand, after: Demand, data: dict[str, Any]
) -> list[Notice]:
    """The notices one transition causes; `before` and `after` are the demand's rows."""
    out: list[Notice] = []
    if action is DemandAction.DISPATCH and after.department_id is not None:  # type: ignore[attr-defined]
        staff = await department_staff(after.department_id)  # type: ignore[attr-defined]
        out.append(
            demand_notice(K.DEMAND_DISPATCHED, after, staff, deadline=data.get("deadline", ""))
        )
    if action in _DECISIONS:
        kind, notice_kind = _DECISIONS[action]
        req = (
            await DemandRequest.filter(demand_id=after.id, kind=kind)
            .exclude(decision=RequestDecision.PENDING)
            .order_by("-id")
            .first()
        )
        if req is not None:
            approved = req.decision is RequestDecision.APPROVED
            out.append(
                demand_notice(notice_kind, after, [req.requested_by_id], approved=approved)  # type: ignore[attr-defined]
            )
    if after.state is DemandState.PENDING_VISIT and before.state is not DemandState.PENDING_VISIT:
        told = await enterprise_contacts(after.enterprise_id)  # type: ignore[attr-defined]
        told.append(after.submitted_by_id)  # type: ignore[attr-defined]
        out.append(demand_notice(K.DEMAND_REPLIED, after, told))
        dispatchers = await regional(Role.DISPATCHER, after.region_id)  # type: ignore[attr-defined]
        out.append(demand_notice(K.DEMAND_RETURN_VISIT_DUE, after, dispatchers))
    rating = data.get("rating")
    if rating is not None and rating in {r.value for r in BAD_RATINGS}:
        supervisors = await regional(Role.SUPERVISOR, after.region_id)  # type: ignore[attr-defined]
        out.append(demand_notice(K.DEMAND_RATED_BADLY, after, supervisors, rating=rating))
    if action is DemandAction.ESCALATE and after.escalation_level > before.escalation_level:
        out.append(await escalation_notice(after, after.escalation_level))
    return out


async def notify_transition(
    action: DemandAction,
    before: Demand,
    after: Demand,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None,
) -> None:
    """Inside the transition's transaction; the person acting is not told of their own act."""
    for notice in await transition_notices(action, before, after, data):
        await notify(notice, now, exclude=actor_id)
