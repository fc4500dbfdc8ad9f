"""Signing in and out: argon2 passwords, sign-in throttling (models.rules.sign_in), refresh
rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from tortoise.expressions import F, Q
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models.errors import DomainError
from models.ops import audit
from models.rules.actor import Actor
from models.rules.audit import AuditAction, AuditOutcome
from models.rules.passwords import hash_password, needs_rehash, verify_password
from models.rules.sign_in import (
    ACCOUNT_THROTTLED,
    LOGIN_DELAYED,
    LoginLimits,
    address_window_over,
    delayed,
    key,
    known_address,
    streak,
)
from models.rules.tokens import (
    REFRESH_TTL,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from models.tables.org import LoginPairThrottle, LoginThrottle, RefreshToken, User

# The process's limits: server.app sets them from the settings at start-up.
_limits = LoginLimits()


def configure_login_limits(limits: LoginLimits) -> None:
    global _limits
    _limits = limits


@dataclass(frozen=True)
class Session:
    user: User
    access_token: str
    refresh_token: str


def _now() -> datetime:
    return datetime.now(UTC)


async def _charge_address(client: str, now: datetime) -> bool:
    """Count this attempt against the address before any password is checked (so parallel
    requests cannot all slip under the cap); False when the address is over its cap. A
    success gives its count back (_signed_in)."""
    limits = _limits
    async with in_transaction():
        # INSERT ... ON CONFLICT DO NOTHING: a concurrent first attempt neither fails nor
        # aborts the transaction; either way the row is there to lock.
        await LoginThrottle.bulk_create(
            [LoginThrottle(client=client, failures=0, window_start=now)], ignore_conflicts=True
        )
        row = await LoginThrottle.select_for_update().get(client=client)
        if address_window_over(row.window_start, now, limits):
            await LoginThrottle.filter(id=row.id).update(failures=1, window_start=now)
            return True
        if row.failures >= limits.address_max_failures:
            return False
        await LoginThrottle.filter(id=row.id).update(failures=F("failures") + 1)
        return True


async def _charge_pair(tried: str, client: str, now: datetime) -> str | None:
    """Count this attempt as a failure of (username, address) before the password is checked,
    unless it is held back: then the reason (models.rules.sign_in), and nothing is counted, so
    waiting out a delay is enough. A success resets the count (_signed_in)."""
    limits = _limits
    async with in_transaction():
        await LoginPairThrottle.bulk_create(
            [LoginPairThrottle(username=tried, client=client)], ignore_conflicts=True
        )
        row = await LoginPairThrottle.select_for_update().get(username=tried, client=client)
        if delayed(row.failures, row.last_failure_at, now, limits):
            return LOGIN_DELAYED
        if (
            limits.account_max_failures
            and not known_address(row.last_success_at, now, limits)
            and await _account_failures(tried, now) >= limits.account_max_failures
        ):
            return ACCOUNT_THROTTLED
        failures = streak(row.failures, row.last_failure_at, now, limits) + 1
        await LoginPairThrottle.filter(id=row.id).update(failures=failures, last_failure_at=now)
        return None


async def _account_failures(tried: str, now: datetime) -> int:
    """Failures of the username's current streaks, over the addresses that failed lately."""
    row = (
        await LoginPairThrottle.filter(
            username=tried, last_failure_at__gt=now - _limits.account_window
        )
        .annotate(total=Sum("failures"))
        .first()
        .values("total")
    )
    return int(row["total"] or 0) if row else 0


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


async def forget_old_sign_in_failures() -> int:
    """Drop throttle rows that no longer hold anything back or remember a known address (a
    periodic job: guessers with many usernames leave many rows). Returns how many."""
    limits, now = _limits, _now()
    gone = await LoginThrottle.filter(window_start__lte=now - limits.address_window).delete()
    stale = now - limits.streak_forgotten_after
    forgotten = Q(last_failure_at=None) | Q(last_failure_at__lte=stale)
    unknown = Q(last_success_at=None) | Q(last_success_at__lte=now - limits.known_address_for)
    return gone + await LoginPairThrottle.filter(forgotten & unknown).delete()


async def login(username: str, password: str, *, client: str, secret: str) -> Session:
    """Every attempt is in the audit log, with the username tried and the true reason of a
    refusal. The caller reads one answer for a wrong password, an unknown username, a disabled
    account and an attempt held back by the per-account limits (INVALID_CREDENTIALS), after the
    same work: one argon2 verification, against the dummy hash when there is nothing to check.
    Only an address over its own cap reads TOO_MANY_ATTEMPTS, checking no password."""
    now = _now()
    typed = (username or "").strip()
    tried, client = key(typed), key(client)
    if not await _charge_address(client, now):
        await _audit_login(AuditOutcome.REFUSED, None, tried, client, "TOO_MANY_ATTEMPTS")
        raise DomainError("TOO_MANY_ATTEMPTS")
    held = await _charge_pair(tried, client, now)
    user = await User.get_or_none(username=typed)
    checked = user.password_hash if user is not None and held is None else None
    ok = verify_password(checked, password or "")
    if ok and user is not None and user.is_active:
        return await _signed_in(user, password, tried, client, now, secret)
    reason = held or ("ACCOUNT_DISABLED" if ok else "INVALID_CREDENTIALS")
    await _audit_login(AuditOutcome.REFUSED, user, tried, client, reason)
    raise DomainError("INVALID_CREDENTIALS", "password")


async def _signed_in(
    user: User, password: str, tried: str, client: str, now: datetime, secret: str
) -> Session:
    async with in_transaction():
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            await user.save(update_fields=["password_hash"])
        # The attempt's charges given back: this address now knows the account.
        await LoginPairThrottle.filter(username=tried, client=client).update(
            failures=0, last_failure_at=None, last_success_at=now
        )
        await LoginThrottle.filter(client=client, failures__gt=0).update(failures=F("failures") - 1)
        session = await _issue(user, secret, now)
        await _audit_login(AuditOutcome.SUCCESS, user, tried, client)
        return session


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
