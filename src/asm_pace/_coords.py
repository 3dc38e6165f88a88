"""Private: parsing coordinates as people type them in spreadsheets.

Accepted forms, for one latitude or longitude value:

- decimal degrees with a point or a decimal comma: ``-12.5431``, ``-12,5431``, ``+70.2``;
- degrees, minutes and seconds with symbols (``°``, ``º``, ``˚``, ``'``, ``′``, ``’``, ``"``,
  ``″``, ``''``), colons or spaces between the parts, and the last part possibly decimal:
  ``5°39'00"N``, ``70 12 30 W``, ``12°30.5'S``, ``12:30:00S``, ``N 5° 39' 00"``;
- a hemisphere letter or word before or after the number: ``N``/``S`` for latitude, ``E``/``W``
  for longitude, with the Spanish, Portuguese and French letters: ``O`` (*Oeste*, *Ouest*) is
  **west**, ``L`` (*Leste*) is east; words such as ``Norte``, ``Sur``, ``Sul``, ``Sud``, ``Nord``,
  ``Este``, ``Est``, ``Oeste``, ``Ouest`` too; or a leading minus sign (south / west).

A value with both a minus sign and a hemisphere letter is refused (it is ambiguous), as are minutes
or seconds of 60 or more and a hemisphere letter of the wrong axis (``N`` in a longitude column).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CoordParse", "format_dms", "parse_coordinate", "parse_coordinates"]

# hemisphere words / letters -> (axis, sign)
_HEMISPHERES: dict[str, tuple[str, int]] = {
    "N": ("lat", 1),
    "NORTH": ("lat", 1),
    "NORTE": ("lat", 1),
    "NORD": ("lat", 1),
    "S": ("lat", -1),
    "SOUTH": ("lat", -1),
    "SUR": ("lat", -1),
    "SUL": ("lat", -1),
    "SUD": ("lat", -1),
    "E": ("lon", 1),
    "EAST": ("lon", 1),
    "ESTE": ("lon", 1),
    "EST": ("lon", 1),
    "L": ("lon", 1),
    "LESTE": ("lon", 1),
    "W": ("lon", -1),
    "WEST": ("lon", -1),
    "O": ("lon", -1),
    "OESTE": ("lon", -1),
    "OUEST": ("lon", -1),
}

_WORD = "|".join(sorted(_HEMISPHERES, key=len, reverse=True))
_NUM = r"\d+(?:[.,]\d*)?|[.,]\d+"
# degree, minute, second symbols after normalisation (see _normalise)
_DMS = re.compile(
    rf"""^
    (?P<sign>[+-])?\s*
    (?P<deg>{_NUM})\s*(?:D|DEG|°)?
    (?:[\s:]*(?P<min>{_NUM})\s*'?
      (?:[\s:]*(?P<sec>{_NUM})\s*(?:"|'')?)?
    )?
    $""",
    re.VERBOSE,
)
_PREFIX = re.compile(rf"^(?P<hemi>{_WORD})(?![A-Z])\.?\s*(?P<rest>.*)$")
_SUFFIX = re.compile(rf"^(?P<rest>.*?)\s*(?<![A-Z])(?P<hemi>{_WORD})\.?$")

_THOUSANDS_POINT = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+\.\d*$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d*$")

_TRANSLATE = str.maketrans(
    {
        "º": "°",  # masculine ordinal indicator, typed for the degree sign in es/pt
        "˚": "°",  # ring above
        "⁰": "°",
        "′": "'",
        "’": "'",
        "‘": "'",
        "´": "'",
        "`": "'",
        "″": '"',
        "“": '"',
        "”": '"',
        "−": "-",  # minus sign
        "–": "-",  # en dash
        "\u00a0": " ",
    }
)


@dataclass(frozen=True)
class CoordParse:
    """The result of parsing one value: ``value`` (float, NaN when it failed) and ``error``.

    ``error`` is ``None`` on success, ``"missing"`` for an empty cell, else a short explanation.
    """

    value: float
    error: str | None


def _normalise(text: str) -> str:
    # translate first: NFKC turns the ordinal indicator "º" (typed for "°") into "o"
    text = unicodedata.normalize("NFKC", text.translate(_TRANSLATE)).translate(_TRANSLATE)
    return " ".join(text.split()).upper()


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_coordinate(value: object, *, axis: str) -> CoordParse:
    """Parse one latitude (``axis="lat"``) or longitude (``axis="lon"``) value.

    Examples
    --------
    >>> parse_coordinate("5°39'00\\"N", axis="lat").value
    5.65
    >>> round(parse_coordinate("70 12 30 O", axis="lon").value, 6)  # O = Oeste (west)
    -70.208333
    >>> parse_coordinate("-12,5431", axis="lat").value
    -12.5431
    >>> parse_coordinate("5 N", axis="lon").error
    "hemisphere 'N' is for latitude, but this is the longitude column"
    """
    if axis not in ("lat", "lon"):
        raise ValueError(f"axis must be 'lat' or 'lon', got {axis!r}")
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return CoordParse(np.nan, "missing")
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if not np.isfinite(number):
            return CoordParse(np.nan, "not a finite number")
        return CoordParse(number, None)
    text = _normalise(str(value))
    if not text or text in {"NA", "N/A", "NAN", "NULL", "NONE", "-", "--"}:
        return CoordParse(np.nan, "missing")
    if _THOUSANDS_POINT.match(text):  # 345,678.25 (thousands separators, e.g. UTM metres)
        text = text.replace(",", "")
    elif _THOUSANDS_COMMA.match(text):  # 345.678,25
        text = text.replace(".", "").replace(",", ".")
    try:
        number = float(text.replace(",", ".") if text.count(",") == 1 else text)
    except ValueError:
        pass
    else:
        if np.isfinite(number):
            return CoordParse(number, None)
        return CoordParse(np.nan, "not a finite number")
    hemi = None
    for pattern in (_PREFIX, _SUFFIX):
        match = pattern.match(text)
        if match and match.group("rest").strip():
            hemi = match.group("hemi")
            text = match.group("rest").strip()
            break
    match = _DMS.match(text)
    if match is None:
        return CoordParse(np.nan, "not a number nor a degrees-minutes-seconds coordinate")
    try:
        deg = _number(match.group("deg"))
        minutes = _number(match.group("min")) if match.group("min") else 0.0
        seconds = _number(match.group("sec")) if match.group("sec") else 0.0
    except ValueError:
        return CoordParse(np.nan, "not a number nor a degrees-minutes-seconds coordinate")
    parts = [match.group(k) for k in ("deg", "min", "sec") if match.group(k)]
    if any(re.search(r"[.,]", p) for p in parts[:-1]):
        return CoordParse(np.nan, "only the last of degrees, minutes, seconds may have decimals")
    if minutes >= 60 or seconds >= 60:
        return CoordParse(np.nan, "minutes and seconds must be below 60")
    magnitude = deg + minutes / 60.0 + seconds / 3600.0
    sign = -1.0 if match.group("sign") == "-" else 1.0
    if hemi is not None:
        hemi_axis, hemi_sign = _HEMISPHERES[hemi]
        if hemi_axis != axis:
            names = {"lat": "latitude", "lon": "longitude"}
            return CoordParse(
                np.nan,
                f"hemisphere {hemi!r} is for {names[hemi_axis]}, "
                f"but this is the {names[axis]} column",
            )
        if match.group("sign"):
            return CoordParse(np.nan, f"both a sign and the hemisphere {hemi!r}: ambiguous")
        sign = float(hemi_sign)
    return CoordParse(sign * magnitude, None)


def parse_coordinates(values: pd.Series, *, axis: str) -> tuple[np.ndarray, list[str | None]]:
    """Parse a column of coordinates; returns the floats (NaN where parsing failed) and errors.

    Numeric columns are taken as they are (vectorised); text values are parsed once per
    distinct value.

    Examples
    --------
    >>> import pandas as pd
    >>> vals, errs = parse_coordinates(pd.Series(["1,5", "2°30'S", ""]), axis="lat")
    >>> vals.tolist(), errs
    ([1.5, -2.5, nan], [None, None, 'missing'])
    """
    series = pd.Series(values).reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    if numeric and not pd.api.types.is_bool_dtype(series.dtype) and series.dtype.kind != "c":
        out = series.to_numpy(dtype=float, na_value=np.nan)
        errors: list[str | None] = [None] * len(out)
        for i in np.flatnonzero(~np.isfinite(out)):
            errors[i] = "missing" if np.isnan(out[i]) else "not a finite number"
        out = np.where(np.isfinite(out), out, np.nan)
        return out, errors
    cache: dict[object, CoordParse] = {}
    out = np.full(len(series), np.nan)
    errors = [None] * len(series)
    for i, value in enumerate(series.to_numpy(dtype=object)):
        key = (type(value), value) if _hashable(value) else None
        parsed = cache.get(key) if key is not None else None
        if parsed is None:
            parsed = parse_coordinate(value, axis=axis)
            if key is not None:
                cache[key] = parsed
        out[i] = parsed.value
        errors[i] = parsed.error
    return out, errors


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def format_dms(value: float, *, axis: str, decimals: int = 2) -> str:
    """Format decimal degrees as degrees-minutes-seconds with a hemisphere letter.

    Examples
    --------
    >>> format_dms(5.65, axis="lat", decimals=0)
    '5°39\\'00"N'
    >>> format_dms(-70.2083333, axis="lon", decimals=1)
    '70°12\\'30.0"W'
    """
    if axis not in ("lat", "lon"):
        raise ValueError(f"axis must be 'lat' or 'lon', got {axis!r}")
    hemi = ("N" if value >= 0 else "S") if axis == "lat" else ("E" if value >= 0 else "W")
    scale = 10**decimals
    total = round(abs(float(value)) * 3600 * scale)  # in units of 10**-decimals seconds
    deg, rest = divmod(total, 3600 * scale)
    minutes, sec_units = divmod(rest, 60 * scale)
    sec_whole, sec_frac = divmod(sec_units, scale)
    sec = f"{sec_whole:02d}" + (f".{sec_frac:0{decimals}d}" if decimals > 0 else "")
    return f"{deg}°{minutes:02d}'{sec}\"{hemi}"
