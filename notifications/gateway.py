"""The push gateway interface every adapter implements, and the outcome of each send.

The dispatcher hands an adapter a batch of messages (at most its `max_batch`), one per device
token, and gets back exactly one `SendResult` per message, in any order, matched by
`message_id`. An adapter never raises for what the gateway answered or for network trouble:
it maps every answer to an `Outcome`, so the dispatcher can record it per token (docs/design.md
section 9.5): delivered with the gateway's id; the token is dead (delete the device); retry later
(5xx, 429, connect and read errors; with the gateway's `Retry-After` when it gave one); or
permanent (4xx: the message will never be accepted).

An adapter that splits a batch into several HTTP calls says how with `calls(batch)` (each
group goes in exactly one call), so the dispatcher sends one call per `send`: it paces, counts
(breaker) and records every call on its own. Without it the dispatcher sends chunks of
`max_batch`. An adapter whose gateway reports its call quota says with `quota_spent_for()` how
long no call may go after the last answer (None: calls left)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from models.rules.notification_kinds import mask_token

__all__ = [
    "Gateway",
    "Outcome",
    "Platform",
    "PushMessage",
    "ReportsQuota",
    "SendResult",
    "SplitsCalls",
    "mask_token",
]


class Outcome(StrEnum):
    DELIVERED = "DELIVERED"
    DEAD_TOKEN = "DEAD_TOKEN"  # noqa: S105 - an outcome, not a secret
    RETRY = "RETRY"
    PERMANENT = "PERMANENT"


class Platform(StrEnum):
    ANDROID = "ANDROID"
    IOS = "IOS"
    HARMONY = "HARMONY"


@dataclass(frozen=True)
class PushMessage:
    """One notification to one device token."""

    message_id: str  # our outbox row's id, for matching results
    notification_id: int  # the inbox row: the app drops a push it has already shown
    token: str  # secret: never logged, never returned in full
    platform: Platform
    title: str
    body: str
    collapse_key: str  # a newer push with the same key replaces an unread older one
    data: dict[str, str] = field(default_factory=dict)  # includes notificationId, kind, subject
    badge: int | None = None  # unread count, for iOS badges


@dataclass(frozen=True)
class SendResult:
    message_id: str
    outcome: Outcome
    gateway_id: str | None = None  # the gateway's message id when delivered
    error: str | None = None  # the gateway's error code or text, kept on the outbox row
    retry_after: float | None = None  # seconds the gateway asked us to wait
    # The gateway refused the call for its call quota before looking at it: nothing was sent,
    # so the row is put back without spending an attempt (and no call goes for `retry_after`).
    throttled: bool = False


class Gateway(Protocol):
    """One push gateway. `name` labels metrics; `max_batch` is the most messages per `send`."""

    name: str
    max_batch: int

    async def send(self, batch: list[PushMessage]) -> list[SendResult]: ...

    async def aclose(self) -> None: ...


class SplitsCalls(Protocol):
    def calls(self, batch: list[PushMessage]) -> list[list[PushMessage]]: ...


class ReportsQuota(Protocol):
    def quota_spent_for(self) -> float | None: ...
