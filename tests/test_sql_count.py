"""The SQL statement counter of GET /metrics (models.db.sql_count): a GraphQL request over HTTP
makes `db_statements_total{kind="query"}` grow by what it sent, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from models.db.sql_count import STATEMENTS
from tests.conftest import GraphQLClient
from tests.factories import PASSWORD

LIST = "{ demands(first: 5) { edges { node { id title enterprise { name } } } } }"


async def _scraped(http: httpx.AsyncClient) -> dict[str, int]:
    resp = await http.get("/metrics")
    assert resp.status_code == 200
    found = {}
    for line in resp.text.splitlines():
        if line.startswith("db_statements_total{"):
            labels, _, value = line.partition("} ")
            found[labels.split('"')[1]] = int(value)
    return found


async def test_a_request_shows_in_the_statement_counter(gql: GraphQLClient, world: object) -> None:
    await gql.login("cadre_a", PASSWORD)  # the sign-in's transaction counts as control
    http = gql.http
    before = await _scraped(http)
    assert set(before) == {"query", "control"}
    assert before["control"] > 0
    queries = STATEMENTS.queries
    data = await gql(LIST)
    assert data["demands"]["edges"] == []
    sent = STATEMENTS.queries - queries  # this process serves the request: counted here
    assert sent >= 2  # at least the caller's grants and the page
    after = await _scraped(http)
    # The scrape reads the counter before its own outbox statements: the request's are there.
    assert after["query"] >= before["query"] + sent
    assert after["control"] >= before["control"]
