"""Signing in, refreshing and signing out."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.ops import auth as auth_ops
from schema.errors import UserError, attempt
from schema.loaders import USER_COLUMNS
from schema.mutations.common import row
from schema.types.users import User


@strawberry.input
class LoginInput:
    username: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    refresh_token: str | None = None
    everywhere: bool = strawberry.field(
        default=False, description="End every session of the signed-in user."
    )


@strawberry.type
class AuthPayload:
    access_token: str | None = strawberry.field(
        description="Short-lived bearer token for the Authorization header."
    )
    refresh_token: str | None = strawberry.field(
        description="Single-use: each refresh returns a new one."
    )
    user: User | None
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool
    errors: list[UserError]


def _auth_payload(session: auth_ops.Session | None, errors: list[UserError]) -> AuthPayload:
    if session is None:
        return AuthPayload(access_token=None, refresh_token=None, user=None, errors=errors)
    return AuthPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        user=User.from_row(row(session.user, USER_COLUMNS)),
        errors=[],
    )


@strawberry.type
class AuthMutations:
    @strawberry.mutation(description="Sign in with username and password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        ctx = info.context
        session, errors = await attempt(
            ctx.locale,
            lambda: auth_ops.login(
                input.username, input.password, client=ctx.client, secret=ctx.secret_key
            ),
        )
        return _auth_payload(session, errors)

    @strawberry.mutation(description="Trade a refresh token for a new access and refresh token.")
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload:
        ctx = info.context
        session, errors = await attempt(
            ctx.locale,
            lambda: auth_ops.refresh(input.refresh_token, secret=ctx.secret_key, client=ctx.client),
        )
        return _auth_payload(session, errors)

    @strawberry.mutation(
        description="End this session (its refresh token), or with `everywhere` every session "
        "of the signed-in user: their access tokens stop working at once, as after a new "
        "password."
    )
    async def logout(self, info: Info, input: LogoutInput) -> LogoutPayload:
        ctx = info.context

        async def run() -> bool:
            if input.everywhere:
                await auth_ops.logout_everywhere(ctx.require_actor(), client=ctx.client)
            elif input.refresh_token:
                await auth_ops.logout(input.refresh_token, client=ctx.client)
            return True

        ok, errors = await attempt(ctx.locale, run)
        return LogoutPayload(ok=bool(ok), errors=errors)
