"""The park's service desk (园小二) and the people of an agency request (帮办代办).

Service points, procedures and agent grants are written directly with the ORM, so these tests
do not depend on the service point administration operations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.access import load_actor, system_actor
from models.ops import org as org_ops
from models.ops.attachments import store_upload
from models.rules import clock
from models.rules.actor import Actor
from models.rules.roles import Role
from models.tables.demands import Attachment
from models.tables.enterprises import EnterpriseContact
from models.tables.grants import RoleGrant
from models.tables.org import Region, User
from models.tables.service_points import Procedure, ServicePoint
from tests.factories import World, build_world, make_user

WEEKDAYS = {d: [["08:30", "17:30"]] for d in ("MON", "TUE", "WED", "THU", "FRI")}
FOOD_LICENCE_MATERIALS = [
    {"name": "授权委托书", "mayBeMissing": False, "note": "加盖公章"},
    {"name": "营业执照副本", "mayBeMissing": False, "note": ""},
    {"name": "经营场所平面布局图", "mayBeMissing": False, "note": ""},
    {"name": "食品安全管理制度", "mayBeMissing": True, "note": "可容缺后补"},
]
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass
class AgencyWorld:
    base: World
    park: Region  # 清河经济开发区, under 城关镇
    desk: ServicePoint  # 园小二 at the park
    other_desk: ServicePoint  # 西山镇便民服务中心
    food_licence: Procedure  # 食品经营许可证变更, promised 5 working days
    other_procedure: Procedure  # at the other desk
    agent: Actor  # 园小二 agent 1
    agent2: Actor  # 园小二 agent 2
    other_agent: Actor  # an agent of the other desk
    contact: Actor  # 张伟, the enterprise's app user (ent_a1)
    contact2: Actor  # 王芳, a second contact of ent_a1
    outsider: Actor  # a contact of another enterprise (ent_b1)
    supervisor: Actor  # county supervisor
    cadre: Actor  # a cadre of town_a (reads by region)
    users: dict[str, User]

    async def upload(self, who: Actor, name: str) -> Attachment:
        return await store_upload(who, name, "application/pdf", PDF)


async def _agent(username: str, display: str, point: ServicePoint, region: Region) -> User:
    user = await make_user(username, None, None)
    await User.filter(id=user.id).update(display_name=display)
    await RoleGrant.create(user=user, role=Role.SERVICE_AGENT, region=region, service_point=point)
    return user


async def build_agency_world() -> AgencyWorld:
    w = await build_world()
    root = system_actor()
    park = await org_ops.create_region(
        root, name="清河经济开发区", level="PARK", parent_id=w.town_a.id, code=None
    )
    desk = await ServicePoint.create(
        name="园小二帮办服务站",
        region=park,
        address="开发区管委会一楼",
        latitude=30.1,
        longitude=120.1,
        phone="0571-88886666",
        opening_hours=WEEKDAYS,
    )
    other_desk = await ServicePoint.create(
        name="西山镇便民服务中心", region=w.town_b, opening_hours=WEEKDAYS
    )
    food = await Procedure.create(
        service_point=desk,
        name="食品经营许可证变更",
        code="FOOD-LIC-CHG",
        materials=FOOD_LICENCE_MATERIALS,
        statutory_days=10,
        promised_days=5,
        fees="不收费",
    )
    other_proc = await Procedure.create(
        service_point=other_desk, name="道路运输经营许可", promised_days=10, materials=[]
    )
    users = {
        "agent": await _agent("agent_li", "李帮办", desk, park),
        "agent2": await _agent("agent_zhao", "赵帮办", desk, park),
        "other_agent": await _agent("agent_xishan", "西山帮办", other_desk, w.town_b),
        "contact": w.enterprise_user,
        "contact2": await make_user("ent_user2", "ENTERPRISE", None),
        "outsider": await make_user("outsider", "ENTERPRISE", None),
        "supervisor": await make_user("supervisor", "SUPERVISOR", w.county),
        "cadre": w.cadre_a,
    }
    await EnterpriseContact.create(
        enterprise=w.ent_a1, name="王芳", mobile="13700137000", user=users["contact2"]
    )
    await EnterpriseContact.create(
        enterprise=w.ent_b1, name="李强", mobile="13900139000", user=users["outsider"]
    )
    actors = {k: await load_actor(u.id) for k, u in users.items()}
    return AgencyWorld(
        base=w,
        park=park,
        desk=desk,
        other_desk=other_desk,
        food_licence=food,
        other_procedure=other_proc,
        agent=actors["agent"],
        agent2=actors["agent2"],
        other_agent=actors["other_agent"],
        contact=actors["contact"],
        contact2=actors["contact2"],
        outsider=actors["outsider"],
        supervisor=actors["supervisor"],
        cadre=actors["cadre"],
        users=users,
    )


class _Fixed:
    """Stands in for the clock's context variable: one moment for every task."""

    def __init__(self) -> None:
        self.moment: datetime | None = None

    def get(self) -> datetime | None:
        return self.moment


@contextmanager
def server_clock() -> Iterator[Any]:
    """Sets the domain clock for the whole process, the in-process test server included
    (`acting_at` only reaches the calling task). Sign-in tokens keep the real time."""
    fixed = _Fixed()
    saved = clock._override
    clock._override = fixed  # type: ignore[assignment]
    try:
        yield fixed
    finally:
        clock._override = saved
