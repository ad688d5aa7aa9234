"""The training dialog's live panels: loss curves, the sample panel, and the model-options form."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.progress import Progress
from explorer.ui.imaging import to_qimage
from explorer.ui.plots import PlotWidget

TRAIN_PEN = pg.mkPen("#1f77b4", width=1.5)
VAL_PEN = pg.mkPen("#d62728", width=2)
METRIC_NAMES = {
    "auc": "validation AUC",
    "nmse": "validation NMSE",
    "mse": "validation MSE",
    "accuracy": "validation accuracy",
}


# ---- the catalogue of trainable models (read in a worker: it imports torch) -------------------
@dataclass
class ModelInfo:
    key: str
    description: str
    options: list[tuple[str, Any]]  # (field name, default) of the model's Config dataclass
    defaults: dict  # epochs, batch_size, lr
    needs_labels: bool = False
    needs_pairs: bool = False
    # what the "code size" field shows by default: the size the model's default config gives
    # (a config's ``code_size`` property, else its ``code_dim``); None when it has no code size
    code_size: int | None = None


@dataclass
class Catalogue:
    models: list[ModelInfo] = field(default_factory=list)
    devices: list[tuple[str, str]] = field(default_factory=list)  # (name, label)


def catalogue_job() -> Iterator[Progress]:
    """Read the registered models and the devices that exist; returns a :class:`Catalogue`."""
    yield Progress(message="reading model types")
    from explorer.models.base import model_class, model_keys
    from explorer.training.devices import available_devices, describe_device

    out = Catalogue()
    for key in model_keys():
        cls = model_class(key)
        options = []
        unused = set(getattr(cls.Config, "unused", ()))  # fields a subclass's model ignores
        for f in dataclasses.fields(cls.Config):
            if f.name in unused:
                continue
            if f.default is not dataclasses.MISSING:
                options.append((f.name, f.default))
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                options.append((f.name, f.default_factory()))  # type: ignore[misc]
        out.models.append(
            ModelInfo(
                key,
                cls.description,
                options,
                dict(cls.defaults),
                bool(cls.needs_labels),
                bool(cls.needs_pairs),
                default_code_size(cls.Config()),
            )
        )
    devices = available_devices()
    _warm_up_torch()
    out.devices = [("auto", f"auto ({devices[0]})")] + [(d, describe_device(d)) for d in devices]
    return out


def default_code_size(config) -> int | None:
    """The code size a model's ``config`` gives: its ``code_size`` property if it has one (a field
    that is an alias, such as the gated autoencoder's 0 = "its mapping units"), else its
    ``code_dim``; None when that is absent or 0 (a model with no per-image code to size)."""
    size = getattr(config, "code_size", None)
    if size is None:
        size = getattr(config, "code_dim", None)
    return int(size) if size else None


def _warm_up_torch() -> None:
    """Import the engine and run one tiny optimiser step here, in the worker, so the first
    training step does not pay for lazy imports and kernel set-up while the GUI waits on the GIL."""
    import torch

    import sklearn.metrics  # noqa: F401  (metric models import it at their first validation)

    import explorer.models.encoders
    import explorer.training.engine  # noqa: F401

    layer = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(torch.zeros(3, 4)).square().mean().backward()
    opt.step()


# ---- model options form ------------------------------------------------------------------------
class OptionsForm(QWidget):
    """One editor per field of a model's Config (bool, int, float, str, tuple of numbers)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._editors: dict[str, tuple[QWidget, Any]] = {}

    def set_options(
        self, options: list[tuple[str, Any]], skip=("code_dim",), choices: dict[str, tuple] | None = None
    ) -> None:
        """One editor per (name, default) not in ``skip``; a name in ``choices`` gets a list of
        those values instead of a text field."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self._editors.clear()
        for name, default in options:
            if name in skip:
                continue
            editor = (
                _choice_box(choices[name], default) if choices and name in choices else _editor_for(default)
            )
            if editor is None:
                continue
            editor.setObjectName(f"opt_{name}")
            self.form.addRow(name.replace("_", " "), editor)
            self._editors[name] = (editor, default)

    def values(self) -> dict[str, Any]:
        """The options that differ from the model's defaults."""
        out = {}
        for name, (editor, default) in self._editors.items():
            value = _value_of(editor, default)
            if value != default:
                out[name] = value
        return out

    def has_options(self) -> bool:
        return bool(self._editors)

    def editor(self, name: str) -> QWidget:
        return self._editors[name][0]


def _choice_box(values: tuple, default) -> QComboBox:
    box = QComboBox()
    for v in values:
        box.addItem(str(v), v)
    box.setCurrentIndex(max(0, box.findData(default)))
    return box


def _editor_for(default) -> QWidget | None:
    if isinstance(default, bool):
        w = QCheckBox()
        w.setChecked(default)
        return w
    if isinstance(default, int):
        w = QSpinBox()
        w.setRange(-1_000_000, 1_000_000)
        w.setValue(default)
        return w
    if isinstance(default, float):
        w = QDoubleSpinBox()
        w.setDecimals(min(6, max(2, len(repr(default).split(".")[-1]))))
        w.setRange(-1e6, 1e6)
        w.setSingleStep(0.05 if abs(default) < 10 else 1.0)
        w.setValue(default)
        return w
    if isinstance(default, str):
        return QLineEdit(default)
    if isinstance(default, (tuple, list)) and all(isinstance(v, (int, float)) for v in default):
        w = QLineEdit(", ".join(str(v) for v in default))
        w.setToolTip("numbers separated by commas")
        return w
    return None


def _value_of(editor: QWidget, default):
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    text = editor.text().strip()
    if isinstance(default, (tuple, list)):
        kind = float if any(isinstance(v, float) for v in default) else int
        try:
            return tuple(kind(s) for s in text.replace(" ", "").split(",") if s)
        except ValueError:
            return tuple(default)
    return text


def record_steps(gen: Iterator[Progress], log: list):
    """Drive ``gen`` (a training job) and append (step, total, loss) of every optimiser step to
    ``log``; runs in the worker, so the GUI can draw every step while getting few records.
    Closing this generator closes ``gen`` (the engine then keeps its checkpoint)."""
    try:
        while True:
            try:
                rec = next(gen)
            except StopIteration as stop:
                return stop.value
            epoch_end = isinstance(rec.payload, dict) and rec.payload.get("epoch_end")
            if rec.loss is not None and rec.step > 0 and not epoch_end and math.isfinite(rec.loss):
                log.append((rec.step, max(rec.total, 1), float(rec.loss)))
            yield rec
    finally:
        gen.close()


# ---- live panels -------------------------------------------------------------------------------
class LossPlot(PlotWidget):
    """Training loss (per reported step) and validation loss (per epoch) against epochs."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(200)
        self.setLabel("bottom", "epoch")
        self.setLabel("left", "loss")
        self.setTitle("Loss", size="10pt")
        self.getAxis("left").enableAutoSIPrefix(False)
        # no grid: its alpha-blended lines were 40% of the dialog's painting while training
        self.addLegend(offset=(-10, 10))
        self.train_curve = self.plot([], [], pen=TRAIN_PEN, name="train")
        self.val_curve = self.plot(
            [],
            [],
            pen=VAL_PEN,
            symbol="o",
            symbolSize=6,
            symbolBrush="#d62728",
            symbolPen=None,
            name="validation",
        )
        self.getPlotItem().setMenuEnabled(False)
        # the axes keep their range while a run adds points (x: the run's epochs; y: widened or
        # narrowed in steps, see _fit_y): an axis whose range changes makes its ticks and labels
        # again at the next paint, 40% of the plot's 12-18 ms of GUI-thread CPU per update
        self.getPlotItem().enableAutoRange(False)
        self.clear_data()

    def clear_data(self) -> None:
        self.train_x: list[float] = []
        self.train_y: list[float] = []
        self.val_x: list[float] = []
        self.val_y: list[float] = []
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self._epochs: float | None = None
        self.y_range: tuple[float, float] | None = None

    def _fit_y(self) -> None:
        """Keep every loss in view with a y range that changes seldom: when a value leaves it, or
        the values fill less than a third of it, it becomes their span with a quarter of it spare
        on each side."""
        ys = [y for y in self.train_y + self.val_y if math.isfinite(y)]
        if not ys:
            return
        lo, hi = min(ys), max(ys)
        cur = self.y_range
        if cur is not None and cur[0] <= lo and hi <= cur[1] and (hi - lo) >= (cur[1] - cur[0]) / 3:
            return
        spare = 0.25 * (hi - lo) or 0.1 * abs(hi) or 1.0
        self.y_range = (lo - spare, hi + spare)
        self.setYRange(*self.y_range, padding=0)

    def _fit_x(self, epochs: float) -> None:
        if epochs and epochs != self._epochs:
            self._epochs = float(epochs)
            self.setXRange(0, float(epochs), padding=0.02)

    def add(self, rec: Progress, epochs: int, steps: list | None = None) -> None:
        """Show a record of a run of ``epochs`` epochs (x = step / total * epochs). ``steps`` is
        the run's :func:`record_steps` log: every step's loss, not only the records that the
        worker's rate limit let through."""
        m = rec.metrics
        self._fit_x(epochs)
        if steps is not None and len(steps) > len(self.train_x):
            new = steps[len(self.train_x) :]  # appended by the worker: read a copy
            self.train_x.extend(step / total * epochs for step, total, _ in new)
            self.train_y.extend(loss for _, _, loss in new)
            self.train_curve.setData(self.train_x, self.train_y)
        elif steps is None and rec.loss is not None and math.isfinite(rec.loss) and rec.total:
            x = rec.step / rec.total * epochs
            if rec.step > 0 and (not self.train_x or x > self.train_x[-1]):
                self.train_x.append(x)
                self.train_y.append(float(rec.loss))
                self.train_curve.setData(self.train_x, self.train_y)
        if "val_loss" in m and "val_epoch" in m:
            ve = float(m["val_epoch"])
            if not self.val_x or ve > self.val_x[-1]:
                self.val_x.append(ve)
                self.val_y.append(float(m["val_loss"]))
                self.val_curve.setData(self.val_x, self.val_y)
        self._fit_y()

    def set_history(self, history: list[dict]) -> None:
        """The run's per-epoch validation losses from its result (complete, whatever the live
        records that the worker's rate limit let through)."""
        pts = [(float(h["epoch"]), float(h["val_loss"])) for h in history if "val_loss" in h]
        if pts:
            self.val_x, self.val_y = [p[0] for p in pts], [p[1] for p in pts]
            self.val_curve.setData(self.val_x, self.val_y)
            self._fit_x(max(self._epochs or 0.0, max(p[0] for p in pts)))
            self._fit_y()


METRIC_PLOT_WIDTH = 240  # px, at least


class MetricPlot(PlotWidget):
    """The model's own validation figure per epoch (AUC for metric models, NMSE for gae, ...)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(160)
        # shown once a run reports its figure, beside the sample panel in a splitter, which gave
        # it what was left: 70 px, its title and axis cut (bgae's validation NMSE)
        self.setMinimumWidth(METRIC_PLOT_WIDTH)
        self.setLabel("bottom", "epoch")
        self.getAxis("left").enableAutoSIPrefix(False)
        self.curve = self.plot(
            [],
            [],
            pen=pg.mkPen("#2ca02c", width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush="#2ca02c",
            symbolPen=None,
        )
        self.getPlotItem().setMenuEnabled(False)
        self.key: str | None = None
        self.clear_data()

    def clear_data(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.curve.setData([], [])

    def set_key(self, key: str | None) -> None:
        self.key = key
        label = METRIC_NAMES.get(key or "", f"validation {key}")
        self.setLabel("left", label)
        self.setTitle(label[0].upper() + label[1:], size="10pt")
        if key == "auc":
            self.setYRange(0.5, 1.0)

    def add(self, rec: Progress) -> bool:
        """Append the record's metric if it is from a new epoch; True when it did."""
        m = rec.metrics
        if self.key is None or self.key not in m or "val_epoch" not in m:
            return False
        ve = float(m["val_epoch"])
        if self.xs and ve <= self.xs[-1]:
            return False
        self.xs.append(ve)
        self.ys.append(float(m[self.key]))
        self.curve.setData(self.xs, self.ys)
        if self.key == "auc":
            self.setYRange(min(0.5, min(self.ys)), 1.0)
        return True

    def set_history(self, history: list[dict]) -> None:
        if self.key is None:
            return
        pts = [(float(h["epoch"]), float(h[self.key])) for h in history if self.key in h]
        if pts:
            self.xs, self.ys = [p[0] for p in pts], [p[1] for p in pts]
            self.curve.setData(self.xs, self.ys)


def model_metric_key(metrics: dict) -> str | None:
    """The model's own validation figure among ``metrics`` (not the loss, not bookkeeping)."""
    for key in ("auc", "nmse", "accuracy"):
        if key in metrics:
            return key
    return None


def tile_samples(samples: np.ndarray, gap: int = 2) -> np.ndarray:
    """(rows, n, C, H, W) float images -> one (C, rows*H + gaps, n*W + gaps) image, white gaps."""
    s = np.clip(np.asarray(samples, dtype=np.float32), 0, 1)
    rows, n, c, h, w = s.shape
    out = np.ones((c, rows * h + (rows - 1) * gap, n * w + (n - 1) * gap), dtype=np.float32)
    for r in range(rows):
        for i in range(n):
            y, x = r * (h + gap), i * (w + gap)
            out[:, y : y + h, x : x + w] = s[r, i]
    return out


class SamplePanel(QWidget):
    """The model's sample images (inputs over reconstructions), fitted to the panel: small images
    scaled up by whole pixels, large ones scaled down smoothly (never wider than the dialog)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel("Validation samples appear after the first epoch")
        self.title.setObjectName("panelTitle")
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # an explicit minimum, so the label's size hint (the pixmap's) never widens the dialog
        self.image.setMinimumSize(120, 120)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setStyleSheet("background: white; border: 1px solid #ccc;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.image, 1)
        self._tiled: np.ndarray | None = None
        self.epoch = -1

    def clear_data(self) -> None:
        self._tiled = None
        self.epoch = -1
        self.image.clear()
        self.title.setText("Validation samples appear after the first epoch")

    def set_samples(self, samples: np.ndarray, epoch: int, caption: str | None = None) -> None:
        """``samples`` (rows, n, C, H, W); ``caption`` says what the rows are (the model's
        ``sample_caption``; None: inputs over reconstructions). The gated autoencoders' filters
        and change bases were captioned 'top: input, bottom: reconstruction'."""
        self._tiled = tile_samples(samples)
        self.epoch = epoch
        rows = samples.shape[0]
        what = caption or {
            2: "top: input, bottom: reconstruction",
            3: "rows: input, corrupted input, reconstruction",
        }.get(rows, f"{rows} rows")
        self.title.setText(f"Validation samples after epoch {epoch} ({what})")
        self._render()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._render()

    def _render(self) -> None:
        if self._tiled is None:
            return
        _, h, w = self._tiled.shape
        avail_w, avail_h = max(1, self.image.width() - 8), max(1, self.image.height() - 8)
        fit = min(avail_w / w, avail_h / h)
        if fit >= 1:  # small images (digits): whole pixels, kept sharp
            size, mode = (w * int(fit), h * int(fit)), Qt.TransformationMode.FastTransformation
        else:  # photos: scaled down to the panel, smoothly
            size, mode = (
                (max(1, int(w * fit)), max(1, int(h * fit))),
                Qt.TransformationMode.SmoothTransformation,
            )
        pix = QPixmap.fromImage(to_qimage(self._tiled)).scaled(
            *size, Qt.AspectRatioMode.KeepAspectRatio, mode
        )
        self.image.setPixmap(pix)

    def pixmap_size(self) -> tuple[int, int]:
        pix = self.image.pixmap()
        return (0, 0) if pix is None or pix.isNull() else (pix.width(), pix.height())
