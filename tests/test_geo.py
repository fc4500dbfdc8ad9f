"""Coordinate conversions, distances and the check-in verdict (models/rules/geo.py).

The reference conversions below were cross-checked against two independent public
implementations of the same formulas (the coord-convert and eviltransform packages); they are
pinned as literals so a wrong constant or a swapped lat/lng fails here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.geo import (
    Assessment,
    CheckIn,
    LocationTrust,
    Place,
    TrustReason,
    assess_checkin,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    valid_point,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from models.rules.roles import CoordinateSystem

WGS, GCJ, BD = CoordinateSystem.WGS84, CoordinateSystem.GCJ02, CoordinateSystem.BD09
DEG = 2e-6  # tolerance for pinned reference coordinates, ~0.2 m
M_PER_DEG_LAT = 111195.08  # haversine metres per degree of latitude at R = 6371008.8 m

TIANANMEN_WGS = (39.908722, 116.397499)
TIANANMEN_GCJ = (39.9101255, 116.4037426)
TIANANMEN_BD = (39.9164647, 116.4101156)


def close(actual: tuple[float, float], expected: tuple[float, float], tol: float = DEG) -> bool:
    return abs(actual[0] - expected[0]) <= tol and abs(actual[1] - expected[1]) <= tol


# --- reference points ---


def test_tiananmen_wgs84_to_gcj02() -> None:
    assert close(wgs84_to_gcj02(*TIANANMEN_WGS), TIANANMEN_GCJ)


def test_tiananmen_to_full_precision() -> None:
    # Pins the exact constants: with WGS-84's a and e² in place of Krasovsky's the result moves
    # only ~1e-7 degrees (about a centimetre), invisible at the tolerance above.
    gcj = wgs84_to_gcj02(*TIANANMEN_WGS)
    assert close(gcj, (39.91012550007891, 116.4037425752605), 1e-10)
    assert close(gcj02_to_bd09(*gcj), (39.91646474746305, 116.41011556899208), 1e-10)


def test_tiananmen_wgs84_to_bd09() -> None:
    assert close(wgs84_to_bd09(*TIANANMEN_WGS), TIANANMEN_BD)
    assert close(gcj02_to_bd09(*TIANANMEN_GCJ), TIANANMEN_BD)


@pytest.mark.parametrize(
    ("wgs", "gcj", "bd"),
    [
        # Shanghai People's Square, Shenzhen Futian, Urumqi: east, south and far west.
        ((31.2304, 121.4737), (31.2284577, 121.4782231), (31.2343106, 121.4847815)),
        ((22.5431, 114.0579), (22.5403828, 114.0630140), (22.5460416, 114.0695640)),
        ((43.8256, 87.6168), (43.8268054, 87.6196499), (43.8329498, 87.6260998)),
    ],
)
def test_more_reference_points(
    wgs: tuple[float, float], gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    assert close(wgs84_to_gcj02(*wgs), gcj)
    assert close(wgs84_to_bd09(*wgs), bd)
    assert close(gcj02_to_wgs84(*gcj), wgs)
    assert close(bd09_to_wgs84(*bd), wgs)


def test_inverse_recovers_the_exact_point_not_the_one_step_approximation() -> None:
    # The one-step inverse is off by ~0.1 m here (about 1e-6 degrees); the iteration is not.
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*TIANANMEN_WGS))
    assert close(back, TIANANMEN_WGS, 1e-9)
    back = bd09_to_wgs84(*wgs84_to_bd09(*TIANANMEN_WGS))
    assert close(back, TIANANMEN_WGS, 1e-9)


def test_the_offsets_are_hundreds_of_metres() -> None:
    gcj_offset = distance_m(*TIANANMEN_WGS, *TIANANMEN_GCJ)
    bd_offset = distance_m(*TIANANMEN_GCJ, *TIANANMEN_BD)
    assert 550 < gcj_offset < 560
    assert 885 < bd_offset < 895


# --- outside China ---


@pytest.mark.parametrize(
    "point",
    [(35.6762, 139.6503), (51.5074, -0.1278), (-33.8688, 151.2093), (40.7128, -74.0060)],
    ids=["tokyo", "london", "sydney", "new-york"],
)
def test_gcj02_equals_wgs84_outside_china(point: tuple[float, float]) -> None:
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert convert(*point, WGS, GCJ) == point
    assert to_wgs84(*point, GCJ) == point


def test_bd09_still_shifts_outside_china_and_round_trips() -> None:
    london = (51.5074, -0.1278)
    bd = wgs84_to_bd09(*london)
    assert bd != london
    assert distance_m(*london, *bd09_to_wgs84(*bd)) < 0.01


@pytest.mark.parametrize(
    ("point", "outside"),
    [
        ((39.9, 116.4), False),
        ((0.8293, 72.004), False),  # the box's corners are inside
        ((55.8271, 137.8347), False),
        ((0.8292, 100.0), True),
        ((55.8272, 100.0), True),
        ((30.0, 72.0039), True),
        ((30.0, 137.8348), True),
    ],
)
def test_out_of_china_box(point: tuple[float, float], outside: bool) -> None:
    assert out_of_china(*point) is outside


# --- round trips (hypothesis) ---

china_points = st.tuples(
    st.floats(min_value=18.0, max_value=53.5, allow_nan=False, allow_infinity=False),
    st.floats(min_value=73.5, max_value=135.0, allow_nan=False, allow_infinity=False),
)
world_points = st.tuples(
    st.floats(min_value=-85.0, max_value=85.0, allow_nan=False, allow_infinity=False),
    st.floats(min_value=-179.0, max_value=179.0, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=500)
@given(china_points)
def test_wgs_gcj_wgs_round_trip_within_a_centimetre(point: tuple[float, float]) -> None:
    gcj = wgs84_to_gcj02(*point)
    assert distance_m(*point, *gcj) > 10  # really offset, so the round trip is not trivial
    assert distance_m(*point, *gcj02_to_wgs84(*gcj)) < 0.01


@settings(max_examples=500)
@given(china_points)
def test_wgs_bd_wgs_round_trip_within_a_centimetre(point: tuple[float, float]) -> None:
    bd = wgs84_to_bd09(*point)
    assert distance_m(*point, *bd) > 100
    assert distance_m(*point, *bd09_to_wgs84(*bd)) < 0.01


@settings(max_examples=300)
@given(world_points)
def test_gcj_bd_gcj_round_trip_anywhere(point: tuple[float, float]) -> None:
    assert distance_m(*point, *bd09_to_gcj02(*gcj02_to_bd09(*point))) < 0.01


@settings(max_examples=300)
@given(
    china_points, st.sampled_from(list(CoordinateSystem)), st.sampled_from(list(CoordinateSystem))
)
def test_convert_round_trips_between_any_two_systems(
    point: tuple[float, float], source: CoordinateSystem, target: CoordinateSystem
) -> None:
    there = convert(*point, source, target)
    assert distance_m(*point, *convert(*there, target, source)) < 0.01
    # convert() agrees with going through WGS-84 explicitly.
    assert distance_m(*to_wgs84(*point, source), *to_wgs84(*there, target)) < 0.01


def test_convert_dispatches_to_the_named_formulas() -> None:
    assert convert(*TIANANMEN_WGS, WGS, WGS) == TIANANMEN_WGS
    assert close(convert(*TIANANMEN_WGS, WGS, GCJ), TIANANMEN_GCJ)
    assert close(convert(*TIANANMEN_WGS, WGS, BD), TIANANMEN_BD)
    assert close(convert(*TIANANMEN_GCJ, GCJ, BD), TIANANMEN_BD)
    assert close(convert(*TIANANMEN_BD, BD, GCJ), TIANANMEN_GCJ)
    assert close(convert(*TIANANMEN_BD, BD, WGS), TIANANMEN_WGS)
    assert close(to_wgs84(*TIANANMEN_GCJ, GCJ), TIANANMEN_WGS)
    assert close(to_wgs84(*TIANANMEN_BD, BD), TIANANMEN_WGS)
    assert to_wgs84(*TIANANMEN_WGS, WGS) == TIANANMEN_WGS


# --- distance ---


def test_beijing_to_shanghai() -> None:
    d = distance_m(39.9042, 116.4074, 31.2304, 121.4737)
    assert 1_067_000 < d < 1_068_000
    assert distance_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(d)


def test_one_degree_of_latitude() -> None:
    assert distance_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195.08, abs=0.1)
    # A degree of longitude shrinks with cos(latitude).
    assert distance_m(60.0, 10.0, 60.0, 11.0) == pytest.approx(111_195.08 / 2, rel=1e-3)


def test_distance_is_zero_for_the_same_point() -> None:
    assert distance_m(*TIANANMEN_WGS, *TIANANMEN_WGS) == 0.0


def test_distance_across_the_antimeridian_and_antipodes() -> None:
    assert distance_m(0.0, 179.5, 0.0, -179.5) == pytest.approx(M_PER_DEG_LAT, abs=0.1)
    assert distance_m(10.0, 20.0, -10.0, -160.0) == pytest.approx(math.pi * 6371008.8)


# --- valid_point ---


@pytest.mark.parametrize(
    ("lat", "lng", "ok"),
    [
        (39.9, 116.4, True),
        (90.0, 180.0, True),
        (-90.0, -180.0, True),
        (0.0, 116.4, True),  # on the equator is fine; only (0, 0) exactly is "no fix"
        (39.9, 0.0, True),
        (0.0, 0.0, False),
        (-0.0, 0.0, False),
        (90.0001, 116.4, False),
        (39.9, 180.0001, False),
        (39.9, -180.0001, False),
        (math.nan, 116.4, False),
        (39.9, math.inf, False),
        (-math.inf, 116.4, False),
    ],
)
def test_valid_point(lat: float, lng: float, ok: bool) -> None:
    assert valid_point(lat, lng) is ok


# --- assess_checkin ---

NOW = datetime(2025, 6, 3, 9, 30, tzinfo=UTC)
# The enterprise is stored as the GCJ-02 an Amap picker gave, at Tiananmen.
SITE = Place(*TIANANMEN_GCJ, GCJ)


def north_of_site(metres: float) -> tuple[float, float]:
    """A WGS-84 point the given distance due north of the site."""
    lat, lng = TIANANMEN_WGS
    return lat + metres / M_PER_DEG_LAT, lng


def checkin(
    lat: float,
    lng: float,
    system: CoordinateSystem = WGS,
    *,
    accuracy: float | None = 20.0,
    mock: bool = False,
    device_time: datetime | None = NOW,
) -> CheckIn:
    return CheckIn(lat, lng, accuracy, system, mock, device_time)


def assess(
    c: CheckIn | None,
    place: Place | None = SITE,
    *,
    on_site: bool = True,
    radius_m: float = 500.0,
    max_accuracy_m: float = 200.0,
    max_clock_ahead: timedelta = timedelta(minutes=10),
) -> Assessment:
    return assess_checkin(
        c,
        place,
        on_site=on_site,
        radius_m=radius_m,
        max_accuracy_m=max_accuracy_m,
        received_at=NOW,
        max_clock_ahead=max_clock_ahead,
    )


def test_baidu_checkin_at_the_gate_is_trusted() -> None:
    bd = gcj02_to_bd09(SITE.latitude, SITE.longitude)
    result = assess(checkin(*bd, BD))
    assert result.trust is LocationTrust.TRUSTED
    assert result.reason is TrustReason.WITHIN_RADIUS
    assert result.distance_m is not None and result.distance_m < 1


def test_checkin_four_kilometres_away_is_too_far() -> None:
    bd = wgs84_to_bd09(*north_of_site(4000))
    result = assess(checkin(*bd, BD))
    assert result == Assessment(LocationTrust.DOUBTFUL, TrustReason.TOO_FAR, result.distance_m)
    assert result.distance_m == pytest.approx(4000, abs=1)


def test_accuracy_widens_the_radius() -> None:
    # 400 m + 150 m accuracy within a 500 m radius: the true position may well be inside.
    result = assess(checkin(*north_of_site(400), accuracy=150))
    assert result.trust is LocationTrust.TRUSTED
    assert result.reason is TrustReason.WITHIN_RADIUS
    assert result.distance_m == pytest.approx(400, abs=0.2)


def test_six_hundred_metres_with_good_accuracy_is_too_far() -> None:
    result = assess(checkin(*north_of_site(600), accuracy=50))
    assert result.trust is LocationTrust.DOUBTFUL
    assert result.reason is TrustReason.TOO_FAR
    assert result.distance_m == pytest.approx(600, abs=0.2)


def test_radius_plus_accuracy_is_the_boundary() -> None:
    assert assess(checkin(*north_of_site(549), accuracy=50)).reason is TrustReason.WITHIN_RADIUS
    assert assess(checkin(*north_of_site(551), accuracy=50)).reason is TrustReason.TOO_FAR


def test_missing_accuracy_counts_as_zero() -> None:
    assert assess(checkin(*north_of_site(499), accuracy=None)).trust is LocationTrust.TRUSTED
    far = assess(checkin(*north_of_site(510), accuracy=None))
    assert far.reason is TrustReason.TOO_FAR


def test_mock_location_is_doubtful_even_at_the_spot() -> None:
    result = assess(checkin(*TIANANMEN_GCJ, GCJ, mock=True))
    assert result.trust is LocationTrust.DOUBTFUL
    assert result.reason is TrustReason.MOCK_LOCATION
    assert result.distance_m is not None and result.distance_m < 1


def test_device_clock_an_hour_ahead_is_doubtful() -> None:
    result = assess(checkin(*TIANANMEN_GCJ, GCJ, device_time=NOW + timedelta(hours=1)))
    assert result.trust is LocationTrust.DOUBTFUL
    assert result.reason is TrustReason.DEVICE_TIME_AHEAD
    assert result.distance_m is not None and result.distance_m < 1


def test_device_clock_within_the_allowance_or_behind_is_fine() -> None:
    for device_time in (NOW + timedelta(minutes=10), NOW - timedelta(hours=3), None):
        result = assess(checkin(*TIANANMEN_GCJ, GCJ, device_time=device_time))
        assert result.reason is TrustReason.WITHIN_RADIUS, device_time
    ahead = checkin(*TIANANMEN_GCJ, GCJ, device_time=NOW + timedelta(minutes=10, seconds=1))
    assert assess(ahead).reason is TrustReason.DEVICE_TIME_AHEAD
    assert assess(ahead, max_clock_ahead=timedelta(minutes=15)).reason is TrustReason.WITHIN_RADIUS


def test_poor_accuracy_is_doubtful() -> None:
    result = assess(checkin(*TIANANMEN_GCJ, GCJ, accuracy=1000))
    assert result.trust is LocationTrust.DOUBTFUL
    assert result.reason is TrustReason.LOW_ACCURACY
    assert result.distance_m is not None and result.distance_m < 1
    # Exactly at the limit is still acceptable.
    assert assess(checkin(*TIANANMEN_GCJ, GCJ, accuracy=200)).trust is LocationTrust.TRUSTED


def test_rules_apply_in_order() -> None:
    far = north_of_site(4000)
    everything = checkin(*far, accuracy=1000, mock=True, device_time=NOW + timedelta(hours=1))
    assert assess(everything).reason is TrustReason.MOCK_LOCATION
    no_mock = checkin(*far, accuracy=1000, device_time=NOW + timedelta(hours=1))
    assert assess(no_mock).reason is TrustReason.DEVICE_TIME_AHEAD
    assert assess(checkin(*far, accuracy=1000)).reason is TrustReason.LOW_ACCURACY
    assert assess(checkin(*far, accuracy=100)).reason is TrustReason.TOO_FAR
    # Each still reports the measured distance.
    assert assess(everything).distance_m == pytest.approx(4000, abs=1)


def test_no_enterprise_location_is_unverified() -> None:
    result = assess(checkin(*TIANANMEN_GCJ, GCJ), place=None)
    assert result == Assessment(LocationTrust.UNVERIFIED, TrustReason.NO_ENTERPRISE_LOCATION, None)


def test_no_checkin_is_unverified() -> None:
    assert assess(None) == Assessment(LocationTrust.UNVERIFIED, TrustReason.NO_CHECKIN, None)
    assert assess(None, place=None).reason is TrustReason.NO_CHECKIN


def test_video_or_phone_visit_is_not_on_site() -> None:
    expected = Assessment(LocationTrust.UNVERIFIED, TrustReason.NOT_ON_SITE, None)
    assert assess(checkin(*north_of_site(4000), mock=True), on_site=False) == expected
    assert assess(None, place=None, on_site=False) == expected


def test_mislabelled_system_shows_why_conversion_matters() -> None:
    # The phone sent GCJ-02 at the gate; the same numbers read as WGS-84 land ~555 m away.
    at_gate = checkin(*TIANANMEN_GCJ, GCJ)
    assert assess(at_gate, radius_m=200).reason is TrustReason.WITHIN_RADIUS
    wrong = assess(at_gate, place=Place(*TIANANMEN_GCJ, WGS), radius_m=200)
    assert wrong.reason is TrustReason.TOO_FAR
    assert wrong.distance_m is not None and 300 < wrong.distance_m < 800


def test_distance_is_rounded_to_a_decimetre() -> None:
    result = assess(checkin(*north_of_site(123.456)))
    assert result.distance_m == round(result.distance_m or 0.0, 1)
    assert result.distance_m == pytest.approx(123.5, abs=0.11)


@pytest.mark.parametrize(
    ("c", "place", "kw"),
    [
        (checkin(0.0, 0.0), SITE, {}),
        (checkin(91.0, 116.4), SITE, {}),
        (checkin(math.nan, 116.4), SITE, {}),
        (checkin(*TIANANMEN_GCJ, GCJ, accuracy=-1.0), SITE, {}),
        (checkin(*TIANANMEN_GCJ, GCJ, accuracy=math.nan), SITE, {}),
        (checkin(*TIANANMEN_GCJ, GCJ), Place(0.0, 0.0, GCJ), {}),
        (checkin(*TIANANMEN_GCJ, GCJ), Place(39.9, 181.0, GCJ), {}),
        # Bad input raises even where the verdict would not have looked at it.
        (checkin(0.0, 0.0), SITE, {"on_site": False}),
        (None, Place(0.0, 0.0, GCJ), {}),
        (checkin(*TIANANMEN_GCJ, GCJ), SITE, {"radius_m": -1.0}),
        (checkin(*TIANANMEN_GCJ, GCJ), SITE, {"max_accuracy_m": math.inf}),
    ],
)
def test_invalid_input_raises(c: CheckIn | None, place: Place | None, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        assess(c, place, **kw)
