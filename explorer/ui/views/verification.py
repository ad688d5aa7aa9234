"""The verification panel: is this pair the same identity? Two slots, a threshold, and the ROC.

Top: drop slots A and B. They take image files from the file manager (read with Pillow and
brought to the data set's shape, with a note saying how), items dragged from the data grid,
retrieval results or the scatter (``application/x-explorer-index``), or a pair clicked in the
hardest-error grids below. Beside them: the pair's score under the chosen model and, in large
type, MATCH (green) or MISMATCH (red) at the current threshold.

Middle: the threshold slider, with marks at the EER threshold and at FAR 1e-3.

Bottom: the open data set's ROC (FAR on a log axis) for the chosen model and a second one to
compare, the genuine and impostor score histograms with the threshold line (drag it), a table of
AUC / EER / TAR@FAR / 10-fold accuracy, and the hardest false accepts and false rejects at the
threshold (click one to load it into A and B).

Scores are the negative distance between codes (L2 or cosine) for encoders, and the pair
classifier's logit for a pair scorer such as ``pairnet``. Whole-set evaluation runs in a
TaskRunner worker whenever the data set, the codes, the models or the metric change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.errors import DataError, ExplorerError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.workers import TaskRunner
from explorer.verification import code_scores, evaluate_codes, evaluate_scorer, is_pair_scorer

TITLE = "Verification"
AREA = "center"
ORDER = 30

MIME_INDEX = "application/x-explorer-index"  # comma-separated item indices (data grid, scatter, ...)
NONE = "(none)"
GREEN, RED, BLUE, ORANGE = "#2e9d4f", "#d0342c", "#1f77d0", "#e67e22"
SLOT_PX = 150
GUI_SCORER_PAIRS = 50_000  # a pair classifier runs a network per pair: the panel samples this many
HARDEST = 12
SLIDER_STEPS = 1000


# ---- images for the slots --------------------------------------------------------------------
def load_pair_image(path: str, shape: tuple[int, int, int] | None) -> tuple[np.ndarray, str]:
    """Read an image file as float32 (C, H, W) in [0, 1], brought to ``shape`` when given.

    Returns the image and a note on how it was converted ("" when it fit as it was).
    DataError with a readable sentence for anything that is not an image.
    """
    from PIL import Image, UnidentifiedImageError

    name = os.path.basename(path)
    if os.path.isdir(path):
        raise DataError(f"{name} is a folder; drop an image file (PNG, JPEG, ...).")
    try:
        with Image.open(path) as im:
            im.load()
            notes = []
            c = shape[0] if shape else (1 if im.mode in ("1", "L", "I", "I;16", "F") else 3)
            if c not in (1, 3):
                raise DataError(f"Cannot compare an image file with {c}-channel images.")
            mode = "L" if c == 1 else "RGB"
            if im.mode != mode:
                notes.append(f"{im.mode} → {'grey' if c == 1 else 'RGB'}")
                im = im.convert(mode)
            if shape and im.size != (shape[2], shape[1]):
                notes.append(f"{im.width}×{im.height} → {shape[2]}×{shape[1]}")
                im = im.resize((shape[2], shape[1]), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / np.float32(255)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{name} is not an image that can be read ({type(err).__name__}).") from None
    arr = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    return np.ascontiguousarray(arr, dtype=np.float32), ", ".join(notes)


def qimage_to_array(img: QImage, shape: tuple[int, int, int] | None) -> tuple[np.ndarray, str]:
    """A dropped QImage as float32 (C, H, W), brought to ``shape`` when given."""
    c = shape[0] if shape else (1 if img.isGrayscale() else 3)
    h, w = (shape[1], shape[2]) if shape else (img.height(), img.width())
    notes = []
    if (img.width(), img.height()) != (w, h):
        notes.append(f"{img.width()}×{img.height()} → {w}×{h}")
        img = img.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    img = img.convertToFormat(QImage.Format.Format_Grayscale8 if c == 1 else QImage.Format.Format_RGB888)
    stride = img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    arr = raw[:, : w * c].reshape(h, w, c).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return np.ascontiguousarray(arr), ", ".join(notes)


@dataclass(frozen=True)
class SlotItem:
    """What a slot holds: an item of the open data set (index) or an outside image."""

    image: np.ndarray  # float32 (C, H, W) in [0, 1]
    caption: str
    index: int | None = None
    note: str = ""


# ---- scorers ------------------------------------------------------------------------------------
class _ModuleScorer:
    """A pair classifier inside a TorchEncoder (how load_encoder wraps a pairnet file)."""

    def __init__(self, enc) -> None:
        self.module = enc.module
        self.name = getattr(enc, "name", "pair model")
        self.input_shape = getattr(enc, "input_shape", None)

    def score_pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(self.module.score_pairs(a, b), dtype=np.float64)


def pair_scorer_of(enc):
    """The pair scorer behind ``enc`` (itself, or the pair classifier it wraps), or None."""
    if is_pair_scorer(enc):
        return enc
    module = getattr(enc, "module", None)
    if module is not None and callable(getattr(module, "score_pairs", None)):
        return _ModuleScorer(enc)
    return None


# ---- evaluation job -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """A model's verification result plus what the plots need, made in the worker."""

    result: object  # VerificationResult
    genuine_sorted: np.ndarray  # sorted genuine scores (FAR/TAR at any threshold by searchsorted)
    impostor_sorted: np.ndarray
    bins: np.ndarray  # histogram edges
    genuine_hist: np.ndarray  # densities
    impostor_hist: np.ndarray

    def rates(self, threshold: float) -> tuple[float, float]:
        """(FAR, TAR) when pairs scoring >= threshold are accepted."""
        g, i = self.genuine_sorted, self.impostor_sorted
        tar = 1.0 - np.searchsorted(g, threshold, side="left") / len(g)
        far = 1.0 - np.searchsorted(i, threshold, side="left") / len(i)
        return float(far), float(tar)


def _evaluation_job(jobs: list[tuple], data: ImageSet):
    """Evaluate each (key, kind, model-or-codes, metric); returns {key: Evaluation, or the
    sentence saying why that model could not be evaluated}."""
    out = {}
    for n, (key, kind, what, metric) in enumerate(jobs):
        if kind == "scorer":
            gen = evaluate_scorer(what, data, seed=0, max_pairs=GUI_SCORER_PAIRS)
        else:
            gen = evaluate_codes(what, data.labels, metric, seed=0)
        while True:
            try:
                rec = next(gen)
            except StopIteration as stop:
                res = stop.value
                break
            except ValueError as err:  # one class only, no genuine pairs, scores not finite, ...
                res = f"Cannot measure verification of {key[1]} on this data set: {err}."
                break
            except ExplorerError as err:  # a model that cannot take these images
                res = str(err)
                break
            frac = (n + rec.fraction) / len(jobs)
            yield Progress(step=int(frac * 1000), total=1000, message=f"{key[1]}: {rec.message}")
        if isinstance(res, str):
            out[key] = res
            continue
        s, same = res.scores, res.pairs.same
        lo, hi = float(s.min()), float(s.max())
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, 61)
        gh, _ = np.histogram(s[same], bins, density=True)
        ih, _ = np.histogram(s[~same], bins, density=True)
        out[key] = Evaluation(res, np.sort(s[same]), np.sort(s[~same]), bins, gh, ih)
    return out


# ---- widgets ----------------------------------------------------------------------------------------
class PairSlot(QFrame):
    """One drop slot: shows its image and caption; emits what was dropped on it."""

    dropped_files = Signal(list)  # local paths
    dropped_indices = Signal(list)  # item indices
    dropped_image = Signal(QImage)
    open_clicked = Signal()

    def __init__(self, letter: str, parent=None) -> None:
        super().__init__(parent)
        self.letter = letter
        self.setAcceptDrops(True)
        self.setObjectName(f"slot{letter}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"#slot{letter} {{ border: 2px dashed #9a9a9a; border-radius: 6px; background: #fafafa; }}")
        self.image_label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedSize(SLOT_PX, SLOT_PX)
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(SLOT_PX + 40)
        self.caption.setMinimumHeight(34)
        title = QLabel(f"<b>{letter}</b>")
        open_btn = QToolButton(text="Open…", toolTip=f"Choose an image file for {letter}")
        open_btn.clicked.connect(self.open_clicked)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(open_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(head)
        lay.addWidget(self.image_label, 0, Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.caption)
        self.show_item(None)

    def show_item(self, item: SlotItem | None, error: str = "") -> None:
        if error:
            self.caption.setText(f"<span style='color:{RED}'>{error}</span>")
            return
        if item is None:
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("Drop an image file\nor a data item here")
            self.image_label.setStyleSheet("color: #888;")
            self.caption.setText("")
            return
        self.image_label.setStyleSheet("")
        self.image_label.setPixmap(to_pixmap(item.image, SLOT_PX))
        note = f"<br><span style='color:#a0522d'>{item.note}</span>" if item.note else ""
        self.caption.setText(f"{item.caption}{note}")

    # ---- drag and drop ----
    def _accepts(self, md) -> bool:
        return md.hasUrls() or md.hasFormat(MIME_INDEX) or md.hasImage()

    def dragEnterEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasFormat(MIME_INDEX):
            raw = bytes(md.data(MIME_INDEX)).decode("ascii", "replace")
            idx = [int(s) for s in raw.replace(" ", "").split(",") if s.lstrip("-").isdigit()]
            if idx:
                self.dropped_indices.emit(idx)
                event.acceptProposedAction()
                return
        if md.hasUrls():
            paths = [u.toLocalFile() for u in md.urls() if u.isLocalFile()]
            if paths:
                self.dropped_files.emit(paths)
                event.acceptProposedAction()
                return
        if md.hasImage():
            img = md.imageData()
            if isinstance(img, QImage) and not img.isNull():
                self.dropped_image.emit(img)
                event.acceptProposedAction()


class ThresholdSlider(QSlider):
    """A horizontal slider over a score range, with labelled marks (EER, FAR 1e-3) under it."""

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, SLIDER_STEPS)
        self.setMinimumHeight(58)
        self.marks: list[tuple[int, str, str]] = []  # (slider value, text, colour)

    def set_marks(self, marks: list[tuple[int, str, str]]) -> None:
        self.marks = marks
        self.update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.marks:
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        p.setFont(font)
        y = groove.center().y() + 9
        for value, text, colour in self.marks:
            x = groove.x() + handle.width() / 2 + QStyle.sliderPositionFromValue(
                self.minimum(), self.maximum(), value, span)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(colour))
            p.drawPolygon(QPolygonF([QPointF(x, y), QPointF(x - 5, y + 7), QPointF(x + 5, y + 7)]))
            p.setPen(QColor(colour))
            w = p.fontMetrics().horizontalAdvance(text)
            left = int(min(max(0, x - w / 2), self.width() - w))
            p.drawText(QRect(left, int(y + 7), w + 2, p.fontMetrics().height()), 0, text)
        p.end()


class View(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ws = ctx.workspace
        self.slots: list[SlotItem | None] = [None, None]
        self.threshold: float | None = None
        self._threshold_key = None  # the evaluation the threshold was last set from
        self._lo, self._hi = 0.0, 1.0  # slider score range
        self._ds_token = 0
        self._results: dict[tuple, Evaluation] = {}
        self._failed: dict[tuple, str] = {}
        self._runner = TaskRunner(self, min_interval=0.1)
        self._runner.partial.connect(self._on_partial)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._job_keys: tuple = ()
        self._build()
        self._grid_timer = QTimer(self, singleShot=True, interval=120)
        self._grid_timer.timeout.connect(self._refresh_hardest)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        ctx.qws.models_changed.connect(self._on_models_changed)
        ctx.qws.codes_changed.connect(self._on_codes_changed)
        self._on_models_changed()

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.slot_a, self.slot_b = PairSlot("A"), PairSlot("B")
        for k, slot in enumerate((self.slot_a, self.slot_b)):
            slot.dropped_files.connect(lambda paths, k=k: self._on_files(k, paths))
            slot.dropped_indices.connect(lambda idx, k=k: self._on_indices(k, idx))
            slot.dropped_image.connect(lambda img, k=k: self._on_qimage(k, img))
            slot.open_clicked.connect(lambda k=k: self._open_file(k))

        self.score_label = QLabel("score —", alignment=Qt.AlignmentFlag.AlignCenter)
        f = QFont(self.font())
        f.setPointSize(17)
        self.score_label.setFont(f)
        self.verdict = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter)
        vf = QFont(self.font())
        vf.setPointSize(28)
        vf.setBold(True)
        self.verdict.setFont(vf)
        self.verdict.setMinimumSize(250, 64)
        self.verdict_note = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter)
        self.verdict_note.setWordWrap(True)
        verdict_box = QVBoxLayout()
        verdict_box.addStretch(1)
        verdict_box.addWidget(self.score_label)
        verdict_box.addWidget(self.verdict)
        verdict_box.addWidget(self.verdict_note)
        verdict_box.addStretch(1)

        self.model_combo = QComboBox(toolTip="The model that scores pairs")
        self.compare_combo = QComboBox(toolTip="A second model whose ROC is drawn on the same plot")
        self.metric_combo = QComboBox(toolTip="Distance between codes (encoders only)")
        self.metric_combo.addItems(["l2", "cosine"])
        for combo in (self.model_combo, self.compare_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(14)
        self.model_combo.currentTextChanged.connect(self._on_choice_changed)
        self.compare_combo.currentTextChanged.connect(self._on_choice_changed)
        self.metric_combo.currentTextChanged.connect(self._on_choice_changed)
        self.progress = QProgressBar(maximum=1000, textVisible=False, maximumHeight=10)
        self.progress.hide()
        self.status = QLabel("", wordWrap=True)
        self.status.setStyleSheet("color: #555;")
        controls = QGridLayout()
        controls.addWidget(QLabel("Model"), 0, 0)
        controls.addWidget(self.model_combo, 0, 1)
        controls.addWidget(QLabel("Compare"), 1, 0)
        controls.addWidget(self.compare_combo, 1, 1)
        controls.addWidget(QLabel("Distance"), 2, 0)
        controls.addWidget(self.metric_combo, 2, 1)
        controls.addWidget(self.progress, 3, 0, 1, 2)
        controls.addWidget(self.status, 4, 0, 1, 2)
        controls.setRowStretch(5, 1)
        top = QHBoxLayout()
        top.addWidget(self.slot_a)
        top.addWidget(self.slot_b)
        top.addLayout(verdict_box, 2)
        top.addLayout(controls, 1)

        self.slider = ThresholdSlider()
        self.slider.valueChanged.connect(self._on_slider)
        self.threshold_label = QLabel("threshold —")
        self.threshold_label.setMinimumWidth(300)
        eer_btn = QToolButton(text="EER", toolTip="Set the threshold where FAR = FRR")
        far_btn = QToolButton(text="FAR 1e-3", toolTip="Set the threshold for a false accept rate of 0.1%")
        eer_btn.clicked.connect(lambda: self._snap("eer"))
        far_btn.clicked.connect(lambda: self._snap("far"))
        thr_row = QHBoxLayout()
        thr_row.addWidget(QLabel("Threshold"))
        thr_row.addWidget(self.slider, 1)
        thr_row.addWidget(eer_btn)
        thr_row.addWidget(far_btn)
        thr_row.addWidget(self.threshold_label)

        # plots
        self.roc_plot = pg.PlotWidget()
        self.roc_plot.setLogMode(x=True, y=False)
        self.roc_plot.setLabel("bottom", "false accept rate (FAR, log)")
        self.roc_plot.setLabel("left", "true accept rate (TAR)")
        self.roc_plot.setTitle("ROC")
        self.roc_plot.showGrid(x=True, y=True, alpha=0.25)
        self.roc_plot.setYRange(0, 1.02, padding=0)
        self.roc_plot.addLegend(offset=(-10, -10))
        self.roc_curves = [self.roc_plot.plot([], [], pen=pg.mkPen(BLUE, width=2), name=""),
                           self.roc_plot.plot([], [], pen=pg.mkPen(ORANGE, width=2), name="")]
        self.roc_chance = self.roc_plot.plot([], [], pen=pg.mkPen("#aaaaaa", width=1, style=Qt.PenStyle.DashLine))
        self.roc_point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(BLUE), pen=pg.mkPen("w"))
        self.roc_plot.addItem(self.roc_point)

        self.hist_plot = pg.PlotWidget()
        self.hist_plot.setLabel("bottom", "score (higher = more alike)")
        self.hist_plot.setLabel("left", "density")
        self.hist_plot.getAxis("left").enableAutoSIPrefix(False)
        self.hist_plot.setTitle("Genuine and impostor scores")
        self.hist_plot.addLegend(offset=(10, 10))
        self.hist_gen = pg.PlotCurveItem(np.zeros(1), np.zeros(0), stepMode="center", fillLevel=0, pen=pg.mkPen(GREEN, width=2),
                                         brush=pg.mkBrush(46, 157, 79, 70), name="genuine (same)")
        self.hist_imp = pg.PlotCurveItem(np.zeros(1), np.zeros(0), stepMode="center", fillLevel=0, pen=pg.mkPen(RED, width=2),
                                         brush=pg.mkBrush(208, 52, 44, 70), name="impostor (different)")
        self.hist_plot.addItem(self.hist_gen)
        self.hist_plot.addItem(self.hist_imp)
        self.hist_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#222", width=2),
                                         label="threshold", labelOpts={"position": 0.92, "color": "#222"})
        self.hist_line.sigPositionChangeFinished.connect(lambda line: self.set_threshold(float(line.value())))
        self.hist_pair = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen(BLUE, width=2, style=Qt.PenStyle.DashLine),
                                         label="A·B", labelOpts={"position": 0.8, "color": BLUE})
        self.hist_plot.addItem(self.hist_line)
        self.hist_plot.addItem(self.hist_pair)
        self.hist_line.hide()
        self.hist_pair.hide()

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["model", "AUC", "EER", "TAR@1e-2", "TAR@1e-3", "accuracy"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        self.fa_grid, self.fr_grid = self._make_grid(), self._make_grid()
        self.fa_title = QLabel("<b>Hardest false accepts</b>")
        self.fr_title = QLabel("<b>Hardest false rejects</b>")
        grids = QGridLayout()
        grids.addWidget(self.fa_title, 0, 0)
        grids.addWidget(self.fr_title, 0, 1)
        grids.addWidget(self.fa_grid, 1, 0)
        grids.addWidget(self.fr_grid, 1, 1)

        plots = QHBoxLayout()
        plots.addWidget(self.roc_plot, 1)
        plots.addWidget(self.hist_plot, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(thr_row)
        lay.addLayout(plots, 1)
        lay.addWidget(self.table)
        lay.addLayout(grids)
        self.setMinimumSize(900, 700)

    def _make_grid(self) -> QListWidget:
        grid = QListWidget()
        grid.setViewMode(QListWidget.ViewMode.IconMode)
        grid.setFlow(QListWidget.Flow.LeftToRight)
        grid.setWrapping(False)
        grid.setIconSize(QSize(2 * 44 + 8, 50))
        grid.setGridSize(QSize(2 * 44 + 8 + 14, 56))
        grid.setFixedHeight(56 + 8 + grid.horizontalScrollBar().sizeHint().height())
        grid.setMovement(QListWidget.Movement.Static)
        grid.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        grid.itemClicked.connect(self._on_pair_clicked)
        return grid

    # ---- model choice ---------------------------------------------------------------------
    def model_name(self) -> str | None:
        name = self.model_combo.currentText()
        return name if name and name != NONE and name in self.ws.models else None

    def compare_name(self) -> str | None:
        name = self.compare_combo.currentText()
        return name if name and name != NONE and name in self.ws.models else None

    def distance(self) -> str:
        return self.metric_combo.currentText() or "l2"

    def _on_models_changed(self) -> None:
        names = list(self.ws.models)
        cur, cmp_ = self.model_combo.currentText(), self.compare_combo.currentText()
        for combo, keep, extra in ((self.model_combo, cur, []), (self.compare_combo, cmp_, [NONE])):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(extra + names)
            if keep in extra + names:
                combo.setCurrentText(keep)
            combo.blockSignals(False)
        if self.model_combo.currentText() not in names and names:
            pick = self.ws.current_model if self.ws.current_model in names else names[0]
            self.model_combo.setCurrentText(pick)
        if self.compare_combo.currentText() in (NONE, "") and len(names) > 1:
            other = [n for n in names if n != self.model_combo.currentText()]
            self.compare_combo.setCurrentText("pixels" if "pixels" in other else other[0])
        # results of a replaced encoder are stale
        ids = {n: id(e) for n, e in self.ws.models.items()}
        self._results = {k: v for k, v in self._results.items() if ids.get(k[1]) == k[2]}
        self._on_choice_changed()

    def _on_dataset_changed(self) -> None:
        self._ds_token += 1
        self._results.clear()
        self._failed.clear()
        self.slots = [None, None]
        self.slot_a.show_item(None)
        self.slot_b.show_item(None)
        self.threshold = None
        self._threshold_key = None
        self._on_choice_changed()

    def _on_codes_changed(self, model: str) -> None:
        self._results = {k: v for k, v in self._results.items() if k[1] != model}
        self._on_choice_changed()

    def _on_choice_changed(self, *_) -> None:
        self._schedule()
        self._refresh_all()

    # ---- evaluation -----------------------------------------------------------------------
    def _key(self, name: str | None) -> tuple | None:
        if name is None:
            return None
        enc = self.ws.models[name]
        metric = "pair" if pair_scorer_of(enc) is not None else self.distance()
        return (self._ds_token, name, id(enc), metric)

    def _wanted(self) -> list[tuple]:
        return [k for k in (self._key(self.model_name()), self._key(self.compare_name())) if k is not None]

    def _schedule(self) -> None:
        ds = self.ws.dataset
        if ds is None or not ds.has_labels:
            self._runner.cancel()
            self._job_keys = ()
            self.progress.hide()
            self.status.setText("" if ds is None else "This data set has no labels: drop two images to score them.")
            return
        jobs, waiting = [], []
        for key in self._wanted():
            if key in self._results or key in self._failed:
                continue
            name = key[1]
            enc = self.ws.models[name]
            scorer = pair_scorer_of(enc)
            if scorer is not None:
                if ds.has_images:
                    jobs.append((key, "scorer", scorer, "pair"))
            elif name in self.ws.codes:
                jobs.append((key, "codes", self.ws.codes[name], key[3]))
            else:
                waiting.append(name)
        keys = tuple(j[0] for j in jobs)
        if keys and keys != self._job_keys:
            self._job_keys = keys
            self.progress.setValue(0)
            self.progress.show()
            self.status.setText("evaluating " + ", ".join(k[1] for k in keys) + " …")
            self._runner.start(lambda: _evaluation_job(jobs, ds), tag=keys)
        elif not keys:
            self._job_keys = ()
            self.progress.hide()
            failed = [self._failed[k] for k in self._wanted() if k in self._failed]
            notes = [f"<span style='color:{RED}'>{m}</span>" for m in dict.fromkeys(failed)]
            if waiting:
                notes.append(f"waiting for the codes of {', '.join(waiting)} …")
            self.status.setText("<br>".join(notes))

    def busy(self) -> bool:
        return self._runner.is_running()

    def shutdown(self) -> None:
        self._runner.shutdown()

    def closeEvent(self, event) -> None:
        self._runner.shutdown()
        super().closeEvent(event)

    def _on_partial(self, tag, rec: Progress) -> None:
        self.progress.setValue(int(rec.fraction * 1000))
        self.status.setText(rec.message)

    def _on_done(self, tag, results: dict) -> None:
        self._job_keys = ()
        for key, ev in results.items():
            if key[0] == self._ds_token:
                if isinstance(ev, str):
                    self._failed[key] = ev
                else:
                    self._results[key] = ev
        self.progress.hide()
        self.status.setText("")
        self._schedule()
        self._refresh_all()

    def _on_failed(self, tag, message: str) -> None:
        self._job_keys = ()
        for key in tag:
            self._failed[key] = message
        self.progress.hide()
        self._schedule()

    def evaluation(self, name: str | None = None) -> Evaluation | None:
        """The finished evaluation of model ``name`` (default: the chosen model), if any."""
        key = self._key(name if name is not None else self.model_name())
        return self._results.get(key) if key is not None else None

    # ---- the slots ------------------------------------------------------------------------
    def _target_shape(self, k: int) -> tuple[int, int, int] | None:
        ds = self.ws.dataset
        if ds is not None and ds.has_images:
            return ds.shape
        other = self.slots[1 - k]
        return tuple(other.image.shape) if other is not None else None

    def _slot_widget(self, k: int) -> PairSlot:
        return (self.slot_a, self.slot_b)[k]

    def set_slot(self, k: int, item: SlotItem | None) -> None:
        self.slots[k] = item
        self._slot_widget(k).show_item(item)
        self._refresh_pair()

    def set_slot_index(self, k: int, index: int) -> None:
        ds = self.ws.dataset
        if ds is None or not ds.has_images or not 0 <= index < ds.count:
            self._slot_error(k, f"There is no item #{index} with an image in the open data set.")
            return
        cls = ds.label_name(index)
        caption = f"#{index}" + (f" · class {cls}" if cls else "")
        self.set_slot(k, SlotItem(ds.float_images([index])[0], caption, index=index))

    def load_file(self, k: int, path: str) -> bool:
        """Put the image file at ``path`` in slot ``k``; False (and a message) if it is not one."""
        try:
            image, note = load_pair_image(path, self._target_shape(k))
        except DataError as err:
            self._slot_error(k, str(err))
            return False
        self.set_slot(k, SlotItem(image, os.path.basename(path), note=note))
        return True

    def _slot_error(self, k: int, message: str) -> None:
        self._slot_widget(k).show_item(self.slots[k], error=message)
        self.ctx.show_status(message)

    def _on_files(self, k: int, paths: list[str]) -> None:
        if self.load_file(k, paths[0]) and len(paths) > 1:
            self.load_file(1 - k, paths[1])  # two files dropped at once fill both slots

    def _on_indices(self, k: int, idx: list[int]) -> None:
        self.set_slot_index(k, idx[0])
        if len(idx) > 1:
            self.set_slot_index(1 - k, idx[1])

    def _on_qimage(self, k: int, img: QImage) -> None:
        image, note = qimage_to_array(img, self._target_shape(k))
        self.set_slot(k, SlotItem(image, "dropped image", note=note))

    def _open_file(self, k: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Image for {'AB'[k]}", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.pgm *.gif *.tif *.tiff);;All files (*)")
        if path:
            self.load_file(k, path)

    def _on_pair_clicked(self, item: QListWidgetItem) -> None:
        i, j = item.data(Qt.ItemDataRole.UserRole)
        self.set_slot_index(0, int(i))
        self.set_slot_index(1, int(j))

    # ---- scoring the pair -----------------------------------------------------------------
    def pair_score(self) -> float | None:
        """The score of the pair in A and B under the chosen model (None if it cannot be had)."""
        name = self.model_name()
        if name is None or self.slots[0] is None or self.slots[1] is None:
            return None
        a, b = self.slots
        if a.image.shape != b.image.shape:
            raise DataError("A and B have different shapes; open a data set so both are brought to its shape.")
        enc = self.ws.models[name]
        scorer = pair_scorer_of(enc)
        if scorer is not None:
            return float(scorer.score_pairs(a.image[None], b.image[None])[0])
        codes = self.ws.codes.get(name)
        ca, cb = (codes[s.index] if s.index is not None and codes is not None else
                  np.asarray(enc.encode(s.image[None]), dtype=np.float32)[0] for s in (a, b))
        return float(code_scores(ca[None], cb[None], self.distance())[0])

    # ---- threshold ------------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        self._sync_slider()
        self._refresh_threshold()

    def _sync_slider(self) -> None:
        if self.threshold is None:
            return
        pos = int(round((self.threshold - self._lo) / (self._hi - self._lo) * SLIDER_STEPS))
        self.slider.blockSignals(True)
        self.slider.setValue(int(np.clip(pos, 0, SLIDER_STEPS)))
        self.slider.blockSignals(False)

    def _on_slider(self, value: int) -> None:
        self.threshold = self._lo + (self._hi - self._lo) * value / SLIDER_STEPS
        self._refresh_threshold()

    def _snap(self, which: str) -> None:
        ev = self.evaluation()
        if ev is not None:
            self.set_threshold(ev.result.eer_threshold if which == "eer" else ev.result.threshold_at_far(1e-3))

    # ---- refreshing the view --------------------------------------------------------------
    def _refresh_all(self) -> None:
        ev = self.evaluation()
        key = self._key(self.model_name())
        if ev is not None:
            lo, hi = float(ev.bins[0]), float(ev.bins[-1])
            pad = 0.02 * (hi - lo)
            self._lo, self._hi = lo - pad, hi + pad
            if self._threshold_key != key:  # a new model: start at its EER threshold
                self._threshold_key = key
                self.threshold = ev.result.eer_threshold
            res = ev.result
            pos = lambda t: int(np.clip(round((t - self._lo) / (self._hi - self._lo) * SLIDER_STEPS), 0, SLIDER_STEPS))  # noqa: E731
            self.slider.set_marks([(pos(res.eer_threshold), "EER", GREEN),
                                   (pos(res.threshold_at_far(1e-3)), "FAR 1e-3", RED)])
            self.slider.setEnabled(True)
            self._sync_slider()
        else:
            self.slider.set_marks([])
            self.slider.setEnabled(self.threshold is not None)
        self._refresh_plots()
        self._refresh_table()
        self._refresh_threshold()

    def _refresh_plots(self) -> None:
        shown = [(self.model_name(), 0), (self.compare_name(), 1)]
        floor = 1.0
        for name, k in shown:
            ev = self.evaluation(name) if name is not None else None
            curve = self.roc_curves[k]
            if ev is None or (k == 1 and name == self.model_name()):
                curve.setData([], [])
                self._set_legend(curve, "")
                continue
            roc = ev.result.roc
            keep = roc.fpr > 0
            floor = min(floor, 0.5 / max(1, ev.result.pairs.impostor))
            curve.setData(roc.fpr[keep], roc.tpr[keep])
            self._set_legend(curve, f"{name}  (AUC {ev.result.auc:.3f})")
        if floor < 1.0:
            xs = np.logspace(np.log10(floor), 0, 50)
            self.roc_chance.setData(xs, xs)
            self.roc_plot.setXRange(np.log10(floor), 0, padding=0.02)
        else:
            self.roc_chance.setData([], [])
        ev = self.evaluation()
        if ev is None:
            self.hist_gen.setData(np.zeros(1), np.zeros(0))
            self.hist_imp.setData(np.zeros(1), np.zeros(0))
            self.hist_line.hide()
            return
        self.hist_gen.setData(ev.bins, ev.genuine_hist)
        self.hist_imp.setData(ev.bins, ev.impostor_hist)
        self.hist_line.show()
        self.hist_plot.setXRange(ev.bins[0], ev.bins[-1], padding=0.02)

    def _set_legend(self, curve, text: str) -> None:
        legend = self.roc_plot.plotItem.legend
        if legend is None:
            return
        legend.removeItem(curve)
        if text:
            legend.addItem(curve, text)

    def _refresh_table(self) -> None:
        rows = [n for n in (self.model_name(), self.compare_name()) if n is not None]
        rows = list(dict.fromkeys(rows))
        self.table.setRowCount(len(rows))
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + max(1, len(rows)) * self.table.verticalHeader().defaultSectionSize() + 4)
        for r, name in enumerate(rows):
            ev = self.evaluation(name)
            res = ev.result if ev is not None else None
            cells = [name] + (["…"] * 5 if res is None else [
                f"{res.auc:.4f}", f"{res.eer:.2%}", f"{res.tar[1e-2][0]:.2%}", f"{res.tar[1e-3][0]:.2%}",
                "—" if not np.isfinite(res.accuracy) else f"{res.accuracy:.2%} ± {res.accuracy_std:.1%}"])
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setForeground(QColor(BLUE if r == 0 else ORANGE))
                    if res is not None:
                        item.setToolTip(f"{len(res.pairs):,} pairs ({res.pairs.protocol}): "
                                        f"{res.pairs.genuine:,} genuine, {res.pairs.impostor:,} impostor")
                self.table.setItem(r, c, item)

    def _refresh_threshold(self) -> None:
        ev = self.evaluation()
        t = self.threshold
        if t is not None:
            self.hist_line.blockSignals(True)
            self.hist_line.setValue(t)
            self.hist_line.blockSignals(False)
        if ev is not None and t is not None:
            far, tar = ev.rates(t)
            self.threshold_label.setText(f"threshold {t:.4g}  ·  FAR {far:.2%}  ·  TAR {tar:.2%}")
            self.roc_point.setData([np.log10(max(far, 1e-12))] if far > 0 else [], [tar] if far > 0 else [])
        else:
            self.threshold_label.setText("threshold —" if t is None else f"threshold {t:.4g}")
            self.roc_point.setData([], [])
        self._refresh_pair()
        self._grid_timer.start()

    def _refresh_pair(self) -> None:
        try:
            score = self.pair_score()
        except Exception as err:  # a model that cannot take these images: say so, keep going
            self.score_label.setText("score —")
            self._set_verdict("", str(err))
            self.hist_pair.hide()
            return
        if score is None:
            self.score_label.setText("score —")
            missing = [s for s, v in zip("AB", self.slots) if v is None]
            note = f"Put images in {' and '.join(missing)}." if missing else "Load a model to score pairs."
            self._set_verdict("", note)
            self.hist_pair.hide()
            return
        text = f"score {score:.4g}"
        if pair_scorer_of(self.ws.models[self.model_name()]) is not None:  # a logit: say p(same) too
            text += f"  ·  p(same) {1 / (1 + np.exp(-np.clip(score, -50, 50))):.2f}"
        self.score_label.setText(text)
        ev = self.evaluation()
        if ev is not None:
            self.hist_pair.setValue(score)
            self.hist_pair.show()
        if self.threshold is None:
            self._set_verdict("", "No threshold yet: it comes from evaluating a labelled data set.")
            return
        match = score >= self.threshold
        same = None
        a, b = self.slots
        ds = self.ws.dataset
        if a.index is not None and b.index is not None and ds is not None and ds.has_labels:
            la, lb = ds.labels[a.index], ds.labels[b.index]
            if la >= 0 and lb >= 0:
                same = la == lb
        truth = "" if same is None else (" (correct: same class)" if same and match else
                                         " (correct: different classes)" if not same and not match else
                                         " — wrong: same class" if same else " — wrong: different classes")
        self._set_verdict("MATCH" if match else "MISMATCH",
                          f"score {'≥' if match else '<'} threshold {self.threshold:.4g}{truth}")

    def _set_verdict(self, verdict: str, note: str) -> None:
        self.verdict.setText(verdict)
        colour = GREEN if verdict == "MATCH" else RED if verdict == "MISMATCH" else None
        self.verdict.setStyleSheet(
            f"color: white; background: {colour}; border-radius: 8px; padding: 4px 14px;" if colour else "")
        self.verdict_note.setText(note)

    def verdict_text(self) -> str:
        return self.verdict.text()

    def _refresh_hardest(self) -> None:
        ev = self.evaluation()
        ds = self.ws.dataset
        for grid in (self.fa_grid, self.fr_grid):
            grid.clear()
        if ev is None or self.threshold is None or ds is None or not ds.has_images:
            return
        fa, fr = ev.result.hardest(self.threshold, HARDEST)
        for grid, pairs, title, label in ((self.fa_grid, fa, self.fa_title, "false accepts"),
                                           (self.fr_grid, fr, self.fr_title, "false rejects")):
            title.setText(f"<b>Hardest {label}</b> at this threshold" + ("" if len(pairs) else ": none"))
            for i, j in pairs:
                pix = self._pair_pixmap(ds, int(i), int(j))
                item = QListWidgetItem(pix, "")
                item.setData(Qt.ItemDataRole.UserRole, (int(i), int(j)))
                item.setToolTip(f"#{i} ({ds.label_name(int(i))}) and #{j} ({ds.label_name(int(j))}); click to load")
                grid.addItem(item)

    def _pair_pixmap(self, ds: ImageSet, i: int, j: int, size: int = 44) -> QPixmap:
        thumbs = self.ctx.services.get("thumbnails")
        pa, pb = ((thumbs.get(ds, k, size) if thumbs is not None else to_pixmap(ds.images[k], size))
                  for k in (i, j))
        m = 3  # a frame around the pair, so neighbouring pairs read as separate tiles
        out = QPixmap(2 * size + 2 * m + 2, size + 2 * m)
        out.fill(QColor("#e8e8e8"))
        p = QPainter(out)
        p.drawPixmap(m + (size - pa.width()) // 2, m + (size - pa.height()) // 2, pa)
        p.drawPixmap(m + size + 2 + (size - pb.width()) // 2, m + (size - pb.height()) // 2, pb)
        p.setPen(QPen(QColor("#9a9a9a")))
        p.drawRect(0, 0, out.width() - 1, out.height() - 1)
        p.end()
        return out

    # ---- snapshots ------------------------------------------------------------------------
    def prepare_snapshot(self) -> None:
        """Put a telling pair in A and B: the hardest false accept, or two items of one class."""
        ev = self.evaluation()
        ds = self.ws.dataset
        if ds is None or not ds.has_images:
            return
        if ev is not None and self.threshold is not None:
            fa, _ = ev.result.hardest(self.threshold, 1)
            if len(fa):
                self.set_slot_index(0, int(fa[0][0]))
                self.set_slot_index(1, int(fa[0][1]))
                return
        self.set_slot_index(0, 0)
        self.set_slot_index(1, 1 if ds.count > 1 else 0)

