"""Outputs that would destroy inputs or each other, repeated options, and the reader counts.

Every output of a run is checked before any work (``pipeline.plan_run_outputs``): the name's
ending fits its format, its folder exists, it is not an input (same path, a link to one, or
inside an input folder), not another output of the run, and not an existing file without
``--overwrite``. Options taking one value may not be repeated. Accepted runs replace every
output together, clean stale temporaries of killed runs, and print each layer's counts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import Case, classify_args, tiny_inputs

#: A temporary left by a run killed with SIGKILL (pid 999999999 cannot exist on Linux).
STALE = ".out.gpkg.999999999-0123abcd.tmp.gpkg"
LONG_NAME = "x" * 240 + ".gpkg"
CLASSES = ["protected_area", "critical_ecosystem", "not_eligible"]


def _old_geopackage(path: Path) -> None:
    """A real earlier output: one layer ``earlier`` with one row."""
    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(
        path, layer="earlier", driver="GPKG"
    )


def _classes(path: Path) -> list[str]:
    import pyogrio

    return list(pyogrio.read_dataframe(path, layer="sites")["pace_class"])


def _run_info(path: Path) -> dict[tuple[str, str], str]:
    import pyogrio

    table = pyogrio.read_dataframe(path, layer="run_info")
    return {
        (s, k): v for s, k, v in zip(table["section"], table["key"], table["value"], strict=True)
    }


def _no_temporaries(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if ".tmp" in p.name]
    assert not left, left


# --------------------------------------------------------------------------- refusals
def _pa_layer_twice(folder: Path) -> list[str]:
    args = classify_args(tiny_inputs(folder), folder / "out.gpkg")
    return [*args, "--pa-layer", "polygons", "--pa-layer", "POLYGONS"]


def _check_classes(folder: Path, text: str) -> None:
    assert _classes(folder / "out.gpkg") == CLASSES, text


def _site_columns_like_outputs(folder: Path) -> list[str]:
    """Site columns named like output ones, one in another case (GeoPackage ignores case)."""
    paths = tiny_inputs(folder)
    rows = ["site_id,latitude,longitude,Pa_Ids,PACE_CLASS,note"]
    rows += [f"{s},{y},{x},old,not_eligible,n{s}" for s, x, y in (
        ("S1", -70.0, -12.0), ("S2", -69.0, -12.0), ("S3", -71.5, -12.0))]  # fmt: skip
    paths["sites"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


def _check_output_columns_win(folder: Path, text: str) -> None:
    import pyogrio

    sites = pyogrio.read_dataframe(folder / "out.gpkg", layer="sites")
    folded = [str(c).casefold() for c in sites.columns]
    assert folded.count("pa_ids") == 1 and folded.count("pace_class") == 1, list(sites.columns)
    assert not any(c.startswith(("pa_ids_", "pace_class_")) for c in folded), folded
    assert list(sites["pa_ids"]) == ["900001", "", ""]
    assert list(sites["pace_class"]) == CLASSES
    assert list(sites["note"]) == ["nS1", "nS2", "nS3"]


def _site_name_not_utf8(folder: Path) -> list[str]:
    paths = tiny_inputs(folder)
    named = Path(os.fsdecode(os.path.join(os.fsencode(folder), b"sites\xff.csv")))
    paths["sites"] = paths["sites"].rename(named)
    return classify_args(paths, folder / "out.gpkg")


def _output_name_too_long(folder: Path) -> list[str]:
    return classify_args(tiny_inputs(folder), folder / ("o" * 300 + ".gpkg"))


def _output_is_input(folder: Path) -> list[str]:
    paths = tiny_inputs(folder)
    return classify_args(paths, paths["protected_areas"], "--overwrite")


def _hard_link_to_input(folder: Path) -> list[str]:
    paths = tiny_inputs(folder)
    os.link(paths["ecoregions"], folder / "copy.gpkg")  # the same file under another name
    return classify_args(paths, folder / "copy.gpkg", "--overwrite")


def _csv_is_sites(folder: Path) -> list[str]:
    paths = tiny_inputs(folder)
    return classify_args(paths, folder / "out.gpkg", "--csv", str(paths["sites"]), "--overwrite")


def _csv_same_as_output(folder: Path) -> list[str]:
    out = folder / "out.gpkg"
    return classify_args(tiny_inputs(folder), out, "--csv", str(out))


def _report_same_as_csv(folder: Path) -> list[str]:
    table = str(folder / "table.csv")
    args = ["--csv", table, "--report", table]
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", *args)


def _output_ends_csv(folder: Path) -> list[str]:
    return classify_args(tiny_inputs(folder), folder / "out.csv")


def _missing_folder(folder: Path) -> list[str]:
    return classify_args(tiny_inputs(folder), folder / "results" / "out.gpkg")


def _inside_input_folder(folder: Path) -> list[str]:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    paths = tiny_inputs(folder)
    tiles = folder / "tiles"
    tiles.mkdir()
    for layer, value in (("treecover2000", 80), ("lossyear", 3)):
        with rasterio.open(
            tiles / f"Hansen_GFC-2023-v1.11_{layer}_10S_080W.tif",
            "w",
            driver="GTiff",
            width=16,
            height=16,
            count=1,
            dtype="uint8",
            crs="EPSG:4326",
            transform=from_origin(-71.0, -11.5, 0.1, 0.1),
            compress="deflate",
        ) as dst:
            dst.write(np.full((1, 16, 16), value, dtype="uint8"))
    extra = ["--treecover", str(tiles), "--lossyear", str(tiles), "--buffers", "1"]
    return classify_args(paths, tiles / "out.gpkg", *extra)


def _report_linked_to_csv(folder: Path) -> list[str]:
    (folder / "table.csv").write_text("site_id\nS1\n", encoding="utf-8")
    os.symlink("table.csv", folder / "report.html")
    args = ["--csv", str(folder / "table.csv"), "--report", str(folder / "report.html")]
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", *args, "--overwrite")


def _protected_areas_twice(folder: Path) -> list[str]:
    paths = tiny_inputs(folder)
    second = folder / "pas2.gpkg"
    second.write_bytes(paths["protected_areas"].read_bytes())
    args = classify_args(paths, folder / "out.gpkg")
    return [*args, "--protected-areas", str(second)]


def _csv_folder_with_overwrite(folder: Path) -> list[str]:
    _old_geopackage(folder / "out.gpkg")
    (folder / "out.csv").mkdir()
    args = ["--csv", str(folder / "out.csv"), "--overwrite"]
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", *args)


def _output_open_elsewhere(folder: Path) -> list[str]:
    """An earlier output open in QGIS: SQLite keeps its changes in ``out.gpkg-wal``."""
    import shutil
    import sqlite3

    out = folder / "out.gpkg"
    _old_geopackage(out)
    con = sqlite3.connect(out)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE notes (text TEXT)")
    con.execute("INSERT INTO notes VALUES ('edited in QGIS')")
    con.commit()
    shutil.copy(folder / "out.gpkg-wal", folder / "wal.keep")  # the open program's journal
    con.close()  # a clean close folds the journal in and removes it: put it back
    (folder / "wal.keep").replace(folder / "out.gpkg-wal")
    return classify_args(tiny_inputs(folder), out, "--overwrite")


# --------------------------------------------------------------------------- accepted
def _overwrite_both(folder: Path) -> list[str]:
    _old_geopackage(folder / "out.gpkg")
    (folder / "out.csv").write_text("old,table\n", encoding="utf-8")
    args = ["--csv", str(folder / "out.csv"), "--overwrite"]
    # a repeated flag and a repeated multi-value option are not refused
    args += ["--overwrite", "--pa-layer", "polygons", "--pa-layer", "polygons"]
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", *args)


def _check_overwrite_both(folder: Path, text: str) -> None:
    import csv

    import pyogrio

    assert [str(n) for n in pyogrio.list_layers(folder / "out.gpkg")[:, 0]] == [
        "sites",
        "protected_areas",  # the layers read, written beside the results (issue 11)
        "ecoregions",
        "run_info",
        "layer_styles",
    ]
    assert _classes(folder / "out.gpkg") == CLASSES
    with open(folder / "out.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["site_id"], r["pace_class"]) for r in rows] == list(
        zip(["S1", "S2", "S3"], CLASSES, strict=True)
    )
    _no_temporaries(folder)


def _bow_tie_and_filtered(folder: Path) -> list[str]:
    """Four WDPA polygons: kept, Proposed, a MAB reserve, and a bow-tie far away (repaired)."""
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    paths = tiny_inputs(folder)
    base = gpd.read_file(paths["protected_areas"], layer="polygons")
    rows = base.loc[[0, 0, 0, 0]].reset_index(drop=True)
    rows["WDPAID"] = [900001, 900002, 900003, 900004]
    rows["WDPA_PID"] = rows["WDPAID"].astype(str)
    rows.loc[1, "STATUS"] = "Proposed"
    rows.loc[2, "DESIG_ENG"] = "UNESCO-MAB Biosphere Reserve"
    rows.loc[2, "DESIG_TYPE"] = "International"
    bow_tie = Polygon([(-60, -10), (-59, -9), (-59, -10), (-60, -9), (-60, -10)])
    rows = rows.set_geometry(
        [box(-70.5, -12.5, -69.5, -11.5), box(-71, -13, -70, -12), box(-69, -13, -68, -11), bow_tie]
    )
    paths["protected_areas"].unlink()
    rows.to_file(paths["protected_areas"], layer="polygons", driver="GPKG")
    return classify_args(paths, folder / "out.gpkg")


def _check_counts(folder: Path, text: str) -> None:
    # by hand: 4 read; Proposed and the MAB reserve left out; the bow-tie repaired and kept
    assert _classes(folder / "out.gpkg") == CLASSES
    stored = json.loads(_run_info(folder / "out.gpkg")[("counts", "counts_protected_areas")])
    removed = {k: v for k, v in stored["removed"].items() if v}
    assert (stored["read"], removed, stored["repaired"], stored["used"]) == (
        4,
        {"statuses": 1, "exclude_mab": 1},
        1,
        2,
    )
    sites = json.loads(_run_info(folder / "out.gpkg")[("counts", "counts_sites")])
    assert (sites["read"], sites["used"]) == (3, 3)


def _layers_named(folder: Path) -> list[str]:
    """Ecoregions and landscapes in files of two layers each; the options pick one."""
    import geopandas as gpd
    from shapely.geometry import box

    paths = tiny_inputs(folder)
    eco = gpd.read_file(paths["ecoregions"])
    two = folder / "eco_two.gpkg"
    eco.to_file(two, layer="teow", driver="GPKG")
    eco.assign(G200_NUM=0, G200_REGIO="", G200_BIOME=0).to_file(two, layer="old", driver="GPKG")
    scapes = folder / "scapes.gpkg"
    for layer, shape in (("current", box(-72, -12.5, -71, -11.5)), ("draft", box(0, 0, 1, 1))):
        gpd.GeoDataFrame({"NAME": [layer]}, geometry=[shape], crs=4326).to_file(
            scapes, layer=layer, driver="GPKG"
        )
    paths["ecoregions"] = two
    args = ["--ecoregions-layer", "teow", "-l", str(scapes), "--landscapes-layer", "current"]
    return classify_args(paths, folder / "out.gpkg", *args)


def _check_layers(folder: Path, text: str) -> None:
    # S2 lies in the Global 200 ecoregion of layer 'teow' (none in 'old'); S3 in landscape
    # 'current' (the 'draft' one is at 0, 0)
    out = folder / "out.gpkg"
    assert _classes(out) == ["protected_area", "critical_ecosystem", "priority_landscape"]
    info = _run_info(out)
    assert info[("parameter", "ecoregions_layer")] == "teow"
    assert info[("parameter", "priority_landscapes_layer")] == "current"


def _stale_temporaries(folder: Path) -> list[str]:
    (folder / STALE).write_bytes(b"half a GeoPackage")
    (folder / f"{STALE}-journal").write_bytes(b"journal")
    (folder / ".notes.tmp.txt").write_text("not asm_pace's", encoding="utf-8")
    return classify_args(tiny_inputs(folder), folder / LONG_NAME)


def _check_stale(folder: Path, text: str) -> None:
    # the killed run's temporaries are gone; the user's own dot-file is kept; a name near
    # the 255-byte limit is written (its temporary's name is cut)
    assert not (folder / STALE).exists() and not (folder / f"{STALE}-journal").exists()
    assert (folder / ".notes.tmp.txt").read_text(encoding="utf-8") == "not asm_pace's"
    assert _classes(folder / LONG_NAME) == CLASSES


CASES = [
    Case(
        "outputs/site_columns_named_like_outputs_in_another_case",
        _site_columns_like_outputs,
        exit_code=0,
        check=_check_output_columns_win,
    ),
    Case(
        "outputs/pa_layer_named_twice_is_read_once",
        _pa_layer_twice,
        exit_code=0,
        words=("protected areas (pas.gpkg): 1 read, 0 removed, 0 repaired, 1 used",),
        check=_check_classes,
    ),
    Case(
        "outputs/site_file_name_not_utf8",
        _site_name_not_utf8,
        words=("sites", "(SITES)", "not valid UTF-8", "rename the file"),
    ),
    Case(
        "outputs/output_name_too_long",
        _output_name_too_long,
        words=("ooooo.gpkg (-o/--output)", "file name too long", "choose a shorter name"),
    ),
    Case(
        "outputs/output_is_an_input_with_overwrite",
        _output_is_input,
        words=("pas.gpkg", "input", "-o/--output"),
        outputs=(),
    ),
    Case(
        "outputs/output_is_a_hard_link_to_an_input",
        _hard_link_to_input,
        words=("copy.gpkg", "input", "-e/--ecoregions", "-o/--output"),
        outputs=(),
    ),
    Case(
        "outputs/csv_is_the_sites_file",
        _csv_is_sites,
        words=("sites.csv", "input", "--csv"),
    ),
    Case(
        "outputs/csv_same_path_as_output",
        _csv_same_as_output,
        words=("out.gpkg", "--csv", ".csv"),
    ),
    Case(
        "outputs/report_same_path_as_csv",
        _report_same_as_csv,
        words=("table.csv", "--report", ".html"),
        outputs=("out.gpkg", "table.csv"),
    ),
    Case(
        "outputs/output_ends_in_csv",
        _output_ends_csv,
        words=("out.csv", "-o/--output", ".gpkg"),
        outputs=("out.csv",),
    ),
    Case(
        "outputs/output_folder_missing",
        _missing_folder,
        words=("results", "does not exist", "create"),
        outputs=("results/out.gpkg",),
    ),
    Case(
        "outputs/output_inside_raster_folder",
        _inside_input_folder,
        words=("out.gpkg", "input folder", "-o/--output"),
        outputs=("tiles/out.gpkg",),
    ),
    Case(
        "outputs/report_is_a_link_to_the_csv",
        _report_linked_to_csv,
        words=("report.html", "same file", "table.csv", "own file name"),
        outputs=("out.gpkg",),
    ),
    Case(
        "outputs/protected_areas_given_twice",
        _protected_areas_twice,
        # -p is repeatable (several sources); two WDPA files unnamed are both "WDPA"
        words=("pas.gpkg", "pas2.gpkg", "both named 'WDPA'", "-p NAME=FILE"),
    ),
    Case(
        "outputs/csv_is_a_folder_with_overwrite",
        _csv_folder_with_overwrite,
        words=("out.csv", "--csv", "is a folder", "file name"),
        outputs=(),
    ),
    Case(
        "outputs/output_open_in_another_program",
        _output_open_elsewhere,
        words=("out.gpkg", "open in another program", "out.gpkg-wal", "close it"),
        outputs=(),
    ),
    Case(
        "outputs/overwrite_replaces_both_outputs",
        _overwrite_both,
        exit_code=0,
        check=_check_overwrite_both,
        outputs=("out.gpkg", "out.csv"),
    ),
    Case(
        "outputs/counts_of_a_filtered_and_repaired_layer",
        _bow_tie_and_filtered,
        exit_code=0,
        words=(
            "sites (sites.csv): 3 read, 0 removed, 0 repaired, 3 used",
            "protected areas (pas.gpkg): 4 read, 2 removed (statuses 1; exclude mab 1), "
            "1 repaired, 2 used",
            "ecoregions (eco.gpkg): 2 read, 0 removed, 0 repaired, 2 used",
        ),
        check=_check_counts,
    ),
    Case(
        "outputs/ecoregions_and_landscapes_layers_named",
        _layers_named,
        exit_code=0,
        check=_check_layers,
    ),
    Case(
        "outputs/stale_temporaries_and_a_long_name",
        _stale_temporaries,
        exit_code=0,
        check=_check_stale,
        outputs=(LONG_NAME, STALE, f"{STALE}-journal"),
    ),
]
