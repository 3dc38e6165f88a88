"""Generate ``data/samples/drivers.tif``: a synthetic drivers-of-loss raster (Sims et al. 2025).

The real map (WRI / Google DeepMind, 1 km, uint8) gives each cell the dominant driver of
its 2001-2024 tree-cover loss: 1 permanent agriculture, 2 hard commodities (mining and
energy), 3 shifting cultivation, 4 logging, 5 wildfire, 6 settlements and infrastructure,
7 other natural disturbances. This sample uses that format for the fictional district of
``data/make_samples.py``: cells of 1/111.32 degree (about 1 km) on their own grid, whose
origin is **not** on the Hansen sample's 0.00025 degree grid; a cell without loss in the
Hansen sample is 0 (no class); a cell with loss is hard commodities when a mining site lies
within about 1.5 km of its centre, else one of the other classes (mostly permanent
agriculture and shifting cultivation, some logging, a few wildfire and other natural
disturbances, settlements near the largest cluster); a small block of nodata (255, tagged)
sits on the western edge. Deterministic (own seed, no time tags).

Called by ``data/make_samples.py`` ``main()`` as ``write_drivers(out_dir, world)`` after the
Hansen samples are written (it reads ``lossyear.tif`` from ``out_dir``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

SEED = 20251203
#: about 1 km at the equator; the origin is off the Hansen sample's 0.00025 degree grid
CELL = 1.0 / 111.32
WEST, NORTH = -70.6537, -12.4613
WIDTH, HEIGHT = 72, 64  # lon -70.65..-70.01, lat -12.46..-13.04
NODATA = 255


def drivers_transform():
    return from_origin(WEST, NORTH, CELL, CELL)


def make_drivers(world, lossyear: np.ndarray, loss_transform) -> np.ndarray:
    """The class of every drivers cell (uint8), from the Hansen sample's loss and the sites."""
    rng = np.random.default_rng(SEED)
    # share of each drivers cell's Hansen pixels that are loss (pixel centres binned)
    rows, cols = np.nonzero((lossyear > 0) & (lossyear != 255))
    xs, ys = rasterio.transform.xy(loss_transform, rows, cols)
    dr, dc = rasterio.transform.rowcol(drivers_transform(), xs, ys)
    dr, dc = np.asarray(dr), np.asarray(dc)
    inside = (dr >= 0) & (dr < HEIGHT) & (dc >= 0) & (dc < WIDTH)
    count = np.zeros((HEIGHT, WIDTH), dtype=np.int64)
    np.add.at(count, (dr[inside], dc[inside]), 1)
    has_loss = count > 0
    # cell centres and the distance (km, local flat approximation) to the nearest site
    cx = WEST + (np.arange(WIDTH) + 0.5) * CELL
    cy = NORTH - (np.arange(HEIGHT) + 0.5) * CELL
    gx, gy = np.meshgrid(cx, cy)
    lon = world.sites["longitude"].to_numpy()
    lat = world.sites["latitude"].to_numpy()
    kx = 111.32 * np.cos(np.radians(-12.75))
    d = np.full(gx.shape, np.inf)
    for x, y in zip(lon, lat, strict=True):
        d = np.minimum(d, np.hypot((gx - x) * kx, (gy - y) * 110.6))
    other = rng.choice(
        np.array([1, 3, 4, 5, 7, 6], dtype=np.uint8),
        size=gx.shape,
        p=[0.38, 0.34, 0.14, 0.05, 0.05, 0.04],
    )
    out = np.where(has_loss, np.where(d <= 1.5, np.uint8(2), other), np.uint8(0))
    out[30:36, 0:3] = NODATA  # a data gap on the western edge
    return out.astype(np.uint8)


def write_drivers(out_dir: Path | str, world) -> Path:
    """Write ``drivers.tif`` into ``out_dir`` (which already holds ``lossyear.tif``)."""
    out_dir = Path(out_dir)
    with rasterio.open(out_dir / "lossyear.tif") as ds:
        lossyear = ds.read(1)
        loss_transform = ds.transform
    data = make_drivers(world, lossyear, loss_transform)
    profile = {
        "driver": "GTiff",
        "width": WIDTH,
        "height": HEIGHT,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": drivers_transform(),
        "nodata": NODATA,
        "compress": "deflate",
    }
    path = out_dir / "drivers.tif"
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path
