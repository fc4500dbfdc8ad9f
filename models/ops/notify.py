"""Telling people: one call writes the event, an inbox row per recipient and an outbox row per
device that should buzz, inside the caller's transaction (docs/design.md section 9.1), so nothing is
sent for a change that rolled back and nothing is lost while a gateway is down.

Who is told is resolved here from the org data (a department's handlers, a region's
dispatchers or supervisors, an enterprise's contacts); when a push may buzz comes from each
recipient's preferences and the region's calendar and policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.ops.policy import load_policy
from models.ops.region_tree import region_chain
from models.ops.work_calendar import load_calendar
from models.rules.notification_kinds import (
    URGENT_KINDS,
    NotificationKind,
    next_push_time,
    time_of,
)
from models.rules.roles import Role
from models.tables.enterprises import EnterpriseContact
from models.tables.grants import RoleGrant
from models.tables.notifications import (
    Device,
    Notification,
    NotificationEvent,
    NotificationPreference,
    PushMessage,
)
from models.tables.org import User

# Live inbox wake-ups (schema.live): on PostgreSQL a NOTIFY on this channel, delivered at commit
# to every process; on SQLite the writing process's own listeners (a reader waits for the
# writer's transaction there, so a woken reader never sees a row that rolls back).
NOTIFY_CHANNEL = "desk_inbox"
# PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more ("payload string too long", and the
# whole transaction with it: about 1,600 recipients' ids): the ids go in payloads of at most
# this many bytes, as many as they need, so every listener still wakes exactly the recipients.
WAKE_PAYLOAD_BYTES = 4000
_local_listeners: list[Callable[[list[int]], None]] = []


def add_local_listener(listener: Callable[[list[int]], None]) -> Callable[[], None]:
    """Call `listener(user_ids)` when users in this process are told something (SQLite);
    returns a function that removes it."""
    _local_listeners.append(listener)
    return lambda: _local_listeners.remove(listener)


def wake_payloads(user_ids: list[int], limit: int = WAKE_PAYLOAD_BYTES) -> list[str]:
    """The ids as comma-separated payloads of at most `limit` bytes each."""
    payloads: list[str] = []
    part: list[str] = []
    size = 0
    for uid in user_ids:
        text = str(uid)
        if part and size + 1 + len(text) > limit:
            payloads.append(",".join(part))
            part, size = [], 0
        size += len(text) + (1 if part else 0)
        part.append(text)
    if part:
        payloads.append(",".join(part))
    return payloads


async def _wake(user_ids: list[int]) -> None:
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # One statement for all the payloads, however many recipients.
            await conn.execute_query(
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                [NOTIFY_CHANNEL, wake_payloads(user_ids)],
            )
            return
    for listener in list(_local_listeners):
        listener(user_ids)


@dataclass(frozen=True)
class Notice:
    kind: NotificationKind
    recipients: list[int]
    subject_type: str  # Demand, Visit, AgencyRequest
    subject_id: int
    data: dict[str, Any] = field(default_factory=dict)  # template parameters
    region_id: int | None = None  # whose calendar and policy time the pushes
    dedup_key: str | None = None  # a time-driven event fires once per key


# --------------------------------------------------------------------------- audiences


async def active(user_ids: list[int]) -> list[int]:
    """The given users that are active, in the given order, once each."""
    wanted = list(dict.fromkeys(user_ids))
    ok = set(await User.filter(id__in=wanted, is_active=True).values_list("id", flat=True))
    return [u for u in wanted if u in ok]


async def department_staff(department_id: int, *, leads_only: bool = False) -> list[int]:
    qs = RoleGrant.filter(role=Role.HANDLER.value, department_id=department_id)
    if leads_only:
        qs = qs.filter(lead=True)
    return [r["user_id"] for r in await qs.order_by("user_id").values("user_id")]


async def regional(role: Role, region_id: int) -> list[int]:
    """Holders of `role` on the region or a region above it (their grant covers it)."""
    chain = await region_chain(region_id)
    rows = (
        await RoleGrant.filter(role=role.value, region_id__in=chain)
        .order_by("user_id")
        .values("user_id")
    )
    return [r["user_id"] for r in rows]


async def enterprise_contacts(enterprise_id: int) -> list[int]:
    rows = (
        await EnterpriseContact.filter(enterprise_id=enterprise_id, user_id__not_isnull=True)
        .order_by("id")
        .values("user_id")
    )
    return [r["user_id"] for r in rows]


# --------------------------------------------------------------------------- writing


async def fired(keys: list[str]) -> set[str]:
    """The dedup keys that have fired already, in one query: a time-driven job skips them
    before resolving recipients (the unique key still settles races between processes)."""
    if not keys:
        return set()
    rows = await NotificationEvent.filter(dedup_key__in=keys).values("dedup_key")
    return {r["dedup_key"] for r in rows}


async def notify(notice: Notice, now: datetime, *, exclude: int | None = None) -> int | None:
    """Write the event, inbox rows and outbox rows; returns the event id, or None when nobody is
    left to tell or the dedup key has fired before. Meant to run in the caller's transaction."""
    recipients = [u for u in await active(notice.recipients) if u != exclude]
    if not recipients:
        return None
    try:
        async with in_transaction():  # a savepoint: a repeated key undoes only this insert
            event = await NotificationEvent.create(
                kind=notice.kind.value,
                recipients=recipients,
                subject_type=notice.subject_type,
                subject_id=notice.subject_id,
                data=notice.data,
                dedup_key=notice.dedup_key,
                fanned_out_at=now,
            )
    except IntegrityError:
        return None
    await Notification.bulk_create(
        [
            Notification(
                user_id=u,
                event_id=event.id,
                kind=notice.kind.value,
                subject_type=notice.subject_type,
                subject_id=notice.subject_id,
                data=notice.data,
                created_at=now,
            )
            for u in recipients
        ]
    )
    await _queue_pushes(notice, event.id, recipients, now)
    await _wake(recipients)
    return event.id


async def _queue_pushes(notice: Notice, event_id: int, users: list[int], now: datetime) -> None:
    devices = (
        await Device.filter(user_id__in=users).order_by("id").values("id", "user_id", "provider")
    )
    if not devices:
        return
    prefs = {
        p["user_id"]: p
        for p in await NotificationPreference.filter(user_id__in=users).values(
            "user_id", "muted_kinds", "quiet_start", "quiet_end", "quiet_on_holidays"
        )
    }
    inbox = dict(await Notification.filter(event_id=event_id).values_list("user_id", "id"))
    calendar = await load_calendar(notice.region_id)
    exempt = False
    if notice.kind in URGENT_KINDS and notice.region_id is not None:
        exempt = (await load_policy(notice.region_id)).urgent_push_in_quiet_hours
    rows: list[PushMessage] = []
    for d in devices:
        p = prefs.get(d["user_id"], {})
        if notice.kind.value in (p.get("muted_kinds") or []):
            continue
        due = now
        if not exempt:
            due = next_push_time(
                now,
                quiet_start=time_of(p.get("quiet_start")),
                quiet_end=time_of(p.get("quiet_end")),
                quiet_on_holidays=p.get("quiet_on_holidays", True),
                is_workday=calendar.is_workday,
            )
        rows.append(
            PushMessage(
                notification_id=inbox[d["user_id"]],
                device_id=d["id"],
                provider=d["provider"],
                due_at=due,
                created_at=now,
            )
        )
    if rows:
        await PushMessage.bulk_create(rows)
