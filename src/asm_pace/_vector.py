"""Private helpers shared by every vector loader: opening files, the CRS policy, repairs.

Formats: GeoPackage, Shapefile (also zipped, also several in one zip), File Geodatabase
(``.gdb`` folder or zipped), GeoJSON, TopoJSON, KML/KMZ, FlatGeobuf and GeoParquet. GDAL does
the reading (through pyogrio by default, or fiona with ``engine="fiona"``); every error it
raises is turned into a :class:`~asm_pace.errors.ReadError` that names the file.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ._geometry import polygonal_parts
from .errors import (
    CRSError,
    InputError,
    LayerChoiceError,
    LayerNotFoundError,
    NoCRSWarning,
    ReadError,
    RepairedGeometryWarning,
)

__all__ = [
    "ENGINES",
    "LayerRef",
    "layer_refs",
    "named_refs",
    "choose_layer",
    "geometry_family",
    "read_layer",
    "short_error",
    "PathLike",
    "gdal_path",
    "list_layers",
    "read_vector",
    "repair_polygons",
    "check_ids",
    "row_list",
    "source_name",
    "to_wgs84",
]

PathLike = str | os.PathLike

#: The I/O engines geopandas offers; pyogrio is geopandas' default.
ENGINES = ("pyogrio", "fiona")

_PARQUET = (".parquet", ".geoparquet")


def source_name(source: Any) -> str:
    """A short human name for a source: the file path, or ``<DataFrame>``."""
    if isinstance(source, gpd.GeoDataFrame):
        return source.attrs.get("source", "<GeoDataFrame>")
    if isinstance(source, pd.DataFrame):
        return source.attrs.get("source", "<DataFrame>")
    return str(source)


def row_list(mask: np.ndarray | pd.Series) -> str:
    """The positions where ``mask`` is true, for messages: the first ten and how many in all."""
    rows = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(r) for r in rows[:10])
    return shown + (f" ... ({rows.size} in all)" if rows.size > 10 else "")


def check_ids(ids: pd.Series, *, source: str, column: str, what: str) -> None:
    """Raise :class:`~asm_pace.errors.InputError` when ids are missing or repeated.

    ``what`` names one feature in the message ("every site needs its own id").
    """
    if ids.isna().any():
        raise InputError(f"{source}: {column} is empty in rows {row_list(ids.isna())}")
    dup = ids.astype(str).duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"{source}: {column} is not unique (rows {row_list(dup)}: "
            f"{sorted(set(ids[dup].astype(str)))[:5]}); every {what} needs its own id"
        )


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder; check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise ReadError(f"{path}: the file is empty (0 bytes); export it again")


@dataclass(frozen=True)
class LayerRef:
    """One layer of a data set: what GDAL opens, what messages call it, its name and type."""

    target: str
    display: str
    name: str
    geometry_type: str


def _zip_targets(path: Path) -> list[tuple[str, str]]:
    """``(GDAL target, display name)`` for each data set inside a zip archive.

    - a File Geodatabase inside: ``/vsizip/file.zip/name.gdb``;
    - zips inside the zip (Protected Planet's shapefile download holds ``..._shp_0.zip`` ...
      ``..._shp_2.zip``): ``/vsizip//vsizip/file.zip/inner.zip``, one each;
    - shapefiles in sub-folders (WWF's TEOW zip has ``official/wwf_terr_ecos.shp``): one
      target per folder;
    - anything else: ``/vsizip/file.zip``, a folder GDAL lists layer by layer.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as err:
        raise ReadError(f"{path}: not a valid zip archive ({err}); download it again") from err
    gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n})
    if gdbs:
        return [(f"/vsizip/{path}/{g}", f"{path}!{g}") for g in gdbs]
    vector_ext = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".fgb")
    vectors = [n for n in names if n.lower().endswith(vector_ext)]
    inner = sorted(n for n in names if n.lower().endswith(".zip"))
    if inner and not vectors:
        return [(f"/vsizip//vsizip/{path.resolve()}/{n}", f"{path}!{n}") for n in inner]
    folders = sorted({n.rsplit("/", 1)[0] if "/" in n else "" for n in vectors})
    if folders and "" not in folders:
        return [(f"/vsizip/{path}/{f}", f"{path}!{f}") for f in folders]
    return [(f"/vsizip/{path}", str(path))]


def gdal_path(source: PathLike) -> str:
    """The path GDAL should open for ``source`` (the first data set of a zip).

    A zip holding a File Geodatabase opens as ``/vsizip/file.zip/name.gdb``; other zips as
    described in :func:`layer_refs`.
    """
    path = Path(source)
    _check_exists(path)
    if path.suffix.lower() == ".zip":
        return _zip_targets(path)[0][0]
    return str(path)


def layer_refs(source: PathLike) -> list[LayerRef]:
    """Every layer of a data set, across the data sets a zip may hold.

    Several parts may hold layers of the same name (the three inner zips of a WDPA
    shapefile download each hold a ``polygons`` and a ``points`` shapefile).
    """
    path = Path(source)
    _check_exists(path)
    if path.suffix.lower() in _PARQUET:
        return [LayerRef(str(path), str(path), path.stem, "Unknown")]
    targets = _zip_targets(path) if path.suffix.lower() == ".zip" else [(str(path), str(path))]
    refs = []
    for target, display in targets:
        try:
            layers = pyogrio.list_layers(target)
        except Exception as err:  # GDAL raises many kinds; all mean "cannot open"
            raise ReadError(
                f"{display}: GDAL cannot open it as a vector data set ({short_error(err)}); "
                "check that it is a GeoPackage, shapefile, File Geodatabase, GeoJSON, KML/KMZ or "
                "GeoParquet file and not damaged"
            ) from err
        refs += [
            LayerRef(target, display, str(name), str(gtype) if gtype is not None else "None")
            for name, gtype in layers
        ]
    return refs


def list_layers(source: PathLike) -> list[tuple[str, str]]:
    """The layers of a vector file, as ``(name, geometry type)`` pairs.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> [name for name, _ in list_layers(sample_path("protected_areas.gpkg"))]
    ['polygons', 'points']
    """
    return [(ref.name, ref.geometry_type) for ref in layer_refs(source)]


def short_error(err: Exception) -> str:
    """The first line of an error message from GDAL or another dependency."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def read_vector(
    source: PathLike,
    *,
    layer: str | int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
    columns: list[str] | None = None,
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of a vector file, in the file's own CRS.

    Parameters
    ----------
    source : path
        The file (or ``.gdb`` folder, or zip).
    layer : str or int, optional
        The layer; the first one when not given.
    bbox : (minx, miny, maxx, maxy), optional
        Keep features intersecting this box (in the layer's CRS), filtered by GDAL while reading.
    where : str, optional
        An OGR SQL WHERE clause, applied by GDAL while reading. The fields it names must be
        among ``columns`` when ``columns`` is given.
    columns : list of str, optional
        Read only these attribute columns.
    engine : {"pyogrio", "fiona"}, optional
        The I/O engine (default pyogrio).

    Returns
    -------
    geopandas.GeoDataFrame
        With ``attrs["source"]`` (the path) and ``attrs["layer"]`` (the layer name).

    Raises
    ------
    ReadError
        Missing, empty, corrupt or unreadable file.
    LayerNotFoundError
        ``layer`` is not in the file (the message lists the layers).
    """
    path = Path(source)
    refs = layer_refs(path)
    if not refs:
        raise ReadError(f"{path}: the file holds no vector layer")
    if layer is None:
        ref = refs[0]
    elif isinstance(layer, int):
        if not 0 <= layer < len(refs):
            raise LayerNotFoundError(
                f"{path}: there is no layer number {layer}; its layers are: "
                f"{', '.join(r.name for r in refs)}"
            )
        ref = refs[layer]
    else:
        ref = named_refs(refs, layer, source=path)[0]
    return read_layer(ref, bbox=bbox, where=where, columns=columns, engine=engine)


def named_refs(refs: list[LayerRef], layer: str, *, source: PathLike) -> list[LayerRef]:
    """The layers of ``refs`` named ``layer``: exact matches, else matches ignoring case.

    Raises :class:`~asm_pace.errors.LayerNotFoundError` (listing the layers) when none match.
    """
    matches = [r for r in refs if r.name == layer] or [
        r for r in refs if r.name.casefold() == str(layer).casefold()
    ]
    if not matches:
        names = ", ".join(dict.fromkeys(r.name for r in refs))
        raise LayerNotFoundError(f"{source}: no layer named {layer!r}; its layers are: {names}")
    return matches


def geometry_family(geometry_type: str | None) -> str:
    """The 2-D geometry type of a GDAL layer type: ``"Point Z"``, ``"3D Point"`` -> ``"Point"``.

    ``"None"`` (a table without geometry) and ``"Unknown"`` (mixed types) stay as they are.

    Examples
    --------
    >>> geometry_family("3D Multi Polygon"), geometry_family("Point ZM"), geometry_family(None)
    ('MultiPolygon', 'Point', 'None')
    """
    text = str(geometry_type).replace("3D ", "").replace("Multi ", "Multi")
    for suffix in (" ZM", " Z", " M"):
        text = text.removesuffix(suffix)
    return text


def choose_layer(
    refs: list[LayerRef],
    *,
    source: PathLike,
    usable: Callable[[LayerRef], bool],
    preferred: Callable[[str], bool] | None = None,
    what: str = "data",
    noun: str = "layers",
    option: str = "layer=",
) -> LayerRef:
    """The one layer of a multi-layer file meant when none was named, else an error.

    The rule: the only layer; else the only ``usable`` one (e.g. the only layer of points or
    polygons of a GeoPackage that also holds roads); else the only ``preferred`` one among the
    usable ones (e.g. the only one named like "sites"); else
    :class:`~asm_pace.errors.LayerChoiceError`, listing the candidates (name and geometry type)
    and ``option`` (``noun`` names them in the message, e.g. "sheets"). When no layer is
    usable, every layer is a candidate.

    Examples
    --------
    >>> refs = [LayerRef("f.gpkg", "f.gpkg", n, t) for n, t in [("roads", "LineString"),
    ...         ("mines", "Point")]]
    >>> choose_layer(refs, source="f.gpkg", usable=lambda r: r.geometry_type == "Point").name
    'mines'
    """
    if len(refs) == 1:
        return refs[0]
    candidates = [r for r in refs if usable(r)] or list(refs)
    if len(candidates) == 1:
        return candidates[0]
    if preferred is not None:
        named = [r for r in candidates if preferred(r.name)]
        if len(named) == 1:
            return named[0]
    listed = ", ".join(
        dict.fromkeys(
            r.name + (f" ({r.geometry_type})" if r.geometry_type else "") for r in candidates
        )
    )
    raise LayerChoiceError(
        f"{source}: {len(candidates)} {noun} could hold the {what}: {listed}; "
        f"pass {option} to say which one"
    )


def read_layer(
    ref: LayerRef,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
    columns: list[str] | None = None,
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the layer ``ref`` points at (see :func:`read_vector` for the options)."""
    engine = engine or "pyogrio"
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if Path(ref.target).suffix.lower() in _PARQUET:
        try:
            gdf = gpd.read_parquet(
                ref.target, columns=None if columns is None else [*columns, "geometry"]
            )
        except Exception as err:
            raise ReadError(
                f"{ref.display}: cannot read it as GeoParquet ({short_error(err)})"
            ) from err
        if bbox is not None:
            gdf = gdf[gdf.intersects(shapely.box(*bbox))]
        gdf.attrs.update(source=ref.display, layer=ref.name)
        return gdf
    kwargs: dict[str, Any] = {"layer": ref.name, "engine": engine}
    if bbox is not None:
        kwargs["bbox"] = tuple(float(v) for v in bbox)
    if where is not None:
        kwargs["where"] = where
    if columns is not None:
        kwargs["columns"] = list(columns)
    try:
        with warnings.catch_warnings():
            # GDAL chatter (e.g. "Measured geometries not supported") is not the user's business
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(ref.target, **kwargs)
    except Exception as err:
        raise ReadError(
            f"{ref.display}: cannot read layer {ref.name!r} ({short_error(err)}); "
            "check the file is complete and opens in QGIS"
        ) from err
    if not isinstance(gdf, gpd.GeoDataFrame):  # a table without geometry
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf), index=gdf.index))
    gdf.attrs.update(source=ref.display, layer=ref.name)
    return gdf


def _fits_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    if gdf.geometry.is_empty.all() or gdf.geometry.isna().all():
        return True
    minx, miny, maxx, maxy = gdf.total_bounds
    return bool(
        minx >= -180.0 - 1e-9
        and maxx <= 180.0 + 1e-9
        and miny >= -90.0 - 1e-9
        and maxy <= 90.0 + 1e-9
    )


def to_wgs84(gdf: gpd.GeoDataFrame, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Apply asm_pace's CRS policy and return a 2-D EPSG:4326 copy.

    - no CRS: a :class:`~asm_pace.errors.NoCRSWarning` and EPSG:4326 when every coordinate
      fits longitude/latitude ranges, else a :class:`~asm_pace.errors.CRSError`;
    - any other CRS (3-D ones such as EPSG:4979, compound, custom PROJ strings): reprojected;
    - Z (and M) values are dropped.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 8600000)], crs="EPSG:32719")
    >>> out = to_wgs84(g)
    >>> out.crs.to_epsg(), round(float(out.geometry.x.iloc[0]), 4)
    (4326, -69.0)
    """
    name = source or gdf.attrs.get("source", "<layer>")
    out = gdf.copy()
    if out.crs is None:
        if not _fits_lonlat(out):
            bounds = ", ".join(f"{v:.6g}" for v in out.total_bounds)
            raise CRSError(
                f"{name}: the layer has no coordinate reference system and its coordinates "
                f"(bounds {bounds}) are not longitude/latitude; add a .prj / set the CRS in QGIS, "
                "or pass crs= with the right EPSG code"
            )
        warnings.warn(
            f"{name}: the layer has no coordinate reference system; its coordinates fit "
            "longitude/latitude ranges, so it is read as EPSG:4326 (WGS 84). Pass crs= if that "
            "is wrong.",
            NoCRSWarning,
            stacklevel=3,
        )
        out = out.set_crs("EPSG:4326")
    else:
        try:
            crs = CRS.from_user_input(out.crs)
        except Exception as err:
            raise CRSError(f"{name}: its CRS cannot be understood ({short_error(err)})") from err
        if crs.to_epsg() != 4326:
            try:
                out = out.to_crs("EPSG:4326")
            except Exception as err:
                raise CRSError(
                    f"{name}: cannot reproject from {crs.name} to EPSG:4326 ({short_error(err)})"
                ) from err
    geoms = out.geometry.values
    if np.any(shapely.has_z(np.asarray(geoms, dtype=object))):
        out = out.set_geometry(shapely.force_2d(np.asarray(geoms, dtype=object)), crs="EPSG:4326")
    out = out.set_crs("EPSG:4326", allow_override=True)
    out.attrs = dict(gdf.attrs)
    return out


def repair_polygons(gdf: gpd.GeoDataFrame, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``shapely.make_valid`` and keep their polygonal parts.

    Issues a :class:`~asm_pace.errors.RepairedGeometryWarning` with the number repaired.
    Features left with no area (empty or missing geometry) are dropped.

    Examples
    --------
    >>> import geopandas as gpd, shapely, warnings
    >>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> g = gpd.GeoDataFrame(geometry=[bowtie], crs="EPSG:4326")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     fixed = repair_polygons(g)
    >>> fixed.geometry.iloc[0].geom_type, fixed.is_valid.all()
    ('MultiPolygon', np.True_)
    """
    name = source or gdf.attrs.get("source", "<layer>")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    invalid = present & ~shapely.is_valid(geoms)
    out = gdf.copy()
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        fixed = polygonal_parts(fixed)
        geoms = geoms.copy()
        geoms[invalid] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        warnings.warn(
            f"{name}: {int(invalid.sum())} invalid polygon(s) repaired with make_valid "
            "(self-intersections, bow-ties, ring errors)",
            RepairedGeometryWarning,
            stacklevel=3,
        )
    keep = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    out = out[keep]
    out.attrs = dict(gdf.attrs)
    return out
