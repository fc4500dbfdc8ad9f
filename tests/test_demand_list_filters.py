"""The demand list's filters, orders and pages over HTTP, each checked against the demands
worked out in Python from the stored rows, and the written-out demand scope held to the ORM's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.access import demand_scope, demand_scope_sql
from models.db.row_query import Params, connection, is_postgres
from models.ops import demands as ops
from models.rules.actor import Actor
from models.rules.clock import TZ, acting_at, today
from models.rules.demand_states import CLOCK_STATES
from models.tables.demands import Demand, DemandAssist
from models.tables.enterprises import EnterpriseContact
from schema.relay import from_global_id, to_global_id
from tests.demand_world import ACTORS, DemandWorld, build_demand_world
from tests.factories import PASSWORD

CLOCK = {s.value for s in CLOCK_STATES}


async def _world() -> tuple[DemandWorld, dict[str, int]]:
    """Demands in several states, towns, departments and dates; titles with LIKE's wildcards."""
    w = await build_demand_world()
    made: dict[str, int] = {}
    long_ago = datetime(2025, 3, 3, 2, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
    with acting_at(long_ago):  # dispatched then: long past its deadline now
        late = await w.submit(title="旧厂房消防验收 100% 卡住")
        late = await ops.dispatch_demand(w.dispatcher, late.id, department_id=w.bureau.id)
        made["late"] = (await ops.claim_demand(w.handler, late.id)).id
    waiting = await w.submit(title="用地_指标 申请")
    made["waiting"] = (
        await ops.dispatch_demand(
            w.dispatcher,
            waiting.id,
            department_id=w.other_bureau.id,
            assisting_department_ids=[w.bureau.id],
            limit_days=3,
        )
    ).id
    made["fresh"] = (await w.submit(title="ＡＢＣ全角 招工难 😀")).id
    made["town_b"] = (
        await w.submit(
            by=w.outsider,
            enterprise_id=w.base.ent_b1.id,
            title="物流园道路破损",
            description="进出货车颠簸。",
        )
    ).id
    made["hotline"] = (  # taken down by the dispatcher from the 12345 hotline
        await w.submit(
            by=w.dispatcher,
            title="12345 转来：厂区门口停车难",
            description="货车无处停靠。",
            source="HOTLINE_12345",
        )
    ).id
    claimed = await w.dispatched(limit_days=20)
    made["claimed"] = (await ops.claim_demand(w.handler2, claimed.id)).id
    return w, made


async def _rows() -> list[dict]:
    return (
        await Demand.all()
        .order_by("id")
        .values(
            "id",
            "title",
            "state",
            "enterprise_id",
            "enterprise__name",
            "enterprise__region_id",
            "department_id",
            "handler_id",
            "category_id",
            "source",
            "effective_deadline",
            "warning_date",
            "submitted_at",
        )
    )


LIST = """query($f: DemandFilter, $o: DemandOrder, $first: Int, $after: String) {
  demands(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""


async def _ids(gql, f: dict | None = None, order: str = "NEWEST") -> tuple[list[int], int]:
    data = (await gql(LIST, {"f": f, "o": order, "first": 100}))["demands"]
    ids = [from_global_id(e["node"]["id"])[1] for e in data["edges"]]
    return ids, data["totalCount"]


async def _walk(gql, f: dict | None, order: str, total: int) -> list[int]:
    """The list walked in pages of two; every page tells the same total."""
    walked: list[int] = []
    after = None
    while True:
        variables = {"f": f, "o": order, "first": 2, "after": after}
        data = (await gql(LIST, variables))["demands"]
        walked += [from_global_id(e["node"]["id"])[1] for e in data["edges"]]
        assert data["totalCount"] == total
        if not data["pageInfo"]["hasNextPage"]:
            return walked
        after = data["pageInfo"]["endCursor"]


async def test_each_filter_lists_exactly_the_matching_demands(gql):
    w, made = await _world()
    rows = await _rows()
    assisted = {
        a["demand_id"]
        for a in await DemandAssist.filter(department_id=w.bureau.id).values("demand_id")
    }
    day = today()
    newest = sorted((r["id"] for r in rows), reverse=True)

    def expect(pred) -> list[int]:
        by_id = {r["id"]: r for r in rows}
        return [i for i in newest if pred(by_id[i])]

    def overdue(r: dict) -> bool:
        return (
            r["state"] in CLOCK
            and r["effective_deadline"] is not None
            and r["effective_deadline"] < day
        )

    submitted_day = next(r for r in rows if r["id"] == made["fresh"])["submitted_at"]
    submitted_day = submitted_day.astimezone(TZ).date()
    cases: list[tuple[dict, list[int]]] = [
        ({}, newest),
        ({"state": "SUBMITTED"}, expect(lambda r: r["state"] == "SUBMITTED")),
        (
            {"states": ["DISPATCHED", "IN_PROGRESS"]},
            expect(lambda r: r["state"] in ("DISPATCHED", "IN_PROGRESS")),
        ),
        (
            {"departmentId": to_global_id("Department", w.bureau.id)},
            expect(lambda r: r["department_id"] == w.bureau.id or r["id"] in assisted),
        ),
        (
            {"regionId": to_global_id("Region", w.base.town_b.id)},
            expect(lambda r: r["enterprise__region_id"] == w.base.town_b.id),
        ),
        (
            {"enterpriseId": to_global_id("Enterprise", w.base.ent_b1.id)},
            expect(lambda r: r["enterprise_id"] == w.base.ent_b1.id),
        ),
        ({"categoryId": to_global_id("DemandCategory", w.category.id)}, newest),
        ({"source": "HOTLINE_12345"}, [made["hotline"]]),
        ({"source": "APP"}, expect(lambda r: r["source"] == "APP")),
        ({"overdue": True}, expect(overdue)),
        ({"overdue": False}, expect(lambda r: not overdue(r))),
        (
            {"warning": False},
            expect(
                lambda r: (
                    not (
                        r["state"] in CLOCK
                        and r["warning_date"] is not None
                        and r["warning_date"] <= day <= r["effective_deadline"]
                    )
                )
            ),
        ),
        (
            {"submittedFrom": submitted_day.isoformat()},
            expect(lambda r: r["submitted_at"].astimezone(TZ).date() >= submitted_day),
        ),
        ({"submittedTo": (submitted_day - timedelta(days=1)).isoformat()}, [made["late"]]),
        ({"search": "100%"}, [made["late"]]),
        ({"search": "%"}, [made["late"]]),
        ({"search": "_"}, [made["waiting"]]),
        ({"search": "ＡＢＣ全角"}, [made["fresh"]]),
        ({"search": "abc"}, []),  # full-width letters are other characters
        ({"search": "😀"}, [made["fresh"]]),
        ({"search": "' OR 1=1 --"}, []),
        ({"search": w.base.ent_b1.name}, [made["town_b"]]),
    ]
    await gql.login("supervisor", PASSWORD)
    for f, expected in cases:
        ids, total = await _ids(gql, f)
        assert (ids, total) == (expected, len(expected)), f
    assert len(cases[9][1]) == 1 and len(cases[15][1]) > 0  # the data has what the cases need

    await gql.login("handler", PASSWORD)  # claimed by me, or waiting in my department
    ids, _ = await _ids(gql, {"assignedToMe": True})
    mine = expect(
        lambda r: (
            r["handler_id"] == w.handler.user_id
            or (r["department_id"] == w.bureau.id and r["state"] == "DISPATCHED")
        )
    )
    assert ids == mine and made["late"] in ids and made["claimed"] not in ids


async def test_pages_walk_every_order_without_gaps_or_repeats(gql):
    _, made = await _world()
    await gql.login("supervisor", PASSWORD)
    for order in ("NEWEST", "OLDEST", "DEADLINE_SOON"):
        everything, total = await _ids(gql, None, order)
        assert await _walk(gql, None, order, total) == everything, order
    deadlines = (await _ids(gql, None, "DEADLINE_SOON"))[0]
    assert deadlines[0] == made["late"] and made["fresh"] not in deadlines  # no deadline yet


async def test_the_handler_list_pages_through_claimed_and_waiting_demands_in_order(gql):
    """assignedToMe is picked as two branches (claimed by me; waiting in my department), each
    from its own index in the list's order, then merged: pages of two walk the same demands as
    one big page and as worked out in Python, in every order."""
    w, _ = await _world()
    # More of each than a page of two picks (3), the deadlines against the id order.
    for days in (9, 7, 5, 3, 2):  # waiting in the bureau
        await w.dispatched(limit_days=days)
    for days in (12, 8, 6, 4, 1):  # claimed by the handler
        d = await w.dispatched(limit_days=days)
        await ops.claim_demand(w.handler, d.id)
    await w.dispatched(limit_days=3)  # claimed by the other handler: not mine
    claimed_by_other = (await ops.claim_demand(w.handler2, (await w.dispatched()).id)).id
    rows = await _rows()
    mine = [
        r
        for r in rows
        if r["handler_id"] == w.handler.user_id
        or (r["department_id"] == w.bureau.id and r["state"] == "DISPATCHED")
    ]
    by_deadline = [r["id"] for r in sorted(mine, key=lambda r: (r["effective_deadline"], r["id"]))]
    assert len(by_deadline) >= 8 and claimed_by_other not in by_deadline
    await gql.login("handler", PASSWORD)
    for order in ("DEADLINE_SOON", "NEWEST", "OLDEST"):
        everything, total = await _ids(gql, {"assignedToMe": True}, order)
        if order == "DEADLINE_SOON":
            assert everything == by_deadline
        assert sorted(everything) == sorted(by_deadline) and total == len(by_deadline)
        assert await _walk(gql, {"assignedToMe": True}, order, total) == everything, order


@pytest.mark.parametrize("who", ACTORS)
async def test_the_written_out_scope_reads_what_the_orm_scope_reads(db, who):
    w, _ = await _world()
    actor: Actor = getattr(w, who)
    contacts = EnterpriseContact.filter(user_id=actor.user_id)
    contact_of = {c["enterprise_id"] for c in await contacts.values("enterprise_id")}
    orm = set(await Demand.filter(demand_scope(actor)).values_list("id", flat=True))
    p = Params(is_postgres())
    sql = f"SELECT t0.id FROM demand t0 WHERE {demand_scope_sql(actor, contact_of, p, 't0')}"
    written = {r["id"] for r in await connection().execute_query_dict(sql, p.values)}
    assert written == orm
    assert orm or who == "other_handler", who  # each actor but one sees something
