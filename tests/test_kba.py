"""Key Biodiversity Areas and AZE sites: the reader, the AZE protected layer, the join.

Expected values come from hand-worked boxes, pyproj.Geod, the raw shapefile fields read
with pyogrio, and brute-force shapely loops, never from asm_pace's own output.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace.datasets import sample_path
from asm_pace.errors import (
    DroppedRecordsWarning,
    ExtentWarning,
    InputError,
    LayerChoiceError,
    SchemaError,
    UnreadableValueWarning,
)
from asm_pace.kba import (
    AZE_DESIGNATION,
    KBA_COLUMNS,
    aze_protected_areas,
    join_kbas,
    read_kbas,
)
from asm_pace.protected_areas import PA_COLUMNS

GEOD = Geod(ellps="WGS84")
SAMPLE = sample_path("kbas.zip")


def _rows(**changes):
    rows = [
        {
            "SitRecID": 7,
            "Country": "Peru",
            "ISO3": "PER",
            "NatName": "Alto Uno (nat)",
            "IntName": "Alto Uno",
            "SitArea": 48000.0,
            "IbaStatus": "confirmed",
            "KbaStatus": "confirmed",
            "AzeStatus": "confirmed",
            "AddedDate": "2005-06-01",
            "ChangeDate": "2019-01-01",
            "geometry": shapely.box(-71.6, -12.1, -71.4, -11.9),
        },
        {
            "SitRecID": 3,
            "Country": "Peru",
            "ISO3": "PER",
            "NatName": "Bajo Dos",
            "IntName": "",
            "SitArea": 48000.0,
            "IbaStatus": "confirmed",
            "KbaStatus": "confirmed",
            "AzeStatus": None,
            "AddedDate": "2004",
            "ChangeDate": "2016-01-01",
            "geometry": shapely.box(-69.1, -12.1, -68.9, -11.9),
        },
    ]
    for key, values in changes.items():
        for row, value in zip(rows, values, strict=True):
            row[key] = value
    return rows


def _gdf(rows=None):
    return gpd.GeoDataFrame(rows or _rows(), geometry="geometry", crs="EPSG:4326")


@pytest.fixture
def world():
    """tiny world: a park around S1, ecoregions; KBA 7 (AZE) around S3, KBA 3 around S2."""
    pas = gpd.GeoDataFrame(
        {
            "pa_id": ["900001"],
            "name": ["Parque Uno"],
            "designation": ["National Park"],
            "iucn_category": ["II"],
            "status_year": pd.array([1990], dtype="Int64"),
            "world_heritage": [False],
            "ramsar": [False],
        },
        geometry=[shapely.box(-70.5, -12.5, -69.5, -11.5)],
        crs=4326,
    )
    pas.attrs["source_label"] = "WDPA"
    eco = gpd.GeoDataFrame(
        {
            "eco_id": pd.array([1, 2], dtype="Int64"),
            "eco_name": ["Wet", "Dry"],
            "biome": pd.array([1, 2], dtype="Int64"),
            "g200_region": ["SW Amazon", ""],
            "is_g200": [True, False],
        },
        geometry=[shapely.box(-70.5, -13, -68, -11), shapely.box(-72, -13, -70.5, -11)],
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"]},
        geometry=shapely.points([(-70, -12), (-69, -12), (-71.5, -12)]),
        crs=4326,
    )
    return sites, pas, eco, read_kbas(_gdf())


# --------------------------------------------------------------------------- the reader


def test_sample_read_against_raw_fields():
    kbas = read_kbas(SAMPLE)
    assert list(kbas.columns) == list(KBA_COLUMNS)
    assert kbas.crs.to_epsg() == 4326
    raw = pd.concat(
        [
            pyogrio.read_dataframe(f"/vsizip/{SAMPLE}", layer=name)
            for name, _ in pyogrio.list_layers(f"/vsizip/{SAMPLE}")
        ]
    )
    confirmed = raw[raw["KbaStatus"] == "confirmed"]
    assert sorted(kbas["kba_id"]) == sorted(str(i) for i in confirmed["SitRecID"])
    by_id = kbas.set_index("kba_id")
    for _, row in confirmed.iterrows():
        got = by_id.loc[str(row["SitRecID"])]
        assert got["site_area_km2"] == pytest.approx(row["SitArea"] / 100.0)  # ha -> km2
        assert bool(got["aze"]) == (row["AzeStatus"] == "confirmed")
        assert got["kba_name"] == (row["IntName"] or row["NatName"])
    counts = kbas.attrs["counts"]
    assert counts["read"] == len(raw) == 4
    assert counts["removed"]["statuses"] == 1  # the de-listed record
    assert counts["used"] == len(kbas) == 3
    assert read_kbas(SAMPLE, statuses=None)["kba_status"].tolist().count("de-listed") == 1


def test_point_kba_is_geodesic_circle_of_its_site_area():
    kbas = read_kbas(SAMPLE).set_index("kba_id")
    circle = kbas.loc["90103", "geometry"]
    assert kbas.loc["90103", "origin"] == "point_circle"
    area_m2 = abs(GEOD.geometry_area_perimeter(circle)[0])
    assert area_m2 == pytest.approx(300 * 1e4, rel=0.005)  # SitArea 300 ha
    # centred on the point: every vertex at the same geodesic distance from it
    xy = shapely.get_coordinates(circle.exterior)
    _, _, dist = GEOD.inv(np.full(len(xy), -70.2055), np.full(len(xy), -12.6625), *xy.T)
    assert dist.max() - dist.min() < 1.0
    r = np.sqrt(300 * 1e4 / np.pi)
    assert dist.mean() == pytest.approx(r, rel=0.01)


def test_polygon_reported_area_matches_geometry():
    kbas = read_kbas(SAMPLE).set_index("kba_id")
    for kid in ("90101", "90102"):
        geod_km2 = abs(GEOD.geometry_area_perimeter(kbas.loc[kid, "geometry"])[0]) / 1e6
        assert kbas.loc[kid, "site_area_km2"] == pytest.approx(geod_km2, abs=0.01)


def test_names_dates_and_bool_azestatus():
    rows = _rows(AzeStatus=[True, False])
    kbas = read_kbas(_gdf(rows))
    assert kbas["aze"].tolist() == [True, False]
    assert kbas["kba_name"].tolist() == ["Alto Uno", "Bajo Dos"]  # IntName, else NatName
    assert kbas["added_date"].tolist() == ["2005-06-01", "2004-01-01"]
    with pytest.warns(UnreadableValueWarning, match="AddedDate"):
        odd = read_kbas(_gdf(_rows(AddedDate=["someday", "2004-01-01"])))
    assert odd["added_date"].tolist() == ["", "2004-01-01"]


def test_all_statuses_keeps_values_outside_the_vocabulary():
    kbas = read_kbas(_gdf(_rows(KbaStatus=["regional", "de-listed"])), statuses=None)
    assert kbas["kba_status"].tolist() == ["regional", "de-listed"]


def test_countries_and_bbox():
    rows = _rows(ISO3=["PER", "BOL"])
    assert read_kbas(_gdf(rows), countries="bol")["kba_id"].tolist() == ["3"]
    boxed = read_kbas(_gdf(), bbox=(-70, -13, -68, -11))
    assert boxed["kba_id"].tolist() == ["3"]
    assert boxed.attrs["bbox"] == (-70.0, -13.0, -68.0, -11.0)
    assert boxed.attrs["counts"]["removed"]["bbox"] == 1


def test_point_without_area_dropped_with_warning():
    rows = _rows(geometry=[shapely.Point(-71.5, -12), shapely.box(-69.1, -12.1, -68.9, -11.9)])
    rows[0]["SitArea"] = None
    with pytest.warns(DroppedRecordsWarning, match="SitRecID 7"):
        kbas = read_kbas(_gdf(rows))
    assert kbas["kba_id"].tolist() == ["3"]
    assert kbas.attrs["counts"]["removed"]["points_without_area"] == 1


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"AzeStatus": ["maybe", None]}, ["AzeStatus", "SitRecID 7", "'maybe'"]),
        ({"KbaStatus": ["confirmed", "approved"]}, ["KbaStatus", "SitRecID 3", "approved"]),
        ({"SitArea": ["n/a", 1.0]}, ["SitArea", "SitRecID 7", "hectares"]),
        ({"SitArea": [-1.0, 1.0]}, ["SitArea", "SitRecID 7"]),
        ({"SitArea": [1e12, 1.0]}, ["SitArea", "SitRecID 7"]),
        ({"SitRecID": [7, 7]}, ["SitRecID 7", "repeated"]),
        ({"SitRecID": [None, 3]}, ["no SitRecID", "rows 1"]),
        ({"KbaStatus": ["de-listed", "does not qualify"]}, ["KbaStatus confirmed", "de-listed 1"]),
    ],
)
def test_value_refusals(change, words):
    with pytest.raises(InputError) as err:
        read_kbas(_gdf(_rows(**change)))
    for word in words:
        assert word in str(err.value)


def test_every_value_problem_reported_at_once():
    rows = _rows(AzeStatus=["maybe", None], SitArea=[1.0, -3.0], KbaStatus=["x", "confirmed"])
    with pytest.raises(InputError) as err:
        read_kbas(_gdf(rows))
    text = str(err.value)
    assert text.startswith("<GeoDataFrame>: 3 problems: ")
    for word in (
        "AzeStatus",
        "SitRecID 7 'maybe'",
        "KbaStatus",
        "SitRecID 7 'x'",
        "SitRecID 3 '-3",
    ):
        assert word in text


def test_identity_refusals(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SchemaError, match=r"WDPA.*--protected-areas"):
            read_kbas(sample_path("protected_areas.gpkg"), layer="polygons")
        with pytest.raises(SchemaError, match="--ecoregions"):
            read_kbas(sample_path("ecoregions.gpkg"))
    plain = gpd.GeoDataFrame({"parcel": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(SchemaError, match=r"no SitRecID or KbaStatus.*parcel"):
        read_kbas(plain)
    # a file of a KBA layer beside an unrelated one: which to read is unclear
    path = tmp_path / "mixed.gpkg"
    _gdf().to_file(path, layer="kbas", driver="GPKG")
    plain.to_file(path, layer="roads_area", driver="GPKG")
    with pytest.raises(LayerChoiceError, match="--kba-layer"):
        read_kbas(path)
    assert len(read_kbas(path, layer="kbas")) == 2


def test_emptiness_refusals(tmp_path):
    with pytest.raises(InputError, match=r"no KBA has ISO3 BRA.*PER"):
        read_kbas(_gdf(), countries="BRA")
    path = tmp_path / "empty.gpkg"
    _gdf().iloc[0:0].to_file(path, layer="kbas", driver="GPKG")
    with pytest.raises(InputError, match="hold no KBA"):
        read_kbas(path)
    with pytest.raises(InputError, match="statuses keyword"):
        read_kbas(_gdf(), statuses=["approved"])


# --------------------------------------------------------------------------- AZE as protected


def test_aze_protected_areas_schema():
    aze = aze_protected_areas(read_kbas(_gdf()))
    assert list(aze.columns) == list(PA_COLUMNS)
    assert aze["pa_id"].tolist() == ["7"]
    assert aze["designation"].tolist() == [AZE_DESIGNATION]
    assert aze["status_year"].tolist() == [2005]
    assert aze.attrs["source_label"] == "AZE"
    assert shapely.equals(aze.geometry.iloc[0], shapely.box(-71.6, -12.1, -71.4, -11.9))


# --------------------------------------------------------------------------- classify


def test_classify_hand_worked(world):
    sites, pas, eco, kbas = world
    out = asm_pace.classify(sites, pas, eco, kbas=kbas).set_index("site_id")
    # by hand: S1 in the park; S2 in the G200 ecoregion and KBA 3; S3 in the AZE site 7
    assert out["pace_class"].astype(str).to_dict() == {
        "S1": "protected_area",
        "S2": "critical_ecosystem",
        "S3": "protected_area",
    }
    assert out["kba_ids"].to_dict() == {"S1": "", "S2": "3", "S3": "7"}
    assert out["kba_names"].to_dict() == {"S1": "", "S2": "Bajo Dos", "S3": "Alto Uno"}
    assert out["aze"].to_dict() == {"S1": False, "S2": False, "S3": True}
    assert out.loc["S3", "reason"] == (
        "Inside an Alliance for Zero Extinction site Alto Uno (KBA 7), designated 2005"
    )
    assert out.loc["S2", "reason"].endswith("; also inside Key Biodiversity Area Bajo Dos (KBA 3)")
    assert out.loc["S3", "protected_since"] == 2005
    # S2's nearest: the park's edge (lon -69.5) is 0.5 degree away, the AZE site 2.3
    assert "(nearest: Parque Uno," in out.loc["S2", "reason"]
    cols = list(out.columns)
    assert cols.index("kba_ids") < cols.index("aze") < cols.index("reason")


def test_nearest_aze_site_named_as_such(world):
    sites, pas, eco, kbas = world
    far = sites.iloc[[2]].set_geometry([shapely.Point(-71.5, -12.3)])  # 0.2 degree south of 7
    out = asm_pace.classify(far, pas, eco, kbas=kbas)
    assert out["nearest_pa_id"].iloc[0] == "AZE:7"
    assert "(nearest: an Alliance for Zero Extinction site Alto Uno, " in out["reason"].iloc[0]
    # by hand: the distance to the AZE site's southern edge (lat -12.1) along the meridian
    expected_km = GEOD.inv(-71.5, -12.3, -71.5, -12.1)[2] / 1000
    assert out["nearest_pa_km"].iloc[0] == pytest.approx(expected_km, rel=1e-3)


def test_reason_names_several_and_unnamed_kbas(world):
    sites, pas, eco, _ = world
    rows = _rows(AzeStatus=[None, None], IntName=["", "Bajo Dos"], NatName=["", "Bajo Dos"])
    rows[0]["geometry"] = shapely.box(-69.2, -12.2, -68.8, -11.8)  # S2 in both now
    one = read_kbas(_gdf(rows))
    out = asm_pace.classify(sites, pas, eco, kbas=one).set_index("site_id")
    assert out.loc["S2", "reason"].endswith(
        "; also inside Key Biodiversity Areas Bajo Dos (KBA 3) and an unnamed one (KBA 7)"
    )
    alone = asm_pace.classify(sites, pas, eco, kbas=one.iloc[[0]]).set_index("site_id")
    assert alone.loc["S2", "reason"].endswith(
        "; also inside an unnamed Key Biodiversity Area (KBA 7)"
    )


def test_without_kbas_no_new_columns(world):
    sites, pas, eco, _ = world
    out = asm_pace.classify(sites, pas, eco)
    assert not {"kba_ids", "kba_names", "aze", "pa_sources"} & set(out.columns)
    assert out["pace_class"].astype(str).tolist()[2] == "not_eligible"


def test_classify_with_several_sources_and_kbas(world):
    sites, pas, eco, kbas = world
    other = pas.copy()
    other["pa_id"] = ["N1"]
    other.attrs = {"source_label": "SERNANP"}
    from asm_pace.pa_sources import combine_protected_areas

    combined = combine_protected_areas([pas, other])
    for sources in ([pas, other], combined):
        out = asm_pace.classify(sites, sources, eco, kbas=kbas).set_index("site_id")
        assert out.loc["S3", "pace_class"] == "protected_area"
        assert "AZE" in out.loc["S3", "pa_sources"]
        assert out.loc["S1", "pace_class"] == "protected_area"


def test_empty_kba_layer_refused_by_classify(world):
    sites, pas, eco, kbas = world
    with pytest.raises(InputError, match="holds no KBA"):
        asm_pace.classify(sites, pas, eco, kbas=kbas.iloc[0:0])


def test_kbas_of_another_region_warned(world):
    sites, pas, eco, _ = world
    far = _gdf(_rows(geometry=[shapely.box(30, 10, 31, 11), shapely.box(32, 10, 33, 11)]))
    with pytest.warns(ExtentWarning, match="within 500 km"):
        out = asm_pace.classify(sites, pas, eco, kbas=read_kbas(far))
    assert not out["kba_ids"].astype(bool).any()


def test_sites_outside_kba_box_refused(world):
    sites, pas, eco, _ = world
    boxed = read_kbas(_gdf(), bbox=(-70, -13, -68, -11))
    with pytest.raises(InputError, match="KBAs"):
        asm_pace.classify(sites, pas, eco, kbas=boxed)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 3), st.floats(0.1, 3)),
        min_size=1,
        max_size=6,
    ),
    st.lists(
        st.tuples(st.floats(-6, 6), st.floats(-6, 6), st.sampled_from([0.0, 0.05, 0.4])),
        min_size=1,
        max_size=15,
    ),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_join_matches_brute_force(boxes, points, flags):
    """Points (size 0) and footprints (small squares): held by every KBA they meet."""
    polys = [shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes]
    ids = [str(10 * i + 1) for i in range(len(polys))]
    kbas = gpd.GeoDataFrame(
        {"kba_id": ids, "kba_name": [f"K{i}" for i in ids], "aze": flags[: len(polys)]},
        geometry=polys,
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        geometry=[
            shapely.box(x, y, x + d, y + d) if d else shapely.Point(x, y) for x, y, d in points
        ],
        crs=4326,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtentWarning)
        out = join_kbas(sites, kbas)
    for i, pt in enumerate(sites.geometry):
        held = [k for k, p in zip(ids, polys, strict=True) if p.intersects(pt)]
        held.sort(key=int)
        assert out["kba_ids"].iloc[i] == ";".join(held)
        aze = any(f for k, f in zip(ids, flags, strict=False) if k in held)
        assert bool(out["aze"].iloc[i]) == aze


# --------------------------------------------------------------------------- command line


def test_cli_with_kbas_writes_styled_layer(tmp_path):
    from click.testing import CliRunner

    from asm_pace.cli import cli

    out = tmp_path / "out.gpkg"
    args = [
        "classify",
        str(sample_path("sites.csv")),
        "-p",
        str(sample_path("protected_areas.gpkg")),
        "-e",
        str(sample_path("ecoregions.gpkg")),
        "--kbas",
        str(SAMPLE),
        "-o",
        str(out),
    ]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    sites = gpd.read_file(out, layer="sites")
    kbas = gpd.read_file(out, layer="kbas")
    assert sorted(kbas["kba_id"]) == ["90101", "90102", "90103"]
    styles = pyogrio.read_dataframe(out, layer="layer_styles", read_geometry=False)
    assert "kbas" in set(styles["f_table_name"])
    # independently: the sites in the AZE polygon (raw shapefile) that no kept WDPA area holds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    raw = pyogrio.read_dataframe(f"/vsizip/{SAMPLE}", layer="KBAsGlobal_2024_September_01_POL")
    aze_poly = raw.loc[raw["AzeStatus"] == "confirmed", "geometry"].iloc[0]
    pts = np.asarray(sites.geometry.values)
    in_pa = np.zeros(len(pts), bool)
    for g in pas.geometry:
        in_pa |= shapely.intersects(pts, g)
    in_aze = shapely.intersects(pts, aze_poly)
    assert in_aze.sum() == 8
    assert (sites.loc[in_aze, "pace_class"] == "protected_area").all()
    assert sites["aze"].astype(bool).tolist() == in_aze.tolist()
    assert (sites["pace_class"] == "protected_area").sum() == (in_pa | in_aze).sum()


def test_pipeline_counts_aze_sites_in_zone_overlaps():
    from asm_pace.pipeline import run_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_pipeline(
            sample_path("sites.csv"),
            protected_areas=sample_path("protected_areas.gpkg"),
            ecoregions=sample_path("ecoregions.gpkg"),
            kbas=SAMPLE,
            radii_km=[1.0],
        )
    assert result.counts["kbas"]["used"] == 3
    assert "kbas" in result.map_layers()
    zones = result.layers["buffers"]
    pairs = result.layers["overlaps"]
    # brute force: the zones whose disc meets the raw AZE polygon
    raw = pyogrio.read_dataframe(f"/vsizip/{SAMPLE}", layer="KBAsGlobal_2024_September_01_POL")
    aze_poly = raw.loc[raw["AzeStatus"] == "confirmed", "geometry"].iloc[0]
    meets = set(
        zones.loc[shapely.intersects(np.asarray(zones.geometry.values), aze_poly), "zone_id"]
    )
    assert meets and set(pairs.loc[pairs["pa_id"] == "90101", "zone_id"]) == meets
    with pytest.raises(InputError, match="without KBAs"):
        run_pipeline(
            sample_path("sites.csv"),
            protected_areas=sample_path("protected_areas.gpkg"),
            ecoregions=sample_path("ecoregions.gpkg"),
            kba_options={"layer": "x"},
        )


def test_folder_single_shapefile_and_date_fields(tmp_path):
    import zipfile

    with zipfile.ZipFile(SAMPLE) as zf:
        zf.extractall(tmp_path / "unzipped")
    folder = read_kbas(tmp_path / "unzipped")
    assert sorted(folder["kba_id"]) == sorted(read_kbas(SAMPLE)["kba_id"])
    pol = next((tmp_path / "unzipped").glob("*_POL.shp"))
    assert sorted(read_kbas(pol)["kba_id"]) == ["90101", "90102"]
    # AddedDate as a date-time field (as a GeoPackage or geodatabase copy holds it)
    rows = _rows()
    for row, day in zip(rows, ["2005-06-01", "2004-01-01"], strict=True):
        row["AddedDate"] = pd.Timestamp(day)
    path = tmp_path / "dated.gpkg"
    _gdf(rows).to_file(path, driver="GPKG")
    raw = pyogrio.read_dataframe(path)
    assert pd.api.types.is_datetime64_any_dtype(raw["AddedDate"])
    assert read_kbas(path)["added_date"].tolist() == ["2005-06-01", "2004-01-01"]


@pytest.mark.realdata
def test_realdata_wdpa_and_national_layer_refused_as_kbas(realdata):
    """Real protected-area files given as KBAs are named for what they are."""
    wdpa = realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_points.gpkg"
    anp = realdata / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg"
    if not wdpa.is_file() or not anp.is_file():
        pytest.skip("the WDPA / SERNANP subsets are absent")
    with pytest.raises(SchemaError, match=r"WDPA.*--protected-areas"):
        read_kbas(wdpa)
    with pytest.raises((SchemaError, LayerChoiceError), match=r"SitRecID"):
        read_kbas(anp)


def test_join_refuses_layers_without_crs_and_replaces_same_named_columns(world):
    from asm_pace.errors import CRSError

    sites, pas, eco, kbas = world
    with pytest.raises(CRSError, match="no CRS"):
        join_kbas(sites.set_crs(None, allow_override=True), kbas)
    with pytest.raises(SchemaError, match="kba_name"):
        join_kbas(sites, kbas.drop(columns="kba_name"))
    # a projected CRS works: the same KBAs as in lon/lat
    utm = join_kbas(sites.to_crs(32719), kbas.to_crs(32719))
    assert utm["kba_ids"].tolist() == ["", "3", "7"]
    out = asm_pace.classify(sites.assign(AZE="x"), pas, eco, kbas=kbas)
    assert "AZE" not in out.columns and out["aze"].tolist() == [False, False, True]


@settings(max_examples=30, deadline=None)
@given(
    st.floats(-179.0, 179.0),
    st.floats(-80.0, 80.0),
    st.floats(1.0, 1e6),  # hectares
)
def test_point_kba_circle_area_property(lon, lat, hectares):
    rows = _rows(geometry=[shapely.Point(lon, lat), shapely.box(-69.1, -12.1, -68.9, -11.9)])
    rows[0]["SitArea"] = hectares
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kbas = read_kbas(_gdf(rows)).set_index("kba_id")
    geom = kbas.loc["7", "geometry"]
    area = abs(GEOD.geometry_area_perimeter(geom)[0])
    assert area == pytest.approx(hectares * 1e4, rel=0.01)
    assert kbas.loc["7", "site_area_km2"] == pytest.approx(hectares / 100.0)


def test_file_geodatabase_with_both_layers(tmp_path):
    path = tmp_path / "KBAsGlobal.gdb"
    rows = _rows()
    pts = _rows(geometry=[shapely.Point(-71.5, -12), shapely.Point(-69, -12)])
    for row, rid in zip(pts, (11, 12), strict=True):
        row["SitRecID"] = rid
    for layer, frame in (("KBA_POL", _gdf(rows)), ("KBA_PNT", _gdf(pts))):
        frame["SitRecID"] = frame["SitRecID"].astype("int32")  # a geodatabase's Integer
        pyogrio.write_dataframe(frame, path, layer=layer, driver="OpenFileGDB")
    kbas = read_kbas(path)
    assert sorted(kbas["kba_id"]) == ["11", "12", "3", "7"]
    assert sorted(kbas["origin"]) == ["point_circle", "point_circle", "polygon", "polygon"]


def test_cli_countries_keeps_the_kbas_of_those_countries_too(tmp_path):
    from click.testing import CliRunner

    from asm_pace.cli import cli

    # a KBA file with a Peruvian and an Ecuadorian KBA (written here, in the real schema)
    both = tmp_path / "kbas.gpkg"
    # both beside the sample sites (the GeoPackage keeps the layers near them)
    boxes = [shapely.box(-70.5, -12.8, -70.4, -12.7), shapely.box(-70.3, -12.8, -70.2, -12.7)]
    rows = _rows(SitRecID=[1, 2], ISO3=["PER", "ECU"], AzeStatus=[None, None], geometry=boxes)
    _gdf(rows).to_file(both, layer="KBAsGlobal_2024_September_01_POL")
    base = ["classify", str(sample_path("sites.csv")), "-p", str(sample_path("protected_areas.gpkg")),
            "-e", str(sample_path("ecoregions.gpkg")), "--kbas", str(both)]  # fmt: skip
    out = tmp_path / "out.gpkg"
    res = CliRunner().invoke(cli, [*base, "--countries", "PER", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert gpd.read_file(out, layer="kbas")["kba_id"].tolist() == ["1"]
    res = CliRunner().invoke(cli, [*base, "-o", str(tmp_path / "all.gpkg")])
    assert sorted(gpd.read_file(tmp_path / "all.gpkg", layer="kbas")["kba_id"]) == ["1", "2"]
    # a country of the protected areas (BOL, PER) but of no KBA: refused, naming the KBA file
    res = CliRunner().invoke(cli, [*base, "--countries", "PER,BOL", "-o", str(tmp_path / "x.gpkg")])
    assert res.exit_code == 2
    assert "kbas.gpkg" in res.output and "BOL" in res.output
    assert not (tmp_path / "x.gpkg").exists()
