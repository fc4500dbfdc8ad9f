"""A user's own notification settings and inbox: reading, devices, preferences.

Device tokens are secrets: they are stored to send, never logged and never returned whole. A
token registered again by another user moves to that user (a phone changed hands or someone
else signed in), so one phone never receives two people's notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum

from tortoise.transactions import in_transaction

from models.errors import DomainError, Problems
from models.ops.validate import choice, text
from models.rules import clock
from models.rules.actor import Actor
from models.rules.notification_kinds import NotificationKind, minutes_of
from models.tables.notifications import Device, Notification, NotificationPreference

MAX_TOKEN = 512
MAX_IDS = 500


class Provider(StrEnum):
    JPUSH = "jpush"
    GORUSH = "gorush"
    FCM = "fcm"
    HUAWEI = "huawei"
    APNS = "apns"  # through gorush
    WEBHOOK = "webhook"
    LOG = "log"


class DevicePlatform(StrEnum):
    ANDROID = "ANDROID"
    IOS = "IOS"
    HARMONY = "HARMONY"


def _require(actor: Actor | None) -> Actor:
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    return actor


async def mark_read(actor: Actor | None, ids: list[int] | None, *, everything: bool) -> int:
    """Mark the user's own notifications read (the given ones, or all); returns how many
    changed. Ids of other people's notifications are ignored, never an error that leaks them."""
    actor = _require(actor)
    if not everything and not ids:
        raise DomainError("REQUIRED", "ids")
    if ids is not None and len(ids) > MAX_IDS:
        raise DomainError("TOO_MANY_IDS", "ids", max=MAX_IDS)
    qs = Notification.filter(user_id=actor.user_id, read_at=None)
    if not everything:
        qs = qs.filter(id__in=ids or [])
    return int(await qs.update(read_at=clock.now()))


async def unread_count(user_id: int) -> int:
    return await Notification.filter(user_id=user_id, read_at=None).count()


async def register_device(
    actor: Actor | None, *, provider: str, platform: str, token: str, app_version: str = ""
) -> Device:
    """Idempotent by token: registering again refreshes it; another user's token moves here."""
    actor = _require(actor)
    problems = Problems()
    prov = choice(problems, Provider, provider, "provider")
    plat = choice(problems, DevicePlatform, platform, "platform")
    clean = text(problems, token, "token", max_len=MAX_TOKEN, required=True)
    version = text(problems, app_version, "appVersion", max_len=32, required=False)
    if prov is None and not any(p.field == "provider" for p in problems.items):
        problems.add("REQUIRED", "provider")
    if plat is None and not any(p.field == "platform" for p in problems.items):
        problems.add("REQUIRED", "platform")
    problems.raise_if_any()
    assert prov is not None and plat is not None
    async with in_transaction():
        device = await Device.filter(token=clean).select_for_update().first()
        if device is None:
            return await Device.create(
                user_id=actor.user_id,
                provider=prov.value,
                platform=plat.value,
                token=clean,
                app_version=version,
            )
        device.user_id = actor.user_id
        device.provider = prov.value
        device.platform = plat.value
        device.app_version = version
        await device.save()
        return device


async def unregister_device(actor: Actor | None, token: str) -> bool:
    """Sign-out on the phone: stop pushing to it. Only the user's own device; True if removed."""
    actor = _require(actor)
    return bool(await Device.filter(user_id=actor.user_id, token=token.strip()).delete())


@dataclass
class PreferenceChanges:
    muted_kinds: list[str] | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_on_holidays: bool | None = None
    language: str | None = None
    clear_quiet_hours: bool = False  # back to the default 22:00–08:00


async def preferences(user_id: int) -> NotificationPreference:
    found = await NotificationPreference.get_or_none(user_id=user_id)
    return found or NotificationPreference(user_id=user_id, muted_kinds=[])


async def set_preferences(
    actor: Actor | None, changes: PreferenceChanges
) -> NotificationPreference:
    actor = _require(actor)
    problems = Problems()
    kinds: list[str] | None = None
    if changes.muted_kinds is not None:
        kinds = []
        for i, k in enumerate(dict.fromkeys(changes.muted_kinds)):
            kind = choice(problems, NotificationKind, k, f"mutedKinds.{i}")
            if kind is not None:
                kinds.append(kind.value)
    if changes.language is not None and changes.language not in ("zh", "en"):
        problems.add("INVALID_CHOICE", "language", value=changes.language)
    problems.raise_if_any()
    async with in_transaction():
        pref, _ = await NotificationPreference.get_or_create(
            user_id=actor.user_id, defaults={"muted_kinds": []}
        )
        if kinds is not None:
            pref.muted_kinds = kinds
        if changes.clear_quiet_hours:
            pref.quiet_start = pref.quiet_end = None
        if changes.quiet_start is not None:
            pref.quiet_start = minutes_of(changes.quiet_start)
        if changes.quiet_end is not None:
            pref.quiet_end = minutes_of(changes.quiet_end)
        if changes.quiet_on_holidays is not None:
            pref.quiet_on_holidays = changes.quiet_on_holidays
        if changes.language is not None:
            pref.language = changes.language
        await pref.save()
    return pref
