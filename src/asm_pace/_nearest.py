"""Geodesic distance from points to polygon boundaries on WGS84 (private).

The method, in four steps:

1. Every boundary ring of every polygon is cut into straight segments in
   longitude/latitude (the edges GIS software draws and that the
   point-in-polygon test uses), after densifying edges longer than
   ``MAX_SEGMENT_DEG`` with :func:`shapely.segmentize`.
2. Segment midpoints go into k-d trees in Earth-centred Cartesian
   coordinates (ECEF, metres, on the WGS84 ellipsoid), one tree per class of
   segment length. In ECEF the antimeridian and the poles are not special.
3. For each site the straight-line (chord) distance to every segment that
   could be the nearest is computed. A segment ``j`` with midpoint ``m_j``
   and half-length ``h_j`` can only be closer than a bound ``U`` if
   ``|s - m_j| <= U + h_j``, so growing the k-nearest query until the k-th
   midpoint is farther than ``U + max h`` gives a complete candidate set.
   The chord underestimates the geodesic by ``s^3 k^2 / 24`` (``k`` the
   curvature), i.e. by less than 0.03 % at 500 km; candidates within a
   margin that covers this are kept.
4. For the few segments left (usually one or two), the foot of the
   perpendicular is mapped back to longitude/latitude on the segment and the
   distance is measured with :meth:`pyproj.Geod.inv` (Karney 2013). The
   reported distance is therefore an exact geodesic distance to a point on the
   boundary, larger than the true minimum by a second-order term only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from .geodesy import WGS84

__all__ = ["BoundaryIndex", "ecef", "MAX_SEGMENT_DEG"]

#: Boundary edges longer than this (degrees) are densified before indexing.
MAX_SEGMENT_DEG = 0.02

_A = 6378137.0
_F = 1.0 / 298.257223563
_E2 = _F * (2.0 - _F)
# slack added to every segment's half-length: the lon/lat-straight edge departs
# from the ECEF chord between its ends by < 0.1 m for edges <= 0.02 degrees
_H_SLACK_M = 1.0
_ABS_MARGIN_M = 1.0
_K_FIRST = 4
_K_START = 16


def ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Earth-centred Cartesian coordinates (metres) of lon/lat points on WGS84.

    Examples
    --------
    >>> ecef(np.array([0.0]), np.array([0.0])).round(1).tolist()
    [[6378137.0, 0.0, 0.0]]
    """
    lam = np.radians(np.asarray(lon, dtype="float64"))
    phi = np.radians(np.asarray(lat, dtype="float64"))
    sphi = np.sin(phi)
    n = _A / np.sqrt(1.0 - _E2 * sphi * sphi)
    cphi = np.cos(phi)
    return np.stack(
        [n * cphi * np.cos(lam), n * cphi * np.sin(lam), n * (1.0 - _E2) * sphi], axis=-1
    )


def _margin(u: np.ndarray) -> np.ndarray:
    """Relative slack between chord ranking and geodesic ranking at chord length u."""
    x = u / _A
    return u * (1e-4 + x * x / 10.0) + _ABS_MARGIN_M


@dataclass
class _Bucket:
    tree: cKDTree
    seg: np.ndarray  # indices into the segment arrays
    hmax: float


class BoundaryIndex:
    """An index of the boundary segments of polygons, for geodesic nearest queries.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely Polygon / MultiPolygon, EPSG:4326
        Valid polygons; empty and missing ones are skipped.

    Examples
    --------
    >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 1.0, 1.0)]))
    >>> d, owner, lon, lat = idx.nearest(np.array([0.5]), np.array([2.0]))
    >>> round(float(d[0])), int(owner[0]), round(float(lat[0]), 6)
    (110575, 0, 1.0)
    """

    def __init__(self, polygons: np.ndarray) -> None:
        geoms = np.asarray(polygons, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        keep = np.flatnonzero(ok)
        bounds = shapely.boundary(geoms[keep])
        bounds = shapely.segmentize(bounds, MAX_SEGMENT_DEG)
        parts, part_owner = shapely.get_parts(bounds, return_index=True)
        coords, line = shapely.get_coordinates(parts, return_index=True)
        same = line[1:] == line[:-1]
        self.start = coords[:-1][same]
        self.end = coords[1:][same]
        self.owner = keep[part_owner[line[:-1][same]]]
        self.n = len(self.owner)
        a = ecef(self.start[:, 0], self.start[:, 1])
        b = ecef(self.end[:, 0], self.end[:, 1])
        self.a = a
        self.ab = b - a
        mid = a + 0.5 * self.ab
        half = 0.5 * np.sqrt((self.ab * self.ab).sum(axis=1)) + _H_SLACK_M
        self.buckets: list[_Bucket] = []
        if self.n == 0:
            return
        # segment-length classes, so a few long edges do not widen every search
        edges = 25.0 * 4.0 ** np.arange(1, 12)
        cls = np.searchsorted(edges, half)
        for c in np.unique(cls):
            sel = np.flatnonzero(cls == c)
            self.buckets.append(_Bucket(cKDTree(mid[sel]), sel, float(half[sel].max())))

    def _seg_dist(self, s: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chord distance from ECEF points ``s`` to segments ``seg`` and the foot parameter."""
        a = self.a[seg]
        ab = self.ab[seg]
        ll = (ab * ab).sum(axis=1)
        t = np.where(ll > 0, ((s - a) * ab).sum(axis=1) / np.where(ll > 0, ll, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        d = s - a - t[:, None] * ab
        return np.sqrt((d * d).sum(axis=1)), t

    def nearest(
        self, lon: np.ndarray, lat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Geodesic distance (m) from each point to the nearest boundary.

        Returns
        -------
        distance_m, owner, near_lon, near_lat : numpy.ndarray
            The distance, the index of the polygon the nearest boundary belongs
            to (-1 when the index is empty) and the nearest boundary point.
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        m = lon.size
        out_d = np.full(m, np.nan)
        out_o = np.full(m, -1, dtype="int64")
        out_lon = np.full(m, np.nan)
        out_lat = np.full(m, np.nan)
        if m == 0 or self.n == 0:
            return out_d, out_o, out_lon, out_lat
        s = ecef(lon, lat)
        # 1. an upper bound U on the chord distance, from a few candidates per class
        upper = np.full(m, np.inf)
        for b in self.buckets:
            k = min(_K_FIRST, b.tree.n)
            _, ii = b.tree.query(s, k=[*range(1, k + 1)])
            rows = np.repeat(np.arange(m), k)
            seg = b.seg[ii.ravel()]
            d, _ = self._seg_dist(s[rows], seg)
            np.minimum.at(upper, rows, d)
        bound = upper + _margin(upper)
        # 2. every segment whose midpoint lies within U + margin + h_max
        rows_all, segs_all = [], []
        for b in self.buckets:
            radius = bound + b.hmax
            todo = np.arange(m)
            k_done = 0
            k = min(_K_START, b.tree.n)
            while todo.size:
                dd, ii = b.tree.query(s[todo], k=[*range(k_done + 1, k + 1)])
                hit = dd <= radius[todo, None]
                r, c = np.nonzero(hit)
                rows_all.append(todo[r])
                segs_all.append(b.seg[ii[r, c]])
                more = hit[:, -1] & (k < b.tree.n)
                todo = todo[more]
                k_done, k = k, min(4 * k, b.tree.n)
        rows = np.concatenate(rows_all)
        segs = np.concatenate(segs_all)
        d, t = self._seg_dist(s[rows], segs)
        # 3. shortlist: candidates within the ranking margin of each site's best
        best = np.full(m, np.inf)
        np.minimum.at(best, rows, d)
        keep = d <= best[rows] + _margin(best[rows])
        rows, segs, t = rows[keep], segs[keep], t[keep]
        # 4. exact geodesic distance to the foot point, on the lon/lat segment
        p = self.start[segs] + t[:, None] * (self.end[segs] - self.start[segs])
        _, _, g = WGS84.inv(lon[rows], lat[rows], p[:, 0], p[:, 1])
        order = np.lexsort((g, rows))
        rows, segs, g, p = rows[order], segs[order], g[order], p[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        r = rows[first]
        out_d[r] = g[first]
        out_o[r] = self.owner[segs[first]]
        out_lon[r] = p[first, 0]
        out_lat[r] = p[first, 1]
        return out_d, out_o, out_lon, out_lat
