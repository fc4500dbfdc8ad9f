"""Background jobs of a server process (the scheduler): automatic escalation, deadline warnings
and overdue notices, return-visit and visit-tomorrow reminders, pruning the sign-in throttle,
and deleting uploads left unlinked past their grace period.

Several processes may run them at once: every escalation is conditional on the demand's
version, and every notice has a unique key, so nothing happens twice. Notices go out in working
hours only (models.ops.notice_jobs), so a run every few minutes sends the 09:00 ones by 09:05."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

from models.ops.attachments import purge_unlinked
from models.ops.auth import forget_old_sign_in_failures
from models.ops.demand_jobs import escalate_overdue
from models.ops.notice_jobs import send_deadline_notices, send_return_visit_reminders
from models.ops.visit_jobs import remind_visits_tomorrow
from server.background import in_background
from server.metrics import SCHEDULER_DURATION, SCHEDULER_FAILURES, SCHEDULER_LAST_RUN

log = logging.getLogger("enterprise_desk.jobs")
INTERVAL_SECONDS = 300.0
UNLINKED_GRACE = timedelta(hours=24)  # the default of UNLINKED_UPLOAD_HOURS
JOBS = (
    ("escalation", escalate_overdue),
    ("deadline notices", send_deadline_notices),
    ("return-visit reminders", send_return_visit_reminders),
    ("visit reminders", remind_visits_tomorrow),
    ("sign-in throttle pruning", forget_old_sign_in_failures),
)


async def run_jobs_once(unlinked_grace: timedelta = UNLINKED_GRACE) -> None:
    purge = ("unlinked uploads", partial(purge_unlinked, unlinked_grace))
    started = time.monotonic()
    for name, job in (*JOBS, purge):
        try:
            await job()
        except Exception:  # a failed job must not stop the others; the next round retries
            log.exception("%s failed", name)
            SCHEDULER_FAILURES.labels(name).inc()
    SCHEDULER_DURATION.set(time.monotonic() - started)
    SCHEDULER_LAST_RUN.set_to_current_time()


async def _loop(interval: float, unlinked_grace: timedelta) -> None:
    while True:
        await run_jobs_once(unlinked_grace)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def periodic_jobs(
    interval: float = INTERVAL_SECONDS, *, unlinked_grace: timedelta = UNLINKED_GRACE
) -> AsyncIterator[None]:
    async with in_background(_loop(interval, unlinked_grace), "demand-checks"):
        yield
