"""Private geometry helpers shared by the loaders, geodesy and classification."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = [
    "flatten_polygons",
    "nonfinite",
    "polygonal_parts",
    "polygons_from_rings",
    "ring_coordinates",
    "unwrap_rings",
]

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

#: shapely's geometry type ids (:func:`shapely.get_type_id`) and the names geopandas'
#: ``geom_type`` gives them.
TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
              5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip


def nonfinite(geoms: np.ndarray) -> np.ndarray:
    """Whether each geometry has a NaN or infinite x or y (GDAL reads ``[NaN, -12]`` as is).

    Examples
    --------
    >>> import shapely, numpy as np
    >>> nonfinite(np.array([shapely.Point(1, 2), shapely.Point(np.nan, 2), None])).tolist()
    [False, True, False]
    """
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[index[~np.isfinite(coords).all(axis=1)]] = True
    return bad


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of each geometry.

    ``shapely.make_valid`` and overlay operations may return GeometryCollections holding lines
    and points beside the polygons; those are dropped. A geometry with no polygonal part
    becomes an empty MultiPolygon; Polygons, MultiPolygons and missing values pass unchanged.

    Examples
    --------
    >>> import shapely, numpy as np
    >>> mixed = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(2, 2), (3, 3)])])
    >>> [g.geom_type for g in polygonal_parts(np.array([mixed, shapely.Point(0, 0)]))]
    ['Polygon', 'MultiPolygon']
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    other = ~np.isin(shapely.get_type_id(geoms), _POLYGONAL) & ~shapely.is_missing(geoms)
    for i in np.flatnonzero(other):  # only the few mixed results of repairs and overlays
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)]
        out[i] = shapely.union_all(polys) if polys.size else shapely.MultiPolygon()
    return out


def flatten_polygons(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of each geometry (multi-parts and collections opened) and their index.

    Missing, empty and non-polygonal parts are left out; ``index[i]`` is the position in
    ``arr`` of the geometry that part ``i`` came from.

    Examples
    --------
    >>> import shapely, numpy as np
    >>> two = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    >>> parts, index = flatten_polygons(np.array([shapely.Point(0, 0), two]))
    >>> len(parts), index.tolist()
    (2, [1, 1])
    """
    arr = np.asarray(arr, dtype=object)
    idx = np.arange(arr.size)
    ok = ~shapely.is_missing(arr)
    geoms, idx = arr[ok], idx[ok]
    while True:
        types = shapely.get_type_id(geoms)
        multi = types >= 4  # Multi* and GeometryCollection
        if not multi.any():
            break
        parts, pidx = shapely.get_parts(geoms[multi], return_index=True)
        geoms = np.concatenate([geoms[~multi], parts])
        idx = np.concatenate([idx[~multi], idx[multi][pidx]])
    keep = (shapely.get_type_id(geoms) == 3) & ~shapely.is_empty(geoms)
    return geoms[keep], idx[keep]


def ring_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every ring's coordinates of the polygonal geometries ``geoms``, flattened.

    Returns ``(xy, ring, part, geom)``: ``xy`` (n, 2) coordinates, ``ring[k]`` the ring of
    coordinate ``k``, ``part[r]`` the polygon part of ring ``r`` (its exterior comes first),
    ``geom[p]`` the position in ``geoms`` of part ``p``. Rings are closed (first coordinate
    repeated last). :func:`polygons_from_rings` is its inverse.

    Examples
    --------
    >>> import shapely, numpy as np
    >>> xy, ring, part, geom = ring_coordinates(np.array([shapely.box(0, 0, 1, 1)]))
    >>> xy.shape, ring.tolist(), part.tolist(), geom.tolist()
    ((5, 2), [0, 0, 0, 0, 0], [0], [0])
    """
    polys, geom = flatten_polygons(geoms)
    order = np.argsort(geom, kind="stable")  # parts of one geometry side by side
    polys, geom = polys[order], geom[order]
    rings, part = shapely.get_rings(polys, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return xy, ring, part, geom


def polygons_from_rings(
    xy: np.ndarray, ring: np.ndarray, part: np.ndarray, geom: np.ndarray, size: int
) -> np.ndarray:
    """MultiPolygons built from :func:`ring_coordinates`' arrays (``size`` geometries).

    Positions with no part are ``None``. The rings are taken as they are (not validated).

    Examples
    --------
    >>> import shapely, numpy as np
    >>> arrays = ring_coordinates(np.array([shapely.box(0, 0, 1, 1)]))
    >>> polygons_from_rings(*arrays, 1)[0].equals(shapely.box(0, 0, 1, 1))
    True
    """
    out = np.full(size, None, dtype=object)
    if not ring.size:
        return out
    rings = shapely.linearrings(xy, indices=ring)
    polys = shapely.polygons(rings, indices=part)
    present = np.unique(geom)
    out[present] = shapely.multipolygons(polys, indices=np.searchsorted(present, geom))
    return out


def unwrap_rings(x: np.ndarray, ring: np.ndarray, crossing: np.ndarray) -> np.ndarray:
    """Longitudes made continuous across the edges marked ``crossing``, ring by ring.

    ``crossing[k]`` marks the edge from coordinate ``k`` to ``k + 1`` (same ring) as one
    crossing the antimeridian: every later coordinate of the ring moves by ``-360`` (an edge
    jumping east, e.g. -179 -> 179) or ``+360`` (jumping west), so the edge becomes short. The
    offset a ring's closing coordinate gets tells whether it goes round a pole (non-zero).

    Returns the offsets (degrees, one per coordinate) to add to ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([179.0, -179.0, -179.0, 179.0, 179.0])
    >>> ring = np.zeros(5, dtype=int)
    >>> jumps = np.abs(np.diff(x)) > 180
    >>> (x + unwrap_rings(x, ring, jumps)).tolist()
    [179.0, 181.0, 181.0, 179.0, 179.0]
    """
    step = np.zeros(x.size)
    step[1:] = np.where(crossing, -360.0 * np.sign(np.diff(x)), 0.0)
    total = np.cumsum(step)
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    return total - np.repeat(total[starts], np.diff(np.r_[starts, x.size]))
