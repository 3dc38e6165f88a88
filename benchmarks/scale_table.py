"""Issue 10's closing table: size, time, peak memory, ratio to the peer and growth exponents.

For each step, number of sites and protected-area layer (a folder written by
``benchmarks/make_global.py``), the step runs in a fresh subprocess, once the asm_pace
way and once the peer way, interleaved (``--repeat`` times: the best time is kept).
Each subprocess reads its inputs first, then times only the step (wall and CPU seconds,
the CPU of its worker processes included) while a thread samples the resident memory of
the process and of its children every 50 ms; the peak is the larger of that sample and
the process's ``VmHWM`` (``ru_maxrss`` of the largest child is kept in the raw numbers).
The peers are those of the existing benchmarks, imported, not copied:

========  ==========================================================  =========================
step      asm_pace                                                    peer
========  ==========================================================  =========================
read      ``read_protected_areas`` + ``read_ecoregions``              ``geopandas.read_file``
classify  ``classify``                                                ``bench_classify.peer``
buffers   ``buffers`` 1, 10, 50 km                                    ``bench_buffers`` EPSG:6933
overlaps  ``overlaps(dissolve=True)`` of those buffers, Global 200    ``bench_overlaps.run_peer``
forest    ``forest_loss`` of clustered 5 km buffers, 2 x 2 mosaic     ``bench_forest`` decode floor
pipeline  ``bench_pipeline`` chunked (``run_pipeline`` defaults)      ``bench_pipeline`` unchunked
========  ==========================================================  =========================

``read`` does not depend on the sites (one row per layer), ``buffers`` and ``forest`` not
on the layer (one row per number of sites; forest uses ``bench_forest``'s mosaic of
``--forest-size`` tiles, its setting for issue 10). The pipeline's forest step runs on
``--mosaic`` (``bench_pipeline.make_mosaic``'s folder) when given, else it is left out.

The growth exponent is the least-squares slope of log time (wall and CPU) and of log peak
memory against log sites at a fixed layer, and against log vertices (of the protected-area file) at a
fixed number of sites: 1 is linear, 0 a fixed cost.

A cell is run only if it can finish within ``--limit`` seconds (its subprocess, reading
included): it is **skipped** when a smaller cell of its row (fewer sites, or a smaller
layer) went over the limit, or when the time predicted from the smaller cells (their
growth exponent, 1 with a single one) exceeds it; a cell that runs past the limit is
stopped. Every cell is in the table, with its numbers or why it has none. A cell whose
peak memory may pass ``--lock-mb`` (predicted from the smaller cells of its row; without
any, a layer above 30 M vertices or 1 M sites or more) holds ``--lock FILE`` (``flock``)
while it runs, so that two such cells of different runs never run at once.

Usage::

    .venv/bin/python benchmarks/scale_table.py --folders /work/bench/g01,/work/bench/g03 \\
        --sites 1000,10000 --out /tmp/scale_table.md
    # the final grid (hours, on an idle machine):
    .venv/bin/python benchmarks/scale_table.py \\
        --folders /work/bench/g01,/work/bench/g03,/work/bench/g1 \\
        --sites 1000,10000,100000,1000000 --mosaic /work/bench/T1/mosaic --limit 900 \\
        --lock /work/bench/big.lock --out /work/bench/scale_table.md

Writes the markdown table (``--out``, and printed) and the raw numbers (``--out`` with
``.json``), both rewritten after every cell.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RADII_KM = (1.0, 10.0, 50.0)
FOREST_RADIUS_KM = 5.0
WAYS = ("asm_pace", "peer")


@dataclass(frozen=True)
class Step:
    """A row of the table: whether it varies with the sites and with the layer."""

    sites: bool
    layer: bool
    asm_pace: str
    peer: str


STEPS = {
    "read": Step(False, True, "read_protected_areas + read_ecoregions", "geopandas.read_file"),
    "classify": Step(True, True, "classify", "sjoin within x 2 + sjoin_nearest (degrees)"),
    "buffers": Step(True, False, "buffers 1, 10, 50 km", "buffer in EPSG:6933, back to 4326"),
    "overlaps": Step(
        True, True, "overlaps of the 3 buffers, dissolve, G200", "sjoin + intersection + dissolve"
    ),
    "forest": Step(
        True, False, "forest_loss, 5 km buffers, 2 x 2 mosaic", "decode floor (blocks read)"
    ),
    "pipeline": Step(True, True, "run_pipeline (chunked, defaults)", "unchunked (jobs=1, 1TB)"),
}


# -- the growth exponent --------------------------------------------------------------------


def growth_exponent(sizes, values) -> float:
    """Least-squares slope of ``log(values)`` against ``log(sizes)``.

    ``nan`` with fewer than two distinct sizes or a value that is not positive.

    >>> growth_exponent([1, 10, 100], [1, 10, 100])
    1.0
    >>> round(growth_exponent([1000, 10000], [2.0, 2.0]), 12)
    0.0
    """
    x = np.asarray(sizes, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.size < 2 or np.unique(x).size < 2 or not (np.all(x > 0) and np.all(y > 0)):
        return math.nan
    lx, ly = np.log(x), np.log(y)
    lx0 = lx - lx.mean()
    return float(round((lx0 * (ly - ly.mean())).sum() / (lx0 * lx0).sum(), 12))


# -- one cell, in a fresh process ------------------------------------------------------------


def _rss_tree_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and of all its descendants (MB)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):  # gone meanwhile
            continue
    return total * page / 2**20


class _Sampler(threading.Thread):
    """The peak resident memory of this process and its children, every ``every`` s."""

    def __init__(self, every: float = 0.05):
        super().__init__(daemon=True)
        self.every = every
        self.peak = _rss_tree_mb(os.getpid())
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.peak = max(self.peak, _rss_tree_mb(os.getpid()))

    def stop(self) -> float:
        self.done.set()
        self.join()
        return max(self.peak, _rss_tree_mb(os.getpid()))


def _hwm_mb() -> float:
    """This process's peak resident memory (MB), ``VmHWM``: unlike ``ru_maxrss``, it does
    not carry the parent's size at ``fork`` across ``exec``."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process and of its reaped children (worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _bench(name: str):
    """Import a sibling benchmark script as a module."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return __import__(name)


def _forest_tiles(data: Path, size: int) -> tuple[list[Path], list[Path]]:
    """bench_forest's 2 x 2 mosaic of ``size`` pixel tiles (made once, kept in ``data``)."""
    bf = _bench("bench_forest")
    folder = data / f"mosaic_{size}_tiled"
    pairs = [bf.make_tile(folder, size, "tiled", (i, j)) for i in (0, 1) for j in (0, 1)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def prepare(step: str, way: str, folder: Path | None, n: int, opts: argparse.Namespace):
    """Read the inputs of a cell; return the call to time and a note on the inputs."""
    import asm_pace

    pa_path = None if folder is None else folder / "protected_areas.gpkg"
    eco_path = None if folder is None else folder / "ecoregions.gpkg"
    if step == "read":
        if way == "peer":
            import geopandas as gpd

            return lambda: (gpd.read_file(pa_path), gpd.read_file(eco_path)), {}
        return (
            lambda: (asm_pace.read_protected_areas(pa_path), asm_pace.read_ecoregions(eco_path)),
            {},
        )
    if step == "classify":
        pas = asm_pace.read_protected_areas(pa_path)
        eco = asm_pace.read_ecoregions(eco_path)
        sites = asm_pace.read_sites(folder / f"sites_{n}.csv")
        if way == "peer":
            peer = _bench("bench_classify").peer
            return lambda: peer(sites, pas, eco), {"pas": len(pas)}
        return lambda: asm_pace.classify(sites, pas, eco), {"pas": len(pas)}
    if step == "buffers":
        sites = asm_pace.read_sites(opts.first_folder / f"sites_{n}.csv")
        if way == "peer":
            by_equal_area = _bench("bench_buffers").by_equal_area
            radii_m = np.array(RADII_KM) * 1000.0
            return lambda: by_equal_area(sites, radii_m, 64), {}
        return lambda: asm_pace.buffers(sites, RADII_KM), {}
    if step == "overlaps":
        bo = _bench("bench_overlaps")
        zones, pas, eco = bo.read_inputs(folder, n)
        call = bo.run_peer if way == "peer" else bo.run_asm_pace
        return lambda: call(zones, pas, eco), {"pas": len(pas), "zones": len(zones)}
    if step == "forest":
        bf = _bench("bench_forest")
        tcs, lys = _forest_tiles(opts.forest_data, opts.forest_size)
        zones = bf.make_zones(n, FOREST_RADIUS_KM, 2 * opts.forest_size)
        call = bf.run_decode_floor if way == "peer" else bf.run_asm_pace
        return lambda: call(zones, tcs, lys), {"zones": len(zones)}
    if step == "pipeline":  # bench_pipeline's own run (its --one mode), in a child process
        chunked = way == "asm_pace"
        cmd = [sys.executable, str(HERE / "bench_pipeline.py"), str(folder), "--one"]
        cmd += ["--n", str(n), "--way", "chunked" if chunked else "unchunked"]
        cmd += ["--out", str(opts.work)] + ([] if chunked else ["--jobs", "1", "--memory", "1TB"])
        cmd += ["--mosaic", opts.mosaic] if opts.mosaic else []

        def run() -> dict:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode:
                last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                raise RuntimeError(f"bench_pipeline.py: {last}")
            out = json.loads(done.stdout.strip().splitlines()[-1])
            Path(out["output"]).unlink(missing_ok=True)
            return out

        return run, {"forest": bool(opts.mosaic)}
    raise ValueError(f"unknown step {step!r}")


def run_cell(step: str, way: str, folder: Path | None, n: int, opts: argparse.Namespace) -> dict:
    """Read the inputs, then time the step: wall, CPU (with workers), peak memory (MB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call, note = prepare(step, way, folder, n, opts)
        inputs_mb = _rss_tree_mb(os.getpid())
        sampler = _Sampler()
        sampler.start()
        cpu, wall = _cpu_s(), time.perf_counter()
        out = call()
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
        peak = sampler.stop()
    if step == "pipeline":  # the pipeline's own numbers, without the child's start
        wall = out["wall_s"]
        cpu = out["cpu_parent_s"] + out["cpu_children_s"]
        peak = max(peak, out["peak_gb"] * 1e9 / 2**20)
    own = _hwm_mb()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mb": max(peak, own),
        "inputs_mb": inputs_mb,
        "maxrss_mb": own,
        "children_maxrss_mb": kids,
        **note,
    }


def run_child(cmd: list[str], limit: float) -> tuple[str, dict | str, float]:
    """Run ``cmd`` (its last stdout line is JSON) in a new process group, stopped (with its
    children) after ``limit`` seconds: ``(status, result or message, seconds)``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return "stopped", f"stopped at the limit, {limit:g} s", time.perf_counter() - t0
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): the cell does not outlive us
        _stop(proc)
        raise
    took = time.perf_counter() - t0
    if proc.returncode:
        last = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return "failed", last[:200], took
    return "ok", json.loads(out.strip().splitlines()[-1]), took


def _stop(proc: subprocess.Popen) -> None:
    """Kill the process group of ``proc`` (the cell and its workers, nothing else)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


# -- the grid ----------------------------------------------------------------------------------


def file_vertices(path: Path, cache: dict) -> int:
    """Vertices of every geometry of a vector file, read in batches (cached by path, size
    and modification time)."""
    import pyogrio
    import shapely

    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if key not in cache:
        total, start, batch = 0, 0, 20_000
        n = pyogrio.read_info(path)["features"]
        while start < n:
            part = pyogrio.read_dataframe(path, columns=[], skip_features=start, max_features=batch)
            total += int(shapely.get_num_coordinates(part.geometry.values).sum())
            start += batch
        cache[key] = total
    return cache[key]


@dataclass
class Cell:
    step: str
    way: str
    folder: str  # "" when the step does not use the layer
    sites: int  # 0 when the step does not use the sites
    status: str = "pending"  # ok, over, stopped, skipped, failed, no input
    note: str = ""
    runs: list | None = None  # every run's numbers
    total_s: float = math.nan  # the subprocess (reading included) of the best run

    def best(self) -> dict | None:
        if not self.runs:
            return None
        return min(self.runs, key=lambda r: r["wall_s"])


def _predict(cells: list[Cell], cell: Cell, limit: float, vertices: dict) -> tuple[str, float]:
    """Why ``cell`` cannot finish within the limit (``""`` if it may) and its predicted
    seconds, from the cells of its row already run: their growth exponent, or with one
    cell the largest of the parallel rows' (other layers, or other numbers of sites), else 1.
    """
    mine = [c for c in cells if c.step == cell.step and c.way == cell.way]
    ok = [c for c in mine if c.status == "ok"]

    def size(c: Cell, axis: int) -> float:
        return c.sites if axis == 0 else vertices[c.folder]

    def slope(row: list[Cell], axis: int) -> float:
        return growth_exponent([size(c, axis) for c in row], [c.total_s for c in row])

    worst = 0.0
    for axis in (0, 1):
        if axis == 0:
            row = [c for c in mine if c.folder == cell.folder and 0 < c.sites < cell.sites]
            others = [[c for c in ok if c.folder == f] for f in {c.folder for c in ok}]
        elif cell.folder:
            row = [c for c in mine if c.sites == cell.sites and c.folder]
            row = [c for c in row if vertices[c.folder] < vertices[cell.folder]]
            others = [[c for c in ok if c.sites == n] for n in {c.sites for c in ok}]
        else:
            continue
        if any(c.status in ("over", "stopped", "skipped") for c in row):
            fewer = "fewer sites" if axis == 0 else "a smaller layer"
            return f"the cell with {fewer} went over the limit", math.inf
        row = [c for c in row if c.status == "ok"]
        if not row:
            continue
        k = slope(row, axis)
        if math.isnan(k):
            fits = [x for x in (slope(r, axis) for r in others if r) if not math.isnan(x)]
            k = max(fits) if fits else 1.0
        k = min(max(k, 0.0), 2.0)
        last = max(row, key=lambda c: size(c, axis))
        worst = max(worst, last.total_s * (size(cell, axis) / size(last, axis)) ** k)
    if worst > limit:
        return f"predicted {worst:,.0f} s > limit {limit:g} s", worst
    return "", worst


def _memory_slope(row: list[Cell]) -> float:
    """Growth exponent of the peak memory with the sites over ``row``."""
    return growth_exponent([c.sites for c in row], [c.best()["peak_mb"] for c in row])


def _needs_lock(cells: list[Cell], cell: Cell, vertices: dict, lock_mb: float) -> bool:
    """Whether ``cell``'s peak memory may pass ``lock_mb``: predicted from the cells of its
    row already run (in proportion to the vertices; with the sites, as the memory exponent
    fitted on the layer, or with one cell there on the other layers, else 0.5), else for a
    layer above 30 M vertices or 1 M sites or more."""
    done = [c for c in cells if c.step == cell.step and c.way == cell.way and c.best()]
    fewer = [c for c in done if c.folder == cell.folder and 0 < c.sites < cell.sites]
    smaller = [
        c
        for c in done
        if c.sites == cell.sites and c.folder and vertices[c.folder] < vertices[cell.folder]
    ]
    if not (fewer or smaller):
        return bool(cell.folder and vertices[cell.folder] > 30_000_000) or cell.sites >= 10**6
    guesses = [c.best()["peak_mb"] * vertices[cell.folder] / vertices[c.folder] for c in smaller]
    if fewer:
        others = [_memory_slope([c for c in done if c.folder == f]) for f in vertices]
        others = [x for x in others if not math.isnan(x)]
        slope = _memory_slope(fewer)  # this layer's; with one cell, the other layers' largest
        if math.isnan(slope):
            slope = max(others) if others else 0.5
        slope = min(max(slope, 0.0), 1.0)
        last = max(fewer, key=lambda c: c.sites)
        guesses.append(last.best()["peak_mb"] * (cell.sites / last.sites) ** slope)
    return max(guesses) > lock_mb


def grid(opts: argparse.Namespace) -> tuple[list[Cell], dict]:
    """The cells in the order they run: layers by size, sites by number, steps, ways."""
    cache_path = opts.work / "vertices.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    vertices = {}
    for folder in opts.folders:
        vertices[str(folder)] = file_vertices(folder / "protected_areas.gpkg", cache)
    cache_path.write_text(json.dumps(cache))
    folders = sorted(opts.folders, key=lambda f: vertices[str(f)])
    opts.first_folder = folders[0]
    cells = []
    for i, folder in enumerate(folders):
        for n in [0, *opts.sites]:
            for step in opts.steps:
                spec = STEPS[step]
                if (n == 0) == spec.sites or (not spec.layer and i > 0):
                    continue
                for way in opts.ways:
                    cells.append(Cell(step, way, str(folder) if spec.layer else "", n))
    return cells, vertices


def run_grid(opts: argparse.Namespace) -> dict:
    cells, vertices = grid(opts)
    meta = {
        "command": " ".join(["scale_table.py", *opts.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": f"{platform.node()}, {len(os.sched_getaffinity(0))} cores",
        "load_before": os.getloadavg(),
        "git": _git_head(),
        "limit_s": opts.limit,
        "repeat": opts.repeat,
        "inline": opts.inline,
        "vertices": vertices,
    }
    report = {"meta": meta, "cells": cells}
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:  # the ways of one (step, layer, sites): run interleaved
        groups.setdefault((cell.step, cell.folder, cell.sites), []).append(cell)
    for group in groups.values():
        live = []
        for cell in group:
            site_file = Path(cell.folder or opts.first_folder) / f"sites_{cell.sites}.csv"
            if cell.sites and not site_file.exists():
                cell.status, cell.note = "no input", f"no {site_file.name}"
                continue
            why, _ = _predict(cells, cell, opts.limit, vertices)
            if why:
                cell.status, cell.note = "skipped", why
                continue
            cell.runs = []
            live.append(cell)
        for _ in range(opts.repeat):
            for cell in live:
                if cell.status not in ("pending", "ok"):
                    continue
                status, res, took = _run_one(cell, opts, vertices, cells)
                if status != "ok":
                    cell.status, cell.note, cell.total_s = status, res, took
                    continue
                cell.runs.append(res)
                if took > opts.limit:  # finished past the limit (inline cells are not stopped)
                    cell.status, cell.note, cell.total_s = "over", f"took {took:,.0f} s", took
                elif cell.best() is res:
                    cell.status, cell.total_s = "ok", took
        for cell in group:
            _print_cell(cell)
        meta["load_after"] = os.getloadavg()
        write(report, opts)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    write(report, opts)
    return report


def _run_one(cell: Cell, opts, vertices: dict, cells: list[Cell]) -> tuple[str, object, float]:
    folder = Path(cell.folder) if cell.folder else None
    if opts.inline:
        t0 = time.perf_counter()
        try:
            res = run_cell(cell.step, cell.way, folder, cell.sites, opts)
        except Exception as err:  # marked in the table, as a subprocess's failure is
            return "failed", f"{type(err).__name__}: {err}"[:200], time.perf_counter() - t0
        return "ok", res, time.perf_counter() - t0
    cmd = [sys.executable, __file__, "--cell", cell.step, cell.way, cell.folder or "-"]
    cmd += [str(cell.sites), "--work", str(opts.work), "--folders", str(opts.first_folder)]
    cmd += ["--forest-size", str(opts.forest_size), "--forest-data", str(opts.forest_data)]
    if opts.mosaic:
        cmd += ["--mosaic", opts.mosaic]
    lock = None
    if opts.lock and _needs_lock(cells, cell, vertices, opts.lock_mb):
        lock = open(opts.lock, "a")  # noqa: SIM115 (held across the run)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        return run_child(cmd, opts.limit)
    finally:
        if lock is not None:
            lock.close()  # releases the lock


def _git_head() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _print_cell(cell: Cell) -> None:
    where = Path(cell.folder).name if cell.folder else "-"
    best = cell.best()
    if cell.status == "ok" and best:
        text = f"{best['wall_s']:.2f} s, CPU {best['cpu_s']:.2f} s, peak {best['peak_mb']:,.0f} MB"
    else:
        text = f"{cell.status}: {cell.note}"
    print(f"{cell.step:<9} {cell.way:<9} {where:<6} {cell.sites:>9,}  {text}", flush=True)


# -- the table ---------------------------------------------------------------------------------


def _mvert(v: int) -> str:
    return f"{v / 1e6:.1f} M" if v >= 1e5 else f"{v:,}"


def _layer(cell: Cell, vertices: dict) -> str:
    if not cell.folder:
        return "any"
    return f"{Path(cell.folder).name} ({_mvert(vertices[cell.folder])} vertices)"


def _cell_text(cell: Cell | None) -> tuple[str, str, str]:
    """Time, CPU and peak memory of a cell, or its status in the time column."""
    if cell is None:
        return "not run", "", ""
    best = cell.best()
    if cell.status == "ok" and best:
        return f"{best['wall_s']:.2f}", f"{best['cpu_s']:.2f}", f"{best['peak_mb']:,.0f}"
    if cell.status == "over" and best:
        return f"{best['wall_s']:.2f} (over the limit)", f"{best['cpu_s']:.2f}", ""
    text = f"{cell.status}: {cell.note}" if cell.note else cell.status
    return text.replace("|", "/"), "", ""


def exponents(cells: list[Cell], vertices: dict) -> list[dict]:
    """Growth exponents of time and peak memory with sites (fixed layer) and with vertices
    (fixed sites), per step and way, over the cells that finished."""
    out = []
    ok = [c for c in cells if c.status == "ok" and c.best()]
    for step in dict.fromkeys(c.step for c in cells):
        for way in WAYS:
            mine = [c for c in ok if c.step == step and c.way == way]
            for axis, key in (("sites", "folder"), ("vertices", "sites")):
                for at in dict.fromkeys(getattr(c, key) for c in mine):
                    row = [c for c in mine if getattr(c, key) == at]
                    xs = [c.sites if axis == "sites" else vertices.get(c.folder, 0) for c in row]
                    if len(set(xs)) < 2 or 0 in xs:
                        continue
                    out.append(
                        {
                            "step": step,
                            "way": way,
                            "with": axis,
                            "at": at,
                            "sizes": xs,
                            "time": growth_exponent(xs, [c.best()["wall_s"] for c in row]),
                            "cpu": growth_exponent(xs, [c.best()["cpu_s"] for c in row]),
                            "memory": growth_exponent(xs, [c.best()["peak_mb"] for c in row]),
                        }
                    )
    return out


def markdown(report: dict) -> str:
    meta, cells = report["meta"], report["cells"]
    vertices = meta["vertices"]
    lines = [
        "# Scale table (issue 10)",
        "",
        f"`{meta['command']}`, commit {meta['git']}, {meta['started']}"
        + (f" to {meta['finished']}" if "finished" in meta else " (running)")
        + f"; {meta['machine']}; load average before {_load(meta['load_before'])}"
        + (f", after {_load(meta['load_after'])}" if "load_after" in meta else "")
        + f". Best of {meta['repeat']} run(s); limit {meta['limit_s']:g} s a cell."
        + (" Inline: cells ran in one process, memory is the process's." if meta["inline"] else ""),
        "",
        "Seconds of the step alone (inputs read beforehand, except `read` and `pipeline`); "
        "CPU seconds include worker processes; peak MB is the process and its children; "
        "ratio = asm_pace seconds / peer seconds (below 1: asm_pace is faster).",
    ]
    by_key = {(c.step, c.way, c.folder, c.sites): c for c in cells}
    for step in dict.fromkeys(c.step for c in cells):
        spec = STEPS[step]
        lines += [
            "",
            f"## {step}",
            "",
            f"asm_pace: {spec.asm_pace}; peer: {spec.peer}.",
            "",
            "| layer | sites | asm_pace s | CPU s | peak MB | peer s | CPU s | peak MB | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        keys = dict.fromkeys((c.folder, c.sites) for c in cells if c.step == step)
        for folder, n in keys:
            mine = by_key.get((step, "asm_pace", folder, n))
            peer = by_key.get((step, "peer", folder, n))
            a, p = _cell_text(mine), _cell_text(peer)
            ratio = ""
            if mine and peer and mine.status == peer.status == "ok":
                ratio = f"{mine.best()['wall_s'] / peer.best()['wall_s']:.2f}"
            first = mine or peer
            sites = f"{n:,}" if n else "any"
            lines.append(f"| {_layer(first, vertices)} | {sites} | {' | '.join(a)} | ")
            lines[-1] += f"{' | '.join(p)} | {ratio} |"
    rows = exponents(cells, vertices)
    lines += [
        "",
        "## Growth exponents",
        "",
        "Least-squares slope of log seconds (wall, and CPU: steadier on a shared machine) "
        "and of log peak MB against log sites at a fixed layer, and against log vertices at "
        "a fixed number of sites.",
        "",
        "| step | way | with | at | sizes | time | CPU | memory |",
        "|---|---|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        if r["with"] == "vertices":
            at = f"{r['at']:,} sites" if r["at"] else "any sites"
        else:
            at = Path(r["at"]).name if r["at"] else "any layer"
        sizes = ", ".join(_mvert(x) if r["with"] == "vertices" else f"{x:,}" for x in r["sizes"])
        lines.append(
            f"| {r['step']} | {r['way']} | {r['with']} | {at} | {sizes} | "
            f"{r['time']:.2f} | {r['cpu']:.2f} | {r['memory']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _load(load) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def write(report: dict, opts: argparse.Namespace) -> None:
    """The markdown table and the raw numbers (JSON), each written whole then renamed."""
    if opts.out is None:
        return
    raw = {
        "meta": report["meta"],
        "cells": [c.__dict__ for c in report["cells"]],
        "exponents": exponents(report["cells"], report["meta"]["vertices"]),
    }
    for path, text in (
        (opts.out, markdown(report)),
        (opts.out.with_suffix(".json"), json.dumps(raw, indent=1, default=str)),
    ):
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text)
        tmp.replace(path)


# -- command line ------------------------------------------------------------------------------


def _names(text: str, allowed, what: str) -> list[str]:
    names = [s for s in text.split(",") if s]
    bad = [s for s in names if s not in allowed]
    if bad or not names:
        raise SystemExit(f"--{what}: {bad or 'nothing'} not among {', '.join(allowed)}")
    return names


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folders", default="", help="make_global.py folders (layer sizes), commas")
    ap.add_argument("--sites", default="1000,10000,100000,1000000", help="sites_<n>.csv sizes")
    ap.add_argument("--steps", default=",".join(STEPS), help="steps, commas")
    ap.add_argument("--ways", default="asm_pace,peer", help="asm_pace, peer")
    ap.add_argument("--limit", type=float, default=600.0, help="seconds a cell may take")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each cell (best kept)")
    ap.add_argument("--out", type=Path, help="markdown table (raw numbers: .json beside)")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--lock", help="a file to flock while a big cell runs")
    ap.add_argument("--lock-mb", type=float, default=3000.0, help="a big cell's peak memory")
    ap.add_argument("--mosaic", help="bench_pipeline's forest mosaic for the pipeline step")
    ap.add_argument("--forest-size", type=int, default=5000, help="forest mosaic tile pixels")
    ap.add_argument(
        "--forest-data",
        type=Path,
        default=Path(tempfile.gettempdir()) / "asm_pace_bench",
        help="bench_forest's tile folder (tiles made there if absent)",
    )
    ap.add_argument("--inline", action="store_true", help="cells in this process (quick check)")
    ap.add_argument("--cell", nargs=4, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    opts.argv = sys.argv[1:] if argv is None else list(argv)
    opts.folders = [Path(f) for f in opts.folders.split(",") if f]
    if not opts.folders:
        raise SystemExit("--folders: give at least one make_global.py folder")
    opts.first_folder = opts.folders[0]
    if opts.cell:
        return opts
    opts.sites = sorted(int(s) for s in opts.sites.split(",") if s)
    opts.steps = _names(opts.steps, STEPS, "steps")
    opts.ways = _names(opts.ways, WAYS, "ways")
    if opts.limit <= 0 or opts.repeat < 1:
        raise SystemExit("--limit must be above 0 and --repeat at least 1")
    return opts


def main(argv: list[str] | None = None) -> dict | None:
    opts = parse(argv)
    if opts.cell:
        step, way, folder, n = opts.cell
        res = run_cell(step, way, None if folder == "-" else Path(folder), int(n), opts)
        print(json.dumps(res))
        return None
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cells stopped on exit
    try:
        with contextlib.ExitStack() as stack:
            if opts.work is None:
                opts.work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale_")))
            opts.work.mkdir(parents=True, exist_ok=True)
            if "forest" in opts.steps:  # the mosaic is made once, before any cell is timed
                _forest_tiles(opts.forest_data, opts.forest_size)
            report = run_grid(opts)
    finally:
        signal.signal(signal.SIGTERM, old)
    print()
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
