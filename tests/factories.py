"""A small county built through the real operations, for operation and API tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.access import load_actor, system_actor
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.rules.actor import Actor
from models.rules.identifiers import make_credit_code
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.org import Region, User

PASSWORD = "correct-horse-battery"
_serial = iter(range(1, 10_000_000))


def credit_code() -> str:
    """A fresh valid unified social credit code."""
    return make_credit_code(f"91330599{next(_serial):09d}")


@dataclass
class World:
    county: Region
    town_a: Region
    town_b: Region
    admin: User
    cadre_a: User
    enterprise_user: User
    ent_a1: Enterprise
    ent_a2: Enterprise
    ent_b1: Enterprise

    async def actor(self, user: User) -> Actor:
        return await load_actor(user.id)


async def make_user(username: str, role: str | None, region: Region | None, **grant) -> User:
    root = system_actor()
    user = await org_ops.create_user(
        root,
        username=username,
        fields=org_ops.UserFields(display_name=username, password=PASSWORD),
    )
    if role:
        await org_ops.grant_role(
            root, user_id=user.id, role=role, region_id=region.id if region else None, **grant
        )
    return user


async def make_enterprise(region: Region, name: str, **extra) -> Enterprise:
    data = ent_ops.EnterpriseData(
        name=name, credit_code=credit_code(), region_id=region.id, **extra
    )
    return await ent_ops.create_enterprise(system_actor(), data)


async def build_world() -> World:
    root = system_actor()
    county = await org_ops.create_region(
        root, name="清河县", level="COUNTY", parent_id=None, code="330599"
    )
    town_a = await org_ops.create_region(
        root, name="城关镇", level="TOWN", parent_id=county.id, code="330599100"
    )
    town_b = await org_ops.create_region(
        root, name="西山镇", level="TOWN", parent_id=county.id, code="330599101"
    )
    admin = await make_user("county_admin", "ADMIN", county)
    cadre_a = await make_user("cadre_a", "CADRE", town_a)
    enterprise_user = await make_user("ent_user", "ENTERPRISE", None)
    ent_a1 = await make_enterprise(town_a, "清河县恒达机械制造有限公司", industry_code="C3311")
    ent_a2 = await make_enterprise(town_a, "清河县鑫源食品有限公司", industry_code="C1391")
    ent_b1 = await make_enterprise(town_b, "清河县华通物流有限公司", industry_code="G5430")
    await EnterpriseContact.create(
        enterprise=ent_a1, name="张伟", mobile="13800138000", user=enterprise_user
    )
    await ent_ops.assign_leader(
        root, enterprise_id=ent_a2.id, leader_id=cadre_a.id, start_date=date(2026, 1, 1)
    )
    return World(county, town_a, town_b, admin, cadre_a, enterprise_user, ent_a1, ent_a2, ent_b1)
