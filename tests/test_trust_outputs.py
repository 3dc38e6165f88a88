"""Outputs never destroy inputs or each other; a run's outputs are replaced together or not at all.

The destination plan (``output.plan_outputs``), the transaction that commits every output of a
run at once, SIGTERM handled like Ctrl-C, stale temporaries of killed runs, repeated options,
and the reader counts the command line prints (see also ``tests/corpus/outputs.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from asm_pace.cli import _counts_line, cli
from asm_pace.errors import InputError, MissingDependencyError, OutputError
from asm_pace.output import (
    Destination,
    clean_stale_temporaries,
    plan_outputs,
    write_csv,
    write_geopackage,
)
from asm_pace.pipeline import PipelineResult, layer_counts, write_outputs
from corpus import classify_args, tiny_inputs


def _sites(classes: bool = True) -> gpd.GeoDataFrame:
    data = {"site_id": ["S1", "S2"]}
    if classes:
        data["pace_class"] = ["protected_area", "not_eligible"]
    return gpd.GeoDataFrame(data, geometry=shapely.points([-70.0, -71.5], -12.0), crs=4326)


def _old_outputs(folder: Path) -> dict[str, bytes]:
    (folder / "out.gpkg").write_bytes(b"an earlier GeoPackage")
    (folder / "out.csv").write_bytes(b"an earlier table")
    (folder / "out.html").write_bytes(b"an earlier report")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


# --------------------------------------------------------------------------- all or nothing
def test_a_failing_report_leaves_the_old_geopackage_and_csv(tmp_path):
    # a real failure in the last step: the report refuses sites without pace_class, after
    # the GeoPackage and the CSV (which accept them) are written to their temporaries
    before = _old_outputs(tmp_path)
    result = PipelineResult(layers={"sites": _sites(classes=False)})
    out = tmp_path / "out.gpkg"
    with pytest.raises(InputError, match="pace_class"):
        write_outputs(
            result, out, csv=tmp_path / "out.csv", report=tmp_path / "out.html", overwrite=True
        )
    assert _state(tmp_path) == before  # old files untouched, no temporary left


def test_interrupt_inside_the_transaction_removes_every_temporary(tmp_path):
    before = _old_outputs(tmp_path)
    dests = [Destination(tmp_path / n, k) for n, k in (("out.csv", "csv"), ("out.html", "html"))]
    plan = plan_outputs(dests, overwrite=True)
    with pytest.raises(KeyboardInterrupt), plan.transaction() as temps:
        for temp in temps.values():
            temp.write_text("new")
        raise KeyboardInterrupt
    assert not plan.committed
    assert _state(tmp_path) == before


def test_library_writers_refuse_their_inputs_and_wrong_endings(tmp_path):
    source = tmp_path / "sites.gpkg"
    _sites().to_file(source, driver="GPKG")
    before = source.read_bytes()
    with pytest.raises(OutputError, match=r"sites\.gpkg is an input of this run \(sites\)"):
        write_geopackage(source, {"sites": _sites()}, overwrite=True, inputs={"sites": source})
    with pytest.raises(OutputError, match=r"must end in \.csv"):
        write_csv(tmp_path / "sites.gpkg", _sites(), overwrite=True)
    assert source.read_bytes() == before
    # inside a run's transaction, a writer of another kind cannot take an output's place
    plan = plan_outputs([Destination(tmp_path / "out.gpkg", "gpkg")])
    with pytest.raises(OutputError, match="planned as a GeoPackage"), plan.transaction():
        write_csv(tmp_path / "out.gpkg", _sites())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sites.gpkg"]


# --------------------------------------------------------------------------- stale temporaries
def test_stale_temporaries_removed_live_ones_kept(tmp_path):
    alive = os.getppid()  # the process that started pytest: alive while this test runs
    names = {
        "dead": ".out.gpkg.999999999-0123abcd.tmp.gpkg",
        "dead_journal": ".out.gpkg.999999999-0123abcd.tmp.gpkg-journal",
        "live_fresh": f".out.csv.{alive}-89abcdef.tmp.csv",
        "live_old": f".r.html.{alive}-00112233.tmp.html",
        "no_pid_fresh": ".out.gpkg.deadbeef.tmp.gpkg",
        "no_pid_old": ".old.gpkg.cafebabe.tmp.gpkg",
        "user_file": ".out.gpkg.backup",
        "user_tmp": "notes.tmp.gpkg",
    }
    for name in names.values():
        (tmp_path / name).write_text("x")
    two_hours_ago = time.time() - 7200
    for key in ("live_old", "no_pid_old"):
        os.utime(tmp_path / names[key], (two_hours_ago, two_hours_ago))
    removed = clean_stale_temporaries(tmp_path)
    expected = {names[k] for k in ("dead", "dead_journal", "live_old", "no_pid_old")}
    assert {p.name for p in removed} == expected
    assert {p.name for p in tmp_path.iterdir()} == set(names.values()) - expected


def test_sigterm_during_the_write_leaves_nothing(tmp_path):
    """SIGTERM to a real ``asm-pace`` process while it writes: exit 143, no output, no temporary."""
    paths = tiny_inputs(tmp_path)
    rng = np.random.default_rng(0)
    n = 3000  # enough sites that writing them takes a while
    lon, lat = rng.uniform(-72, -68, n), rng.uniform(-13, -11, n)
    with open(paths["sites"], "w", encoding="utf-8") as fh:
        fh.write("site_id,latitude,longitude\n")
        fh.writelines(
            f"S{i},{a:.5f},{o:.5f}\n" for i, (a, o) in enumerate(zip(lat, lon, strict=True))
        )
    before = _state(tmp_path)
    args = classify_args(paths, tmp_path / "out.gpkg", "--csv", str(tmp_path / "out.csv"))
    code = "from asm_pace.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 60
    while not any(".tmp." in p.name for p in tmp_path.iterdir()):
        assert proc.poll() is None, f"the run ended before writing: {proc.communicate()}"
        assert time.monotonic() < deadline, "no temporary file seen"
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Interrupted (SIGTERM); nothing was written." in err
    assert _state(tmp_path) == before


# --------------------------------------------------------------------------- command line
def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--ecoregions", "eco.gpkg"),
        ("-l", "eco.gpkg"),
        ("--treecover", "eco.gpkg"),
        ("-o", "b.gpkg"),
        ("--csv", "b.csv"),
        ("--sites-layer", "x"),
        ("--canopy", "20"),
    ],
)
def test_repeated_single_value_options_refused(tmp_path, option, value):
    paths = tiny_inputs(tmp_path)
    args = classify_args(paths, tmp_path / "a.gpkg", "-l", str(paths["ecoregions"]))
    args += ["--csv", str(tmp_path / "a.csv"), "--sites-layer", "y", "--canopy", "10"]
    args += ["--treecover", str(paths["ecoregions"])]
    result = _run(*args, option, tmp_path / value if "." in value else value)
    assert result.exit_code == 2
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("Error:"))
    assert "2 times" in line and "once" in line
    assert option in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eco.gpkg", "pas.gpkg", "sites.csv"]


def test_report_without_matplotlib_is_refused_before_any_work(tmp_path, monkeypatch):
    paths = tiny_inputs(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    args = classify_args(paths, tmp_path / "out.gpkg", "--report", tmp_path / "r.html")
    result = _run(*args)
    assert result.exit_code == 2
    assert 'pip install "asm-pace[plot]"' in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eco.gpkg", "pas.gpkg", "sites.csv"]
    with pytest.raises(MissingDependencyError):
        write_outputs(
            PipelineResult(layers={"sites": _sites()}), tmp_path / "o.gpkg", report="r.html"
        )


def test_counts_line_by_hand():
    counts = {
        "source": "/data/wdpa.gpkg",
        "read": 1204,
        "removed": {"countries": 1000, "statuses": 100, "exclude_mab": 0},
        "repaired": 3,
        "used": 104,
    }
    assert _counts_line("protected_areas", counts) == (
        "protected areas (wdpa.gpkg): 1,204 read, 1,100 removed "
        "(countries 1,000; statuses 100), 3 repaired, 104 used"
    )
    # steps that do not add up are shown, not hidden
    short = {**counts, "used": 100}
    assert "1,100 removed (countries 1,000; statuses 100), 4 not accounted for, 3 repaired" in (
        _counts_line("protected_areas", short)
    )
    # a reader that sets no counts: only what the layer itself tells
    frame = _sites()
    frame.attrs = {"source": "s.gpkg"}
    assert _counts_line("sites", layer_counts(frame)) == "sites (s.gpkg): 2 used"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--landscapes-layer", "x"], ["--landscapes-layer", "-l/--priority-landscapes"]),
        (["--rings"], ["--rings", "--buffers"]),
        (["--canopy", "50"], ["--canopy", "--treecover"]),
        (["--countries", ",,"], ["--countries", "names nothing"]),
        (["--buffers", "nan"], ["nan", "finite", "--buffers"]),
        (["--buffers", "1e400"], ["inf", "finite", "--buffers"]),
        (["--buffers", "1e-300"], ["[1e-300]", "below 0.001 km", "--buffers"]),
        (["--buffers", "1,20000"], ["sites.csv", "20000 km", "site 'S1'", "pole", "--buffers"]),
    ],
)
def test_options_that_would_be_ignored_or_meaningless_are_refused(tmp_path, extra, words):
    paths = tiny_inputs(tmp_path)
    result = _run(*classify_args(paths, tmp_path / "out.gpkg", *extra))
    assert result.exit_code == 2
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("Error:"))
    assert all(w in line for w in words), line
    assert not (tmp_path / "out.gpkg").exists()


def test_demo_never_writes_over_its_sample_files(tmp_path):
    from asm_pace.datasets import sample_path

    sample = sample_path("sites.csv")
    before = sample.read_bytes()
    result = _run("demo", "-o", tmp_path / "d.gpkg", "--csv", sample, "--overwrite")
    assert result.exit_code == 2
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("Error:"))
    assert "sites.csv (--csv) is an input of this run (SITES)" in line
    assert sample.read_bytes() == before and list(tmp_path.iterdir()) == []


def test_a_reader_gone_from_stdout_changes_nothing(tmp_path, monkeypatch):
    """``asm-pace classify ... | head -1``: the run still writes its outputs and exits 0."""
    paths = tiny_inputs(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    stream = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main(classify_args(paths, tmp_path / "out.gpkg"), standalone_mode=False)
        assert os.path.samestat(os.fstat(write_end), os.stat(os.devnull))
    finally:
        stream.close()
    assert exit_.value.code == 0
    assert list(gpd.read_file(tmp_path / "out.gpkg", layer="sites")["pace_class"]) == [
        "protected_area",
        "critical_ecosystem",
        "not_eligible",
    ]


def test_write_geopackage_refuses_a_layer_without_crs(tmp_path):
    """Written without a CRS, a layer's geometries would be placed by guess in QGIS."""
    naive = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=shapely.points([-70.0], -12.0))
    with pytest.raises(InputError, match=r"layer 'sites' has no coordinate reference system"):
        write_geopackage(tmp_path / "out.gpkg", {"sites": naive})
    assert list(tmp_path.iterdir()) == []


def test_a_refusal_with_stderr_closed_still_exits_2(tmp_path, monkeypatch):
    """``asm-pace ... 2>&-``: Python's sys.stderr is None; the refusal keeps its status."""
    paths = tiny_inputs(tmp_path)
    paths["protected_areas"] = paths["ecoregions"]
    monkeypatch.setattr(sys, "stderr", None)
    with pytest.raises(SystemExit) as exit_:
        cli.main(classify_args(paths, tmp_path / "out.gpkg"), standalone_mode=False)
    assert exit_.value.code == 2
    assert not (tmp_path / "out.gpkg").exists()
