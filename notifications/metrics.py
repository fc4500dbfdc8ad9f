"""Push delivery metrics: process-local counters kept by the dispatcher, and the outbox gauges
computed by SQL when scraped (so every process reports the same shared outbox).

Counters, per gateway (`provider` label = the gateway that handled the row; rows that never
reached a gateway, like those whose device is gone, carry the row's own provider):
- `sent`: messages handed to a gateway; `delivered`; `retried` (rescheduled with backoff);
  `dead` (given up: permanent error, attempts used up, device removed); `dead_token` (the
  gateway said the token is gone; the device was deleted);
- `calls` and `call_seconds`: gateway calls and the time they took.

Gauges, per row provider: `pending` (PENDING rows, including those held back by quiet hours),
`due` (PENDING and due now) and `oldest_due_age_seconds` (how long the longest-waiting due row
has been due; 0 when none). Lateness is measured from `due_at`, not `created_at`, so pushes held
overnight by quiet hours do not look stuck."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.connection import connections

from models.rules.clock import now as clock_now
from models.rules.notification_kinds import PushStatus

COUNTERS = ("sent", "delivered", "retried", "dead", "dead_token", "calls")


class PushCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], float] = defaultdict(float)
        self.breaker_open: dict[str, bool] = {}

    def add(self, name: str, provider: str, n: float = 1) -> None:
        if n:
            with self._lock:
                self._values[(name, provider)] += n

    def get(self, name: str, provider: str) -> float:
        return self._values.get((name, provider), 0.0)

    def snapshot(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()
            self.breaker_open.clear()


COUNTS = PushCounters()


@dataclass(frozen=True)
class OutboxGauge:
    provider: str
    pending: int
    due: int
    oldest_due_age_seconds: float


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def outbox_gauges(now: datetime | None = None) -> list[OutboxGauge]:
    """The outbox depth per provider, by one grouped query over the PENDING rows."""
    moment = (now or clock_now()).astimezone(UTC)
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        mark: Any = moment
        ph = "$1"
    else:
        mark = moment.isoformat(" ")
        ph = "?"
    sql = (
        "SELECT provider, COUNT(*) AS pending, "  # noqa: S608
        f"SUM(CASE WHEN due_at <= {ph} THEN 1 ELSE 0 END) AS due, "
        f"MIN(CASE WHEN due_at <= {ph} THEN due_at END) AS oldest "
        f"FROM push_message WHERE status = '{PushStatus.PENDING.value}' "
        "GROUP BY provider ORDER BY provider"
    )
    values = [mark] if ph == "$1" else [mark, mark]
    rows = await conn.execute_query_dict(sql, values)
    out = []
    for r in rows:
        oldest = _as_datetime(r["oldest"])
        age = max(0.0, (moment - oldest).total_seconds()) if oldest else 0.0
        out.append(OutboxGauge(str(r["provider"]), int(r["pending"]), int(r["due"] or 0), age))
    return out
