"""Access tokens as an attacker would craft them, expiry and clock skew, refresh rotation with
reuse detection, logging out everywhere and a new password ending sessions: all over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from tortoise.expressions import F

from models.rules.tokens import LEEWAY_SECONDS
from models.tables.org import User
from schema.relay import to_global_id
from tests.conftest import TEST_SECRET, GraphQLClient
from tests.factories import PASSWORD, build_world

ME = "{ me { username } }"
REFRESH = """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
  accessToken refreshToken errors { code message } } }"""
LOGOUT = """mutation($t: String, $all: Boolean! = false) {
  logout(input: {refreshToken: $t, everywhere: $all}) { ok errors { code } } }"""
LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken refreshToken errors { code } } }"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user_id: int, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "typ": "access",
        "sv": 0,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def forge(claims: dict[str, Any], key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def hand_signed(header: dict[str, Any], claims: dict[str, Any], key: str = TEST_SECRET) -> str:
    """A token with any header, HMAC-SHA256-signed with `key` (pyjwt would refuse to)."""
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in claims.items()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def me(gql: GraphQLClient, token: str | None) -> str | None:
    gql.token = token
    found = (await gql(ME))["me"]
    return found["username"] if found else None


async def test_a_well_formed_token_signs_in(gql):
    w = await build_world()
    # The control for the refusals below: these claims, signed with the server's key, work.
    assert await me(gql, forge(_claims(w.cadre_a.id))) == "cadre_a"


async def test_unsigned_tokens_and_other_keys_are_signed_out(gql):
    w = await build_world()
    claims = _claims(w.cadre_a.id)
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert await me(gql, unsigned) is None
    # "none" spelled otherwise, with the signature left off or kept.
    for alg in ("None", "NONE", "nOnE"):
        token = hand_signed({"alg": alg, "typ": "JWT"}, claims)
        assert await me(gql, token) is None
        assert await me(gql, token.rsplit(".", 1)[0] + ".") is None
    assert await me(gql, forge(claims, key="another-secret-that-is-long-enough-000000")) is None
    assert await me(gql, hand_signed({"alg": "HS256", "typ": "JWT"}, claims, key="")) is None


async def test_the_algorithm_is_pinned_to_hs256(gql):
    w = await build_world()
    claims = _claims(w.cadre_a.id)
    # The right key under another HMAC: refused all the same.
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):  # the key is short for SHA-512
        assert await me(gql, forge(claims, algorithm="HS512")) is None
    assert await me(gql, forge(claims, algorithm="HS384")) is None
    # Key confusion: an RS256/ES256 header over an HMAC made with the server's secret (what
    # a server verifying "whatever alg the header says" with one key would accept).
    for alg in ("RS256", "ES256", "PS256"):
        assert await me(gql, hand_signed({"alg": alg, "typ": "JWT"}, claims)) is None
    # A header naming a key of the attacker's is not followed.
    jwk = {"kty": "oct", "k": _b64(b"attacker")}
    confused = hand_signed({"alg": "HS256", "jwk": jwk}, claims, key="attacker")
    assert await me(gql, confused) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "refresh"},
        {"typ": None},
        {"sub": None},
        {"sub": "cadre_a"},
        {"sub": "99999999999"},
        {"sv": None},
        {"sv": "0"},
        {"sv": 1},
        {"exp": None},
        {"iat": None},
    ],
    ids=repr,
)
async def test_missing_or_wrong_claims_are_signed_out(gql, changes):
    w = await build_world()
    assert await me(gql, forge(_claims(w.cadre_a.id, **changes))) is None


async def test_expiry_allows_a_small_clock_skew(gql):
    w = await build_world()
    now = datetime.now(UTC)
    skew = timedelta(seconds=LEEWAY_SECONDS)
    # Another process's clock a little behind or ahead: still signed in.
    expired_just = _claims(w.cadre_a.id, iat=now - timedelta(minutes=15), exp=now - skew / 2)
    assert await me(gql, forge(expired_just)) == "cadre_a"
    early = _claims(w.cadre_a.id, iat=now + skew / 2)
    assert await me(gql, forge(early)) == "cadre_a"
    # Beyond the leeway: signed out.
    expired = _claims(w.cadre_a.id, iat=now - timedelta(minutes=15), exp=now - 2 * skew)
    assert await me(gql, forge(expired)) is None
    from_the_future = _claims(w.cadre_a.id, iat=now + 3 * skew)
    assert await me(gql, forge(from_the_future)) is None


async def test_issued_tokens_last_fifteen_minutes(gql):
    await build_world()
    session = await gql.login("cadre_a", PASSWORD)
    claims = jwt.decode(session["accessToken"], TEST_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert jwt.get_unverified_header(session["accessToken"])["alg"] == "HS256"


async def test_a_reused_refresh_token_revokes_the_whole_family(gql):
    await build_world()
    first = await gql.login("cadre_a", PASSWORD)
    other_device = await GraphQLClient(gql.http).login("cadre_a", PASSWORD)
    second = (await gql(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    third = (await gql(REFRESH, {"t": second["refreshToken"]}))["refreshToken"]
    assert third["errors"] == []
    assert await me(gql, third["accessToken"]) == "cadre_a"
    # The thief replays the first token: refused, and the newest token of its chain dies too.
    replay = (await gql(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    assert [e["code"] for e in replay["errors"]] == ["INVALID_REFRESH_TOKEN"]
    for token in (third["refreshToken"], second["refreshToken"]):
        again = (await gql(REFRESH, {"t": token}))["refreshToken"]
        assert [e["code"] for e in again["errors"]] == ["INVALID_REFRESH_TOKEN"]
    # So do the access tokens the family issued, at once rather than in 15 minutes: whoever
    # got one by refreshing (the thief, maybe) is signed out now.
    for session in (first, second, third):
        assert await me(gql, session["accessToken"]) is None
    # Another session (another device's sign-in) is another family: it lives on.
    assert await me(gql, other_device["accessToken"]) == "cadre_a"
    other = (await gql(REFRESH, {"t": other_device["refreshToken"]}))["refreshToken"]
    assert other["errors"] == [] and other["accessToken"]


async def test_logging_out_ends_that_sessions_access_token_at_once(gql):
    await build_world()
    phone = await gql.login("cadre_a", PASSWORD)
    tablet = await GraphQLClient(gql.http).login("cadre_a", PASSWORD)
    gql.token = phone["accessToken"]
    done = (await gql(LOGOUT, {"t": phone["refreshToken"]}))["logout"]
    assert done == {"ok": True, "errors": []}
    assert await me(gql, phone["accessToken"]) is None
    assert await me(gql, tablet["accessToken"]) == "cadre_a"  # the other session lives on


async def test_logout_everywhere_ends_every_session_at_once(gql):
    await build_world()
    phone = await gql.login("cadre_a", PASSWORD)
    tablet = await GraphQLClient(gql.http).login("cadre_a", PASSWORD)
    assert await me(gql, tablet["accessToken"]) == "cadre_a"
    gql.token = phone["accessToken"]
    assert (await gql(LOGOUT, {"all": True}))["logout"] == {"ok": True, "errors": []}
    # Both access tokens stop working now, not when they expire, and neither refreshes.
    assert await me(gql, phone["accessToken"]) is None
    assert await me(gql, tablet["accessToken"]) is None
    for session in (phone, tablet):
        refused = (await gql(REFRESH, {"t": session["refreshToken"]}))["refreshToken"]
        assert [e["code"] for e in refused["errors"]] == ["INVALID_REFRESH_TOKEN"]
    # Signing in again right away works.
    fresh = await gql.login("cadre_a", PASSWORD)
    assert await me(gql, fresh["accessToken"]) == "cadre_a"
    renewed = (await gql(REFRESH, {"t": fresh["refreshToken"]}))["refreshToken"]
    assert renewed["errors"] == []


async def test_logout_everywhere_needs_a_signed_in_user(gql):
    await build_world()
    gql.token, gql.language = None, "en"
    out = (await gql(LOGOUT, {"all": True}))["logout"]
    assert out == {"ok": False, "errors": [{"code": "UNAUTHENTICATED"}]}


async def test_a_new_password_ends_the_sessions(gql):
    w = await build_world()
    cadre = await gql.login("cadre_a", PASSWORD)
    await gql.login("county_admin", PASSWORD)
    changed = await gql(
        """mutation($id: ID!) { updateUser(input: {id: $id, password: "a-new-long-password-1"})
        { user { username } errors { code } } }""",
        {"id": to_global_id("User", w.cadre_a.id)},
    )
    assert changed["updateUser"]["errors"] == []
    assert await me(gql, cadre["accessToken"]) is None
    refused = (await gql(REFRESH, {"t": cadre["refreshToken"]}))["refreshToken"]
    assert [e["code"] for e in refused["errors"]] == ["INVALID_REFRESH_TOKEN"]
    gql.token = None
    old = (await gql(LOGIN, {"u": "cadre_a", "p": PASSWORD}))["login"]
    assert [e["code"] for e in old["errors"]] == ["INVALID_CREDENTIALS"]
    new = await gql.login("cadre_a", "a-new-long-password-1")
    assert await me(gql, new["accessToken"]) == "cadre_a"


async def test_a_refresh_token_from_before_the_sessions_ended_is_refused(gql):
    """A refresh that raced "log out everywhere" may leave a token the revocation missed; the
    session version it carries still refuses it."""
    w = await build_world()
    session = await gql.login("cadre_a", PASSWORD)
    await User.filter(id=w.cadre_a.id).update(session_version=F("session_version") + 1)
    refused = (await gql(REFRESH, {"t": session["refreshToken"]}))["refreshToken"]
    assert [e["code"] for e in refused["errors"]] == ["INVALID_REFRESH_TOKEN"]
    assert await me(gql, session["accessToken"]) is None
