"""The compiled query path (schema.compiled) answers exactly what graphql-core answers, and
hands everything else to graphql-core: the same documents run both ways, for several roles."""

from __future__ import annotations

import json
from typing import Any

from models.ops import demands as ops
from models.rules.actor import Actor
from schema import build_schema, compiled_queries
from schema.context import Context
from schema.relay import to_global_id
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD

DEMAND = """id title description state urgency source version deadline effectiveDeadline
  remainingWorkingDays overdue warning allowedActions pendingRequest submittedAt number
  actions { action allowed until dueOn remaining hint reason { code field message } }
  enterprise { id name address } category { id name } department { id name }
  handler { id displayName } assistingDepartments { name }
  timeline { id action at fromState toState note data actorName actor { id displayName }
    attachments { id fileName } }
  attachments { id fileName contentType size }"""

DOCUMENTS: list[tuple[str, str, dict[str, Any] | None]] = [
    # (who asks, document, variables)
    ("handler", "query($id: ID!) { demand(id: $id) { " + DEMAND + " } }", {"id": "D1"}),
    (
        "handler",
        """query HandlerList { demands(filter: {assignedToMe: true,
          states: [DISPATCHED, IN_PROGRESS]}, orderBy: DEADLINE_SOON, first: 20) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { id number title state deadline remainingWorkingDays overdue
            enterprise { id name } category { id name } lastEvent { action at actorName } } } } }""",
        None,
    ),
    (
        "dispatcher",
        """query Two($f: DemandFilter, $n: Int = 2) { first: demands(filter: $f, first: $n) {
          ...page } everything: demands { totalCount __typename ...page } }
        fragment page on DemandConnection { edges { node { __typename ...row
          ... on Demand { state } ... on Node { id } } } }
        fragment row on Demand { id t: title enterprise { ... on Enterprise { name } } }""",
        {"f": {"state": "DISPATCHED"}},
    ),
    ("contact", "{ demands(first: 5) { edges { node { id title state submittedAt number } } } }",
     None),
    # The actions through a fragment on their interface, in a list.
    ("handler", """{ demands(first: 5) { edges { node { id actions { ...why } } } } }
        fragment why on ActionState { allowed until remaining hint reason { code message }
          ... on DemandActionState { action } }""", None),
    ("dispatcher", "{ demands { edges { node { actions { action allowed reason { field } } } } } }",
     None),
    ("contact", "query { me { id username displayName } unreadNotificationCount }", None),
    ("outsider", "query($id: ID!) { demand(id: $id) { id title } }", {"id": "D1"}),
    # A search by work-order number: that demand first (schema.number_search).
    ("dispatcher", """query($f: DemandFilter) { demands(filter: $f, first: 5) { totalCount
       edges { cursor node { number title } } } }""", {"f": {"search": "N1"}}),
    ("cadre", "{ myAssignedEnterprises(first: 20) { edges { node { enterprise { id name } "
     "visitedInPeriod visitsInPeriod lastVisitAt } } } }", None),
]  # fmt: skip


def _context(actor: Actor | None) -> Context:
    return Context(actor=actor, locale="zh-CN", client="127.0.0.1", secret_key="k" * 32)


async def test_compiled_answers_equal_graphql_cores_for_every_role(db):
    w = await build_demand_world()
    first = await w.in_progress()
    await ops.request_extension(w.handler, first.id, days=2, reason="需补充材料")
    await w.dispatched()
    await w.submit(title="第三个诉求")
    await w.submit(title=f"关于{first.number}的补充", draft=True)  # no number yet
    await w.submit(title=f"关于{first.number}的补充")
    schema = build_schema()
    compiled = compiled_queries(schema)
    actors = {
        "handler": w.handler,
        "dispatcher": w.dispatcher,
        "contact": w.contact,
        "outsider": w.outsider,
        "cadre": w.cadre,
    }
    for who, document, variables in DOCUMENTS:
        if variables and variables.get("id") == "D1":
            variables = {**variables, "id": to_global_id("Demand", first.id)}
        if variables and variables.get("f") == {"search": "N1"}:
            variables = {"f": {"search": first.number}}
        expected = await schema.execute(
            document, variable_values=variables, context_value=_context(actors[who])
        )
        assert expected.errors is None, (who, expected.errors)
        for _ in range(2):  # the second from the plan made by the first (arguments converted)
            got = await compiled.execute(document, None, variables, _context(actors[who]))
            assert got is not None, document
            # Equal, keys in the same order.
            assert json.dumps(got, ensure_ascii=False) == json.dumps(
                expected.data, ensure_ascii=False
            )
    assert got is not None and got != {}


async def test_what_is_not_compiled_goes_to_graphql_core_with_its_errors(gql):
    w = await build_demand_world()
    await w.in_progress()
    compiled = compiled_queries(build_schema())
    handler = _context(w.handler)
    left = [
        "query($all: Boolean!) { demands { edges { node { id title @include(if: $all) } } } }",
        '{ node(id: "RGVtYW5kOjE=") { id } }',  # an interface: graphql-core resolves the type
        "{ __schema { queryType { name } } }",
        "{ demands { edges { node { nosuchfield } } } }",
        "mutation { logout(input: {}) { errors { code } } }",
        "{ demands(first: 500) { totalCount } }",  # refused by the resolver: its error
    ]
    for document in left:
        assert await compiled.execute(document, None, {"all": True}, handler) is None, document

    await gql.login("handler", PASSWORD)
    refused = (await gql.post("{ demands(first: 500) { totalCount } }")).json()
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"
    assert refused["data"] is None
    wrong = (
        await gql.post("query($n: Int) { demands(first: $n) { totalCount } }", {"n": "x"})
    ).json()
    assert "errors" in wrong and wrong.get("data") is None


async def test_metrics_count_the_queries_each_path_answered(gql):
    await build_demand_world()
    await gql.login("dispatcher", PASSWORD)

    async def paths() -> dict[str, int]:
        text = (await gql.http.get("/metrics")).text
        found = {}
        for line in text.splitlines():
            if line.startswith("graphql_queries_total{"):
                labels, _, value = line.partition("} ")
                found[labels.split('"')[1]] = int(value)
        return found

    before = await paths()
    await gql("{ demands(first: 3) { totalCount edges { node { id } } } }")
    await gql("{ demands(first: 3) { edges { node { id ... @include(if: true) { title } } } } }")
    after = await paths()
    assert after["compiled"] == before["compiled"] + 1
    assert after["strawberry"] == before["strawberry"] + 1
