"""Scatter: PCA / t-SNE / UMAP layouts of a model's codes, forming live, linked to every view.

The view reads ``workspace.codes[model]`` and lays it out in a worker (``TaskRunner``); partial
layouts are drawn as they arrive and the finished one goes to ``workspace.set_layout``. Jobs are
tagged with the parameters that made them, so a late result for old parameters is dropped.
Points are coloured by class (the legend toggles classes) or by faithfulness; hover shows the
item's thumbnail, a click makes it the query, box and lasso set the workspace selection, which is
highlighted wherever it came from. "Compare" shows a second model's layout beside the first, with
the same (linked) selection. During training the view follows the run's probe frames: each new
frame is aligned with the one before (Procrustes for PCA, a warm start for t-SNE) so the points
glide, and a slider scrubs back through the run.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.atomic import atomic_write, atomic_write_bytes
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.scatter_plot import ScatterPanel, class_palette, ramp_palette
from explorer.ui.scatter_render import PointIndex
from explorer.ui.workers import TaskRunner

TITLE = "Scatter"
AREA = "center"
ORDER = 10

METHODS = [("PCA", "pca"), ("t-SNE", "tsne"), ("UMAP", "umap")]
THUMB = 72
GREY = (150, 150, 150, 255)
DIM_ALPHA = 70
GLIDE_FRAMES = 8  # a new live frame moves the points there in 8 steps of 30 ms
_warm_started = False


def warm_up_umap_in_background() -> None:
    """Compile (or load from the disk cache) UMAP's numba code in a daemon thread, once per process,
    so the first UMAP layout starts at once. Set EXPLORER_UMAP_WARMUP=0 to skip (tests do)."""
    global _warm_started
    if _warm_started or os.environ.get("EXPLORER_UMAP_WARMUP", "1") == "0":
        return
    _warm_started = True

    def run() -> None:
        try:
            from explorer.projection.umap_layout import warm_up

            warm_up()
        except Exception:  # a failed warm-up only means the first UMAP compiles on demand
            pass

    threading.Thread(target=run, name="umap-warm-up", daemon=True).start()


def layout_job(codes: np.ndarray, method: str, seed: int, params: dict, previous=None, live: bool = False):
    """Worker job: the layout (partials as Progress payloads), then its faithfulness.
    Returns (layout (N, 2), faithfulness mean, per-point (N,), its PointIndex)."""
    from explorer.projection import faithfulness, live_frame_job, project_job

    if live:
        layout = yield from live_frame_job(codes, method, previous=previous, seed=seed, **params)
    else:
        layout = yield from project_job(codes, method, seed=seed, **params)
    yield Progress(step=1, total=1, message="measuring faithfulness")
    mean, per_point = faithfulness(codes, layout)
    index = PointIndex(layout)  # built here, not on the GUI thread (about 1 s per million points)
    return layout, mean, per_point, index


class _Side:
    """What one plot panel shows: its model, the rows it draws and the job that makes them."""

    def __init__(self, panel: ScatterPanel, runner: TaskRunner) -> None:
        self.panel = panel
        self.runner = runner
        self.model: str | None = None
        self.items: np.ndarray | None = None  # data set index of each row (None: row i is item i)
        self.layout: np.ndarray | None = None
        self.faith: tuple[float, np.ndarray] | None = None
        self.tag = None
        self.shown_tag = None  # the tag of the layout on screen (partial or final)
        self.follow = True  # keep the whole layout in view while it forms
        self.glide_timer = QTimer()
        self.glide_timer.setInterval(30)
        self.glide_from: np.ndarray | None = None
        self.glide_step = 0

    def rows_of(self, indices: np.ndarray) -> np.ndarray:
        """Rows of this panel showing data set items ``indices``."""
        if self.items is None:
            n = 0 if self.layout is None else len(self.layout)
            return indices[(indices >= 0) & (indices < n)]
        return np.flatnonzero(np.isin(self.items, indices))

    def item_of(self, row: int) -> int:
        return int(row if self.items is None else self.items[row])


class View(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ws = ctx.workspace
        self._cache: dict = {}  # tag -> (layout, faith mean, per point)
        self._codes_version: dict[str, int] = {}
        self._hidden: set[int] = set()
        self._live_prev: np.ndarray | None = None
        self.job_overrides: dict = {}  # extra projection parameters (tests use shorter t-SNE runs)
        self._build()
        q = ctx.qws
        q.dataset_changed.connect(self._on_dataset_changed)
        q.models_changed.connect(self._on_models_changed)
        q.codes_changed.connect(self._on_codes_changed)
        q.selection_changed.connect(self._on_selection_changed)
        q.query_changed.connect(self._on_query_changed)
        q.probe_changed.connect(self._on_probe_changed)
        self._on_dataset_changed()
        # a few seconds after start-up, so the warm-up does not compete with opening the app
        QTimer.singleShot(3000, warm_up_umap_in_background)

    # ---- construction -------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Whose codes to lay out")
        # model names like "siamese (mnist[0:2500])" must stay readable
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.setMinimumContentsLength(14)
        self.method_combo = QComboBox()
        for label, key in METHODS:
            self.method_combo.addItem(label, key)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 99999)
        self.seed_spin.setPrefix("seed ")
        self.perplexity_spin = QDoubleSpinBox()
        self.perplexity_spin.setRange(2, 200)
        self.perplexity_spin.setValue(30)
        self.perplexity_spin.setPrefix("perplexity ")
        self.neighbours_spin = QSpinBox()
        self.neighbours_spin.setRange(2, 200)
        self.neighbours_spin.setValue(15)
        self.neighbours_spin.setPrefix("neighbours ")
        self.compare_check = QCheckBox("Compare with")
        self.compare_combo = QComboBox()
        self.compare_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compare_combo.setMinimumContentsLength(14)
        self.compare_combo.setEnabled(False)
        self.faith_label = QLabel("10-NN kept: –")
        self.faith_label.setMinimumWidth(self.faith_label.fontMetrics().horizontalAdvance("10-NN kept: 0.00 | 0.00") + 8)
        self.faith_label.setToolTip(
            "Faithfulness: the share of each point's 10 nearest neighbours in code space that are also\n"
            "its 10 nearest in the plot (1 = neighbourhoods kept exactly)."
        )
        top = QHBoxLayout()
        for w in (QLabel("Model"), self.model_combo, self.method_combo, self.seed_spin,
                  self.perplexity_spin, self.neighbours_spin, self.compare_check, self.compare_combo):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.faith_label)

        self.mode_buttons = {}
        tools = QHBoxLayout()
        for mode, text, tip in (("pan", "Pan", "Drag to pan, wheel to zoom"),
                                ("box", "Box", "Drag a rectangle to select"),
                                ("lasso", "Lasso", "Draw around points to select")):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.mode_buttons[mode] = b
            tools.addWidget(b)
        self.mode_buttons["pan"].setChecked(True)
        self.reset_button = QPushButton("Reset view")
        self.reset_button.clicked.connect(self.reset_view)
        self.clear_button = QPushButton("Clear selection")
        self.clear_button.clicked.connect(lambda: self.ws.set_selection([]))
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Find class…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(110)
        self.search_edit.setMaximumWidth(160)
        self.colour_combo = QComboBox()
        self.colour_combo.addItems(["Colour: class", "Colour: faithfulness"])
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Plot as PNG…", lambda: self._export_dialog("png"))
        menu.addAction("Plot as SVG…", lambda: self._export_dialog("svg"))
        menu.addAction("Layout as CSV…", lambda: self._export_dialog("csv"))
        menu.addAction("Layout as .npy…", lambda: self._export_dialog("npy"))
        menu.addAction("Codes as projector TSV…", lambda: self._export_dialog("tsv"))
        self.export_button.setMenu(menu)
        self.live_check = QCheckBox("Follow training")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Show the probe items of the current training run, frame by frame")
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_slider.setMinimumWidth(120)
        self.frame_label = QLabel("")
        for w in (self.reset_button, self.clear_button, self.search_edit, self.colour_combo,
                  self.export_button):
            tools.addWidget(w)
        tools.addStretch(1)
        for w in (self.live_check, self.frame_slider, self.frame_label):
            tools.addWidget(w)

        self.sides = []
        splitter = self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for _ in range(2):
            panel = ScatterPanel()
            runner = TaskRunner(self)
            side = _Side(panel, runner)
            panel.describe = lambda row, s=side: self._describe(s, row)
            side.glide_timer.setParent(self)
            side.glide_timer.timeout.connect(lambda s=side: self._glide_frame(s))
            panel.lasso_done.connect(lambda poly, s=side: self.lasso_finished(poly, side=s))
            panel.rect_done.connect(lambda *r, s=side: self.box_finished(*r, side=s))
            panel.clicked.connect(lambda row, s=side: self.ws.set_query(s.item_of(row)))
            panel.user_moved_view.connect(lambda s=side: setattr(s, "follow", False))
            runner.partial.connect(lambda tag, rec, s=side: self._on_partial(s, tag, rec))
            runner.done.connect(lambda tag, res, s=side: self._on_done(s, tag, res))
            runner.failed.connect(lambda tag, msg, s=side: self._on_failed(s, tag, msg))
            splitter.addWidget(panel)
            self.sides.append(side)
        self.sides[1].panel.hide()
        self.legend = QListWidget()
        self.legend.setMaximumWidth(120)
        self.legend.setToolTip("Click a class to hide or show it")
        self.legend.itemChanged.connect(self._on_legend_changed)
        self.legend.itemClicked.connect(self._on_legend_clicked)
        body = QHBoxLayout()
        body.addWidget(splitter, 1)
        body.addWidget(self.legend)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(tools)
        lay.addLayout(body, 1)

        self.model_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        # until the user picks a model here, follow the app's current model once its codes arrive
        self._model_picked = False
        self.model_combo.activated.connect(lambda *_: setattr(self, "_model_picked", True))
        self.method_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        self.seed_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.perplexity_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.neighbours_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.compare_check.toggled.connect(self._on_compare_toggled)
        self.compare_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        self.search_edit.textChanged.connect(lambda *_: self._redraw())
        self.colour_combo.currentIndexChanged.connect(lambda *_: (self._redraw(), self._show_faith()))
        self.live_check.toggled.connect(lambda *_: self._params_changed())
        self.frame_slider.valueChanged.connect(lambda *_: self._params_changed())
        self._update_param_widgets()

    # ---- public surface (tests, other views) ---------------------------------------------
    @property
    def panel(self) -> ScatterPanel:
        return self.sides[0].panel

    def method(self) -> str:
        return self.method_combo.currentData()

    def params(self) -> dict:
        m = self.method()
        if m == "tsne":
            return {"perplexity": float(self.perplexity_spin.value())}
        if m == "umap":
            return {"n_neighbors": int(self.neighbours_spin.value())}
        return {}

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex([k for _, k in METHODS].index(method))

    def set_mode(self, mode: str) -> None:
        for m, b in self.mode_buttons.items():
            b.setChecked(m == mode)
        for side in self.sides:
            side.panel.set_mode(mode)

    def reset_view(self) -> None:
        for side in self.sides:
            side.follow = True
            side.panel.reset_view()

    def busy(self) -> bool:
        return any(s.runner.is_running() for s in self.sides)

    def lasso_finished(self, polygon: np.ndarray, side: _Side | None = None) -> None:
        """Select the items inside ``polygon`` (M, 2), in data coordinates of ``side``'s plot."""
        side = side or self.sides[0]
        if side.layout is None:
            return
        rows = side.panel.index().in_polygon(polygon, self._allowed(side))
        self.ws.set_selection(self._items(side, rows))

    def box_finished(self, x0: float, y0: float, x1: float, y1: float, side: _Side | None = None) -> None:
        side = side or self.sides[0]
        if side.layout is None:
            return
        rows = side.panel.index().in_rect(x0, y0, x1, y1, self._allowed(side))
        self.ws.set_selection(self._items(side, rows))

    # ---- workspace events ---------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        self._cache.clear()
        self._hidden.clear()
        self._live_prev = None
        self._fill_legend()
        self._fill_models()
        self._update_live_controls()
        self._params_changed()

    def _on_models_changed(self) -> None:
        if self._fill_models():
            self._params_changed()

    def _on_codes_changed(self, model: str) -> None:
        self._codes_version[model] = self._codes_version.get(model, 0) + 1
        switched = self._fill_models()
        if switched or model in (self.sides[0].model, self.sides[1].model) or self.sides[0].model is None:
            self._params_changed()

    def _on_selection_changed(self) -> None:
        self._redraw()

    def _on_query_changed(self) -> None:
        for side in self.sides:
            q = self.ws.query_index
            rows = side.rows_of(np.array([q])) if q is not None and side.layout is not None else []
            side.panel.set_marker(int(rows[0]) if len(rows) else None)

    def _on_probe_changed(self, run: str) -> None:
        self._live_run = run
        at_end = self.frame_slider.value() >= self.frame_slider.maximum()
        self._update_live_controls()
        if self.live_check.isChecked():
            if at_end:
                self.frame_slider.blockSignals(True)
                self.frame_slider.setValue(self.frame_slider.maximum())
                self.frame_slider.blockSignals(False)
            self._params_changed()

    # ---- models and parameters ----------------------------------------------------------
    def _fill_models(self) -> bool:
        """Refill the model boxes; True when the chosen models changed (the plot must follow)."""
        before = (self.model_combo.currentText(), self.compare_combo.currentText())
        names = list(self.ws.codes)
        for combo, prefer in ((self.model_combo, self.ws.current_model), (self.compare_combo, None)):
            current = combo.currentText() or prefer
            if combo is self.model_combo and not self._model_picked and prefer in names:
                current = prefer
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentText(current)
            elif prefer in names:
                combo.setCurrentText(prefer)
            if combo is self.compare_combo and combo.currentText() == self.model_combo.currentText() and len(names) > 1:
                combo.setCurrentIndex(1 if combo.currentIndex() == 0 else 0)
            combo.blockSignals(False)
        return (self.model_combo.currentText(), self.compare_combo.currentText()) != before

    def _update_param_widgets(self) -> None:
        m = self.method()
        self.perplexity_spin.setVisible(m == "tsne")
        self.neighbours_spin.setVisible(m == "umap")
        self.seed_spin.setVisible(m != "pca")

    def _on_compare_toggled(self, on: bool) -> None:
        self.compare_combo.setEnabled(on)
        self.sides[1].panel.setVisible(on)
        self._params_changed()

    def _live_source(self):
        """(run, frame number, indices, step, codes) of the probe frame to show, or None."""
        run = getattr(self, "_live_run", None)
        if not self.live_check.isChecked() or run is None or run not in self.ws.probes:
            return None
        indices, frames = self.ws.probes[run]
        if not frames:
            return None
        i = min(self.frame_slider.value(), len(frames) - 1)
        step, codes = frames[i]
        return run, i, indices, step, codes

    def _update_live_controls(self) -> None:
        run = getattr(self, "_live_run", None)
        frames = self.ws.probes.get(run, (None, []))[1] if run else []
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, max(0, len(frames) - 1))
        self.frame_slider.blockSignals(False)
        self.frame_slider.setEnabled(len(frames) > 1 and self.live_check.isChecked())
        self.live_check.setVisible(bool(frames))
        self.frame_slider.setVisible(bool(frames))
        self.frame_label.setVisible(bool(frames))
        if frames:
            i = min(self.frame_slider.value(), len(frames) - 1)
            self.frame_label.setText(f"{run}: step {frames[i][0]} ({i + 1}/{len(frames)})")

    def _params_changed(self) -> None:
        """Start (or reuse) the layout each visible panel should show; cancels stale jobs."""
        self._update_param_widgets()
        self._update_live_controls()
        method, seed, params = self.method(), int(self.seed_spin.value()), self.params()
        live = self._live_source()
        for k, side in enumerate(self.sides):
            if k == 1 and (not self.compare_check.isChecked() or live is not None):
                side.runner.cancel()
                side.panel.setVisible(False)
                continue
            side.panel.setVisible(True)
            if live is not None:
                run, i, indices, step, codes = live
                tag = ("live", run, i, len(codes), method, seed, tuple(sorted(params.items())))
                side.model, side.items = None, np.asarray(indices)
                title = f"{run} · step {step} · {dict(METHODS_KEYS)[method]}"
                self._start(side, tag, codes, method, seed, params, title, live=True)
                continue
            model = (self.model_combo if k == 0 else self.compare_combo).currentText() or None
            side.model, side.items = model, None
            if model is None or model not in self.ws.codes:
                side.runner.cancel()
                side.tag, side.layout, side.faith = None, None, None
                side.panel.title.setText("")
                side.panel.cloud.set_points(np.zeros((0, 2)), np.zeros(0, int), np.zeros((1, 4), np.uint8))
                side.panel.show_message("No codes yet: open a data set and load a model")
                continue
            codes = self.ws.codes[model]
            tag = (model, self._codes_version.get(model, 0), len(codes), method, seed,
                   tuple(sorted(params.items())))
            self._start(side, tag, codes, method, seed, params, f"{model} · {dict(METHODS_KEYS)[method]}")
        self._show_faith()

    def _start(self, side: _Side, tag, codes, method, seed, params, title: str, live: bool = False) -> None:
        side.panel.title.setText(title)
        name = dict(METHODS_KEYS)[method]
        side.panel.set_axis_names(f"{name} 1", f"{name} 2")
        if tag == side.tag and (side.runner.is_running() or tag in self._cache):
            return
        side.tag = tag
        if tag in self._cache:
            side.runner.cancel()
            layout, mean, per_point, index = self._cache[tag]
            self._show_layout(side, layout, (mean, per_point))
            side.shown_tag = tag
            side.panel.set_index(index)
            side.panel.status.setText("")
            return
        side.follow = True
        previous = None
        if live:  # continue from what is on screen (even a partial layout of a cancelled frame)
            same_run = side.shown_tag is not None and side.shown_tag[:2] == tag[:2]
            shown = side.layout if same_run else None
            previous = shown if shown is not None and len(shown) == len(codes) else None
        job_params = {**params, **self.job_overrides}
        side.runner.start(lambda: layout_job(codes, method, seed, job_params, previous, live), tag=tag)
        side.panel.status.setText("working…")

    # ---- job results --------------------------------------------------------------------
    def _on_partial(self, side: _Side, tag, rec: Progress) -> None:
        if tag != side.tag:
            return  # a late record for old parameters
        frac = f" {100 * rec.fraction:.0f}%" if rec.total else ""
        side.panel.status.setText(f"{rec.message}{frac}")
        if rec.payload is not None:
            glide = tag[0] == "live" and side.shown_tag is not None and side.shown_tag[:2] == tag[:2]
            self._show_layout(side, np.asarray(rec.payload), None, glide=glide and rec.step <= 1)
            side.shown_tag = tag

    def _on_done(self, side: _Side, tag, result) -> None:
        if tag != side.tag:
            return
        layout, mean, per_point, index = result
        self._cache[tag] = (layout, mean, per_point, index)
        side.panel.status.setText("")
        if side.glide_timer.isActive() and side.layout is not None and np.array_equal(side.layout, layout):
            side.faith = (mean, per_point)  # the glide under way already ends at this layout
            self._show_faith()
        else:
            glide = tag[0] == "live" and side.shown_tag is not None and side.shown_tag[:2] == tag[:2] \
                and side.shown_tag != tag
            self._show_layout(side, layout, (mean, per_point), glide=glide)
        side.shown_tag = tag
        side.panel.set_index(index)
        if tag[0] == "live":
            self._live_prev = layout
        elif side.model is not None:
            self.ws.set_layout(side.model, self.method(), layout)

    def _on_failed(self, side: _Side, tag, message: str) -> None:
        if tag == side.tag:
            side.panel.status.setText("failed")
            self.ctx.show_error(message)

    def _show_layout(self, side: _Side, layout: np.ndarray, faith, glide: bool = False) -> None:
        """Show ``layout``; with ``glide``, points move to it from where they are in a few frames."""
        before = side.layout
        side.layout = np.asarray(layout, dtype=np.float32)
        side.faith = faith
        side.glide_timer.stop()
        if glide and before is not None and before.shape == side.layout.shape:
            side.glide_from, side.glide_step = before, 0
            side.glide_timer.start()
        else:
            self._draw(side)
        if side.follow:
            side.panel.reset_view()
        self._show_faith()

    def _glide_frame(self, side: _Side) -> None:
        side.glide_step += 1
        t = side.glide_step / GLIDE_FRAMES
        if t >= 1.0:
            side.glide_timer.stop()
            self._draw(side)
            return
        t = t * t * (3 - 2 * t)  # ease in and out
        self._draw(side, xy=side.glide_from + (side.layout - side.glide_from) * np.float32(t))

    def _show_faith(self) -> None:
        parts = []
        for k, side in enumerate(self.sides):
            if side.panel.isVisible() and side.faith is not None:
                parts.append(f"{side.faith[0]:.2f}")
        text = "10-NN kept: " + (" | ".join(parts) if parts else "–")
        if self.colour_combo.currentIndex() == 1:
            text += "  (colour: red 0 → green 1)"
        self.faith_label.setText(text)

    # ---- drawing ------------------------------------------------------------------------
    def _labels(self, side: _Side) -> np.ndarray:
        ds = self.ws.dataset
        n = 0 if side.layout is None else len(side.layout)
        if ds is None or ds.labels is None:
            return np.full(n, -1, dtype=np.int64)
        labels = ds.labels if side.items is None else ds.labels[side.items]
        return labels[:n] if len(labels) >= n else np.full(n, -1, dtype=np.int64)

    def _n_classes(self) -> int:
        ds = self.ws.dataset
        if ds is None or ds.labels is None:
            return 0
        return max(len(ds.class_names), int(ds.labels.max()) + 1 if len(ds.labels) else 0)

    def _allowed(self, side: _Side) -> np.ndarray:
        labels = self._labels(side)
        if not self._hidden:
            return np.ones(len(labels), dtype=bool)
        return ~np.isin(labels, list(self._hidden))

    def _items(self, side: _Side, rows: np.ndarray) -> np.ndarray:
        return rows if side.items is None else side.items[rows]

    def _search_classes(self) -> set[int]:
        text = self.search_edit.text().strip().lower()
        ds = self.ws.dataset
        if not text or ds is None:
            return set()
        names = list(ds.class_names) or [str(k) for k in range(self._n_classes())]
        return {k for k, name in enumerate(names) if text in str(name).lower()}

    def _redraw(self) -> None:
        for side in self.sides:
            if side.layout is not None:
                self._draw(side)
        self._mark_legend()

    def _draw(self, side: _Side, xy: np.ndarray | None = None) -> None:
        """Draw ``side``'s layout (or ``xy``, an in-between frame of a glide)."""
        xy = side.layout if xy is None else xy
        n = len(xy)
        labels = self._labels(side)
        by_faith = self.colour_combo.currentIndex() == 1 and side.faith is not None
        if by_faith:
            base = ramp_palette(11)
            per = side.faith[1]
            cidx = np.where(np.isfinite(per), np.round(np.nan_to_num(per) * 10), 11).astype(np.int64)
        else:
            k = max(1, self._n_classes())
            base = class_palette(k)
            cidx = np.where(labels >= 0, labels, k).astype(np.int64)
        base = np.vstack([base, GREY])
        dim = base.copy()
        dim[:, :3] = (dim[:, :3].astype(np.int32) + 2 * 235) // 3  # washed out towards white
        dim[:, 3] = DIM_ALPHA
        palette = np.vstack([base, dim])
        # emphasis: the selection and the searched classes; the rest is dimmed while there is any
        emph = np.zeros(n, dtype=bool)
        sel_rows = side.rows_of(self.ws.selection) if len(self.ws.selection) else np.zeros(0, np.int64)
        emph[sel_rows] = True
        found = self._search_classes()
        if found:
            emph |= np.isin(labels, list(found))
        if emph.any():
            cidx = np.where(emph, cidx, cidx + len(base))
        allowed = self._allowed(side)
        order = np.concatenate([np.flatnonzero(allowed & ~emph), np.flatnonzero(allowed & emph)])
        side.panel.set_layout(xy, cidx, palette, order, allowed, ring_rows=sel_rows)
        q = self.ws.query_index
        rows = side.rows_of(np.array([q])) if q is not None else []
        side.panel.set_marker(int(rows[0]) if len(rows) else None)

    # ---- legend -------------------------------------------------------------------------
    def _fill_legend(self) -> None:
        from PySide6.QtGui import QColor, QIcon, QPixmap

        self.legend.blockSignals(True)
        self.legend.clear()
        k = self._n_classes()
        ds = self.ws.dataset
        pal = class_palette(max(k, 1))
        for i in range(k):
            name = ds.class_names[i] if i < len(ds.class_names) else str(i)
            pix = QPixmap(12, 12)
            pix.fill(QColor(*map(int, pal[i][:3])))
            item = QListWidgetItem(QIcon(pix), str(name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.legend.addItem(item)
        self.legend.setVisible(k > 0)
        self.legend.blockSignals(False)

    def _on_legend_clicked(self, item: QListWidgetItem) -> None:
        """A click anywhere on an entry toggles its class (the check box toggles by itself)."""
        if getattr(self, "_legend_toggled", False):
            self._legend_toggled = False
            return
        on = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)

    def _on_legend_changed(self, item: QListWidgetItem) -> None:
        self._legend_toggled = True
        QTimer.singleShot(0, lambda: setattr(self, "_legend_toggled", False))
        k = int(item.data(Qt.ItemDataRole.UserRole))
        if item.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(k)
        else:
            self._hidden.add(k)
        self._redraw()

    def set_class_visible(self, k: int, visible: bool) -> None:
        self.legend.item(k).setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _mark_legend(self) -> None:
        found = self._search_classes()
        self.legend.blockSignals(True)
        for i in range(self.legend.count()):
            item = self.legend.item(i)
            font = item.font()
            font.setBold(i in found)
            item.setFont(font)
        self.legend.blockSignals(False)

    # ---- hover --------------------------------------------------------------------------
    def _describe(self, side: _Side, row: int):
        item = side.item_of(row)
        ds = self.ws.dataset
        pixmap = None
        if ds is not None and ds.has_images and 0 <= item < ds.count:
            pixmap = to_pixmap(ds.float_images([item])[0], THUMB)
        name = ds.label_name(item) if ds is not None and 0 <= item < ds.count else ""
        text = f"#{item}" + (f" · {name}" if name else "")
        return pixmap, text

    # ---- export -------------------------------------------------------------------------
    def _export_dialog(self, kind: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV (*.csv)",
                   "npy": "NumPy array (*.npy)"}
        try:
            if kind == "tsv":
                folder = QFileDialog.getExistingDirectory(self, "Folder for vectors.tsv and metadata.tsv")
                if folder:
                    self.export_projector(folder)
                return
            path, _ = QFileDialog.getSaveFileName(self, "Export", f"scatter.{kind}", filters[kind])
            if not path:
                return
            if kind in ("png", "svg"):
                self.export_plot(path)
            else:
                self.export_layout(path)
            self.ctx.show_status(f"Saved {path}")
        except OSError as err:
            self.ctx.show_error(f"Could not save: {err}")

    def export_plot(self, path: str) -> None:
        """The plot as PNG (pyqtgraph's exporter; both plots when comparing) or SVG (the first
        plot), by the file's extension; written atomically. SVG goes through QSvgGenerator: pyqtgraph's SVG exporter cannot read
        the path data this Qt writes (ValueError in its correctCoordinates)."""
        item = self.panel.plot_item
        if path.lower().endswith(".svg"):
            atomic_write(path, lambda tmp: _write_svg(item, tmp))
            return
        if self.sides[1].panel.isVisible():  # compare: both plots side by side, as on screen
            pix = self.splitter.grab()
            atomic_write(path, lambda tmp: pix.save(tmp, "PNG") or _raise(OSError(f"could not write {path}")))
            return
        import pyqtgraph.exporters as exporters

        exporter = exporters.ImageExporter(item)
        exporter.parameters()["width"] = max(800, int(item.width()))
        atomic_write(path, lambda tmp: exporter.export(tmp))

    def export_layout(self, path: str) -> None:
        """The shown layout as .npy ((N, 2) float32) or CSV (index, x, y, label, class, faithfulness)."""
        side = self.sides[0]
        if side.layout is None:
            raise OSError("there is no layout to save yet")
        if path.lower().endswith(".npy"):
            atomic_write(path, lambda tmp: np.save(tmp, side.layout.astype(np.float32)))
            return
        labels = self._labels(side)
        ds = self.ws.dataset
        per = side.faith[1] if side.faith is not None else np.full(len(side.layout), np.nan)
        lines = ["index,x,y,label,class,faithfulness"]
        for row, (x, y) in enumerate(side.layout):
            item = side.item_of(row)
            name = ds.label_name(item).replace(",", " ") if ds is not None and item < ds.count else ""
            lines.append(f"{item},{x:.6g},{y:.6g},{labels[row]},{name},{per[row]:.3f}")
        atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())

    def export_projector(self, folder: str) -> None:
        """The current model's codes as TensorBoard-projector ``vectors.tsv`` + ``metadata.tsv``."""
        side = self.sides[0]
        model = side.model or self.model_combo.currentText()
        if model not in self.ws.codes:
            raise OSError("there are no codes to save yet")
        codes = self.ws.codes[model]
        ds = self.ws.dataset
        vec = "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in codes).encode()
        meta_rows = ["index\tlabel"] + [
            f"{i}\t{ds.label_name(i) if ds is not None else ''}" for i in range(len(codes))
        ]
        meta = ("\n".join(meta_rows) + "\n").encode()
        atomic_write_bytes(os.path.join(folder, "vectors.tsv"), vec)
        atomic_write_bytes(os.path.join(folder, "metadata.tsv"), meta)

    # ---- lifetime -----------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        for side in self.sides:
            side.runner.shutdown()
        super().closeEvent(event)


METHODS_KEYS = [(key, label) for label, key in METHODS]


def _raise(err: Exception):
    raise err


def _write_svg(item, path: str) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    rect = item.sceneBoundingRect()
    target = QRectF(0, 0, rect.width(), rect.height())
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(target.size().toSize())
    gen.setViewBox(target)
    gen.setTitle("Relate Explorer scatter")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, target, rect)
    finally:
        painter.end()
