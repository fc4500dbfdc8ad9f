"""The inbox, devices and notification preferences, built from plain rows."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import strawberry

from models.messages.notifications import render
from models.rules.notification_kinds import NotificationKind, mask_token
from schema.relay import Node, to_global_id

strawberry.enum(NotificationKind, description="What a notification is about.")

NOTIFICATION_COLUMNS = ("id", "kind", "subject_type", "subject_id", "data", "created_at", "read_at")
DEVICE_COLUMNS = (
    "id",
    "provider",
    "platform",
    "token",
    "app_version",
    "created_at",
    "last_seen_at",
)


@strawberry.type(description="An inbox entry: what the user was told, in their language.")
class Notification(Node):
    pk: strawberry.Private[int]
    kind: NotificationKind
    title: str
    body: str
    subject_type: str = strawberry.field(description="Demand, Visit or AgencyRequest.")
    subject_id: strawberry.ID = strawberry.field(description="The subject's global id.")
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_row(cls, r: dict[str, Any], locale: str) -> Notification:
        title, body = render(r["kind"], r["data"] or {}, locale)
        return cls(
            id=to_global_id("Notification", r["id"]),
            pk=r["id"],
            kind=NotificationKind(r["kind"]),
            title=title,
            body=body,
            subject_type=r["subject_type"],
            subject_id=to_global_id(r["subject_type"], r["subject_id"]),
            created_at=r["created_at"],
            read_at=r["read_at"],
        )


@strawberry.type(description="A phone registered for push. The token is never shown whole.")
class Device:
    id: strawberry.ID
    provider: str
    platform: str
    token_tail: str = strawberry.field(
        description="The token's last characters, to tell phones apart."
    )
    app_version: str
    created_at: datetime
    last_seen_at: datetime

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Device:
        return cls(
            id=to_global_id("Device", r["id"]),
            provider=r["provider"],
            platform=r["platform"],
            token_tail=mask_token(r["token"]),
            app_version=r["app_version"],
            created_at=r["created_at"],
            last_seen_at=r["last_seen_at"],
        )


@strawberry.type(description="Which kinds push and when; the inbox always gets everything.")
class NotificationPreferences:
    muted_kinds: list[NotificationKind] = strawberry.field(description="Kinds that do not push.")
    quiet_start: time = strawberry.field(description="Quiet hours start (Asia/Shanghai).")
    quiet_end: time
    quiet_on_holidays: bool = strawberry.field(
        description="No pushes on weekends and holidays of the region's calendar."
    )
    language: str = strawberry.field(description="zh or en, for push texts.")
