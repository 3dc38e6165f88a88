"""Coordinate parsing: decimal degrees, decimal commas, degrees-minutes-seconds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asm_pace._coords import format_dms, parse_coordinate, parse_coordinates

# value, axis, decimal degrees worked out by hand (d + m/60 + s/3600, sign from the hemisphere)
HAND_WORKED = [
    ("5°39'00\"N", "lat", 5.65),  # 5 + 39/60
    ("5°39'00\"S", "lat", -5.65),
    ("70 12 30 W", "lon", -(70 + 12 / 60 + 30 / 3600)),  # -70.208333...
    ("70 12 30 O", "lon", -(70 + 12 / 60 + 30 / 3600)),  # O = Oeste / Ouest = west
    ("70°12'30\" Oeste", "lon", -(70 + 12 / 60 + 30 / 3600)),
    ("12°30.5'S", "lat", -(12 + 30.5 / 60)),  # -12.508333...
    ("12°30,5'S", "lat", -(12 + 30.5 / 60)),  # decimal comma in the minutes
    ("N 5° 39' 00\"", "lat", 5.65),  # hemisphere first
    ("S12°", "lat", -12.0),
    ("12:30:36S", "lat", -(12 + 30 / 60 + 36 / 3600)),  # -12.51
    ("45º30'00''E", "lon", 45.5),  # ordinal indicator for the degree sign, '' for seconds
    ("45°30′00″ L", "lon", 45.5),  # prime symbols; L = Leste (east)
    ("3 15 S", "lat", -3.25),
    ("-3 15", "lat", -3.25),
    ("0°30'00\"S", "lat", -0.5),
    ("69.25 W", "lon", -69.25),
    ("-12,5431", "lat", -12.5431),  # decimal comma
    ("-12.5431", "lat", -12.5431),
    ("+70.2", "lon", 70.2),
    ("  7  ", "lat", 7.0),
    ("12°30'15\"sur", "lat", -(12 + 30 / 60 + 15 / 3600)),
    ("8°05'Sud", "lat", -(8 + 5 / 60)),
    ("345,678.25", "lon", 345678.25),  # thousands separators (projected metres)
    ("8.601.234,5", "lat", 8601234.5),
    (-12.5, "lat", -12.5),
    (np.float32(2.5), "lat", 2.5),
    (7, "lon", 7.0),
]


@pytest.mark.parametrize(("text", "axis", "expected"), HAND_WORKED)
def test_parse_hand_worked(text, axis, expected):
    parsed = parse_coordinate(text, axis=axis)
    assert parsed.error is None
    assert parsed.value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "axis", "fragment"),
    [
        ("", "lat", "missing"),
        ("NA", "lat", "missing"),
        (None, "lon", "missing"),
        (float("nan"), "lon", "missing"),
        ("abc", "lat", "not a number"),
        ("12°75'S", "lat", "below 60"),
        ("12°30'60\"S", "lat", "below 60"),
        ("5 N", "lon", "is for latitude"),  # N in the longitude column
        ("70 W", "lat", "is for longitude"),
        ("-5 S", "lat", "ambiguous"),
        ("12.5°30'S", "lat", "only the last"),
        ("inf", "lat", "finite"),
        (float("inf"), "lat", "finite"),
    ],
)
def test_parse_refuses(text, axis, fragment):
    parsed = parse_coordinate(text, axis=axis)
    assert math.isnan(parsed.value)
    assert fragment in parsed.error


def test_parse_axis_checked():
    with pytest.raises(ValueError, match="axis"):
        parse_coordinate("1", axis="x")


def test_parse_coordinates_column():
    values, errors = parse_coordinates(
        pd.Series(["5°39'00\"N", "-1,25", None, "x", "5°39'00\"N"]), axis="lat"
    )
    assert values[0] == pytest.approx(5.65)
    assert values[1] == pytest.approx(-1.25)
    assert np.isnan(values[2]) and np.isnan(values[3])
    assert values[4] == values[0]
    assert errors[:2] == [None, None] and errors[2] == "missing" and "not a number" in errors[3]


def test_parse_coordinates_numeric_column():
    values, errors = parse_coordinates(pd.Series([1.5, np.nan, np.inf, -2.0]), axis="lon")
    assert values[0] == 1.5 and values[3] == -2.0
    assert np.isnan(values[1]) and np.isnan(values[2])
    assert errors == [None, "missing", "not a finite number", None]


def test_format_dms_hand_worked():
    assert format_dms(5.65, axis="lat", decimals=0) == "5°39'00\"N"
    assert format_dms(-(70 + 12 / 60 + 30 / 3600), axis="lon", decimals=1) == "70°12'30.0\"W"
    assert format_dms(-0.5, axis="lat", decimals=0) == "0°30'00\"S"
    # 59.9999 seconds rounds up into the next minute, not to "60"
    assert format_dms(1 + 59 / 60 + 59.9999 / 3600, axis="lat", decimals=2) == "2°00'00.00\"N"


@given(
    value=st.floats(min_value=-180, max_value=180, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=4),
)
def test_dms_round_trip_lon(value, decimals):
    text = format_dms(value, axis="lon", decimals=decimals)
    parsed = parse_coordinate(text, axis="lon")
    assert parsed.error is None
    # formatting rounds to 10**-decimals arc-seconds
    assert abs(parsed.value - value) <= 0.5 * 10**-decimals / 3600 + 1e-9


@given(value=st.floats(min_value=-90, max_value=90, allow_nan=False))
def test_dms_round_trip_lat_spaced_and_spanish(value):
    text = format_dms(value, axis="lat", decimals=3)
    parsed = parse_coordinate(text, axis="lat")
    assert abs(parsed.value - value) <= 0.5e-3 / 3600 + 1e-9
    # the same value typed with spaces, a decimal comma and the hemisphere in front
    body, hemi = text[:-1], text[-1]
    d, rest = body.split("°")
    m, rest = rest.split("'")
    s = rest.rstrip('"').replace(".", ",")
    respelled = parse_coordinate(f"{hemi} {d} {m} {s}", axis="lat")
    assert respelled.value == pytest.approx(parsed.value, abs=1e-12)
