"""Signing in and out: argon2 passwords, lockout, per-address throttling, refresh rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.errors import DomainError
from models.org import LoginThrottle, RefreshToken, User
from models.rules.passwords import hash_password, needs_rehash, verify_password
from models.rules.tokens import (
    REFRESH_TTL,
    hash_refresh_token,
    issue_access_token,
    lock_duration,
    new_refresh_token,
)

# Per client address: this many failures within the window refuse further attempts.
ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Session:
    user: User
    access_token: str
    refresh_token: str


def _now() -> datetime:
    return datetime.now(UTC)


async def _address_blocked(client: str, now: datetime) -> bool:
    row = await LoginThrottle.get_or_none(client=client)
    return bool(
        row and row.window_start > now - ADDRESS_WINDOW and row.failures >= ADDRESS_MAX_FAILURES
    )


async def _count_address_failure(client: str, now: datetime) -> None:
    async with in_transaction():
        row = await LoginThrottle.select_for_update().get_or_none(client=client)
        if row is None:
            await LoginThrottle.create(client=client, failures=1, window_start=now)
        elif row.window_start <= now - ADDRESS_WINDOW:
            row.failures, row.window_start = 1, now
            await row.save(update_fields=["failures", "window_start"])
        else:
            await LoginThrottle.filter(id=row.id).update(failures=F("failures") + 1)


async def _issue(user: User, secret: str, now: datetime, family: str | None = None) -> Session:
    token = new_refresh_token()
    await RefreshToken.create(
        user=user,
        token_hash=hash_refresh_token(token),
        family=family or uuid4().hex,
        expires_at=now + REFRESH_TTL,
    )
    return Session(user, issue_access_token(user.id, secret, now), token)


async def login(username: str, password: str, *, client: str, secret: str) -> Session:
    now = _now()
    if await _address_blocked(client, now):
        raise DomainError("TOO_MANY_ATTEMPTS")
    user = await User.get_or_none(username=(username or "").strip())
    if user is not None and user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise DomainError("ACCOUNT_LOCKED", minutes=minutes)
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok:
        await _count_address_failure(client, now)
        if user is not None:
            await _count_user_failure(user, now)
        raise DomainError("INVALID_CREDENTIALS", "password")
    if not user.is_active:
        raise DomainError("ACCOUNT_DISABLED")
    async with in_transaction():
        user.failed_logins, user.locked_until = 0, None
        fields = ["failed_logins", "locked_until"]
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            fields.append("password_hash")
        await user.save(update_fields=fields)
        return await _issue(user, secret, now)


async def _count_user_failure(user: User, now: datetime) -> None:
    async with in_transaction():
        await User.filter(id=user.id).update(failed_logins=F("failed_logins") + 1)
        fresh = await User.get(id=user.id)
        lock = lock_duration(fresh.failed_logins)
        if lock is not None:
            await User.filter(id=user.id).update(locked_until=now + lock)


async def refresh(token: str, *, secret: str) -> Session:
    """Rotate a refresh token. Presenting one that was already rotated revokes its family:
    either the user or a thief holds a copy, and both must sign in again."""
    now = _now()
    async with in_transaction():
        row = (
            await RefreshToken.select_for_update()
            .filter(token_hash=hash_refresh_token(token or ""))
            .first()
        )
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise DomainError("INVALID_REFRESH_TOKEN")
        if row.used_at is not None:
            # Committed before refusing: the revocation must stick.
            await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=now)
        else:
            updated = await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now)
            user = await User.get(id=row.user_id)  # type: ignore[attr-defined]
            if updated == 1 and user.is_active:
                return await _issue(user, secret, now, family=row.family)
    raise DomainError("INVALID_REFRESH_TOKEN")


async def logout(token: str) -> None:
    row = await RefreshToken.get_or_none(token_hash=hash_refresh_token(token or ""))
    if row is not None:
        await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=_now())


async def revoke_all_sessions(user_id: int) -> None:
    await RefreshToken.filter(user_id=user_id, revoked_at=None).update(revoked_at=_now())
