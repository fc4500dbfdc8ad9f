"""A county for the visit tests: a county leader with assigned enterprises, two town cadres who
go along, a cadre of another town, a dispatcher and a supervisor; enterprises with positions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from models.access import load_actor, system_actor
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.ops.attachments import store_upload
from models.ops.policy import ensure_default_categories
from models.rules.actor import Actor
from models.rules.geo import from_wgs84
from models.rules.roles import CoordinateSystem
from models.tables.demands import Attachment
from models.tables.enterprises import Enterprise
from models.tables.org import User
from tests.factories import World, build_world, make_enterprise, make_user

# 清河县恒达机械 stands here (GCJ-02, as the county's map data keeps it).
FACTORY_GCJ = (30.274085, 120.155070)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"


def new_id() -> str:
    return str(uuid.uuid4())


def offset(lat: float, lng: float, north_m: float) -> tuple[float, float]:
    """A point `north_m` metres north (about 111,195 m per degree of latitude)."""
    return lat + north_m / 111_195.0, lng


def as_bd09(lat: float, lng: float) -> tuple[float, float]:
    from models.rules.geo import convert

    return convert(lat, lng, CoordinateSystem.GCJ02, CoordinateSystem.BD09)


@dataclass
class VisitWorld:
    base: World
    factory: Enterprise  # located, in town A, assigned to the leader
    bakery: Enterprise  # located, in town A, assigned to the leader
    no_location: Enterprise  # town A, no position, assigned to the leader
    far: Enterprise  # town B
    leader: Actor  # county leader (CADRE on the county)
    cadre1: Actor  # town A cadres
    cadre2: Actor
    town_b_cadre: Actor
    dispatcher: Actor
    supervisor: Actor
    contact: Actor
    users: dict[str, User]

    async def photo(self, actor: Actor, name: str = "现场.jpg") -> int:
        row: Attachment = await store_upload(actor, name, "image/jpeg", JPEG + uuid.uuid4().bytes)
        return row.id


async def build_visit_world() -> VisitWorld:
    w = await build_world()
    root = system_actor()
    await ensure_default_categories()
    lat, lng = FACTORY_GCJ
    factory = w.ent_a1
    await ent_ops.update_enterprise(
        root,
        factory.id,
        ent_ops.EnterpriseData(latitude=lat, longitude=lng, coordinate_system="GCJ02"),
    )
    bakery = w.ent_a2
    wlat, wlng = from_wgs84(30.2801, 120.1612, CoordinateSystem.GCJ02)
    await ent_ops.update_enterprise(
        root, bakery.id, ent_ops.EnterpriseData(latitude=wlat, longitude=wlng)
    )
    no_location = await make_enterprise(w.town_a, "清河县星辰电子有限公司")
    users = {
        "leader": await make_user("leader", "CADRE", w.county),
        "cadre1": await make_user("cadre1", "CADRE", w.town_a),
        "cadre2": await make_user("cadre2", "CADRE", w.town_a),
        "town_b_cadre": await make_user("town_b_cadre", "CADRE", w.town_b),
        "dispatcher": await make_user("dispatcher", "DISPATCHER", w.county),
        "supervisor": await make_user("supervisor", "SUPERVISOR", w.county),
        "ent_user": w.enterprise_user,
    }
    await org_ops.update_user(root, users["leader"].id, org_ops.UserFields(rank="COUNTY_LEADER"))
    for ent in (factory, bakery, no_location):
        await ent_ops.assign_leader(
            root, enterprise_id=ent.id, leader_id=users["leader"].id, start_date=date(2026, 1, 1)
        )
    actors = {k: await load_actor(u.id) for k, u in users.items()}
    return VisitWorld(
        base=w,
        factory=await Enterprise.get(id=factory.id),
        bakery=await Enterprise.get(id=bakery.id),
        no_location=no_location,
        far=w.ent_b1,
        leader=actors["leader"],
        cadre1=actors["cadre1"],
        cadre2=actors["cadre2"],
        town_b_cadre=actors["town_b_cadre"],
        dispatcher=actors["dispatcher"],
        supervisor=actors["supervisor"],
        contact=actors["ent_user"],
        users=users,
    )
