"""A county with service points for the service-point and appointment tests: three points near
36.6N 117.0E stored in WGS-84, agents, procedures, enterprise contacts, and a second county
with its own administrator."""

from __future__ import annotations

from dataclasses import dataclass

from models.access import load_actor, system_actor
from models.ops import org as org_ops
from models.ops import service_points as sp_ops
from models.rules.actor import Actor
from models.rules.roles import CoordinateSystem
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.org import Department, Region, User
from models.tables.service_points import Procedure, ServicePoint
from tests.factories import World, build_world, make_enterprise, make_user

# Where the enterprise's user stands, true (WGS-84) position; its phone reports GCJ-02.
USER_WGS = (36.6, 117.0)
# GCJ-02 is ~521 m east of WGS-84 here. East desk stands where the user's GCJ-02 numbers point
# (naively 0 m away, truly ~521 m); west desk 200 m west (naively ~721 m); north desk 350 m
# north (naively ~628 m). True order: west, north, east; naive order: east, north, west.
EAST = (36.60022282, 117.00583475)
WEST = (36.6, 117.0 - 200 / 89_274.0)
NORTH = (36.6 + 350 / 111_195.0, 117.0)
WEEKDAY_HOURS = {
    d: [["08:30", "12:00"], ["13:30", "17:30"]] for d in ("MON", "TUE", "WED", "THU", "FRI")
}
ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")}


@dataclass
class PointWorld:
    base: World
    other_county: Region
    other_admin: User
    east: ServicePoint  # town A
    west: ServicePoint  # town B
    north: ServicePoint  # town A, county's market bureau licence procedure
    bureau: Department  # 县市场监督管理局 (county)
    town_b_office: Department
    licence: Procedure  # at north
    agent_north: User
    agent_east: User
    contacts: dict[str, User]  # enterprise contact username -> user
    enterprises: dict[str, Enterprise]

    async def actor(self, user: User) -> Actor:
        return await load_actor(user.id)


async def make_point(
    region: Region, name: str, position: tuple[float, float], **kw
) -> ServicePoint:
    data = sp_ops.ServicePointData(
        name=name,
        region_id=region.id,
        address=f"{region.name}{name}",
        latitude=position[0],
        longitude=position[1],
        coordinate_system=kw.pop("coordinate_system", CoordinateSystem.WGS84.value),
        phone=kw.pop("phone", "0531-88881234"),
        opening_hours=kw.pop("opening_hours", WEEKDAY_HOURS),
        **kw,
    )
    return await sp_ops.create_service_point(system_actor(), data)


async def add_contact(enterprise: Enterprise, username: str, mobile: str) -> User:
    user = await make_user(username, "ENTERPRISE", None)
    await EnterpriseContact.create(enterprise=enterprise, name=username, mobile=mobile, user=user)
    return user


async def build_point_world() -> PointWorld:
    w = await build_world()
    root = system_actor()
    other = await org_ops.create_region(
        root, name="临河县", level="COUNTY", parent_id=None, code="330598"
    )
    other_admin = await make_user("other_admin", "ADMIN", other)
    bureau = await org_ops.create_department(root, name="县市场监督管理局", region_id=w.county.id)
    town_b_office = await org_ops.create_department(
        root, name="西山镇便民服务中心", region_id=w.town_b.id
    )
    east = await make_point(w.town_a, "东关服务站", EAST)
    west = await make_point(w.town_b, "西街服务站", WEST, slot_minutes=60)
    north = await make_point(w.town_a, "北园服务站", NORTH, slot_capacity=2)
    licence = await sp_ops.create_procedure(
        root,
        north.id,
        sp_ops.ProcedureData(
            name="食品经营许可证变更",
            code="370100-SJ-001",
            department_id=bureau.id,
            materials=[
                sp_ops.MaterialData("授权委托书"),
                sp_ops.MaterialData("营业执照复印件", may_be_missing=True, note="可后补"),
            ],
            statutory_days=20,
            promised_days=5,
            fees="不收费",
            online_url="https://zwfw.example.gov.cn/item/1",
        ),
    )
    await sp_ops.create_procedure(
        root, west.id, sp_ops.ProcedureData(name="个体工商户设立登记", promised_days=3)
    )
    agent_north = await make_user("agent_north", "SERVICE_AGENT", None, service_point_id=north.id)
    agent_east = await make_user("agent_east", "SERVICE_AGENT", None, service_point_id=east.id)
    await org_ops.update_user(root, agent_north.id, org_ops.UserFields(mobile="13900139000"))
    ent_c = await make_enterprise(w.town_a, "清河县宏图包装有限公司")
    contacts = {
        "ent_user": w.enterprise_user,  # contact of ent_a1
        "contact_a2": await add_contact(w.ent_a2, "contact_a2", "13700137000"),
        "contact_c": await add_contact(ent_c, "contact_c", "13600136000"),
    }
    return PointWorld(
        base=w,
        other_county=other,
        other_admin=other_admin,
        east=east,
        west=west,
        north=north,
        bureau=bureau,
        town_b_office=town_b_office,
        licence=licence,
        agent_north=agent_north,
        agent_east=agent_east,
        contacts=contacts,
        enterprises={"a1": w.ent_a1, "a2": w.ent_a2, "c": ent_c},
    )
