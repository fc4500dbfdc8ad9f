"""The government's clock: dates and times are Asia/Shanghai, whatever the server's zone.

`acting_at(moment)` sets the time for the current task only: the demo loader replays months of
history with it, and tests put a transition on a chosen day (2025-09-26, say)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

_override: ContextVar[datetime | None] = ContextVar("clock_override", default=None)


def now() -> datetime:
    return _override.get() or datetime.now(UTC)


def today() -> date:
    return now().astimezone(TZ).date()


@contextmanager
def acting_at(moment: datetime) -> Iterator[None]:
    if moment.tzinfo is None:
        raise ValueError("acting_at needs an aware datetime")
    token = _override.set(moment)
    try:
        yield
    finally:
        _override.reset(token)


def day_start(d: date) -> datetime:
    """Midnight at the start of a calendar day in Asia/Shanghai."""
    return datetime.combine(d, time.min, tzinfo=TZ)


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in Asia/Shanghai (for schedules, the demo and tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)
