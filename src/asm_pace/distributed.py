"""Beyond one machine: a dask.distributed cluster as the engine (docs/distributed.md).

Two ways in, one partitioning (that of :mod:`asm_pace.parallel`):

- :func:`classify_dask` (and :func:`asm_pace.classify` given a dask-geopandas
  GeoDataFrame of sites and the layers as paths): the sites' partitions stay on the
  cluster. Each partition gives its sites' Hilbert keys (of their lon/lat box centres,
  :func:`asm_pace.parallel.spatial_chunks`, the key of dask-geopandas'
  ``spatial_shuffle``); the client sorts them and cuts equal counts (:func:`asm_pace.parallel.site_chunks`: about
  30,000 sites each, a whole number per worker thread); the workers
  move each partition's rows to their chunk among themselves, and each chunk is
  classified by :func:`asm_pace.parallel._classify_chunk`: the worker reads the
  protected areas **of a box around its chunk** and the ecoregions once per run. No
  layer is sent to a worker, only paths.
- ``scheduler=`` (``--scheduler ADDRESS``, ``run_pipeline(scheduler=...)``,
  :func:`asm_pace.parallel.classify_parallel`): the split steps of a run go to the
  cluster at that address through :func:`asm_pace.parallel.chunk_executor`, which
  enters :func:`scheduler_client`.

The result is the serial one, bit for bit (columns, values, dtypes, index, order,
``attrs``), computed (a geopandas GeoDataFrame, not a lazy one): classify's extent check
counts all the sites and is made once by the client, and a chunk that warns or refuses
sends the run to serial on the client, so the warnings and refusals are the serial
run's, word for word (as with ``jobs=``).
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import parallel
from .errors import AsmPaceError, CRSError, InputError

__all__ = ["CONNECT_TIMEOUT_S", "classify_dask", "scheduler_client", "check_scheduler"]

#: Seconds to wait for a scheduler (and for its first worker) before refusing the address.
CONNECT_TIMEOUT_S = 5.0
#: The last run of :func:`classify_dask` in this process: ``partitions`` (of the input),
#: ``chunks``, ``workers`` (the cluster's threads), each chunk's ``sites`` (count),
#: ``boxes`` (the protected areas read; None: the whole layer) and ``pids`` (the worker
#: process), ``client_s`` (the client's wall seconds by step: the ``keys`` gathered, chunks
#: ``cut``, waiting for the ``chunks``' results, ``assemble``, ``extent check``), and
#: ``serial`` (why the run was made serially, when it was).
LAST_RUN: dict[str, Any] = {}
_INSTALL = "pip install 'asm-pace[dask]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise InputError(
            "dask.distributed is not installed: --scheduler (scheduler= in Python) and "
            f"dask-geopandas sites need it; install it with {_INSTALL}"
        ) from err
    return distributed


def _at(address: str) -> str:
    """Where a message about a scheduler points: both interfaces' names for it."""
    return f"--scheduler {address} (scheduler= in Python)"


def _probe() -> dict[str, str]:
    """What a worker must share with the client for the serial result: asm_pace, GEOS, PROJ."""
    import pyproj

    import asm_pace

    return {
        "asm_pace": asm_pace.__version__,
        "GEOS": shapely.geos_version_string,
        "PROJ": pyproj.proj_version_str,
    }


#: What each worker runs to say its versions (a test replaces it by one that fails there).
_WORKER_PROBE = _probe


def check_scheduler(address: object, *, jobs: object = None) -> int:
    """Check a scheduler address (``--scheduler``) and its workers; their thread count.

    Connects (:func:`scheduler_client`: refused when nothing answers, dask is not
    installed, or the workers cannot import the same asm_pace) and returns the number of
    worker threads, the number of chunks a run is cut into. ``jobs`` with a scheduler is
    refused: the cluster's workers are the jobs.

    Examples
    --------
    >>> check_scheduler("")
    Traceback (most recent call last):
    asm_pace.errors.InputError: scheduler='' (--scheduler): give the dask scheduler's address...
    """
    if not isinstance(address, str | os.PathLike) or not os.fspath(address).strip():
        raise InputError(
            f"scheduler={address!r} (--scheduler): give the dask scheduler's address, e.g. "
            "--scheduler tcp://10.0.0.5:8786 (what dask scheduler prints when it starts)"
        )
    if jobs is not None:
        raise InputError(
            f"jobs={jobs!r} (--jobs) and scheduler= (--scheduler) were both given: with a "
            "scheduler the cluster's workers are the jobs; give one of them"
        )
    with scheduler_client(os.fspath(address).strip()) as cluster:
        return cluster.threads


class _Cluster:
    """A connected ``distributed.Client`` as an executor: ``submit(fn, *args)``.

    Frames among the arguments are scattered to the cluster first (no copy in the task
    graph), and each call runs through :func:`_on_worker` (one chunk at a time per
    worker process, the per-process layer cache renewed once per run).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.run = uuid.uuid4().hex
        workers = client.scheduler_info(n_workers=-1)["workers"]
        self.threads = int(sum(w.get("nthreads", 1) for w in workers.values()))

    def submit(self, fn: Any, *args: Any) -> Any:
        args = tuple(
            self.client.scatter(a, hash=False) if isinstance(a, pd.DataFrame) else a for a in args
        )
        return self.client.submit(_on_worker, self.run, fn, *args, pure=False)


@contextlib.contextmanager
def scheduler_client(address: str, *, timeout: float | None = None) -> Iterator[_Cluster]:
    """A connection to the dask scheduler at ``address``, as an executor of chunks.

    Yields an object with ``submit(fn, *args)`` returning a ``distributed`` future (with
    ``result()`` and ``cancel()``, as a :class:`concurrent.futures.ProcessPoolExecutor`'s)
    and ``client`` (the ``distributed.Client``); the client is closed on exit.

    Raises
    ------
    InputError
        dask.distributed is not installed; nothing answers at ``address`` within
        ``timeout`` seconds (:data:`CONNECT_TIMEOUT_S` by default); no worker joins within
        ``timeout``; a worker cannot import
        asm_pace, or runs another asm_pace, GEOS or PROJ version than this process.

    Examples
    --------
    >>> with scheduler_client("tcp://127.0.0.1:1", timeout=0.5) as cluster:  # nothing there
    ...     pass
    Traceback (most recent call last):
    asm_pace.errors.InputError: --scheduler tcp://127.0.0.1:1 (scheduler= in Python): no dask scheduler answered ...
    """
    distributed = _distributed()
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TypeError) as err:
        failed = f"{type(err).__name__}: {err}"
    else:
        failed = None
    if failed is not None:
        # the half-made client's event loop is stopped now: left to the garbage collector,
        # its __del__ may run while another client starts, and distributed then deadlocks
        # (Client.__del__ -> LoopRunner.stop waits on the starting loop's lock)
        gc.collect()
        raise InputError(
            f"{_at(address)}: no dask scheduler answered there within {timeout:g} s "
            f"({failed}); start one (dask scheduler) and give the address it prints, e.g. "
            "tcp://10.0.0.5:8786"
        )
    try:
        _check_workers(client, address, timeout)
        yield _Cluster(client)
    finally:
        client.close()


def _check_workers(client: Any, address: str, timeout: float) -> None:
    """Refuse a cluster without workers, or whose workers would not give the serial run."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError) as err:
        raise InputError(
            f"{_at(address)}: the scheduler has no worker (none joined within "
            f"{timeout:g} s); start some (dask worker {address}) and run again"
        ) from err
    here = _probe()
    try:
        found = client.run(_WORKER_PROBE)
    except Exception as err:  # the worker's own error (ModuleNotFoundError...), re-raised here
        raise InputError(
            f"{_at(address)}: the workers cannot run asm_pace ({type(err).__name__}: "
            f"{err}); install asm-pace {here['asm_pace']} in the workers' environment "
            f"(pip install asm-pace=={here['asm_pace']}) and restart them"
        ) from err
    other = {w: v for w, v in found.items() if v != here}
    if other:
        worker, theirs = next(iter(other.items()))
        said = ", ".join(f"{k} {theirs.get(k)} (here {v})" for k, v in here.items())
        raise InputError(
            f"{_at(address)}: {len(other)} of {len(found)} worker(s) run other "
            f"versions than this process ({worker}: {said}); install the same asm-pace, "
            "shapely and pyproj on the workers (the result must be the serial one) and restart them"
        )


#: Per worker process: one chunk at a time (classify's warnings and its deferred extent
#: check are process-wide), and the run whose layers the cache holds.
_LOCK = threading.Lock()
_CURRENT_RUN: list[str | None] = [None]


def _on_worker(run: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` on a worker, alone in its process; a new run reads its layers anew
    (a long-lived worker must not keep an ecoregion file that has since changed)."""
    with _LOCK:
        if _CURRENT_RUN[0] != run:
            parallel.clear_reads()
            _CURRENT_RUN[0] = run
        return fn(*args)


# --------------------------------------------------------------------------- dask sites


def _layer_path(value: object, name: str, option: str) -> str:
    if isinstance(value, str | os.PathLike):
        return os.fspath(value)
    raise InputError(
        f"{name}: with dask-geopandas sites give a file path the workers can read "
        f"(got a {type(value).__name__}): each worker reads the part it needs, whereas a "
        f"layer in memory would be copied to every worker; write it to a GeoPackage on "
        f"storage the workers share ({option} on the command line), or compute the sites "
        "(sites.compute()) and classify them in this process"
    )


def _keys(part: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """A partition's Hilbert keys (:func:`asm_pace.parallel.hilbert_order`'s, computed on
    the worker; zeros when a site has no geometry), missing flags and index."""
    from ._vector import to_wgs84

    geoms = np.asarray(part.geometry.values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    keys = np.zeros(len(part), dtype="int64")
    if not bad.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a chunk's classify gives them, or the serial run
            wgs84 = np.asarray(to_wgs84(part).geometry.values, dtype=object)
        keys = parallel._hilbert_keys(wgs84)
    return keys, bad, part.index


def _split(part: gpd.GeoDataFrame, labels: np.ndarray, n_chunks: int) -> list[gpd.GeoDataFrame]:
    """A partition's rows by chunk (``labels``: each row's chunk), in the partition's order."""
    return [part.iloc[np.flatnonzero(labels == c)] for c in range(n_chunks)]


def _chunk_of(spec: parallel._Spec, *pieces: gpd.GeoDataFrame) -> Any:
    """Classify one chunk from its pieces (in the sites' order): :func:`parallel._work`.

    The pieces are joined as ``compute()`` joins partitions (``attrs`` kept when equal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # all-NA columns of some pieces
        sites = pieces[0] if len(pieces) == 1 else pd.concat(pieces, axis=0)
    out = parallel._work(sites, spec)
    return (*out, len(sites))


def classify_dask(
    sites: Any,
    protected_areas: str | os.PathLike[str],
    ecoregions: str | os.PathLike[str],
    *,
    priority_landscapes: str | os.PathLike[str] | None = None,
    uncertainty_m: float | None = None,
    pa_options: Mapping[str, Any] | None = None,
    ecoregion_options: Mapping[str, Any] | None = None,
    landscape_options: Mapping[str, Any] | None = None,
    chunks: int | None = None,
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """:func:`asm_pace.classify` of a dask-geopandas GeoDataFrame of sites, on a cluster.

    The result is ``classify(sites.compute(), read_protected_areas(protected_areas,
    **pa_options), read_ecoregions(ecoregions, **ecoregion_options), ...)`` bit for bit,
    computed (a geopandas GeoDataFrame on the sites' index and order), with the serial
    run's warnings and refusals (:func:`asm_pace.parallel.classify_parallel`). The
    readers' own warnings are not given.

    Parameters
    ----------
    sites : dask_geopandas.GeoDataFrame
        Points or footprints with a CRS; its partitions are read by the workers.
    protected_areas, ecoregions, priority_landscapes : path
        Files every worker can read at that path (a shared filesystem, or a URL GDAL
        reads: ``/vsis3/...``); each worker reads the protected areas of a box around its
        chunk, the ecoregions and landscapes once per run.
    uncertainty_m : float, optional
        As in :func:`asm_pace.classify`.
    pa_options, ecoregion_options, landscape_options : mapping, optional
        The readers' keywords (``bbox`` is refused in ``pa_options``).
    chunks : int, optional
        Spatial chunks; by default :func:`asm_pace.parallel.site_chunks` (about
        :data:`~asm_pace.parallel.SITES_PER_CHUNK` sites each, a whole number per
        worker thread of the cluster).
    scheduler : str, optional
        The scheduler's address; by default the current ``distributed.Client``.

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    InputError
        A layer given in memory rather than as a path; no client and no ``scheduler``;
        ``kbas`` (through :func:`asm_pace.classify`); what :func:`scheduler_client` refuses.
    CRSError
        Sites without a CRS (a split run does not guess one).

    Examples
    --------
    >>> import warnings, dask_geopandas
    >>> from distributed import Client, LocalCluster
    >>> import asm_pace
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sites = asm_pace.read_sites(sample_path("sites.csv"))
    ...     pas = sample_path("protected_areas.gpkg")
    ...     eco = sample_path("ecoregions.gpkg")
    ...     frame = dask_geopandas.from_geopandas(sites, npartitions=3)
    ...     with LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as lc, \\
    ...             Client(lc):
    ...         out = asm_pace.classify(frame, pas, eco)
    ...     serial = asm_pace.classify(frame.compute(), asm_pace.read_protected_areas(pas),
    ...                                asm_pace.read_ecoregions(eco))
    >>> out.equals(serial), LAST_RUN["chunks"]
    (True, 2)
    """
    if not hasattr(sites, "geometry") or not hasattr(sites, "crs"):
        raise InputError(
            f"sites: a {type(sites).__name__} without geometry; give a dask-geopandas "
            "GeoDataFrame (dask_geopandas.from_geopandas, dask_geopandas.read_parquet)"
        )
    if sites.crs is None:
        raise CRSError(
            "sites: the dask-geopandas GeoDataFrame has no coordinate reference system; set "
            "it (sites.set_crs('EPSG:4326')): a run split over workers does not guess it"
        )
    spec = parallel._Spec(
        _layer_path(protected_areas, "protected_areas", "-p"),
        _layer_path(ecoregions, "ecoregions", "-e"),
        None
        if priority_landscapes is None
        else _layer_path(priority_landscapes, "priority_landscapes", "-l"),
        dict(pa_options or {}),
        dict(ecoregion_options or {}),
        dict(landscape_options or {}),
        uncertainty_m,
        parallel.FIRST_MARGIN_KM,
    )
    if "bbox" in spec.pa_options:
        raise InputError(
            "bbox= in pa_options: each worker reads a box around its chunk itself; "
            "drop it (in Python)"
        )
    distributed = _distributed()
    LAST_RUN.clear()
    if scheduler is not None:
        with scheduler_client(str(scheduler)) as cluster:
            out = _classify_on(cluster, sites, spec, chunks)
    else:
        try:
            client = distributed.default_client()
        except ValueError as err:
            raise InputError(
                "dask-geopandas sites but no dask.distributed Client: start one "
                "(distributed.Client(LocalCluster()) or Client('tcp://...')), or give "
                "scheduler= (--scheduler on the command line)"
            ) from err
        _check_workers(client, str(client.scheduler.address), float(CONNECT_TIMEOUT_S))
        out = _classify_on(_Cluster(client), sites, spec, chunks)
    if out is None:  # as serially: its warnings and refusals, word for word
        return parallel._serial(
            sites.compute(), spec.protected_areas, spec.ecoregions, spec.priority_landscapes,
            uncertainty_m, spec.pa_options, spec.eco_options, spec.land_options, None,
        )  # fmt: skip
    return out


def _classify_on(
    cluster: _Cluster, sites: Any, spec: parallel._Spec, chunks: int | None
) -> gpd.GeoDataFrame | None:
    """The chunks' results in the sites' order, or None (LAST_RUN["serial"]: why)."""
    client = cluster.client
    clock = _Clock()
    parts = client.compute(sites.to_delayed())
    LAST_RUN.update(partitions=len(parts), workers=cluster.threads)
    try:
        found = client.gather(
            [client.submit(_on_worker, cluster.run, _keys, p, pure=False) for p in parts]
        )
    except AsmPaceError as err:  # sites to_wgs84 refuses: the serial run names them
        LAST_RUN["serial"] = str(err)
        return None
    clock("keys")
    keys = np.concatenate([f[0] for f in found])
    if np.concatenate([f[1] for f in found]).any():
        LAST_RUN["serial"] = "sites without a geometry"
        return None
    if len(keys) < 2:
        LAST_RUN["serial"] = "fewer than two sites"
        return None
    index = found[0][2].append([f[2] for f in found[1:]]) if len(found) > 1 else found[0][2]
    n_chunks = (
        max(1, int(chunks))
        if chunks is not None
        else parallel.site_chunks(len(keys), cluster.threads)
    )
    positions = parallel._cut(np.argsort(keys, kind="stable"), n_chunks)
    labels = np.empty(len(keys), dtype="int64")
    for c, p in enumerate(positions):
        labels[p] = c
    ends = np.cumsum([len(f[2]) for f in found])
    starts = ends - np.array([len(f[2]) for f in found])
    splits = [
        client.submit(_split, part, labels[s:e], len(positions), pure=False)
        for part, s, e in zip(parts, starts, ends, strict=True)
    ]
    futures = []
    for c in range(len(positions)):
        pieces = [
            client.submit(operator.getitem, split, c, pure=False)
            for split, s, e in zip(splits, starts, ends, strict=True)
            if (labels[s:e] == c).any()
        ]
        futures.append(client.submit(_on_worker, cluster.run, _chunk_of, spec, *pieces, pure=False))
    clock("cut")
    LAST_RUN.update(chunks=len(positions), sites=[], boxes=[], pids=[], client_s=clock.spent)
    results, names = [], {}
    for future in futures:
        status, value, box, pid, _, count = future.result()
        LAST_RUN["boxes"].append(box)
        LAST_RUN["pids"].append(pid)
        LAST_RUN["sites"].append(count)
        if status != "ok":
            client.cancel(futures)
            LAST_RUN["serial"] = value
            return None
        results.append(value[0])
        names = value[1]
    clock("chunks")
    out = parallel._assemble(pd.DataFrame(index=index), positions, results)
    clock("assemble")
    parallel._check_extent(out, out, names)
    clock("extent check")
    return out


class _Clock:
    """Wall seconds of the client's steps (``LAST_RUN["client_s"]``), for benchmarks."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.spent[step] = now - self._last
        self._last = now
