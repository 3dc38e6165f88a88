"""Benchmark: the cost of the loss-by-cause split (``forest_loss(..., drivers=)``).

On the synthetic Hansen-like tile of ``bench_forest.py`` (0.00025 degree cells, about 10 %
loss pixels: more than real tiles) and its clustered geodesic buffers, times in one run and
on one thread, alternating the methods over ``--repeat`` rounds (best of each):

- ``forest_loss`` without drivers (the peer: what a run costs when the option is unused);
- with a drivers raster on its own ~1 km lon/lat grid, not aligned with the tile
  (classes drawn at random; the separable path);
- with the same drivers map in a projected CRS (EPSG:3857 cells of 1 km: each loss pixel
  centre transformed with pyproj).

Prints seconds and ratios to the run without drivers, and checks that the split adds up to
``loss_total_ha``.

    .venv/bin/python benchmarks/bench_drivers.py                       # 10,000 px, 1,000 x 5 km
    .venv/bin/python benchmarks/bench_drivers.py --size 20000 --buffers 5000 --radius 5
"""

from __future__ import annotations

import argparse
import os
import runpy
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GDAL_NUM_THREADS", "1")
os.environ.setdefault("GDAL_CACHEMAX", "256")

import numpy as np

HERE = Path(__file__).resolve().parent


def write_drivers(folder: Path, size: int, crs: str) -> Path:
    """A drivers raster covering the tile: 1 km cells, random classes 0-7, its own grid."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin

    bench = runpy.run_path(str(HERE / "bench_forest.py"))
    x0, y0, res = bench["X0"], bench["Y0"], bench["RES"]
    extent = size * res
    if crs == "EPSG:4326":
        cell = 1.0 / 111.32
        ox, oy = x0 - 0.0037, y0 + 0.0041  # off the tile's grid
    else:
        to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        ox, oy = to.transform(x0 - 0.01, y0 + 0.01)
        ex, ey = to.transform(x0 + extent + 0.01, y0 - extent - 0.01)
        cell = 1000.0
        extent = max(ex - ox, oy - ey)
    n = int(np.ceil((extent + 0.03 * (cell if crs != "EPSG:4326" else 1)) / cell)) + 4
    data = np.random.default_rng(5).integers(0, 8, (n, n)).astype("uint8")
    path = folder / f"bench_drivers_{crs.replace(':', '')}_{size}.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=n,
        width=n,
        count=1,
        dtype="uint8",
        crs=crs,
        transform=from_origin(ox, oy, cell, cell),
        compress="deflate",
    ) as ds:
        ds.write(data, 1)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10000, help="tile width/height in pixels")
    p.add_argument("--buffers", type=int, default=1000, help="number of buffers")
    p.add_argument("--radius", type=float, default=5.0, help="buffer radius in km")
    p.add_argument("--repeat", type=int, default=3, help="rounds (best of each method)")
    p.add_argument("--folder", default=None, help="where the tiles are cached")
    args = p.parse_args()

    from asm_pace import forest_loss
    from asm_pace.drivers import driver_columns

    bench = runpy.run_path(str(HERE / "bench_forest.py"))
    folder = Path(args.folder or Path(tempfile.gettempdir()) / "asm_pace_bench")
    tcp, lyp = bench["make_tile"](folder, args.size, "tiled")
    zones = bench["make_zones"](args.buffers, args.radius, args.size)
    drivers = {
        "drivers, lon/lat grid": write_drivers(folder, args.size, "EPSG:4326"),
        "drivers, EPSG:3857 grid": write_drivers(folder, args.size, "EPSG:3857"),
    }
    methods = {"no drivers (peer)": None, **drivers}
    best = dict.fromkeys(methods, np.inf)
    for _ in range(args.repeat):
        for name, dp in methods.items():
            t = time.perf_counter()
            out = forest_loss(zones, treecover=tcp, lossyear=lyp, drivers=dp)
            best[name] = min(best[name], time.perf_counter() - t)
            if dp is not None:
                diff = np.nanmax(np.abs(out[driver_columns()].sum(axis=1) - out["loss_total_ha"]))
                assert diff <= 1e-6 * np.nanmax(out["loss_total_ha"]), diff
    base = best["no drivers (peer)"]
    print(f"{args.buffers} buffers of {args.radius:g} km on a {args.size} px tile")
    for name, t in best.items():
        print(f"  {name:<26} {t:7.3f} s   x {t / base:.2f}")


if __name__ == "__main__":
    main()
