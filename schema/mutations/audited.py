"""Admin mutations go through the audit log: `attempt_audited` is `attempt` with the change
and its audit row in one transaction (models.ops.audit), the input as the row's details."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry import UNSET
from strawberry.utils.str_converters import to_camel_case

from models.ops.audit import Trail, audited, audited_inline, primary_key
from models.rules.audit import AuditAction
from schema.context import Context
from schema.errors import UserError, attempt

T = TypeVar("T")


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel_case(str(k)): _camel(v) for k, v in value.items() if v is not UNSET}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def input_details(input: object) -> dict[str, Any]:
    """A mutation's input as the API names it; models.rules.audit.redact drops the secrets."""
    if not dataclasses.is_dataclass(input) or isinstance(input, type):
        return {}
    details: dict[str, Any] = _camel(dataclasses.asdict(input))
    return details


def trail_of(
    ctx: Context, action: AuditAction, object_type: str | None, input: object
) -> Trail | None:
    if ctx.actor is None:
        return None
    return Trail(ctx.actor, ctx.client, action, object_type, input_details(input))


async def attempt_audited(
    ctx: Context,
    action: AuditAction,
    object_type: str | None,
    input: object,
    op: Callable[[], Awaitable[T]],
    key: Callable[[T], object] = primary_key,
    more: Callable[[T], dict[str, Any]] | None = None,
) -> tuple[T | None, list[UserError]]:
    trail = trail_of(ctx, action, object_type, input)
    return await attempt(ctx.locale, lambda: audited(trail, op, key, more))


async def attempt_audited_inline(
    ctx: Context,
    action: AuditAction,
    object_type: str | None,
    input: object,
    op: Callable[[Trail | None], Awaitable[T]],
) -> tuple[T | None, list[UserError]]:
    """For operations that record the trail inside their own transaction."""
    trail = trail_of(ctx, action, object_type, input)
    return await attempt(ctx.locale, lambda: audited_inline(trail, op))
