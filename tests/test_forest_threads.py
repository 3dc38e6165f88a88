"""forest_loss on two threads: windows read ahead, summed side by side, added in order.

The two-thread run must give the one-thread run's numbers, bit for bit, over many windows
(several bands, several windows a band), with the gain raster, the protection split by
the centre rule and the drivers split; and both must agree with a brute force over every
pixel (shapely cell areas), never with asm_pace's own coverage code.
"""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from rasterio.transform import from_origin

from asm_pace import _coverage as cov
from asm_pace import forest
from asm_pace._raster import Grid
from asm_pace.forest import forest_loss
from asm_pace.geodesy import geodesic_circles

X0, Y0, RES = -60.0, 0.0, 0.0005
H, W = 700, 900  # three bands of 256 rows (tiles of 16 x 16)
GEOD = Geod(ellps="WGS84")


def _write(path, arr):
    with rasterio.open(
        path, "w", driver="GTiff", height=H, width=W, count=1, dtype="uint8", nodata=255,
        crs="EPSG:4326", transform=from_origin(X0, Y0, RES, RES), tiled=True,
        blockxsize=16, blockysize=16, compress="lzw",
    ) as ds:  # fmt: skip
        ds.write(arr, 1)
    return path


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("threads")
    rng = np.random.default_rng(3)
    tc = rng.integers(0, 101, (H, W)).astype("uint8")
    ly = np.where(rng.random((H, W)) < 0.15, rng.integers(1, 24, (H, W)), 0).astype("uint8")
    gain = (rng.random((H, W)) < 0.05).astype("uint8")
    return {
        "treecover": _write(folder / "Hansen_GFC-2023-v1.11_treecover2000_00N_060W.tif", tc),
        "lossyear": _write(folder / "Hansen_GFC-2023-v1.11_lossyear_00N_060W.tif", ly),
        "gain": _write(folder / "Hansen_GFC-2023-v1.11_gain_00N_060W.tif", gain),
        "arrays": (tc, ly, gain),
    }


@pytest.fixture(scope="module")
def zones():
    """Clusters of circles in separate columns and in every band: many windows."""
    rng = np.random.default_rng(5)
    cx = X0 + RES * np.array([150, 330, 520, 740, 160, 640])
    cy = Y0 - RES * np.array([140, 150, 360, 380, 550, 530])
    k = rng.integers(0, len(cx), 240)
    lon = cx[k] + rng.normal(0, 20 * RES, k.size)
    lat = cy[k] + rng.normal(0, 20 * RES, k.size)
    geoms = geodesic_circles(lon, lat, rng.uniform(300.0, 3000.0, k.size))
    return gpd.GeoDataFrame({"site": np.arange(k.size)}, geometry=geoms, crs=4326)


def _jit(monkeypatch):
    """The compiled kernels for any size (BandEdges windows, the fused kernel)."""
    monkeypatch.setattr(cov, "JIT_MIN", 0)
    monkeypatch.setattr(cov, "JIT_LOAD", 0)


def _count_windows(monkeypatch) -> list:
    seen: list = []
    real = forest._windows

    def windows(*args):
        for w in real(*args):
            seen.append(w)
            yield w

    monkeypatch.setattr(forest, "_windows", windows)
    return seen


@pytest.mark.parametrize("ahead_bytes", [1, 64 << 20])
def test_two_threads_give_one_threads_bits_over_many_windows(
    monkeypatch, rasters, zones, ahead_bytes
):
    _jit(monkeypatch)
    monkeypatch.setattr(forest, "READ_AHEAD_BYTES", ahead_bytes)
    seen = _count_windows(monkeypatch)
    kw = {k: rasters[k] for k in ("treecover", "lossyear", "gain")}
    one = forest_loss(zones, **kw, threads=1)
    assert len(seen) >= 6  # several windows, in several bands
    assert len({w[1] for w in seen}) >= 3
    two = forest_loss(zones, **kw, threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)


def test_two_threads_with_the_protection_split_by_centres(monkeypatch, rasters, zones):
    _jit(monkeypatch)
    lon = X0 + RES * np.array([200.0, 600.0, 450.0])
    lat = Y0 - RES * np.array([200.0, 450.0, 600.0])
    pas = gpd.GeoDataFrame(
        {"status_year": pd.array([2005, 2012, None], dtype="Int64")},
        geometry=geodesic_circles(lon, lat, [9000.0, 7000.0, 5000.0]),
        crs=4326,
    )
    kw = {k: rasters[k] for k in ("treecover", "lossyear")}
    one = forest_loss(zones, **kw, protected_areas=pas, pa_coverage="center", threads=1)
    two = forest_loss(zones, **kw, protected_areas=pas, pa_coverage="center", threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    assert (one.filter(like="in_pa").to_numpy() > 0).any()  # the split is exercised


def test_two_threads_with_the_drivers_split(monkeypatch, rasters, zones, tmp_path):
    _jit(monkeypatch)
    rng = np.random.default_rng(9)
    drv = rng.integers(1, 8, (H // 4, W // 4)).astype("uint8")
    path = tmp_path / "drivers.tif"
    with rasterio.open(
        path, "w", driver="GTiff", height=drv.shape[0], width=drv.shape[1], count=1,
        dtype="uint8", nodata=0, crs="EPSG:4326",
        transform=from_origin(X0, Y0, 4 * RES, 4 * RES),
    ) as ds:  # fmt: skip
        ds.write(drv, 1)
    kw = {k: rasters[k] for k in ("treecover", "lossyear")}
    one = forest_loss(zones, **kw, drivers=path, threads=1)
    two = forest_loss(zones, **kw, drivers=path, threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)


def test_two_threads_against_a_brute_force_over_every_pixel(monkeypatch, rasters, zones):
    """Forest 2000 and the loss of every year of a few zones, from shapely cell areas."""
    _jit(monkeypatch)
    tc, ly, _ = rasters["arrays"]
    kw = {k: rasters[k] for k in ("treecover", "lossyear")}
    got = forest_loss(zones, **kw, threads=2)
    for i in (0, 57, 131, 239):
        zone = zones.geometry.iloc[i]
        x0, y0, x1, y1 = zone.bounds
        c0, c1 = int((x0 - X0) / RES), int((x1 - X0) / RES) + 1
        r0, r1 = int((Y0 - y1) / RES), int((Y0 - y0) / RES) + 1
        forest_ha = 0.0
        loss = np.zeros(24)
        for r in range(r0, r1):
            top = Y0 - r * RES
            cell_ha = abs(GEOD.polygon_area_perimeter(
                [X0, X0 + RES, X0 + RES, X0], [top, top, top - RES, top - RES]
            )[0]) / 1e4  # fmt: skip
            cells = shapely.box(
                X0 + np.arange(c0, c1) * RES, top - RES, X0 + np.arange(c0 + 1, c1 + 1) * RES, top
            )
            frac = shapely.area(shapely.intersection(cells, zone)) / RES**2
            forest_px = tc[r, c0:c1] > 30
            forest_ha += float((frac * forest_px).sum()) * cell_ha
            np.add.at(loss, ly[r, c0:c1][forest_px], frac[forest_px] * cell_ha)
        row = got.iloc[i]
        assert row["forest_2000_ha"] == pytest.approx(forest_ha, rel=1e-6)
        for year in range(1, 24):
            assert row[f"loss_{2000 + year}_ha"] == pytest.approx(loss[year], rel=1e-6, abs=1e-9)


def test_in_order_keeps_the_order_and_takes_few_ahead():
    taken = []
    done = threading.Event()

    def items():
        for i in range(20):
            taken.append(i)
            yield (i,)
        done.set()

    def slow(i):
        time.sleep(0.002 * (i % 3))  # later items may finish first
        return i * i

    got = []
    for value in forest._in_order(slow, items(), 2):
        got.append(value)
        assert len(taken) - len(got) <= 3  # at most threads + 1 ahead
    assert got == [i * i for i in range(20)]
    assert list(forest._in_order(slow, items(), 1)) == got


def test_ahead_closed_midway_makes_no_more():
    made = []

    def items():
        for i in range(100):
            made.append(i)
            yield i + 1  # never None, the end marker

    gen = forest._ahead(items(), 4)
    assert [next(gen), next(gen)] == [1, 2]
    gen.close()
    n = len(made)
    time.sleep(0.05)
    assert len(made) == n <= 2 + 4 + 1


def test_ahead_passes_an_error_on_in_order():
    def items():
        yield 1
        raise ValueError("window 2 is damaged")

    gen = forest._ahead(items(), 3)
    assert next(gen) == 1
    with pytest.raises(ValueError, match="window 2"):
        next(gen)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(finite, finite), min_size=3, max_size=12),
    st.sampled_from(
        [(-60.0, 0.0, 0.00025, -0.00025), (10.5, -3.0, 30.0, 30.0), (0.0, 0.0, -2.0, 0.1)]
    ),
)
def test_pixel_bounds_are_the_vertices_bounds_in_pixels(points, grid):
    """The windows come from the zones' bounds: the same numbers as the bounds of their
    vertices mapped to pixels (the map is monotone), whatever the signs of dx and dy."""
    poly = shapely.Polygon(points)
    x0, y0, dx, dy = grid
    xy = shapely.get_coordinates(poly)
    px = (xy - (x0, y0)) / (dx, dy)
    want = np.r_[px.min(axis=0), px.max(axis=0)]
    g = Grid(crs="EPSG:4326", x0=x0, y0=y0, dx=dx, dy=dy)
    got = forest._pixel_bounds(np.array([poly], dtype=object), g)[0]
    np.testing.assert_array_equal(got, want)
