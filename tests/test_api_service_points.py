"""Service points and appointments over HTTP, as the enterprise app, the agents and the
administrators use them: nearest desks by true distance, filters, paging, the admin mutations
with their messages, agent grants, booking at once from two phones, the agent's day list, and
the list's SQL per request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from models.access import load_actor
from models.ops import appointments as appt_ops
from models.rules.clock import TZ, acting_at, now, shanghai
from models.rules.geo import distance_m, to_wgs84, wgs84_to_gcj02
from models.rules.roles import CoordinateSystem
from models.tables.service_points import AppointmentSlot
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import PASSWORD, make_user
from tests.service_point_world import (
    ALL_WEEK,
    EAST,
    NORTH,
    USER_WGS,
    WEST,
    PointWorld,
    build_point_world,
    make_point,
)
from tests.sql_log import counting_sql

NEAR = """query($near: NearInput, $region: ID, $search: String, $first: Int, $after: String) {
  servicePoints(near: $near, regionId: $region, procedureSearch: $search, first: $first,
                after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { name distanceM } } } }"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


def phone_position() -> dict:
    lat, lng = wgs84_to_gcj02(*USER_WGS)  # what Amap reports where the user stands
    return {"latitude": lat, "longitude": lng, "coordinateSystem": "GCJ02"}


async def test_nearest_points_by_true_distance_from_a_gcj02_position(gql):
    await build_point_world()
    await gql.login("ent_user", PASSWORD)
    near = phone_position()
    data = await gql(NEAR, {"near": near})
    edges = data["servicePoints"]["edges"]
    assert [e["node"]["name"] for e in edges] == ["西街服务站", "北园服务站", "东关服务站"]
    # Measured independently: the phone's GCJ-02 position converted to WGS-84.
    here = to_wgs84(near["latitude"], near["longitude"], CoordinateSystem.GCJ02)
    for edge, point in zip(edges, (WEST, NORTH, EAST), strict=True):
        assert abs(edge["node"]["distanceM"] - distance_m(*here, *point)) < 1
    assert 195 < edges[0]["node"]["distanceM"] < 205 and 515 < edges[2]["node"]["distanceM"] < 530
    # Comparing the raw numbers would have put the east desk first.
    raw = sorted(
        (distance_m(near["latitude"], near["longitude"], *p), n)
        for n, p in (("东关", EAST), ("北园", NORTH), ("西街", WEST))
    )
    assert [n for _, n in raw] == ["东关", "北园", "西街"]

    # Paging by (distance, id): two pages, nothing lost or repeated.
    page1 = (await gql(NEAR, {"near": near, "first": 2}))["servicePoints"]
    assert page1["totalCount"] == 3 and page1["pageInfo"]["hasNextPage"] is True
    page2 = (await gql(NEAR, {"near": near, "first": 2, "after": page1["pageInfo"]["endCursor"]}))[
        "servicePoints"
    ]
    assert [e["node"]["name"] for e in page1["edges"] + page2["edges"]] == [
        "西街服务站",
        "北园服务站",
        "东关服务站",
    ]
    assert page2["pageInfo"]["hasNextPage"] is False

    # Without near: by name, no distance.
    plain = (await gql(NEAR, {"first": 2}))["servicePoints"]
    assert [e["node"]["distanceM"] for e in plain["edges"]] == [None, None]
    rest = (await gql(NEAR, {"after": plain["pageInfo"]["endCursor"]}))["servicePoints"]
    names = [e["node"]["name"] for e in plain["edges"] + rest["edges"]]
    assert sorted(names) == names and len(names) == 3


async def test_filters_by_region_and_procedure(gql):
    w = await build_point_world()
    await gql.login("ent_user", PASSWORD)
    town_a = await gql(NEAR, {"region": gid("Region", w.base.town_a.id), "near": phone_position()})
    assert [e["node"]["name"] for e in town_a["servicePoints"]["edges"]] == [
        "北园服务站",
        "东关服务站",
    ]
    found = await gql(NEAR, {"search": "许可证"})
    assert [e["node"]["name"] for e in found["servicePoints"]["edges"]] == ["北园服务站"]
    assert (await gql(NEAR, {"search": "个体工商户"}))["servicePoints"]["totalCount"] == 1
    assert (await gql(NEAR, {"search": "不存在的事项"}))["servicePoints"]["totalCount"] == 0

    # A withdrawn point is gone for enterprises; its county's administrator still sees it.
    await gql.login("county_admin", PASSWORD)
    withdrawn = await gql(
        """mutation($id: ID!) { updateServicePoint(input: {id: $id, isActive: false, version: 1}) {
             servicePoint { isActive version } errors { code } } }""",
        {"id": gid("ServicePoint", w.east.id)},
    )
    assert withdrawn["updateServicePoint"] == {
        "servicePoint": {"isActive": False, "version": 2},
        "errors": [],
    }
    assert (await gql(NEAR, {}))["servicePoints"]["totalCount"] == 3
    await gql.login("ent_user", PASSWORD)
    assert (await gql(NEAR, {}))["servicePoints"]["totalCount"] == 2
    gone = await gql(
        "query($id: ID!) { servicePoint(id: $id) { name } }", {"id": gid("ServicePoint", w.east.id)}
    )
    assert gone["servicePoint"] is None


POINT = """query($id: ID!) { servicePoint(id: $id) {
  id name address phone coordinateSystem latitude longitude isActive version slotMinutes
  slotCapacity closedOnHolidays
  region { name }
  gcj: location(coordinateSystem: GCJ02) { latitude longitude coordinateSystem }
  wgs: location(coordinateSystem: WGS84) { latitude longitude }
  agents { id displayName }
  procedures { name code department { name } materials { name mayBeMissing note }
               statutoryDays promisedDays fees onlineUrl } } }"""


async def test_one_point_for_the_enterprise_app(gql):
    w = await build_point_world()
    await gql.login("contact_c", PASSWORD)
    p = (await gql(POINT, {"id": gid("ServicePoint", w.north.id)}))["servicePoint"]
    assert p["region"] == {"name": "城关镇"} and p["phone"] == "0531-88881234"
    assert (p["latitude"], p["longitude"], p["coordinateSystem"]) == (*NORTH, "WGS84")
    assert (p["wgs"]["latitude"], p["wgs"]["longitude"]) == NORTH
    glat, glng = wgs84_to_gcj02(*NORTH)
    assert abs(p["gcj"]["latitude"] - glat) < 1e-9 and abs(p["gcj"]["longitude"] - glng) < 1e-9
    assert p["agents"] == [{"id": gid("User", w.agent_north.id), "displayName": "agent_north"}]
    assert p["procedures"] == [
        {
            "name": "食品经营许可证变更",
            "code": "370100-SJ-001",
            "department": {"name": "县市场监督管理局"},
            "materials": [
                {"name": "授权委托书", "mayBeMissing": False, "note": ""},
                {"name": "营业执照复印件", "mayBeMissing": True, "note": "可后补"},
            ],
            "statutoryDays": 20,
            "promisedDays": 5,
            "fees": "不收费",
            "onlineUrl": "https://zwfw.example.gov.cn/item/1",
        }
    ]
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on ServicePoint { name } } }", {"id": p["id"]}
    )
    assert node["node"] == {"name": "北园服务站"}
    proc = await gql(
        "query($id: ID!) { node(id: $id) { ... on Procedure { name promisedDays } } }",
        {"id": gid("Procedure", w.licence.id)},
    )
    assert proc["node"] == {"name": "食品经营许可证变更", "promisedDays": 5}


CREATE = """mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) {
  servicePoint { name phone openingHours { weekday periods { start end } } version }
  errors { code field message } } }"""


async def test_admin_mutations_and_their_messages(gql):
    w = await build_point_world()
    await gql.login("county_admin", PASSWORD)
    base = {
        "name": "南门服务站",
        "regionId": gid("Region", w.base.town_a.id),
        "latitude": 36.61,
        "longitude": 117.01,
        "phone": "0531 6666 8888",
    }
    bad_hours = [
        {"weekday": "MON", "periods": [{"start": "08:30", "end": "12:00"}]},
        {"weekday": "WED", "periods": [{"start": "14:00", "end": "09:00"}]},
    ]
    zh = (await gql(CREATE, {"input": {**base, "openingHours": bad_hours}}))["createServicePoint"]
    assert zh["servicePoint"] is None
    assert zh["errors"] == [
        {
            "code": "INVALID_OPENING_HOURS",
            "field": "openingHours",
            "message": "营业时间有误（星期三）：开始时间须早于结束时间",
        }
    ]
    gql.language = "en"
    en = (await gql(CREATE, {"input": {**base, "openingHours": bad_hours}}))["createServicePoint"]
    assert en["errors"][0]["message"] == (
        "Opening hours are not valid (Wednesday): a period must start before it ends"
    )
    gql.language = None
    good = [{"weekday": "MON", "periods": [{"start": "08:30", "end": "17:30"}]}]
    made = (await gql(CREATE, {"input": {**base, "openingHours": good}}))["createServicePoint"]
    assert made == {
        "servicePoint": {
            "name": "南门服务站",
            "phone": "0531-66668888",
            "openingHours": [{"weekday": "MON", "periods": [{"start": "08:30", "end": "17:30"}]}],
            "version": 1,
        },
        "errors": [],
    }

    # Another county's administrator is refused, creating and changing alike.
    await gql.login("other_admin", PASSWORD)
    other = (await gql(CREATE, {"input": {**base, "name": "越界服务站"}}))["createServicePoint"]
    assert [(e["code"], e["field"]) for e in other["errors"]] == [
        ("REGION_OUT_OF_SCOPE", "regionId")
    ]
    assert other["errors"][0]["message"] == "该区域不在您的管辖范围内"
    changed = await gql(
        """mutation($id: ID!) { updateServicePoint(input: {id: $id, name: "改名"}) {
             servicePoint { name } errors { code } } }""",
        {"id": gid("ServicePoint", w.east.id)},
    )
    assert changed["updateServicePoint"] == {
        "servicePoint": None,
        "errors": [{"code": "REGION_OUT_OF_SCOPE"}],
    }

    # Procedures: created, then corrected with departmentId cleared and statutoryDays kept.
    await gql.login("county_admin", PASSWORD)
    proc = await gql(
        """mutation($p: ID!, $d: ID!) { createProcedure(input: {servicePointId: $p,
             name: "营业执照变更", promisedDays: 3, statutoryDays: 15, departmentId: $d,
             materials: [{name: "申请书"}, {name: "章程", mayBeMissing: true, note: "后补"}],
             onlineUrl: "https://example.gov.cn/x"}) {
             procedure { id name department { name } statutoryDays materials { name mayBeMissing } }
             errors { code field } } }""",
        {"p": gid("ServicePoint", w.east.id), "d": gid("Department", w.bureau.id)},
    )
    created = proc["createProcedure"]
    assert created["errors"] == [] and created["procedure"]["department"] == {
        "name": "县市场监督管理局"
    }
    updated = await gql(
        """mutation($id: ID!) { updateProcedure(input: {id: $id, departmentId: null,
             promisedDays: 16}) { procedure { department { name } statutoryDays promisedDays }
             errors { code field } } }""",
        {"id": created["procedure"]["id"]},
    )
    assert updated["updateProcedure"]["errors"] == [
        {"code": "PROMISED_OVER_STATUTORY", "field": "promisedDays"}
    ]
    updated = await gql(
        """mutation($id: ID!) { updateProcedure(input: {id: $id, departmentId: null,
             promisedDays: 10}) { procedure { department { name } statutoryDays promisedDays }
             errors { code field } } }""",
        {"id": created["procedure"]["id"]},
    )
    assert updated["updateProcedure"] == {
        "procedure": {"department": None, "statutoryDays": 15, "promisedDays": 10},
        "errors": [],
    }


async def test_grant_role_names_the_agents_point(gql):
    w = await build_point_world()
    user = await make_user("new_agent", None, None)
    await gql.login("county_admin", PASSWORD)
    grant = """mutation($u: ID!, $p: ID) { grantRole(input: {userId: $u, role: SERVICE_AGENT,
        servicePointId: $p}) { grant { role region { name } servicePoint { name } }
        errors { code field } } }"""
    missing = await gql(grant, {"u": gid("User", user.id), "p": None})
    assert missing["grantRole"]["errors"] == [
        {"code": "SERVICE_POINT_REQUIRED", "field": "servicePointId"}
    ]
    made = await gql(grant, {"u": gid("User", user.id), "p": gid("ServicePoint", w.west.id)})
    assert made["grantRole"] == {
        "grant": {
            "role": "SERVICE_AGENT",
            "region": {"name": "西山镇"},
            "servicePoint": {"name": "西街服务站"},
        },
        "errors": [],
    }
    await gql.login("new_agent", PASSWORD)
    me = await gql("{ me { grants { role servicePoint { name } } } }")
    assert me["me"]["grants"] == [{"role": "SERVICE_AGENT", "servicePoint": {"name": "西街服务站"}}]


BOOK = """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
  appointment { id status startsAt endsAt note enterprise { name } bookedBy { displayName }
                servicePoint { name } procedure { name } }
  errors { code field message } } }"""


async def test_two_phones_booking_the_last_place_at_once(gql, server_url):
    """Over HTTP the server's clock is the real one: a point open all week, tomorrow's 10:00."""
    w = await build_point_world()
    point = await make_point(
        w.base.town_a,
        "全天服务站",
        EAST,
        opening_hours=ALL_WEEK,
        closed_on_holidays=False,
        slot_minutes=60,
        slot_capacity=1,
    )
    tomorrow = (now().astimezone(TZ) + timedelta(days=1)).date()
    starts = shanghai(tomorrow.year, tomorrow.month, tomorrow.day, 10)
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as h2:
        other = GraphQLClient(h2)
        await gql.login("contact_a2", PASSWORD)
        await other.login("contact_c", PASSWORD)
        free = await gql(
            """query($p: ID!, $d: Date!) { appointmentSlots(servicePointId: $p, date: $d) {
                 startsAt capacity booked available bookable } }""",
            {"p": gid("ServicePoint", point.id), "d": tomorrow.isoformat()},
        )
        assert len(free["appointmentSlots"]) == 24
        ten = free["appointmentSlots"][10]
        assert (ten["capacity"], ten["booked"], ten["bookable"]) == (1, 0, True)

        def book_input(ent: str) -> dict:
            return {
                "input": {
                    "servicePointId": gid("ServicePoint", point.id),
                    "enterpriseId": gid("Enterprise", w.enterprises[ent].id),
                    "startsAt": starts.isoformat(),
                    "note": "咨询",
                }
            }

        a, b = await asyncio.gather(gql(BOOK, book_input("a2")), other(BOOK, book_input("c")))
    results = [a["bookAppointment"], b["bookAppointment"]]
    winners = [r for r in results if r["appointment"]]
    losers = [r for r in results if r["errors"]]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0]["errors"] == [
        {"code": "SLOT_FULL", "field": "startsAt", "message": "该时段已约满，请选择其他时段"}
    ]
    assert winners[0]["appointment"]["status"] == "BOOKED"
    assert winners[0]["appointment"]["servicePoint"] == {"name": "全天服务站"}
    slot = await AppointmentSlot.get(service_point_id=point.id)
    assert (slot.booked, slot.capacity) == (1, 1)

    # The winner cancels; the place is free again and shows so.
    if not a["bookAppointment"]["appointment"]:
        await gql.login("contact_c", PASSWORD)
    cancel = await gql(
        """mutation($id: ID!) { cancelAppointment(input: {id: $id, reason: "改期"}) {
             appointment { status } errors { code } } }""",
        {"id": winners[0]["appointment"]["id"]},
    )
    assert cancel["cancelAppointment"] == {"appointment": {"status": "CANCELLED"}, "errors": []}
    again = await gql(
        """query($p: ID!, $d: Date!) { appointmentSlots(servicePointId: $p, date: $d) {
             booked available } }""",
        {"p": gid("ServicePoint", point.id), "d": tomorrow.isoformat()},
    )
    assert again["appointmentSlots"][10] == {"booked": 0, "available": 1}


DAY_LIST = """query($p: ID, $d: Date) { appointments(servicePointId: $p, date: $d) {
  totalCount edges { node { startsAt status note enterprise { name } bookedBy { displayName }
  procedure { name } servicePoint { name } } } } }"""


async def _book(w: PointWorld, contact: str, ent: str, point: int, at, **kw) -> None:
    actor = await load_actor(w.contacts[contact].id)
    await appt_ops.book_appointment(
        actor,
        appt_ops.AppointmentData(
            service_point_id=point, enterprise_id=w.enterprises[ent].id, starts_at=at, **kw
        ),
    )


async def test_the_agents_day_list(gql):
    w = await build_point_world()
    with acting_at(shanghai(2026, 10, 12, 9)):
        await _book(w, "contact_c", "c", w.north.id, shanghai(2026, 10, 13, 14))
        await _book(
            w,
            "ent_user",
            "a1",
            w.north.id,
            shanghai(2026, 10, 13, 9),
            procedure_id=w.licence.id,
            note="许可证变更",
        )
        await _book(w, "contact_a2", "a2", w.north.id, shanghai(2026, 10, 14, 9))
        await _book(w, "contact_a2", "a2", w.east.id, shanghai(2026, 10, 13, 9))
    await gql.login("agent_north", PASSWORD)
    day = {"p": gid("ServicePoint", w.north.id), "d": "2026-10-13"}
    listed = (await gql(DAY_LIST, day))["appointments"]
    assert listed["totalCount"] == 2
    nodes = [e["node"] for e in listed["edges"]]
    assert [(n["enterprise"]["name"], n["startsAt"]) for n in nodes] == [
        ("清河县恒达机械制造有限公司", "2026-10-13T09:00:00+08:00"),
        ("清河县宏图包装有限公司", "2026-10-13T14:00:00+08:00"),
    ]
    assert nodes[0]["procedure"] == {"name": "食品经营许可证变更"}
    assert nodes[0]["bookedBy"] == {"displayName": "ent_user"} and nodes[0]["note"] == "许可证变更"
    assert (await gql(DAY_LIST, {}))["appointments"]["totalCount"] == 3  # all north's days

    # The east desk's agent sees none of north's, and north's agent none of east's.
    await gql.login("agent_east", PASSWORD)
    assert (await gql(DAY_LIST, day))["appointments"]["totalCount"] == 0
    assert (await gql(DAY_LIST, {}))["appointments"]["totalCount"] == 1
    # An enterprise contact sees its own enterprise's; the county admin all of them.
    await gql.login("contact_a2", PASSWORD)
    assert (await gql(DAY_LIST, {}))["appointments"]["totalCount"] == 2
    await gql.login("county_admin", PASSWORD)
    assert (await gql(DAY_LIST, {}))["appointments"]["totalCount"] == 4
    await gql.login("other_admin", PASSWORD)
    assert (await gql(DAY_LIST, {}))["appointments"]["totalCount"] == 0


LIST_COST = """{ servicePoints(first: 50) { edges { node { name openNow nextOpeningAt
  region { name } agents { displayName } procedures { name department { name } } } } } }"""


async def test_listing_points_costs_the_same_sql_for_3_and_30(gql):
    w = await build_point_world()
    await gql.login("ent_user", PASSWORD)
    await gql(LIST_COST)  # warm the calendar cache
    with counting_sql() as few:
        await gql(LIST_COST)
    for i in range(27):
        await make_point(w.base.town_b if i % 2 else w.base.town_a, f"服务站{i:02d}", EAST)
    await gql(LIST_COST)
    with counting_sql() as many:
        data = await gql(LIST_COST)
    assert len(data["servicePoints"]["edges"]) == 30
    assert len(many) == len(few), (few, many)
