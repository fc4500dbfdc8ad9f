"""The operator's view of push delivery: dead letters (outbox rows given up on) and sending
them again. System administrators only: the rows span every region's users."""

from __future__ import annotations

from models.errors import DomainError
from models.rules import clock
from models.rules.actor import Actor
from models.rules.notification_kinds import PushStatus
from models.rules.roles import Role
from models.tables.notifications import PushMessage

MAX_RETRY_IDS = 500


def require_operator(actor: Actor | None) -> Actor:
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    if not actor.is_global(Role.ADMIN):
        raise DomainError("FORBIDDEN")
    return actor


async def retry_pushes(actor: Actor | None, ids: list[int]) -> int:
    """Queue dead pushes again, due now with a fresh attempt budget; rows whose device is gone
    stay dead (nothing to send to). Returns how many were queued."""
    require_operator(actor)
    if not ids:
        raise DomainError("REQUIRED", "ids")
    if len(ids) > MAX_RETRY_IDS:
        raise DomainError("TOO_MANY_IDS", "ids", max=MAX_RETRY_IDS)
    return int(
        await PushMessage.filter(
            id__in=ids, status=PushStatus.DEAD.value, device_id__not_isnull=True
        ).update(
            status=PushStatus.PENDING.value,
            attempts=0,
            due_at=clock.now(),
            claimed_until=None,
            finished_at=None,
        )
    )
