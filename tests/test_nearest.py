"""The private boundary index of asm_pace._nearest against brute-force pyproj.Geod."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace._nearest import (
    BoundaryIndex,
    KDTree,
    _ball,
    _Bucket,
    _near_envelopes,
    _rings,
    ecef,
    relevant_polygons,
    rowdot,
)

GEOD = Geod(ellps="WGS84")


def brute(lon: np.ndarray, lat: np.ndarray, polys: np.ndarray, step: float = 0.0005):
    """Geodesic distance (Geod.inv) to every boundary point, sampled every ``step`` degrees.

    Only polygons that can hold the nearest point are sampled: the vertices of the polygon
    nearest in degrees give an upper bound ``u`` (metres) of the distance, and a point within
    ``u`` lies within ``u / 110,574`` degrees of latitude (a degree of latitude is at least
    110,574 m) and ``u / (111,320 cos(lat))`` of longitude (a degree of longitude is at least
    that) at the band's highest latitude.
    """
    dist = np.empty(len(lon))
    who = np.empty(len(lon), dtype=int)
    boxes = shapely.bounds(polys)
    for i in range(len(lon)):
        first = polys[int(np.argmin(shapely.distance(shapely.Point(lon[i], lat[i]), polys)))]
        v = shapely.get_coordinates(first)
        u = GEOD.inv(np.full(len(v), lon[i]), np.full(len(v), lat[i]), v[:, 0], v[:, 1])[2].min()
        dlat = u / 110_574.0
        top = min(abs(lat[i]) + dlat, 90.0)
        dlon = 360.0 if top >= 89.9 else u / (111_320.0 * np.cos(np.radians(top)))
        if abs(lon[i]) + dlon > 180.0:  # the band crosses +-180: every longitude
            dlon = 360.0
        near = (
            (boxes[:, 1] <= lat[i] + dlat)
            & (boxes[:, 3] >= lat[i] - dlat)
            & (((boxes[:, 0] <= lon[i] + dlon) & (boxes[:, 2] >= lon[i] - dlon)) | (dlon >= 180))
        )
        idx = np.flatnonzero(near)
        xy, owner = shapely.get_coordinates(
            shapely.segmentize(shapely.boundary(polys[idx]), step), return_index=True
        )
        _, _, d = GEOD.inv(np.full(len(xy), lon[i]), np.full(len(xy), lat[i]), xy[:, 0], xy[:, 1])
        j = int(d.argmin())
        dist[i], who[i] = d[j], idx[owner[j]]
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


# ----------------------------------------------------------------------------- restriction


def scattered_polygons(rng, n, lon_range, lat_range, vertices=12):
    """Many small star polygons scattered over a region (most of them irrelevant)."""
    return star_polygons(rng, n, lon_range, lat_range, vertices=vertices)


def restricted_equals_full(polys, lon, lat, bounds=None, max_share=0.5):
    """The restricted index gives the same distances, owners and points as the full one."""
    if bounds is None:
        bounds = np.c_[lon, lat, lon, lat]
    keep = relevant_polygons(polys, bounds, lon, lat, max_share=max_share)
    assert keep is not None, "the restriction was not used"
    full = BoundaryIndex(polys).nearest(lon, lat)
    part = BoundaryIndex(polys, subset=keep).nearest(lon, lat)
    for a, b in zip(full, part, strict=True):
        np.testing.assert_array_equal(a, b)
    return keep


def test_restriction_keeps_the_nearest_far_away():
    # 300 PAs on a "continent", sites 8-12 degrees east of all of them
    rng = np.random.default_rng(3)
    polys = scattered_polygons(rng, 300, (-70.0, -50.0), (-20.0, 0.0))
    lon = rng.uniform(-42.0, -38.0, 40)
    lat = rng.uniform(-12.0, -8.0, 40)
    keep = restricted_equals_full(polys, lon, lat)
    assert keep.size < 100  # most PAs are irrelevant
    # the nearest polygon of each site by brute force is kept
    _, owner = brute(lon[:5], lat[:5], polys, step=0.01)
    assert set(owner) <= set(keep.tolist())


def test_restriction_with_many_irrelevant_pas_around_clustered_sites():
    rng = np.random.default_rng(5)
    polys = scattered_polygons(rng, 2000, (-80.0, -40.0), (-30.0, 10.0))
    lon = rng.normal(-60.0, 0.3, 200)
    lat = rng.normal(-10.0, 0.3, 200)
    keep = restricted_equals_full(polys, lon, lat)
    assert keep.size < 200
    exp, exp_owner = brute(lon[:5], lat[:5], polys, step=0.002)
    d, owner, _, _ = BoundaryIndex(polys, subset=keep).nearest(lon[:5], lat[:5])
    np.testing.assert_allclose(d, exp, rtol=5e-3, atol=30.0)
    assert (owner == exp_owner).mean() >= 0.8


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_restriction_across_the_antimeridian(side):
    # sites just east (or west) of 180; the nearest PA is across the line
    rng = np.random.default_rng(11)
    near = star_polygons(rng, 3, (-179.8, -179.5) if side > 0 else (179.5, 179.8), (-17.0, -16.0))
    far = scattered_polygons(rng, 300, (100.0, 170.0), (-40.0, 20.0))
    polys = np.r_[near, far]
    lon = side * rng.uniform(179.9, 179.99, 30)
    lat = rng.uniform(-17.0, -16.0, 30)
    keep = restricted_equals_full(polys, lon, lat)
    _, owner, _, _ = BoundaryIndex(polys).nearest(lon, lat)
    assert (owner < 3).all()  # the short way round
    assert {0, 1, 2} <= set(keep.tolist()) and keep.size < 30


def test_restriction_near_the_pole_takes_every_longitude():
    rng = np.random.default_rng(2)
    polys = np.r_[
        np.array([shapely.box(-179.5, 88.0, -178.0, 88.5)]),
        scattered_polygons(rng, 200, (-170.0, 170.0), (-60.0, 60.0)),
    ]
    lon, lat = np.array([1.0, 2.0]), np.array([89.5, 89.4])
    keep = restricted_equals_full(polys, lon, lat)
    assert 0 in keep


def test_restriction_for_boxes_and_fallback():
    rng = np.random.default_rng(9)
    polys = scattered_polygons(rng, 400, (0.0, 20.0), (0.0, 20.0))
    # footprint-like query boxes: their nearest boundary is no farther than their corner's
    bx = rng.uniform(5.0, 6.0, 10)
    by = rng.uniform(5.0, 6.0, 10)
    bounds = np.c_[bx, by, bx + 0.3, by + 0.2]
    keep = relevant_polygons(polys, bounds, bx, by)
    assert keep is not None
    # the PAs near any point of each box are kept: check on the box corners
    for cx, cy in ((bx + 0.3, by + 0.2), (bx, by + 0.2), (bx + 0.3, by)):
        _, owner, _, _ = BoundaryIndex(polys).nearest(cx, cy)
        assert set(owner.tolist()) <= set(keep.tolist())
    # sites spread over the whole layer: the restriction does not pay
    lon = rng.uniform(0.0, 20.0, 500)
    lat = rng.uniform(0.0, 20.0, 500)
    assert relevant_polygons(polys, np.c_[lon, lat, lon, lat], lon, lat) is None
    # empty layer
    empty = np.array([shapely.Polygon()], dtype=object)
    assert relevant_polygons(empty, np.c_[lon, lat, lon, lat], lon, lat) is None


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lat0=st.floats(-75.0, 75.0),
    lon0=st.floats(-180.0, 180.0),
    gap=st.floats(0.0, 15.0),
)
def test_restriction_matches_full_index_property(seed, lat0, lon0, gap):
    rng = np.random.default_rng(seed)
    polys = scattered_polygons(rng, 150, (lon0 - 10.0, lon0 + 10.0), (lat0 - 8.0, lat0 + 8.0))
    polys = shapely.clip_by_rect(shapely.make_valid(polys), -180, -90, 180, 90)  # on the globe
    lon = ((lon0 + gap + rng.normal(0.0, 0.5, 20)) + 180.0) % 360.0 - 180.0
    lat = np.clip(lat0 + rng.normal(0.0, 0.5, 20), -89.0, 89.0)
    full = BoundaryIndex(polys).nearest(lon, lat)
    for exact in (True, False):  # the exact bound, and the envelope bound alone
        bounds = np.c_[lon, lat, lon, lat]
        keep = relevant_polygons(polys, bounds, lon, lat, max_share=1.0, exact=exact)
        assert keep is not None
        part = BoundaryIndex(polys, subset=keep).nearest(lon, lat)
        np.testing.assert_array_equal(full[0], part[0])
        np.testing.assert_array_equal(full[1], part[1])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    spread=st.floats(0.01, 100.0),
    far=st.floats(0.0, 150.0),
)
def test_near_envelopes_hold_the_nearest_envelope(seed, n, spread, far):
    """Against every envelope: each point's hits meet one box around it, smaller than
    four times the nearest envelope's distance, and hold every nearest envelope (in
    the larger of the longitude and latitude differences)."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-30, 30, n)
    y0 = rng.uniform(-30, 30, n)
    w = rng.uniform(0, spread / 10, (2, n))
    polys = shapely.box(
        x0 * spread / 30, y0 * spread / 30, x0 * spread / 30 + w[0], y0 * spread / 30 + w[1]
    )
    tree = shapely.STRtree(polys)
    px = rng.uniform(-spread, spread, 7) + far
    py = rng.uniform(-60, 60, 7)
    rows, hits, _ = _near_envelopes(tree, px, py)
    b = shapely.bounds(polys)
    for i in range(px.size):
        # the larger of the longitude and latitude gaps to each envelope (0 inside)
        gap = np.maximum(
            np.maximum(b[:, 0] - px[i], px[i] - b[:, 2]).clip(0),
            np.maximum(b[:, 1] - py[i], py[i] - b[:, 3]).clip(0),
        )
        got = hits[rows == i]
        assert got.size
        assert set(np.flatnonzero(gap == gap.min())) <= set(got.tolist())
        # one box for all: the hits are within its half-side, at most 4x the nearest
        # (or the first half-side, 0.05 degrees)
        assert gap[got].max() <= max(4.0 * gap.min(), 0.05) + 1e-9


def test_near_envelopes_ends_for_a_point_meeting_nothing():
    """A NaN point meets no box: no pairs and NaN, and the search ends (the boxes grew
    without end before they were bounded)."""
    tree = shapely.STRtree(np.array([shapely.box(0, 0, 1, 1)]))
    rows, hits, half = _near_envelopes(tree, np.array([np.nan, 5.0]), np.array([0.0, 0.0]))
    assert rows.tolist() == [1] and hits.tolist() == [0]
    assert np.isnan(half[0]) and half[1] == pytest.approx(12.8)


def test_restriction_refines_a_loose_bound_with_exact_distances():
    # the sites sit in the envelope of a huge C-shaped PA whose boundary is far:
    # the farthest-corner bound keeps everything, the exact distance to the C's
    # boundary (about 1 degree away) keeps only the PAs near the sites
    outer = shapely.box(-70.0, -20.0, -50.0, 0.0)
    c_shape = shapely.difference(outer, shapely.box(-69.0, -19.0, -50.0, -1.0))
    rng = np.random.default_rng(12)
    small = scattered_polygons(rng, 600, (-66.0, -52.0), (-18.0, -2.0))
    polys = np.r_[np.array([c_shape]), small]
    lon = rng.normal(-68.0, 0.1, 50)
    lat = rng.normal(-10.0, 0.1, 50)
    keep = restricted_equals_full(polys, lon, lat)
    assert 0 in keep and keep.size < 60
    # what the loose bound alone would reach: the C's whole envelope
    near_c = shapely.intersects(shapely.box(-70.0, -20.0, -50.0, 0.0), small)
    assert near_c.sum() > 500


def test_restriction_once_refined_is_kept_above_max_share():
    """Sites in the hole of a C whose envelope holds them and whose boundary is 9 degrees
    away: the exact bound keeps the C, four squares 1 degree away and a few of the boxes
    13 degrees away, more than ``max_share`` of the vertices but fewer than all: kept
    (the refinement was paid for)."""
    c_shape = shapely.difference(shapely.box(-10, -10, 10, 10), shapely.box(-9, -9, 10, 9))
    squares = [
        shapely.box(x, y, x + 0.1, y + 0.1) for x, y in ((1, 0), (-1.1, 0), (0, 1), (0, -1.1))
    ]
    rng = np.random.default_rng(4)
    ang = rng.uniform(0, 2 * np.pi, 200)
    far = [
        shapely.box(13 * np.cos(a), 13 * np.sin(a), 13 * np.cos(a) + 0.1, 13 * np.sin(a) + 0.1)
        for a in ang
    ]
    polys = np.array([c_shape, *squares, *far], dtype=object)
    lon = rng.normal(0.0, 0.02, 20)
    lat = rng.normal(0.0, 0.02, 20)
    nv = shapely.get_num_coordinates(polys)
    keep = restricted_equals_full(polys, lon, lat, max_share=1.0)
    assert {0, 1, 2, 3, 4} <= set(keep.tolist()) and keep.size < 20
    share = (nv[keep].sum() - 1) / nv.sum()  # just below what the exact bound keeps
    assert nv[0] * 2 <= share * nv.sum()  # the C (the nearest envelope) is cheap to refine with
    tight = restricted_equals_full(polys, lon, lat, max_share=share)
    np.testing.assert_array_equal(tight, keep)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    m=st.integers(1, 30),
    scale=st.sampled_from([1e3, 1e5, 3e6, 2e7]),
)
def test_ball_finds_every_centre_within_its_radius(seed, n, m, scale):
    # the k-nearest search grown until the k-th is beyond the radius, against all pairs
    rng = np.random.default_rng(seed)
    centres = ecef(rng.uniform(-180, 180, n), rng.uniform(-90, 90, n))
    bucket = _Bucket(KDTree(centres, leafsize=16), np.arange(n) + 7, 0.0)
    q = ecef(rng.uniform(-180, 180, m), rng.uniform(-90, 90, m))
    radius = rng.uniform(0.0, scale, m)
    radius[rng.random(m) < 0.1] = np.inf  # not searched
    rows, chunks, dist = _ball(bucket, q, radius)
    apart = np.sqrt(((q[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(dist, apart[rows, chunks - 7], rtol=1e-9, atol=1e-6)
    i, j = np.nonzero((apart <= radius[:, None]) & np.isfinite(radius)[:, None])
    want = set(zip(i.tolist(), j.tolist(), strict=True))
    got = list(zip(rows.tolist(), (chunks - 7).tolist(), strict=True))
    assert len(got) == len(set(got))  # each pair once
    assert set(got) == want


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lat0=st.floats(-70.0, 70.0),
    gap=st.floats(0.0, 20.0),
)
def test_nearest_matches_brute_force_property(seed, lat0, gap):
    # small worlds: a few polygons, sites from on top of them to 20 degrees away
    rng = np.random.default_rng(seed)
    polys = star_polygons(rng, 4, (20.0, 24.0), (lat0, lat0 + 4.0), vertices=12)
    polys = shapely.make_valid(polys)
    lon = 22.0 + rng.uniform(-1.0, 1.0, 6) + gap * rng.choice([-1.0, 1.0], 6)
    lat = np.clip(lat0 + 2.0 + rng.uniform(-3.0, 3.0, 6), -89.0, 89.0)
    d = BoundaryIndex(polys).nearest(lon, lat)[0]
    exp, _ = brute(lon, lat, polys, step=0.002)
    # the densified brute force overestimates by a few metres at most
    np.testing.assert_allclose(d, exp, rtol=5e-3, atol=60.0)
    assert (d <= exp * (1 + 1e-6)).all()


def test_blocks_of_sites_give_the_same_results(monkeypatch):
    import asm_pace._nearest as nearest

    rng = np.random.default_rng(11)
    polys = star_polygons(rng, 6, (20.0, 24.0), (-5.0, 5.0))
    lon, lat = rng.uniform(15.0, 30.0, 60), rng.uniform(-10.0, 10.0, 60)
    bound = np.where(rng.random(60) < 0.3, 50_000.0, np.inf)
    idx = BoundaryIndex(polys)
    whole = idx.nearest_segment(lon, lat, bound)
    monkeypatch.setattr(nearest, "_BLOCK", 7)  # 9 blocks, the last of 4 sites
    blocks = idx.nearest_segment(lon, lat, bound)
    for a, b in zip(whole, blocks, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(whole[0]).any() and np.isfinite(whole[0]).any()  # both kinds of sites


def test_rings_are_the_parts_of_the_boundaries_in_order():
    # polygons with and without holes, multipolygons, mixed: the parts shapely gives
    holed = shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2))
    multi = shapely.MultiPolygon([shapely.box(5, 5, 6, 6), shapely.box(7, 7, 8, 8)])
    plain = shapely.box(10, 0, 11, 1)
    for geoms in ([plain, plain], [holed, multi], [plain, holed, plain, multi, plain]):
        lines = shapely.boundary(np.array(geoms, dtype=object))
        parts, owner = _rings(lines)
        want, want_owner = shapely.get_parts(lines, return_index=True)
        np.testing.assert_array_equal(owner, want_owner)
        assert shapely.equals_exact(parts, want, tolerance=0.0).all()


def test_rowdot_is_the_row_sum_of_products():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1000, 3)) * 6e6, rng.normal(size=(1000, 3))
    np.testing.assert_array_equal(rowdot(a, b), (a * b).sum(axis=1))


@pytest.mark.parametrize("sort", [True, False])
def test_best_is_the_first_smallest_of_each_row(sort):
    rng = np.random.default_rng(4)
    rows = rng.integers(0, 30, 400)
    rows = np.sort(rows) if sort else rows
    d = rng.integers(0, 5, 400).astype(float)  # many ties
    d[rows == 7] = np.nan  # a row without a number: none picked
    with np.errstate(invalid="ignore"):  # the NaN row (chord distances never are)
        got = BoundaryIndex._best(rows, d, 30)
    want = []
    for r in np.unique(rows):
        at = np.flatnonzero(rows == r)
        if np.isnan(d[at]).all():
            continue
        want.append(at[np.nanargmin(d[at])])
    np.testing.assert_array_equal(np.sort(got), np.sort(want))
    assert BoundaryIndex._best(rows[:0], d[:0], 30).size == 0
    with np.errstate(invalid="ignore"):
        assert BoundaryIndex._best(np.array([1, 1]), np.array([np.nan, np.nan]), 3).size == 0
