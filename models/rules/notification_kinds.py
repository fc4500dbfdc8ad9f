"""What people are told about, and when a push may buzz (docs/design.md section 9).

Pure: the kinds of notification, the outbox row states, and the quiet-hours rule that moves a
push out of the night and off holidays (the inbox row is written at once regardless)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from models.rules.clock import TZ


class NotificationKind(StrEnum):
    DEMAND_DISPATCHED = "DEMAND_DISPATCHED"  # department handlers: 新诉求待签收
    DEMAND_RETURN_DECIDED = "DEMAND_RETURN_DECIDED"  # the handler who asked
    DEMAND_EXTENSION_DECIDED = "DEMAND_EXTENSION_DECIDED"
    DEMAND_SUSPENSION_DECIDED = "DEMAND_SUSPENSION_DECIDED"
    DEMAND_REPLIED = "DEMAND_REPLIED"  # reply approved: the enterprise and who raised it
    DEMAND_RETURN_VISIT_DUE = "DEMAND_RETURN_VISIT_DUE"  # dispatchers: 待回访
    DEMAND_RATED_BADLY = "DEMAND_RATED_BADLY"  # supervisors: 差评
    DEMAND_ESCALATED = "DEMAND_ESCALATED"  # department leader, supervisors: 督办
    DEMAND_WARNING = "DEMAND_WARNING"  # handler, dispatchers: one working day ahead
    DEMAND_OVERDUE = "DEMAND_OVERDUE"  # handler, dispatchers
    AGENCY_REQUEST_CHANGED = "AGENCY_REQUEST_CHANGED"  # enterprise, service agent
    VISIT_TOMORROW = "VISIT_TOMORROW"  # participants


# Pushed even in quiet hours, where the region's policy says so.
URGENT_KINDS = frozenset({NotificationKind.DEMAND_ESCALATED, NotificationKind.DEMAND_OVERDUE})


class PushStatus(StrEnum):
    PENDING = "PENDING"  # due at due_at (claimed rows are PENDING with claimed_until set)
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"  # given up: dead token, permanent error, or attempts used up


DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)


def next_push_time(
    moment: datetime,
    *,
    quiet_start: time | None,
    quiet_end: time | None,
    quiet_on_holidays: bool,
    is_workday: Callable[[date], bool] | None = None,
) -> datetime:
    """The earliest moment at or after `moment` outside the user's quiet hours (Asia/Shanghai)
    and, with `quiet_on_holidays`, on a working day of the region's calendar (`is_workday`;
    Monday–Friday without one). Quiet hours may wrap midnight (22:00–08:00)."""
    start = quiet_start or DEFAULT_QUIET_START
    end = quiet_end or DEFAULT_QUIET_END
    local = moment.astimezone(TZ)

    def workday(d: date) -> bool:
        return is_workday(d) if is_workday is not None else d.weekday() < 5

    for _ in range(60):  # a long holiday is at most a couple of weeks
        if quiet_on_holidays and not workday(local.date()):
            local = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=TZ)
            continue
        t = local.timetz().replace(tzinfo=None)
        if start == end:
            return local
        if start > end:  # wraps midnight
            if t >= start:
                local = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=TZ)
                continue
            if t < end:
                local = datetime.combine(local.date(), end, tzinfo=TZ)
                continue
        elif start <= t < end:
            local = datetime.combine(local.date(), end, tzinfo=TZ)
            continue
        return local
    return local


def mask_token(token: str) -> str:
    """What logs and the API may show of a device token: its last 6 characters."""
    return "…" + token[-6:] if len(token) > 6 else "…"


def minutes_of(t: time) -> int:
    return t.hour * 60 + t.minute


def time_of(minutes: int | None) -> time | None:
    return None if minutes is None else time(minutes // 60 % 24, minutes % 60)
