"""Geodesic buffers and rings around sites, on the WGS84 ellipsoid.

Point sites get geodesic circles (:func:`asm_pace.geodesy.geodesic_circles`'s
vectorised direct-geodesic formula); footprints (Polygon / MultiPolygon, and
any other non-point geometry) are buffered outward from their edge in a local
azimuthal equidistant plane centred on each footprint, then mapped back to
longitude/latitude. Every buffer is a valid EPSG:4326 polygon, split into
parts where it crosses the antimeridian. See ``docs/geodesy.md`` for the
formulas and measured errors.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._geometry import nonfinite, polygonal_parts
from ._vector import check_ids, row_list, to_wgs84
from .errors import InputError, SchemaError
from .geodesy import (
    _check_circles,
    _circle_coords,
    _distance_to_pole,
    _forward_local,
    _inverse_local,
    _rings_to_polygons,
    split_antimeridian,
)

__all__ = ["buffers"]

#: The smallest buffer radius (km): 1 m. Circles much smaller lose their area to rounding
#: of longitude/latitude coordinates.
MIN_RADIUS_KM = 0.001

#: footprint edges longer than this (degrees) are densified before buffering
_MAX_EDGE_DEG = 0.01


def buffers(
    sites: gpd.GeoDataFrame,
    radii_km: float | Iterable[float] = (1, 10, 50),
    *,
    rings: bool = False,
    footprint_zone: bool = False,
    n_vertices: int = 64,
) -> gpd.GeoDataFrame:
    """Geodesic buffers (or rings) around each site, one polygon per site and radius.

    Distances are true geodesic distances on the WGS84 ellipsoid. Point sites
    get circles whose vertices lie within ``1e-6 * (r / 100 km)^2`` of the
    radius ``r`` (Karney's :class:`pyproj.Geod` as reference); footprints are
    buffered outward from their edge in a local azimuthal equidistant plane
    centred on each footprint (distances from the footprint within 0.01 % for
    footprint plus radius up to 100 km). Polygons are inscribed: with
    ``n_vertices`` vertices a circle's area falls short of the geodesic
    circle's by ``(2 pi / n)^2 / 6`` (0.16 % at 64).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Sites with a unique ``site_id`` column, in any CRS (reprojected to
        EPSG:4326). Points are circle centres; Polygon / MultiPolygon
        footprints (and lines) are buffered from their edge.
    radii_km : float or iterable of float, default (1, 10, 50)
        Buffer radii in kilometres: positive, finite and distinct. Sorted
        ascending in the output.
    rings : bool, default False
        If True, return annuli between consecutive radii (for ``(1, 10, 50)``:
        0-1, 1-10 and 10-50 km) instead of discs. The innermost ring starts at
        the site itself (for a footprint it contains the footprint, unless
        ``footprint_zone``).
    footprint_zone : bool, default False
        With ``rings=True``: for each footprint site (Polygon / MultiPolygon), add the
        footprint itself as a zone (``radius_km`` and ``inner_km`` 0, ``zone_id``
        ``"<site_id>_footprint"``) and cut it out of the innermost ring, so the zones
        of a site do not overlap: on-site (the footprint) and near-site (each ring net
        of it) loss, as Sonter et al. (2017) and Giljum et al. (2022) report it. Point
        sites have no footprint zone; their rings are unchanged.
    n_vertices : int, default 64
        Vertices per full circle (footprint buffers use ``n_vertices / 4``
        segments per quarter circle at the corners).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326 on a fresh RangeIndex, ordered by site (input order) then
        radius, with columns

        - ``site_id`` (str): the site's id;
        - ``radius_km`` (float): the buffer distance (outer radius of a ring);
        - ``inner_km`` (float, only with ``rings=True``): the ring's inner radius
          (0 for the innermost);
        - ``zone_id`` (str, unique): ``"<site_id>_<radius>km"``, or
          ``"<site_id>_<inner>-<radius>km"`` for rings, e.g. ``"S0001_10km"``,
          ``"S0001_1-10km"``; ``"<site_id>_footprint"`` for a footprint zone
          (``footprint_zone=True``, radius 0, listed before the site's rings);
        - ``geometry``: Polygon, or MultiPolygon when split at the antimeridian.

        The sites' other columns are not repeated; join on ``site_id``.
        ``attrs["source"]`` is the sites' file, when known.

    Raises
    ------
    SchemaError
        If ``sites`` has no ``site_id`` column.
    InputError
        For missing/empty geometries, null or duplicated site ids, bad radii,
        or a buffer that would contain a pole; ``footprint_zone`` without ``rings``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> sites = gpd.GeoDataFrame(
    ...     {"site_id": ["S1"]}, geometry=[shapely.Point(-70.0, -12.5)], crs="EPSG:4326"
    ... )
    >>> b = buffers(sites, (1, 10), rings=True)
    >>> b[["zone_id", "inner_km", "radius_km"]].values.tolist()
    [['S1_0-1km', 0.0, 1.0], ['S1_1-10km', 1.0, 10.0]]
    """
    radii = _check_radii(radii_km)
    if footprint_zone and not rings:
        raise InputError(
            "footprint_zone=True (a Python option: the command line makes footprint zones "
            "with --rings) cuts the footprint out of the innermost ring: give rings=True "
            "(--rings) too"
        )
    n = int(n_vertices)
    if n < 8:
        raise InputError(f"n_vertices must be at least 8, got {n}")
    sites = _check_sites(sites)  # a GeoDataFrame from here on, its attrs kept
    name = sites.attrs.get("source", "<sites>")
    ids = sites["site_id"].to_numpy(dtype=object)
    geoms = np.asarray(sites.geometry.values, dtype=object)
    n_sites, k = len(sites), radii.size
    inner = np.r_[0.0, radii[:-1]] if rings else np.zeros(k)
    out = np.empty(n_sites * k, dtype=object)

    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        pos = np.flatnonzero(is_point)
        out_pos = (pos[:, None] * k + np.arange(k)).ravel()
        outer_m = radii * 1000.0
        xy = shapely.get_coordinates(geoms[pos])
        _refuse_polar(name, ids[pos], outer_m.max() >= _distance_to_pole(xy[:, 1]), radii[-1])
        out[out_pos] = _point_buffers(geoms[pos], outer_m, inner * 1000.0, n, rings=rings)
    if (~is_point).any():
        pos = np.flatnonzero(~is_point)
        out_pos = (pos[:, None] * k + np.arange(k)).ravel()
        out[out_pos] = _footprint_buffers(
            geoms[pos], ids[pos], radii * 1000.0, inner * 1000.0, n, rings=rings, source=name
        )

    site_col = np.repeat(ids, k)
    radius_col = np.tile(radii, n_sites)
    if rings:
        inner_col = np.tile(inner, n_sites)
        labels = [f"_{a:g}-{b:g}km" for a, b in zip(inner, radii, strict=True)]
    else:
        labels = [f"_{b:g}km" for b in radii]
    zone_col = [f"{s}{lab}" for s in ids for lab in labels]
    data: dict[str, object] = {"site_id": site_col, "radius_km": radius_col}
    if rings:
        data["inner_km"] = inner_col
    data["zone_id"] = zone_col
    if footprint_zone:
        data, out = _footprint_zones(data, out, geoms, k)
    frame = pd.DataFrame(data)
    frame["site_id"] = frame["site_id"].astype(str)
    zones = gpd.GeoDataFrame(frame, geometry=out, crs="EPSG:4326")
    if "source" in sites.attrs:  # messages about the zones name the site file
        zones.attrs["source"] = sites.attrs["source"]
    return zones


def _footprint_zones(
    data: dict[str, object], out: np.ndarray, geoms: np.ndarray, k: int
) -> tuple[dict[str, object], np.ndarray]:
    """Add each polygon footprint as a zone of radius 0 and cut it out of its innermost ring.

    ``data``/``out`` hold ``k`` rings per site, site by site; ``geoms`` the sites in lon/lat.
    The footprint rows go before their site's rings. The cut is planar in lon/lat, where
    the footprint's edges are straight (as the rings' inner edge then is), so a ring and its
    footprint tile the disc exactly.
    """
    poly = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6)))
    if poly.size == 0:
        return data, out
    feet = geoms[poly].copy()
    bad = ~shapely.is_valid(feet)
    if bad.any():
        feet[bad] = polygonal_parts(shapely.make_valid(feet[bad]))
    first = poly * k  # each footprint site's innermost ring
    out = out.copy()
    out[first] = polygonal_parts(shapely.difference(out[first], feet))
    # rows in order: footprint (key 2 * row - 1) before the site's first ring (key 2 * row)
    keys = np.r_[2 * np.arange(out.size), 2 * first - 1]
    order = np.argsort(keys, kind="stable")
    extra = {
        "site_id": np.asarray(data["site_id"])[first],
        "radius_km": np.zeros(poly.size),
        "inner_km": np.zeros(poly.size),
        "zone_id": [f"{s}_footprint" for s in np.asarray(data["site_id"])[first]],
    }
    merged = {
        name: np.concatenate(
            [np.asarray(values, dtype=object), np.asarray(extra[name], dtype=object)]
        )[order]
        for name, values in data.items()
    }
    merged["radius_km"] = merged["radius_km"].astype("float64")
    merged["inner_km"] = merged["inner_km"].astype("float64")
    return merged, np.concatenate([out, feet])[order]


def _check_radii(radii_km: float | Iterable[float]) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(radii_km, dtype="float64")).ravel()
    except (TypeError, ValueError) as err:
        raise InputError(
            f"radii_km must be numbers of kilometres such as (1, 10, 50), got {radii_km!r}"
        ) from err
    if values.size == 0:
        raise InputError("radii_km is empty; give at least one radius in kilometres")
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise InputError(f"radii_km must be positive finite kilometres, got {values.tolist()}")
    if (values < MIN_RADIUS_KM).any():
        raise InputError(
            f"radii_km {values[values < MIN_RADIUS_KM].tolist()} are below {MIN_RADIUS_KM:g} "
            "km (1 m), too small for a buffer to have an area in floating point; give radii "
            f"of at least {MIN_RADIUS_KM:g} km to --buffers (radii_km=)"
        )
    if np.unique(values).size != values.size:
        raise InputError(f"radii_km has repeated values: {values.tolist()}")
    return np.sort(values)


def _check_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(sites, gpd.GeoDataFrame):
        raise InputError(
            f"sites must be a GeoDataFrame (e.g. from asm_pace.read_sites), got {type(sites).__name__}"
        )
    name = sites.attrs.get("source", "<sites>")
    if "site_id" not in sites.columns:
        raise SchemaError(
            f"{name}: no 'site_id' column; columns are {list(sites.columns)}. Read the sites "
            "with asm_pace.read_sites, or add a unique 'site_id' column"
        )
    check_ids(sites["site_id"], source=name, column="site_id", what="site")
    geoms = np.asarray(sites.geometry.values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(
            f"{name}: sites in rows {row_list(bad)} have no geometry; drop them or give coordinates"
        )
    bad = nonfinite(geoms)
    if bad.any():
        raise InputError(
            f"{name}: sites in rows {row_list(bad)} have a NaN or infinite coordinate; fix or "
            "drop them (asm_pace.validate_sites lists every problem)"
        )
    return to_wgs84(sites, source=name)


def _refuse_polar(source: str, ids: np.ndarray, too_far: np.ndarray, km: float) -> None:
    """Refuse buffers that would contain a pole, naming the file, the site and the option."""
    if too_far.any():
        bad = int(np.argmax(too_far))
        raise InputError(
            f"{source}: the {km:g} km buffer around site {ids[bad]!r} would contain a pole, "
            "and asm_pace does not build polar buffers; give smaller radii to --buffers "
            "(radii_km=)"
        )


def _point_buffers(
    points: np.ndarray, outer_m: np.ndarray, inner_m: np.ndarray, n: int, *, rings: bool
) -> np.ndarray:
    """Circles (or annuli) for point sites, ordered by site then radius."""
    k = outer_m.size
    xy = shapely.get_coordinates(points)
    lon = np.repeat(xy[:, 0], k)
    lat = np.repeat(xy[:, 1], k)
    lon, lat, outer = _check_circles(lon, lat, np.tile(outer_m, len(points)))
    shell = _circle_coords(lon, lat, outer, n)
    hole = None
    if rings:
        inner = np.tile(inner_m, len(points))
        has = inner > 0
        hole = np.full_like(shell, np.nan)
        if has.any():
            hole[has] = _circle_coords(lon[has], lat[has], inner[has], n)
    return _rings_to_polygons(shell, hole)


def _centres(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre of each geometry's vertices: the normalised mean of their unit vectors."""
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    lam, phi = np.radians(xy[:, 0]), np.radians(xy[:, 1])
    vec = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)
    sums = np.stack([np.bincount(idx, weights=vec[:, j], minlength=geoms.size) for j in range(3)])
    lon0 = np.degrees(np.arctan2(sums[1], sums[0]))
    lat0 = np.degrees(np.arctan2(sums[2], np.hypot(sums[0], sums[1])))
    return lon0, lat0


def _footprint_buffers(
    geoms: np.ndarray,
    ids: np.ndarray,
    outer_m: np.ndarray,
    inner_m: np.ndarray,
    n: int,
    *,
    rings: bool,
    source: str,
) -> np.ndarray:
    """Outward buffers of footprints in local azimuthal equidistant planes."""
    k = outer_m.size
    # edges are straight in lon/lat (as GIS draws them and point-in-polygon tests see them):
    # densify long ones so they stay so in the local plane (sagitta < 0.2 m at 85 degrees)
    geoms = shapely.segmentize(geoms, _MAX_EDGE_DEG)
    lon0, lat0 = _centres(geoms)
    # local plane: every footprint in metres around its own centre
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    east, north = _inverse_local(lon0[idx], lat0[idx], xy[:, 0], xy[:, 1])
    planar = shapely.set_coordinates(geoms.copy(), np.column_stack([east, north]))
    invalid = ~shapely.is_valid(planar)
    if invalid.any():
        planar[invalid] = shapely.make_valid(planar[invalid])
    reach = np.zeros(geoms.size)
    np.maximum.at(reach, idx, np.hypot(east, north))
    _refuse_polar(
        source, ids, reach + outer_m.max() >= _distance_to_pole(lat0), outer_m.max() / 1000
    )
    quad = max(2, n // 4)
    rep = np.repeat(planar, k)
    buf = shapely.buffer(rep, np.tile(outer_m, geoms.size), quad_segs=quad)
    if rings:
        inner = np.tile(inner_m, geoms.size)
        has = inner > 0
        if has.any():
            hole = shapely.buffer(rep[has], inner[has], quad_segs=quad)
            buf[has] = shapely.difference(buf[has], hole)
    # back to longitude/latitude, continuous around each centre
    bxy, bidx = shapely.get_coordinates(buf, return_index=True)
    c = bidx // k
    lon, lat = _forward_local(lon0[c], lat0[c], bxy[:, 0], bxy[:, 1])
    out = shapely.set_coordinates(buf.copy(), np.column_stack([lon, lat]))
    invalid = ~shapely.is_valid(out)
    if invalid.any():  # a zone is a polygon: drop the lines make_valid may leave
        out[invalid] = polygonal_parts(shapely.make_valid(out[invalid]))
    return split_antimeridian(out, geodesic_edges=True)  # edges straight in the local AEQD
