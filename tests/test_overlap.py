"""Zone / protected-area / Global 200 overlaps on hand-built layouts, areas from pyproj.Geod."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

import asm_pace
from asm_pace.errors import InputError, SchemaError

GEOD = Geod(ellps="WGS84")
KM2 = 1e6


def geod_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / KM2


def geod_circle(lon: float, lat: float, radius: float, n: int = 64) -> shapely.Polygon:
    az = -360.0 * np.arange(n) / n
    lo, la, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius))
    lo = lon + ((lo - lon + 180.0) % 360.0 - 180.0)  # continuous longitudes
    return shapely.Polygon(np.column_stack([lo, la]))


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A lon/lat box with 0.01-degree edges.

    Edges are geodesics for Geod (and asm_pace); cutting an edge at a new vertex (as an
    intersection does) moves it by up to 1e-5 relative in area on 1-degree edges, but by
    less than 1e-9 on 0.01-degree ones, so hand-built expected shapes compare exactly.
    """
    return shapely.segmentize(shapely.box(x0, y0, x1, y1), 0.01)


def pa_layer(rows: list[tuple[str, str, shapely.Geometry]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "pa_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "designation": ["National Park"] * len(rows),
            "iucn_category": ["II"] * len(rows),
        },
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture
def square_zone() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": ["Z"], "note": ["kept"]},
        geometry=[box(0.0, 10.0, 1.0, 11.0)],
        crs="EPSG:4326",
    )


def test_zone_half_covered_by_two_overlapping_pas(square_zone) -> None:
    pas = pa_layer(
        [
            ("1", "Alpha", box(-0.5, 10.0, 0.3, 11.0)),
            ("2", "Beta", box(0.25, 10.0, 0.5, 11.0)),
            ("3", "Gamma", box(1.0, 10.0, 2.0, 11.0)),  # touches the edge only
            ("4", "Far", box(5.0, 5.0, 6.0, 6.0)),
        ]
    )
    res = asm_pace.overlaps(square_zone, pas)
    zone = res.zones.iloc[0]
    # the union inside the zone is the western half, built by hand
    half = geod_km2(box(0.0, 10.0, 0.5, 11.0))
    whole = geod_km2(box(0.0, 10.0, 1.0, 11.0))
    assert zone["zone_area_km2"] == pytest.approx(whole, rel=1e-6)
    assert zone["pa_area_km2"] == pytest.approx(half, rel=1e-6)
    assert zone["pa_share"] == pytest.approx(half / whole, rel=1e-6)
    assert zone["n_pas"] == 2
    assert zone["note"] == "kept"
    assert res.clusters is None
    pairs = res.pairs
    assert list(pairs.columns) == [
        "zone_id",
        "pa_id",
        "name",
        "designation",
        "iucn_category",
        "overlap_km2",
        "overlap_share",
    ]
    assert pairs["pa_id"].tolist() == ["1", "2"]  # by decreasing overlap
    assert pairs["name"].tolist() == ["Alpha", "Beta"]
    assert pairs["overlap_km2"].tolist() == pytest.approx(
        [geod_km2(box(0.0, 10.0, 0.3, 11.0)), geod_km2(box(0.25, 10.0, 0.5, 11.0))],
        rel=1e-6,
    )
    # the pairs count the overlap of Alpha and Beta twice, the zone total once
    assert pairs["overlap_km2"].sum() > zone["pa_area_km2"]


def test_parcels_of_one_pa_are_merged(square_zone) -> None:
    pas = pa_layer(
        [
            ("7", "Parcel A", box(0.0, 10.0, 0.4, 10.5)),
            ("7", "Parcel A", box(0.2, 10.0, 0.6, 10.5)),
        ]
    )
    res = asm_pace.overlaps(square_zone, pas)
    assert len(res.pairs) == 1
    expected = geod_km2(box(0.0, 10.0, 0.6, 10.5))
    assert res.pairs["overlap_km2"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert res.zones["n_pas"].iloc[0] == 1
    assert res.zones["pa_area_km2"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_g200_share_from_adjacent_ecoregions(square_zone) -> None:
    eco = gpd.GeoDataFrame(
        {"eco_id": [1, 2, 3], "is_g200": [True, True, False]},
        geometry=[
            box(-1.0, 9.0, 0.25, 12.0),
            box(0.25, 9.0, 0.5, 12.0),
            box(0.5, 9.0, 2.0, 12.0),
        ],
        crs="EPSG:4326",
    )
    res = asm_pace.overlaps(square_zone, pa_layer([]), ecoregions=eco)
    zone = res.zones.iloc[0]
    half = geod_km2(box(0.0, 10.0, 0.5, 11.0))
    assert zone["g200_area_km2"] == pytest.approx(half, rel=1e-6)
    assert zone["g200_share"] == pytest.approx(half / zone["zone_area_km2"], rel=1e-6)
    assert zone["pa_area_km2"] == 0.0 and zone["n_pas"] == 0
    assert res.pairs.empty


def test_buffer_half_covered_by_a_pa_east_of_its_meridian() -> None:
    # geodesic circles are symmetric about the centre's meridian: the share is 1/2 exactly
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1"]}, geometry=[shapely.Point(-63.0, -35.0)], crs="EPSG:4326"
    )
    zones = asm_pace.buffers(sites, (1, 10, 50), rings=True)
    pas = pa_layer([("9", "East", box(-63.0, -40.0, -60.0, -30.0))])
    res = asm_pace.overlaps(zones, pas)
    assert res.zones["pa_share"].tolist() == pytest.approx([0.5, 0.5, 0.5], abs=1e-6)
    assert res.zones["zone_area_km2"].iloc[2] == pytest.approx(
        geod_km2(geod_circle(-63.0, -35.0, 50_000.0))
        - geod_km2(geod_circle(-63.0, -35.0, 10_000.0)),
        rel=1e-5,
    )
    assert res.pairs["zone_id"].tolist() == ["S1_0-1km", "S1_1-10km", "S1_10-50km"]


def test_index_order_crs_and_site_id_fallback() -> None:
    footprints = gpd.GeoDataFrame(
        {"site_id": ["F2", "F1"]},
        geometry=[box(0.0, 0.0, 0.1, 0.1), box(0.5, 0.0, 0.6, 0.1)],
        crs="EPSG:4326",
        index=[7, 3],
    )
    pas = pa_layer([("1", "A", box(0.05, 0.0, 0.55, 0.1))])
    res = asm_pace.overlaps(footprints.to_crs("EPSG:32631"), pas)
    assert res.zones.index.tolist() == [7, 3]
    assert res.zones.crs.to_epsg() == 32631  # the zones come back as given
    assert res.pairs.columns[0] == "site_id"
    assert res.pairs["site_id"].tolist() == ["F2", "F1"]
    expected = geod_km2(box(0.05, 0.0, 0.1, 0.1))
    # reprojection to UTM and back moves the straight edges by a few cm: 1e-4
    assert res.zones["pa_area_km2"].iloc[0] == pytest.approx(expected, rel=1e-4)


def test_dissolve_clusters_touching_buffers_once() -> None:
    xy = [(0.0, 0.0), (0.05, 0.0), (1.0, 0.0)]  # A and B 5.6 km apart, C 111 km away
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C"]}, geometry=[shapely.Point(p) for p in xy], crs="EPSG:4326"
    )
    zones = asm_pace.buffers(sites, (1, 10))
    pas = pa_layer([("1", "East", box(0.05, -1.0, 2.0, 1.0))])
    res = asm_pace.overlaps(zones, pas, dissolve=True)
    assert res.zones["cluster_id"].tolist() == [
        "C0001_1km",
        "C0001_10km",
        "C0002_1km",
        "C0001_10km",
        "C0003_1km",
        "C0002_10km",
    ]
    cl = res.clusters.set_index("cluster_id")
    assert cl.loc["C0001_10km", "n_zones"] == 2
    assert cl.loc["C0001_10km", "zone_ids"] == "A_10km;B_10km"
    assert cl.loc["C0001_10km", "radius_km"] == 10.0
    union = shapely.union(geod_circle(0.0, 0.0, 10_000.0), geod_circle(0.05, 0.0, 10_000.0))
    assert cl.loc["C0001_10km", "cluster_area_km2"] == pytest.approx(geod_km2(union), rel=1e-5)
    inside = shapely.intersection(union, box(0.05, -1.0, 2.0, 1.0))
    assert cl.loc["C0001_10km", "pa_area_km2"] == pytest.approx(geod_km2(inside), rel=1e-5)
    # counted once: less than the two buffers' own PA areas added up
    per_zone = res.zones.loc[res.zones["cluster_id"] == "C0001_10km", "pa_area_km2"].sum()
    assert cl.loc["C0001_10km", "pa_area_km2"] < per_zone
    assert len(res.clusters) == 5


def test_dissolve_across_the_antimeridian() -> None:
    sites = gpd.GeoDataFrame(
        {"site_id": ["E", "W"]},
        geometry=[shapely.Point(179.999, 0.0), shapely.Point(-179.999, 0.0)],
        crs="EPSG:4326",
    )
    zones = asm_pace.buffers(sites, 1)
    res = asm_pace.overlaps(zones, pa_layer([]), dissolve=True)
    assert res.zones["cluster_id"].tolist() == ["C0001_1km", "C0001_1km"]
    assert len(res.clusters) == 1
    union = shapely.union(
        geod_circle(179.999, 0.0, 1_000.0), geod_circle(180.001, 0.0, 1_000.0)
    )  # continuous longitudes: the same disc pair, unsplit
    assert res.clusters["cluster_area_km2"].iloc[0] == pytest.approx(geod_km2(union), rel=1e-5)


def test_refusals(square_zone) -> None:
    pas = pa_layer([("1", "A", box(0, 10, 1, 11))])
    pts = gpd.GeoDataFrame({"zone_id": ["p"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(InputError, match="buffer"):
        asm_pace.overlaps(pts, pas)
    with pytest.raises(SchemaError, match="pa_id"):
        asm_pace.overlaps(square_zone, pas.drop(columns="pa_id"))
    with pytest.raises(SchemaError, match="zone_id"):
        asm_pace.overlaps(square_zone.drop(columns="zone_id"), pas)
    eco = gpd.GeoDataFrame({"eco_id": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(SchemaError, match="is_g200"):
        asm_pace.overlaps(square_zone, pas, ecoregions=eco)
    dup = gpd.GeoDataFrame({"zone_id": ["a", "a"]}, geometry=[box(0, 0, 1, 1)] * 2, crs="EPSG:4326")
    with pytest.raises(InputError, match="not unique"):
        asm_pace.overlaps(dup, pas)


@pytest.mark.realdata
def test_real_guinea_footprints_against_a_brute_force_loop(realdata) -> None:
    """Earth Genome 2024 mining polygons and protected areas of eastern Guinea."""
    folder = realdata / "amw_guinea"
    if not folder.is_dir():
        pytest.skip("amw_guinea is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asm_pace.errors.AsmPaceWarning)
        sites = asm_pace.read_sites(
            folder / "guinea2024_mining_polys_t0.70_logreg_2026-01-08.geojson"
        )
        pas = asm_pace.read_protected_areas(folder / "guinea-east-protected_areas.geojson")
    zones = asm_pace.buffers(sites.iloc[:300], (1, 10))
    res = asm_pace.overlaps(zones, pas, dissolve=True)
    z = res.zones
    assert (z["pa_area_km2"] <= z["zone_area_km2"]).all()
    assert z["pa_share"].between(0, 1).all()
    # brute force, zone by zone: union of the protected areas it meets, area by Geod
    touched = z.index[z["n_pas"] > 0]
    assert len(touched) > 0
    for i in touched[:40]:
        zone = z.geometry.loc[i]
        hits = [p for p in pas.geometry if p.intersects(zone)]
        inside = shapely.intersection(shapely.union_all(hits), zone)
        assert z.loc[i, "pa_area_km2"] == pytest.approx(geod_km2(inside), rel=1e-5, abs=1e-6)
    # the pairs of each zone add up to at least its (union) protected area
    sums = res.pairs.groupby("zone_id")["overlap_km2"].sum()
    assert (sums >= z.set_index("zone_id").loc[sums.index, "pa_area_km2"] * (1 - 1e-9)).all()
    # clusters of the 10 km buffers: connected components of the "intersects" graph
    ten = z[z["radius_km"] == 10.0].reset_index(drop=True)
    geoms = list(ten.geometry)
    label = list(range(len(geoms)))

    def root(a: int) -> int:
        while label[a] != a:
            a = label[a]
        return a

    for a in range(len(geoms)):
        for b in range(a + 1, len(geoms)):
            if geoms[a].intersects(geoms[b]):
                label[root(b)] = root(a)
    groups = {root(a) for a in range(len(geoms))}
    assert ten["cluster_id"].nunique() == len(groups)


def test_no_sites_give_empty_layers_with_the_full_schema() -> None:
    sites = gpd.GeoDataFrame({"site_id": []}, geometry=[], crs="EPSG:4326")
    zones = asm_pace.buffers(sites, (1, 10), rings=True)
    assert len(zones) == 0 and list(zones.columns)[-2:] == ["zone_id", "geometry"]
    res = asm_pace.overlaps(zones, pa_layer([("1", "A", box(0, 0, 1, 1))]), dissolve=True)
    assert len(res.zones) == 0 and "pa_share" in res.zones.columns
    assert res.pairs.empty and "overlap_km2" in res.pairs.columns
    assert res.clusters.empty and "cluster_area_km2" in res.clusters.columns
