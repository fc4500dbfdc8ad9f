"""Working-day arithmetic on the State Council's calendar (holidays and 调休 make-up days).

Pure: a `WorkCalendar` is built from exception days (a weekday holiday, a weekend make-up
workday) and the years whose arrangement is known. A date in an unknown year falls back to
Monday–Friday, and any result that relied on that is marked unconfirmed — never an error,
because next year's arrangement is only published in November."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from models.rules.clock import TZ

# Far enough for any deadline; guards against a calendar with no working day at all.
_MAX_SCAN_DAYS = 3660


@dataclass(frozen=True, slots=True)
class WorkingDayResult:
    date: date
    confirmed: bool  # False when the count passed through a year the calendar does not know


class WorkCalendar:
    def __init__(self, exceptions: Mapping[date, bool], known_years: Iterable[int]) -> None:
        """`exceptions`: date → is it a working day, where that differs from Mon–Fri."""
        self._exceptions = dict(exceptions)
        self.known_years = frozenset(known_years)

    def is_known(self, d: date) -> bool:
        return d.year in self.known_years

    def is_workday(self, d: date) -> bool:
        found = self._exceptions.get(d)
        if found is not None:
            return found
        return d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> WorkingDayResult:
        """The n-th working day counted from the day after `start` (n=0: `start` itself)."""
        if n < 0:
            raise ValueError("n must not be negative")
        d, left, confirmed = start, n, True
        for _ in range(_MAX_SCAN_DAYS * max(1, n)):
            if left == 0:
                return WorkingDayResult(d, confirmed)
            d += timedelta(days=1)
            confirmed = confirmed and self.is_known(d)
            if self.is_workday(d):
                left -= 1
        raise ValueError("no working days in the calendar")

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        d = start
        while d < end:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return count

    def subtract_working_days(self, end: date, n: int) -> date:
        """The latest date from which `n` working days reach `end` (warnings before deadlines)."""
        if n < 0:
            raise ValueError("n must not be negative")
        d, left = end, n
        for _ in range(_MAX_SCAN_DAYS * max(1, n)):
            if left == 0:
                return d
            if self.is_workday(d):
                left -= 1
            d -= timedelta(days=1)
        raise ValueError("no working days in the calendar")


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    return moment.astimezone(TZ).date()


@cache
def national_exceptions() -> tuple[dict[date, bool], frozenset[int]]:
    """The published arrangement as the `chinesecalendar` package ships it: weekday holidays
    and weekend make-up workdays, and the years it covers."""
    import chinese_calendar.constants as cc

    exceptions: dict[date, bool] = {}
    for d in cc.holidays:
        if d.weekday() < 5:
            exceptions[d] = False
    for d in cc.workdays:
        if d.weekday() >= 5:
            exceptions[d] = True
    years = frozenset(d.year for d in cc.holidays)
    return exceptions, years


def national_holiday_names() -> dict[date, str]:
    """Holiday and make-up day names from the package (e.g. "National Day")."""
    import chinese_calendar.constants as cc

    names: dict[date, str] = {d: str(name) for d, name in cc.holidays.items() if name}
    names.update({d: str(name) for d, name in cc.workdays.items() if name and d.weekday() >= 5})
    return names


def national_calendar() -> WorkCalendar:
    exceptions, years = national_exceptions()
    return WorkCalendar(exceptions, years)
