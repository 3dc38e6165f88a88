"""Geodesic circles and areas against pyproj.Geod (Karney's exact algorithms)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace.errors import InputError
from asm_pace.geodesy import (
    _forward_local,
    _inverse_local,
    geodesic_area,
    geodesic_circles,
    split_antimeridian,
)

GEOD = Geod(ellps="WGS84")


def vertex_distances(poly, lon0: float, lat0: float) -> np.ndarray:
    """Geodesic distance from the centre to every vertex not on a +-180 cut line."""
    xy = shapely.get_coordinates(poly)
    xy = xy[np.abs(xy[:, 0]) < 180.0]
    n = len(xy)
    return GEOD.inv(np.full(n, lon0), np.full(n, lat0), xy[:, 0], xy[:, 1])[2]


def reference_circle_area(lon0: float, lat0: float, radius: float) -> float:
    """Area of the geodesic circle: a 4096-gon from Geod.fwd measured by Geod (deficit 4e-7)."""
    az = np.linspace(0.0, 360.0, 4096, endpoint=False)
    lo, la, _ = GEOD.fwd(
        np.full(az.size, lon0), np.full(az.size, lat0), az, np.full(az.size, radius)
    )
    lo = lon0 + ((lo - lon0 + 180.0) % 360.0 - 180.0)
    return abs(GEOD.polygon_area_perimeter(lo, la)[0])


def inscribed(n: int) -> float:
    """Area of a regular n-gon inscribed in a (small) circle, as a share of the circle's."""
    x = 2 * np.pi / n
    return np.sin(x) / x


def geod_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@pytest.mark.parametrize("lat", [-85.0, -60.0, -23.5, 0.0, 12.0, 45.0, 70.0, 85.0])
@pytest.mark.parametrize("radius", [1_000.0, 10_000.0, 50_000.0])
def test_circle_vertices_and_area_at_many_latitudes(lat: float, radius: float) -> None:
    circle = geodesic_circles(np.array([-70.0]), np.array([lat]), radius, n_vertices=64)[0]
    d = vertex_distances(circle, -70.0, lat)
    assert d.size == 65  # 64 vertices and the closing one
    # documented bound: 1e-6 (r / 100 km)^2, far inside the 0.1 % asked for
    assert np.abs(d / radius - 1.0).max() < 1e-6
    assert circle.is_valid and circle.exterior.is_ccw
    deficit = 1.0 - geod_area(circle) / reference_circle_area(-70.0, lat, radius)
    # inscribed 64-gon: 1 - sin(x) / x with x = 2 pi / 64, 0.161 %
    assert deficit == pytest.approx(1.0 - inscribed(64), rel=0.02)


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(-180.0, 180.0),
    lat=st.floats(-85.0, 85.0),
    radius=st.floats(100.0, 300_000.0),
    n=st.integers(8, 200),
)
def test_circles_property(lon: float, lat: float, radius: float, n: int) -> None:
    circle = geodesic_circles(np.array([lon]), np.array([lat]), radius, n_vertices=n)[0]
    assert circle.is_valid
    minx, _, maxx, _ = circle.bounds
    assert minx >= -180.0 and maxx <= 180.0
    d = vertex_distances(circle, lon, lat)
    assert np.abs(d / radius - 1.0).max() < 1e-5
    # the same n-gon built independently with Geod.fwd, measured by Geod
    az = -360.0 * np.arange(n) / n
    lo, la, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius))
    lo = lon + ((lo - lon + 180.0) % 360.0 - 180.0)
    expected = abs(GEOD.polygon_area_perimeter(lo, la)[0])
    # vertices within 1e-6 (r / 100 km)^2 (9e-6 at 300 km) move the area twice as much
    assert geod_area(circle) == pytest.approx(expected, rel=2e-6 * max(1.0, radius / 1e5) ** 2)


def test_circle_across_antimeridian_is_split_into_valid_parts() -> None:
    circle = geodesic_circles(np.array([179.9]), np.array([-16.0]), 50_000.0, n_vertices=64)[0]
    assert circle.geom_type == "MultiPolygon" and circle.is_valid
    beyond, near = sorted(circle.geoms, key=lambda p: p.bounds[0])
    # the part past 180 E is shifted to start at -180; the other part ends at 180
    assert beyond.bounds[0] == -180.0 and beyond.bounds[2] < -179.0
    assert near.bounds[2] == 180.0 and near.bounds[0] > 179.0
    assert geod_area(circle) == pytest.approx(
        reference_circle_area(179.9, -16.0, 50_000.0) * inscribed(64), rel=1e-5
    )
    assert np.abs(vertex_distances(circle, 179.9, -16.0) / 50_000.0 - 1).max() < 1e-6


def test_circles_above_1000_km_use_exact_geodesics() -> None:
    circle = geodesic_circles(np.array([20.0]), np.array([-30.0]), 2_500_000.0, n_vertices=32)[0]
    assert np.abs(vertex_distances(circle, 20.0, -30.0) - 2_500_000.0).max() < 1e-3


def test_circle_radius_broadcasts_per_centre() -> None:
    circles = geodesic_circles(np.array([0.0, 0.0]), np.array([10.0, 10.0]), [1_000.0, 5_000.0])
    assert vertex_distances(circles[1], 0.0, 10.0).mean() == pytest.approx(5_000.0, rel=1e-7)


@pytest.mark.parametrize(
    ("lon", "lat", "radius"),
    [
        (0.0, 89.9, 50_000.0),  # contains the north pole (11 km away)
        (0.0, -89.95, 10_000.0),
        (np.nan, 0.0, 1_000.0),
        (0.0, 0.0, -1.0),
        (0.0, 0.0, 0.0),
        (0.0, 91.0, 1_000.0),
    ],
)
def test_circle_refusals(lon: float, lat: float, radius: float) -> None:
    with pytest.raises(InputError):
        geodesic_circles(np.array([lon]), np.array([lat]), radius)


def test_circle_refuses_too_few_vertices_and_bad_radius_shape() -> None:
    with pytest.raises(InputError, match="n_vertices"):
        geodesic_circles(np.array([0.0]), np.array([0.0]), 1_000.0, n_vertices=4)
    with pytest.raises(InputError, match="one per centre"):
        geodesic_circles(np.array([0.0, 1.0]), np.array([0.0, 1.0]), [1.0, 2.0, 3.0])


# -- areas ------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    x=st.floats(-180.0, 175.0),
    y=st.floats(-85.0, 80.0),
    w=st.floats(1e-4, 5.0),
    h=st.floats(1e-4, 5.0),
    skew=st.floats(-0.5, 0.5),
)
def test_area_matches_geod_for_random_quadrilaterals(
    x: float, y: float, w: float, h: float, skew: float
) -> None:
    poly = shapely.Polygon([(x, y), (x + w, y + skew * h), (x + w, y + h), (x, y + h * 0.8)])
    if not poly.is_valid:
        return
    # documented bound: about 2e-7 * (longest edge in degrees)^2, i.e. 5e-6 at 5 degrees
    assert geodesic_area(poly)[0] == pytest.approx(geod_area(poly), rel=1e-5)


def test_area_of_holes_multipolygons_collections_and_non_areal() -> None:
    shell = shapely.box(10.0, 40.0, 12.0, 42.0)
    hole = shapely.box(10.5, 40.5, 11.0, 41.0)
    with_hole = shapely.Polygon(shell.exterior, [hole.exterior])
    multi = shapely.MultiPolygon([shell, shapely.box(-60.0, -10.0, -59.0, -9.0)])
    coll = shapely.GeometryCollection([shell, shapely.LineString([(0, 0), (1, 1)])])
    geoms = np.array(
        [with_hole, multi, coll, shapely.Point(0, 0), None, shapely.Polygon()], dtype=object
    )
    got = geodesic_area(geoms)
    # 2-degree edges: the authalic great circle vs the geodesic, < 2e-7 * 2^2
    assert got[0] == pytest.approx(geod_area(shell) - geod_area(hole), rel=1e-6)
    assert got[1] == pytest.approx(geod_area(shell) + geod_area(multi.geoms[1]), rel=1e-6)
    assert got[2] == pytest.approx(geod_area(shell), rel=1e-6)
    assert got[3:].tolist() == [0.0, 0.0, 0.0]


def test_area_of_a_one_degree_cell_and_clockwise_rings() -> None:
    cell = shapely.box(0.0, 0.0, 1.0, 1.0)
    # the 1 x 1 degree cell at the equator: 12,308.78 km2 (Geod)
    assert geodesic_area(shapely.reverse(cell))[0] == pytest.approx(geod_area(cell), rel=5e-7)


def test_area_of_split_and_unsplit_antimeridian_polygons() -> None:
    # (edges are geodesics, so the 1-degree edges of the unsplit box bow differently from
    # the 0.5-degree edges of its split parts: compare each with Geod, not with each other)
    unsplit = shapely.box(179.5, 60.0, 180.5, 61.0)
    split = split_antimeridian(np.array([unsplit]))[0]
    assert split.geom_type == "MultiPolygon"
    assert geodesic_area(unsplit)[0] == pytest.approx(geod_area(unsplit), rel=5e-7)
    assert geodesic_area(split)[0] == pytest.approx(geod_area(split), rel=5e-7)


# -- the local azimuthal equidistant plane used for footprints --------------------------------


@settings(max_examples=40, deadline=None)
@given(
    lon0=st.floats(-180.0, 180.0),
    lat0=st.floats(-84.0, 84.0),
    east=st.floats(-80_000.0, 80_000.0),
    north=st.floats(-80_000.0, 80_000.0),
)
def test_local_plane_round_trip_and_distances(
    lon0: float, lat0: float, east: float, north: float
) -> None:
    lon, lat = _forward_local(
        np.array([lon0]), np.array([lat0]), np.array([east]), np.array([north])
    )
    d = GEOD.inv(lon0, lat0, lon[0], lat[0])[2]
    assert d == pytest.approx(np.hypot(east, north), rel=1e-5, abs=1e-3)
    e2, n2 = _inverse_local(np.array([lon0]), np.array([lat0]), lon, lat)
    assert e2[0] == pytest.approx(east, abs=1e-4)
    assert n2[0] == pytest.approx(north, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(-179.0, 179.0),
    lat=st.floats(-89.99, 89.99),
    margin=st.floats(0.0, 500.0),
    azimuth=st.floats(0.0, 360.0),
)
def test_box_around_holds_every_point_within_the_margin(lon, lat, margin, azimuth):
    """Any point at distance <= margin (pyproj.Geod.fwd from a corner) lies in the box."""
    from asm_pace.geodesy import box_around

    box = box_around((lon, lat, lon, lat), margin)
    x, y, _ = GEOD.fwd(lon, lat, azimuth, margin * 1000.0)
    x = (x + 180.0) % 360.0 - 180.0
    eps = 1e-9  # Geod.fwd's own rounding at a distance of 0
    assert box[1] - eps <= y <= box[3] + eps
    assert box[0] - eps <= x <= box[2] + eps


@pytest.mark.parametrize(
    ("lon", "lat", "radius", "n"),
    [(179.0, 85.0, 234449.0, 13), (158.0, 85.0, 209968.0, 10), (-178.5, -66.1, 269807.0, 10)],
)
def test_geodesic_edges_are_cut_where_the_geodesic_crosses(lon, lat, radius, n):
    """An n-gon of Geod.fwd vertices across +-180: the parts' Geod areas add up to the whole's.

    Cut along the straight lon/lat line (the default, for layers drawn in a GIS), the same
    polygon lost or gained up to 2.8e-4 of its area.
    """
    az = -360.0 * np.arange(n) / n
    lo, la, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius))
    lo = lon + ((lo - lon + 180.0) % 360.0 - 180.0)  # continuous longitudes
    whole = abs(GEOD.polygon_area_perimeter(lo, la)[0])
    cut = split_antimeridian(np.array([shapely.Polygon(np.c_[lo, la])]), geodesic_edges=True)[0]
    assert cut.geom_type == "MultiPolygon" and -180.0 <= cut.bounds[0] <= cut.bounds[2] <= 180.0
    assert abs(GEOD.geometry_area_perimeter(cut)[0]) == pytest.approx(whole, rel=1e-9)
