"""The one way a demand changes: check, write the row and its timeline event together, once.

Every transition runs `run_transition`: in one transaction it loads the demand and the actor's
relation to it, refuses what the rules refuse, writes the new row with an optimistic version
check (two people acting at once: one wins, the other gets CONFLICT), appends the timeline
event, links uploaded files, tells the people concerned (inbox and push outbox, see
models.ops.demand_notices), and records the client's mutation id so a retry is applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from models.errors import DomainError
from models.ops import receipts
from models.ops.demand_context import DemandContext, load_context
from models.ops.demand_notices import notify_transition
from models.ops.demand_times import TIME_COLUMNS, refresh_demand_times
from models.ops.receipts import Receipt, receipt_for, write_receipt
from models.rules import clock
from models.rules.actor import Actor
from models.rules.demand_flow import refusal
from models.rules.demand_states import DemandAction, DemandState
from models.tables.demands import Demand, DemandEvent


@dataclass
class Change:
    """What a transition writes: the target state, columns, and the event's note and data."""

    to_state: DemandState
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    attachment_ids: list[int] = field(default_factory=list)
    # Further writes in the same transaction (requests, assisting departments), after the event.
    after: Callable[[Demand, DemandEvent], Awaitable[None]] | None = None


async def _load_demand(pk: int) -> Demand:
    return await Demand.get(id=pk)


async def idempotent(
    actor: Actor,
    receipt: Receipt | None,
    run: Callable[[], Awaitable[Demand]],
    *,
    look_first: bool = True,
) -> Demand:
    return await receipts.idempotent(actor, receipt, run, _load_demand, look_first=look_first)


def event_row(
    demand_id: int | None,
    action: DemandAction,
    actor_id: int | None,
    at: datetime,
    from_state: DemandState | None,
    change: Change,
) -> DemandEvent:
    """A timeline event, unsaved; without `demand_id` until its demand has an id."""
    known = {} if demand_id is None else {"demand_id": demand_id}
    return DemandEvent(
        **known,
        action=action,
        actor_id=actor_id,
        at=at,
        from_state=from_state,
        to_state=change.to_state,
        note=change.note,
        data=change.data,
    )


async def link_files(actor: Actor, ids: list[int], demand_id: int, event_id: int) -> None:
    if ids:
        from models.ops.attachments import attach_files

        await attach_files(actor, ids, demand_id, event_id)


def _stale(action: DemandAction, ctx: DemandContext, expected_version: int | None) -> bool:
    """Did someone else change the demand since this actor read it?"""
    d = ctx.demand
    if expected_version is not None:
        return expected_version != d.version
    # A handler claiming what a colleague just claimed lost a race, not a rule.
    return action is DemandAction.CLAIM and d.state is DemandState.IN_PROGRESS


async def run_transition(
    actor: Actor,
    demand_id: int,
    action: DemandAction,
    work: Callable[[DemandContext], Awaitable[Change] | Change],
    *,
    client_id: str | None = None,
    args: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Demand:
    receipt = receipt_for(client_id, action.value, {"demand": demand_id, **(args or {})})

    async def run() -> Demand:
        now = clock.now()
        async with in_transaction():
            ctx = await load_context(actor, demand_id, now)
            err = refusal(action, ctx.facts(), ctx.relation)
            if (
                err is not None
                and err.code != "FORBIDDEN"
                and _stale(action, ctx, expected_version)
            ):
                raise DomainError("CONFLICT", "version")
            if err is not None:
                raise err
            if expected_version is not None and expected_version != ctx.demand.version:
                raise DomainError("CONFLICT", "version")
            result = work(ctx)
            change = result if isinstance(result, Change) else await result
            d = ctx.demand
            event = event_row(d.id, action, actor.user_id, now, d.state, change)
            await event.save(force_create=True)
            updated = await Demand.filter(id=d.id, version=d.version).update(
                state=change.to_state,
                version=d.version + 1,
                last_event_id=event.id,
                **change.fields,
            )
            if updated != 1:
                raise DomainError("CONFLICT", "version")
            if TIME_COLUMNS.intersection(change.fields):
                await refresh_demand_times(d.id)
            await link_files(actor, change.attachment_ids, d.id, event.id)
            if change.after is not None:
                await change.after(d, event)
            after = await Demand.get(id=demand_id)
            await notify_transition(action, d, after, change.data, now, actor.user_id)
            await write_receipt(actor, receipt, d.id)
        return after

    return await idempotent(actor, receipt, run)
