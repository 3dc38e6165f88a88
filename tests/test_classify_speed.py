"""Issue 10: repair once (the readers' validity mark) and far footprints as cheap as centroids.

Distances are checked against brute force with pyproj.Geod over densified boundaries;
the validity mark by counting the geometries classify and overlaps still check.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace import classify
from asm_pace._nearest import chord_within, ecef
from asm_pace._vector import known_valid, mark_valid, repair_polygons_counted
from asm_pace.errors import RepairedGeometryWarning

GEOD = Geod(ellps="WGS84")
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
WORLD_ECO = gpd.GeoDataFrame(
    {
        "eco_id": pd.array([1], dtype="Int64"),
        "eco_name": ["world"],
        "biome": pd.array([1], dtype="Int64"),
        "g200_region": [""],
        "is_g200": [False],
    },
    geometry=[shapely.box(-180, -90, 180, 90)],
    crs=4326,
)


def pa_frame(geoms) -> gpd.GeoDataFrame:
    n = len(geoms)
    return gpd.GeoDataFrame(
        {
            "pa_id": [str(100 + i) for i in range(n)],
            "name": [f"Park {i}" for i in range(n)],
            "designation": "National Park",
            "iucn_category": "II",
            "status_year": pd.array([2000] * n, dtype="Int64"),
            "world_heritage": False,
            "ramsar": False,
        },
        geometry=list(geoms),
        crs=4326,
    )


# -- the bound the nearest search prunes with ------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    az=st.floats(0, 360),
    km=st.floats(0.001, 19_000),
)
def test_no_geodesic_spans_a_longer_chord_than_chord_within(lon, lat, az, km):
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, km * 1000.0)
    g = GEOD.inv(lon, lat, lon2, lat2)[2]  # the geodesic distance (shorter way round)
    chord = float(
        np.linalg.norm(
            ecef(np.array([lon]), np.array([lat]))[0] - ecef(np.array([lon2]), np.array([lat2]))[0]
        )
    )
    assert chord <= chord_within(np.array([g]))[0]


def test_chord_within_is_tight_where_the_earth_is_flattest():
    # near a pole the surface is a sphere of radius a^2/b: a 1,000 km meridian arc through
    # the pole spans almost exactly the chord the bound allows
    lon2, lat2, _ = GEOD.fwd(0.0, 85.5, 0.0, 1_000_000.0)
    chord = float(
        np.linalg.norm(
            ecef(np.array([0.0]), np.array([85.5]))[0] - ecef(np.array([lon2]), np.array([lat2]))[0]
        )
    )
    bound = chord_within(np.array([1_000_000.0]))[0]
    assert chord <= bound < chord + 50.0
    assert bound < 1_000_000.0 - 1_000.0  # 1 km tighter than the geodesic itself


# -- far footprints: brute force -----------------------------------------------------------


def brute_footprint(foot: shapely.Geometry, pas: np.ndarray, step: float = 0.0005):
    """Smallest Geod.inv distance between densified boundaries, and the PA holding it.

    PA boundary points farther from the footprint's first vertex than the nearest one
    plus twice the footprint's reach cannot be nearest to any of its points (triangle
    inequality), so only the others are paired with every footprint point.
    """
    fxy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(foot), step))
    pxy, owner = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(pas), step), return_index=True
    )
    n = len(pxy)
    d0 = GEOD.inv(np.full(n, fxy[0, 0]), np.full(n, fxy[0, 1]), pxy[:, 0], pxy[:, 1])[2]
    m = len(fxy)
    reach = GEOD.inv(np.full(m, fxy[0, 0]), np.full(m, fxy[0, 1]), fxy[:, 0], fxy[:, 1])[2].max()
    keep = np.flatnonzero(d0 <= d0.min() + 2 * reach + 10.0)
    a = np.repeat(fxy, len(keep), axis=0)
    b = np.tile(pxy[keep], (m, 1))
    d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
    best = int(d.argmin())
    who = owner[keep][best % len(keep)]
    other = d[owner[keep][np.arange(len(d)) % len(keep)] != who]
    return float(d[best]), int(who), float(other.min()) if other.size else np.inf


def star(cx, cy, r, n, phase):
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    rad = r * (1 + 0.3 * np.sin(3 * ang + phase))
    return shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat0=st.floats(-60, 60),
    km=st.floats(20, 2500),
    bearing=st.floats(0, 360),
    size=st.floats(0.005, 0.08),
    cluster=st.integers(1, 3),
    seed=st.integers(0, 10_000),
)
def test_far_footprints_match_brute_force(lat0, km, bearing, size, cluster, seed):
    rng = np.random.default_rng(seed)
    pas = np.array(
        [star(10.0 + 0.6 * i, lat0 + 0.3 * (i % 2), 0.2, 60, rng.uniform(0, 6)) for i in range(3)]
    )
    # a district of footprints km away, each a few km from the next: a vertex of one
    # protected area may be nearer to a neighbour than to the footprint it is nearest to
    lon1, lat1, _ = GEOD.fwd(10.6, lat0, bearing, km * 1000.0 + 50_000.0)
    feet = []
    for j in range(cluster):
        cx, cy = lon1 + 0.03 * j, lat1 + 0.02 * j
        feet.append(shapely.affinity.rotate(star(cx, cy, size, 7 + j, 0.3 * j), rng.uniform(0, 90)))
    sites = gpd.GeoDataFrame(
        {"site_id": [f"F{j}" for j in range(cluster)]}, geometry=feet, crs=4326
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = classify(sites, pa_frame(pas), WORLD_ECO)
    for j, foot in enumerate(feet):
        if out["nearest_pa_km"].iloc[j] == 0:  # it overlaps a protected area
            assert shapely.intersects(foot, pas).any()
            continue
        d, who, runner_up = brute_footprint(foot, pas)
        got = out["nearest_pa_km"].iloc[j] * 1000.0
        # both are distances between boundary points: the densified brute force is at
        # most half a 55 m step above the minimum on each side, classify a metre
        assert got <= d + 1.0
        assert got >= d - 60.0
        if runner_up > d + 120.0:
            assert out["nearest_pa_id"].iloc[j] == str(100 + who)


@pytest.mark.realdata
def test_far_footprints_cost_like_their_centroids(realdata):
    """Amazon Mining Watch footprints against Peru's national layer: same answers as a
    brute-force check on a few, and no more work for footprints than the vertices
    asked (before: every protected-area vertex within ~2,000 km was asked)."""
    from asm_pace import _nearest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(
            realdata / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg", statuses=None
        )
        feet = asm_pace.read_sites(
            realdata / "amw_peru_amazon" / "mining_202400_simplified.geojson"
        )
    asked = []
    # the protected-area vertices asked (vertices_in_balls asks through it too)
    real = _nearest.BoundaryIndex.vertices_of_chunks

    def counting(self, q, reach, rows, chunks, pairs=False):
        out = real(self, q, reach, rows, chunks, pairs)
        asked.append(np.unique(out[1]).size if isinstance(out, tuple) else out.size)
        return out

    _nearest.BoundaryIndex.vertices_of_chunks = counting
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = classify(feet, pas, WORLD_ECO)
    finally:
        _nearest.BoundaryIndex.vertices_of_chunks = real
    total = int(shapely.get_num_coordinates(pas.geometry.values).sum())
    assert 0 < sum(asked) < total / 10  # the front of the nearest areas, not the whole layer
    geoms = np.asarray(feet.geometry.values)
    pa_geoms = np.asarray(pas.geometry.values)
    far = np.flatnonzero(out["nearest_pa_km"].to_numpy() > 1000)
    assert far.size > 1000
    rng = np.random.default_rng(1)
    for i in rng.choice(far, 4, replace=False):
        near = np.argsort(shapely.distance(geoms[i], pa_geoms))[:8]  # degrees: ample
        d, _, _ = brute_footprint(geoms[i], pa_geoms[near], step=0.002)
        assert out["nearest_pa_km"].iloc[i] * 1000 == pytest.approx(d, abs=250.0)


# -- repair once -----------------------------------------------------------------------------


def count_checks(monkeypatch, module) -> list[int]:
    """Record how many geometries each shapely.is_valid call in ``module`` receives."""
    seen: list[int] = []
    real = shapely.is_valid

    def counting(geoms, *args, **kwargs):
        seen.append(int(np.size(geoms)))
        return real(geoms, *args, **kwargs)

    monkeypatch.setattr(module.shapely, "is_valid", counting)
    return seen


def test_a_readers_layer_is_not_checked_again(monkeypatch):
    from asm_pace import classification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(SAMPLES / "protected_areas.gpkg")
        eco = asm_pace.read_ecoregions(SAMPLES / "ecoregions.gpkg")
        sites = asm_pace.read_sites(SAMPLES / "sites.csv")
    assert known_valid(pas).all() and known_valid(eco).all()
    seen = count_checks(monkeypatch, classification)
    first = classify(sites, pas, eco)
    assert sum(seen) == 0  # sites are points: nothing at all was checked
    # the same layer without its mark: the same table, every near area checked
    bare = pas.copy()
    del bare.attrs["valid_geometry"]
    seen.clear()
    again = classify(sites, bare, _unmarked(eco))
    assert sum(seen) >= len(eco)
    pd.testing.assert_frame_equal(first, again)


def _unmarked(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.attrs.pop("valid_geometry", None)
    return out


def test_an_edited_row_is_checked_and_repaired():
    # a reader's layer (marked), then the user replaces one area by a bow-tie
    pas = mark_valid(pa_frame([shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)]))
    bowtie = shapely.Polygon([(3, 0), (4, 1), (4, 0), (3, 1)])  # two triangles meeting at 3.5
    pas.loc[1, "geometry"] = bowtie
    assert known_valid(pas).tolist() == [True, False]
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B"]},
        geometry=[shapely.Point(3.9, 0.5), shapely.Point(3.5, 0.9)],
        crs=4326,
    )
    with pytest.warns(RepairedGeometryWarning, match="pa_id 101"):
        out = classify(sites, pas, WORLD_ECO)
    # repaired, A lies in the right-hand triangle; B lies above the crossing point, outside,
    # 0.2 degrees from the edge x + y = 4 of the left-hand one (foot at 3.3, 0.7)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(
        GEOD.inv(3.5, 0.9, 3.3, 0.7)[2] / 1000.0, rel=2e-3
    )


def test_the_mark_follows_the_geometry_objects():
    geoms = [shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1), shapely.box(4, 0, 5, 1)]
    pas = mark_valid(pa_frame(geoms))
    assert known_valid(pas.copy()).all()  # copies keep the objects
    assert known_valid(pas.iloc[[2, 0]]).all()  # so do subsets, in any order
    added = pd.concat([pas, pa_frame([shapely.box(6, 0, 7, 1)])], ignore_index=True)
    assert not known_valid(added).any()  # pandas drops attrs that differ: all checked
    added.attrs = dict(pas.attrs)  # kept by hand: only the new row is checked
    assert known_valid(added).tolist() == [True, True, True, False]
    moved = pas.to_crs(3857).to_crs(4326)  # reprojected: new objects, checked again
    assert not known_valid(moved).any()
    # pickled (a process pool): new objects too, and no second copy of the geometries
    import pickle

    bare = pas.copy()
    bare.attrs = {}
    assert not known_valid(pickle.loads(pickle.dumps(pas))).any()
    assert len(pickle.dumps(pas)) < len(pickle.dumps(bare)) + 200
    # a repair keeps the mark on what it checked and adds what it repaired
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed, repaired, _ = repair_polygons_counted(added.set_geometry([*geoms, bowtie]))
    assert repaired == 1 and known_valid(fixed).all()
    assert shapely.is_valid(np.asarray(fixed.geometry.values)).all()


def test_overlaps_does_not_check_a_marked_layer_again(monkeypatch):
    from asm_pace import _vector

    pas = mark_valid(pa_frame([shapely.box(0, 0, 1, 1), shapely.box(0.5, 0, 2, 1)]))
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1"]}, geometry=[shapely.box(0.2, 0.2, 0.8, 0.8)], crs=4326
    )
    seen = count_checks(monkeypatch, _vector)
    res = asm_pace.overlaps(zones, pas)
    assert 2 not in seen  # the two protected areas were not checked again
    # the zone is wholly inside the first area: share 1 (whatever the second adds)
    assert res.zones["pa_share"].iloc[0] == pytest.approx(1.0)
