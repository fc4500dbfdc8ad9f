"""Attachments: upload over HTTP, type sniffing, size limits, visibility, linking and cleanup."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from models.access import load_actor
from models.errors import DomainError
from models.ops import attachments as ops
from models.rules.clock import now
from models.rules.demand_states import DemandAction, DemandSource, DemandState
from models.tables.demands import Attachment, Demand, DemandEvent
from schema.relay import from_global_id, to_global_id
from tests.conftest import GraphQLClient
from tests.factories import PASSWORD, World, make_user

# --- test files, made here ---------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png() -> bytes:
    """A valid 1×1 RGBA PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>企业诉求材料</w:t></w:r></w:p></w:body></w:document>"
)


def make_docx(main: str = DOCX_MAIN, *, extra_zeros: int = 0, extra_entries: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main))
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", DOCUMENT)
        if extra_zeros:
            with z.open("word/media/padding.bin", "w", force_zip64=True) as fh:
                chunk = bytes(1024 * 1024)
                for _ in range(extra_zeros // len(chunk)):
                    fh.write(chunk)
        for i in range(extra_entries):
            z.writestr(f"word/parts/{i}.xml", b"")
    return buf.getvalue()


ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x90" * 64
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(48) + b"PE\x00\x00"
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


# --- fixtures and helpers ------------------------------------------------------------------


async def token_for(gql: GraphQLClient, username: str) -> str:
    payload = await gql.login(username, PASSWORD)
    gql.token = None
    return payload["accessToken"]


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def upload(
    http: httpx.AsyncClient,
    token: str,
    name: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    **headers: str,
) -> httpx.Response:
    return await http.post(
        "/uploads", files={"file": (name, data, content_type)}, headers=auth(token, **headers)
    )


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def make_demand(world: World, *, in_town_b: bool = True) -> tuple[Demand, DemandEvent]:
    enterprise, region = (world.ent_b1, world.town_b) if in_town_b else (world.ent_a2, world.town_a)
    demand = await Demand.create(
        source=DemandSource.APP,
        enterprise=enterprise,
        region=region,
        title="厂区道路破损",
        description="厂区门口道路破损，影响货车通行",
        state=DemandState.SUBMITTED,
        submitted_by=world.admin,
        submitted_at=now(),
    )
    event = await DemandEvent.create(
        demand=demand,
        action=DemandAction.SUBMIT,
        actor=world.admin,
        at=now(),
        to_state=DemandState.SUBMITTED,
    )
    return demand, event


NODE = """query($id: ID!) { node(id: $id) { id ... on Attachment {
    fileName contentType size url createdAt } } }"""


# --- upload and download -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "expected_type"),
    [
        ("现场照片.png", make_png, "image/png"),
        ("营业执照.pdf", lambda: PDF_BYTES, "application/pdf"),
        (
            "情况说明.docx",
            make_docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
async def test_upload_and_fetch_back_byte_identical(
    gql, http, world, storage, name, make, expected_type
):
    data = make()
    token = await token_for(gql, "county_admin")
    resp = await upload(http, token, name, data)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["fileName"] == name
    assert body["contentType"] == expected_type  # sniffed, not the client's octet-stream
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert from_global_id(body["id"], "Attachment")[0] == "Attachment"
    assert body["url"] == f"/files/{body['id']}"

    got = await http.get(body["url"], headers=auth(token))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == expected_type
    assert got.headers["x-content-type-options"] == "nosniff"
    # An authenticated answer: kept by no cache, shared or private (server.security).
    assert got.headers["cache-control"] == "no-store"
    assert f"filename*=UTF-8''{quote(name, safe='')}" in got.headers["content-disposition"]
    assert got.headers["content-disposition"].startswith("attachment;")

    # The uploader sees it through node(id:) too.
    gql.token = token
    node = (await gql(NODE, {"id": body["id"]}))["node"]
    assert node["fileName"] == name and node["size"] == len(data)
    assert node["contentType"] == expected_type and node["url"] == body["url"]
    # One row and one file under a random sharded key.
    row = await Attachment.get(id=from_global_id(body["id"])[1])
    assert row.demand_id is None and row.storage_key.count("/") == 2  # type: ignore[attr-defined]
    assert ops.storage_path(row.storage_key).read_bytes() == data
    assert stored_files(storage) == [ops.storage_path(row.storage_key)]


async def test_plain_utf8_text_is_accepted_and_served_as_text(gql, http, world):
    token = await token_for(gql, "cadre_a")
    data = "走访记录：企业反映用电问题。\n".encode()
    resp = await upload(http, token, "记录.txt", data, "text/plain")
    assert resp.status_code == 201 and resp.json()["contentType"] == "text/plain; charset=utf-8"
    got = await http.get(resp.json()["url"], headers=auth(token))
    assert got.content == data and got.headers["content-type"] == "text/plain; charset=utf-8"


async def test_both_endpoints_need_a_valid_token(gql, http, world):
    resp = await http.post("/uploads", files={"file": ("a.png", make_png(), "image/png")})
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "UNAUTHENTICATED"
    assert resp.headers["www-authenticate"] == "Bearer"
    bad = await upload(http, "not-a-token", "a.png", make_png())
    assert bad.status_code == 401
    token = await token_for(gql, "cadre_a")
    gid = (await upload(http, token, "a.png", make_png())).json()["id"]
    assert (await http.get(f"/files/{gid}")).status_code == 401
    assert await Attachment.all().count() == 1


async def test_missing_or_malformed_ids_are_404(gql, http, world):
    token = await token_for(gql, "cadre_a")
    for gid in ("nope", to_global_id("Attachment", 999), to_global_id("Demand", 1)):
        resp = await http.get(f"/files/{gid}", headers=auth(token))
        assert resp.status_code == 404 and resp.json()["errors"][0]["code"] == "NOT_FOUND"


async def test_a_request_without_a_file_part_is_refused(gql, http, world):
    token = await token_for(gql, "cadre_a")
    no_file = await http.post(
        "/uploads", data={"note": "x"}, files={"other": ("a.png", b"x")}, headers=auth(token)
    )
    assert no_file.status_code == 400 and no_file.json()["errors"][0]["code"] == "INVALID_UPLOAD"
    not_multipart = await http.post("/uploads", json={"file": "x"}, headers=auth(token))
    assert not_multipart.status_code == 415
    two = await http.post(
        "/uploads",
        files=[("file", ("a.png", make_png())), ("file", ("b.png", make_png()))],
        headers=auth(token),
    )
    assert two.status_code == 400
    truncated = await http.post(
        "/uploads",
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + make_png(),  # no closing boundary: the body was cut short
        headers=auth(token, **{"Content-Type": "multipart/form-data; boundary=b"}),
    )
    assert truncated.status_code == 400
    empty = await upload(http, token, "empty.png", b"")
    assert empty.status_code == 400 and empty.json()["errors"][0]["code"] == "EMPTY_FILE"
    assert await Attachment.all().count() == 0


# --- visibility ------------------------------------------------------------------------------


async def test_linked_file_is_visible_only_to_who_may_read_the_demand(gql, http, world):
    admin_token = await token_for(gql, "county_admin")
    gid = (await upload(http, admin_token, "现场.png", make_png())).json()["id"]
    demand, event = await make_demand(world, in_town_b=True)
    await ops.attach_files(
        await world.actor(world.admin), [from_global_id(gid)[1]], demand.id, event.id
    )

    await make_user("dispatcher_b", "DISPATCHER", world.town_b)
    for username, status in [
        ("county_admin", 200),  # the uploader
        ("dispatcher_b", 200),  # the demand's region
        ("cadre_a", 404),  # another town
        ("ent_user", 404),  # a contact of another enterprise
    ]:
        token = await token_for(gql, username)
        resp = await http.get(f"/files/{gid}", headers=auth(token))
        assert resp.status_code == status, username
        gql.token = token
        node = (await gql(NODE, {"id": gid}))["node"]
        assert (node is not None) == (status == 200), username
    # The grouped loaders serve the demand's and the event's files.
    from schema.loaders import Loaders

    loaders = Loaders()
    by_event = await loaders.attachments_by_event.load(event.id)
    by_demand = await loaders.attachments_by_demand.load(demand.id)
    assert [r["id"] for r in by_event] == [r["id"] for r in by_demand] == [from_global_id(gid)[1]]


async def test_unlinked_file_is_invisible_to_everyone_but_its_uploader(gql, http, world):
    cadre_token = await token_for(gql, "cadre_a")
    gid = (await upload(http, cadre_token, "a.png", make_png())).json()["id"]
    for username in ("county_admin", "ent_user"):
        token = await token_for(gql, username)
        resp = await http.get(f"/files/{gid}", headers=auth(token, **{"Accept-Language": "en"}))
        assert resp.status_code == 404
        assert resp.json()["errors"][0]["message"] == "Not found, or not visible to you"
        gql.token = token
        assert (await gql(NODE, {"id": gid}))["node"] is None
    assert (await http.get(f"/files/{gid}", headers=auth(cadre_token))).status_code == 200


# --- refused files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "claim"),
    [
        ("photo.jpg", ELF_BYTES, "image/jpeg"),
        ("photo.jpg", EXE_BYTES, "image/jpeg"),
        ("photo.jpg", HTML_BYTES, "image/jpeg"),
        ("report.pdf", HTML_BYTES, "application/pdf"),
        ("report.pdf", make_png(), "application/pdf"),  # a real image, lying about its type
        ("table.xlsx", make_docx(), "application/octet-stream"),  # a Word file named .xlsx
        ("macro.docx", make_docx(main=XLSX_MAIN), "application/octet-stream"),
        ("page.pdf", PDF_BYTES, "text/html"),  # a dangerous claim
        ("notes.txt", "旧文件".encode("gbk"), "text/plain"),  # not UTF-8
        ("notes.txt", b"text\x00with\x01nul", "text/plain"),
        ("run.exe", EXE_BYTES, "application/octet-stream"),
        ("page.html", HTML_BYTES, "text/html"),
        ("noextension", make_png(), "image/png"),
    ],
)
async def test_files_that_are_not_what_they_say_are_refused(
    gql, http, world, storage, name, data, claim
):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, name, data, claim)
    assert resp.status_code == 415, resp.text
    error = resp.json()["errors"][0]
    assert error["code"] == "UNSUPPORTED_FILE_TYPE"
    assert "不支持的文件类型" in error["message"]
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_refusal_messages_follow_accept_language(gql, http, world):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, "photo.jpg", ELF_BYTES, **{"Accept-Language": "en-US,en"})
    assert resp.json()["errors"][0]["message"].startswith("Unsupported file type")


async def test_oversize_upload_is_413_and_nothing_is_stored(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    big = b"\x89PNG\r\n\x1a\n" + bytes(ops.MAX_UPLOAD_BYTES)
    # Announced by Content-Length: refused before the body is read.
    try:
        resp = await upload(http, token, "big.png", big)
    except httpx.TransportError:  # pragma: no cover - the server may close before reading it
        resp = None
    if resp is not None:
        assert resp.status_code == 413
        error = resp.json()["errors"][0]
        assert error["code"] == "FILE_TOO_LARGE" and "20 MB" in error["message"]

    # Chunked, without Content-Length: refused once the stream passes the limit.
    boundary = "enterprise-desk-test-boundary"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        chunk = bytes(1024 * 1024)
        for _ in range(ops.MAX_UPLOAD_BYTES // len(chunk) + 1):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        streamed = await http.post(
            "/uploads",
            content=body(),
            headers=auth(token, **{"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        )
    except httpx.TransportError:  # pragma: no cover
        streamed = None
    if streamed is not None:
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["code"] == "FILE_TOO_LARGE"
    assert resp is not None or streamed is not None
    assert await Attachment.all().count() == 0 and stored_files(storage) == []

    # The limit itself is fine.
    exact = await upload(http, token, "edge.png", big[: ops.MAX_UPLOAD_BYTES])
    assert exact.status_code == 201 and exact.json()["size"] == ops.MAX_UPLOAD_BYTES


async def test_zip_bombs_named_docx_are_refused(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    expanding = make_docx(extra_zeros=ops.MAX_ZIP_UNCOMPRESSED_BYTES + 1024 * 1024)
    assert len(expanding) < 2 * 1024 * 1024  # small on the wire, huge unpacked
    resp = await upload(http, token, "bomb.docx", expanding)
    assert resp.status_code == 415 and resp.json()["errors"][0]["code"] == "UNSUPPORTED_FILE_TYPE"
    crowded = make_docx(extra_entries=ops.MAX_ZIP_ENTRIES)
    resp = await upload(http, token, "crowded.docx", crowded)
    assert resp.status_code == 415
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_path_traversal_names_are_stored_under_a_random_key(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, "../../etc/passwd.png", make_png())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["fileName"] == "passwd.png"
    row = await Attachment.get(id=from_global_id(body["id"])[1])
    assert row.file_name == "passwd.png"
    assert "passwd" not in row.storage_key and ".." not in row.storage_key
    [path] = stored_files(storage)
    assert path == ops.storage_path(row.storage_key) and path.is_relative_to(storage)
    got = await http.get(body["url"], headers=auth(token))
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"passwd.png\"; filename*=UTF-8''passwd.png"
    )


def test_display_names_are_made_safe():
    assert ops.clean_file_name("C:\\Users\\张三\\照片.jpg") == "照片.jpg"
    assert ops.clean_file_name("a\x00b\r\n.png") == "ab.png"
    assert ops.clean_file_name("evil\u202egnp.exe") == "evilgnp.exe"  # no bidi override
    assert ops.clean_file_name("../..") == "file"
    long = ops.clean_file_name("很" * 300 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


def test_sniffing_of_other_allowed_types():
    assert ops.detect_type("a.jpeg", "image/jpg", b"\xff\xd8\xff\xe0" + bytes(20)) == ops.JPEG
    assert ops.detect_type("a.gif", None, b"GIF89a" + bytes(20)) == ops.GIF
    webp = b"RIFF" + struct.pack("<I", 20) + b"WEBPVP8 " + bytes(12)
    assert ops.detect_type("a.webp", "image/webp", webp) == ops.WEBP
    heic = struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(8)
    assert ops.detect_type("IMG_0001.HEIC", "image/heic", heic) == ops.HEIC
    heif = struct.pack(">I", 20) + b"ftypmif1" + bytes(4) + b"mif1" + bytes(8)
    assert ops.detect_type("a.heif", None, heif) == ops.HEIF
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)
    word = ole + "WordDocument".encode("utf-16-le")
    excel = ole + "Workbook".encode("utf-16-le")
    assert ops.detect_type("a.doc", "application/msword", word) == ops.DOC
    assert ops.detect_type("a.xls", None, excel) == ops.XLS
    from openpyxl import Workbook

    book = io.BytesIO()
    Workbook().save(book)  # a real workbook, as Excel-compatible tools write it
    assert ops.detect_type("报表.xlsx", "application/zip", book.getvalue()) == ops.XLSX
    for name, data in [("a.xls", word), ("a.doc", ole), ("a.heic", b"\x00" * 30)]:
        with pytest.raises(ops.UnsupportedFile):
            ops.detect_type(name, None, data)


# --- linking and cleanup ---------------------------------------------------------------------


async def test_attach_files_links_only_own_unlinked_uploads(gql, world, storage):
    admin = await world.actor(world.admin)
    cadre = await world.actor(world.cadre_a)
    mine = await ops.store_upload(admin, "a.png", "image/png", make_png())
    mine2 = await ops.store_upload(admin, "b.pdf", None, PDF_BYTES)
    theirs = await ops.store_upload(cadre, "c.png", None, make_png())
    demand, event = await make_demand(world)

    # Someone else's upload is not among the admin's: refused, and nothing of the call linked.
    with pytest.raises(DomainError) as refused:
        await ops.attach_files(admin, [mine.id, theirs.id], demand.id, event.id)
    assert refused.value.code == "UPLOAD_NOT_FOUND"
    assert refused.value.problems[0].field == "attachmentIds"
    assert refused.value.problems[0].params["ids"] == [theirs.id]
    assert await Attachment.filter(demand_id=demand.id).count() == 0

    linked = await ops.attach_files(admin, [mine.id, mine2.id], demand.id, event.id)
    assert [a.id for a in linked] == [mine.id, mine2.id]
    assert all(a.demand_id == demand.id and a.event_id == event.id for a in linked)  # type: ignore[attr-defined]

    # A second link of the same file is refused; the first link stays.
    other, other_event = await make_demand(world, in_town_b=False)
    with pytest.raises(DomainError) as again:
        await ops.attach_files(admin, [mine.id], other.id, other_event.id)
    assert again.value.code == "INVALID_ATTACHMENT"
    assert (await Attachment.get(id=mine.id)).demand_id == demand.id  # type: ignore[attr-defined]

    with pytest.raises(DomainError) as unknown:  # never uploaded, or removed as unused
        await ops.attach_files(admin, [987654], demand.id, None)
    assert unknown.value.code == "UPLOAD_NOT_FOUND"
    with pytest.raises(DomainError) as too_many:
        await ops.attach_files(admin, list(range(1, 22)), demand.id, None)
    assert too_many.value.code == "TOO_MANY_ATTACHMENTS"
    assert await ops.attach_files(admin, [], demand.id, None) == []


async def test_concurrent_links_of_one_file_cannot_both_succeed(gql, world, storage):
    import asyncio

    admin = await world.actor(world.admin)
    upload_row = await ops.store_upload(admin, "a.png", None, make_png())
    first, _ = await make_demand(world)
    second, _ = await make_demand(world, in_town_b=False)
    results = await asyncio.gather(
        ops.attach_files(admin, [upload_row.id], first.id, None),
        ops.attach_files(admin, [upload_row.id], second.id, None),
        return_exceptions=True,
    )
    assert sum(isinstance(r, list) for r in results) == 1
    assert sum(isinstance(r, DomainError) for r in results) == 1


async def test_store_upload_needs_a_signed_in_user_and_a_small_file(gql, world, storage):
    with pytest.raises(DomainError) as anonymous:
        await ops.store_upload(None, "a.png", None, make_png())
    assert anonymous.value.code == "UNAUTHENTICATED"
    cadre = await load_actor(world.cadre_a.id)
    with pytest.raises(DomainError) as big:
        await ops.store_upload(cadre, "a.png", None, b"\x89PNG" + bytes(ops.MAX_UPLOAD_BYTES))
    assert big.value.code == "FILE_TOO_LARGE" and big.value.problems[0].field == "file"
    assert stored_files(storage) == []


async def test_purge_removes_only_old_unlinked_uploads(gql, world, storage):
    admin = await world.actor(world.admin)
    old = await ops.store_upload(admin, "old.png", None, make_png())
    fresh = await ops.store_upload(admin, "fresh.png", None, make_png())
    kept = await ops.store_upload(admin, "kept.png", None, make_png())
    demand, _ = await make_demand(world)
    await ops.attach_files(admin, [kept.id], demand.id, None)
    await Attachment.filter(id__in=[old.id, kept.id]).update(created_at=now() - timedelta(days=3))

    assert await ops.purge_unlinked(timedelta(days=1)) == 1
    assert set(await Attachment.all().values_list("id", flat=True)) == {fresh.id, kept.id}
    assert not ops.storage_path(old.storage_key).exists()
    assert ops.storage_path(kept.storage_key).exists()
    assert ops.storage_path(fresh.storage_key).exists()
