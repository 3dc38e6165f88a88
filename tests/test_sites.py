"""read_sites / validate_sites: column and id detection, every bad input, samples, real data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from asm_pace import read_sites, validate_sites
from asm_pace._vector import VALID_KEY
from asm_pace.errors import (
    AsmPaceError,
    LayerNotFoundError,
    ReadError,
    RepairedGeometryWarning,
    SiteProblem,
    SiteValidationError,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def where(problems: list[SiteProblem]) -> list[tuple]:
    return [(p.line, p.column) for p in problems]


# ------------------------------------------------------------------------- column detection


@pytest.mark.parametrize(
    ("lon_name", "lat_name"),
    [
        ("lon", "lat"),
        ("Long", "Lat"),
        ("lng", "LAT"),
        ("longitude", "latitude"),
        ("Longitud", "Latitud"),
        ("LONGITUDE_DD", "LATITUDE_DD"),
        ("Longitude (WGS84)", "Latitude (WGS84)"),
        ("Longitud (°)", "Latitud (°)"),
        ("Lon DMS", "Lat DMS"),
        ("X_GEO", "Y_GEO"),
        ("POINT_X", "POINT_Y"),
        ("x", "y"),
        ("coord_x", "coord_y"),
        ("  Longitude ", " latitude"),
        ("Longitudine", "Latitudine"),
    ],
)
def test_coordinate_columns_detected(lon_name, lat_name):
    frame = pd.DataFrame({"name": ["a", "b"], lat_name: [-12.5, 3.0], lon_name: [-70.25, 10.0]})
    sites = read_sites(frame)
    np.testing.assert_array_equal(sites.geometry.x, [-70.25, 10.0])
    np.testing.assert_array_equal(sites.geometry.y, [-12.5, 3.0])


def test_lonlat_words_beat_xy():
    frame = pd.DataFrame(
        {"x": [500000.0], "y": [8600000.0], "Latitud": [-12.5], "Longitud": [-70.0]}
    )
    sites = read_sites(frame)
    assert (sites.geometry.x[0], sites.geometry.y[0]) == (-70.0, -12.5)


def test_given_columns_win_and_match_loosely():
    frame = pd.DataFrame({"lat": [1.0], "lon": [2.0], "LatB": [-5.0], "LonB": [-6.0]})
    sites = read_sites(frame, lon="lonb", lat="LatB")
    assert (sites.geometry.x[0], sites.geometry.y[0]) == (-6.0, -5.0)


def test_no_coordinate_columns_lists_columns_and_names():
    frame = pd.DataFrame({"site": ["a"], "east_west": [1.0], "where": ["here"]})
    problems = validate_sites(frame)
    assert len(problems) == 1
    text = str(problems[0])
    assert "no longitude and no latitude column" in text
    assert "site, east_west, where" in text  # the columns seen
    assert "longitud" in text and "latitude" in text  # the names recognised
    assert "lon= and lat=" in text


def test_given_column_missing():
    frame = pd.DataFrame({"lat": [1.0], "lon": [2.0]})
    problems = validate_sites(frame, lon="longitude_x")
    assert len(problems) == 1 and problems[0].column == "longitude_x"
    assert "lat, lon" in problems[0].fix


def test_ambiguous_columns():
    frame = pd.DataFrame({"lat": [1.0], "latitude": [1.0], "lon": [2.0]})
    problems = validate_sites(frame)
    assert len(problems) == 1
    assert "lat, latitude" in problems[0].problem and "lat=" in problems[0].fix
    assert len(read_sites(frame, lat="latitude")) == 1


# ------------------------------------------------------------------------- site ids


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"name": ["n1", "n2"], "code": ["c1", "c2"], "id": ["i1", "i2"]}, ["i1", "i2"]),
        ({"id": ["i1", "i2"], "Site ID": ["s1", "s2"]}, ["s1", "s2"]),
        ({"Código": ["c1", "c2"], "Nombre": ["n1", "n2"]}, ["c1", "c2"]),
        ({"Nombre": ["Pañacocha", "São João"]}, ["Pañacocha", "São João"]),
        ({"name": ["same", "same"]}, ["S0001", "S0002"]),  # repeated names: generated ids
        ({"name": ["one", None]}, ["S0001", "S0002"]),  # incomplete names: generated ids
        ({"notes": ["x", "y"]}, ["S0001", "S0002"]),
        ({"id": [1.0, 2.0]}, ["1", "2"]),  # numbers become text without ".0"
        ({"OBJECTID": [7, 8]}, ["7", "8"]),
        ({"id": [None, None], "name": ["a", "b"]}, ["a", "b"]),  # an empty id column is skipped
    ],
)
def test_site_id_priority(columns, expected):
    frame = pd.DataFrame({**columns, "lat": [1.0, 2.0], "lon": [3.0, 4.0]})
    sites = read_sites(frame)
    assert list(sites["site_id"]) == expected
    assert sites["site_id"].map(type).eq(str).all()


def test_id_column_given():
    frame = pd.DataFrame({"id": ["a", "b"], "ref": ["r1", "r2"], "lat": [1, 2], "lon": [3, 4]})
    assert list(read_sites(frame, id_column="ref")["site_id"]) == ["r1", "r2"]
    problems = validate_sites(frame, id_column="nope")
    assert where(problems) == [(None, "nope")] and "id, ref, lat, lon" in problems[0].fix


def test_generated_ids_widen():
    n = 10_500
    frame = pd.DataFrame({"lat": np.zeros(n) + 1, "lon": np.linspace(-10, 10, n)})
    ids = read_sites(frame)["site_id"]
    assert ids.iloc[0] == "S00001" and ids.iloc[-1] == "S10500" and ids.is_unique


def test_codes_with_leading_zeros_stay_text(tmp_path):
    path = write(tmp_path / "s.csv", "code,lat,lon\n007,1,2\n010,3,4\n")
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["007", "010"]
    assert list(sites["code"]) == ["007", "010"]


# ------------------------------------------------------------------------- bad input

BAD_CSV = """site_id,lat,lon,notes
A,-12.5,-70.1,ok
B,,-70.2,missing lat
C,abc,-70.3,not a number
D,-95,-70.4,lat beyond 90
E,-12.5,-190,lon beyond 180
F,0,0,null island
A,-12.6,-70.5,duplicate of line 2

G,-12.7,,missing lon after a blank line
H,5 N,70 W,hemisphere letters fine
I,5°75'N,-70,minutes 75
"""


def test_every_bad_csv_problem_at_once(tmp_path):
    path = write(tmp_path / "bad.csv", BAD_CSV)
    problems = validate_sites(path)
    assert sorted(where(problems), key=str) == sorted(
        [
            (3, "lat"),
            (4, "lat"),
            (5, "lat"),
            (6, "lon"),
            (7, "lon, lat"),
            (8, "site_id"),
            (10, "lon"),
            (12, "lat"),
        ],
        key=str,
    )
    by_line = {p.line: p for p in problems}
    assert "missing" in by_line[3].problem
    assert by_line[4].value == "abc" and "cannot be read" in by_line[4].problem
    assert by_line[5].value == "-95" and "outside -90..90" in by_line[5].problem
    assert by_line[6].value == "-190" and "outside -180..180" in by_line[6].problem
    assert "null island" in by_line[7].problem
    assert "also on line 2" in by_line[8].problem and by_line[8].value == "A"
    assert "missing" in by_line[10].problem and "longitude" in by_line[10].problem
    assert "below 60" in by_line[12].problem
    # read_sites raises one error holding the same problems
    with pytest.raises(SiteValidationError) as info:
        read_sites(path)
    assert info.value.problems == problems
    assert str(path) in str(info.value) and "8 problem(s)" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AsmPaceError)
    for problem in problems:
        assert f"line {problem.line}" in str(problem) and problem.fix


def test_bad_excel_rows(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["id", "lat", "lon"], ["a", 1, 2], ["b", None, 2], [None, None, None], ["a", 3, 4]]:
        sheet.append(row)
    path = tmp_path / "bad.xlsx"
    book.save(path)
    assert where(validate_sites(path)) == [(3, "lat"), (5, "id")]


def test_swapped_columns(tmp_path):
    # sites in Borneo typed with lat/lon the wrong way round
    path = write(tmp_path / "s.csv", "id,lat,lon\na,114.5,-1.2\nb,113.9,0.5\nc,2.0,1.0\n")
    problems = validate_sites(path)
    assert where(problems) == [(None, "lat, lon"), (2, "lat"), (3, "lat")]
    assert "columns look swapped" in problems[0].problem
    assert problems[0].fix == "Pass lat='lon', lon='lat' (--lat lon --lon lat on the command line)"
    sites = read_sites(path, lat="lon", lon="lat")
    np.testing.assert_array_equal(sites.geometry.x, [114.5, 113.9, 2.0])


def test_projected_values_without_crs(tmp_path):
    path = write(tmp_path / "s.csv", "id,x,y\na,345678.2,8601234.5\n")
    problems = validate_sites(path)
    assert where(problems) == [(2, "y"), (2, "x")]
    assert all("crs=" in p.fix for p in problems)


def test_utm_out_of_zone_with_crs(tmp_path):
    path = write(tmp_path / "s.csv", "id,x,y\na,500000,8600000\nb,1e30,1e30\n")
    problems = validate_sites(path, crs="EPSG:32719")
    assert where(problems) == [(3, "x, y")]
    assert "EPSG:32719" in problems[0].problem


def test_comma_file_with_unquoted_decimal_commas(tmp_path):
    path = write(tmp_path / "s.csv", "id,lat,lon\na,-12,5,-70,25\n")
    problems = validate_sites(path)
    assert problems[0].line == 2 and "5 fields but the header has 3" in problems[0].problem
    assert "';'" in problems[0].fix


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"id,lat,lon\n", "header but no sites"),
    ],
)
def test_empty_tables(tmp_path, content, fragment):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    problems = validate_sites(path)
    assert len(problems) == 1 and fragment in problems[0].problem
    with pytest.raises(SiteValidationError, match=fragment):
        read_sites(path)


def test_empty_dataframe():
    problems = validate_sites(pd.DataFrame({"lat": [], "lon": []}))
    assert "no sites" in problems[0].problem


def test_bad_vector_features(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b", "c", "d", "e", "a"]},
        geometry=[
            shapely.Point(-70, -12),
            None,
            shapely.LineString([(0, 1), (1, 1)]),
            shapely.Point(0, 0),
            shapely.Point(-70, -95),
            shapely.Point(-70.1, -12),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "bad.gpkg"
    gdf.to_file(path, driver="GPKG")
    problems = validate_sites(path)
    assert sorted(where(problems), key=str) == sorted(
        [(2, "geometry"), (3, "geometry"), (4, "geometry"), (5, "geometry"), (6, "id")], key=str
    )
    text = {p.line: str(p) for p in problems}
    assert "no geometry" in text[2] and "LineString" in text[3] and "null island" in text[4]
    assert "outside -90..90" in text[5] and "also on line 1" in text[6]


def test_no_crs_and_not_lonlat(tmp_path):
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 8600000)])
    problems = validate_sites(gdf)
    assert len(problems) == 1 and "no coordinate reference system" in problems[0].problem


def test_vector_crs_conflict():
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(-70, -12)], crs="EPSG:4326")
    problems = validate_sites(gdf, crs="EPSG:32719")
    assert "already has its own CRS" in problems[0].problem


def test_invalid_footprint_repaired_with_warning():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    gdf = gpd.GeoDataFrame({"id": ["f"]}, geometry=[bowtie], crs="EPSG:4326")
    with pytest.warns(RepairedGeometryWarning, match="1 invalid"):
        sites = read_sites(gdf)
    assert sites.geometry[0].is_valid
    assert sites.geometry[0].area == pytest.approx(0.5)  # two triangles of 0.25


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(ReadError, match=r"nowhere\.csv"):
        read_sites(tmp_path / "nowhere.csv")
    with pytest.raises(ReadError, match=r"nowhere\.csv"):
        validate_sites(tmp_path / "nowhere.csv")  # a file that is not there is not "a problem"
    broken = write(tmp_path / "broken.gpkg", "this is not a geopackage")
    with pytest.raises(ReadError, match=r"broken\.gpkg") as info:
        read_sites(broken)
    assert info.value.__cause__ is not None  # chained, not a bare GDAL traceback
    xlsx = write(tmp_path / "broken.xlsx", "not a workbook")
    with pytest.raises(ReadError, match=r"broken\.xlsx"):
        read_sites(xlsx)
    renamed = tmp_path / "book.csv"
    renamed.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ReadError, match="zip archive"):
        read_sites(renamed)
    with pytest.raises(ReadError, match=r"\.xls format"):
        read_sites(write(tmp_path / "old.xls", "x"))
    with pytest.raises(LayerNotFoundError, match="text table has no layers"):
        read_sites(write(tmp_path / "s.csv", "lat,lon\n1,2\n"), layer="x")


def test_bad_crs_argument():
    with pytest.raises(AsmPaceError, match="EPSG code"):
        read_sites(pd.DataFrame({"lat": [1], "lon": [2]}), crs="EPSG:99999999")


def test_clean_list_has_no_problems(tmp_path):
    path = write(tmp_path / "ok.csv", "id,lat,lon\na,1,2\n")
    assert validate_sites(path) == []


# ------------------------------------------------------------------------- samples


def test_samples_csv_and_geojson_agree(samples):
    csv_path, geojson_path = samples / "sites.csv", samples / "sites.geojson"
    from_csv = read_sites(csv_path)
    from_geojson = read_sites(geojson_path)
    raw = pd.read_csv(csv_path, dtype={"site_id": str})  # independent reading
    assert list(from_csv["site_id"]) == list(raw["site_id"]) == list(from_geojson["site_id"])
    np.testing.assert_array_equal(from_csv.geometry.x, raw["longitude"])
    np.testing.assert_array_equal(from_csv.geometry.y, raw["latitude"])
    assert from_csv.geometry.geom_equals_exact(from_geojson.geometry, 1e-9).all()
    shared = ["site_id", "name", "mineral", "status", "source"]
    pd.testing.assert_frame_equal(from_csv[shared], from_geojson[shared])
    assert validate_sites(csv_path) == [] and validate_sites(geojson_path) == []


# ------------------------------------------------------------------------- real data

PERU = "amw_peru_amazon/BD_MineriaAurifera_Peru-curated2026-04-06.geojson"


@pytest.mark.realdata
def test_realdata_peru_points_duplicate_ids(realdata):
    path = realdata / PERU
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    ids = [f["properties"]["id"] for f in features]
    first: dict[int, int] = {}
    expected = []
    for number, value in enumerate(ids, start=1):
        if value in first:
            expected.append((number, str(value), first[value]))
        else:
            first[value] = number
    assert expected  # the curated file repeats two ids (1187, 1196) with moved points
    problems = validate_sites(path)
    assert [(p.line, p.value) for p in problems] == [(n, v) for n, v, _ in expected]
    for problem, (_, _, first_line) in zip(problems, expected, strict=True):
        assert f"also on line {first_line}" in problem.problem
    # keeping the first of each id, the points read back exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: "Several features with id"
        frame = gpd.read_file(path)
    frame = frame[~frame["id"].duplicated()]
    sites = read_sites(frame)
    coords = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in reversed(features)}
    assert len(sites) == len(coords) == 1022
    for sid, x, y in zip(sites["site_id"], sites.geometry.x, sites.geometry.y, strict=True):
        assert (x, y) == pytest.approx(tuple(coords[int(sid)]), abs=1e-12)


@pytest.mark.realdata
def test_realdata_amw_footprints(realdata):
    path = realdata / "amw_peru_amazon/mining_202400_simplified.geojson"
    sites = read_sites(path)
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert len(sites) == len(features) == 5232
    assert list(sites["site_id"][:2]) == ["S0001", "S0002"] and sites["site_id"].is_unique
    assert set(sites.geom_type) == {"Polygon", "MultiPolygon"}
    expected = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    assert sites.geometry.geom_equals_exact(gpd.GeoSeries(expected, crs=4326), 1e-9).all()


@pytest.mark.realdata
def test_realdata_ghana_invalid_footprints_repaired(realdata):
    name = "amw_ghana/ghana_48px_v3.2-3.7ensemble_0.50_2024-01-01_2024-11-15-dissolved-0.6.geojson"
    path = realdata / name
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    raw = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    n_invalid = int((~shapely.is_valid(raw)).sum())
    assert n_invalid > 0
    with pytest.warns(RepairedGeometryWarning, match=f"{n_invalid} invalid"):
        sites = read_sites(path)
    assert len(sites) == len(features) and sites.is_valid.all()
    # valid footprints are untouched; repaired ones are make_valid's polygonal result
    ok = shapely.is_valid(raw)
    untouched = gpd.GeoSeries(raw[ok], index=np.flatnonzero(ok), crs=4326)
    assert sites.geometry[ok].geom_equals_exact(untouched, 0).all()
    repaired = ~ok
    np.testing.assert_allclose(
        shapely.area(sites.geometry.values[repaired]),
        shapely.area(shapely.make_valid(raw[repaired])),
        rtol=1e-9,
    )


@pytest.mark.realdata
def test_realdata_guinea_3d_crs(realdata):
    path = realdata / "amw_guinea/guinea-east-protected_areas.geojson"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairedGeometryWarning)
        sites = read_sites(path)
    assert sites.crs.to_epsg() == 4326
    assert not shapely.has_z(sites.geometry.values).any()
    # "Code" is the file's own identifier column (ID_COLUMNS), unique and complete here
    codes = [f["properties"]["Code"] for f in json.loads(path.read_text("utf-8"))["features"]]
    assert all(code is not None for code in codes) and len(set(codes)) == len(codes)
    assert list(sites["site_id"]) == [str(code) for code in codes]


def test_id_column_false_numbers_sites_with_repeated_ids(tmp_path):
    path = write(tmp_path / "s.csv", "id,lat,lon\n7,-12.1,-70.1\n7,-12.2,-70.2\n9,-12.3,-70.3\n")
    with pytest.raises(SiteValidationError, match=r"line 3.*used again.*id_column=False"):
        read_sites(path)
    sites = read_sites(path, id_column=False)
    assert list(sites["site_id"]) == ["S0001", "S0002", "S0003"]
    assert list(sites["id"]) == [7, 7, 9]  # the file's own column is kept as it is


def test_geodataframe_source_is_left_untouched():
    bowtie = shapely.Polygon([(0, 0), (1e3, 1e3), (1e3, 0), (0, 1e3)])
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.Point(500000, 8600000), shapely.affinity.translate(bowtie, 5e5, 86e5)],
        crs="EPSG:32719",
    )
    before = gdf.copy()
    with pytest.warns(RepairedGeometryWarning, match="1 invalid"):
        sites = read_sites(gdf)
    assert sites.crs.to_epsg() == 4326 and list(sites["site_id"]) == ["a", "b"]
    mark = sites.attrs.pop(VALID_KEY)  # the reader checked every geometry (classify: not again)
    assert mark.covers(np.asarray(sites.geometry.values, dtype=object)).all()
    assert sites.attrs == {
        "source": "<GeoDataFrame>",
        "counts": {"read": 2, "removed": {}, "repaired": 1, "used": 2},
    }
    assert gdf.attrs == {} and gdf.crs.to_epsg() == 32719
    assert list(gdf.columns) == ["id", "geometry"]
    assert shapely.equals_exact(gdf.geometry.values, before.geometry.values, tolerance=0).all()


def test_a_layer_or_sheet_given_as_digits_is_its_number_unless_one_is_so_named(tmp_path):
    # the command line passes text: --sites-layer 1 is layer=1 (the second), as in Python
    from click.testing import CliRunner

    from asm_pace.cli import cli

    pt = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=[shapely.Point(-70, -12)], crs=4326)
    gpkg = tmp_path / "f.gpkg"
    for name, sid in (("first", "a"), ("second", "b"), ("0", "c")):
        pt.assign(site_id=[sid]).to_file(gpkg, layer=name)
    assert read_sites(gpkg, layer="1")["site_id"].tolist() == ["b"]
    assert read_sites(gpkg, layer="0")["site_id"].tolist() == ["c"]  # a layer named "0" wins
    book = tmp_path / "w.xlsx"
    with pd.ExcelWriter(book) as w:
        for sheet, lon in (("one", -70.0), ("two", -71.0)):
            pd.DataFrame({"lon": [lon], "lat": [-12.0]}).to_excel(w, sheet_name=sheet, index=False)
    assert read_sites(book, layer="1").geometry.x.tolist() == [-71.0]
    result = CliRunner().invoke(cli, ["validate", str(book), "--sites-layer", "1"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["validate", str(book), "--sites-layer", "7"])
    assert result.exit_code == 2 and "no sheet number 7; its sheets are: one, two" in result.output
