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

Usage::

    .venv/bin/python benchmarks/bench_classify.py 20000
    .venv/bin/python benchmarks/bench_classify.py 100000 --pas 5000 --vertices 2900000
    .venv/bin/python benchmarks/bench_classify.py --continental
"""

from __future__ import annotations

import argparse
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


def main() -> None:
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
    args = ap.parse_args()
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
