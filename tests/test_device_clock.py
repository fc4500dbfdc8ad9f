"""The phone's clock put on the server's (models.rules.device_clock): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.rules.clock import TZ
from models.rules.device_clock import OnServerClock, TimeFlag, aware, clock_offset_minutes

RECEIVED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_the_offset_is_whole_minutes_and_none_when_in_step_or_not_sent():
    assert clock_offset_minutes(None, RECEIVED) is None
    assert clock_offset_minutes(RECEIVED + timedelta(seconds=89), RECEIVED) is None
    assert clock_offset_minutes(RECEIVED + timedelta(minutes=2), RECEIVED) == 2
    assert clock_offset_minutes(RECEIVED + timedelta(minutes=20, seconds=20), RECEIVED) == 20
    assert clock_offset_minutes(RECEIVED - timedelta(hours=3, seconds=10), RECEIVED) == -180


def test_times_are_shifted_then_kept_no_later_than_the_receipt():
    fast = OnServerClock(20, RECEIVED)
    assert fast.time(RECEIVED - timedelta(minutes=30)) == (RECEIVED - timedelta(minutes=50), False)
    unknown = OnServerClock(None, RECEIVED)
    assert unknown.time(RECEIVED + timedelta(minutes=10)) == (RECEIVED, False)
    assert unknown.time(RECEIVED + timedelta(minutes=11)) == (RECEIVED, True)
    assert fast.flag(False) is TimeFlag.CLOCK_CORRECTED and fast.flag(True) is TimeFlag.CLOCK_AHEAD
    assert unknown.flag(False) is None


def test_a_time_without_an_offset_is_read_in_shanghai():
    assert aware(datetime(2026, 11, 26, 16, 0)) == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    given = datetime(2026, 11, 26, 16, 0, tzinfo=TZ)
    assert aware(given) is given
