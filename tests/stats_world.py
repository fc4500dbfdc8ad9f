"""A small county where every supervisor figure is known by hand (tests/test_stats_*.py).

The demands are driven through the real operations on chosen days (acting_at) in September
2026 and the figures are taken on Tuesday 2026-10-20 10:00. The 2026 calendar (national):
Friday 09-25 is the Mid-Autumn holiday, Sunday 09-20 a make-up workday, 10-01..10-07 the
National Day holiday and Saturday 10-10 a make-up workday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.access import load_actor
from models.ops import demands as ops
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from tests.demand_world import DemandWorld, build_demand_world

SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
STATS_DAY = shanghai(2026, 10, 20, 10)  # a Tuesday


@dataclass
class StatsWorld:
    w: DemandWorld
    ids: dict[str, int]
    admin: Actor


async def build_stats_world() -> StatsWorld:
    w = await build_demand_world()
    ids: dict[str, int] = {}
    disp, handler, lead, contact = w.dispatcher, w.handler, w.lead, w.contact

    async def dispatch(d_id: int, limit: int) -> None:
        await ops.dispatch_demand(disp, d_id, department_id=w.bureau.id, limit_days=limit)

    async def reply_through(d_id: int) -> None:
        """Reply, the leader's sign-off and the office's check: → PENDING_VISIT."""
        await ops.reply_demand(handler, d_id, outcome="RESOLVED", text_="已办理完毕。")
        await ops.approve_reply(lead, d_id, approve=True)
        await ops.review_reply(disp, d_id, passed=True)

    # D1 crosses National Day: dispatched Wed 09-30 with 5 working days → due 10-13
    # (10-08, 10-09, Saturday 10-10, 10-12, 10-13). Claimed 10-08: 1 working day, 192 h.
    # Replied Mon 10-12 15:00: 4 working days, 294 h. Rated satisfied: closed.
    with acting_at(shanghai(2026, 9, 30, 9)):
        d = await w.submit(title="D1")
        await dispatch(d.id, 5)
    ids["d1"] = d.id
    with acting_at(shanghai(2026, 10, 8, 9)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 10, 12, 15)):
        await reply_through(d.id)
        await ops.rate_demand(contact, d.id, rating="SATISFIED")

    # D2 suspended: dispatched Mon 09-14 (5 days → Sunday make-up day 09-20), claimed 14:00
    # (0 working days, 5 h); suspended Tue 09-15 09:00 to Fri 09-18 09:00 = 3 working days
    # (16, 17, 18) and 72 h, so the effective deadline moves to 09-23. Replied Tue 09-22 09:00:
    # 7 working days (15..18, 20, 21, 22) - 3 = 4; 192 h - 72 h = 120 h. Very satisfied.
    with acting_at(shanghai(2026, 9, 14, 9)):
        d = await w.submit(title="D2")
        await dispatch(d.id, 5)
    ids["d2"] = d.id
    with acting_at(shanghai(2026, 9, 14, 14)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 15, 9)):
        await ops.suspend_demand(handler, d.id, reason="等待企业补充材料")
        await ops.decide_suspension(disp, d.id, approve=True)
    with acting_at(shanghai(2026, 9, 18, 9)):
        await ops.resume_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 22, 9)):
        await reply_through(d.id)
        await ops.rate_demand(contact, d.id, rating="VERY_SATISFIED")

    # D3 extended: dispatched Tue 09-01 with 3 days (due 09-04), claimed 09-02 (1 day, 24 h),
    # extension of 2 approved on 09-03 → due Tue 09-08. Replied 09-08 17:00: 5 working days,
    # 176 h. Return visit reached, rated BASIC: closed.
    with acting_at(shanghai(2026, 9, 1, 9)):
        d = await w.submit(title="D3")
        await dispatch(d.id, 3)
    ids["d3"] = d.id
    with acting_at(shanghai(2026, 9, 2, 9)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 3, 9)):
        await ops.request_extension(handler, d.id, days=2, reason="需要现场测绘")
        await ops.decide_extension(disp, d.id, approve=True)
    with acting_at(shanghai(2026, 9, 8, 17)):
        await reply_through(d.id)
        await ops.record_return_visit(disp, d.id, reached=True, rating="BASIC")

    # D4 bad rating, rectified on time: dispatched Thu 09-03 (5 days → 09-10), claimed Mon
    # 09-07 (2 working days: 04, 07 → not within the 1-day limit; 96 h). Replied 09-09, rated
    # dissatisfied 09-10 → reopened, rectification due 09-17 (5 working days). Replied again
    # Wed 09-16 10:00: 9 working days (04, 07..11, 14..16), 313 h; then satisfied: closed.
    with acting_at(shanghai(2026, 9, 3, 9)):
        d = await w.submit(title="D4")
        await dispatch(d.id, 5)
    ids["d4"] = d.id
    with acting_at(shanghai(2026, 9, 7, 9)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 9, 9)):
        await reply_through(d.id)
    with acting_at(shanghai(2026, 9, 10, 9)):
        await ops.rate_demand(contact, d.id, rating="DISSATISFIED")
    with acting_at(shanghai(2026, 9, 16, 10)):
        await reply_through(d.id)
    with acting_at(shanghai(2026, 9, 16, 11)):
        await ops.rate_demand(contact, d.id, rating="SATISFIED")

    # D5 bad rating, rectification still open: dispatched Mon 09-07 (3 days → 09-10), claimed
    # 10:00 (0 days, 1 h), replied Wed 09-09 09:00 (2 working days, 48 h), rated very
    # dissatisfied 09-10 → in progress again, due 09-17: overdue now. Escalated to level 1.
    with acting_at(shanghai(2026, 9, 7, 9)):
        d = await w.submit(title="D5")
        await dispatch(d.id, 3)
    ids["d5"] = d.id
    with acting_at(shanghai(2026, 9, 7, 10)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 9, 9)):
        await reply_through(d.id)
    with acting_at(shanghai(2026, 9, 10, 9)):
        await ops.rate_demand(contact, d.id, rating="VERY_DISSATISFIED")
    with acting_at(shanghai(2026, 9, 21, 9)):
        await ops.escalate_demand(w.supervisor, d.id, note="请加快整改")

    # D6 still open and overdue: dispatched Wed 09-16 with 2 days (due Fri 09-18), claimed
    # 10:00 (0 days, 1 h), never replied; escalated straight to level 2.
    with acting_at(shanghai(2026, 9, 16, 9)):
        d = await w.submit(title="D6")
        await dispatch(d.id, 2)
    ids["d6"] = d.id
    with acting_at(shanghai(2026, 9, 16, 10)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 21, 9)):
        await ops.escalate_demand(w.supervisor, d.id, level=2, note="县领导督办")

    # D7 in warning now: submitted Tue 09-29, dispatched Mon 10-19 with 1 day → due 10-20,
    # warning from 10-19; not claimed yet.
    with acting_at(shanghai(2026, 9, 29, 9)):
        d = await w.submit(title="D7")
    ids["d7"] = d.id
    with acting_at(shanghai(2026, 10, 19, 9)):
        await dispatch(d.id, 1)

    # D8 rejected, submitted at 00:30 on 09-01 in Shanghai (still 08-31 in UTC): in September.
    with acting_at(shanghai(2026, 9, 1, 0, 30)):
        d = await w.submit(title="D8")
        await ops.reject_demand(disp, d.id, reason="NOT_IN_SCOPE", note="")
    ids["d8"] = d.id

    # D9 withdrawn by the enterprise the next day.
    with acting_at(shanghai(2026, 9, 3, 10)):
        d = await w.submit(title="D9")
    ids["d9"] = d.id
    with acting_at(shanghai(2026, 9, 4, 10)):
        await ops.withdraw_demand(contact, d.id)

    # D10 returned (退单) and dispatched again Tue 09-22 with 10 days (due 10-13), claimed
    # 10:00 (0 days, 1 h), replied Thu 09-24 09:00 (2 working days, 48 h); waiting for the
    # return visit, nobody called yet.
    with acting_at(shanghai(2026, 9, 21, 9)):
        d = await w.submit(title="D10")
        await dispatch(d.id, 5)
        await ops.return_demand(handler, d.id, reason="不属于本部门职责")
        await ops.decide_return(disp, d.id, approve=True)
    ids["d10"] = d.id
    with acting_at(shanghai(2026, 9, 22, 9)):
        await dispatch(d.id, 10)
    with acting_at(shanghai(2026, 9, 22, 10)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 24, 9)):
        await reply_through(d.id)

    # D11 suspended now: dispatched Thu 09-24 09:00 with 3 days (due 09-30), claimed 09:30
    # (0 days, 0.5 h), suspended from Mon 09-28.
    with acting_at(shanghai(2026, 9, 24, 9)):
        d = await w.submit(title="D11")
        await dispatch(d.id, 3)
    ids["d11"] = d.id
    with acting_at(shanghai(2026, 9, 24, 9, 30)):
        await ops.claim_demand(handler, d.id)
    with acting_at(shanghai(2026, 9, 28, 9)):
        await ops.suspend_demand(handler, d.id, reason="等待企业补充材料")
        await ops.decide_suspension(disp, d.id, approve=True)

    # Outside town A's September: 00:30 on 10-01 in Shanghai (09-30 in UTC) ...
    with acting_at(shanghai(2026, 10, 1, 0, 30)):
        d = await w.submit(title="D0")
    ids["october"] = d.id
    # ... and a town B demand of September (in the county's figures only).
    with acting_at(shanghai(2026, 9, 10, 9)):
        d = await ops.submit_demand(
            w.outsider,
            ops.DemandData(
                enterprise_id=w.base.ent_b1.id,
                title="TB",
                description="仓库消防验收",
                category_id=w.category.id,
            ),
        )
    ids["town_b"] = d.id
    return StatsWorld(w=w, ids=ids, admin=await load_actor(w.base.admin.id))
