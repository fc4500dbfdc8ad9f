"""The pixel size an image file declares in its header, read without decoding anything.

A decompression bomb is a small file whose header promises an enormous picture (a PNG of
100,000 × 100,000 pixels compresses to a few hundred kilobytes): whoever decodes it, the app or
a browser showing the attachment, runs out of memory. Uploads are judged by what the header
declares (`image_size`); nothing here allocates more than the header's few bytes.

Pure: bytes in, (width, height) or None out (None: no size found, e.g. a truncated header)."""

from __future__ import annotations

import struct

# SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
MAX_HEADER_SCAN = 1024 * 1024  # HEIF keeps its item sizes in the `meta` box, near the start


def _png(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _gif(data: bytes) -> tuple[int, int] | None:
    if len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return int(width), int(height)


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i, end = 2, min(len(data), MAX_HEADER_SCAN)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker == 0xDA:  # image data before any frame header
            return None
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + max(length, 2)
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        b0, b1, b2, b3 = data[21:25]
        return 1 + (((b1 & 0x3F) << 8) | b0), 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | (b1 >> 6))
    return None


def _heif(data: bytes) -> tuple[int, int] | None:
    """The largest `ispe` (image spatial extents) property: a grid's tiles are small, the
    grid item itself carries the full size."""
    best: tuple[int, int] | None = None
    head = data[:MAX_HEADER_SCAN]
    at = head.find(b"ispe")
    while at >= 4:
        if at + 16 <= len(head) and int.from_bytes(head[at - 4 : at], "big") == 20:
            width, height = struct.unpack(">II", head[at + 8 : at + 16])
            if best is None or width * height > best[0] * best[1]:
                best = (int(width), int(height))
        at = head.find(b"ispe", at + 4)
    return best


_READERS = {
    "image/png": _png,
    "image/gif": _gif,
    "image/jpeg": _jpeg,
    "image/webp": _webp,
    "image/heic": _heif,
    "image/heif": _heif,
}


def image_size(data: bytes, content_type: str) -> tuple[int, int] | None:
    """(width, height) as the header of an image of this (sniffed) type declares it."""
    reader = _READERS.get(content_type)
    return reader(data) if reader else None
