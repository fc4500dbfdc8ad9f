"""Hostile GraphQL requests over HTTP: depth, alias and fragment bombs, documents that would cost
the validation rules seconds (repeated fields, too many selections, operations, variables,
directives, arguments or literal values, over-long text), huge and deeply nested variables,
circular fragments, batches, megabyte query strings and text no field can hold. Each gets a 4xx
with a stable code and a message in Chinese (English on Accept-Language: en), and writes
nothing. What each costs the server is bench/hostile_documents.py's to measure: no test here
reads a clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

import httpx
import pytest
import websockets

from models.tables.org import Region
from schema.relay import to_global_id
from schema.request_limits import (
    MAX_ARGUMENTS,
    MAX_DIRECTIVES,
    MAX_DOCUMENT_CHARS,
    MAX_DOCUMENT_VALUES,
    MAX_FIELD_REPEATS,
    MAX_LITERAL_VALUES,
    MAX_OPERATIONS,
    MAX_SELECTIONS,
    MAX_VARIABLES,
)
from server.graphql_errors import MAX_VARIABLES_DEPTH
from server.graphql_http import MAX_BODY_BYTES, MAX_QUERY_STRING_BYTES
from tests.conftest import TEST_SECRET, GraphQLClient, start_server, stop_server
from tests.factories import PASSWORD
from tests.test_api_uploads import UPLOAD

GR = "application/graphql-response+json"


def refused(resp: httpx.Response, status: int, code: str) -> str:
    """The message of a refusal with this status and code (and no data)."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(GR)
    body = resp.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    assert "Traceback" not in resp.text
    return str(error["message"])


async def admin(gql: GraphQLClient) -> GraphQLClient:
    await gql.login("county_admin", PASSWORD)
    return gql


# --- depth, aliases and fragments ------------------------------------------------------------


async def test_depth_is_counted_through_fragments(gql, world):
    nested = "fragment P on Region { " + "parent { " * 13 + "id" + " }" * 13 + " }"
    resp = await gql.post("{ regions { edges { node { ...P } } } } " + nested)
    message = refused(resp, 400, "QUERY_TOO_DEEP")
    assert message == "查询的嵌套不能超过 12 层"


async def test_a_fragment_fan_out_bomb_is_answered_at_once(gql, world):
    """Each fragment spreads the next twice: 2^30 paths for a walker that expands spreads.
    strawberry's depth and alias limiters did, and hung the worker; ours (and the selection
    count before validation) measure each fragment once."""
    fragments = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    doc = "{ me { ...F0 } } " + fragments + " fragment F30 on User { id }"
    resp = await gql.post(doc)
    assert resp.status_code == 200 and resp.json() == {"data": {"me": None}}
    # The same with an alias in every fragment: 2^30 aliases, refused as such, at once.
    aliased = " ".join(
        f"fragment F{i} on User {{ a{i}: id ...F{i + 1} ...F{i + 1} }}" for i in range(30)
    )
    resp = await gql.post("{ me { ...F0 } } " + aliased + " fragment F30 on User { id }")
    refused(resp, 400, "TOO_MANY_ALIASES")


async def test_aliases_are_counted_through_fragments(gql, world):
    half = " ".join(f"a{i}: me {{ id }}" for i in range(20))
    doc = f"{{ ...A ...B }} fragment A on Query {{ {half} }} fragment B on Query {{ {half} }}"
    gql.language = "en"
    message = refused(await gql.post(doc), 400, "TOO_MANY_ALIASES")
    assert message == "The query may use at most 30 aliases"


# --- what a document may cost before it is validated -----------------------------------------

# Each within the token limit (Limits.max_tokens). graphql-core compares every pair of
# same-named fields in one place (and their selections, pair by pair): the first, as a 10 KB
# anonymous document of 2000 tokens, cost its validation 1-2 s of CPU. They are refused before
# validation runs.
REPEATED = [
    "{ " + "enterprises { totalCount } " * 240 + "}",
    # Same-named fields with other arguments each (they cannot merge).
    "{ " + " ".join(f"regions(first: {i}) {{ totalCount }}" for i in range(100)) + " }",
    "{ me { " + "id " * 900 + "} }",
    # In a fragment no operation spreads: validated all the same.
    "{ __typename } fragment F on Query { " + "enterprises { totalCount } " * 240 + "}",
    # Few in each selection, too many once merged: 4 parents of 3 ids are 12 ids in one place.
    "{ regions { edges { node { " + "parent { id id id } " * 4 + "} } } }",
    # Through fragments spread together.
    "{ me { "
    + " ".join(f"...F{i}" for i in range(11))
    + " } } "
    + " ".join(f"fragment F{i} on User {{ id }}" for i in range(11)),
]


async def test_a_field_repeated_in_one_place_is_refused_before_validation(gql, world):
    for doc in REPEATED:
        message = refused(await gql.post(doc), 400, "FIELD_REPEATED")
        assert message == f"同一位置的同名字段（含片段中的）不能超过 {MAX_FIELD_REPEATS} 个"
    await admin(gql)  # signed in or not, the same
    gql.language = "en"
    assert refused(await gql.post(REPEATED[1]), 400, "FIELD_REPEATED") == (
        f"A field may be selected at most {MAX_FIELD_REPEATS} times in one place "
        "(fragments included)"
    )
    # Up to the limit a repeated field is merged and answered once.
    data = await gql("{ me { " + "id " * MAX_FIELD_REPEATS + "} }")
    assert data["me"]["id"]


ENTERPRISE = (
    "fragment E on Enterprise { id name creditCode creditCodeOverride legalRepresentative address"
    " latitude longitude coordinateSystem industryCode scale aboveScaleIndustry"
    " qualifiedConstruction aboveLimitTrade aboveScaleService realEstateDevelopment version"
    " lastVisitAt visits { totalCount } agencyRequests { totalCount }"
    " region { id name code level parent { id name code level parent { id name code level"
    " parent { id name code level parent { id name code level } } } } }"
    " contacts { id name mobile position hasAppAccount }"
    " assignedLeaders { id startDate endDate note leader { id username displayName rank } } }"
)


def enterprises_aliased(n: int) -> str:
    aliased = (f"a{i}: enterprises(first: 1) {{ edges {{ node {{ ...E }} }} }}" for i in range(n))
    return "{ " + " ".join(aliased) + " } " + ENTERPRISE


async def test_selections_are_counted_wherever_a_fragment_is_spread(gql, world):
    """Within the alias and token limits, a fragment spread under 30 aliases makes over 2000
    selections to validate, plan and answer per row: refused before any of it."""
    await admin(gql)
    message = refused(await gql.post(enterprises_aliased(30)), 400, "TOO_MANY_FIELDS")
    assert message == f"查询选择的字段过多（片段在每处展开后合计不能超过 {MAX_SELECTIONS} 个）"
    data = await gql(enterprises_aliased(2))
    assert (
        data["a0"]["edges"][0]["node"]["region"]["name"]
        == data["a1"]["edges"][0]["node"]["region"]["name"]
    )


def limited_documents() -> list[tuple[str, str | None, str, str]]:
    """(document, operationName, code, Chinese message) past each limit on what a document
    holds as written, and past its length."""
    states = "DISPATCHED " * MAX_LITERAL_VALUES
    return [
        (
            " ".join(f"query Q{i} {{ me {{ id }} }}" for i in range(MAX_OPERATIONS + 1)),
            "Q0",
            "TOO_MANY_OPERATIONS",
            f"一个查询文档中的操作不能超过 {MAX_OPERATIONS} 个",
        ),
        (
            "query("
            + " ".join(f"$v{i}: Int" for i in range(MAX_VARIABLES + 1))
            + ") { me { id } }",
            None,
            "TOO_MANY_VARIABLES",
            f"一个操作声明的变量不能超过 {MAX_VARIABLES} 个",
        ),
        (
            "{ me { id " + "@include(if: true) " * (MAX_DIRECTIVES + 1) + "} }",
            None,
            "TOO_MANY_DIRECTIVES",
            f"同一位置的指令不能超过 {MAX_DIRECTIVES} 个",
        ),
        (
            "{ me(" + " ".join(f"a{i}: 1" for i in range(MAX_ARGUMENTS + 1)) + ") { id } }",
            None,
            "TOO_MANY_ARGUMENTS",
            f"一个字段或指令的参数不能超过 {MAX_ARGUMENTS} 个",
        ),
        (
            "{ demands(filter: {states: [" + states + "]}) { totalCount } }",
            None,
            "VALUE_TOO_LARGE",
            f"查询中直接写出的值过大（一个值不能超过 {MAX_LITERAL_VALUES} 项），较大的值请通过变量传递",
        ),
        (  # counted over the document too: five literals of 60 values
            "{ "
            + " ".join(
                f"d{i}: demands(filter: {{states: [{'DISPATCHED ' * 57}]}}) {{ totalCount }}"
                for i in range(5)
            )
            + " }",
            None,
            "TOO_MANY_VALUES",
            f"查询中直接写出的值过多（合计不能超过 {MAX_DOCUMENT_VALUES} 项），较大的值请通过变量传递",
        ),
        (
            "query($f: DemandFilter = {states: [" + states + "]}) { demands(filter: $f) "
            "{ totalCount } }",
            None,
            "VALUE_TOO_LARGE",
            f"查询中直接写出的值过大（一个值不能超过 {MAX_LITERAL_VALUES} 项），较大的值请通过变量传递",
        ),
        (
            "{ me { id } }" + " " * MAX_DOCUMENT_CHARS,
            None,
            "QUERY_TOO_LONG",
            f"查询过长（不能超过 {MAX_DOCUMENT_CHARS} 个字符）",
        ),
    ]


async def post_named(http: httpx.AsyncClient, doc: str, op_name: str | None) -> httpx.Response:
    body = {"query": doc, "operationName": op_name}
    return await http.post("/graphql", json=body, headers={"Accept": GR})


async def test_operations_variables_directives_arguments_literals_and_length_are_limited(
    gql, world
):
    for doc, op_name, code, message in limited_documents():
        assert refused(await post_named(gql.http, doc, op_name), 400, code) == message
    gql.language = "en"
    doc, _, code, _ = limited_documents()[4]
    assert refused(await gql.post(doc), 400, code) == (
        f"A value written in the query may hold at most {MAX_LITERAL_VALUES} items; "
        "pass larger values as variables"
    )
    # At the limits, documents run.
    await admin(gql)
    ops = " ".join(f"query Q{i} {{ me {{ id }} }}" for i in range(MAX_OPERATIONS))
    resp = await post_named(gql.http, ops, "Q3")
    assert resp.status_code == 200 and resp.json()["data"] == {"me": None}  # no token sent
    states = "DISPATCHED " * (MAX_LITERAL_VALUES - 3)  # the object, its field and the list
    data = await gql("{ demands(filter: {states: [" + states + "]}) { totalCount } }")
    assert data["demands"]["totalCount"] == 0
    padded = "{ me { id } }" + " " * (MAX_DOCUMENT_CHARS - 100)
    assert (await gql(padded))["me"]["id"]


async def test_a_hostile_document_in_an_upload_is_refused_before_the_file_is_used(gql, world):
    await admin(gql)
    hostile = UPLOAD.replace("attachment { id", "attachment { " + "id " * 200)
    resp = await gql.http.post(
        "/graphql",
        data={
            "operations": json.dumps(
                {"query": hostile, "variables": {"input": {"file": None, "clientId": None}}}
            ),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("a.txt", b"hello", "text/plain")},
        headers={"Accept": GR, "Authorization": f"Bearer {gql.token}"},
    )
    refused(resp, 400, "FIELD_REPEATED")


async def test_a_hostile_subscription_is_refused_on_the_websocket(gql, world, server_url):
    await admin(gql)
    url = server_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {gql.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        query = "subscription { notificationAdded { " + "kind " * 200 + "} }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert answer["type"] == "error", answer
    assert [e["extensions"]["code"] for e in answer["payload"]] == ["FIELD_REPEATED"]


async def test_circular_fragments_are_refused(gql, world):
    doc = "{ me { ...A } } fragment A on User { ...B } fragment B on User { id ...A }"
    resp = await gql.post(doc)
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    assert errors[0]["message"].startswith("GraphQL 查询无效：片段“A”经由 “B” 展开了自己")
    gql.language = "en"
    en = (await gql.post(doc)).json()["errors"][0]["message"]
    assert en.startswith("The query is not valid: Cannot spread fragment")


# --- sizes -----------------------------------------------------------------------------------


async def _post_raw(http: httpx.AsyncClient, content: object, **headers: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        content=content,  # type: ignore[arg-type]
        headers={"Content-Type": "application/json", "Accept": GR, **headers},
    )


async def test_megabytes_of_variables_are_413_whether_announced_or_streamed(gql, world):
    big = json.dumps({"query": "{ me { id } }", "variables": {"x": "字" * MAX_BODY_BYTES}})
    resp = await _post_raw(gql.http, big.encode())
    message = refused(resp, 413, "REQUEST_TOO_LARGE")
    assert message == "请求不能超过 1 MB"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        data = big.encode()
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]

    resp = await _post_raw(gql.http, chunks())
    refused(resp, 413, "REQUEST_TOO_LARGE")
    gql.language = "en"
    assert (
        refused(
            await _post_raw(gql.http, big.encode(), **{"Accept-Language": "en"}),
            413,
            "REQUEST_TOO_LARGE",
        )
        == "The request must be at most 1 MB"
    )


async def test_a_query_of_megabytes_is_refused_by_post_and_get(gql, world, server_url):
    doc = "{ me { id } }" + " " * (2 * MAX_BODY_BYTES)
    resp = await gql.http.post("/graphql", json={"query": doc}, headers={"Accept": GR})
    refused(resp, 413, "REQUEST_TOO_LARGE")
    # Under the body limit, past the document's length: refused before it is lexed.
    padded = "{ me { id } }" + " " * (MAX_BODY_BYTES - 100)
    refused(await gql.post(padded), 400, "QUERY_TOO_LONG")

    # GET: megabytes in the URL (httpx refuses to send such a URL, so a raw request does).
    # uvicorn refuses a request head past ~64 KB itself; between our limit and that, we do.
    status, body = await raw_get(server_url, "{ me { id } }" + "x" * (2 * 1024 * 1024))
    assert status == 400 and b"Traceback" not in body
    status, body = await raw_get(server_url, "{ me { id } }" + "x" * (MAX_QUERY_STRING_BYTES + 1))
    assert status == 414
    error = json.loads(body)["errors"][0]
    assert error["extensions"]["code"] == "URI_TOO_LONG"
    assert error["message"] == (
        f"请求地址不能超过 {MAX_QUERY_STRING_BYTES // 1024} KB，较长的查询请用 POST 发送"
    )
    # A long URL under the limit still runs.
    status, body = await raw_get(server_url, "{ me { id } } #" + "x" * 20_000)
    assert status == 200 and json.loads(body) == {"data": {"me": None}}


async def raw_get(server_url: str, query: str) -> tuple[int, bytes]:
    url = urlsplit(server_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        target = "/graphql?query=" + quote(query)
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: {GR}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_deeply_nested_variables_are_refused(gql, world):
    too_deep_for_json = b'{"query": "{ me { id } }", "variables": {"x": ' + b"[" * 100_000
    too_deep_for_json += b"]" * 100_000 + b"}}"
    resp = await _post_raw(gql.http, too_deep_for_json)
    refused(resp, 400, "INVALID_JSON")
    nested: object = "leaf"
    for _ in range(MAX_VARIABLES_DEPTH + 1):
        nested = {"x": [nested]}
    doc = "query($v: JSON) { me { id } }"
    resp = await gql.post(doc, {"v": nested})
    message = refused(resp, 400, "VARIABLES_TOO_DEEP")
    assert message == f"请求中变量的嵌套不能超过 {MAX_VARIABLES_DEPTH} 层"
    # Literals nested in the document itself: graphql-core's parser stops them.
    literal = "{ regions(filter: {search: " + "[" * 300 + '"x"' + "]" * 300 + "}) { totalCount } }"
    resp = await gql.post(literal)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_batches_and_malformed_bodies_have_codes(gql, world):
    cases = [
        (b'[{"query": "{ me { id } }"}, {"query": "{ me { id } }"}]', 400, "BATCH_NOT_SUPPORTED"),
        (b"{not json", 400, "INVALID_JSON"),
        (b'"just a string"', 400, "INVALID_JSON"),
        (b'{"variables": {}}', 400, "QUERY_REQUIRED"),
        (b'{"query": "{ me { id } }", "variables": [1]}', 400, "INVALID_VARIABLES"),
        (b'{"query": "{ me { id } }", "operationName": 7}', 400, "INVALID_OPERATION_NAME"),
        (b'{"query": "query A { me { id } }", "operationName": "B"}', 400, "UNKNOWN_OPERATION"),
        # Several operations and no name: which one to run is not the server's guess.
        (
            b'{"query": "query A { me { id } } query B { me { username } }"}',
            400,
            "UNKNOWN_OPERATION",
        ),
        (
            b'{"query": "query A { me { id } } mutation B { logout(input: {}) { ok } }"}',
            400,
            "UNKNOWN_OPERATION",
        ),
        (b'{"query": "subscription { notificationAdded { id } }"}', 400, None),
    ]
    for content, status, code in cases:
        resp = await _post_raw(gql.http, content)
        assert resp.status_code == status, (content, resp.text)
        error = resp.json()["errors"][0]
        assert error["extensions"]["code"] == (code or error["extensions"]["code"])
        assert not error["message"].isascii(), error  # worded in Chinese
    batch = await _post_raw(gql.http, cases[0][0], **{"Accept-Language": "en"})
    assert batch.json()["errors"][0]["message"] == (
        "The request body must be one JSON object; batching is not supported"
    )
    form = await gql.http.post(
        "/graphql", content=b"query={me{id}}", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 415
    assert form.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    mutation_by_get = await gql.http.get(
        "/graphql",
        params={"query": "mutation { logout(input: {}) { ok } }"},
        headers={"Accept": GR},
    )
    assert mutation_by_get.status_code == 405 and mutation_by_get.headers["allow"] == "POST"
    assert mutation_by_get.json()["errors"][0]["extensions"]["code"] == "MUTATION_NEEDS_POST"


async def test_a_bad_variable_value_is_a_400_naming_the_variable(gql, world):
    resp = await gql.post("query($n: Int!) { regions(first: $n) { totalCount } }", {"n": "x"})
    message = refused(resp, 400, "GRAPHQL_INVALID_VARIABLES")
    assert message == "变量取值无效：变量 $n：Int 须为整数，实际是 'x'"


# --- characters no field can hold ------------------------------------------------------------

CREATE_REGION = """mutation($name: String!, $parent: ID) {
  createRegion(input: {name: $name, level: TOWN, parentId: $parent}) {
    region { id name } errors { code field message } } }"""


async def test_nul_and_lone_surrogates_are_refused_wherever_they_come(gql, world):
    await admin(gql)
    parent = to_global_id("Region", world.county.id)
    before = await Region.all().count()
    # In a variable.
    resp = await gql.post(CREATE_REGION, {"name": "新\x00镇", "parent": parent})
    assert refused(resp, 400, "INVALID_CHARACTERS").startswith("请求中含有不允许的字符")
    # In a literal of the document.
    literal = CREATE_REGION.replace("$name: String!, ", "").replace("$name", '"新\\u0000镇"')
    refused(await gql.post(literal, {"parent": parent}), 400, "INVALID_CHARACTERS")
    # In a search, where PostgreSQL would fail on it.
    search = "query($s: String) { enterprises(filter: {search: $s}) { totalCount } }"
    refused(await gql.post(search, {"s": "\x00"}), 400, "INVALID_CHARACTERS")
    # In a GET query string.
    resp = await gql.http.get(
        "/graphql",
        params={
            "query": '{ regions(filter: {search: "a"}) { totalCount } }',
            "variables": "{}",
            "operationName": "\x00",
        },
        headers={"Accept": GR},
    )
    refused(resp, 400, "INVALID_CHARACTERS")
    # A lone surrogate, which JSON can carry as an escape and UTF-8 cannot encode.
    body = (
        '{"query": "query($s: String) { enterprises(filter: {search: $s}) { totalCount } }",'
        ' "variables": {"s": "\\ud800x"}}'
    )
    resp = await _post_raw(gql.http, body.encode(), Authorization=f"Bearer {gql.token}")
    refused(resp, 400, "INVALID_CHARACTERS")
    gql.language = "en"
    in_english = refused(await gql.post(search, {"s": "\x00"}), 400, "INVALID_CHARACTERS")
    assert in_english.startswith("The request holds characters that are not allowed")
    assert await Region.all().count() == before


NAMES = [
    "ＡＢＣ全角科技有限公司",  # full-width Latin letters
    "🏭 工厂👨‍👩‍👧‍👦",  # emoji, a ZWJ family
    "Cafe\u0301 e\u0301\u0301\u0301",  # combining marks, stacked
    "𠀀𪚥 罕用字",  # outside the BMP
    "O'Brien; DROP TABLE region;--",
    "100% _real_ \\ 名称",
]


@pytest.mark.parametrize("name", NAMES)
async def test_unusual_but_printable_names_are_kept_exactly(gql, world, name):
    await admin(gql)
    data = await gql(
        CREATE_REGION, {"name": name, "parent": to_global_id("Region", world.county.id)}
    )
    payload = data["createRegion"]
    assert payload["errors"] == [] and payload["region"]["name"] == name
    found = await gql(
        "query($s: String) { regions(filter: {search: $s}) { edges { node { name } } } }",
        {"s": name},
    )
    assert [e["node"]["name"] for e in found["regions"]["edges"]] == [name]


@pytest.mark.parametrize(
    "name", ["铃\x07声", "转义\x1b[31m红", "C1\x85控制", "evil\u202egnp.exe", "隔离\u2066字符"]
)
async def test_control_characters_in_names_are_a_user_error(gql, world, name):
    await admin(gql)
    before = await Region.all().count()
    data = await gql(
        CREATE_REGION, {"name": name, "parent": to_global_id("Region", world.county.id)}
    )
    assert data["createRegion"]["region"] is None
    assert data["createRegion"]["errors"] == [
        {
            "code": "CONTROL_CHARACTERS",
            "field": "name",
            "message": "名称含有不可见的控制字符，请删除后重试",
        }
    ]
    assert await Region.all().count() == before


# --- production: the same refusals, and nothing leaks ----------------------------------------


@pytest.fixture
async def prod(db: str) -> AsyncIterator[httpx.AsyncClient]:
    from server.settings import Settings

    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http
    await stop_server(server, task)


async def test_production_gives_the_same_codes_and_no_details(prod, world):
    cases = [
        (
            {
                "query": "query($n: Int!) { regions(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "GRAPHQL_INVALID_VARIABLES",
        ),
        (
            {
                "query": "query($s: String) { enterprises(filter: {search: $s}) { totalCount } }",
                "variables": {"s": "a\x00"},
            },
            "INVALID_CHARACTERS",
        ),
        ({"query": "{ me { ...A } } fragment A on User { ...A }"}, "GRAPHQL_VALIDATION_FAILED"),
    ]
    for body, code in cases:
        resp = await prod.post("/graphql", json=body, headers={"Accept": GR})
        refused(resp, 400, code)


async def test_production_refuses_costly_documents_with_the_same_codes(prod, world):
    costly = [(doc, None, "FIELD_REPEATED") for doc in REPEATED]
    costly.append((enterprises_aliased(30), None, "TOO_MANY_FIELDS"))
    costly += [(doc, op_name, code) for doc, op_name, code, _ in limited_documents()]
    for doc, op_name, code in costly:
        message = refused(await post_named(prod, doc, op_name), 400, code)
        assert not message.isascii(), message  # worded in Chinese, nothing of the server's
