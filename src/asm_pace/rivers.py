"""River networks: HydroRIVERS, or any line network with a reach id and the next reach's id.

A river network is a set of reaches (lines), each naming the reach its water flows into.
HydroRIVERS v1.0 (Lehner & Grill 2013; the HydroSHEDS technical documentation) gives every
reach ``HYRIV_ID``, the id of the next reach downstream ``NEXT_DOWN`` (0 at an outlet: the
sea or an endorheic sink), ``LENGTH_KM`` (the reach's length), ``DIST_DN_KM`` (distance from
the reach's outlet to the network's final outlet), ``ENDORHEIC`` (1 in an endorheic basin)
and ``DIS_AV_CMS`` (long-term average discharge, m3/s). :func:`read_rivers` reads that
schema, or any layer whose id / next-id pair is named with keywords, and checks it before a
walk downstream (:func:`asm_pace.downstream`) uses it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._vector import (
    choose_layer,
    layer_refs,
    named_refs,
    read_layer,
    refuse_tables,
    row_list,
    source_name,
    to_wgs84,
)
from .errors import InconsistentValueWarning, InputError, ReadError, SchemaError
from .geodesy import WGS84

__all__ = ["read_rivers", "line_lengths_km", "RIVER_COLUMNS", "HYDRORIVERS_FIELDS"]

#: The HydroRIVERS fields read, by role (the id pair is required, the others optional).
HYDRORIVERS_FIELDS = {
    "id": "HYRIV_ID",
    "next": "NEXT_DOWN",
    "length": "LENGTH_KM",
    "dist_dn": "DIST_DN_KM",
    "discharge": "DIS_AV_CMS",
    "endorheic": "ENDORHEIC",
}

#: The columns :func:`read_rivers` returns.
RIVER_COLUMNS = (
    "reach_id",
    "next_id",
    "length_km",
    "dist_dn_km",
    "discharge_cms",
    "endorheic",
    "truncated",
)

#: LENGTH_KM differing from the geodesic length of the line by more than this share (and
#: by more than LENGTH_SLACK_KM) is reported (InconsistentValueWarning).
LENGTH_TOLERANCE = 0.25
LENGTH_SLACK_KM = 0.5

_OPTION = "--rivers"
#: How to name a network's id columns (Python only: on the command line, rename the fields).
_COLUMNS_ADVICE = (
    "read_rivers' id_column and next_column in Python; the command line has no option for "
    "them: rename the fields HYRIV_ID and NEXT_DOWN, e.g. in QGIS"
)
_LINE_TYPES = (1, 5)  # LineString, MultiLineString


def line_lengths_km(geoms: np.ndarray) -> np.ndarray:
    """Geodesic length (km, WGS84) of lon/lat lines, vectorised over every segment.

    Each straight lon/lat segment is measured as the geodesic between its ends
    (:meth:`pyproj.Geod.inv`); missing and empty geometries measure 0.

    Examples
    --------
    >>> round(float(line_lengths_km(np.array([shapely.LineString([(0, 0), (1, 0)])]))[0]), 3)
    111.319
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if not len(parts):
        return out
    coords, line = shapely.get_coordinates(parts, return_index=True)
    same = line[1:] == line[:-1]
    if not same.any():
        return out
    a, b = coords[:-1][same], coords[1:][same]
    _, _, dist = WGS84.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    per_part = np.bincount(line[1:][same], weights=dist, minlength=len(parts))
    return np.bincount(owner, weights=per_part, minlength=len(geoms)) / 1000.0


def _column(frame: pd.DataFrame, name: str) -> str | None:
    """The column called ``name`` (exactly, else ignoring case), or None."""
    if name in frame.columns:
        return name
    folded = {str(c).casefold(): c for c in frame.columns}
    return folded.get(name.casefold())


def _integers(frame: pd.DataFrame, column: str, *, name: str, low: int, role: str) -> np.ndarray:
    """A column of whole numbers >= ``low`` as int64; anything else refused, naming rows."""
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(num) | (num != np.round(num)) | (num < low) | (num >= 2.0**62)
    if bad.any():
        shown = ", ".join(repr(v) for v in raw[bad].iloc[:3].tolist())
        raise InputError(
            f"{name}: {column} ({role}) holds values that are not whole numbers >= {low} "
            f"in rows {row_list(bad)} ({shown}); fix them, or name the right column "
            f"({_COLUMNS_ADVICE})"
        )
    return num.astype("int64")


def _floats(frame: pd.DataFrame, column: str | None, *, name: str, what: str) -> np.ndarray | None:
    """A column of finite numbers >= 0 (missing allowed: NaN); negatives refused."""
    if column is None:
        return None
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    unreadable = raw.notna().to_numpy() & ~np.isfinite(num)
    bad = unreadable | (num < 0)
    if bad.any():
        shown = ", ".join(repr(v) for v in raw[bad].iloc[:3].tolist())
        raise InputError(
            f"{name}: {column} ({what}) must be a number >= 0; rows {row_list(bad)} hold "
            f"{shown}; fix them or drop the column"
        )
    return num


def _read_lines(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | None,
    bbox: tuple[float, float, float, float] | None,
    engine: str | None,
) -> tuple[gpd.GeoDataFrame, str]:
    name = source_name(source)
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
        if bbox is not None:
            gdf = gdf[gdf.intersects(shapely.box(*bbox))]
        return gdf, name
    refs = layer_refs(source)
    if not refs:
        raise ReadError(f"{name}: the file holds no vector layer")
    refuse_tables(refs, source=name, what="rivers", option=_OPTION)
    if layer is not None:
        ref = named_refs(refs, layer, source=name)[0]
    elif not any(_maybe_lines(r.geometry_type) for r in refs):
        listed = ", ".join(f"{r.name} ({r.geometry_type})" for r in refs)
        raise InputError(
            f"{name}: no line layer ({listed}), so not a river network: a river network is "
            "made of lines (reaches); give the river file (e.g. HydroRIVERS) to --rivers "
            "(rivers= in Python)"
        )
    else:
        ref = choose_layer(
            refs,
            source=name,
            usable=lambda r: _maybe_lines(r.geometry_type),
            preferred=lambda n: "riv" in n.lower(),
            what="river network",
            option="layer= (--rivers-layer on the command line)",
        )
    if bbox is not None and not _lonlat_layer(ref):
        # GDAL filters in the layer's own CRS: filter after reprojection instead
        gdf = to_wgs84(read_layer(ref, engine=engine), source=name)
        return gdf[gdf.intersects(shapely.box(*bbox))], name
    return read_layer(ref, bbox=bbox, engine=engine), name


def _maybe_lines(geometry_type: str) -> bool:
    kind = str(geometry_type).lower()
    return "line" in kind or kind in ("unknown", "geometry")


def _lonlat_layer(ref: object) -> bool:
    """Whether a layer's CRS is WGS84 longitude/latitude (or missing), so a lon/lat box fits."""
    import pyogrio
    from pyproj import CRS

    try:
        crs = pyogrio.read_info(ref.target, layer=ref.name).get("crs")  # type: ignore[attr-defined]
        return crs is None or CRS.from_user_input(crs).equals(CRS.from_epsg(4326))
    except Exception:  # unreadable here: read_layer says why
        return True


def read_rivers(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    id_column: str | None = None,
    next_column: str | None = None,
    length_column: str | None = None,
    discharge_column: str | None = None,
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a river network: HydroRIVERS, or any line layer with an id / next-id pair.

    Parameters
    ----------
    source : path or GeoDataFrame
        A shapefile (zipped too), File Geodatabase or GeoPackage; HydroRIVERS as the
        HydroSHEDS site distributes it, or a network of the same shape.
    layer : str, optional
        The layer; by default the only line layer (or the only one named like rivers).
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Read only the reaches meeting this box (filtered by GDAL while reading, in the
        layer's CRS); recorded in ``attrs["bbox"]``. Reaches whose next reach lies outside
        it are flagged ``truncated``.
    id_column, next_column : str, optional
        The reach id and the id of the next reach downstream (0 or a missing id at an
        outlet); default ``HYRIV_ID`` and ``NEXT_DOWN``.
    length_column, discharge_column : str, optional
        Reach length in km and average discharge in m3/s; default ``LENGTH_KM`` and
        ``DIS_AV_CMS`` when present. Without a length column the geodesic length of the
        line is used.
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`RIVER_COLUMNS`: ``reach_id`` (int64), ``next_id`` (int64, 0 at an outlet),
        ``length_km``, ``dist_dn_km`` (NaN without ``DIST_DN_KM``), ``discharge_cms``
        (NaN when unknown), ``endorheic`` (bool, from ``ENDORHEIC``), ``truncated``
        (bool: ``next_id`` names a reach that is not in the layer: the network was cut by
        the file's or the box's extent) and the line geometry, EPSG:4326. ``attrs``:
        ``source``, ``layer``, ``counts`` (``read``, ``used``, ``truncated``) and
        ``bbox`` when given.

    Raises
    ------
    SchemaError
        No id / next-id pair (the message lists the layer's fields and the keywords).
    InputError
        Not a line layer; a reach without a line; ids that are not whole numbers or
        repeat; a negative or unreadable length or discharge; nothing left in ``bbox``.
    ReadError
        A file that cannot be read, or a layer with no features.

    Warns
    -----
    InconsistentValueWarning
        ``LENGTH_KM`` differing from the line's geodesic length by more than 25 % (and
        0.5 km): the wrong length column, or a line in another unit.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> rivers = read_rivers(sample_path("rivers.gpkg"))
    >>> list(rivers.columns)[:3], bool(rivers["truncated"].any())
    (['reach_id', 'next_id', 'length_km'], True)
    """
    gdf, name = _read_lines(source, layer=layer, bbox=bbox, engine=engine)
    fields = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    if not len(gdf):
        if bbox is not None:
            raise InputError(
                f"{name}: no reach meets the box {tuple(bbox)} (bbox=): the network does "
                "not reach there; check the box's order (min_lon, min_lat, max_lon, max_lat) "
                "and that the file covers the sites"
            )
        raise ReadError(f"{name}: the layer holds no reaches; check it is the river network")
    id_col = _column(gdf, id_column or HYDRORIVERS_FIELDS["id"])
    next_col = _column(gdf, next_column or HYDRORIVERS_FIELDS["next"])
    if id_col is None or next_col is None:
        missing = [
            w
            for w, c, given in (
                ("reach id", id_col, id_column or "HYRIV_ID"),
                ("next reach id", next_col, next_column or "NEXT_DOWN"),
            )
            if c is None
            for w in [f"{w} {given!r}"]
        ]
        raise SchemaError(
            f"{name}: no {' and no '.join(missing)} field, so the flow direction is "
            f"unknown; the layer has: {', '.join(fields) or 'no attribute fields'}. A "
            "HydroRIVERS layer has HYRIV_ID and NEXT_DOWN; for another network name its "
            f"reach id and the id of the reach each flows into ({_COLUMNS_ADVICE})"
        )
    gdf = to_wgs84(gdf, source=name)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    is_line = np.isin(types, _LINE_TYPES) & ~shapely.is_empty(geoms)
    if not is_line.any():
        raise InputError(
            f"{name}: none of its {len(gdf)} feature(s) is a line: a river network is made "
            "of lines (reaches); give the river file (e.g. HydroRIVERS) to --rivers "
            "(rivers= in Python)"
        )
    if not is_line.all():
        raise InputError(
            f"{name}: rows {row_list(~is_line)} are not lines (missing, empty, points or "
            "polygons); every reach needs its line to be snapped to and drawn: fix or delete "
            "them (the reaches flowing into them would otherwise lose their path)"
        )
    ids = _integers(gdf, id_col, name=name, low=1, role="reach id")
    nxt = _integers(gdf, next_col, name=name, low=0, role="next reach id")
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{name}: {id_col} repeats in rows {row_list(dup)} (ids "
            f"{sorted(set(ids[dup].tolist()))[:5]}): a reach id must name one reach, or the "
            f"flow direction is ambiguous; fix the ids or name the right column ({_COLUMNS_ADVICE})"
        )
    geodesic = line_lengths_km(geoms)
    flat = ~(geodesic > 0)
    if flat.any():
        raise InputError(
            f"{name}: rows {row_list(flat)} are lines of no length (every vertex at one "
            "point): a reach must run from somewhere to somewhere to be snapped to and "
            "followed; fix or delete them"
        )
    len_col = _column(gdf, length_column or HYDRORIVERS_FIELDS["length"])
    if length_column is not None and len_col is None:
        raise SchemaError(
            f"{name}: no column {length_column!r}; the layer has: {', '.join(fields)}"
        )
    lengths = _floats(gdf, len_col, name=name, what="reach length in km")
    if lengths is None:
        lengths = geodesic
    else:
        missing = np.isnan(lengths)
        lengths = np.where(missing, geodesic, lengths)
        off = np.abs(lengths - geodesic) > np.maximum(LENGTH_TOLERANCE * geodesic, LENGTH_SLACK_KM)
        if off.any():
            warnings.warn(
                f"{name}: {len_col} differs from the geodesic length of the line by more "
                f"than {LENGTH_TOLERANCE:.0%} in {int(off.sum())} reach(es) (rows "
                f"{row_list(off)}); river-km use {len_col}: check it is the length in km",
                InconsistentValueWarning,
                stacklevel=2,
            )
    dis_col = _column(gdf, discharge_column or HYDRORIVERS_FIELDS["discharge"])
    if discharge_column is not None and dis_col is None:
        raise SchemaError(
            f"{name}: no column {discharge_column!r}; the layer has: {', '.join(fields)}"
        )
    discharge = _floats(gdf, dis_col, name=name, what="average discharge in m3/s")
    dist_col = _column(gdf, HYDRORIVERS_FIELDS["dist_dn"])
    dist = _floats(gdf, dist_col, name=name, what="distance downstream in km")
    endo_col = _column(gdf, HYDRORIVERS_FIELDS["endorheic"])
    endorheic = np.zeros(len(gdf), dtype=bool)
    if endo_col is not None:
        endorheic = _integers(gdf, endo_col, name=name, low=0, role="endorheic flag") == 1
    truncated = (nxt != 0) & ~np.isin(nxt, ids)
    n = len(gdf)
    out = gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "next_id": nxt,
            "length_km": lengths,
            "dist_dn_km": np.full(n, np.nan) if dist is None else dist,
            "discharge_cms": np.full(n, np.nan) if discharge is None else discharge,
            "endorheic": endorheic,
            "truncated": truncated,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    out.attrs = {
        "source": name,
        "layer": gdf.attrs.get("layer", ""),
        "counts": {"read": n, "used": n, "truncated": int(truncated.sum())},
    }
    if bbox is not None:
        out.attrs["bbox"] = tuple(float(v) for v in bbox)
    return out
