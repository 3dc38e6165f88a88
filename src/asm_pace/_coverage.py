"""Private: exact and centre-rule zonal sums on a pixel grid by Green's theorem.

Everything here works in *pixel coordinates* of one raster chunk: ``u`` is the
column coordinate (cell ``c`` spans ``c <= u < c + 1``), ``w`` the row coordinate
(cell ``r`` spans ``r <= w < r + 1``); polygons are oriented counter-clockwise in
the ``(u, w)`` plane (``shapely.orient_polygons``).

The method
----------
For a polygon ``P`` and a per-pixel value ``v``, the coverage-weighted sum
``S = sum_rc frac(r, c) * v(r, c)`` is a double integral of the piecewise
constant function ``v``. With ``V(r, c) = sum_{c' < c} v(r, c')`` (the exclusive
prefix sum along the row), Green's theorem turns it into a line integral over
the polygon boundary only::

    area(P & cell(r, c)) = own(r, c) + sum_{c' > c} T(r, c')
    S = sum_segments  own_s * v(r_s, c_s) + T_s * V(r_s, c_s)

where the boundary is cut into segments ``s`` lying in one cell each,
``T_s = dw`` (the segment's rise) and ``own_s = (mean u - c) * dw`` (the
integral of ``u - c`` along it). Interior pixels are never visited: their
contribution comes from the prefix sums at the boundary, so the work per zone
is proportional to its perimeter in pixels, not its area. The centre rule
(a pixel counts when its centre is inside) is the same sum with ``own = 0`` and
one event per crossing of a row's centre line (``T = +-1`` at the first
pixel whose centre lies right of the crossing).

The row prefix ``V(r, c)`` may be replaced by the prefix over the whole chunk
in row-major order, ``G(r * W + c)``: the two differ by a constant on each row
and a closed boundary's rises sum to zero on every row. For many classes (loss
years) the three most frequent labels share one cumulative sum of packed
21-bit counts, and the rarer labels a cumulative one-hot table over the rare
pixels only, so preparing a chunk costs a few passes over its pixels whatever
the number of classes.

Chunks with many edges go through compiled kernels (``_coverage_nb``, numba):
the same events (each edge cut at its row and column crossings in one merged
pass, so equal to rounding), the same sums added in another order, without the
temporary arrays. Small chunks stay on numpy, which
spares importing numba (about half a second) in small runs.
"""

from __future__ import annotations

import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse

__all__ = [
    "MAX_PIXELS",
    "MAX_PIXELS_NB",
    "chunk_pixels",
    "Own",
    "Events",
    "BandEdges",
    "edges",
    "pixel_edges",
    "band_edges",
    "exact_edge_events",
    "center_edge_events",
    "Workspace",
    "label_sums",
    "field_sums",
    "dense_weights",
]


@dataclass
class Own:
    """Weights on the value of the pixel ``(row, col)`` itself, per piece."""

    piece: np.ndarray
    row: np.ndarray
    col: np.ndarray
    weight: np.ndarray


@dataclass
class Events:
    """Boundary events of polygon pieces on a chunk of ``shape`` pixels.

    ``piece``, ``row``, ``col`` locate each prefix event: ``rise`` weighs the
    exclusive row prefix at ``col`` (``col`` may equal the chunk width for the
    centre rule). ``own`` weighs pixel values directly (exact coverage only),
    and so does ``own_at``, aligned with the prefix events (the value of the
    pixel at ``row``, ``col``).
    """

    piece: np.ndarray
    row: np.ndarray
    col: np.ndarray
    rise: np.ndarray
    own: Own | None
    shape: tuple[int, int]
    own_at: np.ndarray | None = None
    by_row: bool = False  # events sorted by row (the compiled kernels' order)


class BandEdges:
    """Exact-coverage events of zones' edges on a band of rows, computed when needed.

    ``start``/``end`` are edges in global pixel coordinates, piece ``p``'s edges
    ``e0[p]:e1[p]``, the chunk rows ``r0:r1`` from column ``c0``. :func:`label_sums`
    sums straight from the edges (compiled kernel, no event arrays); any other use
    reads the attributes of :class:`Events` (``piece``, ``own``...), built on first use.
    """

    def __init__(
        self,
        start,
        end,
        e0,
        e1,
        r0: int,
        r1: int,
        c0: int,
        shape: tuple[int, int],
        rule: str = "exact",
    ):
        self.start, self.end, self.e0, self.e1 = start, end, e0, e1
        self.r0, self.r1, self.c0 = r0, r1, c0
        self.shape = shape
        self.rule = rule  # "exact" or "center"
        self._ev: Events | None = None

    def events(self) -> Events:
        """The events as arrays (:func:`band_edges` then :func:`exact_edge_events`)."""
        if self._ev is None:
            n = self.e1 - self.e0
            sel = np.repeat(self.e0 - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
            piece = np.repeat(np.arange(len(self.e0)), n)
            e = band_edges((self.start[sel], self.end[sel], piece), self.r0, self.r1, self.c0)
            make = exact_edge_events if self.rule == "exact" else center_edge_events
            self._ev = make(e, self.shape)
        return self._ev

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.events(), name)


def edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges (start, end, owner index) of counter-clockwise polygons."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) and bool(
        (shapely.get_type_id(geoms) == 3).all() and not shapely.get_num_interior_rings(geoms).any()
    ):
        return _simple_edges(geoms)
    geoms = shapely.orient_polygons(geoms)
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3  # polygons only (clipping can leave lines)
    parts, pidx = parts[keep], pidx[keep]
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        empty = np.empty((0, 2))
        return empty, empty, np.empty(0, dtype=np.intp)
    k = np.flatnonzero(cidx[:-1] == cidx[1:])  # consecutive vertices of one ring
    start = coords[k]
    end = coords[k + 1]
    owner = pidx[ridx[cidx[k]]]
    return start, end, owner


def pixel_edges(
    geoms: np.ndarray, x0: float, y0: float, dx: float, dy: float, threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`edges` in pixel coordinates ``((x - x0) / dx, (y - y0) / dy)``, counter-clockwise
    there, as ``(start, end, e0, e1)``: geometry ``g``'s edges are ``e0[g]:e1[g]``.

    Many polygons without holes go through a compiled kernel (one pass, no new
    geometries; on ``threads`` threads, 2 at most): the same edges, a clockwise ring's
    in reverse order, and ``start`` and ``end`` two views of one array of vertices.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) * 16 >= JIT_LOAD and bool(
        (shapely.get_type_id(geoms) == 3).all() and not shapely.get_num_interior_rings(geoms).any()
    ):
        # the vertices first: the kernels may still be loading (load_kernels)
        xy = shapely.get_coordinates(geoms)
        nb = _kernels()
        if nb is not None:
            counts = shapely.get_num_coordinates(geoms)
            return nb.simple_edges_px(xy, counts, x0, y0, dx, dy, threads)
    start, end, owner = edges(geoms)
    start = (start - (x0, y0)) / (dx, dy)
    end = (end - (x0, y0)) / (dx, dy)
    if dx * dy < 0:  # a map with a negative determinant reverses the orientation
        start, end = end, start
    g = np.arange(len(geoms))
    return start, end, np.searchsorted(owner, g), np.searchsorted(owner, g, side="right")


def _simple_edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`edges` of polygons without holes, without new geometries (many zones).

    A clockwise ring (negative shoelace area) gives its edges reversed, start and end
    swapped, which are the edges of the counter-clockwise ring in another order.
    """
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) < 2:
        empty = np.empty((0, 2))
        return empty, empty, np.empty(0, dtype=np.intp)
    k = np.flatnonzero(cidx[:-1] == cidx[1:])
    start = coords[k]
    end = coords[k + 1]
    owner = cidx[k]
    # shoelace on coordinates relative to each edge's ring start, for precision
    origin = coords[np.searchsorted(cidx, owner)]
    a = start - origin
    b = end - origin
    twice = np.bincount(owner, a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1], minlength=len(geoms))
    cw = (twice < 0)[owner]
    if cw.any():
        start[cw], end[cw] = end[cw], start[cw].copy()
    return start, end, owner


def _first_cell(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cell an interval a -> b starts in: ``floor(a)``, or ``ceil(a) - 1`` going down."""
    cell = np.floor(a)
    cell -= (b < a) & (cell == a)
    return cell


def _cuts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut each interval a -> b at the integers it crosses, in travel order.

    Returns the number of pieces of each interval (``np.repeat`` maps parents to
    pieces), and per piece the integer cell it lies in and its start and end
    parameters ``t`` along the parent (0..1). Cells are exact integers (no
    rounding of midpoints), so pieces never leave their cell. An interval going
    down from an integer ``n`` starts in cell ``n - 1`` (:func:`_first_cell`), not
    with an empty piece in cell ``n``: the first cell carries the prefix event, and
    ``n`` may be the chunk width, outside the chunk.
    """
    d = b - a
    up = d > 0
    fa = _first_cell(a, b)
    n = np.abs(np.floor(b) - fa).astype(np.intp)
    step = np.where(up, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # crossing i (1..n) is at fa + i going up, fa + 1 - i going down: t_i = alpha + beta i
        beta = step / d
        alpha = (np.where(up, fa, fa + 1.0) - a) * np.abs(beta)  # (x - a) / d, d's sign in step
    alpha = np.where(d == 0.0, 0.0, alpha * step)
    beta = np.where(d == 0.0, 0.0, beta)
    npieces = n + 1
    total = int(npieces.sum())
    ends = np.cumsum(npieces)
    first = ends - npieces
    j = np.arange(total, dtype=np.float64) - np.repeat(first.astype(np.float64), npieces)
    be = np.repeat(beta, npieces)
    t0 = np.repeat(alpha, npieces) + be * j
    t1 = t0 + be
    t0[first] = 0.0
    t1[ends - 1] = 1.0
    cell = np.repeat(fa, npieces) + np.repeat(step, npieces) * j
    return npieces, cell, t0, t1


def band_edges(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray], r0: float, r1: float, c0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of edges (start, end, owner) between rows ``r0`` and ``r1``, shifted by (c0, r0).

    Equivalent, for the events, to clipping the polygons to the band and taking
    their edges: the clip adds only horizontal edges, which add nothing.
    """
    start, end, owner = edges
    wa, wb = start[:, 1], end[:, 1]
    lo = np.minimum(wa, wb)
    hi = np.maximum(wa, wb)
    keep = (hi > r0) & (lo < r1) & (wa != wb)  # horizontal edges add nothing
    start, end, owner = start[keep], end[keep], owner[keep]
    wa, wb = start[:, 1], end[:, 1]
    ua, ub = start[:, 0], end[:, 0]
    slope = (ub - ua) / (wb - wa)  # no horizontal edge overlaps the band's interior
    ws = np.clip(wa, r0, r1)
    we = np.clip(wb, r0, r1)
    us = np.where(ws == wa, ua, ua + (ws - wa) * slope)
    ue = np.where(we == wb, ub, ua + (we - wa) * slope)
    s = np.column_stack([us - c0, ws - r0])
    e = np.column_stack([ue - c0, we - r0])
    return s, e, owner


def exact_edge_events(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray], shape: tuple[int, int]
) -> Events:
    """Events for exact coverage from the edges (start, end, owner) of polygons in the chunk."""
    start, end, owner = edges
    h, w = shape
    nb = _kernels(len(owner))
    if nb is not None:
        piece, row, col, rise, own_at, op, orow, ocol, ow = nb.exact_events(
            start, end, owner, shape
        )
        return Events(piece, row, col, rise, Own(op, orow, ocol, ow), shape, own_at, True)
    # horizontal edges add nothing (clip edges along band borders are horizontal)
    tilted = start[:, 1] != end[:, 1]
    if not tilted.all():
        start, end, owner = start[tilted], end[tilted], owner[tilted]
    ua, wa, wb = start[:, 0], start[:, 1], end[:, 1]
    du, dw = end[:, 0] - ua, wb - wa
    # rows first: pieces of each edge inside one pixel row (a zero-height sliver at an
    # exact grid line adds zero weights, harmlessly)
    n1, row, t0, t1 = _cuts(wa, wb)
    ua1, du1 = np.repeat(ua, n1), np.repeat(du, n1)
    u0 = ua1 + t0 * du1
    u1 = ua1 + t1 * du1
    dw1 = (t1 - t0) * np.repeat(dw, n1)
    own1 = np.repeat(owner, n1)
    # then columns; most row pieces stay in one column (no cut needed): their own
    # weight sits on the same pixel as their prefix event (``own_at``)
    fu0 = _first_cell(u0, u1)
    cx = fu0 != np.floor(u1)
    col1 = np.clip(fu0.astype(np.intp), 0, w - 1)
    row1 = np.clip(row.astype(np.intp), 0, h - 1)
    own_at = (0.5 * (u0 + u1) - col1) * dw1
    own_at[cx] = 0.0
    ux0, ux1 = u0[cx], u1[cx]
    n2, col, s0, s1 = _cuts(ux0, ux1)
    dw2 = np.repeat(dw1[cx], n2)
    rise = (s1 - s0) * dw2
    mid = np.repeat(ux0, n2) + 0.5 * (s0 + s1) * np.repeat(ux1 - ux0, n2)
    # (float round-off at exact grid lines can leave a sliver one cell outside: clip)
    col = np.clip(col.astype(np.intp), 0, w - 1)
    own = (mid - col) * rise
    # A row piece crossing columns c0, c0 +- 1, ... needs the prefix only at its first
    # cell: the prefix at the next cells adds the cells passed, whose weights are the
    # rises still to come (left to right) or already done (right to left).
    right = np.repeat(ux1 > ux0, n2)
    first = np.cumsum(n2) - n2
    later = np.where(right, (1.0 - s1) * dw2, -(1.0 - s0) * dw2)
    later[first[~right[first]]] = 0.0
    own += later
    own_ev = Own(np.repeat(own1[cx], n2), np.repeat(row1[cx], n2), col, own)
    return Events(own1, row1, col1, dw1, own_ev, shape, own_at)


def center_edge_events(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray], shape: tuple[int, int]
) -> Events:
    """Centre-rule events from the edges (start, end, owner) of polygons in the chunk.

    One event per crossing of a row's centre line ``w = r + 0.5``.
    """
    start, end, owner = edges
    h, w = shape
    wa, wb = start[:, 1], end[:, 1]
    lo = np.minimum(wa, wb)
    hi = np.maximum(wa, wb)
    k0 = np.ceil(lo - 0.5)
    n = np.maximum(np.ceil(hi - 0.5) - k0, 0).astype(np.intp)
    idx = np.repeat(np.arange(len(wa)), n)
    first = np.cumsum(n) - n
    k = k0[idx] + (np.arange(len(idx)) - np.repeat(first, n))
    ua, ub = start[idx, 0], end[idx, 0]
    wa_i, wb_i = wa[idx], wb[idx]
    u = ua + (k + 0.5 - wa_i) / (wb_i - wa_i) * (ub - ua)
    col = np.clip(np.ceil(u - 0.5).astype(np.intp), 0, w)
    row = np.clip(k.astype(np.intp), 0, h - 1)
    rise = np.where(wb_i > wa_i, 1.0, -1.0)
    return Events(owner[idx], row, col, rise, None, shape)


def _group_sums(keys: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``values`` (n, K) by sorted-or-not integer ``keys`` into (n_groups, K)."""
    out = np.zeros((n_groups, values.shape[1]))
    if len(keys) == 0:
        return out
    change = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], change])
    sums = np.add.reduceat(values, starts, axis=0)
    np.add.at(out, keys[starts], sums)
    return out


#: In a call that uses the compiled kernels, its chunks with at least this many edges use
#: them (forest.py's whole windows) ...
JIT_MIN = 4_000
#: ... and a call or chunk uses them from this much work (loading them, importing numba,
#: takes about 0.5 s). Never from what ran before in the process: the path, and so the
#: rounding of the sums, depends on the sizes alone (a worker process gives the parent's
#: result bit for bit).
JIT_LOAD = 200_000
_NB = None
_LOADING = None  # the thread of load_kernels, once started
#: The fused kernel splits a chunk's edges into this many parts (halves of their list),
#: each summed apart and added in order: up to this many threads, one result for any number.
GROUPS = 2


def _kernels(n: int | None = None):
    """The compiled kernels module, or ``None`` (numba missing, or ``n`` too little work).

    ``n`` counts the work at hand (edges or events): below :data:`JIT_LOAD` the numpy
    path is used, whether or not the kernels were loaded by an earlier call.
    """
    global _NB
    if n is not None and n < JIT_LOAD:
        return None
    if _NB is None:
        try:
            from . import _coverage_nb
        except ImportError:  # pragma: no cover - numba is an install dependency
            _NB = False
        else:
            _NB = _coverage_nb
    return _NB or None


_FIELD = 21  # bits per packed count: chunks hold fewer than 2**21 pixels
#: The largest chunk (in pixels) the packed prefix counts can hold.
MAX_PIXELS = (1 << _FIELD) - 1
#: The largest chunk (in pixels) for the compiled kernels (32-bit counts, float32 tables).
MAX_PIXELS_NB = 1 << 22


def chunk_pixels(n_edges: int) -> int:
    """The largest chunk worth reading at once for ``n_edges`` edges (larger when the
    compiled kernels will be used; decided without loading them)."""
    if n_edges >= JIT_LOAD and _NB is not False and importlib.util.find_spec("numba"):
        return MAX_PIXELS_NB
    return MAX_PIXELS


def load_kernels(n: int) -> None:
    """Load the compiled kernels in a background thread if ``n`` edges call for them and
    they are not loaded yet: importing numba and its first call take about 0.3 s, which
    the caller spends on other work (a later :func:`_kernels` waits for the import)."""
    global _LOADING
    if n >= JIT_LOAD and _NB is None and _LOADING is None:
        _LOADING = threading.Thread(target=_warm_kernels, name="asm_pace-kernels", daemon=True)
        _LOADING.start()


def _warm_kernels() -> None:
    nb = _kernels()
    if nb is not None:
        nb.warm()


_MASK = np.uint64((1 << _FIELD) - 1)


class Workspace:
    """Scratch buffers reused from chunk to chunk of one computation.

    Fresh arrays of a few million pixels per chunk cost page faults (the
    kernel zeroes every new page); reusing the memory avoids them.
    """

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: int | tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` backed by the buffer ``name``."""
        dtype = np.dtype(dtype)
        n = int(np.prod(shape))
        buf = self._bufs.get(name)
        if buf is None or buf.nbytes < n * dtype.itemsize:
            buf = np.empty(max(n * dtype.itemsize, 1 << 16), dtype=np.uint8)
            self._bufs[name] = buf
        return buf[: n * dtype.itemsize].view(dtype).reshape(shape)


def label_sums(
    ev: Events,
    labels: np.ndarray,
    n_labels: int,
    row_weight: np.ndarray,
    n_pieces: int,
    work: Workspace | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Coverage- and row-weighted area of each label value, per piece: (n_pieces, n_labels).

    ``labels`` is an integer array (H, W) with values in ``[0, n_labels)``. ``threads``
    (compiled path on :class:`BandEdges` only) runs the kernel's parts on that many
    threads; the result is the same, bit for bit, whatever their number.

    The row prefix ``V(r, c)`` of each label is replaced by the prefix over the
    whole chunk in row-major order, ``G(r * W + c)``: the two differ by a constant
    per row, and the rises of a closed boundary sum to zero on every row, so the
    constant cancels. The three most frequent labels are counted by one cumulative
    sum of packed 21-bit fields (the most frequent one as the remainder); the
    other, rarer labels by a cumulative one-hot table over the rare pixels only.
    """
    h, w = ev.shape
    k = int(n_labels)
    out = np.zeros((n_pieces, k))
    fused = (
        isinstance(ev, BandEdges)
        and ev._ev is None
        and _kernels() is not None
        and w < 1 << 16
        and k <= 1 << 16
    )
    if not fused and len(ev.piece) == 0:
        return out
    limit = MAX_PIXELS_NB if _NB else MAX_PIXELS
    if h * w > limit:
        raise ValueError(f"chunk of {h} x {w} pixels is too large for packed counts")
    flat = labels.ravel()
    if fused:
        return _label_sums_nb(_kernels(), ev, flat, k, row_weight, out, work, threads)
    nb = _kernels() if h * w > MAX_PIXELS else _kernels(len(ev.piece))
    if nb is not None:
        return _label_sums_nb(nb, ev, flat, k, row_weight, out, work)
    rw = row_weight[ev.row]
    f = ev.row * w + ev.col  # row-major position; the exclusive prefix is taken there
    # the pixels' own shares
    if ev.own_at is not None:
        out += np.bincount(
            ev.piece * k + flat[f], weights=ev.own_at * rw, minlength=n_pieces * k
        ).reshape(n_pieces, k)
    if ev.own is not None:
        o = ev.own
        out += np.bincount(
            o.piece * k + flat[o.row * w + o.col],
            weights=o.weight * row_weight[o.row],
            minlength=n_pieces * k,
        ).reshape(n_pieces, k)
    # which labels are frequent only steers the speed: a sample of the pixels is enough
    freq = np.bincount(flat[:: max(1, flat.size // 4096)], minlength=k)
    order = np.argsort(-freq, kind="stable")
    top1 = int(order[0])
    top2 = int(order[1]) if k > 1 else -1
    top3 = int(order[2]) if k > 2 else -1
    rare = np.ones(k, dtype=bool)
    rare[[i for i in (top1, top2, top3) if i >= 0]] = False
    lut = np.zeros(k, dtype=np.uint64)
    if top2 >= 0:
        lut[top2] = 1
    if top3 >= 0:
        lut[top3] = 1 << _FIELD
    lut[rare] = 1 << (2 * _FIELD)
    work = Workspace() if work is None else work
    packed = work.get("packed", h * w + 1, np.uint64)
    packed[0] = 0
    coded = np.take(lut, flat, out=work.get("coded", h * w, np.uint64))
    np.cumsum(coded, out=packed[1:])
    g = packed[f]
    n2 = (g & _MASK).astype(np.float64)
    n3 = ((g >> np.uint64(_FIELD)) & _MASK).astype(np.float64)
    nr = (g >> np.uint64(2 * _FIELD)).astype(np.intp)
    n1 = f - n2 - n3 - nr
    wt = ev.rise * rw
    for lab_id, n in ((top1, n1), (top2, n2), (top3, n3)):
        if lab_id >= 0:
            out[:, lab_id] += np.bincount(ev.piece, weights=wt * n, minlength=n_pieces)
    if int(packed[-1] >> np.uint64(2 * _FIELD)):
        pos = np.flatnonzero(coded >= np.uint64(1 << (2 * _FIELD)))
        rare_lab = flat[pos]
        rare_ids = np.flatnonzero(np.bincount(rare_lab, minlength=k))  # the rare ones present
        compact = np.zeros(k, dtype=np.intp)
        compact[rare_ids] = np.arange(len(rare_ids))
        table = work.get("table", (len(pos) + 1, len(rare_ids)), np.float64)
        table.fill(0.0)
        table[np.arange(1, len(pos) + 1), compact[rare_lab]] = 1.0
        np.cumsum(table, axis=0, out=table)
        # (piece x rare-prefix) weights times the table
        shape = (n_pieces, len(pos) + 1)
        if n_pieces < 2 or bool((ev.piece[1:] >= ev.piece[:-1]).all()):
            # events come grouped by piece (edge order): CSR without sorting
            indptr = np.searchsorted(ev.piece, np.arange(n_pieces + 1))
            mat = sparse.csr_matrix((wt, nr, indptr), shape=shape)
        else:
            mat = sparse.coo_matrix((wt, (ev.piece, nr)), shape=shape)
        out[:, rare_ids] += mat @ table
    return out


def _top_labels(flat: np.ndarray, k: int) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray]:
    """The three frequent labels (-1 if fewer), the packing table and the rare mask."""
    freq = np.bincount(flat[:: max(1, flat.size // 4096)], minlength=k)
    order = np.argsort(-freq, kind="stable")
    top = (int(order[0]), int(order[1]) if k > 1 else -1, int(order[2]) if k > 2 else -1)
    rare = np.ones(k, dtype=bool)
    rare[[i for i in top if i >= 0]] = False
    lut = np.zeros(k, dtype=np.uint64)
    if top[1] >= 0:
        lut[top[1]] = 1
    if top[2] >= 0:
        lut[top[2]] = 1 << _FIELD
    lut[rare] = 1 << (2 * _FIELD)
    return top, lut, rare


def _band_sums_nb(nb, ev, flat, k, row_weight, out, work, threads):
    """The fused kernel on a :class:`BandEdges` chunk (rows under 2**16 pixels, labels
    under 2**16): counts per row (:func:`_coverage_nb.row_packed`), then :data:`GROUPS`
    parts of the band's edges (halves of their list), each into its own sums, added in
    part order (so the result does not depend on ``threads``). With ``threads`` > 1 the
    band's edges are found while the counts are taken, and the parts run side by side."""
    with ThreadPoolExecutor(min(threads, GROUPS)) if threads > 1 else nullcontext() as pool:
        h, w = ev.shape
        edges = (ev.start, ev.end, ev.e0, ev.e1, float(ev.r0), float(ev.r1))
        sorting = pool.submit(nb.edges_in_band, *edges) if pool else None
        top, _, rare = _top_labels(flat, k)
        lut = np.zeros(k, dtype=np.uint64)  # 16-bit fields per row
        if top[1] >= 0:
            lut[top[1]] = 1
        if top[2] >= 0:
            lut[top[2]] = 1 << 16
        lut[rare] = 1 << 32
        packed = work.get("packed", h * (w + 1), np.uint64)
        rowrare = work.get("rowrare", h, np.intp)
        n_pos = nb.row_packed(flat, h, w, lut, packed, rowrare)
        rare_ids, table = _rare_table(nb, flat, k, rare, n_pos, work)
        row_weight = np.ascontiguousarray(row_weight, dtype=np.float64)
        top = np.array(top, dtype=np.intp)
        order, owner = sorting.result() if pool else nb.edges_in_band(*edges)
        cuts = np.linspace(0, len(order), GROUPS + 1).astype(np.intp)
        sums = np.zeros((GROUPS, *out.shape))
        rare_sums = np.zeros((GROUPS, len(ev.e0) if len(table) else 0, len(rare_ids)))

        def part(i: int) -> None:
            nb.label_sums_edges_part(
                ev.rule == "exact", ev.start, ev.end, order, owner, cuts[i], cuts[i + 1],
                ev.r0, ev.r1, ev.c0, h, w, row_weight, packed, rowrare, top, table,
                sums[i], rare_sums[i],
            )  # fmt: skip

        list(pool.map(part, range(GROUPS)) if pool else map(part, range(GROUPS)))
    for i in range(GROUPS):
        out += sums[i]
        if len(table):
            out[:, rare_ids] += rare_sums[i]
    return out


def _rare_table(nb, flat, k, rare, n_pos, work) -> tuple[np.ndarray, np.ndarray]:
    """The rare labels and their cumulative one-hot counts over the rare pixels (float32,
    exact below 2**24 pixels), or empty arrays without rare pixels."""
    if not n_pos:
        return np.empty(0, dtype=np.intp), np.empty((0, 0), dtype=np.float32)
    # every rare label gets a column (absent ones stay zero): no pass to find them
    rare_ids = np.flatnonzero(rare)
    compact = np.zeros(k, dtype=np.intp)
    compact[rare_ids] = np.arange(len(rare_ids))
    table = work.get("table", (n_pos + 1, len(rare_ids)), np.float32)
    nb.rare_table_flat(flat, rare, compact, len(rare_ids), table)
    return rare_ids, table


def _label_sums_nb(
    nb,
    ev: Events,
    flat: np.ndarray,
    k: int,
    row_weight: np.ndarray,
    out: np.ndarray,
    work,
    threads: int = 1,
) -> np.ndarray:
    """:func:`label_sums` by the compiled kernels (the same sums, in another order)."""
    work = Workspace() if work is None else work
    w = ev.shape[1]
    if isinstance(ev, BandEdges) and ev._ev is None and w < 1 << 16 and k <= 1 << 16:
        return _band_sums_nb(nb, ev, flat, k, row_weight, out, work, threads)
    top, _, rare = _top_labels(flat, k)
    lut = np.zeros(k, dtype=np.uint64)  # 32-bit fields: chunks up to MAX_PIXELS_NB
    if top[1] >= 0:
        lut[top[1]] = 1
    if top[2] >= 0:
        lut[top[2]] = 1 << 32
    packed = work.get("packed", flat.size + 1, np.uint64)
    nrp = work.get("nrp", flat.size + 1, np.int32)
    n_pos = nb.packed_prefix(flat, lut, rare.astype(np.int32), packed, nrp)
    rare_ids, table = _rare_table(nb, flat, k, rare, n_pos, work)
    row_weight = np.ascontiguousarray(row_weight, dtype=np.float64)
    top = np.array(top, dtype=np.intp)
    empty_i = np.empty(0, dtype=np.intp)
    empty_f = np.empty(0)
    own = ev.own
    nb.label_sums_events(
        ev.piece,
        ev.row,
        ev.col,
        ev.rise,
        empty_f if ev.own_at is None else ev.own_at,
        empty_i if own is None else own.piece,
        empty_i if own is None else own.row,
        empty_i if own is None else own.col,
        empty_f if own is None else own.weight,
        flat,
        ev.shape[1],
        row_weight,
        packed,
        nrp,
        top,
        rare_ids,
        table,
        out,
        ev.by_row,
    )
    return out


def field_sums(ev: Events, fields: np.ndarray, row_weight: np.ndarray, n_pieces: int) -> np.ndarray:
    """Coverage- and row-weighted sums of float fields (F, H, W), per piece: (n_pieces, F)."""
    f, h, w = fields.shape
    out = np.zeros((n_pieces, f))
    if len(ev.piece) == 0:
        return out
    rw = row_weight[ev.row]
    flat = fields.reshape(f, -1)
    if ev.own is not None:
        o = ev.own
        vals = flat[:, o.row * w + o.col].T
        out += _group_sums(o.piece, vals * (o.weight * row_weight[o.row])[:, None], n_pieces)
    if ev.own_at is not None:
        vals = flat[:, ev.row * w + ev.col].T
        out += _group_sums(ev.piece, vals * (ev.own_at * rw)[:, None], n_pieces)
    prefix = np.zeros((f, h, w + 1))
    np.cumsum(fields, axis=2, out=prefix[:, :, 1:])
    vals = prefix.reshape(f, -1)[:, ev.row * (w + 1) + ev.col].T
    out += _group_sums(ev.piece, vals * (ev.rise * rw)[:, None], n_pieces)
    return out


def dense_weights(ev: Events, piece: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Coverage of every pixel by one piece, on the rows/cols its events span.

    Returns the (h, w) coverage array and its (row0, col0) offset in the chunk.
    """
    w = ev.shape[1]
    sel = ev.piece == piece
    if not sel.any():
        return np.zeros((0, 0)), (0, 0)
    r = ev.row[sel]
    c = ev.col[sel]
    r0, r1 = int(r.min()), int(r.max()) + 1
    c0 = int(c.min())
    has_own = False
    if ev.own is not None:
        osel = ev.own.piece == piece
        orow, ocol = ev.own.row[osel], ev.own.col[osel]
        has_own = bool(osel.any())
        if has_own:
            c0 = min(c0, int(ocol.min()))
    c1 = max(min(int(c.max()) + 1, w), c0 + 1)
    if has_own:
        c1 = max(c1, int(ocol.max()) + 1)
    cov = np.zeros((r1 - r0, c1 - c0 + 1))
    rise = np.zeros_like(cov)
    if has_own:
        np.add.at(cov, (orow - r0, ocol - c0), ev.own.weight[osel])
    np.add.at(rise, (r - r0, c - c0), ev.rise[sel])
    if ev.own_at is not None:
        np.add.at(cov, (r - r0, c - c0), ev.own_at[sel])
    # weight of pixel c from rise events at columns > c: reverse exclusive cumsum
    suffix = np.cumsum(rise[:, ::-1], axis=1)[:, ::-1]
    cov[:, :-1] += suffix[:, 1:]
    return cov[:, :-1], (r0, c0)
