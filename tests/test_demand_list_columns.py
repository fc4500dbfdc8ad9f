"""A demand list whose nodes ask only for the list screens' fields reads only their columns
(schema.types.demands.LIST_FIELD_COLUMNS), and answers exactly what the whole row answers."""

from __future__ import annotations

from models.ops import demands as ops
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD
from tests.sql_log import counting_sql

# Every field of LIST_FIELD_COLUMNS, through a fragment and an alias as apps write them.
NARROW = """query($order: DemandOrder) { demands(first: 20, orderBy: $order) {
  pageInfo { hasNextPage endCursor }
  edges { cursor node { __typename ...Row } } } }
fragment Row on Demand {
  id title description source urgency state version
  deadline effectiveDeadline overdue warning remainingWorkingDays limitDays deadlineConfirmed
  submittedAt dispatchedAt claimedAt closedAt number
  allowedActions actions { action allowed until dueOn remaining hint reason { code field message } }
  enterprise { id name address creditCode }
  category { id name code limitNormal isActive }
  department { id name }
  lastEvent { id action at fromState toState note data actorName actor { displayName } }
  due: handler { id displayName }
}"""
# The same, and one field outside LIST_FIELD_COLUMNS: the whole row is read.
WHOLE = NARROW.replace("deadlineConfirmed", "deadlineConfirmed replyText")


async def test_a_list_reads_the_columns_its_fields_need_and_answers_the_same(gql):
    w = await build_demand_world()
    await w.submit()
    await w.dispatched()
    claimed = await w.in_progress()
    await ops.suspend_demand(w.handler, claimed.id, reason="等待外部审批")
    await ops.decide_suspension(w.dispatcher, claimed.id, approve=True)  # its clock stops
    await w.in_progress()
    for username in ("dispatcher", "handler", "ent_user"):
        await gql.login(username, PASSWORD)
        for order in ("NEWEST", "DEADLINE_SOON"):
            with counting_sql() as narrow_sql:
                narrow = await gql(NARROW, {"order": order})
            with counting_sql() as whole_sql:
                whole = await gql(WHOLE, {"order": order})
            edges = whole["demands"]["edges"]
            assert edges, (username, order)
            for edge in edges:
                assert edge["node"].pop("replyText") is None
            assert narrow == whole, (username, order)
            assert "reply_text" not in " ".join(narrow_sql)
            assert "reply_text" in " ".join(whole_sql)
