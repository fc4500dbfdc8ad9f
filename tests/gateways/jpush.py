"""A loopback JPush REST API v3 (`POST /v3/push`) answering as jpush-docs describes
(zh/jpush/server/push/rest_api_v3_push.md, server_overview.md):

- Basic auth base64(appKey:masterSecret), else 401 `{"error": {"code": 1004, "message":
  "Authen failed"}}`;
- more than 1000 registration ids: 400 code 1003 (参数值不合法);
- every id unknown: 400 `{"msg_id": ..., "error": {"code": 1011, "message": "cannot find user
  by this audience or has been inactive for more than 255 days"}}`; a call with at least one
  known id succeeds (JPush reports no per-id results);
- success: 200 `{"sendno": "<options.sendno>", "msg_id": "<id>"}`;
- every answer carries `X-Rate-Limit-Quota`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset`
  (the documented names; the window's remaining calls count down per request)."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateways.harness import FakeGateway, Recorded

NO_TARGET_MESSAGE = "cannot find user by this audience or has been inactive for more than 255 days"


def jpush_fake(
    app_key: str,
    master_secret: str,
    *,
    dead_ids: Iterable[str] = (),
    quota: int = 600,
    reset_seconds: int = 42,
) -> tuple[FakeGateway, Starlette]:
    dead = set(dead_ids)
    expected = "Basic " + base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
    msg_ids = itertools.count(18100000000000001)
    state = {"remaining": quota}

    def rate_headers() -> dict[str, str]:
        state["remaining"] = max(0, state["remaining"] - 1)
        return {
            "X-Rate-Limit-Quota": str(quota),
            "X-Rate-Limit-Remaining": str(state["remaining"]),
            "X-Rate-Limit-Reset": str(reset_seconds),
        }

    def error(status: int, code: int, message: str, **extra: object) -> Response:
        body = {**extra, "error": {"code": code, "message": message}}
        return JSONResponse(body, status_code=status, headers=rate_headers())

    def success(rec: Recorded) -> Response:
        if rec.headers.get("authorization") != expected:
            return error(401, 1004, "Authen failed")
        body = rec.body if isinstance(rec.body, dict) else {}
        audience = body.get("audience")
        ids = audience.get("registration_id") if isinstance(audience, dict) else None
        if not body.get("platform") or not body.get("notification") or not ids:
            return error(400, 1002, "Missing parameter")
        if len(ids) > 1000:
            return error(400, 1003, "registration_id value exceeds the maximum of 1000")
        if all(i in dead for i in ids):
            return error(400, 1011, NO_TARGET_MESSAGE, msg_id=str(next(msg_ids)))
        sendno = str((body.get("options") or {}).get("sendno", 0))
        return JSONResponse(
            {"sendno": sendno, "msg_id": str(next(msg_ids))}, headers=rate_headers()
        )

    gateway = FakeGateway(success)
    app = Starlette(routes=[Route("/v3/push", gateway.answer, methods=["POST"])])
    return gateway, app
