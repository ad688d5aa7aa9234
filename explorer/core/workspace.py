"""The workspace: the one shared state every view observes.

It holds the open data set, the loaded encoders, their cached codes, the current layouts and the
current selection and query. Views never keep their own copy of these: they read the workspace and
listen to its events (through ``explorer.ui.qworkspace`` on the GUI side), so a lasso in one view
highlights the same items in every other one (glue's hub, napari's models).

Events (keyword payloads):
  "dataset"   ()                  a new data set was opened; codes, layouts, selection were cleared
  "models"    ()                  an encoder was added or removed
  "current_model" ()              the model the views show first changed (set_current_model)
  "codes"     (model=name)        codes of one model were computed or replaced
  "layout"    (key=(model, method))  a finished layout was set; ``layout_settings[key]`` says what
                                  made it (seed, parameters), ``layout_for`` finds it by them
  "selection" ()                  the selected indices changed
  "query"     ()                  the query item (index or external image) changed
  "probe"     (run=name)          a training run sent new codes of its fixed probe set (live scatter),
                                  or ended (it is no longer in ``training``)
  "labels"    (indices=array)     the user changed (or confirmed) the labels of these items

Edited labels are applied to ``dataset.labels`` (a copy: the loader's array is not changed) and
saved beside the data by :class:`explorer.core.labels.LabelEdits` when the data set was opened
with a ``spec``, so they are back when it is opened again.

Views that have settings worth saving register a Qt-free state object (explorer.core.view_state)
with :meth:`Workspace.register_view_state`; sessions save them all (``view_settings``) and give
them back (``apply_view_settings``), also to a view created after the restore.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.core.arrays import sorted_unique
from explorer.core.events import Emitter
from explorer.core.imageset import ImageSet
from explorer.core.labels import LabelEdits

PIXELS = "pixels"


class Workspace:
    def __init__(self) -> None:
        self.events = Emitter()
        self.dataset: ImageSet | None = None
        self.models: dict[str, Any] = {}  # name -> encoder (has .encode(float (N,C,H,W)) -> (N,D))
        self.codes: dict[str, np.ndarray] = {}  # name -> (N, D) float32 codes of the open data set
        self.layouts: dict[tuple[str, str], np.ndarray] = {}  # (model, method) -> (N, 2)
        self.layout_settings: dict[tuple[str, str], dict] = {}  # (model, method) -> what made it
        self.selection: np.ndarray = np.zeros(0, dtype=np.int64)
        self.query_index: int | None = None  # an item of the data set ...
        self.query_image: np.ndarray | None = None  # ... or an external (C, H, W) float image
        self.current_model: str | None = None
        # live training: run name -> (probe indices into the data set, list of (step, codes) frames)
        self.probes: dict[str, tuple[np.ndarray, list[tuple[int, np.ndarray]]]] = {}
        self.label_edits: LabelEdits | None = None  # the user's label edits, saved beside the data
        self.training: set[str] = set()  # runs still sending probe frames (see end_run)
        self.view_states: dict[str, Any] = {}  # view name -> its state (to_dict / apply)
        self._pending_view_settings: dict[str, dict] = {}  # restored before the view existed

    # ---- data set -------------------------------------------------------------------------
    def set_dataset(self, dataset: ImageSet, spec: str | None = None) -> None:
        """Open ``dataset``; with ``spec`` (what it was opened from) its saved label edits are
        applied and later edits saved (see explorer.core.labels)."""
        self.dataset = dataset
        self.label_edits = None
        if spec is not None:
            edits = LabelEdits.open(spec, dataset.paths, dataset.count)
            self.label_edits = edits
            if edits.labels or edits.classes:
                dataset.labels, dataset.class_names = edits.apply(dataset.labels, dataset.class_names)
        self.codes.clear()
        self.layouts.clear()
        self.layout_settings.clear()
        self.probes.clear()
        self.training.clear()
        self.selection = np.zeros(0, dtype=np.int64)
        self.query_index = None
        self.query_image = None
        if dataset.codes is not None:
            self.codes["codes"] = np.asarray(dataset.codes, dtype=np.float32)
            if getattr(dataset, "xy", None) is not None:  # a table's own layout of its embedding
                self.layouts[("codes", "table")] = np.asarray(dataset.xy, dtype=np.float32)
        usable = self.models_for_dataset()
        if self.current_model is not None and self.current_model not in usable:
            # the current model cannot encode this data set (another image size): do not show
            # its name over pixels; the baseline (or the first model that can) takes over
            self.current_model = PIXELS if PIXELS in usable else (usable[0] if usable else None)
        self.events.emit("dataset")

    # ---- models and codes -----------------------------------------------------------------
    def add_model(self, name: str, encoder: Any) -> None:
        self.models[name] = encoder
        self.codes.pop(name, None)
        self._drop_layouts(name)
        if (self.current_model is None or self.current_model == PIXELS) and name in self.models_for_dataset():
            self.current_model = name  # (a model that cannot encode the open data set never is)
        self.events.emit("models")

    def set_current_model(self, name: str) -> None:
        """Make ``name`` (a loaded model) the one the views show first."""
        if name in self.models and name != self.current_model:
            self.current_model = name
            self.events.emit("current_model")

    def models_for_dataset(self) -> list[str]:
        """Names of the loaded models that can encode the open data set: those whose input shape
        is the data set's, or that take any shape (a 13x13 gated AE is no use on 28x28 digits)."""
        shape = None if self.dataset is None else self.dataset.shape
        return [
            name
            for name, enc in self.models.items()
            if getattr(enc, "input_shape", None) is None
            or shape is None
            or tuple(enc.input_shape) == tuple(shape)
            or getattr(enc, "preprocess", None) is not None  # it brings any image to its input
        ]

    def remove_model(self, name: str) -> None:
        self.models.pop(name, None)
        self.codes.pop(name, None)
        if self.current_model == name:
            self.current_model = next(iter(self.models), None)
        self.events.emit("models")

    def set_codes(self, model: str, codes: np.ndarray) -> None:
        """New codes of ``model``; its layouts (made from the old codes) are dropped."""
        self.codes[model] = np.asarray(codes, dtype=np.float32)
        self._drop_layouts(model)
        self.events.emit("codes", model=model)

    def set_layout(self, model: str, method: str, layout: np.ndarray, settings: dict | None = None) -> None:
        """The finished ``method`` layout (N, 2) of ``model``'s codes; ``settings``: what else made
        it (seed, parameters; a view's ``layout_settings()``)."""
        self.layouts[(model, method)] = np.asarray(layout, dtype=np.float32)
        self.layout_settings[(model, method)] = dict(settings or {})
        self.events.emit("layout", key=(model, method))

    def layout_for(self, model: str, method: str, settings: dict) -> np.ndarray | None:
        """The layout of ``model`` by ``method`` made with ``settings``, or None."""
        key = (model, method)
        if key in self.layouts and self.layout_settings.get(key) == dict(settings):
            return self.layouts[key]
        return None

    def _drop_layouts(self, model: str) -> None:
        for key in [k for k in self.layouts if k[0] == model]:
            del self.layouts[key]
            self.layout_settings.pop(key, None)

    def add_probe_frame(self, run: str, indices: np.ndarray, step: int, codes: np.ndarray) -> None:
        """A training run encoded its probe set (items ``indices`` of the data set) at ``step``."""
        idx = np.asarray(indices, dtype=np.int64)
        if run not in self.probes or not np.array_equal(self.probes[run][0], idx):
            self.probes[run] = (idx, [])
        self.probes[run][1].append((int(step), np.asarray(codes, dtype=np.float32)))
        self.training.add(run)
        self.events.emit("probe", run=run)

    # ---- labels ---------------------------------------------------------------------------
    def set_labels(self, indices, names) -> None:
        """Give items ``indices`` the classes ``names`` (class names; a new name adds a class),
        save the edit and tell every view ("labels")."""
        ds = self.dataset
        if ds is None:
            return
        idx = np.asarray(indices, dtype=np.int64).ravel()
        names = [str(n) for n in (names if isinstance(names, (list, tuple)) else [names] * len(idx))]
        class_names = list(ds.class_names)
        if not class_names and ds.labels is not None and len(ds.labels):
            class_names = [str(k) for k in range(int(ds.labels.max()) + 1)]
        labels = np.full(ds.count, -1, np.int64) if ds.labels is None else ds.labels.copy()
        for i, name in zip(idx, names):
            if name not in class_names:
                class_names.append(name)
            labels[i] = class_names.index(name)
        if self.label_edits is not None:
            self.label_edits.set(idx, names, ds.class_names)
            self.label_edits.save()
        ds.labels, ds.class_names = labels, class_names
        self.events.emit("labels", indices=idx)

    def mark_labels_correct(self, indices) -> None:
        """The user checked these labels: remembered (and saved), and views told ("labels")."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if self.label_edits is not None:
            self.label_edits.mark_correct(idx)
            self.label_edits.save()
        self.events.emit("labels", indices=idx)

    def labels_reviewed(self) -> np.ndarray:
        """(M,) items whose label the user changed or confirmed (empty without saved edits)."""
        return np.zeros(0, np.int64) if self.label_edits is None else self.label_edits.reviewed()

    def end_run(self, run: str) -> None:
        """Training run ``run`` finished, failed or was cancelled: its frames stay for replay, and
        views stop following it."""
        if run in self.training:
            self.training.discard(run)
            self.events.emit("probe", run=run)

    # ---- view settings --------------------------------------------------------------------
    def register_view_state(self, name: str, state) -> None:
        """A view's settings object (explorer.core.view_state); settings a session restored before
        the view existed are applied now."""
        self.view_states[name] = state
        if name in self._pending_view_settings:
            state.apply(self._pending_view_settings.pop(name))

    def view_settings(self) -> dict[str, dict]:
        """Every registered view's settings, JSON-able (for a session)."""
        return {name: state.to_dict() for name, state in self.view_states.items()}

    def apply_view_settings(self, settings: dict[str, dict]) -> None:
        """Give each view its saved settings (kept for views that do not exist yet)."""
        for name, values in (settings or {}).items():
            if not isinstance(values, dict):
                continue
            if name in self.view_states:
                self.view_states[name].apply(values)
            else:
                self._pending_view_settings[name] = dict(values)

    # ---- selection and query --------------------------------------------------------------
    def set_selection(self, indices, *, presorted: bool = False) -> None:
        """Select data set items ``indices`` (any order, repeats dropped; kept as a new sorted
        int64 array). ``presorted``: ``indices`` are a 1-D int64 array already strictly
        increasing (what the scatter's lasso and box return) that the caller hands over: taken
        as they are, not checked or copied, and made read-only (at 10^7 rows the check and copy
        cost about 20 ms CPU of every lasso)."""
        if presorted and isinstance(indices, np.ndarray) and indices.dtype == np.int64 and indices.ndim == 1:
            sel = indices
            sel.flags.writeable = False
        else:  # (presorted of anything else: put in order as any selection)
            sel = sorted_unique(np.asarray(indices, dtype=np.int64).ravel())
        if sel is self.selection or (
            sel.shape == self.selection.shape and np.array_equal(sel, self.selection)
        ):
            return
        self.selection = sel
        self.events.emit("selection")

    def set_query(self, index: int | None = None, image: np.ndarray | None = None) -> None:
        """Make item ``index`` of the data set, or an external float image (C, H, W), the query."""
        self.query_index = None if index is None else int(index)
        self.query_image = None if image is None else np.asarray(image, dtype=np.float32)
        self.events.emit("query")

    def query_float_image(self) -> np.ndarray | None:
        """The query as a float32 (C, H, W) image, whichever way it was given."""
        if self.query_image is not None:
            return self.query_image
        if self.query_index is not None and self.dataset is not None and self.dataset.has_images:
            return self.dataset.float_images([self.query_index])[0]
        return None
