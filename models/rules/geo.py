"""Coordinates for judging a cadre's on-site check-in at an enterprise.

Phones do not all report the same coordinate system. Raw GPS is WGS-84; the map SDKs used in
mainland China report GCJ-02 (Amap, Tencent) or BD-09 (Baidu), both deliberately offset from
WGS-84. Between GCJ-02 and WGS-84 the offset is typically 100-700 m, and BD-09 shifts a
further ~0.8-1 km, so comparing a check-in with the enterprise's stored position without
converting both to one system misjudges a cadre standing at the gate as "too far", or one
several hundred metres away as "on the spot". Everything here is converted to WGS-84 first and
the distance is measured there.

The conversions are the public "eviltransform"/coordtransform formulas (Krasovsky ellipsoid,
Baidu's x_pi). GCJ-02 applies only inside a rough box around mainland China; outside it GCJ-02
equals WGS-84. The GCJ-02 <-> BD-09 step is applied everywhere, as those libraries do.

Argument order is always (latitude, longitude) and results are (latitude, longitude) in degrees.
The module is pure: no ORM, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.rules.roles import CoordinateSystem

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's constant for the BD-09 rotation/scaling.
_X_PI = math.pi * 3000.0 / 180.0
# Mean Earth radius (IUGG), good to ~0.5% for haversine distances.
EARTH_RADIUS_M = 6371008.8

# The iterative inverses (GCJ-02 -> WGS-84, BD-09 -> GCJ-02) stop once a step moves less than
# this many degrees: 1e-9 is ~0.1 mm, well under the 1e-7 (~1 cm) the callers need.
_INVERSE_TOLERANCE = 1e-9
_INVERSE_MAX_ITERATIONS = 50


def out_of_china(lat: float, lng: float) -> bool:
    """True outside the rough mainland-China box, where GCJ-02 adds no offset."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse of wgs84_to_gcj02 by fixed-point iteration.

    The one-step inverse (subtracting the offset computed at the GCJ point) is off by up to a
    few metres; the offset varies slowly, so iterating converges in a handful of steps. Starting
    from the GCJ point itself makes points outside China come back exactly unchanged (the first
    step moves by zero). Right at the box edge a GCJ point can have two WGS preimages; this
    returns the one outside the box, which only matters at sea or abroad.
    """
    wlat, wlng = lat, lng
    for _ in range(_INVERSE_MAX_ITERATIONS):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        dlat, dlng = glat - lat, glng - lng
        wlat, wlng = wlat - dlat, wlng - dlng
        if abs(dlat) < _INVERSE_TOLERANCE and abs(dlng) < _INVERSE_TOLERANCE:
            break
    return wlat, wlng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Baidu's published inverse, then refined by fixed-point iteration.

    The published one-step inverse is off by up to ~20 cm (its sin/cos terms are evaluated at
    the BD point rather than the GCJ one); a few refinement steps make the round trip exact to
    well under a millimetre.
    """
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    glat, glng = z * math.sin(theta), z * math.cos(theta)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        blat, blng = gcj02_to_bd09(glat, glng)
        dlat, dlng = blat - lat, blng - lng
        glat, glng = glat - dlat, glng - dlng
        if abs(dlat) < _INVERSE_TOLERANCE and abs(dlng) < _INVERSE_TOLERANCE:
            break
    return glat, glng


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


def to_wgs84(lat: float, lng: float, system: CoordinateSystem) -> tuple[float, float]:
    if system is CoordinateSystem.WGS84:
        return lat, lng
    if system is CoordinateSystem.GCJ02:
        return gcj02_to_wgs84(lat, lng)
    if system is CoordinateSystem.BD09:
        return bd09_to_wgs84(lat, lng)
    raise ValueError(f"unknown coordinate system: {system!r}")


def from_wgs84(lat: float, lng: float, system: CoordinateSystem) -> tuple[float, float]:
    if system is CoordinateSystem.WGS84:
        return lat, lng
    if system is CoordinateSystem.GCJ02:
        return wgs84_to_gcj02(lat, lng)
    if system is CoordinateSystem.BD09:
        return wgs84_to_bd09(lat, lng)
    raise ValueError(f"unknown coordinate system: {system!r}")


def convert(
    lat: float, lng: float, source: CoordinateSystem, target: CoordinateSystem
) -> tuple[float, float]:
    if source is target:
        return lat, lng
    # GCJ-02 <-> BD-09 directly, so it does not pick up the (tiny) error of the WGS-84 inverse.
    if source is CoordinateSystem.GCJ02 and target is CoordinateSystem.BD09:
        return gcj02_to_bd09(lat, lng)
    if source is CoordinateSystem.BD09 and target is CoordinateSystem.GCJ02:
        return bd09_to_gcj02(lat, lng)
    return from_wgs84(*to_wgs84(lat, lng, source), target)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    # min() guards against rounding pushing h a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def valid_point(lat: float, lng: float) -> bool:
    """Finite, in range, and not (0, 0): phones report "null island" when they have no fix."""
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return False
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        return False
    return not (lat == 0.0 and lng == 0.0)


class LocationTrust(StrEnum):
    TRUSTED = "TRUSTED"
    DOUBTFUL = "DOUBTFUL"
    UNVERIFIED = "UNVERIFIED"


class TrustReason(StrEnum):
    WITHIN_RADIUS = "WITHIN_RADIUS"
    TOO_FAR = "TOO_FAR"
    MOCK_LOCATION = "MOCK_LOCATION"
    LOW_ACCURACY = "LOW_ACCURACY"
    NO_CHECKIN = "NO_CHECKIN"
    NO_ENTERPRISE_LOCATION = "NO_ENTERPRISE_LOCATION"
    NOT_ON_SITE = "NOT_ON_SITE"
    DEVICE_TIME_AHEAD = "DEVICE_TIME_AHEAD"


@dataclass(frozen=True)
class CheckIn:
    """What the phone reported, in the system its map SDK uses."""

    latitude: float
    longitude: float
    accuracy_m: float | None  # the SDK's horizontal accuracy radius; None when not reported
    system: CoordinateSystem
    mock_location: bool  # the OS flagged the fix as coming from a mock-location provider
    device_time: datetime | None  # the phone's clock at the fix, compared with received_at


@dataclass(frozen=True)
class Place:
    """The enterprise's stored position."""

    latitude: float
    longitude: float
    system: CoordinateSystem


@dataclass(frozen=True)
class Assessment:
    trust: LocationTrust
    reason: TrustReason
    distance_m: float | None  # check-in to enterprise in WGS-84, 0.1 m; None when not measured


def assess_checkin(
    checkin: CheckIn | None,
    place: Place | None,
    *,
    on_site: bool,
    radius_m: float,
    max_accuracy_m: float,
    received_at: datetime,
    max_clock_ahead: timedelta = timedelta(minutes=10),
) -> Assessment:
    """Judge whether a check-in shows the cadre at the enterprise.

    Rules, first match wins: not on_site (a VIDEO or PHONE visit) -> UNVERIFIED/NOT_ON_SITE;
    no check-in -> UNVERIFIED/NO_CHECKIN; no enterprise position -> UNVERIFIED/
    NO_ENTERPRISE_LOCATION. Otherwise both points are converted to WGS-84 and the distance is
    measured (and reported in every remaining case), then: mock location -> DOUBTFUL; device
    clock more than max_clock_ahead after received_at -> DOUBTFUL/DEVICE_TIME_AHEAD; accuracy
    (None counts as 0) worse than max_accuracy_m -> DOUBTFUL/LOW_ACCURACY; distance beyond
    radius_m + accuracy -> DOUBTFUL/TOO_FAR; else TRUSTED/WITHIN_RADIUS. The reported (rounded)
    distance is the one compared, so the verdict always agrees with the number shown.

    Callers validate input first; anything that slips through is a bug and raises ValueError:
    a given check-in or place that fails valid_point, a negative or non-finite accuracy, or a
    negative or non-finite radius_m / max_accuracy_m. device_time and received_at must both be
    timezone-aware (or both naive), otherwise comparing them raises TypeError.
    """
    # Validate whatever was given before any rule, so a bad input never hides behind a verdict.
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"radius_m must be a finite non-negative number, got {radius_m!r}")
    if not (math.isfinite(max_accuracy_m) and max_accuracy_m >= 0):
        raise ValueError(
            f"max_accuracy_m must be a finite non-negative number, got {max_accuracy_m!r}"
        )
    if checkin is not None:
        if not valid_point(checkin.latitude, checkin.longitude):
            raise ValueError(f"invalid check-in point: ({checkin.latitude}, {checkin.longitude})")
        acc = checkin.accuracy_m
        if acc is not None and not (math.isfinite(acc) and acc >= 0):
            raise ValueError(f"check-in accuracy must be finite and non-negative, got {acc!r}")
    if place is not None and not valid_point(place.latitude, place.longitude):
        raise ValueError(f"invalid enterprise point: ({place.latitude}, {place.longitude})")

    if not on_site:
        return Assessment(LocationTrust.UNVERIFIED, TrustReason.NOT_ON_SITE, None)
    if checkin is None:
        return Assessment(LocationTrust.UNVERIFIED, TrustReason.NO_CHECKIN, None)
    if place is None:
        return Assessment(LocationTrust.UNVERIFIED, TrustReason.NO_ENTERPRISE_LOCATION, None)

    clat, clng = to_wgs84(checkin.latitude, checkin.longitude, checkin.system)
    plat, plng = to_wgs84(place.latitude, place.longitude, place.system)
    dist = round(distance_m(clat, clng, plat, plng), 1)
    accuracy = checkin.accuracy_m or 0.0

    # Spoofing signals outrank the geometry: a faked fix can sit exactly on the spot.
    if checkin.mock_location:
        return Assessment(LocationTrust.DOUBTFUL, TrustReason.MOCK_LOCATION, dist)
    if checkin.device_time is not None and checkin.device_time - received_at > max_clock_ahead:
        return Assessment(LocationTrust.DOUBTFUL, TrustReason.DEVICE_TIME_AHEAD, dist)
    if accuracy > max_accuracy_m:
        return Assessment(LocationTrust.DOUBTFUL, TrustReason.LOW_ACCURACY, dist)
    # The true position may be anywhere in the accuracy circle, so give it that much slack.
    if dist > radius_m + accuracy:
        return Assessment(LocationTrust.DOUBTFUL, TrustReason.TOO_FAR, dist)
    return Assessment(LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS, dist)
