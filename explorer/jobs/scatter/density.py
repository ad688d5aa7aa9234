"""Density drawing for dense scatters: per-pixel counts and colour sums, shaded on a log scale.

Where many points share a pixel, a "last point wins" raster turns a million points into solid
blobs. Here each pixel gets the mean colour of its points (a per-class blend: a pixel where two
classes mix shows the mix) and an opacity that grows with ``log(1 + count)`` up to the densest
pixel of the frame, so cores and fringes of a cluster stay apart. Counts come either from the
points themselves (zoomed in) or from a pyramid of per-cell sums of a
:class:`~explorer.jobs.scatter.grid.CellGrid` (zoomed out, when a cell is smaller than a pixel),
so a frame costs at most about the pixels plus the points of the visible cells. No Qt here.
"""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.grid import CellGrid, _jit

MIN_ALPHA = 0.35  # a pixel with one point


@_jit
def cell_sums(packed_sorted, starts, n_cells):  # pragma: no cover (numba)
    """Per cell: number of drawn points (packed != 0) and the sums of their R, G, B, A bytes."""
    count = np.zeros(n_cells, np.float32)
    sums = np.zeros((n_cells, 4), np.float32)
    for c in range(n_cells):
        for i in range(starts[c], starts[c + 1]):
            p = packed_sorted[i]
            if p == 0:
                continue
            count[c] += 1.0
            sums[c, 0] += p & 255
            sums[c, 1] += (p >> 8) & 255
            sums[c, 2] += (p >> 16) & 255
            sums[c, 3] += (p >> 24) & 255
    return count, sums


@_jit
def add_points(xs, ys, packed, starts, g, cx0, cx1, cy0, cy1, x0, ytop, sx, sy, cnt, acc):  # pragma: no cover
    """Accumulate the drawn points of the visible cells (runs of the cell-sorted arrays) into the
    (h, w) count and (h, w, 4) colour-sum images."""
    h, w = cnt.shape
    for cy in range(cy0, cy1 + 1):
        for i in range(starts[cy * g + cx0], starts[cy * g + cx1 + 1]):
            p = packed[i]
            if p == 0:
                continue
            px = (xs[i] - x0) * sx
            py = (ytop - ys[i]) * sy
            if px >= 0 and px < w and py >= 0 and py < h:
                ix, iy = int(px), int(py)
                cnt[iy, ix] += 1.0
                acc[iy, ix, 0] += p & 255
                acc[iy, ix, 1] += (p >> 8) & 255
                acc[iy, ix, 2] += (p >> 16) & 255
                acc[iy, ix, 3] += (p >> 24) & 255


@_jit
def add_cells(
    count, sums, g, lo_x, lo_y, cw, ch, cx0, cx1, cy0, cy1, x0, ytop, sx, sy, cnt, acc
):  # pragma: no cover
    """Accumulate the visible cells of one pyramid level, each cell (no bigger than a pixel)
    shared between the up to 2 x 2 pixels it overlaps by area, so the density has no stripes
    where cells and pixels do not line up."""
    h, w = cnt.shape
    pw, ph = cw * sx, ch * sy  # a cell's size in pixels (<= 1)
    for cy in range(cy0, cy1 + 1):
        top = (ytop - (lo_y + (cy + 1) * ch)) * sy  # the cell's upper edge, in pixel rows
        iy = int(np.floor(top))
        fy = min(1.0, (iy + 1 - top) / ph)  # share in row iy, the rest in iy + 1
        for cx in range(cx0, cx1 + 1):
            c = cy * g + cx
            n = count[c]
            if n == 0:
                continue
            left = (lo_x + cx * cw - x0) * sx
            ix = int(np.floor(left))
            fx = min(1.0, (ix + 1 - left) / pw)
            for dy in range(2):
                yy = iy + dy
                wy = fy if dy == 0 else 1.0 - fy
                if wy <= 0 or yy < 0 or yy >= h:
                    continue
                for dx in range(2):
                    xx = ix + dx
                    wgt = wy * (fx if dx == 0 else 1.0 - fx)
                    if wgt <= 0 or xx < 0 or xx >= w:
                        continue
                    cnt[yy, xx] += n * wgt
                    for k in range(4):
                        acc[yy, xx, k] += sums[c, k] * wgt


@_jit
def shade(cnt, acc, out, min_alpha):  # pragma: no cover (numba)
    """(h, w) counts and colour sums -> ``out`` (h, w, 4) uint8 RGBA: the mean colour, opacity
    min_alpha .. 1 by log(1 + count) / log(1 + densest count of the frame)."""
    h, w = cnt.shape
    top = 0.0
    for iy in range(h):
        for ix in range(w):
            top = max(top, cnt[iy, ix])
    scale = np.log1p(top) if top > 1.0 else 1.0
    for iy in range(h):
        for ix in range(w):
            c = cnt[iy, ix]
            if c <= 0:
                continue
            t = np.log1p(c) / scale if top > 1.0 else 1.0
            a = min_alpha + (1.0 - min_alpha) * min(1.0, t)
            out[iy, ix, 0] = np.uint8(min(255.0, acc[iy, ix, 0] / c + 0.5))
            out[iy, ix, 1] = np.uint8(min(255.0, acc[iy, ix, 1] / c + 0.5))
            out[iy, ix, 2] = np.uint8(min(255.0, acc[iy, ix, 2] / c + 0.5))
            out[iy, ix, 3] = np.uint8(min(255.0, a * acc[iy, ix, 3] / c + 0.5))


class DensityLayers:
    """The colours of one drawing over a :class:`CellGrid`: cell-sorted coordinates and packed
    colours (0 = not drawn), and the pyramid of per-cell counts and colour sums."""

    def __init__(self, grid: CellGrid, xy: np.ndarray, packed: np.ndarray) -> None:
        self.grid = grid
        order = grid.order
        self.xs = np.ascontiguousarray(xy[order, 0], dtype=np.float32)
        self.ys = np.ascontiguousarray(xy[order, 1], dtype=np.float32)
        self.packed = np.ascontiguousarray(packed[order], dtype=np.uint32)
        g = grid.size
        count, sums = cell_sums(self.packed, grid.starts, g * g)
        self.levels = [(g, count, sums)]  # (cells per side, (g*g,) counts, (g*g, 4) sums)
        while g > 64:
            c2 = count.reshape(g // 2, 2, g // 2, 2).sum(axis=(1, 3))
            s2 = sums.reshape(g // 2, 2, g // 2, 2, 4).sum(axis=(1, 3))
            g //= 2
            count, sums = np.ascontiguousarray(c2.ravel()), np.ascontiguousarray(s2.reshape(-1, 4))
            self.levels.append((g, count, sums))

    def draw(self, x0: float, ytop: float, sx: float, sy: float, w: int, h: int) -> np.ndarray:
        """(h, w, 4) uint8 RGBA of the view whose left edge is x0, top edge ytop (data units) at
        sx, sy pixels per data unit."""
        grid = self.grid
        cnt = np.zeros((h, w), np.float32)
        acc = np.zeros((h, w, 4), np.float32)
        x1, ybottom = x0 + w / sx, ytop - h / sy
        base = grid.size
        level = None
        for g, count, sums in self.levels:  # the coarsest level whose cells are still under a pixel
            f = base // g
            if grid.cell[0] * f * sx <= 1.0 and grid.cell[1] * f * sy <= 1.0:
                level = (g, count, sums, f)
            elif level is not None:
                break
        if level is None:
            cx0, cx1, cy0, cy1 = grid.cell_range(x0, x1, ybottom, ytop)
            if cx0 <= cx1 and cy0 <= cy1:
                add_points(
                    self.xs,
                    self.ys,
                    self.packed,
                    grid.starts,
                    base,
                    cx0,
                    cx1,
                    cy0,
                    cy1,
                    np.float32(x0),
                    np.float32(ytop),
                    np.float32(sx),
                    np.float32(sy),
                    cnt,
                    acc,
                )
        else:
            g, count, sums, f = level
            cw, ch = grid.cell[0] * f, grid.cell[1] * f
            cx0 = int(max(0, np.floor((x0 - grid.lo[0]) / cw)))
            cx1 = int(min(g - 1, np.floor((x1 - grid.lo[0]) / cw)))
            cy0 = int(max(0, np.floor((ybottom - grid.lo[1]) / ch)))
            cy1 = int(min(g - 1, np.floor((ytop - grid.lo[1]) / ch)))
            if cx0 <= cx1 and cy0 <= cy1:
                add_cells(
                    count,
                    sums,
                    g,
                    grid.lo[0],
                    grid.lo[1],
                    cw,
                    ch,
                    cx0,
                    cx1,
                    cy0,
                    cy1,
                    x0,
                    ytop,
                    sx,
                    sy,
                    cnt,
                    acc,
                )
        out = np.zeros((h, w, 4), np.uint8)
        shade(cnt, acc, out, MIN_ALPHA)
        return out
