"""The pipeline's zone steps in spatial chunks (asm_pace.chunked): the unchunked run's result."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import asm_pace
from asm_pace import chunked
from asm_pace.cli import cli
from asm_pace.datasets import sample_path
from asm_pace.errors import InputError
from asm_pace.pipeline import run_pipeline

FOREST = {
    "treecover": sample_path("treecover2000.tif"),
    "lossyear": sample_path("lossyear.tif"),
}
LAYERS = {
    "protected_areas": sample_path("protected_areas.gpkg"),
    "ecoregions": sample_path("ecoregions.gpkg"),
}


# --------------------------------------------------------------------------- --memory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500MB", 500 * 1000**2),
        ("4GB", 4 * 1000**3),
        ("4GiB", 4 * 1024**3),
        ("4 gib", 4 * 1024**3),
        ("1.5GB", 1_500_000_000),
        ("2TB", 2 * 1000**4),
        ("300000KiB", 300_000 * 1024),
        (10**9, 10**9),
    ],
)
def test_memory_sizes(text, expected):
    assert chunked.parse_memory(text) == expected


@pytest.mark.parametrize("bad", ["four", "4", "4 GBs", "-1GB", "", "GB", True, 2.5, None, "99MB"])
def test_memory_refused(bad):
    with pytest.raises(InputError, match=r"--memory"):
        chunked.parse_memory(bad)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**6),
    st.sampled_from([("MB", 10**6), ("GB", 10**9), ("MiB", 2**20), ("GiB", 2**30)]),
)
def test_memory_units(n, unit):
    name, factor = unit
    if n * factor < 10**8:
        with pytest.raises(InputError, match="least budget"):
            chunked.parse_memory(f"{n}{name}")
    else:
        assert chunked.parse_memory(f"{n}{name}") == n * factor


def test_run_pipeline_refuses_memory_before_work(tmp_path):
    with pytest.raises(InputError, match=r"memory='lots' \(--memory\)"):
        run_pipeline(tmp_path / "absent.csv", **LAYERS, memory="lots")


def test_cli_memory_refused(tmp_path):
    out = tmp_path / "out.gpkg"
    args = ["classify", sample_path("sites.csv"), "-p", LAYERS["protected_areas"], "-e"]
    args += [LAYERS["ecoregions"], "--buffers", "1", "-o", str(out)]
    result = CliRunner().invoke(cli, [*map(str, args), "--memory", "plenty"])
    assert result.exit_code == 2
    assert "--memory" in result.output and "e.g. --memory 4GB" in result.output
    assert not out.exists()
    twice = CliRunner().invoke(cli, [*map(str, args), "--memory", "1GB", "--memory", "2GB"])
    assert twice.exit_code == 2 and "--memory" in twice.output
    assert not out.exists()


# --------------------------------------------------------------------------- chunks


def _touching_pairs(sites: gpd.GeoDataFrame, radius_km: float) -> np.ndarray:
    """Pairs of sites whose buffers meet, by brute force on the buffers themselves."""
    zones = asm_pace.buffers(sites, radii_km=radius_km)
    geoms = np.asarray(zones.geometry.values, dtype=object)
    a, b = np.triu_indices(geoms.size, 1)
    meet = shapely.intersects(geoms[a], geoms[b])
    return np.column_stack([a[meet], b[meet]])


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-179.99, max_value=179.99),
            st.floats(min_value=-60, max_value=60),
        ),
        min_size=2,
        max_size=25,
    ),
    st.integers(min_value=1, max_value=6),
)
def test_chunks_never_cut_a_cluster(points, size):
    """Every site once; sites whose buffers meet (brute force) share a chunk."""
    rng = np.random.default_rng(len(points))
    xy = np.array(points)
    near = xy[rng.integers(0, len(xy), len(xy))] + rng.normal(0, 0.05, xy.shape)
    xy = np.vstack([xy, np.clip(near, [-179.99, -60], [179.99, 60])])
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(xy))]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=4326,
    )
    parts = chunked.pipeline_chunks(sites, 10.0, size)
    every = np.sort(np.concatenate(parts))
    assert every.tolist() == list(range(len(sites)))
    chunk_of = np.empty(len(sites), dtype=int)
    for i, p in enumerate(parts):
        chunk_of[p] = i
    pairs = _touching_pairs(sites, 10.0)
    assert (chunk_of[pairs[:, 0]] == chunk_of[pairs[:, 1]]).all()


def test_chunks_across_the_antimeridian():
    sites = gpd.GeoDataFrame(
        {"site_id": ["east", "far", "west"]},
        geometry=gpd.points_from_xy([179.95, 0.0, -179.95], [10.0, 0.0, 10.0]),
        crs=4326,
    )
    assert len(_touching_pairs(sites, 10.0)) == 1  # their buffers meet at 180
    parts = chunked.pipeline_chunks(sites, 10.0, 1)
    assert sorted(p.tolist() for p in parts) == [[0, 2], [1]]


def _force_chunks(monkeypatch, size: int) -> None:
    monkeypatch.setattr(chunked, "plan_chunk_sites", lambda *args, **kwargs: size)


def _run(sites, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_pipeline(sites, **LAYERS, **kwargs)


def _assert_same(a, b, exact: bool = False):
    """Same layers, rows, ids, order and dtypes; numbers equal to rounding (or exactly)."""
    assert list(a.layers) == list(b.layers)
    for name in a.layers:
        x, y = a.layers[name], b.layers[name]
        if exact:
            differ = [c for c in x.columns if not x[c].equals(y[c])]
            assert x.equals(y), (name, differ)
            continue
        assert list(x.columns) == list(y.columns), name
        assert x.index.equals(y.index), name
        assert x.dtypes.equals(y.dtypes), name
        for c in x.columns:
            if isinstance(x, gpd.GeoDataFrame) and c == x.geometry.name:
                assert shapely.equals_exact(
                    np.asarray(x[c].values), np.asarray(y[c].values), 1e-9
                ).all(), (name, c)
            elif pd.api.types.is_float_dtype(x[c]):
                np.testing.assert_allclose(x[c], y[c], rtol=1e-9, atol=1e-9, err_msg=f"{name}.{c}")
            else:
                assert x[c].equals(y[c]), (name, c)


def _sites(n: int = 90) -> gpd.GeoDataFrame:
    """The samples' first ``n`` sites (small runs: the tests stay fast)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asm_pace.read_sites(sample_path("sites.csv")).iloc[:n]


def _footprint_sites(tmp_path):
    """Some of the samples' sites, every fourth a square footprint of about 600 m."""
    sites = _sites()
    geoms = np.asarray(sites.geometry.values, dtype=object)
    square = shapely.buffer(geoms[::4], 0.003, cap_style="square")
    geoms[::4] = square
    frame = gpd.GeoDataFrame({"site_id": sites["site_id"]}, geometry=geoms, crs=4326)
    path = tmp_path / "footprints.gpkg"
    frame.to_file(path)
    return path


@pytest.mark.parametrize("rings", [False, True])
def test_chunked_is_unchunked(tmp_path, monkeypatch, rings):
    """Buffers (or rings and footprint zones), overlaps, clusters and forest loss in many
    chunks: the one-call run's layers, with clusters of several zones numbered alike."""
    path = _footprint_sites(tmp_path)
    kwargs = dict(radii_km=(0.5, 1), rings=rings, jobs=1, **FOREST)
    whole = _run(path, **kwargs)
    assert chunked.LAST_RUN["chunks"] == 1
    _force_chunks(monkeypatch, 8)
    parts = _run(path, **kwargs)
    assert chunked.LAST_RUN["chunks"] >= 3
    _assert_same(whole, parts)
    clusters = whole.layers["clusters"]
    assert (clusters["n_zones"] > 3).any()  # clusters of several zones, kept whole
    if rings:
        assert (whole.layers["buffers"]["radius_km"] == 0).any()  # footprint zones


def test_pool_is_in_process_bit_for_bit(monkeypatch):
    """Chunks in two worker processes, each reading its own protected areas: the chunks run
    in this process, bit for bit (the same chunks: they do not depend on jobs)."""
    _force_chunks(monkeypatch, 30)
    monkeypatch.setattr(chunked, "MIN_POOL_SITES", 0)
    kwargs = dict(radii_km=(1,), **FOREST)
    serial = _run(_sites(), jobs=1, **kwargs)
    assert chunked.LAST_RUN["workers"] == 1 and "refused" not in chunked.LAST_RUN
    pool = _run(_sites(), jobs=2, **kwargs)
    assert chunked.LAST_RUN["workers"] == 2 and len(chunked.LAST_RUN["worker_cpu_s"]) == 2
    assert "refused" not in chunked.LAST_RUN, chunked.LAST_RUN["refused"]
    _assert_same(serial, pool, exact=True)


def test_demo_numbers_in_chunks(monkeypatch, tmp_path):
    """The demo's inputs (KBAs, drivers) in chunks: its classes (76 / 22 / 57 / 48)
    and the unchunked layers; the GeoPackage is written whole, nothing left beside it."""
    from asm_pace.pipeline import write_outputs

    kwargs = dict(
        priority_landscapes=sample_path("priority_landscapes.gpkg"),
        kbas=sample_path("kbas.zip"),
        radii_km=(0.5, 1),  # the demo's 10 km buffers all touch: one chunk
        drivers=sample_path("drivers.tif"),
        **FOREST,
    )
    whole = _run(sample_path("sites.csv"), **kwargs)
    assert list(whole.class_counts().values()) == [76, 22, 57, 48]
    _force_chunks(monkeypatch, 20)
    parts = _run(sample_path("sites.csv"), **kwargs)
    assert chunked.LAST_RUN["chunks"] >= 2
    assert list(parts.class_counts().values()) == [76, 22, 57, 48]
    _assert_same(whole, parts)
    out = tmp_path / "demo.gpkg"
    write_outputs(parts, out)
    assert [p.name for p in tmp_path.iterdir()] == ["demo.gpkg"]


def test_classify_chunks_follow_the_budget(tmp_path):
    """More classify chunks when the protected areas (estimated from their file) and
    classify's work on them would not fit: k = ceil(2 x 2.6 x file / budget) a worker."""
    from asm_pace.parallel import classify_chunks

    layer = tmp_path / "pas.gpkg"
    with open(layer, "wb") as f:
        f.truncate(10**9)  # a sparse file of 1 GB: 2.6 GB once read
    assert classify_chunks(2, layer, "1GB") == 2 * 6  # ceil(5.2)
    assert classify_chunks(2, layer, "100GB") == 2
    assert classify_chunks(3, tmp_path, "1GB") == 3  # a folder: one chunk a worker


def test_a_chunk_that_refuses_gives_the_unchunked_run(monkeypatch):
    """Sites far off the forest rasters make a chunk whose zones have no forest data at
    all (forest_loss refuses such a call): the zone steps run once, unchunked, and give
    NaN for those zones, as the one-chunk run does."""
    near = _sites(30)
    far = gpd.GeoDataFrame(
        {"site_id": ["FAR1", "FAR2"]},
        geometry=gpd.points_from_xy([-65.0, -65.01], [-12.0, -12.0]),
        crs=4326,
    )
    sites = pd.concat([near[["site_id", "geometry"]], far], ignore_index=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=4326)
    kwargs = dict(radii_km=(1,), jobs=1, **FOREST)
    whole = _run(sites, **kwargs)
    _force_chunks(monkeypatch, 2)  # the two far sites: a chunk of their own
    parts = _run(sites, **kwargs)
    assert chunked.LAST_RUN["chunks"] >= 2
    # the far chunk: two buffers and their cluster
    assert "none of the 3 zone(s) has data" in chunked.LAST_RUN["refused"]
    _assert_same(whole, parts)
    zones = parts.layers["buffers"]
    assert zones.loc[zones["site_id"].str.startswith("FAR"), "forest_2000_ha"].isna().all()


def test_chunks_across_the_antimeridian_read_two_part_boxes(tmp_path, monkeypatch):
    """Sites on both sides of 180 degrees (clusters across it) with areas on both sides:
    chunks in two workers, each reading its box in two parts (not every longitude), give
    the unchunked run's layers (to rounding, as every chunked run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = gpd.read_file(LAYERS["protected_areas"], layer="polygons").iloc[:6].copy()
        eco = gpd.read_file(LAYERS["ecoregions"]).iloc[:2].copy()
    pas["STATUS"] = "Designated"
    west, east = shapely.box(179.97, -17.3, 180, -16.9), shapely.box(-180, -17.3, -179.97, -16.9)
    pas = pas.set_geometry(
        [
            shapely.box(179.5, -17.2, 179.9, -16.8),
            shapely.box(-179.8, -17.0, -179.6, -16.6),
            shapely.MultiPolygon([west, east]),
            shapely.box(10.0, 0.0, 11.0, 1.0),
            shapely.box(-179.95, -17.6, -179.9, -17.4),
            shapely.box(179.3, -17.8, 179.4, -17.6),
        ],
        crs=4326,
    )
    eco = eco.set_geometry(
        [shapely.box(170, -25, 180, -10), shapely.box(-180, -25, -170, -10)], crs=4326
    )
    files = {"protected_areas": tmp_path / "pas.gpkg", "ecoregions": tmp_path / "eco.gpkg"}
    pas.to_file(files["protected_areas"])
    eco.to_file(files["ecoregions"])
    rng = np.random.default_rng(6)
    lon = np.r_[rng.uniform(179.4, 179.999, 20), rng.uniform(-179.999, -179.5, 20)]
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(lon.size)]},
        geometry=gpd.points_from_xy(lon, rng.uniform(-17.9, -16.4, lon.size)),
        crs=4326,
    )
    box = chunked._chunk_box(sites, 10.0)  # sites on both sides: two parts
    assert box[0][2] == 180.0 and box[1][0] == -180.0, box
    assert box[0][0] > 179.0 and box[1][2] < -179.0
    kwargs = dict(radii_km=(1, 10), rings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = run_pipeline(sites, **files, jobs=1, **kwargs)
        assert chunked.LAST_RUN["chunks"] == 1
        _force_chunks(monkeypatch, 6)
        monkeypatch.setattr(chunked, "MIN_POOL_SITES", 0)
        parts = run_pipeline(sites, **files, jobs=2, **kwargs)
    assert chunked.LAST_RUN["chunks"] >= 2 and chunked.LAST_RUN["workers"] == 2
    # cluster outlines across 180 may start their rings elsewhere: the same polygons
    a, b = (np.asarray(r.layers["clusters"].geometry.values) for r in (whole, parts))
    assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), 1e-9).all()
    for r in (whole, parts):
        r.layers["clusters"] = r.layers["clusters"].set_geometry(shapely.normalize(a))
    _assert_same(whole, parts)
    met = whole.layers["overlaps"]["pa_id"].astype(str)  # areas on both sides, and across
    assert {"900001", "900002", "900003"} <= set(met), sorted(set(met))
