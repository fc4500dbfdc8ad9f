"""A loopback fake of FCM HTTP v1 and Google's OAuth2 token endpoint.

The token endpoint verifies the JWT bearer assertion as Google does (RS256 signature with the
service account's public key, `iss`, `aud` = token_uri, the messaging scope, at most an hour)
and issues opaque access tokens. The send endpoint checks the bearer token, then answers with
the scripted reply if any, else FCM's documented bodies: 404 UNREGISTERED for a dead token,
else 200 with the message name."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateways.harness import FakeGateway, Recorded

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def fcm_error(
    status: int, code: str, message: str, *, fcm_code: str | None = None
) -> dict[str, Any]:
    """An FCM v1 error body: `google.rpc.Status` with an FcmError detail when `fcm_code`."""
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if fcm_code:
        error["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return {"error": error}


UNREGISTERED = fcm_error(
    404, "NOT_FOUND", "Requested entity was not found.", fcm_code="UNREGISTERED"
)
UNAUTHENTICATED = fcm_error(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential.",
)
QUOTA_EXCEEDED = fcm_error(
    429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric.", fcm_code="QUOTA_EXCEEDED"
)
UNAVAILABLE = fcm_error(
    503, "UNAVAILABLE", "The service is currently unavailable.", fcm_code="UNAVAILABLE"
)
INTERNAL = fcm_error(500, "INTERNAL", "Internal error encountered.", fcm_code="INTERNAL")
INVALID_TOKEN = fcm_error(
    400,
    "INVALID_ARGUMENT",
    "The registration token is not a valid FCM registration token",
    fcm_code="INVALID_ARGUMENT",
)
SENDER_ID_MISMATCH = fcm_error(
    403, "PERMISSION_DENIED", "SenderId mismatch", fcm_code="SENDER_ID_MISMATCH"
)
# A payload error: INVALID_ARGUMENT with a google.rpc.BadRequest detail, the token is fine.
INVALID_PAYLOAD = {
    "error": {
        "code": 400,
        "message": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {
                        "field": "message.data[0].value",
                        "description": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
                    }
                ],
            }
        ],
    }
}


@dataclass
class FcmState:
    project_id: str
    client_email: str
    public_key_pem: str
    token_uri: str
    dead_tokens: set[str] = field(default_factory=set)
    valid_access: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)  # the verified claims
    sends: int = 0
    token_attempts: int = 0  # every token request, refused ones too
    token_unavailable: bool = False  # the token endpoint answers 503 with Retry-After: 3
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working: the next send answers 401."""
        self.valid_access.clear()


class FcmFake(FakeGateway):
    state: FcmState


def fcm_fake(
    *, project_id: str, client_email: str, public_key_pem: str, token_uri: str
) -> tuple[FcmFake, Starlette]:
    state = FcmState(project_id, client_email, public_key_pem, token_uri)

    def success(rec: Recorded) -> Response:
        auth = rec.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in state.valid_access:
            return JSONResponse(UNAUTHENTICATED, status_code=401)
        token = (rec.body or {}).get("message", {}).get("token")
        if not token:
            return JSONResponse(
                fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    "Recipient of the message is not set.",
                    fcm_code="INVALID_ARGUMENT",
                ),
                status_code=400,
            )
        if token in state.dead_tokens:
            return JSONResponse(UNREGISTERED, status_code=404)
        return JSONResponse({"name": f"projects/{state.project_id}/messages/{next(state.counter)}"})

    fake = FcmFake(success)
    fake.state = state

    async def token(request: Request) -> Response:
        state.token_attempts += 1
        if state.token_unavailable:
            return JSONResponse(
                {"error": "temporarily_unavailable"}, status_code=503, headers={"Retry-After": "3"}
            )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                state.public_key_pem,
                algorithms=["RS256"],
                audience=state.token_uri,
                issuer=state.client_email,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                status_code=400,
            )
        if claims.get("scope") != SCOPE or int(claims["exp"]) - int(claims["iat"]) > 3600:
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "Invalid claims."},
                status_code=400,
            )
        if abs(int(claims["iat"]) - time.time()) > 300:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        state.token_requests.append(claims)
        access = f"ya29.fake-access-{len(state.token_requests)}"
        state.valid_access.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    async def send(request: Request) -> Response:
        if request.path_params["project"] != state.project_id:
            return JSONResponse(
                fcm_error(404, "NOT_FOUND", "Requested entity was not found."), status_code=404
            )
        state.sends += 1
        return await fake.answer(request)

    app = Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/v1/projects/{project}/messages:send", send, methods=["POST"]),
        ]
    )
    return fake, app
