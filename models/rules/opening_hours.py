"""Opening hours of a service point (服务点): a weekly schedule of periods per weekday, closed on
the holidays of the region's calendar unless the point says otherwise, and open on a make-up
working day (调休) with the hours of an ordinary working day (Monday's).

Weekend hours (a point open on Saturdays) do not apply on the weekend days of a holiday.

Pure: schedules are plain data, e.g. {"MON": [["08:30", "12:00"], ["13:30", "17:30"]], ...},
validated by `clean_schedule`; `is_open` and `next_opening` answer for a moment in
Asia/Shanghai given the calendar's `is_workday`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta

from models.rules.clock import TZ

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
MAX_PERIODS_PER_DAY = 4

Schedule = dict[str, list[tuple[time, time | None]]]  # None end: until midnight (24:00)


class ScheduleError(ValueError):
    def __init__(self, day: str, reason: str) -> None:
        super().__init__(f"{day}: {reason}")
        self.day = day
        self.reason = reason


def _parse(value: object, day: str) -> time | None:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise ScheduleError(day, "times are HH:MM")
    if value == "24:00":
        return None
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


def clean_schedule(raw: Mapping[str, Sequence[Sequence[str]]]) -> Schedule:
    """Validate a weekly schedule: known weekdays, HH:MM periods that start before they end and
    do not overlap, at most four a day. Days left out are closed."""
    out: Schedule = {}
    for day, periods in raw.items():
        if day not in WEEKDAYS:
            raise ScheduleError(day, "unknown weekday")
        if len(periods) > MAX_PERIODS_PER_DAY:
            raise ScheduleError(day, "too many periods")
        parsed: list[tuple[time, time | None]] = []
        for period in periods:
            if len(period) != 2:
                raise ScheduleError(day, "a period is [start, end]")
            start, end = _parse(period[0], day), _parse(period[1], day)
            if start is None or (end is not None and end <= start):
                raise ScheduleError(day, "a period must start before it ends")
            parsed.append((start, end))
        parsed.sort(key=lambda p: p[0])
        for (_, end), (next_start, _) in itertools.pairwise(parsed):
            if end is None or end > next_start:
                raise ScheduleError(day, "periods overlap")
        if parsed:
            out[day] = parsed
    return out


def periods_on(
    schedule: Schedule, d: date, is_workday: Callable[[date], bool], closed_on_holidays: bool
) -> list[tuple[time, time | None]]:
    """The day's periods: its weekday's, none on a holiday, Monday's on a make-up workday."""
    weekday = WEEKDAYS[d.weekday()]
    if not closed_on_holidays:
        return schedule.get(weekday, [])
    working = is_workday(d)
    if d.weekday() < 5:
        return schedule.get(weekday, []) if working else []
    if working:  # 调休: a weekend day worked as an ordinary working day
        return schedule.get(weekday) or schedule.get("MON", [])
    return [] if _holiday_weekend(d, is_workday) else schedule.get(weekday, [])


def _holiday_weekend(d: date, is_workday: Callable[[date], bool]) -> bool:
    """A weekend day inside a holiday: the Friday before or the Monday after is off too (the
    calendar marks only weekdays as exceptions, so a holiday's Saturday looks like any other)."""
    friday = d - timedelta(days=d.weekday() - 4)
    monday = d + timedelta(days=7 - d.weekday())
    return not is_workday(friday) or not is_workday(monday)


def is_open(
    schedule: Schedule,
    moment: datetime,
    *,
    is_workday: Callable[[date], bool],
    closed_on_holidays: bool = True,
) -> bool:
    local = moment.astimezone(TZ)
    t = local.time().replace(tzinfo=None)
    for start, end in periods_on(schedule, local.date(), is_workday, closed_on_holidays):
        if start <= t and (end is None or t < end):
            return True
    return False


def next_opening(
    schedule: Schedule,
    moment: datetime,
    *,
    is_workday: Callable[[date], bool],
    closed_on_holidays: bool = True,
    horizon_days: int = 31,
) -> datetime | None:
    """When it next opens at or after `moment` (itself if open now); None within the horizon."""
    local = moment.astimezone(TZ)
    if is_open(schedule, local, is_workday=is_workday, closed_on_holidays=closed_on_holidays):
        return local
    for offset in range(horizon_days + 1):
        d = local.date() + timedelta(days=offset)
        for start, _ in periods_on(schedule, d, is_workday, closed_on_holidays):
            candidate = datetime.combine(d, start, tzinfo=TZ)
            if candidate >= local:
                return candidate
    return None
