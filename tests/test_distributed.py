"""classify on a dask.distributed cluster (``asm_pace.distributed``, ``--scheduler``).

A real ``LocalCluster`` (2 worker processes, 1 thread each), started once for the module.
Every result is compared with one serial :func:`asm_pace.classify` call on the same sites
(``sites.compute()`` for a dask input) and layers read whole: every column, value
(exactly), dtype, index and order, the ``attrs``, and the warnings given. What each
worker read is checked against the protected areas of the file that meet its box.
"""

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
from asm_pace import distributed as dist
from asm_pace import parallel
from asm_pace.cli import cli
from asm_pace.datasets import sample_path
from asm_pace.errors import CRSError, InputError

dask_geopandas = pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")

from test_parallel import _recorded, _same, _serial  # noqa: E402

PAS = sample_path("protected_areas.gpkg")
ECO = sample_path("ecoregions.gpkg")
LANDSCAPES = sample_path("priority_landscapes.gpkg")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def sample_sites():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asm_pace.read_sites(sample_path("sites.csv"))


def _dask(sites, pas=PAS, eco=ECO, npartitions=3, **kw):
    frame = dask_geopandas.from_geopandas(sites, npartitions=npartitions)
    return _recorded(lambda: dist.classify_dask(frame, pas, eco, **kw)), frame.compute()


def _read_ids(path, box) -> set[str]:
    if box is not None and isinstance(box[0], tuple):  # across +-180: its two parts
        return _read_ids(path, box[0]) | _read_ids(path, box[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = asm_pace.read_protected_areas(path, **({} if box is None else {"bbox": box}))
    return set(layer["pa_id"].astype(str))


def _each_chunk_read_its_box(out, path, fewer):
    """Each chunk read the areas meeting its box, its sites' nearest areas among them
    (the chunks are the Hilbert runs, by count); with ``fewer``, fewer than the file's."""
    everything = _read_ids(path, None)
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(*_centres(out).T), crs=4326, index=out.index
    )
    chunks = parallel.spatial_chunks(points, len(dist.LAST_RUN["boxes"]))
    assert [len(c) for c in chunks] == dist.LAST_RUN["sites"]
    for positions, box in zip(chunks, dist.LAST_RUN["boxes"], strict=True):
        assert box is not None
        read = _read_ids(path, box)
        assert len(read) < len(everything) or not fewer
        nearest = out["nearest_pa_id"].iloc[positions].astype(str)
        assert set(nearest[nearest != ""]) <= read


def _centres(gdf) -> np.ndarray:
    b = shapely.bounds(np.asarray(gdf.to_crs(4326).geometry.values, dtype=object))
    return np.c_[(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2]


def test_samples_identical_to_serial_and_each_worker_reads_its_box(client, sample_sites):
    (par, warned), computed = _dask(sample_sites, priority_landscapes=LANDSCAPES)
    _same((par, warned), _serial(computed, landscapes=LANDSCAPES))
    assert dist.LAST_RUN["partitions"] == 3 and dist.LAST_RUN["chunks"] == 2
    assert "serial" not in dist.LAST_RUN and len(set(dist.LAST_RUN["pids"])) == 2
    _each_chunk_read_its_box(par, PAS, fewer=False)  # 9 areas, all near every site
    # more chunks than workers, and an uncertainty (asm_pace.classify's dispatch to here:
    # classify_dask's doctest and the refusals below)
    frame = dask_geopandas.from_geopandas(sample_sites, npartitions=4)
    more = _recorded(lambda: dist.classify_dask(frame, PAS, ECO, chunks=5, uncertainty_m=2e4))
    _same(more, _serial(frame.compute(), uncertainty_m=2e4))
    assert dist.LAST_RUN["chunks"] == 5


def test_a_generated_world_across_the_antimeridian(client, tmp_path, monkeypatch):
    """Sites in districts on every continent (some far from any area, some at sea: the
    serial warnings, counted over all the sites) and sites on both sides of 180 degrees
    (points and footprints), next to areas at the antimeridian."""
    import subprocess
    import sys
    from pathlib import Path

    make = Path(__file__).resolve().parents[1] / "benchmarks" / "make_global.py"
    subprocess.run(
        [sys.executable, str(make), str(tmp_path), "--scale", "0.01", "--sites", "1000"],
        check=True, capture_output=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world = asm_pace.read_sites(tmp_path / "sites_1000.csv")
    rng = np.random.default_rng(10)
    lon = np.r_[rng.uniform(179.4, 180.0, 40), rng.uniform(-180.0, -179.4, 40)]
    lat = rng.uniform(54.0, 58.0, lon.size)
    geoms = list(shapely.points(lon, lat))
    # two footprints, one each side of 180 degrees, beside areas at the antimeridian (a
    # footprint across 180 costs classify seconds: its box spans every longitude)
    geoms[:2] = asm_pace.geodesic_circles(np.array([179.8, -179.8]), np.array([57.6, 57.7]), 5e3)
    edge = gpd.GeoDataFrame(
        {"site_id": [f"AM{i}" for i in range(lon.size)]}, geometry=geoms, crs=4326
    )
    sites = pd.concat([world[["site_id", "geometry"]], edge], ignore_index=True)
    sites.attrs = dict(world.attrs)
    pas, eco = tmp_path / "protected_areas.gpkg", tmp_path / "ecoregions.gpkg"
    # the default chunks (site_chunks), at 100 sites a chunk: many more chunks than workers
    monkeypatch.setattr(parallel, "SITES_PER_CHUNK", 100)
    (par, warned), computed = _dask(sites, pas, eco, npartitions=5)
    _same((par, warned), _serial(computed, pas, eco))
    assert warned and "serial" not in dist.LAST_RUN
    per_thread = -(-len(sites) // (100 * 2))  # ceil: a whole number of chunks a worker
    assert dist.LAST_RUN["chunks"] == 2 * per_thread and per_thread >= 5
    assert len(set(dist.LAST_RUN["pids"])) == 2  # both workers took chunks
    # some of them nearest to an area on the other side of 180 degrees
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        areas = asm_pace.read_protected_areas(pas).set_index("pa_id")
    edge_out = par[par["site_id"].str.startswith("AM")]
    x = shapely.get_x(shapely.centroid(areas.geometry.loc[edge_out["nearest_pa_id"]].values))
    assert (np.sign(x) != np.sign(_centres(edge_out)[:, 0])).any()
    assert (par["nearest_pa_km"] > parallel.FIRST_MARGIN_KM).any()  # boxes were widened
    _each_chunk_read_its_box(par, pas, fewer=True)


def test_refusals_and_the_serial_run(client, sample_sites, monkeypatch):
    frame = dask_geopandas.from_geopandas(sample_sites, npartitions=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(PAS)
    with pytest.raises(InputError, match="protected_areas: with dask-geopandas sites give a"):
        asm_pace.classify(frame, pas, ECO)
    with pytest.raises(InputError, match="Key Biodiversity Areas with dask-geopandas sites"):
        asm_pace.classify(frame, PAS, ECO, kbas=pas)
    no_crs = dask_geopandas.from_geopandas(
        sample_sites.set_crs(None, allow_override=True), npartitions=2
    )
    with pytest.raises(CRSError, match="no coordinate reference system"):
        asm_pace.classify(no_crs, PAS, ECO)
    # what a chunk refuses, and sites at sea: refused as serially, word for word
    bad = sample_sites.assign(uncertainty_m=["-3"] + [""] * (len(sample_sites) - 1))
    sea = sample_sites.set_geometry(
        gpd.points_from_xy(np.linspace(-100, -99, len(sample_sites)), np.zeros(len(sample_sites))),
        crs=4326,
    )
    for sites, serial in ((bad, True), (sea, False)):
        (par, warned), computed = _dask(sites)
        expected = _serial(computed)
        assert isinstance(expected[0], InputError)
        _same((par, warned), expected)
        # the value: a chunk refused it, the run was made serially; the sea: refused by
        # the client's extent check on all the sites' results
        assert ("serial" in dist.LAST_RUN) is serial
    # the scheduler's address: nothing there, not an address, with jobs, empty
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 0.5)
    for address in ("tcp://127.0.0.1:1", "no-port"):
        with pytest.raises(InputError, match="no dask scheduler answered"):
            dist.check_scheduler(address)
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 30.0)  # the cluster's: a loaded machine
    address = client.scheduler.address
    with pytest.raises(InputError, match="--jobs"):
        dist.check_scheduler(address, jobs=2)
    with pytest.raises(InputError, match="give the dask scheduler's address"):
        dist.check_scheduler(" ")
    # workers that cannot run asm_pace, or run another version
    monkeypatch.setattr(dist, "_WORKER_PROBE", lambda: 1 / 0)
    with pytest.raises(InputError, match="the workers cannot run asm_pace"):
        dist.check_scheduler(address)
    monkeypatch.setattr(dist, "_WORKER_PROBE", dist._probe)
    monkeypatch.setattr(asm_pace, "__version__", "0.0.0+other")
    with pytest.raises(InputError, match=r"2 of 2 worker\(s\) run other versions"):
        dist.check_scheduler(address)


def test_cli_scheduler_writes_the_serial_geopackage(client, tmp_path):
    layers = {}
    args = ["classify", str(sample_path("sites.csv")), "-p", str(PAS), "-e", str(ECO)]
    args += ["--buffers", "1,10"]  # the zone steps go to the cluster too (asm_pace.chunked)
    for name, extra in (
        ("serial", ["--jobs", "1"]),
        ("cluster", ["--scheduler", client.scheduler.address]),
    ):
        out = tmp_path / f"{name}.gpkg"
        result = CliRunner().invoke(cli, [*args, "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        layers[name] = [gpd.read_file(out, layer=n) for n in ("sites", "buffers", "overlaps")]
    assert parallel.LAST_RUN["chunks"] == 2 and None not in parallel.LAST_RUN["boxes"]
    for cluster, serial in zip(layers["cluster"], layers["serial"], strict=True):
        pd.testing.assert_frame_equal(cluster, serial, check_exact=True)
    both = CliRunner().invoke(
        cli, [*args, "-o", str(tmp_path / "x.gpkg"), "--jobs", "2", "--scheduler", "tcp://h:1"]
    )
    assert both.exit_code != 0 and "--jobs" in both.output and "--scheduler" in both.output


def test_a_worker_reads_a_changed_ecoregion_file_anew(client, sample_sites, tmp_path):
    """The ecoregions a worker keeps are keyed on the file's identity and forgotten by
    clear_reads; a file rewritten between two runs gives the new file's serial result."""
    import os
    import shutil

    eco = tmp_path / "eco.gpkg"
    shutil.copy(ECO, eco)

    def rewrite(layer):  # as an editor would: a new file in the old one's place
        layer.to_file(tmp_path / "new.gpkg", layer="ecoregions", driver="GPKG")
        os.replace(tmp_path / "new.gpkg", eco)

    first = parallel._read_once("ecoregions", str(eco), {})
    assert parallel._read_once("ecoregions", str(eco), {}) is first  # kept
    raw = gpd.read_file(ECO)
    raw["ECO_NAME"] = raw["ECO_NAME"] + " (revised)"
    rewrite(raw)  # another size and time: read anew
    second = parallel._read_once("ecoregions", str(eco), {})
    assert second is not first
    assert second["eco_name"].str.endswith(" (revised)").all()
    assert parallel.clear_reads() >= 2 and parallel.clear_reads() == 0
    frame = dask_geopandas.from_geopandas(sample_sites, npartitions=2)
    runs = []
    for names in (raw["ECO_NAME"], raw["ECO_NAME"] + " again"):
        rewrite(raw.assign(ECO_NAME=names))
        runs.append(_recorded(lambda: dist.classify_dask(frame, PAS, eco)))
        _same(runs[-1], _serial(frame.compute(), eco=eco))
    assert runs[1][0]["eco_name"].str.endswith(" again").any()


def test_a_refused_address_leaves_no_client_to_the_garbage_collector():
    """Nothing answers: the half-made client is gone when the refusal is raised. Left to
    the garbage collector, its __del__ ran while the next client started, and distributed
    deadlocked there (the test suite hung in the refusals above)."""
    import gc

    import distributed

    with (
        pytest.raises(InputError, match="no dask scheduler answered"),
        dist.scheduler_client("tcp://127.0.0.1:1", timeout=0.3),
    ):
        pass
    left = [
        o
        for o in gc.get_objects()
        if isinstance(o, distributed.Client)
        and getattr(o, "_start_arg", None) == "tcp://127.0.0.1:1"
    ]
    assert left == []


def test_site_chunks():
    """About SITES_PER_CHUNK sites a chunk, a whole number of chunks per thread."""
    per = parallel.SITES_PER_CHUNK
    for n_sites, threads in ((1, 1), (per, 2), (per * 2 + 1, 2), (10**6, 2), (10**6, 7)):
        n = parallel.site_chunks(n_sites, threads)
        assert n % threads == 0 and n >= threads
        assert n_sites / n <= per
        assert n == threads or n_sites / (n - threads) > per  # one fewer a thread: too big


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    lon0=st.sampled_from([-179.5, -60.0, 0.0, 120.0, 179.5]),
    lat0=st.floats(-70.0, 70.0),
)
def test_a_chunk_keeps_every_area_near_its_sites(seed, lon0, lat0):
    """parallel._near_sites (each chunk's areas cut to those near its own sites): every
    area within a site's distance is kept, by geodesic distances (pyproj.Geod) to the
    areas' boundaries densified to 0.01 degree; near +-180 and away from it."""
    from pyproj import Geod

    rng = np.random.default_rng(seed)
    lon = (lon0 + rng.uniform(-1.0, 1.0, 12) + 180.0) % 360.0 - 180.0
    lat = np.clip(lat0 + rng.uniform(-1.0, 1.0, 12), -89.0, 89.0)
    sites = shapely.points(lon, lat)
    need = rng.uniform(5e3, 80e3, sites.size)
    cx = (lon0 + rng.uniform(-4.0, 4.0, 60) + 180.0) % 360.0 - 180.0
    cy = np.clip(lat0 + rng.uniform(-3.0, 3.0, 60), -88.0, 88.0)
    size = rng.uniform(0.02, 0.3, 60)
    areas = shapely.box(
        cx - size, cy - size, np.minimum(cx + size, 180.0), np.minimum(cy + size, 89.5)
    )
    areas = np.where(
        cx - size < -180.0, shapely.box(-180.0, cy - size, cx + size, cy + size), areas
    )
    pas = gpd.GeoDataFrame({"pa_id": np.arange(60)}, geometry=areas, crs=4326)
    pas.attrs["source"] = "test"
    kept = parallel._near_sites(pas, sites, need)
    assert kept["pa_id"].is_monotonic_increasing and kept.attrs == pas.attrs
    geod = Geod(ellps="WGS84")
    for i, area in enumerate(areas):
        ring = shapely.segmentize(shapely.get_exterior_ring(area), 0.01)
        xy = shapely.get_coordinates(ring)
        near = any(
            geod.inv(np.full(len(xy), x), np.full(len(xy), y), xy[:, 0], xy[:, 1])[2].min() <= d
            or shapely.contains_xy(area, x, y)
            for x, y, d in zip(lon, lat, need, strict=True)
        )
        if near:
            assert i in set(kept["pa_id"]), (i, area)
