"""Time classify on a dask LocalCluster against serial classify, interleaved, same run.

Inputs are those of ``benchmarks/make_global.py`` (seeded, global-size shapes)::

    .venv/bin/python benchmarks/make_global.py /tmp/g01 --scale 0.1 --sites 100000
    .venv/bin/python benchmarks/bench_distributed.py /tmp/g01 --sites 100000 --naive

A ``distributed.LocalCluster`` of ``--workers`` processes (1 thread each) is started
once (its start is printed, not counted: a cluster is a service that outlives a run).
For each size the sites are read and made a dask-geopandas GeoDataFrame of
``--partitions`` partitions (``from_geopandas``: the rows travel from this process to
the workers inside each timed run). Then, ``--repeat`` times, interleaved:

- **serial**: ``asm_pace.classify(sites.compute(), pas, eco)`` on layers read once
  beforehand (as the pipeline has them);
- **dask**: ``asm_pace.classify(sites, pa_path, eco_path)`` (``classify_dask``, with
  ``--chunks`` spatial chunks, ``parallel.site_chunks`` by default: the
  workers read the protected areas of their chunks' boxes and the ecoregions
  themselves; every read counted);
- with ``--before N``, the same with ``N`` chunks (``--before 2``: one chunk per
  worker, the default until 3 December 2026), for a before/after ratio in one run;
- with ``--pool``, the process pool of ``--jobs`` (``classify_parallel(jobs=--workers)``);
- with ``--naive``, the peer issue 10 measured: ``sites.map_partitions(asm_pace.classify,
  pas, eco, meta=...)``, the layers put in the task graph (sent to every worker).

It prints the best time of each way, the RATIO serial / dask (above 1: the cluster
pays), whether the results are identical (``assert_frame_equal(check_exact=True)``),
the CPU seconds (this process: ``time.process_time``; each worker: its
``time.process_time`` before and after, through ``client.run``) and the peak resident
memory of this process and of the busiest worker. The load average is printed before
and after: timings on a shared machine are noisy, the CPU seconds steadier.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings
from pathlib import Path

import pandas as pd


def _cpu_with_children() -> float:
    """CPU seconds of this process (the pool's workers are counted by LAST_RUN)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _workers_cpu(client) -> dict[str, float]:
    return client.run(time.process_time)


def _workers_rss_mb(client) -> dict[str, float]:
    return client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def main() -> None:
    import dask_geopandas
    from distributed import Client, LocalCluster

    import asm_pace
    from asm_pace import distributed as dist
    from asm_pace import parallel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="make_global.py's output folder")
    ap.add_argument("--sites", default="100000", help="sizes (sites_<n>.csv)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=8, help="of the dask sites")
    ap.add_argument("--chunks", type=int, default=None, help="default: site_chunks")
    ap.add_argument("--before", type=int, default=None, help="also dask with this many chunks")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--naive", action="store_true", help="also map_partitions(classify)")
    ap.add_argument("--pool", action="store_true", help="also classify_parallel(jobs=2)")
    args = ap.parse_args()
    pa_path = args.folder / "protected_areas.gpkg"
    eco_path = args.folder / "ecoregions.gpkg"
    print(f"cores {sorted(os.sched_getaffinity(0))}, load {os.getloadavg()}", flush=True)
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    pas, eco = asm_pace.read_protected_areas(pa_path), asm_pace.read_ecoregions(eco_path)
    print(f"layers read once for serial: {len(pas):,} areas, {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    client.run(lambda: __import__("asm_pace.distributed"))  # imported once per worker
    print(f"cluster of {args.workers} workers started in {time.perf_counter() - t:.1f} s")
    print(f"{'sites':>9} {'serial s':>9} {'dask s':>8} {'RATIO':>6}  identical  CPU s", flush=True)
    for n in [int(s) for s in args.sites.split(",")]:
        frame = dask_geopandas.from_geopandas(
            asm_pace.read_sites(args.folder / f"sites_{n}.csv"), npartitions=args.partitions
        )
        sites = frame.compute()
        times: dict[str, list[float]] = {
            k: [] for k in ("serial", "dask", "naive", "pool", "before")
        }
        cpu: dict[str, list[float]] = {k: [] for k in times}
        busiest: list[float] = []
        meta = None
        for _ in range(args.repeat):
            c, t = time.process_time(), time.perf_counter()
            expected = asm_pace.classify(sites, pas, eco)
            times["serial"].append(time.perf_counter() - t)
            cpu["serial"].append(time.process_time() - c)
            before = _workers_cpu(client)
            c, t = time.process_time(), time.perf_counter()
            out = dist.classify_dask(frame, pa_path, eco_path, chunks=args.chunks)
            times["dask"].append(time.perf_counter() - t)
            after = _workers_cpu(client)
            spent = {w: after[w] - before[w] for w in after}
            cpu["dask"].append(time.process_time() - c + sum(spent.values()))
            busiest.append(max(spent.values()))
            run = dict(dist.LAST_RUN)  # this run's chunks (a --before run replaces LAST_RUN)
            steps = {k: round(v, 1) for k, v in run["client_s"].items()}
            print(
                f"{'':>9} dask {times['dask'][-1]:.2f} s, client steps (wall s) {steps}; "
                f"workers' CPU s {[round(v, 1) for v in spent.values()]}",
                flush=True,
            )
            if args.before:  # the workers' peaks so far: serial and this dask run only
                peaks = ", ".join(f"{v:,.0f}" for v in _workers_rss_mb(client).values())
                print(f"{'':>9} workers' peak RSS before the --before run: {peaks} MB")
                before = _workers_cpu(client)
                c, t = time.process_time(), time.perf_counter()
                old = dist.classify_dask(frame, pa_path, eco_path, chunks=args.before)
                times["before"].append(time.perf_counter() - t)
                after = _workers_cpu(client)
                cpu["before"].append(
                    time.process_time() - c + sum(after[w] - before[w] for w in after)
                )
                pd.testing.assert_frame_equal(old, expected, check_exact=True)
                print(
                    f"{'':>9} dask with {args.before} chunks {times['before'][-1]:.2f} s, "
                    f"client steps {dist.LAST_RUN['client_s']}",
                    flush=True,
                )
            if args.pool:
                c, t = _cpu_with_children(), time.perf_counter()
                pooled = parallel.classify_parallel(
                    sites,
                    pa_path,
                    eco_path,
                    jobs=args.workers,
                    min_sites=0,
                    layers=(pas, eco, None),
                )
                times["pool"].append(time.perf_counter() - t)
                cpu["pool"].append(
                    _cpu_with_children() - c + sum(parallel.LAST_RUN["worker_cpu_s"].values())
                )
            if args.naive:
                meta = expected.iloc[:0]
                before = _workers_cpu(client)
                c, t = time.process_time(), time.perf_counter()
                naive = frame.map_partitions(asm_pace.classify, pas, eco, meta=meta).compute()
                times["naive"].append(time.perf_counter() - t)
                after = _workers_cpu(client)
                cpu["naive"].append(
                    time.process_time() - c + sum(after[w] - before[w] for w in after)
                )
        pd.testing.assert_frame_equal(out, expected, check_exact=True)
        assert out.attrs == expected.attrs and "serial" not in run
        best = {k: min(v) for k, v in times.items() if v}
        print(
            f"{n:>9,} {best['serial']:>9.2f} {best['dask']:>8.2f} "
            f"{best['serial'] / best['dask']:>6.2f}  yes        serial {min(cpu['serial']):.1f}, "
            f"dask (client + workers) {min(cpu['dask']):.1f}, busiest worker {min(busiest):.1f}"
            f"; chunks {run['chunks']}, sites per chunk {min(run['sites'])}-{max(run['sites'])}",
            flush=True,
        )
        if args.before:
            print(
                f"{'':>9} dask with {args.before} chunks: {best['before']:.2f} s, ratio serial / "
                f"it {best['serial'] / best['before']:.2f}, CPU (client + workers) "
                f"{min(cpu['before']):.1f} s; identical; ratio it / dask "
                f"{best['before'] / best['dask']:.2f}",
                flush=True,
            )
        if args.pool:
            pd.testing.assert_frame_equal(pooled, expected, check_exact=True)
            print(
                f"{'':>9} process pool (classify_parallel, jobs={args.workers}): "
                f"{best['pool']:.2f} s, ratio serial / pool {best['serial'] / best['pool']:.2f}, "
                f"CPU (parent + workers) {min(cpu['pool']):.1f} s; identical",
                flush=True,
            )
        if args.naive:
            try:
                pd.testing.assert_frame_equal(naive, expected, check_exact=True)
                same = "identical"
            except AssertionError as err:
                same = f"differs ({str(err).splitlines()[0]})"
            print(
                f"{'':>9} naive map_partitions(classify): {best['naive']:.2f} s, ratio serial / "
                f"naive {best['serial'] / best['naive']:.2f}, CPU {min(cpu['naive']):.1f} s; {same}",
                flush=True,
            )
    rss = _workers_rss_mb(client)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        f"peak RSS: this process {own:,.0f} MB, workers "
        f"{', '.join(f'{v:,.0f}' for v in rss.values())} MB"
    )
    client.close()
    cluster.close()
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
