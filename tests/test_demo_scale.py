"""The large synthetic demo (`enterprise-desk demo --enterprises N --demands M`), loaded small:
counts, every demand's columns against its own timeline, deadlines recomputed with the rules,
a spread of states, a second run refused, and the id sequences continuing afterwards."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest

from models.demo.county import ENTERPRISE_COUNT, demo_dataset
from models.demo.scale import ScaleDataPresent, load_scale_demo, synthetic_credit_codes
from models.demo.scale_story import END, Calendar
from models.ops.demand_times import refresh_all_demand_times
from models.ops.work_day_index import ensure_work_day_index
from models.rules.deadlines import compute_deadlines
from models.rules.demand_states import DemandState, RequestDecision
from models.rules.identifiers import make_credit_code
from models.rules.workdays import local_date, national_calendar
from models.tables.demands import Demand, DemandEvent, DemandRequest
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.org import Region, User
from tests.test_api_work_orders import assert_numbered_in_order

S = DemandState
N, M = 50, 500


def test_precomputed_calendar_agrees_with_the_rules() -> None:
    cal = national_calendar()
    fast = Calendar(cal, date(2025, 1, 1), date(2027, 12, 31))
    day = date(2025, 1, 2)
    while day < date(2026, 12, 1):
        o = day.toordinal()
        assert fast.is_workday(o) == cal.is_workday(day)
        for n in (0, 1, 5, 20):
            assert fast.add(o, n) == cal.add_working_days(day, n).date.toordinal()
        later = day + timedelta(days=17)
        assert fast.between(o, later.toordinal()) == cal.working_days_between(day, later)
        day += timedelta(days=3)


def test_synthetic_credit_codes_are_valid_and_new() -> None:
    codes = synthetic_credit_codes()
    first = [next(codes) for _ in range(2000)]
    assert len(set(first)) == 2000
    assert all(make_credit_code(c[:17]) == c for c in first)
    assert not set(first) & {e.credit_code for e in demo_dataset().enterprises}


async def test_scale_demo_is_consistent(db: str) -> None:
    summary = await load_scale_demo(N, M, chunk=120)
    assert (summary.enterprises, summary.demands) == (N, M)

    # Counts.
    assert await Enterprise.all().count() == ENTERPRISE_COUNT + N
    assert await Demand.all().count() == M
    assert await DemandEvent.all().count() == summary.events
    assert await DemandRequest.all().count() == summary.requests
    assert await User.filter(username__startswith="qy").count() == N
    assert await EnterpriseContact.filter(user__username__startswith="qy").count() == N
    assert 5 * M < summary.events < 9 * M
    names = await Enterprise.all().values_list("name", flat=True)
    assert len(set(names)) == len(names)
    # Numbered after the load, in bulk: the county's prefix, each day's in submission order.
    assert_numbered_in_order(await Demand.all().values_list("submitted_at", "number"), "QH")

    # The response and handling times the generator writes are what the operations' SQL
    # (models.ops.demand_times) computes from the same rows.
    time_columns = (
        "id",
        "response_working_days",
        "response_seconds",
        "handling_working_days",
        "handling_seconds",
    )
    written = await Demand.all().order_by("id").values_list(*time_columns)
    await ensure_work_day_index()
    await refresh_all_demand_times()
    assert await Demand.all().order_by("id").values_list(*time_columns) == written
    assert sum(1 for t in written if t[3] is not None) > M // 2

    demands = await Demand.all().order_by("id").values()
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in await DemandEvent.all().order_by("id").values():
        events[e["demand_id"]].append(e)
    requests: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in await DemandRequest.all().order_by("id").values():
        requests[r["demand_id"]].append(r)
    synthetic_regions = set(
        await Enterprise.filter(credit_code__in=_codes(N)).values_list("region_id", flat=True)
    )
    town_or_park = set(await Region.filter(parent_id__not_isnull=True).values_list("id", flat=True))
    assert synthetic_regions <= town_or_park and len(synthetic_regions) >= 5

    cal = national_calendar()
    checked_deadlines = 0
    for d in demands:
        timeline = events[d["id"]]
        last = timeline[-1]
        assert d["state"] == last["to_state"], d["id"]
        assert d["last_event_id"] == last["id"]
        assert d["version"] == len(timeline)
        assert timeline[0]["action"] == "SUBMIT" and timeline[0]["at"] == d["submitted_at"]
        ats = [e["at"] for e in timeline]
        assert ats == sorted(ats) and ats[-1] <= END
        for before, after in pairwise(timeline):
            assert after["from_state"] == before["to_state"]

        def last_at(*actions: str, _t: list[dict[str, Any]] = timeline) -> Any:
            found = [e["at"] for e in _t if e["action"] in actions]
            return found[-1] if found else None

        dispatched = last_at("DISPATCH")
        returned = [
            e for e in timeline if e["action"] == "DECIDE_RETURN" and e["to_state"] == S.SUBMITTED
        ]
        if returned and (dispatched is None or returned[-1]["at"] > dispatched):
            dispatched = None
        assert d["dispatched_at"] == dispatched
        if dispatched is not None:
            assert d["claimed_at"] == last_at("CLAIM")
        assert d["replied_at"] == last_at("REPLY", "ANSWER_DIRECTLY")
        rated = [e["at"] for e in timeline if "rating" in e["data"]]
        assert d["rated_at"] == (rated[-1] if rated else None)
        closing = [e["at"] for e in timeline if e["to_state"] == S.CLOSED]
        assert d["closed_at"] == (closing[-1] if closing else None)
        assert (d["state"] == S.CLOSED) == (d["closure"] is not None)

        # Suspensions: working days from the RESUME events, natural seconds from their spans.
        resumes = [e for e in timeline if e["action"] == "RESUME"]
        assert d["suspended_days"] == sum(e["data"]["suspendedDays"] for e in resumes)
        starts = [
            e["at"]
            for e in timeline
            if e["action"] == "DECIDE_SUSPENSION" and e["to_state"] == S.SUSPENDED
        ]
        seconds = sum(
            int((r["at"] - s).total_seconds()) for s, r in zip(starts, resumes, strict=False)
        )
        assert d["suspended_seconds"] == seconds
        assert (d["state"] == S.SUSPENDED) == (d["suspended_at"] is not None)
        if d["state"] == S.SUSPENDED:
            assert d["suspended_at"] == starts[-1]
        approved_ext = [
            e["data"]["days"]
            for e in timeline
            if e["action"] == "DECIDE_EXTENSION" and e["data"]["approved"]
        ]
        assert d["extension_days"] == sum(approved_ext)
        assert d["extension_count"] == len(approved_ext)
        escalations = [e["data"]["level"] for e in timeline if e["action"] == "ESCALATE"]
        assert d["escalation_level"] == (max(escalations) if escalations else 0)

        # Deadlines recomputed with the rules.
        if dispatched is not None and d["reopen_count"] == 0:
            dl = compute_deadlines(
                cal,
                local_date(dispatched),
                d["limit_days"],
                extension_days=d["extension_days"],
                suspended_days=d["suspended_days"],
            )
            assert (d["deadline"], d["effective_deadline"], d["warning_date"]) == (
                dl.deadline,
                dl.effective,
                dl.warning_from,
            ), d["id"]
            checked_deadlines += 1
        elif d["reopen_count"]:
            bad = [
                e
                for e in timeline
                if e["data"].get("rating") in ("DISSATISFIED", "VERY_DISSATISFIED")
            ]
            dl = compute_deadlines(cal, local_date(bad[-1]["at"]), 5)
            assert d["effective_deadline"] == d["rectification_deadline"] == dl.effective

        # A pending marker has its waiting request, and only then.
        waiting = [r["kind"] for r in requests[d["id"]] if r["decision"] == RequestDecision.PENDING]
        marker = [d["pending"]] if d["pending"] else []
        if d["appeal"] == RequestDecision.PENDING:
            marker.append("APPEAL")
        assert sorted(waiting) == sorted(marker), d["id"]

    assert checked_deadlines > M // 2
    states = Counter(d["state"] for d in demands)
    assert states == Counter(summary.states)
    assert states[S.CLOSED] > M * 0.7
    assert len(states) >= 6
    actions = Counter(e["action"] for t in events.values() for e in t)
    for action in ("RETURN", "REQUEST_EXTENSION", "SUSPEND", "RESUME", "ESCALATE", "REVIEW_REPLY"):
        assert actions[action] > 0, action
    assert sum(1 for d in demands if d["reopen_count"]) > 0
    assert len({d["source"] for d in demands}) == 5
    assert len({d["urgency"] for d in demands}) == 3
    assert len({d["rating"] for d in demands} - {None}) == 5

    # A second run refuses and changes nothing.
    with pytest.raises(ScaleDataPresent):
        await load_scale_demo(N, M)
    assert await Demand.all().count() == M

    # The sequences continue after the reserved ids.
    max_demand = max(d["id"] for d in demands)
    region_id = demands[0]["region_id"]
    enterprise = await Enterprise.create(
        name="清河县序列检查有限公司",
        credit_code=make_credit_code("91330599MA2B3C4D5"),
        region_id=region_id,
    )
    demand = await Demand.create(
        source="OTHER",
        enterprise_id=enterprise.id,
        region_id=region_id,
        title="t",
        description="d",
        state=S.SUBMITTED,
        submitted_by_id=demands[0]["submitted_by_id"],
    )
    event = await DemandEvent.create(
        demand_id=demand.id, action="SUBMIT", at=END, to_state=S.SUBMITTED
    )
    assert demand.id == max_demand + 1
    assert event.id == summary.events + 1
    assert enterprise.id == ENTERPRISE_COUNT + N + 1


def _codes(n: int) -> list[str]:
    codes = synthetic_credit_codes()
    return [next(codes) for _ in range(n)]


async def test_scale_demo_with_users_gives_every_role_its_data(db: str) -> None:
    from models.demo.scale_people import UserPlan
    from models.tables.demands import Demand as D
    from models.tables.enterprises import LeaderAssignment
    from models.tables.grants import RoleGrant
    from models.tables.notifications import Notification
    from models.tables.visits import Visit, VisitParticipant

    enterprises, demands, users = 200, 600, 80
    summary = await load_scale_demo(enterprises, demands, chunk=150, users=users)
    plan = UserPlan.of(users, enterprises)
    assert summary.users == users
    assert summary.staff == {
        "cadres": plan.cadres,
        "handlers": plan.handlers,
        "dispatchers": plan.dispatchers,
        "supervisors": plan.supervisors,
        "agents": plan.agents,
    }
    accounts = await User.filter(username__startswith="qy").count()
    assert accounts == plan.enterprise_accounts < enterprises
    hashes = set(
        await User.filter(username__startswith="cadre")
        .exclude(username="cadre")  # the demo's own, hashed by the demo
        .values_list("password_hash", flat=True)
    )
    assert len(hashes) == 1

    grants = await RoleGrant.all().values("user_id", "role", "region_id", "department_id")
    handler_depts: dict[int, set[int]] = defaultdict(set)
    cadre_region: dict[int, int] = {}
    for g in grants:
        if g["role"] == "HANDLER":
            handler_depts[g["user_id"]].add(g["department_id"])
        if g["role"] == "CADRE":
            cadre_region[g["user_id"]] = g["region_id"]
    region_of = dict(await Enterprise.all().values_list("id", "region_id"))

    # 包联: each synthetic cadre looks after up to 20 enterprises of the region of its grant.
    cadres = dict(await User.filter(username__startswith="cadre").values_list("id", "username"))
    cadres.pop(next(k for k, v in cadres.items() if v == "cadre"))  # the demo's own
    assert len(cadres) == plan.cadres
    assigned: dict[int, int] = {}
    per_cadre: Counter[int] = Counter()
    for eid, leader in await LeaderAssignment.filter(leader_id__in=list(cadres)).values_list(
        "enterprise_id", "leader_id"
    ):
        assert region_of[eid] == cadre_region[leader]
        assigned[eid] = leader
        per_cadre[leader] += 1
    assert set(per_cadre) == set(cadres) and max(per_cadre.values()) <= 20

    # Visits: by an assigned cadre, who is the lead participant.
    visits = await Visit.filter(lead_id__in=list(cadres)).values("id", "enterprise_id", "lead_id")
    assert visits and summary.visits == len(visits)
    leads = dict(await VisitParticipant.filter(is_lead=True).values_list("visit_id", "user_id"))
    for v in visits:
        assert assigned[v["enterprise_id"]] == v["lead_id"] == leads[v["id"]]

    # Demands: handled by a handler of their department, every synthetic handler has some;
    # app demands come from the enterprise's own account, visit demands from its cadre.
    contact_of = dict(
        await EnterpriseContact.filter(user_id__not_isnull=True).values_list(
            "enterprise_id", "user_id"
        )
    )
    rows = await D.all().values(
        "enterprise_id", "department_id", "handler_id", "source", "submitted_by_id"
    )
    handled: Counter[int] = Counter()
    for d in rows:
        if d["handler_id"] is not None:
            assert d["department_id"] in handler_depts[d["handler_id"]]
            handled[d["handler_id"]] += 1
        if d["source"] == "APP":
            assert d["submitted_by_id"] == contact_of[d["enterprise_id"]]
        if d["source"] == "VISIT" and d["enterprise_id"] in assigned:
            assert d["submitted_by_id"] == assigned[d["enterprise_id"]]
    synthetic_handlers = (
        await User.filter(username__startswith="handler")
        .exclude(username__contains="_")
        .values_list("id", flat=True)
    )
    synthetic_handlers = [h for h in synthetic_handlers if h in handler_depts]
    assert len(synthetic_handlers) >= plan.handlers
    assert all(handled[h] > 0 for h in synthetic_handlers)
    assert any(d["source"] == "APP" for d in rows)

    # The inbox of the last month: some rows unread, every reader a real account.
    inbox = await Notification.all().values("user_id", "read_at", "kind")
    assert len(inbox) == summary.notifications > 0
    assert any(n["read_at"] is None for n in inbox) and any(n["read_at"] for n in inbox)
    known = set(await User.all().values_list("id", flat=True))
    assert {n["user_id"] for n in inbox} <= known
