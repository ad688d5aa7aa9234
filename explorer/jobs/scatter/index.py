"""Picking points of a 2-D layout for hover, box and lasso, on the layout's :class:`CellGrid`.

:class:`PointIndex` answers "which point is under the cursor" from the cells around it and "which
points are inside this lasso" with cells wholly inside the polygon taken whole and only the points
of the cells its outline crosses tested one by one. :func:`grid_for` builds a layout array's grid
once, so the worker's index and the GUI's renderer share it. Numpy (+ numba) only, no Qt.
"""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.grid import CellGrid, fill_polygon

_GRIDS: list = []  # (weak reference to a layout array, its CellGrid), the last few


def grid_for(xy: np.ndarray) -> CellGrid:
    """The :class:`CellGrid` of the layout array ``xy`` (N, 2) float32, built once per array
    object (the worker's point index and the GUI's renderer share it)."""
    import weakref

    for ref, grid in _GRIDS:
        if ref() is xy:
            return grid
    grid = CellGrid(xy)
    try:
        _GRIDS.insert(0, (weakref.ref(xy), grid))
    except TypeError:  # not weak-referenceable: not cached
        return grid
    del _GRIDS[3:]
    return grid


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


class PointIndex:
    """Nearest-point and polygon queries over one (N, 2) layout, on its :func:`grid_for` grid."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = np.asarray(xy, dtype=np.float32)
        self.grid = grid_for(self.xy) if len(self.xy) else None

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
        """Sorted indices of the points inside ``polygon`` (M, 2) (even-odd rule)."""
        from scipy.ndimage import binary_dilation
        from skimage.measure import points_in_poly

        poly = np.asarray(polygon, dtype=np.float64)
        if len(poly) < 3 or self.grid is None or not np.isfinite(poly).all():
            return np.zeros(0, dtype=np.int64)
        grid = self.grid
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        cx0, cx1, cy0, cy1 = grid.cell_range(lo[0], hi[0], lo[1], hi[1])
        if cx0 > cx1 or cy0 > cy1:
            return np.zeros(0, dtype=np.int64)
        nx, ny = cx1 - cx0 + 1, cy1 - cy0 + 1
        # the polygon in cell units of the block (cell (i, j) spans [i, i + 1) x [j, j + 1))
        u = (poly[:, 0] - grid.lo[0]) / grid.cell[0] - cx0
        v = (poly[:, 1] - grid.lo[1]) / grid.cell[1] - cy0
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

        def cells_of(mask: np.ndarray) -> np.ndarray:  # block mask -> flat cell numbers
            j, i = np.nonzero(mask)
            return (j + cy0) * grid.size + i + cx0

        border = grid.rows_in_cells(cells_of(edge))
        if len(border):
            border = border[points_in_poly(self.xy[border].astype(np.float64), poly)]
        whole = cells_of(inside & ~edge)
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

    def in_rect(
        self, x0: float, y0: float, x1: float, y1: float, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        lo_x, hi_x = sorted((x0, x1))
        lo_y, hi_y = sorted((y0, y1))
        if self.grid is None:
            return np.zeros(0, dtype=np.int64)
        rows = self.grid.rows_in_range(*self.grid.cell_range(lo_x, hi_x, lo_y, hi_y))
        px, py = self.xy[rows, 0], self.xy[rows, 1]
        rows = rows[(px >= lo_x) & (px <= hi_x) & (py >= lo_y) & (py <= hi_y)]
        if allowed is not None:
            rows = rows[allowed[rows]]
        return self._sorted(rows)
