"""What a screen shows of a demand's clock, derived from its row, the calendar and today:
the effective deadline (moving while suspended), overdue, warning, working days left, and the
time-based facts the transition rules need. Pure: the operations and the read path share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models.rules.deadlines import days_left, paused_deadline
from models.rules.demand_flow import Facts
from models.rules.demand_states import (
    CLOCK_STATES,
    DemandState,
    PendingKind,
    RectificationState,
    RequestDecision,
    Satisfaction,
)
from models.rules.policy import Policy
from models.rules.workdays import WorkCalendar, local_date


@dataclass(frozen=True, slots=True)
class Clock:
    """A demand's dates as the read path and the rules need them."""

    state: DemandState
    dispatched_at: datetime | None
    effective_deadline: date | None
    warning_date: date | None
    suspended_at: datetime | None
    extension_days: int


def effective_deadline_now(c: Clock, cal: WorkCalendar, today: date) -> date | None:
    """While suspended the deadline moves one working day for each working day suspended."""
    if c.effective_deadline is None:
        return None
    return paused_deadline(cal, c.effective_deadline, _paused_on(c), today)


def _paused_on(c: Clock) -> date | None:
    if c.state is DemandState.SUSPENDED and c.suspended_at is not None:
        return local_date(c.suspended_at)
    return None


def is_overdue(c: Clock, today: date) -> bool:
    """Open with the department, not suspended, and past the effective deadline."""
    return (
        c.state in CLOCK_STATES
        and c.effective_deadline is not None
        and today > c.effective_deadline
    )


def in_warning(c: Clock, today: date) -> bool:
    return (
        c.state in CLOCK_STATES
        and c.effective_deadline is not None
        and c.warning_date is not None
        and c.warning_date <= today <= c.effective_deadline
    )


def working_days_left(c: Clock, cal: WorkCalendar, today: date) -> int | None:
    if c.effective_deadline is None or c.state not in CLOCK_STATES | {DemandState.SUSPENDED}:
        return None
    return days_left(cal, c.effective_deadline, _paused_on(c), today)


def return_until(c: Clock, cal: WorkCalendar, policy: Policy) -> date | None:
    """The 退单 window's last day: it stays open while no more than the policy's working days
    have passed since the dispatch day, so through the day before the next working day
    after them (a weekend right after the window still counts). None: never dispatched."""
    if c.dispatched_at is None:
        return None
    closes = cal.add_working_days(local_date(c.dispatched_at), policy.return_window_days + 1)
    return closes.date - timedelta(days=1)


def extension_room(c: Clock, policy: Policy) -> int:
    return policy.extension_cap_days - c.extension_days


def facts_of(
    c: Clock,
    *,
    pending: PendingKind | None,
    rating: Satisfaction | None,
    appeal: RequestDecision | None,
    escalation_level: int,
    cal: WorkCalendar,
    policy: Policy,
    today: date,
) -> Facts:
    return Facts(
        state=c.state,
        pending=pending,
        rating=rating,
        appeal=appeal,
        escalation_level=escalation_level,
        today=today,
        return_until=return_until(c, cal, policy),
        deadline=effective_deadline_now(c, cal, today),
        extension_left=extension_room(c, policy),
        extension_cap=policy.extension_cap_days,
    )


# --- on time (按时), as the exports and the supervisor's figures judge it ---------------------


def replied_on_time(c: Clock, replied_at: datetime | None, today: date) -> bool | None:
    """Replied (答复) on or before the effective deadline. False while it is with the department
    past the deadline (an open demand past it counts as late); None while the clock still runs
    or stands, and when no deadline ran (never dispatched, answered directly)."""
    if is_overdue(c, today):
        return False
    if c.state in CLOCK_STATES or c.state is DemandState.SUSPENDED:
        return None
    if replied_at is None or c.effective_deadline is None:
        return None
    return local_date(replied_at) <= c.effective_deadline


def overdue_span(c: Clock, replied_at: datetime | None, today: date) -> tuple[date, date] | None:
    """The days a demand was late: (effective deadline, today) while overdue, (effective
    deadline, reply day) when replied late; None when on time or undecided. Working days in
    (start, end] are the overdue working days."""
    late = replied_on_time(c, replied_at, today)
    if late is not False or c.effective_deadline is None:
        return None
    end = today if replied_at is None or c.state in CLOCK_STATES else local_date(replied_at)
    return c.effective_deadline, end


def overdue_working_days(
    c: Clock, cal: WorkCalendar, replied_at: datetime | None, today: date
) -> int:
    span = overdue_span(c, replied_at, today)
    return 0 if span is None else cal.working_days_between(*span)


def rectified_on_time(
    state: RectificationState | None,
    deadline: date | None,
    rectified_at: datetime | None,
    today: date,
) -> bool | None:
    """整改按期: a rectification replied on or before its deadline; False once an open one is
    past it; None while it is still in time, when it was waived (appeal upheld) or never
    opened."""
    if state is None or deadline is None or state is RectificationState.WAIVED:
        return None
    if state is RectificationState.DONE and rectified_at is not None:
        return local_date(rectified_at) <= deadline
    return False if today > deadline else None
