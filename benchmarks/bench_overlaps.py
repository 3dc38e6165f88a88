"""Overlaps: asm_pace.overlaps against a per-zone loop (shapely + pyproj.Geod), time and agreement.

Random sites in a 10 x 10 degree block of the Amazon, buffered at 1, 10 and 50 km, against
random overlapping protected areas (geodesic circles of 5-80 km). The peer is the obvious
loop: for each zone, the protected areas it intersects, the union of the intersections,
its area with ``Geod.geometry_area_perimeter``. The loop runs on ``--loop-sample`` zones
and is extrapolated (marked ``*``). CPU seconds (the machine is shared).

With ``--global DIR`` it runs issue 10's case instead, on the layers of
``benchmarks/make_global.py DIR --scale S --sites N``: ``overlaps`` of N sites x 1, 10 and
50 km against the protected areas and the Global 200 ecoregions, with ``dissolve=True``
(as the pipeline calls it), against the geopandas peer in an equal-area CRS (EPSG:6933):
``sjoin`` + ``intersection`` + ``dissolve`` per zone, per zone and ``pa_id``, and again
per cluster (``dissolve`` by radius, ``explode``). Each method runs in its own
subprocess: the inputs are read and buffered first, only the call is timed (wall and
CPU seconds: the machine may be shared), and its resident memory is sampled every
20 ms (``peak MB``, and ``+MB`` above the inputs). ``--before TREE`` adds the ``src``
tree of an earlier commit (``git archive COMMIT src | tar -x -C TREE``).

Run::

    .venv/bin/python benchmarks/bench_overlaps.py --sites 2000 --pas 300
    .venv/bin/python benchmarks/make_global.py /tmp/g01 --scale 0.1 --sites 10000,100000
    .venv/bin/python benchmarks/bench_overlaps.py --global /tmp/g01 --sites 100000 \
        --before /tmp/before_tree
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

import asm_pace

GEOD = Geod(ellps="WGS84")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--pas", type=int, default=300)
    parser.add_argument("--loop-sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--global", dest="folder", type=Path, help="make_global.py's folder")
    parser.add_argument("--before", type=Path, help="an earlier src tree's parent (global case)")
    parser.add_argument("--methods", default="asm_pace,peer", help="global case: asm_pace, peer")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--tag", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder, args.sites, args.tag, args.work)
        return
    if args.folder is not None:
        global_case(args)
        return
    rng = np.random.default_rng(args.seed)

    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i:05d}" for i in range(args.sites)]},
        geometry=shapely.points(
            rng.uniform(-75, -65, args.sites), rng.uniform(-15, -5, args.sites)
        ),
        crs="EPSG:4326",
    )
    zones = asm_pace.buffers(sites, (1, 10, 50))
    pa_geoms = asm_pace.geodesic_circles(
        rng.uniform(-76, -64, args.pas),
        rng.uniform(-16, -4, args.pas),
        rng.uniform(5e3, 8e4, args.pas),
    )
    pas = gpd.GeoDataFrame(
        {"pa_id": [str(i) for i in range(args.pas)], "name": [f"PA {i}" for i in range(args.pas)]},
        geometry=pa_geoms,
        crs="EPSG:4326",
    )
    print(
        f"{len(zones)} zones ({args.sites} sites x 1, 10, 50 km) against {args.pas} protected areas"
    )

    t = time.process_time()
    res = asm_pace.overlaps(zones, pas)
    t_fast = time.process_time() - t

    sample = rng.choice(len(zones), size=min(args.loop_sample, len(zones)), replace=False)
    t = time.process_time()
    loop = []
    for i in sample:
        z = zones.geometry.iloc[i]
        hits = [p for p in pa_geoms if p.intersects(z)]
        if hits:
            inside = shapely.intersection(shapely.union_all(hits), z)
            loop.append(abs(GEOD.geometry_area_perimeter(inside)[0]) / 1e6)
        else:
            loop.append(0.0)
    t_loop = (time.process_time() - t) * len(zones) / len(sample)
    got = res.zones["pa_area_km2"].to_numpy()[sample]
    loop = np.array(loop)
    diff = np.abs(got - loop) / np.maximum(loop, 1e-9)
    worst = float(diff[loop > 0].max()) if (loop > 0).any() else 0.0

    print(f"\n{'method':<28}{'CPU s':>10}{'x asm_pace':>12}")
    print(f"{'asm_pace.overlaps':<28}{t_fast:>10.3f}{1.0:>12.1f}")
    print(f"{'per-zone loop + Geod':<28}{t_loop:>9.3f}*{t_loop / t_fast:>12.1f}")
    print(f"(* extrapolated from {len(sample)} zones)")
    print(f"worst relative difference in pa_area_km2: {worst:.2e}")
    print(f"zones touching a protected area: {(res.zones['n_pas'] > 0).mean():.0%}")


# -- issue 10's case: global-size layers, a subprocess per method -------------------------


def read_inputs(folder: Path, n: int):
    """Protected areas, ecoregions and the buffers (1, 10, 50 km) of ``sites_<n>.csv``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(folder / "protected_areas.gpkg")
        eco = asm_pace.read_ecoregions(folder / "ecoregions.gpkg")
        sites = asm_pace.read_sites(folder / f"sites_{n}.csv")
    return asm_pace.buffers(sites, (1, 10, 50)), pas, eco


def run_asm_pace(zones, pas, eco) -> dict:
    res = asm_pace.overlaps(zones, pas, ecoregions=eco, dissolve=True)
    return {
        "pa": res.zones["pa_area_km2"].to_numpy(),
        "g200": res.zones["g200_area_km2"].to_numpy(),
        "pairs": len(res.pairs),
        "clusters": len(res.clusters),
        "cluster_pa": float(res.clusters["pa_area_km2"].sum()),
    }


def run_peer(zones, pas, eco) -> dict:
    """geopandas in an equal-area CRS: sjoin, intersection, dissolve per zone (and per zone
    and pa_id for the pairs), clusters by dissolve + explode, then the same per cluster."""
    crs = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global, equal-area
    z = zones[["zone_id", "radius_km", "geometry"]].to_crs(crs).reset_index(drop=True)
    p = pas[["pa_id", "geometry"]].to_crs(crs).reset_index(drop=True)
    g = eco.loc[eco["is_g200"].to_numpy(dtype=bool), ["geometry"]].to_crs(crs)
    g = g.reset_index(drop=True)

    def union_km2(frame, layer, by_pa=False):
        j = gpd.sjoin(frame[["geometry"]], layer, predicate="intersects")
        pieces = gpd.GeoDataFrame(
            {"zone": j.index.to_numpy(), "pa_id": layer["pa_id"].to_numpy()[j["index_right"]]}
            if by_pa
            else {"zone": j.index.to_numpy()},
            geometry=j.geometry.intersection(
                layer.geometry.iloc[j["index_right"]], align=False
            ).to_numpy(),
            crs=crs,
        )
        per_zone = pieces[["zone", "geometry"]].dissolve(by="zone").area / 1e6
        out = per_zone.reindex(range(len(frame)), fill_value=0.0).to_numpy()
        if by_pa:
            pairs = pieces.dissolve(by=["zone", "pa_id"]).area / 1e6
            return out, int((pairs > 0).sum())
        return out

    pa, n_pairs = union_km2(z, p, by_pa=True)
    g200 = union_km2(z, g)
    clusters = z[["radius_km", "geometry"]].dissolve(by="radius_km").explode(index_parts=False)
    clusters = clusters.reset_index()
    return {
        "pa": pa,
        "g200": g200,
        "pairs": n_pairs,
        "clusters": len(clusters),
        "cluster_pa": float(union_km2(clusters, p, by_pa=True)[0].sum()),
    }


def rss_mb() -> float:
    """The resident memory of this process now (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(method: str, folder: Path, n: int, tag: str, work: Path) -> None:
    zones, pas, eco = read_inputs(folder, n)
    rss0 = rss_mb()  # the inputs; the call's peak is sampled every 20 ms
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    out = (run_peer if method == "peer" else run_asm_pace)(zones, pas, eco)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done.set()
    sampler.join()
    rss = max(peak[0], rss_mb())
    np.save(work / f"{tag}.npy", np.stack([out["pa"], out["g200"]]))
    summary = {k: v for k, v in out.items() if k not in ("pa", "g200")}
    counts = {"zones": len(zones), "pas": len(pas), "ecoregions": len(eco)}
    json.dump(
        {
            "wall": wall,
            "cpu": cpu,
            "peak_mb": rss,
            "inputs_mb": rss0,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **summary,
            **counts,
        },
        sys.stdout,
    )


def global_case(args) -> None:
    runs = [(m, None) for m in args.methods.split(",") if m]
    if args.before is not None:
        runs.insert(1, ("before", args.before / "src"))
    with tempfile.TemporaryDirectory(prefix="bench_overlaps_") as work:
        report(args, runs, Path(work))


def report(args, runs, work: Path) -> None:
    """Run each method in its subprocess (results kept in ``work``) and print the table."""
    res = {}
    for name, tree in runs:
        env = dict(os.environ)
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        method = "peer" if name == "peer" else "asm_pace"
        cmd = [sys.executable, __file__, "--worker", method, "--tag", name, "--work", str(work)]
        cmd += ["--global", str(args.folder), "--sites", str(args.sites)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode:
            print(f"{name} failed:\n{done.stderr[-2000:]}")
            continue
        res[name] = json.loads(done.stdout)
        print(f"{name} done in {res[name]['wall']:.1f} s", flush=True)
    if not res:
        return
    first = next(iter(res.values()))
    print(
        f"\n{args.sites} sites x 1, 10, 50 km = {first['zones']} zones, with dissolve; "
        f"{first['pas']} protected areas, {first['ecoregions']} ecoregions ({args.folder})"
    )
    base = res.get("asm_pace")
    ref = np.load(work / "asm_pace.npy") if base else None
    print(
        f"{'method':<10}{'wall s':>9}{'CPU s':>9}{'x asm_pace':>11}{'peak MB':>9}"
        f"{'+MB':>7}{'pairs':>8}{'clusters':>9}  largest difference in pa / g200 area"
    )
    for name, r in res.items():
        ratio = r["wall"] / base["wall"] if base else float("nan")
        agree = ""
        if ref is not None and name != "asm_pace":
            other = np.load(work / f"{name}.npy")
            d = np.abs(other - ref) / np.maximum(ref, 1e-9)
            d = np.where(ref > 1e-6, d, 0.0)
            agree = f"{d[0].max():.1e} / {d[1].max():.1e} relative"
        print(
            f"{name:<10}{r['wall']:>9.1f}{r['cpu']:>9.1f}{ratio:>11.2f}{r['peak_mb']:>9.0f}"
            f"{r['peak_mb'] - r['inputs_mb']:>7.0f}{r['pairs']:>8}{r['clusters']:>9}  {agree}"
        )


if __name__ == "__main__":
    main()
