"""Benchmark: the whole pipeline (read, classify, buffers, overlaps, forest loss, write).

Issue 10's goal: 1 M sites against a global-size protected-area layer in under 10 minutes
and 8 GB. Each run is a subprocess (``run_pipeline`` + ``write_outputs``); a thread samples
the resident memory of the process and of its worker processes (psutil) every 0.2 s and
records, per step (the pipeline's ``progress`` names), the wall time, the parent's CPU
seconds and the peak RSS (parent + children); the workers' CPU seconds come from
``getrusage(RUSAGE_CHILDREN)`` at the end.

The forest rasters: a seeded Hansen-like mosaic (``treecover2000`` 0-100 %, ``lossyear``
0-23, uint8, nodata 255, LZW, 256 x 256 blocks) of 10 x 10 degree tiles named as Hansen's
(``Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif``), covering every longitude from
80N to 60S (where ``make_global.py`` puts sites), at **0.01 degree** (1,000 x 1,000 pixels
a tile, 504 tiles a layer): a global mosaic at Hansen's 0.00025 degree (or 0.001) would
be 65 G pixels a layer; the kernel's cost follows the zones' perimeter, not the pixels.

    .venv/bin/python benchmarks/bench_pipeline.py --mosaic /work/bench/T1/mosaic
    flock /work/bench/big.lock .venv/bin/python benchmarks/bench_pipeline.py \\
        /work/bench/g1 --sites 10000,100000 --ways unchunked,chunked --out /work/bench/T1

A chunked run streams its zone layers to a scratch file beside the output (``stream_to``,
as the command line does); ``--no-stream`` keeps them in memory (the way before; also for
an older asm_pace given by ``PYTHONPATH``). Unattended, e.g. the 1 M run:

    flock /work/bench/big.lock .venv/bin/python benchmarks/bench_pipeline.py /work/bench/g1 \
        --sites 1000000 --ways chunked --memory 1GB --limit-gb 12 \
        --mosaic /work/bench/T1/mosaic --out /work/bench/final/pipe_out

prints, per step, the wall and CPU seconds and the peak memory (``--limit-gb``: the run is
stopped, with its workers, above that RSS, and says in which step).

Ways: ``unchunked`` (the peer: ``jobs=1``, ``memory="1TB"`` and no cut to the cores:
one chunk, the path of before), ``serial`` (the chunks of ``--memory``, ``jobs=1``: the
same chunks, in one process) and ``chunked`` (``--memory``, default from the machine's
RAM; every core).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RES = 0.01
TILE_DEG = 10
TOPS = range(80, -60, -TILE_DEG)  # tile tops: 80N .. 50S (the last reaches 60S)
RADII = (1.0, 10.0, 50.0)


def _tag(top: int, left: int) -> str:
    ns = f"{abs(top):02d}{'N' if top >= 0 else 'S'}"
    ew = f"{abs(left):03d}{'E' if left >= 0 else 'W'}"
    return f"{ns}_{ew}"


def make_mosaic(folder: Path, res: float = RES) -> Path:
    """Write the seeded Hansen-like mosaic into ``folder`` (kept: tiles already there are
    not written again); returns the folder."""
    import rasterio
    from rasterio.transform import from_origin

    folder.mkdir(parents=True, exist_ok=True)
    size = round(TILE_DEG / res)
    coarse = 50  # forest and loss come in patches of about 50 pixels
    for top in TOPS:
        for left in range(-180, 180, TILE_DEG):
            tag = _tag(top, left)
            tcp = folder / f"Hansen_GFC-2023-v1.11_treecover2000_{tag}.tif"
            lyp = folder / f"Hansen_GFC-2023-v1.11_lossyear_{tag}.tif"
            if tcp.exists() and lyp.exists():
                continue
            rng = np.random.default_rng([2013, top + 90, left + 180])
            n_c = size // coarse + 2
            idx = np.arange(size) / coarse
            i, f = idx.astype(int), idx - idx.astype(int)
            lattice = rng.uniform(-40, 140, (n_c, n_c))
            cover = (
                lattice[i][:, i] * (1 - f)[:, None] * (1 - f)[None, :]
                + lattice[i + 1][:, i] * f[:, None] * (1 - f)[None, :]
                + lattice[i][:, i + 1] * (1 - f)[:, None] * f[None, :]
                + lattice[i + 1][:, i + 1] * f[:, None] * f[None, :]
            )
            cover += rng.normal(0, 8, cover.shape)
            tc = np.clip(cover, 0, 100).astype("uint8")
            p = rng.uniform(0, 0.2, (n_c, n_c))[i][:, i]
            years = rng.integers(1, 24, (n_c, n_c))[i][:, i]
            ly = np.where(rng.random(tc.shape) < p, years, 0).astype("uint8")
            profile = dict(
                driver="GTiff", width=size, height=size, count=1, dtype="uint8", nodata=255,
                crs="EPSG:4326", transform=from_origin(left, top, res, res), compress="lzw",
                tiled=True, blockxsize=256, blockysize=256,
            )  # fmt: skip
            for path, data in ((tcp, tc), (lyp, ly)):
                part = path.with_suffix(".part")
                with rasterio.open(part, "w", **profile) as ds:
                    ds.write(data, 1)
                part.rename(path)
    return folder


# --------------------------------------------------------------------------- one run


class _Sampler(threading.Thread):
    """Peak RSS (parent + children) overall and per step, sampled every ``every`` s."""

    def __init__(self, every: float = 0.2, limit_gb: float | None = None):
        super().__init__(daemon=True)
        self.limit = None if limit_gb is None else limit_gb * 1e9
        self.t0 = time.perf_counter()
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.step = "start"
        self.peaks: dict[str, int] = {}
        self.stop = threading.Event()

    def rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(Exception):  # gone meanwhile
                total += child.memory_info().rss
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            rss = self.rss()
            self.peaks[self.step] = max(self.peaks.get(self.step, 0), rss)
            if self.limit is not None and rss > self.limit:  # stopped, with where it was
                for child in self.proc.children(recursive=True):
                    with contextlib.suppress(Exception):
                        child.kill()
                stopped = {
                    "stopped": f"RSS {rss / 1e9:.1f} GB > --limit-gb in step {self.step!r} "
                    f"after {time.perf_counter() - self.t0:.0f} s",
                    "peaks_gb": {k: v / 1e9 for k, v in self.peaks.items()},
                }
                print(json.dumps(stopped), flush=True)
                os._exit(3)
            self.stop.wait(self.every)


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_once(args: argparse.Namespace) -> dict:
    """One pipeline run in this process: per-step wall, parent CPU and peak RSS."""
    import warnings

    from asm_pace.pipeline import run_pipeline, write_outputs

    sampler = _Sampler(limit_gb=args.limit_gb)
    sampler.start()
    steps: list[list] = []

    def progress(name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        if steps:
            steps[-1][1] = now[0] - steps[-1][1]
            steps[-1][2] = now[1] - steps[-1][2]
        steps.append([name, now[0], now[1]])
        sampler.step = name

    if args.pool_from is not None:
        import asm_pace.chunked

        asm_pace.chunked.MIN_POOL_SITES = args.pool_from
    folder = Path(args.folder)
    options = {} if args.memory is None else {"memory": args.memory}
    out = Path(args.out) / f"pipeline_{args.n}_{args.way}.gpkg"
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_pipeline(
            folder / f"sites_{args.n}.csv",
            protected_areas=folder / "protected_areas.gpkg",
            ecoregions=folder / "ecoregions.gpkg",
            radii_km=RADII,
            treecover=args.mosaic if args.mosaic else None,
            lossyear=args.mosaic if args.mosaic else None,
            progress=progress,
            jobs=args.jobs,
            **options,
            **({} if args.no_stream else {"stream_to": out}),
        )
        progress("write")
        write_outputs(result, out, overwrite=True)
        progress("end")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sampler.stop.set()
    sampler.join()
    # row counts without reading a streamed layer back (older versions: no row_counts)
    rows = getattr(result, "row_counts", None)
    counts = rows() if rows else {k: len(v) for k, v in result.layers.items()}
    # the zone layers a second process wrote (wall, CPU seconds each)
    side = getattr(getattr(result, "layers", None), "side", None)
    side_s = dict(side.seconds) if side is not None else {}
    if hasattr(result, "close"):
        result.close()
    from asm_pace import chunked, parallel

    run = chunked.LAST_RUN
    classify_pool = parallel.LAST_RUN
    classify_cpu = round(sum(classify_pool.get("worker_cpu_s", {}).values()), 1)
    chunks = {
        "chunks": run.get("chunks"),
        "chunk_sites": run.get("chunk_sites"),
        "workers": run.get("workers"),
        "step_cpu_s": {k: round(v, 1) for k, v in run.get("step_cpu_s", {}).items()},
        "worker_peak_gb": [round(v / 1e9, 2) for v in run.get("worker_peak_bytes", {}).values()],
        # forkserver workers are not this process's children (getrusage misses them)
        "workers_cpu_s": round(sum(run.get("worker_cpu_s", {}).values()), 1)
        if run.get("workers", 1) > 1
        else 0.0,
        "second_process_s": side_s,
    }
    return {
        "n": args.n,
        "way": args.way,
        "wall_s": wall,
        "cpu_parent_s": cpu,
        "cpu_children_s": _children_cpu(),
        "peak_gb": max(sampler.peaks.values()) / 1e9,
        "steps": [
            {
                "step": s[0],
                "wall_s": s[1],
                "cpu_s": s[2],
                "peak_gb": sampler.peaks.get(s[0], 0) / 1e9,
            }
            for s in steps[:-1]
        ],
        "rows": counts,
        "zone_chunks": chunks,
        "streamed": bool(run.get("streamed")),
        "classify_pool": {"chunks": classify_pool.get("chunks"), "workers_cpu_s": classify_cpu},
        "output": str(out),
    }


def compare(a: str, b: str) -> str:
    """The largest difference between two outputs' numeric columns, per layer."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    notes = []
    for layer in ("sites", "buffers", "clusters", "overlaps", "forest_loss"):
        try:
            x = (
                gpd.read_file(a, layer=layer)
                if layer in ("sites", "buffers", "clusters")
                else (pyogrio.read_dataframe(a, layer=layer, read_geometry=False))
            )
            y = (
                gpd.read_file(b, layer=layer)
                if layer in ("sites", "buffers", "clusters")
                else (pyogrio.read_dataframe(b, layer=layer, read_geometry=False))
            )
        except Exception as err:  # a layer absent from both
            notes.append(f"{layer}: {type(err).__name__}")
            continue
        if len(x) != len(y) or list(x.columns) != list(y.columns):
            notes.append(
                f"{layer}: rows {len(x)} vs {len(y)}, columns differ: "
                f"{set(x.columns) ^ set(y.columns)}"
            )
            continue
        worst = 0.0
        for c in x.columns:
            if c == "geometry":
                continue
            if pd.api.types.is_numeric_dtype(x[c]) and not pd.api.types.is_bool_dtype(x[c]):
                u, v = x[c].to_numpy(dtype=float), y[c].to_numpy(dtype=float)
                both = np.isnan(u) & np.isnan(v)
                d = np.where(both, 0.0, np.abs(u - v) / np.maximum(np.abs(u), 1.0))
                worst = max(worst, float(np.nanmax(d, initial=0.0)))
            elif not x[c].astype(str).equals(y[c].astype(str)):
                notes.append(f"{layer}.{c} differs")
        notes.append(f"{layer}: {len(x)} rows, worst relative difference {worst:.2e}")
    return "; ".join(notes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", help="layers of make_global.py (sites_<n>.csv...)")
    p.add_argument("--sites", default="10000", help="site counts, e.g. 10000,100000")
    p.add_argument("--ways", default="unchunked,chunked", help="unchunked, serial, chunked")
    p.add_argument("--mosaic", default=None, help="the forest mosaic folder (made if absent)")
    p.add_argument("--no-forest", action="store_true", help="leave forest loss out")
    p.add_argument("--memory", default=None, help="--memory of the chunked way")
    p.add_argument("--jobs", type=int, default=None, help="--jobs of the chunked way")
    p.add_argument("--pool-from", type=int, default=None, help="MIN_POOL_SITES of the run")
    p.add_argument("--limit-gb", type=float, default=None, help="stop a run above this RSS")
    p.add_argument(
        "--no-stream",
        action="store_true",
        help="keep the zone layers in memory (no stream_to=; the way before streaming)",
    )
    p.add_argument("--out", default="/tmp/bench_pipeline", help="folder for the outputs")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--way", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_once(args)))
        return
    if args.mosaic and not args.no_forest:
        t0 = time.perf_counter()
        make_mosaic(Path(args.mosaic))
        print(f"mosaic {args.mosaic}: {time.perf_counter() - t0:.1f} s (0.01 deg, 504 tiles)")
    if args.folder is None:
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for n in [int(s) for s in args.sites.split(",")]:
        outputs = {}
        for way in args.ways.split(","):
            cmd = [sys.executable, __file__, args.folder, "--one", "--n", str(n), "--way", way,
                   "--out", args.out]  # fmt: skip
            if args.limit_gb:
                cmd += ["--limit-gb", str(args.limit_gb)]
            if args.no_stream:
                cmd += ["--no-stream"]
            if args.mosaic and not args.no_forest:
                cmd += ["--mosaic", args.mosaic]
            if way == "unchunked":  # one chunk: never cut to the cores, no pool
                cmd += ["--jobs", "1", "--memory", "1TB", "--pool-from", str(10**12)]
            elif way == "serial":  # the chunked way's chunks, in this process
                cmd += ["--jobs", "1"] + (["--memory", args.memory] if args.memory else [])
            else:
                if args.memory:
                    cmd += ["--memory", args.memory]
                if args.jobs:
                    cmd += ["--jobs", str(args.jobs)]
                if args.pool_from is not None:
                    cmd += ["--pool-from", str(args.pool_from)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode == 3:
                print(f"{n:>9,} {way:>9}: {done.stdout.strip().splitlines()[-1]}", flush=True)
                continue
            if done.returncode != 0:
                print(f"{n} {way}: exit {done.returncode}\n{done.stderr[-3000:]}", flush=True)
                continue
            res = json.loads(done.stdout.strip().splitlines()[-1])
            outputs[way] = res["output"]
            print(
                f"{n:>9,} {way:>9}: {res['wall_s']:7.1f} s wall, CPU {res['cpu_parent_s']:.1f} s "
                f"parent + {res['cpu_children_s']:.1f} s workers, peak {res['peak_gb']:.2f} GB "
                f"(parent + children); rows {res['rows']}",
                flush=True,
            )
            print(f"    zone steps: {res['zone_chunks']}, streamed {res['streamed']}", flush=True)
            print(f"    classify pool: {res['classify_pool']}", flush=True)
            for s in res["steps"]:
                print(
                    f"    {s['step']:<22} {s['wall_s']:7.1f} s  CPU {s['cpu_s']:7.1f} s  "
                    f"peak {s['peak_gb']:.2f} GB",
                    flush=True,
                )
        if len(outputs) == 2:
            print("    compare:", compare(*outputs.values()), flush=True)


if __name__ == "__main__":
    main()
