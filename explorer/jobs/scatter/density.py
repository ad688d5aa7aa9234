"""Density drawing for dense scatters: per-pixel counts and colour sums, shaded on a log scale.

Where many points share a pixel, a "last point wins" raster turns a million points into solid
blobs. Here each pixel gets the mean colour of its points (a per-class blend: a pixel where two
classes mix shows the mix) and an opacity that grows with ``log(1 + count)`` up to the densest
pixel of the frame, so cores and fringes of a cluster stay apart. Counts come either from the
points themselves (zoomed in) or from per-cell sums over a coarser level of a
:class:`~explorer.jobs.scatter.grid.CellGrid` (zoomed out: the coarsest level whose cells are at most
``DensityLayers.CELL_PX`` = 1.5 pixels, each cell spread by area over the pixels it overlaps),
so a frame costs at most about the pixels plus the points of the visible cells.

Colours are a small palette and one code per point (uint8 or uint16; a code past the palette is
a point not drawn). A new colouring puts the codes in cell order once (two streaming passes,
:meth:`CellGrid.to_cell_order`), or is given them in cell order (a colouring by class of 10^7
points: :func:`~explorer.jobs.scatter.colours.cell_class_codes`); after that every sum reads its
points in order: the points of a
zoomed-in view are runs of the cell order, and a level's sums are made tile by tile as frames
first show them, from the runs of the tile's own cells (no scattered writes over the whole
level, which at 10^7 points cost 0.4-0.8 s per colouring). No Qt here.
"""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.grid import CellGrid, _jit

MIN_ALPHA = 0.35  # a pixel with one point


@_jit
def fill_tiles(scodes, starts, palette, g, shift, tile, tx0, tx1, ty0, ty1, done, count, sums):
    """Sum the tiles ``tx0..tx1`` x ``ty0..ty1`` (``tile`` x ``tile`` cells) of the level with
    (g >> shift)^2 cells that are not ``done`` yet: per cell, the number of drawn points
    (code < len(palette)) and the sums of their palette R, G, B, A, from the runs of the cell order
    (``scodes`` (M,): the codes in cell order), so a tile costs its own points, read in order.
    ``palette`` (P, 4) float64 (no conversion a point)."""
    gl = g >> shift
    nt = (gl + tile - 1) // tile
    n_pal = palette.shape[0]
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            if done[ty * nt + tx]:
                continue
            done[ty * nt + tx] = True
            c0, c1 = tx * tile, min(gl, (tx + 1) * tile)
            for cy in range(ty * tile, min(gl, (ty + 1) * tile)):
                for r in range(cy << shift, (cy + 1) << shift):  # the fine rows of this cell row
                    base = r * g
                    b = starts[base + (c0 << shift)]
                    for cx in range(c0, c1):
                        a = b  # where the previous cell's run ended
                        b = starts[base + ((cx + 1) << shift)]
                        if a == b:
                            continue
                        n = 0
                        s0 = s1 = s2 = s3 = 0.0
                        for i in range(a, b):
                            k = scodes[i]
                            if k < n_pal:
                                n += 1
                                s0 += palette[k, 0]
                                s1 += palette[k, 1]
                                s2 += palette[k, 2]
                                s3 += palette[k, 3]
                        d = cy * gl + cx
                        count[d] += n
                        sums[d, 0] += s0
                        sums[d, 1] += s1
                        sums[d, 2] += s2
                        sums[d, 3] += s3


@_jit
def add_points(xs, ys, scodes, palette, starts, g, cx0, cx1, cy0, cy1, x0, ytop, sx, sy, acc):
    """Accumulate the drawn points of the visible cells (runs of the cell-sorted coordinates and
    codes, read in order) into the (h, w, 5) image of colour sums (0-3) and counts (4). Returns
    the largest count."""
    h, w = acc.shape[0], acc.shape[1]
    n_pal = palette.shape[0]
    top = np.float32(0.0)
    for cy in range(cy0, cy1 + 1):
        for i in range(starts[cy * g + cx0], starts[cy * g + cx1 + 1]):
            k = scodes[i]
            if k >= n_pal:
                continue
            px = (xs[i] - x0) * sx
            py = (ytop - ys[i]) * sy
            if px >= 0 and px < w and py >= 0 and py < h:
                ix, iy = int(px), int(py)
                for j in range(4):
                    acc[iy, ix, j] += palette[k, j]
                acc[iy, ix, 4] += 1.0
                top = max(top, acc[iy, ix, 4])
    return top


@_jit
def _shares(first, size, n, out_ix, out_n, out_f):  # pragma: no cover (numba)
    """For ``n`` cells of ``size`` pixels (<= 2) whose first starts at pixel coordinate
    ``first``: each cell's first pixel, how many pixels it overlaps (1..3) and its share of
    each by length (the shares of a cell add up to 1)."""
    for c in range(n):
        left = first + c * size
        right = left + size
        ix = int(np.floor(left))
        out_ix[c] = ix
        rest = 1.0
        k = 0
        while k < 2 and ix + k + 1 < right:  # the cell goes on past this pixel
            f = (min(right, ix + k + 1) - max(left, ix + k)) / size
            out_f[c, k] = f
            rest -= f
            k += 1
        out_f[c, k] = max(0.0, rest)
        out_n[c] = k + 1


@_jit
def add_cells(
    count, sums, g, lo_x, lo_y, cw, ch, cx0, cx1, cy0, cy1, x0, ytop, sx, sy, acc
):  # pragma: no cover
    """Accumulate the visible cells of one pyramid level into the (h, w, 5) image of colour sums
    (0-3) and counts (4; one image, so a cell's writes to a pixel are one stream, not two), each
    cell (up to 2 pixels a side) shared between the up to 3 x 3 pixels it overlaps by area, so
    the density has no stripes where cells and pixels do not line up. Each column's and row's
    pixels and shares are worked out once; a cell whose pixels are all in the image adds to them
    without bounds tests. Returns the largest count (so shade needs no pass to find it)."""
    h, w = acc.shape[0], acc.shape[1]
    top = np.float32(0.0)
    nx, ny = cx1 - cx0 + 1, cy1 - cy0 + 1
    col_ix, col_n, col_f = np.empty(nx, np.int64), np.empty(nx, np.int64), np.zeros((nx, 3))
    row_iy, row_n, row_f = np.empty(ny, np.int64), np.empty(ny, np.int64), np.zeros((ny, 3))
    _shares((lo_x + cx0 * cw - x0) * sx, cw * sx, nx, col_ix, col_n, col_f)
    # rows from the top of the image down: cell row cy's upper edge is at lo_y + (cy + 1) * ch
    _shares((ytop - (lo_y + (cy1 + 1) * ch)) * sy, ch * sy, ny, row_iy, row_n, row_f)
    for j in range(ny):
        cy = cy1 - j
        iy, my = row_iy[j], row_n[j]
        row_inside = iy >= 0 and iy + my <= h
        base = cy * g
        for cx in range(cx0, cx1 + 1):
            c = base + cx
            n = count[c]
            if n == 0:
                continue
            i = cx - cx0
            ix, mx = col_ix[i], col_n[i]
            s0, s1, s2, s3 = sums[c, 0], sums[c, 1], sums[c, 2], sums[c, 3]
            if row_inside and ix >= 0 and ix + mx <= w:  # all its pixels in the image
                if my == 2 and mx == 2:  # (cells under a pixel: fixed loops, unrolled)
                    for dy in range(2):
                        wy = row_f[j, dy]
                        for dx in range(2):
                            wgt = wy * col_f[i, dx]
                            acc[iy + dy, ix + dx, 0] += s0 * wgt
                            acc[iy + dy, ix + dx, 1] += s1 * wgt
                            acc[iy + dy, ix + dx, 2] += s2 * wgt
                            acc[iy + dy, ix + dx, 3] += s3 * wgt
                            acc[iy + dy, ix + dx, 4] += n * wgt
                            top = max(top, acc[iy + dy, ix + dx, 4])
                    continue
                for dy in range(my):
                    wy = row_f[j, dy]
                    for dx in range(mx):
                        wgt = wy * col_f[i, dx]
                        acc[iy + dy, ix + dx, 0] += s0 * wgt
                        acc[iy + dy, ix + dx, 1] += s1 * wgt
                        acc[iy + dy, ix + dx, 2] += s2 * wgt
                        acc[iy + dy, ix + dx, 3] += s3 * wgt
                        acc[iy + dy, ix + dx, 4] += n * wgt
                        top = max(top, acc[iy + dy, ix + dx, 4])
                continue
            for dy in range(my):
                yy = iy + dy
                if yy < 0 or yy >= h:
                    continue
                wy = row_f[j, dy]
                for dx in range(mx):
                    xx = ix + dx
                    if xx < 0 or xx >= w:
                        continue
                    wgt = wy * col_f[i, dx]
                    acc[yy, xx, 0] += s0 * wgt
                    acc[yy, xx, 1] += s1 * wgt
                    acc[yy, xx, 2] += s2 * wgt
                    acc[yy, xx, 3] += s3 * wgt
                    acc[yy, xx, 4] += n * wgt
                    top = max(top, acc[yy, xx, 4])
    return top


@_jit
def shade(acc, top, out, min_alpha):  # pragma: no cover (numba)
    """(h, w, 5) colour sums (0-3) and counts (4), the largest count ``top`` -> ``out`` (h, w, 4)
    uint8 RGBA (every pixel written: an empty pixel is 0, 0, 0, 0), and ``acc`` left all zero,
    ready for the next frame (zeroed as it is read, so no separate pass clears it). The mean
    colour, opacity min_alpha .. 1 by log(1 + count) / log(1 + top) (a count under one, a share
    of a point: that share of one point's opacity). In float32 (a float32 log and one reciprocal
    a pixel: 2.3x faster than float64 log1p and four divisions; at most 1 in 255 apart, on a
    pixel in about 10^5)."""
    h, w = acc.shape[0], acc.shape[1]
    top = np.float32(top)
    one, half, full = np.float32(1.0), np.float32(0.5), np.float32(255.0)
    scale = np.float32(np.log1p(np.float64(top))) if top > 1.0 else one
    lo = np.float32(min_alpha)
    # a pixel holding a share c < 1 of a point (a cell spread over the pixels it overlaps) takes
    # that share of one point's opacity, so a lone point spread over 4-9 pixels shows about as
    # much ink as the one pixel it would cover (without this, each share took at least min_alpha)
    a_one = lo + (one - lo) * min(one, np.log(one + one) / scale) if top > 1.0 else one
    for iy in range(h):
        for ix in range(w):
            c = acc[iy, ix, 4]
            if c <= 0:
                for j in range(4):
                    out[iy, ix, j] = 0
                for j in range(5):
                    acc[iy, ix, j] = 0.0
                continue
            t = np.log(one + c) / scale if top > 1.0 else one
            a = lo + (one - lo) * min(one, t) if c >= one else c * a_one
            inv = one / c
            out[iy, ix, 0] = np.uint8(min(full, acc[iy, ix, 0] * inv + half))
            out[iy, ix, 1] = np.uint8(min(full, acc[iy, ix, 1] * inv + half))
            out[iy, ix, 2] = np.uint8(min(full, acc[iy, ix, 2] * inv + half))
            out[iy, ix, 3] = np.uint8(min(full, a * acc[iy, ix, 3] * inv + half))
            for j in range(5):
                acc[iy, ix, j] = 0.0


def sorted_coordinates(grid: CellGrid, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) float32 of the grid's points in cell order, made once per grid (a new colouring of
    the same layout reuses them)."""
    cached = getattr(grid, "_sorted_xy", None)
    if cached is None:
        xy = np.asarray(xy, dtype=np.float32)
        cached = (grid.to_cell_order(xy[:, 0]), grid.to_cell_order(xy[:, 1]))
        grid._sorted_xy = cached
    return cached


class DensityLayers:
    """One colouring of a :class:`CellGrid`'s points: ``codes`` (N,) uint8/uint16 palette index
    per row (>= len(palette): not drawn), or (M,) already in cell order, and ``palette`` (P, 4)
    uint8 RGBA.

    Codes per row are put in cell order once (``scodes`` (M,), two streaming passes); the per-cell
    counts and colour sums of each level (G, G/2, ... cells per side, down to 64) are summed tile
    by tile (TILE x TILE cells) as frames first show them, each tile from the runs of its own
    points, so a zoomed-in view sums only what it shows and a recolour costs the visible points."""

    # tiles of 16 x 16 cells (was 64): a pan sums about what it reveals, not a 64-cell band past
    # it. The bench's 12 pan/zoom frames at 10^7 (3 runs interleaved, load 9.2-9.8): median CPU
    # 32.2 / 30.9 / 34.2 ms -> 29.9 / 28.3 / 31.2 (0.92), their sum 501-579 -> 474-481 ms (0.87)
    TILE = 16
    # a frame draws the coarsest level whose cells are at most CELL_PX pixels a side, each cell
    # spread by area over the 2 x 2 or 3 x 3 pixels it overlaps (1.0 took levels 4x finer: at
    # 10^7 points in a 1200-px plot 1.5*10^6 cells a frame instead of 3.8*10^5; the picture
    # stays as close to the points' own as before, docs/performance.md)
    CELL_PX = 1.5

    def __init__(
        self,
        grid: CellGrid,
        xy: np.ndarray,
        codes: np.ndarray,
        palette: np.ndarray,
        in_cell_order: bool = False,
    ) -> None:
        """``in_cell_order``: ``codes`` (M,) are already in the grid's cell order (kept as given,
        not copied), else (N,) per row."""
        self.grid = grid
        self.xs, self.ys = sorted_coordinates(grid, xy)
        self.palette = np.ascontiguousarray(palette, dtype=np.float32)
        self._palette64 = self.palette.astype(np.float64)
        if in_cell_order:
            if len(codes) != len(grid.order):
                raise ValueError(f"{len(codes)} codes in cell order for {len(grid.order)} placed points")
            self.scodes = np.ascontiguousarray(codes)
        else:
            self.scodes = grid.to_cell_order(np.ascontiguousarray(codes))
        self._levels: dict[
            int, tuple[np.ndarray, np.ndarray, np.ndarray]
        ] = {}  # shift -> (counts, sums, done)
        self._scratch: np.ndarray | None = None  # see _scratch_images

    def drawn_count(self) -> int:
        """How many placed points have a code inside the palette."""
        return int(np.count_nonzero(self.scodes < len(self.palette)))

    def level(
        self, shift: int, cells: tuple[int, int, int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """((g >> shift)^2,) counts and ((g >> shift)^2, 4) colour sums of that level, summed at
        least over the level's cells ``cells`` = (cx0, cx1, cy0, cy1) inclusive (None: all)."""
        gl = self.grid.size >> shift
        nt = (gl + self.TILE - 1) // self.TILE
        if shift not in self._levels:  # np.zeros: pages of tiles never summed are never touched
            self._levels[shift] = (
                np.zeros(gl * gl, np.float32),
                np.zeros((gl * gl, 4), np.float32),
                np.zeros(nt * nt, np.bool_),
            )
        count, sums, done = self._levels[shift]
        cx0, cx1, cy0, cy1 = (0, gl - 1, 0, gl - 1) if cells is None else cells
        t = self.TILE
        fill_tiles(
            self.scodes, self.grid.starts, self._palette64, self.grid.size, shift, t,
            cx0 // t, cx1 // t, cy0 // t, cy1 // t, done, count, sums,
        )  # fmt: skip
        return count, sums

    def draw(self, x0: float, ytop: float, sx: float, sy: float, w: int, h: int) -> np.ndarray:
        """(h, w, 4) uint8 RGBA of the view whose left edge is x0, top edge ytop (data units) at
        sx, sy pixels per data unit."""
        grid = self.grid
        acc = self._scratch_images(w, h)
        top = 0.0
        x1, ybottom = x0 + w / sx, ytop - h / sy
        base = grid.size
        shifts = [0]  # levels G, G/2, ... down to 64 cells per side
        while (base >> shifts[-1]) > 64:
            shifts.append(shifts[-1] + 1)
        shift = None
        for s in shifts:  # the coarsest level whose cells are at most CELL_PX pixels
            f = 1 << s
            if grid.cell[0] * f * sx <= self.CELL_PX and grid.cell[1] * f * sy <= self.CELL_PX:
                shift = s
            elif shift is not None:
                break
        if shift is None:
            cx0, cx1, cy0, cy1 = grid.cell_range(x0, x1, ybottom, ytop)
            if cx0 <= cx1 and cy0 <= cy1:
                top = add_points(
                    self.xs, self.ys, self.scodes, self.palette, grid.starts, base, cx0, cx1, cy0, cy1,
                    np.float32(x0), np.float32(ytop), np.float32(sx), np.float32(sy), acc,
                )  # fmt: skip
        else:
            g, f = base >> shift, 1 << shift
            cw, ch = grid.cell[0] * f, grid.cell[1] * f
            cx0 = int(max(0, np.floor((x0 - grid.lo[0]) / cw)))
            cx1 = int(min(g - 1, np.floor((x1 - grid.lo[0]) / cw)))
            cy0 = int(max(0, np.floor((ybottom - grid.lo[1]) / ch)))
            cy1 = int(min(g - 1, np.floor((ytop - grid.lo[1]) / ch)))
            if cx0 <= cx1 and cy0 <= cy1:
                count, sums = self.level(shift, (cx0, cx1, cy0, cy1))
                top = add_cells(
                    count, sums, g, grid.lo[0], grid.lo[1], cw, ch, cx0, cx1, cy0, cy1,
                    x0, ytop, sx, sy, acc,
                )  # fmt: skip
        out = np.empty((h, w, 4), np.uint8)
        shade(acc, top, out, MIN_ALPHA)  # (writes every pixel of out, leaves acc zero)
        return out

    def _scratch_images(self, w: int, h: int) -> np.ndarray:
        """The (h, w, 5) float32 image (colour sums, count) a frame accumulates into, all zero:
        kept from frame to frame (:func:`shade` zeroes it as it reads it) instead of 9.6 MB of
        fresh zeros a frame at 800 x 600. One per size last used."""
        held = self._scratch
        if held is None or held.shape[:2] != (h, w):
            held = self._scratch = np.zeros((h, w, 5), np.float32)
        return held


def drawing_index(xy: np.ndarray):
    """:class:`~explorer.jobs.scatter.index.PointIndex` of the layout ``xy`` (N, 2), and for a
    layout the renderer will draw as an image (over 50,000 points) the per-grid arrays of that
    drawing too: the coordinates in cell order and the tables that put each colouring into cell
    order (about 0.5 s CPU at 10^7 points). Made where the index is, in the layout's worker
    thread, instead of on the GUI thread at the first frame (the grid is shared by array,
    :func:`~explorer.jobs.scatter.index.grid_for`)."""
    from explorer.jobs.scatter.index import PointIndex

    index = PointIndex(xy)
    if index.grid is not None and len(index.xy) > 50_000:
        sorted_coordinates(index.grid, index.xy)  # (to_cell_order makes the tables on its first call)
    return index
