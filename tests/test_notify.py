"""Who is told what, and when their phone may buzz: the notices the demand loop and the
scheduler write, inbox and outbox in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from tortoise.transactions import in_transaction

from models.access import system_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops import inbox
from models.ops.demand_jobs import escalate_overdue
from models.ops.notice_jobs import send_deadline_notices, send_return_visit_reminders
from models.ops.notify import WAKE_PAYLOAD_BYTES, Notice, notify, wake_payloads
from models.ops.policy import set_region_policy
from models.rules.clock import TZ, acting_at, shanghai
from models.rules.notification_kinds import NotificationKind as K
from models.rules.notification_kinds import next_push_time
from models.tables.demands import Demand
from models.tables.notifications import Device, Notification, NotificationEvent, PushMessage
from tests.demand_world import DemandWorld, build_demand_world


async def devices(w: DemandWorld, *names: str) -> dict[str, int]:
    out = {}
    for n in names:
        d = await Device.create(
            user_id=w.users[n].id, provider="log", platform="ANDROID", token=f"tok-{n}-0001"
        )
        out[n] = d.id
    return out


async def inbox_of(w: DemandWorld, name: str) -> list[tuple[str, str]]:
    rows = await Notification.filter(user_id=w.users[name].id).order_by("id")
    return [(r.kind, r.data.get("title", "")) for r in rows]


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# --- the pure rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 11, 24, 10), at(2026, 11, 24, 10)),  # Tuesday daytime: now
        (at(2026, 11, 24, 23), at(2026, 11, 25, 8)),  # night: next morning
        (at(2026, 11, 25, 3), at(2026, 11, 25, 8)),  # small hours: this morning
        (at(2026, 11, 27, 22, 30), at(2026, 11, 30, 8)),  # Friday night: Monday
        (at(2026, 11, 28, 10), at(2026, 11, 30, 8)),  # Saturday: Monday
    ],
)
def test_quiet_hours_and_weekends_move_a_push(moment, expected):
    got = next_push_time(moment, quiet_start=None, quiet_end=None, quiet_on_holidays=True)
    assert got == expected


def test_holidays_follow_the_calendar_and_custom_hours():
    holidays = {at(2026, 10, d, 0).date() for d in range(1, 8)}  # 国庆 2026: 10-01..10-07
    workday = lambda d: d not in holidays and d.weekday() < 5  # noqa: E731
    got = next_push_time(
        at(2026, 9, 30, 22, 30),
        quiet_start=None,
        quiet_end=None,
        quiet_on_holidays=True,
        is_workday=workday,
    )
    assert got == at(2026, 10, 8, 8)
    custom = next_push_time(
        at(2026, 11, 24, 12, 30),
        quiet_start=time(12, 0),
        quiet_end=time(14, 0),
        quiet_on_holidays=False,
    )
    assert custom == at(2026, 11, 24, 14)


# --- the demand loop -------------------------------------------------------------------------


async def test_dispatch_tells_the_department_with_a_push_per_device(db):
    w = await build_demand_world()
    ids = await devices(w, "handler", "handler2", "dispatcher")
    with acting_at(shanghai(2026, 11, 24, 10)):
        d = await w.submit()
        await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
    for name in ("handler", "handler2", "lead"):
        assert await inbox_of(w, name) == [("DEMAND_DISPATCHED", d.title)]
    assert await inbox_of(w, "dispatcher") == []  # not told of their own act
    assert await inbox_of(w, "other_handler") == []
    pushes = await PushMessage.all().order_by("id")
    assert sorted(p.device_id for p in pushes) == sorted([ids["handler"], ids["handler2"]])  # type: ignore[attr-defined]
    assert {p.due_at for p in pushes} == {shanghai(2026, 11, 24, 10)}
    assert {p.status.value for p in pushes} == {"PENDING"}


async def test_a_dispatch_at_night_pushes_next_morning_and_the_inbox_at_once(db):
    w = await build_demand_world()
    await devices(w, "handler")
    with acting_at(shanghai(2026, 11, 24, 23, 15)):
        d = await w.submit()
        await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
    note = await Notification.get(user_id=w.users["handler"].id)
    assert note.created_at == shanghai(2026, 11, 24, 23, 15)
    push = await PushMessage.get()
    assert push.due_at == shanghai(2026, 11, 25, 8)


async def test_muted_kinds_reach_the_inbox_but_do_not_push(db):
    w = await build_demand_world()
    await devices(w, "handler")
    await inbox.set_preferences(
        w.handler, inbox.PreferenceChanges(muted_kinds=["DEMAND_DISPATCHED"])
    )
    await w.dispatched()
    assert await inbox_of(w, "handler") != []
    assert await PushMessage.all().count() == 0


async def test_a_refused_transition_writes_no_notification(db):
    w = await build_demand_world()
    await devices(w, "handler")
    d = await w.submit()
    with pytest.raises(DomainError):
        await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=999)
    assert await Notification.all().count() == 0 and await PushMessage.all().count() == 0


async def test_a_rolled_back_change_takes_its_notices_with_it(db):
    w = await build_demand_world()
    await devices(w, "handler")
    notice = Notice(K.DEMAND_WARNING, [w.users["handler"].id], "Demand", 1, {"title": "x"})
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await notify(notice, shanghai(2026, 11, 24, 10))
            raise RuntimeError("the change failed after the notice was written")
    assert await NotificationEvent.all().count() == 0
    assert await Notification.all().count() == 0 and await PushMessage.all().count() == 0


async def test_decisions_replies_and_bad_ratings_tell_the_right_people(db):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 24, 10)):
        d = await w.in_progress()
        await ops.request_extension(w.handler, d.id, days=3, reason="需现场踏勘")
        await ops.decide_extension(w.dispatcher, d.id, approve=True)
        assert ("DEMAND_EXTENSION_DECIDED", d.title) in await inbox_of(w, "handler")
        ext = await Notification.get(user_id=w.users["handler"].id, kind="DEMAND_EXTENSION_DECIDED")
        assert ext.data["approved"] is True
        await ops.reply_demand(w.handler, d.id, outcome="RESOLVED", text_="已协调解决。")
        await ops.approve_reply(w.lead, d.id, approve=True)
        await ops.review_reply(w.dispatcher, d.id, passed=True)
    assert (await Demand.get(id=d.id)).state.value == "PENDING_VISIT"
    assert ("DEMAND_REPLIED", d.title) in await inbox_of(w, "ent_user")
    assert ("DEMAND_RETURN_VISIT_DUE", d.title) not in await inbox_of(w, "dispatcher")  # own act
    with acting_at(shanghai(2026, 11, 25, 10)):
        await ops.rate_demand(w.contact, d.id, rating="VERY_DISSATISFIED", comment="没解决")
    assert ("DEMAND_RATED_BADLY", d.title) in await inbox_of(w, "supervisor")


async def test_automatic_escalation_tells_the_leader_then_the_supervisor(db):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 2, 10)):
        d = await w.dispatched(limit_days=1)
    await escalate_overdue(shanghai(2026, 11, 5, 10))  # overdue 2 working days: level 1
    assert [k for k, _ in await inbox_of(w, "lead")] == ["DEMAND_DISPATCHED", "DEMAND_ESCALATED"]
    assert await inbox_of(w, "supervisor") == []
    await escalate_overdue(shanghai(2026, 11, 9, 10))  # 4 working days: level 2
    assert [k for k, _ in await inbox_of(w, "supervisor")] == ["DEMAND_ESCALATED"]
    level = (await Notification.get(user_id=w.users["supervisor"].id)).data["level"]
    assert level == 2 and (await Demand.get(id=d.id)).escalation_level == 2


async def test_urgent_pushes_ignore_quiet_hours_only_where_policy_says(db):
    w = await build_demand_world()
    await devices(w, "lead")
    with acting_at(shanghai(2026, 11, 2, 10)):
        await w.dispatched(limit_days=1)
    await escalate_overdue(shanghai(2026, 11, 4, 23))
    first = await PushMessage.filter(notification__kind="DEMAND_ESCALATED").get()
    assert first.due_at == shanghai(2026, 11, 5, 8)
    await set_region_policy(system_actor(), w.base.county.id, {"urgent_push_in_quiet_hours": True})
    await escalate_overdue(shanghai(2026, 11, 9, 23))
    second = await PushMessage.filter(notification__kind="DEMAND_ESCALATED").order_by("-id").first()
    assert second is not None and second.due_at == shanghai(2026, 11, 9, 23)


# --- the scheduler ---------------------------------------------------------------------------


async def test_warning_goes_out_once_at_nine_on_a_working_day(db):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 23, 10)):
        d = await w.dispatched(limit_days=3)  # due Thursday 11-26, warning from Wednesday
    assert d.warning_date is not None and d.warning_date.isoformat() == "2026-11-25"
    assert await send_deadline_notices(shanghai(2026, 11, 24, 9, 30)) == 0  # not yet
    assert await send_deadline_notices(shanghai(2026, 11, 25, 0, 30)) == 0  # not at midnight
    assert await send_deadline_notices(shanghai(2026, 11, 25, 9, 2)) == 1
    for hour in (9, 11, 15):  # the scheduler runs all day, in several processes
        assert await send_deadline_notices(shanghai(2026, 11, 25, hour, 30)) == 0
    assert [k for k, _ in await inbox_of(w, "handler")] == ["DEMAND_DISPATCHED", "DEMAND_WARNING"]
    assert [k for k, _ in await inbox_of(w, "dispatcher")] == ["DEMAND_WARNING"]
    warning = await Notification.get(user_id=w.users["dispatcher"].id)
    assert warning.data["deadline"] == "2026-11-26"


async def test_overdue_waits_for_a_working_day_and_fires_once(db):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 9, 24, 10)):
        await w.dispatched(limit_days=2)  # due Monday 09-28
    # Overdue from 09-29; the National Day holiday (10-01..10-07) sends nothing.
    assert await send_deadline_notices(shanghai(2026, 10, 3, 10)) == 0
    assert await send_deadline_notices(shanghai(2026, 10, 9, 9, 5)) == 1
    assert await send_deadline_notices(shanghai(2026, 10, 12, 9, 5)) == 0
    kinds = [k for k, _ in await inbox_of(w, "handler")]
    assert kinds.count("DEMAND_OVERDUE") == 1


async def test_return_visit_reminder_after_two_working_days(db):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 23, 10)):
        d = await w.in_progress()
        await ops.reply_demand(w.handler, d.id, outcome="RESOLVED", text_="已解决。")
        await ops.approve_reply(w.lead, d.id, approve=True)
        await ops.review_reply(w.dispatcher, d.id, passed=True)
    assert await send_return_visit_reminders(shanghai(2026, 11, 24, 10)) == 0
    assert await send_return_visit_reminders(shanghai(2026, 11, 25, 10)) == 1
    assert await send_return_visit_reminders(shanghai(2026, 11, 26, 10)) == 0
    reminder = await Notification.get(
        user_id=w.users["dispatcher"].id, kind="DEMAND_RETURN_VISIT_DUE"
    )
    assert reminder.data["reminder"] is True


def test_wake_payloads_stay_under_the_bound_and_carry_every_id_once_in_order() -> None:
    ids = [*range(1, 9_000), 10**12]  # ids of 1 to 13 digits
    payloads = wake_payloads(ids)
    assert max(len(p.encode()) for p in payloads) <= WAKE_PAYLOAD_BYTES < 8000
    assert [int(u) for p in payloads for u in p.split(",")] == ids
    assert wake_payloads([7, 8]) == ["7,8"] and wake_payloads([]) == []
    assert wake_payloads([123, 45, 6], limit=6) == ["123,45", "6"]

