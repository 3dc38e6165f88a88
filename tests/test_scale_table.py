"""benchmarks/scale_table.py: the growth exponent against hand-worked slopes, the limit that
stops a cell and its workers, and on tiny make_global.py layers every cell of the grid in the
table, with its numbers or marked."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


TABLE = _module("scale_table")


def test_growth_exponent_hand_worked():
    f = TABLE.growth_exponent
    assert f([1, 10, 100], [1, 10, 100]) == pytest.approx(1.0)
    assert f([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)  # t = 3 n^2
    assert f([1000, 10_000, 100_000], [7.0, 7.0, 7.0]) == 0.0  # a fixed cost
    # off a line, by hand: x = log10 n = 0, 1, 2 and y = log10 t = 0, 1, 3; mean x 1, mean
    # y 4/3; slope = ((-1)(-4/3) + 0 + (1)(5/3)) / ((-1)^2 + 0 + 1^2) = 3 / 2
    assert f([1, 10, 100], [1, 10, 1000]) == pytest.approx(1.5)
    assert math.isnan(f([100], [1.0]))  # one size: no slope
    assert math.isnan(f([10, 10], [1.0, 2.0]))
    assert math.isnan(f([10, 100], [0.0, 1.0]))  # no log of 0


@settings(max_examples=25, deadline=None)
@given(
    k=st.floats(-1.0, 3.0),
    c=st.floats(1e-3, 1e3),
    sizes=st.lists(st.integers(1, 10**7), min_size=2, max_size=6, unique=True),
)
def test_growth_exponent_of_a_power_law(k, c, sizes):
    times = [c * n**k for n in sizes]
    assert TABLE.growth_exponent(sizes, times) == pytest.approx(k, abs=1e-9)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie is dead
    except OSError:
        return True


def test_a_cell_past_the_limit_is_stopped_with_its_workers(tmp_path):
    worker = tmp_path / "worker.pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(worker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    t0 = time.perf_counter()
    status, message, took = TABLE.run_child([sys.executable, "-c", code], 1.0)
    assert status == "stopped" and "1 s" in message
    assert 1.0 <= took < 10 and time.perf_counter() - t0 < 10
    pid = int(worker.read_text())
    deadline = time.perf_counter() + 5
    while not _gone(pid) and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert _gone(pid), "the cell's own worker process outlived the limit"

    ok = TABLE.run_child([sys.executable, "-c", "print('noise'); print('{\"a\": 1}')"], 10)
    assert ok[:2] == ("ok", {"a": 1})
    failed = TABLE.run_child([sys.executable, "-c", "raise SystemExit('no such layer')"], 10)
    assert failed[:2] == ("failed", "no such layer")


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    """Two tiny layers (about 140 and 280 protected areas) with 60 and 120 sites."""
    mg = _module("make_global")
    root = tmp_path_factory.mktemp("scale")
    for name, scale in (("small", 0.0005), ("large", 0.001)):
        mg.write(root / name, scale=scale, site_counts=(60, 120), seed=5)
    return root


def _run(layers: Path, out: Path, monkeypatch, *extra: str) -> dict:
    # bench_forest sets these when imported (setdefault); set here, they are undone after
    for key, value in (
        ("OMP_NUM_THREADS", "1"),
        ("OPENBLAS_NUM_THREADS", "1"),
        ("GDAL_NUM_THREADS", "1"),
        ("GDAL_CACHEMAX", "256"),
    ):
        monkeypatch.setenv(key, os.environ.get(key, value))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    argv = ["--folders", f"{layers / 'large'},{layers / 'small'}", "--sites", "60,120,240"]
    argv += ["--steps", "read,classify,buffers,overlaps,forest", "--inline"]
    argv += ["--forest-size", "512", "--forest-data", str(layers / "forest")]
    argv += ["--out", str(out), "--work", str(out.parent), *extra]
    TABLE.main(argv)
    return json.loads(out.with_suffix(".json").read_text())


def _expected_cells(layers: Path) -> set[tuple]:
    """(step, way, layer, sites) of the grid: read has no sites, buffers and forest no layer."""
    small, large = str(layers / "small"), str(layers / "large")
    cells = set()
    for way in ("asm_pace", "peer"):
        cells |= {("read", way, f, 0) for f in (small, large)}
        for n in (60, 120, 240):
            cells |= {(s, way, f, n) for s in ("classify", "overlaps") for f in (small, large)}
            cells |= {(s, way, "", n) for s in ("buffers", "forest")}
    return cells


def test_every_cell_is_in_the_table(layers, tmp_path, monkeypatch, capsys):
    raw = _run(layers, tmp_path / "table.md", monkeypatch)
    cells = {(c["step"], c["way"], c["folder"], c["sites"]): c for c in raw["cells"]}
    assert set(cells) == _expected_cells(layers)
    for key, c in cells.items():
        if key[3] == 240:  # no sites_240.csv: marked, not dropped
            assert c["status"] == "no input" and c["note"] == "no sites_240.csv"
        else:
            assert c["status"] == "ok", (key, c["note"])
            best = min(c["runs"], key=lambda r: r["wall_s"])
            assert best["wall_s"] > 0 and best["peak_mb"] > 0
    # the layers are ordered by their vertices, counted in the files
    small, large = (str(layers / n) for n in ("small", "large"))
    assert 0 < raw["meta"]["vertices"][small] < raw["meta"]["vertices"][large]
    # each exponent is the slope of a straight-line fit of the raw numbers
    fits = {(e["step"], e["way"], e["with"], e["at"]): e for e in raw["exponents"]}
    for step, way, axis, at in [
        ("overlaps", "asm_pace", "sites", small),
        ("classify", "peer", "vertices", 120),
        ("buffers", "peer", "sites", ""),
    ]:
        row = [
            c
            for c in cells.values()
            if c["step"] == step and c["way"] == way and c["status"] == "ok"
            and (c["folder"] if axis == "sites" else c["sites"]) == at
        ]  # fmt: skip
        x = [c["sites"] if axis == "sites" else raw["meta"]["vertices"][c["folder"]] for c in row]
        best = [min(c["runs"], key=lambda r: r["wall_s"]) for c in row]
        for key, column in (("time", "wall_s"), ("cpu", "cpu_s"), ("memory", "peak_mb")):
            y = [b[column] for b in best]
            assert fits[(step, way, axis, at)][key] == pytest.approx(
                np.polyfit(np.log(x), np.log(y), 1)[0], abs=1e-9
            )
    # the markdown holds every step, a row per (layer, sites) and the exponents
    text = (tmp_path / "table.md").read_text()
    for step in ("read", "classify", "buffers", "overlaps", "forest"):
        assert f"\n## {step}\n" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    # classify and overlaps on 2 layers, buffers and forest on any: 6 rows
    assert sum("no input: no sites_240.csv" in line for line in rows) == 6
    assert "## Growth exponents" in text
    capsys.readouterr()


def test_cells_beyond_the_limit_are_skipped_and_marked(layers, tmp_path, monkeypatch, capsys):
    raw = _run(layers, tmp_path / "limit.md", monkeypatch, "--limit", "1e-9", "--steps", "classify")
    cells = {(c["step"], c["way"], c["folder"], c["sites"]): c for c in raw["cells"]}
    small, large = (str(layers / n) for n in ("small", "large"))
    for way in ("asm_pace", "peer"):
        # the first cell of a row runs (nothing to predict from) and goes over the limit
        assert cells[("classify", way, small, 60)]["status"] == "over"
        # the same layer with more sites, and a larger layer: skipped, and marked so
        assert cells[("classify", way, small, 120)]["status"] == "skipped"
        assert "fewer sites" in cells[("classify", way, small, 120)]["note"]
        assert cells[("classify", way, large, 60)]["status"] == "skipped"
        assert "smaller layer" in cells[("classify", way, large, 60)]["note"]
    text = (tmp_path / "limit.md").read_text()
    assert text.count("skipped: the cell with") == 6 and "(over the limit)" in text
    capsys.readouterr()


def _done(step, way, folder, sites, wall, peak=100.0):
    cell = TABLE.Cell(step, way, folder, sites, status="ok", total_s=wall)
    cell.runs = [{"wall_s": wall, "peak_mb": peak}]
    return cell


def test_a_cell_predicted_past_the_limit_is_skipped():
    v = {"a": 10**6, "b": 4 * 10**6}
    row = [_done("classify", "peer", "a", 1000, 10.0), _done("classify", "peer", "a", 10**4, 100.0)]
    # exponent 1 (10 s -> 100 s for 10 times the sites): 1,000 s at 100,000 sites
    why, guess = TABLE._predict(row, TABLE.Cell("classify", "peer", "a", 10**5), 600, v)
    assert guess == pytest.approx(1000.0) and why == "predicted 1,000 s > limit 600 s"
    assert TABLE._predict(row, TABLE.Cell("classify", "peer", "a", 10**5), 2000, v)[0] == ""
    # a larger layer, one cell to go by: in proportion to the vertices, 4 x 100 s
    why, guess = TABLE._predict(row, TABLE.Cell("classify", "peer", "b", 10**4), 300, v)
    assert guess == pytest.approx(400.0) and why.startswith("predicted 400 s")
    # one cell on this layer: the exponent of another layer's row, log10(20 / 10) = 0.301,
    # so 10 s x 100^0.301 = 40 s at 100 times the sites
    other = [
        _done("overlaps", "peer", "b", 1000, 10.0),
        _done("overlaps", "peer", "b", 10**4, 20.0),
    ]
    one = [_done("overlaps", "peer", "a", 1000, 10.0)]
    why, guess = TABLE._predict(one + other, TABLE.Cell("overlaps", "peer", "a", 10**5), 30, v)
    assert guess == pytest.approx(40.0) and why == "predicted 40 s > limit 30 s"
    # the other way's cells say nothing about this one
    assert TABLE._predict(row, TABLE.Cell("classify", "asm_pace", "a", 10**5), 1, v)[0] == ""


def test_a_cell_that_may_pass_the_memory_bound_holds_the_lock():
    v = {"a": 10**6, "b": 3 * 10**6, "g": 71 * 10**6}
    done = [_done("overlaps", "peer", "a", 1000, 1.0, peak=1200.0)]
    # a larger layer: 1,200 MB x 3 = 3,600 MB
    assert TABLE._needs_lock(done, TABLE.Cell("overlaps", "peer", "b", 1000), v, 3000)
    assert not TABLE._needs_lock(done, TABLE.Cell("overlaps", "peer", "b", 1000), v, 4000)
    # more sites, one cell to go by: 1,200 MB x 10^0.5 = 3,795 MB
    assert TABLE._needs_lock(done, TABLE.Cell("overlaps", "peer", "a", 10**4), v, 3700)
    assert not TABLE._needs_lock(done, TABLE.Cell("overlaps", "peer", "a", 10**4), v, 3900)
    # one cell on this layer, two on another: that layer's exponent, log10(1100 / 1000), so
    # 1,200 MB x 10^log10(1.1) = 1,320 MB
    other = [_done("overlaps", "peer", "b", n, 1.0, peak=p) for n, p in ((10, 1000), (100, 1100))]
    assert not TABLE._needs_lock(done + other, TABLE.Cell("overlaps", "peer", "a", 10**4), v, 1330)
    assert TABLE._needs_lock(done + other, TABLE.Cell("overlaps", "peer", "a", 10**4), v, 1310)
    # nothing to go by: a global-size layer, or a million sites
    assert TABLE._needs_lock([], TABLE.Cell("read", "peer", "g", 0), v, 3000)
    assert TABLE._needs_lock([], TABLE.Cell("buffers", "peer", "", 10**6), v, 3000)
    assert not TABLE._needs_lock([], TABLE.Cell("read", "peer", "b", 0), v, 3000)
