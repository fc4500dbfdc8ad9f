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
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["message"] == "GraphQL 查询有语法错误：此处应为名称，实际是文档结尾"
    gql.language = "en"
    resp = await gql.post("{ me { ")
    assert "Syntax Error: Expected Name, found <EOF>." in resp.json()["errors"][0]["message"]


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


async def test_no_accept_header_or_a_wildcard_gets_legacy_application_json(gql):
    """The GraphQL-over-HTTP spec's legacy watershed: only a client that names
    application/graphql-response+json gets it (and its 400 for a refused document)."""
    for accept in (None, "*/*", "application/*", "text/html, */*;q=0.8"):
        request = gql.http.build_request("POST", "/graphql", json={"query": "{ nope }"})
        del request.headers["Accept"]  # httpx sends */* unless told otherwise
        if accept is not None:
            request.headers["Accept"] = accept
        resp = await gql.http.send(request)
        assert resp.status_code == 200, accept
        assert resp.headers["content-type"].startswith("application/json"), accept
        body = resp.json()
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == (
            "GRAPHQL_VALIDATION_FAILED"
        )
    for accept in (
        GR,
        f"{GR}, */*",
        f"{GR}, application/json;q=0.9",
        f"application/json;q=0, {GR}",
    ):
        resp = await gql.post("{ nope }", headers={"Accept": accept})
        assert resp.status_code == 400 and resp.headers["content-type"].startswith(GR), accept


async def test_extensions_that_are_not_an_object_are_400(gql):
    for extensions in ("persisted", [], 5, True):
        body = {"query": "{ me { id } }", "extensions": extensions}
        resp = await gql.http.post("/graphql", json=body, headers={"Accept": GR})
        assert resp.status_code == 400, extensions
        [error] = resp.json()["errors"]
        assert error == {
            "message": "请求中的扩展信息须为 JSON 对象",
            "extensions": {"code": "INVALID_EXTENSIONS"},
        }
    got = await gql.http.get(
        "/graphql",
        params={"query": "{ me { id } }", "extensions": "[1]"},
        headers={"Accept": GR, "Accept-Language": "en"},
    )
    assert got.status_code == 400
    assert got.json()["errors"][0]["message"] == "The request's extensions must be a JSON object"
    for fine in ({}, {"persistedQuery": None}, None):
        body = {"query": "{ me { id } }", "extensions": fine}
        resp = await gql.http.post("/graphql", json=body, headers={"Accept": GR})
        assert resp.json() == {"data": {"me": None}}
    resp = await gql.http.get(
        "/graphql", params={"query": "{ me { id } }", "extensions": "{}"}, headers={"Accept": GR}
    )
    assert resp.json() == {"data": {"me": None}}


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
