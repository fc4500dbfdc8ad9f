"""Production mode: no GraphiQL, no introspection, internal errors masked, no demo accounts."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets
from tortoise.connection import get_connection

from models.tables.org import User
from schema import build_schema
from server.app import refuse_demo_accounts_in_production
from server.security import API_CSP
from server.settings import HSTS_PRODUCTION_DEFAULT, Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.factories import PASSWORD, build_world, make_user
from tests.test_api_live_inbox import token_of

GR = {"Accept": "application/graphql-response+json"}
LOGIN = """mutation($p: String!) { login(input: {username: "cadre_a", password: $p}) {
  accessToken errors { code } } }"""


@pytest.fixture
async def prod(db):
    settings = Settings(
        database_url=db,
        secret_key=TEST_SECRET,
        environment="production",
        hsts_max_age=HSTS_PRODUCTION_DEFAULT,
    )
    server, task, url = await start_server(settings)
    async with httpx.AsyncClient(base_url=url) as http:
        yield http
    await stop_server(server, task)


async def test_production_turns_off_graphiql_and_introspection(prod):
    page = await prod.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    assert page.status_code == 406 and "text/html" not in page.headers.get("content-type", "")
    assert page.headers["content-security-policy"] == API_CSP
    resp = await prod.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=GR
    )
    assert resp.status_code == 400 and "已关闭内省查询" in resp.text


async def test_production_keeps_public_errors_readable(prod):
    resp = await prod.post(
        "/graphql",
        json={"query": "{ enterprises { totalCount } }"},
        headers={**GR, "Accept-Language": "en"},
    )
    assert resp.json()["errors"][0]["message"] == "Please sign in first"


def test_production_masks_unexpected_errors():
    schema = build_schema(production=True)
    # A context without the request's fields makes the resolver fail unexpectedly.
    result = asyncio.run(schema.execute("{ me { id } }", context_value=object()))
    assert [e.message for e in result.errors] == ["服务器内部错误"]
    dev = asyncio.run(build_schema().execute("{ me { id } }", context_value=object()))
    assert "actor" in dev.errors[0].message


async def test_production_refuses_to_start_with_demo_accounts(db):
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    await refuse_demo_accounts_in_production(settings)  # none yet: fine
    await User.create(username="cadre", display_name="演示", password_hash="x", is_demo=True)
    with pytest.raises(SettingsError):
        await refuse_demo_accounts_in_production(settings)


async def test_production_masks_a_real_fault_over_http(prod):
    """A database fault inside a resolver: the client reads a generic message, never the
    exception, the SQL or a stack trace."""
    conn = get_connection("default")
    await conn.execute_script("ALTER TABLE login_throttle RENAME TO login_throttle_away")
    try:
        resp = await prod.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "cadre", password: "x"}) '
                "{ accessToken errors { code } } }"
            },
            headers=GR,
        )
    finally:
        await conn.execute_script("ALTER TABLE login_throttle_away RENAME TO login_throttle")
    body = resp.json()
    assert [e["message"] for e in body["errors"]] == ["服务器内部错误"]
    text = resp.text.lower()
    for leak in ("login_throttle", "traceback", "exception", "no such table", "relation", "sql"):
        assert leak not in text
    assert set(body["errors"][0]) <= {"message", "locations", "path", "extensions"}
    assert body["errors"][0].get("extensions", {}) in ({}, {"code": "INTERNAL_ERROR"})


async def test_production_answers_carry_the_security_headers(prod):
    for resp in (
        await prod.post("/graphql", json={"query": "{ me { id } }"}, headers=GR),
        await prod.get("/no/such/page"),
        await prod.get("/healthz", headers={"X-Forwarded-Proto": "https"}),
    ):
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["referrer-policy"] == "no-referrer"
        assert resp.headers["content-security-policy"] == API_CSP
        assert resp.headers["cache-control"] == "no-store"
    # HSTS for a year by default, on answers that came over HTTPS.
    assert resp.headers["strict-transport-security"] == f"max-age={HSTS_PRODUCTION_DEFAULT}"


# Near misses of the schema's names: a field, an argument, an enum value (literal and variable),
# an input field (literal and variable) and a type. Development suggests the real names.
NEAR_MISSES: list[tuple[str, dict | None]] = [
    ("{ me { usernmae } }", None),
    ("{ demands(frist: 5) { totalCount } }", None),
    ("{ demands(filter: {state: DISPACHED}) { totalCount } }", None),
    (
        "query($s: DemandState) { demands(filter: {state: $s}) { totalCount } }",
        {"s": "DISPACHED"},
    ),
    ("{ demands(filter: {stat: DISPATCHED}) { totalCount } }", None),
    (
        "query($f: DemandFilter) { demands(filter: $f) { totalCount } }",
        {"f": {"stat": "DISPATCHED"}},
    ),
    ("query($f: DemandFiltr) { demands(filter: $f) { totalCount } }", None),
]
# What production answers to each (Accept-Language: en): the client's own names and the type
# they sit in, never a name it did not send.
NO_SUGGESTION = [
    "The query is not valid: Cannot query field 'usernmae' on type 'User'.",
    "The query is not valid: Unknown argument 'frist' on field 'Query.demands'.",
    "The query is not valid: Value 'DISPACHED' does not exist in 'DemandState' enum.",
    "A variable's value is not valid: Variable '$s' has invalid value: Value 'DISPACHED' does "
    "not exist in 'DemandState' enum.",
    "The query is not valid: Expected value of type 'DemandFilter' not to include unknown field "
    "'stat', found: { stat: DISPATCHED }.",
    "A variable's value is not valid: Variable '$f' has invalid value: Expected value of type "
    "'DemandFilter' not to include unknown field 'stat', found: {'stat': 'DISPATCHED'}.",
    "The query is not valid: Unknown type 'DemandFiltr'.",
]


async def test_production_suggests_no_names_the_client_did_not_send(gql, prod):
    en = {**GR, "Accept-Language": "en"}
    for (query, variables), expected in zip(NEAR_MISSES, NO_SUGGESTION, strict=True):
        body = {"query": query, "variables": variables}
        dev = (await gql.http.post("/graphql", json=body, headers=en)).json()["errors"][0]
        suggestion = dev["message"].partition("Did you mean")[2].partition("?")[0]
        suggested = re.findall(r"'(\w+)'", suggestion)
        assert suggested, dev  # development helps with the real names
        resp = await prod.post("/graphql", json=body, headers=en)
        assert resp.status_code == 400
        [error] = resp.json()["errors"]
        assert error["message"] == expected
        assert "mean" not in resp.text
        for name in suggested:
            assert not re.search(rf"\b{name}\b", resp.text), (name, resp.text)


async def test_production_words_the_same_refusals_in_chinese_without_suggestions(gql, prod):
    for query, variables in NEAR_MISSES:
        body = {"query": query, "variables": variables}
        dev = (await gql.http.post("/graphql", json=body, headers=GR)).json()["errors"][0]
        assert "相近的名称" in dev["message"], dev  # development's Chinese helps too
        [error] = (await prod.post("/graphql", json=body, headers=GR)).json()["errors"]
        assert error["message"] == dev["message"].partition("（相近的名称")[0]
        assert not re.search(r"[A-Za-z]{3,} [a-z]{2,}", error["message"]), error  # no English


async def test_production_subscriptions_suggest_nothing_either(prod):
    """The websocket runs the same schema: its validation leaves suggestions out too."""
    await make_user("watcher", None, None)
    url = str(prod.base_url)
    ws = await websockets.connect(
        url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    try:
        token = await token_of(url, "watcher")
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
        query = "subscription { notificationAded { kind } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        answer = await asyncio.wait_for(ws.recv(), 30)
    finally:
        await ws.close()
    assert "notificationAded" in answer  # the refusal itself
    assert "mean" not in answer and "notificationAdded" not in answer


async def test_production_shows_metrics_only_with_the_token_or_when_told_to(db, prod):
    off = await prod.get("/metrics")
    assert off.status_code == 403 and "METRICS_TOKEN" in off.text
    assert "push_" not in off.text and "db_statements" not in off.text
    token = "scrape-me-0123456789"
    for extra, headers, status in (
        ({"metrics_token": token}, {}, 401),
        ({"metrics_token": token}, {"Authorization": f"Bearer {token}"}, 200),
        ({"metrics_public": True}, {}, 200),  # the operator's explicit choice
    ):
        settings = Settings(
            database_url=db, secret_key=TEST_SECRET, environment="production", **extra
        )
        server, task, url = await start_server(settings)
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                resp = await http.get("/metrics", headers=headers)
        finally:
            await stop_server(server, task)
        assert resp.status_code == status
        assert ("push_outbox_pending" in resp.text) == (status == 200)


def test_metrics_public_is_an_explicit_switch():
    prod = {"ENVIRONMENT": "production", "SECRET_KEY": "k" * 40}
    assert not load_settings(prod).metrics_public
    assert load_settings({**prod, "METRICS_PUBLIC": "on"}).metrics_public
    with pytest.raises(SettingsError, match="METRICS_PUBLIC"):
        load_settings({**prod, "METRICS_PUBLIC": "yes please"})


async def test_production_refuses_aliased_logins_and_lets_the_owner_in_past_a_guesser(prod):
    """As an attacker tries it against a production server behind the proxy: thirty logins
    in one request are refused before any runs; guessing from one address holds back that
    address only, and the owner signs in from theirs."""
    await build_world()
    aliased = " ".join(
        f'a{n}: login(input: {{username: "cadre_a", password: "guess-{n}"}}) {{ accessToken }}'
        for n in range(30)
    )
    resp = await prod.post("/graphql", json={"query": f"mutation {{ {aliased} }}"}, headers=GR)
    assert resp.status_code == 400
    assert [e["extensions"]["code"] for e in resp.json()["errors"]] == ["ONE_LOGIN_PER_REQUEST"]
    assert resp.json()["errors"][0]["message"].startswith("登录和刷新登录须单独发送")

    async def login(password: str, address: str) -> dict:
        resp = await prod.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"p": password}},
            headers={**GR, "X-Forwarded-For": address},
        )
        return dict(resp.json()["data"]["login"])

    for _ in range(10):
        guess = await login("wrong-password", "203.0.113.66")
        assert guess["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert (await login(PASSWORD, "203.0.113.66"))["accessToken"] is None
    owner = await login(PASSWORD, "198.51.100.20")
    assert owner["errors"] == [] and owner["accessToken"]
