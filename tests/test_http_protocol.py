"""The HTTP layer as clients meet it (server.http_protocol joins a response's writes): over a
raw socket to the running server, pipelined requests come back whole and in order, a
`Connection: close` response arrives whole before the close, and a large GraphQL answer is
complete."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from tests.conftest import GraphQLClient


async def _open(server_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(server_url)
    return await asyncio.open_connection(url.hostname, url.port)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status = int((await reader.readline()).split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def test_pipelined_requests_come_back_whole_and_in_order(server_url):
    reader, writer = await _open(server_url)
    first = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    doc = json.dumps({"query": "{ __typename }"}).encode()
    second = (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(doc)}\r\n\r\n".encode()
        + doc
    )
    writer.write(first + second + first)  # one send: three requests
    await writer.drain()
    answers = [await asyncio.wait_for(_response(reader), 10) for _ in range(3)]
    writer.close()
    assert [a[0] for a in answers] == [200, 200, 200]
    assert json.loads(answers[0][2]) == json.loads(answers[2][2])
    assert json.loads(answers[1][2]) == {"data": {"__typename": "Query"}}


async def test_a_connection_close_response_arrives_whole_before_the_close(server_url):
    reader, writer = await _open(server_url)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    await writer.drain()
    status, headers, body = await asyncio.wait_for(_response(reader), 10)
    assert status == 200 and headers.get("connection") == "close"
    assert json.loads(body)
    assert await asyncio.wait_for(reader.read(), 10) == b""  # then the server closes
    writer.close()


async def test_a_large_answer_is_complete(gql: GraphQLClient, server_url):
    # The introspection answer is several times a socket's first send buffer (16 KB).
    resp = await gql.http.post(
        f"{server_url}/graphql",
        json={"query": "{ __schema { types { name fields { name description } } } }"},
    )
    assert resp.status_code == 200
    assert int(resp.headers["content-length"]) == len(resp.content) > 50_000
    assert any(t["name"] == "Demand" for t in resp.json()["data"]["__schema"]["types"])
