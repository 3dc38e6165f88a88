"""Issue 10, classify at every size: the pruned searches against brute force, the kept index.

The nearest search and the footprint distance prune with bounds (the first vertex's
segment, chunk spheres, the ball around a footprint); each is checked here against the
same distance computed over every pair with no pruning: Earth-centred coordinates from
pyproj (EPSG:4978), the foot of the perpendicular on every segment, pyproj.Geod.inv to it.
The envelope index kept with a reader's layer is checked against a layer without it after
the layer is edited, filtered and reordered.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from asm_pace import classify
from asm_pace._nearest import BoundaryIndex, layer_envelopes
from asm_pace._vector import mark_valid
from asm_pace.classification import _footprint_distance
from test_classify_speed import WORLD_ECO, pa_frame  # one world ecoregion; PA layers

GEOD = Geod(ellps="WGS84")
ECEF = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)


def xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y, z = ECEF.transform(lon, lat, np.zeros_like(lon))
    return np.stack([x, y, z], axis=-1)


def segments(geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every boundary segment (start, end in lon/lat) and its polygon's position."""
    parts, owner = shapely.get_parts(shapely.boundary(np.asarray(geoms)), return_index=True)
    xy, line = shapely.get_coordinates(parts, return_index=True)
    seg = np.flatnonzero(line[:-1] == line[1:])
    return xy[seg], xy[seg + 1], owner[line[seg]]


def brute(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(point x segment) geodesic distances to the perpendicular's foot, every pair."""
    s = xyz(points[:, 0], points[:, 1])[:, None, :]
    a = xyz(start[:, 0], start[:, 1])[None]
    ab = xyz(end[:, 0], end[:, 1])[None] - a
    t = np.clip(((s - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    foot = start[None] + t[..., None] * (end - start)[None]
    lon = np.broadcast_to(points[:, None, 0], t.shape)
    lat = np.broadcast_to(points[:, None, 1], t.shape)
    return GEOD.inv(lon.ravel(), lat.ravel(), foot[..., 0].ravel(), foot[..., 1].ravel())[
        2
    ].reshape(t.shape)


def star(rng, cx, cy, r, n):
    """A star-shaped ring of n vertices (edges short of the index's 0.02 degrees)."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r * rng.uniform(0.6, 1.0, n)
    ring = np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]
    return shapely.segmentize(shapely.Polygon(ring), 0.015)


def layer(rng, lon0, lat0, k):
    """k areas a few tenths of a degree apart: fine (0.001 degree) and coarse edges."""
    geoms = []
    for i in range(k):
        g = star(rng, lon0 + 0.35 * i, lat0 + 0.2 * (i % 2), rng.uniform(0.05, 0.15), 9)
        geoms.append(shapely.segmentize(g, 0.001) if i % 2 else g)
    return np.array(geoms)


def district(rng, lat0, km, bearing, size, n):
    """Three areas near (10.35, lat0) and ``n`` star footprints of ``size`` degrees a few km
    apart, ``km`` away towards ``bearing`` (near, overlapping or far)."""
    pas = layer(rng, 10.0, lat0, 3)
    lon1, lat1, _ = GEOD.fwd(10.35, lat0, bearing, km * 1000.0)
    feet = [
        star(rng, lon1 + 0.03 * j, lat1 + 0.02 * j, size, int(rng.integers(4, 12)))
        for j in range(n)
    ]
    return pas, np.array(feet)


def unique_min(d: np.ndarray, owner: np.ndarray) -> bool:
    """The minimum is held by one polygon with a margin (else the owner is a tie)."""
    best = d.min()
    return bool((d[owner != owner[d.argmin()]] > best + 0.01).all())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat0=st.floats(-70, 70),
    km=st.floats(0.0, 3000.0),
    bearing=st.floats(0, 360),
    seed=st.integers(0, 10_000),
)
def test_nearest_is_the_minimum_over_every_segment(lat0, km, bearing, seed):
    rng = np.random.default_rng(seed)
    pas = layer(rng, 20.0, lat0, 4)
    lon1, lat1, _ = GEOD.fwd(20.5, lat0, bearing, km * 1000.0)
    pts = np.c_[lon1 + rng.normal(0, 0.2, 5), np.clip(lat1 + rng.normal(0, 0.2, 5), -89, 89)]
    d, owner, _, _ = BoundaryIndex(pas).nearest(pts[:, 0], pts[:, 1])
    start, end, seg_owner = segments(pas)
    every = brute(pts, start, end)
    for i in range(len(pts)):
        assert d[i] == pytest.approx(every[i].min(), abs=1e-4)
        if unique_min(every[i], seg_owner):
            assert owner[i] == seg_owner[every[i].argmin()]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat0=st.floats(-60, 60),
    km=st.floats(0.0, 2500.0),
    bearing=st.floats(0, 360),
    size=st.floats(0.003, 0.05),
    seed=st.integers(0, 10_000),
)
def test_footprint_distance_is_the_minimum_over_every_pair(lat0, km, bearing, size, seed):
    # footprints near, overlapping or far (a district of three, a few km apart): both ways
    # round (footprint vertices to area edges, area vertices to footprint edges)
    rng = np.random.default_rng(seed)
    pas, feet = district(rng, lat0, km, bearing, size, 3)
    d, owner = _footprint_distance(feet, BoundaryIndex(pas))
    start, end, seg_owner = segments(pas)
    pa_xy, pa_line = shapely.get_coordinates(
        shapely.get_parts(shapely.boundary(pas)), return_index=True
    )
    _, part_owner = shapely.get_parts(shapely.boundary(pas), return_index=True)
    for j, foot in enumerate(feet):
        fxy = shapely.get_coordinates(shapely.boundary(foot))
        one = brute(fxy, start, end)  # footprint vertices -> area edges
        other = brute(pa_xy, fxy[:-1], fxy[1:])  # area vertices -> footprint edges
        dist = np.r_[one.min(axis=0), other.min(axis=1)]
        who = np.r_[seg_owner, part_owner[pa_line]]
        assert d[j] == pytest.approx(dist.min(), abs=1e-4)
        if unique_min(dist, who):
            assert owner[j] == who[dist.argmin()]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat0=st.floats(-60, 60),
    km=st.floats(0.0, 1500.0),
    bearing=st.floats(0, 360),
    seed=st.integers(0, 10_000),
)
def test_second_pass_on_the_chunks_of_the_first_or_its_own_search(lat0, km, bearing, seed):
    # the area vertices near a footprint come from the chunks its first pass gathered
    # (a ball a few metres wider) or, where that ball does not hold the second one, from
    # a search of their own: without the extra metres most take the second way; the same
    from asm_pace import _nearest

    rng = np.random.default_rng(seed)
    pas, feet = district(rng, lat0, km, bearing, 0.02, 4)
    idx = BoundaryIndex(pas)
    d, owner = _footprint_distance(feet, idx)
    pad = _nearest._GATHER_PAD_M
    try:
        _nearest._GATHER_PAD_M = 0.0
        d0, owner0 = _footprint_distance(feet, idx)
    finally:
        _nearest._GATHER_PAD_M = pad
    np.testing.assert_array_equal(d0, d)
    np.testing.assert_array_equal(owner0, owner)


def test_a_bound_leaves_the_distances_below_it():
    rng = np.random.default_rng(3)
    idx = BoundaryIndex(layer(rng, 0.0, 0.0, 4))
    pts = np.c_[rng.uniform(-0.5, 1.5, 40), rng.uniform(-0.5, 0.5, 40)]
    free, _, _, _ = idx.nearest(pts[:, 0], pts[:, 1])
    bound = np.quantile(free, 0.5)
    d, owner, _, _ = idx.nearest(pts[:, 0], pts[:, 1], bound=np.full(40, bound))
    below = free <= bound
    np.testing.assert_array_equal(d[below], free[below])
    assert np.isnan(d[~below]).all() and (owner[~below] == -1).all()
    own = np.zeros(40, dtype="int64")
    full = idx.distance_to_own(pts[:, 0], pts[:, 1], own)
    part = idx.distance_to_own(pts[:, 0], pts[:, 1], own, bound=np.full(40, bound))
    np.testing.assert_array_equal(part[full < bound], full[full < bound])
    assert (part[full >= bound] >= bound).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), far=st.floats(0.0, 20.0))
def test_group_bounds_keep_each_group_nearest(seed, far):
    # footprints' shortcuts: a bound and a shortlist per group, against every point alone
    rng = np.random.default_rng(seed)
    idx = BoundaryIndex(layer(rng, 0.0, 0.0, 4))
    pts = np.c_[rng.uniform(-0.5, 1.5, 40) + far, rng.uniform(-0.5, 0.5, 40)]
    group = np.sort(np.unique(rng.integers(0, 8, 40), return_inverse=True)[1])  # 0, 1, ...
    ng = int(group.max()) + 1
    alone, seg, _, _ = idx.nearest_segment(pts[:, 0], pts[:, 1])
    want = np.full(ng, np.inf)
    np.minimum.at(want, group, alone)
    bound = idx.group_bound(pts[:, 0], pts[:, 1], seg, group)  # a distance to a boundary point
    assert (bound >= want[group] * (1 - 1e-12)).all()
    # each group's nearest within the bound (held by its points alone) is found exactly
    first = np.unique(group, return_index=True)[1]
    d, _ = idx.nearest_in_groups(pts[:, 0], pts[:, 1], group, bound[first])
    got = np.full(ng, np.inf)
    np.minimum.at(got, group, np.where(np.isnan(d), np.inf, d))
    np.testing.assert_array_equal(got, want)
    # with a direction per group (any unit vector bounds; random ones here): the same
    toward = rng.normal(size=(ng, 3))
    toward /= np.linalg.norm(toward, axis=1)[:, None]
    d, _ = idx.nearest_in_groups(pts[:, 0], pts[:, 1], group, bound[first], toward=toward)
    got = np.full(ng, np.inf)
    np.minimum.at(got, group, np.where(np.isnan(d), np.inf, d))
    np.testing.assert_array_equal(got, want)
    # distance to the own polygon: each owner's nearest as without sharing
    full = idx.distance_to_own(pts[:, 0], pts[:, 1], group % 4)
    shared = idx.distance_to_own(pts[:, 0], pts[:, 1], group % 4, shared=True)
    assert (shared >= full).all()
    for o in np.unique(group % 4):
        assert shared[group % 4 == o].min() == full[group % 4 == o].min()


# -- the envelope index kept with a reader's layer -----------------------------------------


def bare(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.attrs = {}
    return out


def test_the_kept_index_follows_edits_filters_and_order():
    rng = np.random.default_rng(5)
    pas = mark_valid(pa_frame(layer(rng, 0.0, 0.0, 6)))
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(30)]},
        geometry=shapely.points(rng.uniform(-0.3, 2.2, 30), rng.uniform(-0.4, 0.6, 30)),
        crs=4326,
    )

    def same(layer_: gpd.GeoDataFrame) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = classify(sites, layer_, WORLD_ECO)
            want = classify(sites, bare(layer_), WORLD_ECO)  # no mark: nothing kept
        pd.testing.assert_frame_equal(got, want)

    same(pas)
    assert layer_envelopes(pas) is layer_envelopes(pas.copy())  # built once, kept
    # a park moved next to the sites: new envelopes, new answers
    pas.loc[3, "geometry"] = shapely.box(-0.25, 0.45, -0.2, 0.5)
    same(pas)
    assert shapely.bounds(layer_envelopes(pas).tree.geometries[3]).tolist() == [
        -0.25,
        0.45,
        -0.2,
        0.5,
    ]
    # an edited row is not the mark's: not kept (nothing outside the mark is held alive)
    assert layer_envelopes(pas) is not layer_envelopes(pas)
    mark = pas.attrs["valid_geometry"]
    for entry in mark.cache["envelopes"]:
        assert mark.covers(entry._held).all()
    same(pas.iloc[[5, 1, 3]])  # filtered and reordered: the same mark, its own index
    same(pas.iloc[::-1])
    same(pas)
