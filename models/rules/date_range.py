"""The dates the service works with: 2000-01-01 to 2100-12-31, whatever a client writes.

Every date and date-time a client sends (GraphQL arguments and input fields, the exports'
query parameters) is checked against this range at the API's edge, so nothing behind it meets
year 1 or 9999: period and trend arithmetic (date + timedelta), Asia/Shanghai conversions,
working-day counts and the databases' date types all stay far from their limits. No real
record of the service can lie outside it: the State Council's published holiday calendars
start in 2004, the service itself in the 2020s, and no deadline, plan or statistics period
reaches 2100 (a deadline is at most a few thousand working days past a date in range, which
is still a valid date). The working calendars' years use the same bounds."""

from __future__ import annotations

from datetime import date, datetime

MIN_YEAR, MAX_YEAR = 2000, 2100
FIRST_DAY = date(MIN_YEAR, 1, 1)
LAST_DAY = date(MAX_YEAR, 12, 31)


def in_range(value: date) -> bool:
    """A date, or the calendar date a date-time was written with, within the range."""
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_DAY <= day <= LAST_DAY


def range_params() -> dict[str, str]:
    """The bounds as DATE_OUT_OF_RANGE's message names them."""
    return {"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}
