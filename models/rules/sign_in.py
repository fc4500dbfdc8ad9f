"""When a sign-in attempt is held back, without letting a stranger lock an account's owner out.

Three limits, all kept in the database (models.ops.auth) so every server process sees them:

- per (username tried, client address): a few free failures, then each further attempt waits
  a delay that doubles with every failure, up to a cap. It slows one guesser on one account
  and touches nobody else: the owner's phone is another address.
- per client address over every username: a fixed window with a cap on failures. Past it the
  address is refused outright (TOO_MANY_ATTEMPTS), which says nothing about any account.
- per username over every address (a guesser with many addresses): past a cap of recent
  failures, addresses that have not signed in to that account lately are held back; an
  address that has is not, so the owner's usual network still gets in.

Usernames are keyed as tried, so an unknown name is held back exactly like a real one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Why an attempt was held back: the audit log's code (the caller reads INVALID_CREDENTIALS).
LOGIN_DELAYED = "LOGIN_DELAYED"
ACCOUNT_THROTTLED = "ACCOUNT_THROTTLED"
MAX_KEY = 64  # characters of a username tried or an address kept as a key


@dataclass(frozen=True)
class LoginLimits:
    free_failures: int = 5  # per (username, address) before the delays start
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    # A streak of failures whose last one is older than this starts over.
    streak_forgotten_after: timedelta = timedelta(days=1)
    address_max_failures: int = 20  # per address, over all usernames, within the window
    address_window: timedelta = timedelta(minutes=15)
    account_max_failures: int = 50  # per username over all addresses; 0: no such limit
    account_window: timedelta = timedelta(hours=1)
    # An address that signed in to the account this recently passes the per-username limit.
    known_address_for: timedelta = timedelta(days=30)


def pair_delay(failures: int, limits: LoginLimits) -> timedelta | None:
    """How long after the last failure the next attempt waits: none for the free failures,
    then first_delay doubling with each failure, up to max_delay."""
    if failures < limits.free_failures:
        return None
    steps = failures - limits.free_failures
    if steps >= 32:  # past any sensible cap; keeps the power small
        return limits.max_delay
    return min(limits.first_delay * 2**steps, limits.max_delay)


def streak(
    failures: int, last_failure_at: datetime | None, now: datetime, limits: LoginLimits
) -> int:
    """The failures that still count (0 once the streak is forgotten)."""
    if last_failure_at is None or last_failure_at <= now - limits.streak_forgotten_after:
        return 0
    return failures


def delayed(
    failures: int, last_failure_at: datetime | None, now: datetime, limits: LoginLimits
) -> bool:
    delay = pair_delay(streak(failures, last_failure_at, now, limits), limits)
    return delay is not None and last_failure_at is not None and now < last_failure_at + delay


def known_address(last_success_at: datetime | None, now: datetime, limits: LoginLimits) -> bool:
    return last_success_at is not None and last_success_at > now - limits.known_address_for


def address_window_over(window_start: datetime, now: datetime, limits: LoginLimits) -> bool:
    return window_start <= now - limits.address_window


def key(text: str) -> str:
    return text[:MAX_KEY]
