"""Working-day arithmetic: the published examples, and properties over real and random calendars."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.workdays import (
    WorkCalendar,
    WorkingDayResult,
    national_calendar,
    national_exceptions,
    national_holiday_names,
)

NATIONAL = national_calendar()


# --- the published examples ---


def test_dispatch_before_national_day_counts_the_make_up_day_and_skips_the_holiday():
    # Fri 2025-09-26 + 5: Sun 09-28 (make-up workday), Mon 09-29, Tue 09-30, then the
    # National Day holiday 10-01..10-08, Thu 10-09, Fri 10-10.
    result = NATIONAL.add_working_days(date(2025, 9, 26), 5)
    assert result == WorkingDayResult(date(2025, 10, 10), confirmed=True)
    assert result.date not in (date(2025, 10, 3), date(2025, 10, 13))


def test_make_up_workday_on_a_weekend_counts():
    assert date(2025, 9, 28).weekday() == 6
    assert NATIONAL.is_workday(date(2025, 9, 28))
    assert NATIONAL.is_workday(date(2025, 10, 11))  # a Saturday, also made up
    assert not NATIONAL.is_workday(date(2025, 9, 27))  # an ordinary Saturday
    assert NATIONAL.add_working_days(date(2025, 9, 26), 1).date == date(2025, 9, 28)
    assert NATIONAL.add_working_days(date(2025, 10, 10), 1).date == date(2025, 10, 11)


def test_weekday_holiday_is_not_a_workday():
    for d in (date(2025, 10, 1), date(2025, 10, 8), date(2025, 1, 1), date(2026, 2, 17)):
        assert d.weekday() < 5
        assert not NATIONAL.is_workday(d)


def test_counting_into_an_unknown_year_is_unconfirmed_never_an_error():
    result = NATIONAL.add_working_days(date(2026, 12, 24), 10)
    assert result.date.year == 2027
    assert result.confirmed is False
    # Weekends only in 2027: Fri 12-25, Mon-Thu 12-28..31, Fri 2027-01-01, Mon-Thu 01-04..07.
    assert result.date == date(2027, 1, 7)
    assert result.date.weekday() < 5


def test_a_count_inside_a_known_year_is_confirmed_even_from_an_unknown_start():
    assert NATIONAL.add_working_days(date(2026, 12, 28), 2).confirmed is True
    assert NATIONAL.add_working_days(date(2026, 12, 31), 1).confirmed is False


def test_zero_days_is_the_start_itself():
    assert NATIONAL.add_working_days(date(2025, 10, 1), 0) == WorkingDayResult(
        date(2025, 10, 1), True
    )


def test_negative_counts_are_programming_errors():
    with pytest.raises(ValueError):
        NATIONAL.add_working_days(date(2025, 1, 1), -1)
    with pytest.raises(ValueError):
        NATIONAL.subtract_working_days(date(2025, 1, 1), -1)


def test_a_calendar_without_working_days_fails_instead_of_looping():
    start = date(2030, 1, 1)
    never = {start + timedelta(days=i): False for i in range(1, 4000)}
    with pytest.raises(ValueError):
        WorkCalendar(never, []).add_working_days(start, 1)
    with pytest.raises(ValueError):
        WorkCalendar(never, []).subtract_working_days(start + timedelta(days=3999), 1)


def test_working_days_between_counts_after_start_up_to_end():
    assert NATIONAL.working_days_between(date(2025, 9, 26), date(2025, 10, 10)) == 5
    assert NATIONAL.working_days_between(date(2025, 10, 10), date(2025, 9, 26)) == -5
    assert NATIONAL.working_days_between(date(2025, 9, 26), date(2025, 9, 26)) == 0
    assert NATIONAL.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_subtract_gives_the_warning_day_before_a_deadline():
    assert NATIONAL.subtract_working_days(date(2025, 10, 10), 1) == date(2025, 10, 9)
    # From any day in the holiday (or 09-30), one working day reaches 10-09.
    assert NATIONAL.subtract_working_days(date(2025, 10, 9), 1) == date(2025, 10, 8)
    # Five working days before 10-10 start counting after Saturday 09-27 (or Friday 09-26).
    assert NATIONAL.subtract_working_days(date(2025, 10, 10), 5) == date(2025, 9, 27)
    assert NATIONAL.subtract_working_days(date(2025, 10, 10), 0) == date(2025, 10, 10)


def test_the_package_data_is_what_the_calendar_is_built_from():
    exceptions, years = national_exceptions()
    assert set(range(2004, 2027)) <= years
    assert 2027 not in years
    assert exceptions[date(2025, 9, 28)] is True
    assert exceptions[date(2025, 10, 1)] is False
    assert date(2025, 10, 4) not in exceptions  # a Saturday inside the holiday: off anyway
    names = national_holiday_names()
    assert names[date(2025, 10, 1)] == "National Day"
    assert names[date(2025, 9, 28)] == "National Day"


# --- properties ---

DAY = st.dates(min_value=date(2004, 1, 1), max_value=date(2027, 12, 31))
COUNT = st.integers(min_value=0, max_value=400)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    """The national calendar, or a random one: any days flipped, any years known."""
    if draw(st.booleans()):
        return NATIONAL
    flips = draw(
        st.dictionaries(
            st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
            st.booleans(),
            max_size=200,
        )
    )
    known = draw(st.sets(st.integers(min_value=2023, max_value=2029)))
    return WorkCalendar(flips, known)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=DAY, n=COUNT)
def test_counting_back_the_result_gives_n(cal: WorkCalendar, start: date, n: int):
    result = cal.add_working_days(start, n)
    assert cal.working_days_between(start, result.date) == n
    assert result.date >= start


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=DAY, n=st.integers(min_value=1, max_value=400))
def test_the_result_is_a_working_day_and_the_first_one_reaching_n(
    cal: WorkCalendar, start: date, n: int
):
    result = cal.add_working_days(start, n)
    assert cal.is_workday(result.date)
    assert cal.working_days_between(start, result.date - timedelta(days=1)) == n - 1


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=DAY, a=COUNT, b=COUNT)
def test_more_working_days_land_strictly_later(cal: WorkCalendar, start: date, a: int, b: int):
    lo, hi = sorted((a, b))
    d_lo, d_hi = cal.add_working_days(start, lo).date, cal.add_working_days(start, hi).date
    assert (d_lo < d_hi) if lo < hi else (d_lo == d_hi)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=DAY, n=COUNT)
def test_confirmed_exactly_when_every_counted_day_lies_in_a_known_year(
    cal: WorkCalendar, start: date, n: int
):
    result = cal.add_working_days(start, n)
    days = (start + timedelta(days=i) for i in range(1, (result.date - start).days + 1))
    assert result.confirmed == all(cal.is_known(d) for d in days)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), end=DAY, n=COUNT)
def test_subtract_is_the_latest_start_that_add_brings_to_the_deadline(
    cal: WorkCalendar, end: date, n: int
):
    start = cal.subtract_working_days(end, n)
    assert start <= end
    assert cal.working_days_between(start, end) == n
    if n > 0:
        # One day later, only n-1 working days remain before the deadline.
        assert cal.working_days_between(start + timedelta(days=1), end) == n - 1
        if cal.is_workday(end):
            assert cal.add_working_days(start, n).date == end


NEAR = st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), a=NEAR, b=NEAR, c=NEAR)
def test_working_days_between_adds_up(cal: WorkCalendar, a: date, b: date, c: date):
    assert cal.working_days_between(a, b) + cal.working_days_between(b, c) == (
        cal.working_days_between(a, c)
    )
    assert cal.working_days_between(a, b) == -cal.working_days_between(b, a)
