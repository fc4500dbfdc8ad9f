"""Turning domain refusals in queries into public GraphQL errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from strawberry.types import Info

from models.errors import DomainError
from models.rules.actor import Actor
from schema.errors import public

T = TypeVar("T")


def actor_of(info: Info) -> Actor:
    """The signed-in actor, or a public UNAUTHENTICATED error."""
    try:
        return info.context.require_actor()
    except DomainError as err:
        raise public(err, info.context.locale) from None


async def guarded(info: Info, op: Callable[[], Awaitable[T]]) -> T:
    try:
        return await op()
    except DomainError as err:
        raise public(err, info.context.locale) from None
