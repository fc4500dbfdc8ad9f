"""Which agency request transitions tell whom (AGENCY_REQUEST_CHANGED), written by the
transition's own transaction through models.ops.notify; the person acting is never told.

- the enterprise (its app contacts and whoever submitted): accepted (容缺 or not), materials
  requested (补正), completed, rejected;
- the agents: a new request → every agent of the point; supplied, cancelled, rated → the
  assigned agent (every agent of the point while nobody is assigned); assigned → the new agent;
- a bad rating → every agent of the point and the region's supervisors (rectification)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.ops.notify import Notice, enterprise_contacts, notify, regional
from models.rules.agency_states import AgencyAction
from models.rules.demand_states import BAD_RATINGS
from models.rules.notification_kinds import NotificationKind
from models.rules.roles import Role
from models.tables.agency import AgencyRequest
from models.tables.grants import RoleGrant

A = AgencyAction


async def point_agents(service_point_id: int) -> list[int]:
    """Users holding a SERVICE_AGENT grant on the service point."""
    rows = (
        await RoleGrant.filter(role=Role.SERVICE_AGENT.value, service_point_id=service_point_id)
        .order_by("user_id")
        .values("user_id")
    )
    return [r["user_id"] for r in rows]


async def _case_agents(r: AgencyRequest) -> list[int]:
    agent = r.agent_id  # type: ignore[attr-defined]
    return [agent] if agent is not None else await point_agents(r.service_point_id)  # type: ignore[attr-defined]


async def _enterprise_side(r: AgencyRequest) -> list[int]:
    told = await enterprise_contacts(r.enterprise_id)  # type: ignore[attr-defined]
    return [*told, r.submitted_by_id]  # type: ignore[attr-defined]


def agency_notice(r: AgencyRequest, recipients: list[int], update: str, **data: Any) -> Notice:
    return Notice(
        kind=NotificationKind.AGENCY_REQUEST_CHANGED,
        recipients=recipients,
        subject_type="AgencyRequest",
        subject_id=r.id,
        data={
            "procedure": r.procedure_name,
            "number": r.number,
            "state": r.state.value,
            "update": update,
            **data,
        },
        region_id=r.region_id,  # type: ignore[attr-defined]
    )


async def agency_notices(
    action: AgencyAction, before: AgencyRequest | None, after: AgencyRequest, data: dict[str, Any]
) -> list[Notice]:
    """The notices one transition causes; `before` is None for the submission."""
    if action is A.SUBMIT:
        agents = await point_agents(after.service_point_id)  # type: ignore[attr-defined]
        return [agency_notice(after, agents, "SUBMITTED")]
    if action is A.ACCEPT:
        update = "ACCEPTED_MISSING" if after.missing_materials else "ACCEPTED"
        return [agency_notice(after, await _enterprise_side(after), update)]
    if action in (A.REQUEST_MATERIALS, A.COMPLETE, A.REJECT):
        return [agency_notice(after, await _enterprise_side(after), after.state.value)]
    if action is A.SUPPLY_MATERIALS:
        return [agency_notice(after, await _case_agents(after), "MATERIALS_SUPPLIED")]
    if action is A.CANCEL:
        return [agency_notice(after, await _case_agents(after), "CANCELLED")]
    if action is A.ASSIGN_AGENT and after.agent_id is not None:  # type: ignore[attr-defined]
        return [agency_notice(after, [after.agent_id], "ASSIGNED")]  # type: ignore[attr-defined]
    if action is A.RATE:
        rating = data.get("rating")
        if rating in {b.value for b in BAD_RATINGS}:
            people = await point_agents(after.service_point_id)  # type: ignore[attr-defined]
            people += await regional(Role.SUPERVISOR, after.region_id)  # type: ignore[attr-defined]
            return [agency_notice(after, people, "RATED_BADLY", rating=rating)]
        return [agency_notice(after, await _case_agents(after), "RATED", rating=rating)]
    return []


async def notify_agency_transition(
    action: AgencyAction,
    before: AgencyRequest | None,
    after: AgencyRequest,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None,
) -> None:
    """Inside the transition's transaction."""
    for notice in await agency_notices(action, before, after, data):
        await notify(notice, now, exclude=actor_id)
