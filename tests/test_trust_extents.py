"""Extents (issue 9, class 7): results that depend on where a layer was read are marked.

A protected-area layer read for a box (``attrs["bbox"]``) holds every area meeting the box;
a site nearer to the box's edge than to the nearest area read may have a nearer one outside
(``nearest_pa_beyond_extent``), and a buffer reaching past the box has an incomplete overlap
(``pa_beyond_extent``). Expected values come from the FULL layer (the same computation
without a box) and from pyproj.Geod along densified edges.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas import GeoDataFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace import buffers, classify, overlaps
from asm_pace._nearest import box_edge_distance
from asm_pace.errors import ExtentWarning, InputError

GEOD = Geod(ellps="WGS84")


def pas_layer(geoms, box=None, **attrs) -> GeoDataFrame:
    n = len(geoms)
    pas = GeoDataFrame(
        {
            "pa_id": [str(900001 + i) for i in range(n)],
            "name": [f"Park {i}" for i in range(n)],
            "designation": ["National Park"] * n,
            "iucn_category": ["II"] * n,
            "status_year": pd.array([2000] * n, dtype="Int64"),
            "world_heritage": [False] * n,
            "ramsar": [False] * n,
        },
        geometry=list(geoms),
        crs=4326,
    )
    pas.attrs.update(source="pas.gpkg", **attrs)
    if box is not None:
        # what read_protected_areas(bbox=box) keeps: every area meeting the box
        pas = pas[pas.intersects(shapely.box(*box))].reset_index(drop=True)
        pas.attrs.update(source="pas.gpkg", bbox=tuple(box), **attrs)
    return pas


# one plain (not Global 200) ecoregion over the whole world: no class depends on it
WORLD = GeoDataFrame(
    {
        "eco_id": pd.array([1], dtype="Int64"),
        "eco_name": ["World"],
        "biome": pd.array([1], dtype="Int64"),
        "g200_region": [""],
        "is_g200": [False],
    },
    geometry=[shapely.box(-180, -90, 180, 90)],
    crs=4326,
)


def sites_layer(*geoms) -> GeoDataFrame:
    ids = [f"S{i + 1}" for i in range(len(geoms))]
    out = GeoDataFrame({"site_id": ids}, geometry=list(geoms), crs=4326)
    out.attrs["source"] = "sites.csv"
    return out


def quiet_classify(sites, pas, eco=WORLD):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtentWarning)
        return classify(sites, pas, eco)


def brute_edge_m(lon: float, lat: float, box) -> float:
    """pyproj.Geod to 20,001 points along each of the box's real edges (parallels at the
    poles and meridians of a box going all the way round are no edge)."""
    minx, miny, maxx, maxy = box
    ys = np.linspace(miny, maxy, 20_001)
    xs = np.linspace(minx, maxx, 20_001)
    edges = []
    if minx > -180 or maxx < 180:
        edges += [(np.full(ys.size, minx), ys), (np.full(ys.size, maxx), ys)]
    if miny > -90:
        edges.append((xs, np.full(xs.size, miny)))
    if maxy < 90:
        edges.append((xs, np.full(xs.size, maxy)))
    x = np.concatenate([e[0] for e in edges])
    y = np.concatenate([e[1] for e in edges])
    return float(GEOD.inv(np.full(x.size, lon), np.full(x.size, lat), x, y)[2].min())


@pytest.mark.parametrize(
    "box, lon, lat",
    [
        ((-1, -1, 1, 1), 0.3, 0.2),
        ((-80, -20, -60, 0), -61.0, -19.5),
        ((10, 60, 30, 75), 20.0, 74.0),  # the parallel at 75 N: the meridian arc
        ((10, 60, 30, 75), 11.0, 67.0),  # the meridian at 10 E, high up
        ((-180, -30, 180, 10), 179.5, 0.0),  # all the way round: only the parallels
        ((-180, 70, -170, 90), -175.0, 89.0),  # to the pole: no edge there
    ],
)
def test_box_edge_distance_matches_geod(box, lon, lat):
    got = float(box_edge_distance(np.array([lon]), np.array([lat]), box)[0])
    assert got == pytest.approx(brute_edge_m(lon, lat, box), abs=2.0)
    # outside the box: no distance to spare
    below = box_edge_distance(np.array([lon]), np.array([box[1] - 0.5]), box)
    assert below.tolist() == [0.0]


def test_a_nearer_area_outside_the_box_is_flagged():
    box = (-1.0, -1.0, 1.0, 1.0)
    park_in = shapely.box(-0.6, -0.1, -0.5, 0.1)
    park_out = shapely.box(1.5, -0.1, 1.6, 0.1)  # its envelope misses the box: not read
    sites = sites_layer(shapely.Point(0.8, 0.0), shapely.Point(-0.4, 0.0))
    read = pas_layer([park_in, park_out], box=box)
    assert read["name"].tolist() == ["Park 0"]
    with pytest.warns(ExtentWarning, match=r"for 1 of 2 site\(s\) the nearest protected area"):
        out = classify(sites, read, WORLD)
    full = quiet_classify(sites, pas_layer([park_in, park_out]))
    # S1: 1.3 degrees west to the park read, 0.7 degrees east to the one outside, 0.2
    # degrees to the box's east edge (all along the equator: geodesics)
    west = GEOD.inv(0.8, 0.0, -0.5, 0.0)[2] / 1000
    east = GEOD.inv(0.8, 0.0, 1.5, 0.0)[2] / 1000
    edge = GEOD.inv(0.8, 0.0, 1.0, 0.0)[2] / 1000
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(west, rel=1e-6)
    assert full["nearest_pa_km"].iloc[0] == pytest.approx(east, rel=1e-6)
    assert out["nearest_pa_beyond_extent"].tolist() == [True, False]
    assert f"at least {edge:.1f} km away" in out["reason"].iloc[0]
    # S2: 0.1 degree from the park read, 0.6 from the box's edge: provably the nearest
    assert out["nearest_pa_km"].iloc[1] == full["nearest_pa_km"].iloc[1]
    assert "outside the box" not in out["reason"].iloc[1]
    assert not full["nearest_pa_beyond_extent"].any()


@st.composite
def scene(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lat0 = draw(st.sampled_from([-60.0, -12.0, 0.0, 45.0, 70.0]))
    n = int(rng.integers(3, 12))
    cx, cy = rng.uniform(-4, 4, n), lat0 + rng.uniform(-4, 4, n)
    w, h = rng.uniform(0.05, 0.6, n), rng.uniform(0.05, 0.6, n)
    parks = shapely.box(cx - w, cy - h, cx + w, cy + h)
    bx = sorted(rng.uniform(-3, 3, 2))
    by = sorted(lat0 + rng.uniform(-3, 3, 2))
    box = (bx[0] - 0.2, by[0] - 0.2, bx[1] + 0.2, by[1] + 0.2)
    k = int(rng.integers(1, 6))
    px = rng.uniform(box[0], box[2], k)
    py = rng.uniform(box[1], box[3], k)
    pts = list(shapely.points(px, py))
    # a small footprint inside the box too
    fx = float(rng.uniform(box[0] + 0.05, box[2] - 0.05))
    fy = float(rng.uniform(box[1] + 0.05, box[3] - 0.05))
    return parks, box, [*pts, shapely.box(fx - 0.03, fy - 0.02, fx + 0.03, fy + 0.02)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene())
def test_unflagged_distances_equal_the_full_layer(case):
    parks, box, geoms = case
    read = pas_layer(parks, box=box)
    if not len(read):
        return
    sites = sites_layer(*geoms)
    out = quiet_classify(sites, read)
    full = quiet_classify(sites, pas_layer(parks))
    ok = ~out["nearest_pa_beyond_extent"].to_numpy()
    np.testing.assert_allclose(
        out["nearest_pa_km"].to_numpy()[ok], full["nearest_pa_km"].to_numpy()[ok], atol=1e-6
    )
    assert (out["pace_class"] == full["pace_class"]).all()  # every site is in the box
    # a flagged distance is an upper bound of the true one
    assert (out["nearest_pa_km"] >= full["nearest_pa_km"] - 1e-6).all()


def test_a_site_outside_the_box_is_refused():
    read = pas_layer([shapely.box(0, 0, 1, 1)], box=(-1, -1, 2, 2))
    sites = sites_layer(shapely.Point(0.5, 0.5), shapely.Point(3.0, 0.5))
    with pytest.raises(InputError, match=r"sites.csv: 1 of 2 site\(s\) lie outside the box") as e:
        classify(sites, read, WORLD)
    assert "pas.gpkg" in str(e.value) and "site_id S2 at lon 3.0000" in str(e.value)
    # the same for an ecoregion layer read for a box
    eco = WORLD.copy()
    eco.attrs.update(source="teow.zip", bbox=(-1, -1, 2, 2))
    with pytest.raises(InputError, match=r"outside the box .* the ecoregions of teow\.zip"):
        classify(sites, pas_layer([shapely.box(0, 0, 1, 1)]), eco)
    bad = pas_layer([shapely.box(0, 0, 1, 1)])
    bad.attrs["bbox"] = (2, 2, 1, 1)
    with pytest.raises(InputError, match=r"pas.gpkg: attrs\['bbox'\] is \(2, 2, 1, 1\)"):
        classify(sites, bad, WORLD)


def test_the_countries_read_are_named_in_the_reason():
    sites = sites_layer(shapely.Point(2.0, 0.5))
    park = [shapely.box(0, 0, 1, 1)]
    per = quiet_classify(sites, pas_layer(park, countries=["PER"]))
    assert per["reason"].iloc[0].startswith("Not in a protected area (nearest PER protected area")
    some = quiet_classify(sites, pas_layer(park, cleaning={"countries": 3}))
    assert "(nearest protected area of the countries read: Park 0, 1" in some["reason"].iloc[0]
    plain = quiet_classify(sites, pas_layer(park))
    assert plain["reason"].iloc[0].startswith("Not in a protected area (nearest: Park 0, ")


def test_swapped_coordinates_are_refused_and_a_few_counted():
    # Peru-like sites with latitude and longitude swapped: valid points off Antarctica
    eco = WORLD.set_geometry([shapely.box(-82, -19, -68, 0)])
    eco.attrs["source"] = "teow.zip"
    parks = pas_layer([shapely.box(-70.5, -12.5, -69.5, -11.5)])
    swapped = sites_layer(shapely.Point(-12.0, -70.0), shapely.Point(-12.6, -69.2))
    with pytest.raises(InputError, match="none of the 2 site") as e:
        classify(swapped, parks, eco)
    for word in ("sites.csv", "teow.zip", "pas.gpkg", "swapped", "--lat/--lon", "--sites-crs"):
        assert word in str(e.value)
    one = sites_layer(shapely.Point(-70.0, -12.0), shapely.Point(-12.6, -69.2))
    with pytest.warns(ExtentWarning) as caught:
        out = classify(one, parks, eco)
    messages = [str(w.message) for w in caught]
    assert any("1 of 2 site(s) (50%) lie in no ecoregion of teow.zip" in m for m in messages)
    assert any("1 of 2 site(s) (50%) lie more than 500 km" in m for m in messages)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert out["eco_id"].isna().tolist() == [False, True]


def test_buffers_past_the_box_are_flagged_and_their_overlap_a_lower_bound():
    box = (-1.0, -1.0, 1.0, 1.0)
    parks = [shapely.box(0.7, -0.5, 0.98, 0.5), shapely.box(1.02, -0.5, 1.4, 0.5)]
    read = pas_layer(parks, box=box)
    sites = sites_layer(shapely.Point(-0.3, 0.0), shapely.Point(0.95, 0.0))
    zones = buffers(sites, (10, 50))
    with pytest.warns(ExtentWarning, match=r"^sites.csv: 2 of 4 zone\(s\) reach outside the box"):
        part = overlaps(zones, read, dissolve=True)
    whole = overlaps(zones, pas_layer(parks), dissolve=True)
    # S1's buffers (10 and 50 km, 0.45 degree) stay in the box; S2's reach past lon 1
    assert part.zones["pa_beyond_extent"].tolist() == [False, False, True, True]
    assert not whole.zones["pa_beyond_extent"].any()
    flagged = part.zones["pa_beyond_extent"].to_numpy()
    a, b = part.zones["pa_area_km2"].to_numpy(), whole.zones["pa_area_km2"].to_numpy()
    np.testing.assert_allclose(a[~flagged], b[~flagged], rtol=1e-12)
    assert (a[flagged] < b[flagged]).all()  # the park outside the box was not read
    assert part.clusters["pa_beyond_extent"].tolist() == [False, True, False, True]
    # a Global 200 layer read for a smaller box: S1's 50 km buffer reaches past lon -0.5
    g200 = WORLD.assign(is_g200=[True])
    g200.attrs["bbox"] = (-0.5, -1.0, 1.5, 1.0)
    with pytest.warns(ExtentWarning, match=r"1 of 4 zone\(s\) .* g200_beyond_extent"):
        eco = overlaps(zones, pas_layer(parks), ecoregions=g200)
    assert eco.zones["g200_beyond_extent"].tolist() == [False, True, False, False]


@pytest.mark.realdata
def test_peru_sites_against_wdpa_do_not_warn_and_a_narrow_box_is_flagged(realdata):
    """Amazon Mining Watch's 1,024 Peru gold-mining points against WDPA South America 2019."""
    import asm_pace

    wdpa = (
        realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_polygons_simplified.gpkg"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites = asm_pace.read_sites(
            realdata / "amw_peru_amazon" / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson",
            id_column=False,
        )
        xmin, ymin, xmax, ymax = sites.total_bounds
        box = (xmin - 1.0, ymin - 1.0, xmax + 1.0, ymax + 1.0)
        wide = asm_pace.read_protected_areas(wdpa, bbox=box)
        narrow = asm_pace.read_protected_areas(
            wdpa, bbox=(xmin - 0.1, ymin - 0.1, xmax + 0.1, ymax + 0.1)
        )
    # South America's ecoregions stand in for TEOW (no TEOW geometry is staged)
    eco = WORLD.set_geometry([shapely.box(-82, -56, -34, 13)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtentWarning)
        out = classify(sites, wide, eco)  # no extent warning on a clean real run
    assert out["nearest_pa_km"].max() < 60  # the 1-degree margin holds every nearest PA
    assert not out["nearest_pa_beyond_extent"].any()
    with pytest.warns(ExtentWarning, match="nearest_pa_beyond_extent"):
        cut = classify(sites, narrow, eco)
    flagged = cut["nearest_pa_beyond_extent"].to_numpy()
    changed = ~np.isclose(cut["nearest_pa_km"], out["nearest_pa_km"], rtol=0, atol=1e-9)
    assert changed.any() and not (changed & ~flagged).any()
