"""The pipeline's zone steps (buffers, overlaps with dissolve, forest loss) in spatial chunks.

Buffers, their overlaps with protected areas and ecoregions, their clusters (touching
buffers of one radius dissolved) and their forest loss need memory in proportion to the
number of zones. :func:`zone_layers` cuts the sites into spatial chunks whose size
follows a memory budget (``memory=``, ``--memory 4GB``; :func:`site_bytes`) and runs the
steps chunk by chunk, in a process pool over the chunks where that pays
(:func:`asm_pace.parallel.chunk_executor`), each worker reading the protected areas of
its chunk's box itself (and only the raster windows its zones need).

A chunk never cuts a cluster: two buffers that touch lie in boxes that meet (each
buffer's box, :func:`asm_pace._nearest.widen_boxes` of the site by the largest radius,
holds the buffer, and every smaller buffer, ring or footprint zone of the site), so the
sites are first grouped into the connected components of their boxes (a box past
+-180 degrees also meets the boxes on the other side) and chunks are made of whole
components, in the Hilbert order of their first site. The chunks' rows are put back in
the serial order and the clusters numbered again as one run numbers them: the result is
the unchunked one (same rows, ids and order; values to floating-point rounding), and the
pool's is the in-process chunked run's, bit for bit (docs/scale.md, "The whole pipeline").
"""

from __future__ import annotations

import itertools
import os
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._geometry import TYPE_NAMES
from .errors import AsmPaceError, InputError

if TYPE_CHECKING:
    from .parallel import Boxes

__all__ = [
    "MEMORY_FRACTION",
    "MIN_POOL_SITES",
    "parse_memory",
    "default_memory",
    "site_bytes",
    "pipeline_chunks",
    "plan_chunk_sites",
    "zone_layers",
    "ZoneSpool",
]

#: The default memory budget: this share of the machine's physical memory.
MEMORY_FRACTION = 0.25
#: The least budget accepted (``--memory``): below it one chunk of sites would not fit.
MIN_MEMORY = 100_000_000
#: Below this many sites the zone steps run in the calling process (docs/scale.md, measured).
MIN_POOL_SITES = 20_000
#: Bytes of working memory per zone (a buffer, ring or footprint zone): its polygon, its
#: pieces with the protected areas, its share of the clusters and of the forest kernel's
#: events (docs/scale.md: the model and its check against measured peaks).
ZONE_BYTES = 50_000
#: ... and per zone again when forest loss is measured (the zone, its cluster and the
#: pieces inside protected areas are measured on the pixel grid).
FOREST_ZONE_BYTES = 50_000
#: The fewest sites in a chunk (a smaller budget does not cut finer).
MIN_CHUNK_SITES = 1_000

_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]I?B|B)\s*$", re.IGNORECASE)


def parse_memory(memory: object) -> int:
    """A memory budget (``memory=``, ``--memory``) in bytes: ``"500MB"``, ``"4GB"``, ``"4GiB"``.

    Units: B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024), any
    case; a whole number (Python) is bytes. At least :data:`MIN_MEMORY`.

    Examples
    --------
    >>> parse_memory("4GB"), parse_memory("4GiB"), parse_memory("500 mb")
    (4000000000, 4294967296, 500000000)
    >>> parse_memory("four")
    Traceback (most recent call last):
    asm_pace.errors.InputError: memory='four' (--memory): not a size; give a number and a unit ...
    """
    if isinstance(memory, bool):
        size = None
    elif isinstance(memory, int | np.integer):
        size = int(memory)
    elif isinstance(memory, str) and (m := _SIZE.match(memory)):
        size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    else:
        size = None
    if size is None:
        raise InputError(
            f"memory={memory!r} (--memory): not a size; give a number and a unit "
            "(B, KB, MB, GB, TB or KiB, MiB, GiB, TiB), e.g. --memory 4GB"
        )
    if size < MIN_MEMORY:
        raise InputError(
            f"memory={memory!r} (--memory): {size:,} bytes is below the least budget, "
            f"{MIN_MEMORY // 10**6} MB (one chunk of sites and the layers need more); "
            "give more, e.g. --memory 4GB"
        )
    return size


def default_memory() -> int:
    """The default budget: :data:`MEMORY_FRACTION` of the machine's physical memory.

    Examples
    --------
    >>> default_memory() >= MIN_MEMORY
    True
    """
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        total = 8 * 10**9
    return max(int(total * MEMORY_FRACTION), MIN_MEMORY)


def site_bytes(n_radii: int, *, rings: bool = False, forest: bool = False) -> int:
    """Working memory (bytes) one site needs in the zone steps: the model of the chunks.

    ``n_radii`` zones a site (one more for a footprint's own zone with ``rings``), each
    :data:`ZONE_BYTES`, and :data:`FOREST_ZONE_BYTES` more with forest loss.

    Examples
    --------
    >>> site_bytes(3, forest=True)
    300000
    """
    zones = int(n_radii) + (1 if rings else 0)
    return zones * (ZONE_BYTES + (FOREST_ZONE_BYTES if forest else 0))


def _site_boxes(sites: gpd.GeoDataFrame, radius_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Each site's lon/lat box holding its zones, and copies shifted by 360 degrees where a
    box passes +-180: (boxes, the site of each box)."""
    from ._nearest import widen_boxes
    from ._vector import to_wgs84

    geoms = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    # 1 km of slack: the circles' vertices are computed, not exact
    boxes = widen_boxes(shapely.bounds(geoms), np.full(geoms.size, radius_km * 1000.0 + 1000.0))
    owner = np.arange(geoms.size)
    west, east = boxes[:, 0] < -180.0, boxes[:, 2] > 180.0
    shifted = [boxes]
    owners = [owner]
    for mask, shift in ((west, 360.0), (east, -360.0)):
        if mask.any():
            extra = boxes[mask].copy()
            extra[:, [0, 2]] += shift
            shifted.append(extra)
            owners.append(owner[mask])
    return np.concatenate(shifted), np.concatenate(owners)


def _components(sites: gpd.GeoDataFrame, radius_km: float) -> np.ndarray:
    """Each site's group: the connected components of the sites' boxes (numbered from 0)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from .overlap import _box_chains

    boxes, owner = _site_boxes(sites, radius_km)
    n_chains, chain = _box_chains(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    n = len(sites)
    # a site and its shifted copies are one: link each site to its boxes' chains
    links = coo_matrix((np.ones(owner.size, dtype=np.int8), (owner, n + chain)),
                       shape=(n + n_chains, n + n_chains))  # fmt: skip
    return connected_components(links, directed=False)[1][:n]


def pipeline_chunks(
    sites: gpd.GeoDataFrame, radius_km: float, chunk_sites: int
) -> list[np.ndarray]:
    """Positions of ``sites`` in chunks of whole groups of touching buffers, about
    ``chunk_sites`` sites each (a larger group is a chunk of its own).

    The groups (:func:`_components`, the sites whose boxes of ``radius_km`` chain together)
    are taken in the Hilbert order of their first site (:func:`asm_pace.parallel.hilbert_order`)
    and packed in turn; each chunk's positions are sorted.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame({"site_id": ["a", "b", "c"]},
    ...                        geometry=gpd.points_from_xy([0, 0.1, 50], [0, 0, 0]), crs=4326)
    >>> [c.tolist() for c in pipeline_chunks(pts, 10.0, 1)]  # a and b touch: never cut
    [[0, 1], [2]]
    """
    from .parallel import hilbert_order

    n = len(sites)
    if n == 0:
        return []
    group = _components(sites, radius_km)
    rank = np.empty(n, dtype=np.int64)
    rank[hilbert_order(sites)] = np.arange(n)
    first = np.full(int(group.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, group, rank)
    order = np.lexsort((rank, first[group]))  # the groups in turn, each whole
    sizes = np.bincount(group)[group[order]]
    starts = np.r_[True, group[order][1:] != group[order][:-1]]
    chunks: list[np.ndarray] = []
    begin, count = 0, 0
    for i in np.flatnonzero(starts):
        if count and count + sizes[i] > chunk_sites:
            chunks.append(np.sort(order[begin:i]))
            begin, count = i, 0
        count += int(sizes[i])
    chunks.append(np.sort(order[begin:]))
    return chunks


@dataclass(frozen=True)
class ZoneSpec:
    """What a chunk needs besides its sites: the steps' options and the layers' files."""

    radii: tuple[float, ...]
    rings: bool = False
    forest: dict[str, Any] | None = None  # treecover, lossyear, gain, canopy, drivers
    protected_areas: str | None = None  # a file: the worker reads its chunk's box
    ecoregions: str | None = None
    pa_options: dict[str, Any] = field(default_factory=dict)
    eco_options: dict[str, Any] = field(default_factory=dict)


def _in_box(layer: gpd.GeoDataFrame, box: Boxes | None):
    """The features of ``layer`` meeting ``box`` (all without one; a box across +-180
    degrees: its two parts), in the layer's order."""
    from . import parallel

    if box is None:
        return layer
    query = shapely.box(*np.array(parallel._parts(box)).T)
    rows = np.unique(layer.sindex.query(query, predicate="intersects")[1])
    part = layer.iloc[rows]
    part.attrs = dict(layer.attrs)
    return part


def _chunk_box(sites: gpd.GeoDataFrame, radius_km: float) -> Boxes | None:
    """The box holding every point within ``radius_km`` + 1 km of the sites (two parts
    across +-180 degrees, :func:`asm_pace.parallel._box_for`); None: the world."""
    from . import parallel
    from ._vector import to_wgs84

    geoms = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    return parallel._box_for(geoms, np.full(geoms.size, (radius_km + 1.0) * 1e3))


def zone_chunk(
    sites: gpd.GeoDataFrame,
    spec: ZoneSpec,
    layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None,
) -> tuple[str, Any, list[tuple[type, str]]]:
    """The zone steps of one chunk: ``("ok", (zones, clusters, pairs, cpu), warnings)`` or
    ``("refused", message, warnings)``; ``cpu``: each step's CPU seconds (``read layers``,
    ``layers cut to the box``, ``buffers``, ``overlaps``, ``forest loss``).

    ``layers`` (protected areas, ecoregions) in the calling process; else (a worker) they
    are read from ``spec``'s files, the protected areas for the chunk's box. Either way
    only the features meeting that box are used, in the layer's order.
    """
    from . import parallel
    from .pipeline import zone_steps

    box = _chunk_box(sites, max(spec.radii))
    marks: list[tuple[str, float]] = []

    def mark(name: str) -> None:  # each step's CPU seconds, for LAST_RUN
        marks.append((name, time.process_time()))

    mark("read layers")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if layers is None:
                pas = _read_pas(sites, spec, box)
                eco = parallel._read_once("ecoregions", spec.ecoregions, spec.eco_options)
            else:
                pas, eco = layers
            mark("layers cut to the box")
            out = zone_steps(
                sites,
                radii=spec.radii,
                rings=spec.rings,
                pa_zones=_in_box(pas, box),
                eco_gdf=_in_box(eco, box),
                forest=spec.forest,
                step=mark,
            )
            mark("end")
        except AsmPaceError as err:
            return "refused", str(err), [(w.category, str(w.message)) for w in caught]
    cpu = {a[0]: b[1] - a[1] for a, b in itertools.pairwise(marks)}
    return "ok", (*out, cpu), [(w.category, str(w.message)) for w in caught]


def _read_pas(sites: gpd.GeoDataFrame, spec: ZoneSpec, box):
    """The protected areas of ``box`` read from the file; a box with none is widened (four
    times the radius each time) so the layer read has the file's columns (none meets the
    chunk's box then: :func:`_in_box` leaves them out)."""
    from . import parallel

    read = parallel._Spec(spec.protected_areas, spec.ecoregions, None, spec.pa_options)
    radius = max(spec.radii)
    while True:
        try:
            return parallel._read_pas(read, box)
        except AsmPaceError:
            if box is None:
                raise
            radius *= 4.0
            box = _chunk_box(sites, radius) if radius < 20_100.0 else None


def _work(sites: gpd.GeoDataFrame, spec: ZoneSpec) -> tuple[str, Any, list, int, float, int]:
    import resource

    status, value, caught = zone_chunk(sites, spec)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB
    return status, value, caught, os.getpid(), time.process_time(), peak


#: The last chunked run of this process (``chunks``, ``workers``, ``chunk_sites``,
#: ``worker_cpu_s``: pid -> CPU seconds, ``worker_peak_bytes``: pid -> peak RSS,
#: ``step_cpu_s``: step -> CPU seconds summed over the chunks, ``refused``: a chunk's
#: refusal, after which the zone steps ran unchunked), for benchmarks and tests.
LAST_RUN: dict[str, Any] = {}


def zone_layers(
    sites: gpd.GeoDataFrame,
    *,
    spec: ZoneSpec,
    layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    memory: object = None,
    jobs: int = 1,
    pool: bool = False,
    scheduler: str | None = None,
    chunk_sites: int | None = None,
    step: Callable[[str], None] | None = None,
    spool: str | os.PathLike[str] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame] | ZoneSpool:
    """Buffers (with overlap and forest columns), clusters and the overlaps table of
    ``sites``, in chunks whose size follows ``memory``; the unchunked run's layers.

    With ``spool`` (a file name) a run of several chunks keeps no layer: each chunk's are
    added to that file as the chunk is done, and a :class:`ZoneSpool` that reads them back
    in order is returned (the file is the caller's to remove: :meth:`ZoneSpool.close`;
    on an error it is removed here).

    One chunk: :func:`asm_pace.pipeline.zone_steps` on all the sites, in this process (the
    path of a run without chunks). Several: each chunk in turn here, or with ``pool``
    (files for the layers: ``spec``) in ``jobs`` worker processes
    (:func:`asm_pace.parallel.chunk_executor`, ``scheduler`` for a dask cluster). A chunk
    that refuses (e.g. wholly off the forest rasters) sends the run to one unchunked call,
    so refusals are the serial run's; the chunks' warnings are given once each.
    """
    per_site = site_bytes(len(spec.radii), rings=spec.rings, forest=spec.forest is not None)
    if chunk_sites is None:
        chunk_sites = plan_chunk_sites(len(sites), per_site, memory)
    workers = max(1, int(jobs)) if pool else 1
    LAST_RUN.clear()
    LAST_RUN.update(chunk_sites=int(chunk_sites), chunks=1, workers=1)
    if len(sites) <= chunk_sites:
        return _unchunked(sites, spec, layers, step)
    parts = pipeline_chunks(sites, max(spec.radii), int(chunk_sites))
    if len(parts) < 2:
        return _unchunked(sites, spec, layers, step)
    if step is not None:
        step("buffers")
    workers = min(workers, len(parts))
    LAST_RUN.update(chunks=len(parts), workers=workers if pool else 1, worker_cpu_s={})
    store = None
    if spool is not None:
        store = ZoneSpool(spool, sites, len(spec.radii) + (1 if spec.rings else 0))
    try:
        sink = None if store is None else (lambda value: store.add(*value))
        results = _run(sites, parts, spec, layers, workers if pool else 0, scheduler, sink)
        if results is None:
            if store is not None:
                store.close()
            return _unchunked(sites, spec, layers, None)
        for name in ("overlaps", "forest loss") if spec.forest is not None else ("overlaps",):
            if step is not None:
                step(name)
        if store is not None:
            LAST_RUN["streamed"] = True
            return store.finish()
    except BaseException:
        if store is not None:
            store.close()
        raise
    return _assemble(sites, parts, results)


def plan_chunk_sites(n_sites: int, per_site: int, memory: object = None) -> int:
    """Sites per chunk: the budget over :func:`site_bytes`, shared by every core when the run
    is large enough for a pool (:data:`MIN_POOL_SITES`), and then at most an equal share of
    the sites per core. It does not depend on ``jobs``, so ``jobs=1`` makes the same chunks
    as a pool (and the same result, bit for bit).

    Examples
    --------
    >>> plan_chunk_sites(5_000, 240_000, "6GB")  # all in one chunk
    25000
    """
    from .parallel import default_jobs

    budget = default_memory() if memory is None else parse_memory(memory)
    cores = default_jobs()
    if n_sites < MIN_POOL_SITES or cores < 2:
        return max(MIN_CHUNK_SITES, budget // per_site)
    size = max(MIN_CHUNK_SITES, budget // (cores * per_site))
    return int(min(size, -(-n_sites // cores)))


def _unchunked(sites, spec, layers, step):
    from .pipeline import zone_steps

    pas, eco = layers
    if callable(pas):  # the caller let its copy go (a streamed run): read again
        pas = pas()
    return zone_steps(
        sites, radii=spec.radii, rings=spec.rings, pa_zones=pas, eco_gdf=eco,
        forest=spec.forest, step=step,
    )  # fmt: skip


def _chunk(sites: gpd.GeoDataFrame, positions: np.ndarray) -> gpd.GeoDataFrame:
    part = sites.iloc[positions]
    part.attrs = dict(sites.attrs)
    return part


def _run(sites, parts, spec, layers, workers, scheduler, sink=None) -> list | None:
    """Each chunk's (zones, clusters, pairs), in the chunks' order; None when one refused.
    With ``sink`` each is given to it as it comes (in order) and not kept."""
    from .parallel import chunk_executor

    results, seen = [], set()
    cpu = LAST_RUN["worker_cpu_s"]
    steps = LAST_RUN.setdefault("step_cpu_s", {})
    peaks = LAST_RUN.setdefault("worker_peak_bytes", {})

    def keep(status, value, caught) -> bool:
        for category, message in caught:
            if (category, message) not in seen:
                seen.add((category, message))
                warnings.warn(message, category, stacklevel=4)
        if status != "ok":
            LAST_RUN["refused"] = value  # the unchunked run follows
            return False
        for name, seconds in value[3].items():
            steps[name] = steps.get(name, 0.0) + seconds
        if sink is None:
            results.append(value[:3])
        else:
            sink(value[:3])
        return True

    if workers == 0:
        for p in parts:
            if not keep(*zone_chunk(_chunk(sites, p), spec, layers)):
                return None
        cpu[os.getpid()] = time.process_time()
        return results
    with chunk_executor(workers, scheduler) as pool:
        futures = [pool.submit(_work, _chunk(sites, p), spec) for p in parts]
        for i, future in enumerate(futures):
            status, value, caught, pid, seconds, peak = future.result()
            futures[i] = None  # a done future holds its result: let it go
            cpu[pid] = max(cpu.get(pid, 0.0), seconds)
            peaks[pid] = max(peaks.get(pid, 0), peak)
            if not keep(status, value, caught):
                for f in futures:
                    if f is not None:
                        f.cancel()
                return None
            del value
    return results


_CLUSTER = re.compile(r"^C(\d+)(.*)$")


def _renumber(
    group: np.ndarray, first: np.ndarray, ids: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """One run's cluster numbering of clusters gathered from chunks: their order (by
    ``group`` of radius and inner radius, then by ``first`` zone) and new ids (``C0001``...
    per group, each id's suffix kept).

    >>> _renumber(np.array([1, 0, 0]), np.array([5, 9, 2]), pd.Series(["C0007_10km", "C0001", "C0002"]))
    (array([2, 1, 0]), array(['C0001', 'C0002', 'C0001_10km'], dtype=object))
    """
    order = np.lexsort((first, group))  # stable: by group, then first zone
    g = np.asarray(group)[order]
    at = np.arange(g.size)
    start = np.r_[True, g[1:] != g[:-1]] if g.size else np.zeros(0, dtype=bool)
    number = at - np.maximum.accumulate(np.where(start, at, 0)) + 1
    suffix = pd.Series(np.asarray(ids, dtype=object)[order]).astype(str).str.extract(_CLUSTER)[1]
    return order, np.char.mod("C%04d", number).astype(object) + suffix.fillna("").to_numpy(
        dtype=object
    )


def _assemble(
    sites: gpd.GeoDataFrame, parts: list[np.ndarray], results: list
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """The chunks' layers in the serial order, clusters numbered as one run numbers them."""
    site_pos = pd.Series(np.arange(len(sites)), index=sites["site_id"].astype(str).to_numpy())
    zone_parts, cluster_parts, pair_parts = [], [], []
    for c, (zones, clusters, pairs) in enumerate(results):
        tag = f"{c}|"
        zones = zones.assign(_site=site_pos.loc[zones["site_id"].astype(str)].to_numpy(),
                             _cluster=tag + zones["cluster_id"].astype(str))  # fmt: skip
        zone_parts.append(zones)
        cluster_parts.append(clusters.assign(_cluster=tag + clusters["cluster_id"].astype(str)))
        pair_parts.append(pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # all-NA columns of some chunks
        zones = pd.concat(zone_parts, ignore_index=True)
        clusters = pd.concat(cluster_parts, ignore_index=True)
        # an empty chunk's columns may be of another dtype (object): left out
        pairs = pd.concat([p for p in pair_parts if len(p)] or pair_parts[:1], ignore_index=True)
    zones = zones.iloc[np.argsort(zones["_site"].to_numpy(), kind="stable")]
    zones = zones.reset_index(drop=True)
    # the serial numbering: per group (radius, inner radius; in the order they first come),
    # clusters in the order of their first zone
    first = pd.Series(np.arange(len(zones))).groupby(zones["_cluster"].to_numpy()).min()
    clusters["_first"] = first.loc[clusters["_cluster"]].to_numpy()
    keys = [c for c in ("radius_km", "inner_km") if c in zones.columns]
    if keys:
        group_of = pd.MultiIndex.from_frame(zones[keys])
        uniques = group_of.unique()
        rank = pd.Series(np.arange(len(uniques)), index=uniques)
        clusters["_group"] = rank.loc[pd.MultiIndex.from_frame(clusters[keys])].to_numpy()
    else:
        clusters["_group"] = 0
    order, new_ids = _renumber(
        clusters["_group"].to_numpy(), clusters["_first"].to_numpy(), clusters["cluster_id"]
    )
    clusters = clusters.iloc[order].reset_index(drop=True)
    rename = pd.Series(new_ids, index=clusters["_cluster"].to_numpy())
    zones["cluster_id"] = rename.loc[zones["_cluster"]].to_numpy()
    clusters["cluster_id"] = new_ids
    zones = zones.drop(columns=["_site", "_cluster"])
    clusters = clusters.drop(columns=["_cluster", "_first", "_group"])
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=results[0][0].crs)
    zones.attrs = dict(results[0][0].attrs)
    clusters = gpd.GeoDataFrame(clusters, geometry="geometry", crs=results[0][1].crs)
    zones, clusters = _same_columns(zones, results, 0), _same_columns(clusters, results, 1)
    # the pairs: by zone, then as each chunk ordered them (decreasing overlap)
    id_col = "zone_id" if "zone_id" in pairs.columns else "site_id"
    zone_pos = pd.Series(np.arange(len(zones)), index=zones[id_col].astype(str).to_numpy())
    at = zone_pos.loc[pairs[id_col].astype(str)].to_numpy()
    pairs = pairs.iloc[np.argsort(at, kind="stable")].reset_index(drop=True)
    return zones, clusters, pairs


def _same_columns(frame: gpd.GeoDataFrame, results: list, which: int) -> gpd.GeoDataFrame:
    """Columns in the first chunk's order (others after) and dtypes; a forest year some
    chunk lacked (its pixels held none, no product year in the file names) is 0, or NaN
    without data."""
    columns = list(results[0][which].columns)
    for r in results[1:]:
        columns += [c for c in r[which].columns if c not in columns]
    _fill_missing_years(frame)
    out = frame[columns]
    for c in columns:
        dtype = results[0][which][c].dtype if c in results[0][which].columns else None
        if dtype is not None and out[c].dtype != dtype and c != "geometry":
            out[c] = out[c].astype(dtype)
    return out


# --------------------------------------------------------------------------- streaming
#: Sites whose zones (and overlap rows) a streamed layer is read back in at a time.
SPOOL_BATCH_SITES = 20_000
#: Clusters read back at a time.
SPOOL_BATCH_CLUSTERS = 50_000
_TABLES = ("zones", "clusters", "pairs")
#: Floats stored after a row's own for its geometry: its type (shapely's id) and bounds.
_GEOMETRY_FLOATS = 5


class ZoneSpool:
    """A chunked run's zone layers on disk: each chunk's buffers, clusters and overlaps are
    added to a scratch SQLite file as soon as the chunk is done (:meth:`add`), and read
    back in batches in the unchunked run's order, clusters numbered as one run numbers
    them (:meth:`batches`): the layers :func:`_assemble` makes in memory, row for row.

    Each zone is keyed by its site's position in the sites and its rank among that site's
    zones (``_k``), each pair by its zone's key and its rank in its chunk; each cluster by
    its first zone's key. :meth:`finish` numbers the clusters (per group of radius and
    inner radius, in the order the groups first come; by first zone) in a table of their
    new ids. Columns are the first chunk's (others after), with its dtypes
    (:func:`_same_columns`); values are stored untyped (SQLite keeps each as given) and
    geometries as WKB. The file is the caller's to remove (:meth:`close`).
    """

    def __init__(self, path: str | os.PathLike[str], sites: gpd.GeoDataFrame, zones_per_site: int):
        import sqlite3

        self.path = os.fspath(path)
        self._con = sqlite3.connect(self.path)
        # 64 kB pages: a zone's geometry (kilobytes of WKB) overflows a 4 kB page into a
        # chain of them (60,000 rows of 1-12 kB: 2.85 against 8.21 CPU s to insert)
        self._con.execute("PRAGMA page_size=65536")
        self._con.execute("PRAGMA journal_mode=OFF")  # a scratch file: no journal
        self._con.execute("PRAGMA synchronous=OFF")
        self._owner = True  # this copy removes the file (close); a reader's copy does not
        self._site_pos = pd.Series(
            np.arange(len(sites)), index=sites["site_id"].astype(str).to_numpy()
        )
        self.n_sites = len(sites)
        self.stride = int(zones_per_site) + 1
        self.columns: dict[str, list[str]] = {t: [] for t in _TABLES}
        self.dtypes: dict[str, dict[str, Any]] = {t: {} for t in _TABLES}
        self.rows = dict.fromkeys(_TABLES, 0)
        self.geom_types: dict[str, set[str]] = {t: set() for t in _TABLES}
        self.has_z = dict.fromkeys(_TABLES, False)
        self.crs: dict[str, Any] = {}
        self.attrs: dict[str, Any] = {}
        self._geometry: dict[str, str | None] = {}
        self._groups: dict[tuple, int] = {}  # (radius, inner) -> its first zone's key
        self._chunks = 0
        self._keys: list[str] = []
        self._block: dict[str, list[str]] = {}  # table -> its float columns, in one blob

    # ---------------------------------------------------------------- writing
    def add(self, zones: gpd.GeoDataFrame, clusters: gpd.GeoDataFrame, pairs: pd.DataFrame) -> None:
        """Append one chunk's layers (as :func:`asm_pace.pipeline.zone_steps` returns them)."""
        c = self._chunks
        self._chunks += 1
        if c == 0:
            self._keys = [k for k in ("radius_km", "inner_km") if k in zones.columns]
            self.attrs = dict(zones.attrs)
        site = self._site_pos.loc[zones["site_id"].astype(str)].to_numpy()
        rank = pd.Series(site).groupby(site).cumcount().to_numpy()
        key = site.astype(np.int64) * self.stride + rank
        # each group's first zone, each cluster's first zone
        if self._keys:
            codes, uniques = _group_codes(zones, self._keys)
            firsts = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(firsts, codes, key)
            for group, k in zip(uniques, firsts.tolist(), strict=True):
                self._groups[group] = min(self._groups.get(group, k), k)
        local = zones["cluster_id"].astype(str).to_numpy()
        first = pd.Series(key).groupby(local).min()
        cluster_key = first.reindex(clusters["cluster_id"].astype(str)).to_numpy()
        id_col = "zone_id" if "zone_id" in pairs.columns else "site_id"
        zone_key = pd.Series(key, index=zones[id_col].astype(str).to_numpy())
        pair_key = zone_key.loc[pairs[id_col].astype(str)].to_numpy() if len(pairs) else key[:0]
        self._insert("zones", zones, {"_c": np.full(len(zones), c), "_k": key})
        self._insert("clusters", clusters, {"_c": np.full(len(clusters), c), "_k": cluster_key})
        self._insert("pairs", pairs, {"_k": pair_key, "_p": np.arange(len(pairs))})

    def _insert(self, table: str, frame: pd.DataFrame, keys: dict[str, Any]) -> None:
        if not len(frame) and self.columns[table]:
            return
        if self.rows[table] == 0 and len(frame):  # an empty chunk's dtypes may be object
            for col in self.columns[table]:
                if col in frame.columns:
                    self.dtypes[table][col] = frame[col].dtype
        geo = isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name is not None
        gname = frame.geometry.name if geo else None
        names = self.columns[table]
        first = not names
        if first:
            self._geometry[table] = gname
            if geo:
                self.crs[table] = frame.crs
            cols = ", ".join([*keys, "fb"] + [f"v{i}" for i in range(len(frame.columns))])
            self._con.execute(f"CREATE TABLE {table} ({cols})")
        for col in frame.columns:
            if col not in names:
                if not first:
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN v{len(names)}")
                names.append(col)
                dtype = frame[col].dtype
                if not first and (  # NULL in the rows before: as pandas.concat gives them
                    pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                ):
                    dtype = np.dtype("float64" if dtype.kind in "iu" else "object")
                self.dtypes[table][col] = dtype
        if not len(frame):
            return
        if table not in self._block:  # the first rows' float columns: one blob a row
            self._block[table] = [  # not the groups' keys: finish() reads them
                c
                for c in names
                if c != gname
                and c not in self._keys
                and self.dtypes[table][c] == np.dtype("float64")
            ]
        block = self._block[table]
        if geo:  # each geometry's type: the layer's types, and stored with its bounds
            geoms = np.asarray(frame.geometry.values, dtype=object)
            kinds = shapely.get_type_id(geoms)
            self.geom_types[table].update(TYPE_NAMES[k] for k in np.unique(kinds[kinds >= 0]))
            live = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
            self.has_z[table] = self.has_z[table] or bool(shapely.has_z(live).any())
        data = [_sql_values(np.asarray(v)) for v in keys.values()]
        at = {col: i for i, col in enumerate(frame.columns)}
        shape = _GEOMETRY_FLOATS if self._geometry[table] is not None else 0
        floats = np.full((len(frame), len(block) + shape), np.nan)
        for j, col in enumerate(block):
            if col in at:
                floats[:, j] = frame.iloc[:, at[col]].to_numpy(dtype="float64", na_value=np.nan)
        if shape and geo:  # each geometry's type and bounds, for a write that keeps its WKB
            floats[:, len(block)] = kinds
            floats[:, len(block) + 1 :] = shapely.bounds(geoms)
        width = floats.shape[1]
        blobs = floats.view(np.dtype((np.void, 8 * width))).ravel().tolist() if width else None
        data.append(blobs or [b""] * len(frame))  # no floats: an empty blob a row
        single = [c for c in names if c not in block]
        for col in single:
            if col not in at:
                data.append([None] * len(frame))
            elif col == gname:
                data.append(list(shapely.to_wkb(np.asarray(frame[col].values, dtype=object))))
            else:
                data.append(_sql_values(frame.iloc[:, at[col]]))
        marks = ", ".join("?" * len(data))
        columns = ", ".join([*keys, "fb"] + [f"v{names.index(c)}" for c in single])
        self._con.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", zip(*data, strict=True)
        )
        self._con.commit()
        self.rows[table] += len(frame)

    def finish(self) -> ZoneSpool:
        """Index the keys and number the clusters (their new ids and order); returns self."""
        con = self._con
        con.execute("CREATE INDEX zones_k ON zones (_k)")
        con.execute("CREATE INDEX pairs_k ON pairs (_k, _p)")
        names = self.columns["clusters"]
        group_cols = [f"v{names.index(k)}" for k in self._keys]
        cid = f"v{names.index('cluster_id')}"
        found = pd.DataFrame(
            con.execute(
                f"SELECT rowid, _c, {cid}, _k{''.join(', ' + g for g in group_cols)} "
                "FROM clusters ORDER BY rowid"
            ).fetchall(),
            columns=["row", "_c", "cid", "_k", *self._keys],
        )
        ranked = sorted(self._groups, key=self._groups.__getitem__)
        rank = {g: i for i, g in enumerate(ranked)}
        if self._keys and len(found):
            codes, groups = _group_codes(found, self._keys)
            found["_group"] = np.array([rank.get(g, len(rank)) for g in groups])[codes]
        else:
            found["_group"] = 0
        order, new_ids = _renumber(found["_group"].to_numpy(), found["_k"].to_numpy(), found["cid"])
        found = found.iloc[order].reset_index(drop=True)
        con.execute("CREATE TABLE cluster_map (crow, _c, cid, new_id, ord)")
        con.executemany(
            "INSERT INTO cluster_map VALUES (?, ?, ?, ?, ?)",
            zip(
                found["row"].tolist(),
                found["_c"].tolist(),
                found["cid"].astype(str).tolist(),
                new_ids.tolist(),
                range(len(found)),
                strict=True,
            ),
        )
        con.execute("CREATE INDEX cluster_map_id ON cluster_map (_c, cid)")
        con.execute("CREATE INDEX cluster_map_ord ON cluster_map (ord)")
        con.commit()
        return self

    # ---------------------------------------------------------------- reading
    def batches(
        self,
        table: str,
        *,
        geometry: bool = True,
        wkb: bool = False,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """The rows of ``table`` (``zones``, ``clusters``, ``pairs``) in the unchunked run's
        order, as frames of at most :data:`SPOOL_BATCH_SITES` sites (clusters:
        :data:`SPOOL_BATCH_CLUSTERS`); always at least one frame (empty: the columns).
        ``geometry`` False: plain frames without the geometries (not read nor decoded);
        ``wkb``: a table with geometries as :class:`asm_pace.output.WkbPart` (not decoded);
        ``columns``: only these of the columns not stored as floats (not read)."""
        names = self.columns[table]
        block = self._block.get(table, [])
        skip = None if geometry else self._geometry.get(table)
        keep = [c for c in names if c != skip and (c in block or columns is None or c in columns)]
        single = [f"t.v{i}" for i, c in enumerate(names) if c in keep and c not in block]
        values = ", ".join(["t.fb", *single])
        if table == "clusters":
            step = SPOOL_BATCH_CLUSTERS
            sql = (
                f"SELECT m.new_id, {values} FROM cluster_map m JOIN clusters t "
                "ON t.rowid = m.crow WHERE m.ord >= ? AND m.ord < ? ORDER BY m.ord"
            )
            bounds = range(0, max(self.rows[table], 1), step)
        else:
            step = SPOOL_BATCH_SITES * self.stride
            join = ""
            new = "NULL"
            if table == "zones" and "cluster_id" in keep:
                join = "LEFT JOIN cluster_map m ON m._c = t._c AND m.cid = t.v{}".format(
                    names.index("cluster_id")
                )
                new = "m.new_id"
            order = "t._k" if table == "zones" else "t._k, t._p"
            sql = (
                f"SELECT {new}, {values} FROM {table} t {join} "
                f"WHERE t._k >= ? AND t._k < ? ORDER BY {order}"
            )
            bounds = range(0, max(self.n_sites * self.stride, 1), step)
        for start in bounds:
            rows = self._con.execute(sql, (start, start + step)).fetchall() if names else []
            yield self._frame(table, rows, keep, wkb=wkb)

    def _frame(self, table: str, rows: list[tuple], names: list[str], *, wkb: bool = False) -> Any:
        block = self._block.get(table, [])
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 2)
        block_names = {c: j for j, c in enumerate(block)}
        shape = _GEOMETRY_FLOATS if self._geometry.get(table) is not None else 0
        floats = np.frombuffer(b"".join(columns[1]), dtype="float64")
        floats = floats.reshape(-1, len(block) + shape)
        data: dict[str, Any] = {}
        gname = self._geometry.get(table)
        gname = gname if gname in names else None
        single = iter(columns[2:])
        for col in names:
            if col in block_names:
                data[col] = floats[:, block_names[col]].copy()
                continue
            values = next(single)
            if col == gname:
                data[col] = np.array(values, dtype=object)
                continue
            dtype = self.dtypes[table][col]
            if col == "cluster_id" and table in ("zones", "clusters"):
                values = columns[0]
            data[col] = _typed(values, dtype)
        frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
        _fill_missing_years(frame)
        if table == "zones":
            frame.attrs = dict(self.attrs)
        if gname is None:
            return frame
        if wkb:
            from .output import WkbPart

            described = floats[:, len(block) :]
            return WkbPart(
                frame.drop(columns=gname),
                frame[gname].to_numpy(),
                gname,
                self.crs.get(table),
                types=np.nan_to_num(described[:, 0], nan=-1).astype(np.int64),
                bounds=described[:, 1:].copy(),
            )
        frame[gname] = shapely.from_wkb(frame[gname].to_numpy())
        out = gpd.GeoDataFrame(frame, geometry=gname, crs=self.crs.get(table))
        out.attrs = frame.attrs
        return out

    def __getstate__(self) -> dict[str, Any]:
        """A copy for another process (:mod:`pickle`), once :meth:`finish` is done: it reads
        the file (:meth:`batches`), read only, and never removes it."""
        state = dict(self.__dict__)
        del state["_con"]
        state["_owner"] = False
        state["path"] = os.path.abspath(self.path)  # the other process's folder may differ
        state["_site_pos"] = None  # for add() only
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import sqlite3

        self.__dict__.update(state)
        self._con = sqlite3.connect(f"{Path(self.path).as_uri()}?mode=ro", uri=True)

    def close(self) -> None:
        """Close, and remove the file (a copy made by :mod:`pickle` only closes it)."""
        import contextlib

        from .output import _remove_quietly

        with contextlib.suppress(Exception):
            self._con.close()
        if self._owner:
            _remove_quietly(Path(self.path))


def _group_key(values: tuple) -> tuple:
    """A group of zones (radius, inner radius) as a key: NaN is None (NaN != NaN)."""
    return tuple(None if pd.isna(v) else float(v) for v in values)


def _group_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, list[tuple]]:
    """Each row's group of ``keys`` (radius, inner radius) as a code, and each code's
    :func:`_group_key` (one per group, not per row)."""
    codes = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    rows = frame[keys].iloc[first].itertuples(index=False, name=None)
    return codes, [_group_key(g) for g in rows]


def _sql_values(values: Any) -> list:
    """A column as values SQLite takes (NaN and NA: NULL)."""
    series = pd.Series(values)
    kind = series.dtype.kind
    if kind in "fiub" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy().tolist()
    obj = series.astype(object)
    return obj.where(series.notna(), None).tolist()


def _typed(values: tuple, dtype: Any) -> Any:
    """Values read back from SQLite as a column of ``dtype``."""
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)
    try:
        return pd.Series(list(values), dtype=dtype)
    except (TypeError, ValueError):
        return pd.Series(list(values), dtype=object)


def _fill_missing_years(frame: pd.DataFrame) -> None:
    """A forest year some chunk lacked (its pixels held none) is 0 where the zone had data."""
    if "data_coverage" not in frame.columns:
        return
    nodata = ~(frame["data_coverage"].to_numpy(dtype="float64") > 0)
    for c in frame.columns:
        if str(c).startswith("loss_") and frame[c].isna().any():
            frame[c] = frame[c].where(frame[c].notna() | nodata, 0.0)
