"""Hostile uploads over HTTP (POST /uploads and GraphQL multipart): files lying about their
type, polyglots, decompression bombs, compressed request bodies, and names that try to walk
out of the storage folder. Each is refused with a stable code and a Chinese message, or stored
under a random key with a safe name and served inert; downloads never leave the folder."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib

import pytest

from models.ops import attachments as ops
from models.tables.demands import Attachment
from schema.relay import from_global_id, to_global_id
from tests.test_api_uploads import (
    GR,
    UPLOAD,
    body,
    part,
    raw,
    raw_file_upload,
    raw_graphql_upload,
)
from tests.test_api_uploads import upload as graphql_upload
from tests.test_attachments import (
    HTML_BYTES,
    PDF_BYTES,
    _png_chunk,
    auth,
    make_docx,
    make_png,
    stored_files,
    token_for,
    upload,
)

# --- files made here ------------------------------------------------------------------------


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.txt", "not an image")
    return buf.getvalue()


def png_of(width: int, height: int) -> bytes:
    """A PNG whose header declares this size, with a token of pixel data: small on the wire,
    width × height × 4 bytes for whoever decodes it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(64 * 1024)))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_of(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + bytes(64)


def gif_of(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + bytes(32) + b";"


def webp_of(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def heic_of(width: int, height: int) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic"
    ispe = struct.pack(">I", 20) + b"ispe" + bytes(4) + struct.pack(">II", width, height)
    meta = struct.pack(">I", 12 + len(ispe)) + b"meta" + bytes(4) + ispe
    return ftyp + meta + bytes(64)


def lying_zip_bomb() -> bytes:
    """An .xlsx whose [Content_Types].xml inflates to 64 MB while its headers claim 100
    bytes (the central directory's sums say nothing is large)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", bytes(64 * 1024 * 1024))
    data = bytearray(buf.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", 100)
    return bytes(data)


# --- types that lie -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "claim"),
    [
        ("photo.png", zip_bytes(), "image/png"),  # a ZIP named and claimed as a PNG
        ("photo.png", make_docx(), "image/png"),  # an Office file dressed as a PNG
        ("report.docx", zip_bytes(), "application/octet-stream"),  # a ZIP, not a document
        ("report.docx", make_png() + make_docx(), "application/octet-stream"),  # PNG first
        ("report.pdf", make_png() + PDF_BYTES, "application/pdf"),
        ("photo.png", make_png(), "image/svg+xml"),  # a dangerous claim
        ("page.png.html", make_png() + HTML_BYTES, "image/png"),  # the last extension counts
    ],
)
async def test_files_lying_about_their_type_are_refused_by_both_endpoints(
    gql, http, world, storage, name, data, claim
):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, name, data, claim)
    assert resp.status_code == 415, resp.text
    [error] = resp.json()["errors"]
    assert error["code"] == "UNSUPPORTED_FILE_TYPE" and "不支持的文件类型" in error["message"]
    over_graphql = await graphql_upload(http, token, name, data, claim)
    [refusal] = over_graphql.json()["data"]["uploadAttachment"]["errors"]
    assert refusal["code"] == "UNSUPPORTED_FILE_TYPE" and refusal["field"] == "file"
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_a_polyglot_is_kept_as_what_its_bytes_begin_with_and_served_inert(
    gql, http, world, storage
):
    """A PNG with an HTML page (and a ZIP) appended is a valid PNG: stored as image/png and
    served as a download that no browser renders as a page."""
    token = await token_for(gql, "cadre_a")
    polyglot = make_png() + HTML_BYTES + zip_bytes()
    resp = await upload(http, token, "photo.png", polyglot, "image/png")
    assert resp.status_code == 201 and resp.json()["contentType"] == "image/png"
    got = await http.get(resp.json()["url"], headers=auth(token))
    assert got.status_code == 200 and got.content == polyglot
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in got.headers["content-security-policy"]


# --- decompression bombs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bomb.png", png_of(100_000, 100_000)),
        ("bomb.jpg", jpeg_of(60_000, 60_000)),
        ("bomb.gif", gif_of(65_535, 65_535)),
        ("bomb.webp", webp_of(16_384, 16_384)),
        ("bomb.heic", heic_of(20_000, 20_000)),
    ],
)
async def test_images_declaring_a_huge_size_are_refused(gql, http, world, storage, name, data):
    token = await token_for(gql, "cadre_a")
    assert len(data) < 100 * 1024
    # Refused on the size its header declares: decoding it would need gigabytes.
    resp = await upload(http, token, name, data)
    assert resp.status_code == 413, resp.text
    [error] = resp.json()["errors"]
    assert error["code"] == "IMAGE_TOO_LARGE"
    assert error["message"] == f"图片尺寸过大，不能超过 {ops.MAX_IMAGE_MEGAPIXELS} 百万像素"
    en = await upload(http, token, name, data, **{"Accept-Language": "en"})
    assert en.json()["errors"][0]["message"] == (
        f"The image is too large: at most {ops.MAX_IMAGE_MEGAPIXELS} megapixels"
    )
    over_graphql = await graphql_upload(http, token, name, data)
    assert over_graphql.json()["data"]["uploadAttachment"]["errors"][0]["code"] == (
        "IMAGE_TOO_LARGE"
    )
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_large_but_sane_images_pass(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    for name, data in [
        ("pano.jpg", jpeg_of(30_000, 4_000)),  # 120 MP: the limit itself
        ("scan.png", png_of(10_000, 10_000)),
    ]:
        resp = await upload(http, token, name, data)
        assert resp.status_code == 201, (name, resp.text)


async def test_a_zip_bomb_lying_about_its_sizes_is_refused(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    bomb = lying_zip_bomb()
    assert len(bomb) < 1024 * 1024
    resp = await upload(http, token, "报表.xlsx", bomb)
    assert resp.status_code == 415 and resp.json()["errors"][0]["code"] == "UNSUPPORTED_FILE_TYPE"
    assert await Attachment.all().count() == 0


async def test_compressed_request_bodies_are_not_inflated(gql, http, world, storage):
    """Nothing decompresses a request body: a gzip bomb sent with Content-Encoding: gzip is
    just bytes that are not a form (or not JSON)."""
    token = await token_for(gql, "cadre_a")
    bomb = gzip.compress(bytes(50 * 1024 * 1024), compresslevel=9)
    resp = await http.post(
        "/uploads",
        content=bomb,
        headers=auth(
            token,
            **{"Content-Type": "multipart/form-data; boundary=x", "Content-Encoding": "gzip"},
        ),
    )
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "INVALID_UPLOAD"
    resp = await http.post(
        "/graphql",
        content=gzip.compress(json.dumps({"query": "{ me { id } }"}).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept": GR},
    )
    assert resp.status_code == 400 and resp.json()["errors"][0]["extensions"]["code"] == (
        "INVALID_JSON"
    )
    assert await Attachment.all().count() == 0


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_name", "stored"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("/etc/passwd.png", "passwd.png"),
        ("..\\..\\..\\Windows\\win.ini.png", "win.ini.png"),
        ("C:\\Users\\张三\\照片.png", "照片.png"),
        ("....//....//x.png", "x.png"),
        # Decoded as aiohttp's escapes are, then cut to its last component like any other.
        ("..%2F..%2Fetc%2Fpasswd.png", "passwd.png"),
        ("%2E%2E%5C%2E%2E%5Cwin.ini.png", "win.ini.png"),
        ("a%00b%0D%0A.png", "ab.png"),  # escaped control characters are dropped too
        ("evil\u202egnp.png", "evilgnp.png"),
        ("名" * 600 + ".png", "名" * 251 + ".png"),  # cut to 255 characters
    ],
)
async def test_names_cannot_walk_out_of_the_storage_folder(
    gql, http, world, storage, raw_name, stored
):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, raw_name, make_png())
    assert resp.status_code == 201, resp.text
    assert resp.json()["fileName"] == stored
    row = await Attachment.get(id=from_global_id(resp.json()["id"])[1])
    assert row.file_name == stored
    [path] = stored_files(storage)
    assert path == ops.storage_path(row.storage_key) and path.resolve().is_relative_to(
        storage.resolve()
    )
    got = await http.get(resp.json()["url"], headers=auth(token))
    assert got.status_code == 200 and "/" not in got.headers["content-disposition"].split(";")[1]


async def test_a_name_longer_than_a_part_header_may_be_is_refused(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    resp = await upload(http, token, "名" * 5000 + ".png", make_png())
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "INVALID_UPLOAD"
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


@pytest.mark.parametrize(
    "extended",
    [
        "UTF-8''%FF%FE.pdf",  # escapes that are no UTF-8
        "UTF-8''%E8%9.pdf",  # a stray %
        "x-unknown''a.pdf",  # a charset nobody knows
        "rot13''n.cqs",  # a codec that is not a charset
        "营业.pdf",  # no charset'language' prefix at all
        "\"UTF-8''%E8%90",  # cut inside its quotes
    ],
)
async def test_an_unreadable_rfc5987_name_is_a_clear_400(gql, http, world, storage, extended):
    token = await token_for(gql, "cadre_a")
    head = f'Content-Disposition: form-data; name="{{name}}"; filename*={extended}'
    resp = await raw_file_upload(http, token, head, PDF_BYTES)
    assert resp.status_code == 400, resp.text
    [error] = resp.json()["errors"]
    assert error == {
        "code": "INVALID_FILE_NAME",
        "message": "无法识别文件名的编码，请以 UTF-8 编码发送文件名",
    }
    resp = await raw_graphql_upload(http, token, head, PDF_BYTES, **{"Accept-Language": "en"})
    assert resp.status_code == 400, resp.text
    [error] = resp.json()["errors"]
    assert error["extensions"]["code"] == "INVALID_FILE_NAME"
    assert error["message"] == "The file name's encoding cannot be read: send the name in UTF-8"
    assert await Attachment.all().count() == 0 and stored_files(storage) == []


async def test_a_nul_in_a_multipart_file_name_is_dropped(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    operations = json.dumps({"query": UPLOAD, "variables": {"input": {"file": None}}})
    content = body(
        part("operations", operations.encode()),
        part("map", b'{"0": ["variables.input.file"]}'),
        part("0", make_png(), file_name="a\x00b.png"),
    )
    resp = await raw(http, token, content)
    payload = resp.json()["data"]["uploadAttachment"]
    assert payload["errors"] == [] and payload["attachment"]["fileName"] == "ab.png"


async def test_downloads_cannot_be_pointed_outside_the_storage_folder(gql, http, world, storage):
    token = await token_for(gql, "cadre_a")
    for target in (
        "/files/..%2F..%2Fetc%2Fpasswd",
        "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/files/" + to_global_id("Attachment", "../../etc/passwd"),
        "/files/" + to_global_id("Attachment", "1 OR 1=1"),
        "/files/" + to_global_id("Attachment", "1\x00"),
    ):
        resp = await http.get(target, headers=auth(token))
        assert resp.status_code == 404, (target, resp.text)
        assert "root:" not in resp.text
    # A row whose storage key was tampered with (say, by a faulty migration) names no path.
    resp = await upload(http, token, "photo.png", make_png())
    pk = from_global_id(resp.json()["id"])[1]
    for key in ("../../../../etc/passwd", "/etc/passwd", "ab/cd/" + "0" * 31 + "/"):
        await Attachment.filter(id=pk).update(storage_key=key)
        got = await http.get(resp.json()["url"], headers=auth(token))
        assert got.status_code == 404 and got.json()["errors"][0]["code"] == "NOT_FOUND"
