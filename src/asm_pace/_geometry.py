"""Private geometry helpers shared by the loaders, geodesy and classification."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["polygonal_parts"]

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


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
