"""Subscriptions over graphql-transport-ws: the live inbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from models.tables.notifications import Notification as NotificationModel
from schema.guards import actor_of
from schema.types.notifications import NOTIFICATION_COLUMNS, Notification


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="My new notifications as they arrive (bearer token in connection_init)."
    )
    async def notification_added(self, info: Info) -> AsyncGenerator[Notification, None]:
        actor = actor_of(info)
        ctx = info.context
        last = await NotificationModel.filter(user_id=actor.user_id).order_by("-id").first()
        last_id = last.id if last else 0
        async with ctx.broker.subscribe(actor.user_id) as wake:
            while True:
                await wake.wait(ctx.broker.recheck_seconds)
                rows = (
                    await NotificationModel.filter(user_id=actor.user_id, id__gt=last_id)
                    .order_by("id")
                    .values(*NOTIFICATION_COLUMNS)
                )
                for r in rows:
                    last_id = r["id"]
                    yield Notification.from_row(r, ctx.locale)
