"""Write seeded synthetic inputs of global size, for the scale benchmarks (issue 10).

The real WDPA holds about 280,000 polygons with 71 million vertices, the WWF TEOW
layer 867 ecoregions with about 5 million; mining sites come in districts. This
script writes layers of that size and shape, in the real schemas, so that anyone
can reproduce the scale numbers without the licensed WDPA:

- ``protected_areas.gpkg`` (layer ``polygons``, WDPA fields): star-shaped areas
  whose sizes follow a log-normal law (median about 8 km2, a tail past
  100,000 km2) and whose vertex counts follow another (mean about 254), placed
  in clusters ("countries") between 56 S and 72 N; they overlap, as WDPA records do;
- ``ecoregions.gpkg`` (layer ``ecoregions``, TEOW fields): a Voronoi coverage of
  the box -180..180, -60..84 with densified edges (shared edges, no gaps), 40 %
  Global 200;
- ``sites_<n>.csv`` (``site_id``, ``latitude``, ``longitude``) for each size
  asked: sites in mining districts, half of the districts centred in or beside a
  protected area.

Everything follows from ``--seed``; two runs write byte-identical files (the
GeoPackage timestamps are pinned). ``--scale`` shrinks the protected-area and
ecoregion layers (0.01 gives 2,800 protected areas) for quick runs and tests.

Usage::

    .venv/bin/python benchmarks/make_global.py OUT                     # global size
    .venv/bin/python benchmarks/make_global.py OUT --sites 1000,1000000
    .venv/bin/python benchmarks/make_global.py OUT --scale 0.01 --sites 1000

Prints what it wrote: feature and vertex counts, file sizes, time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

#: Sizes of the real global layers (WDPA polygons, TEOW ecoregions).
PA_COUNT = 280_000
PA_VERTICES = 71_000_000
ECO_COUNT = 867
ECO_VERTICES = 5_000_000
FIXED_DATE = "2026-01-01T00:00:00Z"
LAT_RANGE = (-56.0, 72.0)  # where protected areas and sites are placed
ECO_BOX = (-180.0, -60.0, 180.0, 84.0)
_KM_PER_DEG = 111.32
_BATCH = 20_000  # protected areas generated and written at a time


def protected_areas(n: int, vertices: int, rng: np.random.Generator):
    """Yield GeoDataFrames of ``n`` synthetic WDPA polygons in all, ``vertices`` in total."""
    countries = 200
    ccx = rng.uniform(-170.0, 170.0, countries)
    ccy = rng.uniform(LAT_RANGE[0] + 6, LAT_RANGE[1] - 6, countries)
    iso3 = np.array([f"X{i // 26 % 26 + 65:c}{i % 26 + 65:c}" for i in range(countries)])
    mean_per = vertices / n
    done = 0
    while done < n:
        k = min(_BATCH, n - done)
        which = rng.integers(0, countries, k)
        cy = np.clip(ccy[which] + rng.normal(0, 4.0, k), *LAT_RANGE)
        cx = ccx[which] + rng.normal(0, 6.0, k) / np.cos(np.radians(cy))
        area_km2 = np.minimum(rng.lognormal(np.log(8.0), 2.2, k), 300_000.0)
        radius_km = np.sqrt(area_km2 / np.pi)
        # vertex counts: log-normal with the asked mean (sigma 1), at least 8
        per = np.maximum(rng.lognormal(np.log(mean_per) - 0.5, 1.0, k).astype(np.int64), 8)
        offsets = np.concatenate([[0], np.cumsum(per)])
        owner = np.repeat(np.arange(k), per)
        step = np.arange(offsets[-1]) - offsets[owner]
        ang = 2 * np.pi * step / per[owner]
        noise = np.zeros(offsets[-1])
        for h in (2, 3, 5, 9, 17):
            amp = rng.uniform(0.0, 0.25 / np.sqrt(h), k)[owner]
            noise += amp * np.sin(h * ang + rng.uniform(0, 2 * np.pi, k)[owner])
        r_deg = radius_km[owner] / _KM_PER_DEG * np.clip(1.0 + noise, 0.2, None)
        lat = np.clip(cy[owner] + r_deg * np.sin(ang), -85.0, 85.0)
        lon = cx[owner] + r_deg * np.cos(ang) / np.cos(np.radians(cy[owner]))
        # keep every area whole inside -180..180 (the global layer is split at the
        # antimeridian already): shift those that cross it
        lo = np.minimum.reduceat(lon, offsets[:-1])
        hi = np.maximum.reduceat(lon, offsets[:-1])
        shift = np.where(lo < -180.0, -180.0 - lo + 1e-6, 0.0) + np.where(
            hi > 180.0, 180.0 - hi - 1e-6, 0.0
        )
        lon = lon + shift[owner]
        rings = shapely.linearrings(np.column_stack([lon, lat]), indices=owner)
        geoms = shapely.multipolygons(shapely.polygons(rings), indices=np.arange(k))
        ids = np.arange(done, done + k) + 1
        year = rng.integers(1900, 2025, k)
        year[rng.random(k) < 0.05] = 0
        frame = pd.DataFrame(
            {
                "WDPAID": ids.astype(float),
                "WDPA_PID": ids.astype(str),
                "PA_DEF": "1",
                "NAME": [f"Synthetic area {i}" for i in ids],
                "DESIG_ENG": rng.choice(["National Park", "Nature Reserve", "Forest Reserve"], k),
                "DESIG_TYPE": "National",
                "IUCN_CAT": rng.choice(["Ia", "II", "IV", "VI", "Not Reported"], k),
                "MARINE": "0",
                "REP_AREA": np.round(area_km2, 3),
                "GIS_AREA": np.round(area_km2, 3),
                "STATUS": rng.choice(["Designated", "Designated", "Proposed"], k),
                "STATUS_YR": year.astype(np.int32),
                "ISO3": iso3[which],
            }
        )
        done += k
        yield gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def ecoregions(n: int, vertices: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """A Voronoi coverage of :data:`ECO_BOX`, edges densified to about ``vertices`` in all."""
    x0, y0, x1, y1 = ECO_BOX
    seeds = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]))
    box = shapely.box(*ECO_BOX)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box))
    cells = shapely.intersection(cells, box)
    cells = cells[shapely.area(cells) > 0]
    perimeter = float(shapely.length(cells).sum())
    cells = shapely.segmentize(cells, perimeter / vertices)
    k = len(cells)
    g200 = rng.random(k) < 0.4
    num = np.where(g200, rng.integers(1, 143, k), 0).astype(np.int32)
    frame = pd.DataFrame(
        {
            "OBJECTID": np.arange(1, k + 1, dtype=np.int32),
            "ECO_NAME": [f"Synthetic ecoregion {i}" for i in range(k)],
            "REALM": "NT",
            "BIOME": rng.integers(1, 15, k).astype(np.int32),
            "ECO_NUM": np.arange(k, dtype=np.int32) % 99 + 1,
            "ECO_ID": np.arange(10_000, 10_000 + k, dtype=np.int32),
            "G200_REGIO": np.where(g200, "Synthetic Global 200 region", None),
            "G200_NUM": num,
            "G200_BIOME": np.where(g200, rng.integers(1, 15, k), 0).astype(np.int32),
            "G200_STAT": np.where(g200, 1, 0).astype(np.int32),
        }
    )
    return gpd.GeoDataFrame(
        frame, geometry=shapely.multipolygons(cells, indices=np.arange(k)), crs="EPSG:4326"
    )


def sites(n: int, rng: np.random.Generator, anchors: np.ndarray) -> pd.DataFrame:
    """``n`` sites in districts of about 200; half the districts centred on ``anchors``."""
    districts = max(n // 200, 1)
    half = districts // 2
    pick = anchors[rng.integers(0, len(anchors), half)]
    cx = np.concatenate([pick[:, 0], rng.uniform(-170, 170, districts - half)])
    cy = np.concatenate([pick[:, 1], rng.uniform(*LAT_RANGE, districts - half)])
    which = rng.integers(0, districts, n)
    lat = np.clip(cy[which] + rng.normal(0, 0.15, n), LAT_RANGE[0], LAT_RANGE[1])
    lon = np.clip(cx[which] + rng.normal(0, 0.15, n) / np.cos(np.radians(lat)), -179.9, 179.9)
    return pd.DataFrame(
        {
            "site_id": [f"S{i:07d}" for i in range(n)],
            "latitude": np.round(lat, 6),
            "longitude": np.round(lon, 6),
        }
    )


def write(out: Path, *, scale: float = 1.0, site_counts=(), seed: int = 10) -> dict:
    """Write the layers into ``out``; return counts (features, vertices) per file."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_pa = max(round(PA_COUNT * scale), 1)
    n_eco = max(round(ECO_COUNT * scale), 2)
    counts: dict[str, dict[str, int]] = {}
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        pa_path = out / "protected_areas.gpkg"
        pa_path.unlink(missing_ok=True)
        anchors = []
        features = vertices = 0
        for batch in protected_areas(n_pa, int(PA_VERTICES * scale), rng):
            pyogrio.write_dataframe(
                batch, pa_path, layer="polygons", driver="GPKG", append=pa_path.exists()
            )
            features += len(batch)
            vertices += int(shapely.get_num_coordinates(batch.geometry.values).sum())
            anchors.append(shapely.get_coordinates(shapely.point_on_surface(batch.geometry.values)))
        counts["protected_areas.gpkg"] = {"features": features, "vertices": vertices}
        eco = ecoregions(n_eco, int(ECO_VERTICES * scale), rng)
        eco_path = out / "ecoregions.gpkg"
        eco_path.unlink(missing_ok=True)
        pyogrio.write_dataframe(eco, eco_path, layer="ecoregions", driver="GPKG")
        counts["ecoregions.gpkg"] = {
            "features": len(eco),
            "vertices": int(shapely.get_num_coordinates(eco.geometry.values).sum()),
        }
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    anchor_xy = np.concatenate(anchors)
    for n in site_counts:
        name = f"sites_{n}.csv"
        sites(n, np.random.default_rng([seed, n]), anchor_xy).to_csv(
            out / name, index=False, lineterminator="\n"
        )
        counts[name] = {"features": n, "vertices": n}
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--scale", type=float, default=1.0, help="layer size (1 = global)")
    parser.add_argument("--sites", default="1000,10000,100000,1000000", help="site list sizes")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    start = time.perf_counter()
    sizes = [int(s) for s in args.sites.split(",") if s]
    counts = write(args.out, scale=args.scale, site_counts=sizes, seed=args.seed)
    for name, c in counts.items():
        mb = (args.out / name).stat().st_size / 1e6
        print(
            f"{name:24s} {c['features']:>10,d} features {c['vertices']:>12,d} vertices {mb:9.1f} MB"
        )
    print(f"written in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
