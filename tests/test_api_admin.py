"""An administrator builds the organisation over HTTP; others cannot."""

from __future__ import annotations

from models.tables.grants import RoleGrant
from models.tables.org import Department, Region
from schema.relay import to_global_id
from tests.factories import PASSWORD, build_world

CREATE_REGION = """mutation($i: CreateRegionInput!) { createRegion(input: $i) {
  region { id name code level parent { name } } errors { code field message } } }"""


async def test_admin_builds_region_department_user_and_grant(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    county = str(to_global_id("Region", w.county.id))
    park = (
        await gql(
            CREATE_REGION, {"i": {"name": "清河经济开发区", "level": "PARK", "parentId": county}}
        )
    )["createRegion"]
    assert park["errors"] == []
    assert park["region"]["parent"] == {"name": "清河县"}
    dept = (
        await gql(
            """mutation($r: ID!) { createDepartment(input: {name: "县市场监督管理局",
        regionId: $r}) { department { id name region { name } } errors { code } } }""",
            {"r": county},
        )
    )["createDepartment"]
    assert dept["department"]["region"] == {"name": "清河县"}
    user = (
        await gql("""mutation { createUser(input: {username: "zhang.handler",
        displayName: "张科员", password: "a-long-password", mobile: "13912345678"}) {
        user { id username mobile } errors { code field } } }""")
    )["createUser"]
    assert user["errors"] == [] and user["user"]["mobile"] == "13912345678"
    grant = await gql(
        """mutation($u: ID!, $r: ID!, $d: ID!) { grantRole(input: {userId: $u,
        role: HANDLER, regionId: $r, departmentId: $d, lead: true}) {
        grant { id role lead department { name } } errors { code field } } }""",
        {"u": user["user"]["id"], "r": county, "d": dept["department"]["id"]},
    )
    assert grant["grantRole"]["grant"]["department"] == {"name": "县市场监督管理局"}
    assert grant["grantRole"]["grant"]["lead"] is True
    # The new handler signs in and sees the county's enterprises.
    gql.token = None
    await gql.login("zhang.handler", "a-long-password")
    total = (await gql("{ enterprises { totalCount } }"))["enterprises"]["totalCount"]
    assert total == 3


async def test_refusals_come_back_as_user_errors_and_write_nothing(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    county = str(to_global_id("Region", w.county.id))
    before = await Region.all().count()
    dup = await gql(CREATE_REGION, {"i": {"name": "城关镇", "level": "TOWN", "parentId": county}})
    assert dup["createRegion"]["errors"][0]["code"] == "DUPLICATE_NAME"
    bad_level = await gql(
        CREATE_REGION, {"i": {"name": "某县", "level": "COUNTY", "parentId": county}}
    )
    assert bad_level["createRegion"]["errors"][0]["code"] == "INVALID_PARENT_LEVEL"
    bad_code = await gql(
        CREATE_REGION, {"i": {"name": "新镇", "level": "TOWN", "parentId": county, "code": "12ab"}}
    )
    assert bad_code["createRegion"]["errors"] == [
        {
            "code": "INVALID_REGION_CODE",
            "field": "code",
            "message": "区划代码应为 6、9 或 12 位数字",
        }
    ]
    top = await gql(CREATE_REGION, {"i": {"name": "另一县", "level": "COUNTY"}})
    assert top["createRegion"]["errors"][0]["code"] == "FORBIDDEN"  # only system admins
    assert await Region.all().count() == before
    weak = await gql("""mutation { createUser(input: {username: "x y", displayName: "",
        password: "123"}) { user { id } errors { code field } } }""")
    assert {(e["code"], e["field"]) for e in weak["createUser"]["errors"]} == {
        ("INVALID_USERNAME", "username"),
        ("REQUIRED", "displayName"),
        ("WEAK_PASSWORD", "password"),
    }


async def test_handler_grant_needs_a_department_and_leaders_must_be_cadres(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    u = str(to_global_id("User", w.enterprise_user.id))
    r = str(to_global_id("Region", w.county.id))
    data = await gql(
        """mutation($u: ID!, $r: ID!) { grantRole(input: {userId: $u,
        role: HANDLER, regionId: $r}) { grant { id } errors { code field } } }""",
        {"u": u, "r": r},
    )
    assert data["grantRole"]["errors"] == [{"code": "DEPARTMENT_REQUIRED", "field": "departmentId"}]
    data = await gql(
        """mutation($e: ID!, $u: ID!) { assignLeader(input: {enterpriseId: $e,
        leaderId: $u, startDate: "2026-03-01"}) { assignment { id } errors { code } } }""",
        {"e": str(to_global_id("Enterprise", w.ent_b1.id)), "u": u},
    )
    assert data["assignLeader"]["errors"] == [{"code": "NOT_A_CADRE"}]


async def test_non_admins_cannot_administer(gql):
    w = await build_world()
    await gql.login("cadre_a", PASSWORD)
    county = str(to_global_id("Region", w.town_a.id))
    data = await gql(CREATE_REGION, {"i": {"name": "园区", "level": "PARK", "parentId": county}})
    # Someone who administers nothing is refused as such, whatever the region.
    assert data["createRegion"]["errors"][0]["code"] == "FORBIDDEN"
    data = await gql("""mutation { createUser(input: {username: "sneaky",
        displayName: "x", password: "a-long-password"}) { errors { code } } }""")
    assert data["createUser"]["errors"] == [{"code": "FORBIDDEN"}]
    resp = await gql.post("{ users { totalCount } }")
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    grants_before = await RoleGrant.all().count()
    data = await gql(
        """mutation($u: ID!, $r: ID!) { grantRole(input: {userId: $u, role: ADMIN,
        regionId: $r}) { errors { code } } }""",
        {"u": str(to_global_id("User", w.cadre_a.id)), "r": county},
    )
    assert data["grantRole"]["errors"] == [{"code": "FORBIDDEN"}]
    assert await RoleGrant.all().count() == grants_before
    assert await Department.all().count() == 0


async def test_node_resolves_global_ids_within_scope(gql):
    w = await build_world()
    await gql.login("cadre_a", PASSWORD)
    data = await gql(
        """query($r: ID!, $u: ID!, $bad: ID!) {
        r: node(id: $r) { id ... on Region { name } }
        u: node(id: $u) { id }
        bad: node(id: $bad) { id } }""",
        {
            "r": str(to_global_id("Region", w.town_b.id)),
            "u": str(to_global_id("User", w.admin.id)),
            "bad": "bm90LWFuLWlk",
        },
    )
    assert data["r"]["name"] == "西山镇"
    assert data["u"] is None  # other users are not visible to a cadre
    assert data["bad"] is None


async def test_admin_lists_users_with_search_and_role_filter(gql):
    await build_world()
    await gql.login("county_admin", PASSWORD)
    data = await gql("""{ users(filter: {role: CADRE}) { totalCount edges { node { username
        grants { role } } } } }""")
    assert [e["node"]["username"] for e in data["users"]["edges"]] == ["cadre_a"]
    data = await gql('{ users(filter: {search: "ent"}) { edges { node { username } } } }')
    assert [e["node"]["username"] for e in data["users"]["edges"]] == ["ent_user"]
