"""Live sockets (graphql-transport-ws) held to the rules of HTTP for as long as they live: a
socket ends with its session (sign-out, new password, disabled account, revoked role, expired
token), on this process and on another; only subscriptions run over it, through the same
guards as a POST; and sockets are bounded per account, per address and in subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets

from models.rules.tokens import ACCESS_TTL, LEEWAY_SECONDS, issue_access_token
from models.tables.demands import Demand
from models.tables.grants import RoleGrant
from models.tables.org import User
from schema.relay import to_global_id
from server.settings import Settings
from tests.conftest import TEST_SECRET, GraphQLClient, start_server, stop_server
from tests.factories import PASSWORD
from tests.test_api_live_inbox import SUBSCRIBE, start_other_process, token_of, ws_url

WAIT = 20.0  # seconds: a generous bound on waiting for an event, not a measure of speed


async def connect(
    url: str, token: str | None, language: str | None = None
) -> websockets.ClientConnection:
    headers = {"Accept-Language": language} if language else None
    ws = await websockets.connect(
        ws_url(url), subprotocols=["graphql-transport-ws"], additional_headers=headers
    )
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    with contextlib.suppress(websockets.ConnectionClosed):  # refused before it could say it
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def acked(url: str, token: str, language: str | None = None) -> websockets.ClientConnection:
    ws = await connect(url, token, language)
    msg = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert msg["type"] == "connection_ack", msg
    return ws


async def eventually_acked(url: str, token: str) -> websockets.ClientConnection:
    for _ in range(100):
        with contextlib.suppress(websockets.ConnectionClosed):
            ws = await connect(url, token)
            if json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "connection_ack":
                return ws
        await asyncio.sleep(0.1)
    raise AssertionError("no place was freed")


async def closed(ws: websockets.ClientConnection) -> tuple[int, str]:
    """The close code and reason the server ended the socket with."""
    with pytest.raises(websockets.ConnectionClosed) as ended:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    rcvd = ended.value.rcvd
    assert rcvd is not None, "closed without a close frame"
    return rcvd.code, rcvd.reason


async def subscribed(url: str, token: str) -> websockets.ClientConnection:
    ws = await acked(url, token)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return ws


async def answer(ws: websockets.ClientConnection, payload: dict[str, Any], op: str = "q") -> dict:
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    return dict(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))


def refusal(msg: dict, op: str = "q") -> dict:
    assert msg["type"] == "error" and msg["id"] == op, msg
    [error] = msg["payload"]
    return dict(error)


# --- signing in ---------------------------------------------------------------------------


async def test_a_missing_or_bad_token_closes_with_4401_and_a_reason(gql, world, server_url):
    assert await closed(await connect(server_url, None)) == (4401, "UNAUTHENTICATED: 请先登录")
    code, why = await closed(await connect(server_url, "not-a-token", "en"))
    assert (code, why) == (4401, "UNAUTHENTICATED: Please sign in first")


async def test_an_expired_token_is_named_as_such(gql, world, server_url):
    user = await User.get(username="cadre_a")
    issued = datetime.now(UTC) - ACCESS_TTL - timedelta(seconds=LEEWAY_SECONDS + 5)
    token = issue_access_token(user.id, TEST_SECRET, issued, user.session_version)
    code, why = await closed(await connect(server_url, token))
    assert code == 4401 and why.startswith("TOKEN_EXPIRED: 登录已过期")


# --- a socket ends with its session --------------------------------------------------------


async def test_signing_out_everywhere_closes_the_open_socket(gql, world, server_url):
    token = await token_of(server_url, "cadre_a")
    ws = await subscribed(server_url, token)
    gql.token = token
    assert (await gql("mutation { logout(input: {everywhere: true}) { ok } }"))["logout"]["ok"]
    code, why = await closed(ws)
    assert code == 4401 and why.startswith("SESSION_ENDED: 登录已失效")


async def test_signing_out_of_this_session_closes_its_socket(gql, world, server_url):
    login = await gql.login("cadre_a", PASSWORD)
    ws = await subscribed(server_url, login["accessToken"])
    ended = await gql(
        "mutation($r: String) { logout(input: {refreshToken: $r}) { ok } }",
        {"r": login["refreshToken"]},
    )
    assert ended["logout"]["ok"]
    assert (await closed(ws))[0] == 4401


async def _admin(gql: GraphQLClient) -> GraphQLClient:
    await gql.login("county_admin", PASSWORD)
    return gql


UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
  errors { code } } }"""


async def test_disabling_the_account_closes_its_socket_with_4403(gql, world, server_url):
    ws = await subscribed(server_url, await token_of(server_url, "cadre_a"))
    user = await User.get(username="cadre_a")
    await _admin(gql)
    done = await gql(
        UPDATE_USER, {"input": {"id": to_global_id("User", user.id), "isActive": False}}
    )
    assert done["updateUser"]["errors"] == []
    code, why = await closed(ws)
    assert code == 4403 and why == "ACCOUNT_DISABLED: 账号已停用"


async def test_a_new_password_closes_the_socket(gql, world, server_url):
    ws = await subscribed(server_url, await token_of(server_url, "cadre_a"))
    user = await User.get(username="cadre_a")
    await _admin(gql)
    new = {"id": to_global_id("User", user.id), "password": "another-secret-9876"}
    assert (await gql(UPDATE_USER, {"input": new}))["updateUser"]["errors"] == []
    code, why = await closed(ws)
    assert code == 4401 and why.startswith("SESSION_ENDED")


async def test_a_revoked_role_closes_the_socket(gql, world, server_url):
    ws = await subscribed(server_url, await token_of(server_url, "cadre_a"))
    grant = await RoleGrant.get(user__username="cadre_a")
    await _admin(gql)
    revoked = await gql(
        "mutation($id: ID!) { revokeRole(input: {id: $id}) { errors { code } } }",
        {"id": to_global_id("RoleGrant", grant.id)},
    )
    assert revoked["revokeRole"]["errors"] == []
    code, why = await closed(ws)
    assert code == 4401 and why.startswith("ROLES_CHANGED")


async def test_the_socket_closes_when_its_access_token_expires(gql, world, server_url):
    """A token with a few seconds left; the server's periodic re-check is 15 s away, so only
    the token's own expiry can close it first."""
    user = await User.get(username="cadre_a")
    left = 3
    issued = datetime.now(UTC) - ACCESS_TTL - timedelta(seconds=LEEWAY_SECONDS - left)
    token = issue_access_token(user.id, TEST_SECRET, issued, user.session_version)
    ws = await subscribed(server_url, token)
    code, why = await closed(ws)
    assert code == 4401 and why.startswith("TOKEN_EXPIRED")


# --- only subscriptions, through HTTP's guards ---------------------------------------------


SUBMIT = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id } errors { code } } }"""


async def test_queries_and_mutations_are_sent_over_http_not_the_socket(gql, world, server_url):
    ws = await acked(server_url, await token_of(server_url, "ent_user"))
    error = refusal(await answer(ws, {"query": "{ me { username } }"}))
    assert error["extensions"]["code"] == "OPERATION_NEEDS_HTTP"
    assert error["message"].startswith("查询和变更请通过 HTTP")
    submit = {
        "query": SUBMIT,
        "variables": {
            "input": {
                "enterpriseId": to_global_id("Enterprise", world.ent_a1.id),
                "title": "停车位不足",
                "description": "园区门口停车难",
            }
        },
    }
    error = refusal(await answer(ws, submit, "m"), "m")
    assert error["extensions"]["code"] == "OPERATION_NEEDS_HTTP"
    assert await Demand.all().count() == 0  # nothing ran
    await ws.close()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            {"query": "subscription { notificationAdded { " + "id " * 2100 + "} }"},
            "TOO_MANY_TOKENS",
        ),
        (
            {
                "query": "subscription { "
                + " ".join(f"a{i}: notificationAdded {{ id }}" for i in range(31))
                + " }"
            },
            "TOO_MANY_ALIASES",
        ),
        (
            {"query": 'subscription { notificationAdded { title(x: "\x00") } }'},
            "INVALID_CHARACTERS",
        ),
        ({"query": SUBSCRIBE, "variables": {"x": "a\x00b"}}, "INVALID_CHARACTERS"),
        (
            {"query": SUBSCRIBE, "variables": {"x": json.loads("[" * 40 + "]" * 40)}},
            "VARIABLES_TOO_DEEP",
        ),
        ({"query": SUBSCRIBE, "variables": [1]}, "INVALID_VARIABLES"),
        ({"query": SUBSCRIBE, "operationName": 3}, "INVALID_OPERATION_NAME"),
        ({"query": ""}, "QUERY_REQUIRED"),
        ({"query": "subscription { " + "x" * 1_000_001 + " }"}, "REQUEST_TOO_LARGE"),
        ("not an object", "INVALID_SUBSCRIBE_MESSAGE"),
        ({"query": "subscription { notificationAdded { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "subscription { notificationAdded { "}, "GRAPHQL_PARSE_FAILED"),
    ],
    ids=[
        "tokens",
        "aliases",
        "nul-literal",
        "nul-variable",
        "deep-variables",
        "variables-not-object",
        "operation-name",
        "no-query",
        "too-large",
        "payload",
        "validation",
        "syntax",
    ],
)
async def test_a_subscription_passes_the_guards_of_a_post(gql, world, server_url, payload, code):
    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    msg = await answer(ws, payload)
    assert msg["type"] == "error" and msg["id"] == "q", msg
    assert code in {e["extensions"]["code"] for e in msg["payload"]}, msg
    assert all(e["message"] and "Traceback" not in e["message"] for e in msg["payload"])
    # The socket stays usable: a good subscription runs after the refusal.
    await ws.send(json.dumps({"id": "ok", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "pong"
    await ws.close()


@pytest.fixture
async def prod_url(db: str) -> AsyncIterator[str]:
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    yield url
    await stop_server(server, task)


async def test_production_rules_hold_over_the_socket(gql, world, prod_url):
    ws = await acked(prod_url, await token_of(prod_url, "cadre_a"))
    msg = await answer(ws, {"query": "subscription { __schema { types { name } } }"})
    assert msg["type"] == "error", msg
    errors = msg["payload"]
    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    assert any("内省" in e["message"] for e in errors), errors
    # Queries and mutations are named as such, not masked as a fault.
    for op, query in (("q", "{ me { username } }"), ("m", "mutation { logout(input: {}) { ok } }")):
        error = refusal(await answer(ws, {"query": query}, op), op)
        assert error["extensions"]["code"] == "OPERATION_NEEDS_HTTP"
    await ws.close()


# --- limits --------------------------------------------------------------------------------


@pytest.fixture
async def small_url(db: str) -> AsyncIterator[str]:
    settings = Settings(
        database_url=db,
        secret_key=TEST_SECRET,
        live_sockets_per_account=2,
        live_sockets_per_address=4,
    )
    server, task, url = await start_server(settings)
    yield url
    await stop_server(server, task)


async def test_sockets_are_bounded_per_account_and_per_address(gql, world, small_url):
    cadre = await token_of(small_url, "cadre_a")
    first, second = await acked(small_url, cadre), await acked(small_url, cadre)
    code, why = await closed(await connect(small_url, cadre))
    assert (code, why.split(":")[0]) == (4429, "TOO_MANY_SOCKETS_FOR_ACCOUNT")
    assert "2 个" in why
    # Another account from the same address still gets in, up to the address's bound.
    admin = await token_of(small_url, "county_admin")
    third, fourth = await acked(small_url, admin), await acked(small_url, admin)
    code, why = await closed(await connect(small_url, admin))
    assert (code, why.split(":")[0]) == (4429, "TOO_MANY_SOCKETS_FROM_ADDRESS")
    # A closed socket frees its place (once the server has seen it go).
    await first.close()
    again = await eventually_acked(small_url, cadre)
    for ws in (second, third, fourth, again):
        await ws.close()


async def test_subscriptions_per_socket_are_bounded(gql, world, server_url):
    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    for i in range(5):
        await ws.send(
            json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
    error = refusal(await answer(ws, {"query": SUBSCRIBE}, "6"), "6")
    assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    assert error["message"] == "每个连接最多 5 个订阅"
    await ws.close()


async def test_messages_that_are_not_protocol_messages_close_with_4400(gql, world, server_url):
    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    await ws.send(json.dumps([1, 2]))
    assert (await closed(ws))[0] == 4400


# --- across processes ----------------------------------------------------------------------


async def test_a_sign_out_on_one_server_closes_the_socket_on_another(gql, world, tmp_path):
    """On PostgreSQL the other process hears the session announcement at once (its periodic
    re-check is an hour away, so only the announcement can close the socket in time); on
    SQLite there is no announcement and the other process finds it on its re-check (1 s)."""
    from tests.conftest import IS_POSTGRES

    proc, other = start_other_process(tmp_path, 3600.0 if IS_POSTGRES else 1.0)
    try:
        token = await token_of(other, "cadre_a")
        ws = await subscribed(other, token)
        gql.token = token  # signed out through this test process's server
        assert (await gql("mutation { logout(input: {everywhere: true}) { ok } }"))["logout"]["ok"]
        code, why = await closed(ws)
        assert code == 4401 and why.startswith("SESSION_ENDED")
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_message_past_the_size_limit_closes_the_socket(gql, world, server_url):
    from server.live_socket import MAX_MESSAGE_BYTES

    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    huge = {"query": SUBSCRIBE, "variables": {"x": "字" * MAX_MESSAGE_BYTES}}
    await ws.send(json.dumps({"id": "big", "type": "subscribe", "payload": huge}))
    assert (await closed(ws))[0] == 1009  # the protocol's "message too big"


@pytest.mark.parametrize(
    "variables", ['{"x": 1' + "0" * 30 + "}", '{"x": NaN}'], ids=["past-64-bits", "nan"]
)
async def test_numbers_no_field_can_hold_are_refused_over_the_socket(
    gql, world, server_url, variables
):
    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    query = json.dumps(SUBSCRIBE)
    await ws.send(
        f'{{"id": "n", "type": "subscribe", "payload": {{"query": {query}, '
        f'"variables": {variables}}}}}'
    )
    error = refusal(json.loads(await asyncio.wait_for(ws.recv(), WAIT)), "n")
    assert error["extensions"]["code"] == "NUMBER_OUT_OF_RANGE"
    await ws.close()


@pytest.mark.parametrize(
    "raw",
    ['{"type": "ping", "x": 1' + "0" * 5000 + "}", '{"type": "ping", "x": ' + "[" * 100_000],
    ids=["past-python-digits", "past-recursion"],
)
async def test_json_python_cannot_hold_is_the_protocols_invalid_message(
    gql, world, server_url, raw
):
    ws = await acked(server_url, await token_of(server_url, "cadre_a"))
    await ws.send(raw)
    assert await closed(ws) == (4400, "WebSocket message must be valid JSON")
