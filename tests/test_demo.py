"""The demo county: what it contains, that loading it twice changes nothing, and that a failed
load leaves nothing behind."""

from __future__ import annotations

import re

import pytest
from stdnum.cn import uscc
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.exceptions import OperationalError

from models.demo import county as demo
from models.demo.county import (
    DEMO_ENTERPRISE_CREDIT_CODE,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    load_demo,
)
from models.ops.enterprises import FLAG_FIELDS
from models.rules.identifiers import normalize_mobile
from models.rules.passwords import verify_password
from models.rules.roles import EnterpriseScale, Rank, RegionLevel, Role
from models.tables.enterprises import Enterprise, EnterpriseContact, LeaderAssignment
from models.tables.grants import RoleGrant
from models.tables.org import Department, Region, User


async def _row_counts() -> dict[str, int]:
    return {
        name: await model.all().count() for name, model in sorted(Tortoise.apps["models"].items())
    }


async def test_demo_county_has_its_regions_departments_and_enterprises(db):
    summary = await load_demo(demands=False)

    county = await Region.get(level=RegionLevel.COUNTY)
    assert (county.name, county.code, county.parent_id) == ("清河县", "330599", None)  # type: ignore[attr-defined]
    towns = await Region.filter(
        parent_id=county.id, level__in=[RegionLevel.TOWN, RegionLevel.STREET]
    )
    assert len(towns) == 8
    assert {RegionLevel.TOWN, RegionLevel.STREET} <= {t.level for t in towns}
    assert "城关镇" in {t.name for t in towns}
    for t in towns:  # 9-digit township codes inside the county
        assert t.code is not None and re.fullmatch(r"330599\d{3}", t.code), t.code
    parks = {p.name: p for p in await Region.filter(level=RegionLevel.PARK)}
    assert set(parks) == {"清河经济开发区", "白沙工业园区"}
    assert all(p.code is None for p in parks.values())
    assert parks["清河经济开发区"].parent_id == county.id  # type: ignore[attr-defined]
    baisha = await Region.get(name="白沙镇")
    assert parks["白沙工业园区"].parent_id == baisha.id  # type: ignore[attr-defined]
    assert await Region.all().count() == 11

    departments = await Department.filter(region_id=county.id).values_list("name", flat=True)
    assert len(departments) == 12
    assert "县市场监督管理局" in departments

    enterprises = await Enterprise.all()
    assert 280 <= len(enterprises) <= 320
    assert len({e.name for e in enterprises}) == len(enterprises)
    in_county = {r.id for r in await Region.filter(path__startswith=county.path)}
    leaf_ids = {t.id for t in towns} | {p.id for p in parks.values()}
    for e in enterprises:
        assert uscc.is_valid(e.credit_code), e.credit_code
        assert e.credit_code.startswith("91330599")
        assert e.region_id in leaf_ids and e.region_id in in_county  # type: ignore[attr-defined]
        assert e.legal_representative and e.address.startswith("清河县")
        assert e.latitude is not None and abs(e.latitude - 30.2) < 0.3
        assert e.longitude is not None and abs(e.longitude - 119.7) < 0.3
        assert e.industry_code is not None and re.fullmatch(r"[A-T]\d{4}", e.industry_code)
        assert e.scale is not None
        # A flag only on the kind of enterprise it describes.
        if e.above_scale_industry:
            assert e.industry_code.startswith("C"), e.name
        if e.qualified_construction:
            assert e.industry_code.startswith("E"), e.name
        if e.real_estate_development:
            assert e.industry_code == "K7010", e.name
        if e.above_limit_trade:
            assert e.industry_code[0] in "FH", e.name
    scales = [e.scale for e in enterprises]
    small = sum(s in (EnterpriseScale.SMALL, EnterpriseScale.MICRO) for s in scales)
    assert small > len(scales) * 0.6
    assert 1 <= scales.count(EnterpriseScale.LARGE) <= 20
    for flag in FLAG_FIELDS:
        assert any(getattr(e, flag) for e in enterprises), flag
    # Every town, street and park has enterprises.
    assert {e.region_id for e in enterprises} == leaf_ids  # type: ignore[attr-defined]

    contacts = await EnterpriseContact.all()
    per_enterprise: dict[int, list[str]] = {}
    for c in contacts:
        assert normalize_mobile(c.mobile) == c.mobile
        per_enterprise.setdefault(c.enterprise_id, []).append(c.mobile)  # type: ignore[attr-defined]
    assert set(per_enterprise) == {e.id for e in enterprises}
    for mobiles in per_enterprise.values():
        assert 1 <= len(mobiles) <= 2
        assert len(set(mobiles)) == len(mobiles)

    assert summary.regions_created == 11 and summary.regions_present == 0
    assert summary.departments_created == 12
    assert summary.enterprises_created == len(enterprises)
    assert summary.users_created == len(DEMO_USERNAMES) and summary.users_present == 0
    assert summary.demo_enterprise_credit_code == DEMO_ENTERPRISE_CREDIT_CODE


async def test_loading_twice_creates_nothing_new(db):
    first = await load_demo()
    before = await _row_counts()
    second = await load_demo()
    assert await _row_counts() == before
    assert first.created_total > 0
    assert second.created_total == 0
    assert (second.regions_present, second.departments_present) == (11, 12)
    assert second.enterprises_present == first.enterprises_created
    assert second.users_present == len(DEMO_USERNAMES)


async def test_loading_again_fills_in_only_what_is_missing(db):
    # Without the replayed histories, in which every demo account acts.
    await load_demo(demands=False)
    before = await _row_counts()
    ent = await Enterprise.get(credit_code=DEMO_ENTERPRISE_CREDIT_CODE)
    dropped = await LeaderAssignment.filter(enterprise_id=ent.id).delete()
    assert dropped >= 1  # the cadre looks after it
    await User.filter(username="agent").delete()  # its grant goes with it
    await EnterpriseContact.filter(user_id__not_isnull=True).update(user_id=None)
    summary = await load_demo(demands=False)
    assert (summary.users_created, summary.users_present) == (1, len(DEMO_USERNAMES) - 1)
    assert summary.grants_created == 1
    assert summary.assignments_created == dropped
    assert summary.enterprises_created == summary.contacts_created == summary.regions_created == 0
    assert await _row_counts() == before
    user = await User.get(username="enterprise")
    assert await EnterpriseContact.filter(user_id=user.id).values_list(
        "enterprise__credit_code", flat=True
    ) == [DEMO_ENTERPRISE_CREDIT_CODE]


async def test_an_existing_real_user_is_not_given_demo_grants(db):
    await User.create(username="admin", display_name="真实管理员", password_hash="x")
    summary = await load_demo(demands=False)
    assert (summary.users_created, summary.users_present) == (len(DEMO_USERNAMES) - 1, 1)
    admin = await User.get(username="admin")
    assert not admin.is_demo
    assert await RoleGrant.filter(user_id=admin.id).count() == 0


async def test_a_failed_load_leaves_nothing_behind(db):
    # A real fault in the last step: the assignments table is gone while the demo loads,
    # after regions, enterprises, users and contacts were written in the same transaction.
    conn = get_connection("default")
    await conn.execute_script("ALTER TABLE leader_assignment RENAME TO leader_assignment_away")
    try:
        with pytest.raises(OperationalError):
            await load_demo(demands=False)
    finally:
        await conn.execute_script("ALTER TABLE leader_assignment_away RENAME TO leader_assignment")
    assert set((await _row_counts()).values()) == {0}


async def test_demo_accounts_sign_in_with_the_demo_password(db):
    await load_demo(demands=False)
    users = {u.username: u for u in await User.filter(username__in=DEMO_USERNAMES)}
    assert set(users) == set(DEMO_USERNAMES)
    for name in DEMO_USERNAMES:
        user = users[name]
        assert user.is_demo and user.is_active
        assert verify_password(user.password_hash, DEMO_PASSWORD), name
        assert not verify_password(user.password_hash, DEMO_PASSWORD + "x"), name
        assert re.search(r"[\u4e00-\u9fff]", user.display_name), user.display_name
    assert users["cadre"].rank is Rank.STAFF
    assert users["leader"].rank is Rank.COUNTY_LEADER

    county = await Region.get(level=RegionLevel.COUNTY)
    chengguan = await Region.get(name="城关镇")
    park = await Region.get(name="清河经济开发区")
    market = await Department.get(name="县市场监督管理局")
    bureaus = {d.name: d.id for d in await Department.all()}
    rows = await RoleGrant.all().values_list(
        "user__username", "role", "region_id", "department_id", "lead", "service_point__name"
    )
    grants = {(u, Role(r), reg, dept, lead) for u, r, reg, dept, lead, _ in rows}
    desks = {u: point for u, _, _, _, _, point in rows if point is not None}
    assert desks == {
        "agent": "开发区“园小二”帮办代办服务站",
        "agent2": "开发区“园小二”帮办代办服务站",
        "agent_cg": "城关镇便民服务中心",
    }
    assert grants == {
        ("admin", Role.ADMIN, county.id, None, False),
        ("cadre", Role.CADRE, chengguan.id, None, False),
        ("leader", Role.CADRE, county.id, None, False),
        ("dispatcher", Role.DISPATCHER, county.id, None, False),
        ("handler", Role.HANDLER, county.id, market.id, False),
        ("handler_lead", Role.HANDLER, county.id, market.id, True),
        ("handler_zrzy", Role.HANDLER, county.id, bureaus["县自然资源和规划局"], False),
        ("handler_zrzy_lead", Role.HANDLER, county.id, bureaus["县自然资源和规划局"], True),
        ("handler_rsj", Role.HANDLER, county.id, bureaus["县人力资源和社会保障局"], False),
        ("handler_rsj_lead", Role.HANDLER, county.id, bureaus["县人力资源和社会保障局"], True),
        ("handler_spj", Role.HANDLER, county.id, bureaus["县行政审批服务局"], False),
        ("handler_spj_lead", Role.HANDLER, county.id, bureaus["县行政审批服务局"], True),
        ("handler_jxj", Role.HANDLER, county.id, bureaus["县经济和信息化局"], False),
        ("handler_jxj_lead", Role.HANDLER, county.id, bureaus["县经济和信息化局"], True),
        ("agent", Role.SERVICE_AGENT, park.id, None, False),
        ("agent2", Role.SERVICE_AGENT, park.id, None, False),
        ("agent_cg", Role.SERVICE_AGENT, chengguan.id, None, False),
        ("enterprise", Role.ENTERPRISE, None, None, False),
        ("supervisor", Role.SUPERVISOR, county.id, None, False),
    }


async def test_the_enterprise_account_is_a_contact_of_exactly_one_enterprise(db):
    await load_demo(demands=False)
    user = await User.get(username="enterprise")
    linked = await EnterpriseContact.filter(user_id=user.id).values_list(
        "enterprise__credit_code", "enterprise__region__name", "name"
    )
    assert linked == [(DEMO_ENTERPRISE_CREDIT_CODE, "城关镇", user.display_name)]
    # No other contact anywhere has an account.
    assert await EnterpriseContact.filter(user_id__not_isnull=True).count() == 1


async def test_assignments_of_the_cadre_and_the_county_leader(db):
    await load_demo(demands=False)
    cadre = await User.get(username="cadre")
    rows = await LeaderAssignment.filter(leader_id=cadre.id).values_list(
        "enterprise_id", "enterprise__region__name", "start_date", "end_date"
    )
    assert len(rows) == 6
    assert len({r[0] for r in rows}) == 6
    assert {r[1] for r in rows} == {"城关镇"}
    assert {(str(r[2]), r[3]) for r in rows} == {("2026-01-01", None)}

    leader = await User.get(username="leader")
    rows = await LeaderAssignment.filter(leader_id=leader.id).values_list(
        "enterprise_id", "enterprise__region__name", "end_date"
    )
    assert len(rows) == 9 and len({r[0] for r in rows}) == 9
    assert len({r[1] for r in rows}) >= 4  # several towns, streets and parks
    assert {r[2] for r in rows} == {None}
    # Nobody else is assigned anything.
    assert await LeaderAssignment.all().count() == 15


async def test_region_paths_follow_the_parent_chain(db):
    await load_demo(demands=False)
    regions = {r.id: r for r in await Region.all()}
    for r in regions.values():
        chain = [r.id]
        parent_id = r.parent_id  # type: ignore[attr-defined]
        while parent_id is not None:
            chain.append(parent_id)
            parent_id = regions[parent_id].parent_id  # type: ignore[attr-defined]
        assert r.path == "/" + "".join(f"{i}/" for i in reversed(chain)), r.name
    county = next(r for r in regions.values() if r.level is RegionLevel.COUNTY)
    assert all(r.path.startswith(county.path) for r in regions.values())
    assert regions[(await Region.get(name="白沙工业园区")).id].path.count("/") == 4


def test_the_demo_data_set_is_deterministic():
    demo.demo_dataset.cache_clear()
    first = demo.demo_dataset()
    demo.demo_dataset.cache_clear()
    assert demo.demo_dataset() == first
    codes = [e.credit_code for e in first.enterprises]
    assert len(set(codes)) == len(codes)
    assert first.enterprises[0].credit_code == DEMO_ENTERPRISE_CREDIT_CODE
