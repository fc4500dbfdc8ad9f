"""Slow clients over real sockets (server.http_protocol): a request head or body that trickles
in or stalls is cut (408 while an answer is still possible), a connection that sends nothing
is closed, and the connections one address may hold unfinished are bounded, so no client can
keep the server's sockets. Each server here is configured from the environment, as
`enterprise-desk serve` is, with its timeouts made small."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from models.tables.demands import Attachment
from server.settings import SettingsError, load_settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.test_attachments import make_png, stored_files, token_for

# How long a test waits at most for the server to act, so a server that never cuts a
# connection fails the test instead of hanging it. Not a measure of anything.
PATIENCE = 20.0
ATTACKER = "127.0.0.2"  # another loopback address: a client that is not the test's own


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Served:
    """A running server and the test's connections to it, all closed before it stops (a
    server stops only once its requests have ended)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task] = []

    async def connect(self, source: str = "127.0.0.1") -> Conn:
        parts = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(
            parts.hostname, parts.port, local_addr=(source, 0)
        )
        self.writers.append(writer)
        return reader, writer

    def trickle(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        self.tasks.append(asyncio.create_task(trickle(writer, data)))


@asynccontextmanager
async def serving(db: str, data_dir: Path, **env: str) -> AsyncIterator[Served]:
    settings = load_settings(
        {"DATABASE_URL": db, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(data_dir), **env}
    )
    server, task, url = await start_server(settings)
    served = Served(url)
    try:
        yield served
    finally:
        for t in served.tasks:
            t.cancel()
        for writer in served.writers:
            writer.close()
        await stop_server(server, task)


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float = 0.05) -> None:
    """Send a byte at a time until done or the server hangs up."""
    with suppress(ConnectionError):
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(pause)


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    try:
        return await asyncio.wait_for(reader.read(), PATIENCE)
    except ConnectionResetError:
        return b""


def answer(raw: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert int(headers["content-length"]) == len(body)
    return int(lines[0].split()[1]), headers, json.loads(body)


def multipart(data: bytes) -> tuple[bytes, bytes]:
    boundary = "slow-upload"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="现场.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}".encode(), body


def upload_head(token: str, content_type: bytes, length: int) -> bytes:
    return (
        b"POST /uploads HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: "
        + content_type
        + f"\r\nContent-Length: {length}\r\n\r\n".encode()
    )


# --- the request head ------------------------------------------------------------------------


async def test_a_head_that_trickles_in_is_cut_with_408(db, tmp_path):
    async with serving(db, tmp_path, REQUEST_HEAD_TIMEOUT="0.5") as served:
        reader, writer = await served.connect()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\nAccept-Language: en\r\n")
        served.trickle(writer, b"X-Padding: " + b"a" * 400)  # 20 bytes a second
        raw = await until_closed(reader)
    status, headers, body = answer(raw)
    assert status == 408 and headers["connection"] == "close"
    assert body == {
        "errors": [
            {
                "code": "REQUEST_HEAD_TIMEOUT",
                "message": "The request took too long to arrive; please send it again",
            }
        ]
    }


async def test_a_connection_that_sends_nothing_is_closed(db, tmp_path):
    async with serving(db, tmp_path, REQUEST_HEAD_TIMEOUT="0.5") as served:
        reader, _ = await served.connect()
        assert await until_closed(reader) == b""  # nothing was asked: nothing to answer
        # A kept-alive connection's next head is timed too.
        reader, writer = await served.connect()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n\r\nGET /healthz HTTP/1.1\r\n")
        raw = await until_closed(reader)
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408 " in rest and b"REQUEST_HEAD_TIMEOUT" in rest


# --- the request body ------------------------------------------------------------------------


async def test_an_upload_that_trickles_in_is_cut_and_nothing_is_kept(db, gql, world, storage):
    token = await token_for(gql, "cadre_a")
    content_type, body = multipart(make_png())
    env = {"REQUEST_BODY_TIMEOUT": "0.5", "REQUEST_BODY_MIN_RATE": "1000"}
    async with serving(db, storage.parent, **env) as served:
        reader, writer = await served.connect()
        writer.write(upload_head(token, content_type, len(body)))
        served.trickle(writer, body)  # 20 bytes a second, never idle for long
        raw = await until_closed(reader)
    status, headers, payload = answer(raw)
    assert status == 408 and headers["connection"] == "close"
    assert payload == {
        "errors": [
            {"code": "REQUEST_BODY_TIMEOUT", "message": "请求内容发送过慢或中断，请重新发送"}
        ]
    }
    assert await Attachment.all().count() == 0
    assert stored_files(storage) == []


async def test_a_body_that_stalls_is_cut(db, tmp_path):
    doc = json.dumps({"query": "{ __typename }"}).encode()
    async with serving(db, tmp_path, REQUEST_BODY_TIMEOUT="0.5") as served:
        reader, writer = await served.connect()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
            + f"Accept-Language: en\r\nContent-Length: {len(doc)}\r\n\r\n".encode()
            + doc[:5]
        )
        raw = await until_closed(reader)  # and the rest never comes
    status, _, payload = answer(raw)
    assert status == 408 and payload["errors"][0]["code"] == "REQUEST_BODY_TIMEOUT"
    assert payload["errors"][0]["message"] == (
        "The request body arrived too slowly or stalled; please send it again"
    )


async def test_a_slow_but_steady_upload_goes_through(db, gql, world, storage):
    token = await token_for(gql, "cadre_a")
    photo = make_png() + bytes(24 * 1024)  # trailing bytes are still a PNG
    content_type, body = multipart(photo)
    env = {"REQUEST_BODY_TIMEOUT": "2", "REQUEST_BODY_MIN_RATE": "1000"}
    async with serving(db, storage.parent, **env) as served:
        reader, writer = await served.connect()
        writer.write(upload_head(token, content_type, len(body)))
        for i in range(0, len(body), 2048):  # 2 KiB every 0.1 s: a weak mobile link
            writer.write(body[i : i + 2048])
            await writer.drain()
            await asyncio.sleep(0.1)
        status = await asyncio.wait_for(reader.readline(), PATIENCE)
    assert status.startswith(b"HTTP/1.1 201")
    assert await Attachment.all().count() == 1


# --- unfinished connections per address ------------------------------------------------------


async def test_unfinished_connections_are_bounded_per_address(db, tmp_path):
    env = {"REQUEST_HEAD_TIMEOUT": "60", "PENDING_CONNECTIONS_PER_ADDRESS": "4"}
    async with serving(db, tmp_path, **env) as served:
        held = []
        for _ in range(4):  # the attacker's heads that never end
            conn = await served.connect(ATTACKER)
            conn[1].write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n")
            held.append(conn)
        # More from that address: each is refused (and its socket closed) at once.
        refused = []
        for _ in range(40):
            conn = await served.connect(ATTACKER)
            conn[1].write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\nAccept-Language: en\r\n\r\n")
            refused.append(conn)
        answers = [
            answer(raw) for raw in await asyncio.gather(*(until_closed(r) for r, _ in refused))
        ]
        # Somebody at another address is served as usual.
        async with httpx.AsyncClient(base_url=served.url) as http:
            assert (await http.get("/healthz")).status_code == 200
        # The attacker's address gets a place back once one of its connections ends.
        held.pop()[1].close()
        await asyncio.sleep(0.2)  # the server (in this event loop) hears the close
        reader, writer = await served.connect(ATTACKER)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
        again = await until_closed(reader)
    for status, headers, body in answers:
        assert status == 429 and headers["connection"] == "close"
        assert body == {
            "errors": [
                {
                    "code": "TOO_MANY_CONNECTIONS",
                    "message": "Too many unfinished connections from your address; "
                    "please try again shortly",
                }
            ]
        }
    assert again.startswith(b"HTTP/1.1 200")


async def test_silent_connections_beyond_the_bound_are_closed(db, tmp_path):
    """The attack as it was seen: hundreds of connections that send a partial head, or
    nothing. Beyond the bound each is closed, not kept until the head timeout."""
    env = {"REQUEST_HEAD_TIMEOUT": "60", "PENDING_CONNECTIONS_PER_ADDRESS": "8"}
    async with serving(db, tmp_path, **env) as served:
        conns = []
        for i in range(120):
            conn = await served.connect(ATTACKER)
            if i % 2:
                conn[1].write(b"POST /uploads HTTP/1.1\r\nHost: desk\r\n")
            conns.append(conn)
        outcomes = await asyncio.gather(*(until_closed(r) for r, _ in conns[8:]))
        async with httpx.AsyncClient(base_url=served.url) as http:
            assert (await http.get("/healthz")).status_code == 200
    # Those that had begun a request read why; the silent ones are simply closed.
    assert {answer(raw)[0] for raw in outcomes[1::2]} == {429}
    assert set(outcomes[0::2]) == {b""}


async def test_the_bound_can_be_turned_off_for_a_reverse_proxy(db, tmp_path):
    env = {"REQUEST_HEAD_TIMEOUT": "60", "PENDING_CONNECTIONS_PER_ADDRESS": "0"}
    async with serving(db, tmp_path, **env) as served:
        for _ in range(50):
            _, writer = await served.connect()
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n")
        async with httpx.AsyncClient(base_url=served.url) as http:
            assert (await http.get("/healthz")).status_code == 200


# --- websockets --------------------------------------------------------------------------------


async def test_websockets_outlive_the_timeouts_and_take_no_place(db, gql, world, tmp_path):
    token = await token_for(gql, "cadre_a")
    env = {
        "REQUEST_HEAD_TIMEOUT": "0.3",
        "REQUEST_BODY_TIMEOUT": "0.3",
        "PENDING_CONNECTIONS_PER_ADDRESS": "2",
    }
    sockets: list[websockets.ClientConnection] = []
    async with serving(db, tmp_path, **env) as served:
        try:
            for _ in range(4):  # more than the bound
                ws = await websockets.connect(
                    served.url.replace("http://", "ws://") + "/graphql",
                    subprotocols=["graphql-transport-ws"],
                )
                sockets.append(ws)
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                await ws.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(ws.recv(), PATIENCE))
                assert ack["type"] == "connection_ack"
            await asyncio.sleep(1.0)  # several times every timeout, with nothing sent
            for ws in sockets:
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await asyncio.wait_for(ws.recv(), PATIENCE)) == {"type": "pong"}
            async with httpx.AsyncClient(base_url=served.url) as http:
                assert (await http.get("/healthz")).status_code == 200
        finally:
            for ws in sockets:
                await ws.close()


# --- settings ----------------------------------------------------------------------------------


def test_slow_client_settings():
    base = {"SECRET_KEY": TEST_SECRET, "DATA_DIR": "/nonexistent"}
    defaults = load_settings(base)
    assert defaults.request_head_timeout == 20.0
    assert defaults.request_body_timeout == 30.0
    assert defaults.request_body_min_rate == 1024
    assert defaults.pending_connections_per_address == 32
    for name, value in (
        ("REQUEST_HEAD_TIMEOUT", "0"),
        ("REQUEST_BODY_TIMEOUT", "soon"),
        ("REQUEST_BODY_MIN_RATE", "-5"),
        ("PENDING_CONNECTIONS_PER_ADDRESS", "-1"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings({**base, name: value})
