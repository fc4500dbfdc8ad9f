"""Calendar periods (month, quarter, half year, year) that leaders' visit cadence counts in."""

from __future__ import annotations

from datetime import date, timedelta

from models.rules.visit_states import PeriodKind

_MONTHS = {
    PeriodKind.MONTH: 1,
    PeriodKind.QUARTER: 3,
    PeriodKind.HALF_YEAR: 6,
    PeriodKind.YEAR: 12,
}


def period_bounds(kind: PeriodKind, day: date) -> tuple[date, date]:
    """The first and last day of the period of this kind that contains `day`."""
    size = _MONTHS[kind]
    first_month = (day.month - 1) // size * size + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + size
    next_start = date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)
    return start, next_start - timedelta(days=1)
