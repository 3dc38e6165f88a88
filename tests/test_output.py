"""GeoPackage writing: round trips through GDAL (pyogrio and fiona), provenance, styles, atomicity."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import asm_pace
from asm_pace.errors import InputError, OutputError, OutputExistsError
from asm_pace.output import input_fingerprint, safe_name, write_csv, write_geopackage

CLASSES = ["protected_area", "priority_landscape", "critical_ecosystem", "not_eligible"]


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3", "S4"],
            "pace_class": CLASSES,
            "nearest_pa_km": [0.0, 1.25, 30.5, 120.0],
            "status_year": pd.array([1990, None, 2001, None], dtype="Int64"),
            "world_heritage": [True, False, False, False],
            "pa_ids": [["900001", "900002"], [], [], []],
            "details": [{"iucn": "II"}, None, None, None],
            "Área (km²)": [1.0, 2.0, 3.0, 4.0],
            "visited": pd.to_datetime(["2024-01-02 03:04:05", None, "2023-05-06 00:00:00", None]),
        },
        geometry=shapely.points([-60.0, -59.5, -59.0, -58.5], [-3.0, -3.5, -4.0, -4.5]),
        crs="EPSG:4326",
    )


def _expected_sites() -> gpd.GeoDataFrame:
    """The documented conversions, written out by hand."""
    return gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3", "S4"],
            "pace_class": CLASSES,
            "nearest_pa_km": [0.0, 1.25, 30.5, 120.0],
            # nullable integers with gaps come back as float from GDAL readers
            "status_year": [1990.0, float("nan"), 2001.0, float("nan")],
            "world_heritage": [True, False, False, False],
            "pa_ids": ["900001;900002", "", "", ""],
            "details": ['{"iucn": "II"}', None, None, None],
            "Area_km2": [1.0, 2.0, 3.0, 4.0],
            "visited": pd.to_datetime(["2024-01-02 03:04:05", None, "2023-05-06 00:00:00", None]),
        },
        geometry=shapely.points([-60.0, -59.5, -59.0, -58.5], [-3.0, -3.5, -4.0, -4.5]),
        crs="EPSG:4326",
    )


def _normalise(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Compare values, not storage dtypes (readers differ in str/object and time units)."""
    out = frame.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype("datetime64[ms]")
        elif pd.api.types.is_string_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
def test_round_trip_values_and_names(tmp_path, engine):
    out = write_geopackage(tmp_path / "out.gpkg", {"sites": _sites()})
    back = gpd.read_file(out, layer="sites", engine=engine)
    expected = _expected_sites()
    assert list(back.columns) == list(expected.columns)
    assert_geodataframe_equal(_normalise(back), _normalise(expected), check_dtype=False)
    assert back.crs.to_epsg() == 4326


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
def test_attribute_table_round_trip(tmp_path, engine):
    table = pd.DataFrame(
        {"zone_id": ["S1_1", "S1_1", "S2_1"], "year": [2001, 2002, 2001], "loss_ha": [0.5, 1.0, 0]}
    )
    out = write_geopackage(tmp_path / "t.gpkg", {"forest_loss": table})
    back = gpd.read_file(out, layer="forest_loss", engine=engine)
    assert not isinstance(back, gpd.GeoDataFrame) or back.geometry.isna().all()
    back = pd.DataFrame(back).drop(columns=["geometry"], errors="ignore")
    back["zone_id"] = back["zone_id"].astype(object)
    expected = table.assign(loss_ha=table["loss_ha"].astype(float), zone_id=table["zone_id"])
    expected["zone_id"] = expected["zone_id"].astype(object)
    assert_frame_equal(back, expected, check_dtype=False)


def test_gpkg_contents_and_layer_order(tmp_path):
    buffers = gpd.GeoDataFrame(
        {"site_id": ["S1", "S1"], "radius_km": [1.0, 10.0]},
        geometry=[shapely.Point(0, 0).buffer(0.01), shapely.Point(0, 0).buffer(0.1)],
        crs="EPSG:4326",
    )
    out = write_geopackage(
        tmp_path / "out.gpkg",
        {"sites": _sites(), "buffers": buffers, "overlaps": pd.DataFrame({"a": [1]})},
    )
    assert list(pyogrio.list_layers(out)[:, 0]) == [
        "sites",
        "buffers",
        "overlaps",
        "run_info",
        "layer_styles",
    ]
    with sqlite3.connect(out) as con:
        contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
        geoms = dict(
            con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
        )
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
        application = con.execute("PRAGMA application_id").fetchone()[0]
    assert contents == {
        "sites": "features",
        "buffers": "features",
        "overlaps": "attributes",
        "run_info": "attributes",
        "layer_styles": "attributes",
    }
    assert geoms == {"sites": "POINT", "buffers": "POLYGON"}
    assert integrity == "ok"
    # GeoPackage 1.2 ("GPKG" application id): the version older GDAL/QGIS/ArcGIS read quietly
    assert (application, version) == (0x47504B47, 10200)


def test_layer_styles_row_for_sites_and_buffers(tmp_path):
    buffers = gpd.GeoDataFrame(
        {"site_id": ["S1", "S1"], "radius_km": [1.0, 10.0], "inner_km": [0.0, 1.0]},
        geometry=[shapely.Point(0, 0).buffer(0.01), shapely.Point(0, 0).buffer(0.1)],
        crs="EPSG:4326",
    )
    out = write_geopackage(tmp_path / "out.gpkg", {"sites": _sites(), "buffers": buffers})
    with sqlite3.connect(out) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleQML,"
            " styleSLD, useAsDefault FROM layer_styles ORDER BY id"
        ).fetchall()
        geomcol = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert cols == [
        "id",
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    assert [r[2] for r in rows] == ["sites", "buffers"]
    for catalog, schema, table, gcol, qml, sld, default in rows:
        assert (catalog, schema, default) == ("", "", 1)
        assert gcol == geomcol[table]
        ET.fromstring(sld)  # well-formed
        renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
        assert renderer.get("type") == "categorizedSymbol"
        cats = renderer.findall("categories/category")
        if table == "sites":
            assert renderer.get("attr") == "pace_class"
            assert [c.get("value") for c in cats] == CLASSES
            assert all(" " in c.get("label") or c.get("label").istitle() for c in cats)
            assert {s.get("type") for s in renderer.findall("symbols/symbol")} == {"marker"}
            colours = {
                s.find("layer/Option/Option[@name='color']").get("value")
                for s in renderer.findall("symbols/symbol")
            }
            assert len(colours) == 4
        else:
            assert renderer.get("attr") == "radius_km"
            assert [(c.get("value"), c.get("label")) for c in cats] == [
                ("1", "0-1 km"),
                ("10", "1-10 km"),
            ]
            assert {s.get("type") for s in renderer.findall("symbols/symbol")} == {"fill"}


def test_styles_can_be_switched_off(tmp_path):
    out = write_geopackage(tmp_path / "out.gpkg", {"sites": _sites()}, styles=False)
    assert "layer_styles" not in set(pyogrio.list_layers(out)[:, 0])


def test_run_info_provenance(tmp_path):
    sites_csv = tmp_path / "sites.csv"
    sites_csv.write_text("site_id,lon,lat\nA,1,2\n", encoding="utf-8")
    gdb = tmp_path / "pa.gdb"
    (gdb / "sub").mkdir(parents=True)
    (gdb / "a00000001.gdbtable").write_bytes(b"table bytes")
    (gdb / "sub" / "timestamps").write_bytes(b"\x00\x01\x02")
    out = write_geopackage(
        tmp_path / "out.gpkg",
        {"sites": _sites()},
        run_info={"radii_km": (1, 10), "canopy": 30, "rings": False, "pa_layer": "polygons"},
        inputs={"sites": sites_csv, "protected_areas": gdb, "gain": None},
    )
    info = pyogrio.read_dataframe(out, layer="run_info")
    rows = {(r.section, r.key): r for r in info.itertuples()}
    assert rows[("software", "asm_pace_version")].value == asm_pace.__version__
    created = pd.Timestamp(rows[("run", "created_utc")].value)
    assert created.tzinfo is not None
    assert abs(pd.Timestamp.now(tz="UTC") - created) < pd.Timedelta(minutes=5)
    assert json.loads(rows[("parameter", "radii_km")].value) == [1, 10]
    assert json.loads(rows[("parameter", "canopy")].value) == 30
    assert json.loads(rows[("parameter", "rings")].value) is False
    assert rows[("parameter", "pa_layer")].value == "polygons"
    csv_row = rows[("input", "sites")]
    data = sites_csv.read_bytes()
    assert csv_row.file_name == "sites.csv"
    assert csv_row.sha256 == hashlib.sha256(data).hexdigest()
    assert csv_row.size_bytes == len(data)
    # a folder: sha256 of "<relative path>  <sha256 of file>\n" lines sorted by path
    lines = "".join(
        f"{rel}  {hashlib.sha256((gdb / rel).read_bytes()).hexdigest()}\n"
        for rel in sorted(["a00000001.gdbtable", "sub/timestamps"])
    )
    gdb_row = rows[("input", "protected_areas")]
    assert gdb_row.file_name == "pa.gdb"
    assert gdb_row.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert gdb_row.size_bytes == len(b"table bytes") + 3
    assert ("input", "gain") not in rows
    assert rows[("layer", "sites")].value == "4"
    assert rows[("renamed_column", "sites.Area_km2")].value == "Área (km²)"


def test_shapefile_fingerprint_includes_sidecars(tmp_path):
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(
        tmp_path / "pts.shp", engine="pyogrio"
    )
    (tmp_path / "other.txt").write_text("not part of it")
    parts = sorted(p.name for p in tmp_path.iterdir() if p.stem == "pts")
    assert {".shp", ".shx", ".dbf", ".prj"} <= {Path(p).suffix for p in parts}
    lines = "".join(
        f"{n}  {hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}\n" for n in parts
    )
    size, sha = input_fingerprint(tmp_path / "pts.shp")
    assert sha == hashlib.sha256(lines.encode()).hexdigest()
    assert size == sum((tmp_path / n).stat().st_size for n in parts)
    assert input_fingerprint(tmp_path / "missing.csv") == (None, None)


def test_existing_output_untouched_without_overwrite(tmp_path):
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match=r"out\.gpkg.*overwrite"):
        write_geopackage(out, {"sites": _sites()})
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]
    write_geopackage(out, {"sites": _sites()}, overwrite=True)
    assert len(pyogrio.read_dataframe(out, layer="sites")) == 4


def test_failed_layer_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out.gpkg"
    no_columns = pd.DataFrame(index=range(3))  # GDAL cannot create a table without fields
    with pytest.raises(OutputError, match="layer 'broken'") as info:
        write_geopackage(out, {"sites": _sites(), "broken": no_columns})
    assert "out.gpkg" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path):
    out = write_geopackage(tmp_path / "out.gpkg", {"sites": _sites()})
    before = out.read_bytes()
    with pytest.raises(OutputError):
        write_geopackage(
            out, {"sites": _sites(), "broken": pd.DataFrame(index=range(1))}, overwrite=True
        )
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.gpkg"]


def test_bad_destinations(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_geopackage(tmp_path / "nope" / "out.gpkg", {"sites": _sites()})
    with pytest.raises(OutputError, match=r"\.gpkg"):
        write_geopackage(tmp_path / "out.shp", {"sites": _sites()})
    with pytest.raises(InputError, match="reserved"):
        write_geopackage(tmp_path / "out.gpkg", {"run_info": pd.DataFrame({"a": [1]})})
    with pytest.raises(InputError, match="at least one layer"):
        write_geopackage(tmp_path / "out.gpkg", {})
    assert list(tmp_path.iterdir()) == []


def test_names_are_gis_safe_and_unique():
    long = "x" * 80
    frame = pd.DataFrame(
        {"Name": [1], "name": [2], "fid": [3], "geom": [4], long: [5], long + "y": [6], 2001: [7]}
    )
    out, renamed = asm_pace.output.prepare_frame(frame)
    names = list(out.columns)
    assert names[:4] == ["Name", "name_2", "fid_2", "geom_2"]
    assert names[4] == "x" * 63 and names[5] == "x" * 61 + "_2"
    assert names[6] == "f_2001"
    assert len({n.lower() for n in names}) == len(names)
    assert renamed["f_2001"] == "2001"
    assert safe_name("  ") == "field"


def test_index_kept_when_meaningful_and_mixed_polygons(tmp_path):
    poly = shapely.box(0, 0, 1, 1)
    multi = shapely.MultiPolygon([shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)])
    frame = gpd.GeoDataFrame(
        {"v": [1, 2]},
        geometry=[poly, multi],
        crs="EPSG:4326",
        index=pd.Index(["a", "b"], name="zone"),
    )
    out = write_geopackage(tmp_path / "z.gpkg", {"zones": frame})
    back = pyogrio.read_dataframe(out, layer="zones")
    assert back["zone"].tolist() == ["a", "b"]
    assert back.geom_type.tolist() == ["MultiPolygon", "MultiPolygon"]
    assert shapely.equals(back.geometry.values[0], poly)
    assert shapely.equals(back.geometry.values[1], multi)


def test_empty_layer(tmp_path):
    empty = _sites().iloc[:0]
    out = write_geopackage(tmp_path / "e.gpkg", {"sites": empty})
    assert len(pyogrio.read_dataframe(out, layer="sites")) == 0


def test_write_csv(tmp_path):
    out = write_csv(tmp_path / "s.csv", _sites())
    back = pd.read_csv(out)
    assert back["pa_ids"].fillna("").tolist() == ["900001;900002", "", "", ""]
    assert back["longitude"].tolist() == [-60.0, -59.5, -59.0, -58.5]
    assert back["geometry_wkt"][0] == "POINT (-60 -3)"
    with pytest.raises(OutputExistsError):
        write_csv(out, _sites())
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


def test_write_csv_footprints_missing_and_empty_geometries(tmp_path):
    footprints = gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C"]},
        geometry=[shapely.box(0.125, 1.0, 0.5, 1.25), None, shapely.Polygon()],
        crs=4326,
    )
    out = write_csv(tmp_path / "f.csv", footprints)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # polygons get no longitude/latitude columns; missing and empty geometries stay blank
    assert list(rows[0]) == ["site_id", "geometry_wkt"]
    assert [r["geometry_wkt"] for r in rows] == [
        "POLYGON ((0.5 1, 0.5 1.25, 0.125 1.25, 0.125 1, 0.5 1))",
        "",
        "",
    ]


@pytest.mark.slow
def test_interrupted_write_leaves_nothing(tmp_path):
    """Ctrl-C (SIGINT) while a large layer is being written: no output, no temporary file."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "big.gpkg"
    script = (
        "import numpy as np, geopandas as gpd, shapely\n"
        "from asm_pace.output import write_geopackage\n"
        "n = 200_000\n"
        "g = gpd.GeoDataFrame({'v': np.arange(n), 't': ['text'] * n},\n"
        "    geometry=shapely.points(np.random.default_rng(0).random((n, 2))), crs=4326)\n"
        "print('ready', flush=True)\n"
        f"write_geopackage({str(out)!r}, {{'a': g, 'b': g, 'c': g, 'd': g}})\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp.gpkg") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, "no temporary file seen"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    assert list(tmp_path.iterdir()) == []


@given(st.lists(st.text(min_size=0, max_size=90), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_safe_names_property(names):
    taken: list[str] = []
    for name in names:
        new = safe_name(name, taken)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", new), new
        assert new.lower() not in {t.lower() for t in taken}
        taken.append(new)
