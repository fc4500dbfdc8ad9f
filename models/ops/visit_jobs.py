"""Time-driven visit events: the day before a planned visit its participants are reminded.

The reminder is written once per visit and planned day (its dedup key), however often the
scheduler runs, in however many processes; re-planning to another day reminds again."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.ops.notify import Notice, fired, notify
from models.rules import clock
from models.rules.notification_kinds import NotificationKind
from models.rules.visit_states import VisitStatus
from models.tables.visits import Visit, VisitParticipant

VISIT_TOMORROW = NotificationKind.VISIT_TOMORROW.value


async def remind_visits_tomorrow(now: datetime | None = None) -> int:
    """Tell the participants of each planned visit of tomorrow (Asia/Shanghai) not yet
    reminded; returns how many reminders were written."""
    now = now or clock.now()
    tomorrow = now.astimezone(clock.TZ).date() + timedelta(days=1)
    start = clock.day_start(tomorrow)
    visits = await Visit.filter(
        status=VisitStatus.PLANNED, planned_at__gte=start, planned_at__lt=start + timedelta(days=1)
    ).values("id", "planned_at", "region_id", "enterprise__name", "mode")
    if not visits:
        return 0
    keys = {v["id"]: f"{VISIT_TOMORROW}:{v['id']}:{tomorrow.isoformat()}" for v in visits}
    done = await fired(list(keys.values()))
    visits = [v for v in visits if keys[v["id"]] not in done]
    if not visits:
        return 0
    people: dict[int, list[int]] = defaultdict(list)
    for p in (
        await VisitParticipant.filter(visit_id__in=[v["id"] for v in visits])
        .order_by("-is_lead", "id")
        .values("visit_id", "user_id")
    ):
        people[p["visit_id"]].append(p["user_id"])
    written = 0
    for v in visits:
        planned = v["planned_at"].astimezone(clock.TZ)
        notice = Notice(
            kind=NotificationKind.VISIT_TOMORROW,
            recipients=people[v["id"]],
            subject_type="Visit",
            subject_id=v["id"],
            data={
                "enterprise": v["enterprise__name"],
                "plannedAt": planned.isoformat(),
                "time": planned.strftime("%H:%M"),
                "mode": str(v["mode"]),
            },
            region_id=v["region_id"],
            dedup_key=keys[v["id"]],
        )
        async with in_transaction():
            if await notify(notice, now) is not None:
                written += 1
    return written
