"""The demand loop through the real operations, on the real database."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from models.access import system_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops.policy import set_region_policy
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import ClosureKind, DemandState, RectificationState
from models.tables.demands import Demand, DemandEvent, DemandRequest, MutationReceipt
from tests.demand_world import build_demand_world

S = DemandState


async def timeline(demand_id: int) -> list[tuple[str, str | None, str]]:
    rows = (
        await DemandEvent.filter(demand_id=demand_id)
        .order_by("id")
        .values("action", "from_state", "to_state")
    )
    return [(r["action"], r["from_state"], r["to_state"]) for r in rows]


async def test_the_issue_story_across_national_day(db):
    w = await build_demand_world()
    with acting_at(shanghai(2025, 9, 26, 9)):  # a Friday
        d = await w.submit()
        assert d.state is S.SUBMITTED
        d = await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
    assert d.state is S.DISPATCHED
    # Counting from the day after: 9-28 (make-up Sunday), 9-29, 9-30, then 10-9 and 10-10.
    assert d.deadline == date(2025, 10, 10) and d.effective_deadline == date(2025, 10, 10)
    assert d.deadline_confirmed

    with acting_at(shanghai(2025, 9, 28, 9)):
        d = await ops.claim_demand(w.handler, d.id)
        d = await ops.request_extension(w.handler, d.id, days=3, reason="需要补充测绘")
        assert d.pending is not None and d.state is S.IN_PROGRESS
        d = await ops.decide_extension(w.dispatcher, d.id, approve=True)
    # + 3: Saturday 10-11 is a make-up workday, then 10-13 and 10-14.
    assert d.extension_days == 3 and d.effective_deadline == date(2025, 10, 14)

    with acting_at(shanghai(2025, 10, 9, 9)):
        d = await ops.suspend_demand(w.handler, d.id, reason="等待企业补充用地红线图")
        d = await ops.decide_suspension(w.dispatcher, d.id, approve=True)
    assert d.state is S.SUSPENDED
    with acting_at(shanghai(2025, 10, 13, 9)):  # Thursday 9th → Monday 13th: 10th, 11th, 13th
        d = await ops.resume_demand(w.contact, d.id, note="已提交红线图")
    assert d.state is S.IN_PROGRESS and d.suspended_days == 3
    assert d.suspended_seconds == 4 * 24 * 3600  # Thursday 09:00 to Monday 09:00
    assert d.effective_deadline == date(2025, 10, 17)

    with acting_at(shanghai(2025, 10, 16, 15)):
        d = await ops.reply_demand(
            w.handler, d.id, outcome="RESOLVED", text_="已完成用地审批，许可证已发放。"
        )
        assert d.state is S.PENDING_APPROVAL
        d = await ops.approve_reply(w.lead, d.id, approve=True)
        assert d.state is S.PENDING_REVIEW
        d = await ops.review_reply(w.dispatcher, d.id, passed=True)
        assert d.state is S.PENDING_VISIT
        d = await ops.rate_demand(w.contact, d.id, rating="SATISFIED", comment="很及时")
    assert d.state is S.CLOSED and d.closure is ClosureKind.SATISFIED
    assert [a for a, _, _ in await timeline(d.id)] == [
        "SUBMIT",
        "DISPATCH",
        "CLAIM",
        "REQUEST_EXTENSION",
        "DECIDE_EXTENSION",
        "SUSPEND",
        "DECIDE_SUSPENSION",
        "RESUME",
        "REPLY",
        "APPROVE_REPLY",
        "REVIEW_REPLY",
        "RATE",
    ]
    assert (await Demand.get(id=d.id)).last_event_id == (  # type: ignore[attr-defined]
        await DemandEvent.filter(demand_id=d.id).order_by("-id").first()
    ).id


async def test_dissatisfied_reopens_with_rectification_and_supervisor_escalates(db):
    w = await build_demand_world()
    d = await w.in_progress()
    d = await ops.reply_demand(w.handler, d.id, outcome="EXPLAINED", text_="已解释政策")
    d = await ops.approve_reply(w.lead, d.id, approve=True)
    d = await ops.review_reply(w.dispatcher, d.id, passed=True)
    d = await ops.rate_demand(w.contact, d.id, rating="DISSATISFIED", comment="没有解决")
    assert d.state is S.IN_PROGRESS and d.reopen_count == 1
    assert d.rectification_state is RectificationState.OPEN
    assert d.rectification_deadline is not None
    d = await ops.escalate_demand(w.supervisor, d.id, note="请加快整改")
    assert d.escalation_level == 1
    d = await ops.escalate_demand(w.supervisor, d.id, level=3, note="县领导督办")
    assert d.escalation_level == 3
    with pytest.raises(DomainError) as err:
        await ops.escalate_demand(w.supervisor, d.id, note="再次")
    assert err.value.code == "ESCALATION_AT_MAXIMUM"
    # The department appeals; the supervisor upholds: the rating stays, out of the rankings.
    d = await ops.appeal_rating(w.handler, d.id, reason="企业诉求超出政策范围")
    d = await ops.decide_appeal(w.supervisor, d.id, uphold=True, note="申诉成立")
    assert d.rating_excluded and d.rating is not None
    assert d.rectification_state is RectificationState.WAIVED
    # The forced redo is moot: it closes again and its clock no longer runs.
    assert d.state is S.CLOSED and d.closure is ClosureKind.APPEAL_UPHELD
    with pytest.raises(DomainError) as err:
        await ops.appeal_rating(w.handler, d.id, reason="again")
    assert err.value.code == "ALREADY_APPEALED" and err.value.problems[0].field == "appeal"


async def test_return_within_window_goes_back_for_redispatch(db):
    w = await build_demand_world()
    with acting_at(shanghai(2025, 9, 26, 9)):
        d = await w.dispatched()
    with acting_at(shanghai(2025, 9, 29, 9)):  # 2 working days later (9-28, 9-29)
        d = await ops.return_demand(w.handler, d.id, reason="不属于本部门职责")
        d = await ops.decide_return(w.dispatcher, d.id, approve=True)
    assert d.state is S.SUBMITTED and d.department_id is None and d.return_count == 1  # type: ignore[attr-defined]
    with acting_at(shanghai(2025, 9, 29, 10)):
        d = await ops.dispatch_demand(
            w.dispatcher, d.id, department_id=w.other_bureau.id, limit_days=5
        )
    with acting_at(shanghai(2025, 10, 10, 9)):  # the window (2 working days) has passed
        with pytest.raises(DomainError) as err:
            await ops.return_demand(w.handler, d.id, reason="x")
        assert err.value.code == "NOT_FOUND"  # no longer this bureau's demand: not visible
        with pytest.raises(DomainError) as err:
            await ops.return_demand(w.other_handler, d.id, reason="不属于本部门")
        assert err.value.code == "RETURN_WINDOW_CLOSED"
        assert err.value.problems[0].field == "dispatchedAt"


async def test_extension_cap_and_deadline(db):
    w = await build_demand_world()
    await set_region_policy(system_actor(), w.base.county.id, {"extension_cap_days": 4})
    d = await w.in_progress()
    with pytest.raises(DomainError) as err:
        await ops.request_extension(w.handler, d.id, days=5, reason="需要更多时间")
    assert err.value.code == "EXTENSION_CAP_EXCEEDED"
    d = await ops.request_extension(w.handler, d.id, days=4, reason="需要更多时间")
    with pytest.raises(DomainError) as err:
        await ops.request_extension(w.handler, d.id, days=1, reason="again")
    assert err.value.code == "PENDING_REQUEST"  # one pending at a time
    d = await ops.decide_extension(w.dispatcher, d.id, approve=True)
    with pytest.raises(DomainError) as err:
        await ops.request_extension(w.handler, d.id, days=1, reason="again")
    assert err.value.code == "EXTENSION_CAP_USED_UP"
    assert err.value.problems[0].field == "extensionDays"


async def test_unreached_return_visits_close_after_policy_attempts(db):
    w = await build_demand_world()
    d = await w.in_progress()
    d = await ops.reply_demand(w.handler, d.id, outcome="RESOLVED", text_="已办结")
    d = await ops.approve_reply(w.lead, d.id, approve=True)
    d = await ops.review_reply(w.dispatcher, d.id, passed=True)
    for _ in range(2):
        d = await ops.record_return_visit(w.dispatcher, d.id, reached=False, note="电话未接通")
        assert d.state is S.PENDING_VISIT
    d = await ops.record_return_visit(w.dispatcher, d.id, reached=False, note="电话未接通")
    assert d.state is S.CLOSED and d.closure is ClosureKind.UNREACHED and d.contact_attempts == 3


async def test_twenty_concurrent_claims_one_wins(db):
    w = await build_demand_world()
    d = await w.dispatched()
    version = d.version

    async def claim(i: int) -> str:
        who = w.handler if i % 2 else w.handler2
        try:
            await ops.claim_demand(who, d.id, version=version)
            return "ok"
        except DomainError as err:
            return err.code

    results = await asyncio.gather(*(claim(i) for i in range(20)))
    assert results.count("ok") == 1
    assert set(results) - {"ok"} == {"CONFLICT"}
    assert [a for a, _, _ in await timeline(d.id)].count("CLAIM") == 1


async def test_retried_submit_with_same_client_id_creates_one_demand(db):
    w = await build_demand_world()
    data = ops.DemandData(
        enterprise_id=w.base.ent_a1.id, title="用电增容", description="需要增容到 800kVA"
    )
    first, second = await asyncio.gather(
        ops.submit_demand(w.contact, data, client_id="6f1c0e0a-2c4e-4a59-9b7f-01"),
        ops.submit_demand(w.contact, data, client_id="6f1c0e0a-2c4e-4a59-9b7f-01"),
    )
    assert first.id == second.id
    assert await Demand.all().count() == 1
    assert await MutationReceipt.all().count() == 1
    other = ops.DemandData(enterprise_id=w.base.ent_a1.id, title="别的", description="不同内容")
    with pytest.raises(DomainError) as err:
        await ops.submit_demand(w.contact, other, client_id="6f1c0e0a-2c4e-4a59-9b7f-01")
    assert err.value.code == "CLIENT_ID_REUSED"


async def test_refused_transition_writes_nothing(db):
    w = await build_demand_world()
    d = await w.dispatched()
    events = await DemandEvent.all().count()
    with pytest.raises(DomainError) as err:
        await ops.request_extension(w.handler, d.id, days=3, reason="x")
    assert err.value.code == "INVALID_STATE"
    with pytest.raises(DomainError) as err:
        await ops.claim_demand(w.outsider, d.id)
    assert err.value.code == "NOT_FOUND"  # not even its existence is revealed
    assert await DemandEvent.all().count() == events
    assert await DemandRequest.all().count() == 0
    assert (await Demand.get(id=d.id)).version == d.version


async def test_overdue_demands_escalate_by_the_region_thresholds(db):
    from models.ops.demand_jobs import escalate_overdue

    w = await build_demand_world()
    with acting_at(shanghai(2025, 9, 26, 9)):
        d = await w.dispatched(limit_days=5)  # due Friday 2025-10-10
    assert await escalate_overdue(shanghai(2025, 10, 10, 18)) == 0  # due today: not late
    assert await escalate_overdue(shanghai(2025, 10, 11, 9)) == 1  # make-up Saturday: 1 day
    assert (await Demand.get(id=d.id)).escalation_level == 1
    assert await escalate_overdue(shanghai(2025, 10, 11, 10)) == 0  # nothing new
    assert await escalate_overdue(shanghai(2025, 10, 20, 9)) == 1  # 10-11,13..17,20: 7 days
    after = await Demand.get(id=d.id)
    assert after.escalation_level == 3 and after.state is S.DISPATCHED
    last = await DemandEvent.get(id=after.last_event_id)  # type: ignore[attr-defined]
    assert last.actor_id is None and last.data == {  # type: ignore[attr-defined]
        "level": 3,
        "automatic": True,
        "overdueDays": 7,
    }
