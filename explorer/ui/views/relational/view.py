"""The relational view: the pair form, the mapping units it gives, the analogy panel and the
code tabs, kept in step with the workspace's data and gated autoencoders."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.errors import ExplorerError
from explorer.ui.context import AppContext
from explorer.ui.plots import PlotWidget
from explorer.ui.views.relational.analogy_panel import N_APPLY, AnalogyPanel
from explorer.ui.views.relational.data_fit import DataFit
from explorer.ui.views.relational.mapping_codes import CodeTabs
from explorer.ui.views.relational.pair_form import NEXT, PairForm
from explorer.ui.views.relational.slots import default_model_path, default_models, find_relational_models

N_SCORE = 300  # analogies of the open data behind the panel's data-wide line
Z_PLOT_MAX = 210  # px: the mapping units plot beside the example pair
TABS_MIN = 220  # px: the filter and mapping-code tabs at the bottom


def unit_ticks(n: int, most: int = 16) -> list[tuple[int, str]]:
    """Ticks under ``n`` bars, one per unit: whole numbers only (pyqtgraph's own spacing put
    -0.5, 0.5, 1.5 under 2 bars), every 1, 2, 5, 10, 20, ... units so at most ``most`` show."""
    step = 1
    while n > step * most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50, ...
    return [(i, str(i)) for i in range(0, max(n, 1), step)]


class View(DataFit, QWidget):
    analogy_changed = Signal()  # the shown z / ŷ' were recomputed

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = None
        self.model_name = ""
        self._models: dict[str, object] = {}
        self._picked = ""  # the model the user chose in the box: kept when the data change
        self._pool: np.ndarray | None = None  # generated images when the data has none
        self._init_fit()
        self._score_tag = None
        self.z: np.ndarray | None = None
        self.x2: np.ndarray | None = None
        self.prediction: np.ndarray | None = None  # ŷ' as shown (before clipping for display)
        self.truth: np.ndarray | None = None
        self.score: dict | None = None  # the data-wide figures shown
        # the workspace's changes set the model at once and show it over the next event-loop turns
        # (:meth:`_schedule_render`): shown in one handler, a new data set's source, analogy and
        # code tabs held the GUI thread 100-230 ms at start-up
        self._render_step = len(self._RENDER_STEPS)  # next step to run; all done
        self._render_pending = False
        self._render_paused = False  # a render waits for the view to be shown (_render_turn)
        self._render_filters = False
        self._build()
        ctx.qws.models_changed.connect(self._on_workspace_models_changed)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        self._on_models_changed()

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        self.model_box = QComboBox()
        self.model_box.setMinimumWidth(220)
        self.model_box.currentTextChanged.connect(self._on_model_chosen)
        self.model_box.activated.connect(lambda _i: setattr(self, "_picked", self.model_box.currentText()))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top.addWidget(QLabel("Gated autoencoder:"))
        top.addWidget(self.model_box)
        top.addWidget(self.status, 1)
        self.form = PairForm(self)
        self.form.changed.connect(self.update_analogy)
        self.z_plot = PlotWidget(background="w")
        self.z_plot.setTitle("Mapping units z = what takes x to y", color="k")
        self.z_plot.setLabel("left", "activation")
        self.z_plot.setLabel("bottom", "mapping unit")
        self.z_plot.setYRange(0, 1, padding=0.02)
        self.z_plot.setMouseEnabled(x=True, y=False)
        self.z_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f77d0", pen=None)
        self.z_plot.addItem(self.z_bars)
        self.z_plot.setMinimumHeight(170)
        # as tall as the pair beside it, no taller: the analogy rows under them are what the view
        # is for, and at 1280x800 they were pushed below the fold by a 330-pixel plot of 2 bars
        self.z_plot.setMaximumHeight(Z_PLOT_MAX)
        self.panel = AnalogyPanel()
        self.panel.items_changed.connect(self.update_analogy)
        self.panel.third_dropped.connect(self.drop_third)
        self.tabs = CodeTabs()
        self.tabs.setMinimumHeight(TABS_MIN)
        root = QVBoxLayout(self)
        root.addLayout(top)
        upper = QHBoxLayout()
        upper.addWidget(self.form)
        upper.addWidget(self.z_plot, 1)
        root.addLayout(upper)
        root.addWidget(self.panel)
        root.addWidget(self.tabs, 1)
        # the parts' widgets under the names the view always had (tests and scripts use them)
        f, p = self.form, self.panel
        self.x_index, self.y_mode, self.y_index, self.kind = f.x_index, f.y_mode, f.y_index, f.kind
        self.dx, self.dy, self.angle, self.factor = f.dx, f.dy, f.angle, f.factor
        self.pair_note, self.x_slot, self.y_slot = f.note, f.x_slot, f.y_slot
        self.x2_start, self.nmse_label = p.start, p.nmse_label
        self.x2_slots, self.pred_slots, self.true_slots = p.x2_slots, p.pred_slots, p.true_slots
        self.runner = self.tabs.runner

    # the dropped images live in the form
    _x_file = property(lambda self: self.form.x_file, lambda self, v: setattr(self.form, "x_file", v))
    _y_file = property(lambda self: self.form.y_file, lambda self, v: setattr(self.form, "y_file", v))

    # ---- models ---------------------------------------------------------------------------
    def _on_workspace_models_changed(self) -> None:
        self._on_models_changed(render=False)

    def _on_models_changed(self, render: bool = True) -> None:
        self._models = find_relational_models(self.ctx.workspace.models)
        names = list(self._models)
        data = self.ctx.workspace.dataset
        self._defaults = default_models(data.shape if data is not None and data.has_images else None)
        if not names:
            names = list(self._defaults)  # the shipped model for the open data's images first
        current = self.model_box.currentText()
        shape = data.shape if data is not None and data.has_images else None
        fitting = [n for n in names if n in self._models and tuple(self._models[n].input_shape) == shape]
        if self._picked in names:
            current = self._picked  # the user's choice stays
        elif fitting and current not in fitting:
            current = fitting[0]  # a loaded model made for the open data's images (gae on shifts)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(names)
        if current in names and not current.startswith("default"):  # a shipped one: the fitting one
            self.model_box.setCurrentText(current)
        self.model_box.blockSignals(False)
        if not names:
            self.status.setText(
                "No gated autoencoder loaded: train one with "
                "`explorer train --model gae --data sample:shifts`."
            )
            return
        self._on_model_chosen(self.model_box.currentText(), render)

    def _on_model_chosen(self, name: str, render: bool = True) -> None:
        if not name or (name == self.model_name and self.model is not None):
            return
        if name in self._models:
            model = self._models[name]
        elif name.startswith("default"):
            try:
                from explorer.relational.engine import load_relational_model

                model = load_relational_model(self._defaults.get(name, default_model_path()))
            except ExplorerError as err:
                self.ctx.show_error(str(err))
                return
        else:
            return
        self.set_model(model, name, render)

    def set_model(self, model, name: str = "gae", render: bool = True) -> None:
        """Use ``model`` (a gated autoencoder) in every panel: shown now, or with ``render=False``
        over the next event-loop turns (``self.model`` is set at once either way)."""
        under_way = self._fit_runner_tag if self._fit_runner.is_running() else None
        if under_way is not None and under_way[1] != tuple(model.input_shape):
            self._fit_runner.cancel()  # a fit for another shape (the start's shipped model)
        self.model = model
        self.model_name = name
        self.model_box.blockSignals(True)
        if self.model_box.findText(name) < 0:
            self.model_box.addItem(name)
        self.model_box.setCurrentText(name)
        self.model_box.blockSignals(False)
        self._pool = None
        if not render:
            self._schedule_render(filters=True)
            return
        self._render_step = len(self._RENDER_STEPS)  # (a pending render has nothing left to do)
        self._render_filters = True
        self._refresh_source()
        self.update_analogy()
        self._show_tabs()

    def _on_dataset_changed(self) -> None:
        self._fit = self._fit_failed = None
        self._fit_runner.cancel()
        self._on_models_changed(render=False)  # the model made for the new data's images
        self._pool = None
        self._schedule_render(filters=False)

    # ---- showing a new model or data set over event-loop turns ------------------------------
    _RENDER_STEPS = ("_refresh_source", "update_analogy", "_show_tabs")

    def _schedule_render(self, filters: bool) -> None:
        """Show the model and data from the first step on, one step per event-loop turn (each
        10-80 ms of GUI-thread CPU); ``filters``: the code tabs show the model's filters again."""
        self._render_filters = self._render_filters or filters
        self._render_step = 0
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(0, self, self._render_turn)

    def _render_turn(self) -> None:
        step = self._render_step
        if self.model is None or step >= len(self._RENDER_STEPS):
            self._render_pending = False
            return
        if not self.isVisible() and self.window().isVisible():
            # another tab is in front: the rest (the analogy's conv passes, 50 ms of GUI-thread CPU
            # at start-up, when the data set opens behind the scatter) waits until this view shows
            self._render_pending = False
            self._render_paused = True
            return
        self._render_step = step + 1
        getattr(self, self._RENDER_STEPS[step])()
        if self._render_step < len(self._RENDER_STEPS):
            QTimer.singleShot(0, self, self._render_turn)
        else:
            self._render_pending = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._render_paused:
            self._render_paused = False
            if not self._render_pending:
                self._render_pending = True
                QTimer.singleShot(0, self, self._render_turn)

    def _show_tabs(self) -> None:
        if self._fit_runner.is_running():
            return  # the data at the model's size comes next (_on_fitted), not generated pairs
        filters, self._render_filters = self._render_filters, False
        self.tabs.show_model(self.model, self.dataset(), filters=filters)

    # ---- where the images come from (the form's host) -------------------------------------
    def _images(self) -> np.ndarray:
        """The images x and x' are chosen from: the data set, or generated random dots."""
        data = self.dataset()
        if data is not None:
            return data.images
        if self._pool is None:
            from explorer.data.generators import random_dots

            c, h, w = self.model.input_shape
            dots = random_dots(200, max(h, w), np.random.default_rng(0))[:, :h, :w]
            self._pool = np.repeat(dots[:, None], c, axis=1).astype(np.float32)
        return self._pool

    def count(self) -> int:
        return len(self._images())

    def image(self, i: int) -> np.ndarray:
        from explorer.core.imageset import to_float

        imgs = self._images()
        return to_float(imgs[int(i) % len(imgs)])

    def read_file(self, path: str) -> np.ndarray | None:
        """A dropped file as an image of the model's shape (resized, and said so), or None."""
        from explorer.relational.imageio import read_image

        if self.model is None:
            return None
        try:
            image, original = read_image(path, tuple(self.model.input_shape))
        except ExplorerError as err:
            self.ctx.show_error(str(err))
            return None
        if original is not None:
            c, h, w = self.model.input_shape
            self.ctx.show_status(
                f"{os.path.basename(path)} is {original[0]}x{original[1]}; resized to the model's {w}x{h}."
            )
        return image

    def _refresh_source(self) -> None:
        if self.model is None:
            return
        fitting = self._start_fit()
        data = self.dataset()
        n = self.count()
        self.form.refresh(n)
        self.panel.set_count(n)
        if self.x2_start.value() == self.x_index.value() and n > 1:
            self.x2_start.blockSignals(True)
            self.x2_start.setValue((self.x_index.value() + 1) % n)  # x' other than x
            self.x2_start.blockSignals(False)
        open_data = self.ctx.workspace.dataset
        if data is not None:
            fit = self._fit[3] if self._fit is not None and data is self._fit[2] else ""
            src = f"{data.name or 'data set'} ({n} items{': ' + fit if fit else ''})"
        elif fitting:
            src = (
                f"generated random dots until {open_data.name or 'the data set'} is brought to the "
                f"model's {list(self.model.input_shape)}…"
            )
        elif self.fit_failed():
            src = "generated random dots (the open images could not be brought to the model's size)"
        else:
            src = "generated random dots (the open data set holds no images)"
        units = (
            f"{self.model.config.hidden} basis images of change (z = their fitted weights)"
            if hasattr(self.model, "basis_pairs")
            else f"{self.model.code_dim} factors, {self.model.config.hidden} mapping units"
        )
        self.status.setText(
            f"{self.model_name}: {list(self.model.input_shape)} input, {units}"
            f"{', predicts the change' if getattr(self.model.config, 'residual', False) else ''}; "
            f"images from {src}"
        )

    # ---- the form's API, kept on the view -------------------------------------------------
    def transformation(self):
        return self.form.transformation()

    def current_pair(self) -> tuple[np.ndarray, np.ndarray]:
        return self.form.pair()

    def set_pair(self, x_index: int, kind: str | None = None, **params) -> None:
        self.form.set_pair(x_index, kind, **params)

    def set_y_item(self, mode: str, index: int | None = None) -> None:
        self.form.set_y_item(mode, index)

    def next_frame(self, i: int) -> int:
        return self.form.next_frame(i)

    def _on_file(self, which: str, path: str) -> None:
        self.form.drop_file(which, path)

    def set_apply_start(self, index: int) -> None:
        self.panel.items_edit.clear()
        if self.x2_start.value() == int(index):
            self.update_analogy()
        else:
            self.x2_start.setValue(int(index))  # updates the analogy

    def set_apply_items(self, items: list[int]) -> None:
        """x' = these items (any of the data set; at most N_APPLY)."""
        self.panel.items_edit.setText(", ".join(str(int(i)) for i in items[:N_APPLY]))
        self.update_analogy()

    def drop_third(self, path: str) -> None:
        """A single third image: apply the inferred transformation to it."""
        image = self.read_file(path)
        if image is not None:
            self.panel.third = image
            self.update_analogy()

    # ---- compute and show -----------------------------------------------------------------
    def _truth(self, items: list[int]) -> tuple[np.ndarray | None, str]:
        """The true y' of the x' items, and what it is: the known transformation applied to
        them, or (y = the next frame) the next frame of each x' in its sequence."""
        from explorer.relational.transforms import transform_images

        known = self.form.transformation()
        if known is not None:
            return transform_images(self.x2, *known), f"y' = x' under the {known[0]}"
        dropped = self.form.x_file is not None or self.form.y_file is not None
        if self.y_mode.currentText() == NEXT and not dropped and self.dataset() is not None:
            nxt = [self.form.next_frame(i) for i in items]
            if all(j != i for i, j in zip(items, nxt)):
                return np.stack([self.image(j) for j in nxt]), "y' = the next frame of each x'"
        return None, ""

    def update_analogy(self) -> None:
        """Infer z from the example pair, apply it to the row of x', and show it all."""
        from explorer.relational.engine import apply_mappings, infer_mappings

        if self.model is None:
            return
        x, y = self.form.pair()
        self.form.show(x, y)
        self.z = infer_mappings(self.model, x[None], y[None])[0]
        self.z_bars.setOpts(x=np.arange(len(self.z)), height=self.z, width=0.8)
        self.z_plot.setXRange(-1, len(self.z), padding=0)
        self.z_plot.getAxis("bottom").setTicks([unit_ticks(len(self.z))])
        fitted = hasattr(self.model, "basis_pairs")  # bgae: least-squares weights, not sigmoid units
        self.z_plot.setLabel("left", "fitted weight" if fitted else "activation")
        lo, hi = min(0.0, float(self.z.min(initial=0.0))), max(1.0, float(self.z.max(initial=1.0)))
        self.z_plot.setYRange(lo, hi, padding=0.02)  # sigmoid units in [0, 1]; fitted weights (bgae) any
        items = self.panel.items(self.count())
        self.x2 = np.stack([self.image(i) for i in items])
        self.prediction = apply_mappings(self.model, self.z, self.x2)
        self.truth, note = self._truth(items)
        self.panel.show(self.x2, self.prediction, self.truth, note)
        third = self.panel.third
        self.panel.show_third(
            third, None if third is None else apply_mappings(self.model, self.z, third[None])[0]
        )
        self._update_score()
        self.analogy_changed.emit()

    def _update_score(self) -> None:
        """Model, copy and mean on many analogies of the open data (when it has them); cheap,
        made again only when the model or the data change."""
        data = self.dataset()
        tag = (id(self.model), id(data))
        if tag == self._score_tag:
            return
        self._score_tag = tag
        self.score = None
        # pairs with known transforms, or a folder of sequences: what gives true analogies (a
        # folder of classes does not: its next file is another photo)
        if data is not None and data.partners is None:
            from explorer.data.pairs import looks_like_sequences

            data = data if looks_like_sequences(data) else None
        if data is not None:
            from explorer.data.pairs import quadruple_images
            from explorer.relational.engine import analogy, nmse

            try:
                quads = quadruple_images(data, N_SCORE, np.random.default_rng(0))
            except ExplorerError:
                quads = None
            if quads is not None and len(quads[0]):
                qx, qy, qx2, qy2 = quads
                self.score = {
                    "nmse": nmse(analogy(self.model, qx, qy, qx2), qy2),
                    "nmse_copy": nmse(qx2, qy2),
                    "nmse_mean": nmse(np.full_like(qy2, qy2.mean()), qy2),
                    "count": int(len(qx)),
                    "source": data.name or "the data set",
                }
        self.panel.show_score(self.score)

    # ---- app hooks ------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.runner.is_running() or self._render_pending or self._fit_runner.is_running()

    def prepare_snapshot(self) -> None:
        if self.model is None:
            return
        if self._needs_fit() is not None:
            self.fit_now()
            self.set_model(self.model, self.model_name)
        data = self.dataset()
        if data is not None and data.partners is not None:
            self.set_pair(0)  # the data set's own pair
            self.set_apply_start(1)
        elif data is not None and self.y_mode.currentText() == NEXT:  # a folder of sequences
            from explorer.data.pairs import sequence_order

            # x' are later views of x's own object, as in `explorer evaluate analogy` (a turn's
            # speed differs between objects, so z of one object would misstate another's next view)
            seq = sequence_order(data)[0]
            self.x_index.setValue(int(seq[0]))
            self.set_y_item(NEXT)
            step = max(1, (len(seq) - 2) // N_APPLY)
            self.set_apply_items([int(i) for i in seq[1 : len(seq) - 1 : step][:N_APPLY]])
        elif "rot" in str(getattr(self.model, "trained_on", "")):
            self.set_pair(0, "rotation", angle=45.0)
            self.set_apply_start(1)
        else:
            self.set_pair(0, "shift", dx=2, dy=-1)
            self.set_apply_start(1)
        self.tabs.setCurrentIndex(1)

    def shutdown(self) -> None:
        """Stop the view's workers (the main window calls this when it closes: a view in a tab
        gets no closeEvent of its own then)."""
        self.runner.shutdown()
        self._fit_runner.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
