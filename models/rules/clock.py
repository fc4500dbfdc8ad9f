"""The government's clock: dates and times are Asia/Shanghai, whatever the server's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(TZ).date()
