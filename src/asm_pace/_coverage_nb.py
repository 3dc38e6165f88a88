"""Private: compiled (numba) kernels for :mod:`asm_pace._coverage`.

The kernels do what the vectorised numpy code of ``_coverage`` does, edge by edge
and event by event, without the temporary arrays: :func:`exact_events` returns
the same events in the same order, computed by the same floating-point
operations, and :func:`label_sums_events` the same sums (added in another order,
so equal to rounding). ``_coverage`` calls them only for chunks with many
edges, where they pay for importing numba; the results are equal either way.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _first_cell(a: float, b: float) -> float:
    cell = np.floor(a)
    if b < a and cell == a:
        cell -= 1.0
    return cell


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _exact_pass(
    start, end, owner, h, w, fill, kpos, mpos, piece, row, col, rise, own_at, opiece, orow, ocol, ow
):
    """Count per row (``fill`` False) or write row by row (``fill`` True) the events.

    ``kpos`` and ``mpos`` (h + 1) count the prefix and own events of each row, then
    (as exclusive cumulative sums) give where each row's next event goes.
    """
    for e in range(start.shape[0]):
        ua = start[e, 0]
        wa = start[e, 1]
        wb = end[e, 1]
        if wa == wb:
            continue  # horizontal edges add nothing
        du = end[e, 0] - ua
        dw = wb - wa
        fa, step, alpha, beta, n = _cut_params(wa, wb)
        for j in range(n + 1):
            jf = float(j)
            t0 = alpha + beta * jf
            t1 = t0 + beta
            if j == 0:
                t0 = 0.0
            if j == n:
                t1 = 1.0
            cell = fa + step * jf
            u0 = ua + t0 * du
            u1 = ua + t1 * du
            dw1 = (t1 - t0) * dw
            fu0 = _first_cell(u0, u1)
            cx = fu0 != np.floor(u1)
            c1 = min(max(int(fu0), 0), w - 1)
            r1 = min(max(int(cell), 0), h - 1)
            if fill:
                k = kpos[r1]
                piece[k] = owner[e]
                row[k] = r1
                col[k] = c1
                rise[k] = dw1
                own_at[k] = 0.0 if cx else (0.5 * (u0 + u1) - c1) * dw1
            kpos[r1] += 1
            if not cx:
                continue
            ga, gstep, galpha, gbeta, n2 = _cut_params(u0, u1)
            right = u1 > u0
            for i in range(n2 + 1):
                if fill:
                    fi = float(i)
                    s0 = galpha + gbeta * fi
                    s1 = s0 + gbeta
                    if i == 0:
                        s0 = 0.0
                    if i == n2:
                        s1 = 1.0
                    r = (s1 - s0) * dw1
                    mid = u0 + 0.5 * (s0 + s1) * (u1 - u0)
                    c = min(max(int(ga + gstep * fi), 0), w - 1)
                    o = (mid - c) * r
                    if right:
                        later = (1.0 - s1) * dw1
                    elif i == 0:
                        later = 0.0
                    else:
                        later = -(1.0 - s0) * dw1
                    m = mpos[r1]
                    opiece[m] = owner[e]
                    orow[m] = r1
                    ocol[m] = c
                    ow[m] = o + later
                mpos[r1] += 1


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


@njit(cache=True, nogil=True)
def packed_prefix(flat, lut, packed):
    """``packed[0] = 0``, ``packed[i + 1] = sum(lut[flat[:i + 1]])``; returns the rare count."""
    acc = np.uint64(0)
    packed[0] = acc
    for q in range(flat.shape[0]):
        acc += lut[flat[q]]
        packed[q + 1] = acc
    return int(acc >> np.uint64(42))


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def rare_table(coded, flat, thresh, compact, n_pos, n_rare, table):
    """Cumulative one-hot counts of the rare labels over the rare pixels, row by row."""
    for j in range(n_rare):
        table[0, j] = 0.0
    i = 0
    for q in range(coded.shape[0]):
        if coded[q] >= thresh:
            for j in range(n_rare):
                table[i + 1, j] = table[i, j]
            table[i + 1, compact[flat[q]]] += 1.0
            i += 1
    return i


@njit(cache=True, nogil=True)
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
    top,
    rare_ids,
    table,
    out,
    by_row,
):
    """Add the coverage- and row-weighted label areas of the events to ``out`` (n_pieces, k).

    ``packed`` is the inclusive-exclusive cumulative sum of the packed 21-bit counts
    (``packed[f]`` counts the pixels before ``f``), ``top`` the three frequent labels
    (-1 when absent), ``rare_ids`` the rare labels present and ``table`` their
    cumulative one-hot counts over the rare pixels (or an empty table).
    """
    field = np.uint64(21)
    mask = np.uint64((1 << 21) - 1)
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
        n3 = float((g >> field) & mask)
        nr = int(g >> (field + field))
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
