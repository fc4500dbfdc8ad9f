"""Live inbox updates for `notificationAdded`: a per-process broker that wakes the
subscriptions of the users who were just told something.

The wake-up carries no data: a woken subscription reads the user's new inbox rows from the
database, so it never shows a notification whose transaction rolled back and never misses one
(a periodic re-check covers a lost wake-up). On PostgreSQL the wake-ups come from LISTEN on
`NOTIFY_CHANNEL` (sent at commit, to every process); on SQLite from the writing process itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable

from models.ops.notify import NOTIFY_CHANNEL

__all__ = ["NOTIFY_CHANNEL", "Broker", "Wakeup"]


class Wakeup:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Until woken or `seconds` pass, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


class Broker:
    def __init__(self, recheck_seconds: float = 15.0) -> None:
        # A lost wake-up (a dropped LISTEN connection, another SQLite process) delays a
        # notification by at most this long.
        self.recheck_seconds = recheck_seconds
        self._subscribers: dict[int, set[Wakeup]] = defaultdict(set)

    def publish(self, user_ids: Iterable[int]) -> None:
        for uid in user_ids:
            for wake in self._subscribers.get(uid, ()):
                wake.set()

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[Wakeup]:
        wake = Wakeup()
        self._subscribers[user_id].add(wake)
        try:
            yield wake
        finally:
            self._subscribers[user_id].discard(wake)
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
