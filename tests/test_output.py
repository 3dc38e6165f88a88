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
import numpy as np
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


def _stream(parts):
    from asm_pace.output import LayerStream

    def batches():
        for part in parts:
            if isinstance(part, Exception):
                raise part
            yield part

    return LayerStream(rows=sum(len(p) for p in parts if not isinstance(p, Exception)),
                       batches=batches, geometry_types=frozenset({"Point"}))  # fmt: skip


def test_a_streamed_layer_failing_midway_says_why_and_leaves_nothing(tmp_path):
    """A part that cannot be written (a column's type changed) or a source that fails while
    the layer streams: its own error, not GDAL's, and no file."""
    from asm_pace.errors import AsmPaceError

    out = tmp_path / "out.gpkg"
    good = _sites()[["site_id", "nearest_pa_km", "geometry"]]
    clash = good.assign(nearest_pa_km=["far"] * len(good))
    with pytest.raises(OutputError, match=r"layer 'sites'.*nearest_pa_km") as info:
        asm_pace.write_geopackage(out, {"sites": _stream([good, clash])})
    assert "ROLLBACK" not in str(info.value)
    with pytest.raises(AsmPaceError, match="the scratch file is gone"):
        asm_pace.write_geopackage(
            out, {"sites": _stream([good, AsmPaceError("the scratch file is gone")])}
        )
    assert list(tmp_path.iterdir()) == []
    asm_pace.write_geopackage(out, {"sites": _stream([good, good])})
    assert len(pyogrio.read_dataframe(out, layer="sites")) == 2 * len(good)


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


# --------------------------------------------------------------------------- layers read
# A world on the equator, by hand: S1 (10, 0) inside PA A; S2 (10.6, 0), whose nearest
# protected area is B, 0.2 degrees east (22.26 km); C far east; D a wide strip from lat 0.21
# north (23.2 km from S2). Ecoregion 1 (Global 200) west of lon 10.3, 2 east of it, 3 far away; landscape L1
# around S1, L2 far away.
def _world(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sites = folder / "sites.csv"
    sites.write_text("site_id,latitude,longitude\nS1,0.0,10.0\nS2,0.0,10.6\n", encoding="utf-8")
    pa_boxes = {
        "1": (9.9, -0.1, 10.1, 0.1),
        "2": (10.8, -0.1, 11.0, 0.1),
        "3": (12.0, -0.1, 12.5, 0.1),
        "4": (9.0, 0.21, 11.0, 1.5),
    }
    n = len(pa_boxes)
    pas = folder / "pas.gpkg"
    gpd.GeoDataFrame(
        {
            "WDPAID": [int(k) for k in pa_boxes],
            "WDPA_PID": list(pa_boxes),
            "NAME": ["A", "B", "C", "D"],
            "ORIG_NAME": ["A", "B", "C", "D"],
            "DESIG_ENG": ["National Park", "Ramsar Site, Wetland of International Importance"]
            + ["Forest Reserve"] * 2,
            "DESIG_TYPE": ["National", "International", "National", "National"],
            "IUCN_CAT": ["II", "Not Reported", "VI", "IV"],
            "STATUS": ["Designated"] * n,
            "STATUS_YR": [1990, 2001, 1975, 2010],
            "REP_AREA": [500.0] * n,
            "MARINE": ["0"] * n,
            "ISO3": ["CMR"] * n,
        },
        geometry=[shapely.box(*b) for b in pa_boxes.values()],
        crs="EPSG:4326",
    ).to_file(pas, layer="polygons", driver="GPKG")
    eco = folder / "eco.gpkg"
    gpd.GeoDataFrame(
        {
            "ECO_ID": [1, 2, 3],
            "ECO_NAME": ["Wet forest", "Dry forest", "Far forest"],
            "BIOME": [1, 2, 1],
            "REALM": ["AT"] * 3,
            "G200_REGIO": ["Congolian forests", "", ""],
            "G200_NUM": [30, 0, 0],
            "G200_BIOME": [1, 0, 0],
        },
        geometry=[
            shapely.box(9, -1, 10.3, 1),
            shapely.box(10.3, -1, 13, 1),
            shapely.box(20, -1, 21, 1),
        ],
        crs="EPSG:4326",
    ).to_file(eco, driver="GPKG")
    land = folder / "land.gpkg"
    gpd.GeoDataFrame(
        {"landscape_name": ["L1", "L2"]},
        geometry=[shapely.box(9.95, -0.05, 10.05, 0.05), shapely.box(30, 5, 31, 6)],
        crs="EPSG:4326",
    ).to_file(land, driver="GPKG")
    return {"sites": sites, "protected_areas": pas, "ecoregions": eco, "landscapes": land}


def _run_world(paths, radii=None):
    from asm_pace.pipeline import run_pipeline

    return run_pipeline(
        paths["sites"],
        protected_areas=paths["protected_areas"],
        ecoregions=paths["ecoregions"],
        priority_landscapes=paths["landscapes"],
        radii_km=radii,
    )


def _hand_box(west, south, east, north, km):
    """The analysis box by hand: km / 110 degrees of latitude, km / (110 cos lat) of longitude."""
    import math

    dlat = km / 110.0
    top = max(abs(south - dlat), abs(north + dlat))
    dlon = km / (110.0 * math.cos(math.radians(top)))
    return shapely.box(west - dlon, south - dlat, east + dlon, north + dlat)


def test_geopackage_holds_the_layers_read_clipped_to_the_analysis_extent(tmp_path):
    from asm_pace.pipeline import write_outputs

    paths = _world(tmp_path / "in")
    result = _run_world(paths, radii=[25.0])
    out = write_outputs(result, tmp_path / "out.gpkg")
    # margin: the 25 km buffer (S2's nearest protected area, B, is 22.26 km away; S1 is inside A)
    box = _hand_box(10.0, 0.0, 10.6, 0.0, 25.0)
    source = gpd.read_file(paths["protected_areas"], layer="polygons")
    written = gpd.read_file(out, layer="protected_areas")
    # A (around S1), B (clipped at the box's east side), D (a sliver of its south edge); C not
    inside = source[source.intersects(box)]
    assert sorted(written["pa_id"]) == sorted(inside["WDPAID"].astype(str)) == ["1", "2", "4"]
    for _, row in written.iterrows():
        original = source.loc[source["WDPAID"].astype(str) == row["pa_id"], "geometry"].iloc[0]
        expected = original.intersection(box)
        assert row.geometry.symmetric_difference(expected).area < 1e-12
        assert box.buffer(1e-9).contains(row.geometry)
    # B is cut: 10.8 to 10.6 + 25 km (about 0.227 degrees)
    b = written.set_index("pa_id").loc["2"]
    assert b.geometry.bounds[2] == pytest.approx(box.bounds[2], abs=1e-9)
    assert box.bounds[2] == pytest.approx(10.8273, abs=1e-4)
    # the columns that explain a site's class, not the whole WDPA record
    assert list(written.columns) == [
        "pa_id",
        "name",
        "designation",
        "designation_type",
        "iucn_category",
        "status",
        "status_year",
        "iso3",
        "world_heritage",
        "ramsar",
        "origin",
        "geometry",
    ]
    assert written.set_index("pa_id")["ramsar"].to_dict() == {"1": False, "2": True, "4": False}
    eco = gpd.read_file(out, layer="ecoregions")
    assert eco[["eco_id", "is_g200"]].values.tolist() == [[1, True], [2, False]]
    assert set(eco.columns) == {
        "eco_id",
        "eco_name",
        "biome_name",
        "is_g200",
        "g200_region",
        "geometry",
    }
    land = gpd.read_file(out, layer="priority_landscapes")
    assert land["landscape_name"].tolist() == ["L1"]
    # every layer read has its own default style, each a QGIS rule-based renderer
    with sqlite3.connect(out) as con:
        rows = dict(
            con.execute(
                "SELECT f_table_name, styleQML FROM layer_styles WHERE f_table_name IN "
                "('protected_areas', 'ecoregions', 'priority_landscapes')"
            ).fetchall()
        )
        sld = con.execute("SELECT styleSLD FROM layer_styles").fetchall()
    assert set(rows) == {"protected_areas", "ecoregions", "priority_landscapes"}
    for qml in rows.values():
        renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
        assert renderer.get("type") == "RuleRenderer"
    for (text,) in sld:
        ET.fromstring(text)
    pa_rules = ET.fromstring(rows["protected_areas"].split("\n", 1)[1]).findall(".//rule")
    assert [r.get("filter") for r in pa_rules] == ["\"designation_type\" = 'International'", "ELSE"]
    # run_info counts the layers written
    info = gpd.read_file(out, layer="run_info")
    layer_rows = info[info["section"] == "layer"].set_index("key")["value"]
    assert layer_rows["protected_areas"] == "3" and layer_rows["priority_landscapes"] == "1"


def test_analysis_extent_holds_every_sites_nearest_protected_area(tmp_path):
    from pyproj import Geod

    from asm_pace.pipeline import write_outputs

    paths = _world(tmp_path / "in")
    result = _run_world(paths)  # no buffers: the margin comes from the nearest distances
    sites = result.sites.set_index("site_id")
    # S2's nearest is B, 0.2 degrees east along the equator
    _, _, metres = Geod(ellps="WGS84").inv(10.6, 0.0, 10.8, 0.0)
    assert sites.loc["S2", "nearest_pa_id"] == "2"
    assert sites.loc["S2", "nearest_pa_km"] == pytest.approx(metres / 1000, rel=1e-6)
    out = write_outputs(result, tmp_path / "out.gpkg")
    written = gpd.read_file(out, layer="protected_areas")
    assert set(sites["nearest_pa_id"]) <= set(written["pa_id"])
    assert "3" not in set(written["pa_id"])
    box = _hand_box(10.0, 0.0, 10.6, 0.0, metres / 1000)
    assert box.buffer(1e-9).contains(written.union_all())


def test_a_layer_read_with_nothing_in_the_extent_is_not_written(tmp_path):
    import pyogrio

    from asm_pace.pipeline import write_outputs

    paths = _world(tmp_path / "in")
    far = gpd.GeoDataFrame(
        {"landscape_name": ["L2"]}, geometry=[shapely.box(30, 5, 31, 6)], crs="EPSG:4326"
    )
    far.to_file(paths["landscapes"], driver="GPKG")  # replaces L1 and L2
    result = _run_world(paths)
    assert result.counts["priority_landscapes"]["used"] == 1
    out = write_outputs(result, tmp_path / "out.gpkg")
    layers = set(pyogrio.list_layers(out)[:, 0])
    assert "priority_landscapes" not in layers and "protected_areas" in layers


def test_qgis_project_refusals(tmp_path):
    from asm_pace.output import write_qgis_project

    sites = _sites()
    gpkg = write_geopackage(tmp_path / "out.gpkg", {"sites": sites})
    other = tmp_path / "other"
    other.mkdir()
    # the layers are read by a path relative to the project: it must be beside the GeoPackage
    with pytest.raises(OutputError, match=r"other/out\.qgz: the QGIS project reads out\.gpkg"):
        write_qgis_project(other / "out.qgz", gpkg, {"sites": sites})
    with pytest.raises(OutputError, match=r"must end in \.qgz; e\.g\. out\.qgz"):
        write_qgis_project(tmp_path / "out.qgs", gpkg, {"sites": sites})
    project = write_qgis_project(tmp_path / "out.qgz", gpkg, {"sites": sites})
    with pytest.raises(OutputExistsError, match="already exists"):
        write_qgis_project(project, gpkg, {"sites": sites})
    table = pd.DataFrame({"a": [1]})
    with pytest.raises(InputError, match="at least one layer with geometries"):
        write_qgis_project(project, gpkg, {"t": table}, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "out.gpkg", "out.qgz"]
    assert list(other.iterdir()) == []


def test_sites_with_a_location_uncertainty_get_the_certainty_style(tmp_path):
    """pa_certainty in the sites layer: its style marks the 'possible' sites (a rule of their own)."""
    import warnings

    import asm_pace
    from asm_pace.datasets import sample_path
    from asm_pace.output import write_geopackage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asm_pace.errors.AsmPaceWarning)
        sites = asm_pace.read_sites(sample_path("sites.csv"))
        pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
        eco = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
        plain = asm_pace.classify(sites, pas, eco)
        uncertain = asm_pace.classify(sites, pas, eco, uncertainty_m=500)
    styles = {}
    for name, frame in (("plain", plain), ("uncertain", uncertain)):
        path = write_geopackage(tmp_path / f"{name}.gpkg", {"sites": frame})
        with sqlite3.connect(path) as con:
            styles[name] = con.execute("SELECT styleQML FROM layer_styles").fetchone()[0]
    assert "possible" in styles["uncertain"] and "pa_certainty" in styles["uncertain"]
    assert "pa_certainty" not in styles["plain"]


_POLYGON = st.tuples(
    st.floats(-179, 179), st.floats(-89, 89), st.floats(0.001, 1), st.floats(0.001, 1)
).map(lambda t: shapely.box(t[0], t[1], t[0] + t[2], t[1] + t[3]))
_SINGLE = st.one_of(
    _POLYGON,
    _POLYGON.map(lambda p: p.exterior),  # a LinearRing: written as a line
    _POLYGON.map(lambda p: shapely.LineString(p.exterior.coords[:3])),
    _POLYGON.map(lambda p: p.centroid),
    _POLYGON.map(lambda p: shapely.force_3d(p.centroid, 5.0)),
    _POLYGON.map(lambda p: shapely.force_3d(p, 2.0)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_SINGLE, st.lists(_POLYGON, min_size=1, max_size=3).map(
    shapely.MultiPolygon), st.none()), min_size=1, max_size=8), st.sampled_from(["little", "big"]))  # fmt: skip
def test_wkb_made_multi_on_the_bytes_is_shapelys_multi(geoms, order):
    """WkbPart.multi_wkb: each single part's WKB made a multi-part of one on the bytes is
    the WKB shapely writes for that multi-part (both byte orders, 2D and 3D); multi-parts
    and missing geometries are left as they are."""
    from asm_pace.output import WkbPart

    geoms = np.array(geoms, dtype=object)
    byte_order = 1 if order == "little" else 0
    wkb = shapely.to_wkb(geoms, byte_order=byte_order)
    part = WkbPart(pd.DataFrame(index=range(len(geoms))), wkb, "geometry", None,
                   shapely.get_type_id(geoms), shapely.bounds(geoms))  # fmt: skip
    made = {0: shapely.multipoints, 1: shapely.multilinestrings, 2: shapely.multilinestrings,
            3: shapely.multipolygons}  # fmt: skip
    expected = [
        None
        if g is None
        else shapely.to_wkb(made[t]([g]), byte_order=byte_order)
        if t in made and t != 2
        else shapely.to_wkb(g, byte_order=byte_order)
        for g, t in zip(geoms, shapely.get_type_id(geoms), strict=True)
    ]
    assert part.multi_wkb().tolist() == expected
    assert part.wkb.tolist() == list(wkb)  # not changed in place
