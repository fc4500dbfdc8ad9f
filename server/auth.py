"""Authentication: the bearer access token of a request, turned into an Actor."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from models.access import load_signed_in_actor
from models.rules.actor import Actor
from models.rules.tokens import read_access_token


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def actor_from_token(token: str | None, secret: str) -> Actor | None:
    """The actor of a valid token whose user is active and has not ended their sessions since
    it was issued (a new password, log out everywhere), nor this session (log out, a reused
    refresh token)."""
    if not token:
        return None
    claims = read_access_token(token, secret)
    if claims is None:
        return None
    return await load_signed_in_actor(claims.user_id, claims.session_version, claims.family)


def client_address(conn: HTTPConnection) -> str:
    # Behind a reverse proxy, uvicorn's --proxy-headers puts the real address here.
    return conn.client.host if conn.client else "unknown"
