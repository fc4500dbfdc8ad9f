"""Times a phone reports, put on the server's clock.

An app logs a visit offline and sends it later; every time in it (the visit's, the check-in's
fix) is read from the phone's clock, which may be minutes fast or hours slow. The server never
refuses a visit for that. When the app also says what its clock read as it sent the call
(`sentAt`), the difference from the server's receipt time is the phone's clock offset, and its
times are shifted by it (CLOCK_CORRECTED). A time still after the receipt cannot be right: it
is set to the receipt time, the latest moment the visit can have happened, and flagged
(CLOCK_AHEAD) when it was more than the tolerance ahead.

Pure: no ORM, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.rules.clock import TZ

# An offset measured over the network is good to some seconds: kept in whole minutes, and one
# under SYNC_MINUTES is taken for none.
SYNC_MINUTES = 2
# How far ahead of the receipt a time may be before it is flagged (the check-in rule's too).
AHEAD_TOLERANCE = timedelta(minutes=10)


class TimeFlag(StrEnum):
    CLOCK_CORRECTED = "CLOCK_CORRECTED"  # the phone's clock was off, its times were shifted
    CLOCK_AHEAD = "CLOCK_AHEAD"  # a time after the receipt, not explained by an offset


def aware(moment: datetime) -> datetime:
    """A time the phone wrote without an offset is read on the government's clock (Asia/
    Shanghai) rather than refused: a queued call refused for its format would be lost."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


def clock_offset_minutes(sent_at: datetime | None, received_at: datetime) -> int | None:
    """The phone's clock minus the server's, in whole minutes, when the app said what its clock
    read as it sent (`sent_at`) and that is off by SYNC_MINUTES or more; else None."""
    if sent_at is None:
        return None
    minutes = round((sent_at - received_at).total_seconds() / 60)
    return minutes if abs(minutes) >= SYNC_MINUTES else None


@dataclass(frozen=True)
class OnServerClock:
    """The phone's times for one call, on the server's clock."""

    offset_minutes: int | None
    received_at: datetime

    def shifted(self, phone_time: datetime) -> datetime:
        """The phone's reading corrected by the measured offset (unchanged without one)."""
        if self.offset_minutes is None:
            return phone_time
        return phone_time - timedelta(minutes=self.offset_minutes)

    def time(self, phone_time: datetime) -> tuple[datetime, bool]:
        """Shifted, then no later than the receipt; and whether it was more than
        AHEAD_TOLERANCE after the receipt even so."""
        moment = self.shifted(phone_time)
        return min(moment, self.received_at), moment - self.received_at > AHEAD_TOLERANCE

    def flag(self, ahead: bool) -> TimeFlag | None:
        if ahead:
            return TimeFlag.CLOCK_AHEAD
        return TimeFlag.CLOCK_CORRECTED if self.offset_minutes is not None else None
