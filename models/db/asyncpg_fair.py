"""The PostgreSQL engine models.db.config configures: tortoise's asyncpg client whose pool hands its
connections out first come, first served. Its own module, named for asyncpg, because tortoise's
migrations pick their SQL dialect by the client class's module name.

asyncpg's pool waits on an asyncio queue, and an asyncio queue lets a newcomer take a released
connection before the waiter that release woke up gets to run; that waiter then queues again
at the back. A request sends several statements, each acquiring anew, so under load some
requests lost their turn again and again: the handler list's p99 was 1.4 s at 64 clients with
a median of 0.1 s (bench/screens.py), and 256 ms once the pool outnumbered the clients
(`?maxsize=20`). Here a released connection goes straight to the longest waiter."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from asyncpg.pool import Pool, _PoolConnectionHolderQueue
from tortoise.backends.asyncpg import AsyncpgDBClient


class FairHolderQueue(_PoolConnectionHolderQueue):
    """asyncpg's queue of pooled connections with handoff: `put_nowait` gives the connection
    to the first waiting `get` (nobody can overtake it), and `get` waits whenever others do."""

    def put_nowait(self, item: Any) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(item)
                return
        super().put_nowait(item)

    async def get(self) -> Any:
        if not self.empty():  # nobody waits: put_nowait would have handed it over
            return self.get_nowait()
        getter = asyncio.get_running_loop().create_future()
        self._getters.append(getter)
        try:
            return await getter
        except BaseException:
            if getter.done() and not getter.cancelled():
                self.put_nowait(getter.result())  # handed over as we left: pass it on
            else:
                getter.cancel()
                with suppress(ValueError):
                    self._getters.remove(getter)
            raise


def make_fair(pool: Pool) -> Pool:
    """Swap an initialised pool's queue for a FairHolderQueue holding the same connections."""
    old: _PoolConnectionHolderQueue = pool._queue
    fair = FairHolderQueue(maxsize=old.maxsize)
    while not old.empty():
        fair.put_nowait(old.get_nowait())
    pool._queue = fair
    return pool


class FairAsyncpgDBClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> Pool:
        return make_fair(await super().create_pool(**kwargs))


client_class = FairAsyncpgDBClient
