"""Client-made mutation ids: a call retried by an app that lost the first answer is applied once.

Each call that carries an id writes a `MutationReceipt` (user, id, operation, fingerprint of
its arguments, the object it produced) in the same transaction as its change. A repeat with
the same arguments returns that object; the same id with other arguments is CLIENT_ID_REUSED."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from models.errors import DomainError
from models.rules.actor import Actor
from models.tables.demands import MutationReceipt

MAX_CLIENT_ID = 64
T = TypeVar("T")


def fingerprint(args: dict[str, Any]) -> str:
    raw = json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Receipt:
    client_id: str
    operation: str
    fingerprint: str


def receipt_for(
    client_id: str | None,
    operation: str,
    args: dict[str, Any],
    *,
    field: str = "clientMutationId",
    uuid_only: bool = False,
) -> Receipt | None:
    """The receipt a call will write, or None without a client id. `uuid_only` insists on a
    UUID (what offline-made creates carry), normalised to its canonical lowercase form."""
    if client_id is None:
        if uuid_only:
            raise DomainError("REQUIRED", field)
        return None
    cleaned = client_id.strip()
    if uuid_only:
        try:
            cleaned = str(uuid.UUID(cleaned))
        except ValueError:
            raise DomainError("INVALID_CLIENT_MUTATION_ID", field) from None
    if not cleaned or len(cleaned) > MAX_CLIENT_ID:
        raise DomainError("INVALID_CLIENT_MUTATION_ID", field)
    return Receipt(cleaned, operation, fingerprint(args))


async def _replay(
    actor: Actor, receipt: Receipt, load: Callable[[int], Awaitable[T]], field: str
) -> T | None:
    row = await MutationReceipt.get_or_none(user_id=actor.user_id, client_id=receipt.client_id)
    if row is None:
        return None
    if row.operation != receipt.operation or row.fingerprint != receipt.fingerprint:
        raise DomainError("CLIENT_ID_REUSED", field)
    assert row.object_id is not None
    return await load(row.object_id)


async def idempotent(
    actor: Actor,
    receipt: Receipt | None,
    run: Callable[[], Awaitable[T]],
    load: Callable[[int], Awaitable[T]],
    *,
    field: str = "clientMutationId",
    look_first: bool = True,
) -> T:
    """Apply `run` once per client id; a repeat returns `load(first object id)`, the same id
    with different arguments is refused. `run` writes the receipt in its own transaction.
    Without `look_first`, `run` goes ahead at once and a repeat is known by its receipt's
    unique key (user, client id) refusing it: one statement less for every first call, for
    a run whose writes all roll back with that refusal."""
    if receipt is None:
        return await run()
    if look_first:
        first = await _replay(actor, receipt, load, field)
        if first is not None:
            return first
    try:
        return await run()
    except (IntegrityError, DomainError):
        # A concurrent retry may have committed the same id first: ours rolled back whole,
        # on the receipt's unique key or on something the first call already used up.
        first = await _replay(actor, receipt, load, field)
        if first is None:
            raise
        return first


def receipt_row(actor: Actor, receipt: Receipt, object_id: int | None) -> MutationReceipt:
    """The receipt's row, unsaved."""
    return MutationReceipt(
        client_id=receipt.client_id,
        user_id=actor.user_id,
        operation=receipt.operation,
        fingerprint=receipt.fingerprint,
        object_id=object_id,
    )


async def write_receipt(actor: Actor, receipt: Receipt | None, object_id: int) -> None:
    if receipt is not None:
        await receipt_row(actor, receipt, object_id).save(force_create=True)
