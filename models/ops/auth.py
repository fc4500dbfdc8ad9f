"""Signing in and out: argon2 passwords, lockout, per-address throttling, refresh rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.access import Actor
from models.errors import DomainError
from models.ops import audit
from models.org import LoginThrottle, RefreshToken, User
from models.rules.audit import AuditAction, AuditOutcome
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
    family = family or uuid4().hex
    await RefreshToken.create(
        user=user,
        token_hash=hash_refresh_token(token),
        family=family,
        expires_at=now + REFRESH_TTL,
        session_version=user.session_version,
    )
    access = issue_access_token(user.id, secret, now, user.session_version, family)
    return Session(user, access, token)


async def _audit_login(
    outcome: AuditOutcome, user: User | None, tried: str, client: str, code: str | None = None
) -> None:
    await audit.write(
        AuditAction.LOGIN,
        outcome,
        actor_id=user.id if user else None,
        username=user.username if user else tried,
        address=client,
        object_type="User" if user else None,
        object_id=user.id if user else None,
        details={"code": code} if code else None,
    )


async def login(username: str, password: str, *, client: str, secret: str) -> Session:
    """Every attempt is in the audit log, with the username tried; a refusal's row is
    committed with the failure counts it adds."""
    now = _now()
    tried = (username or "").strip()
    if await _address_blocked(client, now):
        await _audit_login(AuditOutcome.REFUSED, None, tried, client, "TOO_MANY_ATTEMPTS")
        raise DomainError("TOO_MANY_ATTEMPTS")
    user = await User.get_or_none(username=tried)
    if user is not None and user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        await _audit_login(AuditOutcome.REFUSED, user, tried, client, "ACCOUNT_LOCKED")
        raise DomainError("ACCOUNT_LOCKED", minutes=minutes)
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok:
        async with in_transaction():
            await _count_address_failure(client, now)
            if user is not None:
                await _count_user_failure(user, now)
            await _audit_login(AuditOutcome.REFUSED, user, tried, client, "INVALID_CREDENTIALS")
        raise DomainError("INVALID_CREDENTIALS", "password")
    if not user.is_active:
        await _audit_login(AuditOutcome.REFUSED, user, tried, client, "ACCOUNT_DISABLED")
        raise DomainError("ACCOUNT_DISABLED")
    async with in_transaction():
        user.failed_logins, user.locked_until = 0, None
        fields = ["failed_logins", "locked_until"]
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            fields.append("password_hash")
        await user.save(update_fields=fields)
        session = await _issue(user, secret, now)
        await _audit_login(AuditOutcome.SUCCESS, user, tried, client)
        return session


async def _count_user_failure(user: User, now: datetime) -> None:
    async with in_transaction():
        await User.filter(id=user.id).update(failed_logins=F("failed_logins") + 1)
        fresh = await User.get(id=user.id)
        lock = lock_duration(fresh.failed_logins)
        if lock is not None:
            await User.filter(id=user.id).update(locked_until=now + lock)


async def refresh(token: str, *, secret: str, client: str = "") -> Session:
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
        user = await User.get(id=row.user_id)  # type: ignore[attr-defined]
        if row.used_at is not None:
            # Committed before refusing: the revocation (and its audit row) must stick.
            revoked = await RefreshToken.filter(family=row.family, revoked_at=None).update(
                revoked_at=now
            )
            await audit.write(
                AuditAction.REFRESH_TOKEN_REUSED,
                AuditOutcome.REFUSED,
                actor_id=user.id,
                username=user.username,
                address=client,
                object_type="User",
                object_id=user.id,
                details={"revoked": revoked},
            )
        else:
            updated = await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now)
            current = row.session_version == user.session_version
            if updated == 1 and user.is_active and current:
                return await _issue(user, secret, now, family=row.family)
    raise DomainError("INVALID_REFRESH_TOKEN")


async def logout(token: str, *, client: str = "") -> None:
    """End the session of this refresh token (its whole family). An unknown or ended token
    is no error (signing out twice is fine) and leaves no audit row."""
    row = await RefreshToken.get_or_none(token_hash=hash_refresh_token(token or ""))
    if row is None:
        return
    user = await User.get_or_none(id=row.user_id)  # type: ignore[attr-defined]
    async with in_transaction():
        ended = await RefreshToken.filter(family=row.family, revoked_at=None).update(
            revoked_at=_now()
        )
        if not ended:
            return
        await audit.write(
            AuditAction.LOGOUT,
            AuditOutcome.SUCCESS,
            actor_id=row.user_id,  # type: ignore[attr-defined]
            username=user.username if user else "",
            address=client,
            object_type="User",
            object_id=row.user_id,  # type: ignore[attr-defined]
        )


async def revoke_all_sessions(user_id: int) -> None:
    """End every session of a user at once: access tokens issued before stop working on the
    next request (their session version is behind), refresh tokens are revoked."""
    async with in_transaction():
        await User.filter(id=user_id).update(session_version=F("session_version") + 1)
        await RefreshToken.filter(user_id=user_id, revoked_at=None).update(revoked_at=_now())


async def logout_everywhere(actor: Actor, *, client: str) -> None:
    """The signed-in user ends all of their sessions (a lost phone)."""
    async with in_transaction():
        await revoke_all_sessions(actor.user_id)
        await audit.write(
            AuditAction.LOGOUT_EVERYWHERE,
            AuditOutcome.SUCCESS,
            actor_id=actor.user_id,
            username=await audit.username_of(actor),
            address=client,
            object_type="User",
            object_id=actor.user_id,
        )
