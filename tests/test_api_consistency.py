"""What an app developer expects of the API over HTTP, item by item: ids in timeline data are
global ids, every moment comes back in one zone, lists page backwards as well as forwards,
refusals of a document read Chinese through and through, and an agency request's paused days
grow while it is paused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, Source

from models.access import load_actor
from models.ops import agency as agency_ops
from models.ops import demands as ops
from models.ops import visits as visit_ops
from models.rules.clock import acting_at, shanghai
from models.tables.agency import AgencyEvent as AgencyEventRow
from models.tables.demands import DemandEvent as DemandEventRow
from schema import build_schema, compiled_queries
from schema.context import Context
from schema.relay import to_global_id
from server.graphql_errors import client_errors
from tests.agency_world import build_agency_world, server_clock
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD, make_user
from tests.visit_world import build_visit_world, new_id

GR = "application/graphql-response+json"


def _context(actor: Any) -> Context:
    return Context(actor=actor, locale="zh-CN", client="127.0.0.1", secret_key="k" * 32)


async def _both_paths(document: str, variables: dict[str, Any], actor: Any) -> dict[str, Any]:
    """The document's data as strawberry answers it, checked equal to the compiled path's."""
    schema = build_schema()
    expected = await schema.execute(
        document, variable_values=variables, context_value=_context(actor)
    )
    assert expected.errors is None, expected.errors
    compiled = await compiled_queries(schema).execute(document, None, variables, _context(actor))
    assert compiled is not None  # a plain query: answered from a plan
    assert json.dumps(compiled, sort_keys=True) == json.dumps(expected.data, sort_keys=True)
    return compiled


# --- 1. ids in timeline data are global ids ---------------------------------------------------

DEMAND_TIMELINE = """query($id: ID!) { demand(id: $id) { id
  timeline { action data } lastEvent { action data } } }"""


async def test_demand_timeline_data_names_departments_and_demands_by_global_id(gql):
    w = await build_demand_world()
    target = await w.submit(title="厂区用地指标")
    dup = await w.submit(title="厂区用地指标（重复）")
    await ops.dispatch_demand(
        w.dispatcher,
        target.id,
        department_id=w.bureau.id,
        assisting_department_ids=[w.other_bureau.id],
        limit_days=5,
    )
    await ops.merge_demand(w.dispatcher, dup.id, into_id=target.id, note="重复诉求")
    bureau = to_global_id("Department", w.bureau.id)
    other = to_global_id("Department", w.other_bureau.id)

    await gql.login("dispatcher", PASSWORD)
    got = (await gql(DEMAND_TIMELINE, {"id": to_global_id("Demand", target.id)}))["demand"]
    dispatch = got["timeline"][1]
    assert dispatch["action"] == "DISPATCH"
    assert dispatch["data"]["departmentId"] == bureau
    assert dispatch["data"]["assistingDepartmentIds"] == [other]
    assert dispatch["data"]["limitDays"] == 5  # numbers that are not ids stay numbers
    assert got["lastEvent"] == dispatch
    # The ids open what they name.
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on Department { name } } }", {"id": bureau}
    )
    assert node["node"] == {"name": "县自然资源局"}

    merged = (await gql(DEMAND_TIMELINE, {"id": to_global_id("Demand", dup.id)}))["demand"]
    assert merged["timeline"][-1]["action"] == "MERGE"
    assert merged["timeline"][-1]["data"] == {"intoId": got["id"]}

    # The database keeps row ids, as every row written before did: the API answers the same.
    stored = await DemandEventRow.filter(demand_id=dup.id, action="MERGE").first()
    assert stored is not None and stored.data == {"intoId": target.id}
    # And the compiled path gives what strawberry gives.
    both = await _both_paths(DEMAND_TIMELINE, {"id": got["id"]}, w.dispatcher)
    assert both["demand"] == got


async def test_a_demand_raised_on_a_visit_names_the_visit_by_global_id(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    lat, lng = 30.0, 120.0
    done = (
        await gql(
            """mutation($input: LogVisitInput!) { logVisit(input: $input) {
                 visit { id demands { timeline { action data } } } errors { code field } } }""",
            {
                "input": {
                    "clientId": new_id(),
                    "enterpriseId": to_global_id("Enterprise", w.factory.id),
                    "notes": "了解用地需求",
                    "checkIn": {"latitude": lat, "longitude": lng, "coordinateSystem": "GCJ02"},
                    "demands": [{"title": "用地指标", "description": "需新增用地 30 亩。"}],
                }
            },
        )
    )["logVisit"]
    assert done["errors"] == []
    visit = done["visit"]
    [demand] = visit["demands"]
    assert demand["timeline"][0]["data"] == {"source": "VISIT", "visitId": visit["id"]}


AGENCY_TIMELINE = """query($id: ID!) { agencyRequest(id: $id) {
  timeline { action data attachments { id fileName } } } }"""


async def test_agency_timeline_data_names_agents_and_documents_by_global_id(gql):
    w = await build_agency_world()
    poa = await w.upload(w.contact, "授权委托书.pdf")
    r = await agency_ops.submit_agency_request(
        w.contact,
        enterprise_id=w.base.ent_a1.id,
        procedure_id=w.food_licence.id,
        attachment_ids=[poa.id],
    )
    await agency_ops.accept_agency_request(w.agent, r.id)
    await agency_ops.assign_agent(w.agent, r.id, agent_id=w.agent2.user_id)

    await gql.login("agent_li", PASSWORD)
    timeline = (await gql(AGENCY_TIMELINE, {"id": to_global_id("AgencyRequest", r.id)}))[
        "agencyRequest"
    ]["timeline"]
    submit, accept, assign = timeline
    file_id = to_global_id("Attachment", poa.id)
    assert submit["data"] == {"attachmentIds": [file_id]}
    assert submit["attachments"] == [{"id": file_id, "fileName": "授权委托书.pdf"}]
    assert accept["data"]["agentId"] == to_global_id("User", w.agent.user_id)
    assert assign["data"] == {"agentId": to_global_id("User", w.agent2.user_id)}
    stored = (
        await AgencyEventRow.filter(request_id=r.id).order_by("id").values_list("data", flat=True)
    )
    assert stored[0] == {"attachmentIds": [poa.id]}  # row ids in the database
    both = await _both_paths(AGENCY_TIMELINE, {"id": to_global_id("AgencyRequest", r.id)}, w.agent)
    assert both["agencyRequest"]["timeline"] == timeline


# --- 2. every moment in Asia/Shanghai ---------------------------------------------------------

_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _moments(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _moments(v)]
    if isinstance(value, list):
        return [m for v in value for m in _moments(v)]
    return [value] if isinstance(value, str) and _MOMENT.match(value) else []


MOMENTS = """query($id: ID!) {
  demand(id: $id) { submittedAt lastEvent { at } timeline { at } attachments { createdAt } }
  notifications(first: 5) { edges { node { createdAt readAt } } }
  me { id } }"""


async def test_every_moment_comes_back_in_shanghai_time_on_both_paths_and_in_the_export(gql):
    w = await build_demand_world()
    with acting_at(datetime(2026, 11, 24, 1, 30, tzinfo=UTC)):  # 09:30 in Shanghai
        d = await w.dispatched()
    await gql.login("dispatcher", PASSWORD)
    got = await gql(MOMENTS, {"id": to_global_id("Demand", d.id)})
    moments = _moments(got)
    assert moments and all(m.endswith("+08:00") for m in moments), moments
    assert got["demand"]["submittedAt"] == "2026-11-24T09:30:00+08:00"
    assert await _both_paths(MOMENTS, {"id": to_global_id("Demand", d.id)}, w.dispatcher) == got

    # The export shows the same wall-clock time (Asia/Shanghai, without the zone).
    await gql.login("supervisor", PASSWORD)
    resp = await gql.http.get(
        "/exports/demands.csv",
        params={"from": "2026-11-24", "to": "2026-11-24"},
        headers={"Authorization": f"Bearer {gql.token}"},
    )
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    column = rows[0].index("提交时间")
    assert rows[1][column] == "2026-11-24 09:30:00"


AUDIT = """query($f: AuditLogFilter) { auditLog(filter: $f, first: 50) {
  edges { node { id at } } } }"""


async def test_a_moment_read_from_an_answer_filters_as_the_same_instant(gql):
    """What the API answers (+08:00) a client may send back: inputs in any offset, or none
    (Asia/Shanghai), are the same instant on both databases."""
    w = await build_demand_world()
    await gql.login("dispatcher", PASSWORD)  # an audited sign-in
    admin = await make_user("county_admin2", "ADMIN", w.base.county)
    await gql.login(admin.username, PASSWORD)
    rows = [e["node"] for e in (await gql(AUDIT))["auditLog"]["edges"]]
    assert len(rows) == 2 and all(r["at"].endswith("+08:00") for r in rows)
    newest, older = rows
    since = await gql(AUDIT, {"f": {"from": newest["at"]}})
    assert [e["node"]["id"] for e in since["auditLog"]["edges"]] == [newest["id"]]
    until = await gql(AUDIT, {"f": {"to": newest["at"]}})
    assert [e["node"]["id"] for e in until["auditLog"]["edges"]] == [older["id"]]
    in_utc = datetime.fromisoformat(newest["at"]).astimezone(UTC).isoformat()
    assert (await gql(AUDIT, {"f": {"from": in_utc}})) == since
    naive = newest["at"].removesuffix("+08:00")  # Shanghai wall time without its offset
    assert (await gql(AUDIT, {"f": {"from": naive}})) == since


# --- 3. backward paging ----------------------------------------------------------------------

PAGE = """pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id } }"""
INBOX = f"""query($first: Int, $after: String, $last: Int, $before: String) {{
  notifications(first: $first, after: $after, last: $last, before: $before) {{
    totalCount {PAGE} }} }}"""
DEMANDS = f"""query($first: Int, $after: String, $last: Int, $before: String,
  $order: DemandOrder, $filter: DemandFilter) {{
  demands(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
    filter: $filter) {{ totalCount {PAGE} }} }}"""
AGENCY = f"""query($first: Int, $after: String, $last: Int, $before: String) {{
  agencyRequests(first: $first, after: $after, last: $last, before: $before) {{
    totalCount {PAGE} }} }}"""
VISITS = f"""query($first: Int, $after: String, $last: Int, $before: String) {{
  visits(first: $first, after: $after, last: $last, before: $before) {{ totalCount {PAGE} }} }}"""


def _ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def _page(gql: Any, doc: str, name: str, **variables: Any) -> dict[str, Any]:
    return dict((await gql(doc, variables))[name])


async def _pages_both_ways(gql: Any, doc: str, name: str, **extra: Any) -> list[str]:
    """The whole list read forwards, then backwards from its end two rows at a time and from
    the middle up: the same rows in the same order, with the page flags Relay gives."""
    everything = await _page(gql, doc, name, first=100, **extra)
    ids = _ids(everything)
    assert len(ids) >= 5, ids
    seen: list[str] = []
    before = None
    while True:
        page = await _page(gql, doc, name, last=2, before=before, **extra)
        info = page["pageInfo"]
        assert info["hasNextPage"] is (before is not None)
        assert page["totalCount"] == len(ids)
        seen = _ids(page) + seen
        assert seen == ids[len(ids) - len(seen) :]
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == ids
    # Scrolling up from the second page gives back the first, and says nothing is above it.
    first = await _page(gql, doc, name, first=2, **extra)
    second = await _page(gql, doc, name, first=2, after=first["pageInfo"]["endCursor"], **extra)
    up = await _page(gql, doc, name, last=2, before=second["pageInfo"]["startCursor"], **extra)
    assert _ids(up) == _ids(first) == ids[:2]
    assert up["pageInfo"]["hasPreviousPage"] is False and up["pageInfo"]["hasNextPage"] is True
    # `after` and `before` together: the rows between them.
    between = await _page(
        gql,
        doc,
        name,
        first=10,
        after=everything["edges"][0]["cursor"],
        before=everything["edges"][4]["cursor"],
        **extra,
    )
    assert _ids(between) == ids[1:4]
    return ids


async def test_the_inbox_scrolls_up_to_notifications_that_arrived_above_it(gql):
    w = await build_demand_world()
    for _ in range(6):
        await w.dispatched()
    await gql.login("handler", PASSWORD)
    ids = await _pages_both_ways(gql, INBOX, "notifications")
    top = await _page(gql, INBOX, "notifications", first=3)
    # Two new notifications arrive while the screen shows the top three.
    await w.dispatched()
    await w.dispatched()
    above = await _page(gql, INBOX, "notifications", last=20, before=top["pageInfo"]["startCursor"])
    assert len(above["edges"]) == 2 and above["pageInfo"]["hasPreviousPage"] is False
    assert not set(_ids(above)) & set(ids)
    assert _ids(await _page(gql, INBOX, "notifications", first=2)) == _ids(above)


async def test_demand_lists_page_backwards_in_every_order_and_scope(gql):
    w = await build_demand_world()
    for days in (3, 5, 5, 7):
        await w.dispatched(limit_days=days)  # equal deadlines: the id breaks the tie
    await w.in_progress()
    await w.in_progress()
    await w.submit(title="尚未派单")
    await gql.login("dispatcher", PASSWORD)
    for order in ("NEWEST", "OLDEST", "DEADLINE_SOON"):
        await _pages_both_ways(gql, DEMANDS, "demands", order=order)
    # The handler's to-do list: two branches merged (claimed by me, waiting in my department).
    await gql.login("handler", PASSWORD)
    for order in ("NEWEST", "DEADLINE_SOON"):
        await _pages_both_ways(gql, DEMANDS, "demands", order=order, filter={"assignedToMe": True})


async def test_agency_requests_page_backwards(gql):
    w = await build_agency_world()
    for _ in range(5):
        await agency_ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
    await gql.login("agent_li", PASSWORD)
    await _pages_both_ways(gql, AGENCY, "agencyRequests")


async def test_visits_page_backwards(gql):
    w = await build_visit_world()
    leader = await load_actor(w.leader.user_id)
    # Two visits on one day at the same moment: the id breaks the tie of the (at, id) order.
    for day in (2, 3, 3, 4, 5, 6):
        with acting_at(shanghai(2026, 11, day, 10)):
            await visit_ops.log_visit(
                leader,
                w.factory.id,
                visit_ops.VisitPeople(),
                visit_ops.VisitReport(notes=f"11月{day}日走访"),
                client_id=new_id(),
            )
    await gql.login("leader", PASSWORD)
    await _pages_both_ways(gql, VISITS, "visits")


async def test_backward_paging_refuses_as_forward_paging_does(gql):
    w = await build_demand_world()
    await w.dispatched()
    await gql.login("handler", PASSWORD)
    for variables, code, field in (
        ({"last": 2, "before": "bm90IGEgY3Vyc29y"}, "INVALID_CURSOR", "before"),
        ({"last": 2, "before": "%%%"}, "INVALID_CURSOR", "before"),
        ({"last": 101}, "INVALID_PAGE_SIZE", "last"),
        ({"last": -1}, "INVALID_PAGE_SIZE", "last"),
        ({"first": 2, "last": 2}, "PAGE_DIRECTION_CONFLICT", "last"),
    ):
        for doc, name in ((INBOX, "notifications"), (DEMANDS, "demands")):
            body = (await gql.post(doc, variables)).json()
            assert body["data"] is None or body["data"][name] is None, body
            [error] = body["errors"]
            assert error["extensions"] == {"code": code, "field": field}, (name, variables)
    gql.language = "en"
    body = (await gql.post(INBOX, {"first": 1, "last": 1})).json()
    assert body["errors"][0]["message"].startswith("Page one way at a time")


# --- 4. refusals of a document in Chinese ----------------------------------------------------

# (document, variables, code, the Chinese message)
REFUSED_DOCUMENTS: list[tuple[str, dict[str, Any] | None, str, str]] = [
    ("{ me { usernmae } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：类型 User 上没有字段“usernmae”（相近的名称：“username”）"),
    ("{ demands(frist: 5) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：字段 Query.demands 没有参数“frist”（相近的名称：“first”、“last”）"),
    ("{ demand { id } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：字段 Query.demand 缺少必填参数“id”（类型 ID!）"),
    ("query($x: String) { demand(id: $x) { id } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：变量 $x 的类型是 String，此处需要 ID!"),
    ("query($f: DemandFiltr) { demands(filter: $f) { totalCount } }", None,
     "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：未知类型“DemandFiltr”（相近的名称：“DemandFilter”、“DemandOrder”、"
     "“DemandState”、“DemandStats”、“Demand”）"),
    ("{ me { ...Who } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：未定义的片段“Who”"),
    ("{ me { id } } fragment Who on User { username }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：片段“Who”已定义但没有使用"),
    ("{ me { ... on Demand { id } } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：内联片段不能在此展开：User 类型的对象不可能是 Demand"),
    ("{ demands(filter: {state: DISPACHED}) { totalCount } }", None,
     "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：枚举 DemandState 中没有取值“DISPACHED”（相近的名称：“DISPATCHED”）"),
    ("query($x: Int) { me { id } }", None, "GRAPHQL_VALIDATION_FAILED",
     "GraphQL 查询无效：变量 $x 已声明但没有使用"),
    ("{ me { id ", None, "GRAPHQL_PARSE_FAILED",
     "GraphQL 查询有语法错误：此处应为名称，实际是文档结尾"),
    ("{ me(name: 'x') { id } }", None, "GRAPHQL_PARSE_FAILED",
     "GraphQL 查询有语法错误：字符串须用双引号（\"）括起，不能用单引号（'）"),
    ("query($n: Int!) { regions(first: $n) { totalCount } }", {"n": "x"},
     "GRAPHQL_INVALID_VARIABLES", "变量取值无效：变量 $n：Int 须为整数，实际是 'x'"),
    ("query($f: DemandFilter) { demands(filter: $f) { totalCount } }",
     {"f": {"submittedFrom": "2026-13-01"}}, "GRAPHQL_INVALID_VARIABLES",
     "变量取值无效：变量 $f 中 submittedFrom 处：“2026-13-01”不是有效的日期（须为 YYYY-MM-DD，"
     "如 2026-11-26）"),
]  # fmt: skip


async def test_refused_documents_read_chinese_and_graphql_cores_english_on_request(gql):
    for document, variables, code, chinese in REFUSED_DOCUMENTS:
        gql.language = None
        resp = await gql.post(document, variables)
        assert resp.status_code == 400, resp.text
        [error] = resp.json()["errors"]
        assert error["extensions"]["code"] == code, error
        assert error["message"] == chinese
        gql.language = "en"
        [english] = (await gql.post(document, variables)).json()["errors"]
        assert english["extensions"]["code"] == code
        assert re.fullmatch(r"[\x20-\x7e]+", english["message"]), english  # English only


def test_a_message_no_template_knows_reads_generic_chinese_with_its_place():
    """graphql-core may grow a rule the catalogue does not know yet: its report still reads
    Chinese, with the place in the document; English keeps graphql-core's words."""
    document = Source("query {\n  me {\n    id\n  }\n}")
    error = GraphQLError("Some future rule says no.", source=document, positions=[19])  # "id"
    [zh] = client_errors([error], "zh", {}, masked="")
    assert zh["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert zh["message"] == "GraphQL 查询无效：第 3 行第 5 列有误，请对照接口文档检查"
    [en] = client_errors([error], "en", {}, masked="")
    assert en["message"] == "The query is not valid: Some future rule says no."


async def test_refusals_name_no_code_identifiers(gql):
    w = await build_demand_world()
    await w.dispatched()
    await gql.login("handler", PASSWORD)
    marked = await gql(
        """mutation { markNotificationsRead(input: {}) { errors { code field message } } }"""
    )
    assert marked["markNotificationsRead"]["errors"] == [
        {"code": "REQUIRED", "field": "ids", "message": "要处理的条目不能为空"}
    ]
    gql.language = "en"
    marked = await gql(
        """mutation { markNotificationsRead(input: {}) { errors { code field message } } }"""
    )
    assert (
        marked["markNotificationsRead"]["errors"][0]["message"] == "The items to act on is required"
    )


# --- 5. paused days grow while paused ---------------------------------------------------------

CLOCK = """query($id: ID!) { agencyRequest(id: $id) { state pausedDays pausedAt deadline
  effectiveDeadline remainingWorkingDays overdue } }"""


async def test_paused_days_grow_while_paused_and_stay_when_resumed(gql):
    w = await build_agency_world()
    with server_clock() as at:
        at.moment = shanghai(2026, 11, 2, 9)  # Monday
        r = await agency_ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        at.moment = shanghai(2026, 11, 3, 10)
        await agency_ops.accept_agency_request(w.agent, r.id)  # due Tuesday 11-10
        at.moment = shanghai(2026, 11, 6, 10)  # Friday: 补正, the clock stops
        await agency_ops.request_materials(
            w.agent,
            r.id,
            materials=[agency_ops.RequestedMaterial(name="经营场所平面布局图")],
            note="请补正平面布局图",
        )
        gid = to_global_id("AgencyRequest", r.id)
        await gql.login("ent_user", PASSWORD)
        seen = []
        for day in (6, 7, 9, 10):  # Friday, Saturday, Monday, Tuesday
            at.moment = shanghai(2026, 11, day, 18)
            seen.append((await gql(CLOCK, {"id": gid}))["agencyRequest"])
        assert [s["pausedDays"] for s in seen] == [0, 0, 1, 2]
        # The effective deadline moves on by as many working days; what is left stays frozen.
        assert [s["effectiveDeadline"] for s in seen] == [
            "2026-11-10",
            "2026-11-10",
            "2026-11-11",
            "2026-11-12",
        ]
        assert {s["remainingWorkingDays"] for s in seen} == {2}
        assert all(s["state"] == "MATERIALS_REQUESTED" and not s["overdue"] for s in seen)
        # Resumed on Wednesday: three working days, counted once, as the list shows them.
        at.moment = shanghai(2026, 11, 11, 9)
        during = (await gql(CLOCK, {"id": gid}))["agencyRequest"]
        customer = await load_actor(w.contact.user_id)
        await agency_ops.supply_materials(customer, r.id, note="已重新绘制")
        after = (await gql(CLOCK, {"id": gid}))["agencyRequest"]
        assert during["pausedDays"] == after["pausedDays"] == 3
        assert during["effectiveDeadline"] == after["effectiveDeadline"] == "2026-11-13"
        at.moment = shanghai(2026, 11, 12, 9)
        later = (await gql(CLOCK, {"id": gid}))["agencyRequest"]
        assert later["pausedDays"] == 3 and later["pausedAt"] is None
        listed = await gql("{ agencyRequests { edges { node { pausedDays effectiveDeadline } } } }")
        assert listed["agencyRequests"]["edges"][0]["node"] == {
            "pausedDays": 3,
            "effectiveDeadline": "2026-11-13",
        }
