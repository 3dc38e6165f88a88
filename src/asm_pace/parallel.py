"""Both cores: :func:`asm_pace.classify` over spatial chunks in a process pool.

The sites are sorted by a Hilbert key of their lon/lat (:func:`hilbert_order`, the
partitioning dask-geopandas uses) and cut into chunks by count
(:func:`spatial_chunks`). Each chunk is classified in a worker process of a
:class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` context: GDAL and
threads do not survive ``fork``); the worker reads **itself** the protected areas of a
box around its chunk (``read_protected_areas(bbox=...)``; a box across +-180 degrees as
its two parts, each area once, in the layer's order) and, once per process, the
ecoregions and priority landscapes: no layer is shipped to it, only the chunk's sites
and the paths.

A box is wide enough when every point within a site's nearest distance plus its
location uncertainty lies in it (a protected area missing from a layer read for a box
lies wholly outside it, :func:`asm_pace._nearest.layer_box`): then nothing outside the
box can change any column. The worker reads the chunk's bounds widened by
:data:`FIRST_MARGIN_KM`, bounds each site's nearest distance from above (a geodesic
distance to a boundary vertex read) and reads the box that bound asks for when it is
wider; the distances found are checked against the box all the same (else the whole
layer is read). The chunks' results are put back in the sites' order and are
identical, bit for bit, to one :func:`asm_pace.classify` call.

classify's extent check (sites in no ecoregion or far from every protected area) is
made once by the parent on all the sites, so its messages count them all. Whenever a
worker's classify warns or refuses otherwise, its message would count only that
chunk's sites: the whole classification is then run once more serially, so warnings
and errors are the serial run's, word for word, and given once. Small runs (fewer than
:data:`MIN_PARALLEL_SITES` sites) never start a pool (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import AsmPaceError, AsmPaceWarning, EmptyBoxError, InputError

__all__ = [
    "MIN_PARALLEL_SITES",
    "default_jobs",
    "check_jobs",
    "hilbert_order",
    "spatial_chunks",
    "site_chunks",
    "classify_parallel",
    "classify_run",
    "classify_blocks",
    "chunk_executor",
    "clear_reads",
]

#: Below this many sites a run is serial whatever ``jobs`` says: starting worker processes
#: and reading the layers in each costs more than it saves (docs/scale.md, measured).
MIN_PARALLEL_SITES = 100_000
#: Sites per chunk (at least one chunk per worker): small Hilbert chunks read small boxes
#: and classify for less CPU, and many chunks keep every worker busy to the end (measured:
#: docs/distributed.md).
SITES_PER_CHUNK = 30_000
#: The first margin (km) of a chunk's protected-area box around its sites.
FIRST_MARGIN_KM = 100.0
#: Slack (m) between a site's nearest distance and its box's edge, for round-off.
_EDGE_SLACK_M = 1_000.0
#: Hilbert curve level (2**16 cells a side, as dask-geopandas and geopandas use).
HILBERT_LEVEL = 16
_WORLD = (-180.0, -90.0, 180.0, 90.0)


def default_jobs() -> int:
    """The number of cores this process may run on (``os.sched_getaffinity``).

    Examples
    --------
    >>> default_jobs() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_jobs(jobs: object) -> int:
    """``jobs=`` (``--jobs``) as a number of worker processes: ``None`` -> every core.

    Examples
    --------
    >>> check_jobs(2)
    2
    >>> check_jobs(0)
    Traceback (most recent call last):
    asm_pace.errors.InputError: jobs=0 (--jobs): the number of worker processes must be a ...
    """
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or int(jobs) < 1:
        raise InputError(
            f"jobs={jobs!r} (--jobs): the number of worker processes must be a whole number "
            "of 1 or more (1: serial), e.g. --jobs 2"
        )
    return int(jobs)


def hilbert_order(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Positions of ``sites`` sorted by the Hilbert key of their lon/lat box centres.

    The key is taken on the whole globe (``total_bounds`` -180, -90, 180, 90, level
    :data:`HILBERT_LEVEL`), so a site's key does not depend on the other sites: the same
    partitioning as ``dask_geopandas``'s ``spatial_shuffle``. Ties keep the sites' order.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([170, -170, 171, -169], [0, 0, 1, 1]),
    ...                        crs=4326)
    >>> order = hilbert_order(pts)
    >>> sorted(order[:2].tolist()), sorted(order[2:].tolist())  # west of 180, then east
    ([1, 3], [0, 2])
    """
    from ._vector import to_wgs84

    geoms = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    return np.argsort(_hilbert_keys(geoms), kind="stable")


def _hilbert_keys(geoms: np.ndarray) -> np.ndarray:
    """The Hilbert key of each lon/lat geometry's box centre (:func:`hilbert_order`); a
    site's key does not depend on the others, so parts of the sites may compute theirs."""
    bounds = np.nan_to_num(shapely.bounds(geoms))  # an empty geometry: at (0, 0)
    centres = gpd.GeoSeries(
        shapely.points((bounds[:, 0] + bounds[:, 2]) / 2.0, (bounds[:, 1] + bounds[:, 3]) / 2.0)
    )
    return centres.hilbert_distance(total_bounds=_WORLD, level=HILBERT_LEVEL).to_numpy()


def site_chunks(n_sites: int, threads: int) -> int:
    """How many spatial chunks a run of ``n_sites`` sites on ``threads`` workers (pool
    processes or dask worker threads) is cut into: about :data:`SITES_PER_CHUNK` sites
    each, a whole number of chunks per worker (at least one), so the workers end together.

    Examples
    --------
    >>> site_chunks(1_000_000, 2), site_chunks(50_000, 2), site_chunks(10, 4)
    (34, 2, 4)
    """
    threads = max(1, int(threads))
    return threads * math.ceil(max(1, int(n_sites)) / (SITES_PER_CHUNK * threads))


def spatial_chunks(sites: gpd.GeoDataFrame, n_chunks: int) -> list[np.ndarray]:
    """Positions of ``sites`` cut into ``n_chunks`` spatial chunks of (nearly) equal count.

    Consecutive runs of :func:`hilbert_order`; each chunk's positions are sorted, and
    together the chunks hold every position once. Empty chunks are left out.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([170, -170, 171, -169], [0, 0, 1, 1]),
    ...                        crs=4326)
    >>> [c.tolist() for c in spatial_chunks(pts, 2)]
    [[1, 3], [0, 2]]
    """
    return _cut(hilbert_order(sites), n_chunks)


def _cut(order: np.ndarray, n_chunks: int) -> list[np.ndarray]:
    """The positions ``order`` cut into ``n_chunks`` runs of (nearly) equal count, each
    sorted; empty runs left out."""
    parts = np.array_split(order, max(1, int(n_chunks)))
    return [np.sort(p) for p in parts if p.size]


@dataclass(frozen=True)
class _Spec:
    """What a worker needs to classify a chunk: paths and options, never layers."""

    protected_areas: str
    ecoregions: str
    priority_landscapes: str | None
    pa_options: dict[str, Any] = field(default_factory=dict)
    eco_options: dict[str, Any] = field(default_factory=dict)
    land_options: dict[str, Any] = field(default_factory=dict)
    uncertainty_m: float | None = None
    margin_km: float = FIRST_MARGIN_KM


#: Per worker process: the ecoregions and landscapes read, by (kind, path, the file's
#: identity, options); emptied by :func:`clear_reads`.
_READ: dict[tuple[str, str, tuple[int, int] | None, str], gpd.GeoDataFrame] = {}


def _identity(path: str) -> tuple[int, int] | None:
    """A file's modification time (ns) and size: a file changed since is read anew."""
    try:
        stat = os.stat(path)
    except OSError:  # not a local file (a URL GDAL reads): by its path alone
        return None
    return stat.st_mtime_ns, stat.st_size


def clear_reads() -> int:
    """Forget the layers this process has read for chunks; the number forgotten.

    A worker process (of the pool, or of a dask cluster) reads the ecoregions and
    priority landscapes once and keeps them for the chunks it classifies next, keyed on
    the file's path, modification time and size and the reader's options.
    :mod:`asm_pace.distributed` calls this at a run's first chunk on each worker, so a
    long-lived worker keeps nothing from one run to the next.

    Examples
    --------
    >>> clear_reads() >= 0
    True
    >>> clear_reads()
    0
    """
    forgotten = len(_READ)
    _READ.clear()
    return forgotten


def _read_once(kind: str, path: str, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    import asm_pace

    key = (kind, path, _identity(path), repr(sorted(options.items())))
    if key not in _READ:
        reader = (
            asm_pace.read_ecoregions if kind == "ecoregions" else asm_pace.read_priority_landscapes
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the parent's own read gave them
            _READ[key] = reader(path, **options)
    return _READ[key]


Box = tuple[float, float, float, float]
#: A box to read: one box, or the two parts of a box across +-180 degrees (the west part
#: up to 180, the east part from -180); None (where allowed): the whole layer.
Boxes = Box | tuple[Box, Box]


def _parts(box: Boxes) -> list[Box]:
    """The parts of ``box``: itself, or its two parts across +-180 degrees."""
    return list(box) if isinstance(box[0], tuple) else [box]  # type: ignore[list-item]


def _wrap(west: float, south: float, east: float, north: float) -> Boxes | None:
    """A box whose longitudes may run past +-180 (by less than a turn) as one box or its
    two parts; None: every longitude and latitude, or not finite."""
    box = (west, south, east, north)
    if not np.isfinite(box).all() or east - west >= 360.0:
        return None
    if west < -180.0:
        return ((west + 360.0, south, 180.0, north), (-180.0, south, east, north))
    if east > 180.0:
        return ((west, south, 180.0, north), (-180.0, south, east - 360.0, north))
    return None if box == _WORLD else box


def _box_for(geoms: np.ndarray, need_m: np.ndarray) -> Boxes | None:
    """A lon/lat box holding every point within ``need_m`` of each geometry; None: the world.

    The union of :func:`asm_pace._nearest.widen_boxes` (never too small), the narrower
    of the union as given and the one with the western boxes moved east by 360 degrees
    (sites on both sides of 180); past +-180 degrees it is read as its two parts
    (:func:`_wrap`), not as every longitude.
    """
    from ._nearest import widen_boxes

    some = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))  # the others need nothing
    if not some.any():
        return None
    boxes = widen_boxes(shapely.bounds(geoms[some]), np.asarray(need_m, dtype="float64")[some])
    lons = boxes[:, [0, 2]]
    west, east = float(lons[:, 0].min()), float(lons[:, 1].max())
    moved = lons + np.where(lons.sum(axis=1) < 0.0, 360.0, 0.0)[:, None]
    if moved[:, 1].max() - moved[:, 0].min() < east - west - 1e-9:  # narrower across 180
        west, east = float(moved[:, 0].min()), float(moved[:, 1].max())
    return _wrap(west, float(boxes[:, 1].min()), east, float(boxes[:, 3].max()))


def _within(inner: Boxes | None, outer: Boxes | None) -> bool:
    """Whether every part of ``inner`` lies in a part of ``outer`` (None: the world)."""
    if outer is None:
        return True
    if inner is None:
        return False
    return all(
        any(i[0] >= o[0] and i[1] >= o[1] and i[2] <= o[2] and i[3] <= o[3] for o in _parts(outer))
        for i in _parts(inner)
    )


def _read_pas(spec: _Spec, box: Boxes | None) -> gpd.GeoDataFrame:
    """The protected areas of ``box`` (all without one); a box across +-180 is read as its
    two parts, put together by :func:`_merge_reads` (a part nothing meets is left out)."""
    import asm_pace

    reads: list[gpd.GeoDataFrame] = []
    empty: list[EmptyBoxError] = []
    for part in [None] if box is None else _parts(box):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the parent's own read gave them
            try:
                pas = asm_pace.read_protected_areas(
                    spec.protected_areas,
                    **spec.pa_options,
                    **({} if part is None else {"bbox": part}),
                )
            except EmptyBoxError as err:  # nothing in the file meets this part
                if part is None or len(_parts(box)) == 1:
                    raise
                empty.append(err)
                continue
        pas.attrs.pop("bbox", None)  # classified as the whole layer: the box is checked here
        reads.append(pas)
    if not reads:
        raise empty[0]
    return reads[0] if len(reads) == 1 else _merge_reads(*reads)


def _merge_reads(west: gpd.GeoDataFrame, east: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of two reads of one layer, each area once, in the layer's order.

    A row of both reads (the same ``pa_id``, ``wdpa_pid`` and geometry, counted by
    occurrence) is taken from ``west``. Both reads list their rows in the file's order,
    which the merged rows keep: each row only ``east`` holds goes just before the next row
    both hold. (Two box reads cannot tell the file's order of a row only ``west`` holds and
    one only ``east`` holds between the same two shared rows: the western one is put
    first.) The geometries stay the objects read, so the readers' validity marks hold.
    """
    from ._vector import VALID_KEY, ValidMark

    def keys(pas: gpd.GeoDataFrame) -> pd.Series:
        wkb = pd.Series(shapely.to_wkb(np.asarray(pas.geometry.values, dtype=object)))
        key = pas["pa_id"].astype(str).to_numpy() + "\x1f" + pas["wdpa_pid"].astype(str).to_numpy()
        key = pd.Series(key) + "\x1f" + wkb.map(bytes.hex)
        return key + "\x1f" + key.groupby(key).cumcount().astype(str)

    at = pd.Series(np.arange(len(west)), index=keys(west))
    in_west = at.reindex(keys(east)).to_numpy()  # the west position of each east row, or nan
    shared = ~np.isnan(in_west)
    after = np.where(shared, in_west, float(len(west)))[::-1]
    before = (np.fmin.accumulate(after) if len(east) else after)[::-1]  # the next shared row
    only = np.flatnonzero(~shared)
    rank = np.r_[np.arange(len(west)), before[only] - 0.5]
    order = np.lexsort((np.r_[np.zeros(len(west)), only], rank))
    merged = pd.concat([west, east.iloc[only]], ignore_index=True).iloc[order]
    out = gpd.GeoDataFrame(merged.reset_index(drop=True), geometry="geometry", crs=west.crs)
    out.attrs = dict(west.attrs)
    marks = [r.attrs.get(VALID_KEY) for r in (west, east)]
    if all(isinstance(m, ValidMark) for m in marks):
        out.attrs[VALID_KEY] = ValidMark(np.concatenate([m._held for m in marks]))
    return out


def _classify_chunk(sites: gpd.GeoDataFrame, spec: _Spec) -> tuple[str, Any, Boxes | None]:
    """Classify one chunk in a worker: ``("ok", result, box)`` or ``("serial", why, box)``.

    The protected areas are read for a box around the chunk (``spec.margin_km``; wider
    while nothing is left in it). An upper bound of each site's nearest distance (to a
    boundary point of the area nearest in lon/lat) plus its uncertainty gives the box
    that surely holds every area that can change its columns; it is read when it is
    wider. Of the areas read, classify is given only those near a site of the chunk
    (:func:`_near_sites`: each site's own box, not the chunk's). The distances found are
    checked against those boxes all the same (else the chunk's box is used whole, and
    then the whole layer).
    """
    from ._vector import to_wgs84

    eco = _read_once("ecoregions", spec.ecoregions, spec.eco_options)
    pls = None
    if spec.priority_landscapes is not None:
        pls = _read_once("landscapes", spec.priority_landscapes, spec.land_options)
    geoms = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    margin = spec.margin_km
    while True:
        box: Boxes | None = None  # half the meridian: every area
        if margin <= 20_100.0:
            box = _box_for(geoms, np.full(geoms.size, margin * 1e3))
        try:
            pas = _read_pas(spec, box)
            break
        except AsmPaceError as err:
            if box is None:
                return "serial", str(err), box
            margin *= 4.0  # nothing left in the box: look farther
    need = None
    if box is not None:
        need = _need_m(_nearest_bound_m(geoms, pas), spec.uncertainty_m, sites)
        wanted = _box_for(geoms, need)
        if not _within(wanted, box):
            box = wanted
            pas = _read_pas(spec, box)
        need = need + _EDGE_SLACK_M  # a little wider: the distances found are rounded
    read, pas = pas, (pas if need is None else _near_sites(pas, geoms, need))
    for _ in range(3):
        out, found_need = _classify_part(sites, pas, eco, pls, spec.uncertainty_m)
        if found_need is None:
            return "serial", out, box
        # the bound held, so this holds too; checked on the distances found all the same
        if pas is read:
            held = _within(_box_for(geoms, found_need), box)
        else:  # each site's own box: the areas kept are those meeting it
            held = bool((found_need <= need).all())
        if held:
            names = {
                "protected_areas": pas.attrs.get("source"),
                "ecoregions": eco.attrs.get("source"),
            }
            return "ok", (out, names), box
        if pas is not read:  # the areas read for the chunk's box, all of them
            pas = read
            continue
        box = None
        pas = read = _read_pas(spec, None)
    return "serial", "the nearest areas lie outside the whole layer's box", box


def _classify_part(
    sites: gpd.GeoDataFrame,
    pas: gpd.GeoDataFrame,
    eco: gpd.GeoDataFrame,
    pls: gpd.GeoDataFrame | None,
    uncertainty_m: float | None,
) -> tuple[Any, np.ndarray | None]:
    """classify of a chunk or block of the sites, without the extent check (the run's is
    made once on all the sites): ``(out, need)``, ``need`` the distance (m) from each site
    that its areas had to reach (nearest area found plus uncertainty); or ``(why, None)``
    when it warned or refused (a part's counts are not the run's: the run is then serial)."""
    from .classification import _classify

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = _classify(sites, pas, eco, pls, uncertainty_m, extent_check=False)
        except AsmPaceError as err:
            return str(err), None
    if caught:
        return str(caught[0].message), None
    found = pd.to_numeric(out["nearest_pa_km"], errors="coerce").fillna(0.0).to_numpy()
    return out, _need_m(found * 1e3, uncertainty_m, sites, out)


def _near_sites(
    pas: gpd.GeoDataFrame,
    geoms: np.ndarray,
    need_m: np.ndarray,
    tree: shapely.STRtree | None = None,
) -> gpd.GeoDataFrame:
    """The areas (in the layer's order) whose envelope meets a site's own box: every point
    within ``need_m`` of that site (:func:`asm_pace._nearest.widen_boxes`). An area
    meeting none lies farther than ``need_m`` from every site, so it changes no column;
    the chunk's box (the union of these boxes) holds many more where sites are sparse.
    The geometries stay the objects read (the reader's validity mark holds). ``tree``:
    an STRtree of ``pas``'s geometries, when the caller has one."""
    from ._nearest import box_hits, widen_boxes

    if len(pas) == 0:
        return pas
    boxes = widen_boxes(shapely.bounds(geoms), np.asarray(need_m, dtype="float64"))
    if tree is None:
        tree = shapely.STRtree(np.asarray(pas.geometry.values, dtype=object))
    keep = box_hits(tree, boxes)
    if keep.size == len(pas):
        return pas
    out = pas.iloc[np.sort(keep)]
    out.attrs = dict(pas.attrs)
    return out


def classify_blocks(
    sites: gpd.GeoDataFrame,
    protected_areas: Any,
    ecoregions: gpd.GeoDataFrame,
    priority_landscapes: gpd.GeoDataFrame | None,
    uncertainty_m: float | None,
) -> gpd.GeoDataFrame | None:
    """:func:`asm_pace.classify` in this process by Hilbert blocks of sites, or ``None``.

    A run of :data:`asm_pace.classification.BLOCK_MIN_SITES` sites or more against one
    lon/lat protected-area layer is cut into blocks of about :data:`SITES_PER_CHUNK` sites
    (:func:`site_chunks` for one worker). Each block is classified against the areas whose envelope meets one
    of its sites' own boxes (the boxes :func:`_classify_chunk` uses in a worker: an upper
    bound of the site's nearest distance plus its uncertainty, from the areas within
    :data:`FIRST_MARGIN_KM` or farther), so each block indexes the boundaries near it
    only: less memory and less CPU than one index of every boundary (docs/scale.md). The
    distances found are checked against those boxes. ``None`` (the caller classifies the
    run whole) when a block warns, refuses or finds a distance past its box, so warnings
    and errors are the whole run's, word for word; else the rows are the whole run's, bit
    for bit, with classify's extent check made once on all the sites.
    """
    from ._nearest import box_hits, widen_boxes
    from ._vector import to_wgs84
    from .classification import BLOCK_MIN_SITES

    pas = protected_areas
    if (
        len(sites) < BLOCK_MIN_SITES
        or not isinstance(pas, gpd.GeoDataFrame)
        or not isinstance(sites, gpd.GeoDataFrame)
        or not isinstance(ecoregions, gpd.GeoDataFrame)
        or pas.crs is None
        or not pas.crs.equals("EPSG:4326")
        or len(pas) == 0
    ):
        return None
    try:
        geoms_all = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    except AsmPaceError:
        return None  # classify says what is wrong
    if (shapely.is_missing(geoms_all) | shapely.is_empty(geoms_all)).any():
        return None
    tree = shapely.STRtree(np.asarray(pas.geometry.values, dtype=object))
    parts = spatial_chunks(sites, site_chunks(len(sites), 1))
    results = []
    for positions in parts:
        geoms = geoms_all[positions]
        bounds = shapely.bounds(geoms)
        margin = FIRST_MARGIN_KM * 1e3
        near = box_hits(tree, widen_boxes(bounds, np.full(geoms.size, margin)))
        while not near.size and margin < 2.1e7:  # nothing near: look farther
            margin *= 4.0
            near = box_hits(tree, widen_boxes(bounds, np.full(geoms.size, margin)))
        part = _chunk(sites, positions)
        bound = _nearest_bound_m(geoms, pas.iloc[near]) if near.size else np.full(geoms.size, 4e7)
        need = _need_m(bound, uncertainty_m, part) + _EDGE_SLACK_M
        block = _near_sites(pas, geoms, need, tree)
        out, found_need = _classify_part(
            part, block, ecoregions, priority_landscapes, uncertainty_m
        )
        if found_need is None or not (found_need <= need).all():
            return None
        results.append(out)
    out = _assemble(sites, parts, results)
    _check_extent(
        sites,
        out,
        {"protected_areas": pas.attrs.get("source"), "ecoregions": ecoregions.attrs.get("source")},
    )
    return out


def _check_extent(sites: gpd.GeoDataFrame, out: gpd.GeoDataFrame, names: dict[str, Any]) -> None:
    """classify's extent check on all the sites, as the serial run makes it (its warnings
    and its refusal, word for word), from the chunks' columns: only the sites it names
    are taken to lon/lat."""
    from .classification import _check_extent as check

    stubs = []
    for role in ("protected_areas", "ecoregions"):
        stub = gpd.GeoDataFrame(geometry=[], crs=4326)
        if names.get(role) is not None:
            stub.attrs["source"] = names[role]
        stubs.append(stub)
    check(
        sites,
        stubs[0],
        stubs[1],
        site_geoms=None,
        in_pa=np.zeros(len(sites), dtype=bool),
        near_km=pd.to_numeric(out["nearest_pa_km"], errors="coerce").to_numpy(dtype="float64"),
        has_eco=out["eco_id"].notna().to_numpy(dtype=bool),
    )


def _need_m(
    near_m: np.ndarray,
    uncertainty_m: float | None,
    sites: gpd.GeoDataFrame,
    out: gpd.GeoDataFrame | None = None,
) -> np.ndarray:
    """The distance (m) from each site that the box must hold: nearest area + uncertainty."""
    need = np.asarray(near_m, dtype="float64").copy()
    if out is not None and "location_uncertainty_m" in out.columns:
        u = pd.to_numeric(out["location_uncertainty_m"], errors="coerce").fillna(0.0)
        need += u.to_numpy(dtype="float64")
    elif out is None:
        from .sites import MAX_UNCERTAINTY_M, uncertainty_column, uncertainty_values

        try:
            extra = np.full(len(need), 0.0 if uncertainty_m is None else float(uncertainty_m))
        except (TypeError, ValueError):  # classify refuses it
            extra = np.full(len(need), float(MAX_UNCERTAINTY_M))
        column = uncertainty_column(sites.columns)
        if column is not None:
            values, problems = uncertainty_values(sites[column], np.arange(len(sites)), column)
            values = np.where(np.isfinite(values), values, 0.0)
            extra = np.fmax(extra, float(MAX_UNCERTAINTY_M) if problems else values)
        need += extra
    return need * (1.0 + 1e-6) + _EDGE_SLACK_M


#: Boundary vertices kept per protected area (at most) for the distance bound.
_BOUND_VERTICES = 32


def _nearest_bound_m(geoms: np.ndarray, pas: gpd.GeoDataFrame) -> np.ndarray:
    """An upper bound (m) of each site's geodesic distance to the nearest protected area.

    The geodesic distance (:data:`asm_pace.geodesy.WGS84`) from a point of the site to a
    boundary vertex of some area (the one nearest on the unit sphere among up to
    :data:`_BOUND_VERTICES` vertices of each area): a distance to a boundary point, so
    never below the nearest one.
    """
    from ._nearest import KDTree
    from .geodesy import WGS84

    xy, owner = shapely.get_coordinates(
        np.asarray(pas.geometry.values, dtype=object), return_index=True
    )
    counts = np.bincount(owner, minlength=len(pas))
    step = np.maximum(counts // _BOUND_VERTICES, 1)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    keep = (np.arange(len(owner)) - first[owner]) % step[owner] == 0
    vx, vy = xy[keep, 0], xy[keep, 1]
    points = shapely.get_type_id(geoms) == 0
    px = np.where(points, shapely.get_x(geoms), np.nan)
    py = np.where(points, shapely.get_y(geoms), np.nan)
    if (~points).any():  # a footprint: the first vertex of its (first) outline
        parts = shapely.get_geometry(geoms[~points], 0)
        first_xy = shapely.get_coordinates(shapely.get_point(shapely.get_exterior_ring(parts), 0))
        px[~points], py[~points] = first_xy[:, 0], first_xy[:, 1]
    _, nearest = KDTree(_unit(vx, vy)).query(_unit(px, py))
    _, _, d = WGS84.inv(px, py, vx[nearest], vy[nearest])
    return np.asarray(d, dtype="float64")


def _unit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.c_[np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]


def classify_parallel(
    sites: gpd.GeoDataFrame,
    protected_areas: str | os.PathLike[str],
    ecoregions: str | os.PathLike[str],
    *,
    priority_landscapes: str | os.PathLike[str] | None = None,
    uncertainty_m: float | None = None,
    pa_options: Mapping[str, Any] | None = None,
    ecoregion_options: Mapping[str, Any] | None = None,
    landscape_options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    chunks: int | None = None,
    min_sites: int | None = None,
    layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None] | None = None,
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """:func:`asm_pace.classify` of ``sites`` in ``jobs`` worker processes, by spatial chunks.

    The result (columns, values, dtypes, index, order, ``attrs``) is the serial
    ``classify(sites, read_protected_areas(protected_areas, **pa_options),
    read_ecoregions(ecoregions, **ecoregion_options), ...)``, bit for bit; so are its
    warnings and errors (a chunk that warns or refuses sends the whole run to serial).
    The readers' own warnings (records dropped, polygons repaired) are not given: read
    the layers yourself to see them (the pipeline does, before classify).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        The sites (:func:`asm_pace.read_sites`); each worker gets its chunk of them.
    protected_areas, ecoregions, priority_landscapes : path
        The files: each worker reads what its chunk needs (the protected areas of a box
        around it; the ecoregions and landscapes once per process).
    uncertainty_m : float, optional
        As in :func:`asm_pace.classify`.
    pa_options, ecoregion_options, landscape_options : mapping, optional
        The readers' keywords (``bbox`` is refused in ``pa_options``: each worker sets it).
    jobs : int, optional
        Worker processes; every core by default (:func:`default_jobs`); 1 is serial.
    chunks : int, optional
        Number of spatial chunks; :func:`site_chunks` by default (about
        :data:`SITES_PER_CHUNK` sites each, at least one per worker).
    min_sites : int, optional
        Fewer sites than this: serial, no pool (:data:`MIN_PARALLEL_SITES` by default).
    layers : tuple, optional
        The layers already read from these paths with these options (protected areas,
        ecoregions, landscapes), used by a serial run instead of reading them again.
    scheduler : str, optional
        A dask scheduler's address (``--scheduler``): the chunks run on its workers,
        whatever the number of sites (``jobs`` is refused with it; :mod:`asm_pace.distributed`, docs/distributed.md).

    Returns
    -------
    geopandas.GeoDataFrame

    Examples
    --------
    >>> import warnings
    >>> import asm_pace
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sites = asm_pace.read_sites(sample_path("sites.csv"))
    ...     out = classify_parallel(sites, sample_path("protected_areas.gpkg"),
    ...                             sample_path("ecoregions.gpkg"), jobs=2, min_sites=0)
    ...     serial = classify_parallel(sites, sample_path("protected_areas.gpkg"),
    ...                                sample_path("ecoregions.gpkg"), jobs=1)
    >>> out.equals(serial)
    True
    """
    if scheduler is not None:  # the cluster's worker threads are the jobs; no threshold
        from .distributed import check_scheduler

        jobs = check_scheduler(scheduler, jobs=jobs)
        min_sites = 0 if min_sites is None else min_sites
    jobs = check_jobs(jobs)
    pa_options = dict(pa_options or {})
    eco_options = dict(ecoregion_options or {})
    land_options = dict(landscape_options or {})
    if "bbox" in pa_options:
        raise InputError(
            "bbox= in pa_options: classify_parallel reads a box around each chunk itself; "
            "read the layer with bbox= and call asm_pace.classify (in Python), or drop it"
        )
    n_chunks = chunks if chunks is not None else site_chunks(len(sites), jobs)
    min_sites = MIN_PARALLEL_SITES if min_sites is None else min_sites
    if jobs > 1 and len(sites) >= max(min_sites, 2) and n_chunks > 1:
        spec = _Spec(
            os.fspath(protected_areas),
            os.fspath(ecoregions),
            None if priority_landscapes is None else os.fspath(priority_landscapes),
            pa_options,
            eco_options,
            land_options,
            uncertainty_m,
            FIRST_MARGIN_KM,
        )
        out = _run_chunks(sites, spec, jobs, n_chunks, scheduler)
        if out is not None:
            return out
    return _serial(
        sites, protected_areas, ecoregions, priority_landscapes, uncertainty_m,
        pa_options, eco_options, land_options, layers,
    )  # fmt: skip


def _serial(
    sites: gpd.GeoDataFrame,
    protected_areas: Any,
    ecoregions: Any,
    priority_landscapes: Any,
    uncertainty_m: float | None,
    pa_options: dict[str, Any],
    eco_options: dict[str, Any],
    land_options: dict[str, Any],
    layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None] | None,
) -> gpd.GeoDataFrame:
    import asm_pace

    if layers is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as in the workers: the readers' are not given
            pas = asm_pace.read_protected_areas(protected_areas, **pa_options)
            eco = asm_pace.read_ecoregions(ecoregions, **eco_options)
            pls = (
                None
                if priority_landscapes is None
                else asm_pace.read_priority_landscapes(priority_landscapes, **land_options)
            )
    else:
        pas, eco, pls = layers
    return asm_pace.classify(sites, pas, eco, priority_landscapes=pls, uncertainty_m=uncertainty_m)


#: Imported once by the fork server, so each worker starts with them (no import per worker);
#: ``asm_pace._nearest`` brings pykdtree, imported with OpenMP on one thread.
_PRELOAD = ["asm_pace.parallel", "asm_pace.classification", "asm_pace.protected_areas",
            "asm_pace.ecoregions", "asm_pace._nearest"]  # fmt: skip


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver`` (``spawn`` where there is none): GDAL and threads do not survive fork."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)  # taken when the server starts
        return context
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def chunk_executor(jobs: int, scheduler: str | None = None) -> Iterator[Any]:
    """Where the chunks run: a process pool of ``jobs`` workers, or a dask cluster.

    Yields an object with ``submit(fn, *args)`` returning a future with ``result()``:
    a :class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` context), or, with
    ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, ``--scheduler``), an
    executor on a ``distributed.Client`` connected to it
    (:func:`asm_pace.distributed.scheduler_client`: checked workers, frames scattered,
    one task at a time per worker process). Both take the same functions and arguments
    (paths and chunks of sites, never layers).

    Examples
    --------
    >>> with chunk_executor(1) as pool:
    ...     pool.submit(abs, -3).result()
    3
    """
    if scheduler is not None:
        from .distributed import scheduler_client

        with scheduler_client(scheduler) as client:
            yield client
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        yield pool


def _run_chunks(
    sites: gpd.GeoDataFrame, spec: _Spec, jobs: int, n_chunks: int, scheduler: str | None = None
) -> gpd.GeoDataFrame | None:
    """The chunks' results in the sites' order, or None when the run must be serial."""
    geoms = np.asarray(sites.geometry.values, dtype=object)
    if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
        return None  # classify refuses them, naming them
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")  # a library's own notices change nothing here
            warnings.simplefilter("always", AsmPaceWarning)
            parts = spatial_chunks(sites, n_chunks)
    except Exception:  # sites classify refuses (no CRS...): it says why, serially
        return None
    if caught:  # sites classify warns about (no CRS...): the serial run's words, once
        return None
    if len(parts) < 2:
        return None
    workers = min(jobs, len(parts))
    results: list[gpd.GeoDataFrame] = []
    names: dict[str, Any] = {}
    cpu: dict[int, float] = {}
    LAST_RUN.clear()
    LAST_RUN.update(chunks=len(parts), workers=workers, boxes=[], worker_cpu_s=cpu)
    try:
        with chunk_executor(workers, scheduler) as pool:
            futures = [pool.submit(_work, _chunk(sites, p), spec) for p in parts]
            for future in futures:
                status, value, box, pid, seconds = future.result()
                LAST_RUN["boxes"].append(box)
                cpu[pid] = max(cpu.get(pid, 0.0), seconds)
                if status != "ok":
                    for f in futures:
                        f.cancel()
                    return None
                results.append(value[0])
                names = value[1]
    except Exception:
        # a worker died (killed, out of memory, a script without the __main__ guard) or
        # failed outside asm_pace's checks: the serial run gives what it would have given
        LAST_RUN["failed"] = True
        return None
    out = _assemble(sites, parts, results)
    _check_extent(sites, out, names)
    return out


#: The last pool run of this process: ``chunks``, ``workers``, each chunk's ``boxes`` (the
#: protected areas read; None: the whole layer) and ``worker_cpu_s`` (worker pid -> its
#: CPU seconds), for benchmarks and tests.
LAST_RUN: dict[str, Any] = {}


def _work(sites: gpd.GeoDataFrame, spec: _Spec) -> tuple[str, Any, Boxes | None, int, float]:
    """:func:`_classify_chunk` in a worker, with the worker's pid and CPU seconds so far."""
    status, value, box = _classify_chunk(sites, spec)
    return status, value, box, os.getpid(), time.process_time()


def _chunk(sites: gpd.GeoDataFrame, positions: np.ndarray) -> gpd.GeoDataFrame:
    part = sites.iloc[positions]
    part.attrs = dict(sites.attrs)
    return part


def _assemble(
    sites: gpd.GeoDataFrame, parts: list[np.ndarray], results: list[gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """The chunks' rows put back in the sites' order (positions ``parts``)."""
    positions = np.concatenate(parts)
    inverse = np.empty_like(positions)
    inverse[positions] = np.arange(positions.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # all-NA columns of some chunks
        merged = pd.concat(results, axis=0)
    out = merged.iloc[inverse]
    out.index = sites.index  # the same labels; a RangeIndex stays one
    for column in out.columns:  # a chunk's all-NA column may have widened the dtype
        if out[column].dtype != results[0][column].dtype:
            out[column] = out[column].astype(results[0][column].dtype)
    out = gpd.GeoDataFrame(out, geometry=results[0].geometry.name, crs=results[0].crs)
    out.attrs = dict(results[0].attrs)
    return out


#: Ids read_protected_areas makes for records without one: by position in what was read,
#: so a box's ids would not be the whole file's.
_GENERATED_ID = r"^PA\d+$"


def workers_can_read(
    pa_sources: list,
    ecoregions: Any,
    pa_options: Mapping[str, Any],
    kbas: Any,
    pa_layer: Any,
    *others: Any,
) -> bool:
    """Whether worker processes can read the run's layers themselves and get what the
    caller holds: one protected-area source and the ecoregions (and ``others``: the
    landscapes, the rasters...) given as files, no KBAs, no ``bbox`` option, and ids read
    from the file (ids made by position, ``PA1``..., differ in a layer read for a box)."""
    paths = (str, os.PathLike)
    return (
        kbas is None
        and len(pa_sources) == 1
        and isinstance(pa_sources[0][1], paths)
        and isinstance(ecoregions, paths)
        and all(o is None or isinstance(o, paths) for o in others)
        and "bbox" not in pa_options
        and not pa_layer["pa_id"].astype(str).str.match(_GENERATED_ID).any()
    )


def classify_run(
    sites: gpd.GeoDataFrame,
    layers: tuple[Any, Any, Any, Any],
    sources: tuple[Any, Any, Any],
    options: tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]],
    *,
    uncertainty_m: float | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    memory: object = None,
) -> gpd.GeoDataFrame:
    """The pipeline's classify: in worker processes when it can be and pays, else serial.

    ``layers`` are the layers read (protected areas, ecoregions, landscapes, KBAs),
    ``sources`` what they were read from (the ``(name, source)`` pairs of the
    protected-area sources, the ecoregions, the landscapes), ``options`` the readers'
    keywords. Parallel needs one protected-area source, files for every layer, no KBAs,
    no ``bbox`` option, ids from the file (not made by position) and at least
    :data:`MIN_PARALLEL_SITES` sites; with ``scheduler`` (a dask cluster, ``jobs``
    ignored) any number of sites.

    Examples
    --------
    >>> import warnings
    >>> import asm_pace
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sites = asm_pace.read_sites(sample_path("sites.csv"))
    ...     pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    ...     eco = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
    ...     out = classify_run(sites, (pas, eco, None, None),
    ...                        ([(None, sample_path("protected_areas.gpkg"))],
    ...                         sample_path("ecoregions.gpkg"), None), ({}, {}, {}), jobs=2)
    >>> out.equals(asm_pace.classify(sites, pas, eco))  # a small run: serial
    True
    """
    import asm_pace

    pa_gdf, eco_gdf, landscapes, kbas = layers
    pa_sources, ecoregions, priority_landscapes = sources
    pa_options, eco_options, land_options = (dict(o) for o in options)
    jobs = check_jobs(jobs)
    can = (
        scheduler is not None or (jobs > 1 and len(sites) >= MIN_PARALLEL_SITES)
    ) and workers_can_read(pa_sources, ecoregions, pa_options, kbas, pa_gdf, priority_landscapes)
    if not can:
        return asm_pace.classify(
            sites,
            pa_gdf,
            eco_gdf,
            priority_landscapes=landscapes,
            uncertainty_m=uncertainty_m,
            kbas=kbas,
        )
    name, path = pa_sources[0]
    if name is not None:
        pa_options["source_label"] = name
    return classify_parallel(
        sites,
        path,
        ecoregions,
        priority_landscapes=priority_landscapes,
        uncertainty_m=uncertainty_m,
        pa_options=pa_options,
        ecoregion_options=eco_options,
        landscape_options=land_options,
        jobs=None if scheduler is not None else jobs,
        chunks=None
        if scheduler is not None
        else max(classify_chunks(jobs, path, memory), site_chunks(len(sites), jobs)),
        layers=(pa_gdf, eco_gdf, landscapes),
        scheduler=scheduler,
    )


#: Memory a protected-area layer takes once read, per byte of its file (measured: 3.5 GB
#: for the 1.38 GB GeoPackage of make_global.py at scale 1).
LAYER_BYTES_PER_FILE_BYTE = 2.6


def classify_chunks(jobs: int, path: str | os.PathLike[str], memory: object = None) -> int:
    """Chunks of a pool's classify under a memory budget (``memory=``, ``--memory``).

    Each worker holds the protected areas of its chunk's box; with one chunk a worker,
    sites spread over the globe make each read about ``1 / jobs`` of the layer. The layer's size once read is estimated from its file
    (:data:`LAYER_BYTES_PER_FILE_BYTE`), and a worker's classify needs about as much again
    (measured: 3.7 GB a worker reading half of a 1.8 GB share); the chunks are made ``k``
    times more (``k`` a whole number) so that ``jobs`` workers' share fits the budget.
    :func:`classify_run` takes the larger of this and :func:`site_chunks`.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> classify_chunks(2, sample_path("protected_areas.gpkg"), "1GB")  # a small file
    2
    """
    from .chunked import default_memory, parse_memory

    budget = default_memory() if memory is None else parse_memory(memory)
    try:
        layer = LAYER_BYTES_PER_FILE_BYTE * os.path.getsize(path)
    except OSError:  # not a file (a folder, a database): one chunk a worker
        return jobs
    return jobs * max(1, math.ceil(2.0 * layer / budget))
