"""A loopback gorush, answering as gorush's README and source (v1.22) describe:

- `POST /api/push`: a missing or empty `notifications` field: 400 `{"code": 400, "message":
  "Missing notifications field."}` / "Notifications field is empty."; more than
  `max_notification` notifications: 400 "Number of notifications(N) over limit(M)";
  otherwise 200 `{"counts": <tokens>, "logs": [...], "success": "ok"}`. Notifications to a
  platform not in `platforms` are dropped unsent and uncounted (router
  filterEnabledNotifications).
- In sync mode (`sync=True` with the local queue engine) `logs` holds one `failed-push` entry
  per token listed in `dead` (token -> upstream error, e.g. FCM_UNREGISTERED) or in `failing`
  (token -> any other error), with the token masked like gorush's `log.hide_token` when
  `hide_token` is on. In async mode (`sync=False`) gorush queues the notifications and answers
  at once: `logs` is always empty. Another `engine` turns sync off at the first push, as
  gorush's handleNotification does.
- `GET /api/config`: the YAML config (core.sync, queue.engine, each platform's `enabled`),
  rendered like gin's YAML with the secrets redacted; `serve_config=False` answers 404 as a
  proxy that only passes /api/push would. Config reads are counted in `config_reads`, not in
  `requests`, and answer 503 while the fake is `down`."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from notifications.adapters.gorush import PLATFORM_NAMES
from notifications.adapters.gorush import hide_token as gorush_hide_token
from tests.gateways.harness import FakeGateway, Recorded

# What gorush >= 1.18 relays as a token's `error` (see notifications.adapters.gorush).
FCM_UNREGISTERED = "Requested entity was not found."
FCM_INVALID_TOKEN = "The registration token is not a valid FCM registration token"
FCM_SENDER_MISMATCH = "SenderId mismatch"
APNS_UNREGISTERED = "Unregistered"
APNS_BAD_TOKEN = "BadDeviceToken"
APNS_NOT_FOR_TOPIC = "DeviceTokenNotForTopic"


class GorushFake(FakeGateway):
    """A FakeGateway with gorush's config, which a test may change while it runs."""

    sync: bool
    engine: str
    platforms: set[int]
    serve_config: bool
    config_reads: int

    async def config(self, request: Request) -> Response:
        self.config_reads += 1
        if self.down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        if not self.serve_config:
            return PlainTextResponse("404 page not found", status_code=404)
        return Response(self.config_yaml(), media_type="application/yaml; charset=utf-8")

    def config_yaml(self) -> str:
        def yes(on: bool) -> str:
            return "true" if on else "false"

        ios, android, huawei = (yes(p in self.platforms) for p in (1, 2, 3))
        return f"""core:
  enabled: true
  address: ""
  port: "8088"
  max_notification: 100
  sync: {yes(self.sync)}
  feedback_hook_url: ""
  feedback_header: []
api:
  push_uri: /api/push
  config_uri: /api/config
android:
  enabled: {android}
  key_path: '[REDACTED]'
  max_retry: 0
huawei:
  enabled: {huawei}
  appsecret: '[REDACTED]'
ios:
  enabled: {ios}
  key_path: '[REDACTED]'
  production: false
queue:
  engine: {self.engine}
  nsq:
    addr: 127.0.0.1:4150
    enabled: false
  redis:
    addr: 127.0.0.1:6379
log:
  format: string
  hide_token: true
"""


def gorush_fake(
    *,
    dead: Mapping[str, str] | None = None,
    failing: Mapping[str, str] | None = None,
    hide_token: bool = False,
    max_notification: int = 100,
    sync: bool = True,
    engine: str = "local",
    platforms: tuple[int, ...] = (1, 2, 3),
    serve_config: bool = True,
) -> tuple[GorushFake, Starlette]:
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
        if fake.engine != "local":
            fake.sync = False
        counts = 0
        logs = []
        for n in notifications:
            if n.get("platform") not in fake.platforms:
                continue
            tokens = n.get("tokens") or []
            counts += len(tokens)
            for token in tokens if fake.sync else ():
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

    fake = GorushFake(success)
    fake.sync, fake.engine, fake.platforms = sync, engine, set(platforms)
    fake.serve_config, fake.config_reads = serve_config, 0
    app = Starlette(
        routes=[
            Route("/api/push", fake.answer, methods=["POST"]),
            Route("/api/config", fake.config, methods=["GET"]),
        ]
    )
    return fake, app
