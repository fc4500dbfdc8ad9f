"""Automatic transitions the server runs on a schedule: escalation (督办) of overdue demands
by the region's thresholds. Each one is its own transaction with its timeline event, written
by the system (no actor), and skips a demand someone changed meanwhile."""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from models.ops.demand_notices import escalation_notice
from models.ops.notify import notify
from models.ops.policy import load_policies
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.demand_flow import MAX_ESCALATION_LEVEL
from models.rules.demand_states import CLOCK_STATES, DemandAction
from models.rules.workdays import local_date
from models.tables.demands import Demand, DemandEvent
from models.tables.org import Region

log = logging.getLogger("enterprise_desk.jobs")


def escalation_level_for(overdue_days: int, thresholds: tuple[int, ...]) -> int:
    """How many of the region's thresholds an overdue demand has reached (0..3)."""
    return min(MAX_ESCALATION_LEVEL, sum(1 for t in thresholds if overdue_days >= t))


async def escalate_overdue(now: datetime | None = None) -> int:
    """Raise the escalation level of overdue demands; returns how many were escalated."""
    now = now or clock.now()
    today = local_date(now)
    rows = await Demand.filter(
        state__in=[s.value for s in CLOCK_STATES],
        effective_deadline__lt=today,
        escalation_level__lt=MAX_ESCALATION_LEVEL,
    ).values("id", "region_id", "state", "effective_deadline", "escalation_level", "version")
    region_ids = {r["region_id"] for r in rows}
    paths = dict(await Region.filter(id__in=region_ids).values_list("id", "path"))
    policies = await load_policies(paths) if paths else {}
    escalated = 0
    for r in rows:
        cal = await load_calendar(r["region_id"])  # cached per process
        policy = policies[r["region_id"]]
        days = cal.working_days_between(r["effective_deadline"], today)
        level = escalation_level_for(days, policy.escalation_thresholds)
        if level <= r["escalation_level"]:
            continue
        try:
            await _escalate(r, level, days, now)
        except _Changed:
            continue  # someone acted on it meanwhile; the next run looks again
        escalated += 1
    if escalated:
        log.info("escalated %d overdue demands", escalated)
    return escalated


class _Changed(Exception):
    pass


async def _escalate(r: dict, level: int, days: int, now: datetime) -> None:
    async with in_transaction():
        event = await DemandEvent.create(
            demand_id=r["id"],
            action=DemandAction.ESCALATE,
            actor_id=None,
            at=now,
            from_state=r["state"],
            to_state=r["state"],
            note="",
            data={"level": level, "automatic": True, "overdueDays": days},
        )
        updated = await Demand.filter(id=r["id"], version=r["version"]).update(
            escalation_level=level, version=r["version"] + 1, last_event_id=event.id
        )
        if updated != 1:
            raise _Changed  # rolls the event back with it
        demand = await Demand.get(id=r["id"])
        await notify(await escalation_notice(demand, level), now)
