"""Layers that end up empty and rules read from attributes (issue 9): the readers' counts,
refusals and the Global 200 / WDPA rules, on files written here and counted by hand.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from asm_pace import read_ecoregions, read_priority_landscapes, read_protected_areas
from asm_pace.errors import (
    InputError,
    LayerChoiceError,
    NoStatusFilterWarning,
    UnreadableValueWarning,
)
from asm_pace.protected_areas import WDPA_STATUSES
from test_protected_areas import KEPT, write_gdb, write_gpkg


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def balanced(counts):
    return counts["read"] == sum(counts["removed"].values()) + counts["used"]


# ------------------------------------------------------------------ protected areas: counts


def test_pa_counts_default_policy(tmp_path):
    out = quiet(read_protected_areas, write_gpkg(tmp_path))
    c = out.attrs["counts"]
    # 7 polygons + 4 point records; Beta is Proposed, Gamma MAB, Zeta an OECM, Kappa and
    # Lambda points without area; the bow-tie is repaired and kept
    assert c["read"] == 11 and c["used"] == len(KEPT) == len(out)
    removed = {k: v for k, v in c["removed"].items() if v}
    assert removed == {"statuses": 1, "exclude_mab": 1, "exclude_oecm": 1,
                       "points_without_area": 2}  # fmt: skip
    assert c["repaired"] == 1 and balanced(c)
    assert "bbox" not in out.attrs


def test_pa_counts_and_extent_with_bbox(tmp_path):
    box = (-70.2, -12.2, -69.0, -11.0)
    out = quiet(read_protected_areas, write_gdb(tmp_path), bbox=box)
    c = out.attrs["counts"]
    # GDAL hands over what meets the box's envelope: Alpha and Gamma (its corner reaches in);
    # points in the box widened by 2 degrees: Iota, Kappa, Mu
    assert c["read"] == 5
    assert {k: v for k, v in c["removed"].items() if v} == {"exclude_mab": 1,
                                                            "points_without_area": 1}  # fmt: skip
    assert c["used"] == 3 and balanced(c)
    assert out.attrs["bbox"] == box


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(WDPA_STATUSES),
            st.sampled_from(["National Park", "UNESCO-MAB Biosphere Reserve"]),
            st.booleans(),  # OECM
            st.sampled_from(["polygon", "point", "point_no_area", "line"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_pa_counts_add_up_or_refuse(records):
    """Every record read is either used or removed by one named step; none left: refused."""
    geoms = {
        "polygon": shapely.box(10, 10, 11, 11),
        "point": shapely.Point(10, 10),
        "point_no_area": shapely.Point(10, 10),
        "line": shapely.LineString([(10, 10), (11, 11)]),
    }
    gdf = gpd.GeoDataFrame(
        {
            "WDPAID": range(1, len(records) + 1),
            "STATUS": [r[0] for r in records],
            "DESIG_ENG": [r[1] for r in records],
            "PA_DEF": ["0" if r[2] else "1" for r in records],
            "REP_AREA": [0.0 if r[3] == "point_no_area" else 5.0 for r in records],
        },
        geometry=[geoms[r[3]] for r in records],
        crs="EPSG:4326",
    )
    kept = [
        r
        for r in records
        if r[0] in ("Designated", "Inscribed", "Established")
        and not r[1].startswith("UNESCO")
        and not r[2]
        and r[3] in ("polygon", "point")
    ]
    if not kept:
        with pytest.raises(InputError, match="<GeoDataFrame>: "):
            quiet(read_protected_areas, gdf)
        return
    out = quiet(read_protected_areas, gdf)
    c = out.attrs["counts"]
    assert c["read"] == len(records) and c["used"] == len(kept) == len(out)
    assert balanced(c)


# ------------------------------------------------------------------ protected areas: refusals


def test_unmatched_country_lists_the_codes_of_every_layer(tmp_path):
    path = write_gdb(tmp_path)
    # the polygons hold PER, BRA;PER, FJI, COL; the points PER and COL
    with pytest.raises(InputError, match=r"ISO3 PRE .*codes are: BRA, COL, FJI, PER\. Corr"):
        quiet(read_protected_areas, path, countries=["PER", "PRE"])
    # a box around sites near a border: a country in the file but not in the box is fine
    peru = (-70.2, -12.2, -69.0, -11.0)
    out = quiet(read_protected_areas, path, countries=["PER", "COL"], bbox=peru)
    assert set(out["pa_id"]) == {"1", "11", "14"}
    with pytest.raises(InputError, match=r"no protected area of COL intersects bbox"):
        quiet(read_protected_areas, path, countries="COL", bbox=peru)
    with pytest.raises(InputError, match=r"\.gdb: no protected area intersects bbox"):
        quiet(read_protected_areas, path, bbox=(0, 0, 1, 1))


@pytest.mark.parametrize("name", ["lower.shp", "lower.gpkg"])  # OGR SQL and SQLite filters
def test_countries_match_ignoring_case(tmp_path, name):
    gdf = gpd.GeoDataFrame(
        {"WDPAID": [1, 2], "STATUS": ["Designated"] * 2, "ISO3": ["per", "Bra;Per"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(gdf, tmp_path / name)
    assert list(quiet(read_protected_areas, tmp_path / name, countries="PER")["pa_id"]) == [
        "1",
        "2",
    ]
    assert list(quiet(read_protected_areas, tmp_path / name, countries="bra")["pa_id"]) == ["2"]


def test_marine_and_oecm_rules_need_readable_values(tmp_path):
    path = write_gpkg(tmp_path)
    polys = pyogrio.read_dataframe(path, layer="polygons")
    polys["MARINE"] = ["0", "x", "0", "1", "0", "0", "2"]
    pyogrio.write_dataframe(polys, tmp_path / "m.gpkg", layer="polygons")
    with pytest.raises(InputError, match=r"m\.gpkg: MARINE of 1 feature\(s\) .*id 2 'x'"):
        quiet(read_protected_areas, tmp_path / "m.gpkg", statuses=None, exclude_marine=True)
    out = quiet(read_protected_areas, tmp_path / "m.gpkg", statuses=None)  # rule not used
    assert "2" in set(out["pa_id"])
    polys["MARINE"] = "0"
    polys["PA_DEF"] = ["1", "1", "1", "", "1", "0", "1"]
    pyogrio.write_dataframe(polys, tmp_path / "o.gpkg", layer="polygons")
    with pytest.raises(InputError, match=r"o\.gpkg: PA_DEF of 1 feature\(s\) .*id 4 ''"):
        quiet(read_protected_areas, tmp_path / "o.gpkg")
    out = quiet(read_protected_areas, tmp_path / "o.gpkg", exclude_oecm=False)
    assert {"4", "6"} <= set(out["pa_id"])


def test_wdpa_layer_without_designation_warns_that_mab_is_unknown(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"WDPAID": [1], "STATUS": ["Designated"]},
        geometry=[shapely.box(0, 0, 1, 1)],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "nodesig.gpkg")
    with pytest.warns(NoStatusFilterWarning, match="no DESIG_ENG field"):
        out = read_protected_areas(tmp_path / "nodesig.gpkg")
    assert list(out["pa_id"]) == ["1"]


def test_status_year_that_is_not_a_year(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"WDPAID": [1, 2, 3, 4], "STATUS": ["Designated"] * 4,
         "DESIG_ENG": ["National Park"] * 4, "STATUS_YR": ["1990", "0", "n/a", "19900"]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(4)],
        crs="EPSG:4326",
    )  # fmt: skip
    gdf.to_file(tmp_path / "yr.gpkg")
    with pytest.warns(UnreadableValueWarning, match=r"2 feature\(s\).*rows 3, 4: '19900', 'n/a'"):
        out = read_protected_areas(tmp_path / "yr.gpkg")
    assert list(out["status_year"].astype("object").fillna(-1)) == [1990, -1, -1, -1]


def test_wdpa_polygons_and_points_are_read_together_other_layers_asked_for(tmp_path):
    path = write_gpkg(tmp_path)  # polygons + points, both with WDPA fields
    assert set(quiet(read_protected_areas, path)["origin"]) == {"polygon", "point_circle"}
    gpd.GeoDataFrame(
        {"name": ["Distrito"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"
    ).to_file(path, layer="districts")
    with pytest.raises(LayerChoiceError, match=r"wdpa\.gpkg: .*districts \(Polygon\).*pa-layer"):
        quiet(read_protected_areas, path)
    out = quiet(read_protected_areas, path, layer=["polygons", "points"])
    assert set(out["pa_id"]) == KEPT


# ------------------------------------------------------------------ ecoregions and landscapes


def _eco(tmp_path, **columns):
    boxes = [shapely.box(i, 0, i + 1, 1) for i in range(len(next(iter(columns.values()))))]
    path = tmp_path / "eco.gpkg"
    gpd.GeoDataFrame(columns, geometry=boxes, crs="EPSG:4326").to_file(path)
    return path


def test_g200_rule_by_region_only_when_no_number(tmp_path):
    path = _eco(tmp_path, G200_REGIO=["Napo Moist Forests", "", None, "  "])
    eco = read_ecoregions(path)
    assert list(eco["is_g200"]) == [True, False, False, False]
    assert list(eco["g200_region"]) == ["Napo Moist Forests", "", "", ""]
    with pytest.raises(InputError, match=r"G200_REGIO is empty in every feature"):
        read_ecoregions(_eco(tmp_path, G200_REGIO=["", None]))


def test_g200_num_values_read(tmp_path):
    values = ["37", "0", "", None, "-9999", "-9998", "238"]
    with pytest.warns(UnreadableValueWarning, match=r"G200_NUM is empty in 2 .*rows 3, 4"):
        eco = read_ecoregions(_eco(tmp_path, ECO_ID=list(range(1, 8)), G200_NUM=values))
    assert list(eco["is_g200"]) == [True, False, False, False, False, False, True]
    with pytest.raises(InputError, match=r"G200_NUM is empty in every feature"):
        read_ecoregions(_eco(tmp_path, ECO_ID=[1, 2], G200_NUM=[None, ""]))


@pytest.mark.parametrize("bad", ["x", "3.5", "239"])  # "n/a" and -1: tests/corpus/attributes
def test_g200_num_unreadable_is_refused(tmp_path, bad):
    path = _eco(tmp_path, ECO_ID=[101, 102], G200_NUM=["5", bad])
    with pytest.raises(InputError, match=rf"eco\.gpkg: G200_NUM .*rows 2, ECO_ID 102.*'{bad}'"):
        read_ecoregions(path)


def test_g200_biome_when_no_number(tmp_path):
    eco = read_ecoregions(_eco(tmp_path, ECO_ID=[1, 2], G200_BIOME=[1, 0]))
    assert list(eco["is_g200"]) == [True, False]
    with pytest.raises(InputError, match=r"G200_BIOME .*'15'.*1 to 14"):
        read_ecoregions(_eco(tmp_path, ECO_ID=[1, 2], G200_BIOME=[1, 15]))


def test_ecoregion_counts(tmp_path):
    line = shapely.Polygon([(5, 5), (6, 6), (7, 7), (5, 5)])  # no area once repaired
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # repaired, kept
    gdf = gpd.GeoDataFrame(
        {"ECO_ID": [1, 2, 3, 4], "G200_NUM": [1, 0, 2, 3]},
        geometry=[shapely.box(0, 0, 1, 1), line, bowtie, shapely.Point(3, 3)],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "e.gpkg")
    eco = quiet(read_ecoregions, tmp_path / "e.gpkg")
    assert eco.attrs["counts"] == {
        "read": 4,
        "removed": {"not_polygon": 1, "empty_after_repair": 1},
        "repaired": 1,
        "used": 2,
    }
    assert list(eco["eco_id"]) == [1, 3]


def test_ecoregion_layer_with_g200_fields_is_the_one_meant(tmp_path):
    path = _eco(tmp_path, ECO_ID=[1], G200_NUM=[5])
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326").to_file(
        path, layer="admin"
    )
    assert read_ecoregions(path).attrs["layer"] == "eco"
    gpd.read_file(path, layer="eco").to_file(path, layer="eco_copy")
    with pytest.raises(
        LayerChoiceError, match=r"eco\.gpkg: 2 layers .*: eco \(Polygon\), eco_copy"
    ):
        read_ecoregions(path)


def test_landscape_layers(tmp_path):
    path = tmp_path / "pl.gpkg"
    frame = gpd.GeoDataFrame(
        {"landscape_name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"
    )
    frame.to_file(path, layer="landscapes")
    gpd.GeoDataFrame(
        {"name": ["x"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:4326"
    ).to_file(path, layer="rivers")
    pl = read_priority_landscapes(path)  # the only polygon layer is meant
    assert list(pl["landscape_name"]) == ["A"] and pl.attrs["counts"]["used"] == 1
    frame.to_file(path, layer="landscapes_2019")
    with pytest.raises(LayerChoiceError, match=r"landscapes \(Polygon\), landscapes_2019"):
        read_priority_landscapes(path)
    assert len(read_priority_landscapes(path, layer="landscapes_2019")) == 1


def test_a_status_year_to_come_is_left_empty_with_a_warning(tmp_path):
    """A STATUS_YR after this year is no designation date: blank, warned, the area kept."""
    import datetime

    from asm_pace import read_protected_areas
    from asm_pace.errors import UnreadableValueWarning
    from corpus import tiny_inputs
    from corpus.emptiness import rewrite, with_values

    paths = tiny_inputs(tmp_path)
    next_year = datetime.date.today().year + 1
    rewrite(paths["protected_areas"], with_values(STATUS_YR=next_year), layer="polygons")
    with pytest.warns(UnreadableValueWarning, match=rf"STATUS_YR .*'{next_year}'"):
        pas = read_protected_areas(paths["protected_areas"])
    assert len(pas) == 1 and pas["status_year"].isna().all()
