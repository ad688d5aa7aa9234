"""One scatter plot panel: the points, a hover card, a query marker, and pan/box/lasso tools.

:class:`ScatterPanel` knows nothing about the workspace: the scatter view gives it points,
colours and a draw order, and hears back through signals (``lasso_done(polygon)``,
``rect_done(x0, y0, x1, y1)``, ``clicked(row)``) in data coordinates / rows of the layout.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from explorer.jobs.scatter.index import PointIndex
from explorer.ui.plots import LazyMenuViewBox
from explorer.ui.scatter_render import PointCloud


class SelectViewBox(LazyMenuViewBox):
    """A view box whose left drag pans (mode "pan"), draws a box ("box") or a lasso ("lasso")."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "pan"
        self.on_polygon: Callable[[np.ndarray], None] | None = None
        self.on_rect: Callable[[float, float, float, float], None] | None = None
        self.on_click: Callable[[float, float], None] | None = None
        self._path: list[tuple[float, float]] = []
        pen = pg.mkPen((40, 40, 40), width=1.5, style=Qt.PenStyle.DashLine)
        self._lasso_item = pg.PlotCurveItem(pen=pen)
        self._rect_item = QGraphicsRectItem()
        rect_pen = QPen(QColor(40, 40, 40))
        rect_pen.setStyle(Qt.PenStyle.DashLine)
        rect_pen.setCosmetic(True)
        self._rect_item.setPen(rect_pen)
        self._rect_item.setBrush(QColor(80, 120, 200, 40))
        for item in (self._lasso_item, self._rect_item):
            item.setZValue(1e6)
            self.addItem(item, ignoreBounds=True)
            item.hide()

    def mouseDragEvent(self, ev, axis=None) -> None:
        if self.mode == "pan" or ev.button() != Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._path = [(start.x(), start.y())]
        self._path.append((p.x(), p.y()))
        (x0, y0), (x1, y1) = self._path[0], self._path[-1]
        if self.mode == "lasso":
            pts = np.array(self._path + self._path[:1])
            self._lasso_item.setData(pts[:, 0], pts[:, 1])
            self._lasso_item.show()
        else:
            self._rect_item.setRect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
            self._rect_item.show()
        if ev.isFinish():
            self._lasso_item.hide()
            self._rect_item.hide()
            if self.mode == "lasso" and self.on_polygon is not None:
                self.on_polygon(np.array(self._path, dtype=np.float64))
            elif self.mode == "box" and self.on_rect is not None:
                self.on_rect(x0, y0, x1, y1)
            self._path = []

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.on_click(p.x(), p.y())
            return
        super().mouseClickEvent(ev)


class HoverCard(QFrame):
    """A small floating card with an item's thumbnail and a line of text."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("hoverCard")
        self.setStyleSheet(
            "#hoverCard { background: rgba(255, 255, 255, 235); border: 1px solid #888; border-radius: 4px; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(3)
        self.image_label = QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label = QLabel()
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.image_label)
        lay.addWidget(self.text_label)
        self.row: int | None = None
        self.hide()

    def show_item(self, row: int, pixmap: QPixmap | None, text: str, at: QPointF) -> None:
        self.row = row
        self.image_label.setVisible(pixmap is not None)
        if pixmap is not None:
            self.image_label.setPixmap(pixmap)
        self.text_label.setText(text)
        self.adjustSize()
        parent = self.parentWidget()
        x, y = int(at.x()) + 14, int(at.y()) + 14
        if x + self.width() > parent.width():
            x = int(at.x()) - self.width() - 14
        if y + self.height() > parent.height():
            y = int(at.y()) - self.height() - 14
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()

    def hide_item(self) -> None:
        self.row = None
        self.hide()


class ScatterPanel(QWidget):
    """A plot of one layout; see the module docstring."""

    lasso_done = Signal(object)  # (M, 2) polygon in data coordinates
    rect_done = Signal(float, float, float, float)
    clicked = Signal(int)  # row of the layout
    user_moved_view = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_box = SelectViewBox()
        self.plot_widget = pg.PlotWidget(viewBox=self.view_box)
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.showGrid(x=False, y=False)
        for axis in ("bottom", "left"):  # layout units are arbitrary: no "(x0.001)" prefixes
            self.plot_item.getAxis(axis).enableAutoSIPrefix(False)
        self.set_axis_names("x", "y")
        self.plot_item.hideButtons()
        self.view_box.setMenuEnabled(False)
        self.cloud = PointCloud(self.plot_item)
        self.ring = pg.ScatterPlotItem(pxMode=True, size=9, brush=None, pen=pg.mkPen((20, 20, 20), width=1.2))
        self.marker = pg.ScatterPlotItem(
            pxMode=True,
            size=18,
            symbol="star",
            brush=pg.mkBrush(255, 215, 0),
            pen=pg.mkPen((0, 0, 0), width=1.2),
        )
        for item, z in ((self.ring, 10), (self.marker, 11)):
            item.setZValue(z)
            self.plot_item.addItem(item)
        self.message = pg.TextItem("", color=(90, 90, 90), anchor=(0.5, 0.5))
        self.message.setZValue(20)
        self.plot_item.addItem(self.message, ignoreBounds=True)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: bold;")
        self.status = QLabel()
        self.status.setStyleSheet("color: #555;")
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.status.setMinimumWidth(
            self.status.fontMetrics().horizontalAdvance("t-SNE: early exaggeration 100%") + 8
        )
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(head)
        lay.addWidget(self.plot_widget, 1)
        self.card = HoverCard(self.plot_widget)
        self.describe: Callable[[int], tuple[QPixmap | None, str]] | None = None
        self.xy = np.zeros((0, 2), np.float32)
        self.allowed: np.ndarray | None = None
        self._index: PointIndex | None = None
        self.view_box.on_polygon = lambda poly: self.lasso_done.emit(poly)
        self.view_box.on_rect = lambda *r: self.rect_done.emit(*r)
        self.view_box.on_click = self._on_click
        self.view_box.sigRangeChangedManually.connect(lambda *_: self.user_moved_view.emit())
        self.plot_widget.scene().sigMouseMoved.connect(self.hover_scene_pos)

    # ---- content ------------------------------------------------------------------------
    def set_layout(
        self,
        xy: np.ndarray,
        colour_index: np.ndarray,
        palette: np.ndarray,
        order: np.ndarray | None,
        allowed: np.ndarray | None,
        ring_rows: np.ndarray | None = None,
        on_top: np.ndarray | None = None,
        in_cell_order: bool = False,
    ) -> None:
        """Show layout ``xy`` (N, 2); draw rows ``order``, or (``order`` None) the ``allowed`` rows
        in row order with the ``on_top`` (N,) bool ones last; only ``allowed`` rows (None: all) can
        be picked; ``ring_rows`` get an outline (the selection, when small enough to ring).
        ``in_cell_order``: ``colour_index`` and ``on_top`` are (M,) in the cell order of ``xy``'s
        grid, the rows not drawn already coded so (:meth:`PointCloud.set_points`)."""
        if xy is not self.xy:
            self._index = None
        self.xy = np.asarray(xy, dtype=np.float32)
        self.allowed = allowed
        if in_cell_order:
            self.cloud.set_points(self.xy, colour_index, palette, on_top=on_top, in_cell_order=True)
        elif order is None:
            drawn = None if allowed is None or allowed.all() else allowed
            self.cloud.set_points(self.xy, colour_index, palette, drawn=drawn, on_top=on_top)
        else:
            self.cloud.set_points(self.xy, colour_index, palette, order)
        rows = np.zeros(0, np.int64) if ring_rows is None or len(ring_rows) > 20000 else ring_rows
        self.ring.setData(x=self.xy[rows, 0], y=self.xy[rows, 1]) if len(rows) else self.ring.setData([], [])
        self.show_message("" if len(self.xy) else self.message.toPlainText())
        if self.card.row is not None:
            self.card.hide_item()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            r = self.view_box.viewRect()
            self.message.setPos(r.center())

    def set_marker(self, row: int | None) -> None:
        if row is None or row >= len(self.xy):
            self.marker.setData([], [])
        else:
            self.marker.setData(x=[self.xy[row, 0]], y=[self.xy[row, 1]])

    def reset_view(self) -> None:
        rect = self.cloud.bounds()
        if rect is not None:
            self.view_box.setRange(rect=rect, padding=0.04)

    def set_axis_names(self, x: str, y: str) -> None:
        self.plot_item.setLabel("bottom", x)
        self.plot_item.setLabel("left", y)

    def set_mode(self, mode: str) -> None:
        self.view_box.mode = mode

    def set_index(self, index: PointIndex) -> None:
        """Use a point index built elsewhere (a worker) for the layout on show."""
        if len(index.xy) == len(self.xy) and np.array_equal(index.xy, self.xy):
            self._index = index

    def held_index(self) -> PointIndex | None:
        """The point index of the layout on show if one was made or given (None: not yet)."""
        return self._index

    def index(self) -> PointIndex:
        if self._index is None:  # built on first use after a layout change (hover, click, lasso)
            self._index = PointIndex(self.xy)
        return self._index

    # ---- picking ------------------------------------------------------------------------
    def pick(self, x: float, y: float, radius_px: float = 6.0) -> int | None:
        if len(self.xy) == 0:
            return None
        scale = self.view_box.viewPixelSize()
        return self.index().nearest(x, y, scale, radius_px, self.allowed)

    def hover_scene_pos(self, pos) -> None:
        """Show the hover card for the point under scene position ``pos`` (or hide it)."""
        if not self.view_box.sceneBoundingRect().contains(pos) or self.describe is None:
            self.card.hide_item()
            return
        p = self.view_box.mapSceneToView(pos)
        row = self.pick(p.x(), p.y())
        if row is None:
            self.card.hide_item()
            return
        if row == self.card.row and self.card.isVisible():
            return
        pixmap, text = self.describe(row)
        self.card.show_item(row, pixmap, text, self.plot_widget.mapFromScene(pos))

    def scene_pos_of(self, row: int) -> QPointF:
        return self.view_box.mapViewToScene(QPointF(float(self.xy[row, 0]), float(self.xy[row, 1])))

    def _on_click(self, x: float, y: float) -> None:
        row = self.pick(x, y)
        if row is not None:
            self.clicked.emit(row)
