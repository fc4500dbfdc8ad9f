"""The signed-in actor cache (models.session_cache): a repeated request costs no session
statement on PostgreSQL, and whatever ends a session or changes a grant — even written by
another process or by hand in psql — is refused or counted at once, because the database
announces it (migration 0016) and the server forgets what it had."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from models import session_cache
from models.db.sql_count import STATEMENTS
from models.rules.actor import Actor
from models.session_cache import SESSIONS, SessionCache
from schema.relay import to_global_id
from tests.conftest import DB_URL, IS_POSTGRES, GraphQLClient
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD
from tests.processes import eventually

INBOX = "{ unreadNotificationCount }"
ME = "{ me { username } }"
MY_DEMANDS = "{ demands(first: 5) { edges { node { id } } } }"
on_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="announced by PostgreSQL triggers")


@pytest.fixture(autouse=True)
def entries_kept_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the server caches it keeps an hour here (60 s in service): only the database's
    announcement can make a change count within a test's wait."""
    monkeypatch.setattr(session_cache, "ENTRY_SECONDS", 3600.0)


def _actor(user_id: int) -> Actor:
    return Actor(user_id=user_id, grants=())


async def test_a_lookup_that_raced_a_change_is_not_kept() -> None:
    cache = SessionCache()
    cache.start()
    loads = 0

    async def load_while_the_grants_change() -> Actor:
        nonlocal loads
        loads += 1
        cache.heard("7")  # announced while this lookup was reading the old grants
        return _actor(7)

    assert await cache.actor((7, 0, "f"), load_while_the_grants_change) == _actor(7)
    assert await cache.actor((7, 0, "f"), load_while_the_grants_change) == _actor(7)
    assert loads == 2


async def test_an_announcement_drops_that_user_only_and_a_lost_listener_drops_all() -> None:
    cache = SessionCache()
    cache.start()
    loads: list[int] = []

    def loader(user_id: int):  # type: ignore[no-untyped-def]
        async def load() -> Actor:
            loads.append(user_id)
            return _actor(user_id)

        return load

    for uid in (1, 2, 1, 2):
        await cache.actor((uid, 0, None), loader(uid))
    assert loads == [1, 2]
    cache.heard("1")
    await cache.actor((1, 0, None), loader(1))
    await cache.actor((2, 0, None), loader(2))
    assert loads == [1, 2, 1]
    cache.stop()  # no listener: every lookup reads, nothing is kept
    await cache.actor((2, 0, None), loader(2))
    await cache.actor((2, 0, None), loader(2))
    assert loads == [1, 2, 1, 2, 2]
    cache.heard("not a list of ids")  # unreadable: taken as everyone's change, no error


async def _statements_of(gql: GraphQLClient, query: str) -> int:
    before = STATEMENTS.queries
    await gql(query)
    return STATEMENTS.queries - before


async def _psql(sql: str, *args: object) -> None:
    """A statement from outside the server, as an operator's psql or another process."""
    conn = await asyncpg.connect(DB_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _until(check: Callable[[], Awaitable[bool]], why: str = "not heard") -> None:
    await eventually(check, why)


async def _settled() -> None:
    """Until the server has heard every announcement made so far (the world's new grants, the
    emptied tables): PostgreSQL delivers a channel's notifications in commit order, so once it
    hears this one it has heard those."""
    seen = SESSIONS.generation
    await _psql("SELECT pg_notify('desk_session', '0')")

    async def heard() -> bool:
        return SESSIONS.generation != seen

    await _until(heard)


@on_postgres
async def test_a_repeated_request_sends_no_session_statement(gql: GraphQLClient) -> None:
    await build_demand_world()
    await _settled()
    await gql.login("handler", PASSWORD)
    first = await _statements_of(gql, INBOX)
    second = await _statements_of(gql, INBOX)
    assert (first, second) == (2, 1)  # the session, then the count; then the count alone


@on_postgres
async def test_an_account_disabled_in_psql_is_refused_at_once(gql: GraphQLClient) -> None:
    await build_demand_world()
    await _settled()
    await gql.login("handler", PASSWORD)
    assert await gql(ME) == {"me": {"username": "handler"}}
    await gql(ME)  # now from the cache
    await _psql("UPDATE app_user SET is_active = FALSE WHERE username = 'handler'")

    async def refused() -> bool:
        return (await gql(ME))["me"] is None

    await _until(refused)


@on_postgres
async def test_a_grant_removed_by_another_process_counts_at_once(gql: GraphQLClient) -> None:
    w = await build_demand_world()
    demand = await w.dispatched()
    await _settled()
    await gql.login("handler", PASSWORD)
    listed = await gql(MY_DEMANDS)
    assert listed["demands"]["edges"] == [{"node": {"id": to_global_id("Demand", demand.id)}}]
    await _psql("DELETE FROM role_grant WHERE user_id = $1", w.handler.user_id)

    async def gone() -> bool:
        resp = await gql.post(MY_DEMANDS)
        body = resp.json()
        return "errors" in body or body["data"]["demands"]["edges"] == []

    await _until(gone)


@on_postgres
async def test_a_sign_out_everywhere_refuses_the_token_on_the_next_request(
    gql: GraphQLClient,
) -> None:
    await build_demand_world()
    await _settled()
    await gql.login("handler", PASSWORD)
    await gql(ME)
    await gql(ME)  # from the cache
    ended = await gql("mutation { logout(input: {everywhere: true}) { ok errors { code } } }")
    assert ended["logout"] == {"ok": True, "errors": []}
    assert await gql(ME) == {"me": None}  # at once, not once the announcement arrives


@on_postgres
async def test_nothing_is_cached_while_the_listener_is_away(gql: GraphQLClient) -> None:
    await build_demand_world()
    await _settled()
    await gql.login("handler", PASSWORD)
    assert await _statements_of(gql, INBOX) == 2
    assert await _statements_of(gql, INBOX) == 1
    # The server's LISTEN connection is cut; it comes back after RECONNECT_SECONDS (2 s). Two
    # requests count only if it stayed away meanwhile (its going and coming back each bump the
    # cache's generation); else it is cut again.
    for _ in range(5):
        before = SESSIONS.generation
        await _psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )

        async def cut(before: int = before) -> bool:
            return SESSIONS.generation != before

        await _until(cut, "the listener was not cut")
        away = SESSIONS.generation
        counts = [await _statements_of(gql, INBOX) for _ in range(2)]
        if not SESSIONS.live and SESSIONS.generation == away:
            break
    else:
        pytest.fail("the listener came back before two requests were answered, five times")
    assert counts == [2, 2]  # the session read on each request: nothing kept


SUBMIT = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { state } errors { code } } }"""


@on_postgres
async def test_a_demand_mutation_keeps_the_session_and_a_sign_out_does_not(
    gql: GraphQLClient,
) -> None:
    w = await build_demand_world()
    await _settled()
    signed_in = await gql.login("ent_user", PASSWORD)
    await gql(INBOX)
    submitted = await gql(
        SUBMIT,
        {
            "input": {
                "enterpriseId": to_global_id("Enterprise", w.base.ent_a1.id),
                "categoryId": to_global_id("DemandCategory", w.category.id),
                "title": "申请稳岗返还政策兑现",
                "description": "想了解稳岗返还的申请时间和所需材料。",
            }
        },
    )
    assert submitted["submitDemand"] == {"demand": {"state": "SUBMITTED"}, "errors": []}
    assert await _statements_of(gql, INBOX) == 1  # a demand changes no session: still known
    other = GraphQLClient(gql.http)
    await other.login("ent_user", PASSWORD)  # a second session of the same account
    ended = await other(
        "mutation($t: String) { logout(input: {refreshToken: $t}) { ok } }",
        {"t": (await other.login("ent_user", PASSWORD))["refreshToken"]},
    )
    assert ended["logout"] == {"ok": True}
    assert await _statements_of(gql, INBOX) == 2  # any sign-out: this process asks again
    assert signed_in["accessToken"] == gql.token
