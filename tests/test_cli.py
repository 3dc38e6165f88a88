"""The ``asm-pace`` command end to end: exit codes, messages, outputs, no partial files."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner

import asm_pace
from asm_pace.cli import cli
from asm_pace.pipeline import planned_steps

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
CLASSES = ["protected_area", "priority_landscape", "critical_ecosystem", "not_eligible"]


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _sample_rows() -> int:
    with open(SAMPLES / "sites.csv", newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _classify_args(out: Path, *extra: str) -> list[str]:
    return [
        "classify",
        str(SAMPLES / "sites.csv"),
        "--protected-areas",
        str(SAMPLES / "protected_areas.gpkg"),
        "--ecoregions",
        str(SAMPLES / "ecoregions.gpkg"),
        "--priority-landscapes",
        str(SAMPLES / "priority_landscapes.gpkg"),
        "--output",
        str(out),
        *extra,
    ]


@pytest.fixture
def bad_sites(tmp_path) -> Path:
    path = tmp_path / "bad_sites.csv"
    path.write_text(
        "site_id,latitude,longitude\nA,-12.5,-70.1\nB,-95.0,-70.2\nA,-12.6,-70.3\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- help, version
@pytest.mark.parametrize("command", ["classify", "demo", "validate"])
def test_help_has_examples(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert f"asm-pace {command}" in result.output


def test_top_level_help_and_version():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("classify", "demo", "validate"):
        assert command in result.output
    version = run("--version")
    assert version.exit_code == 0
    assert asm_pace.__version__ in version.output


# --------------------------------------------------------------------------- validate
def test_validate_clean_list():
    result = run("validate", SAMPLES / "sites.csv")
    assert result.exit_code == 0, result.output
    assert f"{_sample_rows()} site(s), no problems" in result.stdout


def test_validate_reports_every_problem(bad_sites):
    result = run("validate", bad_sites)
    assert result.exit_code == 2
    err = result.stderr
    assert "bad_sites.csv" in err
    assert "line 3" in err and "latitude" in err  # -95 out of range, on line 3
    assert "line 4" in err and "'A'" in err  # duplicate id, on line 4
    assert "Traceback" not in result.output


def test_validate_missing_file_is_usage_error(tmp_path):
    result = run("validate", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "does not exist" in result.output


# --------------------------------------------------------------------------- classify failures
def test_existing_output_untouched_without_overwrite(tmp_path):
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"an earlier run")
    result = run(*_classify_args(out))
    assert result.exit_code == 2
    assert "out.gpkg" in result.stderr and "--overwrite" in result.stderr
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


def test_existing_csv_refused_before_any_work(tmp_path):
    out, table = tmp_path / "out.gpkg", tmp_path / "out.csv"
    table.write_text("keep me")
    result = run(*_classify_args(out, "--csv", str(table)))
    assert result.exit_code == 2
    assert "out.csv" in result.stderr
    assert not out.exists() and table.read_text() == "keep me"


def test_bad_site_file_leaves_no_output(tmp_path, bad_sites):
    out = tmp_path / "out.gpkg"
    args = _classify_args(out)
    args[1] = str(bad_sites)
    result = run(*args)
    assert result.exit_code == 2
    assert "bad_sites.csv" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad_sites.csv"]


def test_debug_shows_the_traceback(tmp_path, bad_sites):
    args = _classify_args(tmp_path / "out.gpkg", "--debug")
    args[1] = str(bad_sites)
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "SiteValidationError" in result.stderr


def test_corrupt_protected_areas_leave_no_output(tmp_path):
    broken = tmp_path / "wdpa.gpkg"
    broken.write_bytes(b"this is not a GeoPackage" * 100)
    out = tmp_path / "out.gpkg"
    args = _classify_args(out)
    args[args.index("--protected-areas") + 1] = str(broken)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "wdpa.gpkg" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wdpa.gpkg"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--buffers", "1,ten"], "--buffers"),
        (["--buffers", "0"], "above 0"),
        (["--canopy", "150"], "--canopy"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, extra, message):
    result = run(*_classify_args(tmp_path / "out.gpkg", *extra))
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_forest_rasters_go_together(tmp_path):
    args = _classify_args(
        tmp_path / "out.gpkg", "--buffers", "1", "--treecover", str(SAMPLES / "treecover2000.tif")
    )
    result = run(*args)
    assert result.exit_code == 2
    assert "--lossyear" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- classify success
def test_verbose_lists_the_steps_the_run_goes_through(tmp_path):
    # no priority landscapes, buffers but no rasters: those steps are neither run nor listed
    args = [a for a in _classify_args(tmp_path / "out.gpkg") if "priority" not in a]
    args = [*args, "--buffers", "5", "-v"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    started = [ln[2:-4] for ln in result.stderr.splitlines() if ln.startswith("- ")]
    assert started == [
        "read sites",
        "read protected areas",
        "read ecoregions",
        "classify",
        "buffers",
        "overlaps",
        "write",
    ]
    timed = [ln.split(":")[0].strip() for ln in result.stderr.splitlines() if ln.endswith(" s")]
    assert timed == started
    # the progress bar's length comes from planned_steps: it must match the steps run
    planned = planned_steps(priority_landscapes=False, buffers=True, forest=False)
    assert planned == started[:-1]


def test_classify_end_to_end(tmp_path):
    out, table = tmp_path / "out.gpkg", tmp_path / "sites.csv"
    result = run(*_classify_args(out, "--csv", str(table)))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg", "sites.csv"]
    layers = list(pyogrio.list_layers(out)[:, 0])
    # the sites first (QGIS's default layer), then the layers read, clipped to the sites' area
    assert layers == [
        "sites",
        "protected_areas",
        "ecoregions",
        "priority_landscapes",
        "run_info",
        "layer_styles",
    ]
    sites = pyogrio.read_dataframe(out, layer="sites")
    assert len(sites) == _sample_rows()
    assert set(sites["pace_class"]) <= set(CLASSES)
    # the printed summary gives the counts that are in the file
    counts = sites["pace_class"].value_counts()
    for label, key in [("Protected area", "protected_area"), ("Not eligible", "not_eligible")]:
        line = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith(label))
        assert int(line.split()[-3]) == int(counts.get(key, 0))
    assert str(out) in result.stdout
    # provenance: the site file's hash, recomputed here
    info = pyogrio.read_dataframe(out, layer="run_info")
    row = info[(info["section"] == "input") & (info["key"] == "sites")].iloc[0]
    assert row["sha256"] == hashlib.sha256((SAMPLES / "sites.csv").read_bytes()).hexdigest()
    assert row["file_name"] == "sites.csv"
    command = info[(info["section"] == "parameter") & (info["key"] == "command")]["value"]
    assert command.iloc[0].startswith("asm-pace ")
    # CSV: one row per site, same ids
    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["site_id"] for r in rows] == sites["site_id"].tolist()
    with sqlite3.connect(out) as con:
        default = con.execute(
            "SELECT useAsDefault FROM layer_styles WHERE f_table_name = 'sites'"
        ).fetchone()
    assert default == (1,)


def test_classify_overwrite_replaces(tmp_path):
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"old")
    result = run(*_classify_args(out, "--overwrite", "-q"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert len(pyogrio.read_dataframe(out, layer="sites")) == _sample_rows()


def test_classify_with_buffers(tmp_path):
    out = tmp_path / "out.gpkg"
    result = run(*_classify_args(out, "--buffers", "1,10", "--rings"))
    assert result.exit_code == 0, result.output
    layers = list(pyogrio.list_layers(out)[:, 0])
    # GDAL lists the feature layers first (written in order), then the tables
    assert layers[:7] == [
        "sites",
        "buffers",
        "clusters",
        "protected_areas",
        "ecoregions",
        "priority_landscapes",
        "overlaps",
    ]
    zones = pyogrio.read_dataframe(out, layer="buffers")
    assert len(zones) == 2 * _sample_rows()
    assert sorted(set(zones["radius_km"])) == [1.0, 10.0]
    with sqlite3.connect(out) as con:
        styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    assert styled == {
        "sites",
        "buffers",
        "clusters",
        "protected_areas",
        "ecoregions",
        "priority_landscapes",
    }


# --------------------------------------------------------------------------- demo
def test_demo(tmp_path):
    out = tmp_path / "demo.gpkg"
    result = run("demo", "--output", out)
    assert result.exit_code == 0, result.output
    layers = list(pyogrio.list_layers(out)[:, 0])
    assert layers == [
        "sites",
        "buffers",
        "clusters",
        "downstream",
        "protected_areas",
        "ecoregions",
        "priority_landscapes",
        "kbas",
        "overlaps",
        "forest_loss",
        "downstream_areas",
        "run_info",
        "layer_styles",
    ]
    # the demo shows every input the samples have: KBAs, rivers, the drivers raster
    sites = pyogrio.read_dataframe(out, layer="sites")
    assert {"kba_ids", "aze", "downstream_status", "downstream_first_pa_km"} <= set(sites.columns)
    assert sites["aze"].any() and sites["downstream_status"].nunique() > 1
    zones = pyogrio.read_dataframe(out, layer="buffers")
    assert {"forest_2000_ha", "loss_total_ha"} <= set(zones.columns)
    drivers = [c for c in zones.columns if c.startswith("loss_driver_")]
    assert len(drivers) == 8  # seven classes and unknown: together, the loss
    covered = zones["loss_total_ha"].notna()  # zones wholly off the rasters have NaN
    split = zones.loc[covered, drivers].sum(axis=1)
    assert np.allclose(split, zones.loc[covered, "loss_total_ha"], rtol=1e-9, atol=1e-6)
    loss = pyogrio.read_dataframe(out, layer="forest_loss")
    assert {"zone_id", "year", "loss_ha"} <= set(loss.columns)
    # the long table holds the same totals as the wide columns
    assert loss["loss_ha"].sum() == pytest.approx(zones["loss_total_ha"].sum(), rel=1e-9)
    # clusters count each hectare once: their 1 km total equals the loss inside the union of
    # all 1 km buffers, measured here as one zone; the per-site buffers count overlaps twice
    clusters = pyogrio.read_dataframe(out, layer="clusters")
    one_km = zones[zones["radius_km"] == 1.0]
    union = gpd.GeoDataFrame(geometry=[one_km.union_all()], crs=zones.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asm_pace.errors.CoverageWarning)
        whole = asm_pace.forest_loss(
            union,
            treecover=SAMPLES / "treecover2000.tif",
            lossyear=SAMPLES / "lossyear.tif",
        )
    in_clusters = clusters.loc[clusters["radius_km"] == 1.0, "loss_total_ha"].sum()
    assert in_clusters == pytest.approx(whole["loss_total_ha"].iloc[0], rel=1e-6)
    assert in_clusters < one_km["loss_total_ha"].sum()
    assert "Classified" in result.stdout and str(out) in result.stdout


def _script() -> str:
    found = Path(sys.executable).with_name("asm-pace")
    if found.exists():
        return str(found)
    which = shutil.which("asm-pace")
    if which is None:
        pytest.fail("the asm-pace script is not installed (pip install -e .)")
    return which


def test_installed_script_subprocess(tmp_path):
    out = tmp_path / "demo.gpkg"
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    first = subprocess.run(
        [_script(), "demo", "--output", str(out), "--no-forest", "--buffers", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    assert "Classified" in first.stdout
    before = out.read_bytes()
    second = subprocess.run(
        [_script(), "demo", "--output", str(out), "--no-forest"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert second.returncode == 2
    assert "already exists" in second.stderr and "--overwrite" in second.stderr
    assert "Traceback" not in second.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.gpkg"]


@pytest.mark.realdata
def test_classify_real_wdpa_teow_and_hansen(tmp_path, realdata):
    """Sierra de Neiba NP (WDPA 478140), the TEOW clip and a real Hansen GFC clip."""
    import geopandas as gpd
    import shapely

    folder = realdata / "mapme_dom_sierra_neiba"
    pa_file = folder / "sierra_de_neiba_478140.gpkg"
    eco_file = folder / "wwf_terr_ecos_clip_sierra_neiba.gpkg"
    treecover = folder / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"
    lossyear = folder / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"
    points = {"IN1": (-71.72, 18.66), "IN2": (-71.70, 18.65), "OUT": (-71.34, 18.585)}
    sites = tmp_path / "neiba_sites.csv"
    sites.write_text(
        "site_id,lon,lat\n" + "".join(f"{k},{x},{y}\n" for k, (x, y) in points.items()),
        encoding="utf-8",
    )
    # expected classes, worked out here with plain shapely predicates on the raw layers
    park = gpd.read_file(pa_file).geometry.union_all()
    eco = gpd.read_file(eco_file)
    g200 = eco[eco["G200_NUM"].fillna(0) > 0].geometry.union_all()
    expected = {}
    for key, (x, y) in points.items():
        p = shapely.Point(x, y)
        expected[key] = (
            "protected_area"
            if park.intersects(p)
            else "critical_ecosystem"
            if g200.intersects(p)
            else "not_eligible"
        )
    assert expected["IN1"] == "protected_area"

    out = tmp_path / "neiba.gpkg"
    result = run(
        "classify",
        sites,
        "-p",
        pa_file,
        "-e",
        eco_file,
        "--buffers",
        "1",
        "--treecover",
        treecover,
        "--lossyear",
        lossyear,
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    got = pyogrio.read_dataframe(out, layer="sites").set_index("site_id")["pace_class"]
    assert got.to_dict() == expected
    zones = pyogrio.read_dataframe(out, layer="buffers").set_index("zone_id")
    loss = pyogrio.read_dataframe(out, layer="forest_loss")
    per_zone = loss.groupby("zone_id")["loss_ha"].sum(min_count=1)
    assert sorted(per_zone.index) == sorted(zones.index)
    for zone_id, total in per_zone.items():
        # a zone wholly off the rasters has no numbers (NaN) in both places
        assert total == pytest.approx(
            zones.loc[zone_id, "loss_total_ha"], rel=1e-9, abs=1e-9, nan_ok=True
        )
    assert sorted(set(loss["year"])) == list(range(2001, 2024))
    assert zones.loc["IN1_1km", "forest_2000_ha"] > 0
    info = pyogrio.read_dataframe(out, layer="run_info")
    inputs = info[info["section"] == "input"]  # "protected_areas" is also a layer's key
    hashes = dict(zip(inputs["key"], inputs["sha256"], strict=True))
    for key, path in [
        ("treecover", treecover),
        ("lossyear", lossyear),
        ("protected_areas", pa_file),
    ]:
        assert hashes[key] == hashlib.sha256(path.read_bytes()).hexdigest()
    params = info[info["section"] == "parameter"].set_index("key")["value"]
    assert params["forest_pa_coverage"] == "center"  # the rule the in_pa split was made with


def test_new_ids_reads_a_list_with_repeated_ids(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("site_id,latitude,longitude\nA,-12.5,-70.1\nA,-12.6,-70.3\n", encoding="utf-8")
    refused = run("validate", path)
    assert refused.exit_code == 2
    assert "--new-ids" in refused.output
    assert run("validate", path, "--new-ids").exit_code == 0
    both = run("validate", path, "--new-ids", "--id-column", "site_id")
    assert both.exit_code == 2
    assert "exclude each other" in both.output


# --------------------------------------------------------------------------- QGIS project
def _tiny(tmp_path):
    from corpus import tiny_inputs

    return tiny_inputs(tmp_path / "in")


def test_qgis_project_beside_the_geopackage(tmp_path):
    import xml.etree.ElementTree as ET
    import zipfile

    from corpus import classify_args

    out = tmp_path / "run.gpkg"
    result = run(*classify_args(_tiny(tmp_path), out, "--buffers", "1,10", "--qgis-project"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "run.gpkg", "run.qgz"]
    assert f"Wrote {tmp_path / 'run.qgz'}" in result.stdout
    with zipfile.ZipFile(tmp_path / "run.qgz") as archive:
        assert archive.namelist() == ["run.qgs"]
        root = ET.fromstring(archive.read("run.qgs").decode("utf-8").split("\n", 1)[1])
    # every layer of the GeoPackage but asm_pace's own tables, sites on top, read by a
    # path relative to the project
    tree = [e.get("name") for e in root.iter("layer-tree-layer")]
    assert tree == [
        "sites",
        "buffers",
        "clusters",
        "protected_areas",
        "ecoregions",
        "overlaps",
    ]
    assert set(tree) == set(pyogrio.list_layers(out)[:, 0]) - {"run_info", "layer_styles"}
    sources = [e.text for e in root.iter("datasource")]
    assert sources == [f"./run.gpkg|layername={name}" for name in tree]
    renderers = {
        m.find("layername").text: m.find("renderer-v2").get("type")
        for m in root.iter("maplayer")
        if m.find("renderer-v2") is not None
    }
    assert renderers == {
        "sites": "categorizedSymbol",
        "buffers": "categorizedSymbol",
        "clusters": "categorizedSymbol",
        "protected_areas": "RuleRenderer",
        "ecoregions": "RuleRenderer",
    }
    # the project opens at the three sites (lon -71.5 to -69, lat -12) with a margin
    view = root.find("ProjectViewSettings/DefaultViewExtent")
    west, south, east, north = (float(view.get(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
    assert west < -71.5 and east > -69 and south < -12 < north
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:4326"


def test_existing_qgis_project_refused_before_any_work(tmp_path):
    from corpus import classify_args

    out = tmp_path / "run.gpkg"
    (tmp_path / "run.qgz").write_bytes(b"old project")
    result = run(*classify_args(_tiny(tmp_path), out, "--qgis-project"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'run.qgz'} (--qgis-project) already exists; choose another "
        "name, or pass --overwrite to replace it"
    )
    assert not out.exists() and (tmp_path / "run.qgz").read_bytes() == b"old project"
    result = run(*classify_args(_tiny(tmp_path), out, "--qgis-project", "--overwrite", "-q"))
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "run.qgz").read_bytes()[:2] == b"PK"


def test_qgis_project_of_a_geopackage_named_with_a_bar_refused(tmp_path):
    from corpus import classify_args

    out = tmp_path / "a|b.gpkg"
    result = run(*classify_args(_tiny(tmp_path), out, "--qgis-project"))
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith(f"Error: {out} (-o/--output): QGIS cannot read layers")
    assert "'|'" in message and "--qgis-project" in message and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_pa_source_name_labels_the_reasons(tmp_path):
    from corpus import classify_args

    out = tmp_path / "run.gpkg"
    paths = _tiny(tmp_path)
    result = run(*classify_args(paths, out, "--pa-source-name", "SINANPE 2024"))
    assert result.exit_code == 0, result.output
    sites = pyogrio.read_dataframe(out, layer="sites").set_index("site_id")
    assert "SINANPE 2024 900001" in sites.loc["S1", "reason"]
    assert "WDPA" not in " ".join(sites["reason"])
    info = pyogrio.read_dataframe(out, layer="run_info")
    params = info[info["section"] == "parameter"].set_index("key")["value"]
    assert params["protected_areas_source_label"] == "SINANPE 2024"
    result = run(*classify_args(paths, tmp_path / "x.gpkg", "--pa-source-name", " "))
    assert result.exit_code == 2 and "--pa-source-name" in result.output


@pytest.mark.parametrize(
    ("option", "classes"),
    [
        ([], ["protected_area", "protected_area", "not_eligible"]),
        (["--keep-biosphere-reserves"], ["protected_area", "protected_area", "protected_area"]),
    ],
)
def test_keep_biosphere_reserves_keeps_the_international_one(tmp_path, option, classes):
    """Three sites, hand-worked: S3 lies only in an International (UNESCO-MAB) reserve."""
    from corpus.attributes import biosphere_reserves
    from corpus.emptiness import world

    args = world(tmp_path, *option, pa=biosphere_reserves)
    result = run(*args)
    assert result.exit_code == 0, result.output
    out = gpd.read_file(tmp_path / "out.gpkg", layer="sites")
    assert out["pace_class"].tolist() == classes


@pytest.mark.parametrize(
    ("values", "option", "code", "words"),
    [
        ({"PA_DEF": 0}, [], 2, "--keep-oecms"),  # the only area is an OECM: nothing left
        ({"PA_DEF": 0}, ["--keep-oecms"], 0, "1 used"),
        ({"MARINE": "2"}, [], 0, "1 used"),  # marine areas are kept by default
        ({"MARINE": "2"}, ["--exclude-marine"], 2, "--exclude-marine"),
    ],
)
def test_oecm_and_marine_options_reach_the_reader(tmp_path, values, option, code, words):
    from corpus.emptiness import with_values, world

    result = run(*world(tmp_path, *option, pa=with_values(**values)))
    assert result.exit_code == code, result.output
    assert words in result.output
