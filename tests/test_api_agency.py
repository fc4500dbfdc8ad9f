"""Agency requests (帮办代办) over HTTP, as the enterprise's and the agents' apps drive them:
the park desk's story on chosen days (the server's clock set for the whole process), scope,
refusals in both languages, the overdue filter and the SQL a list costs."""

from __future__ import annotations

from typing import Any

import httpx

from models.access import load_actor
from models.ops import agency as ops
from models.rules.clock import acting_at, shanghai
from models.tables.agency import AgencyRequest
from schema.relay import id_of, to_global_id
from tests.agency_world import PDF, AgencyWorld, build_agency_world, server_clock
from tests.factories import PASSWORD
from tests.sql_log import counting_sql

MISSING = "食品安全管理制度"
FIELDS = """id state version procedureName deadline effectiveDeadline deadlineConfirmed
  pausedDays pausedAt overdue remainingWorkingDays onTime allowedActions
  missingMaterials { name promisedBy suppliedAt } requestedMaterials { name note }
  lastEvent { action actorName toState }"""


def mutation(name: str, input_type: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
      agencyRequest {{ {FIELDS} }} errors {{ code field message }} }} }}"""


async def act(gql: Any, username: str, name: str, input_type: str, variables: dict) -> dict:
    await gql.login(username, PASSWORD)
    data = await gql(mutation(name, input_type), {"input": variables})
    payload = data[name]
    assert payload["errors"] == [], payload["errors"]
    return payload["agencyRequest"]


async def refused(gql: Any, username: str, name: str, input_type: str, variables: dict) -> dict:
    await gql.login(username, PASSWORD)
    payload = (await gql(mutation(name, input_type), {"input": variables}))[name]
    assert payload["agencyRequest"] is None
    return payload["errors"][0]


async def upload(gql: Any, name: str) -> str:
    """POST /uploads as the signed-in user; returns the attachment's global id."""
    resp = await gql.http.post(
        "/uploads",
        files={"file": (name, PDF, "application/pdf")},
        headers={"Authorization": f"Bearer {gql.token}"},
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def fetch_file(http: httpx.AsyncClient, token: str | None, gid: str) -> int:
    resp = await http.get(f"/files/{gid}", headers={"Authorization": f"Bearer {token}"})
    return resp.status_code


DETAIL = """query($id: ID!) { agencyRequest(id: $id) {
  id state deadline effectiveDeadline pausedDays onTime certificateNumber resultText rating
  enterprise { name } servicePointId servicePointName servicePoint { name }
  procedure { name promisedDays materials { name mayBeMissing } }
  agent { displayName } submittedBy { username }
  attachments { id fileName }
  timeline { action actorName actor { username } fromState toState note data
             attachments { fileName } } } }"""


async def test_the_park_desk_story_over_http(gql, storage):
    w = await build_agency_world()
    ent = to_global_id("Enterprise", w.base.ent_a1.id)
    with server_clock() as at:
        # Monday: the enterprise uploads its documents and asks the desk; the app retries once.
        at.moment = shanghai(2026, 11, 2, 9)
        await gql.login("ent_user", PASSWORD)
        poa = await upload(gql, "授权委托书.pdf")
        scan = await upload(gql, "营业执照副本.pdf")
        submit = {
            "enterpriseId": ent,
            "procedureId": to_global_id("Procedure", w.food_licence.id),
            "description": "门店经营面积扩大，需变更食品经营许可证。",
            "attachmentIds": [poa, scan],
            "clientMutationId": "9d3f2a10-5b6c-4d7e-8f90-a1b2c3d4e5f6",
        }
        first = await act(
            gql, "ent_user", "submitAgencyRequest", "SubmitAgencyRequestInput", submit
        )
        again = await act(
            gql, "ent_user", "submitAgencyRequest", "SubmitAgencyRequestInput", submit
        )
        assert again["id"] == first["id"] and first["state"] == "SUBMITTED"
        assert set(first["allowedActions"]) == {"CANCEL"}
        gid = first["id"]

        # Both agents of the desk see it waiting.
        await gql.login("agent_zhao", PASSWORD)
        listed = await gql(
            """{ agencyRequests(filter: {state: SUBMITTED}) { totalCount
                 edges { node { id allowedActions } } } }"""
        )
        assert listed["agencyRequests"]["totalCount"] == 1
        assert set(listed["agencyRequests"]["edges"][0]["node"]["allowedActions"]) == {
            "ACCEPT",
            "REJECT",
            "ASSIGN_AGENT",
        }

        # Tuesday: 容缺受理, the safety rules promised by Friday.
        at.moment = shanghai(2026, 11, 3, 10)
        r = await act(
            gql,
            "agent_li",
            "acceptAgencyRequest",
            "AcceptAgencyRequestInput",
            {
                "agencyRequestId": gid,
                "version": first["version"],
                "missingMaterials": [{"name": MISSING, "promisedBy": "2026-11-06"}],
            },
        )
        assert r["state"] == "ACCEPTED" and r["deadline"] == "2026-11-10"
        assert r["effectiveDeadline"] == "2026-11-10" and r["remainingWorkingDays"] == 5
        assert r["missingMaterials"] == [
            {"name": MISSING, "promisedBy": "2026-11-06", "suppliedAt": None}
        ]

        # Thursday: the owed material is handed over; the state stays.
        at.moment = shanghai(2026, 11, 5, 15)
        await gql.login("ent_user", PASSWORD)
        rules = await upload(gql, "食品安全管理制度.pdf")
        r = await act(
            gql,
            "ent_user",
            "supplyMaterials",
            "SupplyMaterialsInput",
            {"agencyRequestId": gid, "attachmentIds": [rules], "materials": [MISSING]},
        )
        assert r["state"] == "ACCEPTED" and r["missingMaterials"][0]["suppliedAt"] is not None

        # Friday: 补正 — a corrected floor plan; the clock stops.
        at.moment = shanghai(2026, 11, 6, 10)
        r = await act(
            gql,
            "agent_li",
            "requestMaterials",
            "RequestMaterialsInput",
            {
                "agencyRequestId": gid,
                "materials": [{"name": "经营场所平面布局图", "note": "面积标注不清"}],
                "note": "请补正平面布局图",
            },
        )
        assert r["state"] == "MATERIALS_REQUESTED" and r["pausedAt"] is not None

        # Next Tuesday, still paused: the deadline moves on, nothing is overdue.
        at.moment = shanghai(2026, 11, 10, 18)
        await gql.login("ent_user", PASSWORD)
        r = (
            await gql(f"query($id: ID!) {{ agencyRequest(id: $id) {{ {FIELDS} }} }}", {"id": gid})
        )["agencyRequest"]
        assert r["effectiveDeadline"] == "2026-11-12" and r["overdue"] is False
        assert r["remainingWorkingDays"] == 2  # frozen at the day the clock stopped
        assert set(r["allowedActions"]) == {"SUPPLY_MATERIALS", "CANCEL"}
        assert r["requestedMaterials"] == [{"name": "经营场所平面布局图", "note": "面积标注不清"}]

        # Thursday: the corrected plan; Mon–Thu were paused, the weekend was not counted.
        at.moment = shanghai(2026, 11, 12, 14)
        plan = await upload(gql, "平面布局图.pdf")
        r = await act(
            gql,
            "ent_user",
            "supplyMaterials",
            "SupplyMaterialsInput",
            {"agencyRequestId": gid, "attachmentIds": [plan], "note": "已重新绘制"},
        )
        assert r["state"] == "ACCEPTED" and r["pausedDays"] == 4
        assert r["deadline"] == "2026-11-10" and r["effectiveDeadline"] == "2026-11-16"

        at.moment = shanghai(2026, 11, 13, 9)
        r = await act(
            gql,
            "agent_li",
            "startHandling",
            "AgencyNoteInput",
            {"agencyRequestId": gid, "note": "材料已送市场监管局"},
        )
        assert r["state"] == "IN_HANDLING"
        at.moment = shanghai(2026, 11, 16, 16)
        await gql.login("agent_li", PASSWORD)
        licence = await upload(gql, "食品经营许可证.pdf")
        r = await act(
            gql,
            "agent_li",
            "completeAgencyRequest",
            "CompleteAgencyRequestInput",
            {
                "agencyRequestId": gid,
                "resultText": "许可证已变更",
                "certificateNumber": "JY13305990012345",
                "attachmentIds": [licence],
            },
        )
        assert r["state"] == "COMPLETED" and r["onTime"] is True and r["overdue"] is False
        at.moment = shanghai(2026, 11, 17, 10)
        r = await act(
            gql,
            "ent_user",
            "rateAgencyRequest",
            "RateAgencyRequestInput",
            {"agencyRequestId": gid, "rating": "SATISFIED", "comment": "很及时"},
        )
        assert r["allowedActions"] == []

        detail = (await gql(DETAIL, {"id": gid}))["agencyRequest"]
    assert detail["servicePointName"] == "园小二帮办服务站"
    assert detail["servicePoint"] == {"name": "园小二帮办服务站"}
    assert detail["servicePointId"] == to_global_id("ServicePoint", w.desk.id)
    assert detail["procedure"]["promisedDays"] == 5
    assert {"name": MISSING, "mayBeMissing": True} in detail["procedure"]["materials"]
    assert detail["agent"] == {"displayName": "李帮办"}
    assert detail["submittedBy"] == {"username": "ent_user"}
    assert detail["certificateNumber"] == "JY13305990012345" and detail["rating"] == "SATISFIED"
    assert {a["fileName"] for a in detail["attachments"]} == {
        "授权委托书.pdf",
        "营业执照副本.pdf",
        "食品安全管理制度.pdf",
        "平面布局图.pdf",
        "食品经营许可证.pdf",
    }
    timeline = detail["timeline"]
    assert [(e["action"], e["actor"]["username"]) for e in timeline] == [
        ("SUBMIT", "ent_user"),
        ("ACCEPT", "agent_li"),
        ("SUPPLY_MATERIALS", "ent_user"),
        ("REQUEST_MATERIALS", "agent_li"),
        ("SUPPLY_MATERIALS", "ent_user"),
        ("START_HANDLING", "agent_li"),
        ("COMPLETE", "agent_li"),
        ("RATE", "ent_user"),
    ]
    assert timeline[0]["fromState"] is None and timeline[4]["toState"] == "ACCEPTED"
    assert timeline[1]["actorName"] == "李帮办"
    assert [a["fileName"] for a in timeline[0]["attachments"]] == [
        "授权委托书.pdf",
        "营业执照副本.pdf",
    ]
    assert [a["fileName"] for a in timeline[6]["attachments"]] == ["食品经营许可证.pdf"]
    assert timeline[4]["data"]["pausedDays"] == 4

    # Who heard what: the enterprise's second contact reads its inbox in Chinese.
    await gql.login("ent_user2", PASSWORD)
    inbox = await gql("{ notifications { edges { node { title body subjectId } } } }")
    bodies = [e["node"]["body"] for e in inbox["notifications"]["edges"]]
    named = f"食品经营许可证变更（工单号 {await _number(gid)}）"
    assert bodies == [
        f"{named}：已办结，请评价",
        f"{named}：请补正材料",
        f"{named}：已容缺受理，请按承诺日期补交材料",
    ]
    await gql.login("agent_zhao", PASSWORD)
    gql.language = "en"
    inbox = await gql("{ notifications { edges { node { title body } } } }")
    assert [e["node"]["body"] for e in inbox["notifications"]["edges"]] == [
        f"食品经营许可证变更 (no. {await _number(gid)}): new request received"
    ]
    gql.language = None

    # The documents: the desk's other agent may fetch them, another desk's agent may not.
    assert await fetch_file(gql.http, gql.token, poa) == 200
    await gql.login("agent_xishan", PASSWORD)
    assert await fetch_file(gql.http, gql.token, poa) == 404
    # The one-enterprise file lists it.
    await gql.login("ent_user", PASSWORD)
    file = await gql(
        "query($id: ID!) { enterprise(id: $id) { agencyRequests { edges { node { id state } } } } }",
        {"id": ent},
    )
    assert file["enterprise"]["agencyRequests"]["edges"] == [
        {"node": {"id": gid, "state": "COMPLETED"}}
    ]


async def _number(gid: str) -> str:
    return (await AgencyRequest.get(id=id_of(gid, "AgencyRequest"))).number or ""


async def _request(w: AgencyWorld) -> str:
    r = await ops.submit_agency_request(
        w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
    )
    return to_global_id("AgencyRequest", r.id)


async def test_another_desk_and_another_enterprise_see_nothing(gql):
    w = await build_agency_world()
    gid = await _request(w)
    look = """query($id: ID!) { agencyRequest(id: $id) { id } node(id: $id) { id }
                agencyRequests { totalCount } }"""
    await gql.login("agent_li", PASSWORD)
    shown = await gql("query($id: ID!) { agencyRequest(id: $id) { timeline { id } } }", {"id": gid})
    event = shown["agencyRequest"]["timeline"][0]["id"]
    event_node = "query($id: ID!) { node(id: $id) { ... on AgencyEvent { action } } }"
    assert (await gql(event_node, {"id": event}))["node"] == {"action": "SUBMIT"}
    for who in ("agent_xishan", "outsider"):
        await gql.login(who, PASSWORD)
        data = await gql(look, {"id": gid})
        assert data == {"agencyRequest": None, "node": None, "agencyRequests": {"totalCount": 0}}
        assert (await gql(event_node, {"id": event}))["node"] is None
        err = await refused(
            gql, who, "acceptAgencyRequest", "AcceptAgencyRequestInput", {"agencyRequestId": gid}
        )
        assert err["code"] == "NOT_FOUND"
    for who in ("agent_li", "ent_user2", "supervisor", "cadre_a"):
        await gql.login(who, PASSWORD)
        assert (await gql(look, {"id": gid}))["agencyRequest"] == {"id": gid}, who
    err = await refused(
        gql, "ent_user", "acceptAgencyRequest", "AcceptAgencyRequestInput", {"agencyRequestId": gid}
    )
    assert err == {"code": "FORBIDDEN", "field": None, "message": "无权执行此操作"}


async def test_refusals_conflicts_and_their_messages(gql):
    w = await build_agency_world()
    gid = await _request(w)
    err = await refused(
        gql,
        "agent_li",
        "acceptAgencyRequest",
        "AcceptAgencyRequestInput",
        {
            "agencyRequestId": gid,
            "missingMaterials": [{"name": "授权委托书", "promisedBy": "2099-01-01"}],
        },
    )
    assert err["code"] == "MATERIAL_NOT_WAIVABLE"
    assert err["field"] == "missingMaterials.0.name"
    assert err["message"] == "材料「授权委托书」不在本事项可容缺受理的材料之列"
    r = await act(
        gql, "agent_li", "acceptAgencyRequest", "AcceptAgencyRequestInput", {"agencyRequestId": gid}
    )
    err = await refused(  # a colleague's screen still shows the old version
        gql,
        "agent_zhao",
        "startHandling",
        "AgencyNoteInput",
        {"agencyRequestId": gid, "version": r["version"] - 1},
    )
    assert (
        err["code"] == "CONFLICT" and err["message"] == "该帮办代办申请已被他人处理，请刷新后重试"
    )
    err = await refused(
        gql,
        "agent_zhao",
        "assignAgent",
        "AssignAgentInput",
        {"agencyRequestId": gid, "agentId": to_global_id("User", w.users["other_agent"].id)},
    )
    assert err["code"] == "AGENT_NOT_AT_POINT" and err["field"] == "agentId"
    await act(
        gql,
        "agent_li",
        "completeAgencyRequest",
        "CompleteAgencyRequestInput",
        {"agencyRequestId": gid, "resultText": "已办结"},
    )
    gql.language = "en"
    err = await refused(
        gql, "ent_user", "cancelAgencyRequest", "AgencyReasonInput", {"agencyRequestId": gid}
    )
    assert err["code"] == "INVALID_STATE"
    assert err["message"] == "The agency request is completed; cancel is not possible now"
    gql.language = None
    err = await refused(
        gql, "ent_user", "cancelAgencyRequest", "AgencyReasonInput", {"agencyRequestId": gid}
    )
    assert err["message"] == "帮办代办申请当前为「已办结」状态，不能执行「撤销」"

    # A bad rating opens a rectification with its deadline; the agent records it.
    with server_clock() as at:
        at.moment = shanghai(2026, 11, 20, 10)
        r = await act(
            gql,
            "ent_user",
            "rateAgencyRequest",
            "RateAgencyRequestInput",
            {"agencyRequestId": gid, "rating": "DISSATISFIED", "comment": "跑了好几趟"},
        )
        await gql.login("agent_zhao", PASSWORD)
        shown = await gql(
            "query($id: ID!) { agencyRequest(id: $id) { rectificationState "
            "rectificationDeadline allowedActions } }",
            {"id": gid},
        )
        assert shown["agencyRequest"] == {
            "rectificationState": "OPEN",
            "rectificationDeadline": "2026-11-27",
            "allowedActions": ["RECORD_RECTIFICATION"],
        }
        await act(
            gql,
            "agent_zhao",
            "recordAgencyRectification",
            "AgencyNoteInput",
            {"agencyRequestId": gid, "note": "已改进一次性告知"},
        )
    await gql.login("supervisor", PASSWORD)
    inbox = await gql("{ notifications { edges { node { body } } } }")
    assert [e["node"]["body"] for e in inbox["notifications"]["edges"]] == [
        f"食品经营许可证变更（工单号 {await _number(gid)}）：收到差评，请在整改期限内整改"
    ]


async def test_the_overdue_filter_returns_exactly_the_overdue_ones(gql):
    w = await build_agency_world()
    with acting_at(shanghai(2026, 11, 2, 10)):
        late = await ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        await ops.accept_agency_request(w.agent, late.id)  # due 11-09
        paused = await ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        await ops.accept_agency_request(w.agent, paused.id)
        await ops.request_materials(
            w.agent, paused.id, materials=[ops.RequestedMaterial("经营场所平面布局图")], note="补正"
        )
        done = await ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        await ops.accept_agency_request(w.agent, done.id)
    with acting_at(shanghai(2026, 11, 11, 10)):  # completed late
        await ops.complete_agency_request(w.agent, done.id, result_text="已办结")
    with acting_at(shanghai(2026, 11, 9, 10)):
        fresh = await ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        await ops.accept_agency_request(w.agent, fresh.id)  # due 11-16
        await ops.submit_agency_request(  # not accepted: no clock
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
    q = """query($f: AgencyRequestFilter) { agencyRequests(filter: $f) {
             edges { node { id overdue onTime effectiveDeadline } } } }"""
    await gql.login("agent_li", PASSWORD)
    with server_clock() as at:
        at.moment = shanghai(2026, 11, 12, 9)
        overdue = (await gql(q, {"f": {"overdue": True}}))["agencyRequests"]["edges"]
        rest = (await gql(q, {"f": {"overdue": False}}))["agencyRequests"]["edges"]
    assert [e["node"]["id"] for e in overdue] == [to_global_id("AgencyRequest", late.id)]
    assert overdue[0]["node"]["overdue"] is True
    assert len(rest) == 4 and not any(e["node"]["overdue"] for e in rest)
    by_id = {e["node"]["id"]: e["node"] for e in rest}
    assert by_id[to_global_id("AgencyRequest", done.id)]["onTime"] is False
    # Paused since 11-02: eight working days to 11-12 move its deadline from 11-09 to 11-19.
    assert by_id[to_global_id("AgencyRequest", paused.id)]["effectiveDeadline"] == "2026-11-19"


LIST_SCREEN = """query($first: Int) { agencyRequests(first: $first) { totalCount edges { node {
  id state procedureName deadline effectiveDeadline overdue remainingWorkingDays allowedActions
  actions { action allowed dueOn hint reason { code message } }
  servicePointName enterprise { name creditCode } agent { displayName }
  missingMaterials { name } lastEvent { action at actorName } } } } }"""


async def test_listing_agency_requests_costs_the_same_sql_for_10_and_50(gql):
    w = await build_agency_world()
    agent = await load_actor(w.users["agent"].id)
    for i in range(50):
        r = await ops.submit_agency_request(
            w.contact,
            enterprise_id=w.base.ent_a1.id,
            procedure_id=w.food_licence.id,
            description=f"第 {i} 件",
        )
        if i % 2:
            await ops.accept_agency_request(agent, r.id)
    await gql.login("agent_zhao", PASSWORD)
    await gql(LIST_SCREEN, {"first": 5})  # warm the per-process calendar cache
    counts = {}
    for size in (10, 50):
        with counting_sql() as statements:
            data = await gql(LIST_SCREEN, {"first": size})
        assert len(data["agencyRequests"]["edges"]) == size
        counts[size] = len(statements)
    # Besides the bearer's session: the page with enterprise, point and last event joined (1),
    # the agents for the whole page (1), totalCount (1).
    assert counts[10] == counts[50] == 3, counts
    # Keyset paging walks all 50, newest first, without repeats.
    seen: list[str] = []
    after = None
    while True:
        page = await gql(
            """query($a: String) { agencyRequests(first: 20, after: $a) {
                 pageInfo { hasNextPage endCursor } edges { node { id } } } }""",
            {"a": after},
        )
        seen += [e["node"]["id"] for e in page["agencyRequests"]["edges"]]
        if not page["agencyRequests"]["pageInfo"]["hasNextPage"]:
            break
        after = page["agencyRequests"]["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 50
    assert seen[0] == to_global_id("AgencyRequest", r.id)
