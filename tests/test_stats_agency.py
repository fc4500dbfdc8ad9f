"""The supervisor's agency-request figures (帮办代办) on a small county where every number is
known by hand.

The requests are driven through the real operations on chosen days (acting_at) around
September 2026 and the figures are taken on Tuesday 2026-10-20 10:00 for September. The 2026
calendar (national): Sunday 09-20 is a make-up workday, Friday 09-25 the Mid-Autumn holiday,
10-01..10-07 the National Day holiday and Saturday 10-10 a make-up workday.

Service points: the park desk 园小二帮办服务站 (food licence, 5 promised working days), 西山镇
便民服务中心 in town B (road transport licence, 10 days), an idle 城关镇便民服务中心 in town A and
an inactive old desk in town A."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from models.access import load_actor, system_actor
from models.errors import DomainError
from models.ops import agency as ops
from models.ops import org as org_ops
from models.ops.stats_agency import AgencyFigures, AgencyHandling, AgencyStats, agency_stats
from models.ops.stats_demands import Rate
from models.ops.stats_scope import StatsFilter
from models.rules.actor import Actor
from models.rules.agency_states import AgencyState
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import DemandSource, RectificationState
from models.rules.workdays import national_calendar
from models.tables.agency import AgencyRequest
from models.tables.org import Department
from models.tables.service_points import Procedure, ServicePoint
from schema.relay import to_global_id
from tests.agency_world import AgencyWorld, build_agency_world, server_clock
from tests.factories import PASSWORD, make_user

S = AgencyState
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
STATS_DAY = shanghai(2026, 10, 20, 10)  # a Tuesday


@dataclass
class AgencyStatsWorld:
    w: AgencyWorld
    ids: dict[str, int]
    idle: ServicePoint  # 城关镇便民服务中心: no requests
    bureau: Department  # the food licence's responsible department


async def build_agency_stats_world() -> AgencyStatsWorld:
    w = await build_agency_world()
    root = system_actor()
    county = w.base.county.id
    bureau = await org_ops.create_department(root, name="县市场监督管理局", region_id=county)
    transport = await org_ops.create_department(root, name="县交通运输局", region_id=county)
    await Procedure.filter(id=w.food_licence.id).update(department_id=bureau.id)
    await Procedure.filter(id=w.other_procedure.id).update(department_id=transport.id)
    # A second procedure of the desk without a responsible department.
    registration = await Procedure.create(
        service_point=w.desk, name="个体工商户登记", promised_days=3, materials=[]
    )
    idle = await ServicePoint.create(name="城关镇便民服务中心", region=w.base.town_a)
    await ServicePoint.create(name="城关镇旧服务站", region=w.base.town_a, is_active=False)
    agent, other_agent, contact = w.agent, w.other_agent, w.contact
    ids: dict[str, int] = {}

    async def submit(procedure_id: int = w.food_licence.id) -> int:
        r = await ops.submit_agency_request(
            contact, enterprise_id=w.base.ent_a1.id, procedure_id=procedure_id
        )
        return r.id

    async def complete(r_id: int, who: Actor = agent) -> None:
        await ops.complete_agency_request(who, r_id, result_text="已办结")

    # R8 submitted in August, done in September: accepted Mon 08-31 09:00 (due 09-07),
    # completed Thu 09-03 10:00: 3 working days (01, 02, 03), 73 h; on time; not rated.
    with acting_at(shanghai(2026, 8, 31, 9)):
        ids["r8"] = r = await submit()
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 3, 10)):
        await complete(r)

    # R1 paused by 补正 over a weekend: accepted Tue 09-01 10:00 (due 09-08); materials asked
    # Fri 09-04 10:00, handed over Mon 09-07 10:00: 1 paused working day (Mon), 72 h, so the
    # effective deadline is Wed 09-09. Handed to a colleague while paused (not a pause's end).
    # Completed 09-09 16:00: 6 working days (02, 03, 04, 07, 08, 09) - 1 = 5; 198 h - 72 h =
    # 126 h; on time. Rated satisfied.
    with acting_at(shanghai(2026, 9, 1, 9)):
        ids["r1"] = r = await submit()
    with acting_at(shanghai(2026, 9, 1, 10)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 4, 10)):
        await ops.request_materials(
            agent, r, materials=[ops.RequestedMaterial("经营场所平面布局图")], note="请补正"
        )
    with acting_at(shanghai(2026, 9, 5, 10)):
        await ops.assign_agent(agent, r, agent_id=w.users["agent2"].id)
    with acting_at(shanghai(2026, 9, 7, 10)):
        await ops.supply_materials(contact, r, note="已重新绘制")
    with acting_at(shanghai(2026, 9, 8, 9)):
        await ops.start_handling(w.agent2, r)
    with acting_at(shanghai(2026, 9, 9, 16)):
        await complete(r, w.agent2)
    with acting_at(shanghai(2026, 9, 10, 9)):
        await ops.rate_agency_request(contact, r, rating="SATISFIED")

    # R3 late: accepted Wed 09-02 09:00 (due 09-09), completed Fri 09-11 11:00: 7 working
    # days (03, 04, 07..11), 218 h. Rated basic (a satisfied level).
    with acting_at(shanghai(2026, 9, 2, 8, 30)):
        ids["r3"] = r = await submit()
    with acting_at(shanghai(2026, 9, 2, 9)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 3, 9)):
        await ops.start_handling(agent, r)
    with acting_at(shanghai(2026, 9, 11, 11)):
        await complete(r)
        await ops.rate_agency_request(contact, r, rating="BASIC")

    # R7 paused now: accepted Tue 09-08 (due 09-15), materials asked 09-10: undecided.
    with acting_at(shanghai(2026, 9, 8, 8)):
        ids["r7"] = r = await submit()
    with acting_at(shanghai(2026, 9, 8, 9)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 10, 10)):
        await ops.request_materials(
            agent, r, materials=[ops.RequestedMaterial("授权委托书")], note="委托书未盖章"
        )

    # R5 rejected the day it came.
    with acting_at(shanghai(2026, 9, 10, 9)):
        ids["r5"] = r = await submit()
    with acting_at(shanghai(2026, 9, 10, 10)):
        await ops.reject_agency_request(agent, r, reason="不属于本站帮办范围")

    # R4 still in handling past its deadline: accepted Mon 09-14 (due Sunday 09-20, a make-up
    # workday: 15, 16, 17, 18, 20): late.
    with acting_at(shanghai(2026, 9, 14, 8)):
        ids["r4"] = r = await submit()
    with acting_at(shanghai(2026, 9, 14, 9)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 15, 9)):
        await ops.start_handling(agent, r)

    # R6 accepted Tue 09-15 (due 09-21), cancelled by the enterprise 09-16: never completed.
    with acting_at(shanghai(2026, 9, 15, 9)):
        ids["r6"] = r = await submit()
    with acting_at(shanghai(2026, 9, 15, 10)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 16, 9)):
        await ops.cancel_agency_request(contact, r, reason="已自行办理")

    # R2 crosses the Mid-Autumn holiday: accepted Mon 09-21 09:00 with 5 days → 22, 23, 24,
    # (25 holiday), 28, 29: due Tue 09-29; completed 09-29 17:00: 5 working days (6 if the
    # holiday counted), 200 h; on time. Rated very dissatisfied 09-30 → rectification due
    # 10-13 (10-08, 10-09, Saturday 10-10, 10-12, 10-13), recorded 10-12: on time.
    with acting_at(shanghai(2026, 9, 21, 8)):
        ids["r2"] = r = await submit()
    with acting_at(shanghai(2026, 9, 21, 9)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 9, 29, 17)):
        await complete(r)
    with acting_at(shanghai(2026, 9, 30, 9)):
        await ops.rate_agency_request(contact, r, rating="VERY_DISSATISFIED", comment="跑了三趟")
    with acting_at(shanghai(2026, 10, 12, 10)):
        await ops.record_agency_rectification(agent, r, note="已上门致歉并说明流程")

    # R10 submitted and accepted Mon 09-28, completed in October across National Day (due
    # Saturday 10-10): in September's submitted cohort only.
    with acting_at(shanghai(2026, 9, 28, 8)):
        ids["r10"] = r = await submit()
    with acting_at(shanghai(2026, 9, 28, 9)):
        await ops.accept_agency_request(agent, r)
    with acting_at(shanghai(2026, 10, 9, 10)):
        await complete(r)

    # R9 waiting for acceptance, for a procedure without a responsible department.
    with acting_at(shanghai(2026, 9, 29, 9)):
        ids["r9"] = await submit(registration.id)

    # R11 at the town B desk: accepted Mon 09-07 09:00 with 10 days (due Sunday 09-20),
    # completed Fri 09-18 10:00: 9 working days (08..11, 14..18), 265 h; on time. Rated
    # dissatisfied → rectification due 09-24 (20, 21, 22, 23, 24), never recorded: late.
    with acting_at(shanghai(2026, 9, 7, 8)):
        ids["r11"] = r = await submit(w.other_procedure.id)
    with acting_at(shanghai(2026, 9, 7, 9)):
        await ops.accept_agency_request(other_agent, r)
    with acting_at(shanghai(2026, 9, 18, 10)):
        await complete(r, other_agent)
    with acting_at(shanghai(2026, 9, 18, 11)):
        await ops.rate_agency_request(contact, r, rating="DISSATISFIED")

    # Outside September: submitted and rejected in August; submitted in October.
    with acting_at(shanghai(2026, 8, 20, 9)):
        ids["august"] = r = await submit()
        await ops.reject_agency_request(agent, r, reason="材料不全")
    with acting_at(shanghai(2026, 10, 1, 0, 30)):
        ids["october"] = await submit()
    return AgencyStatsWorld(w=w, ids=ids, idle=idle, bureau=bureau)


async def stats(actor: Actor, **kw: object) -> AgencyStats:
    with acting_at(STATS_DAY):
        return await agency_stats(actor, StatsFilter(*SEPTEMBER, **kw))  # type: ignore[arg-type]


def zeros() -> AgencyFigures:
    return AgencyFigures(
        submitted=0,
        by_state=[(s, 0) for s in S],
        done=0,
        rejected=0,
        cancelled=0,
        on_time=Rate(0, 0),
        handling=AgencyHandling(0, None, None),
        satisfaction=Rate(0, 0),
        rated_share=Rate(0, 0),
        bad_rating=Rate(0, 0),
        rectification_on_time=Rate(0, 0),
    )


DESK = AgencyFigures(
    submitted=9,  # R1..R7, R9, R10 (R8 came in August)
    by_state=[
        (S.SUBMITTED, 1),  # R9
        (S.ACCEPTED, 0),
        (S.MATERIALS_REQUESTED, 1),  # R7
        (S.IN_HANDLING, 1),  # R4
        (S.COMPLETED, 4),  # R1, R2, R3, R10
        (S.REJECTED, 1),  # R5
        (S.CANCELLED, 1),  # R6
    ],
    done=4,  # R1, R2, R3, R8
    rejected=1,
    cancelled=1,
    # Deadlines in September: R8 (09-07), R1 (09-09), R2 (09-29) on time; R3 (09-09) late;
    # R4 (09-20, running) late; R7 (paused) and R6 (cancelled) left out.
    on_time=Rate(3, 5),
    # R1 (5 d, 126 h), R2 (5, 200), R3 (7, 218), R8 (3, 73): 20/4 days, 617/4 hours.
    handling=AgencyHandling(4, 5.0, 154.25),
    satisfaction=Rate(2, 3),  # R1 satisfied, R3 basic; R2 very dissatisfied
    rated_share=Rate(3, 4),  # R8 not rated
    bad_rating=Rate(1, 3),
    rectification_on_time=Rate(1, 1),  # R2, recorded 10-12, due 10-13
)
TOWN_B_DESK = AgencyFigures(
    submitted=1,
    by_state=[(s, 1 if s is S.COMPLETED else 0) for s in S],
    done=1,
    rejected=0,
    cancelled=0,
    on_time=Rate(1, 1),
    handling=AgencyHandling(1, 9.0, 265.0),
    satisfaction=Rate(0, 1),
    rated_share=Rate(1, 1),
    bad_rating=Rate(1, 1),
    rectification_on_time=Rate(0, 1),  # due 09-24, not recorded
)


def test_the_calendar_the_expectations_rely_on() -> None:
    cal = national_calendar()
    assert cal.is_workday(date(2026, 9, 20)) and not cal.is_workday(date(2026, 9, 25))
    assert not cal.is_workday(date(2026, 9, 26)) and not cal.is_workday(date(2026, 9, 27))
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_workday(date(2026, 10, 10))
    assert cal.working_days_between(date(2026, 9, 21), date(2026, 9, 29)) == 5


async def test_every_figure_per_service_point_and_in_total(db):
    sw = await build_agency_stats_world()
    w = sw.w
    r = {k: await AgencyRequest.get(id=v) for k, v in sw.ids.items()}
    # The operations put the dates where the comments say.
    assert (r["r1"].paused_days, r["r1"].effective_deadline) == (1, date(2026, 9, 9))
    assert r["r2"].effective_deadline == date(2026, 9, 29)
    assert r["r2"].rectification_state is RectificationState.DONE
    assert r["r2"].rectification_deadline == date(2026, 10, 13)
    assert r["r3"].effective_deadline == date(2026, 9, 9)
    assert r["r4"].effective_deadline == date(2026, 9, 20) and r["r4"].state is S.IN_HANDLING
    assert r["r6"].effective_deadline == date(2026, 9, 21) and r["r6"].state is S.CANCELLED
    assert r["r7"].effective_deadline == date(2026, 9, 15)
    assert r["r10"].effective_deadline == date(2026, 10, 10)
    assert r["r11"].effective_deadline == date(2026, 9, 20)
    assert r["r11"].rectification_deadline == date(2026, 9, 24)

    s = await stats(w.supervisor)
    assert (s.start, s.end, s.today) == (*SEPTEMBER, date(2026, 10, 20))
    # By done, then name: the idle point is listed with zeros, the inactive one is not.
    assert [(p.name, p.region_name) for p in s.points] == [
        ("园小二帮办服务站", "清河经济开发区"),
        ("西山镇便民服务中心", "西山镇"),
        ("城关镇便民服务中心", "城关镇"),
    ]
    desk, town_b, idle = s.points
    assert (desk.service_point_id, desk.region_id) == (w.desk.id, w.park.id)
    assert idle.service_point_id == sw.idle.id
    assert desk.figures == DESK
    assert desk.figures.satisfaction.ratio == 0.6667 and desk.figures.on_time.ratio == 0.6
    assert town_b.figures == TOWN_B_DESK
    assert idle.figures == zeros() and idle.figures.on_time.ratio is None

    # The total is over every request, its means too (not a mean of the points' means).
    assert s.total == AgencyFigures(
        submitted=10,
        by_state=[
            (S.SUBMITTED, 1),
            (S.ACCEPTED, 0),
            (S.MATERIALS_REQUESTED, 1),
            (S.IN_HANDLING, 1),
            (S.COMPLETED, 5),
            (S.REJECTED, 1),
            (S.CANCELLED, 1),
        ],
        done=5,
        rejected=1,
        cancelled=1,
        on_time=Rate(4, 6),
        handling=AgencyHandling(5, 5.8, 176.4),  # 29/5 days, 882/5 hours
        satisfaction=Rate(2, 4),
        rated_share=Rate(4, 5),
        bad_rating=Rate(2, 4),
        rectification_on_time=Rate(1, 2),
    )

    # Category and source concern demands only: ignored.
    ignored = await stats(w.supervisor, category_id=12345, source=DemandSource.APP)
    assert ignored.total == s.total


async def test_filters_and_scope(db):
    sw = await build_agency_stats_world()
    w = sw.w
    town_a, town_b = w.base.town_a, w.base.town_b

    # Region: the service point's region and the regions below it.
    s = await stats(w.supervisor, region_id=town_b.id)
    assert [p.name for p in s.points] == ["西山镇便民服务中心"]
    assert s.total == TOWN_B_DESK
    s = await stats(w.supervisor, region_id=town_a.id)
    assert [p.name for p in s.points] == ["园小二帮办服务站", "城关镇便民服务中心"]
    assert s.total == DESK
    s = await stats(w.supervisor, region_id=w.park.id)
    assert [p.name for p in s.points] == ["园小二帮办服务站"]

    # One service point.
    s = await stats(w.supervisor, service_point_id=w.other_desk.id)
    assert [p.name for p in s.points] == ["西山镇便民服务中心"] and s.total == TOWN_B_DESK

    # Department: the procedure's responsible department. R9's procedure has none; the other
    # points have nothing of the bureau's and tie at 0 done, ordered by name.
    s = await stats(w.supervisor, department_id=sw.bureau.id)
    assert [p.name for p in s.points] == [
        "园小二帮办服务站",
        "城关镇便民服务中心",
        "西山镇便民服务中心",
    ]
    assert s.points[0].figures.submitted == 8 and s.points[0].figures.by_state[0] == (
        S.SUBMITTED,
        0,
    )
    assert s.points[0].figures.done == 4 and s.points[0].figures.on_time == Rate(3, 5)
    assert s.points[2].figures == zeros()
    assert s.total.submitted == 8 and s.total.done == 4

    # A supervisor of town A sees town A's points only, and nothing of town B's.
    sup_a = await load_actor((await make_user("sup_a", "SUPERVISOR", town_a)).id)
    s = await stats(sup_a)
    assert [p.name for p in s.points] == ["园小二帮办服务站", "城关镇便民服务中心"]
    with pytest.raises(DomainError) as err:
        await stats(sup_a, region_id=town_b.id)
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    # The stats roles only: an agent of the desk may not.
    with pytest.raises(DomainError) as err:
        await stats(w.agent)
    assert err.value.code == "FORBIDDEN"

    # A period without a request: the active points with zeros.
    with acting_at(STATS_DAY):
        empty = await agency_stats(w.supervisor, StatsFilter(date(2025, 1, 1), date(2025, 1, 31)))
    assert [p.figures for p in empty.points] == [zeros()] * 3 and empty.total == zeros()


async def test_agency_stats_over_http(gql, storage):
    sw = await build_agency_stats_world()
    w = sw.w
    query = """query($f: StatsFilter!) { agencyStats(filter: $f) {
        from to today
        points { servicePointId name regionId regionName submitted done
                 onTime { numerator denominator ratio }
                 handling { count meanWorkingDays meanHours }
                 satisfaction { numerator denominator ratio } }
        total { submitted done rejected cancelled byState { state count }
                onTime { numerator denominator ratio }
                handling { count meanWorkingDays meanHours }
                satisfaction { numerator denominator ratio } ratedShare { numerator denominator }
                badRating { numerator denominator } rectificationOnTime { numerator denominator } }
    } }"""
    town_a = to_global_id("Region", w.base.town_a.id)
    variables = {"f": {"from": "2026-09-01", "to": "2026-09-30", "regionId": town_a}}
    with server_clock() as fixed:
        fixed.moment = STATS_DAY
        await gql.login("supervisor", PASSWORD)
        data = (await gql(query, variables))["agencyStats"]
        assert (data["from"], data["to"], data["today"]) == (
            "2026-09-01",
            "2026-09-30",
            "2026-10-20",
        )
        assert data["points"] == [
            {
                "servicePointId": to_global_id("ServicePoint", w.desk.id),
                "name": "园小二帮办服务站",
                "regionId": to_global_id("Region", w.park.id),
                "regionName": "清河经济开发区",
                "submitted": 9,
                "done": 4,
                "onTime": {"numerator": 3, "denominator": 5, "ratio": 0.6},
                "handling": {"count": 4, "meanWorkingDays": 5.0, "meanHours": 154.25},
                "satisfaction": {"numerator": 2, "denominator": 3, "ratio": 0.6667},
            },
            {
                "servicePointId": to_global_id("ServicePoint", sw.idle.id),
                "name": "城关镇便民服务中心",
                "regionId": town_a,
                "regionName": "城关镇",
                "submitted": 0,
                "done": 0,
                "onTime": {"numerator": 0, "denominator": 0, "ratio": None},
                "handling": {"count": 0, "meanWorkingDays": None, "meanHours": None},
                "satisfaction": {"numerator": 0, "denominator": 0, "ratio": None},
            },
        ]
        total = data["total"]
        assert (total["submitted"], total["done"], total["rejected"], total["cancelled"]) == (
            9,
            4,
            1,
            1,
        )
        assert {"state": "MATERIALS_REQUESTED", "count": 1} in total["byState"]
        assert total["rectificationOnTime"] == {"numerator": 1, "denominator": 1}
        assert total["ratedShare"] == {"numerator": 3, "denominator": 4}

        # A supervisor of another region: refused with the stable code, in the reader's
        # language; an agent (no stats rights): FORBIDDEN.
        await make_user("sup_b", "SUPERVISOR", w.base.town_b)
        await gql.login("sup_b", PASSWORD)
        gql.language = "en"
        err = (await gql.post(query, variables)).json()["errors"][0]
        assert err["extensions"]["code"] == "REGION_OUT_OF_SCOPE"
        assert err["message"] == "That region is outside your scope"
        gql.language = None
        await gql.login("agent_li", PASSWORD)
        err = (await gql.post(query, variables)).json()["errors"][0]
        assert err["extensions"]["code"] == "FORBIDDEN"
