"""File upload and download over plain HTTP: `POST /uploads` (multipart/form-data, one `file`
part) and `GET /files/{id}`. Both need the bearer token; GraphQL mutations then take the
uploaded ids (`attachmentIds`).

`StreamingForm` is the one multipart/form-data reader of the server, here and for GraphQL
multipart requests (server/graphql_http.py): the body is read as a stream and parsed as it
arrives; a request announcing more than the limit is refused before reading, and one sending
more than it announced (or chunked) is refused as soon as it passes the limit. Each part is
classified by the endpoint when its headers arrive (file, field, skipped, or refused at once);
files are spooled (on disk past 1 MB), fields kept up to their own small limits."""

from __future__ import annotations

import codecs
import re
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO, Literal, cast
from urllib.parse import quote, unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers, UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from models.errors import DomainError
from models.messages import message, resolve_locale
from models.ops.attachments import (
    MAX_UPLOAD_BYTES,
    MIB,
    UploadQuota,
    check_upload_quota,
    open_attachment,
    store_upload,
)
from schema.relay import from_global_id, to_global_id
from schema.types.files import file_url
from server.auth import actor_from_token, bearer_token
from server.settings import Settings

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
MAX_FIELD_BYTES = 8 * 1024  # other (non-file) form fields are read and ignored up to this
MAX_PART_HEADER_BYTES = 8 * 1024
MAX_PARTS = 100
SPOOL_BYTES = 1 * MIB  # a file part is kept in memory up to this, then on disk
FILE_FIELD = "file"

_STATUS: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "NOT_FOUND": 404,
    "FILE_TOO_LARGE": 413,
    "IMAGE_TOO_LARGE": 413,
    "UNSUPPORTED_FILE_TYPE": 415,
    "EMPTY_FILE": 400,
    "INVALID_UPLOAD": 400,
    # The account's unlinked uploads are at their quota: linking them, or their purge, frees it.
    "TOO_MANY_UNLINKED_UPLOADS": 429,
    "UNLINKED_UPLOADS_TOO_LARGE": 429,
}

# --- the streaming multipart reader ------------------------------------------------------

PartKind = Literal["file", "field", "skip"]
FormProblem = Literal[
    "NOT_MULTIPART",  # not multipart/form-data with a boundary
    "BODY_TOO_LARGE",
    "FILE_TOO_LARGE",
    "FIELD_TOO_LARGE",  # params: name, max
    "TOO_MANY_FILES",
    "MALFORMED",  # unparseable, cut short, duplicate part names, oversized part headers
    "BAD_FILE_NAME",  # only a `filename*=` whose charset or escapes cannot be read
]


class FormRefused(Exception):
    """The body broke one of the reader's own limits; each endpoint maps `problem` to its
    status code and message. Hooks may raise their own exceptions too: they pass through."""

    def __init__(self, problem: FormProblem, **params: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params


class StreamingForm:
    """Reads one multipart/form-data body within limits. Subclasses decide what each part is
    (`classify`), how large a field may be (`field_limit`) and look at fields as they complete
    (`on_field`), so a request can be refused before its files are read. Files become
    starlette `UploadFile`s in `files`, fields bytes in `fields`; `aclose()` frees the files."""

    def __init__(self, *, max_body: int, max_file: int, max_files: int, max_field: int) -> None:
        self.max_body = max_body
        self.max_file = max_file
        self.max_files = max_files
        self.max_field = max_field
        self.files: dict[str, UploadFile] = {}
        self.fields: dict[str, bytes] = {}
        self.ended = False  # the final boundary arrived
        self._parts = 0
        self._kind: PartKind = "skip"
        self._name = ""
        self._size = 0
        self._field = bytearray()
        self._file: UploadFile | None = None
        self._pending: list[tuple[UploadFile, bytes]] = []
        self._header_name = b""
        self._header_value = b""
        self._header_bytes = 0
        self._headers: dict[bytes, bytes] = {}

    # Hooks -----------------------------------------------------------------------------

    def classify(self, name: str, file_name: str | None) -> PartKind:
        """What a part is, from its name and (for file parts) file name; may refuse it."""
        return "file" if file_name is not None else "skip"

    def field_limit(self, name: str) -> int:
        return self.max_field

    def on_field(self, name: str, value: bytes) -> None:
        """A field arrived whole (before any later part is read)."""

    # Reading ---------------------------------------------------------------------------

    async def read(self, request: Request) -> None:
        media, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise FormRefused("NOT_MULTIPART")
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise FormRefused("MALFORMED")
            if int(length) > self.max_body:
                raise FormRefused("BODY_TOO_LARGE")
        try:
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._on_part_begin,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_end": self._on_end,
                },
            )
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > self.max_body:
                    raise FormRefused("BODY_TOO_LARGE")
                parser.write(chunk)
                await self._flush()
            parser.finalize()
        except (FormParserError, ClientDisconnect):
            await self.aclose()
            raise FormRefused("MALFORMED") from None
        except BaseException:
            await self.aclose()
            raise
        # python-multipart does not complain about a body cut short: require the closing boundary.
        if not self.ended:
            await self.aclose()
            raise FormRefused("MALFORMED")

    async def aclose(self) -> None:
        self._pending.clear()
        for upload in self.files.values():
            await upload.close()

    async def _flush(self) -> None:
        # The parser's callbacks are synchronous: file bytes are written here, after each
        # chunk, so a file spooled to disk is written off the event loop.
        pending, self._pending = self._pending, []
        for upload, data in pending:
            await upload.write(data)

    # python-multipart callbacks ----------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise FormRefused("MALFORMED")
        self._kind = "skip"
        self._name = ""
        self._size = 0
        self._field = bytearray()
        self._file = None
        self._headers = {}
        self._header_bytes = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _count_header(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise FormRefused("MALFORMED")

    def _on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        _, options = parse_options_header(disposition)
        name = _decode(options.get(b"name", b""))
        file_name = part_file_name(disposition)
        kind = self.classify(name, file_name)
        if kind != "skip" and (name in self.files or name in self.fields):
            raise FormRefused("MALFORMED")  # the same name twice
        self._kind, self._name = kind, name
        if kind == "file":
            if len(self.files) >= self.max_files:
                raise FormRefused("TOO_MANY_FILES", max=self.max_files)
            claimed = self._headers.get(b"content-type")
            headers = Headers({"content-type": _decode(claimed)}) if claimed else Headers()
            spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - see aclose
            self._file = UploadFile(
                cast(BinaryIO, spool),
                size=0,
                filename=file_name,
                headers=headers,
            )
            self.files[name] = self._file

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._kind == "file":
            assert self._file is not None
            if self._size > self.max_file:
                raise FormRefused("FILE_TOO_LARGE", max=self.max_file)
            self._pending.append((self._file, data[start:end]))
            return
        limit = self.field_limit(self._name) if self._kind == "field" else self.max_field
        if self._size > limit:
            raise FormRefused("FIELD_TOO_LARGE", name=self._name, max=limit)
        if self._kind == "field":
            self._field += data[start:end]

    def _on_part_end(self) -> None:
        if self._kind == "field":
            value = bytes(self._field)
            self._field = bytearray()
            self.fields[self._name] = value
            self.on_field(self._name, value)
        self._kind = "skip"

    def _on_end(self) -> None:
        self.ended = True


class _Refusal(Exception):
    def __init__(self, code: str, status: int | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status or _STATUS.get(code, 400)
        self.params = params


def _error(code: str, locale: str, status: int | None = None, **params: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if code == "UNAUTHENTICATED" else None
    return JSONResponse(
        {"errors": [{"code": code, "message": message(code, locale, **params)}]},
        status_code=status or _STATUS.get(code, 400),
        headers=headers,
    )


def _decode(value: bytes) -> str:
    # Browsers send raw UTF-8 in the part's filename; python-multipart hands it over as latin-1.
    return value.decode("utf-8", errors="replace")


# --- a part's file name --------------------------------------------------------------------

# The charsets a `filename*=` may name: RFC 5987's two, ASCII, and the GB family Chinese
# clients send (read as GB18030, which contains GBK and GB2312).
_NAME_CODECS = {
    "utf-8": "utf-8",
    "iso8859-1": "iso8859-1",
    "ascii": "ascii",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
}
# python-multipart drops `key*=` parameters (RFC 7578 forbids them), so this one is read here.
_EXTENDED_NAME = re.compile(rb';\s*filename\*\s*=\s*"?([^";]*?)"?\s*(?=;|$)', re.IGNORECASE)
_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")
_STRAY_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def part_file_name(disposition: bytes | None) -> str | None:
    """The file name a part's Content-Disposition gives, None for a plain field.

    `filename*=charset'lang'%XX…` (RFC 5987; old requests/urllib3 send only this for a
    non-ASCII name) wins over `filename=` as RFC 6266 says; when it cannot be read, the plain
    name is the fallback it is there for, and without one the part is refused (BAD_FILE_NAME).
    A plain name that is all ASCII with %XX escapes spelling UTF-8 is decoded: aiohttp sends
    `filename="%E8%90%A5%E4%B8%9A.pdf"` for 营业.pdf. A raw UTF-8 name is taken as sent."""
    _, options = parse_options_header(disposition)
    plain = options.get(b"filename")
    extended = _EXTENDED_NAME.search(disposition or b"")
    if extended is not None:
        name = _extended_value(extended.group(1))
        if name is not None:
            return name
        if plain is None:
            raise FormRefused("BAD_FILE_NAME")
    if plain is None:
        return None
    if plain.isascii() and _ESCAPE.search(plain):
        try:
            return unquote_to_bytes(plain).decode("utf-8")
        except UnicodeDecodeError:
            pass  # not an encoded name: a name with a % in it
    return _decode(plain)


def _extended_value(value: bytes) -> str | None:
    """An RFC 5987 ext-value `charset'language'%XX…` decoded, or None when unreadable."""
    charset, _, rest = value.partition(b"'")
    _language, quote_mark, encoded = rest.partition(b"'")
    if not quote_mark or _STRAY_PERCENT.search(encoded):
        return None
    try:
        codec = _NAME_CODECS.get(codecs.lookup(charset.decode("ascii").strip()).name)
        return None if codec is None else unquote_to_bytes(encoded).decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None


class _OneFileForm(StreamingForm):
    """The one `file` part of POST /uploads; other fields are read and ignored."""

    def __init__(self) -> None:
        super().__init__(
            max_body=MAX_BODY_BYTES,
            max_file=MAX_UPLOAD_BYTES,
            max_files=1,
            max_field=MAX_FIELD_BYTES,
        )

    def classify(self, name: str, file_name: str | None) -> PartKind:
        if file_name is None:
            return "skip"  # an ordinary field: ignored
        if name != FILE_FIELD or self.files:
            raise _Refusal("INVALID_UPLOAD")
        return "file"


async def _read_upload(request: Request) -> tuple[str, str | None, bytes]:
    """The file name, claimed type and bytes of the one uploaded file."""
    form = _OneFileForm()
    try:
        await form.read(request)
    except FormRefused as refused:
        if refused.problem in ("BODY_TOO_LARGE", "FILE_TOO_LARGE"):
            raise _Refusal("FILE_TOO_LARGE", max=MAX_UPLOAD_BYTES // MIB) from None
        if refused.problem == "BAD_FILE_NAME":
            raise _Refusal("INVALID_FILE_NAME") from None
        raise _Refusal(
            "INVALID_UPLOAD", 415 if refused.problem == "NOT_MULTIPART" else 400
        ) from None
    try:
        upload = form.files.get(FILE_FIELD)
        if upload is None or upload.filename is None:
            raise _Refusal("INVALID_UPLOAD")
        await upload.seek(0)
        return upload.filename, upload.content_type, await upload.read()
    finally:
        await form.aclose()


def content_disposition(file_name: str, fallback: str | None = None) -> str:
    """`attachment` with an ASCII fallback name (given, or the name's ASCII characters) and the
    exact name RFC 5987-encoded."""
    fallback = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;%' else "_"
        for ch in (fallback or file_name)
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


class FileEndpoints:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.quota = UploadQuota(settings.upload_quota_files, settings.upload_quota_bytes)

    async def upload(self, request: Request) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        if actor is None:
            return _error("UNAUTHENTICATED", locale)
        try:
            await check_upload_quota(actor, self.quota)  # a full quota: the body is not parsed
        except DomainError as err:
            # As for 401: uvicorn drops the unread body and keeps the connection, so the
            # client reads this answer (a close with its body unread could reset it first).
            return _error(err.problems[0].code, locale, **err.problems[0].params)
        try:
            file_name, claimed_type, data = await _read_upload(request)
        except _Refusal as refusal:
            # Refused before the body was read through: the connection cannot be reused.
            response = _error(refusal.code, locale, refusal.status, **refusal.params)
            response.headers["Connection"] = "close"
            return response
        try:
            row = await store_upload(actor, file_name, claimed_type, data, self.quota)
        except DomainError as err:
            p = err.problems[0]
            return _error(p.code, locale, field=p.field, **p.params)
        gid = to_global_id("Attachment", row.id)
        return JSONResponse(
            {
                "id": gid,
                "fileName": row.file_name,
                "contentType": row.content_type,
                "size": row.size,
                "sha256": row.sha256,
                "url": file_url(gid),
            },
            status_code=201,
        )

    async def download(self, request: Request) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        if actor is None:
            return _error("UNAUTHENTICATED", locale)
        try:
            _, pk = from_global_id(request.path_params["id"], "Attachment")
            row, path = await open_attachment(actor, pk)
        except DomainError:
            return _error("NOT_FOUND", locale)
        return FileResponse(
            path,
            media_type=row.content_type,
            headers={
                "Content-Disposition": content_disposition(row.file_name),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )
