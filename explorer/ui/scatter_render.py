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
size changes.

:class:`PointIndex` picks points for hover (``scipy.spatial.cKDTree``) and lasso (bounding box
candidates, then ``skimage.measure.points_in_poly``).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

RASTER_ABOVE = 50_000


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
        if not self._blank and self.on_stale is not None and (math.ceil(box.width()) != self._image.width()
                                          or math.ceil(box.height()) != self._image.height()):
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
        self._packed = np.zeros(0, np.uint32)  # packed colour of each drawn point
        self.raster = False
        self.renders = 0
        self.view_box.sigRangeChanged.connect(self._on_view_changed)
        self.view_box.sigResized.connect(self._on_view_changed)

    # ---- data ---------------------------------------------------------------------------
    def set_points(self, xy: np.ndarray, colour_index: np.ndarray, palette: np.ndarray,
                   order: np.ndarray | None = None) -> None:
        """Draw points ``order`` (default: all, in row order; later ones on top) of ``xy`` (N, 2),
        point i in colour ``palette[colour_index[i]]`` ((K, 4) uint8 RGBA)."""
        xy = np.asarray(xy, dtype=np.float32)
        order = np.arange(len(xy)) if order is None else np.asarray(order, dtype=np.int64)
        palette = np.asarray(palette, dtype=np.uint8)
        self._x = np.ascontiguousarray(xy[order, 0])
        self._y = np.ascontiguousarray(xy[order, 1])
        cidx = np.asarray(colour_index)[order]
        self.raster = len(order) > self.raster_above
        if self.raster:
            self._packed = pack_rgba(palette)[cidx]
            self.scatter.setData(x=[], y=[])
            self.scatter.hide()
            self.image.show()
            self.render()
        else:
            self._packed = np.zeros(0, np.uint32)
            brushes = np.array([pg.mkBrush(*map(int, c)) for c in palette], dtype=object)
            self.image.hide()
            self.image.clear()
            self.scatter.show()
            self.scatter.setData(x=self._x, y=self._y, brush=brushes[cidx], data=order, pen=None, size=self.size)

    def bounds(self) -> QRectF | None:
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
        """Rasterise the points visible in the current view range at screen resolution."""
        self.renders += 1
        rect = self.view_box.viewRect()
        fw, fh = max(self.view_box.width(), 1.0), max(self.view_box.height(), 1.0)  # fractional px
        w, h = math.ceil(fw), math.ceil(fh)
        rw, rh = rect.width(), rect.height()
        if rw <= 0 or rh <= 0 or len(self._x) == 0:
            self.image.clear()
            return
        out = np.zeros((h, w), dtype=np.uint32)
        kernel = _raster_kernel()
        if kernel is not None:
            kernel(self._x, self._y, self._packed, np.float32(rect.left()), np.float32(rect.top() + rh),
                   np.float32(fw / rw), np.float32(fh / rh), self.STAMP_BELOW, out)
        else:
            _raster_numpy(self._x, self._y, self._packed, rect.left(), rect.top() + rh, fw / rw, fh / rh,
                          self.STAMP_BELOW, out)
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


class PointIndex:
    """Nearest-point and polygon queries over one (N, 2) layout."""

    def __init__(self, xy: np.ndarray) -> None:
        from scipy.spatial import cKDTree

        self.xy = np.asarray(xy, dtype=np.float64)
        self.tree = cKDTree(self.xy) if len(self.xy) else None

    def nearest(self, x: float, y: float, scale: tuple[float, float], radius_px: float = 6.0,
                allowed: np.ndarray | None = None) -> int | None:
        """The point closest to (x, y) within ``radius_px`` screen pixels, given ``scale`` = data
        units per pixel along x and y; only points where ``allowed`` (bool (N,)) is True."""
        if self.tree is None:
            return None
        sx, sy = max(scale[0], 1e-12), max(scale[1], 1e-12)
        reach = radius_px * max(sx, sy)
        k = min(16, len(self.xy))
        dist, idx = self.tree.query([x, y], k=k, distance_upper_bound=reach)
        idx = np.atleast_1d(idx)
        idx = idx[idx < len(self.xy)]
        if allowed is not None:
            idx = idx[allowed[idx]]
        if len(idx) == 0:
            return None
        d_px = np.hypot((self.xy[idx, 0] - x) / sx, (self.xy[idx, 1] - y) / sy)
        best = int(np.argmin(d_px))
        return int(idx[best]) if d_px[best] <= radius_px else None

    def in_polygon(self, polygon: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Sorted indices of the points inside ``polygon`` (M, 2) (even-odd rule)."""
        from skimage.measure import points_in_poly

        poly = np.asarray(polygon, dtype=np.float64)
        if len(poly) < 3 or len(self.xy) == 0:
            return np.zeros(0, dtype=np.int64)
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        xy = self.xy
        cand = np.flatnonzero((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))
        if allowed is not None:
            cand = cand[allowed[cand]]
        if len(cand) == 0:
            return cand.astype(np.int64)
        return cand[points_in_poly(xy[cand], poly)].astype(np.int64)

    def in_rect(self, x0: float, y0: float, x1: float, y1: float, allowed: np.ndarray | None = None) -> np.ndarray:
        lo_x, hi_x = sorted((x0, x1))
        lo_y, hi_y = sorted((y0, y1))
        xy = self.xy
        hit = (xy[:, 0] >= lo_x) & (xy[:, 0] <= hi_x) & (xy[:, 1] >= lo_y) & (xy[:, 1] <= hi_y)
        if allowed is not None:
            hit &= allowed
        return np.flatnonzero(hit).astype(np.int64)
