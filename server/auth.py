"""Authentication: the bearer access token of a request, turned into an Actor."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from models.access import Actor, load_actor
from models.org import User
from models.rules.tokens import read_access_token


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def actor_from_token(token: str | None, secret: str) -> Actor | None:
    """The actor of a valid token whose user is active and has not changed password since."""
    if not token:
        return None
    claims = read_access_token(token, secret)
    if claims is None:
        return None
    user_id, issued_at = claims
    changed = await User.filter(id=user_id, is_active=True).values_list(
        "password_changed_at", flat=True
    )
    # A token issued before the last password change no longer counts.
    if not changed or int(changed[0].timestamp()) > issued_at:  # type: ignore[attr-defined]
        return None
    return await load_actor(user_id)


def client_address(conn: HTTPConnection) -> str:
    # Behind a reverse proxy, uvicorn's --proxy-headers puts the real address here.
    return conn.client.host if conn.client else "unknown"
