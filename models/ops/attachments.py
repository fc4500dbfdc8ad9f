"""Attachments: files uploaded by users, kept on local disk, linked to demands and their events.

An upload is stored first and linked later: the app uploads each file (POST /uploads, or the
`uploadAttachment` GraphQL mutation, which takes a client-made id so a retry stores it once),
gets its id, and passes the ids to the operation that creates the demand, reply or timeline
event (`attach_files`, inside that operation's transaction) or logs the visit (its photos).
Until then only the uploader sees the file; afterwards everyone who may read the demand, or the
visit, does. What an account may keep unlinked is bounded (`UploadQuota`: files and bytes),
and unlinked uploads past a grace period are removed by `purge_unlinked` (the scheduler's).

The bytes decide the type: the content is sniffed from its magic bytes and must agree with the
name's extension; the client's claimed Content-Type is never stored. The display name is
sanitised and never used as a path: files live under a random key in sharded folders. For
images, what the EXIF block says (GPS position, time taken, camera) is kept in `meta`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from models.access import agency_scope, demand_scope, visit_scope
from models.db.row_query import is_postgres
from models.errors import DomainError
from models.ops import receipts
from models.rules.actor import Actor
from models.rules.clock import now
from models.rules.image_size import image_size
from models.rules.photo_meta import photo_meta
from models.tables.agency import AgencyRequest
from models.tables.demands import Attachment, Demand, MutationReceipt
from models.tables.visits import Visit

MIB = 1024 * 1024
MAX_UPLOAD_BYTES = 20 * MIB
MAX_ATTACHMENTS_PER_CALL = 20
MAX_FILE_NAME_LENGTH = 255
# ZIP-based office files: refuse archives that would unpack to more than this, or hold more
# entries than this (decompression bombs), judged from the central directory alone.
MAX_ZIP_UNCOMPRESSED_BYTES = 200 * MIB
MAX_ZIP_ENTRIES = 5000
MAX_CONTENT_TYPES_XML_BYTES = 1 * MIB
# Images declaring more pixels than this are refused (decompression bombs: whoever shows the
# file would decode it). A 108 MP phone photo passes; it is 20 MB already.
MAX_IMAGE_MEGAPIXELS = 120


@dataclass(frozen=True)
class UploadQuota:
    """What one account may keep uploaded but not yet linked to anything. A cadre's offline
    queue of a day's visits (up to ~10 photos each, a few MB a photo) fits; a script that
    uploads without ever submitting stops here instead of filling the disk."""

    files: int = 100
    bytes: int = 200 * MIB


DEFAULT_UPLOAD_QUOTA = UploadQuota()
_QUOTA_LOCK = 7_201_357  # the advisory lock's first key; the second is the account

DEFAULT_STORAGE_ROOT = Path("var/files")
_storage_root: Path = DEFAULT_STORAGE_ROOT

# --- content types -------------------------------------------------------------------------

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
GIF = "image/gif"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
TEXT = "text/plain; charset=utf-8"

# Which sniffed types each extension may hold (HEIC and HEIF files are named either way).
EXTENSION_TYPES: dict[str, frozenset[str]] = {
    ".jpg": frozenset({JPEG}),
    ".jpeg": frozenset({JPEG}),
    ".png": frozenset({PNG}),
    ".webp": frozenset({WEBP}),
    ".heic": frozenset({HEIC, HEIF}),
    ".heif": frozenset({HEIC, HEIF}),
    ".gif": frozenset({GIF}),
    ".pdf": frozenset({PDF}),
    ".docx": frozenset({DOCX}),
    ".xlsx": frozenset({XLSX}),
    ".pptx": frozenset({PPTX}),
    ".doc": frozenset({DOC}),
    ".xls": frozenset({XLS}),
    ".txt": frozenset({TEXT}),
}

# Broad families, for comparing the client's claimed type with what the bytes are. Apps often
# send a generic or slightly wrong image type, so a claim only has to name the right family.
_FAMILY: dict[str, str] = {
    JPEG: "image",
    PNG: "image",
    WEBP: "image",
    HEIC: "image",
    HEIF: "image",
    GIF: "image",
    PDF: "pdf",
    DOCX: "office",
    XLSX: "office",
    PPTX: "office",
    DOC: "office",
    XLS: "office",
    TEXT: "text",
}
_CLAIM_FAMILY: dict[str, str] = {
    **{t.split(";")[0]: f for t, f in _FAMILY.items()},
    "image/jpg": "image",
    "image/pjpeg": "image",
    "image/heic-sequence": "image",
    "image/heif-sequence": "image",
    "application/x-pdf": "pdf",
    "application/vnd.ms-powerpoint": "office",
    "application/vnd.ms-word": "office",
}
# Claims that are never acceptable, whatever the bytes look like.
_DANGEROUS_CLAIMS = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-executable",
        "application/x-elf",
        "application/x-sh",
        "application/java-archive",
        "application/vnd.android.package-archive",
    }
)

# The main part of each OOXML package, as its [Content_Types].xml declares it.
_OOXML_MAIN_TYPES: dict[str, bytes] = {
    DOCX: b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    XLSX: b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    PPTX: b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
# C0 controls other than tab, line feed, form feed and carriage return mark a binary file.
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_STORAGE_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")


class UnsupportedFile(Exception):
    """The bytes are not an allowed type, or not the type the name says."""


class ImageTooLarge(Exception):
    """The image's header declares more pixels than anyone should decode."""


# --- storage root --------------------------------------------------------------------------


def configure_storage(path: Path | str) -> None:
    """Set the folder files are kept in; called once at start-up (folders are made on use)."""
    global _storage_root
    _storage_root = Path(path)


def storage_root() -> Path:
    return _storage_root


def storage_path(storage_key: str) -> Path:
    """Where a stored key lives; a key not of our own making never names a path."""
    if not _STORAGE_KEY.fullmatch(storage_key):
        raise ValueError("malformed storage key")
    return _storage_root / storage_key


def _new_storage_key() -> str:
    key = uuid.uuid4().hex
    return f"{key[:2]}/{key[2:4]}/{key}"


# --- names and types -----------------------------------------------------------------------


def clean_file_name(raw: str) -> str:
    """A safe display name: the last path component, without control or format characters
    (bidi overrides included), trimmed, at most 255 characters keeping the extension."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().strip(".").strip()
    if not name:
        return "file"
    if len(name) > MAX_FILE_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILE_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILE_NAME_LENGTH]
    return name


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot else ""


def _heif_type(data: bytes) -> str | None:
    """HEIC/HEIF: an ISO-BMFF file whose `ftyp` box names a HEIF brand."""
    if data[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(data[0:4], "big")
    if not 16 <= box_size <= min(len(data), 4096):
        return None
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_size - 3, 4)}
    if brands & _HEIC_BRANDS:
        return HEIC
    if brands & _HEIF_BRANDS:
        return HEIF
    return None


def _ooxml_type(data: bytes) -> str | None:
    """DOCX/XLSX/PPTX: a ZIP package with [Content_Types].xml naming its main part. Only the
    central directory and that one small entry are read; nothing is extracted."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UnsupportedFile("too many entries in the archive")
        if sum(e.file_size for e in entries) > MAX_ZIP_UNCOMPRESSED_BYTES:
            raise UnsupportedFile("the archive would unpack too large")
        manifest = next((e for e in entries if e.filename == "[Content_Types].xml"), None)
        if manifest is None or manifest.file_size > MAX_CONTENT_TYPES_XML_BYTES:
            return None
        with archive.open(manifest) as fh:
            # Read at most the cap, whatever the entry's header claims.
            content = fh.read(MAX_CONTENT_TYPES_XML_BYTES + 1)
        if len(content) > MAX_CONTENT_TYPES_XML_BYTES:
            return None
    found = [t for t, main in _OOXML_MAIN_TYPES.items() if main in content]
    return found[0] if len(found) == 1 else None


def _ole_type(data: bytes) -> str | None:
    """Legacy DOC/XLS: an OLE compound file holding a Word or Excel stream (by its UTF-16 name
    in the directory); other compound files (MSI installers, ...) are not documents."""
    if b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00" in data:
        return DOC
    if b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" in data or b"B\x00o\x00o\x00k\x00\x00" in data:
        return XLS
    return None


def _text_type(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _TEXT_CONTROLS.search(text) else TEXT


def sniff_type(data: bytes, extension: str) -> str | None:
    """The type the bytes really are, among the allowed ones; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _ooxml_type(data)
    if data.startswith(_OLE_MAGIC):
        return _ole_type(data)
    heif = _heif_type(data)
    if heif:
        return heif
    # Plain text has no magic: only considered when the name says .txt.
    if extension == ".txt":
        return _text_type(data)
    return None


def _claim_agrees(claimed_type: str | None, sniffed: str) -> bool:
    claim = (claimed_type or "").split(";")[0].strip().lower()
    if claim in _DANGEROUS_CLAIMS:
        return False
    family = _CLAIM_FAMILY.get(claim)
    # A generic or unknown claim (application/octet-stream, ...) tells nothing: the bytes rule.
    return family is None or family == _FAMILY[sniffed]


def detect_type(file_name: str, claimed_type: str | None, data: bytes) -> str:
    """The content type to store, or UnsupportedFile when the bytes are not an allowed type
    or disagree with the name's extension or the client's claim."""
    extension = extension_of(file_name)
    allowed = EXTENSION_TYPES.get(extension)
    if allowed is None:
        raise UnsupportedFile("extension not allowed")
    try:
        sniffed = sniff_type(data, extension)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise UnsupportedFile("unreadable archive") from exc
    except (RuntimeError, NotImplementedError, ValueError, OSError) as exc:
        # zipfile's refusals of encrypted or unusual archives.
        raise UnsupportedFile("unreadable archive") from exc
    if sniffed is None or sniffed not in allowed:
        raise UnsupportedFile("content does not match the name")
    if not _claim_agrees(claimed_type, sniffed):
        raise UnsupportedFile("content does not match the claimed type")
    return sniffed


# --- operations ----------------------------------------------------------------------------


def _write_file(path: Path, data: bytes) -> str:
    """Write to a temporary file beside the target, then rename it into place atomically.
    Returns the SHA-256 of the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return digest


def _remove_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _inspect(file_name: str, claimed_type: str | None, data: bytes) -> tuple[str, dict]:
    """The stored type and, for images, what their EXIF says (run in a worker thread)."""
    content_type = detect_type(file_name, claimed_type, data)
    if not content_type.startswith("image/"):
        return content_type, {}
    size = image_size(data, content_type)
    if size is not None and size[0] * size[1] > MAX_IMAGE_MEGAPIXELS * 1_000_000:
        raise ImageTooLarge
    return content_type, photo_meta(data)


def _check_upload(actor: Actor | None, data: bytes) -> Actor:
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError("FILE_TOO_LARGE", "file", max=MAX_UPLOAD_BYTES // MIB)
    if not data:
        raise DomainError("EMPTY_FILE", "file")
    return actor


# An upload nothing holds yet: free to link, and purged when left so too long.
UNLINKED: dict[str, None] = {"demand_id": None, "visit_id": None, "agency_request_id": None}


async def _check_quota(user_id: int, quota: UploadQuota, size: int, *, counted: bool) -> None:
    """Refuse when the account's unlinked uploads, with one of `size` bytes (already among
    them when `counted`), would pass the quota."""
    usage = await (
        Attachment.filter(uploaded_by_id=user_id, **UNLINKED)
        .annotate(files=Count("id"), total=Sum("size"))
        .values("files", "total")
    )
    files, total = int(usage[0]["files"] or 0), int(usage[0]["total"] or 0)
    if not counted:
        files, total = files + 1, total + size
    if files > quota.files:
        raise DomainError("TOO_MANY_UNLINKED_UPLOADS", "file", max=quota.files)
    if total > quota.bytes:
        raise DomainError("UNLINKED_UPLOADS_TOO_LARGE", "file", max=quota.bytes // MIB)


async def check_upload_quota(actor: Actor, quota: UploadQuota) -> None:
    """Refuse an upload before its body is read when the account's quota is already full."""
    await _check_quota(actor.user_id, quota, 1, counted=False)


async def _store(
    actor: Actor,
    file_name: str,
    claimed_type: str | None,
    data: bytes,
    quota: UploadQuota,
    receipt: receipts.Receipt | None = None,
) -> Attachment:
    await _check_quota(actor.user_id, quota, len(data), counted=False)  # before any writing
    name = clean_file_name(file_name)
    try:
        content_type, meta = await asyncio.to_thread(_inspect, name, claimed_type, data)
    except UnsupportedFile:
        raise DomainError("UNSUPPORTED_FILE_TYPE", "file") from None
    except ImageTooLarge:
        raise DomainError("IMAGE_TOO_LARGE", "file", max=MAX_IMAGE_MEGAPIXELS) from None
    storage_key = _new_storage_key()
    path = storage_path(storage_key)
    sha256 = await asyncio.to_thread(_write_file, path, data)
    try:
        async with in_transaction() as conn:
            # Concurrent uploads of one account take turns, so together they cannot pass the
            # quota: on PostgreSQL an advisory lock per account, on SQLite the insert's write
            # lock (taken first: a read before it could not be upgraded once others wrote).
            if is_postgres(conn):
                await conn.execute_query(
                    "SELECT pg_advisory_xact_lock($1, $2)", [_QUOTA_LOCK, actor.user_id]
                )
            row = await Attachment.create(
                uploaded_by_id=actor.user_id,
                file_name=name,
                content_type=content_type,
                size=len(data),
                sha256=sha256,
                storage_key=storage_key,
                meta=meta,
            )
            await _check_quota(actor.user_id, quota, len(data), counted=True)
            await receipts.write_receipt(actor, receipt, row.id)
        return row
    except BaseException:
        await asyncio.to_thread(_remove_file, path)
        raise


async def store_upload(
    actor: Actor | None,
    file_name: str,
    claimed_type: str | None,
    data: bytes,
    quota: UploadQuota = DEFAULT_UPLOAD_QUOTA,
) -> Attachment:
    """Keep an uploaded file for the signed-in user; it is linked to something later."""
    return await _store(_check_upload(actor, data), file_name, claimed_type, data, quota)


async def upload_attachment(
    actor: Actor | None,
    file_name: str,
    claimed_type: str | None,
    data: bytes,
    client_id: str | None,
    quota: UploadQuota = DEFAULT_UPLOAD_QUOTA,
) -> Attachment:
    """`store_upload` once per client-made id (a UUID): a retry of the same file under the same
    name returns the first attachment; the same id with other bytes or another name is
    CLIENT_ID_REUSED. Without an id every call stores a new file."""
    checked = _check_upload(actor, data)
    receipt = None
    if client_id is not None:
        sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        receipt = receipts.receipt_for(
            client_id,
            "UPLOAD",
            {"sha256": sha256, "name": clean_file_name(file_name)},
            field="clientId",
            uuid_only=True,
        )

    async def run() -> Attachment:
        return await _store(checked, file_name, claimed_type, data, quota, receipt)

    async def load(pk: int) -> Attachment:
        return await Attachment.get(id=pk)

    return await receipts.idempotent(checked, receipt, run, load, field="clientId")


async def attach_files(
    actor: Actor | None, attachment_ids: list[int], demand_id: int, event_id: int | None
) -> list[Attachment]:
    """Link the actor's own, still unlinked uploads to a demand (and one of its events).

    Meant to run inside the calling operation's transaction, which has already checked the
    actor may act on the demand and created the event. The conditional UPDATE makes two
    concurrent calls unable to link the same file twice; a refusal links none of the files."""
    return await _link_own(actor, attachment_ids, demand_id=demand_id, event_id=event_id)


async def attach_agency_files(
    actor: Actor | None, attachment_ids: list[int], agency_request_id: int
) -> list[Attachment]:
    """Like `attach_files`, for an agency request's documents (the event that brought them
    names them in its data)."""
    return await _link_own(actor, attachment_ids, agency_request_id=agency_request_id)


async def _link_own(
    actor: Actor | None, attachment_ids: list[int], **target: int | None
) -> list[Attachment]:
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    ids = list(dict.fromkeys(attachment_ids))
    if not ids:
        return []
    if len(ids) > MAX_ATTACHMENTS_PER_CALL:
        raise DomainError("TOO_MANY_ATTACHMENTS", "attachmentIds", max=MAX_ATTACHMENTS_PER_CALL)
    owned_unlinked = {"id__in": ids, "uploaded_by_id": actor.user_id, **UNLINKED}
    own = await Attachment.filter(id__in=ids, uploaded_by_id=actor.user_id).values("id", *UNLINKED)
    # Not among the actor's uploads (removed as unused before a queued call arrived, say): the
    # app uploads it again. One of theirs already linked elsewhere cannot be used twice.
    found = {r["id"] for r in own}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError("UPLOAD_NOT_FOUND", "attachmentIds", ids=missing)
    refused = [r["id"] for r in own if any(r[k] is not None for k in UNLINKED)]
    if refused:
        raise DomainError("INVALID_ATTACHMENT", "attachmentIds", ids=refused)
    async with in_transaction():  # a savepoint when the caller's transaction is open
        linked = await Attachment.filter(**owned_unlinked).update(**target)
        if linked != len(ids):  # another call linked one of them meanwhile
            raise DomainError("INVALID_ATTACHMENT", "attachmentIds", ids=ids)
        return await Attachment.filter(id__in=ids).order_by("id")


async def can_see_attachment(
    actor: Actor,
    uploaded_by_id: int,
    demand_id: int | None,
    visit_id: int | None = None,
    agency_request_id: int | None = None,
) -> bool:
    """The uploader always; anyone else once it is linked to a demand, a visit or an agency
    request they may read; nobody else."""
    if uploaded_by_id == actor.user_id:
        return True
    if demand_id is not None and await Demand.filter(demand_scope(actor), id=demand_id).exists():
        return True
    if visit_id is not None:
        return await Visit.filter(visit_scope(actor), id=visit_id).exists()
    if agency_request_id is not None:
        return await AgencyRequest.filter(agency_scope(actor), id=agency_request_id).exists()
    return False


async def open_attachment(actor: Actor | None, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and the path of its bytes, for someone who may see it."""
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    row = await Attachment.get_or_none(id=attachment_id)
    if row is None or not await can_see_attachment(
        actor,
        row.uploaded_by_id,  # type: ignore[attr-defined]
        row.demand_id,  # type: ignore[attr-defined]
        row.visit_id,  # type: ignore[attr-defined]
        row.agency_request_id,  # type: ignore[attr-defined]
    ):
        raise DomainError("NOT_FOUND")
    try:
        path = storage_path(row.storage_key)
    except ValueError:
        raise DomainError("NOT_FOUND") from None
    if not await asyncio.to_thread(path.is_file):
        raise DomainError("NOT_FOUND")
    return row, path


async def purge_unlinked(older_than: timedelta) -> int:
    """Delete uploads never linked to anything (demand, visit or agency request) and older
    than `older_than`, rows and files, and the receipts of the uploads that made them (a retry
    that late stores the file anew). Each row is deleted only while still unlinked, so a file
    linked meanwhile survives. Returns how many were removed."""
    cutoff = now() - older_than
    unlinked = UNLINKED
    candidates = await Attachment.filter(**unlinked, created_at__lt=cutoff).values_list(
        "id", "storage_key"
    )
    removed = 0
    for pk, key in candidates:
        if not await Attachment.filter(id=pk, **unlinked).delete():
            continue
        removed += 1
        await MutationReceipt.filter(operation="UPLOAD", object_id=pk).delete()
        with contextlib.suppress(ValueError):
            await asyncio.to_thread(_remove_file, storage_path(str(key)))
    return removed
