"""`enterprise-desk check` (models.ops.consistency): data written by the real operations passes;
each kind of damage a crash or a hand-edit could leave is reported with the rows concerned, by
the command as an operator runs it (exit 1, a Chinese report, English and JSON on request)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

from models.ops import agency as agency_ops
from models.ops import demands as ops
from models.ops.consistency import Report, check_consistency, codes
from models.ops.inbox import register_device
from models.rules import clock
from models.rules.notification_kinds import PushStatus
from models.tables.agency import AgencyRequest
from models.tables.demands import Demand, DemandEvent, DemandRequest
from models.tables.notifications import Device, Notification, NotificationEvent, PushMessage
from tests.agency_world import build_agency_world
from tests.conftest import DB_URL
from tests.demand_world import DemandWorld, build_demand_world
from tests.test_cli import BIN


def broken(report: Report) -> dict[str, tuple[int, ...]]:
    return {f.code: f.samples for f in report.problems}


def run_check(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": DB_URL}
    return subprocess.run(
        [str(BIN), "check", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def _phones(w: DemandWorld) -> None:
    """The bureau's handlers have phones, registered well before anything happens."""
    for n, who in enumerate((w.handler, w.handler2, w.lead)):
        await register_device(who, provider="gorush", platform="ANDROID", token=f"phone-{n:04d}")
    await Device.all().update(last_seen_at=clock.now() - timedelta(hours=1))


async def _loop_of_demands(w: DemandWorld) -> list[Demand]:
    """Demands at several points of their loop, one with a pending extension request."""
    submitted = await w.submit()
    dispatched = await w.dispatched()
    claimed = await w.in_progress()
    await ops.request_extension(w.handler, claimed.id, days=2, reason="需要补充现场勘验")
    replied = await w.in_progress()
    await ops.reply_demand(w.handler, replied.id, outcome="RESOLVED", text_="已协调完成用地审批")
    return [submitted, dispatched, claimed, replied]


async def test_data_written_by_the_operations_is_consistent(db):
    w = await build_demand_world()
    await _phones(w)
    await _loop_of_demands(w)
    assert await PushMessage.all().count() > 0  # the check has outbox rows to look at
    report = await check_consistency()
    assert report.ok, report.problems
    assert [f.code for f in report.findings] == codes()


async def test_damage_is_reported_with_the_rows_concerned(db):
    w = await build_demand_world()
    await _phones(w)
    submitted, dispatched, claimed, replied = await _loop_of_demands(w)
    # A state changed without its event (a write that skipped the runner).
    await Demand.filter(id=submitted.id).update(state="CLOSED")
    # A version bumped twice, and last_event_id left on an older event.
    await Demand.filter(id=dispatched.id).update(version=7)
    # A submitted demand written without its work-order number.
    await Demand.filter(id=replied.id).update(number=None)
    first = await DemandEvent.filter(demand_id=replied.id).order_by("id").first()
    assert first is not None
    await Demand.filter(id=replied.id).update(last_event_id=first.id)
    # An event whose start is not where the previous one ended.
    events = await DemandEvent.filter(demand_id=claimed.id).order_by("id")
    await DemandEvent.filter(id=events[1].id).update(from_state="IN_PROGRESS")
    # The pending extension's request decided behind the demand's back.
    await DemandRequest.filter(demand_id=claimed.id).update(decision="APPROVED")
    # A handler's inbox row lost, and another notification's pushes lost.
    dispatched_notice = await NotificationEvent.get(subject_id=dispatched.id)
    told = await Notification.filter(event_id=dispatched_notice.id).order_by("id")
    await Notification.filter(id=told[0].id).delete()
    unpushed = told[1]
    await PushMessage.filter(notification_id=unpushed.id).delete()
    # A notice of a transition that never happened, and a delivered push without its time.
    ghost = await NotificationEvent.create(
        kind="DEMAND_DISPATCHED",
        recipients=[],
        subject_type="Demand",
        subject_id=submitted.id,
        fanned_out_at=clock.now(),
    )
    row = await PushMessage.all().order_by("id").first()
    assert row is not None
    await PushMessage.filter(id=row.id).update(status=PushStatus.DELIVERED)

    report = await check_consistency()
    assert not report.ok
    assert broken(report) == {
        "DEMAND_STATE": (submitted.id,),
        "DEMAND_VERSION": (dispatched.id,),
        "DEMAND_LAST_EVENT": (replied.id,),
        "DEMAND_NUMBER": (replied.id,),
        "DEMAND_TIMELINE_CHAIN": (claimed.id,),
        "DEMAND_PENDING_REQUEST": (claimed.id,),
        "NOTICE_INBOX": (dispatched_notice.id,),
        "NOTICE_WITHOUT_CHANGE": (ghost.id,),
        "OUTBOX_MISSING": (unpushed.id,),
        "OUTBOX_STATUS": (row.id,),
    }
    counts = {f.code: f.count for f in report.problems}
    assert counts["DEMAND_STATE"] == 1 and counts["OUTBOX_MISSING"] == 1

    # The command an operator runs: exit 1, a Chinese report naming the rows.
    done = run_check()
    assert done.returncode == 1, done.stderr
    assert f"数据不一致：10 / {len(codes())} 项检查未通过" in done.stdout
    assert (
        f"DEMAND_STATE: 1 条诉求状态与最新时间线事件的目标状态不一致；例如 诉求 id {submitted.id}"
        in done.stdout
    )
    english = run_check("--lang", "en", "--json")
    assert english.returncode == 1
    body = json.loads(english.stdout)
    assert body["consistent"] is False
    by_code = {c["code"]: c for c in body["checks"]}
    assert by_code["OUTBOX_MISSING"]["samples"] == [unpushed.id]
    assert by_code["OUTBOX_MISSING"]["message"].startswith("inbox rows without outbox rows")
    assert by_code["AGENCY_STATE"] == {
        "code": "AGENCY_STATE",
        "ok": True,
        "count": 0,
        "subject": "agency_request",
        "samples": [],
        "message": "agency requests whose state differs from their newest timeline event's "
        "target state",
    }


async def test_agency_timelines_are_checked_too(db):
    w = await build_agency_world()
    made = []
    for _ in range(2):
        r = await agency_ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        made.append(await agency_ops.accept_agency_request(w.agent, r.id))
    assert (await check_consistency()).ok
    await AgencyRequest.filter(id=made[0].id).update(state="COMPLETED")
    await AgencyRequest.filter(id=made[1].id).update(version=1, number=None)
    assert broken(await check_consistency()) == {
        "AGENCY_STATE": (made[0].id,),
        "AGENCY_VERSION": (made[1].id,),
        "AGENCY_NUMBER": (made[1].id,),
    }


async def test_the_command_passes_a_consistent_database(db):
    w = await build_demand_world()
    await w.in_progress()
    done = run_check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"数据一致：{len(codes())} 项检查全部通过" in done.stdout
