"""Security headers on every response (GraphQL, files, exports, probes, metrics, errors and
404s), GraphiQL's own policy in development, HSTS over HTTPS, and CORS for configured origins
only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tortoise.connection import get_connection

from server.security import API_CSP
from server.settings import HSTS_PRODUCTION_DEFAULT, Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET, GraphQLClient, start_server, stop_server
from tests.factories import PASSWORD, build_world

GR = {"Accept": "application/graphql-response+json"}
ALLOWED = "https://desk.qinghe.gov.cn"


def assert_secured(resp: httpx.Response) -> None:
    h = resp.headers
    assert h["x-content-type-options"] == "nosniff", resp.request.url
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in h  # plain HTTP


async def test_every_kind_of_response_carries_the_headers(gql, http, storage: Path):
    await build_world()
    answers = [
        await gql.post("{ me { username } }"),
        await http.get("/graphql", params={"query": "{ me { username } }"}, headers=GR),
        await http.post(
            "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        await http.put("/graphql"),  # 405
        await http.get("/no/such/page"),  # 404
        await http.get("/healthz"),
        await http.get("/readyz"),
        await http.get("/metrics"),
        await http.post("/uploads"),  # 401
        await http.get("/files/QXR0YWNobWVudDox"),  # 401
        await http.get("/exports/demands.csv"),  # 401
    ]
    assert [r.status_code for r in answers] == [
        200,
        200,
        400,
        405,
        404,
        200,
        200,
        200,
        401,
        401,
        401,
    ]
    for resp in answers:
        assert_secured(resp)
        assert resp.headers["content-security-policy"] == API_CSP
        assert resp.headers["cache-control"] == "no-store"


async def test_signed_in_answers_are_never_stored(gql, http, storage: Path):
    await build_world()
    await gql.login("cadre_a", PASSWORD)
    bearer = {"Authorization": f"Bearer {gql.token}"}
    graphql = await gql.post("{ me { username } }")
    assert graphql.headers["cache-control"] == "no-store"
    uploaded = await http.post(
        "/uploads", files={"file": ("note.txt", "走访记录".encode(), "text/plain")}, headers=bearer
    )
    assert uploaded.status_code == 201 and uploaded.headers["cache-control"] == "no-store"
    download = await http.get(uploaded.json()["url"], headers=bearer)
    assert download.status_code == 200 and download.content == "走访记录".encode()
    assert_secured(download)
    # The endpoint's "private" gives way to no-store; its own sandboxing policy stays.
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"


async def test_an_unexpected_failure_is_a_bare_500_with_the_headers(gql, http):
    await build_world()
    await gql.login("cadre_a", PASSWORD)
    conn = get_connection("default")
    # A real fault: the table every signed-in request reads is gone for a moment.
    await conn.execute_script("ALTER TABLE role_grant RENAME TO role_grant_away")
    try:
        resp = await gql.post("{ me { username } }")
    finally:
        await conn.execute_script("ALTER TABLE role_grant_away RENAME TO role_grant")
    assert resp.status_code == 500
    assert resp.text == "Internal Server Error"
    assert_secured(resp)
    assert resp.headers["cache-control"] == "no-store"


async def test_graphiql_in_development_has_its_own_policy(http):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert_secured(page)
    csp = page.headers["content-security-policy"]
    # Its code from this server only (tests/test_graphiql_offline.py checks each file), no
    # inline script, nothing from elsewhere.
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp and "http" not in csp
    assert "<script>" not in page.text
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert src.startswith("/static/graphiql/")
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp


@pytest.fixture
async def tls_and_cors(db: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=db, secret_key=TEST_SECRET, cors_origins=(ALLOWED,), hsts_max_age=600
    )
    server, task, url = await start_server(settings)
    async with httpx.AsyncClient(base_url=url) as client:
        yield client
    await stop_server(server, task)


async def test_hsts_only_over_https(tls_and_cors: httpx.AsyncClient):
    plain = await tls_and_cors.get("/healthz")
    assert "strict-transport-security" not in plain.headers
    # Behind a TLS proxy (uvicorn trusts X-Forwarded-Proto from the loopback proxy).
    behind_tls = await tls_and_cors.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"] == "max-age=600"
    missing = await tls_and_cors.get("/nothing", headers={"X-Forwarded-Proto": "https"})
    assert missing.status_code == 404 and "strict-transport-security" in missing.headers


async def test_cors_preflight_for_a_configured_origin(tls_and_cors: httpx.AsyncClient):
    resp = await tls_and_cors.options(
        "/graphql",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in resp.headers["access-control-allow-methods"]
    allowed = resp.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    # Bearer tokens, not cookies: credentialed requests are not allowed.
    assert "access-control-allow-credentials" not in resp.headers
    assert resp.headers["access-control-max-age"] == "600"
    assert_secured(resp)
    answer = await tls_and_cors.post(
        "/graphql", json={"query": "{ me { username } }"}, headers={"Origin": ALLOWED}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "content-disposition" in answer.headers["access-control-expose-headers"].lower()


async def test_cors_refuses_other_origins(tls_and_cors: httpx.AsyncClient):
    for origin in ("https://evil.example.com", "https://desk.qinghe.gov.cn.evil.com", "null"):
        resp = await tls_and_cors.options(
            "/graphql",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert resp.status_code == 400
        assert "access-control-allow-origin" not in resp.headers
        # A simple request is answered, but without the header the browser would need to
        # let the page read it.
        answer = await tls_and_cors.post(
            "/graphql", json={"query": "{ me { username } }"}, headers={"Origin": origin}
        )
        assert "access-control-allow-origin" not in answer.headers
    # A method outside GET/POST is not allowed even for the configured origin.
    put = await tls_and_cors.options(
        "/graphql", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"}
    )
    assert put.status_code == 400


async def test_the_session_server_answers_no_cors_without_configured_origins(gql):
    resp = await gql.http.options(
        "/graphql", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in resp.headers


def test_cors_and_hsts_settings():
    secret = {"SECRET_KEY": "x" * 40}
    prod = {**secret, "ENVIRONMENT": "production"}
    assert load_settings({**prod}).hsts_max_age == HSTS_PRODUCTION_DEFAULT
    assert load_settings({**prod, "HSTS_MAX_AGE": "0"}).hsts_max_age == 0
    assert load_settings({**secret}).hsts_max_age == 0
    origins = load_settings({**prod, "CORS_ORIGINS": f"{ALLOWED}/, http://localhost:5173"})
    assert origins.cors_origins == (ALLOWED, "http://localhost:5173")
    with pytest.raises(SettingsError, match="production"):
        load_settings({**prod, "CORS_ORIGINS": "*"})
    assert load_settings({**secret, "CORS_ORIGINS": "*"}).cors_origins == ("*",)
    for bad in ("https://desk.qinghe.gov.cn/app", "desk.qinghe.gov.cn", "ftp://x.cn"):
        with pytest.raises(SettingsError, match="not an origin"):
            load_settings({**prod, "CORS_ORIGINS": bad})
    with pytest.raises(SettingsError, match="HSTS_MAX_AGE"):
        load_settings({**prod, "HSTS_MAX_AGE": "a year"})


async def test_the_gql_client_used_above_is_unaffected(gql: GraphQLClient):
    # The headers do not change what the API answers.
    resp = await gql.post("{ __typename }")
    assert resp.json() == {"data": {"__typename": "Query"}}
