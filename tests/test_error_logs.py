"""What the operator's log says about GraphQL errors: a refusal the client brought on itself
(signed out, not allowed, a page too large, a document or a variable that does not fit the
schema) is one INFO line without a traceback; a fault is an ERROR with its traceback. A
variable's value (a password, say) never reaches the log."""

from __future__ import annotations

import logging

import pytest
from tortoise.connection import get_connection

from tests.factories import PASSWORD, build_world

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken errors { code } } }"""


def graphql_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logged about GraphQL errors (strawberry's own logger included)."""
    return [
        r for r in caplog.records if r.name in ("enterprise_desk.graphql", "strawberry.execution")
    ]


async def test_refusals_are_one_info_line_without_a_traceback(gql, caplog):
    await build_world()
    caplog.set_level(logging.INFO)
    secret = "hunter2-typed-into-the-wrong-field"
    cases = [
        ("{ users { totalCount } }", None, "UNAUTHENTICATED"),
        ("{ nope }", None, "Cannot query field 'nope'"),
        (LOGIN, {"u": "cadre_a", "p": [secret]}, "Variable '$p' has invalid value"),
        ("signed in", None, ""),
        ("{ users { totalCount } }", None, "FORBIDDEN"),
        ("{ enterprises(first: 101) { totalCount } }", None, "INVALID_PAGE_SIZE"),
    ]
    for query, variables, said in cases:
        if query == "signed in":
            await gql.login("cadre_a", PASSWORD)
            continue
        caplog.clear()
        body = (await gql.post(query, variables)).json()
        assert body["errors"], body
        [record] = graphql_records(caplog)
        assert record.levelno == logging.INFO, record.getMessage()
        assert record.exc_info is None
        assert said in record.getMessage()
        assert "Traceback" not in caplog.text
    # The refused password is in no record, its arguments included.
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert secret not in logged


async def test_a_fault_is_an_error_with_its_traceback(gql, caplog):
    await build_world()
    caplog.set_level(logging.INFO)
    conn = get_connection("default")
    await conn.execute_script("ALTER TABLE login_throttle RENAME TO login_throttle_away")
    try:
        resp = await gql.post(LOGIN, {"u": "cadre_a", "p": PASSWORD})
    finally:
        await conn.execute_script("ALTER TABLE login_throttle_away RENAME TO login_throttle")
    assert resp.json()["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    [record] = graphql_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is not None
    assert "Traceback" in caplog.text and "login_throttle" in caplog.text
