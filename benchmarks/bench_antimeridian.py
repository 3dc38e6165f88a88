"""Benchmark: a chunk's protected-area box across +-180 degrees, read as its two parts
against what the workers read before, in the same run: every longitude at the box's
latitudes ("band", classify's pool) or the whole layer ("world", the zone steps').

The sites are cut into Hilbert chunks as classify's pool cuts them
(:func:`asm_pace.parallel.spatial_chunks`); the chunks whose zone box (radius
``--radius`` km, :func:`asm_pace.chunked._chunk_box`) passes +-180 are read, each way in
its own subprocess (its peak RSS is its own), the two ways interleaved ``--repeat`` times.

    # the scale-1 layer (1.4 GB): hold the lock, it reads the whole layer
    flock /work/bench/big.lock .venv/bin/python benchmarks/bench_antimeridian.py \\
        /work/bench/g1 --sites 100000 --chunks 16

Outputs per chunk and way: the areas read, peak RSS (MB), CPU seconds; the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings


def _read(folder: str, sites_n: int, chunks: int, which: int, radius: float, way: str) -> dict:
    """One read in this process: ``way`` "parts" (the box's two parts), "band" or "world"."""
    import asm_pace
    from asm_pace import chunked, parallel

    warnings.simplefilter("ignore")
    sites = asm_pace.read_sites(f"{folder}/sites_{sites_n}.csv")
    chunk = sites.iloc[parallel.spatial_chunks(sites, chunks)[which]]
    spec = chunked.ZoneSpec(radii=(radius,), protected_areas=f"{folder}/protected_areas.gpkg")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    box = chunked._chunk_box(chunk, radius)
    if way == "band":  # every longitude, the parts' latitudes
        box = (-180.0, box[0][1], 180.0, box[0][3])
    elif way == "world":
        box = None
    pas = chunked._read_pas(chunk, spec, box)
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the read's own memory: the peak above what the sites and imports already held
    return {
        "areas": len(pas),
        "peak_mb": peak / 1024,
        "read_mb": (peak - base) / 1024,
        "cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--radius", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # chunk, way (a child)
    args = parser.parse_args()
    if args.one:
        result = _read(args.folder, args.sites, args.chunks, int(args.one[0]), args.radius,
                       args.one[1])  # fmt: skip
        print(json.dumps(result))
        return
    import asm_pace
    from asm_pace import chunked, parallel

    warnings.simplefilter("ignore")
    sites = asm_pace.read_sites(f"{args.folder}/sites_{args.sites}.csv")
    across = [
        i
        for i, c in enumerate(parallel.spatial_chunks(sites, args.chunks))
        if (box := chunked._chunk_box(sites.iloc[c], args.radius)) is not None
        and isinstance(box[0], tuple)
    ]
    print(f"chunks of {args.chunks} past +-180: {across}")
    for which in across:
        runs: dict[str, list[dict]] = {"parts": [], "band": [], "world": []}
        for _ in range(args.repeat):
            for way in runs:
                cmd = [sys.executable, __file__, args.folder, "--sites", str(args.sites),
                       "--chunks", str(args.chunks), "--radius", str(args.radius),
                       "--one", str(which), way]  # fmt: skip
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                runs[way].append(json.loads(out.strip().splitlines()[-1]))
        for way, got in runs.items():
            print(
                f"chunk {which} {way:5s}: {got[0]['areas']:,} areas, peak "
                + ", ".join(f"{r['peak_mb']:.0f}" for r in got)
                + " MB (the read "
                + ", ".join(f"{r['read_mb']:.0f}" for r in got)
                + " MB), CPU "
                + ", ".join(f"{r['cpu_s']:.1f}" for r in got)
                + " s"
            )
        for peer in ("band", "world"):
            peak = min(r["read_mb"] for r in runs["parts"]) / min(r["read_mb"] for r in runs[peer])
            cpu = min(r["cpu_s"] for r in runs["parts"]) / min(r["cpu_s"] for r in runs[peer])
            print(f"chunk {which} parts / {peer}: the read's memory {peak:.2f}x, CPU {cpu:.2f}x")


if __name__ == "__main__":
    main()
