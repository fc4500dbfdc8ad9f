"""SQL metacharacters in every string filter are taken literally: a search for `%` finds only
what contains `%`, `_` only what contains `_`, a quote or `;--` is just text. Each list is
searched over HTTP and compared with what contains the term, computed here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models.access import system_actor
from models.ops import org as org_ops
from models.ops import support_policies as policy_ops
from models.tables.org import User
from models.tables.service_points import Procedure, ServicePoint
from tests.conftest import GraphQLClient
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import PASSWORD, make_enterprise, make_user

SPECIAL = [
    "达标率100%",
    "下划线_名称",
    "反斜杠\\名称",
    "O'Brien 工作室",
    "分号;--注释",
    "双百分号%%",
    "全角％＿＼名称",
]
PLAIN = ["普通名称", "百分之百达标", "下划线名称", "反斜杠名称"]
TERMS = ["%", "_", "\\", "'", ";--", "%%", "\\%", "_名", "' OR '1'='1", "%_\\", "％", "'; --"]


@pytest.fixture
async def county(gql: GraphQLClient, storage: Any) -> DemandWorld:
    """The demand county, with a record of each name for every list that has a search."""
    w = await build_demand_world()
    root = system_actor()
    desk = await ServicePoint.create(name="便民服务中心", region=w.base.town_a, opening_hours={})
    for i, name in enumerate(SPECIAL + PLAIN):
        await org_ops.create_region(
            root, name=name, level="PARK", parent_id=w.base.town_a.id, code=None
        )
        await org_ops.create_department(root, name=name, region_id=w.base.county.id)
        await make_enterprise(w.base.town_b, name, industry_code="C3311")
        user = await make_user(f"user.{i}_x", None, None)
        await User.filter(id=user.id).update(display_name=name)
        await policy_ops.create_support_policy(
            root, policy_ops.SupportPolicyData(title=name, issuer="县经信局")
        )
        await Procedure.create(
            service_point=await ServicePoint.create(
                name=f"服务点{i}", region=w.base.town_a, opening_hours={}
            ),
            name=name,
            promised_days=5,
            materials=[],
        )
        await w.submit(title=name)
    assert desk
    await gql.login("county_admin", PASSWORD)
    return w


def contains(term: str) -> Callable[[str], bool]:
    return lambda text: term.casefold() in text.casefold()


async def names(gql: GraphQLClient, query: str, key: str, term: str | None) -> list[list[str]]:
    """Each listed node's searchable texts, for `term` (None: the whole list)."""
    data = await gql(query, {"s": term})
    return [[v for v in edge["node"].values() if isinstance(v, str)] for edge in data[key]["edges"]]


LISTS = {
    "regions": "query($s: String) { regions(filter: {search: $s}, first: 100) "
    "{ edges { node { name } } } }",
    "departments": "query($s: String) { departments(filter: {search: $s}, first: 100) "
    "{ edges { node { name } } } }",
    "users": "query($s: String) { users(filter: {search: $s}, first: 100) "
    "{ edges { node { username displayName } } } }",
    "supportPolicies": "query($s: String) { supportPolicies(search: $s, first: 100) "
    "{ edges { node { title issuer documentNumber } } } }",
    "demands": "query($s: String) { demands(filter: {search: $s}, first: 100) "
    "{ edges { node { title enterprise { name } } } } }",
}


@pytest.mark.parametrize("key", list(LISTS))
async def test_metacharacters_are_literal_in_every_search(gql, county, key):
    query = LISTS[key]
    everything = await names(gql, query, key, None)
    if key == "demands":  # the enterprise's name is searched too
        data = await gql(query, {"s": None})
        everything = [
            [e["node"]["title"], e["node"]["enterprise"]["name"]] for e in data[key]["edges"]
        ]
    assert len(everything) >= len(SPECIAL + PLAIN)
    for term in TERMS:
        if key == "demands":
            data = await gql(query, {"s": term})
            found = [
                [e["node"]["title"], e["node"]["enterprise"]["name"]] for e in data[key]["edges"]
            ]
        else:
            found = await names(gql, query, key, term)
        expected = [texts for texts in everything if any(map(contains(term), texts))]
        assert sorted(found) == sorted(expected), (key, term)
    # and the term `%` finds exactly the two names holding it, not everything
    assert len(await names(gql, query, key, "%")) == 2


async def test_enterprise_search_and_industry_prefix_are_literal(gql, county):
    query = """query($s: String, $i: String) { enterprises(filter: {search: $s, industry: $i},
      first: 100) { edges { node { name creditCode industryCode } } } }"""
    everything = (await gql(query, {"s": None, "i": None}))["enterprises"]["edges"]
    for term in TERMS:
        data = await gql(query, {"s": term, "i": None})
        found = sorted(e["node"]["name"] for e in data["enterprises"]["edges"])
        expected = sorted(
            e["node"]["name"]
            for e in everything
            if contains(term)(e["node"]["name"]) or e["node"]["creditCode"].startswith(term.upper())
        )
        assert found == expected, term
    for prefix in ["%", "_", "C%", "C_311", "\\", "'"]:
        data = await gql(query, {"s": None, "i": prefix})
        assert data["enterprises"]["edges"] == [], prefix
    data = await gql(query, {"s": None, "i": "c33"})
    assert len(data["enterprises"]["edges"]) == len(SPECIAL + PLAIN) + 1  # ent_a1 is C3311


async def test_procedure_search_of_service_points_is_literal(gql, county):
    query = """query($s: String) { servicePoints(procedureSearch: $s, first: 100) {
      edges { node { name procedures { name } } } } }"""
    everything = (await gql(query, {"s": None}))["servicePoints"]["edges"]
    for term in TERMS:
        data = await gql(query, {"s": term})
        found = sorted(e["node"]["name"] for e in data["servicePoints"]["edges"])
        expected = sorted(
            e["node"]["name"]
            for e in everything
            if any(contains(term)(p["name"]) for p in e["node"]["procedures"])
        )
        assert found == expected, term
