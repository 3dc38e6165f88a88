"""A chunked run with an output streams its zone layers to disk (``stream_to``): the
GeoPackage is the unchunked run's, layer by layer, and nothing is left behind on failure."""

from __future__ import annotations

import sqlite3
import warnings
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import asm_pace
from asm_pace import chunked, output, pipeline
from asm_pace.datasets import sample_path
from asm_pace.errors import AsmPaceError, OutputExistsError
from asm_pace.pipeline import run_pipeline, write_outputs
from test_pipeline_chunks import FOREST, LAYERS  # the samples' layers and forest


def _run(sites, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_pipeline(sites, **LAYERS, **kwargs)


def _footprints(tmp_path, n: int = 90):
    """The samples' first ``n`` sites, every fourth a square footprint of about 600 m."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from asm_pace import read_sites

        sites = read_sites(sample_path("sites.csv")).iloc[:n]
    geoms = np.asarray(sites.geometry.values, dtype=object)
    geoms[::4] = shapely.buffer(geoms[::4], 0.003, cap_style="square")
    path = tmp_path / "footprints.gpkg"
    gpd.GeoDataFrame({"site_id": sites["site_id"]}, geometry=geoms, crs=4326).to_file(path)
    return path


def _force_chunks(monkeypatch, size: int, batch: int = 7) -> None:
    monkeypatch.setattr(chunked, "plan_chunk_sites", lambda *args, **kwargs: size)
    # small read-back batches: many batches per layer, some of them empty
    monkeypatch.setattr(chunked, "SPOOL_BATCH_SITES", batch)
    monkeypatch.setattr(chunked, "SPOOL_BATCH_CLUSTERS", batch)


def _same_file(a, b) -> None:
    """Two GeoPackages hold the same layers in the same order, each with the same columns,
    types, rows and values (to 1e-9 relative), geometry types and styles; the same
    run_info apart from the time it was written."""
    names_a = [tuple(r) for r in pyogrio.list_layers(a)]
    live = {}  # each feature layer's geometries neither missing nor empty: its R-tree's
    assert names_a == [tuple(r) for r in pyogrio.list_layers(b)]
    for name, _ in names_a:
        if name in ("run_info", "layer_styles"):
            continue
        x, y = gpd.read_file(a, layer=name), gpd.read_file(b, layer=name)
        assert list(x.columns) == list(y.columns), name
        assert x.dtypes.equals(y.dtypes), name
        assert len(x) == len(y), name
        for c in x.columns:
            if isinstance(x, gpd.GeoDataFrame) and c == x.geometry.name:
                gx, gy = np.asarray(x[c].values), np.asarray(y[c].values)
                live[name] = int((~(shapely.is_missing(gx) | shapely.is_empty(gx))).sum())
                assert (shapely.get_type_id(gx) == shapely.get_type_id(gy)).all(), name
                both_missing = shapely.is_missing(gx) & shapely.is_missing(gy)
                assert (shapely.equals_exact(gx, gy, 1e-9) | both_missing).all(), (name, c)
            elif pd.api.types.is_float_dtype(x[c]):
                np.testing.assert_allclose(x[c], y[c], rtol=1e-9, atol=1e-9, err_msg=f"{name}.{c}")
            else:
                assert x[c].equals(y[c]), (name, c)
    with sqlite3.connect(a) as ca, sqlite3.connect(b) as cb:
        for sql in (
            "SELECT table_name, data_type FROM gpkg_contents ORDER BY table_name",
            "SELECT table_name, geometry_type_name FROM gpkg_geometry_columns ORDER BY 1",
            # every feature layer with its spatial index (QGIS and ArcGIS use it)
            "SELECT table_name, column_name, extension_name FROM gpkg_extensions ORDER BY 1, 2, 3",
            "SELECT f_table_name, styleQML FROM layer_styles ORDER BY 1",
            # GDAL's feature counts, the fids' sequences, the tables' indexes and triggers
            "SELECT table_name, feature_count FROM gpkg_ogr_contents ORDER BY 1",
            "SELECT name, seq FROM sqlite_sequence ORDER BY 1",
            "SELECT type, name, tbl_name FROM sqlite_master ORDER BY 2",
            "SELECT section, key, value FROM run_info WHERE key NOT IN ('created_utc') "
            "ORDER BY 1, 2",
        ):
            assert ca.execute(sql).fetchall() == cb.execute(sql).fetchall(), sql
        for (table,) in ca.execute("SELECT table_name FROM gpkg_geometry_columns").fetchall():
            index = f'SELECT count(*) FROM "rtree_{table}_geom"'
            assert ca.execute(index).fetchone() == cb.execute(index).fetchone(), table
            assert cb.execute(index).fetchone()[0] == live[table], table
            check = f"SELECT rtreecheck('rtree_{table}_geom')"  # SQLite's own check
            assert cb.execute(check).fetchone() == ("ok",), table


copy = output.copy_table


def test_streamed_file_is_the_unchunked_file(tmp_path, monkeypatch):
    """Rings and footprint zones, clusters of several zones, overlaps and forest loss
    streamed chunk by chunk from two workers (the parent letting its protected areas go
    meanwhile): the GeoPackage the one-call run writes. (The command line's run below
    streams chunks made in this process, and compares the QGIS projects.)"""
    sites = _footprints(tmp_path, 28)
    kwargs = dict(radii_km=(0.5, 1), rings=True, **FOREST)
    whole = _run(sites, jobs=1, **kwargs)
    assert chunked.LAST_RUN["chunks"] == 1
    write_outputs(whole, tmp_path / "whole.gpkg")
    _force_chunks(monkeypatch, 6)
    monkeypatch.setattr(chunked, "MIN_POOL_SITES", 0)
    reads = []  # the parent's reads of the file (the workers read their chunks' boxes)
    real = asm_pace.read_protected_areas
    monkeypatch.setattr(
        asm_pace, "read_protected_areas", lambda *a, **k: reads.append(1) or real(*a, **k)
    )
    out = tmp_path / "parts.gpkg"
    # the clusters, overlaps and forest loss written by a second process as soon as the
    # zone steps end (while this one reads the protected areas again), copied in
    monkeypatch.setattr(pipeline, "SIDE_MIN_ROWS", 0)
    parts = _run(sites, stream_to=out, jobs=2, **kwargs)
    assert parts.layers.side is not None
    assert chunked.LAST_RUN["chunks"] >= 3 and chunked.LAST_RUN.get("streamed")
    assert chunked.LAST_RUN["workers"] == 2 and reads == [1, 1]  # before classify, after
    assert (whole.layers["buffers"]["radius_km"] == 0).any()  # footprint zones
    spool = parts.layers._spool.path
    copied = []
    monkeypatch.setattr(output, "copy_table", lambda *a: copied.append(a[2]) or copy(*a))
    write_outputs(parts, out)
    assert copied == ["clusters", "overlaps", "forest_loss"]
    _same_file(tmp_path / "whole.gpkg", out)
    write_outputs(parts, tmp_path / "again.gpkg")  # the second process's files copied again
    _same_file(tmp_path / "whole.gpkg", tmp_path / "again.gpkg")
    info = pyogrio.read_dataframe(out, layer="run_info").set_index("key")["value"]
    assert info["forest_pa_coverage"] == "center"  # the rule of the in_pa split, recorded
    # the layers read back on demand; the counts without reading them
    assert parts.row_counts() == whole.row_counts()
    assert parts.layers["clusters"]["cluster_id"].tolist() == (
        whole.layers["clusters"]["cluster_id"].tolist()
    )
    assert (whole.layers["clusters"]["n_zones"] > 3).any()
    parts.close()
    assert not (tmp_path / spool).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "again.gpkg",
        "footprints.gpkg",
        "parts.gpkg",
        "whole.gpkg",
    ]
    # a pool run in one chunk reads the layer it let go for its zones: once for the
    # zones and the context layer together
    _force_chunks(monkeypatch, 10**6)
    reads.clear()
    one = _run(sites, stream_to=tmp_path / "one.gpkg", jobs=2, **kwargs)
    assert chunked.LAST_RUN["chunks"] == 1 and reads == [1, 1]
    one.close()


def test_stream_failure_leaves_nothing(tmp_path, monkeypatch):
    """A chunk failing mid-run: no output, no scratch file; an existing output is kept
    unless overwriting is asked for, and then replaced whole."""
    sites = _footprints(tmp_path, 24)
    out = tmp_path / "out.gpkg"
    _force_chunks(monkeypatch, 8)
    calls = []
    real = chunked.ZoneSpool.add

    def fail_second(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise AsmPaceError("disk full (a test)")
        return real(self, *args)

    monkeypatch.setattr(chunked.ZoneSpool, "add", fail_second)
    with pytest.raises(AsmPaceError, match="disk full"):
        _run(sites, radii_km=(1,), jobs=1, stream_to=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["footprints.gpkg"]
    monkeypatch.setattr(chunked.ZoneSpool, "add", real)
    out.write_bytes(b"an older run")
    result = _run(sites, radii_km=(1,), jobs=1, stream_to=out)
    with pytest.raises(OutputExistsError):
        write_outputs(result, out)
    assert out.read_bytes() == b"an older run"
    write_outputs(result, out, overwrite=True)
    assert len(gpd.read_file(out, layer="buffers")) == result.row_counts()["buffers"] == 24
    result.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["footprints.gpkg", "out.gpkg"]


def test_large_layer_written_in_slices_is_written_whole(tmp_path, monkeypatch):
    """A feature layer above WRITE_BATCH rows goes in slices: the file of a write in one
    go (mixed polygons and multipolygons promoted alike, every row, the run_info count)."""
    from asm_pace import output

    rng = np.random.default_rng(7)
    boxes = [shapely.box(x, y, x + 0.1, y + 0.1) for x, y in rng.uniform(-50, 50, (500, 2))]
    boxes[1::9] = [shapely.MultiPolygon([b, shapely.box(60, 60, 61, 61)]) for b in boxes[1::9]]
    frame = gpd.GeoDataFrame(
        {
            "pa_id": [f"P{i}" for i in range(500)],
            "designation_type": "National",
            "v": rng.random(500),
        },
        geometry=boxes,
        crs=4326,
    )
    output.write_geopackage(tmp_path / "whole.gpkg", {"protected_areas": frame})
    monkeypatch.setattr(output, "WRITE_BATCH", 70)
    output.write_geopackage(tmp_path / "slices.gpkg", {"protected_areas": frame})
    _same_file(tmp_path / "whole.gpkg", tmp_path / "slices.gpkg")


def test_cli_streams_and_writes_csv_report_and_project(tmp_path, monkeypatch):
    """The command line gives -o as stream_to: in chunks, the buffers, the CSV, the report
    and the QGIS project are those of a run in one piece; nothing is left beside them."""
    from click.testing import CliRunner

    from asm_pace.cli import cli

    sites = _footprints(tmp_path, 24)
    args = ["classify", sites, "-p", LAYERS["protected_areas"], "-e", LAYERS["ecoregions"]]
    args += ["--buffers", "1", "--jobs", "1", "--qgis-project"]
    for name in ("whole", "parts"):
        if name == "parts":
            _force_chunks(monkeypatch, 8)
        more = ["-o", tmp_path / f"{name}.gpkg", "--csv", tmp_path / f"{name}.csv"]
        if name == "parts":  # the report reads the streamed layers back
            more += ["--report", tmp_path / f"{name}.html"]
        done = CliRunner().invoke(cli, [*map(str, args + more)])
        assert done.exit_code == 0, done.output
        assert (chunked.LAST_RUN["chunks"] > 1) == (name == "parts")
        assert bool(chunked.LAST_RUN.get("streamed")) == (name == "parts")  # -o: stream_to
        assert "buffers (24)" in done.output
    _same_file(tmp_path / "whole.gpkg", tmp_path / "parts.gpkg")
    assert (tmp_path / "whole.csv").read_text() == (tmp_path / "parts.csv").read_text()
    with zipfile.ZipFile(tmp_path / "whole.qgz") as x, zipfile.ZipFile(tmp_path / "parts.qgz") as y:
        text = [z.read(z.namelist()[0]).decode().replace("whole", "parts") for z in (x, y)]
    assert text[0] == text[1]
    assert "24 site" in (tmp_path / "parts.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "footprints.gpkg", "parts.csv", "parts.gpkg", "parts.html", "parts.qgz",
        "whole.csv", "whole.gpkg", "whole.qgz",
    ]  # fmt: skip


def test_context_features_inside_the_extent_are_kept_as_read():
    """The GeoPackage's context layer: a feature inside the analysis extent is the layer's
    own object (no copy), one across its edge is cut (its area is the intersection's)."""
    from asm_pace.pipeline import _clipped

    inside = shapely.MultiPolygon([shapely.box(1, 1, 2, 2)])
    across = shapely.MultiPolygon([shapely.box(8, 8, 12, 9)])
    outside = shapely.MultiPolygon([shapely.box(20, 20, 21, 21)])
    layer = gpd.GeoDataFrame(
        {"pa_id": ["in", "across", "out"]}, geometry=[inside, across, outside], crs=4326
    )
    out = _clipped(layer, (0.0, 0.0, 10.0, 10.0), ("pa_id",))
    assert out["pa_id"].tolist() == ["in", "across"]
    assert out.geometry.iloc[0] is inside
    assert out.geometry.iloc[1].area == pytest.approx(2.0)  # 8..10 x 8..9
    assert out.geometry.iloc[1].bounds == (8.0, 8.0, 10.0, 9.0)


def test_a_stream_to_in_a_missing_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(asm_pace, "read_protected_areas", lambda *a, **k: calls.append(1))
    sites = asm_pace.read_sites(sample_path("sites.csv"))
    with pytest.raises(AsmPaceError, match=r"missing.*does not exist"):
        _run(sites, radii_km=(1,), stream_to=tmp_path / "missing" / "out.gpkg")
    assert calls == []  # refused before the layers were read
