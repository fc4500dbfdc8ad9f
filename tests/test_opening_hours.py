"""Service-point opening hours on the real 2026 calendar: weekdays, lunch breaks, holidays,
make-up working days (调休) and weekend hours."""

from __future__ import annotations

import pytest

from models.rules.clock import shanghai
from models.rules.opening_hours import ScheduleError, clean_schedule, is_open, next_opening
from models.rules.workdays import national_calendar

WORKDAYS = {
    d: [["08:30", "12:00"], ["13:30", "17:30"]] for d in ("MON", "TUE", "WED", "THU", "FRI")
}
PARK_DESK = clean_schedule(WORKDAYS)  # 园小二: weekdays 8:30–17:30 with a lunch break
WITH_SATURDAY = clean_schedule({**WORKDAYS, "SAT": [["09:00", "12:00"]]})
CAL = national_calendar()


def open_at(schedule, *when) -> bool:
    return is_open(schedule, shanghai(*when), is_workday=CAL.is_workday)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ((2026, 11, 24, 8, 29), False),  # Tuesday, before opening
        ((2026, 11, 24, 8, 30), True),
        ((2026, 11, 24, 12, 0), False),  # lunch break
        ((2026, 11, 24, 13, 30), True),
        ((2026, 11, 24, 17, 30), False),  # closing time
        ((2026, 11, 28, 10, 0), False),  # Saturday
        ((2026, 10, 5, 10, 0), False),  # Monday in the National Day holiday
        ((2026, 10, 10, 10, 0), True),  # Saturday worked for the holiday (调休): Monday's hours
    ],
)
def test_weekday_hours_holidays_and_make_up_days(when, expected):
    assert CAL.is_known(shanghai(*when).date())
    assert open_at(PARK_DESK, *when) is expected


def test_weekend_hours_close_on_a_holidays_weekend():
    assert open_at(WITH_SATURDAY, 2026, 11, 28, 10, 0)  # an ordinary Saturday
    assert not open_at(WITH_SATURDAY, 2026, 10, 3, 10, 0)  # Saturday inside National Day
    assert not open_at(WITH_SATURDAY, 2026, 11, 28, 13, 0)  # after the Saturday morning
    # A point that stays open on holidays keeps its weekday hours.
    assert is_open(
        PARK_DESK, shanghai(2026, 10, 5, 10, 0), is_workday=CAL.is_workday, closed_on_holidays=False
    )


def test_next_opening():
    at = lambda *w: next_opening(PARK_DESK, shanghai(*w), is_workday=CAL.is_workday)  # noqa: E731
    assert at(2026, 11, 24, 10, 0) == shanghai(2026, 11, 24, 10, 0)  # open now
    assert at(2026, 11, 24, 12, 15) == shanghai(2026, 11, 24, 13, 30)  # after lunch
    assert at(2026, 11, 27, 18, 0) == shanghai(2026, 11, 30, 8, 30)  # Friday evening: Monday
    assert at(2026, 9, 30, 18, 0) == shanghai(2026, 10, 8, 8, 30)  # across National Day (1–7)
    assert next_opening({}, shanghai(2026, 11, 24, 10), is_workday=CAL.is_workday) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"MOON": [["08:00", "12:00"]]}, "unknown weekday"),
        ({"MON": [["8:00", "12:00"]]}, "times are HH:MM"),
        ({"MON": [["12:00", "08:00"]]}, "a period must start before it ends"),
        ({"MON": [["08:00", "12:00"], ["11:00", "14:00"]]}, "periods overlap"),
        ({"MON": [["08:00"]]}, "a period is [start, end]"),
        (
            {
                "MON": [
                    ["00:00", "01:00"],
                    ["02:00", "03:00"],
                    ["04:00", "05:00"],
                    ["06:00", "07:00"],
                    ["08:00", "09:00"],
                ]
            },
            "too many periods",
        ),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ScheduleError) as err:
        clean_schedule(raw)
    assert err.value.reason == reason


def test_a_night_desk_open_until_midnight():
    night = clean_schedule({"FRI": [["18:00", "24:00"]]})
    assert is_open(night, shanghai(2026, 11, 27, 23, 59), is_workday=CAL.is_workday)
    assert not is_open(night, shanghai(2026, 11, 28, 0, 0), is_workday=CAL.is_workday)
