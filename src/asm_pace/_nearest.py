"""Geodesic distance from points to polygon boundaries on WGS84 (private).

The method, in four steps:

1. Every boundary ring of every polygon is cut into straight segments in
   longitude/latitude (the edges GIS software draws and that the
   point-in-polygon test uses), after densifying edges longer than
   ``MAX_SEGMENT_DEG`` with :func:`shapely.segmentize`.
2. Segment midpoints go into k-d trees in Earth-centred Cartesian
   coordinates (ECEF, metres, on the WGS84 ellipsoid), one tree per class of
   segment length. In ECEF the antimeridian and the poles are not special.
   The trees are :mod:`pykdtree`'s (k-nearest queries only, imported in a
   millisecond; ``scipy.spatial`` costs a fresh process 0.2-0.3 s, more than
   the whole nearest search of 1,000 sites): a search within a radius grows
   ``k`` until the k-th neighbour lies beyond it (:func:`_ball`).
3. For each site an upper bound ``U`` on the distance is the geodesic
   distance to the foot point on the segment nearest in chord among a few
   candidates. The chord under a geodesic of length ``U`` is at most
   ``2 R sin(U / 2R)`` (:func:`chord_within`, ``R = a^2/b`` the largest radius
   of curvature), so a segment ``j`` with midpoint ``m_j`` and half-length
   ``h_j`` can hold a nearer point only if ``|s - m_j|`` is within that chord
   plus ``h_j``; growing the k-nearest query until the k-th midpoint is
   farther gives a complete candidate set, and the same bound, with the best
   foot point among them, leaves a shortlist (at 2,000 km it is 8 km tighter
   than ranking by chord, which matters for sites far from every polygon).
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

from ._vector import VALID_KEY, ValidMark, _ids
from .errors import InputError
from .geodesy import _A, _E2, WGS84, _meridian_arc  # WGS84 constants, defined once


def _kdtree_class() -> type:
    """pykdtree's KDTree, its OpenMP queries on one thread unless ``OMP_NUM_THREADS`` says.

    pykdtree ships its own copy of libgomp, which reads ``OMP_NUM_THREADS`` when it is
    loaded: set for that moment only, it touches no other library. Its threads spin while
    they wait, so on a busy 2-core machine classify took 1.4-2 times the CPU of
    one thread; the process pool and the dask engine are what split the work over cores.
    """
    import os

    before = os.environ.get("OMP_NUM_THREADS")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from pykdtree.kdtree import KDTree
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    return KDTree


KDTree = _kdtree_class()

__all__ = [
    "BoundaryIndex",
    "Envelopes",
    "layer_envelopes",
    "ecef",
    "relevant_polygons",
    "widen_boxes",
    "box_hits",
    "layer_box",
    "box_text",
    "box_edge_distance",
    "chord_within",
    "rowdot",
    "MAX_SEGMENT_DEG",
]

#: Boundary edges longer than this (degrees) are densified before indexing.
MAX_SEGMENT_DEG = 0.02

# slack added to every segment's half-length: the lon/lat-straight edge departs
# from the ECEF chord between its ends by < 0.1 m for edges <= 0.02 degrees
_H_SLACK_M = 1.0
_K_FIRST = 2
# metres added to the ball of chunks a group gathers when they are kept for a second
# search around it (BoundaryIndex.nearest_in_groups(gathered=True))
_GATHER_PAD_M = 4.0
_K_START = 8
# sites a block of the nearest search: its (site, segment) pairs, about 100-400 a site at
# the global layer's density, then stay within a few hundred MB whatever the number of
# sites (1 M sites at once held 10.6 GB); each site's search is its own, so blocks give
# the same results
_BLOCK = 32_768
_CHUNK = 8
# points converted to ECEF at once (each of ecef's five temporaries is 8 bytes a point:
# 71 M boundary vertices at once held 2.8 GB of them)
_ECEF_BLOCK = 1 << 22


def ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Earth-centred Cartesian coordinates (metres) of lon/lat points on WGS84.

    Examples
    --------
    >>> ecef(np.array([0.0]), np.array([0.0])).round(1).tolist()
    [[6378137.0, 0.0, 0.0]]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if lon.ndim == 1 and lon.size > _ECEF_BLOCK:  # blocks: a few temporaries of one block
        out = np.empty((lon.size, 3))
        for i in range(0, lon.size, _ECEF_BLOCK):
            out[i : i + _ECEF_BLOCK] = ecef(lon[i : i + _ECEF_BLOCK], lat[i : i + _ECEF_BLOCK])
        return out
    lam = np.radians(lon)
    phi = np.radians(lat)
    sphi = np.sin(phi)
    n = _A / np.sqrt(1.0 - _E2 * sphi * sphi)
    out = np.empty((*phi.shape, 3))
    ncphi = n * np.cos(phi)
    out[..., 0] = ncphi * np.cos(lam)
    out[..., 1] = ncphi * np.sin(lam)
    out[..., 2] = n * (1.0 - _E2) * sphi
    return out


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two ``(n, 3)`` arrays: ``(a * b).sum(axis=1)``, the same
    numbers (summed in the same order, x + y + z) at a fifth of the time.

    Examples
    --------
    >>> rowdot(np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, 5.0, 6.0]])).tolist()
    [32.0]
    """
    p = a * b
    return p[:, 0] + p[:, 1] + p[:, 2]


#: The largest radius of curvature of the WGS84 ellipsoid (at the poles), a^2 / b.
_R_FLAT = _A / np.sqrt(1.0 - _E2)


def chord_within(g: np.ndarray) -> np.ndarray:
    """The longest chord (m) between two points of WGS84 at geodesic distance <= ``g`` (m).

    A geodesic of length ``g`` spans a chord of at most ``2 R sin(g / 2R)`` with ``R``
    the ellipsoid's largest radius of curvature (a^2/b, 6399.6 km, at the poles): the
    surface is nowhere flatter than a sphere of that radius (checked against
    :meth:`pyproj.Geod.inv` on millions of random pairs in tests/test_nearest.py).
    Conversely a point at chord ``c`` is at least ``2 R asin(c / 2R)`` away. At 2,000 km
    this bound is 8 km tighter than the chord itself.

    Examples
    --------
    >>> float(chord_within(np.array([0.0]))[0]), bool(chord_within(np.array([1e6]))[0] < 1e6)
    (0.0, True)
    """
    half = np.minimum(np.asarray(g, dtype="float64"), np.pi * _R_FLAT) / (2.0 * _R_FLAT)
    return 2.0 * _R_FLAT * np.sin(half) * (1.0 + 1e-9) + 1e-3


def _rings(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shapely.get_parts` of polygon boundaries, with the position of each part's
    boundary: the same parts in the same order, the LineStrings (boundaries of polygons
    without holes, most footprints) taken as they are and only the others split."""
    multi = shapely.get_type_id(lines) != 1
    if multi.all():
        return shapely.get_parts(lines, return_index=True)
    one = np.flatnonzero(~multi)
    if not multi.any():
        return lines, one
    parts, owner = shapely.get_parts(lines[multi], return_index=True)
    owner = np.flatnonzero(multi)[owner]
    every = np.r_[one, owner]
    order = np.argsort(every, kind="stable")
    return np.r_[lines[one], parts][order], every[order]


@dataclass
class _Bucket:
    tree: KDTree
    seg: np.ndarray  # chunk indices
    hmax: float

    @property
    def n(self) -> int:
        """Chunks in the tree."""
        return self.seg.size


def _knn(b: _Bucket, q: np.ndarray, k_done: int, k: int, bound: float | None = None):
    """Distances and bucket positions of the ``k_done + 1``-th to ``k``-th nearest centres
    of each ECEF point ``q`` (2-D arrays; beyond ``bound``: ``inf`` and ``b.n``)."""
    dd, ii = b.tree.query(np.ascontiguousarray(q), k=k, distance_upper_bound=bound)
    if k == 1:
        dd, ii = dd[:, None], ii[:, None]
    return dd[:, k_done:], ii[:, k_done:]


def _ball(
    b: _Bucket, q: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, chunk, distance) triples: every chunk of the bucket whose centre is within
    ``radius`` (m, per point) of ECEF point ``q``, and that distance (m), by k-nearest
    queries growing ``k`` (8, 32, ...) for the points whose k-th neighbour is still within
    their radius."""
    rows_all, chunks_all, dist_all = [], [], []
    todo = np.flatnonzero(np.isfinite(radius) & (radius >= 0))
    k_done, k = 0, min(_K_START, b.n)
    while todo.size:
        r_todo = radius[todo]
        # the tree's own cut-off, a little wider: the test that counts is the one below
        dd, ii = _knn(b, q[todo], k_done, k, float(r_todo.max()) * (1.0 + 1e-9) + 1.0)
        hit = dd <= r_todo[:, None]
        r, c = np.nonzero(hit)
        rows_all.append(todo[r])
        chunks_all.append(b.seg[ii[r, c].astype("int64")])
        dist_all.append(dd[r, c])
        todo = todo[hit[:, -1] & (k < b.n)]
        k_done, k = k, min(4 * k, b.n)
    if not rows_all:
        none = np.array([], dtype="int64")
        return none, none, np.array([])
    return np.concatenate(rows_all), np.concatenate(chunks_all), np.concatenate(dist_all)


class BoundaryIndex:
    """An index of the boundary segments of polygons, for geodesic nearest queries.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely Polygon / MultiPolygon, EPSG:4326
        Valid polygons; empty and missing ones are skipped.
    subset : numpy.ndarray of int, optional
        Index only these positions of ``polygons`` (owners returned by
        :meth:`nearest` and :meth:`vertices` are still positions in
        ``polygons``); default all.

    Examples
    --------
    >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 1.0, 1.0)]))
    >>> d, owner, lon, lat = idx.nearest(np.array([0.5]), np.array([2.0]))
    >>> round(float(d[0])), int(owner[0]), round(float(lat[0]), 6)
    (110575, 0, 1.0)
    """

    def __init__(self, polygons: np.ndarray, subset: np.ndarray | None = None) -> None:
        geoms = np.asarray(polygons, dtype=object)
        where = np.arange(len(geoms)) if subset is None else np.asarray(subset, dtype="int64")
        geoms = geoms[where]
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        keep = where[ok]
        parts, part_owner = _rings(shapely.boundary(geoms[ok]))
        coords, line = shapely.get_coordinates(parts, return_index=True)
        # densify only the rings that have edges longer than MAX_SEGMENT_DEG
        long = (np.abs(np.diff(coords[:, 0])) > MAX_SEGMENT_DEG) | (
            np.abs(np.diff(coords[:, 1])) > MAX_SEGMENT_DEG
        )
        long &= line[1:] == line[:-1]
        if long.any():
            which = np.unique(line[1:][long])
            parts = parts.copy()
            parts[which] = shapely.segmentize(parts[which], MAX_SEGMENT_DEG)
            coords, line = shapely.get_coordinates(parts, return_index=True)
        # a segment is named by its start vertex v (it runs from v to v + 1)
        self.coords = coords
        self.line_owner = keep[part_owner]
        self.line = line
        nv = len(coords)
        self.n = nv - len(parts)
        self.buckets: list[_Bucket] = []
        self.chunk_radius = np.zeros(0)
        if self.n <= 0:
            self.n = 0
            return
        self.xyz = ecef(coords[:, 0], coords[:, 1])
        # chunks of up to _CHUNK consecutive segments of one ring, each bounded by
        # a sphere (centre, radius) holding its vertices, hence its chords
        # (per chunk, not per vertex: at 71 M vertices every per-vertex array is 0.6 GB)
        line_start = np.flatnonzero(np.r_[True, line[1:] != line[:-1]])
        nseg = np.diff(np.r_[line_start, nv]) - 1  # segments of each ring
        per = -(-nseg // _CHUNK)  # chunks of each ring
        pos = _CHUNK * (np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per))
        cv = np.repeat(line_start, per) + pos
        self.chunk_vertex = cv
        self.chunk_count = np.minimum(_CHUNK, np.repeat(nseg, per) - pos)
        group = np.diff(np.r_[cv, nv])
        centre = np.add.reduceat(self.xyz, cv, axis=0) / group[:, None]
        r2 = np.zeros(nv)  # squared distance of each vertex to its chunk's centre
        for k in range(3):
            off = self.xyz[:, k] - np.repeat(centre[:, k], group)
            r2 += off * off
        radius = np.maximum.reduceat(np.sqrt(r2), cv)
        del r2, off
        tail = self.xyz[cv + self.chunk_count] - centre
        radius = np.maximum(radius, np.sqrt(rowdot(tail, tail))) + _H_SLACK_M
        self.chunk_centre, self.chunk_radius = centre, radius
        # radius classes, so a few long edges do not widen every search
        edges = 25.0 * 4.0 ** np.arange(1, 12)
        cls = np.searchsorted(edges, radius)
        for c in np.unique(cls):
            sel = np.flatnonzero(cls == c)
            tree = KDTree(np.ascontiguousarray(centre[sel]), leafsize=16)
            self.buckets.append(_Bucket(tree, sel, float(radius[sel].max())))

    def vertices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Longitude, latitude and owning polygon of every boundary vertex."""
        if self.n == 0:
            empty = np.array([], dtype="float64")
            return empty, empty, np.array([], dtype="int64")
        return self.coords[:, 0], self.coords[:, 1], self.line_owner[self.line]

    def vertices_in_balls(
        self, q: np.ndarray, reach: np.ndarray, pairs: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Positions (in :meth:`vertices`) of the vertices within ``reach`` (m, straight
        line) of ECEF points ``q`` (:func:`ecef`); for a geodesic distance, ``reach`` is
        its :func:`chord_within`. Every such vertex is returned once; with ``pairs``:
        (point, vertex) pairs instead, sorted, one per vertex near each point.

        Examples
        --------
        The corners of a 1.1 km square 1.1 km east of a point within 1.3 km of it:

        >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 0.01, 0.01)]))
        >>> lon, lat, _ = idx.vertices()
        >>> q = ecef(np.array([0.02]), np.array([0.005]))
        >>> near = idx.vertices_in_balls(q, chord_within(np.array([1300.0])))
        >>> sorted({(float(lon[v]), float(lat[v])) for v in near})
        [(0.01, 0.0), (0.01, 0.01)]
        """
        none = np.array([], dtype="int64")
        if self.n == 0 or len(q) == 0:
            return (none, none) if pairs else none
        found = [_ball(b, q, reach + b.hmax) for b in self.buckets]
        rows = np.concatenate([f[0] for f in found])
        chunks = np.concatenate([f[1] for f in found])
        return self.vertices_of_chunks(q, reach, rows, chunks, pairs)

    def vertices_of_chunks(
        self,
        q: np.ndarray,
        reach: np.ndarray,
        rows: np.ndarray,
        chunks: np.ndarray,
        pairs: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """:meth:`vertices_in_balls` among (point, chunk) pairs already gathered: the
        vertices of chunk ``chunks[i]`` within ``reach`` of point ``rows[i]`` (the same
        answer when the pairs hold every chunk whose sphere meets each point's ball)."""
        none = np.array([], dtype="int64")
        if not rows.size:
            return (none, none) if pairs else none
        rows, vert = self._expand(rows, chunks, ends=True)
        off = self.xyz[vert] - q[rows]
        near = rowdot(off, off) <= reach[rows] ** 2
        if not pairs:
            return np.unique(vert[near])
        key = np.unique(rows[near] * (self.xyz.shape[0] + 1) + vert[near])
        return key // (self.xyz.shape[0] + 1), key % (self.xyz.shape[0] + 1)

    def distance_to_own(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        owner: np.ndarray,
        bound: np.ndarray | None = None,
        *,
        shared: bool = False,
        segments: np.ndarray | None = None,
    ) -> np.ndarray:
        """Geodesic distance (m) from each point to the boundary of polygon ``owner`` only.

        As :meth:`nearest` measures it (the foot point on the nearest segments), over
        every segment of that polygon (meant for small ones: footprints). ``bound`` (m,
        per point): only a distance below it is wanted; a point with none gets ``inf``
        or some distance no smaller than the bound (only the chunks of segments that can
        be nearer are measured). ``shared``: only the nearest point of each owner is
        wanted (the points of one owner share its best distance as their bound; a point
        that cannot beat it may get ``inf``). ``segments`` (bool, per vertex of the index:
        the segment starting there): only those are measured (the caller knows the others
        cannot be within the bound).

        Examples
        --------
        >>> idx = BoundaryIndex(np.array([shapely.box(0, 0, 0.01, 0.01),
        ...     shapely.box(0.02, 0, 0.03, 0.01)]))
        >>> d = idx.distance_to_own(np.array([0.015, 0.015]), np.array([0.005, 0.005]),
        ...     np.array([0, 1]))
        >>> [round(float(v)) for v in d]
        [557, 557]
        >>> idx.distance_to_own(np.array([0.015]), np.array([0.005]), np.array([0]),
        ...     bound=np.array([500.0])).tolist()
        [inf]
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        owner = np.asarray(owner, dtype="int64")
        m = lon.size
        out = np.full(m, np.inf)
        if m == 0 or self.n == 0:
            return out
        # every chunk of each point's polygon (in chunk order)
        chunk_owner = self.line_owner[self.line[self.chunk_vertex]]
        order = np.argsort(chunk_owner, kind="stable")
        count = np.bincount(chunk_owner, minlength=int(owner.max()) + 1)
        first = np.r_[0, np.cumsum(count)[:-1]]
        per = count[owner]
        rows = np.repeat(np.arange(m), per)
        chunks = order[
            np.repeat(first[owner], per)
            + np.arange(per.sum())
            - np.repeat(np.cumsum(per) - per, per)
        ]
        s = ecef(lon, lat)
        reach = None if bound is None else chord_within(np.asarray(bound, dtype="float64"))
        if reach is not None:  # a chunk's segments are no nearer than its sphere
            off = s[rows] - self.chunk_centre[chunks]
            ok = np.sqrt(rowdot(off, off)) - self.chunk_radius[chunks] <= reach[rows]
            rows, chunks = rows[ok], chunks[ok]
        rows, segs = self._expand(rows, chunks)
        if segments is not None:
            ok = segments[segs]
            rows, segs = rows[ok], segs[ok]
        if rows.size == 0:
            return out
        d, t = self._seg_dist(s[rows], segs)
        if reach is not None:
            ok = d - _H_SLACK_M <= reach[rows]
            rows, segs, d, t = rows[ok], segs[ok], d[ok], t[ok]
        measured = np.full(rows.size, np.nan)
        if bound is None:  # (with one, the pairs within it are kept above: a bound of
            # their own would cost a measure per point, or per owner, and rarely cut more
            # when the bound is the best distance found, as for footprints)
            own = owner if shared else None
            upper = self._upper(lon, lat, rows, segs, d, t, m, own, measured)
            keep = d - _H_SLACK_M <= chord_within(upper)[rows]
            rows, segs, t, measured = rows[keep], segs[keep], t[keep], measured[keep]
        p = self._foot(segs, t)
        np.minimum.at(out, rows, self._measure(lon, lat, rows, p, measured, once=True))
        return out

    def group_bound(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        seg: np.ndarray,
        group: np.ndarray,
        xyz: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per point, an upper bound (m) on the nearest distance of its group's points.

        Each point is paired with segment ``seg`` (none where negative); in each group the
        point nearest its segment in chord is measured (the geodesic distance to the foot
        point, as :meth:`nearest` measures it): a distance from a point of the group to a
        boundary point. ``inf`` for a group without a segment. ``xyz``: the points' ECEF
        coordinates (:func:`ecef`), when already known.

        Examples
        --------
        >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 1.0, 1.0)]))
        >>> _, seg, _, _ = idx.nearest_segment(np.array([0.5]), np.array([2.0]))
        >>> b = idx.group_bound(np.array([0.5, 0.5]), np.array([2.0, 1.5]), seg[[0, 0]],
        ...     np.array([0, 0]))
        >>> [round(float(v)) for v in b]
        [55287, 55287]
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        group = np.asarray(group, dtype="int64")
        ok = np.flatnonzero(np.asarray(seg) >= 0)
        if not ok.size:
            return np.full(lon.size, np.inf)
        seg = np.asarray(seg, dtype="int64")[ok]
        d, t = self._seg_dist(ecef(lon[ok], lat[ok]) if xyz is None else xyz[ok], seg)
        return self._upper(lon, lat, ok, seg, d, t, lon.size, group)

    def _foot(self, segs: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Lon/lat of the points at ``t`` along segments ``segs`` (the foot points measured)."""
        p0 = self.coords[segs]
        return p0 + t[:, None] * (self.coords[segs + 1] - p0)

    def _expand(
        self, rows: np.ndarray, chunks: np.ndarray, *, ends: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(site, chunk) pairs -> (site, segment) pairs; with ``ends``, (site, vertex)
        pairs: a chunk's segments' start vertices and its last segment's end vertex."""
        counts = self.chunk_count[chunks] + int(ends)
        total = int(counts.sum())
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(rows, counts), np.repeat(self.chunk_vertex[chunks], counts) + offset

    def _seg_dist(self, s: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chord distance from ECEF points ``s`` to segments ``seg`` and the foot parameter."""
        a = self.xyz[seg]
        ab = self.xyz[seg + 1] - a
        ll = rowdot(ab, ab)
        sa = s - a
        t = np.where(ll > 0, rowdot(sa, ab) / np.where(ll > 0, ll, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        sa -= t[:, None] * ab
        return np.sqrt(rowdot(sa, sa)), t

    @staticmethod
    def _best(rows: np.ndarray, d: np.ndarray, m: int) -> np.ndarray:
        """Positions of each row's smallest ``d`` (one per row, the first of ties)."""
        if rows.size and (rows[1:] >= rows[:-1]).all():  # sorted (as usual): by runs
            start = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            with np.errstate(invalid="ignore"):  # NaN: no pick, as minimum.at gives
                low = np.minimum.reduceat(d, start)
            run = np.repeat(np.arange(start.size), np.diff(np.r_[start, rows.size]))
            at = np.flatnonzero(d == low[run])
            return at[np.r_[True, run[at][1:] != run[at][:-1]]] if at.size else at
        best = np.full(m, np.inf)
        np.minimum.at(best, rows, d)
        at = np.flatnonzero(d == best[rows])
        _, once = np.unique(rows[at], return_index=True)
        return at[once]

    def _upper(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        rows: np.ndarray,
        segs: np.ndarray,
        d: np.ndarray,
        t: np.ndarray,
        m: int,
        group: np.ndarray | None = None,
        measured: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per site, the geodesic distance (m) to the foot point of its nearest segment in chord.

        With ``group`` (of each site): one measure per group, its nearest (site, segment)
        pair in chord, given to every site of the group (a bound on the group's nearest).
        ``measured`` (NaN, one per pair): the distances measured are written in at their
        pairs, so that a later measure of the same pairs can take them.
        """
        key, size = (rows, m) if group is None else (group[rows], int(group.max()) + 1)
        first = self._best(key, d, size)
        r, j = rows[first], segs[first]
        p = self._foot(j, t[first])
        out = np.full(size, np.inf)
        g = WGS84.inv(lon[r], lat[r], p[:, 0], p[:, 1])[2]
        out[key[first]] = g
        if measured is not None:
            measured[first] = g
        return out if group is None else out[group]

    def _measure(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        rows: np.ndarray,
        p: np.ndarray,
        measured: np.ndarray,
        once: bool = False,
    ) -> np.ndarray:
        """Geodesic distance (m) from point ``rows`` to lon/lat ``p``, but where ``measured``
        (the same pairs' distances, NaN where not yet measured) already holds it. ``once``:
        equal pairs (a foot at the vertex two segments share) are measured once."""
        need = np.flatnonzero(np.isnan(measured))
        g = measured.copy()
        if once and need.size > 1:
            r, x, y = rows[need], p[need, 0], p[need, 1]
            order = np.lexsort((y, x, r))
            r, x, y = r[order], x[order], y[order]
            new = np.r_[True, (r[1:] != r[:-1]) | (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
            at = np.cumsum(new) - 1
            got = WGS84.inv(lon[r[new]], lat[r[new]], x[new], y[new])[2]
            g[need[order]] = got[at]
            return g
        g[need] = WGS84.inv(lon[rows[need]], lat[rows[need]], p[need, 0], p[need, 1])[2]
        return g

    def nearest(
        self, lon: np.ndarray, lat: np.ndarray, bound: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Geodesic distance (m) from each point to the nearest boundary.

        ``bound`` (m, per point): only a boundary within it is looked for; a point with
        none gets NaN and -1 (several points of one footprint share a bound: only the
        points that can beat it do any work).

        Returns
        -------
        distance_m, owner, near_lon, near_lat : numpy.ndarray
            The distance, the index of the polygon the nearest boundary belongs
            to (-1 when the index is empty) and the nearest boundary point.
        """
        d, seg, near_lon, near_lat = self.nearest_segment(lon, lat, bound)
        owner = np.full(seg.size, -1, dtype="int64")
        found = seg >= 0
        owner[found] = self.line_owner[self.line[seg[found]]]
        return d, owner, near_lon, near_lat

    def nearest_segment(
        self, lon: np.ndarray, lat: np.ndarray, bound: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`nearest` with the nearest segment (its start vertex; -1: none) for the owner."""
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        m = lon.size
        if m > _BLOCK:  # blocks of sites: memory bounded (_BLOCK)
            parts = [
                self.nearest_segment(
                    lon[i : i + _BLOCK],
                    lat[i : i + _BLOCK],
                    None if bound is None else np.asarray(bound)[i : i + _BLOCK],
                )
                for i in range(0, m, _BLOCK)
            ]
            return tuple(np.concatenate(part) for part in zip(*parts, strict=True))  # type: ignore[return-value]
        out_d = np.full(m, np.nan)
        out_s = np.full(m, -1, dtype="int64")
        out_lon = np.full(m, np.nan)
        out_lat = np.full(m, np.nan)
        if m == 0 or self.n == 0:
            return out_d, out_s, out_lon, out_lat
        s = ecef(lon, lat)
        # 1. an upper bound U on the geodesic distance: the distance to the foot point on
        # the segment nearest in chord in two chunks among the nearest of each class (the
        # one whose sphere is nearest, the one whose centre is); a point with a finite
        # bound starts from it instead
        upper = np.full(m, np.inf) if bound is None else np.asarray(bound, dtype="float64")
        ask = np.flatnonzero(~np.isfinite(upper))
        if ask.size:
            r, g = self._first_pairs(s, ask)
            d, t = self._seg_dist(s[r], g)
            upper = upper.copy()
            upper[ask] = self._upper(lon, lat, r, g, d, t, m)[ask]
        # 2. every chunk that can hold a point within U: its centre is within the longest
        # chord of a geodesic of length U (chord_within) plus its radius (the class's
        # largest radius bounds the search, each chunk's own keeps it)
        reach = chord_within(upper)
        rows_all, segs_all = [], []
        for b in self.buckets:
            r, ch, dist = _ball(b, s, reach + b.hmax)
            ok = dist <= reach[r] + self.chunk_radius[ch]
            rows_all.append(r[ok])
            segs_all.append(ch[ok])
        rows, segs = self._expand(np.concatenate(rows_all), np.concatenate(segs_all))
        return self._closest(lon, lat, s, rows, segs, upper)

    def _first_pairs(self, s: np.ndarray, ask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, segment) pairs of the first bound of :meth:`nearest_segment`: the
        segments of two chunks among the nearest of each class for ECEF points ``s[ask]``
        (the one whose sphere is nearest, the one whose centre is)."""
        lbs, chunks = [], []
        for b in self.buckets:
            dd, ii = _knn(b, s[ask], 0, min(_K_FIRST, b.n))
            ch = b.seg[ii.astype("int64")]
            lbs.append(dd - self.chunk_radius[ch])
            chunks.append(ch)
            lbs.append(dd)  # the nearest centres, ranked apart
            chunks.append(ch)
        lb = np.concatenate(lbs[0::2], axis=1)
        dd = np.concatenate(lbs[1::2], axis=1)
        ch = np.concatenate(chunks[0::2], axis=1)
        at = np.arange(ask.size)
        pick = np.unique(
            np.r_[at * ch.shape[1] + lb.argmin(axis=1), at * ch.shape[1] + dd.argmin(axis=1)]
        )
        return self._expand(ask[pick // ch.shape[1]], ch.ravel()[pick])

    def chord_nearest(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A near segment of each point, cheaply: among the segments of the first bound of
        :meth:`nearest_segment` (no search), the one nearest in chord (its start vertex;
        -1 when the index is empty), and the ECEF foot point on it (NaN for none).

        Examples
        --------
        >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 1.0, 1.0)]))
        >>> seg, foot = idx.chord_nearest(np.array([0.5]), np.array([2.0]))
        >>> lon, lat, _ = idx.vertices()
        >>> float(lat[seg[0]]), float(lat[seg[0] + 1])
        (1.0, 1.0)
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        m = lon.size
        seg = np.full(m, -1, dtype="int64")
        foot = np.full((m, 3), np.nan)
        if m == 0 or self.n == 0:
            return seg, foot
        s = ecef(lon, lat)
        r, g = self._first_pairs(s, np.arange(m))
        d, t = self._seg_dist(s[r], g)
        best = self._best(r, d, m)
        r, g, t = r[best], g[best], t[best]
        seg[r] = g
        a = self.xyz[g]
        foot[r] = a + t[:, None] * (self.xyz[g + 1] - a)
        return seg, foot

    def _closest(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        segs: np.ndarray,
        upper: np.ndarray,
        group: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Steps 3 and 4 of :meth:`nearest_segment`: the nearest of the candidate
        (point, segment) pairs, each point's ``upper`` (m) bounding its distance
        (with ``group``: only each group's nearest is wanted, see :meth:`_upper`)."""
        m = lon.size
        out_d = np.full(m, np.nan)
        out_s = np.full(m, -1, dtype="int64")
        out_lon = np.full(m, np.nan)
        out_lat = np.full(m, np.nan)
        d, t = self._seg_dist(s[rows], segs)
        # 3. shortlist: a segment whose foot point can be no nearer than the best foot
        # found so far (its chord, less the edge's departure from it, beyond chord_within)
        measured = np.full(rows.size, np.nan)
        upper = np.minimum(upper, self._upper(lon, lat, rows, segs, d, t, m, group, measured))
        keep = d - _H_SLACK_M <= chord_within(upper)[rows]
        rows, segs, t = rows[keep], segs[keep], t[keep]
        # 4. exact geodesic distance to the foot point, on the lon/lat segment (the pairs
        # measured for the bound are not measured again)
        p = self._foot(segs, t)
        g = self._measure(lon, lat, rows, p, measured[keep])
        # ties (a vertex shared by two polygons) go to the first polygon in layer order
        order = np.lexsort((segs, g, rows))
        rows, segs, g, p = rows[order], segs[order], g[order], p[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        r = rows[first]
        out_d[r] = g[first]
        out_s[r] = segs[first]
        out_lon[r] = p[first, 0]
        out_lat[r] = p[first, 1]
        return out_d, out_s, out_lon, out_lat

    def nearest_in_groups(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        group: np.ndarray,
        bound: np.ndarray,
        toward: np.ndarray | None = None,
        *,
        gathered: bool = False,
        xyz: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        """:meth:`nearest` with a bound per group of nearby points (a footprint's vertices).

        ``group`` (sorted, ``0 .. len(bound) - 1``): each point's group; ``bound`` (m, per
        group, finite): only a boundary within it is looked for, and only each group's
        nearest (NaN and -1 for a point with none, or that cannot beat the nearest of
        its group). The chunks are gathered once per group, in the ball holding its
        points grown by the longest chord of the bound, then each point keeps those whose
        sphere is within that chord of it: a far group costs one query, not one a point.
        ``toward`` (per group, ECEF unit vectors, e.g. towards a boundary point found for
        one of its points; zero for none): a point ``v`` of the group is at least
        ``min(y . u) - v . u`` from the boundary points ``y`` gathered for its group, so
        only the points that can be within the bound that way are measured (those at the
        back of a footprint far from every area are not).
        ``gathered``: also return the chunks gathered, as (group, chunk) pairs, with each
        group's ball (ECEF centre and radius): they hold every chunk whose sphere meets
        that ball (for :meth:`vertices_of_chunks`). ``xyz``: the points' ECEF coordinates
        (:func:`ecef`), when already known.

        Examples
        --------
        >>> idx = BoundaryIndex(np.array([shapely.box(0.0, 0.0, 1.0, 1.0)]))
        >>> d, owner = idx.nearest_in_groups(np.array([0.5, 0.5]), np.array([1.1, 1.2]),
        ...     np.array([0, 0]), np.array([12_000.0]))
        >>> d.round().tolist(), owner.tolist()
        ([11057.0, nan], [0, -1])
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        group = np.asarray(group, dtype="int64")
        m, ng = lon.size, len(bound)
        if m == 0 or self.n == 0:
            none = np.array([], dtype="int64")
            out = np.full(m, np.nan), np.full(m, -1, dtype="int64")
            return (*out, none, none, np.zeros((ng, 3)), np.full(ng, -np.inf)) if gathered else out
        s = ecef(lon, lat) if xyz is None else xyz
        count = np.bincount(group, minlength=ng)
        start = np.r_[0, np.cumsum(count)[:-1]]
        centre = np.zeros((ng, 3))
        np.add.at(centre, group, s)
        centre /= np.maximum(count, 1)[:, None]
        off = s - centre[group]
        spread = np.zeros(ng)
        np.maximum.at(spread, group, np.sqrt(rowdot(off, off)))
        reach = chord_within(np.asarray(bound, dtype="float64"))
        # the ball gathered: a few metres wider when asked to hold a search within the
        # bound from about the same centre afterwards (the points filter by their reach)
        cover = reach + spread + (_GATHER_PAD_M if gathered else 0.0)
        found = [_ball(b, centre, cover + b.hmax) for b in self.buckets]
        grp = np.concatenate([f[0] for f in found])
        ch = np.concatenate([f[1] for f in found])
        dist = np.concatenate([f[2] for f in found])
        ok = dist - self.chunk_radius[ch] <= cover[grp]
        grp, ch = grp[ok], ch[ok]
        extra = (grp, ch, centre, cover) if gathered else ()
        alive = np.ones(m, dtype=bool)
        if toward is not None and grp.size:
            # the lowest boundary point gathered for each group along its direction (the
            # chunks' vertices; an edge departs from its chord by under _H_SLACK_M)
            # (only the chunks whose sphere reaches below every other chunk's top can hold
            # the lowest vertex: the others are not expanded)
            u = np.asarray(toward, dtype="float64")
            mid = rowdot(self.chunk_centre[ch], u[grp])
            top = np.full(ng, np.inf)
            np.minimum.at(top, grp, mid + self.chunk_radius[ch])
            low_ch = mid - self.chunk_radius[ch] <= top[grp]
            g, vert = self._expand(grp[low_ch], ch[low_ch], ends=True)
            low = np.full(ng, np.inf)
            np.minimum.at(low, g, rowdot(self.xyz[vert], u[g]))
            ahead = low[group] - rowdot(s, u[group]) - _H_SLACK_M
            alive = ahead <= reach[group]
        rows_all, chunks_all = [], []
        if grp.size:
            # each living point of the group against each chunk's sphere
            live = np.flatnonzero(alive)  # sorted by group, as the points are
            count = np.bincount(group[live], minlength=ng)
            start = np.r_[0, np.cumsum(count)[:-1]]
            per = count[grp]
            rows = live[
                np.repeat(start[grp], per)
                + np.arange(per.sum())
                - np.repeat(np.cumsum(per) - per, per)
            ]
            ch = np.repeat(ch, per)
            off = s[rows] - self.chunk_centre[ch]
            ok = np.sqrt(rowdot(off, off)) - self.chunk_radius[ch] <= reach[group[rows]]
            rows_all.append(rows[ok])
            chunks_all.append(ch[ok])
        owner = np.full(m, -1, dtype="int64")
        if not rows_all or not rows_all[0].size:
            return (np.full(m, np.nan), owner, *extra)
        rows = np.concatenate(rows_all)
        order = np.argsort(rows, kind="stable")
        rows, segs = self._expand(rows[order], np.concatenate(chunks_all)[order])
        d, seg, _, _ = self._closest(lon, lat, s, rows, segs, np.asarray(bound)[group], group)
        found = seg >= 0
        owner[found] = self.line_owner[self.line[seg[found]]]
        return (d, owner, *extra)


def widen_boxes(bounds: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Lon/lat boxes holding every point within geodesic ``dist`` (m) of ``bounds``.

    Along any path ``ds >= M dphi`` with the meridional radius ``M >= 110.57 km``
    a degree, and ``ds >= N cos(phi) dlambda >= a cos(phi) dlambda`` (111.32 km a
    degree times the cosine of the highest latitude reached); rounded down to
    110 km for both. A box reaching a pole takes every longitude. Boxes may run
    past +-180 degrees.
    """
    pad_lat = dist / 110_000.0
    top = np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])) + pad_lat
    cos = np.cos(np.radians(np.minimum(top, 90.0)))
    polar = (top >= 89.999) | (cos * 360.0 * 110_000.0 <= dist)
    pad_lon = np.where(polar, 0.0, pad_lat / np.where(polar, 1.0, cos))
    out = np.c_[
        bounds[:, 0] - pad_lon,
        np.maximum(bounds[:, 1] - pad_lat, -90.0),
        bounds[:, 2] + pad_lon,
        np.minimum(bounds[:, 3] + pad_lat, 90.0),
    ]
    out[polar, 0] = -180.0
    out[polar, 2] = 180.0
    return out


def box_hits(tree: shapely.STRtree, boxes: np.ndarray) -> np.ndarray:
    """Positions in ``tree`` of the geometries whose envelopes meet any box (wrapped)."""
    hit = [tree.query(shapely.box(*boxes.T))[1]]
    for shift, past in ((360.0, boxes[:, 0] < -180.0), (-360.0, boxes[:, 2] > 180.0)):
        if past.any():
            moved = boxes[past] + np.array([shift, 0.0, shift, 0.0])
            hit.append(tree.query(shapely.box(*moved.T))[1])
    return np.unique(np.concatenate(hit))


def _near_envelopes(
    tree: shapely.STRtree, lon: np.ndarray, lat: np.ndarray, upto: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, polygon) pairs: for each point, the polygons whose envelopes meet the
    smallest of the boxes around it (half-sides 0.05, 0.2, 0.8, ... degrees) that meets
    any (``tree`` not empty): the nearest envelopes in the larger of the longitude and
    latitude differences are among them; and that box's half-side for each point.
    ``upto`` (per point): no box wider than that half-side (a point without hits then
    has none, and NaN).

    Envelopes only: the exact nearest polygon (``STRtree.query_nearest``) measured the
    boundaries of every polygon whose envelope was nearer than the best so far: 36 ms a
    call for 420 points 1,500 km from Peru's 353 national areas (336 k vertices).
    """
    rows, hits = [], []
    used = np.full(lon.size, np.nan)
    todo = np.arange(lon.size)
    half = 0.05
    while todo.size and half < 1000.0:  # (a NaN point meets no box)
        if upto is not None:
            todo = todo[upto[todo] >= half]
        x, y = lon[todo], lat[todo]
        q, p = tree.query(shapely.box(x - half, y - half, x + half, y + half))
        rows.append(todo[q])
        hits.append(p)
        done = np.unique(q)
        used[todo[done]] = half
        todo = np.delete(todo, done)
        half *= 4.0  # at 204.8 degrees every envelope meets every box
    return np.concatenate(rows), np.concatenate(hits), used


def _lpath_bound(lon: np.ndarray, lat: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Upper bound (m) on the geodesic distance from a point to every point of a box.

    The path along the point's parallel, then along a meridian, is no shorter
    than the geodesic: ``N cos(phi) dlambda + M dphi`` with ``N, M <= 6399.6 km``
    (111.70 km a degree).
    """
    dlon = np.maximum(np.abs(lon - box[:, 0]), np.abs(lon - box[:, 2]))
    dlat = np.maximum(np.abs(lat - box[:, 1]), np.abs(lat - box[:, 3]))
    return 111_700.0 * (np.cos(np.radians(lat)) * dlon + dlat) + 1.0


class Envelopes:
    """An STRtree of polygons and their vertex counts, for :func:`relevant_polygons`.

    Attributes: ``tree`` (an STRtree of the polygons, empty and missing ones left out;
    its queries without a predicate meet envelopes, its positions are the polygons'),
    ``nv`` (vertex counts), ``known`` (which polygons a reader's
    :class:`asm_pace._vector.ValidMark` holds; all False without one).

    Examples
    --------
    >>> e = Envelopes(np.array([shapely.box(0, 0, 1, 1), None, shapely.box(5, 5, 6, 6)]))
    >>> len(e.tree), e.hits(np.array([[4.0, 4.0, 5.5, 5.5]])).tolist()
    (2, [2])
    """

    def __init__(self, polygons: np.ndarray, known: np.ndarray | None = None) -> None:
        geoms = np.asarray(polygons, dtype=object)
        self.nv = shapely.get_num_coordinates(geoms)
        self.tree = shapely.STRtree(geoms)  # no box objects: it keeps the envelopes
        self.known = np.zeros(len(geoms), dtype=bool) if known is None else known
        self._held: np.ndarray | None = None  # the objects it was built from (layer_envelopes)
        self._ids: np.ndarray | None = None

    def meeting(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(input, polygon) position pairs whose envelopes meet, sorted by input."""
        return self.tree.query(np.asarray(geoms, dtype=object))

    def hits(self, boxes: np.ndarray) -> np.ndarray:
        """Sorted positions of the polygons whose envelopes meet any lon/lat box (wrapped)."""
        return box_hits(self.tree, boxes)


#: ``ValidMark.cache`` key of a layer's :class:`Envelopes` (the last two layers seen)
_ENVELOPES = "envelopes"


def layer_envelopes(layer: object) -> Envelopes:
    """The :class:`Envelopes` of a layer's geometries, built once per reader's layer.

    A layer a reader marked (:class:`asm_pace._vector.ValidMark`, shared by its copies)
    keeps the envelopes it was given last: a later call with the same geometry objects
    in the same order (the same layer, or a copy) reuses them; a filtered or reordered
    layer holds another list and gets its own (the last two are kept). Only lists of the
    mark's own objects are kept (they cost no memory): an edited or reprojected layer, or
    a layer without the mark, gets new envelopes each call.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from asm_pace._vector import mark_valid
    >>> pas = mark_valid(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326))
    >>> layer_envelopes(pas) is layer_envelopes(pas.copy())
    True
    >>> pas.loc[0, "geometry"] = shapely.box(0, 0, 2, 2)  # an edited row: new envelopes
    >>> shapely.bounds(layer_envelopes(pas).tree.geometries).tolist()
    [[0.0, 0.0, 2.0, 2.0]]
    """
    geoms = np.asarray(layer.geometry.values, dtype=object)  # type: ignore[attr-defined]
    mark = (getattr(layer, "attrs", None) or {}).get(VALID_KEY)
    if not isinstance(mark, ValidMark):
        return Envelopes(geoms)
    ids = _ids(geoms)
    kept = mark.cache.get(_ENVELOPES, [])
    for entry in kept:
        if entry._ids is not None and np.array_equal(entry._ids, ids):
            return entry
    known = mark.covers(geoms)
    entry = Envelopes(geoms, known=known)
    if known.all():  # the mark's own objects: keeping them costs no memory
        # held (a copy: the layer's own array can be edited in place), so that no id of
        # the list is reused while it is kept
        entry._held, entry._ids = geoms.copy(), ids
        mark.cache[_ENVELOPES] = [entry, *kept][:2]
    return entry


def relevant_polygons(
    polygons: np.ndarray,
    bounds: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    cell_deg: float = 0.5,
    max_share: float = 0.5,
    exact: bool = True,
    envelopes: Envelopes | None = None,
) -> np.ndarray | None:
    """Positions of the polygons that can hold the nearest boundary of some query.

    Each query is a lon/lat box ``bounds`` (``xmin, ymin, xmax, ymax``; a point
    has a zero-size box) containing the point ``lon, lat``; its nearest boundary
    is at most as far as that point's. The method:

    1. queries are grouped by ``cell_deg`` grid cell of their point. For one
       point per cell, the polygons whose envelopes are near in degrees (also
       across +-180 for points within 30 degrees of it) are found with an
       STRtree of the polygons (:func:`_near_envelopes`); any polygon gives an
       upper bound ``U`` on the distance to the nearest boundary: first the
       distance to the farthest point of its envelope (:func:`_lpath_bound`, the
       least among those found), and when that keeps too much, the exact
       geodesic distance to the boundaries of the nearest envelopes
       (:class:`BoundaryIndex` of those few polygons);
    2. by the triangle inequality every query point's bound is its cell's bound
       plus its distance to the cell's point (again bounded by a parallel and a
       meridian path);
    3. a polygon can hold the nearest boundary of a query only if its envelope
       meets the query's box widened by that bound (:func:`widen_boxes`, across
       +-180 too); the boxes of one cell are merged into one.

    Returns the sorted positions, or None when they would hold more than
    ``max_share`` of all the vertices (then the restriction does not pay, and
    an index of every polygon is cheaper), unless the exact bound was already
    paid for: then None only when they hold every vertex. With ``exact=False``
    only envelopes are used (the farthest-envelope bound, never refined): a
    superset, valid for any polygons that lie within their envelopes and are
    not empty.
    ``envelopes``: the polygons' :class:`Envelopes` when already built (those of the
    polygons before a repair will do: a repaired polygon lies within its envelope).

    Examples
    --------
    A site 0.4 degrees from the first box and 0.6 from the second: only the
    first can hold its nearest boundary.

    >>> polys = np.array([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1),
    ...     shapely.box(50, 0, 51, 1)])
    >>> relevant_polygons(polys, np.array([[1.4, 0.5, 1.4, 0.5]]), np.array([1.4]),
    ...     np.array([0.5]), max_share=1.0).tolist()
    [0]
    """
    geoms = np.asarray(polygons, dtype=object)
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    bounds = np.asarray(bounds, dtype="float64")
    if lon.size == 0:
        return None
    envelopes = Envelopes(geoms) if envelopes is None else envelopes
    nv, tree = envelopes.nv, envelopes.tree
    if len(tree) == 0:
        return None
    total = float(nv.sum())
    limit = max_share * total
    # 1. one point per grid cell, and the polygons with the nearest envelopes
    ix = np.floor(lon / cell_deg).astype("int64")
    iy = np.floor(lat / cell_deg).astype("int64")
    _, rep, which = np.unique(ix * 1_000_000 + iy, return_index=True, return_inverse=True)
    which = which.ravel()
    rx, ry = lon[rep], lat[rep]
    q, near, half = _near_envelopes(tree, rx, ry)
    qx = rx[q]
    # near +-180 the nearest envelope in degrees may be across the line (looked for as
    # far as on this side: any polygon gives a bound, the nearest a good one)
    wrap = np.flatnonzero(np.abs(rx) > 150.0)
    if wrap.size:
        moved = rx[wrap] - np.sign(rx[wrap]) * 360.0
        q2, near2, _ = _near_envelopes(tree, moved, ry[wrap], upto=half[wrap])
        q, near, qx = np.r_[q, wrap[q2]], np.r_[near, near2], np.r_[qx, moved[q2]]
    met, at = np.unique(near, return_inverse=True)  # (the cells' boxes share many)
    eb = shapely.bounds(geoms[met])[at.ravel()]
    bound = _lpath_bound(qx, ry[q], eb)
    loose = np.full(rep.size, np.inf)
    np.minimum.at(loose, q, bound)
    if not exact:  # the polygons giving each cell's bound
        near = near[bound == loose[q]]
    else:  # the nearest envelopes in degrees: their boundaries are near, for step 3
        gap = np.hypot(
            np.maximum(np.maximum(eb[:, 0] - qx, qx - eb[:, 2]), 0.0),
            np.maximum(np.maximum(eb[:, 1] - ry[q], ry[q] - eb[:, 3]), 0.0),
        )
        low = np.full(rep.size, np.inf)
        np.minimum.at(low, q, gap)
        near = near[gap == low[q]]
    # 2. every query's bound: its cell's, plus the hop to the cell's point
    hop = 111_700.0 * (np.cos(np.radians(lat)) * np.abs(lon - rx[which]) + np.abs(lat - ry[which]))
    ncell = rep.size
    cell_box = np.empty((ncell, 4))
    for col, ufunc in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        cell_box[:, col] = bounds[rep, col]
        ufunc.at(cell_box[:, col], which, bounds[:, col])
    cell_hop = np.zeros(ncell)
    np.maximum.at(cell_hop, which, hop)

    def kept(u_rep: np.ndarray) -> np.ndarray:
        upper = (u_rep + cell_hop) * (1.0 + 1e-9) + 1.0
        return np.union1d(box_hits(tree, widen_boxes(cell_box, upper)), cand)

    # 3. first with the loose bound; refine with exact distances when it keeps much
    cand = np.unique(near)
    keep = kept(loose)
    if nv[keep].sum() <= 0.1 * total or not exact:
        return None if nv[keep].sum() > limit else keep
    if nv[cand].sum() > 0.5 * limit:
        return None if nv[keep].sum() > limit else keep
    exact, _, _, _ = BoundaryIndex(geoms, subset=cand).nearest(rx, ry)
    keep = kept(np.fmin(exact, loose))
    # the refinement paid for: any fewer vertices than all are cheaper to index
    return None if nv[keep].sum() >= total else keep


def layer_box(layer: object, what: str) -> tuple[float, float, float, float] | None:
    """The lon/lat box a layer was read for (``attrs["bbox"]``), or None for the whole file.

    :func:`asm_pace.read_protected_areas` (``bbox=``) sets it: every feature
    meeting the box is in the layer, so a feature missing from it lies wholly
    outside the box.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pas = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> layer_box(pas, "protected areas") is None
    True
    >>> pas.attrs["bbox"] = (-1, -1, 2, 2)
    >>> layer_box(pas, "protected areas")
    (-1.0, -1.0, 2.0, 2.0)
    """
    attrs = getattr(layer, "attrs", None) or {}
    box = attrs.get("bbox")
    if box is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in box)
    except (TypeError, ValueError):
        minx = miny = maxx = maxy = float("nan")
    if not (-180.0 <= minx < maxx <= 180.0 and -90.0 <= miny < maxy <= 90.0):
        raise InputError(
            f"{attrs.get('source', 'the ' + what + ' layer')}: attrs['bbox'] is {box!r}, not "
            "(min_lon, min_lat, max_lon, max_lat) in degrees; it must be the box the layer "
            "was read for (read_protected_areas(bbox=...) sets it): fix it or delete it"
        )
    return minx, miny, maxx, maxy


def box_text(box: tuple[float, float, float, float]) -> str:
    """A box for messages: ``(min_lon, min_lat, max_lon, max_lat)`` without float noise.

    Examples
    --------
    >>> box_text((-70.5, -13.0, -68.25, 0.1 + 0.2))
    '(-70.5, -13, -68.25, 0.3)'
    """
    return "(" + ", ".join(f"{v:g}" for v in box) + ")"


def box_edge_distance(
    lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Geodesic distance (m) from points inside a lon/lat box to the outside; 0 for others.

    A feature missing from a layer read for ``box`` lies wholly outside it, so
    it is at least this far from the point. Parallels (edges at ``miny`` and
    ``maxy``, unless at a pole) are at the meridian arc between the latitudes
    (every path between two latitudes is at least that long, and the meridian
    is that long); meridian edges (``minx``, ``maxx``, unless the box goes all
    the way round) are measured with :class:`BoundaryIndex` (a boundary point's
    geodesic distance, within a metre of the minimum).

    Examples
    --------
    >>> d = box_edge_distance(np.array([0.5, 5.0]), np.array([0.0, 0.0]), (-1, -1, 1, 1))
    >>> round(float(d[0])), float(d[1])
    (55660, 0.0)
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    minx, miny, maxx, maxy = box
    d = np.full(lon.shape, np.inf)
    arc = _meridian_arc(np.radians(lat))
    if miny > -90.0:
        d = np.minimum(d, arc - _meridian_arc(np.radians(miny)))
    if maxy < 90.0:
        d = np.minimum(d, _meridian_arc(np.radians(maxy)) - arc)
    if (minx > -180.0 or maxx < 180.0) and lon.size:
        edges = BoundaryIndex(np.array([shapely.box(minx, miny, maxx, maxy)]))
        d = np.minimum(d, edges.nearest(lon, lat)[0])
    inside = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    return np.where(inside, np.maximum(d, 0.0), 0.0)
