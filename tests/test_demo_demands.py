"""The demo demands: every state, consistent timelines, the enterprise account's own demands,
and loading twice changing nothing."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from itertools import pairwise

from models.demo.county import (
    DEMO_ENTERPRISE_CREDIT_CODE,
    _demand_enterprises,
    demo_dataset,
    load_demo,
)
from models.demo.demands import CLIENT_ID_PREFIX, END, demo_demand_plans
from models.ops.demand_context import clock_of
from models.rules import clock
from models.rules.demand_states import (
    ClosureKind,
    DemandSource,
    DemandState,
    RectificationState,
    RequestDecision,
)
from models.rules.demand_view import is_overdue
from models.rules.workdays import local_date, national_calendar
from models.tables.demands import Demand, DemandEvent, DemandRequest, MutationReceipt
from models.tables.org import User
from tests.test_api_work_orders import assert_numbered_in_order

S = DemandState


async def _counts() -> tuple[int, ...]:
    return (
        await Demand.all().count(),
        await DemandEvent.all().count(),
        await DemandRequest.all().count(),
        await MutationReceipt.all().count(),
    )


async def test_demo_demands_cover_every_state_and_the_enterprise_account_has_some(db):
    summary = await load_demo(visits=False)  # the demands raised on demo visits: test_demo_visits
    demands = await Demand.all()
    assert 150 <= len(demands) <= 250
    assert (summary.demands_created, summary.demands_present) == (len(demands), 0)
    assert f"demands {len(demands)} created / 0 present" in str(summary)

    states = Counter(d.state for d in demands)
    assert set(states) == set(S) - {S.DRAFT}, states
    assert states[S.CLOSED] > len(demands) / 2

    # Each demand ends where its planned story ends.
    plans = {p.client_id: p for p in demo_demand_plans(*_demand_enterprises(demo_dataset()))}
    by_id = {d.id: d for d in demands}
    receipts = await MutationReceipt.filter(client_id__startswith=CLIENT_ID_PREFIX).values_list(
        "client_id", "object_id"
    )
    assert len(receipts) == len(plans) == len(demands)
    for client_id, demand_id in receipts:
        assert by_id[demand_id].state.value == plans[client_id].expected_state, client_id

    # The state is the last timeline event's; events run forward in working hours.
    events: dict[int, list[DemandEvent]] = {}
    for e in await DemandEvent.all().order_by("id"):
        events.setdefault(e.demand_id, []).append(e)  # type: ignore[attr-defined]
    cal = national_calendar()
    for d in demands:
        timeline = events[d.id]
        assert timeline[-1].to_state is d.state, d.id
        assert d.last_event_id == timeline[-1].id  # type: ignore[attr-defined]
        assert timeline[0].action == "SUBMIT" and timeline[0].from_state is None
        for before, after in pairwise(timeline):
            assert before.at <= after.at and after.from_state is before.to_state, d.id
        for e in timeline:
            local = e.at.astimezone(clock.TZ)
            assert date(2026, 5, 1) <= local.date() and e.at <= END, (d.id, e.at)
            assert cal.is_workday(local.date()) and 9 <= local.hour <= 17, (d.id, local)
        assert re.search(r"[\u4e00-\u9fff]", d.title) and d.description

    # The variety the supervisor's screens show.
    assert sum(is_overdue(clock_of(d), clock.today()) for d in demands) >= 3
    assert sum(is_overdue(clock_of(d), date(2026, 11, 20)) for d in demands) >= 3
    assert any(d.extension_days > 0 and d.state is S.CLOSED for d in demands)
    assert any(d.return_count > 0 for d in demands)
    assert any(
        d.reopen_count > 0
        and d.state is S.CLOSED
        and d.rectification_state is RectificationState.DONE
        for d in demands
    )
    assert any(d.escalation_level >= 2 for d in demands)
    assert any(d.rating_excluded and d.appeal is RequestDecision.APPROVED for d in demands)
    assert any(d.closure is ClosureKind.UNREACHED for d in demands)
    assert {DemandSource.APP, DemandSource.VISIT, DemandSource.HOTLINE_12345} <= {
        d.source for d in demands
    }
    assert len({d.department_id for d in demands if d.department_id}) >= 5  # type: ignore[attr-defined]
    assert all(local_date(d.submitted_at) < date(2026, 11, 21) for d in demands if d.submitted_at)
    # Numbered on submission with the county's prefix (清河 QH), each day's in order.
    assert_numbered_in_order([(d.submitted_at, d.number) for d in demands], "QH")

    # Signing in as `enterprise` shows its own enterprise's demands, in several states.
    user = await User.get(username="enterprise")
    mine = await Demand.filter(enterprise__credit_code=DEMO_ENTERPRISE_CREDIT_CODE)
    assert {d.source for d in mine} == {DemandSource.APP}
    assert {d.submitted_by_id for d in mine} == {user.id}  # type: ignore[attr-defined]
    assert {S.CLOSED, S.IN_PROGRESS, S.PENDING_VISIT, S.SUBMITTED, S.WITHDRAWN} <= {
        d.state for d in mine
    }


async def test_loading_twice_leaves_the_demands_as_they_are(db):
    first = await load_demo()
    before = await _counts()
    second = await load_demo()
    assert await _counts() == before
    assert second.demands_created == 0
    assert second.demands_present == first.demands_created > 0


async def test_no_demands_are_acted_in_a_real_users_name(db):
    await User.create(username="dispatcher", display_name="真实调度员", password_hash="x")
    summary = await load_demo()
    assert (summary.demands_created, summary.demands_present) == (0, 0)
    assert await Demand.all().count() == 0


def test_the_demand_plan_is_deterministic():
    args = _demand_enterprises(demo_dataset())
    first = demo_demand_plans(*args)
    demo_demand_plans.cache_clear()
    assert demo_demand_plans(*args) == first
    assert all(step.at <= END for plan in first for step in plan.steps)
