"""Issue 22, item 3 (logins), over HTTP as an attacker would try it: one login or refreshToken per
request, refused before any password is checked; throttling per (account, address) with a cap
per address, so a guesser never locks the owner out; unknown, disabled and held-back accounts
answer alike (same code, message and one argon2 check), the audit log keeping the truth.

Client addresses: the test server trusts X-Forwarded-For from the loopback address, as a
server behind the reverse proxy does (`serve --proxy-headers`), so each request says whose
network it comes from."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import websockets

from models.ops.auth import forget_old_sign_in_failures
from models.tables.org import LoginPairThrottle, LoginThrottle, User
from tests.conftest import GraphQLClient
from tests.factories import PASSWORD, build_world, make_user
from tests.test_api_live_inbox import ws_url

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken errors { code field message } } }"""
LOG = """query($f: AuditLogFilter) { auditLog(filter: $f, first: 100) {
  edges { node { actorUsername actor { username } address outcome details } } } }"""
OWNER_HOME = "198.51.100.20"
ATTACKER = "203.0.113.66"

ALIASED = {
    "aliases": """mutation { a: login(input: {username: "cadre_a", password: "x1"}) { accessToken }
      b: login(input: {username: "cadre_a", password: "x2"}) { accessToken } }""",
    "fragments": """mutation { ...One ...Two }
      fragment One on Mutation { a: login(input: {username: "cadre_a", password: "x1"}) {
        accessToken } }
      fragment Two on Mutation { b: login(input: {username: "cadre_a", password: "x2"}) {
        accessToken } }""",
    "inline fragments": """mutation { ... on Mutation { a: login(input: {username: "cadre_a",
      password: "x1"}) { accessToken } } ... { b: login(input: {username: "cadre_a",
      password: "x2"}) { accessToken } } }""",
    "login beside another mutation": """mutation { login(input: {username: "cadre_a",
      password: "x1"}) { accessToken } logout(input: {}) { ok } }""",
    "refresh tokens": """mutation { a: refreshToken(input: {refreshToken: "t1"}) { accessToken }
      b: refreshToken(input: {refreshToken: "t2"}) { accessToken } }""",
    "login and refresh": """mutation { login(input: {username: "cadre_a", password: "x1"}) {
      accessToken } refreshToken(input: {refreshToken: "t2"}) { accessToken } }""",
}


async def attempt(
    gql: GraphQLClient, username: str, password: str, address: str, language: str = "zh"
) -> dict[str, Any]:
    resp = await gql.post(
        LOGIN,
        {"u": username, "p": password},
        headers={"X-Forwarded-For": address, "Accept-Language": language},
    )
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    return dict(body["data"]["login"])


async def password_checks(gql: GraphQLClient) -> int:
    """This server process's argon2 verifications so far (GET /metrics)."""
    for line in (await gql.http.get("/metrics")).text.splitlines():
        if line.startswith("password_checks_total "):
            return int(line.split()[1])
    raise AssertionError("no password_checks_total in /metrics")


async def county() -> None:
    """The small county of tests.factories, a system administrator (who reads every audit
    row, unknown usernames' too), a disabled account and a dispatcher."""
    w = await build_world()
    await make_user("root", "ADMIN", None)
    await make_user("dispatcher", "DISPATCHER", w.county)
    retired = await make_user("retired", "CADRE", w.town_a)
    await User.filter(id=retired.id).update(is_active=False)


async def audit_codes(gql: GraphQLClient, username: str) -> list[tuple[str, str, str]]:
    """(address, outcome, code) of the sign-ins recorded for `username`, oldest first, as a
    system administrator reads them."""
    admin = GraphQLClient(gql.http)
    await admin.login("root", PASSWORD)
    data = await admin(LOG, {"f": {"action": "LOGIN", "actorUsername": username}})
    rows = [e["node"] for e in data["auditLog"]["edges"]]
    return [(r["address"], r["outcome"], r["details"].get("code", "")) for r in reversed(rows)]


# --- one login per request ------------------------------------------------------------------


@pytest.mark.parametrize("name", ALIASED)
async def test_a_second_login_in_one_request_is_refused_before_any_password_check(gql, name):
    await county()
    checks = await password_checks(gql)
    resp = await gql.post(ALIASED[name])
    body = resp.json()
    assert resp.status_code == 400 and "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["ONE_LOGIN_PER_REQUEST"]
    assert body["errors"][0]["message"].startswith("登录和刷新登录须单独发送")
    gql.language = "en"
    english = (await gql.post(ALIASED[name])).json()["errors"][0]["message"]
    assert english.startswith("Signing in and refreshing a session are sent alone")
    assert await password_checks(gql) == checks  # nothing ran: no argon2, no session
    assert await audit_codes(gql, "cadre_a") == []


async def test_one_login_alone_still_signs_in(gql):
    await county()
    checks = await password_checks(gql)
    payload = await gql.login("cadre_a", PASSWORD)
    assert payload["accessToken"] and await password_checks(gql) == checks + 1


async def test_aliased_logins_over_the_websocket_are_refused_too(gql):
    await county()
    token = (await gql.login("cadre_a", PASSWORD))["accessToken"]
    checks = await password_checks(gql)
    async with websockets.connect(
        ws_url(str(gql.http.base_url).rstrip("/")), subprotocols=["graphql-transport-ws"]
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": ALIASED["aliases"]}}
        await ws.send(json.dumps(subscribe))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert answer["type"] == "error", answer
    # Mutations do not run over the socket at all (server.live_socket): refused before any
    # password is checked.
    assert [e["extensions"]["code"] for e in answer["payload"]] == ["OPERATION_NEEDS_HTTP"]
    assert await password_checks(gql) == checks


# --- a guesser never locks the owner out ----------------------------------------------------


async def test_a_guesser_slows_only_themselves_and_the_owner_still_gets_in(gql):
    await county()
    for _ in range(8):
        refused = await attempt(gql, "cadre_a", "wrong-password", ATTACKER)
        assert refused["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Past the five free failures the guesser's address waits, even with the right password.
    held = await attempt(gql, "cadre_a", PASSWORD, ATTACKER)
    assert held["accessToken"] is None and held["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # The owner, on their own phone's network, signs in at once.
    owner = await attempt(gql, "cadre_a", PASSWORD, OWNER_HOME)
    assert owner["errors"] == [] and owner["accessToken"]
    assert await audit_codes(gql, "cadre_a") == [
        *[(ATTACKER, "REFUSED", "INVALID_CREDENTIALS")] * 5,
        *[(ATTACKER, "REFUSED", "LOGIN_DELAYED")] * 4,
        (OWNER_HOME, "SUCCESS", ""),
    ]


async def test_the_delays_grow_with_each_failure_and_end(gql):
    await county()

    async def wait(seconds: int) -> None:
        """As if `seconds` had passed since the pair's last failure."""
        row = await LoginPairThrottle.get(username="cadre_a", client=ATTACKER)
        assert row.last_failure_at is not None
        row.last_failure_at -= timedelta(seconds=seconds)
        await row.save(update_fields=["last_failure_at"])

    for _ in range(5):
        await attempt(gql, "cadre_a", "wrong-password", ATTACKER)
    await wait(61)  # the first delay (1 minute) is over: one more guess is checked
    await attempt(gql, "cadre_a", "wrong-password", ATTACKER)
    await wait(61)  # the next delay is 2 minutes: still held back, even the right password
    assert (await attempt(gql, "cadre_a", PASSWORD, ATTACKER))["accessToken"] is None
    await wait(60)
    assert (await attempt(gql, "cadre_a", PASSWORD, ATTACKER))["accessToken"]
    codes = [code for _, _, code in await audit_codes(gql, "cadre_a")]
    assert codes == [*["INVALID_CREDENTIALS"] * 6, "LOGIN_DELAYED", ""]


async def test_many_guessing_addresses_spare_the_owners_known_address(gql):
    """A guesser with many addresses: past 50 recent failures on the account, addresses that
    never signed in to it are held back, the one the owner signed in from is not."""
    await county()
    assert (await attempt(gql, "cadre_a", PASSWORD, OWNER_HOME))["accessToken"]
    for n in range(10):
        for _ in range(5):
            await attempt(gql, "cadre_a", "wrong-password", f"203.0.113.{n}")
    stranger = await attempt(gql, "cadre_a", PASSWORD, "192.0.2.200")
    assert stranger["accessToken"] is None
    assert stranger["errors"][0]["code"] == "INVALID_CREDENTIALS"
    owner = await attempt(gql, "cadre_a", PASSWORD, OWNER_HOME)
    assert owner["errors"] == [] and owner["accessToken"]
    others = await attempt(gql, "dispatcher", PASSWORD, "192.0.2.200")
    assert others["errors"] == []  # other accounts are not touched
    codes = await audit_codes(gql, "cadre_a")
    assert codes[-2:] == [
        ("192.0.2.200", "REFUSED", "ACCOUNT_THROTTLED"),
        (OWNER_HOME, "SUCCESS", ""),
    ]


async def test_one_address_guessing_many_accounts_meets_its_cap(gql):
    """Twenty failures from one address within 15 minutes, over any usernames: it is refused
    outright (no password checked), which says nothing about any account; others are not."""
    await county()
    for n in range(20):
        await attempt(gql, f"user{n}", "wrong-password", ATTACKER)
    checks = await password_checks(gql)
    capped = await attempt(gql, "cadre_a", PASSWORD, ATTACKER, "en")
    assert capped["errors"] == [
        {
            "code": "TOO_MANY_ATTEMPTS",
            "field": None,
            "message": "Too many sign-in attempts from this address; try again later",
        }
    ]
    assert await password_checks(gql) == checks
    assert (await attempt(gql, "cadre_a", PASSWORD, OWNER_HOME))["accessToken"]


async def test_parallel_guesses_cannot_slip_under_the_limits(gql):
    """Thirty guesses at once from one address: the attempts are counted before any password
    is checked, so only the address's 20 get through its cap and only 5 of those are checked
    against the account."""
    await county()
    answers = await asyncio.gather(
        *(attempt(gql, "cadre_a", f"guess-{n}", ATTACKER) for n in range(30))
    )
    assert Counter(a["errors"][0]["code"] for a in answers) == {
        "INVALID_CREDENTIALS": 20,
        "TOO_MANY_ATTEMPTS": 10,
    }
    codes = Counter(code for _, _, code in await audit_codes(gql, "cadre_a"))
    assert codes == {"INVALID_CREDENTIALS": 5, "LOGIN_DELAYED": 15, "TOO_MANY_ATTEMPTS": 10}


# --- unknown, disabled and held back: one answer, one argon2 check --------------------------


async def test_unknown_disabled_and_held_back_accounts_answer_alike(gql):
    await county()
    for _ in range(5):
        await attempt(gql, "dispatcher", "wrong-password", ATTACKER)
    cases = {
        "wrong password": ("cadre_a", "wrong-password"),
        "unknown user": ("no.such.user", PASSWORD),
        "disabled account": ("retired", PASSWORD),
        "held back, right password": ("dispatcher", PASSWORD),
    }
    for language in ("zh", "en"):
        answers = {}
        for case, (username, password) in cases.items():
            checks = await password_checks(gql)
            answers[case] = await attempt(gql, username, password, ATTACKER, language)
            assert await password_checks(gql) == checks + 1, case  # the same argon2 work
        assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
        assert answers["unknown user"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # The audit log keeps the truth.
    assert [c for _, _, c in await audit_codes(gql, "retired")] == ["ACCOUNT_DISABLED"] * 2
    assert [c for _, _, c in await audit_codes(gql, "dispatcher")][-2:] == ["LOGIN_DELAYED"] * 2
    assert [c for _, _, c in await audit_codes(gql, "no.such.user")] == ["INVALID_CREDENTIALS"] * 2


async def test_pruning_keeps_live_delays_and_known_addresses(gql):
    """The periodic job drops throttle rows that hold nothing back any more and remember no
    known address; what still counts is kept."""
    await county()
    assert (await attempt(gql, "cadre_a", PASSWORD, OWNER_HOME))["accessToken"]
    for _ in range(5):
        await attempt(gql, "cadre_a", "wrong-password", ATTACKER)
    await attempt(gql, "ghost", "wrong-password", "192.0.2.9")
    # A day later the ghost's streak and the address window of 192.0.2.9 are over.
    ghost = await LoginPairThrottle.get(username="ghost")
    assert ghost.last_failure_at is not None
    await LoginPairThrottle.filter(id=ghost.id).update(
        last_failure_at=ghost.last_failure_at - timedelta(days=2)
    )
    await LoginThrottle.filter(client="192.0.2.9").update(
        window_start=ghost.last_failure_at - timedelta(days=2)
    )
    assert await forget_old_sign_in_failures() == 2
    assert not await LoginPairThrottle.filter(username="ghost").exists()
    # The guesser still waits; the owner's address is still known.
    assert (await attempt(gql, "cadre_a", PASSWORD, ATTACKER))["accessToken"] is None
    assert await LoginPairThrottle.filter(
        username="cadre_a", client=OWNER_HOME, last_success_at__isnull=False
    ).exists()
