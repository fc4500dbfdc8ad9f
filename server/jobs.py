"""Background jobs of a server process: the periodic demand checks (automatic escalation) and
the visit reminders.

Several processes may run them at once: every escalation is conditional on the demand's
version, and every reminder has a unique key, so nothing happens twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from models.ops.demand_jobs import escalate_overdue
from models.ops.visit_jobs import remind_visits_tomorrow

log = logging.getLogger("enterprise_desk.jobs")
INTERVAL_SECONDS = 600.0


async def _loop(interval: float) -> None:
    while True:
        try:
            await escalate_overdue()
        except Exception:  # a failed round must not end the loop; the next one retries
            log.exception("demand checks failed")
        try:
            await remind_visits_tomorrow()
        except Exception:
            log.exception("visit reminders failed")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def periodic_jobs(interval: float = INTERVAL_SECONDS) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(interval), name="demand-checks")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
