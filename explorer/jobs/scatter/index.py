"""Picking points of a 2-D layout for hover, box and lasso, on the layout's :class:`CellGrid`.

:class:`PointIndex` answers "which point is under the cursor" from the cells around it and "which
points are inside this lasso" with cells wholly inside the polygon taken whole and only the points
of the cells its outline crosses tested one by one. :func:`grid_for` builds a layout array's grid
once, so the worker's index and the GUI's renderer share it. Numpy (+ numba) only, no Qt.
"""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.grid import CellGrid, _jit, fill_polygon, numba

_GRIDS: list = []  # (weak reference to a layout array, its CellGrid), the last few


def grid_for(xy: np.ndarray) -> CellGrid:
    """The :class:`CellGrid` of the layout array ``xy`` (N, 2) float32, built once per array
    object (the worker's point index and the GUI's renderer share it)."""
    import weakref

    for ref, grid in _GRIDS:
        if ref() is xy:
            return grid
    grid = CellGrid(xy)
    # grids of layouts gone are let go (at 10^7 points a grid with its drawing arrays is ~270 MB)
    _GRIDS[:] = [(ref, g) for ref, g in _GRIDS if ref() is not None]
    try:
        _GRIDS.insert(0, (weakref.ref(xy), grid))
    except TypeError:  # not weak-referenceable: not cached
        return grid
    del _GRIDS[3:]
    return grid


@_jit
def _cell_states(u, v, a, b, nx, ny, cx0, cy0, g, table):  # pragma: no cover (numba)
    """Mark the block's cells in ``table`` ((g*g + 1,) uint8, entry c + 1 for flat cell c): 1 for
    a cell whose centre is inside the polygon (vertices ``u``, ``v`` in cell units of the block;
    even-odd rule, by scanlines), then 2 for every cell the outline touches (its edges clipped to
    the block, ``a`` -> ``b`` (E, 2), sampled at a quarter cell; with the neighbours of a sample
    near a side, a band about 1.5 cells wide instead of 3), so a cell left at 1 lies wholly inside
    and one left at 0 wholly outside."""
    m = u.shape[0]
    xs = np.empty(m, np.float64)
    for j in range(ny):
        yc = j + 0.5
        k = 0
        for e in range(m):
            f = e + 1 if e + 1 < m else 0
            va, vb = v[e], v[f]
            if (va <= yc < vb) or (vb <= yc < va):
                xs[k] = u[e] + (yc - va) / (vb - va) * (u[f] - u[e])
                k += 1
        if k < 2:
            continue
        xk = np.sort(xs[:k])
        row = (j + cy0) * g + cx0 + 1
        for p in range(0, k - 1, 2):  # centres i + 0.5 in [xk[p], xk[p + 1])
            i0 = max(0, int(np.ceil(xk[p] - 0.5)))
            i1 = min(nx, int(np.ceil(xk[p + 1] - 0.5)))
            for i in range(i0, i1):
                table[row + i] = 1
    for e in range(a.shape[0]):
        du, dv = b[e, 0] - a[e, 0], b[e, 1] - a[e, 1]
        steps = int(np.ceil(max(abs(du), abs(dv)) * 4.0)) + 1
        for t in range(steps + 1):
            w = t / steps
            x, y = a[e, 0] + w * du, a[e, 1] + w * dv
            ci, cj = int(np.floor(x)), int(np.floor(y))
            if ci < -1 or ci > nx or cj < -1 or cj > ny:
                continue
            # samples are at most 1/4 cell apart along each axis, so every point of the edge is
            # within 1/8 of one: its cell is the sample's or a neighbour across a side less than
            # 1/4 away from the sample (those are marked too; 2x the margin for rounding)
            fx, fy = x - ci, y - cj
            i0, i1 = ci - (fx < 0.25), ci + (fx > 0.75)
            j0, j1 = cj - (fy < 0.25), cj + (fy > 0.75)
            for jj in range(max(0, j0), min(ny, j1 + 1)):
                for ii in range(max(0, i0), min(nx, i1 + 1)):
                    table[(jj + cy0) * g + ii + cx0 + 1] = 2


@_jit
def _inside(x, y, j, px, py, edge_starts, edge_ids):  # pragma: no cover (numba)
    """1 if (x, y) is inside the polygon (``px``, ``py``) by the even-odd rule, from the edges
    listed for cell row ``j`` (``edge_ids[edge_starts[j]:edge_starts[j + 1]]``), else 0."""
    m = px.shape[0]
    inside = 0
    for t in range(edge_starts[j], edge_starts[j + 1]):
        e = edge_ids[t]
        f = e + 1 if e + 1 < m else 0
        ya, yb = py[e], py[f]
        if (ya <= y < yb) or (yb <= y < ya):
            if x < (px[f] - px[e]) * (y - ya) / (yb - ya) + px[e]:
                inside = 1 - inside
    return inside


@_jit
def _pack_states(table):  # pragma: no cover (numba)
    """(K,) uint8 states 0..2 -> (ceil(K / 4),) uint8, four 2-bit states a byte (entry c in bits
    2 * (c % 4) of byte c // 4): a quarter of the memory, so the scan's lookups stay in cache."""
    k = table.shape[0]
    packed = np.zeros((k + 3) // 4, np.uint8)
    for b in range(k // 4):  # whole bytes: four loads and one store
        c = 4 * b
        packed[b] = table[c] | (table[c + 1] << 2) | (table[c + 2] << 4) | (table[c + 3] << 6)
    for c in range(k // 4 * 4, k):
        packed[c >> 2] |= table[c] << ((c & 3) << 1)
    return packed


@_jit
def _tile_states(table, g, tile, nt, cx0, cx1, cy0, cy1, out):  # pragma: no cover (numba)
    """``out`` ((nt * nt + 1,) uint8, zero) for the tiles (``tile`` x ``tile`` cells) meeting the
    block of cells: the state all its cells share in ``table`` (see _cell_states: 0 outside, 1
    wholly inside, 2 near the outline), or 3 where they differ (a row there looks up its cell).
    A tile's cells share a state when the OR and the AND of their states agree (two reductions
    over contiguous bytes, which the compiler vectorises)."""
    for ty in range(cy0 // tile, cy1 // tile + 1):
        for tx in range(cx0 // tile, cx1 // tile + 1):
            lo, hi = tx * tile + 1, min(g, (tx + 1) * tile) + 1
            any_, all_ = np.uint8(0), np.uint8(255)
            for cy in range(ty * tile, min(g, (ty + 1) * tile)):
                row = cy * g
                for c in range(row + lo, row + hi):
                    any_ |= table[c]
                    all_ &= table[c]
                if any_ != all_:
                    break
            out[ty * nt + tx] = any_ if any_ == all_ else 3


@_jit
def _band_verdicts(
    table, tiles, tile, nt, starts, order, xy, g, cy0, rect, px, py, es, ei, bits
):  # pragma: no cover
    """Test the points of the cells of state 2 (``table``, see _cell_states; they lie in the
    tiles of state 2 or 3, ``tiles``: see _tile_states) one by one and set bit ``r % 8`` of
    ``bits[r // 8]`` for each row r inside: inside the closed rectangle ``rect`` = (x0, x1, y0, y1)
    float32 when given (4,), else inside the polygon (``px``, ``py``), from the edges crossing its
    cell row (``es``, ``ei``, see _edges_by_row: rows from ``cy0``). The band is about 1.5 cells
    wide, so these are a few points in a hundred."""
    by_rect = rect.shape[0] == 4
    for t in range(nt * nt):
        if tiles[t] < 2:
            continue
        ty, tx = t // nt, t % nt
        for cy in range(ty * tile, min(g, (ty + 1) * tile)):
            j = cy - cy0
            for c in range(cy * g + tx * tile, cy * g + min(g, (tx + 1) * tile)):
                if table[c + 1] != 2:
                    continue
                for p in range(starts[c], starts[c + 1]):
                    r = order[p]
                    x, y = xy[r, 0], xy[r, 1]
                    if by_rect:
                        inside = rect[0] <= x <= rect[1] and rect[2] <= y <= rect[3]
                    else:
                        inside = _inside(np.float64(x), np.float64(y), j, px, py, es, ei) == 1
                    if inside:
                        bits[r >> 3] |= np.uint8(1 << (r & 7))


@_jit
def _scan_states(tile_of, cell_of, tiles, packed, bits, allowed, out):  # pragma: no cover (numba)
    """One pass over the rows, in order, written without a branch on inside/outside (the rows
    are in no spatial order: such a branch would be mispredicted half the time): a row's state is
    its tile's (``tiles``, see _tile_states: at most 16 KB, so the lookups stay in L1 and the pass
    reads 2 bytes a row), or for a row of a mixed tile (3) its cell's (``packed``, see
    _pack_states); a row of state 1 is inside, one of state 2 where its bit in ``bits`` is set
    (see _band_verdicts). Rows inside, and where ``allowed`` (N,) bool (empty: all), go to
    ``out`` (N,) int64 in order (written only as far as it fills). Returns how many."""
    k = 0
    use_allowed = allowed.shape[0] > 0
    for i in range(tile_of.shape[0]):
        s = np.int64(tiles[tile_of[i]])
        if s >= 2:  # (a few rows in a hundred: those of tiles near the outline)
            if s == 3:
                c = cell_of[i] + 1
                s = np.int64((packed[c >> 2] >> ((c & 3) << 1)) & 3)
            if s == 2:
                s = np.int64((bits[i >> 3] >> (i & 7)) & 1)
        if use_allowed:
            s &= np.int64(allowed[i])
        out[k] = i
        k += s
    return k


@_jit
def _cell_mask(table, bits, starts, order, cx0, cx1, cy0, cy1, g, out):  # pragma: no cover (numba)
    """``out`` (M,) bool in cell order, all False: True at the points inside, from a one-pass
    query's cell states ``table`` (its runs of state-1 cells set whole, a run of cells a row) and
    band verdicts ``bits`` (see _band_verdicts), over the block of cells. Writes are in order."""
    for cy in range(cy0, cy1 + 1):
        row = cy * g
        cx = cx0
        while cx <= cx1:
            c = row + cx
            s = table[c + 1]
            if s == 1:
                e = cx
                while e < cx1 and table[c + e - cx + 2] == 1:
                    e += 1
                out[starts[c] : starts[row + e + 1]] = True
                cx = e + 1
                continue
            if s == 2:
                for p in range(starts[c], starts[c + 1]):
                    r = order[p]
                    out[p] = (bits[r >> 3] >> (r & 7)) & 1 != 0
            cx += 1


def _clip_segments(a: np.ndarray, b: np.ndarray, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts of segments a -> b ((E, 2) each) inside [-1, nx + 1] x [-1, ny + 1] (Liang-Barsky);
    segments wholly outside shrink to a point outside."""
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    for k, hi in ((0, nx + 1.0), (1, ny + 1.0)):
        for p, q in ((-d[:, k], a[:, k] + 1.0), (d[:, k], hi - a[:, k])):
            with np.errstate(divide="ignore", invalid="ignore"):
                r = q / p
            parallel_out = (p == 0) & (q < 0)
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
            t1 = np.where(parallel_out, -1.0, t1)
    gone = t0 > t1
    t0, t1 = np.where(gone, 0.0, t0), np.where(gone, 0.0, t1)
    return a + d * t0[:, None], a + d * t1[:, None]


def _cell_masks_numpy(u, v, nx, ny) -> tuple[np.ndarray, np.ndarray]:
    """(whole, edge) (ny, nx) bool of the block, as _cell_states marks them, in numpy."""
    from scipy.ndimage import binary_dilation

    inside = fill_polygon(u, v, nx, ny)  # cells whose centre is inside
    edge = np.zeros((ny, nx), bool)  # cells the outline passes through (sampled finely)
    a, b = _clip_segments(np.stack([u, v], 1), np.roll(np.stack([u, v], 1), -1, axis=0), nx, ny)
    steps = np.maximum(2, np.ceil(np.abs(b - a).max(axis=1) * 4).astype(int) + 1)
    t = np.concatenate([np.linspace(0, 1, k) for k in steps])
    start = np.repeat(a, steps, axis=0)
    pts = start + (np.repeat(b, steps, axis=0) - start) * t[:, None]
    ci, cj = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
    ok = (ci >= 0) & (ci < nx) & (cj >= 0) & (cj < ny)
    edge[cj[ok], ci[ok]] = True
    edge = binary_dilation(edge, structure=np.ones((3, 3), bool))
    return inside & ~edge, edge


def _edges_by_row(v: np.ndarray, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """The polygon's edges (vertex e to e + 1, the last to the first) that may cross each of
    ``ny`` cell rows, as CSR: (ny + 1,) starts and the edge numbers; ``v`` (M,) is the vertices'
    y in cell rows of the block. Each edge is listed one row beyond its ends (rounding)."""
    w = np.roll(v, -1)
    lo = np.clip(np.floor(np.minimum(v, w)).astype(np.int64) - 1, 0, ny - 1)
    hi = np.clip(np.floor(np.maximum(v, w)).astype(np.int64) + 1, 0, ny - 1)
    span = hi - lo + 1
    edge = np.repeat(np.arange(len(v)), span)
    row = np.repeat(lo, span) + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
    order = np.argsort(row, kind="stable")
    starts = np.zeros(ny + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=ny), out=starts[1:])
    return starts, edge[order].astype(np.int64)


class PointIndex:
    """Nearest-point and polygon queries over one (N, 2) layout, on its :func:`grid_for` grid."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = np.asarray(xy, dtype=np.float32)
        self.grid = grid_for(self.xy) if len(self.xy) else None
        self._last: tuple | None = None  # the last one-pass query: (rows, table, block, bits)

    def nearest(
        self,
        x: float,
        y: float,
        scale: tuple[float, float],
        radius_px: float = 6.0,
        allowed: np.ndarray | None = None,
    ) -> int | None:
        """The point closest to (x, y) within ``radius_px`` screen pixels, given ``scale`` = data
        units per pixel along x and y; only points where ``allowed`` (bool (N,)) is True."""
        if self.grid is None:
            return None
        sx, sy = max(scale[0], 1e-12), max(scale[1], 1e-12)
        rx, ry = radius_px * sx, radius_px * sy
        idx = self.grid.rows_in_range(*self.grid.cell_range(x - rx, x + rx, y - ry, y + ry))
        if allowed is not None:
            idx = idx[allowed[idx]]
        if len(idx) == 0:
            return None
        d_px = np.hypot((self.xy[idx, 0] - x) / sx, (self.xy[idx, 1] - y) / sy)
        best = int(np.argmin(d_px))
        return int(idx[best]) if d_px[best] <= radius_px else None

    def _sorted(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (unique, any order) sorted: a mask scan when they are many, else a sort."""
        if len(rows) > len(self.xy) // 16:
            mask = np.zeros(len(self.xy), bool)
            mask[rows] = True
            return np.flatnonzero(mask).astype(np.int64)
        return np.sort(rows).astype(np.int64)

    def in_polygon(self, polygon: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Sorted indices of the points inside ``polygon`` (M, 2) (even-odd rule), only where
        ``allowed`` (N,) bool. Cells wholly inside are taken whole; only the points of cells
        within a cell of the outline are tested. A lasso holding many points is one ordered pass
        over the rows (numba); a small one gathers the runs of its cells."""
        poly = np.asarray(polygon, dtype=np.float64)
        if len(poly) < 3 or self.grid is None or not np.isfinite(poly).all():
            return np.zeros(0, dtype=np.int64)
        grid = self.grid
        g = grid.size
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        cx0, cx1, cy0, cy1 = grid.cell_range(lo[0], hi[0], lo[1], hi[1])
        if cx0 > cx1 or cy0 > cy1:
            return np.zeros(0, dtype=np.int64)
        nx, ny = cx1 - cx0 + 1, cy1 - cy0 + 1
        # the polygon in cell units of the block (cell (i, j) spans [i, i + 1) x [j, j + 1))
        u = (poly[:, 0] - grid.lo[0]) / grid.cell[0] - cx0
        v = (poly[:, 1] - grid.lo[1]) / grid.cell[1] - cy0
        if numba is None:
            whole, edge = _cell_masks_numpy(u, v, nx, ny)
            return self._gather(whole, edge, (cx0, cy0), poly, allowed)
        table = np.zeros(g * g + 1, np.uint8)  # entry 0: rows not placed (cell -1)
        uv = np.stack([u, v], 1)
        a, b = _clip_segments(uv, np.roll(uv, -1, axis=0), nx, ny)
        _cell_states(u, v, a, b, nx, ny, cx0, cy0, g, table)
        if grid.count_in_range(cx0, cx1, cy0, cy1) > len(self.xy) // 32:
            edge_starts, edge_ids = _edges_by_row(v, ny)
            return self._scan(
                table, (cx0, cx1, cy0, cy1), allowed, np.zeros(0, np.float32),
                poly[:, 0].copy(), poly[:, 1].copy(), edge_starts, edge_ids,
            )  # fmt: skip
        states = table[1:].reshape(g, g)[cy0 : cy1 + 1, cx0 : cx1 + 1]
        return self._gather(states == 1, states == 2, (cx0, cy0), poly, allowed)

    def _gather(self, whole, edge, corner, poly, allowed) -> np.ndarray:
        """Rows of the block's ``whole`` (ny, nx) cells and the points of its ``edge`` cells that
        are inside ``poly``, sorted; ``corner`` = (cx0, cy0), the block's first cell."""
        from skimage.measure import points_in_poly

        grid = self.grid
        cx0, cy0 = corner

        def cells_of(mask: np.ndarray) -> np.ndarray:  # block mask -> flat cell numbers
            j, i = np.nonzero(mask)
            return (j + cy0) * grid.size + i + cx0

        border = grid.rows_in_cells(cells_of(edge))
        if len(border):
            border = border[points_in_poly(self.xy[border].astype(np.float64), poly)]
        whole = cells_of(whole)
        if len(whole) > 4096:  # many points: mark them in a mask, then one scan
            mask = np.zeros(len(self.xy), bool)
            grid.mark_cells(whole, mask)
            mask[border] = True
            if allowed is not None:
                mask &= allowed
            return np.flatnonzero(mask).astype(np.int64)
        rows = np.concatenate([grid.rows_in_cells(whole), border])
        if allowed is not None:
            rows = rows[allowed[rows]]
        return self._sorted(rows)

    def _scan(self, table, block, allowed, rect, px=None, py=None, es=None, ei=None) -> np.ndarray:
        """Sorted rows inside, for cell states ``table`` ((G*G + 1,) uint8, entry c + 1 for cell
        c, nonzero only in ``block`` = (cx0, cx1, cy0, cy1)): the band's points tested (inside
        ``rect`` (4,) float32 = (x0, x1, y0, y1), or when it is empty inside the polygon ``px``,
        ``py`` with its edges by cell row ``es``, ``ei``), then one pass over every row."""
        grid = self.grid
        none = np.zeros(1, np.float64)
        px, py = (none, none) if px is None else (px, py)
        es, ei = (np.zeros(2, np.int64), np.zeros(0, np.int64)) if es is None else (es, ei)
        g, tile, nt = grid.size, grid.tile, grid.n_tiles
        tiles = np.zeros(nt * nt + 1, np.uint8)  # the last: rows not placed
        _tile_states(table, g, tile, nt, *block, tiles)
        bits = np.zeros((len(self.xy) + 7) // 8, np.uint8)  # the band's rows inside, a bit each
        _band_verdicts(
            table, tiles, tile, nt, grid.starts, grid.order, self.xy, g, block[2], rect, px, py, es, ei, bits
        )
        out = np.empty(len(self.xy), np.int64)  # (np.empty: only the pages written are touched)
        keep = np.zeros(0, bool) if allowed is None else np.asarray(allowed, dtype=bool)
        rows = out[: _scan_states(grid.tile_of, grid.cell_of, tiles, _pack_states(table), bits, keep, out)]
        self._last = (rows, table, block, bits)
        return rows

    def last_rows(self) -> np.ndarray | None:
        """The rows the last lasso or box that held many points returned (the very array), or
        None: what :meth:`cell_mask` can give the mask of."""
        return None if self._last is None else self._last[0]

    def cell_mask(self, rows: np.ndarray) -> np.ndarray | None:
        """(M,) bool in the grid's cell order (``grid.order``): the points inside the last lasso
        or box that held many points, when ``rows`` are what it returned (compared: a selection
        made elsewhere gets None), so a colouring in cell order needs no 10^7-row permutation.
        Rows left out by that query's ``allowed`` are True here if inside (the caller knows
        which rows it does not draw). About 10-20 ms at 10^7 points: memory set runs of the
        cells wholly inside, a bit looked up for each point near the outline."""
        last = self._last
        if last is None or self.grid is None or len(rows) != len(last[0]):
            return None
        held = last[0]
        if rows is held:  # (the very array: the workspace holds what the lasso returned)
            pass
        elif len(rows) and (rows[0] != held[0] or rows[-1] != held[-1] or not np.array_equal(rows, held)):
            return None
        _, table, block, bits = last
        grid = self.grid
        out = np.zeros(len(grid.order), np.bool_)
        _cell_mask(table, bits, grid.starts, grid.order, *block, grid.size, out)
        return out

    def in_rect(
        self, x0: float, y0: float, x1: float, y1: float, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Sorted indices of the points in the closed rectangle, only where ``allowed`` (N,) bool.
        A box holding many points is the lasso's one pass over the rows (the cells strictly inside
        the box's cell range taken whole, its outer ring of cells tested); a small one gathers the
        runs of its cells."""
        lo_x, hi_x = sorted((x0, x1))
        lo_y, hi_y = sorted((y0, y1))
        if self.grid is None:
            return np.zeros(0, dtype=np.int64)
        grid = self.grid
        cx0, cx1, cy0, cy1 = grid.cell_range(lo_x, hi_x, lo_y, hi_y)
        if numba is not None and grid.count_in_range(cx0, cx1, cy0, cy1) > len(self.xy) // 32:
            g = grid.size
            states = np.zeros((g, g), np.uint8)
            states[cy0 : cy1 + 1, cx0 : cx1 + 1] = 2  # the ring: points there are tested
            states[cy0 + 1 : cy1, cx0 + 1 : cx1] = 1  # strictly inside the ring: inside the box
            table = np.concatenate([[0], states.ravel()]).astype(np.uint8)
            # (float32 bounds: what numpy compares float32 points with a Python float in)
            rect = np.array([lo_x, hi_x, lo_y, hi_y], np.float32)
            return self._scan(table, (cx0, cx1, cy0, cy1), allowed, rect)
        rows = grid.rows_in_range(cx0, cx1, cy0, cy1)
        px, py = self.xy[rows, 0], self.xy[rows, 1]
        rows = rows[(px >= lo_x) & (px <= hi_x) & (py >= lo_y) & (py <= hi_y)]
        if allowed is not None:
            rows = rows[allowed[rows]]
        return self._sorted(rows)
