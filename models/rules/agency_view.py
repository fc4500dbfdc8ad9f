"""What a screen shows of an agency request's clock and materials, derived from its row, the
calendar and today: the effective deadline (moving while paused for 补正), overdue, working
days left, on time, and the facts the transition rules need. Pure: the operations and the read
path share it, and the demand clock's pause arithmetic (models.rules.deadlines) is reused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from models.rules.agency_flow import AgencyFacts
from models.rules.agency_states import AGENCY_CLOCK_STATES, AgencyState
from models.rules.deadlines import days_left, paused_deadline, working_days_paused
from models.rules.demand_states import RectificationState, Satisfaction
from models.rules.workdays import WorkCalendar, local_date


@dataclass(frozen=True, slots=True)
class AgencyClock:
    """An agency request's dates as the read path and the rules need them."""

    state: AgencyState
    effective_deadline: date | None
    paused_at: datetime | None
    completed_at: datetime | None = None
    paused_days: int = 0  # the finished 补正 pauses' working days, as stored


def _paused_on(c: AgencyClock) -> date | None:
    if c.state is AgencyState.MATERIALS_REQUESTED and c.paused_at is not None:
        return local_date(c.paused_at)
    return None


def effective_deadline_now(c: AgencyClock, cal: WorkCalendar, today: date) -> date | None:
    """The stored effective deadline, moved on by each working day of a pause still running."""
    if c.effective_deadline is None:
        return None
    return paused_deadline(cal, c.effective_deadline, _paused_on(c), today)


def paused_days_now(c: AgencyClock, cal: WorkCalendar, today: date) -> int:
    """Working days paused for 补正: the finished pauses' and, while paused, those the running
    pause has lasted by today, as its end would count them (models.ops.agency), so the figure
    grows with the effective deadline and does not jump when the enterprise supplies."""
    paused_on = _paused_on(c)
    running = 0 if paused_on is None else working_days_paused(cal, paused_on, today)
    return c.paused_days + running


def is_overdue(c: AgencyClock, today: date) -> bool:
    """Accepted, the clock running (not paused for materials) and past the effective deadline.
    The list filter asks the same of the stored columns (see schema.agency_reads)."""
    return (
        c.state in AGENCY_CLOCK_STATES
        and c.effective_deadline is not None
        and today > c.effective_deadline
    )


def working_days_left(c: AgencyClock, cal: WorkCalendar, today: date) -> int | None:
    """Working days to the effective deadline (negative when overdue, frozen while paused);
    None before acceptance and once the request is closed."""
    if c.effective_deadline is None:
        return None
    if c.state not in AGENCY_CLOCK_STATES | {AgencyState.MATERIALS_REQUESTED}:
        return None
    return days_left(cal, c.effective_deadline, _paused_on(c), today)


def on_time(c: AgencyClock) -> bool | None:
    """Completed on or before the effective deadline; None unless completed."""
    if c.state is not AgencyState.COMPLETED or c.completed_at is None:
        return None
    if c.effective_deadline is None:
        return None
    return local_date(c.completed_at) <= c.effective_deadline


# --------------------------------------------------------------------------- materials


def waivable(materials: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of a procedure's materials that may be accepted missing (容缺)."""
    return {str(m.get("name")) for m in materials if m.get("mayBeMissing")}


def owed(missing: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """容缺 materials not handed over yet."""
    return [m for m in missing if not m.get("suppliedAt")]


def facts_of(
    state: AgencyState,
    *,
    rating: Satisfaction | None,
    rectification: RectificationState | None,
    missing_materials: Iterable[Mapping[str, Any]],
    deadline: date | None = None,
    rectification_deadline: date | None = None,
) -> AgencyFacts:
    """`deadline`: the effective deadline as it stands today (effective_deadline_now)."""
    still_owed = owed(missing_materials)
    promises = [d for d in (_day(m.get("promisedBy")) for m in still_owed) if d is not None]
    return AgencyFacts(
        state=state,
        rating=rating,
        rectification=rectification,
        missing_materials=bool(still_owed),
        promised_by=min(promises, default=None),
        deadline=deadline,
        rectification_deadline=rectification_deadline,
    )


def _day(value: Any) -> date | None:
    """A promised date as the row's JSON keeps it (ISO text)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
