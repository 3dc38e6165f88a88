"""Raster identity and value domains (issue 9, class 1).

Each case runs ``asm-pace classify ... --buffers 1 --treecover T --lossyear L`` on the tiny
world of :func:`corpus.tiny_inputs` with small rasters (20 x 20 cells of 0.002 degrees around
site S1 at lon -70, lat -12; S2 and S3 lie off them). Refused: a layer picked from a folder
by anything but its Hansen name, a file named for another role, one file for two roles,
values outside a role's domain (tree cover 0-100, loss year 0 or 1 to the current year, gain
0/1), fractions given for percent, a nodata tag inside the domain, overlapping tiles, and
rasters that give no zone any data. Accepted with the correct value: one folder holding
both layers as touching Hansen-named tiles with a nodata tag, and calendar-year int16 loss
years with float percent tree cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Case, classify_args, tiny_inputs

X0, Y0, RES, N = -70.02, -11.98, 0.002, 20  # lon -70.02..-69.98, lat -12.02..-11.98


def tif(path: Path, arr, *, nodata=None, x0: float = X0, y0: float = Y0) -> Path:
    """Write ``arr`` (bands, rows, cols or rows, cols) as a deflate GeoTIFF in EPSG:4326."""
    import rasterio
    from rasterio.transform import from_origin

    arr = np.asarray(arr)
    arr = arr[None] if arr.ndim == 2 else arr
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        count=arr.shape[0],
        height=arr.shape[1],
        width=arr.shape[2],
        dtype=arr.dtype.name,
        crs="EPSG:4326",
        transform=from_origin(x0, y0, RES, RES),
        nodata=nodata,
        compress="deflate",
    ) as ds:
        ds.write(arr)
    return path


def full(value, dtype="uint8") -> np.ndarray:
    return np.full((N, N), value, dtype=dtype)


def _args(folder: Path, treecover, lossyear, *extra) -> list[str]:
    return classify_args(
        tiny_inputs(folder),
        folder / "out.gpkg",
        "--buffers",
        "1",
        "--treecover",
        str(treecover),
        "--lossyear",
        str(lossyear),
        *extra,
    )


def _pair(
    tc_arr,
    ly_arr,
    *,
    tc_name="tc.tif",
    ly_name="ly.tif",
    swap=False,
    tc_nodata=None,
    ly_nodata=None,
):
    """A case builder: write the two rasters, give them (swapped if asked) to the options."""

    def build(folder: Path) -> list[str]:
        tc = tif(folder / tc_name, tc_arr, nodata=tc_nodata)
        ly = tif(folder / ly_name, ly_arr, nodata=ly_nodata)
        return _args(folder, *((ly, tc) if swap else (tc, ly)))

    return build


def _folder_without_lossyear(folder: Path) -> list[str]:
    tif(folder / "hansen" / "Hansen_GFC-2024-v1.12_treecover2000_peru.tif", full(80))
    return _args(folder, folder / "hansen", folder / "hansen")


def _generic_folder(folder: Path) -> list[str]:
    tif(folder / "rasters" / "a.tif", full(80))
    tif(folder / "rasters" / "b.tif", full(5))
    return _args(folder, folder / "rasters", folder / "rasters")


def _same_file(folder: Path) -> list[str]:
    x = tif(folder / "x.tif", full(5))
    return _args(folder, x, x)


def _overlapping_versions(folder: Path) -> list[str]:
    h = folder / "hansen"
    tif(h / "Hansen_GFC-2023-v1.11_treecover2000_peru.tif", full(80))
    tif(h / "Hansen_GFC-2024-v1.12_treecover2000_peru.tif", full(80), x0=X0 + 10 * RES)
    tif(h / "Hansen_GFC-2024-v1.12_lossyear_peru.tif", full(5))
    return _args(folder, h, h)


def _far_away(folder: Path) -> list[str]:
    tc = tif(folder / "tc.tif", full(80), x0=10.0, y0=50.0)
    ly = tif(folder / "ly.tif", full(5), x0=10.0, y0=50.0)
    return _args(folder, tc, ly)


def _with_255(folder: Path) -> list[str]:
    ly = full(5)
    ly[3:6, 3:6] = 255
    return _args(folder, tif(folder / "tc.tif", full(80)), tif(folder / "ly.tif", ly))


# --------------------------------------------------------------------------- accepted inputs


def _s1_buffer(folder: Path):
    """S1's 1 km buffer (from the output) and its row of the buffers layer."""
    import geopandas as gpd

    b = gpd.read_file(folder / "out.gpkg", layer="buffers").set_index("zone_id")
    return b.geometry["S1_1km"], b.loc["S1_1km"]


def _geod_ha(geom) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e4


def _touching_tiles(folder: Path) -> list[str]:
    """West and east halves (split at lon -70) as Hansen-named tiles in one folder, plus gain.

    West: tree cover nodata (255, tagged), loss 12. East: tree cover 80, loss 5, gain 1.
    """
    h = folder / "hansen"
    half = (N, N // 2)
    east = X0 + (N // 2) * RES
    for tag, x0, tc, ly, gain in (
        ("west", X0, 255, 12, 0),
        ("east", east, 80, 5, 1),
    ):
        stem = "Hansen_GFC-2024-v1.12_{}_" + tag + ".tif"
        tif(h / stem.format("treecover2000"), np.full(half, tc, "uint8"), nodata=255, x0=x0)
        tif(h / stem.format("lossyear"), np.full(half, ly, "uint8"), x0=x0)
        tif(h / stem.format("gain"), np.full(half, gain, "uint8"), x0=x0)
    return _args(folder, h, h, "--gain", str(h))


def _check_touching(folder: Path, text: str) -> None:
    import shapely

    geom, row = _s1_buffer(folder)
    east = _geod_ha(shapely.clip_by_rect(geom, -70.0, -90, 0, 90))
    whole = _geod_ha(geom)
    assert abs(row["zone_area_ha"] - whole) <= 1e-5 * whole
    assert abs(row["data_coverage"] - east / whole) <= 1e-5
    for column, expected in (
        ("forest_2000_ha", east),
        ("loss_2005_ha", east),
        ("loss_total_ha", east),
        ("gain_ha", east),
        ("loss_2012_ha", 0.0),  # the west's loss years lie on nodata tree cover
    ):
        assert abs(row[column] - expected) <= 1e-5 * whole, (column, row[column], expected)
    assert "loss_2024_ha" in row.index and "loss_2025_ha" not in row.index  # GFC-2024


def _calendar_years(folder: Path) -> list[str]:
    """int16 loss years as calendar years (2013) with nodata -1; float32 percent tree cover."""
    tc = full(30.5, "float32")
    tc[:, : N // 2] = 12.25  # west of lon -70: not forest at canopy 30
    ly = full(2013, "int16")
    ly[0, 0] = -1
    return _args(
        folder,
        tif(folder / "tc.tif", tc, nodata=float("nan")),
        tif(folder / "ly.tif", ly, nodata=-1),
    )


def _check_calendar(folder: Path, text: str) -> None:
    import shapely

    geom, row = _s1_buffer(folder)
    east = _geod_ha(shapely.clip_by_rect(geom, -70.0, -90, 0, 90))
    whole = _geod_ha(geom)
    assert row["data_coverage"] == 1.0  # pixel (0, 0) lies outside the 1 km buffer
    assert abs(row["forest_2000_ha"] - east) <= 1e-5 * whole
    assert abs(row["loss_2013_ha"] - east) <= 1e-5 * whole
    assert abs(row["loss_total_ha"] - east) <= 1e-5 * whole


# --------------------------------------------------------------------------- protection over time


def _pas_by_year(folder: Path, years: tuple[int, int]) -> None:
    """Replace the tiny world's park by two: west of lon -70 (STATUS_YR years[0]) and east."""
    import geopandas as gpd
    from shapely.geometry import box

    base = gpd.read_file(folder / "pas.gpkg", layer="polygons")
    two = gpd.GeoDataFrame(
        base.drop(columns="geometry").loc[[0, 0]].reset_index(drop=True),
        geometry=[box(-70.5, -12.5, -70.0, -11.5), box(-70.0, -12.5, -69.5, -11.5)],
        crs=base.crs,
    )
    two["WDPAID"] = [900001, 900002]
    two["WDPA_PID"] = ["900001", "900002"]
    two["STATUS_YR"] = list(years)
    two.to_file(folder / "pas.gpkg", layer="polygons", driver="GPKG")


def _parks_by_year(folder: Path, years: tuple[int, int] = (2010, 0)) -> list[str]:
    """West park designated 2010, east park of unknown year (STATUS_YR 0); loss 2005 north of
    lat -12, 2015 south of it."""
    ly = full(5)
    ly[N // 2 :, :] = 15
    argv = _args(folder, tif(folder / "tc.tif", full(80)), tif(folder / "ly.tif", ly))
    _pas_by_year(folder, years)
    return argv


def _check_parks_by_year(folder: Path, text: str) -> None:
    import geopandas as gpd
    import shapely

    geom, _ = _s1_buffer(folder)
    whole = _geod_ha(geom)

    def quarter(west: bool, north: bool) -> float:
        lon = (-71.0, -70.0) if west else (-70.0, -69.0)
        lat = (-12.0, -11.0) if north else (-13.0, -12.0)
        return _geod_ha(shapely.clip_by_rect(geom, lon[0], lat[0], lon[1], lat[1]))

    long = gpd.read_file(folder / "out.gpkg", layer="forest_loss")
    rows = long[long["zone_id"] == "S1_1km"].set_index("year")
    expected = {  # 2005: the west park is not yet designated; the east one's year is unknown
        2005: (0.0, quarter(False, True), quarter(True, True)),
        2015: (quarter(True, False), quarter(False, False), 0.0),
    }
    for year, (in_pa, unknown, outside) in expected.items():
        got = rows.loc[year, ["in_pa_ha", "in_pa_unknown_year_ha", "outside_pa_ha"]]
        assert np.allclose(got.to_numpy(float), [in_pa, unknown, outside], atol=1e-5 * whole)
    parts = rows[["in_pa_ha", "in_pa_unknown_year_ha", "outside_pa_ha"]].sum(axis=1)
    assert np.allclose(parts, rows["loss_ha"], rtol=1e-9, atol=1e-9)
    buffers = gpd.read_file(folder / "out.gpkg", layer="buffers")
    assert "loss_total_in_pa_ha" in buffers.columns
    assert "loss_2015_in_pa_ha" not in buffers.columns  # the yearly split is in forest_loss


CASES = [
    Case(
        "rasters/lossyear_folder_without_lossyear",
        _folder_without_lossyear,
        words=("hansen", "no loss-year raster", "treecover2000_peru.tif", "--lossyear"),
    ),
    Case(
        "rasters/swapped_hansen_names",
        _pair(
            full(80),
            full(5),
            tc_name="Hansen_GFC-2024-v1.12_treecover2000_peru.tif",
            ly_name="Hansen_GFC-2024-v1.12_lossyear_peru.tif",
            swap=True,
        ),
        words=("lossyear_peru.tif", "says 'lossyear'", "--treecover"),
    ),
    Case(
        "rasters/swapped_generic_names",
        _pair(full(80), full(5), swap=True),
        words=("tc.tif", "value 80", "tree-cover raster given as --lossyear"),
    ),
    Case(
        "rasters/same_file_for_both_roles",
        _same_file,
        words=("x.tif", "same raster", "--treecover and --lossyear"),
    ),
    Case(
        "rasters/generic_folder",
        _generic_folder,
        words=("rasters", "no tree-cover raster", "treecover2000", "a.tif, b.tif"),
    ),
    Case(
        "rasters/uint8_255_without_nodata_tag",
        _with_255,
        words=("ly.tif", "value 255", "--lossyear", "gdal_edit.py -a_nodata 255"),
    ),
    Case(
        "rasters/float_fractions_as_treecover",
        _pair(full(0.8, "float32"), full(5)),
        words=("tc.tif", "fractions", "percent", "--treecover"),
    ),
    Case(
        "rasters/treecover_above_100",
        _pair(full(150), full(5), tc_nodata=255),
        words=("tc.tif", "value 150", "--treecover", "percent, 0-100"),
    ),
    Case(
        "rasters/lossyear_nodata_tag_zero",
        _pair(full(80), full(5), ly_nodata=0),
        words=("ly.tif", "nodata tag 0", "--lossyear", "-unsetnodata"),
    ),
    Case(
        "rasters/overlapping_tiles",
        _overlapping_versions,
        words=("GFC-2023-v1.11_treecover2000_peru.tif", "GFC-2024-v1.12_treecover2000", "overlap"),
    ),
    Case(
        "rasters/rasters_off_every_zone",
        _far_away,
        words=("tc.tif", "none of the", "outside", "--treecover"),
    ),
    Case(
        "rasters/one_folder_touching_tiles_nodata_gain",
        _touching_tiles,
        exit_code=0,
        words=("partly",),
        check=_check_touching,
    ),
    Case(
        "rasters/calendar_years_int16_float_percent",
        _calendar_years,
        exit_code=0,
        check=_check_calendar,
    ),
    Case(
        "rasters/parks_designated_in_2010_and_of_unknown_year",
        _parks_by_year,
        exit_code=0,
        check=_check_parks_by_year,
    ),
    Case(  # a STATUS_YR to come is no designation date: blank and warned, so "unknown year"
        "rasters/park_status_year_in_the_future",
        lambda folder: _parks_by_year(folder, (2010, 2090)),
        exit_code=0,
        words=("pas.gpkg", "STATUS_YR", "'2090'", "left empty"),
        check=_check_parks_by_year,
    ),
]
