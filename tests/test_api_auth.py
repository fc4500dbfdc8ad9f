"""Signing in, tokens, lockout and sessions over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from models.tables.org import LoginThrottle, RefreshToken
from tests.factories import PASSWORD, build_world

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken refreshToken user { username } errors { code field message } } }"""
REFRESH = """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
  accessToken refreshToken errors { code } } }"""
ME = "{ me { username displayName grants { role region { name } department { name } } } }"


async def test_login_returns_tokens_and_me_shows_grants(gql):
    await build_world()
    payload = await gql.login("cadre_a", PASSWORD)
    assert payload["user"]["username"] == "cadre_a"
    assert payload["refreshToken"] and payload["accessToken"].count(".") == 2
    me = await gql(ME)
    assert me["me"]["grants"] == [
        {"role": "CADRE", "region": {"name": "城关镇"}, "department": None}
    ]


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong(gql):
    await build_world()
    for user in ("cadre_a", "nobody"):
        data = await gql(LOGIN, {"u": user, "p": "wrong-password"})
        assert data["login"]["accessToken"] is None
        assert data["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
        assert data["login"]["errors"][0]["message"].startswith("用户名或密码错误")


async def test_five_failures_hold_back_that_address_even_for_the_right_password(gql):
    """Held back, the caller reads what a wrong password reads (tests/test_sign_in_limits.py:
    other addresses, the owner's, still get in)."""
    await build_world()
    for _ in range(5):
        await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    gql.language = "en"
    wrong = await gql(LOGIN, {"u": "cadre_a", "p": "wrong-password"})
    data = await gql(LOGIN, {"u": "cadre_a", "p": PASSWORD})
    assert data["login"] == wrong["login"]
    assert data["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert data["login"]["errors"][0]["message"].startswith("Wrong username or password")


async def test_many_failures_from_one_address_are_throttled(gql):
    await build_world()
    await LoginThrottle.create(client="127.0.0.1", failures=20, window_start=datetime.now(UTC))
    data = await gql(LOGIN, {"u": "cadre_a", "p": PASSWORD})
    assert data["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_refresh_rotates_and_a_reused_token_ends_the_family(gql):
    await build_world()
    first = await gql.login("cadre_a", PASSWORD)
    rotated = (await gql(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    assert rotated["errors"] == [] and rotated["refreshToken"] != first["refreshToken"]
    # A thief replays the old token: refused, and the rotated one dies with it.
    replay = (await gql(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    assert replay["errors"] == [{"code": "INVALID_REFRESH_TOKEN"}]
    after = (await gql(REFRESH, {"t": rotated["refreshToken"]}))["refreshToken"]
    assert after["errors"] == [{"code": "INVALID_REFRESH_TOKEN"}]
    # Only hashes are stored.
    hashes = await RefreshToken.all().values_list("token_hash", flat=True)
    assert first["refreshToken"] not in hashes and all(len(h) == 64 for h in hashes)


async def test_logout_revokes_the_refresh_token(gql):
    await build_world()
    session = await gql.login("cadre_a", PASSWORD)
    out = await gql(
        """mutation($t: String) { logout(input: {refreshToken: $t}) {
        ok errors { code } } }""",
        {"t": session["refreshToken"]},
    )
    assert out["logout"] == {"ok": True, "errors": []}
    again = (await gql(REFRESH, {"t": session["refreshToken"]}))["refreshToken"]
    assert again["errors"] == [{"code": "INVALID_REFRESH_TOKEN"}]


async def test_password_change_and_deactivation_end_sessions(gql):
    w = await build_world()
    cadre = await gql.login("cadre_a", PASSWORD)
    from schema.relay import to_global_id

    admin_client_token = (await gql.login("county_admin", PASSWORD))["accessToken"]
    gql.token = admin_client_token
    done = await gql(
        """mutation($id: ID!) { updateUser(input: {id: $id, isActive: false}) {
        user { isActive } errors { code } } }""",
        {"id": to_global_id("User", w.cadre_a.id)},
    )
    assert done["updateUser"] == {"user": {"isActive": False}, "errors": []}
    gql.token = cadre["accessToken"]
    assert (await gql("{ me { username } }"))["me"] is None
    refused = (await gql(REFRESH, {"t": cadre["refreshToken"]}))["refreshToken"]
    assert refused["errors"] == [{"code": "INVALID_REFRESH_TOKEN"}]


async def test_garbage_or_forged_bearer_tokens_are_treated_as_signed_out(gql):
    await build_world()
    gql.token = "not-a-jwt"
    assert (await gql("{ me { username } }"))["me"] is None
    import jwt

    gql.token = jwt.encode(
        {"sub": "1", "typ": "access", "iat": 0, "exp": 4102444800},
        "another-secret-that-is-long-enough-000000",
        algorithm="HS256",
    )
    assert (await gql("{ me { username } }"))["me"] is None


async def test_password_hash_is_not_in_the_api(gql):
    resp = await gql.post('{ __type(name: "User") { fields { name } } }')
    fields = {f["name"] for f in resp.json()["data"]["__type"]["fields"]}
    assert "passwordHash" not in fields and "username" in fields
