"""Signed-in actors remembered per process, so a request's session check costs no statement.

Every request checked its token's session in the database (one statement: the account active,
its session version, its session family not ended, its grants). On the bench that statement was
a quarter to a half of each screen's statements. Here its answer is kept per (user, session
version, session family) and dropped the moment anything it was made from changes:

- On PostgreSQL, triggers (migration 0016) announce every change to an account's state, its
  grants, its refresh tokens' revocation and the regions' paths on SESSION_CHANNEL, in the
  changing transaction, so every process hears it when it commits (server.live listens).
- The cache serves only while that listener is connected: when the connection drops, the cache
  is emptied and turned off until the listener is back (a change made meanwhile is not heard).
- A process's own mutations empty its cache when they finish, so its next request never waits
  for the announcement of a change it has just answered for.
- A lookup that raced an invalidation is not stored (a generation counter), and entries are
  re-read after ENTRY_SECONDS in any case.

On SQLite (one process, no triggers) nothing is cached.

Watchers (the live sockets of server.live_socket) are told which users may have changed: the
announced ones, or everyone (None) when that cannot be known: an unreadable announcement, a
listener that (re)connected and may have missed some, or, without a listener, any mutation of
this process that may have changed sessions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from models.rules.actor import Actor

SESSION_CHANNEL = "desk_session"
ALL = "*"  # the payload that drops every entry (a region's path changed)
ENTRY_SECONDS = 60.0
MAX_ENTRIES = 50_000  # beyond this the cache starts over: a bound, not an eviction policy

Key = tuple[int, int, str | None]  # user, session version, session family
Watcher = Callable[[list[int] | None], None]  # told the users that may have changed (None: all)


class SessionCache:
    def __init__(self) -> None:
        self._entries: dict[Key, tuple[float, Actor]] = {}
        self._keys_of: dict[int, set[Key]] = {}
        self._generation = 0
        self._listeners = 0  # connected listeners: while one is, changes are heard
        self._watchers: list[Watcher] = []

    @property
    def generation(self) -> int:
        """Bumped by every invalidation."""
        return self._generation

    @property
    def live(self) -> bool:
        return self._listeners > 0

    def start(self) -> None:
        """A listener is connected: serve from the cache (emptied: nothing was heard before)."""
        self.forget_all()
        self._listeners += 1
        self._tell(None)

    def stop(self) -> None:
        """A listener is gone: with none left, changes may be missed, so nothing is served or
        kept until one is back."""
        self._listeners = max(0, self._listeners - 1)
        self.forget_all()

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._keys_of.clear()

    def forget_users(self, user_ids: list[int]) -> None:
        self._generation += 1
        for user_id in user_ids:
            for key in self._keys_of.pop(user_id, ()):
                self._entries.pop(key, None)

    def changed_here(self) -> None:
        """A mutation of this process may have changed sessions or grants: forget them all, so
        its next request does not wait for the announcement; without a listener no
        announcement comes, so the watchers are told too."""
        self.forget_all()
        if not self.live:
            self._tell(None)

    def heard(self, payload: str) -> None:
        """An announcement on SESSION_CHANNEL: comma-separated user ids, or ALL."""
        parts = [p.strip() for p in payload.split(",")]
        if ALL in parts or not all(p.isdigit() for p in parts):
            self.forget_all()  # what cannot be read is taken as "everyone"
            self._tell(None)
        else:
            user_ids = [int(p) for p in parts]
            self.forget_users(user_ids)
            self._tell(user_ids)

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Tell `watcher` of every change from now on; returns what stops it."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)

    def _tell(self, user_ids: list[int] | None) -> None:
        for watcher in list(self._watchers):
            watcher(user_ids)

    async def actor(self, key: Key, load: Callable[[], Awaitable[Actor | None]]) -> Actor | None:
        """The cached actor of `key`, or `load()`'s answer (kept when nothing changed
        meanwhile). Refusals are not kept: they are rare and must stay refusals."""
        if not self.live:
            return await load()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < ENTRY_SECONDS:
            return hit[1]
        generation = self._generation
        actor = await load()
        if actor is not None and self.live and generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self.forget_all()
            self._entries[key] = (now, actor)
            self._keys_of.setdefault(key[0], set()).add(key)
        return actor


SESSIONS = SessionCache()
