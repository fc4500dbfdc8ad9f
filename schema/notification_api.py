"""The inbox over GraphQL: the list, the unread count, marking read, devices, preferences.
Everything here is the signed-in user's own; nobody reads another person's inbox."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import strawberry
from strawberry.types import Info

from models.ops import inbox as ops
from models.ops import push_admin
from models.rules.audit import AuditAction
from models.rules.notification_kinds import (
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    NotificationKind,
    PushStatus,
    mask_token,
    time_of,
)
from models.tables.notifications import Device as DeviceModel
from models.tables.notifications import Notification as NotificationModel
from models.tables.notifications import PushMessage as PushModel
from schema.errors import UserError, attempt
from schema.guards import actor_of, guarded
from schema.input_edges import text_equal
from schema.mutations.audited import attempt_audited
from schema.relay import Connection, from_global_id, paginate, to_global_id
from schema.types.notifications import (
    DEVICE_COLUMNS,
    NOTIFICATION_COLUMNS,
    Device,
    Notification,
    NotificationPreferences,
)


async def _preferences(user_id: int) -> NotificationPreferences:
    p = await ops.preferences(user_id)
    return NotificationPreferences(
        muted_kinds=[NotificationKind(k) for k in p.muted_kinds or []],
        quiet_start=time_of(p.quiet_start) or DEFAULT_QUIET_START,
        quiet_end=time_of(p.quiet_end) or DEFAULT_QUIET_END,
        quiet_on_holidays=p.quiet_on_holidays,
        language=p.language,
    )


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="My inbox, newest first. Pages both ways: `first`/`after` down the list, "
        "`last`/`before` up from the top row shown (newer notifications)."
    )
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification]:
        actor = actor_of(info)
        locale = info.context.locale

        async def run() -> Connection[Notification]:
            qs = NotificationModel.filter(user_id=actor.user_id)
            if unread_only:
                qs = qs.filter(read_at=None)
            return await paginate(
                qs,
                first=first,
                after=after,
                last=last,
                before=before,
                order=("-id",),
                columns=NOTIFICATION_COLUMNS,
                build=lambda r: Notification.from_row(r, locale),
            )

        return await guarded(info, run)

    @strawberry.field(description="How many of my notifications are unread.")
    async def unread_notification_count(self, info: Info) -> int:
        actor = actor_of(info)
        return await ops.unread_count(actor.user_id)

    @strawberry.field(description="My phones registered for push.")
    async def my_devices(self, info: Info) -> list[Device]:
        actor = actor_of(info)
        rows = (
            await DeviceModel.filter(user_id=actor.user_id).order_by("id").values(*DEVICE_COLUMNS)
        )
        return [Device.from_row(r) for r in rows]

    @strawberry.field(description="Which kinds push and when.")
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        return await _preferences(actor_of(info).user_id)


@strawberry.input(description="Give `ids`, or `all: true` for everything.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = None
    all: bool = False


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int
    unread_count: int
    errors: list[UserError]


@strawberry.input
class RegisterDeviceInput:
    provider: str = strawberry.field(
        description="jpush, fcm, huawei, apns (through gorush), gorush, webhook or log."
    )
    platform: str = strawberry.field(description="ANDROID, IOS or HARMONY.")
    token: str = strawberry.field(description="The push token (registration id) of the app.")
    app_version: str = ""


@strawberry.type
class DevicePayload:
    device: Device | None
    errors: list[UserError]


@strawberry.input
class UnregisterDeviceInput:
    token: str


@strawberry.type
class UnregisterDevicePayload:
    removed: bool
    errors: list[UserError]


@strawberry.input
class SetNotificationPreferencesInput:
    muted_kinds: list[NotificationKind] | None = strawberry.field(
        default=None, description="Kinds that do not push (the inbox still gets them)."
    )
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_on_holidays: bool | None = None
    language: str | None = strawberry.field(default=None, description="zh or en.")
    reset_quiet_hours: bool = strawberry.field(
        default=False, description="Back to the default 22:00–08:00."
    )


@strawberry.type
class NotificationPreferencesPayload:
    preferences: NotificationPreferences | None
    errors: list[UserError]


def _notification_pk(gid: strawberry.ID) -> int:
    return from_global_id(gid, "Notification")[1]


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark my notifications read.")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        ctx = info.context

        async def run() -> int:
            ids = [_notification_pk(i) for i in input.ids] if input.ids is not None else None
            return await ops.mark_read(ctx.actor, ids, everything=input.all)

        marked, errors = await attempt(ctx.locale, run)
        unread = await ops.unread_count(ctx.actor.user_id) if ctx.actor else 0
        return MarkNotificationsReadPayload(marked=marked or 0, unread_count=unread, errors=errors)

    @strawberry.mutation(
        description="Register this phone for push (again is fine: idempotent by token)."
    )
    async def register_device(self, info: Info, input: RegisterDeviceInput) -> DevicePayload:
        ctx = info.context
        device, errors = await attempt(
            ctx.locale,
            lambda: ops.register_device(
                ctx.actor,
                provider=input.provider,
                platform=input.platform,
                token=input.token,
                app_version=input.app_version,
            ),
        )
        if device is None:
            return DevicePayload(device=None, errors=errors)
        rows = await DeviceModel.filter(id=device.id).values(*DEVICE_COLUMNS)
        return DevicePayload(device=Device.from_row(rows[0]), errors=errors)

    @strawberry.mutation(description="Stop pushing to this phone (on sign-out).")
    async def unregister_device(
        self, info: Info, input: UnregisterDeviceInput
    ) -> UnregisterDevicePayload:
        ctx = info.context
        removed, errors = await attempt(
            ctx.locale, lambda: ops.unregister_device(ctx.actor, input.token)
        )
        return UnregisterDevicePayload(removed=bool(removed), errors=errors)

    @strawberry.mutation(description="Choose which kinds push, quiet hours and language.")
    async def set_notification_preferences(
        self, info: Info, input: SetNotificationPreferencesInput
    ) -> NotificationPreferencesPayload:
        ctx = info.context
        changes = ops.PreferenceChanges(
            muted_kinds=[k.value for k in input.muted_kinds]
            if input.muted_kinds is not None
            else None,
            quiet_start=input.quiet_start,
            quiet_end=input.quiet_end,
            quiet_on_holidays=input.quiet_on_holidays,
            language=input.language,
            clear_quiet_hours=input.reset_quiet_hours,
        )
        saved, errors = await attempt(ctx.locale, lambda: ops.set_preferences(ctx.actor, changes))
        prefs = await _preferences(saved.user_id) if saved is not None else None  # type: ignore[attr-defined]
        return NotificationPreferencesPayload(preferences=prefs, errors=errors)


# --------------------------------------------------------------------------- operators


@strawberry.type(description="A push given up on (DEAD): its last error, for the operator.")
class DeadPush:
    id: strawberry.ID
    provider: str
    kind: NotificationKind
    attempts: int
    last_error: str | None
    device_tail: str | None = strawberry.field(description="Null when the device is gone.")
    created_at: datetime
    finished_at: datetime | None


DEAD_PUSH_COLUMNS = (
    "id",
    "provider",
    "notification__kind",
    "attempts",
    "last_error",
    "device__token",
    "created_at",
    "finished_at",
)


def _dead_push(r: dict[str, Any]) -> DeadPush:
    token = r["device__token"]
    return DeadPush(
        id=to_global_id("PushMessage", r["id"]),
        provider=r["provider"],
        kind=NotificationKind(r["notification__kind"]),
        attempts=r["attempts"],
        last_error=r["last_error"],
        device_tail=mask_token(token) if token else None,
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )


@strawberry.type
class PushOperatorQueries:
    @strawberry.field(description="Dead letters of push delivery, newest first (system admins).")
    async def dead_pushes(
        self,
        info: Info,
        provider: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DeadPush]:
        actor = actor_of(info)

        async def run() -> Connection[DeadPush]:
            push_admin.require_operator(actor)
            qs = PushModel.filter(status=PushStatus.DEAD.value)
            if provider:
                qs = text_equal(qs, "provider", provider)
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("-id",),
                columns=DEAD_PUSH_COLUMNS,
                build=_dead_push,
            )

        return await guarded(info, run)


@strawberry.input
class RetryPushInput:
    ids: list[strawberry.ID]


@strawberry.type
class RetryPushPayload:
    queued: int
    errors: list[UserError]


@strawberry.type
class PushOperatorMutations:
    @strawberry.mutation(description="Send dead pushes again (system admins).")
    async def retry_push(self, info: Info, input: RetryPushInput) -> RetryPushPayload:
        ctx = info.context

        async def run() -> int:
            ids = [from_global_id(i, "PushMessage")[1] for i in input.ids]
            return await push_admin.retry_pushes(ctx.actor, ids)

        queued, errors = await attempt_audited(
            ctx,
            AuditAction.PUSH_RETRY,
            "PushMessage",
            input,
            run,
            key=lambda _: None,
            more=lambda queued: {"queued": queued},
        )
        return RetryPushPayload(queued=queued or 0, errors=errors)
