"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens (random, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"  # pinned: decoding accepts nothing else, so no "none" and no key confusion
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
LEEWAY_SECONDS = 30


def issue_access_token(user_id: int, secret: str, now: datetime) -> str:
    claims = {"sub": str(user_id), "typ": "access", "iat": now, "exp": now + ACCESS_TTL}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(token: str, secret: str) -> tuple[int, int] | None:
    """Return (user id, issued-at epoch seconds) of a valid access token, else None."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    try:
        return int(claims["sub"]), int(claims["iat"])
    except (TypeError, ValueError):
        return None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lock_duration(failures: int, threshold: int = 5) -> timedelta | None:
    """Lock after `threshold` failures in a row, doubling from 1 minute up to a day."""
    if failures < threshold:
        return None
    return timedelta(minutes=min(2 ** (failures - threshold), 24 * 60))
