"""File upload and download over plain HTTP: `POST /uploads` (multipart/form-data, one `file`
part) and `GET /files/{id}`. Both need the bearer token; GraphQL mutations then take the
uploaded ids (`attachmentIds`).

The body is read as a stream and parsed as it arrives: a request announcing more than the limit
is refused before reading, and one sending more than it announced (or chunked) is refused as
soon as it passes the limit, so at most one file's worth of bytes is ever held in memory."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from models.errors import DomainError
from models.messages import message, resolve_locale
from models.ops.attachments import MAX_UPLOAD_BYTES, MIB, open_attachment, store_upload
from schema.relay import from_global_id, to_global_id
from schema.types.files import file_url
from server.auth import actor_from_token, bearer_token
from server.settings import Settings

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
MAX_FIELD_BYTES = 8 * 1024  # other (non-file) form fields are read and ignored up to this
FILE_FIELD = "file"

_STATUS: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "NOT_FOUND": 404,
    "FILE_TOO_LARGE": 413,
    "UNSUPPORTED_FILE_TYPE": 415,
    "EMPTY_FILE": 400,
    "INVALID_UPLOAD": 400,
}


class _Refusal(Exception):
    def __init__(self, code: str, status: int | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status or _STATUS.get(code, 400)
        self.params = params


def _too_large() -> _Refusal:
    return _Refusal("FILE_TOO_LARGE", max=MAX_UPLOAD_BYTES // MIB)


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


class _OneFileForm:
    """Collects the one `file` part of a multipart body, refusing more than the size limit."""

    def __init__(self) -> None:
        self.file_name: str | None = None
        self.content_type: str | None = None
        self.data = bytearray()
        self.files_seen = 0
        self.file_complete = False  # the file part's closing boundary arrived
        self.ended = False  # the final boundary arrived
        self._in_file = False
        self._field_bytes = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}

    def on_part_begin(self) -> None:
        self._in_file = False
        self._field_bytes = 0
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        if b"filename" not in options:
            return  # an ordinary field: ignored
        self.files_seen += 1
        if self.files_seen > 1 or options.get(b"name") != FILE_FIELD.encode():
            raise _Refusal("INVALID_UPLOAD")
        self._in_file = True
        self.file_name = _decode(options[b"filename"])
        claimed = self._headers.get(b"content-type")
        self.content_type = _decode(claimed) if claimed else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._in_file:
            if len(self.data) + size > MAX_UPLOAD_BYTES:
                raise _too_large()
            self.data += data[start:end]
        else:
            self._field_bytes += size
            if self._field_bytes > MAX_FIELD_BYTES:
                raise _Refusal("INVALID_UPLOAD")

    def on_part_end(self) -> None:
        if self._in_file:
            self.file_complete = True
        self._in_file = False

    def on_end(self) -> None:
        self.ended = True


async def _read_upload(request: Request) -> _OneFileForm:
    media, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise _Refusal("INVALID_UPLOAD", 415)
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _Refusal("INVALID_UPLOAD")
        if int(length) > MAX_BODY_BYTES:
            raise _too_large()
    form = _OneFileForm()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": form.on_part_begin,
            "on_part_data": form.on_part_data,
            "on_part_end": form.on_part_end,
            "on_header_field": form.on_header_field,
            "on_header_value": form.on_header_value,
            "on_header_end": form.on_header_end,
            "on_headers_finished": form.on_headers_finished,
            "on_end": form.on_end,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BODY_BYTES:
                raise _too_large()
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ClientDisconnect):
        raise _Refusal("INVALID_UPLOAD") from None
    # python-multipart does not complain about a body cut short: require the closing boundary.
    if form.files_seen != 1 or form.file_name is None or not (form.file_complete and form.ended):
        raise _Refusal("INVALID_UPLOAD")
    return form


def content_disposition(file_name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name RFC 5987-encoded."""
    fallback = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;%' else "_" for ch in file_name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


class FileEndpoints:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def upload(self, request: Request) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        if actor is None:
            return _error("UNAUTHENTICATED", locale)
        try:
            form = await _read_upload(request)
        except _Refusal as refusal:
            # Refused before the body was read through: the connection cannot be reused.
            response = _error(refusal.code, locale, refusal.status, **refusal.params)
            response.headers["Connection"] = "close"
            return response
        assert form.file_name is not None
        data = bytes(form.data)
        form.data.clear()
        try:
            row = await store_upload(actor, form.file_name, form.content_type, data)
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
