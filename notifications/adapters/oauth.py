"""A cached OAuth2 access token, shared by the FCM and Huawei adapters.

Both gateways want a bearer token that lives about an hour. Fetching one per push would double
the requests and hit the token endpoint's own limits, so the adapter keeps one token, reuses it
until shortly before it expires, and refreshes it when the gateway rejects it. Concurrent sends
share one fetch (a lock), and a refresh after a rejection is skipped when another send already
replaced the rejected token.

Token values and client secrets are never logged and never put into error texts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from notifications.adapters.http import (
    TransportFailure,
    json_body,
    outcome_for_status,
    request,
    retry_after_of,
)
from notifications.gateway import Outcome

log = logging.getLogger(__name__)

# Refresh this long before the endpoint's `expires_in` runs out: a token that expires while a
# request is in flight costs a 401 and a resend.
EXPIRY_MARGIN_SECONDS = 60.0
# After a failed fetch, sends waiting for a token get the same failure for this long (or the
# endpoint's Retry-After, up to a minute) instead of each asking the failing endpoint again.
FAILURE_HOLD_SECONDS = 5.0
MAX_FAILURE_HOLD_SECONDS = 60.0


class TokenError(Exception):
    """The token endpoint refused or could not be reached. `outcome` says what that means for the
    messages waiting on the token: RETRY (network, 429, 5xx) or PERMANENT (bad credentials)."""

    def __init__(self, outcome: Outcome, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_in: float  # seconds, as the endpoint said


class TokenCache:
    """One access token, fetched lazily by `fetch` and reused until `margin` seconds before it
    expires."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        label: str = "",
        margin: float = EXPIRY_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._label = label
        self._margin = margin
        self._clock = clock
        self._value: str | None = None
        self._expires_at = 0.0
        self._failure: TokenError | None = None
        self._failed_until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched: for metrics and tests

    def _fresh(self) -> str | None:
        if self._value is not None and self._clock() < self._expires_at:
            return self._value
        return None

    async def get(self) -> str:
        """The cached token, or a new one when there is none or it is about to expire."""
        value = self._fresh()
        if value is not None:
            return value
        async with self._lock:
            # Another send may have fetched while this one waited for the lock.
            return self._fresh() or await self._renew()

    async def refresh(self, rejected: str) -> str:
        """A new token after the gateway rejected `rejected`; when a concurrent send has already
        replaced it, that newer token is returned without another fetch."""
        async with self._lock:
            if self._value is not None and self._value != rejected:
                fresh = self._fresh()
                if fresh is not None:
                    return fresh
            return await self._renew()

    def invalidate(self) -> None:
        self._value = None
        self._expires_at = 0.0

    async def _renew(self) -> str:
        self.invalidate()
        if self._failure is not None and self._clock() < self._failed_until:
            raise self._failure
        try:
            token = await self._fetch()
        except TokenError as exc:
            hold = min(exc.retry_after or FAILURE_HOLD_SECONDS, MAX_FAILURE_HOLD_SECONDS)
            self._failure, self._failed_until = exc, self._clock() + hold
            raise
        self._failure = None
        self.fetches += 1
        self._value = token.value
        # A token shorter-lived than the margin is still used once rather than never.
        self._expires_at = self._clock() + max(token.expires_in - self._margin, 0.0)
        log.debug("%s access token fetched, valid for %.0f s", self._label, token.expires_in)
        return token.value


async def request_token(
    client: httpx.AsyncClient, url: str, form: Mapping[str, str], *, label: str
) -> AccessToken:
    """POST an OAuth2 token request (form-encoded) and read `access_token` / `expires_in`.

    Raises `TokenError`: RETRY for transport errors, 408/425/429 and 5xx (with Retry-After),
    PERMANENT for other refusals (wrong credentials will not fix themselves). The error text
    carries the endpoint's short `error` code only, never the form or a token."""
    resp = await request(
        client, "POST", url, data=dict(form), headers={"Accept": "application/json"}
    )
    if isinstance(resp, TransportFailure):
        raise TokenError(Outcome.RETRY, f"{label} token: {resp.error}")
    if resp.status_code != 200:
        code = _oauth_error_code(json_body(resp))
        error = f"{label} token: HTTP {resp.status_code}" + (f" {code}" if code else "")
        outcome = outcome_for_status(resp.status_code)
        if outcome is Outcome.DELIVERED:  # another 2xx is no token either
            outcome = Outcome.RETRY
        retry_after = retry_after_of(resp) if outcome is Outcome.RETRY else None
        raise TokenError(outcome, error, retry_after)
    body = json_body(resp)
    value = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise TokenError(Outcome.RETRY, f"{label} token: no access_token in the answer")
    try:
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    return AccessToken(value, expires_in)


def _oauth_error_code(body: Any) -> str:
    # RFC 6749 section 5.2: {"error": "invalid_grant", ...}; Huawei answers a numeric `error`
    # with `sub_error`. Only the short codes are kept; descriptions may echo request fields.
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("error", "sub_error") if k in body]
    return "/".join(p[:60] for p in parts)
