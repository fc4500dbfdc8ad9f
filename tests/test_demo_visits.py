"""The demo visits: the mix of check-ins, modes and states, the demands raised on them, the
county leader's to-do list and coverage this quarter, and loading twice changing nothing.

Loading the demo with its demands and visits takes a few seconds, so the module loads it once
(`loaded`) and its tests only read, except the last two, which start from an empty database."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date

import pytest

from models.access import load_actor
from models.demo.county import (
    DEMO_ENTERPRISE_CREDIT_CODE,
    DemoSummary,
    _visit_enterprises,
    demo_dataset,
    load_demo,
)
from models.demo.visits import END, QUARTER_START, VisitPlan, demo_visit_plans
from models.ops.policy import invalidate_policy_cache
from models.ops.work_calendar import invalidate_calendar_cache
from models.rules import clock
from models.rules.demand_states import DemandSource, DemandState
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem, RegionLevel
from models.rules.visit_states import PeriodKind, VisitMode, VisitStatus
from models.rules.workdays import local_date, national_calendar
from models.tables.demands import Attachment, Demand, DemandEvent, MutationReceipt
from models.tables.enterprises import Enterprise
from models.tables.org import Region, User
from models.tables.visits import SupportPolicy, Visit, VisitParticipant
from schema.visit_reads import my_assigned_enterprises, visit_coverage
from tests.conftest import truncate_all

ON = date(2026, 11, 20)  # the demo's reference day: "this quarter" is 2026 Q4


def _plans() -> tuple[VisitPlan, ...]:
    return demo_visit_plans(*_visit_enterprises(demo_dataset()))


@pytest.fixture(scope="module")
async def loaded(_database: str) -> AsyncIterator[DemoSummary]:
    """The demo county with its demands and visits, loaded once for the module's readers."""
    await truncate_all()
    invalidate_calendar_cache()
    invalidate_policy_cache()
    yield await load_demo()


async def _visits_by_plan() -> dict[int, Visit]:
    """Plan number → the visit its creating receipt points at."""
    plans = {p.client_id(): p.n for p in _plans()}
    receipts = await MutationReceipt.filter(
        client_id__in=list(plans), operation__in=["PLAN_VISIT", "LOG_VISIT"]
    ).values_list("client_id", "object_id")
    visits = {v.id: v for v in await Visit.all()}
    return {plans[cid]: visits[oid] for cid, oid in receipts}


async def test_the_demo_visits_have_the_planned_mix(loaded: DemoSummary) -> None:
    plans = _plans()
    visits = await Visit.all()
    assert 60 <= len(plans) <= 80
    assert (loaded.visits_created, loaded.visits_present) == (len(plans), 0) == (len(visits), 0)
    assert f"visits {len(visits)} created / 0 present" in str(loaded)

    # Each plan made exactly one visit, which ended where its story ends.
    by_plan = await _visits_by_plan()
    assert len(by_plan) == len(plans) == len({v.id for v in by_plan.values()})
    users = {u.username: u.id for u in await User.filter(username__in=["leader", "cadre"])}
    for p in plans:
        v = by_plan[p.n]
        assert v.status is p.expected_status, p.n
        assert v.location_trust == p.expected_trust and v.trust_reason == p.expected_reason, p.n
        assert v.lead_id == users[p.lead] and v.created_by_id == users[p.actor], p.n  # type: ignore[attr-defined]

    # Counts per state, mode, trust and coordinate system.
    status = Counter(v.status for v in visits)
    assert status[VisitStatus.CANCELLED] == 1
    assert status[VisitStatus.PLANNED] >= 3
    assert status[VisitStatus.COMPLETED] == len(visits) - 1 - status[VisitStatus.PLANNED]
    done = [v for v in visits if v.status is VisitStatus.COMPLETED]
    reasons = Counter(v.trust_reason for v in done)
    assert reasons[TrustReason.TOO_FAR] == 4 and reasons[TrustReason.MOCK_LOCATION] == 2
    assert sum(v.location_trust is LocationTrust.DOUBTFUL for v in done) == 6
    assert reasons[TrustReason.WITHIN_RADIUS] >= 0.75 * len(done)
    off_site = [v for v in done if v.mode is not VisitMode.ON_SITE]
    assert {v.mode for v in off_site} == {VisitMode.PHONE, VisitMode.VIDEO}
    assert all(
        v.trust_reason is TrustReason.NOT_ON_SITE and v.checkin_system is None for v in off_site
    )
    assert reasons[TrustReason.NOT_ON_SITE] == len(off_site) >= 3
    systems = Counter(v.checkin_system for v in done if v.mode is VisitMode.ON_SITE)
    assert systems[CoordinateSystem.GCJ02] > systems[CoordinateSystem.BD09] > 0
    assert systems[CoordinateSystem.WGS84] > 0
    for v in done:
        assert v.distance_m is not None or v.mode is not VisitMode.ON_SITE
        if v.trust_reason is TrustReason.WITHIN_RADIUS:
            assert v.distance_m is not None and 5 <= v.distance_m <= 160, v.id
            assert v.checkin_accuracy_m is not None and 5 <= v.checkin_accuracy_m <= 60
        if v.trust_reason is TrustReason.TOO_FAR:
            assert v.distance_m is not None and 1900 <= v.distance_m <= 5100, v.id
        if v.trust_reason is TrustReason.MOCK_LOCATION:
            assert v.checkin_mock and v.distance_m is not None and v.distance_m < 30

    # Times: June to END, on working days; the planned ones after END, the cancelled one before.
    cal = national_calendar()
    for v in done:
        assert v.visited_at is not None and v.completed_at is not None
        local = v.visited_at.astimezone(clock.TZ)
        assert date(2026, 6, 1) <= local.date() and v.completed_at <= END, v.id
        assert cal.is_workday(local.date()) and 9 <= local.hour <= 16, (v.id, local)
        assert v.ended_at is not None and v.visited_at < v.ended_at <= v.completed_at
    future = [v for v in visits if v.status is VisitStatus.PLANNED]
    assert all(v.planned_at is not None and v.planned_at > END for v in future)
    assert any(v.planned_at is not None and v.planned_at.month == 12 for v in future)
    cancelled = next(v for v in visits if v.status is VisitStatus.CANCELLED)
    assert cancelled.cancel_reason and cancelled.cancelled_at is not None
    assert cancelled.cancelled_at <= END

    # Notes in Chinese; policies from the demo catalog by id, and some typed in.
    assert all(v.notes and "企业" in v.notes for v in done)
    catalog = set(await SupportPolicy.all().values_list("id", flat=True))
    given = [p for v in done for p in v.policies]
    assert {p["policyId"] for p in given if p["policyId"] is not None} <= catalog
    assert sum(p["policyId"] is not None for p in given) >= 30
    assert sum(p["policyId"] is None for p in given) >= 3

    # The leader goes along with the cadre, and the cadre with the leader; no photos.
    people = await VisitParticipant.filter(is_lead=False).values_list(
        "user__username", "visit__lead__username"
    )
    assert Counter(people)[("leader", "cadre")] >= 5
    assert ("cadre", "leader") in people
    assert await Attachment.filter(visit_id__not_isnull=True).count() == 0


async def test_demands_raised_on_visits_are_linked_to_them(loaded: DemoSummary) -> None:
    raised = await Demand.filter(visit_id__not_isnull=True)
    assert len(raised) == sum(len(p.demands) for p in _plans()) >= 5
    visits = {v.id: v for v in await Visit.filter(id__in=[d.visit_id for d in raised])}
    per_visit = Counter(d.visit_id for d in raised)
    assert 1 in per_visit.values() and 2 in per_visit.values()
    showcase = await Enterprise.get(credit_code=DEMO_ENTERPRISE_CREDIT_CODE)
    for d in raised:
        assert d.visit_id is not None
        visit = visits[d.visit_id]
        assert d.source is DemandSource.VISIT and d.state is DemandState.SUBMITTED
        assert d.enterprise_id == visit.enterprise_id != showcase.id  # type: ignore[attr-defined]
        assert d.submitted_by_id == visit.completed_by_id  # type: ignore[attr-defined]
        assert d.submitted_at == visit.completed_at and d.category_id is not None  # type: ignore[attr-defined]
        events = await DemandEvent.filter(demand_id=d.id)
        assert len(events) == 1 and events[0].data == {"source": "VISIT", "visitId": visit.id}
        # Numbered on the visit's day. (Replayed after the demo demands, they come after that
        # day's demo demands whatever their hour.)
        assert re.fullmatch(rf"QH{local_date(d.submitted_at):%Y%m%d}\d{{5}}", d.number or "")


async def test_the_county_leader_has_a_to_do_list_this_quarter(loaded: DemoSummary) -> None:
    leader = await User.get(username="leader")
    actor = await load_actor(leader.id)
    todo = await my_assigned_enterprises(actor, PeriodKind.QUARTER, ON, False, 50, None)
    done = await my_assigned_enterprises(actor, PeriodKind.QUARTER, ON, True, 50, None)
    assert todo.edges and done.edges
    assert len(todo.edges) + len(done.edges) == len(demo_dataset().leader_enterprises)
    assert all(e.node.visits_in_period > 0 for e in done.edges)
    assert all(e.node.period_start == QUARTER_START for e in todo.edges)
    # On the to-do list: one visited with a doubtful check-in, one held by video, two planned.
    waiting = {e.node.enterprise.pk for e in todo.edges}
    in_quarter = await Visit.filter(
        enterprise_id__in=waiting, lead_id=leader.id, at__gte=clock.shanghai(2026, 10, 1, 0)
    )
    assert {v.status for v in in_quarter} == set(VisitStatus)
    assert any(v.location_trust is LocationTrust.DOUBTFUL for v in in_quarter)
    assert any(v.mode is VisitMode.VIDEO for v in in_quarter)

    county = await Region.get(level=RegionLevel.COUNTY)
    coverage = await visit_coverage(actor, PeriodKind.QUARTER, ON, county.id)
    mine = next(c for c in coverage.by_leader if c.leader.pk == leader.id)
    assert mine.assigned == len(todo.edges) + len(done.edges)
    assert mine.visited == len(done.edges)
    rate = mine.rate()
    assert rate is not None and 0 < rate < 1


async def test_loading_twice_creates_no_visits(loaded: DemoSummary) -> None:
    async def counts() -> tuple[int, ...]:
        return (
            await Visit.all().count(),
            await VisitParticipant.all().count(),
            await Demand.all().count(),
            await DemandEvent.all().count(),
            await MutationReceipt.all().count(),
        )

    before = await counts()
    again = await load_demo()
    assert await counts() == before
    assert (again.visits_created, again.visits_present) == (0, loaded.visits_created)
    assert again.created_total == 0


def test_the_visit_plan_is_deterministic():
    first = _plans()
    demo_visit_plans.cache_clear()
    assert _plans() == first
    ids = [p.client_id() for p in first]
    assert len(set(ids)) == len(ids) and all(uuid.UUID(i).version == 5 for i in ids)
    assert all(step.at <= END for p in first for step in p.steps)
    assert [p.n for p in first] == list(range(1, len(first) + 1))


# The tests below empty the database: keep them after the ones reading `loaded`.


async def test_visits_follow_the_demands_flag_unless_asked(db):
    summary = await load_demo(demands=False)
    assert (summary.visits_created, await Visit.all().count()) == (0, 0)
    summary = await load_demo(demands=False, visits=True)
    assert summary.visits_created == await Visit.all().count() == len(_plans())
    assert summary.demands_created == 0
    assert await Demand.filter(visit_id=None).count() == 0


async def test_no_visits_are_made_in_a_real_users_name(db):
    await User.create(username="cadre", display_name="真实干部", password_hash="x")
    summary = await load_demo(demands=False, visits=True)
    assert (summary.visits_created, summary.visits_present) == (0, 0)
    assert await Visit.all().count() == 0
