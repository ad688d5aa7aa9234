"""The panel's read-outs: the threshold slider, the ROC, the score histograms, the figures
table and the grids of hardest errors. Each is handed finished evaluations; none computes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QTableWidget,
    QTableWidgetItem,
)

from explorer.core.imageset import ImageSet
from explorer.data.documents import document_snippet, is_documents
from explorer.ui.imaging import to_pixmap
from explorer.ui.plots import PlotWidget
from explorer.jobs.verification import Evaluation

GREEN, RED, BLUE, ORANGE = "#2e9d4f", "#d0342c", "#1f77d0", "#e67e22"
CURVE_COLOURS = (BLUE, ORANGE)  # the chosen model, the one compared with it
SLIDER_STEPS = 1000
THUMB = 40
LEGEND_BRUSH = (255, 255, 255, 210)  # legends over the curves and the threshold line stay legible


class ThresholdSlider(QSlider):
    """A horizontal slider over a score range, with labelled marks (EER, FAR 1e-3) under it."""

    score_changed = Signal(float)  # the user moved the slider to this score

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, SLIDER_STEPS)
        self.setMinimumHeight(58)
        self.lo, self.hi = 0.0, 1.0  # the scores at the two ends
        self.marks: list[tuple[int, str, str]] = []  # (slider value, text, colour)
        self.valueChanged.connect(lambda v: self.score_changed.emit(self.score_at(v)))

    def set_score_range(self, lo: float, hi: float) -> None:
        self.lo, self.hi = float(lo), float(hi) if hi > lo else float(lo) + 1.0

    def score_at(self, value: int) -> float:
        return self.lo + (self.hi - self.lo) * value / SLIDER_STEPS

    def value_of(self, score: float) -> int:
        return int(np.clip(round((score - self.lo) / (self.hi - self.lo) * SLIDER_STEPS), 0, SLIDER_STEPS))

    def show_score(self, score: float) -> None:
        """Move the handle to ``score`` without emitting score_changed."""
        self.blockSignals(True)
        self.setValue(self.value_of(score))
        self.blockSignals(False)

    def set_marks(self, marks: list[tuple[float, str, str]]) -> None:
        """Marks under the groove: (score, text, colour)."""
        self.marks = [(self.value_of(score), text, colour) for score, text, colour in marks]
        self.update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.marks:
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        slider, style = QStyle.ComplexControl.CC_Slider, self.style()
        groove = style.subControlRect(slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(slider, opt, QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        p.setFont(font)
        y = groove.center().y() + 9
        marks = sorted(self.marks)
        xs = [
            groove.x()
            + handle.width() / 2
            + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), v, span)
            for v, _, _ in marks
        ]
        widths = [p.fontMetrics().horizontalAdvance(text) for _, text, _ in marks]
        self.label_spans = []  # (left, right) of each label as drawn, in the marks' order
        for x, left, w, (_, text, colour) in zip(xs, label_lefts(xs, widths, self.width()), widths, marks):
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(colour))
            p.drawPolygon(QPolygonF([QPointF(x, y), QPointF(x - 5, y + 7), QPointF(x + 5, y + 7)]))
            p.setPen(QColor(colour))
            p.drawText(QRect(left, int(y + 7), w + 2, p.fontMetrics().height()), 0, text)
            self.label_spans.append((left, left + w))
        p.end()


def label_lefts(centres: list[float], widths: list[int], total: int, gap: int = 4) -> list[int]:
    """Left edges of labels of ``widths`` centred under ``centres`` (ascending) in ``total`` px,
    none overlapping: pushed right past the one before, then back left from the far edge (one pass
    only pushed right, and the clamp at the edge put two marks near the end on top of each other)."""
    lefts, right = [], -1e9
    for x, w in zip(centres, widths):
        left = max(0.0, x - w / 2, right + gap)
        lefts.append(left)
        right = left + w
    limit = float(total)
    for i in range(len(lefts) - 1, -1, -1):
        lefts[i] = min(lefts[i], limit - widths[i])
        limit = lefts[i] - gap
    return [int(round(max(0.0, v))) for v in lefts]


PLOT_HINT = QSize(320, 170)  # small preferred sizes: the panel fits a 720-pixel window, the plots grow


class RocPlot(PlotWidget):
    """ROC curves (FAR on a log axis) of up to two models, the chance line and the operating point."""

    def sizeHint(self) -> QSize:
        return PLOT_HINT

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setLogMode(x=True, y=False)
        self.setLabel("bottom", "false accept rate (FAR, log)")
        self.setLabel("left", "true accept rate (TAR)")
        self.setTitle("ROC")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setYRange(0, 1.02, padding=0)
        self.addLegend(offset=(-10, -10), brush=LEGEND_BRUSH)
        self.curves = [self.plot([], [], pen=pg.mkPen(c, width=2), name="") for c in CURVE_COLOURS]
        self.chance = self.plot([], [], pen=pg.mkPen("#aaaaaa", width=1, style=Qt.PenStyle.DashLine))
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(BLUE), pen=pg.mkPen("w"))
        self.addItem(self.point)

    def show_curves(self, shown: list[tuple[str, Evaluation | None]]) -> None:
        """``shown``: (name, evaluation) for the chosen model and the compared one."""
        floor = 1.0
        for curve, (name, ev) in zip(self.curves, shown + [("", None)] * (2 - len(shown))):
            self.plotItem.legend.removeItem(curve)
            if ev is None:
                curve.setData([], [])
                continue
            roc = ev.result.roc
            keep = roc.fpr > 0  # log axis: FAR = 0 has no place on it
            floor = min(floor, 0.5 / max(1, ev.result.pairs.impostor))
            curve.setData(roc.fpr[keep], roc.tpr[keep])
            self.plotItem.legend.addItem(curve, f"{name}  (AUC {ev.result.auc:.3f})")
        if floor < 1.0:
            xs = np.logspace(np.log10(floor), 0, 50)
            self.chance.setData(xs, xs)
            self.setXRange(np.log10(floor), 0, padding=0.02)
        else:
            self.chance.setData([], [])

    def show_point(self, far: float | None, tar: float | None) -> None:
        """The operating point at the current threshold (FAR > 0 only: the axis is logarithmic)."""
        if far is None or far <= 0:
            self.point.setData([], [])
        else:
            self.point.setData([np.log10(far)], [tar])  # items added by hand are not log-mapped


class ScoreHistogram(PlotWidget):
    """Genuine and impostor score densities, the threshold line (drag it) and the pair's score."""

    def sizeHint(self) -> QSize:
        return PLOT_HINT

    threshold_dragged = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setLabel("bottom", "score (higher = more alike)")
        self.setLabel("left", "density")
        # scores are shown as they are (the threshold line's label says -0.066, so must the axis)
        for axis in ("left", "bottom"):
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.setTitle("Genuine and impostor scores")
        self.addLegend(offset=(-10, 10), brush=LEGEND_BRUSH)  # top right: the high tail is low
        empty = (np.zeros(1), np.zeros(0))
        self.genuine = pg.PlotCurveItem(
            *empty,
            stepMode="center",
            fillLevel=0,
            pen=pg.mkPen(GREEN, width=2),
            brush=pg.mkBrush(46, 157, 79, 70),
            name="genuine (same)",
        )
        self.impostor = pg.PlotCurveItem(
            *empty,
            stepMode="center",
            fillLevel=0,
            pen=pg.mkPen(RED, width=2),
            brush=pg.mkBrush(208, 52, 44, 70),
            name="impostor (different)",
        )
        self.addItem(self.genuine)
        self.addItem(self.impostor)
        self.line = pg.InfiniteLine(
            angle=90,
            movable=True,
            pen=pg.mkPen("#222", width=2),
            label="threshold",
            labelOpts={"position": 0.92, "color": "#222"},
        )
        self.line.sigPositionChangeFinished.connect(
            lambda line: self.threshold_dragged.emit(float(line.value()))
        )
        self.pair = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(BLUE, width=2, style=Qt.PenStyle.DashLine),
            label="A·B",
            labelOpts={"position": 0.62, "color": BLUE},  # under the legend (top right)
        )
        self.addItem(self.line)
        self.addItem(self.pair)
        self.line.hide()
        self.pair.hide()

    def show_evaluation(self, ev: Evaluation | None) -> None:
        if ev is None:
            self.genuine.setData(np.zeros(1), np.zeros(0))
            self.impostor.setData(np.zeros(1), np.zeros(0))
            self.line.hide()
            self.pair.hide()
            return
        self.genuine.setData(ev.bins, ev.genuine_hist)
        self.impostor.setData(ev.bins, ev.impostor_hist)
        self.line.show()
        self.setXRange(ev.bins[0], ev.bins[-1], padding=0.02)

    def set_threshold(self, value: float | None) -> None:
        if value is not None:
            self.line.blockSignals(True)
            self.line.setValue(value)
            self.line.blockSignals(False)

    def set_pair_score(self, score: float | None) -> None:
        if score is None or not self.line.isVisible():
            self.pair.hide()
        else:
            self.pair.setValue(score)
            self.pair.show()


class MetricsTable(QTableWidget):
    """One row per shown model: AUC, EER, TAR at FAR 1e-2 and 1e-3, 10-fold accuracy, pairs."""

    HEADERS = ["model", "AUC", "EER", "TAR@FAR 1e-2", "TAR@FAR 1e-3", "10-fold accuracy", "pairs"]

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def show_rows(self, rows: list[tuple[str, Evaluation | None]]) -> None:
        self.setRowCount(len(rows))
        header = self.horizontalHeader().sizeHint().height()
        self.setFixedHeight(header + max(1, len(rows)) * self.verticalHeader().defaultSectionSize() + 4)
        for r, (name, ev) in enumerate(rows):
            res = ev.result if ev is not None else None
            cells = [name] + (
                ["…"] * 6
                if res is None
                else [
                    f"{res.auc:.4f}",
                    f"{res.eer:.2%}",
                    f"{res.tar[1e-2][0]:.2%}",
                    f"{res.tar[1e-3][0]:.2%}",
                    "—" if not np.isfinite(res.accuracy) else f"{res.accuracy:.2%} ± {res.accuracy_std:.1%}",
                    f"{len(res.pairs):,} ({'all' if res.pairs.protocol == 'all' else 'balanced sample'})",
                ]
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setForeground(QColor(CURVE_COLOURS[min(r, 1)]))
                    if res is not None:
                        item.setToolTip(
                            f"{len(res.pairs):,} pairs ({res.pairs.protocol}): "
                            f"{res.pairs.genuine:,} genuine, {res.pairs.impostor:,} impostor"
                        )
                self.setItem(r, c, item)


def pair_pixmap(a: QPixmap, b: QPixmap, size: int = THUMB) -> QPixmap:
    """Two thumbnails side by side in one framed tile."""
    m = 3  # the frame makes neighbouring pairs read as separate tiles
    out = QPixmap(2 * size + 2 * m + 2, size + 2 * m)
    out.fill(QColor("#e8e8e8"))
    p = QPainter(out)
    p.drawPixmap(m + (size - a.width()) // 2, m + (size - a.height()) // 2, a)
    p.drawPixmap(m + size + 2 + (size - b.width()) // 2, m + (size - b.height()) // 2, b)
    p.setPen(QPen(QColor("#9a9a9a")))
    p.drawRect(0, 0, out.width() - 1, out.height() - 1)
    p.end()
    return out


class ErrorGrid(QListWidget):
    """A row of pair tiles (hardest false accepts or rejects); clicking one emits its two items."""

    pair_clicked = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(2 * THUMB + 8, THUMB + 6))
        self.setGridSize(QSize(2 * THUMB + 8 + 14, THUMB + 12))
        self.setFixedHeight(THUMB + 12 + 8 + self.horizontalScrollBar().sizeHint().height())
        self.setMovement(QListWidget.Movement.Static)
        self.itemClicked.connect(self._on_item_clicked)

    def show_pairs(self, data: ImageSet, pairs: np.ndarray, thumbnails=None) -> None:
        """``pairs``: (k, 2) item indices of ``data``; ``thumbnails``: the shared ThumbnailCache."""
        self.clear()
        if is_documents(data):  # documents: the pair's items and topics, their texts in the tooltip
            for i, j in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
                item = QListWidgetItem(f"#{i} {data.label_name(i)}\n#{j} {data.label_name(j)}")
                item.setData(Qt.ItemDataRole.UserRole, (i, j))
                item.setToolTip(
                    f"#{i}: {document_snippet(data, i)}\n\n#{j}: {document_snippet(data, j)}\n\nclick to load"
                )
                self.addItem(item)
            return
        for i, j in np.asarray(pairs, dtype=np.int64).reshape(-1, 2):
            a, b = (
                (
                    thumbnails.get(data, k, THUMB)
                    if thumbnails is not None
                    else to_pixmap(data.images[k], THUMB)
                )
                for k in (int(i), int(j))
            )
            item = QListWidgetItem(pair_pixmap(a, b), "")
            item.setData(Qt.ItemDataRole.UserRole, (int(i), int(j)))
            item.setToolTip(
                f"#{i} ({data.label_name(int(i))}) and #{j} ({data.label_name(int(j))}); click to load"
            )
            self.addItem(item)

    def pair_at(self, row: int) -> tuple[int, int]:
        return self.item(row).data(Qt.ItemDataRole.UserRole)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        i, j = item.data(Qt.ItemDataRole.UserRole)
        self.pair_clicked.emit(int(i), int(j))
