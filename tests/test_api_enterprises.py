"""Enterprise screens over HTTP: who sees what, search, paging, and refusals."""

from __future__ import annotations

from tests.factories import PASSWORD, build_world, credit_code, make_enterprise

LIST = """query($f: EnterpriseFilter, $first: Int, $after: String) {
  enterprises(filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name creditCode region { name } } }
  }
}"""


def names(data: dict) -> list[str]:
    return [e["node"]["name"] for e in data["enterprises"]["edges"]]


async def test_cadre_lists_only_enterprises_of_their_town(gql):
    await build_world()
    await gql.login("cadre_a", PASSWORD)
    data = await gql(LIST)
    assert sorted(names(data)) == sorted(["清河县恒达机械制造有限公司", "清河县鑫源食品有限公司"])
    assert data["enterprises"]["totalCount"] == 2
    assert {e["node"]["region"]["name"] for e in data["enterprises"]["edges"]} == {"城关镇"}


async def test_search_by_part_of_the_name_and_by_credit_code_prefix(gql):
    w = await build_world()
    await gql.login("cadre_a", PASSWORD)
    assert names(await gql(LIST, {"f": {"search": "鑫源"}})) == ["清河县鑫源食品有限公司"]
    assert names(await gql(LIST, {"f": {"search": "华通"}})) == []  # other town: not visible
    code = w.ent_a1.credit_code
    assert names(await gql(LIST, {"f": {"search": code[:17].lower()}})) == [w.ent_a1.name]


async def test_assigned_to_me_and_industry_filters(gql):
    await build_world()
    await gql.login("cadre_a", PASSWORD)
    assert names(await gql(LIST, {"f": {"assignedToMe": True}})) == ["清河县鑫源食品有限公司"]
    assert names(await gql(LIST, {"f": {"industry": "c33"}})) == ["清河县恒达机械制造有限公司"]


async def test_enterprise_user_sees_only_their_own_enterprise(gql):
    w = await build_world()
    await gql.login("ent_user", PASSWORD)
    assert names(await gql(LIST)) == [w.ent_a1.name]
    own = await gql(
        "query($id: ID!) { enterprise(id: $id) { name } }", {"id": _gid("Enterprise", w.ent_a1.id)}
    )
    assert own["enterprise"] == {"name": w.ent_a1.name}
    other = await gql(
        "query($id: ID!) { enterprise(id: $id) { name } node(id: $id) { id } }",
        {"id": _gid("Enterprise", w.ent_b1.id)},
    )
    assert other == {"enterprise": None, "node": None}


async def test_county_admin_pages_through_everything_with_stable_cursors(gql):
    w = await build_world()
    for i in range(7):
        await make_enterprise(w.town_b, f"清河县测试{i}号企业有限公司")
    await gql.login("county_admin", PASSWORD)
    seen: list[str] = []
    after = None
    while True:
        data = await gql(LIST, {"first": 4, "after": after})
        conn = data["enterprises"]
        assert conn["totalCount"] == 10
        seen += names(data)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == 10 and len(set(seen)) == 10
    assert seen == sorted(seen)


async def test_page_size_over_100_is_refused(gql):
    await build_world()
    await gql.login("county_admin", PASSWORD)
    resp = await gql.post(LIST, {"first": 101})
    body = resp.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"


async def test_signed_out_caller_gets_unauthenticated(gql):
    await build_world()
    resp = await gql.post(LIST)
    assert resp.status_code == 200
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert resp.json()["errors"][0]["message"] == "请先登录"


CREATE = """mutation($input: CreateEnterpriseInput!) {
  createEnterprise(input: $input) {
    enterprise { id name creditCode creditCodeOverride contacts { name mobile } }
    errors { code field message }
  }
}"""


async def test_invalid_credit_code_is_refused_with_code_and_field(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "坏代码公司",
                "creditCode": bad,
                "regionId": _gid("Region", w.town_a.id),
            }
        },
    )
    payload = data["createEnterprise"]
    assert payload["enterprise"] is None
    assert payload["errors"] == [
        {
            "code": "INVALID_CREDIT_CODE_CHECK_DIGIT",
            "field": "creditCode",
            "message": "统一社会信用代码校验位错误",
        }
    ]
    gql.language = "en"
    data = await gql(
        CREATE,
        {"input": {"name": "x", "creditCode": "123", "regionId": _gid("Region", w.town_a.id)}},
    )
    assert data["createEnterprise"]["errors"][0]["code"] == "INVALID_CREDIT_CODE"
    assert data["createEnterprise"]["errors"][0]["message"].startswith("The unified social")
    # An admin may override a failing check digit for a legacy pilot code.
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "试点老代码公司",
                "creditCode": bad,
                "overrideCheckDigit": True,
                "regionId": _gid("Region", w.town_a.id),
            }
        },
    )
    assert data["createEnterprise"]["errors"] == []
    assert data["createEnterprise"]["enterprise"]["creditCodeOverride"] is True


async def test_create_enterprise_validates_every_field_and_writes_nothing_on_refusal(gql):
    from models.tables.enterprises import Enterprise

    w = await build_world()
    before = await Enterprise.all().count()
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "",
                "creditCode": credit_code(),
                "regionId": _gid("Region", w.town_a.id),
                "industryCode": "??",
                "contacts": [{"name": "李娜", "mobile": "12345"}],
            }
        },
    )
    codes = {(e["code"], e["field"]) for e in data["createEnterprise"]["errors"]}
    assert codes == {
        ("REQUIRED", "name"),
        ("INVALID_INDUSTRY_CODE", "industryCode"),
        ("INVALID_MOBILE", "contacts.0.mobile"),
    }
    assert await Enterprise.all().count() == before


async def test_create_then_update_with_version_check(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "清河县瑞丰纺织有限公司",
                "creditCode": credit_code(),
                "regionId": _gid("Region", w.town_b.id),
                "contacts": [{"name": "王芳", "mobile": "+86 139-0013-9000"}],
            }
        },
    )
    ent = data["createEnterprise"]["enterprise"]
    assert ent["contacts"] == [{"name": "王芳", "mobile": "13900139000"}]
    update = """mutation($input: UpdateEnterpriseInput!) { updateEnterprise(input: $input) {
        enterprise { address version } errors { code field } } }"""
    first = await gql(
        update, {"input": {"id": ent["id"], "version": 1, "address": "西山镇工业路8号"}}
    )
    assert first["updateEnterprise"] == {
        "enterprise": {"address": "西山镇工业路8号", "version": 2},
        "errors": [],
    }
    stale = await gql(update, {"input": {"id": ent["id"], "version": 1, "address": "别处"}})
    assert stale["updateEnterprise"]["errors"] == [{"code": "VERSION_CONFLICT", "field": "version"}]


async def test_cadre_cannot_create_and_town_admin_cannot_reach_other_town(gql):
    from tests.factories import make_user

    w = await build_world()
    await make_user("town_a_admin", "ADMIN", w.town_a)
    await gql.login("cadre_a", PASSWORD)
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "x公司",
                "creditCode": credit_code(),
                "regionId": _gid("Region", w.town_a.id),
            }
        },
    )
    assert (
        data["createEnterprise"]["errors"][0]["code"] == "FORBIDDEN"
    )  # a cadre administers nothing
    await gql.login("town_a_admin", PASSWORD)
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "y公司",
                "creditCode": credit_code(),
                "regionId": _gid("Region", w.town_b.id),
            }
        },
    )
    assert data["createEnterprise"]["errors"][0]["code"] == "REGION_OUT_OF_SCOPE"
    data = await gql(
        CREATE,
        {
            "input": {
                "name": "z公司",
                "creditCode": credit_code(),
                "regionId": _gid("Region", w.town_a.id),
            }
        },
    )
    assert data["createEnterprise"]["errors"] == []


async def test_enterprise_file_shows_contacts_and_assigned_leaders(gql):
    w = await build_world()
    await gql.login("cadre_a", PASSWORD)
    data = await gql(
        """query($id: ID!) { enterprise(id: $id) {
        contacts { name hasAppAccount } assignedLeaders { startDate leader { username } } } }""",
        {"id": _gid("Enterprise", w.ent_a2.id)},
    )
    assert data["enterprise"]["assignedLeaders"] == [
        {"startDate": "2026-01-01", "leader": {"username": "cadre_a"}}
    ]
    data = await gql(
        "query($id: ID!) { enterprise(id: $id) { contacts { name hasAppAccount } } }",
        {"id": _gid("Enterprise", w.ent_a1.id)},
    )
    assert data["enterprise"]["contacts"] == [{"name": "张伟", "hasAppAccount": True}]


def _gid(type_name: str, pk: int) -> str:
    from schema.relay import to_global_id

    return str(to_global_id(type_name, pk))
