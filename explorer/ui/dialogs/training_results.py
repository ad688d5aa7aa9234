"""What the training dialog does when a run ends: the finished model joins the workspace (its codes
follow), a failed or cancelled run says so and keeps its checkpoint, and the checkpoint can be
saved elsewhere or loaded."""

from __future__ import annotations

import math
import os
import shutil
import time

from PySide6.QtWidgets import QFileDialog

from explorer.core.atomic import atomic_write
from explorer.ui.dialogs.training_panels import model_metric_key


def live_budgets(ctx) -> dict:
    """Run name -> the LiveBudget (or None) of each run under way, shared with the scatter view
    (``ctx.services``); a run's entry goes when it ends (:meth:`TrainingResults._end_run`)."""
    return ctx.services.setdefault("live_budgets", {})


class TrainingResults:
    """Mixin of :class:`explorer.ui.dialogs.training.TrainingDialog`: the runner's ``done``,
    ``failed`` and ``cancelled`` slots and the buttons used after a run."""

    def _on_done(self, tag, result) -> None:
        from explorer.models.encoders import model_encoder

        self.last_result = result
        self._set_running(False)
        self.loss_plot.set_history(result.history)
        if self.metric_plot.key is None and result.history:
            key = model_metric_key(result.history[-1])
            if key is not None:
                self.metric_plot.set_key(key)
                self.metric_plot.show()
        self.metric_plot.set_history(result.history)
        name = self.run_name
        ds = self.ctx.workspace.dataset
        enc = model_encoder(
            result.model, name=name, class_names=list(ds.class_names) if ds else None, summary=result.summary
        )
        if result.checkpoint and os.path.exists(result.checkpoint):
            enc.source = os.path.abspath(result.checkpoint)  # sessions and the autosave reopen it
        self.ctx.workspace.add_model(name, enc)
        self._end_run(tag)  # after add_model: views follow the run to its model
        s = result.summary
        secs = s.get("seconds", time.perf_counter() - self._run_started)
        text = f"Finished: {name} in {secs:.0f}s, {s.get('items_per_s', 0):,.0f} items/s"
        if "val_loss" in s:
            text += f", validation loss {s['val_loss']:.4g}"
        if "auc" in s and math.isfinite(s["auc"]):
            text += f", AUC {s['auc']:.3f}"
        where = result.checkpoint if result.checkpoint and os.path.exists(result.checkpoint) else None
        text += f". Saved to {where}" if where else ". Not saved (no checkpoint file)"
        if s.get("warning"):  # the codes collapsed (explorer.training.code_check): said first
            text = f"{s['warning']} {text}"
        self._finished_text = text
        self._awaiting_codes = name
        if name in self.ctx.workspace.codes:
            self._on_codes_changed(name)
        else:
            self._set_state_text(text + ". Its codes are being computed…")
        self.bar.setValue(1000)
        self.save_as_button.setEnabled(bool(result.checkpoint and os.path.exists(result.checkpoint)))
        self.ctx.show_status(f"{name} joined the models")
        self._new_default_path()  # the next run must not overwrite this one's file
        self.finished_model.emit(name)

    def _on_codes_changed(self, model: str) -> None:
        """The finished run's codes arrived: the state line says so (it no longer says 'being
        computed')."""
        if model and model == self._awaiting_codes:
            self._awaiting_codes = None
            self._set_state_text(self._finished_text + ". Its codes are ready in every view.")

    def _end_run(self, tag) -> None:
        """The run of ``tag`` is over: the workspace says so, and its LiveBudget is let go (each
        run's stayed in ``ctx.services["live_budgets"]``; the scatter charges no budget to a run
        that has ended)."""
        self.ctx.workspace.end_run(tag[0])
        live_budgets(self.ctx).pop(tag[0], None)

    def _on_failed(self, tag, message: str) -> None:
        self._end_run(tag)
        self._set_running(False)
        self._set_state_text(f"Training stopped: {message}")
        self.ctx.show_error(message)

    def _on_cancelled(self, tag) -> None:
        self._end_run(tag)
        if tag[0] != self.run_name:
            return
        self._set_running(False)
        path = self.last_checkpoint
        if path and os.path.exists(path):
            self._set_state_text(f"Cancelled. The checkpoint so far is kept in {path}.")
            self.use_stopped_button.show()
            self.save_as_button.setEnabled(True)
        else:
            self._set_state_text("Cancelled.")
        self._new_default_path()

    # ---- after a run ----------------------------------------------------------------------------
    def _use_stopped(self) -> None:
        loader = self.ctx.services.get("loader")
        if loader is not None and self.last_checkpoint:
            loader.load_models([self.last_checkpoint])
            self.use_stopped_button.hide()

    def _save_as(self) -> None:
        src = self.last_checkpoint
        if not src or not os.path.exists(src):
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", os.path.basename(src), "Checkpoints (*.safetensors)"
        )
        if path:
            atomic_write(path, lambda tmp: shutil.copyfile(src, tmp))
            enc = self.ctx.workspace.models.get(self.run_name or "")
            if enc is not None and self.last_result is not None:  # the copy the user chose to keep
                enc.source = os.path.abspath(path)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Checkpoint file", self.save_path.text(), "Checkpoints (*.safetensors)"
        )
        if path:
            self.save_path.setText(path if path.endswith(".safetensors") else path + ".safetensors")
