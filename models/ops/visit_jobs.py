"""Time-driven visit events: the day before a planned visit its participants are reminded.

The event is written once per visit and planned day (its `dedup_key`), however often the
scheduler runs, in however many processes; re-planning to another day reminds again."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from models.notifications import NotificationEvent
from models.rules import clock
from models.rules.visit_states import VisitStatus
from models.visits import Visit, VisitParticipant

VISIT_TOMORROW = "VISIT_TOMORROW"


async def remind_visits_tomorrow(now: datetime | None = None) -> int:
    """Write a VISIT_TOMORROW event for each planned visit of tomorrow (Asia/Shanghai) not yet
    reminded; returns how many events were written."""
    now = now or clock.now()
    tomorrow = now.astimezone(clock.TZ).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time.min, tzinfo=clock.TZ)
    visits = await Visit.filter(
        status=VisitStatus.PLANNED, planned_at__gte=start, planned_at__lt=start + timedelta(days=1)
    ).values("id", "planned_at", "enterprise__name", "mode")
    if not visits:
        return 0
    keys = {v["id"]: f"{VISIT_TOMORROW}:{v['id']}:{tomorrow.isoformat()}" for v in visits}
    done = set(
        await NotificationEvent.filter(dedup_key__in=list(keys.values())).values_list(
            "dedup_key", flat=True
        )
    )
    todo = [v for v in visits if keys[v["id"]] not in done]
    if not todo:
        return 0
    people: dict[int, list[int]] = defaultdict(list)
    for p in (
        await VisitParticipant.filter(visit_id__in=[v["id"] for v in todo])
        .order_by("-is_lead", "id")
        .values("visit_id", "user_id")
    ):
        people[p["visit_id"]].append(p["user_id"])
    events = [
        NotificationEvent(
            kind=VISIT_TOMORROW,
            recipients=people[v["id"]],
            subject_type="Visit",
            subject_id=v["id"],
            data={
                "enterprise": v["enterprise__name"],
                "plannedAt": v["planned_at"].astimezone(clock.TZ).isoformat(),
                "mode": str(v["mode"]),
            },
            dedup_key=keys[v["id"]],
        )
        for v in todo
    ]
    # Another process may write the same keys meanwhile: the unique key keeps one of each.
    await NotificationEvent.bulk_create(events, ignore_conflicts=True)
    return await NotificationEvent.filter(dedup_key__in=[keys[v["id"]] for v in todo]).count()
