"""asm_pace.classify against hand-worked answers and pyproj.Geod.

Every layer here is built by hand in the NORMALISED schema of docs/design.md, with
shapes whose answers are obvious (boxes, holes, circles), and distances checked
against pyproj.Geod (Karney) along meridians or by brute force over densified
boundaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas import GeoDataFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace import PACE_CLASSES, classify
from asm_pace.errors import (
    CRSError,
    ExtentWarning,
    InputError,
    RepairedGeometryWarning,
    SchemaError,
)
from asm_pace.geodesy import geodesic_circles

GEOD = Geod(ellps="WGS84")


# ----------------------------------------------------------------------------- builders


def pa_layer(*rows: dict, crs: object = 4326) -> GeoDataFrame:
    """Protected areas in the normalised schema; each row gives at least pa_id and geometry."""
    defaults = {
        "wdpa_pid": "",
        "name": "",
        "designation": "National Park",
        "iucn_category": "II",
        "status_year": pd.NA,
        "world_heritage": False,
        "ramsar": False,
        "origin": "polygon",
    }
    recs = [{**defaults, "name": f"Park {r['pa_id']}", **r} for r in rows]
    df = pd.DataFrame(recs)
    df["status_year"] = pd.array(df["status_year"], dtype="Int64")
    geoms = df.pop("geometry").to_numpy(dtype=object)
    gdf = GeoDataFrame(df, geometry=list(geoms), crs=4326).to_crs(crs)
    gdf.attrs["source_label"] = "WDPA"  # as read_protected_areas sets it for the WDPA
    return gdf


def empty_pa_layer() -> GeoDataFrame:
    df = pd.DataFrame(
        {
            "pa_id": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "designation": pd.Series([], dtype=object),
            "iucn_category": pd.Series([], dtype=object),
            "status_year": pd.array([], dtype="Int64"),
            "world_heritage": pd.Series([], dtype=bool),
            "ramsar": pd.Series([], dtype=bool),
        }
    )
    return GeoDataFrame(df, geometry=[], crs=4326)


def eco_layer(*rows: dict, crs: object = 4326) -> GeoDataFrame:
    defaults = {"biome": 1, "g200_region": "", "is_g200": False}
    recs = [{**defaults, "eco_name": f"Eco {r['eco_id']}", **r} for r in rows]
    df = pd.DataFrame(recs)
    df["eco_id"] = pd.array(df["eco_id"], dtype="Int64")
    df["biome"] = pd.array(df["biome"], dtype="Int64")
    geoms = df.pop("geometry").to_numpy(dtype=object)
    return GeoDataFrame(df, geometry=list(geoms), crs=4326).to_crs(crs)


def landscapes(*rows: tuple[str, shapely.Geometry]) -> GeoDataFrame:
    return GeoDataFrame(
        {"landscape_name": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=4326
    )


def site_layer(*geoms: shapely.Geometry, index: list | None = None, crs: object = 4326):
    ids = [f"S{i + 1}" for i in range(len(geoms))]
    gdf = GeoDataFrame({"site_id": ids, "note": "own column"}, geometry=list(geoms), crs=4326)
    if index is not None:
        gdf.index = index
    return gdf.to_crs(crs)


def meridian_km(lon: float, lat1: float, lat2: float) -> float:
    return GEOD.inv(lon, lat1, lon, lat2)[2] / 1000.0


# ecoregions that change no class: one plain (not Global 200) ecoregion over the whole world
NO_ECO = eco_layer({"eco_id": 1, "geometry": shapely.box(-180, -90, 180, 90)})
ALPHA = {
    "pa_id": "900001",
    "name": "Alpha National Park",
    "iucn_category": "II",
    "status_year": 1990,
    "geometry": shapely.box(0, 0, 1, 1),
}


# ----------------------------------------------------------------------------- precedence


def test_precedence_every_class_and_reason():
    pas = pa_layer(ALPHA)
    eco = eco_layer(
        {
            "eco_id": 60174,
            "eco_name": "Southwest Amazon moist forests",
            "biome": 1,
            "g200_region": "Southwestern Amazonian Moist Forests",
            "is_g200": True,
            "geometry": shapely.box(-2, -2, 2, 3),
        },
        {"eco_id": 7, "eco_name": "Dry forests", "biome": 2, "geometry": shapely.box(2, -2, 4, 3)},
    )
    pls = landscapes(("Madre de Dios Landscape", shapely.box(0.5, 1.5, 3, 2.5)))
    sites = site_layer(
        shapely.Point(0.5, 0.5),  # in PA (and G200): PA wins
        shapely.Point(0.5, 2.0),  # in landscape and G200: landscape wins
        shapely.Point(-1.0, 0.5),  # G200 only
        shapely.Point(3.0, 0.5),  # plain ecoregion: not eligible
        shapely.Point(1.0, 0.5),  # on the PA's edge: touching counts
        shapely.Point(2.5, 2.0),  # landscape over a non-G200 ecoregion
    )
    out = classify(sites, pas, eco, priority_landscapes=pls)
    assert out["pace_class"].tolist() == [
        "protected_area",
        "priority_landscape",
        "critical_ecosystem",
        "not_eligible",
        "protected_area",
        "priority_landscape",
    ]
    assert set(out["pace_class"]) <= set(PACE_CLASSES)
    d_north = meridian_km(0.5, 2.0, 1.0)  # due north of the top edge
    d_west = GEOD.inv(-1.0, 0.5, 0.0, 0.5)[2] / 1000  # due west on the equator-ish
    r = out["reason"].tolist()
    assert r[0] == "Inside Alpha National Park (WDPA 900001, IUCN II), designated 1990"
    assert 110.5 < d_north < 110.7  # shown to the km from 100 km on
    assert r[1] == (
        "Not in a protected area (nearest: Alpha National Park, 111 km); "
        "inside the Madre de Dios Landscape priority landscape"
    )
    assert r[2].startswith("Not in a protected area (nearest: Alpha National Park, ")
    assert r[2].endswith(
        "or a priority landscape; in the Global 200 ecoregion Southwestern Amazonian "
        "Moist Forests (Southwest Amazon moist forests, ECO_ID 60174)"
    )
    assert r[3].startswith("Not in a protected area (nearest: Alpha National Park, ")
    assert r[3].endswith(
        "priority landscape or Global 200 ecoregion; ecoregion: Dry forests (ECO_ID 7)"
    )
    assert out["pa_ids"].tolist() == ["900001", "", "", "", "900001", ""]
    assert out["pa_names"].iloc[0] == "Alpha National Park"
    assert out["pa_iucn_categories"].iloc[0] == "II"
    assert out["pa_status_years"].iloc[0] == "1990"
    assert out["pa_designations"].iloc[0] == "National Park"
    assert out["eco_id"].tolist() == [60174, 60174, 60174, 7, 60174, 7]
    assert out["biome"].tolist() == [1, 1, 1, 2, 1, 2]
    assert out["g200_region"].tolist()[2:4] == ["Southwestern Amazonian Moist Forests", ""]
    assert out["priority_landscape"].tolist()[:2] == ["", "Madre de Dios Landscape"]
    assert out["nearest_pa_km"].iloc[0] == 0.0
    assert out["nearest_pa_km"].iloc[4] == 0.0
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(d_north, rel=1e-6)
    # due west of the left edge: the foot point is within metres of (0, 0.5)
    assert out["nearest_pa_km"].iloc[2] == pytest.approx(d_west, rel=1e-4)
    assert out["nearest_pa_id"].tolist() == ["900001"] * 6
    assert out["nearest_pa_name"].iloc[3] == "Alpha National Park"
    assert out["pa_share"].isna().all()  # points have no share


def test_without_landscapes_the_reason_does_not_mention_them():
    eco = eco_layer({"eco_id": 5, "eco_name": "Moist", "geometry": shapely.box(-5, -5, 5, 5)})
    out = classify(site_layer(shapely.Point(3, 3)), pa_layer(ALPHA), eco)
    d = GEOD.inv(3, 3, 1, 1)[2] / 1000  # nearest boundary point is the corner
    assert out["pace_class"].iloc[0] == "not_eligible"
    assert out["priority_landscape"].iloc[0] == ""
    assert 313.5 < d < 314.5
    assert out["reason"].iloc[0] == (
        "Not in a protected area (nearest: Alpha National Park, 314 km) or a "
        "Global 200 ecoregion; ecoregion: Moist (ECO_ID 5)"
    )
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(d, rel=1e-6)


def test_result_keeps_index_order_columns_and_crs():
    sites = site_layer(
        shapely.Point(0.5, 0.5), shapely.Point(2, 2), shapely.Point(0.2, 0.2), index=[30, 10, 20]
    ).to_crs(32631)
    far_eco = eco_layer({"eco_id": 1, "geometry": shapely.box(100, 50, 101, 51)})
    with pytest.warns(ExtentWarning, match=r"3 of 3 site\(s\) \(100%\) lie in no ecoregion"):
        out = classify(sites, pa_layer(ALPHA), far_eco)
    assert list(out.index) == [30, 10, 20]
    assert out["site_id"].tolist() == ["S1", "S2", "S3"]
    assert out["note"].tolist() == ["own column"] * 3
    assert out.crs == sites.crs
    assert out.geometry.equals(sites.geometry)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible", "protected_area"]
    assert list(out["pace_class"].cat.categories) == list(PACE_CLASSES)
    # sites at sea
    assert out["eco_id"].isna().all()
    assert out["eco_name"].tolist() == ["", "", ""]
    assert out["reason"].iloc[1].endswith("; in no ecoregion (e.g. at sea)")


# ----------------------------------------------------------------------------- PA detail


def test_overlapping_pas_are_all_listed_in_pa_id_order():
    pas = pa_layer(
        {
            "pa_id": "12",
            "name": "Twelve",
            "iucn_category": "IV",
            "geometry": shapely.box(0, 0, 2, 2),
        },
        {
            "pa_id": "9",
            "name": "Nine",
            "designation": "World Heritage Site (natural or mixed)",
            "iucn_category": "Not Reported",
            "status_year": 2001,
            "world_heritage": True,
            "geometry": shapely.box(1, 1, 3, 3),
        },
        {
            "pa_id": "100",
            "name": "Hundred",
            "designation": "Ramsar Site, Wetland of International Importance",
            "ramsar": True,
            "geometry": shapely.box(5, 5, 6, 6),
        },
    )
    out = classify(site_layer(shapely.Point(1.5, 1.5), shapely.Point(0.5, 0.5)), pas, NO_ECO)
    assert out["pa_ids"].tolist() == ["9;12", "12"]  # numeric order, not text order
    assert out["pa_names"].iloc[0] == "Nine;Twelve"
    assert out["pa_iucn_categories"].iloc[0] == "Not Reported;IV"
    assert out["pa_status_years"].iloc[0] == "2001;"
    assert out["world_heritage"].tolist() == [True, False]
    assert out["ramsar"].tolist() == [False, False]
    assert out["reason"].iloc[0] == (
        "Inside 2 protected areas: Nine (WDPA 9, designated 2001) and Twelve (WDPA 12, IUCN IV)"
    )
    assert out["nearest_pa_id"].tolist() == ["9", "12"]


def test_many_pas_named_first_few_and_n_more_and_parcels_once():
    rows = [{"pa_id": str(i), "geometry": shapely.box(0, 0, 1, 1)} for i in range(1, 6)]
    rows.append({"pa_id": "1", "wdpa_pid": "1_B", "geometry": shapely.box(0.4, 0.4, 2, 2)})
    out = classify(site_layer(shapely.Point(0.5, 0.5)), pa_layer(*rows), NO_ECO)
    assert out["pa_ids"].iloc[0] == "1;2;3;4;5"
    assert out["reason"].iloc[0] == (
        "Inside 5 protected areas: Park 1 (WDPA 1, IUCN II), Park 2 (WDPA 2, IUCN II), "
        "Park 3 (WDPA 3, IUCN II) and 2 more"
    )


def test_ramsar_flag_and_non_wdpa_ids():
    pas = pa_layer(
        {"pa_id": "PA7", "name": "Lagoon", "ramsar": True, "geometry": ALPHA["geometry"]}
    )
    out = classify(site_layer(shapely.Point(0.5, 0.5)), pas, NO_ECO)
    assert bool(out["ramsar"].iloc[0]) is True
    assert out["reason"].iloc[0] == "Inside Lagoon (id PA7, IUCN II)"


# ----------------------------------------------------------------------------- geometry edge cases


def test_site_in_a_hole_is_not_inside_and_measures_to_the_hole():
    ring = shapely.Polygon(
        [(-2, -2), (2, -2), (2, 2), (-2, 2)],
        holes=[[(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]],
    )
    pas = pa_layer({"pa_id": "1", "geometry": ring})
    out = classify(site_layer(shapely.Point(0, 0), shapely.Point(0, 1)), pas, NO_ECO)
    assert out["pace_class"].tolist() == ["not_eligible", "protected_area"]
    # at the equator a degree of latitude (110.57 km) is shorter than one of
    # longitude (111.32 km): the nearest hole edge is north/south
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(meridian_km(0, 0, 0.5), rel=1e-6)
    assert out["nearest_pa_km"].iloc[1] == 0.0


def test_invalid_bow_tie_is_repaired_with_a_warning():
    bow = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bow.is_valid
    pas = pa_layer({"pa_id": "1", "geometry": bow})
    # (1.8, 1): inside the right lobe; (1, 1.8): above the crossing, outside both lobes
    sites = site_layer(shapely.Point(1.8, 1.0), shapely.Point(1.0, 1.8), shapely.Point(0.2, 1.0))
    with pytest.warns(RepairedGeometryWarning, match="1 invalid polygon"):
        out = classify(sites, pas, NO_ECO)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible", "protected_area"]
    # nearest from (1, 1.8): the lobes' edges run at 45 degrees; the brute force
    # over the repaired shape's densified outline agrees
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(
        brute_km(1.0, 1.8, [shapely.make_valid(bow)]), rel=5e-3
    )


def test_footprints_read_sites_repaired_are_not_checked_again(monkeypatch):
    """read_sites checks and repairs footprints once: classify on its layer checks none
    of them again and measures the repaired shapes; a footprint edited after reading (a
    new geometry) is checked and repaired by classify."""
    import warnings

    from asm_pace import read_sites
    from asm_pace._vector import known_valid

    checked: list[int] = []
    is_valid = shapely.is_valid

    def spy(geoms, *args, **kwargs):
        checked.extend(map(id, np.atleast_1d(np.asarray(geoms, dtype=object))))
        return is_valid(geoms, *args, **kwargs)

    monkeypatch.setattr(shapely, "is_valid", spy)

    bow = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # two lobes meeting at (1, 1)
    square = shapely.box(3.0, 0.0, 3.5, 0.5)
    raw = GeoDataFrame({"site_id": ["bow", "sq"]}, geometry=[bow, square], crs=4326)
    with pytest.warns(RepairedGeometryWarning, match="1 invalid footprint"):
        sites = read_sites(raw)
    assert known_valid(sites).all()
    pas = pa_layer({"pa_id": "1", "geometry": shapely.box(5.0, 0.0, 6.0, 1.0)})
    checked.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairedGeometryWarning)  # none from classify
        out = classify(sites, pas, NO_ECO)
    assert not set(checked) & set(map(id, sites.geometry.values))
    # brute force: the repaired bow tie's right lobe has the edge lon 2, lat 0-2; the
    # area's west edge is lon 5, lat 0-1 (the nearest pair lies on these two meridians)
    y = np.linspace(0.0, 2.0, 401)
    y1, y2 = np.meshgrid(y, y[y <= 1.0])

    def between(lon1: float, lon2: float) -> float:
        return GEOD.inv(np.full(y1.size, lon1), y1.ravel(), np.full(y1.size, lon2), y2.ravel())[
            2
        ].min()

    assert out["nearest_pa_km"].iloc[0] == pytest.approx(between(2.0, 5.0) / 1000, rel=1e-6)
    edited = sites.copy()
    edited.loc[1, "geometry"] = shapely.Polygon([(3, 0), (4, 2), (4, 0), (3, 2)])
    checked.clear()
    with pytest.warns(RepairedGeometryWarning, match=r"1 invalid polygon.*\(site_id sq\)"):
        again = classify(edited, pas, NO_ECO)
    assert id(edited.geometry.values[1]) in checked and id(sites.geometry.values[0]) not in checked
    assert again["nearest_pa_km"].iloc[1] == pytest.approx(between(4.0, 5.0) / 1000, rel=1e-6)
    assert again["nearest_pa_km"].iloc[0] == out["nearest_pa_km"].iloc[0]


def test_point_record_circle():
    circle = geodesic_circles(np.array([-70.0]), np.array([-12.5]), 1000.0)[0]
    pas = pa_layer({"pa_id": "555", "name": "Cocha", "origin": "point_circle", "geometry": circle})
    lon, lat, _ = GEOD.fwd([-70.0, -70.0], [-12.5, -12.5], [30.0, 200.0], [900.0, 1500.0])
    out = classify(site_layer(*shapely.points(lon, lat)), pas, NO_ECO)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert "a point record drawn as a circle of its reported area" in out["reason"].iloc[0]
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(0.5, rel=5e-3)


def test_antimeridian_short_way_round():
    split = shapely.MultiPolygon([shapely.box(179.9, 0, 180, 1), shapely.box(-180, 0, -179.9, 1)])
    pas = pa_layer(
        {"pa_id": "1", "name": "Split", "geometry": split},
        {"pa_id": "2", "name": "West", "geometry": shapely.box(-179.99, 10, -179.0, 11)},
    )
    sites = site_layer(
        shapely.Point(179.95, 0.5),  # inside the eastern part
        shapely.Point(-179.95, 0.5),  # inside the western part
        shapely.Point(179.95, 1.05),  # north of the split PA
        shapely.Point(179.99, 10.5),  # east of the antimeridian, 0.02 degrees from West
    )
    out = classify(sites, pas, NO_ECO)
    assert out["pace_class"].tolist()[:2] == ["protected_area", "protected_area"]
    assert out["pa_ids"].tolist() == ["1", "1", "", ""]
    assert out["nearest_pa_km"].iloc[2] == pytest.approx(meridian_km(179.95, 1.05, 1.0), rel=1e-6)
    short = GEOD.inv(179.99, 10.5, -179.99, 10.5)[2] / 1000
    assert short < 2.5
    assert out["nearest_pa_id"].iloc[3] == "2"
    assert out["nearest_pa_km"].iloc[3] == pytest.approx(short, rel=5e-3)


def test_projected_layers_give_the_same_answers():
    pas = pa_layer(ALPHA, {"pa_id": "2", "geometry": shapely.box(2, 2, 3, 3)})
    eco = eco_layer(
        {"eco_id": 3, "is_g200": True, "g200_region": "R", "geometry": shapely.box(-5, -5, 5, 5)}
    )
    pts = [shapely.Point(0.5, 0.5), shapely.Point(1.5, 1.6), shapely.Point(4, 0.5)]
    ref = classify(site_layer(*pts), pas, eco)
    out = classify(site_layer(*pts, crs=3857), pas.to_crs(32631), eco.to_crs(3857))
    cols = ["pace_class", "pa_ids", "nearest_pa_id", "eco_id", "g200_region", "reason"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(out[cols]).reset_index(drop=True),
        pd.DataFrame(ref[cols]).reset_index(drop=True),
    )
    np.testing.assert_allclose(out["nearest_pa_km"], ref["nearest_pa_km"], rtol=1e-6)


def test_empty_protected_area_layer():
    out = classify(site_layer(shapely.Point(0.5, 0.5)), empty_pa_layer(), NO_ECO)
    assert out["pace_class"].iloc[0] == "not_eligible"
    assert np.isnan(out["nearest_pa_km"].iloc[0])
    assert out["nearest_pa_id"].iloc[0] == ""
    assert out["pa_ids"].iloc[0] == ""
    assert out["reason"].iloc[0].startswith("Not in a protected area (no protected areas given)")


# ----------------------------------------------------------------------------- footprints


def geod_area(poly: shapely.Polygon) -> float:
    """Geod area of a lon/lat polygon whose edges follow lon/lat lines (densified)."""
    x, y = shapely.segmentize(poly, 0.0002).exterior.xy
    return abs(GEOD.polygon_area_perimeter(list(x), list(y))[0])


def test_repaired_footprints_named_by_their_own_rows():
    """Footprints among points, six of them bow ties: the warning names the first five
    repaired by their site ids (their rows in the whole layer, not among the footprints)."""
    bow = shapely.Polygon([(0, 0), (0.2, 0.2), (0.2, 0), (0, 0.2)])
    geoms = []
    for i in range(12):
        if i % 3 == 0:
            geoms.append(shapely.Point(1.5 + 0.2 * i, 0.5))
        elif i in (2, 10):
            geoms.append(shapely.box(0.3 * i, 1.5, 0.3 * i + 0.1, 1.6))  # a valid footprint
        else:
            geoms.append(shapely.affinity.translate(bow, 0.3 * i, 2.0))
    sites = site_layer(*geoms)
    bows = [i for i in range(12) if i % 3 != 0 and i not in (2, 10)]
    assert bows == [1, 4, 5, 7, 8, 11]
    names = ", ".join(f"site_id S{i + 1}" for i in bows[:5])
    with pytest.warns(RepairedGeometryWarning) as caught:
        classify(sites, pa_layer(ALPHA), NO_ECO)
    text = str(caught[0].message)
    assert text.startswith(f"6 invalid polygon(s) in the sites layer ({names} and 1 more)")


def test_footprint_share_and_reason():
    pas = pa_layer(ALPHA)
    foot = shapely.box(0.5, 0.9, 0.7, 1.3)  # the lower quarter (in degrees) is inside
    away = shapely.box(0.2, 1.1, 0.4, 1.2)  # 0.1 degree north of the top edge
    out = classify(site_layer(foot, away, shapely.Point(0.5, 0.5)), pas, NO_ECO)
    share = geod_area(shapely.box(0.5, 0.9, 0.7, 1.0)) / geod_area(foot)
    assert 0.24 < share < 0.26
    assert out["pa_share"].iloc[0] == pytest.approx(share, rel=1e-5)
    assert out["pa_share"].iloc[1] == 0.0
    assert np.isnan(out["pa_share"].iloc[2])
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible", "protected_area"]
    assert out["reason"].iloc[0] == (
        "Overlaps Alpha National Park (WDPA 900001, IUCN II), designated 1990; "
        f"{100 * share:.1f} % of the footprint is protected"
    )
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(meridian_km(0.3, 1.1, 1.0), rel=1e-6)
    assert out["reason"].iloc[1].startswith("Footprint not in a protected area (nearest: Alpha")


def test_footprint_over_two_overlapping_pas_counts_the_union_once():
    pas = pa_layer(
        {"pa_id": "1", "geometry": shapely.box(0, 0, 1, 1)},
        {"pa_id": "2", "geometry": shapely.box(0.5, 0, 1.5, 1)},
    )
    foot = shapely.box(0.8, 0.5, 1.8, 0.6)
    out = classify(site_layer(foot), pas, NO_ECO)
    share = geod_area(shapely.box(0.8, 0.5, 1.5, 0.6)) / geod_area(foot)
    assert out["pa_share"].iloc[0] == pytest.approx(share, rel=1e-5)
    assert out["pa_ids"].iloc[0] == "1;2"


def test_footprint_shares_whole_inside_one_area_or_only_the_union():
    """Footprints covered by one area (share 1 without cutting), covered only by the
    union of two, inside one along its edge, and half out: against pyproj areas."""
    pas = pa_layer(
        {"pa_id": "1", "geometry": shapely.box(0, 0, 1, 1)},
        {"pa_id": "2", "geometry": shapely.box(1, 0, 2, 1)},
    )
    whole = shapely.box(0.2, 0.2, 0.3, 0.3)
    union_only = shapely.box(0.9, 0.4, 1.1, 0.5)  # across the shared edge
    on_edge = shapely.box(0.0, 0.6, 0.1, 0.7)  # inside 1, its west edge on 1's
    half = shapely.box(1.9, 0.8, 2.1, 0.9)
    sites = site_layer(whole, union_only, on_edge, half, shapely.Point(0.5, 0.5))
    out = classify(sites, pas, NO_ECO)
    expect = [1.0, 1.0, 1.0, geod_area(shapely.box(1.9, 0.8, 2.0, 0.9)) / geod_area(half)]
    assert out["pa_share"].iloc[:4].to_numpy() == pytest.approx(expect, rel=1e-9)
    assert 0.49 < expect[3] < 0.51
    assert np.isnan(out["pa_share"].iloc[4])
    assert out["pa_ids"].tolist() == ["1", "1;2", "1", "2", "1"]
    assert out["reason"].iloc[0].endswith("100.0 % of the footprint is protected")


def test_footprint_touching_g200_is_critical():
    eco = eco_layer(
        {"eco_id": 1, "geometry": shapely.box(0, 0, 1, 1)},
        {"eco_id": 2, "is_g200": True, "g200_region": "G", "geometry": shapely.box(1, 0, 2, 1)},
    )
    foot = shapely.box(0.2, 0.2, 1.1, 0.3)  # mostly in eco 1, a little in the G200 one
    out = classify(site_layer(foot), empty_pa_layer(), eco)
    assert out["pace_class"].iloc[0] == "critical_ecosystem"
    assert out["eco_id"].iloc[0] == 2


def test_footprint_over_several_ecoregions_reports_the_one_it_overlaps_most():
    # the overlaps decide only among ecoregions of the same kind met by one footprint
    eco = eco_layer(
        {"eco_id": 1, "geometry": shapely.box(0, 0, 1, 1)},
        {"eco_id": 2, "geometry": shapely.box(1, 0, 2, 1)},
        {"eco_id": 3, "is_g200": True, "g200_region": "G", "geometry": shapely.box(2, 0, 3, 1)},
        {"eco_id": 4, "is_g200": True, "g200_region": "H", "geometry": shapely.box(3, 0, 4, 1)},
    )
    feet = site_layer(
        shapely.box(0.2, 0.2, 1.1, 0.3),  # mostly in 1
        shapely.box(0.9, 0.2, 1.8, 0.3),  # mostly in 2
        shapely.box(0.5, 0.5, 0.6, 0.6),  # only in 1
        shapely.box(1.5, 0.2, 2.1, 0.3),  # mostly in 2, a little in the G200 3
        shapely.box(2.2, 0.2, 3.9, 0.3),  # G200 both: mostly in 4
        shapely.Point(1.5, 0.5),
    )
    out = classify(feet, empty_pa_layer(), eco)
    assert out["eco_id"].tolist() == [1, 2, 1, 3, 4, 2]


# ----------------------------------------------------------------------------- nearest distance


@pytest.mark.parametrize("lat", [-78.0, -45.0, -10.0, 0.0, 33.0, 61.0, 70.0, 79.0])
def test_due_north_of_a_straight_edge_is_the_meridian_arc(lat):
    pas = pa_layer({"pa_id": "1", "geometry": shapely.box(10, lat - 1, 12, lat)})
    sites = site_layer(shapely.Point(11, lat + 0.01), shapely.Point(11, lat + 0.5))
    out = classify(sites, pas, NO_ECO)
    for i, dlat in enumerate([0.01, 0.5]):
        assert out["nearest_pa_km"].iloc[i] == pytest.approx(
            meridian_km(11, lat + dlat, lat), rel=1e-6
        )


def brute_km(lon: float, lat: float, polys: list) -> float:
    """Minimum Geod.inv distance to the vertices of the densified boundaries."""
    xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(polys), 0.0005))
    _, _, d = GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return float(d.min()) / 1000.0


@st.composite
def scene(draw):
    lat0 = draw(st.one_of(st.floats(-80, 80), st.floats(60, 80), st.floats(-80, -60)))
    lon0 = draw(st.floats(-180, 180))
    polys = []
    for _ in range(draw(st.integers(1, 3))):
        cx = lon0 + draw(st.floats(-0.5, 0.5))
        cy = float(np.clip(lat0 + draw(st.floats(-0.3, 0.3)), -84, 84))
        n = draw(st.integers(3, 9))
        ang = np.sort(
            np.array(draw(st.lists(st.floats(0, 2 * np.pi), min_size=n, max_size=n, unique=True)))
        )
        r = np.array(draw(st.lists(st.floats(0.02, 0.3), min_size=n, max_size=n)))
        xs = cx + r * np.cos(ang) / np.cos(np.radians(cy))
        ys = np.clip(cy + r * np.sin(ang), -89, 89)
        poly = shapely.Polygon(np.c_[xs, ys])
        if not poly.is_valid or poly.area == 0:
            continue
        # keep longitudes inside [-180, 180] the way loaders do
        poly = shapely.intersection(poly, shapely.box(-180, -90, 180, 90))
        if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        polys.append(poly)
    sites = []
    for _ in range(3):
        sx = lon0 + draw(st.floats(-1.5, 1.5))
        sx = (sx + 180) % 360 - 180
        sy = float(np.clip(lat0 + draw(st.floats(-1.0, 1.0)), -89, 89))
        sites.append((sx, sy))
    return polys, sites


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene())
def test_nearest_distance_matches_brute_force_geod(case):
    polys, pts = case
    if not polys:
        return
    pas = pa_layer(*({"pa_id": str(i), "geometry": p} for i, p in enumerate(polys)))
    out = classify(site_layer(*(shapely.Point(p) for p in pts)), pas, NO_ECO)
    union = shapely.union_all(polys)
    for (x, y), d, cls in zip(pts, out["nearest_pa_km"], out["pace_class"], strict=True):
        if union.intersects(shapely.Point(x, y)):
            assert cls == "protected_area"
            assert d == 0.0
            continue
        expected = brute_km(x, y, polys)
        # the densified brute force overestimates by ~(27 m)^2 / (2 d), by 28 m at d = 0
        assert d == pytest.approx(expected, rel=5e-3, abs=0.03)
        assert d <= expected * (1 + 1e-6)  # never farther than a real boundary point


# ----------------------------------------------------------------------------- input checks


def test_missing_columns_raise_schema_error_naming_layer_and_loader():
    pas = pa_layer(ALPHA).drop(columns=["iucn_category", "ramsar"])
    with pytest.raises(SchemaError) as err:
        classify(site_layer(shapely.Point(0, 0)), pas, NO_ECO)
    msg = str(err.value)
    assert "protected_areas" in msg
    assert "iucn_category" in msg and "ramsar" in msg
    assert "read_protected_areas" in msg
    eco = NO_ECO.drop(columns=["is_g200"])
    with pytest.raises(SchemaError, match=r"ecoregions layer lacks the column\(s\) is_g200"):
        classify(site_layer(shapely.Point(0, 0)), pa_layer(ALPHA), eco)
    pls = landscapes(("L", shapely.box(0, 0, 1, 1))).rename(columns={"landscape_name": "NAME"})
    with pytest.raises(SchemaError, match="read_priority_landscapes"):
        classify(site_layer(shapely.Point(0, 0)), pa_layer(ALPHA), NO_ECO, priority_landscapes=pls)


def test_layer_without_crs_and_wrong_types():
    pas = pa_layer(ALPHA).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="protected_areas layer has no CRS"):
        classify(site_layer(shapely.Point(0, 0)), pas, NO_ECO)
    with pytest.raises(InputError, match="GeoDataFrame"):
        classify(pd.DataFrame({"x": [1]}), pa_layer(ALPHA), NO_ECO)
    with pytest.raises(InputError, match="S2: a LineString"):
        classify(
            site_layer(shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)])),
            pa_layer(ALPHA),
            NO_ECO,
        )
    with pytest.raises(InputError, match="S1: no geometry"):
        classify(site_layer(None), pa_layer(ALPHA), NO_ECO)


def test_footprint_distance_to_a_pa_vertex_facing_an_edge():
    # a triangle's apex points at the middle of the footprint's long bottom edge:
    # the closest pair is (apex, a point inside the edge), not a footprint vertex
    pas = pa_layer(
        {"pa_id": "1", "geometry": shapely.Polygon([(0.3, 0.5), (0.7, 0.5), (0.5, 1.0)])}
    )
    foot = shapely.box(0.0, 1.1, 1.0, 1.2)
    out = classify(site_layer(foot), pas, NO_ECO)
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(meridian_km(0.5, 1.1, 1.0), rel=1e-6)
    assert out["pa_share"].iloc[0] == 0.0


def test_footprint_across_the_antimeridian_from_a_pa():
    pas = pa_layer({"pa_id": "1", "geometry": shapely.box(-179.9, 0.0, -179.5, 0.4)})
    foot = shapely.box(179.8, 0.1, 179.95, 0.3)  # its east edge is 0.15 degrees from the PA
    out = classify(site_layer(foot), pas, NO_ECO)
    exp = GEOD.inv(179.95, 0.2, -179.9, 0.2)[2] / 1000
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(exp, rel=1e-3)


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def sample_layers(samples):
    import warnings

    import asm_pace
    from asm_pace.errors import AsmPaceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AsmPaceWarning)  # the loaders' cleaning reports
        return (
            asm_pace.read_sites(samples / "sites.csv"),
            asm_pace.read_protected_areas(samples / "protected_areas.gpkg"),
            asm_pace.read_ecoregions(samples / "ecoregions.gpkg"),
            asm_pace.read_priority_landscapes(samples / "priority_landscapes.gpkg"),
        )


def test_samples_end_to_end(sample_layers):
    sites, pas, eco, pls = sample_layers
    out = classify(sites, pas, eco, priority_landscapes=pls)
    # the counts data/samples/README.md states (worked out by the sample generator)
    assert out["pace_class"].value_counts().to_dict() == {
        "protected_area": 68,
        "critical_ecosystem": 65,
        "not_eligible": 48,
        "priority_landscape": 22,
    }
    assert out["site_id"].tolist() == sites["site_id"].tolist()
    # independent recomputation with plain shapely on the loaded layers
    pts = sites.geometry.values
    pa_union = shapely.union_all(shapely.make_valid(pas.geometry.values))
    in_pa = shapely.intersects(pa_union, pts)
    assert ((out["pace_class"] == "protected_area").to_numpy() == in_pa).all()
    # two parcels of one WDPAID are one protected area
    assert not out["pa_ids"].str.contains("900003;900003").any()
    # the point record drawn as a circle protects at least one site
    circ = out["pa_ids"].str.contains("900010")
    assert circ.any()
    assert out.loc[circ, "reason"].str.contains("point record").all()
    # nearest distances of 15 outside sites against brute-force Geod
    outside = np.flatnonzero(~in_pa)[::5][:15]
    polys = list(shapely.make_valid(pas.geometry.values))
    for i in outside:
        exp = brute_km(pts[i].x, pts[i].y, polys)
        assert out["nearest_pa_km"].iloc[i] == pytest.approx(exp, rel=5e-3, abs=0.03)
    # a projected protected-area layer (UTM 19S) gives the same classes and distances
    utm = classify(sites, pas.to_crs(32719), eco, priority_landscapes=pls)
    assert (utm["pace_class"] == out["pace_class"]).all()
    assert (utm["pa_ids"] == out["pa_ids"]).all()
    np.testing.assert_allclose(utm["nearest_pa_km"], out["nearest_pa_km"], rtol=1e-4, atol=1e-3)


@pytest.mark.realdata
def test_amazon_mining_watch_footprints_against_wdpa(realdata):
    """AMW 2024 mining polygons (5,232) against the WDPA South America layer (Feb 2019)."""
    import warnings

    import asm_pace
    from asm_pace.errors import AsmPaceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AsmPaceWarning)
        pas = asm_pace.read_protected_areas(
            realdata
            / "wdpa_south_america_2019"
            / "wdpa_feb2019_south_america_polygons_simplified.gpkg"
        )
        feet = asm_pace.read_sites(
            realdata / "amw_peru_amazon" / "mining_202400_simplified.geojson"
        )
    out = classify(feet, pas, NO_ECO)
    geoms = feet.geometry.values
    pa_geoms = shapely.make_valid(pas.geometry.values)
    # classes: a footprint is protected iff it intersects a protected area
    tree = shapely.STRtree(pa_geoms)
    hits = np.zeros(len(feet), dtype=bool)
    hits[np.unique(tree.query(geoms, predicate="intersects")[0])] = True
    assert ((out["pace_class"] == "protected_area").to_numpy() == hits).all()
    assert 1000 < hits.sum() < 3000
    # pa_share on 25 overlapping footprints, independently in an equal-area projection
    rng = np.random.default_rng(3)
    some = rng.choice(np.flatnonzero(hits), 25, replace=False)
    for i in some:
        parts = pa_geoms[tree.query(geoms[i], predicate="intersects")]
        inside = shapely.intersection(geoms[i], shapely.union_all(parts))
        laea = f"+proj=laea +lon_0={geoms[i].centroid.x} +lat_0={geoms[i].centroid.y}"
        both = GeoDataFrame(geometry=[inside, geoms[i]], crs=4326).to_crs(laea).area.to_numpy()
        assert out["pa_share"].iloc[i] == pytest.approx(both[0] / both[1], abs=2e-3)
    # footprint distances on 8 outside footprints: brute force over both vertex sets
    far = rng.choice(np.flatnonzero(~hits), 8, replace=False)
    for i in far:
        d_deg = shapely.distance(geoms[i], pa_geoms)
        reach = d_deg.min() * 1.6 + 0.02  # degrees: generous around the nearest in degrees
        cand = [pa_geoms[j] for j in np.flatnonzero(d_deg <= reach)]
        fx = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geoms[i]), 0.0005))
        px = shapely.get_coordinates(shapely.segmentize(shapely.boundary(cand), 0.0005))
        px = px[shapely.distance(shapely.points(px), geoms[i]) <= reach]
        a, b = np.repeat(fx, len(px), axis=0), np.tile(px, (len(fx), 1))  # every pair
        best = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2].min()
        assert out["nearest_pa_km"].iloc[i] == pytest.approx(best / 1000, rel=5e-3, abs=0.06)


def test_a_millimetre_from_the_boundary_counts_as_touching():
    # 1e-10 degrees is 0.01 mm (reprojection round-off); 1e-7 degrees is 1.1 cm
    sites = site_layer(shapely.Point(0.5, 1 + 1e-10), shapely.Point(0.5, 1 + 1e-7))
    out = classify(sites, pa_layer(ALPHA), NO_ECO)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert out["pa_ids"].tolist() == ["900001", ""]
    assert out["nearest_pa_km"].iloc[0] == 0.0
    assert out["nearest_pa_km"].iloc[1] * 1e6 == pytest.approx(
        meridian_km(0.5, 1 + 1e-7, 1) * 1e6, rel=1e-3
    )


def test_no_sites_and_a_repeated_index():
    empty = classify(site_layer(shapely.Point(0.5, 0.5)).iloc[:0], pa_layer(ALPHA), NO_ECO)
    assert len(empty) == 0
    assert {"pace_class", "nearest_pa_km", "reason"} <= set(empty.columns)
    sites = site_layer(shapely.Point(0.5, 0.5), shapely.Point(0.5, 1.5), index=[4, 4])
    out = classify(sites, pa_layer(ALPHA), NO_ECO)
    assert list(out.index) == [4, 4]
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(meridian_km(0.5, 1.5, 1.0), rel=1e-6)


# ----------------------------------------------------------------------------- restricted index


def many_pas(rng, n, lon_range, lat_range, first_id=1):
    cx = rng.uniform(*lon_range, n)
    cy = rng.uniform(*lat_range, n)
    circles = shapely.buffer(shapely.points(cx, cy), rng.uniform(0.02, 0.2, n), quad_segs=4)
    return [{"pa_id": str(first_id + i), "geometry": g} for i, g in enumerate(circles)]


def assert_restricted_matches_full(sites, pas):
    from asm_pace.classification import _classify, _pa_index

    geoms = pas.geometry.to_numpy()
    q = sites.geometry.to_numpy()
    index = _pa_index(geoms, q, shapely.get_type_id(q) == 0, None)
    used = np.unique(index.line_owner).size
    assert used < len(pas) // 4, "the restriction was not used"
    full = _classify(sites, pas, NO_ECO, None, restrict=False)
    part = _classify(sites, pas, NO_ECO, None, restrict=True)
    pd.testing.assert_frame_equal(part, full)
    return full


def test_restricted_index_far_nearest_and_footprints():
    # 600 PAs over a continent; clustered sites 5-8 degrees east of all of them,
    # points and footprints; the nearest PA is hundreds of km away
    rng = np.random.default_rng(4)
    pas = pa_layer(*many_pas(rng, 600, (-75.0, -45.0), (-25.0, 5.0)))
    pts = shapely.points(rng.uniform(-40.0, -37.0, 30), rng.uniform(-12.0, -9.0, 30))
    feet = shapely.buffer(shapely.points(rng.uniform(-40, -37, 5), rng.uniform(-12, -9, 5)), 0.05)
    with pytest.warns(ExtentWarning, match="more than 500 km from every protected area"):
        out = assert_restricted_matches_full(site_layer(*pts, *feet), pas)
    assert (out["nearest_pa_km"] > 400).all()
    # brute force for a few points: Geod over densified PA boundaries
    xy, owner = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(pas.geometry.to_numpy()), 0.002), return_index=True
    )
    for i in range(3):
        x, y = shapely.get_x(pts[i]), shapely.get_y(pts[i])
        d = GEOD.inv(np.full(len(xy), x), np.full(len(xy), y), xy[:, 0], xy[:, 1])[2]
        assert out["nearest_pa_km"].iloc[i] == pytest.approx(d.min() / 1000, rel=5e-3)
        assert out["nearest_pa_id"].iloc[i] == pas["pa_id"].iloc[owner[d.argmin()]]


def test_restricted_index_clustered_sites_among_many_pas():
    rng = np.random.default_rng(8)
    pas = pa_layer(*many_pas(rng, 1500, (-80.0, -40.0), (-30.0, 10.0)))
    pts = shapely.points(rng.normal(-60.0, 0.4, 150), rng.normal(-10.0, 0.4, 150))
    out = assert_restricted_matches_full(site_layer(*pts), pas)
    assert (out["pace_class"] == "protected_area").sum() < 150


def test_restricted_index_across_the_antimeridian():
    rng = np.random.default_rng(6)
    rows = many_pas(rng, 400, (120.0, 175.0), (-40.0, 0.0), first_id=10)
    rows.append({"pa_id": "1", "geometry": shapely.box(-179.9, -17.5, -179.5, -16.5)})
    pas = pa_layer(*rows)
    pts = shapely.points(rng.uniform(179.85, 179.99, 20), rng.uniform(-17.3, -16.7, 20))
    out = assert_restricted_matches_full(site_layer(*pts), pas)
    assert (out["nearest_pa_id"] == "1").all()
    exp = GEOD.inv(shapely.get_x(pts), shapely.get_y(pts), np.full(20, -179.9), shapely.get_y(pts))
    np.testing.assert_allclose(out["nearest_pa_km"], exp[2] / 1000, rtol=1e-6)


def test_only_protected_areas_near_the_sites_are_repaired():
    from asm_pace.classification import _classify

    rng = np.random.default_rng(10)
    rows = many_pas(rng, 400, (-75.0, -45.0), (-25.0, 5.0), first_id=10)
    far_bow = shapely.Polygon([(-74, 4), (-73, 5), (-73, 4), (-74, 5)])  # 20 degrees away
    near_bow = shapely.Polygon([(-56, -11), (-55, -10), (-55, -11), (-56, -10)])
    rows += [{"pa_id": "1", "geometry": far_bow}, {"pa_id": "2", "geometry": near_bow}]
    pas = pa_layer(*rows)
    pts = shapely.points(rng.uniform(-54.5, -54.0, 20), rng.uniform(-10.8, -10.2, 20))
    sites = site_layer(*pts)
    with pytest.warns(RepairedGeometryWarning, match="1 invalid polygon") as caught:
        part = _classify(sites, pas, NO_ECO, None, restrict=True)
    assert "pa_id 2" in str(caught[0].message) and "pa_id 1" not in str(caught[0].message)
    with pytest.warns(RepairedGeometryWarning, match="2 invalid polygon"):
        full = _classify(sites, pas, NO_ECO, None, restrict=False)
    pd.testing.assert_frame_equal(part, full)
    # the repaired bow tie (two triangles meeting at (-55.5, -10.5)) is the nearest:
    # its east edge is the meridian -55 between -11 and -10
    assert (part["nearest_pa_id"] == "2").all()
    exp = GEOD.inv(shapely.get_x(pts), shapely.get_y(pts), np.full(20, -55.0), shapely.get_y(pts))
    np.testing.assert_allclose(part["nearest_pa_km"], exp[2] / 1000, rtol=1e-3)


def test_a_nearby_protected_area_that_repairs_to_nothing():
    from asm_pace.classification import _classify

    rng = np.random.default_rng(13)
    rows = many_pas(rng, 300, (-75.0, -45.0), (-25.0, 5.0), first_id=10)
    # a zero-area sliver right next to the sites: make_valid leaves no polygon,
    # so it cannot bound any distance (every area is then checked)
    sliver = shapely.Polygon([(-54.0, -10.0), (-53.0, -10.0), (-53.5, -10.0)])
    rows.append({"pa_id": "1", "geometry": sliver})
    pas = pa_layer(*rows)
    pts = shapely.points(rng.uniform(-54.2, -53.8, 15), rng.uniform(-10.3, -9.7, 15))
    with pytest.warns(RepairedGeometryWarning):
        part = _classify(site_layer(*pts), pas, NO_ECO, None, restrict=True)
    with pytest.warns(RepairedGeometryWarning):
        full = _classify(site_layer(*pts), pas, NO_ECO, None, restrict=False)
    pd.testing.assert_frame_equal(part, full)
    assert (part["nearest_pa_id"] != "1").all() and (part["nearest_pa_km"] > 5).all()


def test_three_dimensional_layers_give_the_same_answers():
    pas2 = pa_layer(ALPHA, {"pa_id": "2", "geometry": shapely.box(2, 2, 3, 3)})
    pas3 = pas2.set_geometry(shapely.force_3d(pas2.geometry.to_numpy(), z=250.0))
    eco2 = eco_layer({"eco_id": 3, "geometry": shapely.box(-5, -5, 5, 5)})
    eco3 = eco2.set_geometry(shapely.force_3d(eco2.geometry.to_numpy(), z=10.0))
    sites = site_layer(shapely.Point(0.5, 0.5), shapely.Point(1.5, 1.6), shapely.Point(4, 0.5))
    assert pas3.has_z.all() and eco3.has_z.all()
    ref = classify(sites, pas2, eco2)
    out = classify(sites, pas3, eco3)
    pd.testing.assert_frame_equal(out, ref)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible", "not_eligible"]
    # the nearest boundary point of (4, 0.5) is the corner (3, 2) of the second park
    assert out["nearest_pa_km"].iloc[2] == pytest.approx(GEOD.inv(4, 0.5, 3, 2)[2] / 1000, 1e-6)


def test_3d_layers_in_a_projected_crs_are_read_as_2d_lonlat():
    # Z values are dropped and UTM is reprojected (the project's CRS policy, _vector.to_wgs84);
    # the nearest distance is then pyproj.Geod's, from (0.5, 1.1) to the PA edge at lat 1
    sites = site_layer(shapely.Point(0.5, 0.5, 120.0), shapely.Point(0.5, 1.1, 80.0), crs=32631)
    pa = dict(ALPHA, geometry=shapely.force_3d(ALPHA["geometry"], 300.0))
    out = classify(sites, pa_layer(pa), NO_ECO)
    assert out["pace_class"].tolist() == ["protected_area", "not_eligible"]
    assert out.crs.to_epsg() == 32631 and out.geometry.has_z.all()  # the input is returned as given
    expected_km = Geod(ellps="WGS84").inv(0.5, 1.1, 0.5, 1.0)[2] / 1000.0
    assert out["nearest_pa_km"].iloc[1] == pytest.approx(expected_km, rel=1e-3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sites_with_a_nan_or_infinite_coordinate_are_refused_by_name(bad):
    """A GeoDataFrame given straight to classify (not through read_sites) gets the same check."""
    sites = site_layer(shapely.Point(0.5, 0.5), shapely.Point(bad, 0.5))
    with pytest.raises(InputError, match=r"site_id S2: a coordinate is NaN or infinite"):
        classify(sites, pa_layer(ALPHA), NO_ECO)


# ----------------------------------------------------------------------------- names and labels


def east_edge_km(lon: float, lat: float, edge_lon: float) -> float:
    """Brute force: the least Geod distance to the meridian edge edge_lon, lat 0..1."""
    lats = np.linspace(0.0, 1.0, 20001)
    return float(GEOD.inv(np.full_like(lats, lon), np.full_like(lats, lat),
                          np.full_like(lats, edge_lon), lats)[2].min()) / 1000.0  # fmt: skip


@pytest.mark.parametrize("missing", ["", None, "   "], ids=["empty", "none", "blank"])
def test_every_reason_reads_well_without_names(missing):
    pas = pa_layer(
        {"pa_id": "478140", "name": missing, "status_year": 1990, "geometry": shapely.box(0, 0, 1, 1)},
        {"pa_id": "9", "name": missing, "geometry": shapely.box(2, 0, 3, 1)},
        {"pa_id": "12", "name": "Twelve", "geometry": shapely.box(2.2, 0.2, 2.8, 0.8)},
        {"pa_id": "13", "name": missing, "geometry": shapely.box(2.2, 0.2, 2.8, 0.8)},
        {"pa_id": "14", "name": missing, "geometry": shapely.box(2.2, 0.2, 2.8, 0.8)},
    )  # fmt: skip
    eco = eco_layer(
        {"eco_id": 1, "eco_name": "Plain", "geometry": shapely.box(-1, -1, 3.5, 2)},
        {"eco_id": 7, "eco_name": missing, "g200_region": missing, "is_g200": True,
         "geometry": shapely.box(3.5, -1, 4.5, 2)},
        {"eco_id": 8, "eco_name": missing, "geometry": shapely.box(4.5, -1, 6, 2)},
        {"eco_id": None, "eco_name": missing, "g200_region": missing, "is_g200": True,
         "geometry": shapely.box(6, -1, 6.5, 2)},
        {"eco_id": None, "eco_name": missing, "geometry": shapely.box(6.5, -1, 7, 2)},
    )  # fmt: skip
    pls = landscapes(
        (missing, shapely.box(5.25, -1, 6, 2)),
        ("Madre", shapely.box(5.75, -1, 6, 2)),
        (missing, shapely.box(5.75, -1, 6, 2)),
    )
    sites = site_layer(
        shapely.Point(0.5, 0.5),  # one unnamed park
        shapely.Point(2.5, 0.5),  # four parks, three unnamed
        shapely.Point(4.0, 0.5),  # Global 200, no region name, no ecoregion name
        shapely.Point(5.0, 0.5),  # not eligible: an ecoregion without a name
        shapely.Point(5.5, 0.5),  # an unnamed landscape
        shapely.Point(5.9, 0.5),  # Madre and two unnamed landscapes
        shapely.Point(6.25, 0.5),  # Global 200 without region, name or id
        shapely.Point(6.75, 0.5),  # an ecoregion without name or id
    )
    out = classify(sites, pas, eco, priority_landscapes=pls)
    km = [east_edge_km(lon, 0.5, 3.0) for lon in (4.0, 5.0, 5.5, 5.9, 6.25, 6.75)]
    assert [round(k) for k in km] == [111, 223, 278, 323, 362, 417]  # Geod, about 111.3 / degree
    near = [f"(nearest: an unnamed protected area, WDPA 9, {k:.0f} km)" for k in km]
    assert out["reason"].tolist() == [
        "Inside an unnamed protected area (WDPA 478140, IUCN II), designated 1990",
        "Inside 4 protected areas: an unnamed protected area (WDPA 9, IUCN II), "
        "Twelve (WDPA 12, IUCN II), an unnamed protected area (WDPA 13, IUCN II) and 1 more",
        f"Not in a protected area {near[0]} or a priority landscape; "
        "in a Global 200 ecoregion (ECO_ID 7)",
        f"Not in a protected area {near[1]}, priority landscape or Global 200 ecoregion; "
        "ecoregion: ECO_ID 8 (no name)",
        f"Not in a protected area {near[2]}; inside an unnamed priority landscape",
        f"Not in a protected area {near[3]}; inside the Madre priority landscape and 2 unnamed "
        "ones",
        f"Not in a protected area {near[4]} or a priority landscape; in a Global 200 ecoregion",
        f"Not in a protected area {near[5]}, priority landscape or Global 200 ecoregion; "
        "in an ecoregion without a name",
    ]
    assert out["pace_class"].tolist() == [
        "protected_area", "protected_area", "critical_ecosystem", "not_eligible",
        "priority_landscape", "priority_landscape", "critical_ecosystem", "not_eligible",
    ]  # fmt: skip
    assert out["priority_landscape"].tolist()[4:6] == ["", "Madre"]
    # filtered by country: "the nearest PER protected area: an unnamed one"
    pas.attrs["countries"] = ["PER"]
    reason = classify(sites.iloc[[3]], pas, eco)["reason"].iloc[0]
    assert f"(nearest PER protected area: an unnamed one, WDPA 9, {km[1]:.0f} km)" in reason


def test_footprint_over_an_unnamed_park():
    pas = pa_layer({"pa_id": "5", "name": " ", "geometry": shapely.box(0, 0, 1, 1)})
    out = classify(site_layer(shapely.box(0.5, 0.25, 1.5, 0.75)), pas, NO_ECO)
    # the footprint's west half: the same span of latitude on both sides of lon 1
    assert out["reason"].iloc[0] == (
        "Overlaps an unnamed protected area (WDPA 5, IUCN II); 50.0 % of the footprint is protected"
    )


def test_ids_are_labelled_by_their_source():
    row = {"pa_id": "100", "name": "Reserva Y", "iucn_category": "", "geometry": ALPHA["geometry"]}
    site = site_layer(shapely.Point(0.5, 0.5))
    pas = pa_layer(row)
    pas.attrs["source_label"] = "ANP_Definitivas"  # read_protected_areas: the file's name
    assert classify(site, pas, NO_ECO)["reason"].iloc[0] == "Inside Reserva Y (ANP_Definitivas 100)"
    # built in memory, no label: WDPA only for a WDPA parcel id of its own pa_id
    cases = [("100", "", "id 100"), ("100", "100_A", "WDPA 100"), ("100", "1000", "id 100"),
             ("PA3", "PA3", "id PA3")]  # fmt: skip
    for pid, parcel, said in cases:
        pas = pa_layer({**row, "pa_id": pid, "wdpa_pid": parcel})
        pas.attrs = {}
        assert classify(site, pas, NO_ECO)["reason"].iloc[0] == f"Inside Reserva Y ({said})"
    # a WDPA layer's generated id (a record without WDPAID) is no WDPA id
    pas = pa_layer({**row, "pa_id": "PA3"})
    assert classify(site, pas, NO_ECO)["reason"].iloc[0] == "Inside Reserva Y (id PA3)"


def test_features_without_ids_are_named_by_their_row_counted_from_1():
    from asm_pace.classification import _labels

    layer = GeoDataFrame(geometry=[shapely.Point(i, 0) for i in range(4)], crs=4326)
    layer.index = [10, 20, 30, 40]  # index labels are not rows
    assert _labels(layer).tolist() == ["row 1", "row 2", "row 3", "row 4"]
    assert _labels(layer.iloc[[2, 3]], [2, 3]).tolist() == ["row 3", "row 4"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(["", "a", "WDPA:1", "b c", "2"])),
        max_size=25,
    )
)
def test_join_by_site_equals_a_loop_over_sites(pairs):
    from asm_pace.classification import _join_by_site

    pairs = sorted(pairs, key=lambda p: p[0])  # sorted by site, the values in given order
    site_i = np.array([p[0] for p in pairs], dtype="int64")
    values = np.array([p[1] for p in pairs], dtype=object)
    expect = {}
    for s, v in pairs:
        expect.setdefault(s, []).append(v)
    got = _join_by_site(site_i, values, 8)
    assert got.tolist() == [";".join(expect.get(s, [])) for s in range(8)]
    assert all(type(v) is str for v in got)
