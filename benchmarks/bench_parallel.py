"""Time classify serial against ``jobs=N`` worker processes (asm_pace.parallel), same run.

Inputs are those of ``benchmarks/make_global.py`` (seeded, global-size shapes)::

    .venv/bin/python benchmarks/make_global.py /tmp/g01 --scale 0.1 --sites 1000,10000,100000
    .venv/bin/python benchmarks/bench_parallel.py /tmp/g01 --sites 1000,10000,100000 --jobs 2

For each size the two ways run interleaved ``--repeat`` times on the same sites and
layers (the serial one is ``asm_pace.classify`` on layers read once; the parallel one is
``classify_parallel(jobs=N, min_sites=0)``: its workers read the protected areas of their
chunks' boxes themselves, pool start included); the script prints the best time of each,
their RATIO (serial / parallel: above 1, parallel pays) and checks that the results are
identical (``assert_frame_equal(check_exact=True)``). ``--unused`` also times the
pipeline's classify step with ``jobs=1`` (``parallel.classify_run``) against
``asm_pace.classify`` (the cost of the feature when it is not used).

The machine's cores (``os.sched_getaffinity``) and load average are printed before and
after, and the CPU seconds of each way (the parallel one: the parent and its workers,
``getrusage``): on a shared machine the wall times are noisy; the CPU seconds say how
much more work the chunks cost, and on an idle machine the parallel wall time is about
the parent's share plus the larger worker's.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings
from pathlib import Path

import pandas as pd

import asm_pace
from asm_pace import parallel


def _timed(call):
    t = time.perf_counter()
    out = call()
    return time.perf_counter() - t, out


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="make_global.py's output folder")
    ap.add_argument("--sites", default="1000,10000,100000", help="sizes (sites_<n>.csv)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=None, help="default: parallel.site_chunks")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--unused", action="store_true", help="also time jobs=1 against classify")
    args = ap.parse_args()
    pa_path = args.folder / "protected_areas.gpkg"
    eco_path = args.folder / "ecoregions.gpkg"
    print(f"cores {sorted(os.sched_getaffinity(0))}, load {os.getloadavg()}")
    warnings.simplefilter("ignore")
    t_read, (pas, eco) = _timed(
        lambda: (asm_pace.read_protected_areas(pa_path), asm_pace.read_ecoregions(eco_path))
    )
    print(f"layers read once for serial: {len(pas):,} protected areas in {t_read:.2f} s")
    print(f"{'sites':>8} {'serial s':>9} {'jobs s':>8} {'RATIO':>6}  identical")
    for n in [int(s) for s in args.sites.split(",")]:
        sites = asm_pace.read_sites(args.folder / f"sites_{n}.csv")
        serial, par, cpu_serial, cpu_par = [], [], [], []
        for _ in range(args.repeat):
            c = _cpu()
            t, expected = _timed(lambda s=sites: asm_pace.classify(s, pas, eco))
            cpu_serial.append(_cpu() - c)
            serial.append(t)
            c = _cpu()
            t, out = _timed(
                lambda s=sites: parallel.classify_parallel(
                    s, pa_path, eco_path, jobs=args.jobs, chunks=args.chunks, min_sites=0,
                    layers=(pas, eco, None),
                )
            )  # fmt: skip
            cpu_par.append(_cpu() - c + sum(parallel.LAST_RUN["worker_cpu_s"].values()))
            worst = max(parallel.LAST_RUN["worker_cpu_s"].values())
            par.append(t)
        pd.testing.assert_frame_equal(out, expected, check_exact=True)
        print(
            f"{n:>8,} {min(serial):>9.2f} {min(par):>8.2f} {min(serial) / min(par):>6.2f}  yes"
            f"   CPU s: serial {min(cpu_serial):.2f}, jobs (parent + workers) {min(cpu_par):.2f}"
            f", busiest worker {worst:.2f}"
        )
        if args.unused:
            plain, run = [], []
            for _ in range(max(args.repeat, 3)):
                plain.append(_timed(lambda s=sites: asm_pace.classify(s, pas, eco))[0])
                run.append(
                    _timed(
                        lambda s=sites: parallel.classify_run(
                            s, (pas, eco, None, None), ([(None, pa_path)], eco_path, None),
                            ({}, {}, {}), jobs=1,
                        )
                    )[0]
                )  # fmt: skip
            print(
                f"{'':>8} unused: classify {min(plain):.3f} s, classify_run(jobs=1) "
                f"{min(run):.3f} s, ratio {min(run) / min(plain):.3f}"
            )
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
