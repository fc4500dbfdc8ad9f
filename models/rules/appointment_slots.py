"""Appointment slots of a service point's day (预约时段): pure, from its opening hours.

A day's slots are cut from each opening period of that day (models.rules.opening_hours
periods_on: none on a holiday, Monday's hours on a make-up working day), `minutes` long, starting
at the period's start; a slot must fit entirely inside its period, so a remainder shorter than a
slot (e.g. 17:15-17:30 with 30-minute slots from 08:30) offers none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from models.rules.clock import TZ
from models.rules.opening_hours import Schedule, periods_on

# How far ahead an enterprise may book.
BOOKING_HORIZON_DAYS = 30


def slots_on(
    schedule: Schedule,
    d: date,
    *,
    is_workday: Callable[[date], bool],
    closed_on_holidays: bool,
    minutes: int,
) -> list[tuple[datetime, datetime]]:
    """(start, end) of each slot of day `d`, in Asia/Shanghai, in time order."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    step = timedelta(minutes=minutes)
    out: list[tuple[datetime, datetime]] = []
    for start, end in periods_on(schedule, d, is_workday, closed_on_holidays):
        begin = datetime.combine(d, start, tzinfo=TZ)
        # None: open until midnight.
        stop = (
            datetime.combine(d, end, tzinfo=TZ)
            if end
            else datetime.combine(d + timedelta(days=1), time.min, tzinfo=TZ)
        )
        slot = begin
        while slot + step <= stop:
            out.append((slot, slot + step))
            slot += step
    return out
