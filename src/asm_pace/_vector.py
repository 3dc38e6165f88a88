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
from pyproj import CRS, Transformer

from ._geometry import polygonal_parts, polygons_from_rings, ring_coordinates, unwrap_rings
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
    "refuse_tables",
    "geometry_family",
    "read_layer",
    "short_error",
    "PathLike",
    "gdal_path",
    "list_layers",
    "read_vector",
    "repair_polygons",
    "repair_polygons_counted",
    "ValidMark",
    "mark_valid",
    "known_valid",
    "carry_mark",
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


def is_dask(obj: object) -> bool:
    """A dask collection (dask-geopandas or dask DataFrame), without importing dask."""
    return type(obj).__module__.split(".")[0] in {"dask", "dask_geopandas"} and hasattr(
        obj, "npartitions"
    )


def row_list(mask: np.ndarray | pd.Series) -> str:
    """The rows where ``mask`` is true, for messages: the first ten and how many in all.

    Rows are counted from 1 (the first feature is row 1), as the site messages count
    lines and QGIS counts features: the docs' "Row numbers in messages".

    >>> row_list(np.array([False, True, False, True]))
    '2, 4'
    """
    rows = np.flatnonzero(np.asarray(mask)) + 1
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
    if path.suffix.lower() == ".shp":
        siblings = {p.name.lower() for p in path.parent.iterdir()}
        _check_shapefile_parts(path.name, siblings, where=str(path))


#: The parts of a shapefile without which it reads wrongly or not at all: GDAL reads a .shp
#: without its .dbf as geometries with no attributes (no ids, no WDPA status: wrong answers).
_SHAPEFILE_PARTS = {".shx": "the index of its shapes", ".dbf": "the attribute table"}


def _check_shapefile_parts(name: str, names: set[str], *, where: str) -> None:
    """Refuse a shapefile whose .shx or .dbf is missing (``names``: lower-case file names)."""
    stem = name[: -len(".shp")]
    for ext, what in _SHAPEFILE_PARTS.items():
        if f"{stem}{ext}".lower() not in names:
            raise ReadError(
                f"{where}: its {stem}{ext} ({what}) is missing; a shapefile is several files "
                "(.shp, .shx, .dbf, .prj): copy them all together, or zip them together"
            )


@dataclass(frozen=True)
class LayerRef:
    """One layer of a data set: what GDAL opens, what messages call it, its name and type."""

    target: str
    display: str
    name: str
    geometry_type: str


#: the vector files a zip may hold that asm_pace looks for inside it
_VECTOR_EXT = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".fgb")


def _zip_targets(path: Path) -> list[tuple[str, str]]:
    """``(GDAL target, display name)`` for each data set inside a zip archive.

    - a File Geodatabase inside: ``/vsizip/file.zip/name.gdb``;
    - zips inside the zip (Protected Planet's shapefile download holds ``..._shp_0.zip`` ...
      ``..._shp_2.zip``): ``/vsizip//vsizip/file.zip/inner.zip``, one each;
    - shapefiles in sub-folders (WWF's TEOW zip has ``official/wwf_terr_ecos.shp``): one
      target per folder;
    - no shapefile and no table: each GeoPackage, GeoJSON, KML or FlatGeobuf file,
      ``/vsizip/file.zip/name.gpkg`` (a ``.json`` only when nothing else is there);
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
    vectors = [n for n in names if n.lower().endswith(_VECTOR_EXT)]
    lower = {n.lower() for n in names}
    for n in vectors:
        if n.lower().endswith(".shp"):
            _check_shapefile_parts(n, lower, where=f"{path}!{n}")
    inner = sorted(n for n in names if n.lower().endswith(".zip"))
    if inner and not vectors:
        return [(f"/vsizip//vsizip/{path.resolve()}/{n}", f"{path}!{n}") for n in inner]
    tables = [n for n in names if n.lower().endswith((".csv", ".tsv", ".xlsx", ".xls", ".ods"))]
    if vectors and not tables and not any(n.lower().endswith(".shp") for n in vectors):
        # single-file data sets (a zipped GeoPackage): GDAL opens each by its own path, not
        # the zip as a folder; a .json beside them is taken for metadata
        files = [n for n in vectors if not n.lower().endswith(".json")] or vectors
        return [(f"/vsizip/{path}/{n}", f"{path}!{n}") for n in sorted(files)]
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
            raise ReadError(f"{display}: {_unopenable(path, err)}") from err
        refs += [
            LayerRef(target, display, str(name), str(gtype) if gtype is not None else "None")
            for name, gtype in layers
        ]
    return refs


def _unopenable(path: Path, err: Exception) -> str:
    """Why GDAL cannot open ``path`` as vector data, and what to do (for a message).

    A folder that is not a data set and an archive without a vector file in it (a KMZ
    without its ``.kml``) say what they hold; anything else gives GDAL's reason.
    """
    if path.is_dir():
        held = sorted(p.name for p in path.iterdir())
        return (
            f"a folder that is not a data set GDAL reads (it holds: {_few(held)}); give the "
            "file inside it (a File Geodatabase is a folder ending in .gdb)"
        )
    if path.suffix.lower() in (".tif", ".tiff", ".vrt", ".img", ".jp2"):
        return (
            "a raster, not vector data (points or polygons); rasters go to --treecover, "
            "--lossyear or --gain (treecover=, lossyear=, gain= of forest_loss in Python): "
            "give a vector file (GeoPackage, shapefile, GeoJSON...) in its place"
        )
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            held = [n for n in zf.namelist() if not n.endswith("/")]
        if not any(n.lower().endswith((*_VECTOR_EXT, ".zip")) for n in held):
            return (
                f"the archive holds no vector file (it holds: {_few(held)}); a KMZ needs its "
                ".kml, a zip a shapefile, GeoPackage, GeoJSON or File Geodatabase: export it again"
            )
        return (
            f"GDAL cannot open the archive as one data set (it holds: {_few(held)}); unzip it "
            "and give the file meant, or zip one data set alone"
        )
    reason = short_error(err).split("; It might help")[0]  # GDAL's '<DRIVER>:' advice
    return (
        f"GDAL cannot open it as a vector data set ({reason}); check that it is a GeoPackage, "
        "shapefile, File Geodatabase, GeoJSON, KML/KMZ or GeoParquet file and not damaged"
    )


def _few(names: list[str]) -> str:
    """Up to eight names for a message, and how many more."""
    shown = ", ".join(names[:8]) or "nothing"
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


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
    option: str,
) -> LayerRef:
    """The one layer of a multi-layer file meant when none was named, else an error.

    The rule: the only layer; else the only ``usable`` one (e.g. the only layer of points or
    polygons of a GeoPackage that also holds roads); else the only ``preferred`` one among the
    usable ones (e.g. the only one named like "sites"); else
    :class:`~asm_pace.errors.LayerChoiceError`, listing the candidates (name and geometry type)
    and ``option``, the keyword and its command-line option (``noun`` names them in the
    message, e.g. "sheets"). When no layer is usable, every layer is a candidate.

    Examples
    --------
    >>> refs = [LayerRef("f.gpkg", "f.gpkg", n, t) for n, t in [("roads", "LineString"),
    ...         ("mines", "Point")]]
    >>> choose_layer(refs, source="f.gpkg", usable=lambda r: r.geometry_type == "Point",
    ...              option="layer= (--sites-layer on the command line)").name
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


def refuse_tables(refs: list[LayerRef], *, source: PathLike, what: str, option: str) -> None:
    """Refuse a file whose every layer is a table without geometry (e.g. a CSV of attributes).

    ``what`` names the polygons the reader wants ("protected areas"), ``option`` the command
    line option that takes the file. A table has no areas to test sites against, and its
    rows are not the features of any polygon layer.

    Examples
    --------
    >>> refuse_tables([LayerRef("t.csv", "t.csv", "t", "None")], source="t.csv",
    ...               what="ecoregions", option="--ecoregions")
    Traceback (most recent call last):
    asm_pace.errors.InputError: t.csv: a table without geometry (layer t), not the ...
    """
    if refs and all(geometry_family(r.geometry_type) == "None" for r in refs):
        names = ", ".join(dict.fromkeys(r.name for r in refs))
        raise InputError(
            f"{source}: a table without geometry (layer {names}), not the {what}' polygons; "
            f"give {option} the polygon file (GeoPackage, shapefile, File Geodatabase or zip)"
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


#: longitudes a lon/lat polygon may hold: one turn either way (0..360, or -185..-175 written
#: continuously across the antimeridian); the parts past +-180 are shifted back
_LON_MIN, _LON_MAX = -360.0, 360.0
_TOL = 1e-9
#: in lon/lat, an edge spanning 180..270 degrees of longitude could be meant either way round
_AMBIGUOUS_DLON = 270.0


def _fits_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    if gdf.geometry.is_empty.all() or gdf.geometry.isna().all():
        return True
    minx, miny, maxx, maxy = gdf.total_bounds
    return bool(
        minx >= _LON_MIN - _TOL
        and maxx <= _LON_MAX + _TOL
        and miny >= -90.0 - _TOL
        and maxy <= 90.0 + _TOL
    )


#: How to give a layer without a CRS its CRS (:func:`to_wgs84`): the readers of protected
#: areas, ecoregions and landscapes have no CRS option, so the file itself must say it.
SET_CRS = (
    "give the file its CRS (a .prj beside a shapefile, or Layer Properties > Source in "
    "QGIS; .set_crs() on a GeoDataFrame)"
)


def to_wgs84(
    gdf: gpd.GeoDataFrame, *, source: str | None = None, set_crs: str = SET_CRS
) -> gpd.GeoDataFrame:
    """Apply asm_pace's CRS policy and return a 2-D EPSG:4326 copy, split at +-180.

    - no CRS: a :class:`~asm_pace.errors.NoCRSWarning` and EPSG:4326 when every coordinate
      fits longitude/latitude ranges, else a :class:`~asm_pace.errors.CRSError`; both say
      how to give the CRS: ``set_crs`` (for sites: ``crs=`` and ``--sites-crs``; for the
      other layers, which have no such option, the file's own CRS);
    - any other CRS (3-D ones such as EPSG:4979, compound, custom PROJ strings): reprojected;
    - Z (and M) values are dropped;
    - polygons crossing the antimeridian come back split at +-180 into a MultiPolygon (see
      :func:`_wrap_polygons` for how a crossing is recognised); polygons in the 0..360
      longitude convention are shifted into -180..180;
    - refused (:class:`~asm_pace.errors.CRSError`, naming the rows): latitudes outside
      -90..90, points at longitudes outside -180..180, polygon longitudes outside -360..360, and
      coordinates that cannot be reprojected (infinite); refused
      (:class:`~asm_pace.errors.InputError`): a polygon that can be read either way round
      the globe, or that goes round a pole.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 8600000)], crs="EPSG:32719")
    >>> out = to_wgs84(g)
    >>> out.crs.to_epsg(), round(float(out.geometry.x.iloc[0]), 4)
    (4326, -69.0)
    >>> fiji = gpd.GeoDataFrame(geometry=[shapely.box(177, -19, -178, -16)], crs="EPSG:4326")
    >>> [round(v) for v in to_wgs84(fiji).geometry.iloc[0].bounds]  # two parts, 5 degrees wide
    [-180, -19, 180, -16]
    """
    name = source or gdf.attrs.get("source", "<layer>")
    out = gdf.copy()
    crs = None
    if out.crs is None:
        if not _fits_lonlat(out):
            bounds = ", ".join(f"{v:.6g}" for v in out.total_bounds)
            raise CRSError(
                f"{name}: the layer has no coordinate reference system and its coordinates "
                f"(bounds {bounds}) are not longitude/latitude; {set_crs}"
            )
        warnings.warn(
            f"{name}: the layer has no coordinate reference system; its coordinates fit "
            f"longitude/latitude ranges, so it is read as EPSG:4326 (WGS 84); if that is wrong, "
            f"{set_crs}",
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
        else:
            crs = None
    geoms = np.asarray(out.geometry.values, dtype=object)
    flat = shapely.force_2d(geoms) if np.any(shapely.has_z(geoms)) else geoms
    src = np.asarray(gdf.geometry.values, dtype=object)
    if crs is None and flat is geoms and known_valid(gdf, src).all():
        wrapped = geoms  # a reader's layer, untouched: already checked and split at +-180
    else:
        wrapped = _wrap_polygons(flat, src, crs, name)
    if wrapped is not geoms:
        out = out.set_geometry(gpd.GeoSeries(wrapped, index=out.index, crs="EPSG:4326"))
    out = out.set_crs("EPSG:4326", allow_override=True)
    out.attrs = dict(gdf.attrs)
    return out


def _rows(mask: np.ndarray, geoms: np.ndarray) -> str:
    """``row 3 (bounds ...)`` / ``rows 3, 7 (first: bounds ...)`` for messages."""
    first = int(np.flatnonzero(mask)[0])
    bounds = ", ".join(f"{v:.6g}" for v in shapely.bounds(geoms[first]))
    many = int(np.count_nonzero(mask)) > 1
    return f"row{'s' if many else ''} {row_list(mask)} ({'first: ' if many else ''}bounds {bounds})"


def _central_meridian(crs: CRS) -> float:
    """Greenwich longitude (degrees) of a projected CRS's central meridian; 0 if it has none.

    A projection is continuous in longitude from ``lon_0 - 180`` to ``lon_0 + 180``
    (EPSG:3832, PDC Mercator, centred on 150 degrees E, runs from -30 to 330).
    """
    try:
        while crs.is_bound:
            crs = crs.source_crs
        if crs.is_compound:
            crs = crs.sub_crs_list[0]
        for p in crs.coordinate_operation.params:
            if p.name.startswith("Longitude of"):
                pm = crs.prime_meridian
                return float(
                    np.degrees(
                        p.value * p.unit_conversion_factor
                        + pm.longitude * pm.unit_conversion_factor
                    )
                )
    except Exception:  # no coordinate operation, unusual CRS: the midpoint test still applies
        pass
    return 0.0


def _wrap_polygons(geoms: np.ndarray, src: np.ndarray, crs: CRS | None, name: str) -> np.ndarray:
    """Longitude/latitude geometries checked and made whole: polygons split at +-180.

    ``geoms`` are in EPSG:4326; ``src`` are the same geometries before reprojection from
    ``crs`` (``None``: they were longitude/latitude already, EPSG:4326 or no CRS).

    How an edge crossing the antimeridian is recognised:

    - geometries read in longitude/latitude: an edge whose ends differ by more than 180
      degrees of longitude crosses +-180 (the short way round, as GIS tools draw it), unless
      it runs along a pole (latitude +-90 at both ends, as in Antarctica's outline), or it
      runs from -180 to 180 and its ring, read across, would have no width or go round a
      pole (a ring drawn on the map's frame: a whole-world box, a cap such as -180..180 x
      -90..-60). An edge of 180..270 degrees is refused as
      ambiguous (its other reading is not much longer); so is a ring that, read this way,
      goes round a pole;
    - geometries reprojected from a projected CRS: longitudes are first taken in the
      projection's own continuous range (central meridian +-180), so a polygon is the
      shape it has in the projection; an edge still spanning more than 180 degrees crosses
      +-180 when its midpoint in the projection lies the short way round.

    The rings are then made continuous and the polygons split with
    :func:`asm_pace.geodesy.split_antimeridian`. Only the few geometries whose bounds are
    wider than 180 degrees or past +-180 are looked at ring by ring.
    """
    from .geodesy import split_antimeridian  # geodesy imports _geometry, like this module

    out = geoms
    bounds = shapely.bounds(geoms)
    kinds = shapely.get_type_id(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    finite = np.isfinite(bounds).all(axis=1)
    points = np.isin(kinds, (0, 4))
    lost = present & ~finite & ~points  # (sites report their own points, by line)
    if lost.any():
        raise CRSError(
            f"{name}: {_rows(lost, src)} cannot be reprojected to "
            f"longitude/latitude from {crs.name if crs is not None else 'EPSG:4326'} (infinite "
            "coordinates: outside the area the CRS covers); check the layer's CRS"
        )
    ok = present & finite
    lat = ok & ((bounds[:, 1] < -90.0 - _TOL) | (bounds[:, 3] > 90.0 + _TOL))
    if lat.any():
        raise CRSError(
            f"{name}: {_rows(lat, geoms)} latitude outside -90..90: the coordinates are not "
            "longitude/latitude (or x and y are swapped); set the layer's right CRS in QGIS"
        )
    far = ok & points & ((bounds[:, 0] < -180.0 - _TOL) | (bounds[:, 2] > 180.0 + _TOL))
    if far.any():
        raise CRSError(
            f"{name}: {_rows(far, geoms)} point longitude outside -180..180; fix the "
            "coordinates (a layer in the 0..360 convention: subtract 360 from longitudes "
            "above 180) or set the layer's right CRS"
        )
    polys = ok & np.isin(kinds, (3, 6, 7))  # (collections: their polygons)
    if crs is None or crs.is_geographic:
        beyond = polys & ((bounds[:, 0] < _LON_MIN - _TOL) | (bounds[:, 2] > _LON_MAX + _TOL))
        if beyond.any():
            raise CRSError(
                f"{name}: {_rows(beyond, geoms)} longitude outside -360..360: the coordinates "
                "are not longitude/latitude; set the layer's right CRS in QGIS"
            )
    elif polys.any():  # projected: longitudes in the projection's continuous range
        out = _projection_range(out, src, polys, bounds, crs)
        bounds = shapely.bounds(out) if out is not geoms else bounds
    with np.errstate(invalid="ignore"):  # inf - inf of an infinite point: not a polygon
        wide = polys & (bounds[:, 2] - bounds[:, 0] > 180.0)
    if wide.any():
        out = _unwrap(out, src, wide, crs, name)
        bounds = shapely.bounds(out)
    past = polys & ((bounds[:, 0] < -180.0) | (bounds[:, 2] > 180.0))
    if past.any():
        out = out.copy() if out is geoms else out
        # past +-180 by rounding only (e.g. 180.00000000001 from PROJ): moved onto the line
        noise = past & (bounds[:, 0] >= -180.0 - _TOL) & (bounds[:, 2] <= 180.0 + _TOL)
        if noise.any():
            out[noise] = shapely.transform(
                out[noise], lambda c: np.c_[np.clip(c[:, 0], -180.0, 180.0), c[:, 1]]
            )
        out[past & ~noise] = split_antimeridian(out[past & ~noise])
    return out


def _projection_range(
    geoms: np.ndarray, src: np.ndarray, rows: np.ndarray, bounds: np.ndarray, crs: CRS
) -> np.ndarray:
    """``geoms[rows]`` with longitudes in ``crs``'s continuous range, central meridian +-180.

    Only geometries reaching both sides of the range's edge (the meridian opposite the
    central one) change: one wholly on the far side would be shifted by 360 degrees and
    back again. A vertex on the edge, where PROJ gives one longitude for both sides, goes
    to the side its projected ``x`` is on.
    """
    lon0 = _central_meridian(crs)
    west = lon0 - 180.0
    cut = (west + 180.0) % 360.0 - 180.0  # the range's edge in -180..180
    if min(lon0 % 360.0, -lon0 % 360.0) <= _TOL:  # -180..180 already
        return geoms
    rows = rows & (bounds[:, 0] <= cut + 1e-7) & (bounds[:, 2] >= cut - 1e-7)
    if not rows.any():
        return geoms
    xy = shapely.get_coordinates(geoms[rows])
    x = (xy[:, 0] - west) % 360.0 + west
    edge = np.flatnonzero((x - west <= 1e-7) | (x - west >= 360.0 - 1e-7))
    if edge.size:
        try:
            centre, _ = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
                np.full(edge.size, lon0), xy[edge, 1]
            )
            east = shapely.get_coordinates(src[rows])[edge, 0] > centre
            x[edge] = np.where(east, west + 360.0, west)
        except Exception:  # pragma: no cover - an unusual CRS: the midpoint test decides
            pass
    out = geoms.copy()
    out[rows] = shapely.set_coordinates(geoms[rows], np.c_[x, xy[:, 1]])
    return out


def _unwrap(
    geoms: np.ndarray, src: np.ndarray, rows: np.ndarray, crs: CRS | None, name: str
) -> np.ndarray:
    """``geoms`` with the rings of ``rows`` made continuous across their crossing edges."""
    idx = np.flatnonzero(rows)
    xy, ring, part, geom = ring_coordinates(geoms[idx])
    x = xy[:, 0]
    dx = np.diff(x)
    jump = (ring[1:] == ring[:-1]) & (np.abs(dx) > 180.0)
    if not jump.any():
        return geoms
    k = np.flatnonzero(jump)
    if crs is None or crs.is_geographic:
        y = xy[:, 1]
        crossing = ~((np.abs(y[k]) >= 90.0 - _TOL) & (y[k] == y[k + 1]))  # not along a pole
        ambiguous = crossing & (np.abs(dx[k]) < _AMBIGUOUS_DLON)
        if ambiguous.any():
            mask = np.zeros(geoms.size, dtype=bool)
            mask[idx[geom[part[ring[k[ambiguous]]]]]] = True
            j = k[ambiguous][0]
            raise InputError(
                f"{name}: {_rows(mask, geoms)} has an edge from longitude {x[j]:.6g} to "
                f"{x[j + 1]:.6g}, which could run either way round the globe "
                f"({abs(dx[j]):.6g} or {360 - abs(dx[j]):.6g} degrees); add vertices so no edge "
                "spans more than 180 degrees of longitude, or split the polygon at +-180"
            )
    else:  # the midpoint in the projection says which way the edge runs
        sxy = ring_coordinates(src[idx])[0]
        mid = 0.5 * (sxy[k] + sxy[k + 1])
        lon, _ = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
            mid[:, 0], mid[:, 1]
        )
        lo, hi = np.minimum(x[k], x[k + 1]), np.maximum(x[k], x[k + 1])
        crossing = ~(((lon - lo) % 360.0) <= hi - lo)  # outside the planar reading
    mark = np.zeros(dx.size, dtype=bool)
    mark[k[crossing]] = True
    new = x + unwrap_rings(x, ring, mark)
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])  # each ring's first coordinate
    ends = np.r_[starts[1:], x.size] - 1
    sizes = np.diff(np.r_[starts, x.size])
    # an edge from -180 to 180 (both ends on the line) may be drawn along the map's frame:
    # where reading it across the line leaves its ring with no width (a whole-world box)
    # or going round a pole (a cap such as -180..180 x -90..-60), it is read as drawn
    on_line = np.abs(np.abs(x) - 180.0) <= _TOL
    frame = mark & on_line[:-1] & on_line[1:]
    width = np.maximum.reduceat(new, starts) - np.minimum.reduceat(new, starts)
    odd = (width <= _TOL) | (new[ends] != new[starts])
    redo = np.repeat(odd & (np.bincount(ring[:-1][frame], minlength=starts.size) > 0), sizes)
    if redo.any():
        mark &= ~(frame & redo[:-1])
        new = x + unwrap_rings(x, ring, mark)
    if not mark.any():
        return geoms
    x = new
    turned = x[ends] != x[starts]
    if turned.any():
        mask = np.zeros(geoms.size, dtype=bool)
        mask[idx[geom[part[turned]]]] = True
        raise InputError(
            f"{name}: {_rows(mask, geoms)} goes round a pole when its edges spanning more than "
            "180 degrees of longitude are read as crossing +-180; asm_pace does not handle "
            "polygons containing a pole: cut it into parts that do not"
        )
    # each hole moves by whole turns to lie beside its shell (rings were unwrapped apart)
    centre = 0.5 * (np.minimum.reduceat(x, starts) + np.maximum.reduceat(x, starts))
    shell = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])[part]
    turns = np.round((centre - centre[shell]) / 360.0)
    x = x - 360.0 * np.repeat(turns, sizes)
    # then each geometry starts in -180..180, so split_antimeridian's one turn is enough
    owner = geom[part[ring]]
    first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    west = np.minimum.reduceat(x, first)
    x = x - 360.0 * np.repeat(np.floor((west + 180.0) / 360.0), np.diff(np.r_[first, x.size]))
    changed = np.unique(geom[part[ring[np.flatnonzero(mark)]]])
    rebuilt = polygons_from_rings(np.c_[x, xy[:, 1]], ring, part, geom, idx.size)
    out = geoms.copy()
    out[idx[changed]] = rebuilt[changed]
    return out


#: The ``attrs`` key of a layer's :class:`ValidMark`.
VALID_KEY = "valid_geometry"


class ValidMark:
    """The geometry objects a reader checked and repaired: later steps need not check them.

    The reader made them longitude/latitude (:func:`to_wgs84`: 2-D, split at +-180)
    and valid (:func:`repair_polygons_counted`). Shapely geometries are immutable, so a
    geometry still in the layer that is one of these very objects is still so; an edited
    or added row holds another object and is checked again. The mark holds the objects (so their ids cannot be reused
    while it lives) and is shared, never copied, when pandas copies ``attrs``.
    ``cache``: what later steps derive from a layer's geometries (an index of their
    envelopes: :func:`asm_pace._nearest.layer_envelopes`), each entry checked against
    the geometry objects it was built from before it is reused.
    """

    __slots__ = ("_held", "_ids", "cache")

    def __init__(self, geoms: np.ndarray) -> None:
        self._held = np.asarray(geoms, dtype=object).copy()
        self._ids = np.sort(_ids(self._held))
        self.cache: dict[str, Any] = {}

    def __deepcopy__(self, memo: dict) -> ValidMark:
        return self

    def __copy__(self) -> ValidMark:
        return self

    def __reduce__(self) -> tuple:
        # pickled (a process pool), the geometries come back as other objects: an empty
        # mark, rather than a second copy of every geometry in the pickle
        return (ValidMark, (np.array([], dtype=object),))

    def __repr__(self) -> str:
        return f"<ValidMark of {self._ids.size} geometries>"

    def covers(self, geoms: np.ndarray) -> np.ndarray:
        """Which of ``geoms`` are objects this mark holds (hence valid)."""
        ids = _ids(np.asarray(geoms, dtype=object))
        if self._ids.size == 0 or ids.size == 0:
            return np.zeros(ids.size, dtype=bool)
        at = np.minimum(np.searchsorted(self._ids, ids), self._ids.size - 1)
        return self._ids[at] == ids


def _ids(geoms: np.ndarray) -> np.ndarray:
    return np.fromiter(map(id, geoms), dtype="int64", count=len(geoms))


def mark_valid(gdf: gpd.GeoDataFrame, geoms: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Mark ``geoms`` (default: the layer's geometries, which must be valid) as checked.

    Readers call it once they have repaired a layer (:func:`repair_polygons_counted`
    returns a marked layer); classify and overlaps then check only the rows the mark
    does not hold (:func:`known_valid`). Returns ``gdf`` (modified in place).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = mark_valid(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326))
    >>> known_valid(g.copy()).tolist()  # copies keep the same geometry objects
    [True]
    >>> g.loc[0, "geometry"] = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> known_valid(g).tolist()  # an edited row is checked again
    [False]
    """
    held = np.asarray(gdf.geometry.values if geoms is None else geoms, dtype=object)
    gdf.attrs[VALID_KEY] = ValidMark(held)
    return gdf


def carry_mark(
    out: gpd.GeoDataFrame, source: gpd.GeoDataFrame, extra: Any = None
) -> gpd.GeoDataFrame:
    """Give ``out`` the :class:`ValidMark` of ``source`` (a reader that rebuilds ``attrs``).

    ``extra``: more geometries of ``out`` (a reader's point circles), checked here once
    and marked when valid.
    """
    mark = source.attrs.get(VALID_KEY)
    if isinstance(mark, ValidMark):
        held = mark._held
        if extra is not None and len(extra):
            more = np.asarray(extra, dtype=object)
            held = np.concatenate([held, more[shapely.is_valid(more)]])
            mark = ValidMark(held)
        out.attrs[VALID_KEY] = mark
    return out


def known_valid(gdf: gpd.GeoDataFrame, geoms: np.ndarray | None = None) -> np.ndarray:
    """Which rows' geometries a reader checked (``attrs`` :class:`ValidMark`); others False."""
    geoms = np.asarray(gdf.geometry.values if geoms is None else geoms, dtype=object)
    mark = gdf.attrs.get(VALID_KEY)
    if not isinstance(mark, ValidMark):
        return np.zeros(len(geoms), dtype=bool)
    return mark.covers(geoms)


def repair_polygons(gdf: gpd.GeoDataFrame, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``shapely.make_valid`` and keep their polygonal parts.

    Issues a :class:`~asm_pace.errors.RepairedGeometryWarning` with the number repaired.
    Features left with no area (empty or missing geometry) are dropped.
    :func:`repair_polygons_counted` also says how many were repaired and kept, and how many
    repaired ones were dropped.

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
    return repair_polygons_counted(gdf, source=source)[0]


def repair_polygons_counted(
    gdf: gpd.GeoDataFrame, *, source: str | None = None
) -> tuple[gpd.GeoDataFrame, int, int]:
    """:func:`repair_polygons`, with the number of invalid polygons kept and dropped.

    The readers count both (``attrs["counts"]``) from the one validity test made here.

    Examples
    --------
    >>> import geopandas as gpd, shapely, warnings
    >>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> line = shapely.Polygon([(0, 0), (1, 1), (2, 2)])  # no area once repaired
    >>> g = gpd.GeoDataFrame(geometry=[bowtie, line, shapely.box(0, 0, 1, 1)], crs=4326)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     fixed, repaired, emptied = repair_polygons_counted(g)
    >>> len(fixed), repaired, emptied
    (2, 1, 1)
    """
    name = source or gdf.attrs.get("source", "<layer>")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    invalid = np.zeros(len(geoms), dtype=bool)
    check = present & ~known_valid(gdf, geoms)  # rows a reader checked are valid
    invalid[check] = ~shapely.is_valid(geoms[check])
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
    mark_valid(out)
    return out, int((invalid & keep).sum()), int((invalid & ~keep).sum())
