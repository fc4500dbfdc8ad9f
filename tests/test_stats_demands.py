"""The supervisor's demand figures on a small county where every number is known by hand.

The demands are driven through the real operations on chosen days (acting_at) in September
2026 and the figures are taken on Tuesday 2026-10-20 10:00. The 2026 calendar (national):
Friday 09-25 is the Mid-Autumn holiday, Sunday 09-20 a make-up workday, 10-01..10-07 the
National Day holiday and Saturday 10-10 a make-up workday."""

from __future__ import annotations

from datetime import date

import pytest

from models.access import load_actor, system_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops import org as org_ops
from models.ops.calendar import set_region_calendar_days
from models.ops.policy import set_region_policy
from models.ops.stats_demands import DemandStats, Rate, demand_stats
from models.ops.stats_scope import StatsFilter
from models.ops.work_day_index import ensure_work_day_index
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import DemandState
from models.rules.workdays import national_calendar
from models.tables.calendar import RegionCalendarScope, WorkDayIndex
from models.tables.demands import Demand
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD, make_user
from tests.stats_world import SEPTEMBER, STATS_DAY, StatsWorld, build_stats_world

S = DemandState


async def stats(actor: Actor, **kw: object) -> DemandStats:
    with acting_at(STATS_DAY):
        return await demand_stats(actor, StatsFilter(*SEPTEMBER, **kw))  # type: ignore[arg-type]


def test_the_calendar_the_expectations_rely_on() -> None:
    cal = national_calendar()
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_workday(date(2026, 10, 10))  # Saturday make-up day
    assert cal.is_workday(date(2026, 9, 20)) and not cal.is_workday(date(2026, 9, 25))
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


async def test_every_figure_of_town_a_in_september(db):
    sw = await build_stats_world()
    d = {k: await Demand.get(id=v) for k, v in sw.ids.items()}
    # The operations put the dates where the comments say.
    assert d["d1"].effective_deadline == date(2026, 10, 13)
    assert (d["d2"].suspended_days, d["d2"].suspended_seconds) == (3, 3 * 86400)
    assert d["d2"].effective_deadline == date(2026, 9, 23)
    assert d["d3"].effective_deadline == date(2026, 9, 8) and d["d3"].extension_count == 1
    assert d["d4"].rectification_deadline == date(2026, 9, 17)
    assert d["d5"].effective_deadline == date(2026, 9, 17) and d["d5"].state is S.IN_PROGRESS
    assert d["d7"].warning_date == date(2026, 10, 19)
    assert d["d10"].effective_deadline == date(2026, 10, 13) and d["d10"].return_count == 1

    s = await stats(sw.w.supervisor, region_id=sw.w.base.town_a.id)
    assert s.today == date(2026, 10, 20)
    assert s.submitted == 11  # D1..D11
    assert dict(s.by_state) == {
        S.SUBMITTED: 0,
        S.DISPATCHED: 1,  # D7
        S.IN_PROGRESS: 2,  # D5, D6
        S.PENDING_APPROVAL: 0,
        S.PENDING_REVIEW: 0,
        S.PENDING_VISIT: 1,  # D10
        S.CLOSED: 4,  # D1..D4
        S.REJECTED: 1,
        S.WITHDRAWN: 1,
        S.MERGED: 0,
        S.SUSPENDED: 1,  # D11
    }
    assert [st for st, _ in s.by_state] == [st for st in S if st is not S.DRAFT]
    assert s.open_now == 5  # D5, D6, D7, D10, D11
    assert s.overdue_now == 2  # D5 (due 09-17), D6 (due 09-18); D11 is suspended
    assert s.warning_now == 1  # D7: warning from 10-19, due 10-20

    # Response: claimed ones D1 (1 d, 192 h), D2 (0, 5), D3 (1, 24), D4 (2, 96), D5 (0, 1),
    # D6 (0, 1), D10 (0, 1), D11 (0, 0.5): 4/8 = 0.5 days, 320.5/8 = 40.0625 h.
    assert s.response_limit_days == 1
    assert (s.response.count, s.response.mean_working_days) == (8, 0.5)
    assert s.response.mean_hours == 40.06
    # Within 1 working day: all claimed but D4, over the 9 dispatched (D7 not claimed yet).
    assert s.response_rate == Rate(7, 9) and s.response_rate.ratio == 0.7778

    # Handling: D1 (4 d, 294 h), D2 (4, 120), D3 (5, 176), D4 (9, 313), D5 (2, 48, its first
    # reply), D10 (2, 48). Days sorted 2 2 4 4 5 9: mean 26/6, median 4, p90 at position
    # 1 + 0.9 * 5 = 5.5 → 5 + 0.5 * (9 - 5) = 7. Hours sorted 48 48 120 176 294 313: mean
    # 999/6 = 166.5, median (120 + 176)/2 = 148, p90 294 + 0.5 * 19 = 303.5.
    h = s.handling
    assert h.count == 6
    assert (h.mean_working_days, h.median_working_days, h.p90_working_days) == (4.33, 4.0, 7.0)
    assert (h.mean_hours, h.median_hours, h.p90_hours) == (166.5, 148.0, 303.5)

    # On time, cohort by effective deadline in September: D2 (09-23, replied 09-22), D3
    # (09-08, replied 09-08), D4 (rectification 09-17, replied again 09-16) on time; D5 (09-17,
    # in progress again) and D6 (09-18, open) late. D11 is suspended; D1, D7, D10 are due in
    # October.
    assert s.on_time == Rate(3, 5) and s.on_time.ratio == 0.6
    assert s.closure == Rate(4, 9)  # closed D1..D4 ÷ 11 - rejected - withdrawn
    # Replied: D1..D5, D10. Visited or rated: D1..D5 (D10 waits for its return visit).
    assert s.return_visit == Rate(5, 6)
    assert s.satisfaction == Rate(4, 5) and s.satisfaction.ratio == 0.8  # D5 is bad
    assert s.rated_share == Rate(5, 6)
    assert s.bad_rating == Rate(1, 5)
    # Rectifications: D4 done 09-16 ≤ 09-17; D5 past 09-17 and not done.
    assert s.rectification_on_time == Rate(1, 2)
    assert s.reopen == Rate(2, 6)  # D4, D5
    # Ever dispatched: D1..D7, D10, D11. Returned: D10. Extended: D3.
    assert s.return_ == Rate(1, 9) and s.return_.ratio == 0.1111
    assert s.extension == Rate(1, 9)
    assert s.escalated == 2
    assert s.escalations_by_level == [(1, 1), (2, 1), (3, 0)]

    # The county's supervisor without a region: town B's September demand comes in too.
    county = await stats(sw.w.supervisor)
    assert county.submitted == 12 and dict(county.by_state)[S.SUBMITTED] == 1
    assert county.closure == Rate(4, 10)
    # Filters: another department has none; by source, every one came from the app.
    other = await stats(sw.w.supervisor, department_id=sw.w.other_bureau.id)
    assert other.submitted == 0 and other.on_time == Rate(0, 0) and other.on_time.ratio is None
    assert other.handling.median_working_days is None
    # A period without a single demand: every figure zero or null.
    with acting_at(STATS_DAY):
        empty = await demand_stats(
            sw.w.supervisor, StatsFilter(date(2025, 1, 1), date(2025, 1, 31))
        )
    assert empty.submitted == 0 and empty.response.mean_hours is None

    # The response limit is the region's policy: 2 days lets D4 (2 working days) count.
    await set_region_policy(system_actor(), sw.w.base.town_a.id, {"response_limit_days": 2})
    s2 = await stats(sw.w.supervisor, region_id=sw.w.base.town_a.id)
    assert s2.response_limit_days == 2 and s2.response_rate == Rate(8, 9)


async def test_scope_refusals(db):
    w = await build_demand_world()
    sup_a = await load_actor((await make_user("sup_a", "SUPERVISOR", w.base.town_a)).id)
    with pytest.raises(DomainError) as err:
        await demand_stats(sup_a, StatsFilter(*SEPTEMBER, region_id=w.base.town_b.id))
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    with pytest.raises(DomainError) as err:
        await demand_stats(w.handler, StatsFilter(*SEPTEMBER))
    assert err.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as err:
        await demand_stats(sup_a, StatsFilter(date(2026, 9, 30), date(2026, 9, 1)))
    assert err.value.code == "PERIOD_INVALID"
    # Town A's supervisor sees town A only: a town B demand is not counted.
    with acting_at(shanghai(2026, 9, 10, 9)):
        await ops.submit_demand(
            w.outsider,
            ops.DemandData(enterprise_id=w.base.ent_b1.id, title="TB", description="仓库消防验收"),
        )
        await w.submit()
    assert (await demand_stats(sup_a, StatsFilter(*SEPTEMBER))).submitted == 1
    assert (await demand_stats(w.supervisor, StatsFilter(*SEPTEMBER))).submitted == 2


async def test_a_region_calendar_gets_its_own_scope(db):
    w = await build_demand_world()
    admin = await load_actor(w.base.admin.id)
    await ensure_work_day_index()
    assert (
        await WorkDayIndex.filter(scope_id=0).count()
        == (date(2035, 12, 31) - date(2015, 1, 1)).days + 1
    )
    # The county keeps Monday 2026-09-21 as a local holiday: the county and its towns count
    # with the county's scope, rebuilt as the admin saves it; a town created later inherits it.
    await set_region_calendar_days(admin, w.base.county.id, [(date(2026, 9, 21), False, "县庆")])
    scopes = dict(await RegionCalendarScope.all().values_list("region_id", "scope_id"))
    county = w.base.county.id
    assert scopes == {county: county, w.base.town_a.id: county, w.base.town_b.id: county}
    town_c = await org_ops.create_region(
        system_actor(), name="东湖镇", level="TOWN", parent_id=county, code="330599102"
    )
    assert (await RegionCalendarScope.get(region_id=town_c.id)).scope_id == county
    # Dispatched Fri 09-18, claimed Tue 09-22: 20 (make-up Sunday), 22 → 2 working days in
    # the county, where the national calendar would count 3 (20, 21, 22).
    with acting_at(shanghai(2026, 9, 18, 9)):
        d = await w.dispatched(limit_days=5)
    with acting_at(shanghai(2026, 9, 22, 9)):
        await ops.claim_demand(w.handler, d.id)
    s = await stats(w.supervisor)
    assert s.response.mean_working_days == 2.0 and s.response.mean_hours == 96.0
    assert s.response_rate == Rate(0, 1)
    # The county then does not keep the make-up Sunday 09-20 either: the demand's stored
    # times are recomputed with the index, 22 alone is a working day now.
    await set_region_calendar_days(admin, w.base.county.id, [(date(2026, 9, 20), False, "")])
    assert (await Demand.get(id=d.id)).response_working_days == 1
    s = await stats(w.supervisor)
    assert s.response.mean_working_days == 1.0 and s.response_rate == Rate(1, 1)


async def test_demand_stats_over_http(gql, storage):
    sw = await build_stats_world()
    query = """query($f: StatsFilter!) { demandStats(filter: $f) {
        from to submitted byState { state count }
        handling { count meanWorkingDays medianWorkingDays p90WorkingDays medianHours p90Hours }
        satisfaction { numerator denominator ratio } closure { numerator denominator ratio }
        return { numerator denominator ratio } escalationsByLevel { level count } } }"""
    town_a = await _region_gid(gql, sw, "城关镇")
    await gql.login("supervisor", PASSWORD)
    data = await gql(query, {"f": {"from": "2026-09-01", "to": "2026-09-30", "regionId": town_a}})
    s = data["demandStats"]
    assert (s["from"], s["to"], s["submitted"]) == ("2026-09-01", "2026-09-30", 11)
    assert {"state": "CLOSED", "count": 4} in s["byState"]
    assert s["handling"] == {
        "count": 6,
        "meanWorkingDays": 4.33,
        "medianWorkingDays": 4.0,
        "p90WorkingDays": 7.0,
        "medianHours": 148.0,
        "p90Hours": 303.5,
    }
    assert s["satisfaction"] == {"numerator": 4, "denominator": 5, "ratio": 0.8}
    assert s["closure"] == {"numerator": 4, "denominator": 9, "ratio": 0.4444}
    assert s["return"] == {"numerator": 1, "denominator": 9, "ratio": 0.1111}
    assert s["escalationsByLevel"] == [
        {"level": 1, "count": 1},
        {"level": 2, "count": 1},
        {"level": 3, "count": 0},
    ]
    # Refusals are GraphQL errors with the stable code and a message in the reader's language.
    await make_user("sup_b", "SUPERVISOR", sw.w.base.town_b)
    await gql.login("sup_b", PASSWORD)
    gql.language = "en"
    resp = await gql.post(
        query, {"f": {"from": "2026-09-01", "to": "2026-09-30", "regionId": town_a}}
    )
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "REGION_OUT_OF_SCOPE"
    assert err["message"] == "That region is outside your scope"
    gql.language = None
    resp = await gql.post(query, {"f": {"from": "2026-09-30", "to": "2026-09-01"}})
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "PERIOD_INVALID"
    assert err["message"] == "统计期间无效：结束日期不能早于开始日期"
    await gql.login("handler", PASSWORD)
    resp = await gql.post(query, {"f": {"from": "2026-09-01", "to": "2026-09-30"}})
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _region_gid(gql, sw: StatsWorld, name: str) -> str:
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        "query($s: String) { regions(filter: {search: $s}) { edges { node { id } } } }", {"s": name}
    )
    return data["regions"]["edges"][0]["node"]["id"]
