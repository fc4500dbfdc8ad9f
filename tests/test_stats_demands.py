"""The supervisor's demand figures on a small county where every number is known by hand.

The demands are driven through the real operations on chosen days (acting_at) in September
2026 and the figures are taken on Tuesday 2026-10-20 10:00. The 2026 calendar (national):
Friday 09-25 is the Mid-Autumn holiday, Sunday 09-20 a make-up workday, 10-01..10-07 the
National Day holiday and Saturday 10-10 a make-up workday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from models.access import Actor, load_actor, system_actor
from models.calendar import RegionCalendarScope, WorkDayIndex
from models.demands import Demand
from models.errors import DomainError
from models.ops import demands as ops
from models.ops import org as org_ops
from models.ops.calendar import set_region_calendar_days
from models.ops.policy import set_region_policy
from models.ops.stats_demands import DemandStats, Rate, demand_stats
from models.ops.stats_scope import StatsFilter
from models.ops.work_day_index import ensure_work_day_index
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import DemandState
from models.rules.workdays import national_calendar
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import PASSWORD, make_user

S = DemandState
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
