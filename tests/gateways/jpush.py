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
  (the documented names; the window's remaining calls count down per request);
- with `enforce_quota`, `quota` calls per window of `window_seconds` (JPush's is one minute)
  and beyond them 429 `{"error": {"code": 2002, "message": "Rate limit exceeded"}}` until the
  window resets (`X-Rate-Limit-Reset` the seconds left)."""

from __future__ import annotations

import base64
import itertools
import math
import time
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
    enforce_quota: bool = False,
    window_seconds: float = 60.0,
) -> tuple[FakeGateway, Starlette]:
    dead = set(dead_ids)
    expected = "Basic " + base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
    msg_ids = itertools.count(18100000000000001)
    state = {"remaining": float(quota), "window_end": 0.0}

    def window() -> int:
        """Seconds until the window resets (a new window opens when the last one is over)."""
        if not enforce_quota:
            return reset_seconds
        now = time.monotonic()
        if now >= state["window_end"]:
            state["window_end"] = now + window_seconds
            state["remaining"] = quota
        return max(1, math.ceil(state["window_end"] - now))

    def rate_headers(count: bool = True) -> dict[str, str]:
        reset = window()
        if count:
            state["remaining"] = max(0, state["remaining"] - 1)
        return {
            "X-Rate-Limit-Quota": str(quota),
            "X-Rate-Limit-Remaining": str(int(state["remaining"])),
            "X-Rate-Limit-Reset": str(reset),
        }

    def error(status: int, code: int, message: str, **extra: object) -> Response:
        body = {**extra, "error": {"code": code, "message": message}}
        return JSONResponse(body, status_code=status, headers=rate_headers())

    def success(rec: Recorded) -> Response:
        if rec.headers.get("authorization") != expected:
            return error(401, 1004, "Authen failed")
        if enforce_quota and window() and state["remaining"] <= 0:  # window(): roll it first
            body = {"error": {"code": 2002, "message": "Rate limit exceeded"}}
            return JSONResponse(body, status_code=429, headers=rate_headers(count=False))
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
