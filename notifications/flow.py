"""Flow control per gateway (docs/design.md section 9.5): token buckets that pace the
dispatcher's calls, a circuit breaker that stops it from hammering a gateway that is down, and
holds while a gateway's call quota is spent.

- The message bucket counts **messages** (device tokens) per second: a gorush call carrying 500
  tokens costs 500, an FCM call costs 1, so one number means the same thing for every gateway.
  The dispatcher awaits `acquire(len(call))` before each call; a call larger than the burst may
  overdraw the bucket (the debt is paid by waiting before the next call), so the long-run rate
  holds whatever the batch sizes.
- The call bucket counts **calls** per minute, for gateways whose quota is in calls whatever
  they carry (JPush: 600 calls a minute on the free plan, up to 1,000 ids each). Its burst is
  one call, so no minute ever sees more than the quota and one.
- The breaker counts every call: it opens after `threshold` consecutive calls that failed as a
  whole (every result RETRY with no `Retry-After`: connection errors, timeouts, 5xx, a refused
  account). While open the dispatcher does not claim rows routed to that gateway; after
  `cooldown` seconds it is half-open and lets exactly one call through: success closes it,
  failure opens it for another cooldown. A gateway that asks us to slow down (429 or 503 with
  `Retry-After`) is alive and answering: the rows wait as asked, the breaker is not involved.
  The breaker's clock is whatever the caller passes as `now` (the dispatcher's `now`, in epoch
  seconds), so tests drive it without sleeping; `adopt` aligns it with what other processes
  shared (notifications.dispatcher keeps that in the database).

Pure: no database, no HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from notifications.gateway import Outcome, SendResult

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Limit:
    """Pacing of one gateway. `rate` in messages per second (None: unlimited); `burst` the most
    sent at once after an idle spell (default: one second's worth); `concurrency` the calls in
    flight at once within a dispatcher batch; `calls_per_minute` the calls it may make a minute
    (None: unlimited)."""

    rate: float | None = 500.0
    burst: float | None = None
    concurrency: int = 4
    calls_per_minute: float | None = None


# Hosted gateways get a conservative pace; the self-hosted relay and the log adapter more.
DEFAULT_LIMIT = Limit(rate=500.0)
# JPush's push API allows 600 calls a minute on its free plan (server_overview.md, "API 频率
# 控制"); paid plans get more (PUSH_CALL_LIMITS).
JPUSH_CALLS_PER_MINUTE = 600.0
DEFAULT_LIMITS: dict[str, Limit] = {
    "log": Limit(rate=None),
    "jpush": Limit(rate=500.0, calls_per_minute=JPUSH_CALLS_PER_MINUTE),
    "gorush": Limit(rate=5000.0),
    "fcm": Limit(rate=500.0, concurrency=50),  # one token per call: many small calls in flight
}
BREAKER_THRESHOLD = 5
EPSILON = 1e-6  # tokens
BREAKER_COOLDOWN_SECONDS = 30.0


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, 1.0))
        if self.burst <= 0:
            raise ValueError("burst must be positive")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = asyncio.Lock()  # waiters are served in order

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    def wait(self, n: float = 1.0) -> float:
        """The seconds `acquire(n)` would wait now, with nobody ahead of it."""
        need = min(float(n), self.burst)
        return max(0.0, (need - self.tokens) / self.rate)

    async def acquire(self, n: float = 1.0) -> float:
        """Wait until `n` messages may go; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            need = min(float(n), self.burst)  # a call above the burst overdraws
            while True:
                self._refill()
                if self._tokens + EPSILON >= need:  # rounding must not make it spin
                    self._tokens -= n
                    return waited
                pause = (need - self._tokens) / self.rate
                await self._sleep(pause)
                waited += pause


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    def __init__(
        self, threshold: int = BREAKER_THRESHOLD, cooldown: float = BREAKER_COOLDOWN_SECONDS
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.cooldown = float(cooldown)
        self.failures = 0  # consecutive failed calls
        self.opened_at: float | None = None
        self._probe_since: float | None = None  # a half-open trial call in flight

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now < self.opened_at + self.cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def reopens_at(self) -> float | None:
        return None if self.opened_at is None else self.opened_at + self.cooldown

    def blocked(self, now: float) -> bool:
        """True while open: rows for this gateway are not even claimed."""
        return self.state(now) is BreakerState.OPEN

    def allow(self, now: float) -> bool:
        """May a call go now? Closed: yes. Open: no. Half-open: one trial call at a time (a trial
        never reported back is presumed lost after a cooldown)."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        if self._probe_since is not None and now < self._probe_since + self.cooldown:
            return False
        self._probe_since = now
        return True

    def record(self, ok: bool, now: float) -> None:
        """The outcome of a call that `allow` let through."""
        self._probe_since = None
        if ok:
            self.failures = 0
            self.opened_at = None
            return
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = now  # (re)open: a failed trial starts another cooldown

    def adopt(self, shared_open_until: float | None, now: float) -> None:
        """Align with what the dispatching processes share: an opening elsewhere opens this one
        too (until the later of both); none shared while this one's cooldown is over means
        another process's trial call closed it (an opening here is always shared)."""
        if shared_open_until is not None:
            opened = shared_open_until - self.cooldown
            if self.opened_at is None or opened > self.opened_at:
                self.opened_at = opened
                self._probe_since = None
            return
        if self.state(now) is BreakerState.HALF_OPEN and self._probe_since is None:
            self.failures = 0
            self.opened_at = None


def is_gateway_failure(results: Iterable[SendResult]) -> bool:
    """Did a call fail as a whole (what the breaker counts)? Every result RETRY and none with a
    `Retry-After`: the gateway was unreachable, timed out or answered 5xx without guidance."""
    seen = False
    for r in results:
        seen = True
        if r.outcome is not Outcome.RETRY or r.retry_after is not None:
            return False
    return seen


class Flow:
    """The buckets and breakers of every gateway, made on first use."""

    def __init__(
        self,
        limits: Mapping[str, Limit] | None = None,
        *,
        default: Limit = DEFAULT_LIMIT,
        breaker_threshold: int = BREAKER_THRESHOLD,
        breaker_cooldown: float = BREAKER_COOLDOWN_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.default = default
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket | None] = {}
        self._call_buckets: dict[str, TokenBucket | None] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._holds: dict[str, float] = {}  # no calls before (epoch seconds, like the breaker)

    def clock(self) -> float:
        """The monotonic clock the buckets run on (the dispatcher times its rounds with it)."""
        return self._clock()

    def limit(self, gateway: str) -> Limit:
        return self.limits.get(gateway, self.default)

    def bucket(self, gateway: str) -> TokenBucket | None:
        if gateway not in self._buckets:
            lim = self.limit(gateway)
            self._buckets[gateway] = (
                None
                if lim.rate is None
                else TokenBucket(lim.rate, lim.burst, clock=self._clock, sleep=self._sleep)
            )
        return self._buckets[gateway]

    def call_bucket(self, gateway: str) -> TokenBucket | None:
        if gateway not in self._call_buckets:
            per_minute = self.limit(gateway).calls_per_minute
            self._call_buckets[gateway] = (
                None
                if per_minute is None
                else TokenBucket(per_minute / 60, 1, clock=self._clock, sleep=self._sleep)
            )
        return self._call_buckets[gateway]

    def breaker(self, gateway: str) -> CircuitBreaker:
        if gateway not in self._breakers:
            self._breakers[gateway] = CircuitBreaker(self.breaker_threshold, self.breaker_cooldown)
        return self._breakers[gateway]

    def pace_wait(self, gateway: str, messages: int) -> float:
        """How long `pace` would wait now for a call of `messages`."""
        waits = [0.0]
        for bucket, n in ((self.bucket(gateway), messages), (self.call_bucket(gateway), 1)):
            if bucket is not None:
                waits.append(bucket.wait(n))
        return max(waits)

    async def pace(self, gateway: str, messages: int) -> float:
        """Wait until one call of `messages` may go: the messages' and the calls' bucket."""
        waited = 0.0
        for bucket, n in ((self.bucket(gateway), messages), (self.call_bucket(gateway), 1)):
            if bucket is not None:
                waited += await bucket.acquire(n)
        return waited

    def hold(self, gateway: str, until: float) -> None:
        """No calls to `gateway` before `until` (its quota is spent until then)."""
        self._holds[gateway] = max(until, self._holds.get(gateway, 0.0))

    def held(self, gateway: str, now: float) -> bool:
        return self._holds.get(gateway, 0.0) > now

    def open_gateways(self, now: float) -> set[str]:
        return {name for name, b in self._breakers.items() if b.blocked(now)}


def parse_rate_limits(text: str, setting: str = "PUSH_RATE_LIMITS") -> dict[str, float | None]:
    """`PUSH_RATE_LIMITS`, e.g. "jpush=300,gorush=8000,webhook=off": messages per second per
    gateway; "off" (or 0) for unlimited. `PUSH_CALL_LIMITS` reads the same way (calls per
    minute)."""
    out: dict[str, float | None] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip().lower()
        if not sep or not name or not value:
            raise ValueError(f"{setting}: expected provider=rate, got {part.strip()!r}")
        if value in ("off", "none", "unlimited", "0"):
            out[name] = None
            continue
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"{setting}: {name} rate {value!r} is not a number") from None
        if rate < 0:
            raise ValueError(f"{setting}: {name} rate must not be negative")
        out[name] = rate
    return out


def limits_with_rates(
    rates: Mapping[str, float | None], calls: Mapping[str, float | None] | None = None
) -> dict[str, Limit]:
    """The default limits with the given rates in messages per second (and a burst of one
    second's worth) and calls per minute."""
    out: dict[str, Limit] = {}
    calls = calls or {}
    for name in {*rates, *calls}:
        base = DEFAULT_LIMITS.get(name, DEFAULT_LIMIT)
        out[name] = Limit(
            rate=rates.get(name, base.rate),
            burst=None if name in rates else base.burst,
            concurrency=base.concurrency,
            calls_per_minute=calls.get(name, base.calls_per_minute),
        )
    return out
