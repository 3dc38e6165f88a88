"""Time classify with several protected-area sources against the peer way, in one run.

Inputs: the bundled samples (203 sites, 10 protected areas), or with ``--realdata`` the
Peruvian WDPA 2019 polygons and the SERNANP national layer with the Amazon Mining Watch 2024
footprints in Peru (``../shared/realdata``). Three ways, each the median of ``--repeat`` runs:

- ``one``: ``classify(sites, wdpa)``, one source (what every run did before);
- ``peer``: ``classify(sites, pd.concat([wdpa, national]))``: the two layers stacked, as a
  geopandas user would, with no de-duplication (an area in both is listed twice, ids may clash);
- ``two``: ``classify(sites, {"WDPA": wdpa, "NAT": national})``: combined, each area once.

It prints the times and the ratios two / peer (the cost of recognising the same area) and
two / one. On the samples the national layer is the WDPA layer redrawn (each polygon scaled
by 1.01), so every area is in both sources.

Usage::

    .venv/bin/python benchmarks/bench_sources.py
    .venv/bin/python benchmarks/bench_sources.py --realdata --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

import asm_pace
from asm_pace.datasets import sample_path

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def samples() -> tuple:
    sites = asm_pace.read_sites(sample_path("sites.csv"))
    wdpa = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    national = wdpa.copy()
    national["geometry"] = [shapely.affinity.scale(g, 1.01, 1.01) for g in wdpa.geometry]
    national["pa_id"] = [f"N{i}" for i in range(len(national))]
    national.attrs = {"source": "national.gpkg", "source_label": "NAT", "wdpa_ids": False}
    eco = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
    return sites, wdpa, national, eco


def realdata() -> tuple:
    wdpa = asm_pace.read_protected_areas(
        REALDATA / "wdpa_south_america_2019/wdpa_feb2019_south_america_polygons_simplified.gpkg",
        countries="PER",
    )
    national = asm_pace.read_protected_areas(
        REALDATA / "peru_sernanp_anp/peru_anp_sernanp.gpkg", statuses=None
    )
    mines = gpd.read_file(
        REALDATA / "amw_peru_amazon/mining_202400_simplified.geojson",
        bbox=tuple(national.total_bounds),
    )
    sites = asm_pace.read_sites(mines.reset_index(drop=True), id_column=False)
    eco = gpd.GeoDataFrame(
        {
            "eco_id": pd.array([1], dtype="Int64"),
            "eco_name": ["all"],
            "biome": pd.array([1], dtype="Int64"),
            "g200_region": [""],
            "is_g200": [False],
        },
        geometry=[shapely.box(-82, -19, -68, 0)],
        crs=4326,
    )
    return sites, wdpa, national, eco


def timed(func, repeat: int) -> float:
    func()  # warm up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--realdata", action="store_true", help="Peru: WDPA 2019 + SERNANP")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each way (median)")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites, wdpa, national, eco = realdata() if args.realdata else samples()
        stacked = gpd.GeoDataFrame(pd.concat([wdpa, national], ignore_index=True), crs=4326)
        ways = {
            "one": lambda: asm_pace.classify(sites, wdpa, eco),
            "peer": lambda: asm_pace.classify(sites, stacked, eco),
            "two": lambda: asm_pace.classify(sites, {"WDPA": wdpa, "NAT": national}, eco),
        }
        times = {name: timed(func, args.repeat) for name, func in ways.items()}
    print(f"{len(sites)} sites, {len(wdpa)} + {len(national)} protected areas")
    for name, t in times.items():
        print(f"{name:>5}: {1000 * t:8.1f} ms")
    print(f"RATIO two / peer: {times['two'] / times['peer']:.2f}")
    print(f"RATIO two / one:  {times['two'] / times['one']:.2f}")


if __name__ == "__main__":
    main()
