"""Time classify(kbas=) against classify without KBAs and the KBA join against geopandas.

On the synthetic inputs of ``bench_classify.make_inputs`` (clustered sites, star-shaped
protected areas, gridded ecoregions) plus synthetic KBAs (star-shaped polygons, one in ten
an AZE site, in the normalised schema of ``read_kbas``), in one run:

- ``classify`` without ``kbas`` (what every run without ``--kbas`` pays) and with it: the
  feature's cost as a RATIO;
- ``join_kbas`` (the KBA columns) against the peer a geopandas user writes: ``sjoin``
  (intersects) of the sites with the KBAs, then a groupby joining the ids: a RATIO.

The cost of the unused feature against the code before it is measured by running this script
with ``--unused-only`` under two checkouts (PYTHONPATH=<checkout>/src), see docs/kba.md.

Usage::

    .venv/bin/python benchmarks/bench_kba.py 20000 --kbas 2000
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/bench_kba.py 20000 --unused-only
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import make_inputs

import asm_pace


def make_kbas(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    """KBA-schema polygons over the same region as ``make_inputs``; 10 % AZE sites."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(-80.0, -40.0, n)
    cy = rng.uniform(-30.0, 10.0, n)
    radius = rng.lognormal(np.log(0.15), 0.5, n)
    ang = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    r = radius[:, None] * (1 + 0.2 * np.sin(3 * ang + rng.uniform(0, 6, (n, 1))))
    x = cx[:, None] + r * np.cos(ang) / np.cos(np.radians(cy))[:, None]
    y = cy[:, None] + r * np.sin(ang)
    ring = np.stack([x, y], axis=-1)
    geoms = shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))
    return gpd.GeoDataFrame(
        {
            "kba_id": [str(10_000 + i) for i in range(n)],
            "kba_name": [f"KBA {i}" for i in range(n)],
            "iso3": "BRA",
            "aze": rng.random(n) < 0.1,
            "added_date": "2004-01-01",
            "site_area_km2": 1.0,
            "origin": "polygon",
        },
        geometry=geoms,
        crs=4326,
    )


def peer_join(sites: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """What a geopandas user writes: sjoin, then the ids joined per site."""
    hits = gpd.sjoin(
        sites[["geometry"]], kbas[["kba_id", "aze", "geometry"]], predicate="intersects"
    )
    ids = hits.groupby(level=0)["kba_id"].agg(lambda v: ";".join(sorted(v, key=int)))
    aze = hits.groupby(level=0)["aze"].any()
    out = sites.copy()
    out["kba_ids"] = ids.reindex(out.index).fillna("")
    out["aze"] = aze.reindex(out.index).fillna(False)
    return out


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n_sites", type=int, nargs="?", default=20000)
    ap.add_argument("--pas", type=int, default=2000)
    ap.add_argument("--vertices", type=int, default=400_000)
    ap.add_argument("--kbas", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--unused-only", action="store_true")
    args = ap.parse_args()
    sites, pas, eco, pls = make_inputs(args.n_sites, args.pas, args.vertices)
    warnings.simplefilter("ignore")
    plain = best(lambda: asm_pace.classify(sites, pas, eco, priority_landscapes=pls), args.repeat)
    print(f"classify without kbas: {plain:.3f} s ({args.n_sites} sites, {args.pas} PAs)")
    if args.unused_only:
        return
    kbas = make_kbas(args.kbas)
    with_k = best(
        lambda: asm_pace.classify(sites, pas, eco, priority_landscapes=pls, kbas=kbas),
        args.repeat,
    )
    print(f"classify with {args.kbas} KBAs: {with_k:.3f} s  RATIO {with_k / plain:.2f}")
    ours = best(lambda: asm_pace.join_kbas(sites, kbas), args.repeat)
    peer = best(lambda: peer_join(sites, kbas), args.repeat)
    a, b = asm_pace.join_kbas(sites, kbas), peer_join(sites, kbas)
    assert (a["kba_ids"].to_numpy() == b["kba_ids"].to_numpy()).all()
    assert (a["aze"].to_numpy() == b["aze"].astype(bool).to_numpy()).all()
    print(f"join_kbas {ours:.3f} s, geopandas sjoin peer {peer:.3f} s  RATIO {ours / peer:.2f}")


if __name__ == "__main__":
    main()
