"""The support policy catalog (惠企政策) over HTTP: administrators keep it, everyone signed in
reads it, a region sees the nationwide policies and those of its region chain."""

from __future__ import annotations

from models.access import system_actor
from models.ops import org as org_ops
from models.ops import support_policies as sp_ops
from models.tables.org import Region
from models.tables.visits import SupportPolicy as SupportPolicyModel
from schema.relay import to_global_id
from tests.factories import PASSWORD, World, build_world, make_user

CREATE = """mutation($i: CreateSupportPolicyInput!) { createSupportPolicy(input: $i) {
  supportPolicy { id title issuer documentNumber url summary isActive createdAt
    region { name } }
  errors { code field message } } }"""

UPDATE = """mutation($i: UpdateSupportPolicyInput!) { updateSupportPolicy(input: $i) {
  supportPolicy { id title url isActive } errors { code field message } } }"""

LIST = """query($r: ID, $s: String, $all: Boolean, $first: Int, $after: String) {
  supportPolicies(regionId: $r, search: $s, includeInactive: $all, first: $first,
    after: $after) {
    totalCount edges { node { id title region { name } } }
    pageInfo { hasNextPage endCursor } } }"""


def _gid(type_name: str, pk: int) -> str:
    return str(to_global_id(type_name, pk))


async def _titles(gql, **variables) -> list[str]:
    data = await gql(LIST, variables)
    return [e["node"]["title"] for e in data["supportPolicies"]["edges"]]


async def _policy(title: str, region_id: int | None = None, **fields) -> SupportPolicyModel:
    return await sp_ops.create_support_policy(
        system_actor(), sp_ops.SupportPolicyData(title=title, region_id=region_id, **fields)
    )


async def _catalog(w: World) -> int:
    """Nationwide, county, both towns and another county; returns the other county's id."""
    other = await org_ops.create_region(
        system_actor(), name="临溪县", level="COUNTY", parent_id=None, code="330598"
    )
    await _policy(
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
        issuer="财政部 税务总局",
        document_number="财政部 税务总局公告2023年第12号",
    )
    await _policy(
        "清河县工业企业技术改造项目财政补助办法",
        w.county.id,
        issuer="清河县经济和信息化局",
        document_number="清经信〔2025〕8号",
    )
    await _policy("城关镇商贸企业开业补贴", w.town_a.id, issuer="城关镇人民政府")
    await _policy("西山镇竹产业发展扶持办法", w.town_b.id)
    await _policy("临溪县人才安居补贴", other.id, document_number="临人才办〔2025〕1号")
    return other.id


async def test_an_admin_adds_a_policy_that_every_signed_in_user_reads(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        CREATE,
        {
            "i": {
                "title": "  清河县高层次人才安居补贴实施细则 ",
                "issuer": "中共清河县委人才工作领导小组办公室",
                "documentNumber": "清人才办〔2025〕2号",
                "url": "https://www.example.gov.cn/art/2025/3/1/art_1.html",
                "summary": "博士、硕士首次购房分别补贴30万元、15万元。",
                "regionId": _gid("Region", w.county.id),
            }
        },
    )
    payload = data["createSupportPolicy"]
    assert payload["errors"] == []
    policy = payload["supportPolicy"]
    assert policy["title"] == "清河县高层次人才安居补贴实施细则"  # trimmed
    assert policy["documentNumber"] == "清人才办〔2025〕2号"
    assert policy["region"] == {"name": "清河县"}
    assert policy["isActive"] is True and policy["createdAt"]

    for username in ("cadre_a", "ent_user"):
        gql.token = None
        await gql.login(username, PASSWORD)
        assert await _titles(gql) == ["清河县高层次人才安居补贴实施细则"]
        node = await gql(
            "query($id: ID!) { node(id: $id) { ... on SupportPolicy { issuer url } } }",
            {"id": policy["id"]},
        )
        assert node["node"] == {
            "issuer": "中共清河县委人才工作领导小组办公室",
            "url": "https://www.example.gov.cn/art/2025/3/1/art_1.html",
        }

    gql.token = None
    resp = await gql.post("{ supportPolicies { totalCount } }")
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_system_admin_adds_nationwide_policies(gql):
    await build_world()
    await make_user("root", "ADMIN", None)
    await gql.login("root", PASSWORD)
    data = await gql(
        CREATE,
        {
            "i": {
                "title": "关于进一步完善研发费用税前加计扣除政策的公告",
                "issuer": "财政部 税务总局",
                "documentNumber": "财政部 税务总局公告2023年第7号",
            }
        },
    )
    payload = data["createSupportPolicy"]
    assert payload["errors"] == []
    assert payload["supportPolicy"]["region"] is None
    assert (payload["supportPolicy"]["url"], payload["supportPolicy"]["summary"]) == ("", "")


async def test_regional_admins_keep_only_their_regions_policies(gql):
    w = await build_world()
    other_county = await _catalog(w)
    before = await SupportPolicyModel.all().count()
    await gql.login("county_admin", PASSWORD)

    nationwide = await gql(CREATE, {"i": {"title": "全国性政策"}})
    assert nationwide["createSupportPolicy"] == {
        "supportPolicy": None,
        "errors": [{"code": "FORBIDDEN", "field": None, "message": "无权执行此操作"}],
    }
    elsewhere = await gql(
        CREATE, {"i": {"title": "外县政策", "regionId": _gid("Region", other_county)}}
    )
    assert elsewhere["createSupportPolicy"]["errors"][0]["code"] == "REGION_OUT_OF_SCOPE"
    # A town below the county is theirs.
    town = await gql(
        CREATE, {"i": {"title": "西山镇政策", "regionId": _gid("Region", w.town_b.id)}}
    )
    assert town["createSupportPolicy"]["errors"] == []

    national = await SupportPolicyModel.get(region_id=None)
    edit = await gql(UPDATE, {"i": {"id": _gid("SupportPolicy", national.id), "title": "改"}})
    assert edit["updateSupportPolicy"]["errors"][0]["code"] == "FORBIDDEN"
    foreign = await SupportPolicyModel.get(region_id=other_county)
    edit = await gql(UPDATE, {"i": {"id": _gid("SupportPolicy", foreign.id), "isActive": False}})
    assert edit["updateSupportPolicy"]["errors"][0]["code"] == "REGION_OUT_OF_SCOPE"
    missing = await gql(UPDATE, {"i": {"id": _gid("SupportPolicy", 999_999), "title": "x"}})
    assert missing["updateSupportPolicy"]["errors"][0]["code"] == "NOT_FOUND"
    assert await SupportPolicyModel.all().count() == before + 1
    assert (await SupportPolicyModel.get(id=national.id)).title == national.title
    assert (await SupportPolicyModel.get(id=foreign.id)).is_active

    # A cadre administers nothing.
    gql.token = None
    await gql.login("cadre_a", PASSWORD)
    refused = await gql(CREATE, {"i": {"title": "x", "regionId": _gid("Region", w.town_a.id)}})
    assert (
        refused["createSupportPolicy"]["errors"][0]["code"] == "FORBIDDEN"
    )  # a cadre administers nothing


async def test_a_region_is_offered_nationwide_and_its_chains_policies_newest_first(gql):
    w = await build_world()
    other_county = await _catalog(w)
    await gql.login("cadre_a", PASSWORD)
    assert await _titles(gql, r=_gid("Region", w.town_a.id)) == [
        "城关镇商贸企业开业补贴",
        "清河县工业企业技术改造项目财政补助办法",
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
    ]
    assert await _titles(gql, r=_gid("Region", w.county.id)) == [
        "清河县工业企业技术改造项目财政补助办法",
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
    ]
    assert await _titles(gql, r=_gid("Region", other_county)) == [
        "临溪县人才安居补贴",
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
    ]
    # Without a region: the whole catalog, paged by keyset.
    first = (await gql(LIST, {"first": 2}))["supportPolicies"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"]
    assert [e["node"]["title"] for e in first["edges"]] == [
        "临溪县人才安居补贴",
        "西山镇竹产业发展扶持办法",
    ]
    rest = await _titles(gql, first=10, after=first["pageInfo"]["endCursor"])
    assert rest == [
        "城关镇商贸企业开业补贴",
        "清河县工业企业技术改造项目财政补助办法",
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
    ]
    resp = await gql.post(LIST, {"r": _gid("Region", 999_999)})
    assert resp.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_search_matches_title_issuer_and_document_number(gql):
    w = await build_world()
    await _catalog(w)
    await gql.login("ent_user", PASSWORD)
    assert await _titles(gql, s="技术改造") == ["清河县工业企业技术改造项目财政补助办法"]
    assert await _titles(gql, s="税务总局") == [
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告"
    ]
    assert await _titles(gql, s=" 清经信〔2025〕8号 ") == ["清河县工业企业技术改造项目财政补助办法"]
    # Typed with ordinary brackets, the 〔〕 of a document number still matches.
    assert await _titles(gql, s="临人才办[2025]") == ["临溪县人才安居补贴"]
    assert await _titles(gql, s="补贴", r=_gid("Region", w.town_a.id)) == ["城关镇商贸企业开业补贴"]
    assert await _titles(gql, s="不存在的政策") == []


async def test_a_withdrawn_policy_leaves_the_catalog_but_stays_readable(gql):
    w = await build_world()
    await _catalog(w)
    county_policy = await SupportPolicyModel.get(region_id=w.county.id)
    gid = _gid("SupportPolicy", county_policy.id)
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        UPDATE, {"i": {"id": gid, "isActive": False, "url": "http://jxj.example.cn/2025/8"}}
    )
    assert data["updateSupportPolicy"] == {
        "supportPolicy": {
            "id": gid,
            "title": "清河县工业企业技术改造项目财政补助办法",
            "url": "http://jxj.example.cn/2025/8",
            "isActive": False,
        },
        "errors": [],
    }
    assert await SupportPolicyModel.filter(id=county_policy.id).exists()  # never deleted
    assert "清河县工业企业技术改造项目财政补助办法" in await _titles(gql, all=True)
    assert "清河县工业企业技术改造项目财政补助办法" not in await _titles(gql)

    gql.token = None
    await gql.login("cadre_a", PASSWORD)
    assert "清河县工业企业技术改造项目财政补助办法" not in await _titles(
        gql, r=_gid("Region", w.town_a.id)
    )
    resp = await gql.post(LIST, {"all": True})
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Visits that handed it over still show it.
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on SupportPolicy { title isActive } } }",
        {"id": gid},
    )
    assert node["node"] == {"title": "清河县工业企业技术改造项目财政补助办法", "isActive": False}

    gql.token = None
    await gql.login("county_admin", PASSWORD)
    data = await gql(UPDATE, {"i": {"id": gid, "isActive": True, "url": ""}})
    assert data["updateSupportPolicy"]["supportPolicy"]["isActive"] is True
    assert data["updateSupportPolicy"]["supportPolicy"]["url"] == ""


async def test_invalid_fields_come_back_together_and_write_nothing(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    county = _gid("Region", w.county.id)
    data = await gql(
        CREATE,
        {
            "i": {
                "title": "   ",
                "issuer": "局" * 101,
                "documentNumber": "号" * 101,
                "url": "ftp://files.example.cn/policy.pdf",
                "summary": "要" * 5001,
                "regionId": county,
            }
        },
    )
    assert data["createSupportPolicy"]["errors"] == [
        {"code": "REQUIRED", "field": "title", "message": "标题不能为空"},
        {"code": "TOO_LONG", "field": "issuer", "message": "发文机关不能超过 100 个字符"},
        {"code": "TOO_LONG", "field": "documentNumber", "message": "文号不能超过 100 个字符"},
        {
            "code": "INVALID_URL",
            "field": "url",
            "message": "网址无效，须为以 http:// 或 https:// 开头的完整网址",
        },
        {"code": "TOO_LONG", "field": "summary", "message": "政策摘要不能超过 5000 个字符"},
    ]
    for url in (
        "javascript:alert(1)",
        "https://",
        "www.example.cn",
        "http://a b.cn",
        "http://[::1",
    ):
        bad = await gql(CREATE, {"i": {"title": "某政策", "url": url, "regionId": county}})
        assert bad["createSupportPolicy"]["errors"] == [
            {
                "code": "INVALID_URL",
                "field": "url",
                "message": "网址无效，须为以 http:// 或 https:// 开头的完整网址",
            }
        ], url
    assert await SupportPolicyModel.all().count() == 0

    policy = await _policy("某政策", w.county.id)
    emptied = await gql(UPDATE, {"i": {"id": _gid("SupportPolicy", policy.id), "title": ""}})
    assert emptied["updateSupportPolicy"]["errors"] == [
        {"code": "REQUIRED", "field": "title", "message": "标题不能为空"}
    ]
    assert (await SupportPolicyModel.get(id=policy.id)).title == "某政策"


async def test_messages_in_english_on_accept_language_en(gql):
    w = await build_world()
    await gql.login("county_admin", PASSWORD)
    gql.language = "en-US,en;q=0.9"
    data = await gql(
        CREATE,
        {"i": {"title": "", "url": "mailto:x@example.cn", "regionId": _gid("Region", w.county.id)}},
    )
    assert data["createSupportPolicy"]["errors"] == [
        {"code": "REQUIRED", "field": "title", "message": "Title is required"},
        {
            "code": "INVALID_URL",
            "field": "url",
            "message": "Web address is not valid: give a full address starting with "
            "http:// or https://",
        },
    ]
    nationwide = await gql(CREATE, {"i": {"title": "x"}})
    assert nationwide["createSupportPolicy"]["errors"][0]["message"] == (
        "You are not allowed to do this"
    )


async def test_the_demo_county_offers_a_catalog(gql):
    from models.demo.county import DEMO_PASSWORD, DEMO_SUPPORT_POLICIES, load_demo

    await load_demo(demands=False)
    await load_demo(demands=False)  # keyed by region and title: nothing twice
    assert await SupportPolicyModel.all().count() == len(DEMO_SUPPORT_POLICIES)
    await gql.login("cadre", DEMO_PASSWORD)
    chengguan = await Region.get(name="城关镇")
    data = await gql(LIST, {"r": _gid("Region", chengguan.id)})
    titles = [e["node"]["title"] for e in data["supportPolicies"]["edges"]]
    assert "清河县工业企业技术改造项目财政补助办法" in titles
    assert "关于进一步完善研发费用税前加计扣除政策的公告" in titles
    assert not any("开发区" in t for t in titles)  # the park's own offer is not the county's
    assert len(titles) == 6
    assert len(await _titles(gql, s="国办发〔2022〕30号")) == 1
