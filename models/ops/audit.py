"""Writing the audit log (models.tables.audit), and running an admin change so that its audit row is
committed with it or not at all.

`audited(trail, op)` opens the transaction, runs the operation inside it (its own
transactions become savepoints) and writes the SUCCESS row before the commit. A change whose
follow-up must wait for its commit (the calendar's caches) takes the trail instead and
records inside its own transaction (`audited_inline`). A domain refusal rolls the change back
and is recorded as REFUSED with its code, in a statement of its own; a signed-out caller is
not recorded (there is nobody to name, and anyone could fill the table)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models.access import ADMIN, region_ids_subquery
from models.errors import DomainError
from models.rules.actor import Actor
from models.rules.audit import MAX_USERNAME, AuditAction, AuditOutcome, bounded
from models.rules.roles import Role
from models.tables.audit import AuditEntry
from models.tables.grants import RoleGrant
from models.tables.org import User

T = TypeVar("T")
log = logging.getLogger("enterprise_desk")
COMMAND_LINE = "command line"  # the address of what the operator ran on the server


async def write(
    action: AuditAction,
    outcome: AuditOutcome,
    *,
    actor_id: int | None,
    username: str,
    address: str,
    object_type: str | None = None,
    object_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one row, on the current transaction's connection when there is one."""
    await AuditEntry.create(
        at=datetime.now(UTC),  # the real time, also when a task acts at a replayed moment
        actor_id=actor_id or None,
        actor_username=(username or "")[:MAX_USERNAME],
        action=action.value,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64],
        details=bounded(details or {}),
        address=(address or "")[:64],
        outcome=outcome,
    )


async def username_of(actor: Actor) -> str:
    if actor.username or not actor.user_id:
        return actor.username
    row = await User.filter(id=actor.user_id).first().values("username")
    return str(row["username"]) if row else ""


@dataclass(frozen=True)
class Trail:
    """An admin change about to happen: who, from where, what, and its input as details."""

    actor: Actor
    address: str
    action: AuditAction
    object_type: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    async def record(self, object_id: object = None, more: dict[str, Any] | None = None) -> None:
        """The SUCCESS row: call it inside the change's transaction. `more`: details only the
        change knows (what a removed row held)."""
        await self._write(AuditOutcome.SUCCESS, object_id, {**self.details, **(more or {})})

    async def refused(self, err: DomainError) -> None:
        codes = sorted({p.code for p in err.problems})
        details = {**self.details, "code": codes[0] if len(codes) == 1 else codes}
        try:
            await self._write(AuditOutcome.REFUSED, None, details)
        except Exception:  # the refusal still reaches the caller
            log.exception("could not record a refused %s", self.action.value)

    async def _write(
        self, outcome: AuditOutcome, object_id: object, details: dict[str, Any]
    ) -> None:
        await write(
            self.action,
            outcome,
            actor_id=self.actor.user_id,
            username=await username_of(self.actor),
            address=self.address,
            object_type=self.object_type,
            object_id=object_id,
            details=details,
        )


def primary_key(result: Any) -> object:
    """The key of the model instance an operation returns."""
    return getattr(result, "pk", None)


async def audited(
    trail: Trail | None,
    op: Callable[[], Awaitable[T]],
    key: Callable[[T], object] = primary_key,
    more: Callable[[T], dict[str, Any]] | None = None,
) -> T:
    """Run an admin change and its SUCCESS row in one transaction; `key` names the object
    from the operation's result, `more` adds details from it. A refusal is recorded after
    the rollback."""
    if trail is None:
        return await op()
    try:
        async with in_transaction():
            result = await op()
            await trail.record(key(result), more(result) if more else None)
    except DomainError as err:
        await trail.refused(err)
        raise
    return result


async def audited_inline(trail: Trail | None, op: Callable[[Trail | None], Awaitable[T]]) -> T:
    """Run an admin change that records `trail` inside its own transaction; a refusal is
    recorded after it."""
    try:
        return await op(trail)
    except DomainError as err:
        if trail is not None:
            await trail.refused(err)
        raise


# --- reading ---------------------------------------------------------------------------------


def audit_scope(actor: Actor) -> Q:
    """The rows an administrator reads: a system administrator all of them, an administrator
    of regions those whose actor holds a role in one of their regions (their own people's
    sign-ins and changes, not another county's). Other roles are refused."""
    if not actor.has_role(Role.ADMIN):
        raise DomainError("FORBIDDEN")
    regions = region_ids_subquery(actor, ADMIN)
    if regions is None:
        return Q()
    people = RoleGrant.filter(region_id__in=regions).values("user_id")
    return Q(actor_id__in=Subquery(people))
