"""Serving a fake gateway on 127.0.0.1 and scripting its answers.

A fake is a Starlette app whose routes call `FakeGateway.answer(request)`: every request is
recorded (method, path, headers, JSON body), and the answer is the next scripted one if the test
queued any (a status with body and headers, a delay to provoke a timeout, or a dropped
connection), else the gateway's normal success for that request. A gateway may also be slow
(`latency` before every answer), hang until released (`gate`: every request waits for the
event; `held` counts those waiting) or be down (503 to everything)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when not JSON (form posts)
    at: float = 0.0  # time.monotonic() when it arrived
    status: int | None = None  # what it was answered (None: not yet, or dropped)


@dataclass
class Scripted:
    """One scripted answer. `delay` sleeps first (a timeout on the client side); `drop` closes
    the connection without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


class FakeGateway:
    def __init__(self, success: Callable[[Recorded], Awaitable[Response] | Response]) -> None:
        self.success = success
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque()
        self.down = False  # answer 503 to everything while True
        self.latency = 0.0  # seconds before every answer
        self.gate: asyncio.Event | None = None  # when given, every request waits for it
        self.held = 0  # requests waiting at the gate

    def then(self, *answers: Scripted) -> None:
        self.script.extend(answers)

    async def answer(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(
            request.method, request.url.path, dict(request.headers), body, at=time.monotonic()
        )
        self.requests.append(rec)
        if self.gate is not None:
            self.held += 1
            try:
                await self.gate.wait()
            finally:
                self.held -= 1
        if self.latency:
            await asyncio.sleep(self.latency)
        response = await self._respond(rec)
        rec.status = response.status_code
        return response

    async def _respond(self, rec: Recorded) -> Response:
        if self.down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        if self.script:
            s = self.script.popleft()
            if s.delay:
                await asyncio.sleep(s.delay)
            if s.drop:
                raise ConnectionAbortedError("fake gateway dropped the connection")
            if isinstance(s.body, (dict, list)):
                return JSONResponse(s.body, status_code=s.status, headers=s.headers)
            return Response(s.body or b"", status_code=s.status, headers=s.headers)
        result = self.success(rec)
        return await result if isinstance(result, Awaitable) else result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app on a loopback port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def refused_url() -> str:
    """An address where nothing listens: connection refused."""
    return f"http://127.0.0.1:{free_port()}"
