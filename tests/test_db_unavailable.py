"""Which failures mean "the database is away" (answered 503 DATABASE_UNAVAILABLE, try again)
and which are faults (500, masked): what asyncpg and tortoise raise while PostgreSQL restarts
(tests/test_faults.py drives a real outage; bench/pg_restart.py a real restart)."""

from __future__ import annotations

import asyncpg
import pytest
from graphql import GraphQLError
from tortoise.exceptions import DBConnectionError, IntegrityError

from models.db.unavailable import is_database_unavailable
from schema.errors import CodedMaskErrors, should_mask

AWAY = [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    ),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InterfaceError(
        "cannot call Transaction.rollback(): the underlying connection is closed"
    ),
    asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    ),
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
        'database "desk" is not currently accepting connections'
    ),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    DBConnectionError("Can't establish connection to database desk"),
]
FAULTS = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    IntegrityError("duplicate key"),
    asyncpg.exceptions.DataError("invalid input for query argument $1"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
    ValueError("a bug"),
]


@pytest.mark.parametrize("exc", AWAY, ids=lambda e: type(e).__name__)
def test_the_database_being_away_is_told_apart(exc: Exception) -> None:
    assert is_database_unavailable(exc)
    try:  # also when it is the cause of what reached the caller, as tortoise wraps it
        try:
            raise exc
        except Exception as inner:
            raise RuntimeError("transaction failed") from inner
    except RuntimeError as outer:
        assert is_database_unavailable(outer)


@pytest.mark.parametrize("exc", FAULTS, ids=lambda e: type(e).__name__)
def test_other_failures_are_faults(exc: Exception) -> None:
    assert not is_database_unavailable(exc)
    assert not is_database_unavailable(None)


def test_production_masking_keeps_the_code_of_an_outage() -> None:
    """In production the message is masked; the code still tells the HTTP layer to say 503."""
    mask = CodedMaskErrors(should_mask_error=should_mask, error_message="服务器内部错误")
    away = GraphQLError("x", original_error=AWAY[0])
    fault = GraphQLError("x", original_error=ValueError("a bug"))
    assert should_mask(away) and should_mask(fault)
    masked_away, masked_fault = mask.anonymise_error(away), mask.anonymise_error(fault)
    assert masked_away.extensions == {"code": "DATABASE_UNAVAILABLE"}
    assert masked_fault.extensions == {"code": "INTERNAL_ERROR"}
    assert masked_away.message == masked_fault.message == "服务器内部错误"
