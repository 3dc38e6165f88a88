"""Geodesic geometry on the WGS84 ellipsoid: circles, areas, antimeridian splitting.

Everything here works in EPSG:4326 longitude/latitude and measures on the
WGS84 ellipsoid with :class:`pyproj.Geod` (Karney 2013, *Algorithms for
geodesics*), never in degrees or Web Mercator.

Examples
--------
>>> import numpy as np
>>> from asm_pace.geodesy import geodesic_circles, geodesic_area
>>> circle = geodesic_circles(np.array([-70.0]), np.array([-12.5]), 1000.0)
>>> round(float(geodesic_area(circle)[0]) / 1e6, 2)  # km2, pi * 1 km2
3.14
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from ._geometry import flatten_polygons, polygonal_parts, polygons_from_rings, ring_coordinates
from .errors import InputError

__all__ = [
    "WGS84",
    "geodesic_circles",
    "geodesic_area",
    "split_antimeridian",
    "circle_radius_for_area",
    "box_around",
]

#: The WGS84 ellipsoid, shared by every geodesic computation in asm_pace.
WGS84 = Geod(ellps="WGS84")

_WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)


def split_antimeridian(geoms: np.ndarray, *, geodesic_edges: bool = False) -> np.ndarray:
    """Split polygons whose longitudes run past +-180 into parts inside [-180, 180].

    Polygons built with continuous longitudes (e.g. a circle centred at 179.9
    degrees east reaching 180.2, or a layer in the 0..360 convention) are cut at
    the antimeridian and the part beyond it is shifted by 360 degrees, giving a
    valid MultiPolygon as GIS tools expect; a polygon wholly beyond +-180 is only
    shifted. Invalid polygons are repaired (``make_valid``) before cutting.
    Geometries already inside [-180, 180] are returned as they are.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Longitudes within [-540, 540].
    geodesic_edges : bool, default False
        The edges are geodesics (asm_pace's circles and footprint buffers): each edge crossing
        +-180 is cut where its geodesic crosses, not where the straight longitude/latitude line
        does, so the parts' geodesic areas add up to the whole's. With few, long edges at high
        latitudes the straight-line cut moved the area by up to 0.3 %. Layers drawn in a GIS
        (edges straight in longitude/latitude) keep the default.

    Returns
    -------
    numpy.ndarray of shapely geometries

    Raises
    ------
    InputError
        For longitudes beyond +-540 (not one turn away from [-180, 180]).

    Examples
    --------
    >>> import shapely, numpy as np
    >>> out = split_antimeridian(np.array([shapely.box(179.0, 0.0, 181.0, 1.0)]))
    >>> out[0].geom_type, [round(b, 1) for b in out[0].bounds]
    ('MultiPolygon', [-180.0, 0.0, 180.0, 1.0])
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    bounds = shapely.bounds(geoms)
    west, east = bounds[:, 0] < -180.0, bounds[:, 2] > 180.0
    if not (west | east).any():
        return out
    far = (bounds[:, 0] < -540.0) | (bounds[:, 2] > 540.0)
    if far.any():
        bad = int(np.flatnonzero(far)[0])
        raise InputError(
            f"geometry {bad} has longitudes beyond +-540 (bounds {bounds[bad].round(6).tolist()}); "
            "longitudes must be within one turn of -180..180"
        )
    # wholly beyond +-180 (e.g. 0..360 layers): one shift, no cutting
    for side, shift in (
        (east & (bounds[:, 0] >= 180.0), -360.0),
        (west & (bounds[:, 2] <= -180.0), 360.0),
    ):
        if side.any():
            out[side] = shapely.transform(geoms[side], lambda c, s=shift: c + np.array([s, 0.0]))
    cross = (west & (bounds[:, 2] > -180.0)) | (east & (bounds[:, 0] < 180.0))
    if not cross.any():
        return out
    g = geoms[cross]
    # coordinates within 1e-200 of 0 (a latitude of 2.2e-308 from a projection's round
    # trip) are 0: GEOS cut such a ring wrongly (a part 0.125 degrees past the line)
    xy = np.abs(shapely.get_coordinates(g))
    if ((xy > 0.0) & (xy < 1e-200)).any():
        g = shapely.transform(g, lambda c: np.where(np.abs(c) < 1e-200, 0.0, c))
    if geodesic_edges:
        g = _geodesic_crossings(g)
    invalid = ~shapely.is_valid(g)
    if invalid.any():  # GEOS cannot cut an invalid polygon
        g = g.copy()
        g[invalid] = polygonal_parts(shapely.make_valid(g[invalid]))
    parts = [shapely.intersection(g, _WORLD)]
    for shift in (-360.0, 360.0):
        window = shapely.box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = shapely.intersection(g, window)
        parts.append(shapely.transform(piece, lambda c, s=shift: c + np.array([s, 0.0])))
    merged = shapely.union(shapely.union(parts[0], parts[1]), parts[2])
    # keep areal parts only (cutting can leave slivers of lower dimension)
    merged = shapely.make_valid(merged)
    merged = polygonal_parts(merged)
    out[cross] = merged
    return out


def _geodesic_crossings(geoms: np.ndarray) -> np.ndarray:
    """Put a vertex where each edge's geodesic crosses longitude -180 or 180 (continuous frame).

    The point is found on the geodesic from the edge's first vertex by the secant method on
    the distance along it (``pyproj.Geod.fwd``), to well below a millimetre.
    """
    xy, ring, part, geom = ring_coordinates(geoms)
    x0, x1 = xy[:-1, 0], xy[1:, 0]
    same = ring[:-1] == ring[1:]
    rows, points = [], []
    for line in (-180.0, 180.0):
        k = np.flatnonzero(same & ((x0 - line) * (x1 - line) < 0.0))
        if not k.size:
            continue
        a, b = xy[k], xy[k + 1]
        az, _, dist = WGS84.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        t = (line - a[:, 0]) / (b[:, 0] - a[:, 0])  # straight-line guess, then secant steps
        lo_t, lo_r = np.zeros(k.size), a[:, 0] - line
        hi_t, hi_r = np.ones(k.size), b[:, 0] - line
        for _ in range(8):
            lon, lat, _ = WGS84.fwd(a[:, 0], a[:, 1], az, t * dist)
            lon = a[:, 0] + (lon - a[:, 0] + 180.0) % 360.0 - 180.0  # continuous with a
            r = lon - line
            below = np.sign(r) == np.sign(lo_r)
            lo_t, lo_r = np.where(below, t, lo_t), np.where(below, r, lo_r)
            hi_t, hi_r = np.where(below, hi_t, t), np.where(below, hi_r, r)
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.where(hi_r != lo_r, lo_t - lo_r * (hi_t - lo_t) / (hi_r - lo_r), t)
        _, lat, _ = WGS84.fwd(a[:, 0], a[:, 1], az, t * dist)
        rows.append(k + 1)
        points.append(np.column_stack([np.full(k.size, line), lat]))
    if not rows:
        return geoms
    at = np.concatenate(rows)
    xy = np.insert(xy, at, np.concatenate(points), axis=0)
    ring = np.insert(ring, at, ring[at])
    out = polygons_from_rings(xy, ring, part, geom, len(geoms))
    return np.where(shapely.get_num_geometries(out) == 1, shapely.get_geometry(out, 0), out)


# -- fast direct geodesic problem (circles) -----------------------------------------------

_A = 6378137.0
_F = 1.0 / 298.257223563
_E2 = _F * (2.0 - _F)
#: radii above this (metres) are computed with pyproj.Geod.fwd (the fast formula's relative
#: error grows as 8e-7 * (radius / 100 km)^2: 8e-5 at 1000 km)
_FAST_MAX_RADIUS = 1_000_000.0


def _curvature(lat_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Meridian radius ``M``, normal radius ``N`` and ``g = e2 sin cos / (1 - e2 sin^2)``."""
    sp = np.sin(lat_rad)
    w = 1.0 - _E2 * sp * sp
    n = _A / np.sqrt(w)
    m = n * (1.0 - _E2) / w
    g = _E2 * sp * np.cos(lat_rad) / w
    return m, n, g


def _meridian_arc(lat_rad: np.ndarray) -> np.ndarray:
    """Distance along the meridian from the equator to ``lat`` (Helmert's series, < 1 mm)."""
    n = _F / (2.0 - _F)
    n2 = n * n
    a0 = _A / (1.0 + n) * (1.0 + n2 / 4.0 + n2 * n2 / 64.0)
    return a0 * (
        lat_rad
        - (1.5 * n - 9.0 / 16.0 * n2 * n) * np.sin(2.0 * lat_rad)
        + (15.0 / 16.0 * n2 - 15.0 / 32.0 * n2 * n2) * np.sin(4.0 * lat_rad)
        - 35.0 / 48.0 * n2 * n * np.sin(6.0 * lat_rad)
        + 315.0 / 512.0 * n2 * n2 * np.sin(8.0 * lat_rad)
    )


def _direct(lat0: np.ndarray, east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude offset (radians) of the points ``(east, north)`` metres away.

    ``lat0`` (radians) broadcasts against ``east`` / ``north`` (metres along the
    geodesic, split by azimuth: ``east = s sin(az)``, ``north = s cos(az)``).
    The step is taken on the unit sphere with geodetic latitudes: the angular step
    ``(north / M, east / N)`` at the centre, scaled by ``M(lat0) / M(lat_mid)`` so
    that the meridian radius is taken at the mid-point latitude; then the
    spherical direct formula. Relative distance error against Karney's geodesic
    is below ``1e-6 (s / 100 km)^2`` at every latitude (see docs/geodesy.md).
    """
    m, n, g = _curvature(lat0)
    ym = north / m
    k = 1.0 - 1.5 * g * ym
    u = ym * k  # angular step northward (radians)
    v = east / n * k  # angular step eastward (radians)
    d2 = u * u + v * v
    sinc = 1.0 - d2 * (1.0 / 6.0 - d2 * (1.0 / 120.0 - d2 / 5040.0))  # sin(d) / d
    cosd = 1.0 - d2 * (0.5 - d2 * (1.0 / 24.0 - d2 * (1.0 / 720.0 - d2 / 40320.0)))
    sp = np.sin(lat0)
    cp = np.cos(lat0)
    su = sinc * u
    lat = np.arcsin(np.clip(sp * cosd + cp * su, -1.0, 1.0))
    dlon = np.arctan2(sinc * v, cp * cosd - sp * su)
    return lat, dlon


def _inverse_local(
    lon0: np.ndarray, lat0: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(east, north)`` metres of points in the local plane of :func:`_direct` (its inverse).

    All arguments in degrees and of one shape. The plane is an azimuthal
    equidistant projection centred on ``(lon0, lat0)``: distances from the centre
    are geodesic to the accuracy of :func:`_direct`; it is used to buffer
    footprints in metres.
    """
    p0 = np.radians(lat0)
    p = np.radians(lat)
    dl = np.radians(lon - lon0)
    sp0, cp0, sp, cp = np.sin(p0), np.cos(p0), np.sin(p), np.cos(p)
    a = cp0 * sp - sp0 * cp * np.cos(dl)  # sin(d) cos(az) on the sphere
    b = cp * np.sin(dl)  # sin(d) sin(az)
    c = sp0 * sp + cp0 * cp * np.cos(dl)  # cos(d)
    s = np.hypot(a, b)
    d = np.arctan2(s, c)
    ratio = np.divide(d, s, out=np.ones_like(d), where=s > 0)
    u = a * ratio
    v = b * ratio
    m, n, g = _curvature(p0)
    # solve u = (y / m) (1 - 1.5 g y / m) and v = x / n (1 - 1.5 g y / m) for x, y
    ym = u.copy()
    for _ in range(4):
        ym = u / (1.0 - 1.5 * g * ym)
    k = 1.0 - 1.5 * g * ym
    return v * n / k, ym * m


def _forward_local(
    lon0: np.ndarray, lat0: np.ndarray, east: np.ndarray, north: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude (degrees, continuous around ``lon0``) of local plane points."""
    lat, dlon = _direct(np.radians(lat0), east, north)
    return lon0 + np.degrees(dlon), np.degrees(lat)


def _circle_coords(
    lon: np.ndarray, lat: np.ndarray, radius: np.ndarray, n: int, *, block: int = 32768
) -> np.ndarray:
    """Closed counter-clockwise rings, shape ``(m, n + 1, 2)``, continuous longitudes.

    Vertex ``p`` lies at azimuth ``-360 p / n`` degrees. Circles are symmetric about
    the centre's meridian, so only azimuths 0..180 are computed (with :func:`_direct`'s
    formula, inlined here and run on cache-sized blocks of ``block`` values) and
    mirrored. Radii above ``_FAST_MAX_RADIUS`` are recomputed with ``Geod.fwd``.
    """
    m = lon.size
    out = np.empty((m, n + 1, 2), dtype="float64")
    half = n // 2
    h1 = half + 1
    az = 2.0 * np.pi * np.arange(h1) / n
    saz, caz = np.sin(az), np.cos(az)
    saz[0] = 0.0
    if n % 2 == 0:
        saz[half], caz[half] = 0.0, -1.0
    # east half mirrored: positions half+1 .. n-1 take azimuth index n - p
    east_src = slice(half - 1 if n % 2 == 0 else half, 0, -1)
    lat_r = np.radians(lat)
    mm, nn, g = _curvature(lat_r)
    sp, cp = np.sin(lat_r), np.cos(lat_r)
    # per-circle factors: u = ym (1 - 1.5 g ym), ym = r caz / M ; v = r saz / N (1 - 1.5 g ym)
    a_u = (radius / mm)[:, None]  # ym = a_u * caz
    b_g = 1.5 * g[:, None] * a_u  # 1 - b_g * caz
    a_v = (radius / nn)[:, None]
    step = max(1, block // h1)
    deg = 180.0 / np.pi
    for start in range(0, m, step):
        sl = slice(start, min(m, start + step))
        k = 1.0 - b_g[sl] * caz
        u = a_u[sl] * caz
        u *= k
        v = a_v[sl] * saz
        v *= k
        d2 = u * u
        d2 += v * v
        sinc = d2 * (1.0 / 120.0)
        sinc -= 1.0 / 6.0
        sinc *= d2
        sinc += 1.0
        cosd = d2 * (1.0 / 24.0)
        cosd -= 0.5
        cosd *= d2
        cosd += 1.0
        u *= sinc
        v *= sinc
        spb = sp[sl, None]
        cpb = cp[sl, None]
        z = spb * cosd
        z += cpb * u
        np.clip(z, -1.0, 1.0, out=z)
        phi = np.arcsin(z, out=z)
        phi *= deg
        x = cpb * cosd
        x -= spb * u
        dl = np.arctan2(v, x, out=x)
        dl *= deg
        lo = lon[sl, None]
        o = out[sl]
        np.subtract(lo, dl, out=o[:, :h1, 0])
        o[:, :h1, 1] = phi
        np.add(lo, dl[:, east_src], out=o[:, h1:n, 0])
        o[:, h1:n, 1] = phi[:, east_src]
    slow = radius > _FAST_MAX_RADIUS
    if slow.any():  # very large circles: Karney's exact solution
        k = int(slow.sum())
        azp = -360.0 * np.arange(n) / n
        lo, la, _ = WGS84.fwd(
            np.repeat(lon[slow], n),
            np.repeat(lat[slow], n),
            np.tile(azp, k),
            np.repeat(radius[slow], n),
        )
        lo = lo.reshape(k, n)
        out[slow, :n, 0] = lon[slow, None] + ((lo - lon[slow, None] + 180.0) % 360.0 - 180.0)
        out[slow, :n, 1] = la.reshape(k, n)
    out[:, n] = out[:, 0]
    return out


def geodesic_circles(
    lon: np.ndarray,
    lat: np.ndarray,
    radius_m: float | np.ndarray,
    *,
    n_vertices: int = 128,
) -> np.ndarray:
    """Geodesic circles (every vertex ``radius_m`` from the centre on WGS84).

    Vectorised numpy solution of the direct geodesic problem: each step is
    taken on the unit sphere with geodetic latitudes, the angular step being
    ``(s cos(az) / M, s sin(az) / N)`` at the centre (meridian and normal radii
    of curvature), scaled by ``M(lat0) / M(lat_mid)``, then the spherical direct
    formula. Against Karney's exact solution (:class:`pyproj.Geod`) the
    vertex-to-centre distance is within ``1e-6 * (radius / 100 km)^2`` of the
    radius at every latitude (2e-7, 1 cm, at 50 km); radii above 1,000 km use
    :meth:`pyproj.Geod.fwd`. Circles are symmetric about the centre's meridian,
    so only half the vertices are computed.

    Parameters
    ----------
    lon, lat : array_like
        Centres in decimal degrees (EPSG:4326).
    radius_m : float or array_like
        Radius in metres, one for all or one per centre.
    n_vertices : int, default 128
        Vertices per circle. The polygon's area falls short of the true
        geodesic circle's by about ``(2 pi / n)^2 / 6``: 0.04 % at 128.

    Returns
    -------
    numpy.ndarray of shapely Polygon / MultiPolygon
        Polygons in EPSG:4326, split at the antimeridian where they cross it.

    Raises
    ------
    InputError
        For non-finite centres, non-positive radii, or a circle that would
        contain a pole.

    Examples
    --------
    >>> import numpy as np
    >>> c = geodesic_circles(np.array([0.0]), np.array([0.0]), 10_000.0, n_vertices=64)
    >>> c[0].geom_type
    'Polygon'
    """
    lon, lat, radius = _check_circles(lon, lat, radius_m)
    n = int(n_vertices)
    if n < 8:
        raise InputError(f"n_vertices must be at least 8, got {n}")
    return _rings_to_polygons(_circle_coords(lon, lat, radius, n))


def _check_circles(
    lon: np.ndarray, lat: np.ndarray, radius_m: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated 1-D float arrays of centres and radii (metres); refuses polar circles."""
    lon = np.atleast_1d(np.asarray(lon, dtype="float64")).ravel()
    lat = np.atleast_1d(np.asarray(lat, dtype="float64")).ravel()
    if lon.shape != lat.shape:
        raise InputError(f"lon and lat differ in shape: {lon.shape} and {lat.shape}")
    try:
        radius = np.broadcast_to(np.asarray(radius_m, dtype="float64").ravel(), lon.shape)
    except ValueError as err:
        raise InputError(
            f"radius_m must be one value or one per centre ({lon.size}), got shape "
            f"{np.shape(radius_m)}"
        ) from err
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InputError("circle centres must be finite longitude/latitude values")
    if not (np.isfinite(radius).all() and (radius > 0).all()):
        raise InputError("circle radii must be positive finite distances in metres")
    if (np.abs(lat) > 90.0).any():
        bad = int(np.argmax(np.abs(lat) > 90.0))
        raise InputError(f"the circle at index {bad} has latitude {lat[bad]} outside [-90, 90]")
    bad_mask = radius >= _distance_to_pole(lat)
    if bad_mask.any():
        bad = int(np.argmax(bad_mask))
        raise InputError(
            f"the circle at index {bad} (lat {lat[bad]:.4f}) with radius {radius[bad]:.0f} m "
            "would contain a pole; asm_pace does not build polar circles"
        )
    return lon, lat, np.ascontiguousarray(radius)


def _distance_to_pole(lat: np.ndarray) -> np.ndarray:
    """Geodesic distance (metres) from latitude ``lat`` (degrees) to the nearer pole."""
    return _meridian_arc(np.full(1, np.pi / 2.0))[0] - _meridian_arc(np.radians(np.abs(lat)))


def _rings_to_polygons(shell: np.ndarray, hole: np.ndarray | None = None) -> np.ndarray:
    """Polygons from ``(m, k, 2)`` closed ccw shells (and optional ccw holes), split at +-180.

    ``hole`` rows full of NaN mean "no hole". Longitudes may run past +-180.
    """
    polys = shapely.polygons(shapely.linearrings(shell))
    if hole is not None:
        has = ~np.isnan(hole[:, 0, 0])
        if has.any():
            holes = shapely.linearrings(hole[has, ::-1])  # holes run clockwise
            polys[has] = shapely.polygons(
                shapely.get_exterior_ring(polys[has]), holes=holes[:, None]
            )
    lons = shell[:, :, 0]
    cross = (lons.min(axis=1) < -180.0) | (lons.max(axis=1) > 180.0)
    if cross.any():
        polys[cross] = split_antimeridian(polys[cross], geodesic_edges=True)
    return polys


def circle_radius_for_area(area_m2: np.ndarray) -> np.ndarray:
    """Geodesic radius of the circle with the given area (small-circle approximation).

    Uses ``r = sqrt(A / pi)``; for areas up to 10,000 km2 the geodesic circle's
    area differs from ``pi r^2`` by less than 0.01 %. This is how the R package
    wdpar turns WDPA point records with ``REP_AREA`` into circles.

    Examples
    --------
    >>> round(float(circle_radius_for_area(np.array([np.pi * 1e6]))[0]))
    1000
    """
    return np.sqrt(np.asarray(area_m2, dtype="float64") / np.pi)


def _authalic_half_tan(lat_deg: np.ndarray) -> np.ndarray:
    """``tan(xi / 2)`` of the authalic latitude ``xi`` of geodetic latitudes (degrees).

    ``sin(xi) = q(lat) / q_p`` with ``q = (1 - e2) (s / (1 - e2 s^2) + atanh(e s) / e)``,
    ``s = sin(lat)`` (Snyder 1987, eq. 3-11, 3-12); then
    ``tan(xi / 2) = sin(xi) / (1 + cos(xi))``.
    """
    e = np.sqrt(_E2)
    sp = np.sin(np.radians(lat_deg))
    sx = (1.0 - _E2) / _QP * (sp / (1.0 - _E2 * sp * sp) + np.arctanh(e * sp) / e)
    np.clip(sx, -1.0, 1.0, out=sx)
    return sx / (1.0 + np.sqrt(1.0 - sx * sx))


_QP = (1.0 - _E2) * (
    1.0 / (1.0 - _E2) - np.log((1.0 - np.sqrt(_E2)) / (1.0 + np.sqrt(_E2))) / (2 * np.sqrt(_E2))
)
#: radius of the authalic sphere (same surface area as the WGS84 ellipsoid), metres
_RQ2 = _A * _A * _QP / 2.0


def geodesic_area(geoms: np.ndarray | BaseGeometry) -> np.ndarray:
    """Area of each geometry on the WGS84 ellipsoid, in square metres.

    Vectorised over all rings at once: latitudes are mapped to authalic
    latitudes (an exact equal-area map of the ellipsoid onto the sphere of
    radius ``R_q = 6,371,007.2 m``), and each ring's area is the sum of the
    spherical excess of the triangles (pole, P_i, P_i+1),
    ``E = 2 atan(tan(dlon / 2) (t_i + t_i+1) / (1 + t_i t_i+1))`` with
    ``t = tan(authalic latitude / 2)``. Edges are great-circle arcs on the
    authalic sphere; against :meth:`pyproj.Geod.geometry_area_perimeter`
    (ellipsoidal geodesic edges) the relative difference is about
    ``2e-7 * L^2`` for a longest edge of ``L`` degrees (2e-7 at 1 degree, 2e-5
    at 10, 3e-4 at 40; 1e-9 for 64-gon buffers), see docs/geodesy.md. An edge
    spanning 180 degrees of longitude or more (a whole-world box, an edge along
    a pole) is followed along its longitude/latitude line, as shapely draws it,
    in pieces of at most one degree. Holes are subtracted. About 20 times
    faster than a loop over ``Geod``.

    Parameters
    ----------
    geoms : shapely geometry or array of them, in EPSG:4326
        Non-areal geometries, missing and empty ones have area 0.

    Returns
    -------
    numpy.ndarray of float
        Unsigned areas in m2.

    Examples
    --------
    >>> import shapely
    >>> a = geodesic_area(shapely.box(0.0, 0.0, 1.0, 1.0))[0]
    >>> round(float(a) / 1e6)  # km2 of a 1 x 1 degree cell at the equator
    12309
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object)).ravel()
    out = np.zeros(arr.size, dtype="float64")
    # blocks of about _AREA_BLOCK coordinates keep the temporaries in cache
    ends = np.cumsum(shapely.get_num_coordinates(arr))
    cuts = np.searchsorted(ends, np.arange(_AREA_BLOCK, ends[-1] if ends.size else 0, _AREA_BLOCK))
    bounds = np.unique(np.r_[0, cuts + 1, arr.size].clip(0, arr.size))
    for start, stop in itertools.pairwise(bounds):
        out[start:stop] = _area_block(arr[start:stop])
    return out


_AREA_BLOCK = 65536


def _long_edge_excess(coords: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Spherical excess of edges spanning 180 degrees of longitude or more, as drawn.

    A great-circle arc cannot follow such an edge (between its ends it runs the other way
    round, or over a pole), so the edge is taken along its straight longitude/latitude line
    (as shapely draws it) in pieces of at most one degree of longitude, each a great-circle
    arc on the authalic sphere. An edge along a pole (latitude -90 at both ends, as in
    Antarctica's outline) then closes its ring round the pole.
    """
    x0, y0 = coords[edges, 0], coords[edges, 1]
    dx, dy = coords[edges + 1, 0] - x0, coords[edges + 1, 1] - y0
    n = np.ceil(np.abs(dx)).astype(int)  # pieces of at most one degree
    edge = np.repeat(np.arange(edges.size), n)
    piece = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    a, b = piece / n[edge], (piece + 1) / n[edge]
    t1 = _authalic_half_tan(y0[edge] + a * dy[edge])
    t2 = _authalic_half_tan(y0[edge] + b * dy[edge])
    half = np.radians(0.5 * dx[edge] / n[edge])
    excess = 2.0 * np.arctan2(np.tan(half) * (t1 + t2), 1.0 + t1 * t2)
    return np.bincount(edge, weights=excess, minlength=edges.size)


def _area_block(arr: np.ndarray) -> np.ndarray:
    out = np.zeros(arr.size, dtype="float64")
    polys, pidx = flatten_polygons(arr)
    if polys.size == 0:
        return out
    rings, ridx = shapely.get_rings(polys, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    t = _authalic_half_tan(coords[:, 1])
    t1, t2 = t[:-1], t[1:]
    dlon = np.diff(coords[:, 0])
    excess = 2.0 * np.arctan2(np.tan(np.radians(0.5 * dlon)) * (t1 + t2), 1.0 + t1 * t2)
    same = cidx[1:] == cidx[:-1]  # edges inside one ring (rings are closed)
    long_edges = np.abs(dlon) >= 180.0
    if long_edges.any():  # rings drawn on the map's frame, edges along a pole
        long_edges = np.flatnonzero(long_edges & same)
        excess[long_edges] = _long_edge_excess(coords, long_edges)
    ring_area = np.abs(np.bincount(cidx[:-1][same], weights=excess[same], minlength=rings.size))
    exterior = np.r_[True, ridx[1:] != ridx[:-1]]
    poly_area = np.bincount(
        ridx, weights=np.where(exterior, ring_area, -ring_area), minlength=polys.size
    )
    out += np.bincount(pidx, weights=poly_area, minlength=arr.size) * _RQ2
    return out


def box_around(
    bounds: tuple[float, float, float, float], margin_km: float
) -> tuple[float, float, float, float]:
    """A lon/lat box holding every point within ``margin_km`` of the box ``bounds``.

    A safe (never too small) box for reading protected areas or choosing raster tiles
    around sites: the bound of :func:`asm_pace._nearest.widen_boxes` (a degree of latitude
    is at least 110 km, a degree of longitude at least 110 km x cos(latitude) at the box's
    highest latitude). A box that would reach a pole or past +-180 spans every longitude.

    Parameters
    ----------
    bounds : (west, south, east, north)
        Degrees, e.g. ``sites.total_bounds``.
    margin_km : float
        The distance to add on every side, in km (>= 0).

    Returns
    -------
    (west, south, east, north)

    Examples
    --------
    >>> [round(v, 3) for v in box_around((-70.0, -12.0, -69.0, -11.0), 11.0)]
    [-70.102, -12.1, -68.898, -10.9]
    >>> box_around((179.0, -17.0, 179.5, -16.0), 100.0)[::2]  # past 180: every longitude
    (-180.0, 180.0)
    """
    from ._nearest import widen_boxes  # (_nearest imports this module)

    box = np.array([[float(v) for v in bounds]])
    margin = float(margin_km)
    if not (np.isfinite(box).all() and np.isfinite(margin) and margin >= 0):
        raise InputError(
            f"box_around needs finite bounds and a margin >= 0 km; got {bounds}, {margin_km}"
        )
    west, south, east, north = (float(v) for v in widen_boxes(box, np.array([margin * 1e3]))[0])
    if west < -180.0 or east > 180.0:
        return (-180.0, south, 180.0, north)
    return (west, south, east, north)
