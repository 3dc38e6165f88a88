"""Private: compiled (numba) kernels for :mod:`asm_pace._coverage`.

The kernels do what the vectorised numpy code of ``_coverage`` does, edge by edge
and event by event, without the temporary arrays: :func:`exact_events` returns
the same events (each edge cut at its row and column crossings in one merged pass,
:func:`_exact_cuts`, where the numpy path cuts rows first, then columns: equal to
rounding), and :func:`label_sums_events` the same sums (added in another order, so
equal to rounding). :func:`label_sums_edges_part` sums straight from the zones' edges,
adding each piece as the walk (:func:`_walk_start`, :func:`_walk_piece`) cuts it.
``_coverage`` calls them only for chunks with many edges, where they pay for importing
numba; the results are equal either way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def _first_cell(a: float, b: float) -> float:
    cell = np.floor(a)
    if b < a and cell == a:
        cell -= 1.0
    return cell


def warm() -> None:
    """Call a kernel once: numba's first call in a process sets up its compiler (about
    0.2 s, even when the kernels come from its cache); later first calls cost milliseconds."""
    _first_cell(0.0, 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _cut_params(a: float, b: float) -> tuple[float, float, float, float, int]:
    """First cell, step, alpha, beta and the number of cuts of ``a -> b`` (as ``_cuts``)."""
    d = b - a
    fa = _first_cell(a, b)
    n = int(abs(np.floor(b) - fa))
    if d > 0:
        step = 1.0
        beta = step / d
        alpha = (fa - a) * abs(beta)
    else:
        step = -1.0
        if d == 0.0:
            return fa, step, 0.0, 0.0, n
        beta = step / d
        alpha = (fa + 1.0 - a) * abs(beta)
    alpha = alpha * step
    return fa, step, alpha, beta, n


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _walk_start(ua, ub, wa, wb):
    """Start the walk along the edge ``(ua, wa) -> (ub, wb)`` (pixel coordinates) that
    cuts it into pieces inside one cell, those of ``_coverage.exact_edge_events`` to
    rounding: ``(count, consts, state)``, ``count`` pieces, each from :func:`_walk_piece`.

    The edge's crossings of row lines (``t = alpha + beta * k``, ``k = 1..n``) and of
    column lines (``calpha + cbeta * k``, ``k = 1..nc``) are two arithmetic sequences in
    its parameter ``t``; merged in travel order, each step between two crossings is a
    piece inside one cell (one division per edge and direction, no cut per row piece,
    no branch on whether a row piece crosses columns). Scalars only: a helper taking
    arrays would cost numba a reference count per array and call.
    """
    fa, step, alpha, beta, n = _cut_params(wa, wb)
    fc, cstep, calpha, cbeta, nc = _cut_params(ua, ub)
    # a sequence's next crossing, or infinity when there is none
    tr = alpha + beta if n >= 1 else np.inf
    tc = calpha + cbeta if nc >= 1 else np.inf
    consts = (ua, ub - ua, wb - wa, step, alpha, beta, n, cstep, calpha, cbeta, nc)
    # row and column cell, next row and column crossing (index, t), t and u reached,
    # the row piece's rise still to come, whether a row piece starts
    return n + nc + 1, consts, (fa, fc, 1, 1, tr, tc, 0.0, ua, 0.0, True)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _walk_piece(consts, state):
    """The next piece of the walk :func:`_walk_start` began: ``(state, first, row, col,
    rise, mid, dw, later)``.

    ``first``: a row piece starts here; its prefix event is at cell (``row``, ``col``)
    (whole numbers, not clipped to the chunk) with the row piece's whole ``rise``. The
    piece's own share in its cell (``col`` clipped to the chunk: ``c``) is
    ``(mid - c) * dw + later``: ``mid`` its mean ``u``, ``dw`` its rise, ``later`` the
    rise of the row piece's later pieces (left to right) or minus the earlier ones'.
    """
    ua, du, dw, step, alpha, beta, n, cstep, calpha, cbeta, nc = consts
    rr, cc, kr, kc, tr, tc, t, ua_, rem, first = state
    if first:
        rem = (min(tr, 1.0) - t) * dw
    row_next = tr <= tc  # (both infinite at the last piece: its end is 1 either way)
    tn = min(tr if row_next else tc, 1.0)  # the last piece ends at 1
    ub_ = ua + tn * du
    dwp = (tn - t) * dw
    after = rem - dwp
    if du > 0.0:
        later = after
    elif first:
        later = 0.0
    else:
        later = -rem
    row, col = rr, cc
    if row_next:
        rr += step
        kr += 1
        tr = alpha + beta * float(kr) if kr <= n else np.inf
    else:
        cc += cstep
        kc += 1
        tc = calpha + cbeta * float(kc) if kc <= nc else np.inf
    state = (rr, cc, kr, kc, tr, tc, tn, ub_, after, row_next)
    return state, first, row, col, rem, 0.5 * (ua_ + ub_), dwp, later


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _exact_cuts(ua, ub, wa, wb, h, w, row, col, rise, oat, ocol, ow):
    """The exact-coverage events of one edge ``(ua, wa) -> (ub, wb)`` (pixel coordinates),
    those of ``_coverage.exact_edge_events`` to rounding, into scratch arrays
    (:func:`_walk_start`).

    Prefix events ``0:m``, one per row piece: ``row``, ``col``, ``rise``. Own shares
    ``0:q``: the prefix event ``oat`` they belong to, ``ocol`` and the weight ``ow``; one
    for a row piece inside one column (``exact_edge_events``' ``own_at``), one per column
    piece (two or more) for a row piece crossing columns. Returns ``(m, q)``.
    """
    count, consts, state = _walk_start(ua, ub, wa, wb)
    m = -1
    for q in range(count):
        state, first, rr, cc, rem, mid, dwp, later = _walk_piece(consts, state)
        c = min(max(int(cc), 0), w - 1)
        if first:
            m += 1
            row[m] = min(max(int(rr), 0), h - 1)
            col[m] = c
            rise[m] = rem
        oat[q] = m
        ocol[q] = c
        ow[q] = (mid - c) * dwp + later
    return m + 1, count


@njit(cache=True, nogil=True, error_model="numpy")
def _most_lines(start, end, axis):
    """The most grid lines of ``axis`` (0: column lines, 1: row lines) one edge can cross,
    plus one: at least its length in pixels, rounded up."""
    most = 0.0
    for e in range(start.shape[0]):
        most = max(most, abs(end[e, axis] - start[e, axis]))
    return int(np.ceil(most)) + 1


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _scratch(h, w):
    """Scratch arrays for :func:`_exact_cuts` of edges crossing at most ``h`` row lines and
    ``w`` column lines (the chunk's ``h`` x ``w`` for edges inside it; sized by the edges
    otherwise, so no write falls outside): at most ``h + 1`` row pieces and ``h + w + 2``
    own shares."""
    m = h + 2
    q = h + w + 4
    return (
        np.empty(m, np.intp),
        np.empty(m, np.intp),
        np.empty(m),
        np.empty(q, np.intp),
        np.empty(q, np.intp),
        np.empty(q),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _exact_pass(
    start, end, owner, h, w, fill, kpos, mpos, piece, row, col, rise, own_at, opiece, orow, ocol,
    ow,
):  # fmt: skip
    """Count per row (``fill`` False) or write row by row (``fill`` True) the events.

    ``kpos`` and ``mpos`` (h + 1) count the prefix and own events of each row, then
    (as exclusive cumulative sums) give where each row's next event goes.
    """
    s_row, s_col, s_rise, s_oat, s_ocol, s_ow = _scratch(
        max(h, _most_lines(start, end, 1)), max(w, _most_lines(start, end, 0))
    )
    for e in range(start.shape[0]):
        wa = start[e, 1]
        wb = end[e, 1]
        if wa == wb:
            continue  # horizontal edges add nothing
        m, q = _exact_cuts(
            start[e, 0], end[e, 0], wa, wb, h, w, s_row, s_col, s_rise, s_oat, s_ocol, s_ow
        )
        i = 0
        for j in range(m):
            r1 = s_row[j]
            i1 = i
            while i1 < q and s_oat[i1] == j:
                i1 += 1
            if fill:
                k = kpos[r1]
                piece[k] = owner[e]
                row[k] = r1
                col[k] = s_col[j]
                rise[k] = s_rise[j]
                own_at[k] = s_ow[i] if i1 - i == 1 else 0.0
            kpos[r1] += 1
            if i1 - i == 1:  # inside one column: its share is own_at
                i = i1
                continue
            for x in range(i, i1):
                if fill:
                    k = mpos[r1]
                    opiece[k] = owner[e]
                    orow[k] = r1
                    ocol[k] = s_ocol[x]
                    ow[k] = s_ow[x]
                mpos[r1] += 1
            i = i1


def exact_events(
    start: np.ndarray, end: np.ndarray, owner: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, ...]:
    """Exact-coverage events of edges, as ``_coverage.exact_edge_events`` computes them.

    Returns piece, row, col, rise, own_at, and the own events' piece, row, col, weight,
    each sorted by row (in edge order within a row).
    """
    h, w = int(shape[0]), int(shape[1])
    start = np.ascontiguousarray(start, dtype=np.float64)
    end = np.ascontiguousarray(end, dtype=np.float64)
    owner = np.ascontiguousarray(owner, dtype=np.intp)
    ei = np.empty(0, dtype=np.intp)
    ef = np.empty(0, dtype=np.float64)
    kpos = np.zeros(h + 1, dtype=np.intp)
    mpos = np.zeros(h + 1, dtype=np.intp)
    _exact_pass(start, end, owner, h, w, False, kpos, mpos, ei, ei, ei, ef, ef, ei, ei, ei, ef)
    k, m = int(kpos.sum()), int(mpos.sum())
    kpos = np.concatenate([[0], np.cumsum(kpos[:-1])])
    mpos = np.concatenate([[0], np.cumsum(mpos[:-1])])
    out = (
        np.empty(k, np.intp),
        np.empty(k, np.intp),
        np.empty(k, np.intp),
        np.empty(k),
        np.empty(k),
        np.empty(m, np.intp),
        np.empty(m, np.intp),
        np.empty(m, np.intp),
        np.empty(m),
    )
    _exact_pass(start, end, owner, h, w, True, kpos, mpos, *out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def packed_prefix(flat, lut, rare, packed, nrp):
    """Exclusive prefix counts: two frequent labels in ``packed`` (32-bit fields), rare ones in ``nrp``.

    ``packed[i]`` counts, among the pixels before ``i``, label ``top2`` in its low 32 bits
    and ``top3`` in its high 32 bits; ``nrp[i]`` counts the rare pixels. Returns the
    number of rare pixels.
    """
    acc = np.uint64(0)
    nr = 0
    packed[0] = acc
    nrp[0] = 0
    for q in range(flat.shape[0]):
        lab = flat[q]
        acc += lut[lab]
        nr += rare[lab]
        packed[q + 1] = acc
        nrp[q + 1] = nr
    return nr


@njit(cache=True, nogil=True, error_model="numpy")
def row_packed(flat, h, w, lut, packed, rowrare):
    """Counts along each row before each column (0 to w), one word per pixel.

    ``packed`` (h * (w + 1)) holds, in 16-bit fields, the counts before the pixel on its
    row of the labels ``lut`` codes 1 (bits 0-15), ``1 << 16`` (16-31) and ``1 << 32``
    (32-47, the rare labels), and the pixel's own label (48-63; none at column w).
    ``rowrare[r]`` counts the rare pixels before row ``r``. Rows of fewer than 2**16
    pixels, labels below 2**16. Returns the number of rare pixels.
    """
    nr = 0
    m16 = np.uint64(0xFFFF)
    s32 = np.uint64(32)
    s48 = np.uint64(48)
    for r in range(h):
        rowrare[r] = nr
        acc = np.uint64(0)
        src = r * w
        dst = r * (w + 1)
        for c in range(w):
            lab = flat[src + c]
            packed[dst + c] = acc | (np.uint64(lab) << s48)
            acc += lut[lab]
        packed[dst + w] = acc
        nr += int((acc >> s32) & m16)
    return nr


@njit(cache=True, nogil=True, error_model="numpy")
def rare_table_flat(flat, rare, compact, n_rare, table):
    """Cumulative one-hot counts of the rare labels over the rare pixels, row by row."""
    for j in range(n_rare):
        table[0, j] = 0.0
    i = 0
    for q in range(flat.shape[0]):
        lab = flat[q]
        if rare[lab]:
            for j in range(n_rare):
                table[i + 1, j] = table[i, j]
            table[i + 1, compact[lab]] += 1.0
            i += 1
    return i


@njit(cache=True, nogil=True, error_model="numpy")
def label_sums_events(
    piece,
    row,
    col,
    rise,
    own_at,
    opiece,
    orow,
    ocol,
    ow,
    flat,
    w,
    row_weight,
    packed,
    nrp,
    top,
    rare_ids,
    table,
    out,
    by_row,
):
    """Add the coverage- and row-weighted label areas of the events to ``out`` (n_pieces, k).

    ``packed`` and ``nrp`` are the prefix counts of :func:`packed_prefix`, ``top`` the
    three frequent labels (-1 when absent), ``rare_ids`` the rare labels and ``table``
    their cumulative one-hot counts over the rare pixels (or an empty table).
    """
    field = np.uint64(32)
    mask = np.uint64(0xFFFFFFFF)
    n_rare = rare_ids.shape[0]
    use_rare = table.shape[0] > 0
    out_rare = np.zeros((out.shape[0] if use_rare else 0, n_rare))
    # visit the events row by row (a counting sort): the prefix tables are then read
    # along their length, from the cache, rather than at random
    n_rows = row_weight.shape[0]
    n_ev = row.shape[0]
    order = np.arange(0)
    if not by_row:
        first = np.zeros(n_rows + 1, dtype=np.intp)
        for i in range(n_ev):
            first[row[i] + 1] += 1
        for r in range(n_rows):
            first[r + 1] += first[r]
        order = np.empty(n_ev, dtype=np.intp)
        for i in range(n_ev):
            r = row[i]
            order[first[r]] = i
            first[r] += 1
    for ii in range(n_ev):
        i = ii if by_row else order[ii]
        p = piece[i]
        rw = row_weight[row[i]]
        f = row[i] * w + col[i]
        if own_at.shape[0]:
            out[p, flat[f]] += own_at[i] * rw
        g = packed[f]
        n2 = float(g & mask)
        n3 = float(g >> field)
        nr = int(nrp[f])
        n1 = float(f) - n2 - n3 - nr
        wt = rise[i] * rw
        if top[0] >= 0:
            out[p, top[0]] += wt * n1
        if top[1] >= 0:
            out[p, top[1]] += wt * n2
        if top[2] >= 0:
            out[p, top[2]] += wt * n3
        if use_rare and nr:
            acc = out_rare[p]
            trow = table[nr]
            for j in range(n_rare):
                acc[j] += wt * trow[j]
    for i in range(opiece.shape[0]):
        r = orow[i]
        out[opiece[i], flat[r * w + ocol[i]]] += ow[i] * row_weight[r]
    if use_rare:
        for p in range(out.shape[0]):
            for j in range(n_rare):
                out[p, rare_ids[j]] += out_rare[p, j]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _band_edge(start, end, e, fr0, fr1, fc0):
    """Edge ``e`` clipped to the rows ``fr0:fr1`` and shifted by (fc0, fr0), as
    ``_coverage.band_edges`` does: (u at its start, u at its end, w at its start, w at its end)."""
    ua0 = start[e, 0]
    wa0 = start[e, 1]
    ub0 = end[e, 0]
    wb0 = end[e, 1]
    slope = (ub0 - ua0) / (wb0 - wa0)
    ws = min(max(wa0, fr0), fr1)
    we = min(max(wb0, fr0), fr1)
    us = ua0 if ws == wa0 else ua0 + (ws - wa0) * slope
    ue = ub0 if we == wb0 else ua0 + (we - wa0) * slope
    return us - fc0, ue - fc0, ws - fr0, we - fr0


@njit(cache=True, nogil=True, error_model="numpy")
def edges_in_band(start, end, e0, e1, fr0, fr1):
    """The edges that cross the rows ``fr0:fr1`` and their pieces, ``(order, owner)``,
    piece by piece in edge order. (Visiting them tile by tile, which a counting sort
    cost 5 % of the sums, was no faster once an edge's events were added as cut.)"""
    n = 0
    for p in range(e0.shape[0]):
        n += e1[p] - e0[p]
    order = np.empty(n, dtype=np.intp)
    owner = np.empty(n, dtype=np.intp)
    q = 0
    for p in range(e0.shape[0]):
        for e in range(e0[p], e1[p]):
            wa = start[e, 1]
            wb = end[e, 1]
            if wa != wb and max(wa, wb) > fr0 and min(wa, wb) < fr1:
                order[q] = e
                owner[q] = p
                q += 1
    return order[:q], owner[:q]


@njit(cache=True, nogil=True, error_model="numpy")
def label_sums_edges_part(
    exact, start, end, order, owner, lo, hi, r0, r1, c0, h, w,
    row_weight, packed, rowrare, top, table, out, out_rare,
):  # fmt: skip
    """Label sums straight from the zones' edges ``order[lo:hi]`` (pieces ``owner``), no event arrays.

    ``start``/``end`` hold edges in global pixel coordinates; each is clipped to the
    rows ``r0:r1`` and shifted by (c0, r0) as ``_coverage.band_edges`` does, then cut
    into the events of ``_coverage.exact_edge_events`` (``exact``, :func:`_walk_piece`: the
    same to rounding) or ``_coverage.center_edge_events`` (by the same floating-point
    operations), each added as it is cut (a fifth less time than gathering an edge's
    events first). The pixels'
    own shares and the three frequent labels (``top``) go to ``out`` (n_pieces, k), the
    rare labels' prefix counts (``table`` rows) to ``out_rare`` (n_pieces, n_rare).
    ``packed`` and ``rowrare`` come from :func:`row_packed`: one word per pixel holds
    the counts of the row before it and its label (one read for the prefix and the
    pixel's own share); counts per row, not per chunk (a constant per row, which a
    closed boundary's rises cancel), keep the terms small (rounding ~1e-16 of the zone
    area). Everything is written out in this one function: a helper taking arrays costs
    numba a reference count per array and call.
    """
    fr0 = float(r0)
    fr1 = float(r1)
    fc0 = float(c0)
    t1, t2, t3 = top[0], top[1], top[2]
    use_rare = table.shape[0] > 0
    n_rare = table.shape[1]
    m16 = np.uint64(0xFFFF)
    s16 = np.uint64(16)
    s32 = np.uint64(32)
    s48 = np.uint64(48)
    w1 = w + 1  # a row of packed words: columns 0..w
    for ii in range(lo, hi):
        e = order[ii]
        p = owner[ii]
        ua, ub, wa, wb = _band_edge(start, end, e, fr0, fr1, fc0)
        if wa == wb:
            continue
        if exact:
            count, consts, state = _walk_start(ua, ub, wa, wb)
        else:  # the centre rule: a prefix event where the edge crosses a row's centre line
            k0 = np.ceil(min(wa, wb) - 0.5)
            count = int(max(np.ceil(max(wa, wb) - 0.5) - k0, 0.0))
            sign = 1.0 if wb > wa else -1.0
        base = 0
        rw = 0.0
        for i in range(count):
            if exact:
                state, first, rr, cc, rise, mid, dwp, later = _walk_piece(consts, state)
                c = min(max(int(cc), 0), w - 1)
            else:
                first = True
                rr = k0 + float(i)
                u = ua + (rr + 0.5 - wa) / (wb - wa) * (ub - ua)
                c = min(max(int(np.ceil(u - 0.5)), 0), w)
                rise = sign
            if first:  # a prefix event: the counts of the row before column c
                r = min(max(int(rr), 0), h - 1)
                rw = row_weight[r]
                base = r * w1
                x = rise * rw
                g = packed[base + c]
                n2f = float(g & m16)
                n3f = float((g >> s16) & m16)
                nrl = int((g >> s32) & m16)
                nr = rowrare[r] + nrl
                if t1 >= 0:
                    out[p, t1] += x * (float(c) - n2f - n3f - nrl)
                if t2 >= 0:
                    out[p, t2] += x * n2f
                if t3 >= 0:
                    out[p, t3] += x * n3f
                if use_rare and nr:
                    for j in range(n_rare):
                        out_rare[p, j] += x * table[nr, j]
            if exact:  # the piece's own share of its pixel
                out[p, packed[base + c] >> s48] += ((mid - c) * dwp + later) * rw


@njit(cache=True, nogil=True, error_model="numpy")
def _ring_vertices_px(xy, rs, lo, hi, x0, y0, dx, dy):
    """The vertices of rings ``lo:hi`` (ring ``i``: ``xy[rs[i]:rs[i + 1]]``) in pixel
    coordinates, in place: counter-clockwise there (a ring of negative shoelace area is
    reversed)."""
    flip = dx * dy < 0  # the map reverses orientation
    for i in range(lo, hi):
        a = rs[i]
        b = rs[i + 1]
        if b <= a:
            continue  # an empty ring
        # twice the shoelace area in the map's coordinates, about the first vertex: in
        # pixels it is this divided by dx * dy
        ox = xy[a, 0]
        oy = xy[a, 1]
        s = 0.0
        for q in range(a, b - 1):
            ax = xy[q, 0] - ox
            ay = xy[q, 1] - oy
            bx = xy[q + 1, 0] - ox
            by = xy[q + 1, 1] - oy
            s += ax * by - bx * ay
        ccw = (s >= 0) != flip if s != 0 else True
        for q in range(a, (a + b + 1) // 2):
            k = q if ccw else a + b - 1 - q  # the other end of a pair swapped
            ux = (xy[q, 0] - x0) / dx
            uy = (xy[q, 1] - y0) / dy
            vx = (xy[k, 0] - x0) / dx
            vy = (xy[k, 1] - y0) / dy
            xy[k, 0] = ux
            xy[k, 1] = uy
            if k != q:
                xy[q, 0] = vx
                xy[q, 1] = vy
        if ccw:  # the second half, in place
            for q in range((a + b + 1) // 2, b):
                xy[q, 0] = (xy[q, 0] - x0) / dx
                xy[q, 1] = (xy[q, 1] - y0) / dy


def simple_edges_px(xy, counts, x0, y0, dx, dy, threads=1):
    """Edges of single-ring polygons in pixel coordinates, counter-clockwise there:
    ``(start, end, e0, e1)``, geometry ``g``'s edges ``start[e0[g]:e1[g]]`` -> ``end[...]``.

    ``xy`` comes from ``shapely.get_coordinates`` and is overwritten; ``counts`` from
    ``shapely.get_num_coordinates`` (the vertices of each polygon's one ring). Pixel
    coordinates are ``((x - x0) / dx, (y - y0) / dy)``. The rings' vertices are
    written in place, counter-clockwise (a clockwise ring reversed): no second array of
    every vertex to allocate and fault in (for 100,000 zones, 210 MB). ``start`` and
    ``end`` are two views of them, one row apart: edge ``q`` runs from vertex ``q`` to
    ``q + 1`` (the last vertex of a ring starts no edge of it). ``threads`` (2 at most)
    write the two halves of the rings side by side.
    """
    rs = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(counts, out=rs[1:])
    n_rings = len(counts)
    args = (x0, y0, dx, dy)
    if threads > 1 and n_rings > 1:
        half = n_rings // 2
        with ThreadPoolExecutor(1) as pool:
            other = pool.submit(_ring_vertices_px, xy, rs, half, n_rings, *args)
            _ring_vertices_px(xy, rs, 0, half, *args)
            other.result()
    else:
        _ring_vertices_px(xy, rs, 0, n_rings, *args)
    e0 = rs[:-1]
    e1 = np.maximum(rs[1:] - 1, e0)  # an empty ring has no edge
    return xy[:-1], xy[1:], e0, e1
