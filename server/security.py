"""Security headers on every HTTP response, as a pure ASGI middleware (it only rewrites the
response's start message, so streamed exports stay streamed and a plain request pays for a
few list operations, not for BaseHTTPMiddleware's extra task and queue).

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
- `Content-Security-Policy`: a JSON API loads nothing, so `default-src 'none'` and no framing;
  a response that sets its own keeps it (GraphiQL in development, see server/ide.py; a
  served file's sandbox).
- `Cache-Control: no-store` on the answer to any request carrying credentials (replacing what
  the endpoint said), and on every other answer that does not say otherwise: tokens, personal
  data and figures are nobody's to keep.
- `Strict-Transport-Security` when HSTS_MAX_AGE is above zero (production's default: a
  year) and the request came over HTTPS: directly, or from a TLS proxy whose
  X-Forwarded-Proto uvicorn trusts (`serve --proxy-headers`). Browsers ignore it over HTTP.

It wraps the whole application, outside Starlette's error middleware, so 404s, 405s and the
500 page carry the headers too."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_BASE = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CSP = b"content-security-policy"
_CACHE = b"cache-control"
_NO_STORE = b"no-store"
_HSTS = b"strict-transport-security"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts_max_age: int = 0) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age}".encode() if hsts_max_age > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credentials = any(name in (b"authorization", b"cookie") for name, _ in scope["headers"])
        hsts = self.hsts if scope.get("scheme") == "https" else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers", ()), credentials, hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secured(raw: object, credentials: bool, hsts: bytes | None) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = list(raw)  # type: ignore[call-overload]
    present = {name.lower() for name, _ in headers}
    out = [h for h in headers if not (credentials and h[0].lower() == _CACHE)]
    out += [h for h in _BASE if h[0] not in present]
    if _CSP not in present:
        out.append((_CSP, API_CSP.encode()))
    if credentials or _CACHE not in present:
        out.append((_CACHE, _NO_STORE))
    if hsts is not None and _HSTS not in present:
        out.append((_HSTS, hsts))
    return out
