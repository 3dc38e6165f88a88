"""Loss by cause (the drivers-of-loss raster, ``--drivers``) and footprint zones (issue 12).

Each case runs ``asm-pace classify ... --buffers 1 --treecover T --lossyear L --drivers D``
on the tiny world of :func:`corpus.tiny_inputs` with the small forest rasters of
:mod:`corpus.rasters` (20 x 20 cells of 0.002 degrees around S1 at lon -70, lat -12; tree
cover 80, loss in 2005 everywhere). The drivers raster lies on its own grid of 0.01 degree
cells (origin lon -70.03, lat -11.97: not the forest rasters' grid). Refused: a value outside
the classes 0-7, a file named for another layer, the loss-year file given again, a drivers
raster of another region, ``--drivers`` without the forest rasters. Accepted with the correct
value: the split (class 2 west of lon -70, class 1 east of it) and, with ``--rings`` on a
footprint, the footprint zone and the ring net of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Case, classify_args, tiny_inputs
from .rasters import full, tif

DX0, DY0, DRES = -70.03, -11.97, 0.01  # 6 x 6 cells: lon -70.03..-69.97, lat -12.03..-11.97


def drivers_tif(path: Path, arr, *, x0: float = DX0, y0: float = DY0, nodata=None) -> Path:
    """A drivers raster on its own 0.01 degree grid (EPSG:4326, uint8 unless ``arr`` says)."""
    import rasterio
    from rasterio.transform import from_origin

    arr = np.asarray(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        count=1,
        height=arr.shape[0],
        width=arr.shape[1],
        dtype=arr.dtype.name,
        crs="EPSG:4326",
        transform=from_origin(x0, y0, DRES, DRES),
        nodata=nodata,
    ) as ds:
        ds.write(arr, 1)
    return path


def west_east() -> np.ndarray:
    """Class 2 (hard commodities) west of lon -70, class 1 (permanent agriculture) east."""
    arr = np.ones((6, 6), "uint8")
    arr[:, :3] = 2
    return arr


def _args(folder: Path, drivers, *, sites: Path | None = None, extra=()) -> list[str]:
    paths = tiny_inputs(folder)
    if sites is not None:
        paths["sites"] = sites
    tc = tif(folder / "tc.tif", full(80))
    ly = tif(folder / "ly.tif", full(5))
    return classify_args(
        paths,
        folder / "out.gpkg",
        "--buffers",
        "1",
        "--treecover",
        str(tc),
        "--lossyear",
        str(ly),
        *(("--drivers", str(drivers(folder))) if drivers is not None else ()),
        *extra,
    )


def _geod_ha(geom) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e4


def _split(folder: Path) -> list[str]:
    return _args(folder, lambda f: drivers_tif(f / "loss_drivers.tif", west_east()))


def _check_split(folder: Path, text: str) -> None:
    import geopandas as gpd
    import shapely

    b = gpd.read_file(folder / "out.gpkg", layer="buffers").set_index("zone_id")
    geom, row = b.geometry["S1_1km"], b.loc["S1_1km"]
    west = _geod_ha(shapely.clip_by_rect(geom, -180, -90, -70.0, 90))
    east = _geod_ha(shapely.clip_by_rect(geom, -70.0, -90, 180, 90))
    whole = west + east
    for column, expected in (
        ("loss_total_ha", whole),
        ("loss_driver_hard_commodities_ha", west),
        ("loss_driver_permanent_agriculture_ha", east),
        ("loss_driver_logging_ha", 0.0),
        ("loss_driver_unknown_ha", 0.0),
    ):
        assert abs(row[column] - expected) <= 1e-5 * whole, (column, row[column], expected)


def _bad_value(folder: Path) -> list[str]:
    arr = west_east()
    arr[2, 2] = 9
    return _args(folder, lambda f: drivers_tif(f / "bad_drivers.tif", arr))


def _named_lossyear(folder: Path) -> list[str]:
    return _args(folder, lambda f: drivers_tif(f / "old_lossyear.tif", west_east()))


def _same_as_lossyear(folder: Path) -> list[str]:
    return _args(folder, lambda f: f / "ly.tif")


def _far(folder: Path) -> list[str]:
    return _args(folder, lambda f: drivers_tif(f / "far_drivers.tif", west_east(), x0=10, y0=50))


def _without_forest(folder: Path) -> list[str]:
    d = drivers_tif(folder / "loss_drivers.tif", west_east())
    return classify_args(
        tiny_inputs(folder), folder / "out.gpkg", "--buffers", "1", "--drivers", str(d)
    )


FOOT = (-70.004, -12.003, -69.996, -11.997)  # S1's footprint: lon/lat box


def _footprint(folder: Path) -> list[str]:
    import geopandas as gpd
    import shapely

    sites = folder / "footprints.geojson"
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[shapely.box(*FOOT)], crs="EPSG:4326").to_file(
        sites, driver="GeoJSON"
    )
    return _args(
        folder,
        lambda f: drivers_tif(f / "loss_drivers.tif", west_east()),
        sites=sites,
        extra=("--rings",),
    )


def _check_footprint(folder: Path, text: str) -> None:
    import geopandas as gpd
    import shapely

    b = gpd.read_file(folder / "out.gpkg", layer="buffers").set_index("zone_id")
    assert list(b.index) == ["S1_footprint", "S1_0-1km"], list(b.index)
    foot, ring = b.geometry["S1_footprint"], b.geometry["S1_0-1km"]
    assert b.loc["S1_footprint", "radius_km"] == 0.0
    assert shapely.equals_exact(
        shapely.normalize(foot), shapely.normalize(shapely.box(*FOOT)), 1e-9
    )
    assert shapely.intersection(foot, ring).area < 1e-12  # the ring is net of the footprint
    foot_ha = _geod_ha(shapely.box(*FOOT))
    row = b.loc["S1_footprint"]
    assert abs(row["loss_total_ha"] - foot_ha) <= 1e-5 * foot_ha
    # the footprint straddles lon -70: half hard commodities, half permanent agriculture
    half = _geod_ha(shapely.box(FOOT[0], FOOT[1], -70.0, FOOT[3]))
    assert abs(row["loss_driver_hard_commodities_ha"] - half) <= 1e-5 * foot_ha
    c = gpd.read_file(folder / "out.gpkg", layer="clusters")
    feet = c[c["radius_km"] == 0.0]["cluster_id"].tolist()
    assert len(feet) == 1 and feet[0].endswith("_footprint"), feet
    ring_ha = b.loc["S1_0-1km", "zone_area_ha"]
    assert abs(ring_ha - (_geod_ha(ring))) <= 1e-5 * ring_ha


CASES = [
    Case(
        "drivers/split_by_cause",
        _split,
        exit_code=0,
        check=_check_split,
    ),
    Case(
        "drivers/value_outside_the_classes",
        _bad_value,
        words=("bad_drivers.tif", "value 9", "1-7", "--drivers"),
    ),
    Case(
        "drivers/lossyear_named_file_as_drivers",
        _named_lossyear,
        words=("old_lossyear.tif", "'lossyear'", "--drivers"),
    ),
    Case(
        "drivers/lossyear_file_given_again",
        _same_as_lossyear,
        words=("ly.tif", "same raster", "--lossyear", "--drivers"),
    ),
    Case(
        "drivers/another_region",
        _far,
        words=("far_drivers.tif", "another region", "--drivers"),
    ),
    Case(
        "drivers/without_the_forest_rasters",
        _without_forest,
        words=("--drivers", "--treecover", "--lossyear"),
    ),
    Case(
        "drivers/footprint_zone_and_ring_net_of_it",
        _footprint,
        exit_code=0,
        check=_check_footprint,
    ),
]
