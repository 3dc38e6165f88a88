"""classify over spatial chunks in worker processes (``asm_pace.parallel``, ``--jobs``).

The parallel result is compared with one serial :func:`asm_pace.classify` call on the
same inputs: every column, value (exactly), dtype, index and order, the ``attrs``, and the
warnings given (category and message, each once). The Hilbert order is checked against its
defining property with cells computed by hand (floor division), not by geopandas.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import asm_pace
from asm_pace import parallel
from asm_pace.cli import cli
from asm_pace.datasets import sample_path
from asm_pace.errors import AsmPaceError, InputError
from asm_pace.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
PAS = sample_path("protected_areas.gpkg")
ECO = sample_path("ecoregions.gpkg")
LANDSCAPES = sample_path("priority_landscapes.gpkg")


def _recorded(call):
    """``call()``'s result (or the AsmPaceError it raised) and its warnings, as text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call()
        except AsmPaceError as err:
            out = err
    return out, [(w.category.__name__, str(w.message)) for w in caught]


def _serial(sites, pas=PAS, eco=ECO, landscapes=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = asm_pace.read_protected_areas(pas)
        e = asm_pace.read_ecoregions(eco)
        pl = None if landscapes is None else asm_pace.read_priority_landscapes(landscapes)
    return _recorded(lambda: asm_pace.classify(sites, p, e, priority_landscapes=pl, **kw))


def _parallel(sites, pas=PAS, eco=ECO, landscapes=None, chunks=4, **kw):
    return _recorded(
        lambda: parallel.classify_parallel(
            sites,
            pas,
            eco,
            priority_landscapes=landscapes,
            jobs=2,
            chunks=chunks,
            min_sites=0,
            **kw,
        )
    )


def _same(par, ser):
    out, warned = par
    expected, expected_warned = ser
    if isinstance(expected, Exception):
        assert type(out) is type(expected) and str(out) == str(expected)
    else:
        assert not isinstance(out, Exception), out
        pd.testing.assert_frame_equal(out, expected, check_exact=True, check_index_type=True)
        assert type(out.index) is type(expected.index)
        assert out.attrs == expected.attrs
    assert warned == expected_warned


@pytest.fixture(scope="module")
def sample_sites():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asm_pace.read_sites(sample_path("sites.csv"))


# --------------------------------------------------------------------------- partitioning


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-179.9, 179.9), st.floats(-89.9, 89.9)), min_size=1, max_size=60),
    st.integers(1, 7),
    st.integers(1, 4),
)
def test_chunks_partition_the_sites_along_a_hilbert_curve(points, n_chunks, level):
    x, y = np.array(points).T
    sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    chunks = parallel.spatial_chunks(sites, n_chunks)
    flat = np.concatenate(chunks)
    assert sorted(flat.tolist()) == list(range(len(points)))  # every site once
    sizes = [c.size for c in chunks]
    assert max(sizes) - min(sizes) <= 1 and len(chunks) == min(n_chunks, len(points))
    # a Hilbert curve visits each cell of every level whole before leaving it: along the
    # order, each cell is one run. Cells by hand, on geopandas' grid of the globe (2**16 - 1
    # steps a side, HILBERT_LEVEL; a coordinate's step truncated), 2**level cells a side
    order = parallel.hilbert_order(sites)
    steps = 2**parallel.HILBERT_LEVEL - 1
    ix = ((x[order] + 180.0) * (steps / 360.0)).astype(np.int64)
    iy = ((y[order] + 90.0) * (steps / 180.0)).astype(np.int64)
    shift = parallel.HILBERT_LEVEL - level
    cells = (ix >> shift) * 2**level + (iy >> shift)
    starts = cells[np.r_[True, cells[1:] != cells[:-1]]]
    assert len(starts) == len(set(starts.tolist()))
    # the chunks are runs of the order
    assert [c.tolist() for c in chunks] == [
        np.sort(p).tolist() for p in np.array_split(order, n_chunks) if p.size
    ]


def test_check_jobs():
    assert parallel.check_jobs(None) == parallel.default_jobs() >= 1
    assert parallel.check_jobs(3) == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InputError, match="--jobs"):
            parallel.check_jobs(bad)


def test_default_chunks_hold_about_sites_per_chunk_sites(sample_sites, monkeypatch):
    # 3 sites a chunk: ceil(n / (3 * 2)) chunks a worker, the serial result all the same
    monkeypatch.setattr(parallel, "SITES_PER_CHUNK", 3)
    n = len(sample_sites)
    _same(_parallel(sample_sites, chunks=None), _serial(sample_sites))
    assert parallel.LAST_RUN["chunks"] == 2 * -(-n // 6)
    assert parallel.site_chunks(n, 2) == 2 * -(-n // 6)


# --------------------------------------------------------------------------- identity


def test_samples_identical_to_serial(sample_sites):
    _same(
        _parallel(sample_sites, landscapes=LANDSCAPES), _serial(sample_sites, landscapes=LANDSCAPES)
    )


def test_samples_with_uncertainty_and_footprints_identical(sample_sites):
    sites = sample_sites.copy()
    sites.attrs = dict(sample_sites.attrs)
    # every third site a footprint: a geodesic circle of 300 m around it
    pts = sites.geometry.values[::3]
    circles = asm_pace.geodesic_circles(shapely.get_x(pts), shapely.get_y(pts), 300.0)
    geoms = np.asarray(sites.geometry.values, dtype=object)
    geoms[::3] = circles
    sites = sites.set_geometry(list(geoms), crs=4326)
    sites["uncertainty_m"] = np.where(np.arange(len(sites)) % 2 == 0, 5_000.0, np.nan)
    _same(
        _parallel(sites, uncertainty_m=20_000.0, chunks=5),
        _serial(sites, uncertainty_m=20_000.0),
    )


def test_boxes_widened_to_the_nearest_areas(sample_sites, monkeypatch):
    """A first box of 0.5 km around each chunk holds too few areas: each worker widens it
    until the upper bound of every site's nearest distance fits; the distances are the
    serial ones, and the box read holds each site's nearest area."""
    monkeypatch.setattr(parallel, "FIRST_MARGIN_KM", 0.5)
    _same(_parallel(sample_sites, chunks=6), _serial(sample_sites))
    sites = sample_sites.iloc[parallel.spatial_chunks(sample_sites, 6)[0]]
    spec = parallel._Spec(str(PAS), str(ECO), None, margin_km=0.5)
    status, (out, _), box = parallel._classify_chunk(sites, spec)
    first = asm_pace.geodesy.box_around(tuple(sites.total_bounds), 0.5)
    assert status == "ok" and box is not None and box != first
    assert box[0] < first[0] or box[1] < first[1] or box[2] > first[2] or box[3] > first[3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(PAS)
    outside = out["nearest_pa_km"] > 0
    nearest = pas.set_index("pa_id").loc[out.loc[outside, "nearest_pa_id"]].geometry
    assert outside.any() and shapely.intersects(np.asarray(nearest.values), shapely.box(*box)).all()


def test_errors_and_refusals_are_the_serial_ones(sample_sites):
    # every site at sea: the serial refusal (all the sites counted), not one chunk's
    sea = sample_sites.set_geometry(
        gpd.points_from_xy(np.linspace(-100, -99, len(sample_sites)), np.zeros(len(sample_sites))),
        crs=4326,
    )
    par, ser = _parallel(sea), _serial(sea)
    assert isinstance(ser[0], InputError)
    _same(par, ser)
    # a value a worker refuses: the run goes serial and refuses it as serial does
    bad = sample_sites.assign(uncertainty_m=["-3"] + [""] * (len(sample_sites) - 1))
    par, ser = _parallel(bad), _serial(bad)
    assert isinstance(ser[0], InputError)
    _same(par, ser)


def _no_pool(monkeypatch) -> list:
    """Replace the pool by a recorder: the list of the pools asked for."""
    started: list = []
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", lambda *a, **k: started.append(k))
    return started


def test_small_runs_start_no_pool(sample_sites, monkeypatch):
    started = _no_pool(monkeypatch)
    out = parallel.classify_parallel(sample_sites, PAS, ECO, jobs=2)
    _same((out, []), _serial(sample_sites))
    parallel.classify_parallel(sample_sites, PAS, ECO, jobs=1, min_sites=0)
    assert started == []


def test_a_pool_that_breaks_gives_the_serial_run(sample_sites, monkeypatch):
    """A worker that dies (killed, out of memory): the run is made serially instead."""
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Broken)
    _same(_parallel(sample_sites), _serial(sample_sites))
    assert parallel.LAST_RUN.get("failed") is True


# --------------------------------------------------------------------------- pipeline and CLI


def test_pipeline_jobs(sample_sites, monkeypatch, tmp_path):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SITES", 0)
    started = []
    pool = parallel.ProcessPoolExecutor

    def counted(*args, **kwargs):
        started.append(kwargs.get("max_workers"))
        return pool(*args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", counted)
    runs = {}
    for jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs[jobs] = run_pipeline(
                sample_path("sites.csv"),
                protected_areas=PAS,
                ecoregions=ECO,
                priority_landscapes=LANDSCAPES,
                radii_km=[1, 10],
                jobs=jobs,
            )
    assert started == [2]
    for name in runs[1].layers:
        pd.testing.assert_frame_equal(runs[2].layers[name], runs[1].layers[name], check_exact=True)
    with pytest.raises(InputError, match="--jobs"):
        run_pipeline(sample_path("sites.csv"), protected_areas=PAS, ecoregions=ECO, jobs=0)
    # the command line: --jobs 2 writes what --jobs 1 writes
    layers = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.gpkg"
        args = ["classify", str(sample_path("sites.csv")), "-p", str(PAS), "-e", str(ECO)]
        result = CliRunner().invoke(cli, [*args, "-o", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        layers[jobs] = gpd.read_file(out, layer="sites")
    assert started == [2, 2]
    pd.testing.assert_frame_equal(layers["2"], layers["1"], check_exact=True)


def test_pipeline_stays_serial_with_kbas_or_frames(sample_sites, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SITES", 0)
    started = _no_pool(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(PAS)
        result = run_pipeline(sample_sites, protected_areas=pas, ecoregions=ECO, jobs=2)
        kbas = run_pipeline(
            sample_sites, protected_areas=PAS, ecoregions=ECO, kbas=sample_path("kbas.zip"),
            jobs=2,
        )  # fmt: skip
        two = run_pipeline(
            sample_sites, protected_areas={"A": PAS, "B": PAS}, ecoregions=ECO, jobs=2
        )
    assert started == []
    assert len(result.sites) == len(kbas.sites) == len(two.sites) == len(sample_sites)


# --------------------------------------------------------------------------- global subset


@pytest.fixture(scope="module")
def global_subset(tmp_path_factory):
    out = tmp_path_factory.mktemp("global")
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "make_global.py"), str(out), "--scale",
         "0.01", "--sites", "3000"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def test_global_subset_identical_to_serial(global_subset):
    """Sites in districts on every continent (some far from any area, some at sea):
    columns, values, order and the serial warnings (counted over all the sites)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites = asm_pace.read_sites(global_subset / "sites_3000.csv")
    pas, eco = global_subset / "protected_areas.gpkg", global_subset / "ecoregions.gpkg"
    par, ser = _parallel(sites, pas, eco, chunks=8), _serial(sites, pas, eco)
    _same(par, ser)
    assert (par[0]["nearest_pa_km"] > parallel.FIRST_MARGIN_KM).any()  # boxes were widened


def test_sites_classify_refuses_are_refused_as_serially(sample_sites):
    """Sites without a geometry (refused, word for word) or without a CRS: as serially."""
    geoms = list(sample_sites.geometry.values)
    geoms[5], geoms[7] = None, shapely.Point()
    missing = sample_sites.set_geometry(geoms, crs=4326)
    _same(_parallel(missing), _serial(missing))
    # crs=None in the constructor keeps the geometry column's CRS: drop it explicitly
    no_crs = sample_sites.set_crs(None, allow_override=True)
    assert no_crs.crs is None
    _same(_parallel(no_crs), _serial(no_crs))


# --------------------------------------------------------------------------- across +-180
def _fiji_layers(tmp_path):
    """The samples' protected areas and ecoregions moved to both sides of 180 degrees (one
    area in two parts, meeting both), some far away; west-only and east-only rows mixed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = gpd.read_file(PAS, layer="polygons")
        eco = gpd.read_file(ECO)
    across = shapely.MultiPolygon(
        [shapely.box(179.8, -16.5, 180, -16.2), shapely.box(-180, -16.5, -179.8, -16.2)]
    )
    boxes = [
        (179.0, -17.2, 179.5, -16.8),
        (-179.6, -17.0, -179.2, -16.6),
        None,
        (178.0, -18.0, 178.3, -17.7),
        (-178.5, -16.0, -178.2, -15.7),
        (5.0, 0.0, 6.0, 1.0),
        (-179.3, -18.2, -179.0, -18.0),
        (100.0, 5.0, 101.0, 6.0),
        (179.9, -18.5, 180.0, -18.3),
        (-60.0, 0.0, -59.0, 1.0),
    ]
    pas = pas.iloc[: len(boxes)].copy()
    pas["STATUS"] = "Designated"
    pas = pas.set_geometry([across if b is None else shapely.box(*b) for b in boxes], crs=4326)
    eco = eco.set_geometry(
        shapely.box(
            [170.0, -180.0, 0.0, 100.0],
            [-25.0, -25.0, -10.0, 0.0],
            [180.0, -170.0, 10.0, 110.0],
            [-10.0, -10.0, 10.0, 10.0],
        ),
        crs=4326,
    )
    pas.to_file(tmp_path / "pas.gpkg")
    eco.to_file(tmp_path / "eco.gpkg")
    return tmp_path / "pas.gpkg", tmp_path / "eco.gpkg"


def _fiji_sites(n: int = 48) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(6)
    lon = np.r_[rng.uniform(179.2, 179.999, n // 2), rng.uniform(-179.999, -179.0, n - n // 2)]
    lat = rng.uniform(-18.6, -15.6, n)
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(n)]}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )


def test_a_box_across_the_antimeridian_is_read_as_two_parts(tmp_path):
    """The areas of a two-part box: those of the whole read meeting either part, each once
    and in the whole read's order (the area in two parts, met by both, once)."""
    pas_path, eco_path = _fiji_layers(tmp_path)
    box = ((179.1, -18.0, 180.0, -16.0), (-180.0, -18.0, -179.1, -16.0))
    read = parallel._read_pas(parallel._Spec(str(pas_path), str(eco_path), None), box)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = asm_pace.read_protected_areas(pas_path)
    geoms = np.asarray(whole.geometry.values, dtype=object)
    meets = shapely.intersects(geoms, shapely.box(*box[0])) | shapely.intersects(
        geoms, shapely.box(*box[1])
    )
    # west-only rows before the east-only ones ahead of the same shared row (two box
    # reads cannot tell their order: here the file's); every other row in the file's order
    assert read["pa_id"].tolist() == whole.loc[meets, "pa_id"].tolist()
    assert 3 <= len(read) < len(whole) and read["pa_id"].is_unique
    assert shapely.equals_exact(np.asarray(read.geometry.values), geoms[meets], 0).all()


def test_sites_across_the_antimeridian_are_the_serial_ones(tmp_path):
    """Sites on both sides of 180 with areas on both sides: chunks in two workers are the
    serial run bit for bit, each box read across 180 in two parts (not every longitude),
    and a chunk of sites on both sides too."""
    pas_path, eco_path = _fiji_layers(tmp_path)
    sites = _fiji_sites()
    serial = _serial(sites, pas=pas_path, eco=eco_path)
    near = serial[0]["nearest_pa_id"]  # areas on both sides, the one across 180 among them
    assert {"900001", "900002", "900003"} <= set(near) and (serial[0]["nearest_pa_km"] == 0).any()
    _same(_parallel(sites, pas=pas_path, eco=eco_path, chunks=4), serial)
    boxes = parallel.LAST_RUN["boxes"]
    assert None not in boxes
    two = [b for b in boxes if isinstance(b[0], tuple)]
    assert two, boxes
    for west, east in two:
        assert west[2] == 180.0 and east[0] == -180.0
        assert (west[2] - west[0]) + (east[2] - east[0]) < 10.0  # not the globe
    # one chunk holding every site, on both sides: two parts, the serial columns
    spec = parallel._Spec(str(pas_path), str(eco_path), None)
    status, (out, _), box = parallel._classify_chunk(sites, spec)
    assert status == "ok" and isinstance(box[0], tuple), box
    pd.testing.assert_frame_equal(out, serial[0], check_exact=True)


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(178.0, 180.0) | st.floats(-180.0, -178.0),
    lat=st.floats(-70.0, 70.0),
    km=st.floats(0.0, 400.0),
    az=st.floats(-180.0, 180.0),
)
def test_box_for_holds_every_point_within_the_distance(lon, lat, km, az):
    """Every point ``km`` from a site near 180 (pyproj.Geod) lies in a part of its box."""
    from pyproj import Geod

    box = parallel._box_for(np.array([shapely.Point(lon, lat)]), np.array([km * 1e3]))
    x, y, _ = Geod(ellps="WGS84").fwd(lon, lat, az, km * 1e3)
    parts = [(-180.0, -90.0, 180.0, 90.0)] if box is None else parallel._parts(box)
    tol = 1e-7  # degrees (1 cm): Geod's rounding
    assert any(p[0] - tol <= x <= p[2] + tol and p[1] - tol <= y <= p[3] + tol for p in parts)
    assert box is None or sum(p[2] - p[0] for p in parts) < 360.0


# --------------------------------------------------------------------------- blocks in one process


def _by_blocks(monkeypatch, sites, per_block, call):
    """``call()`` recorded with classify cutting ``sites`` into blocks of ``per_block``
    sites, and the number of classify calls made (blocks, and the whole run if abandoned)."""
    from asm_pace import classification

    calls = []
    real = classification._classify
    monkeypatch.setattr(classification, "BLOCK_MIN_SITES", 2)
    monkeypatch.setattr(parallel, "SITES_PER_CHUNK", per_block)
    monkeypatch.setattr(
        classification, "_classify", lambda s, *a, **k: calls.append(len(s)) or real(s, *a, **k)
    )
    try:
        return call(), calls
    finally:
        monkeypatch.undo()


def _whole(monkeypatch, call):
    from asm_pace import classification

    monkeypatch.setattr(classification, "BLOCK_MIN_SITES", 10**12)
    try:
        return call()
    finally:
        monkeypatch.undo()


def test_blocks_are_the_whole_run(sample_sites, monkeypatch):
    """The samples in blocks of 5 sites: every column, value, dtype, index, attrs and
    warning of one classify call, each block classified on its own."""
    call = lambda: _serial(sample_sites, landscapes=LANDSCAPES)  # noqa: E731
    blocked, calls = _by_blocks(monkeypatch, sample_sites, 5, call)
    assert len(calls) == -(-len(sample_sites) // 5) >= 4
    assert sum(calls) == len(sample_sites)
    _same(blocked, _whole(monkeypatch, call))


def test_blocks_with_uncertainty_footprints_and_far_sites(sample_sites, monkeypatch, global_subset):
    sites = sample_sites.copy()
    sites.attrs = dict(sample_sites.attrs)
    pts = sites.geometry.values[::3]
    geoms = np.asarray(sites.geometry.values, dtype=object)
    geoms[::3] = asm_pace.geodesic_circles(shapely.get_x(pts), shapely.get_y(pts), 300.0)
    sites = sites.set_geometry(list(geoms), crs=4326)
    sites["uncertainty_m"] = np.where(np.arange(len(sites)) % 2 == 0, 5_000.0, np.nan)
    call = lambda: _serial(sites, uncertainty_m=20_000.0)  # noqa: E731
    blocked, calls = _by_blocks(monkeypatch, sites, 6, call)
    assert len(calls) >= 3 and sum(calls) == len(sites)
    _same(blocked, _whole(monkeypatch, call))
    # districts on every continent, some far from any area or at sea: the extent
    # warnings counted over all the sites, once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        far = asm_pace.read_sites(global_subset / "sites_3000.csv")
    pas, eco = global_subset / "protected_areas.gpkg", global_subset / "ecoregions.gpkg"
    call = lambda: _serial(far, pas, eco)  # noqa: E731
    blocked, calls = _by_blocks(monkeypatch, far, 400, call)
    whole = _whole(monkeypatch, call)
    assert len(calls) == -(-len(far) // 400) and sum(calls) == len(far)
    assert whole[1] and (whole[0]["nearest_pa_km"] > parallel.FIRST_MARGIN_KM).any()
    _same(blocked, whole)


def test_blocks_across_the_antimeridian(tmp_path, monkeypatch):
    pas_path, eco_path = _fiji_layers(tmp_path)
    sites = _fiji_sites()
    call = lambda: _serial(sites, pas=pas_path, eco=eco_path)  # noqa: E731
    blocked, calls = _by_blocks(monkeypatch, sites, 8, call)
    assert len(calls) == 6
    _same(blocked, _whole(monkeypatch, call))


def test_a_block_that_warns_gives_the_whole_run(sample_sites, monkeypatch):
    """An invalid area near the sites: a block's repair warning would count its own sites
    only, so the blocks are dropped and the run is made whole (its warning, once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(PAS)
        eco = asm_pace.read_ecoregions(ECO)
    site = sample_sites.geometry.iloc[0]
    x, y = site.x, site.y
    bowtie = shapely.Polygon(
        [(x - 0.1, y - 0.1), (x + 0.1, y + 0.1), (x + 0.1, y - 0.1), (x - 0.1, y + 0.1)]
    )
    broken = pd.concat([pas, pas.iloc[[0]].assign(pa_id="BOWTIE", geometry=[bowtie])])
    broken = gpd.GeoDataFrame(broken, geometry="geometry", crs=4326).reset_index(drop=True)
    call = lambda: _recorded(lambda: asm_pace.classify(sample_sites, broken, eco))  # noqa: E731
    blocked, calls = _by_blocks(monkeypatch, sample_sites, 5, call)
    assert calls[-1] == len(sample_sites) and len(calls) >= 2  # a block, then the whole run
    whole = _whole(monkeypatch, call)
    assert any(kind == "RepairedGeometryWarning" for kind, _ in whole[1])
    _same(blocked, whole)
