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
size changes. Only the points of the visible cells of a :class:`~explorer.jobs.scatter.grid.CellGrid`
are visited; when more than ``STAMP_BELOW`` of them are in view the frame is drawn as a density
(:mod:`explorer.jobs.scatter.density`: per-pixel mean colour, log-scaled opacity), from the
points or, zoomed out, from per-cell sums, so a frame of 10^7 points costs about its pixels.

The Qt-free parts live in :mod:`explorer.jobs.scatter` (the grid, the density layers, the
rasteriser and :class:`~explorer.jobs.scatter.index.PointIndex`, which picks points for hover
and lasso on the same grid, shared through :func:`~explorer.jobs.scatter.index.grid_for`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

from explorer.jobs.scatter.density import DensityLayers
from explorer.jobs.scatter.grid import CellGrid
from explorer.jobs.scatter.index import grid_for
from explorer.jobs.scatter.raster import _raster_kernel, _raster_numpy, pack_rgba

RASTER_ABOVE = 50_000
_BRUSHES: dict[tuple, object] = {}  # RGBA -> the QBrush every PointCloud draws it with
_BRUSHES_MAX = 4096  # colours kept (a palette has tens)


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
        self._colourings: list = []  # (codes, palette bytes, DensityLayers): the current, the one before
        self._palette = np.zeros((0, 4), np.uint8)
        self._packed_palette = np.zeros(1, np.uint32)
        self._order: np.ndarray | None = None  # the rows in a given draw order, or None: row order
        self._top: np.ndarray | None = None  # with row order: rows drawn after the others
        self._top_cells: np.ndarray | None = None  # the same in cell order (codes given so)
        self._rank: np.ndarray | None = None  # each row's place in ``_order``, made when needed
        self._bounds: QRectF | None = None
        self._args = None  # the last set_points arguments
        self._style = None  # what the ScatterPlotItem's points are styled with (see _same_style)
        self._brush_key: bytes | None = None
        self._brush_array = np.zeros(0, dtype=object)
        self.raster = False
        self.renders = 0
        self.view_box.sigRangeChanged.connect(self._on_view_changed)
        self.view_box.sigResized.connect(self._on_view_changed)

    # ---- data ---------------------------------------------------------------------------
    def set_points(
        self,
        xy: np.ndarray,
        colour_index: np.ndarray,
        palette: np.ndarray,
        order: np.ndarray | None = None,
        drawn: np.ndarray | None = None,
        on_top: np.ndarray | None = None,
        in_cell_order: bool = False,
    ) -> None:
        """Draw points of ``xy`` (N, 2), point i in colour ``palette[colour_index[i]]`` ((K, 4)
        uint8 RGBA). Which and in what order (later ones on top): ``order`` (rows), or else the
        rows where ``drawn`` (N,) bool (default all) is True in row order, those where ``on_top``
        (N,) bool is True after the others. Rows that are not finite (not placed yet) are not drawn.
        Above ``raster_above`` points, a new colouring of the same ``xy`` array costs about one
        pass over uint8 codes (the grid and the coordinates in cell order are kept).

        ``in_cell_order``: ``colour_index`` (M,) and ``on_top`` (M,) are given in the cell order
        of ``xy``'s grid (:func:`~explorer.jobs.scatter.index.grid_for`; code ``len(palette)``:
        not drawn) and ``order``, ``drawn`` are None: no permutation of 10^7 codes a colouring.
        The codes are then kept as given, not copied: the caller must not change them after."""
        xy = np.asarray(xy, dtype=np.float32)
        n = len(xy)
        palette = np.asarray(palette, dtype=np.uint8)
        self._args = (xy, colour_index, palette, order, drawn, on_top, in_cell_order)  # (export)
        if in_cell_order:
            self._set_cells(xy, np.asarray(colour_index), palette, on_top)
            return
        shown = n if order is None and drawn is None else None
        if shown is None:
            shown = len(order) if order is not None else int(np.count_nonzero(drawn))
        self.raster = shown > self.raster_above
        if self.raster:
            self._set_raster(xy, colour_index, palette, order, drawn, on_top)
            return
        if order is None:
            keep = np.ones(n, bool) if drawn is None else np.asarray(drawn, bool)
            if on_top is None:
                order = np.flatnonzero(keep)
            else:
                top = np.asarray(on_top, bool)
                order = np.concatenate([np.flatnonzero(keep & ~top), np.flatnonzero(keep & top)])
        order = np.asarray(order, dtype=np.int64)
        finite = np.isfinite(xy).all(axis=1)
        if not finite.all():
            order = order[finite[order]]
        codes = np.asarray(colour_index)[order]
        self._x = np.ascontiguousarray(xy[order, 0])
        self._y = np.ascontiguousarray(xy[order, 1])
        self._bounds = None
        self._density = None
        self._colourings.clear()
        if self.image.isVisible() or not self.image._blank:
            self.image.hide()
            self.image.clear()
        self.scatter.show()
        style = (order, codes, palette.tobytes(), self.size)
        if self._same_style(style):  # a frame of moving points (glide, partial layout): positions only
            self._move_points(self._x, self._y)
            return
        self._style = style
        if not self._restyle(self._x, self._y, codes, order, palette):
            self.scatter.setData(
                x=self._x,
                y=self._y,
                brush=self._brushes(palette)[codes],
                data=order,
                pen=None,
                size=self.size,
            )

    def _restyle(self, x, y, codes: np.ndarray, order: np.ndarray, palette: np.ndarray) -> bool:
        """Give the ScatterPlotItem these points and colours without its per-point Python: the
        symbol atlas is asked once per palette colour and the point table is filled with numpy
        (what ``setData`` would fill it with: tests/ui/test_live_frames.py compares the two).
        ``setData`` costs ~5 us a point (27 ms at 5,000: the first draw of the sample data, a new
        selection, a recolour), this ~0.2 us. False (nothing changed) if this pyqtgraph's table
        is not the one this was written for; the caller then uses ``setData``."""
        sc = self.scatter
        try:
            table = sc.data.dtype
            if not {"x", "y", "size", "brush", "data", "visible", "sourceRect"} <= set(table.names):
                return False
            if sc.opts["size"] != self.size:
                sc.setSize(self.size, update=False)
            # (the item's pen stays the one it was made with, pen=None: a new pen object would
            # miss the atlas, which keys symbols by the pen's and brush's identity)
            brushes = self._brushes(palette)
            styles = [(sc.opts["symbol"], sc.opts["size"], sc.opts["pen"], b) for b in brushes]
            rects = np.array([tuple(r) for r in sc.fragmentAtlas[styles]], dtype=table["sourceRect"])
            data = sc.data
            if len(data) != len(x):  # (a new table costs ~0.2 us a row: reuse it when we can)
                # object fields start as None (default symbol, pen); a repeated row, not np.empty,
                # which fills a structured table's object fields field by field (~1 us a row)
                data = np.repeat(np.empty(1, dtype=table), len(x))
            else:
                data["item"][...] = None  # the spot items of the old points
                data["symbol"][...] = None
                data["pen"][...] = None
            data["x"], data["y"] = x, y
            data["size"] = -1
            data["visible"] = True
            data["brush"] = brushes[codes]
            data["data"] = order
            data["sourceRect"] = rects[codes]
            for name, value in (("hovered", False), ("width", -1), ("targetRect", 0)):
                if name in table.names:
                    data[name] = value
        except (AttributeError, KeyError, TypeError, ValueError):
            return False
        if data is not sc.data:
            sc.data["item"][...] = None  # spot items of the old table
            sc.data = data
        sc.prepareGeometryChange()
        sc.informViewBoundsChanged()
        sc.bounds = [None, None]
        sc.invalidate()
        sc._updateMaxSpotSizes(data=data)
        sc.sigPlotChanged.emit(sc)
        return True

    def _brushes(self, palette: np.ndarray) -> np.ndarray:
        """One QBrush per palette colour ((K,) object array), made once per palette from a brush
        table kept per colour (:data:`_BRUSHES`): pyqtgraph keys its symbol atlas by brush object,
        so a fresh brush for a colour it has drawn before (a recolour, a selection's dimmed
        palette and back) would miss its cache and grow the atlas by K symbols each time."""
        key = palette.tobytes()
        if self._brush_key != key:
            if len(_BRUSHES) > _BRUSHES_MAX:
                _BRUSHES.clear()
            brushes = np.empty(len(palette), dtype=object)
            for k, colour in enumerate(palette.tolist()):  # K colours, never a brush per point
                c = tuple(colour)
                brush = _BRUSHES.get(c)
                if brush is None:
                    brush = _BRUSHES[c] = pg.mkBrush(*c)
                brushes[k] = brush
            self._brush_key = key
            self._brush_array = brushes
        return self._brush_array

    def _same_style(self, style) -> bool:
        """Whether ``style`` (rows in draw order, their palette codes, palette bytes, size) is what
        the item holds, so only the positions change (one numpy comparison, no per-point Python)."""
        held = self._style
        data = getattr(self.scatter, "data", None)
        return (
            held is not None
            and data is not None
            and len(data) == len(style[0])
            and held[2:] == style[2:]
            and np.array_equal(held[0], style[0])
            and np.array_equal(held[1], style[1])
        )

    def _move_points(self, x: np.ndarray, y: np.ndarray) -> None:
        """New positions for the points the item holds, their styles kept: the columns of
        pyqtgraph's point table written in place and the item told what ``setData`` would tell it.
        ``setData`` styles every point again in Python (~50 ms CPU at 10,000 points a frame;
        this costs about 0.1 ms)."""
        sc = self.scatter
        sc.data["x"] = x
        sc.data["y"] = y
        sc.prepareGeometryChange()
        sc.informViewBoundsChanged()
        sc.bounds = [None, None]
        sc.invalidate()
        sc.sigPlotChanged.emit(sc)

    def _set_cells(self, xy: np.ndarray, codes: np.ndarray, palette: np.ndarray, on_top) -> None:
        """set_points with codes in cell order: the raster, or (when at most ``raster_above`` are
        drawn) the same points per row for the ScatterPlotItem."""
        grid = grid_for(xy)
        skip = len(palette)
        # (the maximum first: one vectorised pass, ~1 ms at 10^7, where the count is ~5)
        drawn = None if len(codes) and int(codes.max()) < skip else codes < skip
        shown = len(codes) if drawn is None else int(np.count_nonzero(drawn))
        if shown > self.raster_above:
            self.raster = True
            self._set_raster(xy, codes, palette, None, None, on_top, in_cell_order=True)
            return
        pos = np.arange(len(codes)) if drawn is None else np.flatnonzero(drawn)  # few: back to rows
        rows = grid.order[pos]
        per_row = np.zeros(len(xy), codes.dtype)
        per_row[rows] = codes[pos]
        mask = np.zeros(len(xy), bool)
        mask[rows] = True
        top = None
        if on_top is not None:
            top = np.zeros(len(xy), bool)
            top[rows] = np.asarray(on_top, bool)[pos]
        self.set_points(xy, per_row, palette, drawn=mask, on_top=top)

    def _set_raster(self, xy, colour_index, palette, order, drawn, on_top, in_cell_order=False) -> None:
        n = len(xy)
        self._xy = xy
        self._grid = grid_for(xy)  # the same array: the same grid (and its sorted coordinates)
        skip = len(palette)  # the code of a point not drawn
        dtype = np.uint8 if skip < 255 else np.uint16 if skip < 65535 else np.uint32
        given = np.asarray(colour_index)
        codes = given if given.dtype == dtype else given.astype(dtype)
        self._top = self._top_cells = None
        self._rank = None
        if in_cell_order:
            self._order = None
            self._top_cells = None if on_top is None or not np.any(on_top) else np.asarray(on_top, bool)
        elif order is not None:  # rows in a given order: codes of the others marked not drawn
            order = np.asarray(order, dtype=np.int64)
            if len(order) != n or drawn is not None:
                mask = np.zeros(n, bool)
                mask[order] = True
                codes = np.where(mask, codes, dtype(skip))
            self._order = order  # its ranks are made when a sparse view needs them
        else:
            if drawn is not None and not np.all(drawn):
                codes = np.where(drawn, codes, dtype(skip))
            self._order = None
            self._top = None if on_top is None or not np.any(on_top) else np.asarray(on_top, bool)
        self._palette = palette
        self._packed_palette = np.append(np.maximum(pack_rgba(palette), 1), np.uint32(0))  # [skip] = 0
        shared = codes is given and not in_cell_order  # (codes in cell order are kept as given)
        self._density = self._colouring(xy, codes, palette, shared, in_cell_order)
        lo, hi = self._grid.finite_bounds
        self._bounds = QRectF(
            float(lo[0]), float(lo[1]), max(float(hi[0] - lo[0]), 1e-6), max(float(hi[1] - lo[1]), 1e-6)
        )
        self._x = self._y = np.zeros(0, np.float32)
        self.scatter.setData(x=[], y=[])
        self._style = None
        self.scatter.hide()
        self.image.show()
        self.render()

    def _colouring(
        self, xy, codes: np.ndarray, palette: np.ndarray, shared: bool, in_cell_order: bool = False
    ) -> DensityLayers:
        """The density layers of ``codes`` (N,) in ``palette``: the current or the previous
        colouring's when the codes are the same (a selection cleared, a search undone, a redraw:
        one comparison of the codes, ~3 ms at 10^7, instead of putting them into cell order and
        summing the levels again, ~90 ms), else new ones. The current and the previous colouring
        are kept (at 10^7 points 20 MB of codes each and the levels their frames summed).
        ``shared``: ``codes`` is the caller's array (copied before it is kept); ``in_cell_order``:
        ``codes`` (M,) are in the grid's cell order (the layers' own)."""
        key = (in_cell_order, palette.tobytes())
        kept = [c for c in self._colourings if c[2].grid is self._grid]
        for i, (held, held_key, layers) in enumerate(kept):
            if held_key != key or len(held) != len(codes):
                continue
            if np.array_equal(held[::4093], codes[::4093]) and np.array_equal(
                held, codes
            ):  # (a sample first)
                self._colourings = [kept[i]] + kept[:i] + kept[i + 1 : 2]
                return layers
        codes = codes.copy() if shared else codes
        layers = DensityLayers(self._grid, xy, codes, palette, in_cell_order=in_cell_order)
        self._colourings = [(codes, key, layers)] + kept[:1]
        return layers

    def _draw_order(self, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Draw order (later ones on top) of drawn points ``rows`` at places ``pos`` of the cell
        order (any order): indices into them."""
        if self._order is not None:
            if self._rank is None:
                self._rank = np.zeros(len(self._xy), np.int64)
                self._rank[self._order] = np.arange(len(self._order))
            return np.argsort(self._rank[rows], kind="stable")
        first = np.argsort(rows, kind="stable")
        if self._top is None and self._top_cells is None:
            return first
        top = self._top[rows[first]] if self._top is not None else self._top_cells[pos[first]]
        return np.concatenate([first[~top], first[top]])

    def shown_count(self) -> int:
        """How many points are drawn (finite ones among those asked for)."""
        if self.raster:
            return self._density.drawn_count() if self._density is not None else 0
        return len(self._x)

    @contextmanager
    def exporting(self, vector: bool):
        """Draw for an export (SVG): ``vector``, each point a vector shape (pyqtgraph's export
        mode: symbols drawn one by one, not blitted from its pixmap atlas); else all points as one
        image (the raster path, even for a set small enough for the ScatterPlotItem)."""
        redraw = not vector and not self.raster and self._args is not None
        if redraw:
            keep = self.raster_above
            self.raster_above = -1
            self.set_points(*self._args)
            self.raster_above = keep
        self.scatter.setExportMode(True, {"antialias": True})
        try:
            yield
        finally:
            self.scatter.setExportMode(False)
            if redraw:
                self.set_points(*self._args)

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
        layers = self._density
        pos = grid.positions_in_range(*cells)
        pos = pos[layers.scodes[pos] < len(self._palette)]
        pos = pos[self._draw_order(grid.order[pos], pos)]
        out = np.zeros((h, w), dtype=np.uint32)
        xs, ys = layers.xs[pos], layers.ys[pos]
        packed = self._packed_palette[layers.scodes[pos]]
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
