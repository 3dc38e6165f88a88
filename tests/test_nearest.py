"""The private boundary index of asm_pace._nearest against brute-force pyproj.Geod."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from asm_pace._nearest import BoundaryIndex, ecef

GEOD = Geod(ellps="WGS84")


def brute(lon: np.ndarray, lat: np.ndarray, polys: np.ndarray, step: float = 0.0005):
    xy, owner = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(polys), step), return_index=True
    )
    dist = np.empty(len(lon))
    who = np.empty(len(lon), dtype=int)
    for i in range(len(lon)):
        _, _, d = GEOD.inv(np.full(len(xy), lon[i]), np.full(len(xy), lat[i]), xy[:, 0], xy[:, 1])
        j = int(d.argmin())
        dist[i], who[i] = d[j], owner[j]
    return dist, who


def star_polygons(rng, n, lon_range, lat_range, vertices=40):
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(*lon_range), rng.uniform(*lat_range)
        ang = np.sort(rng.uniform(0, 2 * np.pi, vertices))
        r = rng.uniform(0.05, 0.4, vertices)
        x = cx + r * np.cos(ang) / np.cos(np.radians(cy))
        y = cy + r * np.sin(ang)
        polys.append(shapely.Polygon(np.c_[x, y]))
    return np.array(polys)


@pytest.mark.parametrize(
    ("lat_range", "spread"),
    [((-5.0, 5.0), 3.0), ((60.0, 75.0), 3.0), ((-80.0, -70.0), 2.0), ((55.0, 80.0), 15.0)],
)
def test_nearest_matches_brute_force(lat_range, spread):
    rng = np.random.default_rng(7)
    polys = star_polygons(rng, 8, (20.0, 24.0), lat_range)
    lon = rng.uniform(22.0 - spread, 22.0 + spread, 30)
    lat = np.clip(rng.uniform(lat_range[0] - spread, lat_range[1] + spread, 30), -89.5, 89.5)
    d, owner, plon, plat = BoundaryIndex(polys).nearest(lon, lat)
    exp, exp_owner = brute(lon, lat, polys, step=0.001)
    # the densified brute force overestimates by a few metres at most
    np.testing.assert_allclose(d, exp, rtol=5e-3, atol=60.0)
    assert (d <= exp * (1 + 1e-6)).all()
    # the point found is on the boundary and at the distance reported
    _, _, again = GEOD.inv(lon, lat, plon, plat)
    np.testing.assert_allclose(again, d, rtol=1e-9)
    bounds = shapely.boundary(polys[owner])
    assert (shapely.distance(bounds, shapely.points(plon, plat)) < 1e-9).all()
    far = exp > 1000  # ties between polygons only matter at near-equal distances
    assert (owner[far] == exp_owner[far]).mean() > 0.95


def test_long_edges_are_densified_and_far_sites_found():
    # one huge box with 10-degree edges at high latitude, sites hundreds of km away
    polys = np.array([shapely.box(0, 60, 10, 70)])
    lon = np.array([5.0, 15.0, -3.0, 5.0])
    lat = np.array([72.0, 65.0, 58.0, 64.0])
    d, owner, _, _ = BoundaryIndex(polys).nearest(lon, lat)
    exp, _ = brute(lon, lat, polys, step=0.002)
    np.testing.assert_allclose(d, exp, rtol=5e-3)
    # due north of the top edge: the meridian arc
    assert d[0] == pytest.approx(GEOD.inv(5, 72, 5, 70)[2], rel=1e-7)
    assert (owner == 0).all()


def test_empty_index_and_no_points():
    idx = BoundaryIndex(np.array([shapely.Polygon(), None], dtype=object))
    d, owner, _, _ = idx.nearest(np.array([1.0]), np.array([2.0]))
    assert np.isnan(d[0]) and owner[0] == -1
    idx = BoundaryIndex(np.array([shapely.box(0, 0, 1, 1)]))
    d, owner, _, _ = idx.nearest(np.array([]), np.array([]))
    assert d.size == 0


def test_ecef_radius_and_poles():
    xyz = ecef(np.array([0.0, 123.0]), np.array([0.0, 90.0]))
    assert xyz[0] == pytest.approx([6378137.0, 0.0, 0.0])
    assert xyz[1] == pytest.approx([0.0, 0.0, 6356752.314245], abs=1e-3)


def test_across_the_pole_neighbourhood():
    # a PA near the north pole on the far side: the shortest way crosses lon 180
    polys = np.array([shapely.box(-179.5, 88.0, -178.0, 88.5)])
    lon, lat = np.array([1.0]), np.array([89.5])
    d, _, _, _ = BoundaryIndex(polys).nearest(lon, lat)
    exp, _ = brute(lon, lat, polys, step=0.001)
    assert d[0] == pytest.approx(exp[0], rel=5e-3)
