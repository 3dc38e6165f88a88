"""Loss by cause: ``forest_loss(..., drivers=)`` (WRI / Sims et al. 2025 drivers of loss).

References: a brute-force loop over the Hansen pixels (shapely cell-by-zone fractions,
``pyproj.Geod`` cell areas), where each loss pixel's driver class is looked up by hand: the
pixel centre, transformed to the drivers raster's CRS with ``pyproj.Transformer`` when it
differs, then ``rasterio.transform.rowcol`` (floor) on the drivers grid.
"""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from rasterio.transform import from_origin, rowcol

from asm_pace import forest_loss
from asm_pace.datasets import sample_path
from asm_pace.drivers import DRIVER_CLASSES, driver_columns
from asm_pace.errors import ExtentWarning, RasterError
from asm_pace.geodesy import geodesic_circles

GEOD = Geod(ellps="WGS84")
ROOT = Path(__file__).resolve().parents[1]
X0, Y0, RES, N = -70.0, -12.0, 0.002, 30  # the Hansen-like grid: lon -70..-69.94
CANOPY = 30


def write_tif(path, arr, *, x0, y0, res, crs="EPSG:4326", nodata=None):
    arr = np.asarray(arr)
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=arr.shape[1],
        width=arr.shape[2],
        count=arr.shape[0],
        dtype=arr.dtype.name,
        crs=crs,
        transform=from_origin(x0, y0, res, res),
        nodata=nodata,
    ) as ds:
        ds.write(arr)
    return path


def hansen_pair(folder: Path, seed: int = 1):
    rng = np.random.default_rng(seed)
    tc = rng.integers(0, 101, (N, N)).astype("uint8")
    ly = rng.integers(1, 24, (N, N)).astype("uint8")
    ly[rng.random((N, N)) < 0.4] = 0
    ly[29, 0] = 255  # a nodata pixel (off the zones)
    tcp = write_tif(folder / "tc_treecover2000.tif", tc, x0=X0, y0=Y0, res=RES, nodata=255)
    lyp = write_tif(folder / "ly_lossyear.tif", ly, x0=X0, y0=Y0, res=RES, nodata=255)
    return tc, ly, tcp, lyp


def zones():
    circles = geodesic_circles(
        np.array([-69.975, -69.96]), np.array([-12.02, -12.034]), [1500, 1400]
    )
    poly = shapely.Polygon([(-69.996, -12.004), (-69.95, -12.01), (-69.962, -12.056)])
    return gpd.GeoDataFrame({"zone_id": ["a", "b", "c"]}, geometry=[*circles, poly], crs=4326)


def cell_area(lon0, lat_top, res):
    box = shapely.segmentize(shapely.box(lon0, lat_top - res, lon0 + res, lat_top), res / 50)
    return abs(GEOD.geometry_area_perimeter(box)[0])


def brute_force(zone, tc, ly, drv, drv_transform, drv_crs, drv_nodata):
    """Per-pixel loop: each zone's loss (ha) by driver label (0 unknown, 1-7 the classes)."""
    to_drv = Transformer.from_crs("EPSG:4326", drv_crs, always_xy=True)
    out = np.zeros(8)
    for r in range(N):
        lat_top = Y0 - r * RES
        area = cell_area(X0, lat_top, RES)
        for c in range(N):
            lon0 = X0 + c * RES
            cell = shapely.box(lon0, lat_top - RES, lon0 + RES, lat_top)
            frac = cell.intersection(zone).area / cell.area
            if frac == 0 or tc[r, c] == 255 or ly[r, c] == 255:
                continue
            if not (tc[r, c] > CANOPY and ly[r, c] > 0):
                continue
            x, y = to_drv.transform(lon0 + RES / 2, lat_top - RES / 2)
            dr, dc = rowcol(drv_transform, x, y)  # floor: the cell holding the centre
            cls = 0
            if 0 <= dr < drv.shape[0] and 0 <= dc < drv.shape[1]:
                v = int(drv[dr, dc])
                cls = 0 if v == drv_nodata else v
            out[cls] += frac * area / 1e4
    return out


def _split(result) -> np.ndarray:
    names = driver_columns()
    return np.column_stack([result[names[-1]], *(result[n] for n in names[:-1])])


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32719"])
def test_split_matches_a_brute_force_loop_on_a_misaligned_grid(tmp_path, crs):
    tc, ly, tcp, lyp = hansen_pair(tmp_path)
    rng = np.random.default_rng(7)
    if crs == "EPSG:4326":  # coarser cells whose edges fall inside Hansen pixels
        dx0, dy0, dres, shape = -70.0031, -11.9987, 0.0073, (10, 10)
    else:  # UTM 19S, 700 m cells: another CRS, another grid
        to_utm = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        ux, uy = to_utm.transform(X0 - 0.004, Y0 + 0.004)
        dx0, dy0, dres, shape = round(ux) + 13.7, round(uy) - 5.2, 700.0, (12, 12)
    drv = rng.integers(0, 8, shape).astype("uint8")
    drv[2, 3] = 255
    dp = write_tif(
        tmp_path / "loss_drivers.tif", drv, x0=dx0, y0=dy0, res=dres, crs=crs, nodata=255
    )
    z = zones()
    got = forest_loss(z, treecover=tcp, lossyear=lyp, canopy=CANOPY, drivers=dp)
    split = _split(got)
    for i, zone in enumerate(z.geometry):
        want = brute_force(zone, tc, ly, drv, from_origin(dx0, dy0, dres, dres), crs, 255)
        np.testing.assert_allclose(split[i], want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(split.sum(axis=1), got["loss_total_ha"], rtol=1e-9)
    assert split[:, 1:].sum() > 0 and split[:, 0].sum() > 0  # classes and unknown both met


def test_nodata_zero_and_off_raster_loss_is_unknown(tmp_path):
    tcp = write_tif(
        tmp_path / "all_treecover2000.tif", np.full((N, N), 90, "uint8"), x0=X0, y0=Y0, res=RES
    )
    lyp = write_tif(
        tmp_path / "all_lossyear.tif", np.full((N, N), 5, "uint8"), x0=X0, y0=Y0, res=RES
    )
    # a drivers raster covering only the western half, of class 2 (top rows) and 0 (bottom)
    drv = np.zeros((6, 3), "uint8")
    drv[:3] = 2
    dp = write_tif(tmp_path / "half_drivers.tif", drv, x0=X0, y0=Y0, res=0.01, nodata=0)
    box = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 0.06, X0 + 0.06, Y0)], crs=4326)
    with pytest.warns(ExtentWarning, match=r"loss_driver_unknown_ha"):
        got = forest_loss(box, treecover=tcp, lossyear=lyp, drivers=dp)
    total = float(got["loss_total_ha"].iloc[0])
    hard = float(got["loss_driver_hard_commodities_ha"].iloc[0])
    # by hand: class 2 on the north-west quarter of the box (cells of 0.01 on 0.002 pixels)
    nw = (
        abs(
            GEOD.geometry_area_perimeter(
                shapely.segmentize(shapely.box(X0, Y0 - 0.03, X0 + 0.03, Y0), 1e-4)
            )[0]
        )
        / 1e4
    )
    assert hard == pytest.approx(nw, rel=1e-6)
    assert float(got["loss_driver_unknown_ha"].iloc[0]) == pytest.approx(total - nw, rel=1e-6)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    res=st.floats(0.0011, 0.02),
    off_x=st.floats(-0.01, 0.01),
    off_y=st.floats(-0.01, 0.01),
)
def test_split_adds_up_to_the_total_loss(tmp_path_factory, seed, res, off_x, off_y):
    folder = tmp_path_factory.mktemp("h")
    _, _, tcp, lyp = hansen_pair(folder, seed)
    rng = np.random.default_rng(seed)
    n = int(0.07 / res) + 2
    drv = rng.integers(0, 8, (n, n)).astype("uint8")
    dp = write_tif(
        folder / "d_drivers.tif", drv, x0=X0 - 0.01 + off_x, y0=Y0 + 0.01 + off_y, res=res
    )
    with warnings.catch_warnings():  # a drivers raster covering part of the zones: warned
        warnings.simplefilter("ignore", ExtentWarning)
        got = forest_loss(zones(), treecover=tcp, lossyear=lyp, drivers=dp)
    split = got[driver_columns()].to_numpy()
    assert (split >= 0).all()
    np.testing.assert_allclose(split.sum(axis=1), got["loss_total_ha"], rtol=1e-9, atol=1e-12)


def test_without_drivers_no_driver_column(tmp_path):
    _, _, tcp, lyp = hansen_pair(tmp_path)
    got = forest_loss(zones(), treecover=tcp, lossyear=lyp)
    assert not [c for c in got.columns if c.startswith("loss_driver_")]


def test_class_slugs_are_the_seven_classes_in_order():
    assert list(DRIVER_CLASSES) == list(range(1, 8))
    assert DRIVER_CLASSES[2] == "hard_commodities"
    assert len(driver_columns()) == 8


# --------------------------------------------------------------------------- refusals


@pytest.fixture
def pair(tmp_path):
    return hansen_pair(tmp_path)


def _run(pair, dp):
    return forest_loss(zones(), treecover=pair[2], lossyear=pair[3], drivers=dp)


def test_value_outside_the_classes_is_refused(tmp_path, pair):
    drv = np.full((10, 10), 2, "uint8")
    drv[4, 5] = 9
    dp = write_tif(tmp_path / "bad_drivers.tif", drv, x0=X0, y0=Y0, res=0.007)
    with pytest.raises(
        RasterError, match=r"bad_drivers.tif: value 9 \(pixel row 4, column 5.*--drivers"
    ):
        _run(pair, dp)


def test_lossyear_given_as_drivers_is_refused(pair):
    with pytest.raises(RasterError, match=r"lossyear.*--drivers"):
        _run(pair, pair[3])


def test_drivers_named_file_given_as_treecover_is_refused(tmp_path, pair):
    dp = write_tif(tmp_path / "x_drivers.tif", np.full((N, N), 1, "uint8"), x0=X0, y0=Y0, res=RES)
    with pytest.raises(
        RasterError, match=r"x_drivers.tif: the file name says 'drivers'.*--treecover"
    ):
        forest_loss(zones(), treecover=dp, lossyear=pair[3])


def test_same_file_as_a_forest_raster_is_refused(tmp_path, pair):
    link = tmp_path / "link_drivers.tif"
    link.symlink_to(pair[3])
    with pytest.raises(RasterError, match=r"same raster is given as --lossyear and --drivers"):
        _run(pair, link)


def test_drivers_of_another_region_are_refused(tmp_path, pair):
    dp = write_tif(
        tmp_path / "far_drivers.tif", np.full((5, 5), 2, "uint8"), x0=10.0, y0=50.0, res=0.01
    )
    with pytest.raises(RasterError, match=r"far_drivers.tif: the drivers raster.*another region"):
        _run(pair, dp)


def test_several_bands_and_a_class_nodata_tag_are_refused(tmp_path, pair):
    two = write_tif(
        tmp_path / "two_drivers.tif", np.ones((2, 10, 10), "uint8"), x0=X0, y0=Y0, res=0.01
    )
    with pytest.raises(RasterError, match=r"two_drivers.tif: .* 2 bands"):
        _run(pair, two)
    tag = write_tif(
        tmp_path / "tag_drivers.tif", np.ones((10, 10), "uint8"), x0=X0, y0=Y0, res=0.01, nodata=3
    )
    with pytest.raises(RasterError, match=r"tag_drivers.tif: the nodata tag 3 .*unsetnodata"):
        _run(pair, tag)


# --------------------------------------------------------------------------- the sample


def test_sample_drivers_is_the_generators_output():
    gen = runpy.run_path(str(ROOT / "data" / "make_samples.py"))
    drv_gen = runpy.run_path(str(ROOT / "data" / "make_samples_drivers.py"))
    world = gen["build_world"]()
    with rasterio.open(sample_path("lossyear.tif")) as ds:
        want = drv_gen["make_drivers"](world, ds.read(1), ds.transform)
    with rasterio.open(sample_path("drivers.tif")) as ds:
        assert ds.dtypes == ("uint8",) and ds.nodata == 255 and ds.crs.to_epsg() == 4326
        assert abs(ds.transform.c / 0.00025 - round(ds.transform.c / 0.00025)) > 1e-3  # off-grid
        np.testing.assert_array_equal(ds.read(1), want)


def test_sample_mining_loss_is_mostly_hard_commodities():
    import asm_pace

    sites = asm_pace.read_sites(sample_path("sites.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = forest_loss(
            asm_pace.buffers(sites, 1),
            treecover=sample_path("treecover2000.tif"),
            lossyear=sample_path("lossyear.tif"),
            drivers=sample_path("drivers.tif"),
        )
    hard = got["loss_driver_hard_commodities_ha"].sum()
    assert hard > 0.8 * got["loss_total_ha"].sum()
    np.testing.assert_allclose(
        got[driver_columns()].sum(axis=1, skipna=False), got["loss_total_ha"], rtol=1e-9, atol=1e-9
    )


# --------------------------------------------------------------------------- footprint zones


def _footprint_sites():
    foot = shapely.Polygon(
        [(-69.99, -12.02), (-69.975, -12.018), (-69.972, -12.03), (-69.985, -12.034)],
        holes=[[(-69.982, -12.024), (-69.978, -12.024), (-69.98, -12.028)]],
    )
    point = shapely.Point(-69.955, -12.04)
    return gpd.GeoDataFrame({"site_id": ["F", "P"]}, geometry=[foot, point], crs=4326)


def _geod_ha(geom) -> float:
    """Ellipsoidal area (pyproj.Geod) of every polygon part, each oriented counter-clockwise."""
    parts = shapely.get_parts(geom)
    return (
        sum(GEOD.geometry_area_perimeter(shapely.geometry.polygon.orient(p))[0] for p in parts)
        / 1e4
    )


def test_footprint_zone_and_rings_net_of_it():
    import asm_pace

    sites = _footprint_sites()
    z = asm_pace.buffers(sites, (0.5, 1), rings=True, footprint_zone=True)
    plain = asm_pace.buffers(sites, (0.5, 1), rings=True)
    discs = asm_pace.buffers(sites, (0.5, 1)).set_index("zone_id")
    assert list(z["zone_id"]) == ["F_footprint", "F_0-0.5km", "F_0.5-1km", "P_0-0.5km", "P_0.5-1km"]
    zi = z.set_index("zone_id")
    assert zi.loc["F_footprint", ["radius_km", "inner_km"]].tolist() == [0.0, 0.0]
    foot, ring = zi.geometry["F_footprint"], zi.geometry["F_0-0.5km"]
    assert shapely.equals(foot, sites.geometry[0])
    assert shapely.intersection(foot, ring).area < 1e-15
    # footprint + innermost ring = the 0.5 km disc, in ellipsoidal area (pyproj.Geod)
    disc = discs.geometry["F_0.5km"]
    assert _geod_ha(foot) + _geod_ha(ring) == pytest.approx(_geod_ha(disc), rel=1e-9)
    # the outer ring and the point site's rings are unchanged
    pi = plain.set_index("zone_id")
    for zid in ("F_0.5-1km", "P_0-0.5km", "P_0.5-1km"):
        assert shapely.equals_exact(zi.geometry[zid], pi.geometry[zid], 0.0)


def test_footprint_zone_needs_rings():
    import asm_pace
    from asm_pace.errors import InputError

    with pytest.raises(InputError, match=r"footprint_zone=True .*--rings"):
        asm_pace.buffers(_footprint_sites(), 1, footprint_zone=True)


def test_on_site_and_near_site_loss_against_brute_force(tmp_path):
    import asm_pace

    tc, ly, tcp, lyp = hansen_pair(tmp_path)
    drv = np.random.default_rng(3).integers(0, 8, (10, 10)).astype("uint8")
    dx0, dy0, dres = -70.0031, -11.9987, 0.0073
    dp = write_tif(tmp_path / "d_drivers.tif", drv, x0=dx0, y0=dy0, res=dres)
    z = asm_pace.buffers(_footprint_sites().iloc[:1], 0.7, rings=True, footprint_zone=True)
    got = forest_loss(z, treecover=tcp, lossyear=lyp, drivers=dp)
    split = _split(got)
    for i, zone in enumerate(z.geometry):
        want = brute_force(zone, tc, ly, drv, from_origin(dx0, dy0, dres, dres), "EPSG:4326", None)
        np.testing.assert_allclose(split[i], want, rtol=1e-6, atol=1e-9)
    disc = asm_pace.buffers(_footprint_sites().iloc[:1], 0.7)
    whole = forest_loss(disc, treecover=tcp, lossyear=lyp)
    assert got["loss_total_ha"].sum() == pytest.approx(whole["loss_total_ha"].iloc[0], rel=1e-9)


# --------------------------------------------------------------------------- the command line


def test_cli_writes_the_split_and_records_the_drivers_file(tmp_path):
    import hashlib

    import pyogrio
    from click.testing import CliRunner

    from asm_pace.cli import cli

    out = tmp_path / "out.gpkg"
    drivers = sample_path("drivers.tif")
    args = [
        "classify",
        str(sample_path("sites.csv")),
        "-p",
        str(sample_path("protected_areas.gpkg")),
        "-e",
        str(sample_path("ecoregions.gpkg")),
        "--buffers",
        "1",
        "--treecover",
        str(sample_path("treecover2000.tif")),
        "--lossyear",
        str(sample_path("lossyear.tif")),
        "--drivers",
        str(drivers),
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    b = pyogrio.read_dataframe(out, layer="buffers")
    c = pyogrio.read_dataframe(out, layer="clusters")
    for frame in (b, c):
        np.testing.assert_allclose(
            frame[driver_columns()].sum(axis=1, skipna=False),
            frame["loss_total_ha"],
            rtol=1e-9,
            atol=1e-9,
        )
    info = pyogrio.read_dataframe(out, layer="run_info")
    row = info[(info["section"] == "input") & (info["key"] == "drivers")]
    assert row["sha256"].tolist() == [hashlib.sha256(drivers.read_bytes()).hexdigest()]


# --------------------------------------------------------------------------- real Hansen data


@pytest.mark.realdata
def test_realdata_split_on_the_sierra_de_neiba_clip(realdata, tmp_path):
    """The real Hansen clip (GFC-2023, Dominican Republic) with a drivers raster on its own
    1 km grid; centre rule against a vectorised brute force (pixel centres inside the AOI,
    pyproj.Geod row areas, rasterio rowcol for the drivers cell)."""
    folder = realdata / "mapme_dom_sierra_neiba"
    if not folder.is_dir():
        pytest.skip("mapme_dom_sierra_neiba is absent")
    aoi = gpd.read_file(folder / "gfw_sample.gpkg").to_crs(4326)
    tcp = folder / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"
    lyp = folder / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"
    with rasterio.open(tcp) as a, rasterio.open(lyp) as b:
        tc, ly, tr = a.read(1), b.read(1), a.transform
    x0, y0 = tr.c - 0.0043, tr.f + 0.0051  # off the Hansen grid
    cell = 1.0 / 111.32
    n = int((tc.shape[1] * tr.a + 0.02) / cell) + 3
    m = int((tc.shape[0] * -tr.e + 0.02) / cell) + 3
    drv = np.random.default_rng(11).integers(0, 8, (m, n)).astype("uint8")
    dp = write_tif(tmp_path / "dom_drivers.tif", drv, x0=x0, y0=y0, res=cell)
    got = forest_loss(aoi, treecover=tcp, lossyear=lyp, drivers=dp, coverage="center")
    # brute force
    rows, cols = np.mgrid[0 : tc.shape[0], 0 : tc.shape[1]]
    xs = tr.c + (cols + 0.5) * tr.a
    ys = tr.f + (rows + 0.5) * tr.e
    inside = shapely.contains_xy(aoi.geometry.iloc[0], xs, ys)
    lost = inside & (tc > CANOPY) & (ly > 0)
    area = np.array([cell_area(tr.c, tr.f + r * tr.e, tr.a) for r in range(tc.shape[0])])
    dr, dc = rowcol(from_origin(x0, y0, cell, cell), xs[lost], ys[lost])
    cls = drv[np.asarray(dr), np.asarray(dc)]
    want = np.bincount(cls, weights=area[rows[lost]], minlength=8) / 1e4
    np.testing.assert_allclose(_split(got)[0], want, rtol=1e-6, atol=1e-9)
    assert want.sum() > 100  # real loss: about 150 ha in the AOI


def test_report_forest_table_shows_the_footprint_and_the_mining_share():
    import pandas as pd

    from asm_pace.report import forest_summary

    t = pd.DataFrame(
        {
            "radius_km": [0.0, 1.0, 0.0, 1.0],
            "inner_km": [0.0, 0.0, 0.0, 0.0],
            "zone_area_ha": [10.0, 300.0, 5.0, 300.0],
            "forest_2000_ha": [8.0, 200.0, 5.0, 250.0],
            "loss_total_ha": [6.0, 20.0, 4.0, 10.0],
            "loss_2001_ha": [6.0, 20.0, 4.0, 10.0],
            "loss_driver_hard_commodities_ha": [5.0, 12.0, 4.0, 1.0],
            "loss_driver_unknown_ha": [1.0, 0.0, 0.0, 2.0],
        }
    )
    out = forest_summary(t).set_index("zone")
    assert list(out.index) == ["footprint", "0-1 km"]
    assert out.loc["footprint", "loss_driver_hard_commodities_ha"] == 9.0
    assert out.loc["0-1 km", "loss_driver_hard_commodities_ha"] == 13.0
    assert out.loc["0-1 km", "loss_driver_unknown_ha"] == 2.0


@settings(max_examples=25, deadline=None)
@given(
    lon=st.floats(-179.0, 179.0),
    lat=st.floats(-70.0, 70.0),
    size=st.floats(0.0005, 0.05),
    radius=st.floats(0.05, 20.0),
    seed=st.integers(0, 1000),
)
def test_footprint_and_ring_tile_the_disc(lon, lat, size, radius, seed):
    """Any footprint: the footprint zone and the innermost ring do not overlap, and their
    ellipsoidal areas (pyproj.Geod) add up to the disc's."""
    import asm_pace

    rng = np.random.default_rng(seed)
    xy = rng.uniform(-size, size, (9, 2)) + np.array([lon, lat])
    foot = shapely.convex_hull(shapely.multipoints(xy))  # a valid polygon
    if foot.geom_type != "Polygon" or foot.area < 1e-3 * size * size:
        return
    sites = gpd.GeoDataFrame({"site_id": ["F"]}, geometry=[foot], crs=4326)
    z = asm_pace.buffers(sites, radius, rings=True, footprint_zone=True).set_index("zone_id")
    disc = asm_pace.buffers(sites, radius).geometry.iloc[0]
    f, ring = z.geometry["F_footprint"], z.geometry[f"F_0-{radius:g}km"]
    assert shapely.intersection(f, ring).area <= 1e-12 * disc.area
    assert _geod_ha(f) + _geod_ha(ring) == pytest.approx(_geod_ha(disc), rel=1e-9)


def test_a_folder_gives_its_drivers_named_file_and_no_other(tmp_path, pair):
    from asm_pace.errors import ReadError

    folder = tmp_path / "maps"
    folder.mkdir()
    arr = np.full((10, 10), 2, "uint8")
    write_tif(folder / "drivers_forest_loss_1km.tif", arr, x0=X0 - 0.003, y0=Y0 + 0.003, res=0.01)
    write_tif(folder / "landcover.tif", np.full((10, 10), 9, "uint8"), x0=X0, y0=Y0, res=0.01)
    got = _run(pair, folder)  # landcover.tif (value 9) is not read
    np.testing.assert_allclose(got["loss_driver_hard_commodities_ha"], got["loss_total_ha"])
    empty = tmp_path / "none"
    empty.mkdir()
    write_tif(empty / "landcover.tif", arr, x0=X0, y0=Y0, res=0.01)
    with pytest.raises(ReadError, match=r"no file name holds 'drivers'.*--drivers"):
        _run(pair, empty)
