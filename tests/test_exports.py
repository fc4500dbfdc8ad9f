"""The exports over HTTP: GET /exports/<list>.<csv|xlsx> on the real app, read back with the csv
module and openpyxl; headers, every row's values, scope and refusals.

The data set, September 2025 in 清河县 (the period asked for is 2025-09-01..2025-09-30):
- closed: dispatched 09-22 with 5 working days (due 09-28, the make-up Sunday), replied 09-24,
  rated 满意.
- late: dispatched Friday 09-26 with 5 working days (due 10-10 across National Day), extended
  3 (→ 10-14), suspended 10-09..10-13 (3 working days → 10-17), escalated, replied Tuesday 10-21:
  2 working days late (10-20, 10-21).
- bad rating: replied 09-24, rated 不满意 on 09-25 with a comment starting with "=", the
  rectification due 10-09 (09-26, the make-up 09-28, 09-29, 09-30, 10-09), replied 10-09 and
  signed off (待审核).
- open and overdue: dispatched 09-29 (due 10-13), claimed, never replied.
- rejected (not in the problem list), one in town B (西山镇), one submitted in August (in none).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from models.ops import demands as ops
from models.ops.work_calendar import load_calendar
from models.rules.clock import acting_at, shanghai, today
from models.tables.demands import Demand
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import PASSWORD, make_user

FROM_TO = {"from": "2025-09-01", "to": "2025-09-30"}
LISTS = ("demands", "problem-list", "rectification-list", "responsibility-list")
BAD_COMMENT = "=1+1 答复敷衍，问题没有解决"


@dataclass
class Data:
    w: DemandWorld
    closed: Demand
    late: Demand
    bad: Demand
    overdue: Demand
    rejected: Demand
    town_b: Demand
    august: Demand


async def _submit(w: DemandWorld, at: datetime, title: str, **kw: Any) -> Demand:
    with acting_at(at):
        return await w.submit(title=title, description=f"{title}。请尽快协调解决。", **kw)


async def _dispatch(w: DemandWorld, d: Demand, at: datetime) -> Demand:
    with acting_at(at):
        d = await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
        return await ops.claim_demand(w.handler, d.id)


async def _reply(w: DemandWorld, d: Demand, at: datetime) -> Demand:
    with acting_at(at):
        d = await ops.reply_demand(w.handler, d.id, outcome="RESOLVED", text_="已办理完毕。")
        d = await ops.approve_reply(w.lead, d.id, approve=True)
        return await ops.review_reply(w.dispatcher, d.id, passed=True)


async def build_data() -> Data:
    w = await build_demand_world()
    rejected = await _submit(w, shanghai(2025, 9, 10, 9), "重复反映用电问题")
    with acting_at(shanghai(2025, 9, 10, 10)):
        rejected = await ops.reject_demand(
            w.dispatcher, rejected.id, reason="DUPLICATE", note="与已受理诉求重复"
        )

    closed = await _submit(w, shanghai(2025, 9, 22, 10), "企业用电增容申请")
    closed = await _dispatch(w, closed, shanghai(2025, 9, 22, 10, 30))
    closed = await _reply(w, closed, shanghai(2025, 9, 24, 15))
    with acting_at(shanghai(2025, 9, 25, 9)):
        closed = await ops.rate_demand(w.contact, closed.id, rating="SATISFIED", comment="很及时")

    bad = await _submit(w, shanghai(2025, 9, 23, 9), "厂房消防验收迟迟未办")
    bad = await _dispatch(w, bad, shanghai(2025, 9, 23, 9, 30))
    bad = await _reply(w, bad, shanghai(2025, 9, 24, 16))
    with acting_at(shanghai(2025, 9, 25, 10)):
        bad = await ops.rate_demand(w.contact, bad.id, rating="DISSATISFIED", comment=BAD_COMMENT)
    with acting_at(shanghai(2025, 10, 9, 11)):
        bad = await ops.reply_demand(w.handler, bad.id, outcome="RESOLVED", text_="已重新验收。")
        bad = await ops.approve_reply(w.lead, bad.id, approve=True)

    with acting_at(shanghai(2025, 9, 24, 9)):
        town_b = await ops.submit_demand(
            w.outsider,
            ops.DemandData(
                enterprise_id=w.base.ent_b1.id,
                title="物流园道路破损",
                description="园区道路破损严重。",
                category_id=w.category.id,
            ),
        )

    late = await _submit(w, shanghai(2025, 9, 26, 9), "扩建用地审批两个月未办结")
    late = await _dispatch(w, late, shanghai(2025, 9, 26, 9))
    with acting_at(shanghai(2025, 9, 28, 9)):
        late = await ops.request_extension(w.handler, late.id, days=3, reason="需要补充测绘")
        late = await ops.decide_extension(w.dispatcher, late.id, approve=True)
    with acting_at(shanghai(2025, 10, 9, 9)):
        late = await ops.suspend_demand(w.handler, late.id, reason="等待企业补充用地红线图")
        late = await ops.decide_suspension(w.dispatcher, late.id, approve=True)
    with acting_at(shanghai(2025, 10, 13, 9)):
        late = await ops.resume_demand(w.contact, late.id, note="已提交红线图")
    with acting_at(shanghai(2025, 10, 20, 9)):
        late = await ops.escalate_demand(w.supervisor, late.id, level=1, note="超期督办")
    late = await _reply(w, late, shanghai(2025, 10, 21, 15))

    overdue = await _submit(w, shanghai(2025, 9, 29, 14), "高新技术企业认定咨询")
    overdue = await _dispatch(w, overdue, shanghai(2025, 9, 29, 15))

    august = await _submit(w, shanghai(2025, 8, 31, 9), "八月的诉求")
    return Data(w, closed, late, bad, overdue, rejected, town_b, august)


@pytest.fixture
async def data(gql: GraphQLClient) -> Data:
    return await build_data()


async def token(gql: GraphQLClient, username: str) -> str:
    await gql.login(username, PASSWORD)
    assert gql.token
    t, gql.token = gql.token, None
    return t


async def get(
    http: httpx.AsyncClient,
    path: str,
    tok: str | None,
    params: dict[str, str] | None = None,
    lang: str | None = None,
) -> httpx.Response:
    headers = {}
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    if lang:
        headers["Accept-Language"] = lang
    return await http.get(path, params=FROM_TO if params is None else params, headers=headers)


def read_csv(resp: httpx.Response) -> list[list[str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def read_xlsx(resp: httpx.Response) -> list[list[Any]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def dt(y: int, m: int, d: int, hh: int, mm: int = 0) -> str:
    return f"{y:04d}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:00"


async def overdue_days_now(d: Data) -> int:
    # The open one's overdue working days grow with the real date: counted on its calendar.
    cal = await load_calendar(d.w.base.town_a.id)
    return cal.working_days_between(date(2025, 10, 13), today())


DEMAND_HEADERS = [
    "工单号",
    "企业名称",
    "统一社会信用代码",
    "区域",
    "来源",
    "类别",
    "标题",
    "紧急程度",
    "状态",
    "承办部门",
    "提交时间",
    "派单时间",
    "办理期限",
    "办结时间",
    "是否超期",
    "满意度",
]


async def test_demands_csv_has_every_demand_of_the_period(data: Data, gql, http) -> None:
    d, w = data, data.w
    rows = read_csv(await get(http, "/exports/demands.csv", await token(gql, "supervisor")))
    assert rows[0] == DEMAND_HEADERS
    ent, code = w.base.ent_a1.name, w.base.ent_a1.credit_code
    b_ent, b_code = w.base.ent_b1.name, w.base.ent_b1.credit_code
    bureau = "县自然资源局"
    assert rows[1:] == [
        [d.rejected.number, ent, code, "城关镇", "企业端", "用地用房", "重复反映用电问题",
         "一般", "不予受理", "", dt(2025, 9, 10, 9), "", "", "", "否", ""],
        [d.closed.number, ent, code, "城关镇", "企业端", "用地用房", "企业用电增容申请",
         "一般", "已办结", bureau, dt(2025, 9, 22, 10), dt(2025, 9, 22, 10, 30), "2025-09-28",
         dt(2025, 9, 25, 9), "否", "满意"],
        [d.bad.number, ent, code, "城关镇", "企业端", "用地用房", "厂房消防验收迟迟未办",
         "一般", "待审核", bureau, dt(2025, 9, 23, 9), dt(2025, 9, 23, 9, 30), "2025-10-09",
         "", "否", "不满意"],
        [d.town_b.number, b_ent, b_code, "西山镇", "企业端", "用地用房", "物流园道路破损",
         "一般", "待受理", "", dt(2025, 9, 24, 9), "", "", "", "否", ""],
        [d.late.number, ent, code, "城关镇", "企业端", "用地用房", "扩建用地审批两个月未办结",
         "一般", "待回访", bureau, dt(2025, 9, 26, 9), dt(2025, 9, 26, 9), "2025-10-17",
         "", "否", ""],
        [d.overdue.number, ent, code, "城关镇", "企业端", "用地用房", "高新技术企业认定咨询",
         "一般", "办理中", bureau, dt(2025, 9, 29, 14), dt(2025, 9, 29, 15), "2025-10-13",
         "", "是", ""],
    ]  # fmt: skip


async def test_problem_list_leaves_out_what_was_not_taken_on(data: Data, gql, http) -> None:
    d = data
    tok = await token(gql, "supervisor")
    rows = read_csv(await get(http, "/exports/problem-list.csv", tok))
    assert rows[0] == [
        "工单号", "企业名称", "区域", "类别", "标题", "诉求内容摘要", "承办部门", "状态",
        "办理期限", "是否超期", "答复结果", "答复时间",
    ]  # fmt: skip
    ent, bureau = d.w.base.ent_a1.name, "县自然资源局"
    assert rows[1:] == [
        [d.closed.number, ent, "城关镇", "用地用房", "企业用电增容申请",
         "企业用电增容申请。请尽快协调解决。", bureau, "已办结", "2025-09-28", "否", "已解决",
         dt(2025, 9, 24, 15)],
        [d.bad.number, ent, "城关镇", "用地用房", "厂房消防验收迟迟未办",
         "厂房消防验收迟迟未办。请尽快协调解决。", bureau, "待审核", "2025-10-09", "否",
         "已解决", dt(2025, 10, 9, 11)],
        [d.town_b.number, d.w.base.ent_b1.name, "西山镇", "用地用房", "物流园道路破损",
         "园区道路破损严重。", "", "待受理", "", "否", "", ""],
        [d.late.number, ent, "城关镇", "用地用房", "扩建用地审批两个月未办结",
         "扩建用地审批两个月未办结。请尽快协调解决。", bureau, "待回访", "2025-10-17", "否",
         "已解决", dt(2025, 10, 21, 15)],
        [d.overdue.number, ent, "城关镇", "用地用房", "高新技术企业认定咨询",
         "高新技术企业认定咨询。请尽快协调解决。", bureau, "办理中", "2025-10-13", "是", "", ""],
    ]  # fmt: skip


async def test_rectification_list_csv_and_xlsx(data: Data, gql, http) -> None:
    d = data
    tok = await token(gql, "supervisor")
    headers = [
        "工单号", "企业名称", "区域", "标题", "承办部门", "评价", "评价意见", "评价时间",
        "整改期限", "整改状态", "整改完成时间", "是否按期",
    ]  # fmt: skip
    rows = read_csv(await get(http, "/exports/rectification-list.csv", tok))
    assert rows == [
        headers,
        [d.bad.number, d.w.base.ent_a1.name, "城关镇", "厂房消防验收迟迟未办", "县自然资源局",
         "不满意", "'" + BAD_COMMENT, dt(2025, 9, 25, 10), "2025-10-09", "已整改",
         dt(2025, 10, 9, 11), "是"],
    ]  # fmt: skip
    sheet = read_xlsx(await get(http, "/exports/rectification-list.xlsx", tok))
    assert sheet == [
        headers,
        [d.bad.number, d.w.base.ent_a1.name, "城关镇", "厂房消防验收迟迟未办", "县自然资源局",
         "不满意", BAD_COMMENT, datetime(2025, 9, 25, 10), datetime(2025, 10, 9), "已整改",
         datetime(2025, 10, 9, 11), "是"],
    ]  # fmt: skip


RESPONSIBILITY_HEADERS = [
    "工单号", "标题", "企业名称", "区域", "承办部门", "经办人", "部门负责人", "派单期限",
    "延期工作日", "中止工作日", "办理期限", "状态", "是否按期", "超期工作日", "督办级别",
]  # fmt: skip


async def test_responsibility_list_xlsx(data: Data, gql, http) -> None:
    d = data
    resp = await get(http, "/exports/responsibility-list.xlsx", await token(gql, "supervisor"))
    sheet = read_xlsx(resp)
    assert resp.headers["content-disposition"] == (
        'attachment; filename="responsibility-list-2025-09-01-2025-09-30.xlsx"; '
        "filename*=UTF-8''%E8%B4%A3%E4%BB%BB%E6%B8%85%E5%8D%95-2025-09-01"
        "%E8%87%B32025-09-30.xlsx"
    )  # 责任清单-2025-09-01至2025-09-30.xlsx
    ent, bureau = d.w.base.ent_a1.name, "县自然资源局"
    assert sheet[0] == RESPONSIBILITY_HEADERS
    assert sheet[1:] == [
        [d.closed.number, "企业用电增容申请", ent, "城关镇", bureau, "handler", "lead",
         datetime(2025, 9, 28), 0, 0, datetime(2025, 9, 28), "已办结", "是", 0, 0],
        [d.bad.number, "厂房消防验收迟迟未办", ent, "城关镇", bureau, "handler", "lead",
         datetime(2025, 9, 29), 0, 0, datetime(2025, 10, 9), "待审核", "是", 0, 0],
        [d.late.number, "扩建用地审批两个月未办结", ent, "城关镇", bureau, "handler", "lead",
         datetime(2025, 10, 10), 3, 3, datetime(2025, 10, 17), "待回访", "否", 2, 1],
        [d.overdue.number, "高新技术企业认定咨询", ent, "城关镇", bureau, "handler", "lead",
         datetime(2025, 10, 13), 0, 0, datetime(2025, 10, 13), "办理中", "否",
         await overdue_days_now(d), 0],
    ]  # fmt: skip


async def test_english_headers_names_and_file_name(data: Data, gql, http) -> None:
    tok = await token(gql, "supervisor")
    resp = await get(http, "/exports/responsibility-list.csv", tok, lang="en")
    rows = read_csv(resp)
    assert rows[0] == [
        "Work-order no.", "Title", "Enterprise", "Region", "Department", "Handler",
        "Department leader", "Deadline at dispatch", "Extension working days", "Suspended working days", "Deadline",
        "State", "On time", "Overdue working days", "Escalation level",
    ]  # fmt: skip
    assert [r[11:13] for r in rows[1:]] == [
        ["Closed", "Yes"],
        ["Pending review", "Yes"],
        ["Pending return visit", "No"],
        ["In progress", "No"],
    ]
    assert resp.headers["content-disposition"] == (
        'attachment; filename="responsibility-list-2025-09-01-2025-09-30.csv"; '
        "filename*=UTF-8''responsibility-list-2025-09-01-to-2025-09-30.csv"
    )
    sheet = read_xlsx(await get(http, "/exports/demands.xlsx", tok, lang="en"))
    assert sheet[0][:4] == ["Work-order no.", "Enterprise", "Credit code", "Region"]
    assert sheet[0][4:6] == ["Source", "Category"]
    assert sheet[2][4:9] == ["App", "用地用房", "企业用电增容申请", "Normal", "Closed"]


@pytest.mark.parametrize("name", LISTS)
async def test_csv_and_xlsx_hold_the_same_rows(data: Data, gql, http, name: str) -> None:
    tok = await token(gql, "supervisor")
    rows = read_csv(await get(http, f"/exports/{name}.csv", tok))
    sheet = read_xlsx(await get(http, f"/exports/{name}.xlsx", tok))
    assert [r[0] for r in rows] == [str(r[0]) for r in sheet]
    assert len(rows) == {"demands": 7, "problem-list": 6, "rectification-list": 2}.get(name, 5)


async def test_filters_narrow_the_rows(data: Data, gql, http) -> None:
    d = data
    tok = await token(gql, "supervisor")

    async def numbers(**params: str) -> list[str | None]:
        rows = read_csv(await get(http, "/exports/demands.csv", tok, {**FROM_TO, **params}))
        return [r[0] for r in rows[1:]]

    town_b = to_global_id("Region", d.w.base.town_b.id)
    assert await numbers(regionId=town_b) == [d.town_b.number]
    bureau = to_global_id("Department", d.w.bureau.id)
    assert await numbers(departmentId=bureau) == [
        d.closed.number, d.bad.number, d.late.number, d.overdue.number
    ]  # fmt: skip
    assert await numbers(source="HOTLINE_12345") == []
    assert await numbers(categoryId=to_global_id("DemandCategory", d.w.category.id)) == [
        d.rejected.number, d.closed.number, d.bad.number, d.town_b.number, d.late.number,
        d.overdue.number,
    ]  # fmt: skip
    assert await numbers(**{"from": "2025-08-31", "to": "2025-08-31"}) == [d.august.number]


async def test_a_town_supervisor_gets_only_their_town(data: Data, gql, http) -> None:
    d = data
    await make_user("sup_a", "SUPERVISOR", d.w.base.town_a)
    tok = await token(gql, "sup_a")
    rows = read_csv(await get(http, "/exports/demands.csv", tok))
    assert [r[0] for r in rows[1:]] == [
        d.rejected.number, d.closed.number, d.bad.number, d.late.number, d.overdue.number
    ]  # fmt: skip
    assert d.w.base.ent_b1.name not in {r[1] for r in rows}
    # Asking for town B, or the county above it, is refused.
    for region in (d.w.base.town_b, d.w.base.county):
        resp = await get(
            http,
            "/exports/demands.xlsx",
            tok,
            {**FROM_TO, "regionId": to_global_id("Region", region.id)},
        )
        assert resp.status_code == 403
        assert resp.json() == {
            "errors": [
                {
                    "code": "REGION_OUT_OF_SCOPE",
                    "field": "regionId",
                    "message": "该区域不在您的管辖范围内",
                }
            ]
        }


async def test_refusals(data: Data, gql, http) -> None:
    resp = await get(http, "/exports/problem-list.xlsx", None)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["errors"][0] == {"code": "UNAUTHENTICATED", "message": "请先登录"}
    resp = await get(http, "/exports/problem-list.csv", "not-a-token", lang="en")
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["message"] == "Please sign in first"

    for username in ("handler", "ent_user", "cadre_a"):
        resp = await get(http, "/exports/problem-list.csv", await token(gql, username))
        assert resp.status_code == 403, username
        assert resp.json()["errors"][0]["code"] == "FORBIDDEN"

    tok = await token(gql, "supervisor")
    resp = await get(http, "/exports/problem-list.csv", tok, {"to": "2025-09-30"}, lang="en")
    assert resp.status_code == 400
    assert resp.json() == {
        "errors": [{"code": "REQUIRED", "field": "from", "message": "Start date is required"}]
    }
    resp = await get(http, "/exports/problem-list.csv", tok, {**FROM_TO, "to": "2025-09-31"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "INVALID_DATE"
    resp = await get(http, "/exports/problem-list.csv", tok, {**FROM_TO, "regionId": "bogus"})
    assert (resp.status_code, resp.json()["errors"][0]["field"]) == (400, "regionId")
    resp = await get(http, "/exports/problem-list.csv", tok, {**FROM_TO, "source": "FAX"})
    assert resp.json()["errors"][0]["code"] == "INVALID_CHOICE"
    resp = await get(
        http, "/exports/problem-list.csv", tok, {"from": "2025-10-01", "to": "2025-09-01"}
    )
    assert (resp.status_code, resp.json()["errors"][0]["code"]) == (400, "PERIOD_INVALID")
    for path in ("/exports/department-stuff.csv", "/exports/demands.pdf", "/exports/demands"):
        assert (await get(http, path, tok)).status_code == 404
