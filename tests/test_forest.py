"""forest_loss / raster_stats against independent references.

References: a brute-force loop over pixels with pyproj.Geod cell areas (densified
cell boxes) and shapely cell-by-cell intersection fractions; exactextract's
per-cell coverage fractions; hand-worked 3x3 cases.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer
from rasterio.transform import from_origin

from asm_pace import forest_loss, raster_stats
from asm_pace._raster import Grid, row_areas
from asm_pace.errors import CoverageWarning, CRSError, InputError, RasterError
from asm_pace.geodesy import geodesic_circles

GEOD = Geod(ellps="WGS84")


def write_tif(path, arr, *, x0, y0, res, crs="EPSG:4326", nodata=255, tiled=False):
    arr = np.asarray(arr)
    profile = dict(
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype=arr.dtype.name,
        crs=crs,
        transform=from_origin(x0, y0, res, res),
        nodata=nodata,
        compress="lzw",
    )
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(arr, 1)
    return path


def cell_area_geod(lon0, lat_top, res):
    """Ellipsoidal area of one lon/lat cell: Geod polygon area of the densified box."""
    box = shapely.segmentize(shapely.box(lon0, lat_top - res, lon0 + res, lat_top), res / 50)
    return abs(GEOD.geometry_area_perimeter(box)[0])


def brute_force(zone, tc, ly, *, x0, y0, res, canopy=30, nodata=255, center=False):
    """Per-pixel loop: forest and loss-by-year areas (m2) of one lon/lat zone."""
    forest = 0.0
    valid_a = 0.0
    total = 0.0
    loss: dict[int, float] = {}
    h, w = tc.shape
    # look one cell beyond the raster on each side to count off-raster area
    for r in range(-2, h + 2):
        lat_top = y0 - r * res
        area = cell_area_geod(x0, lat_top, res)
        for c in range(-2, w + 2):
            lon0 = x0 + c * res
            cell = shapely.box(lon0, lat_top - res, lon0 + res, lat_top)
            if center:
                frac = float(zone.contains(shapely.Point(lon0 + res / 2, lat_top - res / 2)))
            else:
                frac = cell.intersection(zone).area / cell.area
            if frac == 0:
                continue
            total += frac * area
            if not (0 <= r < h and 0 <= c < w) or tc[r, c] == nodata or ly[r, c] == nodata:
                continue
            valid_a += frac * area
            if tc[r, c] > canopy:
                forest += frac * area
                if ly[r, c] > 0:
                    loss[int(ly[r, c])] = loss.get(int(ly[r, c]), 0.0) + frac * area
    return total, valid_a, forest, loss


X0, Y0, RES = -70.0, -12.0, 0.01  # 20 x 20 cells of ~1.1 km


@pytest.fixture
def small(tmp_path):
    rng = np.random.default_rng(42)
    tc = rng.integers(0, 101, (20, 20)).astype("uint8")
    tc[0, 0] = 255  # nodata
    ly = rng.integers(0, 24, (20, 20)).astype("uint8")
    ly[rng.random((20, 20)) < 0.5] = 0
    ly[5, 5] = 255
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=X0, y0=Y0, res=RES)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=X0, y0=Y0, res=RES)
    return tc, ly, tcp, lyp


def zones_small():
    circles = geodesic_circles(np.array([-69.91, -69.87]), np.array([-12.1, -12.08]), [3000, 4500])
    poly = shapely.Polygon(
        [(-69.995, -12.005), (-69.905, -12.012), (-69.86, -12.19), (-69.97, -12.17)],
        holes=[[(-69.95, -12.05), (-69.93, -12.05), (-69.94, -12.09)]],
    )
    multi = shapely.MultiPolygon(
        [
            shapely.box(-69.853, -12.063, -69.817, -12.031),
            shapely.box(-69.84, -12.19, -69.81, -12.16),
        ]
    )
    return gpd.GeoDataFrame(
        {"name": ["a", "b", "c", "d"]},
        geometry=[*circles, poly, multi],
        crs=4326,
        index=pd.Index([10, 3, 7, 1], name="zone"),
    )


# --------------------------------------------------------------------------- pixel areas


@pytest.mark.parametrize("lat", [0.0, -12.0, 45.0, 71.3])
def test_row_area_is_the_ellipsoidal_cell_area(lat):
    res = 0.00025
    grid = Grid(CRS.from_epsg(4326), -70.0, lat, res, -res)
    got = row_areas(grid, np.array([0]))[0]
    assert got == pytest.approx(cell_area_geod(-70.0, lat, res), rel=1e-6)


def test_row_area_large_cell_matches_geod():
    grid = Grid(CRS.from_epsg(4326), 10.0, 50.0, 1.0, -1.0)
    assert row_areas(grid, np.array([0]))[0] == pytest.approx(
        cell_area_geod(10.0, 50.0, 1.0), rel=1e-6
    )


# --------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("coverage", ["exact", "center"])
def test_matches_brute_force(small, coverage):
    tc, ly, tcp, lyp = small
    zones = zones_small()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        out = forest_loss(zones, treecover=tcp, lossyear=lyp, coverage=coverage)
    assert list(out.index) == list(zones.index)
    for key, zone in zip(zones.index, zones.geometry, strict=True):
        total, valid_a, forest, loss = brute_force(
            zone, tc, ly, x0=X0, y0=Y0, res=RES, center=coverage == "center"
        )
        row = out.loc[key]
        assert row["zone_area_ha"] == pytest.approx(total / 1e4, rel=1e-6)
        assert row["forest_2000_ha"] == pytest.approx(forest / 1e4, rel=1e-6)
        assert row["data_coverage"] == pytest.approx(valid_a / total, rel=1e-6)
        for v in range(1, 24):
            assert row[f"loss_{2000 + v}_ha"] == pytest.approx(
                loss.get(v, 0.0) / 1e4, rel=1e-6, abs=1e-9
            )
        assert row["loss_total_ha"] == pytest.approx(sum(loss.values()) / 1e4, rel=1e-6)


def test_exact_zone_area_is_the_geodesic_area(small):
    _, _, tcp, lyp = small
    zones = zones_small().iloc[:2]
    out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    geod = [abs(GEOD.geometry_area_perimeter(g)[0]) / 1e4 for g in zones.geometry]
    np.testing.assert_allclose(out["zone_area_ha"], geod, rtol=1e-5)


def test_hand_checked_3x3(tmp_path):
    """Zone = the centre cell plus the left half of the right cell, at the equator."""
    res = 0.001
    tc = np.array([[0, 0, 0], [0, 80, 31], [0, 30, 0]], dtype="uint8")
    ly = np.array([[0, 0, 0], [0, 5, 0], [0, 7, 0]], dtype="uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=0.0, y0=0.0015, res=res)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=0.0, y0=0.0015, res=res)
    zone = shapely.box(0.001, -0.0005, 0.0025, 0.0005)  # 1.5 cells of the middle row
    out = forest_loss(gpd.GeoDataFrame(geometry=[zone], crs=4326), treecover=tcp, lossyear=lyp)
    a = cell_area_geod(0.0, 0.0005, res)  # every cell of the middle row has this area
    row = out.iloc[0]
    assert row["zone_area_ha"] == pytest.approx(1.5 * a / 1e4, rel=1e-7)
    assert row["forest_2000_ha"] == pytest.approx(1.5 * a / 1e4, rel=1e-7)  # 80 and 31 > 30
    assert row["loss_2005_ha"] == pytest.approx(a / 1e4, rel=1e-7)
    assert row["loss_pct"] == pytest.approx(100 / 1.5, rel=1e-7)
    # no Hansen name: the years are those present around the zones (the 2007 pixel is not)
    assert "loss_2007_ha" not in out
    assert row["loss_total_ha"] == pytest.approx(a / 1e4, rel=1e-7)


def test_canopy_is_strictly_greater(tmp_path):
    tc = np.array([[30, 31], [29, 100]], dtype="uint8")
    ly = np.zeros((2, 2), dtype="uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=0.0, y0=0.002, res=0.001)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=0.0, y0=0.002, res=0.001)
    zones = gpd.GeoDataFrame(geometry=[shapely.box(0.0, 0.0, 0.002, 0.002)], crs=4326)
    areas = row_areas(Grid(CRS.from_epsg(4326), 0.0, 0.002, 0.001, -0.001), np.arange(2))
    out30 = forest_loss(zones, treecover=tcp, lossyear=lyp, canopy=30)
    assert out30["forest_2000_ha"].iloc[0] == pytest.approx((areas[0] + areas[1]) / 1e4)
    out29 = forest_loss(zones, treecover=tcp, lossyear=lyp, canopy=29)
    assert out29["forest_2000_ha"].iloc[0] == pytest.approx((2 * areas[0] + areas[1]) / 1e4)


def test_loss_only_on_2000_forest(tmp_path):
    tc = np.array([[10, 90]], dtype="uint8")
    ly = np.array([[3, 0]], dtype="uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=0.0, y0=0.001, res=0.001)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=0.0, y0=0.001, res=0.001)
    zones = gpd.GeoDataFrame(geometry=[shapely.box(0.0, 0.0, 0.002, 0.001)], crs=4326)
    out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    assert out["loss_total_ha"].iloc[0] == 0.0
    assert out["loss_2003_ha"].iloc[0] == 0.0


# --------------------------------------------------------------------------- coverage


def test_zone_off_the_raster_warns_and_reports_coverage(small):
    _, _, tcp, lyp = small
    half = shapely.box(X0 - 0.05, -12.1, X0 + 0.05, -12.0 - 0.0)  # west half off the raster
    away = shapely.box(10.0, 10.0, 10.01, 10.01)
    zones = gpd.GeoDataFrame({"zone_id": ["Z-half", "Z-away"]}, geometry=[half, away], crs=4326)
    with pytest.warns(CoverageWarning, match=r"2 zone.*\(1 wholly\): Z-half, Z-away\."):
        out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    assert out["data_coverage"].iloc[0] == pytest.approx(0.49, abs=1e-4)  # 49 of 100 cells
    assert out["data_coverage"].iloc[1] == 0.0
    assert np.isnan(out["forest_2000_ha"].iloc[1])  # never silently forest-free
    assert out["zone_area_ha"].iloc[1] == pytest.approx(
        abs(GEOD.geometry_area_perimeter(away)[0]) / 1e4, rel=1e-5
    )


def test_nodata_reduces_coverage(tmp_path):
    tc = np.array([[255, 90], [90, 90]], dtype="uint8")
    ly = np.zeros((2, 2), dtype="uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=0.0, y0=0.002, res=0.001)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=0.0, y0=0.002, res=0.001)
    zones = gpd.GeoDataFrame(geometry=[shapely.box(0.0, 0.0, 0.002, 0.002)], crs=4326)
    with pytest.warns(CoverageWarning):
        out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    assert out["data_coverage"].iloc[0] == pytest.approx(0.75, rel=1e-6)
    assert out["forest_2000_ha"].iloc[0] == pytest.approx(
        0.75 * out["zone_area_ha"].iloc[0], rel=1e-6
    )


# --------------------------------------------------------------------------- inputs


def _corner_tiles(folder, tc, ly, gain, res=0.01):
    """Four 10 x 10 tiles around (lon -70, lat 0), named as the Hansen 10-degree tiles holding them."""
    folder.mkdir(exist_ok=True)
    names = {(0, 0): "10N_080W", (0, 1): "10N_070W", (1, 0): "00N_080W", (1, 1): "00N_070W"}
    for (i, j), tag in names.items():
        sl = (slice(10 * i, 10 * i + 10), slice(10 * j, 10 * j + 10))
        x0, y0 = -70.1 + 10 * j * res, 0.1 - 10 * i * res
        for layer, arr in (("treecover2000", tc), ("lossyear", ly), ("gain", gain)):
            write_tif(
                folder / f"Hansen_GFC-2023-v1.11_{layer}_{tag}.tif", arr[sl], x0=x0, y0=y0, res=res
            )
    return names


@pytest.fixture
def mosaic(tmp_path):
    rng = np.random.default_rng(7)
    tc = rng.integers(0, 101, (20, 20)).astype("uint8")
    ly = np.where(rng.random((20, 20)) < 0.3, rng.integers(1, 24, (20, 20)), 0).astype("uint8")
    gain = (rng.random((20, 20)) < 0.2).astype("uint8")
    write_tif(tmp_path / "tc.tif", tc, x0=-70.1, y0=0.1, res=0.01)
    write_tif(tmp_path / "ly.tif", ly, x0=-70.1, y0=0.1, res=0.01)
    write_tif(tmp_path / "gain.tif", gain, x0=-70.1, y0=0.1, res=0.01)
    _corner_tiles(tmp_path / "tiles", tc, ly, gain)
    zones = gpd.GeoDataFrame(
        geometry=geodesic_circles(
            np.array([-70.0, -70.03, -69.96]), np.array([0.0, 0.04, -0.05]), 5000.0
        ),
        crs=4326,
    )
    return tmp_path, zones, gain


def test_tiles_folder_and_list_match_the_mosaic(mosaic):
    tmp, zones, _ = mosaic
    ref = forest_loss(
        zones, treecover=tmp / "tc.tif", lossyear=tmp / "ly.tif", gain=tmp / "gain.tif"
    )
    # a decoy far away with a Hansen name: must not even be opened (it is not a GeoTIFF)
    (tmp / "tiles" / "Hansen_GFC-2023-v1.11_treecover2000_50N_010E.tif").write_text("not a tif")
    folder = forest_loss(zones, treecover=tmp / "tiles", lossyear=tmp / "tiles", gain=tmp / "tiles")
    pd.testing.assert_frame_equal(folder, ref, rtol=1e-9)
    tiles = sorted((tmp / "tiles").glob("*treecover2000_*0W.tif"))
    listed = forest_loss(
        zones,
        treecover=tiles,
        lossyear=[str(t).replace("treecover2000", "lossyear") for t in tiles],
        gain=[str(t).replace("treecover2000", "gain") for t in tiles],
    )
    pd.testing.assert_frame_equal(listed, ref, rtol=1e-9)
    assert ref["gain_ha"].gt(0).all()
    assert ref.filter(like="loss_20").shape[1] == 23  # GFC-2023 has no name here: years present


def test_hansen_year_from_names_sets_the_columns(mosaic):
    tmp, zones, _ = mosaic
    out = forest_loss(zones, treecover=tmp / "tiles", lossyear=tmp / "tiles")
    assert out.columns[4] == "loss_2001_ha"
    assert "loss_2023_ha" in out and "loss_2024_ha" not in out


def test_vrt_mosaic(mosaic):
    tmp, zones, _ = mosaic
    ref = forest_loss(zones, treecover=tmp / "tc.tif", lossyear=tmp / "ly.tif")
    vrts = {}
    for layer in ("treecover2000", "lossyear"):
        srcs = []
        for i, lat in enumerate(("10N", "00N")):
            for j, lon in enumerate(("080W", "070W")):
                f = tmp / "tiles" / f"Hansen_GFC-2023-v1.11_{layer}_{lat}_{lon}.tif"
                srcs.append(
                    f"<SimpleSource><SourceFilename relativeToVRT='0'>{f}</SourceFilename>"
                    "<SourceBand>1</SourceBand>"
                    "<SrcRect xOff='0' yOff='0' xSize='10' ySize='10'/>"
                    f"<DstRect xOff='{10 * j}' yOff='{10 * i}' xSize='10' ySize='10'/></SimpleSource>"
                )
        xml = (
            "<VRTDataset rasterXSize='20' rasterYSize='20'><SRS>EPSG:4326</SRS>"
            "<GeoTransform>-70.1, 0.01, 0, 0.1, 0, -0.01</GeoTransform>"
            "<VRTRasterBand dataType='Byte' band='1'><NoDataValue>255</NoDataValue>"
            + "".join(srcs)
            + "</VRTRasterBand></VRTDataset>"
        )
        vrts[layer] = tmp / f"{layer}.vrt"
        vrts[layer].write_text(xml)
    out = forest_loss(zones, treecover=vrts["treecover2000"], lossyear=vrts["lossyear"])
    pd.testing.assert_frame_equal(out, ref, rtol=1e-9)


def test_projected_raster_against_ellipsoidal_pieces(tmp_path):
    """UTM raster: areas of the forest pieces measured on the ellipsoid, cell by cell."""
    crs = "EPSG:32719"
    res = 500.0
    x0, y0 = 300_000.0, 8_700_000.0
    rng = np.random.default_rng(3)
    tc = rng.integers(0, 101, (16, 16)).astype("uint8")
    ly = np.where(rng.random((16, 16)) < 0.3, 4, 0).astype("uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=x0, y0=y0, res=res, crs=crs)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=x0, y0=y0, res=res, crs=crs)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_ll.transform(x0 + 4000.0, y0 - 4000.0)
    zones = gpd.GeoDataFrame(
        geometry=geodesic_circles(np.array([lon]), np.array([lat]), 2500.0), crs=4326
    )
    out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    zone_utm = zones.to_crs(crs).geometry.iloc[0]
    forest = 0.0
    loss = 0.0
    for r in range(16):
        for c in range(16):
            cell = shapely.box(x0 + c * res, y0 - (r + 1) * res, x0 + (c + 1) * res, y0 - r * res)
            piece = cell.intersection(zone_utm)
            if piece.is_empty or tc[r, c] <= 30:
                continue
            piece_ll = shapely.transform(
                shapely.segmentize(piece, 50.0),
                lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])),
            )
            a = abs(GEOD.geometry_area_perimeter(piece_ll)[0])
            forest += a
            loss += a if ly[r, c] else 0.0
    assert out["forest_2000_ha"].iloc[0] == pytest.approx(forest / 1e4, rel=2e-4)
    assert out["loss_2004_ha"].iloc[0] == pytest.approx(loss / 1e4, rel=2e-4)


def test_calendar_year_int16_lossyear(tmp_path, small):
    _, ly, tcp, lyp = small
    ly16 = np.where(ly == 255, -1, np.where(ly > 0, 2000 + ly.astype("int16"), 0)).astype("int16")
    lyp16 = write_tif(tmp_path / "ly16.tif", ly16, x0=X0, y0=Y0, res=RES, nodata=-1)
    zones = zones_small().iloc[:2]
    a = forest_loss(zones, treecover=tcp, lossyear=lyp)
    b = forest_loss(zones, treecover=tcp, lossyear=lyp16)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- errors


def test_errors(small, tmp_path):
    _, _, tcp, lyp = small
    zones = zones_small()
    with pytest.raises(InputError, match="coverage rule"):
        forest_loss(zones, treecover=tcp, lossyear=lyp, coverage="centre")
    with pytest.raises(InputError, match="canopy"):
        forest_loss(zones, treecover=tcp, lossyear=lyp, canopy=100)
    with pytest.raises(CRSError, match="no CRS"):
        forest_loss(zones.set_crs(None, allow_override=True), treecover=tcp, lossyear=lyp)
    with pytest.raises(InputError, match="buffer points first"):
        forest_loss(
            gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326), treecover=tcp, lossyear=lyp
        )
    other = write_tif(tmp_path / "other.tif", np.zeros((4, 4), "uint8"), x0=X0, y0=Y0, res=0.02)
    with pytest.raises(RasterError, match="share one grid"):
        forest_loss(zones, treecover=tcp, lossyear=other)
    with pytest.raises(OSError, match="does not exist"):
        forest_loss(zones, treecover=tmp_path / "nope.tif", lossyear=lyp)


# --------------------------------------------------------------------------- properties


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lon=st.floats(-69.99, -69.81),
    lat=st.floats(-12.19, -12.01),
    radius=st.floats(50.0, 9000.0),
)
def test_invariants(small, lon, lat, radius):
    _, _, tcp, lyp = small
    # the zone under test, and one that surely has data: a run where no zone has any is
    # refused (RasterError), and a tiny zone may lie wholly on a nodata pixel
    zones = gpd.GeoDataFrame(
        geometry=[
            geodesic_circles(np.array([lon]), np.array([lat]), radius, n_vertices=24)[0],
            geodesic_circles(np.array([-69.9]), np.array([-12.1]), 2000.0, n_vertices=24)[0],
        ],
        crs=4326,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        ex = forest_loss(zones, treecover=tcp, lossyear=lyp).iloc[0]
        ce = forest_loss(zones, treecover=tcp, lossyear=lyp, coverage="center").iloc[0]
    if ce["zone_area_ha"] == 0:  # a zone smaller than a pixel may hold no pixel centre
        assert np.isnan(ce["data_coverage"]) and np.isnan(ce["forest_2000_ha"])
    for r in (ex, ce) if ce["zone_area_ha"] > 0 else (ex,):
        if r["data_coverage"] == 0:  # wholly on nodata pixels (tc[0, 0], ly[5, 5]): NaN
            assert np.isnan(r["forest_2000_ha"]) and np.isnan(r["loss_total_ha"])
            continue
        assert r["forest_2000_ha"] <= r["zone_area_ha"] * r["data_coverage"] * (1 + 1e-9) + 1e-12
        years = r.filter(like="loss_20").sum()
        assert years == pytest.approx(r["loss_total_ha"], rel=1e-9, abs=1e-12)
        assert r["loss_total_ha"] <= r["forest_2000_ha"] * (1 + 1e-9) + 1e-12
    # exact and centre differ by at most the area of the cells the boundary crosses
    coords = shapely.get_coordinates(zones.geometry.iloc[0]) / RES
    crossed = np.abs(np.diff(coords, axis=0)).sum() + 4 * len(coords)
    cell_ha = cell_area_geod(X0, -12.0, RES) / 1e4
    ex_forest, ce_forest = (np.nan_to_num(r["forest_2000_ha"]) for r in (ex, ce))
    assert abs(ex_forest - ce_forest) <= crossed * cell_ha


# --------------------------------------------------------------------------- exactextract


def test_against_exactextract_on_the_sample(samples):
    from exactextract import exact_extract

    tcp, lyp = samples / "treecover2000.tif", samples / "lossyear.tif"
    with rasterio.open(tcp) as ds:
        b = ds.bounds
        tc = ds.read(1)
        transform = ds.transform
    with rasterio.open(lyp) as ds:
        ly = ds.read(1)
    rng = np.random.default_rng(5)
    lon = rng.uniform(b.left + 0.05, b.right - 0.05, 12)
    lat = rng.uniform(b.bottom + 0.05, b.top - 0.05, 12)
    zones = gpd.GeoDataFrame(
        geometry=geodesic_circles(lon, lat, rng.uniform(300, 4000, 12)), crs=4326
    )
    out = forest_loss(zones, treecover=tcp, lossyear=lyp)
    ee = exact_extract(str(tcp), zones, ["cell_id", "coverage"], output="pandas")
    w = tc.shape[1]
    for i, row in ee.iterrows():
        cells = np.asarray(row["cell_id"], dtype=np.int64)
        frac = np.asarray(row["coverage"])
        r, c = cells // w, cells % w
        lat_top = transform.f + r * transform.e
        area = np.array([cell_area_geod(transform.c, lt, transform.a) for lt in np.unique(lat_top)])
        area = area[np.searchsorted(np.unique(lat_top), lat_top)]
        forest = (tc[r, c] > 30) & (tc[r, c] != 255) & (ly[r, c] != 255)
        assert out["forest_2000_ha"].iloc[i] == pytest.approx(
            (frac * area * forest).sum() / 1e4, rel=1e-6
        )
        lossm = forest & (ly[r, c] > 0)
        assert out["loss_total_ha"].iloc[i] == pytest.approx(
            (frac * area * lossm).sum() / 1e4, rel=1e-6, abs=1e-9
        )


def test_raster_stats_against_exactextract(samples):
    from exactextract import exact_extract

    tcp = samples / "treecover2000.tif"
    with rasterio.open(tcp) as ds:
        b = ds.bounds
    rng = np.random.default_rng(9)
    lon = rng.uniform(b.left + 0.05, b.right - 0.05, 8)
    lat = rng.uniform(b.bottom + 0.05, b.top - 0.05, 8)
    zones = gpd.GeoDataFrame(geometry=geodesic_circles(lon, lat, 1500.0), crs=4326)
    out = raster_stats(zones, tcp, stats=("count", "sum", "min", "max", "mean", "area_ha"))
    ee = exact_extract(str(tcp), zones, ["count", "sum", "min", "max", "mean"], output="pandas")
    for s in ("count", "sum", "min", "max"):
        np.testing.assert_allclose(out[s], ee[s], rtol=1e-6)
    # area-weighted mean differs from exactextract's unweighted mean only by the latitude gradient
    np.testing.assert_allclose(out["mean"], ee["mean"], rtol=1e-4)
    cat = raster_stats(zones, tcp, categorical=True, stats=("majority",))
    classes = cat.filter(like="class_")
    np.testing.assert_allclose(classes.sum(axis=1), out["area_ha"], rtol=1e-9)


def test_raster_stats_vocabulary(small):
    _, _, tcp, _ = small
    zones = zones_small()
    with pytest.raises(InputError, match="valid ones are: count, area_ha"):
        raster_stats(zones, tcp, stats=("mena",))
    with pytest.raises(InputError, match="categorical=True"):
        raster_stats(zones, tcp, stats=("majority",))


def test_raster_stats_min_max_brute_force(small):
    tc, _, tcp, _ = small
    zones = zones_small()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        out = raster_stats(zones, tcp, stats=("min", "max"))
    for key, zone in zip(zones.index, zones.geometry, strict=True):
        vals = [
            tc[r, c]
            for r in range(20)
            for c in range(20)
            if tc[r, c] != 255
            and shapely.box(X0 + c * RES, Y0 - (r + 1) * RES, X0 + (c + 1) * RES, Y0 - r * RES)
            .intersection(zone)
            .area
            > 0
        ]
        assert out.loc[key, "min"] == min(vals)
        assert out.loc[key, "max"] == max(vals)


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_realdata_mapme_sierra_de_neiba(realdata):
    folder = realdata / "mapme_dom_sierra_neiba"
    if not folder.is_dir():
        pytest.skip("mapme_dom_sierra_neiba is absent")
    aoi = gpd.read_file(folder / "gfw_sample.gpkg")
    tcp = folder / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"
    lyp = folder / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"
    # mapme: cover >= 10 % (canopy > 9 on integer percent), patches < 1 ha removed
    out = forest_loss(aoi, treecover=tcp, lossyear=lyp, canopy=9)
    row = out.iloc[0]
    mapme = [2057.330, 2056.816, 2055.127, 2021.265, 2011.870, 2007.594]
    assert row["data_coverage"] == pytest.approx(1.0, abs=1e-6)
    # mapme (exactextractr) measures cells on a sphere of radius 6378137 m: convert ours
    lat = math.radians(18.66)
    d = math.radians(0.00025)
    sphere = d * 6378137.0**2 * (math.sin(lat) - math.sin(lat - d))
    ratio = sphere / cell_area_geod(-71.7, 18.66, 0.00025)
    assert ratio == pytest.approx(1.00536, abs=1e-4)  # the ellipsoid is 0.5 % smaller here
    # mapme also drops forest patches under 1 ha: our forest is at least theirs, within 0.5 %
    assert mapme[0] <= row["forest_2000_ha"] * ratio <= mapme[0] * 1.005
    # yearly loss 2001-2004 (little touched by the patch filter) agrees to 0.1 %
    loss = [row[f"loss_{y}_ha"] * ratio for y in range(2001, 2005)]
    np.testing.assert_allclose(loss, -np.diff(mapme)[:4], rtol=1e-3)
    assert row.filter(like="loss_20").shape[0] == 23  # GFC-2023: 2001-2023
    # the park polygon is much larger than the clip: reported, with a warning
    park = gpd.read_file(folder / "sierra_de_neiba_478140.gpkg")
    with pytest.warns(CoverageWarning):
        pk = forest_loss(park, treecover=tcp, lossyear=lyp)
    assert 0 < pk["data_coverage"].iloc[0] < 0.5
    assert pk["zone_area_ha"].iloc[0] == pytest.approx(18352.24, rel=0.005)
    center = forest_loss(aoi, treecover=tcp, lossyear=lyp, canopy=9, coverage="center")
    assert math.isclose(center["forest_2000_ha"].iloc[0], row["forest_2000_ha"], rel_tol=0.01)


def test_tiled_and_stripped_layouts_agree(tmp_path):
    """Chunking follows the file's blocks; the result must not depend on them."""
    rng = np.random.default_rng(11)
    tc = rng.integers(0, 101, (600, 700)).astype("uint8")
    ly = np.where(rng.random((600, 700)) < 0.2, rng.integers(1, 24, (600, 700)), 0).astype("uint8")
    res = 0.00025
    paths = {}
    for tiled in (False, True):
        paths[tiled] = [
            write_tif(tmp_path / f"{n}_{tiled}.tif", a, x0=10.0, y0=5.0, res=res, tiled=tiled)
            for n, a in (("tc", tc), ("ly", ly))
        ]
    lon = 10.0 + rng.uniform(0.02, 0.155, 30)
    lat = 5.0 - rng.uniform(0.02, 0.13, 30)
    zones = gpd.GeoDataFrame(geometry=geodesic_circles(lon, lat, 1500.0), crs=4326)
    a = forest_loss(zones, treecover=paths[False][0], lossyear=paths[False][1])
    b = forest_loss(zones, treecover=paths[True][0], lossyear=paths[True][1])
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    # and the centre rule against rasterio's own centre-rule mask
    from rasterio.features import geometry_mask

    c = forest_loss(zones, treecover=paths[True][0], lossyear=paths[True][1], coverage="center")
    areas = row_areas(Grid(CRS.from_epsg(4326), 10.0, 5.0, res, -res), np.arange(600))
    transform = from_origin(10.0, 5.0, res, res)
    for i, g in enumerate(zones.geometry[:5]):
        inside = ~geometry_mask([g], tc.shape, transform)
        forest = (inside & (tc > 30)) * areas[:, None]
        assert c["forest_2000_ha"].iloc[i] == pytest.approx(forest.sum() / 1e4, rel=1e-9)


def test_window_wider_than_the_packed_limit_is_split(tmp_path):
    """A band wider than MAX_PIXELS / band columns is read in vertical pieces (clipped zones)."""
    from exactextract import exact_extract
    from rasterio.features import geometry_mask

    rng = np.random.default_rng(3)
    h, w, res = 12, 9000, 0.001
    tc = rng.integers(0, 101, (h, w)).astype("uint8")
    ly = np.where(rng.random((h, w)) < 0.3, rng.integers(1, 24, (h, w)), 0).astype("uint8")
    tcp = write_tif(tmp_path / "tc.tif", tc, x0=0.0, y0=0.0, res=res)
    lyp = write_tif(tmp_path / "ly.tif", ly, x0=0.0, y0=0.0, res=res)
    wide = shapely.Polygon(
        [(0.0505, -0.0005), (8.95, -0.0021), (8.9, -0.0115), (0.1003, -0.0102)],
        holes=[[(8.2, -0.0031), (8.25, -0.0083), (8.3, -0.0042)]],
    )
    # both zones straddle the split (8191 columns right of the window's first column)
    small_zone = shapely.box(8.2304, -0.0087, 8.2506, -0.0021)
    zones = gpd.GeoDataFrame(geometry=[wide, small_zone], crs=4326)
    exact = forest_loss(zones, treecover=tcp, lossyear=lyp)
    center = forest_loss(zones, treecover=tcp, lossyear=lyp, coverage="center")
    transform = from_origin(0.0, 0.0, res, res)
    areas = np.array([cell_area_geod(0.0, -r * res, res) for r in range(h)])
    forest = tc > 30
    loss = forest & (ly > 0)
    ee = exact_extract(str(tcp), zones, ["cell_id", "coverage"], output="pandas")
    for i, row in ee.iterrows():
        cells = np.asarray(row["cell_id"], dtype=np.int64)
        r, c = cells // w, cells % w
        fa = np.asarray(row["coverage"]) * areas[r]  # (exactextract's fractions are float32)
        assert exact["zone_area_ha"].iloc[i] == pytest.approx(fa.sum() / 1e4, rel=1e-6)
        assert exact["forest_2000_ha"].iloc[i] == pytest.approx(
            (fa * forest[r, c]).sum() / 1e4, rel=1e-6
        )
        assert exact["loss_total_ha"].iloc[i] == pytest.approx(
            (fa * loss[r, c]).sum() / 1e4, rel=1e-6
        )
    for i, g in enumerate(zones.geometry):
        inside = ~geometry_mask([g], tc.shape, transform) * areas[:, None]
        assert center["zone_area_ha"].iloc[i] == pytest.approx(inside.sum() / 1e4, rel=1e-9)
        assert center["forest_2000_ha"].iloc[i] == pytest.approx(
            (inside * forest).sum() / 1e4, rel=1e-9
        )
        assert center["loss_total_ha"].iloc[i] == pytest.approx(
            (inside * loss).sum() / 1e4, rel=1e-9
        )
