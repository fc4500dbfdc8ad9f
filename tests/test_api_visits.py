"""Visits over HTTP, as the cadres' app drives them: offline double-send, check-in trust,
scope, the leader's to-do list, coverage, and the list's SQL per request."""

from __future__ import annotations

from models.access import load_actor
from models.ops import visits as ops
from models.rules.clock import acting_at, shanghai
from schema.relay import to_global_id
from tests.factories import PASSWORD
from tests.sql_log import counting_sql
from tests.visit_world import FACTORY_GCJ, VisitWorld, as_bd09, build_visit_world, new_id, offset

VISIT_FIELDS = """id status mode at visitedAt notes version locationTrust trustReason
  distanceMeters countsTowardCoverage allowedActions
  policies { policyId title }
  checkIn { latitude longitude coordinateSystem accuracy mockLocation }
  enterprise { name } lead { username }
  participants { isLead user { username } }
  photos { id contentType }
  demands { title source state }"""

LOG = f"""mutation($input: LogVisitInput!) {{ logVisit(input: $input) {{
  visit {{ {VISIT_FIELDS} }} errors {{ code field message }} }} }}"""
PLAN = f"""mutation($input: PlanVisitInput!) {{ planVisit(input: $input) {{
  visit {{ {VISIT_FIELDS} }} errors {{ code field message }} }} }}"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


def log_input(w: VisitWorld, **kw) -> dict:
    lat, lng = FACTORY_GCJ
    base = {
        "clientId": new_id(),
        "enterpriseId": gid("Enterprise", w.factory.id),
        "participantIds": [gid("User", w.cadre1.user_id), gid("User", w.cadre2.user_id)],
        "notes": "生产正常，订单增长，缺少熟练技工。",
        "checkIn": {"latitude": lat, "longitude": lng, "coordinateSystem": "GCJ02", "accuracy": 12},
    }
    base.update(kw)
    return base


async def test_the_double_send_scenario_over_http(gql):
    w = await build_visit_world()
    photos = [gid("Attachment", await w.photo(w.leader)) for _ in range(3)]
    await gql.login("leader", PASSWORD)
    payload = log_input(
        w,
        photoIds=photos,
        policies=[{"title": "技改补贴申报指南"}],
        demands=[
            {"title": "招工难，缺熟练技工", "description": "希望对接技工学校定向培养。"},
            {"title": "厂区道路破损", "description": "请求修复厂区门口道路。", "urgency": "URGENT"},
        ],
    )
    first = (await gql(LOG, {"input": payload}))["logVisit"]
    second = (await gql(LOG, {"input": payload}))["logVisit"]  # the first answer was lost
    assert first["errors"] == [] and second["errors"] == []
    assert second["visit"]["id"] == first["visit"]["id"]
    v = first["visit"]
    assert v["status"] == "COMPLETED" and v["locationTrust"] == "TRUSTED"
    assert v["countsTowardCoverage"] is True and v["distanceMeters"] < 1
    assert [p["user"]["username"] for p in v["participants"]] == ["leader", "cadre1", "cadre2"]
    assert [p["isLead"] for p in v["participants"]] == [True, False, False]
    assert len(v["photos"]) == 3 and {p["contentType"] for p in v["photos"]} == {"image/jpeg"}
    assert [(d["title"], d["source"], d["state"]) for d in v["demands"]] == [
        ("招工难，缺熟练技工", "VISIT", "SUBMITTED"),
        ("厂区道路破损", "VISIT", "SUBMITTED"),
    ]
    assert v["policies"] == [{"policyId": None, "title": "技改补贴申报指南"}]
    assert v["allowedActions"] == ["EDIT_NOTES"]
    listed = await gql("{ visits { totalCount } demands(filter: {}) { totalCount } }")
    assert listed["visits"]["totalCount"] == 1 and listed["demands"]["totalCount"] == 2

    # The same id with other content is refused, in Chinese by default and English on request.
    changed = {**payload, "notes": "改过的记录"}
    refused = (await gql(LOG, {"input": changed}))["logVisit"]
    assert refused["visit"] is None
    assert refused["errors"][0]["code"] == "CLIENT_ID_REUSED"
    assert refused["errors"][0]["field"] == "clientId"
    assert "请求编号" in refused["errors"][0]["message"]
    gql.language = "en"
    refused = (await gql(LOG, {"input": changed}))["logVisit"]
    assert "client id" in refused["errors"][0]["message"]


async def test_office_check_in_is_doubtful_and_left_out_of_coverage(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    lat, lng = offset(*FACTORY_GCJ, 4000)  # the office, 4 km away
    data = await gql(
        LOG,
        {
            "input": log_input(
                w,
                checkIn={
                    "latitude": lat,
                    "longitude": lng,
                    "coordinateSystem": "GCJ02",
                    "accuracy": 30,
                },
            )
        },
    )
    v = data["logVisit"]["visit"]
    assert v["locationTrust"] == "DOUBTFUL" and v["trustReason"] == "TOO_FAR"
    assert 3990 < v["distanceMeters"] < 4010 and v["countsTowardCoverage"] is False
    todo = await gql(
        """{ myAssignedEnterprises { totalCount edges { node { visitedInPeriod visitsInPeriod
             lastVisitAt enterprise { name } } } } }"""
    )
    rows = {
        e["node"]["enterprise"]["name"]: e["node"] for e in todo["myAssignedEnterprises"]["edges"]
    }
    assert rows[w.factory.name]["visitedInPeriod"] is False
    assert rows[w.factory.name]["lastVisitAt"] is not None  # it was logged, just not trusted
    doubtful = await gql("{ visits(filter: {trust: DOUBTFUL}) { totalCount } }")
    assert doubtful["visits"]["totalCount"] == 1


async def test_bd09_check_in_at_the_gate_is_trusted(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    lat, lng = as_bd09(*FACTORY_GCJ)
    data = await gql(
        LOG,
        {
            "input": log_input(
                w, checkIn={"latitude": lat, "longitude": lng, "coordinateSystem": "BD09"}
            )
        },
    )
    v = data["logVisit"]["visit"]
    assert v["locationTrust"] == "TRUSTED" and v["checkIn"]["coordinateSystem"] == "BD09"
    assert v["checkIn"]["latitude"] == lat


async def test_cadre_without_a_grant_on_the_region_is_refused(gql):
    w = await build_visit_world()
    await gql.login("town_b_cadre", PASSWORD)
    data = await gql(LOG, {"input": log_input(w, participantIds=[])})
    assert data["logVisit"]["visit"] is None
    assert [(e["code"], e["field"]) for e in data["logVisit"]["errors"]] == [
        ("NOT_FOUND", "enterpriseId")
    ]
    # Nor can they read the visits of town A.
    await gql.login("leader", PASSWORD)
    logged = (await gql(LOG, {"input": log_input(w)}))["logVisit"]["visit"]
    await gql.login("town_b_cadre", PASSWORD)
    seen = await gql(
        "query($id: ID!) { visit(id: $id) { id } node(id: $id) { id } visits { totalCount } }",
        {"id": logged["id"]},
    )
    assert seen == {"visit": None, "node": None, "visits": {"totalCount": 0}}
    # An enterprise's contact does not read the cadres' visit records.
    await gql.login("ent_user", PASSWORD)
    seen = await gql(
        """query($id: ID!, $e: ID!) { visit(id: $id) { id }
             enterprise(id: $e) { lastVisitAt visits { totalCount } } }""",
        {"id": logged["id"], "e": gid("Enterprise", w.factory.id)},
    )
    assert seen["visit"] is None and seen["enterprise"]["visits"]["totalCount"] == 0
    # The supervisor of the county reads it.
    await gql.login("supervisor", PASSWORD)
    seen = await gql(
        "query($id: ID!) { visit(id: $id) { notes photos { id } } }", {"id": logged["id"]}
    )
    assert seen["visit"]["notes"].startswith("生产正常")


async def test_coverage_counts_trusted_on_site_visits_only(gql):
    w = await build_visit_world()
    leader = w.leader
    lat, lng = FACTORY_GCJ
    at_gate = ops.CheckInData(latitude=lat, longitude=lng, system="GCJ02", accuracy_m=10)
    with acting_at(shanghai(2026, 10, 15, 10)):
        # Two of the three assigned enterprises visited on site, trusted, this quarter.
        await ops.log_visit(
            leader,
            w.factory.id,
            ops.VisitPeople(),
            ops.VisitReport(check_in=at_gate),
            client_id=new_id(),
        )
        b = w.bakery
        blat, blng = b.latitude, b.longitude
        assert blat is not None and blng is not None
        await ops.log_visit(
            leader,
            b.id,
            ops.VisitPeople(participant_ids=[w.cadre1.user_id]),
            ops.VisitReport(
                check_in=ops.CheckInData(latitude=blat, longitude=blng, system="GCJ02")
            ),
            client_id=new_id(),
        )
        # The third only by phone: logged, but not coverage.
        await ops.log_visit(
            leader,
            w.no_location.id,
            ops.VisitPeople(),
            ops.VisitReport(mode="PHONE"),
            client_id=new_id(),
        )
    with acting_at(shanghai(2026, 9, 20, 10)):  # last quarter: does not count for this one
        await ops.log_visit(
            leader,
            w.no_location.id,
            ops.VisitPeople(),
            ops.VisitReport(check_in=at_gate),
            client_id=new_id(),
        )
    await gql.login("supervisor", PASSWORD)
    cov = (
        await gql(
            """query($r: ID!) { visitCoverage(regionId: $r, on: "2026-11-23") { assigned visited rate
                 periodStart periodEnd byLeader { leader { username } assigned visited rate }
                 byRegion { region { name } assigned visited } } }""",
            {"r": gid("Region", w.base.county.id)},
        )
    )["visitCoverage"]
    assert (cov["periodStart"], cov["periodEnd"]) == ("2026-10-01", "2026-12-31")
    leader_row = next(r for r in cov["byLeader"] if r["leader"]["username"] == "leader")
    assert (leader_row["assigned"], leader_row["visited"]) == (3, 2)
    assert leader_row["rate"] == round(2 / 3, 4)
    # cadre_a is assigned the bakery too (the base world) and has not visited it.
    cadre_row = next(r for r in cov["byLeader"] if r["leader"]["username"] == "cadre_a")
    assert (cadre_row["assigned"], cadre_row["visited"]) == (1, 0)
    # The region counts enterprises: three assigned, two visited by a leader assigned to them.
    assert (cov["assigned"], cov["visited"]) == (3, 2)
    assert cov["byRegion"] == [{"region": {"name": "城关镇"}, "assigned": 3, "visited": 2}]

    await gql.login("leader", PASSWORD)
    todo = await gql(
        """{ myAssignedEnterprises(on: "2026-11-23", visited: false) { totalCount
             edges { node { enterprise { name } visitedInPeriod } } } }"""
    )
    assert [e["node"]["enterprise"]["name"] for e in todo["myAssignedEnterprises"]["edges"]] == [
        w.no_location.name
    ]
    # A town B cadre may not ask for the county's coverage.
    await gql.login("town_b_cadre", PASSWORD)
    resp = await gql.post(
        "query($r: ID!) { visitCoverage(regionId: $r) { assigned } }",
        {"r": gid("Region", w.base.county.id)},
    )
    assert resp.json()["errors"][0]["extensions"]["code"] == "REGION_OUT_OF_SCOPE"


async def test_coverage_lists_each_leaders_unvisited_enterprises(gql):
    w = await build_visit_world()
    lat, lng = FACTORY_GCJ
    blat, blng = w.bakery.latitude, w.bakery.longitude
    assert blat is not None and blng is not None
    away = offset(blat, blng, 4000)  # 4 km from the bakery
    with acting_at(shanghai(2026, 10, 15, 10)):
        # The factory visited on site, trusted; the bakery only with a check-in 4 km away
        # (DOUBTFUL); the third enterprise not at all.
        for enterprise, (clat, clng) in ((w.factory, (lat, lng)), (w.bakery, away)):
            await ops.log_visit(
                w.leader,
                enterprise.id,
                ops.VisitPeople(),
                ops.VisitReport(
                    check_in=ops.CheckInData(latitude=clat, longitude=clng, system="GCJ02")
                ),
                client_id=new_id(),
            )
    screen = """query($r: ID!) { visitCoverage(regionId: $r, on: "2026-11-23") {
      byLeader { leader { username } assigned visited unvisited { id name } } } }"""
    county = {"r": gid("Region", w.base.county.id)}
    await gql.login("supervisor", PASSWORD)
    trusts = await gql("{ visits { edges { node { enterprise { name } locationTrust } } } }")
    assert sorted(
        (e["node"]["enterprise"]["name"], e["node"]["locationTrust"])
        for e in trusts["visits"]["edges"]
    ) == sorted([(w.factory.name, "TRUSTED"), (w.bakery.name, "DOUBTFUL")])
    with counting_sql() as statements:
        cov = (await gql(screen, county))["visitCoverage"]
    rows = {r["leader"]["username"]: r for r in cov["byLeader"]}
    leader = rows["leader"]
    assert (leader["assigned"], leader["visited"]) == (3, 1)
    assert leader["unvisited"] == sorted(
        ({"id": gid("Enterprise", e.id), "name": e.name} for e in (w.bakery, w.no_location)),
        key=lambda e: e["name"],
    )
    # cadre_a (the base world) is assigned the bakery and has not been there.
    assert [e["name"] for e in rows["cadre_a"]["unvisited"]] == [w.bakery.name]
    for row in cov["byLeader"]:
        assert row["assigned"] - row["visited"] == len(row["unvisited"]), row
    # The lists cost one statement for all the leaders, not one each.
    without = screen.replace("unvisited { id name }", "")
    with counting_sql() as counted:
        await gql(without, county)
    assert len(statements) == len(counted) + 1, (statements, counted)

    # A town B cadre may not ask for them either.
    await gql.login("town_b_cadre", PASSWORD)
    resp = await gql.post(screen, county)
    assert resp.json()["errors"][0]["extensions"]["code"] == "REGION_OUT_OF_SCOPE"
    assert resp.json()["data"] is None


async def test_plan_then_complete_over_http(gql):
    w = await build_visit_world()
    await gql.login("cadre1", PASSWORD)
    planned = (
        await gql(
            PLAN,
            {
                "input": {
                    "clientId": new_id(),
                    "enterpriseId": gid("Enterprise", w.factory.id),
                    "leadId": gid("User", w.leader.user_id),
                    "plannedAt": "2099-11-26T09:30:00+08:00",
                    "purpose": "了解扩产用地需求",
                }
            },
        )
    )["planVisit"]
    assert planned["errors"] == []
    v = planned["visit"]
    assert v["status"] == "PLANNED" and v["lead"]["username"] == "leader"
    assert v["allowedActions"] == ["COMPLETE", "CANCEL"]
    lat, lng = FACTORY_GCJ
    done = (
        await gql(
            """mutation($input: CompleteVisitInput!) { completeVisit(input: $input) {
                 visit { status locationTrust demands { title } } errors { code field } } }""",
            {
                "input": {
                    "visitId": v["id"],
                    "clientId": new_id(),
                    "version": v["version"],
                    "checkIn": {"latitude": lat, "longitude": lng, "coordinateSystem": "GCJ02"},
                    "demands": [{"title": "用地指标", "description": "需新增用地 30 亩。"}],
                }
            },
        )
    )["completeVisit"]
    assert done["errors"] == []
    assert done["visit"]["status"] == "COMPLETED" and done["visit"]["locationTrust"] == "TRUSTED"
    assert done["visit"]["demands"] == [{"title": "用地指标"}]


async def test_listing_visits_costs_the_same_sql_for_10_and_50(gql):
    w = await build_visit_world()
    leader = await load_actor(w.leader.user_id)
    for i in range(50):
        ent = (w.factory, w.bakery, w.no_location)[i % 3]
        await ops.log_visit(
            leader,
            ent.id,
            ops.VisitPeople(participant_ids=[w.cadre1.user_id, w.cadre2.user_id]),
            ops.VisitReport(notes=f"第 {i} 次走访"),
            client_id=new_id(),
        )
    screen = """query($first: Int) { visits(first: $first) { totalCount edges { node {
      id at status locationTrust countsTowardCoverage allowedActions
      enterprise { name creditCode } lead { displayName }
      participants { isLead user { displayName } } } } } }"""
    await gql.login("supervisor", PASSWORD)
    counts = {}
    for size in (10, 50):
        with counting_sql() as statements:
            data = await gql(screen, {"first": size})
        assert len(data["visits"]["edges"]) == size
        assert len(data["visits"]["edges"][0]["node"]["participants"]) == 3
        counts[size] = len(statements)
    # Besides the bearer's session: the page with enterprise and lead joined (1), participants
    # for the whole page (1), totalCount (1).
    assert counts[10] == counts[50] == 3, counts
    # Keyset paging walks all 50 without repeats.
    seen: list[str] = []
    after = None
    while True:
        page = await gql(
            "query($a: String) { visits(first: 20, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id } } } }",
            {"a": after},
        )
        seen += [e["node"]["id"] for e in page["visits"]["edges"]]
        if not page["visits"]["pageInfo"]["hasNextPage"]:
            break
        after = page["visits"]["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 50


async def test_enterprise_file_shows_its_visits_and_last_visit(gql):
    w = await build_visit_world()
    leader = await load_actor(w.leader.user_id)
    with acting_at(shanghai(2026, 11, 2, 10)):
        await ops.log_visit(
            leader,
            w.factory.id,
            ops.VisitPeople(),
            ops.VisitReport(notes="第一次"),
            client_id=new_id(),
        )
    with acting_at(shanghai(2026, 11, 20, 15)):
        await ops.log_visit(
            leader,
            w.factory.id,
            ops.VisitPeople(),
            ops.VisitReport(notes="第二次"),
            client_id=new_id(),
        )
    await gql.login("cadre1", PASSWORD)
    data = await gql(
        """query($e: ID!) { enterprise(id: $e) { lastVisitAt
             visits(first: 5) { totalCount edges { node { notes } } } } }""",
        {"e": gid("Enterprise", w.factory.id)},
    )
    ent = data["enterprise"]
    assert ent["lastVisitAt"] == "2026-11-20T15:00:00+08:00"  # as every moment: Shanghai time
    assert [e["node"]["notes"] for e in ent["visits"]["edges"]] == ["第二次", "第一次"]
    filtered = await gql(
        '{ visits(filter: {from: "2026-11-10", to: "2026-11-30"}) { edges { node { notes } } } }'
    )
    assert [e["node"]["notes"] for e in filtered["visits"]["edges"]] == ["第二次"]


async def test_offline_queue_with_multipart_photos_sent_twice(gql, storage):
    """The phone uploads three photos and logs the visit; every request goes out twice
    because the answers were lost. One visit, two demands, three photos exist; the photos'
    EXIF positions reach those who may see the visit and nobody else."""
    from tests.test_api_uploads import upload
    from tests.test_photo_meta import encode, make_exif

    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    photo_ids = []
    for i in range(3):
        data = encode("JPEG", make_exif(taken=f"2026:11:26 10:0{i}:00"), size=(16 + i, 16))
        cid = new_id()
        answers = [
            (await upload(gql.http, gql.token, f"现场{i}.jpg", data, "image/jpeg", client_id=cid))
            for _ in range(2)
        ]
        ids = {a.json()["data"]["uploadAttachment"]["attachment"]["id"] for a in answers}
        assert len(ids) == 1
        photo_ids.append(ids.pop())
    payload = log_input(
        w,
        photoIds=photo_ids,
        demands=[
            {"title": "招工难", "description": "缺熟练技工。"},
            {"title": "道路破损", "description": "厂区门口道路破损。"},
        ],
    )
    first = (await gql(LOG, {"input": payload}))["logVisit"]
    second = (await gql(LOG, {"input": payload}))["logVisit"]
    assert first["errors"] == [] and second["visit"]["id"] == first["visit"]["id"]
    assert len(first["visit"]["photos"]) == 3 and len(first["visit"]["demands"]) == 2
    counts = await gql("{ visits { totalCount } demands { totalCount } }")
    assert counts == {"visits": {"totalCount": 1}, "demands": {"totalCount": 2}}
    stored = [p for p in storage.rglob("*") if p.is_file()]
    assert len(stored) == 3  # each photo's bytes kept once

    photo_query = """query($id: ID!) { visit(id: $id) { photos { id url
        photoLocation { latitude longitude takenAt } } } }"""
    await gql.login("supervisor", PASSWORD)
    seen = (await gql(photo_query, {"id": first["visit"]["id"]}))["visit"]["photos"]
    assert {p["photoLocation"]["takenAt"][:16] for p in seen} == {
        "2026-11-26T10:00",
        "2026-11-26T10:01",
        "2026-11-26T10:02",
    }
    url = seen[0]["url"]
    got = await gql.http.get(url, headers={"Authorization": f"Bearer {gql.token}"})
    assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"
    await gql.login("town_b_cadre", PASSWORD)
    assert (await gql(photo_query, {"id": first["visit"]["id"]}))["visit"] is None
    refused = await gql.http.get(url, headers={"Authorization": f"Bearer {gql.token}"})
    assert refused.status_code == 404
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": seen[0]["id"]})
    assert node["node"] is None
