"""Downstream exposure: which protected areas receive what a site releases into its river.

Mercury from artisanal gold mining travels down rivers on suspended sediment. For every
site, :func:`downstream` finds the nearest river reach (geodesic, within ``snap_km``),
follows the network's next-reach pointers (``NEXT_DOWN``) to the outlet or to ``max_km`` of
river length, and reports the protected areas (and Key Biodiversity Areas) the path enters,
with the river-km to each and a dilution proxy (average discharge at the site's reach over
discharge where the path enters the area). The method and its limits: ``docs/downstream.md``.

All sites walk together, one reach per numpy step (the walk is as long as the longest path
in reaches, not the number of sites); reaches are intersected with the areas once (an
STRtree of the reaches); cycles are found beforehand by pointer jumping, so no walk loops.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._nearest import box_text, layer_box, widen_boxes
from ._vector import to_wgs84
from .errors import ExtentWarning, InputError
from .geodesy import WGS84
from .rivers import RIVER_COLUMNS, line_lengths_km, read_rivers

__all__ = [
    "downstream",
    "DownstreamResult",
    "DOWNSTREAM_STATUSES",
    "STATUS_OUTLET",
    "STATUS_ENDORHEIC",
    "STATUS_MAX_KM",
    "STATUS_TRUNCATED",
    "STATUS_CYCLE",
    "no_river_status",
    "SITE_COLUMNS",
]

#: The path reached an outlet (NEXT_DOWN 0) that is not an endorheic sink.
STATUS_OUTLET = "outlet"
#: The path ended in an endorheic sink (NEXT_DOWN 0 on a reach with ENDORHEIC 1).
STATUS_ENDORHEIC = "endorheic sink"
#: The path was cut at ``max_km`` of river length.
STATUS_MAX_KM = "max_km reached"
#: The next reach is not in the file: the network was cut by its extent.
STATUS_TRUNCATED = "truncated network"
#: The path came back to a reach it had already followed (a looped network).
STATUS_CYCLE = "cycle detected"


def no_river_status(snap_km: float) -> str:
    """The status of a site with no reach within ``snap_km``.

    Examples
    --------
    >>> no_river_status(5)
    'no river within 5 km'
    """
    return f"no river within {snap_km:g} km"


#: Every status but :func:`no_river_status`, which names the distance.
DOWNSTREAM_STATUSES = (
    STATUS_OUTLET,
    STATUS_ENDORHEIC,
    STATUS_MAX_KM,
    STATUS_TRUNCATED,
    STATUS_CYCLE,
)

#: The columns :func:`downstream` adds to the sites (``kbas=`` adds the ``_kba`` ones).
SITE_COLUMNS = (
    "downstream_reach_id",
    "downstream_snap_km",
    "downstream_status",
    "downstream_km",
    "downstream_discharge_cms",
    "downstream_first_pa_id",
    "downstream_first_pa_name",
    "downstream_first_pa_km",
    "downstream_first_pa_dilution",
    "downstream_pas",
)
_KBA_COLUMNS = (
    "downstream_first_kba_id",
    "downstream_first_kba_name",
    "downstream_first_kba_km",
    "downstream_first_kba_dilution",
    "downstream_kbas",
)

# status codes inside the walk
_RUNNING, _OUTLET, _ENDO, _MAX, _TRUNC, _CYCLE, _NONE = range(7)
_STATUS_TEXT = {
    _OUTLET: STATUS_OUTLET,
    _ENDO: STATUS_ENDORHEIC,
    _MAX: STATUS_MAX_KM,
    _TRUNC: STATUS_TRUNCATED,
    _CYCLE: STATUS_CYCLE,
}


@dataclass
class DownstreamResult:
    """What :func:`downstream` returns.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The sites (same index and order) with :data:`SITE_COLUMNS` added.
    paths : geopandas.GeoDataFrame
        One row per site on a river (the ``downstream`` layer): ``site_id``,
        ``reach_id``, ``downstream_status``, ``river_km`` (river length followed, from
        the reaches' lengths), ``geodesic_km`` (the geodesic length of the line drawn) and
        the path as a LineString from the snap point downstream.
    areas : pandas.DataFrame
        One row per site and area reached: ``site_id``, ``area`` (``protected_area`` or
        ``kba``), ``area_id``, ``area_name``, ``river_km`` (from the snap point to where
        the path first enters the area), ``entry_reach_id`` and ``dilution`` (discharge
        at the site's reach over discharge at the entry reach; NaN when unknown).
    """

    sites: gpd.GeoDataFrame
    paths: gpd.GeoDataFrame
    areas: pd.DataFrame


# --------------------------------------------------------------------------- the network
@dataclass
class _Network:
    geoms: np.ndarray  # oriented downstream, lon/lat
    ids: np.ndarray
    nxt: np.ndarray  # index of the next reach; -1 outlet, -2 missing (truncated)
    length: np.ndarray  # km
    discharge: np.ndarray
    endorheic: np.ndarray
    cyclic: np.ndarray  # bool: the walk from this reach never ends (it reaches a cycle)
    marked: np.ndarray  # bool: the reach is on a cycle


def _next_index(ids: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
    """Index of each reach's next reach; -1 at an outlet (0), -2 for an id not in ``ids``.

    Examples
    --------
    >>> _next_index(np.array([5, 7, 9]), np.array([7, 0, 4])).tolist()
    [1, -1, -2]
    """
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], next_ids)
    pos_c = np.minimum(pos, len(ids) - 1)
    found = (pos < len(ids)) & (ids[order][pos_c] == next_ids)
    return np.where(found, order[pos_c], np.where(next_ids == 0, -1, -2))


def _cycles(nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which reaches lead into a cycle, and which reaches are on a cycle.

    Pointer jumping: with a sink node for every end (outlet or missing next), ``p = p[p]``
    repeated ``ceil(log2(n)) + 1`` times takes every reach ``2**k >= n`` steps down; a
    reach whose walk ends is then at the sink, any other has reached its cycle: the reaches
    landed on are on cycles, and so is every reach met going round from them. A walk
    entering a cycle stops when its next reach is the first cycle reach it met: the first
    reach it would follow twice.

    Examples
    --------
    >>> cyc, mark = _cycles(np.array([1, 2, 1, -1]))  # 0 -> 1 -> 2 -> 1 ..., 3 an outlet
    >>> cyc.tolist(), mark.tolist()
    ([True, True, True, False], [False, True, True, False])
    """
    n = len(nxt)
    p = np.where(nxt >= 0, nxt, n).astype("int64")
    p = np.r_[p, n]
    for _ in range(max(1, math.ceil(math.log2(max(n, 2)))) + 1):
        p = p[p]
    cyclic = p[:n] != n
    marked = np.zeros(n, dtype=bool)
    front = np.unique(p[:n][cyclic])
    while front.size:  # every reach of every cycle: go round from the ones landed on
        marked[front] = True
        front = np.unique(nxt[front])
        front = front[~marked[front]]
    return cyclic, marked


def _orient(geoms: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """The reaches drawn from upstream to downstream.

    A reach's downstream end is the end nearer its next reach; at an outlet (or a missing
    next reach), the end farther from a reach flowing into it; a reach with neither keeps
    its drawing order (HydroRIVERS draws reaches downstream).
    """
    n = len(geoms)
    merged = geoms.copy()
    multi = shapely.get_type_id(geoms) == 5
    if multi.any():
        merged[multi] = shapely.line_merge(geoms[multi])
    single = shapely.get_type_id(merged) == 1
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    first[single] = shapely.get_point(merged[single], 0)
    last[single] = shapely.get_point(merged[single], -1)
    rows = np.flatnonzero(~single)  # still several parts: the ends of the whole
    if rows.size:
        coords, idx = shapely.get_coordinates(merged[rows], return_index=True)
        starts = np.searchsorted(idx, np.arange(rows.size))
        ends = np.r_[starts[1:], len(idx)] - 1
        first[rows] = shapely.points(coords[starts])
        last[rows] = shapely.points(coords[ends])
    flip = np.zeros(n, dtype=bool)
    down = np.flatnonzero(nxt >= 0)
    if down.size:
        other = geoms[nxt[down]]
        flip[down] = shapely.distance(first[down], other) < shapely.distance(last[down], other)
    up = np.full(n, -1, dtype="int64")
    up[nxt[down]] = down
    ends = np.flatnonzero((nxt < 0) & (up >= 0))
    if ends.size:
        other = geoms[up[ends]]
        flip[ends] = shapely.distance(last[ends], other) < shapely.distance(first[ends], other)
    out = merged.copy()
    if flip.any():
        out[flip] = shapely.reverse(merged[flip])
    return out


def _network(rivers: gpd.GeoDataFrame) -> _Network:
    ids = rivers["reach_id"].to_numpy(dtype="int64")
    nxt = _next_index(ids, rivers["next_id"].to_numpy(dtype="int64"))
    geoms = _orient(np.asarray(rivers.geometry.values, dtype=object), nxt)
    cyclic, marked = _cycles(nxt)
    return _Network(
        geoms=geoms,
        ids=ids,
        nxt=nxt,
        length=rivers["length_km"].to_numpy(dtype="float64"),
        discharge=rivers["discharge_cms"].to_numpy(dtype="float64"),
        endorheic=rivers["endorheic"].to_numpy(dtype=bool),
        cyclic=cyclic,
        marked=marked,
    )


# --------------------------------------------------------------------------- along a reach
class _Along:
    """Planar (lon/lat, as shapely measures) and geodesic positions along some reaches."""

    def __init__(self, geoms: np.ndarray, reaches: np.ndarray) -> None:
        self.reaches = np.unique(reaches)
        parts, owner = shapely.get_parts(geoms[self.reaches], return_index=True)
        coords, line = shapely.get_coordinates(parts, return_index=True)
        line_owner = owner[line]
        same = np.r_[False, line[1:] == line[:-1]]  # the segment ending at this vertex
        d = np.zeros(len(coords))
        g = np.zeros(len(coords))
        if same.any():
            a, b = coords[:-1][same[1:]], coords[1:][same[1:]]
            d[same] = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
            g[same] = WGS84.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
        self.cum_d = np.cumsum(d)
        self.cum_g = np.cumsum(g)
        self.seg_d, self.seg_g = d, g
        self.start = np.searchsorted(line_owner, np.arange(self.reaches.size))
        self.stop = np.r_[self.start[1:], len(coords)] - 1
        if not len(coords):  # no reach
            self.total_d = self.total_g = np.zeros(0)
            return
        self.total_d = self.cum_d[self.stop] - self.cum_d[self.start]
        self.total_g = self.cum_g[self.stop] - self.cum_g[self.start]

    def _map(self, reach: np.ndarray, frac: np.ndarray, geodesic_in: bool) -> np.ndarray:
        if not np.size(reach):
            return np.zeros(0)
        k = np.searchsorted(self.reaches, reach)
        src, dst = (self.cum_g, self.cum_d) if geodesic_in else (self.cum_d, self.cum_g)
        seg = self.seg_g if geodesic_in else self.seg_d
        total_src = (self.total_g if geodesic_in else self.total_d)[k]
        total_dst = (self.total_d if geodesic_in else self.total_g)[k]
        target = src[self.start[k]] + np.clip(frac, 0.0, 1.0) * total_src
        v = np.searchsorted(src, target, side="left")
        v = np.clip(v, self.start[k] + 1, np.maximum(self.stop[k], self.start[k] + 1))
        v = np.minimum(v, len(src) - 1)
        seglen = np.where(seg[v] > 0, seg[v], 1.0)
        t = np.clip((target - src[v - 1]) / seglen, 0.0, 1.0)
        other = self.seg_d if geodesic_in else self.seg_g
        pos = dst[v - 1] + t * other[v] - dst[self.start[k]]
        out = np.where(total_dst > 0, pos / np.where(total_dst > 0, total_dst, 1.0), 0.0)
        return np.clip(out, 0.0, 1.0)

    def geodesic(self, reach: np.ndarray, planar: np.ndarray) -> np.ndarray:
        """Geodesic share of the reach upstream of a point at planar share ``planar``."""
        return self._map(reach, planar, geodesic_in=False)

    def planar(self, reach: np.ndarray, geodesic: np.ndarray) -> np.ndarray:
        """The planar share (for shapely) of a point at geodesic share ``geodesic``."""
        return self._map(reach, geodesic, geodesic_in=True)


def _substrings(lines: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The parts of LineStrings between planar shares ``a <= b`` (vectorised substring).

    Examples
    --------
    >>> line = np.array([shapely.LineString([(0, 0), (2, 0), (2, 2)])])
    >>> _substrings(line, np.array([0.25]), np.array([0.75]))[0].wkt
    'LINESTRING (1 0, 2 0, 2 1)'
    """
    if not len(lines):
        return np.array([], dtype=object)
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    length = shapely.length(lines)
    seg = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    seg[np.r_[True, idx[1:] != idx[:-1]]] = 0.0
    cum = np.cumsum(seg)
    cum -= cum[np.searchsorted(idx, idx)]
    lo, hi = a * length, b * length
    inner = (cum > lo[idx]) & (cum < hi[idx])
    pa = shapely.get_coordinates(shapely.line_interpolate_point(lines, lo))
    pb = shapely.get_coordinates(shapely.line_interpolate_point(lines, hi))
    n = len(lines)
    all_xy = np.r_[pa, coords[inner], pb]
    all_line = np.r_[np.arange(n), idx[inner], np.arange(n)]
    all_pos = np.r_[lo, cum[inner], hi]
    tie = np.r_[np.zeros(n), np.ones(int(inner.sum())), np.full(n, 2.0)]
    order = np.lexsort((tie, all_pos, all_line))
    return shapely.linestrings(all_xy[order], indices=all_line[order])


# --------------------------------------------------------------------------- snapping
def _snap(
    lon: np.ndarray, lat: np.ndarray, geoms: np.ndarray, snap_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest reach of each point within ``snap_m`` (geodesic): reach, metres, foot lon/lat.

    Candidates are the reaches whose envelope meets the point's box widened by ``snap_m``
    (:func:`asm_pace._nearest.widen_boxes`). For each pair the nearest point of the reach is
    found in a local frame (longitudes scaled by the cosine of the point's latitude, where
    lon/lat distances are true to first order) and measured with :meth:`pyproj.Geod.inv`.
    """
    m = lon.size
    reach = np.full(m, -1, dtype="int64")
    dist = np.full(m, np.nan)
    flon = np.full(m, np.nan)
    flat = np.full(m, np.nan)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if m == 0 or not len(parts):
        return reach, dist, flon, flat
    tree = shapely.STRtree(parts)
    boxes = widen_boxes(np.c_[lon, lat, lon, lat], np.full(m, snap_m))
    # the nearest reach in degrees, P0 away, bounds the search: a reach P degrees away is at
    # least 110.5 km x cos(lat) x P (geodesic), the nearest in degrees at most 111.7 km x P0,
    # so the geodesically nearest is within P0 x 111.7 / (110.5 cos(lat)) degrees
    cos = np.maximum(np.cos(np.radians(np.minimum(np.abs(lat) + 0.1, 90.0))), 1e-3)
    reach_deg = float(np.max(boxes[:, 3] - boxes[:, 1])) / 2.0 / float(cos.min())
    (q0, _), d0 = tree.query_nearest(
        shapely.points(lon, lat), max_distance=reach_deg, return_distance=True
    )
    q0, first = np.unique(q0, return_index=True)
    radius = d0[first] * 111_700.0 / (110_500.0 * cos[q0]) * (1.0 + 1e-9) + 1e-12
    q, hit = tree.query(shapely.points(lon[q0], lat[q0]), predicate="dwithin", distance=radius)
    q = q0[q]
    for shift, past in ((360.0, boxes[:, 0] < -180.0), (-360.0, boxes[:, 2] > 180.0)):
        if past.any():
            rows = np.flatnonzero(past)
            moved = boxes[rows] + np.array([shift, 0.0, shift, 0.0])
            q2, h2 = tree.query(shapely.box(*moved.T))
            q, hit = np.r_[q, rows[q2]], np.r_[hit, h2]
    if not q.size:
        return reach, dist, flon, flat
    coords, pair = shapely.get_coordinates(parts[hit], return_index=True)
    cos = np.maximum(np.cos(np.radians(lat[q])), 1e-3)
    dx = (coords[:, 0] - lon[q][pair] + 180.0) % 360.0 - 180.0
    local = np.c_[dx * cos[pair], coords[:, 1] - lat[q][pair]]
    lines = shapely.linestrings(local, indices=pair)
    origin = shapely.points(np.zeros((q.size, 2)))
    foot = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, origin))
    fxy = shapely.get_coordinates(foot)
    fx = lon[q] + fxy[:, 0] / cos
    fy = lat[q] + fxy[:, 1]
    d = WGS84.inv(lon[q], lat[q], fx, fy)[2]
    order = np.lexsort((owner[hit], d, q))
    first = np.r_[True, q[order][1:] != q[order][:-1]]
    best = order[first]
    ok = d[best] <= snap_m
    best = best[ok]
    rows = q[best]
    reach[rows] = owner[hit[best]]
    dist[rows] = d[best]
    flon[rows] = (fx[best] + 180.0) % 360.0 - 180.0
    flat[rows] = fy[best]
    return reach, dist, flon, flat


# --------------------------------------------------------------------------- areas
@dataclass
class _Areas:
    kind: str  # "protected_area" or "kba"
    geoms: np.ndarray
    group: np.ndarray  # code of each row's area (parcels of one area share it)
    ids: np.ndarray  # id of each code
    names: np.ndarray


def _areas(frame: gpd.GeoDataFrame | None, kind: str, what: str) -> _Areas | None:
    if frame is None:
        return None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame (read_protected_areas, read_kbas)")
    frame = to_wgs84(frame)
    id_col = next((c for c in ("pa_id", "kba_id", "WDPAID", "SitRecID") if c in frame), None)
    name_col = next((c for c in ("name", "kba_name", "NAME", "IntName") if c in frame), None)
    ids = (
        frame[id_col].astype(str).to_numpy()
        if id_col
        else np.array([f"{kind}{i + 1}" for i in range(len(frame))], dtype=object)
    )
    names = frame[name_col].astype(str).to_numpy() if name_col else ids
    if "pa_group" in frame and "source" in frame:
        # several sources combined (pa_sources): one area per pa_group, named as classify
        # names it (SOURCE:ID of its first record, the source of highest precedence)
        ids = (frame["source"].astype(str) + ":" + pd.Series(ids, index=frame.index)).to_numpy()
        codes, _ = pd.factorize(frame["pa_group"], sort=False)
    else:
        codes, _ = pd.factorize(pd.Series(ids), sort=False)
    first = pd.Series(np.arange(len(ids))).groupby(codes).first().to_numpy()
    empty = np.array([], dtype=object)
    return _Areas(
        kind=kind,
        geoms=np.asarray(frame.geometry.values, dtype=object),
        group=codes.astype("int64"),
        ids=ids[first] if len(first) else empty,
        names=names[first] if len(first) else empty,
    )


@dataclass
class _Crossings:
    """Where reaches run inside areas: per (reach, area group) intervals, in km from the top."""

    reach: np.ndarray  # sorted
    group: np.ndarray
    start_km: np.ndarray
    end_km: np.ndarray
    ptr: np.ndarray  # the crossings of reach r are rows ptr[r]:ptr[r + 1]
    n_groups: int
    bottom: np.ndarray  # sorted keys reach * n_groups + group of crossings ending at the bottom


def _crossings(net: _Network, areas: _Areas, reach_tree: shapely.STRtree) -> _Crossings:
    n = len(net.ids)
    ai, ri = reach_tree.query(areas.geoms, predicate="intersects")
    # a reach wholly inside an area runs inside it from top to bottom: no intersection needed
    shapely.prepare(areas.geoms)
    inside = shapely.contains(areas.geoms[ai], net.geoms[ri])
    cut_a, cut_r = ai[~inside], ri[~inside]
    inter = shapely.intersection(net.geoms[cut_r], areas.geoms[cut_a])
    parts, pair = shapely.get_parts(inter, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    pos = shapely.line_locate_point(
        net.geoms[cut_r[pair[part]]], shapely.points(coords), normalized=True
    )
    first = np.flatnonzero(np.r_[True, part[1:] != part[:-1]]) if part.size else part
    lo = np.minimum.reduceat(pos, first) if part.size else np.zeros(0)
    hi = np.maximum.reduceat(pos, first) if part.size else np.zeros(0)
    which = pair[part[first]]
    reach = cut_r[which]
    along = _Along(net.geoms, reach)
    start = along.geodesic(reach, lo) * net.length[reach]
    end = along.geodesic(reach, hi) * net.length[reach]
    reach = np.r_[reach, ri[inside]]
    group = np.r_[areas.group[cut_a[which]], areas.group[ai[inside]]]
    start = np.r_[start, np.zeros(int(inside.sum()))]
    end = np.r_[end, net.length[ri[inside]]]
    order = np.argsort(reach, kind="stable")
    reach = reach[order]
    ptr = np.searchsorted(reach, np.arange(n + 1))
    group, start, end = group[order], start[order], end[order]
    n_groups = len(areas.ids)
    at_bottom = end >= net.length[reach] * (1.0 - 1e-12)
    bottom = np.unique(reach[at_bottom] * n_groups + group[at_bottom])
    return _Crossings(reach, group, start, end, ptr, n_groups, bottom)


# --------------------------------------------------------------------------- the walk
def check_km(value: float, name: str, option: str) -> float:
    """``value`` as a finite number of km above 0, else an InputError naming the option.

    Examples
    --------
    >>> check_km("12.5", "max_km", "--downstream-km")
    12.5
    """
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} {value!r} is not a number of km ({option})") from err
    if not (math.isfinite(out) and out > 0):
        raise InputError(f"{name} must be a finite number of km above 0, got {value!r} ({option})")
    return out


def _site_points(sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    geoms = np.asarray(sites.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    pts = np.where(missing, None, geoms)
    poly = ~missing & (shapely.get_type_id(np.where(missing, shapely.Point(0, 0), geoms)) != 0)
    if poly.any():
        pts[poly] = shapely.point_on_surface(geoms[poly])
    lon = np.full(len(geoms), np.nan)
    lat = np.full(len(geoms), np.nan)
    ok = ~missing
    lon[ok] = shapely.get_x(pts[ok])
    lat[ok] = shapely.get_y(pts[ok])
    return lon, lat


def downstream(
    sites: gpd.GeoDataFrame,
    rivers: gpd.GeoDataFrame,
    protected_areas: gpd.GeoDataFrame | None,
    *,
    max_km: float = 500.0,
    snap_km: float = 5.0,
    kbas: gpd.GeoDataFrame | None = None,
    paths: bool = True,
) -> DownstreamResult:
    """Follow each site's river downstream and report the protected areas it enters.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Points (footprints: their point on surface), with ``site_id`` (else the index).
    rivers : geopandas.GeoDataFrame
        A network from :func:`asm_pace.read_rivers` (a raw HydroRIVERS layer is read
        through it).
    protected_areas : geopandas.GeoDataFrame or None
        From :func:`asm_pace.read_protected_areas` (parcels sharing ``pa_id`` count as one
        area; in several sources combined, the records of one ``pa_group``, named
        ``SOURCE:ID`` as :func:`asm_pace.classify` names them).
    max_km : float
        River length followed from the snap point (km).
    snap_km : float
        Largest geodesic distance from a site to its reach (km); farther sites get the
        status ``"no river within <snap_km> km"``.
    kbas : geopandas.GeoDataFrame, optional
        Key Biodiversity Areas (``kba_id``, ``kba_name``), reported like the protected areas.
    paths : bool
        Build the path lines (``DownstreamResult.paths``); without them the result's
        ``paths`` has no geometry column filled (faster for very many sites).

    Returns
    -------
    DownstreamResult
        ``sites`` with :data:`SITE_COLUMNS`; ``paths`` (the ``downstream`` layer); ``areas``
        (site x area). River-km count from the snap point, with the reaches' lengths
        (``LENGTH_KM``), the part of the site's reach below the snap point by its geodesic
        share. An area is entered where the path first meets it (touching counts); a path
        that leaves and re-enters an area is reported at its first entry; a snap point
        already inside an area is at 0 km. ``downstream_status`` is one of
        :data:`DOWNSTREAM_STATUSES` or :func:`no_river_status`.

    Raises
    ------
    InputError
        ``max_km`` or ``snap_km`` not a finite number above 0; sites without ``site_id``
        values or not a GeoDataFrame.

    Warns
    -----
    ExtentWarning
        Sites outside the river network's extent, or paths leaving the box the protected
        areas were read for (``read_protected_areas(bbox=)``).

    Examples
    --------
    >>> import warnings
    >>> import asm_pace
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sites = asm_pace.read_sites(sample_path("sites.csv"))
    ...     pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    >>> rivers = asm_pace.read_rivers(sample_path("rivers.gpkg"))
    >>> out = downstream(sites, rivers, pas, max_km=200)
    >>> int((out.sites["downstream_first_pa_km"] >= 0).sum()) > 0
    True
    """
    max_km = check_km(max_km, "max_km", "--downstream-km")
    snap_km = check_km(snap_km, "snap_km", "--snap-km")
    if not isinstance(sites, gpd.GeoDataFrame):
        raise InputError("sites must be a GeoDataFrame (read_sites)")
    if not isinstance(rivers, gpd.GeoDataFrame):
        raise InputError("rivers must be a GeoDataFrame (read_rivers)")
    if not set(RIVER_COLUMNS) <= set(rivers.columns):
        rivers = read_rivers(rivers)
    sites_w = to_wgs84(sites) if len(sites) else sites
    site_ids = (
        sites["site_id"].astype(str).to_numpy()
        if "site_id" in sites.columns
        else sites.index.astype(str).to_numpy()
    )
    n_sites = len(sites)
    lon, lat = _site_points(sites_w) if n_sites else (np.array([]), np.array([]))
    net = _network(rivers)
    have = np.isfinite(lon)
    reach = np.full(n_sites, -1, dtype="int64")
    snap_m = np.full(n_sites, np.nan)
    flon = np.full(n_sites, np.nan)
    flat = np.full(n_sites, np.nan)
    if have.any():
        r, d, fx, fy = _snap(lon[have], lat[have], net.geoms, snap_km * 1000.0)
        reach[have], snap_m[have], flon[have], flat[have] = r, d, fx, fy
    _warn_extent(rivers, lon, lat, reach, snap_km)

    # share of the site's reach above the snap point (geodesic), hence the start km
    on = np.flatnonzero(reach >= 0)
    r0 = reach[on]
    along0 = _Along(net.geoms, r0)
    planar0 = shapely.line_locate_point(
        net.geoms[r0], shapely.points(flon[on], flat[on]), normalized=True
    )
    f0 = along0.geodesic(r0, planar0)
    snap_pos_km = f0 * net.length[r0]

    # every area crossing, once (an STRtree of the reaches)
    area_sets = [
        a
        for a in (
            _areas(protected_areas, "protected_area", "protected_areas"),
            _areas(kbas, "kba", "kbas"),
        )
        if a is not None
    ]
    crossings = []
    if area_sets:
        reach_tree = shapely.STRtree(net.geoms)
        crossings = [_crossings(net, a, reach_tree) for a in area_sets]
    out_box = _outside_box(protected_areas, net)

    # the walk: every site one reach per step
    status = np.full(on.size, _RUNNING, dtype="int8")
    final_km = np.zeros(on.size)
    last_step_reach = r0.copy()
    last_kup = -snap_pos_km
    mark = np.full(on.size, -1, dtype="int64")
    left_box = np.zeros(on.size, dtype=bool)
    steps_site: list[np.ndarray] = []
    steps_reach: list[np.ndarray] = []
    found: list[list[tuple[np.ndarray, ...]]] = [[] for _ in area_sets]
    active = np.arange(on.size)
    cur = r0.copy()
    prev = np.full(on.size, -1, dtype="int64")
    kup = -snap_pos_km
    first = True
    guard = len(net.ids) + 2
    while active.size:
        if paths:
            steps_site.append(active.astype("int32"))
            steps_reach.append(cur.astype("int64"))
        last_step_reach[active] = cur
        last_kup[active] = kup
        if out_box is not None:
            left_box[active] |= out_box[cur]
        for k, cr in enumerate(crossings):
            found[k].append(_entries(cr, active, cur, prev, kup, first, snap_pos_km, max_km))
        kdown = kup + net.length[cur]
        nx = net.nxt[cur]
        cyc_site = net.cyclic[cur]
        newly = cyc_site & net.marked[cur] & (mark[active] < 0)
        mark[active[newly]] = cur[newly]
        code = np.full(active.size, _RUNNING, dtype="int8")
        code[nx == -2] = _TRUNC
        code[nx == -1] = np.where(net.endorheic[cur[nx == -1]], _ENDO, _OUTLET)
        code[(nx >= 0) & (nx == mark[active])] = _CYCLE
        code[kdown >= max_km] = _MAX
        guard -= 1
        if guard <= 0:
            code[code == _RUNNING] = _CYCLE
        stop = code != _RUNNING
        status[active[stop]] = code[stop]
        final_km[active[stop]] = np.minimum(kdown[stop], max_km)
        keep = ~stop
        active, prev, cur, kup = active[keep], cur[keep], nx[keep], kdown[keep]
        first = False

    # the areas reached: the first entry of each site into each area, within max_km
    site_cols = _area_columns(_empty_long(), "protected_area", site_ids)  # none reached
    long_frames = []
    for areas, parts in zip(area_sets, found, strict=True):
        table = _first_entries(parts, areas, on, site_ids, net, r0)
        long_frames.append(table)
        site_cols.update(_area_columns(table, areas.kind, site_ids))
    if kbas is not None and "downstream_kbas" not in site_cols:
        site_cols.update(_area_columns(_empty_long(), "kba", site_ids))
    columns = list(SITE_COLUMNS) + (list(_KBA_COLUMNS) if kbas is not None else [])
    text_status = np.full(n_sites, no_river_status(snap_km), dtype=object)
    text_status[on] = [_STATUS_TEXT[int(c)] for c in status] if on.size else []
    walked = np.full(n_sites, np.nan)
    walked[on] = final_km
    discharge = np.full(n_sites, np.nan)
    discharge[on] = net.discharge[r0]
    reach_id = pd.array(np.where(reach >= 0, net.ids[np.maximum(reach, 0)], 0), dtype="Int64")
    reach_id[reach < 0] = pd.NA
    base = {
        "downstream_reach_id": reach_id,
        "downstream_snap_km": snap_m / 1000.0,
        "downstream_status": text_status,
        "downstream_km": walked,
        "downstream_discharge_cms": discharge,
    }
    out_sites = sites.copy()
    for col in columns:
        out_sites[col] = base[col] if col in base else site_cols[col]
    areas_long = pd.concat(long_frames, ignore_index=True) if long_frames else _empty_long()
    areas_long = areas_long.drop(columns="_pos")
    if left_box.any():
        box = layer_box(protected_areas, "protected areas")
        warnings.warn(
            f"{protected_areas.attrs.get('source', 'the protected areas')}: the paths of "
            f"{int(left_box.sum())} site(s) leave the box the protected areas were read for "
            f"{box_text(box)}: areas past it are not reported; read the protected areas for "
            "a larger box (or without one)",
            ExtentWarning,
            stacklevel=2,
        )
    path_frame = _paths(
        net, on, site_ids, status, final_km, r0, planar0, last_step_reach, last_kup,
        steps_site, steps_reach, max_km, build=paths,
    )  # fmt: skip
    return DownstreamResult(out_sites, path_frame, areas_long)


def _entries(
    cr: _Crossings,
    active: np.ndarray,
    cur: np.ndarray,
    prev: np.ndarray,
    kup: np.ndarray,
    first: bool,
    snap_pos_km: np.ndarray,
    max_km: float,
) -> tuple[np.ndarray, ...]:
    """(site, area group, river km, entry reach) of the crossings of the reaches walked now.

    A crossing from the top of a reach whose reach above (``prev``) ends in the same area
    is no entry (the path entered higher up) and is left out, so the entries stay few.
    """
    if not cr.reach.size:
        e = np.array([], dtype="int64")
        return e, e, np.array([]), e
    lo = cr.ptr[cur]
    count = cr.ptr[cur + 1] - lo
    has = np.flatnonzero(count)
    lo, count = lo[has], count[has]
    rows = np.repeat(has, count)
    offs = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    which = np.repeat(lo, count) + offs
    start, end = cr.start_km[which], cr.end_km[which]
    if first:  # the site's own reach: only what lies below the snap point
        snap = snap_pos_km[active[rows]]
        ok = end >= snap
        km = np.maximum(start, snap) - snap
        rows, which, km = rows[ok], which[ok], km[ok]
    else:
        # an area the path is already in (the reach above ends inside it) was entered above
        key = prev[rows] * cr.n_groups + cr.group[which]
        going_on = np.zeros(rows.size, dtype=bool)
        if cr.bottom.size:
            at = np.minimum(np.searchsorted(cr.bottom, key), cr.bottom.size - 1)
            going_on = (start <= 0.0) & (cr.bottom[at] == key)
        rows, which, start = rows[~going_on], which[~going_on], start[~going_on]
        km = kup[rows] + start
    ok = km <= max_km
    return active[rows[ok]], cr.group[which[ok]], km[ok], cur[rows[ok]]


def _first_entries(
    parts: list[tuple[np.ndarray, ...]],
    areas: _Areas,
    on: np.ndarray,
    site_ids: np.ndarray,
    net: _Network,
    r0: np.ndarray,
) -> pd.DataFrame:
    if not parts:
        return _empty_long()
    site = np.concatenate([p[0] for p in parts])
    group = np.concatenate([p[1] for p in parts])
    km = np.concatenate([p[2] for p in parts])
    entry = np.concatenate([p[3] for p in parts])
    if not site.size:
        return _empty_long()
    order = np.lexsort((km, group, site))
    site, group, km, entry = site[order], group[order], km[order], entry[order]
    first = np.r_[True, (site[1:] != site[:-1]) | (group[1:] != group[:-1])]
    site, group, km, entry = site[first], group[first], km[first], entry[first]
    order = np.lexsort((group, km, site))  # by site, then river-km
    site, group, km, entry = site[order], group[order], km[order], entry[order]
    q_entry = net.discharge[entry]
    q_site = net.discharge[r0[site]]
    with np.errstate(divide="ignore", invalid="ignore"):
        dilution = np.where(q_entry > 0, q_site / q_entry, np.nan)
    table = pd.DataFrame(
        {
            "site_id": site_ids[on[site]],
            "area": areas.kind,
            "area_id": areas.ids[group],
            "area_name": areas.names[group],
            "river_km": km,
            "entry_reach_id": net.ids[entry],
            "dilution": dilution,
        }
    )
    table["_pos"] = on[site]
    return table


def _empty_long() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": pd.Series([], dtype=object),
            "area": pd.Series([], dtype=object),
            "area_id": pd.Series([], dtype=object),
            "area_name": pd.Series([], dtype=object),
            "river_km": pd.Series([], dtype="float64"),
            "entry_reach_id": pd.Series([], dtype="int64"),
            "dilution": pd.Series([], dtype="float64"),
            "_pos": pd.Series([], dtype="int64"),
        }
    )


def _area_columns(table: pd.DataFrame, kind: str, site_ids: np.ndarray) -> dict[str, np.ndarray]:
    word = "pa" if kind == "protected_area" else "kba"
    n = len(site_ids)
    first_id = np.full(n, None, dtype=object)
    first_name = np.full(n, None, dtype=object)
    first_km = np.full(n, np.nan)
    first_dil = np.full(n, np.nan)
    listed = np.full(n, "", dtype=object)
    if len(table):
        pos = table["_pos"].to_numpy()
        head = np.r_[True, pos[1:] != pos[:-1]]
        p = pos[head]
        first_id[p] = table["area_id"].to_numpy()[head]
        first_name[p] = table["area_name"].to_numpy()[head]
        first_km[p] = table["river_km"].to_numpy()[head]
        first_dil[p] = table["dilution"].to_numpy()[head]
        text = (
            table["area_id"].astype(str) + " (" + table["river_km"].round(1).astype(str) + " km)"
        ).tolist()
        starts = np.flatnonzero(head)
        stops = np.r_[starts[1:], len(text)]
        listed[p] = ["; ".join(text[a:b]) for a, b in zip(starts, stops, strict=True)]
    return {
        f"downstream_first_{word}_id": first_id,
        f"downstream_first_{word}_name": first_name,
        f"downstream_first_{word}_km": first_km,
        f"downstream_first_{word}_dilution": first_dil,
        f"downstream_{word}s": listed,
    }


def _warn_extent(
    rivers: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, reach: np.ndarray, snap_km: float
) -> None:
    """ExtentWarning for sites off the river network's extent (no reach near them)."""
    if not len(lon):
        return
    box = tuple(rivers.total_bounds)  # the reaches there are (a box read may hold fewer)
    pad = snap_km / 110.0
    outside = (
        np.isfinite(lon)
        & (reach < 0)
        & (
            (lon < box[0] - pad)
            | (lon > box[2] + pad)
            | (lat < box[1] - pad)
            | (lat > box[3] + pad)
        )
    )
    if outside.any():
        warnings.warn(
            f"{rivers.attrs.get('source', 'the river network')}: {int(outside.sum())} site(s) "
            f"lie outside the network's extent {box_text(tuple(box))}: their rivers are not "
            "in the file (status 'no river within'); use a network that covers the sites",
            ExtentWarning,
            stacklevel=3,
        )


def _outside_box(protected_areas: gpd.GeoDataFrame | None, net: _Network) -> np.ndarray | None:
    box = layer_box(protected_areas, "protected areas") if protected_areas is not None else None
    if box is None:
        return None
    return ~shapely.within(net.geoms, shapely.box(*box))


def _paths(
    net: _Network,
    on: np.ndarray,
    site_ids: np.ndarray,
    status: np.ndarray,
    final_km: np.ndarray,
    r0: np.ndarray,
    planar0: np.ndarray,
    last_reach: np.ndarray,
    last_kup: np.ndarray,
    steps_site: list[np.ndarray],
    steps_reach: list[np.ndarray],
    max_km: float,
    *,
    build: bool,
) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "site_id": site_ids[on],
            "reach_id": net.ids[r0] if on.size else np.array([], dtype="int64"),
            "downstream_status": [_STATUS_TEXT[int(c)] for c in status],
            "river_km": final_km,
        }
    )
    if not build or not on.size:
        frame["geodesic_km"] = np.nan
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")
    site = np.concatenate(steps_site).astype("int64")
    rch = np.concatenate(steps_reach)
    order = np.argsort(site, kind="stable")  # steps are in walk order within a site
    site, rch = site[order], rch[order]
    head = np.r_[True, site[1:] != site[:-1]]
    tail = np.r_[site[1:] != site[:-1], True]
    a = np.zeros(site.size)
    b = np.ones(site.size)
    a[head] = planar0[site[head]]
    cut = tail & (status[site] == _MAX)
    if cut.any():
        along = _Along(net.geoms, rch[cut])
        geo = (max_km - last_kup[site[cut]]) / np.where(
            net.length[rch[cut]] > 0, net.length[rch[cut]], 1.0
        )
        b[cut] = along.planar(rch[cut], np.clip(geo, 0.0, 1.0))
    # one line per site from the vertices of its steps (no geometry object per step): the
    # reaches' vertices once, the cut first and last steps as substrings
    partial = ((a > 0) | (b < 1)) & (shapely.get_type_id(net.geoms[rch]) == 1)
    uniq, inv = np.unique(rch[~partial], return_inverse=True)
    r_xy, r_idx = shapely.get_coordinates(net.geoms[uniq], return_index=True)
    subs = _substrings(net.geoms[rch[partial]], a[partial], np.maximum(a[partial], b[partial]))
    s_xy, s_idx = shapely.get_coordinates(subs, return_index=True)
    xy = np.r_[r_xy, s_xy]
    r_ptr = np.searchsorted(r_idx, np.arange(uniq.size + 1))
    s_ptr = np.searchsorted(s_idx, np.arange(int(partial.sum()) + 1)) + len(r_xy)
    lo = np.empty(site.size, dtype="int64")
    hi = np.empty(site.size, dtype="int64")
    lo[~partial], hi[~partial] = r_ptr[inv], r_ptr[inv + 1]
    k = np.arange(int(partial.sum()))
    lo[partial], hi[partial] = s_ptr[k], s_ptr[k + 1]
    count = hi - lo
    take = np.repeat(lo, count) + (
        np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    )
    owner = np.repeat(site, count)
    pts = xy[take]
    same = np.r_[False, (owner[1:] == owner[:-1]) & (pts[1:] == pts[:-1]).all(axis=1)]
    pts, owner = pts[~same], owner[~same]
    # a site left with one vertex (cut at its snap point) gets a line of no length
    single = np.flatnonzero(np.bincount(owner, minlength=on.size) == 1)
    if single.size:
        where = np.searchsorted(owner, single)
        pts = np.insert(pts, where, pts[where], axis=0)
        owner = np.insert(owner, where, single)
    lines = shapely.linestrings(pts, indices=owner)
    frame["geodesic_km"] = line_lengths_km(lines)
    return gpd.GeoDataFrame(frame, geometry=lines, crs="EPSG:4326")
