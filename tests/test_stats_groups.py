"""Rankings and trends of the supervisor's demand figures on the small county of
tests/stats_world.py, every number worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from models.access import load_actor, system_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops.policy import set_region_policy
from models.ops.stats_demands import Rate, demand_stats
from models.ops.stats_rankings import RankedGroup, department_ranking, region_ranking
from models.ops.stats_scope import StatsFilter
from models.ops.stats_trend import TrendInterval, demand_trend
from models.rules.clock import acting_at, shanghai
from tests.factories import PASSWORD, make_user
from tests.stats_world import SEPTEMBER, STATS_DAY, StatsWorld, build_stats_world
from tests.test_exports import get, read_csv, read_xlsx, token


async def _with_town_b_dispatch() -> StatsWorld:
    """The stats world plus E1: town B, submitted and dispatched Tue 09-01 to the market
    bureau with 3 days (due 09-04), claimed the same day (responded), never replied: late."""
    sw = await build_stats_world()
    w = sw.w
    with acting_at(shanghai(2026, 9, 1, 9)):
        d = await ops.submit_demand(
            w.outsider,
            ops.DemandData(
                enterprise_id=w.base.ent_b1.id,
                title="E1",
                description="厂房消防验收",
                category_id=w.category.id,
            ),
        )
        await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.other_bureau.id, limit_days=3)
    with acting_at(shanghai(2026, 9, 1, 11)):
        await ops.claim_demand(w.other_handler, d.id)
    sw.ids["e1"] = d.id
    return sw


def _summary(groups: list[RankedGroup]) -> list[tuple[object, ...]]:
    return [(g.rank, g.name, g.score, g.figures.submitted) for g in groups]


async def test_departments_and_towns_ranked_by_the_policy_weights(db):
    sw = await _with_town_b_dispatch()
    w = sw.w
    with acting_at(STATS_DAY):
        depts = await department_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
        towns = await region_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
    # The bureau has town A's nine dispatched demands (D1..D7, D10, D11): on time 3/5 (0.6),
    # satisfied 4/5 (0.8), responded 7/9 (0.7778), closed 4/9 (0.4444). Default weights 0.4,
    # 0.3, 0.15, 0.15: 100 × (0.24 + 0.24 + 0.11667 + 0.06666) = 66.33.
    # The market bureau has E1: on time 0/1, nothing rated (left out), responded 1/1, closed
    # 0/1: 100 × (0 + 0.15 + 0) ÷ 0.7 = 21.43. TB and the rejected, withdrawn ones were never
    # dispatched: no department.
    bureau, market = depts
    assert _summary(depts) == [
        (1, w.bureau.name, 66.33, 9),
        (2, w.other_bureau.name, 21.43, 1),
    ]
    assert bureau.kind == "Department" and bureau.id == w.bureau.id
    assert (bureau.figures.on_time, bureau.figures.closure) == (Rate(3, 5), Rate(4, 9))
    assert bureau.figures.handling.median_working_days == 4.0
    assert market.figures.satisfaction == Rate(0, 0) and market.figures.on_time == Rate(0, 1)
    # Towns of the county: town A its eleven (closure 4/9 as the bureau's, the rejected and
    # withdrawn ones left out), town B TB (not dispatched) and E1: on time 0/1, responded 1/1,
    # closed 0/2 → 21.43.
    assert _summary(towns) == [
        (1, w.base.town_a.name, 66.33, 11),
        (2, w.base.town_b.name, 21.43, 2),
    ]
    assert towns[1].figures.closure == Rate(0, 2)

    # The county's weights decide: response only → town B (1/1) before town A (7/9).
    await set_region_policy(system_actor(), w.base.county.id, {"ranking_weights": {"response": 1}})
    with acting_at(STATS_DAY):
        towns = await region_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
    assert _summary(towns) == [
        (1, w.base.town_b.name, 100.0, 2),
        (2, w.base.town_a.name, 77.78, 11),
    ]
    # Satisfaction only: town B has nothing rated, so no score and no rank, listed last; equal
    # scores share a rank.
    await set_region_policy(
        system_actor(), w.base.county.id, {"ranking_weights": {"satisfaction": 1}}
    )
    with acting_at(STATS_DAY):
        towns = await region_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
    assert _summary(towns) == [
        (1, w.base.town_a.name, 80.0, 11),
        (None, w.base.town_b.name, None, 2),
    ]


async def test_a_town_supervisor_ranks_their_town_alone_and_no_other(db):
    sw = await _with_town_b_dispatch()
    w = sw.w
    sup_b = await make_user("sup_b", "SUPERVISOR", w.base.town_b)
    actor = await load_actor(sup_b.id)
    with acting_at(STATS_DAY):
        towns = await region_ranking(actor, StatsFilter(*SEPTEMBER))
        depts = await department_ranking(actor, StatsFilter(*SEPTEMBER))
        with pytest.raises(DomainError) as err:
            await region_ranking(actor, StatsFilter(*SEPTEMBER, region_id=w.base.town_a.id))
    # Town B has no towns below it: it stands for its own demands.
    assert _summary(towns) == [(1, w.base.town_b.name, 21.43, 2)]
    assert _summary(depts) == [(1, w.other_bureau.name, 21.43, 1)]
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    with pytest.raises(DomainError) as err:
        await department_ranking(w.handler, StatsFilter(*SEPTEMBER))
    assert err.value.code == "FORBIDDEN"


async def test_weekly_and_monthly_trend_of_town_a(db):
    sw = await build_stats_world()
    w = sw.w
    town_a = w.base.town_a.id
    with acting_at(STATS_DAY):
        weeks = await demand_trend(
            w.supervisor, StatsFilter(*SEPTEMBER, region_id=town_a), TrendInterval.WEEK
        )
        months = await demand_trend(
            w.supervisor,
            StatsFilter(date(2026, 8, 15), date(2026, 10, 31), region_id=town_a),
            TrendInterval.MONTH,
        )
    # Weeks Monday to Sunday, the first and last cut to September. Submitted: D3, D4, D8, D9 |
    # D5 | D2, D6 | D10, D11 | D7, D1. Deadlines: D3 09-08 on time | D4 09-17 on time, D5 and
    # D6 late | D2 09-23 on time (D11 is suspended: undecided).
    assert [(s.start, s.end, s.submitted, s.on_time) for s in weeks] == [
        (date(2026, 9, 1), date(2026, 9, 6), 4, Rate(0, 0)),
        (date(2026, 9, 7), date(2026, 9, 13), 1, Rate(1, 1)),
        (date(2026, 9, 14), date(2026, 9, 20), 2, Rate(1, 3)),
        (date(2026, 9, 21), date(2026, 9, 27), 2, Rate(1, 1)),
        (date(2026, 9, 28), date(2026, 9, 30), 2, Rate(0, 0)),
    ]
    # Handling per week: D3 5 d 176 h, D4 9 d 313 h → median 7, p90 5 + 0.9 × 4 = 8.6;
    # hours median 244.5, p90 176 + 0.9 × 137 = 299.3. Then D5 (2), D2 (4), D10 (2), D1 (4).
    h = weeks[0].handling
    assert (h.count, h.median_working_days, h.p90_working_days) == (2, 7.0, 8.6)
    assert (h.median_hours, h.p90_hours, h.mean_hours) == (244.5, 299.3, 244.5)
    assert [s.handling.median_working_days for s in weeks] == [7.0, 2.0, 4.0, 2.0, 4.0]
    assert sum(s.submitted for s in weeks) == 11
    assert weeks[0].by_state[0][1] == 0 and dict(weeks[0].by_state)["REJECTED"] == 1

    # Months: nothing in August's second half; September's eleven; October D0. On time in
    # October: D1 (due 10-13, replied 10-12) and D10 (due 10-13, replied 09-24); D7 is due
    # today, undecided.
    assert [(s.start, s.end, s.submitted, s.on_time) for s in months] == [
        (date(2026, 8, 15), date(2026, 8, 31), 0, Rate(0, 0)),
        (date(2026, 9, 1), date(2026, 9, 30), 11, Rate(3, 5)),
        (date(2026, 10, 1), date(2026, 10, 31), 1, Rate(2, 2)),
    ]
    assert months[0].handling.median_working_days is None

    with acting_at(STATS_DAY), pytest.raises(DomainError) as err:
        await demand_trend(
            w.supervisor, StatsFilter(date(2025, 1, 1), date(2026, 2, 28)), TrendInterval.DAY
        )
    assert err.value.code == "TOO_MANY_BUCKETS"


async def test_rankings_and_trend_over_http(gql, storage):
    await _with_town_b_dispatch()
    await gql.login("supervisor", PASSWORD)
    f = {"from": "2026-09-01", "to": "2026-09-30"}
    data = await gql(
        """query($f: StatsFilter!) {
            departmentRanking(filter: $f) { rank name score figures { submitted
                onTime { numerator denominator ratio } } }
            regionRanking(filter: $f) { id rank name score }
            demandTrend(filter: $f, interval: MONTH) { from to submitted } }""",
        {"f": f},
    )
    assert data["departmentRanking"][0]["rank"] == 1
    assert data["departmentRanking"][0]["score"] == 66.33
    assert data["departmentRanking"][0]["figures"] == {
        "submitted": 9,
        "onTime": {"numerator": 3, "denominator": 5, "ratio": 0.6},
    }
    assert [(r["rank"], r["score"]) for r in data["regionRanking"]] == [(1, 66.33), (2, 21.43)]
    assert data["regionRanking"][0]["id"] != data["regionRanking"][1]["id"]
    assert data["demandTrend"] == [{"from": "2026-09-01", "to": "2026-09-30", "submitted": 13}]
    await gql.login("handler", PASSWORD)
    resp = await gql.post(
        "query($f: StatsFilter!) { regionRanking(filter: $f) { rank } }", {"f": f}
    )
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_department_ranking_export_csv_and_xlsx(gql, http):
    sw = await _with_town_b_dispatch()
    tok = await token(gql, "supervisor")
    params = {"from": "2026-09-01", "to": "2026-09-30"}
    sheet = read_xlsx(await get(http, "/exports/department-ranking.xlsx", tok, params))
    assert sheet[0] == [
        "排名", "部门", "综合得分", "受理诉求(件)", "当前超期(件)",
        "按时办结(件)", "应办结(件)", "按时办结率(%)",
        "满意(件)", "已评价(件)", "满意率(%)",
        "按时签收(件)", "已交办(件)", "响应率(%)",
        "已办结(件)", "已受理(件)", "办结率(%)",
        "办理时长中位数(工作日)", "平均办理时长(工作日)",
    ]  # fmt: skip
    # The same figures as departmentRanking (test above); overdue now counts on today's date,
    # after October 20: D5, D6, D7 and E1 are still with their departments past due.
    width = len(sheet[0])  # a row's empty cells at its end are not stored
    assert [r + [None] * (width - len(r)) for r in sheet[1:]] == [
        [1, sw.w.bureau.name, 66.33, 9, 3, 3, 5, 60.0, 4, 5, 80.0, 7, 9, 77.78, 4, 9, 44.44,
         4.0, 4.33],
        [2, sw.w.other_bureau.name, 21.43, 1, 1, 0, 1, 0.0, 0, 0, None, 1, 1, 100.0, 0, 1, 0.0,
         None, None],
    ]  # fmt: skip
    rows = read_csv(await get(http, "/exports/department-ranking.csv", tok, params, lang="en"))
    assert rows[0][:3] == ["Rank", "Department", "Score"]
    assert rows[1][:4] == ["1", sw.w.bureau.name, "66.33", "9"]
    # A handler may not export it.
    resp = await get(http, "/exports/department-ranking.csv", await token(gql, "handler"), params)
    assert resp.status_code == 403


async def test_a_rating_an_upheld_appeal_excluded_leaves_the_score_not_the_figures(db):
    """申诉 upheld: D5's very-dissatisfied rating stays on the record and in the satisfaction
    rate (4/5), but the ranking scores satisfaction without it (4/4)."""
    sw = await build_stats_world()
    w = sw.w
    with acting_at(shanghai(2026, 10, 12, 9)):
        await ops.appeal_rating(w.handler, sw.ids["d5"], reason="企业所提要求超出职能范围")
    with acting_at(shanghai(2026, 10, 13, 9)):
        await ops.decide_appeal(w.supervisor, sw.ids["d5"], uphold=True, note="经核实，申诉成立")
    await set_region_policy(
        system_actor(), w.base.county.id, {"ranking_weights": {"satisfaction": 1}}
    )
    with acting_at(STATS_DAY):
        towns = await region_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
        depts = await department_ranking(w.supervisor, StatsFilter(*SEPTEMBER))
        figures = await demand_stats(w.supervisor, StatsFilter(*SEPTEMBER))
    assert figures.satisfaction == Rate(4, 5)
    assert (towns[0].name, towns[0].score) == (w.base.town_a.name, 100.0)
    assert towns[0].figures.satisfaction == Rate(4, 5)
    assert (depts[0].name, depts[0].score) == (w.bureau.name, 100.0)
