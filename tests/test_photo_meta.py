"""Photo metadata from EXIF: GPS, time taken and camera from JPEG, PNG and HEIC bytes made here,
and nothing (never an exception) from garbage, truncated or hostile files."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from models.rules import photo_meta as pm
from models.rules.photo_meta import photo_meta

# --- photos made here ----------------------------------------------------------------------

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees, minutes and seconds (to 1/100 s) as EXIF rationals."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    centi_seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return IFDRational(degrees), IFDRational(minutes), IFDRational(centi_seconds, 100)


def make_exif(
    *,
    lat: Any = (IFDRational(30), IFDRational(15), IFDRational(36)),
    lat_ref: str | None = "N",
    lon: Any = (IFDRational(120), IFDRational(9), IFDRational(1234, 100)),
    lon_ref: str | None = "E",
    altitude: IFDRational | None = IFDRational(1234, 10),
    below_sea: bool = False,
    status: str | None = None,
    taken: str | None = "2026:03:05 10:20:30",
    offset: str | None = "+08:00",
    make: str | None = "Apple",
    model: str | None = "iPhone 15 Pro",
    gps: bool = True,
) -> Image.Exif:
    exif = Image.Exif()
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if taken is not None or offset is not None:
        sub = exif.get_ifd(EXIF_IFD)
        if taken is not None:
            sub[0x9003] = taken
        if offset is not None:
            sub[0x9011] = offset
    if gps:
        g = exif.get_ifd(GPS_IFD)
        if lat_ref is not None:
            g[1] = lat_ref
        if lat is not None:
            g[2] = lat
        if lon_ref is not None:
            g[3] = lon_ref
        if lon is not None:
            g[4] = lon
        if altitude is not None:
            g[5] = b"\x01" if below_sea else b"\x00"
            g[6] = altitude
        if status is not None:
            g[9] = status
    return exif


def encode(fmt: str, exif: Image.Exif | None = None, size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", size, (200, 60, 30))
    if exif is None:
        image.save(buf, fmt)
    else:
        image.save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body) + 8) + kind + body


def make_heic(exif: Image.Exif) -> bytes:
    """A minimal HEIC container (ftyp, meta with an Exif item, mdat holding it), as iPhones
    lay it out: the item's data starts with the offset to the TIFF header, then Exif\\0\\0."""
    tiff = exif.tobytes()[6:]  # Pillow prefixes Exif\0\0
    payload = struct.pack(">I", 6) + b"Exif\x00\x00" + tiff
    ftyp = box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heic")
    infe = box(b"infe", struct.pack(">IHH", 0x02000000, 1, 0) + b"Exif" + b"\x00")
    iinf = box(b"iinf", struct.pack(">IH", 0, 1) + infe)

    def meta_box(offset: int) -> bytes:
        iloc = box(
            b"iloc",
            struct.pack(">IBBHHHHII", 0, 0x44, 0x00, 1, 1, 0, 1, offset, len(payload)),
        )
        return box(b"meta", struct.pack(">I", 0) + iinf + iloc)

    size = len(ftyp) + len(meta_box(0)) + 8
    return ftyp + meta_box(size) + box(b"mdat", payload)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


EXPECTED = {
    "gps": {"latitude": 30.26, "longitude": 120.1534278, "altitude": 123.4},
    "takenAt": "2026-03-05T10:20:30+08:00",
    "camera": "Apple iPhone 15 Pro",
}


# --- what is read ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda exif: encode("JPEG", exif),
        lambda exif: encode("PNG", exif),  # the eXIf chunk
        make_heic,
    ],
    ids=["jpeg", "png", "heic"],
)
def test_gps_time_and_camera_are_read_from_each_format(make):
    data = make(make_exif())
    assert photo_meta(data) == EXPECTED


def test_the_heic_made_here_is_one_the_upload_sniffing_accepts():
    from models.ops.attachments import HEIC, detect_type

    assert detect_type("IMG_0001.HEIC", "image/heic", make_heic(make_exif())) == HEIC


def test_southern_western_and_below_sea_level_are_negative():
    exif = make_exif(lat=dms(33.8688), lat_ref="S", lon=dms(151.2093), lon_ref="W", below_sea=True)
    gps = photo_meta(encode("JPEG", exif))["gps"]
    assert gps["latitude"] == pytest.approx(-33.8688, abs=1e-6)
    assert gps["longitude"] == pytest.approx(-151.2093, abs=1e-6)
    assert gps["altitude"] == -123.4


def test_decimal_degrees_in_one_rational_and_no_altitude():
    exif = make_exif(lat=(IFDRational(3026, 100),), lon=(IFDRational(12015, 100),), altitude=None)
    assert photo_meta(encode("JPEG", exif))["gps"] == {"latitude": 30.26, "longitude": 120.15}


def test_time_without_offset_is_local_and_camera_is_not_doubled():
    exif = make_exif(offset=None, make="Canon", model="Canon EOS R6", gps=False)
    assert photo_meta(encode("JPEG", exif)) == {
        "takenAt": "2026-03-05T10:20:30",
        "camera": "Canon EOS R6",
    }


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"lat": (IFDRational(30), IFDRational(15), IFDRational(1, 0))}, "gps"),  # x/0
        ({"lat": (IFDRational(95), IFDRational(0), IFDRational(0))}, "gps"),  # beyond the pole
        ({"lat": (IFDRational(30), IFDRational(75), IFDRational(0))}, "gps"),  # 75 minutes
        ({"lat_ref": None}, "gps"),  # no hemisphere: the sign is unknown
        ({"lon_ref": "X"}, "gps"),
        ({"lon": None}, "gps"),
        ({"status": "V"}, "gps"),  # the receiver marked it void
        (
            {
                "lat": (IFDRational(0), IFDRational(0), IFDRational(0)),
                "lon": (IFDRational(0), IFDRational(0), IFDRational(0)),
            },
            "gps",
        ),  # 0,0: written without a fix
        ({"taken": "0000:00:00 00:00:00"}, "takenAt"),
        ({"taken": "2026:02:30 10:00:00"}, "takenAt"),
        ({"taken": "yesterday"}, "takenAt"),
        ({"make": None, "model": None}, "camera"),
    ],
)
def test_insane_values_are_left_out_and_the_rest_kept(changes, missing):
    meta = photo_meta(encode("JPEG", make_exif(**changes)))
    assert missing not in meta
    assert {k: v for k, v in EXPECTED.items() if k != missing}.items() <= meta.items()


def test_a_bad_offset_keeps_the_local_time():
    meta = photo_meta(encode("JPEG", make_exif(offset="+99:00")))
    assert meta["takenAt"] == "2026-03-05T10:20:30"


def test_control_characters_and_overlong_camera_names_are_trimmed():
    meta = photo_meta(encode("JPEG", make_exif(make="Evil\x1b[31m", model="X" * 500)))
    assert meta["camera"] == "Evil[31m " + "X" * pm.MAX_CAMERA_LENGTH


def test_photos_without_exif_give_nothing():
    for fmt in ("JPEG", "PNG", "GIF", "WEBP"):
        assert photo_meta(encode(fmt)) == {}, fmt


# --- hostile and broken bytes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08",
        b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00II*\x00\xff\xff\xff\xff",
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"eXIf", b"MM\x00*\xff\xff\xff\xff"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x10\xff\xfe\xfd\xfc",  # a non-ASCII chunk type
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\xff" * 40,
        b"MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x88\x25\x00\x04\xff\xff\xff\xff" * 10,
        b"<!DOCTYPE html><html></html>",
        b"%PDF-1.4\n%%EOF\n",
    ],
)
def test_garbage_gives_an_empty_dict(data):
    assert photo_meta(data) == {}


def test_every_truncation_of_a_real_photo_is_survived():
    for data in (encode("JPEG", make_exif()), encode("PNG", make_exif()), make_heic(make_exif())):
        for cut in range(len(data)):
            meta = photo_meta(data[:cut])
            assert isinstance(meta, dict)
            # A prefix may cut a name short, but never yields a position the photo lacks.
            if "gps" in meta:
                assert meta["gps"].items() <= EXPECTED["gps"].items()
            assert meta.get("takenAt", "2026-03-05T10:20:30").startswith("2026-03-05T10:20:30")
        assert photo_meta(data) == EXPECTED


def test_random_corruption_never_raises():
    rng = random.Random(20260305)
    original = bytearray(encode("JPEG", make_exif()))
    for _ in range(500):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        assert isinstance(photo_meta(bytes(data)), dict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(
        [
            b"\xff\xd8\xff\xe1",
            b"MM\x00*",
            b"II*\x00",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\x00\x00\x00\x00WEBP",
        ]
    ),
    body=st.binary(max_size=600),
)
def test_arbitrary_bytes_behind_a_magic_number_never_raise(prefix, body):
    assert isinstance(photo_meta(prefix + body), dict)


def _gps_pointer_bomb(entries: int) -> bytes:
    """A JPEG whose first directory holds `entries` GPSInfo pointers, all to itself: exifread
    alone walks it entries² times (minutes of CPU for one 60 KB upload)."""
    ifd = struct.pack(">H", entries)
    ifd += struct.pack(">HHII", GPS_IFD, 4, 1, 8) * entries + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + ifd
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


def test_the_work_is_capped_on_a_file_that_makes_exifread_loop(monkeypatch):
    """Counted, not timed: with the clock's budget an hour away, the count of reads stops the
    loop; and a clock budget already spent stops even a sane photo at its first read."""
    monkeypatch.setattr(pm, "MAX_SECONDS", 3600.0)
    assert photo_meta(_gps_pointer_bomb(5000)) == {}
    photo = encode("JPEG", make_exif())
    assert photo_meta(photo) == EXPECTED
    monkeypatch.setattr(pm, "MAX_READS", 10**9)
    monkeypatch.setattr(pm, "MAX_SECONDS", -1.0)
    assert photo_meta(photo) == {}


def test_only_the_first_megabytes_are_examined():
    exif = make_exif().tobytes()[6:]
    head = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    near = head + png_chunk(b"zzZz", bytes(1024)) + png_chunk(b"eXIf", exif)
    assert photo_meta(near)["gps"] == EXPECTED["gps"]
    far = head + png_chunk(b"zzZz", bytes(pm.MAX_EXAMINED_BYTES)) + png_chunk(b"eXIf", exif)
    assert photo_meta(far) == {}


def test_positions_are_not_logged(caplog):
    photo, bomb = encode("JPEG", make_exif()), _gps_pointer_bomb(50)
    caplog.set_level("DEBUG")
    assert photo_meta(photo) == EXPECTED
    assert photo_meta(bomb) == {}
    text = caplog.text
    assert "30.26" not in text and "120" not in text and "15, 36" not in text
