"""Time-driven demand notices, written by the scheduler (server/jobs.py) in each process:

- warning (预警): from the demand's warning date, once per effective deadline, to the handler
  who claimed it (or the department's handlers while unclaimed) and the region's dispatchers;
- overdue (超期): once the effective deadline has passed, once per deadline, to the same people;
- return visit (回访) still due two working days after the reply reached the dispatcher.

They go out in working hours only: on a working day of the region's calendar, from 09:00
(Asia/Shanghai), never at midnight or on a holiday; a run outside that writes nothing and the
next run in working hours catches up. Each fires once per demand and threshold (its dedup key),
however often the scheduler runs or restarts, in however many processes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from tortoise.transactions import in_transaction

from models.ops.demand_notices import demand_notice
from models.ops.notify import department_staff, fired, notify, regional
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.demand_states import CLOCK_STATES, DemandState
from models.rules.notification_kinds import NotificationKind as K
from models.rules.roles import Role
from models.rules.workdays import local_date
from models.tables.demands import Demand

WORKDAY_START = time(9, 0)
WORKDAY_END = time(18, 0)
RETURN_VISIT_REMINDER_DAYS = 2


def _in_working_hours(now: datetime) -> bool:
    t = now.astimezone(clock.TZ).time()
    return WORKDAY_START <= t < WORKDAY_END


async def _people(d: Demand) -> list[int]:
    handler: int | None = d.handler_id  # type: ignore[attr-defined]
    department: int = d.department_id  # type: ignore[attr-defined]
    staff = [handler] if handler else await department_staff(department)
    return staff + await regional(Role.DISPATCHER, d.region_id)  # type: ignore[attr-defined]


async def send_deadline_notices(now: datetime | None = None) -> int:
    """Warnings and overdue notices due now; returns how many were written."""
    now = now or clock.now()
    if not _in_working_hours(now):
        return 0
    today = local_date(now)
    open_states = [s.value for s in CLOCK_STATES]
    warned = await Demand.filter(
        state__in=open_states, warning_date__lte=today, effective_deadline__gte=today
    )
    overdue = await Demand.filter(state__in=open_states, effective_deadline__lt=today)
    due: list[tuple[K, Demand, str]] = []
    for kind, demands in ((K.DEMAND_WARNING, warned), (K.DEMAND_OVERDUE, overdue)):
        for d in demands:
            if d.state is DemandState.SUSPENDED:
                continue  # the clock is stopped
            cal = await load_calendar(d.region_id)  # type: ignore[attr-defined]
            if cal.is_workday(today):
                assert d.effective_deadline is not None
                due.append((kind, d, f"{kind}:{d.id}:{d.effective_deadline.isoformat()}"))
    written = 0
    done = await fired([key for _, _, key in due])
    for kind, d, key in due:
        if key in done:
            continue  # told already: the common case on every run after the first
        assert d.effective_deadline is not None
        deadline = d.effective_deadline.isoformat()
        notice = demand_notice(kind, d, await _people(d), deadline=deadline)
        async with in_transaction():
            if await notify(replace(notice, dedup_key=key), now) is not None:
                written += 1
    return written


async def send_return_visit_reminders(now: datetime | None = None) -> int:
    """Remind the dispatchers of return visits still due two working days after the reply."""
    now = now or clock.now()
    if not _in_working_hours(now):
        return 0
    today = local_date(now)
    waiting: list[tuple[Demand, str]] = []
    for d in await Demand.filter(
        state=DemandState.PENDING_VISIT.value, replied_at__not_isnull=True
    ):
        cal = await load_calendar(d.region_id)  # type: ignore[attr-defined]
        assert d.replied_at is not None
        waited = cal.working_days_between(local_date(d.replied_at), today)
        if cal.is_workday(today) and waited >= RETURN_VISIT_REMINDER_DAYS:
            waiting.append((d, f"RETURN_VISIT_REMINDER:{d.id}:{d.reopen_count}"))
    written = 0
    done = await fired([key for _, key in waiting])
    for d, key in waiting:
        if key in done:
            continue
        people = await regional(Role.DISPATCHER, d.region_id)  # type: ignore[attr-defined]
        notice = demand_notice(K.DEMAND_RETURN_VISIT_DUE, d, people, reminder=True)
        async with in_transaction():
            if await notify(replace(notice, dedup_key=key), now) is not None:
                written += 1
    return written
