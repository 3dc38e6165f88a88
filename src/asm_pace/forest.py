"""Forest-change and other zonal raster statistics (Hansen Global Forest Change and the like).

:func:`forest_loss` measures, for each zone (a buffer, a protected area, a
mining concession), the forest that stood in 2000 and the forest lost in each
year since, from Hansen et al. (2013) Global Forest Change rasters
(``treecover2000``, ``lossyear``, optionally ``gain``). :func:`raster_stats`
gives the same coverage and area rules to any other raster.

Rules (see ``docs/forest.md``):

- forest in 2000 is tree cover *strictly greater* than ``canopy`` percent, as
  Global Forest Watch counts it; loss is counted only on 2000 forest;
- loss year value ``v`` (1, 2, ...) is the year ``2000 + v``;
- every valid pixel read must lie in its layer's domain (``asm_pace._raster.ROLES``):
  a value outside it stops the run with the file, the value and the likely cause,
  never a silent wrong number;
- areas come from the exact area of each pixel on the raster CRS's ellipsoid
  (row by row for latitude/longitude grids), never from a mean pixel size;
- ``coverage="exact"`` weights each pixel by the fraction of it inside the
  zone (as exactextract); ``coverage="center"`` counts a pixel whose centre is
  inside (as GFW's zonal statistics and rasterstats);
- the rasters are never resampled: zones are reprojected to the rasters' CRS;
- the work per zone is proportional to its perimeter in pixels (Green's
  theorem on per-row prefix sums, ``asm_pace._coverage``), each raster chunk
  is read once for all zones touching it, so memory stays bounded on full
  40,000 x 40,000 Hansen tiles.

Reference: Hansen, M. C. et al. (2013). High-resolution global maps of
21st-century forest cover change. *Science* 342, 850-853.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _coverage as cov
from ._geometry import polygonal_parts
from ._raster import ROLES, Grid, Layer, check_distinct, hansen_year, open_layer, row_areas
from ._vector import row_list, source_name, to_wgs84
from .errors import CoverageWarning, CRSError, ExtentWarning, InputError, RasterError
from .geodesy import geodesic_area

__all__ = ["forest_loss", "raster_stats", "COVERAGE_RULES", "RASTER_STATS"]

RasterInput = str | PathLike | Sequence[str | PathLike]

#: Coverage rules: how a pixel on a zone's edge counts.
COVERAGE_RULES: dict[str, str] = {
    "exact": "a pixel counts by the fraction of its area inside the zone (exactextract)",
    "center": "a pixel counts wholly when its centre is inside the zone (GFW, rasterstats)",
}

#: Statistics :func:`raster_stats` computes, by name.
RASTER_STATS: dict[str, str] = {
    "count": "pixels with data, weighted by coverage",
    "area_ha": "area of the pixels with data (ha), weighted by coverage",
    "sum": "sum of value x coverage",
    "mean": "area-weighted mean of the values",
    "std": "area-weighted standard deviation of the values",
    "min": "smallest value of a pixel with coverage > 0",
    "max": "largest value of a pixel with coverage > 0",
    "majority": "categorical: the class with the largest area",
    "minority": "categorical: the class with the smallest area (> 0)",
}

_COVERAGE_TOL = 1e-6
_OUT = np.iinfo(np.uint16).max  # the code of a pixel holding a value outside its domain
_BAND = 256  # rows per band of windows
#: With two threads or more, the windows' pixels read and coded ahead of the sums, at most
#: (each window counted at its largest size).
READ_AHEAD_BYTES = 64 << 20
_T = TypeVar("_T")
_R = TypeVar("_R")


# --------------------------------------------------------------------------- driver


@dataclass
class _Chunk:
    data: list[np.ndarray]
    valid: list[np.ndarray]
    events: cov.Events | None  # None until the zones' edges are cut (_with_events)
    row_area: np.ndarray
    zone: np.ndarray  # zone position of each piece
    rows: tuple[int, int]
    cols: tuple[int, int]


def open_forest_layers(
    treecover: RasterInput,
    lossyear: RasterInput,
    gain: RasterInput | None = None,
    *,
    bounds: tuple[float, float, float, float] | None = None,
) -> list[Layer]:
    """Open the forest rasters and check who they are, before any pixel is read.

    Each is chosen by its name or given as a file (never guessed), on one grid, with no
    overlapping tiles, and no file plays two roles; ``bounds`` (lon/lat) pre-selects tiles
    by their Hansen name. The value domains are checked later, on the blocks
    :func:`forest_loss` reads. The pipeline calls this right after reading the sites, so a
    wrong raster is refused before the long steps.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> [layer.name for layer in open_forest_layers(
    ...     sample_path("treecover2000.tif"), sample_path("lossyear.tif"))]
    ['treecover', 'lossyear']
    """
    tc = open_layer(treecover, role=ROLES["treecover"], bounds=bounds)
    layers = [tc, open_layer(lossyear, role=ROLES["lossyear"], bounds=bounds, grid=tc.grid)]
    if gain is not None:
        layers.append(open_layer(gain, role=ROLES["gain"], bounds=bounds, grid=tc.grid))
    check_distinct(layers)
    return layers


def _lonlat_zones(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check the zones and bring them to EPSG:4326 by the project's CRS policy.

    :func:`asm_pace._vector.to_wgs84` splits zones crossing +-180 (a projected zone across
    the antimeridian would otherwise come back inverted into a band round the globe), so
    every later step (raster bounds, pixel cutting, areas) starts from the same lon/lat shapes.
    """
    if not isinstance(zones, gpd.GeoDataFrame):
        raise InputError(f"zones must be a GeoDataFrame of polygons, got {type(zones).__name__}")
    if zones.crs is None:
        raise CRSError(
            "the zones have no CRS; set it first (e.g. zones.set_crs('EPSG:4326')) so they "
            "can be reprojected to the rasters' CRS"
        )
    geoms = np.asarray(zones.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bad = present & ~np.isin(kinds, (3, 6))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"zone {zones.index[pos]!r} is a {geoms[pos].geom_type}; zonal statistics "
            "need Polygon or MultiPolygon zones: "
            f"buffer points first (asm_pace.buffers); {int(bad.sum())} zone(s) affected"
        )
    return to_wgs84(zones)


def _prepare_zones(zones: gpd.GeoDataFrame, grid: Grid, what: str = "zones") -> np.ndarray:
    """Zone (or ``what``) geometries, in lon/lat (:func:`_lonlat_zones`), in the CRS of
    ``grid``."""
    try:
        proj = zones.geometry if zones.crs == grid.crs else zones.geometry.to_crs(grid.crs)
    except Exception as err:  # pyproj errors vary by version
        raise CRSError(
            f"cannot reproject the {what} from {zones.crs.to_string()} to the rasters' CRS "
            f"{grid.crs.to_string()}: {err}"
        ) from err
    return np.asarray(proj.values, dtype=object)


def _widened(a: np.ndarray, width: int) -> np.ndarray:
    """``a`` with its last axis padded with zeros to at least ``width``."""
    more = width - a.shape[-1]
    return a if more <= 0 else np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, more)])


def _to_pixels(xy: np.ndarray, grid: Grid) -> np.ndarray:
    """Global pixel coordinates (column, row) of CRS coordinates (n, 2)."""
    return (xy - (grid.x0, grid.y0)) / (grid.dx, grid.dy)


def _pixels(geoms: np.ndarray, grid: Grid) -> np.ndarray:
    """Geometries in global pixel coordinates of ``grid``."""
    return shapely.transform(geoms, lambda xy: _to_pixels(xy, grid))


def _band_height(layer: Layer) -> int:
    """Rows per band: a whole number of the file's block rows, about 256."""
    bh = layer.block[0]
    th = layer.tile_shape[0]
    if bh >= th:
        return min(th, _BAND)
    return bh * max(1, _BAND // bh)


def _windows(
    bounds: np.ndarray, band: int, max_px: int
) -> Iterator[tuple[np.ndarray, int, int, int, int, bool]]:
    """Group zones into windows: bands of rows, and within a band, runs of overlapping columns.

    ``bounds`` is (n, 5): zone position, xmin, ymin, xmax, ymax in pixels. A
    window covers only the union of its zones' bounding boxes, so no pixel is
    read or prepared for nothing; zones are cut only at band edges, where a
    horizontal cut adds no boundary events. Windows wider than ``max_px / band``
    columns are split; the last item yielded tells whether the window holds its
    zones' whole column range (not split).
    """
    zpos = bounds[:, 0].astype(np.intp)
    c_lo = np.floor(bounds[:, 1]).astype(np.int64)
    c_hi = np.ceil(bounds[:, 3]).astype(np.int64)
    r_lo = np.floor(bounds[:, 2]).astype(np.int64)
    r_hi = np.ceil(bounds[:, 4]).astype(np.int64)
    c_hi = np.maximum(c_hi, c_lo + 1)
    r_hi = np.maximum(r_hi, r_lo + 1)
    b_lo = r_lo // band
    b_hi = (r_hi - 1) // band
    nb = b_hi - b_lo + 1
    rep = np.repeat(np.arange(len(zpos)), nb)
    bands = np.repeat(b_lo, nb) + (np.arange(len(rep)) - np.repeat(np.cumsum(nb) - nb, nb))
    order = np.lexsort((c_lo[rep], bands))
    rep, bands = rep[order], bands[order]
    lo, hi = c_lo[rep], c_hi[rep]
    # a new window starts where a band starts or a zone begins right of all before it
    shift = hi.max() - min(lo.min(), 0) + 1
    run_hi = np.maximum.accumulate(hi + bands * shift)
    new = np.r_[True, (bands[1:] != bands[:-1]) | (lo[1:] + bands[1:] * shift >= run_hi[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(rep)]
    max_w = max(64, max_px // band)
    for s, e in zip(starts, ends, strict=True):
        zi = rep[s:e]
        bnd = int(bands[s])
        r0 = max(bnd * band, int(r_lo[zi].min()))
        r1 = min((bnd + 1) * band, int(r_hi[zi].max()))
        c0, c1 = int(c_lo[zi].min()), int(c_hi[zi].max())
        if c1 - c0 <= max_w:
            yield zpos[zi], r0, r1, c0, c1, True
            continue
        for x0 in range(c0, c1, max_w):
            x1 = min(c1, x0 + max_w)
            sel = zi[(c_lo[zi] < x1) & (c_hi[zi] > x0)]
            if sel.size:
                yield zpos[sel], r0, r1, x0, x1, False


def _iter_chunks(
    geoms: np.ndarray,
    layers: list[Layer],
    coverage: str,
    mask_nodata: Sequence[bool] | None = None,
    threads: int = 1,
    code: Callable[[_Chunk], _T] | None = None,
) -> Iterator[tuple[_Chunk, _T | None]]:
    """Read each window touched by zones once; yield its chunk (its data and the zones'
    boundary events) and ``code(chunk)`` (``None`` without ``code``).

    ``geoms`` are the zones in the rasters' CRS. The windows follow from the zones'
    bounds alone; the zones' edges are computed first (on ``threads`` threads), then, with
    ``threads`` > 1, a second thread reads and codes the windows, in order, up to
    :data:`READ_AHEAD_BYTES` ahead, while the caller sums. (Not the edges while the first
    windows are read: with the vertices copied, 500 MB for 100,000 zones, that made their
    page faults 0.5-0.7 s instead of 0.25; with the vertices turned in place, 210 MB, it
    gained nothing in three timelines.)
    """
    grid = layers[0].grid
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    max_px = cov.chunk_pixels(int(shapely.get_num_coordinates(geoms).sum()))
    windows = []
    if present.size:  # missing or empty zones have no edge
        bounds = np.column_stack([present, _pixel_bounds(geoms[present], grid)])
        windows = list(_windows(bounds, _band_height(layers[0]), max_px))

    def read(window: tuple) -> tuple[_Chunk, _T | None]:
        zones, r0, r1, c0, c1, _ = window
        chunk = _read_chunk(layers, mask_nodata, None, grid, zones, r0, r1, c0, c1)
        return chunk, None if code is None else code(chunk)

    per_px = sum(np.dtype(t.dtype).itemsize for layer in layers for t in layer.tiles[:1]) + 2
    depth = max(1, READ_AHEAD_BYTES // (per_px * max_px)) if threads > 1 else 0
    reads = _ahead(map(read, windows), depth)
    return _with_events(reads, windows, geoms, grid, coverage, max_px, threads)


def _pixel_bounds(geoms: np.ndarray, grid: Grid) -> np.ndarray:
    """(n, 4) xmin, ymin, xmax, ymax of ``geoms`` in pixels: the bounds of their vertices in
    pixels (the map from coordinates to pixels is monotone in each axis, so the extreme
    vertices are the same, and their pixel coordinates the same numbers)."""
    b = shapely.bounds(geoms)
    lo, hi = _to_pixels(b[:, :2], grid), _to_pixels(b[:, 2:], grid)
    return np.column_stack([np.minimum(lo, hi), np.maximum(lo, hi)])


def _with_events(
    reads: Iterator[tuple[_Chunk, _T | None]],
    windows: list[tuple],
    geoms: np.ndarray,
    grid: Grid,
    coverage: str,
    max_px: int,
    threads: int,
) -> Iterator[tuple[_Chunk, _T | None]]:
    """The chunks of :func:`_iter_chunks` (``reads``, one per window), with their events
    (a window whose zones leave no edge in it is read but not yielded)."""
    # every zone's edges once, in global pixel coordinates, grouped by zone
    start, end, e_first, e_last = cov.pixel_edges(
        geoms, grid.x0, grid.y0, grid.dx, grid.dy, threads
    )
    with closing(reads):
        events = cov.exact_edge_events if coverage == "exact" else cov.center_edge_events
        geoms_px = None
        compiled = max_px > cov.MAX_PIXELS  # many edges, and the compiled kernels at hand
        if compiled:
            start, end = np.ascontiguousarray(start), np.ascontiguousarray(end)
        for (zones, r0, r1, c0, c1, whole), (chunk, coded) in zip(windows, reads, strict=True):
            shape = (r1 - r0, c1 - c0)
            if whole:
                # the window holds the zones' columns: only the band's rows cut them
                e0, e1 = e_first[zones], e_last[zones]
                n = e1 - e0
                if compiled and int(n.sum()) >= cov.JIT_MIN:
                    chunk.events = cov.BandEdges(start, end, e0, e1, r0, r1, c0, shape, coverage)
                    yield chunk, coded
                    continue
                sel = np.repeat(e0 - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
                piece = np.repeat(np.arange(len(zones)), n)
                edges = cov.band_edges((start[sel], end[sel], piece), r0, r1, c0)
                if len(edges[2]) == 0:
                    continue
            else:
                if geoms_px is None:
                    geoms_px = _pixels(geoms, grid)
                pieces = shapely.clip_by_rect(geoms_px[zones], c0, r0, c1, r1)
                keep = ~shapely.is_empty(pieces)
                if not keep.any():
                    continue
                chunk.zone, pieces = zones[keep], pieces[keep]
                edges = cov.edges(shapely.transform(pieces, lambda xy, o=(c0, r0): xy - o))
            chunk.events = events(edges, shape)
            yield chunk, coded


def _ahead(items: Iterator[_T], depth: int) -> Iterator[_T]:
    """``items``, up to ``depth`` of them made ahead, in order, by a second thread while the
    caller works (GDAL releases the GIL while it decodes, numpy while it codes, the
    kernels too); ``depth`` 0: made by the caller. Closed, it waits for the item under way
    and makes no more."""
    if depth < 1:
        yield from items
        return
    with ThreadPoolExecutor(1) as pool:
        coming = deque(pool.submit(next, items, None) for _ in range(depth))
        try:
            while (item := coming.popleft().result()) is not None:
                coming.append(pool.submit(next, items, None))
                yield item
        finally:
            for future in coming:
                future.cancel()


def _in_order(fn: Callable[..., _R], items: Iterator[tuple], threads: int) -> Iterator[_R]:
    """``fn(*item)`` for each of ``items``, in their order; on ``threads`` threads (at most
    ``threads + 1`` items taken ahead, so memory stays bounded, unlike ``Executor.map``)."""
    if threads < 2:
        yield from (fn(*item) for item in items)
        return
    with ThreadPoolExecutor(threads) as pool:
        coming: deque = deque()
        for item in items:
            coming.append(pool.submit(fn, *item))
            if len(coming) > threads:
                yield coming.popleft().result()
        while coming:
            yield coming.popleft().result()


def _origin(chunk: _Chunk) -> tuple[int, int]:
    """The global row and column of a chunk's first pixel."""
    return chunk.rows[0], chunk.cols[0]


class _WindowSums:
    """One window's coverage sums for :func:`forest_loss`: the codes' (or the codes folded
    by the protection's centre rule, :class:`_CentreProtection`), the gain labels' and the
    drivers' labels' (``n_drivers`` of them). Thread-safe: a scratch workspace per thread,
    no other state."""

    def __init__(self, n_drivers: int):
        self.n_drivers = n_drivers
        self.local = threading.local()

    def __call__(self, chunk: _Chunk, code: np.ndarray, gain_lab, k: int, folded, lab) -> tuple:
        """``(chunk, k, sums, parts, gain sums, drivers' sums)``; ``parts``: the loss by
        year inside and of unknown year (``folded`` codes only)."""
        work = getattr(self.local, "work", None)
        if work is None:
            work = self.local.work = cov.Workspace()
        n = len(chunk.zone)

        def sums(labels: np.ndarray, n_labels: int) -> np.ndarray:
            return cov.label_sums(chunk.events, labels, n_labels, chunk.row_area, n, work)

        parts = None
        if folded is None:
            out = sums(code, k)
        else:  # the folded codes' sums: the codes', then inside and unknown by loss year
            out = sums(*folded)
            parts = out[:, k:].reshape(n, 2, k - 3)
            out = out[:, :k].copy()
            out[:, 3:] += parts.sum(axis=1)
        gs = None if gain_lab is None else sums(gain_lab, 2)
        ds = None if lab is None else sums(lab, self.n_drivers)
        return chunk, k, out, parts, gs, ds


def _read_chunk(layers, mask_nodata, ev, grid, zones, r0, r1, c0, c1) -> _Chunk:
    """Read the window rows r0:r1, columns c0:c1 of every layer: the chunk of ``zones``."""
    data, valid = [], []
    for i, layer in enumerate(layers):
        d, v = layer.read(r0, r1, c0, c1, mask_nodata=mask_nodata is None or mask_nodata[i])
        data.append(d)
        valid.append(v)
    return _Chunk(data, valid, ev, row_areas(grid, np.arange(r0, r1)), zones, (r0, r1), (c0, c1))


def _check_coverage(coverage: str, what: str = "coverage") -> str:
    if coverage not in COVERAGE_RULES:
        raise InputError(
            f"{what}={coverage!r} is not a coverage rule; use one of "
            + ", ".join(f"{k!r} ({v})" for k, v in COVERAGE_RULES.items())
        )
    return coverage


def _check_threads(threads: object) -> int:
    """``threads=`` as a number of threads; ``None``: both cores (at most
    :data:`asm_pace._coverage.GROUPS`) in the main thread of the main process, else 1."""
    if threads is None:
        if (
            multiprocessing.parent_process() is not None
            or threading.current_thread() is not threading.main_thread()
        ):
            return 1  # a worker: its siblings use the other cores
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cores = os.cpu_count() or 1
        return max(1, min(cores, cov.GROUPS))
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise InputError(
            f"forest_loss(threads={threads!r}): the number of threads must be a whole number "
            "of 1 or more (1: one thread); a Python option, the command line has none"
        )
    return int(threads)


def _area_scale(zones: gpd.GeoDataFrame, geoms: np.ndarray, grid: Grid) -> np.ndarray:
    """Per zone: ellipsoidal area / map area in the rasters' projected CRS (1 if geographic).

    ``geoms`` are the zones already in the rasters' CRS (:func:`_prepare_zones`).
    """
    if grid.crs.is_geographic:
        return np.ones(len(zones))
    planar = shapely.area(geoms)
    unit = grid.crs.axis_info[0].unit_conversion_factor if grid.crs.axis_info else 1.0
    planar = planar * unit * unit
    geod = geodesic_area(np.asarray(zones.geometry.values, dtype=object))  # zones in lon/lat
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(planar > 0, geod / planar, 1.0)
    return s


def _zone_labels(zones: pd.DataFrame) -> pd.Index:
    """What messages call each zone: its ``zone_id`` (or ``site_id``), else its index label."""
    for column in ("zone_id", "cluster_id", "site_id"):
        if column in zones.columns:
            return pd.Index(zones[column].astype(str))
    return zones.index


def _warn_coverage(
    zones: pd.DataFrame, data_coverage: np.ndarray, what: str, layers: list[Layer]
) -> None:
    """Warn about zones partly or wholly without data; refuse a run where no zone has any."""
    measured = ~np.isnan(data_coverage)
    if measured.any() and not (data_coverage[measured] > 0).any():
        _refuse_no_data(zones, int(measured.sum()), what, layers)
    low = np.flatnonzero(~(data_coverage >= 1.0 - _COVERAGE_TOL) & ~np.isnan(data_coverage))
    if low.size:
        off = int((data_coverage[low] <= 0).sum())
        shown = ", ".join(str(i) for i in _zone_labels(zones)[low[:5]])
        more = "" if low.size <= 5 else f" and {low.size - 5} more"
        warnings.warn(
            f"{low.size} zone(s) lie partly or wholly outside the {what} or on nodata "
            f"pixels ({off} wholly): {shown}{more}. Their statistics cover only the share "
            "given in 'data_coverage' (wholly uncovered zones get NaN); supply the missing "
            "tiles to cover them",
            CoverageWarning,
            stacklevel=3,
        )


def _refuse_no_data(zones: pd.DataFrame, n: int, what: str, layers: list[Layer]) -> None:
    """Every statistic would be NaN: say which raster the zones lie off, or that they lie on nodata."""
    zb = _zone_bounds_4326(zones)
    span = "lon {:.4f} to {:.4f}, lat {:.4f} to {:.4f}"
    zones_at = "" if zb is None else f"; the zones span {span.format(zb[0], zb[2], zb[1], zb[3])}"
    for layer in layers:
        b = layer.bounds_lonlat()
        if zb is None or zb[2] <= b[0] or zb[0] >= b[2] or zb[3] <= b[1] or zb[1] >= b[3]:
            raise RasterError(
                f"{layer.describe()}: none of the {n} zone(s) has data in the {what}: they lie "
                f"outside the {layer.role.what} raster (it spans "
                f"{span.format(b[0], b[2], b[1], b[3])}{zones_at}); give rasters that cover the "
                f"zones to {layer.role.option} (for Hansen: the tiles of that region)"
            )
    options = " and ".join(layer.role.option for layer in layers)
    raise RasterError(
        f"{layers[0].describe()}: none of the {n} zone(s) has data in the {what}: they lie "
        f"on pixels where not every raster has data (nodata, or off one of them{zones_at}); "
        f"check the nodata tags of {options} (gdal_edit.py -a_nodata) or give rasters with "
        "data there"
    )


# --------------------------------------------------------------------------- forest_loss


class _ForestCoder:
    """Per-pixel class codes: 0 no data, 1 not forest, 2 forest kept, 2 + v forest lost in 2000 + v.

    Hansen's uint8 rasters go through one 256 x 256 lookup table (nodata, canopy test,
    loss year and each layer's value domain at once: a pair holding a value outside its
    role's domain codes as ``_OUT``); other data types take the general path, which checks
    the domains with :meth:`asm_pace._raster.Layer.check`.
    """

    def __init__(self, layers: list[Layer], canopy: float):
        self.layers = layers
        self.canopy = canopy
        self.vmax = 0
        tc, ly = layers[0], layers[1]
        self.fast = all(t.dtype == "uint8" for t in tc.tiles + ly.tiles) and (
            len({t.nodata for t in tc.tiles}) == 1 and len({t.nodata for t in ly.tiles}) == 1
        )
        self.mask_nodata = [not self.fast, not self.fast] + [True] * (len(layers) - 2)
        # tree cover and loss year equal in every pixel read (not all zero): one raster twice
        self.same = tc.tiles[0].dtype == ly.tiles[0].dtype
        self.nonzero = False
        if self.fast:
            tnd, lnd = tc.tiles[0].nodata, ly.tiles[0].nodata
            t = np.arange(256)[:, None]
            v = np.arange(256)[None, :]
            lut = np.where(t > canopy, np.where(v > 0, 2 + v, 2), 1)
            if tnd is not None:
                lut[int(tnd), :] = 0
            if lnd is not None:
                lut[:, int(lnd)] = 0
            out = (tc.role.domain.bad(t) & (t != tnd)) | (ly.role.domain.bad(v) & (v != lnd))
            self.lut = np.where(out, _OUT, lut).astype(np.uint16).ravel()
            self.ly_nodata = None if lnd is None else int(lnd)

    def __call__(self, chunk: _Chunk) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Codes of the chunk's pixels, its gain labels and the number of codes used."""
        tcv, lyv = chunk.data[0], chunk.data[1]
        if self.same:
            self.same = np.array_equal(tcv, lyv)
            self.nonzero = self.nonzero or (self.same and bool(tcv.any()))
        valid = _and(chunk.valid[0], chunk.valid[1])
        has_gain = len(chunk.data) > 2
        if has_gain:
            self.layers[2].check(chunk.data[2], chunk.valid[2], chunk.rows[0], chunk.cols[0])
            valid = _and(valid, chunk.valid[2])
        if self.fast:
            code = self.lut[(tcv.astype(np.uint16) << 8) | lyv]
            m = int(lyv.max())
            if m and m == self.ly_nodata:
                rest = lyv[lyv != m]
                m = int(rest.max()) if rest.size else 0
            self.vmax = max(self.vmax, m)
        else:
            code = self._general(chunk, valid)
        # before the masking: a tree-cover or loss-year value outside its domain is refused
        # wherever it lies, also on a pixel where only the gain raster has nodata (as on the
        # general path); ``top`` stays an upper bound of the codes left after it
        top = int(code.max())
        if self.fast and top == _OUT:
            self._diagnose(chunk)
        if valid is not None:
            code[~valid] = 0
        gain_lab = None
        if has_gain:
            gain_lab = ((code > 0) & (chunk.data[2] > 0)).astype(np.uint8)
        return code, gain_lab, max(3, top + 1)

    def _diagnose(self, chunk: _Chunk) -> None:
        """Raise the domain error of a chunk the lookup table coded ``_OUT`` (nodata masked)."""
        (r0, r1), (c0, c1) = chunk.rows, chunk.cols
        for layer in self.layers[:2]:
            layer.check(*layer.read(r0, r1, c0, c1), r0, c0)
        raise RasterError(  # not reached: the table and the domains agree
            f"{self.layers[0].describe()}: a value outside its domain near pixel row {r0}"
        )

    def finish(self) -> None:
        """Layer-wide rules once every chunk is coded."""
        if self.same and self.nonzero:
            tc, ly = self.layers[0], self.layers[1]
            raise RasterError(
                f"{ly.describe()}: the loss-year raster (lossyear=, --lossyear) holds exactly the "
                f"values of the tree-cover raster {Path(tc.tiles[0].path).name} (treecover=, "
                "--treecover) in every pixel read: one raster given twice? give the Hansen "
                "treecover2000 and lossyear rasters"
            )
        for layer in self.layers:
            layer.finish()

    def _general(self, chunk: _Chunk, valid: np.ndarray | None) -> np.ndarray:
        tcv, lyv = chunk.data[0], chunk.data[1]
        for i in (0, 1):
            self.layers[i].check(chunk.data[i], chunk.valid[i], chunk.rows[0], chunk.cols[0])
        ok = np.ones(tcv.shape, dtype=bool) if valid is None else valid
        ok &= ~np.isnan(tcv) if tcv.dtype.kind == "f" else True
        if lyv.dtype.kind == "f":
            v = np.rint(np.nan_to_num(lyv)).astype(np.int64)
        else:
            v = lyv.astype(np.int64)
        v = np.where(v > 2000, v - 2000, v)  # calendar years (2001, ...) accepted
        present = ok & (v != 0)
        if present.any():
            self.vmax = max(self.vmax, int(v[present].max()))
        forest = ok & (tcv > self.canopy)
        code = np.where(ok, np.where(forest, np.where(v > 0, 2 + v, 2), 1), 0)
        return code.astype(np.uint16)


def _and(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


# --------------------------------------------------------------------------- protection over time


@dataclass
class _Protection:
    """Disjoint pieces of the zones inside protected areas, measured beside the zones.

    Each piece holds for the loss years ``after < Y <= until``: kind 0 pieces count inside
    designated areas, kind 1 pieces inside areas of unknown status year only.
    """

    geoms: np.ndarray  # lon/lat
    zone: np.ndarray  # zone position of each piece
    kind: np.ndarray
    after: np.ndarray
    until: np.ndarray


def _checked_status_years(pas: gpd.GeoDataFrame, name: str) -> np.ndarray:
    """``status_year`` as floats (NaN unknown); a value that is not a past year is refused.

    The same years as :func:`asm_pace.read_protected_areas` keeps (which blanks the others).
    """
    from .protected_areas import _FIRST_YEAR

    raw = pd.Series(pas["status_year"]).reset_index(drop=True)
    num = pd.to_numeric(raw, errors="coerce").astype("Float64")
    year = num.to_numpy(dtype=float, na_value=np.nan)
    this_year = datetime.date.today().year
    with np.errstate(invalid="ignore"):
        ok = np.isnan(year) | (
            (year >= _FIRST_YEAR) & (year <= this_year) & (year == np.round(year))
        )
    bad = ~ok | (raw.notna().to_numpy() & np.isnan(year))
    if bad.any():
        ids = pas["pa_id"] if "pa_id" in pas.columns else pd.Series(range(len(pas)))
        shown = ", ".join(f"{i} ({v})" for i, v in zip(ids[bad][:5], raw[bad][:5], strict=True))
        raise InputError(
            f"{name}: status_year (STATUS_YR) of {int(bad.sum())} protected area(s) is not a "
            f"year from {_FIRST_YEAR} to {this_year}: {shown}; correct them, or set unknown "
            "years to <NA> (asm_pace.read_protected_areas reads STATUS_YR 0 and non-years so)"
        )
    return year


def _checked_pas(protected_areas: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The protected areas in lon/lat, repaired, polygons only, and their status years."""
    from .overlap import _check_layer  # only when asked

    pas = _check_layer(
        protected_areas, "protected areas", "status_year", "asm_pace.read_protected_areas"
    )
    name = source_name(protected_areas)
    lines = ~np.isin(shapely.get_type_id(np.asarray(pas.geometry.values, dtype=object)), (3, 6))
    if lines.any():  # a point or line would meet no pixel: every loss would count as outside
        raise InputError(
            f"{name}: protected areas in rows {row_list(lines)} are not polygons; give polygons "
            "(asm_pace.read_protected_areas turns WDPA point records into circles of REP_AREA)"
        )
    return pas, _checked_status_years(pas, name)


class _CentreProtection:
    """Each loss pixel's protection, decided at its centre, folded into the forest codes.

    A loss pixel of year ``Y`` (code ``c = 2 + Y - 2000``) is *designated* when its centre
    lies in an area whose status year is before ``Y``, *unknown* when not designated and in
    an area of unknown year, else *outside*. Its code becomes ``c``, ``c + (k - 3)`` or
    ``c + 2 (k - 3)``: the zones' sums of the folded codes give the loss of each year
    inside, of unknown year and outside in one pass of the coverage kernel, with no cutting
    of the zones. The areas meeting a window are burnt onto it by GDAL's rasteriser
    (rasterio, a pixel whose centre is inside): the earliest status year of each pixel,
    and whether an area of unknown year holds it.
    """

    def __init__(self, pas: gpd.GeoDataFrame, year: np.ndarray, grid: Grid):
        order = np.argsort(-np.nan_to_num(year, nan=0.0), kind="stable")  # latest first
        self.geoms = _prepare_zones(pas, grid, "protected areas")[order]
        self.year = year[order]
        self.tree = shapely.STRtree(self.geoms)
        self.grid = grid

    def __call__(self, code: np.ndarray, r0: int, c0: int, k: int) -> tuple[np.ndarray, int]:
        """The folded codes of a window at global row ``r0``, column ``c0``, and their count."""
        from rasterio.features import rasterize
        from rasterio.transform import Affine

        h, w = code.shape
        lost = code > 2
        if not lost.any():
            return code, 3 * k - 6
        g = self.grid
        xs = (g.x0 + c0 * g.dx, g.x0 + (c0 + w) * g.dx)
        ys = (g.y0 + r0 * g.dy, g.y0 + (r0 + h) * g.dy)
        hit = np.sort(self.tree.query(shapely.box(min(xs), min(ys), max(xs), max(ys))))
        if hit.size == 0:
            return code, 3 * k - 6
        transform = Affine(g.dx, 0.0, xs[0], 0.0, g.dy, ys[0])
        year = self.year[hit]
        dated = ~np.isnan(year)
        first = np.zeros((h, w), dtype=np.uint16)
        if dated.any():  # latest first: each pixel keeps the earliest year burnt on it
            shapes = zip(self.geoms[hit[dated]], year[dated].astype(np.uint16), strict=True)
            first = rasterize(shapes, (h, w), fill=0, transform=transform, dtype="uint16")
        unknown = np.zeros((h, w), dtype=bool)
        if not dated.all():
            shapes = ((geom, 1) for geom in self.geoms[hit[~dated]])
            unknown = rasterize(shapes, (h, w), fill=0, transform=transform, dtype="uint8") > 0
        loss_year = 1998 + code.astype(np.int32)
        inside = lost & (first > 0) & (first < loss_year)
        unknown &= lost & ~inside
        shift = (inside * 1 + unknown * 2).astype(code.dtype) * (k - 3)
        return code + shift, 3 * k - 6


def _protection_pieces(zg: np.ndarray, pas: gpd.GeoDataFrame, year: np.ndarray) -> _Protection:
    """Each zone cut by the status years of the protected areas it meets, into disjoint pieces.

    ``zg`` are the zones in lon/lat, ``pas`` and ``year`` from :func:`_checked_pas` (the
    ``pa_coverage="exact"`` rule). Per zone, its areas' distinct known years
    ``y1 < y2 < ...`` give the pieces ``D_i`` = zone & (areas of year ``y_i``) minus the
    areas of earlier years: ``D_i`` is inside a designated area for the loss years after
    ``y_i`` (an area counts from the year after its status year), so the designated
    part in year ``Y`` is the union of the ``D_i`` with ``y_i < Y`` (the sets only grow).
    Areas of unknown year give ``E`` = zone & (those areas) minus every dated area (never
    designated, always unknown) and ``F_i`` = ``D_i`` & (those areas), unknown for the
    loss years up to ``y_i``. The pieces of a zone do not overlap, so their outlines
    (the coverage work) add up to little more than the zone's and its areas' edges.
    """
    from .overlap import _grouped_union, _intersections  # only when asked

    n = zg.size
    zi, li, pieces = _intersections(zg, np.asarray(pas.geometry.values, dtype=object))
    pieces = polygonal_parts(pieces)
    keep = ~shapely.is_empty(pieces)
    zi, y, pieces = zi[keep], year[li[keep]], pieces[keep]
    known = ~np.isnan(y)
    keys, group = np.unique(np.column_stack([zi[known], y[known]]), axis=0, return_inverse=True)
    gz, gy = keys[:, 0].astype(np.intp), keys[:, 1]
    grp = _grouped_union(pieces[known], group.ravel(), len(keys))
    first = np.r_[True, gz[1:] != gz[:-1]] if gz.size else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(gz.size), 0)) if gz.size else gz
    rank = np.arange(gz.size) - start
    cum, new = grp.copy(), grp.copy()
    for r in range(1, int(rank.max(initial=0)) + 1):  # a zone's years in order, all zones at once
        at = np.flatnonzero(rank == r)
        new[at] = shapely.difference(grp[at], cum[at - 1])
        cum[at] = shapely.union(cum[at - 1], grp[at])
    unknown = _grouped_union(pieces[~known], zi[~known], n)
    dated = np.full(n, None, dtype=object)
    last = np.r_[gz[1:] != gz[:-1], True] if gz.size else first
    dated[gz[last]] = cum[last]
    uz = np.flatnonzero(~shapely.is_missing(unknown))
    e = np.where(
        shapely.is_missing(dated[uz]), unknown[uz], shapely.difference(unknown[uz], dated[uz])
    )
    fg = np.flatnonzero(~shapely.is_missing(unknown[gz]))
    f = shapely.intersection(new[fg], unknown[gz[fg]])
    geoms = polygonal_parts(np.concatenate([new, e, f]))
    out = _Protection(
        geoms=geoms,
        zone=np.concatenate([gz, uz, gz[fg]]),
        kind=np.repeat([0, 1, 1], [gz.size, uz.size, fg.size]),
        after=np.concatenate([gy, np.full(uz.size + fg.size, -np.inf)]),
        until=np.concatenate([np.full(gz.size + uz.size, np.inf), gy[fg]]),
    )
    useful = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    for field in ("geoms", "zone", "kind", "after", "until"):
        setattr(out, field, getattr(out, field)[useful])
    return out


def _pieces_split(prot: _Protection, loss: np.ndarray, shape: tuple[int, int]):
    """Loss per zone and year inside designated areas and of unknown year only, from the
    pieces' loss by year (``pa_coverage="exact"``)."""
    years = 2001 + np.arange(shape[1])
    when = (years > prot.after[:, None]) & (years <= prot.until[:, None])
    part = np.where(when, loss, 0.0)
    in_pa = np.zeros(shape)
    unknown = np.zeros(shape)
    np.add.at(in_pa, prot.zone[prot.kind == 0], part[prot.kind == 0])
    np.add.at(unknown, prot.zone[prot.kind == 1], part[prot.kind == 1])
    return in_pa, unknown


def _protection_columns(
    in_pa: np.ndarray, unknown: np.ndarray, total: np.ndarray
) -> dict[str, np.ndarray]:
    """Loss per zone and year inside designated areas, of unknown year only, and outside.

    ``total`` holds each zone's loss by year (from 2001); outside is the rest, so the three
    add up to the zone's loss (float noise clipped at 0).
    """
    last = total.shape[1]
    years = 2001 + np.arange(last)
    in_pa = np.minimum(in_pa, total)
    unknown = np.minimum(unknown, total - in_pa)
    outside = np.maximum(total - in_pa - unknown, 0.0)
    cols: dict[str, np.ndarray] = {
        "loss_total_in_pa_ha": in_pa.sum(axis=1),
        "loss_total_in_pa_unknown_year_ha": unknown.sum(axis=1),
        "loss_total_outside_pa_ha": outside.sum(axis=1),
    }
    for label, values in (
        ("in_pa", in_pa),
        ("in_pa_unknown_year", unknown),
        ("outside_pa", outside),
    ):
        for i in range(last):
            cols[f"loss_{years[i]}_{label}_ha"] = values[:, i]
    return cols


def _warn_pa_extent(zones: gpd.GeoDataFrame, protected_areas: gpd.GeoDataFrame) -> None:
    """Zones reaching past the box the protected areas were read for: in_pa is a lower bound."""
    from ._nearest import box_text, layer_box
    from .overlap import _beyond

    box = layer_box(protected_areas, "protected areas")
    beyond = _beyond(np.asarray(zones.geometry.values, dtype=object), box)
    if beyond.any():
        warnings.warn(
            f"{int(beyond.sum())} of {beyond.size} zone(s) (rows {row_list(beyond)}) reach "
            f"outside the box {box_text(box)} the protected areas of "
            f"{source_name(protected_areas)} were read for, so their loss_YYYY_in_pa_ha is a "
            "lower bound (and outside_pa an upper bound); read the protected areas with a box "
            "wider than the zones, or without bbox= (a Python option: the command line reads "
            "whole files)",
            ExtentWarning,
            stacklevel=3,
        )


def forest_loss(
    zones: gpd.GeoDataFrame,
    *,
    treecover: RasterInput,
    lossyear: RasterInput,
    gain: RasterInput | None = None,
    canopy: float = 30,
    coverage: str = "exact",
    protected_areas: gpd.GeoDataFrame | None = None,
    drivers: RasterInput | None = None,
    threads: int | None = None,
    pa_coverage: str = "center",
) -> pd.DataFrame:
    """Forest in 2000 and forest lost each year since, per zone (Hansen Global Forest Change).

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygon or MultiPolygon zones in any CRS (reprojected to the rasters').
    treecover : path, list of paths or folder
        Tree canopy cover in 2000, percent 0-100 (Hansen ``treecover2000``). A
        folder gives the files whose name holds ``treecover2000`` (any case) and
        no other; Hansen tiles are picked by the ``20N_080W`` part of their name.
        A VRT mosaic works as a single file. A floating-point raster whose
        values all lie in 0-1 (fractions) is refused.
    lossyear : path, list of paths or folder
        Year of gross forest loss: 0 no loss, ``v`` = year ``2000 + v`` up to the
        current year (calendar years such as 2013 are accepted too). Folders:
        ``lossyear``.
    gain : path, list of paths or folder, optional
        Forest gain 2000-2012 (1 = gain, 0 = none). Folders: ``gain``.
    canopy : float, default 30
        Forest in 2000 is tree cover strictly greater than ``canopy`` percent
        (as Global Forest Watch: ``canopy=30`` counts 31 % and up).
    coverage : {"exact", "center"}, default "exact"
        ``"exact"`` weights pixels on a zone's edge by the fraction inside it;
        ``"center"`` counts a pixel when its centre is inside (GFW's rule).
    protected_areas : geopandas.GeoDataFrame, optional
        Protected areas with a ``status_year`` column (Int64, ``<NA>`` when unknown), as
        :func:`asm_pace.read_protected_areas` returns them, in any CRS. Adds the loss of
        each year inside the areas already designated that year and outside them (see
        Returns and ``docs/forest.md``, "Protection over time").
    pa_coverage : {"center", "exact"}, default "center"
        How a loss pixel on a protected area's edge counts: ``"center"`` wholly inside or
        outside, by its centre (as GFW's statistics in protected areas), with the zone's
        ``coverage`` rule still weighting the zone's own edge; ``"exact"`` by the fraction of
        it inside the areas, which cuts every zone by the areas it meets (about 10 times the
        time and memory among many dense areas). Under ``coverage="center"`` both agree.
    drivers : path, list of paths or folder, optional
        The WRI / Google DeepMind drivers of tree-cover loss (Sims et al. 2025, 1 km, classes
        1-7, :data:`asm_pace.drivers.DRIVER_CLASSES`), on any grid and CRS. Each loss pixel
        takes the class of the drivers cell holding its centre; adds the
        ``loss_driver_<class>_ha`` columns (see Returns and ``docs/drivers.md``). Folders:
        ``drivers``.
    threads : int, optional
        Threads for the compiled coverage kernel of runs with many zones (at most
        :data:`asm_pace._coverage.GROUPS` are used). Default: both cores in the main
        thread of the main process, one inside a worker process or thread (chunks run in
        parallel there already). The result is the same, bit for bit, for any number.

    Returns
    -------
    pandas.DataFrame
        On the zones' index and order: ``zone_area_ha`` (area of the zone on the
        pixel grid, on and off the rasters, under the coverage rule),
        ``forest_2000_ha``, ``loss_total_ha``, ``loss_pct`` (of forest 2000),
        ``loss_YYYY_ha`` for every year from 2001 to the product's last year
        (read from Hansen file names, e.g. ``GFC-2023``) or to the last year
        present in the pixels read (the zones' bounding boxes), ``gain_ha`` when ``gain`` is given, and
        ``data_coverage`` (share of the zone on pixels where every raster has
        data). Zones wholly without data get NaN statistics. With ``protected_areas``:
        ``loss_YYYY_in_pa_ha`` (loss in year ``YYYY`` inside areas whose status year is
        before ``YYYY``), ``loss_YYYY_in_pa_unknown_year_ha`` (inside areas of unknown
        status year only), ``loss_YYYY_outside_pa_ha`` (the rest: the three add up to
        ``loss_YYYY_ha``), and their ``loss_total_..._ha`` sums. With ``drivers``:
        ``loss_driver_<class>_ha`` for the seven classes (``permanent_agriculture``,
        ``hard_commodities``, ...) and ``loss_driver_unknown_ha`` (class 0, nodata or off
        the drivers raster); they add up to ``loss_total_ha``.

    Raises
    ------
    RasterError
        Rasters on different grids, rotated rasters; a file named for another
        layer (``lossyear`` given as ``treecover``), one file for two layers, a
        folder without a file of the layer's name, overlapping tiles or tiles of
        different data types; a value outside the layer's domain (tree cover
        0-100, loss year 0 to the current year, gain 0/1) or a nodata tag inside
        it; no zone with any data.
    SchemaError
        ``protected_areas`` without a ``status_year`` column.
    InputError
        A status year that is not a year from 1000 to the current year; ``threads``
        not a whole number of 1 or more.
    CRSError
        Zones (or protected areas) without a CRS.

    Warns
    -----
    CoverageWarning
        For zones partly or wholly off the rasters or on nodata pixels.
    ExtentWarning
        For zones reaching past the box the protected areas were read for
        (``attrs["bbox"]``): their in-protected-area loss is then a lower bound.

    Notes
    -----
    Pixel areas are exact areas of the latitude/longitude cells on the
    rasters' ellipsoid, row by row (see ``docs/forest.md``).

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from asm_pace import datasets, geodesic_circles
    >>> from asm_pace.forest import forest_loss
    >>> import rasterio
    >>> with rasterio.open(datasets.sample_path("treecover2000.tif")) as ds:
    ...     x, y = ds.xy(ds.height // 2, ds.width // 2)
    >>> zones = gpd.GeoDataFrame(geometry=geodesic_circles([x], [y], 500.0), crs=4326)
    >>> out = forest_loss(zones, treecover=datasets.sample_path("treecover2000.tif"),
    ...                   lossyear=datasets.sample_path("lossyear.tif"))
    >>> round(float(out["zone_area_ha"].iloc[0]))  # pi * 0.5 km2 ~ 78.5 ha
    79
    >>> bool(out["loss_total_ha"].iloc[0] <= out["forest_2000_ha"].iloc[0])
    True
    """
    _check_coverage(coverage)
    _check_coverage(pa_coverage, "pa_coverage")
    threads = _check_threads(threads)
    try:
        canopy = float(canopy)
    except (TypeError, ValueError) as err:
        raise InputError(f"canopy must be a number of percent (0-100), got {canopy!r}") from err
    if not 0.0 <= canopy < 100.0:
        raise InputError(f"canopy must be between 0 and 100 (exclusive of 100), got {canopy}")
    zones = _lonlat_zones(zones)
    if threads > 1:  # while the rasters are opened and the zones prepared
        cov.load_kernels(int(shapely.get_num_coordinates(zones.geometry.values).sum()))
    tb = _zone_bounds_4326(zones)
    layers = open_forest_layers(treecover, lossyear, gain, bounds=tb)
    grid = layers[0].grid
    n = len(zones)
    split = None
    if drivers is not None:  # who it is, before any pixel is read
        from .drivers import N_LABELS, DriverLabels, open_drivers_layer

        split = DriverLabels(open_drivers_layer(drivers, layers, bounds=tb), grid)
    measured = zones
    prot = centre = None
    if protected_areas is not None:
        pas, status = _checked_pas(protected_areas)
        _warn_pa_extent(zones, protected_areas)
        if pa_coverage == "center":  # the loss pixels labelled at their centres
            centre = _CentreProtection(pas, status, grid)
            split_acc = np.zeros((2, n, 32))  # inside, unknown year: loss by code - 3
        else:  # the pieces inside protected areas, measured alongside
            prot = _protection_pieces(np.asarray(zones.geometry.values, dtype=object), pas, status)
            measured = gpd.GeoDataFrame(
                geometry=np.concatenate([zones.geometry.values, prot.geoms]), crs=zones.crs
            )
    geoms = _prepare_zones(measured, grid)
    acc = np.zeros((len(measured), 32))  # widened when a chunk holds more codes
    gain_acc = np.zeros(len(measured))
    drv_acc = None if split is None else np.zeros((len(measured), N_LABELS))
    coder = _ForestCoder(layers, canopy)
    with ExitStack() as stack:
        for layer in layers:
            layer.open_all(stack)
        if split is not None:
            split.layer.open_all(stack)
        # coded in order (the coder counts), by the thread reading the windows
        chunks = _iter_chunks(geoms, layers, coverage, coder.mask_nodata, threads, coder)
        # the protection's folded codes and the drivers' labels here (GDAL's rasteriser,
        # reading a raster: in this thread); each window's sums on a thread of its own,
        # added here in window order (closed, its threads done, before the rasters are)
        ahead = stack.enter_context(closing(chunks))
        labelled = (
            (
                chunk,
                code,
                gain_lab,
                k,
                None if centre is None else centre(code, *_origin(chunk), k),
                None if split is None else split(code, *_origin(chunk)),
            )
            for chunk, (code, gain_lab, k) in ahead
        )
        sums_of = _WindowSums(N_LABELS if split is not None else 0)
        for chunk, k, sums, parts, gs, ds in stack.enter_context(
            closing(_in_order(sums_of, labelled, threads))
        ):
            piece_zone = chunk.zone
            acc = _widened(acc, k)
            if parts is not None:
                split_acc = _widened(split_acc, k - 3)
                split_acc[:, piece_zone, : k - 3] += parts.transpose(1, 0, 2)
            # a zone has at most one piece in a window: a plain indexed add (np.add.at, which
            # allows repeats, took 0.15 s at 100,000 zones)
            acc[piece_zone, :k] += sums
            if gs is not None:
                gain_acc[piece_zone] += gs[:, 1]
            if ds is not None:
                drv_acc[piece_zone] += ds
    coder.finish()
    vmax = coder.vmax
    year = hansen_year([t.path for t in layers[1].tiles])
    last = max(vmax, (year - 2000) if year else 0)
    scale = _area_scale(measured, geoms, grid)[:, None] / 1e4  # m2 -> ha
    acc = _widened(acc, 3 + last) * scale
    pieces_loss = np.maximum(acc[n:, 3 : 3 + last], 0.0)
    acc, scale, gain_acc = acc[:n], scale[:n], gain_acc[:n]
    # float cancellation in the prefix sums leaves ~1e-15 noise on absent classes
    tiny = 1e-9 * np.abs(acc).sum(axis=1, keepdims=True)
    acc[np.abs(acc) <= tiny] = 0.0
    np.maximum(acc, 0.0, out=acc)
    total = acc.sum(axis=1)
    valid_area = acc[:, 1:].sum(axis=1)
    forest_a = acc[:, 2:].sum(axis=1)
    loss_by_year = acc[:, 3 : 3 + last]
    with np.errstate(invalid="ignore", divide="ignore"):
        data_cov = np.where(total > 0, valid_area / total, np.nan)
        loss_pct = np.where(forest_a > 0, 100.0 * loss_by_year.sum(axis=1) / forest_a, np.nan)
    nodata = ~(data_cov > 0)
    cols: dict[str, np.ndarray] = {
        "zone_area_ha": total,
        "forest_2000_ha": forest_a,
        "loss_total_ha": loss_by_year.sum(axis=1),
        "loss_pct": loss_pct,
    }
    for i in range(last):
        cols[f"loss_{2001 + i}_ha"] = loss_by_year[:, i]
    if gain is not None:
        cols["gain_ha"] = gain_acc * scale[:, 0]
    if split is not None:
        from .drivers import split_columns

        split.layer.finish()
        cols.update(split_columns(drv_acc[:n] * scale))
    if prot is not None:
        in_pa, unknown = _pieces_split(prot, pieces_loss, loss_by_year.shape)
        cols.update(_protection_columns(in_pa, unknown, loss_by_year))
    elif centre is not None:
        in_pa, unknown = _widened(split_acc, last)[:, :, :last] * scale
        in_pa[in_pa <= tiny], unknown[unknown <= tiny] = 0.0, 0.0  # the same noise
        cols.update(_protection_columns(in_pa, unknown, loss_by_year))
    out = pd.DataFrame(cols, index=zones.index)
    out.loc[nodata, out.columns[1:]] = np.nan
    out["data_coverage"] = data_cov
    _warn_coverage(zones, data_cov, "forest rasters", layers)
    return out


def _zone_bounds_4326(zones: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """Bounds of zones already in lon/lat (:func:`_lonlat_zones`), or None when empty."""
    if zones.empty:
        return None
    b = zones.geometry.total_bounds
    return tuple(float(x) for x in b) if np.isfinite(b).all() else None


# --------------------------------------------------------------------------- raster_stats


def raster_stats(
    zones: gpd.GeoDataFrame,
    raster: RasterInput,
    *,
    categorical: bool = False,
    stats: Sequence[str] = ("count", "area_ha", "mean", "min", "max"),
    coverage: str = "exact",
) -> pd.DataFrame:
    """Zonal statistics of any raster with exact (or centre) coverage and ellipsoidal areas.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygon or MultiPolygon zones in any CRS.
    raster : path, list of paths or folder
        One band (the first) of a GeoTIFF, VRT, or aligned tiles; nodata honoured.
    categorical : bool, default False
        Treat values as classes (land cover): adds a ``class_<v>_ha`` column
        (area of class ``v``) for every class present.
    stats : sequence of str
        Names from :data:`RASTER_STATS`.
    coverage : {"exact", "center"}, default "exact"

    Returns
    -------
    pandas.DataFrame
        On the zones' index and order, one column per statistic (and per
        class when ``categorical``), plus ``data_coverage``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from asm_pace import datasets
    >>> from asm_pace.forest import raster_stats
    >>> import rasterio
    >>> with rasterio.open(datasets.sample_path("treecover2000.tif")) as ds:
    ...     b = ds.bounds
    >>> zone = shapely.box(b.left, b.bottom, b.left + 0.01, b.bottom + 0.01)
    >>> out = raster_stats(gpd.GeoDataFrame(geometry=[zone], crs=4326),
    ...                    datasets.sample_path("treecover2000.tif"), stats=("min", "max"))
    >>> list(out.columns)
    ['min', 'max', 'data_coverage']
    """
    _check_coverage(coverage)
    if isinstance(stats, str):
        stats = (stats,)
    stats = tuple(stats)
    unknown = [s for s in stats if s not in RASTER_STATS]
    if unknown:
        raise InputError(
            f"unknown statistic(s) {', '.join(map(repr, unknown))}; valid ones are: "
            + ", ".join(RASTER_STATS)
        )
    cat_only = {"majority", "minority"} & set(stats)
    if cat_only and not categorical:
        raise InputError(
            f"the statistics {', '.join(sorted(cat_only))} need categorical=True (raster_stats "
            "is for Python: the command line has no raster statistics of its own)"
        )
    zones = _lonlat_zones(zones)
    layer = open_layer(raster, bounds=_zone_bounds_4326(zones))
    grid = layer.grid
    geoms = _prepare_zones(zones, grid)
    n = len(zones)
    acc = np.zeros((n, 5))  # total area, valid area, count, sum(v*area), sum(v^2*area)
    vsum = np.zeros(n)
    vmin = np.full(n, np.inf)
    vmax = np.full(n, -np.inf)
    classes: dict[float, np.ndarray] = {}
    need_minmax = bool({"min", "max"} & set(stats))
    with ExitStack() as stack:
        layer.open_all(stack)
        for chunk, _ in _iter_chunks(geoms, [layer], coverage):
            data = chunk.data[0]
            valid = chunk.valid[0]
            vals = np.where(valid, data, 0).astype("float64")
            ones = np.ones_like(chunk.row_area)
            fields = np.stack([np.ones_like(vals), valid.astype(float), vals, vals * vals])
            npieces = len(chunk.zone)
            a = cov.field_sums(chunk.events, fields, chunk.row_area, npieces)
            c = cov.field_sums(chunk.events, fields[1:3], ones, npieces)
            np.add.at(
                acc, chunk.zone, np.column_stack([a[:, 0], a[:, 1], c[:, 0], a[:, 2], a[:, 3]])
            )
            np.add.at(vsum, chunk.zone, c[:, 1])
            if categorical:
                uniq, inv = np.unique(data[valid], return_inverse=True)
                if uniq.size:
                    lab = np.zeros(data.shape, dtype=np.int64)
                    lab[valid] = inv.ravel() + 1
                    s = cov.label_sums(chunk.events, lab, uniq.size + 1, chunk.row_area, npieces)
                    for j, u in enumerate(uniq):
                        arr = classes.setdefault(u.item(), np.zeros(n))
                        np.add.at(arr, chunk.zone, s[:, j + 1])
            if need_minmax:
                for p in range(npieces):
                    w, (r0, c0) = cov.dense_weights(chunk.events, p)
                    if w.size == 0:
                        continue
                    sl = (slice(r0, r0 + w.shape[0]), slice(c0, c0 + w.shape[1]))
                    m = (w > 1e-12) & valid[sl]
                    if m.any():
                        zi = chunk.zone[p]
                        vmin[zi] = min(vmin[zi], float(data[sl][m].min()))
                        vmax[zi] = max(vmax[zi], float(data[sl][m].max()))
    scale = _area_scale(zones, geoms, grid)
    total, valid_a, count, s1, s2 = (acc[:, i] for i in range(5))
    with np.errstate(invalid="ignore", divide="ignore"):
        data_cov = np.where(total > 0, valid_a / total, np.nan)
        mean = np.where(valid_a > 0, s1 / valid_a, np.nan)
        std = np.sqrt(np.maximum(np.where(valid_a > 0, s2 / valid_a, np.nan) - mean**2, 0.0))
    cols: dict[str, np.ndarray] = {}
    has = valid_a > 0
    class_cols = {f"class_{_fmt(k)}_ha": v * scale / 1e4 for k, v in sorted(classes.items())}
    for s in stats:
        if s == "count":
            cols[s] = count
        elif s == "area_ha":
            cols[s] = valid_a * scale / 1e4
        elif s == "sum":
            cols[s] = vsum
        elif s == "mean":
            cols[s] = mean
        elif s == "std":
            cols[s] = std
        elif s == "min":
            cols[s] = np.where(has & np.isfinite(vmin), vmin, np.nan)
        elif s == "max":
            cols[s] = np.where(has & np.isfinite(vmax), vmax, np.nan)
        elif s in ("majority", "minority"):
            keys = list(sorted(classes))
            mat = np.column_stack([classes[k] for k in keys]) if keys else np.zeros((n, 0))
            res = np.full(n, np.nan)
            if keys:
                pick = (
                    mat.argmax(axis=1)
                    if s == "majority"
                    else np.where(mat > 0, mat, np.inf).argmin(axis=1)
                )
                res = np.where(mat.max(axis=1) > 0, np.asarray(keys, dtype=float)[pick], np.nan)
            cols[s] = res
    out = pd.DataFrame(cols, index=zones.index)
    for name, v in class_cols.items():
        out[name] = v
    out["data_coverage"] = data_cov
    _warn_coverage(zones, data_cov, "raster", [layer])
    return out


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)
