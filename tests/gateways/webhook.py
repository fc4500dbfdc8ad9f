"""A loopback receiver of the generic push webhook: it checks `X-Desk-Signature` over the raw
body with `verify_signature` (401 `{"error": "bad signature"}` when it does not verify) and
answers 200 `{"id": "wh-<n>", "accepted": <messages>}`. It accepts any path, since the
webhook URL is the whole address (PUSH_WEBHOOK_URL or PUSH_BASE_URL)."""

from __future__ import annotations

import contextvars
import itertools

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifications.adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.gateways.harness import FakeGateway, Recorded

# The harness hands `success` the parsed body only; the signature covers the raw bytes, so
# the route checks it and passes the verdict along in the request's own context.
_signature_ok: contextvars.ContextVar[bool] = contextvars.ContextVar("signature_ok", default=False)


def webhook_fake(secret: str) -> tuple[FakeGateway, Starlette]:
    ids = itertools.count(1)

    def success(rec: Recorded) -> Response:
        if not _signature_ok.get():
            return JSONResponse({"error": "bad signature"}, status_code=401)
        messages = rec.body.get("messages") if isinstance(rec.body, dict) else None
        if not isinstance(messages, list):
            return JSONResponse({"error": "messages missing"}, status_code=400)
        return JSONResponse({"id": f"wh-{next(ids)}", "accepted": len(messages)})

    gateway = FakeGateway(success)

    async def receive(request: Request) -> Response:
        raw = await request.body()  # cached by Starlette: the harness reads it again
        _signature_ok.set(
            verify_signature(
                secret,
                request.headers.get(TIMESTAMP_HEADER),
                raw,
                request.headers.get(SIGNATURE_HEADER),
            )
        )
        return await gateway.answer(request)

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
    return gateway, app
