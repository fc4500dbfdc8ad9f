"""Serving a fake gateway on 127.0.0.1 and scripting its answers.

A fake is a Starlette app whose routes call `FakeGateway.answer(request)`: every request is
recorded (method, path, headers, JSON body), and the answer is the next scripted one if the test
queued any (a status with body and headers, a delay to provoke a timeout, or a dropped
connection), else the gateway's normal success for that request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
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

    def then(self, *answers: Scripted) -> None:
        self.script.extend(answers)

    async def answer(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(request.method, request.url.path, dict(request.headers), body)
        self.requests.append(rec)
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
