"""The audit log over HTTP: sign-ins, admin changes (committed with them, refusals marked),
sign-outs, token reuse and exports are recorded with who, what, when and from where; only
administrators read it, and the database refuses to change or delete its rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.connection import get_connection

from models.rules.audit import REDACTED
from models.tables.audit import AuditEntry
from models.tables.org import Department, Region
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import PASSWORD, build_world, make_user

LOG = """query($f: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id at actorUsername actor { username } action objectType objectId
      details address outcome } } } }"""
LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken refreshToken errors { code } } }"""


async def read_log(gql: GraphQLClient, **flt: Any) -> list[dict[str, Any]]:
    data = await gql(LOG, {"f": flt or None, "first": 100})
    return [e["node"] for e in data["auditLog"]["edges"]]


async def as_admin(gql: GraphQLClient, username: str = "county_admin") -> GraphQLClient:
    admin = GraphQLClient(gql.http)
    await admin.login(username, PASSWORD)
    return admin


async def test_sign_ins_are_recorded_with_the_username_tried_and_the_address(gql):
    w = await build_world()
    await make_user("root", "ADMIN", None)  # a system administrator reads every row
    await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    await gql(LOGIN, {"u": "no.such.user", "p": "whatever-it-is"})
    await gql.login("cadre_a", PASSWORD)
    admin = await as_admin(gql, "root")
    rows = await read_log(admin, action="LOGIN")
    # Newest first: the admin's own sign-in, the cadre's, then the two failures.
    assert [(r["actorUsername"], r["outcome"], r["details"]) for r in rows] == [
        ("root", "SUCCESS", {}),
        ("cadre_a", "SUCCESS", {}),
        ("no.such.user", "REFUSED", {"code": "INVALID_CREDENTIALS"}),
        ("cadre_a", "REFUSED", {"code": "INVALID_CREDENTIALS"}),
    ]
    assert {r["address"] for r in rows} == {"127.0.0.1"}
    assert rows[1]["actor"] == {"username": "cadre_a"}
    assert rows[1]["objectId"] == to_global_id("User", w.cadre_a.id)
    assert rows[2]["actor"] is None  # nobody has that username
    assert "wrong-password" not in json.dumps(rows)
    stamps = [datetime.fromisoformat(r["at"]) for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert datetime.now(UTC) - stamps[-1] < timedelta(minutes=1)


async def test_locked_and_throttled_sign_ins_are_recorded_as_refused(gql):
    await build_world()
    for _ in range(5):
        await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    await gql(LOGIN, {"u": "cadre_a", "p": PASSWORD})
    admin = await as_admin(gql)
    rows = await read_log(admin, actorUsername="cadre_a")
    # The caller read INVALID_CREDENTIALS each time; the log says the last one was held back.
    assert [r["details"]["code"] for r in rows] == ["LOGIN_DELAYED"] + 5 * ["INVALID_CREDENTIALS"]


async def test_admin_changes_are_recorded_without_secrets(gql):
    w = await build_world()
    admin = await as_admin(gql)
    county = str(to_global_id("Region", w.county.id))
    user = (
        await admin(
            """mutation { createUser(input: {username: "li.handler", displayName: "李科员",
            password: "a-secret-password-9"}) { user { id } errors { code } } }"""
        )
    )["createUser"]["user"]
    dept = (
        await admin(
            """mutation($r: ID!) { createDepartment(input: {name: "县税务局", regionId: $r})
            { department { id } errors { code } } }""",
            {"r": county},
        )
    )["createDepartment"]["department"]
    grant = (
        await admin(
            """mutation($u: ID!, $r: ID!, $d: ID!) { grantRole(input: {userId: $u,
            role: HANDLER, regionId: $r, departmentId: $d}) { grant { id } errors { code } } }""",
            {"u": user["id"], "r": county, "d": dept["id"]},
        )
    )["grantRole"]["grant"]
    revoked = await admin(
        """mutation($g: ID!) { revokeRole(input: {id: $g}) { deletedId errors { code } } }""",
        {"g": grant["id"]},
    )
    assert revoked["revokeRole"]["errors"] == []
    await admin(
        """mutation($u: ID!) { updateUser(input: {id: $u, password: "another-secret-77"})
        { errors { code } } }""",
        {"u": user["id"]},
    )
    rows = await read_log(admin)
    changes = [r for r in rows if r["action"] != "LOGIN"]
    assert [(r["action"], r["objectType"], r["objectId"], r["outcome"]) for r in changes] == [
        ("USER_UPDATE", "User", user["id"], "SUCCESS"),
        ("ROLE_REVOKE", "RoleGrant", grant["id"], "SUCCESS"),
        ("ROLE_GRANT", "RoleGrant", grant["id"], "SUCCESS"),
        ("DEPARTMENT_CREATE", "Department", dept["id"], "SUCCESS"),
        ("USER_CREATE", "User", user["id"], "SUCCESS"),
    ]
    assert {r["actorUsername"] for r in changes} == {"county_admin"}
    assert {r["actor"]["username"] for r in changes} == {"county_admin"}
    update, revoke, grant_row, dept_row, create = changes
    assert create["details"] == {
        "username": "li.handler",
        "displayName": "李科员",
        "password": REDACTED,
    }
    assert update["details"] == {"id": user["id"], "password": REDACTED}
    assert grant_row["details"]["role"] == "HANDLER"
    assert grant_row["details"]["userId"] == user["id"]
    # What the revoked grant held, though the row is gone.
    assert revoke["details"]["role"] == "HANDLER"
    assert revoke["details"]["userId"] == user["id"]
    assert revoke["details"]["departmentId"] == dept["id"]
    assert dept_row["details"] == {"name": "县税务局", "regionId": county}
    text = json.dumps(rows, ensure_ascii=False)
    assert "a-secret-password-9" not in text and "another-secret-77" not in text
    stored = await AuditEntry.all().values_list("details", flat=True)
    assert "a-secret-password-9" not in json.dumps(stored, ensure_ascii=False)


async def test_a_refused_change_leaves_no_success_row_and_no_change(gql):
    w = await build_world()
    admin = await as_admin(gql)
    county = str(to_global_id("Region", w.county.id))
    before = await Region.all().count()
    dup = await admin(
        """mutation($p: ID!) { createRegion(input: {name: "城关镇", level: TOWN, parentId: $p})
        { region { id } errors { code } } }""",
        {"p": county},
    )
    assert dup["createRegion"]["errors"] == [{"code": "DUPLICATE_NAME"}]
    assert await Region.all().count() == before
    rows = await read_log(admin, action="REGION_CREATE")
    assert [(r["outcome"], r["objectId"], r["details"]["code"]) for r in rows] == [
        ("REFUSED", None, "DUPLICATE_NAME")
    ]
    # A non-admin's attempt is recorded too, as refused, and changes nothing.
    cadre = GraphQLClient(gql.http)
    await cadre.login("cadre_a", PASSWORD)
    refused = await cadre(
        """mutation($r: ID!) { createDepartment(input: {name: "假局", regionId: $r})
        { department { id } errors { code } } }""",
        {"r": county},
    )
    assert refused["createDepartment"]["errors"] == [{"code": "FORBIDDEN"}]
    assert not await Department.filter(name="假局").exists()
    attempt = (await read_log(admin, action="DEPARTMENT_CREATE"))[0]
    assert attempt["actorUsername"] == "cadre_a" and attempt["outcome"] == "REFUSED"
    assert attempt["details"] == {
        "name": "假局",
        "regionId": county,
        "code": "FORBIDDEN",
    }
    # Signed out: refused, and nobody to record.
    anonymous = await GraphQLClient(gql.http)(
        """mutation($r: ID!) { createDepartment(input: {name: "无名局", regionId: $r})
        { errors { code } } }""",
        {"r": county},
    )
    assert anonymous["createDepartment"]["errors"] == [{"code": "UNAUTHENTICATED"}]
    assert len(await read_log(admin, action="DEPARTMENT_CREATE")) == 1


async def test_a_conflicting_update_is_rolled_back_with_its_row(gql):
    """The change and its row are one transaction: the losing save of an optimistic lock
    leaves the enterprise as it was and no SUCCESS row."""
    w = await build_world()
    admin = await as_admin(gql)
    ent = to_global_id("Enterprise", w.ent_a1.id)
    update = """mutation($e: ID!, $v: Int!, $n: String!) { updateEnterprise(input: {id: $e,
      version: $v, name: $n}) { enterprise { name version } errors { code } } }"""
    won = await admin(update, {"e": ent, "v": 1, "n": "清河县恒达机械有限公司"})
    lost = await admin(update, {"e": ent, "v": 1, "n": "清河县另一个名字有限公司"})
    assert won["updateEnterprise"]["enterprise"]["version"] == 2
    assert lost["updateEnterprise"]["errors"] == [{"code": "VERSION_CONFLICT"}]
    rows = await read_log(admin, action="ENTERPRISE_UPDATE")
    assert [(r["outcome"], r["details"]["name"]) for r in rows] == [
        ("REFUSED", "清河县另一个名字有限公司"),
        ("SUCCESS", "清河县恒达机械有限公司"),
    ]


async def test_calendar_policy_and_catalog_changes_are_recorded(gql):
    w = await build_world()
    admin = await as_admin(gql)
    county = str(to_global_id("Region", w.county.id))
    days = await admin(
        """mutation($r: ID!) { setRegionCalendarDays(input: {regionId: $r, days: [
        {date: "2026-06-15", isWorkday: false, name: "县庆"}]}) { errors { code } } }""",
        {"r": county},
    )
    assert days["setRegionCalendarDays"]["errors"] == []
    removed = await admin(
        """mutation($r: ID!) { removeRegionCalendarDay(input: {regionId: $r,
        date: "2026-06-15"}) { errors { code } } }""",
        {"r": county},
    )
    assert removed["removeRegionCalendarDay"]["errors"] == []
    policy = await admin(
        """mutation($r: ID!) { setRegionPolicy(input: {regionId: $r, returnWindowDays: 3})
        { errors { code } } }""",
        {"r": county},
    )
    assert policy["setRegionPolicy"]["errors"] == []
    year = await admin(
        """mutation { clearCalendarYear(input: {year: 2027}) { errors { code } } }"""
    )
    assert year["clearCalendarYear"]["errors"] == [{"code": "FORBIDDEN"}]  # system admins only
    rows = await read_log(admin)
    assert [(r["action"], r["objectType"], r["objectId"], r["outcome"]) for r in rows[:4]] == [
        ("CALENDAR_YEAR_CLEAR", "CalendarYear", None, "REFUSED"),
        ("REGION_POLICY_SET", "Region", county, "SUCCESS"),
        ("REGION_CALENDAR_DAY_REMOVE", "Region", county, "SUCCESS"),
        ("REGION_CALENDAR_DAYS_SET", "Region", county, "SUCCESS"),
    ]
    assert rows[3]["details"]["days"] == [
        {"date": "2026-06-15", "isWorkday": False, "name": "县庆"}
    ]
    assert rows[1]["details"] == {"regionId": county, "returnWindowDays": 3}


async def test_a_system_administrators_calendar_year_is_recorded_by_year(gql):
    await build_world()
    await make_user("root", "ADMIN", None)
    root = GraphQLClient(gql.http)
    await root.login("root", PASSWORD)
    done = await root(
        """mutation { setCalendarYear(input: {year: 2031, holidays: [
        {date: "2031-10-01", name: "国庆节"}], note: "国办发明电〔2030〕7号"}) { errors { code } } }"""
    )
    assert done["setCalendarYear"]["errors"] == []
    row = (await read_log(root, action="CALENDAR_YEAR_SET"))[0]
    assert (row["objectType"], row["objectId"], row["outcome"]) == (
        "CalendarYear",
        "2031",
        "SUCCESS",
    )
    assert row["details"]["holidays"] == [{"date": "2031-10-01", "name": "国庆节"}]


async def test_sign_outs_and_token_reuse_are_recorded(gql):
    await build_world()
    first = await gql.login("cadre_a", PASSWORD)
    refresh = """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
      refreshToken errors { code } } }"""
    second = (await gql(refresh, {"t": first["refreshToken"]}))["refreshToken"]
    await gql(refresh, {"t": first["refreshToken"]})  # reused: the family is revoked
    again = await gql.login("cadre_a", PASSWORD)
    for token in (again["refreshToken"], again["refreshToken"], second["refreshToken"]):
        # Signing out twice, or of a session already ended, is fine and recorded once.
        await gql(
            """mutation($t: String) { logout(input: {refreshToken: $t}) { ok } }""",
            {"t": token},
        )
    # Signing out of this session ended its access token too: a new session to end them all.
    await gql.login("cadre_a", PASSWORD)
    await gql("""mutation { logout(input: {everywhere: true}) { ok } }""")
    admin = await as_admin(gql)
    rows = await read_log(admin, actorUsername="cadre_a")
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("LOGOUT_EVERYWHERE", "SUCCESS"),
        ("LOGIN", "SUCCESS"),
        ("LOGOUT", "SUCCESS"),
        ("LOGIN", "SUCCESS"),
        ("REFRESH_TOKEN_REUSED", "REFUSED"),
        ("LOGIN", "SUCCESS"),
    ]
    assert rows[4]["details"] == {"revoked": 2}  # the reused token and the one it made
    text = json.dumps(rows)
    assert first["refreshToken"] not in text and second["refreshToken"] not in text


async def test_exports_are_recorded(gql):
    w = await build_world()
    await make_user("supervisor", "SUPERVISOR", w.county)
    sup = GraphQLClient(gql.http)
    await sup.login("supervisor", PASSWORD)
    headers = {"Authorization": f"Bearer {sup.token}"}
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    town = str(to_global_id("Region", w.town_a.id))
    csv = await gql.http.get(
        "/exports/demands.csv", params={**period, "regionId": town}, headers=headers
    )
    assert csv.status_code == 200
    xlsx = await gql.http.get("/exports/problem-list.xlsx", params=period, headers=headers)
    assert xlsx.status_code == 200
    cadre = GraphQLClient(gql.http)
    await cadre.login("cadre_a", PASSWORD)
    refused = await gql.http.get(
        "/exports/demands.csv", params=period, headers={"Authorization": f"Bearer {cadre.token}"}
    )
    assert refused.status_code == 403
    admin = await as_admin(gql)
    rows = await read_log(admin, action="EXPORT")
    assert [(r["actorUsername"], r["objectId"], r["outcome"]) for r in rows] == [
        ("cadre_a", None, "REFUSED"),
        ("supervisor", "problem-list", "SUCCESS"),
        ("supervisor", "demands", "SUCCESS"),
    ]
    assert rows[2]["details"] == {"format": "csv", **period, "regionId": town}
    assert rows[1]["details"] == {"format": "xlsx", **period, "rows": 0}
    assert rows[0]["details"]["code"] == "FORBIDDEN"


async def test_only_administrators_read_the_log(gql):
    await build_world()
    await gql.login("cadre_a", PASSWORD)
    gql.language = "en"
    resp = await gql.post(LOG)
    error = resp.json()["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == "You are not allowed to do this"
    gql.token = None
    resp = await gql.post(LOG)
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_regional_administrator_reads_their_own_peoples_rows(gql):
    w = await build_world()
    other = await Region.create(name="东山县", level="COUNTY", code="330598")
    other.path = f"/{other.id}/"
    await other.save(update_fields=["path"])
    await make_user("east_admin", "ADMIN", other)
    await make_user("root", "ADMIN", None)
    east = GraphQLClient(gql.http)
    await east.login("east_admin", PASSWORD)
    await gql.login("cadre_a", PASSWORD)
    await gql(LOGIN, {"u": "nobody.at.all", "p": "whatever-it-is"})
    admin = await as_admin(gql)
    root = GraphQLClient(gql.http)
    await root.login("root", PASSWORD)
    county_view = {r["actorUsername"] for r in await read_log(admin)}
    assert county_view == {"county_admin", "cadre_a"}
    assert {r["actorUsername"] for r in await read_log(east)} == {"east_admin"}
    everyone = {r["actorUsername"] for r in await read_log(root)}
    assert everyone == {"county_admin", "cadre_a", "east_admin", "root", "nobody.at.all"}
    assert w.county.id != other.id


async def test_filters_and_pages(gql):
    w = await build_world()
    admin = await as_admin(gql)
    for name in ("甲局", "乙局", "丙局"):
        await admin(
            """mutation($n: String!, $r: ID!) { createDepartment(input: {name: $n,
            regionId: $r}) { errors { code } } }""",
            {"n": name, "r": str(to_global_id("Region", w.county.id))},
        )
    await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    everything = await read_log(admin)
    assert len(everything) == 5
    page = await admin(LOG, {"f": {"action": "DEPARTMENT_CREATE"}, "first": 2})
    first = [e["node"]["details"]["name"] for e in page["auditLog"]["edges"]]
    assert first == ["丙局", "乙局"] and page["auditLog"]["totalCount"] == 3
    assert page["auditLog"]["pageInfo"]["hasNextPage"] is True
    after = page["auditLog"]["pageInfo"]["endCursor"]
    rest = await admin(LOG, {"f": {"action": "DEPARTMENT_CREATE"}, "first": 2, "after": after})
    assert [e["node"]["details"]["name"] for e in rest["auditLog"]["edges"]] == ["甲局"]
    admin_id = everything[-1]["actor"] and to_global_id("User", w.admin.id)
    mine = await read_log(admin, actorId=admin_id)
    assert {r["actorUsername"] for r in mine} == {"county_admin"} and len(mine) == 4
    assert [r["outcome"] for r in await read_log(admin, outcome="REFUSED")] == ["REFUSED"]
    assert len(await read_log(admin, objectType="Department")) == 3
    one = everything[0]
    assert one["action"] == "LOGIN"
    dept = (await read_log(admin, objectType="Department"))[0]
    assert [r["objectId"] for r in await read_log(admin, objectId=dept["objectId"])] == [
        dept["objectId"]
    ]
    middle = datetime.fromisoformat(dept["at"])
    newer = await read_log(admin, **{"from": middle.isoformat()})
    older = await read_log(admin, to=middle.isoformat())
    assert len(newer) + len(older) == 5 and dept["id"] in {r["id"] for r in newer}
    resp = await admin.post(
        LOG, {"f": {"from": middle.isoformat(), "to": (middle - timedelta(days=1)).isoformat()}}
    )
    assert resp.json()["errors"][0]["extensions"]["code"] == "INVALID_DATE_RANGE"


async def test_the_api_offers_no_way_to_change_the_log(gql):
    resp = await gql.post("{ __schema { mutationType { fields { name } } } }")
    names = [f["name"].lower() for f in resp.json()["data"]["__schema"]["mutationType"]["fields"]]
    assert names and not [n for n in names if "audit" in n]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'SUCCESS'",
        "UPDATE audit_log SET details = '{}' WHERE id = (SELECT max(id) FROM audit_log)",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    ],
)
async def test_the_database_refuses_to_change_or_delete_rows(gql, statement):
    await build_world()
    await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    before = await AuditEntry.all().values("id", "outcome", "action")
    conn = get_connection("default")
    with pytest.raises(Exception, match="append-only"):
        await conn.execute_query(statement)
    assert await AuditEntry.all().values("id", "outcome", "action") == before


async def test_a_system_administrator_made_on_the_command_line_is_recorded(gql):
    from models.ops.org import create_system_admin

    user = await create_system_admin("root", PASSWORD, display_name="系统管理员")
    root = await as_admin(gql, "root")
    rows = [r for r in await read_log(root) if r["action"] != "LOGIN"]
    assert [(r["action"], r["objectType"], r["actorUsername"], r["address"]) for r in rows] == [
        ("ROLE_GRANT", "RoleGrant", "", "command line"),
        ("USER_CREATE", "User", "", "command line"),
    ]
    assert rows[0]["details"] == {"username": "root", "role": "ADMIN"}
    assert rows[1]["objectId"] == to_global_id("User", user.id)
    assert rows[0]["actor"] is None
