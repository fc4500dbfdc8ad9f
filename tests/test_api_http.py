"""The GraphQL-over-HTTP contract and the request limits."""

from __future__ import annotations

GR = "application/graphql-response+json"


async def test_graphiql_is_served_to_browsers_in_development(gql):
    resp = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert resp.status_code == 200 and "graphiql" in resp.text.lower()


async def test_validation_error_is_400_without_data_in_graphql_response_json(gql):
    resp = await gql.post("{ nope }")
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith(GR)
    assert "data" not in resp.json() and resp.json()["errors"]


async def test_legacy_json_clients_get_200_for_validation_errors(gql):
    resp = await gql.post("{ nope }", headers={"Accept": "application/json"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["errors"]


async def test_parse_error_is_400(gql):
    resp = await gql.post("{ me { ")
    assert resp.status_code == 400 and "Syntax Error" in resp.json()["errors"][0]["message"]


async def test_get_runs_queries_but_not_mutations(gql):
    ok = await gql.http.get("/graphql", params={"query": "{ me { id } }"}, headers={"Accept": GR})
    assert ok.status_code == 200 and ok.json() == {"data": {"me": None}}
    refused = await gql.http.get(
        "/graphql",
        params={"query": "mutation { logout(input: {}) { ok } }"},
        headers={"Accept": GR},
    )
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"


async def test_malformed_bodies_are_400_and_wrong_types_415(gql):
    bad_json = await gql.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json", "Accept": GR}
    )
    assert bad_json.status_code == 400
    batch = await gql.http.post(
        "/graphql", json=[{"query": "{ me { id } }"}], headers={"Accept": GR}
    )
    assert batch.status_code == 400
    no_query = await gql.http.post("/graphql", json={"variables": {}}, headers={"Accept": GR})
    assert no_query.status_code == 400
    form = await gql.http.post(
        "/graphql", content=b"query={me{id}}", headers={"Content-Type": "text/plain", "Accept": GR}
    )
    assert form.status_code == 415


async def test_unacceptable_accept_header_is_406(gql):
    resp = await gql.post("{ me { id } }", headers={"Accept": "text/csv"})
    assert resp.status_code == 406


async def test_depth_alias_and_token_limits(gql):
    deep = "{ me { grants { region { " + "parent { " * 12 + "id" + " }" * 15 + " }"
    resp = await gql.post(deep)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert resp.json()["errors"][0]["message"] == "查询的嵌套不能超过 12 层"
    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }"
    resp = await gql.post(aliases, headers={"Accept-Language": "en"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert resp.json()["errors"][0]["message"] == "The query may use at most 30 aliases"
    huge = "{ me { " + "id " * 3000 + "} }"
    resp = await gql.post(huge)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"
    assert "1000" in resp.json()["errors"][0]["message"]


async def test_health_and_readiness(gql):
    assert (await gql.http.get("/healthz")).json() == {"status": "ok"}
    ready = await gql.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
