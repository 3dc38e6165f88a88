"""Time asm_pace.classify against the geopandas peer on synthetic inputs.

The peer is what a geopandas user writes: ``sjoin(within)`` with the protected
areas, ``sjoin(within)`` with the ecoregions and ``sjoin_nearest`` with the
protected areas, in degrees (EPSG:4326). classify does more (priority
landscapes, the detail columns, the reason sentence) and measures the distance
geodesically. The script prints both times, their RATIO (classify / peer) and
the peer's distance error: degrees times 111.32 km against the geodesic distance
classify reports (checked against pyproj.Geod in the tests).

With ``--continental`` it instead times classify on 200 clustered sites (one
mining district) against a continent-wide layer: 20,000 synthetic PAs (4 M
vertices) and, when present, the real WDPA South America 2019 polygons; once
with every protected-area boundary indexed (the old path) and once with only
the PAs that can hold a site's nearest boundary, and checks both give the same
table.

With ``--global DIR`` (a folder written by ``benchmarks/make_global.py``) it times,
for each ``--sizes`` site list, reading excluded: the peer and classify on the synthetic
global layers, each size in a fresh process (peak memory: the process's maximum resident
set), interleaved with another source tree when ``--before TREE`` is given (e.g. a
``git archive`` of an older commit's ``src``); and checks both trees give the same table.

With ``--footprints`` it times classify on the 5,232 Amazon Mining Watch footprints
against Peru's national layer (most lie 500-3,000 km from every area) and on their
centroids, each in a fresh process (with ``--before TREE`` too), and a floor: the
footprints with their distance taken from their first vertex only (not an answer: what
the rest of classify costs for polygons); ``--repeat N`` runs N interleaved rounds and
prints the medians.

Usage::

    .venv/bin/python benchmarks/bench_classify.py 20000
    .venv/bin/python benchmarks/bench_classify.py 100000 --pas 5000 --vertices 2900000
    .venv/bin/python benchmarks/bench_classify.py --continental
    .venv/bin/python benchmarks/make_global.py /tmp/g02 --scale 0.2 --sites 1000,10000,100000
    .venv/bin/python benchmarks/bench_classify.py --global /tmp/g02 --before /tmp/old/src
    .venv/bin/python benchmarks/bench_classify.py --footprints --before /tmp/old/src
    .venv/bin/python benchmarks/bench_classify.py --footprints --repeat 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from asm_pace import classify
from asm_pace.classification import _classify

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def make_inputs(
    n_sites: int, n_pas: int, n_vertices: int, seed: int = 0
) -> tuple[gpd.GeoDataFrame, ...]:
    """Irregular star-shaped PAs, gridded ecoregions, a few landscapes, clustered sites."""
    rng = np.random.default_rng(seed)
    lon0, lon1, lat0, lat1 = -80.0, -40.0, -30.0, 10.0
    per = max(n_vertices // n_pas, 8)
    cx = rng.uniform(lon0, lon1, n_pas)
    cy = rng.uniform(lat0, lat1, n_pas)
    radius = rng.lognormal(np.log(0.12), 0.6, n_pas)
    ang = np.linspace(0.0, 2 * np.pi, per, endpoint=False)
    # smooth random radial noise: a few harmonics with random phases
    noise = np.zeros((n_pas, per))
    for h in (2, 3, 5, 9, 17):
        amp = rng.uniform(0.0, 0.25 / np.sqrt(h), (n_pas, 1))
        noise += amp * np.sin(h * ang[None, :] + rng.uniform(0, 2 * np.pi, (n_pas, 1)))
    r = radius[:, None] * np.clip(1.0 + noise, 0.2, None)
    x = cx[:, None] + r * np.cos(ang) / np.cos(np.radians(cy))[:, None]
    y = cy[:, None] + r * np.sin(ang)
    ring = np.stack([x, y], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    pa_geom = shapely.polygons(ring)
    pas = gpd.GeoDataFrame(
        {
            "pa_id": [str(900000 + i) for i in range(n_pas)],
            "name": [f"Park {i}" for i in range(n_pas)],
            "designation": "National Park",
            "iucn_category": rng.choice(["II", "IV", "VI", "Not Reported"], n_pas),
            "status_year": pd.array(rng.integers(1950, 2020, n_pas), dtype="Int64"),
            "world_heritage": rng.random(n_pas) < 0.02,
            "ramsar": rng.random(n_pas) < 0.02,
        },
        geometry=pa_geom,
        crs=4326,
    )
    # ecoregions: 2-degree cells with densified edges (about 800 vertices each)
    gx, gy = np.meshgrid(np.arange(lon0, lon1, 2.0), np.arange(lat0, lat1, 2.0))
    cells = shapely.segmentize(
        shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + 2, gy.ravel() + 2), 0.01
    )
    k = len(cells)
    eco = gpd.GeoDataFrame(
        {
            "eco_id": pd.array(np.arange(60000, 60000 + k), dtype="Int64"),
            "eco_name": [f"Ecoregion {i}" for i in range(k)],
            "biome": pd.array(rng.integers(1, 15, k), dtype="Int64"),
            "g200_region": "",
            "is_g200": rng.random(k) < 0.4,
        },
        geometry=cells,
        crs=4326,
    )
    eco.loc[eco["is_g200"], "g200_region"] = "Some Global 200 region"
    lcx = rng.uniform(lon0, lon1, 20)
    lcy = rng.uniform(lat0, lat1, 20)
    pls = gpd.GeoDataFrame(
        {"landscape_name": [f"Landscape {i}" for i in range(20)]},
        geometry=shapely.buffer(shapely.points(lcx, lcy), 1.5, quad_segs=32),
        crs=4326,
    )
    # clustered sites: mining districts around random centres
    n_clusters = max(n_sites // 200, 1)
    kx = rng.uniform(lon0, lon1, n_clusters)
    ky = rng.uniform(lat0, lat1, n_clusters)
    which = rng.integers(0, n_clusters, n_sites)
    # kept on the ecoregion grid: a site off every ecoregion is (rightly) an ExtentWarning
    sx = np.clip(kx[which] + rng.normal(0, 0.3, n_sites), lon0 + 1e-6, lon1 - 1e-6)
    sy = np.clip(ky[which] + rng.normal(0, 0.3, n_sites), lat0 + 1e-6, lat1 - 1e-6)
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i:06d}" for i in range(n_sites)]},
        geometry=shapely.points(sx, sy),
        crs=4326,
    )
    return sites, pas, eco, pls


def peer(sites: gpd.GeoDataFrame, pas: gpd.GeoDataFrame, eco: gpd.GeoDataFrame) -> pd.Series:
    """The geopandas user's version; returns the nearest distance in degrees per site."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "geographic CRS" warning
        gpd.sjoin(sites, pas, how="left", predicate="within")
        gpd.sjoin(sites, eco, how="left", predicate="within")
        near = gpd.sjoin_nearest(sites, pas, how="left", distance_col="dist_deg")
    return near.groupby(level=0)["dist_deg"].min()


def time_restriction(label: str, sites, pas, eco, pls=None, repeat: int = 2) -> None:
    """classify with every PA boundary indexed, then with the relevant ones only."""
    best = {}
    outs = {}
    for restrict in (False, True) * repeat:
        t0 = time.perf_counter()
        outs[restrict] = _classify(sites, pas, eco, pls, restrict=restrict)
        dt = time.perf_counter() - t0
        best[restrict] = min(best.get(restrict, np.inf), dt)
    same = outs[True].equals(outs[False])
    print(
        f"{label}: every PA checked and indexed {best[False]:6.2f} s, PAs near the sites only "
        f"{best[True]:6.2f} s, speed-up {best[False] / best[True]:.1f}x, identical: {same}"
    )


def continental(seed: int) -> None:
    sites, pas, eco, pls = make_inputs(200, 20_000, 4_000_000, seed)
    nv = int(shapely.get_num_coordinates(pas.geometry.values).sum())
    print(f"200 clustered sites, {len(pas):,} synthetic PAs ({nv:,} vertices), best of 2 runs")
    time_restriction("synthetic continent", sites, pas, eco, pls)
    path = (
        REALDATA / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_polygons_simplified.gpkg"
    )
    if not path.exists():
        print(f"(real WDPA layer not found at {path}: skipped)")
        return
    from asm_pace import read_protected_areas
    from asm_pace.errors import AsmPaceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AsmPaceWarning)
        real = read_protected_areas(path)
        real = real.set_geometry(shapely.make_valid(real.geometry.values))
    nv = int(shapely.get_num_coordinates(real.geometry.values).sum())
    # a mining district in Madre de Dios, Peru (as in Amazon Mining Watch)
    rng = np.random.default_rng(seed)
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i:03d}" for i in range(200)]},
        geometry=shapely.points(rng.normal(-70.0, 0.3, 200), rng.normal(-12.9, 0.2, 200)),
        crs=4326,
    )
    print(f"200 clustered sites, WDPA South America 2019: {len(real):,} PAs ({nv:,} vertices)")
    time_restriction("real WDPA", sites, real, eco, repeat=3)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def one_global(folder: Path, n: int, repeat: int) -> dict:
    """In this process: read the layers, then the peer and classify (best of ``repeat``)."""
    from asm_pace import read_ecoregions, read_protected_areas, read_sites

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = read_protected_areas(folder / "protected_areas.gpkg")
        eco = read_ecoregions(folder / "ecoregions.gpkg")
        sites = read_sites(folder / f"sites_{n}.csv")
        read_gb = _peak_gb()
        # the first call of each builds its indexes of the layers (geopandas keeps the
        # PAs' sindex, classify their envelope index), later calls reuse them
        peer_s, ours_s, peer_cpu, ours_cpu = [], [], [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            peer(sites, pas, eco)
            peer_s.append(time.perf_counter() - t0)
            peer_cpu.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            out = classify(sites, pas, eco)
            ours_s.append(time.perf_counter() - t0)
            ours_cpu.append(time.process_time() - c0)
    table = out[["nearest_pa_km", "nearest_pa_id", "pace_class"]].astype(str)
    return {
        "peer": min(peer_s),
        "classify": min(ours_s),
        "peer_first": peer_s[0],
        "classify_first": ours_s[0],
        "peer_cpu": min(peer_cpu),
        "classify_cpu": min(ours_cpu),
        "read_gb": read_gb,
        "peak_gb": _peak_gb(),
        "digest": int(pd.util.hash_pandas_object(table, index=False).sum() % (1 << 62)),
    }


def _first_vertex_distance(feet: np.ndarray, index) -> tuple[np.ndarray, np.ndarray]:
    """Stands in for ``classification._footprint_distance`` in the floor run: the distance
    of each footprint's first vertex only (not an answer: the least the footprint path
    could cost if a footprint's distance cost what a point's does)."""
    xy, which = shapely.get_coordinates(feet, return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(which)) + 1]
    d, owner, _, _ = index.nearest(xy[first, 0], xy[first, 1])
    return d, owner


def one_footprints(kind: str) -> dict:
    """In this process: classify the AMW footprints against SERNANP; ``kind`` "centroids":
    their centroids instead; "floor": the footprints, their distance taken from their first
    vertex only (:func:`_first_vertex_distance`)."""
    from asm_pace import classification, read_protected_areas, read_sites

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = read_protected_areas(
            REALDATA / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg", statuses=None
        )
        feet = read_sites(REALDATA / "amw_peru_amazon" / "mining_202400_simplified.geojson")
        if kind == "centroids":
            feet = feet.set_geometry(shapely.centroid(feet.geometry.values))
        if kind == "floor":
            classification._footprint_distance = _first_vertex_distance
        eco = make_inputs(10, 10, 100)[2].iloc[:1].copy()
        eco["geometry"] = [shapely.box(-82, -19, -40, 11)]
        read_gb = _peak_gb()
        t0, c0 = time.perf_counter(), time.process_time()
        out = classify(feet, pas, eco)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    table = out[["nearest_pa_km", "nearest_pa_id", "pace_class"]].astype(str)
    return {
        "classify": dt,
        "cpu": cpu,
        "read_gb": read_gb,
        "peak_gb": _peak_gb(),
        "median_km": float(out["nearest_pa_km"].median()),
        "digest": int(pd.util.hash_pandas_object(table, index=False).sum() % (1 << 62)),
    }


def _child(tree: str | None, *args: str) -> dict:
    """Run this script with ``--child`` in a fresh process, with another ``src`` first."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_global(folder: Path, sizes: list[int], before: str | None, repeat: int) -> None:
    print(f"synthetic global layers in {folder}; each size in a fresh process, best of {repeat}")
    print("(first: the first call on the layers read; cpu: CPU seconds of the best call)")
    print(
        "tree    sites    peer s  classify s  ratio | first: peer s classify s ratio | "
        "cpu ratio | peak GB (after reading)  same table"
    )
    for n in sizes:
        runs = {}
        for label, tree in (("before", before), ("after", None)) if before else (("after", None),):
            runs[label] = r = _child(tree, "global", str(folder), str(n), str(repeat))
            same = "" if label == "before" else str(r["digest"] == runs.get("before", r)["digest"])
            print(
                f"{label:6s} {n:8,d} {r['peer']:8.2f} {r['classify']:10.2f} "
                f"{r['classify'] / r['peer']:6.2f} | {r['peer_first']:13.2f} "
                f"{r['classify_first']:10.2f} {r['classify_first'] / r['peer_first']:5.2f} | "
                f"{r['classify_cpu'] / r['peer_cpu']:9.2f} | "
                f"{r['peak_gb']:5.2f} ({r['read_gb']:.2f})             {same}",
                flush=True,
            )


def run_footprints(before: str | None, repeat: int) -> None:
    print("AMW 2024 footprints (5,232) vs SERNANP (353 areas, 336 k vertices), fresh processes")
    print(
        "(floor: the footprints with their distance taken from their first vertex only, "
        "not an answer: the rest of classify's cost for polygons)"
    )
    trees = (("before", before), ("after", None)) if before else (("after", None),)
    wall: dict[tuple[str, str], list[float]] = {}
    for r in range(repeat):
        for label, tree in trees:
            runs = {k: _child(tree, "footprints", k) for k in ("footprints", "centroids", "floor")}
            for k, res in runs.items():
                wall.setdefault((label, k), []).append(res["classify"])
            f, c, fl = runs["footprints"], runs["centroids"], runs["floor"]
            print(
                f"{r + 1} {label:6s} footprints {f['classify']:5.2f} s ({f['cpu']:.2f} CPU s) "
                f"peak {f['peak_gb']:.2f} GB | centroids {c['classify']:5.2f} s "
                f"({c['cpu']:.2f} CPU s) peak {c['peak_gb']:.2f} GB | floor "
                f"{fl['classify']:5.2f} s | footprints / centroids "
                f"{f['classify'] / c['classify']:.2f}x ({f['cpu'] / c['cpu']:.2f}x CPU), floor "
                f"{fl['classify'] / c['classify']:.2f}x | median distance "
                f"{f['median_km']:,.0f} km | digest {f['digest']}",
                flush=True,
            )
    if repeat > 1:
        for label, _ in trees:
            med = {
                k: float(np.median(wall[(label, k)])) for k in ("footprints", "centroids", "floor")
            }
            print(
                f"median of {repeat} {label:6s}: footprints {med['footprints']:.3f} s, centroids "
                f"{med['centroids']:.3f} s, floor {med['floor']:.3f} s | footprints / centroids "
                f"{med['footprints'] / med['centroids']:.2f}x, floor "
                f"{med['floor'] / med['centroids']:.2f}x"
            )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "global":
            res = one_global(Path(rest[0]), int(rest[1]), int(rest[2]))
        else:
            res = one_footprints(rest[0])
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_sites", type=int, nargs="?", default=20_000)
    ap.add_argument("--pas", type=int, default=5_000)
    ap.add_argument("--vertices", type=int, default=2_900_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--continental",
        action="store_true",
        help="200 clustered sites against continent-wide layers, old path vs restricted index",
    )
    ap.add_argument("--global", dest="global_dir", type=Path, help="make_global.py folder")
    ap.add_argument("--sizes", default="1000,10000,100000", help="site lists for --global")
    ap.add_argument("--footprints", action="store_true", help="AMW footprints vs centroids")
    ap.add_argument("--before", help="another tree's src folder, run in the same session")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if args.global_dir:
        sizes = [int(v) for v in args.sizes.split(",") if v]
        run_global(args.global_dir, sizes, args.before, args.repeat)
        return
    if args.footprints:
        run_footprints(args.before, args.repeat)
        return
    if args.continental:
        continental(args.seed)
        return
    sites, pas, eco, pls = make_inputs(args.n_sites, args.pas, args.vertices, args.seed)
    nv = int(shapely.get_num_coordinates(pas.geometry.values).sum())
    print(
        f"{len(sites):,} sites, {len(pas):,} PAs ({nv:,} vertices), "
        f"{len(eco):,} ecoregions, {len(pls)} priority landscapes"
    )
    t0 = time.perf_counter()
    dist_deg = peer(sites, pas, eco)
    t_peer = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = classify(sites, pas, eco, priority_landscapes=pls)
    t_ours = time.perf_counter() - t0
    print(f"geopandas peer (sjoin within x2 + sjoin_nearest, degrees): {t_peer:7.2f} s")
    print(f"asm_pace.classify (PA, landscape, ecoregion, geodesic nearest): {t_ours:7.2f} s")
    print(f"RATIO classify / peer: {t_ours / t_peer:.2f}")
    outside = out["nearest_pa_km"].to_numpy() > 0
    naive_km = dist_deg.to_numpy()[outside] * 111.32
    geo_km = out["nearest_pa_km"].to_numpy()[outside]
    err = naive_km - geo_km
    rel = err / geo_km
    worst = int(np.argmax(np.abs(rel)))
    print(
        f"peer distance (degrees x 111.32 km) vs geodesic, {outside.sum():,} sites outside PAs: "
        f"worst {100 * rel[worst]:+.1f} % ({err[worst]:+.2f} km at {geo_km[worst]:.2f} km), "
        f"worst absolute {np.abs(err).max():.2f} km, median {100 * np.median(np.abs(rel)):.1f} %"
    )
    print("classes:", out["pace_class"].value_counts().to_dict())


if __name__ == "__main__":
    main()
