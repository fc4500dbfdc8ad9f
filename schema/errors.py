"""Mapping domain refusals to what clients read: UserError payload entries or public errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from models.db_unavailable import is_database_unavailable
from models.errors import DomainError
from models.messages import message

T = TypeVar("T")


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


def should_mask(error: GraphQLError) -> bool:
    """Mask exceptions raised inside the server, except our public errors. Errors without an
    original exception are about the client's document (syntax, validation) and stay, and so
    do those wrapping graphql-core's own report on a client's variable value ("Variable '$d'
    has invalid value: …"), which is not a server fault."""
    original = error.original_error
    return original is not None and not isinstance(original, (PublicError, GraphQLError))


class CodedMaskErrors(MaskErrors):
    """strawberry's masking, the masked error keeping a stable code the HTTP layer words in
    the client's language."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        # The database being away is no fault to hide: the HTTP layer answers it with 503.
        away = is_database_unavailable(error.original_error)
        masked.extensions = {"code": "DATABASE_UNAVAILABLE" if away else "INTERNAL_ERROR"}
        return masked


async def attempt(locale: str, op: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run one domain operation; a refusal becomes payload errors, never an exception."""
    try:
        return await op(), []
    except DomainError as err:
        return None, user_errors(err, locale)
