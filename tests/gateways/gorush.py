"""A loopback gorush (`POST /api/push`) in sync mode (`core.sync: true`), answering as gorush's
README and source describe:

- a missing or empty `notifications` field: 400 `{"code": 400, "message": "Missing
  notifications field."}` / "Notifications field is empty.";
- more than `max_notification` notifications: 400 "Number of notifications(N) over limit(M)";
- success: 200 `{"counts": <tokens>, "logs": [...], "success": "ok"}`, one `failed-push` log
  per token listed in `dead` (token -> upstream error, e.g. "NotRegistered", "BadDeviceToken")
  or in `failing` (token -> any other error), with the token masked like gorush's
  `log.hide_token` when `hide_token` is on."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifications.adapters.gorush import hide_token as gorush_hide_token
from tests.gateways.harness import FakeGateway, Recorded

PLATFORM_NAMES = {1: "ios", 2: "android", 3: "huawei"}


def gorush_fake(
    *,
    dead: Mapping[str, str] | None = None,
    failing: Mapping[str, str] | None = None,
    hide_token: bool = False,
    max_notification: int = 100,
) -> tuple[FakeGateway, Starlette]:
    failures = {**(failing or {}), **(dead or {})}

    def abort(message: str) -> Response:
        return JSONResponse({"code": 400, "message": message}, status_code=400)

    def success(rec: Recorded) -> Response:
        body = rec.body if isinstance(rec.body, dict) else {}
        notifications = body.get("notifications")
        if not isinstance(notifications, list):
            return abort("Missing notifications field.")
        if not notifications:
            return abort("Notifications field is empty.")
        if len(notifications) > max_notification:
            return abort(
                f"Number of notifications({len(notifications)}) over limit({max_notification})"
            )
        counts = 0
        logs = []
        for n in notifications:
            tokens = n.get("tokens") or []
            counts += len(tokens)
            for token in tokens:
                if token in failures:
                    entry = {
                        "type": "failed-push",
                        "platform": PLATFORM_NAMES.get(n.get("platform"), ""),
                        "token": gorush_hide_token(token) if hide_token else token,
                        "message": n.get("message", ""),
                        "error": failures[token],
                    }
                    if n.get("notif_id"):
                        entry["notif_id"] = n["notif_id"]
                    logs.append(entry)
        return JSONResponse({"counts": counts, "logs": logs, "success": "ok"})

    gateway = FakeGateway(success)
    app = Starlette(routes=[Route("/api/push", gateway.answer, methods=["POST"])])
    return gateway, app
