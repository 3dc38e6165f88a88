"""Time asm_pace.downstream against a plain networkx walk per site, on a continental network.

The network is a seeded random drainage on a grid (``--grid`` x ``--grid`` cells of 0.02
degrees, about 2.2 km, over the south-western Amazon and beyond): every cell's reach runs
from its centre to the centre of the next cell east (north-east, east or south-east, at
random), the last column flows out (NEXT_DOWN 0). So 1,000 x 1,000 cells give 1 M reaches
in 1,000 river systems with many confluences and paths up to 2,200 km long. Sites lie
within 1 km of random reaches; protected areas are random boxes of 0.05 to 0.5 degrees.

The peer is what a networkx user writes: a ``DiGraph`` of NEXT_DOWN, the site's reach
chosen by ``sjoin_nearest`` (in degrees), then a walk per site over ``successors``
accumulating LENGTH_KM up to ``--max-km``, with each reach's protected areas looked up in a
dict built from an ``sjoin`` of reaches and areas (the first entry taken at the reach's top,
not where the river enters the area, so it does less than downstream). It is timed on
``--peer-sites`` sites (default 10,000) and its per-site time scaled to all the sites; the
script prints both times and the RATIO (downstream / peer). Both give the same
km-followed and status for the sites they share (checked, and printed).

Usage::

    .venv/bin/python benchmarks/bench_downstream.py                 # 1 M reaches, 100 k sites
    .venv/bin/python benchmarks/bench_downstream.py --grid 300 --sites 10000
    .venv/bin/python benchmarks/bench_downstream.py --paths          # with the path lines
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Geod

from asm_pace.flowpaths import downstream

STEP = 0.02  # degrees per grid cell
WEST, NORTH = -75.0, 0.0


def make_network(grid: int, seed: int = 0) -> gpd.GeoDataFrame:
    """A random drainage network of grid x grid reaches in the read_rivers columns."""
    rng = np.random.default_rng(seed)
    col, row = np.meshgrid(np.arange(grid), np.arange(grid))
    col, row = col.ravel(), row.ravel()
    ids = np.arange(1, grid * grid + 1, dtype="int64")
    turn = rng.integers(-1, 2, grid * grid)
    nrow = np.clip(row + turn, 0, grid - 1)
    ncol = col + 1
    last = ncol >= grid
    nxt = np.where(last, 0, nrow * grid + np.minimum(ncol, grid - 1) + 1)
    x0 = WEST + (col + 0.5) * STEP
    y0 = NORTH - (row + 0.5) * STEP
    x1 = np.where(last, x0 + STEP, WEST + (np.minimum(ncol, grid - 1) + 0.5) * STEP)
    y1 = np.where(last, y0, NORTH - (nrow + 0.5) * STEP)
    coords = np.stack([np.c_[x0, y0], np.c_[x1, y1]], axis=1)
    lines = shapely.linestrings(coords)
    _, _, dist = Geod(ellps="WGS84").inv(x0, y0, x1, y1)
    discharge = rng.uniform(1.0, 100.0, grid * grid)
    return gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "next_id": nxt,
            "length_km": dist / 1000.0,
            "dist_dn_km": np.nan,
            "discharge_cms": discharge,
            "endorheic": False,
            "truncated": False,
        },
        geometry=lines,
        crs="EPSG:4326",
    )


def make_sites(rivers: gpd.GeoDataFrame, n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(rivers), n)
    on = shapely.line_interpolate_point(
        rivers.geometry.values[pick], rng.uniform(0, 1, n), normalized=True
    )
    xy = shapely.get_coordinates(on) + rng.uniform(-0.008, 0.008, (n, 2))
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(n)]}, geometry=shapely.points(xy), crs="EPSG:4326"
    )


def make_areas(grid: int, n: int, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    span = grid * STEP
    x = rng.uniform(WEST, WEST + span, n)
    y = rng.uniform(NORTH - span, NORTH, n)
    w = rng.uniform(0.05, 0.5, n)
    h = rng.uniform(0.05, 0.5, n)
    return gpd.GeoDataFrame(
        {"pa_id": [f"P{i}" for i in range(n)], "name": [f"Area {i}" for i in range(n)]},
        geometry=shapely.box(x, y, x + w, y + h),
        crs="EPSG:4326",
    )


def peer(rivers, sites, areas, max_km: float) -> tuple[float, float, list, list]:
    """A plain networkx walk per site; (setup seconds, per-site seconds, km followed, status).

    The setup (the graph, the reach x area join) is paid once; the snapping and the walks
    grow with the number of sites.
    """
    t0 = time.perf_counter()
    graph = nx.DiGraph()
    graph.add_nodes_from(rivers["reach_id"].tolist())
    has_next = rivers["next_id"] > 0
    graph.add_edges_from(
        zip(
            rivers["reach_id"][has_next].tolist(), rivers["next_id"][has_next].tolist(), strict=True
        )
    )
    length = dict(zip(rivers["reach_id"].tolist(), rivers["length_km"].tolist(), strict=True))
    pairs = gpd.sjoin(rivers[["reach_id", "geometry"]], areas[["pa_id", "geometry"]])
    in_area = pairs.groupby("reach_id")["pa_id"].agg(list).to_dict()
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sjoin_nearest in degrees: the peer's way
        near = gpd.sjoin_nearest(sites[["site_id", "geometry"]], rivers[["reach_id", "geometry"]])
    near = near[~near.index.duplicated()]
    kms, statuses = [], []
    for site_reach, pt in zip(near["reach_id"].tolist(), near.geometry, strict=True):
        line = rivers.geometry.values[site_reach - 1]
        km = (1.0 - line.project(pt, normalized=True)) * length[site_reach]
        reached: dict[str, float] = {}
        r = site_reach
        status = "outlet"
        while True:
            for a in in_area.get(r, ()):
                reached.setdefault(a, km)
            succ = list(graph.successors(r))
            if km >= max_km:
                status = "max_km reached"
                break
            if not succ:
                break
            r = succ[0]
            km += length[r]
            if km >= max_km:
                km = max_km
                status = "max_km reached"
                break
        kms.append(min(km, max_km))
        statuses.append(status)
    return setup, time.perf_counter() - t0, kms, statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=1000, help="grid side: grid**2 reaches (1000)")
    ap.add_argument("--sites", type=int, default=100_000, help="number of sites (100000)")
    ap.add_argument("--areas", type=int, default=2_000, help="protected areas (2000)")
    ap.add_argument("--max-km", type=float, default=500.0, help="river km followed (500)")
    ap.add_argument("--peer-sites", type=int, default=10_000, help="sites the peer walks")
    ap.add_argument("--paths", action="store_true", help="also build the path lines")
    args = ap.parse_args()

    t0 = time.perf_counter()
    rivers = make_network(args.grid)
    site_gdf = make_sites(rivers, args.sites)
    pas = make_areas(args.grid, args.areas)
    print(
        f"{len(rivers):,} reaches, {len(site_gdf):,} sites, {len(pas):,} protected areas, "
        f"max_km {args.max_km:g} (made in {time.perf_counter() - t0:.1f} s)"
    )
    t0 = time.perf_counter()
    out = downstream(site_gdf, rivers, pas, max_km=args.max_km, paths=args.paths)
    t_ours = time.perf_counter() - t0
    print(
        f"asm_pace.downstream ({'with' if args.paths else 'without'} path lines): "
        f"{t_ours:7.2f} s for {len(site_gdf):,} sites"
    )
    k = min(args.peer_sites, len(site_gdf))
    setup, t_walk, kms, statuses = peer(rivers, site_gdf.iloc[:k], pas, args.max_km)
    scaled = setup + t_walk * len(site_gdf) / k
    print(
        f"networkx walk per site: setup {setup:.2f} s + {t_walk:.2f} s for {k:,} sites -> "
        f"{scaled:7.2f} s for {len(site_gdf):,} sites (the walks scaled)"
    )
    print(f"RATIO downstream / networkx: {t_ours / scaled:.3f}")
    mine = out.sites.iloc[:k]
    same_reach = mine["downstream_reach_id"].notna().to_numpy()
    dk = np.abs(mine["downstream_km"].to_numpy(dtype=float)[same_reach] - np.array(kms)[same_reach])
    agree = mine["downstream_status"].to_numpy()[same_reach] == np.array(statuses)[same_reach]
    print(
        f"agreement on {int(same_reach.sum()):,} sites: status {agree.mean():.1%}, "
        f"km followed within 0.1 km {np.mean(dk < 0.1):.1%} (the peer snaps in degrees)"
    )
    print("statuses:", out.sites["downstream_status"].value_counts().to_dict())
    print(f"site x area rows: {len(out.areas):,}")


if __name__ == "__main__":
    main()
