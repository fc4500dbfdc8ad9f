"""What every HTTP adapter shares: one request that never raises for network trouble, the
mapping of status codes and transport errors to outcomes, `Retry-After` parsing, scrubbing
device tokens out of gateway text, and the check that an enabled gateway is configured.

The outcome rules are docs/design.md section 9.5: 2xx delivered; 408/425/429 and 5xx retryable (with
the gateway's `Retry-After`); any other 4xx permanent. A transport error is always retryable,
and its code says whether the gateway may have received the request: nothing was sent on
"connect", "connect_timeout" and "pool_timeout"; "timeout", "read", "protocol" and the rest
may follow a delivered push (the app drops repeats by notification id)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from notifications.gateway import Outcome, PushMessage, SendResult, mask_token

T = TypeVar("T")

# 408 Request Timeout and 425 Too Early say "try again", not "this message is wrong".
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_ERROR_CHARS = 300  # the outbox keeps the error; a gateway's HTML error page is not useful


@dataclass(frozen=True)
class TransportFailure:
    """The request got no HTTP answer; `error` is one of the codes of `transport_error`."""

    error: str


def transport_error(exc: httpx.RequestError) -> str:
    """A short, stable code for an httpx request error (httpx's documented exception tree).
    Specific classes first: ConnectTimeout is a TimeoutException, not a ConnectError."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout"  # our own pool was full; nothing left this process
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return "timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"  # e.g. the server closed the connection without answering
    if isinstance(exc, httpx.ReadError):
        return "read"
    if isinstance(exc, httpx.WriteError):
        return "write"
    return "transport"


async def request(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response | TransportFailure:
    """`client.request` that returns a `TransportFailure` instead of raising: an adapter must
    map network trouble to RETRY, never raise it to the dispatcher."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.RequestError as exc:
        return TransportFailure(transport_error(exc))


def outcome_for_status(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in RETRYABLE_4XX or status >= 500:
        return Outcome.RETRY
    if 400 <= status < 500:
        return Outcome.PERMANENT
    # 1xx/3xx: a redirect we do not follow is a misconfigured address, which an operator can
    # fix; retrying keeps the messages instead of killing them.
    return Outcome.RETRY


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` (RFC 9110 10.2.3): delay-seconds or an HTTP-date. Returns seconds from
    now (never negative), or None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 850/asctime forms carry no zone: they mean GMT
            when = when.replace(tzinfo=UTC)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_after_of(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or None for an empty or non-JSON body (proxies answer HTML)."""
    try:
        return response.json()
    except ValueError:
        return None


def every(
    messages: Iterable[PushMessage],
    outcome: Outcome,
    *,
    gateway_id: str | None = None,
    error: str | None = None,
    retry_after: float | None = None,
) -> list[SendResult]:
    """The same result for each message (a whole call succeeded or failed)."""
    return [
        SendResult(
            m.message_id, outcome, gateway_id=gateway_id, error=error, retry_after=retry_after
        )
        for m in messages
    ]


def transport_results(
    messages: Iterable[PushMessage], failure: TransportFailure
) -> list[SendResult]:
    return every(messages, Outcome.RETRY, error=failure.error)


def scrub(text: str, tokens: Iterable[str]) -> str:
    """Gateway text kept on the outbox row with every device token masked (gorush's error
    strings embed APNs URLs with the token in them) and cut to a sane length."""
    for token in sorted(set(tokens), key=len, reverse=True):
        if token and token in text:
            text = text.replace(token, mask_token(token))
    return text[:MAX_ERROR_CHARS]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def require_setting(provider: str, env_var: str, value: str | None) -> str:
    """The value of a setting an enabled gateway needs; the error names the variable only,
    never a value (the others may be secrets)."""
    if not value or not value.strip():
        raise ValueError(f"push provider {provider!r} is enabled but {env_var} is not set")
    return value.strip()


def gateway_url(provider: str, env_var: str, base_url: str | None, default: str | None) -> str:
    """The address an adapter talks to: PUSH_BASE_URL when set (a relay, or the loopback
    fakes in tests), else the provider's own address. Trailing slashes are dropped so paths
    join cleanly."""
    if base_url:
        env_var = "PUSH_BASE_URL"
    url = require_setting(provider, env_var, base_url or default)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"push provider {provider!r}: {env_var} must be an http(s) URL")
    return url.rstrip("/")


def same_content_by_token(batch: list[PushMessage]) -> list[dict[str, list[PushMessage]]]:
    """Messages with identical content to one platform, each group a map token -> messages (a
    batch may hold the same device twice), in first-seen order: what one multicast call of
    JPush or gorush can carry. The notification id is part of the content."""
    groups: dict[tuple[Any, ...], dict[str, list[PushMessage]]] = {}
    for msg in batch:
        key = (
            msg.platform,
            msg.title,
            msg.body,
            msg.collapse_key,
            msg.badge,
            tuple(sorted(msg.data.items())),
        )
        groups.setdefault(key, {}).setdefault(msg.token, []).append(msg)
    return list(groups.values())
