"""The relational view: infer the transformation between two images and apply it to others.

Top left, the example pair: x is an item of the open data set (or of generated random dots when
the data set does not fit the model), y is its partner in a pair set or x under a transformation
picked here (shift dx, dy; rotation angle; scale). Both slots also take dropped image files.
Top right, the mapping units z that the gated autoencoder infers from (x, y), as a bar chart.
Middle, the analogy: a row of x' images, the model's ŷ' for each (z applied to x') and, where the
transformation is known, the true y' with the analogy error. Bottom, the factor filter pairs
(U beside V) and the mapping codes of many pairs laid out in 2-D (PCA at once, then t-SNE as it
forms), coloured by the true transformation: pairs that moved the same way sit together whatever
their content.

The model is a gated autoencoder among the workspace's models (key 'gae'), else the default
``sample_data/models/gae_shifts.safetensors``. The analogy itself is cheap and runs at once; the
layout of the mapping codes runs in a TaskRunner worker.
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.errors import ExplorerError
from explorer.jobs.relational import mapping_layout_job
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.workers import TaskRunner

TITLE = "Relational"
AREA = "center"
ORDER = 50

SLOT_PX = 96
ROW_PX = 72
N_APPLY = 6  # x' images in the analogy row
PARTNER = "partner of x (data set)"
NEXT = "the next frame of x's sequence"
ITEM = "another item of the data set"
TRANSFORM = "x transformed"


def default_model_path() -> str:
    from explorer.data.samples import sample_data_dir

    return os.path.join(str(sample_data_dir()), "models", "gae_shifts.safetensors")


def find_relational_models(models: dict) -> dict[str, object]:
    """Gated autoencoders among the workspace's encoders: name -> the torch model."""
    found = {}
    for name, enc in models.items():
        module = getattr(enc, "module", enc)
        if getattr(module, "key", "") == "gae" and hasattr(module, "mappings"):
            module.trained_on = str(getattr(enc, "summary", {}).get("data", ""))
            found[name] = module
    return found


class ImageSlot(QLabel):
    """A thumbnail that takes dropped image files."""

    file_dropped = Signal(str)

    def __init__(self, caption: str, size: int, parent=None) -> None:
        super().__init__(parent)
        self.size_px = size
        self.image: np.ndarray | None = None
        self.setFixedSize(size + 4, size + 4)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("QLabel { background: #202020; color: #bbbbbb; border: 1px solid #555; }")
        self.setToolTip(f"{caption}: drop an image file here")
        self.setAcceptDrops(True)
        self.setText(caption)

    def show_image(self, image: np.ndarray | None) -> None:
        self.image = None if image is None else np.asarray(image, dtype=np.float32)
        if image is None:
            self.setPixmap(pg.QtGui.QPixmap())
            return
        self.setPixmap(to_pixmap(np.clip(image, 0.0, 1.0), self.size_px))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.file_dropped.emit(urls[0])
            event.acceptProposedAction()


class View(QWidget):
    analogy_changed = Signal()  # the shown z / ŷ' were recomputed

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = None
        self.model_name = ""
        self._models: dict[str, object] = {}
        self._pool: np.ndarray | None = None  # generated images when the data set does not fit
        self._successor: np.ndarray | None = None  # the next frame of each item in its sequence
        self._x_file: np.ndarray | None = None  # dropped images replace the chosen ones
        self._y_file: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.x2: np.ndarray | None = None
        self.prediction: np.ndarray | None = None  # ŷ' as shown (before clipping for display)
        self.truth: np.ndarray | None = None
        self.runner = TaskRunner(self)
        self.runner.partial.connect(self._on_layout_partial)
        self.runner.done.connect(self._on_layout_done)
        self.runner.failed.connect(self._on_layout_failed)
        self._build()
        ctx.qws.models_changed.connect(self._on_models_changed)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        self._on_models_changed()

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        self.model_box = QComboBox()
        self.model_box.setMinimumWidth(220)
        self.model_box.currentTextChanged.connect(self._on_model_chosen)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top.addWidget(QLabel("Gated autoencoder:"))
        top.addWidget(self.model_box)
        top.addWidget(self.status, 1)

        # example pair
        pair = QGroupBox("Example pair x → y")
        form = QFormLayout()
        self.x_index = QSpinBox()
        self.x_index.setRange(0, 0)
        self.x_index.valueChanged.connect(lambda _: self._clear_file("x"))
        self.y_mode = QComboBox()
        self.y_mode.currentTextChanged.connect(self._on_y_mode)
        self.y_index = QSpinBox()  # y as any item (ITEM)
        self.y_index.setRange(0, 0)
        self.y_index.valueChanged.connect(lambda _: self._clear_file("y"))
        self.kind = QComboBox()
        self.kind.addItems(["shift", "rotation", "scale"])
        self.kind.currentTextChanged.connect(self._on_kind)
        self.dx, self.dy = QSpinBox(), QSpinBox()
        for box, value in ((self.dx, 1), (self.dy, 0)):
            box.setRange(-6, 6)
            box.setValue(value)
            box.valueChanged.connect(lambda _: self._clear_file("y"))
        self.angle = QDoubleSpinBox()
        self.angle.setRange(-180, 180)
        self.angle.setSingleStep(15)
        self.angle.setValue(30)
        self.angle.valueChanged.connect(lambda _: self._clear_file("y"))
        self.factor = QDoubleSpinBox()
        self.factor.setRange(0.5, 2.0)
        self.factor.setSingleStep(0.1)
        self.factor.setValue(1.2)
        self.factor.valueChanged.connect(lambda _: self._clear_file("y"))
        form.addRow("x item", self.x_index)
        form.addRow("y is", self.y_mode)
        form.addRow("y item", self.y_index)
        form.addRow("transformation", self.kind)
        self._param_rows = {"dx": self.dx, "dy": self.dy, "angle": self.angle, "factor": self.factor}
        for name, box in self._param_rows.items():
            form.addRow(name, box)
        self.pair_note = QLabel("")
        self.pair_note.setWordWrap(True)
        form.addRow(self.pair_note)
        self._form = form
        slots = QHBoxLayout()
        self.x_slot, self.y_slot = ImageSlot("x", SLOT_PX), ImageSlot("y", SLOT_PX)
        self.x_slot.file_dropped.connect(lambda p: self._on_file("x", p))
        self.y_slot.file_dropped.connect(lambda p: self._on_file("y", p))
        for cap, slot in (("x", self.x_slot), ("y", self.y_slot)):
            col = QVBoxLayout()
            col.setSpacing(2)
            col.addWidget(slot)
            col.addWidget(QLabel(cap, alignment=Qt.AlignmentFlag.AlignCenter))
            col.addStretch(1)
            slots.addLayout(col)
        box = QHBoxLayout(pair)
        box.addLayout(slots)
        box.addLayout(form)

        # mapping units
        self.z_plot = pg.PlotWidget(background="w")
        self.z_plot.setTitle("Mapping units z = what takes x to y", color="k")
        self.z_plot.setLabel("left", "activation")
        self.z_plot.setLabel("bottom", "mapping unit")
        self.z_plot.setYRange(0, 1, padding=0.02)
        self.z_plot.setMouseEnabled(x=True, y=False)
        self.z_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f77d0", pen=None)
        self.z_plot.addItem(self.z_bars)
        self.z_plot.setMinimumHeight(170)

        # analogy rows
        ana = QGroupBox("Analogy: x : y :: x' : ŷ'  (the transformation z applied to other images)")
        outer = QVBoxLayout(ana)
        controls = QHBoxLayout()
        self.x2_start = QSpinBox()
        self.x2_start.setRange(0, 0)
        self.x2_start.valueChanged.connect(lambda _: self.update_analogy())
        controls.addWidget(QLabel("x' from item"))
        controls.addWidget(self.x2_start)
        self.nmse_label = QLabel("")
        controls.addWidget(self.nmse_label, 1)
        outer.addLayout(controls)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        outer.addLayout(grid)
        self.x2_slots, self.pred_slots, self.true_slots = [], [], []
        for r, (name, store) in enumerate(
            (("x'", self.x2_slots), ("ŷ' (model)", self.pred_slots), ("y' (true)", self.true_slots)), start=1
        ):
            grid.addWidget(QLabel(name), r - 1, 0)
            for k in range(N_APPLY):
                slot = ImageSlot("", ROW_PX)
                slot.setAcceptDrops(False)
                store.append(slot)
                grid.addWidget(slot, r - 1, k + 1)
        grid.setColumnStretch(N_APPLY + 1, 1)

        # filters and layout
        self.tabs = QTabWidget()
        self.filter_label = QLabel()
        self.filter_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.filter_label)
        scroll.setWidgetResizable(True)
        filt = QWidget()
        fl = QVBoxLayout(filt)
        fl.addWidget(
            QLabel(
                "Factor filter pairs (U beside V, strongest first; grey = 0). "
                "Shifts give Fourier-like pairs in quadrature."
            )
        )
        fl.addWidget(scroll, 1)
        self.tabs.addTab(filt, "Filter pairs")
        lay = QWidget()
        ll = QVBoxLayout(lay)
        self.layout_note = QLabel("")
        ll.addWidget(self.layout_note)
        self.code_plot = pg.PlotWidget(background="w")
        self.code_plot.setLabel("bottom", "layout x")
        self.code_plot.setLabel("left", "layout y")
        self.code_scatter = pg.ScatterPlotItem(size=6, pen=None, pxMode=True)
        self.code_plot.addItem(self.code_scatter)
        self.colour_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("CET-C6"), interactive=False, width=12
        )
        self.colour_bar.setImageItem(pg.ImageItem(), insert_in=self.code_plot.getPlotItem())
        ll.addWidget(self.code_plot, 1)
        self.tabs.addTab(lay, "Mapping codes")
        self._layout_tag = None  # what the shown layout was made from
        self.tabs.currentChanged.connect(lambda _: self._layout_if_shown())

        root = QVBoxLayout(self)
        root.addLayout(top)
        upper = QHBoxLayout()
        upper.addWidget(pair)
        upper.addWidget(self.z_plot, 1)
        root.addLayout(upper)
        root.addWidget(ana)
        self.tabs.setMinimumHeight(320)
        root.addWidget(self.tabs, 1)
        self._on_y_mode()
        self._on_kind()

    # ---- models ---------------------------------------------------------------------------
    def _on_models_changed(self) -> None:
        self._models = find_relational_models(self.ctx.workspace.models)
        names = list(self._models)
        if not names and os.path.isfile(default_model_path()):
            names = ["default: gae_shifts"]
        current = self.model_box.currentText()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(names)
        if current in names:
            self.model_box.setCurrentText(current)
        self.model_box.blockSignals(False)
        if not names:
            self.status.setText(
                "No gated autoencoder loaded: train one with "
                "`explorer train --model gae --data sample:shifts`."
            )
            return
        self._on_model_chosen(self.model_box.currentText())

    def _on_model_chosen(self, name: str) -> None:
        if not name:
            return
        if name == self.model_name and self.model is not None:
            return
        if name in self._models:
            model = self._models[name]
        elif name.startswith("default"):
            try:
                from explorer.relational.engine import load_relational_model

                model = load_relational_model(default_model_path())
            except ExplorerError as err:
                self.ctx.show_error(str(err))
                return
        else:
            return
        self.set_model(model, name)

    def set_model(self, model, name: str = "gae") -> None:
        """Use ``model`` (a gated autoencoder) in every panel."""
        self.model = model
        self.model_name = name
        if self.model_box.findText(name) < 0:
            self.model_box.blockSignals(True)
            self.model_box.addItem(name)
            self.model_box.blockSignals(False)
        self.model_box.blockSignals(True)
        self.model_box.setCurrentText(name)
        self.model_box.blockSignals(False)
        self._pool = None
        self._refresh_source()
        self._show_filters()
        self.update_analogy()
        self._layout_if_shown()

    def _on_dataset_changed(self) -> None:
        self._pool = None
        self._refresh_source()
        self.update_analogy()
        self._layout_if_shown()

    # ---- where the images come from -------------------------------------------------------
    def _dataset(self):
        data = self.ctx.workspace.dataset
        if self.model is None or data is None or not data.has_images:
            return None
        return data if data.shape == tuple(self.model.input_shape) else None

    def _images(self) -> np.ndarray:
        """The images x and x' are chosen from: the data set, or generated random dots."""
        data = self._dataset()
        if data is not None:
            return data.images
        if self._pool is None:
            from explorer.data.generators import random_dots

            c, h, w = self.model.input_shape
            dots = random_dots(200, max(h, w), np.random.default_rng(0))[:, :h, :w]
            self._pool = np.repeat(dots[:, None], c, axis=1).astype(np.float32)
        return self._pool

    def _image(self, i: int) -> np.ndarray:
        from explorer.core.imageset import to_float

        imgs = self._images()
        return to_float(imgs[int(i) % len(imgs)])

    def _refresh_source(self) -> None:
        if self.model is None:
            return
        data = self._dataset()
        n = len(self._images())
        self._successor = None  # (sequence successor of each item), made on first use
        for box in (self.x_index, self.x2_start, self.y_index):
            box.blockSignals(True)
            box.setRange(0, n - 1)
            box.blockSignals(False)
        if self.x2_start.value() == self.x_index.value() and n > 1:
            self.x2_start.blockSignals(True)
            self.x2_start.setValue((self.x_index.value() + 1) % n)  # x' other than x
            self.x2_start.blockSignals(False)
        has_partners = data is not None and data.partners is not None
        self.y_mode.blockSignals(True)
        current = self.y_mode.currentText()
        self.y_mode.clear()
        items = [PARTNER] if has_partners else ([NEXT, ITEM] if data is not None else [])
        self.y_mode.addItems(items + [TRANSFORM])
        if current in items + [TRANSFORM]:
            self.y_mode.setCurrentText(current)
        self.y_mode.blockSignals(False)
        self._on_y_mode(update=False)
        src = (
            f"{data.name or 'data set'} ({n} items)"
            if data is not None
            else "generated random dots (the open data set does not fit the model's "
            f"{list(self.model.input_shape)})"
        )
        self.status.setText(
            f"{self.model_name}: {list(self.model.input_shape)} input, "
            f"{self.model.U.shape[1]} factors, {self.model.config.hidden} mapping units; "
            f"images from {src}"
        )

    def _on_y_mode(self, *_, update: bool = True) -> None:
        transform = self.y_mode.currentText() == TRANSFORM
        self.kind.setEnabled(transform)
        self._form.setRowVisible(self.y_index, self.y_mode.currentText() == ITEM)
        self._on_kind(update=False)
        self._clear_file("y", update=update)

    def _on_kind(self, *_, update: bool = True) -> None:
        from explorer.relational.transforms import KINDS

        transform = self.y_mode.currentText() == TRANSFORM
        self._form.setRowVisible(self.kind, transform)
        needed = KINDS[self.kind.currentText()] if transform else ()
        for name, box in self._param_rows.items():
            self._form.setRowVisible(box, name in needed)
        if update:
            self._clear_file("y")

    def _clear_file(self, which: str, update: bool = True) -> None:
        if which == "x":
            self._x_file = None
        self._y_file = None if which in ("x", "y") else self._y_file
        if update:
            self.update_analogy()

    def _on_file(self, which: str, path: str) -> None:
        from explorer.relational.imageio import read_image

        if self.model is None:
            return
        try:
            image, original = read_image(path, tuple(self.model.input_shape))
        except ExplorerError as err:
            self.ctx.show_error(str(err))
            return
        if original is not None:
            c, h, w = self.model.input_shape
            self.ctx.show_status(
                f"{os.path.basename(path)} is {original[0]}x{original[1]}; resized to the model's {w}x{h}."
            )
        if which == "x":
            self._x_file = image
        else:
            self._y_file = image
        self.update_analogy()

    # ---- the transformation that makes y (and the true y') --------------------------------
    def transformation(self) -> tuple[str, dict[str, float]] | None:
        """The known transformation x -> y, or None (a partner without known parameters, a file)."""
        from explorer.relational.transforms import item_transform

        if self._y_file is not None:
            return None
        if self.y_mode.currentText() == PARTNER:
            data = self._dataset()
            return item_transform(data.transforms, self.x_index.value()) if data is not None else None
        if self.y_mode.currentText() in (NEXT, ITEM):
            return None  # real data: the transformation is what the model infers
        kind = self.kind.currentText()
        params = {
            "dx": self.dx.value(),
            "dy": self.dy.value(),
            "angle": self.angle.value(),
            "factor": self.factor.value(),
        }
        return kind, params

    def set_pair(self, x_index: int, kind: str | None = None, **params) -> None:
        """Choose x by item and y as its partner (kind None) or x under ``kind`` with ``params``."""
        self._x_file = self._y_file = None
        for box in (self.x_index, self.y_mode, self.kind, *self._param_rows.values()):
            box.blockSignals(True)
        self.x_index.setValue(int(x_index))
        if kind is None:
            self.y_mode.setCurrentText(PARTNER)
        else:
            self.y_mode.setCurrentText(TRANSFORM)
            self.kind.setCurrentText(kind)
            for name, value in params.items():
                self._param_rows[name].setValue(value)
        for box in (self.x_index, self.y_mode, self.kind, *self._param_rows.values()):
            box.blockSignals(False)
        self._on_y_mode(update=False)
        self.update_analogy()

    def next_frame(self, i: int) -> int:
        """The item after ``i`` in its sequence (natural file order within a sub-folder); the last
        frame of a sequence has none and gives itself."""
        if self._successor is None:
            from explorer.data.pairs import sequence_order

            data = self._dataset()
            succ = np.arange(data.count if data is not None else 0)
            if data is not None:
                for idx in sequence_order(data):
                    succ[idx[:-1]] = idx[1:]
            self._successor = succ
        return int(self._successor[i]) if i < len(self._successor) else int(i)

    def set_y_item(self, mode: str, index: int | None = None) -> None:
        """y as NEXT (the next frame of x) or ITEM (item ``index``)."""
        if index is not None:
            self.y_index.blockSignals(True)
            self.y_index.setValue(int(index))
            self.y_index.blockSignals(False)
        self.y_mode.setCurrentText(mode)
        self.update_analogy()

    def set_apply_start(self, index: int) -> None:
        self.x2_start.setValue(int(index))  # triggers update_analogy

    # ---- compute and show -----------------------------------------------------------------
    def current_pair(self) -> tuple[np.ndarray, np.ndarray]:
        from explorer.relational.transforms import transform_images

        x = self._x_file if self._x_file is not None else self._image(self.x_index.value())
        if self._y_file is not None:
            return x, self._y_file
        if self.y_mode.currentText() == PARTNER and self._x_file is None:
            from explorer.core.imageset import to_float

            data = self._dataset()
            return x, to_float(data.partners[self.x_index.value()])
        if self.y_mode.currentText() == NEXT:
            return x, self._image(self.next_frame(self.x_index.value()))
        if self.y_mode.currentText() == ITEM:
            return x, self._image(self.y_index.value())
        kind, params = self.transformation() or ("shift", {})
        return x, transform_images(x[None], kind, params)[0]

    def update_analogy(self) -> None:
        """Infer z from the example pair, apply it to the row of x', and show it all."""
        from explorer.relational.engine import apply_mappings, infer_mappings, nmse
        from explorer.relational.transforms import transform_images

        if self.model is None:
            return
        x, y = self.current_pair()
        self.x_slot.show_image(x)
        self.y_slot.show_image(y)
        self.z = infer_mappings(self.model, x[None], y[None])[0]
        self.z_bars.setOpts(x=np.arange(len(self.z)), height=self.z, width=0.8)
        self.z_plot.setXRange(-1, len(self.z), padding=0)
        start = self.x2_start.value()
        self.x2 = np.stack([self._image(start + k) for k in range(N_APPLY)])
        self.prediction = apply_mappings(self.model, self.z, self.x2)
        known = self.transformation()
        self.truth = transform_images(self.x2, *known) if known is not None else None
        mode = self.y_mode.currentText()
        dropped = self._x_file is not None or self._y_file is not None
        # the form describes the pair shown: a dropped file is not "x under a shift"
        self.kind.setEnabled(mode == TRANSFORM and self._y_file is None)
        for box in self._param_rows.values():
            box.setEnabled(mode == TRANSFORM and self._y_file is None)
        if dropped:
            parts = (["x: the dropped image"] if self._x_file is not None else []) + (
                ["y: the dropped image"] if self._y_file is not None else []
            )
            self.pair_note.setText("; ".join(parts) + ": the transformation is unknown, the model infers it.")
        elif mode == NEXT:
            i = self.x_index.value()
            j = self.next_frame(i)
            self.pair_note.setText(
                f"y = item {j}, the frame after item {i}"
                if j != i
                else f"item {i} is the last frame of its sequence: y = x"
            )
        elif mode == ITEM:
            self.pair_note.setText(f"y = item {self.y_index.value()}")
        elif known is None:
            self.pair_note.setText("y: a partner of unknown transformation")
        else:
            kind, params = known
            keys = {"shift": ("dx", "dy"), "rotation": ("angle",), "scale": ("factor",)}[kind]
            self.pair_note.setText(f"y = x under {kind} " + ", ".join(f"{k} = {params[k]:g}" for k in keys))
        for k in range(N_APPLY):
            self.x2_slots[k].show_image(self.x2[k])
            self.pred_slots[k].show_image(self.prediction[k])
            self.true_slots[k].show_image(None if self.truth is None else self.truth[k])
            if self.truth is None:
                self.true_slots[k].setText("unknown")
        if self.truth is not None:
            self.nmse_label.setText(
                f"analogy error nmse = {nmse(self.prediction, self.truth):.3f}   "
                f"(copying x': {nmse(self.x2, self.truth):.3f}, mean: 1.000)"
            )
        else:
            self.nmse_label.setText("the true y' is unknown for this pair")
        self.analogy_changed.emit()

    def _show_filters(self) -> None:
        from explorer.models.gae import filter_pairs
        from explorer.relational.engine import filter_grid

        u, v = filter_pairs(self.model)
        self.filter_grid = filter_grid(u, v, count=min(96, len(u)), columns=8)
        scale = max(1, int(900 / self.filter_grid.shape[2]))
        h, w = self.filter_grid.shape[1:]
        self.filter_label.setPixmap(to_pixmap(self.filter_grid, max(h, w) * scale))

    # ---- the layout of mapping codes (worker) ---------------------------------------------
    def _layout_if_shown(self) -> None:
        """The layout costs a t-SNE: make it only when its tab is shown and it is out of date."""
        if self.tabs.currentIndex() == 1 and self.model is not None:
            if self._layout_tag != (id(self.model), id(self._dataset())):
                self.start_layout()

    def start_layout(self) -> None:
        if self.model is None:
            return
        model, data = self.model, self._dataset()
        tag = (id(model), id(data))
        self._layout_tag = tag

        def job():
            return mapping_layout_job(model, data)

        self.layout_note.setText("computing the mapping codes of many pairs ...")
        self.runner.start(job, tag=tag)

    def _on_layout_partial(self, tag, record) -> None:
        payload = record.payload
        if isinstance(payload, dict) and "layout" in payload:
            self._show_layout(payload)

    def _on_layout_done(self, tag, result) -> None:
        if result is not None:
            self._show_layout(result)

    def _on_layout_failed(self, tag, message) -> None:
        self.layout_note.setText(f"layout failed: {message}")

    def _show_layout(self, payload: dict) -> None:
        xy = payload["layout"]
        values, label = payload["colour"], payload["colour_label"]
        lo, hi = float(np.min(values)), float(np.max(values))
        cmap = pg.colormap.get("CET-C6" if "direction" in label or "angle" in label else "viridis")
        norm = (values - lo) / max(hi - lo, 1e-9)
        brushes = [pg.mkBrush(c) for c in cmap.map(norm, mode="qcolor")]
        self.code_scatter.setData(pos=xy, brush=brushes, data=np.arange(len(xy)))
        self.colour_bar.setColorMap(cmap)
        self.colour_bar.setLevels((lo, hi))
        self.colour_bar.axis.setLabel(label)
        self.code_plot.setTitle(
            f"{payload['method']} of the mapping units of {len(xy)} pairs "
            f"({payload['source']}), coloured by {label}",
            color="k",
            size="9pt",
        )
        self.layout_note.setText(payload.get("note", ""))
        self.code_plot.enableAutoRange()

    # ---- app hooks ------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.runner.is_running()

    def prepare_snapshot(self) -> None:
        if self.model is not None:
            data = self._dataset()
            if data is not None and data.partners is not None:
                self.set_pair(0)  # the data set's own pair
            elif "rot" in str(getattr(self.model, "trained_on", "")):
                self.set_pair(0, "rotation", angle=45.0)
            else:
                self.set_pair(0, "shift", dx=2, dy=-1)
            self.set_apply_start(1)
            self.tabs.setCurrentIndex(1)

    def closeEvent(self, event) -> None:
        self.runner.shutdown()
        super().closeEvent(event)
