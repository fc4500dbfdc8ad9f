"""Production mode: no GraphiQL, no introspection, internal errors masked, no demo accounts."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.org import User
from schema import build_schema
from server.app import refuse_demo_accounts_in_production
from server.settings import Settings, SettingsError
from tests.conftest import TEST_SECRET, start_server, stop_server

GR = {"Accept": "application/graphql-response+json"}


@pytest.fixture
async def prod(db):
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    async with httpx.AsyncClient(base_url=url) as http:
        yield http
    await stop_server(server, task)


async def test_production_turns_off_graphiql_and_introspection(prod):
    page = await prod.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
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
