"""Access-matrix probes of the demand reads, the caller's own account, dispatching, creating a
region and the live inbox: the patterns the other probe modules follow.

- A read of one object names the county's standing object ("in": 清河县's, "out": 东岭县's).
- A list read sets `Call.target` to the object's id: `ok` when the list shows it, `empty` when not.
- A mutation that may succeed works on a fresh object and says in `verify` what changed."""

from __future__ import annotations

from models.tables.demands import Demand
from models.tables.org import Region
from tests.access_world import AccessContext, Call, gid, notify_user, probe


@probe("demand")
async def demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = ctx.county(obj).demand
    return Call("query($id: ID!) { demand(id: $id) { id title } }", {"id": gid("Demand", d.id)})


@probe("demands")
async def demands(ctx: AccessContext, column: str, obj: str) -> Call:
    d = ctx.county(obj).demand
    target = gid("Demand", d.id)
    return Call("{ demands(first: 100) { edges { node { id } } } }", target=target)


@probe("me")
async def me(ctx: AccessContext, column: str, obj: str) -> Call:
    user = ctx.home.people.users.get(column)
    return Call("{ me { id username } }", target=user.username if user else None)


@probe("dispatchDemand")
async def dispatch_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    d = await ctx.fresh_demand(obj)

    async def dispatched() -> None:
        row = await Demand.get(id=d.id)
        assert row.state == "DISPATCHED", f"state {row.state}"
        assert row.department_id == county.bureau.id

    return Call(
        """mutation($input: DispatchDemandInput!) { dispatchDemand(input: $input) {
             demand { id state } errors { code field message } } }""",
        {
            "input": {
                "demandId": gid("Demand", d.id),
                "departmentId": gid("Department", county.bureau.id),
                "limitDays": 5,
            }
        },
        verify=dispatched,
    )


@probe("createRegion")
async def create_region(ctx: AccessContext, column: str, obj: str) -> Call:
    parent = ctx.county(obj).county
    name = f"新建{column}{obj}镇"

    async def created() -> None:
        assert await Region.filter(name=name, parent_id=parent.id).exists(), "no region"

    return Call(
        """mutation($input: CreateRegionInput!) { createRegion(input: $input) {
             region { id name } errors { code field message } } }""",
        {"input": {"name": name, "level": "TOWN", "parentId": gid("Region", parent.id)}},
        verify=created,
    )


@probe("notificationAdded")
async def notification_added(ctx: AccessContext, column: str, obj: str) -> Call:
    """Once the subscription is open, a notification is written for this column's user ("in")
    or for the user of the same role in 东岭县 ("out"), about that county's demand; `ok` when a
    message about the demand arrives. After an "out" one, a second notification about another
    demand goes to the column's own user: the first message that arrives tells whether the
    other county's reached this user (notifications arrive in order)."""
    county = ctx.county(obj)
    role = "admin" if column == "anonymous" else column
    d = county.demand

    async def trigger() -> None:
        await notify_user(county.people.users[role].id, d, county.county)
        if obj == "out":
            sentinel = await ctx.once("sentinel demand", lambda: ctx.fresh_demand("in"))
            await notify_user(ctx.home.people.users[role].id, sentinel, ctx.home.county)

    return Call(
        "subscription { notificationAdded { kind title subjectId } }",
        target=gid("Demand", d.id),
        trigger=trigger,
    )
