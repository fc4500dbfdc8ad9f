"""uvicorn's httptools protocol with a response's writes sent together, and slow clients cut.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and its body on `http.response.body`: two `send` system calls per response, each a full trip
through the loopback or network stack. py-spy put about a seventh of a worker's CPU in those
two writes on the handler list (bench/cpu_per_request.py --profile). Both messages are sent
in the same step of the event loop (Starlette awaits nothing in between), so here the writes
of one step are joined and sent once, at the end of the step.

uvicorn itself waits for ever for a request head or body to arrive, so a few hundred clients
sending a byte now and then held as many sockets (and file descriptors) for as long as they
liked. Here (`ClientLimits`, from the settings):
- the request head must arrive within `head_timeout` of the connection's opening (for a later
  request on a kept-alive connection, of its first byte; the wait before that is uvicorn's
  keep-alive timeout);
- the body may pause at most `body_timeout` between two reads, and after its first
  `body_timeout` seconds it must average `body_min_rate` bytes/s (Apache's mod_reqtimeout
  rule), unless the server is the one not reading (the app is busy, or owes `100 Continue`);
- an address may hold `per_address` connections whose current request has not fully arrived;
  one more is answered 429 `TOO_MANY_CONNECTIONS` once its head is in (or closed after a
  couple of seconds), without taking a place. Behind a reverse proxy every connection has the
  proxy's address: there the bound is set to 0 (off) and the proxy bounds its clients.
A cut request is answered 408 (`REQUEST_HEAD_TIMEOUT`, `REQUEST_BODY_TIMEOUT`) while no answer
has begun, then closed; a connection that sent nothing is just closed. Websocket upgrades
leave all of this at the upgrade: uvicorn's websockets protocol owns the socket then."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from models.messages import message, resolve_locale
from server.settings import Settings

# How long a connection over its address's bound may take to send its head (to be told why).
OVER_BOUND_WAIT = 2.0
# How long a refused connection is read (and what comes dropped) after its answer, at most.
REFUSAL_LINGER = 2.0


class _CoalescingTransport:
    """A transport whose writes of one event-loop step go out in one write. Everything else
    is the real transport's; closing sends what is pending first."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """The writes of one step joined; `enterprise-desk serve` runs its subclass below."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)


@dataclass(frozen=True)
class ClientLimits:
    head_timeout: float = 20.0
    body_timeout: float = 30.0
    body_min_rate: int = 1024  # bytes/s; 0: only the pause between reads is bounded
    per_address: int = 32  # 0: off

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientLimits:
        return cls(
            settings.request_head_timeout,
            settings.request_body_timeout,
            settings.request_body_min_rate,
            settings.pending_connections_per_address,
        )


class ClientGuard:
    """The limits and, per address, how many of this server's connections are waiting for
    their request to arrive. One per server (pickled into each worker process: per process)."""

    def __init__(self, limits: ClientLimits) -> None:
        self.limits = limits
        self.pending: dict[str, int] = {}

    def take(self, address: str) -> bool:
        held = self.pending.get(address, 0)
        if self.limits.per_address and held >= self.limits.per_address:
            return False
        self.pending[address] = held + 1
        return True

    def give_back(self, address: str) -> None:
        held = self.pending.get(address, 0) - 1
        if held > 0:
            self.pending[address] = held
        else:
            self.pending.pop(address, None)


# For the class given to uvicorn as it is: the default limits, shared by its connections.
_DEFAULT_GUARD = ClientGuard(ClientLimits())


def http_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The HTTP protocol to give uvicorn (`Config(http=...)`), with the settings' limits."""
    guard = ClientGuard(ClientLimits.from_settings(settings))
    return cast("type[asyncio.Protocol]", partial(GuardedHttpToolsProtocol, guard=guard))


Phase = Literal["idle", "head", "body", "done"]


class GuardedHttpToolsProtocol(CoalescingHttpToolsProtocol):
    """Times each request's head and body and bounds the unfinished connections per address.
    One timer per connection, re-armed lazily: phases only move the deadline."""

    def __init__(self, *args: Any, guard: ClientGuard | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard or _DEFAULT_GUARD
        self._address: str | None = None
        self._phase: Phase = "idle"
        self._placed = False  # holds one of its address's places
        self._over = False  # beyond its address's bound: this request is refused
        self._asked = False  # bytes of the current request have arrived
        self._since = 0.0  # the head's start, or the body's (reset while the server waits)
        self._last_read = 0.0
        self._body_bytes = 0
        self._timer: asyncio.TimerHandle | None = None

    # uvicorn's protocol interface ---------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else None
        self._begin_head()  # timed from the accept: a connection that says nothing is closed

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase != "done":
            super().data_received(data)

    def handle_websocket_upgrade(self) -> None:
        if self._phase == "done":
            return
        if self._over:
            self._refuse(429, "TOO_MANY_CONNECTIONS")
            return
        self._stop()  # the websockets protocol takes the socket over
        super().handle_websocket_upgrade()

    # parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase == "idle":  # a later request on a kept-alive connection
            self._begin_head()
        self._asked = True

    def on_headers_complete(self) -> None:
        if self._phase == "done":
            return
        if self._over and not (self.parser.should_upgrade() and self._should_upgrade()):
            self._refuse(429, "TOO_MANY_CONNECTIONS")
            return
        super().on_headers_complete()
        now = self.loop.time()
        self._phase, self._since, self._last_read, self._body_bytes = "body", now, now, 0
        self._watch(now + self.guard.limits.body_timeout)

    def on_body(self, body: bytes) -> None:
        if self._phase == "done":
            return
        self._last_read = self.loop.time()
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._phase == "done":
            return
        super().on_message_complete()
        self._phase, self._asked = "idle", False
        self._give_back()  # the timer, if armed, finds nothing to watch and stops

    # the clock ----------------------------------------------------------------------------

    def _begin_head(self) -> None:
        limits = self.guard.limits
        if self._address is not None and not self._placed:
            self._placed = self.guard.take(self._address)
            self._over = not self._placed
        wait = min(limits.head_timeout, OVER_BOUND_WAIT) if self._over else limits.head_timeout
        self._phase, self._since = "head", self.loop.time()
        self._watch(self._since + wait)

    def _deadline(self, now: float) -> float | None:
        limits = self.guard.limits
        if self._phase == "head":
            wait = min(limits.head_timeout, OVER_BOUND_WAIT) if self._over else limits.head_timeout
            return self._since + wait
        if self._phase != "body":
            return None
        cycle = self.cycle
        if (
            cycle is not None
            and not cycle.response_complete
            and (self.flow.read_paused or cycle.waiting_for_100_continue)
        ):
            # The server is not reading (the app has not asked for more yet): not the
            # client's doing, so its clock starts again. (Once answered, the rest of the body
            # is read and dropped: then it is timed.)
            self._since, self._last_read, self._body_bytes = now, now, 0
        deadline = self._last_read + limits.body_timeout
        if limits.body_min_rate:
            by_rate = self._since + limits.body_timeout + self._body_bytes / limits.body_min_rate
            deadline = min(deadline, by_rate)
        return deadline

    def _watch(self, deadline: float) -> None:
        if self._timer is not None:
            if self._timer.when() <= deadline:
                return  # it fires first and looks again then
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self.loop.time()
        deadline = self._deadline(now)
        if deadline is None:
            return
        if now < deadline:
            self._timer = self.loop.call_at(deadline, self._on_timer)
        elif self._phase == "head":
            if not self._asked:
                self._close()  # nothing was asked: nothing to answer
            elif self._over:
                self._refuse(429, "TOO_MANY_CONNECTIONS")
            else:
                self._refuse(408, "REQUEST_HEAD_TIMEOUT")
        else:
            cycle = self.cycle
            if cycle is not None and not cycle.response_started:
                # The app's next receive() hears a disconnect and its answer goes nowhere.
                cycle.disconnected = True
                cycle.message_event.set()
                self._refuse(408, "REQUEST_BODY_TIMEOUT")
            else:
                self._close()

    # ending ------------------------------------------------------------------------------

    def _refuse(self, status: int, code: str) -> None:
        """Answer with the code's message in the client's language, then close."""
        locale = resolve_locale(
            next(
                (v.decode("latin-1") for n, v in self.headers or () if n == b"accept-language"),
                None,
            )
        )
        body = json.dumps(
            {"errors": [{"code": code, "message": message(code, locale)}]}, ensure_ascii=False
        ).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"content-type: application/json\r\n")
        if status == 429:
            head.append(b"retry-after: 5\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self._stop()
        if self.transport.is_closing():
            return
        self.transport.write(b"".join(head) + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # Closing now would reset the connection if more bytes come (a trickling body does)
        # and the reset can destroy the answer before the client reads it. So: send it and
        # the end of our side, read and drop what still comes, and close a moment later.
        self.transport.write_eof()
        self.flow.resume_reading()
        self._timer = self.loop.call_later(REFUSAL_LINGER, self._close)

    def _close(self) -> None:
        self._stop()
        if not self.transport.is_closing():
            self.transport.close()

    def _stop(self) -> None:
        """Nothing more to time or count on this connection (cut, closed or upgraded)."""
        self._phase = "done"
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._give_back()

    def _give_back(self) -> None:
        if self._placed and self._address is not None:
            self.guard.give_back(self._address)
        self._placed = False
