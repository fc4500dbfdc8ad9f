"""Uploads through GraphQL: the multipart request spec on POST /graphql, `uploadAttachment`
with its client id, the photo's EXIF position on the Attachment, limits and malformed requests,
and who may fetch the file afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from models.ops import attachments as ops
from models.rules.clock import now
from models.tables.demands import Attachment, MutationReceipt
from schema.relay import from_global_id
from server.graphql_http import MAX_MULTIPART_BODY_BYTES, MAX_UPLOAD_FILES
from tests.test_attachments import (
    HTML_BYTES,
    PDF_BYTES,
    auth,
    make_demand,
    make_png,
    stored_files,
    token_for,
)
from tests.test_photo_meta import EXPECTED, encode, make_exif, make_heic

GR = "application/graphql-response+json"
UPLOAD = """mutation($input: UploadAttachmentInput!) {
  uploadAttachment(input: $input) {
    attachment { id fileName contentType size url
                 photoLocation { latitude longitude altitude takenAt } }
    errors { code field message }
  }
}"""
PHOTO_LOCATION = {
    "latitude": EXPECTED["gps"]["latitude"],
    "longitude": EXPECTED["gps"]["longitude"],
    "altitude": EXPECTED["gps"]["altitude"],
    "takenAt": EXPECTED["takenAt"],
}


def operations(client_id: str | None = None, query: str = UPLOAD) -> str:
    return json.dumps(
        {"query": query, "variables": {"input": {"file": None, "clientId": client_id}}}
    )


async def upload(
    http: httpx.AsyncClient,
    token: str | None,
    name: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    *,
    client_id: str | None = None,
    **headers: str,
) -> httpx.Response:
    """One file as a GraphQL multipart request, the way apollo-upload-client sends it."""
    h = {"Accept": GR, **headers}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return await http.post(
        "/graphql",
        data={
            "operations": operations(client_id),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (name, data, content_type)},
        headers=h,
    )


def payload(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "errors" not in body, body
    return body["data"]["uploadAttachment"]


BOUNDARY = "graphql-upload-test"


def part(name: str, value: bytes, file_name: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if file_name is not None:
        disposition += f'; filename="{file_name}"'
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def body(*parts: bytes, close: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


async def raw(http: httpx.AsyncClient, token: str, content: Any, **headers: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        content=content,
        headers=auth(
            token,
            **{"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Accept": GR},
            **headers,
        ),
    )


def refusal(resp: httpx.Response, status: int) -> tuple[str, str]:
    assert resp.status_code == status, resp.text
    error = resp.json()["errors"][0]
    return error["extensions"]["code"], error["message"]


MAP = json.dumps({"0": ["variables.input.file"]}).encode()


# --- uploading ---------------------------------------------------------------------------


async def test_a_photo_is_stored_with_its_exif_position(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    photo = encode("JPEG", make_exif())
    got = payload(await upload(http, token, "现场照片.jpg", photo, "image/jpeg"))
    assert got["errors"] == []
    attachment = got["attachment"]
    assert attachment["fileName"] == "现场照片.jpg"
    assert attachment["contentType"] == "image/jpeg"
    assert attachment["size"] == len(photo)
    assert attachment["photoLocation"] == PHOTO_LOCATION
    assert attachment["url"] == f"/files/{attachment['id']}"

    row = await Attachment.get(id=from_global_id(attachment["id"], "Attachment")[1])
    assert row.meta == EXPECTED  # the camera is kept too
    assert row.uploaded_by_id == world.cadre_a.id and row.demand_id is None  # type: ignore[attr-defined]
    assert stored_files(storage) == [ops.storage_path(row.storage_key)]

    fetched = await http.get(attachment["url"], headers=auth(token))
    assert fetched.status_code == 200 and fetched.content == photo
    assert fetched.headers["content-type"] == "image/jpeg"
    # node(id:) reads the position back the same way.
    gql.token = token
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on Attachment { photoLocation { latitude longitude altitude takenAt } } } }",
        {"id": attachment["id"]},
    )
    assert node["node"]["photoLocation"] == PHOTO_LOCATION


@pytest.mark.parametrize(
    ("name", "make", "content_type", "location"),
    [
        ("截图.png", make_png, "image/png", None),
        ("exif.png", lambda: encode("PNG", make_exif()), "image/png", PHOTO_LOCATION),
        ("IMG_0001.HEIC", lambda: make_heic(make_exif()), "image/heic", PHOTO_LOCATION),
        ("说明.pdf", lambda: PDF_BYTES, "application/pdf", None),
    ],
)
async def test_other_types_are_accepted(gql, http, world, name, make, content_type, location):
    token = await token_for(gql, "cadre_a")
    got = payload(await upload(http, token, name, make()))
    assert got["errors"] == []
    assert got["attachment"]["contentType"] == content_type
    assert got["attachment"]["photoLocation"] == location


@pytest.mark.parametrize(
    ("data", "claim"),
    [(PDF_BYTES, "image/jpeg"), (HTML_BYTES, "image/jpeg"), (HTML_BYTES, "text/html")],
)
async def test_a_jpg_that_is_not_a_jpeg_is_refused(gql, http, world, storage, data, claim):
    token = await token_for(gql, "cadre_a")
    got = payload(await upload(http, token, "photo.jpg", data, claim))
    assert got["attachment"] is None
    assert [(e["code"], e["field"]) for e in got["errors"]] == [("UNSUPPORTED_FILE_TYPE", "file")]
    assert "不支持的文件类型" in got["errors"][0]["message"]
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_messages_follow_accept_language(gql, http, world):
    token = await token_for(gql, "cadre_a")
    got = payload(await upload(http, token, "a.jpg", PDF_BYTES, **{"Accept-Language": "en"}))
    assert got["errors"][0]["message"].startswith("Unsupported file type")
    resp = await raw(http, token, body(part("operations", b"[]")), **{"Accept-Language": "en"})
    assert refusal(resp, 400)[1].startswith("The operation must be one JSON object")


async def test_an_empty_file_is_a_payload_error(gql, http, world):
    token = await token_for(gql, "cadre_a")
    got = payload(await upload(http, token, "empty.png", b""))
    assert got["errors"][0]["code"] == "EMPTY_FILE" and got["attachment"] is None


async def test_several_files_in_one_request(gql, http, world):
    token = await token_for(gql, "cadre_a")
    query = """mutation($a: Upload!, $b: Upload!) {
      first: uploadAttachment(input: {file: $a}) { attachment { fileName contentType } errors { code } }
      second: uploadAttachment(input: {file: $b}) { attachment { fileName contentType } errors { code } }
    }"""
    resp = await http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"a": None, "b": None}}),
            "map": json.dumps({"photo": ["variables.a"], "doc": ["variables.b"]}),
        },
        files=[
            ("photo", ("a.jpg", encode("JPEG"), "image/jpeg")),
            ("doc", ("b.pdf", PDF_BYTES, "application/pdf")),
        ],
        headers=auth(token, Accept=GR),
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["first"]["attachment"] == {"fileName": "a.jpg", "contentType": "image/jpeg"}
    assert data["second"]["attachment"] == {"fileName": "b.pdf", "contentType": "application/pdf"}
    assert await Attachment.all().count() == 2


async def test_a_file_can_fill_a_list_element(gql, http, world):
    token = await token_for(gql, "cadre_a")
    query = """mutation($files: [Upload!]!) {
      uploadAttachment(input: {file: $files}) { errors { code } } }"""
    # A list where one Upload is expected is the client's mistake, reported by GraphQL; the
    # point here is that the path "variables.files.1" into a list is accepted.
    resp = await http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"files": [None, None]}}),
            "map": json.dumps({"0": ["variables.files.0"], "1": ["variables.files.1"]}),
        },
        files=[
            ("0", ("a.png", make_png(), "image/png")),
            ("1", ("b.png", make_png(), "image/png")),
        ],
        headers=auth(token, Accept=GR),
    )
    assert resp.status_code == 400 and "Upload" in resp.text  # a GraphQL validation error
    assert "MULTIPART" not in resp.text
    assert await Attachment.all().count() == 0


# --- file names as clients send them -------------------------------------------------------

LICENCE = "营业执照.pdf"
LICENCE_ESCAPED = "%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"  # its UTF-8, percent-encoded
# The head of the file part, byte for byte as each client writes it for 营业执照.pdf.
CLIENT_PART_HEADS = {
    # RFC 5987 alone; old requests/urllib3 (before 1.25) wrote this for any non-ASCII name.
    "rfc5987": f"Content-Disposition: form-data; name=\"{{name}}\"; filename*=UTF-8''{LICENCE_ESCAPED}"
    "\r\nContent-Type: application/pdf",
    "urllib3_rfc2231": f'Content-Disposition: form-data; name="{{name}}"; '
    f"filename*=utf-8''{LICENCE_ESCAPED}\r\nContent-Type: application/pdf",
    # aiohttp 3 (FormData, quote_fields=True): the name percent-encoded inside filename="".
    "aiohttp": f"Content-Type: application/pdf\r\nContent-Disposition: form-data; "
    f'name="{{name}}"; filename="{LICENCE_ESCAPED}"',
    # aiohttp 1: both, the same escapes in each.
    "aiohttp1": f"Content-Type: application/pdf\r\nContent-Disposition: form-data; "
    f'name="{{name}}"; filename="{LICENCE_ESCAPED}"; filename*=utf-8\'\'{LICENCE_ESCAPED}',
    # Browsers, OkHttp, curl: raw UTF-8.
    "raw_utf8": f'Content-Disposition: form-data; name="{{name}}"; filename="{LICENCE}"'
    "\r\nContent-Type: application/pdf",
}


def file_part(head: str, data: bytes, name: str) -> bytes:
    return f"--{BOUNDARY}\r\n{head.format(name=name)}\r\n\r\n".encode() + data + b"\r\n"


async def raw_file_upload(
    http: httpx.AsyncClient, token: str, head: str, data: bytes, **headers: str
) -> httpx.Response:
    """POST /uploads with one raw file part."""
    return await http.post(
        "/uploads",
        content=body(file_part(head, data, "file")),
        headers=auth(
            token, **{"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, **headers
        ),
    )


async def raw_graphql_upload(
    http: httpx.AsyncClient, token: str, head: str, data: bytes, **headers: str
) -> httpx.Response:
    """uploadAttachment as a GraphQL multipart request with one raw file part."""
    content = body(
        part("operations", operations().encode()), part("map", MAP), file_part(head, data, "0")
    )
    return await raw(http, token, content, **headers)


@pytest.mark.parametrize("client", list(CLIENT_PART_HEADS))
async def test_a_chinese_file_name_is_read_as_each_client_sends_it(
    gql, http, world, storage, client
):
    token = await token_for(gql, "cadre_a")
    head = CLIENT_PART_HEADS[client]
    resp = await raw_file_upload(http, token, head, PDF_BYTES)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["fileName"], resp.json()["contentType"]) == (LICENCE, "application/pdf")
    row = await Attachment.get(id=from_global_id(resp.json()["id"], "Attachment")[1])
    assert row.file_name == LICENCE
    got = await http.get(resp.json()["url"], headers=auth(token))
    assert got.headers["content-disposition"].endswith(f"filename*=UTF-8''{LICENCE_ESCAPED}")

    over_graphql = payload(await raw_graphql_upload(http, token, head, PDF_BYTES))
    assert over_graphql["errors"] == []
    assert over_graphql["attachment"]["fileName"] == LICENCE
    assert over_graphql["attachment"]["contentType"] == "application/pdf"


@pytest.mark.parametrize(
    ("disposition", "stored"),
    [
        ('filename="100%.pdf"', "100%.pdf"),  # no escapes: a name with a % in it
        ('filename="%B5%E7.pdf"', "%B5%E7.pdf"),  # escapes that are no UTF-8: left as sent
        ('filename="%E8%90%A5%20%E4%B8%9A.pdf"', "营 业.pdf"),
        ("filename*=GBK''%D3%AA%D2%B5.pdf", "营业.pdf"),  # the GB family is read too
        ("filename*=iso-8859-1''caf%E9.pdf", "café.pdf"),
        # An unreadable filename* falls back to the plain name beside it (RFC 6266).
        ("filename=\"licence.pdf\"; filename*=Shift_JIS''%82%A0.pdf", "licence.pdf"),
    ],
)
async def test_names_that_are_not_escaped_utf8_are_kept_or_read_by_their_charset(
    gql, http, world, storage, disposition, stored
):
    token = await token_for(gql, "cadre_a")
    head = f'Content-Disposition: form-data; name="{{name}}"; {disposition}'
    resp = await raw_file_upload(http, token, head, PDF_BYTES)
    assert resp.status_code == 201, resp.text
    assert resp.json()["fileName"] == stored
    over_graphql = payload(await raw_graphql_upload(http, token, head, PDF_BYTES))
    assert over_graphql["attachment"]["fileName"] == stored


# --- retries with a client id --------------------------------------------------------------


async def test_a_retry_with_the_same_client_id_returns_the_first_attachment(
    gql, http, world, storage
):
    token = await token_for(gql, "cadre_a")
    client_id = str(uuid.uuid4())
    photo = encode("JPEG", make_exif())
    first = payload(await upload(http, token, "a.jpg", photo, client_id=client_id))
    again = payload(await upload(http, token, "a.jpg", photo, client_id=client_id.upper()))
    assert first["errors"] == again["errors"] == []
    assert again["attachment"] == first["attachment"]
    assert await Attachment.all().count() == 1 and len(stored_files(storage)) == 1
    assert await MutationReceipt.filter(operation="UPLOAD").count() == 1

    other = payload(await upload(http, token, "a.jpg", make_png(), client_id=client_id))
    assert other["attachment"] is None
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CLIENT_ID_REUSED", "clientId")]
    renamed = payload(await upload(http, token, "b.jpg", photo, client_id=client_id))
    assert renamed["errors"][0]["code"] == "CLIENT_ID_REUSED"
    assert await Attachment.all().count() == 1 and len(stored_files(storage)) == 1

    # Without a client id each call stores a file; another user's id space is their own.
    assert (
        payload(await upload(http, token, "a.jpg", photo))["attachment"]["id"]
        != (first["attachment"]["id"])
    )
    admin_token = await token_for(gql, "county_admin")
    theirs = payload(await upload(http, admin_token, "a.jpg", photo, client_id=client_id))
    assert theirs["errors"] == [] and theirs["attachment"]["id"] != first["attachment"]["id"]


async def test_a_client_id_must_be_a_uuid(gql, http, world):
    token = await token_for(gql, "cadre_a")
    got = payload(await upload(http, token, "a.png", make_png(), client_id="retry-1"))
    assert [(e["code"], e["field"]) for e in got["errors"]] == [
        ("INVALID_CLIENT_MUTATION_ID", "clientId")
    ]
    assert await Attachment.all().count() == 0


async def test_purging_an_unused_upload_frees_its_client_id(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    client_id = str(uuid.uuid4())
    first = payload(await upload(http, token, "a.png", make_png(), client_id=client_id))
    await Attachment.all().update(created_at=now() - timedelta(days=3))
    assert await ops.purge_unlinked(timedelta(days=1)) == 1
    assert await MutationReceipt.all().count() == 0
    again = payload(await upload(http, token, "a.png", make_png(), client_id=client_id))
    assert again["errors"] == [] and again["attachment"]["id"] != first["attachment"]["id"]


# --- limits --------------------------------------------------------------------------------


async def _streamed(
    http: httpx.AsyncClient, token: str, files: int, file_bytes: int
) -> httpx.Response | None:
    """A chunked body (no Content-Length) of `files` PNG parts of `file_bytes` each."""
    names = {str(i): [f"variables.f{i}"] for i in range(files)}
    query = "mutation(" + ", ".join(f"$f{i}: Upload" for i in range(files)) + ") { __typename }"
    ops_json = json.dumps({"query": query, "variables": {f"f{i}": None for i in range(files)}})

    async def stream() -> AsyncIterator[bytes]:
        yield part("operations", ops_json.encode()) + part("map", json.dumps(names).encode())
        chunk = bytes(1024 * 1024)
        for i in range(files):
            yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{i}"; filename="{i}.png"\r\n\r\n'.encode()
            yield b"\x89PNG\r\n\x1a\n"
            sent = 8
            while sent < file_bytes:
                piece = chunk[: min(len(chunk), file_bytes - sent)]
                sent += len(piece)
                yield piece
            yield b"\r\n"
        yield f"--{BOUNDARY}--\r\n".encode()

    try:
        return await raw(http, token, stream())
    except httpx.TransportError:  # pragma: no cover - the server may close before reading it
        return None


async def test_an_oversized_file_is_413_and_nothing_is_stored(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    big = b"\x89PNG\r\n\x1a\n" + bytes(ops.MAX_UPLOAD_BYTES)
    try:
        resp: httpx.Response | None = await upload(http, token, "big.png", big)
    except httpx.TransportError:  # pragma: no cover
        resp = None
    streamed = await _streamed(http, token, 1, ops.MAX_UPLOAD_BYTES + 1)
    assert resp is not None or streamed is not None
    for r in (resp, streamed):
        if r is not None:
            code, text = refusal(r, 413)
            assert code == "FILE_TOO_LARGE" and "20 MB" in text
    assert await Attachment.all().count() == 0 and stored_files(storage) == []
    # The limit itself is fine.
    edge = payload(await upload(http, token, "edge.png", big[: ops.MAX_UPLOAD_BYTES]))
    assert edge["errors"] == [] and edge["attachment"]["size"] == ops.MAX_UPLOAD_BYTES


async def announce(server_url: str, token: str, length: int, first_bytes: bytes) -> tuple[int, Any]:
    """Announce a body of `length` bytes, send only its first bytes, and read the answer: a
    server that waited for the whole body would never answer."""
    url = httpx.URL(server_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: {GR}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    writer.write(head.encode() + first_bytes)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(-1), timeout=10)
    finally:
        writer.close()
    head_bytes, _, payload_bytes = answer.partition(b"\r\n\r\n")
    return int(head_bytes.split(b" ", 2)[1]), json.loads(payload_bytes)


async def test_a_body_over_the_request_limit_is_413_before_it_is_read(
    gql, http, server_url, world, storage
):
    token = await token_for(gql, "cadre_a")
    start = part("operations", operations().encode()) + part("map", MAP)
    status, answer = await announce(server_url, token, MAX_MULTIPART_BODY_BYTES + 1, start)
    assert status == 413
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert f"{MAX_MULTIPART_BODY_BYTES // 2**20} MB" in error["message"]

    # Chunked (nothing announced): refused once the stream passes the limit, with every file
    # under the file limit. The server may close before the client sees the answer.
    files = MAX_MULTIPART_BODY_BYTES // (16 * 1024 * 1024) + 1
    streamed = await _streamed(http, token, files, 16 * 1024 * 1024)
    if streamed is not None:
        assert refusal(streamed, 413)[0] == "REQUEST_TOO_LARGE"
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_oversized_operations_and_map_fields_are_413(gql, http, world):
    token = await token_for(gql, "cadre_a")
    huge_ops = json.dumps(
        {"query": UPLOAD, "variables": {"input": {"file": None}}, "pad": "x" * 2**20}
    )
    resp = await raw(http, token, body(part("operations", huge_ops.encode())))
    assert refusal(resp, 413)[0] == "MULTIPART_FIELD_TOO_LARGE"
    huge_map = json.dumps({"0": ["variables.input.file"], "pad": ["y" * 9000]}).encode()
    resp = await raw(
        http, token, body(part("operations", operations().encode()), part("map", huge_map))
    )
    code, text = refusal(resp, 413)
    assert code == "MULTIPART_FIELD_TOO_LARGE" and "map" in text


async def test_at_most_ten_files(gql, http, world):
    token = await token_for(gql, "cadre_a")
    count = MAX_UPLOAD_FILES + 1
    variables = {f"f{i}": None for i in range(count)}
    ops_json = json.dumps({"query": "mutation { __typename }", "variables": variables})
    file_map = json.dumps({str(i): [f"variables.f{i}"] for i in range(count)})
    resp = await raw(
        http, token, body(part("operations", ops_json.encode()), part("map", file_map.encode()))
    )
    code, text = refusal(resp, 400)
    assert code == "TOO_MANY_FILES" and "10" in text


# --- malformed requests --------------------------------------------------------------------


PNG_PART = part("0", make_png(), "a.png")
OPS = part("operations", operations().encode())


def mapped(raw_map: bytes, *rest: bytes) -> tuple[bytes, ...]:
    """operations, the given map, then the rest (by default the one PNG part)."""
    return (OPS, part("map", raw_map), *(rest or (PNG_PART,)))


QUERY_OPS = json.dumps({"query": "query($f: Upload) { me { id } }", "variables": {"f": None}})
CLIENT_ID_OPS = operations("c0ffee00-0000-4000-8000-000000000000")
MALFORMED = {
    "operations not JSON": (
        (part("operations", b"{not json"), part("map", MAP), PNG_PART),
        "MULTIPART_INVALID_OPERATIONS",
    ),
    "batched operations": (
        (part("operations", b"[]"), part("map", MAP), PNG_PART),
        "MULTIPART_INVALID_OPERATIONS",
    ),
    "no query": (
        (part("operations", b'{"variables": {}}'), part("map", MAP), PNG_PART),
        "MULTIPART_INVALID_OPERATIONS",
    ),
    "map not JSON": (mapped(b"{nope"), "MULTIPART_INVALID_MAP"),
    "map a list": (mapped(b'["variables.input.file"]'), "MULTIPART_INVALID_MAP"),
    "path not in a list": (mapped(b'{"0": "variables.input.file"}'), "MULTIPART_INVALID_MAP"),
    "no paths": (mapped(b'{"0": []}'), "MULTIPART_INVALID_MAP"),
    # Paths outside the variables, to variables that do not exist or are not null.
    "path to the query": (mapped(b'{"0": ["query"]}'), "MULTIPART_INVALID_PATH"),
    "path to operationName": (mapped(b'{"0": ["operationName"]}'), "MULTIPART_INVALID_PATH"),
    "path to variables": (mapped(b'{"0": ["variables"]}'), "MULTIPART_INVALID_PATH"),
    "batch path": (mapped(b'{"0": ["0.variables.input.file"]}'), "MULTIPART_INVALID_PATH"),
    "unknown variable": (mapped(b'{"0": ["variables.input.photo"]}'), "MULTIPART_INVALID_PATH"),
    "not a null placeholder": (
        (
            part("operations", CLIENT_ID_OPS.encode()),
            part("map", b'{"0": ["variables.input.clientId"]}'),
            PNG_PART,
        ),
        "MULTIPART_INVALID_PATH",
    ),
    "path beyond the placeholder": (
        mapped(b'{"0": ["variables.input.file.__class__"]}'),
        "MULTIPART_INVALID_PATH",
    ),
    "one placeholder twice": (
        mapped(b'{"0": ["variables.input.file"], "1": ["variables.input.file"]}'),
        "MULTIPART_INVALID_PATH",
    ),
    # Missing, unexpected or misplaced parts.
    "file part missing": ((OPS, part("map", MAP)), "MULTIPART_MISSING_FILE"),
    "file not in map": (
        mapped(MAP, part("1", make_png(), "a.png")),
        "MULTIPART_UNEXPECTED_PART",
    ),
    "file sent twice": (mapped(MAP, PNG_PART, PNG_PART), "MULTIPART_MALFORMED"),
    "other field": (mapped(MAP, part("note", b"x")), "MULTIPART_UNEXPECTED_PART"),
    "map first": ((part("map", MAP), OPS, PNG_PART), "MULTIPART_ORDER"),
    "file before map": ((OPS, PNG_PART, part("map", MAP)), "MULTIPART_ORDER"),
    "file alone": ((PNG_PART,), "MULTIPART_ORDER"),
    "no map": ((OPS,), "MULTIPART_INVALID_MAP"),
    "empty form": ((), "MULTIPART_INVALID_OPERATIONS"),
    # Only mutations.
    "a query": (
        (part("operations", QUERY_OPS.encode()), part("map", b'{"0": ["variables.f"]}'), PNG_PART),
        "MULTIPART_MUTATION_ONLY",
    ),
}


@pytest.mark.parametrize(("parts", "code"), list(MALFORMED.values()), ids=list(MALFORMED))
async def test_malformed_requests_are_400(gql, http, world, storage, parts, code):
    token = await token_for(gql, "cadre_a")
    resp = await raw(http, token, body(*parts))
    got, text = refusal(resp, 400)
    assert got == code, text
    assert text and not text.startswith("MULTIPART")  # a message people can read (Chinese)
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_a_body_cut_short_is_400(gql, http, world):
    token = await token_for(gql, "cadre_a")
    cut = body(part("operations", operations().encode()), part("map", MAP), PNG_PART, close=False)
    resp = await raw(http, token, cut)
    assert refusal(resp, 400)[0] == "MULTIPART_MALFORMED"
    no_boundary = await http.post(
        "/graphql",
        content=b"x",
        headers=auth(token, **{"Content-Type": "multipart/form-data", "Accept": GR}),
    )
    assert refusal(no_boundary, 415)[0] == "MULTIPART_MALFORMED"
    assert await Attachment.all().count() == 0


async def test_uploads_need_a_signed_in_user(gql, http, world):
    resp = await upload(http, None, "a.png", make_png())
    code, _ = refusal(resp, 401)
    assert code == "UNAUTHENTICATED" and resp.headers["www-authenticate"] == "Bearer"
    assert await Attachment.all().count() == 0


async def test_the_json_path_cannot_smuggle_a_file(gql, world):
    await gql.login("cadre_a", "correct-horse-battery")
    resp = await gql.post(UPLOAD, {"input": {"file": "/etc/passwd"}})
    got = payload(resp)
    assert [(e["code"], e["field"]) for e in got["errors"]] == [("UPLOAD_EXPECTED", "file")]
    assert await Attachment.all().count() == 0


# --- who sees it ---------------------------------------------------------------------------


async def test_an_unlinked_photo_is_the_uploaders_alone(gql, http, world):
    cadre_token = await token_for(gql, "cadre_a")
    attachment = payload(await upload(http, cadre_token, "a.jpg", encode("JPEG", make_exif())))[
        "attachment"
    ]
    for username in ("county_admin", "ent_user"):
        token = await token_for(gql, username)
        resp = await http.get(attachment["url"], headers=auth(token))
        assert resp.status_code == 404 and resp.json()["errors"][0]["code"] == "NOT_FOUND"
        gql.token = token
        node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": attachment["id"]})
        assert node["node"] is None
    assert (await http.get(attachment["url"], headers=auth(cadre_token))).status_code == 200


async def test_a_visit_photo_is_seen_by_who_may_read_the_visit(gql, http, world):
    from models.errors import DomainError
    from models.ops.attachments import open_attachment
    from models.tables.visits import Visit
    from tests.factories import make_user

    cadre = await world.actor(world.cadre_a)
    row = await ops.upload_attachment(cadre, "a.jpg", None, encode("JPEG", make_exif()), None)
    # A bare row (the visit operations are tested with the visits); whatever required
    # timestamps the visit model has are set to now.
    stamps = {
        name: now()
        for name, field in Visit._meta.fields_map.items()
        if type(field).__name__ == "DatetimeField"
        and not field.null
        and field.default is None
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
    }
    visit = await Visit.create(
        enterprise=world.ent_a1,
        region=world.town_a,
        status="COMPLETED",
        lead=world.cadre_a,
        created_by=world.cadre_a,
        client_id=str(uuid.uuid4()),
        **stamps,
    )
    other_town = await make_user("cadre_b", "CADRE", world.town_b)
    admin = await world.actor(world.admin)
    with pytest.raises(DomainError):
        await open_attachment(admin, row.id)  # not linked yet: the uploader's alone
    await Attachment.filter(id=row.id).update(visit_id=visit.id)
    assert (await open_attachment(admin, row.id))[0].id == row.id  # the county's admin
    assert (await open_attachment(cadre, row.id))[0].id == row.id  # the uploader
    for user in (other_town, world.enterprise_user):
        with pytest.raises(DomainError):
            await open_attachment(await world.actor(user), row.id)
    # A visit's photo can no longer be linked to a demand, nor is it purged as unused.
    demand, event = await make_demand(world)
    with pytest.raises(DomainError) as refused:
        await ops.attach_files(cadre, [row.id], demand.id, event.id)
    assert refused.value.code == "INVALID_ATTACHMENT"
    await Attachment.filter(id=row.id).update(created_at=now() - timedelta(days=3))
    assert await ops.purge_unlinked(timedelta(days=1)) == 0
    assert await Attachment.filter(id=row.id, visit_id=visit.id).exists()
