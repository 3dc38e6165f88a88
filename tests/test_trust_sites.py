"""Issue 9 for site lists: malformed files give the right sites or a precise refusal, never a crash.

Every input is a real file written here (CSV bytes, GeoJSON text, GeoPackage, KML, xlsx). The
hypothesis test builds CSV tables from a grammar of plausible and hostile cells and checks
``read_sites`` against an independent oracle (each cell's value is known when it is drawn).
"""

from __future__ import annotations

import csv
import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm_pace import read_sites, validate_sites
from asm_pace.cli import cli
from asm_pace.errors import (
    LayerChoiceError,
    LayerNotFoundError,
    ReadError,
    SiteValidationError,
)
from corpus import classify_args, tiny_inputs
from corpus.malformed import workbook

openpyxl = pytest.importorskip("openpyxl")

SITES = [("S1", -70.0, -12.0), ("S2", -69.0, -12.0), ("S3", -71.5, -12.0)]
CSV_TEXT = "id,lat,lon\n" + "".join(f"{s},{lat},{lon}\n" for s, lon, lat in SITES)


def where(problems):
    return [(p.line, p.column) for p in problems]


def points(**columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [s[0] for s in SITES], **columns},
        geometry=[shapely.Point(lon, lat) for _, lon, lat in SITES],
        crs="EPSG:4326",
    )


def assert_three(sites, ids=("S1", "S2", "S3")):
    assert list(sites["site_id"]) == list(ids)
    assert [(p.x, p.y) for p in sites.geometry] == [(lon, lat) for _, lon, lat in SITES]


# ------------------------------------------------------------------------ non-finite coordinates


@pytest.mark.parametrize("xy", ["NaN,-12", "-69,NaN", "Infinity,-12"])
def test_geojson_point_with_a_non_finite_ordinate_is_refused(tmp_path, xy):
    coords = ["-70,-12", xy, "-71.5,-12"]
    features = ",".join(
        f'{{"type":"Feature","properties":{{"id":"S{i}"}},'
        f'"geometry":{{"type":"Point","coordinates":[{c}]}}}}'
        for i, c in enumerate(coords, start=1)
    )
    path = tmp_path / "s.geojson"
    path.write_text(f'{{"type":"FeatureCollection","features":[{features}]}}')
    problems = validate_sites(path)
    assert where(problems) == [(2, "geometry")]
    assert "not a number" in problems[0].problem


def test_nan_in_a_projected_layer_and_in_a_footprint_is_refused_per_feature():
    with np.errstate(invalid="ignore"):  # shapely warns on building a ring with NaN
        nan_ring = shapely.from_wkt("POLYGON ((5e5 86e5, 501000 86e5, NaN 8601000, 5e5 86e5))")
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"]},
        geometry=[
            shapely.Point(500000, 8600000),
            shapely.Point(np.nan, 8600000),
            nan_ring,
        ],
        crs="EPSG:32719",
    )
    assert where(validate_sites(gdf)) == [(2, "geometry"), (3, "geometry")]


def test_a_point_that_cannot_be_reprojected_is_named_as_such_not_as_missing():
    # 1e30 m from UTM 19S's origin: PROJ gives infinite longitude/latitude
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.Point(500000, 8600000), shapely.Point(1e30, 1e30)],
        crs="EPSG:32719",
    )
    problems = validate_sites(gdf)
    assert where(problems) == [(2, "geometry")]
    assert "cannot be reprojected from WGS 84 / UTM zone 19S" in problems[0].problem
    assert "no geometry" not in problems[0].problem and problems[0].value == "POINT (1e+30 1e+30)"


def test_out_of_range_lonlat_features_are_refused_one_by_one_before_reprojection():
    gdf = points().set_crs("EPSG:4979", allow_override=True)  # geographic, 3-D
    gdf.geometry = gpd.GeoSeries(
        [shapely.Point(-70, -12), shapely.Point(-69, 95), shapely.Point(200, -12)], crs=4979
    )
    problems = validate_sites(gdf)
    assert where(problems) == [(2, "geometry"), (3, "geometry")]
    assert ["latitude" in problems[0].problem, "longitude" in problems[1].problem] == [True, True]


def test_complex_numbers_are_not_coordinates():
    df = pd.DataFrame({"id": ["a"], "lat": [-12 + 1j], "lon": [-70.0]})
    assert where(validate_sites(df)) == [(2 - 1, "lat")]


def test_an_absurd_number_is_not_taken_for_projected_metres():
    problems = validate_sites(pd.DataFrame({"id": ["a"], "lat": [1e308], "lon": [-70.0]}))
    assert where(problems) == [(1, "lat")] and problems[0].fix == "Check the value"
    utm = validate_sites(pd.DataFrame({"id": ["a"], "lat": [8.6e6], "lon": [5e5]}))
    assert all("--sites-crs" in p.fix for p in utm) and len(utm) == 2


# ------------------------------------------------------------------------ text tables


def test_a_field_over_the_csv_module_limit_is_read_and_the_limit_restored(tmp_path):
    limit = csv.field_size_limit()
    path = tmp_path / "s.csv"
    note = "x" * (limit + 10)
    path.write_text(f'id,lat,lon,note\nS1,-12,-70,"{note}"\nS2,-12,-69,\nS3,-12,-71.5,\n')
    sites = read_sites(path)
    assert_three(sites)
    assert len(sites["note"].iloc[0]) == limit + 10
    assert csv.field_size_limit() == limit


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark(tmp_path, encoding):
    path = tmp_path / "s.csv"
    path.write_bytes(CSV_TEXT.replace("S1", "Señal").encode(encoding))
    assert_three(read_sites(path), ids=("Señal", "S2", "S3"))


def test_binary_garbage_is_refused_as_binary(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(bytes(range(1, 256)) * 4)
    with pytest.raises(ReadError, match=r"s\.csv: this is a binary file.*export"):
        read_sites(path)


def test_nul_bytes_are_reported_by_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(CSV_TEXT.replace("S2,", "S2\x00,").encode())
    problems = validate_sites(path)
    assert (3, None) in where(problems) and "NUL" in problems[0].problem


def test_trailing_ctrl_z_is_ignored(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(CSV_TEXT.encode() + b"\x1a")
    assert_three(read_sites(path))


def test_a_quote_left_open_is_reported_where_it_opens(tmp_path):
    path = tmp_path / "s.csv"
    # read leniently, S2 would swallow S3's line and take S3's coordinates
    path.write_text('id,name,lat,lon\nS1,a,-12,-70\nS2,"b,-12,-69\nS3,"c",-12,-71.5\n')
    problems = validate_sites(path)
    assert where(problems) == [(3, None)]
    assert "lines 3-4" in problems[0].problem


def test_a_quoted_value_over_several_lines_is_fine(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        'id,note,lat,lon\nS1,"one, two\nthree, four, five",-12,-70\nS2,,-12,-69\nS3,,-12,-71.5\n'
    )
    sites = read_sites(path)
    assert_three(sites)
    assert sites["note"].iloc[0] == "one, two\nthree, four, five"


def test_a_repeated_coordinate_column_is_reported_and_can_be_chosen(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,lat,lon,lat\n" + "".join(f"{s},5,{lon},{lat}\n" for s, lon, lat in SITES))
    problems = validate_sites(path)
    assert where(problems) == [(None, "lat")]
    assert "2 columns named 'lat' (columns 2, 4)" in problems[0].problem
    assert "--lat lat.1" in problems[0].fix
    assert_three(read_sites(path, lat="lat.1"))


def test_a_dataframe_with_repeated_column_names():
    df = pd.DataFrame([[s, lat, lon, lon] for s, lon, lat in SITES], columns=["id", "y", "x", "x"])
    assert where(validate_sites(df)) == [(None, "x")]
    assert_three(read_sites(df, lon="x.1"))


def test_more_columns_than_the_output_holds(tmp_path, monkeypatch):
    import asm_pace.sites

    monkeypatch.setattr(asm_pace.sites, "MAX_COLUMNS", 4)  # 1900 in use; the rule is the same
    path = tmp_path / "s.csv"
    path.write_text("id,lat,lon,a,b\nS1,-12,-70,1,2\n")
    problems = validate_sites(path)
    assert len(problems) == 1 and "5 columns" in problems[0].problem
    assert where(validate_sites(points(a=1, b=2, c=3, d=4))) == [(None, None)]  # 5 columns
    assert validate_sites(points(a=1, b=2, c=3)) == []  # id, a, b, c (and the geometry)


# ------------------------------------------------------------------------ workbooks


ROWS = [["id", "lat", "lon"]] + [[s, lat, lon] for s, lon, lat in SITES]


def test_sheet_rule(tmp_path):
    path = workbook(
        tmp_path / "w.xlsx",
        {"Notes": [["read me"]], "2019": ROWS, "2020": ROWS, "lookup": [["a", "b"], [1, 2]]},
        chart_first=True,
    )
    with pytest.raises(LayerChoiceError, match=r"w\.xlsx: 2 sheets .*: 2019, 2020; pass layer="):
        read_sites(path)
    assert_three(read_sites(path, layer="2020"))
    with pytest.raises(LayerNotFoundError, match="'Chart' is a chart"):
        read_sites(path, layer="Chart")
    with pytest.raises(LayerNotFoundError, match="'Chart' is a chart"):
        read_sites(path, layer=0)
    named = workbook(tmp_path / "n.xlsx", {"2019": ROWS, "Sitios 2020": ROWS, "x": [["y"]]})
    assert_three(read_sites(named))  # the one named like sites
    book = openpyxl.load_workbook(path)
    book["2019"].sheet_state = "hidden"
    book.save(path)
    assert_three(read_sites(path))  # 2020: the only visible sheet with coordinates
    custom = workbook(tmp_path / "c.xlsx", {"a": [["E", "N", "id"], [1, 2, 3]], "b": ROWS})
    assert list(read_sites(custom)["site_id"]) == ["S1", "S2", "S3"]  # only 'b' has lat/lon
    odd = read_sites(custom, lon="E", lat="N")  # lon=/lat= name the columns: only 'a' has them
    assert list(odd["site_id"]) == ["3"] and (odd.geometry.x[0], odd.geometry.y[0]) == (1, 2)
    only_charts = tmp_path / "charts.xlsx"
    book = openpyxl.Workbook()
    book.create_chartsheet("Chart")
    book.remove(book.active)
    book.save(only_charts)
    with pytest.raises(ReadError, match=r"charts\.xlsx: "):  # openpyxl itself cannot open it
        read_sites(only_charts)


def test_a_damaged_sheet_names_the_sheet(tmp_path):
    path = workbook(tmp_path / "w.xlsx", {"Minas": ROWS})
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:250]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(ReadError, match=r"w\.xlsx: sheet 'Minas' cannot be read.*damaged"):
        read_sites(path)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (CSV_TEXT.encode(), "text file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "password-protected"),
        (bytes(range(256)), "not an Excel .xlsx workbook"),
        (b"", "empty"),
    ],
)
def test_what_is_no_workbook_is_named(tmp_path, data, words):
    path = tmp_path / "w.xlsx"
    path.write_bytes(data)
    with pytest.raises(ReadError, match=words):
        read_sites(path)


# ------------------------------------------------------------------------ several layers


def test_vector_layer_rule(tmp_path):
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326)
    path = tmp_path / "g.gpkg"
    road.to_file(path, layer="roads")
    pyogrio.write_dataframe(pd.DataFrame({"note": ["x"]}), path, layer="notes")
    points().to_file(path, layer="found")
    assert_three(read_sites(path))  # the only layer of points
    points().to_file(path, layer="camps")
    with pytest.raises(LayerChoiceError, match=r"found \(Point\), camps \(Point\); pass layer="):
        read_sites(path)
    points().iloc[:0].to_file(path, layer="asm_sites")
    with pytest.raises(LayerChoiceError, match=r"found .*, camps"):
        read_sites(path)  # an empty layer holds no sites, whatever its name
    points().to_file(path, layer="asm_sites", mode="w")
    assert_three(read_sites(path))  # the one named like sites
    assert_three(read_sites(path, layer="camps"))
    table = tmp_path / "t.gpkg"
    road.to_file(table, layer="roads")
    frame = pd.DataFrame(
        {"id": [s[0] for s in SITES], "x": [s[1] for s in SITES], "y": [s[2] for s in SITES]}
    )
    pyogrio.write_dataframe(frame, table, layer="survey")
    assert_three(read_sites(table))  # a table with coordinate columns is a candidate


def test_kml_folders_of_other_geometries_are_left_out_and_counted(tmp_path):
    marks = "".join(
        f"<Placemark><name>{s}</name><Point><coordinates>{lon},{lat}</coordinates></Point>"
        "</Placemark>"
        for s, lon, lat in SITES
    )
    path = tmp_path / "m.kml"
    path.write_text(
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Folder><name>Rios</name><Placemark><name>R</name><LineString><coordinates>0,0 1,1"
        "</coordinates></LineString></Placemark></Folder>"
        f"<Folder><name>Minas</name>{marks}</Folder></Document></kml>"
    )
    sites = read_sites(path)
    assert_three(sites)
    assert sites.attrs["counts"] == {
        "read": 4,
        "removed": {"other_layers": 1},
        "repaired": 0,
        "used": 3,
    }


# ------------------------------------------------------------------------ validate vs classify

HOSTILE = {
    "nan.geojson": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
    b'"geometry":{"type":"Point","coordinates":[NaN,-12]}}]}',
    "null.geojson": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
    b'"geometry":{"type":"Point","coordinates":[-70,null]}}]}',
    "notjson.geojson": b"{ this is not json",
    "empty.csv": b"",
    "header.csv": b"id,lat,lon\n",
    "inf.csv": b"id,lat,lon\na,inf,-70\n",
    "huge.csv": b"id,lat,lon\na,1e308,-70\n",
    "dms.csv": "id,lat,lon\na,12°61'S,-70\n".encode(),
    "text.csv": b"id,lat,lon\na,abc,def\n",
    "nul.csv": b"id,lat,lon\na,-12\x00,-70\n",
    "garbage.csv": bytes(range(256)),
    "renamed.xlsx": CSV_TEXT.encode(),
    "nothing.zip": b"PK\x05\x06" + bytes(18),
    "nokml.kmz": b"PK\x05\x06" + bytes(18),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_validate_refuses_what_classify_refuses(tmp_path, name):
    paths = tiny_inputs(tmp_path)
    paths["sites"] = tmp_path / name
    paths["sites"].write_bytes(HOSTILE[name])
    runner = CliRunner()
    checked = runner.invoke(cli, ["validate", str(paths["sites"])])
    run = runner.invoke(cli, classify_args(paths, tmp_path / "out.gpkg"))
    assert (checked.exit_code, run.exit_code) == (2, 2), checked.output + run.output
    assert name in run.stderr.splitlines()[0] and not (tmp_path / "out.gpkg").exists()


# ------------------------------------------------------------------------ fuzzing the CSV reader

# cells drawn with their meaning: (text, value or None when unreadable)
_GOOD_LAT = st.floats(-90, 90, allow_nan=False).map(lambda v: (repr(v), v))
_GOOD_LON = st.floats(-180, 180, allow_nan=False).map(lambda v: (repr(v), v))
_HOSTILE = [
    ("", None),
    ("nan", None),
    ("inf", None),
    ("-inf", None),
    ("1e308", 1e308),
    ("1e400", None),
    ("abc", None),
    ("-12,5", -12.5),
    ("--12", None),
    ("0x10", None),
    ("NULL", None),
    ("95", 95.0),
    ("-200", -200.0),
    ('"', None),
]
# degrees-minutes-seconds: hemisphere letters belong to one axis
_HOSTILE_LAT = st.sampled_from(
    [*_HOSTILE, ("12°30'S", -12.5), ("12°61'S", None), ("12°30'W", None), ("5 30 N", 5.5)]
)
_HOSTILE_LON = st.sampled_from(
    [*_HOSTILE, ("12°30'W", -12.5), ("70°30'O", -70.5), ("12°30'S", None), ("-70°30'W", None)]
)
_NOTE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029")
    | st.sampled_from([",", ";", '"', "\n", "\t"]),
    max_size=12,
)


def _oracle(rows) -> list[tuple[float, float] | None]:
    """Each row's (lon, lat) when it is a good site, else None; by the grammar's own values."""
    out = []
    for (_, lat), (_, lon), _ in rows:
        ok = (
            lat is not None
            and lon is not None
            and abs(lat) <= 90
            and abs(lon) <= 180
            and not (lat == 0 and lon == 0)
        )
        out.append((lon, lat) if ok else None)
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(_GOOD_LAT | _HOSTILE_LAT, _GOOD_LON | _HOSTILE_LON, _NOTE), min_size=1, max_size=8
    )
)
def test_fuzzed_csv_gives_the_oracle_sites_or_a_site_error(tmp_path, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "lat", "lon", "note"])
    starts = []  # the physical line each record starts on
    for i, ((lat, _), (lon, _), note) in enumerate(rows, start=1):
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow([f"S{i}", lat, lon, note])
    path = tmp_path / "fuzz.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    expected = _oracle(rows)
    bad = {line for line, e in zip(starts, expected, strict=True) if e is None}
    if bad:
        with pytest.raises(SiteValidationError) as info:
            read_sites(path)
        assert str(info.value).startswith(f"{path}: ")
        assert {p.line for p in info.value.problems if p.line is not None} == bad
        return
    sites = read_sites(path)
    xy = shapely.get_coordinates(sites.geometry.values)
    assert np.isfinite(xy).all() and (np.abs(xy) <= [180, 90]).all()
    assert list(sites["site_id"]) == [f"S{i}" for i in range(1, len(rows) + 1)]
    assert [tuple(v) for v in xy] == expected
