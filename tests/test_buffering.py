"""Geodesic buffers, rings and footprint buffers, checked with pyproj.Geod."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace.errors import InputError, SchemaError

GEOD = Geod(ellps="WGS84")


def points(xy: list[tuple[float, float]], ids: list[str] | None = None) -> gpd.GeoDataFrame:
    ids = ids or [f"S{i + 1:04d}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"site_id": ids}, geometry=[shapely.Point(x, y) for x, y in xy], crs="EPSG:4326"
    )


def geod_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def geod_circle(lon: float, lat: float, radius: float, n: int = 64) -> shapely.Polygon:
    """An n-gon inscribed in the geodesic circle, from Geod.fwd (continuous longitudes)."""
    az = -360.0 * np.arange(n) / n
    lo, la, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius))
    lo = lon + ((lo - lon + 180.0) % 360.0 - 180.0)
    return shapely.Polygon(np.column_stack([lo, la]))


def distances(geom, lon: float, lat: float) -> np.ndarray:
    xy = shapely.get_coordinates(geom)
    xy = xy[np.abs(xy[:, 0]) < 180.0]  # cut points on +-180 are not on the circle
    return GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2]


def test_buffers_layout_order_and_ids() -> None:
    sites = points([(-70.0, -12.5), (30.0, 60.0)], ids=["MDD-0001", "B"])
    sites.index = [10, 20]
    out = asm_pace.buffers(sites, (10, 1, 50))
    assert list(out.columns) == ["site_id", "radius_km", "zone_id", "geometry"]
    assert out.crs.to_epsg() == 4326
    assert isinstance(out.index, pd.RangeIndex) and out.index.start == 0
    assert out["site_id"].tolist() == ["MDD-0001"] * 3 + ["B"] * 3
    assert out["radius_km"].tolist() == [1.0, 10.0, 50.0] * 2
    assert out["zone_id"].tolist()[:3] == ["MDD-0001_1km", "MDD-0001_10km", "MDD-0001_50km"]
    assert out["zone_id"].is_unique


@pytest.mark.parametrize("lat", [-85.0, -40.0, 0.0, 35.0, 85.0])
def test_point_buffers_on_true_geodesic_distance(lat: float) -> None:
    out = asm_pace.buffers(points([(100.0, lat)]), (1, 10, 50))
    for geom, r_km in zip(out.geometry, out["radius_km"], strict=True):
        d = distances(geom, 100.0, lat)
        assert np.abs(d / (r_km * 1000.0) - 1.0).max() < 1e-3 * 0.01  # 100 times inside 0.1 %
        exact = geod_area(geod_circle(100.0, lat, r_km * 1000.0, n=4096))
        assert abs(geod_area(geom) / exact - 1.0) < 0.005
        assert geom.is_valid


def test_ring_areas_are_differences_of_circle_areas() -> None:
    out = asm_pace.buffers(points([(-60.0, -3.0)]), (1, 10, 50), rings=True)
    assert out["inner_km"].tolist() == [0.0, 1.0, 10.0]
    assert out["zone_id"].tolist() == ["S0001_0-1km", "S0001_1-10km", "S0001_10-50km"]
    radii = [0.0, 1_000.0, 10_000.0, 50_000.0]
    for i, geom in enumerate(out.geometry):
        inner, outer = radii[i], radii[i + 1]
        expected = geod_area(geod_circle(-60.0, -3.0, outer))
        if inner:
            expected -= geod_area(geod_circle(-60.0, -3.0, inner))
            assert len(geom.interiors) == 1
            hole = shapely.Polygon(geom.interiors[0])
            assert np.abs(distances(hole, -60.0, -3.0) / inner - 1).max() < 1e-5
        assert geod_area(geom) == pytest.approx(expected, rel=1e-5)
        assert geom.is_valid
    # the rings tile the 50 km disc
    disc = asm_pace.buffers(points([(-60.0, -3.0)]), 50).geometry.iloc[0]
    assert sum(geod_area(g) for g in out.geometry) == pytest.approx(geod_area(disc), rel=1e-9)


def test_buffers_across_the_antimeridian_are_split_and_valid() -> None:
    out = asm_pace.buffers(points([(179.95, -17.0), (-179.99, 65.0)]), (1, 10, 50), rings=True)
    assert out.is_valid.all()
    bounds = out.bounds
    assert (bounds["minx"] >= -180).all() and (bounds["maxx"] <= 180).all()
    assert (out.geometry.geom_type.iloc[1:3] == "MultiPolygon").all()
    expected = geod_area(geod_circle(179.95, -17.0, 50_000.0)) - geod_area(
        geod_circle(179.95, -17.0, 10_000.0)
    )
    assert geod_area(out.geometry.iloc[2]) == pytest.approx(expected, rel=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    lon=st.floats(-180.0, 180.0),
    lat=st.floats(-85.0, 85.0),
    radii=st.lists(st.floats(0.1, 120.0), min_size=1, max_size=3, unique=True),
    rings=st.booleans(),
)
def test_buffers_property(lon: float, lat: float, radii: list[float], rings: bool) -> None:
    out = asm_pace.buffers(points([(lon, lat)]), radii, rings=rings)
    assert out.is_valid.all()
    assert (out.bounds["minx"] >= -180).all() and (out.bounds["maxx"] <= 180).all()
    inner = out["inner_km"] if rings else [0.0] * len(out)
    for geom, r_km, in_km in zip(out.geometry, out["radius_km"], inner, strict=True):
        # every vertex off the +-180 cut lies on the outer circle, or on the inner one
        # (a ring split at the antimeridian has its inner arc in its parts' exteriors)
        d = distances(geom, lon, lat)
        err = np.abs(d / (r_km * 1000.0) - 1.0)
        if in_km > 0:
            err = np.minimum(err, np.abs(d / (in_km * 1000.0) - 1.0))
        assert err.max() < 1e-3
        expected = geod_area(geod_circle(lon, lat, r_km * 1000.0))
        if in_km > 0:
            expected -= geod_area(geod_circle(lon, lat, in_km * 1000.0))
        assert geod_area(geom) == pytest.approx(expected, rel=1e-4)


def test_sites_in_a_projected_crs_are_reprojected() -> None:
    wgs = points([(-69.0, -12.0)])
    utm = wgs.to_crs("EPSG:32719")
    a = asm_pace.buffers(wgs, 5).geometry.iloc[0]
    b = asm_pace.buffers(utm, 5).geometry.iloc[0]
    assert shapely.get_coordinates(a) == pytest.approx(shapely.get_coordinates(b), abs=1e-7)


# -- footprints -------------------------------------------------------------------------------


def distance_to_footprint(xy: np.ndarray, footprint, step: float) -> np.ndarray:
    """Geodesic distance from each point to the footprint's boundary, by brute force.

    The boundary is densified to ``step`` degrees in lon/lat; every point is measured to
    every boundary point with Geod.inv (an over-estimate by at most ``h^2 / 8 r``, ``h`` the
    step in metres).
    """
    dense = shapely.get_coordinates(shapely.segmentize(footprint.boundary, step))
    out = np.empty(len(xy))
    for i, (x, y) in enumerate(xy):
        n = len(dense)
        out[i] = GEOD.inv(np.full(n, x), np.full(n, y), dense[:, 0], dense[:, 1])[2].min()
    return out


@pytest.mark.parametrize(
    ("footprint", "radii", "step"),
    [
        (
            shapely.Polygon([(-70.0, -12.5), (-69.97, -12.5), (-69.96, -12.47), (-70.0, -12.48)]),
            (1, 5),
            0.00005,
        ),
        (shapely.Polygon([(20.0, 80.0), (20.2, 80.0), (20.1, 80.03)]), (1, 5), 0.00005),
        (
            shapely.MultiPolygon(
                [shapely.box(10.0, 0.0, 10.01, 0.01), shapely.box(10.03, 0, 10.04, 0.01)]
            ),
            (1, 5),
            0.00005,
        ),
        # 100 km wide at 80 N: its 5-degree edge along the parallel is no geodesic
        (shapely.Polygon([(10.0, 80.0), (15.18, 80.0), (11.04, 80.45)]), (10, 50), 0.001),
    ],
)
def test_footprint_buffers_from_the_edge(footprint, radii, step) -> None:
    sites = gpd.GeoDataFrame({"site_id": ["F1"]}, geometry=[footprint], crs="EPSG:4326")
    out = asm_pace.buffers(sites, radii)
    for geom, r_km in zip(out.geometry, out["radius_km"], strict=True):
        assert geom.is_valid and geom.contains(footprint)
        parts = shapely.get_parts(geom)
        xy = shapely.get_coordinates(shapely.get_exterior_ring(parts))[::3]
        d = distance_to_footprint(xy, footprint, step)
        r = r_km * 1000.0
        assert d.min() >= r * (1 - 1e-3) and d.max() <= r * (1 + 1e-3)


def test_footprint_rings_and_antimeridian() -> None:
    fp = shapely.Polygon([(179.99, 5.0), (180.01, 5.0), (180.01, 5.02), (179.99, 5.02)])
    fp = asm_pace.geodesy.split_antimeridian(np.array([fp]))[0]
    sites = gpd.GeoDataFrame({"site_id": ["X"]}, geometry=[fp], crs="EPSG:4326")
    discs = asm_pace.buffers(sites, (1, 3))
    rings = asm_pace.buffers(sites, (1, 3), rings=True)
    assert discs.is_valid.all() and rings.is_valid.all()
    assert (rings.bounds["minx"] >= -180).all() and (rings.bounds["maxx"] <= 180).all()
    assert discs.geometry.iloc[0].contains(fp)
    assert rings.geometry.iloc[0].contains(fp)  # the innermost ring holds the footprint
    assert not rings.geometry.iloc[1].intersects(fp)
    assert geod_area(rings.geometry.iloc[1]) == pytest.approx(
        geod_area(discs.geometry.iloc[1]) - geod_area(discs.geometry.iloc[0]), rel=1e-6
    )


def test_points_and_footprints_mixed_keep_site_order() -> None:
    sites = gpd.GeoDataFrame(
        {"site_id": ["P", "F"]},
        geometry=[shapely.Point(0.0, 0.0), shapely.box(1.0, 1.0, 1.01, 1.01)],
        crs="EPSG:4326",
    )
    out = asm_pace.buffers(sites, (2, 4))
    assert out["zone_id"].tolist() == ["P_2km", "P_4km", "F_2km", "F_4km"]
    assert out.geometry.iloc[2].contains(sites.geometry.iloc[1])
    assert not out.geometry.iloc[0].intersects(sites.geometry.iloc[1])


# -- refusals ---------------------------------------------------------------------------------


def test_refusals() -> None:
    good = points([(0.0, 0.0), (1.0, 1.0)])
    with pytest.raises(SchemaError, match="site_id"):
        asm_pace.buffers(good.drop(columns="site_id"))
    with pytest.raises(InputError, match="not unique"):
        asm_pace.buffers(points([(0.0, 0.0), (1.0, 1.0)], ids=["A", "A"]))
    empty = good.copy()
    empty.loc[1, "geometry"] = None
    with pytest.raises(InputError, match="rows 2 "):
        asm_pace.buffers(empty)
    for radii in [(), (0, 1), (-1,), (1, 1), ("x",), (float("nan"),)]:
        with pytest.raises(InputError):
            asm_pace.buffers(good, radii)
    with pytest.raises(InputError, match="pole"):
        asm_pace.buffers(points([(0.0, 89.8)]), (1, 50))
    polar = gpd.GeoDataFrame(
        {"site_id": ["F"]}, geometry=[shapely.box(0, 89.7, 1, 89.75)], crs=4326
    )
    with pytest.raises(InputError, match="pole"):
        asm_pace.buffers(polar, 50)
    with pytest.raises(InputError, match="GeoDataFrame"):
        asm_pace.buffers(pd.DataFrame({"site_id": ["a"]}))


def test_sites_with_a_nan_coordinate_are_refused_with_their_rows():
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B"]},
        geometry=[shapely.Point(-70, -12), shapely.Point(-70, np.nan)],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError, match=r"rows 2 have a NaN or infinite coordinate"):
        asm_pace.buffers(sites, radii_km=[1])
