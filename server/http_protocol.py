"""uvicorn's httptools protocol with a response's writes sent together.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and its body on `http.response.body`: two `send` system calls per response, each a full trip
through the loopback or network stack. py-spy put about a seventh of a worker's CPU in those
two writes on the handler list (bench/cpu_per_request.py --profile). Both messages are sent
in the same step of the event loop (Starlette awaits nothing in between), so here the writes
of one step are joined and sent once, at the end of the step."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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
    """`enterprise-desk serve` passes this class to uvicorn as its HTTP protocol."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)
