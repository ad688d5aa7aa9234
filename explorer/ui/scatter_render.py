"""Drawing many points fast in a pyqtgraph plot, and picking them back.

:class:`PointCloud` draws (N, 2) points, each with a colour from a small palette, in a
``PlotItem``. Up to ``RASTER_ABOVE`` points it uses one ``ScatterPlotItem`` (pxMode, no outlines,
a brush array, ``data=`` the row of each point, ``setData`` on the same item). Above that, one
graphics item per point stops being interactive (pyqtgraph issue 217), so the points are
rasterised with numpy into an RGBA image at the view box's screen resolution (one write per point
in draw order, later points on top; a 5-pixel cross per point while fewer than 250,000 are in
view; numba when available, numpy otherwise) and
blitted 1:1 by a plain graphics item in the view box's pixel coordinates (a scaled ``ImageItem``
costs about 9 ms per paint at 800x600); the image is re-rendered whenever the view range or
size changes. Only the points of the visible cells of a :class:`~explorer.ui.scatter_grid.CellGrid`
are visited; when more than ``STAMP_BELOW`` of them are in view the frame is drawn as a density
(:mod:`explorer.ui.scatter_density`: per-pixel mean colour, log-scaled opacity), from the
points or, zoomed out, from per-cell sums, so a frame of 10^7 points costs about its pixels.

:class:`PointIndex` picks points for hover and lasso on the same grid (cells under the cursor;
cells wholly inside a lasso taken whole, only the points of cells its outline crosses tested
with ``skimage.measure.points_in_poly``). The grid of a layout array is built once and shared
by the index and the renderer (:func:`grid_for`).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

from explorer.ui.scatter_density import DensityLayers
from explorer.ui.scatter_grid import CellGrid, fill_polygon

RASTER_ABOVE = 50_000
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


def pack_rgba(colours: np.ndarray) -> np.ndarray:
    """(K, 4) uint8 RGBA -> (K,) uint32 whose bytes in memory are R, G, B, A."""
    return np.ascontiguousarray(colours, dtype=np.uint8).view(np.uint32).ravel()


class RasterItem(QGraphicsItem):
    """An RGBA image drawn 1:1 in its parent's pixel coordinates (no scaling: a plain blit)."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self._buffer = np.zeros((1, 1, 4), np.uint8)  # keeps the QImage's memory alive
        self._image = QImage()
        self.on_stale = None
        self._blank = True

    def set_image(self, rgba: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._buffer = np.ascontiguousarray(rgba)
        h, w = self._buffer.shape[:2]
        if self._image.width() != w or self._image.height() != h:
            self._image = QImage(w, h, QImage.Format.Format_RGBA8888)
        # copy into memory the QImage owns (a QImage over a numpy buffer is fragile in PySide6)
        bits = np.frombuffer(self._image.bits(), dtype=np.uint8)
        stride = self._image.bytesPerLine()
        bits.reshape(h, stride)[:, : 4 * w] = self._buffer.reshape(h, 4 * w)
        self._blank = False
        self.update()

    def clear(self) -> None:
        self.set_image(np.zeros((1, 1, 4), np.uint8))
        self._blank = True

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter, option, widget=None) -> None:
        if not self._image.isNull():
            painter.drawImage(QPointF(0, 0), self._image)
        box = self.parentItem()
        if (
            not self._blank
            and self.on_stale is not None
            and (
                math.ceil(box.width()) != self._image.width()
                or math.ceil(box.height()) != self._image.height()
            )
        ):
            QTimer.singleShot(0, self.on_stale)  # the view box changed size without telling us


class PointCloud:
    """Points of one layout in ``plot_item``; see the module docstring."""

    STAMP_BELOW = 250_000  # fewer visible points than this are drawn as 5-px crosses, more as pixels

    def __init__(self, plot_item: pg.PlotItem, size: float = 5.0, raster_above: int = RASTER_ABOVE) -> None:
        self.plot_item = plot_item
        self.view_box = plot_item.getViewBox()
        self.size = size
        self.raster_above = raster_above
        self.scatter = pg.ScatterPlotItem(pxMode=True, pen=None, size=size, hoverable=False)
        plot_item.addItem(self.scatter)
        # a direct child of the view box, under the data group: view-box pixels, not data units
        self.image = RasterItem(self.view_box)
        self.image.setZValue(-100)
        self.image.on_stale = self._on_view_changed
        self.image.hide()
        self._x = np.zeros(0, np.float32)  # coordinates in draw order
        self._y = np.zeros(0, np.float32)
        self._xy = np.zeros((0, 2), np.float32)  # raster: the layout, its grid and drawing
        self._grid: CellGrid | None = None
        self._density: DensityLayers | None = None
        self._packed_rows = np.zeros(0, np.uint32)  # packed colour of each row, 0 = not drawn
        self._rank = np.zeros(0, np.int64)  # each row's place in the draw order
        self._bounds: QRectF | None = None
        self.raster = False
        self.renders = 0
        self.view_box.sigRangeChanged.connect(self._on_view_changed)
        self.view_box.sigResized.connect(self._on_view_changed)

    # ---- data ---------------------------------------------------------------------------
    def set_points(
        self, xy: np.ndarray, colour_index: np.ndarray, palette: np.ndarray, order: np.ndarray | None = None
    ) -> None:
        """Draw points ``order`` (default: all, in row order; later ones on top) of ``xy`` (N, 2),
        point i in colour ``palette[colour_index[i]]`` ((K, 4) uint8 RGBA). Rows that are not
        finite (not placed yet) are not drawn."""
        xy = np.asarray(xy, dtype=np.float32)
        order = np.arange(len(xy)) if order is None else np.asarray(order, dtype=np.int64)
        finite = np.isfinite(xy).all(axis=1)
        if not finite.all():
            order = order[finite[order]]
        palette = np.asarray(palette, dtype=np.uint8)
        cidx = np.asarray(colour_index)
        self.raster = len(order) > self.raster_above
        if self.raster:
            self._xy = xy
            self._grid = grid_for(xy)
            packed = np.zeros(len(xy), np.uint32)  # 0: not drawn
            packed[order] = np.maximum(pack_rgba(palette)[cidx[order]], 1)
            rank = np.zeros(len(xy), np.int64)  # draw order, for the crosses of a sparse view
            rank[order] = np.arange(len(order))
            self._packed_rows, self._rank = packed, rank
            self._density = DensityLayers(self._grid, xy, packed)
            lo, hi = self._grid.finite_bounds
            self._bounds = QRectF(
                float(lo[0]), float(lo[1]), max(float(hi[0] - lo[0]), 1e-6), max(float(hi[1] - lo[1]), 1e-6)
            )
            self._x = self._y = np.zeros(0, np.float32)
            self.scatter.setData(x=[], y=[])
            self.scatter.hide()
            self.image.show()
            self.render()
        else:
            self._x = np.ascontiguousarray(xy[order, 0])
            self._y = np.ascontiguousarray(xy[order, 1])
            self._bounds = None
            self._density = None
            brushes = np.array([pg.mkBrush(*map(int, c)) for c in palette], dtype=object)
            self.image.hide()
            self.image.clear()
            self.scatter.show()
            self.scatter.setData(
                x=self._x, y=self._y, brush=brushes[cidx[order]], data=order, pen=None, size=self.size
            )

    def bounds(self) -> QRectF | None:
        if self.raster and self._bounds is not None:
            return self._bounds
        if len(self._x) == 0:
            return None
        x0, x1 = float(self._x.min()), float(self._x.max())
        y0, y1 = float(self._y.min()), float(self._y.max())
        return QRectF(x0, y0, max(x1 - x0, 1e-6), max(y1 - y0, 1e-6))

    # ---- raster -------------------------------------------------------------------------
    def _on_view_changed(self, *_) -> None:
        if self.raster:
            self.render()

    def render(self) -> None:
        """Rasterise the points visible in the current view range at screen resolution: a
        density where more than STAMP_BELOW are in view, else each point with a 5-px cross."""
        self.renders += 1
        rect = self.view_box.viewRect()
        fw, fh = max(self.view_box.width(), 1.0), max(self.view_box.height(), 1.0)  # fractional px
        w, h = math.ceil(fw), math.ceil(fh)
        rw, rh = rect.width(), rect.height()
        if rw <= 0 or rh <= 0 or self._density is None:
            self.image.clear()
            return
        grid = self._grid
        x0, ytop, sx, sy = rect.left(), rect.top() + rh, fw / rw, fh / rh
        cells = grid.cell_range(x0, x0 + rw, ytop - rh, ytop)
        if grid.count_in_range(*cells) >= self.STAMP_BELOW:
            self.image.set_image(self._density.draw(x0, ytop, sx, sy, w, h))
            return
        rows = grid.rows_in_range(*cells)
        rows = rows[self._packed_rows[rows] != 0]
        rows = rows[np.argsort(self._rank[rows], kind="stable")]  # draw order: later on top
        out = np.zeros((h, w), dtype=np.uint32)
        xs, ys = np.ascontiguousarray(self._xy[rows, 0]), np.ascontiguousarray(self._xy[rows, 1])
        packed = self._packed_rows[rows]
        kernel = _raster_kernel()
        if kernel is not None:
            kernel(
                xs,
                ys,
                packed,
                np.float32(x0),
                np.float32(ytop),
                np.float32(sx),
                np.float32(sy),
                self.STAMP_BELOW,
                out,
            )
        else:
            _raster_numpy(xs, ys, packed, x0, ytop, sx, sy, self.STAMP_BELOW, out)
        self.image.set_image(out.view(np.uint8).reshape(h, w, 4))


_KERNEL: list = []


def _raster_kernel():
    """The numba rasteriser (compiled once per machine, cached on disk), or None without numba."""
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            _KERNEL.append(None)
            return None

        @numba.njit(cache=True, nogil=True, fastmath=True)
        def raster(x, y, packed, x0, ytop, sx, sy, stamp_below, out):  # pragma: no cover (numba)
            h, w = out.shape
            n = x.shape[0]
            visible = 0
            for i in range(n):  # the points, in order: later ones on top
                px = (x[i] - x0) * sx
                py = (ytop - y[i]) * sy
                if px >= 0 and px < w and py >= 0 and py < h:
                    out[int(py), int(px)] = packed[i]
                    visible += 1
            if visible >= stamp_below:
                return
            for i in range(n):  # then a "+" around each, on empty pixels only
                px = (x[i] - x0) * sx
                py = (ytop - y[i]) * sy
                if px >= -1 and px < w + 1 and py >= -1 and py < h + 1:
                    ix = int(np.floor(px))
                    iy = int(np.floor(py))
                    c = packed[i]
                    if 0 <= iy < h:
                        if 1 <= ix <= w and out[iy, ix - 1] == 0:
                            out[iy, ix - 1] = c
                        if 0 <= ix + 1 < w and out[iy, ix + 1] == 0:
                            out[iy, ix + 1] = c
                    if 0 <= ix < w:
                        if 1 <= iy <= h and out[iy - 1, ix] == 0:
                            out[iy - 1, ix] = c
                        if 0 <= iy + 1 < h and out[iy + 1, ix] == 0:
                            out[iy + 1, ix] = c

        _KERNEL.append(raster)
    return _KERNEL[0]


def _raster_numpy(x, y, packed, x0, ytop, sx, sy, stamp_below, out) -> None:
    """The same picture as the numba kernel, in numpy (about 3x slower)."""
    h, w = out.shape
    stride = w + 2  # a one-pixel frame takes the crosses' spill and every point outside the view
    px = (x - np.float32(x0)) * np.float32(sx)
    py = (np.float32(ytop) - y) * np.float32(sy)
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    flat = (py.astype(np.int32) + 1) * stride + px.astype(np.int32) + 1
    flat[~inside] = 0  # a frame corner
    buf = np.zeros((h + 2) * stride, dtype=np.uint32)
    buf[flat] = packed  # numpy writes in order: later points win
    if np.count_nonzero(inside) < stamp_below:  # a "+" around each point, under every point
        centres = buf.copy()
        for off in (-stride, -1, 1, stride):
            buf[flat + off] = packed
        hit = centres != 0
        buf[hit] = centres[hit]
    out[...] = buf.reshape(h + 2, stride)[1:-1, 1:-1]


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
