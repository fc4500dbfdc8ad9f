"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens (random, stored hashed)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import datetime, timedelta
from typing import NamedTuple

import jwt

ALGORITHM = "HS256"  # pinned: decoding accepts nothing else, so no "none" and no key confusion
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
# Clock skew allowed between the process that issued a token and the one reading it: a token
# is still good this long after its `exp`, and its `iat` may lie this far in the future.
LEEWAY_SECONDS = 30
ACCESS_TYPE = "access"
_REQUIRED = ["sub", "exp", "iat", "typ", "sv"]


_FAMILY = re.compile(r"[0-9a-f]{1,64}")


class AccessClaims(NamedTuple):
    user_id: int
    session_version: int
    family: str | None  # the refresh-token family of the session that issued it


def issue_access_token(
    user_id: int,
    secret: str,
    now: datetime,
    session_version: int = 0,
    family: str | None = None,
) -> str:
    """`sv` is the user's session version: raising it (a new password, log out everywhere)
    ends every token issued before. `fam` names the session (its refresh-token family): ending
    that session (log out, a reused refresh token) ends its access tokens at once too."""
    claims: dict[str, object] = {
        "sub": str(user_id),
        "typ": ACCESS_TYPE,
        "sv": session_version,
        "iat": now,
        "exp": now + ACCESS_TTL,
    }
    if family is not None:
        claims["fam"] = family
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": "JWT"})


# Tokens found valid, until they expire (+ leeway): an app sends the same one with every
# request for 15 minutes, and checking its signature and claims cost ~5% of a list request.
_VERIFIED: dict[tuple[str, str], tuple[AccessClaims, float]] = {}
_VERIFIED_MAX = 20_000  # beyond this the memo starts over: a bound, not an eviction policy


def read_access_token(token: str, secret: str) -> AccessClaims | None:
    """The claims of a valid access token, else None: a bad signature, another algorithm, an
    expired token, a missing claim or one of the wrong type."""
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is not None:
        if time.time() < known[1]:
            return known[0]
        _VERIFIED.pop(key, None)
        return None
    found = _verify(token, secret)
    if found is not None:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = found
        return found[0]
    return None


def access_token_deadline(token: str, secret: str) -> float | None:
    """The moment (epoch seconds) a valid access token stops being accepted, else None."""
    if read_access_token(token, secret) is None:
        return None
    known = _VERIFIED.get((secret, token))
    return known[1] if known is not None else None


def expired_access_token(token: str, secret: str) -> bool:
    """Whether this is one of our access tokens, well signed, whose only fault is its age."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_exp": False})
    except jwt.PyJWTError:
        return False
    exp = claims.get("exp")
    return (
        claims.get("typ") == ACCESS_TYPE
        and isinstance(exp, int | float)
        and (exp + LEEWAY_SECONDS <= time.time())
    )


def _verify(token: str, secret: str) -> tuple[AccessClaims, float] | None:
    """The claims and the moment the token stops being accepted (its `exp` + leeway)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != ACCESS_TYPE:
        return None
    sub, version = claims["sub"], claims["sv"]
    # Exact types: a bool or float would compare equal to an int and slip through.
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit()) or type(version) is not int:
        return None
    family = claims.get("fam")
    if family is not None and not (isinstance(family, str) and _FAMILY.fullmatch(family)):
        return None
    user_id = int(sub)
    # A key beyond 32 bits cannot exist, and PostgreSQL refuses to compare an int with it.
    if not 0 < user_id < 2**31:
        return None
    return AccessClaims(user_id, version, family), float(claims["exp"]) + LEEWAY_SECONDS


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
