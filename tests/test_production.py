"""Production mode: no GraphiQL, no introspection, internal errors masked, no demo accounts."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tortoise.connection import get_connection

from models.org import User
from schema import build_schema
from server.app import refuse_demo_accounts_in_production
from server.security import API_CSP
from server.settings import HSTS_PRODUCTION_DEFAULT, Settings, SettingsError
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.factories import PASSWORD, build_world

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
    assert resp.status_code == 400 and "introspection" in resp.text.lower()


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
    assert resp.json()["errors"][0]["message"].startswith("login 和 refreshToken 须单独发送")

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
