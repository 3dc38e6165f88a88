"""Site lists: reading ASM sites from spreadsheets and vector files, and validating them.

A site list is whatever people keep their mining sites in: a CSV exported from Excel in a
Spanish, Portuguese or French locale (``;`` between fields, decimal commas), an ``.xlsx``
workbook, a Google Earth KML/KMZ, a GeoPackage, a shapefile in a zip, a GeoJSON, GeoParquet, or
a (Geo)DataFrame already in memory. :func:`read_sites` turns any of them into the *Sites* layer of
``docs/design.md``: a GeoDataFrame in EPSG:4326 with a unique text ``site_id``, the file's own
columns kept as they are, and Point (or footprint Polygon/MultiPolygon) geometries.

:func:`validate_sites` finds every problem in a site list (line, column, value, what to do)
without raising; :func:`read_sites` raises one
:class:`~asm_pace.errors.SiteValidationError` holding all of them. See ``docs/loading.md``.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ._coords import parse_coordinates
from ._geometry import nonfinite, polygonal_parts
from ._vector import (
    LayerRef,
    choose_layer,
    geometry_family,
    layer_refs,
    list_layers,
    mark_valid,
    read_layer,
    read_vector,
    short_error,
    source_name,
    to_wgs84,
)
from .errors import (
    CRSError,
    InputError,
    LayerNotFoundError,
    MissingDependencyError,
    ReadError,
    RepairedGeometryWarning,
    SiteProblem,
    SiteValidationError,
)

__all__ = [
    "read_sites",
    "validate_sites",
    "uncertainty_column",
    "uncertainty_values",
    "LON_NAMES",
    "LAT_NAMES",
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "SITE_LAYER_WORDS",
    "MAX_COLUMNS",
]

#: Longitude column names recognised (after lower-casing and removing accents, spaces and
#: punctuation), best first.
LON_NAMES: tuple[str, ...] = ("lon", "long", "lng", "longitude", "longitud", "longitudine")
#: Latitude column names recognised, best first.
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "latitud", "latitudine")
#: Lower-priority coordinate names: generic x/y and projected eastings/northings.
_X_NAMES = ("x", "xcoord", "coordx", "easting", "este", "east", "utme", "utmx")
_Y_NAMES = ("y", "ycoord", "coordy", "northing", "norte", "north", "utmn", "utmy")
#: Words that may accompany a coordinate name without changing its meaning
#: (``Longitude (WGS84)``, ``lat_dd``, ``X_GEO``, ``POINT_X``, ``coord_x`` ...).
_QUALIFIERS = frozenset(
    [
        "dd",
        "deg",
        "degree",
        "degrees",
        "decimal",
        "dec",
        "dms",
        "wgs",
        "wgs84",
        "84",
        "4326",
        "gd",
        "geo",
        "geog",
        "geographic",
        "coord",
        "coords",
        "coordinate",
        "coordinates",
        "grados",
        "graus",
        "decimales",
        "decimais",
        "decimaux",
        "point",
        "pt",
        "site",
        "sitio",
        "n",
        "s",
        "e",
        "w",
        "o",
        "utm",
        "m",
        "metres",
        "meters",
        "metros",
    ]
)

#: Location-uncertainty columns (metres), in priority order: the first present gives each
#: site's uncertainty radius (names compared without case, accents or separators, so
#: Darwin Core's ``coordinateUncertaintyInMeters`` matches). Empty cells: no uncertainty.
UNCERTAINTY_COLUMNS: tuple[str, ...] = (
    "uncertainty_m",
    "coordinate_uncertainty_m",
    "coordinateUncertaintyInMeters",
    "location_uncertainty_m",
    "accuracy_m",
    "precision_m",
    "horizontal_accuracy_m",
)
#: The largest location uncertainty (m) accepted: a wider circle is not a location.
MAX_UNCERTAINTY_M = 100_000.0


def uncertainty_column(columns: Any) -> Any:
    """The column of ``columns`` holding location uncertainties, or None.

    Examples
    --------
    >>> uncertainty_column(["id", "lat", "lon", "coordinateUncertaintyInMeters"])
    'coordinateUncertaintyInMeters'
    >>> uncertainty_column(["Accuracy (m)", "Uncertainty M"])
    'Uncertainty M'
    >>> uncertainty_column(["id", "lon", "lat"]) is None
    True
    """
    wanted = [_norm(c).replace("_", "") for c in UNCERTAINTY_COLUMNS]
    found = {_norm(c).replace("_", ""): c for c in reversed(list(columns)) if isinstance(c, str)}
    return next((found[w] for w in wanted if w in found), None)


def uncertainty_values(
    values: pd.Series, lines: np.ndarray, column: Any
) -> tuple[np.ndarray, list[SiteProblem]]:
    """Metres per row (NaN where empty) and a problem per value that is not a radius.

    A value must be a finite number of metres, at least 0 and at most
    :data:`MAX_UNCERTAINTY_M`; a decimal comma is read as a point. An empty cell
    (or a missing number: NULL in a GeoPackage) means no uncertainty is known;
    the text ``nan`` is refused.

    Examples
    --------
    >>> u, problems = uncertainty_values(pd.Series(["500", "", "-3", "1e9", "nan"]),
    ...     np.arange(2, 7), "uncertainty_m")
    >>> u[:2].tolist(), [p.line for p in problems]
    ([500.0, nan], [4, 5, 6])
    """
    out = np.full(len(values), np.nan)
    problems = []
    for i, raw in enumerate(values.tolist()):
        if pd.isna(raw) or str(raw).strip() == "":  # an empty cell (NULL): no uncertainty
            continue
        try:
            value = float(str(raw).strip().replace(",", "."))
        except ValueError:
            problem = "the location uncertainty is not a number of metres"
            problems.append(_uncertainty_problem(lines[i], column, raw, problem))
            continue
        if not np.isfinite(value) or value < 0 or value > MAX_UNCERTAINTY_M:
            problem = (
                f"the location uncertainty is not a radius of 0 to {MAX_UNCERTAINTY_M:,.0f} m "
                "(a wider circle is not a location)"
            )
            problems.append(_uncertainty_problem(lines[i], column, raw, problem))
            continue
        out[i] = value
    return out, problems


def _uncertainty_problem(line: Any, column: Any, raw: Any, problem: str) -> SiteProblem:
    return SiteProblem(
        int(line),
        str(column),
        _plain(raw),
        problem,
        f"give the radius in metres (0 to {MAX_UNCERTAINTY_M:,.0f}; 1 km is 1000), or leave "
        "the cell empty when unknown",
    )


#: Identifier columns, in priority order: the first present is the site id, and its values must
#: be unique and filled in (duplicates and blanks are reported as problems).
ID_COLUMNS: tuple[str, ...] = (
    "site_id",
    "siteid",
    "id_site",
    "site_code",
    "sitecode",
    "id_sitio",
    "sitio_id",
    "codigo_sitio",
    "mine_id",
    "id_mina",
    "mina_id",
    "asm_id",
    "id",
    "code",
    "codigo",
    "cod",
    "uid",
    "identifier",
    "identificador",
    "objectid",
)
#: Name-like columns, used as the site id only when no identifier column exists AND every value
#: is filled in and unique (names often repeat; then ids are generated and names kept).
NAME_COLUMNS: tuple[str, ...] = (
    "site_name",
    "sitename",
    "name",
    "nombre",
    "nome",
    "nom",
    "nombre_sitio",
    "nome_sitio",
    "site",
    "sitio",
    "label",
)

_TEXT_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_KML_SUFFIXES = {".kml", ".kmz"}
# columns the GDAL LIBKML driver adds to every KML layer: display settings (always dropped) and
# time / snippet fields (dropped when empty)
_KML_DISPLAY_COLUMNS = ("altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon")
_KML_OPTIONAL_COLUMNS = ("timestamp", "begin", "end", "snippet")


@dataclass
class _Table:
    """Raw tabular records with the line number (or row / feature number) of each."""

    df: pd.DataFrame
    lines: np.ndarray
    name: str
    problems: list[SiteProblem] = field(default_factory=list)
    #: column names the header repeats (the later ones renamed ``lat.1``...), with positions
    repeated: dict[Any, list[int]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# public API


def read_sites(
    source: str | Path | pd.DataFrame,
    *,
    lon: str | None = None,
    lat: str | None = None,
    id_column: str | Literal[False] | None = None,
    layer: str | int | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read a site list into a GeoDataFrame of ASM sites in EPSG:4326.

    Parameters
    ----------
    source : path or DataFrame
        A CSV/TSV/TXT file (delimiter sniffed; UTF-8 with or without BOM, UTF-16, else
        cp1252), an Excel ``.xlsx`` workbook (needs the ``[excel]`` extra), a GeoJSON,
        GeoPackage, shapefile (``.shp`` or ``.zip``), KML/KMZ, GeoParquet or FlatGeobuf file,
        or a DataFrame / GeoDataFrame (never modified).
    lon, lat : str, optional
        The coordinate columns of a table; detected by name when not given (see
        ``docs/loading.md``). Values may be decimal degrees (point or comma) or
        degrees-minutes-seconds with hemisphere letters (``5°39'00"N``, ``70 12 30 O``).
    id_column : str or False, optional
        The column holding the site identifiers; detected when not given (:data:`ID_COLUMNS`,
        then :data:`NAME_COLUMNS`), else ids ``S0001``, ``S0002``... are generated. ``False``
        ignores the file's identifiers (e.g. a list with repeated ids) and numbers the sites
        ``S0001``, ``S0002``... in file order; the file's columns are kept as they are.
    layer : str or int, optional
        The layer of a multi-layer file (GeoPackage layer, KML folder, Excel sheet). Without
        it: the only layer; else the only one that can hold sites (points or polygons, or a
        table or sheet with longitude and latitude columns; never an empty layer, a hidden or
        a chart sheet); else the only one of those named like sites
        (:data:`SITE_LAYER_WORDS`, e.g. ``sites``, ``Minas 2024``); else
        :class:`~asm_pace.errors.LayerChoiceError` listing them. A KML/KMZ read without
        ``layer`` gives the points and polygons of every folder, with a ``layer`` column
        naming the folder (folders of lines only are left out and counted in
        ``attrs["counts"]["removed"]["other_layers"]``).
    crs : optional
        The CRS of a table's coordinates when they are not longitude/latitude (e.g.
        ``"EPSG:32719"`` for UTM zone 19S eastings/northings), or of a vector file that has none.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id`` (unique text), the source's own columns, ``geometry`` (Point, or
        Polygon/MultiPolygon footprints), EPSG:4326, a fresh RangeIndex, ``attrs["source"]``,
        ``attrs["layer"]`` (a vector layer's name) and ``attrs["counts"]`` (``read``,
        ``removed`` by step, ``repaired`` footprints, ``used``).

    Raises
    ------
    SiteValidationError
        Every problem in the list at once (each a :class:`~asm_pace.errors.SiteProblem`).
    ReadError
        A missing, unreadable, damaged or encrypted file, or one that is not what its name
        says; :class:`~asm_pace.errors.LayerNotFoundError` for a missing layer or sheet.
    LayerChoiceError
        Several layers or sheets could hold the sites and none was named.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"Código": ["A1", "B2"], "Latitud": ["5°39'00\\"N", "-12,5"],
    ...                       "Longitud": ["70 12 30 O", "-69.25"]})
    >>> sites = read_sites(table)
    >>> sites[["site_id"]].assign(x=sites.geometry.x.round(4), y=sites.geometry.y)
      site_id        x      y
    0      A1 -70.2083   5.65
    1      B2 -69.2500 -12.50
    """
    sites, problems = _load(source, lon=lon, lat=lat, id_column=id_column, layer=layer, crs=crs)
    if problems or sites is None:
        raise SiteValidationError(source_name(source), problems)
    return sites


def validate_sites(
    source: str | Path | pd.DataFrame,
    *,
    lon: str | None = None,
    lat: str | None = None,
    id_column: str | Literal[False] | None = None,
    layer: str | int | None = None,
    crs: Any = None,
) -> list[SiteProblem]:
    """Find every problem in a site list, without raising.

    Takes the same arguments as :func:`read_sites`. Each problem names the line (for text
    files the physical line, header = line 1; for Excel the sheet row; for vector files and
    DataFrames the 1-based feature / row number), the column, the value and what to do.
    A file that cannot be opened at all still raises :class:`~asm_pace.errors.ReadError`.

    Returns
    -------
    list of SiteProblem
        Empty when the list reads cleanly.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"id": ["a", "a"], "lat": [95.0, 1.0], "lon": [-120.0, 0.0]})
    >>> for problem in validate_sites(table):
    ...     print(problem)
    line 1, column 'lat': latitude is outside -90..90 (value 95.0). Check the value
    line 2, column 'id': site id 'a' is used again; it is also on line 1 (value 'a'). ...
    """
    _, problems = _load(source, lon=lon, lat=lat, id_column=id_column, layer=layer, crs=crs)
    return problems


# --------------------------------------------------------------------------------------------
# dispatch


def _load(
    source: Any, *, lon: Any, lat: Any, id_column: Any, layer: Any, crs: Any
) -> tuple[gpd.GeoDataFrame | None, list[SiteProblem]]:
    """Read and check; problems in file order (file-wide first), fixes capitalised."""
    sites, problems = _load_any(source, lon=lon, lat=lat, id_column=id_column, layer=layer, crs=crs)
    problems = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
    problems = [replace(p, fix=p.fix[:1].upper() + p.fix[1:]) for p in problems]
    return sites, problems


def _load_any(
    source: Any, *, lon: Any, lat: Any, id_column: Any, layer: Any, crs: Any
) -> tuple[gpd.GeoDataFrame | None, list[SiteProblem]]:
    if crs is not None:
        try:
            crs = CRS.from_user_input(crs)
        except Exception as err:
            raise CRSError(
                f"{source_name(source)}: crs={crs!r} (--sites-crs) is not a coordinate "
                "reference system pyproj knows; pass an EPSG code such as 'EPSG:32719'"
            ) from err
        if not (crs.is_geographic or crs.is_projected):
            raise CRSError(
                f"{source_name(source)}: crs={crs.name!r} (--sites-crs) is a {crs.type_name}, "
                "which does not place points on a map; pass the horizontal CRS of the "
                "coordinates, e.g. 'EPSG:4326' (lon/lat) or 'EPSG:32719' (UTM 19S)"
            )
    opts = {"lon": lon, "lat": lat, "id_column": id_column, "crs": crs}
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source  # never modified: the steps below make new frames (to_wgs84 copies)
        if gdf.geometry.isna().all() and len(gdf):
            table = _Table(
                pd.DataFrame(gdf.drop(columns=gdf.geometry.name)),
                _count(len(gdf)),
                source_name(gdf),
            )
            return _from_table(table, **opts)
        return _from_vector(gdf, _count(len(gdf)), **opts)
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        df.attrs = dict(source.attrs)
        return _from_table(_Table(df, _count(len(df)), source_name(source)), **opts)
    if not isinstance(source, (str, Path)):
        raise InputError(
            f"read_sites takes a file path or a (Geo)DataFrame, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder; check the path")
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        if layer is not None:
            raise LayerNotFoundError(
                f"{path}: a text table has no layers or sheets; drop layer= (--sites-layer)"
            )
        return _from_table(_read_text(path), **opts)
    if suffix in _EXCEL_SUFFIXES:
        return _from_table(_read_excel(path, layer, lon, lat), **opts)
    if suffix == ".xls":
        raise ReadError(
            f"{path}: the old Excel .xls format is not supported; "
            "open it in Excel or LibreOffice and save it as .xlsx or .csv"
        )
    gdf, lines, removed = _read_vector_sites(path, layer, lon, lat)
    if len(gdf) and gdf.geometry.isna().all():
        # a table without geometry (GeoPackage attribute table, GeoJSON with null geometries)
        table = _Table(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), lines, str(path))
        return _from_table(table, **opts)
    return _from_vector(gdf, lines, removed=removed, **opts)


def _count(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.int64)


def _source_problems(
    gdf: gpd.GeoDataFrame, lines: np.ndarray, problems: list[SiteProblem], where: Any
) -> np.ndarray:
    """Features whose coordinates in the file are unusable: NaN or infinite; and, in a
    longitude/latitude layer, a latitude beyond +-90 or a point's longitude beyond +-180.
    Appends a problem for each to ``problems``; returns the mask.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    column = gdf.geometry.name
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    not_finite = present & nonfinite(geoms)
    bounds = shapely.bounds(geoms)
    # a layer without CRS: to_wgs84 decides whether it is longitude/latitude at all
    checked = present & ~not_finite & (gdf.crs is not None and gdf.crs.is_geographic)
    lat_out = checked & ((bounds[:, 1] < -90) | (bounds[:, 3] > 90))
    points = np.isin(shapely.get_type_id(geoms), [0, 4])
    lon_out = checked & ~lat_out & points & ((bounds[:, 0] < -180) | (bounds[:, 2] > 180))
    fix_nan = "fix the coordinates in the file (a failed export or formula?) or remove the feature"
    fix_range = "check the coordinates and the file's CRS"
    for mask, what, fix in (
        (not_finite, "a coordinate is not a number (NaN or infinite)", fix_nan),
        (lat_out, "latitude is outside -90..90", fix_range),
        (lon_out, "longitude is outside -180..180", fix_range),
    ):
        for i in np.flatnonzero(mask):
            problems.append(
                SiteProblem(int(lines[i]), column, geoms[i].wkt[:80], f"{what}{where(i)}", fix)
            )
    return not_finite | lat_out | lon_out


# --------------------------------------------------------------------------------------------
# text tables


_EXPORT_FIX = "export the site list again as CSV (UTF-8) from Excel, LibreOffice or QGIS"
# C0 control characters that never occur in a text table (tab, line ends, form feed and the
# DOS end-of-file mark ^Z excepted)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f]")


def _utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when every other byte is NUL (UTF-16 text without BOM)."""
    even, odd = head[0::2], head[1::2]
    if len(head) < 4 or not odd:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_as(path, raw, "utf-16")
    if raw.startswith(b"PK\x03\x04"):
        raise ReadError(
            f"{path}: this is a zip archive (an Excel workbook?), not a text table; "
            "give it its real extension (.xlsx, .zip, .kmz)"
        )
    utf16 = _utf16_without_bom(raw[:4096])
    if utf16 is not None:
        return _decode_as(path, raw, utf16)
    head = raw[:4096].decode("latin-1")
    if len(_CONTROL.findall(head)) > max(2, len(head) // 100):
        raise ReadError(f"{path}: this is a binary file, not a CSV/TSV text table; {_EXPORT_FIX}")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _decode_as(path: Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise ReadError(
            f"{path}: byte {err.start} is not valid {encoding.upper()} text (a damaged or "
            f"truncated file); {_EXPORT_FIX}"
        ) from err


def _sniff(lines: list[str]) -> str:
    """The delimiter giving the same number (> 1) of fields on the most lines."""
    best, best_score = ",", (-1.0, 0)
    sample = [line for line in lines if line.strip()][:50]
    if not sample:
        return best
    for delimiter in (",", ";", "\t", "|"):
        rows = list(csv.reader(sample, delimiter=delimiter))
        width = len(rows[0])
        if width < 2:
            continue
        score = (float(np.mean([len(r) == width for r in rows])), width)
        if score[0] > best_score[0] or (score[0] == best_score[0] and score[1] > best_score[1]):
            best, best_score = delimiter, score
    return best


def _read_text(path: Path) -> _Table:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReadError(f"{path}: cannot read it ({err.strerror or err})") from err
    text = _decode(path, raw).rstrip("\x1a")  # ^Z: the DOS end-of-file mark
    physical = re.split(r"\r\n|\r|\n", text)  # the line ends csv counts
    first_line = 1
    delimiter = None
    sep_line = physical and re.fullmatch(r"\s*sep=(.)\s*", physical[0], flags=re.IGNORECASE)
    if sep_line:
        delimiter = sep_line.group(1)
        first_line = 2
        text = text.split("\n", 1)[1] if "\n" in text else ""
    records: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    with _field_limit(len(text) + 1):  # a long description is no reason to fail (128 KB default)
        if delimiter is None:
            delimiter = _sniff(physical[:60])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for row in reader:
                start = previous + 1
                previous = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                records.append([cell.strip() for cell in row])
                starts.append(start + first_line - 1)
        except csv.Error as err:
            raise ReadError(
                f"{path}: line {reader.line_num + first_line - 1}: {err}; check the quotes on "
                f"that line, or {_EXPORT_FIX}"
            ) from err
        quotes = _quote_problem(text, delimiter, first_line)
    problems: list[SiteProblem] = quotes + [
        SiteProblem(
            number,
            None,
            None,
            "the line holds a NUL byte (a damaged file or a binary export)",
            f"remove it, or {_EXPORT_FIX}",
        )
        for number, line in enumerate(physical, start=1)
        if "\x00" in line
    ]
    if not records:
        problems.append(
            SiteProblem(None, None, None, "the file is empty", "export the site list again")
        )
        return _Table(pd.DataFrame(), np.array([], dtype=np.int64), name, problems)
    header, body, lines = records[0], records[1:], np.array(starts[1:], dtype=np.int64)
    while header and not header[-1] and all(len(r) < len(header) or not r[-1] for r in body):
        header = header[:-1]  # trailing empty columns (";;" at the end of every line)
    header, repeated = _unique_names(header)
    width = len(header)
    rows = []
    for row, line in zip(body, lines, strict=True):
        if len(row) > width:
            extra = [c for c in row[width:] if c]
            if extra:
                hint = (
                    "values with decimal commas must be quoted in a comma-separated file, or "
                    "export it with ';' between fields"
                    if delimiter == ","
                    else "check for a stray delimiter in a text value, or quote that value"
                )
                problems.append(
                    SiteProblem(
                        int(line),
                        None,
                        delimiter.join(row),
                        f"the line has {len(row)} fields but the header has {width}",
                        hint,
                    )
                )
            row = row[:width]
        rows.append(row + [""] * (width - len(row)))
    df = pd.DataFrame(rows, columns=header, dtype=object)
    if df.empty and not len(rows):
        df = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    decimal_comma = delimiter != ","
    for column in df.columns:
        df[column] = _infer(df[column], decimal_comma=decimal_comma)
    return _Table(df, lines, name, problems, repeated)


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """Let the csv module read fields of up to ``size`` characters, then restore its limit."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(size, sys.maxsize)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _quote_problem(text: str, delimiter: str, first_line: int) -> list[SiteProblem]:
    """Quotes that do not pair up across lines: read leniently, later lines become one value.

    The lenient reading (Excel's) is kept for the table; a strict one finds the line. A quoted
    value may hold line breaks; it is its quotes' pairing that is checked.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as err:
        line = start + first_line - 1
        end = reader.line_num + first_line - 1
        if end == line and "end of data" not in str(err):
            return []  # '"Mina" grande' on one line: read as Excel does, nothing is lost
        where = f"lines {line}-{end} are" if end > line else "the line is"
        return [
            SiteProblem(
                line,
                None,
                None,
                f'the quotes (") do not pair up ({err}): {where} read as one value, and the '
                "sites on them may be lost",
                "remove the stray quote or close it (a quote inside a quoted value is written "
                'twice: "")',
            )
        ]
    return []


def _unique_names(header: list[Any]) -> tuple[list[Any], dict[Any, list[int]]]:
    """Column names made unique, and the repeated ones with their 1-based positions.

    A blank name becomes ``column_<n>``; the second ``lat`` becomes ``lat.1`` (``lat.2``...).
    """
    labels = [
        f"column_{i + 1}" if isinstance(raw, str) and not raw else raw
        for i, raw in enumerate(header)
    ]
    positions: dict[Any, list[int]] = {}
    for i, label in enumerate(labels, start=1):
        positions.setdefault(label, []).append(i)
    taken = set(labels)
    out = []
    for i, label in enumerate(labels, start=1):
        if positions[label][0] != i:
            k = positions[label].index(i)
            while f"{label}.{k}" in taken:
                k += 1
            taken.add(f"{label}.{k}")
            label = f"{label}.{k}"
        out.append(label)
    return out, {label: pos for label, pos in positions.items() if len(pos) > 1}


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_COMMA_FLOAT = re.compile(r"^[+-]?(?:\d+,?\d*|,\d+)$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def _infer(column: pd.Series, *, decimal_comma: bool) -> pd.Series:
    """Numbers where every filled cell is a number (codes with leading zeros stay text)."""
    values = column.to_numpy(dtype=object)
    filled = np.array([v != "" for v in values], dtype=bool)
    texts = values[filled]
    if not len(texts):
        return pd.Series([np.nan] * len(values), index=column.index, dtype=float)
    numbers = pd.Series(np.nan, index=column.index)
    if all(_FLOAT.match(t) for t in texts):  # stops at the first text value
        if all(_INT.match(t) for t in texts):
            if any(_LEADING_ZERO.match(t) for t in texts):
                pass  # an identifier such as "007": keep it as text
            else:
                numbers[filled] = texts.astype(np.int64)
                return numbers.astype("int64") if filled.all() else numbers
        else:
            numbers[filled] = texts.astype(float)
            return numbers
    elif decimal_comma and all(_COMMA_FLOAT.match(t) for t in texts):
        numbers[filled] = np.char.replace(texts.astype(str), ",", ".").astype(float)
        return numbers
    # object -> the default text dtype of the installed pandas (``str`` in pandas >= 3)
    return pd.Series(
        np.where(filled, values, None), index=column.index, dtype=object
    ).infer_objects()


# --------------------------------------------------------------------------------------------
# Excel


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: an old .xls, or encrypted


def _check_workbook_file(path: Path) -> None:
    """Refuse a file that is no .xlsx (a zip archive), saying what it is instead."""
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError as err:
        raise ReadError(f"{path}: cannot read it ({err.strerror or err})") from err
    if head.startswith(b"PK\x03\x04"):
        return
    if not head:
        raise ReadError(f"{path}: the file is empty (0 bytes); export the site list again")
    if head.startswith(_OLE_MAGIC):
        raise ReadError(
            f"{path}: this is a password-protected (encrypted) workbook or an old .xls file "
            "renamed .xlsx; open it in Excel or LibreOffice, remove the password and save it "
            "as .xlsx or CSV"
        )
    if not _CONTROL.search(head.decode("latin-1")):
        raise ReadError(
            f"{path}: this is a text file (a CSV?), not an Excel workbook; give it its real "
            "extension (.csv)"
        )
    raise ReadError(
        f"{path}: not an Excel .xlsx workbook (not a zip archive); check it opens in Excel or "
        "LibreOffice and save it as .xlsx or CSV"
    )


def _read_excel(path: Path, sheet: str | int | None, lon: Any, lat: Any) -> _Table:
    try:
        import openpyxl
    except ImportError as err:
        raise MissingDependencyError(
            f"{path}: reading Excel workbooks needs openpyxl: pip install 'asm-pace[excel]' "
            "(from a source checkout: pip install -e '.[excel]'), or save the sheet as CSV"
        ) from err
    name = str(path)
    _check_workbook_file(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:
        raise ReadError(
            f"{path}: cannot open it as an Excel .xlsx workbook ({short_error(err)}); "
            "check it opens in Excel or LibreOffice"
        ) from err
    try:
        sheet_name = _choose_sheet(path, book, sheet, lon, lat)
        rows = list(enumerate(_sheet_rows(path, book, sheet_name), start=1))
    finally:
        book.close()
    rows = [(n, [v.strip() if isinstance(v, str) else v for v in r]) for n, r in rows]
    rows = [(n, r) for n, r in rows if any(_filled(v) for v in r)]
    if not rows:
        problem = SiteProblem(
            None, None, None, f"sheet {sheet_name!r} is empty", "check the sheet holds the sites"
        )
        return _Table(pd.DataFrame(), np.array([], dtype=np.int64), name, [problem])
    header = ["" if v is None else str(v).strip() for v in rows[0][1]]
    while header and not header[-1]:
        header = header[:-1]
    header, repeated = _unique_names(header)
    width = len(header)
    body = [(r + [None] * width)[:width] for _, r in rows[1:]]
    lines = np.array([n for n, _ in rows[1:]], dtype=np.int64)
    df = pd.DataFrame(body, columns=header, dtype=object)
    df = df.replace("", None)
    df = df.infer_objects()
    return _Table(df, lines, name, [], repeated)


def _sheet_rows(path: Path, book: Any, sheet_name: str, limit: int | None = None) -> list[list]:
    """The cell values of a worksheet, row by row (up to ``limit`` rows)."""
    try:
        sheet = book[sheet_name]
        return [list(r) for r in sheet.iter_rows(min_row=1, max_row=limit, values_only=True)]
    except Exception as err:  # a damaged sheet: XML or zip errors of many kinds
        raise ReadError(
            f"{path}: sheet {sheet_name!r} cannot be read ({short_error(err)}); the workbook is "
            "damaged: open it in Excel or LibreOffice and save it again, or save the sheet as CSV"
        ) from err


def _number_unless_named(layer: str | int | None, names: list[str]) -> str | int | None:
    """A layer or sheet given as digits (``--sites-layer 2``) that names none is its number.

    The command line passes text, and ``layer=2`` in Python is the third layer or sheet.

    >>> _number_unless_named("2", ["points", "roads", "mines"]), _number_unless_named("2", ["2"])
    (2, '2')
    """
    if isinstance(layer, str) and layer.strip().isdigit() and layer not in names:
        return int(layer)
    return layer


def _choose_sheet(path: Path, book: Any, sheet: str | int | None, lon: Any, lat: Any) -> str:
    """The sheet asked for, else the one sheet of sites (the rule of :func:`choose_layer`)."""
    names = list(book.sheetnames)
    worksheets = [ws.title for ws in book.worksheets]  # chart sheets hold no cells
    sheet = _number_unless_named(sheet, names)
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise LayerNotFoundError(
                f"{path}: there is no sheet number {sheet}; its sheets are: {', '.join(names)}"
            )
        sheet = names[sheet]
    if sheet is not None and sheet not in names:
        raise LayerNotFoundError(
            f"{path}: no sheet named {sheet!r}; its sheets are: {', '.join(names)}"
        )
    if sheet is not None and sheet not in worksheets:
        raise LayerNotFoundError(
            f"{path}: sheet {sheet!r} is a chart, it holds no cells; its worksheets are: "
            f"{', '.join(worksheets) or 'none'}"
        )
    if sheet is not None:
        return sheet
    if not worksheets:
        raise ReadError(f"{path}: the workbook has only charts, no worksheet with the sites")

    def usable(ref: LayerRef) -> bool:
        if book[ref.name].sheet_state != "visible":  # hidden sheets: lookups, not the list
            return False
        head = [r for r in _sheet_rows(path, book, ref.name, 20) if any(_filled(v) for v in r)]
        return bool(head) and _has_coordinate_columns(
            ["" if v is None else str(v).strip() for v in head[0]], lon, lat
        )

    refs = [LayerRef(str(path), str(path), title, "") for title in worksheets]
    return choose_layer(
        refs,
        source=path,
        usable=usable,
        preferred=_site_like_name,
        what="sites (sheets with longitude and latitude columns)",
        noun="sheets",
        option=_LAYER_OPTION,
    ).name


def _filled(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------------------------
# vector files


#: Layer (and sheet) names that mark the site list among several candidates: one of these words
#: in the name (``sites``, ``ASM sites 2024``, ``Minas``), after :func:`_norm`.
SITE_LAYER_WORDS = frozenset(
    ["site", "sites", "sitio", "sitios", "mine", "mines", "mina", "minas", "asm", "garimpos"]
)
#: The geometry types a layer of sites may have (GDAL's names, Z/M dropped); ``Unknown`` is a
#: layer of mixed types.
_SITE_GEOMETRIES = frozenset(["Point", "MultiPoint", "Polygon", "MultiPolygon", "Unknown"])
_LAYER_OPTION = "layer= (--sites-layer on the command line)"
_SET_CRS = "pass crs= with the right EPSG code (--sites-crs on the command line)"


def _site_like_name(name: str) -> bool:
    return bool(SITE_LAYER_WORDS & set(_norm(name).split("_")))


def _has_coordinate_columns(columns: list[Any], lon: Any, lat: Any) -> bool:
    """Whether a table with these columns has a longitude and a latitude column."""
    frame = pd.DataFrame(columns=columns)
    found = [_find_column(frame, given, axis) for given, axis in ((lon, "lon"), (lat, "lat"))]
    return all(col is not None and problem is None for col, problem in found)


def _choose_vector_layer(path: Path, lon: Any, lat: Any) -> LayerRef:
    """The layer of sites of a multi-layer file (see ``docs/loading.md``, "Several layers")."""
    refs = layer_refs(path)
    if not refs:
        raise ReadError(f"{path}: the file holds no vector layer; check the file")

    def usable(ref: LayerRef) -> bool:
        family = geometry_family(ref.geometry_type)
        if family not in _SITE_GEOMETRIES and family != "None":
            return False
        try:
            info = pyogrio.read_info(ref.target, layer=ref.name)
        except Exception:  # unreadable here: read_layer reports it if it is chosen
            return False
        if info["features"] == 0:  # an empty layer holds no sites (-1: count unknown)
            return False
        # a table without geometry: usable when it has coordinate columns
        return family != "None" or _has_coordinate_columns(list(info["fields"]), lon, lat)

    return choose_layer(
        refs,
        source=path,
        usable=usable,
        preferred=_site_like_name,
        what="sites (points, polygons or a table of coordinates)",
        option=_LAYER_OPTION,
    )


def _read_vector_sites(
    path: Path, layer: str | int | None, lon: Any, lat: Any
) -> tuple[gpd.GeoDataFrame, np.ndarray, dict[str, int]]:
    """The layer of sites, the feature numbers, and the features left out by step."""
    suffix = path.suffix.lower()
    removed: dict[str, int] = {}
    if suffix in _KML_SUFFIXES and layer is None:
        gdf, removed = _read_kml_folders(path)
    elif layer is None:
        gdf = read_layer(_choose_vector_layer(path, lon, lat))
    else:
        digits = isinstance(layer, str) and layer.strip().isdigit()  # else no need to list
        names = [name for name, _ in list_layers(path)] if digits else []
        gdf = read_vector(path, layer=_number_unless_named(layer, names))
    if suffix in _KML_SUFFIXES:
        drop = [c for c in _KML_DISPLAY_COLUMNS if c in gdf.columns]
        drop += [c for c in _KML_OPTIONAL_COLUMNS if c in gdf.columns and gdf[c].isna().all()]
        if "id" in gdf.columns and gdf["id"].isna().all():  # LIBKML's empty Placemark id
            drop.append("id")
        gdf = gdf.drop(columns=drop)
    return gdf, _count(len(gdf)), removed


def _read_kml_folders(path: Path) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Every folder of a KML with points or polygons, with a ``layer`` column naming the folder.

    Folders holding only other geometries (tracks, lines) are left out, as a GeoPackage's
    roads layer is beside its sites; ``{"other_layers": n}`` counts their features.
    """
    refs = layer_refs(path)  # listed once: each folder is read by its own reference
    if len(refs) <= 1:
        return read_vector(path), {}
    parts = []
    for ref in refs:
        part = read_layer(ref)
        part.insert(0, "layer", ref.name)
        parts.append(part)
    kinds = [shapely.get_type_id(np.asarray(p.geometry.values, dtype=object)) for p in parts]
    sites_like = [bool(np.isin(k, [0, 3, 4, 6]).any()) for k in kinds]
    kept = [p for p, keep in zip(parts, sites_like, strict=True) if keep and len(p)]
    kept = kept or [p for p in parts if len(p)] or parts[:1]
    other = sum(len(p) for p in parts) - sum(len(p) for p in kept)
    gdf = pd.concat(kept, ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry=kept[0].geometry.name, crs=kept[0].crs)
    gdf.attrs.update(source=str(path), layer=None)
    return gdf, ({"other_layers": other} if other else {})


def _from_vector(
    gdf: gpd.GeoDataFrame,
    lines: np.ndarray,
    *,
    lon: Any,
    lat: Any,
    id_column: Any,
    crs: Any,
    removed: dict[str, int] | None = None,
) -> tuple[gpd.GeoDataFrame | None, list[SiteProblem]]:
    name = source_name(gdf)
    problems: list[SiteProblem] = []
    if not len(gdf):
        problems.append(
            SiteProblem(None, None, None, "the layer holds no features", "check the file/layer")
        )
        return None, problems
    if crs is not None:
        if gdf.crs is None:
            gdf = gdf.set_crs(crs)
        elif not gdf.crs.equals(crs):
            problems.append(
                SiteProblem(
                    None,
                    None,
                    str(crs.to_string()),
                    f"crs= (--sites-crs) was given but the file already has its own CRS "
                    f"({gdf.crs.to_string()})",
                    "drop crs= (--sites-crs): it is only for files without a CRS",
                )
            )
            return None, problems
    geom_col = gdf.geometry.name
    problems += _width_problems(gdf.shape[1] - 1)
    layer_of = gdf["layer"].to_numpy() if "layer" in gdf.columns and lines.size else None

    def where(i: int) -> str:
        return f" (layer {layer_of[i]!r})" if layer_of is not None else ""

    # the file's own coordinates first, feature by feature (reprojection refuses a whole layer)
    unusable = _source_problems(gdf, lines, problems, where)
    if unusable.any():
        gdf = gdf.copy()
        gdf[geom_col] = gpd.GeoSeries(
            np.where(unusable, None, np.asarray(gdf.geometry.values, dtype=object)),
            index=gdf.index,
            crs=gdf.crs,
        )
    source, source_crs = np.asarray(gdf.geometry.values, dtype=object), gdf.crs
    try:
        gdf = to_wgs84(gdf, source=name, set_crs=_SET_CRS)
    except InputError as err:  # the CRS policy refuses the layer (CRS, or an ambiguous polygon)
        fix = _SET_CRS if isinstance(err, CRSError) else "fix that feature in the file"
        problems.append(SiteProblem(None, None, None, str(err), fix))
        return None, problems
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing & ~unusable):
        problems.append(
            SiteProblem(
                int(lines[i]),
                geom_col,
                None,
                f"feature has no geometry{where(i)}",
                "give it a location or remove it",
            )
        )
    # points made infinite by reprojection (to_wgs84 leaves them to be reported by line)
    lost = ~missing & nonfinite(geoms)
    for i in np.flatnonzero(lost):
        problems.append(
            SiteProblem(
                int(lines[i]),
                geom_col,
                source[i].wkt[:80],
                f"the point cannot be reprojected from {source_crs.name} to longitude/latitude "
                f"(outside the area the CRS covers){where(i)}",
                "check the coordinates and the file's CRS",
            )
        )
    missing |= lost
    kinds = shapely.get_type_id(geoms)  # 0 point, 3 polygon, 4 multipoint, 6 multipolygon
    single_multipoint = (kinds == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multipoint.any():
        geoms = geoms.copy()
        geoms[single_multipoint] = shapely.get_geometry(geoms[single_multipoint], 0)
        kinds = shapely.get_type_id(geoms)
    bad_kind = ~missing & ~np.isin(kinds, [0, 3, 6])
    for i in np.flatnonzero(bad_kind):
        problems.append(
            SiteProblem(
                int(lines[i]),
                geom_col,
                geoms[i].geom_type,
                f"sites must be points or polygons (footprints), this is a "
                f"{geoms[i].geom_type}{where(i)}",
                "convert it to a point or a polygon, or remove it",
            )
        )
    # latitudes past 90 and point longitudes past 180 were refused before reprojection (in
    # the file's own lon/lat) or by to_wgs84, which also splits polygons at +-180
    ok = ~missing & ~bad_kind
    points = ok & (kinds == 0)
    xy = np.full((len(geoms), 2), np.nan)
    if points.any():
        xy[points] = shapely.get_coordinates(geoms[points])
    for i in np.flatnonzero(points & (xy[:, 0] == 0) & (xy[:, 1] == 0)):
        problems.append(_null_island(int(lines[i]), geom_col, suffix=where(i)))
    polygons = ok & np.isin(kinds, [3, 6])
    invalid = polygons & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        repaired = polygonal_parts(shapely.make_valid(geoms[invalid]))
        for i, geom in zip(np.flatnonzero(invalid), repaired, strict=True):
            if geom.is_empty:
                problems.append(
                    SiteProblem(
                        int(lines[i]),
                        geom_col,
                        geoms[i].wkt[:80],
                        f"footprint polygon has no area{where(i)}",
                        "redraw it or give the site as a point",
                    )
                )
            geoms[i] = geom
        warnings.warn(
            f"{name}: {int(invalid.sum())} invalid footprint polygon(s) repaired with "
            "make_valid (self-intersections, ring errors)",
            RepairedGeometryWarning,
            stacklevel=4,
        )
    table = pd.DataFrame(gdf.drop(columns=geom_col))
    ids, id_problems, _ = _site_ids(table, lines, id_column)
    problems += id_problems
    problems += _uncertainty_problems(table, lines)
    if lon is not None or lat is not None:
        problems.append(
            SiteProblem(
                None,
                None,
                None,
                "lon=/lat= (--lon/--lat) were given but this file has geometries",
                "drop lon=/lat= (--lon/--lat): they are for tables of coordinates",
            )
        )
    if problems:
        return None, problems
    out = _finish(table, ids, geoms, name, layer=gdf.attrs.get("layer"))
    mark_valid(out)  # footprints checked (and repaired) above: classify does not check again
    removed = dict(removed or {})
    out.attrs["counts"].update(
        read=len(out) + sum(removed.values()), removed=removed, repaired=int(invalid.sum())
    )
    return out, []


# --------------------------------------------------------------------------------------------
# tables -> sites


def _norm(label: Any) -> str:
    text = unicodedata.normalize("NFKD", str(label))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _coordinate_rank(label: Any, axis: str) -> int | None:
    """0 exact name, 1 name with qualifiers, 2 x/y-like name; None when not a coordinate."""
    norm = _norm(label)
    words, generic = (LON_NAMES, _X_NAMES) if axis == "lon" else (LAT_NAMES, _Y_NAMES)
    if norm in words:
        return 0
    core = [t for t in norm.split("_") if t and t not in _QUALIFIERS]
    if len(core) == 1 and core[0] in words:
        return 1
    if norm.replace("_", "") in generic or (len(core) == 1 and core[0] in generic):
        return 2
    return None


def _find_column(df: pd.DataFrame, given: Any, axis: str) -> tuple[Any, SiteProblem | None]:
    label = "longitude" if axis == "lon" else "latitude"
    if given is not None:
        if given in df.columns:
            return given, None
        matches = [c for c in df.columns if _norm(c) == _norm(given)]
        if len(matches) == 1:
            return matches[0], None
        if matches:
            return None, SiteProblem(
                None,
                str(given),
                None,
                f"several columns match the {label} column {given!r} given as {axis}=: "
                f"{', '.join(map(str, matches))}",
                f"pass the exact name of one of them as {axis}= (--{axis} on the command line)",
            )
        return None, SiteProblem(
            None,
            str(given),
            None,
            f"the {label} column {given!r} given as {axis}= (--{axis}) is not in the table",
            f"pick one of the columns: {', '.join(map(str, df.columns))}",
        )
    ranked = [(r, c) for c in df.columns if (r := _coordinate_rank(c, axis)) is not None]
    if not ranked:
        return None, None
    best = min(r for r, _ in ranked)
    chosen = [c for r, c in ranked if r == best]
    if len(chosen) > 1:
        return None, SiteProblem(
            None,
            None,
            None,
            f"several columns could be the {label}: {', '.join(map(str, chosen))}",
            f"pass {axis}= (--{axis} on the command line) to say which one",
        )
    return chosen[0], None


def _from_table(
    table: _Table, *, lon: Any, lat: Any, id_column: Any, crs: CRS | None
) -> tuple[gpd.GeoDataFrame | None, list[SiteProblem]]:
    df, lines, name, repeated = table.df, table.lines, table.name, dict(table.repeated)
    problems = list(table.problems)
    if df.columns.duplicated().any():  # a DataFrame with repeated column names
        names, repeated = _unique_names(list(df.columns))
        df = df.set_axis(names, axis=1)
    problems += _width_problems(df.shape[1])
    if any(p.line is None and "empty" in p.problem for p in problems):
        return None, problems
    if not len(df):
        problems.append(
            SiteProblem(
                None, None, None, "the table has a header but no sites", "add the site rows"
            )
        )
        return None, problems
    lon_col, lon_problem = _find_column(df, lon, "lon")
    lat_col, lat_problem = _find_column(df, lat, "lat")
    for problem in (lon_problem, lat_problem):
        if problem is not None:
            problems.append(problem)
    if lon_problem is None and lat_problem is None and (lon_col is None or lat_col is None):
        missing = [
            axis for axis, col in (("longitude", lon_col), ("latitude", lat_col)) if col is None
        ]
        problems.append(
            SiteProblem(
                None,
                None,
                None,
                f"no {' and no '.join(missing)} column found; the columns are: "
                f"{', '.join(map(str, df.columns))}",
                "name them e.g. lon/lat, longitude/latitude, longitud/latitud, x/y "
                f"(recognised: {', '.join(LON_NAMES + _X_NAMES)}; "
                f"{', '.join(LAT_NAMES + _Y_NAMES)}; case, accents and units such as "
                "'(WGS84)' or '_dd' are ignored), or pass lon= and lat= (--lon/--lat on the command line)",
            )
        )
    if lon_col is None or lat_col is None:
        return None, problems
    if lon_col == lat_col:
        problems.append(
            SiteProblem(
                None,
                str(lon_col),
                None,
                "the same column is given for lon and lat",
                "fix lon=/lat= (--lon/--lat)",
            )
        )
        return None, problems
    xs, x_errors = parse_coordinates(df[lon_col], axis="lon")
    ys, y_errors = parse_coordinates(df[lat_col], axis="lat")
    raw_x = df[lon_col].to_numpy(dtype=object)
    raw_y = df[lat_col].to_numpy(dtype=object)
    geographic = crs is None or crs.is_geographic
    for col, raw, errors, what in (
        (lon_col, raw_x, x_errors, "longitude"),
        (lat_col, raw_y, y_errors, "latitude"),
    ):
        for i, error in enumerate(errors):
            if error is None:
                continue
            if error == "missing":
                problems.append(
                    SiteProblem(
                        int(lines[i]),
                        str(col),
                        None,
                        f"the {what} is missing",
                        "fill it in or remove the line",
                    )
                )
            else:
                problems.append(
                    SiteProblem(
                        int(lines[i]),
                        str(col),
                        _plain(raw[i]),
                        f"the {what} cannot be read: {error}",
                        "write decimal degrees (-12.5431) or degrees-minutes-seconds with a "
                        "hemisphere letter (12°32'35\"S)"
                        if geographic
                        else "write plain numbers in the units of crs= (--sites-crs)",
                    )
                )
    if geographic:
        problems += _range_problems(xs, ys, raw_x, raw_y, lines, lon_col, lat_col)
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    if crs is not None and not (crs.is_geographic and crs.to_epsg() == 4326):
        try:  # points: a plain transformation, checked row by row below
            moved = gpd.GeoSeries(geoms, crs=crs).to_crs("EPSG:4326")
        except Exception as err:  # pyproj has no transformation between them
            problems.append(
                SiteProblem(
                    None,
                    None,
                    None,
                    f"the coordinates cannot be transformed from {crs.name} to "
                    f"longitude/latitude ({short_error(err)})",
                    "check crs= (--sites-crs)",
                )
            )
            return None, problems
        geoms = np.asarray(moved.values, dtype=object)
        out_xy = np.full((len(df), 2), np.nan)
        if ok.any():
            out_xy[ok] = shapely.get_coordinates(geoms[ok])
        outside = ok & ~(
            np.isfinite(out_xy).all(axis=1)
            & (np.abs(out_xy[:, 0]) <= 180)
            & (np.abs(out_xy[:, 1]) <= 90)
        )
        for i in np.flatnonzero(outside):
            problems.append(
                SiteProblem(
                    int(lines[i]),
                    f"{lon_col}, {lat_col}",
                    (_plain(raw_x[i]), _plain(raw_y[i])),
                    f"the coordinates cannot be transformed from {crs.to_string()} to "
                    "longitude/latitude",
                    "check crs= (--sites-crs) and the columns",
                )
            )
        if not geographic:
            for i in np.flatnonzero(ok & ~outside & (out_xy[:, 0] == 0) & (out_xy[:, 1] == 0)):
                problems.append(_null_island(int(lines[i]), f"{lon_col}, {lat_col}"))
    ids, id_problems, id_col = _site_ids(df, lines, id_column)
    problems += id_problems
    problems += _uncertainty_problems(df, lines)
    given = {lon_col: lon, lat_col: lat, id_col: id_column}
    for col, axis in ((lon_col, "lon"), (lat_col, "lat"), (id_col, "id-column")):
        if col in repeated:
            problems.append(_repeated_column(col, repeated[col], given[col], axis))
    if problems:
        return None, problems
    return _finish(df, ids, geoms, name), []


#: The most columns of a site list asm_pace can carry into its GeoPackage output: SQLite holds
#: 2000 per table, and the sites layer adds its id, geometry and about 25 result columns.
MAX_COLUMNS = 1900


def _uncertainty_problems(df: pd.DataFrame, lines: np.ndarray) -> list[SiteProblem]:
    """The problems of the location-uncertainty column, if the table has one."""
    column = uncertainty_column(df.columns)
    if column is None:
        return []
    return uncertainty_values(df[column], lines, column)[1]


def _width_problems(width: int) -> list[SiteProblem]:
    if width <= MAX_COLUMNS:
        return []
    return [
        SiteProblem(
            None,
            None,
            None,
            f"the list has {width} columns; the GeoPackage output can carry at most "
            f"{MAX_COLUMNS} of a site list's columns",
            "keep only the columns you need (the coordinates, the id and a few attributes)",
        )
    ]


def _repeated_column(column: Any, positions: list[int], given: Any, option: str) -> SiteProblem:
    """The header names the column used for the longitude, latitude or ids more than once."""
    shown = ", ".join(map(str, positions))
    keyword = option.replace("-", "_")
    what = {"lon": "longitude", "lat": "latitude", "id-column": "site id"}[option]
    how = "given as" if given is not None else "found as"
    return SiteProblem(
        None,
        str(column),
        None,
        f"the header has {len(positions)} columns named {column!r} (columns {shown}), "
        f"{how} the {what} column: which one is meant is unclear",
        f"rename all but one; or pass {keyword}='{column}.1' (--{option} {column}.1 on the "
        "command line) for the second one",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _null_island(line: int, column: str, *, suffix: str = "") -> SiteProblem:
    return SiteProblem(
        line,
        column,
        (0.0, 0.0),
        f"the site is at longitude 0, latitude 0 ('null island'){suffix}, usually a missing "
        "value exported as 0",
        "fill in the real coordinates or remove the line",
    )


def _range_problems(
    xs: np.ndarray,
    ys: np.ndarray,
    raw_x: np.ndarray,
    raw_y: np.ndarray,
    lines: np.ndarray,
    lon_col: Any,
    lat_col: Any,
) -> list[SiteProblem]:
    problems = []
    finite_x = xs[np.isfinite(xs)]
    lat_over = np.isfinite(ys) & (np.abs(ys) > 90)
    swapped = bool(
        lat_over.any()
        and np.all(np.abs(ys[lat_over]) <= 180)
        and finite_x.size
        and np.all(np.abs(finite_x) <= 90)
    )
    metres = np.abs(np.r_[xs[np.isfinite(xs)], ys[np.isfinite(ys)]])
    projected = bool(np.any((metres > 1000) & (metres < 1e8)))  # eastings, northings in metres
    if swapped:
        problems.append(
            SiteProblem(
                None,
                f"{lat_col}, {lon_col}",
                None,
                f"columns look swapped: {lat_col!r} (read as latitude) holds values beyond "
                f"+-90 while every value of {lon_col!r} (read as longitude) is within +-90",
                f"pass lat={lon_col!r}, lon={lat_col!r} (--lat {lon_col} --lon {lat_col} on the command line)",
            )
        )
    hint = (
        "these look like projected coordinates (metres): pass crs= with their CRS, "
        "e.g. crs='EPSG:32719' for UTM zone 19S (--sites-crs EPSG:32719 on the command line)"
        if projected
        else "check the value"
    )
    for i in np.flatnonzero(lat_over):
        problems.append(
            SiteProblem(
                int(lines[i]),
                str(lat_col),
                _plain(raw_y[i]),
                "latitude is outside -90..90",
                f"the lat and lon columns look swapped: pass lat={lon_col!r}, lon={lat_col!r} "
                f"(--lat {lon_col} --lon {lat_col} on the command line)"
                if swapped
                else hint,
            )
        )
    for i in np.flatnonzero(np.isfinite(xs) & (np.abs(xs) > 180)):
        problems.append(
            SiteProblem(
                int(lines[i]),
                str(lon_col),
                _plain(raw_x[i]),
                "longitude is outside -180..180",
                hint if projected else "check the value (0..360 longitudes: subtract 360)",
            )
        )
    for i in np.flatnonzero((xs == 0) & (ys == 0)):
        problems.append(_null_island(int(lines[i]), f"{lon_col}, {lat_col}"))
    return problems


# --------------------------------------------------------------------------------------------
# site ids


def _id_text(value: Any) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _site_ids(
    df: pd.DataFrame, lines: np.ndarray, id_column: Any
) -> tuple[pd.Series | None, list[SiteProblem], Any]:
    """The site ids (text), the problems, and the column they came from (``None``: made).

    From ``id_column``, an id-like column, a name-like column, or made ``S0001``...
    """
    problems: list[SiteProblem] = []
    column = None
    strict = True
    if id_column is False:
        pass
    elif id_column is not None:
        if id_column in df.columns:
            column = id_column
        else:
            problems.append(
                SiteProblem(
                    None,
                    str(id_column),
                    None,
                    f"the id column {id_column!r} given as id_column= (--id-column) is not in "
                    "the table",
                    f"pick one of the columns: {', '.join(map(str, df.columns))}",
                )
            )
            return None, problems, None
    else:
        by_norm: dict[str, Any] = {}
        for c in df.columns:
            by_norm.setdefault(_norm(c), c)
        column = next(
            (
                by_norm[n]
                for n in ID_COLUMNS
                if n in by_norm and any(_id_text(v) for v in df[by_norm[n]].to_numpy(dtype=object))
            ),
            None,
        )  # a wholly empty id column (LIBKML's Placemark "id") is not an identifier
        if column is None:
            strict = False
            for n in NAME_COLUMNS:
                if n in by_norm:
                    texts = [_id_text(v) for v in df[by_norm[n]].to_numpy(dtype=object)]
                    if all(texts) and len(set(texts)) == len(texts):
                        column = by_norm[n]
                    break
    if column is None:
        width = max(4, len(str(len(df))))
        return pd.Series([f"S{i:0{width}d}" for i in range(1, len(df) + 1)]), problems, None
    texts = [_id_text(v) for v in df[column].to_numpy(dtype=object)]
    first_seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text is None:
            if strict:
                problems.append(
                    SiteProblem(
                        int(lines[i]),
                        str(column),
                        None,
                        "the site id is missing",
                        f"fill in {column!r} on every line, or pass id_column= (--id-column) "
                        "to use another column or id_column=False (--new-ids) to number the "
                        "sites afresh",
                    )
                )
            continue
        if text in first_seen:
            problems.append(
                SiteProblem(
                    int(lines[i]),
                    str(column),
                    text,
                    f"site id {text!r} is used again; it is also on line {first_seen[text]}",
                    "give every site its own id, or pass id_column=False (--new-ids on the "
                    "command line) to number the sites afresh",
                )
            )
        else:
            first_seen[text] = int(lines[i])
    return pd.Series(texts), problems, column


def _finish(
    df: pd.DataFrame, ids: pd.Series, geoms: np.ndarray, name: str, *, layer: Any = None
) -> gpd.GeoDataFrame:
    """The Sites layer; ``attrs``: ``source``, ``layer`` (when read from one), ``counts``."""
    table = df.reset_index(drop=True)
    ids = pd.Series(ids.to_numpy(dtype=object), dtype=object).infer_objects()
    if "site_id" in table.columns:
        table["site_id"] = ids
    else:
        table.insert(0, "site_id", ids)
    geometry = gpd.GeoSeries(geoms, crs="EPSG:4326")
    if "geometry" in table.columns:
        table = table.rename(columns={"geometry": "geometry_source"})
    out = gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")
    out.attrs = {"source": name}
    if layer is not None:
        out.attrs["layer"] = layer
    out.attrs["counts"] = {"read": len(out), "removed": {}, "repaired": 0, "used": len(out)}
    return out
