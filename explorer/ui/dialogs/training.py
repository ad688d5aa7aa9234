"""The training dialog (modeless): choose a model and its settings, train it live, use it.

Start runs ``explorer.training.engine.train`` in a worker thread (a TaskRunner). Each progress
record updates the progress bar (with ETA and throughput), the loss curves, the sample panel
(reconstructions, or the model's validation figure such as the pair AUC) and the live scatter
(the run's probe codes go to ``workspace.add_probe_frame``). Cancel stops at the next batch and
keeps the checkpoint written so far. A finished model joins the workspace's models, and the code
service computes its codes in the background.

The widgets are made in :mod:`explorer.ui.dialogs.training_form`, what happens when a run ends is
in :mod:`explorer.ui.dialogs.training_results`; this module holds the choices and the run itself.
"""

from __future__ import annotations

import math
import os
import time

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QDialog

from explorer.core.live_budget import LiveBudget
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.dialogs.training_finetune import (
    FILLED_OPTIONS,
    FINETUNE,
    OBJECTIVES,
    backbone_names,
    finetune_job,
)
from explorer.ui.dialogs.training_form import TrainingForm, fill_image_sizes
from explorer.ui.dialogs.training_panels import (
    Catalogue,
    ModelInfo,
    catalogue_job,
    model_metric_key,
    record_steps,
)
from explorer.ui.dialogs.training_results import TrainingResults, live_budgets
from explorer.ui.qt_setup import keep_gui_responsive
from explorer.ui.workers import TaskRunner

PROBE_SIZE = 1000  # items encoded for the live scatter (forward passes only: cheap)


def format_eta(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def default_checkpoint_path(key: str, data_name: str) -> str:
    root = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    folder = os.path.join(root or os.path.expanduser("~"), "models")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in (data_name or "data"))
    base = os.path.join(folder, f"{key}-{safe}-{time.strftime('%Y%m%d-%H%M%S')}")
    path, k = base + ".safetensors", 2
    while os.path.exists(path):
        path, k = f"{base}-{k}.safetensors", k + 1
    return path


class TrainingDialog(TrainingForm, TrainingResults, QDialog):
    """See the module docstring. ``runner`` is the TaskRunner that drives the engine."""

    finished_model = Signal(str)  # the name the trained model got in the workspace
    progress = Signal(object)  # every progress record the dialog shows (for tests / other panels)

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Train a model")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.catalogue: Catalogue | None = None
        # two updates a second: the curves still get every step (record_steps), and repainting
        # the plots more often costs the training loop measurable speed
        self.runner = TaskRunner(self, min_interval=0.5)
        self.runner.partial.connect(self._on_progress)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.running_changed.connect(self._set_running)
        self._catalogue_runner = TaskRunner(self)
        self._catalogue_runner.done.connect(self._on_catalogue)
        self._catalogue_runner.failed.connect(lambda tag, msg: self._set_state_text(msg))
        self.run_name: str | None = None
        self.last_result = None
        self.last_checkpoint: str | None = None
        self._probe_step = -1
        self._run_started = 0.0
        self._epochs = 1
        self._run_data = None
        self._steps: list = []
        self._auto_path = ""
        self._awaiting_codes: str | None = None  # the finished run whose codes are being computed
        self._finished_text = ""
        self._kind_picked = False  # the user chose a model kind: a new data set keeps it
        self._offered: int | None = None  # the epochs the dialog offered (the user's own stay)
        self._sequences_of: tuple[int, bool] = (0, False)  # (id of the data set, a folder of sequences)
        self._build()
        for box in (self.epochs, self.batch_size, self.val_fraction):
            box.valueChanged.connect(lambda *_: self._show_steps())
        self.fit_to_screen(1100, 760)  # or smaller: the screen's available area
        self.model_box.activated.connect(lambda _i: setattr(self, "_kind_picked", True))
        self._set_running(False)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        ctx.qws.models_changed.connect(self._refresh_backbones)
        ctx.qws.codes_changed.connect(self._on_codes_changed)
        self._on_dataset_changed()
        self._catalogue_runner.start(catalogue_job, tag="catalogue")

    # ---- layout -------------------------------------------------------------------------------
    # ---- catalogue and choices --------------------------------------------------------------
    def _on_catalogue(self, tag, cat: Catalogue) -> None:
        self.catalogue = cat
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for info in cat.models:
            self.model_box.addItem(info.key, info.key)
            self.model_box.setItemData(
                self.model_box.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole
            )
        self.model_box.setEnabled(True)
        self.model_box.blockSignals(False)
        self.device_box.clear()
        for name, label in cat.devices:
            self.device_box.addItem(label, name)
        i = self.model_box.findData(self.default_kind())
        self.model_box.setCurrentIndex(max(i, 0))
        self._on_model_chosen()

    def default_kind(self) -> str:
        """The model kind the dialog opens on for the open data set: the relational model
        (``TURNTABLE_MODEL``, bgae) on a folder of sequences (turning objects, videos: what
        ``explorer.data.pairs.looks_like_sequences`` recognises), else the denoising autoencoder."""
        from explorer.data.pairs import looks_like_sequences
        from explorer.relational.defaults import TURNTABLE_MODEL

        ds = self.ctx.workspace.dataset
        if ds is not None and id(ds) != self._sequences_of[0]:
            self._sequences_of = (id(ds), looks_like_sequences(ds))
        if ds is not None and self._sequences_of[1] and self.model_box.findData(TURNTABLE_MODEL) >= 0:
            return TURNTABLE_MODEL
        return "dae"

    def ready(self) -> bool:
        """True once the model types are known (they are read in the background)."""
        return self.catalogue is not None

    def model_info(self) -> ModelInfo | None:
        if self.catalogue is None:
            return None
        key = self.model_box.currentData()
        return next((m for m in self.catalogue.models if m.key == key), None)

    def set_model(self, key: str) -> None:
        i = self.model_box.findData(key)
        if i >= 0:
            self._kind_picked = True
            self.model_box.setCurrentIndex(i)

    def _on_model_chosen(self, *_args) -> None:
        info = self.model_info()
        if info is None:
            return
        self.description.setText(info.description)
        d = info.defaults
        self.batch_size.setValue(int(d.get("batch_size", 128)))
        self._offer_epochs(force=True)
        self.lr.setValue(float(d.get("lr", 1e-3)))
        self.code_dim.setValue(info.code_size or 1)
        self.code_dim.setEnabled(info.code_size is not None)
        finetune = info.key == FINETUNE
        self.options.set_options(
            info.options,
            skip=FILLED_OPTIONS if finetune else ("code_dim",),
            choices={"objective": OBJECTIVES} if finetune else None,
        )
        self._common.setRowVisible(self.backbone_box, finetune)
        self._refresh_backbones()
        self._fit_left()
        self.options_group.setVisible(self.options.has_options())
        self._new_default_path()
        self._update_start_enabled()

    def _offer_epochs(self, force: bool = False) -> None:
        """The model's default epochs, or (on a small data set) enough for
        ``run_length.MIN_STEPS`` steps, for every model kind: dae's 20 epochs were 100 steps on
        354 photos, bgae's 8 were 32 on 24 turning objects of 10 frames. A number the user typed
        stays when the data change (``force``: a new kind)."""
        from explorer.training.run_length import scaled_epochs

        info = self.model_info()
        typed = self._offered is not None and self.epochs.value() != self._offered
        if info is None or (typed and not force):
            self._show_steps()  # (the same epochs on other data: other steps)
            return
        epochs = int(info.defaults.get("epochs", 10))
        per_epoch = self._steps_per_epoch()
        if per_epoch is not None:
            epochs = scaled_epochs(epochs, per_epoch)
        self._offered = epochs
        self.epochs.setValue(epochs)
        self._show_steps()

    def _steps_per_epoch(self) -> int | None:
        """Optimiser steps an epoch of the chosen kind on the open data, as the engine plans them
        (``run_length.epoch_steps``); None without data or a kind, or when the kind cannot
        train on the data (the state line says why)."""
        from explorer.training.run_length import epoch_steps

        ds, info = self.ctx.workspace.dataset, self.model_info()
        if ds is None or info is None:
            return None
        names = {name for name, _ in info.options}  # (the form may still show another kind's)
        options = {k: v for k, v in self.options.values().items() if k in names}
        key = (id(ds), info.key, self.batch_size.value(), self.val_fraction.value(), self.seed.value())
        key += (repr(sorted(options.items())),)
        if self._steps_for[0] != key:
            self._steps_for = (key, epoch_steps(info.key, ds, key[2], key[3], options, key[4]))
        return self._steps_for[1]

    _steps_for: tuple = (None, None)

    def _show_steps(self) -> None:
        """The epochs field says how many steps they are on the open data."""
        per_epoch = self._steps_per_epoch()
        if per_epoch is None:
            self.epochs.setSuffix("")
            return
        self.epochs.setSuffix(f"   ({self.epochs.value() * per_epoch:,} steps)")

    def _refresh_backbones(self) -> None:
        """The loaded models a fine-tune can start from (kept selected across refreshes)."""
        if not self.ready():  # the catalogue imports torch in the worker; not here before it
            return
        keep = self.backbone_box.currentData()
        names = backbone_names(self.ctx.workspace)
        self.backbone_box.blockSignals(True)
        self.backbone_box.clear()
        for name in names:
            self.backbone_box.addItem(name, name)
        if keep in names:
            self.backbone_box.setCurrentIndex(names.index(keep))
        self.backbone_box.blockSignals(False)
        self._update_start_enabled()

    def _new_default_path(self) -> None:
        """A fresh time-stamped checkpoint path, unless the user typed one of their own."""
        info = self.model_info()
        if info is None or (self.save_path.text() and self.save_path.text() != self._auto_path):
            return
        ds = self.ctx.workspace.dataset
        self._auto_path = default_checkpoint_path(info.key, ds.name if ds else "data")
        self.save_path.setText(self._auto_path)

    def _on_dataset_changed(self) -> None:
        ds = self.ctx.workspace.dataset
        if ds is None:
            self.data_label.setText("No data set open.")
        else:
            facts = f"<b>{ds.name or 'data'}</b>: {ds.count:,} items"
            if ds.shape:
                facts += f", {ds.shape[0]}×{ds.shape[1]}×{ds.shape[2]}"
            if ds.labels is not None and ds.class_names:
                self.default_kind()  # (knows whether the sub-folders are sequences)
                facts += f", {len(ds.class_names)} {'sequences' if self._sequences_of[1] else 'classes'}"
            if ds.partners is not None:
                facts += ", image pairs"
            self.data_label.setText(facts)
        fill_image_sizes(self.image_size, None if ds is None else ds.shape)
        if self.ready() and not self._kind_picked and not self.runner.is_running():
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(self.default_kind())))
        if not self.runner.is_running():
            self._offer_epochs()  # (the same kind: its epochs for this data's size)
        self._update_start_enabled()

    def _data_problem(self) -> str | None:
        ds = self.ctx.workspace.dataset
        info = self.model_info()
        if ds is None:
            return "Open a data set first (File ▸ Open data…)."
        if not ds.has_images:
            return "This data set holds codes, not images: open an image data set to train."
        if info is not None and info.needs_labels and not ds.has_labels:
            return f"'{info.key}' learns from class labels, and {ds.name or 'this data set'} has none."
        if info is not None and info.key == FINETUNE and self.backbone_box.currentData() is None:
            return (
                "Fine-tuning starts from a loaded model of this data set's image size: train or "
                "open one first, then choose it as the backbone."
            )
        if info is not None and info.needs_pairs:
            from explorer.models.base import model_class  # (torch is in: the catalogue imported it)

            return model_class(info.key).pair_problem(ds)  # a folder of sequences pairs its frames
        return None

    def _update_start_enabled(self) -> None:
        problem = self._data_problem()
        running = self.runner.is_running()
        self.start_button.setEnabled(self.ready() and problem is None and not running)
        if problem and not running:
            self._set_state_text(problem)

    # ---- running ------------------------------------------------------------------------------
    def train_config(self):
        """The TrainConfig the dialog's fields describe."""
        from explorer.training.engine import TrainConfig

        info = self.model_info()
        ds = self.ctx.workspace.dataset
        batch = self.batch_size.value()
        steps_per_epoch = max(1, math.ceil(ds.count * (1 - self.val_fraction.value()) / batch))
        return TrainConfig(
            model=info.key,
            epochs=self.epochs.value(),
            batch_size=batch,
            lr=self.lr.value(),
            code_dim=self._code_dim(info),
            device=self.device_box.currentData() or "auto",
            seed=self.seed.value(),
            val_fraction=self.val_fraction.value(),
            augment=self.augment.isChecked(),
            image_size=self.image_size.currentData(),
            options=self.options.values(),
            checkpoint=self.save_path.text().strip() if self.save_check.isChecked() else None,
            probe_size=min(PROBE_SIZE, ds.count),
            # headless (the same settings from the CLI) twice an epoch; in the dialog the run's
            # LiveBudget decides at every step (see start)
            probe_every=max(1, steps_per_epoch // 2) if self.live_scatter.isChecked() else 0,
        )

    def _code_dim(self, info) -> int | None:
        """The code size to ask for: None (the model's own default, as the CLI without --code-dim)
        unless the user changed the field."""
        if not self.code_dim.isEnabled() or self.code_dim.value() == info.code_size:
            return None
        return self.code_dim.value()

    def start(self) -> None:
        """Start training with the dialog's settings (does nothing if it cannot start)."""
        if not self.start_button.isEnabled():
            return
        from explorer.training.engine import train  # torch is already imported by the catalogue

        keep_gui_responsive()
        config = self.train_config()
        if config.checkpoint:
            os.makedirs(os.path.dirname(os.path.abspath(config.checkpoint)), exist_ok=True)
        data = self.ctx.workspace.dataset
        self.run_name = self._unique_name(f"{config.model} ({data.name or 'data'})")
        self.last_result = None
        self._awaiting_codes = None
        self.last_checkpoint = config.checkpoint
        self._probe_step = -1
        self._run_data = data
        self.loss_plot.clear_data()
        self.metric_plot.clear_data()
        self.metric_plot.set_key(None)
        self.metric_plot.hide()
        self.samples.clear_data()
        self.samples.show()
        self.bar.setValue(0)
        self.use_stopped_button.hide()
        self.save_as_button.setEnabled(False)
        self._run_started = time.perf_counter()
        self._epochs = int(config.epochs)
        self._set_state_text(f"Starting {config.model} on {config.device}…")
        steps: list = []
        self._steps = steps
        # the live scatter's frames (probe, layout, glide) cost at most 4% of the training's CPU
        budget = LiveBudget() if config.probe_every > 0 else None
        live_budgets(self.ctx)[self.run_name] = budget
        if config.model == FINETUNE:
            encoder = self.ctx.workspace.models[self.backbone_box.currentData()]
            freeze = bool(config.options.get("freeze", False))
            job = lambda: finetune_job(encoder, data, config, freeze, config.options, budget)  # noqa: E731
        else:
            job = lambda: train(config, data, live_budget=budget)  # noqa: E731
        self.runner.start(lambda: record_steps(job(), steps), tag=(self.run_name, config))
        self._set_running(True)

    def cancel(self) -> None:
        """Stop the run at its next batch; the checkpoint written so far is kept."""
        if self.runner.is_running():
            self._set_state_text("Stopping after this batch…")
            self.runner.cancel()

    def is_training(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        self.runner.shutdown(30000)
        self._catalogue_runner.shutdown()

    def busy(self) -> bool:
        return self.runner.is_running()

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        for w in (
            self.model_box,
            self.epochs,
            self.batch_size,
            self.lr,
            self.code_dim,
            self.seed,
            self.val_fraction,
            self.augment,
            self.image_size,
            self.live_scatter,
            self.device_box,
            self.options,
            self.save_check,
            self.save_path,
            self.backbone_box,
        ):
            w.setEnabled(not running and (w is not self.model_box or self.ready()))
        if not running:
            info = self.model_info()
            self.code_dim.setEnabled(info is not None and info.code_size is not None)
            self.save_path.setEnabled(self.save_check.isChecked())
        self._update_start_enabled()

    def _set_state_text(self, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setToolTip(text)
        self.fit_state_label()

    # ---- progress from the worker ---------------------------------------------------------------
    def _on_progress(self, tag, rec: Progress) -> None:
        if tag[0] != self.run_name:
            return
        m = rec.metrics
        self.bar.setValue(int(rec.fraction * 1000))
        parts = [rec.message or "training", f"step {rec.step:,}/{rec.total:,}"]
        if rec.loss is not None and math.isfinite(rec.loss):
            parts.append(f"loss {rec.loss:.4g}")
        if "val_loss" in m:
            parts.append(f"val {m['val_loss']:.4g}")
        if "items_per_s" in m and m["items_per_s"] > 0:
            parts.append(f"{m['items_per_s']:,.0f} items/s")
        parts.append(f"ETA {format_eta(m.get('eta_s', math.nan))}")
        self._set_state_text("  ·  ".join(parts))
        self.loss_plot.add(rec, self._epochs, self._steps)
        key = model_metric_key(m)
        if key is not None and self.metric_plot.key != key:
            self.metric_plot.set_key(key)
            self.metric_plot.show()
        self.metric_plot.add(rec)
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        samples = payload.get("samples")
        if samples is not None and payload.get("samples_epoch", -1) != self.samples.epoch:
            self.samples.set_samples(samples, int(payload["samples_epoch"]), payload.get("samples_caption"))
        elif samples is None and key is not None:
            self.samples.hide()  # a metric model: its figure is the panel
        probe = payload.get("probe_codes")
        step = int(payload.get("probe_step", -1))
        same_data = self.ctx.workspace.dataset is self._run_data  # probe indices refer to it
        if probe is not None and step > self._probe_step and same_data:
            self._probe_step = step
            self.ctx.workspace.add_probe_frame(self.run_name, payload["probe_indices"], step, probe)
        self.progress.emit(rec)

    def _unique_name(self, base: str) -> str:
        names = set(self.ctx.workspace.models) | set(self.ctx.workspace.probes)
        if base not in names:
            return base
        k = 2
        while f"{base} #{k}" in names:
            k += 1
        return f"{base} #{k}"

    def closeEvent(self, event) -> None:
        # closing the window does not stop a run: it goes on in the background (reopen to watch)
        super().closeEvent(event)
