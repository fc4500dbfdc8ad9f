"""Mapping domain refusals to what clients read: UserError payload entries or public errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from models.db.unavailable import is_database_unavailable
from models.errors import DomainError
from models.messages import message

T = TypeVar("T")
log = logging.getLogger("enterprise_desk.graphql")
# graphql-core's report on a variable's value, up to where it quotes the value.
_VARIABLE_VALUE = re.compile(r"(Variable '\$\w+' has invalid (?:default )?value[^:]*):")


@strawberry.type(description="A refusal the user can act on. `code` is stable for clients.")
class UserError:
    code: str
    field: str | None
    message: str


def user_errors(err: DomainError, locale: str) -> list[UserError]:
    return [
        UserError(code=p.code, field=p.field, message=message(p.code, locale, p.field, **p.params))
        for p in err.problems
    ]


class PublicError(Exception):
    """An error whose message is safe to show in production (not masked)."""

    def __init__(self, code: str, locale: str, field: str | None = None, **params: Any) -> None:
        super().__init__(message(code, locale, field, **params))
        self.code = code
        # graphql-core copies an original error's `extensions` into the response; `field`
        # names the argument or input field at fault, when there is one.
        self.extensions: dict[str, Any] = {"code": code}
        if field is not None:
            self.extensions["field"] = field


def public(err: DomainError, locale: str) -> PublicError:
    p = err.problems[0]
    return PublicError(p.code, locale, field=p.field, **p.params)


# What an error may wrap and still be the client's own doing: our public errors, graphql-core's
# reports, and an operation of a kind the transport does not run or cannot pick.
_CLIENTS_OWN = (PublicError, GraphQLError, InvalidOperationTypeError, CannotGetOperationTypeError)


def should_mask(error: GraphQLError) -> bool:
    """Mask exceptions raised inside the server, except our public errors. Errors without an
    original exception are about the client's document (syntax, validation) and stay, and so
    do those wrapping graphql-core's own report on a client's variable value ("Variable '$d'
    has invalid value: …"), which is not a server fault."""
    original = error.original_error
    return original is not None and not isinstance(original, _CLIENTS_OWN)


class CodedMaskErrors(MaskErrors):
    """strawberry's masking, the masked error keeping a stable code the HTTP layer words in
    the client's language."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        # The database being away is no fault to hide: the HTTP layer answers it with 503.
        away = is_database_unavailable(error.original_error)
        masked.extensions = {"code": "DATABASE_UNAVAILABLE" if away else "INTERNAL_ERROR"}
        return masked


def _refusal(error: GraphQLError) -> str | None:
    """What a refusal the client brought on itself is, for the log; None for a fault. Those
    are our public errors (UNAUTHENTICATED, FORBIDDEN, INVALID_PAGE_SIZE …), graphql-core's
    reports on the document and on the variables, and the database being away (an outage,
    logged once per request by the HTTP layer)."""
    original = error.original_error
    if isinstance(original, PublicError):
        where = ".".join(map(str, error.path or ()))
        return f"{original.code} at {where}" if where else original.code
    if original is None or isinstance(original, _CLIENTS_OWN):
        code = (error.extensions or {}).get("code")
        # A variable's value may be a password: its report is cut before the value.
        value_report = _VARIABLE_VALUE.match(error.message)
        text = value_report.group(1) if value_report else error.message
        return f"{code}: {text}" if code else text
    if is_database_unavailable(original):
        return "DATABASE_UNAVAILABLE"
    return None


def log_errors(errors: list[GraphQLError]) -> None:
    """Refusals at INFO without a traceback; anything else is a fault: ERROR with its
    traceback (before production masks it, so the log keeps what the client is not shown)."""
    for error in errors:
        refusal = _refusal(error)
        if refusal is not None:
            log.info("graphql refused: %s", refusal)
        else:
            log.error("graphql fault: %s", error, exc_info=error.original_error)


async def attempt(locale: str, op: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run one domain operation; a refusal becomes payload errors, never an exception."""
    try:
        return await op(), []
    except DomainError as err:
        return None, user_errors(err, locale)
