"""A demand's deadlines in working days: the dispatch deadline, the effective one (approved
extensions added, suspended working days excluded) and the day its warning starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.rules.workdays import WorkCalendar


@dataclass(frozen=True, slots=True)
class Deadlines:
    deadline: date  # dispatch date + limit
    effective: date  # + extensions + suspended working days
    warning_from: date  # the warning (预警) is due from this day on
    confirmed: bool  # False when a count ran through a year the calendar does not know


def compute_deadlines(
    cal: WorkCalendar,
    dispatched_on: date,
    limit_days: int,
    *,
    extension_days: int = 0,
    suspended_days: int = 0,
    warning_lead: int = 1,
) -> Deadlines:
    base = cal.add_working_days(dispatched_on, limit_days)
    effective = cal.add_working_days(dispatched_on, limit_days + extension_days + suspended_days)
    return Deadlines(
        deadline=base.date,
        effective=effective.date,
        warning_from=cal.subtract_working_days(effective.date, warning_lead),
        confirmed=base.confirmed and effective.confirmed,
    )


def remaining_working_days(cal: WorkCalendar, today: date, effective: date) -> int:
    """Working days left until the effective deadline; negative once it has passed."""
    if today <= effective:
        return cal.working_days_between(today, effective)
    return -cal.working_days_between(effective, today)


def paused_deadline(
    cal: WorkCalendar, effective: date, paused_on: date | None, today: date
) -> date:
    """The effective deadline as it stands today: while the clock is stopped (a demand's
    中止, an agency request's 补正) it moves one working day for each working day paused."""
    if paused_on is None:
        return effective
    return cal.add_working_days(effective, working_days_paused(cal, paused_on, today)).date


def working_days_paused(cal: WorkCalendar, paused_on: date, today: date) -> int:
    """Working days a pause begun on `paused_on` has lasted by `today`: the working days after
    the day it began, up to and including today (the day it began still counted as run)."""
    return max(0, cal.working_days_between(paused_on, today))


def days_left(cal: WorkCalendar, effective: date, paused_on: date | None, today: date) -> int:
    """Working days left to the effective deadline; while paused, counted from the day the
    clock stopped, so the figure stays frozen until it runs again."""
    return remaining_working_days(cal, paused_on or today, effective)
