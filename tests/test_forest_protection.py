"""Protection over time in forest_loss: loss inside areas already designated, and outside.

Expected values come from pyproj.Geod pixel areas and brute force over every pixel
(shapely intersection areas for exact coverage, rasterio's rasteriser for centre coverage),
never from asm_pace's own coverage machinery.
"""

from __future__ import annotations

import itertools
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Geod, Transformer
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from shapely.geometry import box

from asm_pace.errors import CRSError, ExtentWarning, InputError, NoCRSWarning, SchemaError
from asm_pace.forest import forest_loss
from asm_pace.pipeline import forest_loss_long

X0, Y0, RES, N = 10.0, 0.01, 0.001, 20  # lon 10..10.02, lat -0.01..0.01
TRANSFORM = from_origin(X0, Y0, RES, RES)
ZONE = box(X0 + 2 * RES, Y0 - 18 * RES, X0 + 18 * RES, Y0 - 2 * RES)  # columns and rows 2..17
WEST = box(9.9, -0.1, X0 + 10 * RES, 0.1)  # the zone's columns 2..9
EAST = box(X0 + 10 * RES, -0.1, 10.1, 0.1)
GEOD = Geod(ellps="WGS84")


def _write(path, arr, nodata=None):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=N,
        width=N,
        count=1,
        dtype=arr.dtype.name,
        crs="EPSG:4326",
        transform=TRANSFORM,
        nodata=nodata,
        compress="lzw",
    ) as ds:
        ds.write(arr, 1)
    return path


@pytest.fixture(scope="module")
def hand_rasters(tmp_path_factory):
    """Tree cover 80 everywhere; loss in 2005 in rows 4-7, in 2015 in rows 12-15."""
    folder = tmp_path_factory.mktemp("protection")
    ly = np.zeros((N, N), "uint8")
    ly[4:8] = 5
    ly[12:16] = 15
    return {
        "treecover": _write(folder / "tc.tif", np.full((N, N), 80, "uint8")),
        "lossyear": _write(folder / "ly.tif", ly),
    }


def _row_ha(row: int) -> float:
    """Area (ha) of one pixel of ``row``, by pyproj.Geod."""
    top = Y0 - row * RES
    lons = [X0, X0 + RES, X0 + RES, X0]
    lats = [top, top, top - RES, top - RES]
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e4


def _pixels_ha(rows: range, ncols: int) -> float:
    return sum(_row_ha(r) for r in rows) * ncols


def _pas(geoms, years, crs="EPSG:4326"):
    return gpd.GeoDataFrame(
        {
            "pa_id": [f"P{i}" for i in range(len(geoms))],
            "status_year": pd.array(years, dtype="Int64"),
        },
        geometry=list(geoms),
        crs=crs,
    )


def _zones(*geoms):
    return gpd.GeoDataFrame(
        {"zone_id": [f"Z{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=4326
    )


def _assert_parts_add_up(out: pd.DataFrame) -> None:
    years = [c[5:9] for c in out.columns if c.endswith("_outside_pa_ha") and c[5:9].isdigit()]
    assert years
    for y in years:
        parts = (
            out[f"loss_{y}_in_pa_ha"]
            + out[f"loss_{y}_in_pa_unknown_year_ha"]
            + out[f"loss_{y}_outside_pa_ha"]
        )
        np.testing.assert_allclose(parts, out[f"loss_{y}_ha"], rtol=1e-9, atol=1e-9)
    for part in ("in_pa", "in_pa_unknown_year", "outside_pa"):
        total = out[[f"loss_{y}_{part}_ha" for y in years]].sum(axis=1)
        np.testing.assert_allclose(out[f"loss_total_{part}_ha"], total, rtol=1e-12)


# West half (8 of 16 columns) inside the park; 2005 loss in rows 4-7, 2015 in rows 12-15.
LOSS_2005_HALF = _pixels_ha(range(4, 8), 8)
LOSS_2015_HALF = _pixels_ha(range(12, 16), 8)


@pytest.mark.parametrize(
    ("status_year", "in_2005", "in_2015"),
    [
        (2004, True, True),
        (2005, False, True),  # loss in the designation year itself counts outside
        (2010, False, True),
        (2014, False, True),
        (2015, False, False),
        (1990, True, True),
    ],
)
def test_loss_counts_inside_only_after_the_designation_year(
    hand_rasters, status_year, in_2005, in_2015
):
    out = forest_loss(_zones(ZONE), **hand_rasters, protected_areas=_pas([WEST], [status_year]))
    row = out.iloc[0]
    expected_total_2005 = _pixels_ha(range(4, 8), 16)
    assert row["loss_2005_ha"] == pytest.approx(expected_total_2005, rel=1e-9)
    assert row["loss_2005_in_pa_ha"] == pytest.approx(LOSS_2005_HALF * in_2005, rel=1e-9, abs=1e-9)
    assert row["loss_2015_in_pa_ha"] == pytest.approx(LOSS_2015_HALF * in_2015, rel=1e-9, abs=1e-9)
    assert row["loss_2015_outside_pa_ha"] == pytest.approx(LOSS_2015_HALF * (2 - in_2015), rel=1e-9)
    assert row["loss_2010_in_pa_ha"] == 0.0 and row["loss_2010_outside_pa_ha"] == 0.0
    assert row["loss_total_in_pa_unknown_year_ha"] == 0.0
    _assert_parts_add_up(out)


def test_unknown_years_are_reported_apart_and_never_as_designated(hand_rasters):
    # the known park (2010) covers columns 2-11, the unknown-year one columns 8-17
    known = box(9.9, -0.1, X0 + 12 * RES, 0.1)
    unknown = box(X0 + 8 * RES, -0.1, 10.1, 0.1)
    out = forest_loss(
        _zones(ZONE), **hand_rasters, protected_areas=_pas([known, unknown], [2010, None])
    )
    row = out.iloc[0]
    # 2005: the 2010 park is not yet designated: the unknown-year park's columns 8-17
    assert row["loss_2005_in_pa_ha"] == 0.0
    assert row["loss_2005_in_pa_unknown_year_ha"] == pytest.approx(
        _pixels_ha(range(4, 8), 10), rel=1e-9
    )
    assert row["loss_2005_outside_pa_ha"] == pytest.approx(_pixels_ha(range(4, 8), 6), rel=1e-9)
    # 2015: columns 2-11 inside the park, 12-17 only in the unknown-year one
    assert row["loss_2015_in_pa_ha"] == pytest.approx(_pixels_ha(range(12, 16), 10), rel=1e-9)
    assert row["loss_2015_in_pa_unknown_year_ha"] == pytest.approx(
        _pixels_ha(range(12, 16), 6), rel=1e-9
    )
    assert row["loss_2015_outside_pa_ha"] == pytest.approx(0.0, abs=1e-9)
    _assert_parts_add_up(out)


def test_without_protected_areas_the_columns_are_todays(hand_rasters):
    plain = forest_loss(_zones(ZONE), **hand_rasters)
    with_pas = forest_loss(_zones(ZONE), **hand_rasters, protected_areas=_pas([WEST], [2010]))
    assert not [c for c in plain.columns if "_pa_" in c]
    pd.testing.assert_frame_equal(with_pas[plain.columns], plain)


def test_an_empty_layer_or_parks_elsewhere_leave_all_loss_outside(hand_rasters):
    far = box(50, 50, 51, 51)
    for pas in (_pas([], []), _pas([far], [2001])):
        out = forest_loss(_zones(ZONE), **hand_rasters, protected_areas=pas)
        assert out["loss_total_in_pa_ha"].iloc[0] == 0.0
        assert out["loss_total_outside_pa_ha"].iloc[0] == pytest.approx(
            out["loss_total_ha"].iloc[0], rel=1e-12
        )


def test_protected_areas_in_a_projected_crs(hand_rasters):
    projected = _pas([WEST, EAST], [2010, 2012]).to_crs("EPSG:32632")
    out = forest_loss(_zones(ZONE), **hand_rasters, protected_areas=projected).iloc[0]
    assert out["loss_2015_in_pa_ha"] == pytest.approx(2 * LOSS_2015_HALF, rel=1e-6)
    assert out["loss_2005_in_pa_ha"] == pytest.approx(0.0, abs=1e-6)


def test_centre_rule_on_a_projected_raster(tmp_path):
    """UTM rasters, a park in lon/lat whose edge runs between two columns of pixel centres:
    loss of the zone's cells west of it counts inside, by ellipsoidal areas cell by cell."""
    crs, res, x0, y0 = "EPSG:32719", 500.0, 300_000.0, 8_700_000.0
    rng = np.random.default_rng(7)
    tc = rng.integers(0, 101, (16, 16)).astype("uint8")
    ly = np.where(rng.random((16, 16)) < 0.4, 4, 0).astype("uint8")
    paths = {}
    for name, arr in (("treecover", tc), ("lossyear", ly)):
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(
            paths[name], "w", driver="GTiff", height=16, width=16, count=1, dtype="uint8",
            crs=crs, transform=from_origin(x0, y0, res, res), compress="deflate",
        ) as ds:  # fmt: skip
            ds.write(arr, 1)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    west_utm = box(x0 - 5000.0, y0 - 20_000.0, x0 + 8 * res, y0 + 5000.0)  # columns 0-7

    def lonlat(geom):
        return shapely.transform(
            shapely.segmentize(geom, 50.0),
            lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])),
        )

    zone_utm = box(x0 + 1200.0, y0 - 6300.0, x0 + 6600.0, y0 - 1100.0)
    zones = _zones(lonlat(zone_utm))
    out = forest_loss(zones, **paths, protected_areas=_pas([lonlat(west_utm)], [2000])).iloc[0]
    inside = outside = 0.0
    for r, c in itertools.product(range(16), range(16)):
        cell = box(x0 + c * res, y0 - (r + 1) * res, x0 + (c + 1) * res, y0 - r * res)
        piece = cell.intersection(zone_utm)
        if piece.is_empty or tc[r, c] <= 30 or not ly[r, c]:
            continue
        ha = abs(GEOD.geometry_area_perimeter(lonlat(piece))[0]) / 1e4
        if c < 8:
            inside += ha
        else:
            outside += ha
    assert inside > 0 and outside > 0
    assert out["loss_2004_in_pa_ha"] == pytest.approx(inside, rel=2e-4)
    assert out["loss_2004_outside_pa_ha"] == pytest.approx(outside, rel=2e-4)
    assert out["loss_2004_in_pa_unknown_year_ha"] == 0.0


def test_a_rule_that_is_not_one_is_refused(hand_rasters):
    with pytest.raises(InputError, match=r"pa_coverage='centre' is not a coverage rule.*'center'"):
        forest_loss(
            _zones(ZONE), **hand_rasters, protected_areas=_pas([WEST], [2010]), pa_coverage="centre"
        )


# --------------------------------------------------------------------------- brute force


def _brute_force(lossyear, forest, zone, pas, coverage, pa_coverage):
    """Loss per year inside designated areas, unknown-year ones and outside, pixel by pixel:
    the zone weighted by ``coverage``; the areas by ``pa_coverage`` (exact: the fraction
    of the pixel in zone & areas; center: the zone's weight where the pixel's centre is in
    the areas, by rasterio's rasteriser)."""
    rows, cols = np.mgrid[0:N, 0:N]
    cells = shapely.box(
        X0 + cols * RES, Y0 - (rows + 1) * RES, X0 + (cols + 1) * RES, Y0 - rows * RES
    ).ravel()
    area = np.array([_row_ha(r) for r in range(N)])[rows].ravel()

    def centre(geom):
        if geom.is_empty:
            return np.zeros(N * N)
        return (~geometry_mask([geom], (N, N), TRANSFORM)).ravel().astype(float)

    def weight(geom):
        if coverage == "exact":
            return shapely.area(shapely.intersection(cells, geom)) / RES**2
        return centre(geom)

    unknown = shapely.union_all(pas.geometry[pas["status_year"].isna()].values)
    out = {}
    for year in range(2001, int(lossyear.max()) + 2001):
        lost = ((lossyear == year - 2000) & forest).ravel() * area
        designated = shapely.union_all(
            pas.geometry[(pas["status_year"] < year).fillna(False)].values
        )
        if pa_coverage == "exact":
            weights = [
                weight(zone.intersection(designated)),
                weight(zone.intersection(unknown).difference(designated)),
                weight(zone.difference(designated).difference(unknown)),
            ]
        else:
            z, d, u = weight(zone), centre(designated), centre(unknown)
            weights = [z * d, z * u * (1 - d), z * (1 - d) * (1 - u)]
        out[year] = [float((w * lost).sum()) for w in weights]
    return out


@pytest.mark.parametrize(
    ("seed", "coverage", "pa_coverage"),
    [
        (1, "exact", "exact"),
        (2, "exact", "exact"),
        (3, "center", "exact"),
        (4, "exact", "center"),
        (5, "exact", "center"),
        (6, "center", "center"),
    ],
)
def test_matches_brute_force_on_random_parks(tmp_path, seed, coverage, pa_coverage):
    rng = np.random.default_rng(seed)
    tc = rng.integers(0, 101, (N, N)).astype("uint8")
    ly = rng.integers(0, 21, (N, N)).astype("uint8")
    rasters = {
        "treecover": _write(tmp_path / "tc.tif", tc),
        "lossyear": _write(tmp_path / "ly.tif", ly),
    }
    centres = rng.uniform([X0, Y0 - N * RES], [X0 + N * RES, Y0], (6, 2))
    geoms = shapely.buffer(shapely.points(centres), rng.uniform(0.002, 0.008, 6), quad_segs=5)
    years = [None, 2003, 2003, 2008, 2012, None][: len(geoms)]
    pas = _pas(geoms, years)
    zones = _zones(
        shapely.Point(X0 + 0.008, Y0 - 0.009).buffer(0.0071, quad_segs=6),
        box(X0 + 0.0043, Y0 - 0.0177, X0 + 0.0161, Y0 - 0.0031),
    )
    out = forest_loss(
        zones, **rasters, protected_areas=pas, coverage=coverage, pa_coverage=pa_coverage
    )
    _assert_parts_add_up(out)
    for z in range(len(zones)):
        expected = _brute_force(ly, tc > 30, zones.geometry[z], pas, coverage, pa_coverage)
        for year, (in_pa, unk, outside) in expected.items():
            got = out.iloc[z][
                [
                    f"loss_{year}_in_pa_ha",
                    f"loss_{year}_in_pa_unknown_year_ha",
                    f"loss_{year}_outside_pa_ha",
                ]
            ].to_numpy(float)
            np.testing.assert_allclose(got, [in_pa, unk, outside], rtol=1e-6, atol=1e-6)


def test_windows_with_different_loss_years_add_up(tmp_path):
    """Two zones apart read in two windows, the first with loss in 2003 only, the second up
    to 2018 (more codes): each year's split is the brute force's, by both rules."""
    rng = np.random.default_rng(8)
    tc = rng.integers(0, 101, (N, N)).astype("uint8")
    ly = np.zeros((N, N), "uint8")
    ly[:, :10] = np.where(rng.random((N, 10)) < 0.5, 3, 0)
    ly[:, 10:] = rng.integers(0, 19, (N, 10))
    rasters = {
        "treecover": _write(tmp_path / "tc.tif", tc),
        "lossyear": _write(tmp_path / "ly.tif", ly),
    }
    pas = _pas(
        [box(X0, Y0 - 0.02, X0 + 0.0056, Y0), box(X0 + 0.0123, Y0 - 0.013, X0 + 0.02, Y0)],
        [2001, None],
    )
    zones = _zones(
        box(X0 + 0.0013, Y0 - 0.0187, X0 + 0.0087, Y0 - 0.0011),
        box(X0 + 0.0112, Y0 - 0.0176, X0 + 0.0189, Y0 - 0.0023),
    )
    for pa_coverage in ("center", "exact"):
        out = forest_loss(zones, **rasters, protected_areas=pas, pa_coverage=pa_coverage)
        _assert_parts_add_up(out)
        for z in range(len(zones)):
            expected = _brute_force(ly, tc > 30, zones.geometry[z], pas, "exact", pa_coverage)
            for year, values in expected.items():
                got = out.iloc[z][
                    [
                        f"loss_{year}_{part}_ha"
                        for part in ("in_pa", "in_pa_unknown_year", "outside_pa")
                    ]
                ].to_numpy(float)
                np.testing.assert_allclose(got, values, rtol=1e-6, atol=1e-6)
        assert out["loss_2018_in_pa_unknown_year_ha"].iloc[1] > 0
        assert out["loss_2003_in_pa_ha"].iloc[0] > 0


# --------------------------------------------------------------------------- trust


@pytest.mark.parametrize("value", [0, 999, 2090])
def test_a_status_year_that_is_not_a_past_year_is_refused(hand_rasters, value):
    pas = _pas([WEST, EAST], [2010, value])
    pas.attrs["source"] = "parks.gpkg"
    with pytest.raises(InputError, match=rf"parks\.gpkg: status_year.*P1 \({value}\).*<NA>"):
        forest_loss(_zones(ZONE), **hand_rasters, protected_areas=pas)


def test_a_layer_without_status_year_points_or_no_crs_is_refused(hand_rasters):
    zones = _zones(ZONE)
    no_year = _pas([WEST], [2010]).drop(columns="status_year")
    with pytest.raises(SchemaError, match=r"status_year.*read_protected_areas"):
        forest_loss(zones, **hand_rasters, protected_areas=no_year)
    points = _pas([shapely.Point(10.005, 0.0)], [2010])
    with pytest.raises(InputError, match="rows 1 are not polygons"):
        forest_loss(zones, **hand_rasters, protected_areas=points)
    with pytest.raises(InputError, match="GeoDataFrame"):
        forest_loss(zones, **hand_rasters, protected_areas=pd.DataFrame({"status_year": [1]}))
    no_crs = _pas([WEST], [2010]).set_crs(None, allow_override=True)
    with pytest.warns(NoCRSWarning, match="<protected areas>.*read as EPSG:4326"):
        forest_loss(zones, **hand_rasters, protected_areas=no_crs)  # the project's CRS policy
    far_off = _pas([box(5e5, 0, 6e5, 1e5)], [2010]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        forest_loss(zones, **hand_rasters, protected_areas=far_off)


def test_zones_past_the_box_the_parks_were_read_for_warn(hand_rasters):
    pas = _pas([WEST], [2010])
    pas.attrs["bbox"] = (9.0, -1.0, X0 + 0.005, 1.0)
    with pytest.warns(ExtentWarning, match=r"loss_YYYY_in_pa_ha is a lower bound"):
        forest_loss(_zones(ZONE), **hand_rasters, protected_areas=pas)
    pas.attrs["bbox"] = (9.0, -1.0, 11.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtentWarning)
        forest_loss(_zones(ZONE), **hand_rasters, protected_areas=pas)


# --------------------------------------------------------------------------- the long table


def test_the_long_table_carries_the_split(hand_rasters):
    zones = _zones(ZONE, box(X0 + 0.011, Y0 - 0.019, X0 + 0.019, Y0 - 0.011))
    zones["site_id"], zones["radius_km"] = ["A", "B"], [1.0, 1.0]
    stats = forest_loss(zones, **hand_rasters, protected_areas=_pas([WEST], [2010]))
    long = forest_loss_long(zones.join(stats.drop(columns="zone_id", errors="ignore")))
    assert list(long.columns) == [
        "zone_id",
        "site_id",
        "radius_km",
        "year",
        "loss_ha",
        "in_pa_ha",
        "in_pa_unknown_year_ha",
        "outside_pa_ha",
    ]
    years = sorted({int(c[5:9]) for c in stats.columns if c[5:9].isdigit()})
    assert list(long["year"]) == years * 2 and list(long["zone_id"]) == ["A_1km"] * len(years) + [
        "B_1km"
    ] * len(years)
    a = long[long["zone_id"] == "A_1km"].set_index("year")
    assert a.loc[2015, "in_pa_ha"] == pytest.approx(LOSS_2015_HALF, rel=1e-9)
    assert a.loc[2005, "outside_pa_ha"] == pytest.approx(2 * LOSS_2005_HALF, rel=1e-9)
    parts = long[["in_pa_ha", "in_pa_unknown_year_ha", "outside_pa_ha"]].sum(axis=1)
    np.testing.assert_allclose(parts, long["loss_ha"], rtol=1e-9, atol=1e-9)
    # zone B lies east of the park: all its loss is outside
    b = long[long["zone_id"] == "B_1km"]
    assert (b["in_pa_ha"] == 0).all() and b["loss_ha"].sum() > 0
    # without the split, the table is today's
    plain = forest_loss_long(zones.join(stats[[c for c in stats.columns if "_pa_" not in c]]))
    assert list(plain.columns) == ["zone_id", "site_id", "radius_km", "year", "loss_ha"]
    pd.testing.assert_series_equal(plain["loss_ha"], long["loss_ha"])


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_realdata_wdpa_status_years_on_a_gfc_clip(realdata):
    """Two real WDPA reserves (STATUS_YR 2014) on mapme's uint16 GFC clip: loss up to 2014 is
    outside, from 2015 inside where a reserve covers the pixel centre (brute force with
    rasterio's rasteriser and pyproj.Geod pixel areas)."""
    import asm_pace

    folder = realdata / "mapme_vnm_wdpa_gfc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's notes on the WDPA fields
        pas = asm_pace.read_protected_areas(folder / "wdpa_vnm_phongdien_dakrong.gpkg")
    assert pas["status_year"].tolist() == [2014, 2014]
    zone = gpd.read_file(folder / "aoi_extent.gpkg")
    tc, ly = folder / "gfc_treecover2000_clip.tif", folder / "gfc_lossyear_clip.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asm_pace.errors.CoverageWarning)
        out = forest_loss(zone, treecover=tc, lossyear=ly, protected_areas=pas, coverage="center")
    _assert_parts_add_up(out)
    with rasterio.open(tc) as a, rasterio.open(ly) as b:
        cover, loss, transform = a.read(1), b.read(1), a.transform
        shape = a.shape
    lats = transform.f + transform.e * np.arange(shape[0] + 1)
    lon0, lon1 = transform.c, transform.c + transform.a
    row_ha = np.array(
        [
            abs(GEOD.polygon_area_perimeter([lon0, lon1, lon1, lon0], [t, t, s, s])[0]) / 1e4
            for t, s in itertools.pairwise(lats)
        ]
    )
    inside_zone = ~geometry_mask(zone.geometry.values, shape, transform)
    inside_pa = ~geometry_mask(pas.geometry.values, shape, transform) & inside_zone
    lost = (cover > 30) & (cover <= 100) & (loss < 65535)
    in_any = 0.0
    for year in range(2001, 2019):
        at = lost & (loss == year - 2000)
        in_pa = float((at & inside_pa).sum(axis=1) @ row_ha) if year > 2014 else 0.0
        total = float((at & inside_zone).sum(axis=1) @ row_ha)
        row = out.iloc[0]
        assert row[f"loss_{year}_in_pa_ha"] == pytest.approx(in_pa, rel=1e-6, abs=1e-6)
        assert row[f"loss_{year}_outside_pa_ha"] == pytest.approx(total - in_pa, rel=1e-6, abs=1e-6)
        in_any += float((at & inside_pa).sum(axis=1) @ row_ha)
    assert out["loss_total_in_pa_ha"].iloc[0] > 0  # the reserves lost forest after 2014
    assert in_any > out["loss_total_in_pa_ha"].iloc[0]  # and before: counted outside


def test_the_report_table_sums_the_split_per_radius():
    from asm_pace.report import forest_summary

    t = pd.DataFrame(
        {
            "radius_km": [1.0, 1.0, 5.0],
            "zone_area_ha": [300.0, 100.0, 900.0],
            "data_coverage": [1.0, 1.0, 1.0],
            "forest_2000_ha": [200.0, 40.0, 500.0],
            "loss_total_ha": [10.0, 2.0, 30.0],
            "loss_2001_ha": [10.0, 2.0, 30.0],
            "loss_total_in_pa_ha": [4.0, 0.5, 20.0],
            "loss_total_in_pa_unknown_year_ha": [1.0, 0.0, 0.0],
            "loss_total_outside_pa_ha": [5.0, 1.5, 10.0],
        }
    )
    rows = forest_summary(t).set_index("zone")
    assert rows.loc["within 1 km", "loss_total_in_pa_ha"] == 4.5
    assert rows.loc["within 1 km", "loss_total_in_pa_unknown_year_ha"] == 1.0
    assert rows.loc["within 5 km", "loss_total_outside_pa_ha"] == 10.0
