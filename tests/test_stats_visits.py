"""The supervisor's visit figures on a small county where every number is known by hand.

The period is 2026-05-01..2026-08-31 with the default QUARTER cadence: it reaches into Q2 and
Q3, so an assignment active all period owes 2 visits. Visits are logged through the real
operations at chosen moments (acting_at); every figure below is counted in the comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from models.access import load_actor, system_actor
from models.errors import DomainError
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.ops import visits as ops
from models.ops.policy import set_region_policy
from models.ops.stats_demands import Rate
from models.ops.stats_scope import StatsFilter
from models.ops.stats_visits import VisitStats, visit_stats
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.rules.geo import LocationTrust, from_wgs84
from models.rules.periods import period_index, periods_touched
from models.rules.roles import CoordinateSystem
from models.rules.visit_states import PeriodKind, VisitStatus
from models.tables.enterprises import Enterprise
from models.tables.visits import Visit
from schema.relay import to_global_id
from tests.factories import PASSWORD, make_enterprise, make_user
from tests.sql_log import counting_sql
from tests.visit_world import FACTORY_GCJ, VisitWorld, build_visit_world, new_id, offset

PERIOD = (date(2026, 5, 1), date(2026, 8, 31))
BAKERY_GCJ = from_wgs84(30.2801, 120.1612, CoordinateSystem.GCJ02)
COUNTY_ENT_GCJ = (30.300000, 120.200000)
FAR_GCJ = (30.100000, 120.000000)
IDLE_GCJ = (30.120000, 120.020000)


@dataclass
class VisitStatsWorld:
    vw: VisitWorld
    county_ent: Enterprise  # at the county's own level (县本级)
    idle: Enterprise  # town B, assigned to the town B cadre, never visited by them
    cadre_a: Actor  # town A cadre, assigned the bakery
    visits: dict[str, int]


def _check_in(point: tuple[float, float]) -> ops.CheckInData:
    return ops.CheckInData(latitude=point[0], longitude=point[1], system="GCJ02", accuracy_m=15)


async def _log(
    actor: Actor,
    enterprise: Enterprise,
    at: datetime,
    *,
    point: tuple[float, float] | None,
    others: tuple[Actor, ...] = (),
    photos: int = 0,
    demands: int = 0,
    mode: str = "ON_SITE",
    vw: VisitWorld,
) -> int:
    with acting_at(at + timedelta(hours=1)):
        photo_ids = [await vw.photo(actor) for _ in range(photos)]
        visit = await ops.log_visit(
            actor,
            enterprise.id,
            ops.VisitPeople(participant_ids=[o.user_id for o in others]),
            ops.VisitReport(
                mode=mode,
                visited_at=at,
                notes="走访记录",
                check_in=_check_in(point) if point else None,
                photo_ids=photo_ids,
                demands=[
                    ops.RaisedDemand(title=f"诉求{i}", description="企业反映的问题")
                    for i in range(demands)
                ],
            ),
            client_id=new_id(),
        )
    return visit.id


async def build_visit_stats_world() -> VisitStatsWorld:
    vw = await build_visit_world()
    w, root = vw.base, system_actor()
    county_ent = await make_enterprise(
        w.county, "清河县城投集团有限公司", latitude=COUNTY_ENT_GCJ[0], longitude=COUNTY_ENT_GCJ[1]
    )
    idle = await make_enterprise(
        w.town_b, "清河县西山石材有限公司", latitude=IDLE_GCJ[0], longitude=IDLE_GCJ[1]
    )
    await ent_ops.update_enterprise(
        root, vw.far.id, ent_ops.EnterpriseData(latitude=FAR_GCJ[0], longitude=FAR_GCJ[1])
    )
    far = await Enterprise.get(id=vw.far.id)
    leader, tb = vw.leader.user_id, vw.town_b_cadre.user_id

    async def assign(ent: Enterprise, user: int, start: date, end: date | None = None) -> None:
        await ent_ops.assign_leader(
            root, enterprise_id=ent.id, leader_id=user, start_date=start, end_date=end
        )

    # Already: the leader has the factory, the bakery and the no-location one from 01-01, and
    # cadre_a the bakery from 01-01 (each owes Q2 and Q3: 2).
    await assign(far, leader, date(2026, 7, 15))  # Q3 only: 1
    await assign(county_ent, leader, date(2026, 1, 1))  # 2
    await assign(far, tb, date(2026, 1, 1), date(2026, 5, 20))  # Q2 only: 1
    await assign(idle, tb, date(2026, 6, 1))  # Q2 and Q3: 2
    # Not active in the period: ended before it, starting after it.
    await assign(vw.factory, vw.cadre1.user_id, date(2026, 1, 1), date(2026, 4, 30))
    await assign(vw.factory, vw.cadre2.user_id, date(2026, 9, 1))

    cadre_a = await load_actor(w.cadre_a.id)
    L, A, T = vw.leader, cadre_a, vw.town_b_cadre
    v: dict[str, int] = {}
    # V1 factory, the leader with cadre1, trusted, 2 photos, 1 demand (Q2).
    v["v1"] = await _log(
        L, vw.factory, shanghai(2026, 5, 10, 10), point=FACTORY_GCJ, others=(vw.cadre1,),
        photos=2, demands=1, vw=vw,
    )  # fmt: skip
    # V2 factory, the leader, trusted (Q3).
    v["v2"] = await _log(L, vw.factory, shanghai(2026, 8, 5, 10), point=FACTORY_GCJ, vw=vw)
    # V3 bakery, cadre_a leads with the leader, checked in 2 km away: DOUBTFUL, 1 photo (Q2).
    v["v3"] = await _log(
        A, vw.bakery, shanghai(2026, 6, 1, 10), point=offset(*BAKERY_GCJ, 2000), others=(L,),
        photos=1, vw=vw,
    )  # fmt: skip
    # V4 bakery, cadre_a, trusted, 1 demand (Q3).
    v["v4"] = await _log(
        A, vw.bakery, shanghai(2026, 7, 20, 10), point=BAKERY_GCJ, demands=1, vw=vw
    )
    # V5 the enterprise without a position: UNVERIFIED; 2 demands (Q2).
    v["v5"] = await _log(
        L, vw.no_location, shanghai(2026, 6, 15, 10), point=FACTORY_GCJ, demands=2, vw=vw
    )
    # V6 far (town B), the leader, trusted, 1 photo (Q3).
    v["v6"] = await _log(L, far, shanghai(2026, 8, 20, 10), point=FAR_GCJ, photos=1, vw=vw)
    # V7 the county's own enterprise at 07:30 on 05-01 in Shanghai (04-30 in UTC): in the
    # period; V8 the next day: a second visit in the same quarter. Both trusted.
    v["v7"] = await _log(L, county_ent, shanghai(2026, 5, 1, 7, 30), point=COUNTY_ENT_GCJ, vw=vw)
    v["v8"] = await _log(L, county_ent, shanghai(2026, 5, 2, 10), point=COUNTY_ENT_GCJ, vw=vw)
    # V12 idle, its cadre by phone: UNVERIFIED (Q3).
    v["v12"] = await _log(T, idle, shanghai(2026, 7, 1, 10), point=None, mode="PHONE", vw=vw)
    # V13 idle, trusted, by the leader, who is not assigned to it: no coverage.
    v["v13"] = await _log(L, idle, shanghai(2026, 7, 2, 10), point=IDLE_GCJ, vw=vw)
    # Outside the period: 04-28 and 07:30 on 09-01 in Shanghai (08-31 in UTC), with a demand.
    v["v10"] = await _log(
        L, vw.factory, shanghai(2026, 4, 28, 10), point=FACTORY_GCJ, demands=1, vw=vw
    )
    v["v11"] = await _log(
        L, vw.factory, shanghai(2026, 9, 1, 7, 30), point=FACTORY_GCJ, demands=1, vw=vw
    )
    # Planned in the period but never logged; planned and cancelled.
    with acting_at(shanghai(2026, 5, 2, 9)):
        people = ops.VisitPeople()
        planned = await ops.plan_visit(
            L, vw.factory.id, people, shanghai(2026, 6, 20, 10), client_id=new_id()
        )
        cancelled = await ops.plan_visit(
            L, vw.bakery.id, people, shanghai(2026, 6, 21, 10), client_id=new_id()
        )
        await ops.cancel_visit(L, cancelled.id, "企业停产检修")
    v["planned"], v["cancelled"] = planned.id, cancelled.id
    return VisitStatsWorld(vw=vw, county_ent=county_ent, idle=idle, cadre_a=cadre_a, visits=v)


async def stats(actor: Actor, **kw: object) -> VisitStats:
    return await visit_stats(actor, StatsFilter(*PERIOD, **kw))  # type: ignore[arg-type]


def _leaders(s: VisitStats) -> list[tuple[str, Rate, int, int, Rate]]:
    return [(x.name, x.coverage, x.expected_visits, x.visits, x.cadence_kept) for x in s.by_leader]


def _regions(s: VisitStats) -> list[tuple[str, Rate]]:
    return [(x.name, x.coverage) for x in s.by_region]


def test_cadence_periods() -> None:
    Q, M, H, Y = PeriodKind.QUARTER, PeriodKind.MONTH, PeriodKind.HALF_YEAR, PeriodKind.YEAR
    assert periods_touched(Q, *PERIOD) == 2
    assert periods_touched(M, *PERIOD) == 4
    assert periods_touched(H, *PERIOD) == 2
    assert periods_touched(Y, *PERIOD) == 1
    assert periods_touched(Q, date(2026, 1, 15), date(2026, 4, 15)) == 2
    assert periods_touched(Q, date(2025, 12, 31), date(2026, 1, 1)) == 2  # across the year
    assert periods_touched(Y, date(2026, 1, 1), date(2026, 1, 1)) == 1
    assert periods_touched(M, date(2026, 2, 1), date(2026, 1, 31)) == 0
    assert period_index(Q, date(2026, 12, 31)) + 1 == period_index(Q, date(2027, 1, 1))


async def test_every_visit_figure_of_the_county(db, storage):
    sw = await build_visit_stats_world()
    vw = sw.vw
    trust = dict(
        await Visit.filter(id__in=list(sw.visits.values())).values_list("id", "location_trust")
    )
    v = sw.visits
    assert trust[v["v3"]] == LocationTrust.DOUBTFUL
    assert trust[v["v5"]] == trust[v["v12"]] == LocationTrust.UNVERIFIED
    assert {trust[v[k]] for k in ("v1", "v2", "v4", "v6", "v7", "v8", "v13")} == {
        LocationTrust.TRUSTED
    }
    assert (await Visit.get(id=v["planned"])).status is VisitStatus.PLANNED

    with counting_sql() as statements:
        s = await stats(vw.supervisor)
    # The scope (its region and the ids below it), the policy and the two figure statements
    # (on PostgreSQL each with its settings): as many for an empty period, never one per
    # visit, leader or region.
    with counting_sql() as none:
        await visit_stats(vw.supervisor, StatsFilter(date(2025, 1, 1), date(2025, 1, 31)))
    assert len(statements) == len(none) <= 8, statements
    assert (s.start, s.end, s.cadence, s.cadence_periods) == (*PERIOD, PeriodKind.QUARTER, 2)

    # Enterprises with an assignment active in the period: factory, bakery, no-location (town
    # A), far, idle (town B), the county's own. Visited by an assigned leader with a trusted
    # check-in: factory (V1), bakery (V4 by cadre_a), far (V6), county's own (V7). Not: the
    # no-location one (V5 unverified) and idle (V12 by phone; V13's leader is not assigned).
    assert s.coverage == Rate(4, 6) and s.coverage.ratio == 0.6667

    # Per leader, lowest coverage first:
    # - town B cadre: far (Q2 only: 1, no visit), idle (06-01..: 2, V12 by phone) → 0/2,
    #   expected 3, visits 1 (V12), kept 0.
    # - leader: factory (2: V1 Q2, V2 Q3 → kept 2), bakery (2: V3 doubtful → 0), no-location
    #   (2: V5 → 0), far (07-15..: Q3 only, 1: V6 → 1), county's own (2: V7, V8 both Q2 → 1)
    #   → 3/5, expected 9, visits 2 + 1 + 1 + 1 + 2 = 7, kept 4. V13 (not assigned) is not his.
    # - cadre_a: bakery (2: V3 doubtful Q2, V4 trusted Q3) → 1/1, expected 2, visits 2, kept 1.
    assert _leaders(s) == [
        ("town_b_cadre", Rate(0, 2), 3, 1, Rate(0, 3)),
        ("leader", Rate(3, 5), 9, 7, Rate(4, 9)),
        ("cadre_a", Rate(1, 1), 2, 2, Rate(1, 2)),
    ]
    assert [x.leader_id for x in s.by_leader] == [
        vw.town_b_cadre.user_id,
        vw.leader.user_id,
        sw.cadre_a.user_id,
    ]
    assert (s.expected_visits, s.visits, s.cadence_kept) == (14, 10, Rate(5, 14))

    # By region: the county's towns, and the county itself for its own enterprise.
    assert _regions(s) == [
        ("西山镇", Rate(1, 2)),
        ("城关镇", Rate(2, 3)),
        ("清河县", Rate(1, 1)),
    ]
    assert [x.region_id for x in s.by_region] == [
        vw.base.town_b.id,
        vw.base.town_a.id,
        vw.base.county.id,
    ]

    # Completed visits of the period by anyone: V1..V8, V12, V13 (not V10, V11, the planned
    # and the cancelled one). Trusted: V1, V2, V4, V6, V7, V8, V13. Photos: V1, V3, V6.
    # Demands raised: V1 1, V4 1, V5 2 (V10's and V11's are outside).
    assert s.completed == 10
    assert s.trusted_location == Rate(7, 10)
    assert s.with_photo == Rate(3, 10)
    assert s.demands_per_visit == Rate(4, 10) and s.demands_per_visit.ratio == 0.4

    # A system-wide administrator sees the same county, grouped under its only top region.
    root_admin = await load_actor((await make_user("root_admin", "ADMIN", None)).id)
    everything = await stats(root_admin)
    assert everything.coverage == s.coverage and _regions(everything) == _regions(s)
    assert _leaders(everything) == _leaders(s)

    # Town A: a region without children is its own only group; the town B assignments and
    # visits are out, the leader keeps his town A enterprises only.
    a = await stats(vw.supervisor, region_id=vw.base.town_a.id)
    assert a.coverage == Rate(2, 3) and _regions(a) == [("城关镇", Rate(2, 3))]
    assert _leaders(a) == [
        ("leader", Rate(1, 3), 6, 4, Rate(2, 6)),
        ("cadre_a", Rate(1, 1), 2, 2, Rate(1, 2)),
    ]
    assert (a.completed, a.trusted_location, a.with_photo) == (5, Rate(3, 5), Rate(2, 5))
    assert a.demands_per_visit == Rate(4, 5)
    # Demand filters do not apply to visits.
    dept = await stats(
        vw.supervisor, region_id=vw.base.town_a.id, department_id=999, category_id=999
    )
    assert dept == a

    # Town A's policy asks for a visit a month: May..August is 4 months. Leader: 3 × 4 = 12
    # owed, kept May (V1) and August (V2) at the factory; cadre_a: 4 owed, kept July (V4).
    await set_region_policy(system_actor(), vw.base.town_a.id, {"visit_cadence": "MONTH"})
    m = await stats(vw.supervisor, region_id=vw.base.town_a.id)
    assert (m.cadence, m.cadence_periods) == (PeriodKind.MONTH, 4)
    assert _leaders(m) == [
        ("leader", Rate(1, 3), 12, 4, Rate(2, 12)),
        ("cadre_a", Rate(1, 1), 4, 2, Rate(1, 4)),
    ]
    assert (m.expected_visits, m.visits, m.cadence_kept) == (16, 6, Rate(3, 16))

    # A supervisor of both towns: two top regions, grouped per town; the county's own
    # enterprise and its visits are outside.
    both = await make_user("sup_ab", "SUPERVISOR", vw.base.town_a)
    await org_ops.grant_role(
        system_actor(), user_id=both.id, role="SUPERVISOR", region_id=vw.base.town_b.id
    )
    ab = await stats(await load_actor(both.id))
    assert _regions(ab) == [("西山镇", Rate(1, 2)), ("城关镇", Rate(2, 3))]
    assert ab.coverage == Rate(3, 5) and ab.completed == 8  # V7, V8 are the county's

    # A period without visits or assignments: zeros and null ratios.
    empty = await visit_stats(vw.supervisor, StatsFilter(date(2025, 1, 1), date(2025, 1, 31)))
    assert empty.coverage == Rate(0, 0) and empty.coverage.ratio is None
    assert empty.by_leader == [] and empty.by_region == []
    assert (empty.completed, empty.expected_visits, empty.with_photo) == (0, 0, Rate(0, 0))


async def test_scope_refusals(db, storage):
    vw = await build_visit_world()
    sup_b = await load_actor((await make_user("sup_b", "SUPERVISOR", vw.base.town_b)).id)
    with pytest.raises(DomainError) as err:
        await stats(sup_b, region_id=vw.base.town_a.id)
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    with pytest.raises(DomainError) as err:
        await stats(vw.leader)
    assert err.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as err:
        await visit_stats(vw.supervisor, StatsFilter(date(2026, 9, 30), date(2026, 9, 1)))
    assert err.value.code == "PERIOD_INVALID"


async def test_visit_stats_over_http(gql, storage):
    sw = await build_visit_stats_world()
    vw = sw.vw
    query = """query($f: StatsFilter!) { visitStats(filter: $f) {
        from to cadence cadencePeriods coverage { numerator denominator ratio }
        byLeader { name assigned visited coverage { ratio } expectedVisits visits
                   cadenceKept { numerator denominator } leader { id username } }
        byRegion { name assigned visited region { id name } }
        expectedVisits visits cadenceKept { numerator denominator ratio }
        completed trustedLocation { numerator denominator ratio }
        withPhoto { numerator denominator } demandsPerVisit { numerator denominator ratio } } }"""
    county = {"from": "2026-05-01", "to": "2026-08-31"}
    await gql.login("supervisor", PASSWORD)
    s = (await gql(query, {"f": county}))["visitStats"]
    assert (s["from"], s["to"], s["cadence"], s["cadencePeriods"]) == (
        "2026-05-01",
        "2026-08-31",
        "QUARTER",
        2,
    )
    assert s["coverage"] == {"numerator": 4, "denominator": 6, "ratio": 0.6667}
    assert s["byLeader"][1] == {
        "name": "leader",
        "assigned": 5,
        "visited": 3,
        "coverage": {"ratio": 0.6},
        "expectedVisits": 9,
        "visits": 7,
        "cadenceKept": {"numerator": 4, "denominator": 9},
        "leader": {"id": to_global_id("User", vw.leader.user_id), "username": "leader"},
    }
    # byLeader is paged (a province has thousands of leaders): leaderCount says how many.
    paging = """query($f: StatsFilter!, $n: Int!, $o: Int!) { visitStats(filter: $f) {
        leaderCount byLeader(first: $n, offset: $o) { name } } }"""
    page = (await gql(paging, {"f": county, "n": 1, "o": 1}))["visitStats"]
    assert page == {"leaderCount": len(s["byLeader"]), "byLeader": [{"name": "leader"}]}
    assert len(s["byLeader"]) >= 3
    for n, o, code in ((101, 0, "INVALID_PAGE_SIZE"), (10, -1, "INVALID_OFFSET")):
        resp = await gql.post(paging, {"f": county, "n": n, "o": o})
        assert resp.json()["errors"][0]["extensions"]["code"] == code
    assert [(r["name"], r["assigned"], r["visited"]) for r in s["byRegion"]] == [
        ("西山镇", 2, 1),
        ("城关镇", 3, 2),
        ("清河县", 1, 1),
    ]
    assert s["byRegion"][0]["region"] == {
        "id": to_global_id("Region", vw.base.town_b.id),
        "name": "西山镇",
    }
    assert (s["expectedVisits"], s["visits"], s["completed"]) == (14, 10, 10)
    assert s["cadenceKept"] == {"numerator": 5, "denominator": 14, "ratio": 0.3571}
    assert s["trustedLocation"] == {"numerator": 7, "denominator": 10, "ratio": 0.7}
    assert s["withPhoto"] == {"numerator": 3, "denominator": 10}
    assert s["demandsPerVisit"] == {"numerator": 4, "denominator": 10, "ratio": 0.4}

    # A supervisor of another region is refused, in the reader's language.
    town_a = to_global_id("Region", vw.base.town_a.id)
    await make_user("sup_b", "SUPERVISOR", vw.base.town_b)
    await gql.login("sup_b", PASSWORD)
    gql.language = "en"
    resp = await gql.post(query, {"f": {**county, "regionId": town_a}})
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "REGION_OUT_OF_SCOPE"
    assert err["message"] == "That region is outside your scope"
    # A cadre has no statistics rights.
    await gql.login("leader", PASSWORD)
    resp = await gql.post(query, {"f": county})
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
