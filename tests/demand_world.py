"""A county with the people of the demand loop, built through the real operations."""

from __future__ import annotations

from dataclasses import dataclass

from models.access import load_actor, system_actor
from models.ops import demands as ops
from models.ops import org as org_ops
from models.ops.policy import ensure_default_categories
from models.rules.actor import Actor
from models.tables.demands import Demand
from models.tables.enterprises import EnterpriseContact
from models.tables.org import Department, User
from models.tables.policy import DemandCategory
from tests.factories import World, build_world, make_user

# The DemandWorld actors by attribute name: every role of the demand loop, in and out of scope.
ACTORS = (
    "dispatcher",
    "handler",
    "handler2",
    "lead",
    "other_handler",
    "supervisor",
    "contact",
    "cadre",
    "outsider",
)


@dataclass
class DemandWorld:
    base: World
    bureau: Department  # 县自然资源局
    other_bureau: Department  # 县市场监督管理局
    category: DemandCategory  # 用地用房
    dispatcher: Actor
    handler: Actor
    handler2: Actor
    lead: Actor
    other_handler: Actor  # a handler of another department
    supervisor: Actor
    contact: Actor  # the enterprise's app user
    cadre: Actor
    outsider: Actor  # a contact of another enterprise
    users: dict[str, User]

    async def submit(self, by: Actor | None = None, **kw: object) -> Demand:
        """A demand submitted by the enterprise contact, or by `by`, with DemandData's fields
        as given."""
        data = ops.DemandData(
            enterprise_id=kw.pop("enterprise_id", self.base.ent_a1.id),  # type: ignore[arg-type]
            title=str(kw.pop("title", "扩建用地审批两个月未办结")),
            description=str(kw.pop("description", "我司扩建项目用地审批已停滞两个月，请协调。")),
            category_id=kw.pop("category_id", self.category.id),  # type: ignore[arg-type]
        )
        for k, v in kw.items():
            setattr(data, k, v)
        return await ops.submit_demand(by or self.contact, data)

    async def dispatched(self, limit_days: int | None = 5) -> Demand:
        d = await self.submit()
        return await ops.dispatch_demand(
            self.dispatcher, d.id, department_id=self.bureau.id, limit_days=limit_days
        )

    async def in_progress(self) -> Demand:
        d = await self.dispatched()
        return await ops.claim_demand(self.handler, d.id)


async def build_demand_world() -> DemandWorld:
    w = await build_world()
    root = system_actor()
    await ensure_default_categories()
    category = await DemandCategory.get(code="LAND", region_id=None)
    bureau = await org_ops.create_department(root, name="县自然资源局", region_id=w.county.id)
    other = await org_ops.create_department(root, name="县市场监督管理局", region_id=w.county.id)
    users = {
        "dispatcher": await make_user("dispatcher", "DISPATCHER", w.county),
        "handler": await make_user("handler", "HANDLER", w.county, department_id=bureau.id),
        "handler2": await make_user("handler2", "HANDLER", w.county, department_id=bureau.id),
        "lead": await make_user("lead", "HANDLER", w.county, department_id=bureau.id, lead=True),
        "other_handler": await make_user(
            "other_handler", "HANDLER", w.county, department_id=other.id
        ),
        "supervisor": await make_user("supervisor", "SUPERVISOR", w.county),
        "outsider": await make_user("outsider", "ENTERPRISE", None),
        "ent_user": w.enterprise_user,
        "cadre_a": w.cadre_a,
    }
    await EnterpriseContact.create(
        enterprise=w.ent_b1, name="李强", mobile="13900139000", user=users["outsider"]
    )
    actors = {k: await load_actor(u.id) for k, u in users.items()}
    return DemandWorld(
        base=w,
        bureau=bureau,
        other_bureau=other,
        category=category,
        dispatcher=actors["dispatcher"],
        handler=actors["handler"],
        handler2=actors["handler2"],
        lead=actors["lead"],
        other_handler=actors["other_handler"],
        supervisor=actors["supervisor"],
        contact=actors["ent_user"],
        cadre=actors["cadre_a"],
        outsider=actors["outsider"],
        users=users,
    )
