"""Several protected-area sources in one run (asm_pace.pa_sources; docs/sources.md).

Expected values come from hand-worked worlds and from pyproj.Geod (areas of polygons and their
overlaps, distances to densified boundaries), never from the code under test.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace.cli import cli
from asm_pace.errors import CRSError, ExtentWarning, InputError, SchemaError
from asm_pace.pa_sources import combine_protected_areas

GEOD = Geod(ellps="WGS84")


def layer(ids, geoms, label, *, years=None, origin=None, **extra) -> gpd.GeoDataFrame:
    """A protected-area layer in the normalised schema, named ``label``."""
    n = len(ids)
    gdf = gpd.GeoDataFrame(
        {
            "pa_id": list(ids),
            "wdpa_pid": [""] * n,
            "name": extra.pop("names", [f"{label} area {i}" for i in ids]),
            "designation": ["National Park"] * n,
            "iucn_category": ["II"] * n,
            "status_year": pd.array(years if years is not None else [pd.NA] * n, dtype="Int64"),
            "world_heritage": extra.pop("world_heritage", [False] * n),
            "ramsar": [False] * n,
            "origin": origin or ["polygon"] * n,
        },
        geometry=list(geoms),
        crs="EPSG:4326",
    )
    gdf.attrs = {"source_label": label, "source": f"{label.lower()}.gpkg", **extra}
    return gdf


ECO = gpd.GeoDataFrame(
    {
        "eco_id": pd.array([1], dtype="Int64"),
        "eco_name": ["Forest"],
        "biome": pd.array([1], dtype="Int64"),
        "g200_region": [""],
        "is_g200": [False],
    },
    geometry=[shapely.box(-10, -10, 10, 10)],
    crs="EPSG:4326",
)


def sites(*points) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i + 1}" for i in range(len(points))]},
        geometry=[shapely.Point(p) for p in points],
        crs="EPSG:4326",
    )


def geod_area(geom) -> float:
    """Area (m2) by pyproj.Geod, edges densified (lon/lat-straight, as shapely draws them)."""
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.001))[0])


# --------------------------------------------------------------------------- the rule


def test_a_park_redrawn_in_a_national_layer_is_one_area():
    # WDPA: lon 0..1, lat 0..1; national: the same park, its north edge 0.02 degrees further
    wdpa = layer(["478140"], [shapely.box(0, 0, 1, 1)], "WDPA", years=[1973])
    nat = layer(["100"], [shapely.box(0, 0, 1, 1.02)], "SERNANP", years=[1980])
    out = asm_pace.classify(sites((0.5, 0.5), (0.5, 1.01), (0.5, 1.5)), [wdpa, nat], ECO)
    # by hand: both polygons hold S1; only the national one holds S2 (lat 1.01)
    assert out["pa_sources"].tolist() == ["WDPA;SERNANP", "SERNANP", ""]
    # the area is listed once, by its first source's record (WDPA listed first)
    assert out["pa_ids"].tolist() == ["WDPA:478140", "WDPA:478140", ""]
    assert (
        out["reason"].iloc[0].startswith("Inside WDPA area 478140 (WDPA 478140, also SERNANP 100")
    )
    # protected_since: the earliest known year among the area's records
    assert out["protected_since"].tolist()[:2] == [1973, 1973]
    # S3 is 0.48 degrees of latitude north of the national edge (lat 1.02)
    _, _, d = GEOD.inv(0.5, 1.5, 0.5, 1.02)
    assert out["nearest_pa_km"].iloc[2] == pytest.approx(d / 1000, rel=1e-6)
    assert out["nearest_pa_id"].iloc[2] == "SERNANP:100"


def test_a_small_reserve_inside_a_big_park_stays_two_areas():
    big = layer(["1"], [shapely.box(0, 0, 2, 2)], "NAT", years=[1990])
    small = layer(["7"], [shapely.box(0.5, 0.5, 1, 1)], "REG", years=[2005])
    # by pyproj.Geod: the small reserve is about 1/16 of the park, far below 0.9
    assert geod_area(small.geometry[0]) / geod_area(big.geometry[0]) < 0.1
    both = combine_protected_areas([big, small])
    assert both["pa_group"].tolist() == [0, 1] and both["same_as"].tolist() == ["", ""]
    out = asm_pace.classify(sites((0.75, 0.75)), [big, small], ECO)
    assert out["pa_ids"].iloc[0] == "NAT:1;REG:7"
    assert out["pa_sources"].iloc[0] == "NAT;REG"
    assert out["reason"].iloc[0].startswith("Inside 2 protected areas")
    assert out["protected_since"].iloc[0] == 1990


def test_the_same_wdpaid_in_two_sources_is_one_area_wherever_its_polygons_lie():
    # a national layer carrying the WDPA's id field: its polygon is drawn elsewhere entirely
    wdpa = layer(["555"], [shapely.box(0, 0, 1, 1)], "WDPA", wdpa_ids=True)
    nat = layer(["555"], [shapely.box(3, 3, 4, 4)], "NATIONAL", wdpa_ids=True)
    other = layer(["555"], [shapely.box(5, 5, 6, 6)], "LOCAL")  # its own ids: not WDPAIDs
    out = combine_protected_areas({"WDPA": wdpa, "NATIONAL": nat, "LOCAL": other})
    assert out["pa_group"].tolist() == [0, 0, 1]
    assert out["same_as"].tolist() == ["", "WDPA:555", ""]
    assert out.attrs["groups"] == 2


def test_the_reader_says_whether_its_ids_are_wdpaids():
    base = {"NAME": ["A"], "STATUS": ["Designated"], "ISO3": ["PER"]}
    geom = [shapely.box(0, 0, 1, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wdpa = asm_pace.read_protected_areas(
            gpd.GeoDataFrame({"WDPAID": [9], **base}, geometry=geom, crs=4326)
        )
        national = asm_pace.read_protected_areas(
            gpd.GeoDataFrame({"codigo": [9], "nombre": ["A"]}, geometry=geom, crs=4326)
        )
    assert wdpa.attrs["wdpa_ids"] is True and national.attrs["wdpa_ids"] is False


def test_parcels_of_one_id_in_one_source_are_one_area():
    wdpa = layer(["9", "9"], [shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], "WDPA")
    nat = layer(["1"], [shapely.box(2, 0, 3, 1)], "NAT")
    out = combine_protected_areas([wdpa, nat])
    # the national polygon is the WDPA's second parcel: all three rows are one area
    assert out["pa_group"].tolist() == [0, 0, 0]
    assert out["same_as"].tolist() == ["", "WDPA:9", "WDPA:9"]


def test_sectors_of_one_name_match_the_other_sources_single_polygon():
    # a national layer without ids holds a park in two sectors (west and east halves); the
    # WDPA draws it as one polygon: each sector is about half of it, far below 0.9, but
    # together they are the same area (by pyproj.Geod: the union is the WDPA polygon)
    west, east = shapely.box(0, 0, 0.5, 1), shapely.box(0.5, 0, 1, 1)
    assert geod_area(west) / geod_area(shapely.box(0, 0, 1, 1)) < 0.6
    wdpa = layer(["7"], [shapely.box(0, 0, 1, 1)], "WDPA")
    nat = layer(["PA1", "PA2", "PA3"], [west, east, shapely.box(3, 0, 4, 1)], "NAT",
                names=["Cutervo", " cutervo ", "Other"])  # fmt: skip
    out = combine_protected_areas([wdpa, nat])
    assert out["pa_group"].tolist() == [0, 0, 0, 1]
    assert out["same_as"].tolist() == ["", "WDPA:7", "WDPA:7", ""]
    # the reverse: the WDPA in two parcels of one id, the national layer one polygon
    parcels = layer(["9", "9"], [west, east], "WDPA")
    single = layer(["1"], [shapely.box(0, 0, 1, 1.01)], "NAT")
    assert combine_protected_areas([parcels, single])["pa_group"].tolist() == [0, 0, 0]


def test_sectors_are_not_one_area_unless_another_source_says_so():
    # two same-named sectors far apart, matched by nothing: two areas, as before; and two
    # sectors whose union is only 2/3 of the other source's polygon stay apart from it
    west, east = shapely.box(0, 0, 0.5, 1), shapely.box(0.5, 0, 1, 1)
    nat = layer(["PA1", "PA2"], [west, shapely.box(5, 0, 5.5, 1)], "NAT", names=["X", "X"])
    other = layer(["3"], [shapely.box(10, 0, 11, 1)], "B")
    assert combine_protected_areas([nat, other])["pa_group"].tolist() == [0, 1, 2]
    two = layer(["PA1", "PA2"], [west, east], "NAT", names=["X", "X"])
    big = layer(["8"], [shapely.box(0, 0, 1.5, 1)], "B")
    assert geod_area(shapely.box(0, 0, 1, 1)) / geod_area(big.geometry[0]) < 0.9
    assert combine_protected_areas([big, two])["pa_group"].tolist() == [0, 1, 2]


def test_point_circles_are_matched_by_id_only():
    circle = shapely.Point(0.5, 0.5).buffer(0.4, 64)
    wdpa = layer(["1"], [circle], "WDPA", origin=["point_circle"])
    nat = layer(["2"], [circle], "NAT")  # the very same shape: still not the same area
    assert combine_protected_areas([wdpa, nat])["pa_group"].tolist() == [0, 1]


def test_the_group_is_transitive_and_the_first_source_represents_it():
    a = layer(["1"], [shapely.box(0, 0, 1, 1)], "A")
    b = layer(["2"], [shapely.box(0, 0, 1, 1.03)], "B")
    c = layer(["3"], [shapely.box(0, 0, 1, 1.06)], "C")
    out = combine_protected_areas({"C": c, "B": b, "A": a})
    assert out["pa_group"].tolist() == [0, 0, 0]
    assert out["same_as"].tolist() == ["", "C:3", "C:3"]
    assert out["source"].tolist() == ["C", "B", "A"]


@settings(max_examples=40, deadline=None)
@given(
    w=st.floats(0.2, 2.0),
    h=st.floats(0.2, 2.0),
    dx=st.floats(-0.4, 0.4),
    dy=st.floats(-0.4, 0.4),
    grow=st.floats(0.6, 1.4),
    lat=st.floats(-60, 60),
    share=st.floats(0.5, 0.95),
)
def test_the_mutual_share_rule_against_geod(w, h, dx, dy, grow, lat, share):
    one = shapely.box(0, lat, w, lat + h)
    two = shapely.box(dx, lat + dy, dx + w * grow, lat + dy + h)
    inter = one.intersection(two)
    got = [geod_area(inter) / geod_area(g) if not inter.is_empty else 0.0 for g in (one, two)]
    if min(abs(s - share) for s in got) < 1e-3:
        return  # too close to the threshold to tell by two area methods
    expected = all(s >= share for s in got)
    out = combine_protected_areas(
        [layer(["1"], [one], "A"), layer(["1"], [two], "B")], same_share=share
    )
    assert (out["pa_group"].nunique() == 1) is expected


# --------------------------------------------------------------------------- distances, areas


def test_nearest_across_sources_against_brute_force_geod():
    a = layer(["1", "2"], [shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)], "A")
    b = layer(["7"], [shapely.Polygon([(1.5, 2), (2.5, 2), (2, 3)])], "B")
    pts = [(1.8, 0.5), (2.0, 1.6), (-0.5, 2.5), (4.2, 1.3), (1.9, 3.4)]
    out = asm_pace.classify(sites(*pts), {"A": a, "B": b}, ECO)
    # brute force: every boundary, densified to ~100 m, measured with Geod.inv
    rows = [("A:1", a.geometry[0]), ("A:2", a.geometry[1]), ("B:7", b.geometry[0])]
    for k, (x, y) in enumerate(pts):
        best = (np.inf, "")
        for label, g in rows:
            xy = shapely.get_coordinates(shapely.segmentize(g.exterior, 0.001))
            d = GEOD.inv(np.full(len(xy), x), np.full(len(xy), y), xy[:, 0], xy[:, 1])[2].min()
            best = min(best, (d, label))
        assert out["nearest_pa_km"].iloc[k] == pytest.approx(best[0] / 1000, rel=5e-3)
        assert out["nearest_pa_id"].iloc[k] == best[1]


def test_a_footprint_share_counts_a_park_in_two_sources_once():
    wdpa = layer(["1"], [shapely.box(0, 0, 1, 1)], "WDPA")
    nat = layer(["2"], [shapely.box(0, 0, 1, 1.02)], "NAT")
    foot = shapely.box(0.9, 0.9, 1.1, 1.1)
    got = asm_pace.classify(
        gpd.GeoDataFrame({"site_id": ["F"]}, geometry=[foot], crs=4326), [wdpa, nat], ECO
    )
    union = shapely.union(wdpa.geometry[0], nat.geometry[0])
    expected = geod_area(foot.intersection(union)) / geod_area(foot)
    assert got["pa_share"].iloc[0] == pytest.approx(expected, rel=1e-4)


def test_overlap_areas_count_a_park_in_two_sources_once():
    wdpa = layer(["1"], [shapely.box(0, 0, 1, 1)], "WDPA")
    nat = layer(["2"], [shapely.box(0, 0, 1, 1.02)], "NAT")
    both = combine_protected_areas([wdpa, nat])
    zones = asm_pace.buffers(sites((0.5, 1.0)), radii_km=[10.0])
    res = asm_pace.overlaps(zones, both)
    union = shapely.union(wdpa.geometry[0], nat.geometry[0])
    zone = zones.geometry.iloc[0]
    expected = geod_area(zone.intersection(union)) / 1e6
    assert res.zones["pa_area_km2"].iloc[0] == pytest.approx(expected, rel=1e-4)
    assert res.zones["n_pas"].iloc[0] == 1
    assert res.pairs[["pa_id", "source"]].values.tolist() == [["1", "WDPA"]]
    # the pair is measured on the whole area (both records), not the first polygon alone
    assert res.pairs["overlap_km2"].iloc[0] == pytest.approx(expected, rel=1e-4)


# --------------------------------------------------------------------------- single source, attrs


def test_one_geodataframe_gives_the_columns_it_always_gave():
    wdpa = layer(["1"], [shapely.box(0, 0, 1, 1)], "WDPA")
    one = asm_pace.classify(sites((0.5, 0.5)), wdpa, ECO)
    assert "pa_sources" not in one.columns and one["pa_ids"].iloc[0] == "1"
    many = asm_pace.classify(sites((0.5, 0.5)), {"WDPA": wdpa}, ECO)
    assert many["pa_ids"].iloc[0] == "WDPA:1" and many["pa_sources"].iloc[0] == "WDPA"
    assert many["reason"].iloc[0] == one["reason"].iloc[0]


def test_the_combined_box_is_the_intersection_of_the_sources_boxes():
    a = layer(["1"], [shapely.box(0, 0, 1, 1)], "A", bbox=(-1.0, -1.0, 2.0, 2.0))
    b = layer(["2"], [shapely.box(0, 0, 1, 1)], "B", bbox=(0.5, -2.0, 3.0, 1.5))
    c = layer(["3"], [shapely.box(0, 0, 1, 1)], "C")  # the whole file: no constraint
    out = combine_protected_areas([a, b, c])
    assert out.attrs["bbox"] == (0.5, -1.0, 2.0, 1.5)
    # a site in A's box but outside B's: B may hold an area there that was not read
    with pytest.raises(InputError, match="outside the box"):
        asm_pace.classify(sites((0.2, 0.5)), [a, b, c], ECO)
    far = layer(["4"], [shapely.box(0, 0, 1, 1)], "D", bbox=(5.0, 5.0, 6.0, 6.0))
    with pytest.raises(InputError, match="do not overlap"):
        combine_protected_areas([a, far])


def test_counts_and_countries_add_up():
    counts = {"read": 5, "removed": {"statuses": 2}, "repaired": 1, "used": 3}
    a = layer(["1"], [shapely.box(0, 0, 1, 1)], "A", counts=counts, countries=["PER"])
    b = layer(["2"], [shapely.box(2, 0, 3, 1)], "B", countries=["PER"])
    out = combine_protected_areas([a, b])
    assert out.attrs["counts"] == {
        "read": 6,
        "removed": {"statuses": 2},
        "repaired": 1,
        "used": 2,
    }
    assert out.attrs["countries"] == ["PER"] and out.attrs["pa_sources"] == ["A", "B"]
    b.attrs["countries"] = ["BOL"]
    assert "countries" not in combine_protected_areas([a, b]).attrs


def test_a_source_of_another_region_is_warned():
    near = layer(["1"], [shapely.box(0, 0, 1, 1)], "A")
    far = layer(["2"], [shapely.box(100, 40, 101, 41)], "B")
    with pytest.warns(ExtentWarning, match="source 'B'"):
        asm_pace.classify(sites((0.5, 0.5)), [near, far], ECO)


# --------------------------------------------------------------------------- refusals


def test_refusals_name_the_source_and_the_fix():
    ok = layer(["1"], [shapely.box(0, 0, 1, 1)], "A")
    with pytest.raises(InputError, match=r"both named 'A'.*-p NAME=FILE"):
        combine_protected_areas([ok, ok])
    with pytest.raises(InputError, match="both named 'a'"):
        combine_protected_areas({"A": ok, "a": ok})
    with pytest.raises(InputError, match="holds no protected area"):
        combine_protected_areas({"A": ok, "B": ok.iloc[:0]})
    with pytest.raises(InputError, match="without ';', ':'"):
        combine_protected_areas({"W:1": ok})
    with pytest.raises(InputError, match="non-empty"):
        combine_protected_areas({" ": ok})
    with pytest.raises(InputError, match="not a GeoDataFrame"):
        combine_protected_areas({"A": ok, "B": "pas.gpkg"})
    with pytest.raises(SchemaError, match="lacks the column"):
        combine_protected_areas({"A": ok, "B": ok.drop(columns="status_year")})
    with pytest.raises(InputError, match="combined layer"):
        combine_protected_areas({"A": combine_protected_areas([ok]), "B": ok})
    with pytest.raises(InputError, match="no protected-area source"):
        combine_protected_areas([])
    with pytest.raises(CRSError, match="no CRS"):
        combine_protected_areas({"A": ok, "B": ok.set_crs(None, allow_override=True)})
    for bad in (0, 1.5, float("nan"), "0.9", True):
        with pytest.raises(InputError, match="same_share"):
            combine_protected_areas([ok], same_share=bad)


def test_other_crs_is_brought_to_wgs84():
    ok = layer(["1"], [shapely.box(0, 0, 1, 1)], "A")
    utm = layer(["2"], [shapely.box(0, 0, 1, 1.01)], "B").to_crs(32631)
    out = combine_protected_areas([ok, utm])
    assert out.crs.to_epsg() == 4326 and out["pa_group"].tolist() == [0, 0]


# --------------------------------------------------------------------------- command line


def test_cli_two_named_sources(tmp_path, samples):
    nat = tmp_path / "nat.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(samples / "protected_areas.gpkg")
    # a national layer (own ids) holding the samples' first two areas, redrawn 1 % larger
    grown = shapely.affinity.scale(pas.geometry.iloc[0], 1.005, 1.005)
    gpd.GeoDataFrame(
        {"codigo": [10, 20], "nombre": ["N1", "N2"], "ISO3": ["PER", "PER"]},
        geometry=[grown, pas.geometry.iloc[1]],
        crs=4326,
    ).to_file(nat, layer="anp")
    out = tmp_path / "out.gpkg"
    args = [
        "classify",
        str(samples / "sites.csv"),
        "-p",
        f"WDPA={samples / 'protected_areas.gpkg'}",
    ]
    args += ["-p", f"NAT={nat}", "-e", str(samples / "ecoregions.gpkg"), "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "protected areas NAT (nat.gpkg)" in result.output
    got = gpd.read_file(out, layer="sites")
    ids = [pas["pa_id"].iloc[0], pas["pa_id"].iloc[1]]
    # every site holding either national polygon names the WDPA record, once
    for pid, nid in zip(ids, ("NAT", "NAT"), strict=True):
        held = got["pa_ids"].str.split(";").map(lambda v, p=pid: f"WDPA:{p}" in v)
        assert held.any()
        assert got.loc[held, "pa_sources"].str.contains(nid).all()
    assert not got["pa_ids"].str.contains("NAT:").any()
    single = tmp_path / "single.gpkg"
    args1 = ["classify", str(samples / "sites.csv"), "-p", str(samples / "protected_areas.gpkg")]
    args1 += ["-e", str(samples / "ecoregions.gpkg"), "-o", str(single)]
    assert CliRunner().invoke(cli, args1, catch_exceptions=False).exit_code == 0
    one = gpd.read_file(single, layer="sites")
    assert (one["pace_class"] == got["pace_class"]).all()
    info = gpd.read_file(out, layer="run_info")
    keys = set(info["key"])
    assert {"protected_areas_1", "protected_areas_2", "protected_areas_sources"} <= keys
    assert {"counts_protected_areas:WDPA", "counts_protected_areas:NAT"} <= keys
    assert info.loc[info["key"] == "protected_areas_2", "sha256"].notna().all()


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_sernanp_and_wdpa_2019_national_parks_match(realdata):
    wdpa_file = (
        realdata / "wdpa_south_america_2019/wdpa_feb2019_south_america_polygons_simplified.gpkg"
    )
    sernanp = realdata / "peru_sernanp_anp/peru_anp_sernanp.gpkg"
    if not (wdpa_file.exists() and sernanp.exists()):
        pytest.skip("the WDPA 2019 or SERNANP subset is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wdpa = asm_pace.read_protected_areas(wdpa_file, countries="PER")
        nat = asm_pace.read_protected_areas(sernanp, statuses=None)
    both = combine_protected_areas({"WDPA": wdpa, "SERNANP": nat})
    parks = both[(both["source"] == "SERNANP") & (both["designation"] == "National Park")]
    matched = parks[parks["same_as"] != ""]
    # 16 national-park rows (15 parks; Cutervo has two sectors, each too small a share of
    # WDPA's one polygon): the other 14 each match one WDPA polygon by the mutual 90 % rule
    assert len(parks) == 16 and len(matched) == 14
    assert set(parks.loc[parks["same_as"] == "", "name"]) == {"Cutervo"}
    # Cutervo's two sectors together: 84 % of their union lies in WDPA's polygon (below 0.9)
    cut_nat = shapely.union_all(parks.loc[parks["name"] == "Cutervo", "geometry"].to_numpy())
    cut_wdpa = both.loc[both["name"] == "de Cutervo", "geometry"].iloc[0]
    assert geod_area(cut_nat.intersection(cut_wdpa)) / geod_area(cut_nat) < 0.9
    # Titicaca: four SERNANP sectors, one WDPA polygon; their union matches it (checked by
    # pyproj.Geod both ways), so the five rows are one area
    titicaca = both[both["name"].isin(["Titicaca", "del Titicaca"])]
    assert len(titicaca) == 5 and titicaca["pa_group"].nunique() == 1
    union = shapely.union_all(titicaca.loc[titicaca["source"] == "SERNANP", "geometry"].to_numpy())
    rep = shapely.make_valid(titicaca.loc[titicaca["source"] == "WDPA", "geometry"].iloc[0])
    inter = geod_area(union.intersection(rep))
    assert inter / geod_area(union) >= 0.9 and inter / geod_area(rep) >= 0.9
    # a matched pair, checked by pyproj.Geod: each polygon lies >= 90 % in the other
    manu = both[both["name"].str.fullmatch("Manu") & (both["source"] == "SERNANP")].iloc[0]
    rep = both[both["pa_group"] == manu["pa_group"]].iloc[0]
    inter = geod_area(shapely.make_valid(rep.geometry).intersection(manu.geometry))
    assert inter / geod_area(manu.geometry) >= 0.9
    assert inter / geod_area(shapely.make_valid(rep.geometry)) >= 0.9


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    edges=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60),
)
def test_the_groups_are_the_connected_components_scipy_finds(n, edges):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from asm_pace.pa_sources import _components

    pairs = np.array([(i, j) for i, j in edges if i < n and j < n], dtype="int64").reshape(-1, 2)
    got = _components(n, pairs[:, 0], pairs[:, 1])
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    expected = connected_components(graph, directed=False)[1]
    # the same partition: equal labels exactly where scipy's are equal
    assert ((got[:, None] == got[None, :]) == (expected[:, None] == expected[None, :])).all()
    # numbered 0, 1, ... in the order of each group's first node
    firsts = [int(np.flatnonzero(got == g)[0]) for g in range(got.max() + 1)]
    assert firsts == sorted(firsts)


def test_a_footprint_over_two_parcels_of_one_area_counts_both():
    # one source, one WDPAID in two parcels (as the WDPA's 478140_A, 478140_B)
    wdpa = layer(["9", "9"], [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], "WDPA")
    foot = shapely.box(0.8, 0.2, 1.3, 0.4)
    out = asm_pace.classify(
        gpd.GeoDataFrame({"site_id": ["F"]}, geometry=[foot], crs=4326), wdpa, ECO
    )
    union = shapely.union(wdpa.geometry[0], wdpa.geometry[1])
    expected = geod_area(foot.intersection(union)) / geod_area(foot)
    assert expected == pytest.approx(1.0)
    assert out["pa_share"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert out["pa_ids"].iloc[0] == "9"


def test_run_pipeline_takes_several_sources_and_refuses_ambiguous_options(samples):
    from asm_pace.pipeline import run_pipeline

    pas = samples / "protected_areas.gpkg"
    kw = {"ecoregions": samples / "ecoregions.gpkg"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(
            samples / "sites.csv", protected_areas={"A": pas, "B": pas}, radii_km=[1.0], **kw
        )
        one = run_pipeline(samples / "sites.csv", protected_areas=pas, radii_km=[1.0], **kw)
    assert res.parameters["protected_areas_sources"] == ["A", "B"]
    assert res.inputs["protected_areas"] == [pas, pas]
    assert set(res.counts) >= {"protected_areas:A", "protected_areas:B"}
    # the same file twice: every area is in both sources, counted once
    got, ref = res.layers["buffers"], one.layers["buffers"]
    assert (got["n_pas"].to_numpy() == ref["n_pas"].to_numpy()).all()
    assert got["pa_area_km2"].to_numpy() == pytest.approx(ref["pa_area_km2"].to_numpy())
    assert (res.sites["pace_class"] == one.sites["pace_class"]).all()
    for options, words in (
        ({"layer": "polygons"}, "--pa-layer"),
        ({"source_label": "X"}, "--pa-source-name"),
    ):
        with pytest.raises(InputError, match=words):
            run_pipeline(
                samples / "sites.csv", protected_areas=[pas, pas], pa_options=options, **kw
            )
    with pytest.raises(InputError, match="named twice"):
        run_pipeline(
            samples / "sites.csv",
            protected_areas={"A": pas},
            pa_options={"source_label": "X"},
            **kw,
        )


@settings(max_examples=25, deadline=None)
@given(
    boxes=st.lists(
        st.tuples(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 2), st.floats(0.1, 2)),
        min_size=2,
        max_size=5,
    ),
    split=st.integers(1, 4),
    pts=st.lists(st.tuples(st.floats(-4, 5), st.floats(-4, 5)), min_size=1, max_size=6),
)
def test_two_sources_hold_a_site_when_either_does(boxes, split, pts):
    geoms = [shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes]
    split = min(split, len(geoms) - 1)
    a = layer([str(i) for i in range(split)], geoms[:split], "A")
    b = layer([str(i) for i in range(split, len(geoms))], geoms[split:], "B")
    s = sites(*pts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_a = asm_pace.classify(s, a, ECO)
        one_b = asm_pace.classify(s, b, ECO)
        both = asm_pace.classify(s, [a, b], ECO)
    inside = lambda out: (out["pace_class"] == "protected_area").to_numpy()  # noqa: E731
    assert (inside(both) == (inside(one_a) | inside(one_b))).all()
    near = np.fmin(one_a["nearest_pa_km"], one_b["nearest_pa_km"]).to_numpy()
    assert both["nearest_pa_km"].to_numpy() == pytest.approx(near, abs=1e-9)
    # each source named in pa_sources exactly when its own run holds the site; a site within
    # 1 mm of a boundary only "touches" it when no area holds it (classify's rule), so a site
    # in A and 1e-38 degrees from B is held by B alone but not beside A: sites that near a
    # boundary are left out of the equality
    for name, one, src in (("A", one_a, a), ("B", one_b, b)):
        named = both["pa_sources"].str.split(";").map(lambda v, n=name: n in v).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):  # denormal coordinates (6.6e-276)
            edge = shapely.distance(s.geometry.values, src.boundary.union_all()) < 1e-8
        assert (named <= inside(one)).all()
        assert (named == inside(one))[~edge].all()


@settings(max_examples=30, deadline=None)
@given(
    boxes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([0.0, 0.01, 0.5])),
        min_size=3,
        max_size=8,
    ),
    cut=st.tuples(st.integers(1, 6), st.integers(1, 6)),
)
def test_appending_a_source_groups_as_combining_all_at_once(boxes, cut):
    # boxes on a 1-degree grid, some redrawn slightly larger (same area by the 0.9 rule),
    # some half as tall (not); three sources: A, B, then C appended to the combined A + B
    geoms = [shapely.box(x, y, x + 1, y + 1 + grow) for x, y, grow in boxes]
    i = min(cut[0], len(geoms) - 2)
    j = min(i + cut[1], len(geoms) - 1)
    a = layer([str(k) for k in range(i)], geoms[:i], "A")
    b = layer([str(k) for k in range(i, j)], geoms[i:j], "B")
    c = layer([str(k) for k in range(j, len(geoms))], geoms[j:], "C")
    from asm_pace.pa_sources import append_source

    whole = combine_protected_areas({"A": a, "B": b, "C": c})
    added = append_source(combine_protected_areas({"A": a, "B": b}), "C", c)
    assert added["pa_group"].tolist() == whole["pa_group"].tolist()
    assert added["same_as"].tolist() == whole["same_as"].tolist()
    assert added["group_status_year"].equals(whole["group_status_year"])
    assert added.attrs["groups"] == whole.attrs["groups"]
    assert added.attrs["pa_sources"] == ["A", "B", "C"]
    shared = {k: v["n_groups_shared"] for k, v in added.attrs["sources"].items()}
    assert shared == {k: v["n_groups_shared"] for k, v in whole.attrs["sources"].items()}


def test_an_aze_site_drawn_as_a_park_is_that_park_when_the_sources_are_combined():
    # the pipeline combines several sources first, then classify appends the AZE sites:
    # an AZE site with the park's own polygon is the park (one area), as with a list
    from asm_pace.kba import with_aze_source

    park = shapely.box(0, 0, 1, 1)
    wdpa = layer(["1"], [park], "WDPA")
    nat = layer(["2"], [shapely.box(3, 3, 4, 4)], "NAT")
    kbas = gpd.GeoDataFrame(
        {"kba_id": ["77", "78"], "kba_name": ["Alto", "Bajo"], "aze": [True, True]},
        geometry=[park, shapely.box(6, 6, 7, 7)], crs=4326,
    )  # fmt: skip
    combined = with_aze_source(combine_protected_areas([wdpa, nat]), kbas)
    listed = combine_protected_areas(with_aze_source([wdpa, nat], kbas))
    assert combined["same_as"].tolist() == listed["same_as"].tolist() == ["", "", "WDPA:1", ""]
    assert combined.attrs["groups"] == 3
    # overlaps count the park once in a zone holding it
    zone = gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[shapely.box(-1, -1, 2, 2)], crs=4326)
    pairs = asm_pace.overlaps(zone, combined).pairs
    assert len(pairs) == 1
    alone = asm_pace.overlaps(zone, wdpa).pairs  # the park as the only area
    assert pairs["overlap_km2"].iloc[0] == pytest.approx(alone["overlap_km2"].iloc[0], rel=1e-9)
    with pytest.raises(InputError, match="already hold one named 'AZE'"):
        with_aze_source(combined, kbas)
