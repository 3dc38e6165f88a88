"""The compiled (numba) coverage kernels against the numpy path and brute force.

Large chunks go through ``asm_pace._coverage_nb``; these tests force that path
(``JIT_MIN = 0``) on small random cases and compare it with (a) shapely
cell-by-cell intersection areas, an independent brute force, and (b) the
vectorised numpy path, to floating-point rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm_pace import _coverage as cov

pytest.importorskip("numba")


def brute_label_sums(geoms, labels, k, row_weight):
    """Per piece and label: sum over cells of intersection area * row weight (shapely)."""
    h, w = labels.shape
    out = np.zeros((len(geoms), k))
    for p, g in enumerate(geoms):
        for r in range(h):
            for c in range(w):
                a = shapely.box(c, r, c + 1, r + 1).intersection(g).area
                if a:
                    out[p, labels[r, c]] += a * row_weight[r]
    return out


def random_pieces(seed: int, h: int, w: int, n: int) -> np.ndarray:
    """Polygons in pixel coordinates: circles, squares and holed shapes, clipped to the chunk."""
    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(-2, w + 2, n), rng.uniform(-2, h + 2, n))
    geoms = shapely.buffer(pts, rng.uniform(0.3, max(h, w) / 2, n), quad_segs=rng.integers(1, 9))
    holed = rng.random(n) < 0.3
    holes = shapely.buffer(pts[holed], 0.25 * rng.uniform(0.2, 1.0, int(holed.sum())))
    geoms[holed] = shapely.difference(geoms[holed], holes)
    return shapely.clip_by_rect(geoms, 0, 0, w, h)


def coverage_grid(ev, piece: int, h: int, w: int) -> np.ndarray:
    """The coverage of every pixel of the chunk by one piece (``dense_weights`` placed)."""
    out = np.zeros((h, w + 1))
    cov_, (r0, c0) = cov.dense_weights(ev, piece)
    out[r0 : r0 + cov_.shape[0], c0 : c0 + cov_.shape[1]] = cov_
    return out[:, :w]


def with_jit(monkeypatch, on: bool) -> None:
    """Force the compiled path (on) or the numpy path (off) whatever the sizes."""
    monkeypatch.setattr(cov, "JIT_MIN", 0 if on else 10**12)
    monkeypatch.setattr(cov, "JIT_LOAD", 0 if on else 10**12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 9),
    w=st.integers(1, 11),
    n=st.integers(1, 4),
    k=st.integers(1, 8),
)
def test_compiled_exact_sums_equal_brute_force(monkeypatch, seed, h, w, n, k):
    geoms = random_pieces(seed, h, w, n)
    rng = np.random.default_rng(seed + 1)
    labels = rng.integers(0, k, (h, w)).astype(np.uint16)
    rw = rng.uniform(0.5, 2.0, h)
    ref = brute_label_sums(geoms, labels, k, rw)
    with_jit(monkeypatch, True)
    ev = cov.exact_edge_events(cov.edges(geoms), (h, w))
    got = cov.label_sums(ev, labels, k, rw, n)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 40),
    w=st.integers(1, 60),
    n=st.integers(1, 12),
    k=st.sampled_from([2, 3, 5, 26]),
    frequent=st.floats(0.0, 0.95),
)
def test_compiled_path_equals_numpy_path(monkeypatch, seed, h, w, n, k, frequent):
    """Each piece's coverage of every pixel and the sums to rounding, both rules (the kernel
    cuts an edge at its row and column crossings in one merged pass, the numpy path rows
    first, then columns: the same pieces by other floating-point operations)."""
    geoms = random_pieces(seed, h, w, n)
    rng = np.random.default_rng(seed + 2)
    labels = rng.integers(0, k, (h, w)).astype(np.uint8)
    labels[rng.random((h, w)) < frequent] = k - 1
    rw = rng.uniform(0.5, 2.0, h)
    e = cov.edges(geoms)
    with_jit(monkeypatch, False)
    a = cov.exact_edge_events(e, (h, w))
    sa = cov.label_sums(a, labels, k, rw, n)
    ca = cov.label_sums(cov.center_edge_events(e, (h, w)), labels, k, rw, n)
    with_jit(monkeypatch, True)
    b = cov.exact_edge_events(e, (h, w))
    assert b.by_row and not a.by_row
    np.testing.assert_array_equal(np.sort(a.piece), np.sort(b.piece))  # a prefix per row piece
    for p in range(n):
        np.testing.assert_allclose(
            coverage_grid(b, p, h, w), coverage_grid(a, p, h, w), rtol=0, atol=1e-12
        )
    scale = max(1.0, float(np.abs(sa).max()))
    np.testing.assert_allclose(cov.label_sums(b, labels, k, rw, n), sa, rtol=0, atol=1e-11 * scale)
    cb = cov.label_sums(cov.center_edge_events(e, (h, w)), labels, k, rw, n)
    np.testing.assert_allclose(cb, ca, rtol=0, atol=1e-11 * scale)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 12),
    w=st.integers(1, 14),
    n=st.integers(1, 5),
    half=st.booleans(),
)
def test_grid_aligned_edges(monkeypatch, seed, h, w, n, half):
    """Polygons whose vertices sit on pixel corners (or half-pixel points): edges along
    grid lines, through grid corners and ending on them, where the walk's tie between a
    row and a column crossing and its end of a sequence of crossings decide the pieces.
    The fused kernel and the compiled events equal shapely's cell areas."""
    rng = np.random.default_rng(seed)
    step = 0.5 if half else 1.0
    geoms = []
    for _ in range(n):
        pts = rng.integers(-1, int((max(h, w) + 1) / step), (int(rng.integers(3, 7)), 2)) * step
        hull = shapely.convex_hull(shapely.multipoints(pts))
        if hull.geom_type != "Polygon" or hull.area == 0:
            x, y = pts[0]
            hull = shapely.box(x, y, x + 2 * step, y + step)  # a box on the lattice
        geoms.append(shapely.orient_polygons(hull))
    geoms = np.array(geoms, dtype=object)
    labels = rng.integers(0, 26, (h, w)).astype(np.uint16)
    rw = rng.uniform(0.5, 2.0, h)
    clipped = shapely.clip_by_rect(geoms, 0, 0, w, h)
    ref = brute_label_sums(clipped, labels, 26, rw)
    with_jit(monkeypatch, True)
    ev = cov.exact_edge_events(cov.edges(clipped), (h, w))
    np.testing.assert_allclose(cov.label_sums(ev, labels, 26, rw, n), ref, rtol=0, atol=1e-9)
    # the whole polygons' edges, cut to the chunk's rows by the fused kernel (columns: the
    # window holds them, as forest._windows gives it)
    start, end, owner = cov.edges(geoms)
    first = np.searchsorted(owner, np.arange(n + 1))
    c0 = min(0, int(np.floor(shapely.bounds(geoms)[:, 0].min())))
    c1 = max(w, int(np.ceil(shapely.bounds(geoms)[:, 2].max())))
    wide = np.zeros((h, c1 - c0), dtype=np.uint16)  # the chunk's columns within the window
    wide[:, -c0 : -c0 + w] = labels + 1
    fused = cov.BandEdges(start, end, first[:-1], first[1:], 0, h, c0, (h, c1 - c0), "exact")
    got = cov.label_sums(fused, wide, 27, rw, n)
    np.testing.assert_allclose(got[:, 1:], ref, rtol=0, atol=1e-9)


def test_edges_reaching_far_outside_the_chunk(monkeypatch):
    """A triangle from 50 rows above a 3 x 3 chunk to 60 below it: the compiled cuts (their
    scratch sized by the edges, not the chunk; it wrote past its arrays before) give the
    numpy path's coverage of every pixel."""
    start = np.array([[0.5, -50.0], [2.5, 60.0], [2.9, 60.0]])
    end = np.array([[2.5, 60.0], [2.9, 60.0], [0.5, -50.0]])
    e = (start, end, np.zeros(3, dtype=np.intp))
    with_jit(monkeypatch, False)
    a = cov.exact_edge_events(e, (3, 3))
    with_jit(monkeypatch, True)
    b = cov.exact_edge_events(e, (3, 3))
    assert b.by_row and not a.by_row
    np.testing.assert_allclose(coverage_grid(b, 0, 3, 3), coverage_grid(a, 0, 3, 3), atol=1e-12)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    r0=st.integers(-5, 30),
    hb=st.integers(1, 25),
    c0=st.integers(-5, 20),
    n=st.integers(1, 10),
    rule=st.sampled_from(["exact", "center"]),
    size=st.sampled_from([1, 1, 8]),
)
def test_band_edges_fused_equals_events(monkeypatch, seed, r0, hb, c0, n, rule, size):
    """Label sums straight from global edges (one band, one column offset) equal the events',
    also for zones up to 400 pixels (``size`` 8), and are the same bit for bit on one
    thread or two."""
    rng = np.random.default_rng(seed)
    hb *= size
    geoms = shapely.buffer(
        shapely.points(rng.uniform(0, 50 * size, n), rng.uniform(0, 50 * size, n)),
        rng.uniform(0.5, 20 * size, n),
        quad_segs=rng.integers(1, 9),
    )
    start, end, owner = cov.edges(geoms)
    first = np.searchsorted(owner, np.arange(n + 1))
    # the window holds every zone's columns (as forest._windows gives it)
    xmin = int(np.floor(shapely.bounds(geoms)[:, 0].min()))
    xmax = int(np.ceil(shapely.bounds(geoms)[:, 2].max()))
    c0 = min(c0, xmin)
    shape = (hb, xmax - c0)
    labels = rng.integers(0, 26, shape).astype(np.uint16)
    rw = rng.uniform(0.5, 2.0, hb)
    with_jit(monkeypatch, True)
    fused = cov.BandEdges(start, end, first[:-1], first[1:], r0, r0 + hb, c0, shape, rule)
    got = cov.label_sums(fused, labels, 26, rw, n)
    again = cov.BandEdges(start, end, first[:-1], first[1:], r0, r0 + hb, c0, shape, rule)
    np.testing.assert_array_equal(cov.label_sums(again, labels, 26, rw, n, threads=2), got)
    with_jit(monkeypatch, False)
    ref_edges = cov.band_edges((start, end, owner), r0, r0 + hb, c0)
    make = cov.exact_edge_events if rule == "exact" else cov.center_edge_events
    ref = cov.label_sums(make(ref_edges, shape), labels, 26, rw, n)
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11 * scale)
    # the attributes of the events are there too (built on first use)
    assert len(fused.piece) == len(make(ref_edges, shape).piece)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), flip=st.booleans())
def test_pixel_edges_compiled_equals_numpy(monkeypatch, seed, n, flip):
    """The same directed edges per zone (counter-clockwise in pixels), north-up or not,
    empty zones among them."""
    rng = np.random.default_rng(seed)
    geoms = shapely.buffer(
        shapely.points(rng.uniform(-60, -59, n), rng.uniform(-1, 0, n)),
        rng.uniform(0.001, 0.2, n),
        quad_segs=rng.integers(1, 9),
    )
    cw = rng.random(n) < 0.5
    geoms[cw] = shapely.reverse(geoms[cw])  # clockwise rings too
    empty = rng.random(n) < 0.15
    geoms[empty] = shapely.Polygon()  # and empty zones, which have no edge
    grid = (-60.0, 0.0, 0.00025, 0.00025 if flip else -0.00025)
    with_jit(monkeypatch, False)
    a = owned(*cov.pixel_edges(geoms, *grid))
    with_jit(monkeypatch, True)
    b = owned(*cov.pixel_edges(geoms, *grid))
    assert np.array_equal(a[2], b[2])
    # two threads write the two halves of the rings: the same edges, bit for bit
    for x, y in zip(owned(*cov.pixel_edges(geoms, *grid, threads=2)), b, strict=True):
        np.testing.assert_array_equal(x, y)

    def keyed(e):
        return sorted(
            zip(e[2].tolist(), map(tuple, e[0].tolist()), map(tuple, e[1].tolist()), strict=True)
        )

    assert keyed(a) == keyed(b)
    # counter-clockwise in pixel coordinates: positive shoelace area per zone
    s, t, o = b
    twice = np.bincount(o, s[:, 0] * t[:, 1] - t[:, 0] * s[:, 1], minlength=n)
    assert (twice[~empty] > 0).all() and not np.isin(o, np.flatnonzero(empty)).any()


def owned(start, end, e0, e1):
    """Edges (start, end, owner) from ``pixel_edges``' per-geometry ranges ``e0:e1``."""
    sel = np.concatenate([np.arange(a, b) for a, b in zip(e0, e1, strict=True)]).astype(int)
    return start[sel], end[sel], np.repeat(np.arange(len(e0)), e1 - e0)


@pytest.mark.parametrize("coverage", ["exact", "center"])
def test_forest_loss_compiled_equals_numpy_on_the_fixture(monkeypatch, tmp_path, coverage):
    """End to end: holes, multipolygons, nodata, several tiles of codes: both paths agree."""
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin

    from asm_pace import forest_loss
    from asm_pace.errors import CoverageWarning
    from asm_pace.geodesy import geodesic_circles

    rng = np.random.default_rng(7)
    h, w, res = 60, 80, 0.001
    tc = rng.integers(0, 101, (h, w)).astype("uint8")
    tc[3, 4] = 255
    ly = np.where(rng.random((h, w)) < 0.3, rng.integers(1, 24, (h, w)), 0).astype("uint8")
    paths = []
    for name, arr in (("treecover2000", tc), ("lossyear", ly)):
        p = tmp_path / f"Hansen_GFC-2023-v1.11_{name}_00N_060W.tif"
        with rasterio.open(
            p, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint8", nodata=255,
            crs="EPSG:4326", transform=from_origin(-60.0, 0.0, res, res),
        ) as ds:  # fmt: skip
            ds.write(arr, 1)
        paths.append(p)
    lon = rng.uniform(-59.99, -59.93, 30)
    lat = rng.uniform(-0.055, -0.005, 30)
    geoms = geodesic_circles(lon, lat, rng.uniform(100, 3000, 30))
    geoms[0] = shapely.difference(geoms[0], shapely.buffer(shapely.points(lon[0], lat[0]), 0.0005))
    geoms[1] = shapely.union(geoms[1], shapely.box(-59.93, -0.02, -59.925, -0.01))
    zones = gpd.GeoDataFrame(geometry=geoms, crs=4326)
    with_jit(monkeypatch, False)
    with pytest.warns(CoverageWarning):  # the nodata pixel, zones past the edge
        a = forest_loss(zones, treecover=paths[0], lossyear=paths[1], coverage=coverage)
    with_jit(monkeypatch, True)
    with pytest.warns(CoverageWarning):
        b = forest_loss(zones, treecover=paths[0], lossyear=paths[1], coverage=coverage)
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-10, atol=1e-10)
    # two threads: the kernel's parts are summed in one order, so the same bits
    with pytest.warns(CoverageWarning):
        c = forest_loss(zones, treecover=paths[0], lossyear=paths[1], coverage=coverage, threads=2)
    np.testing.assert_array_equal(c.to_numpy(), b.to_numpy())


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_forest_loss_refuses_bad_threads(threads):
    import geopandas as gpd

    from asm_pace import datasets, forest_loss
    from asm_pace.errors import InputError

    zones = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(InputError, match=r"forest_loss\(threads="):
        forest_loss(
            zones,
            treecover=datasets.sample_path("treecover2000.tif"),
            lossyear=datasets.sample_path("lossyear.tif"),
            threads=threads,
        )


def test_small_work_does_not_load_the_kernels(monkeypatch):
    """Below JIT_LOAD edges the numpy path runs (no numba import for small runs)."""
    monkeypatch.setattr(cov, "_NB", None)
    assert cov._kernels(cov.JIT_LOAD - 1) is None
    assert cov._NB is None
    assert cov.chunk_pixels(cov.JIT_LOAD - 1) == cov.MAX_PIXELS
    assert cov.chunk_pixels(cov.JIT_LOAD) == cov.MAX_PIXELS_NB
    # loaded or not, the path depends on the size alone (a worker process, which has not
    # loaded them, must take the parent's path: the same rounding, bit for bit)
    assert cov._kernels(cov.JIT_LOAD) is not None and cov._NB is not None
    assert cov._kernels(cov.JIT_LOAD - 1) is None
    assert cov._kernels(cov.JIT_MIN) is None


def test_fused_path_falls_back_on_rows_too_wide_for_16_bit_counts(monkeypatch):
    """A chunk 70,000 pixels wide (counts past 2**16 along a row) sums through the events:
    the same as shapely's cell-by-cell areas of a zone where a row holds 2**16 pixels of one label."""
    h, w = 2, 70_000
    geom = shapely.Polygon(
        [(66_000.5, 0.25), (67_990.5, 0.75), (67_990.25, 1.75), (66_000.25, 1.5)]
    )
    rng = np.random.default_rng(3)
    labels = np.array([[0], [1]], dtype=np.uint8).repeat(w, axis=1)  # 70,000 of each
    sprinkle = rng.random((h, w)) < 0.02
    labels[sprinkle] = rng.integers(2, 5, int(sprinkle.sum()))
    rw = np.array([1.0, 2.0])
    start, end, _ = cov.edges(np.array([geom]))
    with_jit(monkeypatch, True)
    ev = cov.BandEdges(start, end, np.array([0]), np.array([len(start)]), 0, h, 0, (h, w))
    got = cov.label_sums(ev, labels, 5, rw, 1)
    # brute force on the cells under the zone: intersection areas by shapely
    ref = np.zeros(5)
    cols = np.arange(66_000, 67_992)
    for r in range(h):
        area = shapely.area(shapely.intersection(shapely.box(cols, r, cols + 1, r + 1), geom))
        ref += np.bincount(labels[r, cols], weights=area * rw[r], minlength=5)
    np.testing.assert_allclose(got[0], ref, rtol=1e-9, atol=1e-9)
