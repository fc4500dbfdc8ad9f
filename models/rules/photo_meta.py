"""What a photo says about itself: the GPS position, the time it was taken and the camera, read
from its EXIF block (JPEG APP1, PNG `eXIf` chunk, HEIC `Exif` item; WebP too) with `exifread`.

    photo_meta(data) -> {"gps": {"latitude": 30.26, "longitude": 120.15, "altitude": 12.3},
                         "takenAt": "2026-03-05T10:20:30+08:00", "camera": "Apple iPhone 15"}

Each key is present only when the file holds a sane value for it; anything unreadable gives {}.
EXIF GPS is WGS-84 (latitude, longitude in signed decimal degrees, altitude in metres above sea
level, negative below). `takenAt` is DateTimeOriginal as the camera's clock read it, with
OffsetTimeOriginal when the file has one (else a local time without offset).

The bytes are the uploader's and may be hostile. The work is capped: only the first
`MAX_EXAMINED_BYTES` are looked at, and the reader handed to exifread refuses to serve more
than `MAX_READS` reads, `MAX_READ_BYTES` bytes or `MAX_SECONDS` of work (exifread follows
offsets taken from the file, so a crafted file could otherwise make it loop over the same
directories for minutes). Every failure is caught; only the exception's type is logged, never
a value from the file (a position is personal data).

Pure: bytes in, dict out, no I/O. Nothing here is proof of where a photo was taken: the
values are written by the phone and can be edited by anyone.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import exifread

log = logging.getLogger(__name__)
# exifread warns about every malformed or EXIF-less file (user input, so noise), and at debug
# level it logs every tag's value, positions included: keep it to real errors.
logging.getLogger("exifread").setLevel(logging.ERROR)

MIB = 1024 * 1024
MAX_EXAMINED_BYTES = 8 * MIB
MAX_READS = 20_000  # a phone photo's EXIF takes a few hundred
MAX_READ_BYTES = 16 * MIB
MAX_SECONDS = 1.0
MAX_CAMERA_LENGTH = 64
MAX_ALTITUDE_M = 100_000.0  # above that (or this far below the sea) the value is garbage

_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _OverBudget(Exception):
    """The file asked for more work than a photo's metadata needs."""


class _BoundedReader(io.BytesIO):
    """A file over the bytes that stops serving reads once the budget is spent."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._reads = 0
        self._bytes = 0
        self._deadline = time.monotonic() + MAX_SECONDS

    def read(self, size: int | None = -1, /) -> bytes:
        self._reads += 1
        if self._reads > MAX_READS or time.monotonic() > self._deadline:
            raise _OverBudget
        chunk = super().read(size)
        self._bytes += len(chunk)
        if self._bytes > MAX_READ_BYTES:
            raise _OverBudget
        return chunk


def photo_meta(data: bytes) -> dict[str, Any]:
    """GPS position, time taken and camera of a photo; {} when there is nothing readable."""
    try:
        tags = exifread.process_file(
            _BoundedReader(data[:MAX_EXAMINED_BYTES]),
            details=False,  # no maker notes
            extract_thumbnail=False,
            builtin_types=False,
        )
        return _meta(tags)
    except Exception as exc:  # hostile bytes may break exifread in any way
        log.debug("photo metadata unreadable (%s)", type(exc).__name__)
        return {}


def _meta(tags: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    gps = _gps(tags)
    if gps:
        meta["gps"] = gps
    taken_at = _taken_at(tags)
    if taken_at:
        meta["takenAt"] = taken_at
    camera = _camera(tags)
    if camera:
        meta["camera"] = camera
    return meta


# --- values --------------------------------------------------------------------------------


def _values(tags: dict[str, Any], name: str) -> Any:
    tag = tags.get(name)
    return None if tag is None else getattr(tag, "values", None)


def _text(tags: dict[str, Any], name: str) -> str | None:
    value = _values(tags, name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = _CONTROL.sub("", value).strip()
    return value or None


def _number(value: Any) -> float | None:
    """A non-negative finite number from an EXIF rational (or integer); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = float(value)
    elif isinstance(value, Fraction):
        # exifread keeps a zero denominator as an "invalid" ratio rather than raising.
        num, den = value.numerator, value.denominator
        if not isinstance(num, int) or not isinstance(den, int) or den == 0:
            return None
        number = num / den
    else:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _degrees(
    values: Any, ref: str | None, positive: str, negative: str, limit: float
) -> float | None:
    """Degrees, minutes, seconds and the hemisphere letter as signed decimal degrees."""
    if ref is None or ref.upper()[:1] not in (positive, negative):
        return None
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        return None
    parts: list[float] = []
    for v in values:
        number = _number(v)
        if number is None:
            return None
        parts.append(number)
    deg, minutes, seconds = [*parts, 0.0, 0.0][:3]
    if minutes >= 60 or seconds >= 60:
        return None
    value = deg + minutes / 60 + seconds / 3600
    if value > limit:
        return None
    return -value if ref.upper()[:1] == negative else value


def _gps(tags: dict[str, Any]) -> dict[str, float] | None:
    if (_text(tags, "GPS GPSStatus") or "A").upper().startswith("V"):
        return None  # the receiver said the measurement is void
    lat = _degrees(
        _values(tags, "GPS GPSLatitude"), _text(tags, "GPS GPSLatitudeRef"), "N", "S", 90.0
    )
    lon = _degrees(
        _values(tags, "GPS GPSLongitude"), _text(tags, "GPS GPSLongitudeRef"), "E", "W", 180.0
    )
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None  # 0,0 is what broken writers put when there was no fix
    gps = {"latitude": round(lat, 7), "longitude": round(lon, 7)}
    altitude = _altitude(tags)
    if altitude is not None:
        gps["altitude"] = altitude
    return gps


def _altitude(tags: dict[str, Any]) -> float | None:
    values = _values(tags, "GPS GPSAltitude")
    if not isinstance(values, list) or len(values) != 1:
        return None
    metres = _number(values[0])
    if metres is None or metres > MAX_ALTITUDE_M:
        return None
    ref = _values(tags, "GPS GPSAltitudeRef")
    below = isinstance(ref, list) and len(ref) == 1 and ref[0] == 1
    return round(-metres if below else metres, 2)


def _taken_at(tags: dict[str, Any]) -> str | None:
    raw = _text(tags, "EXIF DateTimeOriginal")
    match = _DATETIME.match(raw or "")
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        taken = datetime(year, month, day, hour, minute, second)
    except ValueError:  # 0000:00:00 00:00:00 and other impossible dates
        return None
    offset = _OFFSET.fullmatch(_text(tags, "EXIF OffsetTimeOriginal") or "")
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if int(minutes) < 60 and delta <= timedelta(hours=14):
            taken = taken.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    return taken.isoformat()


def _camera(tags: dict[str, Any]) -> str | None:
    make = (_text(tags, "Image Make") or "")[:MAX_CAMERA_LENGTH]
    model = (_text(tags, "Image Model") or "")[:MAX_CAMERA_LENGTH]
    if make and model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS R6" reads as "Canon EOS R6"
    return " ".join(p for p in (make, model) if p) or None
