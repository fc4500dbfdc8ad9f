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


def period_months(kind: PeriodKind) -> int:
    """How many calendar months one period of this kind spans."""
    return _MONTHS[kind]


def period_index(kind: PeriodKind, day: date) -> int:
    """A running number of the period of this kind that contains `day`: consecutive periods
    differ by one (months since year 0, divided by the period's length in months)."""
    return (day.year * 12 + day.month - 1) // _MONTHS[kind]


def periods_touched(kind: PeriodKind, start: date, end: date) -> int:
    """How many periods of this kind the days start..end (both included) reach into: a visit
    cadence of one visit per period owes this many visits for that span (0 if end < start)."""
    if end < start:
        return 0
    return period_index(kind, end) - period_index(kind, start) + 1
