"""The scatter View: its controls and two plot panels, the workspace events it follows, the layout
jobs it starts and the results it draws (the package docstring says what the user sees)."""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from explorer.core.live_budget import charged
from explorer.core.view_state import ScatterState
from explorer.ui.context import AppContext
from explorer.ui.scatter_plot import ScatterPanel
from explorer.jobs.scatter.density import drawing_index
from explorer.ui.views.scatter.drawing import Drawing
from explorer.ui.views.scatter.export import Exports, export_dialog
from explorer.ui.views.scatter.controls import METHODS, ScatterControls
from explorer.jobs.layouts import layout_job, warm_up_umap_in_background
from explorer.ui.class_legend import ClassLegend
from explorer.ui.views.scatter.overlays import InspectionOverlays
from explorer.ui.views.scatter.live import LiveTraining
from explorer.ui.views.scatter.results import LayoutResults, faith_of
from explorer.ui.views.scatter.side import PanelSide
from explorer.ui.workers import TaskRunner

TITLE = "Scatter"
AREA = "center"
ORDER = 10

METHODS_KEYS = [(key, label) for label, key in METHODS]
THUMB = 72


class View(LayoutResults, LiveTraining, Drawing, Exports, QWidget):
    """The scatter view (the package docstring says what it shows). Its methods are spread over
    mixins by idea: :class:`LiveTraining` (probe frames, glide), :class:`Drawing` (colours, legend,
    readout), :class:`Exports` (files) and :class:`LayoutResults` (a job's partial and finished
    layouts shown)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ws = ctx.workspace
        self._cache: dict = {}  # tag -> LayoutResult
        self._codes_version: dict[str, int] = {}
        self.state = ScatterState()  # what the widgets show; sessions save and restore it
        self._syncing = False  # the state is being set from the widgets
        self._live_prev: np.ndarray | None = None
        self.job_overrides: dict = {}  # extra projection parameters (tests use shorter t-SNE runs)
        self._build()
        ctx.qws.connect_view(self, current_model="models")
        self.state.events.connect("changed", self._on_state_changed)
        self._on_dataset_changed()
        self.ws.register_view_state("scatter", self.state)
        loader = ctx.services.get("loader")
        if loader is not None:  # the "Loading the models…" message ends with the batch
            loader.models_idle.connect(lambda: self._refresh_messages(loading=False))
        # a few seconds after start-up, so the warm-up does not compete with opening the app
        QTimer.singleShot(3000, warm_up_umap_in_background)

    # ---- construction -------------------------------------------------------------------
    def _build(self) -> None:
        c = self.controls = ScatterControls(on_export=lambda kind: export_dialog(self, kind))
        for name in ScatterControls.WIDGETS:
            setattr(self, name, getattr(c, name))
        for mode, button in self.mode_buttons.items():
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
        self.reset_button.clicked.connect(self.reset_view)
        self.clear_button.clicked.connect(lambda: self.ws.set_selection([]))

        self.sides = []
        splitter = self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for _ in range(2):
            panel = ScatterPanel()
            runner = TaskRunner(self)
            side = PanelSide(panel, runner)
            panel.describe = lambda row, s=side: s.describe(
                row, self.ws.dataset, self.ctx.services.get("thumbnails"), THUMB
            )
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
        self.legend = ClassLegend()
        self.legend.class_toggled.connect(self._on_class_toggled)
        self.overlays = InspectionOverlays(self)
        body = QHBoxLayout()
        body.addWidget(splitter, 1)
        body.addWidget(self.legend)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(c.top)
        lay.addLayout(c.tools)
        lay.addLayout(c.live)
        lay.addLayout(body, 1)

        self.model_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        # until the user picks a model here, follow the app's current model once its codes arrive
        self._model_picked = False
        self.model_combo.activated.connect(self._on_model_picked)
        self._followed_run: str | None = None  # the run whose frames were shown, until its codes arrive
        self.method_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        self.seed_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.perplexity_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.neighbours_spin.valueChanged.connect(lambda *_: self._params_changed())
        self.compare_check.toggled.connect(self._on_compare_toggled)
        self.compare_combo.currentIndexChanged.connect(lambda *_: self._params_changed())
        self.search_edit.textChanged.connect(lambda *_: self._redraw())
        self.colour_combo.currentIndexChanged.connect(
            lambda *_: (self._sync_state(), self._redraw(), self._show_faith())
        )
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
        return any(s.runner.is_running() for s in self.sides) or self.overlays.busy()

    def lasso_finished(self, polygon: np.ndarray, side: PanelSide | None = None) -> None:
        """Select the items inside ``polygon`` (M, 2), in data coordinates of ``side``'s plot."""
        side = side or self.sides[0]
        if side.layout is None:
            return
        rows = side.panel.index().in_polygon(polygon, self._allowed(side))
        self._hint_lasso(side, rows)
        self._select(side, rows)

    def box_finished(self, x0: float, y0: float, x1: float, y1: float, side: PanelSide | None = None) -> None:
        side = side or self.sides[0]
        if side.layout is None:
            return
        rows = side.panel.index().in_rect(x0, y0, x1, y1, self._allowed(side))
        self._hint_lasso(side, rows)
        self._select(side, rows)

    def _select(self, side: PanelSide, rows: np.ndarray) -> None:
        """Make the items of a lasso's or box's ``rows`` (sorted, unique int64: what the index
        returns) the workspace's selection: handed over as they are when rows are items (the
        index's very array, so the redraw's Drawing._lasso_mask knows it without a 10^7-row
        comparison), else the items of the rows (put in order by the workspace)."""
        if side.items is None:
            self.ws.set_selection(rows, presorted=True)
        else:
            self.ws.set_selection(side.items_of(rows))

    def _hint_lasso(self, side: PanelSide, rows: np.ndarray) -> None:
        """What the drawing needs to take a lasso's mask from the index: the rows it returned,
        the classes hidden as it was drawn and the labels it was drawn with (Drawing._lasso_mask)."""
        import weakref

        ds = self.ws.dataset
        labels = None if ds is None else ds.labels
        side.lasso_hint = (
            rows,
            frozenset(self.state.hidden),
            None if labels is None else weakref.ref(labels),
        )

    # ---- workspace events ---------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        self._cache.clear()
        self._sync_state(hidden=frozenset())
        self._live_prev = None
        self._fill_legend()
        self._fill_models()
        self._update_live_controls()
        self._params_changed()

    def _on_labels_changed(self, _indices=None) -> None:
        """Edited labels: the legend (perhaps a new class), cluster badges and colours follow."""
        self._fill_legend()
        self.overlays.labels_changed()
        self._redraw()

    def _on_models_changed(self) -> None:
        if self._fill_models():
            self._params_changed()
        else:
            self._refresh_messages()

    def _refresh_messages(self, loading: bool | None = None) -> None:
        """The empty panels say what they wait for now (a model arrived, a loading batch ended:
        ``loading`` False, said by the loader as its job ends)."""
        for k, side in enumerate(self.sides):
            if side.layout is None and not side.panel.isHidden():
                model = (self.model_combo if k == 0 else self.compare_combo).currentText() or None
                side.panel.show_message(self._no_codes_message(model, loading))

    def _no_codes_message(self, model: str | None, loading: bool | None = None) -> str:
        """What the empty plot says: what is missing, for the state the workspace is in;
        ``loading``: whether models are still being loaded (default: ask the loader)."""
        ws = self.ws
        if ws.dataset is None:
            return "No data set open: File ▸ Open data… or drop a folder here"
        if not ws.dataset.has_images and "codes" not in ws.codes:
            return "This data set has no images and no codes to lay out"
        pending = [n for n in ws.models_for_dataset() if n not in ws.codes]
        if pending:
            return f"Computing the codes of {model if model in pending else pending[0]}…"
        loader = self.ctx.services.get("loader")
        if loading is None:
            loading = loader is not None and loader.busy()
        if loading:  # the data set is open, its models still coming
            return "Loading the models…"
        return "No codes yet: load or train a model (Models ▸ Train…)"

    def _on_codes_changed(self, model: str) -> None:
        self._codes_version[model] = self._codes_version.get(model, 0) + 1
        switched = self._fill_models()
        if model == self._followed_run and model not in self.ws.training:
            # the followed run's model has its codes: show them (the Model box says so)
            self._followed_run = None
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentText(model)
            self.model_combo.blockSignals(False)
            switched = True
        if switched or model in (self.sides[0].model, self.sides[1].model) or self.sides[0].model is None:
            self._params_changed()

    def _on_selection_changed(self) -> None:
        self._redraw()

    def _on_query_changed(self) -> None:
        for side in self.sides:
            q = self.ws.query_index
            rows = side.rows_of(np.array([q])) if q is not None and side.layout is not None else []
            side.panel.set_marker(int(rows[0]) if len(rows) else None)

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
            elif combo.currentIndex() < 0 and names:
                combo.setCurrentIndex(0)  # (a box with a placeholder text picks none by itself)
            if (
                combo is self.compare_combo
                and combo.currentText() == self.model_combo.currentText()
                and len(names) > 1
            ):
                combo.setCurrentIndex(1 if combo.currentIndex() == 0 else 0)
            combo.blockSignals(False)
        # comparing needs a second model: with one, "Compare with" would show it twice
        self.compare_check.setEnabled(len(names) > 1)
        if len(names) < 2:  # the box is empty, not the model itself greyed out beside it
            self.compare_combo.blockSignals(True)
            self.compare_combo.clear()
            self.compare_combo.blockSignals(False)
        self.compare_check.setToolTip("" if len(names) > 1 else "Load a second model to compare with")
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

    def _params_changed(self) -> None:
        """Start (or reuse) the layout each visible panel should show; cancels stale jobs."""
        self._update_param_widgets()
        self._update_live_controls()
        self._sync_state()
        st = self.state
        method, seed, params = st.method, st.seed, st.params()
        live = self._live_source()
        for k, side in enumerate(self.sides):
            other = self.compare_combo.currentText()
            same = not other or other == self.model_combo.currentText()  # (empty: no second model)
            if k == 1 and (not self.compare_check.isChecked() or live is not None or same):
                side.runner.cancel()
                side.panel.setVisible(False)
                continue
            side.panel.setVisible(True)
            if live is not None:
                run, i, indices, step, codes = live
                self._followed_run = run
                tag = ("live", run, i, len(codes), method, seed, tuple(sorted(params.items())))
                side.model, side.items = None, np.asarray(indices)
                title = f"{run} · step {step} · {dict(METHODS_KEYS)[method]}"
                self._start(side, tag, codes, method, seed, params, title, live=True)
                continue
            model = (self.model_combo if k == 0 else self.compare_combo).currentText() or None
            side.model, side.items = model, None
            if model is None or model not in self.ws.codes:
                side.runner.cancel()
                side.glide_timer.stop()
                side.tag, side.layout, side.faith = None, None, None
                side.panel.title.setText("")
                side.panel.cloud.set_points(np.zeros((0, 2)), np.zeros(0, int), np.zeros((1, 4), np.uint8))
                side.panel.show_message(self._no_codes_message(model))
                continue
            codes = self.ws.codes[model]
            tag = (
                model,
                self._codes_version.get(model, 0),
                len(codes),
                method,
                seed,
                tuple(sorted(params.items())),
            )
            given = self.ws.layout_for(model, method, st.layout_settings())  # e.g. from a session
            self._start(
                side, tag, codes, method, seed, params, f"{model} · {dict(METHODS_KEYS)[method]}", given=given
            )
        self._show_faith()

    def _sync_state(self, **more) -> None:
        """Write what the widgets show (and ``more``) into the state, without reacting to it."""
        self._syncing = True
        try:
            self.state.update(**self.controls.values(), **more)
        finally:
            self._syncing = False

    def _on_state_changed(self, names) -> None:
        """The state was set from outside (a restored session, a test): show it and lay it out."""
        if self._syncing:
            return
        if names & {"model", "compare_model"}:
            self._model_picked = True  # a saved choice: no longer follow the app's current model
        self.controls.show(self.state)
        self.legend.show_hidden(self.state.hidden)
        self._on_compare_toggled(self.state.compare)  # panels, then the layouts (_params_changed)
        self._redraw()

    def _start(
        self,
        side: PanelSide,
        tag,
        codes,
        method,
        seed,
        params,
        title: str,
        live: bool = False,
        given: np.ndarray | None = None,
    ) -> None:
        """Show ``tag``'s layout: from this view's cache, else a worker job (which only measures
        ``given``, a layout the workspace already holds, instead of laying the codes out again)."""
        side.panel.title.setText(title)
        name = dict(METHODS_KEYS)[method]
        side.panel.set_axis_names(f"{name} 1", f"{name} 2")
        if tag == side.tag and (side.runner.is_running() or tag in self._cache):
            return
        side.tag = tag
        if tag in self._cache:
            side.runner.cancel()
            result = self._cache[tag]
            index = result.index
            self._show_layout(side, result.layout, faith_of(result))
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
        budget = self._live_budget(tag)  # a live frame's layout is charged to its run's budget
        side.runner.start(
            lambda: charged(
                layout_job(
                    codes, method, seed, job_params, previous, live, make_index=drawing_index, given=given
                ),
                budget,
            ),
            tag=tag,
        )
        side.panel.status.setText("working…")

    # ---- lifetime -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every worker of the view (the main window calls this when it closes; a child view
        gets no closeEvent of its own then)."""
        self.overlays.shutdown()
        for side in self.sides:
            side.runner.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
