"""The demand loop over HTTP, as the three apps drive it."""

from __future__ import annotations

from models.access import load_actor, system_actor
from models.db.sql_count import STATEMENTS
from models.ops import demands as ops
from models.ops import policy as policy_ops
from models.ops.attachments import store_upload
from models.rules.clock import acting_at, shanghai
from models.tables.demands import Demand, DemandEvent, MutationReceipt
from schema.relay import id_of, to_global_id
from tests.conftest import IS_POSTGRES
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD
from tests.sql_log import counting_sql

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

FIELDS = """id state version title overdue warning remainingWorkingDays deadline
  effectiveDeadline deadlineConfirmed allowedActions pendingRequest
  enterprise { name } department { name } category { name }
  lastEvent { action actorName toState }"""

SUBMIT = f"""mutation($input: SubmitDemandInput!) {{ submitDemand(input: $input) {{
  demand {{ {FIELDS} }} errors {{ code field message }} }} }}"""


def mutation(name: str, input_type: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
      demand {{ {FIELDS} }} errors {{ code field message }} }} }}"""


async def act(gql, username: str, name: str, input_type: str, variables: dict) -> dict:
    await gql.login(username, PASSWORD)
    data = await gql(mutation(name, input_type), {"input": variables})
    payload = data[name]
    assert payload["errors"] == [], payload["errors"]
    return payload["demand"]


async def test_closed_loop_over_http_with_buttons_and_timeline(gql):
    w = await build_demand_world()
    await gql.login("ent_user", PASSWORD)
    submit = {
        "enterpriseId": to_global_id("Enterprise", w.base.ent_a1.id),
        "title": "扩建用地审批两个月未办结",
        "description": "我司扩建项目用地审批已停滞两个月。",
        "categoryId": to_global_id("DemandCategory", w.category.id),
        "clientMutationId": "0b9e2b1c-77aa-4c55-9d2e-3f1e0c4a5b6d",
    }
    first = (await gql(SUBMIT, {"input": submit}))["submitDemand"]
    again = (await gql(SUBMIT, {"input": submit}))["submitDemand"]  # the app retried
    assert first["errors"] == [] and again["demand"]["id"] == first["demand"]["id"]
    d = first["demand"]
    assert d["state"] == "SUBMITTED" and d["lastEvent"]["action"] == "SUBMIT"
    assert d["allowedActions"] == ["WITHDRAW"]
    gid = d["id"]

    await gql.login("dispatcher", PASSWORD)
    listed = await gql(
        "{ demands(filter: {state: SUBMITTED}) { totalCount edges { node { id allowedActions } } } }"
    )
    assert listed["demands"]["totalCount"] == 1
    assert set(listed["demands"]["edges"][0]["node"]["allowedActions"]) == {
        "REJECT",
        "ANSWER_DIRECTLY",
        "MERGE",
        "DISPATCH",
    }
    d = await act(
        gql,
        "dispatcher",
        "dispatchDemand",
        "DispatchDemandInput",
        {
            "demandId": gid,
            "departmentId": to_global_id("Department", w.bureau.id),
            "limitDays": 5,
        },
    )
    assert d["state"] == "DISPATCHED" and d["department"]["name"] == "县自然资源局"
    assert d["remainingWorkingDays"] == 5 and d["overdue"] is False

    await gql.login("handler", PASSWORD)
    mine = await gql(
        "{ demands(filter: {assignedToMe: true}) { edges { node { id allowedActions } } } }"
    )
    assert [e["node"]["id"] for e in mine["demands"]["edges"]] == [gid]
    assert set(mine["demands"]["edges"][0]["node"]["allowedActions"]) == {"CLAIM", "RETURN"}
    d = await act(
        gql, "handler", "claimDemand", "TransitionInput", {"demandId": gid, "version": d["version"]}
    )
    assert d["state"] == "IN_PROGRESS"
    d = await act(
        gql,
        "handler",
        "replyDemand",
        "ReplyDemandInput",
        {"demandId": gid, "outcome": "RESOLVED", "text": "已完成审批，许可证已发放"},
    )
    assert d["state"] == "PENDING_APPROVAL"
    d = await act(gql, "lead", "approveReply", "DecisionInput", {"demandId": gid, "approve": True})
    d = await act(
        gql, "dispatcher", "reviewReply", "ReviewReplyInput", {"demandId": gid, "passed": True}
    )
    assert d["state"] == "PENDING_VISIT"
    d = await act(
        gql, "ent_user", "rateDemand", "RateDemandInput", {"demandId": gid, "rating": "SATISFIED"}
    )
    assert d["state"] == "CLOSED" and d["allowedActions"] == []

    detail = await gql(
        """query($id: ID!) { demand(id: $id) { timeline { action fromState toState actorName
             actor { username } } } }""",
        {"id": gid},
    )
    timeline = detail["demand"]["timeline"]
    assert [e["action"] for e in timeline] == [
        "SUBMIT",
        "DISPATCH",
        "CLAIM",
        "REPLY",
        "APPROVE_REPLY",
        "REVIEW_REPLY",
        "RATE",
    ]
    assert timeline[2]["actor"] == {"username": "handler"} and timeline[0]["fromState"] is None


async def test_refusals_are_payload_errors_in_chinese_or_english(gql):
    w = await build_demand_world()
    d = await w.dispatched()
    await gql.login("cadre_a", PASSWORD)  # a cadre sees the demand but cannot close it
    query = mutation("claimDemand", "TransitionInput")
    data = await gql(query, {"input": {"demandId": to_global_id("Demand", d.id)}})
    assert data["claimDemand"] == {
        "demand": None,
        "errors": [{"code": "FORBIDDEN", "field": None, "message": "无权执行此操作"}],
    }
    await gql.login("handler", PASSWORD)
    gql.language = "en"
    data = await gql(
        mutation("replyDemand", "ReplyDemandInput"),
        {"input": {"demandId": to_global_id("Demand", d.id), "outcome": "RESOLVED", "text": "x"}},
    )
    err = data["replyDemand"]["errors"][0]
    assert err["code"] == "INVALID_STATE" and "Dispatched" in err["message"]


async def test_an_enterprise_never_sees_a_competitors_demand(gql):
    w = await build_demand_world()
    theirs = await ops.submit_demand(
        w.outsider,
        ops.DemandData(enterprise_id=w.base.ent_b1.id, title="竞争对手诉求", description="保密"),
    )
    mine = await w.submit()
    await gql.login("ent_user", PASSWORD)
    data = await gql(
        """query($id: ID!) { demand(id: $id) { id } node(id: $id) { id }
             demands { totalCount edges { node { id } } } }""",
        {"id": to_global_id("Demand", theirs.id)},
    )
    assert data["demand"] is None and data["node"] is None
    assert [e["node"]["id"] for e in data["demands"]["edges"]] == [to_global_id("Demand", mine.id)]


async def test_overdue_and_warning_filters_follow_the_calendar(gql):
    w = await build_demand_world()
    with acting_at(shanghai(2025, 9, 26, 9)):
        late = await w.dispatched(limit_days=5)  # due 2025-10-10: long past
    fresh = await w.dispatched(limit_days=20)
    await gql.login("dispatcher", PASSWORD)
    q = "query($f: DemandFilter) { demands(filter: $f) { edges { node { id overdue remainingWorkingDays } } } }"
    overdue = (await gql(q, {"f": {"overdue": True}}))["demands"]["edges"]
    assert [e["node"]["id"] for e in overdue] == [to_global_id("Demand", late.id)]
    assert overdue[0]["node"]["overdue"] is True and overdue[0]["node"]["remainingWorkingDays"] < 0
    on_time = (await gql(q, {"f": {"overdue": False}}))["demands"]["edges"]
    assert [e["node"]["id"] for e in on_time] == [to_global_id("Demand", fresh.id)]
    assert (await gql(q, {"f": {"warning": True}}))["demands"]["edges"] == []


LIST_SCREEN = """query($first: Int) { demands(first: $first) { totalCount edges { node {
  id title state deadline overdue remainingWorkingDays allowedActions
  actions { action allowed until dueOn remaining hint reason { code field message } }
  enterprise { name creditCode } department { name } category { name }
  lastEvent { action at actorName } } } } }"""


async def test_sql_statements_per_list_do_not_grow_with_page_size(gql):
    w = await build_demand_world()
    dispatcher = await load_actor(w.users["dispatcher"].id)
    for i in range(50):
        d = await w.submit(title=f"诉求 {i}")
        if i % 2:
            await ops.dispatch_demand(dispatcher, d.id, department_id=w.bureau.id)
    await gql.login("dispatcher", PASSWORD)
    await gql(LIST_SCREEN, {"first": 5})  # warm the per-process calendar and policy caches
    counts = {}
    for size in (10, 50):
        with counting_sql() as statements:
            data = await gql(LIST_SCREEN, {"first": size})
        assert len(data["demands"]["edges"]) == size
        counts[size] = len(statements)
    # Besides the bearer's session check: the page with its enterprise, department, category
    # and last event joined (1) and totalCount (1); nothing per row (the regions' policies and
    # calendars are cached per process).
    assert counts[10] == counts[50] == 2, counts


DETAIL_SCREEN = """query($id: ID!) { demand(id: $id) { id title state remainingWorkingDays
  enterprise { name } category { name } department { name } handler { displayName }
  timeline { action at actorName actor { id displayName } attachments { fileName } }
  attachments { fileName } } }"""


async def test_a_demand_detail_costs_the_same_sql_for_a_short_and_a_long_timeline(gql):
    w = await build_demand_world()
    short = await w.in_progress()  # submitted, dispatched, claimed: three events
    long = await w.in_progress()
    for i in range(3):  # six more events, by the handler and the dispatcher in turn
        await ops.request_extension(w.handler, long.id, days=2, reason=f"需补充材料 {i}")
        await ops.decide_extension(w.dispatcher, long.id, approve=True)
    await gql.login("handler", PASSWORD)
    bare = "query($id: ID!) { demand(id: $id) { id } }"
    await gql(bare, {"id": to_global_id("Demand", short.id)})  # the region's policy, cached
    with counting_sql() as alone:
        await gql(bare, {"id": to_global_id("Demand", short.id)})
    counts, events = {}, {}
    for d in (short, long):
        with counting_sql() as statements:
            data = await gql(DETAIL_SCREEN, {"id": to_global_id("Demand", d.id)})
        timeline = data["demand"]["timeline"]
        assert {e["actor"]["displayName"] for e in timeline} == {e["actorName"] for e in timeline}
        assert data["demand"]["handler"]["displayName"] == w.users["handler"].display_name
        counts[d.id], events[d.id] = len(statements), len(timeline)
    assert events[long.id] == events[short.id] + 6
    # The demand with enterprise, department, category, last event and handler joined, its
    # timeline (each actor joined) and its files, which the events' files are taken from: one
    # statement, as for the demand alone (the bearer's session check is not counted).
    assert counts[long.id] == counts[short.id] == len(alone) == 1, (counts, alone)


async def test_each_event_of_the_timeline_lists_its_own_files(gql, storage):
    """The events' files are taken from the demand's files (one statement for both): each event
    shows exactly the files sent with it, the demand all of them."""
    w = await build_demand_world()
    photo = await store_upload(w.contact, "现场照片.png", "image/png", PNG)
    d = await w.submit(attachment_ids=[photo.id])
    d = await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id)
    d = await ops.claim_demand(w.handler, d.id)
    reply_files = [
        await store_upload(w.handler, name, "application/pdf", PDF)
        for name in ("协调会纪要.pdf", "用地批复.pdf")
    ]
    await ops.reply_demand(
        w.handler,
        d.id,
        outcome="RESOLVED",
        text_="已协调解决。",
        attachment_ids=[f.id for f in reply_files],
    )
    await gql.login("handler", PASSWORD)
    data = await gql(DETAIL_SCREEN, {"id": to_global_id("Demand", d.id)})
    files = {
        e["action"]: [f["fileName"] for f in e["attachments"]] for e in data["demand"]["timeline"]
    }
    assert files["SUBMIT"] == ["现场照片.png"]
    assert files["REPLY"] == ["协调会纪要.pdf", "用地批复.pdf"]
    assert files["DISPATCH"] == files["CLAIM"] == []
    assert [f["fileName"] for f in data["demand"]["attachments"]] == [
        "现场照片.png",
        "协调会纪要.pdf",
        "用地批复.pdf",
    ]


# The same fields as the list asks them (one statement per relation, through DataLoaders),
# then as the detail (with the demand's row) through the compiled executor, through a fragment,
# and through strawberry's (an @include leaves the compiled path).
LISTS = """id action at fromState toState note data actorName actor { id username displayName }
  attachments { id fileName contentType size url createdAt photoLocation { latitude } }"""
FILES = "id fileName contentType size url createdAt photoLocation { latitude longitude takenAt }"
LISTS_IN_LIST = f"""query {{ demands(first: 10) {{ edges {{ node {{ id
  timeline {{ {LISTS} }} attachments {{ {FILES} }} }} }} }} }}"""
LISTS_IN_DETAIL = (
    f"query($id: ID!) {{ demand(id: $id) {{ id timeline {{ {LISTS} }} attachments {{ {FILES} }} }} }}",
    f"""query($id: ID!) {{ demand(id: $id) {{ ...Lists }} }}
    fragment Lists on Demand {{ id ... on Demand {{ timeline {{ {LISTS} }} }} attachments {{ {FILES} }} }}""",
    f"""query($id: ID!, $yes: Boolean = true) {{ demand(id: $id) {{ id
    timeline @include(if: $yes) {{ {LISTS} }} attachments {{ {FILES} }} }} }}""",
)


async def test_the_detail_reads_its_timeline_and_files_with_its_row_as_the_list_reads_them(
    gql, storage
):
    """The detail's timeline and files come in the demand's own statement (as JSON): the same
    values, types and order as the list's DataLoaders give, on SQLite and PostgreSQL alike."""
    from tests.test_photo_meta import encode, make_exif

    w = await build_demand_world()
    photo = await store_upload(w.contact, "现场照片.jpg", "image/jpeg", encode("JPEG", make_exif()))
    d = await w.submit(attachment_ids=[photo.id])
    d = await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id)
    d = await ops.claim_demand(w.handler, d.id)
    await ops.request_extension(w.handler, d.id, days=2, reason="需补充材料")
    await ops.decide_extension(w.dispatcher, d.id, approve=True)
    pdf = await store_upload(w.handler, "用地批复.pdf", "application/pdf", PDF)
    await ops.reply_demand(
        w.handler, d.id, outcome="RESOLVED", text_="已协调解决。", attachment_ids=[pdf.id]
    )
    await gql.login("handler", PASSWORD)
    listed = [e["node"] for e in (await gql(LISTS_IN_LIST))["demands"]["edges"]]
    expected = next(n for n in listed if n["id"] == to_global_id("Demand", d.id))
    timeline = expected["timeline"]
    assert [e["action"] for e in timeline] == [
        "SUBMIT",
        "DISPATCH",
        "CLAIM",
        "REQUEST_EXTENSION",
        "DECIDE_EXTENSION",
        "REPLY",
    ]
    assert timeline[0]["fromState"] is None
    assert (timeline[1]["fromState"], timeline[1]["toState"]) == ("SUBMITTED", "DISPATCHED")
    assert timeline[3]["data"] == {"days": 2} and timeline[3]["note"] == "需补充材料"
    assert timeline[0]["at"].endswith("+08:00") and timeline[0]["actor"]["username"] == "ent_user"
    assert [f["fileName"] for f in timeline[0]["attachments"]] == ["现场照片.jpg"]
    assert timeline[0]["attachments"][0]["photoLocation"]["latitude"] > 30
    assert [f["fileName"] for f in expected["attachments"]] == ["现场照片.jpg", "用地批复.pdf"]
    with counting_sql() as bare:
        await gql("query($id: ID!) { demand(id: $id) { id title } }", {"id": expected["id"]})
    for query in LISTS_IN_DETAIL:
        with counting_sql() as statements:
            data = await gql(query, {"id": expected["id"]})
        assert data["demand"] == expected
        # No statement of their own: as many as for the demand alone, one reading the events.
        assert len(statements) == len(bare), statements
        assert len([s for s in statements if '"demand_event" n0' in s]) == 1, statements


SUBMIT_S4 = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id state submittedAt } errors { code field message } } }"""


def _s4_input(w, n: int, **changes: object) -> dict:
    return {
        "input": {
            "enterpriseId": to_global_id("Enterprise", w.base.ent_a1.id),
            "title": "申请稳岗返还政策兑现",
            "description": "我司今年未裁员，想了解稳岗返还的申请时间。",
            "categoryId": to_global_id("DemandCategory", w.category.id),
            "clientMutationId": f"5f0c1f4e-8f0e-4b8a-9d3c-00000000000{n}",
            **changes,
        }
    }


async def test_submitting_a_demand_costs_four_statements_on_postgresql(gql):
    """The mobile submit (bench S4), counted besides the bearer's session check (which
    models.session_cache may answer): the enterprise's region with the contact check and
    the category's check joined (1); the demand, its first event and the receipt, each naming
    the others, and its work-order number drawn from its counter, in one statement that needs
    no transaction (1; SQLite, without data-modifying CTEs: 5 in a transaction); the answer's
    demand as the contact reads it (1). A retry is known by its receipt: not looked for
    first."""
    w = await build_demand_world()
    await gql.login("ent_user", PASSWORD)
    for n in range(2):  # the second without the first request's one-time caches
        control = STATEMENTS.control
        with counting_sql() as statements:
            data = await gql(SUBMIT_S4, _s4_input(w, n))
        control = STATEMENTS.control - control
        assert data["submitDemand"]["errors"] == [] and data["submitDemand"]["demand"]
    assert (len(statements), control) == ((3, 0) if IS_POSTGRES else (7, 2)), statements
    demand = await Demand.get(id=id_of(data["submitDemand"]["demand"]["id"], "Demand"))
    event = await DemandEvent.get(demand_id=demand.id)
    assert demand.last_event_id == event.id and event.action == "SUBMIT"  # type: ignore[attr-defined]
    assert event.to_state == "SUBMITTED" and event.data == {"source": "APP"}
    receipt = await MutationReceipt.get(client_id="5f0c1f4e-8f0e-4b8a-9d3c-000000000001")
    assert receipt.object_id == demand.id and receipt.operation == "SUBMIT"
    # The app retries the same call: the same demand, nothing more written.
    again = await gql(SUBMIT_S4, _s4_input(w, 1))
    assert again["submitDemand"] == data["submitDemand"]
    assert await Demand.all().count() == 2 and await MutationReceipt.all().count() == 2
    reused = await gql(SUBMIT_S4, _s4_input(w, 1, title="另一件事"))
    assert reused["submitDemand"]["demand"] is None
    assert [(e["code"], e["field"]) for e in reused["submitDemand"]["errors"]] == [
        ("CLIENT_ID_REUSED", "clientMutationId")
    ]
    assert await Demand.all().count() == 2 and await DemandEvent.all().count() == 2


async def test_a_demand_takes_a_category_offered_in_its_enterprise_region(gql):
    """Nationwide categories and those of the enterprise's region or a region above it are
    offered; another town's, or one switched off, is NOT_FOUND, and nothing is written: the
    same clientMutationId then goes through with a category that is offered."""
    w = await build_demand_world()
    root = system_actor()
    county = await policy_ops.create_category(
        root, name="县级专项", code="COUNTY", region_id=w.base.county.id, limits={}
    )
    town = await policy_ops.create_category(
        root, name="城关镇专项", code="CHENGGUAN", region_id=w.base.town_a.id, limits={}
    )
    other_town = await policy_ops.create_category(
        root, name="西山镇专项", code="XISHAN", region_id=w.base.town_b.id, limits={}
    )
    off = await policy_ops.create_category(
        root, name="已停用", code="RETIRED", region_id=w.base.county.id, limits={}
    )
    await policy_ops.update_category(root, off.id, is_active=False, limits={})
    await gql.login("ent_user", PASSWORD)

    async def submit(category_id: int, n: int, **changes: object) -> dict:
        category = to_global_id("DemandCategory", category_id)
        data = await gql(SUBMIT_S4, _s4_input(w, n, categoryId=category, **changes))
        return data["submitDemand"]

    for n, category in enumerate((w.category, county, town)):
        done = await submit(category.id, n)
        assert done["errors"] == [] and done["demand"]["state"] == "SUBMITTED"
    for category in (other_town, off):
        refused = await submit(category.id, 7)
        assert refused["demand"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "categoryId")]
    both = await submit(other_town.id, 7, title=" ")
    assert {(e["code"], e["field"]) for e in both["errors"]} == {
        ("REQUIRED", "title"),
        ("NOT_FOUND", "categoryId"),
    }
    counts = [await m.all().count() for m in (Demand, DemandEvent, MutationReceipt)]
    assert counts == [3, 3, 3]
    assert (await submit(town.id, 7))["errors"] == []
