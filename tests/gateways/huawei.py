"""A loopback fake of Huawei Push Kit's server API and its OAuth token endpoint.

`POST /oauth2/v3/token` checks client_id and client_secret and issues access tokens.
`POST /v1/{appId}/messages:send` checks the bearer token (401 with 80200001, or 80200003 once
a token has been expired), then answers with the scripted reply if any, else Push Kit's
documented bodies: 80000000 when every token is good, 80100000 with `illegal_tokens` in `msg`
when some are dead, 80300007 when all are, 80300010 for more than 1000 tokens."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateways.harness import FakeGateway, Recorded


def hms(code: str, msg: str, request_id: str = "0000000000000000000") -> dict[str, str]:
    return {"code": code, "msg": msg, "requestId": request_id}


@dataclass
class HuaweiState:
    app_id: str
    client_secret: str
    dead_tokens: set[str] = field(default_factory=set)
    valid_access: set[str] = field(default_factory=set)
    expired_access: set[str] = field(default_factory=set)
    token_requests: int = 0
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire_tokens(self) -> None:
        """Every access token issued so far expires: the next send answers 80200003."""
        self.expired_access |= self.valid_access
        self.valid_access.clear()

    def request_id(self) -> str:
        return f"1690{next(self.counter):015d}"


class HuaweiFake(FakeGateway):
    state: HuaweiState


def huawei_fake(*, app_id: str, client_secret: str) -> tuple[HuaweiFake, Starlette]:
    state = HuaweiState(app_id, client_secret)

    def success(rec: Recorded) -> Response:
        auth = rec.headers.get("authorization", "")
        access = auth[7:] if auth.startswith("Bearer ") else ""
        if access in state.expired_access:
            return JSONResponse(hms("80200003", "Oauth token expired", state.request_id()), 401)
        if access not in state.valid_access:
            return JSONResponse(
                hms("80200001", "Oauth authentication error", state.request_id()), 401
            )
        message = (rec.body or {}).get("message") or {}
        tokens = message.get("token") or []
        if not 1 <= len(tokens) <= 1000:
            return JSONResponse(
                hms(
                    "80300010",
                    "The number of tokens in the message body exceeds the default value",
                    state.request_id(),
                ),
                400,
            )
        dead = [t for t in tokens if t in state.dead_tokens]
        if dead and len(dead) == len(tokens):
            return JSONResponse(
                hms("80300007", "All the tokens are invalid", state.request_id()), 400
            )
        if dead:
            detail = {
                "success": len(tokens) - len(dead),
                "failure": len(dead),
                "illegal_tokens": dead,
            }
            return JSONResponse(hms("80100000", json.dumps(detail), state.request_id()))
        return JSONResponse(hms("80000000", "Success", state.request_id()))

    fake = HuaweiFake(success)
    fake.state = state

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": 1102, "sub_error": 20001, "error_description": "grant_type"}, 400
            )
        if (
            form.get("client_id") != state.app_id
            or form.get("client_secret") != state.client_secret
        ):
            return JSONResponse(
                {"error": 1101, "sub_error": 20186, "error_description": "invalid client_secret"},
                400,
            )
        state.token_requests += 1
        access = f"DQEBAL-fake-access-{state.token_requests}-{next(state.counter)}=="
        state.valid_access.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3600, "token_type": "Bearer"})

    async def send(request: Request) -> Response:
        if request.path_params["app_id"] != state.app_id:
            return JSONResponse(hms("80200001", "Oauth authentication error"), 401)
        return await fake.answer(request)

    app = Starlette(
        routes=[
            Route("/oauth2/v3/token", token, methods=["POST"]),
            Route("/v1/{app_id}/messages:send", send, methods=["POST"]),
        ]
    )
    return fake, app
