"""Overlaps: asm_pace.overlaps against a per-zone loop (shapely + pyproj.Geod), time and agreement.

Random sites in a 10 x 10 degree block of the Amazon, buffered at 1, 10 and 50 km, against
random overlapping protected areas (geodesic circles of 5-80 km). The peer is the obvious
loop: for each zone, the protected areas it intersects, the union of the intersections,
its area with ``Geod.geometry_area_perimeter``. The loop runs on ``--loop-sample`` zones
and is extrapolated (marked ``*``). CPU seconds (the machine is shared).

Run::

    .venv/bin/python benchmarks/bench_overlaps.py --sites 2000 --pas 300
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
